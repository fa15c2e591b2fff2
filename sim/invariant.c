/* invariant.c - the invariants and the liveness phase (see invariant.h).
 * All of them share one pass over the trace: each kind of event is
 * classified once, the runner's connection is one small state machine, and
 * each event costs a table lookup, and a few steps when it matters to an
 * invariant. The pass can walk the trace in pieces as it is recorded
 * (iv_pass_advance), so that a year's walk is done on the recorder's thread
 * by the time the run ends. The liveness phase needs the time the last
 * fault ended before it can read the label then, so the pass notes every
 * status event and the verdict is read from that list afterwards. */
#include "invariant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/catalog.h"
#include "../proto/duration.h"
#include "schedule.h"

#define IV_LIVE_MAX 64

static const char *const iv_names[IV_COUNT] = {
    [IV_ONE_SESSION] = "one_session", [IV_REQUEST_WINDOW] = "request_window",
    [IV_ORDER_STATE] = "order_state", [IV_ORDER_ONCE] = "order_once",
    [IV_CLOSED] = "closed",           [IV_NOTHING_LEFT] = "nothing_left",
};

const char *iv_name(enum iv_kind kind)
{
    return iv_names[kind];
}

int iv_label_is_live(const char *label)
{
    return label && (strcmp(label, "API Connected") == 0 ||
                     strcmp(label, "API Connected (Market Closed)") == 0 ||
                     strcmp(label, "Waiting for cycle") == 0);
}

/* What an event means to the invariants. Worked out once per kind of the
 * trace (src and ev), so that each walk over a year of trace costs one
 * table lookup per event. */
enum iv_class {
    IV_EV_OTHER,
    IV_EV_SESSION_CLOSED, /* gateway */
    IV_EV_SESSION_READY,  /* gateway */
    IV_EV_FAULT,          /* gateway fault:* and fault_end:* */
    IV_EV_CONNECT,        /* runner, from here on */
    IV_EV_READY,
    IV_EV_DOWN,           /* disconnect, connect_failed */
    IV_EV_EXIT,
    IV_EV_DEGRADED,       /* error:1100 */
    IV_EV_RESTORED,       /* error:1101, error:1102 */
    IV_EV_CYCLE_START,
    IV_EV_MSG_OUT,
    IV_EV_ORDER,
    IV_EV_STATUS
};

static enum iv_class iv_class_named(const char *src, const char *ev)
{
    static const struct {
        const char *ev;
        enum iv_class cls;
    } runner[] = {
        {"connect", IV_EV_CONNECT},       {"ready", IV_EV_READY},
        {"disconnect", IV_EV_DOWN},       {"connect_failed", IV_EV_DOWN},
        {"exit", IV_EV_EXIT},             {"error:1100", IV_EV_DEGRADED},
        {"error:1101", IV_EV_RESTORED},   {"error:1102", IV_EV_RESTORED},
        {"cycle_start", IV_EV_CYCLE_START}, {"msg_out", IV_EV_MSG_OUT},
        {"order", IV_EV_ORDER},           {"status", IV_EV_STATUS},
    };
    if (strcmp(src, "gateway") == 0) {
        if (strcmp(ev, "session_closed") == 0)
            return IV_EV_SESSION_CLOSED;
        if (strcmp(ev, "session_ready") == 0)
            return IV_EV_SESSION_READY;
        if (strncmp(ev, "fault:", 6) == 0 || strncmp(ev, "fault_end:", 10) == 0)
            return IV_EV_FAULT;
        return IV_EV_OTHER;
    }
    for (size_t i = 0; strcmp(src, "runner") == 0 && i < sizeof runner / sizeof runner[0]; i++)
        if (strcmp(ev, runner[i].ev) == 0)
            return runner[i].cls;
    return IV_EV_OTHER;
}

/* One `order` event, with what order_once compares. */
typedef struct iv_order {
    size_t index;
    io_us_t wall_us;
    long id, cycle, drops;
    const char *symbol;
} iv_order_t;

/* A status event: its index, and the latest time of the trace up to it. */
typedef struct iv_status {
    size_t index;
    io_us_t seen_us;
} iv_status_t;

/* The runner's connection as its events draw it. */
enum iv_conn { IV_OFF, IV_HANDSHAKE, IV_READY, IV_EXITED };

/* The one pass: the trace classified, the state every invariant keeps, and
 * what the liveness phase and order_once read after it. */
struct iv_pass {
    const sc_scenario_t *sc;
    const tr_recorder_t *t;
    size_t next;        /* the first event not walked yet */
    io_us_t seen;       /* the latest time walked so far */
    uint8_t *of_kind;   /* NULL when out of memory: each event is classified in full */
    size_t nclassified; /* the kinds of_kind holds */
    ck_result_t out[IV_COUNT];
    long conn[IV_LIVE_MAX], client[IV_LIVE_MAX]; /* one_session: the live sessions */
    size_t live;
    enum iv_conn state;
    int degraded; /* between 1100 and 1101/1102 (or the connection's end) */
    long cycle;   /* the n of the last cycle_start, -1 before any */
    long drops;   /* disconnects so far */
    iv_order_t *orders;
    size_t norders;
    iv_status_t *statuses;
    size_t nstatuses;
    io_us_t fault_us; /* the latest gateway fault event, INT64_MIN before any */
    int orders_lost, statuses_lost; /* the list could not grow */
};

static enum iv_class iv_class(const iv_pass_t *p, uint32_t kind)
{
    if (p->of_kind && kind < p->nclassified)
        return (enum iv_class)p->of_kind[kind];
    return iv_class_named(tr_kind_src(p->t, kind), tr_kind_ev(p->t, kind));
}

static long iv_num(const tr_event_t *e, const char *key)
{
    char buf[24];
    const char *v = tr_field_text(e, key, buf);
    return v ? strtol(v, NULL, 10) : -1;
}

/* Marks invariant kind broken at trace index i with "invariant NAME: <why>". */
static void iv_break(iv_pass_t *p, enum iv_kind kind, size_t i, io_us_t wall_us, const char *why)
{
    char t[40];
    ck_result_t *r = &p->out[kind];
    r->pass = 0;
    r->at = (long)i;
    snprintf(r->msg, sizeof r->msg, "invariant %s: %s at %s", iv_names[kind], why,
             ck_at(p->sc, wall_us, t, sizeof t));
}

/* Appends one item to a list whose capacity doubles at 2^k - 1 items. */
static int iv_push(void **list, size_t n, size_t elem, const void *item)
{
    if (!(n & (n + 1))) {
        void *grown = realloc(*list, (n + 1) * 2 * elem);
        if (!grown)
            return 0;
        *list = grown;
    }
    memcpy((char *)*list + n * elem, item, elem);
    return 1;
}

static void iv_on_session_closed(iv_pass_t *p, const tr_event_t *e)
{
    long conn = iv_num(e, "conn");
    for (size_t j = 0; j < p->live; j++)
        if (p->conn[j] == conn) {
            p->conn[j] = p->conn[--p->live];
            p->client[j] = p->client[p->live];
            break;
        }
}

static void iv_on_session_ready(iv_pass_t *p, const tr_event_t *e, size_t i)
{
    if (p->live >= IV_LIVE_MAX)
        return;
    long id = iv_num(e, "client_id"), conn = iv_num(e, "conn");
    char why[120];
    for (size_t j = 0; j < p->live && p->out[IV_ONE_SESSION].pass; j++)
        if (p->client[j] == id) {
            snprintf(why, sizeof why, "client id %ld has two live sessions (conn %ld and conn %ld)",
                     id, p->conn[j], conn);
            iv_break(p, IV_ONE_SESSION, i, e->wall_us, why);
        }
    p->conn[p->live] = conn;
    p->client[p->live++] = id;
}

/* request_window: a msg_out while the connection is not ready. */
static void iv_on_msg_out(iv_pass_t *p, const tr_event_t *e, size_t i)
{
    char why[120], buf[24];
    const char *name = tr_field_text(e, "name", buf);
    if (p->state == IV_HANDSHAKE && iv_num(e, "id") != PROTO_OUT_START_API)
        snprintf(why, sizeof why, "%s sent before ready", name ? name : "?");
    else if (p->state == IV_OFF || p->state == IV_EXITED)
        snprintf(why, sizeof why, "%s sent with no connection open", name ? name : "?");
    else
        return;
    iv_break(p, IV_REQUEST_WINDOW, i, e->wall_us, why);
}

static void iv_on_order(iv_pass_t *p, const tr_event_t *e, size_t i)
{
    if (p->out[IV_ORDER_STATE].pass && (p->state != IV_READY || p->degraded))
        iv_break(p, IV_ORDER_STATE, i, e->wall_us,
                 p->degraded ? "order sent while degraded (after error 1100)"
                             : "order sent while not connected");
    char buf[24];
    const char *sym = tr_field_text(e, "symbol", buf);
    iv_order_t o = {i, e->wall_us, iv_num(e, "order_id"), p->cycle, p->drops,
                    sym && sym != buf ? sym : ""};
    if (!iv_push((void **)&p->orders, p->norders, sizeof o, &o))
        p->orders_lost = 1;
    else
        p->norders++;
}

/* closed: a connect or an exit while a connection is open. */
static void iv_on_open_check(iv_pass_t *p, enum iv_class c, size_t i, io_us_t wall_us)
{
    if (p->state != IV_HANDSHAKE && p->state != IV_READY)
        return;
    if (c == IV_EV_CONNECT)
        iv_break(p, IV_CLOSED, i, wall_us, "a connect while the last connection is still open");
    else
        iv_break(p, IV_CLOSED, i, wall_us, "the runner exited with its connection open");
}

/* What event i (at cursor c) does to the invariants. */
static void iv_step(iv_pass_t *p, const tr_cursor_t *c, enum iv_class cls)
{
    tr_event_t e = tr_cursor_event(c);
    switch (cls) {
    case IV_EV_OTHER:
        break;
    case IV_EV_SESSION_CLOSED:
        if (p->out[IV_ONE_SESSION].pass)
            iv_on_session_closed(p, &e);
        break;
    case IV_EV_SESSION_READY:
        if (p->out[IV_ONE_SESSION].pass)
            iv_on_session_ready(p, &e, c->i);
        break;
    case IV_EV_FAULT:
        p->fault_us = c->wall_us > p->fault_us ? c->wall_us : p->fault_us;
        break;
    case IV_EV_CONNECT:
        if (p->out[IV_CLOSED].pass)
            iv_on_open_check(p, cls, c->i, c->wall_us);
        p->state = IV_HANDSHAKE;
        break;
    case IV_EV_READY:
        p->state = IV_READY;
        break;
    case IV_EV_DOWN:
        p->state = IV_OFF;
        p->degraded = 0;
        p->drops++;
        break;
    case IV_EV_EXIT:
        if (p->out[IV_CLOSED].pass)
            iv_on_open_check(p, cls, c->i, c->wall_us);
        p->state = IV_EXITED;
        break;
    case IV_EV_DEGRADED:
        p->degraded = 1;
        break;
    case IV_EV_RESTORED:
        p->degraded = 0;
        break;
    case IV_EV_CYCLE_START:
        p->cycle = iv_num(&e, "n");
        break;
    case IV_EV_MSG_OUT:
        if (p->out[IV_REQUEST_WINDOW].pass)
            iv_on_msg_out(p, &e, c->i);
        break;
    case IV_EV_ORDER:
        iv_on_order(p, &e, c->i);
        break;
    case IV_EV_STATUS:
        break;
    }
}

/* Classifies the kinds that appeared since the last call. */
static void iv_classify(iv_pass_t *p)
{
    size_t n = tr_nkinds(p->t);
    if (!p->of_kind || n <= p->nclassified)
        return;
    uint8_t *grown = realloc(p->of_kind, n);
    if (!grown) {
        free(p->of_kind);
        p->of_kind = NULL;
        return;
    }
    p->of_kind = grown;
    for (uint32_t k = (uint32_t)p->nclassified; k < n; k++)
        p->of_kind[k] = (uint8_t)iv_class_named(tr_kind_src(p->t, k), tr_kind_ev(p->t, k));
    p->nclassified = n;
}

/* The walk over the events recorded since the last one, with the latest
 * time seen so far for the status list. */
static void iv_walk(iv_pass_t *p)
{
    io_us_t seen = p->seen;
    tr_cursor_t c = tr_cursor(p->t, p->next);
    for (; c.i < c.n; tr_next(&c)) {
        seen = c.wall_us > seen ? c.wall_us : seen;
        enum iv_class cls = iv_class(p, c.kind);
        if (cls == IV_EV_OTHER || (cls == IV_EV_MSG_OUT && p->state == IV_READY))
            continue; /* most of a year: nothing to any invariant */
        if (cls == IV_EV_STATUS) {
            iv_status_t s = {c.i, seen};
            if (!iv_push((void **)&p->statuses, p->nstatuses, sizeof s, &s))
                p->statuses_lost = 1;
            else
                p->nstatuses++;
        }
        tr_cursor_t here = c; /* a copy, so that the walk's own stays in registers */
        iv_step(p, &here, cls);
    }
    p->next = c.i;
    p->seen = seen;
}

static int iv_by_id(const void *x, const void *y)
{
    const iv_order_t *a = x, *b = y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int iv_by_cycle(const void *x, const void *y)
{
    const iv_order_t *a = x, *b = y;
    int c = strcmp(a->symbol, b->symbol);
    if (c == 0 && a->cycle != b->cycle)
        c = a->cycle < b->cycle ? -1 : 1;
    if (c == 0)
        c = a->index < b->index ? -1 : a->index > b->index;
    return c;
}

/* Sorted twice, so that a year of orders costs n log n, not n^2. */
static void iv_order_once(iv_pass_t *p)
{
    iv_order_t *o = p->orders;
    size_t n = p->norders;
    char why[120];
    if (p->orders_lost) {
        snprintf(p->out[IV_ORDER_ONCE].msg, sizeof p->out[IV_ORDER_ONCE].msg,
                 "invariant order_once: out of memory");
        p->out[IV_ORDER_ONCE].pass = 0;
        return;
    }
    if (n < 2)
        return;
    qsort(o, n, sizeof *o, iv_by_id);
    for (size_t i = 1; i < n && p->out[IV_ORDER_ONCE].pass; i++)
        if (o[i].id == o[i - 1].id) {
            snprintf(why, sizeof why, "order id %ld placed twice", o[i].id);
            iv_break(p, IV_ORDER_ONCE, o[i].index, o[i].wall_us, why);
        }
    qsort(o, n, sizeof *o, iv_by_cycle);
    for (size_t i = 1; i < n && p->out[IV_ORDER_ONCE].pass; i++)
        if (strcmp(o[i].symbol, o[i - 1].symbol) == 0 && o[i].cycle == o[i - 1].cycle &&
            o[i].drops != o[i - 1].drops) {
            snprintf(why, sizeof why, "%s ordered twice in cycle %ld, across a reconnect",
                     o[i].symbol, o[i].cycle);
            iv_break(p, IV_ORDER_ONCE, o[i].index, o[i].wall_us, why);
        }
}

static void iv_nothing_left(iv_pass_t *p, const iv_input_t *in)
{
    const io_stats_t *s = &in->left;
    ck_result_t *r = &p->out[IV_NOTHING_LEFT];
    if (s->timers == 0 && s->streams == 0 && s->listeners == 0)
        return;
    r->pass = 0;
    snprintf(r->msg, sizeof r->msg, "invariant nothing_left: %zu timer(s), %zu stream(s), %zu "
             "listener(s) left after the runner and the gateway were freed",
             s->timers, s->streams, s->listeners);
}

/* ---- liveness ---------------------------------------------------------- */

/* When the last fault is over, from the schedule and from the gateway's own
 * fault events (daily restarts); -1 if one never ends. */
static io_us_t iv_last_fault_end(const iv_pass_t *p, const iv_input_t *in)
{
    io_us_t last = in->sc->start_us;
    for (size_t i = 0; i < in->nschedule; i++) {
        if (in->schedule[i].action != SC_FAULT)
            continue;
        io_us_t end = sd_event_end(&in->schedule[i]);
        if (end < 0)
            return -1;
        last = end > last ? end : last;
    }
    return p->fault_us > last ? p->fault_us : last;
}

/* The index of the status event in force at time t (the last one before
 * the first event later than t), or -1. */
static long iv_status_at(const iv_pass_t *p, io_us_t t)
{
    long at = -1;
    for (size_t k = 0; k < p->nstatuses && p->statuses[k].seen_us <= t; k++)
        at = (long)p->statuses[k].index;
    return at;
}

static void iv_judge_liveness(const iv_pass_t *p, const iv_input_t *in, ck_result_t *out)
{
    char t[40], d[40], buf[24];
    *out = (ck_result_t){.pass = 1, .at = -1};
    for (size_t i = 0; i < in->nschedule; i++)
        if (in->schedule[i].action == SC_SIGNAL) {
            snprintf(out->msg, sizeof out->msg, "not judged: the scenario ends with a signal");
            return;
        }
    io_us_t last = iv_last_fault_end(p, in);
    if (in->sc->liveness_us == 0 || last < 0) {
        snprintf(out->msg, sizeof out->msg, "not judged: %s",
                 last < 0 ? "a fault never ends" : "liveness is off");
        return;
    }
    if (p->statuses_lost) {
        out->pass = 0;
        snprintf(out->msg, sizeof out->msg, "liveness: out of memory");
        return;
    }
    io_us_t deadline = last + in->sc->liveness_us;
    if (deadline > in->run->end_us && !in->run->exited)
        deadline = in->run->end_us;
    long at = iv_status_at(p, deadline);
    const char *label = NULL;
    if (at >= 0) {
        tr_event_t e = tr_event(p->t, (size_t)at);
        label = tr_field_text(&e, "label", buf);
    }
    if (iv_label_is_live(label))
        return;
    if (deadline < last + in->sc->liveness_us && !in->run->exited) {
        snprintf(out->msg, sizeof out->msg, "not judged: the run ended %s after the last fault",
                 dur_format(deadline - last, d, sizeof d));
        return;
    }
    out->pass = 0;
    out->at = at;
    snprintf(out->msg, sizeof out->msg, "liveness: not connected %s after the last fault ended "
             "at %s: the label was \"%s\"", dur_format(in->sc->liveness_us, d, sizeof d),
             ck_at(in->sc, last, t, sizeof t), label ? label : "(none)");
}

/* ---- the pass ---------------------------------------------------------- */

static void iv_pass_init(iv_pass_t *p, const sc_scenario_t *sc, const tr_recorder_t *t)
{
    *p = (iv_pass_t){.sc = sc, .t = t, .seen = INT64_MIN, .of_kind = malloc(1),
                     .state = IV_OFF, .cycle = -1, .fault_us = INT64_MIN};
    for (int k = 0; k < IV_COUNT; k++)
        p->out[k] = (ck_result_t){.pass = 1, .at = -1};
}

static void iv_pass_release(iv_pass_t *p)
{
    free(p->of_kind);
    free(p->orders);
    free(p->statuses);
}

iv_pass_t *iv_pass_new(const sc_scenario_t *sc, const tr_recorder_t *trace)
{
    iv_pass_t *p = malloc(sizeof *p);
    if (p)
        iv_pass_init(p, sc, trace);
    return p;
}

void iv_pass_free(iv_pass_t *p)
{
    if (p)
        iv_pass_release(p);
    free(p);
}

void iv_pass_advance(iv_pass_t *p)
{
    iv_classify(p);
    iv_walk(p);
}

size_t iv_pass_finish(iv_pass_t *p, const iv_input_t *in, ck_result_t out[IV_COUNT],
                      ck_result_t *liveness)
{
    iv_pass_advance(p);
    iv_order_once(p);
    iv_nothing_left(p, in);
    iv_judge_liveness(p, in, liveness);
    size_t held = 0;
    for (int k = 0; k < IV_COUNT; k++) {
        out[k] = p->out[k];
        held += (size_t)out[k].pass;
    }
    return held;
}

size_t iv_evaluate(const iv_input_t *in, ck_result_t out[IV_COUNT], ck_result_t *liveness)
{
    iv_pass_t p;
    iv_pass_init(&p, in->sc, in->run->trace);
    size_t held = iv_pass_finish(&p, in, out, liveness);
    iv_pass_release(&p);
    return held;
}
