/* test_capture.c - capture reading (mockgw/pcap), TCP reassembly
 * (mockgw/reasm), TWS conversation decoding (mockgw/capture) and `mockgw
 * inspect`. Captures are built here with libpcap's pcap_open_dead +
 * pcap_dump, packet by packet, for every link type; the committed captures
 * under tests/data/captures/ (real loopback traffic and its damaged
 * variants) are decoded and their summaries checked. */
#define _DEFAULT_SOURCE /* libpcap's header uses the BSD u_char types */
#include <cjson/cJSON.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mockgw/capture.h"
#include "../mockgw/inspect.h"
#include "../mockgw/pcap.h"
#include "../mockgw/reasm.h"
#include "../proto/proto.h"
#include "testlib.h"

#define T_PKT_MAX 4096
#define T_LINES_MAX 256
#define T_LINE_LEN 256
#define T_CAPS "tests/data/captures/"
#define T_T0_US 1745609035000000ll /* 2025-04-25 19:23:55 UTC */

/* ---- building packets ------------------------------------------------------ */

typedef struct t_pkt {
    int ipv6;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const void *payload;
    size_t len;
} t_pkt_t;

static size_t put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* IP + TCP headers and payload; the client side is ::1/127.0.0.1, the
 * server side ::2/127.0.0.2, so that either can be told apart. */
static size_t build_ip(uint8_t *p, const t_pkt_t *k)
{
    size_t tcp_len = 20 + k->len, n;
    int from_low = k->sport > k->dport;
    if (k->ipv6) {
        memset(p, 0, 40);
        p[0] = 0x60;
        put16(p + 4, (uint16_t)tcp_len);
        p[6] = 6;
        p[7] = 64;
        p[23] = from_low ? 1 : 2;
        p[39] = from_low ? 2 : 1;
        n = 40;
    } else {
        memset(p, 0, 20);
        p[0] = 0x45;
        put16(p + 2, (uint16_t)(20 + tcp_len));
        p[8] = 64;
        p[9] = 6;
        p[12] = 127;
        p[15] = from_low ? 1 : 2;
        p[16] = 127;
        p[19] = from_low ? 2 : 1;
        n = 20;
    }
    uint8_t *t = p + n;
    memset(t, 0, 20);
    put16(t, k->sport);
    put16(t + 2, k->dport);
    put32(t + 4, k->seq);
    put32(t + 8, k->ack);
    t[12] = 5 << 4;
    t[13] = k->flags;
    put16(t + 14, 65535);
    if (k->len)
        memcpy(t + 20, k->payload, k->len);
    return n + tcp_len;
}

/* The link header for dlt in front of the IP packet. */
static size_t build_packet(uint8_t *buf, int dlt, const t_pkt_t *k)
{
    size_t h = 0;
    uint16_t ethertype = k->ipv6 ? 0x86DD : 0x0800;
    memset(buf, 0, 20);
    if (dlt == DLT_EN10MB) {
        h = 14;
        put16(buf + 12, ethertype);
    } else if (dlt == DLT_LINUX_SLL) {
        h = 16;
        put16(buf + 14, ethertype);
    } else if (dlt == DLT_LINUX_SLL2) {
        h = 20;
        put16(buf, ethertype);
    } else if (dlt == DLT_NULL) {
        h = 4;
        buf[0] = k->ipv6 ? 30 : 2; /* little-endian host, Darwin's AF_INET6 */
    } else if (dlt == DLT_LOOP) {
        h = 4;
        buf[3] = k->ipv6 ? 24 : 2;
    }
    return h + build_ip(buf + h, k);
}

/* A capture file being written. */
typedef struct t_file {
    pcap_t *dead;
    pcap_dumper_t *dump;
    int dlt;
    int64_t t_us;
    char path[64];
} t_file_t;

static void file_open(t_file_t *f, int dlt)
{
    static int serial;
    f->dlt = dlt;
    f->t_us = T_T0_US;
    snprintf(f->path, sizeof f->path, "/tmp/test_capture_%d_%d.pcap", (int)getpid(), serial++);
    f->dead = pcap_open_dead(dlt, 65535);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->dead);
    f->dump = pcap_dump_open(f->dead, f->path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->dump);
}

static void file_raw(t_file_t *f, const uint8_t *data, size_t caplen, size_t len)
{
    struct pcap_pkthdr h;
    f->t_us += 1000;
    h.ts.tv_sec = (time_t)(f->t_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(f->t_us % 1000000);
    h.caplen = (bpf_u_int32)caplen;
    h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)f->dump, &h, data);
}

static void file_add(t_file_t *f, const t_pkt_t *k)
{
    uint8_t buf[T_PKT_MAX];
    size_t n = build_packet(buf, f->dlt, k);
    file_raw(f, buf, n, n);
}

static void file_close(t_file_t *f)
{
    pcap_dump_close(f->dump);
    pcap_close(f->dead);
}

/* ---- a TWS conversation, segment by segment -------------------------------- */

typedef struct t_conv {
    t_file_t *file;
    int ipv6;
    uint16_t cport, sport;
    uint32_t cseq, sseq;
} t_conv_t;

static void conv_syn(t_conv_t *c)
{
    t_pkt_t syn = {c->ipv6, c->cport, c->sport, c->cseq++, 0, GW_TCP_SYN, NULL, 0};
    t_pkt_t synack = {c->ipv6, c->sport, c->cport, c->sseq++, c->cseq, GW_TCP_SYN | GW_TCP_ACK,
                      NULL, 0};
    file_add(c->file, &syn);
    file_add(c->file, &synack);
}

/* Builds the segment of `len` bytes the direction would send next, and
 * advances its sequence number; *k can then be written (or not). */
static t_pkt_t conv_seg(t_conv_t *c, int from_client, const void *data, size_t len)
{
    t_pkt_t k = {c->ipv6, from_client ? c->cport : c->sport, from_client ? c->sport : c->cport,
                 from_client ? c->cseq : c->sseq, from_client ? c->sseq : c->cseq,
                 GW_TCP_ACK | 0x08, data, len};
    if (from_client)
        c->cseq += (uint32_t)len;
    else
        c->sseq += (uint32_t)len;
    return k;
}

static void conv_send(t_conv_t *c, int from_client, const void *data, size_t len)
{
    t_pkt_t k = conv_seg(c, from_client, data, len);
    file_add(c->file, &k);
}

static void conv_fin(t_conv_t *c)
{
    t_pkt_t a = conv_seg(c, 1, NULL, 0), b = conv_seg(c, 0, NULL, 0);
    a.flags |= GW_TCP_FIN;
    b.flags |= GW_TCP_FIN;
    file_add(c->file, &a);
    file_add(c->file, &b);
}

/* One frame of NUL-separated fields ("49\0" "1\0"), into w. */
static void frame(proto_writer_t *w, const char *fields, size_t len)
{
    proto_frame_begin(w);
    proto_put_raw(w, fields, len);
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);
}

#define FRAME(w, lit) frame((w), (lit), sizeof(lit) - 1)

/* The usual opening: greeting, server hello, startApi. */
static void conv_handshake(t_conv_t *c)
{
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, 157, 178, ""), 0);
    conv_send(c, 1, w.buf, w.len);
    proto_writer_reset(&w);
    CU_ASSERT_EQUAL(proto_server_hello_write(&w, 176, "20250425 19:23:55 UTC"), 0);
    conv_send(c, 0, w.buf, w.len);
    proto_writer_reset(&w);
    FRAME(&w, "71\0" "2\0" "7\0" "\0");
    conv_send(c, 1, w.buf, w.len);
    proto_writer_free(&w);
}

/* ---- collecting events ----------------------------------------------------- */

typedef struct t_events {
    char lines[T_LINES_MAX][T_LINE_LEN];
    size_t n;
} t_events_t;

static void add_line(t_events_t *e, const char *fmt, ...)
{
    if (e->n == T_LINES_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->lines[e->n++], T_LINE_LEN, fmt, ap);
    va_end(ap);
}

/* "c>s 1 msg 49|1" and the like: one line per event. */
static void collect(const gw_cap_event_t *ev, void *data)
{
    t_events_t *e = data;
    const char *dir = ev->dir == GW_CAP_C2S ? "c>s" : "s>c";
    char fields[T_LINE_LEN] = "";
    size_t n = 0;
    switch (ev->kind) {
    case GW_CAP_MSG:
        for (size_t i = 0; i < ev->frame.len && n + 1 < sizeof fields; i++)
            fields[n++] = ev->frame.payload[i] ? (char)ev->frame.payload[i] : '|';
        fields[n] = '\0';
        add_line(e, "%s %u msg %s", dir, ev->conn, fields);
        break;
    case GW_CAP_OPEN:
        add_line(e, "%s %u open %s", dir, ev->conn, ev->text);
        break;
    case GW_CAP_HELLO:
        add_line(e, "%s %u hello %d..%d", dir, ev->conn, ev->hello->min_version,
                 ev->hello->max_version);
        break;
    case GW_CAP_SERVER_HELLO:
        add_line(e, "%s %u version %d", dir, ev->conn, ev->version);
        break;
    case GW_CAP_GAP:
        add_line(e, "%s %u gap %llu+%llu", dir, ev->conn, (unsigned long long)ev->offset,
                 (unsigned long long)ev->length);
        break;
    case GW_CAP_RESYNC:
        add_line(e, "%s %u resync %llu skipped %llu", dir, ev->conn,
                 (unsigned long long)ev->offset, (unsigned long long)ev->length);
        break;
    case GW_CAP_ERROR:
        add_line(e, "%s %u error %llu", dir, ev->conn, (unsigned long long)ev->offset);
        break;
    case GW_CAP_CLOSE:
        add_line(e, "%s %u close %s", dir, ev->conn, ev->text);
        break;
    case GW_CAP_PACKET:
        add_line(e, "packet %s", ev->text);
        break;
    }
}

static int has_line(const t_events_t *e, const char *line)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->lines[i], line) == 0)
            return 1;
    return 0;
}

/* Index of the line, or -1. */
static int line_at(const t_events_t *e, const char *line)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->lines[i], line) == 0)
            return (int)i;
    return -1;
}

static void dump_lines(const t_events_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "    %s\n", e->lines[i]);
}

/* Reads path with the default ports (or cfg), collecting events. */
static int read_events(const char *path, const gw_cap_config_t *cfg, t_events_t *e,
                       gw_cap_t **keep, char *err)
{
    memset(e, 0, sizeof *e);
    gw_cap_t *c = gw_cap_new(cfg, collect, e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    int rc = gw_cap_read_file(c, path, err, 256);
    if (keep)
        *keep = c;
    else
        gw_cap_free(c);
    return rc;
}

/* ---- pcap: link types and headers ------------------------------------------- */

static void link_type_round_trip(int dlt, int ipv6)
{
    t_file_t f;
    file_open(&f, dlt);
    t_pkt_t k = {ipv6, 50312, 4002, 1000, 2000, GW_TCP_ACK, "\0\0\0\x03" "49\0", 7};
    file_add(&f, &k);
    file_close(&f);
    gw_pcap_t *p;
    gw_pcap_pkt_t pkt;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_pcap_open(f.path, &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(gw_pcap_linktype(p), dlt);
    CU_ASSERT_EQUAL(gw_pcap_next(p, &pkt, err, sizeof err), GW_PCAP_TCP);
    CU_ASSERT_EQUAL(pkt.ip_version, ipv6 ? 6 : 4);
    CU_ASSERT_EQUAL(pkt.sport, 50312);
    CU_ASSERT_EQUAL(pkt.dport, 4002);
    CU_ASSERT_EQUAL(pkt.seq, 1000);
    CU_ASSERT_EQUAL(pkt.ack, 2000);
    CU_ASSERT_EQUAL(pkt.number, 1);
    CU_ASSERT_EQUAL(pkt.offset, 24);
    CU_ASSERT_EQUAL(pkt.t_us, T_T0_US + 1000);
    CU_ASSERT_EQUAL(pkt.len, 7);
    CU_ASSERT_EQUAL(pkt.wire_len, 7);
    CU_ASSERT_EQUAL(memcmp(pkt.payload, "\0\0\0\x03" "49\0", 7), 0);
    CU_ASSERT_EQUAL(pkt.src[ipv6 ? 15 : 3], 1);
    CU_ASSERT_EQUAL(gw_pcap_next(p, &pkt, err, sizeof err), 0);
    gw_pcap_close(p);
    unlink(f.path);
}

static void every_link_type_decodes_ipv4_and_ipv6_tcp(void)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
                               DLT_RAW, DLT_IPV4, DLT_IPV6};
    for (size_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        if (dlts[i] != DLT_IPV6)
            link_type_round_trip(dlts[i], 0);
        if (dlts[i] != DLT_IPV4)
            link_type_round_trip(dlts[i], 1);
    }
}

/* Every prefix of a packet is decoded from an exact-size heap copy, so
 * ASan and valgrind would catch any read past the captured length. */
static void a_packet_cut_anywhere_is_malformed_and_never_read_past(void)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL2, DLT_NULL, DLT_RAW};
    uint8_t buf[T_PKT_MAX];
    char err[256];
    for (size_t d = 0; d < sizeof dlts / sizeof dlts[0]; d++) {
        for (int v6 = 0; v6 < 2; v6++) {
            t_pkt_t k = {v6, 50312, 4002, 1, 1, GW_TCP_ACK, "abc", 3};
            size_t n = build_packet(buf, dlts[d], &k);
            for (size_t cut = 0; cut < n - 3; cut++) {
                uint8_t *copy = malloc(cut ? cut : 1);
                memcpy(copy, buf, cut);
                gw_pcap_pkt_t pkt;
                int rc = gw_pcap_decode(dlts[d], copy, cut, &pkt, err, sizeof err);
                CU_ASSERT_EQUAL(rc, GW_PCAP_MALFORMED);
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "captured"));
                free(copy);
            }
        }
    }
}

static void a_payload_cut_by_the_snaplen_keeps_its_wire_length(void)
{
    uint8_t buf[T_PKT_MAX];
    char err[256];
    gw_pcap_pkt_t pkt;
    t_pkt_t k = {0, 50312, 4002, 1, 1, GW_TCP_ACK, "abcdefgh", 8};
    size_t n = build_packet(buf, DLT_EN10MB, &k);
    CU_ASSERT_EQUAL(gw_pcap_decode(DLT_EN10MB, buf, n - 5, &pkt, err, sizeof err), GW_PCAP_TCP);
    CU_ASSERT_EQUAL(pkt.len, 3);
    CU_ASSERT_EQUAL(pkt.wire_len, 8);
}

static void ethernet_padding_is_not_payload(void)
{
    uint8_t buf[T_PKT_MAX];
    char err[256];
    gw_pcap_pkt_t pkt;
    t_pkt_t k = {0, 50312, 4002, 1, 1, GW_TCP_ACK, NULL, 0};
    size_t n = build_packet(buf, DLT_EN10MB, &k);
    memset(buf + n, 0xEE, 6); /* 54 bytes padded to the 60-byte minimum */
    CU_ASSERT_EQUAL(gw_pcap_decode(DLT_EN10MB, buf, n + 6, &pkt, err, sizeof err), GW_PCAP_TCP);
    CU_ASSERT_EQUAL(pkt.len, 0);
    CU_ASSERT_EQUAL(pkt.wire_len, 0);
}

static void ipv4_options_and_ipv6_extension_headers_are_skipped(void)
{
    uint8_t buf[T_PKT_MAX], opt[T_PKT_MAX];
    char err[256];
    gw_pcap_pkt_t pkt;
    t_pkt_t k = {0, 50312, 4002, 7, 1, GW_TCP_ACK, "xy", 2};
    size_t n = build_ip(buf, &k);
    /* IPv4: 8 bytes of options (IHL 7). */
    memcpy(opt, buf, 20);
    memset(opt + 20, 1, 8); /* NOPs */
    memcpy(opt + 28, buf + 20, n - 20);
    opt[0] = 0x47;
    put16(opt + 2, (uint16_t)(n + 8));
    CU_ASSERT_EQUAL(gw_pcap_decode(DLT_RAW, opt, n + 8, &pkt, err, sizeof err), GW_PCAP_TCP);
    CU_ASSERT_EQUAL(pkt.seq, 7);
    CU_ASSERT_EQUAL(memcmp(pkt.payload, "xy", 2), 0);
    /* IPv6: a hop-by-hop options header (8 bytes) before TCP. */
    k.ipv6 = 1;
    n = build_ip(buf, &k);
    memcpy(opt, buf, 40);
    opt[6] = 0;                /* next: hop-by-hop */
    memset(opt + 40, 0, 8);
    opt[40] = 6;               /* its next: TCP, length 0 = 8 bytes */
    memcpy(opt + 48, buf + 40, n - 40);
    put16(opt + 4, (uint16_t)(n - 40 + 8));
    CU_ASSERT_EQUAL(gw_pcap_decode(DLT_RAW, opt, n + 8, &pkt, err, sizeof err), GW_PCAP_TCP);
    CU_ASSERT_EQUAL(pkt.seq, 7);
    CU_ASSERT_EQUAL(memcmp(pkt.payload, "xy", 2), 0);
    /* A fragment header: not reassembled, skipped as "other". */
    opt[40] = 6;
    opt[6] = 44;
    CU_ASSERT_EQUAL(gw_pcap_decode(DLT_RAW, opt, n + 8, &pkt, err, sizeof err), GW_PCAP_OTHER);
}

static void a_truncated_file_names_the_packet_and_byte_offset(void)
{
    t_file_t f;
    file_open(&f, DLT_EN10MB);
    t_pkt_t k = {0, 50312, 4002, 1, 1, GW_TCP_ACK, "abcdefgh", 8};
    file_add(&f, &k);
    file_add(&f, &k);
    file_close(&f);
    /* Record 1: 24 + 16 + 62 bytes; cut record 2 after 20 of its bytes. */
    CU_ASSERT_EQUAL_FATAL(truncate(f.path, 24 + 16 + 62 + 20), 0);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), GW_PCAP_ERR_TRUNCATED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "packet 2 at byte offset 102: truncated"));
    unlink(f.path);
}

static void a_malformed_packet_in_a_file_is_reported_and_skipped(void)
{
    uint8_t buf[T_PKT_MAX];
    t_file_t f;
    file_open(&f, DLT_EN10MB);
    t_pkt_t k = {0, 50312, 4002, 1, 1, GW_TCP_ACK, NULL, 0};
    size_t n = build_packet(buf, DLT_EN10MB, &k);
    file_add(&f, &k);
    file_raw(&f, buf, n - 8, n); /* the snaplen cut the TCP header */
    file_close(&f);
    t_events_t e;
    char err[256];
    gw_cap_t *c;
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, &c, err), 0);
    CU_ASSERT(has_line(&e, "packet packet 2 at byte offset 94: TCP header needs 20 bytes, "
                           "12 captured"));
    CU_ASSERT_EQUAL(gw_cap_stats(c)->packets.malformed, 1);
    CU_ASSERT_EQUAL(gw_cap_stats(c)->packets.tcp, 1);
    gw_cap_free(c);
    unlink(f.path);
}

static void a_file_that_is_not_a_capture_is_refused(void)
{
    char path[] = "/tmp/test_capture_notpcap_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "hello, world, not a pcap file\n", 30), 30);
    close(fd);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(path, NULL, &e, NULL, err), GW_PCAP_ERR_OPEN);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a pcap or pcapng capture"));
    CU_ASSERT_EQUAL(read_events("/nonexistent/x.pcap", NULL, &e, NULL, err), GW_PCAP_ERR_OPEN);
    unlink(path);
}

/* Found by fuzzing: a pcapng packet time far beyond int64 microseconds
 * overflowed (undefined behaviour); it is clamped and the packet decoded. */
static void a_pcapng_time_beyond_int64_microseconds_is_clamped(void)
{
    static uint8_t file[512];
    uint8_t pkt[T_PKT_MAX];
    t_pkt_t k = {0, 50312, 4002, 1, 1, GW_TCP_ACK, "x", 1};
    size_t caplen = build_packet(pkt, DLT_EN10MB, &k), padded = (caplen + 3) & ~(size_t)3;
    size_t n = 0;
    uint32_t shb[] = {0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0xFFFFFFFF, 0xFFFFFFFF, 28};
    uint32_t idb[] = {1, 20, 1 /* DLT_EN10MB, reserved 0 */, 65535, 20};
    uint32_t epb_len = (uint32_t)(32 + padded);
    uint32_t epb[] = {6, epb_len, 0, 0xFFFFFFFF, 0xFFFFFFFF, (uint32_t)caplen, (uint32_t)caplen};
    memcpy(file + n, shb, sizeof shb), n += sizeof shb; /* host order: pcapng allows either */
    memcpy(file + n, idb, sizeof idb), n += sizeof idb;
    memcpy(file + n, epb, sizeof epb), n += sizeof epb;
    memcpy(file + n, pkt, caplen), n += padded;
    memcpy(file + n, &epb_len, 4), n += 4;
    gw_pcap_t *p;
    gw_pcap_pkt_t out;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_pcap_fopen(fmemopen(file, n, "rb"), &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(gw_pcap_next(p, &out, err, sizeof err), GW_PCAP_TCP);
    CU_ASSERT(out.t_us > (int64_t)9e18); /* clamped near INT64_MAX, not wrapped */
    CU_ASSERT_EQUAL(out.len, 1);
    CU_ASSERT_EQUAL(gw_pcap_next(p, &out, err, sizeof err), 0);
    gw_pcap_close(p);
}

/* ---- reassembly --------------------------------------------------------------- */

typedef struct t_stream {
    char bytes[256];
    size_t n;
    uint64_t gap_off[8], gap_len[8];
    size_t ngaps;
} t_stream_t;

static void rs_data(void *ctx, uint64_t offset, const uint8_t *p, size_t n, int64_t t_us)
{
    t_stream_t *s = ctx;
    (void)t_us;
    CU_ASSERT_EQUAL(offset, s->n);
    memcpy(s->bytes + s->n, p, n);
    s->n += n;
}

static void rs_gap(void *ctx, uint64_t offset, uint64_t len, int64_t t_us)
{
    t_stream_t *s = ctx;
    (void)t_us;
    CU_ASSERT_EQUAL(offset, s->n);
    s->gap_off[s->ngaps] = offset;
    s->gap_len[s->ngaps++] = len;
    memset(s->bytes + s->n, '_', len);
    s->n += len;
}

static const gw_reasm_ops_t rs_ops = {rs_data, rs_gap};

static void seg(gw_reasm_t *r, uint32_t seq, uint8_t flags, const char *data)
{
    uint32_t len = (uint32_t)strlen(data);
    gw_reasm_in_t in = {seq, flags, (const uint8_t *)data, len, len, 0};
    CU_ASSERT_EQUAL(gw_reasm_segment(r, &in), 0);
}

static void out_of_order_segments_are_delivered_in_order(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s);
    seg(&r, 99, GW_TCP_SYN, "");
    seg(&r, 106, 0, "world");
    seg(&r, 111, 0, "!");
    CU_ASSERT_EQUAL(s.n, 0);
    seg(&r, 100, 0, "hello ");
    CU_ASSERT_EQUAL(s.n, 12);
    CU_ASSERT_NSTRING_EQUAL(s.bytes, "hello world!", 12);
    CU_ASSERT_EQUAL(r.stats.reordered, 2);
    CU_ASSERT_EQUAL(s.ngaps, 0);
    gw_reasm_free(&r);
}

static void retransmissions_and_overlaps_are_trimmed(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s);
    seg(&r, 0, GW_TCP_SYN, "");
    seg(&r, 1, 0, "abcd");
    seg(&r, 1, 0, "abcd");    /* retransmitted whole */
    seg(&r, 3, 0, "cdefg");   /* overlaps the front */
    seg(&r, 10, 0, "jkl");    /* ahead */
    seg(&r, 9, 0, "ijk");     /* overlaps the held one */
    seg(&r, 8, 0, "h");
    CU_ASSERT_EQUAL(s.n, 12);
    CU_ASSERT_NSTRING_EQUAL(s.bytes, "abcdefghijkl", 12);
    CU_ASSERT_EQUAL(r.stats.retrans, 4 + 2 + 2);
    gw_reasm_free(&r);
}

static void a_missing_segment_is_a_gap_with_its_offset(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s);
    seg(&r, 0, GW_TCP_SYN, "");
    seg(&r, 1, 0, "abc");
    seg(&r, 8, 0, "hij");
    CU_ASSERT_EQUAL(s.n, 3);
    gw_reasm_flush(&r, 0);
    CU_ASSERT_EQUAL(s.ngaps, 1);
    CU_ASSERT_EQUAL(s.gap_off[0], 3);
    CU_ASSERT_EQUAL(s.gap_len[0], 4);
    CU_ASSERT_NSTRING_EQUAL(s.bytes, "abc____hij", 10);
    CU_ASSERT_EQUAL(r.stats.gap_bytes, 4);
    gw_reasm_free(&r);
}

static void a_full_reorder_buffer_gives_up_on_the_hole(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 40, &rs_ops, &s); /* room for one short held segment */
    seg(&r, 0, GW_TCP_SYN, "");
    seg(&r, 1, 0, "a");
    seg(&r, 5, 0, "efgh");
    CU_ASSERT_EQUAL(s.ngaps, 0);
    seg(&r, 9, 0, "ijkl");
    CU_ASSERT_EQUAL(s.ngaps, 1);
    CU_ASSERT_EQUAL(s.gap_off[0], 1);
    CU_ASSERT_EQUAL(s.gap_len[0], 3);
    CU_ASSERT_NSTRING_EQUAL(s.bytes, "a___efghijkl", 12);
    gw_reasm_free(&r);
}

static void sequence_numbers_wrap_around(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s);
    seg(&r, 0xFFFFFFFDu, GW_TCP_SYN, "");
    seg(&r, 0x00000001u, 0, "de");
    seg(&r, 0xFFFFFFFEu, 0, "abc");
    CU_ASSERT_EQUAL(s.n, 5);
    CU_ASSERT_NSTRING_EQUAL(s.bytes, "abcde", 5);
    gw_reasm_free(&r);
}

static void fin_closes_after_the_last_byte_and_rst_at_once(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s);
    seg(&r, 0, GW_TCP_SYN, "");
    seg(&r, 4, GW_TCP_FIN, "d");
    CU_ASSERT_EQUAL(r.state, GW_REASM_OPEN); /* "abc" is still missing */
    seg(&r, 1, 0, "abc");
    CU_ASSERT_EQUAL(r.state, GW_REASM_FIN);
    seg(&r, 5, 0, "late");
    CU_ASSERT_EQUAL(s.n, 4);
    gw_reasm_free(&r);

    t_stream_t s2 = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s2);
    seg(&r, 0, GW_TCP_SYN, "");
    seg(&r, 1, 0, "ab");
    seg(&r, 5, 0, "ef");
    gw_reasm_reset(&r, 0);
    CU_ASSERT_EQUAL(r.state, GW_REASM_RST);
    CU_ASSERT_EQUAL(s2.ngaps, 1);
    CU_ASSERT_NSTRING_EQUAL(s2.bytes, "ab__ef", 6);
    gw_reasm_free(&r);
}

static void a_snaplen_cut_tail_is_a_gap_at_once(void)
{
    gw_reasm_t r;
    t_stream_t s = {0};
    gw_reasm_init(&r, 0, &rs_ops, &s);
    seg(&r, 0, GW_TCP_SYN, "");
    gw_reasm_in_t in = {1, 0, (const uint8_t *)"abcdef", 2, 6, 0};
    CU_ASSERT_EQUAL(gw_reasm_segment(&r, &in), 0);
    CU_ASSERT_EQUAL(s.ngaps, 1);
    CU_ASSERT_EQUAL(s.gap_off[0], 2);
    CU_ASSERT_EQUAL(s.gap_len[0], 4);
    seg(&r, 7, 0, "g");
    CU_ASSERT_NSTRING_EQUAL(s.bytes, "ab____g", 7);
    gw_reasm_free(&r);
}

/* ---- conversations ------------------------------------------------------------- */

/* A whole session on one link type and IP version: handshake, a ping, FIN. */
static void conversation_on(int dlt, int ipv6)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, dlt);
    t_conv_t c = {&f, ipv6, 50312, 4002, 1000, 9000};
    conv_syn(&c);
    conv_handshake(&c);
    proto_writer_init(&w);
    FRAME(&w, "49\0" "1\0");
    conv_send(&c, 1, w.buf, w.len);
    proto_writer_reset(&w);
    FRAME(&w, "49\0" "1\0" "1745609035\0");
    conv_send(&c, 0, w.buf, w.len);
    proto_writer_free(&w);
    conv_fin(&c);
    file_close(&f);

    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    const char *want[] = {"c>s 1 open port", "c>s 1 hello 157..178", "s>c 1 version 176",
                          "c>s 1 msg 71|2|7||", "c>s 1 msg 49|1|", "s>c 1 msg 49|1|1745609035|",
                          "c>s 1 close fin", "s>c 1 close fin"};
    CU_ASSERT_EQUAL(e.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CU_ASSERT_STRING_EQUAL(e.lines[i < e.n ? i : 0], want[i]);
    if (e.n != sizeof want / sizeof want[0])
        dump_lines(&e);
    unlink(f.path);
}

static void a_conversation_decodes_on_every_link_type_and_ip_version(void)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
                               DLT_RAW};
    for (size_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        conversation_on(dlts[i], 0);
        conversation_on(dlts[i], 1);
    }
}

static void messages_carry_the_time_of_the_packet_that_completed_them(void)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, DLT_EN10MB);
    t_conv_t c = {&f, 0, 50312, 4002, 1, 1};
    conv_syn(&c);
    conv_handshake(&c);
    proto_writer_init(&w);
    FRAME(&w, "49\0" "1\0" "1745609035\0");
    conv_send(&c, 0, w.buf, 5); /* half a frame ... */
    conv_send(&c, 0, w.buf + 5, w.len - 5); /* ... and the rest, 1 ms later */
    proto_writer_free(&w);
    file_close(&f);
    int64_t t_last = f.t_us;

    gw_cap_t *cap;
    t_events_t e;
    char err[256];
    memset(&e, 0, sizeof e);
    cap = gw_cap_new(NULL, collect, &e);
    gw_pcap_t *p;
    gw_pcap_pkt_t pkt;
    CU_ASSERT_EQUAL_FATAL(gw_pcap_open(f.path, &p, err, sizeof err), 0);
    while (gw_pcap_next(p, &pkt, err, sizeof err) == GW_PCAP_TCP) {
        size_t before = e.n;
        CU_ASSERT_EQUAL(gw_cap_packet(cap, &pkt), 0);
        if (e.n > before && strcmp(e.lines[e.n - 1], "s>c 1 msg 49|1|1745609035|") == 0)
            CU_ASSERT_EQUAL(pkt.t_us, t_last);
    }
    CU_ASSERT(has_line(&e, "s>c 1 msg 49|1|1745609035|"));
    gw_pcap_close(p);
    gw_cap_finish(cap);
    CU_ASSERT(has_line(&e, "c>s 1 close open"));
    gw_cap_free(cap);
    unlink(f.path);
}

static void out_of_order_retransmitted_and_overlapping_segments_decode_once(void)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, DLT_EN10MB);
    t_conv_t c = {&f, 0, 50312, 4002, 1, 1};
    conv_syn(&c);
    conv_handshake(&c);
    proto_writer_init(&w);
    FRAME(&w, "9\0" "1\0" "42\0");
    FRAME(&w, "15\0" "1\0" "DU1\0");
    t_pkt_t a = conv_seg(&c, 0, w.buf, 7);
    t_pkt_t b = conv_seg(&c, 0, w.buf + 7, w.len - 7);
    file_add(&f, &b);                      /* out of order */
    file_add(&f, &a);
    file_add(&f, &a);                      /* retransmitted */
    t_pkt_t ov = {0, 4002, 50312, a.seq + 3, 1, GW_TCP_ACK, w.buf + 3, 10};
    file_add(&f, &ov);                     /* overlapping both */
    proto_writer_free(&w);
    file_close(&f);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    int i = line_at(&e, "s>c 1 msg 9|1|42|"), j = line_at(&e, "s>c 1 msg 15|1|DU1|");
    CU_ASSERT(i >= 0 && j == i + 1);
    CU_ASSERT_EQUAL(e.n, 8); /* open, hello, version, startApi, the 2 messages, 2 closes */
    if (e.n != 8)
        dump_lines(&e);
    unlink(f.path);
}

static void a_missing_segment_is_reported_and_decoding_resumes(void)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, DLT_EN10MB);
    t_conv_t c = {&f, 0, 50312, 4002, 1, 1};
    conv_syn(&c);
    conv_handshake(&c);
    proto_writer_init(&w);
    FRAME(&w, "9\0" "1\0" "42\0");
    FRAME(&w, "15\0" "1\0" "DU1\0");
    FRAME(&w, "49\0" "1\0" "1745609035\0");
    /* The 30-byte server hello ends at offset 30; the frames are 11, 13
     * and 20 bytes long, at offsets 30, 41 and 54. */
    conv_send(&c, 0, w.buf, 4);
    conv_seg(&c, 0, w.buf + 4, 10);       /* lost: the rest of frame 1, 3 bytes of frame 2 */
    conv_send(&c, 0, w.buf + 14, w.len - 14);
    proto_writer_free(&w);
    conv_fin(&c);
    file_close(&f);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    CU_ASSERT(has_line(&e, "s>c 1 gap 34+10"));
    /* frame 2 lost its head too: decoding resumes at frame 3, having
     * skipped the 4 bytes before the gap and the 10 after it */
    CU_ASSERT(has_line(&e, "s>c 1 resync 54 skipped 14"));
    CU_ASSERT(has_line(&e, "s>c 1 msg 49|1|1745609035|"));
    CU_ASSERT(!has_line(&e, "s>c 1 msg 9|1|42|"));
    CU_ASSERT(has_line(&e, "s>c 1 close fin"));
    if (!has_line(&e, "s>c 1 resync 54 skipped 14"))
        dump_lines(&e);
    unlink(f.path);
}

static void a_flow_that_is_not_tws_is_ignored(void)
{
    t_file_t f;
    file_open(&f, DLT_EN10MB);
    t_conv_t web = {&f, 0, 50999, 8080, 1, 1};
    conv_syn(&web);
    conv_send(&web, 1, "GET / HTTP/1.1\r\n\r\n", 18);
    conv_send(&web, 0, "HTTP/1.1 200 OK\r\n\r\n", 19);
    conv_fin(&web);
    file_close(&f);
    t_events_t e;
    char err[256];
    gw_cap_t *c;
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, &c, err), 0);
    CU_ASSERT_EQUAL(e.n, 0);
    CU_ASSERT_EQUAL(gw_cap_nconns(c), 0);
    CU_ASSERT_EQUAL(gw_cap_stats(c)->flows, 1);
    CU_ASSERT_EQUAL(gw_cap_stats(c)->ignored, 1);
    gw_cap_free(c);
    unlink(f.path);
}

static void the_greeting_finds_a_conversation_on_any_port(void)
{
    t_file_t f;
    file_open(&f, DLT_LINUX_SLL2);
    t_conv_t c = {&f, 1, 50312, 45123, 1, 1};
    conv_syn(&c);
    conv_handshake(&c);
    file_close(&f);
    t_events_t e;
    char err[256];
    gw_cap_t *cap;
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, &cap, err), 0);
    CU_ASSERT(has_line(&e, "c>s 1 open greeting"));
    CU_ASSERT(has_line(&e, "c>s 1 hello 157..178"));
    CU_ASSERT(has_line(&e, "s>c 1 version 176"));
    CU_ASSERT(has_line(&e, "c>s 1 msg 71|2|7||"));
    CU_ASSERT_EQUAL_FATAL(gw_cap_nconns(cap), 1);
    CU_ASSERT_STRING_EQUAL(gw_cap_conn(cap, 0)->server, "[::2]:45123");
    CU_ASSERT_EQUAL(gw_cap_conn(cap, 0)->version, 176);
    gw_cap_free(cap);
    /* Listed as a port, it is found by port instead. */
    gw_cap_config_t cfg = {.ports = {45123}, .nports = 1};
    CU_ASSERT_EQUAL(read_events(f.path, &cfg, &e, NULL, err), 0);
    CU_ASSERT(has_line(&e, "c>s 1 open port"));
    unlink(f.path);
}

static void a_capture_started_mid_stream_resyncs_on_a_frame(void)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, DLT_EN10MB);
    t_conv_t c = {&f, 0, 50312, 4002, 1, 1};
    proto_writer_init(&w);
    FRAME(&w, "9\0" "1\0" "42\0");
    FRAME(&w, "15\0" "1\0" "DU1\0");
    FRAME(&w, "49\0" "1\0" "1745609035\0");
    conv_send(&c, 0, w.buf + 5, w.len - 5); /* no SYN, starts inside frame 1 */
    proto_writer_free(&w);
    file_close(&f);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    CU_ASSERT(has_line(&e, "s>c 1 resync 6 skipped 6")); /* the 6 bytes left of frame 1 */
    CU_ASSERT(has_line(&e, "s>c 1 msg 15|1|DU1|"));
    CU_ASSERT(has_line(&e, "s>c 1 msg 49|1|1745609035|"));
    if (!has_line(&e, "s>c 1 resync 6 skipped 6"))
        dump_lines(&e);
    unlink(f.path);
}

/* Found by fuzzing: when the last bytes of a direction are missing (a gap
 * right before its FIN), the resync scan ran over an empty, never
 * allocated (NULL) buffer: undefined behaviour that UBSan stops on. */
static void a_gap_at_the_end_of_a_direction_closes_cleanly(void)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, DLT_EN10MB);
    t_conv_t c = {&f, 0, 50312, 4002, 1, 1};
    conv_syn(&c);
    conv_handshake(&c);
    proto_writer_init(&w);
    FRAME(&w, "49\0" "1\0");
    conv_seg(&c, 1, w.buf, w.len); /* sent, not captured */
    proto_writer_free(&w);
    conv_fin(&c);
    file_close(&f);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    CU_ASSERT(has_line(&e, "c>s 1 msg 71|2|7||"));
    CU_ASSERT(has_line(&e, "c>s 1 gap 29+9"));
    CU_ASSERT(has_line(&e, "c>s 1 close fin"));
    CU_ASSERT(has_line(&e, "s>c 1 close fin"));
    if (!has_line(&e, "c>s 1 gap 29+9"))
        dump_lines(&e);
    unlink(f.path);
}

/* gw_pcap_fopen + gw_cap_read (what the pcap fuzzer uses) on a capture held
 * in memory give exactly the events gw_cap_read_file gives on its file. */
static void a_capture_in_memory_decodes_as_its_file(void)
{
    static t_events_t from_file, from_memory;
    static uint8_t bytes[T_PKT_MAX];
    char err[256];
    CU_ASSERT_EQUAL(read_events(T_CAPS "stoqey-4002.pcap", NULL, &from_file, NULL, err), 0);
    FILE *fp = fopen(T_CAPS "stoqey-4002.pcap", "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    size_t n = fread(bytes, 1, sizeof bytes, fp);
    fclose(fp);
    CU_ASSERT_FATAL(n > 0 && n < sizeof bytes);
    gw_pcap_t *p;
    CU_ASSERT_EQUAL_FATAL(gw_pcap_fopen(fmemopen(bytes, n, "rb"), &p, err, sizeof err), 0);
    memset(&from_memory, 0, sizeof from_memory);
    gw_cap_t *c = gw_cap_new(NULL, collect, &from_memory);
    CU_ASSERT_EQUAL(gw_cap_read(c, p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(gw_cap_stats(c)->packets.packets, 19);
    gw_cap_free(c);
    gw_pcap_close(p);
    CU_ASSERT_EQUAL(from_memory.n, from_file.n);
    for (size_t i = 0; i < from_file.n && i < from_memory.n; i++)
        CU_ASSERT_STRING_EQUAL(from_memory.lines[i], from_file.lines[i]);
    CU_ASSERT(has_line(&from_memory, "c>s 1 msg 49|1|"));
}

static void a_reused_port_after_close_is_a_new_conversation(void)
{
    t_file_t f;
    file_open(&f, DLT_EN10MB);
    for (int i = 0; i < 2; i++) {
        t_conv_t c = {&f, 0, 50312, 4002, 1000u + 5000u * (unsigned)i, 9000};
        conv_syn(&c);
        conv_handshake(&c);
        conv_fin(&c);
    }
    file_close(&f);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    CU_ASSERT(has_line(&e, "c>s 1 msg 71|2|7||"));
    CU_ASSERT(has_line(&e, "c>s 2 msg 71|2|7||"));
    CU_ASSERT(has_line(&e, "s>c 2 close fin"));
    unlink(f.path);
}

static void bad_bytes_are_reported_and_skipped(void)
{
    t_file_t f;
    proto_writer_t w;
    file_open(&f, DLT_EN10MB);
    t_conv_t c = {&f, 0, 50312, 4002, 1, 1};
    conv_syn(&c);
    conv_handshake(&c);
    proto_writer_init(&w);
    FRAME(&w, "49\0" "1\0");
    conv_send(&c, 1, "\0\0\0\0", 4); /* a zero-length frame */
    conv_send(&c, 1, w.buf, w.len);
    proto_writer_free(&w);
    file_close(&f);
    t_events_t e;
    char err[256];
    CU_ASSERT_EQUAL(read_events(f.path, NULL, &e, NULL, err), 0);
    /* greeting 17 bytes + startApi 12: the bad frame is at 29 */
    CU_ASSERT(has_line(&e, "c>s 1 error 29"));
    CU_ASSERT(has_line(&e, "c>s 1 resync 33 skipped 4"));
    CU_ASSERT(has_line(&e, "c>s 1 msg 49|1|"));
    unlink(f.path);
}

/* ---- committed captures and inspect --------------------------------------------- */

/* Runs inspect with args; its stdout is in out (NUL-terminated). */
static int run_inspect(int argc, char **argv, char *out, size_t cap, char *errtext, size_t ecap)
{
    FILE *o = tmpfile(), *e = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    int rc = gw_inspect_run(argc, argv, o, e);
    rewind(o);
    rewind(e);
    out[fread(out, 1, cap - 1, o)] = '\0';
    errtext[fread(errtext, 1, ecap - 1, e)] = '\0';
    fclose(o);
    fclose(e);
    return rc;
}

static char t_out[1 << 16], t_err[1024];

static void inspect_file(const char *file, int want_rc)
{
    char path[128];
    snprintf(path, sizeof path, T_CAPS "%s", file);
    char *argv[] = {"inspect", path};
    CU_ASSERT_EQUAL(run_inspect(2, argv, t_out, sizeof t_out, t_err, sizeof t_err), want_rc);
}

static void expect_out(const char *text)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(t_out, text));
    if (!strstr(t_out, text))
        fprintf(stderr, "\n  missing: %s\n  in:\n%s\n", text, t_out);
}

static void the_recorded_third_party_sessions_decode_fully(void)
{
    static const char *files[] = {"stoqey-4002.pcap", "stoqey-ipv6-4002.pcap",
                                  "stoqey-any-sll2-45123.pcap", "damaged-reordered.pcap"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        inspect_file(files[i], 0);
        expect_out("c>s conn=1 hello [min=100,max=193]");
        expect_out("s>c conn=1 serverHello [version=178,");
        expect_out("c>s conn=1 startApi [71,version=2,clientId=17,optionalCapabilities=\"\"]");
        expect_out("s>c conn=1 managedAccounts [15,version=1,accounts=\"DU1234567\"]");
        expect_out("s>c conn=1 nextValidId [9,version=1,orderId=1]");
        expect_out("c>s conn=1 reqCurrentTime [49,version=1]");
        expect_out("s>c conn=1 currentTime [49,version=1,time=");
        expect_out("1 conversations, 8 messages, 0 gaps, 0 decode errors");
        expect_out("version 178; c>s 2 msgs, 0 gaps (0 bytes), 0 skipped, 0 errors, end fin; "
                   "s>c 6 msgs, 0 gaps (0 bytes), 0 skipped, 0 errors, end fin");
    }
    inspect_file("stoqey-any-sll2-45123.pcap", 0);
    expect_out("found by greeting");
    inspect_file("stoqey-ipv6-4002.pcap", 0);
    expect_out("[::1]:4002 found by port");
}

static void the_recorded_runner_session_decodes_from_pcapng(void)
{
    inspect_file("runner-4001.pcapng", 0);
    expect_out("c>s conn=1 hello [min=157,max=178]");
    expect_out("c>s conn=1 startApi [71,version=2,clientId=3,");
    expect_out("1 conversations, 10 messages, 0 gaps, 0 decode errors");
    expect_out("version 178; c>s 3 msgs");
}

static void the_damaged_captures_give_their_expected_summaries(void)
{
    inspect_file("damaged-missing.pcap", 0);
    expect_out("s>c conn=1 GAP offset=49 length=10");
    expect_out("s>c conn=1 RESYNC offset=59 skipped=0");
    expect_out("1 conversations, 7 messages, 1 gaps, 0 decode errors");
    expect_out("s>c 5 msgs, 1 gaps (10 bytes), 0 skipped, 0 errors, end fin");

    inspect_file("damaged-mixed.pcap", 0);
    expect_out("24 packets (23 TCP, 1 other, 0 malformed), 2 TCP flows (1 not TWS), "
               "1 conversations, 8 messages, 0 gaps");

    inspect_file("damaged-truncated.pcap", 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(t_err, "damaged-truncated.pcap: packet 12 at byte offset "
                                         "1089: truncated"));
    expect_out("11 packets (11 TCP, 0 other, 0 malformed)");
    expect_out("1 conversations, 4 messages, 0 gaps");
    expect_out("c>s 1 msgs, 0 gaps (0 bytes), 0 skipped, 0 errors, end open");
}

static void inspect_json_prints_one_object_per_line(void)
{
    char *argv[] = {"inspect", "--json", T_CAPS "stoqey-4002.pcap"};
    CU_ASSERT_EQUAL(run_inspect(3, argv, t_out, sizeof t_out, t_err, sizeof t_err), 0);
    int lines = 0, msgs = 0, summary = 0;
    for (char *line = strtok(t_out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        lines++;
        cJSON *ev = cJSON_GetObjectItem(o, "event");
        if (ev && strcmp(ev->valuestring, "msg") == 0) {
            msgs++;
            cJSON *named = cJSON_GetObjectItem(o, "named");
            const char *name = cJSON_GetObjectItem(o, "name")->valuestring;
            if (strcmp(name, "nextValidId") == 0)
                CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(named, "orderId")->valuestring, "1");
        }
        cJSON *s = cJSON_GetObjectItem(o, "summary");
        if (s) {
            summary++;
            cJSON *conv = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "conversations"), 0);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(conv, "version")->valueint, 178);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(s, "messages")->valueint, 8);
        }
        cJSON_Delete(o);
    }
    CU_ASSERT_EQUAL(msgs, 8);
    CU_ASSERT_EQUAL(summary, 1);
    CU_ASSERT_EQUAL(lines, 1 + 2 + 8 + 2 + 1); /* open, hellos, messages, closes, summary */
}

static void inspect_refuses_bad_usage_and_non_captures(void)
{
    char *a1[] = {"inspect"};
    CU_ASSERT_EQUAL(run_inspect(1, a1, t_out, sizeof t_out, t_err, sizeof t_err), 2);
    char *a2[] = {"inspect", "--ports", "0,x", "f.pcap"};
    CU_ASSERT_EQUAL(run_inspect(4, a2, t_out, sizeof t_out, t_err, sizeof t_err), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(t_err, "--ports"));
    char *a3[] = {"inspect", T_CAPS "make-damaged.py"};
    CU_ASSERT_EQUAL(run_inspect(2, a3, t_out, sizeof t_out, t_err, sizeof t_err), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(t_err, "make-damaged.py: not a pcap or pcapng capture"));
    char *a4[] = {"inspect", "--ports", "4002", T_CAPS "stoqey-any-sll2-45123.pcap"};
    CU_ASSERT_EQUAL(run_inspect(4, a4, t_out, sizeof t_out, t_err, sizeof t_err), 0);
    expect_out("found by greeting");
}

static CU_TestInfo pcap_tests[] = {
    {"every_link_type_decodes_ipv4_and_ipv6_tcp", every_link_type_decodes_ipv4_and_ipv6_tcp},
    {"a_packet_cut_anywhere_is_malformed_and_never_read_past",
     a_packet_cut_anywhere_is_malformed_and_never_read_past},
    {"a_payload_cut_by_the_snaplen_keeps_its_wire_length",
     a_payload_cut_by_the_snaplen_keeps_its_wire_length},
    {"ethernet_padding_is_not_payload", ethernet_padding_is_not_payload},
    {"ipv4_options_and_ipv6_extension_headers_are_skipped",
     ipv4_options_and_ipv6_extension_headers_are_skipped},
    {"a_truncated_file_names_the_packet_and_byte_offset",
     a_truncated_file_names_the_packet_and_byte_offset},
    {"a_malformed_packet_in_a_file_is_reported_and_skipped",
     a_malformed_packet_in_a_file_is_reported_and_skipped},
    {"a_file_that_is_not_a_capture_is_refused", a_file_that_is_not_a_capture_is_refused},
    {"a_pcapng_time_beyond_int64_microseconds_is_clamped",
     a_pcapng_time_beyond_int64_microseconds_is_clamped},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo reasm_tests[] = {
    {"out_of_order_segments_are_delivered_in_order",
     out_of_order_segments_are_delivered_in_order},
    {"retransmissions_and_overlaps_are_trimmed", retransmissions_and_overlaps_are_trimmed},
    {"a_missing_segment_is_a_gap_with_its_offset", a_missing_segment_is_a_gap_with_its_offset},
    {"a_full_reorder_buffer_gives_up_on_the_hole", a_full_reorder_buffer_gives_up_on_the_hole},
    {"sequence_numbers_wrap_around", sequence_numbers_wrap_around},
    {"fin_closes_after_the_last_byte_and_rst_at_once",
     fin_closes_after_the_last_byte_and_rst_at_once},
    {"a_snaplen_cut_tail_is_a_gap_at_once", a_snaplen_cut_tail_is_a_gap_at_once},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo capture_tests[] = {
    {"a_conversation_decodes_on_every_link_type_and_ip_version",
     a_conversation_decodes_on_every_link_type_and_ip_version},
    {"messages_carry_the_time_of_the_packet_that_completed_them",
     messages_carry_the_time_of_the_packet_that_completed_them},
    {"out_of_order_retransmitted_and_overlapping_segments_decode_once",
     out_of_order_retransmitted_and_overlapping_segments_decode_once},
    {"a_missing_segment_is_reported_and_decoding_resumes",
     a_missing_segment_is_reported_and_decoding_resumes},
    {"a_flow_that_is_not_tws_is_ignored", a_flow_that_is_not_tws_is_ignored},
    {"the_greeting_finds_a_conversation_on_any_port",
     the_greeting_finds_a_conversation_on_any_port},
    {"a_capture_started_mid_stream_resyncs_on_a_frame",
     a_capture_started_mid_stream_resyncs_on_a_frame},
    {"a_reused_port_after_close_is_a_new_conversation",
     a_reused_port_after_close_is_a_new_conversation},
    {"a_gap_at_the_end_of_a_direction_closes_cleanly",
     a_gap_at_the_end_of_a_direction_closes_cleanly},
    {"a_capture_in_memory_decodes_as_its_file", a_capture_in_memory_decodes_as_its_file},
    {"bad_bytes_are_reported_and_skipped", bad_bytes_are_reported_and_skipped},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo inspect_tests[] = {
    {"the_recorded_third_party_sessions_decode_fully",
     the_recorded_third_party_sessions_decode_fully},
    {"the_recorded_runner_session_decodes_from_pcapng",
     the_recorded_runner_session_decodes_from_pcapng},
    {"the_damaged_captures_give_their_expected_summaries",
     the_damaged_captures_give_their_expected_summaries},
    {"inspect_json_prints_one_object_per_line", inspect_json_prints_one_object_per_line},
    {"inspect_refuses_bad_usage_and_non_captures", inspect_refuses_bad_usage_and_non_captures},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"pcap", NULL, NULL, NULL, NULL, pcap_tests},
    {"reasm", NULL, NULL, NULL, NULL, reasm_tests},
    {"capture", NULL, NULL, NULL, NULL, capture_tests},
    {"inspect", NULL, NULL, NULL, NULL, inspect_tests},
    CU_SUITE_INFO_NULL,
};
