/* trace.h - the trace recorder: an io_trace_sink that keeps every event of a
 * run in memory (for the checks) and its JSON-lines text (for --trace), and
 * hashes those exact bytes with 64-bit FNV-1a, so two runs are the same run
 * exactly when their hashes match. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"

typedef struct tr_field {
    char *key;
    char *str; /* NULL: the field is the integer num */
    int64_t num;
} tr_field_t;

typedef struct tr_event {
    io_us_t wall_us;
    char *src;
    char *ev;
    size_t nfields;
    tr_field_t *fields;
} tr_event_t;

typedef struct tr_recorder tr_recorder_t;

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
/* The i-th event, i < tr_count; owned by the recorder. */
const tr_event_t *tr_event(const tr_recorder_t *rec, size_t i);

/* The JSON-lines text: one io_trace_format_json object and '\n' per event. */
const char *tr_jsonl(const tr_recorder_t *rec, size_t *len);
/* FNV-1a 64 over exactly the bytes tr_jsonl returns. */
uint64_t tr_hash(const tr_recorder_t *rec);
/* FNV-1a 64 of any bytes (the recorder's hash is this over its text). */
uint64_t tr_fnv1a(const void *data, size_t len);
/* Continues an FNV-1a hash h over more bytes (the recorder hashes its text
 * a line at a time; reports hash a list of hashes). */
uint64_t tr_fnv1a_fold(uint64_t h, const void *data, size_t len);

/* The value of field key as text (an integer is written into buf), or NULL
 * when the event has no such field. */
const char *tr_field_text(const tr_event_t *e, const char *key, char buf[24]);

/* Writes the JSON lines to path.tmp and renames it to path, so a failure
 * never leaves a half-written file under path. 0 or IO_ERR_SYS with the
 * reason in err. */
int tr_write(const tr_recorder_t *rec, const char *path, char *err, size_t errlen);

#endif
