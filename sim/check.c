/* check.c - the expect checks (see check.h). Every check reads the trace in
 * recorded order, so events at the same microsecond keep the order in which
 * they happened. */
#include "check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../proto/duration.h"

/* Appends to buf like snprintf, never past cap. */
static void ck_append(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ck_append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

/* "+3m0.0004s": a wall time relative to the scenario's start. */
static const char *ck_at(const sc_scenario_t *sc, io_us_t wall_us, char *buf, size_t cap)
{
    buf[0] = '+';
    dur_format(wall_us - sc->start_us, buf + 1, cap - 1);
    return buf;
}

static int ck_matches(const sc_check_t *k, const sc_pattern_t *p, const tr_event_t *e)
{
    char num[24];
    if ((k->src && strcmp(k->src, e->src) != 0) || strcmp(p->ev, e->ev) != 0)
        return 0;
    for (size_t i = 0; i < p->nwhere; i++) {
        const char *v = tr_field_text(e, p->where[i].key, num);
        if (!v || strcmp(v, p->where[i].value) != 0)
            return 0;
    }
    return 1;
}

static int ck_in_window(const sc_check_t *k, const tr_event_t *e)
{
    return (!k->has_from || e->wall_us >= k->from_us) && (!k->has_to || e->wall_us < k->to_us);
}

/* The index of the first event at or after i that matches p, and, when
 * window is set, lies in the check's window; tr_count when there is none. */
static size_t ck_next(const ck_run_t *run, const sc_check_t *k, const sc_pattern_t *p, size_t i,
                      int window)
{
    size_t n = tr_count(run->trace);
    for (; i < n; i++) {
        const tr_event_t *e = tr_event(run->trace, i);
        if (ck_matches(k, p, e) && (!window || ck_in_window(k, e)))
            return i;
    }
    return n;
}

static void ck_window_text(const sc_scenario_t *sc, const sc_check_t *k, char *buf, size_t cap)
{
    char at[40];
    if (k->has_from)
        ck_append(buf, cap, " from %s", ck_at(sc, k->from_us, at, sizeof at));
    if (k->has_to)
        ck_append(buf, cap, " to %s", ck_at(sc, k->to_us, at, sizeof at));
}

const char *ck_describe(const sc_scenario_t *sc, size_t i, char *buf, size_t cap)
{
    static const char *const cmps[] = {"eq", "ge", "le"};
    const sc_check_t *k = &sc->checks[i];
    char d[40];
    buf[0] = '\0';
    switch (k->kind) {
    case SC_CHECK_COUNT:
        ck_append(buf, cap, "count %s %s %" PRId64, k->what.text, cmps[k->cmp], k->n);
        ck_window_text(sc, k, buf, cap);
        break;
    case SC_CHECK_NEVER:
        ck_append(buf, cap, "never %s", k->what.text);
        ck_window_text(sc, k, buf, cap);
        break;
    case SC_CHECK_WITHIN:
        ck_append(buf, cap, "within %s after %s expect %s", dur_format(k->within_us, d, sizeof d),
                  k->what.text, k->then.text);
        break;
    case SC_CHECK_SEQUENCE:
        ck_append(buf, cap, "sequence");
        for (size_t j = 0; j < k->nseq; j++)
            ck_append(buf, cap, "%s%s", j ? " -> " : " ", k->seq[j].text);
        break;
    case SC_CHECK_EXIT:
        ck_append(buf, cap, "exit %d", k->exit_code);
        break;
    }
    if (k->src)
        ck_append(buf, cap, " (src %s)", k->src);
    return buf;
}

/* Each evaluator returns 1 on pass, or 0 with the reason in why. */

static int ck_count(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                    char *why, size_t cap)
{
    (void)sc;
    int64_t got = 0;
    size_t n = tr_count(run->trace);
    for (size_t i = ck_next(run, k, &k->what, 0, 1); i < n; i = ck_next(run, k, &k->what, i + 1, 1))
        got++;
    int ok = k->cmp == SC_CMP_EQ ? got == k->n : k->cmp == SC_CMP_GE ? got >= k->n : got <= k->n;
    if (!ok)
        snprintf(why, cap, "got %" PRId64, got);
    return ok;
}

static int ck_never(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run, char *why,
                    size_t cap)
{
    size_t n = tr_count(run->trace), first = ck_next(run, k, &k->what, 0, 1), total = 0;
    char at[40];
    if (first == n)
        return 1;
    for (size_t i = first; i < n; i = ck_next(run, k, &k->what, i + 1, 1))
        total++;
    snprintf(why, cap, "%s at %s (%zu in all)", k->what.text,
             ck_at(sc, tr_event(run->trace, first)->wall_us, at, sizeof at), total);
    return 0;
}

/* Whether some event after index i, no later than deadline, matches then. */
static int ck_followed(const ck_run_t *run, const sc_check_t *k, size_t i, io_us_t deadline_us)
{
    size_t n = tr_count(run->trace);
    for (size_t j = i + 1; j < n && tr_event(run->trace, j)->wall_us <= deadline_us; j++)
        if (ck_matches(k, &k->then, tr_event(run->trace, j)))
            return 1;
    return 0;
}

static int ck_within(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                     char *why, size_t cap)
{
    size_t n = tr_count(run->trace), times = 0, missed = 0, first_miss = n;
    for (size_t i = ck_next(run, k, &k->what, 0, 0); i < n;
         i = ck_next(run, k, &k->what, i + 1, 0)) {
        times++;
        if (!ck_followed(run, k, i, tr_event(run->trace, i)->wall_us + k->within_us)) {
            missed++;
            first_miss = first_miss < n ? first_miss : i;
        }
    }
    if (missed == 0)
        return 1;
    const tr_event_t *e = tr_event(run->trace, first_miss);
    char at[40], d[40];
    snprintf(why, cap, "%s at %s was not followed by %s within %s%s (%zu of %zu times)",
             k->what.text, ck_at(sc, e->wall_us, at, sizeof at), k->then.text,
             dur_format(k->within_us, d, sizeof d),
             e->wall_us + k->within_us > run->end_us ? ", the run ended first" : "", missed, times);
    return 0;
}

static int ck_sequence(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                       char *why, size_t cap)
{
    size_t n = tr_count(run->trace), i = 0, step;
    char at[40];
    for (step = 0; step < k->nseq; step++) {
        size_t found = ck_next(run, k, &k->seq[step], i, 0);
        if (found == n)
            break;
        i = found + 1;
    }
    if (step == k->nseq)
        return 1;
    if (step == 0) {
        snprintf(why, cap, "no %s at all", k->seq[0].text);
    } else {
        snprintf(why, cap, "no %s after %s at %s", k->seq[step].text, k->seq[step - 1].text,
                 ck_at(sc, tr_event(run->trace, i - 1)->wall_us, at, sizeof at));
    }
    return 0;
}

static int ck_exit(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run, char *why,
                   size_t cap)
{
    char at[40];
    if (!run->exited) {
        snprintf(why, cap, "the runner was still running when the run ended at %s",
                 ck_at(sc, run->end_us, at, sizeof at));
        return 0;
    }
    if (run->exit_code != k->exit_code) {
        snprintf(why, cap, "the runner exited with %d", run->exit_code);
        return 0;
    }
    return 1;
}

size_t ck_evaluate(const sc_scenario_t *sc, const ck_run_t *run, ck_result_t *results)
{
    static int (*const eval[])(const sc_scenario_t *, const sc_check_t *, const ck_run_t *,
                               char *, size_t) = {
        [SC_CHECK_COUNT] = ck_count,       [SC_CHECK_NEVER] = ck_never,
        [SC_CHECK_WITHIN] = ck_within,     [SC_CHECK_SEQUENCE] = ck_sequence,
        [SC_CHECK_EXIT] = ck_exit,
    };
    size_t passed = 0;
    for (size_t i = 0; i < sc->nchecks; i++) {
        char why[CK_MSG_MAX / 2] = "", desc[CK_MSG_MAX / 2];
        ck_result_t *r = &results[i];
        r->pass = eval[sc->checks[i].kind](sc, &sc->checks[i], run, why, sizeof why);
        r->msg[0] = '\0';
        if (r->pass)
            passed++;
        else
            snprintf(r->msg, sizeof r->msg, "expect[%zu] %s: %s", i,
                     ck_describe(sc, i, desc, sizeof desc), why);
    }
    return passed;
}
