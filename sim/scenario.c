/* scenario.c - scenario loading and validation (see scenario.h).
 *
 * The walk is strict on purpose: a misspelt key silently ignored would make
 * a scenario test something other than what its author meant, so every
 * object's keys are checked against the keys it may have, and every word
 * (fault, check, event kind, phase) against the words there are. */
#include "scenario.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mockgw/config.h"
#include "../proto/duration.h"

#define SC_FILE_MAX ((size_t)1 << 20)
#define SC_PATH_MAX 96
/* JSON numbers are doubles: integers are exact up to 2^53. */
#define SC_INT_EXACT_MAX 9007199254740992.0

/* The state of one load: where errors go and what is being filled. */
typedef struct sc_ctx {
    const char *file;
    char *err;
    size_t errlen;
    sc_scenario_t *sc;
} sc_ctx_t;

static int sc_fail(sc_ctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "FILE: PATH: message" and returns IO_ERR_INVAL. */
static int sc_fail(sc_ctx_t *c, const char *path, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s: %s: ", c->file, path);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return IO_ERR_INVAL;
}

static int sc_nomem(sc_ctx_t *c)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s: out of memory", c->file);
    return IO_ERR_NOMEM;
}

/* A path too long for the buffer (a user's absurd key) ends in "...". */
static void sc_path_cut(char *buf, int n)
{
    if (n >= SC_PATH_MAX)
        memcpy(buf + SC_PATH_MAX - 4, "...", 4);
}

static void sc_join(char *buf, const char *parent, const char *key)
{
    sc_path_cut(buf, snprintf(buf, SC_PATH_MAX, "%s%s%s", parent, *parent ? "." : "", key));
}

static void sc_index(char *buf, const char *parent, size_t i)
{
    sc_path_cut(buf, snprintf(buf, SC_PATH_MAX, "%s[%zu]", parent, i));
}

static int sc_in_list(const char *word, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(word, list[i]) == 0)
            return 1;
    return 0;
}

/* "a, b, c" for messages. */
static const char *sc_list_text(const char *const *list, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0, n = 0; list[i] && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", list[i]);
    return buf;
}

/* ---- typed values ------------------------------------------------------ */

static int sc_type_error(sc_ctx_t *c, const char *path, const cJSON *v, const char *want)
{
    const char *got = cJSON_IsString(v) ? "a string"
                      : cJSON_IsNumber(v) ? "a number"
                      : cJSON_IsBool(v)   ? "a boolean"
                      : cJSON_IsArray(v)  ? "an array"
                      : cJSON_IsObject(v) ? "an object"
                                          : "null";
    return sc_fail(c, path, "expected %s, got %s", want, got);
}

/* Each getter returns 1 when the key is there and valid, 0 when it is
 * absent (nothing written), or a negative error already reported. */

static int sc_get_string(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                         const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[SC_PATH_MAX];
    if (!v)
        return 0;
    sc_join(path, parent, key);
    if (!cJSON_IsString(v))
        return sc_type_error(c, path, v, "a string");
    *out = v->valuestring;
    return 1;
}

static int sc_get_int(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                      double min, double max, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[SC_PATH_MAX];
    if (!v)
        return 0;
    sc_join(path, parent, key);
    if (!cJSON_IsNumber(v))
        return sc_type_error(c, path, v, "an integer");
    double d = v->valuedouble;
    /* The range test comes first: the cast is only defined in range. */
    if (!(d >= min && d <= max) || d != (double)(int64_t)d)
        return sc_fail(c, path, "expected an integer from %.0f to %.0f, got %g", min, max, d);
    *out = (int64_t)d;
    return 1;
}

static int sc_get_number(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                         double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[SC_PATH_MAX];
    if (!v)
        return 0;
    sc_join(path, parent, key);
    if (!cJSON_IsNumber(v))
        return sc_type_error(c, path, v, "a number");
    if (!(v->valuedouble >= min && v->valuedouble <= max))
        return sc_fail(c, path, "expected a number from %g to %g, got %g", min, max,
                       v->valuedouble);
    *out = v->valuedouble;
    return 1;
}

static int sc_get_bool(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                       int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[SC_PATH_MAX];
    if (!v)
        return 0;
    sc_join(path, parent, key);
    if (!cJSON_IsBool(v))
        return sc_type_error(c, path, v, "true or false");
    *out = cJSON_IsTrue(v);
    return 1;
}

/* A duration; positive demands more than zero. */
static int sc_get_duration(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                           int positive, io_us_t *out)
{
    const char *text;
    char path[SC_PATH_MAX], why[160];
    int rc = sc_get_string(c, obj, parent, key, &text);
    if (rc <= 0)
        return rc;
    sc_join(path, parent, key);
    if (dur_parse(text, out, why, sizeof why) < 0)
        return sc_fail(c, path, "%s", why);
    if (positive && *out <= 0)
        return sc_fail(c, path, "must be more than 0");
    return 1;
}

/* A moment; relative ones count from the scenario's start once it is known. */
static int sc_get_moment(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                         int relative_ok, io_us_t *out)
{
    const char *text;
    char path[SC_PATH_MAX], why[200];
    int rc = sc_get_string(c, obj, parent, key, &text);
    if (rc <= 0)
        return rc;
    sc_join(path, parent, key);
    if (dur_parse_moment(text, relative_ok ? &c->sc->start_us : NULL, out, why, sizeof why) < 0)
        return sc_fail(c, path, "%s", why);
    return 1;
}

/* Like sc_get_moment, and the moment must lie in [start, end]. */
static int sc_get_moment_in_span(sc_ctx_t *c, const cJSON *obj, const char *parent,
                                 const char *key, io_us_t *out)
{
    int rc = sc_get_moment(c, obj, parent, key, 1, out);
    char path[SC_PATH_MAX], at[32], span[32];
    if (rc <= 0 || (*out >= c->sc->start_us && *out <= c->sc->end_us))
        return rc;
    sc_join(path, parent, key);
    dur_format(*out - c->sc->start_us, at, sizeof at);
    dur_format(c->sc->end_us - c->sc->start_us, span, sizeof span);
    return sc_fail(c, path, "%s%s from start is outside the scenario's span [+0s, +%s]",
                   *out >= c->sc->start_us ? "+" : "", at, span);
}

static int sc_get_object(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                         const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[SC_PATH_MAX];
    if (!v)
        return 0;
    sc_join(path, parent, key);
    if (!cJSON_IsObject(v))
        return sc_type_error(c, path, v, "an object");
    *out = v;
    return 1;
}

static int sc_get_array(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                        const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[SC_PATH_MAX];
    if (!v)
        return 0;
    sc_join(path, parent, key);
    if (!cJSON_IsArray(v))
        return sc_type_error(c, path, v, "an array");
    *out = v;
    return 1;
}

static int sc_missing(sc_ctx_t *c, const char *parent, const char *key, const char *what)
{
    char path[SC_PATH_MAX];
    sc_join(path, parent, key);
    return sc_fail(c, path, "missing (%s)", what);
}

/* Every key of obj must be in known; duplicates are refused too, since
 * cJSON would quietly use the first. */
static int sc_check_keys(sc_ctx_t *c, const cJSON *obj, const char *parent,
                         const char *const *known)
{
    char path[SC_PATH_MAX], list[256];
    for (const cJSON *k = obj->child; k; k = k->next) {
        sc_join(path, parent, k->string);
        for (const cJSON *p = obj->child; p != k; p = p->next)
            if (strcmp(p->string, k->string) == 0)
                return sc_fail(c, path, "duplicate key");
        if (!sc_in_list(k->string, known))
            return sc_fail(c, path, "unknown key (known here: %s)",
                           sc_list_text(known, list, sizeof list));
    }
    return 0;
}

/* ---- event kinds and patterns ------------------------------------------ */

/* The trace events the runner and the gateway emit (runner.h, cycle.h,
 * gateway.h, faults.h) and their fields: checks may name only these, so a
 * typo cannot make a check pass vacuously. Kinds ending in ':' are families
 * ("error:<code>", "fault:<kind>", "fault_end:<kind>"). */
static const struct {
    const char *ev;
    const char *fields[16];
} sc_kinds[] = {
    {"connect", {"attempt", "host", "port"}},
    {"connect_failed", {"reason"}},
    {"ready", {"version", "accounts", "next_order_id"}},
    {"ping", {"seq"}},
    {"ping_ok", {"seq", "rtt_us"}},
    {"ping_timeout", {"seq"}},
    {"disconnect", {"by", "how", "reason"}},
    {"reconnect", {"attempt", "delay_us"}},
    {"signal", {"name"}},
    {"msg_in", {"id", "name"}},
    {"msg_out", {"id", "name"}},
    {"error:", {"id", "text"}},
    {"status", {"label", "connection", "phase"}},
    {"exit", {"code"}},
    {"cycle_start", {"n"}},
    {"cycle_end", {"n", "ok", "reason"}},
    {"cycle_skipped", {"reason"}},
    {"order", {"symbol", "action", "qty", "order_id"}},
    {"order_dry_run", {"symbol", "action", "qty"}},
    {"order_status", {"order_id", "status", "filled"}},
    {"reconcile", {"symbol", "order_id", "outcome"}},
    {"signal_computed", {"symbol", "fast", "slow", "target"}},
    {"accept", {"conn"}},
    {"session_ready", {"conn", "client_id", "version"}},
    {"session_closed", {"conn", "client_id", "by", "how", "reason"}},
    {"reject", {"conn", "client_id", "code"}},
    /* The union of every fault's fields (faults.c names them per kind). */
    {"fault:", {"client_id", "how", "sessions", "on", "for_us", "only", "value_us", "max",
                "bytes", "restored", "times", "code", "text", "req_id"}},
    {"fault_end:", {"client_id"}},
    /* A replaying gateway (mockgw/replay.h). */
    {"replay_refused", {"conn", "version", "client_min", "client_max"}},
    {"replay_diverged", {"conn", "index", "expected", "actual", "detail"}},
    {"replay_unconsumed", {"conn", "count", "next"}},
};
#define SC_NKINDS (sizeof sc_kinds / sizeof sc_kinds[0])

/* Whether the text after a family's ':' names a member: digits for errors,
 * a fault kind for faults. */
static int sc_family_member(const char *family, const char *rest)
{
    if (strcmp(family, "error:") == 0) {
        size_t n = strspn(rest, "0123456789");
        return n > 0 && rest[n] == '\0';
    }
    int k = gw_fault_kind_from_name(rest);
    return k >= 0 && k != GW_FAULT_CLEAR;
}

/* The sc_kinds index of ev, or -1. */
static int sc_kind_index(const char *ev)
{
    for (size_t i = 0; i < SC_NKINDS; i++) {
        size_t n = strlen(sc_kinds[i].ev);
        if (sc_kinds[i].ev[n - 1] == ':' ? strncmp(ev, sc_kinds[i].ev, n) == 0 &&
                                                sc_family_member(sc_kinds[i].ev, ev + n)
                                          : strcmp(ev, sc_kinds[i].ev) == 0)
            return (int)i;
    }
    return -1;
}

static char *sc_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A copy of s the scenario keeps for as long as it lives: the runner and
 * gateway configs borrow their strings, and the cJSON tree is freed after
 * loading. NULL when out of memory (reported). */
static const char *sc_own(sc_ctx_t *c, const char *s)
{
    sc_scenario_t *sc = c->sc;
    char **grown = realloc(sc->strings, (sc->nstrings + 1) * sizeof *grown);
    char *copy = sc_strndup(s, strlen(s));
    if (!grown || !copy) {
        if (grown)
            sc->strings = grown;
        free(copy);
        sc_nomem(c);
        return NULL;
    }
    sc->strings = grown;
    sc->strings[sc->nstrings++] = copy;
    return copy;
}

/* A zeroed array of n pointers the scenario keeps (see sc_own). */
static void **sc_own_array(sc_ctx_t *c, size_t n)
{
    sc_scenario_t *sc = c->sc;
    char **grown = realloc(sc->strings, (sc->nstrings + 1) * sizeof *grown);
    void **arr = calloc(n, sizeof *arr);
    if (grown)
        sc->strings = grown;
    if (!grown || !arr) {
        free(arr);
        sc_nomem(c);
        return NULL;
    }
    sc->strings[sc->nstrings++] = (char *)arr;
    return arr;
}

static void sc_pattern_clear(sc_pattern_t *p)
{
    free(p->text);
    free(p->ev);
    for (size_t i = 0; i < p->nwhere; i++) {
        free(p->where[i].key);
        free(p->where[i].value);
    }
    memset(p, 0, sizeof *p);
}

/* Splits "k=v,k2=v2" (the text between the brackets) into p->where. */
static int sc_parse_where(sc_ctx_t *c, const char *path, const char *s, size_t len, int kind,
                          sc_pattern_t *p)
{
    const char *end = s + len;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        if (!eq || eq == s || eq + 1 == stop)
            return sc_fail(c, path, "\"%s\": write field filters as [key=value,key=value]",
                           p->text);
        if (p->nwhere == SC_WHERE_MAX)
            return sc_fail(c, path, "\"%s\": at most %d field filters", p->text, SC_WHERE_MAX);
        sc_where_t *w = &p->where[p->nwhere];
        w->key = sc_strndup(s, (size_t)(eq - s));
        w->value = sc_strndup(eq + 1, (size_t)(stop - eq - 1));
        p->nwhere++;
        if (!w->key || !w->value)
            return sc_nomem(c);
        if (!sc_in_list(w->key, (const char *const *)sc_kinds[kind].fields))
            return sc_fail(c, path, "\"%s\": %s events have no field \"%s\"", p->text, p->ev,
                           w->key);
        s = comma ? comma + 1 : end;
    }
    return 0;
}

/* Parses "kind" or "kind[key=value,...]" into p, checking the kind. */
static int sc_parse_pattern(sc_ctx_t *c, const char *path, const char *text, sc_pattern_t *p)
{
    size_t len = strlen(text), evlen = strcspn(text, "[");
    p->text = sc_strndup(text, len);
    p->ev = sc_strndup(text, evlen);
    if (!p->text || !p->ev)
        return sc_nomem(c);
    int kind = sc_kind_index(p->ev);
    if (kind < 0)
        return sc_fail(c, path, "unknown event kind \"%s\"", p->ev);
    if (evlen == len)
        return 0;
    if (text[len - 1] != ']' || len - evlen < 3)
        return sc_fail(c, path, "\"%s\": write field filters as [key=value,key=value]", text);
    return sc_parse_where(c, path, text + evlen + 1, len - evlen - 2, kind, p);
}

static int sc_get_pattern(sc_ctx_t *c, const cJSON *obj, const char *parent, const char *key,
                          sc_pattern_t *p)
{
    const char *text;
    char path[SC_PATH_MAX];
    int rc = sc_get_string(c, obj, parent, key, &text);
    if (rc == 0)
        return sc_missing(c, parent, key, "an event kind");
    if (rc < 0)
        return rc;
    sc_join(path, parent, key);
    return sc_parse_pattern(c, path, text, p);
}

/* ---- runner, gateway, network ------------------------------------------ */

static int sc_load_health(sc_ctx_t *c, const cJSON *runner)
{
    static const char *const known[] = {"interval", "timeout", NULL};
    const char *path = "runner.health_check";
    const cJSON *hc;
    int rc = sc_get_object(c, runner, "runner", "health_check", &hc);
    if (rc <= 0)
        return rc;
    rn_config_t *r = &c->sc->runner;
    if ((rc = sc_check_keys(c, hc, path, known)) < 0 ||
        (rc = sc_get_duration(c, hc, path, "interval", 1, &r->ping_interval_us)) < 0 ||
        (rc = sc_get_duration(c, hc, path, "timeout", 1, &r->ping_timeout_us)) < 0)
        return rc;
    return 0;
}

static int sc_load_reconnect(sc_ctx_t *c, const cJSON *runner)
{
    static const char *const known[] = {"initial", "max", "multiplier", "jitter", NULL};
    const char *path = "runner.reconnect";
    const cJSON *rc_obj;
    int rc = sc_get_object(c, runner, "runner", "reconnect", &rc_obj);
    if (rc <= 0)
        return rc;
    rn_config_t *r = &c->sc->runner;
    if ((rc = sc_check_keys(c, rc_obj, path, known)) < 0 ||
        (rc = sc_get_duration(c, rc_obj, path, "initial", 1, &r->reconnect_initial_us)) < 0 ||
        (rc = sc_get_duration(c, rc_obj, path, "max", 1, &r->reconnect_max_us)) < 0 ||
        (rc = sc_get_number(c, rc_obj, path, "multiplier", 1.0, 100.0,
                            &r->reconnect_multiplier)) < 0 ||
        (rc = sc_get_number(c, rc_obj, path, "jitter", 0.0, 1.0, &r->reconnect_jitter)) < 0)
        return rc;
    if (r->reconnect_max_us < r->reconnect_initial_us)
        return sc_fail(c, "runner.reconnect.max", "must not be less than initial");
    return 0;
}

/* `symbols`: 1 to 64 distinct non-empty names without commas. */
static int sc_load_symbols(sc_ctx_t *c, const cJSON *runner)
{
    const cJSON *arr, *item;
    char path[SC_PATH_MAX];
    int rc = sc_get_array(c, runner, "runner", "symbols", &arr);
    if (rc <= 0)
        return rc;
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    if (n < 1 || n > GW_PRICES_MAX)
        return sc_fail(c, "runner.symbols", "expected 1 to %d symbols, got %zu", GW_PRICES_MAX,
                       n);
    const char **names = (const char **)sc_own_array(c, n);
    if (!names)
        return IO_ERR_NOMEM;
    cJSON_ArrayForEach(item, arr) {
        sc_index(path, "runner.symbols", i);
        if (!cJSON_IsString(item))
            return sc_type_error(c, path, item, "a symbol (a string)");
        if (item->valuestring[0] == '\0' || strchr(item->valuestring, ','))
            return sc_fail(c, path, "a symbol is a non-empty name without commas");
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], item->valuestring) == 0)
                return sc_fail(c, path, "\"%s\" is listed twice", item->valuestring);
        if (!(names[i++] = sc_own(c, item->valuestring)))
            return IO_ERR_NOMEM;
    }
    c->sc->runner.symbols = names;
    c->sc->runner.nsymbols = n;
    return 0;
}

static int sc_load_runner(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"symbols", "client_id", "interval", "persistent",
                                        "force_disconnect", "trade", "health_check",
                                        "reconnect", "connect_timeout", "cycle_timeout", "port",
                                        NULL};
    rn_config_t *r = &c->sc->runner;
    const cJSON *obj;
    int64_t v;
    int rc = sc_get_object(c, root, "", "runner", &obj);
    if (rc <= 0)
        return rc;
    if ((rc = sc_check_keys(c, obj, "runner", known)) < 0)
        return rc;
    if ((rc = sc_get_int(c, obj, "runner", "client_id", 0, 2147483647.0, &v)) < 0)
        return rc;
    if (rc)
        r->client_id = (int)v;
    if ((rc = sc_get_int(c, obj, "runner", "port", 1, 65535, &v)) < 0)
        return rc;
    if (rc)
        r->port = (uint16_t)v;
    if ((rc = sc_get_duration(c, obj, "runner", "connect_timeout", 1,
                              &r->connect_timeout_us)) < 0 ||
        (rc = sc_get_duration(c, obj, "runner", "interval", 1, &r->interval_us)) < 0 ||
        (rc = sc_get_duration(c, obj, "runner", "cycle_timeout", 1, &r->cycle_timeout_us)) < 0 ||
        (rc = sc_get_bool(c, obj, "runner", "persistent", &r->persistent)) < 0 ||
        (rc = sc_get_bool(c, obj, "runner", "trade", &r->trade)) < 0 ||
        (rc = sc_get_bool(c, obj, "runner", "force_disconnect", &r->force_disconnect)) < 0 ||
        (rc = sc_load_symbols(c, obj)) < 0 || (rc = sc_load_health(c, obj)) < 0)
        return rc;
    return sc_load_reconnect(c, obj);
}

/* The gateway object is the mock's own format (mockgw/config.h); its
 * messages name the JSON path, this adds the file. */
static int sc_load_gateway(sc_ctx_t *c, const cJSON *root)
{
    const cJSON *obj;
    char why[300];
    int rc = sc_get_object(c, root, "", "gateway", &obj);
    if (rc <= 0)
        return rc;
    c->sc->market_seed_fixed = cJSON_GetObjectItemCaseSensitive(obj, "market_seed") != NULL;
    rc = gw_config_from_json(obj, &c->sc->gateway, "gateway", why, sizeof why);
    if (rc == IO_ERR_NOMEM)
        return sc_nomem(c);
    if (rc < 0 && c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s: %s", c->file, why);
    return rc;
}

static int sc_load_network(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"latency", "jitter", "chunking", NULL};
    io_sim_net_t *n = &c->sc->net;
    const cJSON *obj;
    int rc = sc_get_object(c, root, "", "network", &obj);
    if (rc <= 0)
        return rc;
    if ((rc = sc_check_keys(c, obj, "network", known)) < 0 ||
        (rc = sc_get_duration(c, obj, "network", "latency", 0, &n->latency_us)) < 0 ||
        (rc = sc_get_duration(c, obj, "network", "jitter", 0, &n->jitter_us)) < 0 ||
        (rc = sc_get_bool(c, obj, "network", "chunking", &n->chunking)) < 0)
        return rc;
    return 0;
}

/* ---- events ------------------------------------------------------------ */

/* The parameters each fault takes beyond at, fault and client_id; a
 * leading '*' marks a required one. */
static const char *const sc_fault_params[GW_FAULT_KIND_COUNT][4] = {
    [GW_FAULT_KILL] = {"how"},
    [GW_FAULT_DOWN] = {"*for", "how"},
    [GW_FAULT_REFUSE] = {"*for"},
    [GW_FAULT_STALE] = {"for", "only"},
    [GW_FAULT_HANDSHAKE_STALL] = {"*for"},
    [GW_FAULT_LATENCY] = {"*value", "*for"},
    [GW_FAULT_SLICE] = {"*max", "*for"},
    [GW_FAULT_GARBAGE] = {"bytes"},
    [GW_FAULT_CONNECTIVITY_LOST] = {"*for", "restored"},
    [GW_FAULT_CLIENT_ID_IN_USE] = {"times"},
    [GW_FAULT_ERROR] = {"*code", "text", "req_id"},
    [GW_FAULT_FARM_OUTAGE] = {"*for"},
    [GW_FAULT_CLEAR] = {NULL},
};

/* Message kinds `stale.only` accepts (faults.h). */
static const char *const sc_msg_kinds[] = {"current_time", "historical", "market_data",
                                           "positions",    "account",    "orders",
                                           "executions",   "contracts",  "ids",
                                           "errors",       NULL};

static int sc_get_how(sc_ctx_t *c, const cJSON *obj, const char *path, enum io_close_how *how)
{
    const char *text;
    char hpath[SC_PATH_MAX];
    int rc = sc_get_string(c, obj, path, "how", &text);
    if (rc <= 0)
        return rc;
    if (strcmp(text, "fin") != 0 && strcmp(text, "rst") != 0) {
        sc_join(hpath, path, "how");
        return sc_fail(c, hpath, "expected \"fin\" or \"rst\", got \"%s\"", text);
    }
    *how = text[0] == 'r' ? IO_CLOSE_RST : IO_CLOSE_FIN;
    return 1;
}

static int sc_get_only(sc_ctx_t *c, const cJSON *obj, const char *path, unsigned *only)
{
    const cJSON *arr, *item;
    char opath[SC_PATH_MAX], ipath[SC_PATH_MAX], list[200];
    int rc = sc_get_array(c, obj, path, "only", &arr);
    if (rc <= 0)
        return rc;
    sc_join(opath, path, "only");
    if (cJSON_GetArraySize(arr) == 0)
        return sc_fail(c, opath, "expected at least one message kind");
    size_t i = 0;
    cJSON_ArrayForEach(item, arr) {
        sc_index(ipath, opath, i++);
        if (!cJSON_IsString(item))
            return sc_type_error(c, ipath, item, "a message kind (a string)");
        unsigned bit = gw_msg_kind_from_name(item->valuestring);
        if (!bit)
            return sc_fail(c, ipath, "unknown message kind \"%s\" (kinds: %s)",
                           item->valuestring, sc_list_text(sc_msg_kinds, list, sizeof list));
        *only |= bit;
    }
    return 1;
}

/* Reads one parameter of a fault into f; 1 if present, 0 if absent. */
static int sc_fault_param(sc_ctx_t *c, const cJSON *obj, const char *path, const char *key,
                          gw_fault_t *f)
{
    int64_t v;
    const char *text;
    char kpath[SC_PATH_MAX];
    int rc;
    sc_join(kpath, path, key);
    if (strcmp(key, "for") == 0)
        return sc_get_duration(c, obj, path, key, 1, &f->for_us);
    if (strcmp(key, "value") == 0)
        return sc_get_duration(c, obj, path, key, 1, &f->value_us);
    if (strcmp(key, "how") == 0)
        return sc_get_how(c, obj, path, &f->how);
    if (strcmp(key, "only") == 0)
        return sc_get_only(c, obj, path, &f->only);
    if (strcmp(key, "text") == 0) {
        if ((rc = sc_get_string(c, obj, path, key, &text)) <= 0)
            return rc;
        if (strlen(text) >= sizeof f->text)
            return sc_fail(c, kpath, "longer than %zu bytes", sizeof f->text - 1);
        memcpy(f->text, text, strlen(text) + 1);
        return 1;
    }
    if (strcmp(key, "restored") == 0) {
        if ((rc = sc_get_int(c, obj, path, key, 1101, 1102, &v)) > 0)
            f->restored_code = (int)v;
        return rc;
    }
    if (strcmp(key, "req_id") == 0) {
        if ((rc = sc_get_int(c, obj, path, key, -1, 2147483647.0, &v)) > 0)
            f->req_id = (int)v;
        return rc;
    }
    if (strcmp(key, "code") == 0) {
        if ((rc = sc_get_int(c, obj, path, key, 0, 99999, &v)) > 0)
            f->code = (int)v;
        return rc;
    }
    /* max, bytes, times: counts. */
    if ((rc = sc_get_int(c, obj, path, key, 1, 65536, &v)) <= 0)
        return rc;
    if (key[0] == 'm')
        f->max_bytes = (size_t)v;
    else if (key[0] == 'b')
        f->bytes = (size_t)v;
    else
        f->times = (int)v;
    return 1;
}

/* The fault word's kind; a word of no fault is an error naming them all. */
static int sc_fault_kind(sc_ctx_t *c, const char *path, const char *word)
{
    char list[256] = "";
    int k = gw_fault_kind_from_name(word);
    if (k >= 0)
        return k;
    for (int i = 0, n = 0; i < GW_FAULT_KIND_COUNT; i++)
        n += snprintf(list + n, sizeof list - (size_t)n, "%s%s", i ? ", " : "",
                      gw_fault_kind_name((enum gw_fault_kind)i));
    return sc_fail(c, path, "unknown fault \"%s\" (faults: %s)", word, list);
}

static int sc_load_fault(sc_ctx_t *c, const cJSON *obj, const char *path, sc_event_t *e)
{
    const char *word, *keys[8] = {"at", "fault", "client_id"};
    char fpath[SC_PATH_MAX];
    int64_t id;
    int rc;
    sc_join(fpath, path, "fault");
    if ((rc = sc_get_string(c, obj, path, "fault", &word)) < 0)
        return rc;
    int kind = sc_fault_kind(c, fpath, word);
    if (kind < 0)
        return kind;
    const char *const *params = sc_fault_params[kind];
    for (size_t i = 0; i < 4 && params[i]; i++)
        keys[3 + i] = params[i] + (params[i][0] == '*');
    e->action = SC_FAULT;
    gw_fault_init(&e->fault, (enum gw_fault_kind)kind);
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_int(c, obj, path, "client_id", 0, 2147483647.0, &id)) < 0)
        return rc;
    if (rc)
        e->fault.client_id = (int)id;
    for (size_t i = 0; i < 4 && params[i]; i++) {
        const char *key = params[i] + (params[i][0] == '*');
        if ((rc = sc_fault_param(c, obj, path, key, &e->fault)) < 0)
            return rc;
        if (rc == 0 && params[i][0] == '*')
            return sc_missing(c, path, key, "this fault needs it");
    }
    return 0;
}

static int sc_load_signal(sc_ctx_t *c, const cJSON *obj, const char *path, sc_event_t *e)
{
    static const char *const keys[] = {"at", "signal", NULL};
    const char *name;
    char spath[SC_PATH_MAX];
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_string(c, obj, path, "signal", &name)) < 0)
        return rc;
    e->action = SC_SIGNAL;
    if (strcmp(name, "SIGINT") == 0 || strcmp(name, "SIGTERM") == 0) {
        e->sig = name[3] == 'I' ? IO_SIGINT : IO_SIGTERM;
        return 0;
    }
    sc_join(spath, path, "signal");
    return sc_fail(c, spath, "expected \"SIGINT\" or \"SIGTERM\", got \"%s\"", name);
}

/* `rate`: "N/day", N a positive decimal number. */
static int sc_get_rate(sc_ctx_t *c, const cJSON *obj, const char *path, double *per_day)
{
    const char *text;
    char rpath[SC_PATH_MAX], *end;
    int rc = sc_get_string(c, obj, path, "rate", &text);
    if (rc == 0)
        return sc_missing(c, path, "rate", "\"N/day\"");
    if (rc < 0)
        return rc;
    sc_join(rpath, path, "rate");
    errno = 0;
    *per_day = (text[0] >= '0' && text[0] <= '9') ? strtod(text, &end) : 0.0;
    if (errno || *per_day <= 0.0 || *per_day > 1e6 || strcmp(end, "/day") != 0)
        return sc_fail(c, rpath, "expected \"N/day\" with N a number from 0 to 1000000, got "
                       "\"%s\"", text);
    return 0;
}

/* A two-element array of time texts under `key`, parsed into ends[0..1]:
 * [min, max] durations of at least 1ms, or [from, to] moments inside the
 * scenario's span. 0 when absent, 1 when read, <0 after an error naming the
 * element's path (kpath gets the array's path for the caller's own checks). */
enum sc_pair_kind { SC_PAIR_DURATIONS, SC_PAIR_MOMENTS };

static int sc_get_pair(sc_ctx_t *c, const cJSON *obj, const char *path, const char *key,
                       enum sc_pair_kind kind, io_us_t ends[2], char *kpath)
{
    const cJSON *arr;
    char ipath[SC_PATH_MAX], why[200];
    int moments = kind == SC_PAIR_MOMENTS;
    int rc = sc_get_array(c, obj, path, key, &arr);
    if (rc <= 0)
        return rc;
    sc_join(kpath, path, key);
    if (cJSON_GetArraySize(arr) != 2)
        return sc_fail(c, kpath, moments ? "expected [from, to], two moments"
                                         : "expected [min, max], two durations");
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, i);
        sc_index(ipath, kpath, (size_t)i);
        if (!cJSON_IsString(v))
            return sc_type_error(c, ipath, v,
                                 moments ? "a moment (a string)" : "a duration (a string)");
        rc = moments ? dur_parse_moment(v->valuestring, &c->sc->start_us, &ends[i], why,
                                        sizeof why)
                     : dur_parse(v->valuestring, &ends[i], why, sizeof why);
        if (rc < 0)
            return sc_fail(c, ipath, "%s", why);
        if (moments && (ends[i] < c->sc->start_us || ends[i] > c->sc->end_us))
            return sc_fail(c, ipath, "outside the scenario's span");
        if (!moments && ends[i] < IO_US_PER_MS)
            return sc_fail(c, ipath, "must be at least 1ms");
    }
    return 1;
}

/* `for`: [min, max] durations, 1ms <= min <= max. */
static int sc_get_for_range(sc_ctx_t *c, const cJSON *obj, const char *path, sc_random_t *r)
{
    char fpath[SC_PATH_MAX];
    io_us_t ends[2];
    int rc = sc_get_pair(c, obj, path, "for", SC_PAIR_DURATIONS, ends, fpath);
    if (rc <= 0)
        return rc;
    if (ends[1] < ends[0])
        return sc_fail(c, fpath, "max must not be less than min");
    r->for_min_us = ends[0];
    r->for_max_us = ends[1];
    return 0;
}

static int sc_get_kinds(sc_ctx_t *c, const cJSON *obj, const char *path, sc_random_t *r)
{
    const cJSON *arr, *item;
    char kpath[SC_PATH_MAX], ipath[SC_PATH_MAX];
    int rc = sc_get_array(c, obj, path, "kinds", &arr);
    if (rc == 0)
        return sc_missing(c, path, "kinds", "the faults to draw from");
    if (rc < 0)
        return rc;
    sc_join(kpath, path, "kinds");
    if (cJSON_GetArraySize(arr) == 0)
        return sc_fail(c, kpath, "expected at least one fault");
    size_t i = 0;
    cJSON_ArrayForEach(item, arr) {
        sc_index(ipath, kpath, i++);
        if (!cJSON_IsString(item))
            return sc_type_error(c, ipath, item, "a fault (a string)");
        int k = sc_fault_kind(c, ipath, item->valuestring);
        if (k < 0)
            return k;
        if (k == GW_FAULT_ERROR || k == GW_FAULT_CLEAR)
            return sc_fail(c, ipath, "\"%s\" cannot be drawn at random", item->valuestring);
        for (size_t j = 0; j < r->nkinds; j++)
            if (r->kinds[j] == (enum gw_fault_kind)k)
                return sc_fail(c, ipath, "\"%s\" is listed twice", item->valuestring);
        r->kinds[r->nkinds++] = (enum gw_fault_kind)k;
    }
    return 0;
}

static int sc_load_random(sc_ctx_t *c, const cJSON *item, const char *path, sc_event_t *e)
{
    static const char *const item_keys[] = {"at", "random", NULL};
    static const char *const keys[] = {"kinds", "rate", "for", "from", "to", NULL};
    const cJSON *obj;
    char rpath[SC_PATH_MAX];
    sc_random_t *r = &e->random;
    int rc;
    sc_join(rpath, path, "random");
    e->action = SC_RANDOM;
    r->for_min_us = IO_US_PER_S;
    r->for_max_us = 5 * 60 * IO_US_PER_S;
    r->from_us = c->sc->start_us;
    r->to_us = c->sc->end_us;
    if ((rc = sc_check_keys(c, item, path, item_keys)) < 0 ||
        (rc = sc_get_moment_in_span(c, item, path, "at", &r->from_us)) < 0 ||
        (rc = sc_get_object(c, item, path, "random", &obj)) < 0 ||
        (rc = sc_check_keys(c, obj, rpath, keys)) < 0 ||
        (rc = sc_get_kinds(c, obj, rpath, r)) < 0 ||
        (rc = sc_get_rate(c, obj, rpath, &r->per_day)) < 0 ||
        (rc = sc_get_for_range(c, obj, rpath, r)) < 0 ||
        (rc = sc_get_moment_in_span(c, obj, rpath, "from", &r->from_us)) < 0 ||
        (rc = sc_get_moment_in_span(c, obj, rpath, "to", &r->to_us)) < 0)
        return rc;
    if (r->to_us <= r->from_us) {
        char tpath[SC_PATH_MAX];
        sc_join(tpath, rpath, "to");
        return sc_fail(c, tpath, "must be after from");
    }
    e->at_us = r->from_us;
    return 0;
}

static int sc_load_event(sc_ctx_t *c, const cJSON *obj, const char *path, sc_event_t *e)
{
    if (!cJSON_IsObject(obj))
        return sc_type_error(c, path, obj, "an object");
    int has_fault = cJSON_GetObjectItemCaseSensitive(obj, "fault") != NULL;
    int has_signal = cJSON_GetObjectItemCaseSensitive(obj, "signal") != NULL;
    int has_random = cJSON_GetObjectItemCaseSensitive(obj, "random") != NULL;
    if (has_fault + has_signal + has_random != 1)
        return sc_fail(c, path, "an event has exactly one of \"fault\", \"signal\" or \"random\"");
    if (has_random)
        return sc_load_random(c, obj, path, e);
    int rc = has_fault ? sc_load_fault(c, obj, path, e) : sc_load_signal(c, obj, path, e);
    if (rc < 0)
        return rc;
    rc = sc_get_moment_in_span(c, obj, path, "at", &e->at_us);
    if (rc == 0)
        return sc_missing(c, path, "at", "when the event happens");
    return rc < 0 ? rc : 0;
}

static int sc_load_events(sc_ctx_t *c, const cJSON *root)
{
    const cJSON *arr, *item;
    char path[SC_PATH_MAX];
    int rc = sc_get_array(c, root, "", "events", &arr);
    if (rc <= 0)
        return rc;
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    if (n == 0)
        return 0;
    c->sc->events = calloc(n, sizeof *c->sc->events);
    if (!c->sc->events)
        return sc_nomem(c);
    cJSON_ArrayForEach(item, arr) {
        sc_index(path, "events", i);
        if ((rc = sc_load_event(c, item, path, &c->sc->events[i])) < 0)
            return rc;
        c->sc->nevents = ++i;
    }
    return 0;
}

/* ---- checks ------------------------------------------------------------ */

static const char *const sc_check_words[] = {"count", "never",  "within",         "sequence",
                                             "exit",  "status", "clean_shutdown", NULL};

/* The optional window of count and never: from/to moments inside the span. */
static int sc_load_window(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    int rc;
    if ((rc = sc_get_moment_in_span(c, obj, path, "from", &k->from_us)) < 0)
        return rc;
    k->has_from = rc;
    if ((rc = sc_get_moment_in_span(c, obj, path, "to", &k->to_us)) < 0)
        return rc;
    k->has_to = rc;
    if (k->has_from && k->has_to && k->to_us <= k->from_us) {
        char tpath[SC_PATH_MAX];
        sc_join(tpath, path, "to");
        return sc_fail(c, tpath, "must be after from");
    }
    return 0;
}

static int sc_load_src(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const srcs[] = {"runner", "gateway", NULL};
    const char *src;
    char spath[SC_PATH_MAX];
    int rc = sc_get_string(c, obj, path, "src", &src);
    if (rc <= 0)
        return rc;
    if (!sc_in_list(src, srcs)) {
        sc_join(spath, path, "src");
        return sc_fail(c, spath, "expected \"runner\" or \"gateway\", got \"%s\"", src);
    }
    k->src = sc_strndup(src, strlen(src));
    return k->src ? 0 : sc_nomem(c);
}

static int sc_load_count(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"count", "eq", "ge", "le", "from", "to", "src", NULL};
    static const char *const cmps[] = {"eq", "ge", "le"};
    int rc, found = 0;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_pattern(c, obj, path, "count", &k->what)) < 0)
        return rc;
    for (int i = 0; i < 3; i++) {
        int64_t n;
        if ((rc = sc_get_int(c, obj, path, cmps[i], 0, SC_INT_EXACT_MAX, &n)) < 0)
            return rc;
        if (rc) {
            k->cmp = (enum sc_cmp)i;
            k->n = n;
            found++;
        }
    }
    if (found != 1)
        return sc_fail(c, path, "a count check has exactly one of \"eq\", \"ge\", \"le\"");
    if ((rc = sc_load_window(c, obj, path, k)) < 0)
        return rc;
    return sc_load_src(c, obj, path, k);
}

static int sc_load_never(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"never", "from", "to", "src", NULL};
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_pattern(c, obj, path, "never", &k->what)) < 0 ||
        (rc = sc_load_window(c, obj, path, k)) < 0)
        return rc;
    return sc_load_src(c, obj, path, k);
}

static int sc_load_within(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"within", "after", "expect", "src", NULL};
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_duration(c, obj, path, "within", 1, &k->within_us)) < 0 ||
        (rc = sc_get_pattern(c, obj, path, "after", &k->what)) < 0 ||
        (rc = sc_get_pattern(c, obj, path, "expect", &k->then)) < 0)
        return rc;
    return sc_load_src(c, obj, path, k);
}

static int sc_load_sequence(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"sequence", "src", NULL};
    const cJSON *arr, *item;
    char ipath[SC_PATH_MAX], spath[SC_PATH_MAX];
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_array(c, obj, path, "sequence", &arr)) < 0)
        return rc;
    sc_join(spath, path, "sequence");
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0)
        return sc_fail(c, spath, "expected at least one event kind");
    k->seq = calloc(n, sizeof *k->seq);
    if (!k->seq)
        return sc_nomem(c);
    cJSON_ArrayForEach(item, arr) {
        sc_index(ipath, spath, k->nseq);
        if (!cJSON_IsString(item))
            return sc_type_error(c, ipath, item, "an event kind (a string)");
        rc = sc_parse_pattern(c, ipath, item->valuestring, &k->seq[k->nseq++]);
        if (rc < 0)
            return rc;
    }
    return sc_load_src(c, obj, path, k);
}

static int sc_load_exit(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"exit", NULL};
    int64_t code;
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_int(c, obj, path, "exit", 0, 255, &code)) < 0)
        return rc;
    k->exit_code = (int)code;
    return 0;
}

/* `throughout`: [from, to] moments inside the span, to after from. */
static int sc_load_throughout(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    char tpath[SC_PATH_MAX];
    io_us_t ends[2];
    int rc = sc_get_pair(c, obj, path, "throughout", SC_PAIR_MOMENTS, ends, tpath);
    if (rc <= 0)
        return rc;
    if (ends[1] <= ends[0])
        return sc_fail(c, tpath, "to must be after from");
    k->from_us = ends[0];
    k->to_us = ends[1];
    k->has_from = k->has_to = 1;
    return 0;
}

static int sc_load_status(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"status", "throughout", "except", NULL};
    static const char *const phases[] = {"cycle", "reconnect", NULL};
    const char *label;
    const cJSON *arr, *item;
    char epath[SC_PATH_MAX], ipath[SC_PATH_MAX];
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_string(c, obj, path, "status", &label)) < 0 ||
        (rc = sc_load_throughout(c, obj, path, k)) < 0 ||
        (rc = sc_get_array(c, obj, path, "except", &arr)) < 0)
        return rc;
    if (!(k->label = sc_strndup(label, strlen(label))))
        return sc_nomem(c);
    if (rc == 0)
        return 0;
    sc_join(epath, path, "except");
    size_t i = 0;
    cJSON_ArrayForEach(item, arr) {
        sc_index(ipath, epath, i++);
        if (!cJSON_IsString(item))
            return sc_type_error(c, ipath, item, "a phase (a string)");
        if (!sc_in_list(item->valuestring, phases))
            return sc_fail(c, ipath, "unknown phase \"%s\" (phases: cycle, reconnect)",
                           item->valuestring);
        k->except |= item->valuestring[0] == 'c' ? SC_PHASE_CYCLE : SC_PHASE_RECONNECT;
    }
    return 0;
}

static int sc_load_clean_shutdown(sc_ctx_t *c, const cJSON *obj, const char *path,
                                  sc_check_t *k)
{
    static const char *const keys[] = {"clean_shutdown", NULL};
    int on = 0, rc;
    (void)k;
    if ((rc = sc_check_keys(c, obj, path, keys)) < 0 ||
        (rc = sc_get_bool(c, obj, path, "clean_shutdown", &on)) < 0)
        return rc;
    if (!on) {
        char cpath[SC_PATH_MAX];
        sc_join(cpath, path, "clean_shutdown");
        return sc_fail(c, cpath, "only true is a check; leave the item out instead");
    }
    return 0;
}

/* Finds the check word among the keys: exactly one of sc_check_words. */
static int sc_check_word(sc_ctx_t *c, const cJSON *obj, const char *path, int *word)
{
    static const char *const params[] = {"eq",     "ge",         "le",     "from", "to", "src",
                                         "after",  "expect",     "throughout", "except", NULL};
    char kpath[SC_PATH_MAX], list[128];
    *word = -1;
    for (const cJSON *k = obj->child; k; k = k->next) {
        sc_join(kpath, path, k->string);
        if (sc_in_list(k->string, params))
            continue;
        if (!sc_in_list(k->string, sc_check_words))
            return sc_fail(c, kpath, "unknown check \"%s\" (checks: %s)", k->string,
                           sc_list_text(sc_check_words, list, sizeof list));
        if (*word >= 0)
            return sc_fail(c, kpath, "one check per item; \"%s\" and \"%s\" are two",
                           sc_check_words[*word], k->string);
        for (int i = 0; sc_check_words[i]; i++)
            if (strcmp(k->string, sc_check_words[i]) == 0)
                *word = i;
    }
    if (*word < 0)
        return sc_fail(c, path, "no check word (checks: %s)",
                       sc_list_text(sc_check_words, list, sizeof list));
    return 0;
}

static int sc_load_check(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static int (*const loaders[])(sc_ctx_t *, const cJSON *, const char *, sc_check_t *) = {
        sc_load_count, sc_load_never,  sc_load_within,        sc_load_sequence,
        sc_load_exit,  sc_load_status, sc_load_clean_shutdown};
    static const enum sc_check_kind kinds[] = {SC_CHECK_COUNT,    SC_CHECK_NEVER, SC_CHECK_WITHIN,
                                               SC_CHECK_SEQUENCE, SC_CHECK_EXIT,  SC_CHECK_STATUS,
                                               SC_CHECK_CLEAN_SHUTDOWN};
    int word, rc;
    if (!cJSON_IsObject(obj))
        return sc_type_error(c, path, obj, "an object");
    if ((rc = sc_check_word(c, obj, path, &word)) < 0)
        return rc;
    k->kind = kinds[word];
    return loaders[word](c, obj, path, k);
}

static int sc_load_checks(sc_ctx_t *c, const cJSON *root)
{
    const cJSON *arr, *item;
    char path[SC_PATH_MAX];
    int rc = sc_get_array(c, root, "", "expect", &arr);
    if (rc == 0)
        return sc_missing(c, "", "expect", "a scenario without checks cannot fail");
    if (rc < 0)
        return rc;
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    if (n == 0)
        return sc_fail(c, "expect", "expected at least one check");
    c->sc->checks = calloc(n, sizeof *c->sc->checks);
    if (!c->sc->checks)
        return sc_nomem(c);
    cJSON_ArrayForEach(item, arr) {
        sc_index(path, "expect", i);
        /* Counted before loading, so sc_free releases a half-filled check. */
        c->sc->nchecks = i + 1;
        if ((rc = sc_load_check(c, item, path, &c->sc->checks[i])) < 0)
            return rc;
        i++;
    }
    return 0;
}

/* ---- top level --------------------------------------------------------- */

static int sc_set_name(sc_ctx_t *c, const cJSON *root)
{
    const char *name = NULL, *desc = "";
    int rc;
    if ((rc = sc_get_string(c, root, "", "name", &name)) < 0 ||
        (rc = sc_get_string(c, root, "", "description", &desc)) < 0)
        return rc;
    if (name && name[0] == '\0')
        return sc_fail(c, "name", "must not be empty");
    if (!name) {
        /* The file name without its folder and ".json". */
        const char *base = strrchr(c->file, '/');
        base = base ? base + 1 : c->file;
        size_t n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".json") == 0)
            n -= 5;
        c->sc->name = sc_strndup(base, n);
    } else {
        c->sc->name = sc_strndup(name, strlen(name));
    }
    c->sc->description = sc_strndup(desc, strlen(desc));
    return c->sc->name && c->sc->description ? 0 : sc_nomem(c);
}

/* `liveness`: a duration, or false for no liveness phase. */
static int sc_load_liveness(sc_ctx_t *c, const cJSON *root)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "liveness");
    c->sc->liveness_us = SC_LIVENESS_DEFAULT_US;
    if (cJSON_IsFalse(v)) {
        c->sc->liveness_us = 0;
        return 0;
    }
    if (v && !cJSON_IsString(v))
        return sc_type_error(c, "liveness", v, "a duration or false");
    int rc = sc_get_duration(c, root, "", "liveness", 1, &c->sc->liveness_us);
    return rc < 0 ? rc : 0;
}

static int sc_load_span(sc_ctx_t *c, const cJSON *root)
{
    sc_scenario_t *sc = c->sc;
    int64_t seed = 0;
    int rc;
    if ((rc = sc_get_int(c, root, "", "seed", 0, SC_INT_EXACT_MAX, &seed)) < 0)
        return rc;
    sc->seed = (uint64_t)seed;
    if ((rc = sc_get_moment(c, root, "", "start", 0, &sc->start_us)) <= 0)
        return rc < 0 ? rc : sc_missing(c, "", "start", "when the scenario begins");
    if ((rc = sc_get_moment(c, root, "", "end", 1, &sc->end_us)) <= 0)
        return rc < 0 ? rc : sc_missing(c, "", "end", "when the scenario ends");
    if (sc->end_us <= sc->start_us)
        return sc_fail(c, "end", "must be after start");
    return sc_load_liveness(c, root);
}

static int sc_load_root(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"name",    "description", "seed",    "start",
                                        "end",     "liveness",    "runner",  "gateway",
                                        "network", "events",      "expect",  NULL};
    int rc;
    if (!cJSON_IsObject(root))
        return sc_type_error(c, "(top level)", root, "an object");
    if ((rc = sc_check_keys(c, root, "", known)) < 0 || (rc = sc_set_name(c, root)) < 0 ||
        (rc = sc_load_span(c, root)) < 0 || (rc = sc_load_runner(c, root)) < 0 ||
        (rc = sc_load_gateway(c, root)) < 0 || (rc = sc_load_network(c, root)) < 0 ||
        (rc = sc_load_events(c, root)) < 0)
        return rc;
    return sc_load_checks(c, root);
}

/* Line and column (both from 1) of byte offset off in text. */
static void sc_line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int sc_syntax_error(sc_ctx_t *c, const char *text, size_t len, size_t off)
{
    size_t line, col;
    if (off > len)
        off = len;
    sc_line_col(text, off, &line, &col);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->file, line, col,
                 off == len ? "JSON syntax error: unexpected end of file" : "JSON syntax error");
    return IO_ERR_INVAL;
}

int sc_load_text(const char *file, const char *text, size_t len, sc_scenario_t **out, char *err,
                 size_t errlen)
{
    sc_ctx_t c = {file, err, errlen, calloc(1, sizeof(sc_scenario_t))};
    *out = NULL;
    /* cJSON wants the text NUL-terminated to tell the end of the value from
     * trailing garbage; the caller's text need not be. */
    char *copy = malloc(len + 1);
    if (!c.sc || !copy) {
        free(c.sc);
        free(copy);
        return sc_nomem(&c);
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    rn_config_defaults(&c.sc->runner);
    gw_config_defaults(&c.sc->gateway);
    c.sc->net = IO_SIM_NET_DEFAULT;
    c.sc->file = sc_strndup(file, strlen(file));
    size_t nul = strlen(copy);
    const char *end = NULL;
    cJSON *root = nul == len ? cJSON_ParseWithOpts(copy, &end, 1) : NULL;
    int rc;
    if (!c.sc->file) {
        rc = sc_nomem(&c);
    } else if (nul < len) {
        rc = sc_syntax_error(&c, copy, len, nul);
    } else if (!root) {
        rc = sc_syntax_error(&c, copy, len, end ? (size_t)(end - copy) : len);
    } else {
        rc = sc_load_root(&c, root);
    }
    cJSON_Delete(root);
    c.sc->text = copy; /* kept for sd_write */
    c.sc->textlen = len;
    if (rc < 0) {
        sc_free(c.sc);
        return rc;
    }
    *out = c.sc;
    return 0;
}

int sc_load_file(const char *path, sc_scenario_t **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return IO_ERR_SYS;
    }
    char *text = malloc(SC_FILE_MAX + 1);
    size_t len = text ? fread(text, 1, SC_FILE_MAX + 1, f) : 0;
    int rc = 0;
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = IO_ERR_NOMEM;
    } else if (ferror(f)) {
        snprintf(err, errlen, "%s: read failed", path);
        rc = IO_ERR_SYS;
    } else if (len > SC_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, SC_FILE_MAX);
        rc = IO_ERR_INVAL;
    }
    fclose(f);
    if (rc == 0)
        rc = sc_load_text(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

static void sc_check_clear(sc_check_t *k)
{
    free(k->src);
    free(k->label);
    sc_pattern_clear(&k->what);
    sc_pattern_clear(&k->then);
    for (size_t i = 0; i < k->nseq; i++)
        sc_pattern_clear(&k->seq[i]);
    free(k->seq);
}

void sc_free(sc_scenario_t *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->nchecks; i++)
        sc_check_clear(&sc->checks[i]);
    gw_config_release(&sc->gateway);
    for (size_t i = 0; i < sc->nstrings; i++)
        free(sc->strings[i]);
    free(sc->strings);
    free(sc->text);
    free(sc->checks);
    free(sc->events);
    free(sc->name);
    free(sc->description);
    free(sc->file);
    free(sc);
}

int sc_fault_takes(enum gw_fault_kind kind, const char *param)
{
    for (size_t i = 0; i < 4 && sc_fault_params[kind][i]; i++) {
        const char *p = sc_fault_params[kind][i];
        if (strcmp(p + (p[0] == '*'), param) == 0)
            return 1;
    }
    return 0;
}
