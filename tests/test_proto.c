/* test_proto.c - the TWS wire codec: frame decoder, writer, field reader,
 * handshake, catalogue. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/nytime.h"
#include "../proto/proto.h"
#include "testlib.h"

#define ERRLEN 256

/* ---- helpers ------------------------------------------------------------ */

static void feed(proto_decoder_t *d, const void *data, size_t len)
{
    CU_ASSERT_EQUAL_FATAL(proto_decoder_feed(d, data, len), 0);
}

/* One frame of the given NUL-separated fields; `len` counts the final NUL. */
static void put_frame(proto_writer_t *w, const char *fields, size_t len)
{
    proto_frame_begin(w);
    proto_put_raw(w, fields, len);
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);
}

/* A frame over a heap copy of exactly `len` bytes, so that ASan and
 * valgrind catch any read past it. Free with free((void *)f->payload). */
static proto_frame_t exact_frame(const void *payload, size_t len)
{
    proto_frame_t f = {NULL, len, 0};
    uint8_t *copy = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, payload, len);
    f.payload = copy;
    return f;
}

/* A frame of exact size around one field under test: a field of `before`
 * bytes (none when before is 0), the n bytes of text and its NUL (none
 * when cut: the text meets the frame's end), then a field of `after` bytes
 * of fill. r stands at the text. */
static proto_frame_t field_frame(const char *text, size_t n, int cut, size_t before,
                                 size_t after, char fill, proto_reader_t *r)
{
    char payload[128], err[ERRLEN];
    CU_ASSERT_FATAL(before + n + 1 + after <= sizeof payload);
    memset(payload, 'a', before);
    if (before > 0)
        payload[before - 1] = '\0';
    memcpy(payload + before, text, n);
    payload[before + n] = '\0';
    size_t len = before + n + !cut;
    memset(payload + len, fill, after);
    if (after > 0)
        payload[len + after - 1] = '\0';
    proto_frame_t f = exact_frame(payload, len + after);
    proto_reader_init(r, &f);
    if (before > 0)
        CU_ASSERT_EQUAL_FATAL(proto_skip(r, 1, err, sizeof err), 0);
    return f;
}

/* A mix of what a session carries: short notices, a historicalData with
 * many bars, a 127-field openOrder, a frame whose fields are all empty. */
static void build_mixed(proto_writer_t *w)
{
    proto_frame_begin(w);
    proto_put_int(w, PROTO_IN_CURRENT_TIME);
    proto_put_int(w, 1);
    proto_put_int(w, 1745609035);
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);

    proto_frame_begin(w);
    proto_put_int(w, PROTO_IN_ERR_MSG);
    proto_put_int(w, 2);
    proto_put_int(w, -1);
    proto_put_int(w, 2104);
    proto_put_str(w, "Market data farm connection is OK:usfarm");
    proto_put_empty(w);
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);

    proto_frame_begin(w);
    proto_put_int(w, PROTO_IN_HISTORICAL_DATA);
    proto_put_int(w, 5);
    proto_put_str(w, "20250425 09:30:00");
    proto_put_str(w, "20250425 16:00:00");
    proto_put_int(w, 300);
    for (int i = 0; i < 300; i++) {
        proto_put_str(w, "20250425 09:30:00");
        for (int k = 0; k < 4; k++)
            proto_put_double(w, 150.0 + i * 0.25 + k);
        proto_put_int(w, 1000 + i);
        proto_put_double(w, 150.125);
        proto_put_int(w, i);
    }
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);

    proto_frame_begin(w);
    proto_put_int(w, PROTO_IN_OPEN_ORDER);
    for (int i = 1; i < 127; i++)
        proto_put_str(w, i % 3 ? "" : "1.7976931348623157E308");
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);

    put_frame(w, "\0\0\0", 3);
}

typedef struct seen_frame {
    uint64_t offset;
    size_t len;
    uint8_t *payload;
} seen_frame_t;

#define SEEN_MAX 16

/* Decodes `data` fed in chunks of `chunk` bytes, copying each frame out
 * (frames only live until the next feed). Returns the number of frames. */
static int decode_all(const uint8_t *data, size_t len, size_t chunk, seen_frame_t *seen)
{
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    int n = 0, rc;
    proto_decoder_init(&d);
    for (size_t pos = 0; pos < len; pos += chunk) {
        feed(&d, data + pos, len - pos < chunk ? len - pos : chunk);
        while ((rc = proto_decoder_next(&d, &f, err, sizeof err)) == 1 && n < SEEN_MAX) {
            seen[n].offset = f.offset;
            seen[n].len = f.len;
            seen[n].payload = malloc(f.len);
            memcpy(seen[n].payload, f.payload, f.len);
            n++;
        }
        CU_ASSERT_EQUAL(rc, 0);
    }
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
    proto_decoder_free(&d);
    return n;
}

/* Feeds bytes and returns proto_decoder_next's result, with err. */
static int decode_one(const void *data, size_t len, proto_frame_t *f, char *err)
{
    proto_decoder_t d;
    proto_decoder_init(&d);
    feed(&d, data, len);
    int rc = proto_decoder_next(&d, f, err, ERRLEN);
    /* A failed decoder says so again on every call. */
    if (rc < 0) {
        char again[ERRLEN];
        CU_ASSERT_EQUAL(proto_decoder_next(&d, f, again, sizeof again), rc);
        CU_ASSERT_STRING_EQUAL(again, err);
    }
    proto_decoder_free(&d);
    return rc;
}

/* ---- frame decoder ------------------------------------------------------ */

static void decoder_yields_a_frame_and_its_stream_offset(void)
{
    static const uint8_t bytes[] = {0, 0, 0, 5, '4', '9', 0, '1', 0, 0, 0, 0, 3, 'x', 0, 0};
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_init(&d);
    feed(&d, bytes, sizeof bytes);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.len, 5);
    CU_ASSERT_EQUAL(f.offset, 0);
    CU_ASSERT_EQUAL(memcmp(f.payload, "49\0" "1\0", 5), 0);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.len, 3);
    CU_ASSERT_EQUAL(f.offset, 9);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
    proto_decoder_free(&d);
}

static void decoder_needs_more_bytes_until_a_frame_is_whole(void)
{
    static const uint8_t bytes[] = {0, 0, 0, 5, '4', '9', 0, '1', 0};
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_init(&d);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 0);
    feed(&d, bytes, 3);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 0);
    feed(&d, bytes + 3, 5);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 8);
    feed(&d, bytes + 8, 1);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.len, 5);
    proto_decoder_free(&d);
}

static void decoder_yields_a_mixed_set_fed_one_byte_at_a_time_as_in_one_feed(void)
{
    proto_writer_t w;
    seen_frame_t whole[SEEN_MAX], bytewise[SEEN_MAX], odd[SEEN_MAX];
    proto_writer_init(&w);
    build_mixed(&w);
    CU_ASSERT_FATAL(w.len > 8000);
    int n = decode_all(w.buf, w.len, w.len, whole);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(decode_all(w.buf, w.len, 1, bytewise), n);
    CU_ASSERT_EQUAL(decode_all(w.buf, w.len, 7919, odd), n);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(bytewise[i].offset, whole[i].offset);
        CU_ASSERT_EQUAL(bytewise[i].len, whole[i].len);
        CU_ASSERT_EQUAL(memcmp(bytewise[i].payload, whole[i].payload, whole[i].len), 0);
        CU_ASSERT_EQUAL(odd[i].len, whole[i].len);
        CU_ASSERT_EQUAL(memcmp(odd[i].payload, whole[i].payload, whole[i].len), 0);
        free(whole[i].payload);
        free(bytewise[i].payload);
        free(odd[i].payload);
    }
    proto_writer_free(&w);
}

static void decoder_rejects_a_zero_length_naming_its_byte_offset(void)
{
    static const uint8_t bytes[] = {0, 0, 0, 2, 'a', 0, 0, 0, 0, 0};
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_init(&d);
    feed(&d, bytes, sizeof bytes);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), PROTO_ERR_LENGTH);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 6: frame length 0 is zero");
    proto_decoder_free(&d);
}

static void decoder_rejects_a_length_above_16777215_naming_its_byte_offset(void)
{
    static const uint8_t bytes[] = {0x01, 0, 0, 0};
    proto_frame_t f;
    char err[ERRLEN];
    CU_ASSERT_EQUAL(decode_one(bytes, sizeof bytes, &f, err), PROTO_ERR_LENGTH);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 0: frame length 16777216 is above 16777215");
}

static void decoder_accepts_the_largest_length(void)
{
    size_t len = PROTO_LEN_MAX;
    uint8_t *bytes = calloc(1, 4 + len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    bytes[1] = bytes[2] = bytes[3] = 0xff;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_t d;
    proto_decoder_init(&d);
    feed(&d, bytes, 4 + len);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.len, PROTO_LEN_MAX);
    proto_decoder_free(&d);
    free(bytes);
}

static void decoder_rejects_a_payload_not_ending_in_nul(void)
{
    static const uint8_t bytes[] = {0, 0, 0, 3, '4', '9', 0, 0, 0, 0, 3, '4', 0, '1'};
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_init(&d);
    feed(&d, bytes, sizeof bytes);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), PROTO_ERR_FRAME);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 7: payload of 3 bytes does not end in NUL");
    proto_decoder_free(&d);
}

static void decoder_stays_failed_after_an_error(void)
{
    static const uint8_t bad[] = {0, 0, 0, 0};
    static const uint8_t good[] = {0, 0, 0, 2, 'a', 0};
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_init(&d);
    feed(&d, bad, sizeof bad);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), PROTO_ERR_LENGTH);
    /* Bytes after the failure are not even buffered. */
    feed(&d, good, sizeof good);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), sizeof bad);
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), PROTO_ERR_LENGTH);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 0: frame length 0 is zero");
    proto_decoder_free(&d);
}

/* Many small frames around one big one, fed in chunks that straddle
 * frames: the decoder must compact and grow without losing a byte. */
static void decoder_keeps_partial_frames_while_compacting_and_growing(void)
{
    proto_writer_t w;
    proto_writer_init(&w);
    char big[70000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 3000; i++) {
        proto_frame_begin(&w);
        proto_put_int(&w, i);
        if (i == 1500)
            proto_put_str(&w, big);
        CU_ASSERT_EQUAL_FATAL(proto_frame_end(&w), 0);
    }
    proto_decoder_t d;
    proto_decoder_init(&d);
    proto_frame_t f;
    char err[ERRLEN];
    int next = 0;
    size_t chunk = 1;
    for (size_t pos = 0; pos < w.len; pos += chunk, chunk = chunk * 3 % 4099 + 1) {
        feed(&d, w.buf + pos, w.len - pos < chunk ? w.len - pos : chunk);
        while (proto_decoder_next(&d, &f, err, sizeof err) == 1) {
            proto_reader_t r;
            int32_t v = -1;
            proto_reader_init(&r, &f);
            CU_ASSERT_EQUAL(proto_read_int(&r, &v, err, sizeof err), 0);
            CU_ASSERT_EQUAL(v, next);
            if (next == 1500) {
                const char *s = NULL;
                CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0);
                CU_ASSERT(s && strcmp(s, big) == 0);
            }
            CU_ASSERT_EQUAL(proto_reader_remaining(&r), 0);
            next++;
        }
    }
    CU_ASSERT_EQUAL(next, 3000);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

/* 100-byte frames in 2990-byte chunks: most chunks end inside a frame, so
 * the unread tail must move to the front of the buffer again and again,
 * and the buffer must not grow for it. */
static void decoder_compacts_in_place_when_little_is_buffered(void)
{
    proto_writer_t w;
    proto_writer_init(&w);
    for (int i = 0; i < 3000; i++) {
        char text[96];
        snprintf(text, sizeof text, "%095d", i);
        proto_frame_begin(&w);
        proto_put_str(&w, text);
        CU_ASSERT_EQUAL_FATAL(proto_frame_end(&w), 0);
    }
    proto_decoder_t d;
    proto_decoder_init(&d);
    proto_frame_t f;
    char err[ERRLEN];
    int next = 0;
    size_t cap = 0;
    for (size_t pos = 0; pos < w.len; pos += 2990) {
        feed(&d, w.buf + pos, w.len - pos < 2990 ? w.len - pos : 2990);
        if (cap == 0)
            cap = d.cap;
        CU_ASSERT_EQUAL(d.cap, cap);
        while (proto_decoder_next(&d, &f, err, sizeof err) == 1) {
            char want[96];
            snprintf(want, sizeof want, "%095d", next++);
            CU_ASSERT_EQUAL(f.len, 96);
            CU_ASSERT_EQUAL(memcmp(f.payload, want, 96), 0);
        }
    }
    CU_ASSERT_EQUAL(next, 3000);
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

/* ---- writer --------------------------------------------------------------- */

static void writer_frames_fields_behind_a_big_endian_length(void)
{
    static const uint8_t want[] = {0, 0, 0, 6, '4', '9', 0, '1', 0, 0};
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, "49");
    proto_put_int(&w, 1);
    proto_put_empty(&w);
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    CU_ASSERT_EQUAL(w.len, sizeof want);
    CU_ASSERT_EQUAL(memcmp(w.buf, want, sizeof want), 0);
    proto_writer_free(&w);
}

static void writer_refuses_an_empty_frame_and_drops_it(void)
{
    proto_writer_t w;
    proto_writer_init(&w);
    put_frame(&w, "1", 2);
    size_t len = w.len;
    proto_frame_begin(&w);
    CU_ASSERT_EQUAL(proto_frame_end(&w), PROTO_ERR_LENGTH);
    CU_ASSERT_EQUAL(w.len, len);
    /* Sticky: later frames fail too, until a reset. */
    proto_frame_begin(&w);
    proto_put_str(&w, "1");
    CU_ASSERT_EQUAL(proto_frame_end(&w), PROTO_ERR_LENGTH);
    proto_writer_reset(&w);
    CU_ASSERT_EQUAL(w.len, 0);
    put_frame(&w, "1", 2);
    CU_ASSERT_EQUAL(w.len, 6);
    proto_writer_free(&w);
}

static void writer_refuses_a_frame_above_the_largest_length(void)
{
    size_t len = PROTO_LEN_MAX;
    char *big = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', len - 1);
    big[len - 1] = '\0';
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, big);
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    proto_writer_reset(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, big);
    proto_put_empty(&w);
    CU_ASSERT_EQUAL(proto_frame_end(&w), PROTO_ERR_LENGTH);
    CU_ASSERT_EQUAL(w.len, 0);
    proto_writer_free(&w);
    free(big);
}

static void writer_refuses_unbalanced_frames(void)
{
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_frame_end(&w), PROTO_ERR_FRAME);
    proto_writer_reset(&w);
    proto_frame_begin(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, "1");
    CU_ASSERT_EQUAL(proto_frame_end(&w), PROTO_ERR_FRAME);
    proto_writer_free(&w);
}

/* The text of one field written by `put`. */
static void written_text(void (*put)(proto_writer_t *, double), double v, char *out)
{
    proto_writer_t w;
    proto_writer_init(&w);
    put(&w, v);
    CU_ASSERT_FATAL(w.len > 0 && w.buf[w.len - 1] == '\0');
    memcpy(out, w.buf, w.len);
    proto_writer_free(&w);
}

static void writer_writes_doubles_in_their_shortest_form(void)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {150.0, "150"},     {0.1, "0.1"},        {-1e-05, "-1e-05"},
        {DBL_MAX, "1.7976931348623157E308"},     {-DBL_MAX, "-1.7976931348623157E308"},
        {1.0 / 3.0, "0.3333333333333333"},       {5e-324, "5e-324"},
        {0.0, "0"},         {123.45, "123.45"},
    };
    char text[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        written_text(proto_put_double, cases[i].v, text);
        CU_ASSERT_STRING_EQUAL(text, cases[i].text);
    }
    written_text(proto_put_double, INFINITY, text);
    CU_ASSERT_STRING_EQUAL(text, "Infinity");
    written_text(proto_put_double, -INFINITY, text);
    CU_ASSERT_STRING_EQUAL(text, "-Infinity");
    written_text(proto_put_double, NAN, text);
    CU_ASSERT_STRING_EQUAL(text, "NaN");
}

/* What the writer promises for doubles, the slow way: printf's %.Ng with
 * the fewest digits that read back as the same double. */
static void shortest_by_printf(double v, char *out)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(out, 32, "%.*g", digits, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Prices, sizes and counts take a shortcut past printf; it must give the
 * same text, and a reader must give back the same double, for every
 * decimal (and for values that are no short decimal at all). */
static void doubles_round_trip_as_printf_and_strtod_would(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    char want[32], text[64];
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        static const double scale[] = {1, 100, 10000, 1e9, 3};
        double v = (double)(int64_t)(x % 2000000000000ULL - 1000000000000LL) / scale[i % 5];
        if (i % 7 == 0)
            v = ldexp((double)(x >> 11), (int)(x % 80) - 90);
        shortest_by_printf(v, want);
        written_text(proto_put_double, v, text);
        CU_ASSERT_STRING_EQUAL(text, want);
        proto_frame_t f = exact_frame(text, strlen(text) + 1);
        proto_reader_t r;
        double back = 0;
        proto_reader_init(&r, &f);
        CU_ASSERT_EQUAL(proto_read_double(&r, &back, NULL, 0), 0);
        CU_ASSERT_EQUAL(back, v);
        CU_ASSERT_EQUAL(back, strtod(text, NULL));
        free((void *)f.payload);
    }
    written_text(proto_put_double, -0.0, text);
    CU_ASSERT_STRING_EQUAL(text, "-0");
    written_text(proto_put_double, 0.0001, text);
    CU_ASSERT_STRING_EQUAL(text, "0.0001");
    written_text(proto_put_double, 99999999999999.9, text);
    CU_ASSERT_STRING_EQUAL(text, "99999999999999.9");
}

/* Decimals of up to eight digits and seven places are written from one
 * word of digits: every count of digits and places, their edges (one
 * digit, all nines, a power of ten, zeros inside and at the end, a whole
 * part of 0) and both signs read as printf writes them. */
static void short_decimals_are_written_as_printf_would(void)
{
    static const uint64_t ks[] = {1,        5,        9,        10,       12,       99,
                                  100,      101,      1000,     1005,     12345,    99999,
                                  100000,   1000001,  1234567,  9999999,  10000000, 10203040,
                                  12345678, 50000000, 99999990, 99999999, 100000000};
    char want[32], text[64];
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        for (int d = 0; d <= 9; d++) {
            for (int sign = 1; sign >= -1; sign -= 2) {
                double v = sign * ((double)ks[i] / pow(10, d));
                if (fabs(v) < 1e-4)
                    continue;
                shortest_by_printf(v, want);
                written_text(proto_put_double, v, text);
                CU_ASSERT_STRING_EQUAL(text, want);
            }
        }
    }
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.5, "0.5"},               {0.0005, "0.0005"},       {-0.1234567, "-0.1234567"},
        {1234567.1, "1234567.1"},   {99999999, "99999999"},   {100000000, "100000000"},
        {9.9999999, "9.9999999"},   {0.00012345, "0.00012345"}, {101.25, "101.25"},
        {1000000.5, "1000000.5"},   {-3700, "-3700"},         {10.1, "10.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        written_text(proto_put_double, cases[i].v, text);
        CU_ASSERT_STRING_EQUAL(text, cases[i].text);
    }
}

static void writer_writes_ints_and_bools_as_decimal_text(void)
{
    static const char want[] = "-9223372036854775808\0" "9223372036854775807\0" "0\0" "1\0" "0";
    proto_writer_t w;
    proto_writer_init(&w);
    proto_put_int(&w, INT64_MIN);
    proto_put_int(&w, INT64_MAX);
    proto_put_int(&w, 0);
    proto_put_bool(&w, 7);
    proto_put_bool(&w, 0);
    CU_ASSERT_EQUAL(w.len, sizeof want);
    CU_ASSERT_EQUAL(memcmp(w.buf, want, sizeof want), 0);
    proto_writer_free(&w);
}

/* Every digit count, each side of each power of ten, both signs, written
 * into one writer that starts empty and grows: the text must be printf's,
 * and reuse after a reset must give the same bytes. */
static void writer_writes_integers_of_every_length_as_printf_would(void)
{
    int64_t values[200];
    size_t nvalues = 0;
    values[nvalues++] = INT64_MIN;
    values[nvalues++] = INT64_MAX;
    values[nvalues++] = INT64_MIN + 1;
    for (int64_t p = 1;; p *= 10) {
        values[nvalues++] = p - 1;
        values[nvalues++] = p;
        values[nvalues++] = -p;
        values[nvalues++] = 1 - p;
        if (p > INT64_MAX / 10)
            break;
    }
    values[nvalues++] = 1745609035;
    char want[4096];
    size_t want_len = 0;
    for (size_t i = 0; i < nvalues; i++)
        want_len += (size_t)snprintf(want + want_len, sizeof want - want_len, "%lld",
                                     (long long)values[i]) + 1;
    proto_writer_t w;
    proto_writer_init(&w);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nvalues; i++)
            proto_put_int(&w, values[i]);
        CU_ASSERT_EQUAL(w.error, 0);
        CU_ASSERT_EQUAL_FATAL(w.len, want_len);
        CU_ASSERT_EQUAL(memcmp(w.buf, want, want_len), 0);
        proto_writer_reset(&w);
    }
    proto_writer_free(&w);
}

/* Integers written 8 digits at a time: random digit strings of every
 * length (zeros inside, at the ends, and whole runs of them), both signs,
 * each into a writer whose free room is just below, at and above what an
 * integer needs, so the 8-byte stores past the text and the growth at the
 * edge both show: the bytes must be printf's and nothing after them. */
static void writer_writes_integers_with_zero_runs_at_every_room_left(void)
{
    uint64_t seed = 12345;
    for (int n = 0; n < 20000; n++) {
        int digits = 1 + n % 19;
        int64_t v = 0;
        for (int i = 0; i < digits; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned d = (unsigned)(seed >> 60) % 16; /* zeros about half the time */
            if (d >= 10 || (digits == 19 && i == 0 && d == 9)) /* 19 digits: below 9e18 */
                d = 0;
            v = v * 10 + d;
        }
        if (n & 1)
            v = -v;
        char want[32];
        int want_len = snprintf(want, sizeof want, "%lld", (long long)v) + 1;
        proto_writer_t w;
        proto_writer_init(&w);
        proto_put_raw(&w, "x", 1);                        /* cap 256 */
        static const char filler[256];
        proto_put_raw(&w, filler, (size_t)(235 - 1 + n % 3)); /* 21, 20 or 19 left */
        size_t from = w.len;
        proto_put_int(&w, v);
        CU_ASSERT_EQUAL_FATAL(w.len, from + (size_t)want_len);
        CU_ASSERT_EQUAL(memcmp(w.buf + from, want, (size_t)want_len), 0);
        proto_put_int(&w, 7); /* written right after, over any stray bytes */
        CU_ASSERT_EQUAL(memcmp(w.buf + from + want_len, "7", 2), 0);
        proto_writer_free(&w);
    }
}

/* A writer that has failed writes nothing more, whatever the field. */
static void writer_writes_nothing_after_an_error(void)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_end(&w); /* an end without a begin: sticky PROTO_ERR_FRAME */
    size_t len = w.len;
    proto_put_int(&w, 42);
    proto_put_int(&w, -1234567890123);
    proto_put_str(&w, "text");
    proto_put_raw(&w, "raw", 3);
    proto_frame_begin(&w);
    CU_ASSERT_EQUAL(w.len, len);
    CU_ASSERT_EQUAL(proto_frame_end(&w), PROTO_ERR_FRAME);
    proto_writer_free(&w);
}

/* A frame of the n integers in v, field by field: what the writer's
 * one-store tests compare with. */
static int frame_of_ints(proto_writer_t *w, const int64_t *v, size_t n)
{
    proto_frame_begin(w);
    for (size_t i = 0; i < n; i++)
        proto_put_int(w, v[i]);
    return proto_frame_end(w);
}

/* Frames of 1 to 8 random integers of every length (zero runs among the
 * digits) and sign, written into a writer that is reused and grows, each
 * with every room left around what a field needs: the bytes must be
 * printf's, behind the frame's length. */
static void writer_writes_random_frames_of_ints_as_printf_would(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    proto_writer_t w;
    proto_writer_init(&w);
    for (int i = 0; i < 20000; i++) {
        int64_t v[8];
        size_t n = 1 + (size_t)(i % 8);
        char want[8 * 21 + 4];
        size_t want_len = 4;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int digits = 1 + (int)(x % 19);
            uint64_t mag = 0;
            for (int d = 0; d < digits; d++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                unsigned digit = (unsigned)(x >> 59) % 16;
                mag = mag * 10 + (digit >= 10 ? 0 : digit);
            }
            v[k] = (x >> 20 & 1) ? -(int64_t)mag : (int64_t)mag;
            if (x % 97 == 0)
                v[k] = (x >> 30 & 1) ? INT64_MIN : INT64_MAX;
            want_len += (size_t)snprintf(want + want_len, sizeof want - want_len, "%lld",
                                         (long long)v[k]) + 1;
        }
        uint32_t payload = (uint32_t)(want_len - 4);
        want[0] = 0, want[1] = 0, want[2] = (char)(payload >> 8), want[3] = (char)payload;
        proto_writer_reset(&w);
        static const uint8_t filler[256];
        size_t fill = (size_t)(i % 256);
        proto_put_raw(&w, filler, fill);
        CU_ASSERT_EQUAL(frame_of_ints(&w, v, n), 0);
        CU_ASSERT_EQUAL(w.in_frame, 0);
        CU_ASSERT_EQUAL_FATAL(w.len, fill + want_len);
        CU_ASSERT_EQUAL(memcmp(w.buf + fill, want, want_len), 0);
    }
    proto_writer_free(&w);
}

/* Nine and ten digits (Unix times) are split at 10^8 by a multiply: each
 * side of every multiple of 10^8 up to 10^10, both signs, and the ends of
 * the range must be printf's text, alone and inside a frame of ints. */
static void writer_writes_nine_and_ten_digit_integers_at_every_split(void)
{
    proto_writer_t w;
    proto_writer_init(&w);
    for (int64_t k = 1; k <= 100; k++) {
        const int64_t around[] = {k * 100000000 - 1, k * 100000000, k * 100000000 + 1,
                                  k * 100000000 + 99999999 - (k == 100) * 100000000};
        for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
            for (int neg = 0; neg < 2; neg++) {
                int64_t v = neg ? -around[i] : around[i];
                char want[32];
                int n = snprintf(want, sizeof want, "%lld", (long long)v) + 1;
                proto_writer_reset(&w);
                proto_put_int(&w, v);
                CU_ASSERT_EQUAL_FATAL(w.len, (size_t)n);
                CU_ASSERT_EQUAL(memcmp(w.buf, want, (size_t)n), 0);
                const int64_t fields[] = {49, 1, v};
                proto_writer_reset(&w);
                CU_ASSERT_EQUAL(frame_of_ints(&w, fields, 3), 0);
                CU_ASSERT_EQUAL_FATAL(w.len, 4 + 5 + (size_t)n);
                CU_ASSERT_EQUAL(memcmp(w.buf + 9, want, (size_t)n), 0);
            }
        }
    }
    proto_writer_free(&w);
}

/* proto_frame_id_value_put writes, into a buffer of exactly the room it
 * asks for (a heap block, so that a sanitizer sees a byte past it), the
 * bytes a writer gives for the frame {id, 1, v}, and
 * returns their length: ids of one and two digits (the one-store head),
 * and beyond them both ways; values of every length and sign. */
static void frame_of_id_and_value_put_on_the_stack_is_the_writers_frame(void)
{
    static const int ids[] = {0, 1, 4, 9, 10, 49, 99, 100, 101, 999, -1, -10, INT32_MAX, INT32_MIN};
    static const int64_t values[] = {0, 1, -1, 9, 10, 99, 100, 12345678, 123456789, 1765376705,
                                     9999999999, 10000000000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            const int64_t fields[] = {ids[i], 1, values[k]};
            proto_writer_t w;
            proto_writer_init(&w);
            CU_ASSERT_EQUAL(frame_of_ints(&w, fields, 3), 0);
            uint8_t *buf = malloc(PROTO_ID_VALUE_ROOM);
            CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
            memset(buf, 0xAA, PROTO_ID_VALUE_ROOM); /* no zero left over to help */
            int len = proto_frame_id_value_put(buf, ids[i], values[k]);
            CU_ASSERT_EQUAL_FATAL(len, (int)w.len);
            CU_ASSERT_EQUAL(memcmp(buf, w.buf, w.len), 0);
            free(buf);
            proto_writer_free(&w);
        }
    }
    /* A buffer reused for a shorter frame: only the frame's bytes count. */
    uint8_t buf[PROTO_ID_VALUE_ROOM];
    CU_ASSERT_EQUAL(proto_frame_id_value_put(buf, 49, INT64_MIN), 4 + 3 + 2 + 21);
    CU_ASSERT_EQUAL(proto_frame_id_value_put(buf, 49, 1765376705), 4 + 3 + 2 + 11);
    CU_ASSERT_EQUAL(memcmp(buf, "\0\0\0\x10" "49\0" "1\0" "1765376705\0", 20), 0);
    CU_ASSERT_EQUAL(proto_frame_id_value_put(buf, 9, 7), 4 + 2 + 2 + 2);
    CU_ASSERT_EQUAL(memcmp(buf, "\0\0\0\x06" "9\0" "1\0" "7\0", 10), 0);
}

/* ---- field reader --------------------------------------------------------- */

static void reader_reads_the_head_of_an_err_msg_and_names_a_bad_code(void)
{
    static const char good[] = "4\0" "2\0" "7\0" "162\0" "HMDS query returned no data\0";
    proto_frame_t f = exact_frame(good, sizeof good - 1);
    proto_reader_t r;
    proto_err_msg_t m;
    char err[ERRLEN];
    const char *s;
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0); /* the message id */
    CU_ASSERT_EQUAL(proto_read_err_msg(&r, &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(m.id, 7);
    CU_ASSERT_EQUAL(m.code, 162);
    CU_ASSERT_STRING_EQUAL(m.text, "HMDS query returned no data");
    free((void *)f.payload);
    static const char bad[] = "4\0" "2\0" "-1\0" "x\0" "text\0";
    f = exact_frame(bad, sizeof bad - 1);
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_err_msg(&r, &m, err, sizeof err), PROTO_ERR_FIELD);
    CU_ASSERT_STRING_EQUAL(err, "field 3: expected an integer, got \"x\"");
    free((void *)f.payload);
}

static void reader_names_the_field_index_of_a_non_numeric_int(void)
{
    static const char payload[] = "1\0" "2\0" "3\0" "abc";
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    int32_t v;
    const char *s;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    for (int i = 1; i <= 3; i++) {
        CU_ASSERT_EQUAL(proto_read_int(&r, &v, err, sizeof err), 0);
        CU_ASSERT_EQUAL(v, i);
    }
    CU_ASSERT_EQUAL(proto_read_int(&r, &v, err, sizeof err), PROTO_ERR_FIELD);
    CU_ASSERT_STRING_EQUAL(err, "field 3: expected an integer, got \"abc\"");
    /* The failed read did not move the reader. */
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    free((void *)f.payload);
}

static void reader_reads_every_unset_form(void)
{
    static const char payload[] = "\0" "2147483647\0" "\0" "9223372036854775807\0"
                                  "\0" "1.7976931348623157e+308\0" "1.7976931348623157E308\0"
                                  "\0" "170141183460469231731687303715884105727\0";
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    int32_t i32[2];
    int64_t i64[2];
    double d[3];
    const char *dec[2];
    int b = -1;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_read_int(&r, &i32[0], err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_int(&r, &i32[1], err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_int64(&r, &i64[0], err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_int64(&r, &i64[1], err, sizeof err), 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(proto_read_double(&r, &d[i], err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_decimal(&r, &dec[0], err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_decimal(&r, &dec[1], err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_bool(&r, &b, err, sizeof err), 0);
    CU_ASSERT_EQUAL(i32[0], PROTO_INT_UNSET);
    CU_ASSERT_EQUAL(i32[1], PROTO_INT_UNSET);
    CU_ASSERT_EQUAL(i64[0], PROTO_INT64_UNSET);
    CU_ASSERT_EQUAL(i64[1], PROTO_INT64_UNSET);
    for (int i = 0; i < 3; i++)
        CU_ASSERT(d[i] == PROTO_DBL_UNSET);
    CU_ASSERT_STRING_EQUAL(dec[0], "");
    CU_ASSERT_STRING_EQUAL(dec[1], "");
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(proto_reader_remaining(&r), 0);
    free((void *)f.payload);
}

static void reader_reads_infinity_in_every_spelling(void)
{
    static const char payload[] = "Infinity\0" "Infinite\0" "-Infinity\0" "-Infinite\0" "NaN";
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    double v;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(proto_read_double(&r, &v, err, sizeof err), 0);
        CU_ASSERT(isinf(v) && (v > 0) == (i < 2));
    }
    CU_ASSERT_EQUAL(proto_read_double(&r, &v, err, sizeof err), 0);
    CU_ASSERT(isnan(v));
    free((void *)f.payload);
}

static void reader_reads_doubles_in_every_client_style(void)
{
    static const char payload[] = "150\0" "150.0\0" "1e-05\0" "-2.5E3\0" "+.5\0" "7.";
    static const double want[] = {150.0, 150.0, 1e-05, -2500.0, 0.5, 7.0};
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    double v;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL(proto_read_double(&r, &v, err, sizeof err), 0);
        CU_ASSERT(v == want[i]);
    }
    free((void *)f.payload);
}

/* Reads one field of `text` with `read`, expecting PROTO_ERR_FIELD and
 * an error text that contains `want`. */
typedef int (*read_fn)(proto_reader_t *r, void *out, char *err, size_t errlen);

static int read_int_any(proto_reader_t *r, void *out, char *err, size_t errlen)
{
    return proto_read_int(r, out, err, errlen);
}

static int read_int64_any(proto_reader_t *r, void *out, char *err, size_t errlen)
{
    return proto_read_int64(r, out, err, errlen);
}

static int read_double_any(proto_reader_t *r, void *out, char *err, size_t errlen)
{
    return proto_read_double(r, out, err, errlen);
}

static int read_decimal_any(proto_reader_t *r, void *out, char *err, size_t errlen)
{
    return proto_read_decimal(r, out, err, errlen);
}

static int read_bool_any(proto_reader_t *r, void *out, char *err, size_t errlen)
{
    return proto_read_bool(r, out, err, errlen);
}

static void expect_field_error(read_fn read, const char *text, const char *want)
{
    proto_frame_t f = exact_frame(text, strlen(text) + 1);
    proto_reader_t r;
    union {
        int32_t i32;
        int64_t i64;
        double d;
        const char *s;
        int b;
    } out;
    char err[ERRLEN] = "";
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(read(&r, &out, err, sizeof err), PROTO_ERR_FIELD);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    if (!strstr(err, want))
        fprintf(stderr, "\n  for \"%s\": got \"%s\", want \"%s\"\n", text, err, want);
    CU_ASSERT_EQUAL(r.index, 0);
    CU_ASSERT_EQUAL(r.pos, 0);
    free((void *)f.payload);
}

static void reader_rejects_malformed_and_out_of_range_numbers(void)
{
    const char *range = "(out of range)";
    expect_field_error(read_int_any, "2147483648", range);
    expect_field_error(read_int_any, "-2147483649", range);
    expect_field_error(read_int_any, "99999999999999999999999", range);
    expect_field_error(read_int64_any, "9223372036854775808", range);
    expect_field_error(read_int64_any, "-9223372036854775809", range);
    expect_field_error(read_double_any, "1e999", range);
    expect_field_error(read_int_any, "-", "got \"-\"");
    expect_field_error(read_int_any, "1.0", "expected an integer");
    expect_field_error(read_int_any, " 1", "expected an integer");
    expect_field_error(read_int_any, "0x10", "expected an integer");
    expect_field_error(read_int64_any, "12a", "expected an integer");
    expect_field_error(read_double_any, "abc", "field 0: expected a number, got \"abc\"");
    expect_field_error(read_double_any, "1e", "expected a number");
    expect_field_error(read_double_any, ".", "expected a number");
    expect_field_error(read_double_any, "1.2.3", "expected a number");
    expect_field_error(read_double_any, "0x1p3", "expected a number");
    expect_field_error(read_double_any, " 1", "expected a number");
    expect_field_error(read_double_any, "inf", "expected a number");
    expect_field_error(read_decimal_any, "1,000", "expected a decimal");
    expect_field_error(read_bool_any, "2", "expected a bool (1 or 0)");
    expect_field_error(read_bool_any, "true", "expected a bool");
    expect_field_error(read_int_any, "\x01\xff\"", "got \"\\x01\\xff\\\"\"");
}

/* One double field at `before` bytes into a frame, `after` bytes of other
 * fields behind it (0: it ends the frame), read as proto_read_double does
 * and as strtod does: the same value (and sign), the same error, the reader
 * in the same place. */
static void expect_double_as_strtod(const char *text, size_t before, size_t after)
{
    size_t n = strlen(text);
    char *end;
    double want = strtod(text, &end);
    int plain = n > 0 && *end == '\0' && strspn(text, "+-.0123456789eE") == n;
    if (n == 0) { /* the unset form */
        plain = 1;
        want = PROTO_DBL_UNSET;
    }
    proto_reader_t r;
    proto_frame_t f = field_frame(text, n, 0, before, after, '7', &r);
    char err[ERRLEN];
    double got = 5;
    int rc = proto_read_double(&r, &got, err, sizeof err);
    CU_ASSERT_EQUAL(rc, plain ? 0 : PROTO_ERR_FIELD);
    if (plain && (got != want || signbit(got) != signbit(want)))
        fprintf(stderr, "\n  \"%s\": read %.17g, strtod %.17g\n", text, got, want);
    CU_ASSERT(plain ? got == want && signbit(got) == signbit(want) : got == 5);
    CU_ASSERT_EQUAL(r.pos, plain ? before + n + 1 : before);
    CU_ASSERT_EQUAL(r.index, (before > 0) + plain);
    free((void *)f.payload);
}

/* Prices are read 8 bytes at a time with the '.' squeezed out, and longer
 * decimals 8 digits at a time; each must be strtod's double, whatever the
 * digits, the sign, where the point is, and how near the frame's end the
 * field lies. */
static void reader_reads_random_decimals_as_strtod_would(void)
{
    uint64_t x = 0x2545f4914f6cdd1dULL;
    char text[48];
    for (int i = 0; i < 60000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t y = x;
        size_t n = 0;
        static const char *const signs[] = {"", "", "-", "+"};
        const char *sign = signs[y & 3];
        y >>= 2;
        memcpy(text, sign, strlen(sign));
        n += strlen(sign);
        int whole = (int)(y % 18), frac = (int)(y / 18 % 18), point = (y / 324 % 4) != 0;
        y /= 1296;
        for (int k = 0; k < whole; k++, y = y * 6364136223846793005ULL + 1442695040888963407ULL)
            text[n++] = (char)('0' + (k == 0 && i % 3 == 0 ? 0 : y >> 60 & 7) + (y >> 59 & 1) * 2);
        if (point)
            text[n++] = '.';
        for (int k = 0; point && k < frac; k++, y = y * 6364136223846793005ULL + 1442695040888963407ULL)
            text[n++] = (char)('0' + (y >> 58) % 10);
        text[n] = '\0';
        expect_double_as_strtod(text, i % 11, (size_t)(i % 13));
    }
}

static void reader_reads_decimal_edge_cases_as_strtod_would(void)
{
    static const char *const texts[] = {
        "0", "-0", "+0", "-0.0", ".5", "-.5", "+.5", "5.", "-5.", ".", "-", "+", "-.", "",
        "194.37", "194.3", "1943", "0.01", "0.0001", "9999999", "1234567.", "1234567.5",
        "12345678", "12345678.5", "1.2345678", "0.1234567", ".1234567", ".12345678",
        "999999999999999", "99999999999999.9", "0.000000000000001", "9999999999999999",
        "9007199254740993", "0.30000000000000004", "123456789012345678901234567890",
        "1.2.3", "12a", "1e5", "1E5", "-1.5e-3", "12 ", " 12", "1..2", "--1", "+-1", "1-",
        "..5", "5..", "1234567\xfa", "12\x2f" "4", "12\x3a" "4"
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
        for (size_t before = 0; before <= 10; before += 5)
            for (size_t after = 0; after <= 12; after++)
                expect_double_as_strtod(texts[t], before, after);
}

static void reader_reads_the_extremes_of_each_integer_type(void)
{
    static const char payload[] = "-2147483648\0" "+17\0" "-9223372036854775808\0" "-0";
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    int32_t a, b;
    int64_t c, z;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_read_int(&r, &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_int(&r, &b, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_int64(&r, &c, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_int64(&r, &z, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a, INT32_MIN);
    CU_ASSERT_EQUAL(b, 17);
    CU_ASSERT_EQUAL(c, INT64_MIN);
    CU_ASSERT_EQUAL(z, 0);
    free((void *)f.payload);
}

static void reader_reads_decimals_and_bools(void)
{
    static const char payload[] = "10\0" "0.5\0" "-1.5e3\0" "1\0" "0";
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    const char *s;
    int b;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_read_decimal(&r, &s, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(s, "10");
    CU_ASSERT_EQUAL(proto_read_decimal(&r, &s, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(s, "0.5");
    CU_ASSERT_EQUAL(proto_read_decimal(&r, &s, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(s, "-1.5e3");
    CU_ASSERT_EQUAL(proto_read_bool(&r, &b, err, sizeof err), 0);
    CU_ASSERT_EQUAL(b, 1);
    CU_ASSERT_EQUAL(proto_read_bool(&r, &b, err, sizeof err), 0);
    CU_ASSERT_EQUAL(b, 0);
    free((void *)f.payload);
}

static void reader_reports_a_missing_field_and_skips_all_or_nothing(void)
{
    static const char payload[] = "a\0" "b\0" "c";
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    const char *s;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_reader_remaining(&r), 3);
    CU_ASSERT_EQUAL(proto_skip(&r, 4, err, sizeof err), PROTO_ERR_MISSING);
    CU_ASSERT_STRING_EQUAL(err, "field 3: missing (the message has 3 fields)");
    CU_ASSERT_EQUAL(proto_reader_remaining(&r), 3);
    CU_ASSERT_EQUAL(proto_skip(&r, 2, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(s, "c");
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), PROTO_ERR_MISSING);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, NULL, 0), PROTO_ERR_MISSING);
    free((void *)f.payload);
}

static void reader_refuses_an_unterminated_last_field(void)
{
    static const char payload[] = {'4', '9', 0, '1', '2', '3'};
    proto_frame_t f = exact_frame(payload, sizeof payload);
    proto_reader_t r;
    const char *s;
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_reader_remaining(&r), 2);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), PROTO_ERR_FIELD);
    CU_ASSERT_STRING_EQUAL(err, "field 1: not NUL-terminated");
    free((void *)f.payload);
}

/* Frames of every length up to 80 with NULs in pseudo-random places, each
 * in a buffer of exactly its size: the fields found must be those a plain
 * byte scan finds, and nothing may be read past the frame (ASan, valgrind). */
static void reader_finds_every_field_of_every_frame_shape(void)
{
    uint32_t seed = 12345;
    for (size_t len = 1; len <= 80; len++) {
        for (int round = 0; round < 20; round++) {
            char payload[80];
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                payload[i] = (seed >> 16) % 5 == 0 ? '\0' : 'a';
            }
            proto_frame_t f = exact_frame(payload, len);
            proto_reader_t r;
            const char *s;
            char err[ERRLEN];
            size_t pos = 0;
            proto_reader_init(&r, &f);
            while (pos < len) {
                const char *nul = memchr(payload + pos, 0, len - pos);
                int rc = proto_read_str(&r, &s, err, sizeof err);
                if (!nul) {
                    CU_ASSERT_EQUAL(rc, PROTO_ERR_FIELD);
                    break;
                }
                CU_ASSERT_EQUAL_FATAL(rc, 0);
                CU_ASSERT_EQUAL(s, (const char *)f.payload + pos);
                CU_ASSERT_EQUAL(strlen(s), (size_t)(nul - (payload + pos)));
                pos = (size_t)(nul - payload) + 1;
            }
            free((void *)f.payload);
        }
    }
}

/* The same frames: proto_reader_remaining and proto_skip (of every count
 * from every field) must agree with a plain byte scan, counting an
 * unterminated tail as a field that cannot be skipped. */
static void reader_counts_and_skips_fields_across_16_byte_blocks(void)
{
    uint32_t seed = 777;
    for (size_t len = 1; len <= 80; len++) {
        for (int round = 0; round < 10; round++) {
            char payload[80];
            size_t starts[81], nfields = 0;
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                payload[i] = (seed >> 16) % (round < 5 ? 3 : 9) == 0 ? '\0' : 'a';
            }
            for (size_t pos = 0; pos < len; nfields++) {
                starts[nfields] = pos;
                const char *nul = memchr(payload + pos, 0, len - pos);
                pos = nul ? (size_t)(nul - payload) + 1 : len;
            }
            int terminated = payload[len - 1] == '\0';
            size_t whole = nfields - !terminated; /* fields that end in a NUL */
            proto_frame_t f = exact_frame(payload, len);
            char err[ERRLEN];
            for (size_t from = 0; from <= nfields; from++) {
                proto_reader_t r;
                proto_reader_init(&r, &f);
                if (from > 0)
                    CU_ASSERT_EQUAL_FATAL(proto_skip(&r, (int)from - (from > whole), err,
                                                     sizeof err), 0);
                if (from > whole)
                    break; /* past every whole field: only the tail is left */
                CU_ASSERT_EQUAL(proto_reader_remaining(&r), (int)(nfields - from));
                for (size_t n = 0; n <= nfields - from + 1; n++) {
                    proto_reader_t k = r;
                    int rc = proto_skip(&k, (int)n, err, sizeof err);
                    if (from + n <= whole) {
                        CU_ASSERT_EQUAL(rc, 0);
                        CU_ASSERT_EQUAL(k.index, (int)(from + n));
                        CU_ASSERT_EQUAL(k.pos, from + n < nfields ? starts[from + n] : len);
                    } else {
                        /* The walk stops at the tail, or past the last field. */
                        CU_ASSERT_EQUAL(rc, terminated ? PROTO_ERR_MISSING : PROTO_ERR_FIELD);
                        CU_ASSERT_EQUAL(k.index, r.index); /* all or nothing */
                        CU_ASSERT_EQUAL(k.pos, r.pos);
                    }
                }
            }
            free((void *)f.payload);
        }
    }
}

/* The short-integer path and the checked one must agree on every text:
 * each is read in a frame of its own (shorter and longer than 16 bytes,
 * as the last field and before another) and compared with strtoll. */
static void reader_reads_integers_of_every_length_and_sign_as_strtoll_would(void)
{
    static const char *const texts[] = {
        "0", "7", "-7", "+7", "-0", "+0", "00", "0049", "12", "-12", "1745609035",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296",
        "999999999999999999", "-999999999999999999", "1000000000000000000",
        "-1000000000000000000", "000000000000000000000000042", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "", "-", "+", "--1", "1-", "1 ", " 1", "1a", "a1", "12.5",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const char *text = texts[t];
        size_t n = strlen(text);
        /* What the text means: strtoll for plain [sign]digits, else bad. */
        int plain = n > 0 && strspn(text + (text[0] == '-' || text[0] == '+'), "0123456789") ==
                                 n - (text[0] == '-' || text[0] == '+') &&
                    n > (size_t)(text[0] == '-' || text[0] == '+');
        errno = 0;
        long long want = plain ? strtoll(text, NULL, 10) : 0;
        int fits64 = plain && errno != ERANGE;
        int fits32 = fits64 && want >= INT32_MIN && want <= INT32_MAX;
        for (int layout = 0; layout < 4; layout++) {
            char payload[96];
            size_t len = 0;
            if (layout & 1) { /* a long field before it: the frame passes 16 bytes */
                memcpy(payload, "padding-field-of-20\0", 20);
                len = 20;
            }
            memcpy(payload + len, text, n + 1);
            len += n + 1;
            if (layout & 2) {
                memcpy(payload + len, "9", 2);
                len += 2;
            }
            proto_frame_t f = exact_frame(payload, len);
            proto_reader_t r;
            char err[ERRLEN];
            int32_t i32 = 5;
            int64_t i64 = 5;
            proto_reader_init(&r, &f);
            if (layout & 1)
                CU_ASSERT_EQUAL_FATAL(proto_skip(&r, 1, err, sizeof err), 0);
            proto_reader_t again = r;
            char err64[ERRLEN] = "";
            err[0] = '\0';
            int rc32 = proto_read_int(&r, &i32, err, sizeof err);
            int rc64 = proto_read_int64(&again, &i64, err64, sizeof err64);
            if (n == 0) {
                CU_ASSERT(rc32 == 0 && i32 == PROTO_INT_UNSET);
                CU_ASSERT(rc64 == 0 && i64 == PROTO_INT64_UNSET);
            } else {
                CU_ASSERT_EQUAL(rc32, fits32 ? 0 : PROTO_ERR_FIELD);
                CU_ASSERT_EQUAL(rc64, fits64 ? 0 : PROTO_ERR_FIELD);
                CU_ASSERT_EQUAL(i32, fits32 ? (int32_t)want : 5);
                CU_ASSERT_EQUAL(i64, fits64 ? (int64_t)want : 5);
                /* Too big is "out of range", anything else not. */
                CU_ASSERT_EQUAL(strstr(err, "(out of range)") != NULL, plain && !fits32);
                CU_ASSERT_EQUAL(strstr(err64, "(out of range)") != NULL, plain && !fits64);
            }
            /* The reader moved past exactly this field, or not at all. */
            CU_ASSERT_EQUAL(r.index, (layout & 1) + (rc32 == 0));
            CU_ASSERT_EQUAL(again.index, (layout & 1) + (rc64 == 0));
            if (rc64 == 0 && (layout & 2)) {
                CU_ASSERT_EQUAL(proto_read_int64(&again, &i64, err, sizeof err), 0);
                CU_ASSERT_EQUAL(i64, 9);
            }
            free((void *)f.payload);
        }
    }
}

/* A digit run that reaches the end of a frame without its NUL is not a
 * field: the short-integer path must not read past the frame for one. */
static void reader_refuses_digits_that_run_to_the_end_of_the_frame(void)
{
    static const char payload[] = {'4', '9', 0, '1', '7', '4', '5'};
    for (size_t cut = 4; cut <= sizeof payload; cut++) {
        proto_frame_t f = exact_frame(payload, cut);
        proto_reader_t r;
        int32_t v;
        int64_t w;
        char err[ERRLEN];
        proto_reader_init(&r, &f);
        CU_ASSERT_EQUAL(proto_read_int(&r, &v, err, sizeof err), 0);
        CU_ASSERT_EQUAL(proto_read_int(&r, &v, err, sizeof err), PROTO_ERR_FIELD);
        CU_ASSERT_STRING_EQUAL(err, "field 1: not NUL-terminated");
        CU_ASSERT_EQUAL(proto_read_int64(&r, &w, err, sizeof err), PROTO_ERR_FIELD);
        CU_ASSERT_EQUAL(r.index, 1);
        free((void *)f.payload);
    }
}

/* The readers take 8 bytes at a time, as two overlapping loads near a
 * frame's end: every integer of 1 to 17 digits, at every position of
 * frames of every length (so the field meets the end at each offset),
 * must read as strtoll says, and the bytes around the digit range ('/',
 * ':', 0xFA and up, whose +6 carries) must stop a field as bad. */
static void reader_reads_integers_at_every_offset_from_the_frame_end(void)
{
    static const char *const texts[] = {
        "5", "49", "100", "1234", "90817", "100000", "7000007", "12345678", "99999999",
        "100000000", "1765376700", "123456789012", "100000000000000", "999999999999999",
        "1234567890123456", "12345678901234567", "-5", "-12345678", "-1765376700", "+42",
        "4/", "4:", "/4", ":4", "12345678:", "1234567\xfa", "\xff" "9", "12\xfa" "45", "123456789/",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const char *text = texts[t];
        size_t n = strlen(text);
        char *end;
        errno = 0;
        long long want = strtoll(text, &end, 10);
        int plain = *end == '\0' && end != text;
        for (size_t before = 0; before <= 20; before++) {
            for (size_t after = 0; after <= 9; after += 3) {
                proto_reader_t r, r64;
                proto_frame_t f = field_frame(text, n, 0, before, after, 'b', &r);
                char err[ERRLEN];
                int32_t i32 = 5;
                int64_t i64 = 5;
                r64 = r;
                int rc32 = proto_read_int(&r, &i32, err, sizeof err);
                int rc64 = proto_read_int64(&r64, &i64, err, sizeof err);
                int fits32 = plain && want >= INT32_MIN && want <= INT32_MAX;
                CU_ASSERT_EQUAL(rc32, fits32 ? 0 : PROTO_ERR_FIELD);
                CU_ASSERT_EQUAL(rc64, plain ? 0 : PROTO_ERR_FIELD);
                CU_ASSERT_EQUAL(i32, fits32 ? (int32_t)want : 5);
                CU_ASSERT_EQUAL(i64, plain ? (int64_t)want : 5);
                CU_ASSERT_EQUAL(r64.pos, plain ? before + n + 1 : before);
                CU_ASSERT_EQUAL(r64.index, (before > 0) + plain);
                free((void *)f.payload);
            }
        }
    }
}

/* Random integer texts of 1 to 20 digits (leading zeros and zero runs
 * among them), each sign, some with one byte swapped for a non-digit
 * ('/', ':', ' ', 'a', 0x80, 0xFA, 0xFF) anywhere, some with the digit run cut
 * by the frame's end: at every distance from the frame's start and end,
 * proto_read_int and proto_read_int64 must give what strtoll gives (value,
 * range error, "expected an integer"), and the reader must move past
 * exactly the field or not at all. The fast paths read 8 bytes, then the
 * last 8 bytes up to 16 or the frame's end: every length meets the end at
 * every offset here. */
static void reader_reads_random_integers_as_strtoll_would_near_the_frame_end(void)
{
    static const char bad_bytes[] = {'/', ':', ' ', 'a', (char)0x80, (char)0xfa, (char)0xff};
    uint64_t x = 0x853c49e6748fea9bULL;
    for (int i = 0; i < 40000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t y = x;
        char text[32];
        size_t n = 0;
        static const char *const signs[] = {"", "", "-", "+"};
        const char *sign = signs[y & 3];
        y >>= 2;
        memcpy(text, sign, strlen(sign));
        n += strlen(sign);
        size_t digits = 1 + (size_t)(y % 20);
        y /= 20;
        for (size_t k = 0; k < digits; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned d = (unsigned)(x >> 59) % 16; /* zeros about half the time */
            text[n++] = (char)('0' + (d >= 10 ? 0 : d));
        }
        if (y % 5 == 0) /* one byte that is not a digit */
            text[(y / 5) % n] = bad_bytes[(y / 100) % sizeof bad_bytes];
        y /= 600;
        text[n] = '\0';
        int cut = y % 7 == 0; /* no NUL: the run meets the frame's end */
        size_t before = (size_t)(i % 19), after = cut ? 0 : (size_t)(i / 19 % 11);

        char *end;
        errno = 0;
        long long want = strtoll(text, &end, 10);
        int plain = !cut && *end == '\0' && end != text && text[0] != ' ' &&
                    strspn(text + (text[0] == '-' || text[0] == '+'), "0123456789") ==
                        n - (text[0] == '-' || text[0] == '+');
        int fits64 = plain && errno != ERANGE;
        int fits32 = fits64 && want >= INT32_MIN && want <= INT32_MAX;

        proto_reader_t r, r64;
        proto_frame_t f = field_frame(text, n, cut, before, after, '8', &r);
        char err[ERRLEN] = "", err64[ERRLEN] = "";
        int32_t i32 = 5;
        int64_t i64 = 5;
        r64 = r;
        int rc32 = proto_read_int(&r, &i32, err, sizeof err);
        int rc64 = proto_read_int64(&r64, &i64, err64, sizeof err64);
        CU_ASSERT_EQUAL(rc32, fits32 ? 0 : PROTO_ERR_FIELD);
        CU_ASSERT_EQUAL(rc64, fits64 ? 0 : PROTO_ERR_FIELD);
        CU_ASSERT_EQUAL(i32, fits32 ? (int32_t)want : 5);
        CU_ASSERT_EQUAL(i64, fits64 ? (int64_t)want : 5);
        if (rc64 != (fits64 ? 0 : PROTO_ERR_FIELD) || i64 != (fits64 ? (int64_t)want : 5))
            fprintf(stderr, "\n  \"%s\" at %zu, %zu after, cut %d: rc %d, %lld\n", text, before,
                    after, cut, rc64, (long long)i64);
        CU_ASSERT_EQUAL(strstr(err, "(out of range)") != NULL, plain && !fits32);
        CU_ASSERT_EQUAL(strstr(err64, "(out of range)") != NULL, plain && !fits64);
        CU_ASSERT_EQUAL(strstr(err64, "not NUL-terminated") != NULL, cut);
        CU_ASSERT_EQUAL(strstr(err64, "expected an integer") != NULL, !cut && !fits64);
        CU_ASSERT_EQUAL(r.pos, fits32 ? before + n + 1 : before);
        CU_ASSERT_EQUAL(r64.pos, fits64 ? before + n + 1 : before);
        CU_ASSERT_EQUAL(r64.index, (before > 0) + fits64);
        free((void *)f.payload);
    }
}

/* A frame of exact size holding n digits with no NUL, behind `before`
 * bytes of one field (none when before is 0): r stands at the digits. */
static proto_frame_t cut_digits_frame(size_t before, size_t n, proto_reader_t *r)
{
    return field_frame("12345678901234567", n, 1, before, 0, 0, r);
}

/* Digits cut off by the frame's end at every length from 1 to 17, in
 * frames shorter and longer than 8 bytes: never a field. */
static void reader_refuses_long_digit_runs_cut_by_the_frame_end(void)
{
    for (size_t n = 1; n <= 17; n++) {
        for (size_t before = 0; before <= 9; before += 9) {
            proto_reader_t r;
            proto_frame_t f = cut_digits_frame(before, n, &r);
            char err[ERRLEN];
            int32_t i32 = 5;
            int64_t i64 = 5;
            CU_ASSERT_EQUAL(proto_read_int(&r, &i32, err, sizeof err), PROTO_ERR_FIELD);
            CU_ASSERT_EQUAL(proto_read_int64(&r, &i64, err, sizeof err), PROTO_ERR_FIELD);
            CU_ASSERT(i32 == 5 && i64 == 5);
            CU_ASSERT_EQUAL(r.pos, before);
            free((void *)f.payload);
        }
    }
}

/* Counting by byte lanes: a frame of more than 255 blocks of nothing but
 * NULs (where an 8-bit lane would wrap) and long mixed frames, from every
 * start, must count what a plain byte scan counts. */
static void reader_counts_the_fields_of_long_frames(void)
{
    static char payload[9000];
    for (int pattern = 0; pattern < 3; pattern++) {
        uint32_t seed = 99;
        for (size_t i = 0; i < sizeof payload; i++) {
            seed = seed * 1103515245u + 12345u;
            payload[i] = pattern == 0 ? '\0' : (seed >> 16) % (pattern == 1 ? 2 : 7) ? 'z' : '\0';
        }
        payload[sizeof payload - 1] = '\0';
        proto_frame_t f = exact_frame(payload, sizeof payload);
        for (size_t from = 0; from < sizeof payload; from += from < 40 ? 1 : 997) {
            int want = 0;
            for (size_t i = from; i < sizeof payload; i++)
                want += payload[i] == '\0';
            proto_reader_t r;
            proto_reader_init(&r, &f);
            r.pos = from; /* a field starts there in pattern 0; the count is bytewise anyway */
            if (pattern == 0 || from == 0 || payload[from - 1] == '\0')
                CU_ASSERT_EQUAL(proto_reader_remaining(&r), want);
        }
        free((void *)f.payload);
    }
}

static void reader_copies_a_string_cut_to_the_buffer(void)
{
    static const char payload[] = "AAPL\0" "\0" "ABCDEFGH\0" "x";
    proto_frame_t f = exact_frame(payload, sizeof payload - 1);
    proto_reader_t r;
    char dst[5] = "####";
    char err[ERRLEN];
    proto_reader_init(&r, &f);
    CU_ASSERT_EQUAL(proto_read_str_into(&r, dst, sizeof dst, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(dst, "AAPL"); /* exactly fits */
    CU_ASSERT_EQUAL(proto_read_str_into(&r, dst, sizeof dst, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(dst, "");
    CU_ASSERT_EQUAL(proto_read_str_into(&r, dst, sizeof dst, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(dst, "ABCD"); /* cut, and the reader past all of it */
    CU_ASSERT_EQUAL(r.index, 3);
    CU_ASSERT_EQUAL(proto_read_str_into(&r, dst, 1, err, sizeof err), PROTO_ERR_FIELD);
    CU_ASSERT_STRING_EQUAL(dst, "ABCD"); /* left alone on error */
    CU_ASSERT_EQUAL(r.index, 3);
    free((void *)f.payload);
}

static void reader_round_trips_what_the_writer_wrote(void)
{
    static const int32_t ints[] = {INT32_MIN, -1, 0, 150, INT32_MAX};
    static const int64_t longs[] = {INT64_MIN, -1, 1745609035, INT64_MAX};
    const double doubles[] = {DBL_MAX, 0.1, 150, -1e-05, INFINITY, -INFINITY, 1.0 / 3.0,
                              5e-324, -0.0, 1e300, 123456789.123};
    const size_t nd = sizeof doubles / sizeof doubles[0];
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    for (size_t i = 0; i < 5; i++)
        proto_put_int(&w, ints[i]);
    for (size_t i = 0; i < 4; i++)
        proto_put_int(&w, longs[i]);
    for (size_t i = 0; i < nd; i++)
        proto_put_double(&w, doubles[i]);
    proto_put_bool(&w, 1);
    proto_put_bool(&w, 0);
    proto_put_str(&w, "DU1234567,DU7654321,");
    proto_put_str(&w, NULL);
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(&w), 0);

    proto_decoder_t d;
    proto_frame_t f;
    proto_reader_t r;
    char err[ERRLEN];
    proto_decoder_init(&d);
    feed(&d, w.buf, w.len);
    CU_ASSERT_EQUAL_FATAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    proto_reader_init(&r, &f);
    for (size_t i = 0; i < 5; i++) {
        int32_t v;
        CU_ASSERT_EQUAL(proto_read_int(&r, &v, err, sizeof err), 0);
        CU_ASSERT_EQUAL(v, ints[i]);
    }
    for (size_t i = 0; i < 4; i++) {
        int64_t v;
        CU_ASSERT_EQUAL(proto_read_int64(&r, &v, err, sizeof err), 0);
        CU_ASSERT_EQUAL(v, longs[i]);
    }
    for (size_t i = 0; i < nd; i++) {
        double v;
        CU_ASSERT_EQUAL(proto_read_double(&r, &v, err, sizeof err), 0);
        CU_ASSERT(v == doubles[i] && signbit(v) == signbit(doubles[i]));
    }
    int b1, b0;
    const char *s, *empty;
    CU_ASSERT_EQUAL(proto_read_bool(&r, &b1, err, sizeof err), 0);
    CU_ASSERT_EQUAL(proto_read_bool(&r, &b0, err, sizeof err), 0);
    CU_ASSERT(b1 == 1 && b0 == 0);
    CU_ASSERT_EQUAL(proto_read_str(&r, &s, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(s, "DU1234567,DU7654321,");
    CU_ASSERT_EQUAL(proto_read_str(&r, &empty, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(empty, "");
    CU_ASSERT_EQUAL(proto_reader_remaining(&r), 0);
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

/* ---- handshake ------------------------------------------------------------ */

static void client_hello_is_the_reference_bytes(void)
{
    static const uint8_t want[] = "API\0\0\0\0\x09v157..178";
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, 157, 178, NULL), 0);
    CU_ASSERT_EQUAL(w.len, 17);
    CU_ASSERT_EQUAL(memcmp(w.buf, want, 17), 0);
    proto_writer_reset(&w);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, 178, 178, "+PACEAPI"), 0);
    CU_ASSERT_EQUAL(w.len, 8 + 13);
    CU_ASSERT_EQUAL(memcmp(w.buf + 8, "v178 +PACEAPI", 13), 0);
    proto_writer_reset(&w);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, 178, 157, NULL), PROTO_ERR_HELLO);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, 0, 157, NULL), PROTO_ERR_HELLO);
    CU_ASSERT_EQUAL(w.len, 0);
    proto_writer_free(&w);
}

static void client_hello_read_waits_for_a_truncated_hello_to_complete(void)
{
    proto_writer_t w;
    proto_decoder_t d;
    proto_client_hello_t h;
    char err[ERRLEN];
    proto_writer_init(&w);
    proto_decoder_init(&d);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, 157, 178, "+PACEAPI"), 0);
    CU_ASSERT_EQUAL(proto_client_hello_read(&d, &h, err, sizeof err), 0);
    for (size_t cut = 1; cut < w.len; cut++) {
        proto_decoder_free(&d);
        proto_decoder_init(&d);
        feed(&d, w.buf, cut);
        CU_ASSERT_EQUAL(proto_client_hello_read(&d, &h, err, sizeof err), 0);
        feed(&d, w.buf + cut, w.len - cut);
        CU_ASSERT_EQUAL(proto_client_hello_read(&d, &h, err, sizeof err), 1);
        CU_ASSERT(h.min_version == 157 && h.max_version == 178);
        CU_ASSERT_STRING_EQUAL(h.options, "+PACEAPI");
    }
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

/* "API\0" in one write, the framed version and then startApi in another;
 * after the hello the decoder yields startApi as an ordinary frame. */
static void client_hello_read_takes_a_hello_split_across_two_writes(void)
{
    static const uint8_t rest[] = "\0\0\0\x09v100..193\0\0\0\x08" "71\0" "2\0" "7\0";
    proto_decoder_t d;
    proto_client_hello_t h;
    proto_frame_t f;
    char err[ERRLEN];
    proto_decoder_init(&d);
    feed(&d, "API", 4);
    CU_ASSERT_EQUAL(proto_client_hello_read(&d, &h, err, sizeof err), 0);
    feed(&d, rest, sizeof rest);
    CU_ASSERT_EQUAL(proto_client_hello_read(&d, &h, err, sizeof err), 1);
    CU_ASSERT(h.min_version == 100 && h.max_version == 193);
    CU_ASSERT_STRING_EQUAL(h.options, "");
    CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.offset, 17);
    CU_ASSERT_EQUAL(f.len, 8);
    CU_ASSERT_EQUAL(memcmp(f.payload, "71\0" "2\0" "7\0", 8), 0);
    proto_decoder_free(&d);
}

/* The error proto_client_hello_read gives for `bytes`. */
static void hello_error(const void *bytes, size_t len, char *err)
{
    proto_decoder_t d;
    proto_client_hello_t h;
    proto_decoder_init(&d);
    feed(&d, bytes, len);
    CU_ASSERT_EQUAL(proto_client_hello_read(&d, &h, err, ERRLEN), PROTO_ERR_HELLO);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), len);
    proto_decoder_free(&d);
}

/* A hello with `body` framed after "API\0". */
static void hello_body_error(const char *body, char *err)
{
    uint8_t bytes[128] = "API";
    size_t n = strlen(body);
    bytes[7] = (uint8_t)n;
    memcpy(bytes + 8, body, n);
    hello_error(bytes, 8 + n, err);
}

static void client_hello_read_refuses_a_bad_prefix_at_once(void)
{
    char err[ERRLEN];
    hello_error("GE", 2, err);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 0: expected \"API\\0\", got \"GE\"");
    hello_error("\x16\x03\x01\x00\x05", 5, err);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 0: expected \"API\\0\", got \"\\x16\\x03\\x01\\0\"");
    hello_error("API\0\0\0\0\0", 8, err);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 4: client hello length 0 is not in 1..255");
    hello_error("API\0\0\0\x01\0", 8, err);
    CU_ASSERT_STRING_EQUAL(err, "byte offset 4: client hello length 256 is not in 1..255");
}

static void client_hello_read_gives_each_malformed_version_its_own_error(void)
{
    static const struct {
        const char *body;
        const char *err;
    } cases[] = {
        {"v", "byte offset 8: client hello \"v\": no version after 'v'"},
        {"vabc", "byte offset 8: client hello \"vabc\": expected a version number (at most 9 "
                 "digits) after 'v'"},
        {"v178..157", "byte offset 8: client hello \"v178..157\": min version is above max "
                      "version"},
        {"v157.178", "byte offset 8: client hello \"v157.178\": expected \"..\" between the "
                     "min and max versions"},
        {"v157..", "byte offset 8: client hello \"v157..\": expected a max version number "
                   "after \"..\""},
        {"v157-178", "byte offset 8: client hello \"v157-178\": expected \"..\", a space or "
                     "the end after a version"},
        {"157..178", "byte offset 8: client hello \"157..178\": does not start with 'v'"},
        {"v9999999999", "byte offset 8: client hello \"v9999999999\": expected a version "
                        "number (at most 9 digits) after 'v'"},
    };
    char err[ERRLEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hello_body_error(cases[i].body, err);
        CU_ASSERT_STRING_EQUAL(err, cases[i].err);
    }
    char opts[80] = "v157..178 ";
    memset(opts + 10, 'o', 64);
    hello_body_error(opts, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "options longer than 63 bytes"));
}

static void server_hello_is_the_reference_bytes_and_parses_back(void)
{
    static const uint8_t want[] = "\0\0\0\x1a" "178\0" "20250425 15:23:54 EST";
    proto_writer_t w;
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN], when[32];
    int version = 0;
    proto_writer_init(&w);
    proto_decoder_init(&d);
    CU_ASSERT_EQUAL(proto_server_hello_write(&w, 178, "20250425 15:23:54 EST"), 0);
    CU_ASSERT_EQUAL(w.len, 30);
    CU_ASSERT_EQUAL(memcmp(w.buf, want, 30), 0);
    feed(&d, w.buf, w.len);
    CU_ASSERT_EQUAL_FATAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(proto_server_hello_parse(&f, &version, when, sizeof when, err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(version, 178);
    CU_ASSERT_STRING_EQUAL(when, "20250425 15:23:54 EST");
    CU_ASSERT_EQUAL(proto_server_hello_parse(&f, &version, NULL, 0, err, sizeof err), 0);
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

/* proto_server_hello_parse's result for the given payload, with err. */
static int server_hello(const char *payload, size_t len, char *err)
{
    proto_frame_t f = exact_frame(payload, len);
    int version = 0;
    char when[32];
    int rc = proto_server_hello_parse(&f, &version, when, sizeof when, err, ERRLEN);
    free((void *)f.payload);
    return rc;
}

static void server_hello_parse_refuses_anything_but_a_version_and_a_time(void)
{
    char err[ERRLEN];
    CU_ASSERT_EQUAL(server_hello("178\0" "20250425 15:23:54 EST\0" "x", 28, err),
                    PROTO_ERR_HELLO);
    CU_ASSERT_STRING_EQUAL(err, "server hello has 3 fields, expected 2");
    CU_ASSERT_EQUAL(server_hello("178", 4, err), PROTO_ERR_HELLO);
    CU_ASSERT_STRING_EQUAL(err, "server hello has 1 fields, expected 2");
    CU_ASSERT_EQUAL(server_hello("-1\0" "10.0.0.2:4002", 17, err), PROTO_ERR_HELLO);
    CU_ASSERT_STRING_EQUAL(err,
                           "server hello redirects to \"10.0.0.2:4002\"; redirects are not "
                           "supported");
    CU_ASSERT_EQUAL(server_hello("abc\0" "20250425", 13, err), PROTO_ERR_HELLO);
    CU_ASSERT_STRING_EQUAL(err, "server hello: field 0: expected an integer, got \"abc\"");
    CU_ASSERT_EQUAL(server_hello("\0" "20250425", 10, err), PROTO_ERR_HELLO);
    CU_ASSERT_STRING_EQUAL(err, "server hello: version \"\" is not a positive number");
    CU_ASSERT_EQUAL(server_hello("0\0" "20250425", 11, err), PROTO_ERR_HELLO);
    CU_ASSERT_EQUAL(server_hello("178\0" "2025", 8, err), PROTO_ERR_HELLO);
    CU_ASSERT_STRING_EQUAL(err, "server hello: field 1: not NUL-terminated");
}

static int negotiate(int cmin, int cmax, int smin, int smax, char *err)
{
    proto_client_hello_t h = {cmin, cmax, ""};
    int version = -1;
    int rc = proto_negotiate(&h, smin, smax, &version, err, ERRLEN);
    return rc < 0 ? rc : version;
}

static void negotiation_picks_the_lower_max_when_both_mins_allow_it(void)
{
    char err[ERRLEN];
    CU_ASSERT_EQUAL(negotiate(157, 178, 151, 178, err), 178);
    CU_ASSERT_EQUAL(negotiate(100, 193, 151, 178, err), 178);
    CU_ASSERT_EQUAL(negotiate(100, 160, 151, 178, err), 160);
    CU_ASSERT_EQUAL(negotiate(100, 150, 151, 178, err), PROTO_ERR_VERSION);
    CU_ASSERT_STRING_EQUAL(err, "no common version: client v100..150, server v151..178");
    CU_ASSERT_EQUAL(negotiate(180, 190, 151, 178, err), PROTO_ERR_VERSION);
    CU_ASSERT_STRING_EQUAL(err, "no common version: client v180..190, server v151..178");
}

static void connection_time_is_utc_text_of_the_wall_time(void)
{
    char buf[32];
    proto_connection_time(1745594634LL * 1000000 + 999999, buf);
    CU_ASSERT_STRING_EQUAL(buf, "20250425 15:23:54 UTC");
    proto_connection_time(-1, buf);
    CU_ASSERT_STRING_EQUAL(buf, "19691231 23:59:59 UTC");
    proto_connection_time(0, buf);
    CU_ASSERT_STRING_EQUAL(buf, "19700101 00:00:00 UTC");
}

/* ---- catalogue ------------------------------------------------------------ */

static void catalog_names_message_ids_in_both_directions(void)
{
    CU_ASSERT_STRING_EQUAL(proto_in_name(PROTO_IN_CURRENT_TIME), "currentTime");
    CU_ASSERT_STRING_EQUAL(proto_out_name(PROTO_OUT_REQ_CURRENT_TIME), "reqCurrentTime");
    CU_ASSERT_STRING_EQUAL(proto_in_name(4), "errMsg");
    CU_ASSERT_STRING_EQUAL(proto_in_name(9), "nextValidId");
    CU_ASSERT_STRING_EQUAL(proto_in_name(15), "managedAccounts");
    CU_ASSERT_STRING_EQUAL(proto_out_name(71), "startApi");
    CU_ASSERT_STRING_EQUAL(proto_out_name(3), "placeOrder");
    CU_ASSERT_STRING_EQUAL(proto_in_name(3), "orderStatus");
    CU_ASSERT_EQUAL(proto_in_id("historicalData"), 17);
    CU_ASSERT_EQUAL(proto_out_id("reqHistoricalData"), 20);
    CU_ASSERT_EQUAL(proto_out_id("startApi"), 71);
    CU_ASSERT_PTR_NULL(proto_in_name(999));
    CU_ASSERT_PTR_NULL(proto_in_name(0));
    CU_ASSERT_PTR_NULL(proto_out_name(72));
    CU_ASSERT_EQUAL(proto_in_id("startApi"), -1);
    CU_ASSERT_EQUAL(proto_out_id("nope"), -1);
    CU_ASSERT_EQUAL(proto_out_id(NULL), -1);
}

static void catalog_names_map_back_to_their_ids(void)
{
    int in = 0, out = 0;
    for (int id = -1; id < 300; id++) {
        const char *name = proto_in_name(id);
        if (name) {
            CU_ASSERT_EQUAL(proto_in_id(name), id);
            in++;
        }
        name = proto_out_name(id);
        if (name) {
            CU_ASSERT_EQUAL(proto_out_id(name), id);
            out++;
        }
    }
    CU_ASSERT_EQUAL(in, 34);
    CU_ASSERT_EQUAL(out, 24);
}

static void catalog_names_error_codes_with_the_gateway_texts(void)
{
    CU_ASSERT_STRING_EQUAL(proto_error_name(326), "CLIENT_ID_IN_USE");
    CU_ASSERT_PTR_NOT_NULL(strstr(proto_error_text(326), "client id is already in use"));
    CU_ASSERT_STRING_EQUAL(proto_error_text(2104), "Market data farm connection is OK:");
    CU_ASSERT_STRING_EQUAL(proto_error_text(2106), "HMDS data farm connection is OK:");
    CU_ASSERT_STRING_EQUAL(proto_error_text(2158), "Sec-def data farm connection is OK:");
    CU_ASSERT_STRING_EQUAL(proto_error_text(200),
                           "No security definition has been found for the request");
    CU_ASSERT_STRING_EQUAL(proto_error_text(202), "Order Canceled - reason:");
    CU_ASSERT_STRING_EQUAL(proto_error_name(1100), "CONNECTIVITY_LOST");
    CU_ASSERT_PTR_NULL(proto_error_name(12345));
    CU_ASSERT_PTR_NULL(proto_error_text(-1));
    /* Every code of the enum has a name and a text. */
    int named = 0;
    for (int code = 0; code < 3000; code++)
        if (proto_error_name(code)) {
            CU_ASSERT_PTR_NOT_NULL(proto_error_text(code));
            named++;
        }
    CU_ASSERT_EQUAL(named, 22);
}

static void catalog_tells_notices_from_errors(void)
{
    CU_ASSERT_TRUE(proto_error_is_notice(2104));
    CU_ASSERT_TRUE(proto_error_is_notice(2100));
    CU_ASSERT_TRUE(proto_error_is_notice(2199));
    CU_ASSERT_TRUE(proto_error_is_notice(165));
    CU_ASSERT_TRUE(proto_error_is_notice(10167));
    CU_ASSERT_FALSE(proto_error_is_notice(2200));
    CU_ASSERT_FALSE(proto_error_is_notice(2099));
    CU_ASSERT_FALSE(proto_error_is_notice(326));
    CU_ASSERT_FALSE(proto_error_is_notice(1100));
    CU_ASSERT_FALSE(proto_error_is_notice(162));
}

static void strerror_names_every_code(void)
{
    const char *seen[8];
    for (int code = 0; code >= PROTO_ERR_FRAME; code--) {
        seen[-code] = proto_strerror(code);
        CU_ASSERT_STRING_NOT_EQUAL(seen[-code], proto_strerror(-100));
        for (int j = 0; j < -code; j++)
            CU_ASSERT_STRING_NOT_EQUAL(seen[j], seen[-code]);
    }
    CU_ASSERT_STRING_EQUAL(proto_strerror(PROTO_ERR_LENGTH), "bad frame length");
}

/* ---- registry ------------------------------------------------------------- */

#define TEST(f) {#f, f}

/* ---- draining ----------------------------------------------------------- */

/* What a drain handler saw, and when it stops: after `stop_after` frames
 * (0: never) with `stop`, resetting the decoder first when that is DROP. */
typedef struct drained {
    proto_decoder_t *d;
    int n;
    seen_frame_t seen[SEEN_MAX];
    const uint8_t *at[SEEN_MAX]; /* where each payload was */
    int stop_after;
    enum proto_drain_step stop;
} drained_t;

static enum proto_drain_step drain_collect(void *ctx, const proto_frame_t *f)
{
    drained_t *dr = ctx;
    CU_ASSERT_FATAL(dr->n < SEEN_MAX);
    seen_frame_t *s = &dr->seen[dr->n];
    s->offset = f->offset;
    s->len = f->len;
    s->payload = malloc(f->len);
    memcpy(s->payload, f->payload, f->len);
    dr->at[dr->n++] = f->payload;
    if (dr->stop_after == 0 || dr->n < dr->stop_after)
        return PROTO_DRAIN_NEXT;
    if (dr->stop == PROTO_DRAIN_DROP) {
        proto_decoder_free(dr->d);
        proto_decoder_init(dr->d);
    }
    return dr->stop;
}

static void drained_free(drained_t *dr)
{
    for (int i = 0; i < dr->n; i++)
        free(dr->seen[i].payload);
    dr->n = 0;
}

/* Drains a heap copy of bytes, freed straight after, so that ASan catches
 * a decoder that keeps pointing into a delivery. */
static int drain_copy(proto_decoder_t *d, const uint8_t *bytes, size_t len, drained_t *dr,
                      char *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, bytes, len);
    int rc = proto_decoder_drain(d, copy, len, drain_collect, dr, err, ERRLEN);
    free(copy);
    return rc;
}

static void drain_hands_out_the_whole_frames_of_a_delivery_in_place(void)
{
    proto_writer_t w;
    proto_decoder_t d;
    char err[ERRLEN];
    drained_t dr = {.d = &d};
    proto_writer_init(&w);
    proto_decoder_init(&d);
    put_frame(&w, "49\0" "1\0" "1745609035", 16); /* 0..20 */
    put_frame(&w, "\0", 1);                       /* 20..25 */
    put_frame(&w, "9\0" "1\0" "7", 6);            /* 25..35 */
    CU_ASSERT_EQUAL(proto_decoder_drain(&d, w.buf, w.len, drain_collect, &dr, err, ERRLEN), 0);
    CU_ASSERT_EQUAL_FATAL(dr.n, 3);
    CU_ASSERT_PTR_EQUAL(dr.at[0], w.buf + 4);
    CU_ASSERT_PTR_EQUAL(dr.at[1], w.buf + 24);
    CU_ASSERT_PTR_EQUAL(dr.at[2], w.buf + 29);
    CU_ASSERT_EQUAL(dr.seen[0].offset, 0);
    CU_ASSERT_EQUAL(dr.seen[1].offset, 20);
    CU_ASSERT_EQUAL(dr.seen[1].len, 1);
    CU_ASSERT_EQUAL(dr.seen[2].offset, 25);
    CU_ASSERT_EQUAL(dr.seen[2].len, 6);
    CU_ASSERT_EQUAL(memcmp(dr.seen[2].payload, "9\0" "1\0" "7", 6), 0);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
    CU_ASSERT_PTR_NULL(d.buf); /* nothing was ever copied */
    /* The stream offsets go on across deliveries; an empty one is nothing. */
    CU_ASSERT_EQUAL(proto_decoder_drain(&d, w.buf, 0, drain_collect, &dr, err, ERRLEN), 0);
    CU_ASSERT_EQUAL(drain_copy(&d, w.buf, 20, &dr, err), 0);
    CU_ASSERT_EQUAL_FATAL(dr.n, 4);
    CU_ASSERT_EQUAL(dr.seen[3].offset, 35);
    drained_free(&dr);
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

static void drain_keeps_an_incomplete_tail_and_completes_it_from_the_next_delivery(void)
{
    proto_writer_t w;
    proto_decoder_t d;
    char err[ERRLEN];
    drained_t dr = {.d = &d};
    proto_writer_init(&w);
    proto_decoder_init(&d);
    put_frame(&w, "49\0" "1\0" "1745609035", 16); /* 0..20 */
    put_frame(&w, "9\0" "1\0" "7", 6);            /* 20..30 */
    put_frame(&w, "4", 2);                        /* 30..36 */
    /* A tail shorter than a length prefix, then one inside a payload. */
    CU_ASSERT_EQUAL(drain_copy(&d, w.buf, 22, &dr, err), 0);
    CU_ASSERT_EQUAL(dr.n, 1);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 2);
    CU_ASSERT_EQUAL(drain_copy(&d, w.buf + 22, 6, &dr, err), 0);
    CU_ASSERT_EQUAL(dr.n, 1);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 8);
    /* The rest of it and a whole frame: both come out, from the buffer. */
    CU_ASSERT_EQUAL(drain_copy(&d, w.buf + 28, 8, &dr, err), 0);
    CU_ASSERT_EQUAL_FATAL(dr.n, 3);
    CU_ASSERT_EQUAL(dr.seen[1].offset, 20);
    CU_ASSERT_EQUAL(dr.seen[1].len, 6);
    CU_ASSERT_EQUAL(memcmp(dr.seen[1].payload, "9\0" "1\0" "7", 6), 0);
    CU_ASSERT_EQUAL(dr.seen[2].offset, 30);
    CU_ASSERT_EQUAL(memcmp(dr.seen[2].payload, "4", 2), 0);
    CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
    /* Emptied, the decoder hands frames out in place again. */
    CU_ASSERT_EQUAL(proto_decoder_drain(&d, w.buf, 20, drain_collect, &dr, err, ERRLEN), 0);
    CU_ASSERT_EQUAL_FATAL(dr.n, 4);
    CU_ASSERT_PTR_EQUAL(dr.at[3], w.buf + 4);
    CU_ASSERT_EQUAL(dr.seen[3].offset, 36);
    drained_free(&dr);
    proto_decoder_free(&d);
    proto_writer_free(&w);
}

static void drain_yields_a_mixed_set_split_anywhere_as_next_does(void)
{
    proto_writer_t w;
    seen_frame_t whole[SEEN_MAX];
    proto_writer_init(&w);
    build_mixed(&w);
    int n = decode_all(w.buf, w.len, w.len, whole);
    static const size_t chunks[] = {1, 3, 4, 5, 9, 64, 7919};
    for (size_t c = 0; c <= sizeof chunks / sizeof chunks[0]; c++) {
        size_t chunk = c < sizeof chunks / sizeof chunks[0] ? chunks[c] : w.len;
        proto_decoder_t d;
        char err[ERRLEN];
        drained_t dr = {.d = &d};
        proto_decoder_init(&d);
        for (size_t pos = 0; pos < w.len; pos += chunk)
            CU_ASSERT_EQUAL(drain_copy(&d, w.buf + pos, w.len - pos < chunk ? w.len - pos : chunk,
                                       &dr, err), 0);
        CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
        CU_ASSERT_EQUAL_FATAL(dr.n, n);
        for (int i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(dr.seen[i].offset, whole[i].offset);
            CU_ASSERT_EQUAL_FATAL(dr.seen[i].len, whole[i].len);
            CU_ASSERT_EQUAL(memcmp(dr.seen[i].payload, whole[i].payload, whole[i].len), 0);
        }
        drained_free(&dr);
        proto_decoder_free(&d);
    }
    for (int i = 0; i < n; i++)
        free(whole[i].payload);
    proto_writer_free(&w);
}

static void drain_stopped_with_keep_leaves_the_rest_buffered_for_next(void)
{
    proto_writer_t w;
    proto_decoder_t d;
    proto_frame_t f;
    char err[ERRLEN];
    proto_writer_init(&w);
    put_frame(&w, "1\0", 2); /* 0..6 */
    put_frame(&w, "2\0", 2); /* 6..12 */
    put_frame(&w, "3\0", 2); /* 12..18 */
    /* Stopped in place, and stopped while draining the buffer. */
    for (int buffered = 0; buffered <= 1; buffered++) {
        drained_t dr = {.d = &d, .stop_after = 1, .stop = PROTO_DRAIN_KEEP};
        proto_decoder_init(&d);
        if (buffered) {
            feed(&d, w.buf, 3);
            CU_ASSERT_EQUAL(drain_copy(&d, w.buf + 3, w.len - 5, &dr, err), 0);
        } else {
            CU_ASSERT_EQUAL(drain_copy(&d, w.buf, w.len - 2, &dr, err), 0);
        }
        CU_ASSERT_EQUAL(dr.n, 1);
        CU_ASSERT_EQUAL(proto_decoder_buffered(&d), w.len - 2 - 6);
        feed(&d, w.buf + w.len - 2, 2);
        CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
        CU_ASSERT_EQUAL(f.offset, 6);
        CU_ASSERT_STRING_EQUAL((const char *)f.payload, "2");
        CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 1);
        CU_ASSERT_EQUAL(f.offset, 12);
        CU_ASSERT_STRING_EQUAL((const char *)f.payload, "3");
        CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, err, sizeof err), 0);
        drained_free(&dr);
        proto_decoder_free(&d);
    }
    proto_writer_free(&w);
}

static void drain_stopped_with_drop_leaves_a_decoder_the_handler_reset_alone(void)
{
    proto_writer_t w;
    proto_decoder_t d;
    char err[ERRLEN];
    proto_writer_init(&w);
    put_frame(&w, "1\0", 2);
    put_frame(&w, "2\0", 2);
    put_frame(&w, "3\0", 2);
    for (int buffered = 0; buffered <= 1; buffered++) {
        drained_t dr = {.d = &d, .stop_after = 1, .stop = PROTO_DRAIN_DROP};
        proto_decoder_init(&d);
        if (buffered)
            feed(&d, w.buf, 3);
        CU_ASSERT_EQUAL(drain_copy(&d, w.buf + 3 * buffered, w.len - 1 - 3 * buffered, &dr, err),
                        0);
        CU_ASSERT_EQUAL(dr.n, 1);
        /* The reset decoder starts a new stream: nothing of the old one. */
        CU_ASSERT_EQUAL(proto_decoder_buffered(&d), 0);
        CU_ASSERT_EQUAL(d.consumed, 0);
        dr.stop_after = 0;
        CU_ASSERT_EQUAL(drain_copy(&d, w.buf + 6, 6, &dr, err), 0);
        CU_ASSERT_EQUAL_FATAL(dr.n, 2);
        CU_ASSERT_EQUAL(dr.seen[1].offset, 0);
        CU_ASSERT_STRING_EQUAL((const char *)dr.seen[1].payload, "2");
        drained_free(&dr);
        proto_decoder_free(&d);
    }
    proto_writer_free(&w);
}

static void drain_reports_a_bad_frame_after_the_good_ones_and_stays_failed(void)
{
    static const uint8_t zero_len[] = {0, 0, 0, 2, '1', 0, 0, 0, 0, 0, 0, 0, 0, 2, '2', 0};
    static const uint8_t no_nul[] = {0, 0, 0, 2, '1', 0, 0, 0, 0, 2, '2', '2'};
    static const uint8_t good[] = {0, 0, 0, 2, '3', 0};
    for (int kind = 0; kind < 2; kind++) {
        const uint8_t *bytes = kind == 0 ? zero_len : no_nul;
        size_t len = kind == 0 ? sizeof zero_len : sizeof no_nul;
        proto_decoder_t d;
        proto_frame_t f;
        char err[ERRLEN], again[ERRLEN];
        drained_t dr = {.d = &d};
        proto_decoder_init(&d);
        int rc = drain_copy(&d, bytes, len, &dr, err);
        CU_ASSERT_EQUAL(rc, kind == 0 ? PROTO_ERR_LENGTH : PROTO_ERR_FRAME);
        CU_ASSERT_EQUAL(dr.n, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "byte offset 6:"));
        CU_ASSERT_EQUAL(proto_decoder_buffered(&d), len - 6);
        /* Whatever comes after, the same error and no frame. */
        CU_ASSERT_EQUAL(drain_copy(&d, good, sizeof good, &dr, again), rc);
        CU_ASSERT_STRING_EQUAL(again, err);
        CU_ASSERT_EQUAL(proto_decoder_next(&d, &f, again, sizeof again), rc);
        CU_ASSERT_EQUAL(dr.n, 1);
        drained_free(&dr);
        proto_decoder_free(&d);
    }
}

/* take_whole takes a delivery that is exactly one good frame, in place,
 * counting its bytes; anything else (a frame and more, less than one, a bad
 * length or end, a decoder holding bytes or failed) is left to the drain,
 * which then sees the same stream offsets. */
static void take_whole_takes_a_lone_good_frame_and_leaves_the_rest_to_the_drain(void)
{
    static const uint8_t ping[] = {0, 0, 0, 5, '4', '9', 0, '1', 0};
    static const uint8_t two[] = {0, 0, 0, 2, '1', 0, 0, 0, 0, 2, '2', 0};
    static const uint8_t long_len[] = {0, 0, 0, 6, '4', '9', 0, '1', 0};
    static const uint8_t short_len[] = {0, 0, 0, 4, '4', '9', 0, '1', 0};
    static const uint8_t no_nul[] = {0, 0, 0, 5, '4', '9', 0, '1', '1'};
    static const uint8_t zero_len[] = {0, 0, 0, 0};
    static const uint8_t prefix_only[] = {0, 0, 0, 1};
    proto_decoder_t d;
    proto_frame_t f = {NULL, 0, 0};
    char err[ERRLEN];
    proto_decoder_init(&d);
    CU_ASSERT_EQUAL_FATAL(proto_decoder_take_whole(&d, ping, sizeof ping, &f), 1);
    CU_ASSERT_PTR_EQUAL(f.payload, ping + 4);
    CU_ASSERT_EQUAL(f.len, 5);
    CU_ASSERT_EQUAL(f.offset, 0);
    CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, ping, sizeof ping, &f), 1);
    CU_ASSERT_EQUAL(f.offset, 9);
    CU_ASSERT_PTR_NULL(d.buf); /* nothing was copied */
    const struct {
        const uint8_t *bytes;
        size_t len;
    } refused[] = {
        {two, sizeof two},         {long_len, sizeof long_len}, {short_len, sizeof short_len},
        {no_nul, sizeof no_nul},   {zero_len, sizeof zero_len}, {prefix_only, sizeof prefix_only},
        {ping, sizeof ping - 1},   {ping, 4},                   {ping, 0},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        f.offset = 77;
        CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, refused[i].bytes, refused[i].len, &f), 0);
        CU_ASSERT_EQUAL(f.offset, 77);
        CU_ASSERT_EQUAL(d.consumed, 18);
    }
    /* The drain goes on from the offset the taken frames left. */
    drained_t dr = {.d = &d};
    CU_ASSERT_EQUAL(drain_copy(&d, two, sizeof two, &dr, err), 0);
    CU_ASSERT_EQUAL_FATAL(dr.n, 2);
    CU_ASSERT_EQUAL(dr.seen[0].offset, 18);
    CU_ASSERT_EQUAL(dr.seen[1].offset, 24);
    /* A decoder holding part of a frame: that frame comes first. */
    CU_ASSERT_EQUAL(drain_copy(&d, ping, 3, &dr, err), 0);
    CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, ping, sizeof ping, &f), 0);
    CU_ASSERT_EQUAL(drain_copy(&d, ping + 3, sizeof ping - 3, &dr, err), 0);
    CU_ASSERT_EQUAL_FATAL(dr.n, 3);
    CU_ASSERT_EQUAL(dr.seen[2].offset, 30);
    /* Emptied, it takes lone frames again; failed, never. */
    CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, ping, sizeof ping, &f), 1);
    CU_ASSERT_EQUAL(f.offset, 39);
    CU_ASSERT(drain_copy(&d, zero_len, sizeof zero_len, &dr, err) < 0);
    CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, ping, sizeof ping, &f), 0);
    drained_free(&dr);
    proto_decoder_free(&d);
}

/* A length above the largest is refused even when the delivery holds that
 * many bytes (the drain names the error); the largest is taken. */
static void take_whole_refuses_a_length_above_16777215_however_many_bytes_came(void)
{
    size_t len = PROTO_FRAME_PREFIX + (size_t)PROTO_LEN_MAX + 1;
    uint8_t *big = calloc(len, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    proto_decoder_t d;
    proto_frame_t f;
    proto_decoder_init(&d);
    big[0] = 1; /* 0x01000000 */
    CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, big, len, &f), 0);
    big[0] = 0;
    big[1] = big[2] = big[3] = 0xFF;
    CU_ASSERT_EQUAL(proto_decoder_take_whole(&d, big, len - 1, &f), 1);
    CU_ASSERT_EQUAL(f.len, PROTO_LEN_MAX);
    CU_ASSERT_EQUAL(d.consumed, len - 1);
    proto_decoder_free(&d);
    free(big);
}

/* The memo writes what proto_frame_id_value_put writes, whatever came
 * before: the same id's values within a span of 10^4 (its four digits
 * rewritten), across one, backwards, other ids, values below five digits
 * and negative ones (never kept), the extremes, a zeroed memo asked for
 * id 0, and frames of other lengths in between. */
static void id_value_memo_writes_what_id_value_put_writes_after_any_frame(void)
{
    static const struct {
        int id;
        int64_t v;
    } steps[] = {
        {0, 0},           {0, 5},           {49, 1765376700}, {49, 1765376730},
        {49, 1765379999}, {49, 1765380000}, {49, 1765380001}, {49, 1765379999},
        {9, 1765380002},  {49, 1765380002}, {49, 9999},       {49, 10000},
        {49, 10001},      {49, 19999},      {49, 20000},      {49, -10001},
        {49, -10000},     {49, 5},          {49, INT64_MAX},  {49, INT64_MAX - 1},
        {49, INT64_MIN},  {49, INT64_MAX - 10000}, {49, INT64_MAX - 9999}, {49, INT64_MIN},
        {49, INT64_MAX - 10000}, {49, INT64_MIN + 1}, {49, 99999999999}, {49, 100000000000},
        {4, 1765380003},
        {100, 1765380004}, {100, 1765380005}, {-1, 1765380006}, {-1, 1765380007},
        {49, 1765380008},
    };
    proto_id_value_memo_t m;
    memset(&m, 0xAA, sizeof m);
    proto_id_value_memo_init(&m);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        uint8_t want[PROTO_ID_VALUE_ROOM];
        int len = proto_frame_id_value_put(want, steps[i].id, steps[i].v);
        CU_ASSERT_EQUAL_FATAL(proto_frame_id_value_memo(&m, steps[i].id, steps[i].v), len);
        CU_ASSERT_EQUAL(memcmp(m.frame, want, (size_t)len), 0);
    }
    /* A whole span of seconds, one at a time, then by thirty. */
    for (int64_t v = 1765370000 - 3; v < 1765380000 + 3; v += 1) {
        uint8_t want[PROTO_ID_VALUE_ROOM];
        int len = proto_frame_id_value_put(want, 49, v);
        CU_ASSERT_EQUAL_FATAL(proto_frame_id_value_memo(&m, 49, v), len);
        CU_ASSERT_EQUAL_FATAL(memcmp(m.frame, want, (size_t)len), 0);
    }
    for (int64_t v = 1765370001; v < 1765400000; v += 30) {
        uint8_t want[PROTO_ID_VALUE_ROOM];
        int len = proto_frame_id_value_put(want, 49, v);
        CU_ASSERT_EQUAL_FATAL(proto_frame_id_value_memo(&m, 49, v), len);
        CU_ASSERT_EQUAL_FATAL(memcmp(m.frame, want, (size_t)len), 0);
    }
}

/* proto_put_double writes its text straight into the writer, its room
 * reserved first: at every room left around the largest text (32 bytes
 * with the NUL) the field is the one a fresh writer gets, nothing is
 * written past it, and the next field follows it directly. */
static void writer_writes_doubles_in_place_at_every_room_left(void)
{
    static const double values[] = {190.23, -0.01, 1e-4, 123456789012345.0, 0.1 + 0.2,
                                    -1.7976931348623157e308, 4.9e-324, 1e300, -0.0, 0.0,
                                    1.0 / 3.0, 100, -1};
    static const char filler[256];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        proto_writer_t fresh;
        proto_writer_init(&fresh);
        proto_put_double(&fresh, values[i]);
        size_t n = fresh.len;
        CU_ASSERT_FATAL(n > 1 && n <= 32 && fresh.buf[n - 1] == '\0');
        CU_ASSERT_EQUAL(strlen((const char *)fresh.buf) + 1, n);
        for (size_t left = 0; left <= 40; left++) {
            proto_writer_t w;
            proto_writer_init(&w);
            proto_put_raw(&w, "x", 1); /* cap 256 */
            proto_put_raw(&w, filler, 255 - left);
            size_t from = w.len;
            proto_put_double(&w, values[i]);
            CU_ASSERT_EQUAL_FATAL(w.len, from + n);
            CU_ASSERT_EQUAL(memcmp(w.buf + from, fresh.buf, n), 0);
            proto_put_int(&w, 7);
            CU_ASSERT_EQUAL(memcmp(w.buf + from + n, "7", 2), 0);
            proto_writer_free(&w);
        }
        proto_writer_free(&fresh);
    }
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_end(&w); /* failed: nothing more */
    size_t len = w.len;
    proto_put_double(&w, 1.5);
    CU_ASSERT_EQUAL(w.len, len);
    proto_writer_free(&w);
}

static CU_TestInfo decoder_tests[] = {
    TEST(decoder_yields_a_frame_and_its_stream_offset),
    TEST(decoder_needs_more_bytes_until_a_frame_is_whole),
    TEST(decoder_yields_a_mixed_set_fed_one_byte_at_a_time_as_in_one_feed),
    TEST(decoder_rejects_a_zero_length_naming_its_byte_offset),
    TEST(decoder_rejects_a_length_above_16777215_naming_its_byte_offset),
    TEST(decoder_accepts_the_largest_length),
    TEST(decoder_rejects_a_payload_not_ending_in_nul),
    TEST(decoder_stays_failed_after_an_error),
    TEST(decoder_keeps_partial_frames_while_compacting_and_growing),
    TEST(decoder_compacts_in_place_when_little_is_buffered),
    TEST(drain_hands_out_the_whole_frames_of_a_delivery_in_place),
    TEST(drain_keeps_an_incomplete_tail_and_completes_it_from_the_next_delivery),
    TEST(drain_yields_a_mixed_set_split_anywhere_as_next_does),
    TEST(drain_stopped_with_keep_leaves_the_rest_buffered_for_next),
    TEST(drain_stopped_with_drop_leaves_a_decoder_the_handler_reset_alone),
    TEST(drain_reports_a_bad_frame_after_the_good_ones_and_stays_failed),
    TEST(take_whole_takes_a_lone_good_frame_and_leaves_the_rest_to_the_drain),
    TEST(take_whole_refuses_a_length_above_16777215_however_many_bytes_came),
    CU_TEST_INFO_NULL,
};

static CU_TestInfo writer_tests[] = {
    TEST(writer_frames_fields_behind_a_big_endian_length),
    TEST(writer_refuses_an_empty_frame_and_drops_it),
    TEST(writer_refuses_a_frame_above_the_largest_length),
    TEST(writer_refuses_unbalanced_frames),
    TEST(writer_writes_doubles_in_their_shortest_form),
    TEST(doubles_round_trip_as_printf_and_strtod_would),
    TEST(short_decimals_are_written_as_printf_would),
    TEST(writer_writes_ints_and_bools_as_decimal_text),
    TEST(writer_writes_integers_of_every_length_as_printf_would),
    TEST(writer_writes_integers_with_zero_runs_at_every_room_left),
    TEST(writer_writes_nothing_after_an_error),
    TEST(writer_writes_random_frames_of_ints_as_printf_would),
    TEST(writer_writes_nine_and_ten_digit_integers_at_every_split),
    TEST(frame_of_id_and_value_put_on_the_stack_is_the_writers_frame),
    TEST(id_value_memo_writes_what_id_value_put_writes_after_any_frame),
    TEST(writer_writes_doubles_in_place_at_every_room_left),
    CU_TEST_INFO_NULL,
};

static CU_TestInfo reader_tests[] = {
    TEST(reader_names_the_field_index_of_a_non_numeric_int),
    TEST(reader_reads_the_head_of_an_err_msg_and_names_a_bad_code),
    TEST(reader_reads_every_unset_form),
    TEST(reader_reads_infinity_in_every_spelling),
    TEST(reader_reads_doubles_in_every_client_style),
    TEST(reader_rejects_malformed_and_out_of_range_numbers),
    TEST(reader_reads_random_decimals_as_strtod_would),
    TEST(reader_reads_decimal_edge_cases_as_strtod_would),
    TEST(reader_reads_the_extremes_of_each_integer_type),
    TEST(reader_reads_decimals_and_bools),
    TEST(reader_reports_a_missing_field_and_skips_all_or_nothing),
    TEST(reader_refuses_an_unterminated_last_field),
    TEST(reader_finds_every_field_of_every_frame_shape),
    TEST(reader_counts_and_skips_fields_across_16_byte_blocks),
    TEST(reader_reads_integers_of_every_length_and_sign_as_strtoll_would),
    TEST(reader_refuses_digits_that_run_to_the_end_of_the_frame),
    TEST(reader_reads_integers_at_every_offset_from_the_frame_end),
    TEST(reader_refuses_long_digit_runs_cut_by_the_frame_end),
    TEST(reader_reads_random_integers_as_strtoll_would_near_the_frame_end),
    TEST(reader_counts_the_fields_of_long_frames),
    TEST(reader_copies_a_string_cut_to_the_buffer),
    TEST(reader_round_trips_what_the_writer_wrote),
    CU_TEST_INFO_NULL,
};

static CU_TestInfo handshake_tests[] = {
    TEST(client_hello_is_the_reference_bytes),
    TEST(client_hello_read_waits_for_a_truncated_hello_to_complete),
    TEST(client_hello_read_takes_a_hello_split_across_two_writes),
    TEST(client_hello_read_refuses_a_bad_prefix_at_once),
    TEST(client_hello_read_gives_each_malformed_version_its_own_error),
    TEST(server_hello_is_the_reference_bytes_and_parses_back),
    TEST(server_hello_parse_refuses_anything_but_a_version_and_a_time),
    TEST(negotiation_picks_the_lower_max_when_both_mins_allow_it),
    TEST(connection_time_is_utc_text_of_the_wall_time),
    CU_TEST_INFO_NULL,
};

static CU_TestInfo catalog_tests[] = {
    TEST(catalog_names_message_ids_in_both_directions),
    TEST(catalog_names_map_back_to_their_ids),
    TEST(catalog_names_error_codes_with_the_gateway_texts),
    TEST(catalog_tells_notices_from_errors),
    TEST(strerror_names_every_code),
    CU_TEST_INFO_NULL,
};

/* ---- nytime ---------------------------------------------------------------------------- */

static void nytime_converts_dates_to_days_and_back(void)
{
    CU_ASSERT_EQUAL(ny_days_from_civil(1970, 1, 1), 0);
    CU_ASSERT_EQUAL(ny_days_from_civil(2000, 3, 1), 11017);
    CU_ASSERT_EQUAL(ny_days_from_civil(1969, 12, 31), -1);
    for (int64_t d = -800; d < 40000; d += 37) {
        int y, m, day;
        ny_civil_from_days(d, &y, &m, &day);
        CU_ASSERT_EQUAL(ny_days_from_civil(y, m, day), d);
    }
}

static void nytime_reads_winter_as_est_and_summer_as_edt(void)
{
    ny_civil_t c;
    ny_from_utc(1765376700, &c); /* 2025-12-10T14:25:00Z */
    CU_ASSERT_EQUAL(c.utc_offset_s, -18000);
    CU_ASSERT(c.year == 2025 && c.month == 12 && c.day == 10 && c.hour == 9 && c.minute == 25);
    CU_ASSERT_EQUAL(c.weekday, 3); /* a Wednesday */
    ny_from_utc(1751376600, &c); /* 2025-07-01T13:30:00Z */
    CU_ASSERT_EQUAL(c.utc_offset_s, -14400);
    CU_ASSERT(c.hour == 9 && c.minute == 30 && c.weekday == 2);
}

static void nytime_switches_at_two_in_the_morning_on_the_dst_sundays(void)
{
    /* 2025: DST from Sunday March 9 07:00Z to Sunday November 2 06:00Z. */
    CU_ASSERT_FALSE(ny_is_dst(1741503600 - 1));
    CU_ASSERT_TRUE(ny_is_dst(1741503600));
    CU_ASSERT_TRUE(ny_is_dst(1762063200 - 1));
    CU_ASSERT_FALSE(ny_is_dst(1762063200));
    CU_ASSERT_EQUAL(ny_to_utc(2025, 3, 9, 1, 59, 59), 1741503600 - 1);
    CU_ASSERT_EQUAL(ny_to_utc(2025, 3, 9, 3, 0, 0), 1741503600);
    CU_ASSERT_EQUAL(ny_to_utc(2025, 3, 9, 2, 30, 0), 1741503600 + 1800); /* the gap: EST reading */
    CU_ASSERT_EQUAL(ny_to_utc(2025, 11, 2, 1, 30, 0), 1762063200 - 1800); /* overlap: first, EDT */
}

static void nytime_round_trips_every_hour_of_a_year(void)
{
    for (int64_t t = 1735689600; t < 1735689600 + 366 * 86400; t += 3600) {
        ny_civil_t c;
        ny_from_utc(t, &c);
        if (c.month == 11 && c.day <= 7 && c.weekday == 0 && c.hour == 1)
            continue; /* the repeated hour reads back as its first occurrence */
        CU_ASSERT_EQUAL(ny_to_utc(c.year, c.month, c.day, c.hour, c.minute, c.second), t);
    }
}

/* DST by its definition, worked out afresh for every instant: from the
 * second Sunday of March 07:00Z to the first Sunday of November 06:00Z of
 * the year the instant falls in (on the EST clock). */
static int dst_by_rule(int64_t t)
{
    int64_t est_day = (t - 5 * 3600) >= 0 ? (t - 5 * 3600) / 86400 : -((5 * 3600 - t + 86399) / 86400);
    int y, m, d;
    ny_civil_from_days(est_day, &y, &m, &d);
    int64_t mar1 = ny_days_from_civil(y, 3, 1), nov1 = ny_days_from_civil(y, 11, 1);
    int64_t mar_sunday = mar1 + (7 - ((mar1 % 7 + 7 + 4) % 7)) % 7 + 7;
    int64_t nov_sunday = nov1 + (7 - ((nov1 % 7 + 7 + 4) % 7)) % 7;
    return t >= mar_sunday * 86400 + 7 * 3600 && t < nov_sunday * 86400 + 6 * 3600;
}

/* The year's DST span is remembered between calls: instants that jump
 * between years, land on the first and last second of a year (on the EST
 * clock), and on both sides of each switch must all still be judged by
 * their own year. */
static void nytime_judges_every_instant_by_its_own_year_in_any_order(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t t = (int64_t)(x % (140ULL * 366 * 86400)) - 20LL * 366 * 86400;
        if (i % 4 == 1) { /* around a New Year on the EST clock */
            int year = 1960 + (int)(x >> 40) % 120;
            t = ny_days_from_civil(year, 1, 1) * 86400 + 5 * 3600 + (int64_t)(x >> 20 & 3) - 2;
        } else if (i % 4 == 2) { /* around a switch */
            int year = 1960 + (int)(x >> 40) % 120;
            int64_t at = (x >> 21 & 1) ? ny_to_utc(year, 3, 14, 12, 0, 0) : ny_to_utc(year, 11, 7, 12, 0, 0);
            t = at - (int64_t)(x >> 24 & 7) * 86400 - 43200 + (int64_t)(x >> 30 & 7) * 1800 - 1;
        }
        CU_ASSERT_EQUAL(ny_is_dst(t), dst_by_rule(t));
        int64_t local = ny_local_from_utc(t);
        CU_ASSERT_EQUAL(local - t, dst_by_rule(t) ? -14400 : -18000);
        ny_civil_t c;
        ny_from_utc(t, &c);
        CU_ASSERT_EQUAL(c.utc_offset_s, local - t);
        CU_ASSERT_EQUAL(ny_utc_from_local(local - (local % 60 + 60) % 60), ny_to_utc(c.year, c.month, c.day, c.hour, c.minute, 0));
    }
}

static CU_TestInfo nytime_tests[] = {
    {"nytime_converts_dates_to_days_and_back", nytime_converts_dates_to_days_and_back},
    {"nytime_reads_winter_as_est_and_summer_as_edt", nytime_reads_winter_as_est_and_summer_as_edt},
    {"nytime_switches_at_two_in_the_morning_on_the_dst_sundays",
     nytime_switches_at_two_in_the_morning_on_the_dst_sundays},
    {"nytime_round_trips_every_hour_of_a_year", nytime_round_trips_every_hour_of_a_year},
    {"nytime_judges_every_instant_by_its_own_year_in_any_order",
     nytime_judges_every_instant_by_its_own_year_in_any_order},
    CU_TEST_INFO_NULL,
};

/* ---- proto_skip_unsigned ------------------------------------------------ */

/* The unsigned skip takes exactly the fields of 1 to 15 plain digits, in
 * frames of every length up to 32 bytes past them and with the field at
 * every offset from the frame's end: then proto_read_int64 reads them too,
 * to the same place. Anything else (a sign, "", 16 digits or more, a
 * stray byte, no NUL before the end) leaves the reader where it was. */
static void unsigned_skip_takes_plain_digit_fields_of_1_to_15_digits_and_nothing_else(void)
{
    static const char *const fields[] = {
        "0", "7", "42", "1765376705", "00000000", "12345678", "123456789",
        "123456789012345", "999999999999999", "1234567890123456",
        "9223372036854775807", "", "-1", "+5", "1a", "a1", "12345678a", "1234567890a",
        " 1", "1 ",
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *text = fields[i];
        size_t n = strlen(text);
        int plain = n >= 1 && n <= 15 && strspn(text, "0123456789") == n;
        for (size_t before = 0; before <= 10; before += 5) {
            for (size_t after = 0; after <= 32; after++) {
                proto_reader_t r, typed;
                proto_frame_t f = field_frame(text, n, 0, before, after, 'c', &r);
                char err[ERRLEN];
                int64_t v;
                typed = r;
                int took = proto_skip_unsigned(&r);
                CU_ASSERT_EQUAL(took, plain);
                if (took) {
                    CU_ASSERT_EQUAL(proto_read_int64(&typed, &v, err, sizeof err), 0);
                    CU_ASSERT_EQUAL(v, strtoll(text, NULL, 10));
                    CU_ASSERT_EQUAL(r.pos, typed.pos);
                    CU_ASSERT_EQUAL(r.index, typed.index);
                } else {
                    CU_ASSERT_EQUAL(r.pos, before);
                    CU_ASSERT_EQUAL(r.index, before > 0);
                }
                free((void *)f.payload);
            }
        }
    }
}

/* Digits running into the frame's end without their NUL, at every length
 * and with the frame shorter and longer than 8 bytes, are no field: the
 * skip must neither take them nor read past the frame (ASan watches). */
static void unsigned_skip_refuses_digits_cut_by_the_frame_end_and_an_empty_rest(void)
{
    for (size_t n = 0; n <= 17; n++) {
        for (size_t before = 0; before <= 9; before += 9) {
            proto_reader_t r;
            proto_frame_t f = cut_digits_frame(before, n, &r);
            CU_ASSERT_EQUAL(proto_skip_unsigned(&r), 0);
            CU_ASSERT_EQUAL(r.pos, before);
            free((void *)f.payload);
        }
    }
}

static CU_TestInfo unsigned_skip_tests[] = {
    TEST(unsigned_skip_takes_plain_digit_fields_of_1_to_15_digits_and_nothing_else),
    TEST(unsigned_skip_refuses_digits_cut_by_the_frame_end_and_an_empty_rest),
    CU_TEST_INFO_NULL,
};

/* ---- proto_all_digits_8to16 and the SWAR digit tests -------------------- */

/* Every length the test takes, all digits or one non-digit at each place
 * (the bytes either side of the digits, the edges of ASCII, the top bit,
 * NUL): 1 exactly for all digits. The n bytes are a heap block of their
 * own, so ASan would see a load outside them. */
static void all_digits_8to16_takes_exactly_runs_of_digits_and_reads_only_them(void)
{
    static const unsigned char bad[] = {'/', ':', '\0', ' ', 'a', 0x80, 0xB0, 0xB9, 0xFF, 0x10};
    for (size_t n = 8; n <= 16; n++) {
        char *s = malloc(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('0' + (i * 7 + n) % 10);
        CU_ASSERT_EQUAL(proto_all_digits_8to16(s, n), 1);
        memset(s, '9', n);
        CU_ASSERT_EQUAL(proto_all_digits_8to16(s, n), 1);
        memset(s, '0', n);
        CU_ASSERT_EQUAL(proto_all_digits_8to16(s, n), 1);
        for (size_t at = 0; at < n; at++) {
            for (size_t b = 0; b < sizeof bad; b++) {
                char keep = s[at];
                s[at] = (char)bad[b];
                CU_ASSERT_EQUAL(proto_all_digits_8to16(s, n), 0);
                s[at] = keep;
            }
        }
        free(s);
    }
}

/* The per-byte test under it: 0 exactly when all eight bytes are digits,
 * and the first non-digit (lowest byte) always flagged, whatever follows
 * it (a carry out of a byte >= 0x8A may spoil only the bytes after). */
static void non_digit_bytes_flags_the_first_non_digit_of_every_word(void)
{
    for (unsigned v = 0; v < 256; v++) {
        for (unsigned at = 0; at < 8; at++) {
            uint64_t x = 0x3535353535353535ull;
            x &= ~(0xFFull << 8 * at);
            x |= (uint64_t)v << 8 * at;
            uint64_t bad = proto_non_digit_bytes(proto_digit_values(x));
            int digit = v >= '0' && v <= '9';
            CU_ASSERT_EQUAL(bad == 0, digit);
            if (!digit)
                CU_ASSERT_EQUAL((unsigned)__builtin_ctzll(bad) >> 3, at);
        }
    }
}

static CU_TestInfo digit_tests[] = {
    TEST(all_digits_8to16_takes_exactly_runs_of_digits_and_reads_only_them),
    TEST(non_digit_bytes_flags_the_first_non_digit_of_every_word),
    CU_TEST_INFO_NULL,
};

/* ---- ny_from_utc's memo of the day -------------------------------------- */

/* ny_from_utc worked out without any memo. */
static void ny_from_utc_afresh(int64_t t, ny_civil_t *c)
{
    int64_t local = ny_local_from_utc(t);
    int64_t days = local >= 0 ? local / 86400 : -((86399 - local) / 86400);
    int64_t secs = local - days * 86400;
    ny_civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(secs / 3600);
    c->minute = (int)(secs / 60 % 60);
    c->second = (int)(secs % 60);
    c->weekday = (int)((days % 7 + 7 + 4) % 7);
    c->utc_offset_s = (int)(local - t);
}

static int civil_equal(const ny_civil_t *a, const ny_civil_t *b)
{
    return a->year == b->year && a->month == b->month && a->day == b->day &&
           a->hour == b->hour && a->minute == b->minute && a->second == b->second &&
           a->weekday == b->weekday && a->utc_offset_s == b->utc_offset_s;
}

/* The day's date is remembered between calls: the same day again at any
 * second, the seconds either side of a local midnight, the switches (where
 * the local day changes with the offset), days before the epoch, and days
 * asked in turn (as bar times and log lines interleave) all read as if
 * worked out afresh. */
static void ny_from_utc_reads_every_instant_afresh_whatever_was_asked_before(void)
{
    int64_t midnight = ny_to_utc(2025, 12, 10, 0, 0, 0);
    int64_t spring = ny_to_utc(2025, 3, 9, 3, 0, 0), autumn = ny_to_utc(2025, 11, 2, 1, 0, 0);
    const int64_t fixed[] = {
        midnight,           midnight - 1,       midnight + 1,  midnight + 86399,
        midnight + 86400,   midnight - 86400,   midnight,      spring - 1,
        spring,             spring + 3599,      autumn - 1,    autumn,
        autumn + 3600,      autumn + 3599,      0,             -1,
        -86400,             -86401,             -18000,        -18001,
        -17999,             1765376700,         1765376701,    1751376600,
        1765376700 + 86400, 1765376700,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        ny_civil_t got, want;
        ny_from_utc(fixed[i], &got);
        ny_from_utc_afresh(fixed[i], &want);
        CU_ASSERT(civil_equal(&got, &want));
    }
    uint64_t x = 0x2545F4914F6CDD1DULL;
    int64_t a = 1765376700, b = 1700000000;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t t = i % 3 == 0   ? a + (int64_t)(x % 86400) /* the same day or the next */
                    : i % 3 == 1 ? b + (int64_t)(x % 200000)
                                 : (int64_t)(x % (200ULL * 366 * 86400)) - 70LL * 366 * 86400;
        ny_civil_t got, want;
        ny_from_utc(t, &got);
        ny_from_utc_afresh(t, &want);
        CU_ASSERT(civil_equal(&got, &want));
    }
}

static CU_TestInfo nytime_memo_tests[] = {
    TEST(ny_from_utc_reads_every_instant_afresh_whatever_was_asked_before),
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"decoder", NULL, NULL, NULL, NULL, decoder_tests},
    {"writer", NULL, NULL, NULL, NULL, writer_tests},
    {"reader", NULL, NULL, NULL, NULL, reader_tests},
    {"handshake", NULL, NULL, NULL, NULL, handshake_tests},
    {"catalog", NULL, NULL, NULL, NULL, catalog_tests},
    {"nytime", NULL, NULL, NULL, NULL, nytime_tests},
    {"unsigned_skip", NULL, NULL, NULL, NULL, unsigned_skip_tests},
    {"digits", NULL, NULL, NULL, NULL, digit_tests},
    {"nytime_memo", NULL, NULL, NULL, NULL, nytime_memo_tests},
    CU_SUITE_INFO_NULL,
};
