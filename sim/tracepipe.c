/* tracepipe.c - the trace pipe (see tracepipe.h).
 *
 * Events travel in blocks: the run's thread fills one, queues it and takes
 * a spare; the pipe's thread records the queued blocks' events in order and
 * gives the blocks back as spares. One mutex guards the queue and the
 * spares, and a block changes hands whole, so the lock is taken once per
 * few thousand events. The blocks in flight are few and small enough to
 * stay in cache.
 *
 * The free part of the current block is an io_trace_room_t (io_base.h):
 * the pipe's own while no loop holds it, else the loop's, into which
 * io_trace writes most events itself, as io_trace_rec_t records, without
 * calling tp_sink. tp_sink takes the rest: those that need a copy and
 * those that do not fit the block.
 *
 * Two kinds of record share a block. The loop's (io_base.h): an
 * io_trace_rec_t and its fields as io_trace_rec_field_t, 16 bytes each,
 * which the pipe's thread turns back into io_trace_field_t. And the ones
 * tp_sink writes itself (TP_OWN in meta, their size in meta's bits 16 to
 * 47), for events the loop's can not carry (IO_TS values, more than
 * IO_TRACE_REC_FIELDS_MAX fields): the fields as io_trace_field_t and,
 * with IO_TS values (TP_COPIED), the addresses the emitter passed for its
 * string values (the recorder's caches key by them) and copies of the
 * IO_TS texts, which the fields then point at. src, ev, keys and IO_TK
 * values outlive the loop (io.h), so they travel as pointers. A block
 * never moves, so the pointers into it hold until it is reused. */
#include "tracepipe.h"

#include "../io/io_base.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TP_BLOCK_BYTES ((size_t)256 * 1024) /* a handover (a futex wake) per ~3,000 events */
#define TP_BLOCKS_MAX 8 /* standard blocks in flight: 2 MiB */
#define TP_ALIGN 8       /* every record starts on a pointer boundary */
#define TP_OWN ((uint64_t)1 << 63)    /* meta: a record tp_sink wrote itself */
#define TP_COPIED ((uint64_t)1 << 62) /* meta: such a record holds copies */
#define TP_SIZE_SHIFT 16              /* meta: where such a record's size is */
#define TP_SIZE_MAX UINT32_MAX
_Static_assert((TP_OWN | TP_COPIED) == ((TP_OWN | TP_COPIED) & IO_TRACE_REC_SINK_BITS),
               "the pipe's meta bits are the sink's");

typedef struct tp_block {
    struct tp_block *next;
    size_t used, cap; /* used: set when the block is queued */
    alignas(TP_ALIGN) unsigned char data[];
} tp_block_t;

struct tp_pipe {
    tr_recorder_t *rec;
    tp_block_t *cur;       /* being filled; only the run's thread touches it */
    io_trace_room_t *room; /* cur's free part: &own, or a loop's room */
    io_trace_room_t own;
    pthread_mutex_t lock;
    pthread_cond_t queued, freed;
    tp_block_t *head, *tail; /* queued, oldest first */
    tp_block_t *spares;
    size_t nblocks; /* standard blocks allocated, at most TP_BLOCKS_MAX */
    int closing;
    int lost; /* the run's thread dropped an event: no memory for it */
    pthread_t thread;
};

/* ---- the pipe's thread -------------------------------------------------- */

static void tp_record_block(tr_recorder_t *rec, const tp_block_t *b)
{
    for (size_t off = 0; off < b->used;) {
        const io_trace_rec_t *h = (const io_trace_rec_t *)(const void *)(b->data + off);
        size_t nfields = h->meta & IO_TRACE_REC_NFIELDS;
        if (!(h->meta & TP_OWN)) {
            tr_record_kept(rec, h);
            off += sizeof *h + nfields * sizeof(io_trace_rec_field_t);
            continue;
        }
        const io_trace_field_t *fields = (const io_trace_field_t *)(h + 1);
        const char *const *str_at =
            h->meta & TP_COPIED ? (const char *const *)(fields + nfields) : NULL;
        off += (size_t)(h->meta >> TP_SIZE_SHIFT) & TP_SIZE_MAX;
        tr_record(rec, h->wall_us, h->src, h->ev, nfields, fields, str_at);
    }
}

/* Takes queued blocks until the pipe closes and its queue is empty. */
static void *tp_main(void *arg)
{
    tp_pipe_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->closing)
            pthread_cond_wait(&p->queued, &p->lock);
        tp_block_t *b = p->head;
        if (!b)
            break;
        p->head = b->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        tp_record_block(p->rec, b);
        pthread_mutex_lock(&p->lock);
        if (b->cap > TP_BLOCK_BYTES) {
            free(b); /* an outsize block held one big event */
        } else {
            b->next = p->spares;
            p->spares = b;
            pthread_cond_signal(&p->freed);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- the run's thread --------------------------------------------------- */

/* A block of cap bytes, and the slack a room keeps past its end. */
static tp_block_t *tp_block_new(size_t cap)
{
    tp_block_t *b = malloc(sizeof *b + cap + IO_TRACE_ROOM_SLACK);
    if (b)
        *b = (tp_block_t){NULL, 0, cap};
    return b;
}

/* Queues b (under the lock) for the pipe's thread. */
static void tp_queue_locked(tp_pipe_t *p, tp_block_t *b)
{
    b->next = NULL;
    if (p->tail)
        p->tail->next = b;
    else
        p->head = b;
    p->tail = b;
    pthread_cond_signal(&p->queued);
}

/* Makes b current (NULL: none), its room all free. */
static void tp_set_cur(tp_pipe_t *p, tp_block_t *b)
{
    p->cur = b;
    if (!b) {
        io_trace_room_none(p->room);
        return;
    }
    p->room->w = b->data;
    p->room->end = b->data + b->cap;
}

/* Queues the current block and makes one with room for size bytes current:
 * a spare, a new one while under TP_BLOCKS_MAX, else the next one the
 * pipe's thread frees; an outsize one for a single big event. NULL when out
 * of memory. */
static tp_block_t *tp_next_block(tp_pipe_t *p, size_t size)
{
    tp_block_t *b = NULL, *cur = p->cur;
    pthread_mutex_lock(&p->lock);
    if (cur && p->room->w != cur->data) {
        cur->used = (size_t)(p->room->w - cur->data);
        tp_queue_locked(p, cur);
    } else if (cur) { /* empty, so standard: only a big event makes an outsize one */
        cur->next = p->spares;
        p->spares = cur;
    }
    if (size > TP_BLOCK_BYTES) {
        pthread_mutex_unlock(&p->lock);
        b = tp_block_new(size);
        tp_set_cur(p, b);
        return b;
    }
    while (!p->spares && p->nblocks >= TP_BLOCKS_MAX)
        pthread_cond_wait(&p->freed, &p->lock);
    if (p->spares) {
        b = p->spares;
        p->spares = b->next;
    } else if ((b = tp_block_new(TP_BLOCK_BYTES))) {
        p->nblocks++;
    }
    pthread_mutex_unlock(&p->lock);
    tp_set_cur(p, b);
    return b;
}

/* An event the loop's records can not carry, as the pipe's own record:
 * sized for its copies, in a new block if need be. */
static __attribute__((noinline)) void tp_put_slow(tp_pipe_t *p, io_us_t wall_us, const char *src,
                                                  const char *ev, size_t nfields,
                                                  const io_trace_field_t *fields)
{
    size_t texts = 0;
    for (size_t i = 0; i < nfields; i++)
        texts += io_trace_copied(&fields[i]) ? strlen(fields[i].str) + 1 : 0;
    size_t size = sizeof(io_trace_rec_t) + nfields * sizeof *fields;
    if (texts)
        size += nfields * sizeof(char *) + texts;
    size = (size + TP_ALIGN - 1) & ~(size_t)(TP_ALIGN - 1);
    io_trace_room_t *room = p->room;
    if (nfields > IO_TRACE_REC_NFIELDS || size > TP_SIZE_MAX ||
        ((uintptr_t)room->end - (uintptr_t)room->w < size && !tp_next_block(p, size))) {
        p->lost = 1;
        return;
    }
    io_trace_rec_t *h = (io_trace_rec_t *)(void *)room->w;
    io_trace_field_t *out = (io_trace_field_t *)(h + 1);
    uint64_t meta = nfields | TP_OWN | (uint64_t)size << TP_SIZE_SHIFT;
    if (texts)
        meta |= TP_COPIED;
    *h = (io_trace_rec_t){src, wall_us, ev, meta};
    if (nfields) /* IO_TRACE0 passes no array */
        memcpy(out, fields, nfields * sizeof *fields);
    room->w += size;
    if (!texts)
        return;
    const char **str_at = (const char **)(out + nfields);
    char *text = (char *)(str_at + nfields);
    for (size_t i = 0; i < nfields; i++) {
        str_at[i] = fields[i].str;
        if (io_trace_copied(&fields[i])) {
            out[i].str = text;
            text = stpcpy(text, fields[i].str) + 1;
        }
    }
}

void tp_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields)
{
    tp_pipe_t *p = data;
    if (!io_trace_room_put(p->room, wall_us, src, ev, nfields, fields))
        tp_put_slow(p, wall_us, src, ev, nfields, fields);
}

/* A loop takes the room: its io_trace writes there from now on. A pipe
 * holds one room at a time, so a second loop takes it from the first. */
static void tp_room_attach(void *data, io_trace_room_t *room);

/* Moves the room's state from one io_trace_room_t to another: the current
 * block's free part, or none. */
static void tp_move_room(const tp_pipe_t *p, io_trace_room_t *to, const io_trace_room_t *from)
{
    if (!p->cur) {
        io_trace_room_none(to);
        return;
    }
    to->w = from->w;
    to->end = from->end;
}

/* The room comes back to the pipe. */
static void tp_room_detach(void *data, io_trace_room_t *room)
{
    tp_pipe_t *p = data;
    tp_move_room(p, &p->own, room);
    io_trace_room_none(room);
    room->owner = NULL;
    room->ops = NULL;
    p->room = &p->own;
}

static const io_trace_rooms_t tp_rooms = {tp_room_attach, tp_room_detach};

static void tp_room_attach(void *data, io_trace_room_t *room)
{
    tp_pipe_t *p = data;
    if (p->room != &p->own)
        tp_room_detach(p, p->room);
    tp_move_room(p, room, &p->own);
    room->owner = p;
    room->ops = &tp_rooms;
    p->room = room;
}

void tp_attach(tp_pipe_t *pipe, io_loop_t *loop)
{
    io_set_trace_room_sink(loop, tp_sink, pipe, &tp_rooms);
}

int tp_start(tr_recorder_t *rec, tp_pipe_t **out, char *err, size_t errlen)
{
    *out = NULL;
    tp_pipe_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "trace pipe: out of memory");
        return IO_ERR_NOMEM;
    }
    p->rec = rec;
    io_trace_room_none(&p->own);
    p->room = &p->own;
    int rc = pthread_mutex_init(&p->lock, NULL);
    if (rc == 0 && (rc = pthread_cond_init(&p->queued, NULL)) != 0)
        pthread_mutex_destroy(&p->lock);
    if (rc == 0 && (rc = pthread_cond_init(&p->freed, NULL)) != 0) {
        pthread_cond_destroy(&p->queued);
        pthread_mutex_destroy(&p->lock);
    }
    if (rc == 0 && (rc = pthread_create(&p->thread, NULL, tp_main, p)) != 0) {
        pthread_cond_destroy(&p->freed);
        pthread_cond_destroy(&p->queued);
        pthread_mutex_destroy(&p->lock);
    }
    if (rc != 0) {
        snprintf(err, errlen, "trace pipe: cannot start its thread: %s", strerror(rc));
        free(p);
        return IO_ERR_SYS;
    }
    *out = p;
    return 0;
}

void tp_finish(tp_pipe_t *p)
{
    if (!p)
        return;
    if (p->room != &p->own)
        tp_room_detach(p, p->room);
    pthread_mutex_lock(&p->lock);
    if (p->cur && p->own.w != p->cur->data) {
        p->cur->used = (size_t)(p->own.w - p->cur->data);
        tp_queue_locked(p, p->cur);
    } else {
        free(p->cur);
    }
    p->cur = NULL;
    p->closing = 1;
    pthread_cond_signal(&p->queued);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    while (p->spares) {
        tp_block_t *next = p->spares->next;
        free(p->spares);
        p->spares = next;
    }
    if (p->lost)
        tr_lost(p->rec);
    pthread_cond_destroy(&p->freed);
    pthread_cond_destroy(&p->queued);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
