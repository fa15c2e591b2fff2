/* runner.c - the runner core (see runner.h): it owns one client session,
 * pings it while ready, reconnects with capped exponential backoff and
 * jitter, turns SIGINT/SIGTERM or rn_stop into a clean shutdown, keeps the
 * dashboard label and reports the exit. rn_enter() is the one place the
 * runner's state changes; it runs the entry actions of the state entered.
 *
 * Shutdown drains: when a ping is outstanding, STOPPING waits for its answer
 * (bounded by the ping timeout) so that no request is left unanswered, then
 * closes with FIN (RST with force_disconnect). A second signal meanwhile
 * resets the connection and exits with 130. */
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define RN_SRC "runner"
#define RN_EXIT_ABORTED 130 /* 128 + SIGINT, what a shell reports */

enum rn_state {
    RN_IDLE,       /* created, not started */
    RN_CONNECTING, /* the session connects and handshakes */
    RN_READY,      /* API ready: pinging every ping_interval_us */
    RN_BACKOFF,    /* waiting to reconnect */
    RN_STOPPING,   /* shutdown asked: waiting for the outstanding ping */
    RN_EXITED
};

static const char *const rn_state_names[] = {
    [RN_IDLE] = "idle",         [RN_CONNECTING] = "connecting", [RN_READY] = "ready",
    [RN_BACKOFF] = "backoff",   [RN_STOPPING] = "stopping",     [RN_EXITED] = "exited",
};

struct rn {
    io_loop_t *loop;
    rn_config_t cfg;
    char *host;             /* cfg.host points here */
    enum rn_state state;
    ibc_t *client;
    io_timer_t *ping_timer; /* READY: the next ping */
    io_timer_t *timer;      /* BACKOFF: the reconnect; STOPPING: finish from the loop */
    uint32_t ping_seq;
    int attempt;            /* connects since the start or the last ready */
    int backoffs;           /* reconnects scheduled since the last ready: the exponent */
    int connects;           /* connects over the runner's life */
    int exit_code;
    int freeing;            /* rn_free in progress: session reports change nothing */
    const char *label;
};

static void rn_enter(rn_t *rn, enum rn_state next);

void rn_config_defaults(rn_config_t *cfg)
{
    *cfg = (rn_config_t){
        .host = "127.0.0.1",
        .port = 4002,
        .client_id = 1,
        .connect_timeout_us = 10 * IO_US_PER_S,
        .ping_interval_us = 5 * IO_US_PER_S,
        .ping_timeout_us = 4 * IO_US_PER_S,
        .reconnect_initial_us = 1 * IO_US_PER_S,
        .reconnect_max_us = 60 * IO_US_PER_S,
        .reconnect_multiplier = 2.0,
        .reconnect_jitter = 0.2,
    };
}

static void rn_set_label(rn_t *rn, const char *label)
{
    if (rn->label && strcmp(rn->label, label) == 0)
        return;
    rn->label = label;
    IO_TRACE(rn->loop, RN_SRC, "status", IO_TS("label", label));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "status: %s", label);
}

/* How cleanup closes a connection it gives up on (shutdown, failed health
 * check): orderly, unless IBKR_FORCE_DISCONNECT asked for an abortive close
 * that cannot leave a zombie session holding the client id. */
static enum io_close_how rn_cleanup_how(const rn_t *rn)
{
    return rn->cfg.force_disconnect ? IO_CLOSE_RST : IO_CLOSE_FIN;
}

/* min(max, initial * multiplier^k), then ± jitter of that. */
static io_us_t rn_backoff_delay(rn_t *rn)
{
    double base = (double)rn->cfg.reconnect_initial_us *
                  pow(rn->cfg.reconnect_multiplier, (double)rn->backoffs);
    if (base > (double)rn->cfg.reconnect_max_us)
        base = (double)rn->cfg.reconnect_max_us;
    double spread = rn->cfg.reconnect_jitter * (2.0 * io_random_unit(rn->loop) - 1.0);
    return (io_us_t)llround(base * (1.0 + spread));
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
    case RN_IDLE:
    case RN_CONNECTING:
    case RN_READY:
    case RN_BACKOFF:
        rn_enter(rn, RN_STOPPING);
        break;
    case RN_STOPPING:
        io_log(rn->loop, IO_LOG_WARN, RN_SRC, "second stop request: aborting");
        rn_finish(rn, IO_CLOSE_RST, RN_EXIT_ABORTED);
        break;
    case RN_EXITED:
        break;
    }
}

/* ---- entry actions ------------------------------------------------------ */

static void rn_enter_connecting(rn_t *rn)
{
    rn->attempt++;
    rn->connects++;
    rn_set_label(rn, rn->connects == 1 ? "Connecting" : "Reconnecting");
    IO_TRACE(rn->loop, RN_SRC, "connect", IO_TI("attempt", rn->attempt),
             IO_TS("host", rn->cfg.host), IO_TI("port", rn->cfg.port));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "connecting to %s:%u (attempt %d)", rn->cfg.host,
           (unsigned)rn->cfg.port, rn->attempt);
    /* Last: a host io cannot even try reports closed from inside this call. */
    ibc_connect(rn->client);
}

static void rn_enter_backoff(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    io_us_t delay_us = rn_backoff_delay(rn);
    rn->backoffs++;
    rn_set_label(rn, "Reconnecting");
    IO_TRACE(rn->loop, RN_SRC, "reconnect", IO_TI("attempt", rn->attempt + 1),
             IO_TI("delay_us", delay_us));
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "reconnecting in %.3f s",
           (double)delay_us / IO_US_PER_S);
    io_timer_start(rn->timer, delay_us);
}

static void rn_enter_stopping(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    io_timer_stop(rn->timer);
    rn_set_label(rn, "Stopping");
    if (ibc_ping_outstanding(rn->client))
        io_log(rn->loop, IO_LOG_INFO, RN_SRC, "stopping after the outstanding ping");
    else
        rn_finish(rn, rn_cleanup_how(rn), 0);
}

static void rn_enter_exited(rn_t *rn)
{
    io_timer_stop(rn->ping_timer);
    io_timer_stop(rn->timer);
    rn_set_label(rn, "Disconnected");
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
    case RN_READY:
        rn->attempt = 0;
        rn->backoffs = 0;
        rn_set_label(rn, "API Connected");
        io_timer_start(rn->ping_timer, rn->cfg.ping_interval_us);
        break;
    case RN_BACKOFF:
        rn_enter_backoff(rn);
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
    rn_enter(rn, RN_READY);
}

static void rn_on_ping_done(void *data, const ibc_ping_result_t *res)
{
    rn_t *rn = data;
    if (res->ok) {
        IO_TRACE(rn->loop, RN_SRC, "ping_ok", IO_TI("seq", res->seq), IO_TI("rtt_us", res->rtt_us));
    } else {
        IO_TRACE(rn->loop, RN_SRC, "ping_timeout", IO_TI("seq", res->seq));
        io_log(rn->loop, IO_LOG_WARN, RN_SRC, "ping %u timed out", (unsigned)res->seq);
    }
    if (rn->state == RN_STOPPING)
        io_timer_start(rn->timer, 0); /* finish from the loop, not inside the session */
    else if (!res->ok)
        ibc_close(rn->client, rn_cleanup_how(rn), "ping timeout");
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
    io_log(rn->loop, IO_LOG_INFO, RN_SRC, "connection ended: %s", cl->reason);
    if (rn->freeing)
        return;
    switch (rn->state) {
    case RN_CONNECTING:
    case RN_READY:
        rn_enter(rn, RN_BACKOFF);
        break;
    case RN_STOPPING:
        io_timer_start(rn->timer, 0); /* finish from the loop, not inside the session */
        break;
    case RN_IDLE:
    case RN_BACKOFF:
    case RN_EXITED:
        break;
    }
}

/* ---- timers and signals ------------------------------------------------- */

static void rn_on_ping_timer(io_timer_t *t, void *data)
{
    (void)t;
    rn_t *rn = data;
    io_timer_start(rn->ping_timer, rn->cfg.ping_interval_us);
    if (ibc_ping_outstanding(rn->client))
        return; /* the last one is still within its timeout */
    uint32_t seq = ++rn->ping_seq;
    IO_TRACE(rn->loop, RN_SRC, "ping", IO_TI("seq", seq));
    /* Last: a write failure reports closed from inside this call. */
    ibc_ping(rn->client, seq);
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

static int rn_config_check(const rn_config_t *cfg, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (!cfg->host || !cfg->host[0])
        bad = "host is empty";
    else if (cfg->port == 0)
        bad = "port is 0";
    else if (cfg->connect_timeout_us <= 0 || cfg->ping_interval_us <= 0 ||
             cfg->ping_timeout_us <= 0)
        bad = "connect timeout, ping interval and ping timeout must be positive";
    else if (cfg->reconnect_initial_us <= 0 || cfg->reconnect_max_us < cfg->reconnect_initial_us)
        bad = "reconnect delays must satisfy 0 < initial <= max";
    else if (!(cfg->reconnect_multiplier >= 1.0))
        bad = "reconnect multiplier must be >= 1";
    else if (!(cfg->reconnect_jitter >= 0.0 && cfg->reconnect_jitter < 1.0))
        bad = "reconnect jitter must be in [0, 1)";
    if (!bad)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "runner config: %s", bad);
    return IO_ERR_INVAL;
}

int rn_new(io_loop_t *loop, const rn_config_t *cfg, rn_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = rn_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    rc = IO_ERR_NOMEM;
    rn_t *rn = calloc(1, sizeof *rn);
    if (!rn)
        goto fail_alloc;
    rn->loop = loop;
    rn->cfg = *cfg;
    rn->label = "Disconnected";
    rn->host = strdup(cfg->host);
    if (!rn->host)
        goto fail_host;
    rn->cfg.host = rn->host;
    rn->ping_timer = io_timer_new(loop, rn_on_ping_timer, rn);
    if (!rn->ping_timer)
        goto fail_ping_timer;
    rn->timer = io_timer_new(loop, rn_on_timer, rn);
    if (!rn->timer)
        goto fail_timer;
    ibc_config_t ccfg = {rn->cfg.host, cfg->port, cfg->client_id, cfg->connect_timeout_us,
                         cfg->ping_timeout_us};
    ibc_events_t events = {rn_on_ready, rn_on_ping_done, rn_on_closed, rn};
    rc = ibc_new(loop, &ccfg, &events, &rn->client, err, errlen);
    if (rc < 0)
        goto fail_client;
    rc = io_signal_watch(loop, rn_on_signal, rn);
    if (rc < 0)
        goto fail_signal;
    *out = rn;
    return 0;

fail_signal:
    ibc_free(rn->client);
fail_client:
    io_timer_free(rn->timer);
fail_timer:
    io_timer_free(rn->ping_timer);
fail_ping_timer:
    free(rn->host);
fail_host:
    free(rn);
fail_alloc:
    if (err && errlen && rc != IO_ERR_INVAL)
        snprintf(err, errlen, "runner: %s", io_strerror(rc));
    return rc;
}

void rn_start(rn_t *rn)
{
    if (rn->state == RN_IDLE)
        rn_enter(rn, RN_CONNECTING);
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
    ibc_free(rn->client);
    io_timer_free(rn->ping_timer);
    io_timer_free(rn->timer);
    free(rn->host);
    free(rn);
}

const char *rn_status_label(const rn_t *rn)
{
    return rn->label;
}
