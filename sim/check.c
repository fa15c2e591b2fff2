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

static int ck_in_window(const sc_check_t *k, io_us_t wall_us)
{
    return (!k->has_from || wall_us >= k->from_us) && (!k->has_to || wall_us < k->to_us);
}

/* A pattern of a check, with the trace's kinds it can match worked out
 * once (src and ev are per kind), so that a walk looks up each event's
 * kind and reads the fields only of those that can match. */
typedef struct ck_scan {
    const ck_run_t *run;
    const sc_check_t *k;
    const sc_pattern_t *p;
    uint8_t *kinds; /* NULL when out of memory: every event is matched in full */
} ck_scan_t;

static ck_scan_t ck_scan_new(const ck_run_t *run, const sc_check_t *k, const sc_pattern_t *p)
{
    const tr_recorder_t *t = run->trace;
    ck_scan_t sc = {run, k, p, malloc(tr_nkinds(t) + 1)};
    for (uint32_t kind = 0; sc.kinds && kind < tr_nkinds(t); kind++)
        sc.kinds[kind] = strcmp(p->ev, tr_kind_ev(t, kind)) == 0 &&
                         (!k->src || strcmp(k->src, tr_kind_src(t, kind)) == 0);
    return sc;
}

static void ck_scan_free(ck_scan_t *sc)
{
    free(sc->kinds);
}

static inline int ck_hit(const ck_scan_t *sc, const tr_cursor_t *c)
{
    if (sc->kinds && !sc->kinds[c->kind])
        return 0;
    tr_event_t e = tr_cursor_event(c);
    return ck_matches(sc->k, sc->p, &e);
}

/* Moves c to the first event from where it stands that matches the scan's
 * pattern and, when window is set, lies in the check's window: 1, or 0
 * when there is none (c is then past the last event). */
static int ck_seek(const ck_scan_t *sc, tr_cursor_t *c, int window)
{
    for (; c->i < c->n; tr_next(c))
        if (ck_hit(sc, c) && (!window || ck_in_window(sc->k, c->wall_us)))
            return 1;
    return 0;
}

/* The events the scan's pattern matches in the check's window, from the
 * kinds' counts alone, or -1 when that takes reading the events (a where
 * clause, a window). */
static int64_t ck_total_by_kind(const ck_scan_t *sc)
{
    const tr_recorder_t *t = sc->run->trace;
    if (!sc->kinds || sc->p->nwhere || sc->k->has_from || sc->k->has_to)
        return -1;
    int64_t total = 0;
    for (uint32_t kind = 0; kind < tr_nkinds(t); kind++)
        if (sc->kinds[kind])
            total += (int64_t)tr_kind_count(t, kind);
    return total;
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

static int ck_compare(const sc_check_t *k, int64_t got)
{
    return k->cmp == SC_CMP_EQ ? got == k->n : k->cmp == SC_CMP_GE ? got >= k->n : got <= k->n;
}

static int ck_count(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                    char *why, size_t cap, long *at)
{
    (void)sc;
    size_t n = tr_count(run->trace), last = n;
    ck_scan_t what = ck_scan_new(run, k, &k->what);
    int64_t got = ck_total_by_kind(&what);
    /* A failure is shown where the one over the limit happened: a walk. */
    if (got < 0 || !ck_compare(k, got)) {
        got = 0;
        for (tr_cursor_t c = tr_cursor(run->trace, 0); ck_seek(&what, &c, 1); tr_next(&c)) {
            got++;
            if (last == n && got > k->n && k->cmp != SC_CMP_GE)
                last = c.i;
        }
    }
    ck_scan_free(&what);
    int ok = ck_compare(k, got);
    if (!ok) {
        snprintf(why, cap, "got %" PRId64, got);
        *at = last < n ? (long)last : -1;
    }
    return ok;
}

static int ck_never(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run, char *why,
                    size_t cap, long *at)
{
    ck_scan_t what = ck_scan_new(run, k, &k->what);
    if (ck_total_by_kind(&what) == 0) {
        ck_scan_free(&what);
        return 1;
    }
    tr_cursor_t c = tr_cursor(run->trace, 0);
    size_t total = 0;
    int found = ck_seek(&what, &c, 1);
    tr_cursor_t first = c;
    for (; ck_seek(&what, &c, 1); tr_next(&c))
        total++;
    ck_scan_free(&what);
    if (!found)
        return 1;
    char t[40];
    snprintf(why, cap, "%s at %s (%zu in all)", k->what.text,
             ck_at(sc, first.wall_us, t, sizeof t), total);
    *at = (long)first.i;
    return 0;
}

/* Whether some event after the one at c, no later than deadline, matches
 * then. */
static int ck_followed(const ck_scan_t *then, tr_cursor_t c, io_us_t deadline_us)
{
    while (tr_next(&c) && c.wall_us <= deadline_us)
        if (ck_hit(then, &c))
            return 1;
    return 0;
}

static int ck_within(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                     char *why, size_t cap, long *at)
{
    size_t times = 0, missed = 0;
    tr_cursor_t first_miss = {0};
    ck_scan_t what = ck_scan_new(run, k, &k->what), then = ck_scan_new(run, k, &k->then);
    for (tr_cursor_t c = tr_cursor(run->trace, 0); ck_seek(&what, &c, 0); tr_next(&c)) {
        times++;
        if (!ck_followed(&then, c, c.wall_us + k->within_us) && missed++ == 0)
            first_miss = c;
    }
    ck_scan_free(&what);
    ck_scan_free(&then);
    if (missed == 0)
        return 1;
    io_us_t wall_us = first_miss.wall_us;
    char t[40], d[40];
    snprintf(why, cap, "%s at %s was not followed by %s within %s%s (%zu of %zu times)",
             k->what.text, ck_at(sc, wall_us, t, sizeof t), k->then.text,
             dur_format(k->within_us, d, sizeof d),
             wall_us + k->within_us > run->end_us ? ", the run ended first" : "", missed, times);
    *at = (long)first_miss.i;
    return 0;
}

static int ck_sequence(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                       char *why, size_t cap, long *at)
{
    tr_cursor_t c = tr_cursor(run->trace, 0), prev = c;
    size_t step;
    char t[40];
    for (step = 0; step < k->nseq; step++) {
        ck_scan_t next = ck_scan_new(run, k, &k->seq[step]);
        int found = ck_seek(&next, &c, 0);
        ck_scan_free(&next);
        if (!found)
            break;
        prev = c;
        tr_next(&c);
    }
    if (step == k->nseq)
        return 1;
    if (step == 0) {
        snprintf(why, cap, "no %s at all", k->seq[0].text);
    } else {
        snprintf(why, cap, "no %s after %s at %s", k->seq[step].text, k->seq[step - 1].text,
                 ck_at(sc, prev.wall_us, t, sizeof t));
        *at = (long)prev.i;
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

/* What a runner event means to the status and shutdown checks. */
enum ck_role {
    CK_OTHER,
    CK_STATUS,
    CK_CYCLE_START,
    CK_CYCLE_END,
    CK_CONNECT,
    CK_READY,
    CK_DISCONNECT,
    CK_SIGNAL,
    CK_MSG_OUT,
    CK_MSG_IN,
    CK_ERROR /* error:<code> */
};

static enum ck_role ck_role_named(const char *src, const char *ev)
{
    static const char *const names[] = {
        [CK_STATUS] = "status",         [CK_CYCLE_START] = "cycle_start",
        [CK_CYCLE_END] = "cycle_end",   [CK_CONNECT] = "connect",
        [CK_READY] = "ready",           [CK_DISCONNECT] = "disconnect",
        [CK_SIGNAL] = "signal",         [CK_MSG_OUT] = "msg_out",
        [CK_MSG_IN] = "msg_in",
    };
    if (strcmp(src, "runner") != 0)
        return CK_OTHER;
    if (strncmp(ev, "error:", 6) == 0)
        return CK_ERROR;
    for (size_t r = CK_STATUS; r < sizeof names / sizeof names[0]; r++)
        if (strcmp(ev, names[r]) == 0)
            return (enum ck_role)r;
    return CK_OTHER;
}

/* The roles of a trace, worked out once per kind. */
typedef struct ck_roles {
    const tr_recorder_t *trace;
    uint8_t *of_kind; /* NULL when out of memory: each event is named in full */
} ck_roles_t;

static ck_roles_t ck_roles_new(const tr_recorder_t *t)
{
    ck_roles_t r = {t, malloc(tr_nkinds(t) + 1)};
    for (uint32_t k = 0; r.of_kind && k < tr_nkinds(t); k++)
        r.of_kind[k] = (uint8_t)ck_role_named(tr_kind_src(t, k), tr_kind_ev(t, k));
    return r;
}

static enum ck_role ck_role(const ck_roles_t *r, const tr_cursor_t *c)
{
    uint32_t kind = c->kind;
    if (r->of_kind)
        return (enum ck_role)r->of_kind[kind];
    return ck_role_named(tr_kind_src(r->trace, kind), tr_kind_ev(r->trace, kind));
}

/* The phases a status check may except, as the runner's events draw them. */
typedef struct ck_phase {
    const char *label; /* the label in force; NULL before the first status */
    size_t since;      /* the trace index that set it */
    int cycle, reconnect;
} ck_phase_t;

static void ck_phase_step(ck_phase_t *p, const ck_roles_t *r, const tr_cursor_t *c)
{
    char num[24];
    switch (ck_role(r, c)) {
    case CK_STATUS: {
        tr_event_t e = tr_cursor_event(c);
        p->label = tr_field_text(&e, "label", num);
        p->since = c->i;
        break;
    }
    case CK_CYCLE_START:
        p->cycle = 1;
        break;
    case CK_CYCLE_END:
        p->cycle = 0;
        break;
    case CK_DISCONNECT:
        p->reconnect = 1;
        break;
    case CK_READY:
        p->reconnect = 0;
        break;
    default:
        break;
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
    ck_roles_t roles = ck_roles_new(run->trace);
    char t[40];
    int ok = 1;
    if (!k->has_from) {
        win.from_us = sc->start_us;
        win.to_us = run->end_us;
    }
    for (tr_cursor_t c = tr_cursor(run->trace, 0);; tr_next(&c)) {
        int end = c.i == c.n;
        io_us_t now = end ? run->end_us : c.wall_us;
        if (ck_phase_breaks(&win, &p, prev, now)) {
            io_us_t from = prev > win.from_us ? prev : win.from_us;
            if (p.label)
                snprintf(why, cap, "the label was \"%s\" at %s", p.label,
                         ck_at(sc, from, t, sizeof t));
            else
                snprintf(why, cap, "no status yet at %s", ck_at(sc, from, t, sizeof t));
            *at = p.label ? (long)p.since : (end ? -1 : (long)c.i);
            ok = 0;
        }
        if (!ok || end)
            break;
        ck_phase_step(&p, &roles, &c);
        prev = now;
    }
    free(roles.of_kind);
    return ok;
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

/* Adds what the event at c does to the outstanding count of each request
 * kind; a request-scoped error (id > 0) answers one request of any kind. */
static void ck_account(const ck_roles_t *r, const tr_cursor_t *c, long *open, long *errors)
{
    enum ck_role role = ck_role(r, c);
    if (role != CK_MSG_OUT && role != CK_MSG_IN && role != CK_ERROR)
        return;
    char num[24];
    tr_event_t e = tr_cursor_event(c);
    const char *id_text = tr_field_text(&e, "id", num);
    int id = id_text ? atoi(id_text) : -1;
    int out = role == CK_MSG_OUT, in = role == CK_MSG_IN;
    if (role == CK_ERROR && id > 0)
        (*errors)++;
    for (size_t q = 0; q < CK_NREQUESTS && (out || in); q++) {
        if (out && id == ck_requests[q].out)
            open[q]++;
        else if ((out && ck_requests[q].cancel && id == ck_requests[q].cancel) ||
                 (in && (id == ck_requests[q].answers[0] || id == ck_requests[q].answers[1])))
            open[q]--;
    }
}

/* Requests of the connection whose events run from c (just past its
 * connect) to index end (exclusive), left without an answer. */
static long ck_unanswered(const ck_roles_t *r, tr_cursor_t c, size_t end, char *what, size_t cap)
{
    long open[CK_NREQUESTS] = {0}, errors = 0, total = 0;
    for (; c.i < end; tr_next(&c))
        ck_account(r, &c, open, &errors);
    what[0] = '\0';
    for (size_t q = 0; q < CK_NREQUESTS; q++) {
        if (open[q] <= 0)
            continue;
        total += open[q];
        ck_append(what, cap, "%s%s x%ld", what[0] ? ", " : "", proto_out_name(ck_requests[q].out),
                  open[q]);
    }
    return total > errors ? total - errors : 0;
}

/* Moves since just past c when c is at a connect. */
static void ck_note_connect(const ck_roles_t *r, const tr_cursor_t *c, tr_cursor_t *since)
{
    if (ck_role(r, c) == CK_CONNECT) {
        *since = *c;
        tr_next(since);
    }
}

/* After the signal at c: the runner closed by itself with FIN, nothing left
 * unanswered since the last connect (since: just past it). 1 on pass (and
 * when it was not connected), else 0 with why. */
static int ck_closed_cleanly(const ck_roles_t *r, tr_cursor_t c, tr_cursor_t since, char *why,
                             size_t cap, long *at)
{
    char what[160], h[24], b[24];
    for (; c.i < c.n && ck_role(r, &c) != CK_DISCONNECT; tr_next(&c))
        ck_note_connect(r, &c, &since);
    if (c.i == c.n) {
        snprintf(why, cap, "the runner never closed its connection after the signal");
        return 0;
    }
    tr_event_t e = tr_cursor_event(&c);
    const char *how = tr_field_text(&e, "how", h);
    const char *by = tr_field_text(&e, "by", b);
    *at = (long)c.i;
    if (!how || !by || strcmp(how, "fin") != 0 || strcmp(by, "client") != 0) {
        snprintf(why, cap, "the connection ended by %s with %s, not by the client with fin",
                 by ? by : "?", how ? how : "?");
        return 0;
    }
    long left = ck_unanswered(r, since, c.i, what, sizeof what);
    if (left > 0) {
        snprintf(why, cap, "%ld request(s) unanswered at the disconnect: %s", left, what);
        return 0;
    }
    return 1;
}

static int ck_clean_shutdown(const sc_scenario_t *sc, const sc_check_t *k, const ck_run_t *run,
                             char *why, size_t cap, long *at)
{
    int connected = 0, ok;
    ck_roles_t roles = ck_roles_new(run->trace);
    tr_cursor_t c = tr_cursor(run->trace, 0), since = c;
    (void)k;
    for (; c.i < c.n && ck_role(&roles, &c) != CK_SIGNAL; tr_next(&c)) {
        if (ck_role(&roles, &c) == CK_READY)
            connected = 1;
        else if (ck_role(&roles, &c) == CK_DISCONNECT)
            connected = 0;
        ck_note_connect(&roles, &c, &since);
    }
    if (c.i == c.n) {
        snprintf(why, cap, "no signal in the trace");
        ok = 0;
    } else {
        *at = (long)c.i;
        ok = !connected || ck_closed_cleanly(&roles, c, since, why, cap, at);
    }
    free(roles.of_kind);
    return ok && ck_exit(sc, &(sc_check_t){.exit_code = 0}, run, why, cap, at);
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
