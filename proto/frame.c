/* frame.c - the incremental frame decoder and the frame writer.
 *
 * The decoder keeps fed bytes in one buffer and hands out frames that point
 * into it, so a frame is never copied; drain goes further and hands out the
 * whole frames of a delivery in place, buffering only what is left over.
 * Consumed bytes are dropped lazily: the buffer is reset for free whenever
 * everything fed has been returned, and the unread tail is moved to the
 * front only when that leaves at least half the buffer free; otherwise the
 * buffer doubles. Either way each byte is moved a bounded number of times,
 * whatever the chunk sizes. */
#include "frame.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define DECODER_CAP_MIN ((size_t)16384)
#define WRITER_CAP_MIN ((size_t)256)

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- decoder ------------------------------------------------------------ */

void proto_decoder_init(proto_decoder_t *d)
{
    memset(d, 0, sizeof *d);
}

void proto_decoder_free(proto_decoder_t *d)
{
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* Makes room for len more bytes after d->end. */
static int decoder_make_room(proto_decoder_t *d, size_t len)
{
    size_t live = d->end - d->start;
    if (d->cap - d->end >= len)
        return 0;
    if (len > SIZE_MAX / 4 - live)
        return PROTO_ERR_NOMEM;
    size_t need = live + len;
    if (need <= d->cap / 2) {
        memmove(d->buf, d->buf + d->start, live);
    } else {
        size_t cap = d->cap * 2 > DECODER_CAP_MIN ? d->cap * 2 : DECODER_CAP_MIN;
        if (cap < need)
            cap = need;
        /* A fresh buffer rather than realloc: only the live tail is copied. */
        uint8_t *buf = malloc(cap);
        if (!buf)
            return PROTO_ERR_NOMEM;
        if (live > 0)
            memcpy(buf, d->buf + d->start, live);
        free(d->buf);
        d->buf = buf;
        d->cap = cap;
    }
    d->start = 0;
    d->end = live;
    return 0;
}

int proto_decoder_feed(proto_decoder_t *d, const uint8_t *data, size_t len)
{
    /* A failed stream cannot be resynchronised, so more bytes are useless;
     * the bad frame stays buffered so that next() can name it again. */
    if (d->failed || len == 0)
        return 0;
    if (d->start == d->end) {
        d->start = 0;
        d->end = 0;
    }
    int rc = decoder_make_room(d, len);
    if (rc < 0)
        return rc;
    memcpy(d->buf + d->end, data, len);
    d->end += len;
    return 0;
}

int proto_decoder_next(proto_decoder_t *d, proto_frame_t *out, char *err, size_t errlen)
{
    size_t avail = d->end - d->start;
    if (avail < PROTO_FRAME_PREFIX)
        return 0;
    const uint8_t *p = d->buf + d->start;
    uint32_t len = proto_frame_len_get(p);
    if (len == 0 || len > PROTO_LEN_MAX) {
        proto_errf(err, errlen, "byte offset %" PRIu64 ": frame length %" PRIu32
                   " is %s", d->consumed, len, len == 0 ? "zero" : "above 16777215");
        d->failed = PROTO_ERR_LENGTH;
        return PROTO_ERR_LENGTH;
    }
    if (avail - PROTO_FRAME_PREFIX < len)
        return 0;
    if (p[PROTO_FRAME_PREFIX + len - 1] != 0) {
        proto_errf(err, errlen, "byte offset %" PRIu64 ": payload of %" PRIu32
                   " bytes does not end in NUL", d->consumed, len);
        d->failed = PROTO_ERR_FRAME;
        return PROTO_ERR_FRAME;
    }
    out->payload = p + PROTO_FRAME_PREFIX;
    out->len = len;
    out->offset = d->consumed;
    d->start += PROTO_FRAME_PREFIX + len;
    d->consumed += PROTO_FRAME_PREFIX + len;
    return 1;
}

size_t proto_decoder_buffered(const proto_decoder_t *d)
{
    return d->end - d->start;
}

/* Also where anything the inline part cannot hand out in place goes -
 * bytes already buffered, an incomplete or a bad frame: feed and next keep
 * a bad frame buffered, so that next names it again. */
int proto_decoder_drain_buffered(proto_decoder_t *d, const uint8_t *data, size_t len,
                                 proto_frame_handler_t handler, void *ctx, char *err,
                                 size_t errlen)
{
    int rc = proto_decoder_feed(d, data, len);
    if (rc < 0)
        return rc;
    for (;;) {
        proto_frame_t f;
        rc = proto_decoder_next(d, &f, err, errlen);
        if (rc <= 0 || handler(ctx, &f) != PROTO_DRAIN_NEXT)
            return rc < 0 ? rc : 0;
    }
}

/* ---- writer ------------------------------------------------------------- */

void proto_writer_init(proto_writer_t *w)
{
    memset(w, 0, sizeof *w);
}

void proto_writer_free(proto_writer_t *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void proto_writer_reset(proto_writer_t *w)
{
    w->len = 0;
    w->frame_start = 0;
    w->in_frame = 0;
    w->error = 0;
}

static void writer_fail(proto_writer_t *w, int code)
{
    if (!w->error)
        w->error = code;
}

/* The slow half of writer_reserve: the writer failed, or must grow. */
static int writer_grow(proto_writer_t *w, size_t n)
{
    if (w->error)
        return w->error;
    if (n > SIZE_MAX / 4 - w->len) {
        writer_fail(w, PROTO_ERR_NOMEM);
        return w->error;
    }
    size_t cap = w->cap ? w->cap : WRITER_CAP_MIN;
    while (cap - w->len < n)
        cap *= 2;
    uint8_t *buf = realloc(w->buf, cap);
    if (!buf) {
        writer_fail(w, PROTO_ERR_NOMEM);
        return w->error;
    }
    w->buf = buf;
    w->cap = cap;
    return 0;
}

/* Room for n more bytes: 0, or the writer's sticky error. Inlined into
 * every put, where the field nearly always fits. */
static inline int writer_reserve(proto_writer_t *w, size_t n)
{
    if (__builtin_expect(w->error == 0 && w->cap - w->len >= n, 1))
        return 0;
    return writer_grow(w, n);
}

void proto_put_raw(proto_writer_t *w, const void *data, size_t len)
{
    if (len == 0 || writer_reserve(w, len) < 0)
        return;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
}

/* Frames do not nest: a second begin, or an end without a begin, is a
 * caller bug that leaves the buffer unusable, so it becomes the sticky
 * PROTO_ERR_FRAME. */
void proto_frame_begin(proto_writer_t *w)
{
    if (w->in_frame) {
        writer_fail(w, PROTO_ERR_FRAME);
        return;
    }
    w->in_frame = 1;
    w->frame_start = w->len;
    if (writer_reserve(w, PROTO_FRAME_PREFIX) < 0)
        return;
    memset(w->buf + w->len, 0, PROTO_FRAME_PREFIX);
    w->len += PROTO_FRAME_PREFIX;
}

int proto_frame_end(proto_writer_t *w)
{
    if (!w->in_frame)
        writer_fail(w, PROTO_ERR_FRAME);
    w->in_frame = 0;
    if (w->error)
        return w->error;
    size_t len = w->len - w->frame_start - PROTO_FRAME_PREFIX;
    if (len == 0 || len > PROTO_LEN_MAX) {
        /* Drop the frame so the buffer never holds one a peer must reject. */
        w->len = w->frame_start;
        writer_fail(w, PROTO_ERR_LENGTH);
        return w->error;
    }
    be32_put(w->buf + w->frame_start, (uint32_t)len);
    return 0;
}

void proto_put_str(proto_writer_t *w, const char *s)
{
    if (!s)
        s = "";
    proto_put_raw(w, s, strlen(s) + 1);
}

/* The integer writer's pieces are inlined whole: a call would cost the fast
 * path a stack frame. */
#define WRITER_HOT __attribute__((always_inline)) static inline

/* Two ASCII digits of every n < 100, at 2n. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* The 8 decimal digits of v < 10^8, leading zeros included, as digit
 * values (not yet ASCII) in one word whose lowest byte is the first digit.
 * Each step splits every lane in two at once, by multiply-shifts exact for
 * the lane's range: 10^4 (v * 109951163 >> 40 is v / 10^4 for v < 10^8,
 * checked for every v, and one 64-bit multiply where v / 10000 would take
 * a 128-bit one), then 100 and 10 (n * 10486 >> 20 is n / 100 for
 * n < 10^4, n * 103 >> 10 is n / 10 for n < 100). The quotient q goes in
 * the low half of each lane and the remainder, x - d * q, above it: that
 * is x << s plus q * (1 - (d << s)), one multiply by a small constant
 * (the sum wraps on the way but every lane of the result is in range). */
WRITER_HOT uint64_t eight_digit_values(uint64_t v)
{
    uint64_t hi = v * 109951163 >> 40;
    uint64_t x = hi | (v - hi * 10000) << 32;
    uint64_t q = (x * 10486 >> 20) & 0x0000007F0000007Full;
    x = (x << 16) + q * (uint64_t)(1 - (100 << 16));
    q = (x * 103 >> 10) & 0x000F000F000F000Full;
    return (x << 8) + q * (uint64_t)(1 - (10 << 8));
}

/* Stores the word's bytes lowest first, as a little-endian load read them. */
WRITER_HOT void store_le64(char *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(p, &x, 8);
}

#define ASCII_ZEROS 0x3030303030303030ull

/* The digits of 0 < v < 10^8 at p, without leading zeros; returns their
 * end. Stores 8 bytes whatever the length: p must have 8 bytes of room. */
WRITER_HOT char *u64_put_short(char *p, uint64_t v)
{
    uint64_t d = eight_digit_values(v);
    int lead = __builtin_ctzll(d) >> 3; /* leading zeros are the low zero bytes */
    store_le64(p, (d + ASCII_ZEROS) >> (lead * 8));
    return p + 8 - lead;
}

/* The one or two digits of v < 100 at p; returns their end. */
WRITER_HOT char *u64_put_tiny(char *p, uint64_t v)
{
    if (v < 10) {
        *p = (char)('0' + v);
        return p + 1;
    }
    memcpy(p, digit_pairs + v * 2, 2);
    return p + 2;
}

/* The 11 to 20 digits of v >= 10^10 at p, as u64_put; out of line, as
 * only large ids and volumes have them. */
__attribute__((noinline)) static char *u64_put_long(char *p, uint64_t v)
{
    uint64_t low = v % 100000000;
    v /= 100000000;
    if (v < 100000000) {
        p = u64_put_short(p, v);
    } else {
        p = u64_put_short(p, v / 100000000); /* at most 1844 */
        store_le64(p, eight_digit_values(v % 100000000) + ASCII_ZEROS);
        p += 8;
    }
    store_le64(p, eight_digit_values(low) + ASCII_ZEROS);
    return p + 8;
}

/* The decimal digits of v at p; returns their end. Up to 20 digits, and p
 * must have room for 8 bytes past the last one on the way: callers leave
 * 21 bytes (a sign, 20 digits) of room in all. Frames are mostly integers,
 * and snprintf costs ten times this. */
WRITER_HOT char *u64_put(char *p, uint64_t v)
{
    if (v < 100) /* versions, flags, message ids: most integers */
        return u64_put_tiny(p, v);
    if (v < 100000000)
        return u64_put_short(p, v);
    if (v >= 10000000000)
        return u64_put_long(p, v);
    /* Unix times: 9 or 10 digits. 10^8 = 2^8 * 390625, v >> 8 < 39062500,
     * and n * 90071993 >> 45 is n / 390625 for every such n (checked), so
     * this is v / 10^8 by one 64-bit multiply instead of a 128-bit one. */
    uint64_t hi = (v >> 8) * 90071993 >> 45;
    p = u64_put_tiny(p, hi);
    store_le64(p, eight_digit_values(v - hi * 100000000) + ASCII_ZEROS);
    return p + 8;
}

/* The text and its NUL at p, which has the room; returns their end. */
WRITER_HOT char *int_text_put(char *p, int64_t v)
{
    /* The magnitude in unsigned arithmetic, where INT64_MIN has one. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        *p++ = '-';
    p = u64_put(p, mag);
    *p++ = '\0';
    return p;
}

/* The text, once the room is there. */
WRITER_HOT void put_int_text(proto_writer_t *w, int64_t v)
{
    char *p = int_text_put((char *)w->buf + w->len, v);
    w->len = (size_t)((uint8_t *)p - w->buf);
}

/* The writer must grow, or has failed. Never inlined: proto_put_int's fast
 * path then needs no stack frame, and reaches this as a tail call. */
__attribute__((noinline)) static void put_int_grown(proto_writer_t *w, int64_t v)
{
    if (writer_grow(w, PROTO_INT_TEXT_MAX) == 0)
        put_int_text(w, v);
}

/* "%" PRId64, without printf, straight into the buffer. */
void proto_put_int(proto_writer_t *w, int64_t v)
{
    if (__builtin_expect(w->error != 0 || w->cap - w->len < PROTO_INT_TEXT_MAX, 0)) {
        put_int_grown(w, v);
        return;
    }
    put_int_text(w, v);
}

int proto_frame_id_value_put(uint8_t *buf, int id, int64_t v)
{
    char *p = (char *)buf + PROTO_FRAME_PREFIX;
    if (__builtin_expect(id >= 0 && id < 100, 1)) {
        /* "d\0" "1\0" or "dd\0" "1\0", lowest byte first, in one word. */
        int wide = id >= 10;
        uint64_t digits = wide ? (uint64_t)(uint8_t)digit_pairs[id * 2] |
                                     (uint64_t)(uint8_t)digit_pairs[id * 2 + 1] << 8
                               : (uint64_t)('0' + id);
        store_le64(p, digits | (uint64_t)'1' << (16 + 8 * wide));
        p += 4 + wide;
    } else {
        p = int_text_put(p, id);
        p = int_text_put(p, 1);
    }
    p = int_text_put(p, v);
    int len = (int)((uint8_t *)p - buf);
    be32_put(buf, (uint32_t)len - PROTO_FRAME_PREFIX);
    return len;
}

/* The values kept cover 10^4: a kept frame's last four digits are whole. */
#define ID_VALUE_MEMO_SPAN 10000

void proto_id_value_memo_init(proto_id_value_memo_t *m)
{
    memset(m, 0, sizeof *m);
}

/* The frame written whole and kept. Never inlined: the rewrite of four
 * digits then needs no registers saved. */
__attribute__((noinline)) static int id_value_memo_keep(proto_id_value_memo_t *m, int id,
                                                        int64_t v)
{
    m->len = proto_frame_id_value_put(m->frame, id, v);
    m->id = id;
    /* Not kept near INT64_MAX either: base + r would pass it, and the
     * unsigned difference would take INT64_MIN and its like for values
     * just above base. */
    m->base = v >= ID_VALUE_MEMO_SPAN && v <= INT64_MAX - ID_VALUE_MEMO_SPAN
                  ? v - v % ID_VALUE_MEMO_SPAN
                  : 0;
    return m->len;
}

int proto_frame_id_value_memo(proto_id_value_memo_t *m, int id, int64_t v)
{
    /* Unsigned: any v, however far from base, is a plain difference. A
     * kept base is at least ID_VALUE_MEMO_SPAN, so 0 never matches. */
    uint64_t r = (uint64_t)v - (uint64_t)m->base;
    if (__builtin_expect(r >= ID_VALUE_MEMO_SPAN || id != m->id || m->base == 0, 0))
        return id_value_memo_keep(m, id, v);
    uint64_t hi = r * 5243 >> 19; /* r / 100 for every r < 43699 */
    char *p = (char *)m->frame + m->len - 5;
    memcpy(p, digit_pairs + hi * 2, 2);
    memcpy(p + 2, digit_pairs + (r - hi * 100) * 2, 2);
    return m->len;
}

#define DOUBLE_FAST_DECIMALS 9
#define DOUBLE_TEXT_MAX 32 /* room for any double's text and its NUL */

/* k / 10^d as %g writes it (no exponent, trailing zeros and a bare point
 * dropped) for 0 < k < 10^8 and d < 8, from k's eight digits in one word:
 * the 8 - d whole digits less their leading zeros (one kept: "0.5"), then
 * the point and the d decimals less their trailing zeros, each an 8-byte
 * store. p needs 18 bytes of room; returns the text's end. */
static char *decimal_put_short(char *p, uint64_t k, int d)
{
    uint64_t digits = eight_digit_values(k);
    uint64_t text = digits + ASCII_ZEROS;
    int whole = 8 - d;
    int lead = __builtin_ctzll(digits) >> 3; /* leading zeros are the low zero bytes */
    if (lead > whole - 1)
        lead = whole - 1;
    store_le64(p, text >> (lead * 8));
    p += whole - lead;
    int trail = __builtin_clzll(digits) >> 3; /* trailing zeros, the high ones */
    if (trail >= d)
        return p; /* no decimal left (d = 0 included): no point either */
    *p = '.';
    store_le64(p + 1, text >> (whole * 8));
    return p + 1 + d - trail;
}

/* The same text for any k < 10^15 and d <= DOUBLE_FAST_DECIMALS (unit is
 * 10^d); p needs 21 bytes of room past the sign (u64_put). */
static char *decimal_put(char *p, uint64_t k, int d, uint64_t unit)
{
    p = u64_put(p, k / unit);
    if (d > 0) {
        uint64_t frac = k % unit;
        *p++ = '.';
        for (int i = d - 1; i >= 0; i--, frac /= 10)
            p[i] = (char)('0' + frac % 10);
        p += d;
        while (p[-1] == '0')
            p--; /* %g drops trailing zeros, and the point with them */
        if (p[-1] == '.')
            p--;
    }
    return p;
}

/* The text "%.15g" gives for v when v is the double nearest some decimal
 * k / 10^d of at most 15 significant digits (prices, sizes, -1), without
 * printf: by the definition of DBL_DIG, printing 15 digits of that double
 * gives back exactly that decimal, which then also survives the round trip
 * double_text checks. Only values %g writes without an exponent
 * (1e-4 <= |v| < 1e15) qualify; -0 and everything else return 0; else
 * the text's length, its NUL not counted. */
static size_t double_text_decimal(double v, char text[DOUBLE_TEXT_MAX])
{
    static const double pow10[DOUBLE_FAST_DECIMALS + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                           1e5, 1e6, 1e7, 1e8, 1e9};
    double mag = fabs(v);
    if (!(mag >= 1e-4 && mag < 1e15))
        return 0;
    for (int d = 0; d <= DOUBLE_FAST_DECIMALS; d++) {
        double scaled = mag * pow10[d];
        if (scaled >= 1e15)
            return 0;
        /* k and 10^d are exact doubles, so k / 10^d is the nearest double
         * to the decimal: equality means v is that decimal's double (the
         * rounding only has to find k, the test proves it). Signed: below
         * 10^15 it is the same k, converted without the unsigned checks. */
        int64_t k = (int64_t)(scaled + 0.5);
        if ((double)k / pow10[d] != mag)
            continue;
        char *p = text;
        if (v < 0)
            *p++ = '-';
        if (k < 100000000 && d < 8)
            p = decimal_put_short(p, (uint64_t)k, d);
        else
            p = decimal_put(p, (uint64_t)k, d, (uint64_t)pow10[d]);
        *p = '\0';
        return (size_t)(p - text);
    }
    return 0;
}

/* Java's spellings for the values clients compare against: DBL_MAX is the
 * "unset" marker and must read back as exactly DBL_MAX everywhere. Other
 * values get the fewest significant digits that survive a round trip. For a
 * normal double, printing 15 digits gives back any decimal of 15 digits or
 * fewer, so the search starts there; subnormals hold fewer digits. */
static size_t double_text(double v, char text[DOUBLE_TEXT_MAX])
{
    size_t n = double_text_decimal(v, text);
    if (n) {
        return n;
    } else if (isnan(v)) {
        strcpy(text, "NaN");
    } else if (isinf(v)) {
        strcpy(text, v > 0 ? "Infinity" : "-Infinity");
    } else if (fabs(v) == DBL_MAX) {
        strcpy(text, v > 0 ? "1.7976931348623157E308" : "-1.7976931348623157E308");
    } else {
        for (int digits = fabs(v) < DBL_MIN ? 1 : 15; digits <= 17; digits++) {
            /* The loop keeps digits <= 17; the clamp shows gcc the text fits. */
            snprintf(text, DOUBLE_TEXT_MAX, "%.*g", digits < 17 ? digits : 17, v);
            if (strtod(text, NULL) == v)
                break;
        }
    }
    return strlen(text);
}

/* Written in place, the room for any text reserved first: a bar has six
 * doubles, and a copy through the stack cost a third of the field. */
void proto_put_double(proto_writer_t *w, double v)
{
    if (writer_reserve(w, DOUBLE_TEXT_MAX) < 0)
        return;
    w->len += double_text(v, (char *)w->buf + w->len) + 1;
}

void proto_put_bool(proto_writer_t *w, int v)
{
    proto_put_str(w, v ? "1" : "0");
}

void proto_put_empty(proto_writer_t *w)
{
    proto_put_str(w, "");
}
