/* check.c - the expect checks (see check.h). Every check reads the trace in
 * recorded order, so events at the same microsecond keep the order in which
 * they happened. */
#include "check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/catalog.h"
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

const char *ck_at(const sc_scenario_t *sc, io_us_t wall_us, char *buf, size_t cap)
{
    buf[0] = '+';
    dur_format(wall_us - sc->start_us, buf + 1, cap - 1);
    return buf;
}

int ck_matches(const sc_check_t *k, const sc_pattern_t *p, const tr_event_t *e)
{
    char num[24];
    /* The first letter first: most events differ there, and cost no strcmp. */
    if (p->ev[0] != e->ev[0] || strcmp(p->ev, e->ev) != 0 ||
        (k->src && strcmp(k->src, e->src) != 0))
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
    char d[40], d2[40];
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
    case SC_CHECK_STATUS:
        ck_append(buf, cap, "status \"%s\"", k->label);
        if (k->has_from)
            ck_append(buf, cap, " throughout %s..%s", ck_at(sc, k->from_us, d, sizeof d),
                      ck_at(sc, k->to_us, d2, sizeof d2));
        if (k->except)
            ck_append(buf, cap, " except%s%s", k->except & SC_PHASE_CYCLE ? " cycle" : "",
                      k->except & SC_PHASE_RECONNECT ? " reconnect" : "");
        break;
    case SC_CHECK_CLEAN_SHUTDOWN:
        ck_append(buf, cap, "clean_shutdown");
        break;
    }
    if (k->src)
        ck_append(buf, cap, " (src %s)", k->src);
    return buf;
}

/* Each evaluator returns 1 on pass, or 0 with the reason in why and the
 * trace index the failure shows at in *at (left -1: the run's end). */

static int ck_count(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                    char *why, size_t cap, long *at)
{
    (void)sc;
    int64_t got = 0;
    size_t n = tr_count(run->trace), last = n;
    for (size_t i = ck_next(run, k, &k->what, 0, 1); i < n;
         i = ck_next(run, k, &k->what, i + 1, 1)) {
        got++;
        /* Too many: show where the one over the limit happened. */
        if (last == n && got > k->n && k->cmp != SC_CMP_GE)
            last = i;
    }
    int ok = k->cmp == SC_CMP_EQ ? got == k->n : k->cmp == SC_CMP_GE ? got >= k->n : got <= k->n;
    if (!ok) {
        snprintf(why, cap, "got %" PRId64, got);
        *at = last < n ? (long)last : -1;
    }
    return ok;
}

static int ck_never(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run, char *why,
                    size_t cap, long *at)
{
    size_t n = tr_count(run->trace), first = ck_next(run, k, &k->what, 0, 1), total = 0;
    char t[40];
    if (first == n)
        return 1;
    for (size_t i = first; i < n; i = ck_next(run, k, &k->what, i + 1, 1))
        total++;
    snprintf(why, cap, "%s at %s (%zu in all)", k->what.text,
             ck_at(sc, tr_event(run->trace, first)->wall_us, t, sizeof t), total);
    *at = (long)first;
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
                     char *why, size_t cap, long *at)
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
    char t[40], d[40];
    snprintf(why, cap, "%s at %s was not followed by %s within %s%s (%zu of %zu times)",
             k->what.text, ck_at(sc, e->wall_us, t, sizeof t), k->then.text,
             dur_format(k->within_us, d, sizeof d),
             e->wall_us + k->within_us > run->end_us ? ", the run ended first" : "", missed, times);
    *at = (long)first_miss;
    return 0;
}

static int ck_sequence(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                       char *why, size_t cap, long *at)
{
    size_t n = tr_count(run->trace), i = 0, step;
    char t[40];
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
                 ck_at(sc, tr_event(run->trace, i - 1)->wall_us, t, sizeof t));
        *at = (long)(i - 1);
    }
    return 0;
}

static int ck_exit(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run, char *why,
                   size_t cap, long *at)
{
    char t[40];
    (void)at;
    if (!run->exited) {
        snprintf(why, cap, "the runner was still running when the run ended at %s",
                 ck_at(sc, run->end_us, t, sizeof t));
        return 0;
    }
    if (run->exit_code != k->exit_code) {
        snprintf(why, cap, "the runner exited with %d", run->exit_code);
        return 0;
    }
    return 1;
}

static int ck_is_runner(const tr_event_t *e, const char *ev)
{
    return strcmp(e->src, "runner") == 0 && strcmp(e->ev, ev) == 0;
}

/* The phases a status check may except, as the runner's events draw them. */
typedef struct ck_phase {
    const char *label; /* the label in force; NULL before the first status */
    size_t since;      /* the trace index that set it */
    int cycle, reconnect;
} ck_phase_t;

static void ck_phase_step(ck_phase_t *p, const tr_event_t *e, size_t i)
{
    char num[24];
    if (ck_is_runner(e, "status")) {
        p->label = tr_field_text(e, "label", num);
        p->since = i;
    } else if (ck_is_runner(e, "cycle_start")) {
        p->cycle = 1;
    } else if (ck_is_runner(e, "cycle_end")) {
        p->cycle = 0;
    } else if (ck_is_runner(e, "disconnect")) {
        p->reconnect = 1;
    } else if (ck_is_runner(e, "ready")) {
        p->reconnect = 0;
    }
}

/* Whether the state p held over [from, to) breaks the status check. */
static int ck_phase_breaks(const sc_check_t *k, const ck_phase_t *p, io_us_t from, io_us_t to)
{
    if (to <= from || to <= k->from_us || from >= k->to_us)
        return 0;
    if ((k->except & SC_PHASE_CYCLE) && p->cycle)
        return 0;
    if ((k->except & SC_PHASE_RECONNECT) && p->reconnect)
        return 0;
    return !p->label || strcmp(p->label, k->label) != 0;
}

static int ck_status(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                     char *why, size_t cap, long *at)
{
    sc_check_t win = *k;
    ck_phase_t p = {0};
    io_us_t prev = sc->start_us;
    size_t n = tr_count(run->trace);
    char t[40];
    if (!k->has_from) {
        win.from_us = sc->start_us;
        win.to_us = run->end_us;
    }
    for (size_t i = 0; i <= n; i++) {
        io_us_t now = i < n ? tr_event(run->trace, i)->wall_us : run->end_us;
        if (ck_phase_breaks(&win, &p, prev, now)) {
            io_us_t from = prev > win.from_us ? prev : win.from_us;
            if (p.label)
                snprintf(why, cap, "the label was \"%s\" at %s", p.label,
                         ck_at(sc, from, t, sizeof t));
            else
                snprintf(why, cap, "no status yet at %s", ck_at(sc, from, t, sizeof t));
            *at = p.label ? (long)p.since : (i < n ? (long)i : -1);
            return 0;
        }
        if (i < n)
            ck_phase_step(&p, tr_event(run->trace, i), i);
        prev = now;
    }
    return 1;
}

/* Tracks whether the runner holds a ready connection. */
static void ck_phase_connected(const tr_event_t *e, int *connected)
{
    if (ck_is_runner(e, "ready"))
        *connected = 1;
    else if (ck_is_runner(e, "disconnect"))
        *connected = 0;
}

/* Requests that expect an answer, what answers them and what withdraws
 * them (message ids; docs/scenarios.md, clean_shutdown). */
static const struct {
    int out;
    int answers[2];
    int cancel;
} ck_requests[] = {
    {PROTO_OUT_REQ_CURRENT_TIME, {PROTO_IN_CURRENT_TIME, 0}, 0},
    {PROTO_OUT_REQ_POSITIONS, {PROTO_IN_POSITION_END, 0}, PROTO_OUT_CANCEL_POSITIONS},
    {PROTO_OUT_REQ_HISTORICAL_DATA, {PROTO_IN_HISTORICAL_DATA, PROTO_IN_HISTORICAL_DATA_END},
     PROTO_OUT_CANCEL_HISTORICAL_DATA},
    {PROTO_OUT_PLACE_ORDER, {PROTO_IN_ORDER_STATUS, PROTO_IN_OPEN_ORDER}, 0},
    {PROTO_OUT_REQ_OPEN_ORDERS, {PROTO_IN_OPEN_ORDER_END, 0}, 0},
    {PROTO_OUT_REQ_EXECUTIONS, {PROTO_IN_EXECUTION_DATA_END, 0}, 0},
    {PROTO_OUT_REQ_IDS, {PROTO_IN_NEXT_VALID_ID, 0}, 0},
    {PROTO_OUT_REQ_CONTRACT_DATA, {PROTO_IN_CONTRACT_DATA_END, 0}, 0},
    {PROTO_OUT_REQ_ACCOUNT_SUMMARY, {PROTO_IN_ACCOUNT_SUMMARY_END, 0},
     PROTO_OUT_CANCEL_ACCOUNT_SUMMARY},
    {PROTO_OUT_REQ_COMPLETED_ORDERS, {PROTO_IN_COMPLETED_ORDERS_END, 0}, 0},
};
#define CK_NREQUESTS (sizeof ck_requests / sizeof ck_requests[0])

/* Adds what event e does to the outstanding count of each request kind;
 * a request-scoped error (id > 0) answers one request of any kind. */
static void ck_account(const tr_event_t *e, long *open, long *errors)
{
    char num[24];
    const char *id_text = tr_field_text(e, "id", num);
    int id = id_text ? atoi(id_text) : -1;
    int out = ck_is_runner(e, "msg_out"), in = ck_is_runner(e, "msg_in");
    if (strcmp(e->src, "runner") == 0 && strncmp(e->ev, "error:", 6) == 0 && id > 0)
        (*errors)++;
    for (size_t r = 0; r < CK_NREQUESTS && (out || in); r++) {
        if (out && id == ck_requests[r].out)
            open[r]++;
        else if ((out && ck_requests[r].cancel && id == ck_requests[r].cancel) ||
                 (in && (id == ck_requests[r].answers[0] || id == ck_requests[r].answers[1])))
            open[r]--;
    }
}

/* Requests of the connection that ends at index end (exclusive) and began
 * at the last connect before it, left without an answer. */
static long ck_unanswered(const ck_run_t *run, size_t end, char *what, size_t cap)
{
    long open[CK_NREQUESTS] = {0}, errors = 0, total = 0;
    size_t begin = end;
    while (begin > 0 && !ck_is_runner(tr_event(run->trace, begin - 1), "connect"))
        begin--;
    for (size_t i = begin; i < end; i++)
        ck_account(tr_event(run->trace, i), open, &errors);
    what[0] = '\0';
    for (size_t r = 0; r < CK_NREQUESTS; r++) {
        if (open[r] <= 0)
            continue;
        total += open[r];
        ck_append(what, cap, "%s%s x%ld", what[0] ? ", " : "", proto_out_name(ck_requests[r].out),
                  open[r]);
    }
    return total > errors ? total - errors : 0;
}

static int ck_clean_shutdown(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                             char *why, size_t cap, long *at)
{
    size_t n = tr_count(run->trace), sig = 0, i;
    int connected = 0;
    char what[160];
    (void)k;
    for (; sig < n && !ck_is_runner(tr_event(run->trace, sig), "signal"); sig++)
        ck_phase_connected(tr_event(run->trace, sig), &connected);
    if (sig == n) {
        snprintf(why, cap, "no signal in the trace");
        return 0;
    }
    *at = (long)sig;
    if (connected) {
        for (i = sig; i < n && !ck_is_runner(tr_event(run->trace, i), "disconnect"); i++)
            ;
        if (i == n) {
            snprintf(why, cap, "the runner never closed its connection after the signal");
            return 0;
        }
        char h[24], b[24];
        const char *how = tr_field_text(tr_event(run->trace, i), "how", h);
        const char *by = tr_field_text(tr_event(run->trace, i), "by", b);
        *at = (long)i;
        if (!how || !by || strcmp(how, "fin") != 0 || strcmp(by, "client") != 0) {
            snprintf(why, cap, "the connection ended by %s with %s, not by the client with fin",
                     by ? by : "?", how ? how : "?");
            return 0;
        }
        long left = ck_unanswered(run, i, what, sizeof what);
        if (left > 0) {
            snprintf(why, cap, "%ld request(s) unanswered at the disconnect: %s", left, what);
            return 0;
        }
    }
    return ck_exit(sc, &(sc_check_t){.exit_code = 0}, run, why, cap, at);
}

size_t ck_evaluate(const sc_scenario_t *sc, const ck_run_t *run, ck_result_t *results)
{
    static int (*const eval[])(const sc_scenario_t *, const sc_check_t *, const ck_run_t *,
                               char *, size_t, long *) = {
        [SC_CHECK_COUNT] = ck_count,       [SC_CHECK_NEVER] = ck_never,
        [SC_CHECK_WITHIN] = ck_within,     [SC_CHECK_SEQUENCE] = ck_sequence,
        [SC_CHECK_EXIT] = ck_exit,         [SC_CHECK_STATUS] = ck_status,
        [SC_CHECK_CLEAN_SHUTDOWN] = ck_clean_shutdown,
    };
    size_t passed = 0;
    for (size_t i = 0; i < sc->nchecks; i++) {
        char why[CK_MSG_MAX / 2] = "", desc[CK_MSG_MAX / 2];
        ck_result_t *r = &results[i];
        r->at = -1;
        r->pass = eval[sc->checks[i].kind](sc, &sc->checks[i], run, why, sizeof why, &r->at);
        r->msg[0] = '\0';
        if (r->pass)
            passed++;
        else
            snprintf(r->msg, sizeof r->msg, "expect[%zu] %s: %s", i,
                     ck_describe(sc, i, desc, sizeof desc), why);
    }
    return passed;
}
