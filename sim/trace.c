/* trace.c - the trace recorder (see trace.h). */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_base.h"

#define TR_FNV_OFFSET 0xcbf29ce484222325ULL
#define TR_FNV_PRIME 0x100000001b3ULL
#define TR_LINE_FIRST 512
#define TR_CHUNK_MIN ((size_t)64 * 1024)

/* The events' strings and field arrays live in chunks that never move, so
 * recording an event costs no malloc of its own (a year of trace is more
 * than a million events). */
typedef struct tr_chunk {
    struct tr_chunk *next;
    size_t used, cap;
    max_align_t data[];
} tr_chunk_t;

struct tr_recorder {
    tr_chunk_t *chunks; /* the newest first */
    tr_event_t *events;
    size_t nevents, cap_events;
    char *text; /* the JSON lines, not NUL-terminated */
    size_t len, cap_text;
    uint64_t hash;
    int ok;
};

uint64_t tr_fnv1a_fold(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= TR_FNV_PRIME;
    }
    return h;
}

tr_recorder_t *tr_new(void)
{
    tr_recorder_t *rec = calloc(1, sizeof *rec);
    if (rec) {
        rec->hash = TR_FNV_OFFSET;
        rec->ok = 1;
    }
    return rec;
}

void tr_free(tr_recorder_t *rec)
{
    if (!rec)
        return;
    while (rec->chunks) {
        tr_chunk_t *next = rec->chunks->next;
        free(rec->chunks);
        rec->chunks = next;
    }
    free(rec->events);
    free(rec->text);
    free(rec);
}

/* n bytes, aligned for any type, from the newest chunk or a new one. */
static void *tr_alloc(tr_recorder_t *rec, size_t n)
{
    size_t need = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    tr_chunk_t *c = rec->chunks;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > TR_CHUNK_MIN ? need : TR_CHUNK_MIN;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        *c = (tr_chunk_t){rec->chunks, 0, cap};
        rec->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    return p;
}

static char *tr_copy(tr_recorder_t *rec, const char *s, int *ok)
{
    size_t n = strlen(s) + 1;
    char *d = *ok ? tr_alloc(rec, n) : NULL;
    if (d)
        memcpy(d, s, n);
    else
        *ok = 0;
    return d;
}

/* Grows a buffer of elem-sized items so that it holds at least need. */
static int tr_reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*buf, n * elem);
    if (!p)
        return 0;
    *buf = p;
    *cap = n;
    return 1;
}

/* Copies the event into the list; 0 when memory ran out. */
static int tr_keep_event(tr_recorder_t *rec, io_us_t wall_us, const char *src, const char *ev,
                         size_t nfields, const io_trace_field_t *fields)
{
    if (!tr_reserve((void **)&rec->events, &rec->cap_events, rec->nevents + 1, sizeof(tr_event_t)))
        return 0;
    int ok = 1;
    tr_event_t e = {wall_us, tr_copy(rec, src, &ok), tr_copy(rec, ev, &ok), nfields, NULL};
    e.fields = nfields && ok ? tr_alloc(rec, nfields * sizeof *e.fields) : NULL;
    ok = ok && (e.fields || !nfields);
    for (size_t i = 0; ok && i < nfields; i++) {
        e.fields[i].key = tr_copy(rec, fields[i].key, &ok);
        e.fields[i].str = fields[i].str ? tr_copy(rec, fields[i].str, &ok) : NULL;
        e.fields[i].num = fields[i].num;
    }
    if (ok)
        rec->events[rec->nevents++] = e;
    return ok;
}

/* Appends the event's JSON line to the text and folds it into the hash. */
static int tr_keep_line(tr_recorder_t *rec, io_us_t wall_us, const char *src, const char *ev,
                        size_t nfields, const io_trace_field_t *fields)
{
    size_t room = TR_LINE_FIRST;
    for (;;) {
        if (!tr_reserve((void **)&rec->text, &rec->cap_text, rec->len + room + 1, 1))
            return 0;
        size_t n = io_trace_format_json(rec->text + rec->len, room, wall_us, src, ev, nfields,
                                        fields);
        if (n < room) {
            rec->text[rec->len + n] = '\n';
            rec->hash = tr_fnv1a_fold(rec->hash, rec->text + rec->len, n + 1);
            rec->len += n + 1;
            return 1;
        }
        room = n + 1;
    }
}

void tr_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields)
{
    tr_recorder_t *rec = data;
    if (!rec->ok)
        return;
    if (!tr_keep_event(rec, wall_us, src, ev, nfields, fields) ||
        !tr_keep_line(rec, wall_us, src, ev, nfields, fields))
        rec->ok = 0;
}

int tr_ok(const tr_recorder_t *rec)
{
    return rec->ok;
}

size_t tr_count(const tr_recorder_t *rec)
{
    return rec->nevents;
}

const tr_event_t *tr_event(const tr_recorder_t *rec, size_t i)
{
    return &rec->events[i];
}

const char *tr_jsonl(const tr_recorder_t *rec, size_t *len)
{
    *len = rec->len;
    return rec->text ? rec->text : "";
}

uint64_t tr_hash(const tr_recorder_t *rec)
{
    return rec->hash;
}

uint64_t tr_fnv1a(const void *data, size_t len)
{
    return tr_fnv1a_fold(TR_FNV_OFFSET, data, len);
}

const char *tr_field_text(const tr_event_t *e, const char *key, char buf[24])
{
    for (size_t i = 0; i < e->nfields; i++) {
        if (strcmp(e->fields[i].key, key) != 0)
            continue;
        if (e->fields[i].str)
            return e->fields[i].str;
        snprintf(buf, 24, "%" PRId64, e->fields[i].num);
        return buf;
    }
    return NULL;
}

int tr_write(const tr_recorder_t *rec, const char *path, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return IO_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = IO_ERR_SYS;
    } else {
        int bad = rec->len && fwrite(rec->text, 1, rec->len, f) != rec->len;
        if (fclose(f) != 0 || bad) {
            snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
            rc = IO_ERR_SYS;
        } else if (rename(tmp, path) != 0) {
            snprintf(err, errlen, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
            rc = IO_ERR_SYS;
        }
        if (rc != 0)
            remove(tmp);
    }
    free(tmp);
    return rc;
}
