/* runner.h - the trading runner core: it owns one TWS client session,
 * drives it through connect → hello → startApi → ready, health-checks it
 * with reqCurrentTime pings, reconnects with capped exponential backoff
 * and jitter when it dies or goes silent, and shuts down cleanly on
 * SIGINT/SIGTERM. All I/O goes through io.h.
 *
 * Trace events (src "runner"):
 *   connect        {attempt, host, port}   a TCP connect starts
 *   connect_failed {reason}
 *   ready          {version, accounts, next_order_id}
 *   ping           {seq}
 *   ping_ok        {seq, rtt_us}
 *   ping_timeout   {seq}
 *   disconnect     {by: "client"|"gateway", how: "fin"|"rst", reason}
 *   reconnect      {attempt, delay_us}     a reconnect is scheduled
 *   signal         {name}
 *   msg_in / msg_out {id, name}
 *   error:<code>   {id, text}               an errMsg arrived
 *   status         {label, connection, phase} the dashboard label changed
 *   cycle_skipped  {reason}                 a due cycle dropped (the market
 *                                           closed before a session was back)
 *   exit           {code}
 */
#ifndef RUNNER_RUNNER_H
#define RUNNER_RUNNER_H

#include <stdint.h>

#include "../io/io.h"
#include "status.h"

typedef void (*rn_exit_cb)(void *data, int code);

typedef struct rn_config {
    const char *host;             /* default "127.0.0.1" */
    uint16_t port;                /* default 4002 */
    int client_id;                /* default 1 */
    io_us_t connect_timeout_us;   /* each handshake step; default 10 s */
    io_us_t ping_interval_us;     /* default 5 s */
    io_us_t ping_timeout_us;      /* default 4 s */
    io_us_t reconnect_initial_us; /* default 1 s */
    io_us_t reconnect_max_us;     /* default 60 s */
    double reconnect_multiplier;  /* default 2.0 */
    double reconnect_jitter;      /* fraction of the delay, default 0.2 */
    int force_disconnect;         /* cleanup closes with RST, not FIN */
    /* The continuous loop (issue 3). */
    const char *const *symbols;   /* traded symbols; must outlive the runner */
    size_t nsymbols;              /* 0: no cycle, only the connection and its
                                     health checks (needs persistent) */
    io_us_t interval_us;          /* a cycle every interval, default 30 min */
    int persistent;               /* default 1; 0 = connect per cycle
                                     (IBKR_PERSISTENT_CONNECTION=false) */
    int trade;                    /* default 0: orders are only logged */
    io_us_t cycle_timeout_us;     /* deadline of one cycle, default 5 min */
    io_us_t request_timeout_us;   /* each request inside a cycle, default 30 s */
    io_us_t closed_ping_interval_us; /* health checks while the market is
                                        closed, default 5 min */
    int always_open;              /* ignore the calendar (live tests) */
    const char *status_file;      /* JSON status, written atomically; NULL none */
    const char *journal_file;     /* append-only order journal; NULL = memory */
    rn_exit_cb on_exit;           /* called once, when the runner is done */
    void *exit_data;
    /* Operator surface (issue 8): sees every published status change (see
     * st_observe); NULL none. The binary feeds its HTTP endpoint and systemd
     * from it. */
    st_observer_cb on_status;
    void *status_data;
} rn_config_t;

void rn_config_defaults(rn_config_t *cfg);

typedef struct rn rn_t;

/* Creates the runner and watches SIGINT/SIGTERM through io. Nothing is
 * sent until rn_start. 0 or a negative IO_ERR_* with details in err. */
int rn_new(io_loop_t *loop, const rn_config_t *cfg, rn_t **out, char *err, size_t errlen);
/* Starts the first connect. */
void rn_start(rn_t *rn);
/* Asks for a clean shutdown, exactly as SIGINT does. */
void rn_stop(rn_t *rn);
/* Frees the runner; any open connection is closed abortively. */
void rn_free(rn_t *rn);

/* The dashboard label (status.h): "Connecting", "API Connected", "API
 * Connected (Market Closed)", "Waiting for cycle", "Reconnecting", "Degraded
 * (connectivity lost)", "Stopping", "Disconnected". */
const char *rn_status_label(const rn_t *rn);

#endif
