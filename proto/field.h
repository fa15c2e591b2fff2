/* field.h - reading the NUL-terminated text fields of one frame, typed.
 * Every error names the field's index (0 = the message id) and what was
 * there, and the reader never reads past the frame. */
#ifndef PROTO_FIELD_H
#define PROTO_FIELD_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

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
int proto_read_int(proto_reader_t *r, int32_t *out, char *err, size_t errlen);
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
