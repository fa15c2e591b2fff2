/* client.c - the TWS client session (see client.h). ibc_enter() is the one
 * place the state changes; it runs the entry actions of the state entered
 * (send the hello, send startApi, report ready, close and report). Every
 * callback to the owner is the last thing the code that fires it does. */
#include "client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"

#define IBC_SRC "runner"
#define IBC_ERR_MAX 160

enum ibc_state {
    IBC_IDLE,               /* never connected */
    IBC_CONNECTING,         /* TCP connect in progress */
    IBC_AWAIT_SERVER_HELLO, /* "API\0v157..178" sent */
    IBC_AWAIT_READY,        /* startApi sent; waiting for nextValidId + accounts */
    IBC_READY,
    IBC_CLOSED
};

struct ibc {
    io_loop_t *loop;
    ibc_config_t cfg;
    ibc_events_t ev;
    enum ibc_state state;
    io_stream_t *stream;
    io_timer_t *step_timer; /* restarted on every handshake step */
    io_timer_t *ping_timer;
    proto_decoder_t dec;
    proto_writer_t out;
    proto_writer_t ping_out; /* reqCurrentTime: the same frame every time, built once */
    const char *ping_name;   /* and its name in the catalog, for the trace */
    const char *pong_name;   /* currentTime's name in the catalog, for the trace */
    int version;
    int have_next_id;
    int32_t next_order_id;  /* the latest nextValidId */
    int64_t order_id_floor; /* the last id taken or noted + 1; kept across connections */
    char *accounts;         /* the last managedAccounts text, NULL before one */
    int ping_outstanding;
    uint32_t ping_seq;
    io_us_t ping_sent_us;
    ibc_closed_t close;     /* filled just before entering CLOSED */
    char reason[IBC_ERR_MAX];
};

static const char *const ibc_state_names[] = {
    [IBC_IDLE] = "idle",
    [IBC_CONNECTING] = "connecting",
    [IBC_AWAIT_SERVER_HELLO] = "await_server_hello",
    [IBC_AWAIT_READY] = "await_ready",
    [IBC_READY] = "ready",
    [IBC_CLOSED] = "closed",
};

static const char *ibc_state_name(enum ibc_state s)
{
    return ibc_state_names[s];
}

static void ibc_enter(ibc_t *c, enum ibc_state next);

/* Ends the connection: records who closed it, how and why, then enters
 * CLOSED, which closes the stream and reports to the owner. */
static void ibc_end(ibc_t *c, int by_gateway, enum io_close_how how, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ibc_end(ibc_t *c, int by_gateway, enum io_close_how how, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    c->close = (ibc_closed_t){
        .opened = c->state > IBC_CONNECTING,
        .by_gateway = by_gateway,
        .how = how,
        .reason = c->reason,
    };
    ibc_enter(c, IBC_CLOSED);
}

/* ---- sending ------------------------------------------------------------ */

/* Sends what w holds and traces it as message id, named name (id < 0: the
 * hello, which is not a frame and not traced). Inline: every health check
 * sends here, with the name looked up once (ibc_new). */
static inline int ibc_write_named(ibc_t *c, const proto_writer_t *w, int id, const char *name)
{
    int rc = io_stream_write(c->stream, w->buf, w->len);
    if (rc < 0) {
        ibc_end(c, 0, IO_CLOSE_RST, "write failed: %s", io_strerror(rc));
        return rc;
    }
    if (id >= 0) {
        IO_TRACE(c->loop, IBC_SRC, "msg_out", IO_TI("id", id), IO_TK("name", name ? name : "?"));
    }
    return 0;
}

/* ibc_write_named with the catalog's name of id. */
static int ibc_write(ibc_t *c, const proto_writer_t *w, int id)
{
    return ibc_write_named(c, w, id, id >= 0 ? proto_out_name(id) : NULL);
}

/* Sends what the session's writer holds; build_rc is the writer's verdict. */
static int ibc_write_out(ibc_t *c, int build_rc, int id)
{
    if (build_rc < 0) {
        ibc_end(c, 0, IO_CLOSE_RST, "cannot build a frame: %s", proto_strerror(build_rc));
        return IO_ERR_INVAL;
    }
    return ibc_write(c, &c->out, id);
}

/* Frames are built as: ibc_frame_begin, proto_put_* fields, ibc_frame_send. */
static void ibc_frame_begin(ibc_t *c, int id)
{
    proto_writer_reset(&c->out);
    proto_frame_begin(&c->out);
    proto_put_int(&c->out, id);
}

static int ibc_frame_send(ibc_t *c, int id)
{
    return ibc_write_out(c, proto_frame_end(&c->out), id);
}

static void ibc_send_hello(ibc_t *c)
{
    proto_writer_reset(&c->out);
    ibc_write_out(c,
                  proto_client_hello_write(&c->out, PROTO_CLIENT_VERSION_MIN,
                                           PROTO_CLIENT_VERSION_MAX, NULL),
                  -1);
}

static void ibc_send_start_api(ibc_t *c)
{
    ibc_frame_begin(c, PROTO_OUT_START_API);
    proto_put_int(&c->out, 2);
    proto_put_int(&c->out, c->cfg.client_id);
    proto_put_str(&c->out, ""); /* optionalCapabilities: every client sends "" */
    ibc_frame_send(c, PROTO_OUT_START_API);
}

/* ---- receiving ---------------------------------------------------------- */

static int ibc_accounts_nonempty(const char *accounts)
{
    /* "DU1," is one account; "" and "," are none. */
    return accounts && accounts[strspn(accounts, ", ")] != '\0';
}

static void ibc_check_ready(ibc_t *c)
{
    if (c->state == IBC_AWAIT_READY && c->have_next_id && ibc_accounts_nonempty(c->accounts))
        ibc_enter(c, IBC_READY);
}

static int ibc_on_accounts(ibc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t version;
    const char *accounts;
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_str(r, &accounts, err, errlen);
    if (rc < 0)
        return rc;
    char *copy = strdup(accounts);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return PROTO_ERR_NOMEM;
    }
    free(c->accounts);
    c->accounts = copy;
    ibc_check_ready(c);
    return 0;
}

static int ibc_on_next_valid_id(ibc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t version, id;
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_int(r, &id, err, errlen);
    if (rc < 0)
        return rc;
    c->next_order_id = id;
    c->have_next_id = 1;
    ibc_check_ready(c);
    return 0;
}

static int ibc_on_err_msg(ibc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    proto_err_msg_t m;
    int rc = proto_read_err_msg(r, &m, err, errlen);
    if (rc < 0)
        return rc;
    int32_t id = m.id, code = m.code;
    const char *text = m.text;
    char ev[32];
    snprintf(ev, sizeof ev, "error:%d", (int)code);
    IO_TRACE_NAMED(c->loop, IBC_SRC, ev, IO_TI("id", id), IO_TS("text", text));
    io_log(c->loop, proto_error_is_notice(code) ? IO_LOG_INFO : IO_LOG_WARN, IBC_SRC,
           "gateway error %d (id %d): %s", (int)code, (int)id, text);
    if (code == PROTO_CODE_CLIENT_ID_IN_USE && c->state != IBC_READY)
        ibc_end(c, 0, IO_CLOSE_FIN, "client id in use");
    return 0;
}

/* The outstanding ping got its answer: the session consumes it. Inline:
 * the lone answer's way (ibc_on_stream) then reports without a call of
 * its own. */
__attribute__((always_inline)) static inline void ibc_ping_answered(ibc_t *c)
{
    c->ping_outstanding = 0;
    io_timer_stop(c->ping_timer);
    ibc_ping_result_t res = {c->ping_seq, 1, io_now_us(c->loop) - c->ping_sent_us};
    c->ev.ping_done(c->ev.data, &res);
}

/* 1 when it answered the outstanding ping (the session consumed it). */
static int ibc_on_current_time(ibc_t *c, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t version;
    int64_t secs;
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_int64(r, &secs, err, errlen);
    if (rc < 0)
        return rc;
    if (!c->ping_outstanding)
        return 0; /* an answer to a ping that already timed out */
    ibc_ping_answered(c);
    return 1;
}

/* Every frame received is traced, before the session acts on it. */
static inline void ibc_trace_in(ibc_t *c, int32_t id, const char *name)
{
    IO_TRACE(c->loop, IBC_SRC, "msg_in", IO_TI("id", id), IO_TK("name", name ? name : "?"));
}

/* How the health check's answer begins: currentTime's id, then version 1. */
static const char ibc_pong_head[] = "49\0" "1";
_Static_assert(PROTO_IN_CURRENT_TIME == 49, "ibc_pong_head spells currentTime's id");

/* The frame nearly every delivery holds: the answer to the outstanding
 * ping, a currentTime of version 1 with a Unix time. 1 when f is that, to
 * be handled as ibc_on_message would (ibc_take_ping_answer: the same
 * trace, the same report) without the message's reader, name lookup and
 * typed reads; 0 for any other frame (or an unusual spelling of it), which
 * is ibc_on_message's. The time itself is checked, not read: nobody uses
 * it. */
static inline int ibc_is_ping_answer(const ibc_t *c, const proto_frame_t *f)
{
    proto_reader_t r;
    if (!c->ping_outstanding || f->len < sizeof ibc_pong_head ||
        memcmp(f->payload, ibc_pong_head, sizeof ibc_pong_head) != 0)
        return 0;
    proto_reader_init(&r, f);
    r.pos = sizeof ibc_pong_head; /* past the two fields just compared */
    r.index = 2;
    return proto_skip_unsigned(&r);
}

static inline void ibc_take_ping_answer(ibc_t *c)
{
    ibc_trace_in(c, PROTO_IN_CURRENT_TIME, c->pong_name);
    ibc_ping_answered(c);
}

static inline void ibc_on_message(ibc_t *c, const proto_frame_t *f)
{
    char err[IBC_ERR_MAX];
    proto_reader_t r;
    int32_t id;
    proto_reader_init(&r, f);
    if (proto_read_int(&r, &id, err, sizeof err) < 0) {
        ibc_end(c, 0, IO_CLOSE_RST, "protocol error: message id: %s", err);
        return;
    }
    const char *name = proto_in_name(id);
    ibc_trace_in(c, id, name);
    /* The frame that completes the handshake is the session's own. */
    int deliver = c->state == IBC_READY;
    int rc = 0;
    switch (id) {
    case PROTO_IN_MANAGED_ACCTS:
        rc = ibc_on_accounts(c, &r, err, sizeof err);
        break;
    case PROTO_IN_NEXT_VALID_ID:
        rc = ibc_on_next_valid_id(c, &r, err, sizeof err);
        break;
    case PROTO_IN_ERR_MSG:
        rc = ibc_on_err_msg(c, &r, err, sizeof err);
        break;
    case PROTO_IN_CURRENT_TIME:
        rc = ibc_on_current_time(c, &r, err, sizeof err);
        break;
    default:
        break; /* the session core acts on nothing else; the trace shows it came */
    }
    if (rc < 0) {
        ibc_end(c, 0, IO_CLOSE_RST, "protocol error: %s: %s", name ? name : "?", err);
        return;
    }
    /* rc 1: consumed. A callback above may have closed the session. */
    if (deliver && rc == 0 && c->state == IBC_READY && c->ev.message)
        c->ev.message(c->ev.data, id, f);
}

static void ibc_on_server_hello(ibc_t *c, const proto_frame_t *f)
{
    char err[IBC_ERR_MAX];
    int version;
    if (proto_server_hello_parse(f, &version, NULL, 0, err, sizeof err) < 0) {
        ibc_end(c, 0, IO_CLOSE_RST, "protocol error: server hello: %s", err);
        return;
    }
    if (version < PROTO_CLIENT_VERSION_ACCEPT_MIN || version > PROTO_CLIENT_VERSION_MAX) {
        ibc_end(c, 0, IO_CLOSE_FIN, "server version %d outside %d..%d", version,
                PROTO_CLIENT_VERSION_ACCEPT_MIN, PROTO_CLIENT_VERSION_MAX);
        return;
    }
    c->version = version;
    ibc_enter(c, IBC_AWAIT_READY);
}

/* The connection whose bytes are being drained. The handler and
 * ibc_on_message are inline: the drain then calls straight into them for
 * every frame the runner receives. */
typedef struct ibc_input {
    ibc_t *c;
    io_stream_t *s;
} ibc_input_t;

static inline enum proto_drain_step ibc_on_frame(void *data, const proto_frame_t *f)
{
    ibc_input_t *in = data;
    ibc_t *c = in->c;
    if (c->state == IBC_AWAIT_SERVER_HELLO)
        ibc_on_server_hello(c, f);
    else if (ibc_is_ping_answer(c, f))
        ibc_take_ping_answer(c);
    else
        ibc_on_message(c, f);
    /* The frame may have closed this connection (and a reconnect may have
     * reset the decoder): the rest of the bytes belong to nobody then. */
    return c->stream == in->s ? PROTO_DRAIN_NEXT : PROTO_DRAIN_DROP;
}

static void ibc_on_data(ibc_t *c, io_stream_t *s, const uint8_t *data, size_t len)
{
    char err[IBC_ERR_MAX];
    ibc_input_t in = {c, s};
    int rc = proto_decoder_drain(&c->dec, data, len, ibc_on_frame, &in, err, sizeof err);
    if (rc == PROTO_ERR_NOMEM)
        ibc_end(c, 0, IO_CLOSE_RST, "out of memory buffering input");
    else if (rc < 0)
        ibc_end(c, 0, IO_CLOSE_RST, "protocol error: %s", err);
}

/* The whole delivery nearly every one is: one frame, the answer to the
 * outstanding ping spelt as the Gateway spells it ("49", "1", a Unix time
 * of 8 to 15 digits), nothing buffered before it. */
#define IBC_PONG_DIGITS_MIN 8
#define IBC_PONG_DIGITS_MAX 15
#define IBC_PONG_FIXED (PROTO_FRAME_PREFIX + sizeof ibc_pong_head + 1) /* + the time's NUL */

/* 1 when data is that delivery and was handled as the drain would hand
 * its frame to ibc_on_frame (the decoder's offset moved past it first);
 * 0, with nothing done, for any other delivery, which is the drain's
 * (other spellings of the answer included). Saves the drain's loop, the
 * call through its handler and the reader for every health check. */
static inline int ibc_on_ping_answer_delivery(ibc_t *c, const uint8_t *data, size_t len)
{
    size_t digits = len - IBC_PONG_FIXED; /* wraps for a short delivery */
    const uint8_t *payload = data + PROTO_FRAME_PREFIX;
    proto_frame_t f;
    if (!c->ping_outstanding ||
        digits - IBC_PONG_DIGITS_MIN > IBC_PONG_DIGITS_MAX - IBC_PONG_DIGITS_MIN ||
        memcmp(payload, ibc_pong_head, sizeof ibc_pong_head) != 0 ||
        !proto_all_digits_8to16((const char *)payload + sizeof ibc_pong_head, digits) ||
        !proto_decoder_take_whole(&c->dec, data, len, &f))
        return 0;
    ibc_take_ping_answer(c);
    return 1;
}

/* Every event but a ping's answer (ibc_on_stream). Out of line, so that
 * the answer's way does not pay for the registers and the error buffer of
 * the rest. */
__attribute__((noinline)) static void ibc_on_stream_event(ibc_t *c, io_stream_t *s,
                                                          const io_stream_event_t *ev)
{
    switch (ev->kind) {
    case IO_EV_CONNECTED:
        ibc_enter(c, IBC_AWAIT_SERVER_HELLO);
        break;
    case IO_EV_CONNECT_FAILED:
        ibc_end(c, 0, IO_CLOSE_RST, "connect failed: %s", io_strerror(ev->status));
        break;
    case IO_EV_DATA:
        ibc_on_data(c, s, ev->data, ev->len);
        break;
    case IO_EV_EOF:
        ibc_end(c, 1, IO_CLOSE_FIN, "closed by gateway in %s", ibc_state_name(c->state));
        break;
    case IO_EV_RESET:
        ibc_end(c, 1, IO_CLOSE_RST, "reset by gateway in %s", ibc_state_name(c->state));
        break;
    }
}

static void ibc_on_stream(io_stream_t *s, const io_stream_event_t *ev, void *data)
{
    ibc_t *c = data;
    if (ev->kind == IO_EV_DATA && ibc_on_ping_answer_delivery(c, ev->data, ev->len))
        return;
    ibc_on_stream_event(c, s, ev);
}

/* ---- timers ------------------------------------------------------------- */

static void ibc_on_step_timeout(io_timer_t *t, void *data)
{
    (void)t;
    ibc_t *c = data;
    /* A peer that never answers gets no orderly goodbye: RST frees its side
     * (and our client id) at once. */
    if (c->state == IBC_CONNECTING)
        ibc_end(c, 0, IO_CLOSE_RST, "connect timeout");
    else
        ibc_end(c, 0, IO_CLOSE_RST, "handshake timeout");
}

static void ibc_on_ping_timeout(io_timer_t *t, void *data)
{
    (void)t;
    ibc_t *c = data;
    c->ping_outstanding = 0;
    ibc_ping_result_t res = {c->ping_seq, 0, 0};
    c->ev.ping_done(c->ev.data, &res);
}

/* ---- the state machine -------------------------------------------------- */

static void ibc_reset_connection(ibc_t *c)
{
    proto_decoder_free(&c->dec);
    proto_decoder_init(&c->dec);
    free(c->accounts);
    c->accounts = NULL;
    c->have_next_id = 0;
    c->version = 0;
}

static void ibc_start_connect(ibc_t *c)
{
    char err[IBC_ERR_MAX] = "";
    int rc = io_connect(c->loop, c->cfg.host, c->cfg.port, ibc_on_stream, c, &c->stream, err,
                        sizeof err);
    if (rc < 0) {
        c->stream = NULL;
        ibc_end(c, 0, IO_CLOSE_RST, "connect: %s", err[0] ? err : io_strerror(rc));
    }
}

static void ibc_enter_closed(ibc_t *c)
{
    io_timer_stop(c->step_timer);
    io_timer_stop(c->ping_timer);
    c->ping_outstanding = 0;
    if (c->stream) {
        io_stream_close(c->stream, c->close.how);
        c->stream = NULL;
    }
    ibc_closed_t info = c->close;
    c->ev.closed(c->ev.data, &info);
}

/* max(nextValidId, the floor): see ibc_take_order_id. */
static int32_t ibc_order_id_next(const ibc_t *c)
{
    int64_t id = c->order_id_floor > c->next_order_id ? c->order_id_floor : c->next_order_id;
    return id > INT32_MAX ? INT32_MAX : (int32_t)id;
}

static void ibc_enter(ibc_t *c, enum ibc_state next)
{
    io_log(c->loop, IO_LOG_DEBUG, IBC_SRC, "session %s -> %s", ibc_state_name(c->state),
           ibc_state_name(next));
    c->state = next;
    switch (next) {
    case IBC_IDLE:
        break;
    case IBC_CONNECTING:
        ibc_reset_connection(c);
        io_timer_start(c->step_timer, c->cfg.step_timeout_us);
        ibc_start_connect(c);
        break;
    case IBC_AWAIT_SERVER_HELLO:
        io_timer_start(c->step_timer, c->cfg.step_timeout_us);
        ibc_send_hello(c);
        break;
    case IBC_AWAIT_READY:
        io_timer_start(c->step_timer, c->cfg.step_timeout_us);
        ibc_send_start_api(c);
        break;
    case IBC_READY: {
        io_timer_stop(c->step_timer);
        ibc_ready_t r = {c->version, c->accounts, ibc_order_id_next(c)};
        c->ev.ready(c->ev.data, &r);
        break;
    }
    case IBC_CLOSED:
        ibc_enter_closed(c);
        break;
    }
}

/* ---- public ------------------------------------------------------------- */

/* Builds the health check's reqCurrentTime (version 1) into w. 0 or a
 * PROTO_ERR_* code. */
static int ibc_build_ping(proto_writer_t *w)
{
    proto_frame_begin(w);
    proto_put_int(w, PROTO_OUT_REQ_CURRENT_TIME);
    proto_put_int(w, 1);
    return proto_frame_end(w);
}

/* 1 between ibc_connect and the close. */
static int ibc_active(const ibc_t *c)
{
    return c->state != IBC_IDLE && c->state != IBC_CLOSED;
}

int ibc_new(io_loop_t *loop, const ibc_config_t *cfg, const ibc_events_t *events, ibc_t **out,
            char *err, size_t errlen)
{
    *out = NULL;
    ibc_t *c = calloc(1, sizeof *c);
    if (!c)
        goto fail_alloc;
    c->loop = loop;
    c->cfg = *cfg;
    c->ev = *events;
    c->state = IBC_IDLE;
    c->step_timer = io_timer_new(loop, ibc_on_step_timeout, c);
    if (!c->step_timer)
        goto fail_step_timer;
    c->ping_timer = io_timer_new(loop, ibc_on_ping_timeout, c);
    if (!c->ping_timer)
        goto fail_ping_timer;
    proto_decoder_init(&c->dec);
    proto_writer_init(&c->out);
    proto_writer_init(&c->ping_out);
    if (ibc_build_ping(&c->ping_out) < 0)
        goto fail_ping_frame;
    c->ping_name = proto_out_name(PROTO_OUT_REQ_CURRENT_TIME);
    c->pong_name = proto_in_name(PROTO_IN_CURRENT_TIME);
    *out = c;
    return 0;

fail_ping_frame:
    proto_writer_free(&c->ping_out);
    proto_writer_free(&c->out);
    io_timer_free(c->ping_timer);
fail_ping_timer:
    io_timer_free(c->step_timer);
fail_step_timer:
    free(c);
fail_alloc:
    if (err && errlen)
        snprintf(err, errlen, "client session: out of memory");
    return IO_ERR_NOMEM;
}

void ibc_free(ibc_t *c)
{
    if (!c)
        return;
    if (c->stream)
        io_stream_close(c->stream, IO_CLOSE_RST);
    io_timer_free(c->step_timer);
    io_timer_free(c->ping_timer);
    proto_decoder_free(&c->dec);
    proto_writer_free(&c->out);
    proto_writer_free(&c->ping_out);
    free(c->accounts);
    free(c);
}

int ibc_connect(ibc_t *c)
{
    if (ibc_active(c))
        return IO_ERR_INVAL;
    ibc_enter(c, IBC_CONNECTING);
    return 0;
}

void ibc_close(ibc_t *c, enum io_close_how how, const char *reason)
{
    if (ibc_active(c))
        ibc_end(c, 0, how, "%s", reason);
}

int ibc_ping(ibc_t *c, uint32_t seq)
{
    if (c->state != IBC_READY || c->ping_outstanding)
        return IO_ERR_INVAL;
    int rc = ibc_write_named(c, &c->ping_out, PROTO_OUT_REQ_CURRENT_TIME, c->ping_name);
    if (rc < 0)
        return rc;
    c->ping_outstanding = 1;
    c->ping_seq = seq;
    c->ping_sent_us = io_now_us(c->loop);
    io_timer_start(c->ping_timer, c->cfg.ping_timeout_us);
    return 0;
}

int ibc_ping_outstanding(const ibc_t *c)
{
    return c->ping_outstanding;
}

/* The message id of the one whole frame w holds, or -1. */
static int ibc_frame_id(const proto_writer_t *w)
{
    if (w->error || w->in_frame || w->len <= 4)
        return -1;
    size_t len = (size_t)w->buf[0] << 24 | (size_t)w->buf[1] << 16 | (size_t)w->buf[2] << 8 |
                 (size_t)w->buf[3];
    if (len != w->len - 4)
        return -1;
    proto_frame_t f = {w->buf + 4, len, 0};
    proto_reader_t r;
    int32_t id;
    proto_reader_init(&r, &f);
    return proto_read_int(&r, &id, NULL, 0) == 0 && id >= 0 ? id : -1;
}

int ibc_send(ibc_t *c, const proto_writer_t *w)
{
    int id = ibc_frame_id(w);
    if (c->state != IBC_READY || id < 0)
        return IO_ERR_INVAL;
    return ibc_write(c, w, id);
}

int ibc_is_ready(const ibc_t *c)
{
    return c->state == IBC_READY;
}

int ibc_client_id(const ibc_t *c)
{
    return c->cfg.client_id;
}

int32_t ibc_take_order_id(ibc_t *c)
{
    int32_t id = ibc_order_id_next(c);
    c->order_id_floor = (int64_t)id + 1;
    return id;
}

void ibc_note_order_id(ibc_t *c, int32_t id)
{
    if ((int64_t)id + 1 > c->order_id_floor)
        c->order_id_floor = (int64_t)id + 1;
}
