/* fuzz_decoder.c - libFuzzer target: arbitrary bytes, cut into chunks at
 * points the input itself chooses, through the incremental frame decoder
 * and the typed field reader. Nothing may read out of bounds, and a stream
 * fed in pieces must decode exactly as when fed whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/proto.h"

/* Reads every field of a frame with every typed reader; returns a digest so
 * the two decodings can be compared. */
static uint64_t fuzz_read_all(const proto_frame_t *f)
{
    uint64_t digest = f->len;
    proto_reader_t r;
    proto_reader_init(&r, f);
    for (int kind = 0; proto_reader_remaining(&r) > 0; kind = (kind + 1) % 6) {
        proto_reader_t probe = r;
        int32_t i32;
        int64_t i64;
        double d;
        int b;
        const char *s;
        int rc = kind == 0   ? proto_read_int(&probe, &i32, NULL, 0)
                 : kind == 1 ? proto_read_int64(&probe, &i64, NULL, 0)
                 : kind == 2 ? proto_read_double(&probe, &d, NULL, 0)
                 : kind == 3 ? proto_read_bool(&probe, &b, NULL, 0)
                 : kind == 4 ? proto_read_decimal(&probe, &s, NULL, 0)
                             : proto_read_str(&probe, &s, NULL, 0);
        digest = digest * 31 + (uint64_t)(rc + 10);
        if (proto_read_str(&r, &s, NULL, 0) != 0)
            abort(); /* a field counted as remaining must be readable as text */
        digest = digest * 31 + strlen(s);
    }
    return digest;
}

/* Decodes data fed in chunks of the given sizes (cycled); returns a digest
 * of every frame and the final status. */
static uint64_t fuzz_decode(const uint8_t *data, size_t len, const uint8_t *cuts, size_t ncuts)
{
    proto_decoder_t d;
    proto_decoder_init(&d);
    uint64_t digest = 0;
    int rc = 0;
    size_t pos = 0, k = 0;
    while (pos < len && rc >= 0) {
        size_t n = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : len;
        if (n > len - pos)
            n = len - pos;
        if (proto_decoder_feed(&d, data + pos, n) != 0)
            abort();
        pos += n;
        proto_frame_t f;
        char err[128];
        while ((rc = proto_decoder_next(&d, &f, err, sizeof err)) == 1)
            digest = digest * 1000003 + fuzz_read_all(&f);
    }
    proto_decoder_free(&d);
    return digest * 7 + (uint64_t)(rc + 10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte says how many of the following bytes are chunk sizes. */
    size_t ncuts = size ? data[0] % 16 : 0;
    if (size < 1 + ncuts)
        return 0;
    const uint8_t *cuts = data + 1;
    const uint8_t *stream = data + 1 + ncuts;
    size_t len = size - 1 - ncuts;
    if (fuzz_decode(stream, len, cuts, ncuts) != fuzz_decode(stream, len, NULL, 0))
        abort();
    return 0;
}
