/* test_io_posix.c - the real io backend over loopback TCP (port 0), real
 * clocks and real signals, plus the shared io_base parts: random, log,
 * trace, the wall time format. Every networking test runs under a watchdog
 * timer that stops the loop and fails the test instead of hanging. */
#include "testlib.h"

#include "../io/io_base.h"
#include "../io/io_posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WATCHDOG_US (10 * IO_US_PER_S)

/* ---- fixture: one loop, a watchdog, and a client/server pair ------------- */

typedef struct fixture fixture_t;

typedef struct peer {
    fixture_t *fx;
    io_stream_t *stream;
    int connected;
    int connect_failed;
    int eof;
    int reset;
    int status;
    int events_after_end; /* events seen after EOF/RESET/CONNECT_FAILED */
    uint8_t *rx;
    size_t rx_len;
    size_t rx_cap;
    /* Optional test-specific reaction, called after the event is recorded. */
    void (*hook)(struct peer *peer, const io_stream_event_t *ev);
} peer_t;

struct fixture {
    io_loop_t *loop;
    io_timer_t *watchdog;
    int watchdog_fired;
    io_listener_t *listener;
    peer_t client;
    peer_t server;
    /* The loop stops as soon as this says the test's goal is reached. */
    int (*done)(fixture_t *fx);
};

static void watchdog_cb(io_timer_t *timer, void *data)
{
    (void)timer;
    fixture_t *fx = data;
    fx->watchdog_fired = 1;
    io_loop_stop(fx->loop);
}

static io_loop_t *loop_new(uint64_t seed)
{
    char err[256] = "";
    io_loop_t *loop = io_posix_loop_new(seed, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    return loop;
}

static void fx_init(fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->loop = loop_new(1);
    fx->client.fx = fx;
    fx->server.fx = fx;
    fx->watchdog = io_timer_new(fx->loop, watchdog_cb, fx);
    io_timer_start(fx->watchdog, WATCHDOG_US);
}

static void fx_check_done(fixture_t *fx)
{
    if (fx->done && fx->done(fx))
        io_loop_stop(fx->loop);
}

/* Runs until fx->done() holds (or the watchdog fires: a failure). */
static void fx_run(fixture_t *fx, int (*done)(fixture_t *fx))
{
    fx->done = done;
    if (!done(fx))
        io_loop_run(fx->loop);
    CU_ASSERT_FALSE(fx->watchdog_fired);
    CU_ASSERT_TRUE(done(fx));
}

static void fx_free(fixture_t *fx)
{
    free(fx->client.rx);
    free(fx->server.rx);
    io_loop_free(fx->loop);
}

static void peer_cb(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    peer_t *p = data;
    CU_ASSERT_PTR_EQUAL(stream, p->stream);
    if (p->eof || p->reset || p->connect_failed)
        p->events_after_end++;
    switch (ev->kind) {
    case IO_EV_CONNECTED: p->connected++; break;
    case IO_EV_CONNECT_FAILED: p->connect_failed++; p->status = ev->status; break;
    case IO_EV_EOF: p->eof++; break;
    case IO_EV_RESET: p->reset++; p->status = ev->status; break;
    case IO_EV_DATA:
        if (p->rx_len + ev->len > p->rx_cap) {
            p->rx_cap = (p->rx_len + ev->len) * 2;
            p->rx = realloc(p->rx, p->rx_cap);
            CU_ASSERT_PTR_NOT_NULL_FATAL(p->rx);
        }
        memcpy(p->rx + p->rx_len, ev->data, ev->len);
        p->rx_len += ev->len;
        break;
    }
    if (p->hook)
        p->hook(p, ev);
    fx_check_done(p->fx);
}

static void accept_cb(io_listener_t *listener, io_stream_t *stream, void *data)
{
    fixture_t *fx = data;
    CU_ASSERT_PTR_EQUAL(listener, fx->listener);
    CU_ASSERT_PTR_NULL(fx->server.stream);
    fx->server.stream = stream;
    io_stream_set_cb(stream, peer_cb, &fx->server);
    fx_check_done(fx);
}

static int pair_ready(fixture_t *fx)
{
    return fx->client.connected && fx->server.stream;
}

static uint16_t fx_listen(fixture_t *fx)
{
    char err[256] = "";
    int rc = io_listen(fx->loop, "127.0.0.1", 0, accept_cb, fx, &fx->listener, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    uint16_t port = io_listener_port(fx->listener);
    CU_ASSERT_NOT_EQUAL(port, 0);
    return port;
}

static void fx_connect(fixture_t *fx, uint16_t port)
{
    char err[256] = "";
    int rc = io_connect(fx->loop, "127.0.0.1", port, peer_cb, &fx->client, &fx->client.stream, err,
                        sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->client.stream);
}

/* A connected client/server pair over loopback; the listener is closed. */
static void fx_pair(fixture_t *fx)
{
    fx_init(fx);
    fx_connect(fx, fx_listen(fx));
    fx_run(fx, pair_ready);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->server.stream);
    io_listener_close(fx->listener);
    fx->listener = NULL;
    fx->done = NULL;
}

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 9));
}

static uint8_t *pattern_new(size_t len)
{
    uint8_t *buf = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern_byte(i);
    return buf;
}

static int pattern_matches(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern_byte(i))
            return 0;
    return 1;
}

/* ---- timers and the loop ------------------------------------------------- */

typedef struct order_log {
    int fired[16];
    size_t n;
} order_log_t;

typedef struct tagged_timer {
    order_log_t *log;
    int tag;
} tagged_timer_t;

static void tagged_cb(io_timer_t *timer, void *data)
{
    (void)timer;
    tagged_timer_t *t = data;
    t->log->fired[t->log->n++] = t->tag;
}

static void timers_fire_in_deadline_order_and_equal_deadlines_in_start_order(void)
{
    io_loop_t *loop = loop_new(1);
    order_log_t log = {{0}, 0};
    /* tags name the expected firing position */
    static const struct { int tag; io_us_t delay_us; } plan[] = {
        {5, 30000}, {1, 10000}, {3, 20000}, {2, 10000}, {0, 0}, {4, 20000},
    };
    tagged_timer_t tags[6];
    io_timer_t *timers[6];
    for (size_t i = 0; i < 6; i++) {
        tags[i] = (tagged_timer_t){&log, plan[i].tag};
        timers[i] = io_timer_new(loop, tagged_cb, &tags[i]);
        io_timer_start(timers[i], plan[i].delay_us);
    }
    CU_ASSERT_EQUAL(io_loop_run(loop), 0);
    CU_ASSERT_EQUAL(log.n, 6);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(log.fired[i], i);
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_FALSE(io_timer_active(timers[i]));
        io_timer_free(timers[i]);
    }
    io_loop_free(loop);
}

typedef struct heap_probe {
    int fired[64];
    size_t n;
} heap_probe_t;

typedef struct heap_item {
    heap_probe_t *probe;
    int index;
} heap_item_t;

static void heap_item_cb(io_timer_t *timer, void *data)
{
    (void)timer;
    heap_item_t *item = data;
    item->probe->fired[item->probe->n++] = item->index;
}

/* Many timers on few distinct deadlines, a third of them stopped again:
 * the rest fire sorted by deadline, then by start order. */
static void many_timers_fire_sorted_by_deadline_then_start_order(void)
{
    io_loop_t *loop = loop_new(9);
    heap_probe_t probe;
    memset(&probe, 0, sizeof probe);
    heap_item_t items[64];
    io_timer_t *timers[64];
    io_us_t delay_us[64];
    for (int i = 0; i < 64; i++) {
        items[i] = (heap_item_t){&probe, i};
        timers[i] = io_timer_new(loop, heap_item_cb, &items[i]);
        delay_us[i] = io_random_range(loop, 0, 3) * 1000;
        io_timer_start(timers[i], delay_us[i]);
    }
    for (int i = 0; i < 64; i += 3)
        io_timer_stop(timers[i]);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(probe.n, 64 - 22);
    for (size_t k = 0; k < probe.n; k++) {
        int i = probe.fired[k];
        CU_ASSERT_NOT_EQUAL(i % 3, 0);
        if (k > 0) {
            int prev = probe.fired[k - 1];
            CU_ASSERT_TRUE(delay_us[prev] < delay_us[i]
                           || (delay_us[prev] == delay_us[i] && prev < i));
        }
    }
    for (int i = 0; i < 64; i++)
        io_timer_free(timers[i]);
    io_loop_free(loop);
}

static void a_stopped_timer_does_not_fire_and_a_restarted_one_fires_once_at_its_new_time(void)
{
    io_loop_t *loop = loop_new(1);
    order_log_t log = {{0}, 0};
    tagged_timer_t ta = {&log, 1}, tb = {&log, 2};
    io_timer_t *a = io_timer_new(loop, tagged_cb, &ta);
    io_timer_t *b = io_timer_new(loop, tagged_cb, &tb);
    io_timer_start(a, 1000);
    io_timer_start(b, 50000);
    CU_ASSERT_TRUE(io_timer_active(a));
    io_timer_stop(a);
    CU_ASSERT_FALSE(io_timer_active(a));
    io_timer_start(b, 5000); /* restart: replaces the 50 ms deadline */
    io_us_t start_us = io_now_us(loop);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_EQUAL(log.fired[0], 2);
    io_us_t took_us = io_now_us(loop) - start_us;
    CU_ASSERT_TRUE(took_us >= 5000 && took_us < 45000);
    io_timer_free(a);
    io_timer_free(b);
    io_loop_free(loop);
}

typedef struct rearm_state {
    io_loop_t *loop;
    int fired;
    io_us_t first_us;
    io_us_t last_us;
    io_timer_t *victim;
} rearm_state_t;

static void rearm_cb(io_timer_t *timer, void *data)
{
    rearm_state_t *st = data;
    if (st->fired++ == 0)
        st->first_us = io_now_us(st->loop);
    st->last_us = io_now_us(st->loop);
    if (st->fired < 3)
        io_timer_start(timer, 2000);
}

static void a_timer_rearmed_from_its_callback_fires_again_later(void)
{
    io_loop_t *loop = loop_new(1);
    rearm_state_t st = {loop, 0, 0, 0, NULL};
    io_timer_t *t = io_timer_new(loop, rearm_cb, &st);
    io_timer_start(t, 0);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(st.fired, 3);
    CU_ASSERT_TRUE(st.last_us - st.first_us >= 4000);
    io_timer_free(t);
    io_loop_free(loop);
}

static void zero_rearm_cb(io_timer_t *timer, void *data)
{
    rearm_state_t *st = data;
    st->fired++;
    io_timer_start(timer, 0);
}

static void stop_cb(io_timer_t *timer, void *data)
{
    (void)timer;
    io_loop_stop(data);
}

static void a_timer_rearmed_with_zero_delay_does_not_starve_other_timers(void)
{
    io_loop_t *loop = loop_new(1);
    rearm_state_t st = {loop, 0, 0, 0, NULL};
    io_timer_t *spinner = io_timer_new(loop, zero_rearm_cb, &st);
    io_timer_t *stopper = io_timer_new(loop, stop_cb, loop);
    io_timer_start(spinner, 0);
    io_timer_start(stopper, 3000);
    io_loop_run(loop);
    CU_ASSERT_TRUE(st.fired > 1);
    CU_ASSERT_FALSE(io_timer_active(stopper));
    io_timer_free(spinner);
    io_timer_free(stopper);
    io_loop_free(loop);
}

static void free_self_and_victim_cb(io_timer_t *timer, void *data)
{
    rearm_state_t *st = data;
    st->fired++;
    io_timer_free(st->victim);
    io_timer_free(timer);
}

static void a_timer_may_free_itself_and_another_timer_from_its_callback(void)
{
    io_loop_t *loop = loop_new(1);
    rearm_state_t st = {loop, 0, 0, 0, NULL};
    order_log_t log = {{0}, 0};
    tagged_timer_t tv = {&log, 7};
    io_timer_t *t = io_timer_new(loop, free_self_and_victim_cb, &st);
    st.victim = io_timer_new(loop, tagged_cb, &tv);
    io_timer_start(t, 1000);
    io_timer_start(st.victim, 1000); /* same deadline, started later */
    io_loop_run(loop);
    CU_ASSERT_EQUAL(st.fired, 1);
    CU_ASSERT_EQUAL(log.n, 0);
    io_stats_t stats;
    io_loop_stats(loop, &stats);
    CU_ASSERT_EQUAL(stats.timers, 0);
    io_loop_free(loop);
}

static void io_loop_stop_returns_after_the_callback_and_run_resumes(void)
{
    io_loop_t *loop = loop_new(1);
    order_log_t log = {{0}, 0};
    tagged_timer_t tl = {&log, 9};
    io_timer_t *stopper = io_timer_new(loop, stop_cb, loop);
    io_timer_t *later = io_timer_new(loop, tagged_cb, &tl);
    io_timer_start(stopper, 1000);
    io_timer_start(later, 20000);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(log.n, 0);
    CU_ASSERT_TRUE(io_timer_active(later));
    io_loop_run(loop);
    CU_ASSERT_EQUAL(log.n, 1);
    io_timer_free(stopper);
    io_timer_free(later);
    io_loop_free(loop);
}

static void clock_probe_cb(io_timer_t *timer, void *data)
{
    (void)timer;
    io_us_t *seen = data;
    io_loop_t *loop = (io_loop_t *)(intptr_t)seen[0];
    seen[1] = io_now_us(loop);
    seen[2] = io_now_us(loop);
}

static void clocks_are_cached_within_a_callback_and_advance_between_passes(void)
{
    io_loop_t *loop = loop_new(1);
    io_us_t wall_us = io_wall_us(loop);
    io_us_t real_us = (io_us_t)time(NULL) * IO_US_PER_S;
    CU_ASSERT_TRUE(wall_us > real_us - 5 * IO_US_PER_S && wall_us < real_us + 5 * IO_US_PER_S);
    io_us_t seen[3] = {(io_us_t)(intptr_t)loop, 0, 0};
    io_timer_t *t = io_timer_new(loop, clock_probe_cb, seen);
    io_us_t start_us = io_now_us(loop);
    io_timer_start(t, 20000);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(seen[1], seen[2]);
    CU_ASSERT_TRUE(seen[1] - start_us >= 20000);
    CU_ASSERT_TRUE(io_wall_us(loop) - wall_us >= 20000);
    io_timer_free(t);
    io_loop_free(loop);
}

static void ignore_signal_cb(io_loop_t *loop, enum io_signal sig, void *data)
{
    (void)loop;
    (void)sig;
    (void)data;
}

static int client_saw_reset(fixture_t *fx)
{
    return fx->client.reset;
}

static void io_loop_run_returns_when_nothing_is_left(void)
{
    io_loop_t *loop = loop_new(1);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0); /* nothing at all */
    io_timer_t *t = io_timer_new(loop, stop_cb, loop);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0); /* an idle timer is not waited for */
    io_timer_free(t);
    CU_ASSERT_EQUAL(io_signal_watch(loop, ignore_signal_cb, NULL), 0);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0); /* a signal watch alone is not either */
    io_signal_watch(loop, NULL, NULL);
    io_loop_free(loop);

    /* a stream whose peer has gone, not yet closed by its owner, neither */
    fixture_t fx;
    fx_pair(&fx);
    io_stream_close(fx.server.stream, IO_CLOSE_RST);
    fx_run(&fx, client_saw_reset);
    io_timer_stop(fx.watchdog);
    fx.done = NULL;
    CU_ASSERT_EQUAL(io_loop_run(fx.loop), 0);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN);
    fx_free(&fx);
}

/* ---- streams ------------------------------------------------------------- */

static int client_failed(fixture_t *fx)
{
    return fx->client.connect_failed;
}

static void connect_to_a_closed_port_fails_from_the_loop_with_refused(void)
{
    /* A bound socket that does not listen: refuses connects, and holds the
     * port so nobody else can start listening on it meanwhile. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof sa;
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);

    fixture_t fx;
    fx_init(&fx);
    fx_connect(&fx, ntohs(sa.sin_port));
    CU_ASSERT_EQUAL(fx.client.connect_failed, 0); /* not from inside io_connect */
    fx_run(&fx, client_failed);
    CU_ASSERT_EQUAL(fx.client.connect_failed, 1);
    CU_ASSERT_EQUAL(fx.client.status, IO_ERR_REFUSED);
    CU_ASSERT_EQUAL(fx.client.connected, 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "x", 1), IO_ERR_CLOSED);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN);
    fx_free(&fx);
    close(fd);
}

static void a_connect_failing_at_once_is_still_reported_from_the_loop(void)
{
    fixture_t fx;
    fx_init(&fx);
    char err[256] = "";
    /* TCP to the broadcast address fails inside connect(2) itself. */
    int rc = io_connect(fx.loop, "255.255.255.255", 80, peer_cb, &fx.client, &fx.client.stream,
                        err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.client.stream);
    CU_ASSERT_EQUAL(fx.client.connect_failed, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "255.255.255.255:80"));
    fx_run(&fx, client_failed);
    CU_ASSERT_EQUAL(fx.client.connect_failed, 1);
    CU_ASSERT_TRUE(fx.client.status < 0);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    fx_free(&fx);
}

static void connect_with_no_host_text_fails_at_once_and_makes_no_stream(void)
{
    io_loop_t *loop = loop_new(1);
    io_stream_t *s = (io_stream_t *)loop; /* any non-NULL value: must be reset */
    char err[128] = "";
    CU_ASSERT_EQUAL(io_connect(loop, "", 1, peer_cb, NULL, &s, err, sizeof err), IO_ERR_ADDR);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_NOT_EQUAL(err[0], '\0');
    CU_ASSERT_EQUAL(io_connect(loop, NULL, 1, peer_cb, NULL, &s, NULL, 0), IO_ERR_ADDR);
    io_stats_t stats;
    io_loop_stats(loop, &stats);
    CU_ASSERT_EQUAL(stats.streams, 0);
    io_loop_free(loop);
}

static void listening_on_a_port_in_use_fails_with_inuse(void)
{
    fixture_t fx;
    fx_init(&fx);
    uint16_t port = fx_listen(&fx);
    io_listener_t *second = (io_listener_t *)fx.loop;
    char err[256] = "";
    int rc = io_listen(fx.loop, "127.0.0.1", port, accept_cb, &fx, &second, err, sizeof err);
    CU_ASSERT_EQUAL(rc, IO_ERR_INUSE);
    CU_ASSERT_PTR_NULL(second);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bind"));
    fx_free(&fx);
}

static int both_got_hello(fixture_t *fx)
{
    return fx->client.rx_len == 5 && fx->server.rx_len == 5;
}

static void listen_on_port_zero_and_data_flows_both_ways(void)
{
    fixture_t fx;
    fx_pair(&fx);
    CU_ASSERT_NOT_EQUAL(io_stream_id(fx.client.stream), io_stream_id(fx.server.stream));
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "hello", 5), 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.server.stream, "world", 5), 0);
    fx_run(&fx, both_got_hello);
    CU_ASSERT_EQUAL(memcmp(fx.server.rx, "hello", 5), 0);
    CU_ASSERT_EQUAL(memcmp(fx.client.rx, "world", 5), 0);
    CU_ASSERT_EQUAL(fx.client.connected, 1);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    io_stream_close(fx.server.stream, IO_CLOSE_RST);
    fx_free(&fx);
}

static int has_nodelay(const io_stream_t *s)
{
    int on = 0;
    socklen_t len = sizeof on;
    int fd = io_posix_stream_fd(s);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    return on != 0;
}

static void tcp_nodelay_is_set_on_connected_and_accepted_streams(void)
{
    fixture_t fx;
    fx_pair(&fx);
    CU_ASSERT_TRUE(has_nodelay(fx.client.stream));
    CU_ASSERT_TRUE(has_nodelay(fx.server.stream));
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    io_stream_close(fx.server.stream, IO_CLOSE_RST);
    fx_free(&fx);
}

#define BIG_LEN ((size_t)10 * 1024 * 1024)

/* A fixed, small send buffer: one send(2) then takes well under a megabyte
 * whatever the machine's autotuning limits, so a big write must queue. */
static void limit_sndbuf(const io_stream_t *s)
{
    int size = 256 * 1024;
    CU_ASSERT_EQUAL(setsockopt(io_posix_stream_fd(s), SOL_SOCKET, SO_SNDBUF, &size, sizeof size),
                    0);
}

static int server_got_big(fixture_t *fx)
{
    return fx->server.rx_len >= BIG_LEN;
}

static void a_10mb_write_is_delivered_complete_and_in_order_without_blocking(void)
{
    fixture_t fx;
    fx_pair(&fx);
    uint8_t *big = pattern_new(BIG_LEN);
    limit_sndbuf(fx.client.stream);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, big, BIG_LEN), 0);
    /* The socket cannot take 10 MB at once: the rest waits in the queue. */
    CU_ASSERT_TRUE(io_stream_pending(fx.client.stream) > 0);
    fx_run(&fx, server_got_big);
    CU_ASSERT_EQUAL(fx.server.rx_len, BIG_LEN);
    CU_ASSERT_TRUE(pattern_matches(fx.server.rx, fx.server.rx_len));
    CU_ASSERT_EQUAL(io_stream_pending(fx.client.stream), 0);
    free(big);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    io_stream_close(fx.server.stream, IO_CLOSE_RST);
    fx_free(&fx);
}

static void writes_past_the_buffer_limit_fail_with_nobufs(void)
{
    fixture_t fx;
    fx_init(&fx);
    fx_connect(&fx, fx_listen(&fx));
    /* calloc of this size maps zero pages lazily: nothing is touched. */
    uint8_t *huge = calloc(1, IO_STREAM_BUFFER_MAX + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, huge, IO_STREAM_BUFFER_MAX + 1),
                    IO_ERR_NOBUFS);
    CU_ASSERT_EQUAL(io_stream_pending(fx.client.stream), 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, huge, 1000), 0); /* queued while connecting */
    CU_ASSERT_EQUAL(io_stream_pending(fx.client.stream), 1000);
    free(huge);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    fx_free(&fx);
}

#define FIN_LEN ((size_t)3 * 1024 * 1024)

static int server_saw_eof(fixture_t *fx)
{
    return fx->server.eof;
}

static void fin_close_delivers_pending_data_then_eof_to_the_peer(void)
{
    fixture_t fx;
    fx_pair(&fx);
    uint8_t *data = pattern_new(FIN_LEN);
    limit_sndbuf(fx.client.stream);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, data, FIN_LEN), 0);
    CU_ASSERT_TRUE(io_stream_pending(fx.client.stream) > 0);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN); /* the loop flushes the rest */
    fx.client.stream = NULL;
    io_stats_t stats;
    io_loop_stats(fx.loop, &stats);
    CU_ASSERT_EQUAL(stats.streams, 1);
    fx_run(&fx, server_saw_eof);
    CU_ASSERT_EQUAL(fx.server.rx_len, FIN_LEN);
    CU_ASSERT_TRUE(pattern_matches(fx.server.rx, fx.server.rx_len));
    CU_ASSERT_EQUAL(fx.server.eof, 1);
    CU_ASSERT_EQUAL(fx.server.reset, 0);
    CU_ASSERT_EQUAL(fx.server.events_after_end, 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.server.stream, "x", 1), IO_ERR_CLOSED);
    io_stream_close(fx.server.stream, IO_CLOSE_FIN);
    /* Both sides finish in the background and then nothing is left. */
    io_timer_stop(fx.watchdog);
    fx.done = NULL;
    io_loop_run(fx.loop);
    free(data);
    fx_free(&fx);
}

static int server_saw_reset(fixture_t *fx)
{
    return fx->server.reset;
}

static void rst_close_gives_the_peer_a_reset(void)
{
    fixture_t fx;
    fx_pair(&fx);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "unsent?", 7), 0);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    fx_run(&fx, server_saw_reset);
    CU_ASSERT_EQUAL(fx.server.reset, 1);
    CU_ASSERT_EQUAL(fx.server.status, IO_ERR_RESET);
    CU_ASSERT_EQUAL(fx.server.eof, 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.server.stream, "x", 1), IO_ERR_CLOSED);
    io_stream_close(fx.server.stream, IO_CLOSE_FIN);
    fx_free(&fx);
}

static void a_write_to_a_reset_connection_is_reported_once_from_the_loop(void)
{
    fixture_t fx;
    fx_pair(&fx);
    io_stream_close(fx.server.stream, IO_CLOSE_RST);
    /* Loopback delivers the RST at once: this send fails inside the call. */
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "late", 4), 0);
    CU_ASSERT_EQUAL(fx.client.reset, 0);
    fx_run(&fx, client_saw_reset);
    CU_ASSERT_EQUAL(fx.client.reset, 1);
    CU_ASSERT_EQUAL(fx.client.status, IO_ERR_RESET);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "x", 1), IO_ERR_CLOSED);
    /* nothing more arrives for it */
    io_timer_stop(fx.watchdog);
    fx.done = NULL;
    io_loop_run(fx.loop);
    CU_ASSERT_EQUAL(fx.client.events_after_end, 0);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN);
    fx_free(&fx);
}

static void close_self_on_data(peer_t *p, const io_stream_event_t *ev)
{
    if (ev->kind != IO_EV_DATA)
        return;
    io_stream_close(p->stream, IO_CLOSE_RST);
    p->stream = NULL;
}

static int server_closed_itself(fixture_t *fx)
{
    return fx->server.stream == NULL;
}

static void closing_a_stream_from_its_own_callback_is_safe(void)
{
    fixture_t fx;
    fx_pair(&fx);
    fx.server.hook = close_self_on_data;
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "bye", 3), 0);
    fx_run(&fx, server_closed_itself);
    CU_ASSERT_EQUAL(fx.server.rx_len, 3);
    fx.server.hook = NULL;
    /* the client then hears the reset, and the dead server stream is silent */
    fx_run(&fx, client_saw_reset);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    fx_free(&fx);
}

/* Whichever side hears first closes both: the other one's readiness from
 * the same poll pass must then be skipped, not dispatched to freed memory. */
static void close_both_on_data(peer_t *p, const io_stream_event_t *ev)
{
    if (ev->kind != IO_EV_DATA)
        return;
    fixture_t *fx = p->fx;
    io_stream_close(fx->client.stream, IO_CLOSE_RST);
    io_stream_close(fx->server.stream, IO_CLOSE_FIN);
    fx->client.stream = NULL;
    fx->server.stream = NULL;
    io_loop_stop(fx->loop);
}

static void a_callback_may_close_another_stream_with_events_in_the_same_pass(void)
{
    fixture_t fx;
    fx_pair(&fx);
    fx.client.hook = close_both_on_data;
    fx.server.hook = close_both_on_data;
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "a", 1), 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.server.stream, "b", 1), 0);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL); /* both bytes arrive before the loop polls */
    io_loop_run(fx.loop);
    CU_ASSERT_FALSE(fx.watchdog_fired);
    CU_ASSERT_EQUAL(fx.client.rx_len + fx.server.rx_len, 1);
    io_stats_t stats;
    io_loop_stats(fx.loop, &stats);
    CU_ASSERT_EQUAL(stats.streams, 0);
    fx_free(&fx);
}

/* A raw peer that accepts and then never reads nor closes. */
static int raw_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof sa;
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CU_ASSERT_EQUAL_FATAL(listen(fd, 4), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int client_connected(fixture_t *fx)
{
    return fx->client.connected;
}

static void writing_to_a_peer_that_closed_raises_no_sigpipe_and_reports_a_reset(void)
{
    uint16_t port;
    int lfd = raw_listener(&port);
    fixture_t fx;
    fx_init(&fx);
    fx_connect(&fx, port);
    fx_run(&fx, client_connected);
    int peer = accept(lfd, NULL, NULL);
    CU_ASSERT_FATAL(peer >= 0);
    close(peer);
    struct timespec pause = {0, 10 * 1000 * 1000};
    /* The first write draws an RST from the closed peer, the second then
     * fails with EPIPE: without MSG_NOSIGNAL, SIGPIPE would end the test. */
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "a", 1), 0);
    nanosleep(&pause, NULL);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "b", 1), 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, "c", 1), IO_ERR_CLOSED);
    CU_ASSERT_EQUAL(fx.client.reset, 0);
    fx_run(&fx, client_saw_reset);
    CU_ASSERT_EQUAL(fx.client.status, IO_ERR_RESET);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN);
    fx_free(&fx);
    close(lfd);
}

static void a_fin_close_to_a_peer_that_never_reads_gives_up_after_the_linger_time(void)
{
    uint16_t port;
    int lfd = raw_listener(&port);
    fixture_t fx;
    fx_init(&fx);
    fx_connect(&fx, port);
    fx_run(&fx, client_connected);
    int peer = accept(lfd, NULL, NULL);
    CU_ASSERT_FATAL(peer >= 0);
    uint8_t *data = pattern_new(BIG_LEN);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, data, BIG_LEN), 0);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN);
    io_timer_stop(fx.watchdog);
    fx.done = NULL;
    io_us_t start_us = io_now_us(fx.loop);
    io_loop_run(fx.loop); /* returns once the lingering stream is given up */
    io_us_t took_us = io_now_us(fx.loop) - start_us;
    CU_ASSERT_TRUE(took_us >= 5 * IO_US_PER_S - 20000);
    CU_ASSERT_TRUE(took_us < 8 * IO_US_PER_S);
    free(data);
    fx_free(&fx);
    close(peer);
    close(lfd);
}

/* ---- signals ------------------------------------------------------------- */

typedef struct sig_state {
    int count;
    enum io_signal last;
} sig_state_t;

static void record_signal_cb(io_loop_t *loop, enum io_signal sig, void *data)
{
    sig_state_t *st = data;
    st->count++;
    st->last = sig;
    io_loop_stop(loop);
}

static void check_signal_reaches_the_watcher(int signo, enum io_signal expect, int use_kill)
{
    fixture_t fx;
    fx_init(&fx);
    sig_state_t st = {0, IO_SIGINT};
    CU_ASSERT_EQUAL(io_signal_watch(fx.loop, record_signal_cb, &st), 0);
    CU_ASSERT_EQUAL(use_kill ? kill(getpid(), signo) : raise(signo), 0);
    CU_ASSERT_EQUAL(st.count, 0); /* not from the handler */
    io_loop_run(fx.loop);
    CU_ASSERT_FALSE(fx.watchdog_fired);
    CU_ASSERT_EQUAL(st.count, 1);
    CU_ASSERT_EQUAL(st.last, expect);
    fx_free(&fx); /* also removes the watch */
    struct sigaction sa;
    CU_ASSERT_EQUAL(sigaction(signo, NULL, &sa), 0);
    CU_ASSERT_TRUE(sa.sa_handler == SIG_DFL);
}

static void sigint_raised_reaches_the_watcher_through_the_loop(void)
{
    check_signal_reaches_the_watcher(SIGINT, IO_SIGINT, 0);
}

static void sigterm_sent_with_kill_reaches_the_watcher_through_the_loop(void)
{
    check_signal_reaches_the_watcher(SIGTERM, IO_SIGTERM, 1);
}

static void removing_the_watch_restores_the_default_handlers(void)
{
    io_loop_t *loop = loop_new(1);
    sig_state_t st = {0, IO_SIGINT};
    struct sigaction sa;
    CU_ASSERT_EQUAL(io_signal_watch(loop, record_signal_cb, &st), 0);
    CU_ASSERT_EQUAL(sigaction(SIGINT, NULL, &sa), 0);
    CU_ASSERT_TRUE(sa.sa_handler != SIG_DFL);
    CU_ASSERT_TRUE(sa.sa_flags & SA_RESTART);
    CU_ASSERT_EQUAL(io_signal_watch(loop, NULL, NULL), 0);
    CU_ASSERT_EQUAL(sigaction(SIGINT, NULL, &sa), 0);
    CU_ASSERT_TRUE(sa.sa_handler == SIG_DFL);
    CU_ASSERT_EQUAL(sigaction(SIGTERM, NULL, &sa), 0);
    CU_ASSERT_TRUE(sa.sa_handler == SIG_DFL);
    io_loop_free(loop);
}

/* ---- accounting ---------------------------------------------------------- */

static void stats_count_handles_and_return_to_zero_after_frees(void)
{
    fixture_t fx;
    fx_init(&fx);
    io_stats_t stats;
    io_loop_stats(fx.loop, &stats);
    CU_ASSERT_EQUAL(stats.timers, 1); /* the watchdog */
    CU_ASSERT_EQUAL(stats.streams, 0);
    CU_ASSERT_EQUAL(stats.listeners, 0);
    io_timer_t *idle = io_timer_new(fx.loop, stop_cb, fx.loop);
    fx_connect(&fx, fx_listen(&fx));
    fx_run(&fx, pair_ready);
    io_loop_stats(fx.loop, &stats);
    CU_ASSERT_EQUAL(stats.timers, 2);
    CU_ASSERT_EQUAL(stats.streams, 2);
    CU_ASSERT_EQUAL(stats.listeners, 1);
    io_timer_free(idle);
    io_listener_close(fx.listener);
    io_stream_close(fx.client.stream, IO_CLOSE_RST);
    io_stream_close(fx.server.stream, IO_CLOSE_FIN);
    io_timer_free(fx.watchdog);
    io_loop_stats(fx.loop, &stats);
    CU_ASSERT_EQUAL(stats.timers, 0);
    CU_ASSERT_EQUAL(stats.streams, 0);
    CU_ASSERT_EQUAL(stats.listeners, 0);
    fx_free(&fx);
}

static void io_loop_free_closes_and_frees_handles_still_open(void)
{
    fixture_t fx;
    fx_pair(&fx);
    fx_listen(&fx);
    io_timer_t *idle = io_timer_new(fx.loop, stop_cb, fx.loop);
    CU_ASSERT_PTR_NOT_NULL(idle);
    uint8_t *data = pattern_new(BIG_LEN);
    CU_ASSERT_EQUAL(io_stream_write(fx.client.stream, data, BIG_LEN), 0);
    io_stream_close(fx.client.stream, IO_CLOSE_FIN); /* still lingering */
    free(data);
    fx_free(&fx); /* valgrind and ASan check that nothing leaks */
}

/* ---- random -------------------------------------------------------------- */

static void random_follows_xoshiro256starstar_seeded_by_splitmix64(void)
{
    /* Reference values computed independently from the published algorithms. */
    io_loop_t *a = loop_new(0);
    CU_ASSERT_EQUAL(io_random_u64(a), UINT64_C(0x99ec5f36cb75f2b4));
    CU_ASSERT_EQUAL(io_random_u64(a), UINT64_C(0xbf6e1f784956452a));
    CU_ASSERT_EQUAL(io_random_u64(a), UINT64_C(0x1a5f849d4933e6e0));
    io_loop_t *b = loop_new(42);
    CU_ASSERT_EQUAL(io_random_u64(b), UINT64_C(0x15780b2e0c2ec716));
    io_loop_free(a);
    io_loop_free(b);
}

static void random_is_the_same_for_a_seed_and_differs_for_another(void)
{
    io_loop_t *a = loop_new(7), *b = loop_new(7), *c = loop_new(8);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = io_random_u64(a);
        CU_ASSERT_EQUAL(x, io_random_u64(b));
        differ += x != io_random_u64(c);
    }
    CU_ASSERT_TRUE(differ > 90);
    io_loop_free(a);
    io_loop_free(b);
    io_loop_free(c);
}

static void random_range_stays_in_bounds_and_reaches_both_ends(void)
{
    io_loop_t *loop = loop_new(3);
    int seen[9] = {0};
    for (int i = 0; i < 5000; i++) {
        int64_t v = io_random_range(loop, -3, 5);
        CU_ASSERT_FATAL(v >= -3 && v <= 5);
        seen[v + 3]++;
    }
    for (int i = 0; i < 9; i++)
        CU_ASSERT_TRUE(seen[i] > 400); /* about 555 each */
    CU_ASSERT_EQUAL(io_random_range(loop, 11, 11), 11);
    CU_ASSERT_EQUAL(io_random_range(loop, 11, 10), 11);
    int negative = 0, positive = 0;
    for (int i = 0; i < 64; i++) {
        int64_t v = io_random_range(loop, INT64_MIN, INT64_MAX);
        negative += v < 0;
        positive += v > 0;
    }
    CU_ASSERT_TRUE(negative > 0 && positive > 0);
    for (int i = 0; i < 64; i++) {
        int64_t v = io_random_range(loop, INT64_MAX - 1, INT64_MAX);
        CU_ASSERT_TRUE(v >= INT64_MAX - 1);
    }
    io_loop_free(loop);
}

static void random_unit_is_in_zero_one(void)
{
    io_loop_t *loop = loop_new(5);
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        double u = io_random_unit(loop);
        CU_ASSERT_FATAL(u >= 0.0 && u < 1.0);
        sum += u;
    }
    CU_ASSERT_TRUE(sum > 4800 && sum < 5200);
    io_loop_free(loop);
}

/* ---- log, trace, time format --------------------------------------------- */

static void format_wall_formats_a_known_instant(void)
{
    char buf[32];
    io_format_wall(INT64_C(1765376700) * IO_US_PER_S + 123456, buf);
    CU_ASSERT_STRING_EQUAL(buf, "2025-12-10T14:25:00.123456Z");
    io_format_wall(0, buf);
    CU_ASSERT_STRING_EQUAL(buf, "1970-01-01T00:00:00.000000Z");
    io_format_wall(-1, buf);
    CU_ASSERT_STRING_EQUAL(buf, "1969-12-31T23:59:59.999999Z");
}

static void trace_json_escapes_strings_and_keeps_field_order(void)
{
    char buf[512];
    io_trace_field_t fields[] = {
        IO_TS("zeta", "say \"hi\"\\now"), IO_TI("alpha", -42), IO_TS("ctl", "a\nb\x01"),
        IO_TI("big", INT64_MAX),
    };
    size_t n = io_trace_format_json(buf, sizeof buf, 0, "runner", "fault:kill", 4, fields);
    const char *want = "{\"t\":\"1970-01-01T00:00:00.000000Z\",\"src\":\"runner\","
                       "\"ev\":\"fault:kill\",\"zeta\":\"say \\\"hi\\\"\\\\now\",\"alpha\":-42,"
                       "\"ctl\":\"a\\u000ab\\u0001\",\"big\":9223372036854775807}";
    CU_ASSERT_STRING_EQUAL(buf, want);
    CU_ASSERT_EQUAL(n, strlen(want));
}

static void trace_json_never_overflows_and_returns_the_full_length(void)
{
    char full[256];
    io_trace_field_t f[] = {IO_TS("k", "a \"quoted\" value"), IO_TI("n", 12345)};
    size_t want = io_trace_format_json(full, sizeof full, 0, "s", "e", 2, f);
    CU_ASSERT_EQUAL(want, strlen(full));
    for (size_t cap = 0; cap <= want + 1; cap++) {
        char buf[300];
        memset(buf, '#', sizeof buf);
        size_t got = io_trace_format_json(buf, cap, 0, "s", "e", 2, f);
        CU_ASSERT_EQUAL(got, want);
        CU_ASSERT_EQUAL(buf[cap], '#'); /* nothing written at or past cap */
        if (cap > 0) {
            size_t kept = cap - 1 < want ? cap - 1 : want;
            CU_ASSERT_EQUAL(buf[kept], '\0');
            CU_ASSERT_EQUAL(memcmp(buf, full, kept), 0);
        }
    }
}

typedef struct log_capture {
    int calls;
    io_us_t wall_us;
    enum io_log_level level;
    char src[32];
    char text[2048];
} log_capture_t;

static void capture_log_sink(void *data, io_us_t wall_us, enum io_log_level level,
                             const char *src, const char *text)
{
    log_capture_t *c = data;
    c->calls++;
    c->wall_us = wall_us;
    c->level = level;
    snprintf(c->src, sizeof c->src, "%s", src);
    snprintf(c->text, sizeof c->text, "%s", text);
}

static void log_reaches_the_sink_at_or_above_its_level_with_the_wall_time(void)
{
    io_loop_t *loop = loop_new(1);
    log_capture_t c;
    memset(&c, 0, sizeof c);
    io_set_log_sink(loop, IO_LOG_WARN, capture_log_sink, &c);
    io_log(loop, IO_LOG_INFO, "runner", "dropped %d", 1);
    CU_ASSERT_EQUAL(c.calls, 0);
    io_log(loop, IO_LOG_ERROR, "runner", "lost %s after %d ms", "gateway", 30);
    CU_ASSERT_EQUAL(c.calls, 1);
    CU_ASSERT_EQUAL(c.level, IO_LOG_ERROR);
    CU_ASSERT_STRING_EQUAL(c.src, "runner");
    CU_ASSERT_STRING_EQUAL(c.text, "lost gateway after 30 ms");
    CU_ASSERT_EQUAL(c.wall_us, io_wall_us(loop));
    io_set_log_sink(loop, IO_LOG_DEBUG, NULL, NULL);
    io_log(loop, IO_LOG_ERROR, "runner", "nowhere");
    CU_ASSERT_EQUAL(c.calls, 1);
    io_loop_free(loop);
}

static void a_log_line_too_long_is_cut_and_marked(void)
{
    io_loop_t *loop = loop_new(1);
    log_capture_t c;
    memset(&c, 0, sizeof c);
    io_set_log_sink(loop, IO_LOG_DEBUG, capture_log_sink, &c);
    char longer[1500];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    io_log(loop, IO_LOG_DEBUG, "t", "%s", longer);
    size_t len = strlen(c.text);
    CU_ASSERT_EQUAL(len, 1023);
    CU_ASSERT_STRING_EQUAL(c.text + len - 3, "...");
    io_loop_free(loop);
}

static void the_stderr_sink_writes_time_level_source_and_text(void)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    CU_ASSERT_FATAL(saved >= 0 && tmp != NULL);
    dup2(fileno(tmp), STDERR_FILENO);
    io_base_stderr_sink(NULL, INT64_C(1765376700) * IO_US_PER_S, IO_LOG_WARN, "mockgw", "slow");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char line[128] = "";
    rewind(tmp);
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, tmp));
    CU_ASSERT_STRING_EQUAL(line, "2025-12-10T14:25:00.000000Z WARN mockgw: slow\n");
    fclose(tmp);
}

typedef struct trace_capture {
    int calls;
    io_us_t wall_us;
    char line[512];
} trace_capture_t;

static void capture_trace_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                               size_t nfields, const io_trace_field_t *fields)
{
    trace_capture_t *c = data;
    c->calls++;
    c->wall_us = wall_us;
    io_trace_format_json(c->line, sizeof c->line, wall_us, src, ev, nfields, fields);
}

static void trace_events_reach_the_sink_only_when_one_is_set(void)
{
    io_loop_t *loop = loop_new(1);
    trace_capture_t c;
    memset(&c, 0, sizeof c);
    IO_TRACE0(loop, "runner", "ignored"); /* no sink yet */
    io_set_trace_sink(loop, capture_trace_sink, &c);
    IO_TRACE(loop, "runner", "disconnect", IO_TS("by", "client"), IO_TI("code", 7));
    CU_ASSERT_EQUAL(c.calls, 1);
    CU_ASSERT_EQUAL(c.wall_us, io_wall_us(loop));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.line, "\"ev\":\"disconnect\",\"by\":\"client\",\"code\":7}"));
    io_set_trace_sink(loop, NULL, NULL);
    IO_TRACE0(loop, "runner", "ignored");
    CU_ASSERT_EQUAL(c.calls, 1);
    io_loop_free(loop);
}

static void every_error_code_has_its_own_name(void)
{
    static const int codes[] = {
        IO_OK, IO_ERR_REFUSED, IO_ERR_RESET, IO_ERR_CLOSED, IO_ERR_NOMEM, IO_ERR_ADDR,
        IO_ERR_INUSE, IO_ERR_TIMEDOUT, IO_ERR_NOBUFS, IO_ERR_INVAL, IO_ERR_SYS,
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            CU_ASSERT_STRING_NOT_EQUAL(io_strerror(codes[i]), io_strerror(codes[j]));
        CU_ASSERT_STRING_NOT_EQUAL(io_strerror(codes[i]), io_strerror(-99));
    }
    CU_ASSERT_STRING_EQUAL(io_strerror(IO_ERR_REFUSED), "connection refused");
}

static CU_TestInfo loop_tests[] = {
    {"timers_fire_in_deadline_order_and_equal_deadlines_in_start_order",
     timers_fire_in_deadline_order_and_equal_deadlines_in_start_order},
    {"many_timers_fire_sorted_by_deadline_then_start_order",
     many_timers_fire_sorted_by_deadline_then_start_order},
    {"a_stopped_timer_does_not_fire_and_a_restarted_one_fires_once_at_its_new_time",
     a_stopped_timer_does_not_fire_and_a_restarted_one_fires_once_at_its_new_time},
    {"a_timer_rearmed_from_its_callback_fires_again_later",
     a_timer_rearmed_from_its_callback_fires_again_later},
    {"a_timer_rearmed_with_zero_delay_does_not_starve_other_timers",
     a_timer_rearmed_with_zero_delay_does_not_starve_other_timers},
    {"a_timer_may_free_itself_and_another_timer_from_its_callback",
     a_timer_may_free_itself_and_another_timer_from_its_callback},
    {"io_loop_stop_returns_after_the_callback_and_run_resumes",
     io_loop_stop_returns_after_the_callback_and_run_resumes},
    {"clocks_are_cached_within_a_callback_and_advance_between_passes",
     clocks_are_cached_within_a_callback_and_advance_between_passes},
    {"io_loop_run_returns_when_nothing_is_left", io_loop_run_returns_when_nothing_is_left},
    {"stats_count_handles_and_return_to_zero_after_frees",
     stats_count_handles_and_return_to_zero_after_frees},
    {"io_loop_free_closes_and_frees_handles_still_open",
     io_loop_free_closes_and_frees_handles_still_open},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo stream_tests[] = {
    {"connect_to_a_closed_port_fails_from_the_loop_with_refused",
     connect_to_a_closed_port_fails_from_the_loop_with_refused},
    {"a_connect_failing_at_once_is_still_reported_from_the_loop",
     a_connect_failing_at_once_is_still_reported_from_the_loop},
    {"connect_with_no_host_text_fails_at_once_and_makes_no_stream",
     connect_with_no_host_text_fails_at_once_and_makes_no_stream},
    {"listening_on_a_port_in_use_fails_with_inuse", listening_on_a_port_in_use_fails_with_inuse},
    {"listen_on_port_zero_and_data_flows_both_ways", listen_on_port_zero_and_data_flows_both_ways},
    {"tcp_nodelay_is_set_on_connected_and_accepted_streams",
     tcp_nodelay_is_set_on_connected_and_accepted_streams},
    {"a_10mb_write_is_delivered_complete_and_in_order_without_blocking",
     a_10mb_write_is_delivered_complete_and_in_order_without_blocking},
    {"writes_past_the_buffer_limit_fail_with_nobufs",
     writes_past_the_buffer_limit_fail_with_nobufs},
    {"fin_close_delivers_pending_data_then_eof_to_the_peer",
     fin_close_delivers_pending_data_then_eof_to_the_peer},
    {"rst_close_gives_the_peer_a_reset", rst_close_gives_the_peer_a_reset},
    {"a_write_to_a_reset_connection_is_reported_once_from_the_loop",
     a_write_to_a_reset_connection_is_reported_once_from_the_loop},
    {"closing_a_stream_from_its_own_callback_is_safe",
     closing_a_stream_from_its_own_callback_is_safe},
    {"a_callback_may_close_another_stream_with_events_in_the_same_pass",
     a_callback_may_close_another_stream_with_events_in_the_same_pass},
    {"writing_to_a_peer_that_closed_raises_no_sigpipe_and_reports_a_reset",
     writing_to_a_peer_that_closed_raises_no_sigpipe_and_reports_a_reset},
    {"a_fin_close_to_a_peer_that_never_reads_gives_up_after_the_linger_time",
     a_fin_close_to_a_peer_that_never_reads_gives_up_after_the_linger_time},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo signal_tests[] = {
    {"sigint_raised_reaches_the_watcher_through_the_loop",
     sigint_raised_reaches_the_watcher_through_the_loop},
    {"sigterm_sent_with_kill_reaches_the_watcher_through_the_loop",
     sigterm_sent_with_kill_reaches_the_watcher_through_the_loop},
    {"removing_the_watch_restores_the_default_handlers",
     removing_the_watch_restores_the_default_handlers},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo base_tests[] = {
    {"random_follows_xoshiro256starstar_seeded_by_splitmix64",
     random_follows_xoshiro256starstar_seeded_by_splitmix64},
    {"random_is_the_same_for_a_seed_and_differs_for_another",
     random_is_the_same_for_a_seed_and_differs_for_another},
    {"random_range_stays_in_bounds_and_reaches_both_ends",
     random_range_stays_in_bounds_and_reaches_both_ends},
    {"random_unit_is_in_zero_one", random_unit_is_in_zero_one},
    {"format_wall_formats_a_known_instant", format_wall_formats_a_known_instant},
    {"trace_json_escapes_strings_and_keeps_field_order",
     trace_json_escapes_strings_and_keeps_field_order},
    {"trace_json_never_overflows_and_returns_the_full_length",
     trace_json_never_overflows_and_returns_the_full_length},
    {"log_reaches_the_sink_at_or_above_its_level_with_the_wall_time",
     log_reaches_the_sink_at_or_above_its_level_with_the_wall_time},
    {"a_log_line_too_long_is_cut_and_marked", a_log_line_too_long_is_cut_and_marked},
    {"the_stderr_sink_writes_time_level_source_and_text",
     the_stderr_sink_writes_time_level_source_and_text},
    {"trace_events_reach_the_sink_only_when_one_is_set",
     trace_events_reach_the_sink_only_when_one_is_set},
    {"every_error_code_has_its_own_name", every_error_code_has_its_own_name},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"io_posix_loop", NULL, NULL, NULL, NULL, loop_tests},
    {"io_posix_streams", NULL, NULL, NULL, NULL, stream_tests},
    {"io_posix_signals", NULL, NULL, NULL, NULL, signal_tests},
    {"io_base", NULL, NULL, NULL, NULL, base_tests},
    CU_SUITE_INFO_NULL,
};
