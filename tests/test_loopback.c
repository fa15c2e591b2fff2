/* test_loopback.c - loopback integration: the real `mockgw serve` and
 * `runner` binaries talking over TCP on 127.0.0.1. The binaries come from
 * $TEST_BUILD_DIR (default "build"). Each child writes its stdout and
 * stderr to files in a per-test temporary folder; the runner's JSON-lines
 * trace is read back to check what happened and in what order. Every wait
 * is bounded, and the per-test teardown kills whatever child is still
 * running, so a failing test leaves nothing behind. */
#include "testlib.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LB_PATH_MAX 512
#define LB_PROCS_MAX 4
#define LB_POLL_MS 20
#define LB_START_MS 5000   /* mockgw prints "listening on" */
#define LB_TRACE_MS 10000  /* a runner reaches a traced state */
#define LB_EXIT_MS 5000    /* a child exits after SIGINT, or after bad arguments */
#define LB_CLIENT_ID "7"
/* A short ping period, so the first ping_ok comes within a second. */
#define LB_PING_INTERVAL "0.2"
#define LB_PING_TIMEOUT "1"

/* One child process and the files its output goes to. */
typedef struct lb_proc {
    pid_t pid; /* 0 once reaped */
    char out[LB_PATH_MAX];
    char err[LB_PATH_MAX];
} lb_proc_t;

/* One expected trace event: its "ev" and up to two fields it must carry,
 * compared in their JSON text form ("client", 0). */
typedef struct lb_event {
    const char *ev;
    const char *key1, *val1;
    const char *key2, *val2;
} lb_event_t;

static struct {
    char dir[64];              /* this test's temporary folder */
    pid_t live[LB_PROCS_MAX];  /* children to kill if the test fails */
    int unused_fd;             /* a bound, never-listening socket */
} lb;

/* ---- paths and files ---------------------------------------------------- */

static const char *lb_build_dir(void)
{
    const char *dir = getenv("TEST_BUILD_DIR");
    return dir && *dir ? dir : "build";
}

static void lb_path(char *buf, const char *name)
{
    snprintf(buf, LB_PATH_MAX, "%s/%s", lb.dir, name);
}

static void lb_binary(char *buf, const char *name)
{
    snprintf(buf, LB_PATH_MAX, "%s/%s", lb_build_dir(), name);
}

/* The whole file as a NUL-terminated string (caller frees), or NULL when
 * it does not exist yet. */
static char *lb_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void lb_dump(const char *label, const char *path)
{
    char *text = lb_slurp(path);
    fprintf(stderr, "\n--- %s (%s)\n%s", label, path, text ? text : "(missing)\n");
    free(text);
}

static int lb_file_contains(const char *path, const char *needle)
{
    char *text = lb_slurp(path);
    int found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void lb_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- child processes ---------------------------------------------------- */

/* Pids, not lb_proc_t pointers: a fatal assertion leaves the test's frame
 * before the teardown runs, so pointers into it would dangle. */
static void lb_track(pid_t from, pid_t to)
{
    for (size_t i = 0; i < LB_PROCS_MAX; i++) {
        if (lb.live[i] == from) {
            lb.live[i] = to;
            return;
        }
    }
}

static void lb_kill_pid(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    lb_track(pid, 0);
}

/* Starts argv[0] with stdin from /dev/null and stdout/stderr into
 * <dir>/<name>.out and <name>.err. 0, or -1 when fork failed. */
static int lb_spawn(lb_proc_t *p, const char *name, char *const argv[])
{
    char file[LB_PATH_MAX / 2];
    if (!lb.dir[0])
        return -1; /* the setup could not make the temporary folder */
    snprintf(file, sizeof file, "%s.out", name);
    lb_path(p->out, file);
    snprintf(file, sizeof file, "%s.err", name);
    lb_path(p->err, file);
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) {
        p->pid = 0;
        return -1;
    }
    if (p->pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    lb_track(0, p->pid);
    return 0;
}

/* Waits up to timeout_ms for the child to end. Its exit code, 128 + the
 * signal that killed it, or -1 if it is still running. */
static int lb_reap(lb_proc_t *p, long timeout_ms)
{
    if (p->pid <= 0)
        return -1; /* waitpid(0) would reap any child */
    for (long waited = 0;; waited += LB_POLL_MS) {
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            lb_track(p->pid, 0);
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (r < 0 || waited >= timeout_ms)
            return -1;
        lb_sleep_ms(LB_POLL_MS);
    }
}

/* SIGINT, then its exit code within LB_EXIT_MS; -1 (and killed) if it hung. */
static int lb_interrupt(lb_proc_t *p)
{
    if (p->pid <= 0 || kill(p->pid, SIGINT) != 0)
        return -1;
    int code = lb_reap(p, LB_EXIT_MS);
    if (code < 0) {
        fprintf(stderr, "\npid %d still running %d ms after SIGINT\n", (int)p->pid, LB_EXIT_MS);
        lb_kill_pid(p->pid);
        p->pid = 0;
    }
    return code;
}

/* ---- the two programs --------------------------------------------------- */

/* Starts `mockgw serve --port P` (0: any free port) and returns the port it
 * printed in its "listening on H:P" line, or -1. */
static int lb_gateway_start(lb_proc_t *gw, int want_port)
{
    char bin[LB_PATH_MAX], port_text[16];
    lb_binary(bin, "mockgw");
    snprintf(port_text, sizeof port_text, "%d", want_port);
    char *argv[] = {bin, "serve", "--host", "127.0.0.1", "--port", port_text, NULL};
    if (lb_spawn(gw, "mockgw", argv) != 0)
        return -1;
    for (long waited = 0; waited < LB_START_MS; waited += LB_POLL_MS) {
        char *text = lb_slurp(gw->out);
        const char *line = text ? strstr(text, "listening on ") : NULL;
        const char *eol = line ? strchr(line, '\n') : NULL;
        const char *colon = NULL;
        for (const char *c = line; eol && c < eol; c++)
            colon = *c == ':' ? c : colon;
        long port = colon ? strtol(colon + 1, NULL, 10) : -1;
        free(text);
        if (port > 0 && port <= 65535)
            return (int)port;
        if (lb_reap(gw, 0) >= 0)
            break;
        lb_sleep_ms(LB_POLL_MS);
    }
    lb_dump("mockgw stdout", gw->out);
    lb_dump("mockgw stderr", gw->err);
    return -1;
}

#define LB_EXTRA_MAX 12

/* Starts the runner against 127.0.0.1:port with a short ping interval, its
 * trace in <dir>/<name>.trace (path returned in trace), and the extra
 * arguments (NULL-terminated; NULL for none). --always-open: the tests run
 * at any hour, and the calendar would slow the health checks down to one
 * every 5 minutes outside market hours. */
static int lb_runner_start(lb_proc_t *rn, const char *name, int port, char *trace,
                           char *const extra[])
{
    char bin[LB_PATH_MAX], port_text[16], file[LB_PATH_MAX / 2];
    lb_binary(bin, "runner");
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(file, sizeof file, "%s.trace", name);
    lb_path(trace, file);
    char *argv[15 + LB_EXTRA_MAX] = {bin, "--host", "127.0.0.1", "--port", port_text,
                                     "--client-id", LB_CLIENT_ID, "--ping-interval",
                                     LB_PING_INTERVAL, "--ping-timeout", LB_PING_TIMEOUT,
                                     "--trace", trace, "--always-open", NULL};
    for (size_t i = 0; extra && extra[i] && i < LB_EXTRA_MAX; i++)
        argv[14 + i] = extra[i];
    return lb_spawn(rn, name, argv);
}

/* ---- the trace ---------------------------------------------------------- */

/* Whether the JSON value of item's field key reads as text. */
static int lb_field_is(const cJSON *item, const char *key, const char *text)
{
    if (!key)
        return 1;
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(item, key);
    if (cJSON_IsString(field))
        return strcmp(field->valuestring, text) == 0;
    if (cJSON_IsNumber(field)) {
        char num[32];
        snprintf(num, sizeof num, "%g", field->valuedouble);
        return strcmp(num, text) == 0;
    }
    return 0;
}

static int lb_event_matches(const cJSON *item, const lb_event_t *want)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(item, "ev");
    return cJSON_IsString(ev) && strcmp(ev->valuestring, want->ev) == 0 &&
           lb_field_is(item, want->key1, want->val1) && lb_field_is(item, want->key2, want->val2);
}

/* How many of want[0..n) the trace holds, in that order (other events may
 * come between). Only complete lines count: the runner may be writing the
 * last one. A complete line that is not a JSON object is an error (-1). */
static int lb_trace_matched(const char *path, const lb_event_t *want, size_t n)
{
    char *text = lb_slurp(path);
    if (!text)
        return 0;
    size_t found = 0;
    int bad = 0;
    char *line = text;
    for (char *eol; found < n && (eol = strchr(line, '\n')) != NULL; line = eol + 1) {
        *eol = '\0';
        cJSON *item = cJSON_Parse(line);
        if (!cJSON_IsObject(item)) {
            fprintf(stderr, "\n%s: not a JSON object: %s\n", path, line);
            bad = 1;
        } else if (lb_event_matches(item, &want[found])) {
            found++;
        }
        cJSON_Delete(item);
    }
    free(text);
    return bad ? -1 : (int)found;
}

/* Polls the trace of rn until it holds want[0..n) in order, for up to
 * timeout_ms, or until rn exits. 1 if it did; otherwise 0, naming the
 * missing event and dumping the trace and rn's stderr. */
static int lb_trace_reaches(lb_proc_t *rn, const char *path, const lb_event_t *want, size_t n,
                            long timeout_ms)
{
    int found = 0;
    for (long waited = 0;; waited += LB_POLL_MS) {
        found = lb_trace_matched(path, want, n);
        if (found == (int)n)
            return 1;
        if (found < 0 || waited >= timeout_ms)
            break;
        if (rn->pid > 0 && lb_reap(rn, 0) >= 0) {
            fprintf(stderr, "\nthe runner exited while its trace was waited for\n");
            break;
        }
        lb_sleep_ms(LB_POLL_MS);
    }
    if (found >= 0)
        fprintf(stderr, "\n%s: no \"%s\" event after the first %d expected ones\n", path,
                want[found].ev, found);
    lb_dump("trace", path);
    lb_dump("runner stderr", rn->err);
    return 0;
}

/* ---- fixture ------------------------------------------------------------ */

static void lb_setup(void)
{
    snprintf(lb.dir, sizeof lb.dir, "/tmp/test_loopback.XXXXXX");
    if (!mkdtemp(lb.dir))
        lb.dir[0] = '\0';
    lb.unused_fd = -1;
}

static void lb_teardown(void)
{
    for (size_t i = 0; i < LB_PROCS_MAX; i++) {
        if (lb.live[i] > 0)
            lb_kill_pid(lb.live[i]);
    }
    if (lb.unused_fd >= 0)
        close(lb.unused_fd);
    DIR *d = lb.dir[0] ? opendir(lb.dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[LB_PATH_MAX];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            lb_path(path, e->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
        rmdir(lb.dir);
    }
}

/* A port on 127.0.0.1 that refuses connections: bound (so nobody else can
 * take it during the test) but never listening. -1 on failure. */
static int lb_refusing_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof addr;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lb.unused_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lb.unused_fd < 0 || fcntl(lb.unused_fd, F_SETFD, FD_CLOEXEC) != 0 ||
        bind(lb.unused_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(lb.unused_fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    return ntohs(addr.sin_port);
}

/* ---- shared steps ------------------------------------------------------- */

static const lb_event_t lb_ready_and_pinged[] = {{.ev = "ready"}, {.ev = "ping_ok"}};

static const lb_event_t lb_clean_shutdown[] = {
    {.ev = "ready"},
    {.ev = "ping_ok"},
    {.ev = "signal"},
    {.ev = "disconnect", .key1 = "by", .val1 = "client", .key2 = "how", .val2 = "fin"},
    {.ev = "exit", .key1 = "code", .val1 = "0"},
};

/* A runner that connects to the gateway, answers pings, and on SIGINT
 * closes with FIN and exits 0, its trace telling that story in order. */
static void lb_run_clean_session(int port, const char *name)
{
    lb_proc_t rn = {0};
    char trace[LB_PATH_MAX];
    CU_ASSERT_FATAL(lb_runner_start(&rn, name, port, trace, NULL) == 0);
    CU_ASSERT_FATAL(lb_trace_reaches(&rn, trace, lb_ready_and_pinged, 2, LB_TRACE_MS));
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    CU_ASSERT(lb_trace_reaches(&rn, trace, lb_clean_shutdown, 5, 0));
}

static void lb_stop_gateway(lb_proc_t *gw)
{
    int code = lb_interrupt(gw);
    CU_ASSERT_EQUAL(code, 0);
    if (code != 0)
        lb_dump("mockgw stderr", gw->err);
}

/* Runs a binary that must refuse its arguments: exit code 2 and an error
 * on stderr that names the offending argument. */
static void lb_expect_usage_error(char *const argv[], const char *named)
{
    lb_proc_t p = {0};
    CU_ASSERT_FATAL(lb_spawn(&p, "usage", argv) == 0);
    int code = lb_reap(&p, LB_EXIT_MS);
    CU_ASSERT_EQUAL(code, 2);
    CU_ASSERT(lb_file_contains(p.err, named));
    if (code != 2 || !lb_file_contains(p.err, named))
        lb_dump("stderr", p.err);
}

/* ---- tests -------------------------------------------------------------- */

static void runner_pings_the_gateway_and_exits_zero_after_a_fin_close_on_sigint(void)
{
    lb_proc_t gw = {0};
    int port = lb_gateway_start(&gw, 0);
    CU_ASSERT_FATAL(port > 0);
    lb_run_clean_session(port, "runner");
    lb_stop_gateway(&gw);
}

static void gateway_releases_the_client_id_so_the_next_runner_with_it_gets_ready(void)
{
    lb_proc_t gw = {0}, second = {0};
    char trace[LB_PATH_MAX];
    int port = lb_gateway_start(&gw, 0);
    CU_ASSERT_FATAL(port > 0);
    lb_run_clean_session(port, "first");
    CU_ASSERT_FATAL(lb_runner_start(&second, "second", port, trace, NULL) == 0);
    static const lb_event_t ready[] = {{.ev = "ready"}};
    CU_ASSERT(lb_trace_reaches(&second, trace, ready, 1, LB_TRACE_MS));
    static const lb_event_t clash[] = {{.ev = "error:326"}};
    CU_ASSERT_EQUAL(lb_trace_matched(trace, clash, 1), 0);
    CU_ASSERT_EQUAL(lb_interrupt(&second), 0);
    lb_stop_gateway(&gw);
}

static void runner_keeps_retrying_a_refused_port_and_still_exits_zero_on_sigint(void)
{
    lb_proc_t rn = {0};
    char trace[LB_PATH_MAX];
    int port = lb_refusing_port();
    CU_ASSERT_FATAL(port > 0);
    CU_ASSERT_FATAL(lb_runner_start(&rn, "runner", port, trace, NULL) == 0);
    static const lb_event_t retrying[] = {
        {.ev = "connect_failed"}, {.ev = "reconnect"}, {.ev = "connect"}};
    CU_ASSERT_FATAL(lb_trace_reaches(&rn, trace, retrying, 3, LB_TRACE_MS));
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    static const lb_event_t stopped[] = {
        {.ev = "signal"}, {.ev = "exit", .key1 = "code", .val1 = "0"}};
    CU_ASSERT(lb_trace_reaches(&rn, trace, stopped, 2, 0));
    static const lb_event_t never_ready[] = {{.ev = "ready"}};
    CU_ASSERT_EQUAL(lb_trace_matched(trace, never_ready, 1), 0);
}

static void runner_refuses_a_non_numeric_port_with_exit_code_2(void)
{
    char bin[LB_PATH_MAX];
    lb_binary(bin, "runner");
    char *argv[] = {bin, "--port", "abc", NULL};
    lb_expect_usage_error(argv, "--port");
}

static void mockgw_refuses_a_port_above_65535_with_exit_code_2(void)
{
    char bin[LB_PATH_MAX];
    lb_binary(bin, "mockgw");
    char *argv[] = {bin, "serve", "--port", "99999", NULL};
    lb_expect_usage_error(argv, "--port");
}

static void mockgw_refuses_an_unknown_command_with_exit_code_2(void)
{
    char bin[LB_PATH_MAX];
    lb_binary(bin, "mockgw");
    char *argv[] = {bin, "frobnicate", NULL};
    lb_expect_usage_error(argv, "frobnicate");
}


/* ---- the persistent-connection plan's testing plan, over real TCP -------- */

/* The local ports of the ESTABLISHED TCP connections (IPv4) that process
 * pid holds, as `lsof -iTCP -sTCP:ESTABLISHED` would list them: its socket
 * inodes from /proc/<pid>/fd, matched in /proc/net/tcp. The count, or -1. */
static int lb_established_ports(pid_t pid, int *ports, int max)
{
    char fd_dir[64], link[LB_PATH_MAX], target[128];
    unsigned long inodes[64];
    int ninodes = 0, n = 0;
    snprintf(fd_dir, sizeof fd_dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(fd_dir);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL && ninodes < 64;) {
        snprintf(link, sizeof link, "%s/%s", fd_dir, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        if (sscanf(target, "socket:[%lu]", &inodes[ninodes]) == 1)
            ninodes++;
    }
    closedir(d);
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned port, state;
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &port,
                   &state, &inode) != 3 || state != 0x01)
            continue;
        for (int i = 0; i < ninodes; i++)
            if (inodes[i] == inode && n < max)
                ports[n++] = (int)port;
    }
    fclose(f);
    return n;
}

/* The "label" of the status file, or "" (caller's buffer). */
static const char *lb_status_label(const char *path, char *buf, size_t cap)
{
    char *text = lb_slurp(path);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(j, "label");
    snprintf(buf, cap, "%s", cJSON_IsString(label) ? label->valuestring : "");
    cJSON_Delete(j);
    free(text);
    return buf;
}

/* Waits for the nth (1-based) successful cycle_end after the given events. */
static int lb_cycles_reach(lb_proc_t *rn, const char *trace, const lb_event_t *before,
                           size_t nbefore, int cycles)
{
    lb_event_t want[8];
    size_t n = 0;
    for (; n < nbefore; n++)
        want[n] = before[n];
    for (int i = 0; i < cycles && n < 8; i++)
        want[n++] = (lb_event_t){.ev = "cycle_end", .key1 = "ok", .val1 = "1"};
    return lb_trace_reaches(rn, trace, want, n, LB_TRACE_MS);
}

/* Several cycles: one ESTABLISHED connection, the same local port
 * throughout, and the status file says "API Connected" between them. */
static void lb_check_one_connection_across_cycles(lb_proc_t *rn, const char *trace,
                                                  const char *status)
{
    int first_port = -1;
    char label[64];
    for (int cycles = 1; cycles <= 3; cycles++) {
        CU_ASSERT_FATAL(lb_cycles_reach(rn, trace, NULL, 0, cycles));
        int ports[4];
        int n = lb_established_ports(rn->pid, ports, 4);
        CU_ASSERT_EQUAL(n, 1);
        if (n < 1)
            continue;
        if (first_port < 0)
            first_port = ports[0];
        CU_ASSERT_EQUAL(ports[0], first_port);
        CU_ASSERT_STRING_EQUAL(lb_status_label(status, label, sizeof label), "API Connected");
    }
}

static void plan_runner_keeps_one_connection_across_cycles_reconnects_and_exits_cleanly(void)
{
    lb_proc_t gw = {0}, rn = {0};
    char trace[LB_PATH_MAX], status[LB_PATH_MAX];
    int port = lb_gateway_start(&gw, 0);
    CU_ASSERT_FATAL(port > 0);
    lb_path(status, "status.json");
    char *extra[] = {"--symbols", "AAPL", "--interval", "1s", "--request-timeout", "2s",
                     "--status-file", status, NULL};
    CU_ASSERT_FATAL(lb_runner_start(&rn, "runner", port, trace, extra) == 0);
    lb_check_one_connection_across_cycles(&rn, trace, status);
    /* Kill the gateway hard and bring it back on the same port. */
    lb_kill_pid(gw.pid);
    gw.pid = 0;
    CU_ASSERT_FATAL(lb_gateway_start(&gw, port) == port);
    static const lb_event_t back[] = {
        {.ev = "ready"}, {.ev = "disconnect", .key1 = "by", .val1 = "gateway"},
        {.ev = "reconnect"}, {.ev = "ready"}};
    CU_ASSERT_FATAL(lb_cycles_reach(&rn, trace, back, 4, 1));
    int ports[4];
    CU_ASSERT_EQUAL(lb_established_ports(rn.pid, ports, 4), 1);
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    static const lb_event_t bye[] = {
        {.ev = "signal", .key1 = "name", .val1 = "SIGINT"},
        {.ev = "disconnect", .key1 = "by", .val1 = "client", .key2 = "how", .val2 = "fin"},
        {.ev = "exit", .key1 = "code", .val1 = "0"}};
    CU_ASSERT(lb_trace_reaches(&rn, trace, bye, 3, 0));
    char label[64];
    CU_ASSERT_STRING_EQUAL(lb_status_label(status, label, sizeof label), "Disconnected");
    /* The mock saw the goodbye as an orderly close by the client. */
    lb_sleep_ms(200);
    CU_ASSERT(lb_file_contains(gw.err, "closed by client (fin)"));
    lb_stop_gateway(&gw);
}

static void runner_refuses_trade_on_a_live_port_without_allow_live(void)
{
    char bin[LB_PATH_MAX];
    lb_binary(bin, "runner");
    char *argv[] = {bin, "--port", "4001", "--symbols", "AAPL", "--trade", NULL};
    lb_expect_usage_error(argv, "--allow-live");
}

/* ---- mockgw ctl against a live mockgw serve ----------------------------- */

/* The control port mockgw printed ("control on H:P"), or -1. */
static int lb_ctl_port(lb_proc_t *gw)
{
    for (long waited = 0; waited < LB_START_MS; waited += LB_POLL_MS) {
        char *text = lb_slurp(gw->out);
        const char *line = text ? strstr(text, "control on ") : NULL;
        const char *colon = line ? strchr(line, ':') : NULL;
        long port = colon && strchr(colon, '\n') ? strtol(colon + 1, NULL, 10) : -1;
        free(text);
        if (port > 0 && port <= 65535)
            return (int)port;
        lb_sleep_ms(LB_POLL_MS);
    }
    lb_dump("mockgw stdout", gw->out);
    return -1;
}

/* Runs `mockgw ctl --ctl-port P` with up to three words; its exit code,
 * with its stdout and stderr in p's files. */
static int lb_ctl(lb_proc_t *p, int ctl_port, const char *w1, const char *w2, const char *w3)
{
    char bin[LB_PATH_MAX], port_text[16];
    lb_binary(bin, "mockgw");
    snprintf(port_text, sizeof port_text, "%d", ctl_port);
    char *argv[] = {bin, "ctl", "--ctl-port", port_text, (char *)w1, (char *)w2, (char *)w3,
                    NULL};
    if (lb_spawn(p, "ctl", argv) != 0)
        return -1;
    return lb_reap(p, LB_EXIT_MS);
}

/* A gateway, a runner connected to it (ready, pinged), the control port. */
static int lb_gateway_with_runner(lb_proc_t *gw, lb_proc_t *rn, char *trace)
{
    int port = lb_gateway_start(gw, 0);
    CU_ASSERT_FATAL(port > 0);
    int ctl_port = lb_ctl_port(gw);
    CU_ASSERT_FATAL(ctl_port > 0);
    CU_ASSERT_FATAL(lb_runner_start(rn, "runner", port, trace, NULL) == 0);
    CU_ASSERT_FATAL(lb_trace_reaches(rn, trace, lb_ready_and_pinged, 2, LB_TRACE_MS));
    return ctl_port;
}

static void mockgw_ctl_kill_makes_a_connected_runner_reconnect(void)
{
    lb_proc_t gw = {0}, rn = {0}, ctl = {0};
    char trace[LB_PATH_MAX];
    int ctl_port = lb_gateway_with_runner(&gw, &rn, trace);
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "kill", NULL, NULL), 0);
    CU_ASSERT(lb_file_contains(ctl.out, "{\"ok\":true,\"applied\":\"kill\",\"client_id\":-1}"));
    static const lb_event_t back[] = {
        {.ev = "ready"}, {.ev = "disconnect", .key1 = "by", .val1 = "gateway"},
        {.ev = "reconnect"}, {.ev = "ready"}};
    CU_ASSERT(lb_trace_reaches(&rn, trace, back, 4, LB_TRACE_MS));
    CU_ASSERT(lb_file_contains(gw.err, "fault kill how=fin client_id=-1 sessions=1"));
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    lb_stop_gateway(&gw);
}

static void mockgw_ctl_stale_makes_the_runner_miss_a_ping(void)
{
    lb_proc_t gw = {0}, rn = {0}, ctl = {0};
    char trace[LB_PATH_MAX];
    int ctl_port = lb_gateway_with_runner(&gw, &rn, trace);
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "stale", "2s", NULL), 0);
    static const lb_event_t timed_out[] = {
        {.ev = "ready"}, {.ev = "ping_ok"}, {.ev = "ping_timeout"}};
    CU_ASSERT(lb_trace_reaches(&rn, trace, timed_out, 3, LB_TRACE_MS));
    CU_ASSERT(lb_file_contains(gw.err, "fault stale on=1 client_id=-1 for_us=2000000"));
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    lb_stop_gateway(&gw);
}

static void mockgw_ctl_status_answers_json_listing_the_session(void)
{
    lb_proc_t gw = {0}, rn = {0}, ctl = {0};
    char trace[LB_PATH_MAX];
    int ctl_port = lb_gateway_with_runner(&gw, &rn, trace);
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "status", NULL, NULL), 0);
    char *text = lb_slurp(ctl.out);
    cJSON *st = text ? cJSON_Parse(text) : NULL;
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(st, "ok")));
    cJSON *sessions = cJSON_GetObjectItem(st, "sessions");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(sessions), 1);
    cJSON *client_id = cJSON_GetObjectItem(cJSON_GetArrayItem(sessions, 0), "client_id");
    CU_ASSERT(cJSON_IsNumber(client_id) && client_id->valueint == atoi(LB_CLIENT_ID));
    if (!cJSON_IsObject(st))
        lb_dump("ctl stdout", ctl.out);
    cJSON_Delete(st);
    free(text);
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    lb_stop_gateway(&gw);
}

static void mockgw_ctl_exits_1_with_the_reason_when_the_gateway_refuses(void)
{
    lb_proc_t gw = {0}, ctl = {0};
    CU_ASSERT_FATAL(lb_gateway_start(&gw, 0) > 0);
    int ctl_port = lb_ctl_port(&gw);
    CU_ASSERT_FATAL(ctl_port > 0);
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "down", "soon", NULL), 1);
    CU_ASSERT(lb_file_contains(ctl.out, "\"ok\":false"));
    CU_ASSERT(lb_file_contains(ctl.out, "is not a duration"));
    lb_stop_gateway(&gw);
}

static void mockgw_ctl_exits_2_when_no_gateway_listens(void)
{
    lb_proc_t ctl = {0};
    int port = lb_refusing_port();
    CU_ASSERT_FATAL(port > 0);
    CU_ASSERT_EQUAL(lb_ctl(&ctl, port, "status", NULL, NULL), 2);
    CU_ASSERT(lb_file_contains(ctl.err, "no gateway control server"));
}

/* ---- the operator surface: --http and systemd notifications ------------- */

#define OP_HTTP_MAX (256 * 1024)
#define OP_NOTIFY_MAX 512
/* A fake systemd watchdog of 300 ms: the runner pings it every 150 ms. */
#define OP_WATCHDOG_USEC "300000"

static int op_notify_fd = -1; /* the fake NOTIFY_SOCKET, closed by the teardown */

static void op_setup(void)
{
    lb_setup();
    op_notify_fd = -1;
}

static void op_teardown(void)
{
    if (op_notify_fd >= 0)
        close(op_notify_fd);
    op_notify_fd = -1;
    lb_teardown();
}

/* The port of the runner's "http: listening on 127.0.0.1:P" log line, or -1. */
static int op_http_port(lb_proc_t *rn)
{
    static const char marker[] = "http: listening on 127.0.0.1:";
    for (long waited = 0; waited < LB_START_MS; waited += LB_POLL_MS) {
        char *text = lb_slurp(rn->err);
        const char *at = text ? strstr(text, marker) : NULL;
        long port = at && strchr(at, '\n') ? strtol(at + strlen(marker), NULL, 10) : -1;
        free(text);
        if (port > 0 && port <= 65535)
            return (int)port;
        lb_sleep_ms(LB_POLL_MS);
    }
    lb_dump("runner stderr", rn->err);
    return -1;
}

/* GET path from 127.0.0.1:port over HTTP/1.0 (the server closes after the
 * answer). The whole answer, head and body, NUL-terminated (caller frees),
 * or NULL. Bounded by a 5 s receive timeout. */
static char *op_http_get(int port, const char *path)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char req[256];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    char *buf = malloc(OP_HTTP_MAX);
    size_t got = 0;
    if (fd < 0 || !buf || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        write(fd, req, (size_t)len) != len) {
        free(buf);
        buf = NULL;
    }
    for (ssize_t n; buf && (n = read(fd, buf + got, OP_HTTP_MAX - 1 - got)) > 0;)
        got += (size_t)n;
    if (buf)
        buf[got] = '\0';
    if (fd >= 0)
        close(fd);
    return buf;
}

/* The body of an answer (after the blank line), or "". */
static const char *op_body(const char *answer)
{
    const char *end = answer ? strstr(answer, "\r\n\r\n") : NULL;
    return end ? end + 4 : "";
}

/* GET /status as JSON, or NULL (caller deletes). */
static cJSON *op_status(int port)
{
    char *answer = op_http_get(port, "/status");
    cJSON *j = answer ? cJSON_Parse(op_body(answer)) : NULL;
    free(answer);
    return j;
}

static int op_json_int(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

static const char *op_json_str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Polls /status until its label is label and at least min_reconnects
 * reconnects happened; 1 if it came within LB_TRACE_MS. */
static int op_status_reaches(int port, const char *label, int min_reconnects)
{
    for (long waited = 0; waited < LB_TRACE_MS; waited += LB_POLL_MS) {
        cJSON *j = op_status(port);
        int ok = strcmp(op_json_str(j, "label"), label) == 0 &&
                 op_json_int(j, "reconnects") >= min_reconnects;
        cJSON_Delete(j);
        if (ok)
            return 1;
        lb_sleep_ms(LB_POLL_MS);
    }
    fprintf(stderr, "\n/status never said \"%s\" after %d reconnects\n", label, min_reconnects);
    return 0;
}

/* A gateway and a runner with --http on a port of its choosing; the
 * runner's HTTP port. */
static int op_start_with_http(lb_proc_t *gw, lb_proc_t *rn, char *trace, int *ctl_port)
{
    int port = lb_gateway_start(gw, 0);
    CU_ASSERT_FATAL(port > 0);
    *ctl_port = lb_ctl_port(gw);
    CU_ASSERT_FATAL(*ctl_port > 0);
    char *extra[] = {"--http", "127.0.0.1:0", NULL};
    CU_ASSERT_FATAL(lb_runner_start(rn, "runner", port, trace, extra) == 0);
    CU_ASSERT_FATAL(lb_trace_reaches(rn, trace, lb_ready_and_pinged, 2, LB_TRACE_MS));
    int http = op_http_port(rn);
    CU_ASSERT_FATAL(http > 0);
    return http;
}

static void http_status_says_api_connected_and_follows_a_kill_through_its_timeline(void)
{
    lb_proc_t gw = {0}, rn = {0}, ctl = {0};
    char trace[LB_PATH_MAX];
    int ctl_port, http = op_start_with_http(&gw, &rn, trace, &ctl_port);
    char *answer = op_http_get(http, "/status");
    CU_ASSERT_PTR_NOT_NULL_FATAL(answer);
    CU_ASSERT_EQUAL(strncmp(answer, "HTTP/1.1 200", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(answer, "Content-Type: application/json\r\n"));
    cJSON *j = cJSON_Parse(op_body(answer));
    CU_ASSERT_STRING_EQUAL(op_json_str(j, "label"), "API Connected");
    CU_ASSERT_STRING_EQUAL(op_json_str(j, "connection"), "connected");
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "healthy")));
    CU_ASSERT(op_json_int(j, "health_checks_ok") >= 1);
    cJSON_Delete(j);
    free(answer);
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "kill", NULL, NULL), 0);
    CU_ASSERT_FATAL(op_status_reaches(http, "API Connected", 1));
    j = op_status(http);
    const cJSON *tl = cJSON_GetObjectItem(j, "timeline");
    static const char *const story[] = {"Connecting", "API Connected", "Reconnecting",
                                        "API Connected"};
    CU_ASSERT_EQUAL(cJSON_GetArraySize(tl), 4);
    for (int i = 0; i < 4 && i < cJSON_GetArraySize(tl); i++)
        CU_ASSERT_STRING_EQUAL(op_json_str(cJSON_GetArrayItem(tl, i), "label"), story[i]);
    cJSON_Delete(j);
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    lb_stop_gateway(&gw);
}

static void http_metrics_and_page_show_the_live_runner(void)
{
    lb_proc_t gw = {0}, rn = {0};
    char trace[LB_PATH_MAX];
    int ctl_port, http = op_start_with_http(&gw, &rn, trace, &ctl_port);
    char *metrics = op_http_get(http, "/metrics");
    CU_ASSERT_PTR_NOT_NULL_FATAL(metrics);
    static const char *const want[] = {
        "HTTP/1.1 200",
        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
        "# TYPE ibgw_runner_connection_state gauge\n",
        "\nibgw_runner_connection_state{state=\"connected\"} 1\n",
        "\nibgw_runner_reconnects_total 0\n",
        "\nibgw_runner_cycles_total{result=\"ok\"} 0\n",
        "\nibgw_runner_ping_rtt_seconds 0.",
        "\nibgw_runner_uptime_seconds ",
        /* mockgw greets every session with the farm notices, as IB does */
        "\nibgw_runner_errors_total{code=\"2104\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(metrics, want[i]));
    free(metrics);
    char *page = op_http_get(http, "/");
    CU_ASSERT_PTR_NOT_NULL_FATAL(page);
    CU_ASSERT_PTR_NOT_NULL(strstr(page, "Content-Type: text/html; charset=utf-8\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(page, "<div id=\"label\" class=\"c-connected\">API Connected"));
    CU_ASSERT_PTR_NOT_NULL(strstr(page, "setInterval(refresh, 1000)"));
    free(page);
    char *missing = op_http_get(http, "/nothing-here");
    CU_ASSERT_PTR_NOT_NULL(missing);
    CU_ASSERT(missing && strncmp(missing, "HTTP/1.1 404", 12) == 0);
    free(missing);
    CU_ASSERT_EQUAL(lb_interrupt(&rn), 0);
    lb_stop_gateway(&gw);
}

static void runner_refuses_an_http_address_that_is_not_ipv4_with_exit_code_2(void)
{
    char bin[LB_PATH_MAX];
    lb_binary(bin, "runner");
    char *argv[] = {bin, "--http", "localhost:8080", NULL};
    lb_expect_usage_error(argv, "--http");
}

static void runner_exits_1_naming_the_address_when_its_http_port_is_taken(void)
{
    char bin[LB_PATH_MAX], addr[32];
    lb_proc_t p = {0};
    int taken = lb_refusing_port();
    CU_ASSERT_FATAL(taken > 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", taken);
    lb_binary(bin, "runner");
    char *argv[] = {bin, "--port", "1", "--http", addr, NULL};
    CU_ASSERT_FATAL(lb_spawn(&p, "runner", argv) == 0);
    CU_ASSERT_EQUAL(lb_reap(&p, LB_EXIT_MS), 1);
    char want[64];
    snprintf(want, sizeof want, "--http: cannot listen on %s", addr);
    CU_ASSERT(lb_file_contains(p.err, want));
}

/* Binds <dir>/notify as a unix datagram socket, the way systemd's
 * NOTIFY_SOCKET is one; its path in path. */
static int op_notify_bind(char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    lb_path(path, "notify");
    if (strlen(path) >= sizeof addr.sun_path)
        return -1;
    strcpy(addr.sun_path, path);
    op_notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (op_notify_fd < 0 || bind(op_notify_fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        return -1;
    return 0;
}

/* The next notification within timeout_ms into buf (NUL-terminated); 0 if
 * none came. */
static int op_notify_next(char *buf, size_t cap, long timeout_ms)
{
    struct pollfd p = {.fd = op_notify_fd, .events = POLLIN};
    if (poll(&p, 1, (int)timeout_ms) != 1)
        return 0;
    ssize_t n = recv(op_notify_fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0;
}

/* Waits up to LB_TRACE_MS for a notification holding line; 1 if one came.
 * *watchdogs counts the WATCHDOG=1 seen meanwhile. */
static int op_notify_until(const char *line, int *watchdogs)
{
    char msg[OP_NOTIFY_MAX];
    for (long waited = 0; waited < LB_TRACE_MS; waited += LB_POLL_MS) {
        if (!op_notify_next(msg, sizeof msg, LB_POLL_MS))
            continue;
        *watchdogs += strstr(msg, "WATCHDOG=1") != NULL;
        if (strstr(msg, line))
            return 1;
    }
    fprintf(stderr, "\nno notification with \"%s\"\n", line);
    return 0;
}

/* The WATCHDOG=1 notifications in the next ms milliseconds; -1 if a
 * READY=1 came among them (it must come only once). */
static int op_watchdogs_within(long ms)
{
    char msg[OP_NOTIFY_MAX];
    int n = 0;
    for (long waited = 0; waited < ms; waited += LB_POLL_MS) {
        if (!op_notify_next(msg, sizeof msg, LB_POLL_MS))
            continue;
        if (strstr(msg, "READY=1"))
            return -1;
        n += strstr(msg, "WATCHDOG=1") != NULL;
    }
    return n;
}

/* Starts the runner with NOTIFY_SOCKET and WATCHDOG_USEC set for it only. */
static int op_runner_under_systemd(lb_proc_t *rn, int port, char *trace, const char *sock)
{
    char *extra[] = {"--connect-timeout", "1", NULL};
    setenv("NOTIFY_SOCKET", sock, 1);
    setenv("WATCHDOG_USEC", OP_WATCHDOG_USEC, 1);
    unsetenv("WATCHDOG_PID"); /* unset: the watchdog is meant for whoever reads it */
    int rc = lb_runner_start(rn, "runner", port, trace, extra);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    return rc;
}

static void systemd_gets_ready_status_and_watchdog_pings_only_while_healthy(void)
{
    lb_proc_t gw = {0}, rn = {0}, ctl = {0};
    char trace[LB_PATH_MAX], sock[LB_PATH_MAX], msg[OP_NOTIFY_MAX] = "";
    int port = lb_gateway_start(&gw, 0), ctl_port = lb_ctl_port(&gw), watchdogs = 0;
    CU_ASSERT_FATAL(port > 0 && ctl_port > 0);
    CU_ASSERT_FATAL(op_notify_bind(sock) == 0);
    CU_ASSERT_FATAL(op_runner_under_systemd(&rn, port, trace, sock) == 0);
    /* READY=1 comes with the label, once connected. */
    while (!strstr(msg, "READY=1") && op_notify_next(msg, sizeof msg, LB_TRACE_MS)) {
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(msg, "READY=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "STATUS=API Connected\n"));
    /* Healthy: the keep-alive (every 150 ms) and each answered ping. */
    CU_ASSERT(op_watchdogs_within(1000) >= 5);
    /* A stale Gateway: the ping times out, the runner reconnects and stays
     * unhealthy, and the watchdog hears nothing. */
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "stale", NULL, NULL), 0);
    CU_ASSERT_FATAL(op_notify_until("STATUS=Reconnecting", &watchdogs));
    CU_ASSERT_EQUAL(op_watchdogs_within(1500), 0);
    /* The Gateway answers again: back to API Connected, the pings resume,
     * and READY=1 is not sent twice. */
    CU_ASSERT_EQUAL(lb_ctl(&ctl, ctl_port, "clear", NULL, NULL), 0);
    CU_ASSERT_FATAL(op_notify_until("STATUS=API Connected", &watchdogs));
    CU_ASSERT(op_watchdogs_within(1000) >= 3);
    CU_ASSERT_EQUAL(kill(rn.pid, SIGINT), 0);
    CU_ASSERT(op_notify_until("STOPPING=1", &watchdogs));
    CU_ASSERT_EQUAL(lb_reap(&rn, LB_EXIT_MS), 0);
    lb_stop_gateway(&gw);
}

static CU_TestInfo operator_tests[] = {
    {"http_status_says_api_connected_and_follows_a_kill_through_its_timeline",
     http_status_says_api_connected_and_follows_a_kill_through_its_timeline},
    {"http_metrics_and_page_show_the_live_runner", http_metrics_and_page_show_the_live_runner},
    {"runner_refuses_an_http_address_that_is_not_ipv4_with_exit_code_2",
     runner_refuses_an_http_address_that_is_not_ipv4_with_exit_code_2},
    {"runner_exits_1_naming_the_address_when_its_http_port_is_taken",
     runner_exits_1_naming_the_address_when_its_http_port_is_taken},
    {"systemd_gets_ready_status_and_watchdog_pings_only_while_healthy",
     systemd_gets_ready_status_and_watchdog_pings_only_while_healthy},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo loopback_tests[] = {
    {"runner_pings_the_gateway_and_exits_zero_after_a_fin_close_on_sigint",
     runner_pings_the_gateway_and_exits_zero_after_a_fin_close_on_sigint},
    {"gateway_releases_the_client_id_so_the_next_runner_with_it_gets_ready",
     gateway_releases_the_client_id_so_the_next_runner_with_it_gets_ready},
    {"runner_keeps_retrying_a_refused_port_and_still_exits_zero_on_sigint",
     runner_keeps_retrying_a_refused_port_and_still_exits_zero_on_sigint},
    {"runner_refuses_a_non_numeric_port_with_exit_code_2",
     runner_refuses_a_non_numeric_port_with_exit_code_2},
    {"mockgw_refuses_a_port_above_65535_with_exit_code_2",
     mockgw_refuses_a_port_above_65535_with_exit_code_2},
    {"mockgw_refuses_an_unknown_command_with_exit_code_2",
     mockgw_refuses_an_unknown_command_with_exit_code_2},
    {"plan_runner_keeps_one_connection_across_cycles_reconnects_and_exits_cleanly",
     plan_runner_keeps_one_connection_across_cycles_reconnects_and_exits_cleanly},
    {"runner_refuses_trade_on_a_live_port_without_allow_live",
     runner_refuses_trade_on_a_live_port_without_allow_live},
    {"mockgw_ctl_kill_makes_a_connected_runner_reconnect",
     mockgw_ctl_kill_makes_a_connected_runner_reconnect},
    {"mockgw_ctl_stale_makes_the_runner_miss_a_ping",
     mockgw_ctl_stale_makes_the_runner_miss_a_ping},
    {"mockgw_ctl_status_answers_json_listing_the_session",
     mockgw_ctl_status_answers_json_listing_the_session},
    {"mockgw_ctl_exits_1_with_the_reason_when_the_gateway_refuses",
     mockgw_ctl_exits_1_with_the_reason_when_the_gateway_refuses},
    {"mockgw_ctl_exits_2_when_no_gateway_listens", mockgw_ctl_exits_2_when_no_gateway_listens},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"loopback", NULL, NULL, lb_setup, lb_teardown, loopback_tests},
    {"operator", NULL, NULL, op_setup, op_teardown, operator_tests},
    CU_SUITE_INFO_NULL,
};
