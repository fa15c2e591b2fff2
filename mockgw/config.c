/* config.c - reads the scenario format's `gateway` object into a
 * gw_config_t. It works on a copy and commits it only when every key is
 * valid, so a bad file never leaves a half-applied config; the strings it
 * keeps are copied into a list the config owns. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/duration.h"
#include "../proto/proto.h"

#define CFG_PATH_MAX 256
#define CFG_NUMBER_MAX 1e9
#define CFG_SEED_MAX 9007199254740992.0 /* 2^53: larger integers are not exact */

struct gw_config_string {
    struct gw_config_string *next;
    char text[];
};

typedef struct cfg_ctx {
    gw_config_t c;  /* the copy being filled */
    char *err;
    size_t errlen;
} cfg_ctx_t;

static int cfg_fail(cfg_ctx_t *x, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfg_fail(cfg_ctx_t *x, const char *path, const char *fmt, ...)
{
    if (x->err && x->errlen > 0) {
        int n = snprintf(x->err, x->errlen, "%s: ", path);
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < x->errlen)
            vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return IO_ERR_INVAL;
}

static const char *cfg_type_name(const cJSON *v)
{
    return cJSON_IsString(v)   ? "a string"
           : cJSON_IsNumber(v) ? "a number"
           : cJSON_IsBool(v)   ? "a boolean"
           : cJSON_IsArray(v)  ? "an array"
           : cJSON_IsObject(v) ? "an object"
                               : "null";
}

static int cfg_type_error(cfg_ctx_t *x, const char *path, const cJSON *v, const char *want)
{
    return cfg_fail(x, path, "expected %s, got %s", want, cfg_type_name(v));
}

/* A path cut short ends in "..." rather than silently. */
static void cfg_mark_cut(char *out, int n)
{
    if (n >= CFG_PATH_MAX)
        memcpy(out + CFG_PATH_MAX - 4, "...", 4);
}

static void cfg_join(char *out, const char *parent, const char *key)
{
    cfg_mark_cut(out, snprintf(out, CFG_PATH_MAX, "%s.%s", parent, key));
}

static void cfg_index(char *out, const char *parent, int i)
{
    cfg_mark_cut(out, snprintf(out, CFG_PATH_MAX, "%s[%d]", parent, i));
}

/* A copy of text owned by the config being built. */
static const char *cfg_own(cfg_ctx_t *x, const char *text)
{
    size_t len = strlen(text);
    struct gw_config_string *s = malloc(sizeof *s + len + 1);
    if (!s)
        return NULL;
    memcpy(s->text, text, len + 1);
    s->next = x->c.owned;
    x->c.owned = s;
    return s->text;
}

static int cfg_nomem(cfg_ctx_t *x, const char *path)
{
    cfg_fail(x, path, "out of memory");
    return IO_ERR_NOMEM;
}

/* ---- typed values ------------------------------------------------------ */

static int cfg_number(cfg_ctx_t *x, const cJSON *v, const char *path, double lo, double hi,
                      double *out)
{
    if (!cJSON_IsNumber(v))
        return cfg_type_error(x, path, v, "a number");
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return cfg_fail(x, path, "%g is out of range [%g, %g]", v->valuedouble, lo, hi);
    *out = v->valuedouble;
    return 0;
}

static int cfg_int(cfg_ctx_t *x, const cJSON *v, const char *path, double lo, double hi,
                   double *out)
{
    if (!cJSON_IsNumber(v))
        return cfg_type_error(x, path, v, "an integer");
    if (v->valuedouble != floor(v->valuedouble))
        return cfg_fail(x, path, "expected an integer, got %g", v->valuedouble);
    return cfg_number(x, v, path, lo, hi, out);
}

/* A non-empty string, copied into the config. */
static int cfg_name(cfg_ctx_t *x, const cJSON *v, const char *path, const char **out)
{
    if (!cJSON_IsString(v))
        return cfg_type_error(x, path, v, "a string");
    if (v->valuestring[0] == '\0')
        return cfg_fail(x, path, "must not be empty");
    *out = cfg_own(x, v->valuestring);
    return *out ? 0 : cfg_nomem(x, path);
}

/* Every key of obj must be in keys (NULL-terminated), once. */
static int cfg_check_keys(cfg_ctx_t *x, const cJSON *obj, const char *path,
                          const char *const *keys)
{
    char sub[CFG_PATH_MAX];
    for (const cJSON *k = obj->child; k; k = k->next) {
        cfg_join(sub, path, k->string);
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k->string) != 0)
            i++;
        if (!keys[i])
            return cfg_fail(x, sub, "unknown key");
        for (const cJSON *p = obj->child; p != k; p = p->next)
            if (strcmp(p->string, k->string) == 0)
                return cfg_fail(x, sub, "duplicate key");
    }
    return 0;
}

/* ---- keys -------------------------------------------------------------- */

static int cfg_server_version(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    double n;
    int rc = cfg_int(x, v, path, 1, PROTO_SERVER_VERSION_MAX, &n);
    if (rc < 0)
        return rc;
    /* An old version lowers the minimum too, so that it is offered. */
    x->c.server_version_max = (int)n;
    if (x->c.server_version_min > x->c.server_version_max)
        x->c.server_version_min = x->c.server_version_max;
    return 0;
}

static int cfg_port(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    double n;
    int rc = cfg_int(x, v, path, 0, 65535, &n);
    if (rc == 0)
        x->c.port = (uint16_t)n;
    return rc;
}

static int cfg_market_seed(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    double n;
    int rc = cfg_int(x, v, path, 0, CFG_SEED_MAX, &n);
    if (rc == 0)
        x->c.market_seed = (uint64_t)n;
    return rc;
}

static int cfg_accounts(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    char sub[CFG_PATH_MAX];
    if (!cJSON_IsArray(v))
        return cfg_type_error(x, path, v, "an array");
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > GW_ACCOUNTS_MAX)
        return cfg_fail(x, path, "expected 1 to %d accounts, got %d", GW_ACCOUNTS_MAX, n);
    int i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, v) {
        cfg_index(sub, path, i);
        int rc = cfg_name(x, a, sub, &x->c.accounts[i]);
        if (rc < 0)
            return rc;
        /* managedAccounts is one comma-separated field on the wire. */
        if (strchr(x->c.accounts[i], ','))
            return cfg_fail(x, sub, "an account name must not hold a comma");
        i++;
    }
    x->c.naccounts = (size_t)n;
    return 0;
}

static int cfg_is_account(const gw_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->naccounts; i++)
        if (strcmp(c->accounts[i], name) == 0)
            return 1;
    return 0;
}

static int cfg_position(cfg_ctx_t *x, const cJSON *item, const char *path, gw_position_t *p)
{
    static const char *const keys[] = {"account", "symbol", "qty", "avg_cost", NULL};
    char sub[CFG_PATH_MAX];
    if (!cJSON_IsObject(item))
        return cfg_type_error(x, path, item, "an object");
    int rc = cfg_check_keys(x, item, path, keys);
    for (size_t k = 0; rc == 0 && k < 3; k++) {
        cfg_join(sub, path, keys[k]);
        if (!cJSON_GetObjectItemCaseSensitive(item, keys[k]))
            rc = cfg_fail(x, sub, "missing");
    }
    memset(p, 0, sizeof *p);
    if (rc == 0) {
        cfg_join(sub, path, "account");
        rc = cfg_name(x, cJSON_GetObjectItemCaseSensitive(item, "account"), sub, &p->account);
        if (rc == 0 && !cfg_is_account(&x->c, p->account))
            rc = cfg_fail(x, sub, "\"%s\" is not one of the accounts", p->account);
    }
    if (rc == 0) {
        cfg_join(sub, path, "symbol");
        rc = cfg_name(x, cJSON_GetObjectItemCaseSensitive(item, "symbol"), sub, &p->symbol);
    }
    if (rc == 0) {
        cfg_join(sub, path, "qty");
        rc = cfg_number(x, cJSON_GetObjectItemCaseSensitive(item, "qty"), sub, -CFG_NUMBER_MAX,
                        CFG_NUMBER_MAX, &p->qty);
    }
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(item, "avg_cost");
    if (rc == 0 && cost) {
        cfg_join(sub, path, "avg_cost");
        rc = cfg_number(x, cost, sub, 0, CFG_NUMBER_MAX, &p->avg_cost);
    }
    return rc;
}

static int cfg_positions(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    char sub[CFG_PATH_MAX];
    if (!cJSON_IsArray(v))
        return cfg_type_error(x, path, v, "an array");
    if (cJSON_GetArraySize(v) > GW_POSITIONS_MAX)
        return cfg_fail(x, path, "at most %d positions", GW_POSITIONS_MAX);
    x->c.npositions = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, v) {
        cfg_index(sub, path, (int)x->c.npositions);
        int rc = cfg_position(x, item, sub, &x->c.positions[x->c.npositions]);
        if (rc < 0)
            return rc;
        x->c.npositions++;
    }
    return 0;
}

static int cfg_prices(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    char sub[CFG_PATH_MAX];
    if (!cJSON_IsObject(v))
        return cfg_type_error(x, path, v, "an object");
    x->c.nprices = 0;
    for (const cJSON *k = v->child; k; k = k->next) {
        cfg_join(sub, path, k->string);
        for (const cJSON *p = v->child; p != k; p = p->next)
            if (strcmp(p->string, k->string) == 0)
                return cfg_fail(x, sub, "duplicate key");
        if (k->string[0] == '\0')
            return cfg_fail(x, sub, "a symbol must not be empty");
        if (x->c.nprices == GW_PRICES_MAX)
            return cfg_fail(x, sub, "at most %d prices", GW_PRICES_MAX);
        gw_price_t *pr = &x->c.prices[x->c.nprices];
        int rc = cfg_number(x, k, sub, 0.0001, CFG_NUMBER_MAX, &pr->price);
        if (rc < 0)
            return rc;
        if (!(pr->symbol = cfg_own(x, k->string)))
            return cfg_nomem(x, sub);
        x->c.nprices++;
    }
    return 0;
}

static int cfg_restart_at(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    unsigned hh, mm;
    char tail;
    if (!cJSON_IsString(v))
        return cfg_type_error(x, path, v, "a string");
    const char *at = v->valuestring;
    if (strlen(at) != 5 || sscanf(at, "%2u:%2u%c", &hh, &mm, &tail) != 2 || at[2] != ':' ||
        hh > 23 || mm > 59)
        return cfg_fail(x, path, "expected a time of day \"HH:MM\" (00:00 to 23:59), got \"%s\"",
                        at);
    x->c.daily_restart_min = (int)(hh * 60 + mm);
    return 0;
}

static int cfg_daily_restart(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    static const char *const keys[] = {"at", "down_for", NULL};
    char sub[CFG_PATH_MAX], why[160];
    if (!cJSON_IsObject(v))
        return cfg_type_error(x, path, v, "an object");
    int rc = cfg_check_keys(x, v, path, keys);
    if (rc < 0)
        return rc;
    cfg_join(sub, path, "at");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(v, "at");
    if (!at)
        return cfg_fail(x, sub, "missing");
    if ((rc = cfg_restart_at(x, at, sub)) < 0)
        return rc;
    const cJSON *down = cJSON_GetObjectItemCaseSensitive(v, "down_for");
    if (!down)
        return 0;
    cfg_join(sub, path, "down_for");
    if (!cJSON_IsString(down))
        return cfg_type_error(x, sub, down, "a duration");
    io_us_t us;
    if (dur_parse(down->valuestring, &us, why, sizeof why) < 0)
        return cfg_fail(x, sub, "%s", why);
    if (us <= 0)
        return cfg_fail(x, sub, "must be longer than 0");
    x->c.daily_restart_down_us = us;
    return 0;
}

/* One of two words for a choice; *out is the index of the word. */
static int cfg_word(cfg_ctx_t *x, const cJSON *v, const char *path, const char *const words[2],
                    int *out)
{
    if (!cJSON_IsString(v))
        return cfg_type_error(x, path, v, "a string");
    for (int i = 0; i < 2; i++) {
        if (strcmp(v->valuestring, words[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return cfg_fail(x, path, "expected \"%s\" or \"%s\", got \"%s\"", words[0], words[1],
                    v->valuestring);
}

static int cfg_replay(cfg_ctx_t *x, const cJSON *v, const char *path)
{
    static const char *const keys[] = {"file", "mode", "timing", "conn", NULL};
    static const char *const modes[] = {"strict", "lenient"};
    static const char *const timings[] = {"recorded", "fast"};
    char sub[CFG_PATH_MAX];
    gw_replay_config_t r = {NULL, 0, 0, 0};
    if (!cJSON_IsObject(v))
        return cfg_type_error(x, path, v, "an object");
    int rc = cfg_check_keys(x, v, path, keys);
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(v, "file");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(v, "mode");
    const cJSON *timing = cJSON_GetObjectItemCaseSensitive(v, "timing");
    const cJSON *conn = cJSON_GetObjectItemCaseSensitive(v, "conn");
    cfg_join(sub, path, "file");
    if (rc == 0 && !file)
        rc = cfg_fail(x, sub, "missing");
    if (rc == 0)
        rc = cfg_name(x, file, sub, &r.file);
    cfg_join(sub, path, "mode");
    if (rc == 0 && mode)
        rc = cfg_word(x, mode, sub, modes, &r.lenient);
    cfg_join(sub, path, "timing");
    if (rc == 0 && timing)
        rc = cfg_word(x, timing, sub, timings, &r.fast);
    cfg_join(sub, path, "conn");
    double n = 0;
    if (rc == 0 && conn && (rc = cfg_int(x, conn, sub, 1, CFG_NUMBER_MAX, &n)) == 0)
        r.conn = (unsigned)n;
    if (rc == 0)
        x->c.replay = r;
    return rc;
}

/* Keys in the order they are applied: accounts before positions, which
 * must name one of them. */
static const struct {
    const char *key;
    int (*apply)(cfg_ctx_t *x, const cJSON *v, const char *path);
} cfg_keys[] = {
    {"server_version", cfg_server_version}, {"accounts", cfg_accounts},
    {"port", cfg_port},                     {"positions", cfg_positions},
    {"prices", cfg_prices},                 {"market_seed", cfg_market_seed},
    {"daily_restart", cfg_daily_restart},   {"replay", cfg_replay},
};

#define CFG_NKEYS (sizeof cfg_keys / sizeof cfg_keys[0])

static void cfg_free_strings(struct gw_config_string *s, const struct gw_config_string *until)
{
    while (s && s != until) {
        struct gw_config_string *next = s->next;
        free(s);
        s = next;
    }
}

int gw_config_from_json(const cJSON *gateway_obj, gw_config_t *cfg, const char *path, char *err,
                        size_t errlen)
{
    cfg_ctx_t x = {*cfg, err, errlen};
    const char *names[CFG_NKEYS + 1];
    char sub[CFG_PATH_MAX];
    if (!cJSON_IsObject(gateway_obj))
        return cfg_type_error(&x, path, gateway_obj, "an object");
    for (size_t i = 0; i < CFG_NKEYS; i++)
        names[i] = cfg_keys[i].key;
    names[CFG_NKEYS] = NULL;
    int rc = cfg_check_keys(&x, gateway_obj, path, names);
    for (size_t i = 0; rc == 0 && i < CFG_NKEYS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(gateway_obj, cfg_keys[i].key);
        cfg_join(sub, path, cfg_keys[i].key);
        if (v)
            rc = cfg_keys[i].apply(&x, v, sub);
    }
    if (rc < 0) {
        cfg_free_strings(x.c.owned, cfg->owned);
        return rc;
    }
    /* Strings an earlier call copied stay in the list: keys this object
     * does not name may still point to them. */
    *cfg = x.c;
    return 0;
}

void gw_config_release(gw_config_t *cfg)
{
    cfg_free_strings(cfg->owned, NULL);
    cfg->owned = NULL;
}
