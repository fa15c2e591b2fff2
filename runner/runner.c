/* runner.c - the runner core (see runner.h): the persistent-connection
 * plan's continuous loop around the trading cycle. It owns one client
 * session and one cycle object; it connects once (setup), runs a cycle every
 * interval during market hours after a health check (run cycle), keeps the
 * socket between cycles (teardown without full cleanup: the cycle cancels
 * its own requests), pings while idle, reconnects with capped exponential
 * backoff and jitter, sits out the Gateway's connectivity loss (1100) until
 * 1101/1102, and on SIGINT/SIGTERM or rn_stop bounds the cycle in progress
 * and disconnects (cleanup). With persistent = 0 it connects per cycle and
 * hangs up after each one, as before the plan.
 *
 * rn_enter() is the one place the runner's state changes; it runs the entry
 * actions of the state entered. The cycle schedule and the market calendar
 * are kept apart from the states: the cycle timer only marks a cycle due,
 * and whichever state can run it does so (rn_try_cycle), so a cycle that
 * comes due while reconnecting runs once the session is back, and several
 * missed ones never pile up.
 *
 * Shutdown drains: the running cycle is aborted (it cancels what is
 * outstanding while the socket is open), an outstanding ping gets its
 * answer or its timeout, then the session closes with FIN (RST with
 * force_disconnect). A second signal meanwhile resets the connection and
 * exits with 130. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/catalog.h"
#include "../proto/field.h"
#include "backoff.h"
#include "calendar.h"
#include "client.h"
#include "cycle.h"
#include "status.h"

#define RN_SRC "runner"
#define RN_EXIT_ABORTED 130 /* 128 + SIGINT, what a shell reports */

enum rn_state {
    RN_IDLE,       /* created, not started */
    RN_CONNECTING, /* the session connects and handshakes */
    RN_WAITING,    /* ready, no cycle running: idle pings */
    RN_CHECKING,   /* ready, a cycle is due: its health check is out */
    RN_CYCLE,      /* ready, a cycle runs */
    RN_DEGRADED,   /* ready, but the Gateway lost IB (1100): no cycle */
    RN_BACKOFF,    /* waiting to reconnect */
    RN_PARKED,     /* per-cycle mode: no session until the next cycle */
    RN_STOPPING,   /* shutdown asked: waiting for the outstanding ping */
    RN_EXITED
};

static const char *const rn_state_names[] = {
    [RN_IDLE] = "idle",         [RN_CONNECTING] = "connecting", [RN_WAITING] = "waiting",
    [RN_CHECKING] = "checking", [RN_CYCLE] = "cycle",           [RN_DEGRADED] = "degraded",
    [RN_BACKOFF] = "backoff",   [RN_PARKED] = "parked",         [RN_STOPPING] = "stopping",
    [RN_EXITED] = "exited",
};

/* The calendar's last answer over wall microseconds: open (or closed) at
 * every wall time in [from_us, until_us), and when closed until_us is the
 * next open. Every health check asks the hours at its now: this answers
 * without dividing now into seconds or calling the calendar's memo.
 * Empty (from_us == until_us) while nothing is known. */
typedef struct rn_hours {
    io_us_t from_us, until_us;
    int open;
} rn_hours_t;

struct rn {
    io_loop_t *loop;
    rn_config_t cfg;
    char *host;               /* cfg.host points here */
    enum rn_state state;
    ibc_t *client;
    cyc_t *cyc;               /* NULL without symbols: no cycles, only the connection */
    st_t *st;
    bo_t backoff;
    io_timer_t *ping_timer;   /* ready: the next idle ping */
    io_timer_t *timer;        /* BACKOFF: the reconnect; STOPPING: finish from the loop */
    io_timer_t *cycle_timer;  /* the next cycle comes due */
    io_timer_t *market_timer; /* the next open or close (status and log only) */
    uint32_t ping_seq;
    uint32_t cycle_n;         /* cycles started */
    int cycle_due;            /* a cycle is due and has not started */
    int aborting;             /* inside cyc_abort: its done is not a completion */
    io_us_t next_cycle_us;    /* wall time the cycle timer is set for */
    int attempt;              /* connects since the start or the last ready */
    int lost;                 /* the last session ended against our will */
    int exit_code;
    int freeing;              /* rn_free in progress: session reports change nothing */
    cal_memo_t cal;           /* the market hours, asked at every health check */
    rn_hours_t hours;         /* cal's last answer in wall microseconds */
};

static void rn_enter(rn_t *rn, enum rn_state next);

/* Sends the next health check, traced as "ping", unless one is out: that
 * one, idle or not, is as good (it is still within its timeout). A write
 * failure reports closed from inside this call. Out of line: the idle
 * timer then saves no registers around its own call for the trace. */
__attribute__((noinline)) static void rn_ping(rn_t *rn)
{
    if (ibc_ping_outstanding(rn->client))
        return;
    uint32_t seq = ++rn->ping_seq;
    IO_TRACE(rn->loop, RN_SRC, "ping", IO_TI("seq", seq));
    ibc_ping(rn->client, seq);
}

void rn_config_defaults(rn_config_t *cfg)
{
    *cfg = (rn_config_t){
        .host = "127.0.0.1",
        .port = 4002,
        .client_id = 1,
        .connect_timeout_us = 10 * IO_US_PER_S,
        /* A silent Gateway is noticed within interval + timeout = 9 s (the
         * plan aims at <= 10 s; ib_insync's Watchdog takes ~24 s). A local
         * Gateway answers reqCurrentTime in milliseconds, and in about a
         * second under a burst of historical data: 4 s is a wide margin.
         * One 10-byte request every 5 s is far below the API's pacing. */
        .ping_interval_us = 5 * IO_US_PER_S,
        .ping_timeout_us = 4 * IO_US_PER_S,
        .reconnect_initial_us = 1 * IO_US_PER_S,
        .reconnect_max_us = 60 * IO_US_PER_S,
        .reconnect_multiplier = 2.0,
        .reconnect_jitter = 0.2,
        .persistent = 1,
        .interval_us = 30 * 60 * IO_US_PER_S,
        .cycle_timeout_us = 5 * 60 * IO_US_PER_S,
        .request_timeout_us = 30 * IO_US_PER_S,
        .closed_ping_interval_us = 5 * 60 * IO_US_PER_S,
    };
}

/* ---- market hours and the cycle schedule -------------------------------- */

static int rn_hours_cover(const rn_hours_t *h, io_us_t wall_us)
{
    return wall_us >= h->from_us && wall_us < h->until_us;
}

/* Asks the calendar's memo about wall_us and keeps its answer in
 * rn->hours. The memo's answer holds on seconds [from_s, until_s); for
 * wall times from from_s * 10^6 on, all positive, that is the same as
 * wall_us / 10^6 in those seconds. Before the epoch, where the division
 * rounds the other way, and past what microseconds can count, nothing is
 * kept. Always open is open at every time. A closed memo's until_s is
 * the first open at or after its from_s, so the first open at or after
 * any time it covers, rounded up to the second, too (rn_next_open_from).
 * Out of line: it runs about twice a day. */
__attribute__((noinline)) static int rn_hours_fill(rn_t *rn, io_us_t wall_us)
{
    if (rn->cfg.always_open) {
        rn->hours = (rn_hours_t){INT64_MIN, INT64_MAX, 1};
        return 1;
    }
    int open = cal_memo_is_open(&rn->cal, wall_us / IO_US_PER_S);
    const cal_memo_t *m = &rn->cal;
    rn->hours = (rn_hours_t){0, 0, open};
    if (m->from_s > 0 && m->until_s <= INT64_MAX / IO_US_PER_S) {
        rn->hours.from_us = m->from_s * IO_US_PER_S;
        rn->hours.until_us = m->until_s * IO_US_PER_S;
    }
    return open;
}

static int rn_open_at(rn_t *rn, io_us_t wall_us)
{
    if (rn_hours_cover(&rn->hours, wall_us))
        return rn->hours.open;
    return rn_hours_fill(rn, wall_us);
}

/* The first open at or after from_us (rounded up to the second). */
static io_us_t rn_next_open_from(rn_t *rn, io_us_t from_us)
{
    return cal_memo_next_open(&rn->cal, (from_us + IO_US_PER_S - 1) / IO_US_PER_S) * IO_US_PER_S;
}

/* The first moment at or after from_us when a cycle may run. */
static io_us_t rn_slot_from(rn_t *rn, io_us_t from_us)
{
    if (rn_open_at(rn, from_us))
        return from_us;
    return rn_next_open_from(rn, from_us);
}

/* "2025-12-10 10:00:00 EST", for log lines. */
static const char *rn_ny_text(char buf[CAL_NY_TEXT_MAX], io_us_t wall_us)
{
    cal_ny_text(wall_us / IO_US_PER_S, buf);
    return buf;
}

/* How long the idle health check sleeps while the market is closed (at
 * now, the next open at next_open): closed_ping_interval, except in the
 * last such stretch before the open, where it goes back to the normal
 * cadence: a Gateway that died silently overnight is then replaced before
 * the open, not found at it. */
static io_us_t rn_closed_ping_delay(const rn_t *rn, io_us_t now, io_us_t next_open)
{
    io_us_t slow = rn->cfg.closed_ping_interval_us;
    io_us_t to_window = next_open - now - slow;
    if (to_window <= 0)
        return rn->cfg.ping_interval_us;
    return to_window < slow ? to_window : slow;
}

/* How long the idle health check sleeps at now, closed or open. */
static inline io_us_t rn_idle_ping_delay_at(rn_t *rn, io_us_t now, int open)
{
    if (open)
        return rn->cfg.ping_interval_us;
    io_us_t next_open =
        rn_hours_cover(&rn->hours, now) ? rn->hours.until_us : rn_next_open_from(rn, now);
    return rn_closed_ping_delay(rn, now, next_open);
}

/* rn_idle_ping_delay at now when the hours kept do not cover it. Out of
 * line: asking the calendar would cost every health check its registers. */
__attribute__((noinline)) static io_us_t rn_idle_ping_delay_asked(rn_t *rn, io_us_t now)
{
    return rn_idle_ping_delay_at(rn, now, rn_hours_fill(rn, now));
}

/* How long the idle health check sleeps: ping_interval in market hours.
 * Closed, the next slot is the next open: the hours know it when they
 * cover now (see rn_hours_fill), and the calendar is not asked about now
 * again, as rn_slot_from would. */
static inline io_us_t rn_idle_ping_delay(rn_t *rn)
{
    io_us_t now = io_wall_us(rn->loop);
    if (!rn_hours_cover(&rn->hours, now))
        return rn_idle_ping_delay_asked(rn, now);
    return rn_idle_ping_delay_at(rn, now, rn->hours.open);
}

/* ---- status ------------------------------------------------------------- */

static enum st_conn rn_conn_of(const rn_t *rn)
{
    switch (rn->state) {
    case RN_WAITING:
    case RN_CHECKING:
    case RN_CYCLE:
        return ST_CONNECTED;
    case RN_DEGRADED:
        return ST_DEGRADED;
    case RN_CONNECTING:
    case RN_BACKOFF:
        return rn->lost ? ST_RECONNECTING : ST_CONNECTING;
    case RN_STOPPING:
        return st_model(rn->st)->conn; /* unchanged: the label is "Stopping" */
    case RN_IDLE:
    case RN_PARKED:
    case RN_EXITED:
        break;
    }
    return ST_DISCONNECTED;
}

static enum st_phase rn_phase_of(rn_t *rn)
{
    switch (rn->state) {
    case RN_CYCLE:
        return ST_CYCLE;
    case RN_STOPPING:
        return ST_STOPPING;
    case RN_IDLE:
    case RN_EXITED:
        return ST_STOPPED;
    default:
        return rn_open_at(rn, io_wall_us(rn->loop)) ? ST_WAITING : ST_MARKET_CLOSED;
    }
}

/* Publishes the state: the label (traced on change) and the status file. */
static void rn_sync_status(rn_t *rn)
{
    st_model_t *m = st_model(rn->st);
    m->conn = rn_conn_of(rn);
    m->phase = rn_phase_of(rn);
    if (m->conn != ST_CONNECTED && m->conn != ST_DEGRADED)
        m->connected_wall_us = 0;
    m->next_cycle_wall_us = rn->state == RN_EXITED ? 0 : rn->next_cycle_us;
    st_commit(rn->st);
}

/* ---- helpers ------------------------------------------------------------ */

/* How cleanup closes a connection it gives up on (shutdown, failed health
 * check, per-cycle hang-up): orderly, unless IBKR_FORCE_DISCONNECT asked for
 * an abortive close that cannot leave a zombie session holding the client
 * id. */
static enum io_close_how rn_cleanup_how(const rn_t *rn)
{
    return rn->cfg.force_disconnect ? IO_CLOSE_RST : IO_CLOSE_FIN;
}

/* Problems outside market hours are the Gateway's nightly restart, as a
 * rule: the log says so quietly instead of warning. */
static enum io_log_level rn_trouble_level(rn_t *rn)
{
    return rn_open_at(rn, io_wall_us(rn->loop)) ? IO_LOG_WARN : IO_LOG_INFO;
}

/* Ends the running cycle, if any; one the connection took down is run
 * again once the session is back (what it asked for was lost with it). */
static void rn_abort_cycle(rn_t *rn, const char *reason, int retry)
{
    if (!rn->cyc || !cyc_running(rn->cyc))
        return;
    if (retry)
        rn->cycle_due = 1;
    rn->aborting = 1;
    cyc_abort(rn->cyc, reason);
    rn->aborting = 0;
}

/* Gives up on an unhealthy session: cleanup, then reconnect (rn_on_closed). */
static void rn_drop_session(rn_t *rn, const char *reason)
{
    io_log(rn->loop, rn_trouble_level(rn), RN_SRC, "Connection unhealthy, reconnecting... (%s)",
           reason);
    rn_abort_cycle(rn, reason, 1);
    ibc_close(rn->client, rn_cleanup_how(rn), reason);
}

/* Closes the session (if any) and exits. The caller returns right after:
 * on_exit may free the runner. */
static void rn_finish(rn_t *rn, enum io_close_how how, int code)
{
    rn->exit_code = code;
    ibc_close(rn->client, how, "shutdown");
    rn_enter(rn, RN_EXITED);
}

/* SIGINT, SIGTERM and rn_stop all come here. */
static void rn_shutdown(rn_t *rn)
{
    switch (rn->state) {
    case RN_STOPPING:
        io_log(rn->loop, IO_LOG_WARN, RN_SRC, "second stop request: aborting");
        rn_finish(rn, IO_CLOSE_RST, RN_EXIT_ABORTED);
        break;
    case RN_EXITED:
        break;
    default:
        rn_enter(rn, RN_STOPPING);
        break;
    }
}

/* ---- the cycle ---------------------------------------------------------- */

/* The cycle timer fired: mark a cycle due and set the next one on the
 * interval's grid (so a late start does not shift the day's schedule). */
static void rn_arm_cycle_timer(rn_t *rn, io_us_t from_us)
{
    if (!rn->cyc)
        return;
    rn->next_cycle_us = rn_slot_from(rn, from_us);
    io_timer_start(rn->cycle_timer, rn->next_cycle_us - io_wall_us(rn->loop));
}

/* 1 if the due cycle may still run now; drops it (traced) if the market
 * closed while it waited for a session. */
static int rn_cycle_still_wanted(rn_t *rn)
{
    if (!rn->cycle_due)
        return 0;
    if (rn_open_at(rn, io_wall_us(rn->loop)))
        return 1;
    rn->cycle_due = 0;
    IO_TRACE(rn->loop, RN_SRC, "cycle_skipped", IO_TS("reason", "market closed"));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "the market closed before the due cycle could run");
    return 0;
}

/* Runs the due cycle if this state can: a ready session checks its health
 * first; a parked one (per-cycle mode) connects. Others run it later. */
static void rn_try_cycle(rn_t *rn)
{
    if (rn->state != RN_WAITING && rn->state != RN_PARKED)
        return;
    if (!rn_cycle_still_wanted(rn)) {
        if (rn->state == RN_WAITING && !rn->cfg.persistent)
            rn_enter(rn, RN_PARKED);
        return;
    }
    rn_enter(rn, rn->state == RN_WAITING ? RN_CHECKING : RN_CONNECTING);
}

/* The health check before the cycle passed: run it. */
/* Out of line: it runs after one health check in some ninety, and its
 * log line would cost every answer (rn_on_ping_done) registers. */
__attribute__((noinline)) static void rn_start_cycle(rn_t *rn)
{
    if (!rn_cycle_still_wanted(rn)) {
        rn_enter(rn, RN_WAITING);
        rn_try_cycle(rn);
        return;
    }
    char when[CAL_NY_TEXT_MAX];
    rn->cycle_due = 0;
    rn->cycle_n++;
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Starting trading cycle %u at %s",
           (unsigned)rn->cycle_n, rn_ny_text(when, io_wall_us(rn->loop)));
    rn_enter(rn, RN_CYCLE);
    /* It fails only while a cycle runs, and none does outside RN_CYCLE. */
    (void)cyc_start(rn->cyc, rn->cycle_n);
}

static void rn_on_cycle_done(void *data, const cyc_result_t *res)
{
    rn_t *rn = data;
    st_model_t *m = st_model(rn->st);
    /* The cycle logs its own outcome. */
    if (res->ok)
        m->cycles_ok++;
    else
        m->cycles_failed++;
    /* An abort (shutdown, 1100, a lost session) is followed by its caller's
     * own transition. */
    if (rn->aborting) {
        st_commit(rn->st);
        return;
    }
    if (res->timed_out) {
        /* The socket answers pings but not the cycle's requests (a stale
         * data farm, a wedged session): start over with a fresh session.
         * The failed cycle stays failed; the next one runs at its slot. */
        rn_drop_session(rn, res->reason);
        return;
    }
    char when[CAL_NY_TEXT_MAX];
    double minutes = (double)(rn->next_cycle_us - io_wall_us(rn->loop)) / (60.0 * IO_US_PER_S);
    if (rn->cfg.persistent) {
        io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Cycle complete - keeping connection alive");
        rn_enter(rn, RN_WAITING);
    } else {
        io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Cycle complete - disconnecting until the next");
        rn_enter(rn, RN_PARKED);
    }
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Waiting %.1f minutes before next iteration (%s)...",
           minutes, rn_ny_text(when, rn->next_cycle_us));
    rn_try_cycle(rn);
}

/* ---- entry actions ------------------------------------------------------ */

static void rn_enter_connecting(rn_t *rn)
{
    rn->attempt++;
    IO_TRACE(rn->loop, RN_SRC, "connect", IO_TI("attempt", rn->attempt),
             IO_TS("host", rn->cfg.host), IO_TI("port", rn->cfg.port));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "connecting to %s:%u (attempt %d)", rn->cfg.host,
           (unsigned)rn->cfg.port, rn->attempt);
    rn_sync_status(rn);
    /* Last: a host io cannot even try reports closed from inside this call. */
    ibc_connect(rn->client);
}

static void rn_enter_ready(rn_t *rn)
{
    if (!io_timer_active(rn->ping_timer))
        io_timer_start(rn->ping_timer, rn_idle_ping_delay(rn));
    rn_sync_status(rn);
}

static void rn_enter_backoff(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    io_us_t delay_us = bo_next(&rn->backoff, rn->loop);
    st_model(rn->st)->reconnects++;
    IO_TRACE(rn->loop, RN_SRC, "reconnect", IO_TI("attempt", rn->attempt + 1),
             IO_TI("delay_us", delay_us));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "reconnecting in %.3f s",
           (double)delay_us / IO_US_PER_S);
    io_timer_start(rn->timer, delay_us);
    rn_sync_status(rn);
}

/* Per-cycle mode between cycles: hang up (this is the old behaviour's
 * cleanup after every cycle) and wait for the cycle timer. */
static void rn_enter_parked(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    rn->lost = 0;
    ibc_close(rn->client, rn_cleanup_how(rn), "cycle complete");
    rn_sync_status(rn);
}

static void rn_enter_stopping(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    io_timer_stop(rn->timer);
    io_timer_stop(rn->cycle_timer);
    io_timer_stop(rn->market_timer);
    rn->next_cycle_us = 0;
    rn->cycle_due = 0;
    rn_sync_status(rn);
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Shutting down - disconnecting from IBKR...");
    /* Bound the cycle in progress: it cancels what is outstanding while the
     * socket is still open. */
    rn_abort_cycle(rn, "shutdown", 0);
    if (ibc_ping_outstanding(rn->client))
        io_log(rn->loop, IO_LOG_INFO, RN_SRC, "stopping after the outstanding ping");
    else
        rn_finish(rn, rn_cleanup_how(rn), 0);
}

static void rn_enter_exited(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    io_timer_stop(rn->timer);
    rn_sync_status(rn);
    IO_TRACE(rn->loop, RN_SRC, "exit", IO_TI("code", rn->exit_code));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "exit %d", rn->exit_code);
    if (rn->cfg.on_exit)
        rn->cfg.on_exit(rn->cfg.exit_data, rn->exit_code);
}

static void rn_enter(rn_t *rn, enum rn_state next)
{
    io_log(rn->loop, IO_LOG_DEBUG, RN_SRC, "runner %s -> %s", rn_state_names[rn->state],
           rn_state_names[next]);
    rn->state = next;
    switch (next) {
    case RN_IDLE:
        break;
    case RN_CONNECTING:
        rn_enter_connecting(rn);
        break;
    case RN_WAITING:
    case RN_CYCLE:
    case RN_DEGRADED:
        rn_enter_ready(rn);
        break;
    case RN_CHECKING:
        rn_sync_status(rn);
        rn_ping(rn); /* last: a write failure reports closed */
        break;
    case RN_BACKOFF:
        rn_enter_backoff(rn);
        break;
    case RN_PARKED:
        rn_enter_parked(rn);
        break;
    case RN_STOPPING:
        rn_enter_stopping(rn);
        break;
    case RN_EXITED:
        rn_enter_exited(rn);
        break;
    }
}

/* ---- session reports ---------------------------------------------------- */

static void rn_on_ready(void *data, const ibc_ready_t *r)
{
    rn_t *rn = data;
    IO_TRACE(rn->loop, RN_SRC, "ready", IO_TI("version", r->version),
             IO_TS("accounts", r->accounts), IO_TI("next_order_id", r->next_order_id));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "API ready: server version %d, accounts %s",
           r->version, r->accounts);
    rn->attempt = 0;
    rn->lost = 0;
    bo_reset(&rn->backoff);
    st_model(rn->st)->connected_wall_us = io_wall_us(rn->loop);
    rn_enter(rn, RN_WAITING);
    /* Per-cycle mode with nothing to run (the market closed meanwhile)
     * parks again from here. */
    rn_try_cycle(rn);
}

/* The health check's answer never came. Out of line: it is rare, and
 * its log line would cost every answer registers. */
__attribute__((noinline)) static void rn_on_ping_timeout(rn_t *rn, uint32_t seq)
{
    IO_TRACE(rn->loop, RN_SRC, "ping_timeout", IO_TI("seq", seq));
    st_model(rn->st)->pings_failed++;
    st_commit(rn->st);
    io_log(rn->loop, rn_trouble_level(rn), RN_SRC, "ping %u timed out", (unsigned)seq);
    if (rn->state == RN_STOPPING)
        io_timer_start(rn->timer, 0); /* finish from the loop, not inside the session */
    else
        rn_drop_session(rn, "ping timeout");
}

static void rn_on_ping_done(void *data, const ibc_ping_result_t *res)
{
    rn_t *rn = data;
    if (!res->ok) {
        rn_on_ping_timeout(rn, res->seq);
        return;
    }
    IO_TRACE(rn->loop, RN_SRC, "ping_ok", IO_TI("seq", res->seq), IO_TI("rtt_us", res->rtt_us));
    st_model(rn->st)->last_rtt_us = res->rtt_us;
    st_model(rn->st)->pings_ok++;
    st_commit(rn->st);
    if (rn->state == RN_STOPPING)
        io_timer_start(rn->timer, 0); /* finish from the loop, not inside the session */
    else if (rn->state == RN_CHECKING)
        rn_start_cycle(rn);
}

static void rn_on_closed(void *data, const ibc_closed_t *cl)
{
    rn_t *rn = data;
    if (cl->opened) {
        const char *by = cl->by_gateway ? "gateway" : "client";
        const char *how = cl->how == IO_CLOSE_RST ? "rst" : "fin";
        IO_TRACE(rn->loop, RN_SRC, "disconnect", IO_TS("by", by), IO_TS("how", how),
                 IO_TS("reason", cl->reason));
    } else {
        IO_TRACE(rn->loop, RN_SRC, "connect_failed", IO_TS("reason", cl->reason));
    }
    if (rn->freeing)
        return;
    /* Our own closes were logged when decided; the Gateway's and failed
     * connects are news. */
    int news = cl->by_gateway || !cl->opened;
    io_log(rn->loop, news ? rn_trouble_level(rn) : IO_LOG_INFO, RN_SRC, "connection ended: %s",
           cl->reason);
    switch (rn->state) {
    case RN_CYCLE:
        rn_abort_cycle(rn, "disconnected", 1);
        /* fall through */
    case RN_CONNECTING:
    case RN_WAITING:
    case RN_CHECKING:
    case RN_DEGRADED:
        rn->lost = 1;
        rn_enter(rn, RN_BACKOFF);
        break;
    case RN_STOPPING:
        io_timer_start(rn->timer, 0); /* finish from the loop, not inside the session */
        break;
    case RN_IDLE:
    case RN_BACKOFF:
    case RN_PARKED:
    case RN_EXITED:
        break;
    }
}

/* errMsg codes that change what the runner may do: 1100 (the Gateway lost
 * IB's servers) stops cycles and orders; 1101 (restored, data lost) and
 * 1102 (restored, data kept) resume them. */
static void rn_on_connectivity(rn_t *rn, int code)
{
    if (code == PROTO_CODE_CONNECTIVITY_LOST) {
        if (rn->state != RN_WAITING && rn->state != RN_CHECKING && rn->state != RN_CYCLE)
            return;
        io_log(rn->loop, IO_LOG_WARN, RN_SRC,
               "Gateway lost connectivity to IB (1100): no cycle and no order until restored");
        /* A pending health check still counts in DEGRADED; the cycle stays
         * due (cycle_due is cleared only when one starts). */
        rn_abort_cycle(rn, "connectivity lost", 1);
        rn_enter(rn, RN_DEGRADED);
        return;
    }
    if (rn->state != RN_DEGRADED)
        return;
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Gateway connectivity restored (%d%s)", code,
           code == PROTO_CODE_RESTORED_DATA_LOST ? ", data lost: the cycle requests it again" : "");
    rn_enter(rn, RN_WAITING);
    rn_try_cycle(rn);
}

static void rn_on_message(void *data, int32_t msg_id, const proto_frame_t *frame)
{
    rn_t *rn = data;
    if (rn->cyc)
        cyc_on_message(rn->cyc, msg_id, frame);
    if (msg_id != PROTO_IN_ERR_MSG)
        return;
    proto_reader_t r;
    int32_t id, version, req_id, code;
    proto_reader_init(&r, frame);
    /* The session already parsed and traced this frame: it is well formed. */
    if (proto_read_int(&r, &id, NULL, 0) < 0 || proto_read_int(&r, &version, NULL, 0) < 0 ||
        proto_read_int(&r, &req_id, NULL, 0) < 0 || proto_read_int(&r, &code, NULL, 0) < 0)
        return;
    st_count_error(st_model(rn->st), code);
    st_commit(rn->st);
    if (code == PROTO_CODE_CONNECTIVITY_LOST || code == PROTO_CODE_RESTORED_DATA_LOST ||
        code == PROTO_CODE_RESTORED_DATA_KEPT)
        rn_on_connectivity(rn, code);
}

/* ---- timers and signals ------------------------------------------------- */

static void rn_on_ping_timer(io_timer_t *t, void *data)
{
    (void)t;
    rn_t *rn = data;
    io_timer_start(rn->ping_timer, rn_idle_ping_delay(rn));
    rn_ping(rn); /* last: a write failure reports closed */
}

static void rn_on_timer(io_timer_t *t, void *data)
{
    (void)t;
    rn_t *rn = data;
    if (rn->state == RN_BACKOFF)
        rn_enter(rn, RN_CONNECTING);
    else if (rn->state == RN_STOPPING)
        rn_finish(rn, rn_cleanup_how(rn), 0);
}

static void rn_on_cycle_timer(io_timer_t *t, void *data)
{
    (void)t;
    rn_t *rn = data;
    rn->cycle_due = 1;
    /* The next slot on the grid after now (a due time already past, as
     * after a suspended laptop, is not run twice). */
    io_us_t now = io_wall_us(rn->loop), next = rn->next_cycle_us + rn->cfg.interval_us;
    if (next <= now)
        next = now + rn->cfg.interval_us;
    rn_arm_cycle_timer(rn, next);
    rn_try_cycle(rn);
}

/* Arms the market timer for the next open or close. */
static void rn_arm_market_timer(rn_t *rn)
{
    if (rn->cfg.always_open)
        return;
    int64_t now_s = io_wall_us(rn->loop) / IO_US_PER_S;
    int64_t close_s = cal_close_of_session(now_s);
    int64_t at_s = close_s >= 0 ? close_s : cal_next_open(now_s);
    io_timer_start(rn->market_timer, at_s * IO_US_PER_S - io_wall_us(rn->loop));
}

static void rn_on_market_timer(io_timer_t *t, void *data)
{
    (void)t;
    rn_t *rn = data;
    char when[CAL_NY_TEXT_MAX];
    if (rn_open_at(rn, io_wall_us(rn->loop))) {
        io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Market open");
    } else {
        io_us_t open = rn_slot_from(rn, io_wall_us(rn->loop));
        io_log(rn->loop, IO_LOG_INFO, RN_SRC, "Market closed - %s until the open at %s",
               rn->cfg.persistent ? "staying connected" : "no connection",
               rn_ny_text(when, open));
    }
    rn_arm_market_timer(rn);
    /* Per-cycle mode still trying to connect for a cycle the close made
     * moot: stop trying until the next one. */
    if (!rn->cfg.persistent && rn->state == RN_BACKOFF && !rn_cycle_still_wanted(rn)) {
        io_timer_stop(rn->timer);
        rn_enter(rn, RN_PARKED);
    }
    rn_sync_status(rn);
}

static void rn_on_signal(io_loop_t *loop, enum io_signal sig, void *data)
{
    rn_t *rn = data;
    if (rn->state == RN_EXITED)
        return;
    const char *name = sig == IO_SIGINT ? "SIGINT" : sig == IO_SIGTERM ? "SIGTERM" : "signal";
    IO_TRACE(loop, RN_SRC, "signal", IO_TS("name", name));
    io_log(loop, IO_LOG_INFO, RN_SRC, "%s received", name);
    rn_shutdown(rn);
}

/* ---- public ------------------------------------------------------------- */

static bo_config_t rn_backoff_config(const rn_config_t *cfg)
{
    return (bo_config_t){cfg->reconnect_initial_us, cfg->reconnect_max_us,
                         cfg->reconnect_multiplier, cfg->reconnect_jitter};
}

static int rn_config_check(const rn_config_t *cfg, char *err, size_t errlen)
{
    bo_config_t bc = rn_backoff_config(cfg);
    const char *bad = NULL;
    if (!cfg->host || !cfg->host[0])
        bad = "host is empty";
    else if (cfg->port == 0)
        bad = "port is 0";
    else if (cfg->connect_timeout_us <= 0 || cfg->ping_interval_us <= 0 ||
             cfg->ping_timeout_us <= 0)
        bad = "connect timeout, ping interval and ping timeout must be positive";
    else if (cfg->interval_us <= 0 || cfg->cycle_timeout_us <= 0 ||
             cfg->request_timeout_us <= 0 || cfg->closed_ping_interval_us <= 0)
        bad = "interval, cycle timeout, request timeout and closed ping interval must be positive";
    else if (cfg->nsymbols > 0 && !cfg->symbols)
        bad = "symbols missing";
    else if (cfg->nsymbols == 0 && !cfg->persistent)
        bad = "per-cycle connections need symbols (without them there is no cycle)";
    else
        bad = bo_config_problem(&bc);
    if (!bad)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "runner config: %s", bad);
    return IO_ERR_INVAL;
}

static int rn_new_timers(rn_t *rn)
{
    rn->ping_timer = io_timer_new(rn->loop, rn_on_ping_timer, rn);
    rn->timer = io_timer_new(rn->loop, rn_on_timer, rn);
    rn->cycle_timer = io_timer_new(rn->loop, rn_on_cycle_timer, rn);
    rn->market_timer = io_timer_new(rn->loop, rn_on_market_timer, rn);
    return rn->ping_timer && rn->timer && rn->cycle_timer && rn->market_timer ? 0
                                                                               : IO_ERR_NOMEM;
}

static void rn_free_timers(rn_t *rn)
{
    io_timer_t *timers[] = {rn->ping_timer, rn->timer, rn->cycle_timer, rn->market_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (timers[i])
            io_timer_free(timers[i]);
}

static int rn_new_parts(rn_t *rn, char *err, size_t errlen)
{
    const rn_config_t *cfg = &rn->cfg;
    st_model_t init = {.conn = ST_DISCONNECTED, .phase = ST_STOPPED,
                       .persistent = cfg->persistent, .last_rtt_us = -1};
    int rc = st_new(rn->loop, cfg->status_file, &init, &rn->st, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->on_status)
        st_observe(rn->st, cfg->on_status, cfg->status_data);
    ibc_config_t ccfg = {cfg->host, cfg->port, cfg->client_id, cfg->connect_timeout_us,
                         cfg->ping_timeout_us};
    ibc_events_t events = {.ready = rn_on_ready, .ping_done = rn_on_ping_done,
                           .closed = rn_on_closed, .data = rn, .message = rn_on_message};
    if ((rc = ibc_new(rn->loop, &ccfg, &events, &rn->client, err, errlen)) < 0)
        return rc;
    cyc_config_t ycfg = {cfg->symbols, cfg->nsymbols, cfg->trade, cfg->request_timeout_us,
                         cfg->cycle_timeout_us, cfg->journal_file};
    if (cfg->nsymbols > 0 && (rc = cyc_new(rn->loop, rn->client, &ycfg, rn_on_cycle_done, rn,
                                           &rn->cyc, err, errlen)) < 0)
        return rc;
    if ((rc = rn_new_timers(rn)) < 0) {
        snprintf(err, errlen, "runner: out of memory");
        return rc;
    }
    return io_signal_watch(rn->loop, rn_on_signal, rn);
}

static void rn_free_parts(rn_t *rn)
{
    if (rn->cyc)
        cyc_free(rn->cyc);
    ibc_free(rn->client);
    rn_free_timers(rn);
    st_free(rn->st);
    free(rn->host);
    free(rn);
}

int rn_new(io_loop_t *loop, const rn_config_t *cfg, rn_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = rn_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    rn_t *rn = calloc(1, sizeof *rn);
    if (!rn || !(rn->host = strdup(cfg->host))) {
        free(rn);
        if (err && errlen)
            snprintf(err, errlen, "runner: out of memory");
        return IO_ERR_NOMEM;
    }
    rn->loop = loop;
    rn->cfg = *cfg;
    rn->cfg.host = rn->host;
    bo_config_t bc = rn_backoff_config(cfg);
    bo_init(&rn->backoff, &bc);
    if ((rc = rn_new_parts(rn, err, errlen)) < 0) {
        rn_free_parts(rn);
        return rc;
    }
    *out = rn;
    return 0;
}

void rn_start(rn_t *rn)
{
    if (rn->state != RN_IDLE)
        return;
    io_us_t now = io_wall_us(rn->loop);
    st_model(rn->st)->started_wall_us = now;
    rn_arm_cycle_timer(rn, now);
    rn_arm_market_timer(rn);
    /* Per-cycle mode connects when the first cycle comes due. */
    rn_enter(rn, rn->cfg.persistent ? RN_CONNECTING : RN_PARKED);
}

void rn_stop(rn_t *rn)
{
    rn_shutdown(rn);
}

void rn_free(rn_t *rn)
{
    if (!rn)
        return;
    io_signal_watch(rn->loop, NULL, NULL);
    /* Closing through the session traces the disconnect like any other. */
    rn->freeing = 1;
    ibc_close(rn->client, IO_CLOSE_RST, "runner freed");
    rn_free_parts(rn);
}

const char *rn_status_label(const rn_t *rn)
{
    return st_current_label(rn->st);
}
