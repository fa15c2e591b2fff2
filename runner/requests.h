/* requests.h - builders for the requests the trading cycle sends, at
 * server version 178 (docs: tws-protocol.md §4.1 and §4.3). Each one
 * resets w and leaves exactly one whole frame in it, ready for ibc_send;
 * it returns 0 or the writer's error (PROTO_ERR_NOMEM). Contracts are US
 * stocks routed SMART in USD. */
#ifndef RUNNER_REQUESTS_H
#define RUNNER_REQUESTS_H

#include <stdint.h>

#include "../proto/frame.h"

/* What reqHistoricalData asks for, e.g. {"3 D", "30 mins", "TRADES", 1}:
 * bars up to now (endDateTime ""), dates as text (formatDate 1), no
 * keepUpToDate. */
typedef struct rq_history {
    const char *duration; /* "3 D" */
    const char *bar_size; /* "30 mins" */
    const char *what;     /* "TRADES" */
    int use_rth;          /* 1: regular trading hours only */
} rq_history_t;

int rq_req_positions(proto_writer_t *w);    /* 61,1 */
int rq_cancel_positions(proto_writer_t *w); /* 64,1 */
/* 23 fields: 20, reqId, Contract12, includeExpired, endDateTime, barSize,
 * duration, useRTH, whatToShow, formatDate, keepUpToDate, chartOptions. */
int rq_req_historical(proto_writer_t *w, int32_t req_id, const char *symbol,
                      const rq_history_t *h);
int rq_cancel_historical(proto_writer_t *w, int32_t req_id); /* 25,1,reqId */
/* The 114 fields of a plain DAY market order (table 4.3), every optional
 * field as a plain client sends it. action is "BUY" or "SELL". */
int rq_place_market_order(proto_writer_t *w, int32_t order_id, const char *symbol,
                          const char *action, int64_t qty);
int rq_req_open_orders(proto_writer_t *w); /* 5,1: this client's open orders */
/* 10 fields: 7, 3, reqId, then the filter: clientId, and "" (all) for
 * account, time, symbol, secType, exchange and side. */
int rq_req_executions(proto_writer_t *w, int32_t req_id, int client_id);

#endif
