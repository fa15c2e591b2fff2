/* main.c - the `mockgw` binary: parses the command line (the only place
 * that does), builds the gateway config, runs the gateway on the real io
 * backend until SIGINT or SIGTERM.
 *
 * Exit codes: 0 stopped by a signal, 1 runtime failure (cannot listen),
 * 2 bad usage. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../io/io_posix.h"
#include "../proto/proto.h"
#include "gateway.h"

#define EXIT_USAGE 2

static const char usage_top[] =
    "usage: mockgw serve [options]    run a mock IB Gateway on a TCP port\n"
    "       mockgw --help             this text\n"
    "       mockgw serve --help       the serve options\n";

static const char usage_serve[] =
    "usage: mockgw serve [--host H] [--port P] [--accounts A,B] [--server-version N]\n"
    "                    [--verbose] [--seed N]\n"
    "\n"
    "Listens on H:P and speaks the TWS API wire protocol to any client that connects.\n"
    "Prints \"mockgw: listening on H:P\" once listening (with --port 0, P is the port\n"
    "picked), then runs until SIGINT or SIGTERM.\n"
    "\n"
    "  --host H             address to listen on (default 127.0.0.1)\n"
    "  --port P             TCP port, 0..65535; 0 picks a free one (default 4002)\n"
    "  --accounts A,B       managed accounts, comma-separated, at most 8 (default DU1234567)\n"
    "  --server-version N   highest server version to negotiate, 100..178 (default 178)\n"
    "  --verbose            log every message in and out\n"
    "  --seed N             seed for the random source (default: from the clock)\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 stopped by SIGINT/SIGTERM, 1 runtime failure (e.g. the port is in\n"
    "use), 2 bad usage.\n";

/* What the command line sets; account names point into accounts_buf. */
typedef struct serve_opts {
    gw_config_t cfg;
    uint64_t seed;
    int seeded;
    char *accounts_buf;
} serve_opts_t;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mockgw: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'mockgw serve --help'.\n");
    return EXIT_USAGE;
}

/* The whole text as an unsigned number in [lo, hi]. */
static int parse_number(const char *text, unsigned long long lo, unsigned long long hi,
                        unsigned long long *out)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Splits "A,B" in place into cfg->accounts. */
static int parse_accounts(serve_opts_t *o, const char *text)
{
    free(o->accounts_buf);
    o->accounts_buf = strdup(text);
    if (!o->accounts_buf)
        return -1;
    o->cfg.naccounts = 0;
    char *p = o->accounts_buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (p[0] == '\0' || o->cfg.naccounts == GW_ACCOUNTS_MAX)
            return -1;
        o->cfg.accounts[o->cfg.naccounts++] = p;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int option_takes_value(const char *opt)
{
    static const char *const names[] = {"--host", "--port", "--accounts", "--server-version",
                                        "--seed"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(opt, names[i]) == 0)
            return 1;
    return 0;
}

/* One option that takes a value (option_takes_value); 0 or an exit code. */
static int parse_option(serve_opts_t *o, const char *opt, const char *val)
{
    unsigned long long n;
    if (strcmp(opt, "--host") == 0) {
        o->cfg.host = val;
    } else if (strcmp(opt, "--port") == 0) {
        if (parse_number(val, 0, 65535, &n) < 0)
            return usage_error("--port: \"%s\" is not a port number (0..65535)", val);
        o->cfg.port = (uint16_t)n;
    } else if (strcmp(opt, "--accounts") == 0) {
        if (parse_accounts(o, val) < 0)
            return usage_error("--accounts: \"%s\" is not 1 to 8 non-empty names "
                               "separated by commas", val);
    } else if (strcmp(opt, "--server-version") == 0) {
        if (parse_number(val, 100, PROTO_SERVER_VERSION_MAX, &n) < 0)
            return usage_error("--server-version: \"%s\" is not a version in 100..178", val);
        o->cfg.server_version_max = (int)n;
        if (o->cfg.server_version_min > (int)n)
            o->cfg.server_version_min = (int)n;
    } else { /* --seed */
        if (parse_number(val, 0, ULLONG_MAX, &n) < 0)
            return usage_error("--seed: \"%s\" is not a non-negative integer", val);
        o->seed = n;
        o->seeded = 1;
    }
    return 0;
}

/* argv after "serve". 0, or an exit code to return at once (-1: help shown). */
static int parse_serve(serve_opts_t *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(usage_serve, stdout);
            return -1;
        }
        if (strcmp(opt, "--verbose") == 0) {
            o->cfg.verbose = 1;
            continue;
        }
        if (opt[0] != '-')
            return usage_error("unexpected argument \"%s\"", opt);
        if (!option_takes_value(opt))
            return usage_error("unknown option \"%s\"", opt);
        /* "--host --port 1" would otherwise listen on a host named "--port". */
        if (i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0)
            return usage_error("option %s needs a value", opt);
        int rc = parse_option(o, opt, argv[++i]);
        if (rc)
            return rc;
    }
    return 0;
}

static void on_signal(io_loop_t *loop, enum io_signal sig, void *data)
{
    gw_t **gw = data;
    io_log(loop, IO_LOG_INFO, "mockgw", "signal %d: shutting down", (int)sig);
    gw_free(*gw);
    *gw = NULL;
    io_loop_stop(loop);
}

static int serve(serve_opts_t *o)
{
    char err[256] = "";
    if (!o->seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid();
    }
    io_loop_t *loop = io_posix_loop_new(o->seed, err, sizeof err);
    if (!loop) {
        fprintf(stderr, "mockgw: cannot start the event loop: %s\n", err);
        return 1;
    }
    gw_t *gw = NULL;
    int rc = gw_new(loop, &o->cfg, &gw, err, sizeof err);
    if (rc < 0) {
        /* err names the address and the reason when the backend knows it. */
        if (err[0])
            fprintf(stderr, "mockgw: cannot listen: %s\n", err);
        else
            fprintf(stderr, "mockgw: cannot listen on %s:%u: %s\n", o->cfg.host,
                    (unsigned)o->cfg.port, io_strerror(rc));
        io_loop_free(loop);
        return 1;
    }
    printf("mockgw: listening on %s:%u\n", o->cfg.host, (unsigned)gw_port(gw));
    fflush(stdout);
    io_signal_watch(loop, on_signal, &gw);
    io_loop_run(loop);
    io_signal_watch(loop, NULL, NULL);
    gw_free(gw); /* NULL after a signal; set if the loop ran dry */
    io_loop_free(loop);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_top, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_top, stdout);
        return 0;
    }
    if (strcmp(argv[1], "serve") != 0) {
        if (strncmp(argv[1], "-", 1) == 0)
            return usage_error("unknown option \"%s\"", argv[1]);
        return usage_error("unknown command \"%s\"", argv[1]);
    }
    serve_opts_t o = {0};
    gw_config_defaults(&o.cfg);
    int rc = parse_serve(&o, argc - 2, argv + 2);
    if (rc == 0)
        rc = serve(&o);
    else if (rc < 0)
        rc = 0;
    free(o.accounts_buf);
    return rc;
}
