/* shrink.h - shrinking a failing run. From the concrete schedule of a
 * (scenario, seed) that fails (its random entries drawn into plain
 * faults), it greedily drops events, then halves fault durations,
 * re-running each candidate with the same seed and keeping it while the
 * run still fails the same way (the same en_outcome), until a whole pass
 * changes nothing. sd_write then saves the result as a scenario file. */
#ifndef SIM_SHRINK_H
#define SIM_SHRINK_H

#include <stddef.h>

#include "engine.h"
#include "scenario.h"

/* Candidate runs a shrink may make before it stops where it is. */
#define SH_RUNS_MAX 4000

typedef struct sh_result {
    enum en_outcome outcome; /* the failure kept */
    uint64_t seed;
    sc_event_t *events;      /* the smallest failing schedule found (free()) */
    size_t nevents;
    size_t from;             /* events in the schedule it started from */
    size_t runs;             /* runs made, the first one included */
} sh_result_t;

/* Shrinks sc's run under opt's seed (or the scenario's). 0 with *out
 * filled, or IO_ERR_INVAL when that run passes (nothing to shrink) or
 * cannot run, with the reason in err. */
int sh_shrink(const sc_scenario_t *sc, const en_options_t *opt, sh_result_t *out, char *err,
              size_t errlen);

void sh_result_free(sh_result_t *r);

#endif
