/* tracepipe.h - the trace pipe: an io_trace_sink that hands a run's events
 * to the recorder (trace.h) on a second thread.
 *
 * Recording an event (interning its strings, hashing, storing) costs a few
 * hundred instructions, and a simulated year emits over a million of them.
 * Through the pipe the run's thread only copies each event into a block;
 * the pipe's thread feeds the blocks to the recorder in order, so the
 * recorder ends exactly as tr_sink would have left it: same events, same
 * hash, whatever the threads' timing. */
#ifndef SIM_TRACEPIPE_H
#define SIM_TRACEPIPE_H

#include <stddef.h>

#include "../io/io.h"
#include "trace.h"

typedef struct tp_pipe tp_pipe_t;

/* Starts the thread that feeds rec. 0, or IO_ERR_NOMEM / IO_ERR_SYS with
 * the reason in err; then use tr_sink directly. */
int tp_start(tr_recorder_t *rec, tp_pipe_t **out, char *err, size_t errlen);

/* The io_trace_sink; data is the pipe. It copies the IO_TS values (io.h:
 * they may live in a buffer the caller reuses) and passes every other
 * string by address. Blocks while the recorder is TP_BLOCKS_MAX blocks
 * behind, so memory stays bounded. Finish the pipe before freeing the
 * loop: the events it still holds may point into the loop
 * (io_trace_named's names). */
void tp_sink(void *data, io_us_t wall_us, const char *src, const char *ev, size_t nfields,
             const io_trace_field_t *fields);

/* Makes the pipe loop's trace sink, giving the loop room (io_base.h) to
 * write most events into the pipe itself, without a call each. A pipe
 * has one room: attached to a second loop, it takes the room from the
 * first (whose events then reach it as calls). Detach it with
 * io_set_trace_sink(loop, ...). */
void tp_attach(tp_pipe_t *pipe, io_loop_t *loop);

/* Hands over the last events, waits until the recorder has them all, ends
 * the thread and frees the pipe; the recorder is then the caller's alone.
 * An event the pipe could not hold (out of memory) marks the recorder
 * incomplete (tr_ok). NULL is a no-op. */
void tp_finish(tp_pipe_t *pipe);

#endif
