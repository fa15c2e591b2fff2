/* requests.h - what a ready session answers: each request decoded at the
 * negotiated server version and answered with the exact layout a Gateway
 * of that version sends (tws-protocol.md §4; layouts differ across
 * 151..178 in errMsg, contractData, openOrder, completedOrder and
 * execDetails). Also the messages the order book pushes to the session of
 * an order's client id, and the per-session request state (market-data
 * subscriptions with their tick timers, the position subscription).
 *
 * A request with an unknown id gets errMsg 505 (id -1); one whose fields do
 * not parse gets errMsg 320; the session stays open either way, as a
 * Gateway's does. Only a broken frame (the session's decoder) closes it. */
#ifndef MOCKGW_REQUESTS_H
#define MOCKGW_REQUESTS_H

#include <stdint.h>

#include "../proto/proto.h"
#include "orders.h"
#include "session.h"

#define GW_REQ_UNKNOWN_ID 505   /* errMsg code for an unknown message id */
#define GW_REQ_BAD_FIELDS 320   /* errMsg code for a request that does not parse */
#define GW_REQ_SUBS_MAX 64      /* market-data lines per session (then 101) */

typedef struct gw_req_session gw_req_session_t;

/* Handles one frame of a ready session; r is past the message id. */
void gw_req_handle(gw_session_t *s, int32_t id, proto_reader_t *r);

/* Answers the frame as gw_req_handle would and returns 1 if it is a
 * request in the one form nearly every frame has (the health check's
 * reqCurrentTime: 49, 1, nothing after); 0, having done nothing, for any
 * other frame. Looks at the bytes alone: no reader, no handler table. */
int gw_req_handle_plain(gw_session_t *s, const proto_frame_t *f);

/* Builds errMsg into w at that server version: 4, 2, id, code, text, and
 * from 166 on advancedOrderRejectJson (""). Returns proto_frame_end's code. */
int gw_req_put_error(proto_writer_t *w, int version, int id, int code, const char *text);

/* An order-book event for s, the session of o's client id: PLACED →
 * openOrder + orderStatus; FILLED → execDetails (reqId -1), openOrder,
 * orderStatus, commissionReport (and position if s subscribed to them);
 * CANCELLED → orderStatus Cancelled + errMsg 202. May free s (its output
 * bound) unless s is in the middle of handling a request. */
void gw_req_on_order_event(gw_session_t *s, enum gw_ord_event ev, const gw_ord_order_t *o,
                           const gw_ord_exec_t *e);

/* Frees a session's request state and stops its timers; NULL is a no-op.
 * The session calls it as it frees itself. */
void gw_req_session_free(gw_req_session_t *st);

#endif
