/* test_cli.c - the programs' command lines, run as child processes:
 * `sim` as CI calls it (arguments, exit codes, report formats text, --json,
 * --tap, --junit, --shard, --trace, --shrink) on small scenarios written
 * here; `mockgw`'s and `runner`'s usage errors (flags and environment),
 * help texts, config and journal files that cannot be used, a port in use.
 * The binaries are $TEST_BUILD_DIR/<name> (default build/), so a sanitizer
 * or coverage build tests its own. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define CLI_OUT_MAX (1 << 16)
#define CLI_ARGS_MAX 16

static struct {
    char dir[64];
    char out[CLI_OUT_MAX], err[CLI_OUT_MAX];
} T;

/* A quiet session: ready once, a few pings, nothing else happens. */
#define CLI_SCENARIO(check)                                                                 \
    "{\"seed\": 3, \"start\": \"2025-12-10T10:00:00-05:00\", \"end\": \"+2m\","             \
    " \"runner\": {\"client_id\": 4}, \"expect\": [" check "]}"

static void cli_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", T.dir, name);
}

/* 0, or -1 when the file cannot be written (used from the suite's init,
 * where CUnit assertions are not allowed). */
static int cli_write(const char *name, const char *text)
{
    char path[128];
    cli_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int bad = fputs(text, f) < 0;
    return fclose(f) != 0 || bad ? -1 : 0;
}

static void cli_slurp(const char *path, char *buf)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    buf[fread(buf, 1, CLI_OUT_MAX - 1, f)] = '\0';
    fclose(f);
}

/* Starts the program with the NULL-terminated arguments (a leading "@name"
 * is the file name in this test's folder); its stdout and stderr go to the
 * files out and err of this test's folder. Returns its pid. */
static pid_t cli_spawn(const char *prog, const char *env, const char *out, const char *err,
                       const char *first, va_list ap)
{
    char bin[128], args[CLI_ARGS_MAX][128], outp[128], errp[128];
    char *argv[CLI_ARGS_MAX + 2];
    const char *dir = getenv("TEST_BUILD_DIR");
    snprintf(bin, sizeof bin, "%s/%s", dir && *dir ? dir : "build", prog);
    argv[0] = bin;
    int n = 0;
    for (const char *a = first; a && n < CLI_ARGS_MAX; a = va_arg(ap, const char *), n++) {
        if (a[0] == '@')
            cli_path(args[n], sizeof args[n], a + 1);
        else
            snprintf(args[n], sizeof args[n], "%s", a);
        argv[n + 1] = args[n];
    }
    argv[n + 1] = NULL;
    cli_path(outp, sizeof outp, out);
    cli_path(errp, sizeof errp, err);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char name[64];
        const char *eq = env ? strchr(env, '=') : NULL;
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - env) : 0, env ? env : "");
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
            (eq && setenv(name, eq + 1, 1) < 0))
            _exit(126);
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

/* The exit code of the child pid, or -1 if it did not exit. */
static int cli_wait(pid_t pid)
{
    int status;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs the program to its end (see cli_spawn); stdout and stderr land in
 * T.out and T.err. Returns the exit code, or -1 if it did not exit. */
static int cli_exec(const char *prog, const char *env, const char *first, va_list ap)
{
    char outp[128], errp[128];
    int rc = cli_wait(cli_spawn(prog, env, "stdout", "stderr", first, ap));
    cli_path(outp, sizeof outp, "stdout");
    cli_path(errp, sizeof errp, "stderr");
    cli_slurp(outp, T.out);
    cli_slurp(errp, T.err);
    return rc;
}

static int cli_run(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = cli_exec("sim", NULL, first, ap);
    va_end(ap);
    return rc;
}

static int gw_run(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = cli_exec("mockgw", NULL, first, ap);
    va_end(ap);
    return rc;
}

static int cli_init(void)
{
    snprintf(T.dir, sizeof T.dir, "/tmp/test_cli.XXXXXX");
    if (!mkdtemp(T.dir))
        return 1;
    return cli_write("pass.json", CLI_SCENARIO("{\"count\": \"ready\", \"eq\": 1}")) ||
           cli_write("fail.json", CLI_SCENARIO("{\"count\": \"ready\", \"eq\": 2}")) ||
           cli_write("broken.json", "{\"seed\": 1,");
}

static int cli_clean(void)
{
    static const char *const names[] = {"pass.json",  "fail.json",   "broken.json",
                                        "stdout",     "stderr",      "report.xml",
                                        "trace.jsonl", "small.json", "gw-syntax.json",
                                        "gw-type.json", "gw-lines.json", "serve.out",
                                        "serve.err",  "proxy.out",   "proxy.err"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[128];
        cli_path(path, sizeof path, names[i]);
        unlink(path);
    }
    char empty[128];
    cli_path(empty, sizeof empty, "empty");
    rmdir(empty);
    return rmdir(T.dir) == 0 ? 0 : 1;
}

/* ---- tests ------------------------------------------------------------ */

static void bad_arguments_exit_2_with_the_reason(void)
{
    char empty[128];
    cli_path(empty, sizeof empty, "empty");
    CU_ASSERT_EQUAL_FATAL(mkdir(empty, 0755), 0);
    static const struct {
        const char *a, *b, *c;
        const char *why;
    } cases[] = {
        {"--bogus", "@pass.json", NULL, "unknown option --bogus"},
        {"--seeds", "0", "@pass.json", "--seeds wants a number from 1 to 1000000"},
        {"--jobs", "x", "@pass.json", "wants a non-negative integer, got \"x\""},
        {"--shard", "3/2", "@pass.json", "--shard wants K/N with 1 <= K <= N, got \"3/2\""},
        {"--shard", "1", "@pass.json", "--shard wants K/N"},
        {"--json", "--tap", "@pass.json", "--json and --tap exclude each other"},
        {"@pass.json", "--seed", NULL, "--seed needs a value"},
        {"--trace", "@trace.jsonl", "@empty", "no *.json scenario files in it"},
        {"-v", NULL, NULL, "no scenario given"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(cli_run(cases[i].a, cases[i].b, cases[i].c, NULL), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(T.err, cases[i].why));
        if (!strstr(T.err, cases[i].why))
            fprintf(stderr, "\n  case %zu: %s\n", i, T.err);
    }
    CU_ASSERT_EQUAL(cli_run("--trace", "@trace.jsonl", "--seeds", "2", "@pass.json", NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "--trace needs exactly one scenario and one seed"));
    CU_ASSERT_EQUAL(cli_run("--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "usage: sim [options] FILE|DIR..."));
}

static void exit_code_says_pass_fail_or_unloadable(void)
{
    CU_ASSERT_EQUAL(cli_run("@pass.json", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "scenarios: 1 passed, 0 failed"));
    CU_ASSERT_EQUAL(cli_run("@fail.json", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "reproduce: sim --seed 3 "));
    CU_ASSERT_EQUAL(cli_run("@broken.json", "@pass.json", NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "broken.json:1:12: JSON syntax error"));
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "1 passed, 0 failed, 1 could not be loaded or run"));
    /* After "--" a name that looks like an option is a file. */
    CU_ASSERT_EQUAL(cli_run("--", "--pass.json", NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "--pass.json: No such file or directory"));
}

static void json_and_tap_reports_list_every_run(void)
{
    CU_ASSERT_EQUAL(cli_run("--json", "--seeds", "2", "@pass.json", "@fail.json", NULL), 1);
    cJSON *doc = cJSON_Parse(T.out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char *text = cJSON_PrintUnformatted(doc);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"seed\":\"4\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "fail.json"));
    cJSON_free(text);
    cJSON_Delete(doc);
    CU_ASSERT_EQUAL(cli_run("--tap", "--seed", "9", "@pass.json", "@fail.json", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "TAP version 13"));
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "1..2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "ok 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "not ok 2"));
}

static void shards_split_the_runs_and_junit_keeps_them(void)
{
    char report[128], xml[CLI_OUT_MAX];
    cli_path(report, sizeof report, "report.xml");
    CU_ASSERT_EQUAL(cli_run("--seeds", "3", "--shard", "1/2", "--junit", "@report.xml",
                            "@pass.json", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "2/2 seeds"));
    cli_slurp(report, xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "tests=\"2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "name=\"seed 3\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "name=\"seed 5\""));
    CU_ASSERT_EQUAL(cli_run("--seeds", "3", "--shard", "2/2", "--jobs", "2", "--junit",
                            "@report.xml", "@pass.json", NULL), 0);
    cli_slurp(report, xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "name=\"seed 4\""));
    CU_ASSERT_PTR_NULL(strstr(xml, "name=\"seed 3\""));
    CU_ASSERT_EQUAL(cli_run("--junit", "/nonexistent-dir/r.xml", "@pass.json", NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "sim: junit:"));
}

static void trace_and_shrink_write_their_files(void)
{
    char path[128], text[CLI_OUT_MAX];
    CU_ASSERT_EQUAL(cli_run("--trace", "@trace.jsonl", "@pass.json", NULL), 0);
    cli_path(path, sizeof path, "trace.jsonl");
    cli_slurp(path, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"ev\":\"ready\""));
    CU_ASSERT_EQUAL(cli_run("--trace", "/nonexistent-dir/t.jsonl", "@pass.json", NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "sim: trace:"));
    CU_ASSERT_EQUAL(cli_run("--shrink", "@small.json", "@pass.json", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "no run failed; nothing to shrink"));
    CU_ASSERT_EQUAL(cli_run("--shrink", "@small.json", "@fail.json", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "sim: shrink: "));
    cli_path(path, sizeof path, "small.json");
    cli_slurp(path, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"seed\":"));
}

/* env: one "NAME=value" for the child, or NULL. */
static int rn_run(const char *env, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = cli_exec("runner", env, first, ap);
    va_end(ap);
    return rc;
}

/* ---- runner --------------------------------------------------------------- */

static void runner_usage_errors_exit_2_and_name_the_value(void)
{
#define DUR "is not a positive duration such as 30m, 90s or 1h30m"
    static const struct {
        const char *env, *a, *b;
        const char *why;
    } cases[] = {
        {NULL, "--port", "0", "--port: '0' is not an integer in 1..65535"},
        {NULL, "--client-id", "-1", "--client-id: '-1' is not an integer in 0..2147483647"},
        {NULL, "--symbols", ",,", "--symbols: ',,' is not a comma-separated list"},
        {NULL, "--interval", "0s", "--interval: '0s' " DUR},
        {NULL, "--ping-interval", "0", "--ping-interval: '0' is not a number of seconds"},
        {NULL, "--ping-timeout", "x", "--ping-timeout: 'x' is not a number of seconds"},
        {NULL, "--connect-timeout", "0", "--connect-timeout: '0' is not a number of seconds"},
        {NULL, "--cycle-timeout", "x", "--cycle-timeout: 'x' " DUR},
        {NULL, "--request-timeout", "x", "--request-timeout: 'x' " DUR},
        {NULL, "--closed-ping-interval", "x", "--closed-ping-interval: 'x' " DUR},
        {NULL, "--seed", "x", "--seed: 'x' is not an unsigned integer"},
        {NULL, "--bogus", "x", "unknown argument '--bogus'"},
        {NULL, "--port", NULL, "--port needs a value"},
        {NULL, "extra", NULL, "unexpected argument 'extra'"},
        {NULL, "--trade", NULL, "refusing --trade on port 4001"},
        {"IBKR_PORT=abc", NULL, NULL, "(from the environment variable IBKR_PORT)"},
        {"IBKR_CLIENT_ID=x", NULL, NULL, "(from the environment variable IBKR_CLIENT_ID)"},
        {"IBKR_PERSISTENT_CONNECTION=maybe", "--port", "1",
         "IBKR_PERSISTENT_CONNECTION: 'maybe' is not a boolean"},
        {"IBKR_FORCE_DISCONNECT=2", "--port", "1", "IBKR_FORCE_DISCONNECT: '2' is not a boolean"},
        {NULL, "--trace", "/nonexistent-dir/t.jsonl", "--trace: cannot open "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int trade = cases[i].a && strcmp(cases[i].a, "--trade") == 0;
        int rc = trade ? rn_run(NULL, "--trade", "--port", "4001", NULL)
                       : rn_run(cases[i].env, cases[i].a, cases[i].b, NULL);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(T.err, cases[i].why));
        if (rc != 2 || !strstr(T.err, cases[i].why))
            fprintf(stderr, "\n  case %zu: rc %d: %s\n", i, rc, T.err);
    }
    CU_ASSERT_EQUAL(rn_run(NULL, "--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "IBKR_FORCE_DISCONNECT=1"));
#undef DUR
}

/* A journal that cannot be opened stops the runner before it connects. */
static void runner_exits_1_when_its_journal_cannot_be_opened(void)
{
    CU_ASSERT_EQUAL(rn_run(NULL, "--journal", "/nonexistent-dir/j", "--symbols", "AAPL",
                           "--port", "1", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "journal /nonexistent-dir/j: open: "));
    CU_ASSERT_PTR_NULL(strstr(T.err, "connecting to"));
}

static CU_TestInfo runner_tests[] = {
    {"runner_usage_errors_exit_2_and_name_the_value",
     runner_usage_errors_exit_2_and_name_the_value},
    {"runner_exits_1_when_its_journal_cannot_be_opened",
     runner_exits_1_when_its_journal_cannot_be_opened},
    CU_TEST_INFO_NULL,
};

/* ---- mockgw --------------------------------------------------------------- */

static void mockgw_usage_errors_exit_2_and_name_the_value(void)
{
    static const struct {
        const char *a, *b, *c;
        const char *why;
    } cases[] = {
        {"serve", "--port", "70000", "--port: \"70000\" is not a port number (0..65535)"},
        {"serve", "--accounts", ",,", "--accounts: \",,\" is not 1 to 8 non-empty names"},
        {"serve", "--server-version", "99", "--server-version: \"99\" is not a version in "
                                            "100..178"},
        {"serve", "--ctl-port", "x", "--ctl-port: \"x\" is not a port number (0..65535)"},
        {"serve", "--daily-restart", "25:00", "--daily-restart: \"25:00\" is not a time of "
                                              "day HH:MM"},
        {"serve", "--daily-restart-down", "x", "--daily-restart-down: \"x\" is not a duration"},
        {"serve", "--seed", "-1", "--seed: \"-1\" is not a non-negative integer"},
        {"serve", "--bogus", NULL, "unknown option \"--bogus\""},
        {"serve", "--port", NULL, "option --port needs a value"},
        {"serve", "extra", NULL, "unexpected argument \"extra\""},
        {"serve", "--config", "/nonexistent-dir/gw.json",
         "/nonexistent-dir/gw.json: No such file or directory"},
        {"serve", "--config", "@gw-syntax.json", "gw-syntax.json:1:14: JSON syntax error"},
        {"serve", "--config", "@gw-type.json", "gw-type.json: gateway.accounts: expected an "
                                               "array, got a number"},
        {"ctl", NULL, NULL, "no command given"},
        {"ctl", "--ctl-port", "0", "--ctl-port: \"0\" is not a port number (1..65535)"},
        {"ctl", "--bogus", NULL, "unknown option \"--bogus\""},
        {"ctl", "--ctl-port", NULL, "option --ctl-port needs a value"},
        {"bogus", NULL, NULL, "unknown command \"bogus\""},
        {"--bogus", NULL, NULL, "unknown option \"--bogus\""},
    };
    CU_ASSERT_EQUAL_FATAL(cli_write("gw-syntax.json", "{\"accounts\": 5"), 0);
    CU_ASSERT_EQUAL_FATAL(cli_write("gw-type.json", "{\"accounts\": 5}"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(gw_run(cases[i].a, cases[i].b, cases[i].c, NULL), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(T.err, cases[i].why));
        if (!strstr(T.err, cases[i].why))
            fprintf(stderr, "\n  case %zu: %s\n", i, T.err);
    }
}

static void mockgw_help_texts_go_to_stdout_and_exit_0(void)
{
    CU_ASSERT_EQUAL(gw_run("--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "usage: mockgw serve [options]"));
    CU_ASSERT_EQUAL(gw_run("serve", "--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "--daily-restart HH:MM"));
    CU_ASSERT_EQUAL(gw_run("ctl", "--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "connectivity_lost DURATION"));
    CU_ASSERT_EQUAL(gw_run(NULL), 2); /* no command: the usage, on stderr */
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "usage: mockgw serve [options]"));
}

/* A port somebody else holds: serve says which and exits 1; ctl against a
 * port nobody serves says so and exits 2. */
static void mockgw_reports_a_busy_port_and_a_missing_control_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    char port[16], want[96];
    snprintf(port, sizeof port, "%u", ntohs(a.sin_port));
    CU_ASSERT_EQUAL(gw_run("serve", "--port", port, "--ctl-port", "0", NULL), 1);
    snprintf(want, sizeof want, "cannot listen: bind 127.0.0.1:%s: Address already in use",
             port);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, want));
    close(fd); /* now nobody listens there */
    CU_ASSERT_EQUAL(gw_run("ctl", "--ctl-port", port, "status", NULL), 2);
    snprintf(want, sizeof want, "no gateway control server on 127.0.0.1:%s", port);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, want));
}

/* serve's replay options, inspect and proxy: each bad value exits 2 and the
 * message names the option and the value. */
static void mockgw_serve_inspect_and_proxy_usage_errors_name_the_argument(void)
{
    static const struct {
        const char *args[5];
        const char *why;
    } cases[] = {
        {{"serve", "--port", "abc"}, "--port: \"abc\" is not a port number (0..65535)"},
        {{"serve", "--accounts", "a,b,c,d,e,f,g,h,i"},
         "--accounts: \"a,b,c,d,e,f,g,h,i\" is not 1 to 8 non-empty names"},
        {{"serve", "--config", "@gw-lines.json"}, "gw-lines.json:3:1: JSON syntax error"},
        {{"serve", "--port", "0", "--replay", "/nonexistent-dir/x.pcap"},
         "--replay: /nonexistent-dir/x.pcap: cannot open: No such file or directory"},
        {{"serve", "--port", "0", "--replay", "@gw-lines.json"},
         "gw-lines.json: not a pcap or pcapng capture"},
        {{"serve", "--replay-mode", "loose"}, "--replay-mode: \"loose\" is not strict or lenient"},
        {{"serve", "--replay-timing", "slow"}, "--replay-timing: \"slow\" is not recorded or fast"},
        {{"serve", "--replay-conn", "0"}, "--replay-conn: \"0\" is not a conversation number"},
        {{"serve", "--daily-restart", "7:00"},
         "--daily-restart: \"7:00\" is not a time of day HH:MM"},
        {{"serve", "--daily-restart-down", "0s"},
         "--daily-restart-down: \"0s\" is not a duration like 2m"},
        {{"inspect", "/nonexistent-dir/x.pcap"},
         "mockgw inspect: /nonexistent-dir/x.pcap: cannot open"},
        {{"inspect", "@gw-lines.json"}, "gw-lines.json: not a pcap or pcapng capture"},
        {{"inspect", "--ports", "bad"},
         "--ports needs 1 to 16 ports (1..65535) separated by commas, got \"bad\""},
        {{"inspect"}, "mockgw inspect: missing FILE"},
        {{"inspect", "a.pcap", "b.pcap"}, "unexpected argument \"b.pcap\""},
        {{"inspect", "--bogus"}, "unknown option \"--bogus\""},
        {{"proxy", "--listen", "127.0.0.1"}, "--listen: \"127.0.0.1\" is not HOST:PORT"},
        {{"proxy", "--listen", ":4003"}, "--listen: \":4003\" is not HOST:PORT"},
        {{"proxy", "--upstream", "bad"}, "--upstream: \"bad\" is not HOST:PORT"},
        {{"proxy", "--fault", "1s bogus"}, "--fault \"1s bogus\": unknown command \"bogus\""},
        {{"proxy", "--fault", "1s kill --client-id 3"},
         "--fault: \"1s kill --client-id 3\": a relay does not follow client ids"},
        {{"proxy", "--fault", "1s"}, "--fault: \"1s\" is not 'AT KIND ARGS'"},
        {{"proxy", "--chaos", "0s"}, "--chaos: \"0s\" is not a duration like 30s"},
        {{"proxy", "--seed", "x"}, "--seed: \"x\" is not a non-negative integer"},
        {{"proxy", "--listen"}, "option --listen needs a value"},
        {{"proxy", "--bogus"}, "unknown option \"--bogus\"\nTry 'mockgw proxy --help'"},
    };
    CU_ASSERT_EQUAL_FATAL(cli_write("gw-lines.json", "{\n  \"accounts\": [\"A\",\n}\n"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        int rc = gw_run(a[0], a[1], a[2], a[3], a[4], NULL);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(T.err, cases[i].why));
        if (rc != 2 || !strstr(T.err, cases[i].why))
            fprintf(stderr, "\n  case %zu: rc %d: %s\n", i, rc, T.err);
    }
}

/* A mockgw left running; its stdout and stderr go to NAME.out and NAME.err. */
static pid_t gw_start(const char *name, const char *first, ...)
{
    char out[64], err[64];
    snprintf(out, sizeof out, "%s.out", name);
    snprintf(err, sizeof err, "%s.err", name);
    va_list ap;
    va_start(ap, first);
    pid_t pid = cli_spawn("mockgw", NULL, out, err, first, ap);
    va_end(ap);
    return pid;
}

/* Waits up to 5 s for a line "...PREFIX<port>" in the file NAME of this
 * test's folder; the port, or 0 if none came. */
static unsigned gw_await_port(const char *name, const char *prefix)
{
    static char text[CLI_OUT_MAX];
    char path[128];
    cli_path(path, sizeof path, name);
    for (int tries = 0; tries < 100; tries++) {
        cli_slurp(path, text);
        const char *at = strstr(text, prefix);
        unsigned port;
        if (at && strchr(at, '\n') && sscanf(at + strlen(prefix), "%u", &port) == 1)
            return port;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    return 0;
}

/* SIGINT, as an operator's Ctrl-C; the exit code. */
static int gw_stop(pid_t pid)
{
    kill(pid, SIGINT);
    return cli_wait(pid);
}

/* ctl status until the gateway has accepted n connections (up to 5 s). */
static int gw_await_accepted(const char *ctl_port, int n)
{
    char want[32];
    snprintf(want, sizeof want, "\"accepted\":%d", n);
    for (int tries = 0; tries < 100; tries++) {
        if (gw_run("ctl", "--ctl-port", ctl_port, "status", NULL) == 0 && strstr(T.out, want))
            return 1;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    return 0;
}

/* serve replaying a committed capture: it says where it listens, answers
 * ctl (refusals exit 1 with the gateway's reason), a proxy relays a client
 * to it, and SIGINT stops both with exit 0. */
static void mockgw_serve_answers_ctl_and_a_proxy_relays_to_it(void)
{
    pid_t gw = gw_start("serve", "serve", "--port", "0", "--ctl-port", "0", "--replay",
                        "tests/data/captures/runner-proxy-4002.pcap", "--replay-mode", "lenient",
                        "--replay-timing", "fast", "--replay-conn", "1", NULL);
    unsigned api = gw_await_port("serve.out", "mockgw: listening on 127.0.0.1:");
    unsigned ctl = gw_await_port("serve.out", "mockgw: control on 127.0.0.1:");
    CU_ASSERT(api > 0 && ctl > 0);
    char ctl_port[16], upstream[32], want[32];
    snprintf(ctl_port, sizeof ctl_port, "%u", ctl);
    snprintf(upstream, sizeof upstream, "127.0.0.1:%u", api);
    CU_ASSERT_EQUAL(gw_run("ctl", "--ctl-port", ctl_port, "status", NULL), 0);
    snprintf(want, sizeof want, "\"port\":%u,", api);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, want));
    CU_ASSERT(strncmp(T.out, "{\"ok\":true", 10) == 0);
    CU_ASSERT_EQUAL(gw_run("ctl", "--ctl-port", ctl_port, "bogus", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "unknown command \\\"bogus\\\""));
    CU_ASSERT_EQUAL(gw_run("ctl", "--ctl-port", ctl_port, "down", "xyz", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "down: \\\"xyz\\\" is not a duration"));
    CU_ASSERT_EQUAL(gw_run("ctl", "--ctl-port", ctl_port, "kill", "--client-id", "abc", NULL), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "kill: --client-id \\\"abc\\\" is not a whole number"));

    pid_t px = gw_start("proxy", "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream,
                        "--seed", "7", "--fault", "1h kill", "--chaos", "1h", "--verbose", NULL);
    unsigned relay = gw_await_port("proxy.out", "mockgw: proxy on 127.0.0.1:");
    CU_ASSERT(relay > 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)relay),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CU_ASSERT(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT(gw_await_accepted(ctl_port, 1)); /* the relay's own connection */
    if (fd >= 0)
        close(fd);
    CU_ASSERT_EQUAL(gw_stop(px), 0);
    char path[128];
    cli_path(path, sizeof path, "proxy.err");
    cli_slurp(path, T.err);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "seed=7 (repeat this run's faults with --seed 7)"));
    CU_ASSERT_EQUAL(gw_stop(gw), 0);
    cli_path(path, sizeof path, "serve.err");
    cli_slurp(path, T.err);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.err, "shutting down"));
}

static void mockgw_inspect_summarises_a_committed_capture(void)
{
    CU_ASSERT_EQUAL(gw_run("inspect", "tests/data/captures/runner-proxy-4002.pcap", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "summary: tests/data/captures/runner-proxy-4002.pcap: "
                                         "27 packets"));
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "hello v157..178, version 178"));
    CU_ASSERT_EQUAL(gw_run("inspect", "--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "mockgw inspect"));
    CU_ASSERT_EQUAL(gw_run("proxy", "--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(T.out, "usage: mockgw proxy [--listen H:P]"));
}

static CU_TestInfo mockgw_tests[] = {
    {"mockgw_usage_errors_exit_2_and_name_the_value",
     mockgw_usage_errors_exit_2_and_name_the_value},
    {"mockgw_help_texts_go_to_stdout_and_exit_0", mockgw_help_texts_go_to_stdout_and_exit_0},
    {"mockgw_reports_a_busy_port_and_a_missing_control_server",
     mockgw_reports_a_busy_port_and_a_missing_control_server},
    {"mockgw_serve_inspect_and_proxy_usage_errors_name_the_argument",
     mockgw_serve_inspect_and_proxy_usage_errors_name_the_argument},
    {"mockgw_serve_answers_ctl_and_a_proxy_relays_to_it",
     mockgw_serve_answers_ctl_and_a_proxy_relays_to_it},
    {"mockgw_inspect_summarises_a_committed_capture",
     mockgw_inspect_summarises_a_committed_capture},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo sim_tests[] = {
    {"bad_arguments_exit_2_with_the_reason", bad_arguments_exit_2_with_the_reason},
    {"exit_code_says_pass_fail_or_unloadable", exit_code_says_pass_fail_or_unloadable},
    {"json_and_tap_reports_list_every_run", json_and_tap_reports_list_every_run},
    {"shards_split_the_runs_and_junit_keeps_them", shards_split_the_runs_and_junit_keeps_them},
    {"trace_and_shrink_write_their_files", trace_and_shrink_write_their_files},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"sim_cli", cli_init, cli_clean, NULL, NULL, sim_tests},
    {"mockgw_cli", cli_init, cli_clean, NULL, NULL, mockgw_tests},
    {"runner_cli", cli_init, cli_clean, NULL, NULL, runner_tests},
    CU_SUITE_INFO_NULL,
};
