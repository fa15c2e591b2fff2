/* main.c - the `mockgw` binary: parses the command line (the only place
 * that does), builds the gateway config, runs the gateway and its control
 * server on the real io backend until SIGINT or SIGTERM; `mockgw ctl`
 * sends one command to a running gateway's control server.
 *
 * Exit codes (serve): 0 stopped by a signal, 1 runtime failure (cannot
 * listen), 2 bad usage. (ctl): 0 applied, 1 refused by the gateway, 2 bad
 * usage or no gateway listening. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../io/io_base.h"
#include "../io/io_posix.h"
#include "../proto/duration.h"
#include "../proto/proto.h"
#include "config.h"
#include "ctl.h"
#include "gateway.h"
#include "inspect.h"
#include "pcap.h"
#include "proxy.h"
#include "replay.h"

#define EXIT_USAGE 2

static const char usage_top[] =
    "usage: mockgw serve [options]    run a mock IB Gateway on a TCP port\n"
    "       mockgw ctl COMMAND...     inject a fault into a running one, or ask its status\n"
    "       mockgw inspect FILE       decode the TWS conversations in a pcap/pcapng capture\n"
    "       mockgw proxy [options]    relay clients to a real Gateway, record a pcap\n"
    "       mockgw --help             this text\n"
    "       mockgw serve --help       the serve options\n"
    "       mockgw ctl --help         the control commands\n";

static const char usage_serve[] =
    "usage: mockgw serve [--host H] [--port P] [--accounts A,B] [--server-version N]\n"
    "                    [--verbose] [--seed N] [--ctl-port P]\n"
    "                    [--daily-restart HH:MM [--daily-restart-down DURATION]]\n"
    "                    [--config FILE] [--replay FILE [--replay-mode strict|lenient]\n"
    "                    [--replay-timing recorded|fast] [--replay-conn N]]\n"
    "\n"
    "Listens on H:P and speaks the TWS API wire protocol to any client that connects.\n"
    "Prints \"mockgw: listening on H:P\" once listening (with --port 0, P is the port\n"
    "picked) and \"mockgw: control on 127.0.0.1:P\" once its control server listens\n"
    "(see 'mockgw ctl --help'), then runs until SIGINT or SIGTERM.\n"
    "\n"
    "  --host H             address to listen on (default 127.0.0.1)\n"
    "  --port P             TCP port, 0..65535; 0 picks a free one (default 4002)\n"
    "  --accounts A,B       managed accounts, comma-separated, at most 8 (default DU1234567)\n"
    "  --server-version N   highest server version to negotiate, 100..178 (default 178)\n"
    "  --verbose            log every message in and out\n"
    "  --seed N             seed for the random source (default: from the clock)\n"
    "  --ctl-port P         control port on 127.0.0.1; 0 picks a free one (default: the\n"
    "                       port + 1000 if free, else as 0)\n"
    "  --daily-restart HH:MM  go down every day at that New York time, like IB Gateway's\n"
    "                       nightly restart (each one is traced as fault:down)\n"
    "  --daily-restart-down DURATION  how long it stays down (default 2m)\n"
    "  --config FILE        a JSON file holding the scenario format's `gateway` object\n"
    "                       (server_version, accounts, port, positions, prices,\n"
    "                       market_seed, daily_restart, replay); options after it override it\n"
    "  --replay FILE        answer from the first TWS conversation of a pcap/pcapng capture\n"
    "                       (its server version, its answers, ids remapped to the client's)\n"
    "  --replay-mode M      strict (default): requests must come as recorded, in order; a\n"
    "                       divergence is logged with expected and actual and closes the\n"
    "                       session; lenient: any order, the synthetic market answers the rest\n"
    "  --replay-timing T    recorded (default): answers at their recorded delays; fast: at once\n"
    "  --replay-conn N      replay the capture's conversation N instead of the first\n"
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
    long ctl_port; /* -1: the default */
} serve_opts_t;

/* The subcommand whose --help a usage error points to. */
static const char *usage_command = "serve";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mockgw: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'mockgw %s --help'.\n", usage_command);
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

/* "23:45" as minutes after midnight. */
static int parse_clock(const char *text, int *minutes)
{
    unsigned long long h, m;
    char hh[3] = {0}, mm[3] = {0};
    if (strlen(text) != 5 || text[2] != ':')
        return -1;
    memcpy(hh, text, 2);
    memcpy(mm, text + 3, 2);
    if (parse_number(hh, 0, 23, &h) < 0 || parse_number(mm, 0, 59, &m) < 0)
        return -1;
    *minutes = (int)(h * 60 + m);
    return 0;
}

static int option_takes_value(const char *opt)
{
    static const char *const names[] = {"--host",       "--port",          "--accounts",
                                        "--server-version", "--seed",      "--ctl-port",
                                        "--daily-restart",  "--daily-restart-down",
                                        "--config", "--replay", "--replay-mode",
                                        "--replay-timing", "--replay-conn"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(opt, names[i]) == 0)
            return 1;
    return 0;
}

/* The whole file in a malloc'd buffer; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            char *next = realloc(buf, cap ? cap * 2 : 4096);
            if (!next)
                break;
            buf = next;
            cap = cap ? cap * 2 : 4096;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) {
            int failed = ferror(f);
            fclose(f);
            if (!failed)
                return buf;
            free(buf);
            return NULL;
        }
    }
    fclose(f);
    free(buf);
    errno = ENOMEM;
    return NULL;
}

/* Line and column (both from 1) of byte offset in text. */
static void text_position(const char *text, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* --config FILE: the `gateway` object of the scenario format. 0 or 2. */
static int load_config(serve_opts_t *o, const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "mockgw: %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        int line, col;
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
        text_position(text, at, &line, &col);
        fprintf(stderr, "mockgw: %s:%d:%d: JSON syntax error\n", path, line, col);
        free(text);
        return EXIT_USAGE;
    }
    char err[256];
    int rc = gw_config_from_json(root, &o->cfg, "gateway", err, sizeof err);
    cJSON_Delete(root);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "mockgw: %s: %s\n", path, err);
        return EXIT_USAGE;
    }
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
    } else if (strcmp(opt, "--ctl-port") == 0) {
        if (parse_number(val, 0, 65535, &n) < 0)
            return usage_error("--ctl-port: \"%s\" is not a port number (0..65535)", val);
        o->ctl_port = (long)n;
    } else if (strcmp(opt, "--daily-restart") == 0) {
        if (parse_clock(val, &o->cfg.daily_restart_min) < 0)
            return usage_error("--daily-restart: \"%s\" is not a time of day HH:MM", val);
    } else if (strcmp(opt, "--daily-restart-down") == 0) {
        if (dur_parse(val, &o->cfg.daily_restart_down_us, NULL, 0) < 0 ||
            o->cfg.daily_restart_down_us <= 0)
            return usage_error("--daily-restart-down: \"%s\" is not a duration like 2m", val);
    } else if (strcmp(opt, "--config") == 0) {
        return load_config(o, val);
    } else if (strcmp(opt, "--replay") == 0) {
        o->cfg.replay.file = val;
    } else if (strcmp(opt, "--replay-mode") == 0) {
        if (strcmp(val, "strict") != 0 && strcmp(val, "lenient") != 0)
            return usage_error("--replay-mode: \"%s\" is not strict or lenient", val);
        o->cfg.replay.lenient = strcmp(val, "lenient") == 0;
    } else if (strcmp(opt, "--replay-timing") == 0) {
        if (strcmp(val, "recorded") != 0 && strcmp(val, "fast") != 0)
            return usage_error("--replay-timing: \"%s\" is not recorded or fast", val);
        o->cfg.replay.fast = strcmp(val, "fast") == 0;
    } else if (strcmp(opt, "--replay-conn") == 0) {
        if (parse_number(val, 1, UINT_MAX, &n) < 0)
            return usage_error("--replay-conn: \"%s\" is not a conversation number (1...)", val);
        o->cfg.replay.conn = (unsigned)n;
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

/* What serve runs; freed by the first signal. */
typedef struct served {
    gw_t *gw;
    gw_ctl_t *ctl;
} served_t;

static void served_free(served_t *sv)
{
    gw_ctl_free(sv->ctl);
    gw_free(sv->gw);
    sv->ctl = NULL;
    sv->gw = NULL;
}

static void on_signal(io_loop_t *loop, enum io_signal sig, void *data)
{
    io_log(loop, IO_LOG_INFO, "mockgw", "signal %d: shutting down", (int)sig);
    served_free(data);
    io_loop_stop(loop);
}

/* The control port: as given, else the API port + 1000 when that is a
 * port, else one picked by the system (also when that one is taken). */
static uint16_t ctl_port_for(const serve_opts_t *o, uint16_t api_port)
{
    if (o->ctl_port >= 0)
        return (uint16_t)o->ctl_port;
    return o->cfg.port != 0 && api_port <= 65535 - 1000 ? (uint16_t)(api_port + 1000) : 0;
}

/* A --replay file the gateway cannot use is bad usage, not a runtime failure. */
static int replay_unusable(int rc)
{
    return rc == GW_PCAP_ERR_OPEN || rc == GW_PCAP_ERR_TRUNCATED || rc == GW_PCAP_ERR_LINKTYPE ||
           rc == GW_REPLAY_ERR_CAPTURE || rc == GW_REPLAY_ERR_VERSION;
}

/* The real event loop, seeded from the clock unless a seed was given. NULL
 * (after saying why) when it cannot start. */
static io_loop_t *mockgw_loop_new(int seeded, uint64_t *seed)
{
    char err[256] = "";
    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid();
    }
    io_loop_t *loop = io_posix_loop_new(*seed, err, sizeof err);
    if (!loop)
        fprintf(stderr, "mockgw: cannot start the event loop: %s\n", err);
    return loop;
}

static int serve(serve_opts_t *o)
{
    char err[256] = "";
    io_loop_t *loop = mockgw_loop_new(o->seeded, &o->seed);
    if (!loop)
        return 1;
    served_t sv = {NULL, NULL};
    int rc = gw_new(loop, &o->cfg, &sv.gw, err, sizeof err);
    if (replay_unusable(rc)) {
        fprintf(stderr, "mockgw: --replay: %s\n", err);
        io_loop_free(loop);
        return EXIT_USAGE;
    }
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
    printf("mockgw: listening on %s:%u\n", o->cfg.host, (unsigned)gw_port(sv.gw));
    rc = gw_ctl_new(loop, sv.gw, "127.0.0.1", ctl_port_for(o, gw_port(sv.gw)), &sv.ctl, err,
                    sizeof err);
    /* The default port is only a convention: if it is taken, any will do
     * (the line below says which). A port given with --ctl-port is not. */
    if (rc == IO_ERR_INUSE && o->ctl_port < 0)
        rc = gw_ctl_new(loop, sv.gw, "127.0.0.1", 0, &sv.ctl, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "mockgw: cannot listen for control commands: %s\n", err);
        served_free(&sv);
        io_loop_free(loop);
        return 1;
    }
    printf("mockgw: control on 127.0.0.1:%u\n", (unsigned)gw_ctl_port(sv.ctl));
    fflush(stdout);
    io_signal_watch(loop, on_signal, &sv);
    io_loop_run(loop);
    io_signal_watch(loop, NULL, NULL);
    served_free(&sv); /* NULLs after a signal; set if the loop ran dry */
    io_loop_free(loop);
    return 0;
}

/* ---- mockgw ctl ------------------------------------------------------- */

static const char usage_ctl[] =
    "usage: mockgw ctl [--host H] [--ctl-port P] COMMAND [ARGS...]\n"
    "\n"
    "Sends one command to the control server of a running `mockgw serve` and prints\n"
    "its JSON answer. Faults are traced and logged by the gateway like any other.\n"
    "\n"
    "  kill [fin|rst]                      drop the sessions now\n"
    "  down DURATION [--how fin|rst]       kill, then refuse connects for DURATION\n"
    "  refuse DURATION                     refuse connects; open sessions stay\n"
    "  stale [DURATION] [--only k,k]       read but answer nothing (of those kinds:\n"
    "                                      current_time historical market_data positions\n"
    "                                      account orders executions contracts ids errors)\n"
    "  handshake_stall DURATION            accept connects but never answer the hello\n"
    "  latency VALUE DURATION              delay every answer by VALUE\n"
    "  slice MAX DURATION                  deliver answers MAX bytes at a time\n"
    "  garbage [BYTES]                     write a malformed frame\n"
    "  connectivity_lost DURATION [1101|1102]  error 1100, then the restored code\n"
    "  client_id_in_use [TIMES]            the next TIMES startApi get 326\n"
    "  error CODE [TEXT] [--req-id N]      send one errMsg\n"
    "  farm_outage DURATION                2103/2105, then 2104/2106\n"
    "  clear                               end every active fault\n"
    "  status                              sessions, active faults, counters\n"
    "Every fault takes --client-id N to act on that client id's sessions only\n"
    "(except down, refuse and handshake_stall). Durations: 250ms, 30s, 2m, 1h30m.\n"
    "\n"
    "  --host H             the gateway's control address (default 127.0.0.1)\n"
    "  --ctl-port P         its control port (default 5002: serve's default)\n"
    "\n"
    "Exit status: 0 done, 1 the gateway refused the command (the reason is in the\n"
    "answer), 2 bad usage or no gateway control server listening.\n";

#define CTL_DEFAULT_PORT "5002"
#define CTL_ANSWER_MS 5000

/* A TCP connection to host:port, or -1 with errno-style detail in why. */
static int ctl_dial(const char *host, const char *port, char *why, size_t cap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, cap, "%s", gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        snprintf(why, cap, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Reads up to the first newline (not kept) within CTL_ANSWER_MS. 0, or -1
 * if the connection ended or timed out first. */
static int ctl_read_line(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, CTL_ANSWER_MS);
        if (ready < 0 && errno == EINTR)
            continue;
        ssize_t n = ready > 0 ? read(fd, buf + len, cap - 1 - len) : -1;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        char *eol = strchr(buf, '\n');
        if (eol) {
            *eol = '\0';
            return 0;
        }
    }
    return -1;
}

static int ctl_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int ctl_main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = CTL_DEFAULT_PORT;
    unsigned long long n;
    int i = 0;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_ctl, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--host") != 0 && strcmp(argv[i], "--ctl-port") != 0)
            break; /* the command's own options come after its name */
        if (i + 1 == argc)
            return usage_error("option %s needs a value", argv[i]);
        if (strcmp(argv[i], "--ctl-port") == 0 && parse_number(argv[i + 1], 1, 65535, &n) < 0)
            return usage_error("--ctl-port: \"%s\" is not a port number (1..65535)",
                               argv[i + 1]);
        *(strcmp(argv[i], "--host") == 0 ? &host : &port) = argv[i + 1];
    }
    if (i == argc)
        return usage_error("%s", "no command given");
    if (strncmp(argv[i], "--", 2) == 0)
        return usage_error("unknown option \"%s\"", argv[i]);
    char line[GW_CTL_LINE_MAX + 1] = "", answer[GW_CTL_ANSWER_MAX], why[256];
    size_t len = 0;
    for (int w = i; w < argc; w++)
        len = gw_ctl_quote(argv[w], line, len, sizeof line);
    if (len + 1 >= sizeof line)
        return usage_error("%s", "the command is too long");
    line[len++] = '\n';
    int fd = ctl_dial(host, port, why, sizeof why);
    if (fd < 0) {
        fprintf(stderr, "mockgw: no gateway control server on %s:%s: %s\n", host, port, why);
        return EXIT_USAGE;
    }
    int rc = ctl_send_all(fd, line, len) == 0 ? ctl_read_line(fd, answer, sizeof answer) : -1;
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "mockgw: no answer from the control server on %s:%s\n", host, port);
        return EXIT_USAGE;
    }
    puts(answer);
    return strncmp(answer, "{\"ok\":true", 10) == 0 ? 0 : 1;
}

/* ---- mockgw proxy ----------------------------------------------------- */

static const char usage_proxy[] =
    "usage: mockgw proxy [--listen H:P] [--upstream H:P] [--record FILE.pcap]\n"
    "                    [--scrub-accounts] [--seed N] [--fault 'AT KIND ARGS']...\n"
    "                    [--chaos MEAN]\n"
    "\n"
    "Relays every client that connects to H:P to its own connection to the upstream\n"
    "Gateway, both ways, byte for byte but for the faults below, and records the\n"
    "client's side of each conversation into a pcap (synthetic TCP/IPv4 packets,\n"
    "link type RAW) that `mockgw inspect`, tcpdump, Wireshark and `mockgw serve\n"
    "--replay` read. Prints\n"
    "\"mockgw: proxy on H:P\" once listening, then runs until SIGINT or SIGTERM.\n"
    "\n"
    "  --listen H:P         address to listen on (default 127.0.0.1:4003)\n"
    "  --upstream H:P       the Gateway (default 127.0.0.1:4002)\n"
    "  --record FILE        the pcap to write (default: relay only)\n"
    "  --scrub-accounts     replace account ids by same-length placeholders in the\n"
    "                       recording (the live stream is untouched)\n"
    "  --seed N             seed of the random source: faults, garbage bytes, sequence\n"
    "                       numbers (default: from the clock; printed at start)\n"
    "  --fault 'AT K ARGS'  at AT after start (a duration), inject fault K into the live\n"
    "                       stream, with the words `mockgw ctl` takes (no --client-id):\n"
    "                       kill [fin|rst]           drop every relayed connection\n"
    "                       down DUR [--how fin|rst] kill, refuse connects for DUR\n"
    "                       refuse DUR               refuse connects; open relays stay\n"
    "                       stale [DUR] [--only kind,kind]  drop the upstream's frames\n"
    "                       handshake_stall DUR      new clients get the server hello late\n"
    "                       latency VALUE DUR        slice MAX DUR        garbage [BYTES]\n"
    "                       connectivity_lost DUR [1101|1102]   farm_outage DUR\n"
    "                       error CODE [TEXT] [--req-id N]      (errMsgs injected)\n"
    "                       client_id_in_use [TIMES] answer startApi 326 and close\n"
    "                       clear                    end every active fault\n"
    "                       Injected and dropped frames are whole frames; the\n"
    "                       recording shows what the client received. Repeatable\n"
    "  --chaos MEAN         random faults of those kinds, one per MEAN on average,\n"
    "                       drawn from the seed (the same seed repeats the run)\n"
    "  --verbose            debug logging\n"
    "\n"
    "Exit status: 0 stopped by SIGINT/SIGTERM, 1 runtime failure, 2 bad usage.\n";

#define PROXY_FAULTS_MAX 32

typedef struct proxy_fault {
    io_loop_t *loop;
    gw_proxy_t **px;
    io_us_t at_us;
    gw_fault_t f;
    io_timer_t *timer;
} proxy_fault_t;

typedef struct proxy_opts {
    gw_proxy_config_t cfg;
    char *listen_host, *upstream_host;
    uint64_t seed;
    int seeded, verbose;
    io_us_t chaos_us;
    proxy_fault_t faults[PROXY_FAULTS_MAX];
    size_t nfaults;
} proxy_opts_t;

/* "H:P" (the last ':' splits, so "::1:4003" works) into a malloc'd host. */
static int parse_host_port(const char *text, char **host, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    unsigned long long n;
    if (!colon || colon == text || parse_number(colon + 1, 0, 65535, &n) < 0)
        return -1;
    free(*host);
    *host = strndup(text, (size_t)(colon - text));
    *port = (uint16_t)n;
    return *host ? 0 : -1;
}

/* "AT KIND ARGS...": a duration, then the words `mockgw ctl` takes. */
static int parse_proxy_fault(proxy_opts_t *o, const char *text)
{
    char buf[256], *words[16], err[256];
    int n = 0;
    if (o->nfaults == PROXY_FAULTS_MAX || strlen(text) >= sizeof buf)
        return usage_error("--fault: too many faults or too long: \"%s\"", text);
    snprintf(buf, sizeof buf, "%s", text);
    for (char *w = strtok(buf, " "); w && n < 16; w = strtok(NULL, " "))
        words[n++] = w;
    proxy_fault_t *pf = &o->faults[o->nfaults];
    if (n < 2 || dur_parse(words[0], &pf->at_us, NULL, 0) < 0)
        return usage_error("--fault: \"%s\" is not 'AT KIND ARGS' (AT a duration)", text);
    if (gw_fault_parse_words(n - 1, words + 1, &pf->f, err, sizeof err) < 0) {
        fprintf(stderr, "mockgw: --fault \"%s\": %s\n", text, err);
        return EXIT_USAGE;
    }
    if (pf->f.client_id >= 0)
        return usage_error("--fault: \"%s\": a relay does not follow client ids", text);
    o->nfaults++;
    return 0;
}

static int parse_proxy(proxy_opts_t *o, int argc, char **argv)
{
    static const char *const valued[] = {"--listen", "--upstream", "--record", "--seed",
                                         "--fault", "--chaos"};
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        int takes = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            takes |= strcmp(opt, valued[k]) == 0;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(usage_proxy, stdout);
            return -1;
        } else if (strcmp(opt, "--scrub-accounts") == 0) {
            o->cfg.scrub_accounts = 1;
            continue;
        } else if (strcmp(opt, "--verbose") == 0) {
            o->verbose = 1;
            continue;
        } else if (!takes) {
            return usage_error("unknown option \"%s\"", opt);
        } else if (i + 1 == argc) {
            return usage_error("option %s needs a value", opt);
        }
        const char *val = argv[++i];
        unsigned long long n;
        int rc = 0;
        if (strcmp(opt, "--listen") == 0) {
            if (parse_host_port(val, &o->listen_host, &o->cfg.port) < 0)
                return usage_error("--listen: \"%s\" is not HOST:PORT", val);
        } else if (strcmp(opt, "--upstream") == 0) {
            if (parse_host_port(val, &o->upstream_host, &o->cfg.upstream_port) < 0)
                return usage_error("--upstream: \"%s\" is not HOST:PORT", val);
        } else if (strcmp(opt, "--record") == 0) {
            o->cfg.record = val;
        } else if (strcmp(opt, "--seed") == 0) {
            if (parse_number(val, 0, ULLONG_MAX, &n) < 0)
                return usage_error("--seed: \"%s\" is not a non-negative integer", val);
            o->seed = n;
            o->seeded = 1;
        } else if (strcmp(opt, "--fault") == 0) {
            rc = parse_proxy_fault(o, val);
        } else if (dur_parse(val, &o->chaos_us, NULL, 0) < 0 || o->chaos_us <= 0) {
            return usage_error("--chaos: \"%s\" is not a duration like 30s", val);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static void on_proxy_fault(io_timer_t *timer, void *data)
{
    proxy_fault_t *pf = data;
    char err[256];
    (void)timer;
    if (*pf->px && gw_proxy_fault(*pf->px, &pf->f, err, sizeof err) < 0)
        io_log(pf->loop, IO_LOG_ERROR, "mockgw", "fault: %s", err);
}

static void on_proxy_signal(io_loop_t *loop, enum io_signal sig, void *data)
{
    gw_proxy_t **px = data;
    io_log(loop, IO_LOG_INFO, "mockgw", "signal %d: shutting down", (int)sig);
    gw_proxy_free(*px);
    *px = NULL;
    io_loop_stop(loop);
}

static int proxy_run(proxy_opts_t *o)
{
    char err[256] = "";
    io_loop_t *loop = mockgw_loop_new(o->seeded, &o->seed);
    if (!loop)
        return 1;
    if (o->verbose)
        io_set_log_sink(loop, IO_LOG_DEBUG, io_base_stderr_sink, NULL);
    io_log(loop, IO_LOG_INFO, "mockgw", "seed=%llu (repeat this run's faults with --seed %llu)",
           (unsigned long long)o->seed, (unsigned long long)o->seed);
    gw_proxy_t *px = NULL;
    if (gw_proxy_new(loop, &o->cfg, &px, err, sizeof err) < 0) {
        fprintf(stderr, "mockgw: proxy: %s\n", err);
        io_loop_free(loop);
        return 1;
    }
    printf("mockgw: proxy on %s:%u\n", o->cfg.host, (unsigned)gw_proxy_port(px));
    fflush(stdout);
    for (size_t i = 0; i < o->nfaults; i++) {
        proxy_fault_t *pf = &o->faults[i];
        pf->px = &px;
        pf->loop = loop;
        pf->timer = io_timer_new(loop, on_proxy_fault, pf);
        if (pf->timer)
            io_timer_start(pf->timer, pf->at_us);
    }
    if (o->chaos_us > 0)
        gw_proxy_chaos(px, o->chaos_us);
    io_signal_watch(loop, on_proxy_signal, &px);
    io_loop_run(loop);
    io_signal_watch(loop, NULL, NULL);
    gw_proxy_free(px);
    for (size_t i = 0; i < o->nfaults; i++)
        if (o->faults[i].timer)
            io_timer_free(o->faults[i].timer);
    io_loop_free(loop);
    return 0;
}

static int proxy_main(int argc, char **argv)
{
    proxy_opts_t o;
    memset(&o, 0, sizeof o);
    gw_proxy_config_defaults(&o.cfg);
    int rc = parse_proxy(&o, argc, argv);
    if (o.listen_host)
        o.cfg.host = o.listen_host;
    if (o.upstream_host)
        o.cfg.upstream_host = o.upstream_host;
    if (rc == 0)
        rc = proxy_run(&o);
    else if (rc < 0)
        rc = 0;
    free(o.listen_host);
    free(o.upstream_host);
    return rc;
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
    if (strcmp(argv[1], "ctl") == 0) {
        usage_command = "ctl";
        return ctl_main(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "inspect") == 0)
        return gw_inspect_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "proxy") == 0) {
        usage_command = "proxy";
        return proxy_main(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "serve") != 0) {
        if (strncmp(argv[1], "-", 1) == 0)
            return usage_error("unknown option \"%s\"", argv[1]);
        return usage_error("unknown command \"%s\"", argv[1]);
    }
    serve_opts_t o = {0};
    o.ctl_port = -1;
    gw_config_defaults(&o.cfg);
    int rc = parse_serve(&o, argc - 2, argv + 2);
    if (rc == 0)
        rc = serve(&o);
    else if (rc < 0)
        rc = 0;
    free(o.accounts_buf);
    gw_config_release(&o.cfg);
    return rc;
}
