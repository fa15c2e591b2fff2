/* main.c - the `runner` binary: reads the flags and the environment (the
 * only runner code allowed to), builds the real io loop, runs the runner
 * core until it exits and exits with its code. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../io/io_base.h"
#include "../io/io_posix.h"
#include "runner.h"

#define MAIN_EXIT_USAGE 2

typedef struct main_opts {
    rn_config_t cfg;
    uint64_t seed;
    int have_seed;
    const char *trace_path;
    int help;
} main_opts_t;

typedef struct main_state {
    io_loop_t *loop;
    FILE *trace;
    int exit_code;
    int exited;
} main_state_t;

static void main_usage(FILE *out)
{
    fputs("usage: runner [--host H] [--port P] [--client-id N] [--ping-interval SECS]\n"
          "              [--ping-timeout SECS] [--connect-timeout SECS] [--seed N]\n"
          "              [--trace FILE]\n"
          "\n"
          "Keeps one TWS API connection to IB Gateway alive: connects, health-checks it\n"
          "with reqCurrentTime, reconnects with backoff, and closes cleanly on SIGINT or\n"
          "SIGTERM (exit 0; a second signal aborts with 130).\n"
          "\n"
          "  --host H               gateway address (default 127.0.0.1)\n"
          "  --port P               gateway API port (default 4002)\n"
          "  --client-id N          TWS API client id (default 1)\n"
          "  --ping-interval SECS   health check period (default 5)\n"
          "  --ping-timeout SECS    health check answer deadline (default 4)\n"
          "  --connect-timeout SECS deadline of each handshake step (default 10)\n"
          "  --seed N               random seed for reconnect jitter (default: the clock)\n"
          "  --trace FILE           write trace events to FILE as JSON lines\n"
          "  --help                 show this text\n"
          "\n"
          "Environment: IBKR_FORCE_DISCONNECT=1 closes with RST instead of FIN.\n",
          out);
}

static int main_bad(const char *flag, const char *value, const char *what)
{
    fprintf(stderr, "runner: %s: '%s' is not %s\n", flag, value, what);
    fputs("try 'runner --help'\n", stderr);
    return -1;
}

static int main_parse_int(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char what[64];
        snprintf(what, sizeof what, "an integer in %ld..%ld", lo, hi);
        return main_bad(flag, s, what);
    }
    *out = v;
    return 0;
}

static int main_parse_secs(const char *flag, const char *s, io_us_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* Up to a day: anything longer is a typo, not a health-check setting. */
    if (errno || end == s || *end || !isfinite(v) || v <= 0.0 || v > 86400.0)
        return main_bad(flag, s, "a number of seconds in (0, 86400]");
    *out = (io_us_t)llround(v * (double)IO_US_PER_S);
    if (*out <= 0)
        return main_bad(flag, s, "at least one microsecond");
    return 0;
}

static int main_parse_seed(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return main_bad(flag, s, "an unsigned integer");
    *out = (uint64_t)v;
    return 0;
}

/* One flag and its value; -1 after printing the error. */
static int main_parse_flag(main_opts_t *o, const char *flag, const char *v)
{
    long n;
    if (strcmp(flag, "--host") == 0) {
        if (!v[0])
            return main_bad(flag, v, "a host");
        o->cfg.host = v;
    } else if (strcmp(flag, "--port") == 0) {
        if (main_parse_int(flag, v, 1, 65535, &n) < 0)
            return -1;
        o->cfg.port = (uint16_t)n;
    } else if (strcmp(flag, "--client-id") == 0) {
        if (main_parse_int(flag, v, 0, 2147483647L, &n) < 0)
            return -1;
        o->cfg.client_id = (int)n;
    } else if (strcmp(flag, "--ping-interval") == 0) {
        return main_parse_secs(flag, v, &o->cfg.ping_interval_us);
    } else if (strcmp(flag, "--ping-timeout") == 0) {
        return main_parse_secs(flag, v, &o->cfg.ping_timeout_us);
    } else if (strcmp(flag, "--connect-timeout") == 0) {
        return main_parse_secs(flag, v, &o->cfg.connect_timeout_us);
    } else if (strcmp(flag, "--seed") == 0) {
        o->have_seed = 1;
        return main_parse_seed(flag, v, &o->seed);
    } else if (strcmp(flag, "--trace") == 0) {
        o->trace_path = v;
    } else {
        fprintf(stderr, "runner: unknown argument '%s'\ntry 'runner --help'\n", flag);
        return -1;
    }
    return 0;
}

static int main_parse_args(int argc, char **argv, main_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            o->help = 1;
            return 0;
        }
        if (strncmp(argv[i], "--", 2) != 0) {
            fprintf(stderr, "runner: unexpected argument '%s'\ntry 'runner --help'\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "runner: %s needs a value\ntry 'runner --help'\n", argv[i]);
            return -1;
        }
        if (main_parse_flag(o, argv[i], argv[i + 1]) < 0)
            return -1;
        i++;
    }
    return 0;
}

static uint64_t main_clock_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One JSON object per line, flushed, so a crash loses nothing written. */
static void main_trace_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                            size_t nfields, const io_trace_field_t *fields)
{
    main_state_t *st = data;
    char buf[1024];
    char *line = buf;
    size_t n = io_trace_format_json(buf, sizeof buf, wall_us, src, ev, nfields, fields);
    if (n >= sizeof buf) {
        line = malloc(n + 1);
        if (!line)
            return;
        io_trace_format_json(line, n + 1, wall_us, src, ev, nfields, fields);
    }
    fputs(line, st->trace);
    fputc('\n', st->trace);
    fflush(st->trace);
    if (line != buf)
        free(line);
}

static void main_on_exit(void *data, int code)
{
    main_state_t *st = data;
    st->exit_code = code;
    st->exited = 1;
    io_loop_stop(st->loop);
}

static int main_run(const main_opts_t *o, main_state_t *st)
{
    char err[256] = "";
    uint64_t seed = o->have_seed ? o->seed : main_clock_seed();
    st->loop = io_posix_loop_new(seed, err, sizeof err);
    if (!st->loop) {
        fprintf(stderr, "runner: %s\n", err);
        return 1;
    }
    if (st->trace)
        io_set_trace_sink(st->loop, main_trace_sink, st);
    io_log(st->loop, IO_LOG_INFO, "runner", "seed=%llu (reproduce with --seed %llu)",
           (unsigned long long)seed, (unsigned long long)seed);
    rn_config_t cfg = o->cfg;
    cfg.on_exit = main_on_exit;
    cfg.exit_data = st;
    rn_t *rn;
    int rc = rn_new(st->loop, &cfg, &rn, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "runner: %s\n", err);
        io_loop_free(st->loop);
        return 1;
    }
    rn_start(rn);
    io_loop_run(st->loop);
    rn_free(rn);
    io_loop_free(st->loop);
    return st->exited ? st->exit_code : 1;
}

int main(int argc, char **argv)
{
    main_opts_t o = {0};
    rn_config_defaults(&o.cfg);
    if (main_parse_args(argc, argv, &o) < 0)
        return MAIN_EXIT_USAGE;
    if (o.help) {
        main_usage(stdout);
        return 0;
    }
    const char *force = getenv("IBKR_FORCE_DISCONNECT");
    o.cfg.force_disconnect = force && (strcmp(force, "1") == 0 || strcmp(force, "true") == 0);
    main_state_t st = {0};
    if (o.trace_path) {
        st.trace = fopen(o.trace_path, "w");
        if (!st.trace) {
            fprintf(stderr, "runner: --trace: cannot open '%s': %s\n", o.trace_path,
                    strerror(errno));
            return MAIN_EXIT_USAGE;
        }
    }
    int code = main_run(&o, &st);
    if (st.trace)
        fclose(st.trace);
    return code;
}
