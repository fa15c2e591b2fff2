/* pcap.h - reading TCP segments out of a capture file with libpcap (pcap and
 * pcapng alike), and decoding one captured packet's link, IP and TCP
 * headers. Link types: Ethernet (with VLAN tags), Linux cooked SLL and
 * SLL2, BSD loopback NULL and LOOP, raw IP (DLT_RAW, IPV4, IPV6). Every
 * length is checked against the captured length: a packet too short for its
 * headers is reported by number and byte offset, never read past. */
#ifndef MOCKGW_PCAP_H
#define MOCKGW_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum gw_pcap_err {
    GW_PCAP_ERR_OPEN = -40,      /* not a readable pcap/pcapng file */
    GW_PCAP_ERR_TRUNCATED = -41, /* the file ends inside a record */
    GW_PCAP_ERR_LINKTYPE = -42   /* a link type this reader does not decode */
};

/* What gw_pcap_decode and gw_pcap_next report per packet. */
enum gw_pcap_result {
    GW_PCAP_TCP = 1,       /* *out holds a TCP segment */
    GW_PCAP_OTHER = 2,     /* not IPv4/IPv6 TCP (ARP, UDP, a fragment...): skipped */
    GW_PCAP_MALFORMED = 3  /* headers cut short or inconsistent: skipped, err says why */
};

#define GW_TCP_FIN 0x01
#define GW_TCP_SYN 0x02
#define GW_TCP_RST 0x04
#define GW_TCP_ACK 0x10

/* One TCP segment. Addresses are 16 bytes; IPv4 ones sit in the first 4. */
typedef struct gw_pcap_pkt {
    uint64_t number;       /* 1-based packet number in the file */
    uint64_t offset;       /* file byte offset where its record starts */
    int64_t t_us;          /* capture time, microseconds since the epoch (UTC) */
    uint8_t ip_version;    /* 4 or 6 */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;         /* GW_TCP_* */
    const uint8_t *payload; /* captured payload, valid until the next gw_pcap_next */
    uint32_t len;          /* captured payload bytes */
    uint32_t wire_len;     /* payload bytes on the wire (> len when the snaplen cut it) */
} gw_pcap_pkt_t;

/* Decodes one captured packet of the given DLT_* link type. Returns a
 * gw_pcap_result; for GW_PCAP_MALFORMED err says which header was short.
 * Fills out's header fields and payload only (not number/offset/t_us). */
int gw_pcap_decode(int dlt, const uint8_t *data, size_t caplen, gw_pcap_pkt_t *out, char *err,
                   size_t errlen);

typedef struct gw_pcap gw_pcap_t;

typedef struct gw_pcap_stats {
    uint64_t packets;   /* records read */
    uint64_t tcp;       /* of which TCP segments */
    uint64_t other;     /* skipped: not TCP over IP */
    uint64_t malformed; /* skipped: cut short or inconsistent */
} gw_pcap_stats_t;

/* Opens a pcap or pcapng file (microsecond timestamps). 0, or
 * GW_PCAP_ERR_OPEN / GW_PCAP_ERR_LINKTYPE with the reason in err. */
int gw_pcap_open(const char *path, gw_pcap_t **out, char *err, size_t errlen);
/* The same for a stream already open (a file, an fmemopen buffer), read
 * from its start. The reader owns fp from then on, on failure too. */
int gw_pcap_fopen(FILE *fp, gw_pcap_t **out, char *err, size_t errlen);
void gw_pcap_close(gw_pcap_t *p);

/* The next packet: GW_PCAP_TCP, GW_PCAP_OTHER, GW_PCAP_MALFORMED ("packet N
 * at byte offset X: ..." in err), 0 at the end of the file, or
 * GW_PCAP_ERR_TRUNCATED when the file ends inside a record (err names the
 * packet number and byte offset). */
int gw_pcap_next(gw_pcap_t *p, gw_pcap_pkt_t *out, char *err, size_t errlen);

const gw_pcap_stats_t *gw_pcap_stats(const gw_pcap_t *p);
/* The DLT_* link type of the open file. */
int gw_pcap_linktype(const gw_pcap_t *p);

#endif
