/* engine.c - one scenario run (see engine.h). */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_base.h"
#include "io_sim.h"

/* What a scheduled timer does when it fires. A stale event with a `for`
 * becomes two steps: on at `at`, off at `at + for`. */
enum en_step { EN_KILL, EN_STALE_ON, EN_STALE_OFF, EN_SIGNAL };

typedef struct en_world en_world_t;

typedef struct en_action {
    en_world_t *world;
    io_us_t delay_us; /* from the start of the run */
    enum en_step step;
    enum io_close_how how;
    enum io_signal sig;
    io_timer_t *timer;
} en_action_t;

/* Everything one run builds; torn down in reverse by en_world_free. */
struct en_world {
    io_loop_t *loop;
    gw_t *gw;
    rn_t *rn;
    tr_recorder_t *trace;
    en_action_t *actions;
    size_t nactions;
    int running; /* inside the span: an exit now counts */
    int exited;
    int exit_code;
};

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
    switch (a->step) {
    case EN_KILL:
        gw_kill(w->gw, a->how, -1);
        break;
    case EN_STALE_ON:
        gw_set_stale(w->gw, 1, -1);
        break;
    case EN_STALE_OFF:
        gw_set_stale(w->gw, 0, -1);
        break;
    case EN_SIGNAL:
        io_sim_raise_signal(w->loop, a->sig);
        break;
    }
}

/* Turns the scenario's events into timer steps. */
static int en_plan(en_world_t *w, const sc_scenario_t *sc)
{
    w->actions = calloc(sc->nevents * 2 + 1, sizeof *w->actions);
    if (!w->actions)
        return IO_ERR_NOMEM;
    for (size_t i = 0; i < sc->nevents; i++) {
        const sc_event_t *e = &sc->events[i];
        en_action_t *a = &w->actions[w->nactions++];
        *a = (en_action_t){w, e->at_us - sc->start_us, EN_SIGNAL, e->how, e->sig, NULL};
        if (e->action == SC_FAULT_KILL)
            a->step = EN_KILL;
        if (e->action != SC_FAULT_STALE)
            continue;
        a->step = EN_STALE_ON;
        if (e->for_us >= 0) {
            en_action_t *off = &w->actions[w->nactions++];
            *off = *a;
            off->step = EN_STALE_OFF;
            off->delay_us = a->delay_us + e->for_us;
        }
    }
    for (size_t i = 0; i < w->nactions; i++) {
        w->actions[i].timer = io_timer_new(w->loop, en_fire, &w->actions[i]);
        if (!w->actions[i].timer)
            return IO_ERR_NOMEM;
        io_timer_start(w->actions[i].timer, w->actions[i].delay_us);
    }
    return 0;
}

static void en_world_free(en_world_t *w)
{
    rn_free(w->rn);
    gw_free(w->gw);
    for (size_t i = 0; i < w->nactions; i++)
        if (w->actions[i].timer)
            io_timer_free(w->actions[i].timer);
    free(w->actions);
    if (w->loop)
        io_loop_free(w->loop);
}

/* Builds the loop, the gateway and the runner, and schedules the events. */
static int en_build(en_world_t *w, const sc_scenario_t *sc, const en_options_t *opt, char *err,
                    size_t errlen)
{
    io_sim_config_t cfg = {opt->override_seed ? opt->seed : sc->seed, sc->start_us, sc->net};
    w->loop = io_sim_loop_new(&cfg);
    if (!w->loop) {
        snprintf(err, errlen, "%s: cannot create the simulated loop", sc->file);
        return IO_ERR_NOMEM;
    }
    io_set_trace_sink(w->loop, tr_sink, w->trace);
    if (opt->verbose)
        io_set_log_sink(w->loop, IO_LOG_DEBUG, io_base_stderr_sink, NULL);
    else
        io_set_log_sink(w->loop, IO_LOG_ERROR, en_drop_log, NULL);
    char why[256];
    int rc = gw_new(w->loop, &sc->gateway, &w->gw, why, sizeof why);
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
    if ((rc = en_plan(w, sc)) < 0)
        snprintf(err, errlen, "%s: out of memory", sc->file);
    return rc;
}

static int en_judge(const sc_scenario_t *sc, en_world_t *w, io_us_t span_us, en_result_t *out,
                    char *err, size_t errlen)
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
    out->nchecks = sc->nchecks;
    out->npassed = ck_evaluate(sc, &run, out->checks);
    out->pass = out->npassed == out->nchecks;
    out->span_us = span_us;
    out->exited = w->exited;
    out->exit_code = w->exit_code;
    out->hash = tr_hash(w->trace);
    out->nevents = tr_count(w->trace);
    out->trace = w->trace;
    w->trace = NULL;
    return 0;
}

int en_run(const sc_scenario_t *sc, const en_options_t *opt, en_result_t *out, char *err,
           size_t errlen)
{
    en_world_t w = {0};
    memset(out, 0, sizeof *out);
    out->seed = opt->override_seed ? opt->seed : sc->seed;
    w.trace = tr_new();
    int rc = w.trace ? en_build(&w, sc, opt, err, errlen) : IO_ERR_NOMEM;
    if (!w.trace)
        snprintf(err, errlen, "%s: out of memory", sc->file);
    if (rc == 0) {
        w.running = 1;
        rn_start(w.rn);
        io_sim_run_until(w.loop, sc->end_us - sc->start_us);
        w.running = 0;
        /* What the teardown traces is not part of the scenario's run. */
        io_set_trace_sink(w.loop, NULL, NULL);
        rc = en_judge(sc, &w, io_now_us(w.loop), out, err, errlen);
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
