/* frame.h - TWS framing: a 4-byte big-endian length, then that many bytes of
 * payload (NUL-terminated text fields). An incremental decoder that takes
 * byte chunks of any size and yields whole frames, and a writer that builds
 * frames into one growing buffer. */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_LEN_MAX 0xFFFFFFu
#define PROTO_FRAME_PREFIX 4 /* the length's bytes */

/* One whole frame's payload (without the length prefix). `offset` is the
 * stream byte offset where its length prefix started. */
typedef struct proto_frame {
    const uint8_t *payload;
    size_t len;
    uint64_t offset;
} proto_frame_t;

typedef struct proto_decoder {
    uint8_t *buf;
    size_t cap;
    size_t start;       /* first unread byte in buf */
    size_t end;         /* one past the last byte fed */
    uint64_t consumed;  /* stream offset of buf[start] */
    int failed;         /* after an error every call returns it again */
} proto_decoder_t;

void proto_decoder_init(proto_decoder_t *d);
void proto_decoder_free(proto_decoder_t *d);

/* Appends bytes. 0 or PROTO_ERR_NOMEM. Frames returned earlier by
 * proto_decoder_next stay valid until the next feed. */
int proto_decoder_feed(proto_decoder_t *d, const uint8_t *data, size_t len);

/* 1: *out holds the next whole frame (pointing into the decoder's buffer,
 * valid until the next feed); 0: more bytes are needed; <0: PROTO_ERR_LENGTH
 * (length 0 or > PROTO_LEN_MAX) or PROTO_ERR_FRAME (payload not ending in
 * NUL), with "byte offset N: ..." in err. After an error the decoder stays
 * failed: the stream cannot be resynchronised. */
int proto_decoder_next(proto_decoder_t *d, proto_frame_t *out, char *err, size_t errlen);

/* Bytes fed but not yet returned in a frame. */
size_t proto_decoder_buffered(const proto_decoder_t *d);

/* The big-endian length prefix at p. */
static inline uint32_t proto_frame_len_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* What a frame handler tells proto_decoder_drain to do next. */
enum proto_drain_step {
    PROTO_DRAIN_NEXT, /* hand out the next frame */
    PROTO_DRAIN_KEEP, /* stop; the bytes not handed out stay in the decoder */
    PROTO_DRAIN_DROP  /* stop and touch the decoder no more: the handler may
                       * have reset it (a closed connection's bytes belong to
                       * nobody); the bytes not handed out are dropped */
};

typedef enum proto_drain_step (*proto_frame_handler_t)(void *ctx, const proto_frame_t *f);

/* The part of proto_decoder_drain for bytes it cannot hand out in place:
 * appends them, then hands out the whole frames the buffer holds. */
int proto_decoder_drain_buffered(proto_decoder_t *d, const uint8_t *data, size_t len,
                                 proto_frame_handler_t handler, void *ctx, char *err,
                                 size_t errlen);

/* Feeds len bytes and hands each whole frame to handler, in order, until
 * none is left or handler stops. A frame lives only during its handler
 * call: when the decoder holds nothing, frames point straight into data
 * (nothing is copied), and only what is left over - an incomplete tail, or
 * what a KEEP leaves - is copied in before returning. A handler that resets
 * the decoder must return DROP. Returns 0, PROTO_ERR_NOMEM, or an error as
 * proto_decoder_next reports it (after handing out the frames before it).
 *
 * Inline, so that a caller's handler is called directly: nearly every
 * delivery is whole frames (one, mostly) and finds the decoder empty. */
static inline int proto_decoder_drain(proto_decoder_t *d, const uint8_t *data, size_t len,
                                      proto_frame_handler_t handler, void *ctx, char *err,
                                      size_t errlen)
{
    if (d->start == d->end && !d->failed) {
        while (len >= PROTO_FRAME_PREFIX) {
            uint32_t flen = proto_frame_len_get(data);
            size_t whole = PROTO_FRAME_PREFIX + (size_t)flen;
            if (flen == 0 || flen > PROTO_LEN_MAX || len < whole || data[whole - 1] != 0)
                break; /* incomplete or bad: the buffered way keeps and names it */
            proto_frame_t f = {data + PROTO_FRAME_PREFIX, flen, d->consumed};
            d->consumed += whole;
            data += whole;
            len -= whole;
            enum proto_drain_step step = handler(ctx, &f);
            if (step == PROTO_DRAIN_DROP)
                return 0;
            if (step == PROTO_DRAIN_KEEP)
                return proto_decoder_feed(d, data, len);
        }
        if (len == 0)
            return 0;
    }
    return proto_decoder_drain_buffered(d, data, len, handler, ctx, err, errlen);
}

/* The one whole frame a delivery holds, taken in place as
 * proto_decoder_drain would hand it out (its bytes counted consumed): 1
 * when the decoder holds nothing and data is exactly one good frame, *f
 * then being it until data goes; else 0, and nothing changes (the drain
 * then takes the bytes the usual way). A reader that answers the health
 * check needs nothing more. */
static inline int proto_decoder_take_whole(proto_decoder_t *d, const uint8_t *data, size_t len,
                                           proto_frame_t *f)
{
    if (d->start != d->end || d->failed || len <= PROTO_FRAME_PREFIX ||
        len - PROTO_FRAME_PREFIX > PROTO_LEN_MAX || data[len - 1] != 0 ||
        proto_frame_len_get(data) != len - PROTO_FRAME_PREFIX)
        return 0;
    f->payload = data + PROTO_FRAME_PREFIX;
    f->len = len - PROTO_FRAME_PREFIX;
    f->offset = d->consumed;
    d->consumed += len;
    return 1;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct proto_writer {
    uint8_t *buf;
    size_t len;
    size_t cap;
    size_t frame_start; /* where the open frame's length prefix sits */
    int in_frame;
    int error;          /* first error (PROTO_ERR_NOMEM / _LENGTH), sticky */
} proto_writer_t;

void proto_writer_init(proto_writer_t *w);
void proto_writer_free(proto_writer_t *w);
/* Empties the buffer (keeps the memory) and clears the error. */
void proto_writer_reset(proto_writer_t *w);

/* Raw bytes outside any frame (the client's "API\0" prefix). */
void proto_put_raw(proto_writer_t *w, const void *data, size_t len);

/* Opens a frame: reserves the 4-byte length. */
void proto_frame_begin(proto_writer_t *w);
/* Closes it: writes the length. 0, or the writer's sticky error, or
 * PROTO_ERR_LENGTH for an empty frame or one above PROTO_LEN_MAX. */
int proto_frame_end(proto_writer_t *w);

/* The longest integer field, "-9223372036854775808" and its NUL. */
#define PROTO_INT_TEXT_MAX 21
/* Room enough for any frame proto_frame_id_value_put writes. */
#define PROTO_ID_VALUE_ROOM (PROTO_FRAME_PREFIX + 3 * PROTO_INT_TEXT_MAX)

/* The frame of the message `id, 1, v` (currentTime, nextValidId, the
 * request ends), byte for byte what proto_frame_begin, three proto_put_int
 * and proto_frame_end write, straight into buf, which has PROTO_ID_VALUE_ROOM bytes (its tail
 * past the frame is scribbled on): for an answer sent at once from the
 * stack, without a writer. Returns the frame's whole length, prefix
 * included. The head of an id below 100 (every message's) is one store. */
int proto_frame_id_value_put(uint8_t *buf, int id, int64_t v);

/* The last frame proto_frame_id_value_memo wrote. A zeroed one (or one
 * from proto_id_value_memo_init) keeps nothing yet. */
typedef struct proto_id_value_memo {
    int64_t base;    /* the kept value less its last four digits; 0: none kept */
    int id;
    int len;         /* the kept frame's whole length */
    uint8_t frame[PROTO_ID_VALUE_ROOM];
} proto_id_value_memo_t;

void proto_id_value_memo_init(proto_id_value_memo_t *m);

/* proto_frame_id_value_put(m->frame, id, v), and its return: the frame is
 * then m->frame, valid until the next call. When the kept frame has the
 * same id and a value of five or more digits that differs from v in its
 * last four only (a clock's seconds: nearly every currentTime of a
 * session), just those four digits are rewritten. */
int proto_frame_id_value_memo(proto_id_value_memo_t *m, int id, int64_t v);

/* Fields, each followed by its NUL. A string must hold no NUL. */
void proto_put_str(proto_writer_t *w, const char *s);
void proto_put_int(proto_writer_t *w, int64_t v);
/* Shortest text that reads back to the same double ("150", "0.1",
 * "1.7976931348623157E308" for DBL_MAX, "Infinity"). */
void proto_put_double(proto_writer_t *w, double v);
void proto_put_bool(proto_writer_t *w, int v);
/* The unset forms: an empty field. */
void proto_put_empty(proto_writer_t *w);

#endif
