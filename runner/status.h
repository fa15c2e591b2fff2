/* status.h - what the dashboard shows: the connection state and the phase
 * of the loop, the label they make together (the labels of the
 * persistent-connection plan), and the counters behind them. The runner
 * changes the model and calls st_commit: a label change is traced
 * (`status {label, connection, phase}`) and logged, a change of connection
 * or phase goes into a bounded timeline, and any change is written to the
 * status file, atomically (temp file, fsync, rename), so a dashboard never
 * reads half a file, and handed to the observer (the binary's HTTP endpoint
 * and systemd notifications) as a snapshot of plain data.
 *
 * The renderers are pure functions of a snapshot and a time: the status
 * JSON, the Prometheus metrics text and the operator's HTML page. */
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

#define ST_CODES_MAX 32

typedef struct st_codes {
    struct {
        int32_t code;
        uint32_t count;
    } at[ST_CODES_MAX];
    size_t n;       /* distinct codes counted in at[] */
    uint32_t other; /* codes seen once at[] was full */
    uint64_t total; /* every code counted, in at[] or other */
} st_codes_t;

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
    uint32_t pings_ok;         /* health checks answered in time */
    uint32_t pings_failed;     /* health checks that timed out */
    st_codes_t errors;         /* errMsg codes the Gateway sent */
} st_model_t;

/* Counts one errMsg code: the first ST_CODES_MAX distinct codes each get a
 * counter, later ones count as "other" (a Gateway cannot grow the map).
 * The counts in the table change only here: st_commit tells a moved table
 * by its total, its n and other. */
void st_count_error(st_model_t *m, int32_t code);

/* Healthy: the session is up and its health checks pass (connected, or
 * degraded: the Gateway lost IB but answers), or a per-cycle runner waits
 * between cycles without a session on purpose. The systemd watchdog is fed
 * only while this holds. */
int st_healthy(const st_model_t *m);

/* One change of connection state or phase. */
typedef struct st_change {
    io_us_t wall_us;
    enum st_conn conn;
    enum st_phase phase;
} st_change_t;

#define ST_TIMELINE_MAX 16

/* The last ST_TIMELINE_MAX changes, a ring: older ones fall out. */
typedef struct st_timeline {
    st_change_t ring[ST_TIMELINE_MAX];
    size_t next;  /* where the next change goes */
    size_t count; /* how many the ring holds */
} st_timeline_t;

void st_timeline_push(st_timeline_t *t, const st_change_t *c);
/* The i-th change held, 0 = the oldest; NULL past the end. */
const st_change_t *st_timeline_at(const st_timeline_t *t, size_t i);

/* What an observer gets: the published model and its timeline. */
typedef struct st_snapshot {
    st_model_t model;
    st_timeline_t timeline;
} st_snapshot_t;

/* Each renderer writes into buf and returns the length it needs, like
 * snprintf (the text is cut short, NUL-terminated, when cap is too small).
 * now_wall_us dates the text and gives the uptimes. */
/* The status JSON with the timeline ("timeline": oldest first). */
size_t st_render_status(const st_snapshot_t *s, io_us_t now_wall_us, char *buf, size_t cap);
/* Prometheus text exposition format 0.0.4: ibgw_runner_connection_state,
 * _phase, _reconnects_total, _cycles_total, _health_checks_total,
 * _ping_rtt_seconds, _uptime_seconds, _connected_seconds, _errors_total. */
size_t st_render_metrics(const st_snapshot_t *s, io_us_t now_wall_us, char *buf, size_t cap);
/* A self-contained HTML page: the label, connection, phase and timeline as
 * of now, and a script that refreshes them from /status every second (and
 * keeps the document title equal to the label). */
size_t st_render_page(const st_snapshot_t *s, io_us_t now_wall_us, char *buf, size_t cap);

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

/* Called with the model as it stands right away (st_observe publishes
 * it) and after every change st_commit publishes; label_changed says
 * whether the label moved. Runs on the loop, inside st_commit: it must not
 * call back into the runner. cb NULL stops observing. */
typedef void (*st_observer_cb)(void *data, const st_snapshot_t *snap, int label_changed);
void st_observe(st_t *s, st_observer_cb cb, void *data);

#endif
