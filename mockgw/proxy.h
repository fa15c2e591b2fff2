/* proxy.h - the recording proxy (`mockgw proxy`): it listens, connects to
 * the upstream Gateway once per client, relays the bytes both ways, and
 * writes the client's side of each conversation into a pcap as synthetic
 * TCP/IPv4 packets (link type RAW: SYN, SYN-ACK, ACK, data with true
 * sequence and acknowledgement numbers, FIN or RST), timestamped with the
 * io wall clock, so that `mockgw inspect`, tcpdump and Wireshark open it
 * and `mockgw serve --replay` answers from it. The recorded addresses are
 * 10.0.0.1:(40000 + n) for the n-th client and 10.0.0.2:<upstream port>.
 *
 * The recording shows what the client sent and what it received, after
 * the faults: the faults a relay can inject into the live stream act on
 * the upstream-to-client direction:
 *   kill     how fin|rst: drop every relayed connection (both legs) now
 *   latency  value, for: hold every upstream byte back by value
 *   slice    max, for: deliver upstream bytes at most max at a time, 1 ms apart
 *   garbage  bytes: write a malformed frame (a length above the limit, then
 *            `bytes` seeded random bytes) to every client
 * Others (down, stale, errors, ...) belong to a gateway, not to a relay,
 * and are refused. Each fault is logged and traced `fault:<kind>` (src
 * "proxy"); random ones (gw_proxy_chaos) come from io_random_*, so the same
 * seed repeats the same chaos.
 *
 * --scrub-accounts: account ids (the managedAccounts values, learnt as they
 * pass, then every field or comma-separated item equal to one, in either
 * direction) are replaced in the recording only by same-length
 * placeholders ("XXXXXXXX1" for the first account), so no frame length and
 * no sequence number changes. The live stream is relayed untouched.
 *
 * Trace events (src "proxy"): accept {conn}, upstream {conn, ok},
 * closed {conn, by: "client"|"upstream"|"proxy", how}, fault:<kind>. */
#ifndef MOCKGW_PROXY_H
#define MOCKGW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "faults.h"

/* ---- the recorder: synthetic TCP/IPv4 packets into a pcap ---------------- */

typedef struct gw_proxy_rec gw_proxy_rec_t;

/* One recorded TCP connection. Directions are enum gw_cap_dir values:
 * 0 client to server, 1 server to client. */
typedef struct gw_proxy_flow {
    uint8_t client_ip[4], server_ip[4];
    uint16_t client_port, server_port;
    uint32_t seq[2];   /* the next sequence number of each direction */
    int ended[2];      /* a FIN or RST was recorded */
} gw_proxy_flow_t;

/* Creates (truncates) path. 0, or IO_ERR_SYS with libpcap's reason. */
int gw_proxy_rec_open(const char *path, gw_proxy_rec_t **out, char *err, size_t errlen);
/* Flushes and closes; NULL is a no-op. */
void gw_proxy_rec_close(gw_proxy_rec_t *r);

/* The three-way handshake at t_us (f's addresses and ports set; isn: the
 * initial sequence numbers, client and server). */
void gw_proxy_rec_connect(gw_proxy_rec_t *r, gw_proxy_flow_t *f, uint32_t isn_client,
                          uint32_t isn_server, int64_t t_us);
/* Payload in one direction, cut into segments of at most 16 KiB. */
void gw_proxy_rec_data(gw_proxy_rec_t *r, gw_proxy_flow_t *f, int dir, const void *data,
                       size_t len, int64_t t_us);
/* FIN (rst 0) or RST from that direction's sender; once per direction. */
void gw_proxy_rec_end(gw_proxy_rec_t *r, gw_proxy_flow_t *f, int dir, int rst, int64_t t_us);

/* ---- the scrubber ------------------------------------------------------- */

#define GW_PROXY_ACCOUNTS_MAX 16

/* Frames one direction's bytes and replaces account ids in them. */
typedef struct gw_proxy_scrub_dir {
    size_t prefix_left;  /* client side: the "API\0" still to pass */
    uint8_t *buf;        /* an unfinished frame */
    size_t len, cap;
    int raw;             /* the bytes stopped framing: passed on as they are */
} gw_proxy_scrub_dir_t;

typedef struct gw_proxy_scrub {
    char *accounts[GW_PROXY_ACCOUNTS_MAX]; /* learnt from managedAccounts */
    size_t naccounts;
    gw_proxy_scrub_dir_t dir[2];
} gw_proxy_scrub_t;

typedef void (*gw_proxy_scrub_out)(void *data, const uint8_t *bytes, size_t len);

void gw_proxy_scrub_init(gw_proxy_scrub_t *sc);
void gw_proxy_scrub_free(gw_proxy_scrub_t *sc);
/* Feeds bytes of one direction; out gets the scrubbed bytes, whole frames
 * at a time (the "API\0" prefix and bytes that do not frame as they are).
 * 0 or IO_ERR_NOMEM. */
int gw_proxy_scrub_feed(gw_proxy_scrub_t *sc, int dir, const uint8_t *bytes, size_t len,
                        gw_proxy_scrub_out out, void *data);

/* ---- the proxy ---------------------------------------------------------- */

typedef struct gw_proxy_config {
    const char *host;          /* listen address, default "127.0.0.1" */
    uint16_t port;             /* default 4003; 0 picks a free one */
    const char *upstream_host; /* default "127.0.0.1" */
    uint16_t upstream_port;    /* default 4002 */
    const char *record;        /* pcap to write; NULL: relay only */
    int scrub_accounts;
} gw_proxy_config_t;

void gw_proxy_config_defaults(gw_proxy_config_t *cfg);

typedef struct gw_proxy gw_proxy_t;

/* Listens, and opens the recording. 0 or a negative IO_ERR_* with the
 * reason in err. cfg's strings must outlive px. */
int gw_proxy_new(io_loop_t *loop, const gw_proxy_config_t *cfg, gw_proxy_t **out, char *err,
                 size_t errlen);
/* Closes every relayed connection (FIN), the listener and the recording. */
void gw_proxy_free(gw_proxy_t *px);

uint16_t gw_proxy_port(const gw_proxy_t *px);
/* Relayed connections open now. */
size_t gw_proxy_conn_count(const gw_proxy_t *px);

/* Applies kill, latency, slice or garbage now (client_id must be < 0: a
 * relay does not follow client ids). 0, or IO_ERR_INVAL naming why. */
int gw_proxy_fault(gw_proxy_t *px, const gw_fault_t *f, char *err, size_t errlen);

/* Random faults from then on, on average one per mean_us (0 stops them):
 * the kind among kill, latency, slice and garbage and its parameters drawn
 * from io_random_*. */
void gw_proxy_chaos(gw_proxy_t *px, io_us_t mean_us);

#endif
