/* reasm.h - TCP reassembly of one direction of one flow: turns captured
 * segments (in any order, repeated, overlapping, some missing) into the byte
 * stream the receiver saw, delivered in order with stream offsets, and into
 * reports of the bytes the capture does not hold (gaps).
 *
 * The stream starts at the SYN's sequence + 1, or at the first segment seen
 * when the capture began mid-flow. Segments ahead of the next expected byte
 * wait in a bounded buffer; when it is full, or the direction is closed or
 * flushed, the hole before the first waiting segment is reported as a gap
 * and skipped. Retransmitted and overlapping bytes are trimmed: the first
 * copy of a byte wins. A FIN closes the direction once every byte before it
 * has been delivered; an RST closes it at once. */
#ifndef MOCKGW_REASM_H
#define MOCKGW_REASM_H

#include <stddef.h>
#include <stdint.h>

enum gw_reasm_err {
    GW_REASM_ERR_NOMEM = -50
};

/* Default bound on out-of-order bytes held per direction. */
#define GW_REASM_OOO_MAX ((size_t)4 << 20)

typedef struct gw_reasm_ops {
    /* In-order bytes at stream offset `offset`, captured at t_us. */
    void (*data)(void *ctx, uint64_t offset, const uint8_t *p, size_t n, int64_t t_us);
    /* `len` bytes at `offset` are missing from the capture. */
    void (*gap)(void *ctx, uint64_t offset, uint64_t len, int64_t t_us);
} gw_reasm_ops_t;

enum gw_reasm_state {
    GW_REASM_NEW,   /* no segment seen yet */
    GW_REASM_OPEN,
    GW_REASM_FIN,   /* closed by FIN: every byte before it delivered */
    GW_REASM_RST    /* closed by RST */
};

typedef struct gw_reasm_seg gw_reasm_seg_t;

typedef struct gw_reasm_stats {
    uint64_t bytes;      /* delivered */
    uint64_t segments;   /* with payload */
    uint64_t retrans;    /* payload bytes dropped as already delivered or held */
    uint64_t reordered;  /* segments that arrived ahead of a hole */
    uint64_t gaps;
    uint64_t gap_bytes;
} gw_reasm_stats_t;

typedef struct gw_reasm {
    enum gw_reasm_state state;
    int midstream;          /* started without a SYN */
    uint32_t next_seq;      /* sequence number of the next byte to deliver */
    uint64_t next_off;      /* its stream offset */
    int fin_seen;
    uint32_t fin_seq;       /* sequence number the FIN occupies */
    gw_reasm_seg_t *ooo;    /* waiting segments, sorted by seq */
    gw_reasm_seg_t *ooo_tail;
    size_t ooo_bytes;
    size_t ooo_max;
    const gw_reasm_ops_t *ops;
    void *ctx;
    gw_reasm_stats_t stats;
} gw_reasm_t;

/* A captured segment: `len` bytes of payload captured out of `wire_len`
 * sent (the snaplen may cut the tail, which becomes a gap). */
typedef struct gw_reasm_in {
    uint32_t seq;
    uint8_t flags;          /* GW_TCP_* from pcap.h */
    const uint8_t *data;
    uint32_t len;
    uint32_t wire_len;
    int64_t t_us;
} gw_reasm_in_t;

/* ooo_max 0 means GW_REASM_OOO_MAX. ops and ctx must outlive r. */
void gw_reasm_init(gw_reasm_t *r, size_t ooo_max, const gw_reasm_ops_t *ops, void *ctx);
/* Frees the waiting segments without delivering them. */
void gw_reasm_free(gw_reasm_t *r);

/* One segment of this direction. 0 or GW_REASM_ERR_NOMEM. Callbacks run
 * from inside; they must not call back into r. Segments after the
 * direction closed are ignored. */
int gw_reasm_segment(gw_reasm_t *r, const gw_reasm_in_t *in);

/* An RST in either direction: what waits is delivered behind gaps, then
 * the direction is closed. */
void gw_reasm_reset(gw_reasm_t *r, int64_t t_us);

/* End of the capture: what waits is delivered behind gaps (and a FIN
 * waiting behind a hole takes effect). */
void gw_reasm_flush(gw_reasm_t *r, int64_t t_us);

#endif
