/* report.c - run records and the report formats (see report.h). */
#include "report.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/duration.h"
#include "outfile.h"

#define RP_EXCERPT_RADIUS 3

static char *rp_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void rp_clear(rp_run_t *r)
{
    for (size_t i = 0; i < r->nfailures; i++) {
        free(r->failures[i].msg);
        free(r->failures[i].excerpt);
    }
    free(r->failures);
    free(r->file);
    free(r->name);
    free(r->error);
    memset(r, 0, sizeof *r);
}

/* Appends "> " or "  ", event i's JSON line and '\n' to *out (grown as
 * needed); 0 when out of memory. */
static int rp_excerpt_line(const tr_recorder_t *trace, size_t i, int mark, char **out,
                           size_t *used, size_t *cap)
{
    size_t room = 256;
    for (;;) {
        if (*cap < *used + room + 4) {
            size_t c = *used + room + 4;
            char *p = realloc(*out, c);
            if (!p)
                return 0;
            *out = p;
            *cap = c;
        }
        size_t n = tr_format(trace, i, *out + *used + 2, room);
        if (n == SIZE_MAX)
            return 0;
        if (n < room) {
            memcpy(*out + *used, mark ? "> " : "  ", 2);
            (*out)[*used + 2 + n] = '\n';
            *used += n + 3;
            return 1;
        }
        room = n + 1;
    }
}

char *rp_excerpt(const tr_recorder_t *trace, long at)
{
    size_t n = tr_count(trace);
    size_t centre = at >= 0 ? (size_t)at : n;
    size_t first = centre > RP_EXCERPT_RADIUS ? centre - RP_EXCERPT_RADIUS : 0;
    size_t last = at >= 0 ? centre + RP_EXCERPT_RADIUS + 1 : n; /* exclusive */
    size_t used = 0, cap = 1;
    char *out = malloc(cap);
    if (last > n)
        last = n;
    for (size_t i = first; out && i < last; i++) {
        if (!rp_excerpt_line(trace, i, (long)i == at, &out, &used, &cap)) {
            free(out);
            out = NULL;
        }
    }
    if (out)
        out[used] = '\0';
    return out;
}

static int rp_add_failure(rp_run_t *r, const char *msg, const tr_recorder_t *trace, long at)
{
    rp_failure_t *f = &r->failures[r->nfailures];
    f->msg = rp_strdup(msg);
    f->excerpt = rp_excerpt(trace, at);
    r->nfailures++;
    return f->msg && f->excerpt ? 0 : IO_ERR_NOMEM;
}

int rp_from_result(rp_run_t *out, const char *file, const sc_scenario_t *sc,
                   const en_result_t *res, double wall_ms)
{
    memset(out, 0, sizeof *out);
    out->file = rp_strdup(file);
    out->name = rp_strdup(sc->name);
    out->has_seed = 1;
    out->seed = res->seed;
    out->code = (int)res->outcome;
    out->nchecks = res->nchecks;
    out->npassed = res->npassed;
    out->nevents = res->nevents;
    out->nfaults = res->nfaults;
    out->span_us = res->span_us;
    out->wall_ms = wall_ms;
    out->hash = res->hash;
    out->failures = calloc(res->nchecks + IV_COUNT + 1, sizeof *out->failures);
    int rc = out->file && out->name && out->failures ? 0 : IO_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < IV_COUNT; i++)
        if (!res->invariants[i].pass)
            rc = rp_add_failure(out, res->invariants[i].msg, res->trace, res->invariants[i].at);
    if (rc == 0 && !res->liveness.pass)
        rc = rp_add_failure(out, res->liveness.msg, res->trace, res->liveness.at);
    for (size_t i = 0; rc == 0 && i < res->nchecks; i++)
        if (!res->checks[i].pass)
            rc = rp_add_failure(out, res->checks[i].msg, res->trace, res->checks[i].at);
    if (rc < 0)
        rp_clear(out);
    return rc;
}

int rp_from_error(rp_run_t *out, const char *file, int has_seed, uint64_t seed,
                  const char *error)
{
    memset(out, 0, sizeof *out);
    out->file = rp_strdup(file);
    out->name = rp_strdup(file);
    out->error = rp_strdup(error);
    out->has_seed = has_seed;
    out->seed = seed;
    out->code = RP_ERROR;
    if (out->file && out->name && out->error)
        return 0;
    rp_clear(out);
    return IO_ERR_NOMEM;
}

int rp_exit_code(const rp_run_t *runs, size_t n)
{
    static const int rank[] = {[0] = 0, [1] = 1, [RP_ERROR] = 4, [3] = 3, [4] = 2};
    int worst = 0;
    for (size_t i = 0; i < n; i++)
        if (rank[runs[i].code] > rank[worst])
            worst = runs[i].code;
    return worst;
}

/* ---- one run as JSON --------------------------------------------------- */

static cJSON *rp_run_json(const rp_run_t *r)
{
    char hex[24], seed[24];
    const char *result = r->code == RP_ERROR ? "error" : en_outcome_name((enum en_outcome)r->code);
    cJSON *o = cJSON_CreateObject(), *fails;
    snprintf(hex, sizeof hex, "%016" PRIx64, r->hash);
    snprintf(seed, sizeof seed, "%" PRIu64, r->seed);
    int ok = o && cJSON_AddStringToObject(o, "file", r->file) &&
             cJSON_AddStringToObject(o, "name", r->name) &&
             (!r->has_seed || cJSON_AddStringToObject(o, "seed", seed)) &&
             cJSON_AddStringToObject(o, "result", result) &&
             cJSON_AddNumberToObject(o, "code", r->code) &&
             (!r->error || cJSON_AddStringToObject(o, "error", r->error)) &&
             cJSON_AddNumberToObject(o, "checks", (double)r->nchecks) &&
             cJSON_AddNumberToObject(o, "passed", (double)r->npassed) &&
             cJSON_AddNumberToObject(o, "events", (double)r->nevents) &&
             cJSON_AddNumberToObject(o, "faults", (double)r->nfaults) &&
             cJSON_AddNumberToObject(o, "virtual_us", (double)r->span_us) &&
             cJSON_AddNumberToObject(o, "wall_ms", r->wall_ms) &&
             cJSON_AddStringToObject(o, "trace", hex) &&
             (fails = cJSON_AddArrayToObject(o, "failures"));
    for (size_t i = 0; ok && i < r->nfailures; i++) {
        cJSON *f = cJSON_CreateObject();
        ok = f && cJSON_AddItemToArray(fails, f) &&
             cJSON_AddStringToObject(f, "message", r->failures[i].msg) &&
             cJSON_AddStringToObject(f, "excerpt", r->failures[i].excerpt);
        if (!ok && f && !cJSON_GetArraySize(fails))
            cJSON_Delete(f);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *rp_to_line(const rp_run_t *r)
{
    cJSON *o = rp_run_json(r);
    char *line = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return line;
}

static const char *rp_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double rp_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

int rp_from_line(const char *line, rp_run_t *out)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *fails = cJSON_GetObjectItemCaseSensitive(o, "failures"), *f;
    const char *file = rp_str(o, "file"), *name = rp_str(o, "name"), *hash = rp_str(o, "trace");
    const char *seed = rp_str(o, "seed"), *error = rp_str(o, "error");
    memset(out, 0, sizeof *out);
    if (!o || !file || !name || !hash || !cJSON_IsArray(fails)) {
        cJSON_Delete(o);
        return IO_ERR_INVAL;
    }
    out->file = rp_strdup(file);
    out->name = rp_strdup(name);
    out->error = error ? rp_strdup(error) : NULL;
    out->has_seed = seed != NULL;
    out->seed = seed ? strtoull(seed, NULL, 10) : 0;
    out->hash = strtoull(hash, NULL, 16);
    out->code = (int)rp_num(o, "code");
    out->nchecks = (size_t)rp_num(o, "checks");
    out->npassed = (size_t)rp_num(o, "passed");
    out->nevents = (size_t)rp_num(o, "events");
    out->nfaults = (size_t)rp_num(o, "faults");
    out->span_us = (io_us_t)rp_num(o, "virtual_us");
    out->wall_ms = rp_num(o, "wall_ms");
    out->failures = calloc((size_t)cJSON_GetArraySize(fails) + 1, sizeof *out->failures);
    int rc = out->file && out->name && out->failures && (!error || out->error) ? 0 : IO_ERR_NOMEM;
    cJSON_ArrayForEach(f, fails) {
        const char *msg = rp_str(f, "message"), *ex = rp_str(f, "excerpt");
        if (rc < 0 || !msg || !ex) {
            rc = rc < 0 ? rc : IO_ERR_INVAL;
            break;
        }
        rp_failure_t *fr = &out->failures[out->nfailures++];
        fr->msg = rp_strdup(msg);
        fr->excerpt = rp_strdup(ex);
        if (!fr->msg || !fr->excerpt)
            rc = IO_ERR_NOMEM;
    }
    cJSON_Delete(o);
    if (rc < 0)
        rp_clear(out);
    return rc;
}

/* ---- text -------------------------------------------------------------- */

/* Runs [i, end) are one scenario file's seeds. */
static size_t rp_group_end(const rp_run_t *runs, size_t n, size_t i)
{
    size_t end = i + 1;
    while (end < n && strcmp(runs[end].file, runs[i].file) == 0)
        end++;
    return end;
}

static void rp_wall(FILE *f, double ms)
{
    if (ms < 1000.0)
        fprintf(f, "%.1fms", ms);
    else
        fprintf(f, "%.2fs", ms / 1000.0);
}

static void rp_indent(FILE *f, const char *text, const char *prefix)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%s%.*s\n", prefix, (int)l, p);
        p += l + (nl != NULL);
    }
}

static void rp_text_failures(FILE *f, const rp_run_t *r, int several)
{
    for (size_t i = 0; i < r->nfailures; i++) {
        if (several)
            fprintf(f, "  seed %" PRIu64 ": %s\n", r->seed, r->failures[i].msg);
        else
            fprintf(f, "  %s\n", r->failures[i].msg);
        rp_indent(f, r->failures[i].excerpt, "      ");
    }
    fprintf(f, "  reproduce: sim --seed %" PRIu64 " %s\n", r->seed, r->file);
}

/* One line for the file's runs: one seed is the run itself; several are
 * summed, and the trace hash is FNV-1a over their hashes in seed order. */
static void rp_text_group(FILE *f, const rp_run_t *runs, size_t n)
{
    size_t passed = 0, checks = 0, ok_checks = 0;
    io_us_t span = 0;
    double wall = 0;
    uint64_t hash = runs[0].hash;
    char d[40];
    if (runs[0].code == RP_ERROR) {
        fflush(stdout);
        fprintf(stderr, "%s\n", runs[0].error);
        return;
    }
    if (n > 1)
        hash = tr_fnv1a("", 0);
    for (size_t i = 0; i < n; i++) {
        passed += runs[i].code == EN_PASS;
        checks += runs[i].nchecks;
        ok_checks += runs[i].npassed;
        span += runs[i].span_us;
        wall += runs[i].wall_ms;
        if (n > 1)
            hash = tr_fnv1a_fold(hash, &runs[i].hash, sizeof runs[i].hash);
    }
    fprintf(f, "%s %s  ", passed == n ? "PASS" : "FAIL", runs[0].name);
    if (n > 1)
        fprintf(f, "%zu/%zu seeds  ", passed, n);
    fprintf(f, "%zu/%zu checks  virtual %s  wall ", ok_checks, checks,
            dur_format(span, d, sizeof d));
    rp_wall(f, wall);
    fprintf(f, "  trace %016" PRIx64 "\n", hash);
    for (size_t i = 0; i < n; i++)
        if (runs[i].code != EN_PASS)
            rp_text_failures(f, &runs[i], n > 1);
}

void rp_text(FILE *f, const rp_run_t *runs, size_t n)
{
    size_t passed = 0, failed = 0, broken = 0, rpass = 0, rfail = 0, groups = 0;
    for (size_t i = 0; i < n; i = rp_group_end(runs, n, i), groups++) {
        size_t end = rp_group_end(runs, n, i), bad = 0;
        rp_text_group(f, runs + i, end - i);
        for (size_t j = i; j < end; j++) {
            bad += runs[j].code != EN_PASS;
            rpass += runs[j].code == EN_PASS;
            rfail += runs[j].code != EN_PASS && runs[j].code != RP_ERROR;
        }
        broken += runs[i].code == RP_ERROR;
        failed += bad && runs[i].code != RP_ERROR;
        passed += !bad;
    }
    fprintf(f, "scenarios: %zu passed, %zu failed", passed, failed);
    if (broken)
        fprintf(f, ", %zu could not be loaded or run", broken);
    if (rpass + rfail > groups)
        fprintf(f, " (runs: %zu passed, %zu failed)", rpass, rfail);
    fprintf(f, "\n");
}

/* ---- JSON -------------------------------------------------------------- */

void rp_json(FILE *f, const rp_run_t *runs, size_t n)
{
    size_t passed = 0;
    fprintf(f, "{\"runs\": [");
    for (size_t i = 0; i < n; i++) {
        char *line = rp_to_line(&runs[i]);
        fprintf(f, "%s\n  %s", i ? "," : "", line ? line : "null");
        cJSON_free(line);
        passed += runs[i].code == EN_PASS;
    }
    fprintf(f, "\n], \"passed\": %zu, \"failed\": %zu, \"exit\": %d}\n", passed, n - passed,
            rp_exit_code(runs, n));
}

/* ---- TAP 13 ------------------------------------------------------------ */

/* A YAML double-quoted scalar. */
static void rp_yaml_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

void rp_tap(FILE *f, const rp_run_t *runs, size_t n)
{
    size_t passed = 0;
    fprintf(f, "TAP version 13\n1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const rp_run_t *r = &runs[i];
        passed += r->code == EN_PASS;
        fprintf(f, "%s %zu - %s", r->code == EN_PASS ? "ok" : "not ok", i + 1, r->name);
        if (r->has_seed)
            fprintf(f, " seed %" PRIu64, r->seed);
        fputc('\n', f);
        if (r->code == EN_PASS)
            continue;
        fprintf(f, "  ---\n  message: ");
        rp_yaml_str(f, r->error ? r->error : r->nfailures ? r->failures[0].msg : "");
        fprintf(f, "\n  severity: fail\n  file: ");
        rp_yaml_str(f, r->file);
        if (r->code != RP_ERROR) {
            fprintf(f, "\n  failures:\n");
            for (size_t j = 0; j < r->nfailures; j++) {
                fprintf(f, "    - ");
                rp_yaml_str(f, r->failures[j].msg);
                fputc('\n', f);
            }
            fprintf(f, "  reproduce: \"sim --seed %" PRIu64 " %s\"\n  trace: \"%016" PRIx64 "\"",
                    r->seed, r->file, r->hash);
        }
        fprintf(f, "\n  ...\n");
    }
    fprintf(f, "%zu passed, %zu failed\n", passed, n - passed);
}

/* ---- JUnit XML --------------------------------------------------------- */

/* XML text or attribute content; characters XML 1.0 cannot hold at all
 * become '?'. */
static void rp_xml(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            fputs("&amp;", f);
        else if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c < 0x20 && c != '\n' && c != '\t')
            fputc('?', f);
        else
            fputc(c, f);
    }
}

static void rp_junit_case(FILE *f, const rp_run_t *r)
{
    fprintf(f, "    <testcase classname=\"");
    rp_xml(f, r->name);
    if (r->has_seed)
        fprintf(f, "\" name=\"seed %" PRIu64, r->seed);
    else
        fprintf(f, "\" name=\"load");
    fprintf(f, "\" file=\"");
    rp_xml(f, r->file);
    fprintf(f, "\" time=\"%.6f\">\n", r->wall_ms / 1000.0);
    if (r->code == RP_ERROR) {
        fprintf(f, "      <error message=\"");
        rp_xml(f, r->error);
        fprintf(f, "\" type=\"load\"/>\n    </testcase>\n");
        return;
    }
    if (r->code != EN_PASS) {
        fprintf(f, "      <failure message=\"");
        rp_xml(f, r->nfailures ? r->failures[0].msg : "");
        fprintf(f, "\" type=\"%s\">", en_outcome_name((enum en_outcome)r->code));
        for (size_t i = 0; i < r->nfailures; i++) {
            rp_xml(f, r->failures[i].msg);
            fputc('\n', f);
            rp_xml(f, r->failures[i].excerpt);
        }
        fprintf(f, "</failure>\n");
    }
    fprintf(f, "      <system-out>reproduce: sim --seed %" PRIu64 " ", r->seed);
    rp_xml(f, r->file);
    fprintf(f, "\ntrace %016" PRIx64 "</system-out>\n    </testcase>\n", r->hash);
}

static void rp_junit_write(FILE *f, const rp_run_t *runs, size_t n)
{
    size_t failed = 0, errors = 0;
    double wall = 0;
    for (size_t i = 0; i < n; i++) {
        failed += runs[i].code != EN_PASS && runs[i].code != RP_ERROR;
        errors += runs[i].code == RP_ERROR;
        wall += runs[i].wall_ms;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sim\" tests=\"%zu\""
            " failures=\"%zu\" errors=\"%zu\" time=\"%.6f\">\n", n, failed, errors, wall / 1000.0);
    for (size_t i = 0; i < n; i = rp_group_end(runs, n, i)) {
        size_t end = rp_group_end(runs, n, i), gf = 0, ge = 0;
        double gw = 0;
        for (size_t j = i; j < end; j++) {
            gf += runs[j].code != EN_PASS && runs[j].code != RP_ERROR;
            ge += runs[j].code == RP_ERROR;
            gw += runs[j].wall_ms;
        }
        fprintf(f, "  <testsuite name=\"");
        rp_xml(f, runs[i].name);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.6f\""
                " file=\"", end - i, gf, ge, gw / 1000.0);
        rp_xml(f, runs[i].file);
        fprintf(f, "\">\n");
        for (size_t j = i; j < end; j++)
            rp_junit_case(f, &runs[j]);
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
}

typedef struct rp_runs {
    const rp_run_t *runs;
    size_t n;
} rp_runs_t;

static int rp_junit_file(FILE *f, const void *data)
{
    const rp_runs_t *r = data;
    rp_junit_write(f, r->runs, r->n);
    return 0;
}

int rp_junit(const char *path, const rp_run_t *runs, size_t n, char *err, size_t errlen)
{
    rp_runs_t r = {runs, n};
    return of_replace(path, rp_junit_file, &r, err, errlen);
}
