/* scenario.c - scenario loading and validation (see scenario.h).
 *
 * The walk is strict on purpose: a misspelt key silently ignored would make
 * a scenario test something other than what its author meant, so every
 * object's keys are checked against the keys this build knows, the keys the
 * contract has but this build does not implement yet, and nothing else. */
#include "scenario.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Every key of obj must be in known; keys in later are the contract's and
 * refused as not implemented; duplicates are refused too, since cJSON would
 * quietly use the first. */
static int sc_check_keys(sc_ctx_t *c, const cJSON *obj, const char *parent,
                         const char *const *known, const char *const *later)
{
    char path[SC_PATH_MAX], list[256];
    for (const cJSON *k = obj->child; k; k = k->next) {
        sc_join(path, parent, k->string);
        for (const cJSON *p = obj->child; p != k; p = p->next)
            if (strcmp(p->string, k->string) == 0)
                return sc_fail(c, path, "duplicate key");
        if (sc_in_list(k->string, later))
            return sc_fail(c, path, "not supported by this build yet");
        if (!sc_in_list(k->string, known))
            return sc_fail(c, path, "unknown key (known here: %s)",
                           sc_list_text(known, list, sizeof list));
    }
    return 0;
}

/* ---- event kinds and patterns ------------------------------------------ */

/* The trace events this build emits (runner.h, gateway.h) and their fields:
 * checks may name only these, so a typo cannot make a check pass vacuously. */
static const struct {
    const char *ev;
    const char *fields[6];
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
    {"error:", {"id", "text"}}, /* error:<code> */
    {"status", {"label"}},
    {"exit", {"code"}},
    {"accept", {"conn"}},
    {"session_ready", {"conn", "client_id", "version"}},
    {"session_closed", {"conn", "client_id", "by", "how", "reason"}},
    {"reject", {"conn", "client_id", "code"}},
    {"fault:kill", {"how", "client_id", "sessions"}},
    {"fault:stale", {"on", "client_id"}},
};
#define SC_NKINDS (sizeof sc_kinds / sizeof sc_kinds[0])

/* Kinds of the contract no part of this build emits yet. */
static const char *const sc_kinds_later[] = {
    "cycle_start",  "cycle_end",  "cycle_skipped",         "order",
    "order_dry_run", "fault:down", "fault:refuse",          "fault:handshake_stall",
    "fault:latency", "fault:slice", "fault:garbage",         "fault:connectivity_lost",
    "fault:client_id_in_use",     "fault:error",           NULL};

/* The sc_kinds index of ev, or -1. "error:<digits>" matches "error:". */
static int sc_kind_index(const char *ev)
{
    size_t elen = strlen("error:");
    if (strncmp(ev, "error:", elen) == 0) {
        size_t n = strspn(ev + elen, "0123456789");
        if (n == 0 || ev[elen + n] != '\0')
            return -1;
        ev = "error:";
    }
    for (size_t i = 0; i < SC_NKINDS; i++)
        if (strcmp(ev, sc_kinds[i].ev) == 0)
            return (int)i;
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
    if (sc_in_list(p->ev, sc_kinds_later))
        return sc_fail(c, path, "event kind \"%s\" is not supported by this build yet", p->ev);
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
    if ((rc = sc_check_keys(c, hc, path, known, NULL)) < 0 ||
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
    if ((rc = sc_check_keys(c, rc_obj, path, known, NULL)) < 0 ||
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

static int sc_load_runner(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"client_id", "port", "connect_timeout", "health_check",
                                        "reconnect", "force_disconnect", NULL};
    static const char *const later[] = {"symbols", "interval", "persistent", "trade",
                                        "cycle_timeout", NULL};
    rn_config_t *r = &c->sc->runner;
    const cJSON *obj;
    int64_t v;
    int rc = sc_get_object(c, root, "", "runner", &obj);
    if (rc <= 0)
        return rc;
    if ((rc = sc_check_keys(c, obj, "runner", known, later)) < 0)
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
        (rc = sc_get_bool(c, obj, "runner", "force_disconnect", &r->force_disconnect)) < 0 ||
        (rc = sc_load_health(c, obj)) < 0)
        return rc;
    return sc_load_reconnect(c, obj);
}

static int sc_load_accounts(sc_ctx_t *c, const cJSON *gw)
{
    const cJSON *arr, *a;
    char path[SC_PATH_MAX];
    int rc = sc_get_array(c, gw, "gateway", "accounts", &arr);
    if (rc <= 0)
        return rc;
    int n = cJSON_GetArraySize(arr);
    if (n < 1 || n > GW_ACCOUNTS_MAX)
        return sc_fail(c, "gateway.accounts", "expected 1 to %d accounts, got %d",
                       GW_ACCOUNTS_MAX, n);
    gw_config_t *g = &c->sc->gateway;
    g->naccounts = 0;
    size_t i = 0;
    cJSON_ArrayForEach(a, arr) {
        sc_index(path, "gateway.accounts", i++);
        if (!cJSON_IsString(a))
            return sc_type_error(c, path, a, "a string");
        /* managedAccounts is one comma-separated field on the wire. */
        if (a->valuestring[0] == '\0' || strchr(a->valuestring, ','))
            return sc_fail(c, path, "an account is a non-empty name without commas");
        g->accounts[g->naccounts++] = a->valuestring;
    }
    return 0;
}

static int sc_load_gateway(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"server_version", "accounts", "port", NULL};
    static const char *const later[] = {"positions", "prices", "daily_restart", "replay", NULL};
    gw_config_t *g = &c->sc->gateway;
    const cJSON *obj;
    int64_t v;
    int rc = sc_get_object(c, root, "", "gateway", &obj);
    if (rc <= 0)
        return rc;
    if ((rc = sc_check_keys(c, obj, "gateway", known, later)) < 0)
        return rc;
    if ((rc = sc_get_int(c, obj, "gateway", "server_version", 1, 1000, &v)) < 0)
        return rc;
    if (rc) {
        /* The mock speaks [min, server_version]; an old version lowers min
         * too, so a scenario can offer a version the runner must refuse. */
        g->server_version_max = (int)v;
        if (g->server_version_min > g->server_version_max)
            g->server_version_min = g->server_version_max;
    }
    if ((rc = sc_get_int(c, obj, "gateway", "port", 1, 65535, &v)) < 0)
        return rc;
    if (rc)
        g->port = (uint16_t)v;
    return sc_load_accounts(c, obj);
}

static int sc_load_network(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"latency", "jitter", "chunking", NULL};
    io_sim_net_t *n = &c->sc->net;
    const cJSON *obj;
    int rc = sc_get_object(c, root, "", "network", &obj);
    if (rc <= 0)
        return rc;
    if ((rc = sc_check_keys(c, obj, "network", known, NULL)) < 0 ||
        (rc = sc_get_duration(c, obj, "network", "latency", 0, &n->latency_us)) < 0 ||
        (rc = sc_get_duration(c, obj, "network", "jitter", 0, &n->jitter_us)) < 0 ||
        (rc = sc_get_bool(c, obj, "network", "chunking", &n->chunking)) < 0)
        return rc;
    return 0;
}

/* ---- events ------------------------------------------------------------ */

static const char *const sc_faults_later[] = {
    "down", "refuse", "handshake_stall", "latency", "slice", "garbage", "connectivity_lost",
    "client_id_in_use", "error", NULL};

static int sc_load_fault(sc_ctx_t *c, const cJSON *obj, const char *path, sc_event_t *e)
{
    static const char *const kill_keys[] = {"at", "fault", "how", NULL};
    static const char *const stale_keys[] = {"at", "fault", "for", NULL};
    static const char *const stale_later[] = {"only", NULL};
    const char *word, *how;
    char fpath[SC_PATH_MAX];
    int rc;
    sc_join(fpath, path, "fault");
    if ((rc = sc_get_string(c, obj, path, "fault", &word)) < 0)
        return rc;
    if (sc_in_list(word, sc_faults_later))
        return sc_fail(c, fpath, "fault \"%s\" is not supported by this build yet", word);
    if (strcmp(word, "kill") == 0) {
        e->action = SC_FAULT_KILL;
        e->how = IO_CLOSE_FIN;
        if ((rc = sc_check_keys(c, obj, path, kill_keys, NULL)) < 0 ||
            (rc = sc_get_string(c, obj, path, "how", &how)) <= 0)
            return rc;
        if (strcmp(how, "fin") != 0 && strcmp(how, "rst") != 0) {
            sc_join(fpath, path, "how");
            return sc_fail(c, fpath, "expected \"fin\" or \"rst\", got \"%s\"", how);
        }
        e->how = how[0] == 'r' ? IO_CLOSE_RST : IO_CLOSE_FIN;
        return 0;
    }
    if (strcmp(word, "stale") == 0) {
        e->action = SC_FAULT_STALE;
        e->for_us = -1;
        if ((rc = sc_check_keys(c, obj, path, stale_keys, stale_later)) < 0 ||
            (rc = sc_get_duration(c, obj, path, "for", 1, &e->for_us)) < 0)
            return rc;
        return 0;
    }
    return sc_fail(c, fpath, "unknown fault \"%s\" (this build knows kill, stale)", word);
}

static int sc_load_signal(sc_ctx_t *c, const cJSON *obj, const char *path, sc_event_t *e)
{
    static const char *const keys[] = {"at", "signal", NULL};
    const char *name;
    char spath[SC_PATH_MAX];
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys, NULL)) < 0 ||
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

static int sc_load_event(sc_ctx_t *c, const cJSON *obj, const char *path, sc_event_t *e)
{
    char rpath[SC_PATH_MAX];
    if (!cJSON_IsObject(obj))
        return sc_type_error(c, path, obj, "an object");
    if (cJSON_GetObjectItemCaseSensitive(obj, "random")) {
        sc_join(rpath, path, "random");
        return sc_fail(c, rpath, "not supported by this build yet");
    }
    int has_fault = cJSON_GetObjectItemCaseSensitive(obj, "fault") != NULL;
    int has_signal = cJSON_GetObjectItemCaseSensitive(obj, "signal") != NULL;
    if (has_fault == has_signal)
        return sc_fail(c, path, "an event has exactly one of \"fault\" or \"signal\"");
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

static const char *const sc_check_words[] = {"count", "never", "within", "sequence", "exit",
                                             NULL};
static const char *const sc_check_later[] = {"status", "clean_shutdown", NULL};

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
    if ((rc = sc_check_keys(c, obj, path, keys, NULL)) < 0 ||
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
    if ((rc = sc_check_keys(c, obj, path, keys, NULL)) < 0 ||
        (rc = sc_get_pattern(c, obj, path, "never", &k->what)) < 0 ||
        (rc = sc_load_window(c, obj, path, k)) < 0)
        return rc;
    return sc_load_src(c, obj, path, k);
}

static int sc_load_within(sc_ctx_t *c, const cJSON *obj, const char *path, sc_check_t *k)
{
    static const char *const keys[] = {"within", "after", "expect", "src", NULL};
    int rc;
    if ((rc = sc_check_keys(c, obj, path, keys, NULL)) < 0 ||
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
    if ((rc = sc_check_keys(c, obj, path, keys, NULL)) < 0 ||
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
    if ((rc = sc_check_keys(c, obj, path, keys, NULL)) < 0 ||
        (rc = sc_get_int(c, obj, path, "exit", 0, 255, &code)) < 0)
        return rc;
    k->exit_code = (int)code;
    return 0;
}

/* Finds the check word among the keys: exactly one of sc_check_words. */
static int sc_check_word(sc_ctx_t *c, const cJSON *obj, const char *path, int *word)
{
    static const char *const params[] = {"eq", "ge", "le", "from", "to", "src", "after",
                                         "expect", NULL};
    char kpath[SC_PATH_MAX], list[128];
    *word = -1;
    for (const cJSON *k = obj->child; k; k = k->next) {
        sc_join(kpath, path, k->string);
        if (sc_in_list(k->string, sc_check_later))
            return sc_fail(c, kpath, "check \"%s\" is not supported by this build yet",
                           k->string);
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
        sc_load_count, sc_load_never, sc_load_within, sc_load_sequence, sc_load_exit};
    static const enum sc_check_kind kinds[] = {SC_CHECK_COUNT, SC_CHECK_NEVER, SC_CHECK_WITHIN,
                                               SC_CHECK_SEQUENCE, SC_CHECK_EXIT};
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
    return 0;
}

static int sc_load_root(sc_ctx_t *c, const cJSON *root)
{
    static const char *const known[] = {"name", "description", "seed", "start", "end", "runner",
                                        "gateway", "network", "events", "expect", NULL};
    int rc;
    if (!cJSON_IsObject(root))
        return sc_type_error(c, "(top level)", root, "an object");
    if ((rc = sc_check_keys(c, root, "", known, NULL)) < 0 || (rc = sc_set_name(c, root)) < 0 ||
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

/* gw_config borrows its account strings, and they must outlive the cJSON
 * tree: the scenario takes its own copies. */
static int sc_own_accounts(sc_ctx_t *c)
{
    gw_config_t *g = &c->sc->gateway;
    for (size_t i = 0; i < g->naccounts; i++) {
        c->sc->account_names[i] = sc_strndup(g->accounts[i], strlen(g->accounts[i]));
        if (!c->sc->account_names[i])
            return sc_nomem(c);
        g->accounts[i] = c->sc->account_names[i];
    }
    return 0;
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
        if (rc == 0)
            rc = sc_own_accounts(&c);
    }
    cJSON_Delete(root);
    free(copy);
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
    for (size_t i = 0; i < GW_ACCOUNTS_MAX; i++)
        free(sc->account_names[i]);
    free(sc->checks);
    free(sc->events);
    free(sc->name);
    free(sc->description);
    free(sc->file);
    free(sc);
}
