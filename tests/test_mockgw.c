/* test_mockgw.c - the mock gateway core (gateway, session, registry) driven
 * over io_sim by scripted clients written here: they send exact bytes and
 * decode the replies with proto's decoder, each frame kept as its fields
 * joined by '|' ("4|2|-1|2104|...|" ends in '|' for a trailing ""). Traces
 * and log lines are recorded so tests can assert on them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mockgw/gateway.h"
#include "../mockgw/registry.h"
#include "../proto/proto.h"
#include "../sim/io_sim.h"
#include "testlib.h"

/* 2025-12-10 14:25:00 UTC, the wall clock at virtual time 0. */
#define T_START_WALL_S 1765376700
#define T_FRAMES_MAX 32
#define T_RAW_MAX 4096
#define T_RECORDS_MAX 256
#define T_CLIENTS_MAX 40

typedef struct t_client {
    io_stream_t *stream;
    unsigned long long conn; /* the gateway's id for this connection, 0 if none */
    proto_decoder_t dec;
    char *frames[T_FRAMES_MAX];
    size_t nframes;
    uint8_t raw[T_RAW_MAX]; /* every byte received, in order */
    size_t nraw;
    int eof;
    int reset;
} t_client_t;

typedef struct t_records {
    char *lines[T_RECORDS_MAX];
    size_t n;
} t_records_t;

static struct {
    io_loop_t *loop;
    gw_t *gw;
    gw_config_t cfg;
    t_records_t traces; /* "ev key=value ..." */
    t_records_t logs;   /* the log text */
    t_client_t *clients[T_CLIENTS_MAX];
    size_t nclients;
} E;

/* ---- recording --------------------------------------------------------- */

static void records_add(t_records_t *r, const char *line)
{
    if (r->n < T_RECORDS_MAX)
        r->lines[r->n++] = strdup(line);
}

static void records_free(t_records_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->lines[i]);
    r->n = 0;
}

static int records_has(const t_records_t *r, const char *line)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->lines[i], line) == 0)
            return 1;
    return 0;
}

static int records_has_substr(const t_records_t *r, const char *part)
{
    for (size_t i = 0; i < r->n; i++)
        if (strstr(r->lines[i], part))
            return 1;
    return 0;
}

static void trace_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                       size_t nfields, const io_trace_field_t *fields)
{
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "%s", ev);
    (void)data;
    (void)wall_us;
    CU_ASSERT_STRING_EQUAL(src, "gateway");
    for (size_t i = 0; i < nfields && n < sizeof line; i++) {
        if (fields[i].str)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%s", fields[i].key,
                                  fields[i].str);
        else
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%lld", fields[i].key,
                                  (long long)fields[i].num);
    }
    records_add(&E.traces, line);
}

static void log_sink(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                     const char *text)
{
    (void)data;
    (void)wall_us;
    (void)level;
    (void)src;
    records_add(&E.logs, text);
}

/* Formats an expected trace line and says whether it was recorded. */
static int traced(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int traced(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return records_has(&E.traces, line);
}

static int logged(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int logged(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return records_has(&E.logs, line);
}

/* ---- the environment: a sim loop and one gateway ----------------------- */

static void run_ms(long long ms)
{
    io_sim_run_until(E.loop, io_now_us(E.loop) + ms * IO_US_PER_MS);
}

static void env_init(void)
{
    memset(&E, 0, sizeof E);
    io_sim_config_t sc = {42, (io_us_t)T_START_WALL_S * IO_US_PER_S, IO_SIM_NET_DEFAULT};
    E.loop = io_sim_loop_new(&sc);
    io_set_trace_sink(E.loop, trace_sink, NULL);
    io_set_log_sink(E.loop, IO_LOG_DEBUG, log_sink, NULL);
    gw_config_defaults(&E.cfg);
}

/* Starts the gateway with E.cfg (set it between env_init and this). */
static void env_start_gw(void)
{
    char err[256] = "";
    int rc = gw_new(E.loop, &E.cfg, &E.gw, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void env_start(void)
{
    env_init();
    env_start_gw();
}

static void client_free(t_client_t *c)
{
    if (c->stream)
        io_stream_close(c->stream, IO_CLOSE_FIN);
    proto_decoder_free(&c->dec);
    for (size_t i = 0; i < c->nframes; i++)
        free(c->frames[i]);
    free(c);
}

/* Frees the gateway and the clients, then checks that nothing io-level
 * was left behind before the loop goes. */
static void env_stop(void)
{
    gw_free(E.gw);
    for (size_t i = 0; i < E.nclients; i++)
        client_free(E.clients[i]);
    io_loop_run(E.loop);
    io_stats_t st;
    io_loop_stats(E.loop, &st);
    CU_ASSERT_EQUAL(st.streams, 0);
    CU_ASSERT_EQUAL(st.listeners, 0);
    CU_ASSERT_EQUAL(st.timers, 0);
    io_loop_free(E.loop);
    records_free(&E.traces);
    records_free(&E.logs);
}

/* ---- the scripted client ----------------------------------------------- */

/* "15|1|DU1234567" for the frame's fields, via proto's field reader. */
static char *frame_join(const proto_frame_t *f)
{
    char *out = calloc(1, f->len + 1);
    proto_reader_t r;
    proto_reader_init(&r, f);
    for (int i = 0; proto_reader_remaining(&r) > 0; i++) {
        const char *field;
        if (proto_read_str(&r, &field, NULL, 0) < 0)
            break;
        if (i > 0)
            strcat(out, "|");
        strcat(out, field);
    }
    return out;
}

static void client_on_data(t_client_t *c, const uint8_t *data, size_t len)
{
    CU_ASSERT_FATAL(c->nraw + len <= T_RAW_MAX);
    memcpy(c->raw + c->nraw, data, len);
    c->nraw += len;
    CU_ASSERT_EQUAL_FATAL(proto_decoder_feed(&c->dec, data, len), 0);
    proto_frame_t f;
    char err[256];
    int rc;
    while ((rc = proto_decoder_next(&c->dec, &f, err, sizeof err)) == 1) {
        CU_ASSERT_FATAL(c->nframes < T_FRAMES_MAX);
        c->frames[c->nframes++] = frame_join(&f);
    }
    CU_ASSERT_EQUAL(rc, 0);
}

static void client_cb(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    t_client_t *c = data;
    (void)stream;
    if (ev->kind == IO_EV_DATA)
        client_on_data(c, ev->data, ev->len);
    else if (ev->kind == IO_EV_EOF)
        c->eof = 1;
    else if (ev->kind == IO_EV_RESET)
        c->reset = 1;
}

/* The conn of the last accept traced after `before` records, or 0. */
static unsigned long long last_accept_since(size_t before)
{
    unsigned long long conn = 0;
    for (size_t i = before; i < E.traces.n; i++)
        sscanf(E.traces.lines[i], "accept conn=%llu", &conn);
    return conn;
}

/* Connects to the gateway and lets the connect complete. */
static t_client_t *client_new(void)
{
    t_client_t *c = calloc(1, sizeof *c);
    CU_ASSERT_FATAL(c != NULL && E.nclients < T_CLIENTS_MAX);
    E.clients[E.nclients++] = c;
    proto_decoder_init(&c->dec);
    size_t before = E.traces.n;
    CU_ASSERT_EQUAL_FATAL(io_connect(E.loop, "127.0.0.1", gw_port(E.gw), client_cb, c,
                                     &c->stream, NULL, 0),
                          0);
    run_ms(1);
    c->conn = last_accept_since(before);
    return c;
}

static void client_send(t_client_t *c, const void *bytes, size_t len)
{
    CU_ASSERT_EQUAL(io_stream_write(c->stream, bytes, len), 0);
}

/* One frame of the given text fields. */
static void client_send_fields(t_client_t *c, int n, ...)
{
    proto_writer_t w;
    va_list ap;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        proto_put_str(&w, va_arg(ap, const char *));
    va_end(ap);
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    client_send(c, w.buf, w.len);
    proto_writer_free(&w);
}

static void client_hello(t_client_t *c, int min, int max)
{
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, min, max, NULL), 0);
    client_send(c, w.buf, w.len);
    proto_writer_free(&w);
}

static void client_start_api(t_client_t *c, const char *client_id)
{
    client_send_fields(c, 4, "71", "2", client_id, "");
}

static void client_close(t_client_t *c, enum io_close_how how)
{
    io_stream_close(c->stream, how);
    c->stream = NULL;
}

static const char *frame_at(const t_client_t *c, size_t i)
{
    return i < c->nframes ? c->frames[i] : "(no frame)";
}

/* A client through hello and startApi with that id: 6 frames received. */
static t_client_t *client_ready(const char *client_id)
{
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(2);
    client_start_api(c, client_id);
    run_ms(2);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 2), "9|1|1");
    return c;
}

/* Sends reqCurrentTime and says whether currentTime came back within 1 s. */
static int client_gets_current_time(t_client_t *c)
{
    size_t before = c->nframes;
    client_send_fields(c, 2, "49", "1");
    run_ms(1000);
    return c->nframes == before + 1 && strncmp(frame_at(c, before), "49|1|", 5) == 0;
}

static const char farm_2104[] = "4|2|-1|2104|Market data farm connection is OK:usfarm|";
static const char farm_2106[] = "4|2|-1|2106|HMDS data farm connection is OK:ushmds|";
static const char farm_2158[] = "4|2|-1|2158|Sec-def data farm connection is OK:secdefnj|";

/* ---- handshake and startup --------------------------------------------- */

static void worked_example_from_the_protocol_notes_gives_the_exact_replies(void)
{
    env_start();
    t_client_t *c = client_new();
    static const uint8_t hello[] = {'A', 'P', 'I', 0, 0, 0, 0, 9, 'v', '1', '5', '7',
                                    '.', '.', '1', '7', '8'};
    client_send(c, hello, sizeof hello);
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 0), "178|20251210 14:25:00 UTC");
    CU_ASSERT_EQUAL(c->nraw, 30);

    static const uint8_t start_api[] = {0, 0, 0, 8, '7', '1', 0, '2', 0, '7', 0, 0};
    client_send(c, start_api, sizeof start_api);
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 1), "15|1|DU1234567");
    CU_ASSERT_STRING_EQUAL(frame_at(c, 2), "9|1|1");
    CU_ASSERT_STRING_EQUAL(frame_at(c, 3), farm_2104);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 4), farm_2106);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 5), farm_2158);
    /* managedAccounts, nextValidId and the 2104 notice, byte for byte. */
    static const uint8_t startup[] = {
        0, 0, 0, 0x0f, '1', '5', 0, '1', 0, 'D', 'U', '1', '2', '3', '4', '5', '6', '7', 0,
        0, 0, 0, 0x06, '9', 0, '1', 0, '1', 0,
        0, 0, 0, 0x36, '4', 0, '2', 0, '-', '1', 0, '2', '1', '0', '4', 0,
        'M', 'a', 'r', 'k', 'e', 't', ' ', 'd', 'a', 't', 'a', ' ', 'f', 'a', 'r', 'm', ' ',
        'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n', ' ', 'i', 's', ' ', 'O', 'K', ':',
        'u', 's', 'f', 'a', 'r', 'm', 0, 0};
    CU_ASSERT_FATAL(c->nraw >= 30 + sizeof startup);
    CU_ASSERT_EQUAL(memcmp(c->raw + 30, startup, sizeof startup), 0);
    CU_ASSERT(traced("session_ready conn=%llu client_id=7 version=178", c->conn));
    env_stop();
}

static void greeting_in_two_writes_is_answered_once_it_is_whole(void)
{
    env_start();
    t_client_t *c = client_new();
    client_send(c, "API", 4);
    run_ms(50);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 1);
    static const uint8_t version[] = {0, 0, 0, 9, 'v', '1', '5', '7', '.', '.', '1', '7', '8'};
    client_send(c, version, sizeof version);
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 0), "178|20251210 14:25:00 UTC");
    env_stop();
}

static void hello_and_start_api_in_one_write_are_both_handled(void)
{
    env_start();
    t_client_t *c = client_new();
    static const uint8_t both[] = {'A', 'P', 'I', 0, 0, 0, 0, 9, 'v', '1', '5', '7', '.', '.',
                                   '1', '7', '8', 0, 0, 0, 8, '7', '1', 0, '2', 0, '3', 0, 0};
    client_send(c, both, sizeof both);
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 1), "15|1|DU1234567");
    CU_ASSERT(traced("session_ready conn=%llu client_id=3 version=178", c->conn));
    env_stop();
}

/* Frames in one write arrive in one delivery: startApi and the requests
 * after it are all handled, across the session's move to ready. */
static void start_api_and_requests_in_one_write_are_all_answered_in_order(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(5);
    static const uint8_t three[] = {0, 0, 0, 8, '7', '1', 0, '2', 0, '3', 0, 0,
                                    0, 0, 0, 5, '4', '9', 0, '1', 0,
                                    0, 0, 0, 6, '8', 0, '1', 0, '1', 0};
    client_send(c, three, sizeof three);
    run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nframes, 8);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 1), "15|1|DU1234567");
    char want[64];
    snprintf(want, sizeof want, "49|1|%d", T_START_WALL_S);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 6), want);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 7), "9|1|1");
    env_stop();
}

/* A request cut anywhere is answered once whole, and the whole ones that
 * came with its last piece after it. */
static void request_cut_across_writes_is_answered_with_the_ones_after_it(void)
{
    static const uint8_t two[] = {0, 0, 0, 5, '4', '9', 0, '1', 0,
                                  0, 0, 0, 6, '8', 0, '1', 0, '1', 0};
    for (size_t cut = 1; cut < 9; cut++) {
        env_start();
        t_client_t *c = client_ready("1");
        client_send(c, two, cut);
        run_ms(5);
        CU_ASSERT_EQUAL(c->nframes, 6);
        client_send(c, two + cut, sizeof two - cut);
        run_ms(5);
        CU_ASSERT_EQUAL_FATAL(c->nframes, 8);
        CU_ASSERT_EQUAL(strncmp(frame_at(c, 6), "49|1|", 5), 0);
        CU_ASSERT_STRING_EQUAL(frame_at(c, 7), "9|1|1");
        CU_ASSERT(client_gets_current_time(c));
        env_stop();
    }
}

/* The first request closes the session: the ones after it in the same
 * delivery are never read. */
static void requests_after_the_one_that_closes_the_session_are_not_read(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(5);
    static const uint8_t two[] = {0, 0, 0, 5, '4', '9', 0, '1', 0,
                                  0, 0, 0, 8, '7', '1', 0, '2', 0, '3', 0, 0};
    client_send(c, two, sizeof two);
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT(c->eof);
    CU_ASSERT(traced("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                     "reason=request before startApi", c->conn));
    CU_ASSERT_FALSE(traced("session_ready conn=%llu client_id=3 version=178", c->conn));
    env_stop();
}

static void chunked_network_delivery_still_completes_the_startup(void)
{
    env_start();
    io_sim_net_t net = {200, 150, 1};
    io_sim_set_net(E.loop, &net);
    t_client_t *c = client_ready("5");
    CU_ASSERT_STRING_EQUAL(frame_at(c, 1), "15|1|DU1234567");
    CU_ASSERT_STRING_EQUAL(frame_at(c, 3), farm_2104);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 5), farm_2158);
    CU_ASSERT(client_gets_current_time(c));
    env_stop();
}

static void client_max_above_178_is_answered_with_178(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, 100, 193);
    run_ms(5);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 0), "178|20251210 14:25:00 UTC");
    client_start_api(c, "1");
    run_ms(5);
    CU_ASSERT(traced("session_ready conn=%llu client_id=1 version=178", c->conn));
    env_stop();
}

static void client_below_the_minimum_is_closed_with_nothing_sent(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, 100, 150);
    run_ms(5);
    CU_ASSERT(c->eof);
    CU_ASSERT_FALSE(c->reset);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 0);
    CU_ASSERT(traced("reject conn=%llu client_id=-1 code=0", c->conn));
    CU_ASSERT(records_has_substr(&E.logs, "version refused"));
    env_stop();
}

static void several_accounts_are_sent_comma_joined(void)
{
    env_init();
    E.cfg.accounts[0] = "ACC1";
    E.cfg.accounts[1] = "ACC2";
    E.cfg.naccounts = 2;
    env_start_gw();
    t_client_t *c = client_ready("1");
    CU_ASSERT_STRING_EQUAL(frame_at(c, 1), "15|1|ACC1,ACC2");
    env_stop();
}

/* ---- client ids -------------------------------------------------------- */

static void second_session_with_a_live_client_id_gets_326_then_eof(void)
{
    env_start();
    t_client_t *a = client_ready("7");
    t_client_t *b = client_new();
    client_hello(b, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(2);
    client_start_api(b, "7");
    run_ms(5);
    CU_ASSERT_EQUAL(b->nframes, 2);
    CU_ASSERT_STRING_EQUAL(frame_at(b, 1), "4|2|-1|326|Unable to connect as the client id is "
                                           "already in use. Retry with a unique client id.|");
    CU_ASSERT(b->eof);
    CU_ASSERT(traced("reject conn=%llu client_id=7 code=326", b->conn));
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 1);
    CU_ASSERT(client_gets_current_time(a));
    env_stop();
}

static void client_id_is_free_again_once_its_session_closes_with_fin(void)
{
    env_start();
    t_client_t *a = client_ready("7");
    client_close(a, IO_CLOSE_FIN);
    run_ms(5);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 0);
    CU_ASSERT(traced("session_closed conn=%llu client_id=7 by=client how=fin "
                     "reason=closed by client", a->conn));
    t_client_t *b = client_ready("7");
    CU_ASSERT_STRING_EQUAL(frame_at(b, 1), "15|1|DU1234567");
    env_stop();
}

static void client_id_is_free_again_once_its_session_is_reset(void)
{
    env_start();
    t_client_t *a = client_ready("7");
    client_close(a, IO_CLOSE_RST);
    run_ms(5);
    CU_ASSERT(traced("session_closed conn=%llu client_id=7 by=client how=rst "
                     "reason=reset by client", a->conn));
    t_client_t *b = client_ready("7");
    CU_ASSERT(traced("session_ready conn=%llu client_id=7 version=178", b->conn));
    env_stop();
}

/* ---- requests ---------------------------------------------------------- */

static void req_current_time_answers_with_the_wall_clock_seconds(void)
{
    env_start();
    t_client_t *c = client_ready("1");
    run_ms(5500); /* mid-second, so the latency cannot cross a second */
    long long expected = io_wall_us(E.loop) / IO_US_PER_S;
    client_send_fields(c, 2, "49", "1");
    run_ms(5);
    char want[64];
    snprintf(want, sizeof want, "49|1|%lld", expected);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 6), want);
    CU_ASSERT_EQUAL(expected, T_START_WALL_S + 5);
    env_stop();
}

static void req_ids_answers_with_the_next_valid_id(void)
{
    env_init();
    E.cfg.next_order_id = 1001;
    env_start_gw();
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    client_start_api(c, "1");
    run_ms(5);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 2), "9|1|1001");
    client_send_fields(c, 3, "8", "1", "1");
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 7);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 6), "9|1|1001");
    env_stop();
}

static void unknown_requests_get_an_error_and_the_session_keeps_working(void)
{
    env_start();
    t_client_t *c = client_ready("1");
    client_send_fields(c, 2, "61", "1");
    client_send_fields(c, 3, "999", "1", "x");
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 8);
    CU_ASSERT_STRING_EQUAL(frame_at(c, 6), "62|1");
    CU_ASSERT_STRING_EQUAL(frame_at(c, 7), "4|2|-1|505|Fatal Error: Unknown message id.|");
    CU_ASSERT(client_gets_current_time(c));
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 1);
    env_stop();
}

/* Handlers are found by indexing a table with the id: the holes in it, its
 * ends, past them and a second startApi are all unknown. */
static void ids_between_and_around_the_known_ones_are_unknown(void)
{
    static const char *const ids[] = {"0", "10", "71", "98", "100", "-1", "2147483647"};
    env_start();
    t_client_t *c = client_ready("1");
    size_t before = c->nframes;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        client_send_fields(c, 3, ids[i], "1", "x");
    run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nframes, before + sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        CU_ASSERT_STRING_EQUAL(frame_at(c, before + i),
                               "4|2|-1|505|Fatal Error: Unknown message id.|");
    CU_ASSERT(client_gets_current_time(c));
    env_stop();
}

static void request_before_start_api_closes_the_session(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    client_send_fields(c, 2, "49", "1");
    run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1); /* the server hello only */
    CU_ASSERT(c->eof);
    CU_ASSERT(traced("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                     "reason=request before startApi", c->conn));
    env_stop();
}

/* ---- malformed input --------------------------------------------------- */

static void zero_length_frame_closes_the_session_with_rst(void)
{
    env_start();
    t_client_t *c = client_ready("1");
    static const uint8_t zero[] = {0, 0, 0, 0};
    client_send(c, zero, sizeof zero);
    run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 0);
    CU_ASSERT(traced("session_closed conn=%llu client_id=1 by=gateway how=rst "
                     "reason=protocol error", c->conn));
    CU_ASSERT(records_has_substr(&E.logs, "protocol error: byte offset"));
    env_stop();
}

static void field_that_does_not_parse_closes_the_session_with_rst(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(2); /* the server hello arrives before the reset can discard it */
    client_start_api(c, "x7");
    run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT(traced("session_closed conn=%llu client_id=-1 by=gateway how=rst "
                     "reason=protocol error", c->conn));
    /* The hello is 17 bytes, so startApi starts at byte 17; its id is field 2. */
    CU_ASSERT(records_has_substr(&E.logs, "frame at byte offset 17: field 2"));
    env_stop();
}

static void negative_client_id_is_a_protocol_error(void)
{
    env_start();
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    client_start_api(c, "-1");
    run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT(records_has_substr(&E.logs, "client id -1 is not a usable id"));
    env_stop();
}

static void garbage_instead_of_the_greeting_closes_the_session_with_rst(void)
{
    env_start();
    t_client_t *c = client_new();
    client_send(c, "GET / HTTP/1.1\r\n", 16);
    run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT(traced("session_closed conn=%llu client_id=-1 by=gateway how=rst "
                     "reason=protocol error", c->conn));
    env_stop();
}

/* ---- faults: kill ------------------------------------------------------ */

static void kill_with_fin_gives_every_client_eof(void)
{
    env_start();
    t_client_t *a = client_ready("1");
    t_client_t *b = client_ready("2");
    CU_ASSERT_EQUAL(gw_kill(E.gw, IO_CLOSE_FIN, -1), 2);
    run_ms(5);
    CU_ASSERT(a->eof && !a->reset);
    CU_ASSERT(b->eof && !b->reset);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 0);
    CU_ASSERT(traced("fault:kill how=fin client_id=-1 sessions=2"));
    CU_ASSERT(traced("session_closed conn=%llu client_id=1 by=gateway how=fin reason=killed",
                     a->conn));
    env_stop();
}

static void kill_with_rst_gives_the_client_reset(void)
{
    env_start();
    t_client_t *a = client_ready("1");
    CU_ASSERT_EQUAL(gw_kill(E.gw, IO_CLOSE_RST, -1), 1);
    run_ms(5);
    CU_ASSERT(a->reset);
    CU_ASSERT(traced("fault:kill how=rst client_id=-1 sessions=1"));
    CU_ASSERT(traced("session_closed conn=%llu client_id=1 by=gateway how=rst reason=killed",
                     a->conn));
    env_stop();
}

static void kill_of_one_client_id_leaves_the_other_session_alone(void)
{
    env_start();
    t_client_t *a = client_ready("1");
    t_client_t *b = client_ready("2");
    CU_ASSERT_EQUAL(gw_kill(E.gw, IO_CLOSE_FIN, 2), 1);
    run_ms(5);
    CU_ASSERT(b->eof);
    CU_ASSERT_FALSE(a->eof);
    CU_ASSERT(traced("fault:kill how=fin client_id=2 sessions=1"));
    CU_ASSERT(client_gets_current_time(a));
    client_ready("2"); /* the killed session's id is free again */
    env_stop();
}

/* ---- faults: stale ----------------------------------------------------- */

static void stale_sessions_answer_nothing_until_cleared(void)
{
    env_start();
    t_client_t *c = client_ready("1");
    gw_set_stale(E.gw, 1, -1);
    client_send_fields(c, 2, "49", "1");
    run_ms(5000);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_FALSE(c->eof);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 1);
    gw_set_stale(E.gw, 0, -1);
    CU_ASSERT(client_gets_current_time(c)); /* exactly one: the stale one was dropped */
    CU_ASSERT(traced("fault:stale on=1 client_id=-1"));
    CU_ASSERT(traced("fault:stale on=0 client_id=-1"));
    env_stop();
}

static void stale_for_all_covers_sessions_that_connect_later(void)
{
    env_start();
    gw_set_stale(E.gw, 1, -1);
    t_client_t *c = client_new();
    client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(5000);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT_FALSE(c->eof);
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 1);
    env_stop();
}

static void stale_for_one_client_id_leaves_the_others_answering(void)
{
    env_start();
    t_client_t *a = client_ready("1");
    t_client_t *b = client_ready("2");
    gw_set_stale(E.gw, 1, 2);
    CU_ASSERT(client_gets_current_time(a));
    CU_ASSERT_FALSE(client_gets_current_time(b));
    CU_ASSERT(traced("fault:stale on=1 client_id=2"));
    t_client_t *c = client_ready("3"); /* a targeted stale does not reach newcomers */
    CU_ASSERT(client_gets_current_time(c));
    env_stop();
}

/* ---- limits and lifetime ----------------------------------------------- */

static void connections_beyond_max_sessions_are_closed_at_once(void)
{
    env_init();
    E.cfg.max_sessions = 2;
    env_start_gw();
    t_client_t *a = client_new();
    t_client_t *b = client_new();
    t_client_t *c = client_new();
    run_ms(5);
    CU_ASSERT(c->eof);
    CU_ASSERT_FALSE(a->eof || b->eof);
    CU_ASSERT_EQUAL(c->conn, 0); /* never became a session */
    CU_ASSERT_EQUAL(gw_session_count(E.gw), 2);
    client_hello(b, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    run_ms(5);
    CU_ASSERT_EQUAL(b->nframes, 1);
    env_stop();
}

static void gw_free_closes_every_session_with_fin(void)
{
    env_start();
    t_client_t *a = client_ready("1");
    t_client_t *b = client_new();
    client_send(b, "AP", 2); /* half a greeting: buffered in the decoder */
    run_ms(5);
    gw_free(E.gw);
    E.gw = NULL;
    run_ms(5);
    CU_ASSERT(a->eof);
    CU_ASSERT(b->eof);
    CU_ASSERT(traced("session_closed conn=%llu client_id=1 by=gateway how=fin "
                     "reason=gateway shutdown", a->conn));
    CU_ASSERT(traced("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                     "reason=gateway shutdown", b->conn));
    env_stop();
}

static void verbose_gateway_logs_every_message_in_and_out(void)
{
    env_init();
    E.cfg.verbose = 1;
    env_start_gw();
    t_client_t *c = client_ready("1");
    client_send_fields(c, 2, "49", "1");
    run_ms(5);
    CU_ASSERT(logged("in  conn=%llu hello v157..178", c->conn));
    CU_ASSERT(logged("out conn=%llu serverHello [178,\"20251210 14:25:00 UTC\"]", c->conn));
    CU_ASSERT(logged("in  conn=%llu startApi [71,2,1,\"\"]", c->conn));
    CU_ASSERT(logged("out conn=%llu managedAccounts [15,1,\"DU1234567\"]", c->conn));
    CU_ASSERT(logged("in  conn=%llu reqCurrentTime [49,1]", c->conn));
    CU_ASSERT(logged("out conn=%llu currentTime [49,1,%d]", c->conn, T_START_WALL_S));
    env_stop();
}

static void quiet_gateway_logs_no_messages(void)
{
    env_start();
    t_client_t *c = client_ready("1");
    CU_ASSERT(client_gets_current_time(c));
    CU_ASSERT_FALSE(records_has_substr(&E.logs, "reqCurrentTime"));
    CU_ASSERT_FALSE(records_has_substr(&E.logs, "managedAccounts"));
    env_stop();
}

/* ---- config ------------------------------------------------------------ */

static void defaults_are_the_documented_ones(void)
{
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    CU_ASSERT_STRING_EQUAL(cfg.host, "127.0.0.1");
    CU_ASSERT_EQUAL(cfg.port, 4002);
    CU_ASSERT_EQUAL(cfg.server_version_min, PROTO_SERVER_VERSION_MIN);
    CU_ASSERT_EQUAL(cfg.server_version_max, PROTO_SERVER_VERSION_MAX);
    CU_ASSERT_EQUAL(cfg.naccounts, 1);
    CU_ASSERT_STRING_EQUAL(cfg.accounts[0], "DU1234567");
    CU_ASSERT_EQUAL(cfg.next_order_id, 1);
    CU_ASSERT_EQUAL(cfg.max_sessions, GW_SESSIONS_MAX);
    CU_ASSERT_EQUAL(cfg.verbose, 0);
}

/* gw_new on a config with one thing wrong: IO_ERR_INVAL, the reason, no gw. */
static void expect_bad_config(const gw_config_t *cfg, const char *reason)
{
    char err[256] = "";
    gw_t *gw = (gw_t *)&err; /* must be reset to NULL */
    CU_ASSERT_EQUAL(gw_new(E.loop, cfg, &gw, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(gw);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, reason));
}

static void bad_configs_are_refused_with_a_reason(void)
{
    env_init();
    gw_config_t cfg = E.cfg;
    cfg.host = NULL;
    expect_bad_config(&cfg, "no host");
    cfg = E.cfg;
    cfg.server_version_min = 179;
    expect_bad_config(&cfg, "server versions");
    cfg = E.cfg;
    cfg.naccounts = 0;
    expect_bad_config(&cfg, "accounts");
    cfg = E.cfg;
    cfg.accounts[0] = "A,B";
    expect_bad_config(&cfg, "comma");
    cfg = E.cfg;
    cfg.max_sessions = GW_SESSIONS_MAX + 1;
    expect_bad_config(&cfg, "max_sessions");
    cfg = E.cfg;
    cfg.max_sessions = 0;
    expect_bad_config(&cfg, "max_sessions");
    env_stop();
}

static void listening_on_a_taken_port_fails_with_inuse(void)
{
    env_start();
    gw_config_t cfg = E.cfg;
    gw_t *second = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(gw_new(E.loop, &cfg, &second, err, sizeof err), IO_ERR_INUSE);
    CU_ASSERT_PTR_NULL(second);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "4002"));
    env_stop();
}

static void port_zero_picks_a_free_port(void)
{
    env_init();
    E.cfg.port = 0;
    env_start_gw();
    CU_ASSERT_NOT_EQUAL(gw_port(E.gw), 0);
    client_ready("1");
    env_stop();
}

/* ---- registry ---------------------------------------------------------- */

static void registry_refuses_an_id_someone_holds(void)
{
    gw_registry_t r;
    uint64_t owner = 0;
    gw_registry_init(&r);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 100), 0);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 200), IO_ERR_INUSE);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 7, &owner), 1);
    CU_ASSERT_EQUAL(owner, 100);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 8, NULL), 0);
}

static void registry_ignores_a_release_by_someone_else(void)
{
    gw_registry_t r;
    gw_registry_init(&r);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 100), 0);
    gw_registry_release(&r, 7, 200);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 7, NULL), 1);
    gw_registry_release(&r, 7, 100);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 7, NULL), 0);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 200), 0);
}

static void registry_holds_at_most_gw_sessions_max_ids(void)
{
    gw_registry_t r;
    gw_registry_init(&r);
    for (int i = 0; i < GW_SESSIONS_MAX; i++)
        CU_ASSERT_EQUAL(gw_registry_claim(&r, i, (uint64_t)i + 1), 0);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 1000, 1000), IO_ERR_NOBUFS);
    gw_registry_release(&r, 3, 4);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 1000, 1000), 0);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, GW_SESSIONS_MAX - 1, NULL), 1);
}

static CU_TestInfo gateway_tests[] = {
    {"worked_example_from_the_protocol_notes_gives_the_exact_replies",
     worked_example_from_the_protocol_notes_gives_the_exact_replies},
    {"greeting_in_two_writes_is_answered_once_it_is_whole",
     greeting_in_two_writes_is_answered_once_it_is_whole},
    {"hello_and_start_api_in_one_write_are_both_handled",
     hello_and_start_api_in_one_write_are_both_handled},
    {"start_api_and_requests_in_one_write_are_all_answered_in_order",
     start_api_and_requests_in_one_write_are_all_answered_in_order},
    {"request_cut_across_writes_is_answered_with_the_ones_after_it",
     request_cut_across_writes_is_answered_with_the_ones_after_it},
    {"requests_after_the_one_that_closes_the_session_are_not_read",
     requests_after_the_one_that_closes_the_session_are_not_read},
    {"chunked_network_delivery_still_completes_the_startup",
     chunked_network_delivery_still_completes_the_startup},
    {"client_max_above_178_is_answered_with_178", client_max_above_178_is_answered_with_178},
    {"client_below_the_minimum_is_closed_with_nothing_sent",
     client_below_the_minimum_is_closed_with_nothing_sent},
    {"several_accounts_are_sent_comma_joined", several_accounts_are_sent_comma_joined},
    {"second_session_with_a_live_client_id_gets_326_then_eof",
     second_session_with_a_live_client_id_gets_326_then_eof},
    {"client_id_is_free_again_once_its_session_closes_with_fin",
     client_id_is_free_again_once_its_session_closes_with_fin},
    {"client_id_is_free_again_once_its_session_is_reset",
     client_id_is_free_again_once_its_session_is_reset},
    {"req_current_time_answers_with_the_wall_clock_seconds",
     req_current_time_answers_with_the_wall_clock_seconds},
    {"req_ids_answers_with_the_next_valid_id", req_ids_answers_with_the_next_valid_id},
    {"unknown_requests_get_an_error_and_the_session_keeps_working",
     unknown_requests_get_an_error_and_the_session_keeps_working},
    {"ids_between_and_around_the_known_ones_are_unknown",
     ids_between_and_around_the_known_ones_are_unknown},
    {"request_before_start_api_closes_the_session", request_before_start_api_closes_the_session},
    {"zero_length_frame_closes_the_session_with_rst",
     zero_length_frame_closes_the_session_with_rst},
    {"field_that_does_not_parse_closes_the_session_with_rst",
     field_that_does_not_parse_closes_the_session_with_rst},
    {"negative_client_id_is_a_protocol_error", negative_client_id_is_a_protocol_error},
    {"garbage_instead_of_the_greeting_closes_the_session_with_rst",
     garbage_instead_of_the_greeting_closes_the_session_with_rst},
    {"kill_with_fin_gives_every_client_eof", kill_with_fin_gives_every_client_eof},
    {"kill_with_rst_gives_the_client_reset", kill_with_rst_gives_the_client_reset},
    {"kill_of_one_client_id_leaves_the_other_session_alone",
     kill_of_one_client_id_leaves_the_other_session_alone},
    {"stale_sessions_answer_nothing_until_cleared", stale_sessions_answer_nothing_until_cleared},
    {"stale_for_all_covers_sessions_that_connect_later",
     stale_for_all_covers_sessions_that_connect_later},
    {"stale_for_one_client_id_leaves_the_others_answering",
     stale_for_one_client_id_leaves_the_others_answering},
    {"connections_beyond_max_sessions_are_closed_at_once",
     connections_beyond_max_sessions_are_closed_at_once},
    {"gw_free_closes_every_session_with_fin", gw_free_closes_every_session_with_fin},
    {"verbose_gateway_logs_every_message_in_and_out",
     verbose_gateway_logs_every_message_in_and_out},
    {"quiet_gateway_logs_no_messages", quiet_gateway_logs_no_messages},
    {"defaults_are_the_documented_ones", defaults_are_the_documented_ones},
    {"bad_configs_are_refused_with_a_reason", bad_configs_are_refused_with_a_reason},
    {"listening_on_a_taken_port_fails_with_inuse", listening_on_a_taken_port_fails_with_inuse},
    {"port_zero_picks_a_free_port", port_zero_picks_a_free_port},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo registry_tests[] = {
    {"registry_refuses_an_id_someone_holds", registry_refuses_an_id_someone_holds},
    {"registry_ignores_a_release_by_someone_else", registry_ignores_a_release_by_someone_else},
    {"registry_holds_at_most_gw_sessions_max_ids", registry_holds_at_most_gw_sessions_max_ids},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"gateway", NULL, NULL, NULL, NULL, gateway_tests},
    {"registry", NULL, NULL, NULL, NULL, registry_tests},
    CU_SUITE_INFO_NULL,
};
