/* io_sim.c - the simulated io backend (see io_sim.h): a virtual clock, one
 * queue of events ordered by (time, sequence number) - a short sorted front
 * before a binary min-heap - and an in-memory network.
 *
 * A connection is a `sim_conn` shared by its two streams: side 0 is the
 * client, side 1 the accepted server stream. Channel d carries events from
 * side d to side !d and is FIFO: every event on it is scheduled no earlier
 * than the one before, so jitter never reorders bytes. The conn is counted
 * by its live streams and by its queued events, so an event may outlive
 * both streams and is then dropped, never run against freed memory.
 *
 * The heap never has to grow from a void function: `heap_need` bounds how
 * many events can be queued at once (every timer, the loop's two signal
 * events, four control events per conn, every data block, queued or
 * spare), and the calls that raise that bound can fail with IO_ERR_NOMEM
 * instead.
 *
 * The network's delays (latency plus a jitter draw) are drawn in batches
 * while writes are not chunked: a batch keeps the draws' state in
 * registers and takes the draw out of every write. A batch draws ahead of
 * the writes, so changing the network gives the unused draws back (the
 * random stream is replayed from the batch's start), and chunking, whose
 * cut points come from the same stream between the delays, draws one at a
 * time: the stream's order is what it would be drawing one per write. */
#include "io_sim.h"

#include "../io/io_base.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_NOT_QUEUED SIZE_MAX
#define SIM_IN_FRONT (SIZE_MAX - 1)
#define SIM_FRONT_MAX 4            /* near events kept sorted before the heap */
#define SIM_PORT_FIRST 40000u      /* where io_listen(port 0) starts looking */
#define SIM_PIECES_MAX 1024        /* chunking never cuts a write finer than this */
#define SIM_CTRL_PER_CONN 4        /* SYN, reply, and one close per side */
#define SIM_DATA_SMALL 256         /* bytes a reusable data block holds */
#define SIM_DATA_SMALL_MAX 4096    /* small blocks kept at most, in flight or spare */
#define SIM_DATA_BIG_MIN 512       /* the least a bigger block holds: then powers of two */
#define SIM_DATA_BIG_MAX ((size_t)64 * 1024) /* bigger blocks are never kept */
#define SIM_DATA_BIG_SPARES 8      /* bigger blocks kept spare at most */
#define SIM_DELAYS 64              /* network delays drawn in one batch */

enum sim_ev_kind {
    SEV_TIMER,
    SEV_SIGNAL,
    SEV_SYN,       /* client -> server: the connect reaches the listener's port */
    SEV_CONNECTED, /* server -> client: accepted */
    SEV_REFUSED,   /* server -> client: nobody listened */
    SEV_DATA,
    SEV_FIN,
    SEV_RST
};

struct sim_event {
    io_us_t time_us;
    uint64_t seq; /* set as the event enters the heap (queue_push_slow) */
    size_t idx;   /* position in the heap, SIM_IN_FRONT, or SIM_NOT_QUEUED;
                     a data piece's is kept in the heap only (event_queued) */
    enum sim_ev_kind kind;
    int dir;    /* the channel for stream events, the signal for SEV_SIGNAL */
    struct sim_conn *conn;
};

/* One write's piece in flight. Pieces up to SIM_DATA_SMALL bytes live in
 * blocks of that size the loop keeps for reuse (a health check's frames,
 * chunked deliveries); bigger ones (a day of bars) in blocks of a power of
 * two from SIM_DATA_BIG_MIN, a few of which the loop keeps too (up to
 * SIM_DATA_BIG_MAX): a malloc and a free cost more than copying a few
 * kilobytes. A block holds one slot of heap_need from its allocation to
 * its free, and its event kind and what the receiver hears are set once:
 * a write only sets out.len. */
struct sim_data {
    struct sim_event ev;        /* kind SEV_DATA */
    io_stream_event_t out;      /* IO_EV_DATA, bytes, the piece's length */
    struct sim_data *next_free; /* on the loop's list of spare blocks */
    size_t cap;                 /* bytes it holds: SIM_DATA_SMALL, or more */
    uint8_t bytes[];
};

/* Every handle starts with a node on its loop's list of that kind, so
 * io_loop_free can find whatever the owners left open. */
struct sim_node {
    struct sim_node *prev, *next;
};

struct sim_conn {
    io_stream_t *end[2];      /* NULL once that side's owner closed it */
    size_t pending[2];        /* bytes in flight on channel d */
    io_us_t last_us[2];       /* time of the latest event on channel d */
    int reset[2];             /* side d aborted: its data in flight is dropped */
    uint16_t port;
    unsigned refs;            /* live streams + queued events */
    struct sim_event syn, reply, close[2];
};

enum sim_stream_state {
    SS_CONNECTING, /* client waiting for CONNECTED or REFUSED */
    SS_OPEN,
    SS_PEER_FIN,   /* the peer sent FIN; this side may still write */
    SS_FAILED,     /* the connect was refused */
    SS_RESET       /* the peer aborted */
};

struct io_stream {
    struct sim_node node;
    io_loop_t *loop;
    struct sim_conn *conn;
    int side;
    enum sim_stream_state state;
    int hears; /* data arriving now reaches cb: stream_hears_update */
    uint64_t id;
    io_stream_cb cb;
    void *data;
};

struct io_timer {
    struct sim_node node;
    io_loop_t *loop;
    struct sim_event ev;
    io_timer_cb cb;
    void *data;
};

struct io_listener {
    struct sim_node node;
    io_loop_t *loop;
    uint16_t port;
    io_accept_cb cb;
    void *data;
};

struct io_loop {
    io_base_t base; /* must stay first: io_base.c reaches it from the loop */
    io_us_t now_us;
    io_us_t start_wall_us;
    io_sim_net_t net;
    io_rng_t net_rng; /* jitter and cut points; apart from io_random_* */
    io_rng_span_t jitter; /* net.jitter_us prepared for a draw per delay */
    io_us_t delay[SIM_DELAYS]; /* a batch of delays: [next_delay, ndelays) unused */
    unsigned next_delay, ndelays;
    int delays_drawn;  /* each delay of the batch took one draw */
    io_rng_t net_mark; /* net_rng before the batch's draws */
    struct sim_event *front[SIM_FRONT_MAX]; /* latest first: the next event is last */
    size_t nfront;
    io_us_t heap_min_us; /* the heap's earliest time; INT64_MAX when empty */
    struct sim_event **heap;
    size_t heap_len, heap_cap, heap_need; /* heap_need bounds front + heap */
    uint64_t seq_pushed;  /* the next event pushed into the heap: up from 2^63 */
    uint64_t seq_spilled; /* the next one spilled from the front: down from 2^63 - 1 */
    uint64_t events_run;
    int stop;
    io_us_t run_until; /* loop_run's bound; INT64_MIN once stopped */
    struct sim_node timers, streams, listeners;
    size_t n_timers, n_streams, n_listeners;
    struct sim_event signal_ev[2]; /* SIGINT, SIGTERM: raising twice coalesces */
    io_signal_cb signal_cb;
    void *signal_data;
    uint64_t next_stream_id;
    uint16_t next_port;
    struct sim_data *spare; /* blocks of SIM_DATA_SMALL bytes to reuse */
    size_t nsmall;          /* such blocks allocated: in flight or spare */
    size_t keep_cap;        /* the cap of a block data_free keeps: SIM_DATA_SMALL
                               while nsmall <= SIM_DATA_SMALL_MAX, else 0 */
    struct sim_data *big;   /* bigger blocks to reuse, the latest freed first */
    size_t nbig;            /* blocks on that list */
};

/* ---- the event queue ----------------------------------------------------
 *
 * A small front of the earliest events, sorted, before a binary heap of the
 * rest: every event in the front comes before every event in the heap.
 * Most events are near (a delivery a latency ahead, a health check's timer
 * and its timeout) while the heap holds the far ones (schedules, market
 * timers) that would otherwise be sifted past at every pop.
 *
 * Events run in (time, push order). The front keeps push order by
 * position: a pushed event is the newest, so comparing times alone places
 * it after every one of its time. Only the heap needs a sequence number,
 * so an event gets one as it enters the heap, not at every push: pushed
 * straight there, it is the newest of all and takes the next of a rising
 * count; spilled from the front, it comes before every event in the heap
 * and takes the next of a falling count, below every number given so far.
 * The counts start at 2^63 and 2^63 - 1 and never meet. heap_min_us keeps
 * the heap's earliest time, so a push picks front or heap with one compare.
 *
 * Only timers and signals are ever looked for in the queue (stop, active,
 * a raise that coalesces), so only they keep idx outside the heap: a
 * data piece's push and run leave it alone. */

static int ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time_us < b->time_us || (a->time_us == b->time_us && a->seq < b->seq);
}

static void heap_place(io_loop_t *loop, size_t i, struct sim_event *ev)
{
    loop->heap[i] = ev;
    ev->idx = i;
}

static void heap_sift_up(io_loop_t *loop, size_t i, struct sim_event *ev)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(ev, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, ev);
}

/* Keeps heap_min_us after the heap changed. */
static void heap_min_update(io_loop_t *loop)
{
    loop->heap_min_us = loop->heap_len > 0 ? loop->heap[0]->time_us : INT64_MAX;
}

/* The growing half of heap_reserve, out of line. */
__attribute__((noinline)) static int heap_grow(io_loop_t *loop, size_t need)
{
    size_t cap = loop->heap_cap ? loop->heap_cap : 64;
    while (cap < need)
        cap *= 2;
    struct sim_event **heap = realloc(loop->heap, cap * sizeof *heap);
    if (!heap)
        return IO_ERR_NOMEM;
    loop->heap = heap;
    loop->heap_cap = cap;
    loop->heap_need = need;
    return 0;
}

/* Raises the bound on queued events by n, growing the array to match, so
 * that queue_push never needs memory. */
static inline int heap_reserve(io_loop_t *loop, size_t n)
{
    size_t need = loop->heap_need + n;
    if (need > loop->heap_cap)
        return heap_grow(loop, need);
    loop->heap_need = need;
    return 0;
}

/* Puts ev into the heap with sequence number seq. */
static void heap_insert(io_loop_t *loop, struct sim_event *ev, uint64_t seq)
{
    ev->seq = seq;
    loop->heap_len++;
    heap_sift_up(loop, loop->heap_len - 1, ev);
    heap_min_update(loop);
}

/* Takes ev out of the heap: the hole it leaves sinks along the earlier
 * child to a leaf (one comparison a level), then the last event fills it
 * and rises as far as it must (usually not at all: it is a late one). */
static void heap_remove(io_loop_t *loop, struct sim_event *ev)
{
    size_t i = ev->idx;
    size_t n = --loop->heap_len;
    struct sim_event *last = loop->heap[n];
    ev->idx = SIM_NOT_QUEUED;
    if (last != ev) {
        for (size_t child; (child = 2 * i + 1) < n; i = child) {
            if (child + 1 < n && ev_before(loop->heap[child + 1], loop->heap[child]))
                child++;
            heap_place(loop, i, loop->heap[child]);
        }
        heap_sift_up(loop, i, last);
    }
    heap_min_update(loop);
}

/* Puts ev into the front, which has room, where its time places it. */
__attribute__((always_inline)) static inline void front_insert(io_loop_t *loop,
                                                       struct sim_event *ev)
{
    struct sim_event **front = loop->front;
    size_t j = loop->nfront;
    for (; j > 0 && front[j - 1]->time_us <= ev->time_us; j--)
        front[j] = front[j - 1];
    front[j] = ev;
    loop->nfront++;
}

/* The rare ways in: ev belongs in the heap (the front is full and ev is
 * not before its latest, or ev is not before the heap's earliest), or in
 * a full front whose latest then moves to the heap (still before all
 * there). Out of line, so that the common push stays small where it is
 * inlined. */
__attribute__((noinline)) static void queue_push_slow(io_loop_t *loop, struct sim_event *ev)
{
    if (loop->nfront < SIM_FRONT_MAX || ev->time_us >= loop->front[0]->time_us) {
        heap_insert(loop, ev, loop->seq_pushed++);
        return;
    }
    heap_insert(loop, loop->front[0], loop->seq_spilled--);
    memmove(loop->front, loop->front + 1, (SIM_FRONT_MAX - 1) * sizeof loop->front[0]);
    loop->nfront = SIM_FRONT_MAX - 1;
    front_insert(loop, ev);
}

/* Queues ev at time_us, after every queued event of that time. A timer or
 * a signal sets its idx to SIM_IN_FRONT first (the heap replaces it). */
__attribute__((always_inline)) static inline void queue_push(io_loop_t *loop, struct sim_event *ev,
                                                     io_us_t time_us)
{
    ev->time_us = time_us;
    if (loop->nfront < SIM_FRONT_MAX && time_us < loop->heap_min_us)
        front_insert(loop, ev);
    else
        queue_push_slow(loop, ev);
}

/* Takes a queued timer or signal out of the queue. */
static void queue_remove(io_loop_t *loop, struct sim_event *ev)
{
    if (ev->idx != SIM_IN_FRONT) {
        heap_remove(loop, ev);
        return;
    }
    /* From the earliest end: a popped event is found at once. */
    struct sim_event **front = loop->front;
    size_t j = --loop->nfront;
    for (struct sim_event *carry = front[j]; carry != ev;) {
        struct sim_event *cur = front[--j];
        front[j] = carry;
        carry = cur;
    }
    ev->idx = SIM_NOT_QUEUED;
}

/* ---- handle lists ------------------------------------------------------- */

static void node_init(struct sim_node *head)
{
    head->prev = head->next = head;
}

static void node_add(struct sim_node *head, struct sim_node *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static void node_del(struct sim_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

/* ---- the network's delays ------------------------------------------------ */

/* Latency plus a jitter draw; the draw that may be rejected goes through
 * io_rng_upto_span, so it consumes what a draw per delay would. */
static io_us_t net_draw_delay(io_loop_t *loop)
{
    io_us_t t = loop->net.latency_us;
    if (loop->net.jitter_us > 0)
        t += (io_us_t)io_rng_upto_span(&loop->net_rng, &loop->jitter);
    return t;
}

/* Draws delays into the batch until it is full or a draw the span's
 * rejection would redraw comes up (left undrawn): every delay in a batch
 * is one draw. Returns how many; way is constant where it is inlined. */
__attribute__((always_inline)) static inline unsigned net_draw_batch(io_loop_t *loop,
                                                                     enum io_rng_span_way way)
{
    /* Copies, so that the loop keeps them in registers. */
    const io_rng_span_t sp = loop->jitter;
    const io_us_t latency = loop->net.latency_us;
    io_rng_t rng = loop->net_rng;
    unsigned n = 0;
    for (; n < SIM_DELAYS && io_rng_peek(&rng) >= sp.reject_below; n++)
        loop->delay[n] = latency + (io_us_t)io_rng_span_mod_way(&sp, io_rng_next(&rng), way);
    loop->net_rng = rng;
    return n;
}

/* Draws a batch of delays and returns its first; with chunking, only the
 * one delay. */
__attribute__((noinline)) static io_us_t net_delay_slow(io_loop_t *loop)
{
    unsigned n = 0;
    loop->next_delay = loop->ndelays = 0;
    if (loop->net.chunking) {
        /* no batch: the fast write is for unchunked ones only */
    } else if (loop->net.jitter_us == 0) {
        for (; n < SIM_DELAYS; n++)
            loop->delay[n] = loop->net.latency_us;
        loop->delays_drawn = 0;
    } else {
        loop->net_mark = loop->net_rng;
        loop->delays_drawn = 1;
        /* jitter_us is an io_us_t: the span is never UINT64_MAX. */
        switch (io_rng_span_way(&loop->jitter)) {
        case IO_SPAN_MASK: n = net_draw_batch(loop, IO_SPAN_MASK); break;
        case IO_SPAN_MUL: n = net_draw_batch(loop, IO_SPAN_MUL); break;
        default: n = net_draw_batch(loop, IO_SPAN_MUL_ADD); break;
        }
    }
    if (n == 0)
        return net_draw_delay(loop);
    loop->ndelays = n;
    loop->next_delay = 1;
    return loop->delay[0];
}

/* The next delay: from the batch, else the batch's refill. */
static inline io_us_t net_delay(io_loop_t *loop)
{
    if (loop->next_delay < loop->ndelays)
        return loop->delay[loop->next_delay++];
    return net_delay_slow(loop);
}

/* Gives the batch's unused delays back: the stream is where drawing the
 * used ones one by one would have left it. */
static void net_return_delays(io_loop_t *loop)
{
    if (loop->delays_drawn && loop->next_delay < loop->ndelays) {
        loop->net_rng = loop->net_mark;
        for (unsigned i = 0; i < loop->next_delay; i++)
            io_rng_next(&loop->net_rng);
    }
    loop->next_delay = loop->ndelays = 0;
}

/* ---- loop --------------------------------------------------------------- */

/* The sim engine installs its own sink; until then lines go nowhere so a
 * test run stays quiet. */
static void sim_log_drop(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                         const char *text)
{
    (void)data, (void)wall_us, (void)level, (void)src, (void)text;
}

io_loop_t *io_sim_loop_new(const io_sim_config_t *cfg)
{
    io_loop_t *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    io_sim_config_t def = {0, 0, IO_SIM_NET_DEFAULT};
    if (!cfg)
        cfg = &def;
    io_base_init(&loop->base, cfg->seed);
    io_set_log_sink(loop, IO_LOG_INFO, sim_log_drop, NULL);
    io_rng_seed(&loop->net_rng, cfg->seed ^ IO_SIM_NET_SEED_MIX);
    loop->start_wall_us = cfg->start_wall_us;
    io_sim_set_net(loop, &cfg->net);
    node_init(&loop->timers);
    node_init(&loop->streams);
    node_init(&loop->listeners);
    for (int i = 0; i < 2; i++) {
        loop->signal_ev[i].kind = SEV_SIGNAL;
        loop->signal_ev[i].dir = i == 0 ? IO_SIGINT : IO_SIGTERM;
        loop->signal_ev[i].idx = SIM_NOT_QUEUED;
    }
    loop->next_stream_id = 1;
    loop->next_port = SIM_PORT_FIRST;
    loop->keep_cap = SIM_DATA_SMALL;
    loop->heap_min_us = INT64_MAX;
    loop->seq_pushed = (uint64_t)1 << 63;
    loop->seq_spilled = ((uint64_t)1 << 63) - 1;
    if (heap_reserve(loop, 2) != 0) {
        free(loop);
        return NULL;
    }
    return loop;
}

io_us_t io_now_us(io_loop_t *loop)
{
    return loop->now_us;
}

io_us_t io_wall_us(io_loop_t *loop)
{
    return loop->start_wall_us + loop->now_us;
}

void io_sim_set_net(io_loop_t *loop, const io_sim_net_t *net)
{
    net_return_delays(loop);
    loop->net = *net;
    if (loop->net.latency_us < 0)
        loop->net.latency_us = 0;
    if (loop->net.jitter_us < 0)
        loop->net.jitter_us = 0;
    io_rng_span_prepare(&loop->jitter, (uint64_t)loop->net.jitter_us);
}

uint64_t io_sim_events_run(const io_loop_t *loop)
{
    return loop->events_run;
}

void io_loop_stop(io_loop_t *loop)
{
    loop->stop = 1;
    loop->run_until = INT64_MIN; /* no event is due: loop_run ends */
}

void io_loop_stats(io_loop_t *loop, io_stats_t *out)
{
    out->timers = loop->n_timers;
    out->streams = loop->n_streams;
    out->listeners = loop->n_listeners;
}

/* ---- connections -------------------------------------------------------- */

static io_listener_t *listener_find(io_loop_t *loop, uint16_t port)
{
    for (struct sim_node *n = loop->listeners.next; n != &loop->listeners; n = n->next) {
        if (((io_listener_t *)n)->port == port)
            return (io_listener_t *)n;
    }
    return NULL;
}

static void conn_unref(io_loop_t *loop, struct sim_conn *c)
{
    if (--c->refs > 0)
        return;
    loop->heap_need -= SIM_CTRL_PER_CONN;
    free(c);
}

/* Queues ev on channel dir at time t, or after the event queued on that
 * channel last if that is later. Inlined: a write's piece is most of the
 * queue's traffic. */
__attribute__((always_inline)) static inline void conn_queue(io_loop_t *loop, struct sim_conn *c,
                                                             int dir, struct sim_event *ev,
                                                             io_us_t t)
{
    if (t < c->last_us[dir])
        t = c->last_us[dir];
    c->last_us[dir] = t;
    ev->conn = c;
    ev->dir = dir;
    c->refs++;
    queue_push(loop, ev, t);
}

/* Queues ev on channel dir after a one-way delay. */
static inline void conn_send(io_loop_t *loop, struct sim_conn *c, int dir, struct sim_event *ev)
{
    conn_queue(loop, c, dir, ev, loop->now_us + net_delay(loop));
}

static void conn_send_ctrl(io_loop_t *loop, struct sim_conn *c, int dir, struct sim_event *ev,
                           enum sim_ev_kind kind)
{
    ev->kind = kind;
    conn_send(loop, c, dir, ev);
}

static io_stream_t *stream_new(io_loop_t *loop, struct sim_conn *c, int side,
                               enum sim_stream_state state)
{
    io_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->conn = c;
    s->side = side;
    s->state = state;
    s->id = loop->next_stream_id++;
    c->end[side] = s;
    c->refs++;
    node_add(&loop->streams, &s->node);
    loop->n_streams++;
    return s;
}

/* Keeps s->hears what data_deliver asks, so that a delivery tests one
 * word: the stream is open, has a callback, and the peer did not abort
 * (its data in flight is dropped). Called wherever one of those changes. */
static void stream_hears_update(io_stream_t *s)
{
    s->hears = s->state == SS_OPEN && s->cb && !s->conn->reset[!s->side];
}

/* Moves a stream through its states on an arriving control event (data
 * goes through data_deliver). Returns 1 and fills *out when the owner is
 * to hear of it, 0 when it is dropped. */
static int stream_step(io_stream_t *s, const struct sim_event *ev, io_stream_event_t *out)
{
    enum sim_stream_state next = s->state;
    memset(out, 0, sizeof *out);
    switch (ev->kind) {
    case SEV_CONNECTED:
        if (s->state != SS_CONNECTING)
            return 0;
        next = SS_OPEN;
        out->kind = IO_EV_CONNECTED;
        break;
    case SEV_REFUSED:
        if (s->state != SS_CONNECTING)
            return 0;
        next = SS_FAILED;
        out->kind = IO_EV_CONNECT_FAILED;
        out->status = IO_ERR_REFUSED;
        break;
    case SEV_FIN:
        if (s->state != SS_OPEN)
            return 0;
        next = SS_PEER_FIN;
        out->kind = IO_EV_EOF;
        break;
    case SEV_RST:
        if (s->state == SS_FAILED || s->state == SS_RESET)
            return 0;
        next = SS_RESET;
        out->kind = IO_EV_RESET;
        out->status = IO_ERR_RESET;
        break;
    default:
        return 0;
    }
    s->state = next;
    stream_hears_update(s);
    return s->cb != NULL;
}

static int stream_writable(const io_stream_t *s)
{
    return s->state == SS_CONNECTING || s->state == SS_OPEN || s->state == SS_PEER_FIN;
}

int io_connect(io_loop_t *loop, const char *host, uint16_t port, io_stream_cb cb, void *data,
               io_stream_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!host || !*host) {
        io_errf(err, errlen, "connect %s:%u: empty host", "", port);
        return IO_ERR_ADDR;
    }
    struct sim_conn *c = calloc(1, sizeof *c);
    io_stream_t *s = NULL;
    if (!c || heap_reserve(loop, SIM_CTRL_PER_CONN) != 0) {
        free(c);
    } else if (!(s = stream_new(loop, c, 0, SS_CONNECTING))) {
        loop->heap_need -= SIM_CTRL_PER_CONN;
        free(c);
    }
    if (!s) {
        io_errf(err, errlen, "connect %s:%u: out of memory", host, port);
        return IO_ERR_NOMEM;
    }
    c->port = port;
    io_stream_set_cb(s, cb, data);
    conn_send_ctrl(loop, c, 0, &c->syn, SEV_SYN);
    *out = s;
    return 0;
}

/* The SYN reached the port: accept if someone listens there, else refuse.
 * A client that gave up before its SYN arrived is not accepted at all. */
static void conn_on_syn(io_loop_t *loop, struct sim_conn *c)
{
    if (!c->end[0])
        return;
    io_listener_t *l = listener_find(loop, c->port);
    io_stream_t *s = l ? stream_new(loop, c, 1, SS_OPEN) : NULL;
    if (!s) {
        conn_send_ctrl(loop, c, 1, &c->reply, SEV_REFUSED);
        return;
    }
    /* CONNECTED goes first so that whatever the accept callback writes
     * follows it on the channel. */
    conn_send_ctrl(loop, c, 1, &c->reply, SEV_CONNECTED);
    l->cb(l, s, l->data);
}

void io_stream_set_cb(io_stream_t *stream, io_stream_cb cb, void *data)
{
    stream->cb = cb;
    stream->data = data;
    stream_hears_update(stream);
}

/* What a block for len bytes holds: SIM_DATA_SMALL, else the power of
 * two from SIM_DATA_BIG_MIN that fits (len itself past SIZE_MAX / 2). */
static size_t data_cap(size_t len)
{
    if (len <= SIM_DATA_SMALL)
        return SIM_DATA_SMALL;
    size_t cap = SIM_DATA_BIG_MIN;
    while (cap < len && cap <= SIZE_MAX / 2)
        cap *= 2;
    return cap < len ? len : cap;
}

/* Counts a small block allocated (+1) or freed (-1), and whether
 * data_free keeps them. */
static void data_count_small(io_loop_t *loop, int delta)
{
    loop->nsmall += (size_t)(ptrdiff_t)delta;
    loop->keep_cap = loop->nsmall <= SIM_DATA_SMALL_MAX ? SIM_DATA_SMALL : 0;
}

/* A new block for len bytes, NULL when out of memory. */
static struct sim_data *data_alloc(io_loop_t *loop, size_t len)
{
    size_t cap = data_cap(len);
    struct sim_data *d;
    if (cap > SIZE_MAX - sizeof *d || heap_reserve(loop, 1) != 0)
        return NULL;
    if (!(d = malloc(sizeof *d + cap))) {
        loop->heap_need--;
        return NULL;
    }
    d->ev.kind = SEV_DATA;
    d->out = (io_stream_event_t){IO_EV_DATA, d->bytes, 0, 0};
    d->cap = cap;
    if (cap == SIM_DATA_SMALL)
        data_count_small(loop, 1);
    return d;
}

/* A block for a piece of len bytes, its out.len set, NULL when out of
 * memory: a spare one that holds len bytes (only the latest bigger spare
 * is looked at), else a new one. */
static struct sim_data *data_new(io_loop_t *loop, size_t len)
{
    struct sim_data *d;
    if (len <= SIM_DATA_SMALL && loop->spare) {
        d = loop->spare;
        loop->spare = d->next_free;
    } else if (len > SIM_DATA_SMALL && loop->big && loop->big->cap >= len) {
        d = loop->big;
        loop->big = d->next_free;
        loop->nbig--;
    } else if (!(d = data_alloc(loop, len))) {
        return NULL;
    }
    d->out.len = len;
    return d;
}

/* data_free for all but a small block kept: a bigger one is kept up to
 * SIM_DATA_BIG_MAX while fewer than SIM_DATA_BIG_SPARES are spare. */
__attribute__((noinline)) static void data_free_slow(io_loop_t *loop, struct sim_data *d)
{
    if (d->cap == SIM_DATA_SMALL) {
        data_count_small(loop, -1);
    } else if (d->cap <= SIM_DATA_BIG_MAX && loop->nbig < SIM_DATA_BIG_SPARES) {
        d->next_free = loop->big;
        loop->big = d;
        loop->nbig++;
        return;
    }
    loop->heap_need--;
    free(d);
}

/* Keeps a small block for reuse, unless more than SIM_DATA_SMALL_MAX
 * are about (after a burst): counting the blocks rather than the spares
 * leaves the common write and delivery without a count to keep, and
 * keep_cap tells both at once. */
static inline void data_free(io_loop_t *loop, struct sim_data *d)
{
    if (__builtin_expect(d->cap == loop->keep_cap, 1)) {
        d->next_free = loop->spare;
        loop->spare = d;
        return;
    }
    data_free_slow(loop, d);
}

/* Cuts len bytes into piece sizes: a whole write, or pieces no bigger than
 * a drawn power of two (1 = a byte at a time), never more than
 * SIM_PIECES_MAX of them. Returns the number of pieces. */
static size_t net_cut(io_loop_t *loop, size_t len, size_t sizes[SIM_PIECES_MAX])
{
    int bits = 0;
    while (bits < 63 && ((size_t)1 << bits) < len)
        bits++;
    uint64_t e = io_rng_upto(&loop->net_rng, (uint64_t)bits + 1);
    if (e > (uint64_t)bits) {
        sizes[0] = len;
        return 1;
    }
    size_t lo = (len + SIM_PIECES_MAX - 1) / SIM_PIECES_MAX;
    size_t hi = (size_t)1 << e;
    if (hi < lo)
        hi = lo;
    size_t n = 0;
    for (size_t left = len; left > 0; n++) {
        size_t piece = lo + (size_t)io_rng_upto(&loop->net_rng, hi - lo);
        sizes[n] = piece < left ? piece : left;
        left -= sizes[n];
    }
    return n;
}

#define SIM_COPY_INLINE_MAX 32 /* pieces copy_piece copies without a call */
#define SIM_WRITE_FAST_MIN 4    /* io_stream_write's own: two fixed-size copies */

/* memcpy for the small pieces most writes are (a health check's frames
 * are 9 and 20 bytes): up to SIM_COPY_INLINE_MAX bytes as two overlapping
 * fixed-size copies (three single bytes below 4), no call. */
static inline void copy_piece(uint8_t *dst, const uint8_t *src, size_t len)
{
    if (len > 16 && len <= 32) {
        memcpy(dst, src, 16);
        memcpy(dst + len - 16, src + len - 16, 16);
    } else if (len >= 8 && len <= 16) {
        memcpy(dst, src, 8);
        memcpy(dst + len - 8, src + len - 8, 8);
    } else if (len >= 4 && len < 8) {
        memcpy(dst, src, 4);
        memcpy(dst + len - 4, src + len - 4, 4);
    } else if (len > 0 && len < 4) {
        dst[0] = src[0];
        dst[len / 2] = src[len / 2];
        dst[len - 1] = src[len - 1];
    } else {
        memcpy(dst, src, len);
    }
}

/* Fills piece d with its out.len bytes from p and counts them on channel
 * dir, before it is queued there. */
__attribute__((always_inline)) static inline void data_fill(struct sim_conn *c, int dir,
                                                            struct sim_data *d, const uint8_t *p)
{
    size_t len = d->out.len; /* read once: the copy may alias it */
    copy_piece(d->bytes, p, len);
    c->pending[dir] += len;
}

/* Queues the n pieces of one chunked write on channel dir, all or none: 0
 * or IO_ERR_NOMEM. The pieces are chained through next_free until sent. */
static int conn_send_pieces(io_loop_t *loop, struct sim_conn *c, int dir, const uint8_t *p,
                            const size_t *sizes, size_t n)
{
    struct sim_data *head = NULL, **tail = &head;
    size_t made = 0;
    for (struct sim_data *d; made < n && (d = data_new(loop, sizes[made])); made++) {
        d->next_free = NULL;
        *tail = d;
        tail = &d->next_free;
    }
    if (made < n) {
        while (head) {
            struct sim_data *d = head;
            head = d->next_free;
            data_free(loop, d);
        }
        return IO_ERR_NOMEM;
    }
    for (struct sim_data *d = head, *next; d; d = next) {
        next = d->next_free;
        data_fill(c, dir, d, p);
        conn_send(loop, c, dir, &d->ev);
        p += d->out.len;
    }
    return 0;
}

/* A plain write: one piece, no chain. 0 or IO_ERR_NOMEM. */
static int conn_send_whole(io_loop_t *loop, struct sim_conn *c, int dir, const uint8_t *p,
                           size_t len)
{
    struct sim_data *d = data_new(loop, len);
    if (!d)
        return IO_ERR_NOMEM;
    data_fill(c, dir, d, p);
    conn_send(loop, c, dir, &d->ev);
    return 0;
}

/* Kept apart from io_stream_write so that a plain write does not pay for
 * the stack of SIM_PIECES_MAX sizes. */
static int conn_send_chunked(io_loop_t *loop, struct sim_conn *c, int dir, const uint8_t *p,
                             size_t len)
{
    size_t sizes[SIM_PIECES_MAX];
    size_t n = net_cut(loop, len, sizes);
    return conn_send_pieces(loop, c, dir, p, sizes, n);
}

/* Every write io_stream_write does not take itself, refused ones too; an
 * empty one sends nothing. */
__attribute__((noinline)) static int stream_write_slow(io_stream_t *stream, const uint8_t *p,
                                                       size_t len)
{
    io_loop_t *loop = stream->loop;
    struct sim_conn *c = stream->conn;
    int dir = stream->side;
    if (!stream_writable(stream))
        return IO_ERR_CLOSED;
    if (len > IO_STREAM_BUFFER_MAX - c->pending[dir])
        return IO_ERR_NOBUFS;
    if (len == 0)
        return 0;
    if (loop->net.chunking)
        return conn_send_chunked(loop, c, dir, p, len);
    return conn_send_whole(loop, c, dir, p, len);
}

/* The common write - SIM_WRITE_FAST_MIN to SIM_COPY_INLINE_MAX bytes on
 * a writable stream far from its buffer limit (so it cannot hit it), a
 * spare block (and so its heap slot) at hand and a delay left in the batch
 * (so unchunked) - is taken here whole: nothing in it calls out (a push
 * that spills from the front is a tail call). Anything else goes to
 * stream_write_slow, which sorts out refusals. */
int io_stream_write(io_stream_t *stream, const void *data, size_t len)
{
    struct sim_conn *c = stream->conn;
    int dir = stream->side;
    io_loop_t *loop = stream->loop;
    struct sim_data *d = loop->spare;
    unsigned next = loop->next_delay;
    if (len - SIM_WRITE_FAST_MIN > SIM_COPY_INLINE_MAX - SIM_WRITE_FAST_MIN || !d ||
        next == loop->ndelays || !stream_writable(stream) ||
        c->pending[dir] > IO_STREAM_BUFFER_MAX - SIM_COPY_INLINE_MAX)
        return stream_write_slow(stream, data, len);
    loop->spare = d->next_free;
    d->out.len = len;
    data_fill(c, dir, d, data);
    loop->next_delay = next + 1;
    conn_queue(loop, c, dir, &d->ev, loop->now_us + loop->delay[next]);
    return 0;
}

size_t io_stream_pending(const io_stream_t *stream)
{
    return stream->conn->pending[stream->side];
}

uint64_t io_stream_id(const io_stream_t *stream)
{
    return stream->id;
}

/* Detaches the stream from its conn and frees it; sends nothing. */
static void stream_free(io_stream_t *s)
{
    io_loop_t *loop = s->loop;
    s->conn->end[s->side] = NULL;
    node_del(&s->node);
    loop->n_streams--;
    conn_unref(loop, s->conn);
    free(s);
}

void io_stream_close(io_stream_t *stream, enum io_close_how how)
{
    struct sim_conn *c = stream->conn;
    int dir = stream->side;
    if (stream_writable(stream)) {
        if (how == IO_CLOSE_RST) {
            c->reset[dir] = 1;
            if (c->end[!dir])
                stream_hears_update(c->end[!dir]);
        }
        conn_send_ctrl(stream->loop, c, dir, &c->close[dir],
                       how == IO_CLOSE_RST ? SEV_RST : SEV_FIN);
    }
    stream_free(stream);
}

/* ---- listeners ---------------------------------------------------------- */

/* Port 0: the first free port from the last one handed out, wrapping
 * within [SIM_PORT_FIRST, 65535]. Returns 0 when all are taken. */
static uint16_t listener_pick_port(io_loop_t *loop)
{
    unsigned range = 65536u - SIM_PORT_FIRST;
    for (unsigned i = 0; i < range; i++) {
        uint16_t port = loop->next_port;
        loop->next_port = port == 65535 ? SIM_PORT_FIRST : (uint16_t)(port + 1);
        if (!listener_find(loop, port))
            return port;
    }
    return 0;
}

int io_listen(io_loop_t *loop, const char *host, uint16_t port, io_accept_cb cb, void *data,
              io_listener_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!host || !*host) {
        io_errf(err, errlen, "listen %s:%u: empty host", "", port);
        return IO_ERR_ADDR;
    }
    if (!cb) {
        io_errf(err, errlen, "listen %s:%u: no accept callback", host, port);
        return IO_ERR_INVAL;
    }
    uint16_t p = port ? port : listener_pick_port(loop);
    if (p == 0 || (port && listener_find(loop, port))) {
        io_errf(err, errlen, "listen %s:%u: address in use", host, port);
        return IO_ERR_INUSE;
    }
    io_listener_t *l = calloc(1, sizeof *l);
    if (!l) {
        io_errf(err, errlen, "listen %s:%u: out of memory", host, port);
        return IO_ERR_NOMEM;
    }
    l->loop = loop;
    l->port = p;
    l->cb = cb;
    l->data = data;
    node_add(&loop->listeners, &l->node);
    loop->n_listeners++;
    *out = l;
    return 0;
}

uint16_t io_listener_port(const io_listener_t *listener)
{
    return listener->port;
}

void io_listener_close(io_listener_t *listener)
{
    node_del(&listener->node);
    listener->loop->n_listeners--;
    free(listener);
}

/* ---- timers ------------------------------------------------------------- */

io_timer_t *io_timer_new(io_loop_t *loop, io_timer_cb cb, void *data)
{
    io_timer_t *t = calloc(1, sizeof *t);
    if (!t || heap_reserve(loop, 1) != 0) {
        free(t);
        return NULL;
    }
    t->loop = loop;
    t->cb = cb;
    t->data = data;
    t->ev.kind = SEV_TIMER;
    t->ev.idx = SIM_NOT_QUEUED;
    node_add(&loop->timers, &t->node);
    loop->n_timers++;
    return t;
}

/* A restart of a queued timer, out of line: nearly every start finds its
 * timer idle (fired or stopped), and a call in io_timer_start would cost
 * every start a stack frame. */
__attribute__((noinline)) static void timer_restart(io_timer_t *timer, io_us_t delay_us)
{
    io_timer_stop(timer);
    io_timer_start(timer, delay_us);
}

void io_timer_start(io_timer_t *timer, io_us_t delay_us)
{
    io_loop_t *loop = timer->loop;
    if (timer->ev.idx != SIM_NOT_QUEUED) {
        timer_restart(timer, delay_us);
        return;
    }
    io_us_t room = INT64_MAX - loop->now_us; /* now_us >= 0: room >= 0 */
    if ((uint64_t)delay_us > (uint64_t)room) /* negative, or past the end of time */
        delay_us = delay_us < 0 ? 0 : room;
    timer->ev.idx = SIM_IN_FRONT;
    queue_push(loop, &timer->ev, loop->now_us + delay_us);
}

void io_timer_stop(io_timer_t *timer)
{
    if (timer->ev.idx != SIM_NOT_QUEUED)
        queue_remove(timer->loop, &timer->ev);
}

int io_timer_active(const io_timer_t *timer)
{
    return timer->ev.idx != SIM_NOT_QUEUED;
}

void io_timer_free(io_timer_t *timer)
{
    io_loop_t *loop = timer->loop;
    io_timer_stop(timer);
    node_del(&timer->node);
    loop->n_timers--;
    loop->heap_need--;
    free(timer);
}

/* ---- signals ------------------------------------------------------------ */

int io_signal_watch(io_loop_t *loop, io_signal_cb cb, void *data)
{
    loop->signal_cb = cb;
    loop->signal_data = cb ? data : NULL;
    return 0;
}

void io_sim_raise_signal(io_loop_t *loop, enum io_signal sig)
{
    if (sig != IO_SIGINT && sig != IO_SIGTERM)
        return;
    struct sim_event *ev = &loop->signal_ev[sig == IO_SIGINT ? 0 : 1];
    /* Like a real pending signal, a second raise before delivery is one. */
    if (ev->idx == SIM_NOT_QUEUED) {
        ev->idx = SIM_IN_FRONT;
        queue_push(loop, ev, loop->now_us);
    }
}

/* ---- running ------------------------------------------------------------ */

/* Gives back what a delivered or dropped data piece holds: its bytes'
 * count on the channel, its block and its reference on the conn. */
__attribute__((always_inline)) static inline void data_release(io_loop_t *loop,
                                                               struct sim_data *d)
{
    struct sim_conn *c = d->ev.conn;
    c->pending[d->ev.dir] -= d->out.len;
    data_free(loop, d);
    conn_unref(loop, c);
}

/* Gives back what an event dropped from the queue holds: a data piece's
 * memory and heap slot, a stream event's reference on the conn; a timer
 * or signal is no longer queued. */
static void event_release(io_loop_t *loop, struct sim_event *ev)
{
    if (ev->kind == SEV_DATA)
        data_release(loop, (struct sim_data *)ev);
    else if (ev->kind != SEV_TIMER && ev->kind != SEV_SIGNAL)
        conn_unref(loop, ev->conn);
    else
        ev->idx = SIM_NOT_QUEUED;
}

/* A data piece arrived: the stream it is addressed to hears of it if it is
 * still there, open, and the sender did not abort meanwhile (s->hears). */
static void data_deliver(io_loop_t *loop, struct sim_data *d)
{
    struct sim_conn *c = d->ev.conn;
    io_stream_t *s = c->end[!d->ev.dir];
    if (__builtin_expect(s && s->hears, 1))
        s->cb(s, &d->out, s->data);
    data_release(loop, d);
}

/* Hands a control event to the stream it is addressed to, if that stream
 * is still there and in a state to hear it. */
static void ctrl_deliver(io_loop_t *loop, struct sim_event *ev)
{
    struct sim_conn *c = ev->conn;
    io_stream_t *s = c->end[!ev->dir];
    io_stream_event_t out;
    if (ev->kind == SEV_SYN)
        conn_on_syn(loop, c);
    else if (s && stream_step(s, ev, &out))
        s->cb(s, &out, s->data);
    conn_unref(loop, c);
}

/* The rarer kinds: signals and the control events. */
__attribute__((noinline)) static void event_run_other(io_loop_t *loop, struct sim_event *ev)
{
    if (ev->kind != SEV_SIGNAL) {
        ctrl_deliver(loop, ev);
        return;
    }
    ev->idx = SIM_NOT_QUEUED;
    if (loop->signal_cb)
        loop->signal_cb(loop, (enum io_signal)ev->dir, loop->signal_data);
}

/* Data pieces and timers are nearly every event: tested first, in that
 * order, before the rest. A timer is no longer queued when its callback
 * runs (which may start it again). */
static inline void event_run(io_loop_t *loop, struct sim_event *ev)
{
    if (ev->kind == SEV_DATA) {
        data_deliver(loop, (struct sim_data *)ev);
    } else if (ev->kind == SEV_TIMER) {
        io_timer_t *t = (io_timer_t *)((char *)ev - offsetof(io_timer_t, ev));
        ev->idx = SIM_NOT_QUEUED;
        t->cb(t, t->data);
    } else {
        event_run_other(loop, ev);
    }
}

/* Takes the next event off the queue if it is due at or before
 * loop->run_until; NULL when none is. The next event is the front's last,
 * or the heap's root when the front is empty. */
static inline struct sim_event *queue_pop_due(io_loop_t *loop)
{
    io_us_t until_us = loop->run_until;
    struct sim_event *ev;
    if (loop->nfront > 0) {
        ev = loop->front[loop->nfront - 1];
        if (ev->time_us > until_us)
            return NULL;
        loop->nfront--;
        return ev;
    }
    if (loop->heap_len == 0 || loop->heap[0]->time_us > until_us)
        return NULL;
    ev = loop->heap[0];
    heap_remove(loop, ev);
    return ev;
}

/* Runs events in (time, seq) order while they are due at or before
 * until_us (INT64_MAX: all of them). Returns 1 if io_loop_stop ended it.
 * A stop moves the bound before every event, so that the loop tests only
 * the next event's time. */
static int loop_run(io_loop_t *loop, io_us_t until_us)
{
    struct sim_event *ev;
    loop->run_until = loop->stop ? INT64_MIN : until_us;
    while ((ev = queue_pop_due(loop))) {
        loop->now_us = ev->time_us;
        loop->events_run++;
        event_run(loop, ev);
    }
    int stopped = loop->stop;
    loop->stop = 0;
    return stopped;
}

int io_loop_run(io_loop_t *loop)
{
    loop_run(loop, INT64_MAX);
    return 0;
}

int io_sim_run_until(io_loop_t *loop, io_us_t until_us)
{
    int stopped = loop_run(loop, until_us);
    if (!stopped && until_us > loop->now_us)
        loop->now_us = until_us;
    return stopped;
}

void io_loop_free(io_loop_t *loop)
{
    if (!loop)
        return;
    for (size_t i = 0; i < loop->nfront; i++)
        event_release(loop, loop->front[i]);
    for (size_t i = 0; i < loop->heap_len; i++)
        event_release(loop, loop->heap[i]);
    loop->nfront = loop->heap_len = 0;
    while (loop->streams.next != &loop->streams)
        stream_free((io_stream_t *)loop->streams.next);
    while (loop->timers.next != &loop->timers)
        io_timer_free((io_timer_t *)loop->timers.next);
    while (loop->listeners.next != &loop->listeners)
        io_listener_close((io_listener_t *)loop->listeners.next);
    struct sim_data *lists[] = {loop->spare, loop->big};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        while (lists[i]) {
            struct sim_data *d = lists[i];
            lists[i] = d->next_free;
            free(d);
        }
    }
    free(loop->heap);
    io_base_free(&loop->base);
    free(loop);
}
