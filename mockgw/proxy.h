/* proxy.h - the recording proxy (`mockgw proxy`): it listens, connects to
 * the upstream Gateway once per client, relays the bytes both ways, and
 * writes the client's side of each conversation into a pcap as synthetic
 * TCP/IPv4 packets (link type RAW: SYN, SYN-ACK, ACK, data with true
 * sequence and acknowledgement numbers, FIN or RST), timestamped with the
 * io wall clock, so that `mockgw inspect`, tcpdump and Wireshark open it
 * and `mockgw serve --replay` answers from it. The recorded addresses are
 * 10.0.0.1:(40000 + n) for the n-th client and 10.0.0.2:<upstream port>.
 *
 * The recording shows the client's side: what the client sent, and what it
 * received after the faults (injected frames in, dropped frames out). The
 * faults act on the live stream; every kind of faults.h but a client id
 * target (a relay does not follow client ids):
 *   kill              how fin|rst: drop every relayed connection (both legs) now
 *   down              for, how: kill, stop listening (connects refused), listen
 *                     again after `for`
 *   refuse            for: stop listening; open relays stay
 *   stale             for (0 = until cleared), only: drop the upstream's frames
 *                     (all, or those of the gw_msg_kind bits) after its hello
 *   handshake_stall   for: clients accepted meanwhile get the upstream's server
 *                     hello (and what follows) only when it ends
 *   latency           value, for: hold every upstream byte back by value
 *   slice             max, for: deliver upstream bytes at most max at a time, 1 ms apart
 *   garbage           bytes: write a malformed frame (a length above the limit,
 *                     then `bytes` seeded random bytes) to every client
 *   connectivity_lost for, restored: errMsg 1100 and the farm-broken notices,
 *                     after `for` the restored code and the farm-OK notices
 *   farm_outage       for: 2103/2105, after `for` 2104/2106
 *   error             code, text, req_id: one errMsg
 *   client_id_in_use  times: the next `times` startApi get errMsg 326 instead
 *                     of going upstream, and that client is closed
 *   clear             ends every active fault now
 * The notices go to the clients past their startup's nextValidId, as a
 * Gateway's go to ready sessions, built for the version the upstream chose.
 * proto's decoder runs over each direction so that injected frames go in
 * between whole frames (after the one the client is in the middle of) and
 * dropped or answered frames go whole; bytes otherwise pass as they come,
 * and once a direction stops framing (garbage, not TWS) it passes as is.
 * Each fault is logged and traced like a gateway's (gw_fault_announce,
 * src "proxy"; kill as fault:kill {how, sessions}) and a lasting one
 * traces fault_end:<kind> as it ends; random ones (gw_proxy_chaos) come
 * from io_random_*, so the same seed repeats the same chaos.
 *
 * --scrub-accounts: account ids (the managedAccounts values, learnt as they
 * pass, then every field or comma-separated item equal to one, in either
 * direction) are replaced in the recording only by same-length
 * placeholders ("XXXXXXXX1" for the first account), so no frame length and
 * no sequence number changes. The live stream is relayed untouched.
 *
 * Trace events (src "proxy"): accept {conn}, upstream {conn, ok},
 * closed {conn, by: "client"|"upstream"|"proxy", how}, reject {conn, code}
 * (a startApi answered 326), fault:<kind>, fault_end:<kind>. */
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

/* Applies f now (client_id must be < 0: a relay does not follow client
 * ids). 0, or IO_ERR_INVAL naming why, or IO_ERR_NOBUFS when 16 lasting
 * faults are on already. */
int gw_proxy_fault(gw_proxy_t *px, const gw_fault_t *f, char *err, size_t errlen);

/* Random faults from then on, on average one per mean_us (0 stops them):
 * the kind (any but clear) and its parameters drawn from io_random_*. */
void gw_proxy_chaos(gw_proxy_t *px, io_us_t mean_us);

#endif
