/* engine.c - one scenario run (see engine.h). */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "../io/io_base.h"
#include "io_sim.h"
#include "schedule.h"
#include "tracepipe.h"

typedef struct en_world en_world_t;

/* One scheduled event and the timer that fires it. */
typedef struct en_action {
    en_world_t *world;
    const sc_event_t *event;
    io_timer_t *timer;
} en_action_t;

/* Everything one run builds; torn down in reverse by en_world_free. */
struct en_world {
    io_loop_t *loop;
    gw_t *gw;
    rn_t *rn;
    tr_recorder_t *trace;
    tp_pipe_t *pipe; /* feeds trace on its own thread; NULL: the run feeds it */
    iv_pass_t *pass; /* the invariants' pass, walking trace as it grows; NULL: after the run */
    sc_event_t *schedule;
    size_t nschedule;
    en_action_t *actions;
    int running; /* inside the span: an exit now counts */
    int exited;
    int exit_code;
    char fault_err[200]; /* the first fault the gateway refused */
};

const char *en_outcome_name(enum en_outcome outcome)
{
    switch (outcome) {
    case EN_PASS:
        return "pass";
    case EN_FAIL_CHECK:
        return "check";
    case EN_FAIL_INVARIANT:
        return "invariant";
    case EN_FAIL_LIVENESS:
        return "liveness";
    }
    return "?";
}

static void en_drop_log(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                        const char *text)
{
    (void)data, (void)wall_us, (void)level, (void)src, (void)text;
}

/* The runner's on_exit: record the code and end the run there, since
 * nothing the runner does after exiting belongs to the scenario. */
static void en_on_exit(void *data, int code)
{
    en_world_t *w = data;
    if (!w->running)
        return;
    w->exited = 1;
    w->exit_code = code;
    io_loop_stop(w->loop);
}

static void en_fire(io_timer_t *timer, void *data)
{
    (void)timer;
    en_action_t *a = data;
    en_world_t *w = a->world;
    char why[160];
    if (a->event->action == SC_SIGNAL) {
        io_sim_raise_signal(w->loop, a->event->sig);
    } else if (gw_fault_apply(w->gw, &a->event->fault, why, sizeof why) < 0 &&
               !w->fault_err[0]) {
        snprintf(w->fault_err, sizeof w->fault_err, "fault %s: %s",
                 gw_fault_kind_name(a->event->fault.kind), why);
        io_loop_stop(w->loop);
    }
}

/* Draws the run's schedule and puts each event on a timer. */
static int en_plan(en_world_t *w, const sc_scenario_t *sc, uint64_t seed)
{
    int rc = sd_schedule(sc, seed, &w->schedule, &w->nschedule);
    if (rc < 0)
        return rc;
    w->actions = calloc(w->nschedule + 1, sizeof *w->actions);
    if (!w->actions)
        return IO_ERR_NOMEM;
    for (size_t i = 0; i < w->nschedule; i++) {
        en_action_t *a = &w->actions[i];
        *a = (en_action_t){w, &w->schedule[i], io_timer_new(w->loop, en_fire, a)};
        if (!a->timer)
            return IO_ERR_NOMEM;
        io_timer_start(a->timer, w->schedule[i].at_us - sc->start_us);
    }
    return 0;
}

static void en_on_recorded(void *pass)
{
    iv_pass_advance(pass);
}

/* Frees the runner, the gateway and the event timers, and counts what io
 * still holds: after this nothing of the run should be left. */
static void en_world_release(en_world_t *w, io_stats_t *left)
{
    rn_free(w->rn);
    gw_free(w->gw);
    w->rn = NULL;
    w->gw = NULL;
    for (size_t i = 0; i < w->nschedule && w->actions; i++)
        if (w->actions[i].timer)
            io_timer_free(w->actions[i].timer);
    free(w->actions);
    w->actions = NULL;
    if (w->loop && left)
        io_loop_stats(w->loop, left);
}

static void en_world_free(en_world_t *w)
{
    en_world_release(w, NULL);
    tp_finish(w->pipe);
    w->pipe = NULL;
    iv_pass_free(w->pass);
    free(w->schedule);
    if (w->loop)
        io_loop_free(w->loop);
}

/* Builds the loop, the gateway and the runner, and schedules the events. */
static int en_build(en_world_t *w, const sc_scenario_t *sc, const en_options_t *opt,
                    uint64_t seed, char *err, size_t errlen)
{
    io_sim_config_t cfg = {seed, sc->start_us, sc->net};
    w->loop = io_sim_loop_new(&cfg);
    if (!w->loop) {
        snprintf(err, errlen, "%s: cannot create the simulated loop", sc->file);
        return IO_ERR_NOMEM;
    }
    /* Recording on a second core takes it off the run's path; without a
     * thread the run records itself, with the same result. */
    char why[256];
    if (tp_start(w->trace, &w->pipe, why, sizeof why) == 0)
        tp_attach(w->pipe, w->loop);
    else
        io_set_trace_sink(w->loop, tr_sink, w->trace);
    if (opt->verbose)
        io_set_log_sink(w->loop, IO_LOG_DEBUG, io_base_stderr_sink, NULL);
    else
        io_set_log_sink(w->loop, IO_LOG_ERROR, en_drop_log, NULL);
    gw_config_t gcfg = sc->gateway;
    if (!sc->market_seed_fixed)
        gcfg.market_seed = seed;
    int rc = gw_new(w->loop, &gcfg, &w->gw, why, sizeof why);
    if (rc < 0) {
        snprintf(err, errlen, "%s: gateway: %s", sc->file, why);
        return rc;
    }
    rn_config_t rcfg = sc->runner;
    rcfg.on_exit = en_on_exit;
    rcfg.exit_data = w;
    if ((rc = rn_new(w->loop, &rcfg, &w->rn, why, sizeof why)) < 0) {
        snprintf(err, errlen, "%s: runner: %s", sc->file, why);
        return rc;
    }
    if ((rc = en_plan(w, sc, seed)) < 0)
        snprintf(err, errlen, "%s: out of memory", sc->file);
    return rc;
}

/* Worst first: a broken invariant says more than a missed expectation. */
static enum en_outcome en_outcome_of(const en_result_t *r, size_t invariants_held)
{
    if (invariants_held < IV_COUNT)
        return EN_FAIL_INVARIANT;
    if (!r->liveness.pass)
        return EN_FAIL_LIVENESS;
    return r->npassed < r->nchecks ? EN_FAIL_CHECK : EN_PASS;
}

static int en_judge(const sc_scenario_t *sc, en_world_t *w, io_us_t span_us,
                    const io_stats_t *left, en_result_t *out, char *err, size_t errlen)
{
    if (!tr_ok(w->trace)) {
        snprintf(err, errlen, "%s: out of memory while recording the trace", sc->file);
        return IO_ERR_NOMEM;
    }
    out->checks = calloc(sc->nchecks, sizeof *out->checks);
    if (!out->checks) {
        snprintf(err, errlen, "%s: out of memory", sc->file);
        return IO_ERR_NOMEM;
    }
    ck_run_t run = {w->trace, w->exited, w->exit_code, sc->start_us + span_us};
    iv_input_t in = {sc, &run, w->schedule, w->nschedule, *left};
    out->nchecks = sc->nchecks;
    out->npassed = ck_evaluate(sc, &run, out->checks);
    size_t held = w->pass ? iv_pass_finish(w->pass, &in, out->invariants, &out->liveness)
                          : iv_evaluate(&in, out->invariants, &out->liveness);
    out->outcome = en_outcome_of(out, held);
    out->pass = out->outcome == EN_PASS;
    out->span_us = span_us;
    out->exited = w->exited;
    out->exit_code = w->exit_code;
    out->hash = tr_hash(w->trace);
    out->nevents = tr_count(w->trace);
    for (size_t i = 0; i < w->nschedule; i++)
        out->nfaults += w->schedule[i].action == SC_FAULT;
    tr_observe(w->trace, NULL, NULL);
    out->trace = w->trace;
    w->trace = NULL;
    return 0;
}

/* A year's trace is tens of megabytes in 1 MiB blocks. glibc maps blocks
 * that big on their own and unmaps them when freed, and shrinks its heaps
 * past a small threshold, so every run faulted its trace in afresh (about
 * 4,400 page faults a simulated year, each a trap and a zeroed page). */
void en_keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest */
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

int en_run(const sc_scenario_t *sc, const en_options_t *opt, en_result_t *out, char *err,
           size_t errlen)
{
    en_world_t w = {0};
    memset(out, 0, sizeof *out);
    out->seed = opt->override_seed ? opt->seed : sc->seed;
    w.trace = tr_new();
    /* The invariants walk the trace on the recorder's thread as it grows,
     * which leaves the run's thread only the last few events to walk. */
    if (w.trace && (w.pass = iv_pass_new(sc, w.trace)))
        tr_observe(w.trace, en_on_recorded, w.pass);
    int rc = w.trace ? en_build(&w, sc, opt, out->seed, err, errlen) : IO_ERR_NOMEM;
    if (!w.trace)
        snprintf(err, errlen, "%s: out of memory", sc->file);
    if (rc == 0) {
        w.running = 1;
        rn_start(w.rn);
        io_sim_run_until(w.loop, sc->end_us - sc->start_us);
        w.running = 0;
        io_us_t span_us = io_now_us(w.loop);
        gw_report_end(w.gw);
        /* What the teardown traces is not part of the scenario's run. */
        io_set_trace_sink(w.loop, NULL, NULL);
        tp_finish(w.pipe);
        w.pipe = NULL;
        io_stats_t left;
        en_world_release(&w, &left);
        if (w.fault_err[0]) {
            snprintf(err, errlen, "%s: %s", sc->file, w.fault_err);
            rc = IO_ERR_INVAL;
        } else {
            rc = en_judge(sc, &w, span_us, &left, out, err, errlen);
        }
    }
    en_world_free(&w);
    tr_free(w.trace);
    return rc;
}

void en_result_free(en_result_t *res)
{
    free(res->checks);
    tr_free(res->trace);
    memset(res, 0, sizeof *res);
}
