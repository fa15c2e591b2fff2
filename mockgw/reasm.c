/* reasm.c - one direction's TCP reassembly (see reasm.h for the contract).
 *
 * Sequence numbers wrap at 2^32, so they are only ever compared through
 * their signed 32-bit difference; stream offsets are 64-bit and count from
 * the first byte of the stream, so they do not wrap. In-order segments are
 * delivered straight from the caller's buffer; only segments ahead of a hole
 * are copied. The waiting list is sorted and usually grows at its tail, so
 * inserting is cheap in the common reordering of adjacent segments. */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include "pcap.h"

struct gw_reasm_seg {
    gw_reasm_seg_t *next;
    uint32_t seq;
    uint32_t len;      /* captured bytes in data */
    uint32_t wire_len; /* sequence space the payload covers */
    int64_t t_us;
    uint8_t data[];
};

static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

void gw_reasm_init(gw_reasm_t *r, size_t ooo_max, const gw_reasm_ops_t *ops, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->ooo_max = ooo_max ? ooo_max : GW_REASM_OOO_MAX;
    r->ops = ops;
    r->ctx = ctx;
}

static void reasm_drop_waiting(gw_reasm_t *r)
{
    while (r->ooo) {
        gw_reasm_seg_t *s = r->ooo;
        r->ooo = s->next;
        free(s);
    }
    r->ooo_tail = NULL;
    r->ooo_bytes = 0;
}

void gw_reasm_free(gw_reasm_t *r)
{
    reasm_drop_waiting(r);
}

static void reasm_gap(gw_reasm_t *r, uint32_t len, int64_t t_us)
{
    r->ops->gap(r->ctx, r->next_off, len, t_us);
    r->stats.gaps++;
    r->stats.gap_bytes += len;
    r->next_seq += len;
    r->next_off += len;
}

/* A segment that starts at or before next_seq: the part already delivered
 * is trimmed, the new captured part delivered, and a tail the snaplen cut
 * off becomes a gap at once, since no later packet can bring it. */
static void reasm_deliver(gw_reasm_t *r, uint32_t seq, const uint8_t *data, uint32_t len,
                          uint32_t wire_len, int64_t t_us)
{
    uint32_t done = (uint32_t)seq_diff(r->next_seq, seq);
    if (done >= wire_len) {
        r->stats.retrans += len;
        return;
    }
    if (done < len) {
        uint32_t n = len - done;
        r->stats.retrans += done;
        r->ops->data(r->ctx, r->next_off, data + done, n, t_us);
        r->stats.bytes += n;
        r->next_seq += n;
        r->next_off += n;
        done = len;
    } else {
        r->stats.retrans += len;
    }
    if (wire_len > done)
        reasm_gap(r, wire_len - done, t_us);
}

static void reasm_check_fin(gw_reasm_t *r)
{
    if (r->fin_seen && seq_diff(r->next_seq, r->fin_seq) >= 0 && r->state == GW_REASM_OPEN) {
        r->state = GW_REASM_FIN;
        reasm_drop_waiting(r); /* nothing after a FIN is stream data */
    }
}

/* Delivers the waiting segments the stream has reached. */
static void reasm_drain(gw_reasm_t *r)
{
    while (r->ooo && seq_diff(r->ooo->seq, r->next_seq) <= 0) {
        gw_reasm_seg_t *s = r->ooo;
        r->ooo = s->next;
        if (!r->ooo)
            r->ooo_tail = NULL;
        r->ooo_bytes -= sizeof *s + s->len;
        reasm_deliver(r, s->seq, s->data, s->len, s->wire_len, s->t_us);
        free(s);
    }
    reasm_check_fin(r);
}

/* Gives up on the hole before the first waiting segment. */
static void reasm_skip_hole(gw_reasm_t *r)
{
    reasm_gap(r, (uint32_t)seq_diff(r->ooo->seq, r->next_seq), r->ooo->t_us);
    reasm_drain(r);
}

static int reasm_hold(gw_reasm_t *r, uint32_t seq, const gw_reasm_in_t *in)
{
    gw_reasm_seg_t *s = malloc(sizeof *s + in->len);
    if (!s)
        return GW_REASM_ERR_NOMEM;
    s->seq = seq;
    s->len = in->len;
    s->wire_len = in->wire_len;
    s->t_us = in->t_us;
    if (in->len > 0)
        memcpy(s->data, in->data, in->len);
    r->stats.reordered++;
    r->ooo_bytes += sizeof *s + in->len;
    /* After equal sequence numbers, so that the first copy captured wins. */
    if (!r->ooo_tail || seq_diff(seq, r->ooo_tail->seq) >= 0) {
        s->next = NULL;
        if (r->ooo_tail)
            r->ooo_tail->next = s;
        else
            r->ooo = s;
        r->ooo_tail = s;
    } else {
        gw_reasm_seg_t **at = &r->ooo;
        while (seq_diff((*at)->seq, seq) <= 0)
            at = &(*at)->next;
        s->next = *at;
        *at = s;
    }
    while (r->ooo && r->ooo_bytes > r->ooo_max)
        reasm_skip_hole(r);
    return 0;
}

int gw_reasm_segment(gw_reasm_t *r, const gw_reasm_in_t *in)
{
    int syn = (in->flags & GW_TCP_SYN) != 0;
    uint32_t seq = in->seq + (syn ? 1u : 0u); /* the SYN occupies one number */
    if (r->state == GW_REASM_FIN || r->state == GW_REASM_RST)
        return 0;
    if (r->state == GW_REASM_NEW) {
        r->next_seq = seq;
        r->midstream = !syn;
        r->state = GW_REASM_OPEN;
    }
    if ((in->flags & GW_TCP_FIN) && !r->fin_seen) {
        r->fin_seen = 1;
        r->fin_seq = seq + in->wire_len;
    }
    int rc = 0;
    if (in->wire_len > 0) {
        r->stats.segments++;
        if (seq_diff(seq, r->next_seq) <= 0) {
            reasm_deliver(r, seq, in->data, in->len, in->wire_len, in->t_us);
            reasm_drain(r);
        } else {
            rc = reasm_hold(r, seq, in);
        }
    }
    reasm_check_fin(r);
    return rc;
}

void gw_reasm_flush(gw_reasm_t *r, int64_t t_us)
{
    if (r->state != GW_REASM_OPEN)
        return;
    while (r->ooo)
        reasm_skip_hole(r);
    /* A FIN behind a hole that no segment after it reveals. */
    if (r->fin_seen && seq_diff(r->fin_seq, r->next_seq) > 0)
        reasm_gap(r, (uint32_t)seq_diff(r->fin_seq, r->next_seq), t_us);
    reasm_check_fin(r);
}

void gw_reasm_reset(gw_reasm_t *r, int64_t t_us)
{
    gw_reasm_flush(r, t_us);
    if (r->state == GW_REASM_OPEN || r->state == GW_REASM_NEW)
        r->state = GW_REASM_RST;
}
