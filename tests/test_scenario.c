/* test_scenario.c - the scenario engine: durations and moments, scenario
 * loading and its error messages, the checks on synthetic traces, the trace
 * recorder, and whole runs of the scenarios in scenarios/ (including the
 * determinism test: same seed, same bytes). Run from the project root. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../io/io_base.h"
#include "../sim/check.h"
#include "../proto/duration.h"
#include "../sim/engine.h"
#include "../sim/invariant.h"
#include "../sim/report.h"
#include "../sim/scenario.h"
#include "../sim/schedule.h"
#include "../sim/shrink.h"
#include "../sim/io_sim.h"
#include "../sim/trace.h"
#include "../sim/tracepipe.h"
#include "testlib.h"

#define START_TEXT "2025-12-10T09:25:00-05:00"
#define START_US ((io_us_t)1765376700 * IO_US_PER_S)
#define S(x) ((io_us_t)(x) * IO_US_PER_S)

/* ---- durations and moments --------------------------------------------- */

static io_us_t dur_ok(const char *text)
{
    io_us_t v = -1;
    char err[160] = "";
    CU_ASSERT_EQUAL_FATAL(dur_parse(text, &v, err, sizeof err), 0);
    return v;
}

static void dur_bad(const char *text, const char *why)
{
    io_us_t v = 12345;
    char err[160] = "";
    CU_ASSERT_EQUAL(dur_parse(text, &v, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_EQUAL(v, 12345);
    if (!strstr(err, why))
        fprintf(stderr, "\n  \"%s\": error \"%s\" lacks \"%s\"\n", text, err, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
}

static void duration_parses_each_unit_and_their_compositions(void)
{
    CU_ASSERT_EQUAL(dur_ok("250ms"), 250 * IO_US_PER_MS);
    CU_ASSERT_EQUAL(dur_ok("30s"), S(30));
    CU_ASSERT_EQUAL(dur_ok("5m"), S(300));
    CU_ASSERT_EQUAL(dur_ok("2h"), S(7200));
    CU_ASSERT_EQUAL(dur_ok("1d"), S(86400));
    CU_ASSERT_EQUAL(dur_ok("1h30m"), S(5400));
    CU_ASSERT_EQUAL(dur_ok("1d2h3m4s5ms"), S(86400 + 7200 + 180 + 4) + 5 * IO_US_PER_MS);
    CU_ASSERT_EQUAL(dur_ok("0s"), 0);
    CU_ASSERT_EQUAL(dur_ok("90s"), S(90));
}

static void duration_refuses_each_malformed_form(void)
{
    dur_bad("", "empty duration");
    dur_bad("30", "missing unit");
    dur_bad("s", "expected a number");
    dur_bad("30x", "unknown unit");
    dur_bad("30us", "unknown unit");
    dur_bad("1m1h", "largest to smallest");
    dur_bad("1s1s", "largest to smallest");
    dur_bad("-5s", "expected a number");
    dur_bad("1.5s", "unknown unit");
    dur_bad(" 30s", "expected a number");
    dur_bad("30s ", "expected a number");
    dur_bad("1234567890123s", "too long");
    dur_bad("40000d", "longer than 100 years");
}

static io_us_t moment_ok(const char *text, const io_us_t *start)
{
    io_us_t v = -1;
    char err[200] = "";
    int rc = dur_parse_moment(text, start, &v, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  \"%s\": %s\n", text, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return v;
}

static void moment_bad(const char *text, const io_us_t *start, const char *why)
{
    io_us_t v = 12345;
    char err[200] = "";
    CU_ASSERT_EQUAL(dur_parse_moment(text, start, &v, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_EQUAL(v, 12345);
    if (!strstr(err, why))
        fprintf(stderr, "\n  \"%s\": error \"%s\" lacks \"%s\"\n", text, err, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
}

static void moment_reads_offsets_z_and_fractions_to_the_same_instant(void)
{
    CU_ASSERT_EQUAL(moment_ok(START_TEXT, NULL), START_US);
    CU_ASSERT_EQUAL(moment_ok("2025-12-10T14:25:00Z", NULL), START_US);
    CU_ASSERT_EQUAL(moment_ok("2025-12-10T19:55:00+05:30", NULL), START_US);
    CU_ASSERT_EQUAL(moment_ok("2025-12-10T14:25:00.5Z", NULL), START_US + 500000);
    CU_ASSERT_EQUAL(moment_ok("2025-12-10T14:25:00.000001Z", NULL), START_US + 1);
    CU_ASSERT_EQUAL(moment_ok("1970-01-01T00:00:00Z", NULL), 0);
    CU_ASSERT_EQUAL(moment_ok("2024-02-29T00:00:00Z", NULL), (io_us_t)19782 * S(86400));
}

static void moment_counts_plus_duration_from_the_start(void)
{
    io_us_t start = START_US;
    CU_ASSERT_EQUAL(moment_ok("+90m", &start), START_US + S(5400));
    CU_ASSERT_EQUAL(moment_ok("+0s", &start), START_US);
    moment_bad("+90m", NULL, "needs a start");
    moment_bad("+90", &start, "missing unit");
}

static void moment_refuses_each_malformed_form(void)
{
    moment_bad("2025-13-01T00:00:00Z", NULL, "month out of range");
    moment_bad("2025-02-29T00:00:00Z", NULL, "day out of range");
    moment_bad("2025-04-31T00:00:00Z", NULL, "day out of range");
    moment_bad("2025-12-10 09:25:00Z", NULL, "expected 'T'");
    moment_bad("2025-12-10T09:25:00", NULL, "expected an offset");
    moment_bad("2025-12-10T24:00:00Z", NULL, "time of day out of range");
    moment_bad("2025-12-10T09:60:00Z", NULL, "time of day out of range");
    moment_bad("2025-12-10T09:25:00+25:00", NULL, "offset out of range");
    moment_bad("2025-12-10T09:25:00+0500", NULL, "expected an offset +HH:MM");
    moment_bad("2025-12-10T09:25:00.1234567Z", NULL, "finer than microseconds");
    moment_bad("2025-12-10T09:25:00.Z", NULL, "digits after '.'");
    moment_bad("2025-12-10T09:25:00Zjunk", NULL, "unexpected text");
    moment_bad("1969-12-31T23:59:59Z", NULL, "year before 1970");
    moment_bad("1970-01-01T00:00:00+01:00", NULL, "before 1970");
    moment_bad("25-12-10T09:25:00Z", NULL, "expected a date");
    moment_bad("2025-12-10T9:25:00Z", NULL, "expected a time");
    moment_bad("", NULL, "expected a date");
}

static void duration_format_writes_the_report_form(void)
{
    char b[40];
    CU_ASSERT_STRING_EQUAL(dur_format(S(600), b, sizeof b), "10m0s");
    CU_ASSERT_STRING_EQUAL(dur_format(S(5400), b, sizeof b), "1h30m0s");
    CU_ASSERT_STRING_EQUAL(dur_format(250 * IO_US_PER_MS, b, sizeof b), "250ms");
    CU_ASSERT_STRING_EQUAL(dur_format(1500, b, sizeof b), "1.5ms");
    CU_ASSERT_STRING_EQUAL(dur_format(200, b, sizeof b), "200us");
    CU_ASSERT_STRING_EQUAL(dur_format(S(2) + 500000, b, sizeof b), "2.5s");
    CU_ASSERT_STRING_EQUAL(dur_format(S(180) + 400, b, sizeof b), "3m0.0004s");
    CU_ASSERT_STRING_EQUAL(dur_format(0, b, sizeof b), "0s");
    CU_ASSERT_STRING_EQUAL(dur_format(-S(5), b, sizeof b), "-5s");
}

/* ---- loading ----------------------------------------------------------- */

static char test_dir[64];
static int test_nfiles;

static int load_suite_init(void)
{
    strcpy(test_dir, "/tmp/test_scenario.XXXXXX");
    return mkdtemp(test_dir) ? 0 : -1;
}

static int load_suite_clean(void)
{
    char path[128];
    for (int i = 0; i < test_nfiles; i++) {
        snprintf(path, sizeof path, "%s/s%d.json", test_dir, i);
        unlink(path);
    }
    return rmdir(test_dir);
}

/* Writes text to a fresh file in the temp dir and loads it. */
static int load_text_file(const char *text, sc_scenario_t **sc, char *path, char *err,
                          size_t errlen)
{
    snprintf(path, 128, "%s/s%d.json", test_dir, test_nfiles++);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return sc_load_file(path, sc, err, errlen);
}

/* The load must fail with "FILE: " + want (the path and the message). */
static void load_fails(const char *text, const char *want)
{
    char path[128], err[512] = "", expect[700];
    sc_scenario_t *sc = (sc_scenario_t *)1;
    CU_ASSERT_EQUAL(load_text_file(text, &sc, path, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(sc);
    snprintf(expect, sizeof expect, "%s%s%s", path, want[0] == ':' ? "" : ": ", want);
    if (strncmp(err, expect, strlen(expect)) != 0)
        fprintf(stderr, "\n  got    \"%s\"\n  wanted \"%s...\"\n", err, expect);
    CU_ASSERT_EQUAL(strncmp(err, expect, strlen(expect)), 0);
}

#define SPAN "\"start\": \"" START_TEXT "\", \"end\": \"+10m\""
#define CHECK "\"expect\": [{\"exit\": 0}]"

static void a_full_scenario_loads_into_the_configs(void)
{
    const char *text =
        "{\"name\": \"full\", \"description\": \"d\", \"seed\": 9, " SPAN ",\n"
        " \"runner\": {\"client_id\": 4, \"port\": 4100, \"connect_timeout\": \"3s\",\n"
        "   \"health_check\": {\"interval\": \"20s\", \"timeout\": \"2s\"},\n"
        "   \"reconnect\": {\"initial\": \"500ms\", \"max\": \"10s\", \"multiplier\": 1.5,"
        " \"jitter\": 0.3}, \"force_disconnect\": true},\n"
        " \"gateway\": {\"server_version\": 160, \"accounts\": [\"DU1\", \"DU2\"],"
        " \"port\": 4100},\n"
        " \"network\": {\"latency\": \"3ms\", \"jitter\": \"1ms\", \"chunking\": true},\n"
        " \"events\": [{\"at\": \"+1m\", \"fault\": \"kill\", \"how\": \"rst\"},\n"
        "   {\"at\": \"+2m\", \"fault\": \"kill\"}, {\"at\": \"+3m\", \"fault\": \"stale\"},\n"
        "   {\"at\": \"+4m\", \"fault\": \"stale\", \"for\": \"30s\"},\n"
        "   {\"at\": \"2025-12-10T14:34:00Z\", \"signal\": \"SIGTERM\"}],\n"
        " \"expect\": [{\"count\": \"ping_ok\", \"ge\": 3, \"from\": \"+1m\", \"to\": \"+2m\","
        " \"src\": \"runner\"}, {\"never\": \"disconnect[by=gateway,how=rst]\"},\n"
        "   {\"within\": \"15s\", \"after\": \"fault:kill\", \"expect\": \"ready\"},\n"
        "   {\"sequence\": [\"connect\", \"error:2104\"]}, {\"exit\": 0}]}";
    char path[128], err[512] = "";
    sc_scenario_t *sc = NULL;
    CU_ASSERT_EQUAL_FATAL(load_text_file(text, &sc, path, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(sc->name, "full");
    CU_ASSERT_EQUAL(sc->seed, 9);
    CU_ASSERT_EQUAL(sc->start_us, START_US);
    CU_ASSERT_EQUAL(sc->end_us, START_US + S(600));
    CU_ASSERT_EQUAL(sc->runner.client_id, 4);
    CU_ASSERT_EQUAL(sc->runner.port, 4100);
    CU_ASSERT_EQUAL(sc->runner.connect_timeout_us, S(3));
    CU_ASSERT_EQUAL(sc->runner.ping_interval_us, S(20));
    CU_ASSERT_EQUAL(sc->runner.ping_timeout_us, S(2));
    CU_ASSERT_EQUAL(sc->runner.reconnect_initial_us, 500 * IO_US_PER_MS);
    CU_ASSERT_EQUAL(sc->runner.reconnect_max_us, S(10));
    CU_ASSERT_DOUBLE_EQUAL(sc->runner.reconnect_multiplier, 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sc->runner.reconnect_jitter, 0.3, 1e-12);
    CU_ASSERT_EQUAL(sc->runner.force_disconnect, 1);
    CU_ASSERT_EQUAL(sc->gateway.server_version_max, 160);
    CU_ASSERT_EQUAL(sc->gateway.port, 4100);
    CU_ASSERT_EQUAL_FATAL(sc->gateway.naccounts, 2);
    CU_ASSERT_STRING_EQUAL(sc->gateway.accounts[1], "DU2");
    CU_ASSERT_EQUAL(sc->net.latency_us, 3000);
    CU_ASSERT_EQUAL(sc->net.jitter_us, 1000);
    CU_ASSERT_EQUAL(sc->net.chunking, 1);
    CU_ASSERT_EQUAL_FATAL(sc->nevents, 5);
    CU_ASSERT_EQUAL(sc->events[0].fault.kind, GW_FAULT_KILL);
    CU_ASSERT_EQUAL(sc->events[0].fault.how, IO_CLOSE_RST);
    CU_ASSERT_EQUAL(sc->events[1].fault.how, IO_CLOSE_FIN);
    CU_ASSERT_EQUAL(sc->events[2].fault.kind, GW_FAULT_STALE);
    CU_ASSERT_EQUAL(sc->events[2].fault.for_us, 0);
    CU_ASSERT_EQUAL(sd_event_end(&sc->events[2]), -1);
    CU_ASSERT_EQUAL(sc->events[3].fault.for_us, S(30));
    CU_ASSERT_EQUAL(sd_event_end(&sc->events[3]), START_US + S(270));
    CU_ASSERT_EQUAL(sc->events[4].action, SC_SIGNAL);
    CU_ASSERT_EQUAL(sc->events[4].sig, IO_SIGTERM);
    CU_ASSERT_EQUAL(sc->events[4].at_us, START_US + S(540));
    CU_ASSERT_EQUAL_FATAL(sc->nchecks, 5);
    CU_ASSERT_EQUAL(sc->checks[0].cmp, SC_CMP_GE);
    CU_ASSERT_STRING_EQUAL(sc->checks[0].src, "runner");
    CU_ASSERT_EQUAL(sc->checks[1].what.nwhere, 2);
    CU_ASSERT_STRING_EQUAL(sc->checks[1].what.where[1].value, "rst");
    CU_ASSERT_EQUAL(sc->checks[3].nseq, 2);
    sc_free(sc);
}

static void defaults_fill_what_a_scenario_leaves_out(void)
{
    char path[128], err[512] = "";
    sc_scenario_t *sc = NULL;
    rn_config_t rn;
    rn_config_defaults(&rn);
    CU_ASSERT_EQUAL_FATAL(load_text_file("{" SPAN ", " CHECK "}", &sc, path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(strncmp(sc->name, "s", 1), 0); /* from the file name s<N>.json */
    CU_ASSERT_PTR_NULL(strstr(sc->name, ".json"));
    CU_ASSERT_EQUAL(sc->seed, 0);
    CU_ASSERT_EQUAL(sc->runner.ping_interval_us, rn.ping_interval_us);
    CU_ASSERT_EQUAL(sc->net.latency_us, IO_SIM_NET_DEFAULT.latency_us);
    CU_ASSERT_EQUAL(sc->net.chunking, 0);
    CU_ASSERT_EQUAL(sc->nevents, 0);
    sc_free(sc);
}

static void a_syntax_error_names_line_and_column(void)
{
    load_fails("{\n  \"seed\": 1,\n  \"start\" \"x\"\n}", ":3:11: JSON syntax error");
    load_fails("{\"seed\": 1,", ":1:12: JSON syntax error: unexpected end of file");
    load_fails("", ":1:1: JSON syntax error");
    load_fails("{} trailing", ":1:4: JSON syntax error");
}

static void unknown_keys_are_refused_with_their_path(void)
{
    load_fails("{" SPAN ", \"colour\": 1, " CHECK "}", "colour: unknown key");
    load_fails("{" SPAN ", \"runner\": {\"colour\": 1}, " CHECK "}", "runner.colour: unknown key");
    load_fails("{" SPAN ", \"runner\": {\"health_check\": {\"every\": \"1s\"}}, " CHECK "}",
               "runner.health_check.every: unknown key");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"kill\", \"for\": \"1s\"}], "
               CHECK "}", "events[0].for: unknown key");
    load_fails("{" SPAN ", \"seed\": 1, \"seed\": 2, " CHECK "}", "seed: duplicate key");
}

static void wrong_types_and_values_are_refused_with_their_path(void)
{
    load_fails("{" SPAN ", \"seed\": \"1\", " CHECK "}", "seed: expected an integer, got a string");
    load_fails("{" SPAN ", \"seed\": -1, " CHECK "}", "seed: expected an integer from 0");
    load_fails("{" SPAN ", \"seed\": 1.5, " CHECK "}", "seed: expected an integer from 0");
    load_fails("[1]", "(top level): expected an object, got an array");
    load_fails("{" SPAN ", \"runner\": [], " CHECK "}", "runner: expected an object, got an array");
    load_fails("{" SPAN ", \"runner\": {\"port\": 70000}, " CHECK "}", "runner.port: expected");
    load_fails("{" SPAN ", \"network\": {\"chunking\": 1}, " CHECK "}",
               "network.chunking: expected true or false, got a number");
    load_fails("{" SPAN ", \"gateway\": {\"accounts\": []}, " CHECK "}",
               "gateway.accounts: expected 1 to 8 accounts, got 0");
    load_fails("{" SPAN ", \"gateway\": {\"accounts\": [\"A\", 2]}, " CHECK "}",
               "gateway.accounts[1]: expected a string, got a number");
    load_fails("{" SPAN ", \"runner\": {\"reconnect\": {\"initial\": \"10s\", \"max\": \"1s\"}}, "
               CHECK "}", "runner.reconnect.max: must not be less than initial");
    load_fails("{" SPAN ", \"expect\": [{\"count\": \"ready\", \"eq\": 1, \"le\": 2}]}",
               "expect[0]: a count check has exactly one of");
    load_fails("{" SPAN ", \"expect\": [{\"count\": \"ready\", \"eq\": \"1\"}]}",
               "expect[0].eq: expected an integer, got a string");
    load_fails("{" SPAN ", \"expect\": []}", "expect: expected at least one check");
    load_fails("{" SPAN "}", "expect: missing");
}

static void bad_durations_and_moments_are_refused_with_their_path(void)
{
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"stale\", \"for\": \"3x\"}], "
               CHECK "}", "events[0].for: bad duration \"3x\": unknown unit");
    load_fails("{\"start\": \"2025-12-10T09:25\", \"end\": \"+1m\", " CHECK "}",
               "start: bad moment");
    load_fails("{\"start\": \"+1m\", \"end\": \"+2m\", " CHECK "}", "start: bad moment \"+1m\"");
    load_fails("{" SPAN ", \"network\": {\"latency\": \"2 ms\"}, " CHECK "}",
               "network.latency: bad duration");
    load_fails("{" SPAN ", \"runner\": {\"connect_timeout\": \"0s\"}, " CHECK "}",
               "runner.connect_timeout: must be more than 0");
}

static void unknown_words_are_refused_with_their_path(void)
{
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"kill\"},"
               " {\"at\": \"+2m\", \"fault\": \"explode\"}], " CHECK "}",
               "events[1].fault: unknown fault \"explode\" (faults: kill, down, refuse");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"kill\", \"how\": \"cut\"}], "
               CHECK "}", "events[0].how: expected \"fin\" or \"rst\"");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"signal\": \"SIGHUP\"}], " CHECK "}",
               "events[0].signal: expected \"SIGINT\" or \"SIGTERM\"");
    load_fails("{" SPAN ", \"expect\": [{\"exit\": 0}, {\"cuont\": \"ready\", \"eq\": 1}]}",
               "expect[1].cuont: unknown check \"cuont\"");
    load_fails("{" SPAN ", \"expect\": [{\"eq\": 1}]}", "expect[0]: no check word");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"redy\"}]}",
               "expect[0].never: unknown event kind \"redy\"");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"disconnect[hwo=rst]\"}]}",
               "expect[0].never: \"disconnect[hwo=rst]\": disconnect events have no field \"hwo\"");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"disconnect[how]\"}]}",
               "expect[0].never: \"disconnect[how]\": write field filters");
    load_fails("{" SPAN ", \"expect\": [{\"sequence\": [\"ready\", \"error:x\"]}]}",
               "expect[0].sequence[1]: unknown event kind \"error:x\"");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"ready\", \"src\": \"sim\"}]}",
               "expect[0].src: expected \"runner\" or \"gateway\"");
}

static void the_one_contract_key_the_mock_lacks_is_refused_as_not_yet_supported(void)
{
    load_fails("{" SPAN ", \"gateway\": {\"replay\": {}}, " CHECK "}",
               "gateway.replay.file: missing");
}

static void event_times_must_be_given_and_inside_the_span(void)
{
    load_fails("{" SPAN ", \"events\": [{\"fault\": \"kill\"}], " CHECK "}",
               "events[0].at: missing");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\"}], " CHECK "}",
               "events[0]: an event has exactly one of \"fault\", \"signal\" or \"random\"");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+11m\", \"signal\": \"SIGINT\"}], " CHECK "}",
               "events[0].at: +11m0s from start is outside the scenario's span [+0s, +10m0s]");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"2025-12-10T14:24:59Z\", \"signal\": \"SIGINT\"}], "
               CHECK "}", "events[0].at: -1s from start is outside");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"ready\", \"from\": \"+2m\", \"to\": \"+1m\"}]}",
               "expect[0].to: must be after from");
}

static void end_must_come_after_start(void)
{
    load_fails("{\"start\": \"" START_TEXT "\", \"end\": \"2025-12-10T14:25:00Z\", " CHECK "}",
               "end: must be after start");
    load_fails("{\"start\": \"" START_TEXT "\", \"end\": \"2025-12-10T09:00:00-05:00\", " CHECK "}",
               "end: must be after start");
    load_fails("{\"start\": \"" START_TEXT "\", " CHECK "}", "end: missing");
}

/* No prefix of a valid scenario may crash the loader or be accepted. */
static void every_truncation_of_a_scenario_is_an_error_not_a_crash(void)
{
    const char *text = "{\"name\": \"t\", " SPAN ", \"runner\": {\"client_id\": 2},"
                       " \"events\": [{\"at\": \"+1m\", \"fault\": \"kill\", \"how\": \"rst\"}],"
                       " \"expect\": [{\"within\": \"5s\", \"after\": \"fault:kill\","
                       " \"expect\": \"ready\"}]}";
    size_t len = strlen(text);
    char err[512];
    for (size_t n = 0; n < len; n++) {
        sc_scenario_t *sc = NULL;
        CU_ASSERT(sc_load_text("t.json", text, n, &sc, err, sizeof err) < 0);
        CU_ASSERT_PTR_NULL(sc);
    }
    sc_scenario_t *sc = NULL;
    CU_ASSERT_EQUAL(sc_load_text("t.json", text, len, &sc, err, sizeof err), 0);
    sc_free(sc);
}

/* Loads text (must succeed) from memory. */
static sc_scenario_t *load_ok(const char *text)
{
    char err[512] = "";
    sc_scenario_t *sc = NULL;
    int rc = sc_load_text("m.json", text, strlen(text), &sc, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return sc;
}

/* One event of every fault kind, each with its parameters. */
#define EVERY_FAULT_SC                                                                      \
    "{" SPAN ", \"events\": ["                                                              \
    "{\"at\": \"+1m\", \"fault\": \"down\", \"for\": \"2m\", \"how\": \"rst\"},"            \
    "{\"at\": \"+1m\", \"fault\": \"refuse\", \"for\": \"30s\", \"client_id\": 3},"         \
    "{\"at\": \"+1m\", \"fault\": \"stale\", \"for\": \"1m\", \"only\": [\"historical\","   \
    " \"current_time\"]},"                                                                  \
    "{\"at\": \"+1m\", \"fault\": \"handshake_stall\", \"for\": \"20s\"},"                  \
    "{\"at\": \"+1m\", \"fault\": \"latency\", \"value\": \"2s\", \"for\": \"1m\"},"        \
    "{\"at\": \"+1m\", \"fault\": \"slice\", \"max\": 3, \"for\": \"1m\"},"                 \
    "{\"at\": \"+1m\", \"fault\": \"garbage\", \"bytes\": 17},"                             \
    "{\"at\": \"+1m\", \"fault\": \"connectivity_lost\", \"for\": \"45s\","                 \
    " \"restored\": 1102},"                                                                 \
    "{\"at\": \"+1m\", \"fault\": \"client_id_in_use\", \"times\": 2},"                     \
    "{\"at\": \"+1m\", \"fault\": \"error\", \"code\": 2110, \"text\": \"farm\","           \
    " \"req_id\": 4},"                                                                      \
    "{\"at\": \"+1m\", \"fault\": \"farm_outage\", \"for\": \"5m\"},"                       \
    "{\"at\": \"+1m\", \"fault\": \"clear\"}], " CHECK "}"

static void every_fault_loads_with_its_parameters(void)
{
    sc_scenario_t *sc = load_ok(EVERY_FAULT_SC);
    CU_ASSERT_EQUAL_FATAL(sc->nevents, 12);
    const gw_fault_t *f = &sc->events[0].fault;
    CU_ASSERT(f->kind == GW_FAULT_DOWN && f->for_us == S(120) && f->how == IO_CLOSE_RST);
    f = &sc->events[1].fault;
    CU_ASSERT(f->kind == GW_FAULT_REFUSE && f->for_us == S(30) && f->client_id == 3);
    CU_ASSERT_EQUAL(sc->events[0].fault.client_id, -1);
    f = &sc->events[2].fault;
    CU_ASSERT_EQUAL(f->only, GW_KIND_HISTORICAL | GW_KIND_CURRENT_TIME);
    CU_ASSERT(sc->events[3].fault.kind == GW_FAULT_HANDSHAKE_STALL);
    CU_ASSERT(sc->events[4].fault.value_us == S(2) && sc->events[4].fault.for_us == S(60));
    CU_ASSERT_EQUAL(sc->events[5].fault.max_bytes, 3);
    CU_ASSERT_EQUAL(sc->events[6].fault.bytes, 17);
    CU_ASSERT_EQUAL(sc->events[7].fault.restored_code, 1102);
    CU_ASSERT_EQUAL(sc->events[8].fault.times, 2);
    f = &sc->events[9].fault;
    CU_ASSERT(f->code == 2110 && f->req_id == 4 && strcmp(f->text, "farm") == 0);
    CU_ASSERT_EQUAL(sc->events[10].fault.kind, GW_FAULT_FARM_OUTAGE);
    CU_ASSERT_EQUAL(sc->events[11].fault.kind, GW_FAULT_CLEAR);
    CU_ASSERT_EQUAL(sd_event_end(&sc->events[0]), START_US + S(180));
    CU_ASSERT_EQUAL(sd_event_end(&sc->events[6]), START_US + S(60));
    sc_free(sc);
}

static void fault_parameters_are_checked_per_fault(void)
{
#define EV(x) "{" SPAN ", \"events\": [" x "], " CHECK "}"
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"down\"}"), "events[0].for: missing");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"latency\", \"for\": \"1m\"}"),
               "events[0].value: missing");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"refuse\", \"for\": \"1m\", \"how\": \"rst\"}"),
               "events[0].how: unknown key (known here: at, fault, client_id, for)");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"stale\", \"only\": [\"quotes\"]}"),
               "events[0].only[0]: unknown message kind \"quotes\" (kinds: current_time,");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"connectivity_lost\", \"for\": \"1m\","
                  " \"restored\": 1103}"), "events[0].restored: expected an integer from 1101");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"slice\", \"max\": 0, \"for\": \"1m\"}"),
               "events[0].max: expected an integer from 1");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": \"error\"}"), "events[0].code: missing");
    load_fails(EV("{\"at\": \"+1m\", \"fault\": 3}"), "events[0].fault: expected a string");
}

static void runner_and_gateway_keys_fill_their_configs(void)
{
    sc_scenario_t *sc = load_ok(
        "{" SPAN ", \"liveness\": \"90s\", \"runner\": {\"symbols\": [\"AAPL\", \"MSFT\"],"
        " \"interval\": \"15m\", \"persistent\": false, \"trade\": true,"
        " \"cycle_timeout\": \"2m\"},"
        " \"gateway\": {\"accounts\": [\"DU1\"], \"positions\": [{\"account\": \"DU1\","
        " \"symbol\": \"AAPL\", \"qty\": 10, \"avg_cost\": 150.5}], \"prices\": {\"AAPL\": 190,"
        " \"MSFT\": 410.25}, \"daily_restart\": {\"at\": \"23:45\", \"down_for\": \"3m\"}}, "
        CHECK "}");
    CU_ASSERT_EQUAL_FATAL(sc->runner.nsymbols, 2);
    CU_ASSERT_STRING_EQUAL(sc->runner.symbols[1], "MSFT");
    CU_ASSERT_EQUAL(sc->runner.interval_us, S(900));
    CU_ASSERT_EQUAL(sc->runner.persistent, 0);
    CU_ASSERT_EQUAL(sc->runner.trade, 1);
    CU_ASSERT_EQUAL(sc->runner.cycle_timeout_us, S(120));
    CU_ASSERT_EQUAL_FATAL(sc->gateway.npositions, 1);
    CU_ASSERT_STRING_EQUAL(sc->gateway.positions[0].symbol, "AAPL");
    CU_ASSERT_DOUBLE_EQUAL(sc->gateway.positions[0].avg_cost, 150.5, 1e-9);
    CU_ASSERT_EQUAL_FATAL(sc->gateway.nprices, 2);
    CU_ASSERT_DOUBLE_EQUAL(sc->gateway.prices[1].price, 410.25, 1e-9);
    CU_ASSERT_EQUAL(sc->gateway.daily_restart_min, 23 * 60 + 45);
    CU_ASSERT_EQUAL(sc->gateway.daily_restart_down_us, S(180));
    CU_ASSERT_EQUAL(sc->liveness_us, S(90));
    sc_free(sc);
    sc = load_ok("{" SPAN ", \"liveness\": false, " CHECK "}");
    CU_ASSERT_EQUAL(sc->liveness_us, 0);
    sc_free(sc);
    sc = load_ok("{" SPAN ", " CHECK "}");
    CU_ASSERT_EQUAL(sc->liveness_us, SC_LIVENESS_DEFAULT_US);
    sc_free(sc);
    load_fails("{" SPAN ", \"runner\": {\"symbols\": [\"A\", \"A\"]}, " CHECK "}",
               "runner.symbols[1]: \"A\" is listed twice");
    load_fails("{" SPAN ", \"gateway\": {\"daily_restart\": {\"at\": \"24:00\", \"down_for\":"
               " \"1m\"}}, " CHECK "}", "gateway.daily_restart.at: expected a time of day");
    load_fails("{" SPAN ", \"gateway\": {\"positions\": [{\"account\": \"A\","
               " \"symbol\": \"B\"}]}, " CHECK "}", "gateway.positions[0].qty: missing");
    load_fails("{" SPAN ", \"gateway\": {\"prices\": {\"A\": -1}}, " CHECK "}",
               "gateway.prices.A: -1 is out of range");
    load_fails("{" SPAN ", \"liveness\": 5, " CHECK "}", "liveness: expected a duration or false");
}

#define RANDOM_SC(extra)                                                                    \
    "{\"start\": \"" START_TEXT "\", \"end\": \"+10d\", \"events\": [{\"random\": {\"kinds\":" \
    " [\"kill\", \"stale\", \"latency\"], \"rate\": \"2/day\", \"for\": [\"10s\", \"2m\"]"     \
    extra "}}], " CHECK "}"

static void random_entries_draw_their_faults_from_the_seed(void)
{
    sc_scenario_t *sc = load_ok(RANDOM_SC(", \"from\": \"+1d\", \"to\": \"+9d\""));
    CU_ASSERT_EQUAL_FATAL(sc->nevents, 1);
    CU_ASSERT_EQUAL(sc->events[0].action, SC_RANDOM);
    CU_ASSERT_DOUBLE_EQUAL(sc->events[0].random.per_day, 2.0, 1e-12);
    sc_event_t *a, *b, *c;
    size_t na, nb, nc;
    CU_ASSERT_EQUAL_FATAL(sd_schedule(sc, 5, &a, &na), 0);
    CU_ASSERT_EQUAL_FATAL(sd_schedule(sc, 5, &b, &nb), 0);
    CU_ASSERT_EQUAL_FATAL(sd_schedule(sc, 6, &c, &nc), 0);
    CU_ASSERT_EQUAL(na, 16); /* 2/day over 8 days, a whole number */
    CU_ASSERT_EQUAL_FATAL(na, nb);
    CU_ASSERT_EQUAL(memcmp(a, b, na * sizeof *a), 0);
    CU_ASSERT(nc != na || memcmp(a, c, na * sizeof *a) != 0);
    for (size_t i = 0; i < na; i++) {
        CU_ASSERT_EQUAL(a[i].action, SC_FAULT);
        CU_ASSERT(a[i].at_us >= START_US + S(86400) && a[i].at_us < START_US + S(9 * 86400));
        CU_ASSERT(i == 0 || a[i].at_us >= a[i - 1].at_us);
        CU_ASSERT(a[i].fault.kind == GW_FAULT_KILL || a[i].fault.kind == GW_FAULT_STALE ||
                  a[i].fault.kind == GW_FAULT_LATENCY);
        if (a[i].fault.kind != GW_FAULT_KILL)
            CU_ASSERT(a[i].fault.for_us >= S(10) && a[i].fault.for_us <= S(120));
    }
    free(a);
    free(b);
    free(c);
    sc_free(sc);
    load_fails(RANDOM_SC(", \"to\": \"+11d\""),
               "events[0].random.to: +264h0m0s from start is outside");
    load_fails("{" SPAN ", \"events\": [{\"random\": {\"kinds\": [\"error\"],"
               " \"rate\": \"1/day\"}}], " CHECK "}",
               "events[0].random.kinds[0]: \"error\" cannot be drawn at random");
    load_fails("{" SPAN ", \"events\": [{\"random\": {\"kinds\": [\"kill\"], \"rate\": \"1/h\"}}], "
               CHECK "}", "events[0].random.rate: expected \"N/day\"");
    load_fails("{" SPAN ", \"events\": [{\"random\": {\"kinds\": [\"kill\"], \"rate\": \"1/day\","
               " \"for\": [\"2m\", \"1m\"]}}], " CHECK "}",
               "events[0].random.for: max must not be less than min");
}

static void new_checks_load_and_refuse_bad_phases(void)
{
    sc_scenario_t *sc = load_ok("{" SPAN ", \"expect\": [{\"status\": \"API Connected\","
                                " \"throughout\": [\"+1m\", \"+9m\"], \"except\": [\"cycle\","
                                " \"reconnect\"]}, {\"clean_shutdown\": true},"
                                " {\"count\": \"order[symbol=AAPL]\", \"le\": 1},"
                                " {\"never\": \"fault_end:down\"}]}");
    CU_ASSERT_EQUAL(sc->checks[0].kind, SC_CHECK_STATUS);
    CU_ASSERT_EQUAL(sc->checks[0].from_us, START_US + S(60));
    CU_ASSERT_EQUAL(sc->checks[0].except, SC_PHASE_CYCLE | SC_PHASE_RECONNECT);
    CU_ASSERT_EQUAL(sc->checks[1].kind, SC_CHECK_CLEAN_SHUTDOWN);
    sc_free(sc);
    load_fails("{" SPAN ", \"expect\": [{\"status\": \"X\", \"except\": [\"lunch\"]}]}",
               "expect[0].except[0]: unknown phase \"lunch\"");
    load_fails("{" SPAN ", \"expect\": [{\"clean_shutdown\": false}]}",
               "expect[0].clean_shutdown: only true is a check");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"fault:explode\"}]}",
               "expect[0].never: unknown event kind \"fault:explode\"");
    load_fails("{" SPAN ", \"expect\": [{\"never\": \"order[price=1]\"}]}",
               "expect[0].never: \"order[price=1]\": order events have no field \"price\"");
}

/* A schedule written out and loaded back is the same schedule. */
static void a_written_schedule_loads_back_the_same(void)
{
    sc_scenario_t *sc = load_ok(RANDOM_SC(""));
    sc_event_t *ev;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(sd_schedule(sc, 11, &ev, &n), 0);
    CU_ASSERT_FATAL(n > 5);
    gw_fault_init(&ev[0].fault, GW_FAULT_STALE);
    ev[0].fault.only = GW_KIND_HISTORICAL;
    ev[0].fault.for_us = S(61);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/written.json", test_dir);
    CU_ASSERT_EQUAL_FATAL(sd_write(sc, 77, ev, n, path, err, sizeof err), 0);
    sc_scenario_t *back = NULL;
    CU_ASSERT_EQUAL_FATAL(sc_load_file(path, &back, err, sizeof err), 0);
    CU_ASSERT_EQUAL(back->seed, 77);
    CU_ASSERT_EQUAL_FATAL(back->nevents, n);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(back->events[i].at_us, ev[i].at_us);
        CU_ASSERT_EQUAL(memcmp(&back->events[i].fault, &ev[i].fault, sizeof ev[i].fault), 0);
    }
    unlink(path);
    free(ev);
    sc_free(back);
    sc_free(sc);
}

/* Every wrong type, empty list, duplicate and malformed pattern is refused
 * with the JSON path of the value and what was expected there. */
static void malformed_values_are_refused_with_their_path(void)
{
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"\"runner\": {\"symbols\": []}, " CHECK,
         "runner.symbols: expected 1 to 64 symbols, got 0"},
        {"\"runner\": {\"symbols\": [1]}, " CHECK,
         "runner.symbols[0]: expected a symbol (a string), got a number"},
        {"\"runner\": {\"symbols\": [\"A,B\"]}, " CHECK,
         "runner.symbols[0]: a symbol is a non-empty name without commas"},
        {"\"runner\": {\"symbols\": \"AAPL\"}, " CHECK,
         "runner.symbols: expected an array, got a string"},
        {"\"runner\": {\"client_id\": {}}, " CHECK,
         "runner.client_id: expected an integer, got an object"},
        {"\"events\": [{\"at\": \"+1m\", \"fault\": \"stale\", \"only\": []}], " CHECK,
         "events[0].only: expected at least one message kind"},
        {"\"events\": [{\"at\": \"+1m\", \"fault\": \"stale\", \"only\": [3]}], " CHECK,
         "events[0].only[0]: expected a message kind (a string), got a number"},
        {"\"events\": [{\"random\": {\"kinds\": [\"kill\"]}}], " CHECK,
         "events[0].random.rate: missing (\"N/day\")"},
        {"\"events\": [{\"random\": {\"kinds\": [\"kill\"], \"rate\": \"1/day\", \"for\": "
         "[\"1s\"]}}], " CHECK,
         "events[0].random.for: expected [min, max], two durations"},
        {"\"events\": [{\"random\": {\"kinds\": [\"kill\"], \"rate\": \"1/day\", \"for\": "
         "[\"1s\", 2]}}], " CHECK,
         "events[0].random.for[1]: expected a duration (a string), got a number"},
        {"\"events\": [{\"random\": {\"rate\": \"1/day\"}}], " CHECK,
         "events[0].random.kinds: missing (the faults to draw from)"},
        {"\"events\": [{\"random\": {\"kinds\": [], \"rate\": \"1/day\"}}], " CHECK,
         "events[0].random.kinds: expected at least one fault"},
        {"\"events\": [{\"random\": {\"kinds\": [4], \"rate\": \"1/day\"}}], " CHECK,
         "events[0].random.kinds[0]: expected a fault (a string), got a number"},
        {"\"events\": [{\"random\": {\"kinds\": [\"kill\", \"kill\"], \"rate\": \"1/day\"}}], "
         CHECK,
         "events[0].random.kinds[1]: \"kill\" is listed twice"},
        {"\"events\": [{\"random\": 5}], " CHECK,
         "events[0].random: expected an object, got a number"},
        {"\"expect\": [{\"sequence\": []}]",
         "expect[0].sequence: expected at least one event kind"},
        {"\"expect\": [{\"count\": \"connect\", \"eq\": 1, \"from\": 3}]",
         "expect[0].from: expected a string, got a number"},
        {"\"expect\": [{\"status\": \"API Connected\", \"throughout\": [\"+1m\"]}]",
         "expect[0].throughout: expected [from, to], two moments"},
        {"\"expect\": [{\"status\": \"API Connected\", \"throughout\": [\"+1m\", 5]}]",
         "expect[0].throughout[1]: expected a moment (a string), got a number"},
        {"\"expect\": [{\"status\": \"API Connected\", \"except\": [7]}]",
         "expect[0].except[0]: expected a phase (a string), got a number"},
        {"\"expect\": [{\"count\": \"connect\", \"never\": \"x\", \"eq\": 1}]",
         "expect[0].never: one check per item; \"count\" and \"never\" are two"},
        {"\"expect\": [7]", "expect[0]: expected an object, got a number"},
        {"\"expect\": [{\"count\": \"connect[b]\", \"eq\": 1}]",
         "expect[0].count: \"connect[b]\": write field filters as [key=value,key=value]"},
        {"\"expect\": [{\"count\": \"connect[b=1]\", \"eq\": 1}]",
         "expect[0].count: \"connect[b=1]\": connect events have no field \"b\""},
        {"\"expect\": [{\"within\": \"5s\", \"expect\": \"ready\"}]",
         "expect[0].after: missing (an event kind)"},
        {"\"expect\": [{\"count\": \"connect\", \"eq\": 1, \"src\": 4}]",
         "expect[0].src: expected a string, got a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "{" SPAN ", %s}", bad[i].json);
        load_fails(text, bad[i].want);
    }
}

/* Every fault kind's parameters, and a signal, survive sd_write: the file
 * loads back into the same events. */
static void every_fault_and_a_signal_are_written_back_the_same(void)
{
    sc_scenario_t *sc = load_ok(EVERY_FAULT_SC);
    CU_ASSERT_EQUAL_FATAL(sc->nevents, 12);
    sc_event_t ev[13];
    memcpy(ev, sc->events, 12 * sizeof ev[0]);
    ev[12] = ev[11];
    ev[12].action = SC_SIGNAL;
    ev[12].sig = IO_SIGTERM;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/every.json", test_dir);
    CU_ASSERT_EQUAL_FATAL(sd_write(sc, 5, ev, 13, path, err, sizeof err), 0);
    sc_scenario_t *back = NULL;
    CU_ASSERT_EQUAL_FATAL(sc_load_file(path, &back, err, sizeof err), 0);
    CU_ASSERT_EQUAL(back->seed, 5);
    CU_ASSERT_EQUAL_FATAL(back->nevents, 13);
    for (size_t i = 0; i < 12; i++) {
        CU_ASSERT_EQUAL(back->events[i].action, SC_FAULT);
        CU_ASSERT_EQUAL(memcmp(&back->events[i].fault, &ev[i].fault, sizeof ev[i].fault), 0);
    }
    CU_ASSERT(back->events[12].action == SC_SIGNAL && back->events[12].sig == IO_SIGTERM);
    unlink(path);
    sc_free(back);
    sc_free(sc);
}

static void a_schedule_written_where_it_cannot_be_says_where(void)
{
    sc_scenario_t *sc = load_ok(EVERY_FAULT_SC);
    char err[256] = "";
    CU_ASSERT_EQUAL(sd_write(sc, 1, sc->events, sc->nevents, "/nonexistent-dir/s.json", err,
                             sizeof err),
                    IO_ERR_SYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/s.json.tmp"));
    sc_free(sc);
}

/* ---- checks on synthetic traces ---------------------------------------- */

/* A synthetic trace event: seconds from start, source, kind, and up to two
 * string fields. */
typedef struct fake_ev {
    double at_s;
    const char *src, *ev, *k1, *v1, *k2, *v2;
} fake_ev_t;

static tr_recorder_t *fake_trace(const fake_ev_t *evs, size_t n)
{
    tr_recorder_t *rec = tr_new();
    for (size_t i = 0; i < n; i++) {
        io_trace_field_t f[2] = {IO_TS(evs[i].k1, evs[i].v1), IO_TS(evs[i].k2, evs[i].v2)};
        size_t nf = evs[i].k2 ? 2 : evs[i].k1 ? 1 : 0;
        tr_sink(rec, START_US + (io_us_t)(evs[i].at_s * 1e6), evs[i].src, evs[i].ev, nf, f);
    }
    return rec;
}

/* Loads a scenario whose only check is check_json, feeds evs to a recorder,
 * evaluates, copies the message into msg and returns the verdict. */
static int judge(const char *check_json, const fake_ev_t *evs, size_t n, int exited, int code,
                 char *msg)
{
    char text[1024], err[512] = "";
    snprintf(text, sizeof text, "{" SPAN ", \"expect\": [%s]}", check_json);
    sc_scenario_t *sc = NULL;
    CU_ASSERT_EQUAL_FATAL(sc_load_text("c.json", text, strlen(text), &sc, err, sizeof err), 0);
    tr_recorder_t *rec = fake_trace(evs, n);
    ck_run_t run = {rec, exited, code, sc->end_us};
    ck_result_t res;
    CU_ASSERT_EQUAL(ck_evaluate(sc, &run, &res), (size_t)res.pass);
    strcpy(msg, res.msg);
    CU_ASSERT_EQUAL(res.pass, msg[0] == '\0');
    tr_free(rec);
    sc_free(sc);
    return res.pass;
}

static const fake_ev_t day[] = {
    {0, "runner", "connect", NULL, NULL, NULL, NULL},
    {0.01, "runner", "ready", NULL, NULL, NULL, NULL},
    {30, "runner", "ping", NULL, NULL, NULL, NULL},
    {30.01, "runner", "ping_ok", NULL, NULL, NULL, NULL},
    {60, "gateway", "fault:kill", "how", "rst", NULL, NULL},
    {60.002, "runner", "disconnect", "by", "gateway", "how", "rst"},
    {61, "runner", "connect", NULL, NULL, NULL, NULL},
    {61.01, "runner", "ready", NULL, NULL, NULL, NULL},
    {120, "gateway", "fault:kill", "how", "fin", NULL, NULL},
    {120.002, "runner", "disconnect", "by", "gateway", "how", "fin"},
};
#define NDAY (sizeof day / sizeof day[0])

static void count_check_passes_and_fails_on_a_trace(void)
{
    char msg[CK_MSG_MAX];
    CU_ASSERT(judge("{\"count\": \"connect\", \"eq\": 2}", day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"count\": \"connect\", \"le\": 2}", day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"count\": \"ready\", \"ge\": 1, \"from\": \"+1m\"}", day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"count\": \"disconnect[how=rst]\", \"eq\": 1}", day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"count\": \"fault:kill\", \"eq\": 0, \"src\": \"runner\"}", day, NDAY, 0, 0,
                    msg));
    CU_ASSERT_FALSE(judge("{\"count\": \"connect\", \"eq\": 3}", day, NDAY, 0, 0, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] count connect eq 3: got 2");
    CU_ASSERT_FALSE(judge("{\"count\": \"connect\", \"ge\": 1, \"from\": \"+1m\", \"to\": \"+61s\"}",
                          day, NDAY, 0, 0, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] count connect ge 1 from +1m0s to +1m1s: got 0");
    CU_ASSERT_FALSE(judge("{\"count\": \"fault:kill\", \"le\": 1}", day, NDAY, 0, 0, msg));
}

static void never_check_passes_and_fails_on_a_trace(void)
{
    char msg[CK_MSG_MAX];
    CU_ASSERT(judge("{\"never\": \"ping_timeout\"}", day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"never\": \"disconnect\", \"to\": \"+1m\"}", day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"never\": \"disconnect[by=client]\"}", day, NDAY, 0, 0, msg));
    CU_ASSERT_FALSE(judge("{\"never\": \"disconnect\", \"from\": \"+30s\"}", day, NDAY, 0, 0, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] never disconnect from +30s: disconnect at +1m0.002s"
                                " (2 in all)");
}

static void within_check_passes_and_fails_on_a_trace(void)
{
    char msg[CK_MSG_MAX];
    CU_ASSERT(judge("{\"within\": \"10ms\", \"after\": \"fault:kill\", \"expect\": \"disconnect\"}",
                    day, NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"within\": \"2s\", \"after\": \"fault:kill[how=rst]\", \"expect\": \"ready\"}",
                    day, NDAY, 0, 0, msg));
    CU_ASSERT_FALSE(judge("{\"within\": \"2s\", \"after\": \"fault:kill\", \"expect\": \"ready\"}",
                          day, NDAY, 0, 0, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] within 2s after fault:kill expect ready: fault:kill at"
                                " +2m0s was not followed by ready within 2s (1 of 2 times)");
    /* The follower must come after, not before. */
    CU_ASSERT_FALSE(judge("{\"within\": \"1h\", \"after\": \"ready\", \"expect\": \"connect\"}",
                          day, NDAY, 0, 0, msg));
}

static void sequence_check_passes_and_fails_on_a_trace(void)
{
    char msg[CK_MSG_MAX];
    CU_ASSERT(judge("{\"sequence\": [\"connect\", \"ready\", \"fault:kill\", \"connect\"]}", day,
                    NDAY, 0, 0, msg));
    CU_ASSERT(judge("{\"sequence\": [\"disconnect[how=rst]\", \"disconnect[how=fin]\"]}", day,
                    NDAY, 0, 0, msg));
    CU_ASSERT_FALSE(judge("{\"sequence\": [\"disconnect[how=fin]\", \"ready\"]}", day, NDAY, 0, 0,
                          msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] sequence disconnect[how=fin] -> ready: no ready after"
                                " disconnect[how=fin] at +2m0.002s");
    CU_ASSERT_FALSE(judge("{\"sequence\": [\"ping_timeout\"]}", day, NDAY, 0, 0, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] sequence ping_timeout: no ping_timeout at all");
    CU_ASSERT_FALSE(judge("{\"sequence\": [\"connect\"], \"src\": \"gateway\"}", day, NDAY, 0, 0,
                          msg));
}

static void exit_check_passes_and_fails_on_the_exit(void)
{
    char msg[CK_MSG_MAX];
    CU_ASSERT(judge("{\"exit\": 0}", day, NDAY, 1, 0, msg));
    CU_ASSERT(judge("{\"exit\": 3}", day, NDAY, 1, 3, msg));
    CU_ASSERT_FALSE(judge("{\"exit\": 0}", day, NDAY, 1, 1, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] exit 0: the runner exited with 1");
    CU_ASSERT_FALSE(judge("{\"exit\": 0}", day, NDAY, 0, 0, msg));
    CU_ASSERT_STRING_EQUAL(msg, "expect[0] exit 0: the runner was still running when the run"
                                " ended at +10m0s");
}

#define NOF(x) (sizeof(x) / sizeof((x)[0]))

static const fake_ev_t phases[] = {
    {0, "runner", "status", "label", "Connecting", NULL, NULL},
    {0.01, "runner", "ready", NULL, NULL, NULL, NULL},
    {0.01, "runner", "status", "label", "API Connected", NULL, NULL},
    {100, "runner", "cycle_start", "n", "1", NULL, NULL},
    {100, "runner", "status", "label", "Cycle running", NULL, NULL},
    {130, "runner", "cycle_end", "n", "1", NULL, NULL},
    {130, "runner", "status", "label", "API Connected", NULL, NULL},
    {200, "runner", "disconnect", "by", "gateway", "how", "rst"},
    {200, "runner", "status", "label", "Reconnecting", NULL, NULL},
    {202, "runner", "ready", NULL, NULL, NULL, NULL},
    {202, "runner", "status", "label", "API Connected", NULL, NULL},
};

static void status_check_holds_outside_the_excepted_phases(void)
{
    char msg[CK_MSG_MAX];
    CU_ASSERT(judge("{\"status\": \"API Connected\", \"throughout\": [\"+1s\", \"+10m\"],"
                    " \"except\": [\"cycle\", \"reconnect\"]}", phases, NOF(phases), 0, 0, msg));
    CU_ASSERT(judge("{\"status\": \"API Connected\", \"throughout\": [\"+1s\", \"+3m\"],"
                    " \"except\": [\"cycle\"]}", phases, NOF(phases), 0, 0, msg));
    CU_ASSERT_FALSE(judge("{\"status\": \"API Connected\", \"throughout\": [\"+1s\", \"+10m\"],"
                          " \"except\": [\"cycle\"]}", phases, NOF(phases), 0, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, ": the label was \"Reconnecting\" at +3m20s"));
    CU_ASSERT_FALSE(judge("{\"status\": \"API Connected\", \"throughout\": [\"+1s\", \"+3m\"]}",
                          phases, NOF(phases), 0, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "the label was \"Cycle running\" at +1m40s"));
    CU_ASSERT_FALSE(judge("{\"status\": \"API Connected\"}", phases, NOF(phases), 0, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "the label was \"Connecting\" at +0s"));
}

static const fake_ev_t shutdown_ok[] = {
    {0, "runner", "connect", NULL, NULL, NULL, NULL},
    {0, "runner", "msg_out", "id", "71", "name", "startApi"},
    {0.01, "runner", "ready", NULL, NULL, NULL, NULL},
    {60, "runner", "msg_out", "id", "49", "name", "reqCurrentTime"},
    {60, "runner", "msg_out", "id", "20", "name", "reqHistoricalData"},
    {60.001, "runner", "signal", "name", "SIGINT", NULL, NULL},
    {60.002, "runner", "msg_in", "id", "49", "name", "currentTime"},
    {60.002, "runner", "msg_out", "id", "25", "name", "cancelHistoricalData"},
    {60.003, "runner", "disconnect", "by", "client", "how", "fin"},
    {60.003, "runner", "exit", "code", "0", NULL, NULL},
};

static void clean_shutdown_wants_fin_every_answer_and_exit_0(void)
{
    char msg[CK_MSG_MAX];
    fake_ev_t ev[NOF(shutdown_ok)];
    const char *check = "{\"clean_shutdown\": true}";
    CU_ASSERT(judge(check, shutdown_ok, NOF(shutdown_ok), 1, 0, msg));
    CU_ASSERT_FALSE(judge(check, shutdown_ok, NOF(shutdown_ok), 1, 3, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "the runner exited with 3"));
    memcpy(ev, shutdown_ok, sizeof ev);
    ev[6].ev = "ping"; /* the currentTime never came */
    CU_ASSERT_FALSE(judge(check, ev, NOF(ev), 1, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "1 request(s) unanswered at the disconnect: "
                                       "reqCurrentTime x1"));
    memcpy(ev, shutdown_ok, sizeof ev);
    ev[7].ev = "ping"; /* nor was the historical request withdrawn */
    CU_ASSERT_FALSE(judge(check, ev, NOF(ev), 1, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "reqHistoricalData x1"));
    memcpy(ev, shutdown_ok, sizeof ev);
    ev[8].v2 = "rst";
    CU_ASSERT_FALSE(judge(check, ev, NOF(ev), 1, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "ended by client with rst"));
    CU_ASSERT_FALSE(judge(check, shutdown_ok, 5, 0, 0, msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no signal in the trace"));
}

/* iv_evaluate over the recorded trace, checked against a pass that walked
 * it while it was recorded, an event at a time (the engine's way). */
static size_t judge_invariants(const sc_scenario_t *sc, const fake_ev_t *evs, size_t n,
                               size_t timers_left, ck_result_t *out, ck_result_t *live)
{
    tr_recorder_t *rec = tr_new(), *whole = fake_trace(evs, n);
    iv_pass_t *pass = iv_pass_new(sc, rec);
    for (size_t i = 0; i < n; i++) {
        io_trace_field_t f[2] = {IO_TS(evs[i].k1, evs[i].v1), IO_TS(evs[i].k2, evs[i].v2)};
        size_t nf = evs[i].k2 ? 2 : evs[i].k1 ? 1 : 0;
        tr_sink(rec, START_US + (io_us_t)(evs[i].at_s * 1e6), evs[i].src, evs[i].ev, nf, f);
        if (i % 2 == 0)
            iv_pass_advance(pass);
    }
    ck_run_t run = {rec, 0, 0, sc->end_us}, run_whole = {whole, 0, 0, sc->end_us};
    iv_input_t in = {sc, &run, sc->events, sc->nevents, {timers_left, 0, 0}};
    iv_input_t in_whole = {sc, &run_whole, sc->events, sc->nevents, {timers_left, 0, 0}};
    ck_result_t walked[IV_COUNT], walked_live;
    size_t held = iv_evaluate(&in_whole, out, live);
    CU_ASSERT_EQUAL(iv_pass_finish(pass, &in, walked, &walked_live), held);
    for (int k = 0; k < IV_COUNT; k++) {
        CU_ASSERT_EQUAL(out[k].pass, out[k].msg[0] == '\0');
        CU_ASSERT_EQUAL(walked[k].pass, out[k].pass);
        CU_ASSERT_EQUAL(walked[k].at, out[k].at);
        CU_ASSERT_STRING_EQUAL(walked[k].msg, out[k].msg);
    }
    CU_ASSERT_EQUAL(walked_live.pass, live->pass);
    CU_ASSERT_STRING_EQUAL(walked_live.msg, live->msg);
    iv_pass_free(pass);
    tr_free(rec);
    tr_free(whole);
    return held;
}

/* Evaluates the invariants of a scenario with a kill at +1m on a fake trace. */
static size_t invariants(const fake_ev_t *evs, size_t n, size_t timers_left, ck_result_t *out)
{
    sc_scenario_t *sc = load_ok("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"kill\"}], "
                                CHECK "}");
    ck_result_t live;
    size_t held = judge_invariants(sc, evs, n, timers_left, out, &live);
    sc_free(sc);
    return held;
}

/* The one invariant broken by evs, with its message. */
static void breaks_only(const fake_ev_t *evs, size_t n, enum iv_kind kind, const char *why)
{
    ck_result_t r[IV_COUNT];
    CU_ASSERT_EQUAL(invariants(evs, n, 0, r), IV_COUNT - 1);
    CU_ASSERT_FALSE(r[kind].pass);
    if (!strstr(r[kind].msg, why))
        fprintf(stderr, "\n  %s lacks %s\n", r[kind].msg, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(r[kind].msg, why));
}

static void each_invariant_holds_on_a_good_trace_and_breaks_on_its_fault(void)
{
    ck_result_t r[IV_COUNT];
    CU_ASSERT_EQUAL(invariants(shutdown_ok, NOF(shutdown_ok), 0, r), IV_COUNT);
    CU_ASSERT_EQUAL(invariants(day, NDAY, 0, r), IV_COUNT);
    CU_ASSERT_EQUAL(invariants(day, NDAY, 2, r), IV_COUNT - 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r[IV_NOTHING_LEFT].msg, "2 timer(s), 0 stream(s)"));
    const fake_ev_t twins[] = {
        {1, "gateway", "session_ready", "conn", "1", "client_id", "7"},
        {2, "gateway", "session_ready", "conn", "2", "client_id", "8"},
        {3, "gateway", "session_closed", "conn", "1", "client_id", "7"},
        {4, "gateway", "session_ready", "conn", "3", "client_id", "7"},
        {5, "gateway", "session_ready", "conn", "4", "client_id", "8"},
    };
    breaks_only(twins, NOF(twins), IV_ONE_SESSION,
                "invariant one_session: client id 8 has two live sessions (conn 2 and conn 4)"
                " at +5s");
    const fake_ev_t early[] = {
        {1, "runner", "connect", NULL, NULL, NULL, NULL},
        {1, "runner", "msg_out", "id", "71", "name", "startApi"},
        {1, "runner", "msg_out", "id", "49", "name", "reqCurrentTime"},
        {2, "runner", "ready", NULL, NULL, NULL, NULL},
    };
    breaks_only(early, NOF(early), IV_REQUEST_WINDOW, "reqCurrentTime sent before ready at +1s");
    const fake_ev_t late[] = {
        {1, "runner", "connect", NULL, NULL, NULL, NULL},
        {2, "runner", "ready", NULL, NULL, NULL, NULL},
        {3, "runner", "disconnect", "by", "gateway", "how", "fin"},
        {4, "runner", "msg_out", "id", "49", "name", "reqCurrentTime"},
    };
    breaks_only(late, NOF(late), IV_REQUEST_WINDOW, "sent with no connection open at +4s");
    const fake_ev_t degraded[] = {
        {1, "runner", "connect", NULL, NULL, NULL, NULL},
        {2, "runner", "ready", NULL, NULL, NULL, NULL},
        {3, "runner", "order", "symbol", "AAPL", "order_id", "1"},
        {4, "runner", "error:1100", "id", "-1", NULL, NULL},
        {5, "runner", "order", "symbol", "AAPL", "order_id", "2"},
    };
    breaks_only(degraded, NOF(degraded), IV_ORDER_STATE, "order sent while degraded");
    const fake_ev_t restored[] = {
        {1, "runner", "connect", NULL, NULL, NULL, NULL},
        {2, "runner", "ready", NULL, NULL, NULL, NULL},
        {4, "runner", "error:1100", "id", "-1", NULL, NULL},
        {5, "runner", "error:1102", "id", "-1", NULL, NULL},
        {6, "runner", "order", "symbol", "AAPL", "order_id", "2"},
    };
    CU_ASSERT_EQUAL(invariants(restored, NOF(restored), 0, r), IV_COUNT);
    const fake_ev_t twice[] = {
        {1, "runner", "connect", NULL, NULL, NULL, NULL},
        {2, "runner", "ready", NULL, NULL, NULL, NULL},
        {3, "runner", "cycle_start", "n", "4", NULL, NULL},
        {4, "runner", "order", "symbol", "AAPL", "order_id", "9"},
        {5, "runner", "disconnect", "by", "gateway", "how", "rst"},
        {6, "runner", "connect", NULL, NULL, NULL, NULL},
        {7, "runner", "ready", NULL, NULL, NULL, NULL},
        {8, "runner", "order", "symbol", "AAPL", "order_id", "10"},
    };
    breaks_only(twice, NOF(twice), IV_ORDER_ONCE, "AAPL ordered twice in cycle 4, across a "
                                                  "reconnect at +8s");
    fake_ev_t same_id[NOF(twice)];
    memcpy(same_id, twice, sizeof same_id);
    same_id[7].v1 = "MSFT";
    same_id[7].v2 = "9";
    breaks_only(same_id, NOF(same_id), IV_ORDER_ONCE, "order id 9 placed twice at +8s");
    const fake_ev_t leak[] = {
        {1, "runner", "connect", NULL, NULL, NULL, NULL},
        {2, "runner", "ready", NULL, NULL, NULL, NULL},
        {3, "runner", "connect", NULL, NULL, NULL, NULL},
        {3, "runner", "connect_failed", "reason", "refused", NULL, NULL},
    };
    breaks_only(leak, NOF(leak), IV_CLOSED, "a connect while the last connection is still open");
}

/* The liveness verdict of a scenario with a 1m stale at +1m, on a trace. */
static int liveness(const char *extra, const fake_ev_t *evs, size_t n, char *msg)
{
    char text[512];
    snprintf(text, sizeof text, "{" SPAN "%s, \"events\": [{\"at\": \"+1m\", \"fault\": \"stale\","
             " \"for\": \"1m\"}], " CHECK "}", extra);
    sc_scenario_t *sc = load_ok(text);
    ck_result_t r, inv[IV_COUNT];
    judge_invariants(sc, evs, n, 0, inv, &r);
    strcpy(msg, r.msg);
    sc_free(sc);
    return r.pass;
}

static void liveness_wants_a_connected_label_within_the_bound(void)
{
    fake_ev_t ev[] = {
        {0, "runner", "status", "label", "API Connected", NULL, NULL},
        {90, "runner", "status", "label", "Reconnecting", NULL, NULL},
        {230, "runner", "status", "label", "API Connected (Market Closed)", NULL, NULL},
    };
    char msg[CK_MSG_MAX];
    CU_ASSERT(liveness("", ev, NOF(ev), msg)); /* back at +3m50s, bound +2m+2m */
    CU_ASSERT_FALSE(liveness(", \"liveness\": \"1m\"", ev, NOF(ev), msg));
    CU_ASSERT_STRING_EQUAL(msg, "liveness: not connected 1m0s after the last fault ended at"
                                " +2m0s: the label was \"Reconnecting\"");
    CU_ASSERT(liveness(", \"liveness\": false", ev, NOF(ev), msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not judged: liveness is off"));
    ev[2].at_s = 700; /* never back within the span: a run that ended too soon is not judged */
    CU_ASSERT(liveness(", \"liveness\": \"9m\"", ev, NOF(ev), msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not judged: the run ended 8m0s after"));
    CU_ASSERT_FALSE(liveness("", ev, NOF(ev), msg));
    /* A status is in force from the latest time the trace reached, not
     * from its own: "Reconnecting" came after the trace had passed the
     * deadline (+2m+90s), however the walk was cut. */
    const fake_ev_t late[] = {
        {0, "runner", "status", "label", "API Connected", NULL, NULL},
        {100, "runner", "ping", NULL, NULL, NULL, NULL},
        {300, "runner", "ping", NULL, NULL, NULL, NULL},
        {200, "runner", "status", "label", "Reconnecting", NULL, NULL},
    };
    CU_ASSERT(liveness(", \"liveness\": \"90s\"", late, NOF(late), msg));
}

/* ---- the trace recorder ------------------------------------------------ */

/* The value of field key of event i, as tr_field_text gives it. */
static const char *field_of(const tr_recorder_t *rec, size_t i, const char *key, char num[24])
{
    tr_event_t e = tr_event(rec, i);
    return tr_field_text(&e, key, num);
}

/* One FNV-1a step over a 64-bit word, as trace.h defines the hash. */
static uint64_t fnv_word(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0x100000001b3ULL;
}

static uint64_t fnv_text(const char *s)
{
    return tr_fnv1a(s, strlen(s));
}

static void recorder_renders_its_json_lines_and_hashes_the_events(void)
{
    CU_ASSERT_EQUAL(tr_fnv1a("", 0), 0xcbf29ce484222325ULL);
    CU_ASSERT_EQUAL(tr_fnv1a("a", 1), 0xaf63dc4c8601ec8cULL);
    tr_recorder_t *rec = tr_new();
    CU_ASSERT_EQUAL(tr_hash(rec), tr_fnv1a("", 0));
    tr_sink(rec, START_US, "runner", "ping", 1, (io_trace_field_t[]){IO_TI("seq", 7)});
    tr_sink(rec, START_US + 5, "gateway", "fault:kill", 2,
            (io_trace_field_t[]){IO_TS("how", "r\"st"), IO_TI("big", -5000000000LL)});
    size_t len;
    char *text = tr_jsonl(rec, &len);
    const char *want = "{\"t\":\"2025-12-10T14:25:00.000000Z\",\"src\":\"runner\",\"ev\":\"ping\","
                       "\"seq\":7}\n{\"t\":\"2025-12-10T14:25:00.000005Z\",\"src\":\"gateway\","
                       "\"ev\":\"fault:kill\",\"how\":\"r\\\"st\",\"big\":-5000000000}\n";
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(len, strlen(want));
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
    /* The hash is FNV-1a over the events' words (trace.h), not over text. */
    uint64_t e0 = fnv_word(fnv_word(fnv_word(fnv_word(0xcbf29ce484222325ULL, (uint64_t)START_US),
                                             fnv_text("runner")), fnv_text("ping")), 1);
    e0 = fnv_word(fnv_word(fnv_word(e0, fnv_text("seq")), 0), 7);
    uint64_t e1 = fnv_word(fnv_word(fnv_word(fnv_word(0xcbf29ce484222325ULL,
                                                      (uint64_t)(START_US + 5)),
                                             fnv_text("gateway")), fnv_text("fault:kill")), 2);
    e1 = fnv_word(fnv_word(fnv_word(e1, fnv_text("how")), 1), fnv_text("r\"st"));
    e1 = fnv_word(fnv_word(fnv_word(e1, fnv_text("big")), 0), (uint64_t)-5000000000LL);
    CU_ASSERT_EQUAL(tr_hash(rec), fnv_word(fnv_word(0xcbf29ce484222325ULL, e0), e1));
    CU_ASSERT_EQUAL_FATAL(tr_count(rec), 2);
    char num[24];
    CU_ASSERT_STRING_EQUAL(field_of(rec, 0, "seq", num), "7");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 1, "how", num), "r\"st");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 1, "big", num), "-5000000000");
    CU_ASSERT_PTR_NULL(field_of(rec, 1, "seq", num));
    CU_ASSERT_EQUAL(tr_event(rec, 1).wall_us, START_US + 5);
    CU_ASSERT_EQUAL_FATAL(tr_nkinds(rec), 2);
    CU_ASSERT_EQUAL(tr_event(rec, 1).kind, 1);
    CU_ASSERT_STRING_EQUAL(tr_kind_src(rec, 1), "gateway");
    CU_ASSERT_STRING_EQUAL(tr_kind_ev(rec, 1), "fault:kill");
    tr_free(rec);
}

/* Asserts that two recorders hold the same events, line for line. */
static void assert_same_trace(const tr_recorder_t *a, const tr_recorder_t *b)
{
    CU_ASSERT_TRUE(tr_ok(a));
    CU_ASSERT_TRUE(tr_ok(b));
    CU_ASSERT_EQUAL(tr_count(a), tr_count(b));
    CU_ASSERT_EQUAL(tr_hash(a), tr_hash(b));
    size_t la, lb;
    char *ta = tr_jsonl(a, &la), *tb = tr_jsonl(b, &lb);
    CU_ASSERT_FATAL(ta && tb);
    CU_ASSERT_TRUE(la == lb && memcmp(ta, tb, la) == 0);
    free(ta);
    free(tb);
}

/* Event i of a stream whose kinds repeat (the fast way) and change (the
 * slow one): 0 to 16 fields of small and big integers and kept texts; one
 * ev both with an integer and with a text in its first field; a NULL ev. */
static size_t kept_event(long i, const char **ev, io_trace_field_t *f)
{
    static const char *const evs[] = {"ping", "msg_out", "wide", "turncoat", NULL};
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7",
                                       "k8", "k9", "ka", "kb", "kc", "kd", "ke", "kf"};
    size_t which = (size_t)(i % 5), n = which == 2 ? 16 : which == 4 ? 0 : (size_t)(i % 3);
    *ev = evs[which];
    for (size_t k = 0; k < n; k++) {
        if ((k + (size_t)i) % 3 == 0)
            f[k] = IO_TK(keys[k], evs[k % 2]);
        else
            f[k] = IO_TI(keys[k], (k % 2 ? (int64_t)1 << 40 : 7) * (i % 7 - 3));
    }
    if (which == 3)
        n = 1, f[0] = i % 2 ? IO_TI("k0", i) : IO_TK("k0", "text");
    return n;
}

/* A record the loop kept, read where it is, leaves the recorder as the
 * event given to tr_sink would: the same hash and lines, across
 * checkpoints, kinds that change their fields' types, and new blocks. */
static void a_kept_record_is_recorded_as_its_event(void)
{
    enum { N = 300000 };
    tr_recorder_t *direct = tr_new(), *kept = tr_new();
    unsigned char buf[sizeof(io_trace_rec_t) + 16 * sizeof(io_trace_rec_field_t)];
    io_trace_rec_t *r = (io_trace_rec_t *)(void *)buf;
    for (long i = 0; i < N; i++) {
        const char *ev;
        io_trace_field_t f[16];
        size_t n = kept_event(i, &ev, f);
        io_us_t t = START_US + i * 7 + (i % 1000 == 0 ? (io_us_t)1 << 33 : 0);
        tr_sink(direct, t, "runner", ev, n, f);
        CU_ASSERT_EQUAL_FATAL(io_trace_rec_fill(r, t, "runner", ev, n, f) >> IO_TRACE_REC_COPY &
                                  0xffff, 0);
        tr_record_kept(kept, r);
    }
    CU_ASSERT_EQUAL(tr_count(kept), N);
    assert_same_trace(direct, kept);
    size_t len;
    char *text = tr_jsonl(kept, &len);
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "\"ev\":\"turncoat\",\"k0\":\"text\""));
    free(text);
    tr_free(direct);
    tr_free(kept);
}

/* What an observer saw: how many calls, and the event count at each. */
typedef struct observed {
    const tr_recorder_t *rec;
    size_t calls;
    size_t counts[4];
} observed_t;

static void note_observed(void *data)
{
    observed_t *o = data;
    if (o->calls < 4)
        o->counts[o->calls] = tr_count(o->rec);
    o->calls++;
}

static void the_recorder_calls_its_observer_every_4096_events_until_told_to_stop(void)
{
    tr_recorder_t *rec = tr_new();
    observed_t o = {rec, 0, {0}};
    tr_observe(rec, note_observed, &o);
    for (long i = 0; i < 3 * 4096 + 5; i++)
        tr_sink(rec, START_US + i, "runner", "ping", 1, (io_trace_field_t[]){IO_TI("seq", i)});
    CU_ASSERT_EQUAL(o.calls, 3);
    CU_ASSERT_EQUAL(o.counts[0], 4096);
    CU_ASSERT_EQUAL(o.counts[1], 2 * 4096);
    CU_ASSERT_EQUAL(o.counts[2], 3 * 4096);
    tr_observe(rec, NULL, NULL);
    for (long i = 0; i < 4096; i++)
        tr_sink(rec, START_US + i, "runner", "ping", 1, (io_trace_field_t[]){IO_TI("seq", i)});
    CU_ASSERT_EQUAL(o.calls, 3);
    tr_free(rec);
}

/* IO_TS values are kept by content: a caller that reuses one buffer for other
 * text gets the new text, and the hash does not depend on where the text
 * was or on the order it was first seen. */
static void recorder_keeps_text_not_pointers(void)
{
    tr_recorder_t *a = tr_new(), *b = tr_new();
    char text[32], num[24];
    static const char *const literal[] = {"error:2104", "error:2105", "error:2106"};
    for (int code = 2104; code <= 2106; code++) {
        snprintf(text, sizeof text, "error:%d", code);
        tr_sink(a, START_US, "runner", literal[code - 2104], 1,
                (io_trace_field_t[]){IO_TS("text", text)});
    }
    for (size_t i = 0; i < 3; i++)
        tr_sink(b, START_US, "runner", literal[i], 1,
                (io_trace_field_t[]){IO_TS("text", literal[i])});
    CU_ASSERT_EQUAL_FATAL(tr_count(a), 3);
    CU_ASSERT_STRING_EQUAL(tr_event(a, 0).ev, "error:2104");
    CU_ASSERT_STRING_EQUAL(tr_event(a, 2).ev, "error:2106");
    CU_ASSERT_STRING_EQUAL(field_of(a, 1, "text", num), "error:2105");
    CU_ASSERT_EQUAL(tr_nkinds(a), 3);
    CU_ASSERT_EQUAL(tr_hash(a), tr_hash(b));
    tr_sink(b, START_US, "runner", "error:2106", 1, (io_trace_field_t[]){IO_TS("text", "x")});
    tr_sink(a, START_US, "runner", "error:2106", 1, (io_trace_field_t[]){IO_TS("text", "y")});
    CU_ASSERT_NOT_EQUAL(tr_hash(a), tr_hash(b));
    tr_free(a);
    tr_free(b);
}

/* Events fill more than one block of words and pass many checkpoints; the
 * times jump forward by more than 32 bits of microseconds and go back, and
 * every event reads back the same through a walk and through random
 * access, with the hash of the words trace.h defines. */
static void recorder_reads_back_every_event_across_blocks_and_time_jumps(void)
{
    enum { N = 100000 };
    tr_recorder_t *rec = tr_new();
    uint64_t want = 0xcbf29ce484222325ULL;
    io_us_t t = START_US;
    for (int i = 0; i < N; i++) {
        t += i % 1000 == 7 ? (io_us_t)5000 * IO_US_PER_S : i % 1000 == 8 ? -3 : 1500;
        tr_sink(rec, t, "runner", "ping", 1, (io_trace_field_t[]){IO_TI("seq", i)});
        uint64_t e = fnv_word(fnv_word(fnv_word(fnv_word(0xcbf29ce484222325ULL, (uint64_t)t),
                                                fnv_text("runner")), fnv_text("ping")), 1);
        want = fnv_word(want, fnv_word(fnv_word(fnv_word(e, fnv_text("seq")), 0), (uint64_t)i));
    }
    CU_ASSERT_EQUAL_FATAL(tr_count(rec), N);
    CU_ASSERT_EQUAL(tr_hash(rec), want);
    CU_ASSERT_EQUAL(tr_nkinds(rec), 1);
    CU_ASSERT_EQUAL(tr_kind_count(rec, 0), N);
    char num[24], text[24];
    io_us_t w = START_US;
    size_t seen = 0;
    for (tr_cursor_t c = tr_cursor(rec, 0); c.i < c.n; tr_next(&c), seen++) {
        w += c.i % 1000 == 7 ? (io_us_t)5000 * IO_US_PER_S : c.i % 1000 == 8 ? -3 : 1500;
        tr_event_t e = tr_cursor_event(&c);
        snprintf(text, sizeof text, "%zu", c.i);
        if (c.wall_us != w || strcmp(tr_field_text(&e, "seq", num), text) != 0)
            break;
    }
    CU_ASSERT_EQUAL(seen, N);
    static const size_t at[] = {0, 63, 64, 65, 1007, 1008, 1009, 87381, 87382, N - 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        snprintf(text, sizeof text, "%zu", at[k]);
        CU_ASSERT_STRING_EQUAL(field_of(rec, at[k], "seq", num), text);
        CU_ASSERT_EQUAL(tr_event(rec, at[k]).wall_us, tr_cursor(rec, at[k]).wall_us);
        CU_ASSERT_EQUAL(tr_event(rec, at[k]).kind, 0);
    }
    CU_ASSERT_EQUAL(tr_event(rec, 1008).wall_us, tr_event(rec, 1007).wall_us - 3);
    tr_cursor_t end = tr_cursor(rec, N);
    CU_ASSERT_EQUAL(end.i, N);
    CU_ASSERT_FALSE(tr_next(&end));
    tr_free(rec);
}

/* Feeds one sequence of events to a sink: numbers past int32, IO_TK
 * literals, IO_TS text rebuilt in one buffer in every fourth event, a NULL
 * ev, and a value too big for one of the pipe's blocks. */
static void feed_mixed_events(io_trace_sink sink, void *data, int n)
{
    static const char *const kinds[] = {"ping", "msg_out", "error:2104"};
    char text[40];
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    for (int i = 0; i < n; i++) {
        io_us_t t = START_US + (io_us_t)i * 1500;
        snprintf(text, sizeof text, "value %d", i % 97);
        const char *ev = kinds[i % 3];
        io_trace_field_t f[3] = {IO_TI("seq", (int64_t)i << (i % 2 ? 33 : 0)),
                                 IO_TK("name", kinds[i % 2]), IO_TS("text", text)};
        sink(data, t, "runner", ev, i % 4 ? 2 : 3, f); /* a copy in one event of four */
        if (i % 50000 == 7)
            sink(data, t, "gateway", NULL, 1, (io_trace_field_t[]){IO_TS("blob", big)});
    }
    free(big);
}

/* Through the pipe's thread the recorder ends as tr_sink leaves it: the same
 * hash and the same lines, across many blocks, with the run's thread held
 * back while the recorder is behind, and through an outsize block. */
static void the_pipe_records_exactly_what_the_recorder_would(void)
{
    enum { N = 200000 };
    tr_recorder_t *direct = tr_new(), *piped = tr_new();
    tp_pipe_t *pipe;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(tp_start(piped, &pipe, err, sizeof err), 0);
    feed_mixed_events(tr_sink, direct, N);
    feed_mixed_events(tp_sink, pipe, N);
    tp_finish(pipe);
    CU_ASSERT_EQUAL(tr_count(piped), N + N / 50000);
    assert_same_trace(direct, piped);
    size_t len;
    char *text = tr_jsonl(piped, &len);
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "\"text\":\"value 96\""));
    free(text);
    tr_free(direct);
    tr_free(piped);
}

/* A pipe that never saw an event leaves an empty, complete recorder. */
static void a_pipe_closed_at_once_leaves_an_empty_recorder(void)
{
    tr_recorder_t *rec = tr_new();
    tp_pipe_t *pipe;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(tp_start(rec, &pipe, err, sizeof err), 0);
    tp_finish(pipe);
    tp_finish(NULL);
    CU_ASSERT_TRUE(tr_ok(rec));
    CU_ASSERT_EQUAL(tr_count(rec), 0);
    tr_free(rec);
}

/* Emits one sequence of events through a loop's io_trace, the clock moving
 * on: integers past int32, IO_TK values, IO_TS text rebuilt in one buffer
 * (every fifth event), events without fields, built names, one with many
 * fields, and one too big for a block. Most go into the pipe's room, the
 * rest reach tp_sink as calls, in between. */
static void emit_loop_events(io_loop_t *loop, int n)
{
    static const char *const names[] = {"reqCurrentTime", "currentTime"};
    char text[40], ev[24];
    char *big = malloc(300001);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'y', 300000);
    big[300000] = '\0';
    io_trace_field_t wide[40];
    for (int k = 0; k < 40; k++)
        wide[k] = IO_TI("w", k);
    for (int i = 0; i < n; i++) {
        io_sim_run_until(loop, (io_us_t)i * 1500);
        IO_TRACE(loop, "runner", "ping", IO_TI("seq", (int64_t)i << (i % 2 ? 33 : 0)));
        IO_TRACE(loop, "runner", "msg_out", IO_TI("id", i % 60), IO_TK("name", names[i % 2]));
        if (i % 5 == 0) {
            snprintf(text, sizeof text, "value %d", i % 97);
            IO_TRACE(loop, "runner", "note", IO_TI("n", i), IO_TS("text", text));
        }
        if (i % 7 == 0)
            IO_TRACE0(loop, "runner", "tick");
        if (i % 1000 == 3) {
            snprintf(ev, sizeof ev, "error:%d", 2100 + i % 9);
            IO_TRACE_NAMED(loop, "runner", ev, IO_TI("id", i));
            io_trace(loop, "runner", "wide", 40, wide);
        }
        if (i == n / 2)
            IO_TRACE(loop, "gateway", "blob", IO_TS("blob", big));
    }
    free(big);
}

static io_loop_t *pipe_loop(void)
{
    io_sim_config_t cfg = {1, START_US, IO_SIM_NET_DEFAULT};
    io_loop_t *loop = io_sim_loop_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    return loop;
}

/* Set on a loop, the pipe gives it room: what io_trace writes there and
 * what comes to tp_sink as calls (copies, full blocks, a big event) reach
 * the recorder in order, as tr_sink records them, over many blocks. */
static void events_a_loop_writes_into_the_pipes_room_are_recorded_as_tr_sink_records_them(void)
{
    enum { N = 60000 };
    tr_recorder_t *direct = tr_new(), *piped = tr_new();
    io_loop_t *dl = pipe_loop(), *pl = pipe_loop();
    tp_pipe_t *pipe;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(tp_start(piped, &pipe, err, sizeof err), 0);
    io_set_trace_sink(dl, tr_sink, direct);
    tp_attach(pipe, pl);
    emit_loop_events(dl, N);
    emit_loop_events(pl, N);
    io_set_trace_sink(pl, NULL, NULL); /* as the engine ends a run */
    IO_TRACE0(pl, "runner", "after"); /* not recorded */
    tp_finish(pipe);
    CU_ASSERT_TRUE(tr_count(piped) > (size_t)2 * N);
    assert_same_trace(direct, piped);
    io_loop_free(dl);
    io_loop_free(pl);
    tr_free(direct);
    tr_free(piped);
}

/* Emits events of every field count from none to past what a record
 * holds, each field an integer (both ends of int64 among them), an IO_TK
 * text or an IO_TS text rebuilt in one buffer, in patterns that move every
 * kind through every position. */
static void emit_wide_events(io_loop_t *loop, int rounds)
{
    static const char *const keys[] = {"a", "b", "c", "d"};
    enum { MOST = 18 }; /* past the 16 fields a record holds (io_base.h) */
    const int64_t nums[] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 40};
    char text[MOST][16];
    io_trace_field_t f[MOST];
    for (int r = 0; r < rounds; r++) {
        io_sim_run_until(loop, (io_us_t)r * 700);
        for (size_t n = 0; n <= MOST; n++) {
            for (size_t i = 0; i < n; i++) {
                size_t kind = (i * 7 + (size_t)r + n) % 5;
                snprintf(text[i], sizeof text[i], "t%d.%zu", r % 13, i);
                f[i] = kind == 0   ? IO_TK(keys[i % 4], keys[(i + 1) % 4])
                       : kind == 1 && r % 3 == 0 ? IO_TS(keys[i % 4], text[i])
                                                 : IO_TI(keys[i % 4], nums[(i + n + (size_t)r) % 5]);
            }
            io_trace(loop, "wide", keys[n % 4], n, n ? f : NULL);
        }
    }
}

/* Events from none to past a record's fields, each kind of field at every
 * position, reach the recorder through the pipe's room and its calls as
 * tr_sink records them. */
static void events_of_every_width_and_field_kind_pass_the_pipe_as_given(void)
{
    tr_recorder_t *direct = tr_new(), *piped = tr_new();
    io_loop_t *dl = pipe_loop(), *pl = pipe_loop();
    tp_pipe_t *pipe;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(tp_start(piped, &pipe, err, sizeof err), 0);
    io_set_trace_sink(dl, tr_sink, direct);
    tp_attach(pipe, pl);
    emit_wide_events(dl, 3000);
    emit_wide_events(pl, 3000);
    tp_finish(pipe);
    CU_ASSERT_EQUAL(tr_count(piped), (size_t)3000 * 19);
    assert_same_trace(direct, piped);
    io_loop_free(dl);
    io_loop_free(pl);
    tr_free(direct);
    tr_free(piped);
}

/* A pipe finished while a loop still holds its room takes it back, and
 * the loop's later free does not reach for the pipe. A second loop takes
 * the room from the first, whose events then come as calls, in order with
 * the second's; after both let go, the calls fill the pipe's own room. */
static void a_pipe_finished_before_its_loop_or_moved_to_another_loses_nothing(void)
{
    char err[128];
    {
        tr_recorder_t *direct = tr_new(), *piped = tr_new();
        io_loop_t *dl = pipe_loop(), *pl = pipe_loop();
        tp_pipe_t *pipe;
        CU_ASSERT_EQUAL_FATAL(tp_start(piped, &pipe, err, sizeof err), 0);
        io_set_trace_sink(dl, tr_sink, direct);
        tp_attach(pipe, pl);
        emit_loop_events(dl, 3000);
        emit_loop_events(pl, 3000);
        tp_finish(pipe);
        io_loop_free(pl);
        assert_same_trace(direct, piped);
        io_loop_free(dl);
        tr_free(direct);
        tr_free(piped);
    }

    tr_recorder_t *direct = tr_new(), *piped = tr_new();
    io_loop_t *da = pipe_loop(), *db = pipe_loop(), *pa = pipe_loop(), *pb = pipe_loop();
    tp_pipe_t *pipe;
    CU_ASSERT_EQUAL_FATAL(tp_start(piped, &pipe, err, sizeof err), 0);
    io_set_trace_sink(da, tr_sink, direct);
    io_set_trace_sink(db, tr_sink, direct);
    tp_attach(pipe, pa);
    for (int round = 0; round < 3; round++) {
        emit_loop_events(da, 500);
        emit_loop_events(pa, 500);
        if (round == 0)
            tp_attach(pipe, pb); /* takes the room from pa */
        emit_loop_events(db, 700);
        emit_loop_events(pb, 700);
    }
    io_set_trace_sink(pb, NULL, NULL);
    io_set_trace_sink(db, NULL, NULL);
    emit_loop_events(da, 200);
    emit_loop_events(pa, 200);
    tp_finish(pipe);
    assert_same_trace(direct, piped);
    io_loop_free(da);
    io_loop_free(db);
    io_loop_free(pa);
    io_loop_free(pb);
    tr_free(direct);
    tr_free(piped);
}

/* An IO_TK value is known by its address alone, but only an address cached
 * from an IO_TK value counts: text an IO_TS value left there is not taken
 * for it. */
static void a_kept_value_never_takes_the_text_a_reused_buffer_left_in_the_cache(void)
{
    tr_recorder_t *rec = tr_new();
    char buf[8] = "one", num[24];
    tr_sink(rec, START_US, "runner", "msg_in", 1, (io_trace_field_t[]){IO_TS("name", buf)});
    strcpy(buf, "two");
    tr_sink(rec, START_US, "runner", "msg_in", 1, (io_trace_field_t[]){IO_TK("name", buf)});
    tr_sink(rec, START_US, "runner", "msg_in", 1, (io_trace_field_t[]){IO_TK("name", buf)});
    strcpy(buf, "six");
    tr_sink(rec, START_US, "runner", "msg_in", 1, (io_trace_field_t[]){IO_TS("name", buf)});
    CU_ASSERT_STRING_EQUAL(field_of(rec, 0, "name", num), "one");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 1, "name", num), "two");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 2, "name", num), "two");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 3, "name", num), "six");
    tr_free(rec);
}

static const char *named_seen[300];
static size_t named_n;

static void named_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                       size_t nfields, const io_trace_field_t *fields)
{
    (void)data, (void)wall_us, (void)src, (void)nfields, (void)fields;
    if (named_n < sizeof named_seen / sizeof named_seen[0])
        named_seen[named_n++] = ev;
}

/* io_trace_named hands the sink the loop's one copy of each built name, so
 * the same name has the same address however often it is built, and the
 * copies outlive the buffer and the table's growth. */
static void a_built_event_name_has_one_lasting_copy_per_loop(void)
{
    io_loop_t *loop = io_sim_loop_new(NULL);
    char ev[32];
    named_n = 0;
    io_trace_named(loop, "runner", "error:1", 0, NULL); /* no sink yet: nothing kept */
    io_set_trace_sink(loop, named_sink, NULL);
    for (int round = 0; round < 2; round++) {
        for (int code = 0; code < 100; code++) {
            snprintf(ev, sizeof ev, "error:%d", code);
            IO_TRACE_NAMED(loop, "runner", ev, IO_TI("id", code));
        }
    }
    CU_ASSERT_EQUAL_FATAL(named_n, 200);
    int same = 1, apart = 1, right = 1;
    for (int code = 0; code < 100; code++) {
        snprintf(ev, sizeof ev, "error:%d", code);
        same &= named_seen[code] == named_seen[100 + code];
        right &= strcmp(named_seen[code], ev) == 0 && named_seen[code] != ev;
        apart &= code == 0 || named_seen[code] != named_seen[code - 1];
    }
    CU_ASSERT_TRUE(same);
    CU_ASSERT_TRUE(apart);
    CU_ASSERT_TRUE(right);
    io_loop_free(loop);
}

/* The kind cache compares pointers: the same ev, src and key pointers with
 * a field of another type (int, beyond int32, text) are other kinds, and
 * each reads back as given; an event with more fields than the cache
 * compares is recorded as well. */
static void recorder_tells_kinds_apart_by_field_types_and_keeps_wide_events(void)
{
    tr_recorder_t *rec = tr_new();
    const char *ev = "order", *key = "qty";
    char num[24];
    for (int round = 0; round < 2; round++) {
        tr_sink(rec, START_US, "runner", ev, 1, (io_trace_field_t[]){IO_TI(key, -7)});
        tr_sink(rec, START_US, "runner", ev, 1, (io_trace_field_t[]){IO_TI(key, 5000000000LL)});
        tr_sink(rec, START_US, "runner", ev, 1, (io_trace_field_t[]){IO_TS(key, "")});
        tr_sink(rec, START_US, "runner", ev, 1, (io_trace_field_t[]){IO_TI(key, INT32_MIN)});
    }
    io_trace_field_t wide[9];
    static const char *const keys[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    for (int i = 0; i < 9; i++)
        wide[i] = IO_TI(keys[i], i);
    tr_sink(rec, START_US, "gateway", "wide", 9, wide);
    tr_sink(rec, START_US, "gateway", "wide", 9, wide);
    CU_ASSERT_EQUAL_FATAL(tr_count(rec), 10);
    CU_ASSERT_EQUAL(tr_nkinds(rec), 4);
    CU_ASSERT_EQUAL(tr_kind_count(rec, 0), 4); /* the int32 ones */
    CU_ASSERT_EQUAL(tr_kind_count(rec, 3), 2);
    CU_ASSERT_STRING_EQUAL(field_of(rec, 4, "qty", num), "-7");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 5, "qty", num), "5000000000");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 6, "qty", num), "");
    CU_ASSERT_STRING_EQUAL(field_of(rec, 7, "qty", num), "-2147483648");
    CU_ASSERT_EQUAL(tr_event(rec, 5).kind, 1);
    CU_ASSERT_STRING_EQUAL(field_of(rec, 9, "i", num), "8");
    CU_ASSERT_STRING_EQUAL(tr_kind_ev(rec, tr_event(rec, 9).kind), "wide");
    char line[256];
    tr_format(rec, 9, line, sizeof line);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"ev\":\"wide\",\"a\":0,\"b\":1,"));
    tr_free(rec);
}

static void recorder_writes_the_file_whole_or_not_at_all(void)
{
    tr_recorder_t *rec = tr_new();
    tr_sink(rec, START_US, "runner", "exit", 1, (io_trace_field_t[]){IO_TI("code", 0)});
    char path[128], tmp[140], err[256] = "", buf[256];
    snprintf(path, sizeof path, "%s/trace.jsonl", test_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_EQUAL(tr_write(rec, path, err, sizeof err), 0);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t len;
    char *text = tr_jsonl(rec, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(n, len);
    CU_ASSERT_EQUAL(memcmp(buf, text, len), 0);
    free(text);
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
    unlink(path);
    snprintf(path, sizeof path, "%s/no/such/dir/trace.jsonl", test_dir);
    CU_ASSERT_EQUAL(tr_write(rec, path, err, sizeof err), IO_ERR_SYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "trace.jsonl.tmp"));
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    tr_free(rec);
}

/* ---- whole runs -------------------------------------------------------- */

static sc_scenario_t *load_scenario(const char *path)
{
    char err[512] = "";
    sc_scenario_t *sc = NULL;
    int rc = sc_load_file(path, &sc, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return sc;
}

static void run_ok(const sc_scenario_t *sc, const en_options_t *opt, en_result_t *res)
{
    char err[512] = "";
    int rc = en_run(sc, opt, res, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void the_scenarios_in_the_project_pass(void)
{
    static const char *const files[] = {
        "scenarios/handshake-and-ping.json", "scenarios/kill-detected.json",
        "scenarios/stale-detected.json", "scenarios/sigint-clean-shutdown.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        sc_scenario_t *sc = load_scenario(files[i]);
        en_options_t opt = {0};
        en_result_t res;
        run_ok(sc, &opt, &res);
        for (size_t j = 0; j < res.nchecks; j++)
            if (!res.checks[j].pass)
                fprintf(stderr, "\n  %s: %s\n", files[i], res.checks[j].msg);
        CU_ASSERT(res.pass);
        CU_ASSERT_EQUAL(res.npassed, sc->nchecks);
        CU_ASSERT(res.nevents > 0);
        CU_ASSERT_EQUAL(res.nevents, tr_count(res.trace));
        en_result_free(&res);
        sc_free(sc);
    }
}

/* The promise of the whole project: one seed, one run, byte for byte. The
 * scenario has chunking and jitter, so the seed drives real choices. */
static void the_same_seed_gives_the_same_trace_byte_for_byte(void)
{
    sc_scenario_t *sc = load_scenario("scenarios/kill-detected.json");
    CU_ASSERT_FATAL(sc->net.chunking && sc->net.jitter_us > 0);
    en_options_t opt = {0};
    en_result_t a, b, c;
    run_ok(sc, &opt, &a);
    run_ok(sc, &opt, &b);
    opt.override_seed = 1;
    opt.seed = sc->seed + 1;
    run_ok(sc, &opt, &c);
    size_t alen, blen, clen;
    char *at = tr_jsonl(a.trace, &alen), *bt = tr_jsonl(b.trace, &blen);
    char *ct = tr_jsonl(c.trace, &clen);
    CU_ASSERT_FATAL(at && bt && ct);
    CU_ASSERT(alen > 1000);
    CU_ASSERT_EQUAL(alen, blen);
    CU_ASSERT_EQUAL(memcmp(at, bt, alen < blen ? alen : blen), 0);
    CU_ASSERT_EQUAL(a.hash, b.hash);
    CU_ASSERT_EQUAL(c.seed, sc->seed + 1);
    CU_ASSERT(clen != alen || memcmp(at, ct, alen) != 0);
    CU_ASSERT_NOT_EQUAL(a.hash, c.hash);
    free(at);
    free(bt);
    free(ct);
    en_result_free(&a);
    en_result_free(&b);
    en_result_free(&c);
    sc_free(sc);
}

/* The index of the first event of kind ev in the result's trace, or -1. */
static long find_ev(const en_result_t *res, const char *ev, size_t from)
{
    for (size_t i = from; i < tr_count(res->trace); i++)
        if (strcmp(tr_event(res->trace, i).ev, ev) == 0)
            return (long)i;
    return -1;
}

static void events_fire_at_their_moment_and_stale_ends_after_for(void)
{
    const char *text = "{" SPAN ", \"events\": [{\"at\": \"+2m\", \"fault\": \"stale\", \"for\": \"1m\"},"
                       " {\"at\": \"+5m\", \"fault\": \"kill\", \"how\": \"rst\"}], " CHECK "}";
    char err[512];
    sc_scenario_t *sc = NULL;
    CU_ASSERT_EQUAL_FATAL(sc_load_text("e.json", text, strlen(text), &sc, err, sizeof err), 0);
    en_options_t opt = {0};
    en_result_t res;
    run_ok(sc, &opt, &res);
    long on = find_ev(&res, "fault:stale", 0);
    CU_ASSERT_FATAL(on >= 0);
    long off = find_ev(&res, "fault_end:stale", (size_t)on + 1);
    long kill = find_ev(&res, "fault:kill", 0);
    CU_ASSERT_FATAL(off >= 0 && kill >= 0);
    char num[24];
    CU_ASSERT_EQUAL(tr_event(res.trace, (size_t)on).wall_us, START_US + S(120));
    CU_ASSERT_STRING_EQUAL(field_of(res.trace, (size_t)on, "on", num), "1");
    CU_ASSERT_EQUAL(tr_event(res.trace, (size_t)off).wall_us, START_US + S(180));
    CU_ASSERT_EQUAL(tr_event(res.trace, (size_t)kill).wall_us, START_US + S(300));
    /* Nobody stopped the runner: the run spans the scenario, and exit 0 fails. */
    CU_ASSERT_EQUAL(res.span_us, S(600));
    CU_ASSERT_FALSE(res.exited);
    CU_ASSERT_FALSE(res.pass);
    en_result_free(&res);
    sc_free(sc);
}

static void the_run_stops_when_the_runner_exits(void)
{
    sc_scenario_t *sc = load_scenario("scenarios/sigint-clean-shutdown.json");
    en_options_t opt = {0};
    en_result_t res;
    run_ok(sc, &opt, &res);
    CU_ASSERT(res.exited);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_FATAL(sc->nevents == 1);
    CU_ASSERT(res.span_us >= sc->events[0].at_us - sc->start_us);
    CU_ASSERT(res.span_us < sc->end_us - sc->start_us);
    /* Nothing after the exit is recorded. */
    CU_ASSERT_STRING_EQUAL(tr_event(res.trace, res.nevents - 1).ev, "exit");
    en_result_free(&res);
    sc_free(sc);
}

/* ---- shrinking --------------------------------------------------------- */

/* 20 faults in an hour (480/day), and a check any kill in the last ten
 * minutes breaks. */
#define TWENTY                                                                              \
    "{\"name\": \"twenty\", \"seed\": 4, \"start\": \"" START_TEXT "\", \"end\": \"+1h\","    \
    " \"runner\": {\"health_check\": {\"interval\": \"30s\", \"timeout\": \"5s\"}},"           \
    " \"events\": [{\"random\": {\"kinds\": [\"kill\", \"latency\", \"refuse\"],"                \
    " \"rate\": \"480/day\", \"for\": [\"10s\", \"1m\"]}}],"                                     \
    " \"expect\": [{\"never\": \"fault:kill\", \"from\": \"+50m\"}]}"

static void shrink_turns_a_twenty_fault_failing_schedule_into_a_smaller_one_that_still_fails(void)
{
    sc_scenario_t *sc = load_ok(TWENTY);
    en_options_t opt = {0};
    en_result_t res;
    run_ok(sc, &opt, &res);
    CU_ASSERT_EQUAL_FATAL(res.outcome, EN_FAIL_CHECK);
    CU_ASSERT_EQUAL(res.nfaults, 20);
    en_result_free(&res);
    sh_result_t r;
    char err[512] = "", path[128];
    CU_ASSERT_EQUAL_FATAL(sh_shrink(sc, &opt, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL(r.from, 20);
    CU_ASSERT_EQUAL(r.outcome, EN_FAIL_CHECK);
    CU_ASSERT_EQUAL_FATAL(r.nevents, 1); /* the one kill after +50m it needs */
    CU_ASSERT_EQUAL(r.events[0].fault.kind, GW_FAULT_KILL);
    CU_ASSERT(r.events[0].at_us >= sc->start_us + S(3000));
    CU_ASSERT(r.runs > 20);
    snprintf(path, sizeof path, "%s/shrunk.json", test_dir);
    CU_ASSERT_EQUAL_FATAL(sd_write(sc, r.seed, r.events, r.nevents, path, err, sizeof err), 0);
    sc_scenario_t *small = load_scenario(path);
    CU_ASSERT_EQUAL(small->nevents, 1);
    run_ok(small, &opt, &res);
    CU_ASSERT_EQUAL(res.outcome, EN_FAIL_CHECK);
    CU_ASSERT_EQUAL(res.seed, sc->seed);
    en_result_free(&res);
    unlink(path);
    sc_free(small);
    sh_result_free(&r);
    sc_free(sc);
}

static void shrink_halves_a_fault_while_it_still_fails(void)
{
    sc_scenario_t *sc = load_ok(
        "{" SPAN ", \"runner\": {\"reconnect\": {\"initial\": \"1s\", \"max\": \"1s\","
        " \"jitter\": 0}}, \"events\": [{\"at\": \"+1m\", \"fault\": \"down\", \"for\": \"4m\"}],"
        " \"expect\": [{\"count\": \"connect_failed\", \"le\": 3}]}");
    sh_result_t r;
    char err[512] = "";
    en_options_t opt = {0};
    CU_ASSERT_EQUAL_FATAL(sh_shrink(sc, &opt, &r, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(r.nevents, 1);
    /* Four connects refused need about 4s of down time: 4m halves to 7.5s. */
    CU_ASSERT(r.events[0].fault.for_us < S(16) && r.events[0].fault.for_us >= S(3));
    sh_result_free(&r);
    /* A passing run has nothing to shrink. */
    sc_free(sc);
    sc = load_ok("{" SPAN ", \"expect\": [{\"count\": \"ready\", \"ge\": 1}]}");
    CU_ASSERT_EQUAL(sh_shrink(sc, &opt, &r, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "seed 0 passes; nothing to shrink"));
    sc_free(sc);
}

/* ---- reports ----------------------------------------------------------- */

/* Three records: a pass, a failed check, a file that did not load. */
static void three_runs(rp_run_t runs[3])
{
    sc_scenario_t *sc = load_ok("{\"name\": \"two\", \"seed\": 3, " SPAN ", \"expect\": ["
                                "{\"count\": \"ready\", \"ge\": 1}, {\"never\": \"ping\"}]}");
    en_options_t opt = {0};
    en_result_t res;
    run_ok(sc, &opt, &res);
    CU_ASSERT_EQUAL_FATAL(rp_from_result(&runs[1], "s/two.json", sc, &res, 1.5), 0);
    sc_free(sc);
    sc = load_ok("{\"name\": \"one\", " SPAN ", \"expect\": [{\"count\": \"ready\", \"ge\": 1}]}");
    en_result_free(&res);
    run_ok(sc, &opt, &res);
    CU_ASSERT_EQUAL_FATAL(rp_from_result(&runs[0], "s/one.json", sc, &res, 0.5), 0);
    CU_ASSERT_EQUAL_FATAL(rp_from_error(&runs[2], "s/bad.json", 0, 0, "s/bad.json: seed: x"), 0);
    en_result_free(&res);
    sc_free(sc);
}

/* What a report function writes, as a string (free()). */
static char *report_text(void (*fn)(FILE *, const rp_run_t *, size_t), const rp_run_t *runs,
                         size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fn(f, runs, n);
    fclose(f);
    return buf;
}

static void a_record_survives_its_json_line(void)
{
    rp_run_t runs[3], back;
    three_runs(runs);
    CU_ASSERT_EQUAL(runs[1].code, EN_FAIL_CHECK);
    CU_ASSERT_EQUAL_FATAL(runs[1].nfailures, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(runs[1].failures[0].excerpt, "> {\"t\":"));
    for (int i = 0; i < 3; i++) {
        char *line = rp_to_line(&runs[i]), *again;
        CU_ASSERT_EQUAL_FATAL(rp_from_line(line, &back), 0);
        again = rp_to_line(&back);
        CU_ASSERT_STRING_EQUAL(line, again);
        CU_ASSERT_EQUAL(back.hash, runs[i].hash);
        free(line);
        free(again);
        rp_clear(&back);
        rp_clear(&runs[i]);
    }
    CU_ASSERT_EQUAL(rp_from_line("{\"file\": 1}", &back), IO_ERR_INVAL);
}

static void the_reports_say_what_failed_and_how_to_reproduce_it(void)
{
    rp_run_t runs[3];
    three_runs(runs);
    char *text = report_text(rp_text, runs, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "PASS one  1/1 checks  virtual 10m0s  wall 0.5ms  trace "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "FAIL two  1/2 checks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  expect[1] never ping: ping at +"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "      > {\"t\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  reproduce: sim --seed 3 s/two.json\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "scenarios: 1 passed, 1 failed\n"));
    free(text);
    text = report_text(rp_tap, runs, 3);
    CU_ASSERT_EQUAL(strncmp(text, "TAP version 13\n1..3\nok 1 - one seed 0\nnot ok 2 - two seed 3\n"
                                  "  ---\n  message: \"expect[1] never ping", 80), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  reproduce: \"sim --seed 3 s/two.json\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "not ok 3 - s/bad.json\n"));
    CU_ASSERT(strlen(text) > 20 && strcmp(text + strlen(text) - 20, "\n1 passed, 2 failed\n") == 0);
    free(text);
    text = report_text(rp_json, runs, 3);
    cJSON *doc = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "runs")), 3);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(doc, "exit")->valueint, 2);
    cJSON_Delete(doc);
    free(text);
    CU_ASSERT_EQUAL(rp_exit_code(runs, 2), 1);
    CU_ASSERT_EQUAL(rp_exit_code(runs, 3), 2);
    for (int i = 0; i < 3; i++)
        rp_clear(&runs[i]);
}

static void junit_has_a_suite_per_file_a_case_per_seed_and_the_reproduce_line(void)
{
    rp_run_t runs[3];
    three_runs(runs);
    char path[128], err[256], buf[8192];
    snprintf(path, sizeof path, "%s/junit.xml", test_dir);
    CU_ASSERT_EQUAL_FATAL(rp_junit(path, runs, 3, err, sizeof err), 0);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<testsuites name=\"sim\" tests=\"3\" failures=\"1\""
                                       " errors=\"1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<testsuite name=\"two\" tests=\"1\" failures=\"1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<testcase classname=\"two\" name=\"seed 3\""
                                       " file=\"s/two.json\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<failure message=\"expect[1] never ping: ping at +"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "&gt; {&quot;t&quot;:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<system-out>reproduce: sim --seed 3 s/two.json\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<error message=\"s/bad.json: seed: x\" type=\"load\"/>"));
    /* Well-formed XML, when a checker is at hand. */
    char cmd[200];
    snprintf(cmd, sizeof cmd, "command -v xmllint >/dev/null && xmllint --noout %s", path);
    int rc = system(cmd);
    CU_ASSERT(rc == 0 || WEXITSTATUS(rc) == 1); /* 1: no xmllint */
    unlink(path);
    for (int i = 0; i < 3; i++)
        rp_clear(&runs[i]);
}

/* The sim binary's output for args, its wall times blanked (free()). */
static char *sim_output(const char *args, int *code)
{
    const char *dir = getenv("TEST_BUILD_DIR");
    char cmd[512], *out = malloc(1 << 20);
    snprintf(cmd, sizeof cmd, "%s/sim %s 2>&1", dir ? dir : "build", args);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t n = fread(out, 1, (1 << 20) - 1, p);
    out[n] = '\0';
    *code = WEXITSTATUS(pclose(p));
    for (char *w = strstr(out, "\"wall_ms\":"); w; w = strstr(w + 1, "\"wall_ms\":")) {
        size_t digits = strcspn(w + 10, ",");
        w[10] = '0';
        memmove(w + 11, w + 10 + digits, strlen(w + 10 + digits) + 1);
    }
    return out;
}

static void workers_and_shards_give_the_report_of_one_process(void)
{
    int c1, c2, c3, c4;
    char *one = sim_output("--json --jobs 1 --seeds 3 scenarios/", &c1);
    char *two = sim_output("--json --jobs 2 --seeds 3 scenarios/", &c2);
    char *s1 = sim_output("--json --jobs 2 --seeds 3 --shard 1/2 scenarios/", &c3);
    char *s2 = sim_output("--json --jobs 1 --seeds 3 --shard 2/2 scenarios/", &c4);
    CU_ASSERT_EQUAL(c1, 0);
    CU_ASSERT_EQUAL(c2, 0);
    CU_ASSERT_STRING_EQUAL(one, two);
    cJSON *all = cJSON_Parse(one), *a = cJSON_Parse(s1), *b = cJSON_Parse(s2);
    CU_ASSERT_FATAL(all && a && b);
    cJSON *runs = cJSON_GetObjectItem(all, "runs");
    int n = cJSON_GetArraySize(runs);
    CU_ASSERT(n >= 12 && n % 3 == 0); /* the project's scenarios, three seeds each */
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(a, "runs")), (n + 1) / 2);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(b, "runs")), n / 2);
    /* Run k of the sweep is in shard k mod 2 + 1. */
    for (int k = 0; k < n; k++) {
        cJSON *shard = cJSON_GetObjectItem(k % 2 ? b : a, "runs");
        char *x = cJSON_PrintUnformatted(cJSON_GetArrayItem(runs, k));
        char *y = cJSON_PrintUnformatted(cJSON_GetArrayItem(shard, k / 2));
        CU_ASSERT_STRING_EQUAL(x, y);
        free(x);
        free(y);
    }
    cJSON_Delete(all);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(one);
    free(two);
    free(s1);
    free(s2);
}

static void the_exit_code_names_the_kind_of_failure(void)
{
    int code;
    free(sim_output("scenarios/kill-detected.json", &code));
    CU_ASSERT_EQUAL(code, 0);
    free(sim_output("--seeds 2 --shard 3/2 scenarios/", &code));
    CU_ASSERT_EQUAL(code, 2);
    free(sim_output("no/such/file.json", &code));
    CU_ASSERT_EQUAL(code, 2);
    char path[128], cmd[300];
    snprintf(path, sizeof path, "%s/live.json", test_dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* The runner dials a port nobody listens on: never connected. */
    fputs("{\"start\": \"" START_TEXT "\", \"end\": \"+10m\", \"runner\": {\"port\": 4100},"
          " \"expect\": [{\"count\": \"connect\", \"ge\": 1}]}", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s", path);
    char *out = sim_output(cmd, &code);
    CU_ASSERT_EQUAL(code, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "liveness: not connected 2m0s after the last fault ended"
                                       " at +0s"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "reproduce: sim --seed 0 "));
    free(out);
    unlink(path);
}

static void the_cli_shrinks_the_first_failure_into_a_file_that_fails_alike(void)
{
    char in[128], out[128], args[400];
    int code;
    snprintf(in, sizeof in, "%s/twenty.json", test_dir);
    snprintf(out, sizeof out, "%s/small.json", test_dir);
    FILE *f = fopen(in, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(TWENTY, f);
    fclose(f);
    snprintf(args, sizeof args, "--jobs 1 --shrink %s %s", out, in);
    char *text = sim_output(args, &code);
    CU_ASSERT_EQUAL(code, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "seed 4 (check): 20 events -> 1 in "));
    free(text);
    text = sim_output(out, &code);
    CU_ASSERT_EQUAL(code, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "FAIL twenty  0/1 checks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "reproduce: sim --seed 4 "));
    free(text);
    unlink(in);
    unlink(out);
}

static CU_TestInfo duration_tests[] = {
    {"duration_parses_each_unit_and_their_compositions",
     duration_parses_each_unit_and_their_compositions},
    {"duration_refuses_each_malformed_form", duration_refuses_each_malformed_form},
    {"moment_reads_offsets_z_and_fractions_to_the_same_instant",
     moment_reads_offsets_z_and_fractions_to_the_same_instant},
    {"moment_counts_plus_duration_from_the_start", moment_counts_plus_duration_from_the_start},
    {"moment_refuses_each_malformed_form", moment_refuses_each_malformed_form},
    {"duration_format_writes_the_report_form", duration_format_writes_the_report_form},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo load_tests[] = {
    {"a_full_scenario_loads_into_the_configs", a_full_scenario_loads_into_the_configs},
    {"defaults_fill_what_a_scenario_leaves_out", defaults_fill_what_a_scenario_leaves_out},
    {"a_syntax_error_names_line_and_column", a_syntax_error_names_line_and_column},
    {"unknown_keys_are_refused_with_their_path", unknown_keys_are_refused_with_their_path},
    {"wrong_types_and_values_are_refused_with_their_path",
     wrong_types_and_values_are_refused_with_their_path},
    {"bad_durations_and_moments_are_refused_with_their_path",
     bad_durations_and_moments_are_refused_with_their_path},
    {"unknown_words_are_refused_with_their_path", unknown_words_are_refused_with_their_path},
    {"the_one_contract_key_the_mock_lacks_is_refused_as_not_yet_supported",
     the_one_contract_key_the_mock_lacks_is_refused_as_not_yet_supported},
    {"every_fault_loads_with_its_parameters", every_fault_loads_with_its_parameters},
    {"fault_parameters_are_checked_per_fault", fault_parameters_are_checked_per_fault},
    {"runner_and_gateway_keys_fill_their_configs", runner_and_gateway_keys_fill_their_configs},
    {"random_entries_draw_their_faults_from_the_seed",
     random_entries_draw_their_faults_from_the_seed},
    {"new_checks_load_and_refuse_bad_phases", new_checks_load_and_refuse_bad_phases},
    {"a_written_schedule_loads_back_the_same", a_written_schedule_loads_back_the_same},
    {"malformed_values_are_refused_with_their_path",
     malformed_values_are_refused_with_their_path},
    {"every_fault_and_a_signal_are_written_back_the_same",
     every_fault_and_a_signal_are_written_back_the_same},
    {"a_schedule_written_where_it_cannot_be_says_where",
     a_schedule_written_where_it_cannot_be_says_where},
    {"event_times_must_be_given_and_inside_the_span",
     event_times_must_be_given_and_inside_the_span},
    {"end_must_come_after_start", end_must_come_after_start},
    {"every_truncation_of_a_scenario_is_an_error_not_a_crash",
     every_truncation_of_a_scenario_is_an_error_not_a_crash},
    {"recorder_writes_the_file_whole_or_not_at_all", recorder_writes_the_file_whole_or_not_at_all},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo check_tests[] = {
    {"count_check_passes_and_fails_on_a_trace", count_check_passes_and_fails_on_a_trace},
    {"never_check_passes_and_fails_on_a_trace", never_check_passes_and_fails_on_a_trace},
    {"within_check_passes_and_fails_on_a_trace", within_check_passes_and_fails_on_a_trace},
    {"sequence_check_passes_and_fails_on_a_trace", sequence_check_passes_and_fails_on_a_trace},
    {"exit_check_passes_and_fails_on_the_exit", exit_check_passes_and_fails_on_the_exit},
    {"recorder_renders_its_json_lines_and_hashes_the_events",
     recorder_renders_its_json_lines_and_hashes_the_events},
    {"recorder_keeps_text_not_pointers", recorder_keeps_text_not_pointers},
    {"recorder_reads_back_every_event_across_blocks_and_time_jumps",
     recorder_reads_back_every_event_across_blocks_and_time_jumps},
    {"recorder_tells_kinds_apart_by_field_types_and_keeps_wide_events",
     recorder_tells_kinds_apart_by_field_types_and_keeps_wide_events},
    {"the_pipe_records_exactly_what_the_recorder_would",
     the_pipe_records_exactly_what_the_recorder_would},
    {"a_pipe_closed_at_once_leaves_an_empty_recorder",
     a_pipe_closed_at_once_leaves_an_empty_recorder},
    {"events_a_loop_writes_into_the_pipes_room_are_recorded_as_tr_sink_records_them",
     events_a_loop_writes_into_the_pipes_room_are_recorded_as_tr_sink_records_them},
    {"a_pipe_finished_before_its_loop_or_moved_to_another_loses_nothing",
     a_pipe_finished_before_its_loop_or_moved_to_another_loses_nothing},
    {"events_of_every_width_and_field_kind_pass_the_pipe_as_given",
     events_of_every_width_and_field_kind_pass_the_pipe_as_given},
    {"a_kept_value_never_takes_the_text_a_reused_buffer_left_in_the_cache",
     a_kept_value_never_takes_the_text_a_reused_buffer_left_in_the_cache},
    {"a_built_event_name_has_one_lasting_copy_per_loop",
     a_built_event_name_has_one_lasting_copy_per_loop},
    {"status_check_holds_outside_the_excepted_phases",
     status_check_holds_outside_the_excepted_phases},
    {"clean_shutdown_wants_fin_every_answer_and_exit_0",
     clean_shutdown_wants_fin_every_answer_and_exit_0},
    {"each_invariant_holds_on_a_good_trace_and_breaks_on_its_fault",
     each_invariant_holds_on_a_good_trace_and_breaks_on_its_fault},
    {"liveness_wants_a_connected_label_within_the_bound",
     liveness_wants_a_connected_label_within_the_bound},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo engine_tests[] = {
    {"the_scenarios_in_the_project_pass", the_scenarios_in_the_project_pass},
    {"a_kept_record_is_recorded_as_its_event", a_kept_record_is_recorded_as_its_event},
    {"the_recorder_calls_its_observer_every_4096_events_until_told_to_stop",
     the_recorder_calls_its_observer_every_4096_events_until_told_to_stop},
    {"the_same_seed_gives_the_same_trace_byte_for_byte",
     the_same_seed_gives_the_same_trace_byte_for_byte},
    {"events_fire_at_their_moment_and_stale_ends_after_for",
     events_fire_at_their_moment_and_stale_ends_after_for},
    {"the_run_stops_when_the_runner_exits", the_run_stops_when_the_runner_exits},
    {"shrink_turns_a_twenty_fault_failing_schedule_into_a_smaller_one_that_still_fails",
     shrink_turns_a_twenty_fault_failing_schedule_into_a_smaller_one_that_still_fails},
    {"shrink_halves_a_fault_while_it_still_fails", shrink_halves_a_fault_while_it_still_fails},
    {"a_record_survives_its_json_line", a_record_survives_its_json_line},
    {"the_reports_say_what_failed_and_how_to_reproduce_it",
     the_reports_say_what_failed_and_how_to_reproduce_it},
    {"junit_has_a_suite_per_file_a_case_per_seed_and_the_reproduce_line",
     junit_has_a_suite_per_file_a_case_per_seed_and_the_reproduce_line},
    {"workers_and_shards_give_the_report_of_one_process",
     workers_and_shards_give_the_report_of_one_process},
    {"the_exit_code_names_the_kind_of_failure", the_exit_code_names_the_kind_of_failure},
    {"the_cli_shrinks_the_first_failure_into_a_file_that_fails_alike",
     the_cli_shrinks_the_first_failure_into_a_file_that_fails_alike},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"duration", NULL, NULL, NULL, NULL, duration_tests},
    {"load", load_suite_init, load_suite_clean, NULL, NULL, load_tests},
    {"check", NULL, NULL, NULL, NULL, check_tests},
    {"engine", load_suite_init, load_suite_clean, NULL, NULL, engine_tests},
    CU_SUITE_INFO_NULL,
};
