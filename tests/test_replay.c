/* test_replay.c - the replaying gateway (mockgw/replay) and the recording
 * proxy (mockgw/proxy). Conversations are recorded into a pcap with the
 * proxy's own recorder, then a gateway replays them over io_sim to a
 * scripted client that sends frames and keeps every frame it receives
 * with its virtual arrival time. The proxy is run between such a client
 * and a scripted upstream; its pcap is read back through capture.h. The
 * committed captures (tests/data/captures/) check loading and refusals. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../mockgw/capture.h"
#include "../mockgw/config.h"
#include "../mockgw/gateway.h"
#include "../mockgw/proxy.h"
#include "../mockgw/replay.h"
#include "../proto/proto.h"
#include "gwclient.h"
#include "testlib.h"

#define T_T0_US 1745609035000000ll /* recorded conversations start here */
#define T_FRAMES_MAX 64
#define T_CAPS "tests/data/captures/"
#define T_GW_PORT 4002
#define T_PROXY_PORT 4003
#define T_UP_PORT 4100

/* A scripted TWS client, or the scripted upstream's side of one stream. */
typedef struct t_peer {
    io_stream_t *stream;
    proto_decoder_t dec;
    int framed;              /* decode frames (else only keep raw bytes) */
    char *frames[T_FRAMES_MAX]; /* "49|1|1700000000" */
    io_us_t at_ms[T_FRAMES_MAX];
    size_t nframes;
    uint8_t raw[8192];
    size_t nraw;
    size_t chunk_max;        /* the largest single delivery */
    int eof, reset;
} t_peer_t;

/* Traces name their source ("proxy fault:..."); the loop, the gateway
 * and the records are gwclient.h's, the rest is this file's. */
static const gwc_opts_t T_ENV = {7, GWC_START_WALL_S, 1, NULL, 0};

static struct {
    char cap[64];            /* the pcap a test records */
    gw_proxy_rec_t *rec;
    gw_proxy_flow_t flow;
    t_peer_t client, up;
    io_listener_t *up_listener;
} E;

/* ---- the environment ---------------------------------------------------- */

static void peer_reset(t_peer_t *p)
{
    proto_decoder_free(&p->dec);
    for (size_t i = 0; i < p->nframes; i++)
        free(p->frames[i]);
    memset(p, 0, sizeof *p);
    proto_decoder_init(&p->dec);
}

static void env_open(void)
{
    memset(&E, 0, sizeof E);
    gwc_env_init(&T_ENV);
    gwc.cfg.port = T_GW_PORT;
    snprintf(E.cap, sizeof E.cap, "/tmp/test_replay_%d.pcap", (int)getpid());
    peer_reset(&E.client);
    peer_reset(&E.up);
}

static void env_close(void)
{
    if (E.client.stream)
        io_stream_close(E.client.stream, IO_CLOSE_FIN);
    if (E.up.stream)
        io_stream_close(E.up.stream, IO_CLOSE_FIN);
    if (E.up_listener)
        io_listener_close(E.up_listener);
    gw_free(gwc.gw);
    gw_proxy_rec_close(E.rec);
    gwc_env_free();
    peer_reset(&E.client);
    peer_reset(&E.up);
    proto_decoder_free(&E.client.dec);
    proto_decoder_free(&E.up.dec);
    unlink(E.cap);
}

/* ---- recording a conversation ------------------------------------------- */

static void cap_begin(int min_version, int max_version, int server_version)
{
    static const uint8_t cip[4] = {10, 0, 0, 1}, sip[4] = {10, 0, 0, 2};
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_proxy_rec_open(E.cap, &E.rec, err, sizeof err), 0);
    memset(&E.flow, 0, sizeof E.flow);
    memcpy(E.flow.client_ip, cip, 4);
    memcpy(E.flow.server_ip, sip, 4);
    E.flow.client_port = 40001;
    E.flow.server_port = T_GW_PORT;
    gw_proxy_rec_connect(E.rec, &E.flow, 1000, 5000, T_T0_US);
    proto_writer_t w;
    proto_writer_init(&w);
    proto_client_hello_write(&w, min_version, max_version, "");
    gw_proxy_rec_data(E.rec, &E.flow, GW_CAP_C2S, w.buf, w.len, T_T0_US + 1000);
    proto_writer_reset(&w);
    proto_server_hello_write(&w, server_version, "20250425 19:23:55 UTC");
    gw_proxy_rec_data(E.rec, &E.flow, GW_CAP_S2C, w.buf, w.len, T_T0_US + 2000);
    proto_writer_free(&w);
}

/* One frame of "|"-separated fields at ms after the recording's start. */
static void cap_msg(int dir, long ms, const char *fields)
{
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(gwc_frame_split(&w, fields), 0);
    gw_proxy_rec_data(E.rec, &E.flow, dir, w.buf, w.len, T_T0_US + ms * IO_US_PER_MS);
    proto_writer_free(&w);
}

static void cap_end(long ms)
{
    gw_proxy_rec_end(E.rec, &E.flow, GW_CAP_C2S, 0, T_T0_US + ms * IO_US_PER_MS);
    gw_proxy_rec_end(E.rec, &E.flow, GW_CAP_S2C, 0, T_T0_US + ms * IO_US_PER_MS);
    gw_proxy_rec_close(E.rec);
    E.rec = NULL;
}

/* The startup every recorded conversation below shares: startApi at 10 ms,
 * the accounts, the next id and a farm notice at 11 ms. */
static void cap_startup(void)
{
    cap_msg(GW_CAP_C2S, 10, "71|2|17|");
    cap_msg(GW_CAP_S2C, 11, "15|1|DUREC1");
    cap_msg(GW_CAP_S2C, 11, "9|1|1");
    cap_msg(GW_CAP_S2C, 11, "4|2|-1|2104|Market data farm connection is OK:usfarm|");
}

#define T_HIST(id, sym) "20|" id "|0|" sym "|STK||0.0|||SMART||USD|||0|20251210 14:00:00 UTC|" \
                        "30 mins|3 D|1|TRADES|1|0|"

/* reqCurrentTime at 1 s answered at 1.5 s, bars for AAPL (reqId 7) at 2 s
 * answered at 2.005 s, error 1100 unsolicited at 5 s, FIN at 6 s. */
static void cap_basic(void)
{
    cap_begin(100, 178, 178);
    cap_startup();
    cap_msg(GW_CAP_C2S, 1000, "49|1");
    cap_msg(GW_CAP_S2C, 1500, "49|1|1700000000");
    cap_msg(GW_CAP_C2S, 2000, T_HIST("7", "AAPL"));
    cap_msg(GW_CAP_S2C, 2005, "17|7|20251208  14:00:00|20251210  14:00:00|1|"
                              "20251210  13:30:00|10|11|9|10.5|100|10.2|5");
    cap_msg(GW_CAP_S2C, 5000, "4|2|-1|1100|Connectivity between IBKR and TWS has been lost.|");
    cap_end(6000);
}

/* ---- the scripted peers ------------------------------------------------- */

static void peer_on_data(t_peer_t *p, const uint8_t *data, size_t len)
{
    if (p->nraw + len <= sizeof p->raw) {
        memcpy(p->raw + p->nraw, data, len);
        p->nraw += len;
    }
    p->chunk_max = len > p->chunk_max ? len : p->chunk_max;
    if (!p->framed)
        return;
    proto_decoder_feed(&p->dec, data, len);
    proto_frame_t f;
    while (p->nframes < T_FRAMES_MAX && proto_decoder_next(&p->dec, &f, NULL, 0) == 1) {
        p->at_ms[p->nframes] = io_now_us(gwc.loop) / IO_US_PER_MS;
        p->frames[p->nframes++] = gwc_frame_join(&f);
    }
}

static void peer_on_stream(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    t_peer_t *p = data;
    (void)stream;
    if (ev->kind == IO_EV_DATA)
        peer_on_data(p, ev->data, ev->len);
    else if (ev->kind == IO_EV_EOF)
        p->eof = 1;
    else if (ev->kind == IO_EV_RESET || ev->kind == IO_EV_CONNECT_FAILED)
        p->reset = 1;
}

static void client_connect(uint16_t port)
{
    char err[128];
    E.client.framed = 1;
    CU_ASSERT_EQUAL_FATAL(io_connect(gwc.loop, "127.0.0.1", port, peer_on_stream, &E.client,
                                     &E.client.stream, err, sizeof err), 0);
}

static void send_raw(t_peer_t *p, const void *bytes, size_t len)
{
    CU_ASSERT_EQUAL(io_stream_write(p->stream, bytes, len), 0);
}

/* One frame of "|"-separated fields from p. */
static void send_msg(t_peer_t *p, const char *fields)
{
    proto_writer_t w;
    proto_writer_init(&w);
    gwc_frame_split(&w, fields);
    send_raw(p, w.buf, w.len);
    proto_writer_free(&w);
}

static void send_hello(int min_version, int max_version)
{
    gwc_write_hello(E.client.stream, min_version, max_version);
}

/* The index of the first frame received starting with prefix, or -1. */
static int got(const char *prefix)
{
    for (size_t i = 0; i < E.client.nframes; i++)
        if (strncmp(E.client.frames[i], prefix, strlen(prefix)) == 0)
            return (int)i;
    return -1;
}

static int count_frames(const char *prefix)
{
    int n = 0;
    for (size_t i = 0; i < E.client.nframes; i++)
        n += strncmp(E.client.frames[i], prefix, strlen(prefix)) == 0;
    return n;
}

/* A gateway replaying E.cap, and a client through hello and startApi. */
static void replay_start(int lenient, int fast)
{
    char err[256];
    gwc.cfg.replay = (gw_replay_config_t){E.cap, lenient, fast, 0};
    CU_ASSERT_EQUAL_FATAL(gw_new(gwc.loop, &gwc.cfg, &gwc.gw, err, sizeof err), 0);
    client_connect(T_GW_PORT);
    gwc_run_ms(5);
    send_hello(157, 178);
    send_msg(&E.client, "71|2|3|");
    gwc_run_ms(20);
}

/* ---- replay: strict -------------------------------------------------------- */

static void strict_replay_answers_each_request_from_the_recording(void)
{
    env_open();
    cap_basic();
    replay_start(0, 1);
    CU_ASSERT_EQUAL(got("178|"), 0); /* the server hello at the recorded version */
    CU_ASSERT(got("15|1|DUREC1") > 0);
    CU_ASSERT(got("9|1|1") > got("15|1|DUREC1"));
    CU_ASSERT(got("4|2|-1|2104|") > got("9|1|1"));
    send_msg(&E.client, "49|1");
    gwc_run_ms(10);
    CU_ASSERT(got("49|1|1700000000") > 0);
    send_msg(&E.client, T_HIST("42", "AAPL"));
    gwc_run_ms(10);
    /* The bars carry the client's request id, not the recorded 7. */
    CU_ASSERT(got("17|42|20251208  14:00:00|") > 0);
    CU_ASSERT(got("17|7|") < 0);
    CU_ASSERT(got("4|2|-1|1100|") > got("17|42|"));
    io_stream_close(E.client.stream, IO_CLOSE_FIN);
    E.client.stream = NULL;
    gwc_run_ms(10);
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_unconsumed"));
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_diverged"));
    env_close();
}

static void strict_divergence_reports_expected_and_actual_and_closes(void)
{
    env_open();
    cap_basic();
    replay_start(0, 1);
    send_msg(&E.client, "49|1");
    send_msg(&E.client, T_HIST("42", "MSFT"));
    gwc_run_ms(10);
    const char *t = gwc_records_find(&gwc.traces, "replay_diverged");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "index=2 expected=reqHistoricalData [20,7,0,\"AAPL\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "actual=reqHistoricalData [20,42,0,\"MSFT\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "detail=field 3: expected \"AAPL\", got \"MSFT\""));
    const char *l = gwc_records_find(&gwc.logs, "diverged at request 2 of 2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(l, "\n  expected: reqHistoricalData [20,7,0,\"AAPL\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(l, "\n  actual:   reqHistoricalData [20,42,0,\"MSFT\""));
    CU_ASSERT(E.client.eof);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "reason=replay diverged"));
    CU_ASSERT(got("17|") < 0);
    /* One failure, not a second one for what is left. */
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_unconsumed"));
    env_close();
}

static void strict_divergence_on_the_kind_and_after_the_last_request(void)
{
    env_open();
    cap_basic();
    replay_start(0, 1);
    send_msg(&E.client, "61|1");
    gwc_run_ms(10);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "index=1 expected=reqCurrentTime [49,1] "
                                                   "actual=reqPositions [61,1] "
                                                   "detail=another kind of message"));
    env_close();
    env_open();
    cap_basic();
    replay_start(0, 1);
    send_msg(&E.client, "49|1");
    send_msg(&E.client, T_HIST("1", "AAPL"));
    send_msg(&E.client, "49|1");
    gwc_run_ms(10);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "index=3 expected=nothing (the recording "
                                                   "ends after 2 requests)"));
    env_close();
}

static void strict_unconsumed_requests_fail_at_the_end(void)
{
    env_open();
    cap_basic();
    replay_start(0, 1);
    send_msg(&E.client, "49|1");
    gwc_run_ms(10);
    io_stream_close(E.client.stream, IO_CLOSE_FIN);
    E.client.stream = NULL;
    gwc_run_ms(10);
    const char *t = gwc_records_find(&gwc.traces, "replay_unconsumed");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "count=1 next=reqHistoricalData [20,7,"));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "1 recorded requests never came, the first: "
                                                 "reqHistoricalData"));
    env_close();
    /* A recording no session played is unconsumed when the gateway goes. */
    env_open();
    cap_basic();
    char err[256];
    gwc.cfg.replay = (gw_replay_config_t){E.cap, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(gw_new(gwc.loop, &gwc.cfg, &gwc.gw, err, sizeof err), 0);
    gw_free(gwc.gw);
    gwc.gw = NULL;
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "replay_unconsumed conn=0 count=2 "
                                                   "next=reqCurrentTime [49,1]"));
    env_close();
}

static void a_session_still_open_at_the_end_of_a_run_reports_what_it_owes_once(void)
{
    env_open();
    cap_basic();
    replay_start(0, 1);
    send_msg(&E.client, "49|1");
    gwc_run_ms(10);
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_unconsumed"));
    gw_report_end(gwc.gw);
    const char *t = gwc_records_find(&gwc.traces, "replay_unconsumed");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "count=1 next=reqHistoricalData [20,7,"));
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1); /* reported, not closed */
    size_t before = gwc.traces.n;
    gw_free(gwc.gw);
    gwc.gw = NULL;
    for (size_t i = before; i < gwc.traces.n; i++)
        CU_ASSERT_PTR_NULL(strstr(gwc.traces.lines[i], "replay_unconsumed"));
    env_close();
}

static void a_client_that_cannot_take_the_recorded_version_is_refused(void)
{
    env_open();
    cap_basic();
    char err[256];
    gwc.cfg.replay = (gw_replay_config_t){E.cap, 0, 1, 0};
    CU_ASSERT_EQUAL_FATAL(gw_new(gwc.loop, &gwc.cfg, &gwc.gw, err, sizeof err), 0);
    client_connect(T_GW_PORT);
    gwc_run_ms(5);
    send_hello(100, 150);
    gwc_run_ms(10);
    CU_ASSERT(E.client.eof);
    CU_ASSERT_EQUAL(E.client.nframes, 0);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "replay_refused conn="));
    CU_ASSERT_PTR_NOT_NULL(
        gwc_records_find(&gwc.traces, "version=178 client_min=100 client_max=150"));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "was recorded at server version 178, the "
                                                 "client takes only v100..150"));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "reason=replay version refused"));
    env_close();
}

/* ---- replay: lenient, ids, timing ------------------------------------------ */

static void lenient_takes_any_order_and_falls_back_to_the_synthetic_market(void)
{
    env_open();
    cap_basic();
    replay_start(1, 1);
    send_msg(&E.client, T_HIST("5", "AAPL")); /* recorded second */
    send_msg(&E.client, "49|1");
    send_msg(&E.client, "49|1");              /* recorded once: synthetic */
    send_msg(&E.client, "61|1");              /* not recorded: synthetic */
    gwc_run_ms(10);
    CU_ASSERT(got("17|5|20251208  14:00:00|") > 0);
    CU_ASSERT(got("49|1|1700000000") > got("17|5|"));
    char now[64];
    snprintf(now, sizeof now, "49|1|%d", GWC_START_WALL_S);
    CU_ASSERT(got(now) > got("49|1|1700000000"));
    CU_ASSERT_EQUAL(count_frames("49|1|"), 2);
    CU_ASSERT(got("62|1") > 0);
    io_stream_close(E.client.stream, IO_CLOSE_FIN);
    E.client.stream = NULL;
    gwc_run_ms(10);
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_diverged"));
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_unconsumed"));
    env_close();
}

static void order_ids_are_remapped_both_ways(void)
{
    env_open();
    cap_begin(100, 178, 178);
    cap_startup();
    cap_msg(GW_CAP_C2S, 1000, "3|1|0|AAPL|STK||0.0|||SMART||USD||||||BUY|10|LMT|150.5");
    cap_msg(GW_CAP_S2C, 1001, "5|1|265598|AAPL|STK");
    cap_msg(GW_CAP_S2C, 1001, "3|1|Submitted|0|10|0|77|0|0|17||0");
    cap_msg(GW_CAP_C2S, 2000, "4|1|1|");
    cap_msg(GW_CAP_S2C, 2001, "3|1|Cancelled|0|10|0|77|0|0|17||0");
    cap_msg(GW_CAP_S2C, 2001, "4|2|1|202|Order Canceled - reason:|");
    cap_end(3000);
    replay_start(0, 1);
    send_msg(&E.client, "3|500|0|AAPL|STK||0.0|||SMART||USD||||||BUY|10|LMT|151");
    gwc_run_ms(10);
    CU_ASSERT(got("5|500|265598|AAPL") > 0);
    CU_ASSERT(got("3|500|Submitted|") > 0);
    /* The cancel names the live id; it is the recorded cancel of order 1. */
    send_msg(&E.client, "4|1|500|");
    gwc_run_ms(10);
    CU_ASSERT(got("3|500|Cancelled|") > 0);
    CU_ASSERT(got("4|2|500|202|") > 0);
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.traces, "replay_diverged"));
    env_close();
    /* A cancel of another order is not the recorded one. */
    env_open();
    cap_begin(100, 178, 178);
    cap_startup();
    cap_msg(GW_CAP_C2S, 1000, "3|1|0|AAPL|STK||0.0|||SMART||USD||||||BUY|10|LMT|150.5");
    cap_msg(GW_CAP_C2S, 2000, "4|1|1|");
    cap_end(3000);
    replay_start(0, 1);
    send_msg(&E.client, "3|500|0|AAPL|STK||0.0|||SMART||USD||||||BUY|10|LMT|151");
    send_msg(&E.client, "4|1|501|");
    gwc_run_ms(10);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "detail=field 2: refers to id 501 "
                                                   "(recorded id 501), expected 1"));
    env_close();
}

static void recorded_timing_keeps_the_recorded_delays_on_the_virtual_clock(void)
{
    env_open();
    cap_basic();
    replay_start(0, 0);
    io_us_t start_ms = io_now_us(gwc.loop) / IO_US_PER_MS; /* about 20 ms after startApi */
    send_msg(&E.client, "49|1");
    gwc_run_ms(1000);
    int t = got("49|1|1700000000");
    CU_ASSERT_FATAL(t > 0);
    /* Answered 500 ms after the request arrived (plus the network). */
    CU_ASSERT(E.client.at_ms[t] >= start_ms + 500);
    CU_ASSERT(E.client.at_ms[t] <= start_ms + 502);
    /* The unsolicited 1100 comes 4.99 s after the live startApi. */
    CU_ASSERT(got("4|2|-1|1100|") < 0);
    gwc_run_ms(5000);
    int u = got("4|2|-1|1100|");
    CU_ASSERT_FATAL(u > 0);
    CU_ASSERT(E.client.at_ms[u] >= 4990);
    CU_ASSERT(E.client.at_ms[u] <= 5010);
    env_close();
}

static void fast_timing_answers_at_once(void)
{
    env_open();
    cap_basic();
    replay_start(0, 1);
    io_us_t start_ms = io_now_us(gwc.loop) / IO_US_PER_MS;
    send_msg(&E.client, "49|1");
    gwc_run_ms(5);
    int t = got("49|1|1700000000");
    CU_ASSERT_FATAL(t > 0);
    CU_ASSERT(E.client.at_ms[t] <= start_ms + 2);
    /* The 1100 followed the bars in the recording: it waits for them. */
    CU_ASSERT(got("4|2|-1|1100|") < 0);
    send_msg(&E.client, T_HIST("8", "AAPL"));
    gwc_run_ms(5);
    CU_ASSERT(got("4|2|-1|1100|") > got("17|8|"));
    env_close();
}

/* ---- loading ------------------------------------------------------------------ */

static int load(const char *path, unsigned conn, size_t *requests, char *err, size_t errlen)
{
    gw_replay_config_t cfg = {path, 0, 0, conn};
    gw_replay_t *rp = NULL;
    int rc = gw_replay_load(gwc.loop, &cfg, &rp, err, errlen);
    if (rc == 0) {
        *requests = gw_replay_requests(rp);
        CU_ASSERT_EQUAL(gw_replay_version(rp), 178);
        /* Lenient, so that freeing it unplayed reports nothing. */
        gw_replay_free(rp);
    }
    return rc;
}

static void committed_captures_load_and_damaged_ones_get_their_error(void)
{
    char err[512];
    size_t n = 0;
    env_open();
    CU_ASSERT_EQUAL(load(T_CAPS "runner-proxy-4002.pcap", 0, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(n, 7); /* ping, positions, cancel, 2 × bars, 2 pings */
    CU_ASSERT_EQUAL(load(T_CAPS "stoqey-4002.pcap", 0, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(load(T_CAPS "runner-4001.pcapng", 0, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(n, 2);
    /* Reordered segments are put back in order; other flows are ignored. */
    CU_ASSERT_EQUAL(load(T_CAPS "damaged-reordered.pcap", 0, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(load(T_CAPS "damaged-mixed.pcap", 0, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(load(T_CAPS "damaged-missing.pcap", 0, &n, err, sizeof err),
                    GW_REPLAY_ERR_CAPTURE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "damaged-missing.pcap: conversation 1 cannot be "
                                       "replayed: s>c: 10 bytes missing at offset 49"));
    CU_ASSERT_EQUAL(load(T_CAPS "damaged-truncated.pcap", 0, &n, err, sizeof err),
                    GW_PCAP_ERR_TRUNCATED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "damaged-truncated.pcap: packet 12 at byte offset 1089"));
    CU_ASSERT_EQUAL(load(T_CAPS "README.md", 0, &n, err, sizeof err), GW_PCAP_ERR_OPEN);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "README.md"));
    CU_ASSERT_EQUAL(load(T_CAPS "stoqey-4002.pcap", 2, &n, err, sizeof err),
                    GW_REPLAY_ERR_CAPTURE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no TWS conversation 2 (the capture holds 1)"));
    /* gw_new refuses a replay that does not load, with the reason. */
    gwc.cfg.replay = (gw_replay_config_t){T_CAPS "damaged-missing.pcap", 0, 0, 0};
    CU_ASSERT_EQUAL(gw_new(gwc.loop, &gwc.cfg, &gwc.gw, err, sizeof err), GW_REPLAY_ERR_CAPTURE);
    CU_ASSERT_PTR_NULL(gwc.gw);
    env_close();
}

static void a_capture_at_a_version_the_mock_cannot_replay_is_refused(void)
{
    char err[512];
    size_t n = 0;
    env_open();
    cap_begin(100, 193, 193);
    cap_startup();
    cap_end(100);
    CU_ASSERT_EQUAL(load(E.cap, 0, &n, err, sizeof err), GW_REPLAY_ERR_VERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "was recorded at server version 193; the mock replays "
                                       "versions 151..178"));
    env_close();
    env_open();
    cap_begin(100, 178, 178);
    cap_msg(GW_CAP_C2S, 10, "49|1");
    cap_end(100);
    CU_ASSERT_EQUAL(load(E.cap, 0, &n, err, sizeof err), GW_REPLAY_ERR_CAPTURE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "the first client message is not startApi"));
    env_close();
}

static void the_gateway_config_reads_the_replay_object(void)
{
    gw_config_t cfg;
    char err[256];
    gw_config_defaults(&cfg);
    cJSON *o = cJSON_Parse("{\"replay\": {\"file\": \"x.pcap\", \"mode\": \"lenient\", "
                           "\"timing\": \"fast\", \"conn\": 2}}");
    CU_ASSERT_EQUAL(gw_config_from_json(o, &cfg, "gateway", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.replay.file, "x.pcap");
    CU_ASSERT_EQUAL(cfg.replay.lenient, 1);
    CU_ASSERT_EQUAL(cfg.replay.fast, 1);
    CU_ASSERT_EQUAL(cfg.replay.conn, 2);
    cJSON_Delete(o);
    static const struct {
        const char *json, *err;
    } bad[] = {
        {"{\"replay\": {\"mode\": \"strict\"}}", "gateway.replay.file: missing"},
        {"{\"replay\": {\"file\": \"x\", \"mode\": \"loose\"}}",
         "gateway.replay.mode: expected \"strict\" or \"lenient\", got \"loose\""},
        {"{\"replay\": {\"file\": \"x\", \"timing\": 1}}",
         "gateway.replay.timing: expected a string, got a number"},
        {"{\"replay\": {\"file\": \"x\", \"speed\": 1}}", "gateway.replay.speed: unknown key"},
        {"{\"replay\": \"x.pcap\"}", "gateway.replay: expected an object, got a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = cJSON_Parse(bad[i].json);
        CU_ASSERT_EQUAL(gw_config_from_json(o, &cfg, "gateway", err, sizeof err), IO_ERR_INVAL);
        CU_ASSERT_STRING_EQUAL(err, bad[i].err);
        cJSON_Delete(o);
    }
    gw_config_release(&cfg);
}

/* ---- the proxy ------------------------------------------------------------------ */

static void up_on_accept(io_listener_t *listener, io_stream_t *stream, void *data)
{
    (void)listener;
    (void)data;
    E.up.stream = stream;
    io_stream_set_cb(stream, peer_on_stream, &E.up);
}

static gw_proxy_t *proxy_start(int scrub)
{
    char err[256];
    gw_proxy_config_t cfg;
    gw_proxy_t *px = NULL;
    gw_proxy_config_defaults(&cfg);
    cfg.port = T_PROXY_PORT;
    cfg.upstream_port = T_UP_PORT;
    cfg.record = E.cap;
    cfg.scrub_accounts = scrub;
    CU_ASSERT_EQUAL_FATAL(io_listen(gwc.loop, "127.0.0.1", T_UP_PORT, up_on_accept, NULL,
                                    &E.up_listener, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(gw_proxy_new(gwc.loop, &cfg, &px, err, sizeof err), 0);
    client_connect(T_PROXY_PORT);
    gwc_run_ms(5);
    return px;
}

/* Messages of the first conversation in E.cap, "c>s 49|1" per message. */
typedef struct t_read {
    char *lines[T_FRAMES_MAX];
    size_t n;
    int version;
    uint64_t gaps;
} t_read_t;

static void read_cb(const gw_cap_event_t *ev, void *data)
{
    t_read_t *r = data;
    if (ev->kind == GW_CAP_SERVER_HELLO)
        r->version = ev->version;
    if (ev->kind == GW_CAP_GAP || ev->kind == GW_CAP_ERROR)
        r->gaps++;
    if (ev->kind != GW_CAP_MSG || r->n == T_FRAMES_MAX)
        return;
    char *fields = gwc_frame_join(&ev->frame);
    size_t len = strlen(fields) + sizeof "c>s ";
    r->lines[r->n] = malloc(len);
    snprintf(r->lines[r->n++], len, "%s %s", ev->dir == GW_CAP_C2S ? "c>s" : "s>c", fields);
    free(fields);
}

static void read_capture(t_read_t *r)
{
    char err[256];
    gw_cap_config_t cfg;
    memset(r, 0, sizeof *r);
    gw_cap_config_defaults(&cfg);
    gw_cap_t *c = gw_cap_new(&cfg, read_cb, r);
    CU_ASSERT_EQUAL(gw_cap_read_file(c, E.cap, err, sizeof err), 0);
    gw_cap_free(c);
}

static void read_free(t_read_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->lines[i]);
}

/* A short conversation through the proxy: hello, startApi, accounts,
 * reqAccountUpdates for one of them, a position. */
static void proxy_conversation(void)
{
    proto_writer_t w;
    send_hello(157, 178);
    send_msg(&E.client, "71|2|3|");
    gwc_run_ms(5);
    proto_writer_init(&w);
    proto_server_hello_write(&w, 178, "20251210 14:25:00 UTC");
    send_raw(&E.up, w.buf, w.len);
    proto_writer_free(&w);
    send_msg(&E.up, "15|1|DU111,DU2222");
    gwc_run_ms(5);
    send_msg(&E.client, "6|2|1|DU2222");
    gwc_run_ms(5);
    send_msg(&E.up, "61|3|DU111|265598|AAPL|STK||0.0||||USD|AAPL|NMS|10|150.5");
    gwc_run_ms(5);
    io_stream_close(E.client.stream, IO_CLOSE_FIN);
    E.client.stream = NULL;
    gwc_run_ms(5);
}

static void proxy_relays_byte_exact_and_records_a_readable_capture(void)
{
    env_open();
    gw_proxy_t *px = proxy_start(0);
    /* Bytes that are no TWS at all pass untouched too. */
    static const uint8_t odd[] = {0, 1, 2, 255, 'A', 'P', 'I', 0};
    E.up.framed = 0;
    proxy_conversation();
    CU_ASSERT(E.up.eof); /* the client's FIN went upstream */
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 0);
    /* What each side received is exactly what the other sent. */
    CU_ASSERT_EQUAL(E.client.nframes, 3);
    CU_ASSERT_STRING_EQUAL(E.client.frames[1], "15|1|DU111,DU2222");
    CU_ASSERT_STRING_EQUAL(E.client.frames[2],
                           "61|3|DU111|265598|AAPL|STK||0.0||||USD|AAPL|NMS|10|150.5");
    CU_ASSERT_EQUAL(memcmp(E.up.raw, "API\0", 4), 0);
    CU_ASSERT_PTR_NOT_NULL(memmem(E.up.raw, E.up.nraw, "6\0" "2\0" "1\0" "DU2222\0", 13));
    gw_proxy_free(px);
    t_read_t r;
    read_capture(&r);
    CU_ASSERT_EQUAL(r.version, 178);
    CU_ASSERT_EQUAL(r.gaps, 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 4);
    CU_ASSERT_STRING_EQUAL(r.lines[0], "c>s 71|2|3|");
    CU_ASSERT_STRING_EQUAL(r.lines[1], "s>c 15|1|DU111,DU2222");
    CU_ASSERT_STRING_EQUAL(r.lines[2], "c>s 6|2|1|DU2222");
    CU_ASSERT_STRING_EQUAL(r.lines[3],
                           "s>c 61|3|DU111|265598|AAPL|STK||0.0||||USD|AAPL|NMS|10|150.5");
    read_free(&r);
    env_close();
    /* Raw bytes, both ways. */
    env_open();
    px = proxy_start(0);
    send_raw(&E.client, odd, sizeof odd);
    gwc_run_ms(5);
    send_raw(&E.up, odd, sizeof odd);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.up.nraw, sizeof odd);
    CU_ASSERT_EQUAL(memcmp(E.up.raw, odd, sizeof odd), 0);
    CU_ASSERT_EQUAL(E.client.nraw, sizeof odd);
    CU_ASSERT_EQUAL(memcmp(E.client.raw, odd, sizeof odd), 0);
    gw_proxy_free(px);
    env_close();
}

static void scrubbing_changes_only_the_account_ids_in_the_recording(void)
{
    env_open();
    gw_proxy_t *px = proxy_start(1);
    proxy_conversation();
    /* The live stream keeps the real accounts. */
    CU_ASSERT_STRING_EQUAL(E.client.frames[1], "15|1|DU111,DU2222");
    CU_ASSERT_PTR_NOT_NULL(memmem(E.up.raw, E.up.nraw, "DU2222", 6));
    gw_proxy_free(px);
    t_read_t r;
    read_capture(&r);
    CU_ASSERT_EQUAL(r.gaps, 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 4);
    CU_ASSERT_STRING_EQUAL(r.lines[0], "c>s 71|2|3|");
    CU_ASSERT_STRING_EQUAL(r.lines[1], "s>c 15|1|XXXX1,XXXXX2");
    CU_ASSERT_STRING_EQUAL(r.lines[2], "c>s 6|2|1|XXXXX2");
    CU_ASSERT_STRING_EQUAL(r.lines[3],
                           "s>c 61|3|XXXX1|265598|AAPL|STK||0.0||||USD|AAPL|NMS|10|150.5");
    read_free(&r);
    env_close();
}

static void proxy_faults_act_on_the_live_stream(void)
{
    char err[256];
    gw_fault_t f;
    env_open();
    gw_proxy_t *px = proxy_start(0);
    /* latency: held back by the value. */
    gw_fault_init(&f, GW_FAULT_LATENCY);
    f.client_id = -1;
    f.value_us = 300 * IO_US_PER_MS;
    f.for_us = 10 * IO_US_PER_S;
    CU_ASSERT_EQUAL(gw_proxy_fault(px, &f, err, sizeof err), 0);
    send_raw(&E.up, "abcdefghij", 10);
    gwc_run_ms(250);
    CU_ASSERT_EQUAL(E.client.nraw, 0);
    gwc_run_ms(100);
    CU_ASSERT_EQUAL(E.client.nraw, 10);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault:latency value_us=300000"));
    /* slice: at most 3 bytes per delivery, in order. */
    gw_fault_init(&f, GW_FAULT_SLICE);
    f.client_id = -1;
    f.max_bytes = 3;
    f.for_us = 10 * IO_US_PER_S;
    CU_ASSERT_EQUAL(gw_proxy_fault(px, &f, err, sizeof err), 0);
    E.client.chunk_max = 0;
    send_raw(&E.up, "0123456789", 10);
    gwc_run_ms(1000);
    CU_ASSERT_EQUAL(E.client.nraw, 20);
    CU_ASSERT_EQUAL(memcmp(E.client.raw + 10, "0123456789", 10), 0);
    CU_ASSERT_EQUAL(E.client.chunk_max, 3);
    /* garbage: a length above the limit, then the bytes. */
    gw_fault_init(&f, GW_FAULT_GARBAGE);
    f.client_id = -1;
    f.bytes = 5;
    CU_ASSERT_EQUAL(gw_proxy_fault(px, &f, err, sizeof err), 0);
    gwc_run_ms(1000);
    CU_ASSERT_EQUAL(E.client.nraw, 29);
    CU_ASSERT_EQUAL(memcmp(E.client.raw + 20, "\xff\xff\xff\xff", 4), 0);
    /* a fault for one client id is refused with the reason. */
    gw_fault_init(&f, GW_FAULT_STALE);
    f.client_id = 3;
    CU_ASSERT_EQUAL(gw_proxy_fault(px, &f, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "stale: a relay does not follow client ids"));
    /* kill rst: both legs reset. */
    gw_fault_init(&f, GW_FAULT_KILL);
    f.client_id = -1;
    f.how = IO_CLOSE_RST;
    CU_ASSERT_EQUAL(gw_proxy_fault(px, &f, err, sizeof err), 0);
    gwc_run_ms(5);
    CU_ASSERT(E.client.reset);
    CU_ASSERT(E.up.reset);
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 0);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault:kill how=rst sessions=1"));
    gw_proxy_free(px);
    env_close();
}

static void chaos_faults_repeat_with_the_seed(void)
{
    char first[GWC_RECORDS_MAX][128];
    size_t nfirst = 0;
    for (int run = 0; run < 2; run++) {
        env_open();
        gw_proxy_t *px = proxy_start(0);
        gw_proxy_chaos(px, 2 * IO_US_PER_S);
        gwc_run_ms(60 * 1000);
        size_t n = 0;
        for (size_t i = 0; i < gwc.traces.n; i++) {
            if (!strstr(gwc.traces.lines[i], "fault:"))
                continue;
            if (run == 0 && nfirst < GWC_RECORDS_MAX)
                snprintf(first[nfirst++], sizeof first[0], "%s", gwc.traces.lines[i]);
            else if (run == 1 && n < nfirst)
                CU_ASSERT_STRING_EQUAL(gwc.traces.lines[i], first[n]);
            n++;
        }
        CU_ASSERT(n >= 5);
        if (run == 1)
            CU_ASSERT_EQUAL(n, nfirst);
        gw_proxy_free(px);
        env_close();
    }
}

/* ---- the proxy's gateway faults ----------------------------------------------- */

static int T_up_answered; /* the upstream answered the client's greeting */

/* Each new upstream connection replaces the last (closed) one. */
static void up_on_accept_fresh(io_listener_t *listener, io_stream_t *stream, void *data)
{
    (void)listener;
    (void)data;
    if (E.up.stream)
        io_stream_close(E.up.stream, IO_CLOSE_FIN);
    peer_reset(&E.up);
    T_up_answered = 0;
    E.up.stream = stream;
    io_stream_set_cb(stream, peer_on_stream, &E.up);
}

static gw_proxy_t *px_begin(void)
{
    char err[256];
    gw_proxy_config_t cfg;
    gw_proxy_t *px = NULL;
    gw_proxy_config_defaults(&cfg);
    cfg.port = T_PROXY_PORT;
    cfg.upstream_port = T_UP_PORT;
    cfg.record = E.cap;
    CU_ASSERT_EQUAL_FATAL(io_listen(gwc.loop, "127.0.0.1", T_UP_PORT, up_on_accept_fresh, NULL,
                                    &E.up_listener, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(gw_proxy_new(gwc.loop, &cfg, &px, err, sizeof err), 0);
    client_connect(T_PROXY_PORT);
    gwc_run_ms(5);
    return px;
}

/* The words `mockgw ctl` (and `mockgw proxy --fault`) take, applied now. */
static void px_apply(gw_proxy_t *px, const char *text)
{
    char buf[256], *words[16], err[256];
    int n = 0;
    gw_fault_t f;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *w = strtok(buf, " "); w && n < 16; w = strtok(NULL, " "))
        words[n++] = w;
    CU_ASSERT_EQUAL_FATAL(gw_fault_parse_words(n, words, &f, err, sizeof err), 0);
    CU_ASSERT_EQUAL(gw_proxy_fault(px, &f, err, sizeof err), 0);
}

/* A new client in place of the last one. */
static void px_client_again(void)
{
    if (E.client.stream)
        io_stream_close(E.client.stream, IO_CLOSE_FIN);
    peer_reset(&E.client);
    client_connect(T_PROXY_PORT);
    gwc_run_ms(5);
}

/* The upstream's side of the greeting, at that version. */
static void up_server_hello(int version)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_server_hello_write(&w, version, "20251210 14:25:00 UTC");
    send_raw(&E.up, w.buf, w.len);
    proto_writer_free(&w);
}

/* Greeting, startApi, and the startup's nextValidId and accounts: the
 * client gets frames 0..2 and is ready. */
static void px_handshake(int version)
{
    send_hello(157, 178);
    gwc_run_ms(5);
    up_server_hello(version);
    send_msg(&E.client, "71|2|3|");
    gwc_run_ms(5);
    send_msg(&E.up, "9|1|1");
    send_msg(&E.up, "15|1|DU111");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.client.nframes, 3);
}

/* currentTime 1700000001 as raw bytes, to send in two parts. */
static const uint8_t T_CT_FRAME[] = "\0\0\0\x10" "49\0" "1\0" "1700000001";

static void proxy_down_and_refuse_stop_accepting_for_their_duration(void)
{
    env_open();
    gw_proxy_t *px = px_begin();
    px_handshake(178);
    px_apply(px, "down 2s");
    gwc_run_ms(5);
    CU_ASSERT(E.client.eof);
    CU_ASSERT(E.up.eof);
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 0);
    CU_ASSERT_PTR_NOT_NULL(
        gwc_records_find(&gwc.traces, "proxy fault:down for_us=2000000 how=fin"));
    /* Connects are refused while it is down, accepted again after. */
    px_client_again();
    CU_ASSERT(E.client.reset);
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 0);
    gwc_run_ms(2000);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault_end:down"));
    px_client_again();
    CU_ASSERT_FALSE(E.client.reset);
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 1);
    /* refuse: the open relay stays and relays; a new client is refused. */
    px_handshake(178);
    px_apply(px, "refuse 1s");
    send_msg(&E.up, "49|1|1700000000");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(got("49|1|1700000000"), 3);
    t_peer_t other;
    char err[128];
    memset(&other, 0, sizeof other);
    CU_ASSERT_EQUAL(io_connect(gwc.loop, "127.0.0.1", T_PROXY_PORT, peer_on_stream, &other,
                               &other.stream, err, sizeof err), 0);
    gwc_run_ms(5);
    CU_ASSERT(other.reset);
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 1);
    io_stream_close(other.stream, IO_CLOSE_FIN);
    gwc_run_ms(1000);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault_end:refuse"));
    px_client_again();
    CU_ASSERT_FALSE(E.client.reset);
    px_handshake(178);
    gw_proxy_free(px);
    env_close();
}

static void proxy_stale_drops_whole_upstream_frames_until_it_ends(void)
{
    env_open();
    gw_proxy_t *px = px_begin();
    px_handshake(178);
    px_apply(px, "stale 1s --only current_time");
    send_msg(&E.up, "49|1|1700000000");
    send_msg(&E.up, "61|3|DU111|265598|AAPL|STK||0.0||||USD|AAPL|NMS|10|150.5");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.client.nframes, 4);
    CU_ASSERT_EQUAL(got("49|"), -1);
    CU_ASSERT_EQUAL(got("61|3|DU111"), 3);
    /* A frame that arrives in parts waits for its end, then is dropped whole. */
    send_raw(&E.up, T_CT_FRAME, 7);
    gwc_run_ms(5);
    send_raw(&E.up, T_CT_FRAME + 7, sizeof T_CT_FRAME - 7);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.client.nframes, 4);
    /* Everything: even nextValidId, once ready. */
    px_apply(px, "stale 1s");
    send_msg(&E.up, "9|1|2");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.client.nframes, 4);
    gwc_run_ms(1000);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault_end:stale"));
    send_msg(&E.up, "49|1|1700000002");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(got("49|1|1700000002"), 4);
    gw_proxy_free(px);
    /* The recording shows what the client received. */
    t_read_t r;
    read_capture(&r);
    CU_ASSERT_EQUAL(r.gaps, 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    CU_ASSERT_STRING_EQUAL(r.lines[2], "s>c 15|1|DU111");
    CU_ASSERT_STRING_EQUAL(r.lines[3],
                           "s>c 61|3|DU111|265598|AAPL|STK||0.0||||USD|AAPL|NMS|10|150.5");
    CU_ASSERT_STRING_EQUAL(r.lines[4], "s>c 49|1|1700000002");
    read_free(&r);
    env_close();
}

static void proxy_handshake_stall_holds_the_server_hello_of_new_clients(void)
{
    env_open();
    gw_proxy_t *px = px_begin();
    px_apply(px, "handshake_stall 2s");
    px_client_again();
    send_hello(157, 178);
    gwc_run_ms(5);
    up_server_hello(178);
    send_msg(&E.up, "49|1|1700000000");
    gwc_run_ms(1900);
    CU_ASSERT_EQUAL(E.client.nraw, 0);
    gwc_run_ms(200);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault_end:handshake_stall"));
    CU_ASSERT_EQUAL_FATAL(E.client.nframes, 2);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[0], "178|", 4), 0);
    CU_ASSERT_STRING_EQUAL(E.client.frames[1], "49|1|1700000000");
    /* Clients accepted after it get theirs at once. */
    px_client_again();
    px_handshake(178);
    gw_proxy_free(px);
    env_close();
}

static void proxy_notices_go_between_frames_in_the_negotiated_layout(void)
{
    env_open();
    gw_proxy_t *px = px_begin();
    px_handshake(178);
    /* Applied in the middle of a frame: the notices follow its end. */
    send_raw(&E.up, T_CT_FRAME, 9);
    gwc_run_ms(5);
    px_apply(px, "connectivity_lost 5s 1101");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.client.nframes, 3);
    send_raw(&E.up, T_CT_FRAME + 9, sizeof T_CT_FRAME - 9);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(E.client.nframes, 8);
    CU_ASSERT_STRING_EQUAL(E.client.frames[3], "49|1|1700000001");
    CU_ASSERT_EQUAL(strncmp(E.client.frames[4], "4|2|-1|1100|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[5], "4|2|-1|2103|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[6], "4|2|-1|2105|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[7], "4|2|-1|2157|", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(E.client.frames[5], "usfarm|"));
    gwc_run_ms(5000);
    CU_ASSERT_EQUAL_FATAL(E.client.nframes, 12);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[8], "4|2|-1|1101|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[9], "4|2|-1|2104|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[11], "4|2|-1|2158|", 12), 0);
    px_apply(px, "farm_outage 1s");
    gwc_run_ms(1001);
    CU_ASSERT_EQUAL_FATAL(E.client.nframes, 16);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[12], "4|2|-1|2103|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[13], "4|2|-1|2105|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[14], "4|2|-1|2104|", 12), 0);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[15], "4|2|-1|2106|", 12), 0);
    /* error: 6 fields from server version 166 on. */
    px_apply(px, "error 322 boom --req-id 7");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(E.client.frames[16], "4|2|7|322|boom|");
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault:error code=322 req_id=7"));
    gw_proxy_free(px);
    env_close();
    /* 5 below it; a client not ready yet gets none. */
    env_open();
    px = px_begin();
    px_handshake(160);
    px_apply(px, "error 322 boom --req-id 7");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(E.client.nframes, 4);
    CU_ASSERT_STRING_EQUAL(E.client.frames[3], "4|2|7|322|boom");
    px_client_again();
    px_apply(px, "error 322 boom");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(E.client.nraw, 0);
    gw_proxy_free(px);
    env_close();
}

static void proxy_client_id_in_use_answers_startapi_and_closes(void)
{
    env_open();
    gw_proxy_t *px = px_begin();
    px_apply(px, "client_id_in_use 1");
    send_hello(157, 178);
    gwc_run_ms(5);
    up_server_hello(178);
    send_msg(&E.client, "71|2|3|");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(E.client.nframes, 2);
    CU_ASSERT_EQUAL(strncmp(E.client.frames[1], "4|2|-1|326|", 11), 0);
    CU_ASSERT(E.client.eof);
    CU_ASSERT(E.up.eof);
    CU_ASSERT_PTR_NULL(memmem(E.up.raw, E.up.nraw, "71\0", 3));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy reject conn=1 code=326"));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.traces, "proxy fault_end:client_id_in_use"));
    CU_ASSERT_EQUAL(gw_proxy_conn_count(px), 0);
    /* Its one time used, the next startApi goes upstream. */
    px_client_again();
    px_handshake(178);
    CU_ASSERT_PTR_NOT_NULL(memmem(E.up.raw, E.up.nraw, "71\0", 3));
    gw_proxy_free(px);
    env_close();
}

/* The scripted peers of a chaos run, one 100 ms step: a client that
 * reconnects and greets whenever it was dropped, an upstream that answers
 * the greeting and then sends currentTime each step. Writes may fail as a
 * fault drops a stream: they are not checked. */
static void chaos_step(int step)
{
    proto_writer_t w;
    proto_writer_init(&w);
    if (E.client.eof || E.client.reset) {
        px_client_again();
        if (!E.client.reset) {
            proto_client_hello_write(&w, 157, 178, "");
            proto_frame_begin(&w);
            proto_put_int(&w, PROTO_OUT_START_API);
            proto_put_int(&w, 2);
            proto_put_int(&w, 3);
            proto_put_empty(&w);
            proto_frame_end(&w);
            io_stream_write(E.client.stream, w.buf, w.len);
        }
    } else if (E.up.stream && !E.up.eof && !E.up.reset && E.up.nraw > 0) {
        if (!T_up_answered)
            proto_server_hello_write(&w, 178, "20251210 14:25:00 UTC");
        T_up_answered = 1;
        proto_frame_begin(&w);
        proto_put_int(&w, step == 0 ? PROTO_IN_NEXT_VALID_ID : PROTO_IN_CURRENT_TIME);
        proto_put_int(&w, 1);
        proto_put_int(&w, 1700000000 + step);
        proto_frame_end(&w);
        io_stream_write(E.up.stream, w.buf, w.len);
    }
    proto_writer_free(&w);
    gwc_run_ms(100);
}

static void a_chaos_run_repeats_byte_for_byte_with_the_seed(void)
{
    uint8_t *first = NULL;
    long first_len = 0;
    for (int run = 0; run < 2; run++) {
        env_open();
        gw_proxy_t *px = px_begin();
        E.client.eof = 1; /* greet at the first step */
        gw_proxy_chaos(px, IO_US_PER_S);
        for (int step = 0; step < 600; step++)
            chaos_step(step);
        gw_proxy_free(px);
        size_t kinds = 0;
        for (int k = 0; k < GW_FAULT_KIND_COUNT; k++) {
            char ev[64];
            snprintf(ev, sizeof ev, "proxy fault:%s ", gw_fault_kind_name(k));
            kinds += gwc_records_find(&gwc.traces, ev) != NULL;
        }
        CU_ASSERT(kinds >= 6);
        FILE *fp = fopen(E.cap, "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        fseek(fp, 0, SEEK_END);
        long len = ftell(fp);
        rewind(fp);
        uint8_t *bytes = malloc((size_t)len);
        CU_ASSERT_EQUAL(fread(bytes, 1, (size_t)len, fp), (size_t)len);
        fclose(fp);
        CU_ASSERT(len > 10000);
        if (run == 0) {
            first = bytes;
            first_len = len;
        } else {
            CU_ASSERT_EQUAL(len, first_len);
            CU_ASSERT(len == first_len && memcmp(bytes, first, (size_t)len) == 0);
            free(bytes);
        }
        env_close();
    }
    free(first);
}

static CU_TestInfo replay_tests[] = {
    {"strict_replay_answers_each_request_from_the_recording",
     strict_replay_answers_each_request_from_the_recording},
    {"strict_divergence_reports_expected_and_actual_and_closes",
     strict_divergence_reports_expected_and_actual_and_closes},
    {"strict_divergence_on_the_kind_and_after_the_last_request",
     strict_divergence_on_the_kind_and_after_the_last_request},
    {"strict_unconsumed_requests_fail_at_the_end", strict_unconsumed_requests_fail_at_the_end},
    {"a_session_still_open_at_the_end_of_a_run_reports_what_it_owes_once",
     a_session_still_open_at_the_end_of_a_run_reports_what_it_owes_once},
    {"a_client_that_cannot_take_the_recorded_version_is_refused",
     a_client_that_cannot_take_the_recorded_version_is_refused},
    {"lenient_takes_any_order_and_falls_back_to_the_synthetic_market",
     lenient_takes_any_order_and_falls_back_to_the_synthetic_market},
    {"order_ids_are_remapped_both_ways", order_ids_are_remapped_both_ways},
    {"recorded_timing_keeps_the_recorded_delays_on_the_virtual_clock",
     recorded_timing_keeps_the_recorded_delays_on_the_virtual_clock},
    {"fast_timing_answers_at_once", fast_timing_answers_at_once},
    {"committed_captures_load_and_damaged_ones_get_their_error",
     committed_captures_load_and_damaged_ones_get_their_error},
    {"a_capture_at_a_version_the_mock_cannot_replay_is_refused",
     a_capture_at_a_version_the_mock_cannot_replay_is_refused},
    {"the_gateway_config_reads_the_replay_object", the_gateway_config_reads_the_replay_object},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo proxy_tests[] = {
    {"proxy_relays_byte_exact_and_records_a_readable_capture",
     proxy_relays_byte_exact_and_records_a_readable_capture},
    {"scrubbing_changes_only_the_account_ids_in_the_recording",
     scrubbing_changes_only_the_account_ids_in_the_recording},
    {"proxy_faults_act_on_the_live_stream", proxy_faults_act_on_the_live_stream},
    {"chaos_faults_repeat_with_the_seed", chaos_faults_repeat_with_the_seed},
    {"proxy_down_and_refuse_stop_accepting_for_their_duration",
     proxy_down_and_refuse_stop_accepting_for_their_duration},
    {"proxy_stale_drops_whole_upstream_frames_until_it_ends",
     proxy_stale_drops_whole_upstream_frames_until_it_ends},
    {"proxy_handshake_stall_holds_the_server_hello_of_new_clients",
     proxy_handshake_stall_holds_the_server_hello_of_new_clients},
    {"proxy_notices_go_between_frames_in_the_negotiated_layout",
     proxy_notices_go_between_frames_in_the_negotiated_layout},
    {"proxy_client_id_in_use_answers_startapi_and_closes",
     proxy_client_id_in_use_answers_startapi_and_closes},
    {"a_chaos_run_repeats_byte_for_byte_with_the_seed",
     a_chaos_run_repeats_byte_for_byte_with_the_seed},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"replay", NULL, NULL, NULL, NULL, replay_tests},
    {"proxy", NULL, NULL, NULL, NULL, proxy_tests},
    CU_SUITE_INFO_NULL,
};
