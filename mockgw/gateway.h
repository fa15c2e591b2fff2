/* gateway.h - the mock IB Gateway core: one listener, one session per
 * client connection, the client-id registry they share, and the faults code
 * can inject (kill, stale). It does all of its I/O through io.h, so the same
 * code serves real TCP (`mockgw serve`) and the simulated network (`sim`).
 *
 * Trace events (src "gateway"):
 *   accept          {conn}
 *   session_ready   {conn, client_id, version}
 *   session_closed  {conn, client_id, by: "client"|"gateway", how: "fin"|"rst", reason}
 *   reject          {conn, client_id, code}        e.g. 326, or a version refusal
 *   fault:kill      {how, client_id, sessions}
 *   fault:stale     {on, client_id}
 *   fault_end:<kind> {client_id}   a held fault (see gw_hold_fault) ended
 * and the other fault:<kind> events faults.h lists. A session dropped for
 * not reading is a session_closed with reason "output bound exceeded".
 * A replaying gateway (cfg.replay) adds replay_refused, replay_diverged and
 * replay_unconsumed (replay.h).
 */
#ifndef MOCKGW_GATEWAY_H
#define MOCKGW_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"

#define GW_ACCOUNTS_MAX 8
#define GW_SESSIONS_MAX 32
#define GW_POSITIONS_MAX 64
#define GW_PRICES_MAX 64
#define GW_OUTPUT_MAX ((size_t)8 << 20) /* default gw_config_t.output_max */
#define GW_FAULTS_MAX 32                /* faults held at once */

/* A position the gateway reports for an account (the `gateway.positions`
 * items of the scenario format). */
typedef struct gw_position {
    const char *account;
    const char *symbol;
    double qty;
    double avg_cost;
} gw_position_t;

/* A symbol's starting price; bars and ticks are a seeded random walk from it. */
typedef struct gw_price {
    const char *symbol;
    double price;
} gw_price_t;

/* A capture to answer from instead of the synthetic market (replay.h). */
typedef struct gw_replay_config {
    const char *file;         /* pcap/pcapng; NULL: no replay (the default) */
    int lenient;              /* 0 strict: requests as recorded, in order;
                                 1 lenient: any order, the synthetic market
                                 answers what the recording does not hold */
    int fast;                 /* 0: answers and unsolicited messages at their
                                 recorded offsets; 1: at once */
    unsigned conn;            /* the capture's TWS conversation, from 1; 0: the first */
} gw_replay_config_t;

typedef struct gw_config {
    const char *host;         /* listen address, default "127.0.0.1" */
    uint16_t port;            /* default 4002; 0 picks a free port */
    int server_version_min;   /* default PROTO_SERVER_VERSION_MIN */
    int server_version_max;   /* default PROTO_SERVER_VERSION_MAX */
    const char *accounts[GW_ACCOUNTS_MAX]; /* default {"DU1234567"} */
    size_t naccounts;
    int next_order_id;        /* first nextValidId, default 1 */
    int max_sessions;         /* default and cap GW_SESSIONS_MAX */
    int verbose;              /* log every message in and out */
    gw_position_t positions[GW_POSITIONS_MAX];
    size_t npositions;
    gw_price_t prices[GW_PRICES_MAX]; /* symbols not listed start at 100.0 */
    size_t nprices;
    uint64_t market_seed;     /* the synthetic market is a pure function of
                                 (market_seed, symbol, time): every request
                                 sees the same history */
    int daily_restart_min;    /* minutes after midnight, New York time, of the
                                 daily restart (a `down`); -1 = none (default) */
    io_us_t daily_restart_down_us; /* how long it stays down, default 2 min */
    size_t output_max;        /* bytes one session may have waiting unsent
                                 before it is dropped (RST) as a client that
                                 does not read; default GW_OUTPUT_MAX */
    gw_replay_config_t replay;
    struct gw_config_string *owned; /* strings gw_config_from_json copied
                                 (config.h); NULL when none */
} gw_config_t;

void gw_config_defaults(gw_config_t *cfg);

typedef struct gw gw_t;

/* Creates the gateway and starts listening. 0 or a negative IO_ERR_* with
 * the address and reason in err. The config's strings must outlive gw. */
int gw_new(io_loop_t *loop, const gw_config_t *cfg, gw_t **out, char *err, size_t errlen);
/* Closes the listener and every session (FIN), frees gw. NULL is a no-op. */
void gw_free(gw_t *gw);

uint16_t gw_port(const gw_t *gw);

/* Ends a run without closing anything: traces what is still owed, i.e.
 * replay_unconsumed for a strict replay whose client has not sent every
 * recorded request. The sim engine calls it at a scenario's end, while the
 * trace still counts. */
void gw_report_end(gw_t *gw);
/* Sessions currently open (any state). */
size_t gw_session_count(const gw_t *gw);

/* Drops every session (client_id < 0) or those with that client id, with
 * FIN or RST. Returns how many were dropped. Traces fault:kill. */
int gw_kill(gw_t *gw, enum io_close_how how, int client_id);

/* Stale: sessions keep their socket open and read, but answer nothing.
 * client_id < 0 means every session, and sessions that connect while it
 * is on; otherwise the sessions with that client id. on = 0 clears it.
 * Traces fault:stale. */
void gw_set_stale(gw_t *gw, int on, int client_id);

/* ---- what the fault controller (faults.h) and the control server (ctl.h)
 * act through. A fault "matches" a session when its client_id is < 0 or
 * the one the session registered. -------------------------------------- */

struct gw_fault;

io_loop_t *gw_loop(const gw_t *gw);

/* Holds a lasting fault (down, refuse, stale, handshake_stall, latency,
 * slice, connectivity_lost, farm_outage, client_id_in_use) in the gateway's
 * table and starts its effect on the matching sessions, and on sessions
 * that match later while it lasts. It ends after f->for_us (stale with 0:
 * when cleared; client_id_in_use: when used up) or when cleared, tracing
 * fault_end:<kind>. The caller (gw_fault_apply) has checked f and traced
 * fault:<kind>. 0, or IO_ERR_NOBUFS with GW_FAULTS_MAX held already. */
int gw_hold_fault(gw_t *gw, const struct gw_fault *f, char *err, size_t errlen);

/* Ends the held faults with that client_id (< 0: every one). How many. */
int gw_clear_faults(gw_t *gw, int client_id);

/* errMsg (id, code, text) to every ready session matching client_id; how
 * many got it. */
int gw_send_error(gw_t *gw, int client_id, int id, int code, const char *text);

/* Raw bytes to every session matching client_id, through its latency and
 * slicing but past its stale filter (an injected write); how many. */
int gw_send_raw(gw_t *gw, int client_id, const void *bytes, size_t len);

/* ---- status (`mockgw ctl status`) ---- */

typedef struct gw_session_info {
    uint64_t conn;
    int client_id;     /* -1 before startApi */
    const char *state; /* "await_hello", "await_start_api", "ready" */
} gw_session_info_t;

typedef struct gw_fault_info {
    int kind;              /* enum gw_fault_kind */
    int client_id;
    io_us_t remaining_us;  /* -1: until cleared or used up */
    int times;             /* client_id_in_use: refusals left */
} gw_fault_info_t;

typedef struct gw_counters {
    uint64_t accepted;     /* sessions opened */
    uint64_t turned_away;  /* connects closed at once: max_sessions reached */
    uint64_t closed;       /* sessions ended, by either side */
    uint64_t faults;       /* faults held so far (kill, garbage, error: not held) */
} gw_counters_t;

/* Fill at most cap entries in accept-slot order; return how many exist. */
size_t gw_sessions_info(const gw_t *gw, gw_session_info_t *out, size_t cap);
size_t gw_faults_info(const gw_t *gw, gw_fault_info_t *out, size_t cap);
void gw_get_counters(const gw_t *gw, gw_counters_t *out);
/* 1 while the listener is open (not down, not refusing). */
int gw_listening(const gw_t *gw);

#endif
