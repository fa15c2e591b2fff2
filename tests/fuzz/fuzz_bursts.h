/* fuzz_bursts.h - the input format of the two session fuzzers (a fuzzed
 * client against the gateway, a fuzzed gateway against the runner's
 * session). Byte 0 holds FZ_* mode bits; the rest is what the fuzzed peer
 * sends, cut into bursts it sends one after another:
 *   raw mode      the bytes as they are, one burst (framing fuzzed too);
 *   FZ_FRAMED     one frame per line: a line's bytes are the frame's payload
 *                 (fields NUL-terminated as on the wire), an empty line ends
 *                 a burst. The harness writes the length prefixes, so a
 *                 mutated field does not break the framing around it.
 * The harness may send a valid greeting (FZ_HELLO) and the messages that
 * make the session ready (FZ_READY) as a first burst of its own, so the
 * fuzz reaches past them. */
#ifndef FUZZ_BURSTS_H
#define FUZZ_BURSTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../proto/proto.h"

enum { FZ_FRAMED = 1, FZ_HELLO = 2, FZ_READY = 4, FZ_RST = 8, FZ_CHUNKED = 16 };

#define FZ_BURSTS_MAX 64

typedef struct fz_bursts {
    unsigned mode;
    proto_writer_t w;          /* every burst, back to back */
    size_t end[FZ_BURSTS_MAX]; /* burst i is w.buf[end[i-1] .. end[i]) */
    size_t n;
} fz_bursts_t;

/* Closes the burst in progress, if it holds anything. */
static void fz_bursts_cut(fz_bursts_t *b)
{
    size_t start = b->n ? b->end[b->n - 1] : 0;
    if (b->w.len > start && b->n < FZ_BURSTS_MAX)
        b->end[b->n++] = b->w.len;
}

/* Parses data; the caller has already written any prefix into b->w (it
 * is a burst of its own, the first). */
static void fz_bursts_parse(fz_bursts_t *b, const uint8_t *data, size_t size)
{
    b->n = 0;
    b->mode = size ? data[0] : 0;
    fz_bursts_cut(b);
    const uint8_t *p = size ? data + 1 : data, *end = data + size;
    if (!(b->mode & FZ_FRAMED)) {
        proto_put_raw(&b->w, p, (size_t)(end - p));
    } else {
        while (p < end && b->n < FZ_BURSTS_MAX - 1) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (len == 0) {
                fz_bursts_cut(b);
            } else {
                proto_frame_begin(&b->w);
                proto_put_raw(&b->w, p, len);
                proto_frame_end(&b->w);
            }
            p += len + (nl != NULL);
        }
    }
    fz_bursts_cut(b);
}

static const uint8_t *fz_burst(const fz_bursts_t *b, size_t i, size_t *len)
{
    size_t start = i ? b->end[i - 1] : 0;
    *len = b->end[i] - start;
    return b->w.buf + start;
}

#endif
