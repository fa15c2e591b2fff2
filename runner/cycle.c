/* cycle.c - one trading cycle (see cycle.h) as an explicit state machine:
 *
 *   STARTING → [OPEN_ORDERS → EXECUTIONS] → POSITIONS
 *            → per symbol: HISTORICAL → SIGNAL → [ORDER → ORDER_STATUS] → NEXT
 *            → DONE
 *
 * The bracketed reconcile runs first whenever the journal holds orders
 * without a final status; ORDER runs only with trading on. cyc_enter() is
 * the one place the state changes, and it runs the entry action of the
 * state entered. Every failure (request timeout, the deadline, an errMsg
 * that ends a request, a bad reply, cyc_abort) enters DONE with a reason.
 *
 * An order is pending from its journaled intent until the journal holds
 * its final status; a pending order that is not the one this cycle waits
 * for has an unknown fate, so cyc_needs_reconcile() is just "the journal
 * has such an order". Reconcile outcomes: "open" (still working: it stays
 * pending), "filled" (executions found), "cancelled", "not_found" (the
 * gateway never had it, or dropped it without a fill). After "open" or
 * "filled" the symbol gets no new order in this cycle: positions may not
 * show that order yet.
 *
 * Reentrancy: a write that fails closes the session, whose owner may call
 * cyc_abort from inside ibc_send. cyc_send() detects that (the cycle ended,
 * or a new one started: the generation moved) and every caller returns at
 * once when it fails. Entering DONE marks the cycle ended before it sends
 * the cancels, so an abort from inside those sends is a no-op, and done is
 * the last thing it does. */
#include "cycle.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"
#include "journal.h"
#include "requests.h"
#include "strategy.h"

#define CYC_SRC "runner"
#define CYC_REASON_MAX 192
#define CYC_ERR_MAX 160

/* What each cycle asks for: 30-minute trade bars, regular hours (13 a full
 * day). "N D" counts today's session, which has few bars in the morning,
 * so 3 days keep at least the slow average's 20 bars all day long. */
static const rq_history_t cyc_history = {"3 D", "30 mins", "TRADES", 1};

enum cyc_state {
    CYC_IDLE,         /* no cycle yet */
    CYC_STARTING,     /* cyc_start ran; the first step begins from the loop */
    CYC_OPEN_ORDERS,  /* reconcile: reqOpenOrders sent, until openOrderEnd */
    CYC_EXECUTIONS,   /* reconcile: reqExecutions sent, until execDetailsEnd */
    CYC_POSITIONS,    /* reqPositions sent, until positionEnd */
    CYC_HISTORICAL,   /* reqHistoricalData for the current symbol, until its bars */
    CYC_SIGNAL,       /* the bars are in: signal, target, the order if any */
    CYC_ORDER,        /* trading: journal the intent, placeOrder, journal "sent" */
    CYC_ORDER_STATUS, /* until the order's final orderStatus */
    CYC_NEXT,         /* on to the next symbol, or DONE after the last */
    CYC_DONE          /* the cycle ended (ok or not); done has fired */
};

static const char *const cyc_state_names[] = {
    [CYC_IDLE] = "idle",
    [CYC_STARTING] = "starting",
    [CYC_OPEN_ORDERS] = "open_orders",
    [CYC_EXECUTIONS] = "executions",
    [CYC_POSITIONS] = "positions",
    [CYC_HISTORICAL] = "historical",
    [CYC_SIGNAL] = "signal",
    [CYC_ORDER] = "order",
    [CYC_ORDER_STATUS] = "order_status",
    [CYC_NEXT] = "next",
    [CYC_DONE] = "done",
};

/* What the reconcile learned about one pending order. */
typedef struct cyc_check {
    int32_t order_id;
    int open;                        /* seen working in openOrder */
    char final[JRN_STATUS_MAX + 1];  /* a final status seen, "" if none */
    double shares;                   /* executed, summed over its executions */
} cyc_check_t;

/* A symbol's last bars: their wire text (the fields from the first bar's
 * date to the last bar's count), where each bar starts in it, and the
 * closes read from them. Polling history gets nearly the same bars every
 * time (the same span grown by a bar, or moved on by a day), and bytes
 * that equal a bar kept here are that bar's fields again: its close is
 * taken from here instead of walking and parsing 8 fields. */
typedef struct cyc_bar_memo {
    char *text;
    size_t text_cap;
    size_t *start;              /* n + 1 offsets: bar i is text[start[i] .. start[i + 1]) */
    double *close;              /* the closes, oldest first (also while reading) */
    size_t n;                   /* bars kept (0 after a failed read) */
    size_t cap;                 /* closes room; start has one more */
} cyc_bar_memo_t;

struct cyc {
    io_loop_t *loop;
    ibc_t *client;
    cyc_config_t cfg;
    cyc_done_cb done;
    void *data;
    jrn_t *jrn;
    strat_params_t params;
    io_timer_t *req_timer;      /* the outstanding request's timeout (STARTING: the start) */
    io_timer_t *deadline_timer; /* the whole cycle's */
    proto_writer_t out;
    enum cyc_state state;
    uint32_t gen;               /* bumped by every cyc_start */
    uint32_t n;
    int ok;
    int timed_out; /* failed by a request timeout or the deadline */
    int orders;
    char reason[CYC_REASON_MAX];
    int32_t next_req_id;
    int32_t hist_req_id;
    int32_t exec_req_id;
    int positions_open;         /* the positions subscription runs */
    int hist_open;              /* a historical request is unanswered */
    size_t sym;                 /* the current symbol's index */
    double *pos;                /* per symbol: the position, summed over accounts */
    unsigned char *held;        /* per symbol: no new order this cycle */
    cyc_bar_memo_t *bars;       /* per symbol: its last answer's bars, closes */
    size_t nbars;               /* the current symbol's bars read (closes in bars[sym]) */
    cyc_check_t *checks;        /* reconcile: one per pending order */
    size_t nchecks;
    jrn_order_t cur;            /* the order this cycle places or waits for */
};

static void cyc_enter(cyc_t *c, enum cyc_state next);

static int cyc_is_running(const cyc_t *c)
{
    return c->state != CYC_IDLE && c->state != CYC_DONE;
}

static const char *cyc_symbol(const cyc_t *c)
{
    return c->cfg.symbols[c->sym];
}

/* Ends the cycle as failed. The caller returns right after. */
static void cyc_fail(cyc_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cyc_fail(cyc_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    c->ok = 0;
    cyc_enter(c, CYC_DONE);
}

/* Sends the frame built in c->out (build_rc: the builder's verdict). 0, or
 * <0 when the cycle has ended: failed here, or aborted by the session's
 * owner from inside the send. The caller then returns at once. */
static int cyc_send(cyc_t *c, int build_rc, const char *what)
{
    if (build_rc < 0) {
        cyc_fail(c, "%s: %s", what, proto_strerror(build_rc));
        return build_rc;
    }
    uint32_t gen = c->gen;
    int rc = ibc_send(c->client, &c->out);
    if (rc < 0 && gen == c->gen && cyc_is_running(c))
        cyc_fail(c, "%s: %s", what, rc == IO_ERR_INVAL ? "not connected" : io_strerror(rc));
    return rc;
}

/* A request is out: arm its timeout. Which request it is follows from the
 * state, and is written out only if the timeout fires (cyc_waiting_for). */
static void cyc_await(cyc_t *c)
{
    io_timer_start(c->req_timer, c->cfg.request_timeout_us);
}

/* The request a timeout in this state names. */
static void cyc_waiting_for(const cyc_t *c, char *buf, size_t cap)
{
    switch (c->state) {
    case CYC_OPEN_ORDERS:
        snprintf(buf, cap, "reqOpenOrders");
        break;
    case CYC_EXECUTIONS:
        snprintf(buf, cap, "reqExecutions");
        break;
    case CYC_POSITIONS:
        snprintf(buf, cap, "reqPositions");
        break;
    case CYC_HISTORICAL:
        snprintf(buf, cap, "reqHistoricalData %s", cyc_symbol(c));
        break;
    case CYC_ORDER_STATUS:
        snprintf(buf, cap, "orderStatus %s order %d", c->cur.symbol, (int)c->cur.order_id);
        break;
    default: /* no request awaits a reply in the other states */
        snprintf(buf, cap, "%s", cyc_state_names[c->state]);
        break;
    }
}

static int cyc_status_final(const char *status)
{
    static const char *const finals[] = {"Filled", "Cancelled", "ApiCancelled", "Inactive"};
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++)
        if (strcmp(status, finals[i]) == 0)
            return 1;
    return 0;
}

/* ---- entry actions ------------------------------------------------------ */

static void cyc_enter_starting(cyc_t *c)
{
    IO_TRACE(c->loop, CYC_SRC, "cycle_start", IO_TI("n", c->n));
    io_log(c->loop, IO_LOG_INFO, CYC_SRC, "cycle %u starts", (unsigned)c->n);
    io_timer_start(c->deadline_timer, c->cfg.deadline_us);
    io_timer_start(c->req_timer, 0); /* done never fires from inside cyc_start */
}

/* Snapshots the pending orders to check, then asks for the open orders. */
static void cyc_enter_open_orders(cyc_t *c)
{
    size_t n = jrn_pending_count(c->jrn);
    free(c->checks);
    c->nchecks = 0;
    c->checks = calloc(n, sizeof *c->checks);
    if (!c->checks) {
        cyc_fail(c, "reconcile: out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        c->checks[i].order_id = jrn_pending_at(c->jrn, i)->order_id;
    c->nchecks = n;
    io_log(c->loop, IO_LOG_INFO, CYC_SRC, "reconciling %zu order(s) of unknown fate", n);
    if (cyc_send(c, rq_req_open_orders(&c->out), "reqOpenOrders") < 0)
        return;
    cyc_await(c);
}

static void cyc_enter_executions(cyc_t *c)
{
    c->exec_req_id = c->next_req_id++;
    int rc = rq_req_executions(&c->out, c->exec_req_id, ibc_client_id(c->client));
    if (cyc_send(c, rc, "reqExecutions") < 0)
        return;
    cyc_await(c);
}

static void cyc_enter_positions(cyc_t *c)
{
    if (cyc_send(c, rq_req_positions(&c->out), "reqPositions") < 0)
        return;
    c->positions_open = 1;
    cyc_await(c);
}

static void cyc_enter_historical(cyc_t *c)
{
    c->hist_req_id = c->next_req_id++;
    c->nbars = 0;
    int rc = rq_req_historical(&c->out, c->hist_req_id, cyc_symbol(c), &cyc_history);
    if (cyc_send(c, rc, "reqHistoricalData") < 0)
        return;
    c->hist_open = 1;
    cyc_await(c);
}

void cyc_format_fixed4(char *buf, size_t cap, double v)
{
    /* Below 2^31 the fraction is exactly m / 2^(53 - e) with m < 2^53, so
     * 10^4 times it is m * 625 / 2^(49 - e), and m * 625 fits 64 bits:
     * the digits and the rounding (to nearest, ties to even, as printf
     * under the default mode) are exact. Anything else goes to printf. */
    double a = fabs(v);
    if (!(a < 2147483648.0) || cap < 32) {
        snprintf(buf, cap, "%.4f", v);
        return;
    }
    uint64_t ip = (uint64_t)a, q = 0;
    double frac = a - (double)ip; /* exact */
    uint64_t bits;
    memcpy(&bits, &frac, sizeof bits);
    /* frac = m / 2^(53 - e) with m = 2^52 + the stored mantissa and
     * e = the biased exponent - 1022 (frexp and ldexp, read off the bits).
     * At a biased exponent up to 1007 (subnormals and 0 included) the
     * shift below is 64 or more: the product is under half a unit. */
    int biased = (int)(bits >> 52 & 0x7FF);
    if (biased > 1007) {
        uint64_t m = (UINT64_C(1) << 52) | (bits & ((UINT64_C(1) << 52) - 1));
        int sh = 49 - (biased - 1022);
        uint64_t x = m * 625, half = UINT64_C(1) << (sh - 1);
        uint64_t rem = x & ((half << 1) - 1);
        q = x >> sh;
        if (rem > half || (rem == half && (q & 1)))
            q++;
        if (q == 10000) {
            ip++;
            q = 0;
        }
    }
    char digits[16];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip > 0);
    char *p = buf;
    if (signbit(v))
        *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    *p++ = '.';
    for (int i = 3; i >= 0; i--) {
        p[i] = (char)('0' + q % 10);
        q /= 10;
    }
    p[4] = '\0';
}

static void cyc_enter_signal(cyc_t *c)
{
    const char *sym = cyc_symbol(c);
    strat_signal_t s;
    if (strat_signal(c->bars[c->sym].close, c->nbars, &c->params, &s) < 0) {
        cyc_fail(c, "not enough bars for %s: %zu, need %zu", sym, c->nbars, c->params.slow);
        return;
    }
    char fast[32], slow[32];
    cyc_format_fixed4(fast, sizeof fast, s.fast);
    cyc_format_fixed4(slow, sizeof slow, s.slow);
    IO_TRACE(c->loop, CYC_SRC, "signal_computed", IO_TS("symbol", sym), IO_TS("fast", fast),
             IO_TS("slow", slow), IO_TI("target", s.target));
    strat_order_t o = strat_order(s.target, c->pos[c->sym]);
    if (o.qty == 0) {
        cyc_enter(c, CYC_NEXT);
        return;
    }
    if (c->held[c->sym]) {
        io_log(c->loop, IO_LOG_WARN, CYC_SRC,
               "%s: no new order this cycle: an earlier one was just reconciled", sym);
        cyc_enter(c, CYC_NEXT);
        return;
    }
    if (!c->cfg.trade) {
        IO_TRACE(c->loop, CYC_SRC, "order_dry_run", IO_TS("symbol", sym), IO_TS("action", o.action),
                 IO_TI("qty", o.qty));
        io_log(c->loop, IO_LOG_INFO, CYC_SRC, "dry run: would %s %lld %s", o.action,
               (long long)o.qty, sym);
        cyc_enter(c, CYC_NEXT);
        return;
    }
    c->cur = (jrn_order_t){.cycle = c->n, .qty = o.qty};
    snprintf(c->cur.symbol, sizeof c->cur.symbol, "%s", sym);
    snprintf(c->cur.action, sizeof c->cur.action, "%s", o.action);
    cyc_enter(c, CYC_ORDER);
}

/* The intent is durable before the first byte of the order is sent. If the
 * send fails, the order stays pending and the next cycle reconciles it. */
static void cyc_enter_order(cyc_t *c)
{
    char err[CYC_ERR_MAX];
    if (!ibc_is_ready(c->client)) {
        cyc_fail(c, "placeOrder %s: not connected", c->cur.symbol);
        return;
    }
    c->cur.order_id = ibc_take_order_id(c->client);
    if (jrn_intent(c->jrn, &c->cur, err, sizeof err) < 0) {
        cyc_fail(c, "%s", err);
        return;
    }
    int rc = rq_place_market_order(&c->out, c->cur.order_id, c->cur.symbol, c->cur.action,
                                   c->cur.qty);
    if (cyc_send(c, rc, "placeOrder") < 0)
        return;
    c->orders++;
    IO_TRACE(c->loop, CYC_SRC, "order", IO_TS("symbol", c->cur.symbol),
             IO_TS("action", c->cur.action), IO_TI("qty", c->cur.qty),
             IO_TI("order_id", c->cur.order_id));
    io_log(c->loop, IO_LOG_INFO, CYC_SRC, "order %d: %s %lld %s", (int)c->cur.order_id,
           c->cur.action, (long long)c->cur.qty, c->cur.symbol);
    if (jrn_sent(c->jrn, c->cur.order_id, err, sizeof err) < 0) {
        cyc_fail(c, "%s", err);
        return;
    }
    cyc_enter(c, CYC_ORDER_STATUS);
}

/* Sends what cancels the requests still outstanding, while the session is
 * up; the cycle has already ended, so a failed write changes nothing. */
static void cyc_cancel_outstanding(cyc_t *c)
{
    if (c->hist_open && rq_cancel_historical(&c->out, c->hist_req_id) == 0)
        ibc_send(c->client, &c->out);
    if (c->positions_open && rq_cancel_positions(&c->out) == 0)
        ibc_send(c->client, &c->out);
    c->hist_open = c->positions_open = 0;
}

static void cyc_enter_done(cyc_t *c)
{
    io_timer_stop(c->req_timer);
    io_timer_stop(c->deadline_timer);
    free(c->checks);
    c->checks = NULL;
    c->nchecks = 0;
    cyc_cancel_outstanding(c);
    /* The reason outlives a new cycle that done may start (cyc_start
     * clears c->reason); c->reason always holds its NUL. */
    char reason[CYC_REASON_MAX];
    if (c->ok)
        reason[0] = '\0';
    else
        memcpy(reason, c->reason, sizeof reason);
    IO_TRACE(c->loop, CYC_SRC, "cycle_end", IO_TI("n", c->n), IO_TI("ok", c->ok),
             IO_TS("reason", reason));
    if (c->ok)
        io_log(c->loop, IO_LOG_INFO, CYC_SRC, "cycle %u done, %d order(s)", (unsigned)c->n,
               c->orders);
    else
        io_log(c->loop, IO_LOG_WARN, CYC_SRC, "cycle %u failed: %s", (unsigned)c->n, reason);
    cyc_result_t res = {c->n, c->ok, reason, c->orders, c->timed_out};
    c->done(c->data, &res);
}

static void cyc_enter(cyc_t *c, enum cyc_state next)
{
    io_log(c->loop, IO_LOG_DEBUG, CYC_SRC, "cycle %s -> %s", cyc_state_names[c->state],
           cyc_state_names[next]);
    c->state = next;
    switch (next) {
    case CYC_IDLE:
        break;
    case CYC_STARTING:
        cyc_enter_starting(c);
        break;
    case CYC_OPEN_ORDERS:
        cyc_enter_open_orders(c);
        break;
    case CYC_EXECUTIONS:
        cyc_enter_executions(c);
        break;
    case CYC_POSITIONS:
        cyc_enter_positions(c);
        break;
    case CYC_HISTORICAL:
        cyc_enter_historical(c);
        break;
    case CYC_SIGNAL:
        cyc_enter_signal(c);
        break;
    case CYC_ORDER:
        cyc_enter_order(c);
        break;
    case CYC_ORDER_STATUS:
        cyc_await(c);
        break;
    case CYC_NEXT:
        c->sym++;
        cyc_enter(c, c->sym < c->cfg.nsymbols ? CYC_HISTORICAL : CYC_DONE);
        break;
    case CYC_DONE:
        cyc_enter_done(c);
        break;
    }
}

/* ---- the reconcile ------------------------------------------------------ */

static cyc_check_t *cyc_check_find(cyc_t *c, int32_t order_id)
{
    for (size_t i = 0; i < c->nchecks; i++)
        if (c->checks[i].order_id == order_id)
            return &c->checks[i];
    return NULL;
}

static void cyc_hold_symbol(cyc_t *c, const char *symbol)
{
    for (size_t i = 0; i < c->cfg.nsymbols; i++)
        if (strcmp(c->cfg.symbols[i], symbol) == 0)
            c->held[i] = 1;
}

/* Settles one checked order: traces the outcome and journals its final
 * status unless it is still working. 0, or <0 when the journal failed. */
static int cyc_settle(cyc_t *c, const cyc_check_t *k, char *err, size_t errlen)
{
    const jrn_order_t *o = jrn_find(c->jrn, k->order_id);
    int executed = k->shares > 0 || strcmp(k->final, "Filled") == 0;
    const char *outcome = k->open ? "open"
                          : executed ? "filled"
                          : k->final[0] ? "cancelled"
                                        : "not_found";
    IO_TRACE(c->loop, CYC_SRC, "reconcile", IO_TS("symbol", o->symbol),
             IO_TI("order_id", k->order_id), IO_TS("outcome", outcome));
    io_log(c->loop, IO_LOG_INFO, CYC_SRC, "order %d (%s %lld %s): %s", (int)k->order_id,
           o->action, (long long)o->qty, o->symbol, outcome);
    if (k->open || executed)
        cyc_hold_symbol(c, o->symbol);
    if (k->open)
        return 0;
    const char *status = k->final[0] ? k->final : executed ? "Filled" : "NotFound";
    return jrn_final(c->jrn, k->order_id, status, llround(k->shares), err, errlen);
}

static void cyc_settle_all(cyc_t *c)
{
    char err[CYC_ERR_MAX];
    for (size_t i = 0; i < c->nchecks; i++) {
        if (cyc_settle(c, &c->checks[i], err, sizeof err) < 0) {
            cyc_fail(c, "%s", err);
            return;
        }
    }
    cyc_enter(c, CYC_POSITIONS);
}

/* ---- replies ------------------------------------------------------------ */

/* A reply handler returns at once when the cycle does not wait for that
 * reply; otherwise it reads all it needs (<0 with err for a malformed
 * frame, which fails the cycle) and only then acts, as its last step. */

static int cyc_on_position(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t version;
    const char *account, *symbol, *sec_type, *qty;
    if (c->state != CYC_POSITIONS)
        return 0; /* updates stream after positionEnd until the cancel lands */
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_str(r, &account, err, errlen);
    if (rc == 0)
        rc = proto_skip(r, 1, err, errlen); /* conId */
    if (rc == 0)
        rc = proto_read_str(r, &symbol, err, errlen);
    if (rc == 0)
        rc = proto_read_str(r, &sec_type, err, errlen);
    if (rc == 0)
        rc = proto_skip(r, 8, err, errlen); /* lastTradeDate .. tradingClass */
    if (rc == 0)
        rc = proto_read_decimal(r, &qty, err, errlen);
    if (rc < 0 || strcmp(sec_type, "STK") != 0)
        return rc;
    for (size_t i = 0; i < c->cfg.nsymbols; i++)
        if (strcmp(c->cfg.symbols[i], symbol) == 0)
            c->pos[i] += strtod(qty, NULL); /* "" (unset) reads as 0 */
    return 0;
}

static void cyc_on_position_end(cyc_t *c)
{
    if (c->state != CYC_POSITIONS)
        return;
    io_timer_stop(c->req_timer);
    /* The subscription would stream every change until cancelled. */
    c->positions_open = 0;
    if (cyc_send(c, rq_cancel_positions(&c->out), "cancelPositions") < 0)
        return;
    c->sym = 0;
    cyc_enter(c, CYC_HISTORICAL);
}

/* Room for n bars' closes and offsets in m; 0 or PROTO_ERR_NOMEM. */
static int cyc_memo_reserve(cyc_bar_memo_t *m, size_t n)
{
    if (m->start && n <= m->cap)
        return 0;
    double *close = realloc(m->close, n * sizeof *close);
    if (close)
        m->close = close;
    size_t *start = close ? realloc(m->start, (n + 1) * sizeof *start) : NULL;
    if (!start)
        return PROTO_ERR_NOMEM;
    m->start = start;
    m->cap = n;
    return 0;
}

/* The run of kept bars that the bars at s (avail bytes) begin with, at
 * most n: the first kept bar j whose bytes are there, and the bars after
 * it while theirs follow (all of them, in one compare, the common case).
 * The count, with *j and *len (its bytes) set. */
static size_t cyc_memo_match(const cyc_bar_memo_t *m, const char *s, size_t avail, size_t n,
                             size_t *j, size_t *len)
{
    size_t first = 0;
    for (; first < m->n; first++) {
        size_t w = m->start[first + 1] - m->start[first];
        if (w <= avail && memcmp(s, m->text + m->start[first], w) == 0)
            break;
    }
    *j = first;
    *len = 0;
    if (first == m->n)
        return 0;
    size_t all = m->n - first < n ? m->n - first : n;
    size_t at = m->start[first + all] - m->start[first], k = 0;
    if (at <= avail && memcmp(s, m->text + m->start[first], at) == 0) {
        *len = at;
        return all;
    }
    for (at = 0; k < all; k++) {
        size_t from = m->start[first + k], w = m->start[first + k + 1] - from;
        if (w > avail - at || memcmp(s + at, m->text + from, w) != 0)
            break;
        at += w;
    }
    *len = at;
    return k;
}

/* Keeps the text of the bars just read (s, len bytes) as the memo's; on
 * no memory the memo is just emptied. */
static void cyc_memo_keep(cyc_bar_memo_t *m, const char *s, size_t len, size_t n)
{
    m->n = 0;
    if (len == 0) /* no bars: nothing to keep (and text may be NULL) */
        return;
    if (len > m->text_cap) {
        char *text = realloc(m->text, len);
        if (!text)
            return;
        m->text = text;
        m->text_cap = len;
    }
    memcpy(m->text, s, len);
    m->n = n;
}

/* Keeps the closes of n bars. A count the frame cannot hold (fewer than
 * 8 fields a bar left) is reported as such. Counting the fields left walks
 * the whole frame, so it is done only when reading fails: a count of more
 * than a bar per 8 bytes left is refused at once (a field takes a byte at
 * least), any other is read, and a failed read that ran out of bars says so.
 * Bars that are a run of the symbol's last ones, byte for byte, take their
 * closes from the memo; the others are read. */
static int cyc_read_bars(cyc_t *c, proto_reader_t *r, int32_t n, char *err, size_t errlen)
{
    const proto_reader_t start = *r;
    cyc_bar_memo_t *m = &c->bars[c->sym];
    int rc = 0;
    if (n < 0 || (size_t)n > (r->len - r->pos) / 8) {
        rc = PROTO_ERR_FIELD;
    } else if (cyc_memo_reserve(m, (size_t)n) < 0) {
        m->n = 0;
        snprintf(err, errlen, "out of memory");
        return PROTO_ERR_NOMEM;
    }
    size_t k = 0;
    if (rc == 0) {
        size_t j, len;
        k = cyc_memo_match(m, r->p + r->pos, r->len - r->pos, (size_t)n, &j, &len);
        /* Bars j.. become 0..: every index moves down (or stays). */
        memmove(m->close, m->close + j, k * sizeof *m->close);
        for (size_t i = 0, base = m->start[j]; i < k; i++)
            m->start[i] = m->start[j + i] - base;
        r->pos += len;
        r->index += 8 * (int)k;
    }
    /* A bar is date, open, high, low, close, volume, WAP, count. */
    for (size_t i = k; i < (size_t)n && rc == 0; i++) {
        m->start[i] = r->pos - start.pos;
        rc = proto_skip(r, 4, err, errlen);
        if (rc == 0)
            rc = proto_read_double(r, &m->close[i], err, errlen);
        if (rc == 0)
            rc = proto_skip(r, 3, err, errlen);
    }
    if (rc < 0 && (n < 0 || n > proto_reader_remaining(&start) / 8)) {
        snprintf(err, errlen, "bar count %d does not match the frame", (int)n);
        rc = PROTO_ERR_FIELD;
    }
    if (rc == 0) {
        m->start[n] = r->pos - start.pos;
        cyc_memo_keep(m, start.p + start.pos, r->pos - start.pos, (size_t)n);
    } else {
        m->n = 0;
    }
    c->nbars = rc == 0 ? (size_t)n : 0;
    return rc;
}

static int cyc_on_historical(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t req_id, n;
    if (c->state != CYC_HISTORICAL)
        return 0;
    int rc = proto_read_int(r, &req_id, err, errlen);
    if (rc < 0 || req_id != c->hist_req_id)
        return rc;
    rc = proto_skip(r, 2, err, errlen); /* start, end */
    if (rc == 0)
        rc = proto_read_int(r, &n, err, errlen);
    if (rc == 0)
        rc = cyc_read_bars(c, r, n, err, errlen);
    if (rc < 0)
        return rc;
    io_timer_stop(c->req_timer);
    c->hist_open = 0;
    cyc_enter(c, CYC_SIGNAL);
    return 0;
}

/* A final status for the order this cycle waits for: journal it, move on. */
static void cyc_order_final(cyc_t *c, const char *status, long long filled)
{
    char err[CYC_ERR_MAX];
    io_timer_stop(c->req_timer);
    if (jrn_final(c->jrn, c->cur.order_id, status, filled, err, sizeof err) < 0) {
        cyc_fail(c, "%s", err);
        return;
    }
    cyc_enter(c, CYC_NEXT);
}

static int cyc_on_order_status(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t order_id;
    const char *status, *filled;
    int reconciling = c->state == CYC_OPEN_ORDERS || c->state == CYC_EXECUTIONS;
    if (c->state != CYC_ORDER_STATUS && !reconciling)
        return 0;
    int rc = proto_read_int(r, &order_id, err, errlen);
    if (rc == 0)
        rc = proto_read_str(r, &status, err, errlen);
    if (rc == 0)
        rc = proto_read_decimal(r, &filled, err, errlen);
    if (rc < 0)
        return rc;
    int waited = c->state == CYC_ORDER_STATUS && order_id == c->cur.order_id;
    cyc_check_t *k = reconciling ? cyc_check_find(c, order_id) : NULL;
    if (!waited && !k)
        return 0;
    long long shares = llround(strtod(filled, NULL));
    IO_TRACE(c->loop, CYC_SRC, "order_status", IO_TI("order_id", order_id),
             IO_TS("status", status), IO_TI("filled", shares));
    if (!cyc_status_final(status))
        return 0;
    if (k)
        snprintf(k->final, sizeof k->final, "%s", status);
    else
        cyc_order_final(c, status, shares);
    return 0;
}

/* openOrder: fields 1-25 and 85 (table 4.4); the frame bounds the rest. */
static int cyc_on_open_order(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t order_id;
    const char *status;
    if (c->state != CYC_OPEN_ORDERS)
        return 0; /* the openOrder that follows a placeOrder says nothing final */
    int rc = proto_read_int(r, &order_id, err, errlen);
    if (rc == 0)
        rc = proto_skip(r, 84 - 1, err, errlen); /* 2 conId .. 84 */
    if (rc == 0)
        rc = proto_read_str(r, &status, err, errlen); /* 85 orderState.status */
    if (rc < 0)
        return rc;
    cyc_check_t *k = cyc_check_find(c, order_id);
    if (!k)
        return 0;
    if (cyc_status_final(status))
        snprintf(k->final, sizeof k->final, "%s", status);
    else
        k->open = 1;
    return 0;
}

static void cyc_on_open_order_end(cyc_t *c)
{
    if (c->state != CYC_OPEN_ORDERS)
        return;
    io_timer_stop(c->req_timer);
    cyc_enter(c, CYC_EXECUTIONS);
}

/* execDetails: reqId, orderId, ..., shares (19), ..., clientId (22). */
static int cyc_on_execution(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t req_id, order_id, client_id;
    const char *shares;
    if (c->state != CYC_EXECUTIONS)
        return 0; /* live fills (reqId -1) of the order waited for say less than orderStatus */
    int rc = proto_read_int(r, &req_id, err, errlen);
    if (rc == 0)
        rc = proto_read_int(r, &order_id, err, errlen);
    if (rc == 0)
        rc = proto_skip(r, 16, err, errlen); /* 3 conId .. 18 side */
    if (rc == 0)
        rc = proto_read_decimal(r, &shares, err, errlen);
    if (rc == 0)
        rc = proto_skip(r, 2, err, errlen); /* price, permId */
    if (rc == 0)
        rc = proto_read_int(r, &client_id, err, errlen);
    if (rc < 0 || req_id != c->exec_req_id)
        return rc;
    /* Order ids are per client id: another client's order 5 is not ours. */
    cyc_check_t *k = client_id == ibc_client_id(c->client) ? cyc_check_find(c, order_id) : NULL;
    if (k)
        k->shares += strtod(shares, NULL);
    return 0;
}

static int cyc_on_execution_end(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t version, req_id;
    if (c->state != CYC_EXECUTIONS)
        return 0;
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_int(r, &req_id, err, errlen);
    if (rc < 0 || req_id != c->exec_req_id)
        return rc;
    io_timer_stop(c->req_timer);
    cyc_settle_all(c);
    return 0;
}

/* An errMsg with the id of what this cycle waits for ends that request. */
static int cyc_on_error(cyc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    proto_err_msg_t m;
    int rc = proto_read_err_msg(r, &m, err, errlen);
    if (rc < 0 || m.id < 0 || proto_error_is_notice(m.code))
        return rc;
    int32_t id = m.id, code = m.code;
    const char *text = m.text;
    if (c->state == CYC_HISTORICAL && id == c->hist_req_id) {
        c->hist_open = 0; /* the gateway ended it: nothing to cancel */
        cyc_fail(c, "reqHistoricalData %s: error %d: %s", cyc_symbol(c), (int)code, text);
    } else if (c->state == CYC_EXECUTIONS && id == c->exec_req_id) {
        cyc_fail(c, "reqExecutions: error %d: %s", (int)code, text);
    } else if (c->state == CYC_ORDER_STATUS && id == c->cur.order_id) {
        if (code == PROTO_CODE_ORDER_CANCELLED) {
            IO_TRACE(c->loop, CYC_SRC, "order_status", IO_TI("order_id", id),
                     IO_TS("status", "Cancelled"), IO_TI("filled", 0));
            cyc_order_final(c, "Cancelled", 0);
        } else {
            /* Its fate is not certain: it stays pending, to reconcile. */
            cyc_fail(c, "placeOrder %s order %d: error %d: %s", c->cur.symbol, (int)id,
                     (int)code, text);
        }
    }
    return 0;
}

/* ---- timers ------------------------------------------------------------- */

static void cyc_on_req_timer(io_timer_t *t, void *data)
{
    (void)t;
    cyc_t *c = data;
    if (c->state != CYC_STARTING) {
        char what[64];
        cyc_waiting_for(c, what, sizeof what);
        c->timed_out = 1;
        cyc_fail(c, "request timeout: %s", what);
        return;
    }
    if (!ibc_is_ready(c->client))
        cyc_fail(c, "not connected");
    else
        cyc_enter(c, jrn_pending_count(c->jrn) ? CYC_OPEN_ORDERS : CYC_POSITIONS);
}

static void cyc_on_deadline(io_timer_t *t, void *data)
{
    (void)t;
    cyc_t *c = data;
    c->timed_out = 1;
    cyc_fail(c, "deadline");
}

/* ---- public ------------------------------------------------------------- */

static int cyc_config_check(const cyc_config_t *cfg, cyc_done_cb done, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (!cfg->symbols || cfg->nsymbols == 0)
        bad = "no symbols";
    else if (cfg->request_timeout_us <= 0 || cfg->deadline_us <= 0)
        bad = "request timeout and deadline must be positive";
    else if (!done)
        bad = "no done callback";
    for (size_t i = 0; !bad && i < cfg->nsymbols; i++) {
        const char *s = cfg->symbols[i];
        if (!s || !s[0] || strlen(s) > JRN_SYMBOL_MAX || strcspn(s, " \t\r\n") != strlen(s))
            bad = "a symbol is empty, too long or holds a space";
    }
    if (!bad)
        return 0;
    snprintf(err, errlen, "cycle config: %s", bad);
    return IO_ERR_INVAL;
}

int cyc_new(io_loop_t *loop, ibc_t *client, const cyc_config_t *cfg, cyc_done_cb done,
            void *data, cyc_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = cyc_config_check(cfg, done, err, errlen);
    if (rc < 0)
        return rc;
    cyc_t *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->loop = loop;
    c->client = client;
    c->cfg = *cfg;
    c->done = done;
    c->data = data;
    c->params = STRAT_PARAMS_DEFAULT;
    c->next_req_id = 1;
    proto_writer_init(&c->out);
    c->pos = calloc(cfg->nsymbols, sizeof *c->pos);
    c->held = calloc(cfg->nsymbols, sizeof *c->held);
    c->bars = calloc(cfg->nsymbols, sizeof *c->bars);
    c->req_timer = io_timer_new(loop, cyc_on_req_timer, c);
    c->deadline_timer = io_timer_new(loop, cyc_on_deadline, c);
    if (!c->pos || !c->held || !c->bars || !c->req_timer || !c->deadline_timer)
        goto nomem;
    rc = jrn_open(cfg->journal_file, &c->jrn, err, errlen);
    if (rc < 0) {
        cyc_free(c);
        return rc;
    }
    if (jrn_torn_line(c->jrn))
        io_log(loop, IO_LOG_WARN, CYC_SRC, "journal %s: dropped the torn last line %zu",
               cfg->journal_file, jrn_torn_line(c->jrn));
    /* Ids an earlier run used are never handed out again. */
    ibc_note_order_id(client, jrn_max_order_id(c->jrn));
    *out = c;
    return 0;

nomem:
    cyc_free(c);
    snprintf(err, errlen, "cycle: out of memory");
    return IO_ERR_NOMEM;
}

void cyc_free(cyc_t *c)
{
    if (!c)
        return;
    io_timer_free(c->req_timer);
    io_timer_free(c->deadline_timer);
    proto_writer_free(&c->out);
    jrn_close(c->jrn);
    free(c->pos);
    free(c->held);
    for (size_t i = 0; c->bars && i < c->cfg.nsymbols; i++) {
        free(c->bars[i].text);
        free(c->bars[i].start);
        free(c->bars[i].close);
    }
    free(c->bars);
    free(c->checks);
    free(c);
}

int cyc_start(cyc_t *c, uint32_t n)
{
    if (cyc_is_running(c))
        return IO_ERR_INVAL;
    c->gen++;
    c->n = n;
    c->ok = 1;
    c->timed_out = 0;
    c->orders = 0;
    c->reason[0] = '\0';
    c->sym = 0;
    memset(c->pos, 0, c->cfg.nsymbols * sizeof *c->pos);
    memset(c->held, 0, c->cfg.nsymbols * sizeof *c->held);
    cyc_enter(c, CYC_STARTING);
    return 0;
}

int cyc_running(const cyc_t *c)
{
    return cyc_is_running(c);
}

void cyc_abort(cyc_t *c, const char *reason)
{
    if (cyc_is_running(c))
        cyc_fail(c, "%s", reason);
}

void cyc_on_message(cyc_t *c, int32_t msg_id, const proto_frame_t *frame)
{
    char err[CYC_ERR_MAX];
    proto_reader_t r;
    proto_reader_init(&r, frame);
    if (!cyc_is_running(c) || proto_skip(&r, 1, err, sizeof err) < 0) /* the id: msg_id */
        return;
    int rc = 0;
    switch (msg_id) {
    case PROTO_IN_POSITION_DATA:
        rc = cyc_on_position(c, &r, err, sizeof err);
        break;
    case PROTO_IN_POSITION_END:
        cyc_on_position_end(c);
        break;
    case PROTO_IN_HISTORICAL_DATA:
        rc = cyc_on_historical(c, &r, err, sizeof err);
        break;
    case PROTO_IN_ORDER_STATUS:
        rc = cyc_on_order_status(c, &r, err, sizeof err);
        break;
    case PROTO_IN_OPEN_ORDER:
        rc = cyc_on_open_order(c, &r, err, sizeof err);
        break;
    case PROTO_IN_OPEN_ORDER_END:
        cyc_on_open_order_end(c);
        break;
    case PROTO_IN_EXECUTION_DATA:
        rc = cyc_on_execution(c, &r, err, sizeof err);
        break;
    case PROTO_IN_EXECUTION_DATA_END:
        rc = cyc_on_execution_end(c, &r, err, sizeof err);
        break;
    case PROTO_IN_ERR_MSG:
        rc = cyc_on_error(c, &r, err, sizeof err);
        break;
    default:
        break;
    }
    /* Handlers fail only before they act, so the cycle still runs here. */
    if (rc < 0) {
        const char *name = proto_in_name(msg_id);
        cyc_fail(c, "bad %s: %s", name ? name : "message", err);
    }
}

int cyc_needs_reconcile(const cyc_t *c)
{
    size_t n = jrn_pending_count(c->jrn);
    /* The order this cycle still waits for has no unknown fate yet. */
    if (c->state == CYC_ORDER_STATUS && jrn_find(c->jrn, c->cur.order_id))
        n--;
    return n > 0;
}
