/* field.h - reading the NUL-terminated text fields of one frame, typed.
 * Every error names the field's index (0 = the message id) and what was
 * there, and the reader never reads past the frame. */
#ifndef PROTO_FIELD_H
#define PROTO_FIELD_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"

/* Unset values: "" reads as these, and so do the texts clients send for
 * "unset" (2147483647 for int, 9223372036854775807 for int64, DBL_MAX in
 * any spelling for double, 2^127-1 for decimal). */
#define PROTO_INT_UNSET INT32_MAX
#define PROTO_INT64_UNSET INT64_MAX
#define PROTO_DBL_UNSET DBL_MAX

typedef struct proto_reader {
    const char *p;
    size_t len;
    size_t pos;
    int index; /* index of the next field */
} proto_reader_t;

void proto_reader_init(proto_reader_t *r, const proto_frame_t *f);

/* Fields not read yet. */
int proto_reader_remaining(const proto_reader_t *r);

/* Each returns 0, PROTO_ERR_MISSING (no field left) or PROTO_ERR_FIELD (it
 * does not parse), with "field N: ..." in err. On error the reader does not
 * advance. */
int proto_read_str(proto_reader_t *r, const char **out, char *err, size_t errlen);
/* The string copied into dst (cap > 0), cut to cap - 1 bytes; dst is left
 * alone on error. */
int proto_read_str_into(proto_reader_t *r, char *dst, size_t cap, char *err, size_t errlen);
static inline int proto_read_int(proto_reader_t *r, int32_t *out, char *err, size_t errlen);
int proto_read_int64(proto_reader_t *r, int64_t *out, char *err, size_t errlen);
/* Accepts "150", "150.0", "1e-05", "", DBL_MAX as "1.7976931348623157e+308"
 * or "...E308", "Infinity", "Infinite", "-Infinity". */
int proto_read_double(proto_reader_t *r, double *out, char *err, size_t errlen);
/* A decimal quantity as validated text (digits, one '.', optional sign and
 * exponent); "" or 2^127-1 give an empty string. */
int proto_read_decimal(proto_reader_t *r, const char **out, char *err, size_t errlen);
/* "1" → 1, "0" or "" → 0; anything else is an error. */
int proto_read_bool(proto_reader_t *r, int *out, char *err, size_t errlen);
int proto_skip(proto_reader_t *r, int n, char *err, size_t errlen);

/* The fields nearly every message starts with, a message id of one or two
 * digits and a version of one: 1, the value and the reader past the field,
 * or 0 and the reader untouched when the field is anything else. Inline in
 * proto_read_int, so that a caller's reader stays in its registers. The
 * reader is never past the frame's end (pos <= len). */
static inline int proto_read_tiny(proto_reader_t *r, uint32_t *out)
{
    const unsigned char *s = (const unsigned char *)r->p + r->pos;
    size_t left = r->len - r->pos;
    if (left < 2)
        return 0;
    unsigned d0 = s[0] - (unsigned)'0', d1 = s[1] - (unsigned)'0';
    if (d0 > 9)
        return 0;
    if (s[1] == '\0') {
        *out = d0;
        r->pos += 2;
        r->index++;
        return 1;
    }
    if (d1 > 9 || left < 3 || s[2] != '\0')
        return 0;
    *out = d0 * 10 + d1;
    r->pos += 3;
    r->index++;
    return 1;
}

/* proto_read_int for the fields proto_read_tiny does not take. */
int proto_read_int_rest(proto_reader_t *r, int32_t *out, char *err, size_t errlen);

static inline int proto_read_int(proto_reader_t *r, int32_t *out, char *err, size_t errlen)
{
    uint32_t v;
    if (proto_read_tiny(r, &v)) {
        *out = (int32_t)v;
        return 0;
    }
    return proto_read_int_rest(r, out, err, errlen);
}

/* An unsigned integer field of 1 to 15 digits (one proto_read_int64
 * reads), skipped without its value, for a reply whose value nobody uses
 * but whose form must be checked (the health check's currentTime): 1 and
 * the reader past the field, or 0 and the reader untouched when the field
 * is anything else (the typed reads may still take it: "", a sign, more
 * digits). */
int proto_skip_unsigned(proto_reader_t *r);

/* ---- SWAR: eight bytes of a field as one 64-bit word -------------------
 * Shared by the reader's number parsers and by callers that test a field
 * of known length in place. */

/* x's bytes as digit values: ASCII digits become 0..9, and nothing else
 * does (the xor is a bijection that maps exactly 0x30..0x39 there). */
static inline uint64_t proto_digit_values(uint64_t x)
{
    return x ^ 0x3030303030303030ull;
}

/* 0x80 in every byte of t (from proto_digit_values) above 9, exact up to
 * and including the first such byte (a carry out of a byte >= 0x8A may
 * spoil the ones after it, which no caller looks at); 0 exactly when all
 * eight are digits, whatever the byte order. */
static inline uint64_t proto_non_digit_bytes(uint64_t t)
{
    return ((t + 0x7676767676767676ull) | t) & 0x8080808080808080ull;
}

/* 1 when the n bytes at s, 8 <= n <= 16, are all ASCII digits: two loads
 * of eight that overlap when n < 16, nothing outside [s, s + n) read. */
static inline int proto_all_digits_8to16(const char *s, size_t n)
{
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    return (proto_non_digit_bytes(proto_digit_values(a)) |
            proto_non_digit_bytes(proto_digit_values(b))) == 0;
}

/* The head of an errMsg (id 4) below server version 194, the reader just
 * past the message id: version, id (a request, an order or -1), code and
 * text. advancedOrderRejectJson (from 166) is left unread. */
typedef struct proto_err_msg {
    int32_t id;
    int32_t code;
    const char *text; /* points into the frame */
} proto_err_msg_t;

int proto_read_err_msg(proto_reader_t *r, proto_err_msg_t *out, char *err, size_t errlen);

#endif
