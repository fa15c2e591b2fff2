/* test_runner.c - the runner core and its client session on the simulated
 * network. Two kinds of peer: a scripted fake gateway written here (it
 * listens on io_sim, records the exact bytes the runner sends and answers
 * what each test scripts) for the protocol details, and the real mock
 * gateway core (gw_new) for behaviour across faults. Every trace event is
 * recorded through the loop's trace sink and checked from there. */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../mockgw/gateway.h"
#include "../proto/proto.h"
#include "../runner/runner.h"
#include "../sim/io_sim.h"
#include "testlib.h"
#include "tevlog.h"

#define T0_WALL_US 1765376700000000LL /* 2025-12-10T14:25:00Z at virtual time 0 */
#define PORT 4002
#define MS IO_US_PER_MS
#define SEC IO_US_PER_S
/* The tests run at 09:25 New York time, before the open: a ready runner
 * waits for the market on its open connection. */
#define CONNECTED "API Connected (Market Closed)"

/* The exact bytes of what the runner writes (client id 7). */
static const char HELLO[] = "API\0\0\0\0\x09v157..178";
static const char START_API[] = "\0\0\0\x08" "71" "\0" "2" "\0" "7" "\0" "\0";
static const char REQ_CURRENT_TIME[] = "\0\0\0\x05" "49" "\0" "1" "\0";
#define LIT_LEN(s) (sizeof(s) - 1)

/* Every event, timed in virtual time (wall time less T0). */
static const tev_opts_t TEV = {42, T0_WALL_US, 2048, NULL};

static struct fixture {
    io_loop_t *loop;
    rn_t *rn;
    rn_config_t cfg;
    int exits;
    int exit_code;
    /* the scripted fake gateway */
    io_listener_t *lis;
    io_stream_t *peer;
    int accepts;
    uint8_t rx[4096];
    size_t rxlen;
    size_t txlen; /* bytes the fake gateway wrote on its connection */
    int peer_eof;
    int peer_reset;
    /* the real mock gateway */
    gw_t *gw;
} fx;

/* ---- fixture ------------------------------------------------------------ */

static void fx_on_exit(void *data, int code)
{
    (void)data;
    fx.exits++;
    fx.exit_code = code;
}

static void fx_setup(void)
{
    memset(&fx, 0, sizeof fx);
    fx.loop = tev_start(&TEV, T0_WALL_US);
    rn_config_defaults(&fx.cfg);
    fx.cfg.port = PORT;
    fx.cfg.client_id = 7;
    fx.cfg.connect_timeout_us = 1 * SEC;
    fx.cfg.ping_interval_us = 5 * SEC;
    fx.cfg.ping_timeout_us = 2 * SEC;
    fx.cfg.reconnect_initial_us = 1 * SEC;
    fx.cfg.reconnect_max_us = 10 * SEC;
    fx.cfg.reconnect_jitter = 0.0;
    fx.cfg.on_exit = fx_on_exit;
}

static void fx_start(void)
{
    char err[256] = "";
    int rc = rn_new(fx.loop, &fx.cfg, &fx.rn, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rn_start(fx.rn);
}

/* Frees everything and checks nothing was left behind. */
static void fx_teardown(void)
{
    rn_free(fx.rn);
    gw_free(fx.gw);
    if (fx.lis)
        io_listener_close(fx.lis);
    if (fx.peer)
        io_stream_close(fx.peer, IO_CLOSE_RST);
    tev_stop();
}

/* ---- the scripted fake gateway ------------------------------------------ */

static void fgw_on_peer(io_stream_t *s, const io_stream_event_t *ev, void *data)
{
    (void)data;
    switch (ev->kind) {
    case IO_EV_DATA:
        CU_ASSERT_FATAL(fx.rxlen + ev->len <= sizeof fx.rx);
        memcpy(fx.rx + fx.rxlen, ev->data, ev->len);
        fx.rxlen += ev->len;
        return;
    case IO_EV_EOF:
        fx.peer_eof = 1;
        break;
    case IO_EV_RESET:
        fx.peer_reset = 1;
        break;
    case IO_EV_CONNECTED:
    case IO_EV_CONNECT_FAILED:
        return;
    }
    io_stream_close(s, IO_CLOSE_FIN);
    fx.peer = NULL;
}

static void fgw_on_accept(io_listener_t *l, io_stream_t *s, void *data)
{
    (void)l, (void)data;
    if (fx.peer)
        io_stream_close(fx.peer, IO_CLOSE_RST);
    fx.peer = s;
    fx.accepts++;
    fx.rxlen = 0;
    fx.txlen = 0;
    fx.peer_eof = fx.peer_reset = 0;
    io_stream_set_cb(s, fgw_on_peer, NULL);
}

static void fgw_listen(void)
{
    char err[256];
    int rc = io_listen(fx.loop, "127.0.0.1", PORT, fgw_on_accept, NULL, &fx.lis, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void fgw_write(const proto_writer_t *w)
{
    CU_ASSERT_FATAL(w->error == 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.peer);
    CU_ASSERT_EQUAL(io_stream_write(fx.peer, w->buf, w->len), 0);
    fx.txlen += w->len;
}

/* Writes raw bytes as one delivery of the fake gateway. */
static void fgw_write_raw(const void *data, size_t len)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.peer);
    CU_ASSERT_EQUAL(io_stream_write(fx.peer, data, len), 0);
    fx.txlen += len;
}

/* Sends one frame of the given text fields (NULL-terminated list). */
static void fgw_send(const char *first, ...)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    va_list ap;
    va_start(ap, first);
    for (const char *f = first; f; f = va_arg(ap, const char *))
        proto_put_str(&w, f);
    va_end(ap);
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    fgw_write(&w);
    proto_writer_free(&w);
}

static void fgw_send_hello(int version)
{
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_server_hello_write(&w, version, "20251210 09:25:00 EST"), 0);
    fgw_write(&w);
    proto_writer_free(&w);
}

static int rx_is(const void *expect, size_t len)
{
    return fx.rxlen == len && memcmp(fx.rx, expect, len) == 0;
}

static int rx_ends_with(const void *expect, size_t len)
{
    return fx.rxlen >= len && memcmp(fx.rx + fx.rxlen - len, expect, len) == 0;
}

/* Listen, start the runner and take it to startApi. */
static void fgw_to_start_api(void)
{
    fgw_listen();
    fx_start();
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.accepts, 1);
    fgw_send_hello(178);
    tev_run_for(10 * MS);
}

static void fgw_to_ready(void)
{
    fgw_to_start_api();
    fgw_send("15", "1", "DU111", NULL);
    fgw_send("9", "1", "1", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ready"), 1);
}

/* ---- tests: exact protocol, against the fake gateway -------------------- */

static void runner_sends_only_the_hello_before_the_server_hello(void)
{
    fx_setup();
    fgw_listen();
    fx_start();
    tev_run_for(50 * MS);
    CU_ASSERT_EQUAL(fx.accepts, 1);
    CU_ASSERT_TRUE(rx_is(HELLO, LIT_LEN(HELLO)));
    const tev_t *c = tev_rev("connect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(tev_num(c, "attempt"), 1);
    CU_ASSERT_STRING_EQUAL(tev_str(c, "host"), "127.0.0.1");
    CU_ASSERT_EQUAL(tev_num(c, "port"), PORT);
    CU_ASSERT_EQUAL(tev_rcount("msg_out"), 0);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Connecting");
    fx_teardown();
}

static void runner_sends_start_api_with_its_client_id_after_the_server_hello(void)
{
    fx_setup();
    fgw_to_start_api();
    CU_ASSERT_EQUAL_FATAL(fx.rxlen, LIT_LEN(HELLO) + LIT_LEN(START_API));
    CU_ASSERT_EQUAL(memcmp(fx.rx, HELLO, LIT_LEN(HELLO)), 0);
    CU_ASSERT_TRUE(rx_ends_with(START_API, LIT_LEN(START_API)));
    const tev_t *m = tev_rev("msg_out", 0);
    CU_ASSERT_EQUAL(tev_num(m, "id"), 71);
    CU_ASSERT_STRING_EQUAL(tev_str(m, "name"), proto_out_name(71));
    CU_ASSERT_EQUAL(tev_rcount("ready"), 0);
    fx_teardown();
}

/* The second of managedAccounts / nextValidId makes the session ready,
 * whichever it is. */
static void check_ready_after_both(int accounts_first)
{
    fx_setup();
    fgw_to_start_api();
    if (accounts_first)
        fgw_send("15", "1", "DU111,DU222", NULL);
    else
        fgw_send("9", "1", "42", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 0);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Connecting");
    if (accounts_first)
        fgw_send("9", "1", "42", NULL);
    else
        fgw_send("15", "1", "DU111,DU222", NULL);
    tev_run_for(10 * MS);
    const tev_t *r = tev_rev("ready", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(tev_num(r, "version"), 178);
    CU_ASSERT_STRING_EQUAL(tev_str(r, "accounts"), "DU111,DU222");
    CU_ASSERT_EQUAL(tev_num(r, "next_order_id"), 42);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), CONNECTED);
    int second = accounts_first ? PROTO_IN_NEXT_VALID_ID : PROTO_IN_MANAGED_ACCTS;
    const tev_t *in = tev_rev("msg_in", 1);
    CU_ASSERT_EQUAL(tev_num(in, "id"), second);
    CU_ASSERT_STRING_EQUAL(tev_str(in, "name"), proto_in_name(second));
    CU_ASSERT_TRUE(in < r);
    fx_teardown();
}

static void ready_comes_after_next_valid_id_then_managed_accounts(void)
{
    check_ready_after_both(0);
}

static void ready_comes_after_managed_accounts_then_next_valid_id(void)
{
    check_ready_after_both(1);
}

static void empty_managed_accounts_do_not_make_the_session_ready(void)
{
    fx_setup();
    fgw_to_start_api();
    fgw_send("15", "1", ",", NULL);
    fgw_send("9", "1", "1", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 0);
    fgw_send("15", "1", "DU9,", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 1);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("ready", 0), "accounts"), "DU9,");
    fx_teardown();
}

static void ping_is_req_current_time_and_its_rtt_is_measured(void)
{
    fx_setup();
    fgw_to_ready();
    io_us_t ready_t = tev_rev("ready", 0)->t;
    tev_run_to(ready_t + fx.cfg.ping_interval_us + 1 * MS);
    const tev_t *p = tev_rev("ping", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->t, ready_t + fx.cfg.ping_interval_us);
    CU_ASSERT_EQUAL(tev_num(p, "seq"), 1);
    CU_ASSERT_TRUE(rx_ends_with(REQ_CURRENT_TIME, LIT_LEN(REQ_CURRENT_TIME)));
    tev_run_for(3 * MS);
    fgw_send("49", "1", "1765376705", NULL);
    tev_run_for(10 * MS);
    const tev_t *ok = tev_rev("ping_ok", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
    CU_ASSERT_EQUAL(tev_num(ok, "seq"), 1);
    CU_ASSERT_EQUAL(tev_num(ok, "rtt_us"), ok->t - p->t);
    CU_ASSERT_TRUE(tev_num(ok, "rtt_us") > 3 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ping_timeout"), 0);
    fx_teardown();
}

/* Answers pings until n more have been sent (100 s at most). */
static void answer_pings(int n)
{
    int want = tev_rcount("ping") + n;
    for (int guard = 0; tev_rcount("ping") < want && guard < 1000; guard++) {
        int before = tev_rcount("ping");
        tev_run_for(100 * MS);
        if (tev_rcount("ping") > before) {
            fgw_send("49", "1", "1765376705", NULL);
            tev_run_for(10 * MS);
        }
    }
    CU_ASSERT_EQUAL(tev_rcount("ping"), want);
}

/* The health check's frame is built once and sent as it is: the same bytes
 * every time, next to the session's other frames, and on a new session. */
static void every_ping_sends_the_same_req_current_time_bytes(void)
{
    fx_setup();
    fgw_to_ready();
    answer_pings(3);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 3);
    uint8_t want[256];
    size_t n = 0;
    memcpy(want + n, HELLO, LIT_LEN(HELLO)), n += LIT_LEN(HELLO);
    memcpy(want + n, START_API, LIT_LEN(START_API)), n += LIT_LEN(START_API);
    for (int i = 0; i < 3; i++)
        memcpy(want + n, REQ_CURRENT_TIME, LIT_LEN(REQ_CURRENT_TIME)), n += LIT_LEN(REQ_CURRENT_TIME);
    CU_ASSERT_TRUE(rx_is(want, n));
    /* A new session: the handshake, then the same ping again. */
    io_stream_close(fx.peer, IO_CLOSE_FIN);
    fx.peer = NULL;
    tev_run_for(fx.cfg.reconnect_initial_us + 10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.accepts, 2);
    fgw_send_hello(178);
    tev_run_for(10 * MS);
    fgw_send("15", "1", "DU111", NULL);
    fgw_send("9", "1", "1", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ready"), 2);
    answer_pings(1);
    n = LIT_LEN(HELLO) + LIT_LEN(START_API) + LIT_LEN(REQ_CURRENT_TIME);
    CU_ASSERT_TRUE(rx_is(want, n));
    fx_teardown();
}

/* The health check's name is looked up once, at ibc_new: every ping's
 * msg_out still carries the id and the catalog's name, on a new session
 * too, and the frames sent in between keep their own names. */
static void every_ping_traces_msg_out_with_the_catalog_name_of_req_current_time(void)
{
    fx_setup();
    fgw_to_ready();
    answer_pings(2);
    int outs = tev_rcount("msg_out");
    CU_ASSERT_EQUAL_FATAL(outs, 3); /* startApi, then two pings */
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("msg_out", 0), "name"), proto_out_name(71));
    for (int i = 1; i < outs; i++) {
        const tev_t *m = tev_rev("msg_out", i);
        CU_ASSERT_EQUAL(tev_num(m, "id"), PROTO_OUT_REQ_CURRENT_TIME);
        CU_ASSERT_STRING_EQUAL(tev_str(m, "name"), proto_out_name(PROTO_OUT_REQ_CURRENT_TIME));
    }
    io_stream_close(fx.peer, IO_CLOSE_FIN);
    fx.peer = NULL;
    tev_run_for(fx.cfg.reconnect_initial_us + 10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.accepts, 2);
    fgw_send_hello(178);
    tev_run_for(10 * MS);
    fgw_send("15", "1", "DU111", NULL);
    fgw_send("9", "1", "1", NULL);
    tev_run_for(10 * MS);
    answer_pings(1);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("msg_out"), outs + 2);
    CU_ASSERT_EQUAL(tev_num(tev_rev("msg_out", outs), "id"), 71);
    const tev_t *last = tev_rev("msg_out", outs + 1);
    CU_ASSERT_EQUAL(tev_num(last, "id"), PROTO_OUT_REQ_CURRENT_TIME);
    CU_ASSERT_STRING_EQUAL(tev_str(last, "name"), proto_out_name(PROTO_OUT_REQ_CURRENT_TIME));
    fx_teardown();
}

/* The health check's answer carries the Gateway's time, which the session
 * checks but does not convert when it is a plain run of 1 to 15 digits:
 * whatever the field, the session's verdict is proto_read_int64's
 * (a ping_ok, or a protocol error that drops the session). */
static void current_time_answers_are_accepted_exactly_when_proto_reads_the_time(void)
{
    static const char *const times[] = {
        "1765376705", "0", "7", "00000000", "123456789", "123456789012345",
        "1234567890123456", "9223372036854775807", "9223372036854775808",
        "99999999999999999999", "", "-1765376705", "+5", "17653767a5", "1765376705 ",
        "12345678.", " 1",
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        const char *text = times[i];
        proto_frame_t f = {(const uint8_t *)text, strlen(text) + 1, 0};
        proto_reader_t r;
        int64_t secs;
        proto_reader_init(&r, &f);
        int want_ok = proto_read_int64(&r, &secs, NULL, 0) == 0;
        fx_setup();
        fgw_to_ready();
        tev_run_to(tev_rev("ready", 0)->t + fx.cfg.ping_interval_us + 1 * MS);
        CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), 1);
        fgw_send("49", "1", text, NULL);
        tev_run_for(10 * MS);
        CU_ASSERT_EQUAL(tev_rcount("ping_ok"), want_ok);
        const tev_t *d = tev_rev("disconnect", 0);
        if (want_ok) {
            CU_ASSERT_PTR_NULL(d);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(d);
            CU_ASSERT_EQUAL(strncmp(tev_str(d, "reason"), "protocol error", 14), 0);
        }
        fx_teardown();
    }
}

/* Sends one frame of n fields (at most 4). */
static void fgw_send_fields(const char *const *fields, size_t n)
{
    const char *f[5] = {NULL, NULL, NULL, NULL, NULL};
    CU_ASSERT_FATAL(n >= 1 && n <= 4);
    memcpy(f, fields, n * sizeof *f);
    fgw_send(f[0], f[1], f[2], f[3], NULL);
}

/* The session takes the usual answer (id "49", version "1", a plain time)
 * the short way and leaves every other spelling to the general reader:
 * whichever way, the trace is msg_in with currentTime's id and catalog
 * name, then ping_ok, or a protocol error when the reader refuses the
 * frame, and an answer with no ping outstanding is no health check. */
static void current_time_answers_of_every_spelling_are_traced_and_judged_alike(void)
{
    static const struct {
        const char *fields[4];
        size_t n;
        int ok;
    } answers[] = {
        {{"49", "1", "1765376705"}, 3, 1},
        {{"49", "1", "1765376705", "extra"}, 4, 1},
        {{"49", "2", "1765376705"}, 3, 1},
        {{"49", "", "1765376705"}, 3, 1},
        {{"49", "01", "1765376705"}, 3, 1},
        {{"049", "1", "1765376705"}, 3, 1},
        {{"+49", "1", "1765376705"}, 3, 1},
        {{"49", "1", "-1765376705"}, 3, 1},
        {{"49", "1", "1234567890123456"}, 3, 1},
        {{"49", "x", "1765376705"}, 3, 0},
        {{"49", "1", "17653767x5"}, 3, 0},
        {{"49", "1"}, 2, 0},
        {{"49"}, 1, 0},
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        fx_setup();
        fgw_to_ready();
        tev_run_to(tev_rev("ready", 0)->t + fx.cfg.ping_interval_us + 1 * MS);
        CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), 1);
        int ins = tev_rcount("msg_in");
        fgw_send_fields(answers[i].fields, answers[i].n);
        tev_run_for(10 * MS);
        CU_ASSERT_EQUAL_FATAL(tev_rcount("msg_in"), ins + 1);
        const tev_t *in = tev_rev("msg_in", ins);
        CU_ASSERT_EQUAL(tev_num(in, "id"), PROTO_IN_CURRENT_TIME);
        CU_ASSERT_STRING_EQUAL(tev_str(in, "name"), proto_in_name(PROTO_IN_CURRENT_TIME));
        CU_ASSERT_EQUAL(tev_rcount("ping_ok"), answers[i].ok);
        const tev_t *d = tev_rev("disconnect", 0);
        if (answers[i].ok) {
            CU_ASSERT_PTR_NULL(d);
            CU_ASSERT(tev_rev("ping_ok", 0)->t == in->t);
            /* Answered: the same answer again is traced and is no health check. */
            fgw_send_fields(answers[i].fields, answers[i].n);
            tev_run_for(10 * MS);
            CU_ASSERT_EQUAL(tev_rcount("msg_in"), ins + 2);
            CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 1);
            CU_ASSERT_PTR_NULL(tev_rev("disconnect", 0));
            /* And the ping's timeout was disarmed with the answer. */
            tev_run_for(fx.cfg.ping_timeout_us);
            CU_ASSERT_EQUAL(tev_rcount("ping_timeout"), 0);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(d);
            CU_ASSERT_EQUAL(strncmp(tev_str(d, "reason"), "protocol error", 14), 0);
        }
        fx_teardown();
    }
}

static void handshake_step_timeout_resets_and_schedules_a_reconnect(void)
{
    fx_setup();
    fgw_listen();
    fx_start();
    /* The hello answer comes late in the first step: the second step still
     * gets its whole timeout, because the timer restarts on each step. */
    tev_run_to(fx.cfg.connect_timeout_us * 6 / 10);
    fgw_send_hello(178);
    tev_run_for(fx.cfg.connect_timeout_us * 9 / 10);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    tev_run_for(fx.cfg.connect_timeout_us);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "client");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "rst");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "reason"), "handshake timeout");
    CU_ASSERT_EQUAL(d->t - tev_rev("msg_out", 0)->t, fx.cfg.connect_timeout_us);
    CU_ASSERT_TRUE(fx.peer_reset);
    const tev_t *r = tev_rev("reconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(tev_num(r, "attempt"), 2);
    CU_ASSERT_EQUAL(tev_num(r, "delay_us"), fx.cfg.reconnect_initial_us);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Reconnecting");
    tev_run_to(r->t + tev_num(r, "delay_us") + 10 * MS);
    CU_ASSERT_EQUAL(fx.accepts, 2);
    CU_ASSERT_EQUAL(tev_num(tev_rev("connect", 1), "attempt"), 2);
    fx_teardown();
}

static void server_version_below_176_is_refused_before_start_api(void)
{
    fx_setup();
    fgw_listen();
    fx_start();
    tev_run_for(10 * MS);
    fgw_send_hello(175);
    tev_run_for(10 * MS);
    CU_ASSERT_TRUE(rx_is(HELLO, LIT_LEN(HELLO)));
    CU_ASSERT_TRUE(fx.peer_eof);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "client");
    CU_ASSERT_PTR_NOT_NULL(strstr(tev_str(d, "reason"), "175"));
    CU_ASSERT_EQUAL(tev_rcount("reconnect"), 1);
    CU_ASSERT_EQUAL(tev_rcount("msg_out"), 0);
    fx_teardown();
}

/* After a protocol error: an abortive close and a reconnect. */
static void check_protocol_error_resets(void)
{
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "client");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "rst");
    CU_ASSERT_EQUAL(strncmp(tev_str(d, "reason"), "protocol error", 14), 0);
    CU_ASSERT_TRUE(fx.peer_reset);
    const tev_t *r = tev_rev("reconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    tev_run_to(r->t + tev_num(r, "delay_us") + 10 * MS);
    CU_ASSERT_EQUAL(fx.accepts, 2);
    CU_ASSERT_TRUE(rx_is(HELLO, LIT_LEN(HELLO)));
}

static void garbage_frame_resets_the_connection_and_reconnects(void)
{
    fx_setup();
    fgw_to_ready();
    static const uint8_t garbage[] = {0, 0, 0, 3, 'a', 'b', 'c'}; /* no NUL at the end */
    CU_ASSERT_EQUAL(io_stream_write(fx.peer, garbage, sizeof garbage), 0);
    tev_run_for(10 * MS);
    check_protocol_error_resets();
    fx_teardown();
}

static void unparseable_field_is_a_protocol_error(void)
{
    fx_setup();
    fgw_to_start_api();
    fgw_send("15", "1", "DU111", NULL);
    fgw_send("9", "1", "abc", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 0);
    check_protocol_error_resets();
    fx_teardown();
}

static void client_id_in_use_before_ready_fails_and_backs_off(void)
{
    fx_setup();
    fgw_to_start_api();
    const char *text = proto_error_text(326);
    fgw_send("4", "2", "-1", "326", text, "", NULL);
    tev_run_for(10 * MS);
    const tev_t *e = tev_rev("error:326", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(tev_num(e, "id"), -1);
    CU_ASSERT_STRING_EQUAL(tev_str(e, "text"), text);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "client");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "reason"), "client id in use");
    CU_ASSERT_EQUAL(tev_rcount("reconnect"), 1);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 0);
    fx_teardown();
}

static void error_notice_after_ready_is_traced_and_keeps_the_connection(void)
{
    fx_setup();
    fgw_to_ready();
    fgw_send("4", "2", "-1", "2104", "Market data farm connection is OK:usfarm", "", NULL);
    tev_run_for(10 * MS);
    const tev_t *e = tev_rev("error:2104", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(tev_str(e, "text"), "Market data farm connection is OK:usfarm");
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), CONNECTED);
    fx_teardown();
}

/* Frames of the given fields, each list NULL-terminated, in one write: the
 * runner gets them in one delivery. */
/* Takes a ready session to its first ping, outstanding. */
static void fgw_to_first_ping(void)
{
    fgw_to_ready();
    tev_run_to(tev_rev("ready", 0)->t + fx.cfg.ping_interval_us + 1 * MS);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), 1);
}

/* A currentTime of version 1 with that time text, whole, into buf (64
 * bytes): its length. */
static size_t pong_bytes(uint8_t *buf, const char *time_text)
{
    size_t t = strlen(time_text), flen = 3 + 2 + t + 1;
    CU_ASSERT_FATAL(4 + flen <= 64);
    buf[0] = buf[1] = buf[2] = 0;
    buf[3] = (uint8_t)flen;
    memcpy(buf + 4, "49\0" "1", 5);
    memcpy(buf + 9, time_text, t + 1);
    return 4 + flen;
}

/* A delivery that is one whole answer is taken without the drain when its
 * time is 8 to 15 digits: at the bounds of that, past them, with a
 * non-digit at either end of the time (the two halves of its test), the
 * verdict is the general reader's, the trace the same. */
static void a_lone_answer_is_judged_like_any_other_at_every_time_length(void)
{
    static const struct {
        const char *time;
        int ok;
    } cases[] = {
        {"1234567", 1},          {"12345678", 1},         {"123456789012345", 1},
        {"1234567890123456", 1}, {"00000000", 1},         {"99999999", 1},
        {"a765376705", 0},       {"1a65376705", 0},       {"17653767a5", 0},
        {"176537670a", 0},       {"1234567/9012345", 0},  {"123456:8", 0},
        {"1765376705 ", 0},      {"\xff" "765376705", 0}, {"/2345678", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_setup();
        fgw_to_first_ping();
        uint8_t buf[64];
        fgw_write_raw(buf, pong_bytes(buf, cases[i].time));
        tev_run_for(10 * MS);
        const tev_t *in = tev_rev("msg_in", tev_rcount("msg_in") - 1);
        CU_ASSERT_EQUAL(tev_num(in, "id"), PROTO_IN_CURRENT_TIME);
        CU_ASSERT_STRING_EQUAL(tev_str(in, "name"), proto_in_name(PROTO_IN_CURRENT_TIME));
        CU_ASSERT_EQUAL(tev_rcount("ping_ok"), cases[i].ok);
        CU_ASSERT_EQUAL(tev_rcount("disconnect"), !cases[i].ok);
        if (cases[i].ok) {
            CU_ASSERT_EQUAL(tev_rev("ping_ok", 0)->t, in->t);
            CU_ASSERT_EQUAL(tev_num(tev_rev("ping_ok", 0), "seq"), 1);
        }
        fx_teardown();
    }
}

/* Bytes buffered from an earlier delivery come first: a delivery spelt
 * exactly like an answer that completes a frame begun before it is that
 * frame's payload, no answer. */
static void an_answer_shaped_delivery_after_a_partial_frame_is_read_as_its_rest(void)
{
    fx_setup();
    fgw_to_first_ping();
    uint8_t pong[64];
    size_t n = pong_bytes(pong, "1765376705");
    /* A frame of n bytes: its payload is the answer's bytes, prefix and
     * all, so its message id is "" (the unset id). */
    const uint8_t head[] = {0, 0, 0, (uint8_t)n};
    int ins = tev_rcount("msg_in");
    fgw_write_raw(head, sizeof head);
    tev_run_for(5 * MS);
    fgw_write_raw(pong, n);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 0);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("msg_in"), ins + 1);
    CU_ASSERT_NOT_EQUAL(tev_num(tev_rev("msg_in", ins), "id"), PROTO_IN_CURRENT_TIME);
    /* The ping is still outstanding: the next lone answer is its. */
    fgw_write_raw(pong, n);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 1);
    fx_teardown();
}

/* An answer with the start of the next frame behind it, two answers in
 * one delivery, an answer after the ping was answered: the drain's way,
 * with the same trace; the bytes left over wait for the rest. */
static void answers_that_share_a_delivery_are_read_in_order(void)
{
    fx_setup();
    fgw_to_first_ping();
    uint8_t buf[256];
    size_t n = pong_bytes(buf, "1765376705");
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, "4");
    proto_put_str(&w, "2");
    proto_put_str(&w, "-1");
    proto_put_str(&w, "2104");
    proto_put_str(&w, "Market data farm connection is OK:usfarm");
    proto_put_str(&w, "");
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    memcpy(buf + n, w.buf, 6);
    fgw_write_raw(buf, n + 6);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 1);
    CU_ASSERT_PTR_NULL(tev_rev("error:2104", 0));
    fgw_write_raw(w.buf + 6, w.len - 6);
    tev_run_for(5 * MS);
    CU_ASSERT_PTR_NOT_NULL(tev_rev("error:2104", 0));
    proto_writer_free(&w);
    /* Two answers at once: the first answers, the second is no check. */
    tev_run_to(tev_rev("ping", 0)->t + fx.cfg.ping_interval_us + 1 * MS);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), 2);
    int ins = tev_rcount("msg_in");
    memcpy(buf + n, buf, n);
    fgw_write_raw(buf, 2 * n);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("msg_in"), ins + 2);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 2);
    /* A lone answer with nothing outstanding is traced and no check. */
    fgw_write_raw(buf, n);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("msg_in"), ins + 3);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 2);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    fx_teardown();
}

/* The decoder counts the bytes of answers taken without it too: a bad
 * frame after many names its own byte offset on the connection. */
static void byte_offsets_count_the_answers_taken_whole(void)
{
    fx_setup();
    fgw_to_ready();
    uint8_t pong[64];
    size_t n = pong_bytes(pong, "1765376705");
    for (int i = 0; i < 5; i++) {
        int pings = tev_rcount("ping");
        tev_run_for(fx.cfg.ping_interval_us);
        CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), pings + 1);
        fgw_write_raw(pong, n);
        tev_run_for(5 * MS);
    }
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ping_ok"), 5);
    char want[64];
    snprintf(want, sizeof want, "protocol error: byte offset %zu:", fx.txlen);
    static const uint8_t garbage[] = {0, 0, 0, 3, 'a', 'b', 'c'}; /* no NUL at the end */
    fgw_write_raw(garbage, sizeof garbage);
    tev_run_for(10 * MS);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(strncmp(tev_str(d, "reason"), want, strlen(want)), 0);
    fx_teardown();
}

static void fgw_send_together(const char *const *fields)
{
    proto_writer_t w;
    proto_writer_init(&w);
    for (const char *const *f = fields; *f; f++) {
        proto_frame_begin(&w);
        for (; *f; f++)
            proto_put_str(&w, *f);
        CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    }
    fgw_write(&w);
    proto_writer_free(&w);
}

/* The frames after the one that ends the session belong to nobody: they
 * neither make it ready nor reach the next connection's decoder. */
static void frames_after_the_one_that_ends_the_session_in_one_delivery_are_dropped(void)
{
    fx_setup();
    fgw_to_start_api();
    const char *const frames[] = {"4", "2", "-1", "326", proto_error_text(326), "", NULL,
                                  "15", "1", "DU111", NULL,
                                  "9", "1", "1", NULL,
                                  NULL};
    fgw_send_together(frames);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("msg_in"), 1);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 0);
    const tev_t *r = tev_rev("reconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    tev_run_to(r->t + tev_num(r, "delay_us") + 10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.accepts, 2);
    fgw_send_hello(178);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(fx.rxlen, LIT_LEN(HELLO) + LIT_LEN(START_API));
    CU_ASSERT_TRUE(rx_ends_with(START_API, LIT_LEN(START_API)));
    fgw_send("15", "1", "DU111", NULL);
    fgw_send("9", "1", "1", NULL);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 1);
    fx_teardown();
}

/* A currentTime cut in two, its second half arriving with a notice: the
 * runner reads both, whichever delivery their bytes came in. */
static void a_reply_split_across_deliveries_is_read_with_the_frames_after_it(void)
{
    fx_setup();
    fgw_to_ready();
    io_us_t ready_t = tev_rev("ready", 0)->t;
    tev_run_to(ready_t + fx.cfg.ping_interval_us + 1 * MS);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), 1);
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    proto_put_str(&w, "49");
    proto_put_str(&w, "1");
    proto_put_str(&w, "1765376705");
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    proto_frame_begin(&w);
    proto_put_str(&w, "4");
    proto_put_str(&w, "2");
    proto_put_str(&w, "-1");
    proto_put_str(&w, "2104");
    proto_put_str(&w, "Market data farm connection is OK:usfarm");
    proto_put_str(&w, "");
    CU_ASSERT_EQUAL(proto_frame_end(&w), 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.peer, w.buf, 9), 0);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 0);
    CU_ASSERT_EQUAL(io_stream_write(fx.peer, w.buf + 9, w.len - 9), 0);
    tev_run_for(5 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 1);
    CU_ASSERT_PTR_NOT_NULL(tev_rev("error:2104", 0));
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    proto_writer_free(&w);
    fx_teardown();
}

static void gateway_fin_during_handshake_is_a_gateway_disconnect(void)
{
    fx_setup();
    fgw_to_start_api();
    io_stream_close(fx.peer, IO_CLOSE_FIN);
    fx.peer = NULL;
    tev_run_for(10 * MS);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "gateway");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "fin");
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 1);
    CU_ASSERT_EQUAL(tev_rcount("reconnect"), 1);
    fx_teardown();
}

static void refused_connect_is_a_connect_failure_and_is_retried(void)
{
    fx_setup();
    fx_start();
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("connect_failed"), 1);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    CU_ASSERT_EQUAL(tev_rcount("reconnect"), 1);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Reconnecting");
    tev_run_for(fx.cfg.reconnect_initial_us);
    CU_ASSERT_EQUAL(tev_rcount("connect"), 2);
    fx_teardown();
}

static void backoff_jitter_stays_within_its_fraction(void)
{
    fx_setup();
    fx.cfg.reconnect_jitter = 0.5;
    fx_start();
    tev_run_for(60 * SEC);
    int n = tev_rcount("reconnect"), off_base = 0;
    CU_ASSERT_TRUE(n >= 4);
    for (int k = 0; k < n; k++) {
        double base = (double)fx.cfg.reconnect_initial_us * (double)(1 << (k < 8 ? k : 8));
        if (base > (double)fx.cfg.reconnect_max_us)
            base = (double)fx.cfg.reconnect_max_us;
        double d = (double)tev_num(tev_rev("reconnect", k), "delay_us");
        CU_ASSERT_TRUE(d >= base * 0.5 && d <= base * 1.5);
        off_base += d != base;
    }
    CU_ASSERT_TRUE(off_base > 0);
    fx_teardown();
}

static void bad_config_is_refused_with_a_reason(void)
{
    fx_setup();
    char err[256] = "";
    fx.cfg.ping_timeout_us = 0;
    CU_ASSERT_EQUAL(rn_new(fx.loop, &fx.cfg, &fx.rn, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(fx.rn);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ping timeout"));
    rn_config_defaults(&fx.cfg);
    fx.cfg.reconnect_jitter = 1.5;
    CU_ASSERT_EQUAL(rn_new(fx.loop, &fx.cfg, &fx.rn, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "jitter"));
    fx_teardown();
}

/* ---- tests: behaviour, against the mock gateway ------------------------- */

static void gw_start(void)
{
    gw_config_t gc;
    gw_config_defaults(&gc);
    gc.port = PORT;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_new(fx.loop, &gc, &fx.gw, err, sizeof err), 0);
}

static void gw_to_ready(void)
{
    gw_start();
    fx_start();
    tev_run_for(100 * MS);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ready"), 1);
}

/* The label sequence as traced, joined with '|'. */
static void status_trail(char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; tev_rev("status", i); i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i ? "|" : "", tev_str(tev_rev("status", i), "label"));
    }
}

static void mock_gateway_session_gets_ready_and_answers_pings(void)
{
    fx_setup();
    gw_to_ready();
    CU_ASSERT_PTR_NOT_NULL(tev_find("gateway", "session_ready", 0));
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("ready", 0), "accounts"), "DU1234567");
    tev_run_for(3 * fx.cfg.ping_interval_us);
    CU_ASSERT_EQUAL(tev_rcount("ping"), 3);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), 3);
    CU_ASSERT_EQUAL(tev_num(tev_rev("ping_ok", 2), "seq"), 3);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    fx_teardown();
}

static void check_kill_and_recover(enum io_close_how how, const char *how_name)
{
    fx_setup();
    gw_to_ready();
    CU_ASSERT_EQUAL(gw_kill(fx.gw, how, -1), 1);
    tev_run_for(10 * MS);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "gateway");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), how_name);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Reconnecting");
    tev_run_for(fx.cfg.reconnect_initial_us + 100 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 2);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 1);
    char trail[256];
    status_trail(trail, sizeof trail);
    CU_ASSERT_STRING_EQUAL(trail, "Connecting|" CONNECTED "|Reconnecting|" CONNECTED);
    fx_teardown();
}

static void gateway_kill_with_fin_is_a_gateway_fin_disconnect_then_ready_again(void)
{
    check_kill_and_recover(IO_CLOSE_FIN, "fin");
}

static void gateway_kill_with_rst_is_a_gateway_rst_disconnect_then_ready_again(void)
{
    check_kill_and_recover(IO_CLOSE_RST, "rst");
}

static void stale_gateway_gets_a_ping_timeout_and_a_client_disconnect(void)
{
    fx_setup();
    gw_to_ready();
    io_us_t stale_t = io_now_us(fx.loop);
    gw_set_stale(fx.gw, 1, -1);
    tev_run_for(fx.cfg.ping_interval_us + fx.cfg.ping_timeout_us);
    const tev_t *pt = tev_rev("ping_timeout", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_TRUE(pt->t <= stale_t + fx.cfg.ping_interval_us + fx.cfg.ping_timeout_us);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_TRUE(d > pt);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "client");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "fin");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "reason"), "ping timeout");
    gw_set_stale(fx.gw, 0, -1);
    tev_run_for(fx.cfg.reconnect_initial_us + 100 * MS);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 2);
    fx_teardown();
}

static void backoff_delays_grow_cap_at_max_and_reset_after_ready(void)
{
    fx_setup();
    gw_to_ready();
    gw_free(fx.gw); /* the gateway is gone: every reconnect is refused */
    fx.gw = NULL;
    tev_run_for(40 * SEC);
    static const io_us_t want[] = {1 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC, 10 * SEC};
    CU_ASSERT_TRUE_FATAL(tev_rcount("reconnect") >= 6);
    for (int k = 0; k < 6; k++) {
        CU_ASSERT_EQUAL(tev_num(tev_rev("reconnect", k), "delay_us"), want[k]);
        CU_ASSERT_EQUAL(tev_num(tev_rev("reconnect", k), "attempt"), k + 1);
    }
    int before = tev_rcount("reconnect");
    gw_start();
    tev_run_for(11 * SEC);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ready"), 2);
    gw_kill(fx.gw, IO_CLOSE_FIN, -1);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_num(tev_rev("reconnect", before), "delay_us"), fx.cfg.reconnect_initial_us);
    fx_teardown();
}

static void check_shutdown(enum io_signal sig, const char *name, int force, const char *how)
{
    fx_setup();
    fx.cfg.force_disconnect = force;
    gw_to_ready();
    io_sim_raise_signal(fx.loop, sig);
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("signal", 0), "name"), name);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "by"), "client");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), how);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "reason"), "shutdown");
    CU_ASSERT_EQUAL(tev_num(tev_rev("exit", 0), "code"), 0);
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(fx.exit_code, 0);
    char trail[256];
    status_trail(trail, sizeof trail);
    CU_ASSERT_STRING_EQUAL(trail, "Connecting|" CONNECTED "|Stopping|Disconnected");
    const tev_t *gc = tev_find("gateway", "session_closed", 0);
    CU_ASSERT_STRING_EQUAL(tev_str(gc, "by"), "client");
    CU_ASSERT_STRING_EQUAL(tev_str(gc, "how"), how);
    tev_run_for(60 * SEC); /* nothing is scheduled any more */
    CU_ASSERT_EQUAL(tev_rcount("connect"), 1);
    fx_teardown();
}

static void sigint_closes_with_fin_and_exits_zero(void)
{
    check_shutdown(IO_SIGINT, "SIGINT", 0, "fin");
}

static void sigterm_closes_with_fin_and_exits_zero(void)
{
    check_shutdown(IO_SIGTERM, "SIGTERM", 0, "fin");
}

static void force_disconnect_closes_with_rst_on_shutdown(void)
{
    check_shutdown(IO_SIGINT, "SIGINT", 1, "rst");
}

/* Ready, then a ping that a stale gateway leaves unanswered. */
static void gw_to_outstanding_ping(void)
{
    gw_to_ready();
    gw_set_stale(fx.gw, 1, -1);
    tev_run_for(fx.cfg.ping_interval_us);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ping"), 1);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("ping_timeout"), 0);
}

static void shutdown_waits_for_the_outstanding_ping(void)
{
    fx_setup();
    gw_to_outstanding_ping();
    io_sim_raise_signal(fx.loop, IO_SIGINT);
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Stopping");
    CU_ASSERT_EQUAL(fx.exits, 0);
    tev_run_for(fx.cfg.ping_timeout_us);
    CU_ASSERT_EQUAL(tev_rcount("ping_timeout"), 1);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "fin");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "reason"), "shutdown");
    CU_ASSERT_TRUE(d > tev_rev("ping_timeout", 0));
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(fx.exit_code, 0);
    fx_teardown();
}

static void second_signal_while_stopping_aborts_with_130(void)
{
    fx_setup();
    gw_to_outstanding_ping();
    io_sim_raise_signal(fx.loop, IO_SIGINT);
    tev_run_for(10 * MS);
    io_sim_raise_signal(fx.loop, IO_SIGTERM);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("signal"), 2);
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "rst");
    CU_ASSERT_EQUAL(tev_num(tev_rev("exit", 0), "code"), 130);
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(fx.exit_code, 130);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Disconnected");
    tev_run_for(fx.cfg.ping_timeout_us);
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(tev_rcount("ping_timeout"), 0);
    fx_teardown();
}

static void rn_stop_shuts_down_like_sigint_without_a_signal_event(void)
{
    fx_setup();
    gw_to_ready();
    rn_stop(fx.rn);
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(fx.exit_code, 0);
    CU_ASSERT_EQUAL(tev_rcount("signal"), 0);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("disconnect", 0), "reason"), "shutdown");
    fx_teardown();
}

static void stop_during_backoff_exits_without_a_disconnect(void)
{
    fx_setup();
    fx_start(); /* nobody listens: connect refused, then backoff */
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Reconnecting");
    rn_stop(fx.rn);
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    tev_run_for(30 * SEC);
    CU_ASSERT_EQUAL(tev_rcount("connect"), 1);
    fx_teardown();
}

static void freeing_a_connected_runner_resets_and_traces_the_disconnect(void)
{
    fx_setup();
    gw_to_ready();
    rn_free(fx.rn);
    fx.rn = NULL;
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "how"), "rst");
    CU_ASSERT_EQUAL(tev_rcount("reconnect"), 0);
    CU_ASSERT_EQUAL(fx.exits, 0);
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_find("gateway", "session_closed", 0), "how"), "rst");
    fx_teardown();
}

static CU_TestInfo tests[] = {
    {"runner_sends_only_the_hello_before_the_server_hello",
     runner_sends_only_the_hello_before_the_server_hello},
    {"runner_sends_start_api_with_its_client_id_after_the_server_hello",
     runner_sends_start_api_with_its_client_id_after_the_server_hello},
    {"ready_comes_after_next_valid_id_then_managed_accounts",
     ready_comes_after_next_valid_id_then_managed_accounts},
    {"ready_comes_after_managed_accounts_then_next_valid_id",
     ready_comes_after_managed_accounts_then_next_valid_id},
    {"empty_managed_accounts_do_not_make_the_session_ready",
     empty_managed_accounts_do_not_make_the_session_ready},
    {"ping_is_req_current_time_and_its_rtt_is_measured",
     ping_is_req_current_time_and_its_rtt_is_measured},
    {"every_ping_traces_msg_out_with_the_catalog_name_of_req_current_time",
     every_ping_traces_msg_out_with_the_catalog_name_of_req_current_time},
    {"current_time_answers_are_accepted_exactly_when_proto_reads_the_time",
     current_time_answers_are_accepted_exactly_when_proto_reads_the_time},
    {"current_time_answers_of_every_spelling_are_traced_and_judged_alike",
     current_time_answers_of_every_spelling_are_traced_and_judged_alike},
    {"a_lone_answer_is_judged_like_any_other_at_every_time_length",
     a_lone_answer_is_judged_like_any_other_at_every_time_length},
    {"an_answer_shaped_delivery_after_a_partial_frame_is_read_as_its_rest",
     an_answer_shaped_delivery_after_a_partial_frame_is_read_as_its_rest},
    {"answers_that_share_a_delivery_are_read_in_order",
     answers_that_share_a_delivery_are_read_in_order},
    {"byte_offsets_count_the_answers_taken_whole", byte_offsets_count_the_answers_taken_whole},
    {"every_ping_sends_the_same_req_current_time_bytes",
     every_ping_sends_the_same_req_current_time_bytes},
    {"handshake_step_timeout_resets_and_schedules_a_reconnect",
     handshake_step_timeout_resets_and_schedules_a_reconnect},
    {"server_version_below_176_is_refused_before_start_api",
     server_version_below_176_is_refused_before_start_api},
    {"garbage_frame_resets_the_connection_and_reconnects",
     garbage_frame_resets_the_connection_and_reconnects},
    {"unparseable_field_is_a_protocol_error", unparseable_field_is_a_protocol_error},
    {"client_id_in_use_before_ready_fails_and_backs_off",
     client_id_in_use_before_ready_fails_and_backs_off},
    {"error_notice_after_ready_is_traced_and_keeps_the_connection",
     error_notice_after_ready_is_traced_and_keeps_the_connection},
    {"frames_after_the_one_that_ends_the_session_in_one_delivery_are_dropped",
     frames_after_the_one_that_ends_the_session_in_one_delivery_are_dropped},
    {"a_reply_split_across_deliveries_is_read_with_the_frames_after_it",
     a_reply_split_across_deliveries_is_read_with_the_frames_after_it},
    {"gateway_fin_during_handshake_is_a_gateway_disconnect",
     gateway_fin_during_handshake_is_a_gateway_disconnect},
    {"refused_connect_is_a_connect_failure_and_is_retried",
     refused_connect_is_a_connect_failure_and_is_retried},
    {"backoff_jitter_stays_within_its_fraction", backoff_jitter_stays_within_its_fraction},
    {"bad_config_is_refused_with_a_reason", bad_config_is_refused_with_a_reason},
    {"mock_gateway_session_gets_ready_and_answers_pings",
     mock_gateway_session_gets_ready_and_answers_pings},
    {"gateway_kill_with_fin_is_a_gateway_fin_disconnect_then_ready_again",
     gateway_kill_with_fin_is_a_gateway_fin_disconnect_then_ready_again},
    {"gateway_kill_with_rst_is_a_gateway_rst_disconnect_then_ready_again",
     gateway_kill_with_rst_is_a_gateway_rst_disconnect_then_ready_again},
    {"stale_gateway_gets_a_ping_timeout_and_a_client_disconnect",
     stale_gateway_gets_a_ping_timeout_and_a_client_disconnect},
    {"backoff_delays_grow_cap_at_max_and_reset_after_ready",
     backoff_delays_grow_cap_at_max_and_reset_after_ready},
    {"sigint_closes_with_fin_and_exits_zero", sigint_closes_with_fin_and_exits_zero},
    {"sigterm_closes_with_fin_and_exits_zero", sigterm_closes_with_fin_and_exits_zero},
    {"force_disconnect_closes_with_rst_on_shutdown", force_disconnect_closes_with_rst_on_shutdown},
    {"shutdown_waits_for_the_outstanding_ping", shutdown_waits_for_the_outstanding_ping},
    {"second_signal_while_stopping_aborts_with_130", second_signal_while_stopping_aborts_with_130},
    {"rn_stop_shuts_down_like_sigint_without_a_signal_event",
     rn_stop_shuts_down_like_sigint_without_a_signal_event},
    {"stop_during_backoff_exits_without_a_disconnect",
     stop_during_backoff_exits_without_a_disconnect},
    {"freeing_a_connected_runner_resets_and_traces_the_disconnect",
     freeing_a_connected_runner_resets_and_traces_the_disconnect},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"runner", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
