/* session.h - one client connection to the mock gateway: its state machine
 * (hello → startApi → ready → closed), its input decoder and output path
 * (with the faults that act on it: stale, latency, slicing, a bound on what
 * may wait unsent), and the client id it registered. The gateway owns
 * the session table; a session tells it through `closed` when it is gone. */
#ifndef MOCKGW_SESSION_H
#define MOCKGW_SESSION_H

#include <stdint.h>

#include "../io/io.h"
#include "../proto/frame.h"
#include "gateway.h"
#include "market.h"
#include "orders.h"
#include "registry.h"

typedef struct gw_session gw_session_t;

/* What a session borrows from its gateway; must outlive the session. */
typedef struct gw_session_host {
    io_loop_t *loop;
    const gw_config_t *cfg;
    gw_registry_t *registry;
    const char *accounts_csv; /* managedAccounts: the accounts, comma-joined */
    /* Called once, just before the session frees itself, whoever closed it. */
    void (*closed)(void *data, gw_session_t *session);
    /* Called when startApi names client_id, before the id is claimed: 1 to
     * refuse it with 326 even if it is free (a client_id_in_use fault);
     * otherwise 0, having set the session's faults for that id. */
    int (*start_api)(void *data, gw_session_t *session, int client_id);
    void *data;
    gw_market_t *market;  /* the synthetic market every session reads */
    gw_orders_t *orders;  /* the order book every session shares */
    struct gw_replay *replay; /* the recording sessions answer from (replay.h);
                                 NULL: the synthetic market */
} gw_session_host_t;

/* The output faults in force on one session, folded by the gateway from
 * its active faults that match the session. */
typedef struct gw_session_faults {
    int stale;           /* send nothing at all */
    unsigned stale_only; /* else drop the answers of these gw_msg_kind bits */
    io_us_t latency_us;  /* hold every write back this long */
    size_t slice_max;    /* 0, or write at most this many bytes at a time */
} gw_session_faults_t;

/* Takes over an accepted stream (sets its callback) with those faults in
 * force from the start. NULL on allocation failure (the stream is left
 * alone). */
gw_session_t *gw_session_new(const gw_session_host_t *host, io_stream_t *stream,
                             const gw_session_faults_t *faults);

/* Closes the session from the gateway's side (a kill, shutdown): traces
 * session_closed with by "gateway", releases its client id, closes the
 * stream with how, calls host->closed and frees the session. */
void gw_session_close(gw_session_t *s, enum io_close_how how, const char *reason);

/* Replaces the session's output faults. A stale session reads and moves
 * through its states as usual, but what it would have sent (of the stale
 * kinds) is dropped, not queued. Output already held back by latency or
 * slicing keeps its place in line. */
void gw_session_set_faults(gw_session_t *s, const gw_session_faults_t *f);

/* Makes a session accepted during a handshake stall mute for good: it never
 * answers the hello and ignores whatever it is sent until it closes. */
void gw_session_stall(gw_session_t *s);

/* Sends errMsg (id, code, text) if the session is ready; 1 if it was sent
 * or dropped as stale, 0 if the session is not ready. May close and free
 * the session (its output bound). */
int gw_session_send_error(gw_session_t *s, int id, int code, const char *text);

/* Writes bytes through the latency and slicing of the session, past its
 * stale filter (an injected write). May close and free the session. */
void gw_session_send_raw(gw_session_t *s, const void *bytes, size_t len);

/* The gw_msg_kind of an outgoing message with that id, for stale's `only`;
 * 0 for the handshake's own messages, which no kind names (nextValidId is
 * one of them until ready: the startup's answer to startApi). */
unsigned gw_msg_kind_of(int id, int ready);

/* The client id the session registered, or -1 before startApi. */
int gw_session_client_id(const gw_session_t *s);

/* Its io_stream_id, and its state's name ("await_hello", "ready", ...). */
uint64_t gw_session_conn(const gw_session_t *s);
const char *gw_session_state_name(const gw_session_t *s);

/* ---- for the request handlers (requests.c) ---- */

/* The negotiated server version (0 before the hello is answered), and
 * whether startApi has made the session ready. */
int gw_session_version(const gw_session_t *s);
int gw_session_is_ready(const gw_session_t *s);
const gw_session_host_t *gw_session_host(const gw_session_t *s);

/* The writer to build one frame in; gw_session_emit sends it through the
 * session's output path (stale filter, latency, slicing, output bound) and
 * empties the writer. Emitting never frees the session, but may close it:
 * a caller outside the session's own input handling (a timer, another
 * session's request) then calls gw_session_settle, which frees a closed
 * session. A request handler must not. */
proto_writer_t *gw_session_writer(gw_session_t *s);
void gw_session_emit(gw_session_t *s, const char *name, int build_rc);
/* Builds and emits a message of the form `id, 1, value` (nextValidId,
 * currentTime), under the same rules. */
void gw_session_send_int(gw_session_t *s, int msg_id, int64_t value);
void gw_session_settle(gw_session_t *s);

/* The session's next order id (nextValidId), raised as orders use ids. */
int gw_session_next_order_id(const gw_session_t *s);
void gw_session_set_next_order_id(gw_session_t *s, int id);

/* Where requests.c keeps the session's request state; the session frees it
 * with gw_req_session_free when it frees itself. */
struct gw_req_session **gw_session_req(gw_session_t *s);

/* Where replay.c keeps the session's replay; freed with
 * gw_replay_session_free when the session frees itself. */
struct gw_replay_session **gw_session_replay(gw_session_t *s);

/* Closes the session from the gateway's side like gw_session_close, but
 * leaves the freeing to the session: safe inside a request handler. */
void gw_session_end(gw_session_t *s, enum io_close_how how, const char *reason);

#endif
