/* io_base.h - what both io backends share: the seeded random source, log and
 * trace dispatch, and the one JSON-lines trace format.
 *
 * Each backend's struct io_loop starts with an io_base_t member named `base`,
 * so io_base.c can reach it from an io_loop_t pointer. Not for the cores:
 * only io/ and sim/io_sim.c include this header. */
#ifndef IO_BASE_H
#define IO_BASE_H

#include "io.h"

/* xoshiro256** seeded through splitmix64: io_random_* draw from the loop's
 * own stream, and io_sim keeps a second one for the network's choices. */
typedef struct io_rng {
    uint64_t s[4];
} io_rng_t;

void io_rng_seed(io_rng_t *rng, uint64_t seed);

static inline uint64_t io_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The value io_rng_next will return, without drawing it. */
static inline uint64_t io_rng_peek(const io_rng_t *rng)
{
    return io_rotl(rng->s[1] * 5, 7) * 9;
}

/* Inline: the simulated network draws once per write. */
static inline uint64_t io_rng_next(io_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = io_rng_peek(rng);
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = io_rotl(s[3], 45);
    return result;
}
/* Uniform in [0, span], unbiased (rejection sampling). */
uint64_t io_rng_upto(io_rng_t *rng, uint64_t span);

/* A span prepared once for many draws (the simulated network's jitter):
 * io_rng_upto_span gives the values, and consumes the draws, that
 * io_rng_upto gives for the same span, with the division by span + 1 done
 * as a multiply by a precomputed reciprocal (Granlund and Montgomery's
 * method, exact for every 64-bit draw): a 64-bit division costs tens of
 * cycles, and the network draws one per write. */
typedef struct io_rng_span {
    uint64_t span, n;      /* n = span + 1 */
    uint64_t reject_below; /* draws below it are drawn again */
    uint64_t magic;        /* the reciprocal's low 64 bits */
    unsigned shift;
    int add; /* the reciprocal needs 65 bits: the add-and-shift form */
} io_rng_span_t;

void io_rng_span_prepare(io_rng_span_t *sp, uint64_t span);

/* How io_rng_span_mod reduces for a span: a caller drawing many values
 * for one span picks the way once (io_rng_span_way) and passes it as a
 * constant, so that the reduction has no branch left. */
enum io_rng_span_way {
    IO_SPAN_ALL,   /* span UINT64_MAX: the draw itself */
    IO_SPAN_MASK,  /* span + 1 a power of two: the low bits */
    IO_SPAN_MUL,   /* the reciprocal's multiply */
    IO_SPAN_MUL_ADD /* the same, add-and-shift form */
};

static inline enum io_rng_span_way io_rng_span_way(const io_rng_span_t *sp)
{
    if (sp->span == UINT64_MAX)
        return IO_SPAN_ALL;
    if ((sp->n & sp->span) == 0)
        return IO_SPAN_MASK;
    return sp->add ? IO_SPAN_MUL_ADD : IO_SPAN_MUL;
}

/* x % (span + 1), for any x, the span's way given. */
static inline uint64_t io_rng_span_mod_way(const io_rng_span_t *sp, uint64_t x,
                                           enum io_rng_span_way way)
{
    if (way == IO_SPAN_ALL)
        return x;
    if (way == IO_SPAN_MASK)
        return x & sp->span;
    __extension__ uint64_t q = (uint64_t)(((unsigned __int128)sp->magic * x) >> 64);
    q = way == IO_SPAN_MUL_ADD ? (((x - q) >> 1) + q) >> sp->shift : q >> sp->shift;
    return x - q * sp->n;
}

/* x % (span + 1), for any x. */
static inline uint64_t io_rng_span_mod(const io_rng_span_t *sp, uint64_t x)
{
    return io_rng_span_mod_way(sp, x, io_rng_span_way(sp));
}

/* The draws after one below sp->reject_below, until one is not; out of
 * line, as it almost never runs and would cost its callers registers. */
uint64_t io_rng_redraw(io_rng_t *rng, const io_rng_span_t *sp);

static inline uint64_t io_rng_upto_span(io_rng_t *rng, const io_rng_span_t *sp)
{
    uint64_t x = io_rng_next(rng);
    if (__builtin_expect(x < sp->reject_below, 0))
        x = io_rng_redraw(rng, sp);
    return io_rng_span_mod(sp, x);
}

/* Writes a printf-formatted detail into a caller's err buffer (NULL ok).
 * The one helper of this header the scenario engine uses as well. */
void io_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- trace records -------------------------------------------------------
 * A sink may take most events as records io_trace writes straight into its
 * memory, without a call per event (the simulator's trace pipe,
 * sim/tracepipe.h: a million events a year, where the call and the sink's
 * copy cost more than the rest of an event). A record is an io_trace_rec_t
 * followed by its nfields fields as io_trace_rec_field_t; records follow
 * each other with no gap. Only an event of at most IO_TRACE_REC_FIELDS_MAX
 * fields whose string values all outlive the loop (IO_TK), and that fits
 * the room left, is written so; any other reaches the sink as a call,
 * which may also find the room a new place.
 *
 * A field is its key and one word, the text's address or the integer, its
 * kind a bit of meta: 16 bytes instead of an io_trace_field_t's 24, as the
 * records cross to the sink's thread (io_trace_rec_fields gives them
 * back). Pointers and integers alternate, header and fields alike: two
 * constant pointers side by side (src and ev, a key and an IO_TK text)
 * would be paired into one vector store, which takes two more
 * instructions at an IO_TRACE site than two stores. */
typedef struct io_trace_rec {
    const char *src;
    io_us_t wall_us;
    const char *ev;
    uint64_t meta; /* nfields, a string bit per field, and the sink's bits */
} io_trace_rec_t;

typedef struct io_trace_rec_field {
    const char *key;
    uint64_t word; /* the text's address (the field's meta bit IO_TRACE_REC_STR
                      set), else the integer */
} io_trace_rec_field_t;

#define IO_TRACE_REC_FIELDS_MAX 16 /* fields a record holds at most */
#define IO_TRACE_REC_NFIELDS 0xffffu /* the meta bits that hold nfields */
#define IO_TRACE_REC_STR 16  /* meta bit IO_TRACE_REC_STR + i: field i is a string */
#define IO_TRACE_REC_COPY 32 /* meta bit IO_TRACE_REC_COPY + i: field i is an IO_TS
                                value (only in a record written but not kept) */
/* The meta bits left to the sink: none of them is set in a record the loop
 * keeps, so a sink may mark records it writes itself, laid out its own way. */
#define IO_TRACE_REC_SINK_BITS (~(uint64_t)0 << 48)

/* The fields of a record the loop kept, as the event gave them (out holds
 * nfields; string values are IO_TK ones, num IO_TRACE_KEPT). A record of
 * integers only (half of a year's: a health check's ping and ping_ok) is
 * a plain copy; else no branch on the kind, which follows no pattern from
 * field to field: the word masked. */
static inline void io_trace_rec_fields(const io_trace_rec_t *rec, io_trace_field_t *out)
{
    const io_trace_rec_field_t *f = (const io_trace_rec_field_t *)(rec + 1);
    size_t nfields = rec->meta & IO_TRACE_REC_NFIELDS;
    uint64_t strs = (rec->meta >> IO_TRACE_REC_STR) & 0xffff;
    if (!strs) {
        for (size_t i = 0; i < nfields; i++)
            out[i] = (io_trace_field_t){f[i].key, NULL, (int64_t)f[i].word};
        return;
    }
    for (size_t i = 0; i < nfields; i++, strs >>= 1) {
        uint64_t str = 0 - (strs & 1), word = f[i].word;
        out[i].key = f[i].key;
        out[i].str = (const char *)(uintptr_t)(word & str);
        out[i].num = (int64_t)((word & ~str) | (str & IO_TRACE_KEPT));
    }
}

/* Whether field f is an IO_TS value, whose text a sink that keeps it copies. */
static inline int io_trace_copied(const io_trace_field_t *f)
{
    return f->str && f->num != IO_TRACE_KEPT;
}

/* Writes the event as a record at rec, nfields <= IO_TRACE_REC_FIELDS_MAX;
 * returns its meta, with IO_TRACE_REC_COPY bits where a value needs a copy
 * (then the record must not be kept). Inline, so that at an IO_TRACE call
 * site the meta of constant fields folds to a constant. */
static inline uint64_t io_trace_rec_fill(io_trace_rec_t *rec, io_us_t wall_us, const char *src,
                                         const char *ev, size_t nfields,
                                         const io_trace_field_t *fields)
{
    io_trace_rec_field_t *out = (io_trace_rec_field_t *)(rec + 1);
    uint64_t meta = nfields;
    for (size_t i = 0; i < nfields; i++) {
        const char *str = fields[i].str;
        out[i].key = fields[i].key;
        out[i].word = str ? (uint64_t)(uintptr_t)str : (uint64_t)fields[i].num;
        meta |= (uint64_t)(str != NULL) << (IO_TRACE_REC_STR + i) |
                (uint64_t)io_trace_copied(&fields[i]) << (IO_TRACE_REC_COPY + i);
    }
    *rec = (io_trace_rec_t){src, wall_us, ev, meta};
    return meta;
}

/* io_trace writes an event of up to IO_TRACE_ROOM_SLACK_FIELDS fields
 * before it checks that it fits: a room keeps IO_TRACE_ROOM_SLACK bytes
 * writable past w, whatever end says. */
#define IO_TRACE_ROOM_SLACK_FIELDS 6
_Static_assert(IO_TRACE_ROOM_SLACK_FIELDS <= IO_TRACE_REC_FIELDS_MAX, "a slack record is a record");
#define IO_TRACE_ROOM_SLACK \
    (sizeof(io_trace_rec_t) + IO_TRACE_ROOM_SLACK_FIELDS * sizeof(io_trace_rec_field_t))

/* The room a sink gave the loop: [w, end), w moving up as records land,
 * and IO_TRACE_ROOM_SLACK bytes writable from w. Without room, w and end
 * are `none` (io_trace_room_none), so a room is never copied. */
typedef struct io_trace_room {
    unsigned char *w, *end;
    void *owner; /* the sink data it belongs to; NULL: the loop has none */
    const struct io_trace_rooms *ops;
    _Alignas(8) unsigned char none[IO_TRACE_ROOM_SLACK]; /* what is written without room */
} io_trace_room_t;

/* Makes room empty: no record fits, the slack is `none`. */
static inline void io_trace_room_none(io_trace_room_t *room)
{
    room->w = room->end = room->none;
}

/* What a sink that gives room does: io_set_trace_sink installing the sink
 * calls attach, which sets room->owner to data and gives room its room
 * (with the slack past end); replacing the sink or freeing the loop calls
 * detach, after which the loop writes nothing there (detach leaves room
 * owner-less and empty). A sink that stops first detaches itself. */
typedef struct io_trace_rooms {
    void (*attach)(void *data, io_trace_room_t *room);
    void (*detach)(void *data, io_trace_room_t *room);
} io_trace_rooms_t;

/* io_set_trace_sink for a sink that gives room through ops (NULL: one
 * that does not, which is io_set_trace_sink itself). ops must outlive the
 * sink's use. */
void io_set_trace_room_sink(io_loop_t *loop, io_trace_sink sink, void *data,
                            const io_trace_rooms_t *ops);

/* Writes the event as a record into room if it fits and needs no copy:
 * 1, else 0 with room unchanged. Any nfields (more than
 * IO_TRACE_REC_FIELDS_MAX: 0); leaves the slack alone. Copies are looked
 * for first: this is the way of the sink's calls, most of which bring
 * IO_TS values. */
static inline int io_trace_room_put(io_trace_room_t *room, io_us_t wall_us, const char *src,
                                    const char *ev, size_t nfields,
                                    const io_trace_field_t *fields)
{
    size_t size = sizeof(io_trace_rec_t) + nfields * sizeof(io_trace_rec_field_t);
    /* As integers: a loop without room has two NULLs, not one array. */
    if (nfields > IO_TRACE_REC_FIELDS_MAX || (uintptr_t)room->end - (uintptr_t)room->w < size)
        return 0;
    for (size_t i = 0; i < nfields; i++)
        if (io_trace_copied(&fields[i]))
            return 0;
    io_trace_rec_fill((io_trace_rec_t *)(void *)room->w, wall_us, src, ev, nfields, fields);
    room->w += size;
    return 1;
}

/* io_trace's way in, for nfields <= IO_TRACE_ROOM_SLACK_FIELDS: writes the
 * record at w first (the slack takes it), then keeps it if it fits and
 * needs no copy. NULL when kept, else the record as written, for the
 * sink (io_trace_rec_fields). Inline: at an IO_TRACE call site the fields
 * then go straight into the room, the checks of constant fields fold away
 * and the compound literal is never built. */
static inline const io_trace_rec_t *io_trace_room_write(io_trace_room_t *room, io_us_t wall_us,
                                                        const char *src, const char *ev,
                                                        size_t nfields,
                                                        const io_trace_field_t *fields)
{
    io_trace_rec_t *rec = (io_trace_rec_t *)(void *)room->w;
    uint64_t meta = io_trace_rec_fill(rec, wall_us, src, ev, nfields, fields);
    /* Within the slack, so w + size points into the block (or none): it
     * is kept if it ends by end. */
    unsigned char *next = room->w + sizeof *rec + nfields * sizeof(io_trace_rec_field_t);
    if (meta >> IO_TRACE_REC_COPY || next > room->end)
        return rec;
    room->w = next;
    return NULL;
}

/* The event names io_trace_named copied: open addressing over their
 * texts, each malloc'd once and kept until io_base_free. */
typedef struct io_names {
    char **slot;
    size_t cap, n; /* cap: a power of two, or 0 */
} io_names_t;

typedef struct io_base {
    io_rng_t rng;
    enum io_log_level log_level;
    io_log_sink log_sink;
    void *log_data;
    io_trace_sink trace_sink;
    void *trace_data;
    io_trace_room_t room; /* the trace sink's room, when it gives one */
    io_names_t names;
} io_base_t;

/* Seeds the random source (splitmix64 → xoshiro256**) and installs the
 * default log sink (io_base_stderr_sink at IO_LOG_INFO), no trace sink. */
void io_base_init(io_base_t *base, uint64_t seed);
/* Frees what the base allocated (the copied event names) and detaches the
 * trace sink's room; the backends' io_loop_free calls it. */
void io_base_free(io_base_t *base);

/* Writes "2025-12-10T14:25:00.000000Z" (27 chars + NUL) into buf. */
void io_format_wall(io_us_t wall_us, char buf[32]);

/* The log sink that writes "<time> <LEVEL> <src>: <text>\n" to stderr. */
void io_base_stderr_sink(void *data, io_us_t wall_us, enum io_log_level level,
                         const char *src, const char *text);

/* Formats one trace event as a JSON object on one line, with the fields in
 * this order: t, src, ev, then the event's fields as given. Strings are
 * JSON-escaped. Returns the length written (excluding NUL), truncating
 * safely to cap; a return >= cap means the line was cut. */
size_t io_trace_format_json(char *buf, size_t cap, io_us_t wall_us, const char *src,
                            const char *ev, size_t nfields, const io_trace_field_t *fields);

#endif
