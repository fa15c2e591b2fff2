/* client.h - one TWS client session: a single TCP connection taken through
 * connect → hello → startApi → ready (nextValidId and a non-empty
 * managedAccounts, either order), reqCurrentTime pings with their own
 * timeout, errMsg tracing, and the close (orderly FIN or abortive RST).
 *
 * The session owns the wire and traces msg_in / msg_out / error:<code>.
 * Everything else (connect, ready, ping, disconnect, ...) it reports to its
 * owner through ibc_events_t, and the owner decides what to trace and do.
 * A session object is reused: after it closes, ibc_connect starts anew. */
#ifndef RUNNER_CLIENT_H
#define RUNNER_CLIENT_H

#include <stdint.h>

#include "../io/io.h"
#include "../proto/frame.h"

typedef struct ibc_config {
    const char *host;      /* must outlive the session */
    uint16_t port;
    int client_id;
    io_us_t step_timeout_us; /* TCP connect, server hello, ready: each step */
    io_us_t ping_timeout_us;
} ibc_config_t;

typedef struct ibc_ready {
    int version;            /* negotiated server version */
    const char *accounts;   /* managedAccounts text, as sent */
    int32_t next_order_id;
} ibc_ready_t;

typedef struct ibc_ping_result {
    uint32_t seq;
    int ok;                 /* 1: currentTime arrived; 0: the ping timed out */
    io_us_t rtt_us;         /* when ok */
} ibc_ping_result_t;

typedef struct ibc_closed {
    int opened;             /* 0: the TCP connect itself failed or was abandoned */
    int by_gateway;         /* the peer closed it (EOF or RST) */
    enum io_close_how how;  /* how the side that closed it closed it */
    const char *reason;     /* valid during the callback */
} ibc_closed_t;

/* The owner's side of the session. Callbacks may call any ibc_ function
 * but must not free the session: ibc_free only from outside its callbacks.
 * closed fires exactly once for every ibc_connect. */
typedef struct ibc_events {
    void (*ready)(void *data, const ibc_ready_t *ready);
    void (*ping_done)(void *data, const ibc_ping_result_t *result);
    void (*closed)(void *data, const ibc_closed_t *closed);
    void *data;
    /* Every frame that arrives while READY and that the session does not
     * consume itself (all but the currentTime answering a ping), errMsg
     * included (it is traced as error:<code> first). frame is the whole
     * payload, the id field first, valid during the call. NULL: dropped.
     * Last, so that initialisers of the four members above stay valid. */
    void (*message)(void *data, int32_t msg_id, const proto_frame_t *frame);
} ibc_events_t;

typedef struct ibc ibc_t;

/* 0, or IO_ERR_NOMEM with details in err. cfg and events are copied. */
int ibc_new(io_loop_t *loop, const ibc_config_t *cfg, const ibc_events_t *events, ibc_t **out,
            char *err, size_t errlen);
/* Frees the session; an open stream is reset without any callback. */
void ibc_free(ibc_t *c);

/* Starts a connection from IDLE or CLOSED (IO_ERR_INVAL otherwise). A host
 * io cannot even try reports through closed, like any other failure. */
int ibc_connect(ibc_t *c);
/* Closes an active session (any state but IDLE/CLOSED) by our side; closed
 * fires before this returns, with by_gateway 0 and this how and reason. */
void ibc_close(ibc_t *c, enum io_close_how how, const char *reason);
/* Sends reqCurrentTime; ping_done reports the answer or the timeout. Only
 * when READY and no ping is outstanding: IO_ERR_INVAL otherwise. A write
 * failure closes the session (closed fires) and returns its code. */
int ibc_ping(ibc_t *c, uint32_t seq);

/* 1 while a ping awaits its answer or its timeout. */
int ibc_ping_outstanding(const ibc_t *c);

/* Sends the one finished frame w holds (proto_frame_begin … _end) and
 * traces msg_out with its id. Only when READY and for a writer holding
 * exactly one whole frame: IO_ERR_INVAL otherwise. A write failure closes
 * the session (closed fires before this returns) and returns its code. */
int ibc_send(ibc_t *c, const proto_writer_t *w);

/* 1 while the session is READY. */
int ibc_is_ready(const ibc_t *c);

int ibc_client_id(const ibc_t *c);

/* The id for a new order: max(the latest nextValidId, the last id taken or
 * noted + 1). The floor survives reconnects, so a gateway whose
 * nextValidId went backwards (after its restart) never gets an id twice. */
int32_t ibc_take_order_id(ibc_t *c);
/* Counts id as used (an order an earlier run journaled). */
void ibc_note_order_id(ibc_t *c, int32_t id);

#endif
