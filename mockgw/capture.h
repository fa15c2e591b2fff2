/* capture.h - TWS conversations in a capture: finds them among the TCP
 * flows (by server port, or by the client's "API\0" greeting on any port),
 * reassembles both directions, and decodes them with proto's codec into
 * timestamped events: the client hello, the server hello (which gives the
 * negotiated version), every message, and the gaps where the capture lost
 * bytes. Flows that are not TWS are counted and ignored.
 *
 * After a gap (or bytes that do not decode) a direction resynchronises: it
 * scans forward for the first offset where a frame parses as a TWS message
 * (length, decimal message id, printable fields, final NUL) and the next
 * one does too (or the data ends right after it), and carries on from
 * there, reporting how many bytes it skipped. */
#ifndef MOCKGW_CAPTURE_H
#define MOCKGW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/proto.h"
#include "pcap.h"

#define GW_CAP_PORTS_MAX 16

enum gw_cap_dir {
    GW_CAP_C2S = 0, /* client to server */
    GW_CAP_S2C = 1
};

enum gw_cap_kind {
    GW_CAP_OPEN,         /* a TWS conversation found; text: "port" or "greeting" */
    GW_CAP_HELLO,        /* the client's greeting: hello */
    GW_CAP_SERVER_HELLO, /* version, text: the connection time */
    GW_CAP_MSG,          /* frame */
    GW_CAP_GAP,          /* length bytes missing at offset */
    GW_CAP_RESYNC,       /* decoding resumed at offset after skipping length bytes */
    GW_CAP_ERROR,        /* the direction's bytes do not decode at offset: text */
    GW_CAP_CLOSE,        /* the direction ended; text: "fin", "rst" or "open" (capture end) */
    GW_CAP_PACKET        /* conn 0: a packet skipped as malformed; text says why */
};

typedef struct gw_cap_event {
    enum gw_cap_kind kind;
    unsigned conn;              /* 1, 2, ... in the order conversations are found */
    enum gw_cap_dir dir;
    int64_t t_us;               /* capture time of the packet that completed it */
    uint64_t offset;            /* stream offset in that direction */
    uint64_t length;
    proto_frame_t frame;        /* GW_CAP_MSG; valid during the callback */
    const proto_client_hello_t *hello;
    int version;
    const char *text;
} gw_cap_event_t;

typedef void (*gw_cap_cb)(const gw_cap_event_t *ev, void *data);

typedef struct gw_cap_config {
    uint16_t ports[GW_CAP_PORTS_MAX]; /* server ports; nports 0 takes the defaults */
    size_t nports;
    size_t ooo_max;                   /* per-direction reorder buffer, 0: default */
} gw_cap_config_t;

/* 4001, 4002, 7496, 7497. */
void gw_cap_config_defaults(gw_cap_config_t *cfg);

/* Per conversation, for the summary. */
typedef struct gw_cap_conn_info {
    unsigned conn;
    char client[64], server[64];  /* "127.0.0.1:50312", "[::1]:4002" */
    const char *found_by;         /* "port" or "greeting" */
    int hello_min, hello_max;     /* 0 when the greeting was not captured */
    int version;                  /* from the server hello, 0 if not captured */
    uint64_t msgs[2], bytes[2], gaps[2], gap_bytes[2], skipped[2], errors[2];
    const char *end[2];           /* "fin", "rst" or "open" */
    int64_t t_first_us, t_last_us;
} gw_cap_conn_info_t;

typedef struct gw_cap_stats {
    gw_pcap_stats_t packets;  /* filled by gw_cap_read_file */
    uint64_t flows;           /* TCP flows seen */
    uint64_t ignored;         /* of which not TWS */
} gw_cap_stats_t;

typedef struct gw_cap gw_cap_t;

/* cfg is copied. NULL when out of memory. */
gw_cap_t *gw_cap_new(const gw_cap_config_t *cfg, gw_cap_cb cb, void *data);
void gw_cap_free(gw_cap_t *c);

/* One TCP segment (from gw_pcap_next or built by hand). 0 or
 * GW_REASM_ERR_NOMEM. */
int gw_cap_packet(gw_cap_t *c, const gw_pcap_pkt_t *pkt);
/* End of input: flushes every flow (waiting segments behind gaps, partial
 * frames reported), and emits GW_CAP_CLOSE for directions still open. */
void gw_cap_finish(gw_cap_t *c);

/* Reads a whole file through gw_cap_packet and gw_cap_finish (also after a
 * truncated file, so what was read is reported). 0, or the gw_pcap error of
 * the open or of the truncated record, with "packet N at byte offset X" in
 * err. */
int gw_cap_read_file(gw_cap_t *c, const char *path, char *err, size_t errlen);
/* The same for a reader already open (gw_pcap_fopen); p stays the caller's. */
int gw_cap_read(gw_cap_t *c, gw_pcap_t *p, char *err, size_t errlen);

const gw_cap_stats_t *gw_cap_stats(const gw_cap_t *c);
/* Conversations in the order found; valid until gw_cap_free. */
const gw_cap_conn_info_t *gw_cap_conn(const gw_cap_t *c, size_t i);
size_t gw_cap_nconns(const gw_cap_t *c);

#endif
