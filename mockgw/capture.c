/* capture.c - flows, conversation detection and per-direction decoding of
 * TWS traffic in a capture (see capture.h for the contract).
 *
 * A flow is keyed by its two endpoints in a canonical order (the lower
 * address:port is side 0), found through an open-addressing hash table with
 * a one-entry cache in front, since consecutive packets are usually of the
 * same flow. A flow whose ports are not in the list is UNKNOWN until its
 * first four stream bytes: "API\0" makes it a conversation with that side as
 * the client, anything else makes it IGNORED and its state is dropped.
 *
 * Each direction of a conversation moves through
 *
 *   HELLO --greeting / server hello--> FRAMES --gap or bad bytes--> RESYNC
 *     ^ (a direction seen from its SYN)           ^                   |
 *     a direction seen mid-stream starts here ----+     boundary found: FRAMES
 *
 * with FAILED only when memory runs out. */
#include "capture.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

#define CAP_FLOWS_MIN 64
#define CAP_ERR_MAX 256
/* Resync does not believe in frames longer than this: real messages are far
 * shorter, and a bound keeps the scan buffer bounded. */
#define CAP_RESYNC_FRAME_MAX ((uint32_t)1 << 20)
#define CAP_ID_DIGITS_MAX 4
#define CAP_GREETING "API"
#define CAP_GREETING_LEN 4

enum cap_flow_state { FLOW_UNKNOWN, FLOW_TWS, FLOW_IGNORED };
enum cap_side_state { SIDE_HELLO, SIDE_FRAMES, SIDE_RESYNC, SIDE_FAILED };
enum cap_candidate { CAND_NO, CAND_YES, CAND_WAIT };

typedef struct cap_key {
    uint8_t addr[2][16];
    uint16_t port[2];
    uint8_t ip_version;
    uint8_t pad[3]; /* zeroed: keys are compared and hashed as bytes */
} cap_key_t;
_Static_assert(sizeof(cap_key_t) % 8 == 0, "key_hash reads the key in 8-byte words");

struct cap_flow;

/* One direction: the bytes endpoint `side` sends. */
typedef struct cap_side {
    struct cap_flow *flow;
    int side;
    gw_reasm_t rs;
    enum cap_side_state st;
    int started;          /* its first stream byte has been seen */
    int end_reported;
    proto_decoder_t dec;
    uint64_t base;        /* stream offset of the decoder's first byte */
    uint8_t *scan;        /* RESYNC: bytes from scan_off on */
    size_t scan_len, scan_cap;
    uint64_t scan_off;
    uint64_t skipped;     /* bytes thrown away since the resync began */
    uint8_t prefix[CAP_GREETING_LEN]; /* UNKNOWN: the first stream bytes */
    size_t nprefix;
} cap_side_t;

typedef struct cap_flow {
    gw_cap_t *cap;
    cap_key_t key;
    enum cap_flow_state state;
    int client;           /* side index of the client, once TWS */
    int by_greeting;      /* the client's first bytes are the greeting */
    size_t info;          /* index in cap->conns, once TWS */
    cap_side_t side[2];
} cap_flow_t;

struct gw_cap {
    gw_cap_config_t cfg;
    gw_cap_cb cb;
    void *data;
    cap_flow_t **flows;   /* every flow ever seen, in order */
    size_t nflows, flows_cap;
    uint32_t *table;      /* flow index + 1, 0 empty */
    size_t table_cap;
    cap_flow_t *last;
    gw_cap_conn_info_t *conns;
    size_t nconns, conns_cap;
    gw_cap_stats_t stats;
    int64_t t_us;         /* time of the packet being handled */
    int nomem;
};

static const gw_reasm_ops_t cap_reasm_ops;

void gw_cap_config_defaults(gw_cap_config_t *cfg)
{
    static const uint16_t ports[] = {4001, 4002, 7496, 7497};
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->ports, ports, sizeof ports);
    cfg->nports = sizeof ports / sizeof ports[0];
}

/* ---- events ------------------------------------------------------------ */

static gw_cap_conn_info_t *side_info(cap_side_t *s)
{
    return &s->flow->cap->conns[s->flow->info];
}

static enum gw_cap_dir side_dir(const cap_side_t *s)
{
    return s->side == s->flow->client ? GW_CAP_C2S : GW_CAP_S2C;
}

static void emit(cap_side_t *s, gw_cap_event_t *ev, int64_t t_us)
{
    ev->conn = side_info(s)->conn;
    ev->dir = side_dir(s);
    ev->t_us = t_us;
    s->flow->cap->cb(ev, s->flow->cap->data);
}

static void emit_error(cap_side_t *s, uint64_t offset, const char *text, int64_t t_us)
{
    gw_cap_event_t ev = {.kind = GW_CAP_ERROR, .offset = offset, .text = text};
    side_info(s)->errors[side_dir(s)]++;
    emit(s, &ev, t_us);
}

/* ---- resync ------------------------------------------------------------ */

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Whether n bytes of a payload look like TWS text: a decimal message id
 * field first, then printable bytes and NULs. n may be a prefix. */
static int payload_plausible(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < CAP_ID_DIGITS_MAX && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == 0 && n > 0)
        return 0;
    if (i < n && p[i] != 0)
        return 0;
    for (; i < n; i++)
        if (p[i] != 0 && p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return 0;
    return 1;
}

/* One frame at p, n bytes available: YES it is whole and plausible, NO it
 * cannot be one, WAIT more bytes are needed to tell. */
static enum cap_candidate frame_candidate(const uint8_t *p, size_t n, size_t *flen)
{
    if (n < 4)
        return CAND_WAIT;
    uint32_t len = get_be32(p);
    if (len < 2 || len > CAP_RESYNC_FRAME_MAX)
        return CAND_NO;
    size_t have = n - 4 < len ? n - 4 : len;
    if (!payload_plausible(p + 4, have))
        return CAND_NO;
    if (have < len)
        return CAND_WAIT;
    *flen = 4 + (size_t)len;
    return p[4 + len - 1] == 0 ? CAND_YES : CAND_NO;
}

/* A boundary is believed when a frame parses there and so does the next
 * one, or the data ends right after it. At the end of the input (final) a
 * candidate still waiting for bytes is accepted as far as it goes. */
static enum cap_candidate boundary_candidate(const uint8_t *p, size_t n, int final)
{
    size_t flen = 0, next_len = 0;
    enum cap_candidate c = frame_candidate(p, n, &flen);
    if (c != CAND_YES)
        return c == CAND_WAIT && !final ? CAND_WAIT : CAND_NO;
    if (flen == n)
        return CAND_YES;
    c = frame_candidate(p + flen, n - flen, &next_len);
    if (c == CAND_WAIT)
        return final ? CAND_YES : CAND_WAIT;
    return c;
}

static void side_start_frames(cap_side_t *s, uint64_t offset)
{
    proto_decoder_free(&s->dec);
    proto_decoder_init(&s->dec);
    s->base = offset;
    s->st = SIDE_FRAMES;
}

/* The scan buffer keeps what it holds: the caller has put there the bytes
 * from `offset` on, if any. */
static void side_enter_resync(cap_side_t *s, uint64_t offset, uint64_t skipped)
{
    proto_decoder_free(&s->dec);
    proto_decoder_init(&s->dec);
    s->st = SIDE_RESYNC;
    s->scan_off = offset;
    s->skipped = skipped;
}

static int scan_append(cap_side_t *s, const uint8_t *p, size_t n)
{
    if (s->scan_cap - s->scan_len < n) {
        size_t cap = s->scan_cap ? s->scan_cap : 4096;
        while (cap - s->scan_len < n)
            cap *= 2;
        uint8_t *grown = realloc(s->scan, cap);
        if (!grown)
            return -1;
        s->scan = grown;
        s->scan_cap = cap;
    }
    memcpy(s->scan + s->scan_len, p, n);
    s->scan_len += n;
    return 0;
}

/* 1 when a boundary was found and the decoder holds the bytes from it on,
 * 0 when more bytes are needed. */
static int side_scan(cap_side_t *s, int final, int64_t t_us)
{
    size_t pos = 0;
    enum cap_candidate c = CAND_NO;
    for (; pos < s->scan_len; pos++) {
        c = boundary_candidate(s->scan + pos, s->scan_len - pos, final);
        if (c != CAND_NO)
            break;
    }
    s->skipped += pos;
    s->scan_off += pos;
    s->scan_len -= pos;
    if (pos > 0) /* scan is NULL while nothing was ever buffered */
        memmove(s->scan, s->scan + pos, s->scan_len);
    if (c != CAND_YES)
        return 0;
    gw_cap_event_t ev = {.kind = GW_CAP_RESYNC, .offset = s->scan_off, .length = s->skipped};
    side_info(s)->skipped[side_dir(s)] += s->skipped;
    emit(s, &ev, t_us);
    side_start_frames(s, s->scan_off);
    if (proto_decoder_feed(&s->dec, s->scan, s->scan_len) < 0) {
        emit_error(s, s->scan_off, "out of memory", t_us);
        s->st = SIDE_FAILED;
        return 0;
    }
    s->scan_len = 0;
    return 1;
}

/* ---- decoding ------------------------------------------------------------ */

/* Bytes at the decoder's read position that do not decode: report, then
 * resync from the next byte so that the scan always moves forward. */
static void side_decode_error(cap_side_t *s, const char *err, int64_t t_us)
{
    uint64_t at = s->base + s->dec.consumed;
    emit_error(s, at, err, t_us);
    size_t left = proto_decoder_buffered(&s->dec);
    const uint8_t *rest = s->dec.buf + s->dec.start;
    s->scan_len = 0;
    if (left > 1 && scan_append(s, rest + 1, left - 1) < 0) {
        emit_error(s, at, "out of memory", t_us);
        s->st = SIDE_FAILED;
        return;
    }
    side_enter_resync(s, at + 1, 1);
}

static void side_server_hello(cap_side_t *s, const proto_frame_t *f, int64_t t_us)
{
    char err[CAP_ERR_MAX], when[64];
    int version = 0;
    s->st = SIDE_FRAMES;
    if (proto_server_hello_parse(f, &version, when, sizeof when, err, sizeof err) < 0) {
        emit_error(s, s->base + f->offset, err, t_us);
        return;
    }
    side_info(s)->version = version;
    gw_cap_event_t ev = {.kind = GW_CAP_SERVER_HELLO, .offset = s->base + f->offset,
                         .version = version, .text = when};
    emit(s, &ev, t_us);
}

/* 1 when the greeting was taken, 0 when more bytes are needed, -1 after an
 * error (the side has moved to RESYNC). */
static int side_client_hello(cap_side_t *s, int64_t t_us)
{
    char err[CAP_ERR_MAX];
    proto_client_hello_t hello;
    uint64_t at = s->base + s->dec.consumed;
    int rc = proto_client_hello_read(&s->dec, &hello, err, sizeof err);
    if (rc < 0) {
        side_decode_error(s, err, t_us);
        return -1;
    }
    if (rc == 0)
        return 0;
    gw_cap_conn_info_t *info = side_info(s);
    info->hello_min = hello.min_version;
    info->hello_max = hello.max_version;
    s->st = SIDE_FRAMES;
    gw_cap_event_t ev = {.kind = GW_CAP_HELLO, .offset = at, .hello = &hello};
    emit(s, &ev, t_us);
    return 1;
}

/* Every whole message the decoder holds. 1 when bad bytes moved the side
 * to RESYNC, 0 when more bytes are needed. */
static int side_drain(cap_side_t *s, int64_t t_us)
{
    char err[CAP_ERR_MAX];
    proto_frame_t f;
    if (s->st == SIDE_HELLO && side_dir(s) == GW_CAP_C2S) {
        int rc = side_client_hello(s, t_us);
        if (rc <= 0)
            return rc < 0;
    }
    for (;;) {
        int rc = proto_decoder_next(&s->dec, &f, err, sizeof err);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            side_decode_error(s, err, t_us);
            return 1;
        }
        if (s->st == SIDE_HELLO) {
            side_server_hello(s, &f, t_us);
            continue;
        }
        gw_cap_conn_info_t *info = side_info(s);
        info->msgs[side_dir(s)]++;
        info->bytes[side_dir(s)] += 4 + f.len;
        gw_cap_event_t ev = {.kind = GW_CAP_MSG, .offset = s->base + f.offset, .frame = f};
        emit(s, &ev, t_us);
    }
}

/* Runs the side's state machine until it needs more bytes. A loop rather
 * than mutual recursion, so that a long run of bad bytes cannot grow the
 * stack. */
static void side_process(cap_side_t *s, int final, int64_t t_us)
{
    for (;;) {
        if (s->st == SIDE_RESYNC) {
            if (!side_scan(s, final, t_us))
                return;
        } else if (s->st == SIDE_FAILED || !side_drain(s, t_us)) {
            return;
        }
    }
}

static void side_feed(cap_side_t *s, uint64_t offset, const uint8_t *p, size_t n, int64_t t_us)
{
    if (!s->started) {
        s->started = 1;
        /* Mid-stream, the first byte is unlikely to start a frame. */
        if (s->rs.midstream && !(side_dir(s) == GW_CAP_C2S && s->flow->by_greeting))
            side_enter_resync(s, offset, 0);
        else
            s->base = offset;
    }
    int rc = 0;
    if (s->st == SIDE_RESYNC)
        rc = scan_append(s, p, n);
    else if (s->st != SIDE_FAILED)
        rc = proto_decoder_feed(&s->dec, p, n);
    if (rc < 0) {
        emit_error(s, offset, "out of memory", t_us);
        s->st = SIDE_FAILED;
        return;
    }
    side_process(s, 0, t_us);
}

/* ---- conversations ------------------------------------------------------ */

static void format_endpoint(const cap_key_t *k, int side, char *buf, size_t cap)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    inet_ntop(k->ip_version == 4 ? AF_INET : AF_INET6, k->addr[side], addr, sizeof addr);
    snprintf(buf, cap, k->ip_version == 4 ? "%s:%u" : "[%s]:%u", addr, (unsigned)k->port[side]);
}

static int flow_make_tws(cap_flow_t *fl, int client, const char *found_by)
{
    gw_cap_t *c = fl->cap;
    if (c->nconns == c->conns_cap) {
        size_t cap = c->conns_cap ? c->conns_cap * 2 : 16;
        gw_cap_conn_info_t *grown = realloc(c->conns, cap * sizeof *grown);
        if (!grown)
            return GW_REASM_ERR_NOMEM;
        c->conns = grown;
        c->conns_cap = cap;
    }
    gw_cap_conn_info_t *info = &c->conns[c->nconns];
    memset(info, 0, sizeof *info);
    info->conn = (unsigned)c->nconns + 1;
    info->found_by = found_by;
    info->end[0] = info->end[1] = "open";
    info->t_first_us = info->t_last_us = c->t_us;
    format_endpoint(&fl->key, client, info->client, sizeof info->client);
    format_endpoint(&fl->key, !client, info->server, sizeof info->server);
    fl->info = c->nconns++;
    fl->state = FLOW_TWS;
    fl->client = client;
    fl->by_greeting = strcmp(found_by, "greeting") == 0;
    gw_cap_event_t ev = {.kind = GW_CAP_OPEN, .text = found_by};
    emit(&fl->side[client], &ev, c->t_us);
    return 0;
}

/* UNKNOWN flows: the first four bytes either side sends decide. */
static void flow_sniff(cap_side_t *s, uint64_t offset, const uint8_t *p, size_t n, int64_t t_us)
{
    size_t take = CAP_GREETING_LEN - s->nprefix;
    if (take > n)
        take = n;
    memcpy(s->prefix + s->nprefix, p, take);
    s->nprefix += take;
    if (s->nprefix < CAP_GREETING_LEN)
        return;
    cap_flow_t *fl = s->flow;
    if (offset != s->nprefix - take || memcmp(s->prefix, CAP_GREETING, CAP_GREETING_LEN) != 0 ||
        flow_make_tws(fl, s->side, "greeting") < 0) {
        fl->state = FLOW_IGNORED;
        return;
    }
    side_feed(s, 0, s->prefix, CAP_GREETING_LEN, t_us);
    if (n > take)
        side_feed(s, offset + take, p + take, n - take, t_us);
}

static void on_data(void *ctx, uint64_t offset, const uint8_t *p, size_t n, int64_t t_us)
{
    cap_side_t *s = ctx;
    if (s->flow->state == FLOW_UNKNOWN)
        flow_sniff(s, offset, p, n, t_us);
    else if (s->flow->state == FLOW_TWS)
        side_feed(s, offset, p, n, t_us);
}

static void on_gap(void *ctx, uint64_t offset, uint64_t len, int64_t t_us)
{
    cap_side_t *s = ctx;
    if (s->flow->state != FLOW_TWS) {
        s->flow->state = FLOW_IGNORED; /* cannot tell what it is any more */
        return;
    }
    gw_cap_conn_info_t *info = side_info(s);
    info->gaps[side_dir(s)]++;
    info->gap_bytes[side_dir(s)] += len;
    gw_cap_event_t ev = {.kind = GW_CAP_GAP, .offset = offset, .length = len};
    emit(s, &ev, t_us);
    s->started = 1;
    uint64_t lost = s->st == SIDE_RESYNC ? s->skipped + s->scan_len
                                         : proto_decoder_buffered(&s->dec);
    if (s->st != SIDE_FAILED) {
        s->scan_len = 0;
        side_enter_resync(s, offset + len, lost);
    }
}

static const gw_reasm_ops_t cap_reasm_ops = {on_data, on_gap};

/* ---- flow table ----------------------------------------------------------- */

/* Word at a time: this runs for most packets, since flows interleave. */
static uint64_t key_hash(const cap_key_t *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ull, w;
    for (size_t i = 0; i < sizeof *k; i += sizeof w) {
        memcpy(&w, (const uint8_t *)k + i, sizeof w);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

static uint32_t *table_slot(gw_cap_t *c, const cap_key_t *k)
{
    size_t mask = c->table_cap - 1;
    for (size_t i = (size_t)key_hash(k) & mask;; i = (i + 1) & mask) {
        uint32_t v = c->table[i];
        if (v == 0 || memcmp(&c->flows[v - 1]->key, k, sizeof *k) == 0)
            return &c->table[i];
    }
}

static int table_grow(gw_cap_t *c)
{
    size_t cap = c->table_cap ? c->table_cap * 2 : CAP_FLOWS_MIN * 2;
    uint32_t *old = c->table;
    size_t old_cap = c->table_cap;
    c->table = calloc(cap, sizeof *c->table);
    if (!c->table) {
        c->table = old;
        return GW_REASM_ERR_NOMEM;
    }
    c->table_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            *table_slot(c, &c->flows[old[i] - 1]->key) = old[i];
    free(old);
    return 0;
}

static void side_init(cap_flow_t *fl, int side)
{
    cap_side_t *s = &fl->side[side];
    s->flow = fl;
    s->side = side;
    s->st = SIDE_HELLO;
    proto_decoder_init(&s->dec);
    gw_reasm_init(&s->rs, fl->cap->cfg.ooo_max, &cap_reasm_ops, s);
}

static void side_free(cap_side_t *s)
{
    gw_reasm_free(&s->rs);
    proto_decoder_free(&s->dec);
    free(s->scan);
    s->scan = NULL;
    s->scan_len = s->scan_cap = 0;
}

static int port_listed(const gw_cap_t *c, uint16_t port)
{
    for (size_t i = 0; i < c->cfg.nports; i++)
        if (c->cfg.ports[i] == port)
            return 1;
    return 0;
}

/* A new flow, entered in *slot, classified by port when it can be. */
static cap_flow_t *flow_new(gw_cap_t *c, const cap_key_t *k, uint32_t *slot,
                            const gw_pcap_pkt_t *pkt, int sender)
{
    if (c->nflows == c->flows_cap) {
        size_t cap = c->flows_cap ? c->flows_cap * 2 : CAP_FLOWS_MIN;
        cap_flow_t **grown = realloc(c->flows, cap * sizeof *grown);
        if (!grown)
            return NULL;
        c->flows = grown;
        c->flows_cap = cap;
    }
    cap_flow_t *fl = calloc(1, sizeof *fl);
    if (!fl)
        return NULL;
    fl->cap = c;
    fl->key = *k;
    fl->info = SIZE_MAX;
    side_init(fl, 0);
    side_init(fl, 1);
    c->flows[c->nflows++] = fl;
    *slot = (uint32_t)c->nflows;
    c->stats.flows++;
    int syn_only = (pkt->flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_SYN;
    int client = -1;
    if (syn_only && port_listed(c, pkt->dport))
        client = sender;
    else if (port_listed(c, k->port[1]))
        client = 0;
    else if (port_listed(c, k->port[0]))
        client = 1;
    if (client >= 0 && flow_make_tws(fl, client, "port") < 0)
        return NULL;
    return fl;
}

static int flow_closed(const cap_flow_t *fl)
{
    return fl->side[0].rs.state >= GW_REASM_FIN && fl->side[1].rs.state >= GW_REASM_FIN;
}

/* Builds the key; *sender is the side the packet comes from. */
static void make_key(const gw_pcap_pkt_t *pkt, cap_key_t *k, int *sender)
{
    size_t alen = pkt->ip_version == 4 ? 4 : 16;
    int cmp = memcmp(pkt->src, pkt->dst, alen);
    *sender = cmp > 0 || (cmp == 0 && pkt->sport > pkt->dport);
    memset(k, 0, sizeof *k);
    memcpy(k->addr[*sender], pkt->src, alen);
    memcpy(k->addr[!*sender], pkt->dst, alen);
    k->port[*sender] = pkt->sport;
    k->port[!*sender] = pkt->dport;
    k->ip_version = pkt->ip_version;
}

static cap_flow_t *flow_lookup(gw_cap_t *c, const gw_pcap_pkt_t *pkt, int *sender)
{
    cap_key_t k;
    make_key(pkt, &k, sender);
    int new_syn = (pkt->flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_SYN;
    if (c->last && memcmp(&c->last->key, &k, sizeof k) == 0 &&
        !(new_syn && flow_closed(c->last)))
        return c->last;
    if (c->nflows + 1 > c->table_cap / 2 && table_grow(c) < 0)
        return NULL;
    uint32_t *slot = table_slot(c, &k);
    cap_flow_t *fl = *slot ? c->flows[*slot - 1] : NULL;
    /* A SYN on a finished flow is the port being reused: a new flow. */
    if (!fl || (new_syn && flow_closed(fl)))
        fl = flow_new(c, &k, slot, pkt, *sender);
    c->last = fl;
    return fl;
}

/* ---- packets -------------------------------------------------------------- */

static void side_report_end(cap_side_t *s, const char *how, int64_t t_us)
{
    if (s->end_reported || s->flow->state != FLOW_TWS)
        return;
    s->end_reported = 1;
    side_info(s)->end[side_dir(s)] = how;
    gw_cap_event_t ev = {.kind = GW_CAP_CLOSE, .offset = s->rs.next_off, .text = how};
    emit(s, &ev, t_us);
}

/* Partial frames and unresolved resyncs at the end of a direction. */
static void side_finish(cap_side_t *s, int64_t t_us)
{
    char text[CAP_ERR_MAX];
    if (s->flow->state != FLOW_TWS)
        return;
    side_process(s, 1, t_us);
    if (s->st == SIDE_RESYNC && s->skipped + s->scan_len > 0) {
        snprintf(text, sizeof text, "no frame boundary after the gap: %llu bytes skipped",
                 (unsigned long long)(s->skipped + s->scan_len));
        side_info(s)->skipped[side_dir(s)] += s->skipped + s->scan_len;
        emit_error(s, s->scan_off - s->skipped, text, t_us);
        s->skipped = s->scan_len = 0;
    }
    size_t left = s->st != SIDE_RESYNC ? proto_decoder_buffered(&s->dec) : 0;
    if (left > 0) {
        snprintf(text, sizeof text, "the stream ends inside a frame (%zu bytes of it)", left);
        emit_error(s, s->base + s->dec.consumed, text, t_us);
        proto_decoder_free(&s->dec);
        proto_decoder_init(&s->dec);
    }
}

static void side_after_segment(cap_side_t *s, int64_t t_us)
{
    if (s->end_reported)
        return;
    if (s->rs.state == GW_REASM_FIN) {
        side_finish(s, t_us);
        side_report_end(s, "fin", t_us);
    } else if (s->rs.state == GW_REASM_RST) {
        side_finish(s, t_us);
        side_report_end(s, "rst", t_us);
    }
}

int gw_cap_packet(gw_cap_t *c, const gw_pcap_pkt_t *pkt)
{
    int sender;
    c->t_us = pkt->t_us;
    cap_flow_t *fl = flow_lookup(c, pkt, &sender);
    if (!fl)
        return GW_REASM_ERR_NOMEM;
    if (fl->state == FLOW_IGNORED)
        return 0;
    if (fl->state == FLOW_TWS)
        c->conns[fl->info].t_last_us = pkt->t_us;
    gw_reasm_in_t in = {pkt->seq, pkt->flags, pkt->payload, pkt->len, pkt->wire_len, pkt->t_us};
    int rc = gw_reasm_segment(&fl->side[sender].rs, &in);
    if (pkt->flags & GW_TCP_RST) {
        gw_reasm_reset(&fl->side[0].rs, pkt->t_us);
        gw_reasm_reset(&fl->side[1].rs, pkt->t_us);
    }
    if (fl->state == FLOW_IGNORED) {
        c->stats.ignored++;
        side_free(&fl->side[0]);
        side_free(&fl->side[1]);
        return rc;
    }
    side_after_segment(&fl->side[0], pkt->t_us);
    side_after_segment(&fl->side[1], pkt->t_us);
    return rc;
}

void gw_cap_finish(gw_cap_t *c)
{
    for (size_t i = 0; i < c->nflows; i++) {
        cap_flow_t *fl = c->flows[i];
        /* The client's direction first, as the summary lists it. */
        for (int i = 0; i < 2 && fl->state != FLOW_IGNORED; i++) {
            cap_side_t *s = &fl->side[i ^ fl->client];
            gw_reasm_flush(&s->rs, c->t_us);
            side_after_segment(s, c->t_us);
            side_finish(s, c->t_us);
            side_report_end(s, "open", c->t_us);
        }
        if (fl->state == FLOW_UNKNOWN) {
            fl->state = FLOW_IGNORED;
            c->stats.ignored++;
        }
    }
}

gw_cap_t *gw_cap_new(const gw_cap_config_t *cfg, gw_cap_cb cb, void *data)
{
    gw_cap_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (cfg)
        c->cfg = *cfg;
    if (c->cfg.nports == 0) {
        size_t ooo_max = c->cfg.ooo_max;
        gw_cap_config_defaults(&c->cfg);
        c->cfg.ooo_max = ooo_max;
    }
    c->cb = cb;
    c->data = data;
    if (table_grow(c) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

void gw_cap_free(gw_cap_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nflows; i++) {
        side_free(&c->flows[i]->side[0]);
        side_free(&c->flows[i]->side[1]);
        free(c->flows[i]);
    }
    free(c->flows);
    free(c->table);
    free(c->conns);
    free(c);
}

int gw_cap_read(gw_cap_t *c, gw_pcap_t *p, char *err, size_t errlen)
{
    gw_pcap_pkt_t pkt;
    char why[CAP_ERR_MAX];
    int rc;
    while ((rc = gw_pcap_next(p, &pkt, why, sizeof why)) > 0) {
        if (rc == GW_PCAP_MALFORMED) {
            gw_cap_event_t ev = {.kind = GW_CAP_PACKET, .t_us = pkt.t_us,
                                 .offset = pkt.offset, .text = why};
            c->cb(&ev, c->data);
        } else if (rc == GW_PCAP_TCP && gw_cap_packet(c, &pkt) < 0) {
            proto_errf(err, errlen, "packet %llu: out of memory",
                       (unsigned long long)pkt.number);
            rc = GW_REASM_ERR_NOMEM;
            break;
        }
    }
    if (rc < 0 && rc != GW_REASM_ERR_NOMEM)
        proto_errf(err, errlen, "%s", why);
    gw_cap_finish(c);
    c->stats.packets = *gw_pcap_stats(p);
    return rc < 0 ? rc : 0;
}

int gw_cap_read_file(gw_cap_t *c, const char *path, char *err, size_t errlen)
{
    gw_pcap_t *p;
    int rc = gw_pcap_open(path, &p, err, errlen);
    if (rc < 0)
        return rc;
    rc = gw_cap_read(c, p, err, errlen);
    gw_pcap_close(p);
    return rc;
}

const gw_cap_stats_t *gw_cap_stats(const gw_cap_t *c)
{
    return &c->stats;
}

const gw_cap_conn_info_t *gw_cap_conn(const gw_cap_t *c, size_t i)
{
    return i < c->nconns ? &c->conns[i] : NULL;
}

size_t gw_cap_nconns(const gw_cap_t *c)
{
    return c->nconns;
}
