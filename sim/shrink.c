/* shrink.c - greedy shrinking of a failing schedule (see shrink.h). */
#include "shrink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

/* One shrink in progress: the scenario, the seed, the failure to keep. */
typedef struct sh_ctx {
    const sc_scenario_t *sc;
    en_options_t opt;
    enum en_outcome want;
    size_t runs;
} sh_ctx_t;

/* Runs sc with events in place of its own; the outcome, or -1 if the run
 * could not be made. */
static int sh_try(sh_ctx_t *c, const sc_event_t *events, size_t n)
{
    sc_scenario_t cand = *c->sc;
    en_result_t res;
    char err[256];
    cand.events = (sc_event_t *)events;
    cand.nevents = n;
    c->runs++;
    if (en_run(&cand, &c->opt, &res, err, sizeof err) < 0)
        return -1;
    int outcome = (int)res.outcome;
    en_result_free(&res);
    return outcome;
}

static int sh_still_fails(sh_ctx_t *c, const sc_event_t *events, size_t n)
{
    return c->runs < SH_RUNS_MAX && sh_try(c, events, n) == (int)c->want;
}

/* Drops each event in turn, last first, keeping every drop that fails. */
static int sh_drop_pass(sh_ctx_t *c, sc_event_t *ev, size_t *n, sc_event_t *scratch)
{
    int changed = 0;
    for (size_t i = *n; i-- > 0;) {
        memcpy(scratch, ev, i * sizeof *ev);
        memcpy(scratch + i, ev + i + 1, (*n - i - 1) * sizeof *ev);
        if (sh_still_fails(c, scratch, *n - 1)) {
            memcpy(ev, scratch, (*n - 1) * sizeof *ev);
            (*n)--;
            changed = 1;
        }
    }
    return changed;
}

/* Halves each fault's `for` (whole milliseconds, down to 1ms) while the
 * shorter fault still fails. */
static int sh_halve_pass(sh_ctx_t *c, sc_event_t *ev, size_t n)
{
    int changed = 0;
    for (size_t i = 0; i < n; i++) {
        gw_fault_t *f = &ev[i].fault;
        while (ev[i].action == SC_FAULT && sd_event_end(&ev[i]) > ev[i].at_us &&
               f->for_us >= 2 * IO_US_PER_MS) {
            io_us_t was = f->for_us;
            f->for_us = was / 2 / IO_US_PER_MS * IO_US_PER_MS;
            if (!sh_still_fails(c, ev, n)) {
                f->for_us = was;
                break;
            }
            changed = 1;
        }
    }
    return changed;
}

int sh_shrink(const sc_scenario_t *sc, const en_options_t *opt, sh_result_t *out, char *err,
              size_t errlen)
{
    sh_ctx_t c = {sc, *opt, EN_PASS, 0};
    sc_event_t *scratch = NULL;
    memset(out, 0, sizeof *out);
    c.opt.override_seed = 1;
    c.opt.seed = opt->override_seed ? opt->seed : sc->seed;
    out->seed = c.opt.seed;
    if (sd_schedule(sc, c.opt.seed, &out->events, &out->nevents) < 0 ||
        (out->nevents && !(scratch = malloc(out->nevents * sizeof *scratch)))) {
        snprintf(err, errlen, "%s: out of memory", sc->file);
        sh_result_free(out);
        return IO_ERR_NOMEM;
    }
    out->from = out->nevents;
    int first = sh_try(&c, out->events, out->nevents);
    if (first <= 0) {
        snprintf(err, errlen, "%s: seed %llu %s; nothing to shrink", sc->file,
                 (unsigned long long)c.opt.seed, first == 0 ? "passes" : "cannot run");
        free(scratch);
        sh_result_free(out);
        return IO_ERR_INVAL;
    }
    c.want = (enum en_outcome)first;
    out->outcome = c.want;
    int changed = 1;
    while (changed && c.runs < SH_RUNS_MAX) {
        changed = sh_drop_pass(&c, out->events, &out->nevents, scratch);
        changed |= sh_halve_pass(&c, out->events, out->nevents);
    }
    out->runs = c.runs;
    free(scratch);
    return 0;
}

void sh_result_free(sh_result_t *r)
{
    free(r->events);
    memset(r, 0, sizeof *r);
}
