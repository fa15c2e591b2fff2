/* handshake.c - both sides of the TWS greeting: the client's "API\0" plus
 * version range, the server's two-field answer, the version rule and the
 * connection-time text. */
#include "handshake.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto.h"

#define HELLO_PREFIX "API"          /* sent with its NUL: 4 bytes */
#define HELLO_PREFIX_LEN 4
#define HELLO_HEAD_LEN 8            /* prefix + uint32be length */
#define HELLO_BODY_MAX 255          /* "v<min>..<max> <options>" is far shorter */
#define HELLO_VERSION_MAX 999999999 /* nine digits cannot overflow an int */

int proto_client_hello_write(proto_writer_t *w, int min_version, int max_version,
                             const char *options)
{
    proto_client_hello_t hello;
    if (!options)
        options = "";
    if (min_version <= 0 || min_version > max_version || strlen(options) >= sizeof hello.options)
        return PROTO_ERR_HELLO;
    char text[32 + sizeof hello.options];
    int n = min_version == max_version
                ? snprintf(text, sizeof text, "v%d", min_version)
                : snprintf(text, sizeof text, "v%d..%d", min_version, max_version);
    if (options[0] != '\0')
        n += snprintf(text + n, sizeof text - (size_t)n, " %s", options);
    proto_put_raw(w, HELLO_PREFIX, HELLO_PREFIX_LEN);
    proto_frame_begin(w);
    proto_put_raw(w, text, (size_t)n);
    return proto_frame_end(w);
}

/* The body of a client hello being parsed: where its text is on the wire,
 * for error messages. */
typedef struct hello_body {
    const char *s;
    size_t n;
    uint64_t offset;
} hello_body_t;

static int hello_error(const hello_body_t *b, const char *problem, char *err, size_t errlen)
{
    char quoted[176];
    proto_errf(err, errlen, "byte offset %llu: client hello \"%s\": %s",
               (unsigned long long)b->offset, proto_quote(quoted, sizeof quoted, b->s, b->n),
               problem);
    return PROTO_ERR_HELLO;
}

/* Digits at *i into *v; 0 if there are none or too many. */
static int hello_number(const hello_body_t *b, size_t *i, int *v)
{
    size_t start = *i;
    long long value = 0;
    while (*i < b->n && b->s[*i] >= '0' && b->s[*i] <= '9') {
        value = value * 10 + (b->s[*i] - '0');
        if (value > HELLO_VERSION_MAX)
            return 0;
        (*i)++;
    }
    *v = (int)value;
    return *i > start;
}

/* "v<min>..<max>" or "v<n>", then optionally " <options>". */
static int hello_parse_body(const hello_body_t *b, proto_client_hello_t *out, char *err,
                            size_t errlen)
{
    size_t i = 1;
    if (b->s[0] != 'v')
        return hello_error(b, "does not start with 'v'", err, errlen);
    if (b->n == 1)
        return hello_error(b, "no version after 'v'", err, errlen);
    if (!hello_number(b, &i, &out->min_version))
        return hello_error(b, "expected a version number (at most 9 digits) after 'v'", err,
                           errlen);
    out->max_version = out->min_version;
    if (i < b->n && b->s[i] == '.') {
        if (i + 1 >= b->n || b->s[i + 1] != '.')
            return hello_error(b, "expected \"..\" between the min and max versions", err,
                               errlen);
        i += 2;
        if (!hello_number(b, &i, &out->max_version))
            return hello_error(b, "expected a max version number after \"..\"", err, errlen);
    }
    if (i < b->n && b->s[i] != ' ')
        return hello_error(b, "expected \"..\", a space or the end after a version", err,
                           errlen);
    if (out->min_version > out->max_version)
        return hello_error(b, "min version is above max version", err, errlen);
    size_t opt_len = i < b->n ? b->n - i - 1 : 0;
    if (opt_len >= sizeof out->options)
        return hello_error(b, "options longer than 63 bytes", err, errlen);
    memcpy(out->options, b->s + b->n - opt_len, opt_len);
    out->options[opt_len] = '\0';
    return 0;
}

int proto_client_hello_read(proto_decoder_t *d, proto_client_hello_t *out, char *err,
                            size_t errlen)
{
    size_t avail = d->end - d->start;
    if (avail == 0)
        return 0;
    const uint8_t *p = d->buf + d->start;
    /* Garbage is refused at its first byte rather than after 8. */
    size_t prefix = avail < HELLO_PREFIX_LEN ? avail : HELLO_PREFIX_LEN;
    if (memcmp(p, HELLO_PREFIX, prefix) != 0) {
        char quoted[176];
        proto_errf(err, errlen, "byte offset %llu: expected \"API\\0\", got \"%s\"",
                   (unsigned long long)d->consumed, proto_quote(quoted, sizeof quoted, p, prefix));
        return PROTO_ERR_HELLO;
    }
    if (avail < HELLO_HEAD_LEN)
        return 0;
    uint32_t len = 0;
    for (int i = HELLO_PREFIX_LEN; i < HELLO_HEAD_LEN; i++)
        len = len << 8 | p[i];
    if (len == 0 || len > HELLO_BODY_MAX) {
        proto_errf(err, errlen, "byte offset %llu: client hello length %lu is not in 1..%d",
                   (unsigned long long)(d->consumed + HELLO_PREFIX_LEN), (unsigned long)len,
                   HELLO_BODY_MAX);
        return PROTO_ERR_HELLO;
    }
    if (avail - HELLO_HEAD_LEN < len)
        return 0;
    hello_body_t body = {(const char *)p + HELLO_HEAD_LEN, len, d->consumed + HELLO_HEAD_LEN};
    int rc = hello_parse_body(&body, out, err, errlen);
    if (rc < 0)
        return rc;
    d->start += HELLO_HEAD_LEN + len;
    d->consumed += HELLO_HEAD_LEN + len;
    return 1;
}

int proto_server_hello_write(proto_writer_t *w, int version, const char *connection_time)
{
    proto_frame_begin(w);
    proto_put_int(w, version);
    proto_put_str(w, connection_time);
    return proto_frame_end(w);
}

int proto_server_hello_parse(const proto_frame_t *f, int *version, char *conn_time,
                             size_t conn_time_len, char *err, size_t errlen)
{
    proto_reader_t r;
    proto_reader_init(&r, f);
    int fields = proto_reader_remaining(&r);
    if (fields != 2) {
        proto_errf(err, errlen, "server hello has %d fields, expected 2", fields);
        return PROTO_ERR_HELLO;
    }
    char detail[256];
    const char *vtext, *ttext;
    proto_reader_t text_reader = r;
    if (proto_read_str(&text_reader, &vtext, detail, sizeof detail) < 0 ||
        proto_read_str(&text_reader, &ttext, detail, sizeof detail) < 0) {
        proto_errf(err, errlen, "server hello: %s", detail);
        return PROTO_ERR_HELLO;
    }
    if (strcmp(vtext, "-1") == 0) {
        char quoted[176];
        proto_errf(err, errlen, "server hello redirects to \"%s\"; redirects are not supported",
                   proto_quote(quoted, sizeof quoted, ttext, strlen(ttext)));
        return PROTO_ERR_HELLO;
    }
    int32_t v;
    if (proto_read_int(&r, &v, detail, sizeof detail) < 0) {
        proto_errf(err, errlen, "server hello: %s", detail);
        return PROTO_ERR_HELLO;
    }
    /* "" would read as the unset int; a version must be written out. */
    if (vtext[0] == '\0' || v <= 0) {
        proto_errf(err, errlen, "server hello: version \"%s\" is not a positive number", vtext);
        return PROTO_ERR_HELLO;
    }
    *version = v;
    if (conn_time && conn_time_len > 0)
        snprintf(conn_time, conn_time_len, "%s", ttext);
    return 0;
}

int proto_negotiate(const proto_client_hello_t *hello, int server_min, int server_max,
                    int *version, char *err, size_t errlen)
{
    int v = hello->max_version < server_max ? hello->max_version : server_max;
    if (v < hello->min_version || v < server_min) {
        proto_errf(err, errlen, "no common version: client v%d..%d, server v%d..%d",
                   hello->min_version, hello->max_version, server_min, server_max);
        return PROTO_ERR_VERSION;
    }
    *version = v;
    return 0;
}

void proto_connection_time(long long wall_us, char buf[32])
{
    long long secs = wall_us / 1000000;
    if (wall_us % 1000000 < 0)
        secs--; /* floor, so a time just before the epoch is 23:59:59 */
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y%m%d %H:%M:%S UTC", &tm) == 0)
        buf[0] = '\0'; /* a year that does not fit the format */
}
