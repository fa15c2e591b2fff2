/* invariant.h - what every run must keep, whatever its scenario expects
 * (the safety properties of ARCHITECTURE.md), and the liveness phase. Both
 * are computed from the trace (during the run or after it), the concrete
 * fault schedule and the io handles left once the runner and the gateway
 * were freed.
 *
 *   one_session     never two live gateway sessions (session_ready without
 *                   its session_closed) with the same client id
 *   request_window  no runner msg_out but startApi between a connect and its
 *                   ready, none while no connection is open, none after exit
 *   order_state     no `order` while not ready, nor while degraded (from
 *                   error:1100 to error:1101/1102 or the connection's end)
 *   order_once      no two `order` with one order_id, nor two with the same
 *                   (symbol, cycle) with a disconnect between them
 *   closed          no connect while the runner holds a connection, and
 *                   none open when it exits
 *   nothing_left    no timer, stream or listener left once runner and
 *                   gateway are freed
 *
 * Liveness: the runner's dashboard label, at the moment `liveness` after
 * the last fault ended, is one of the connected family ("API Connected",
 * "API Connected (Market Closed)", "Waiting for cycle"). */
#ifndef SIM_INVARIANT_H
#define SIM_INVARIANT_H

#include <stddef.h>

#include "check.h"
#include "scenario.h"

enum iv_kind { IV_ONE_SESSION, IV_REQUEST_WINDOW, IV_ORDER_STATE, IV_ORDER_ONCE, IV_CLOSED,
               IV_NOTHING_LEFT, IV_COUNT };

typedef struct iv_input {
    const sc_scenario_t *sc;
    const ck_run_t *run;
    const sc_event_t *schedule; /* the run's concrete events (sd_schedule) */
    size_t nschedule;
    io_stats_t left;            /* io_loop_stats after the runner and gateway were freed */
} iv_input_t;

/* The pass over a trace, which may walk it while it is being recorded:
 * iv_pass_advance walks the events recorded since its last call (call it
 * on the thread that records, between events), iv_pass_finish the rest,
 * and then judges. iv_pass_new returns NULL when out of memory. The
 * scenario and the recorder must outlive the pass. */
typedef struct iv_pass iv_pass_t;

iv_pass_t *iv_pass_new(const sc_scenario_t *sc, const tr_recorder_t *trace);
void iv_pass_advance(iv_pass_t *pass);
/* Once, when the recording is over: what iv_evaluate says of in (whose sc
 * and trace must be the pass's). */
size_t iv_pass_finish(iv_pass_t *pass, const iv_input_t *in, ck_result_t out[IV_COUNT],
                      ck_result_t *liveness);
/* NULL is a no-op. */
void iv_pass_free(iv_pass_t *pass);

/* "one_session", ... */
const char *iv_name(enum iv_kind kind);

/* Fills out[0 .. IV_COUNT) (msg "invariant NAME: ..." when broken) and
 * *liveness, the liveness phase (pass is 1 when it held or does not apply,
 * then msg says why not, for the JSON report; 0 when violated), from one
 * pass over the trace; returns how many invariants held. */
size_t iv_evaluate(const iv_input_t *in, ck_result_t out[IV_COUNT], ck_result_t *liveness);

/* 1 for the labels of a connected runner. */
int iv_label_is_live(const char *label);

#endif
