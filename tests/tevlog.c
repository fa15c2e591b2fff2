/* tevlog.c - the shared trace record of the runner's suites (see tevlog.h). */
#include "tevlog.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEV_FIRST_CAP 1024

tev_log_t tevlog;

/* ---- recording ---------------------------------------------------------- */

/* Room for one more event; 0 once a capped record is full. Running out
 * of memory aborts: a trace sink has no way to fail the test cleanly. */
static int tev_room(void)
{
    if (tevlog.opts.max && tevlog.n == tevlog.opts.max)
        return 0;
    if (tevlog.n == tevlog.cap) {
        tevlog.cap = tevlog.cap ? 2 * tevlog.cap : TEV_FIRST_CAP;
        tevlog.ev = realloc(tevlog.ev, tevlog.cap * sizeof *tevlog.ev);
        if (!tevlog.ev)
            abort();
    }
    return 1;
}

static void tev_trace(void *data, io_us_t wall_us, const char *src, const char *ev, size_t n,
                      const io_trace_field_t *fields)
{
    (void)data;
    if (tevlog.opts.keep && !tevlog.opts.keep(src, ev))
        return;
    if (!tev_room()) {
        tevlog.overflow = 1;
        return;
    }
    tev_t *e = &tevlog.ev[tevlog.n++];
    memset(e, 0, sizeof *e);
    e->t = wall_us - tevlog.opts.origin;
    snprintf(e->src, sizeof e->src, "%s", src);
    snprintf(e->ev, sizeof e->ev, "%s", ev);
    e->n = n < TEV_FIELDS ? n : TEV_FIELDS;
    for (size_t i = 0; i < e->n; i++) {
        snprintf(e->f[i].key, sizeof e->f[i].key, "%s", fields[i].key);
        e->f[i].is_str = fields[i].str != NULL;
        if (fields[i].str)
            snprintf(e->f[i].str, sizeof e->f[i].str, "%s", fields[i].str);
        e->f[i].num = fields[i].num;
    }
}

void tev_quiet_log(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                   const char *text)
{
    (void)data, (void)wall_us, (void)level, (void)src, (void)text;
}

/* ---- the loop ----------------------------------------------------------- */

io_loop_t *tev_start(const tev_opts_t *opts, io_us_t start_wall_us)
{
    memset(&tevlog, 0, sizeof tevlog);
    tevlog.opts = *opts;
    io_sim_config_t sc = {.seed = opts->seed, .start_wall_us = start_wall_us,
                          .net = IO_SIM_NET_DEFAULT};
    tevlog.loop = io_sim_loop_new(&sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tevlog.loop);
    io_set_trace_sink(tevlog.loop, tev_trace, NULL);
    io_set_log_sink(tevlog.loop, IO_LOG_ERROR, tev_quiet_log, NULL);
    return tevlog.loop;
}

void tev_stop(void)
{
    io_stats_t st;
    io_loop_stats(tevlog.loop, &st);
    CU_ASSERT_EQUAL(st.timers, 0);
    CU_ASSERT_EQUAL(st.streams, 0);
    CU_ASSERT_EQUAL(st.listeners, 0);
    /* An uncapped record cannot overflow: nothing to check there. */
    if (tevlog.opts.max)
        CU_ASSERT_FALSE(tevlog.overflow);
    io_loop_free(tevlog.loop);
    free(tevlog.ev);
    memset(&tevlog, 0, sizeof tevlog);
}

void tev_run_for(io_us_t dt)
{
    io_sim_run_until(tevlog.loop, io_now_us(tevlog.loop) + dt);
}

void tev_run_to(io_us_t t)
{
    io_us_t wall = t + tevlog.opts.origin;
    io_sim_run_until(tevlog.loop, wall - io_wall_us(tevlog.loop) + io_now_us(tevlog.loop));
}

/* ---- lookups ------------------------------------------------------------ */

const tev_t *tev_find(const char *src, const char *ev, int nth)
{
    for (size_t i = 0; i < tevlog.n; i++)
        if (strcmp(tevlog.ev[i].src, src) == 0 && strcmp(tevlog.ev[i].ev, ev) == 0 && nth-- == 0)
            return &tevlog.ev[i];
    return NULL;
}

const tev_t *tev_rev(const char *ev, int nth)
{
    return tev_find("runner", ev, nth);
}

int tev_rcount(const char *ev)
{
    int n = 0;
    while (tev_rev(ev, n))
        n++;
    return n;
}

const char *tev_str(const tev_t *e, const char *key)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (strcmp(e->f[i].key, key) == 0 && e->f[i].is_str)
            return e->f[i].str;
    return "<missing>";
}

int64_t tev_num(const tev_t *e, const char *key)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (strcmp(e->f[i].key, key) == 0 && !e->f[i].is_str)
            return e->f[i].num;
    return INT64_MIN;
}

const char *tev_str_at(const tev_t *e, int i)
{
    for (size_t k = 0; e && k < e->n; k++)
        if (e->f[k].is_str && i-- == 0)
            return e->f[k].str;
    return "<missing>";
}

int64_t tev_num_at(const tev_t *e, int i)
{
    for (size_t k = 0; e && k < e->n; k++)
        if (!e->f[k].is_str && i-- == 0)
            return e->f[k].num;
    return INT64_MIN;
}
