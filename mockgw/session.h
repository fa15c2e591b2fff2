/* session.h - one client connection to the mock gateway: its state machine
 * (hello → startApi → ready → closed), its input decoder and output writer,
 * the client id it registered, and whether it is stale. The gateway owns
 * the session table; a session tells it through `closed` when it is gone. */
#ifndef MOCKGW_SESSION_H
#define MOCKGW_SESSION_H

#include <stdint.h>

#include "../io/io.h"
#include "gateway.h"
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
    void *data;
} gw_session_host_t;

/* Takes over an accepted stream (sets its callback). stale: answer nothing
 * from the start. NULL on allocation failure (the stream is left alone). */
gw_session_t *gw_session_new(const gw_session_host_t *host, io_stream_t *stream, int stale);

/* Closes the session from the gateway's side (a kill, shutdown): traces
 * session_closed with by "gateway", releases its client id, closes the
 * stream with how, calls host->closed and frees the session. */
void gw_session_close(gw_session_t *s, enum io_close_how how, const char *reason);

/* While on, the session reads and moves through its states as usual but
 * sends nothing at all; what it would have sent is dropped, not queued. */
void gw_session_set_stale(gw_session_t *s, int on);

/* The client id the session registered, or -1 before startApi. */
int gw_session_client_id(const gw_session_t *s);

#endif
