/* main.c - the `runner` binary: reads the flags and the environment (the
 * only runner code allowed to, with its glue main_http.c and
 * main_notify.c), builds the real io loop, runs the runner core until it
 * exits and exits with its code. Flags override the IBKR_* environment;
 * --trade against a live-account port needs --allow-live. The status the
 * core publishes goes to the --http endpoint and to systemd. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../io/io_base.h"
#include "../io/io_posix.h"
#include "../proto/duration.h"
#include "main_http.h"
#include "main_notify.h"
#include "runner.h"

#define MAIN_EXIT_USAGE 2
#define MAIN_SYMBOLS_MAX 64

typedef struct main_opts {
    rn_config_t cfg;
    uint64_t seed;
    int have_seed;
    const char *trace_path;
    int help;
    int allow_live;
    char *symbols_text;               /* a copy, cut in place at the commas */
    const char *symbols[MAIN_SYMBOLS_MAX];
    char http_host[64];               /* "" = no --http */
    uint16_t http_port;
} main_opts_t;

typedef struct main_state {
    io_loop_t *loop;
    FILE *trace;
    int exit_code;
    int exited;
    mh_t *http;   /* NULL without --http */
    mn_t *notify;
} main_state_t;

static void main_usage(FILE *out)
{
    fputs("usage: runner [--host H] [--port P] [--client-id N] [--symbols A,B,...]\n"
          "              [--interval DUR] [--per-cycle] [--trade [--allow-live]]\n"
          "              [--status-file FILE] [--journal FILE] [--always-open]\n"
          "              [--ping-interval SECS] [--ping-timeout SECS]\n"
          "              [--connect-timeout SECS] [--cycle-timeout DUR]\n"
          "              [--request-timeout DUR] [--closed-ping-interval DUR]\n"
          "              [--seed N] [--trace FILE] [--http ADDR:PORT]\n"
          "\n"
          "Runs a trading cycle every interval during NYSE hours over one TWS API\n"
          "connection to IB Gateway that it keeps alive between cycles: health checks\n"
          "with reqCurrentTime before each cycle and while idle, reconnects with backoff,\n"
          "stays connected through the close, and disconnects cleanly on SIGINT or\n"
          "SIGTERM (exit 0; a second signal aborts with 130).\n"
          "\n"
          "  --host H               gateway address (default 127.0.0.1)\n"
          "  --port P               gateway API port (default 4002)\n"
          "  --client-id N          TWS API client id (default 1)\n"
          "  --symbols A,B          symbols the cycle trades (default none: no cycle,\n"
          "                         only the connection and its health checks)\n"
          "  --interval DUR         time between cycles, e.g. 30m, 90s (default 30m)\n"
          "  --per-cycle            connect for each cycle and hang up after it\n"
          "  --trade                send orders (default: only log what would be sent)\n"
          "  --allow-live           allow --trade on the live ports 4001 and 7496\n"
          "  --status-file FILE     keep the dashboard status in FILE (JSON, atomic)\n"
          "  --journal FILE         append-only order journal (default: memory only)\n"
          "  --always-open          ignore the market calendar (tests)\n"
          "  --ping-interval SECS   health check period (default 5)\n"
          "  --ping-timeout SECS    health check answer deadline (default 4)\n"
          "  --connect-timeout SECS deadline of each handshake step (default 10)\n"
          "  --cycle-timeout DUR    deadline of one cycle (default 5m)\n"
          "  --request-timeout DUR  deadline of each request in a cycle (default 30s)\n"
          "  --closed-ping-interval DUR  health check period while the market is closed\n"
          "                         (default 5m)\n"
          "  --seed N               random seed for reconnect jitter (default: the clock)\n"
          "  --trace FILE           write trace events to FILE as JSON lines\n"
          "  --http ADDR:PORT       serve the status page (/), /status (JSON) and\n"
          "                         /metrics (Prometheus) on ADDR:PORT, e.g.\n"
          "                         127.0.0.1:8080 (default: off; 0 picks a free port)\n"
          "  --help                 show this text\n"
          "\n"
          "Environment (flags win): IBKR_HOST, IBKR_PORT, IBKR_CLIENT_ID;\n"
          "IBKR_PERSISTENT_CONNECTION=false connects per cycle (as --per-cycle);\n"
          "IBKR_FORCE_DISCONNECT=1 closes with RST instead of FIN, so no zombie session\n"
          "keeps the client id.\n"
          "Under systemd (NOTIFY_SOCKET set) it notifies READY=1 once connected,\n"
          "STATUS=<label> on every change, and WATCHDOG=1 while healthy.\n",
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

static int main_parse_duration(const char *flag, const char *s, io_us_t *out)
{
    char why[128];
    if (dur_parse(s, out, why, sizeof why) < 0 || *out <= 0)
        return main_bad(flag, s, "a positive duration such as 30m, 90s or 1h30m");
    return 0;
}

/* "AAPL,MSFT" → the symbols, each non-empty and without spaces. */
static int main_parse_symbols(main_opts_t *o, const char *flag, const char *v)
{
    free(o->symbols_text);
    o->symbols_text = strdup(v);
    if (!o->symbols_text)
        return main_bad(flag, v, "storable (out of memory)");
    size_t n = 0;
    for (char *tok = o->symbols_text, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        int ok = tok[0] != '\0' && n < MAIN_SYMBOLS_MAX;
        for (const char *c = tok; ok && *c; c++)
            ok = isgraph((unsigned char)*c);
        if (!ok)
            return main_bad(flag, v, "a comma-separated list of up to 64 symbols");
        o->symbols[n++] = tok;
    }
    o->cfg.symbols = o->symbols;
    o->cfg.nsymbols = n;
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
    } else if (strcmp(flag, "--symbols") == 0) {
        return main_parse_symbols(o, flag, v);
    } else if (strcmp(flag, "--interval") == 0) {
        return main_parse_duration(flag, v, &o->cfg.interval_us);
    } else if (strcmp(flag, "--cycle-timeout") == 0) {
        return main_parse_duration(flag, v, &o->cfg.cycle_timeout_us);
    } else if (strcmp(flag, "--request-timeout") == 0) {
        return main_parse_duration(flag, v, &o->cfg.request_timeout_us);
    } else if (strcmp(flag, "--closed-ping-interval") == 0) {
        return main_parse_duration(flag, v, &o->cfg.closed_ping_interval_us);
    } else if (strcmp(flag, "--status-file") == 0) {
        o->cfg.status_file = v;
    } else if (strcmp(flag, "--journal") == 0) {
        o->cfg.journal_file = v;
    } else if (strcmp(flag, "--http") == 0) {
        char why[160];
        if (mh_parse_addr(v, o->http_host, sizeof o->http_host, &o->http_port, why,
                          sizeof why) < 0) {
            fprintf(stderr, "runner: %s: %s\ntry 'runner --help'\n", flag, why);
            return -1;
        }
    } else {
        fprintf(stderr, "runner: unknown argument '%s'\ntry 'runner --help'\n", flag);
        return -1;
    }
    return 0;
}

/* The flags without a value; 1 if flag is one. */
static int main_parse_switch(main_opts_t *o, const char *flag)
{
    if (strcmp(flag, "--trade") == 0)
        o->cfg.trade = 1;
    else if (strcmp(flag, "--allow-live") == 0)
        o->allow_live = 1;
    else if (strcmp(flag, "--always-open") == 0)
        o->cfg.always_open = 1;
    else if (strcmp(flag, "--per-cycle") == 0)
        o->cfg.persistent = 0;
    else
        return 0;
    return 1;
}

static int main_parse_args(int argc, char **argv, main_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            o->help = 1;
            return 0;
        }
        if (main_parse_switch(o, argv[i]))
            continue;
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

/* The core's status, published: to the HTTP endpoint and to systemd. */
static void main_on_status(void *data, const st_snapshot_t *snap, int label_changed)
{
    main_state_t *st = data;
    if (st->http)
        mh_publish(st->http, snap);
    mn_publish(st->notify, snap, label_changed);
}

/* The operator surface, before the runner exists: its first snapshot is
 * published from rn_new. 0, or -1 after printing why. */
static int main_start_surface(const main_opts_t *o, main_state_t *st)
{
    char err[256] = "";
    st->notify = mn_new(st->loop);
    if (!st->notify) {
        fprintf(stderr, "runner: out of memory\n");
        return -1;
    }
    if (!o->http_host[0])
        return 0;
    uint16_t port;
    if (mh_start(o->http_host, o->http_port, &st->http, &port, err, sizeof err) < 0) {
        fprintf(stderr, "runner: --http: %s\n", err);
        return -1;
    }
    io_log(st->loop, IO_LOG_INFO, "runner", "http: listening on %s:%u", o->http_host,
           (unsigned)port);
    return 0;
}

static void main_stop_surface(main_state_t *st)
{
    mh_stop(st->http);
    mn_free(st->notify);
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
    if (main_start_surface(o, st) < 0) {
        main_stop_surface(st);
        io_loop_free(st->loop);
        return 1;
    }
    rn_config_t cfg = o->cfg;
    cfg.on_exit = main_on_exit;
    cfg.exit_data = st;
    cfg.on_status = main_on_status;
    cfg.status_data = st;
    rn_t *rn;
    int rc = rn_new(st->loop, &cfg, &rn, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "runner: %s\n", err);
        main_stop_surface(st);
        io_loop_free(st->loop);
        return 1;
    }
    rn_start(rn);
    io_loop_run(st->loop);
    rn_free(rn);
    main_stop_surface(st);
    io_loop_free(st->loop);
    return st->exited ? st->exit_code : 1;
}

/* "1/true/yes/on" and "0/false/no/off", any case; -1 for anything else. */
static int main_bool_text(const char *s)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int main_env_bool(const char *name, int *out)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        return 0;
    int b = main_bool_text(v);
    if (b < 0)
        return main_bad(name, v, "a boolean (1/0, true/false, yes/no, on/off)");
    *out = b;
    return 0;
}

/* The IBKR_* environment, read before the flags so that flags win. The
 * host, port and client id parse as their flags do. */
static int main_parse_env(main_opts_t *o)
{
    static const char *const vars[][2] = {
        {"IBKR_HOST", "--host"}, {"IBKR_PORT", "--port"}, {"IBKR_CLIENT_ID", "--client-id"}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i][0]);
        if (v && v[0] && main_parse_flag(o, vars[i][1], v) < 0) {
            fprintf(stderr, "runner: (from the environment variable %s)\n", vars[i][0]);
            return -1;
        }
    }
    if (main_env_bool("IBKR_PERSISTENT_CONNECTION", &o->cfg.persistent) < 0 ||
        main_env_bool("IBKR_FORCE_DISCONNECT", &o->cfg.force_disconnect) < 0)
        return -1;
    return 0;
}

/* Orders against a live account need a second, explicit yes. */
static int main_check_live(const main_opts_t *o)
{
    if (!o->cfg.trade || o->allow_live || (o->cfg.port != 4001 && o->cfg.port != 7496))
        return 0;
    fprintf(stderr,
            "runner: refusing --trade on port %u, a live-account port (4001 Gateway, 7496 TWS);\n"
            "        add --allow-live to trade real money, or use the paper ports 4002/7497\n",
            (unsigned)o->cfg.port);
    return -1;
}

int main(int argc, char **argv)
{
    main_opts_t o = {0};
    rn_config_defaults(&o.cfg);
    int bad = main_parse_env(&o) < 0 || main_parse_args(argc, argv, &o) < 0;
    if (!bad && o.help) {
        main_usage(stdout);
        free(o.symbols_text);
        return 0;
    }
    if (bad || main_check_live(&o) < 0) {
        free(o.symbols_text);
        return MAIN_EXIT_USAGE;
    }
    main_state_t st = {0};
    if (o.trace_path) {
        st.trace = fopen(o.trace_path, "w");
        if (!st.trace) {
            fprintf(stderr, "runner: --trace: cannot open '%s': %s\n", o.trace_path,
                    strerror(errno));
            free(o.symbols_text);
            return MAIN_EXIT_USAGE;
        }
    }
    int code = main_run(&o, &st);
    if (st.trace)
        fclose(st.trace);
    free(o.symbols_text);
    return code;
}
