/* proto.c - names for the codec's error codes, and the error-text helpers
 * the other proto/ sources share. */
#include "proto.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char *proto_strerror(int code)
{
    switch (code) {
    case PROTO_OK:
        return "ok";
    case PROTO_ERR_LENGTH:
        return "bad frame length";
    case PROTO_ERR_FIELD:
        return "field does not parse";
    case PROTO_ERR_MISSING:
        return "missing field";
    case PROTO_ERR_HELLO:
        return "malformed greeting";
    case PROTO_ERR_VERSION:
        return "no common protocol version";
    case PROTO_ERR_NOMEM:
        return "out of memory";
    case PROTO_ERR_FRAME:
        return "malformed frame";
    default:
        return "unknown protocol error";
    }
}

void proto_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Error messages quote what was on the wire; the bytes may be anything, so
 * they are escaped and cut short enough to keep the message readable. */
const char *proto_quote(char *dst, size_t dstlen, const void *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const size_t show_max = 40;
    const uint8_t *s = src;
    size_t o = 0;
    if (dstlen == 0)
        return dst;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        char esc[5] = {(char)c, 0, 0, 0, 0};
        if (c == 0) {
            memcpy(esc, "\\0", 3);
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c < 0x20 || c > 0x7e) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
        }
        size_t el = strlen(esc);
        if (i >= show_max || o + el + 4 > dstlen) {
            if (o + 4 <= dstlen) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(dst + o, esc, el);
        o += el;
    }
    dst[o] = '\0';
    return dst;
}
