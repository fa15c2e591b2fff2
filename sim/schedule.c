/* schedule.c - a scenario's concrete schedule (see schedule.h). */
#include "schedule.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_base.h"
#include "outfile.h"

#define SD_DAY_US ((io_us_t)86400 * IO_US_PER_S)

/* splitmix64: the random entries' own generator, so what they draw depends
 * only on the seed and the entry, not on how the run consumed the loop's. */
static uint64_t sd_mix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi >= lo); the modulo bias is far below anything a
 * schedule could show. */
static int64_t sd_draw(uint64_t *state, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(sd_mix(state) % ((uint64_t)(hi - lo) + 1));
}

io_us_t sd_event_end(const sc_event_t *e)
{
    if (e->action != SC_FAULT || !sc_fault_takes(e->fault.kind, "for"))
        return e->at_us;
    return e->fault.for_us > 0 ? e->at_us + e->fault.for_us : -1;
}

/* One fault of a random entry, every parameter drawn (docs/scenarios.md
 * lists the ranges); times are whole milliseconds so sd_write can say them. */
static void sd_draw_fault(const sc_random_t *r, uint64_t *st, sc_event_t *e)
{
    enum gw_fault_kind kind = r->kinds[sd_draw(st, 0, (int64_t)r->nkinds - 1)];
    io_us_t ms = IO_US_PER_MS;
    memset(e, 0, sizeof *e);
    e->action = SC_FAULT;
    e->at_us = r->from_us + sd_draw(st, 0, (r->to_us - r->from_us - 1) / ms) * ms;
    gw_fault_init(&e->fault, kind);
    if (sc_fault_takes(kind, "for"))
        e->fault.for_us = sd_draw(st, r->for_min_us / ms, r->for_max_us / ms) * ms;
    if (sc_fault_takes(kind, "how"))
        e->fault.how = sd_draw(st, 0, 1) ? IO_CLOSE_RST : IO_CLOSE_FIN;
    if (kind == GW_FAULT_LATENCY)
        e->fault.value_us = sd_draw(st, 50, 2000) * ms;
    if (kind == GW_FAULT_SLICE)
        e->fault.max_bytes = (size_t)sd_draw(st, 1, 16);
    if (kind == GW_FAULT_GARBAGE)
        e->fault.bytes = (size_t)sd_draw(st, 1, 64);
    if (kind == GW_FAULT_CONNECTIVITY_LOST)
        e->fault.restored_code = (int)sd_draw(st, 1101, 1102);
    if (kind == GW_FAULT_CLIENT_ID_IN_USE)
        e->fault.times = (int)sd_draw(st, 1, 3);
}

/* A schedule entry with the key that keeps equal times in file order. */
typedef struct sd_slot {
    sc_event_t ev;
    uint64_t order;
} sd_slot_t;

static int sd_slot_cmp(const void *x, const void *y)
{
    const sd_slot_t *a = x, *b = y;
    if (a->ev.at_us != b->ev.at_us)
        return a->ev.at_us < b->ev.at_us ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* How many faults entry r draws: the expected number, its fraction
 * decided by one draw, so that the average over seeds is the rate. */
static size_t sd_random_count(const sc_random_t *r, uint64_t *st)
{
    double expected = r->per_day * (double)(r->to_us - r->from_us) / (double)SD_DAY_US;
    double whole = (double)(size_t)expected;
    double unit = (double)(sd_mix(st) >> 11) / 9007199254740992.0;
    return (size_t)whole + (unit < expected - whole);
}

int sd_schedule(const sc_scenario_t *sc, uint64_t seed, sc_event_t **out, size_t *n)
{
    size_t cap = 0, len = 0;
    sd_slot_t *slots = NULL;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < sc->nevents; i++) {
        const sc_event_t *e = &sc->events[i];
        uint64_t st = seed ^ (0xd1b54a32d192ed03ULL * (i + 1));
        size_t count = e->action == SC_RANDOM ? sd_random_count(&e->random, &st) : 1;
        if (len + count > cap) {
            size_t grow = (len + count) * 2;
            sd_slot_t *p = realloc(slots, grow * sizeof *p);
            if (!p) {
                free(slots);
                return IO_ERR_NOMEM;
            }
            slots = p;
            cap = grow;
        }
        for (size_t j = 0; j < count; j++, len++) {
            slots[len].order = ((uint64_t)i << 32) | j;
            if (e->action == SC_RANDOM)
                sd_draw_fault(&e->random, &st, &slots[len].ev);
            else
                slots[len].ev = *e;
        }
    }
    if (len == 0)
        return 0;
    qsort(slots, len, sizeof *slots, sd_slot_cmp);
    *out = malloc(len * sizeof **out);
    if (!*out) {
        free(slots);
        return IO_ERR_NOMEM;
    }
    for (size_t i = 0; i < len; i++)
        (*out)[i] = slots[i].ev;
    *n = len;
    free(slots);
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* A whole-millisecond duration as the format writes it: "1h30m", "250ms". */
static const char *sd_dur_text(io_us_t us, char *buf, size_t cap)
{
    static const struct {
        const char *unit;
        io_us_t us;
    } units[] = {{"d", SD_DAY_US},           {"h", 3600 * IO_US_PER_S}, {"m", 60 * IO_US_PER_S},
                 {"s", IO_US_PER_S},         {"ms", IO_US_PER_MS}};
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && n < cap; i++) {
        if (us / units[i].us == 0)
            continue;
        n += (size_t)snprintf(buf + n, cap - n, "%lld%s", (long long)(us / units[i].us),
                              units[i].unit);
        us %= units[i].us;
    }
    if (buf[0] == '\0')
        snprintf(buf, cap, "0s");
    return buf;
}

/* `at`: "+DURATION" when whole milliseconds from the start, else the ISO
 * moment (which keeps microseconds). */
static void sd_at_text(const sc_scenario_t *sc, io_us_t at_us, char *buf, size_t cap)
{
    if ((at_us - sc->start_us) % IO_US_PER_MS == 0) {
        buf[0] = '+';
        sd_dur_text(at_us - sc->start_us, buf + 1, cap - 1);
    } else {
        char iso[32];
        io_format_wall(at_us, iso);
        snprintf(buf, cap, "%s", iso);
    }
}

static int sd_add_dur(cJSON *obj, const char *key, io_us_t us)
{
    char buf[64];
    return cJSON_AddStringToObject(obj, key, sd_dur_text(us, buf, sizeof buf)) != NULL;
}

/* The fault's parameters, each one its kind takes. */
static int sd_fault_json(const gw_fault_t *f, cJSON *o)
{
    static const char *const names[] = {"current_time", "historical", "market_data", "positions",
                                        "account",      "orders",     "executions",  "contracts",
                                        "ids",          "errors"};
    int ok = cJSON_AddStringToObject(o, "fault", gw_fault_kind_name(f->kind)) != NULL;
    if (f->client_id >= 0)
        ok &= cJSON_AddNumberToObject(o, "client_id", f->client_id) != NULL;
    if (sc_fault_takes(f->kind, "how"))
        ok &= cJSON_AddStringToObject(o, "how", f->how == IO_CLOSE_RST ? "rst" : "fin") != NULL;
    if (sc_fault_takes(f->kind, "for") && f->for_us > 0)
        ok &= sd_add_dur(o, "for", f->for_us);
    if (f->kind == GW_FAULT_LATENCY)
        ok &= sd_add_dur(o, "value", f->value_us);
    if (f->kind == GW_FAULT_SLICE)
        ok &= cJSON_AddNumberToObject(o, "max", (double)f->max_bytes) != NULL;
    if (f->kind == GW_FAULT_GARBAGE)
        ok &= cJSON_AddNumberToObject(o, "bytes", (double)f->bytes) != NULL;
    if (f->kind == GW_FAULT_CONNECTIVITY_LOST)
        ok &= cJSON_AddNumberToObject(o, "restored", f->restored_code) != NULL;
    if (f->kind == GW_FAULT_CLIENT_ID_IN_USE)
        ok &= cJSON_AddNumberToObject(o, "times", f->times) != NULL;
    if (f->kind == GW_FAULT_ERROR) {
        ok &= cJSON_AddNumberToObject(o, "code", f->code) != NULL;
        if (f->text[0])
            ok &= cJSON_AddStringToObject(o, "text", f->text) != NULL;
        if (f->req_id != -1)
            ok &= cJSON_AddNumberToObject(o, "req_id", f->req_id) != NULL;
    }
    if (f->kind == GW_FAULT_STALE && f->only) {
        cJSON *only = cJSON_AddArrayToObject(o, "only");
        ok &= only != NULL;
        for (size_t i = 0; only && i < sizeof names / sizeof names[0]; i++)
            if (f->only & (1u << i))
                ok &= cJSON_AddItemToArray(only, cJSON_CreateString(names[i]));
    }
    return ok;
}

static cJSON *sd_events_json(const sc_scenario_t *sc, const sc_event_t *events, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        char at[64];
        cJSON *o = cJSON_CreateObject();
        int ok = o && cJSON_AddItemToArray(arr, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        sd_at_text(sc, events[i].at_us, at, sizeof at);
        ok = cJSON_AddStringToObject(o, "at", at) != NULL;
        const char *sig = events[i].sig == IO_SIGINT ? "SIGINT" : "SIGTERM";
        if (events[i].action == SC_SIGNAL)
            ok &= cJSON_AddStringToObject(o, "signal", sig) != NULL;
        else
            ok &= sd_fault_json(&events[i].fault, o);
        if (!ok) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* Replaces (or adds) key in obj; takes item. */
static int sd_put(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    return cJSON_AddItemToObject(obj, key, item);
}

static int sd_write_text(FILE *f, const void *text)
{
    return fputs(text, f) < 0 || fputc('\n', f) == EOF;
}

int sd_write(const sc_scenario_t *sc, uint64_t seed, const sc_event_t *events, size_t n,
             const char *path, char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(sc->text, sc->textlen);
    char *text = NULL;
    if (root && sd_put(root, "seed", cJSON_CreateNumber((double)seed)) &&
        sd_put(root, "events", sd_events_json(sc, events, n)))
        text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        io_errf(err, errlen, "%s: out of memory", path);
        return IO_ERR_NOMEM;
    }
    int rc = of_replace(path, sd_write_text, text, err, errlen);
    cJSON_free(text);
    return rc;
}
