/* io.h - the only door between the deterministic cores and the world.
 *
 * The runner core, the mock gateway core, proto/ and the scenario engine get
 * time, timers, TCP streams, signals, randomness, logging and trace events
 * only through these functions. Two implementations define them and the
 * Makefile links exactly one into each binary:
 *
 *   io/io_posix.c  real sockets (poll), CLOCK_REALTIME/MONOTONIC, signals
 *   sim/io_sim.c   a virtual clock, an event heap, an in-memory network
 *
 * Conventions (libuv/anet style):
 *   - functions return 0 or a negative IO_ERR_* code; io_strerror() names it;
 *     where a caller passes `char *err, size_t errlen`, a human-readable
 *     detail (the address, the syscall) is written there. err may be NULL.
 *   - handles (loop, timer, stream, listener) are allocated by io and freed by
 *     their *_free / *_close call; after that call no callback fires for them.
 *   - every callback may free or close any handle, including its own.
 *   - times are int64 microseconds; names carry the unit last (delay_us).
 */
#ifndef IO_H
#define IO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t io_us_t;

#define IO_US_PER_MS ((io_us_t)1000)
#define IO_US_PER_S ((io_us_t)1000000)

enum io_err {
    IO_OK = 0,
    IO_ERR_REFUSED = -1,  /* connect: nobody listens on that port */
    IO_ERR_RESET = -2,    /* the peer aborted the connection (RST) */
    IO_ERR_CLOSED = -3,   /* the stream is closed or closing */
    IO_ERR_NOMEM = -4,
    IO_ERR_ADDR = -5,     /* bad or unresolvable address */
    IO_ERR_INUSE = -6,    /* listen: address already in use */
    IO_ERR_TIMEDOUT = -7,
    IO_ERR_NOBUFS = -8,   /* write: the stream's output buffer limit is hit */
    IO_ERR_INVAL = -9,
    IO_ERR_SYS = -10      /* any other system error; details in err */
};

const char *io_strerror(int code);

typedef struct io_loop io_loop_t;
typedef struct io_timer io_timer_t;
typedef struct io_stream io_stream_t;
typedef struct io_listener io_listener_t;

/* ---- loop ---------------------------------------------------------------
 * The constructors live in io_posix.h / io_sim.h. */

/* Runs callbacks until io_loop_stop() is called or nothing is left to wait
 * for (no active timer, stream, listener or signal watch). Returns 0. */
int io_loop_run(io_loop_t *loop);
/* Makes io_loop_run return after the callback in progress. */
void io_loop_stop(io_loop_t *loop);
/* Frees the loop. Handles still open are closed abortively and freed. */
void io_loop_free(io_loop_t *loop);

/* ---- clocks -------------------------------------------------------------
 * Both are read once per loop pass and cached (curl's TIME-KEEPING lesson):
 * within one callback "now" does not move. */

/* Monotonic time; only differences mean anything. */
io_us_t io_now_us(io_loop_t *loop);
/* Wall clock: microseconds since the Unix epoch, UTC. */
io_us_t io_wall_us(io_loop_t *loop);

/* ---- timers ------------------------------------------------------------
 * One-shot. Equal deadlines fire in the order they were started. */

typedef void (*io_timer_cb)(io_timer_t *timer, void *data);

io_timer_t *io_timer_new(io_loop_t *loop, io_timer_cb cb, void *data);
/* (Re)arms the timer to fire once, delay_us from now (negative = 0). */
void io_timer_start(io_timer_t *timer, io_us_t delay_us);
void io_timer_stop(io_timer_t *timer);
int io_timer_active(const io_timer_t *timer);
void io_timer_free(io_timer_t *timer);

/* ---- streams -----------------------------------------------------------
 * A stream is one TCP connection (TCP_NODELAY always on). Events arrive
 * through one callback. After IO_EV_EOF, IO_EV_RESET or IO_EV_CONNECT_FAILED
 * no more data arrives; the owner still calls io_stream_close() to free it. */

enum io_stream_event_kind {
    IO_EV_CONNECTED,      /* outgoing connect completed */
    IO_EV_CONNECT_FAILED, /* status: IO_ERR_REFUSED, IO_ERR_ADDR, ... */
    IO_EV_DATA,           /* data/len: bytes received, valid during the call */
    IO_EV_EOF,            /* the peer closed gracefully (FIN) */
    IO_EV_RESET           /* the peer aborted (RST) or the connection broke */
};

typedef struct io_stream_event {
    enum io_stream_event_kind kind;
    const uint8_t *data;
    size_t len;
    int status;
} io_stream_event_t;

typedef void (*io_stream_cb)(io_stream_t *stream, const io_stream_event_t *ev, void *data);

/* Starts an outgoing connect. *out is set at once; IO_EV_CONNECTED or
 * IO_EV_CONNECT_FAILED follows from the loop, never from inside this call.
 * Returns <0 only when no stream could be made at all (bad host text). */
int io_connect(io_loop_t *loop, const char *host, uint16_t port, io_stream_cb cb, void *data,
               io_stream_t **out, char *err, size_t errlen);

/* Sets the event callback (used on accepted streams). */
void io_stream_set_cb(io_stream_t *stream, io_stream_cb cb, void *data);

/* Queues bytes for sending; never blocks. 0, IO_ERR_CLOSED after EOF/RST or
 * close, IO_ERR_NOBUFS past the buffer limit (IO_STREAM_BUFFER_MAX). */
#define IO_STREAM_BUFFER_MAX ((size_t)64 * 1024 * 1024)
int io_stream_write(io_stream_t *stream, const void *data, size_t len);

/* Bytes queued and not yet handed to the network. */
size_t io_stream_pending(const io_stream_t *stream);

enum io_close_how {
    IO_CLOSE_FIN, /* flush what is queued, then an orderly shutdown */
    IO_CLOSE_RST  /* drop what is queued, abortive close (SO_LINGER 0) */
};

/* Closes and frees the stream; no callback fires for it afterwards. */
void io_stream_close(io_stream_t *stream, enum io_close_how how);

/* A number unique within the loop's life, for logs and traces. */
uint64_t io_stream_id(const io_stream_t *stream);

/* ---- listeners --------------------------------------------------------- */

/* The new stream has no callback yet: set one with io_stream_set_cb() before
 * returning, or close it. */
typedef void (*io_accept_cb)(io_listener_t *listener, io_stream_t *stream, void *data);

/* Listens on host:port (port 0 picks a free one, see io_listener_port). */
int io_listen(io_loop_t *loop, const char *host, uint16_t port, io_accept_cb cb, void *data,
              io_listener_t **out, char *err, size_t errlen);
uint16_t io_listener_port(const io_listener_t *listener);
/* Stops accepting; streams already accepted stay open. */
void io_listener_close(io_listener_t *listener);

/* ---- signals ----------------------------------------------------------- */

enum io_signal { IO_SIGINT = 2, IO_SIGTERM = 15 };

typedef void (*io_signal_cb)(io_loop_t *loop, enum io_signal sig, void *data);

/* Delivers SIGINT and SIGTERM to cb from the loop (not from a handler).
 * One watcher per loop; cb NULL removes it. A signal watch alone does not
 * keep io_loop_run going. */
int io_signal_watch(io_loop_t *loop, io_signal_cb cb, void *data);

/* ---- randomness --------------------------------------------------------
 * xoshiro256** seeded with splitmix64 from the loop's seed. */

uint64_t io_random_u64(io_loop_t *loop);
/* Uniform in [0, 1). */
double io_random_unit(io_loop_t *loop);
/* Uniform in [lo, hi]; hi >= lo. */
int64_t io_random_range(io_loop_t *loop, int64_t lo, int64_t hi);

/* ---- logging ----------------------------------------------------------- */

enum io_log_level { IO_LOG_DEBUG, IO_LOG_INFO, IO_LOG_WARN, IO_LOG_ERROR };

typedef void (*io_log_sink)(void *data, io_us_t wall_us, enum io_log_level level,
                            const char *src, const char *text);

/* Formats the line and hands it to the sink with the loop's wall time.
 * Lines below the loop's level are dropped before formatting. */
void io_log(io_loop_t *loop, enum io_log_level level, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void io_set_log_sink(io_loop_t *loop, enum io_log_level min_level, io_log_sink sink, void *data);

/* ---- trace events ------------------------------------------------------
 * Structured events the scenario checks read: `ev` is the kind
 * ("connect", "disconnect", "fault:kill"), fields are the details in the
 * order given. Build fields with IO_TS or IO_TK (string) and IO_TI
 * (integer).
 *
 * Lifetimes: `src`, `ev` and every field `key` must stay valid and
 * unchanged while the loop lives (string literals, or text of a config
 * that outlives the loop): a sink may know them by address (the
 * simulator's recorder does, a million events a year). A name built at run
 * time ("error:2104") goes through io_trace_named, which keeps one copy of
 * each distinct name for the loop's life. An IO_TS value may live in a
 * buffer the caller reuses, so a sink that keeps it copies it during the
 * call; an IO_TK value makes the same promise as a key, so a sink may keep
 * its address instead. */

typedef struct io_trace_field {
    const char *key;
    const char *str; /* NULL: the field is the integer num */
    int64_t num;
} io_trace_field_t;

#define IO_TS(k, v) ((io_trace_field_t){(k), (v), 0})
#define IO_TK(k, v) ((io_trace_field_t){(k), (v), IO_TRACE_KEPT})
#define IO_TI(k, v) ((io_trace_field_t){(k), NULL, (int64_t)(v)})
/* num of a string field: its text outlives the loop (IO_TK). */
#define IO_TRACE_KEPT 1

typedef void (*io_trace_sink)(void *data, io_us_t wall_us, const char *src, const char *ev,
                              size_t nfields, const io_trace_field_t *fields);

void io_trace(io_loop_t *loop, const char *src, const char *ev, size_t nfields,
              const io_trace_field_t *fields);
/* io_trace for an event name built at run time, which may live in a
 * reused buffer: the sink gets the loop's own copy of it (one per distinct
 * name, freed with the loop). Nothing is copied while no sink is set. */
void io_trace_named(io_loop_t *loop, const char *src, const char *ev, size_t nfields,
                    const io_trace_field_t *fields);
void io_set_trace_sink(io_loop_t *loop, io_trace_sink sink, void *data);

/* IO_TRACE(loop, "runner", "disconnect", IO_TS("by", "client"), IO_TS("how", "fin")) */
#define IO_TRACE(loop, src, ev, ...)                                                        \
    io_trace((loop), (src), (ev),                                                           \
             sizeof((io_trace_field_t[]){__VA_ARGS__}) / sizeof(io_trace_field_t),          \
             (io_trace_field_t[]){__VA_ARGS__})
#define IO_TRACE0(loop, src, ev) io_trace((loop), (src), (ev), 0, NULL)
/* IO_TRACE for a built event name (io_trace_named). */
#define IO_TRACE_NAMED(loop, src, ev, ...)                                                  \
    io_trace_named((loop), (src), (ev),                                                     \
                   sizeof((io_trace_field_t[]){__VA_ARGS__}) / sizeof(io_trace_field_t),    \
                   (io_trace_field_t[]){__VA_ARGS__})

/* ---- accounting (for the "nothing left behind" invariant) -------------- */

typedef struct io_stats {
    size_t timers;    /* timers allocated (active or not) */
    size_t streams;   /* streams not yet closed by their owner */
    size_t listeners;
} io_stats_t;

void io_loop_stats(io_loop_t *loop, io_stats_t *out);

#endif
