/* cycle.h - one trading cycle over a ready client session: reqPositions
 * until positionEnd; then for each symbol reqHistoricalData (3 D of 30-min
 * TRADES bars, regular hours) → a moving-average crossover signal → a target
 * position; when trading is enabled a MKT order for the difference and its
 * orderStatus, otherwise the order it would place is traced as
 * `order_dry_run`. Every request has a timeout and the cycle a deadline.
 *
 * Orders: each one is journaled (append-only, fsync) before it is sent. An
 * order sent whose fate is unknown when the connection drops is reconciled
 * at the start of the next cycle (reqOpenOrders + reqExecutions) before any
 * new order for that symbol, so no order is placed twice across a
 * reconnect or a restart of the runner.
 *
 * Trace events (src "runner"): cycle_start {n}, cycle_end {n, ok, reason},
 * order {symbol, action, qty, order_id}, order_dry_run {symbol, action,
 * qty}, order_status {order_id, status, filled}, reconcile {symbol,
 * order_id, outcome}, signal_computed {symbol, fast, slow, target}. */
#ifndef RUNNER_CYCLE_H
#define RUNNER_CYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "../proto/frame.h"
#include "client.h"

typedef struct cyc_config {
    const char *const *symbols; /* must outlive the cycle object */
    size_t nsymbols;
    int trade;
    io_us_t request_timeout_us;
    io_us_t deadline_us;
    const char *journal_file;   /* NULL: in memory only */
} cyc_config_t;

typedef struct cyc_result {
    uint32_t n;          /* the cycle's number */
    int ok;
    const char *reason;  /* when not ok: "deadline", "disconnected",
                            "request timeout: reqHistoricalData AAPL", ...;
                            valid during the callback */
    int orders;          /* orders sent in this cycle */
    int timed_out;       /* it failed because the Gateway stopped answering
                            (a request timeout or the deadline), though the
                            session itself was still up */
} cyc_result_t;

typedef void (*cyc_done_cb)(void *data, const cyc_result_t *result);

typedef struct cyc cyc_t;

/* 0, or a negative code with details in err (the journal cannot be opened
 * or read, a bad config). */
int cyc_new(io_loop_t *loop, ibc_t *client, const cyc_config_t *cfg, cyc_done_cb done,
            void *data, cyc_t **out, char *err, size_t errlen);
void cyc_free(cyc_t *c);

/* Starts cycle n on a READY session. done fires exactly once per start
 * (never from inside cyc_start). IO_ERR_INVAL if a cycle is running. */
int cyc_start(cyc_t *c, uint32_t n);

/* 1 while a cycle runs. */
int cyc_running(const cyc_t *c);

/* Ends the running cycle as failed with reason: cancels what is outstanding
 * (cancelHistoricalData, cancelPositions) while the session is still open,
 * marks orders without a final status as unknown (to reconcile), and fires
 * done before returning. The runner calls it on shutdown, on 1100, and
 * (with "disconnected") when the session closed. No-op when idle. */
void cyc_abort(cyc_t *c, const char *reason);

/* Every frame the session receives after ready that it does not consume
 * itself (see ibc_events_t.message), including errMsg. */
void cyc_on_message(cyc_t *c, int32_t msg_id, const proto_frame_t *frame);

/* 1 if orders of an earlier cycle still need reconciling. */
int cyc_needs_reconcile(const cyc_t *c);

/* Writes v as snprintf(buf, cap, "%.4f", v) would, text and truncation
 * alike (the averages of signal_computed), without printf's cost when
 * |v| < 2^31 and cap >= 32. */
void cyc_format_fixed4(char *buf, size_t cap, double v);

#endif
