/* tracepipe.c - the trace pipe (see tracepipe.h).
 *
 * Events travel in blocks: the run's thread fills one, queues it and takes
 * a spare; the pipe's thread records the queued blocks' events in order and
 * gives the blocks back as spares. One mutex guards the queue and the
 * spares, and a block changes hands whole, so the lock is taken once per
 * few hundred events. The blocks in flight are few and small enough to
 * stay in cache.
 *
 * A record: a tp_head; its fields as io_trace_field_t; when it has IO_TS
 * values, the addresses the emitter passed for its string values (the
 * recorder's caches key by them) and copies of the IO_TS texts, which the
 * fields then point at. src,
 * ev, keys and IO_TK values outlive the loop (io.h), so they travel as
 * pointers. A block never moves, so the pointers into it hold until it is
 * reused. */
#include "tracepipe.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TP_BLOCK_BYTES ((size_t)256 * 1024) /* a handover (a futex wake) per ~3,000 events */
#define TP_BLOCKS_MAX 8 /* standard blocks in flight: 2 MiB */
#define TP_ALIGN 8       /* every record starts on a pointer boundary */

typedef struct tp_block {
    struct tp_block *next;
    size_t used, cap;
    alignas(TP_ALIGN) unsigned char data[];
} tp_block_t;

typedef struct tp_head {
    io_us_t wall_us;
    const char *src, *ev;
    uint32_t size;    /* the record's bytes, a multiple of TP_ALIGN */
    uint16_t nfields;
    uint16_t copied;  /* it holds copies and their addresses */
} tp_head_t;

struct tp_pipe {
    tr_recorder_t *rec;
    tp_block_t *cur; /* being filled; only the run's thread touches it */
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
        const tp_head_t *h = (const tp_head_t *)(b->data + off);
        const io_trace_field_t *fields = (const io_trace_field_t *)(h + 1);
        const char *const *str_at = (const char *const *)(fields + h->nfields);
        tr_record(rec, h->wall_us, h->src, h->ev, h->nfields, fields, h->copied ? str_at : NULL);
        off += h->size;
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
            b->used = 0;
            b->next = p->spares;
            p->spares = b;
            pthread_cond_signal(&p->freed);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- the run's thread --------------------------------------------------- */

static tp_block_t *tp_block_new(size_t cap)
{
    tp_block_t *b = malloc(sizeof *b + cap);
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

/* Queues the current block and makes one with room for size bytes current:
 * a spare, a new one while under TP_BLOCKS_MAX, else the next one the
 * pipe's thread frees; an outsize one for a single big event. NULL when out
 * of memory. */
static tp_block_t *tp_next_block(tp_pipe_t *p, size_t size)
{
    tp_block_t *b = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->cur && p->cur->used > 0) {
        tp_queue_locked(p, p->cur);
    } else if (p->cur) { /* empty, so standard: only a big event makes an outsize one */
        p->cur->next = p->spares;
        p->spares = p->cur;
    }
    p->cur = NULL;
    if (size > TP_BLOCK_BYTES) {
        pthread_mutex_unlock(&p->lock);
        return p->cur = tp_block_new(size);
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
    return p->cur = b;
}

/* Whether field f's text must travel as a copy. */
static int tp_copied(const io_trace_field_t *f)
{
    return f->str && f->num != IO_TRACE_KEPT;
}

/* Any record: sized for its copies, in a new block if need be. */
static __attribute__((noinline)) void tp_put_slow(tp_pipe_t *p, io_us_t wall_us, const char *src,
                                                  const char *ev, size_t nfields,
                                                  const io_trace_field_t *fields)
{
    size_t texts = 0;
    for (size_t i = 0; i < nfields; i++)
        texts += tp_copied(&fields[i]) ? strlen(fields[i].str) + 1 : 0;
    size_t size = sizeof(tp_head_t) + nfields * sizeof *fields;
    if (texts)
        size += nfields * sizeof(char *) + texts;
    size = (size + TP_ALIGN - 1) & ~(size_t)(TP_ALIGN - 1);
    tp_block_t *b = p->cur;
    if (nfields > UINT16_MAX || ((!b || b->cap - b->used < size) && !(b = tp_next_block(p, size)))) {
        p->lost = 1;
        return;
    }
    tp_head_t *h = (tp_head_t *)(b->data + b->used);
    io_trace_field_t *out = (io_trace_field_t *)(h + 1);
    *h = (tp_head_t){wall_us, src, ev, (uint32_t)size, (uint16_t)nfields, texts != 0};
    memcpy(out, fields, nfields * sizeof *fields);
    b->used += size;
    if (!texts)
        return;
    const char **str_at = (const char **)(out + nfields);
    char *text = (char *)(str_at + nfields);
    for (size_t i = 0; i < nfields; i++) {
        str_at[i] = fields[i].str;
        if (tp_copied(&fields[i])) {
            size_t n = strlen(fields[i].str) + 1;
            out[i].str = memcpy(text, fields[i].str, n);
            text += n;
        }
    }
}

void tp_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields)
{
    /* Most events copy nothing and fit the current block: fields as given. */
    tp_pipe_t *p = data;
    size_t size = sizeof(tp_head_t) + nfields * sizeof *fields;
    tp_block_t *b = p->cur;
    if (!b || b->cap - b->used < size || nfields > UINT16_MAX)
        goto slow;
    tp_head_t *h = (tp_head_t *)(b->data + b->used);
    io_trace_field_t *out = (io_trace_field_t *)(h + 1);
    for (size_t i = 0; i < nfields; i++) {
        if (tp_copied(&fields[i]))
            goto slow;
        out[i] = fields[i];
    }
    *h = (tp_head_t){wall_us, src, ev, (uint32_t)size, (uint16_t)nfields, 0};
    b->used += size;
    return;
slow:
    tp_put_slow(p, wall_us, src, ev, nfields, fields);
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
    pthread_mutex_lock(&p->lock);
    if (p->cur && p->cur->used > 0)
        tp_queue_locked(p, p->cur);
    else
        free(p->cur);
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
