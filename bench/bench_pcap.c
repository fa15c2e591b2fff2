/* bench_pcap.c - capture ingest rate: read a pcap, reassemble every TCP
 * flow, decode every TWS message (mockgw/capture), against `tshark -r` on
 * the same file in the same run.
 *
 * The bench writes its own capture first (BENCH_FILE_MB of Ethernet/IPv4
 * traffic with pcap_dump): BENCH_FLOWS conversations, each with its SYNs,
 * greeting and server hello, then server traffic in the mix a busy session
 * sees (tickPrice, position, errMsg notices, historicalData with many bars,
 * 127-field openOrder, currentTime) cut into segments of 200..1448 bytes,
 * so that most messages straddle segments, with a client ACK every second
 * segment and an occasional request; the flows' packets are interleaved.
 * Data and cuts come from a fixed-seed xorshift. Then it times our ingest
 * (median of BENCH_RUNS, checking every run saw exactly the messages built
 * and no gaps) and one run of `tshark -r FILE -q -z io,stat,0`, and prints
 * MB/s (file bytes), messages/s and the ratio. Targets: >= 500 MB/s and
 * >= 10x tshark. Exit 1 if our decode is wrong, not if a target is missed. */
#define _DEFAULT_SOURCE /* libpcap's header uses the BSD u_char types */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../mockgw/capture.h"
#include "../proto/proto.h"

#define BENCH_FILE_MB 300
#define BENCH_FLOWS 8
#define BENCH_RUNS 5
#define BENCH_SEED 0x9e3779b97f4a7c15ull
#define BENCH_POOL 4096          /* distinct server messages, replayed in turn */
#define BENCH_SEG_MIN 200
#define BENCH_SEG_MAX 1448       /* an Ethernet MSS */
#define BENCH_TARGET_MBPS 500.0
#define BENCH_TARGET_RATIO 10.0
#define BENCH_T0_US 1745609035000000ll
/* TWS paper trading. Not 4002: Wireshark's OPSI dissector claims that port
 * and reassembles TWS traffic there as one ever-growing PDU, which makes
 * tshark quadratic (24 s for 30 MB); that would measure a misfire, not
 * tshark's reading rate. */
#define BENCH_PORT 7497

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the message pool ------------------------------------------------------ */

typedef struct pool {
    proto_writer_t w;
    size_t start[BENCH_POOL + 1]; /* frame i is w.buf[start[i] .. start[i+1]) */
} pool_t;

static double price(uint64_t *rng)
{
    return 100.0 + (double)(rng_next(rng) % 10000) / 100.0;
}

static void msg_tick_price(proto_writer_t *w, uint64_t *rng)
{
    proto_put_int(w, PROTO_IN_TICK_PRICE);
    proto_put_int(w, 6);
    proto_put_int(w, (int64_t)(rng_next(rng) % 100));
    proto_put_int(w, 1 + (int64_t)(rng_next(rng) % 4));
    proto_put_double(w, price(rng));
    proto_put_int(w, (int64_t)(rng_next(rng) % 1000));
    proto_put_int(w, 0);
}

static void msg_position(proto_writer_t *w, uint64_t *rng)
{
    static const char *const f[] = {"DU1234567", "265598", "AAPL", "STK", "", "0.0", "", "",
                                    "NASDAQ", "USD", "AAPL", "NMS"};
    proto_put_int(w, PROTO_IN_POSITION_DATA);
    proto_put_int(w, 3);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        proto_put_str(w, f[i]);
    proto_put_int(w, (int64_t)(rng_next(rng) % 1000));
    proto_put_double(w, price(rng));
}

static void msg_notice(proto_writer_t *w, uint64_t *rng)
{
    static const int codes[] = {PROTO_CODE_MKT_FARM_OK, PROTO_CODE_HMDS_FARM_OK,
                                PROTO_CODE_SECDEF_FARM_OK};
    int code = codes[rng_next(rng) % 3];
    proto_put_int(w, PROTO_IN_ERR_MSG);
    proto_put_int(w, 2);
    proto_put_int(w, -1);
    proto_put_int(w, code);
    proto_put_str(w, proto_error_text(code));
    proto_put_empty(w);
}

static void msg_historical(proto_writer_t *w, uint64_t *rng)
{
    int bars = 20 + (int)(rng_next(rng) % 181);
    proto_put_int(w, PROTO_IN_HISTORICAL_DATA);
    proto_put_int(w, (int64_t)(rng_next(rng) % 1000));
    proto_put_str(w, "20250425 09:30:00");
    proto_put_str(w, "20250425 16:00:00");
    proto_put_int(w, bars);
    for (int i = 0; i < bars; i++) {
        char date[32];
        double open = price(rng);
        snprintf(date, sizeof date, "20250425 %02d:%02d:%02d", 9 + i / 720, i / 12 % 60,
                 i % 12 * 5);
        proto_put_str(w, date);
        proto_put_double(w, open);
        proto_put_double(w, open + 0.25);
        proto_put_double(w, open - 0.25);
        proto_put_double(w, open + 0.1);
        proto_put_int(w, (int64_t)(rng_next(rng) % 50000));
        proto_put_double(w, open + 0.05);
        proto_put_int(w, (int64_t)(rng_next(rng) % 500));
    }
}

static void msg_open_order(proto_writer_t *w, uint64_t *rng)
{
    static const char *const unset[] = {"", "0", "1.7976931348623157E308", "2147483647", "1"};
    proto_put_int(w, PROTO_IN_OPEN_ORDER);
    proto_put_int(w, 1000 + (int64_t)(rng_next(rng) % 1000));
    proto_put_str(w, "265598");
    proto_put_str(w, "AAPL");
    proto_put_double(w, price(rng));
    for (int i = 5; i < 127; i++)
        proto_put_str(w, i == 85 ? "Submitted" : unset[(size_t)i % 5]);
}

static void msg_current_time(proto_writer_t *w, uint64_t *rng)
{
    proto_put_int(w, PROTO_IN_CURRENT_TIME);
    proto_put_int(w, 1);
    proto_put_int(w, 1745609035 + (int64_t)(rng_next(rng) % 100000));
}

static int pool_build(pool_t *p, uint64_t *rng)
{
    proto_writer_init(&p->w);
    for (size_t i = 0; i < BENCH_POOL; i++) {
        unsigned pick = (unsigned)(rng_next(rng) % 100);
        p->start[i] = p->w.len;
        proto_frame_begin(&p->w);
        if (pick < 45)
            msg_tick_price(&p->w, rng);
        else if (pick < 70)
            msg_position(&p->w, rng);
        else if (pick < 80)
            msg_notice(&p->w, rng);
        else if (pick < 85)
            msg_historical(&p->w, rng);
        else if (pick < 90)
            msg_open_order(&p->w, rng);
        else
            msg_current_time(&p->w, rng);
        if (proto_frame_end(&p->w) < 0)
            return -1;
    }
    p->start[BENCH_POOL] = p->w.len;
    return 0;
}

/* ---- writing the capture ------------------------------------------------------ */

typedef struct flow {
    uint16_t cport;
    uint32_t cseq, sseq;
    size_t next_msg;  /* pool index of the next message to send */
    size_t msg_off;   /* bytes of it already sent */
    unsigned segs;
} flow_t;

typedef struct writer {
    pcap_dumper_t *dump;
    int64_t t_us;
    uint64_t msgs;     /* server messages completed, plus the client's */
    uint8_t pkt[2048];
} writer_t;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void emit(writer_t *wr, const flow_t *f, int from_client, uint8_t flags,
                 const uint8_t *data, size_t len)
{
    uint8_t *p = wr->pkt;
    memset(p, 0, 54);
    p[0] = 0x02;
    p[6] = 0x04;
    put16(p + 12, 0x0800);
    uint8_t *ip = p + 14, *tcp = p + 34;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(40 + len));
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10, ip[15] = from_client ? 1 : 2;
    ip[16] = 10, ip[19] = from_client ? 2 : 1;
    put16(tcp, from_client ? f->cport : BENCH_PORT);
    put16(tcp + 2, from_client ? BENCH_PORT : f->cport);
    put32(tcp + 4, from_client ? f->cseq : f->sseq);
    put32(tcp + 8, from_client ? f->sseq : f->cseq);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    memcpy(p + 54, data, len);
    struct pcap_pkthdr h;
    wr->t_us += 3;
    h.ts.tv_sec = (time_t)(wr->t_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(wr->t_us % 1000000);
    h.caplen = h.len = (bpf_u_int32)(54 + len);
    pcap_dump((u_char *)wr->dump, &h, p);
}

static void flow_open(writer_t *wr, flow_t *f)
{
    proto_writer_t w;
    proto_writer_init(&w);
    emit(wr, f, 1, 0x02, NULL, 0);
    f->cseq++;
    emit(wr, f, 0, 0x12, NULL, 0);
    f->sseq++;
    proto_client_hello_write(&w, 157, 178, "");
    emit(wr, f, 1, 0x18, w.buf, w.len);
    f->cseq += (uint32_t)w.len;
    proto_writer_reset(&w);
    proto_server_hello_write(&w, 178, "20250425 19:23:55 UTC");
    emit(wr, f, 0, 0x18, w.buf, w.len);
    f->sseq += (uint32_t)w.len;
    proto_writer_free(&w);
}

/* One server segment of the pool's stream; the client ACKs every second
 * one and asks for the time every 64th. */
static void flow_segment(writer_t *wr, flow_t *f, const pool_t *pool, uint64_t *rng)
{
    static const uint8_t req[] = {0, 0, 0, 5, '4', '9', 0, '1', 0};
    uint8_t seg[BENCH_SEG_MAX];
    size_t want = BENCH_SEG_MIN + (size_t)(rng_next(rng) % (BENCH_SEG_MAX - BENCH_SEG_MIN + 1));
    size_t n = 0;
    while (n < want) {
        size_t from = pool->start[f->next_msg] + f->msg_off;
        size_t left = pool->start[f->next_msg + 1] - from;
        size_t take = left < want - n ? left : want - n;
        memcpy(seg + n, pool->w.buf + from, take);
        n += take;
        f->msg_off += take;
        if (take == left) {
            wr->msgs++;
            f->next_msg = (f->next_msg + 1) % BENCH_POOL;
            f->msg_off = 0;
        }
    }
    emit(wr, f, 0, 0x18, seg, n);
    f->sseq += (uint32_t)n;
    if (++f->segs % 2 == 0)
        emit(wr, f, 1, 0x10, NULL, 0);
    if (f->segs % 64 == 0) {
        emit(wr, f, 1, 0x18, req, sizeof req);
        f->cseq += sizeof req;
        wr->msgs++;
    }
}

static int write_capture(const char *path, const pool_t *pool, uint64_t *msgs)
{
    uint64_t rng = BENCH_SEED ^ 0xabcdefull;
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    writer_t wr = {pcap_dump_open(dead, path), BENCH_T0_US, 0, {0}};
    if (!wr.dump) {
        fprintf(stderr, "bench_pcap: %s: %s\n", path, pcap_geterr(dead));
        pcap_close(dead);
        return -1;
    }
    flow_t flows[BENCH_FLOWS];
    for (int i = 0; i < BENCH_FLOWS; i++) {
        flows[i] = (flow_t){(uint16_t)(50000 + i), (uint32_t)rng_next(&rng),
                            (uint32_t)rng_next(&rng), (size_t)i * 97, 0, 0};
        flow_open(&wr, &flows[i]);
    }
    /* A message straddling the end is not counted: stop on whole messages. */
    while ((uint64_t)pcap_dump_ftell(wr.dump) < (uint64_t)BENCH_FILE_MB * 1000000u) {
        flow_t *f = &flows[rng_next(&rng) % BENCH_FLOWS];
        flow_segment(&wr, f, pool, &rng);
    }
    for (int i = 0; i < BENCH_FLOWS; i++) {
        while (flows[i].msg_off != 0)
            flow_segment(&wr, &flows[i], pool, &rng);
        emit(&wr, &flows[i], 1, 0x11, NULL, 0);
        flows[i].cseq++;
        emit(&wr, &flows[i], 0, 0x11, NULL, 0);
    }
    pcap_dump_close(wr.dump);
    pcap_close(dead);
    *msgs = wr.msgs;
    return 0;
}

/* ---- timing ---------------------------------------------------------------------- */

typedef struct counts {
    uint64_t msgs, gaps, errors, checksum;
} counts_t;

static void on_event(const gw_cap_event_t *ev, void *data)
{
    counts_t *c = data;
    if (ev->kind == GW_CAP_MSG) {
        c->msgs++;
        c->checksum += ev->frame.payload[0];
    } else if (ev->kind == GW_CAP_GAP || ev->kind == GW_CAP_RESYNC) {
        c->gaps++;
    } else if (ev->kind == GW_CAP_ERROR) {
        c->errors++;
    }
}

static int ingest(const char *path, counts_t *c, double *secs)
{
    char err[256];
    memset(c, 0, sizeof *c);
    double t0 = now_secs();
    gw_cap_t *cap = gw_cap_new(NULL, on_event, c);
    int rc = cap ? gw_cap_read_file(cap, path, err, sizeof err) : -1;
    gw_cap_free(cap);
    *secs = now_secs() - t0;
    if (rc < 0)
        fprintf(stderr, "bench_pcap: %s\n", cap ? err : "out of memory");
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds tshark takes on the file, or -1 when it is not installed. */
static double time_tshark(const char *path)
{
    char cmd[512];
    if (system("command -v tshark >/dev/null 2>&1") != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "tshark -r '%s' -q -z io,stat,0 >/dev/null 2>&1", path);
    double t0 = now_secs();
    int rc = system(cmd);
    double secs = now_secs() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench_pcap: tshark failed (status %d)\n", rc);
        return -1;
    }
    return secs;
}

int main(void)
{
    pool_t pool;
    uint64_t rng = BENCH_SEED, built = 0;
    char path[64];
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes: tshark takes a while */
    snprintf(path, sizeof path, "/tmp/bench_pcap_%d.pcap", (int)getpid());
    if (pool_build(&pool, &rng) < 0 || write_capture(path, &pool, &built) < 0) {
        fprintf(stderr, "bench_pcap: building the capture failed\n");
        return 1;
    }
    proto_writer_free(&pool.w);
    struct stat st;
    stat(path, &st);
    double mb = (double)st.st_size / 1e6;
    printf("bench_pcap: %.1f MB capture, %d flows, %llu messages\n", mb, BENCH_FLOWS,
           (unsigned long long)built);
    double secs[BENCH_RUNS];
    counts_t c;
    int bad = 0;
    for (int i = 0; i < BENCH_RUNS && !bad; i++) {
        bad = ingest(path, &c, &secs[i]) < 0;
        if (!bad && (c.msgs != built || c.gaps != 0 || c.errors != 0)) {
            fprintf(stderr, "bench_pcap: decoded %llu messages (%llu gaps, %llu errors), built "
                    "%llu\n", (unsigned long long)c.msgs, (unsigned long long)c.gaps,
                    (unsigned long long)c.errors, (unsigned long long)built);
            bad = 1;
        }
    }
    if (bad) {
        unlink(path);
        printf("bench_pcap: FAILED (decoded result differs from what was built)\n");
        return 1;
    }
    qsort(secs, BENCH_RUNS, sizeof secs[0], cmp_double);
    double med = secs[BENCH_RUNS / 2], ours = mb / med;
    printf("ingest (reassemble + decode) median %.3f s: %.0f MB/s, %.0f msgs/s "
           "(min %.3f s, max %.3f s, %d runs)\n", med, ours, (double)built / med, secs[0],
           secs[BENCH_RUNS - 1], BENCH_RUNS);
    double ts = time_tshark(path);
    unlink(path);
    printf("target >= %.0f MB/s: %s\n", BENCH_TARGET_MBPS,
           ours >= BENCH_TARGET_MBPS ? "met" : "NOT met");
    if (ts < 0) {
        printf("tshark not installed: ratio not measured\n");
        return 0;
    }
    printf("tshark -r FILE -q -z io,stat,0: %.3f s: %.0f MB/s, %.0f msgs/s\n", ts, mb / ts,
           (double)built / ts);
    printf("ratio %.1fx tshark; target >= %.0fx: %s\n", ts / med, BENCH_TARGET_RATIO,
           ts / med >= BENCH_TARGET_RATIO ? "met" : "NOT met");
    return 0;
}
