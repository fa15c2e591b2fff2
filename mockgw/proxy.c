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
#include "pcap.h"

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

typedef struct px_conn {
    gw_proxy_t *px;
    unsigned long long id;
    io_stream_t *client, *upstream;
    int up_connected;
    uint8_t *early;          /* client bytes sent before upstream connected */
    size_t early_len;
    px_out_t *held, *held_tail;
    io_timer_t *pump;
    int up_eof;              /* upstream closed: close the client once held drains */
    gw_proxy_flow_t flow;
    gw_proxy_scrub_t scrub;
    int rec_dir;             /* the direction scrub output is being recorded for */
} px_conn_t;

struct gw_proxy {
    io_loop_t *loop;
    gw_proxy_config_t cfg;
    io_listener_t *listener;
    gw_proxy_rec_t *rec;
    px_conn_t *conns[PX_CONNS_MAX];
    size_t nconns;
    unsigned long long accepted;
    io_us_t latency_us, latency_until_us; /* monotonic */
    size_t slice_max;
    io_us_t slice_until_us;
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

static size_t px_slice(const gw_proxy_t *px)
{
    return io_now_us(px->loop) < px->slice_until_us ? px->slice_max : 0;
}

/* Writes the held output that is due: whole, or one slice per pass. Then
 * waits for the next; closes the client once upstream has closed and
 * nothing is held. 1 if c was freed. */
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
    } else if (c->up_eof) {
        px_conn_close(c, "upstream", IO_CLOSE_FIN);
        return 1;
    }
    return 0;
}

static void px_on_pump(io_timer_t *timer, void *data)
{
    (void)timer;
    px_pump(data);
}

/* Upstream bytes go to the client at once, unless a latency or slice fault
 * is on, or output is held already (nothing overtakes it). */
static void px_from_upstream(px_conn_t *c, const uint8_t *bytes, size_t len)
{
    gw_proxy_t *px = c->px;
    io_us_t now = io_now_us(px->loop);
    io_us_t latency = now < px->latency_until_us ? px->latency_us : 0;
    if (!c->held && latency == 0 && px_slice(px) == 0) {
        px_to_client(c, bytes, len);
        return;
    }
    px_out_t *o = malloc(sizeof *o + len);
    if (!o) {
        io_log(px->loop, IO_LOG_ERROR, PX_SRC, "conn=%llu out of memory", c->id);
        px_conn_close(c, "proxy", IO_CLOSE_RST);
        return;
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
    px_pump(c);
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
        px_from_upstream(c, ev->data, ev->len);
        break;
    case IO_EV_EOF:
        c->up_eof = 1;
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
        if (c->up_connected) {
            if (io_stream_write(c->upstream, ev->data, ev->len) < 0)
                io_log(c->px->loop, IO_LOG_WARN, PX_SRC, "conn=%llu cannot send upstream",
                       c->id);
        } else {
            uint8_t *early = realloc(c->early, c->early_len + ev->len);
            if (!early) {
                px_conn_close(c, "proxy", IO_CLOSE_RST);
                return;
            }
            memcpy(early + c->early_len, ev->data, ev->len);
            c->early = early;
            c->early_len += ev->len;
        }
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
    px->conns[slot] = c;
    px->nconns++;
    io_stream_set_cb(stream, px_on_client, c);
    gw_proxy_scrub_init(&c->scrub);
    static const uint8_t client_ip[4] = {10, 0, 0, 1}, server_ip[4] = {10, 0, 0, 2};
    memcpy(c->flow.client_ip, client_ip, 4);
    memcpy(c->flow.server_ip, server_ip, 4);
    c->flow.client_port = (uint16_t)(PX_CLIENT_PORT_BASE + c->id % 20000);
    c->flow.server_port = px->cfg.upstream_port;
    if (px->rec)
        gw_proxy_rec_connect(px->rec, &c->flow, (uint32_t)io_random_u64(px->loop),
                             (uint32_t)io_random_u64(px->loop), io_wall_us(px->loop));
    io_log(px->loop, IO_LOG_INFO, PX_SRC, "conn=%llu accepted; connecting to %s:%u", c->id,
           px->cfg.upstream_host, (unsigned)px->cfg.upstream_port);
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
    io_log(loop, IO_LOG_INFO, PX_SRC, "listening on %s:%u, relaying to %s:%u%s%s%s", cfg->host,
           (unsigned)io_listener_port(px->listener), cfg->upstream_host,
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
    io_listener_close(px->listener);
    if (px->chaos)
        io_timer_free(px->chaos);
    gw_proxy_rec_close(px->rec);
    free(px);
}

uint16_t gw_proxy_port(const gw_proxy_t *px)
{
    return io_listener_port(px->listener);
}

size_t gw_proxy_conn_count(const gw_proxy_t *px)
{
    return px->nconns;
}

/* ---- faults --------------------------------------------------------------- */

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
            px_from_upstream(px->conns[i], buf, 4 + bytes);
    free(buf);
}

int gw_proxy_fault(gw_proxy_t *px, const gw_fault_t *f, char *err, size_t errlen)
{
    const char *name = gw_fault_kind_name(f->kind);
    io_us_t now = io_now_us(px->loop);
    if (f->client_id >= 0) {
        snprintf(err, errlen, "%s: a relay does not follow client ids", name);
        return IO_ERR_INVAL;
    }
    switch (f->kind) {
    case GW_FAULT_KILL:
        IO_TRACE(px->loop, PX_SRC, "fault:kill", IO_TS("how", f->how == IO_CLOSE_FIN ? "fin"
                                                                                  : "rst"),
                 IO_TI("sessions", px->nconns));
        for (size_t i = 0; i < PX_CONNS_MAX; i++)
            if (px->conns[i])
                px_conn_close(px->conns[i], "proxy", f->how);
        break;
    case GW_FAULT_LATENCY:
        if (f->value_us <= 0 || f->for_us <= 0) {
            snprintf(err, errlen, "latency needs a value and a duration above 0");
            return IO_ERR_INVAL;
        }
        IO_TRACE(px->loop, PX_SRC, "fault:latency", IO_TI("value_us", f->value_us),
                 IO_TI("for_us", f->for_us));
        px->latency_us = f->value_us;
        px->latency_until_us = now + f->for_us;
        break;
    case GW_FAULT_SLICE:
        if (f->max_bytes < 1 || f->for_us <= 0) {
            snprintf(err, errlen, "slice needs a max of at least 1 byte and a duration");
            return IO_ERR_INVAL;
        }
        IO_TRACE(px->loop, PX_SRC, "fault:slice", IO_TI("max", f->max_bytes),
                 IO_TI("for_us", f->for_us));
        px->slice_max = f->max_bytes;
        px->slice_until_us = now + f->for_us;
        break;
    case GW_FAULT_GARBAGE:
        if (f->bytes < 1) {
            snprintf(err, errlen, "garbage needs at least 1 byte");
            return IO_ERR_INVAL;
        }
        IO_TRACE(px->loop, PX_SRC, "fault:garbage", IO_TI("bytes", f->bytes));
        px_garbage(px, f->bytes);
        break;
    default:
        snprintf(err, errlen, "%s is a gateway fault; a relay injects kill, latency, slice "
                 "and garbage", name);
        return IO_ERR_INVAL;
    }
    io_log(px->loop, IO_LOG_INFO, PX_SRC, "fault %s applied", name);
    return 0;
}

/* One random fault, then the next draw: exponential gaps around the mean. */
static void px_on_chaos(io_timer_t *timer, void *data)
{
    static const enum gw_fault_kind kinds[] = {GW_FAULT_KILL, GW_FAULT_LATENCY, GW_FAULT_SLICE,
                                               GW_FAULT_GARBAGE};
    gw_proxy_t *px = data;
    io_loop_t *loop = px->loop;
    gw_fault_t f;
    char err[128];
    gw_fault_init(&f, kinds[io_random_range(loop, 0, 3)]);
    f.client_id = -1;
    f.how = io_random_range(loop, 0, 1) ? IO_CLOSE_RST : IO_CLOSE_FIN;
    f.value_us = io_random_range(loop, 1, PX_CHAOS_LATENCY_MAX_US);
    f.for_us = io_random_range(loop, 1, PX_CHAOS_FOR_MAX_US);
    f.max_bytes = (size_t)io_random_range(loop, 1, PX_CHAOS_SLICE_MAX);
    f.bytes = (size_t)io_random_range(loop, 1, PX_CHAOS_GARBAGE_MAX);
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
