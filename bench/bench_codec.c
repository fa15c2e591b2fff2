/* bench_codec.c - decode throughput of the TWS codec.
 *
 * Builds 64 MiB of framed server messages in the mix a busy session sees
 * (currentTime, farm notices, historicalData with many bars, tickPrice,
 * position, a 127-field openOrder), then feeds it to the decoder in chunks of
 * random sizes and reads every field of every frame, 7 times. Reports the
 * median, min and max of MB/s and messages/s, checks that every run saw
 * exactly the messages and fields that were built, and exits nonzero if not.
 * The data and the chunk sizes come from a fixed-seed xorshift, so every
 * run of the bench measures the same work. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../proto/proto.h"

#define BENCH_BYTES (64u << 20)
#define BENCH_RUNS 7
#define BENCH_SEED 0x9e3779b97f4a7c15ull
#define BENCH_CHUNK_LOG2_MAX 16 /* chunks of 1 byte .. 64 KiB */
#define BENCH_TARGET_MBPS 1000.0

typedef struct bench_data {
    proto_writer_t w;
    uint64_t frames;
    uint64_t fields;
    uint64_t rng;
} bench_data_t;

static uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Counts the fields a message builder writes, so the decoder's count can be
 * checked against it. */
static void put_s(bench_data_t *b, const char *s)
{
    proto_put_str(&b->w, s);
    b->fields++;
}

static void put_i(bench_data_t *b, int64_t v)
{
    proto_put_int(&b->w, v);
    b->fields++;
}

static void put_d(bench_data_t *b, double v)
{
    proto_put_double(&b->w, v);
    b->fields++;
}

static double price(bench_data_t *b)
{
    return 100.0 + (double)(bench_rand(&b->rng) % 10000) / 100.0;
}

static void msg_current_time(bench_data_t *b)
{
    put_i(b, PROTO_IN_CURRENT_TIME);
    put_i(b, 1);
    put_i(b, 1745609035 + (int64_t)(bench_rand(&b->rng) % 100000));
}

static void msg_notice(bench_data_t *b)
{
    static const int codes[] = {PROTO_CODE_MKT_FARM_OK, PROTO_CODE_HMDS_FARM_OK,
                                PROTO_CODE_SECDEF_FARM_OK};
    static const char *farms[] = {"usfarm", "ushmds", "secdefnj"};
    size_t k = bench_rand(&b->rng) % 3;
    char text[128];
    snprintf(text, sizeof text, "%s%s", proto_error_text(codes[k]), farms[k]);
    put_i(b, PROTO_IN_ERR_MSG);
    put_i(b, 2);
    put_i(b, -1);
    put_i(b, codes[k]);
    put_s(b, text);
    put_s(b, "");
}

static void msg_historical(bench_data_t *b)
{
    int bars = 20 + (int)(bench_rand(&b->rng) % 181);
    put_i(b, PROTO_IN_HISTORICAL_DATA);
    put_i(b, (int64_t)(bench_rand(&b->rng) % 1000));
    put_s(b, "20250425 09:30:00");
    put_s(b, "20250425 16:00:00");
    put_i(b, bars);
    for (int i = 0; i < bars; i++) {
        char date[32];
        snprintf(date, sizeof date, "20250425 %02d:%02d:%02d", 9 + i / 720, i / 12 % 60,
                 i % 12 * 5);
        double open = price(b);
        put_s(b, date);
        put_d(b, open);
        put_d(b, open + 0.25);
        put_d(b, open - 0.25);
        put_d(b, open + 0.1);
        put_i(b, (int64_t)(bench_rand(&b->rng) % 50000));
        put_d(b, open + 0.05);
        put_i(b, (int64_t)(bench_rand(&b->rng) % 500));
    }
}

static void msg_tick_price(bench_data_t *b)
{
    put_i(b, PROTO_IN_TICK_PRICE);
    put_i(b, 6);
    put_i(b, (int64_t)(bench_rand(&b->rng) % 100));
    put_i(b, 1 + (int64_t)(bench_rand(&b->rng) % 4));
    put_d(b, price(b));
    put_i(b, (int64_t)(bench_rand(&b->rng) % 1000));
    put_i(b, 0);
}

static void msg_position(bench_data_t *b)
{
    static const char *const fields[] = {"DU1234567", "265598", "AAPL", "STK", "", "0.0", "",
                                         "", "NASDAQ", "USD", "AAPL", "NMS"};
    put_i(b, PROTO_IN_POSITION_DATA);
    put_i(b, 3);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        put_s(b, fields[i]);
    put_i(b, (int64_t)(bench_rand(&b->rng) % 1000));
    put_d(b, price(b));
}

/* 127 fields: the contract and order head, the "unset" forms clients fill
 * the long middle with, the order state at index 85. */
static void msg_open_order(bench_data_t *b)
{
    static const char *const head[] = {"265598", "AAPL", "STK", "", "0", "", "", "SMART",
                                       "USD", "AAPL", "NMS", "BUY", "100", "LMT"};
    static const char *const unset[] = {"", "0", "1.7976931348623157E308", "2147483647", "1"};
    put_i(b, PROTO_IN_OPEN_ORDER);
    put_i(b, 1000 + (int64_t)(bench_rand(&b->rng) % 1000));
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        put_s(b, head[i]);
    put_d(b, price(b));
    for (int i = 17; i < 127; i++) {
        if (i == 85)
            put_s(b, "Submitted");
        else
            put_s(b, unset[(size_t)i % (sizeof unset / sizeof unset[0])]);
    }
}

static int bench_build(bench_data_t *b)
{
    proto_writer_init(&b->w);
    b->frames = 0;
    b->fields = 0;
    b->rng = BENCH_SEED;
    while (b->w.len < BENCH_BYTES) {
        unsigned pick = (unsigned)(bench_rand(&b->rng) % 100);
        proto_frame_begin(&b->w);
        if (pick < 10)
            msg_current_time(b);
        else if (pick < 20)
            msg_notice(b);
        else if (pick < 30)
            msg_historical(b);
        else if (pick < 65)
            msg_tick_price(b);
        else if (pick < 85)
            msg_position(b);
        else
            msg_open_order(b);
        int rc = proto_frame_end(&b->w);
        if (rc < 0) {
            fprintf(stderr, "bench: building failed: %s\n", proto_strerror(rc));
            return -1;
        }
        b->frames++;
    }
    return 0;
}

typedef struct bench_result {
    uint64_t frames;
    uint64_t fields;
    uint64_t checksum;
    double secs;
} bench_result_t;

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Takes every frame the decoder has and reads all its fields. err is NULL:
 * the end of a frame is an expected PROTO_ERR_MISSING, not worth a text. */
static int bench_drain(proto_decoder_t *d, bench_result_t *res)
{
    proto_frame_t f;
    char err[256];
    int rc;
    uint64_t fields = 0, checksum = 0; /* in registers, not behind res */
    while ((rc = proto_decoder_next(d, &f, err, sizeof err)) == 1) {
        proto_reader_t r;
        const char *s;
        proto_reader_init(&r, &f);
        while ((rc = proto_read_str(&r, &s, NULL, 0)) == 0) {
            fields++;
            checksum += (unsigned char)s[0];
        }
        if (rc != PROTO_ERR_MISSING) {
            fprintf(stderr, "bench: frame at %llu: %s\n", (unsigned long long)f.offset,
                    proto_strerror(rc));
            return -1;
        }
        res->frames++;
    }
    res->fields += fields;
    res->checksum += checksum;
    if (rc < 0)
        fprintf(stderr, "bench: decode failed: %s\n", err);
    return rc;
}

static int bench_run(const uint8_t *data, size_t len, const size_t *chunks, bench_result_t *res)
{
    proto_decoder_t d;
    memset(res, 0, sizeof *res);
    proto_decoder_init(&d);
    double t0 = now_secs();
    size_t pos = 0;
    int rc = 0;
    for (size_t i = 0; pos < len && rc == 0; i++) {
        size_t n = chunks[i] < len - pos ? chunks[i] : len - pos;
        rc = proto_decoder_feed(&d, data + pos, n);
        pos += n;
        if (rc == 0)
            rc = bench_drain(&d, res);
    }
    res->secs = now_secs() - t0;
    if (rc == 0 && proto_decoder_buffered(&d) != 0) {
        fprintf(stderr, "bench: %zu bytes left undecoded\n", proto_decoder_buffered(&d));
        rc = -1;
    }
    proto_decoder_free(&d);
    return rc;
}

/* Chunk sizes spread evenly over powers of two, so that 1-byte slivers and
 * 64 KiB reads both occur; chunks[] covers len. */
static size_t *bench_chunks(size_t len, uint64_t *rng)
{
    size_t cap = 1024, n = 0, total = 0;
    size_t *chunks = malloc(cap * sizeof *chunks);
    while (chunks && total < len) {
        if (n == cap) {
            size_t *grown = realloc(chunks, 2 * cap * sizeof *chunks);
            if (!grown) {
                free(chunks);
                return NULL;
            }
            chunks = grown;
            cap *= 2;
        }
        unsigned log2 = (unsigned)(bench_rand(rng) % (BENCH_CHUNK_LOG2_MAX + 1));
        chunks[n] = 1 + (size_t)(bench_rand(rng) % ((uint64_t)1 << log2));
        total += chunks[n++];
    }
    return chunks;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, const char *unit, double *v)
{
    qsort(v, BENCH_RUNS, sizeof v[0], cmp_double);
    printf("%-18s median %10.0f %s  (min %.0f, max %.0f, %d runs)\n", what, v[BENCH_RUNS / 2],
           unit, v[0], v[BENCH_RUNS - 1], BENCH_RUNS);
}

int main(void)
{
    bench_data_t b;
    if (bench_build(&b) < 0)
        return 1;
    uint64_t rng = BENCH_SEED ^ 0x5bd1e995u;
    size_t *chunks = bench_chunks(b.w.len, &rng);
    if (!chunks) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    printf("bench_codec: %.1f MB, %llu messages, %llu fields, chunks 1..%u bytes\n",
           (double)b.w.len / 1e6, (unsigned long long)b.frames, (unsigned long long)b.fields,
           1u << BENCH_CHUNK_LOG2_MAX);
    double mbps[BENCH_RUNS], msgps[BENCH_RUNS];
    uint64_t checksum = 0;
    int bad = 0;
    for (int i = 0; i < BENCH_RUNS && !bad; i++) {
        bench_result_t res;
        bad = bench_run(b.w.buf, b.w.len, chunks, &res) < 0;
        if (!bad && (res.frames != b.frames || res.fields != b.fields ||
                     (i > 0 && res.checksum != checksum))) {
            fprintf(stderr, "bench: run %d decoded %llu messages / %llu fields, built %llu / "
                    "%llu\n", i, (unsigned long long)res.frames,
                    (unsigned long long)res.fields, (unsigned long long)b.frames,
                    (unsigned long long)b.fields);
            bad = 1;
        }
        checksum = res.checksum;
        mbps[i] = (double)b.w.len / 1e6 / res.secs;
        msgps[i] = (double)b.frames / res.secs;
    }
    free(chunks);
    proto_writer_free(&b.w);
    if (bad) {
        printf("bench_codec: FAILED (decoded result differs from what was built)\n");
        return 1;
    }
    report("decode throughput", "MB/s", mbps);
    double median_mbps = mbps[BENCH_RUNS / 2];
    report("message rate", "msgs/s", msgps);
    printf("target >= %.0f MB/s (1 GB/s) decode: %s\n", BENCH_TARGET_MBPS,
           median_mbps >= BENCH_TARGET_MBPS ? "met" : "NOT met");
    return 0;
}
