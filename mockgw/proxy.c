/* proxy.c - the recording proxy: the pcap recorder (packets built by hand,
 * written with libpcap's pcap_open_dead + pcap_dump), the account
 * scrubber, the relay of each client to its own upstream connection with
 * the output faults on the way back, and the random fault schedule. */
#define _DEFAULT_SOURCE /* libpcap's header uses the BSD u_char types */
#include "proxy.h"

#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"
#include "capture.h"
#include "pcap.h"
#include "requests.h"
#include "session.h"

#define PX_SRC "proxy"
#define PX_SNAPLEN 65535
#define PX_TCP_PSH 0x08
#define PX_SEGMENT_MAX 16384
#define PX_HEADERS 40           /* IPv4 + TCP, no options */
#define PX_WINDOW 65535
#define PX_CLIENT_PORT_BASE 40000
#define PX_SLICE_GAP_US IO_US_PER_MS
#define PX_CONNS_MAX 64
#define PX_GARBAGE_LEN 0xFFFFFFFFu /* above PROTO_LEN_MAX: no client takes it */
#define PX_CHAOS_LATENCY_MAX_US (2 * IO_US_PER_S)
#define PX_CHAOS_FOR_MAX_US (30 * IO_US_PER_S)
#define PX_CHAOS_SLICE_MAX 16
#define PX_CHAOS_GARBAGE_MAX 64
#define PX_CHAOS_TIMES_MAX 2
#define PX_MSG_KINDS 10            /* the bits of enum gw_msg_kind */
#define PX_STALE_ALL (~0u)
#define PX_HELD_MAX 16

/* ---- the recorder ------------------------------------------------------- */

struct gw_proxy_rec {
    pcap_t *dead;
    pcap_dumper_t *dump;
    uint16_t ip_id;
};

int gw_proxy_rec_open(const char *path, gw_proxy_rec_t **out, char *err, size_t errlen)
{
    *out = NULL;
    gw_proxy_rec_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return IO_ERR_NOMEM;
    }
    r->dead = pcap_open_dead(DLT_RAW, PX_SNAPLEN);
    r->dump = r->dead ? pcap_dump_open(r->dead, path) : NULL;
    if (!r->dump) {
        snprintf(err, errlen, "%s: %s", path, r->dead ? pcap_geterr(r->dead) : "out of memory");
        if (r->dead)
            pcap_close(r->dead);
        free(r);
        return IO_ERR_SYS;
    }
    *out = r;
    return 0;
}

void gw_proxy_rec_close(gw_proxy_rec_t *r)
{
    if (!r)
        return;
    pcap_dump_close(r->dump);
    pcap_close(r->dead);
    free(r);
}

static void px_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void px_put32(uint8_t *p, uint32_t v)
{
    px_put16(p, v >> 16);
    px_put16(p + 2, v & 0xFFFF);
}

/* The Internet checksum of len bytes, folded into sum. */
static uint32_t px_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t px_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One packet of direction dir with those flags and payload. */
static void px_packet(gw_proxy_rec_t *r, const gw_proxy_flow_t *f, int dir, uint8_t flags,
                      uint32_t seq, uint32_t ack, const uint8_t *data, size_t len, int64_t t_us)
{
    uint8_t pkt[PX_HEADERS + PX_SEGMENT_MAX];
    const uint8_t *src = dir == 0 ? f->client_ip : f->server_ip;
    const uint8_t *dst = dir == 0 ? f->server_ip : f->client_ip;
    uint16_t sport = dir == 0 ? f->client_port : f->server_port;
    uint16_t dport = dir == 0 ? f->server_port : f->client_port;
    size_t total = PX_HEADERS + len;
    memset(pkt, 0, PX_HEADERS);
    pkt[0] = 0x45;                      /* IPv4, 20-byte header */
    px_put16(pkt + 2, (uint32_t)total);
    px_put16(pkt + 4, r->ip_id++);
    px_put16(pkt + 6, 0x4000);          /* don't fragment */
    pkt[8] = 64;                        /* ttl */
    pkt[9] = 6;                         /* TCP */
    memcpy(pkt + 12, src, 4);
    memcpy(pkt + 16, dst, 4);
    px_put16(pkt + 10, px_fold(px_sum(0, pkt, 20)));
    uint8_t *tcp = pkt + 20;
    px_put16(tcp, sport);
    px_put16(tcp + 2, dport);
    px_put32(tcp + 4, seq);
    px_put32(tcp + 8, flags & GW_TCP_ACK ? ack : 0);
    tcp[12] = 5 << 4;                   /* 20-byte header */
    tcp[13] = flags;
    px_put16(tcp + 14, PX_WINDOW);
    if (len > 0)
        memcpy(tcp + 20, data, len);
    /* The pseudo-header: addresses, protocol, TCP length. */
    uint32_t sum = px_sum(0, pkt + 12, 8) + 6 + (uint32_t)(20 + len);
    px_put16(tcp + 16, px_fold(px_sum(sum, tcp, 20 + len)));
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(t_us / IO_US_PER_S);
    h.ts.tv_usec = (suseconds_t)(t_us % IO_US_PER_S);
    h.caplen = h.len = (bpf_u_int32)total;
    pcap_dump((u_char *)r->dump, &h, pkt);
}

void gw_proxy_rec_connect(gw_proxy_rec_t *r, gw_proxy_flow_t *f, uint32_t isn_client,
                          uint32_t isn_server, int64_t t_us)
{
    px_packet(r, f, 0, GW_TCP_SYN, isn_client, 0, NULL, 0, t_us);
    px_packet(r, f, 1, GW_TCP_SYN | GW_TCP_ACK, isn_server, isn_client + 1, NULL, 0, t_us);
    px_packet(r, f, 0, GW_TCP_ACK, isn_client + 1, isn_server + 1, NULL, 0, t_us);
    f->seq[0] = isn_client + 1;
    f->seq[1] = isn_server + 1;
    f->ended[0] = f->ended[1] = 0;
    pcap_dump_flush(r->dump);
}

void gw_proxy_rec_data(gw_proxy_rec_t *r, gw_proxy_flow_t *f, int dir, const void *data,
                       size_t len, int64_t t_us)
{
    const uint8_t *p = data;
    if (f->ended[dir])
        return;
    while (len > 0) {
        size_t n = len < PX_SEGMENT_MAX ? len : PX_SEGMENT_MAX;
        px_packet(r, f, dir, GW_TCP_ACK | PX_TCP_PSH, f->seq[dir], f->seq[!dir], p, n, t_us);
        f->seq[dir] += (uint32_t)n;
        p += n;
        len -= n;
    }
    pcap_dump_flush(r->dump);
}

void gw_proxy_rec_end(gw_proxy_rec_t *r, gw_proxy_flow_t *f, int dir, int rst, int64_t t_us)
{
    if (f->ended[dir])
        return;
    f->ended[dir] = 1;
    px_packet(r, f, dir, (rst ? GW_TCP_RST : GW_TCP_FIN) | GW_TCP_ACK, f->seq[dir], f->seq[!dir],
              NULL, 0, t_us);
    f->seq[dir] += !rst; /* a FIN takes a sequence number */
    pcap_dump_flush(r->dump);
}

/* ---- the scrubber ------------------------------------------------------- */

void gw_proxy_scrub_init(gw_proxy_scrub_t *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->dir[0].prefix_left = 4; /* "API\0" */
}

void gw_proxy_scrub_free(gw_proxy_scrub_t *sc)
{
    for (size_t i = 0; i < sc->naccounts; i++)
        free(sc->accounts[i]);
    for (int d = 0; d < 2; d++)
        free(sc->dir[d].buf);
    memset(sc, 0, sizeof *sc);
}

static void px_learn(gw_proxy_scrub_t *sc, const char *name, size_t len)
{
    for (size_t i = 0; i < sc->naccounts; i++)
        if (strlen(sc->accounts[i]) == len && memcmp(sc->accounts[i], name, len) == 0)
            return;
    if (len == 0 || sc->naccounts == GW_PROXY_ACCOUNTS_MAX)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return; /* not learnt: that account stays in the recording */
    memcpy(copy, name, len);
    copy[len] = '\0';
    sc->accounts[sc->naccounts++] = copy;
}

/* Overwrites the len bytes at p when they spell a learnt account: 'X's,
 * then the account's number, as long as the name. */
static void px_scrub_item(const gw_proxy_scrub_t *sc, char *p, size_t len)
{
    for (size_t i = 0; i < sc->naccounts; i++) {
        if (strlen(sc->accounts[i]) != len || memcmp(sc->accounts[i], p, len) != 0)
            continue;
        char num[24];
        size_t n = (size_t)snprintf(num, sizeof num, "%zu", i + 1);
        memset(p, 'X', len);
        memcpy(p + (n < len ? len - n : 0), num + (n < len ? 0 : n - len), n < len ? n : len);
        return;
    }
}

/* One whole frame's payload: learn from a server's managedAccounts, then
 * scrub every comma-separated item of every field. */
static void px_scrub_frame(gw_proxy_scrub_t *sc, int dir, uint8_t *payload, size_t len)
{
    if (dir == 1 && len > 3 && memcmp(payload, "15", 3) == 0) {
        const char *f = (const char *)payload + 3;           /* version */
        size_t vlen = strnlen(f, len - 3);
        if (3 + vlen + 1 < len) {
            const char *list = f + vlen + 1;
            size_t llen = strnlen(list, len - 3 - vlen - 1);
            for (size_t s = 0, e = 0; e <= llen; e++) {
                if (e == llen || list[e] == ',') {
                    px_learn(sc, list + s, e - s);
                    s = e + 1;
                }
            }
        }
    }
    char *p = (char *)payload;
    for (size_t s = 0, e = 0; e < len; e++) {
        if (p[e] == ',' || p[e] == '\0') {
            px_scrub_item(sc, p + s, e - s);
            s = e + 1;
        }
    }
}

static int px_buf_append(gw_proxy_scrub_dir_t *d, const uint8_t *bytes, size_t len)
{
    if (d->len + len > d->cap) {
        size_t cap = d->cap ? d->cap : 256;
        while (cap < d->len + len)
            cap *= 2;
        uint8_t *buf = realloc(d->buf, cap);
        if (!buf)
            return IO_ERR_NOMEM;
        d->buf = buf;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, bytes, len);
    d->len += len;
    return 0;
}

int gw_proxy_scrub_feed(gw_proxy_scrub_t *sc, int dir, const uint8_t *bytes, size_t len,
                        gw_proxy_scrub_out out, void *data)
{
    gw_proxy_scrub_dir_t *d = &sc->dir[dir];
    size_t pass = d->prefix_left < len ? d->prefix_left : len;
    if (pass > 0) {
        out(data, bytes, pass);
        d->prefix_left -= pass;
        bytes += pass;
        len -= pass;
    }
    if (d->raw) {
        if (len > 0)
            out(data, bytes, len);
        return 0;
    }
    if (px_buf_append(d, bytes, len) < 0)
        return IO_ERR_NOMEM;
    size_t at = 0;
    while (d->len - at >= 4) {
        uint32_t flen = (uint32_t)d->buf[at] << 24 | (uint32_t)d->buf[at + 1] << 16 |
                        (uint32_t)d->buf[at + 2] << 8 | d->buf[at + 3];
        if (flen == 0 || flen > PROTO_LEN_MAX) {
            d->raw = 1; /* garbage: nothing after it frames; pass it on as it is */
            out(data, d->buf + at, d->len - at);
            at = d->len;
            break;
        }
        if (d->len - at - 4 < flen)
            break;
        px_scrub_frame(sc, dir, d->buf + at + 4, flen);
        out(data, d->buf + at, 4 + (size_t)flen);
        at += 4 + (size_t)flen;
    }
    memmove(d->buf, d->buf + at, d->len - at);
    d->len -= at;
    return 0;
}

/* ---- the relay ------------------------------------------------------------ */

/* Upstream bytes held back by latency or slicing, in order. */
typedef struct px_out {
    struct px_out *next;
    io_us_t due_us;
    size_t len, off;
    uint8_t bytes[];
} px_out_t;

/* One direction's framing: proto's decoder over its bytes, and how far they
 * have gone on, so that faults drop, answer and inject whole frames while
 * the bytes otherwise pass as they come. */
typedef struct px_dir {
    proto_decoder_t dec;
    uint64_t sent; /* stream offset up to which bytes went on (or were dropped) */
    int hello;     /* the direction's greeting has passed */
    int raw;       /* the bytes stopped framing: they pass as they come */
} px_dir_t;

typedef struct px_conn {
    gw_proxy_t *px;
    unsigned long long id;
    io_stream_t *client, *upstream; /* upstream NULL once a refused startApi closed it */
    int up_connected;
    uint8_t *early;          /* client bytes sent before upstream connected */
    size_t early_len;
    px_out_t *held, *held_tail;
    io_timer_t *pump;
    const char *drain_by;    /* who ended it: close the client once held drains */
    px_dir_t dir[2];         /* by enum gw_cap_dir */
    int version;             /* from the server hello; 0 before it or if it is none */
    int ready;               /* the startup's nextValidId has passed */
    int stalled;             /* accepted in a handshake stall: the server hello waits */
    uint8_t *pending;        /* injected bytes waiting for the end of a frame */
    size_t pending_len;
    gw_proxy_flow_t flow;
    gw_proxy_scrub_t scrub;
    int rec_dir;             /* the direction scrub output is being recorded for */
} px_conn_t;

/* A fault that lasts: until its timer (none: stale for 0, until cleared;
 * client_id_in_use, until its times are used). */
typedef struct px_held {
    gw_proxy_t *px;
    gw_fault_t f;
    io_timer_t *timer;
    int used;
} px_held_t;

struct gw_proxy {
    io_loop_t *loop;
    gw_proxy_config_t cfg;
    io_listener_t *listener; /* NULL while a down or refuse fault is on */
    uint16_t port;           /* the one listened on, to listen again */
    gw_proxy_rec_t *rec;
    px_conn_t *conns[PX_CONNS_MAX];
    size_t nconns;
    unsigned long long accepted;
    px_held_t held[PX_HELD_MAX];
    io_timer_t *chaos;
    io_us_t chaos_mean_us;
};

void gw_proxy_config_defaults(gw_proxy_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 4003;
    cfg->upstream_host = "127.0.0.1";
    cfg->upstream_port = 4002;
}

/* The active fault of that kind, or NULL (latency and slice: at most one). */
static px_held_t *px_held_find(gw_proxy_t *px, enum gw_fault_kind kind)
{
    for (size_t i = 0; i < PX_HELD_MAX; i++)
        if (px->held[i].used && px->held[i].f.kind == kind)
            return &px->held[i];
    return NULL;
}

static io_us_t px_latency(gw_proxy_t *px)
{
    const px_held_t *h = px_held_find(px, GW_FAULT_LATENCY);
    return h ? h->f.value_us : 0;
}

static size_t px_slice(gw_proxy_t *px)
{
    const px_held_t *h = px_held_find(px, GW_FAULT_SLICE);
    return h ? h->f.max_bytes : 0;
}

/* The gw_msg_kind bits the stale faults silence; PX_STALE_ALL for every
 * frame, 0 when none is on. */
static unsigned px_stale_mask(gw_proxy_t *px)
{
    unsigned mask = 0;
    for (size_t i = 0; i < PX_HELD_MAX; i++)
        if (px->held[i].used && px->held[i].f.kind == GW_FAULT_STALE)
            mask |= px->held[i].f.only ? px->held[i].f.only : PX_STALE_ALL;
    return mask;
}

static void px_rec_out(void *data, const uint8_t *bytes, size_t len)
{
    px_conn_t *c = data;
    gw_proxy_rec_data(c->px->rec, &c->flow, c->rec_dir, bytes, len, io_wall_us(c->px->loop));
}

/* Records bytes the client sent (dir 0) or received (dir 1). */
static void px_record(px_conn_t *c, int dir, const uint8_t *bytes, size_t len)
{
    if (!c->px->rec)
        return;
    if (!c->px->cfg.scrub_accounts) {
        gw_proxy_rec_data(c->px->rec, &c->flow, dir, bytes, len, io_wall_us(c->px->loop));
        return;
    }
    c->rec_dir = dir;
    if (gw_proxy_scrub_feed(&c->scrub, dir, bytes, len, px_rec_out, c) < 0)
        io_log(c->px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu out of memory: %zu bytes not "
               "recorded", c->id, len);
}

static void px_record_end(px_conn_t *c, int dir, int rst)
{
    if (c->px->rec)
        gw_proxy_rec_end(c->px->rec, &c->flow, dir, rst, io_wall_us(c->px->loop));
}

/* Takes c out of the table and frees it; closes what is still open with
 * how. by: who ended it, for the log and the trace. */
static void px_conn_close(px_conn_t *c, const char *by, enum io_close_how how)
{
    gw_proxy_t *px = c->px;
    const char *how_name = how == IO_CLOSE_FIN ? "fin" : "rst";
    io_log(px->loop, IO_LOG_INFO, PX_SRC, "conn=%llu closed by %s (%s)", c->id, by, how_name);
    IO_TRACE(px->loop, PX_SRC, "closed", IO_TI("conn", c->id), IO_TS("by", by),
             IO_TS("how", how_name));
    /* The side that ended it sends its FIN or RST first. */
    int first = strcmp(by, "upstream") == 0;
    px_record_end(c, first, how == IO_CLOSE_RST);
    px_record_end(c, !first, how == IO_CLOSE_RST);
    if (c->client)
        io_stream_close(c->client, how);
    if (c->upstream)
        io_stream_close(c->upstream, how);
    for (size_t i = 0; i < PX_CONNS_MAX; i++) {
        if (px->conns[i] == c) {
            px->conns[i] = NULL;
            px->nconns--;
        }
    }
    while (c->held) {
        px_out_t *next = c->held->next;
        free(c->held);
        c->held = next;
    }
    if (c->pump)
        io_timer_free(c->pump);
    gw_proxy_scrub_free(&c->scrub);
    for (int d = 0; d < 2; d++)
        proto_decoder_free(&c->dir[d].dec);
    free(c->pending);
    free(c->early);
    free(c);
}

static void px_to_client(px_conn_t *c, const uint8_t *bytes, size_t len)
{
    if (io_stream_write(c->client, bytes, len) < 0)
        io_log(c->px->loop, IO_LOG_WARN, PX_SRC, "conn=%llu cannot send %zu bytes to the client",
               c->id, len);
    px_record(c, 1, bytes, len);
}

/* Writes the held output that is due: whole, or one slice per pass. Then
 * waits for the next; closes the client once its end is due (drain_by)
 * and nothing is held. 1 if c was freed. */
static int px_pump(px_conn_t *c)
{
    io_us_t now = io_now_us(c->px->loop);
    size_t slice = px_slice(c->px);
    while (c->held && c->held->due_us <= now) {
        px_out_t *o = c->held;
        size_t n = o->len - o->off;
        if (slice > 0 && n > slice)
            n = slice;
        px_to_client(c, o->bytes + o->off, n);
        o->off += n;
        if (o->off == o->len) {
            c->held = o->next;
            c->held_tail = c->held ? c->held_tail : NULL;
            free(o);
        }
        if (slice > 0) {
            if (c->held && c->held->due_us < now + PX_SLICE_GAP_US)
                c->held->due_us = now + PX_SLICE_GAP_US;
            break;
        }
    }
    if (c->held) {
        io_timer_start(c->pump, c->held->due_us - now);
    } else if (c->drain_by) {
        px_conn_close(c, c->drain_by, IO_CLOSE_FIN);
        return 1;
    }
    return 0;
}

static void px_on_pump(io_timer_t *timer, void *data)
{
    (void)timer;
    px_pump(data);
}

/* Bytes for the client go at once, unless a latency or slice fault is on,
 * or output is held already (nothing overtakes it). 1 if c was freed. */
static int px_from_upstream(px_conn_t *c, const uint8_t *bytes, size_t len)
{
    gw_proxy_t *px = c->px;
    io_us_t now = io_now_us(px->loop);
    io_us_t latency = px_latency(px);
    if (!c->held && latency == 0 && px_slice(px) == 0) {
        px_to_client(c, bytes, len);
        return 0;
    }
    px_out_t *o = malloc(sizeof *o + len);
    if (!o) {
        io_log(px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu out of memory", c->id);
        px_conn_close(c, "proxy", IO_CLOSE_RST);
        return 1;
    }
    o->next = NULL;
    o->due_us = now + latency;
    if (c->held_tail && c->held_tail->due_us > o->due_us)
        o->due_us = c->held_tail->due_us;
    o->len = len;
    o->off = 0;
    memcpy(o->bytes, bytes, len);
    if (c->held_tail)
        c->held_tail->next = o;
    else
        c->held = o;
    c->held_tail = o;
    return px_pump(c);
}

/* Client bytes on to the upstream, or kept until it has connected; none
 * once a refused startApi closed it. 1 if c was freed. */
static int px_to_upstream(px_conn_t *c, const uint8_t *bytes, size_t len)
{
    if (!c->upstream)
        return 0;
    if (c->up_connected) {
        if (io_stream_write(c->upstream, bytes, len) < 0)
            io_log(c->px->loop, IO_LOG_WARN, PX_SRC, "conn=%llu cannot send upstream", c->id);
        return 0;
    }
    uint8_t *early = realloc(c->early, c->early_len + len);
    if (!early) {
        px_conn_close(c, "proxy", IO_CLOSE_RST);
        return 1;
    }
    memcpy(early + c->early_len, bytes, len);
    c->early = early;
    c->early_len += len;
    return 0;
}

static int px_pass(px_conn_t *c, int dir, const uint8_t *bytes, size_t len)
{
    return dir == GW_CAP_S2C ? px_from_upstream(c, bytes, len) : px_to_upstream(c, bytes, len);
}

/* Injected bytes wait here while the client is in the middle of a frame. */
static int px_flush_pending(px_conn_t *c)
{
    if (c->pending_len == 0)
        return 0;
    uint8_t *bytes = c->pending;
    size_t len = c->pending_len;
    c->pending = NULL;
    c->pending_len = 0;
    int freed = px_from_upstream(c, bytes, len);
    free(bytes);
    return freed;
}

/* Bytes the proxy itself writes to the client (errMsgs, garbage): at once
 * when the client is between frames, else after the frame it is in the
 * middle of (or, in a handshake stall, after the server hello). 1 if c was
 * freed. */
static int px_inject(px_conn_t *c, const uint8_t *bytes, size_t len)
{
    const px_dir_t *d = &c->dir[GW_CAP_S2C];
    if (!c->stalled && c->pending_len == 0 && (d->raw || d->sent <= d->dec.consumed))
        return px_from_upstream(c, bytes, len);
    uint8_t *pending = realloc(c->pending, c->pending_len + len);
    if (!pending) {
        io_log(c->px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu out of memory: %zu injected bytes "
               "dropped", c->id, len);
        return 0;
    }
    memcpy(pending + c->pending_len, bytes, len);
    c->pending = pending;
    c->pending_len += len;
    return 0;
}

/* errMsg in the layout of the version the upstream chose (requests.h). */
static int px_inject_error(px_conn_t *c, int req_id, int code, const char *text)
{
    proto_writer_t w;
    int freed = 0;
    proto_writer_init(&w);
    if (gw_req_put_error(&w, c->version, req_id, code, text) == 0)
        freed = px_inject(c, w.buf, w.len);
    else
        io_log(c->px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu errMsg %d not built", c->id, code);
    proto_writer_free(&w);
    return freed;
}

static void px_held_end(gw_proxy_t *px, px_held_t *h);

/* client_id_in_use: errMsg 326 instead of forwarding the startApi, then
 * the client is closed once that has gone out, as a Gateway closes it; the
 * upstream leg closes at once (so an errMsg waiting for the end of an
 * upstream frame is dropped with the rest of it). 1 if c was freed. */
static int px_refuse_start(px_conn_t *c)
{
    gw_proxy_t *px = c->px;
    px_held_t *h = px_held_find(px, GW_FAULT_CLIENT_ID_IN_USE);
    h->f.times--;
    io_log(px->loop, IO_LOG_INFO, PX_SRC,
           "conn=%llu startApi refused by a client_id_in_use fault, %d more to go", c->id,
           h->f.times);
    IO_TRACE(px->loop, PX_SRC, "reject", IO_TI("conn", c->id),
             IO_TI("code", PROTO_CODE_CLIENT_ID_IN_USE));
    if (h->f.times <= 0)
        px_held_end(px, h);
    if (c->upstream)
        io_stream_close(c->upstream, IO_CLOSE_FIN);
    c->upstream = NULL;
    c->drain_by = "proxy";
    if (px_inject_error(c, -1, PROTO_CODE_CLIENT_ID_IN_USE,
                        proto_error_text(PROTO_CODE_CLIENT_ID_IN_USE)))
        return 1;
    if (c->held)
        return 0;
    px_conn_close(c, "proxy", IO_CLOSE_FIN);
    return 1;
}

static int32_t px_frame_id(const proto_frame_t *f)
{
    proto_reader_t r;
    int32_t id = -1;
    proto_reader_init(&r, f);
    if (proto_read_int(&r, &id, NULL, 0) < 0)
        return -1;
    return id;
}

/* Whether stale drops this upstream message, as a hung Gateway never sends it. */
static int px_silenced(px_conn_t *c, int32_t id)
{
    unsigned mask = px_stale_mask(c->px);
    return mask == PX_STALE_ALL || (gw_msg_kind_of(id, c->ready) & mask) != 0;
}

/* One whole frame of direction dir: the server hello gives the version;
 * stale drops upstream frames; client_id_in_use answers a startApi; what
 * has not gone on yet of the others goes on. A frame whose start already
 * went on passes whatever the faults. 1 if c was freed. */
static int px_frame(px_conn_t *c, int dir, const proto_frame_t *f)
{
    px_dir_t *d = &c->dir[dir];
    uint64_t start = f->offset, end = f->offset + 4 + f->len;
    int whole = d->sent <= start;
    int32_t id = px_frame_id(f);
    if (dir == GW_CAP_S2C && !d->hello) {
        d->hello = 1;
        if (proto_server_hello_parse(f, &c->version, NULL, 0, NULL, 0) < 0)
            c->version = 0; /* no Gateway: nothing is injected into it */
    } else if (dir == GW_CAP_S2C && whole && px_silenced(c, id)) {
        d->sent = end;
        io_log(c->px->loop, IO_LOG_DEBUG, PX_SRC, "conn=%llu stale: %s dropped", c->id,
               proto_in_name(id) ? proto_in_name(id) : "a message");
        return px_flush_pending(c);
    } else if (dir == GW_CAP_C2S && whole && id == PROTO_OUT_START_API &&
               px_held_find(c->px, GW_FAULT_CLIENT_ID_IN_USE)) {
        d->sent = end;
        return px_refuse_start(c);
    }
    c->ready |= dir == GW_CAP_S2C && id == PROTO_IN_NEXT_VALID_ID;
    uint64_t from = whole ? start : d->sent;
    d->sent = end;
    if (px_pass(c, dir, f->payload - 4 + (from - start), (size_t)(end - from)))
        return 1;
    return dir == GW_CAP_S2C ? px_flush_pending(c) : 0;
}

/* Whether an unfinished frame waits for its end: a fault may still drop
 * (stale) or answer (client_id_in_use) it. */
static int px_withheld(px_conn_t *c, int dir)
{
    if (!c->dir[dir].hello)
        return 0;
    if (dir == GW_CAP_S2C)
        return px_stale_mask(c->px) != 0;
    return px_held_find(c->px, GW_FAULT_CLIENT_ID_IN_USE) != NULL;
}

/* Passes on what the decoder holds beyond what went on already. */
static int px_dir_pass_rest(px_conn_t *c, int dir)
{
    px_dir_t *d = &c->dir[dir];
    uint64_t from = d->sent > d->dec.consumed ? d->sent : d->dec.consumed;
    uint64_t end = d->dec.consumed + proto_decoder_buffered(&d->dec);
    if (from >= end)
        return 0;
    d->sent = end;
    return px_pass(c, dir, d->dec.buf + d->dec.start + (size_t)(from - d->dec.consumed),
                   (size_t)(end - from));
}

/* Reads the client's "API\0" greeting and passes what of it has not gone
 * on yet (the decoder moves past it, so it goes before any frame after it
 * is looked at). proto_client_hello_read's result, or 2 if c was freed. */
static int px_dir_greeting(px_conn_t *c, char *err, size_t errlen)
{
    px_dir_t *d = &c->dir[GW_CAP_C2S];
    proto_client_hello_t hello;
    const uint8_t *base = d->dec.buf + d->dec.start; /* the read leaves the bytes in place */
    uint64_t base_off = d->dec.consumed;
    int rc = proto_client_hello_read(&d->dec, &hello, err, errlen);
    d->hello = rc == 1;
    if (rc != 1 || d->sent >= d->dec.consumed)
        return rc;
    uint64_t from = d->sent;
    d->sent = d->dec.consumed;
    return px_pass(c, GW_CAP_C2S, base + (from - base_off), (size_t)(d->sent - from)) ? 2 : 1;
}

/* Moves direction dir on: the client's greeting, whole frames through
 * px_frame, then the unfinished one at once unless it is withheld. After a
 * bad greeting, length or payload the bytes no longer frame: they pass as
 * they come from then on. A stalled server hello stays in the decoder.
 * 1 if c was freed. */
static int px_dir_pump(px_conn_t *c, int dir)
{
    px_dir_t *d = &c->dir[dir];
    proto_frame_t f;
    char err[128] = "";
    int rc = 1;
    if (d->raw || (dir == GW_CAP_S2C && c->stalled))
        return 0;
    if (dir == GW_CAP_C2S && !d->hello && (rc = px_dir_greeting(c, err, sizeof err)) == 2)
        return 1;
    while (rc == 1 && (rc = proto_decoder_next(&d->dec, &f, err, sizeof err)) == 1)
        if (px_frame(c, dir, &f))
            return 1;
    if (rc == 0 && px_withheld(c, dir))
        return 0;
    if (rc < 0) {
        d->raw = 1;
        io_log(c->px->loop, IO_LOG_DEBUG, PX_SRC, "conn=%llu %s bytes stop framing (%s): "
               "they pass as they come", c->id, dir == GW_CAP_S2C ? "upstream" : "client", err);
    }
    if (px_dir_pass_rest(c, dir))
        return 1;
    if (!d->raw)
        return 0;
    proto_decoder_free(&d->dec);
    return dir == GW_CAP_S2C ? px_flush_pending(c) : 0;
}

/* Bytes of direction dir arrived. 1 if c was freed. */
static int px_dir_feed(px_conn_t *c, int dir, const uint8_t *bytes, size_t len)
{
    px_dir_t *d = &c->dir[dir];
    if (d->raw)
        return px_pass(c, dir, bytes, len);
    if (proto_decoder_feed(&d->dec, bytes, len) < 0) {
        io_log(c->px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu out of memory", c->id);
        px_conn_close(c, "proxy", IO_CLOSE_RST);
        return 1;
    }
    return px_dir_pump(c, dir);
}

static void px_on_upstream(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    px_conn_t *c = data;
    (void)stream;
    switch (ev->kind) {
    case IO_EV_CONNECTED:
        c->up_connected = 1;
        IO_TRACE(c->px->loop, PX_SRC, "upstream", IO_TI("conn", c->id), IO_TI("ok", 1));
        if (c->early_len > 0 && io_stream_write(c->upstream, c->early, c->early_len) < 0)
            io_log(c->px->loop, IO_LOG_WARN, PX_SRC, "conn=%llu cannot send upstream", c->id);
        free(c->early);
        c->early = NULL;
        c->early_len = 0;
        break;
    case IO_EV_CONNECT_FAILED:
        io_log(c->px->loop, IO_LOG_WARN, PX_SRC, "conn=%llu upstream %s:%u: %s", c->id,
               c->px->cfg.upstream_host, (unsigned)c->px->cfg.upstream_port,
               io_strerror(ev->status));
        IO_TRACE(c->px->loop, PX_SRC, "upstream", IO_TI("conn", c->id), IO_TI("ok", 0));
        px_conn_close(c, "upstream", IO_CLOSE_RST);
        break;
    case IO_EV_DATA:
        px_dir_feed(c, GW_CAP_S2C, ev->data, ev->len);
        break;
    case IO_EV_EOF:
        c->drain_by = "upstream";
        if (!c->held)
            px_conn_close(c, "upstream", IO_CLOSE_FIN);
        break;
    case IO_EV_RESET:
        px_conn_close(c, "upstream", IO_CLOSE_RST);
        break;
    }
}

static void px_on_client(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    px_conn_t *c = data;
    (void)stream;
    switch (ev->kind) {
    case IO_EV_DATA:
        px_record(c, 0, ev->data, ev->len);
        px_dir_feed(c, GW_CAP_C2S, ev->data, ev->len);
        break;
    case IO_EV_EOF:
        px_conn_close(c, "client", IO_CLOSE_FIN);
        break;
    case IO_EV_RESET:
        px_conn_close(c, "client", IO_CLOSE_RST);
        break;
    case IO_EV_CONNECTED:
    case IO_EV_CONNECT_FAILED:
        break; /* an accepted stream never gets them */
    }
}

static void px_on_accept(io_listener_t *listener, io_stream_t *stream, void *data)
{
    gw_proxy_t *px = data;
    char err[256];
    (void)listener;
    size_t slot = 0;
    while (slot < PX_CONNS_MAX && px->conns[slot])
        slot++;
    px_conn_t *c = slot < PX_CONNS_MAX ? calloc(1, sizeof *c) : NULL;
    if (c)
        c->pump = io_timer_new(px->loop, px_on_pump, c);
    if (!c || !c->pump) {
        io_log(px->loop, IO_LOG_WARN, PX_SRC, "client turned away: %s",
               c ? "out of memory" : "too many connections");
        if (c)
            free(c);
        io_stream_close(stream, IO_CLOSE_RST);
        return;
    }
    c->px = px;
    c->id = ++px->accepted;
    c->client = stream;
    c->stalled = px_held_find(px, GW_FAULT_HANDSHAKE_STALL) != NULL;
    px->conns[slot] = c;
    px->nconns++;
    io_stream_set_cb(stream, px_on_client, c);
    gw_proxy_scrub_init(&c->scrub);
    for (int d = 0; d < 2; d++)
        proto_decoder_init(&c->dir[d].dec);
    static const uint8_t client_ip[4] = {10, 0, 0, 1}, server_ip[4] = {10, 0, 0, 2};
    memcpy(c->flow.client_ip, client_ip, 4);
    memcpy(c->flow.server_ip, server_ip, 4);
    c->flow.client_port = (uint16_t)(PX_CLIENT_PORT_BASE + c->id % 20000);
    c->flow.server_port = px->cfg.upstream_port;
    if (px->rec)
        gw_proxy_rec_connect(px->rec, &c->flow, (uint32_t)io_random_u64(px->loop),
                             (uint32_t)io_random_u64(px->loop), io_wall_us(px->loop));
    io_log(px->loop, IO_LOG_INFO, PX_SRC, "conn=%llu accepted; connecting to %s:%u%s", c->id,
           px->cfg.upstream_host, (unsigned)px->cfg.upstream_port,
           c->stalled ? " (handshake stall: its server hello waits)" : "");
    IO_TRACE(px->loop, PX_SRC, "accept", IO_TI("conn", c->id));
    if (io_connect(px->loop, px->cfg.upstream_host, px->cfg.upstream_port, px_on_upstream, c,
                   &c->upstream, err, sizeof err) < 0) {
        io_log(px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu cannot connect upstream: %s", c->id,
               err);
        c->upstream = NULL;
        px_conn_close(c, "proxy", IO_CLOSE_RST);
    }
}

int gw_proxy_new(io_loop_t *loop, const gw_proxy_config_t *cfg, gw_proxy_t **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    gw_proxy_t *px = calloc(1, sizeof *px);
    if (!px) {
        snprintf(err, errlen, "proxy: out of memory");
        return IO_ERR_NOMEM;
    }
    px->loop = loop;
    px->cfg = *cfg;
    int rc = cfg->record ? gw_proxy_rec_open(cfg->record, &px->rec, err, errlen) : 0;
    if (rc == 0)
        rc = io_listen(loop, cfg->host, cfg->port, px_on_accept, px, &px->listener, err, errlen);
    if (rc < 0) {
        gw_proxy_rec_close(px->rec);
        free(px);
        return rc;
    }
    px->port = io_listener_port(px->listener);
    io_log(loop, IO_LOG_INFO, PX_SRC, "listening on %s:%u, relaying to %s:%u%s%s%s", cfg->host,
           (unsigned)px->port, cfg->upstream_host,
           (unsigned)cfg->upstream_port, cfg->record ? ", recording to " : "",
           cfg->record ? cfg->record : "", cfg->scrub_accounts ? " (accounts scrubbed)" : "");
    *out = px;
    return 0;
}

void gw_proxy_free(gw_proxy_t *px)
{
    if (!px)
        return;
    for (size_t i = 0; i < PX_CONNS_MAX; i++)
        if (px->conns[i])
            px_conn_close(px->conns[i], "proxy", IO_CLOSE_FIN);
    for (size_t i = 0; i < PX_HELD_MAX; i++)
        if (px->held[i].timer)
            io_timer_free(px->held[i].timer);
    if (px->listener)
        io_listener_close(px->listener);
    if (px->chaos)
        io_timer_free(px->chaos);
    gw_proxy_rec_close(px->rec);
    free(px);
}

uint16_t gw_proxy_port(const gw_proxy_t *px)
{
    return px->port;
}

size_t gw_proxy_conn_count(const gw_proxy_t *px)
{
    return px->nconns;
}

/* ---- faults --------------------------------------------------------------- */

static void px_drop_all(gw_proxy_t *px, enum io_close_how how)
{
    for (size_t i = 0; i < PX_CONNS_MAX; i++)
        if (px->conns[i])
            px_conn_close(px->conns[i], "proxy", how);
}

/* Listens while no down or refuse fault is on; does not while one is. */
static void px_update_listener(gw_proxy_t *px)
{
    char err[256];
    int closed = px_held_find(px, GW_FAULT_DOWN) || px_held_find(px, GW_FAULT_REFUSE);
    if (closed && px->listener) {
        io_listener_close(px->listener);
        px->listener = NULL;
        io_log(px->loop, IO_LOG_INFO, PX_SRC, "stopped listening: connects are refused");
    } else if (!closed && !px->listener) {
        if (io_listen(px->loop, px->cfg.host, px->port, px_on_accept, px, &px->listener, err,
                      sizeof err) < 0) {
            px->listener = NULL;
            io_log(px->loop, IO_LOG_ERROR, PX_SRC, "cannot listen again: %s", err);
        } else {
            io_log(px->loop, IO_LOG_INFO, PX_SRC, "listening again on %s:%u", px->cfg.host,
                   (unsigned)px->port);
        }
    }
}

/* f's errMsgs to every ready client (past its startup's nextValidId), as
 * a Gateway sends notices only to ready sessions. */
static void px_notices(gw_proxy_t *px, const gw_fault_t *f, int ending)
{
    gw_fault_notice_t n[GW_FAULT_NOTICES_MAX];
    size_t count = gw_fault_notices(f, ending, n);
    for (size_t i = 0; i < PX_CONNS_MAX; i++) {
        px_conn_t *c = px->conns[i];
        for (size_t k = 0; c && c->ready && k < count; k++)
            if (px_inject_error(c, n[k].req_id, n[k].code, n[k].text))
                c = NULL;
    }
}

/* A malformed frame (a length above the limit, then seeded random bytes)
 * to every client, between frames. */
static void px_garbage(gw_proxy_t *px, size_t bytes)
{
    uint8_t *buf = malloc(4 + bytes);
    if (!buf) {
        io_log(px->loop, IO_LOG_ERROR, PX_SRC, "garbage: out of memory");
        return;
    }
    px_put32(buf, PX_GARBAGE_LEN);
    for (size_t i = 0; i < bytes; i++)
        buf[4 + i] = (uint8_t)io_random_u64(px->loop);
    for (size_t i = 0; i < PX_CONNS_MAX; i++)
        if (px->conns[i])
            px_inject(px->conns[i], buf, 4 + bytes);
    free(buf);
}

/* A handshake stall is over (and no other is on): the held server hellos go. */
static void px_release_stalled(gw_proxy_t *px)
{
    if (px_held_find(px, GW_FAULT_HANDSHAKE_STALL))
        return;
    for (size_t i = 0; i < PX_CONNS_MAX; i++) {
        px_conn_t *c = px->conns[i];
        if (c && c->stalled) {
            c->stalled = 0;
            px_dir_pump(c, GW_CAP_S2C);
        }
    }
}

/* What a lasting fault does as it starts and as it ends. */
static void px_effect(gw_proxy_t *px, const gw_fault_t *f, int ending)
{
    switch (f->kind) {
    case GW_FAULT_DOWN:
        if (!ending)
            px_drop_all(px, f->how);
        px_update_listener(px);
        break;
    case GW_FAULT_REFUSE:
        px_update_listener(px);
        break;
    case GW_FAULT_HANDSHAKE_STALL:
        if (ending)
            px_release_stalled(px);
        break;
    case GW_FAULT_CONNECTIVITY_LOST:
    case GW_FAULT_FARM_OUTAGE:
        px_notices(px, f, ending);
        break;
    default:
        break; /* stale, latency, slice, client_id_in_use: read where they apply */
    }
}

/* Takes h out of the table, traces its end, then undoes its effect. */
static void px_held_end(gw_proxy_t *px, px_held_t *h)
{
    gw_fault_t f = h->f;
    if (h->timer)
        io_timer_free(h->timer);
    memset(h, 0, sizeof *h);
    gw_fault_announce_end(px->loop, PX_SRC, &f);
    px_effect(px, &f, 1);
}

static void px_on_held_timer(io_timer_t *timer, void *data)
{
    px_held_t *h = data;
    (void)timer;
    px_held_end(h->px, h);
}

static int px_lasts(enum gw_fault_kind kind)
{
    return kind != GW_FAULT_KILL && kind != GW_FAULT_GARBAGE && kind != GW_FAULT_ERROR &&
           kind != GW_FAULT_CLEAR;
}

static px_held_t *px_held_free_slot(gw_proxy_t *px)
{
    for (size_t i = 0; i < PX_HELD_MAX; i++)
        if (!px->held[i].used)
            return &px->held[i];
    return NULL;
}

/* Keeps f in the table until it ends (a new latency or slice ends the one
 * on), then starts its effect. 0 or IO_ERR_NOMEM. */
static int px_hold(gw_proxy_t *px, const gw_fault_t *f, char *err, size_t errlen)
{
    px_held_t *old = f->kind == GW_FAULT_LATENCY || f->kind == GW_FAULT_SLICE
                         ? px_held_find(px, f->kind) : NULL;
    if (old)
        px_held_end(px, old);
    px_held_t *h = px_held_free_slot(px);
    if (f->for_us > 0) {
        h->timer = io_timer_new(px->loop, px_on_held_timer, h);
        if (!h->timer) {
            snprintf(err, errlen, "%s: out of memory", gw_fault_kind_name(f->kind));
            return IO_ERR_NOMEM;
        }
        io_timer_start(h->timer, f->for_us);
    }
    h->px = px;
    h->f = *f;
    h->used = 1;
    px_effect(px, f, 0);
    return 0;
}

static void px_kill(gw_proxy_t *px, enum io_close_how how)
{
    const char *name = how == IO_CLOSE_FIN ? "fin" : "rst";
    io_log(px->loop, IO_LOG_INFO, PX_SRC, "fault kill how=%s sessions=%zu", name, px->nconns);
    IO_TRACE(px->loop, PX_SRC, "fault:kill", IO_TS("how", name), IO_TI("sessions", px->nconns));
    px_drop_all(px, how);
}

int gw_proxy_fault(gw_proxy_t *px, const gw_fault_t *f, char *err, size_t errlen)
{
    int rc = gw_fault_check(f, err, errlen);
    if (rc < 0)
        return rc;
    if (f->client_id >= 0) {
        snprintf(err, errlen, "%s: a relay does not follow client ids",
                 gw_fault_kind_name(f->kind));
        return IO_ERR_INVAL;
    }
    /* Refused before it is traced, so every traced fault took effect. */
    if (px_lasts(f->kind) && !px_held_free_slot(px)) {
        snprintf(err, errlen, "%d faults are active already; clear some first", PX_HELD_MAX);
        return IO_ERR_NOBUFS;
    }
    if (f->kind == GW_FAULT_KILL) {
        px_kill(px, f->how);
        return 0;
    }
    /* Traced first, so the events the fault causes follow it. */
    gw_fault_announce(px->loop, PX_SRC, f);
    switch (f->kind) {
    case GW_FAULT_GARBAGE:
        px_garbage(px, f->bytes);
        return 0;
    case GW_FAULT_ERROR:
        px_notices(px, f, 0);
        return 0;
    case GW_FAULT_CLEAR:
        for (size_t i = 0; i < PX_HELD_MAX; i++)
            if (px->held[i].used)
                px_held_end(px, &px->held[i]);
        return 0;
    default:
        return px_hold(px, f, err, errlen);
    }
}

/* One random fault, then the next draw: exponential gaps around the mean.
 * Every parameter is drawn whatever the kind, so the draws stay in step. */
static void px_on_chaos(io_timer_t *timer, void *data)
{
    static const enum gw_fault_kind kinds[] = {
        GW_FAULT_KILL,    GW_FAULT_DOWN,  GW_FAULT_REFUSE,  GW_FAULT_STALE,
        GW_FAULT_HANDSHAKE_STALL, GW_FAULT_LATENCY, GW_FAULT_SLICE, GW_FAULT_GARBAGE,
        GW_FAULT_CONNECTIVITY_LOST, GW_FAULT_CLIENT_ID_IN_USE, GW_FAULT_ERROR,
        GW_FAULT_FARM_OUTAGE};
    static const int codes[] = {PROTO_CODE_PACING, PROTO_CODE_SERVER_ERROR,
                                PROTO_CODE_CONNECTIVITY_BROKEN};
    gw_proxy_t *px = data;
    io_loop_t *loop = px->loop;
    gw_fault_t f;
    char err[128];
    gw_fault_init(&f, kinds[io_random_range(loop, 0, sizeof kinds / sizeof kinds[0] - 1)]);
    f.client_id = -1;
    f.how = io_random_range(loop, 0, 1) ? IO_CLOSE_RST : IO_CLOSE_FIN;
    f.value_us = io_random_range(loop, 1, PX_CHAOS_LATENCY_MAX_US);
    f.for_us = io_random_range(loop, 1, PX_CHAOS_FOR_MAX_US);
    f.max_bytes = (size_t)io_random_range(loop, 1, PX_CHAOS_SLICE_MAX);
    f.bytes = (size_t)io_random_range(loop, 1, PX_CHAOS_GARBAGE_MAX);
    f.only = io_random_range(loop, 0, 1) ? 0 : 1u << io_random_range(loop, 0, PX_MSG_KINDS - 1);
    f.restored_code = io_random_range(loop, 0, 1) ? PROTO_CODE_RESTORED_DATA_KEPT
                                                  : PROTO_CODE_RESTORED_DATA_LOST;
    f.times = (int)io_random_range(loop, 1, PX_CHAOS_TIMES_MAX);
    f.code = codes[io_random_range(loop, 0, sizeof codes / sizeof codes[0] - 1)];
    if (gw_proxy_fault(px, &f, err, sizeof err) < 0)
        io_log(loop, IO_LOG_ERROR, PX_SRC, "chaos: %s", err);
    double u = io_random_unit(loop);
    io_timer_start(timer, (io_us_t)(-(double)px->chaos_mean_us * log1p(-u)));
}

void gw_proxy_chaos(gw_proxy_t *px, io_us_t mean_us)
{
    px->chaos_mean_us = mean_us;
    if (mean_us <= 0) {
        if (px->chaos)
            io_timer_stop(px->chaos);
        return;
    }
    if (!px->chaos)
        px->chaos = io_timer_new(px->loop, px_on_chaos, px);
    if (px->chaos)
        io_timer_start(px->chaos, mean_us);
    else
        io_log(px->loop, IO_LOG_ERROR, PX_SRC, "chaos: out of memory");
}
