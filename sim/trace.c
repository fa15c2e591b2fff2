/* trace.c - the trace recorder (see trace.h).
 *
 * A year of trace is over a million events, so recording one must cost
 * little time and few bytes: every distinct string is stored once (found by
 * content through an open-addressing index, with a cache by pointer in
 * front, since callers mostly pass the same literals; a hit there is still
 * confirmed with strcmp, as a caller may reuse a buffer), events are kept
 * column-wise (time, kind, first field: a pass over the kinds reads four
 * bytes per event) and a field is two words. JSON is rendered only on
 * demand. */
#include "trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/io_base.h"
#include "outfile.h"

#define TR_FNV_OFFSET 0xcbf29ce484222325ULL
#define TR_FNV_PRIME 0x100000001b3ULL
#define TR_CHUNK_MIN ((size_t)64 * 1024)
#define TR_PTR_BITS 10 /* the pointer cache has 2^10 slots */
#define TR_KIND_BITS 8 /* the kind cache has 2^8 slots */
#define TR_INDEX_MIN 64
#define TR_FIELDS_ON_STACK 16
#define TR_LINE_FIRST 256

/* A field's key word: the key's string id, shifted, and what val holds. */
enum tr_field_type { TR_STR = 0, TR_INT = 1, TR_BIG = 2 };
#define TR_TYPE_BITS 2
#define TR_ID_MAX (UINT32_MAX >> TR_TYPE_BITS)

typedef struct tr_field {
    uint32_t key; /* id << TR_TYPE_BITS | type */
    uint32_t val; /* TR_STR: a string id; TR_INT: the int32; TR_BIG: an index into bigs */
} tr_field_t;

/* String texts live in chunks that never move. */
typedef struct tr_chunk {
    struct tr_chunk *next;
    size_t used, cap;
    char data[];
} tr_chunk_t;

typedef struct tr_str {
    const char *text;
    uint64_t hash; /* FNV-1a 64 of the text */
} tr_str_t;

/* The hot path's shortcuts (the index behind them has the answer too). */
typedef struct tr_cached {
    const char *ptr;
    uint32_t id;
} tr_cached_t;

typedef struct tr_cached_kind {
    uint32_t src, ev, kind, used;
} tr_cached_kind_t;

typedef struct tr_pair {
    uint32_t src, ev; /* string ids */
} tr_pair_t;

/* Open addressing; a slot holds id + 1, 0 is empty. */
typedef struct tr_index {
    uint32_t *slot;
    size_t cap; /* a power of two, or 0 */
} tr_index_t;

struct tr_recorder {
    tr_chunk_t *chunks; /* the newest first */
    tr_str_t *strs;
    size_t nstrs, cap_strs;
    tr_index_t str_index;
    tr_cached_t cache[1u << TR_PTR_BITS];
    tr_pair_t *kinds;
    size_t nkinds, cap_kinds;
    tr_index_t kind_index;
    tr_cached_kind_t kind_cache[1u << TR_KIND_BITS];
    io_us_t *wall;   /* per event */
    uint32_t *kind;  /* per event */
    uint32_t *first; /* per event, and one more: event i has fields [first[i], first[i + 1]) */
    size_t nevents, cap_events;
    tr_field_t *fields;
    size_t nfields, cap_fields;
    int64_t *bigs; /* integers beyond int32 */
    size_t nbigs, cap_bigs;
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

uint64_t tr_fnv1a(const void *data, size_t len)
{
    return tr_fnv1a_fold(TR_FNV_OFFSET, data, len);
}

/* One FNV-1a step over a 64-bit word. */
static uint64_t tr_word(uint64_t h, uint64_t w)
{
    return (h ^ w) * TR_FNV_PRIME;
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
    free(rec->strs);
    free(rec->str_index.slot);
    free(rec->kinds);
    free(rec->kind_index.slot);
    free(rec->wall);
    free(rec->kind);
    free(rec->first);
    free(rec->fields);
    free(rec->bigs);
    free(rec);
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

/* Room for one more event in each column. */
static int tr_reserve_event(tr_recorder_t *rec)
{
    size_t need = rec->nevents + 2, cap = rec->cap_events, cap2 = cap, cap3 = cap;
    if (!tr_reserve((void **)&rec->wall, &cap, need, sizeof *rec->wall) ||
        !tr_reserve((void **)&rec->kind, &cap2, need, sizeof *rec->kind) ||
        !tr_reserve((void **)&rec->first, &cap3, need, sizeof *rec->first))
        return 0; /* a column that grew keeps its block; cap stays the smallest */
    rec->cap_events = cap;
    return 1;
}

/* ---- strings and kinds -------------------------------------------------- */

static char *tr_copy(tr_recorder_t *rec, const char *s, size_t len)
{
    tr_chunk_t *c = rec->chunks;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > TR_CHUNK_MIN ? len + 1 : TR_CHUNK_MIN;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        *c = (tr_chunk_t){rec->chunks, 0, cap};
        rec->chunks = c;
    }
    char *d = c->data + c->used;
    memcpy(d, s, len + 1);
    c->used += len + 1;
    return d;
}

/* The slot of ix for hash h that holds an id same() accepts, or the empty
 * slot where it would go. */
static uint32_t *tr_probe(const tr_index_t *ix, uint64_t h,
                          int (*same)(const tr_recorder_t *, uint32_t, const void *),
                          const tr_recorder_t *rec, const void *key)
{
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t *slot = &ix->slot[i];
        if (*slot == 0 || same(rec, *slot - 1, key))
            return slot;
    }
}

/* Keeps ix under half full for n + 1 ids; hash_of gives an id's hash. */
static int tr_index_room(tr_index_t *ix, size_t n,
                         uint64_t (*hash_of)(const tr_recorder_t *, uint32_t),
                         const tr_recorder_t *rec)
{
    if ((n + 1) * 2 <= ix->cap)
        return 1;
    size_t cap = ix->cap ? ix->cap * 2 : TR_INDEX_MIN;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return 0;
    for (uint32_t id = 0; id < n; id++) {
        size_t i = (size_t)hash_of(rec, id) & (cap - 1);
        while (slot[i])
            i = (i + 1) & (cap - 1);
        slot[i] = id + 1;
    }
    free(ix->slot);
    ix->slot = slot;
    ix->cap = cap;
    return 1;
}

static int tr_str_is(const tr_recorder_t *rec, uint32_t id, const void *key)
{
    return strcmp(rec->strs[id].text, key) == 0;
}

static uint64_t tr_str_hash(const tr_recorder_t *rec, uint32_t id)
{
    return rec->strs[id].hash;
}

/* tr_intern past the pointer cache: by content through the index. */
static int tr_intern_slow(tr_recorder_t *rec, const char *s, tr_cached_t *c, uint32_t *id)
{
    size_t len = strlen(s);
    uint64_t h = tr_fnv1a(s, len);
    if (rec->nstrs >= TR_ID_MAX || !tr_index_room(&rec->str_index, rec->nstrs, tr_str_hash, rec))
        return 0;
    uint32_t *slot = tr_probe(&rec->str_index, h, tr_str_is, rec, s);
    if (*slot == 0) {
        const char *text;
        if (!tr_reserve((void **)&rec->strs, &rec->cap_strs, rec->nstrs + 1, sizeof *rec->strs) ||
            !(text = tr_copy(rec, s, len)))
            return 0;
        rec->strs[rec->nstrs] = (tr_str_t){text, h};
        *slot = (uint32_t)++rec->nstrs;
    }
    *id = *slot - 1;
    *c = (tr_cached_t){s, *id};
    return 1;
}

/* The id of string s, added if new; 0 when out of memory. A caller may
 * pass the same buffer with other text, so a cached pointer is confirmed
 * against the text it stood for. */
static inline int tr_intern(tr_recorder_t *rec, const char *s, uint32_t *id)
{
    if (!s)
        s = ""; /* as the JSON shows it */
    tr_cached_t *c = &rec->cache[((uintptr_t)s * 0x9e3779b97f4a7c15ULL) >> (64 - TR_PTR_BITS)];
    if (c->ptr == s && strcmp(rec->strs[c->id].text, s) == 0) {
        *id = c->id;
        return 1;
    }
    return tr_intern_slow(rec, s, c, id);
}

static uint64_t tr_pair_hash(tr_pair_t p)
{
    uint64_t x = (uint64_t)p.src << 32 | p.ev;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ x >> 29;
}

static int tr_kind_is(const tr_recorder_t *rec, uint32_t id, const void *key)
{
    const tr_pair_t *p = key;
    return rec->kinds[id].src == p->src && rec->kinds[id].ev == p->ev;
}

static uint64_t tr_kind_hash(const tr_recorder_t *rec, uint32_t id)
{
    return tr_pair_hash(rec->kinds[id]);
}

static int tr_kind_intern(tr_recorder_t *rec, tr_pair_t p, uint32_t *id)
{
    tr_cached_kind_t *c = &rec->kind_cache[(p.src * 31u + p.ev) & ((1u << TR_KIND_BITS) - 1)];
    if (c->used && c->src == p.src && c->ev == p.ev) {
        *id = c->kind;
        return 1;
    }
    if (!tr_index_room(&rec->kind_index, rec->nkinds, tr_kind_hash, rec))
        return 0;
    uint32_t *slot = tr_probe(&rec->kind_index, tr_pair_hash(p), tr_kind_is, rec, &p);
    if (*slot == 0) {
        if (!tr_reserve((void **)&rec->kinds, &rec->cap_kinds, rec->nkinds + 1, sizeof p))
            return 0;
        rec->kinds[rec->nkinds] = p;
        *slot = (uint32_t)++rec->nkinds;
    }
    *id = *slot - 1;
    *c = (tr_cached_kind_t){p.src, p.ev, *id, 1};
    return 1;
}

/* ---- recording ---------------------------------------------------------- */

/* Stores field f into *out and folds it into the event's hash h. */
static int tr_keep_field(tr_recorder_t *rec, const io_trace_field_t *f, tr_field_t *out,
                         uint64_t *h)
{
    uint32_t key, str;
    if (!tr_intern(rec, f->key, &key))
        return 0;
    *h = tr_word(*h, rec->strs[key].hash);
    if (f->str) {
        if (!tr_intern(rec, f->str, &str))
            return 0;
        *h = tr_word(tr_word(*h, 1), rec->strs[str].hash);
        *out = (tr_field_t){key << TR_TYPE_BITS | TR_STR, str};
        return 1;
    }
    *h = tr_word(tr_word(*h, 0), (uint64_t)f->num);
    if (f->num >= INT32_MIN && f->num <= INT32_MAX) {
        *out = (tr_field_t){key << TR_TYPE_BITS | TR_INT, (uint32_t)(int32_t)f->num};
        return 1;
    }
    if (rec->nbigs >= UINT32_MAX ||
        !tr_reserve((void **)&rec->bigs, &rec->cap_bigs, rec->nbigs + 1, sizeof *rec->bigs))
        return 0;
    rec->bigs[rec->nbigs] = f->num;
    *out = (tr_field_t){key << TR_TYPE_BITS | TR_BIG, (uint32_t)rec->nbigs++};
    return 1;
}

/* Appends the event; 0 when memory ran out (the event is then not counted). */
static int tr_keep(tr_recorder_t *rec, io_us_t wall_us, const char *src, const char *ev,
                   size_t nfields, const io_trace_field_t *fields)
{
    tr_pair_t p;
    uint32_t kind;
    if ((rec->nevents + 2 > rec->cap_events && !tr_reserve_event(rec)) ||
        rec->nfields + nfields >= UINT32_MAX ||
        !tr_reserve((void **)&rec->fields, &rec->cap_fields, rec->nfields + nfields,
                    sizeof *rec->fields) ||
        !tr_intern(rec, src, &p.src) || !tr_intern(rec, ev, &p.ev) ||
        !tr_kind_intern(rec, p, &kind))
        return 0;
    uint64_t h = tr_word(tr_word(tr_word(tr_word(TR_FNV_OFFSET, (uint64_t)wall_us),
                                         rec->strs[p.src].hash),
                                 rec->strs[p.ev].hash),
                         nfields);
    for (size_t i = 0; i < nfields; i++)
        if (!tr_keep_field(rec, &fields[i], &rec->fields[rec->nfields + i], &h))
            return 0;
    size_t n = rec->nevents++;
    rec->wall[n] = wall_us;
    rec->kind[n] = kind;
    rec->first[n] = (uint32_t)rec->nfields;
    rec->nfields += nfields;
    rec->first[n + 1] = (uint32_t)rec->nfields;
    rec->hash = tr_word(rec->hash, h);
    return 1;
}

void tr_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields)
{
    tr_recorder_t *rec = data;
    if (rec->ok && !tr_keep(rec, wall_us, src, ev, nfields, fields))
        rec->ok = 0;
}

/* ---- reading ------------------------------------------------------------ */

int tr_ok(const tr_recorder_t *rec)
{
    return rec->ok;
}

size_t tr_count(const tr_recorder_t *rec)
{
    return rec->nevents;
}

tr_event_t tr_event(const tr_recorder_t *rec, size_t i)
{
    tr_pair_t p = rec->kinds[rec->kind[i]];
    return (tr_event_t){rec->wall[i], rec->strs[p.src].text, rec->strs[p.ev].text,
                        rec->first[i + 1] - rec->first[i], rec, rec->first[i]};
}

io_us_t tr_wall(const tr_recorder_t *rec, size_t i)
{
    return rec->wall[i];
}

size_t tr_nkinds(const tr_recorder_t *rec)
{
    return rec->nkinds;
}

uint32_t tr_kind(const tr_recorder_t *rec, size_t i)
{
    return rec->kind[i];
}

const uint32_t *tr_kinds(const tr_recorder_t *rec)
{
    return rec->kind;
}

const char *tr_kind_src(const tr_recorder_t *rec, uint32_t kind)
{
    return rec->strs[rec->kinds[kind].src].text;
}

const char *tr_kind_ev(const tr_recorder_t *rec, uint32_t kind)
{
    return rec->strs[rec->kinds[kind].ev].text;
}

uint64_t tr_hash(const tr_recorder_t *rec)
{
    return rec->hash;
}

/* The field as io_trace passed it (the text of a TR_STR, else num). */
static io_trace_field_t tr_field_io(const tr_recorder_t *rec, const tr_field_t *f)
{
    const char *key = rec->strs[f->key >> TR_TYPE_BITS].text;
    switch ((enum tr_field_type)(f->key & ((1u << TR_TYPE_BITS) - 1))) {
    case TR_STR:
        return IO_TS(key, rec->strs[f->val].text);
    case TR_INT:
        return IO_TI(key, (int32_t)f->val);
    case TR_BIG:
        break;
    }
    return IO_TI(key, rec->bigs[f->val]);
}

const char *tr_field_text(const tr_event_t *e, const char *key, char buf[24])
{
    const tr_field_t *f = e->rec->fields + e->first_field;
    for (size_t i = 0; i < e->nfields; i++) {
        if (strcmp(e->rec->strs[f[i].key >> TR_TYPE_BITS].text, key) != 0)
            continue;
        io_trace_field_t v = tr_field_io(e->rec, &f[i]);
        if (v.str)
            return v.str;
        snprintf(buf, 24, "%" PRId64, v.num);
        return buf;
    }
    return NULL;
}

size_t tr_format(const tr_recorder_t *rec, size_t i, char *buf, size_t cap)
{
    tr_event_t e = tr_event(rec, i);
    io_trace_field_t stack[TR_FIELDS_ON_STACK];
    io_trace_field_t *f = e.nfields <= TR_FIELDS_ON_STACK ? stack : malloc(e.nfields * sizeof *f);
    if (!f)
        return SIZE_MAX;
    for (size_t k = 0; k < e.nfields; k++)
        f[k] = tr_field_io(rec, &rec->fields[e.first_field + k]);
    size_t n = io_trace_format_json(buf, cap, e.wall_us, e.src, e.ev, e.nfields,
                                    e.nfields ? f : NULL);
    if (f != stack)
        free(f);
    return n;
}

/* Event i's JSON line and '\n' appended to *text (grown as needed, with
 * room for a NUL after); 0 when out of memory. */
static int tr_append_line(const tr_recorder_t *rec, size_t i, char **text, size_t *len,
                          size_t *cap)
{
    size_t room = TR_LINE_FIRST;
    for (;;) {
        if (!tr_reserve((void **)text, cap, *len + room + 1, 1))
            return 0;
        size_t n = tr_format(rec, i, *text + *len, room);
        if (n == SIZE_MAX)
            return 0;
        if (n < room) {
            (*text)[*len + n] = '\n';
            *len += n + 1;
            return 1;
        }
        room = n + 1;
    }
}

char *tr_jsonl(const tr_recorder_t *rec, size_t *len)
{
    char *text = NULL;
    size_t cap = 0;
    *len = 0;
    for (size_t i = 0; i < rec->nevents; i++) {
        if (!tr_append_line(rec, i, &text, len, &cap)) {
            free(text);
            return NULL;
        }
    }
    if (!tr_reserve((void **)&text, &cap, *len + 1, 1)) {
        free(text);
        return NULL;
    }
    text[*len] = '\0';
    return text;
}

/* Writes every line to f, a line at a time; 0 on failure. */
static int tr_write_lines(const tr_recorder_t *rec, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int ok = 1;
    for (size_t i = 0; ok && i < rec->nevents; i++) {
        size_t len = 0;
        ok = tr_append_line(rec, i, &line, &len, &cap) && fwrite(line, 1, len, f) == len;
    }
    free(line);
    return ok;
}

static int tr_write_file(FILE *f, const void *rec)
{
    return !tr_write_lines(rec, f);
}

int tr_write(const tr_recorder_t *rec, const char *path, char *err, size_t errlen)
{
    return of_replace(path, tr_write_file, rec, err, errlen);
}
