/* check.h - evaluates a scenario's expect list against a recorded trace and
 * the runner's exit. Each check gets a verdict and, when it fails, one
 * readable line saying what was expected and what the trace shows, with
 * times written relative to the scenario's start ("+3m0.0004s"). */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stddef.h>

#include "scenario.h"
#include "trace.h"

#define CK_MSG_MAX 640

typedef struct ck_result {
    int pass;
    char msg[CK_MSG_MAX]; /* "expect[2] within 15s after ...: what went wrong"; "" on pass */
    long at;              /* failed: the trace index the failure shows at; -1: the run's end */
} ck_result_t;

/* How the run ended, as the engine saw it. */
typedef struct ck_run {
    const tr_recorder_t *trace;
    int exited;    /* the runner called on_exit within the span */
    int exit_code; /* valid when exited */
    io_us_t end_us; /* wall time the run stopped */
} ck_run_t;

/* Fills results[0 .. sc->nchecks) and returns how many passed. */
size_t ck_evaluate(const sc_scenario_t *sc, const ck_run_t *run, ck_result_t *results);

/* Whether event e matches pattern p (and the check's src). */
int ck_matches(const sc_check_t *k, const sc_pattern_t *p, const tr_event_t *e);

/* "+3m0.0004s": a wall time relative to the scenario's start. */
const char *ck_at(const sc_scenario_t *sc, io_us_t wall_us, char *buf, size_t cap);

/* Writes a one-line description of check i ("count ping_ok ge 100 from +1m")
 * into buf; returns buf. */
const char *ck_describe(const sc_scenario_t *sc, size_t i, char *buf, size_t cap);

#endif
