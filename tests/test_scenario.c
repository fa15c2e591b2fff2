/* test_scenario.c - the scenario engine: durations and moments, scenario
 * loading and its error messages, the checks on synthetic traces, the trace
 * recorder, and whole runs of the scenarios in scenarios/ (including the
 * determinism test: same seed, same bytes). Run from the project root. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sim/check.h"
#include "../proto/duration.h"
#include "../sim/engine.h"
#include "../sim/scenario.h"
#include "../sim/trace.h"
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
    CU_ASSERT_EQUAL(sc->events[0].how, IO_CLOSE_RST);
    CU_ASSERT_EQUAL(sc->events[1].how, IO_CLOSE_FIN);
    CU_ASSERT_EQUAL(sc->events[2].for_us, -1);
    CU_ASSERT_EQUAL(sc->events[3].for_us, S(30));
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
               "events[1].fault: unknown fault \"explode\"");
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

static void contract_words_this_build_lacks_are_refused_as_not_yet_supported(void)
{
    load_fails("{" SPAN ", \"runner\": {\"symbols\": [\"AAPL\"]}, " CHECK "}",
               "runner.symbols: not supported by this build yet");
    load_fails("{" SPAN ", \"gateway\": {\"daily_restart\": {}}, " CHECK "}",
               "gateway.daily_restart: not supported by this build yet");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"down\", \"for\": \"2m\"}], "
               CHECK "}", "events[0].fault: fault \"down\" is not supported by this build yet");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"random\": {}}], " CHECK "}",
               "events[0].random: not supported by this build yet");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\", \"fault\": \"stale\", \"only\": []}], "
               CHECK "}", "events[0].only: not supported by this build yet");
    load_fails("{" SPAN ", \"expect\": [{\"status\": \"API Connected\"}]}",
               "expect[0].status: check \"status\" is not supported by this build yet");
    load_fails("{" SPAN ", \"expect\": [{\"clean_shutdown\": true}]}",
               "expect[0].clean_shutdown: check \"clean_shutdown\" is not supported");
    load_fails("{" SPAN ", \"expect\": [{\"count\": \"cycle_start\", \"ge\": 1}]}",
               "expect[0].count: event kind \"cycle_start\" is not supported by this build yet");
}

static void event_times_must_be_given_and_inside_the_span(void)
{
    load_fails("{" SPAN ", \"events\": [{\"fault\": \"kill\"}], " CHECK "}",
               "events[0].at: missing");
    load_fails("{" SPAN ", \"events\": [{\"at\": \"+1m\"}], " CHECK "}",
               "events[0]: an event has exactly one of");
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

/* ---- checks on synthetic traces ---------------------------------------- */

/* A synthetic trace event: seconds from start, source, kind, and up to two
 * string fields. */
typedef struct fake_ev {
    double at_s;
    const char *src, *ev, *k1, *v1, *k2, *v2;
} fake_ev_t;

/* Loads a scenario whose only check is check_json, feeds evs to a recorder,
 * evaluates, copies the message into msg and returns the verdict. */
static int judge(const char *check_json, const fake_ev_t *evs, size_t n, int exited, int code,
                 char *msg)
{
    char text[1024], err[512] = "";
    snprintf(text, sizeof text, "{" SPAN ", \"expect\": [%s]}", check_json);
    sc_scenario_t *sc = NULL;
    CU_ASSERT_EQUAL_FATAL(sc_load_text("c.json", text, strlen(text), &sc, err, sizeof err), 0);
    tr_recorder_t *rec = tr_new();
    for (size_t i = 0; i < n; i++) {
        io_trace_field_t f[2] = {IO_TS(evs[i].k1, evs[i].v1), IO_TS(evs[i].k2, evs[i].v2)};
        size_t nf = evs[i].k2 ? 2 : evs[i].k1 ? 1 : 0;
        tr_sink(rec, START_US + (io_us_t)(evs[i].at_s * 1e6), evs[i].src, evs[i].ev, nf, f);
    }
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

/* ---- the trace recorder ------------------------------------------------ */

static void recorder_hashes_exactly_its_json_lines(void)
{
    CU_ASSERT_EQUAL(tr_fnv1a("", 0), 0xcbf29ce484222325ULL);
    CU_ASSERT_EQUAL(tr_fnv1a("a", 1), 0xaf63dc4c8601ec8cULL);
    tr_recorder_t *rec = tr_new();
    CU_ASSERT_EQUAL(tr_hash(rec), tr_fnv1a("", 0));
    tr_sink(rec, START_US, "runner", "ping", 1, (io_trace_field_t[]){IO_TI("seq", 7)});
    tr_sink(rec, START_US + 5, "gateway", "fault:kill", 1, (io_trace_field_t[]){IO_TS("how", "r\"st")});
    size_t len;
    const char *text = tr_jsonl(rec, &len);
    const char *want = "{\"t\":\"2025-12-10T14:25:00.000000Z\",\"src\":\"runner\",\"ev\":\"ping\","
                       "\"seq\":7}\n{\"t\":\"2025-12-10T14:25:00.000005Z\",\"src\":\"gateway\","
                       "\"ev\":\"fault:kill\",\"how\":\"r\\\"st\"}\n";
    CU_ASSERT_EQUAL(len, strlen(want));
    CU_ASSERT_EQUAL(memcmp(text, want, len), 0);
    CU_ASSERT_EQUAL(tr_hash(rec), tr_fnv1a(want, strlen(want)));
    CU_ASSERT_EQUAL_FATAL(tr_count(rec), 2);
    char num[24];
    CU_ASSERT_STRING_EQUAL(tr_field_text(tr_event(rec, 0), "seq", num), "7");
    CU_ASSERT_STRING_EQUAL(tr_field_text(tr_event(rec, 1), "how", num), "r\"st");
    CU_ASSERT_PTR_NULL(tr_field_text(tr_event(rec, 1), "seq", num));
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
    const char *text = tr_jsonl(rec, &len);
    CU_ASSERT_EQUAL(n, len);
    CU_ASSERT_EQUAL(memcmp(buf, text, len), 0);
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
    const char *at = tr_jsonl(a.trace, &alen), *bt = tr_jsonl(b.trace, &blen);
    const char *ct = tr_jsonl(c.trace, &clen);
    CU_ASSERT(alen > 1000);
    CU_ASSERT_EQUAL(alen, blen);
    CU_ASSERT_EQUAL(memcmp(at, bt, alen < blen ? alen : blen), 0);
    CU_ASSERT_EQUAL(a.hash, b.hash);
    CU_ASSERT_EQUAL(a.hash, tr_fnv1a(at, alen));
    CU_ASSERT_EQUAL(c.seed, sc->seed + 1);
    CU_ASSERT(clen != alen || memcmp(at, ct, alen) != 0);
    CU_ASSERT_NOT_EQUAL(a.hash, c.hash);
    en_result_free(&a);
    en_result_free(&b);
    en_result_free(&c);
    sc_free(sc);
}

/* The index of the first event of kind ev in the result's trace, or -1. */
static long find_ev(const en_result_t *res, const char *ev, size_t from)
{
    for (size_t i = from; i < tr_count(res->trace); i++)
        if (strcmp(tr_event(res->trace, i)->ev, ev) == 0)
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
    long off = find_ev(&res, "fault:stale", (size_t)on + 1);
    long kill = find_ev(&res, "fault:kill", 0);
    CU_ASSERT_FATAL(off >= 0 && kill >= 0);
    char num[24];
    CU_ASSERT_EQUAL(tr_event(res.trace, (size_t)on)->wall_us, START_US + S(120));
    CU_ASSERT_STRING_EQUAL(tr_field_text(tr_event(res.trace, (size_t)on), "on", num), "1");
    CU_ASSERT_EQUAL(tr_event(res.trace, (size_t)off)->wall_us, START_US + S(180));
    CU_ASSERT_STRING_EQUAL(tr_field_text(tr_event(res.trace, (size_t)off), "on", num), "0");
    CU_ASSERT_EQUAL(tr_event(res.trace, (size_t)kill)->wall_us, START_US + S(300));
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
    CU_ASSERT_STRING_EQUAL(tr_event(res.trace, res.nevents - 1)->ev, "exit");
    en_result_free(&res);
    sc_free(sc);
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
    {"contract_words_this_build_lacks_are_refused_as_not_yet_supported",
     contract_words_this_build_lacks_are_refused_as_not_yet_supported},
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
    {"recorder_hashes_exactly_its_json_lines", recorder_hashes_exactly_its_json_lines},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo engine_tests[] = {
    {"the_scenarios_in_the_project_pass", the_scenarios_in_the_project_pass},
    {"the_same_seed_gives_the_same_trace_byte_for_byte",
     the_same_seed_gives_the_same_trace_byte_for_byte},
    {"events_fire_at_their_moment_and_stale_ends_after_for",
     events_fire_at_their_moment_and_stale_ends_after_for},
    {"the_run_stops_when_the_runner_exits", the_run_stops_when_the_runner_exits},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"duration", NULL, NULL, NULL, NULL, duration_tests},
    {"load", load_suite_init, load_suite_clean, NULL, NULL, load_tests},
    {"check", NULL, NULL, NULL, NULL, check_tests},
    {"engine", NULL, NULL, NULL, NULL, engine_tests},
    CU_SUITE_INFO_NULL,
};
