/* proto.h - the TWS wire codec's shared vocabulary: error codes, version
 * constants, and the umbrella include. proto/ does no I/O at all: it turns
 * bytes into messages and messages into bytes. */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>

enum proto_err {
    PROTO_OK = 0,
    PROTO_ERR_LENGTH = -1,  /* a frame length of 0 or above PROTO_LEN_MAX */
    PROTO_ERR_FIELD = -2,   /* a field that does not parse as its type */
    PROTO_ERR_MISSING = -3, /* a field the message does not have */
    PROTO_ERR_HELLO = -4,   /* a malformed greeting ("API\0", "v<min>..<max>") */
    PROTO_ERR_VERSION = -5, /* no version both sides accept */
    PROTO_ERR_NOMEM = -6,
    PROTO_ERR_FRAME = -7    /* a payload that is not NUL-terminated fields */
};

const char *proto_strerror(int code);

/* Internal helpers shared by the proto/ sources. proto_errf formats into
 * err when err is not NULL. proto_quote writes n bytes of wire text into dst
 * as printable ASCII (\0, \xNN escapes), cut with "..." when long; dst
 * always ends in NUL. */
void proto_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *proto_quote(char *dst, size_t dstlen, const void *src, size_t n);

/* The highest server version we speak (no errorTime, no protobuf). */
#define PROTO_SERVER_VERSION_MAX 178
/* The mock gateway's default lowest accepted version. */
#define PROTO_SERVER_VERSION_MIN 151
/* What our client advertises, and the lowest answer it accepts. */
#define PROTO_CLIENT_VERSION_MIN 157
#define PROTO_CLIENT_VERSION_MAX 178
#define PROTO_CLIENT_VERSION_ACCEPT_MIN 176

#include "catalog.h"
#include "field.h"
#include "frame.h"
#include "handshake.h"

#endif
