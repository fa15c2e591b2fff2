/* trace.c - the trace recorder (see trace.h).
 *
 * A year of trace is over a million events, so recording one must cost
 * little time and few bytes. An event is a few 32-bit words (trace.h: its
 * kind, its time since the event before, one word per field) appended to
 * blocks that never move, so growing copies nothing and touches only the
 * pages it fills; a checkpoint every 64 events makes event i reachable
 * without an index per event. Its kind (src, ev, and the keys and types of
 * the fields) is found through a cache keyed by the ev pointer: io.h
 * promises that src, ev and keys stay put while the loop lives, so those
 * are compared by address alone. String values are kept by content (an id
 * per distinct text, found through a cache by pointer, which an IO_TS
 * value confirms against the text and an IO_TK value need not). JSON is
 * rendered only on demand. */
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
#define TR_BLOCK_WORDS ((size_t)1 << 18) /* 1 MiB of event words */
#define TR_MARK_BITS 6                   /* a checkpoint every 2^6 events */
#define TR_PTR_BITS 10                   /* the value cache has 2^10 slots */
#define TR_SHAPE_BITS 9                  /* the kind cache has 2^9 slots */
#define TR_SHAPE_KEYS 6                  /* fields a cached kind compares by address */
#define TR_INDEX_MIN 64
#define TR_FIELDS_ON_STACK 16
#define TR_LINE_FIRST 256
#define TR_OBSERVE_EVERY 4096 /* events between two calls of the observer */

/* A kind's key word: the key's string id, shifted, and what its field's
 * word holds. */
enum tr_field_type { TR_STR = 0, TR_INT = 1, TR_BIG = 2 };
#define TR_TYPE_BITS 2
#define TR_TYPE_MASK ((1u << TR_TYPE_BITS) - 1)
#define TR_ID_MAX (UINT32_MAX >> TR_TYPE_BITS)

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

typedef struct tr_kind_info {
    uint64_t hsrc, hev; /* the string hashes, for the event hash */
    uint32_t src, ev;   /* string ids */
    uint32_t first_key; /* its width() key words start at keys[first_key] */
    size_t count;
} tr_kind_info_t;

/* The value cache: a pointer and the id of the text it held. */
typedef struct tr_cached {
    const char *ptr;
    uint32_t id;
    int kept; /* cached from an IO_TK value: the text at ptr never changes */
} tr_cached_t;

/* The kind cache: the pointers an event of the kind came with. */
typedef struct tr_shape {
    const char *ev, *src;
    const char *keys[TR_SHAPE_KEYS];
    size_t nfields; /* > TR_SHAPE_KEYS: an empty slot */
    uint32_t kind;
} tr_shape_t;

/* Open addressing; a slot holds id + 1, 0 is empty. */
typedef struct tr_index {
    uint32_t *slot;
    size_t cap; /* a power of two, or 0 */
} tr_index_t;

typedef struct tr_block {
    uint32_t *words;
    uint32_t *end; /* past its last event's words, once the next block began */
} tr_block_t;

/* Where event (k << TR_MARK_BITS) starts, and the time of the one before. */
typedef struct tr_mark {
    uint32_t block, off;
    io_us_t prev_wall;
} tr_mark_t;

/* A kind being looked up: its string ids and key words. */
typedef struct tr_shape_key {
    uint32_t src, ev;
    size_t nfields;
    const uint32_t *keys;
} tr_shape_key_t;

struct tr_recorder {
    tr_chunk_t *chunks; /* the newest first */
    tr_str_t *strs;
    size_t nstrs, cap_strs;
    tr_index_t str_index;
    tr_cached_t cache[1u << TR_PTR_BITS];
    tr_kind_info_t *kinds;
    uint32_t *width; /* per kind: its field count */
    size_t nkinds, cap_kinds, cap_width;
    uint32_t *keys;     /* the kinds' key words */
    uint64_t *key_hash; /* the hash of each key word's string */
    size_t nkeys, cap_keys, cap_key_hash;
    uint32_t *scratch; /* the key words of the event being looked up */
    size_t cap_scratch;
    tr_index_t kind_index;
    tr_shape_t shapes[1u << TR_SHAPE_BITS];
    tr_block_t *blocks;
    size_t nblocks, cap_blocks;
    uint32_t *wp, *wend; /* the free words of the last block */
    tr_mark_t *marks;
    size_t cap_marks;
    size_t nevents;
    io_us_t last_wall;
    int64_t *bigs; /* integers beyond int32 */
    size_t nbigs, cap_bigs;
    uint64_t hash;
    int ok;
    void (*observer)(void *data); /* tr_observe */
    void *observer_data;
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
static inline uint64_t tr_word(uint64_t h, uint64_t w)
{
    return (h ^ w) * TR_FNV_PRIME;
}

tr_recorder_t *tr_new(void)
{
    tr_recorder_t *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    rec->hash = TR_FNV_OFFSET;
    rec->ok = 1;
    for (size_t i = 0; i < sizeof rec->shapes / sizeof rec->shapes[0]; i++)
        rec->shapes[i].nfields = SIZE_MAX;
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
    for (size_t b = 0; b < rec->nblocks; b++)
        free(rec->blocks[b].words);
    free(rec->blocks);
    free(rec->marks);
    free(rec->strs);
    free(rec->str_index.slot);
    free(rec->kinds);
    free(rec->width);
    free(rec->keys);
    free(rec->key_hash);
    free(rec->scratch);
    free(rec->kind_index.slot);
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

/* The id of text s (NULL reads as "", as the JSON shows it), added if
 * new; 0 when out of memory. */
static int tr_intern_text(tr_recorder_t *rec, const char *s, uint32_t *id)
{
    if (!s)
        s = "";
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
    return 1;
}

static inline size_t tr_ptr_slot(const void *p, unsigned bits)
{
    return (size_t)(((uintptr_t)p * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* The id of the text s of string field f, whose emitter passed it at
 * address at (s itself, or where the text was before tr_record's caller
 * copied it). An IO_TK text never changes, so its address is enough; any
 * other caller may pass the same buffer with other text, so a cached
 * address is confirmed against the text it stood for. */
static inline int tr_intern(tr_recorder_t *rec, const char *str, int kept, const char *at,
                            uint32_t *id)
{
    tr_cached_t *c = &rec->cache[tr_ptr_slot(at, TR_PTR_BITS)];
    if (c->ptr == at && (kept ? c->kept : strcmp(rec->strs[c->id].text, str) == 0)) {
        *id = c->id;
        return 1;
    }
    if (!tr_intern_text(rec, str, id))
        return 0;
    *c = (tr_cached_t){at, *id, kept};
    return 1;
}

static enum tr_field_type tr_type_of(const io_trace_field_t *f)
{
    if (f->str)
        return TR_STR;
    return f->num >= INT32_MIN && f->num <= INT32_MAX ? TR_INT : TR_BIG;
}

static uint64_t tr_shape_hash(const tr_shape_key_t *k)
{
    uint64_t h = tr_word(tr_word(tr_word(TR_FNV_OFFSET, k->src), k->ev), k->nfields);
    for (size_t i = 0; i < k->nfields; i++)
        h = tr_word(h, k->keys[i]);
    return h ^ h >> 29;
}

static tr_shape_key_t tr_kind_key(const tr_recorder_t *rec, uint32_t id)
{
    const tr_kind_info_t *k = &rec->kinds[id];
    return (tr_shape_key_t){k->src, k->ev, rec->width[id], rec->keys + k->first_key};
}

static int tr_kind_is(const tr_recorder_t *rec, uint32_t id, const void *key)
{
    const tr_shape_key_t *p = key, k = tr_kind_key(rec, id);
    return k.src == p->src && k.ev == p->ev && k.nfields == p->nfields &&
           memcmp(k.keys, p->keys, k.nfields * sizeof *k.keys) == 0;
}

static uint64_t tr_kind_hash(const tr_recorder_t *rec, uint32_t id)
{
    tr_shape_key_t k = tr_kind_key(rec, id);
    return tr_shape_hash(&k);
}

/* Adds kind p (its key words in rec->scratch) as the next id. */
static int tr_kind_add(tr_recorder_t *rec, const tr_shape_key_t *p)
{
    size_t n = p->nfields;
    if (rec->nkinds >= UINT32_MAX || rec->nkeys + n >= UINT32_MAX ||
        !tr_reserve((void **)&rec->kinds, &rec->cap_kinds, rec->nkinds + 1, sizeof *rec->kinds) ||
        !tr_reserve((void **)&rec->width, &rec->cap_width, rec->nkinds + 1, sizeof *rec->width) ||
        !tr_reserve((void **)&rec->keys, &rec->cap_keys, rec->nkeys + n, sizeof *rec->keys) ||
        !tr_reserve((void **)&rec->key_hash, &rec->cap_key_hash, rec->nkeys + n,
                    sizeof *rec->key_hash))
        return 0;
    for (size_t i = 0; i < n; i++) {
        rec->keys[rec->nkeys + i] = p->keys[i];
        rec->key_hash[rec->nkeys + i] = rec->strs[p->keys[i] >> TR_TYPE_BITS].hash;
    }
    rec->kinds[rec->nkinds] = (tr_kind_info_t){rec->strs[p->src].hash, rec->strs[p->ev].hash,
                                               p->src, p->ev, (uint32_t)rec->nkeys, 0};
    rec->width[rec->nkinds] = (uint32_t)n;
    rec->nkeys += n;
    rec->nkinds++;
    return 1;
}

/* The kind of an event past the cache: by content through the index; the
 * cache slot c then remembers the event's pointers. */
static __attribute__((noinline)) int tr_kind_slow(tr_recorder_t *rec, const char *src,
                                                  const char *ev, size_t nfields,
                                                  const io_trace_field_t *fields, tr_shape_t *c,
                                                  uint32_t *kind)
{
    tr_shape_key_t p = {0, 0, nfields, NULL};
    if (!tr_intern_text(rec, src, &p.src) || !tr_intern_text(rec, ev, &p.ev) ||
        !tr_reserve((void **)&rec->scratch, &rec->cap_scratch, nfields, sizeof *rec->scratch))
        return 0;
    for (size_t i = 0; i < nfields; i++) {
        uint32_t key;
        if (!tr_intern_text(rec, fields[i].key, &key))
            return 0;
        rec->scratch[i] = key << TR_TYPE_BITS | tr_type_of(&fields[i]);
    }
    p.keys = rec->scratch;
    if (!tr_index_room(&rec->kind_index, rec->nkinds, tr_kind_hash, rec))
        return 0;
    uint32_t *slot = tr_probe(&rec->kind_index, tr_shape_hash(&p), tr_kind_is, rec, &p);
    if (*slot == 0) {
        if (!tr_kind_add(rec, &p))
            return 0;
        *slot = (uint32_t)rec->nkinds;
    }
    *kind = *slot - 1;
    if (nfields <= TR_SHAPE_KEYS) {
        *c = (tr_shape_t){.ev = ev, .src = src, .nfields = nfields, .kind = *kind};
        for (size_t i = 0; i < nfields; i++)
            c->keys[i] = fields[i].key;
    }
    return 1;
}

/* ---- recording ---------------------------------------------------------- */

/* Starts a block with room for need words. */
static int tr_block_new(tr_recorder_t *rec, size_t need)
{
    size_t cap = need > TR_BLOCK_WORDS ? need : TR_BLOCK_WORDS;
    uint32_t *words;
    if (!tr_reserve((void **)&rec->blocks, &rec->cap_blocks, rec->nblocks + 1,
                    sizeof *rec->blocks) ||
        !(words = malloc(cap * sizeof *words)))
        return 0;
    if (rec->nblocks)
        rec->blocks[rec->nblocks - 1].end = rec->wp;
    rec->blocks[rec->nblocks++] = (tr_block_t){words, NULL};
    rec->wp = words;
    rec->wend = words + cap;
    return 1;
}

/* Room for an event of nfields fields, and the checkpoint when it begins a
 * run of 64: where it starts and the time of the one before. */
static int tr_room(tr_recorder_t *rec, size_t nfields)
{
    if ((size_t)(rec->wend - rec->wp) < 4 + nfields && !tr_block_new(rec, 4 + nfields))
        return 0;
    if (rec->nevents & ((1u << TR_MARK_BITS) - 1))
        return 1;
    size_t m = rec->nevents >> TR_MARK_BITS;
    if (!tr_reserve((void **)&rec->marks, &rec->cap_marks, m + 1, sizeof *rec->marks))
        return 0;
    tr_block_t *b = &rec->blocks[rec->nblocks - 1];
    rec->marks[m] = (tr_mark_t){(uint32_t)(rec->nblocks - 1), (uint32_t)(rec->wp - b->words),
                                rec->last_wall};
    return 1;
}

/* Appends the event as kind `kind`: 1, 0 when memory ran out, -1 when a
 * field's key is not keys[i] (the pointers the kind was cached with; NULL:
 * known to match) or its type is not the kind's. Nothing counts until it
 * returns 1. */
/* Field i of an event given either way: as io_trace_field_t (fields), or
 * as the fields of a record the loop kept (kept, io_base.h; every string
 * an IO_TK one). Inline with a constant way, so each caller reads its own
 * layout directly. */
typedef struct tr_fields_in {
    const io_trace_field_t *fields;
    const io_trace_rec_field_t *kept;
    uint64_t strs; /* kept: bit i set when field i is a string */
} tr_fields_in_t;

static inline __attribute__((always_inline)) void
tr_field_in(const tr_fields_in_t *in, size_t i, const char **key, const char **str, int64_t *num)
{
    if (in->kept) {
        const io_trace_rec_field_t *f = &in->kept[i];
        int is_str = (int)(in->strs >> i) & 1;
        *key = f->key;
        *str = is_str ? (const char *)(uintptr_t)f->word : NULL;
        *num = is_str ? IO_TRACE_KEPT : (int64_t)f->word;
        return;
    }
    *key = in->fields[i].key;
    *str = in->fields[i].str;
    *num = in->fields[i].num;
}

static inline __attribute__((always_inline)) int
tr_put(tr_recorder_t *rec, uint32_t kind, const char *const *keys, io_us_t wall_us,
       size_t nfields, const tr_fields_in_t *in, const char *const *str_at)
{
    tr_kind_info_t *k = &rec->kinds[kind];
    const uint32_t *key_words = rec->keys + k->first_key;
    const uint64_t *key_hash = rec->key_hash + k->first_key;
    uint32_t *w = rec->wp, *v = w + 2;
    uint64_t dt = (uint64_t)wall_us - (uint64_t)rec->last_wall;
    uint64_t h = tr_word(tr_word(tr_word(tr_word(TR_FNV_OFFSET, (uint64_t)wall_us), k->hsrc),
                                 k->hev),
                         nfields);
    w[0] = kind;
    if (dt < TR_FAR) {
        w[1] = (uint32_t)dt;
    } else {
        w[1] = TR_FAR;
        w[2] = (uint32_t)(uint64_t)wall_us;
        w[3] = (uint32_t)((uint64_t)wall_us >> 32);
        v = w + 4;
    }
    for (size_t i = 0; i < nfields; i++) {
        const char *key, *str;
        int64_t num;
        tr_field_in(in, i, &key, &str, &num);
        uint32_t type = key_words[i] & TR_TYPE_MASK;
        if (keys && key != keys[i])
            return -1;
        h = tr_word(h, key_hash[i]);
        if (str) {
            if (type != TR_STR)
                return -1;
            if (!tr_intern(rec, str, num == IO_TRACE_KEPT, str_at ? str_at[i] : str, &v[i]))
                return 0;
            h = tr_word(tr_word(h, 1), rec->strs[v[i]].hash);
            continue;
        }
        h = tr_word(tr_word(h, 0), (uint64_t)num);
        if ((uint64_t)num - (uint64_t)INT32_MIN <= UINT32_MAX) {
            if (type != TR_INT)
                return -1;
            v[i] = (uint32_t)num;
            continue;
        }
        if (type != TR_BIG)
            return -1;
        if (rec->nbigs >= UINT32_MAX ||
            !tr_reserve((void **)&rec->bigs, &rec->cap_bigs, rec->nbigs + 1, sizeof *rec->bigs))
            return 0;
        rec->bigs[rec->nbigs] = num;
        v[i] = (uint32_t)rec->nbigs++;
    }
    rec->wp = v + nfields;
    rec->last_wall = wall_us;
    k->count++;
    rec->nevents++;
    rec->hash = tr_word(rec->hash, h);
    return 1;
}

/* Appends the event; 0 when memory ran out (the event is then not counted).
 * str_at: see tr_record. */
static int tr_keep(tr_recorder_t *rec, io_us_t wall_us, const char *src, const char *ev,
                   size_t nfields, const io_trace_field_t *fields, const char *const *str_at)
{
    if (!ev)
        ev = "";
    tr_shape_t *c = &rec->shapes[tr_ptr_slot(ev, TR_SHAPE_BITS)];
    if (!tr_room(rec, nfields))
        return 0;
    /* io.h: src, ev and keys never change while the loop lives, so their
     * addresses name them. */
    int cached = c->ev == ev && c->src == src && c->nfields == nfields;
    uint32_t kind = c->kind;
    const char *const *keys = c->keys;
    tr_fields_in_t in = {fields, NULL, 0};
    for (;;) {
        if (!cached) {
            if (!tr_kind_slow(rec, src, ev, nfields, fields, c, &kind))
                return 0;
            keys = NULL;
        }
        int rc = tr_put(rec, kind, keys, wall_us, nfields, &in, str_at);
        if (rc >= 0)
            return rc;
        cached = 0; /* the same pointers, other types: the slow path has it */
    }
}

/* tr_keep for a record the loop kept: most are of a cached kind, fit the
 * block and need no checkpoint, and are read where they are; any other
 * takes tr_keep's way, its fields given back as the event gave them. */
static int tr_keep_kept(tr_recorder_t *rec, const io_trace_rec_t *r)
{
    size_t nfields = r->meta & IO_TRACE_REC_NFIELDS;
    const char *ev = r->ev ? r->ev : "";
    const tr_shape_t *c = &rec->shapes[tr_ptr_slot(ev, TR_SHAPE_BITS)];
    if (c->ev == ev && c->src == r->src && c->nfields == nfields &&
        (rec->nevents & ((1u << TR_MARK_BITS) - 1)) &&
        (size_t)(rec->wend - rec->wp) >= 4 + nfields) {
        tr_fields_in_t in = {NULL, (const io_trace_rec_field_t *)(r + 1),
                             (r->meta >> IO_TRACE_REC_STR) & 0xffff};
        int rc = tr_put(rec, c->kind, c->keys, r->wall_us, nfields, &in, NULL);
        if (rc >= 0)
            return rc;
    }
    io_trace_field_t fields[IO_TRACE_REC_FIELDS_MAX];
    io_trace_rec_fields(r, fields);
    return tr_keep(rec, r->wall_us, r->src, r->ev, nfields, fields, NULL);
}

void tr_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields)
{
    tr_record(data, wall_us, src, ev, nfields, fields, NULL);
}

/* After an event was given: kept is what keeping it returned (0: out of
 * memory, the recorder is incomplete); then the observer's turn. */
static inline void tr_given(tr_recorder_t *rec, int kept)
{
    rec->ok = kept;
    if (kept && !(rec->nevents & (TR_OBSERVE_EVERY - 1)) && rec->observer)
        rec->observer(rec->observer_data);
}

void tr_record(tr_recorder_t *rec, io_us_t wall_us, const char *src, const char *ev,
               size_t nfields, const io_trace_field_t *fields, const char *const *str_at)
{
    if (rec->ok)
        tr_given(rec, tr_keep(rec, wall_us, src, ev, nfields, fields, str_at));
}

void tr_record_kept(tr_recorder_t *rec, const io_trace_rec_t *r)
{
    if (rec->ok)
        tr_given(rec, tr_keep_kept(rec, r));
}

void tr_observe(tr_recorder_t *rec, void (*observer)(void *data), void *data)
{
    rec->observer = observer;
    rec->observer_data = data;
}

/* Marks the recorder incomplete (tr_ok): an event was lost before it. */
void tr_lost(tr_recorder_t *rec)
{
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

size_t tr_nkinds(const tr_recorder_t *rec)
{
    return rec->nkinds;
}

const char *tr_kind_src(const tr_recorder_t *rec, uint32_t kind)
{
    return rec->strs[rec->kinds[kind].src].text;
}

const char *tr_kind_ev(const tr_recorder_t *rec, uint32_t kind)
{
    return rec->strs[rec->kinds[kind].ev].text;
}

size_t tr_kind_count(const tr_recorder_t *rec, uint32_t kind)
{
    return rec->kinds[kind].count;
}

static const uint32_t *tr_block_end(const tr_recorder_t *rec, size_t b)
{
    return b + 1 == rec->nblocks ? rec->wp : rec->blocks[b].end;
}

void tr_cursor_enter_block(tr_cursor_t *c)
{
    c->block++;
    c->at = c->rec->blocks[c->block].words;
    c->end = tr_block_end(c->rec, c->block);
}

tr_cursor_t tr_cursor(const tr_recorder_t *rec, size_t i)
{
    tr_cursor_t c = {.i = rec->nevents, .rec = rec, .n = rec->nevents, .width = rec->width};
    if (i >= rec->nevents)
        return c;
    const tr_mark_t *m = &rec->marks[i >> TR_MARK_BITS];
    c.i = i & ~(size_t)((1u << TR_MARK_BITS) - 1);
    c.block = m->block;
    c.at = rec->blocks[m->block].words + m->off;
    c.end = tr_block_end(rec, m->block);
    c.wall_us = m->prev_wall;
    tr_cursor_decode(&c);
    while (c.i < i)
        tr_next(&c);
    return c;
}

tr_event_t tr_cursor_event(const tr_cursor_t *c)
{
    const tr_recorder_t *rec = c->rec;
    const tr_kind_info_t *k = &rec->kinds[c->kind];
    size_t n = rec->width[c->kind];
    return (tr_event_t){c->wall_us, rec->strs[k->src].text, rec->strs[k->ev].text, n, rec,
                        c->kind, c->at + c->size - n};
}

tr_event_t tr_event(const tr_recorder_t *rec, size_t i)
{
    tr_cursor_t c = tr_cursor(rec, i);
    return tr_cursor_event(&c);
}

uint64_t tr_hash(const tr_recorder_t *rec)
{
    return rec->hash;
}

/* Field i of e as io_trace passed it (the text of a TR_STR, else num). */
static io_trace_field_t tr_field_io(const tr_event_t *e, size_t i)
{
    const tr_recorder_t *rec = e->rec;
    uint32_t key = rec->keys[rec->kinds[e->kind].first_key + i];
    const char *name = rec->strs[key >> TR_TYPE_BITS].text;
    switch ((enum tr_field_type)(key & TR_TYPE_MASK)) {
    case TR_STR:
        return IO_TS(name, rec->strs[e->vals[i]].text);
    case TR_INT:
        return IO_TI(name, (int32_t)e->vals[i]);
    case TR_BIG:
        break;
    }
    return IO_TI(name, rec->bigs[e->vals[i]]);
}

const char *tr_field_text(const tr_event_t *e, const char *key, char buf[24])
{
    const tr_recorder_t *rec = e->rec;
    const uint32_t *keys = rec->keys + rec->kinds[e->kind].first_key;
    for (size_t i = 0; i < e->nfields; i++) {
        if (strcmp(rec->strs[keys[i] >> TR_TYPE_BITS].text, key) != 0)
            continue;
        io_trace_field_t v = tr_field_io(e, i);
        if (v.str)
            return v.str;
        snprintf(buf, 24, "%" PRId64, v.num);
        return buf;
    }
    return NULL;
}

/* The event at c as tr_format renders it. */
static size_t tr_format_at(const tr_cursor_t *c, char *buf, size_t cap)
{
    tr_event_t e = tr_cursor_event(c);
    io_trace_field_t stack[TR_FIELDS_ON_STACK];
    io_trace_field_t *f = e.nfields <= TR_FIELDS_ON_STACK ? stack : malloc(e.nfields * sizeof *f);
    if (!f)
        return SIZE_MAX;
    for (size_t k = 0; k < e.nfields; k++)
        f[k] = tr_field_io(&e, k);
    size_t n = io_trace_format_json(buf, cap, e.wall_us, e.src, e.ev, e.nfields,
                                    e.nfields ? f : NULL);
    if (f != stack)
        free(f);
    return n;
}

size_t tr_format(const tr_recorder_t *rec, size_t i, char *buf, size_t cap)
{
    tr_cursor_t c = tr_cursor(rec, i);
    return tr_format_at(&c, buf, cap);
}

/* The JSON line of the event at c and '\n' appended to *text (grown as
 * needed, with room for a NUL after); 0 when out of memory. */
static int tr_append_line(const tr_cursor_t *c, char **text, size_t *len, size_t *cap)
{
    size_t room = TR_LINE_FIRST;
    for (;;) {
        if (!tr_reserve((void **)text, cap, *len + room + 1, 1))
            return 0;
        size_t n = tr_format_at(c, *text + *len, room);
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
    for (tr_cursor_t c = tr_cursor(rec, 0); c.i < c.n; tr_next(&c)) {
        if (!tr_append_line(&c, &text, len, &cap)) {
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
    for (tr_cursor_t c = tr_cursor(rec, 0); ok && c.i < c.n; tr_next(&c)) {
        size_t len = 0;
        ok = tr_append_line(&c, &line, &len, &cap) && fwrite(line, 1, len, f) == len;
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
