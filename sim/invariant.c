/* invariant.c - the invariants and the liveness phase (see invariant.h).
 * Each invariant is one pass over the trace with a small state machine of
 * the runner's connection, so a year of trace costs one linear walk each. */
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

/* A trace with its kinds classified. */
typedef struct iv_trace {
    const iv_input_t *in;
    const tr_recorder_t *t;
    size_t n;
    const uint32_t *kinds; /* tr_kinds */
    uint8_t *of_kind; /* NULL when out of memory: each event is classified in full */
} iv_trace_t;

static iv_trace_t iv_trace_new(const iv_input_t *in)
{
    const tr_recorder_t *t = in->run->trace;
    iv_trace_t x = {in, t, tr_count(t), tr_kinds(t), malloc(tr_nkinds(t) + 1)};
    for (uint32_t k = 0; x.of_kind && k < tr_nkinds(t); k++)
        x.of_kind[k] = (uint8_t)iv_class_named(tr_kind_src(t, k), tr_kind_ev(t, k));
    return x;
}

static inline enum iv_class iv_class(const iv_trace_t *x, size_t i)
{
    uint32_t kind = x->kinds[i];
    if (x->of_kind)
        return (enum iv_class)x->of_kind[kind];
    return iv_class_named(tr_kind_src(x->t, kind), tr_kind_ev(x->t, kind));
}

static long iv_num(const iv_trace_t *x, size_t i, const char *key)
{
    char buf[24];
    tr_event_t e = tr_event(x->t, i);
    const char *v = tr_field_text(&e, key, buf);
    return v ? strtol(v, NULL, 10) : -1;
}

/* Marks r broken at trace index i with "invariant NAME: <why>". */
static void iv_break(ck_result_t *r, enum iv_kind kind, const iv_trace_t *x, size_t i,
                     const char *why)
{
    char t[40];
    r->pass = 0;
    r->at = (long)i;
    snprintf(r->msg, sizeof r->msg, "invariant %s: %s at %s", iv_names[kind], why,
             ck_at(x->in->sc, tr_wall(x->t, i), t, sizeof t));
}

static void iv_one_session(const iv_trace_t *x, ck_result_t *r)
{
    long conn[IV_LIVE_MAX], client[IV_LIVE_MAX];
    size_t live = 0;
    for (size_t i = 0; i < x->n && r->pass; i++) {
        enum iv_class c = iv_class(x, i);
        if (c == IV_EV_SESSION_CLOSED) {
            for (size_t j = 0; j < live; j++)
                if (conn[j] == iv_num(x, i, "conn")) {
                    conn[j] = conn[--live];
                    client[j] = client[live];
                    break;
                }
        } else if (c == IV_EV_SESSION_READY && live < IV_LIVE_MAX) {
            long id = iv_num(x, i, "client_id");
            char why[120];
            for (size_t j = 0; j < live; j++)
                if (client[j] == id) {
                    snprintf(why, sizeof why, "client id %ld has two live sessions (conn %ld and"
                             " conn %ld)", id, conn[j], iv_num(x, i, "conn"));
                    iv_break(r, IV_ONE_SESSION, x, i, why);
                }
            conn[live] = iv_num(x, i, "conn");
            client[live++] = id;
        }
    }
}

/* The runner's connection as its events draw it. */
enum iv_conn { IV_OFF, IV_HANDSHAKE, IV_READY, IV_EXITED };

typedef struct iv_walk {
    enum iv_conn conn;
    int degraded; /* between 1100 and 1101/1102 (or the connection's end) */
    long cycle;   /* the n of the last cycle_start, -1 before any */
    long drops;   /* disconnects so far */
} iv_walk_t;

static void iv_step(iv_walk_t *w, const iv_trace_t *x, size_t i, enum iv_class c)
{
    switch (c) {
    case IV_EV_CONNECT:
        w->conn = IV_HANDSHAKE;
        break;
    case IV_EV_READY:
        w->conn = IV_READY;
        break;
    case IV_EV_DOWN:
        w->conn = IV_OFF;
        w->degraded = 0;
        w->drops++;
        break;
    case IV_EV_EXIT:
        w->conn = IV_EXITED;
        break;
    case IV_EV_DEGRADED:
        w->degraded = 1;
        break;
    case IV_EV_RESTORED:
        w->degraded = 0;
        break;
    case IV_EV_CYCLE_START:
        w->cycle = iv_num(x, i, "n");
        break;
    default:
        break;
    }
}

static void iv_request_window(const iv_trace_t *x, ck_result_t *r)
{
    iv_walk_t w = {IV_OFF, 0, -1, 0};
    for (size_t i = 0; i < x->n && r->pass; i++) {
        enum iv_class c = iv_class(x, i);
        if (c == IV_EV_MSG_OUT && w.conn != IV_READY) {
            char why[120], buf[24];
            tr_event_t e = tr_event(x->t, i);
            const char *name = tr_field_text(&e, "name", buf);
            if (w.conn == IV_HANDSHAKE && iv_num(x, i, "id") != PROTO_OUT_START_API)
                snprintf(why, sizeof why, "%s sent before ready", name ? name : "?");
            else if (w.conn == IV_OFF || w.conn == IV_EXITED)
                snprintf(why, sizeof why, "%s sent with no connection open", name ? name : "?");
            else
                continue;
            iv_break(r, IV_REQUEST_WINDOW, x, i, why);
        }
        iv_step(&w, x, i, c);
    }
}

static void iv_order_state(const iv_trace_t *x, ck_result_t *r)
{
    iv_walk_t w = {IV_OFF, 0, -1, 0};
    for (size_t i = 0; i < x->n && r->pass; i++) {
        enum iv_class c = iv_class(x, i);
        if (c == IV_EV_ORDER && (w.conn != IV_READY || w.degraded))
            iv_break(r, IV_ORDER_STATE, x, i,
                     w.degraded ? "order sent while degraded (after error 1100)"
                                : "order sent while not connected");
        iv_step(&w, x, i, c);
    }
}

/* One `order` event, with what order_once compares. */
typedef struct iv_order {
    size_t index;
    long id, cycle, drops;
    const char *symbol;
} iv_order_t;

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
static void iv_order_once(const iv_trace_t *x, ck_result_t *r)
{
    iv_walk_t w = {IV_OFF, 0, -1, 0};
    size_t norders = 0;
    iv_order_t *o = NULL;
    for (size_t i = 0; i < x->n; i++) {
        enum iv_class c = iv_class(x, i);
        if (c == IV_EV_ORDER) {
            if (!(norders & (norders + 1))) { /* capacity doubles at 2^k - 1 */
                iv_order_t *p = realloc(o, (norders + 1) * 2 * sizeof *p);
                if (!p) {
                    snprintf(r->msg, sizeof r->msg, "invariant order_once: out of memory");
                    r->pass = 0;
                    free(o);
                    return;
                }
                o = p;
            }
            char buf[24];
            tr_event_t e = tr_event(x->t, i);
            const char *sym = tr_field_text(&e, "symbol", buf);
            o[norders++] = (iv_order_t){i, iv_num(x, i, "order_id"), w.cycle, w.drops,
                                        sym && sym != buf ? sym : ""};
        }
        iv_step(&w, x, i, c);
    }
    char why[120];
    if (norders < 2) {
        free(o);
        return;
    }
    qsort(o, norders, sizeof *o, iv_by_id);
    for (size_t i = 1; i < norders && r->pass; i++)
        if (o[i].id == o[i - 1].id) {
            snprintf(why, sizeof why, "order id %ld placed twice", o[i].id);
            iv_break(r, IV_ORDER_ONCE, x, o[i].index, why);
        }
    qsort(o, norders, sizeof *o, iv_by_cycle);
    for (size_t i = 1; i < norders && r->pass; i++)
        if (strcmp(o[i].symbol, o[i - 1].symbol) == 0 && o[i].cycle == o[i - 1].cycle &&
            o[i].drops != o[i - 1].drops) {
            snprintf(why, sizeof why, "%s ordered twice in cycle %ld, across a reconnect",
                     o[i].symbol, o[i].cycle);
            iv_break(r, IV_ORDER_ONCE, x, o[i].index, why);
        }
    free(o);
}

static void iv_closed(const iv_trace_t *x, ck_result_t *r)
{
    iv_walk_t w = {IV_OFF, 0, -1, 0};
    for (size_t i = 0; i < x->n && r->pass; i++) {
        enum iv_class c = iv_class(x, i);
        int open = w.conn == IV_HANDSHAKE || w.conn == IV_READY;
        if (open && c == IV_EV_CONNECT)
            iv_break(r, IV_CLOSED, x, i, "a connect while the last connection is still open");
        else if (open && c == IV_EV_EXIT)
            iv_break(r, IV_CLOSED, x, i, "the runner exited with its connection open");
        iv_step(&w, x, i, c);
    }
}

static void iv_nothing_left(const iv_trace_t *x, ck_result_t *r)
{
    const io_stats_t *s = &x->in->left;
    if (s->timers == 0 && s->streams == 0 && s->listeners == 0)
        return;
    r->pass = 0;
    snprintf(r->msg, sizeof r->msg, "invariant nothing_left: %zu timer(s), %zu stream(s), %zu "
             "listener(s) left after the runner and the gateway were freed",
             s->timers, s->streams, s->listeners);
}

size_t iv_evaluate(const iv_input_t *in, ck_result_t out[IV_COUNT])
{
    static void (*const eval[IV_COUNT])(const iv_trace_t *, ck_result_t *) = {
        iv_one_session, iv_request_window, iv_order_state, iv_order_once, iv_closed,
        iv_nothing_left};
    iv_trace_t x = iv_trace_new(in);
    size_t held = 0;
    for (int k = 0; k < IV_COUNT; k++) {
        out[k] = (ck_result_t){.pass = 1, .at = -1};
        eval[k](&x, &out[k]);
        held += (size_t)out[k].pass;
    }
    free(x.of_kind);
    return held;
}

/* ---- liveness ---------------------------------------------------------- */

/* When the last fault is over, from the schedule and from the gateway's own
 * fault events (daily restarts); -1 if one never ends. */
static io_us_t iv_last_fault_end(const iv_trace_t *x)
{
    const iv_input_t *in = x->in;
    io_us_t last = in->sc->start_us;
    for (size_t i = 0; i < in->nschedule; i++) {
        if (in->schedule[i].action != SC_FAULT)
            continue;
        io_us_t end = sd_event_end(&in->schedule[i]);
        if (end < 0)
            return -1;
        last = end > last ? end : last;
    }
    for (size_t i = 0; i < x->n; i++)
        if (iv_class(x, i) == IV_EV_FAULT && tr_wall(x->t, i) > last)
            last = tr_wall(x->t, i);
    return last;
}

/* The runner's label in force at time t, and the index that set it. */
static const char *iv_label_at(const iv_trace_t *x, io_us_t t, long *at)
{
    const char *label = NULL;
    char buf[24];
    *at = -1;
    for (size_t i = 0; i < x->n && tr_wall(x->t, i) <= t; i++) {
        if (iv_class(x, i) == IV_EV_STATUS) {
            tr_event_t e = tr_event(x->t, i);
            label = tr_field_text(&e, "label", buf);
            *at = (long)i;
        }
    }
    return label;
}

/* The verdict of iv_liveness over the classified trace x. */
static void iv_judge_liveness(const iv_trace_t *x, ck_result_t *out)
{
    const iv_input_t *in = x->in;
    char t[40], d[40];
    io_us_t last = iv_last_fault_end(x);
    if (in->sc->liveness_us == 0 || last < 0) {
        snprintf(out->msg, sizeof out->msg, "not judged: %s",
                 last < 0 ? "a fault never ends" : "liveness is off");
        return;
    }
    io_us_t deadline = last + in->sc->liveness_us;
    if (deadline > in->run->end_us && !in->run->exited)
        deadline = in->run->end_us;
    long at;
    const char *label = iv_label_at(x, deadline, &at);
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

void iv_liveness(const iv_input_t *in, ck_result_t *out)
{
    *out = (ck_result_t){.pass = 1, .at = -1};
    for (size_t i = 0; i < in->nschedule; i++)
        if (in->schedule[i].action == SC_SIGNAL) {
            snprintf(out->msg, sizeof out->msg, "not judged: the scenario ends with a signal");
            return;
        }
    iv_trace_t x = iv_trace_new(in);
    iv_judge_liveness(&x, out);
    free(x.of_kind);
}
