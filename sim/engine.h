/* engine.h - plays one loaded scenario: a simulated io loop seeded with the
 * scenario's seed and starting at its start time, the mock gateway and the
 * runner on it, the scenario's events as timers, the clock run to the end
 * (or until the runner exits), then the checks against the recorded trace.
 * Everything it builds is freed before it returns (and the io handles left
 * over are counted, for the invariants); the result keeps the trace for the
 * caller. */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "invariant.h"
#include "scenario.h"
#include "trace.h"

/* How a run ended, worst first when several apply; the values are the
 * sim exit codes (2 is a scenario that could not be loaded or run). */
enum en_outcome {
    EN_PASS = 0,
    EN_FAIL_CHECK = 1,
    EN_FAIL_INVARIANT = 3,
    EN_FAIL_LIVENESS = 4
};

typedef struct en_options {
    int override_seed; /* nonzero: use seed instead of the scenario's */
    uint64_t seed;
    int verbose;       /* runner and gateway log lines to stderr */
} en_options_t;

typedef struct en_result {
    int pass;            /* every check, invariant and the liveness phase held */
    enum en_outcome outcome;
    uint64_t seed;       /* the seed the run used */
    size_t nchecks, npassed;
    ck_result_t *checks; /* nchecks verdicts, in expect order */
    ck_result_t invariants[IV_COUNT];
    ck_result_t liveness;
    size_t nfaults;      /* faults in the run's concrete schedule */
    io_us_t span_us;     /* virtual time run: to the end, or to the runner's exit */
    int exited;          /* the runner exited within the span */
    int exit_code;       /* valid when exited */
    uint64_t hash;       /* FNV-1a 64 of the JSON-lines trace */
    size_t nevents;      /* trace events recorded */
    tr_recorder_t *trace;
} en_result_t;

/* "pass", "check", "invariant", "liveness". */
const char *en_outcome_name(enum en_outcome outcome);

/* Tunes the process for running scenario after scenario: memory a run
 * frees stays with the process for the next run instead of going back to
 * the kernel, which would fault it in again page by page. Call once, from
 * main, before the first run. */
void en_keep_freed_memory(void);

/* Runs sc. 0 with *out filled (release with en_result_free), or a negative
 * IO_ERR_* when the world could not be built (the gateway could not listen,
 * out of memory), with the reason in err. */
int en_run(const sc_scenario_t *sc, const en_options_t *opt, en_result_t *out, char *err,
           size_t errlen);

void en_result_free(en_result_t *res);

#endif
