/* report.h - the record of one run as every report needs it, portable
 * between worker processes as one JSON line, and the four report formats:
 * a readable text summary, one JSON document, JUnit XML (one testsuite per
 * scenario file, one testcase per seed) and TAP 13. Records arrive in file
 * and seed order, so a report is the same whatever the number of workers. */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "scenario.h"

/* The exit code of a scenario that could not be loaded or run. */
#define RP_ERROR 2

typedef struct rp_failure {
    char *msg;     /* "expect[1] ...", "invariant ...", "liveness: ..." */
    char *excerpt; /* the trace lines around it, the failing one marked "> " */
} rp_failure_t;

typedef struct rp_run {
    char *file;
    char *name;  /* the scenario's name; the file when it could not be loaded */
    int has_seed;
    uint64_t seed;
    int code;    /* enum en_outcome, or RP_ERROR */
    char *error; /* RP_ERROR: why */
    size_t nchecks, npassed, nevents, nfaults;
    io_us_t span_us;
    double wall_ms;
    uint64_t hash;
    rp_failure_t *failures;
    size_t nfailures;
} rp_run_t;

/* Fills out from a finished run. 0 or IO_ERR_NOMEM. */
int rp_from_result(rp_run_t *out, const char *file, const sc_scenario_t *sc,
                   const en_result_t *res, double wall_ms);
/* A run that could not happen: file, and seed when known (has_seed). */
int rp_from_error(rp_run_t *out, const char *file, int has_seed, uint64_t seed,
                  const char *error);
void rp_clear(rp_run_t *r);

/* One line of JSON (malloc'd, no newline), and back: 0 or IO_ERR_INVAL. */
char *rp_to_line(const rp_run_t *r);
int rp_from_line(const char *line, rp_run_t *out);

/* The trace lines around index at (-1: the last lines), one per line,
 * the one at `at` prefixed "> ", the others "  ". malloc'd. */
char *rp_excerpt(const tr_recorder_t *trace, long at);

/* The worst code over the runs: 2 before 3 before 4 before 1 before 0. */
int rp_exit_code(const rp_run_t *runs, size_t n);

void rp_text(FILE *f, const rp_run_t *runs, size_t n);
void rp_json(FILE *f, const rp_run_t *runs, size_t n);
void rp_tap(FILE *f, const rp_run_t *runs, size_t n);
/* Writes path.tmp, then renames it to path. 0 or IO_ERR_SYS with err. */
int rp_junit(const char *path, const rp_run_t *runs, size_t n, char *err, size_t errlen);

#endif
