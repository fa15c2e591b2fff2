/* pcap.c - capture file reading (libpcap does pcap and pcapng) and the
 * header decoding from link layer down to the TCP payload.
 *
 * Each layer takes a cursor (bytes left in the captured data) and checks the
 * length it needs before it reads, so a packet cut by the snaplen or by a
 * damaged file is reported as malformed rather than read past. The payload
 * is bounded by the IP length, not the captured length: Ethernet pads short
 * frames, and the padding is not TCP data. */
/* libpcap's header uses the BSD u_char types. */
#define _DEFAULT_SOURCE
#include "pcap.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define SLL_HLEN 16
#define SLL2_HLEN 20
#define NULL_HLEN 4
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86DD
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88A8
#define IPPROTO_TCP_NUM 6
#define PCAP_FILE_HLEN 24
#define PCAP_RECORD_HLEN 16
#define PCAPNG_MAGIC 0x0A0D0D0Au
#define PCAP_READ_BUFFER ((size_t)1 << 20)

/* BSD AF_INET6 differs per system; AF_INET is 2 everywhere. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_LINUX 10
#define BSD_AF_INET6_NETBSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

struct gw_pcap {
    pcap_t *pc;
    FILE *fp;
    int dlt;
    int pcapng;            /* record sizes vary: ask the FILE for offsets */
    uint64_t next_offset;  /* where the next record starts (plain pcap) */
    gw_pcap_stats_t stats;
};

typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor_t;

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int malformed(char *err, size_t errlen, const char *what, size_t need, size_t have)
{
    proto_errf(err, errlen, "%s needs %zu bytes, %zu captured", what, need, have);
    return GW_PCAP_MALFORMED;
}

/* ---- link layers: each leaves the cursor on the IP header and returns the
 * ethertype of what follows (0 for "look at the IP version nibble"). ---- */

static int link_ethernet(cursor_t *c, uint16_t *type, char *err, size_t errlen)
{
    if (c->n < ETH_HLEN)
        return malformed(err, errlen, "Ethernet header", ETH_HLEN, c->n);
    size_t off = ETH_HLEN;
    *type = be16(c->p + 12);
    while (*type == ETHERTYPE_VLAN || *type == ETHERTYPE_QINQ) {
        if (c->n < off + VLAN_HLEN)
            return malformed(err, errlen, "VLAN tag", off + VLAN_HLEN, c->n);
        *type = be16(c->p + off + 2);
        off += VLAN_HLEN;
    }
    c->p += off;
    c->n -= off;
    return 0;
}

static int link_fixed(cursor_t *c, size_t hlen, size_t type_at, const char *what, uint16_t *type,
                      char *err, size_t errlen)
{
    if (c->n < hlen)
        return malformed(err, errlen, what, hlen, c->n);
    *type = be16(c->p + type_at);
    c->p += hlen;
    c->n -= hlen;
    return 0;
}

/* NULL carries the family in the capturing host's byte order, LOOP in
 * network order; a family above 0xFFFF is the other order. */
static int link_bsd(cursor_t *c, int network_order, uint16_t *type, char *err, size_t errlen)
{
    if (c->n < NULL_HLEN)
        return malformed(err, errlen, "loopback header", NULL_HLEN, c->n);
    uint32_t fam = network_order ? be32(c->p)
                                 : (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 |
                                       (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
    if (fam > 0xFFFF)
        fam = __builtin_bswap32(fam);
    if (fam == BSD_AF_INET)
        *type = ETHERTYPE_IPV4;
    else if (fam == BSD_AF_INET6_LINUX || fam == BSD_AF_INET6_NETBSD ||
             fam == BSD_AF_INET6_FREEBSD || fam == BSD_AF_INET6_DARWIN)
        *type = ETHERTYPE_IPV6;
    else
        *type = 1; /* some other family: not IP */
    c->p += NULL_HLEN;
    c->n -= NULL_HLEN;
    return 0;
}

static int link_strip(int dlt, cursor_t *c, uint16_t *type, char *err, size_t errlen)
{
    *type = 0;
    switch (dlt) {
    case DLT_EN10MB:
        return link_ethernet(c, type, err, errlen);
    case DLT_LINUX_SLL:
        return link_fixed(c, SLL_HLEN, 14, "Linux cooked (SLL) header", type, err, errlen);
    case DLT_LINUX_SLL2:
        return link_fixed(c, SLL2_HLEN, 0, "Linux cooked (SLL2) header", type, err, errlen);
    case DLT_NULL:
        return link_bsd(c, 0, type, err, errlen);
    case DLT_LOOP:
        return link_bsd(c, 1, type, err, errlen);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return 0;
    default:
        proto_errf(err, errlen, "link type %d (%s) is not supported", dlt,
                   pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
        return GW_PCAP_ERR_LINKTYPE;
    }
}

/* ---- IP: each leaves the cursor on the TCP header, bounded by the IP
 * length, and sets *wire to the TCP segment's length on the wire. ---- */

static int ip_v4(cursor_t *c, gw_pcap_pkt_t *out, size_t *wire, char *err, size_t errlen)
{
    if (c->n < IPV4_HLEN)
        return malformed(err, errlen, "IPv4 header", IPV4_HLEN, c->n);
    size_t ihl = (size_t)(c->p[0] & 0x0F) * 4;
    size_t total = be16(c->p + 2);
    if (ihl < IPV4_HLEN) {
        proto_errf(err, errlen, "IPv4 header length %zu is below 20", ihl);
        return GW_PCAP_MALFORMED;
    }
    if (c->n < ihl)
        return malformed(err, errlen, "IPv4 header with options", ihl, c->n);
    /* A zero total length is what segmentation offload leaves: trust the capture. */
    if (total == 0)
        total = c->n;
    if (total < ihl) {
        proto_errf(err, errlen, "IPv4 total length %zu is below its header length %zu", total,
                   ihl);
        return GW_PCAP_MALFORMED;
    }
    if ((be16(c->p + 6) & 0x3FFF) != 0 || c->p[9] != IPPROTO_TCP_NUM)
        return GW_PCAP_OTHER; /* a fragment, or not TCP */
    out->ip_version = 4;
    memset(out->src, 0, sizeof out->src);
    memset(out->dst, 0, sizeof out->dst);
    memcpy(out->src, c->p + 12, 4);
    memcpy(out->dst, c->p + 16, 4);
    *wire = total - ihl;
    c->p += ihl;
    c->n = total < c->n ? total - ihl : c->n - ihl;
    return 0;
}

/* Extension headers are skipped until TCP; a fragment header means the
 * segment is split across packets, which this reader does not rebuild. */
static int ip_v6(cursor_t *c, gw_pcap_pkt_t *out, size_t *wire, char *err, size_t errlen)
{
    if (c->n < IPV6_HLEN)
        return malformed(err, errlen, "IPv6 header", IPV6_HLEN, c->n);
    size_t plen = be16(c->p + 4);
    uint8_t next = c->p[6];
    out->ip_version = 6;
    memcpy(out->src, c->p + 8, 16);
    memcpy(out->dst, c->p + 24, 16);
    c->p += IPV6_HLEN;
    c->n -= IPV6_HLEN;
    if (plen == 0) /* jumbogram or offload: trust the capture */
        plen = c->n;
    if (plen < c->n)
        c->n = plen;
    while (next != IPPROTO_TCP_NUM) {
        size_t hlen;
        if (next != 0 && next != 43 && next != 60 && next != 51)
            return GW_PCAP_OTHER; /* fragment (44), ESP, UDP, ICMPv6, none */
        if (c->n < 8)
            return malformed(err, errlen, "IPv6 extension header", 8, c->n);
        hlen = next == 51 ? ((size_t)c->p[1] + 2) * 4 : ((size_t)c->p[1] + 1) * 8;
        if (c->n < hlen || plen < hlen)
            return malformed(err, errlen, "IPv6 extension header", hlen, c->n);
        next = c->p[0];
        c->p += hlen;
        c->n -= hlen;
        plen -= hlen;
    }
    *wire = plen;
    return 0;
}

static int tcp_header(cursor_t *c, size_t wire, gw_pcap_pkt_t *out, char *err, size_t errlen)
{
    if (c->n < TCP_HLEN)
        return malformed(err, errlen, "TCP header", TCP_HLEN, c->n);
    size_t doff = (size_t)(c->p[12] >> 4) * 4;
    if (doff < TCP_HLEN || wire < doff) {
        proto_errf(err, errlen, "TCP data offset %zu does not fit a %zu-byte segment", doff,
                   wire);
        return GW_PCAP_MALFORMED;
    }
    if (c->n < doff)
        return malformed(err, errlen, "TCP header with options", doff, c->n);
    out->sport = be16(c->p);
    out->dport = be16(c->p + 2);
    out->seq = be32(c->p + 4);
    out->ack = be32(c->p + 8);
    out->flags = c->p[13];
    out->payload = c->p + doff;
    out->len = (uint32_t)(c->n - doff);
    out->wire_len = (uint32_t)(wire - doff);
    return GW_PCAP_TCP;
}

int gw_pcap_decode(int dlt, const uint8_t *data, size_t caplen, gw_pcap_pkt_t *out, char *err,
                   size_t errlen)
{
    cursor_t c = {data, caplen};
    uint16_t type;
    size_t wire = 0;
    int rc = link_strip(dlt, &c, &type, err, errlen);
    if (rc != 0)
        return rc == GW_PCAP_ERR_LINKTYPE ? GW_PCAP_OTHER : rc;
    if (type == 0 && c.n > 0)
        type = (c.p[0] >> 4) == 6 ? ETHERTYPE_IPV6 : (c.p[0] >> 4) == 4 ? ETHERTYPE_IPV4 : 1;
    if (type == ETHERTYPE_IPV4)
        rc = ip_v4(&c, out, &wire, err, errlen);
    else if (type == ETHERTYPE_IPV6)
        rc = ip_v6(&c, out, &wire, err, errlen);
    else
        rc = c.n == 0 && type == 0 ? malformed(err, errlen, "IP header", 1, 0) : GW_PCAP_OTHER;
    if (rc != 0)
        return rc;
    return tcp_header(&c, wire, out, err, errlen);
}

/* ---- file ------------------------------------------------------------- */

static int dlt_supported(int dlt)
{
    return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
           dlt == DLT_NULL || dlt == DLT_LOOP || dlt == DLT_RAW || dlt == DLT_IPV4 ||
           dlt == DLT_IPV6;
}

int gw_pcap_open(const char *path, gw_pcap_t **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        proto_errf(err, errlen, "cannot open: %s", strerror(errno));
        return GW_PCAP_ERR_OPEN;
    }
    /* Big reads: with stdio's default 4 KiB, the read calls cost more than
     * decoding. */
    setvbuf(fp, NULL, _IOFBF, PCAP_READ_BUFFER);
    return gw_pcap_fopen(fp, out, err, errlen);
}

int gw_pcap_fopen(FILE *fp, gw_pcap_t **out, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    uint8_t magic[4];
    *out = NULL;
    gw_pcap_t *p = calloc(1, sizeof *p);
    if (!p) {
        proto_errf(err, errlen, "out of memory");
        fclose(fp);
        return GW_PCAP_ERR_OPEN;
    }
    p->fp = fp;
    p->pcapng = fread(magic, 1, 4, p->fp) == 4 && be32(magic) == PCAPNG_MAGIC;
    rewind(p->fp);
    p->pc = pcap_fopen_offline_with_tstamp_precision(p->fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (!p->pc) {
        /* libpcap's own words: "unknown file format", "truncated dump file"... */
        proto_errf(err, errlen, "not a pcap or pcapng capture: %s", perr);
        fclose(p->fp);
        free(p);
        return GW_PCAP_ERR_OPEN;
    }
    p->dlt = pcap_datalink(p->pc);
    if (!dlt_supported(p->dlt)) {
        const char *name = pcap_datalink_val_to_name(p->dlt);
        proto_errf(err, errlen, "link type %d (%s) is not supported", p->dlt, name ? name : "?");
        gw_pcap_close(p);
        return GW_PCAP_ERR_LINKTYPE;
    }
    p->next_offset = PCAP_FILE_HLEN;
    *out = p;
    return 0;
}

void gw_pcap_close(gw_pcap_t *p)
{
    if (!p)
        return;
    pcap_close(p->pc); /* closes fp too */
    free(p);
}

/* pcapng timestamps are 64-bit, and a damaged one can be beyond what int64
 * microseconds hold: clamp the seconds (with room for a bad tv_usec, which
 * classic pcap does not check either) rather than overflow. */
static int64_t pcap_time_us(const struct timeval *tv)
{
    const int64_t max_s = INT64_MAX / 1000000 - 10000;
    int64_t s = tv->tv_sec > max_s ? max_s : tv->tv_sec < -max_s ? -max_s : tv->tv_sec;
    return s * 1000000 + tv->tv_usec;
}

int gw_pcap_next(gw_pcap_t *p, gw_pcap_pkt_t *out, char *err, size_t errlen)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t offset = p->pcapng ? (uint64_t)ftell(p->fp) : p->next_offset;
    int rc = pcap_next_ex(p->pc, &h, &data);
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    if (rc != 1) {
        proto_errf(err, errlen, "packet %llu at byte offset %llu: %s",
                   (unsigned long long)p->stats.packets + 1, (unsigned long long)offset,
                   pcap_geterr(p->pc));
        return GW_PCAP_ERR_TRUNCATED;
    }
    p->stats.packets++;
    p->next_offset = offset + PCAP_RECORD_HLEN + h->caplen;
    out->number = p->stats.packets;
    out->offset = offset;
    out->t_us = pcap_time_us(&h->ts);
    char why[160];
    rc = gw_pcap_decode(p->dlt, data, h->caplen, out, why, sizeof why);
    if (rc == GW_PCAP_TCP) {
        p->stats.tcp++;
    } else if (rc == GW_PCAP_OTHER) {
        p->stats.other++;
    } else {
        p->stats.malformed++;
        proto_errf(err, errlen, "packet %llu at byte offset %llu: %s",
                   (unsigned long long)out->number, (unsigned long long)offset, why);
    }
    return rc;
}

const gw_pcap_stats_t *gw_pcap_stats(const gw_pcap_t *p)
{
    return &p->stats;
}

int gw_pcap_linktype(const gw_pcap_t *p)
{
    return p->dlt;
}
