/* io_base.c - the parts of io.h both backends share: the seeded random
 * source (splitmix64 seeding xoshiro256**), log and trace dispatch, the wall
 * time format and the JSON-lines trace format. Backend-neutral: it reaches
 * the loop's io_base_t through the first member of struct io_loop and asks
 * the backend only for io_wall_us(). */
#include "io_base.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A log line longer than this is cut and ends in "...". */
#define IO_LOG_LINE_MAX 1024

static io_base_t *io_base_of(io_loop_t *loop)
{
    return (io_base_t *)loop;
}

/* ---- random -------------------------------------------------------------- */

static uint64_t io_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void io_rng_seed(io_rng_t *rng, uint64_t seed)
{
    /* splitmix64 never yields four zero words, the one state xoshiro cannot
     * leave, whatever the seed. */
    uint64_t state = seed;
    for (size_t i = 0; i < 4; i++)
        rng->s[i] = io_splitmix64(&state);
}

uint64_t io_rng_upto(io_rng_t *rng, uint64_t span)
{
    uint64_t x = io_rng_next(rng);
    if (span == UINT64_MAX)
        return x;
    uint64_t n = span + 1;
    /* A power of two divides 2^64: every draw is kept, its low bits are the
     * value. */
    if ((n & span) == 0)
        return x & span;
    /* Draws below 2^64 mod n would make the low residues more likely than
     * the others; rejecting them leaves a whole number of copies of [0, n).
     * That bound is below n, so a draw of n or more (all but n in 2^64 of
     * them) is kept without the division that finds it. */
    if (x < n) {
        uint64_t reject_below = (0 - n) % n;
        while (x < reject_below)
            x = io_rng_next(rng);
    }
    return x % n;
}

void io_rng_span_prepare(io_rng_span_t *sp, uint64_t span)
{
    *sp = (io_rng_span_t){.span = span, .n = span + 1};
    if (span == UINT64_MAX || (sp->n & span) == 0)
        return; /* every draw is kept: the draw itself, or its low bits */
    uint64_t n = sp->n;
    sp->reject_below = (0 - n) % n;
    /* 2^l < n < 2^(l+1); m = floor(2^(64+l) / n) fits 64 bits. */
    unsigned l = 63u - (unsigned)__builtin_clzll(n);
    __extension__ unsigned __int128 num = (unsigned __int128)1 << (64 + l);
    uint64_t m = (uint64_t)(num / n), rem = (uint64_t)(num % n);
    if (n - rem < (UINT64_C(1) << l)) {
        sp->add = 0;
    } else {
        uint64_t twice_rem = rem + rem;
        m += m;
        if (twice_rem >= n || twice_rem < rem)
            m++;
        sp->add = 1;
    }
    sp->magic = m + 1;
    sp->shift = l;
}


uint64_t io_rng_redraw(io_rng_t *rng, const io_rng_span_t *sp)
{
    uint64_t x;
    do
        x = io_rng_next(rng);
    while (x < sp->reject_below);
    return x;
}

void io_base_init(io_base_t *base, uint64_t seed)
{
    memset(base, 0, sizeof *base);
    io_trace_room_none(&base->room);
    io_rng_seed(&base->rng, seed);
    base->log_level = IO_LOG_INFO;
    base->log_sink = io_base_stderr_sink;
}

uint64_t io_random_u64(io_loop_t *loop)
{
    return io_rng_next(&io_base_of(loop)->rng);
}

double io_random_unit(io_loop_t *loop)
{
    /* The top 53 bits fill a double's mantissa exactly. */
    return (double)(io_random_u64(loop) >> 11) * 0x1.0p-53;
}

int64_t io_random_range(io_loop_t *loop, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return (int64_t)((uint64_t)lo + io_rng_upto(&io_base_of(loop)->rng, (uint64_t)hi - (uint64_t)lo));
}

void io_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- errors -------------------------------------------------------------- */

const char *io_strerror(int code)
{
    switch (code) {
    case IO_OK: return "ok";
    case IO_ERR_REFUSED: return "connection refused";
    case IO_ERR_RESET: return "connection reset by peer";
    case IO_ERR_CLOSED: return "stream closed";
    case IO_ERR_NOMEM: return "out of memory";
    case IO_ERR_ADDR: return "bad or unresolvable address";
    case IO_ERR_INUSE: return "address already in use";
    case IO_ERR_TIMEDOUT: return "timed out";
    case IO_ERR_NOBUFS: return "output buffer limit reached";
    case IO_ERR_INVAL: return "invalid argument";
    case IO_ERR_SYS: return "system error";
    default: return "unknown io error";
    }
}

/* ---- logging ------------------------------------------------------------- */

void io_log(io_loop_t *loop, enum io_log_level level, const char *src, const char *fmt, ...)
{
    io_base_t *base = io_base_of(loop);
    if (!base->log_sink || level < base->log_level)
        return;
    char text[IO_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof text)
        memcpy(text + sizeof text - 4, "...", 4);
    base->log_sink(base->log_data, io_wall_us(loop), level, src ? src : "", text);
}

void io_set_log_sink(io_loop_t *loop, enum io_log_level min_level, io_log_sink sink, void *data)
{
    io_base_t *base = io_base_of(loop);
    base->log_level = min_level;
    base->log_sink = sink;
    base->log_data = data;
}

static const char *io_level_name(enum io_log_level level)
{
    switch (level) {
    case IO_LOG_DEBUG: return "DEBUG";
    case IO_LOG_INFO: return "INFO";
    case IO_LOG_WARN: return "WARN";
    case IO_LOG_ERROR: return "ERROR";
    }
    return "?";
}

void io_base_stderr_sink(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                         const char *text)
{
    (void)data;
    char when[32];
    io_format_wall(wall_us, when);
    fprintf(stderr, "%s %s %s: %s\n", when, io_level_name(level), src, text);
}

void io_format_wall(io_us_t wall_us, char buf[32])
{
    /* Floor division, so instants before 1970 keep a positive fraction. */
    io_us_t frac_us = wall_us % IO_US_PER_S;
    io_us_t secs = wall_us / IO_US_PER_S;
    if (frac_us < 0) {
        frac_us += IO_US_PER_S;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, 32, "@%" PRId64 "us", wall_us);
        return;
    }
    /* int64 microseconds reach year 294247 at most: always under 32 bytes,
     * but the compiler cannot tell, hence the wide scratch buffer. */
    char text[96];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac_us);
    size_t n = strnlen(text, 31);
    memcpy(buf, text, n);
    buf[n] = '\0';
}

/* ---- trace --------------------------------------------------------------- */

static void io_room_detach(io_base_t *base)
{
    if (base->room.owner)
        base->room.ops->detach(base->room.owner, &base->room);
}

/* An event io_trace_room_write wrote but did not keep, as a call: its
 * fields are taken out of the record first, as the sink may write where
 * it is, and the IO_TS values it marked get their num back. */
__attribute__((noinline)) static void io_trace_call(io_base_t *base, const io_trace_rec_t *rec)
{
    io_trace_field_t fields[IO_TRACE_ROOM_SLACK_FIELDS];
    size_t nfields = rec->meta & IO_TRACE_REC_NFIELDS;
    io_trace_rec_fields(rec, fields);
    for (size_t i = 0; i < nfields; i++)
        if ((rec->meta >> (IO_TRACE_REC_COPY + i)) & 1)
            fields[i].num = 0;
    io_us_t wall_us = rec->wall_us;
    const char *src = rec->src, *ev = rec->ev;
    if (base->trace_sink)
        base->trace_sink(base->trace_data, wall_us, src, ev, nfields, fields);
}

/* The event as a record in the sink's room, else as a call. */
static inline void io_trace_put(io_loop_t *loop, const char *src, const char *ev, size_t nfields,
                                const io_trace_field_t *fields)
{
    io_base_t *base = io_base_of(loop);
    io_us_t wall_us = io_wall_us(loop);
    if (nfields <= IO_TRACE_ROOM_SLACK_FIELDS) {
        const io_trace_rec_t *written =
            io_trace_room_write(&base->room, wall_us, src, ev, nfields, fields);
        if (written)
            io_trace_call(base, written);
    } else if (!io_trace_room_put(&base->room, wall_us, src, ev, nfields, fields) &&
               base->trace_sink) {
        base->trace_sink(base->trace_data, wall_us, src, ev, nfields, fields);
    }
}

void io_trace(io_loop_t *loop, const char *src, const char *ev, size_t nfields,
              const io_trace_field_t *fields)
{
    io_trace_put(loop, src, ev, nfields, fields);
}

static uint64_t io_name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/* The slot that holds text s, or the empty one where it would go. */
static char **io_name_slot(const io_names_t *t, const char *s)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)io_name_hash(s) & mask;; i = (i + 1) & mask)
        if (!t->slot[i] || strcmp(t->slot[i], s) == 0)
            return &t->slot[i];
}

/* Keeps the table under half full for one more name; 0 when out of memory. */
static int io_names_room(io_names_t *t)
{
    if ((t->n + 1) * 2 <= t->cap)
        return 1;
    io_names_t grown = {calloc(t->cap ? t->cap * 2 : 16, sizeof(char *)), 0, 0};
    if (!grown.slot)
        return 0;
    grown.cap = t->cap ? t->cap * 2 : 16;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i])
            *io_name_slot(&grown, t->slot[i]) = t->slot[i];
    grown.n = t->n;
    free(t->slot);
    *t = grown;
    return 1;
}

/* The loop's copy of name s, made on first sight; NULL when out of memory. */
static const char *io_name_keep(io_names_t *t, const char *s)
{
    if (!io_names_room(t))
        return NULL;
    char **slot = io_name_slot(t, s);
    if (!*slot) {
        size_t n = strlen(s) + 1;
        if (!(*slot = malloc(n)))
            return NULL;
        memcpy(*slot, s, n);
        t->n++;
    }
    return *slot;
}

void io_trace_named(io_loop_t *loop, const char *src, const char *ev, size_t nfields,
                    const io_trace_field_t *fields)
{
    io_base_t *base = io_base_of(loop);
    if (!base->trace_sink)
        return;
    const char *name = io_name_keep(&base->names, ev);
    if (!name) {
        io_log(loop, IO_LOG_ERROR, src, "trace event %s lost: out of memory", ev);
        return;
    }
    io_trace_put(loop, src, name, nfields, fields);
}

void io_base_free(io_base_t *base)
{
    io_room_detach(base);
    for (size_t i = 0; i < base->names.cap; i++)
        free(base->names.slot[i]);
    free(base->names.slot);
    base->names = (io_names_t){NULL, 0, 0};
}

void io_set_trace_room_sink(io_loop_t *loop, io_trace_sink sink, void *data,
                            const io_trace_rooms_t *ops)
{
    io_base_t *base = io_base_of(loop);
    io_room_detach(base);
    base->trace_sink = sink;
    base->trace_data = data;
    if (sink && ops) {
        base->room.ops = ops;
        ops->attach(data, &base->room);
    }
}

void io_set_trace_sink(io_loop_t *loop, io_trace_sink sink, void *data)
{
    io_set_trace_room_sink(loop, sink, data, NULL);
}

/* A bounded writer: counts every byte it is given, stores those that fit
 * with room left for the NUL, like snprintf. */
typedef struct io_json_out {
    char *buf;
    size_t cap;
    size_t len;
} io_json_out_t;

static void io_json_putc(io_json_out_t *out, char c)
{
    if (out->len + 1 < out->cap)
        out->buf[out->len] = c;
    out->len++;
}

static void io_json_raw(io_json_out_t *out, const char *s)
{
    for (; *s; s++)
        io_json_putc(out, *s);
}

static void io_json_string(io_json_out_t *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    io_json_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            io_json_putc(out, '\\');
            io_json_putc(out, (char)*p);
        } else if (*p < 0x20) {
            io_json_raw(out, "\\u00");
            io_json_putc(out, hex[*p >> 4]);
            io_json_putc(out, hex[*p & 0xf]);
        } else {
            io_json_putc(out, (char)*p);
        }
    }
    io_json_putc(out, '"');
}

static void io_json_member(io_json_out_t *out, const char *key)
{
    io_json_putc(out, ',');
    io_json_string(out, key);
    io_json_putc(out, ':');
}

size_t io_trace_format_json(char *buf, size_t cap, io_us_t wall_us, const char *src,
                            const char *ev, size_t nfields, const io_trace_field_t *fields)
{
    io_json_out_t out = {buf, cap, 0};
    char when[32];
    io_format_wall(wall_us, when);
    io_json_raw(&out, "{\"t\":");
    io_json_string(&out, when);
    io_json_member(&out, "src");
    io_json_string(&out, src);
    io_json_member(&out, "ev");
    io_json_string(&out, ev);
    for (size_t i = 0; i < nfields; i++) {
        io_json_member(&out, fields[i].key);
        if (fields[i].str) {
            io_json_string(&out, fields[i].str);
        } else {
            char num[24];
            snprintf(num, sizeof num, "%" PRId64, fields[i].num);
            io_json_raw(&out, num);
        }
    }
    io_json_putc(&out, '}');
    if (cap > 0)
        buf[out.len < cap ? out.len : cap - 1] = '\0';
    return out.len;
}
