/* trace.h - the trace recorder: an io_trace_sink that keeps every event of a
 * run in memory, compactly (every distinct string once, events as ids and
 * integers), for the checks, and renders the JSON lines only when asked
 * (--trace, the excerpts of a failure report).
 *
 * The run's hash is a pure function of the event sequence: 64-bit FNV-1a
 * over 64-bit words instead of bytes. Each event is hashed as the words
 * (time in microseconds, h(src), h(ev), field count, then per field h(key)
 * and either 1, h(text) or 0, the integer), where h is the FNV-1a 64 of a
 * string's bytes; the event's hash is folded into the run's. Two runs are
 * the same run exactly when their hashes match (up to hash collisions). */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"

typedef struct tr_recorder tr_recorder_t;

/* One recorded event as the checks read it: a view into the recorder,
 * valid while the recorder lives. Read fields with tr_field_text. */
typedef struct tr_event {
    io_us_t wall_us;
    const char *src;
    const char *ev;
    size_t nfields;
    const tr_recorder_t *rec;
    size_t first_field; /* the recorder's index of the event's first field */
} tr_event_t;

/* NULL when out of memory. */
tr_recorder_t *tr_new(void);
/* NULL is a no-op. */
void tr_free(tr_recorder_t *rec);

/* The io_trace_sink; data is the recorder. It copies everything it is given.
 * An allocation failure marks the recorder as incomplete (tr_ok). */
void tr_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields);

/* 1 while every event so far was recorded, 0 after an allocation failure. */
int tr_ok(const tr_recorder_t *rec);

size_t tr_count(const tr_recorder_t *rec);
/* The i-th event, i < tr_count. */
tr_event_t tr_event(const tr_recorder_t *rec, size_t i);
io_us_t tr_wall(const tr_recorder_t *rec, size_t i);

/* Kinds: every distinct (src, ev) pair gets a small number, in order of
 * first appearance, so that a pass over a long trace can classify each
 * kind once and then each event by one table lookup. */
size_t tr_nkinds(const tr_recorder_t *rec);
/* The kind of event i, below tr_nkinds. */
uint32_t tr_kind(const tr_recorder_t *rec, size_t i);
/* The kinds of all tr_count events, for a pass over them all (NULL while
 * there are none); valid until the next event is recorded. */
const uint32_t *tr_kinds(const tr_recorder_t *rec);
const char *tr_kind_src(const tr_recorder_t *rec, uint32_t kind);
const char *tr_kind_ev(const tr_recorder_t *rec, uint32_t kind);

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

#endif
