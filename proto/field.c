/* field.c - the typed reader over one frame's NUL-terminated fields.
 *
 * Every read first finds the field's terminating NUL inside the frame, so
 * the number parsers below (strtod included) only ever see text that ends
 * in a NUL within the payload. A read that fails leaves the reader where it
 * was, so a caller may retry the field as another type. */
#include "field.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* 2^127-1, the official Python client's "unset" decimal. */
#define DECIMAL_UNSET_TEXT "170141183460469231731687303715884105727"

enum number_status { NUMBER_OK = 0, NUMBER_BAD = -1, NUMBER_RANGE = -2 };

void proto_reader_init(proto_reader_t *r, const proto_frame_t *f)
{
    r->p = (const char *)f->payload;
    r->len = f->len;
    r->pos = 0;
    r->index = 0;
}

/* Inlined into every read: finding the field's end is most of its work. */
#define FIELD_HOT __attribute__((always_inline)) static inline

#ifdef __SSE2__
/* Bit i set when s[i] is NUL, for the 16 bytes at s. */
FIELD_HOT unsigned nul_mask16(const char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
}
#endif

/* Bit i set when s[i] is NUL, for the next 16 bytes from s, or the *width
 * < 16 bytes left before end; [base, end) is the whole frame. Fields are
 * mostly a few bytes long, too short for memchr's setup to pay off: this
 * tests 16 bytes at a time, and for the last few bytes of a frame it tests
 * the frame's last 16 bytes, which lie inside the frame too, so nothing is
 * ever loaded from outside [base, end). s < end. */
FIELD_HOT unsigned nul_mask(const char *base, const char *s, const char *end, size_t *width)
{
    size_t left = (size_t)(end - s);
#ifdef __SSE2__
    if (left >= 16) {
        *width = 16;
        return nul_mask16(s);
    }
    *width = left;
    if (end - base >= 16)
        return nul_mask16(end - 16) >> (16 - left); /* drop bytes before s */
#else
    (void)base;
    if (left > 16)
        left = 16;
    *width = left;
#endif
    unsigned mask = 0;
    for (size_t i = 0; i < left; i++)
        mask |= (unsigned)(s[i] == '\0') << i;
    return mask;
}

/* The first NUL in [s, end), or NULL. */
FIELD_HOT const char *find_nul(const char *base, const char *s, const char *end)
{
    size_t width;
    for (; s < end; s += width) {
        unsigned mask = nul_mask(base, s, end, &width);
        if (mask)
            return s + __builtin_ctz(mask);
    }
    return NULL;
}

FIELD_HOT int bit_count(unsigned mask)
{
    int n = 0;
    for (; mask; mask &= mask - 1)
        n++;
    return n;
}

/* Every NUL ends a field; an unterminated tail still counts (reading it
 * fails). */
int proto_reader_remaining(const proto_reader_t *r)
{
    const char *s = r->p + r->pos, *end = r->p + r->len;
    if (s >= end)
        return 0;
    int n = end[-1] != '\0';
#ifdef __SSE2__
    /* Whole blocks first: a NUL compares to -1, so subtracting the
     * comparisons counts NULs per byte lane; at most 255 blocks a round, so
     * no lane wraps, then psadbw adds the lanes up. */
    __m128i zero = _mm_setzero_si128();
    while (end - s >= 16) {
        size_t blocks = (size_t)(end - s) / 16;
        __m128i lanes = zero;
        for (blocks = blocks < 255 ? blocks : 255; blocks > 0; blocks--, s += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
            lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(v, zero));
        }
        __m128i sums = _mm_sad_epu8(lanes, zero);
        n += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
    }
#endif
    size_t width;
    for (; s < end; s += width)
        n += bit_count(nul_mask(r->p, s, end, &width));
    return n;
}

/* Finds the next field, without consuming it. */
FIELD_HOT int reader_peek(const proto_reader_t *r, const char **s, size_t *n, char *err,
                          size_t errlen)
{
    if (r->pos >= r->len) {
        proto_errf(err, errlen, "field %d: missing (the message has %d fields)", r->index,
                   r->index);
        return PROTO_ERR_MISSING;
    }
    const char *start = r->p + r->pos;
    const char *nul = find_nul(r->p, start, r->p + r->len);
    if (!nul) {
        proto_errf(err, errlen, "field %d: not NUL-terminated", r->index);
        return PROTO_ERR_FIELD;
    }
    *s = start;
    *n = (size_t)(nul - start);
    return 0;
}

FIELD_HOT void reader_advance(proto_reader_t *r, size_t n)
{
    r->pos += n + 1;
    r->index++;
}

static int field_error(const proto_reader_t *r, const char *expected, const char *s, size_t n,
                       int status, char *err, size_t errlen)
{
    char quoted[176];
    proto_errf(err, errlen, "field %d: expected %s, got \"%s\"%s", r->index, expected,
               proto_quote(quoted, sizeof quoted, s, n),
               status == NUMBER_RANGE ? " (out of range)" : "");
    return PROTO_ERR_FIELD;
}

/* Decimal integer text within [lo, hi], without strtoll's leading blanks,
 * base prefixes and errno. */
static int parse_integer(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return NUMBER_BAD;
    uint64_t limit = neg ? (uint64_t)(-(lo + 1)) + 1 : (uint64_t)hi;
    uint64_t v = 0;
    int status = NUMBER_OK;
    for (; i < n; i++) {
        unsigned digit = (unsigned)(unsigned char)s[i] - '0';
        if (digit > 9)
            return NUMBER_BAD;
        if (v > (limit - digit) / 10)
            status = NUMBER_RANGE;
        else
            v = v * 10 + digit;
    }
    if (status == NUMBER_OK)
        *out = neg ? (v == 0 ? 0 : -(int64_t)(v - 1) - 1) : (int64_t)v;
    return status;
}

/* Any integer field, or the error that names it. Never inlined: the
 * callers' fast paths then need no stack frame. */
#define FIELD_COLD __attribute__((noinline)) static

FIELD_COLD int read_integer(proto_reader_t *r, int64_t lo, int64_t hi, int64_t unset, int64_t *out,
                        char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = reader_peek(r, &s, &n, err, errlen);
    if (rc < 0)
        return rc;
    int64_t v = unset;
    int status = n == 0 ? NUMBER_OK : parse_integer(s, n, lo, hi, &v);
    if (status != NUMBER_OK)
        return field_error(r, "an integer", s, n, status, err, errlen);
    *out = v;
    reader_advance(r, n);
    return 0;
}

/* ---- SWAR: up to 8 digits of a field in one 64-bit word ---------------- */

#define FAST_DIGITS_MAX 15   /* below 2^53: every such integer is an exact double */

/* Powers of ten up to 10^FAST_DIGITS_MAX as integers and as doubles (all
 * exact: 10^22 is the largest a double holds). */
static const uint64_t pow10_u64[FAST_DIGITS_MAX + 1] = {
    1ull,           10ull,           100ull,           1000ull,
    10000ull,       100000ull,       1000000ull,       10000000ull,
    100000000ull,   1000000000ull,   10000000000ull,   100000000000ull,
    1000000000000ull, 10000000000000ull, 100000000000000ull, 1000000000000000ull};
static const double pow10_dbl[FAST_DIGITS_MAX + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};


/* The n bytes at s, the first one lowest (n is a constant at every use). */
FIELD_HOT uint64_t load_le(const char *s, size_t n)
{
    uint64_t x = 0;
    memcpy(&x, s, n);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

/* The first min(left, 8) bytes at s (left >= 1), the first one lowest,
 * zeros above them: a short tail is read as two overlapping loads, so
 * nothing at or past s + left is touched. */
FIELD_HOT uint64_t load_upto8(const char *s, size_t left)
{
    if (left >= 8)
        return load_le(s, 8);
    if (left >= 4)
        return load_le(s, 4) | load_le(s + left - 4, 4) << (8 * (left - 4));
    if (left >= 2)
        return load_le(s, 2) | load_le(s + left - 2, 2) << (8 * (left - 2));
    return (unsigned char)s[0];
}

/* The value of the k (1..8) digits in t's low bytes (digit values, the
 * first one most significant): moved to the top, then combined in pairs,
 * quads and octets by three multiplies (fast_float's eight-digit parse). */
FIELD_HOT uint64_t digits_value(uint64_t t, unsigned k)
{
    t <<= 8 * (8 - k);
    t = t * 10 + (t >> 8);
    return ((t & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
            (t >> 16 & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
}

/* The 8 to 15 digits at d and their NUL, when the first 8 bytes of the n
 * (> 8) bytes from d to the frame's end are digits: 1, with the digits
 * after the first 8 counted in *more; otherwise 0. The bytes past the
 * first 8 are the low ones of the last 8 bytes up to d + 16 or the frame's
 * end, whichever comes first (zeros shifted in above them), so nothing
 * outside the frame is loaded. */
FIELD_HOT int digit_run_tail(const char *d, size_t n, unsigned *more)
{
    size_t rest = n - 8;
    uint64_t x = rest >= 8 ? load_le(d + 8, 8) : load_le(d + rest, 8) >> 8 * (8 - rest);
    uint64_t bad = proto_non_digit_bytes(proto_digit_values(x));
    if (!bad)
        return 0; /* 16 digits or more */
    *more = (unsigned)__builtin_ctzll(bad) >> 3;
    return *more < rest && (x >> 8 * *more & 0xFF) == 0;
}

#ifdef __SSE2__
/* Bit i set when s[i] is not an ASCII digit, for the 16 bytes at s. */
FIELD_HOT unsigned non_digit_mask16(const char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    /* A digit is a byte that d's unsigned minimum with 9 leaves alone. */
    __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
    return (unsigned)_mm_movemask_epi8(digit) ^ 0xFFFFu;
}
#endif

/* The run of digits at the front of the n (>= 1) bytes from s to the
 * frame's end, base being the frame's start, when it is 1 to 15 digits
 * followed by a NUL inside those bytes: its length; otherwise 0. Where
 * the frame has 16 bytes from s, or 16 up to its end, one SSE2 compare
 * tests them all (the bytes of the frame's last 16 before s are shifted
 * out, the places past its end count as non-digits); shorter frames take
 * 8 bytes at a time. */
FIELD_HOT unsigned digit_run_length(const char *base, const char *s, size_t n)
{
#ifdef __SSE2__
    if (n >= 16 || (size_t)(s - base) + n >= 16) {
        unsigned bad = n >= 16 ? non_digit_mask16(s)
                               : non_digit_mask16(s + n - 16) >> (16 - n) | ~0u << n;
        if (!bad)
            return 0; /* 16 digits or more */
        unsigned k = (unsigned)__builtin_ctz(bad);
        return k > 0 && k < n && s[k] == '\0' ? k : 0;
    }
#else
    (void)base;
#endif
    uint64_t x = load_upto8(s, n);
    uint64_t bad = proto_non_digit_bytes(proto_digit_values(x));
    unsigned k;
    if (!bad)
        return n > 8 && digit_run_tail(s, n, &k) ? 8 + k : 0;
    k = (unsigned)__builtin_ctzll(bad) >> 3;
    return k > 0 && k < n && (x >> 8 * k & 0xFF) == 0 ? k : 0;
}

/* The value of that run, k its length: the first load's digits, or for a
 * longer run the last 8 digits as one more load, ending at the NUL, and
 * the k - 8 before them from the first load. */
FIELD_HOT uint64_t digit_run_value(const char *s, size_t n, unsigned k)
{
    uint64_t t = proto_digit_values(load_upto8(s, n));
    if (k <= 8)
        return digits_value(t, k);
    uint64_t last8 = proto_digit_values(load_le(s + k - 8, 8));
    return digits_value(t, k - 8) * 100000000 + digits_value(last8, 8);
}

/* The run's length in *k and its value in *v: 1, or 0 when there is none. */
FIELD_HOT int digit_run(const char *base, const char *s, size_t n, unsigned *k, uint64_t *v)
{
    *k = digit_run_length(base, s, n);
    if (*k == 0)
        return 0;
    *v = digit_run_value(s, n, *k);
    return 1;
}

/* ---- integers ----------------------------------------------------------- */

int proto_skip_unsigned(proto_reader_t *r)
{
    size_t left = r->len - r->pos;
    unsigned k = left > 0 ? digit_run_length(r->p, r->p + r->pos, left) : 0;
    if (k == 0)
        return 0;
    reader_advance(r, k);
    return 1;
}

/* The integer fields that are 1 to 15 digits with an optional sign, ending
 * in a NUL inside the frame, within [lo, hi], with no overflow check
 * (10^15 < 2^63). 1 and the reader past the field, or 0 and the reader
 * where it was when the field is anything else (empty, longer, bad, out of
 * range), for read_integer to give the same answer or the error. */
FIELD_HOT int read_short_integer(proto_reader_t *r, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s = r->p + r->pos;
    size_t left = r->len - r->pos;
    if (left == 0)
        return 0;
    size_t sign = s[0] == '-' || s[0] == '+';
    unsigned k;
    uint64_t v;
    if (left <= sign || !digit_run(r->p, s + sign, left - sign, &k, &v))
        return 0;
    int64_t x = s[0] == '-' ? -(int64_t)v : (int64_t)v;
    if (x < lo || x > hi)
        return 0;
    *out = x;
    reader_advance(r, sign + k);
    return 1;
}

int proto_read_int_rest(proto_reader_t *r, int32_t *out, char *err, size_t errlen)
{
    int64_t v;
    int rc = read_short_integer(r, INT32_MIN, INT32_MAX, &v)
                 ? 0
                 : read_integer(r, INT32_MIN, INT32_MAX, PROTO_INT_UNSET, &v, err, errlen);
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

/* The unsigned fields of 8 to 15 digits (Unix times): below 10^15, so
 * in range for an int64 with no check. Same answers as read_short_integer,
 * without its sign, its short loads and its range check. */
FIELD_HOT int read_long_unsigned(proto_reader_t *r, int64_t *out)
{
    const char *s = r->p + r->pos;
    size_t left = r->len - r->pos;
    if (left <= 8)
        return 0;
    unsigned k = digit_run_length(r->p, s, left);
    if (k < 8)
        return 0;
    *out = (int64_t)digit_run_value(s, left, k);
    reader_advance(r, k);
    return 1;
}

FIELD_COLD int read_int64_rest(proto_reader_t *r, int64_t *out, char *err, size_t errlen)
{
    if (read_short_integer(r, INT64_MIN, INT64_MAX, out))
        return 0;
    return read_integer(r, INT64_MIN, INT64_MAX, PROTO_INT64_UNSET, out, err, errlen);
}

/* Unix times (nearly every int64 field) and tiny fields inline, anything
 * else in a tail call. */
int proto_read_int64(proto_reader_t *r, int64_t *out, char *err, size_t errlen)
{
    uint32_t v;
    if (read_long_unsigned(r, out))
        return 0;
    if (proto_read_tiny(r, &v)) {
        *out = v;
        return 0;
    }
    return read_int64_rest(r, out, err, errlen);
}

static size_t skip_digits(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* [sign] digits [. digits] [e [sign] digits], with a digit somewhere before
 * the exponent: the plain decimal text every client writes. */
static int is_decimal_text(const char *s, size_t n)
{
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+');
    size_t int_end = skip_digits(s, n, i);
    size_t digits = int_end - i;
    i = int_end;
    if (i < n && s[i] == '.') {
        size_t frac_end = skip_digits(s, n, i + 1);
        digits += frac_end - (i + 1);
        i = frac_end;
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp_end = skip_digits(s, n, i);
        if (exp_end == i)
            return 0;
        i = exp_end;
    }
    return i == n;
}

static int text_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* The words clients write instead of digits: Java and the official clients
 * say "Infinity", ib_insync says "Infinite", Java and Python spell NaN. */
static int parse_double_word(const char *s, size_t n, double *out)
{
    int neg = n > 0 && s[0] == '-';
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+');
    if (text_is(s + i, n - i, "Infinity") || text_is(s + i, n - i, "Infinite")) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    if (text_is(s + i, n - i, "NaN") || text_is(s + i, n - i, "nan")) {
        *out = NAN;
        return 1;
    }
    return 0;
}

/* The leading digits of the left (>= 1) bytes at s, at most 8: how many,
 * and their value in *v. */
FIELD_HOT unsigned digit_prefix8(const char *s, size_t left, uint64_t *v)
{
    uint64_t t = proto_digit_values(load_upto8(s, left));
    uint64_t bad = proto_non_digit_bytes(t);
    unsigned k = bad ? (unsigned)__builtin_ctzll(bad) >> 3 : 8;
    *v = k ? digits_value(t, k) : 0;
    return k;
}

/* The leading digits of the left (>= 1) bytes at s, at most 16 (16: there
 * may be more): how many, and their value in *v. */
FIELD_HOT unsigned digit_prefix16(const char *s, size_t left, uint64_t *v)
{
    uint64_t low;
    unsigned k = digit_prefix8(s, left, v);
    if (k < 8 || left <= 8)
        return k;
    unsigned more = digit_prefix8(s + 8, left - 8, &low);
    *v = *v * pow10_u64[more] + low;
    return 8 + more;
}

/* Clinger's fast path: when the text is "[sign]digits[.digits]" with at
 * most 15 digits, the digits m and 10^decimals are exact doubles, so the
 * one correctly rounded division m / 10^decimals is the nearest double to
 * the text, which is what strtod returns. */
FIELD_HOT double clinger(uint64_t m, unsigned decimals, int neg)
{
    double v = (double)m / pow10_dbl[decimals];
    return neg ? -v : v;
}

/* The field every bar carries, a price like "194.37": sign, then digits
 * with at most one '.' among the next 8 bytes, then the field's NUL. One
 * load: the '.' is squeezed out of the word and the digits on both sides
 * become one run. The field's NUL is never searched for: it must be the
 * byte after the run. 1 and the reader past the field, or 0 and the reader
 * where it was when the field is anything else or ends too near the frame's
 * end for the load (read_double_rest reads it). */
FIELD_HOT int read_double_short(proto_reader_t *r, double *out)
{
    const char *s = r->p + r->pos;
    if (r->len - r->pos < 10)
        return 0;
    size_t sign = s[0] == '-' || s[0] == '+';
    uint64_t x = load_le(s + sign, 8);
    uint64_t bad = proto_non_digit_bytes(proto_digit_values(x));
    if (!bad)
        return 0;
    unsigned whole = (unsigned)__builtin_ctzll(bad) >> 3;
    unsigned point = (x >> 8 * whole & 0xFF) == '.';
    if (point) {
        uint64_t low = (1ull << 8 * whole) - 1;
        x = (x & low) | (x >> 8 & ~low); /* the top byte becomes 0: a non-digit */
        bad = proto_non_digit_bytes(proto_digit_values(x));
    }
    unsigned digits = (unsigned)__builtin_ctzll(bad) >> 3;
    size_t end = sign + point + digits;
    if (digits == 0 || s[end] != '\0')
        return 0;
    *out = clinger(digits_value(proto_digit_values(x), digits), digits - whole, s[0] == '-');
    reader_advance(r, end);
    return 1;
}

/* The same for any field of that form (longer runs, 8 bytes at a time),
 * s[n] being its NUL: 1 and the value, or 0. */
static int parse_double_fast(const char *s, size_t n, double *out)
{
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+');
    uint64_t whole = 0, frac = 0;
    unsigned whole_digits = i < n ? digit_prefix16(s + i, n - i, &whole) : 0, decimals = 0;
    i += whole_digits;
    if (i < n && s[i] == '.' && ++i < n) {
        decimals = digit_prefix16(s + i, n - i, &frac);
        i += decimals;
    }
    if (i != n || whole_digits + decimals == 0 || whole_digits + decimals > FAST_DIGITS_MAX)
        return 0;
    *out = clinger(whole * pow10_u64[decimals] + frac, decimals, s[0] == '-');
    return 1;
}

/* s[n] is the field's NUL, so strtod stops inside the frame. */
static int parse_double(const char *s, size_t n, double *out)
{
    if (n == 0) {
        *out = PROTO_DBL_UNSET;
        return NUMBER_OK;
    }
    if (parse_double_fast(s, n, out) || parse_double_word(s, n, out))
        return NUMBER_OK;
    if (!is_decimal_text(s, n))
        return NUMBER_BAD;
    char *end;
    double v = strtod(s, &end);
    if (end != s + n)
        return NUMBER_BAD;
    if (isinf(v))
        return NUMBER_RANGE;
    *out = v;
    return NUMBER_OK;
}

FIELD_COLD int read_double_rest(proto_reader_t *r, double *out, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = reader_peek(r, &s, &n, err, errlen);
    if (rc < 0)
        return rc;
    double v;
    int status = parse_double(s, n, &v);
    if (status != NUMBER_OK)
        return field_error(r, "a number", s, n, status, err, errlen);
    *out = v;
    reader_advance(r, n);
    return 0;
}

int proto_read_double(proto_reader_t *r, double *out, char *err, size_t errlen)
{
    if (read_double_short(r, out))
        return 0;
    return read_double_rest(r, out, err, errlen);
}

int proto_read_decimal(proto_reader_t *r, const char **out, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = reader_peek(r, &s, &n, err, errlen);
    if (rc < 0)
        return rc;
    if (n > 0 && !is_decimal_text(s, n))
        return field_error(r, "a decimal", s, n, NUMBER_BAD, err, errlen);
    *out = text_is(s, n, DECIMAL_UNSET_TEXT) ? s + n : s;
    reader_advance(r, n);
    return 0;
}

int proto_read_bool(proto_reader_t *r, int *out, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = reader_peek(r, &s, &n, err, errlen);
    if (rc < 0)
        return rc;
    if (!(n == 0 || text_is(s, n, "0") || text_is(s, n, "1")))
        return field_error(r, "a bool (1 or 0)", s, n, NUMBER_BAD, err, errlen);
    *out = n == 1 && s[0] == '1';
    reader_advance(r, n);
    return 0;
}

int proto_read_str(proto_reader_t *r, const char **out, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = reader_peek(r, &s, &n, err, errlen);
    if (rc < 0)
        return rc;
    *out = s;
    reader_advance(r, n);
    return 0;
}

int proto_read_str_into(proto_reader_t *r, char *dst, size_t cap, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    int rc = reader_peek(r, &s, &n, err, errlen);
    if (rc < 0)
        return rc;
    size_t keep = n < cap - 1 ? n : cap - 1;
    memcpy(dst, s, keep);
    dst[keep] = '\0';
    reader_advance(r, n);
    return 0;
}

/* All n fields or none: the reader only moves when every one is there.
 * The n-th NUL ahead ends the last of them, found 16 bytes at a time; when
 * there are fewer, the fields are walked one by one to name the missing or
 * unterminated one. */
int proto_skip(proto_reader_t *r, int n, char *err, size_t errlen)
{
    const char *s = r->p + r->pos, *end = r->p + r->len;
    int left = n;
    size_t width;
    if (n <= 0)
        return 0;
    for (; s < end; s += width) {
        unsigned mask = nul_mask(r->p, s, end, &width);
        for (; mask; mask &= mask - 1) {
            if (--left == 0) {
                r->pos = (size_t)(s + __builtin_ctz(mask) + 1 - r->p);
                r->index += n;
                return 0;
            }
        }
    }
    /* Fewer than n NULs: the walk fails before the n-th field. */
    proto_reader_t probe = *r;
    const char *field;
    size_t len;
    int rc;
    while ((rc = reader_peek(&probe, &field, &len, err, errlen)) == 0)
        reader_advance(&probe, len);
    return rc;
}

int proto_read_err_msg(proto_reader_t *r, proto_err_msg_t *out, char *err, size_t errlen)
{
    int32_t version;
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_int(r, &out->id, err, errlen);
    if (rc == 0)
        rc = proto_read_int(r, &out->code, err, errlen);
    if (rc == 0)
        rc = proto_read_str(r, &out->text, err, errlen);
    return rc;
}
