/* test_io_sim.c - the simulated io backend: event order on the virtual
 * clock, the in-memory network (latency, jitter, chunking, FIN, RST,
 * refused connects), closing from callbacks, signals, determinism per seed
 * and the handle accounting. */
#include "../io/io_base.h"
#include "../sim/io_sim.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#define LAT 200

static io_loop_t *new_loop(uint64_t seed, io_sim_net_t net)
{
    io_sim_config_t cfg = {seed, 1000 * IO_US_PER_S, net};
    io_loop_t *loop = io_sim_loop_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    return loop;
}

static void assert_nothing_left(io_loop_t *loop)
{
    io_stats_t st;
    io_loop_stats(loop, &st);
    CU_ASSERT_EQUAL(st.timers, 0);
    CU_ASSERT_EQUAL(st.streams, 0);
    CU_ASSERT_EQUAL(st.listeners, 0);
}

/* ---- timers ------------------------------------------------------------- */

struct fired {
    io_loop_t *loop;
    int order[16];
    io_us_t at[16];
    int n;
};

struct tagged_timer {
    struct fired *log;
    int tag;
};

static void record_timer(io_timer_t *timer, void *data)
{
    struct tagged_timer *tt = data;
    (void)timer;
    if (tt->log->n < 16) {
        tt->log->order[tt->log->n] = tt->tag;
        tt->log->at[tt->log->n] = io_now_us(tt->log->loop);
    }
    tt->log->n++;
}

static void timers_fire_by_deadline_then_by_start_order(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer tt[4];
    io_timer_t *t[4];
    const io_us_t delay[4] = {500, 100, 500, 100};
    for (int i = 0; i < 4; i++) {
        tt[i] = (struct tagged_timer){&log, i};
        t[i] = io_timer_new(loop, record_timer, &tt[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
        io_timer_start(t[i], delay[i]);
    }
    CU_ASSERT_EQUAL(io_loop_run(loop), 0);
    CU_ASSERT_EQUAL(log.n, 4);
    const int want[4] = {1, 3, 0, 2};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(log.order[i], want[i]);
    CU_ASSERT_EQUAL(log.at[0], 100);
    CU_ASSERT_EQUAL(log.at[3], 500);
    for (int i = 0; i < 4; i++)
        io_timer_free(t[i]);
    assert_nothing_left(loop);
    io_loop_free(loop);
}

static void stopped_timer_never_fires_and_restart_moves_it(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer a = {&log, 0}, b = {&log, 1};
    io_timer_t *ta = io_timer_new(loop, record_timer, &a);
    io_timer_t *tb = io_timer_new(loop, record_timer, &b);
    io_timer_start(ta, 100);
    CU_ASSERT_TRUE(io_timer_active(ta));
    io_timer_stop(ta);
    CU_ASSERT_FALSE(io_timer_active(ta));
    io_timer_start(tb, 100);
    io_timer_start(tb, 700);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_EQUAL(log.order[0], 1);
    CU_ASSERT_EQUAL(log.at[0], 700);
    CU_ASSERT_FALSE(io_timer_active(tb));
    io_timer_free(ta);
    io_timer_free(tb);
    io_loop_free(loop);
}

/* Restarting a queued timer moves it where it stands in the queue; it then
 * counts as started last, so it goes after timers already due then. */
static void restarted_timers_fire_in_deadline_then_restart_order(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer tt[6];
    io_timer_t *t[6];
    const io_us_t delay[6] = {300, 100, 500, 200, 400, 600};
    for (int i = 0; i < 6; i++) {
        tt[i] = (struct tagged_timer){&log, i};
        t[i] = io_timer_new(loop, record_timer, &tt[i]);
        io_timer_start(t[i], delay[i]);
    }
    io_timer_start(t[5], 100);
    io_timer_start(t[1], 450);
    io_timer_start(t[3], 400);
    io_timer_start(t[0], 300);
    io_loop_run(loop);
    CU_ASSERT_EQUAL_FATAL(log.n, 6);
    const int want[6] = {5, 0, 4, 3, 1, 2};
    const io_us_t at[6] = {100, 300, 400, 400, 450, 500};
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(log.order[i], want[i]);
        CU_ASSERT_EQUAL(log.at[i], at[i]);
    }
    for (int i = 0; i < 6; i++)
        io_timer_free(t[i]);
    io_loop_free(loop);
}

/* The front holds 4 events and numbers none of them; the heap numbers
 * its events as they come in: rising for one pushed there, falling for
 * one spilled from the front. Timers of one deadline - A B C D filling the
 * front, E earlier spilling D, F G pushed into the heap behind it, C
 * stopped and started again after them, H filling the front again and X
 * spilling B into the heap after D - must still fire in start order. */
static void timers_of_one_deadline_fire_in_start_order_across_the_front_and_the_heap(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    enum { A, B, C, D, E, F, G, H, X, N };
    struct tagged_timer tt[N];
    io_timer_t *t[N];
    for (int i = 0; i < N; i++) {
        tt[i] = (struct tagged_timer){&log, i};
        t[i] = io_timer_new(loop, record_timer, &tt[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
    }
    for (int i = A; i <= D; i++)
        io_timer_start(t[i], 10);
    io_timer_start(t[E], 5); /* spills D: the front is full */
    io_timer_start(t[F], 10); /* not before the front's latest: the heap */
    io_timer_start(t[G], 10);
    io_timer_stop(t[C]);
    io_timer_start(t[H], 3);  /* the front is full again: B A E H */
    io_timer_start(t[C], 10); /* the heap, after G */
    io_timer_start(t[X], 2);  /* spills B, which must still come before D */
    io_loop_run(loop);
    const int want[] = {X, H, E, A, B, D, F, G, C};
    const io_us_t at[] = {2, 3, 5, 10, 10, 10, 10, 10, 10};
    CU_ASSERT_EQUAL_FATAL(log.n, N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(log.order[i], want[i]);
        CU_ASSERT_EQUAL(log.at[i], at[i]);
    }
    /* Started while the run is at 10: after all of the run's ties. */
    log.n = 0;
    io_timer_start(t[A], 0);
    io_timer_start(t[B], 0);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(log.n, 2);
    CU_ASSERT_EQUAL(log.order[0], A);
    CU_ASSERT_EQUAL(log.order[1], B);
    for (int i = 0; i < N; i++)
        io_timer_free(t[i]);
    assert_nothing_left(loop);
    io_loop_free(loop);
}

/* The queue keeps a few near events in a sorted front before its heap: a
 * model of (deadline, start order) checks the run order while timers are
 * started, stopped and restarted at random, many at equal deadlines and
 * many more than the front holds, across the front/heap boundary. */
#define MODEL_TIMERS 40

struct model_timer {
    io_us_t at;
    uint64_t seq; /* start order; 0 = not active */
};

static int model_next(const struct model_timer *m, io_us_t until)
{
    int best = -1;
    for (int i = 0; i < MODEL_TIMERS; i++) {
        if (!m[i].seq || m[i].at > until)
            continue;
        if (best < 0 || m[i].at < m[best].at || (m[i].at == m[best].at && m[i].seq < m[best].seq))
            best = i;
    }
    return best;
}

static void many_timers_at_random_fire_in_deadline_then_start_order(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer tt[MODEL_TIMERS];
    io_timer_t *t[MODEL_TIMERS];
    struct model_timer m[MODEL_TIMERS] = {{0, 0}};
    const io_us_t delays[] = {0, 5, 10, 10, 50, 100, 1000, 100000};
    for (int i = 0; i < MODEL_TIMERS; i++) {
        tt[i] = (struct tagged_timer){&log, i};
        t[i] = io_timer_new(loop, record_timer, &tt[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
    }
    uint64_t rnd = 12345, seq = 0;
    int fired = 0, mismatches = 0;
    for (int step = 0; step < 4000; step++) {
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((rnd >> 33) % MODEL_TIMERS);
        unsigned op = (unsigned)(rnd >> 20) % 8;
        if (op < 5) {
            io_us_t d = delays[(rnd >> 40) % (sizeof delays / sizeof delays[0])];
            io_timer_start(t[i], d);
            m[i] = (struct model_timer){io_now_us(loop) + d, ++seq};
        } else if (op < 7) {
            io_timer_stop(t[i]);
            m[i].seq = 0;
        } else {
            io_us_t until = io_now_us(loop) + (io_us_t)((rnd >> 44) % 200);
            log.n = 0;
            io_sim_run_until(loop, until);
            for (int k = 0; k < log.n && k < 16; k++) {
                int want = model_next(m, until);
                mismatches += want != log.order[k] || (want >= 0 && m[want].at != log.at[k]);
                if (want >= 0)
                    m[want].seq = 0;
            }
            CU_ASSERT_TRUE(log.n <= 16);
            CU_ASSERT_EQUAL(model_next(m, until), -1);
            fired += log.n;
        }
        for (int k = 0; k < MODEL_TIMERS; k++)
            mismatches += io_timer_active(t[k]) != (m[k].seq != 0);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_TRUE(fired > 100);
    for (int i = 0; i < MODEL_TIMERS; i++)
        io_timer_free(t[i]);
    assert_nothing_left(loop);
    io_loop_free(loop);
}

static void stop_timer_cb(io_timer_t *timer, void *data)
{
    (void)timer;
    io_loop_stop(data);
}

static void clock_jumps_to_events_and_run_until_leaves_it_at_the_bound(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer a = {&log, 0};
    io_timer_t *t = io_timer_new(loop, record_timer, &a);
    CU_ASSERT_EQUAL(io_now_us(loop), 0);
    CU_ASSERT_EQUAL(io_wall_us(loop), 1000 * IO_US_PER_S);
    io_timer_start(t, 3 * IO_US_PER_S);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, IO_US_PER_S), 0);
    CU_ASSERT_EQUAL(log.n, 0);
    CU_ASSERT_EQUAL(io_now_us(loop), IO_US_PER_S);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 5 * IO_US_PER_S), 0);
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_EQUAL(log.at[0], 3 * IO_US_PER_S);
    CU_ASSERT_EQUAL(io_now_us(loop), 5 * IO_US_PER_S);
    CU_ASSERT_EQUAL(io_wall_us(loop), 1005 * IO_US_PER_S);
    /* A stop leaves the clock where the stopping event ran. */
    io_timer_t *stopper = io_timer_new(loop, stop_timer_cb, loop);
    io_timer_start(stopper, 10);
    io_timer_start(t, 20);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 9 * IO_US_PER_S), 1);
    CU_ASSERT_EQUAL(io_now_us(loop), 5 * IO_US_PER_S + 10);
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_EQUAL(io_sim_events_run(loop), 2);
    io_timer_free(stopper);
    io_timer_free(t);
    io_loop_free(loop);
}

static void loop_run_returns_when_the_heap_is_empty(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0);
    CU_ASSERT_EQUAL(io_now_us(loop), 0);
    struct fired log = {.loop = loop};
    struct tagged_timer a = {&log, 0};
    io_timer_t *t = io_timer_new(loop, record_timer, &a);
    io_timer_start(t, 42);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0);
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_EQUAL(io_now_us(loop), 42);
    CU_ASSERT_EQUAL(io_sim_events_run(loop), 1);
    io_timer_free(t);
    io_loop_free(loop);
}

/* ---- a stream recorder -------------------------------------------------- */

#define REC_MAX 4096

/* What one stream heard. On the event kind `close_on` it closes the
 * streams named in close_own / close_peer, the way a core would. */
struct rec {
    io_loop_t *loop;
    io_stream_t *stream;
    int n;
    enum io_stream_event_kind kind[REC_MAX];
    io_us_t at[REC_MAX];
    size_t len[REC_MAX];
    int status[REC_MAX];
    uint8_t bytes[REC_MAX * 4];
    size_t nbytes;
    int close_on;
    int close_own;
    enum io_close_how how;
    io_stream_t **close_peer;
};

static void rec_init(struct rec *r, io_loop_t *loop)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->close_on = -1;
}

static int rec_count(const struct rec *r, enum io_stream_event_kind kind)
{
    int c = 0;
    for (int i = 0; i < r->n && i < REC_MAX; i++)
        c += r->kind[i] == kind;
    return c;
}

static void rec_cb(io_stream_t *s, const io_stream_event_t *ev, void *data)
{
    struct rec *r = data;
    CU_ASSERT_PTR_EQUAL(s, r->stream);
    if (r->n < REC_MAX) {
        r->kind[r->n] = ev->kind;
        r->at[r->n] = io_now_us(r->loop);
        r->len[r->n] = ev->len;
        r->status[r->n] = ev->status;
    }
    r->n++;
    if (ev->kind == IO_EV_DATA && r->nbytes + ev->len <= sizeof r->bytes) {
        memcpy(r->bytes + r->nbytes, ev->data, ev->len);
        r->nbytes += ev->len;
    }
    if ((int)ev->kind != r->close_on)
        return;
    r->close_on = -1;
    if (r->close_peer && *r->close_peer) {
        io_stream_close(*r->close_peer, r->how);
        *r->close_peer = NULL;
    }
    if (r->close_own) {
        io_stream_close(s, r->how);
        r->stream = NULL;
    }
}

static void accept_into_rec(io_listener_t *l, io_stream_t *s, void *data)
{
    struct rec *r = data;
    (void)l;
    CU_ASSERT_PTR_NULL(r->stream);
    r->stream = s;
    io_stream_set_cb(s, rec_cb, r);
}

/* A listener, a connected client and its accepted server stream, with
 * the handshake run to completion. */
struct pair {
    io_loop_t *loop;
    io_listener_t *listener;
    struct rec client, server;
};

static void pair_open(struct pair *p, io_loop_t *loop)
{
    char err[128];
    p->loop = loop;
    rec_init(&p->client, loop);
    rec_init(&p->server, loop);
    CU_ASSERT_EQUAL_FATAL(io_listen(loop, "127.0.0.1", 4002, accept_into_rec, &p->server,
                                    &p->listener, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(io_connect(loop, "127.0.0.1", 4002, rec_cb, &p->client,
                                     &p->client.stream, err, sizeof err), 0);
    io_loop_run(loop);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p->server.stream);
    CU_ASSERT_EQUAL_FATAL(p->client.n, 1);
    CU_ASSERT_EQUAL(p->client.kind[0], IO_EV_CONNECTED);
}

static void pair_close(struct pair *p)
{
    if (p->client.stream)
        io_stream_close(p->client.stream, IO_CLOSE_FIN);
    if (p->server.stream)
        io_stream_close(p->server.stream, IO_CLOSE_FIN);
    if (p->listener)
        io_listener_close(p->listener);
    io_loop_run(p->loop);
    assert_nothing_left(p->loop);
    io_loop_free(p->loop);
}

static void fill(uint8_t *buf, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31 + salt);
}

/* ---- connect, accept, data ---------------------------------------------- */

static void connect_to_a_port_nobody_listens_on_is_refused_from_the_loop(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct rec r;
    rec_init(&r, loop);
    CU_ASSERT_EQUAL(io_connect(loop, "127.0.0.1", 4002, rec_cb, &r, &r.stream, NULL, 0), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.stream);
    CU_ASSERT_EQUAL(r.n, 0);
    io_loop_run(loop);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.kind[0], IO_EV_CONNECT_FAILED);
    CU_ASSERT_EQUAL(r.status[0], IO_ERR_REFUSED);
    CU_ASSERT_EQUAL(r.at[0], 2 * LAT);
    CU_ASSERT_EQUAL(io_stream_write(r.stream, "x", 1), IO_ERR_CLOSED);
    io_stream_close(r.stream, IO_CLOSE_FIN);
    io_loop_run(loop);
    assert_nothing_left(loop);
    io_loop_free(loop);
}

static void connect_and_listen_reject_empty_hosts_and_taken_ports(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    char err[128] = "";
    io_stream_t *s = (io_stream_t *)&err;
    io_listener_t *a, *b, *c;
    CU_ASSERT_EQUAL(io_connect(loop, "", 1, rec_cb, NULL, &s, err, sizeof err), IO_ERR_ADDR);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_NOT_EQUAL(err[0], '\0');
    CU_ASSERT_EQUAL(io_listen(loop, "h", 0, accept_into_rec, NULL, &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(io_listener_port(a), 40000);
    CU_ASSERT_EQUAL(io_listen(loop, "h", 40001, accept_into_rec, NULL, &b, NULL, 0), 0);
    CU_ASSERT_EQUAL(io_listen(loop, "h", 0, accept_into_rec, NULL, &c, NULL, 0), 0);
    CU_ASSERT_EQUAL(io_listener_port(c), 40002);
    io_listener_close(c);
    CU_ASSERT_EQUAL(io_listen(loop, "h", 40001, accept_into_rec, NULL, &c, err, sizeof err),
                    IO_ERR_INUSE);
    CU_ASSERT_PTR_NULL(c);
    io_stats_t st;
    io_loop_stats(loop, &st);
    CU_ASSERT_EQUAL(st.listeners, 2);
    io_listener_close(a);
    io_listener_close(b);
    assert_nothing_left(loop);
    CU_ASSERT_EQUAL(io_sim_events_run(loop), 0);
    io_loop_free(loop);
}

static void accepted_and_connected_streams_exchange_data_after_the_latency(void)
{
    struct pair p;
    pair_open(&p, new_loop(1, IO_SIM_NET_DEFAULT));
    CU_ASSERT_EQUAL(p.client.at[0], 2 * LAT);
    CU_ASSERT_NOT_EQUAL(io_stream_id(p.client.stream), io_stream_id(p.server.stream));
    io_us_t t0 = io_now_us(p.loop);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, "hello", 5), 0);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 5);
    CU_ASSERT_EQUAL(io_sim_run_until(p.loop, t0 + LAT - 1), 0);
    CU_ASSERT_EQUAL(p.server.n, 0);
    CU_ASSERT_EQUAL(io_sim_run_until(p.loop, t0 + LAT), 0);
    CU_ASSERT_EQUAL_FATAL(p.server.n, 1);
    CU_ASSERT_EQUAL(p.server.kind[0], IO_EV_DATA);
    CU_ASSERT_EQUAL(p.server.at[0], t0 + LAT);
    CU_ASSERT_EQUAL(p.server.nbytes, 5);
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, "hello", 5), 0);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 0);
    CU_ASSERT_EQUAL(io_stream_write(p.server.stream, "world!", 6), 0);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.client.n, 2);
    CU_ASSERT_EQUAL(p.client.kind[1], IO_EV_DATA);
    CU_ASSERT_EQUAL(p.client.at[1], t0 + 2 * LAT);
    CU_ASSERT_EQUAL(memcmp(p.client.bytes, "world!", 6), 0);
    pair_close(&p);
}

static void set_net_changes_the_latency_of_later_deliveries(void)
{
    struct pair p;
    pair_open(&p, new_loop(1, IO_SIM_NET_DEFAULT));
    io_us_t t0 = io_now_us(p.loop);
    io_stream_write(p.client.stream, "a", 1);
    io_sim_set_net(p.loop, &(io_sim_net_t){5000, 0, 0});
    io_stream_write(p.client.stream, "b", 1);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.server.n, 2);
    CU_ASSERT_EQUAL(p.server.at[0], t0 + LAT);
    CU_ASSERT_EQUAL(p.server.at[1], t0 + 5000);
    pair_close(&p);
}

static void write_past_the_buffer_limit_is_refused(void)
{
    struct pair p;
    static const uint8_t small[16];
    pair_open(&p, new_loop(1, IO_SIM_NET_DEFAULT));
    /* The limit is checked before a byte is read, so a short buffer will do. */
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, IO_STREAM_BUFFER_MAX + 1),
                    IO_ERR_NOBUFS);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, sizeof small), 0);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, IO_STREAM_BUFFER_MAX - 15),
                    IO_ERR_NOBUFS);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), sizeof small);
    pair_close(&p);
}

/* ---- chunking and jitter ------------------------------------------------ */

/* Writes `writes` messages of growing size client -> server, one loop run
 * each, and checks the server got exactly the bytes in order. Returns the
 * number of writes delivered in more than one piece and, in *bytewise, those
 * delivered one byte at a time. */
static int send_messages(struct pair *p, int writes, int *bytewise)
{
    uint8_t msg[512];
    size_t sent = 0;
    int cut = 0;
    *bytewise = 0;
    p->server.nbytes = 0;
    for (int w = 0; w < writes; w++) {
        size_t len = 2 + (size_t)w % 40;
        int first = p->server.n;
        fill(msg, len, (unsigned)w);
        CU_ASSERT_EQUAL_FATAL(io_stream_write(p->client.stream, msg, len), 0);
        io_loop_run(p->loop);
        CU_ASSERT_EQUAL_FATAL(p->server.nbytes, sent + len);
        CU_ASSERT_EQUAL(memcmp(p->server.bytes + sent, msg, len), 0);
        sent += len;
        size_t max = 0;
        for (int i = first; i < p->server.n; i++) {
            CU_ASSERT_EQUAL(p->server.kind[i], IO_EV_DATA);
            CU_ASSERT_TRUE(p->server.len[i] >= 1);
            if (p->server.len[i] > max)
                max = p->server.len[i];
            if (i > first)
                CU_ASSERT_TRUE(p->server.at[i] >= p->server.at[i - 1]);
        }
        cut += p->server.n - first > 1;
        *bytewise += max == 1;
    }
    return cut;
}

static void without_chunking_one_write_is_one_delivery(void)
{
    struct pair p;
    int bytewise;
    pair_open(&p, new_loop(7, IO_SIM_NET_DEFAULT));
    CU_ASSERT_EQUAL(send_messages(&p, 50, &bytewise), 0);
    CU_ASSERT_EQUAL(p.server.n, 50);
    pair_close(&p);
}

/* Pieces of up to 256 bytes ride in blocks the loop reuses, bigger ones in
 * blocks of their own: writes on both sides of that size, again and again,
 * and more small ones in flight at once than the loop keeps spare, arrive
 * whole, in order, with no byte of an earlier piece left in a reused block. */
static void reused_data_blocks_deliver_exactly_the_bytes_written(void)
{
    struct pair p;
    pair_open(&p, new_loop(5, IO_SIM_NET_DEFAULT));
    static uint8_t want[REC_MAX * 4];
    size_t nwant = 0;
    const size_t sizes[] = {1, 255, 256, 257, 1000, 0, 3, 256, 2};
    for (unsigned round = 0; round < 3; round++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            fill(want + nwant, sizes[k], round * 16 + (unsigned)k);
            CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, sizes[k]), 0);
            nwant += sizes[k];
        }
        io_loop_run(p.loop);
    }
    CU_ASSERT_EQUAL(p.server.n, 3 * 8);
    /* 5000 one-byte pieces in flight together: past the spare blocks kept. */
    for (size_t k = 0; k < 5000; k++) {
        want[nwant] = (uint8_t)(k * 7);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, 1), 0);
        nwant++;
    }
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 5000);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 0);
    CU_ASSERT_EQUAL(p.server.n, 3 * 8 + 5000);
    CU_ASSERT_EQUAL_FATAL(p.server.nbytes, nwant);
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, want, nwant), 0);
    pair_close(&p);
}

/* The loop stops keeping small blocks while more than it keeps are about
 * and keeps them again once a burst is delivered: two bursts past that
 * many, then small writes one at a time (each reusing a kept block),
 * arrive byte for byte. */
static void small_blocks_are_kept_again_after_bursts_past_the_kept_ones(void)
{
    struct pair p;
    pair_open(&p, new_loop(6, IO_SIM_NET_DEFAULT));
    static uint8_t want[REC_MAX * 4];
    size_t nwant = 0;
    for (int burst = 0; burst < 2; burst++) {
        for (size_t k = 0; k < 5000; k++, nwant++) {
            want[nwant] = (uint8_t)(k * 11 + (size_t)burst);
            CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, 1), 0);
        }
        io_loop_run(p.loop);
    }
    for (unsigned k = 0; k < 100; k++, nwant += 9) {
        fill(want + nwant, 9, k);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, 9), 0);
        io_loop_run(p.loop);
    }
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 0);
    CU_ASSERT_EQUAL(p.server.n, 2 * 5000 + 100);
    CU_ASSERT_EQUAL_FATAL(p.server.nbytes, nwant);
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, want, nwant), 0);
    pair_close(&p);
}

/* Bigger pieces live in blocks of a power of two from 512 bytes, a few
 * kept for reuse: a reused block delivers exactly the new piece, whether
 * it is as big as the block or smaller than the piece before; a piece
 * bigger than the latest spare gets a new block; more blocks in flight
 * than are kept, and one too big to keep, come and go without a leak. */
static void bigger_blocks_are_reused_and_deliver_exactly_the_bytes_written(void)
{
    struct pair p;
    pair_open(&p, new_loop(5, IO_SIM_NET_DEFAULT));
    static uint8_t want[REC_MAX * 4];
    const size_t sizes[] = {1000, 600, 1024, 257, 512, 513, 2048, 300, 4000, 2049};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        p.server.nbytes = 0;
        fill(want, sizes[k], (unsigned)k);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want, sizes[k]), 0);
        io_loop_run(p.loop);
        CU_ASSERT_EQUAL_FATAL(p.server.nbytes, sizes[k]);
        CU_ASSERT_EQUAL(p.server.len[p.server.n - 1], sizes[k]);
        CU_ASSERT_EQUAL(memcmp(p.server.bytes, want, sizes[k]), 0);
    }
    for (int round = 0; round < 2; round++) {
        p.server.nbytes = 0;
        size_t nwant = 0;
        for (size_t k = 0; k < 20; k++) { /* 20 in flight, 8 kept after */
            fill(want + nwant, 700, (unsigned)(round * 20 + (int)k));
            CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, 700), 0);
            nwant += 700;
        }
        CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), nwant);
        io_loop_run(p.loop);
        CU_ASSERT_EQUAL_FATAL(p.server.nbytes, nwant);
        CU_ASSERT_EQUAL(memcmp(p.server.bytes, want, nwant), 0);
    }
    enum { HUGE = 70 * 1024 }; /* past the biggest block kept */
    uint8_t *huge = calloc(HUGE, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    int before = p.server.n;
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, huge, HUGE), 0);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(p.server.n, before + 1);
    CU_ASSERT_EQUAL(p.server.len[p.server.n - 1], HUGE);
    free(huge);
    pair_close(&p);
}

/* io_stream_write takes a small write itself only far from the buffer
 * limit: the limit still holds to the byte when the stream fills up
 * through small writes, and a refused one counts nothing. */
static void small_writes_fill_the_buffer_to_its_limit_exactly(void)
{
    struct pair p;
    pair_open(&p, new_loop(2, IO_SIM_NET_DEFAULT));
    static const uint8_t small[32];
    /* a delivered small write leaves a spare block and drawn delays */
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 8), 0);
    io_loop_run(p.loop);
    uint8_t *big = calloc(IO_STREAM_BUFFER_MAX - 40, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, big, IO_STREAM_BUFFER_MAX - 40), 0);
    free(big);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 32), 0); /* up to MAX - 8 */
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 9), IO_ERR_NOBUFS);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), IO_STREAM_BUFFER_MAX - 8);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 8), 0);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 1), IO_ERR_NOBUFS);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 0), 0);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), IO_STREAM_BUFFER_MAX);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 0);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, small, 32), 0);
    io_stream_close(p.client.stream, IO_CLOSE_FIN);
    p.client.stream = NULL;
    pair_close(&p);
}

/* Small pieces are copied as two overlapping words: every length around
 * the word sizes arrives byte for byte, from any offset in the source. */
/* Spare blocks at hand while the queue's reserved room is all taken (by
 * timers here): a small write that finds no room must grow the queue, not
 * take the quick path past the heap's end. */
static void small_writes_with_spare_blocks_but_no_queue_room_grow_the_queue(void)
{
    enum { NSPARE = 4096, NTIMERS = 6000 };
    struct pair p;
    pair_open(&p, new_loop(8, IO_SIM_NET_DEFAULT));
    static uint8_t want[NSPARE * 3];
    size_t nwant = 0;
    for (size_t k = 0; k < NSPARE; k++, nwant++) {
        want[nwant] = (uint8_t)(k * 13);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, 1), 0);
    }
    io_loop_run(p.loop); /* the blocks come back as spares */
    struct fired log = {.loop = p.loop};
    struct tagged_timer tt = {&log, 0};
    io_timer_t **t = calloc(NTIMERS, sizeof *t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (size_t i = 0; i < NTIMERS; i++) {
        t[i] = io_timer_new(p.loop, record_timer, &tt);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
        io_timer_start(t[i], 10 * LAT + (io_us_t)i);
    }
    for (size_t k = 0; k < NSPARE; k++, nwant += 2) {
        fill(want + nwant, 2, (unsigned)k);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, want + nwant, 2), 0);
    }
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 2 * NSPARE);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(log.n, NTIMERS);
    CU_ASSERT_EQUAL(p.server.n, 2 * NSPARE);
    CU_ASSERT_EQUAL_FATAL(p.server.nbytes, nwant);
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, want, nwant), 0);
    for (size_t i = 0; i < NTIMERS; i++)
        io_timer_free(t[i]);
    free(t);
    pair_close(&p);
}

static void small_writes_of_every_length_arrive_byte_for_byte(void)
{
    struct pair p;
    pair_open(&p, new_loop(6, IO_SIM_NET_DEFAULT));
    static uint8_t src[64 + 8], want[REC_MAX * 4];
    size_t nwant = 0;
    for (size_t len = 1; len <= 64; len++) {
        size_t off = len % 8; /* unaligned sources too */
        fill(src, sizeof src, (unsigned)len);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, src + off, len), 0);
        memcpy(want + nwant, src + off, len);
        nwant += len;
        io_loop_run(p.loop);
        CU_ASSERT_EQUAL_FATAL(p.server.nbytes, nwant);
        CU_ASSERT_EQUAL(p.server.len[p.server.n - 1], len);
    }
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, want, nwant), 0);
    pair_close(&p);
}

static void chunking_delivers_the_same_bytes_in_order_sometimes_a_byte_at_a_time(void)
{
    struct pair p;
    int bytewise;
    pair_open(&p, new_loop(7, (io_sim_net_t){LAT, 0, 1}));
    int cut = send_messages(&p, 100, &bytewise);
    CU_ASSERT_TRUE(cut > 20);
    CU_ASSERT_TRUE(cut < 100);
    CU_ASSERT_TRUE(bytewise > 0);
    CU_ASSERT_TRUE(p.server.n > 100);
    pair_close(&p);
}

static void chunking_bounds_the_number_of_pieces_of_a_large_write(void)
{
    struct pair p;
    enum { BIG = 256 * 1024 };
    uint8_t *big = malloc(BIG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    fill(big, BIG, 3);
    pair_open(&p, new_loop(11, (io_sim_net_t){LAT, 0, 1}));
    size_t got = 0;
    int most = 0;
    for (int w = 0; w < 8; w++) {
        p.server.n = 0;
        CU_ASSERT_EQUAL_FATAL(io_stream_write(p.client.stream, big, BIG), 0);
        io_loop_run(p.loop);
        CU_ASSERT_TRUE_FATAL(p.server.n <= 1024);
        most = p.server.n > most ? p.server.n : most;
        for (int i = 0; i < p.server.n; i++)
            got += p.server.len[i];
    }
    CU_ASSERT_TRUE(most > 512);
    CU_ASSERT_EQUAL(got, (size_t)8 * BIG);
    free(big);
    pair_close(&p);
}

static void jitter_never_reorders_bytes(void)
{
    struct pair p;
    pair_open(&p, new_loop(5, (io_sim_net_t){LAT, 5000, 1}));
    uint8_t msg[64];
    size_t sent = 0;
    p.server.nbytes = 0;
    io_us_t t0 = io_now_us(p.loop);
    /* Many writes in flight at once, each with its own jitter draw. */
    for (int w = 0; w < 40; w++) {
        fill(msg, sizeof msg, (unsigned)w);
        CU_ASSERT_EQUAL(io_stream_write(p.client.stream, msg, sizeof msg), 0);
        sent += sizeof msg;
        io_sim_run_until(p.loop, io_now_us(p.loop) + 10);
    }
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.server.nbytes, sent);
    for (int w = 0; w < 40; w++) {
        fill(msg, sizeof msg, (unsigned)w);
        CU_ASSERT_EQUAL(memcmp(p.server.bytes + (size_t)w * sizeof msg, msg, sizeof msg), 0);
    }
    int late = 0;
    for (int i = 0; i < p.server.n; i++) {
        CU_ASSERT_TRUE(p.server.at[i] >= t0 + LAT);
        late += p.server.at[i] > t0 + 400 + LAT;
    }
    CU_ASSERT_TRUE(late > 0);
    pair_close(&p);
}

/* ---- the network's delays, drawn in batches ------------------------------ */

/* A delay's jitter as the network draws it: no draw without jitter. */
static io_us_t jitter_of(io_rng_t *ref, uint64_t jitter)
{
    return jitter ? (io_us_t)io_rng_upto(ref, jitter) : 0;
}

/* The network's stream as io_sim.h describes it, past the two delays of
 * pair_open's handshake (SYN, then the reply). */
static void net_reference(io_rng_t *ref, uint64_t seed, uint64_t jitter)
{
    io_rng_seed(ref, seed ^ IO_SIM_NET_SEED_MIX);
    jitter_of(ref, jitter);
    jitter_of(ref, jitter);
}

/* Writes n one-byte messages at the current time, all in flight at once,
 * runs them in and checks each arrived a latency plus its own draw later,
 * or with the one before when that is later (the channel is FIFO). */
static void burst_arrives_as_drawn(struct pair *p, io_rng_t *ref, uint64_t jitter, int n)
{
    io_us_t t = io_now_us(p->loop), last = 0;
    int first = p->server.n, wrong = 0;
    for (int w = 0; w < n; w++)
        CU_ASSERT_EQUAL_FATAL(io_stream_write(p->client.stream, "x", 1), 0);
    io_loop_run(p->loop);
    CU_ASSERT_EQUAL_FATAL(p->server.n, first + n);
    for (int w = 0; w < n; w++) {
        io_us_t want = t + LAT + jitter_of(ref, jitter);
        last = want > last ? want : last;
        wrong += p->server.at[first + w] != last;
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

/* Writes n messages one at a time, each arriving before the next is
 * written: each arrives a latency plus its own draw after it was written. */
static void writes_arrive_as_drawn(struct pair *p, io_rng_t *ref, uint64_t jitter, int n)
{
    int wrong = 0;
    for (int w = 0; w < n; w++) {
        io_us_t t = io_now_us(p->loop);
        CU_ASSERT_EQUAL_FATAL(io_stream_write(p->client.stream, "y", 1), 0);
        io_loop_run(p->loop);
        wrong += p->server.at[p->server.n - 1] != t + LAT + jitter_of(ref, jitter);
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

/* Delays come in batches of 64 draws, but each delay is the one a draw
 * per delay gives, in every way a span reduces (the mask, both forms of
 * the reciprocal), across batch ends, and where a quarter of the draws
 * are rejected (a span just past 2^62): a batch ends before such a draw. */
static void batched_delays_are_one_bounded_draw_each(void)
{
    const uint64_t jitters[] = {1000, 1023, 5000, (UINT64_C(1) << 62) + 1};
    const enum io_rng_span_way ways[] = {IO_SPAN_MUL_ADD, IO_SPAN_MASK, IO_SPAN_MUL, IO_SPAN_MUL};
    for (size_t k = 0; k < sizeof jitters / sizeof jitters[0]; k++) {
        uint64_t j = jitters[k];
        io_rng_span_t sp;
        io_rng_span_prepare(&sp, j);
        CU_ASSERT_EQUAL(io_rng_span_way(&sp), ways[k]);
        /* Past 2^62 the clock would overflow in a few rounds: one burst
         * after a handshake without jitter, and closes without it. */
        int huge = j > 100000;
        struct pair p;
        pair_open(&p, new_loop(40 + k, (io_sim_net_t){LAT, huge ? 0 : (io_us_t)j, 0}));
        io_rng_t ref;
        net_reference(&ref, 40 + k, huge ? 0 : j);
        if (huge)
            io_sim_set_net(p.loop, &(io_sim_net_t){LAT, (io_us_t)j, 0});
        else
            writes_arrive_as_drawn(&p, &ref, j, 150);
        burst_arrives_as_drawn(&p, &ref, j, 300);
        io_sim_set_net(p.loop, &IO_SIM_NET_DEFAULT);
        pair_close(&p);
    }
}

/* Changing the network mid-batch gives the batch's unused draws back: the
 * next delays continue the stream where one draw per delay would have
 * left it, for a new span, through a spell without jitter (which draws
 * nothing), and when the old network comes back. */
static void set_net_mid_batch_gives_the_unused_draws_back(void)
{
    struct pair p;
    pair_open(&p, new_loop(77, (io_sim_net_t){LAT, 1000, 0}));
    io_rng_t ref;
    net_reference(&ref, 77, 1000);
    writes_arrive_as_drawn(&p, &ref, 1000, 10); /* 12 of a batch of 64 used */
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 5000, 0});
    writes_arrive_as_drawn(&p, &ref, 5000, 70);
    burst_arrives_as_drawn(&p, &ref, 5000, 5);
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 0, 0});
    writes_arrive_as_drawn(&p, &ref, 0, 100); /* no jitter: no draw */
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 1000, 0});
    writes_arrive_as_drawn(&p, &ref, 1000, 3);
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 1000, 0}); /* the same net again */
    writes_arrive_as_drawn(&p, &ref, 1000, 3);
    pair_close(&p);
}

/* Chunking turned on while a batch of delays is drawn: later writes are
 * cut (none takes the batch's quick path), and turning it off again
 * brings whole writes back. */
static void chunking_turned_on_mid_batch_cuts_the_writes_after_it(void)
{
    struct pair p;
    int bytewise;
    pair_open(&p, new_loop(7, (io_sim_net_t){LAT, 300, 0}));
    CU_ASSERT_EQUAL(send_messages(&p, 5, &bytewise), 0);
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 300, 1});
    CU_ASSERT_TRUE(send_messages(&p, 100, &bytewise) > 20);
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 0, 1});
    CU_ASSERT_TRUE(send_messages(&p, 100, &bytewise) > 20);
    io_sim_set_net(p.loop, &(io_sim_net_t){LAT, 0, 0});
    int before = p.server.n;
    CU_ASSERT_EQUAL(send_messages(&p, 50, &bytewise), 0);
    CU_ASSERT_EQUAL(p.server.n, before + 50);
    pair_close(&p);
}

/* What a reader hears of a piece is set up once per block: kind, bytes,
 * length and status are right for blocks reused after pieces of other
 * lengths, and for a block made to size for a big piece. */
static void every_data_event_carries_its_own_length_and_no_status(void)
{
    struct pair p;
    pair_open(&p, new_loop(3, IO_SIM_NET_DEFAULT));
    static uint8_t big[300];
    fill(big, sizeof big, 9);
    const size_t sizes[] = {32, 1, 300, 17, 256, 2};
    for (int round = 0; round < 2; round++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            CU_ASSERT_EQUAL(io_stream_write(p.client.stream, big, sizes[k]), 0);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.server.n, 12);
    for (int i = 0; i < 12; i++) {
        CU_ASSERT_EQUAL(p.server.kind[i], IO_EV_DATA);
        CU_ASSERT_EQUAL(p.server.len[i], sizes[i % 6]);
        CU_ASSERT_EQUAL(p.server.status[i], 0);
    }
    size_t off = 0;
    for (int i = 0; i < 12; i++) {
        CU_ASSERT_EQUAL(memcmp(p.server.bytes + off, big, sizes[i % 6]), 0);
        off += sizes[i % 6];
    }
    pair_close(&p);
}

/* ---- FIN, RST, closing from callbacks ----------------------------------- */

static void fin_delivers_pending_data_then_eof(void)
{
    struct pair p;
    pair_open(&p, new_loop(3, (io_sim_net_t){LAT, 300, 1}));
    uint8_t msg[100];
    fill(msg, sizeof msg, 9);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, msg, sizeof msg), 0);
    io_stream_close(p.client.stream, IO_CLOSE_FIN);
    p.client.stream = NULL;
    io_stats_t st;
    io_loop_stats(p.loop, &st);
    CU_ASSERT_EQUAL(st.streams, 1);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(p.server.nbytes, sizeof msg);
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, msg, sizeof msg), 0);
    CU_ASSERT_EQUAL_FATAL(rec_count(&p.server, IO_EV_EOF), 1);
    CU_ASSERT_EQUAL(p.server.kind[p.server.n - 1], IO_EV_EOF);
    CU_ASSERT_TRUE(p.server.at[p.server.n - 1] >= p.server.at[p.server.n - 2]);
    CU_ASSERT_EQUAL(p.client.n, 1); /* nothing after its own close */
    pair_close(&p);
}

static void after_eof_writes_are_accepted_and_dropped_at_the_closed_peer(void)
{
    struct pair p;
    pair_open(&p, new_loop(3, IO_SIM_NET_DEFAULT));
    io_stream_close(p.server.stream, IO_CLOSE_FIN);
    p.server.stream = NULL;
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.client.n, 2);
    CU_ASSERT_EQUAL(p.client.kind[1], IO_EV_EOF);
    /* EOF is not an error for the writer; the bytes have nowhere to go. */
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, "late", 4), 0);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 4);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 0);
    CU_ASSERT_EQUAL(p.client.n, 2);
    pair_close(&p);
}

static void rst_drops_pending_data_and_resets_the_peer(void)
{
    struct pair p;
    pair_open(&p, new_loop(3, IO_SIM_NET_DEFAULT));
    io_us_t t0 = io_now_us(p.loop);
    CU_ASSERT_EQUAL(io_stream_write(p.server.stream, "toward client", 13), 0);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, "never seen", 10), 0);
    io_stream_close(p.client.stream, IO_CLOSE_RST);
    p.client.stream = NULL;
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.server.n, 1);
    CU_ASSERT_EQUAL(p.server.kind[0], IO_EV_RESET);
    CU_ASSERT_EQUAL(p.server.status[0], IO_ERR_RESET);
    CU_ASSERT_EQUAL(p.server.at[0], t0 + LAT);
    CU_ASSERT_EQUAL(p.server.nbytes, 0);
    CU_ASSERT_EQUAL(p.client.n, 1);
    CU_ASSERT_EQUAL(io_stream_write(p.server.stream, "x", 1), IO_ERR_CLOSED);
    pair_close(&p);
}

static void closing_the_own_stream_inside_its_callback_is_safe(void)
{
    struct pair p;
    pair_open(&p, new_loop(3, (io_sim_net_t){LAT, 0, 1}));
    p.server.close_on = IO_EV_DATA;
    p.server.close_own = 1;
    p.server.how = IO_CLOSE_RST;
    uint8_t msg[64];
    fill(msg, sizeof msg, 1);
    for (int i = 0; i < 4; i++)
        io_stream_write(p.client.stream, msg, sizeof msg);
    io_stream_close(p.client.stream, IO_CLOSE_FIN);
    p.client.stream = NULL;
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(p.server.n, 1);
    CU_ASSERT_PTR_NULL(p.server.stream);
    pair_close(&p);
}

static void closing_the_peer_inside_a_callback_is_safe(void)
{
    struct pair p;
    pair_open(&p, new_loop(3, (io_sim_net_t){LAT, 0, 1}));
    /* The server's callback closes the client (its peer) and itself, while
     * bytes and a FIN are still in flight both ways. */
    p.server.close_on = IO_EV_DATA;
    p.server.close_own = 1;
    p.server.close_peer = &p.client.stream;
    p.server.how = IO_CLOSE_FIN;
    io_stream_write(p.server.stream, "to client", 9);
    io_stream_write(p.client.stream, "to server, in pieces", 20);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(p.server.n, 1);
    CU_ASSERT_PTR_NULL(p.client.stream);
    CU_ASSERT_PTR_NULL(p.server.stream);
    pair_close(&p);
}

static void closing_while_connecting_accepts_nothing(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct rec client, server;
    io_listener_t *l;
    rec_init(&client, loop);
    rec_init(&server, loop);
    io_listen(loop, "h", 4002, accept_into_rec, &server, &l, NULL, 0);
    io_connect(loop, "h", 4002, rec_cb, &client, &client.stream, NULL, 0);
    io_stream_write(client.stream, "early", 5);
    io_stream_close(client.stream, IO_CLOSE_RST);
    io_loop_run(loop);
    CU_ASSERT_PTR_NULL(server.stream);
    CU_ASSERT_EQUAL(client.n, 0);
    io_listener_close(l);
    assert_nothing_left(loop);
    io_loop_free(loop);
}

static void closed_listener_refuses_new_connects_and_existing_stream_works(void)
{
    struct pair p;
    pair_open(&p, new_loop(1, IO_SIM_NET_DEFAULT));
    io_listener_close(p.listener);
    p.listener = NULL;
    struct rec late;
    rec_init(&late, p.loop);
    CU_ASSERT_EQUAL(io_connect(p.loop, "h", 4002, rec_cb, &late, &late.stream, NULL, 0), 0);
    io_stream_write(p.client.stream, "still", 5);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(late.n, 1);
    CU_ASSERT_EQUAL(late.kind[0], IO_EV_CONNECT_FAILED);
    CU_ASSERT_EQUAL(late.status[0], IO_ERR_REFUSED);
    CU_ASSERT_EQUAL(p.server.nbytes, 5);
    io_stream_close(late.stream, IO_CLOSE_FIN);
    pair_close(&p);
}

static void free_with_open_handles_and_events_in_flight_leaks_nothing(void)
{
    io_loop_t *loop = new_loop(1, (io_sim_net_t){LAT, 100, 1});
    struct pair p;
    pair_open(&p, loop);
    struct fired log = {.loop = loop};
    struct tagged_timer a = {&log, 0};
    io_timer_start(io_timer_new(loop, record_timer, &a), 10);
    io_timer_new(loop, record_timer, &a);
    io_stream_write(p.client.stream, "in flight", 9);
    io_stream_write(p.server.stream, "in flight", 9);
    struct rec r;
    rec_init(&r, loop);
    io_connect(loop, "h", 4002, rec_cb, &r, &r.stream, NULL, 0);
    io_sim_raise_signal(loop, IO_SIGTERM);
    io_stats_t st;
    io_loop_stats(loop, &st);
    CU_ASSERT_EQUAL(st.timers, 2);
    CU_ASSERT_EQUAL(st.streams, 3);
    CU_ASSERT_EQUAL(st.listeners, 1);
    io_loop_free(loop); /* valgrind and ASan check the rest */
}

/* ---- signals ------------------------------------------------------------ */

struct sigrec {
    int n;
    enum io_signal sig;
    io_us_t at;
};

static void sig_cb(io_loop_t *loop, enum io_signal sig, void *data)
{
    struct sigrec *r = data;
    r->n++;
    r->sig = sig;
    r->at = io_now_us(loop);
}

static void signals_reach_the_watcher_from_the_loop_and_drop_without_one(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct sigrec r = {0};
    CU_ASSERT_EQUAL(io_signal_watch(loop, sig_cb, &r), 0);
    io_sim_run_until(loop, 50);
    io_sim_raise_signal(loop, IO_SIGTERM);
    CU_ASSERT_EQUAL(r.n, 0);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(r.sig, IO_SIGTERM);
    CU_ASSERT_EQUAL(r.at, 50);
    io_sim_raise_signal(loop, IO_SIGINT);
    io_signal_watch(loop, NULL, NULL);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(io_sim_events_run(loop), 2);
    io_loop_free(loop);
}

static void a_signal_raised_twice_before_delivery_arrives_once(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct sigrec r = {0};
    io_signal_watch(loop, sig_cb, &r);
    io_sim_raise_signal(loop, IO_SIGTERM);
    io_sim_raise_signal(loop, IO_SIGTERM);
    io_sim_raise_signal(loop, IO_SIGINT);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(r.sig, IO_SIGINT);
    io_sim_raise_signal(loop, IO_SIGTERM);
    io_loop_run(loop);
    CU_ASSERT_EQUAL(r.n, 3);
    io_loop_free(loop);
}

/* ---- determinism -------------------------------------------------------- */

struct schedule {
    int n;
    io_us_t at[REC_MAX];
    size_t len[REC_MAX];
};

/* Runs one fixed conversation with jitter and chunking and records the
 * (time, length) of every delivery to the server. */
static void run_schedule(uint64_t seed, struct schedule *out)
{
    struct pair p;
    pair_open(&p, new_loop(seed, (io_sim_net_t){LAT, 700, 1}));
    uint8_t msg[48];
    for (int w = 0; w < 30; w++) {
        fill(msg, sizeof msg, (unsigned)w);
        io_stream_write(p.client.stream, msg, sizeof msg);
        io_sim_run_until(p.loop, io_now_us(p.loop) + 37);
    }
    io_loop_run(p.loop);
    out->n = p.server.n;
    for (int i = 0; i < p.server.n && i < REC_MAX; i++) {
        out->at[i] = p.server.at[i];
        out->len[i] = p.server.len[i];
    }
    pair_close(&p);
}

static int same_schedule(const struct schedule *a, const struct schedule *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        if (a->at[i] != b->at[i] || a->len[i] != b->len[i])
            return 0;
    }
    return 1;
}

static void same_seed_gives_the_same_delivery_schedule(void)
{
    static struct schedule a, b, c;
    run_schedule(99, &a);
    run_schedule(99, &b);
    run_schedule(100, &c);
    CU_ASSERT_TRUE(a.n > 30);
    CU_ASSERT_TRUE(same_schedule(&a, &b));
    CU_ASSERT_FALSE(same_schedule(&a, &c));
}

static void network_draws_leave_the_cores_random_stream_alone(void)
{
    io_loop_t *quiet = new_loop(42, IO_SIM_NET_DEFAULT);
    struct pair p;
    pair_open(&p, new_loop(42, (io_sim_net_t){LAT, 500, 1}));
    uint8_t msg[200];
    fill(msg, sizeof msg, 0);
    for (int w = 0; w < 10; w++)
        io_stream_write(p.client.stream, msg, sizeof msg);
    io_loop_run(p.loop);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(io_random_u64(quiet), io_random_u64(p.loop));
    io_loop_free(quiet);
    pair_close(&p);
}

/* The rejection sampling as io_rng_upto first did it: the bound found by
 * a division at every draw. */
static uint64_t upto_reference(io_rng_t *rng, uint64_t span)
{
    if (span == UINT64_MAX)
        return io_rng_next(rng);
    uint64_t n = span + 1;
    uint64_t reject_below = (0 - n) % n;
    uint64_t x;
    do {
        x = io_rng_next(rng);
    } while (x < reject_below);
    return x % n;
}

/* io_rng_upto skips the bound's division for draws of n or more and masks
 * powers of two: the values and the draws consumed stay those of the
 * reference, including spans where almost half the draws are rejected. */
static void bounded_draws_match_the_reference_value_for_value(void)
{
    const uint64_t spans[] = {0, 1, 2, 3, 6, 7, 8, 1000, 1001, 65535, UINT64_C(1) << 32,
                              (UINT64_C(1) << 32) + 1, (UINT64_C(1) << 63) - 1,
                              UINT64_C(1) << 63, (UINT64_C(1) << 63) + 1,
                              (UINT64_C(1) << 63) + 12345, UINT64_MAX - 1, UINT64_MAX};
    io_rng_t a, b, pick;
    io_rng_seed(&a, 2025);
    io_rng_seed(&b, 2025);
    io_rng_seed(&pick, 7);
    int mismatches = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t span = i % 3 ? spans[(size_t)i % (sizeof spans / sizeof spans[0])]
                              : io_rng_next(&pick) >> (io_rng_next(&pick) % 64);
        mismatches += io_rng_upto(&a, span) != upto_reference(&b, span);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(io_rng_next(&a), io_rng_next(&b)); /* as many draws consumed */
}

/* A prepared span gives io_rng_upto's values and consumes its draws, for
 * spans of every shape: powers of two, both forms of the reciprocal (add
 * or not), spans just under and over powers of two, the largest ones. */
static void prepared_spans_draw_as_io_rng_upto_does(void)
{
    const uint64_t spans[] = {0, 1, 2, 3, 4, 6, 7, 999, 1000, 1001, 1999, 2000, 65535,
                              UINT64_C(1) << 32, (UINT64_C(1) << 32) + 1, (UINT64_C(1) << 33) - 2,
                              (UINT64_C(1) << 63) - 1, UINT64_C(1) << 63,
                              (UINT64_C(1) << 63) + 1, UINT64_MAX - 1, UINT64_MAX};
    io_rng_t a, b, pick;
    io_rng_seed(&pick, 11);
    int mismatches = 0, tail = 0;
    for (int i = 0; i < 4000; i++) {
        uint64_t span = i < (int)(sizeof spans / sizeof spans[0])
                            ? spans[i]
                            : io_rng_next(&pick) >> (io_rng_next(&pick) % 64);
        io_rng_span_t sp;
        io_rng_span_prepare(&sp, span);
        io_rng_seed(&a, (uint64_t)i);
        io_rng_seed(&b, (uint64_t)i);
        for (int k = 0; k < 200; k++)
            mismatches += io_rng_upto_span(&a, &sp) != io_rng_upto(&b, span);
        tail += io_rng_next(&a) != io_rng_next(&b);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(tail, 0); /* as many draws consumed */
}

/* The reciprocal's remainder is exact where a near miss would show: on
 * either side of multiples of n, at the top of the 64-bit range, for spans
 * of both reciprocal forms. */
static void a_prepared_span_reduces_like_the_modulo_at_every_edge(void)
{
    io_rng_t pick;
    io_rng_seed(&pick, 3);
    int wrong = 0;
    for (int i = 0; i < 3000; i++) {
        uint64_t span = i < 64 ? (UINT64_C(1) << i) + 2 /* just past each power of two */
                               : io_rng_next(&pick) >> (io_rng_next(&pick) % 64);
        io_rng_span_t sp;
        io_rng_span_prepare(&sp, span);
        uint64_t n = span + 1;
        for (int k = 0; k < 64; k++) {
            uint64_t m = n == 0 ? 0 : (UINT64_MAX / n - (uint64_t)k) * n; /* a multiple of n */
            uint64_t r = io_rng_next(&pick) % (n ? n : 1) * (uint64_t)(k & 1);
            const uint64_t xs[] = {m, m - 1, m + 1, m + n - 1, UINT64_MAX - (uint64_t)k, (uint64_t)k,
                                   io_rng_next(&pick), r};
            for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++)
                wrong += io_rng_span_mod(&sp, xs[j]) != (n ? xs[j] % n : xs[j]);
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

/* io_loop_run runs every event, even one at the end of time. */
static void loop_run_reaches_a_timer_at_the_end_of_time(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer tt = {&log, 1};
    io_timer_t *t = io_timer_new(loop, record_timer, &tt);
    io_timer_start(t, INT64_MAX);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0);
    CU_ASSERT_EQUAL_FATAL(log.n, 1);
    CU_ASSERT_EQUAL(log.at[0], INT64_MAX);
    io_timer_free(t);
    io_loop_free(loop);
}

static void handle_counts_return_to_zero(void)
{
    struct pair p;
    pair_open(&p, new_loop(1, IO_SIM_NET_DEFAULT));
    io_stats_t st;
    io_loop_stats(p.loop, &st);
    CU_ASSERT_EQUAL(st.streams, 2);
    CU_ASSERT_EQUAL(st.listeners, 1);
    io_timer_t *t = io_timer_new(p.loop, stop_timer_cb, p.loop);
    io_loop_stats(p.loop, &st);
    CU_ASSERT_EQUAL(st.timers, 1);
    io_timer_free(t);
    pair_close(&p); /* asserts all three are back to zero */
}

/* ---- trace records written into a sink's room ---------------------------- */

/* io_rng_peek is the next draw, and drawing nothing. */
static void peeking_gives_the_next_draw_without_drawing_it(void)
{
    io_rng_t a, b;
    io_rng_seed(&a, 5);
    io_rng_seed(&b, 5);
    int wrong = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t peeked = io_rng_peek(&a);
        wrong += peeked != io_rng_peek(&a) || peeked != io_rng_next(&a) ||
                 peeked != io_rng_next(&b);
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

/* A record goes in only whole and only when all its texts outlive the
 * loop: an exact fit fills the room, a byte short or an IO_TS value
 * leaves the room as it was (an IO_TS value without writing a byte); an
 * IO_TS without text is an integer; no
 * fields need no array; more fields than a record holds are refused. */
static void a_record_goes_into_the_room_whole_or_not_at_all(void)
{
    static unsigned char buf[64 * 1024];
    static const char key[] = "k", kept[] = "v";
    char text[] = "reused";
    io_trace_field_t two[2] = {IO_TI(key, -5), IO_TK(key, kept)};
    size_t size2 = sizeof(io_trace_rec_t) + 2 * sizeof(io_trace_rec_field_t);
    io_trace_room_t room = {.w = buf, .end = buf + size2 - 1};
    CU_ASSERT_FALSE(io_trace_room_put(&room, 7, "s", "e", 2, two));
    CU_ASSERT_PTR_EQUAL(room.w, buf);
    room.end = buf + size2;
    CU_ASSERT_TRUE(io_trace_room_put(&room, 7, "s", "e", 2, two));
    CU_ASSERT_PTR_EQUAL(room.w, room.end);
    const io_trace_rec_t *rec = (const io_trace_rec_t *)(const void *)buf;
    const io_trace_rec_field_t *f = (const io_trace_rec_field_t *)(rec + 1);
    CU_ASSERT_EQUAL(rec->wall_us, 7);
    CU_ASSERT_STRING_EQUAL(rec->src, "s");
    CU_ASSERT_STRING_EQUAL(rec->ev, "e");
    CU_ASSERT_EQUAL(rec->meta, 2 | (uint64_t)1 << (IO_TRACE_REC_STR + 1));
    CU_ASSERT_TRUE(f[0].key == key && f[0].word == (uint64_t)-5);
    CU_ASSERT_TRUE(f[1].key == key && f[1].word == (uint64_t)(uintptr_t)kept);

    room = (io_trace_room_t){.w = buf, .end = buf + sizeof buf};
    io_trace_field_t copy[2] = {IO_TI(key, 1), IO_TS(key, text)};
    memset(buf, 0xa5, size2);
    CU_ASSERT_FALSE(io_trace_room_put(&room, 8, "s", "e", 2, copy));
    CU_ASSERT_PTR_EQUAL(room.w, buf);
    size_t untouched = 0; /* a refused copy is found before anything is written */
    while (untouched < size2 && buf[untouched] == 0xa5)
        untouched++;
    CU_ASSERT_EQUAL(untouched, size2);
    io_trace_field_t none[1] = {IO_TS(key, NULL)};
    CU_ASSERT_TRUE(io_trace_room_put(&room, 8, "s", "e", 1, none));
    CU_ASSERT_EQUAL(rec->meta, 1);
    CU_ASSERT_TRUE(io_trace_room_put(&room, 9, "s", NULL, 0, NULL));
    CU_ASSERT_EQUAL(room.w - buf,
                    (ptrdiff_t)(2 * sizeof(io_trace_rec_t) + sizeof(io_trace_rec_field_t)));

    enum { MANY = IO_TRACE_REC_FIELDS_MAX + 1 };
    io_trace_field_t many[MANY];
    for (size_t i = 0; i < MANY; i++)
        many[i] = IO_TK(key, kept);
    room = (io_trace_room_t){.w = buf, .end = buf + sizeof buf};
    CU_ASSERT_FALSE(io_trace_room_put(&room, 1, "s", "e", MANY, many));
    CU_ASSERT_PTR_EQUAL(room.w, buf);
    CU_ASSERT_TRUE(io_trace_room_put(&room, 1, "s", "e", MANY - 1, many));
    CU_ASSERT_EQUAL(rec->meta, (MANY - 1) | (uint64_t)0xffff << IO_TRACE_REC_STR);

    room = (io_trace_room_t){.w = NULL, .end = NULL}; /* no room at all */
    CU_ASSERT_FALSE(io_trace_room_put(&room, 1, "s", "e", 0, NULL));
    io_trace_room_none(&room);
    CU_ASSERT_FALSE(io_trace_room_put(&room, 1, "s", "e", 0, NULL));
}

/* A record's fields come back as they were given, at every position a
 * record has: integers of either sign and at both ends of int64 (their
 * words look like anything), IO_TK texts with IO_TRACE_KEPT, an IO_TS
 * without text as the integer 0; a string bit set nowhere else. */
static void a_records_fields_come_back_as_given_at_every_position(void)
{
    static unsigned char buf[sizeof(io_trace_rec_t) +
                             IO_TRACE_REC_FIELDS_MAX * sizeof(io_trace_rec_field_t)];
    static const char *const keys[] = {"a", "b", "c"};
    static const char kept[] = "kept";
    const int64_t nums[] = {0, -1, 1, INT64_MIN, INT64_MAX, (int64_t)(uintptr_t)kept};
    for (size_t pattern = 0; pattern < 64; pattern++) {
        io_trace_field_t in[IO_TRACE_REC_FIELDS_MAX];
        for (size_t i = 0; i < IO_TRACE_REC_FIELDS_MAX; i++) {
            size_t kind = (i + pattern) % 3 == 0 ? 2 : (pattern >> (i % 6)) & 1;
            in[i] = kind == 1   ? IO_TK(keys[i % 3], kept)
                    : kind == 2 ? IO_TS(keys[i % 3], NULL)
                                : IO_TI(keys[i % 3], nums[(i + pattern) % 6]);
        }
        for (size_t n = 0; n <= IO_TRACE_REC_FIELDS_MAX; n += n < 6 ? 1 : 5) {
            io_trace_room_t room = {.w = buf, .end = buf + sizeof buf};
            CU_ASSERT_TRUE_FATAL(io_trace_room_put(&room, -3, "s", "e", n, in));
            const io_trace_rec_t *rec = (const io_trace_rec_t *)(const void *)buf;
            CU_ASSERT_EQUAL(rec->meta & IO_TRACE_REC_SINK_BITS, 0);
            CU_ASSERT_EQUAL(rec->meta >> IO_TRACE_REC_COPY, 0);
            io_trace_field_t out[IO_TRACE_REC_FIELDS_MAX];
            io_trace_rec_fields(rec, out);
            int wrong = 0;
            for (size_t i = 0; i < n; i++)
                wrong += out[i].key != in[i].key || out[i].str != in[i].str ||
                         out[i].num != in[i].num;
            CU_ASSERT_EQUAL(wrong, 0);
        }
    }
}

/* io_trace's write-first way in: the record is written at w in any case
 * (the slack takes it) and kept only if it fits and copies nothing; what
 * is not kept comes back as the record written, w unmoved, with its IO_TS
 * values marked. */
static void a_record_written_first_is_kept_only_when_it_fits_and_copies_nothing(void)
{
    static io_trace_room_t room;
    static unsigned char buf[256 + IO_TRACE_ROOM_SLACK];
    static const char key[] = "k", kept[] = "v";
    char text[] = "reused";
    io_trace_field_t two[2] = {IO_TI(key, 41), IO_TK(key, kept)};
    size_t size2 = sizeof(io_trace_rec_t) + 2 * sizeof(io_trace_rec_field_t);
    io_trace_field_t out[IO_TRACE_ROOM_SLACK_FIELDS];
    room.w = buf;
    room.end = buf + size2 - 1;
    const io_trace_rec_t *back = io_trace_room_write(&room, 3, "s", "e", 2, two);
    CU_ASSERT_PTR_EQUAL(room.w, buf);
    CU_ASSERT_PTR_EQUAL_FATAL(back, buf);
    io_trace_rec_fields(back, out);
    CU_ASSERT_TRUE(out[0].key == key && out[0].num == 41 && out[1].str == kept);
    room.end = buf + size2;
    CU_ASSERT_PTR_NULL(io_trace_room_write(&room, 3, "s", "e", 2, two));
    CU_ASSERT_PTR_EQUAL(room.w, buf + size2);
    room.end = buf + 256;
    io_trace_field_t copy[3] = {IO_TI(key, 2), IO_TK(key, kept), IO_TS(key, text)};
    back = io_trace_room_write(&room, 4, "s", "e", 3, copy);
    CU_ASSERT_PTR_EQUAL(room.w, buf + size2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(back->meta, 3 | (uint64_t)6 << IO_TRACE_REC_STR |
                                    (uint64_t)4 << IO_TRACE_REC_COPY);
    io_trace_rec_fields(back, out);
    CU_ASSERT_PTR_EQUAL(out[2].str, text);
    CU_ASSERT_PTR_NULL(io_trace_room_write(&room, 5, "s", NULL, 0, NULL));
    CU_ASSERT_PTR_EQUAL(room.w, buf + size2 + sizeof(io_trace_rec_t));
    io_trace_room_none(&room); /* no room: written into none, never kept */
    CU_ASSERT_PTR_NOT_NULL(io_trace_room_write(&room, 6, "s", "e", 2, two));
    CU_ASSERT_PTR_EQUAL(room.w, room.none);
}

/* A sink without room gets every event as a call with its fields as
 * given: integers, IO_TK texts (num IO_TRACE_KEPT) and IO_TS texts (num 0,
 * the same address) at every position up to the slack's and past it. */
struct fields_seen {
    size_t calls, nfields;
    io_trace_field_t f[IO_TRACE_ROOM_SLACK_FIELDS + 1];
};

static void fields_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                        size_t nfields, const io_trace_field_t *fields)
{
    struct fields_seen *seen = data;
    (void)wall_us, (void)src, (void)ev;
    seen->calls++;
    seen->nfields = nfields;
    memcpy(seen->f, fields, nfields * sizeof *fields);
}

static void a_sink_without_room_gets_the_fields_as_given(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fields_seen seen = {0};
    io_set_trace_sink(loop, fields_sink, &seen);
    char text[] = "reused";
    io_trace_field_t in[IO_TRACE_ROOM_SLACK_FIELDS + 1];
    for (size_t n = 0; n <= IO_TRACE_ROOM_SLACK_FIELDS + 1; n++) {
        for (size_t copy_at = 0; copy_at < IO_TRACE_ROOM_SLACK_FIELDS + 1; copy_at++) {
            for (size_t i = 0; i < IO_TRACE_ROOM_SLACK_FIELDS + 1; i++)
                in[i] = i == copy_at ? IO_TS("t", text)
                        : i % 2      ? IO_TK("k", "kept")
                                     : IO_TI("n", i % 4 ? INT64_MIN : -(int64_t)i);
            size_t calls = seen.calls;
            io_trace(loop, "s", "e", n, n ? in : NULL);
            CU_ASSERT_EQUAL_FATAL(seen.calls, calls + 1);
            CU_ASSERT_EQUAL_FATAL(seen.nfields, n);
            CU_ASSERT_EQUAL(memcmp(seen.f, in, n * sizeof *in), 0);
        }
    }
    io_loop_free(loop);
}

/* A sink that gives the loop room: counts what reaches it as calls and
 * what the loop put in its room. */
struct roomy {
    unsigned char buf[4096];
    io_trace_room_t *room; /* the loop's, while attached */
    int attached, detached, calls;
};

static void roomy_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                       size_t nfields, const io_trace_field_t *fields)
{
    struct roomy *r = data;
    (void)wall_us, (void)src, (void)ev, (void)nfields, (void)fields;
    r->calls++;
}

static void roomy_attach(void *data, io_trace_room_t *room)
{
    struct roomy *r = data;
    r->attached++;
    r->room = room;
    room->w = r->buf;
    room->end = r->buf + sizeof r->buf - IO_TRACE_ROOM_SLACK; /* the slack past end */
    room->owner = r;
}

static void roomy_detach(void *data, io_trace_room_t *room)
{
    struct roomy *r = data;
    r->detached++;
    r->room = NULL;
    io_trace_room_none(room);
    room->owner = NULL;
}

static const io_trace_rooms_t roomy_ops = {roomy_attach, roomy_detach};

/* The records a roomy sink's room holds. */
static size_t roomy_records(const struct roomy *r, const unsigned char *w)
{
    size_t n = 0;
    for (const unsigned char *p = r->buf; p < w; n++) {
        const io_trace_rec_t *rec = (const io_trace_rec_t *)(const void *)p;
        p += sizeof *rec + (rec->meta & IO_TRACE_REC_NFIELDS) * sizeof(io_trace_rec_field_t);
    }
    return n;
}

/* io_set_trace_room_sink gives a room-giving sink the loop's room: events with
 * kept texts land there with the loop's wall time, an IO_TS value or a
 * full room reaches the sink as a call, and replacing the sink or freeing
 * the loop hands the room back. */
static void a_sink_that_gives_room_gets_records_and_calls_for_the_rest(void)
{
    static struct roomy r;
    memset(&r, 0, sizeof r);
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    io_set_trace_room_sink(loop, roomy_sink, &r, &roomy_ops);
    CU_ASSERT_EQUAL(r.attached, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.room);
    io_sim_run_until(loop, 25);
    IO_TRACE(loop, "test", "kept", IO_TI("n", 1), IO_TK("name", "x"));
    IO_TRACE0(loop, "test", "bare");
    char text[8] = "abc";
    IO_TRACE(loop, "test", "copied", IO_TS("text", text));
    CU_ASSERT_EQUAL(r.calls, 1);
    io_trace_field_t wide[IO_TRACE_ROOM_SLACK_FIELDS + 1];
    for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++)
        wide[k] = IO_TI("w", k);
    io_trace(loop, "test", "wide", sizeof wide / sizeof wide[0], wide); /* the checked way */
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(roomy_records(&r, r.room->w), 3);
    const io_trace_rec_t *rec = (const io_trace_rec_t *)(const void *)r.buf;
    CU_ASSERT_EQUAL(rec->wall_us, 1000 * IO_US_PER_S + 25);
    CU_ASSERT_STRING_EQUAL(rec->ev, "kept");
    while (r.room->end - r.room->w >= (ptrdiff_t)sizeof(io_trace_rec_t))
        IO_TRACE0(loop, "test", "fill");
    int calls = r.calls;
    IO_TRACE0(loop, "test", "no room");
    CU_ASSERT_EQUAL(r.calls, calls + 1);
    io_set_trace_sink(loop, NULL, NULL);
    CU_ASSERT_EQUAL(r.detached, 1);
    IO_TRACE0(loop, "test", "nobody");
    CU_ASSERT_EQUAL(r.calls, calls + 1);
    io_set_trace_room_sink(loop, roomy_sink, &r, &roomy_ops);
    CU_ASSERT_EQUAL(r.attached, 2);
    io_loop_free(loop);
    CU_ASSERT_EQUAL(r.detached, 2);
}

/* A stop asked for outside a run ends the next run before its first
 * event, and one asked for in a callback leaves an event of the same time
 * for the next run; the run after a stop goes on as usual. */
static void a_stop_ends_the_next_run_at_once_and_leaves_due_events_queued(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer a = {&log, 1}, b = {&log, 2};
    io_timer_t *ta = io_timer_new(loop, record_timer, &a);
    io_timer_t *tb = io_timer_new(loop, record_timer, &b);
    io_timer_t *stopper = io_timer_new(loop, stop_timer_cb, loop);
    io_timer_start(ta, 5);
    io_loop_stop(loop);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 100), 1);
    CU_ASSERT_EQUAL(log.n, 0);
    CU_ASSERT_EQUAL(io_now_us(loop), 0);
    io_timer_start(stopper, 5); /* after ta, before tb at the same time */
    io_timer_start(tb, 5);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 100), 1); /* ta ran, the stopper stopped before tb */
    CU_ASSERT_EQUAL(log.n, 1);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 100), 0);
    CU_ASSERT_EQUAL(log.n, 2);
    io_timer_start(stopper, 5);
    io_timer_start(ta, 5);
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 1000), 1);
    CU_ASSERT_EQUAL(log.n, 2);
    CU_ASSERT_TRUE(io_timer_active(ta));
    CU_ASSERT_EQUAL(io_sim_run_until(loop, 1000), 0);
    CU_ASSERT_EQUAL_FATAL(log.n, 3);
    CU_ASSERT_EQUAL(log.order[2], 1);
    CU_ASSERT_EQUAL(log.at[2], 105);
    io_timer_free(ta);
    io_timer_free(tb);
    io_timer_free(stopper);
    io_loop_free(loop);
}

/* A negative delay fires at once and one past the end of time fires at
 * its end, when the clock is already on. */
static void timer_delays_are_clamped_to_now_and_the_end_of_time(void)
{
    io_loop_t *loop = new_loop(1, IO_SIM_NET_DEFAULT);
    struct fired log = {.loop = loop};
    struct tagged_timer a = {&log, 1}, b = {&log, 2};
    io_timer_t *ta = io_timer_new(loop, record_timer, &a);
    io_timer_t *tb = io_timer_new(loop, record_timer, &b);
    io_sim_run_until(loop, 500);
    io_timer_start(ta, INT64_MAX);
    io_timer_start(tb, -7);
    CU_ASSERT_EQUAL(io_loop_run(loop), 0);
    CU_ASSERT_EQUAL_FATAL(log.n, 2);
    CU_ASSERT_EQUAL(log.order[0], 2);
    CU_ASSERT_EQUAL(log.at[0], 500);
    CU_ASSERT_EQUAL(log.order[1], 1);
    CU_ASSERT_EQUAL(log.at[1], INT64_MAX);
    io_timer_free(ta);
    io_timer_free(tb);
    io_loop_free(loop);
}

/* Data reaches a stream only while it has a callback: taken away, the
 * pieces arriving meanwhile are dropped; given back, it hears again. */
static void data_arriving_while_a_stream_has_no_callback_is_dropped(void)
{
    struct pair p;
    pair_open(&p, new_loop(2, IO_SIM_NET_DEFAULT));
    io_stream_set_cb(p.server.stream, NULL, NULL);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, "lost", 4), 0);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL(p.server.n, 0);
    CU_ASSERT_EQUAL(io_stream_pending(p.client.stream), 0);
    io_stream_set_cb(p.server.stream, rec_cb, &p.server);
    CU_ASSERT_EQUAL(io_stream_write(p.client.stream, "heard", 5), 0);
    io_loop_run(p.loop);
    CU_ASSERT_EQUAL_FATAL(p.server.n, 1);
    CU_ASSERT_EQUAL(memcmp(p.server.bytes, "heard", 5), 0);
    pair_close(&p);
}

static CU_TestInfo io_sim_tests[] = {
    {"timers_fire_by_deadline_then_by_start_order", timers_fire_by_deadline_then_by_start_order},
    {"stopped_timer_never_fires_and_restart_moves_it",
     stopped_timer_never_fires_and_restart_moves_it},
    {"restarted_timers_fire_in_deadline_then_restart_order",
     restarted_timers_fire_in_deadline_then_restart_order},
    {"timers_of_one_deadline_fire_in_start_order_across_the_front_and_the_heap",
     timers_of_one_deadline_fire_in_start_order_across_the_front_and_the_heap},
    {"many_timers_at_random_fire_in_deadline_then_start_order",
     many_timers_at_random_fire_in_deadline_then_start_order},
    {"clock_jumps_to_events_and_run_until_leaves_it_at_the_bound",
     clock_jumps_to_events_and_run_until_leaves_it_at_the_bound},
    {"loop_run_returns_when_the_heap_is_empty", loop_run_returns_when_the_heap_is_empty},
    {"connect_to_a_port_nobody_listens_on_is_refused_from_the_loop",
     connect_to_a_port_nobody_listens_on_is_refused_from_the_loop},
    {"connect_and_listen_reject_empty_hosts_and_taken_ports",
     connect_and_listen_reject_empty_hosts_and_taken_ports},
    {"accepted_and_connected_streams_exchange_data_after_the_latency",
     accepted_and_connected_streams_exchange_data_after_the_latency},
    {"set_net_changes_the_latency_of_later_deliveries",
     set_net_changes_the_latency_of_later_deliveries},
    {"write_past_the_buffer_limit_is_refused", write_past_the_buffer_limit_is_refused},
    {"without_chunking_one_write_is_one_delivery", without_chunking_one_write_is_one_delivery},
    {"bigger_blocks_are_reused_and_deliver_exactly_the_bytes_written",
     bigger_blocks_are_reused_and_deliver_exactly_the_bytes_written},
    {"small_writes_fill_the_buffer_to_its_limit_exactly",
     small_writes_fill_the_buffer_to_its_limit_exactly},
    {"reused_data_blocks_deliver_exactly_the_bytes_written",
     reused_data_blocks_deliver_exactly_the_bytes_written},
    {"chunking_delivers_the_same_bytes_in_order_sometimes_a_byte_at_a_time",
     chunking_delivers_the_same_bytes_in_order_sometimes_a_byte_at_a_time},
    {"chunking_bounds_the_number_of_pieces_of_a_large_write",
     chunking_bounds_the_number_of_pieces_of_a_large_write},
    {"jitter_never_reorders_bytes", jitter_never_reorders_bytes},
    {"fin_delivers_pending_data_then_eof", fin_delivers_pending_data_then_eof},
    {"after_eof_writes_are_accepted_and_dropped_at_the_closed_peer",
     after_eof_writes_are_accepted_and_dropped_at_the_closed_peer},
    {"rst_drops_pending_data_and_resets_the_peer", rst_drops_pending_data_and_resets_the_peer},
    {"closing_the_own_stream_inside_its_callback_is_safe",
     closing_the_own_stream_inside_its_callback_is_safe},
    {"closing_the_peer_inside_a_callback_is_safe", closing_the_peer_inside_a_callback_is_safe},
    {"closing_while_connecting_accepts_nothing", closing_while_connecting_accepts_nothing},
    {"closed_listener_refuses_new_connects_and_existing_stream_works",
     closed_listener_refuses_new_connects_and_existing_stream_works},
    {"free_with_open_handles_and_events_in_flight_leaks_nothing",
     free_with_open_handles_and_events_in_flight_leaks_nothing},
    {"signals_reach_the_watcher_from_the_loop_and_drop_without_one",
     signals_reach_the_watcher_from_the_loop_and_drop_without_one},
    {"a_signal_raised_twice_before_delivery_arrives_once",
     a_signal_raised_twice_before_delivery_arrives_once},
    {"same_seed_gives_the_same_delivery_schedule", same_seed_gives_the_same_delivery_schedule},
    {"network_draws_leave_the_cores_random_stream_alone",
     network_draws_leave_the_cores_random_stream_alone},
    {"handle_counts_return_to_zero", handle_counts_return_to_zero},
    {"small_writes_of_every_length_arrive_byte_for_byte",
     small_writes_of_every_length_arrive_byte_for_byte},
    {"small_blocks_are_kept_again_after_bursts_past_the_kept_ones",
     small_blocks_are_kept_again_after_bursts_past_the_kept_ones},
    {"small_writes_with_spare_blocks_but_no_queue_room_grow_the_queue",
     small_writes_with_spare_blocks_but_no_queue_room_grow_the_queue},
    {"prepared_spans_draw_as_io_rng_upto_does", prepared_spans_draw_as_io_rng_upto_does},
    {"a_prepared_span_reduces_like_the_modulo_at_every_edge",
     a_prepared_span_reduces_like_the_modulo_at_every_edge},
    {"bounded_draws_match_the_reference_value_for_value",
     bounded_draws_match_the_reference_value_for_value},
    {"loop_run_reaches_a_timer_at_the_end_of_time", loop_run_reaches_a_timer_at_the_end_of_time},
    {"batched_delays_are_one_bounded_draw_each", batched_delays_are_one_bounded_draw_each},
    {"set_net_mid_batch_gives_the_unused_draws_back",
     set_net_mid_batch_gives_the_unused_draws_back},
    {"chunking_turned_on_mid_batch_cuts_the_writes_after_it",
     chunking_turned_on_mid_batch_cuts_the_writes_after_it},
    {"every_data_event_carries_its_own_length_and_no_status",
     every_data_event_carries_its_own_length_and_no_status},
    {"peeking_gives_the_next_draw_without_drawing_it",
     peeking_gives_the_next_draw_without_drawing_it},
    {"a_record_goes_into_the_room_whole_or_not_at_all",
     a_record_goes_into_the_room_whole_or_not_at_all},
    {"a_records_fields_come_back_as_given_at_every_position",
     a_records_fields_come_back_as_given_at_every_position},
    {"a_record_written_first_is_kept_only_when_it_fits_and_copies_nothing",
     a_record_written_first_is_kept_only_when_it_fits_and_copies_nothing},
    {"a_sink_without_room_gets_the_fields_as_given", a_sink_without_room_gets_the_fields_as_given},
    {"a_sink_that_gives_room_gets_records_and_calls_for_the_rest",
     a_sink_that_gives_room_gets_records_and_calls_for_the_rest},
    {"a_stop_ends_the_next_run_at_once_and_leaves_due_events_queued",
     a_stop_ends_the_next_run_at_once_and_leaves_due_events_queued},
    {"timer_delays_are_clamped_to_now_and_the_end_of_time",
     timer_delays_are_clamped_to_now_and_the_end_of_time},
    {"data_arriving_while_a_stream_has_no_callback_is_dropped",
     data_arriving_while_a_stream_has_no_callback_is_dropped},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"io_sim", NULL, NULL, NULL, NULL, io_sim_tests},
    CU_SUITE_INFO_NULL,
};
