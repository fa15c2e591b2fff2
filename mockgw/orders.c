/* orders.c - the gateway-wide order book: orders, executions, positions,
 * and the one-second check that fills resting limit orders. All growth is
 * in plain arrays: the book is small and its walk order (placement order)
 * must be deterministic. */
#include "orders.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORD_CHECK_US IO_US_PER_S
#define ORD_START_CASH 1000000.0
#define ORD_FIRST_PERM_ID 1000001
#define ORD_COMMISSION_PER_SHARE 0.005
#define ORD_COMMISSION_MIN 1.0

typedef struct ord_client_ids {
    int client_id;
    int max_id;
} ord_client_ids_t;

struct gw_orders {
    io_loop_t *loop;
    const gw_config_t *cfg;
    const gw_market_t *mkt;
    gw_ord_event_cb cb;
    void *data;
    io_timer_t *timer;
    gw_ord_order_t *orders;
    size_t norders, orders_cap;
    gw_ord_exec_t *execs;
    size_t nexecs, execs_cap;
    gw_ord_position_t *positions;
    size_t npositions, positions_cap;
    ord_client_ids_t *ids;
    size_t nids, ids_cap;
};

/* Makes room for one more element of size `size` in *v. 0 or -1. */
static int ord_grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t next = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, next * size);
    if (!p)
        return -1;
    *v = p;
    *cap = next;
    return 0;
}

static void ord_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static int64_t ord_now_s(const gw_orders_t *b)
{
    return io_wall_us(b->loop) / IO_US_PER_S;
}

/* ---- positions --------------------------------------------------------- */

static gw_ord_position_t *ord_position(gw_orders_t *b, const char *account,
                                       const gw_mkt_contract_t *c)
{
    for (size_t i = 0; i < b->npositions; i++)
        if (strcmp(b->positions[i].account, account) == 0 &&
            strcmp(b->positions[i].contract.key, c->key) == 0)
            return &b->positions[i];
    if (ord_grow((void **)&b->positions, b->npositions, &b->positions_cap,
                 sizeof *b->positions) < 0)
        return NULL;
    gw_ord_position_t *p = &b->positions[b->npositions++];
    memset(p, 0, sizeof *p);
    ord_copy(p->account, sizeof p->account, account);
    p->contract = *c;
    return p;
}

/* Average cost moves only when the position grows; across zero it
 * restarts at the fill price. */
static void ord_position_apply(gw_ord_position_t *p, double signed_qty, double price)
{
    double q = p->qty + signed_qty;
    if (p->qty == 0 || (p->qty > 0) != (q > 0))
        p->avg_cost = price;
    else if (fabs(q) > fabs(p->qty))
        p->avg_cost = (fabs(p->qty) * p->avg_cost + fabs(signed_qty) * price) / fabs(q);
    p->qty = q;
}

/* ---- fills ------------------------------------------------------------- */

static int ord_is_buy(const gw_ord_order_t *o)
{
    return strcmp(o->action, "BUY") == 0;
}

static int ord_crossed(const gw_ord_order_t *o, double price)
{
    if (strcmp(o->order_type, "MKT") == 0)
        return 1;
    return ord_is_buy(o) ? price <= o->lmt_price : price >= o->lmt_price;
}

static double ord_commission(const gw_ord_order_t *o)
{
    return fmax(ORD_COMMISSION_MIN, ORD_COMMISSION_PER_SHARE * o->qty);
}

static void ord_fill(gw_orders_t *b, gw_ord_order_t *o, double price)
{
    if (ord_grow((void **)&b->execs, b->nexecs, &b->execs_cap, sizeof *b->execs) < 0)
        return; /* out of memory: the order keeps working and is tried again */
    int64_t now = ord_now_s(b);
    o->status = GW_ORD_FILLED;
    o->filled = o->qty;
    o->avg_fill_price = o->last_fill_price = price;
    o->done_s = now;
    gw_ord_exec_t *e = &b->execs[b->nexecs++];
    memset(e, 0, sizeof *e);
    snprintf(e->exec_id, sizeof e->exec_id, "0000e0d5.%08x.01.01", (unsigned)b->nexecs);
    e->order_id = o->order_id;
    e->client_id = o->client_id;
    e->perm_id = o->perm_id;
    e->contract = o->contract;
    ord_copy(e->account, sizeof e->account, o->account);
    ord_copy(e->side, sizeof e->side, ord_is_buy(o) ? "BOT" : "SLD");
    e->shares = e->cum_qty = o->qty;
    e->price = e->avg_price = price;
    ord_copy(e->order_ref, sizeof e->order_ref, o->order_ref);
    e->time_s = now;
    e->commission = ord_commission(o);
    gw_ord_position_t *p = ord_position(b, o->account, &o->contract);
    if (p)
        ord_position_apply(p, ord_is_buy(o) ? o->qty : -o->qty, price);
    b->cb(b->data, GW_ORD_EV_FILLED, o, e);
}

static void ord_on_timer(io_timer_t *timer, void *data);

/* Fills every working order the market crosses now, then keeps the
 * one-second check running only while limit orders rest. */
static void ord_match(gw_orders_t *b)
{
    int64_t now = ord_now_s(b);
    int resting = 0;
    for (size_t i = 0; i < b->norders; i++) {
        gw_ord_order_t *o = &b->orders[i];
        if (o->status != GW_ORD_SUBMITTED)
            continue;
        double price = gw_mkt_price(b->mkt, o->contract.key, now);
        if (ord_crossed(o, price))
            ord_fill(b, o, price);
        resting += o->status == GW_ORD_SUBMITTED;
    }
    if (resting && !io_timer_active(b->timer))
        io_timer_start(b->timer, ORD_CHECK_US);
    else if (!resting)
        io_timer_stop(b->timer);
}

static void ord_on_timer(io_timer_t *timer, void *data)
{
    (void)timer;
    ord_match(data);
}

/* ---- public ------------------------------------------------------------ */

gw_orders_t *gw_ord_new(io_loop_t *loop, const gw_config_t *cfg, const gw_market_t *mkt,
                        gw_ord_event_cb cb, void *data)
{
    gw_orders_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    *b = (gw_orders_t){.loop = loop, .cfg = cfg, .mkt = mkt, .cb = cb, .data = data};
    b->timer = io_timer_new(loop, ord_on_timer, b);
    if (!b->timer) {
        free(b);
        return NULL;
    }
    for (size_t i = 0; i < cfg->npositions; i++) {
        const gw_position_t *cp = &cfg->positions[i];
        gw_mkt_contract_t c;
        gw_mkt_stock(&c, cp->symbol);
        const char *account = cp->account && cp->account[0] ? cp->account : cfg->accounts[0];
        gw_ord_position_t *p = ord_position(b, account, &c);
        if (!p) {
            gw_ord_free(b);
            return NULL;
        }
        p->qty = cp->qty;
        p->avg_cost = cp->avg_cost;
    }
    return b;
}

void gw_ord_free(gw_orders_t *b)
{
    if (!b)
        return;
    io_timer_free(b->timer);
    free(b->orders);
    free(b->execs);
    free(b->positions);
    free(b->ids);
    free(b);
}

static ord_client_ids_t *ord_ids(const gw_orders_t *b, int client_id)
{
    for (size_t i = 0; i < b->nids; i++)
        if (b->ids[i].client_id == client_id)
            return &b->ids[i];
    return NULL;
}

int gw_ord_next_id(const gw_orders_t *b, int client_id)
{
    const ord_client_ids_t *ids = ord_ids(b, client_id);
    return ids ? ids->max_id + 1 : 0;
}

static gw_ord_order_t *ord_working(gw_orders_t *b, int client_id, int order_id)
{
    for (size_t i = 0; i < b->norders; i++) {
        gw_ord_order_t *o = &b->orders[i];
        if (o->client_id == client_id && o->order_id == order_id &&
            o->status == GW_ORD_SUBMITTED)
            return o;
    }
    return NULL;
}

static int ord_check(const gw_ord_order_t *o)
{
    if (strcmp(o->order_type, "MKT") != 0 && strcmp(o->order_type, "LMT") != 0)
        return GW_ORD_ERR(387);
    if ((strcmp(o->action, "BUY") != 0 && strcmp(o->action, "SELL") != 0) ||
        !(o->qty > 0 && o->qty < DBL_MAX))
        return GW_ORD_ERR(321);
    if (strcmp(o->order_type, "LMT") == 0 && !(o->lmt_price > 0 && o->lmt_price < DBL_MAX))
        return GW_ORD_ERR(321);
    return 0;
}

/* Records that the client used order_id. 0 or -1 (out of memory). */
static int ord_use_id(gw_orders_t *b, int client_id, int order_id)
{
    ord_client_ids_t *ids = ord_ids(b, client_id);
    if (!ids) {
        if (ord_grow((void **)&b->ids, b->nids, &b->ids_cap, sizeof *b->ids) < 0)
            return -1;
        ids = &b->ids[b->nids++];
        *ids = (ord_client_ids_t){client_id, order_id};
    }
    if (order_id > ids->max_id)
        ids->max_id = order_id;
    return 0;
}

int gw_ord_place(gw_orders_t *b, const gw_ord_order_t *req)
{
    int rc = ord_check(req);
    if (rc < 0)
        return rc;
    gw_ord_order_t *o = ord_working(b, req->client_id, req->order_id);
    if (o) {
        /* A modify keeps the order's identity and its place in the book. */
        ord_copy(o->order_type, sizeof o->order_type, req->order_type);
        o->qty = req->qty;
        o->lmt_price = req->lmt_price;
        ord_copy(o->tif, sizeof o->tif, req->tif);
    } else {
        const ord_client_ids_t *ids = ord_ids(b, req->client_id);
        if (ids && req->order_id <= ids->max_id)
            return GW_ORD_ERR(103);
        if (ord_grow((void **)&b->orders, b->norders, &b->orders_cap, sizeof *b->orders) < 0 ||
            ord_use_id(b, req->client_id, req->order_id) < 0)
            return IO_ERR_NOMEM;
        o = &b->orders[b->norders];
        *o = *req;
        o->perm_id = ORD_FIRST_PERM_ID + (int)b->norders;
        b->norders++;
        if (o->account[0] == '\0')
            ord_copy(o->account, sizeof o->account, b->cfg->accounts[0]);
        o->status = GW_ORD_SUBMITTED;
        o->filled = o->avg_fill_price = o->last_fill_price = 0;
    }
    b->cb(b->data, GW_ORD_EV_PLACED, o, NULL);
    ord_match(b);
    return 0;
}

static void ord_cancel(gw_orders_t *b, gw_ord_order_t *o)
{
    o->status = GW_ORD_CANCELLED;
    o->done_s = ord_now_s(b);
    b->cb(b->data, GW_ORD_EV_CANCELLED, o, NULL);
}

int gw_ord_cancel(gw_orders_t *b, int client_id, int order_id)
{
    gw_ord_order_t *o = ord_working(b, client_id, order_id);
    if (!o)
        return GW_ORD_ERR(10147);
    ord_cancel(b, o);
    ord_match(b);
    return 0;
}

int gw_ord_cancel_all(gw_orders_t *b)
{
    int n = 0;
    for (size_t i = 0; i < b->norders; i++) {
        if (b->orders[i].status == GW_ORD_SUBMITTED) {
            ord_cancel(b, &b->orders[i]);
            n++;
        }
    }
    ord_match(b);
    return n;
}

size_t gw_ord_count(const gw_orders_t *b)
{
    return b->norders;
}

const gw_ord_order_t *gw_ord_at(const gw_orders_t *b, size_t i)
{
    return i < b->norders ? &b->orders[i] : NULL;
}

size_t gw_ord_exec_count(const gw_orders_t *b)
{
    return b->nexecs;
}

const gw_ord_exec_t *gw_ord_exec_at(const gw_orders_t *b, size_t i)
{
    return i < b->nexecs ? &b->execs[i] : NULL;
}

size_t gw_ord_position_count(const gw_orders_t *b)
{
    return b->npositions;
}

const gw_ord_position_t *gw_ord_position_at(const gw_orders_t *b, size_t i)
{
    return i < b->npositions ? &b->positions[i] : NULL;
}

void gw_ord_account_values(const gw_orders_t *b, const char *account, int64_t now_s,
                           gw_ord_account_t *out)
{
    out->cash = ORD_START_CASH;
    out->gross_position_value = 0;
    double net_positions = 0;
    for (size_t i = 0; i < b->nexecs; i++) {
        const gw_ord_exec_t *e = &b->execs[i];
        if (strcmp(e->account, account) != 0)
            continue;
        double cost = e->shares * e->price;
        out->cash += (strcmp(e->side, "BOT") == 0 ? -cost : cost) - e->commission;
    }
    for (size_t i = 0; i < b->npositions; i++) {
        const gw_ord_position_t *p = &b->positions[i];
        if (strcmp(p->account, account) != 0)
            continue;
        double value = p->qty * gw_mkt_price(b->mkt, p->contract.key, now_s);
        net_positions += value;
        out->gross_position_value += fabs(value);
    }
    out->net_liquidation = out->cash + net_positions;
}
