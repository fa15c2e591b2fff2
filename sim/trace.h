/* trace.h - the trace recorder: an io_trace_sink that keeps every event of a
 * run in memory, compactly (every distinct string once, events as ids and
 * 32-bit words), for the checks, and renders the JSON lines only when asked
 * (--trace, the excerpts of a failure report).
 *
 * The run's hash is a pure function of the event sequence: 64-bit FNV-1a
 * over 64-bit words instead of bytes. Each event is hashed as the words
 * (time in microseconds, h(src), h(ev), field count, then per field h(key)
 * and either 1, h(text) or 0, the integer), where h is the FNV-1a 64 of a
 * string's bytes; the event's hash is folded into the run's. Two runs are
 * the same run exactly when their hashes match (up to hash collisions).
 * The hash is over string contents: where a string was does not matter. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"

typedef struct tr_recorder tr_recorder_t;

/* One recorded event as the checks read it: a view into the recorder,
 * valid while the recorder lives and records nothing more. Read fields
 * with tr_field_text. */
typedef struct tr_event {
    io_us_t wall_us;
    const char *src;
    const char *ev;
    size_t nfields;
    const tr_recorder_t *rec;
    uint32_t kind;
    const uint32_t *vals; /* the recorder's words for the event's fields */
} tr_event_t;

/* NULL when out of memory. */
tr_recorder_t *tr_new(void);
/* NULL is a no-op. */
void tr_free(tr_recorder_t *rec);

/* The io_trace_sink; data is the recorder. One recorder serves one loop:
 * it relies on io.h's promise that src, ev, field keys and IO_TK values
 * stay put while the loop lives and knows those by address; IO_TS values
 * are compared by content (a caller may build them in a reused buffer). It
 * copies every text it keeps. An allocation failure marks the recorder as
 * incomplete (tr_ok). */
void tr_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields);

/* tr_sink for an event whose IO_TS values the caller copied (the trace
 * pipe, tracepipe.h): str_at[i] is where string field i's text was when
 * emitted (NULL: every text is where it was emitted), which the recorder's
 * caches key by; fields[i].str is the text. */
void tr_record(tr_recorder_t *rec, io_us_t wall_us, const char *src, const char *ev,
               size_t nfields, const io_trace_field_t *fields, const char *const *str_at);
/* tr_record for a record the loop kept (io_base.h: every string value an
 * IO_TK one), read where it is: the trace pipe's way for most events. */
struct io_trace_rec;
void tr_record_kept(tr_recorder_t *rec, const struct io_trace_rec *r);
/* Calls observer(data) on the recording thread after every few thousand
 * events recorded (while tr_ok), so that a pass over the trace can keep up
 * with it instead of walking it all once the run is over; NULL stops it. */
void tr_observe(tr_recorder_t *rec, void (*observer)(void *data), void *data);
/* Marks the recorder incomplete: an event was lost before reaching it. */
void tr_lost(tr_recorder_t *rec);

/* 1 while every event so far was recorded, 0 after an allocation failure. */
int tr_ok(const tr_recorder_t *rec);

size_t tr_count(const tr_recorder_t *rec);

/* Kinds: every distinct shape of event (src, ev, and the keys and types of
 * its fields) gets a small number, in order of first appearance, so that a
 * pass over a long trace can classify each kind once and then each event
 * by one table lookup. */
size_t tr_nkinds(const tr_recorder_t *rec);
const char *tr_kind_src(const tr_recorder_t *rec, uint32_t kind);
const char *tr_kind_ev(const tr_recorder_t *rec, uint32_t kind);
/* How many events of the kind were recorded. */
size_t tr_kind_count(const tr_recorder_t *rec, uint32_t kind);

/* A forward walk over the events, a few loads a step. Valid until the next
 * event is recorded. The fields below `kind` are the walk's own. */
typedef struct tr_cursor {
    size_t i;          /* the event it stands at; tr_count when past the last */
    io_us_t wall_us;   /* event i's time */
    uint32_t kind;     /* event i's kind */
    const tr_recorder_t *rec;
    size_t n;          /* tr_count */
    const uint32_t *at;  /* event i's words */
    const uint32_t *end; /* the end of the block of words at is in */
    size_t block;
    size_t size;         /* event i's words */
    const uint32_t *width; /* per kind: the words of its fields */
} tr_cursor_t;

/* A cursor at event i (i <= tr_count); costs a walk from the last
 * checkpoint (one every few dozen events). */
tr_cursor_t tr_cursor(const tr_recorder_t *rec, size_t i);
/* Steps to the next event: 1, or 0 when past the last. */
static inline int tr_next(tr_cursor_t *c);
/* The event the cursor stands at (c->i < tr_count). */
tr_event_t tr_cursor_event(const tr_cursor_t *c);

/* Random access, through tr_cursor: for a pass, walk a cursor instead. */
tr_event_t tr_event(const tr_recorder_t *rec, size_t i);

/* Event i as one io_trace_format_json object (no newline), into buf like
 * snprintf: returns the full length, and the text is cut when >= cap. */
size_t tr_format(const tr_recorder_t *rec, size_t i, char *buf, size_t cap);
/* The JSON-lines text, one tr_format object and '\n' per event, in a
 * malloc'd NUL-terminated buffer the caller frees; NULL when out of
 * memory. */
char *tr_jsonl(const tr_recorder_t *rec, size_t *len);

/* The run's hash (see the top of this file). */
uint64_t tr_hash(const tr_recorder_t *rec);
/* FNV-1a 64 of any bytes. */
uint64_t tr_fnv1a(const void *data, size_t len);
/* Continues an FNV-1a hash h over more bytes (reports hash a list of
 * hashes). */
uint64_t tr_fnv1a_fold(uint64_t h, const void *data, size_t len);

/* The value of field key as text (an integer is written into buf), or NULL
 * when the event has no such field. */
const char *tr_field_text(const tr_event_t *e, const char *key, char buf[24]);

/* Writes the JSON lines to path.tmp and renames it to path, so a failure
 * never leaves a half-written file under path. 0 or IO_ERR_SYS with the
 * reason in err. */
int tr_write(const tr_recorder_t *rec, const char *path, char *err, size_t errlen);

/* ---- the walk's step, inline for the passes over a year of trace ------- */

/* An event's words: its kind, its time as the microseconds since the
 * event before (or TR_FAR and the time itself in two words, low first,
 * when that does not fit), then one word per field. */
#define TR_FAR UINT32_MAX

/* Moves c onto the words at c->at (the next block's when at its end). */
void tr_cursor_enter_block(tr_cursor_t *c);

static inline void tr_cursor_decode(tr_cursor_t *c)
{
    if (c->at == c->end)
        tr_cursor_enter_block(c);
    const uint32_t *w = c->at;
    c->kind = w[0];
    if (w[1] != TR_FAR) {
        c->wall_us += w[1];
        c->size = 2 + c->width[c->kind];
    } else {
        c->wall_us = (io_us_t)((uint64_t)w[2] | (uint64_t)w[3] << 32);
        c->size = 4 + c->width[c->kind];
    }
}

static inline int tr_next(tr_cursor_t *c)
{
    if (++c->i >= c->n) {
        c->i = c->n;
        return 0;
    }
    c->at += c->size;
    tr_cursor_decode(c);
    return 1;
}

#endif
