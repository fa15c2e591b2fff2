/* bench_gateway.c - how fast the mock gateway serves real clients over
 * loopback, next to this machine's limit.
 *
 * Two servers, each in a child process of its own: the mock gateway
 * (gateway.c on io_posix, logging off) and a bare epoll echo server, the
 * limit. One epoll-driven client driver in the parent keeps N connections
 * (1, then 32) busy against each for BENCH_SECS:
 *
 *   handshakes   gateway: connect, hello → server hello, startApi →
 *                nextValidId (ready), close. echo: connect, the 17-byte
 *                hello and its echo (one round trip), close. The close is
 *                orderly: FIN, then the server's FIN, which says the server
 *                has let the session go before the next connect.
 *   round trips  one open connection per client, ready before the clock
 *                starts; gateway: reqCurrentTime → currentTime; echo: the
 *                same 9 bytes there and back.
 *
 * Clients end each connection abortively (SO_LINGER 0) against both
 * servers, once both FINs are through, so that thousands of connects a
 * second do not run out of ports in TIME_WAIT.
 * Every figure is the median of BENCH_RUNS runs, taken alternately against
 * the two servers; the table shows them side by side and their ratio,
 * against the target of 0.5. A run in which a connection failed (closed
 * before it was done) is reported and the bench exits 1, except a connect
 * the gateway turned away at once because it still counted a session cut
 * at the end of the run before (it serves at most GW_SESSIONS_MAX): those
 * are retried, and the table says how many there were. */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../io/io_posix.h"
#include "../mockgw/gateway.h"
#include "../proto/proto.h"

#define BENCH_RUNS 5
#define BENCH_SECS 0.5
#define BENCH_CLIENTS_MAX 32
#define BENCH_BUF 65536
#define BENCH_TARGET_RATIO 0.5
#define BENCH_PAUSE_NS 100000000L /* 100 ms between runs */

enum bench_server { BS_GATEWAY, BS_ECHO };
enum bench_mode { BM_HANDSHAKE, BM_ROUND_TRIP };

/* One client connection's state machine. */
enum bc_state {
    BC_CONNECTING,   /* waiting for the connect to complete */
    BC_AWAIT_HELLO,  /* gateway: the server hello; echo: the hello echoed */
    BC_AWAIT_READY,  /* gateway: nextValidId after startApi */
    BC_IDLE,         /* round trips: ready, the clock not started yet */
    BC_AWAIT_ANSWER, /* round trips: currentTime or the echo */
    BC_CLOSING       /* handshakes: FIN sent, waiting for the server's */
};

typedef struct bc_conn {
    int fd;
    enum bc_state state;
    int client_id;
    uint8_t in[BENCH_BUF];
    size_t len;
} bc_conn_t;

typedef struct bench_run {
    enum bench_server server;
    enum bench_mode mode;
    int port;
    int ep;
    int next_client_id;
    unsigned long long done, failed, turned_away;
    int counting;
    bc_conn_t *conns;
    int nconns;
} bench_run_t;

static uint8_t hello_bytes[64];
static size_t hello_len;
static const uint8_t req_time[] = {0, 0, 0, 5, '4', '9', 0, '1', 0};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_gateway: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- the servers --------------------------------------------------------- */

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        die("echo server listen");
    *port = ntohs(a.sin_port);
    return fd;
}

/* The limit: accept, echo whatever arrives, close on EOF or reset. */
static void echo_serve(int lfd)
{
    int ep = epoll_create1(0), one = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[64];
    static uint8_t buf[BENCH_BUF];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r > 0 && write(fd, buf, (size_t)r) == r)
                continue;
            if (r < 0 && errno == EAGAIN)
                continue;
            close(fd);
        }
    }
}

static void gateway_on_signal(io_loop_t *loop, enum io_signal sig, void *data)
{
    (void)sig;
    gw_free(*(gw_t **)data);
    *(gw_t **)data = NULL;
    io_loop_stop(loop);
}

/* The mock gateway as `mockgw serve` runs it, minus the log lines. Its
 * port goes to the parent through the pipe. */
static void gateway_serve(int pipe_fd)
{
    char err[256];
    io_loop_t *loop = io_posix_loop_new(1, err, sizeof err);
    gw_config_t cfg;
    gw_t *gw = NULL;
    gw_config_defaults(&cfg);
    cfg.port = 0;
    if (loop)
        io_set_log_sink(loop, IO_LOG_ERROR, NULL, NULL);
    if (!loop || gw_new(loop, &cfg, &gw, err, sizeof err) < 0) {
        fprintf(stderr, "bench_gateway: gateway: %s\n", err);
        exit(1);
    }
    int port = gw_port(gw);
    if (write(pipe_fd, &port, sizeof port) != sizeof port)
        exit(1);
    io_signal_watch(loop, gateway_on_signal, &gw);
    io_loop_run(loop);
    io_loop_free(loop);
    exit(0);
}

/* Starts the server in a child; its pid, and its port in *port. */
static pid_t server_start(enum bench_server server, int *port)
{
    int p[2], lfd = -1;
    if (server == BS_ECHO)
        lfd = listen_loopback(port);
    else if (pipe(p) < 0)
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (server == BS_ECHO)
            echo_serve(lfd);
        close(p[0]);
        gateway_serve(p[1]);
    }
    if (server == BS_ECHO) {
        close(lfd);
    } else {
        close(p[1]);
        if (read(p[0], port, sizeof *port) != sizeof *port)
            die("gateway start");
        close(p[0]);
    }
    return pid;
}

static void server_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* ---- the client driver --------------------------------------------------- */

static void bc_send(bench_run_t *r, bc_conn_t *c, const void *bytes, size_t len)
{
    if (write(c->fd, bytes, len) != (ssize_t)len) {
        fprintf(stderr, "bench_gateway: short write\n");
        r->failed++;
    }
}

static void bc_open(bench_run_t *r, bc_conn_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct linger abortive = {1, 0};
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        die("socket");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    c->len = 0;
    c->state = BC_CONNECTING;
    c->client_id = r->next_client_id++;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void bc_close(bc_conn_t *c)
{
    close(c->fd);
    c->fd = -1;
}

/* The handshake is done: an orderly close, whose end (the server's FIN,
 * so the server has let the session go) completes the cycle. */
static void bc_finish(bc_conn_t *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = BC_CLOSING;
}

/* The server closed its side too: count the cycle and start the next. The
 * close is abortive only now, so no TIME_WAIT is left behind. */
static void bc_cycle(bench_run_t *r, bc_conn_t *c)
{
    r->done += r->counting;
    bc_close(c);
    bc_open(r, c);
}

static void bc_connected(bench_run_t *r, bc_conn_t *c)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->state = BC_AWAIT_HELLO;
    bc_send(r, c, hello_bytes, hello_len);
}

/* startApi with this connection's own id: ids are never reused, so a
 * close the gateway has not seen yet cannot make a 326. */
static void bc_start_api(bench_run_t *r, bc_conn_t *c)
{
    proto_writer_t w;
    char id[16];
    snprintf(id, sizeof id, "%d", c->client_id);
    proto_writer_init(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, "71");
    proto_put_str(&w, "2");
    proto_put_str(&w, id);
    proto_put_str(&w, "");
    proto_frame_end(&w);
    bc_send(r, c, w.buf, w.len);
    proto_writer_free(&w);
}

/* One whole frame from the gateway; id is its first field. */
static void bc_on_frame(bench_run_t *r, bc_conn_t *c, const char *id)
{
    if (c->state == BC_AWAIT_HELLO) {
        c->state = BC_AWAIT_READY;
        bc_start_api(r, c);
    } else if (c->state == BC_AWAIT_READY && strcmp(id, "9") == 0) {
        if (r->mode == BM_HANDSHAKE)
            bc_finish(c);
        else
            c->state = BC_IDLE;
    } else if (c->state == BC_AWAIT_ANSWER && strcmp(id, "49") == 0) {
        r->done += r->counting;
        bc_send(r, c, req_time, sizeof req_time);
    }
}

static void bc_on_gateway_bytes(bench_run_t *r, bc_conn_t *c)
{
    size_t off = 0;
    while (c->len - off >= 4) {
        const uint8_t *p = c->in + off;
        size_t flen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (c->len - off < 4 + flen)
            break;
        off += 4 + flen;
        bc_on_frame(r, c, (const char *)p + 4);
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
}

static void bc_on_echo_bytes(bench_run_t *r, bc_conn_t *c)
{
    size_t want = c->state == BC_AWAIT_HELLO ? hello_len : sizeof req_time;
    if (c->len < want)
        return;
    c->len = 0;
    if (c->state == BC_AWAIT_ANSWER) {
        r->done += r->counting;
        bc_send(r, c, req_time, sizeof req_time);
    } else if (r->mode == BM_HANDSHAKE) {
        bc_finish(c);
    } else {
        c->state = BC_IDLE;
    }
}

static void bc_on_event(bench_run_t *r, bc_conn_t *c, uint32_t events)
{
    ssize_t n = -1;
    if (c->state == BC_CONNECTING) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr == 0 && (events & EPOLLOUT)) {
            bc_connected(r, c);
            return;
        }
    } else {
        n = read(c->fd, c->in + c->len, BENCH_BUF - c->len);
        if (n < 0 && errno == EAGAIN)
            return;
    }
    if (n == 0 && c->state == BC_CLOSING) {
        bc_cycle(r, c);
        return;
    }
    if (c->state == BC_CLOSING) {
        c->len = 0; /* what the server still sent before our FIN reached it */
        return;
    }
    if (n <= 0) {
        /* Closed at once: the gateway still counted a session this client
         * had just closed, so it was full (max_sessions). Anything else
         * closed before it was done is a failure. */
        if (n == 0 && c->state == BC_AWAIT_HELLO && c->len == 0)
            r->turned_away++;
        else
            r->failed++;
        bc_close(c);
        bc_open(r, c);
        return;
    }
    c->len += (size_t)n;
    if (r->server == BS_GATEWAY)
        bc_on_gateway_bytes(r, c);
    else
        bc_on_echo_bytes(r, c);
}

static void bc_poll(bench_run_t *r, int timeout_ms)
{
    struct epoll_event evs[BENCH_CLIENTS_MAX * 2];
    int n = epoll_wait(r->ep, evs, BENCH_CLIENTS_MAX * 2, timeout_ms);
    /* Each connection has one socket registered, so it appears at most
     * once per batch, even when handling it replaces that socket. */
    for (int i = 0; i < n; i++)
        bc_on_event(r, evs[i].data.ptr, evs[i].events);
}

static int all_idle(const bench_run_t *r)
{
    for (int i = 0; i < r->nconns; i++)
        if (r->conns[i].state != BC_IDLE)
            return 0;
    return 1;
}

/* One run: completions per second, or -1 if a connection failed; adds the
 * connects turned away to *turned_away. */
static double bench_measure(enum bench_server server, enum bench_mode mode, int port,
                            int nclients, unsigned long long *turned_away)
{
    static bc_conn_t conns[BENCH_CLIENTS_MAX];
    bench_run_t r = {server, mode, port, epoll_create1(0), 1, 0, 0, 0, 0, conns, nclients};
    for (int i = 0; i < nclients; i++)
        bc_open(&r, &conns[i]);
    if (mode == BM_ROUND_TRIP) {
        while (!all_idle(&r) && r.failed == 0)
            bc_poll(&r, 100);
        for (int i = 0; i < nclients; i++) {
            conns[i].state = BC_AWAIT_ANSWER;
            bc_send(&r, &conns[i], req_time, sizeof req_time);
        }
    }
    r.counting = 1;
    double start = now_s(), end = start + BENCH_SECS, now;
    while ((now = now_s()) < end)
        bc_poll(&r, 10);
    for (int i = 0; i < nclients; i++)
        bc_close(&conns[i]);
    close(r.ep);
    *turned_away += r.turned_away;
    if (r.failed) {
        fprintf(stderr, "bench_gateway: %llu connection(s) failed\n", r.failed);
        return -1;
    }
    return (double)r.done / (now - start);
}

/* ---- the table ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, BENCH_RUNS, sizeof v[0], cmp_double);
    return v[BENCH_RUNS / 2];
}

/* BENCH_RUNS runs against each server, alternating, so that a load that
 * comes and goes on the machine weighs on both sides alike. The medians go
 * to fig[server]; -1 if a connection failed. */
static void measure_row(enum bench_mode mode, int clients, const int port[2], double fig[2],
                        unsigned long long *turned_away)
{
    double v[2][BENCH_RUNS];
    /* Each run ends with connections cut mid-way; the pause lets the
     * server see them go before the next run's first connects. */
    struct timespec pause = {0, BENCH_PAUSE_NS};
    fig[0] = fig[1] = 0;
    for (int i = 0; i < BENCH_RUNS; i++) {
        for (int s = BS_GATEWAY; s <= BS_ECHO; s++) {
            nanosleep(&pause, NULL);
            v[s][i] = bench_measure((enum bench_server)s, mode, port[s], clients, turned_away);
            if (v[s][i] < 0)
                fig[s] = -1;
        }
    }
    for (int s = BS_GATEWAY; s <= BS_ECHO; s++)
        fig[s] = fig[s] < 0 ? -1 : median(v[s]);
}

int main(void)
{
    static const struct {
        const char *name;
        enum bench_mode mode;
        int clients;
    } rows[] = {{"full handshakes/s", BM_HANDSHAKE, 1},
                {"full handshakes/s", BM_HANDSHAKE, BENCH_CLIENTS_MAX},
                {"currentTime round trips/s", BM_ROUND_TRIP, 1},
                {"currentTime round trips/s", BM_ROUND_TRIP, BENCH_CLIENTS_MAX}};
    enum { NROWS = sizeof rows / sizeof rows[0] };
    double fig[NROWS][2];
    unsigned long long turned_away[NROWS] = {0};
    int port[2];
    pid_t pid[2];
    proto_writer_t w;
    proto_writer_init(&w);
    proto_client_hello_write(&w, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX, NULL);
    hello_len = w.len;
    memcpy(hello_bytes, w.buf, w.len);
    proto_writer_free(&w);
    signal(SIGPIPE, SIG_IGN);
    for (int s = BS_GATEWAY; s <= BS_ECHO; s++)
        pid[s] = server_start((enum bench_server)s, &port[s]);
    for (int i = 0; i < NROWS; i++)
        measure_row(rows[i].mode, rows[i].clients, port, fig[i], &turned_away[i]);
    for (int s = BS_GATEWAY; s <= BS_ECHO; s++)
        server_stop(pid[s]);
    printf("bench_gateway: loopback, %.1f s per run, median of %d runs\n", BENCH_SECS,
           BENCH_RUNS);
    printf("%-26s %7s %10s %10s %6s %12s\n", "", "clients", "mockgw", "epoll echo", "ratio",
           "turned away");
    int met = 1, bad = 0;
    for (int i = 0; i < NROWS; i++) {
        double ratio = fig[i][1] > 0 ? fig[i][0] / fig[i][1] : 0;
        bad |= fig[i][0] < 0 || fig[i][1] < 0;
        met &= ratio >= BENCH_TARGET_RATIO;
        printf("%-26s %7d %10.0f %10.0f %6.2f %12llu\n", rows[i].name, rows[i].clients,
               fig[i][0], fig[i][1], ratio, turned_away[i]);
    }
    if (bad) {
        printf("bench_gateway: FAILED (connections failed during a run)\n");
        return 1;
    }
    printf("target: mockgw >= %.2f x the echo baseline for every figure: %s\n",
           BENCH_TARGET_RATIO, met ? "met" : "NOT met");
    return 0;
}
