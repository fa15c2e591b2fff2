/* session.c - one client connection's state machine. Bytes go into a
 * proto_decoder; the greeting is taken off the front of it, then each whole
 * frame is handled according to the state:
 *
 *   AWAIT_HELLO --hello, version agreed--> AWAIT_START_API --startApi--> READY
 *
 * and from any of them to CLOSED: version refused, client id in use, bad
 * bytes, a request before startApi, EOF or RST from the client, a kill.
 *
 * A session is freed by session_finish once it is CLOSED, never in the
 * middle of handling a frame, so the handlers can close it freely. */
#include "session.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"
#include "requests.h"
#include "faults.h"
#include "replay.h"

#define SESSION_SRC "gateway"
#define SESSION_ERR_MAX 256
#define SESSION_LOG_FIELDS_MAX 1024
/* Between the pieces of a sliced write, so that TCP cannot merge them. */
#define SESSION_SLICE_GAP_US IO_US_PER_MS

enum gw_session_state {
    GW_SESSION_AWAIT_HELLO,
    GW_SESSION_AWAIT_START_API,
    GW_SESSION_READY,
    GW_SESSION_CLOSED
};

static const char *const session_state_names[] = {"await_hello", "await_start_api", "ready",
                                                  "closed"};

/* Output held back by latency or slicing, in the order it was sent. */
typedef struct session_out {
    struct session_out *next;
    io_us_t due_us;  /* not written before this (monotonic) */
    size_t len, off; /* off: how much of it is written already */
    uint8_t bytes[];
} session_out_t;

struct gw_session {
    const gw_session_host_t *host;
    io_stream_t *stream;
    unsigned long long conn; /* io_stream_id, typed for printf */
    enum gw_session_state state;
    proto_decoder_t in;
    proto_writer_t out;
    int version;
    int client_id;           /* -1 until startApi registered one */
    int next_order_id;
    struct gw_req_session *req; /* the request handlers' state (requests.c) */
    struct gw_replay_session *replay; /* its replay of a recording (replay.c) */
    gw_session_faults_t faults;
    int stalled;             /* accepted during a handshake stall: mute for good */
    session_out_t *held, *held_tail; /* output waiting for its time */
    size_t held_bytes;
    io_timer_t *pump;        /* fires when the first held output is due */
    proto_id_value_memo_t id_value; /* the last `id, 1, value` frame sent */
    enum io_close_how close_how; /* how session_finish closes the stream */
};

/* The farm notices a Gateway sends after startApi, one per farm kind. */
static const struct {
    int code;
    const char *farm;
} session_farms[] = {
    {PROTO_CODE_MKT_FARM_OK, "usfarm"},
    {PROTO_CODE_HMDS_FARM_OK, "ushmds"},
    {PROTO_CODE_SECDEF_FARM_OK, "secdefnj"},
};

/* ---- state ------------------------------------------------------------- */

/* The one place the state changes. Sessions only move forward, one step at
 * a time, and any live state may close. */
static void session_transition(gw_session_t *s, enum gw_session_state next)
{
    assert(s->state != GW_SESSION_CLOSED);
    assert(next == GW_SESSION_CLOSED || next == s->state + 1);
    io_log(s->host->loop, IO_LOG_DEBUG, SESSION_SRC, "conn=%llu %s -> %s", s->conn,
           session_state_names[s->state], session_state_names[next]);
    s->state = next;
}

/* Moves to CLOSED and frees the client id at once, so that a reconnect
 * with the same id succeeds. The stream is closed later, by
 * session_finish, once no handler is running. */
static void session_end(gw_session_t *s, const char *by, enum io_close_how how, const char *reason)
{
    const char *how_name = how == IO_CLOSE_FIN ? "fin" : "rst";
    session_transition(s, GW_SESSION_CLOSED);
    s->close_how = how;
    io_log(s->host->loop, IO_LOG_INFO, SESSION_SRC, "conn=%llu client_id=%d closed by %s (%s): %s",
           s->conn, s->client_id, by, how_name, reason);
    IO_TRACE(s->host->loop, SESSION_SRC, "session_closed", IO_TI("conn", s->conn),
             IO_TI("client_id", s->client_id), IO_TS("by", by), IO_TS("how", how_name),
             IO_TS("reason", reason));
    if (s->client_id >= 0)
        gw_registry_release(s->host->registry, s->client_id, s->conn);
}

static void session_finish(gw_session_t *s)
{
    io_stream_close(s->stream, s->close_how);
    s->host->closed(s->host->data, s);
    proto_decoder_free(&s->in);
    proto_writer_free(&s->out);
    gw_req_session_free(s->req);
    gw_replay_session_free(s->replay);
    while (s->held) {
        session_out_t *next = s->held->next;
        free(s->held);
        s->held = next;
    }
    if (s->pump)
        io_timer_free(s->pump);
    free(s);
}

/* For callers outside the stream callback (timers, the gateway's faults):
 * frees the session if what they did closed it. */
static void session_settle(gw_session_t *s)
{
    if (s->state == GW_SESSION_CLOSED)
        session_finish(s);
}

/* A peer that breaks the framing or a field cannot be resynchronised, and
 * a Gateway drops it hard. */
static void session_protocol_error(gw_session_t *s, const char *detail)
{
    io_log(s->host->loop, IO_LOG_ERROR, SESSION_SRC, "conn=%llu protocol error: %s", s->conn,
           detail);
    session_end(s, "gateway", IO_CLOSE_RST, "protocol error");
}

/* ---- verbose message log ----------------------------------------------- */

static size_t session_append(char *buf, size_t cap, size_t n, const char *text, size_t len)
{
    size_t room = cap - 1 - n;
    if (len > room)
        len = room;
    memcpy(buf + n, text, len);
    n += len;
    buf[n] = '\0';
    return n;
}

/* Numbers print bare, anything else (and "") in quotes, so that empty and
 * comma-holding fields ("ACC1,ACC2") stay readable. */
static int session_field_is_number(const char *f)
{
    size_t len = strlen(f);
    return len > 0 && strspn(f, "-.0123456789") == len && strpbrk(f, "0123456789") != NULL;
}

/* "[49,1,1765376700]", cut short if it does not fit in buf. */
static void session_format_fields(const proto_frame_t *f, char *buf, size_t cap)
{
    proto_reader_t r;
    proto_reader_init(&r, f);
    size_t n = session_append(buf, cap, 0, "[", 1);
    for (int i = 0; proto_reader_remaining(&r) > 0; i++) {
        const char *field = "";
        if (proto_read_str(&r, &field, NULL, 0) < 0)
            break;
        int quote = !session_field_is_number(field);
        if (i > 0)
            n = session_append(buf, cap, n, ",", 1);
        if (quote)
            n = session_append(buf, cap, n, "\"", 1);
        n = session_append(buf, cap, n, field, strlen(field));
        if (quote)
            n = session_append(buf, cap, n, "\"", 1);
    }
    session_append(buf, cap, n, "]", 1);
}

static void session_log_frame(gw_session_t *s, const char *dir, const char *name,
                              const proto_frame_t *f)
{
    if (!s->host->cfg->verbose)
        return;
    char fields[SESSION_LOG_FIELDS_MAX];
    session_format_fields(f, fields, sizeof fields);
    io_log(s->host->loop, IO_LOG_INFO, SESSION_SRC, "%s conn=%llu %s %s", dir, s->conn,
           name ? name : "unknown", fields);
}

/* ---- output ------------------------------------------------------------ */

static inline void session_write(gw_session_t *s, const uint8_t *bytes, size_t len)
{
    int rc = io_stream_write(s->stream, bytes, len);
    if (rc < 0)
        io_log(s->host->loop, IO_LOG_WARN, SESSION_SRC, "conn=%llu cannot send %zu bytes: %s",
               s->conn, len, io_strerror(rc));
}

/* A client that never reads lets output pile up in its stream; past the
 * bound the session is dropped instead of growing without limit. Held
 * output counts too: it is memory the client is owed. */
static inline void session_check_bound(gw_session_t *s)
{
    size_t waiting = io_stream_pending(s->stream) + s->held_bytes;
    if (s->state == GW_SESSION_CLOSED || waiting <= s->host->cfg->output_max)
        return;
    io_log(s->host->loop, IO_LOG_WARN, SESSION_SRC,
           "conn=%llu client_id=%d does not read: %zu bytes waiting, bound %zu", s->conn,
           s->client_id, waiting, s->host->cfg->output_max);
    session_end(s, "gateway", IO_CLOSE_RST, "output bound exceeded");
}

/* Writes the held output that is due, in order: whole, or while slicing one
 * piece of at most slice_max bytes per pass, SESSION_SLICE_GAP_US apart.
 * Then waits for the next piece's time. */
static void session_pump(gw_session_t *s)
{
    io_us_t now = io_now_us(s->host->loop);
    while (s->held && s->held->due_us <= now) {
        session_out_t *o = s->held;
        size_t n = o->len - o->off;
        if (s->faults.slice_max > 0 && n > s->faults.slice_max)
            n = s->faults.slice_max;
        session_write(s, o->bytes + o->off, n);
        o->off += n;
        s->held_bytes -= n;
        if (o->off == o->len) {
            s->held = o->next;
            s->held_tail = s->held ? s->held_tail : NULL;
            free(o);
        }
        if (s->faults.slice_max > 0) {
            if (s->held && s->held->due_us < now + SESSION_SLICE_GAP_US)
                s->held->due_us = now + SESSION_SLICE_GAP_US;
            break;
        }
    }
    if (s->held)
        io_timer_start(s->pump, s->held->due_us - now);
}

static void session_on_pump(io_timer_t *timer, void *data)
{
    gw_session_t *s = data;
    (void)timer;
    session_pump(s);
    session_check_bound(s);
    session_settle(s);
}

/* Queues bytes behind whatever is held already (so a shorter latency never
 * lets later output overtake earlier output), due after the latency. Never
 * inlined: session_output's way without a fault then saves no registers. */
static __attribute__((noinline)) void session_hold(gw_session_t *s, const uint8_t *bytes, size_t len)
{
    io_loop_t *loop = s->host->loop;
    session_out_t *o = malloc(sizeof *o + len);
    if (!s->pump)
        s->pump = io_timer_new(loop, session_on_pump, s);
    if (!o || !s->pump) {
        free(o);
        io_log(loop, IO_LOG_ERROR, SESSION_SRC, "conn=%llu cannot hold output: out of memory",
               s->conn);
        session_end(s, "gateway", IO_CLOSE_RST, "out of memory");
        return;
    }
    o->next = NULL;
    o->due_us = io_now_us(loop) + s->faults.latency_us;
    if (s->held_tail && s->held_tail->due_us > o->due_us)
        o->due_us = s->held_tail->due_us;
    o->len = len;
    o->off = 0;
    memcpy(o->bytes, bytes, len);
    if (s->held_tail)
        s->held_tail->next = o;
    else
        s->held = o;
    s->held_tail = o;
    s->held_bytes += len;
    if (!io_timer_active(s->pump))
        io_timer_start(s->pump, s->held->due_us - io_now_us(loop));
}

/* Every write leaves through here: at once when no fault holds output
 * back, else in line behind it. Inline, with session_write and
 * session_check_bound: every frame the gateway sends takes this path. */
static inline void session_output(gw_session_t *s, const uint8_t *bytes, size_t len)
{
    if (!s->held && s->faults.latency_us == 0 && s->faults.slice_max == 0)
        session_write(s, bytes, len);
    else
        session_hold(s, bytes, len);
    session_check_bound(s);
}

unsigned gw_msg_kind_of(int id, int ready)
{
    switch (id) {
    case PROTO_IN_CURRENT_TIME:
        return GW_KIND_CURRENT_TIME;
    case PROTO_IN_HISTORICAL_DATA:
    case PROTO_IN_HISTORICAL_DATA_UPDATE:
    case PROTO_IN_HISTORICAL_DATA_END:
        return GW_KIND_HISTORICAL;
    case PROTO_IN_TICK_PRICE:
    case PROTO_IN_TICK_SIZE:
    case PROTO_IN_TICK_GENERIC:
    case PROTO_IN_TICK_STRING:
    case PROTO_IN_TICK_SNAPSHOT_END:
    case PROTO_IN_MARKET_DATA_TYPE:
    case PROTO_IN_TICK_REQ_PARAMS:
        return GW_KIND_MARKET_DATA;
    case PROTO_IN_POSITION_DATA:
    case PROTO_IN_POSITION_END:
        return GW_KIND_POSITIONS;
    case PROTO_IN_ACCT_VALUE:
    case PROTO_IN_PORTFOLIO_VALUE:
    case PROTO_IN_ACCT_UPDATE_TIME:
    case PROTO_IN_ACCT_DOWNLOAD_END:
    case PROTO_IN_ACCOUNT_SUMMARY:
    case PROTO_IN_ACCOUNT_SUMMARY_END:
    case PROTO_IN_ACCOUNT_UPDATE_MULTI:
    case PROTO_IN_ACCOUNT_UPDATE_MULTI_END:
        return GW_KIND_ACCOUNT;
    case PROTO_IN_ORDER_STATUS:
    case PROTO_IN_OPEN_ORDER:
    case PROTO_IN_OPEN_ORDER_END:
    case PROTO_IN_COMPLETED_ORDER:
    case PROTO_IN_COMPLETED_ORDERS_END:
        return GW_KIND_ORDERS;
    case PROTO_IN_EXECUTION_DATA:
    case PROTO_IN_EXECUTION_DATA_END:
    case PROTO_IN_COMMISSION_REPORT:
        return GW_KIND_EXECUTIONS;
    case PROTO_IN_CONTRACT_DATA:
    case PROTO_IN_CONTRACT_DATA_END:
        return GW_KIND_CONTRACTS;
    case PROTO_IN_NEXT_VALID_ID:
        /* The startup's nextValidId is part of the handshake. */
        return ready ? GW_KIND_IDS : 0;
    case PROTO_IN_ERR_MSG:
        return GW_KIND_ERRORS;
    default:
        return 0;
    }
}

/* Whether stale drops this frame, as a hung Gateway never sends it. */
static int session_silenced(const gw_session_t *s, const proto_frame_t *f)
{
    if (s->faults.stale)
        return 1;
    if (s->faults.stale_only == 0)
        return 0;
    proto_reader_t r;
    int32_t id = -1;
    proto_reader_init(&r, f);
    if (proto_read_int(&r, &id, NULL, 0) < 0)
        return 0;
    return (gw_msg_kind_of(id, s->state == GW_SESSION_READY) & s->faults.stale_only) != 0;
}

/* session_send_frame's way when stale may silence the frame or it is to
 * be logged. */
static __attribute__((noinline)) void session_send_frame_checked(gw_session_t *s,
                                                                 const char *name,
                                                                 const uint8_t *bytes, size_t len)
{
    proto_frame_t f = {bytes + PROTO_FRAME_PREFIX, len - PROTO_FRAME_PREFIX, 0};
    if (session_silenced(s, &f)) {
        io_log(s->host->loop, IO_LOG_DEBUG, SESSION_SRC, "conn=%llu stale: %s not sent", s->conn,
               name);
    } else {
        session_log_frame(s, "out", name, &f);
        session_output(s, bytes, len);
    }
}

/* Sends one whole frame (len bytes from its length prefix on) unless
 * stale silences it or the session has ended while answering. */
static inline void session_send_frame(gw_session_t *s, const char *name, const uint8_t *bytes,
                                      size_t len)
{
    if (s->state == GW_SESSION_CLOSED)
        return;
    if (s->faults.stale || s->faults.stale_only || s->host->cfg->verbose)
        session_send_frame_checked(s, name, bytes, len);
    else
        session_output(s, bytes, len);
}

/* Sends the one frame s->out holds, built with result build_rc. */
static void session_emit(gw_session_t *s, const char *name, int build_rc)
{
    proto_writer_t *w = &s->out;
    if (build_rc < 0)
        io_log(s->host->loop, IO_LOG_ERROR, SESSION_SRC, "conn=%llu cannot build %s: %s",
               s->conn, name, proto_strerror(build_rc));
    else /* the writer was empty, so the frame starts at 0 */
        session_send_frame(s, name, w->buf, w->len);
    proto_writer_reset(w);
}

/* errMsg in the negotiated version's layout (requests.h). */
static void session_send_error(gw_session_t *s, int id, int code, const char *text)
{
    session_emit(s, proto_in_name(PROTO_IN_ERR_MSG),
                 gw_req_put_error(&s->out, s->version, id, code, text));
}

/* The messages of the form `id, 1, value` (nextValidId, currentTime): the
 * health check's answer, so sent from the session's memo of the last one,
 * mostly four digits rewritten, the writer left alone. */
static void session_send_int(gw_session_t *s, int msg_id, int64_t value)
{
    int len = proto_frame_id_value_memo(&s->id_value, msg_id, value);
    session_send_frame(s, proto_in_name(msg_id), s->id_value.frame, (size_t)len);
}

static void session_send_accounts(gw_session_t *s)
{
    proto_writer_t *w = &s->out;
    proto_frame_begin(w);
    proto_put_int(w, PROTO_IN_MANAGED_ACCTS);
    proto_put_int(w, 1);
    proto_put_str(w, s->host->accounts_csv);
    session_emit(s, proto_in_name(PROTO_IN_MANAGED_ACCTS), proto_frame_end(w));
}

static void session_send_farm_notices(gw_session_t *s)
{
    for (size_t i = 0; i < sizeof session_farms / sizeof session_farms[0]; i++) {
        /* The catalogue's texts end in "OK:", ready for the farm's name. */
        char text[128];
        snprintf(text, sizeof text, "%s%s", proto_error_text(session_farms[i].code),
                 session_farms[i].farm);
        session_send_error(s, -1, session_farms[i].code, text);
    }
}

/* ---- input: the greeting ----------------------------------------------- */

static void session_on_hello(gw_session_t *s, const proto_client_hello_t *hello)
{
    io_loop_t *loop = s->host->loop;
    const gw_config_t *cfg = s->host->cfg;
    char err[SESSION_ERR_MAX];
    if (cfg->verbose)
        io_log(loop, IO_LOG_INFO, SESSION_SRC, "in  conn=%llu hello v%d..%d%s%s", s->conn,
               hello->min_version, hello->max_version, hello->options[0] ? " " : "",
               hello->options);
    if (s->host->replay) {
        /* The recording fixes the version; replay.c logs and traces a refusal. */
        if (gw_replay_hello(s->host->replay, s, hello, &s->version) < 0) {
            session_end(s, "gateway", IO_CLOSE_FIN, "replay version refused");
            return;
        }
    } else if (proto_negotiate(hello, cfg->server_version_min, cfg->server_version_max,
                               &s->version, err, sizeof err) < 0) {
        /* A Gateway says nothing to a client it cannot serve; it hangs up. */
        io_log(loop, IO_LOG_WARN, SESSION_SRC, "conn=%llu version refused: %s", s->conn, err);
        IO_TRACE(loop, SESSION_SRC, "reject", IO_TI("conn", s->conn), IO_TI("client_id", -1),
                 IO_TI("code", 0));
        session_end(s, "gateway", IO_CLOSE_FIN, "version refused");
        return;
    }
    char when[32];
    proto_connection_time(io_wall_us(loop), when);
    session_emit(s, "serverHello", proto_server_hello_write(&s->out, s->version, when));
    session_transition(s, GW_SESSION_AWAIT_START_API);
}

/* Takes the greeting off the front of the decoder once it is all there. */
static void session_read_hello(gw_session_t *s)
{
    proto_client_hello_t hello;
    char err[SESSION_ERR_MAX];
    int rc = proto_client_hello_read(&s->in, &hello, err, sizeof err);
    if (rc < 0)
        session_protocol_error(s, err);
    else if (rc == 1)
        session_on_hello(s, &hello);
}

/* ---- input: frames ----------------------------------------------------- */

/* why: the holder, or the fault that refused a free id. */
static void session_reject_client_id(gw_session_t *s, int client_id, const char *why)
{
    io_log(s->host->loop, IO_LOG_WARN, SESSION_SRC, "conn=%llu client id %d refused (%s)",
           s->conn, client_id, why);
    session_send_error(s, -1, PROTO_CODE_CLIENT_ID_IN_USE,
                       proto_error_text(PROTO_CODE_CLIENT_ID_IN_USE));
    IO_TRACE(s->host->loop, SESSION_SRC, "reject", IO_TI("conn", s->conn),
             IO_TI("client_id", client_id), IO_TI("code", PROTO_CODE_CLIENT_ID_IN_USE));
    session_end(s, "gateway", IO_CLOSE_FIN, "client id in use");
}

/* startApi: 71, 2, clientId, optionalCapabilities (ignored). */
static int session_on_start_api(gw_session_t *s, proto_reader_t *r, char *err, size_t errlen)
{
    int32_t version, client_id;
    int rc = proto_read_int(r, &version, err, errlen);
    if (rc == 0)
        rc = proto_read_int(r, &client_id, err, errlen);
    if (rc < 0)
        return rc;
    /* -1 means "no id" throughout the gateway's traces and faults. */
    if (client_id < 0 || client_id == PROTO_INT_UNSET) {
        snprintf(err, errlen, "field %d: client id %d is not a usable id", r->index - 1,
                 (int)client_id);
        return PROTO_ERR_FIELD;
    }
    if (s->host->start_api(s->host->data, s, client_id)) {
        session_reject_client_id(s, client_id, "client_id_in_use fault");
        return 0;
    }
    /* The registry cannot be full while sessions are capped at its size;
     * if it were, refusing the id is still the safe answer. */
    rc = gw_registry_claim(s->host->registry, client_id, s->conn);
    if (rc < 0) {
        uint64_t holder = 0;
        char why[64];
        gw_registry_lookup(s->host->registry, client_id, &holder);
        snprintf(why, sizeof why, "%s, conn=%llu", io_strerror(rc), (unsigned long long)holder);
        session_reject_client_id(s, client_id, why);
        return 0;
    }
    s->client_id = client_id;
    if (!s->host->replay || gw_replay_start(s->host->replay, s) < 0) {
        session_send_accounts(s);
        session_send_int(s, PROTO_IN_NEXT_VALID_ID, s->next_order_id);
        session_send_farm_notices(s);
    }
    session_transition(s, GW_SESSION_READY);
    io_log(s->host->loop, IO_LOG_INFO, SESSION_SRC, "conn=%llu ready: client_id=%d version=%d",
           s->conn, s->client_id, s->version);
    IO_TRACE(s->host->loop, SESSION_SRC, "session_ready", IO_TI("conn", s->conn),
             IO_TI("client_id", s->client_id), IO_TI("version", s->version));
    return 0;
}

/* Every request of a ready session is answered by requests.c, unless the
 * session replays a recording that answers it. */
static int session_on_request(gw_session_t *s, int32_t id, proto_reader_t *r)
{
    if (s->replay && gw_replay_request(s->replay, id, r))
        return 0;
    gw_req_handle(s, id, r);
    return 0;
}

/* A frame that is not the health check's plain form: read and handled
 * according to the state. Out of line: the health check's way stays lean. */
static __attribute__((noinline)) void session_on_frame_read(gw_session_t *s,
                                                            const proto_frame_t *f)
{
    proto_reader_t r;
    char err[SESSION_ERR_MAX];
    int32_t id = -1;
    proto_reader_init(&r, f);
    int rc = proto_read_int(&r, &id, err, sizeof err);
    if (s->host->cfg->verbose) /* the name is looked up only for the log */
        session_log_frame(s, "in ", rc == 0 ? proto_out_name(id) : NULL, f);
    if (rc == 0 && s->state == GW_SESSION_AWAIT_START_API) {
        if (id == PROTO_OUT_START_API) {
            rc = session_on_start_api(s, &r, err, sizeof err);
        } else {
            io_log(s->host->loop, IO_LOG_WARN, SESSION_SRC,
                   "conn=%llu message %d before startApi", s->conn, (int)id);
            session_end(s, "gateway", IO_CLOSE_FIN, "request before startApi");
        }
    } else if (rc == 0) {
        rc = session_on_request(s, id, &r);
    }
    if (rc < 0) {
        char detail[SESSION_ERR_MAX + 64];
        snprintf(detail, sizeof detail, "frame at byte offset %llu: %s",
                 (unsigned long long)f->offset, err);
        session_protocol_error(s, detail);
    }
}

static inline void session_on_frame(gw_session_t *s, const proto_frame_t *f)
{
    /* Nearly every frame is the health check, answered from its bytes
     * before anything is read (unless a replay answers requests, or the
     * frame is to be logged). */
    if (s->state == GW_SESSION_READY && !s->replay && !s->host->cfg->verbose &&
        gw_req_handle_plain(s, f))
        return;
    session_on_frame_read(s, f);
}

/* Frames are read while the session is past the greeting and not closed. */
static int session_reading(const gw_session_t *s)
{
    return s->state == GW_SESSION_AWAIT_START_API || s->state == GW_SESSION_READY;
}

static enum proto_drain_step session_on_frame_step(void *data, const proto_frame_t *f)
{
    gw_session_t *s = data;
    session_on_frame(s, f);
    return session_reading(s) ? PROTO_DRAIN_NEXT : PROTO_DRAIN_KEEP;
}

static void session_out_of_memory(gw_session_t *s, int rc)
{
    io_log(s->host->loop, IO_LOG_ERROR, SESSION_SRC, "conn=%llu %s", s->conn, proto_strerror(rc));
    session_end(s, "gateway", IO_CLOSE_RST, "out of memory");
}

/* Every delivery but a ready session's lone whole frame (see
 * session_on_stream). */
static __attribute__((noinline)) void session_on_data(gw_session_t *s, const uint8_t *data,
                                                      size_t len)
{
    char err[SESSION_ERR_MAX];
    if (s->stalled)
        return; /* a stalled Gateway reads nothing, so nothing piles up either */
    if (s->state == GW_SESSION_AWAIT_HELLO) {
        /* The greeting is read out of the decoder: buffer it all, then
         * drain whatever frames followed it. */
        int rc = proto_decoder_feed(&s->in, data, len);
        if (rc < 0) {
            session_out_of_memory(s, rc);
            return;
        }
        session_read_hello(s);
        len = 0;
    }
    if (!session_reading(s))
        return;
    int rc = proto_decoder_drain(&s->in, data, len, session_on_frame_step, s, err, sizeof err);
    /* A handler stops the drain only by closing the session; copying the
     * rest can then still run out of memory, which no longer matters. */
    if (rc == PROTO_ERR_NOMEM && session_reading(s))
        session_out_of_memory(s, rc);
    else if (rc < 0 && session_reading(s))
        session_protocol_error(s, err);
}

static void session_on_stream(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    gw_session_t *s = data;
    (void)stream;
    proto_frame_t f;
    switch (ev->kind) {
    case IO_EV_DATA:
        /* Nearly every delivery is one whole frame, the health check, to a
         * ready session: handled in place, without the drain's loop. */
        if (s->state == GW_SESSION_READY && !s->stalled &&
            proto_decoder_take_whole(&s->in, ev->data, ev->len, &f))
            session_on_frame(s, &f);
        else
            session_on_data(s, ev->data, ev->len);
        break;
    case IO_EV_EOF:
        session_end(s, "client", IO_CLOSE_FIN, "closed by client");
        break;
    case IO_EV_RESET:
        session_end(s, "client", IO_CLOSE_RST, "reset by client");
        break;
    case IO_EV_CONNECTED:
    case IO_EV_CONNECT_FAILED:
        break; /* outgoing-only events; an accepted stream never gets them */
    }
    if (s->state == GW_SESSION_CLOSED)
        session_finish(s);
}

/* ---- public ------------------------------------------------------------ */

gw_session_t *gw_session_new(const gw_session_host_t *host, io_stream_t *stream,
                             const gw_session_faults_t *faults)
{
    gw_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->host = host;
    s->stream = stream;
    s->conn = io_stream_id(stream);
    s->state = GW_SESSION_AWAIT_HELLO;
    s->client_id = -1;
    s->next_order_id = host->cfg->next_order_id;
    s->faults = *faults;
    proto_decoder_init(&s->in);
    proto_writer_init(&s->out);
    proto_id_value_memo_init(&s->id_value);
    io_stream_set_cb(stream, session_on_stream, s);
    return s;
}

void gw_session_close(gw_session_t *s, enum io_close_how how, const char *reason)
{
    session_end(s, "gateway", how, reason);
    session_finish(s);
}

void gw_session_set_faults(gw_session_t *s, const gw_session_faults_t *f)
{
    s->faults = *f;
}

void gw_session_stall(gw_session_t *s)
{
    s->stalled = 1;
}

int gw_session_send_error(gw_session_t *s, int id, int code, const char *text)
{
    if (s->state != GW_SESSION_READY)
        return 0;
    session_send_error(s, id, code, text);
    session_settle(s);
    return 1;
}

void gw_session_send_raw(gw_session_t *s, const void *bytes, size_t len)
{
    session_output(s, bytes, len);
    session_settle(s);
}

int gw_session_client_id(const gw_session_t *s)
{
    return s->client_id;
}

uint64_t gw_session_conn(const gw_session_t *s)
{
    return s->conn;
}

const char *gw_session_state_name(const gw_session_t *s)
{
    return session_state_names[s->state];
}

int gw_session_version(const gw_session_t *s)
{
    return s->version;
}

int gw_session_is_ready(const gw_session_t *s)
{
    return s->state == GW_SESSION_READY;
}

const gw_session_host_t *gw_session_host(const gw_session_t *s)
{
    return s->host;
}

proto_writer_t *gw_session_writer(gw_session_t *s)
{
    return &s->out;
}

void gw_session_emit(gw_session_t *s, const char *name, int build_rc)
{
    session_emit(s, name, build_rc);
}

void gw_session_send_int(gw_session_t *s, int msg_id, int64_t value)
{
    session_send_int(s, msg_id, value);
}

void gw_session_settle(gw_session_t *s)
{
    session_settle(s);
}

int gw_session_next_order_id(const gw_session_t *s)
{
    return s->next_order_id;
}

void gw_session_set_next_order_id(gw_session_t *s, int id)
{
    s->next_order_id = id;
}

struct gw_req_session **gw_session_req(gw_session_t *s)
{
    return &s->req;
}

struct gw_replay_session **gw_session_replay(gw_session_t *s)
{
    return &s->replay;
}

void gw_session_end(gw_session_t *s, enum io_close_how how, const char *reason)
{
    if (s->state != GW_SESSION_CLOSED)
        session_end(s, "gateway", how, reason);
}
