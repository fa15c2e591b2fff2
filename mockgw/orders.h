/* orders.h - the gateway-wide order book: every order any client placed,
 * the executions and commissions of their fills, and the positions those
 * fills move (starting from the configured ones).
 *
 * MKT orders fill at once at the market price. LMT orders fill when the
 * price crosses the limit: at once if it already does, else they rest and
 * a one-second check on the io clock fills them when it does. Orders stay
 * working when their client disconnects, as on a Gateway.
 *
 * Every change is reported through one callback, so that the gateway can
 * hand it to the session of the order's client id (if one is connected):
 *   GW_ORD_EV_PLACED     accepted (or modified): openOrder + orderStatus
 *   GW_ORD_EV_FILLED     exec: execDetails, openOrder, orderStatus, commission
 *   GW_ORD_EV_CANCELLED  orderStatus Cancelled + error 202
 * The callback must not place or cancel orders itself. */
#ifndef MOCKGW_ORDERS_H
#define MOCKGW_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "gateway.h"
#include "market.h"

/* A gateway error code as a negative return (code 103 → -103). */
#define GW_ORD_ERR(code) (-(code))

enum gw_ord_status { GW_ORD_SUBMITTED, GW_ORD_FILLED, GW_ORD_CANCELLED };

typedef struct gw_ord_order {
    int order_id;
    int client_id;
    int perm_id;
    gw_mkt_contract_t contract;
    char account[32];
    char action[8];           /* BUY, SELL */
    double qty;
    char order_type[8];       /* MKT, LMT */
    double lmt_price;         /* LMT only */
    char tif[8];
    char order_ref[64];
    enum gw_ord_status status;
    double filled;
    double avg_fill_price;
    double last_fill_price;
    int64_t done_s;           /* when filled or cancelled (UTC) */
} gw_ord_order_t;

typedef struct gw_ord_exec {
    char exec_id[32];
    int order_id;
    int client_id;
    int perm_id;
    gw_mkt_contract_t contract;
    char account[32];
    char side[4];             /* BOT, SLD */
    double shares;
    double price;
    double cum_qty;
    double avg_price;
    char order_ref[64];
    int64_t time_s;
    double commission;
} gw_ord_exec_t;

typedef struct gw_ord_position {
    char account[32];
    gw_mkt_contract_t contract;
    double qty;
    double avg_cost;
} gw_ord_position_t;

enum gw_ord_event { GW_ORD_EV_PLACED, GW_ORD_EV_FILLED, GW_ORD_EV_CANCELLED };

typedef void (*gw_ord_event_cb)(void *data, enum gw_ord_event ev, const gw_ord_order_t *o,
                                const gw_ord_exec_t *e);

typedef struct gw_orders gw_orders_t;

/* The book of a gateway: cfg's positions (account "" = the first account),
 * prices from mkt, events to cb. cfg and mkt must outlive it. NULL on
 * allocation failure. */
gw_orders_t *gw_ord_new(io_loop_t *loop, const gw_config_t *cfg, const gw_market_t *mkt,
                        gw_ord_event_cb cb, void *data);
/* Frees the book and its timer. NULL is a no-op. */
void gw_ord_free(gw_orders_t *b);

/* Places o (order_id, client_id, contract, account, action, qty,
 * order_type, lmt_price, tif, order_ref set by the caller; account "" = the
 * first account). A working order of that client with that id is modified
 * instead. 0, or GW_ORD_ERR(103) for an id at or below one that client
 * used already, GW_ORD_ERR(387) for an order type other than MKT/LMT,
 * GW_ORD_ERR(321) for a bad action or quantity or a LMT without a price. */
int gw_ord_place(gw_orders_t *b, const gw_ord_order_t *o);

/* Cancels a working order of that client. 0, or GW_ORD_ERR(10147) when it
 * has none with that id (or it is filled or cancelled already). */
int gw_ord_cancel(gw_orders_t *b, int client_id, int order_id);

/* Cancels every working order of every client; returns how many. */
int gw_ord_cancel_all(gw_orders_t *b);

/* The next order id that client may use: one above the highest it used. */
int gw_ord_next_id(const gw_orders_t *b, int client_id);

/* Read access for the request handlers. The pointers stay valid until the
 * next place/cancel/fill. */
size_t gw_ord_count(const gw_orders_t *b);
const gw_ord_order_t *gw_ord_at(const gw_orders_t *b, size_t i);
size_t gw_ord_exec_count(const gw_orders_t *b);
const gw_ord_exec_t *gw_ord_exec_at(const gw_orders_t *b, size_t i);
size_t gw_ord_position_count(const gw_orders_t *b);
const gw_ord_position_t *gw_ord_position_at(const gw_orders_t *b, size_t i);

/* Account values at UTC second now_s: cash (a 1,000,000 USD start less
 * what fills cost), the market value of the positions and their sum. */
typedef struct gw_ord_account {
    double cash;
    double gross_position_value;
    double net_liquidation;
} gw_ord_account_t;

void gw_ord_account_values(const gw_orders_t *b, const char *account, int64_t now_s,
                           gw_ord_account_t *out);

#endif
