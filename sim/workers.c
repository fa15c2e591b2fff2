/* workers.c - sweep execution (see workers.h). With main.c and io_sim.c the
 * one sim/ file allowed to touch the process world (ci/lint.sh): fork and
 * waitpid for the workers, and the monotonic clock for each run's wall
 * time, which only the report shows. */
#include "workers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double wk_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int wk_run_one(const wk_plan_t *p, size_t i, rp_run_t *out, tr_recorder_t **trace)
{
    const wk_item_t *it = &p->items[i];
    const sc_scenario_t *sc = p->scenarios[it->scenario];
    en_options_t opt = {1, it->seed, p->verbose};
    en_result_t res;
    char err[512];
    if (trace)
        *trace = NULL;
    double t0 = wk_clock_ms();
    if (en_run(sc, &opt, &res, err, sizeof err) < 0)
        return rp_from_error(out, p->files[it->scenario], 1, it->seed, err);
    int rc = rp_from_result(out, p->files[it->scenario], sc, &res, wk_clock_ms() - t0);
    if (trace && rc == 0) {
        *trace = res.trace;
        res.trace = NULL;
    }
    en_result_free(&res);
    return rc;
}

/* A worker: its share of the items, one JSON line each, into f. */
static int wk_child(const wk_plan_t *p, size_t first, size_t step, FILE *f)
{
    int ok = 1;
    for (size_t i = first; i < p->nitems && ok; i += step) {
        rp_run_t r;
        char *line = NULL;
        ok = wk_run_one(p, i, &r, NULL) == 0 && (line = rp_to_line(&r)) != NULL &&
             fprintf(f, "%s\n", line) > 0;
        free(line);
        rp_clear(&r);
    }
    return fflush(f) == 0 && ok ? 0 : 1;
}

/* Reads the next record of worker file f into *out. */
static int wk_read(FILE *f, rp_run_t *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int rc = n > 0 ? rp_from_line(line, out) : IO_ERR_INVAL;
    free(line);
    return rc;
}

/* Starts the workers; 0 in the parent, WK_CHILD in a worker (its work
 * done), or IO_ERR_SYS. pids[w] is 0 for a worker never started. */
static int wk_spawn(const wk_plan_t *p, int jobs, FILE **files, pid_t *pids, int *child_rc)
{
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < jobs; w++) {
        if (!(files[w] = tmpfile()))
            return IO_ERR_SYS;
        pids[w] = fork();
        if (pids[w] < 0) {
            pids[w] = 0;
            return IO_ERR_SYS;
        }
        if (pids[w] == 0) {
            *child_rc = wk_child(p, (size_t)w, (size_t)jobs, files[w]);
            for (int v = 0; v <= w; v++)
                fclose(files[v]);
            return WK_CHILD;
        }
    }
    return 0;
}

int wk_run(const wk_plan_t *p, int jobs, rp_run_t *runs, char *err, size_t errlen)
{
    if (jobs < 1 || (size_t)jobs > p->nitems)
        jobs = p->nitems ? (int)p->nitems : 1;
    if (jobs == 1) {
        for (size_t i = 0; i < p->nitems; i++)
            if (wk_run_one(p, i, &runs[i], NULL) < 0) {
                snprintf(err, errlen, "out of memory");
                return IO_ERR_NOMEM;
            }
        return 0;
    }
    FILE **files = calloc((size_t)jobs, sizeof *files);
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    int child_rc = 0, rc = files && pids ? 0 : IO_ERR_NOMEM;
    if (rc == 0)
        rc = wk_spawn(p, jobs, files, pids, &child_rc);
    if (rc == WK_CHILD) {
        free(files);
        free(pids);
        return WK_CHILD + (child_rc != 0);
    }
    if (rc < 0)
        snprintf(err, errlen, "cannot start a worker: %s", strerror(errno));
    for (int w = 0; w < jobs && pids && files; w++) {
        int status = 0;
        if (pids[w] && (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) ||
                        WEXITSTATUS(status) != 0) && rc == 0) {
            snprintf(err, errlen, "worker %d failed (status %d)", w + 1, status);
            rc = IO_ERR_SYS;
        }
        if (files[w])
            rewind(files[w]);
    }
    size_t got = 0;
    for (; rc == 0 && got < p->nitems; got++)
        if (wk_read(files[got % (size_t)jobs], &runs[got]) < 0) {
            snprintf(err, errlen, "worker %zu wrote a bad record", got % (size_t)jobs + 1);
            rc = IO_ERR_SYS;
        }
    while (rc < 0 && got-- > 0)
        rp_clear(&runs[got]);
    for (int w = 0; w < jobs && files; w++)
        if (files[w])
            fclose(files[w]);
    free(files);
    free(pids);
    return rc;
}
