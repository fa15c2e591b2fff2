/* status.h - what the dashboard shows: the connection state and the phase
 * of the loop, the label they make together (the labels of the
 * persistent-connection plan), and the counters behind them. The runner
 * changes the model and calls st_commit: a label change is traced
 * (`status {label, connection, phase}`) and logged, and any change is
 * written to the status file, atomically (temp file, fsync, rename), so a
 * dashboard never reads half a file. */
#ifndef RUNNER_STATUS_H
#define RUNNER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"

enum st_conn {
    ST_CONNECTING,   /* the first connect (per-cycle mode: each cycle's) */
    ST_CONNECTED,    /* API ready */
    ST_DEGRADED,     /* ready, but the Gateway lost IB's servers (1100) */
    ST_RECONNECTING, /* after a loss: backing off or connecting again */
    ST_DISCONNECTED  /* no session, on purpose */
};

enum st_phase {
    ST_CYCLE,         /* a trading cycle runs */
    ST_WAITING,       /* market open, waiting for the next cycle */
    ST_MARKET_CLOSED, /* waiting for the next open */
    ST_STOPPING,      /* shutdown asked */
    ST_STOPPED
};

typedef struct st_model {
    enum st_conn conn;
    enum st_phase phase;
    int persistent;
    io_us_t started_wall_us;   /* when the runner started */
    io_us_t connected_wall_us; /* when the session got ready; 0 = not ready */
    io_us_t next_cycle_wall_us; /* 0 = none scheduled */
    io_us_t last_rtt_us;       /* the last ping's round trip; < 0 = none yet */
    uint32_t reconnects;
    uint32_t cycles_ok;
    uint32_t cycles_failed;
} st_model_t;

/* "API Connected", "API Connected (Market Closed)", "Waiting for cycle",
 * "Connecting", "Reconnecting", "Degraded (connectivity lost)", "Stopping",
 * "Disconnected". */
const char *st_label(enum st_conn conn, enum st_phase phase);
const char *st_conn_name(enum st_conn conn);   /* "connected", ... */
const char *st_phase_name(enum st_phase phase); /* "waiting for cycle", ... */

/* The model as one JSON object (and a newline) into buf; returns the length
 * it needs, like snprintf. now_wall_us dates it and gives the uptimes. */
size_t st_render_json(const st_model_t *m, io_us_t now_wall_us, char *buf, size_t cap);

/* Replaces path with data: path.tmp is written, fsynced and renamed over
 * path, then the folder is fsynced. 0, or IO_ERR_SYS with the step and
 * errno text in err. */
int st_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen);

typedef struct st st_t;

/* path NULL: no file, only the trace and the log. 0 or IO_ERR_NOMEM. */
int st_new(io_loop_t *loop, const char *path, const st_model_t *initial, st_t **out, char *err,
           size_t errlen);
void st_free(st_t *s);

/* The model to change; st_commit publishes the changes. */
st_model_t *st_model(st_t *s);
void st_commit(st_t *s);

const char *st_current_label(const st_t *s);

#endif
