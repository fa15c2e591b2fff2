/* workers.h - runs a sweep's (scenario, seed) items and collects one
 * rp_run_t per item, in item order: in this process, or across forked
 * worker processes (item i goes to worker i mod jobs), each writing its
 * records as JSON lines into a temporary file of its own that the parent
 * reads back once every worker has exited. The order of the items, not
 * the number of workers, decides the report. */
#ifndef SIM_WORKERS_H
#define SIM_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "report.h"
#include "scenario.h"

/* wk_run returned WK_CHILD + status in a worker process: it did its items;
 * the caller frees what it holds and exits with status (0, or 1 when the
 * worker could not write its records). */
#define WK_CHILD 1

typedef struct wk_item {
    size_t scenario; /* index into the plan's scenarios */
    uint64_t seed;
} wk_item_t;

typedef struct wk_plan {
    sc_scenario_t *const *scenarios;
    const char *const *files; /* the path each scenario was loaded from */
    const wk_item_t *items;
    size_t nitems;
    int verbose;
} wk_plan_t;

/* Runs item i here into *out (a run that cannot be made is an RP_ERROR
 * record). When trace is not NULL it receives the run's trace (tr_free),
 * or NULL. 0, or IO_ERR_NOMEM. */
int wk_run_one(const wk_plan_t *p, size_t i, rp_run_t *out, tr_recorder_t **trace);

/* Runs every item into runs[0 .. nitems) with up to jobs processes (1:
 * all here). 0 in the parent, >= WK_CHILD in a worker, or a negative IO_ERR_*
 * with err (a worker could not be started or died). */
int wk_run(const wk_plan_t *p, int jobs, rp_run_t *runs, char *err, size_t errlen);

#endif
