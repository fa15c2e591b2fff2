/* test_cycle.c - the trading cycle (runner/cycle.c) over a real client
 * session on the simulated network, plus its pure parts: the strategy,
 * the order journal. The peer is a scripted fake gateway written here: it
 * listens on io_sim, keeps the exact bytes the session sends (so tests
 * count and read the frames it received) and answers what each test
 * scripts. The session's events are wired the way the runner wires them:
 * every message goes to cyc_on_message, and a closed session aborts the
 * cycle with "disconnected". Trace events are recorded and checked. */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mockgw/gateway.h"
#include "../proto/proto.h"
#include "../runner/client.h"
#include "../runner/cycle.h"
#include "../runner/journal.h"
#include "../runner/strategy.h"
#include "../sim/io_sim.h"
#include "testlib.h"
#include "tevlog.h"

#define T0_WALL_US 1765376700000000LL /* 2025-12-10T14:25:00Z at virtual time 0 */
#define PORT 4002
#define CLIENT_ID 7
#define MS IO_US_PER_MS
#define SEC IO_US_PER_S
#define RESULTS_MAX 8
#define FIELDS_MAX 160

static const char HELLO[] = "API\0\0\0\0\x09v157..178";
#define LIT_LEN(s) (sizeof(s) - 1)

/* Only the runner's events (the cycle's and its session's), so the mock
 * gateway's own never count against the cap. */
static int runner_only(const char *src, const char *ev)
{
    (void)ev;
    return strcmp(src, "runner") == 0;
}

static const tev_opts_t TEV = {7, T0_WALL_US, 1024, runner_only};

typedef struct result {
    uint32_t n;
    int ok;
    char reason[192];
    int orders;
    int timed_out;
} result_t;

/* One frame the fake gateway received: its fields point into fx.rx. */
typedef struct rframe {
    const char *f[FIELDS_MAX];
    int n;
    size_t at;  /* byte offset of its length prefix in fx.rx */
    size_t len; /* prefix included */
} rframe_t;

static struct fixture {
    io_loop_t *loop;
    ibc_t *client;
    cyc_t *cyc;
    const char *symbols[2];
    cyc_config_t cfg;
    int readies;
    int closes;
    char close_reason[128];
    int pings_ok, pings_lost;
    int32_t last_msg_id; /* the last frame passed on to the owner */
    result_t res[RESULTS_MAX];
    int nres;
    char dir[64];
    char journal[96];
    /* the scripted fake gateway */
    io_listener_t *lis;
    io_stream_t *peer;
    int accepts;
    uint8_t rx[16384];
    size_t rxlen;
    int placed; /* placeOrder frames seen over every connection */
    /* the real mock gateway */
    gw_t *gw;
} fx;

/* ---- the session and the cycle, wired as the runner wires them --------- */

static void on_ready(void *data, const ibc_ready_t *r)
{
    (void)data, (void)r;
    fx.readies++;
}

static void on_ping_done(void *data, const ibc_ping_result_t *r)
{
    (void)data;
    if (r->ok)
        fx.pings_ok++;
    else
        fx.pings_lost++;
}

static void on_closed(void *data, const ibc_closed_t *cl)
{
    (void)data;
    fx.closes++;
    snprintf(fx.close_reason, sizeof fx.close_reason, "%s", cl->reason ? cl->reason : "");
    if (fx.cyc)
        cyc_abort(fx.cyc, "disconnected");
}

static void on_message(void *data, int32_t id, const proto_frame_t *f)
{
    (void)data;
    fx.last_msg_id = id;
    if (fx.cyc)
        cyc_on_message(fx.cyc, id, f);
}

static void on_done(void *data, const cyc_result_t *r)
{
    (void)data;
    CU_ASSERT_FATAL(fx.nres < RESULTS_MAX);
    result_t *out = &fx.res[fx.nres++];
    out->n = r->n;
    out->ok = r->ok;
    out->orders = r->orders;
    out->timed_out = r->timed_out;
    snprintf(out->reason, sizeof out->reason, "%s", r->reason ? r->reason : "");
}

static void fx_setup(int trade)
{
    memset(&fx, 0, sizeof fx);
    fx.loop = tev_start(&TEV, T0_WALL_US);
    ibc_config_t cc = {"127.0.0.1", PORT, CLIENT_ID, 1 * SEC, 2 * SEC};
    ibc_events_t ev = {.ready = on_ready,
                       .ping_done = on_ping_done,
                       .closed = on_closed,
                       .data = NULL,
                       .message = on_message};
    char err[256];
    CU_ASSERT_EQUAL_FATAL(ibc_new(fx.loop, &cc, &ev, &fx.client, err, sizeof err), 0);
    fx.symbols[0] = "AAPL";
    fx.symbols[1] = "MSFT";
    fx.cfg = (cyc_config_t){.symbols = fx.symbols,
                            .nsymbols = 1,
                            .trade = trade,
                            .request_timeout_us = 2 * SEC,
                            .deadline_us = 10 * SEC,
                            .journal_file = NULL};
}

/* A journal file in a fresh directory, used from then on. */
static void fx_use_journal_file(void)
{
    snprintf(fx.dir, sizeof fx.dir, "/tmp/test_cycle.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(fx.dir));
    snprintf(fx.journal, sizeof fx.journal, "%s/orders.journal", fx.dir);
    fx.cfg.journal_file = fx.journal;
}

static void fx_new_cycle(void)
{
    char err[256] = "";
    int rc = cyc_new(fx.loop, fx.client, &fx.cfg, on_done, NULL, &fx.cyc, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void fx_teardown(void)
{
    cyc_free(fx.cyc);
    ibc_free(fx.client);
    gw_free(fx.gw);
    if (fx.lis)
        io_listener_close(fx.lis);
    if (fx.peer)
        io_stream_close(fx.peer, IO_CLOSE_RST);
    tev_stop();
    if (fx.journal[0])
        unlink(fx.journal);
    if (fx.dir[0])
        rmdir(fx.dir);
}

/* ---- the scripted fake gateway ------------------------------------------ */

static int rx_frame(int id, int nth, rframe_t *out);

static void fgw_on_peer(io_stream_t *s, const io_stream_event_t *ev, void *data)
{
    (void)data;
    if (ev->kind == IO_EV_DATA) {
        CU_ASSERT_FATAL(fx.rxlen + ev->len <= sizeof fx.rx);
        memcpy(fx.rx + fx.rxlen, ev->data, ev->len);
        fx.rxlen += ev->len;
        return;
    }
    if (ev->kind == IO_EV_EOF || ev->kind == IO_EV_RESET) {
        io_stream_close(s, IO_CLOSE_FIN);
        fx.peer = NULL;
    }
}

/* A new connection starts a new byte record; the orders placed on the old
 * one are counted first. */
static void fgw_on_accept(io_listener_t *l, io_stream_t *s, void *data)
{
    (void)l, (void)data;
    rframe_t f;
    while (rx_frame(PROTO_OUT_PLACE_ORDER, 0, &f)) {
        fx.placed++;
        memmove(fx.rx + f.at, fx.rx + f.at + f.len, fx.rxlen - f.at - f.len);
        fx.rxlen -= f.len;
    }
    if (fx.peer)
        io_stream_close(fx.peer, IO_CLOSE_RST);
    fx.peer = s;
    fx.accepts++;
    fx.rxlen = 0;
    io_stream_set_cb(s, fgw_on_peer, NULL);
}

/* Builds one frame from '|'-separated fields ("61|1" is two fields). */
static void frame_of(proto_writer_t *w, const char *fields)
{
    proto_writer_init(w);
    proto_frame_begin(w);
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", fields);
    for (char *p = buf;;) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        proto_put_str(w, p);
        if (!bar)
            break;
        p = bar + 1;
    }
    CU_ASSERT_EQUAL_FATAL(proto_frame_end(w), 0);
}

static void fgw_write(const proto_writer_t *w)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.peer);
    CU_ASSERT_EQUAL(io_stream_write(fx.peer, w->buf, w->len), 0);
}

static void fgw_send(const char *fields)
{
    proto_writer_t w;
    frame_of(&w, fields);
    fgw_write(&w);
    proto_writer_free(&w);
}

static void fgw_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fgw_sendf(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fgw_send(buf);
}

/* The nth frame with that message id the gateway received on the current
 * connection (the hello is not a frame and is skipped). */
static int rx_frame(int id, int nth, rframe_t *out)
{
    size_t pos = fx.rxlen >= LIT_LEN(HELLO) ? LIT_LEN(HELLO) : fx.rxlen;
    while (pos + 4 <= fx.rxlen) {
        size_t len = (size_t)fx.rx[pos] << 24 | (size_t)fx.rx[pos + 1] << 16 |
                     (size_t)fx.rx[pos + 2] << 8 | fx.rx[pos + 3];
        if (pos + 4 + len > fx.rxlen)
            break;
        out->n = 0;
        out->at = pos;
        out->len = 4 + len;
        for (size_t i = pos + 4; i < pos + 4 + len && out->n < FIELDS_MAX;) {
            out->f[out->n++] = (const char *)fx.rx + i;
            i += strlen((const char *)fx.rx + i) + 1;
        }
        if (out->n > 0 && atoi(out->f[0]) == id && nth-- == 0)
            return 1;
        pos += 4 + len;
    }
    return 0;
}

static int rx_count(int id)
{
    rframe_t f;
    int n = 0;
    while (rx_frame(id, n, &f))
        n++;
    return n;
}

/* The fields of the nth frame with that id, joined with '|'. */
static const char *rx_fields(int id, int nth)
{
    static char buf[2048];
    rframe_t f;
    buf[0] = '\0';
    if (!rx_frame(id, nth, &f))
        return "<none>";
    for (int i = 0; i < f.n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", i ? "|" : "", f.f[i]);
    }
    return buf;
}

static void fgw_listen(void)
{
    char err[256];
    int rc = io_listen(fx.loop, "127.0.0.1", PORT, fgw_on_accept, NULL, &fx.lis, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* Connects the session and takes it to ready, nextValidId next_id. */
static void fgw_to_ready(int next_id)
{
    int readies = fx.readies;
    if (!fx.lis)
        fgw_listen();
    CU_ASSERT_EQUAL_FATAL(ibc_connect(fx.client), 0);
    tev_run_for(10 * MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.peer);
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_server_hello_write(&w, 178, "20251210 09:25:00 EST"), 0);
    fgw_write(&w);
    proto_writer_free(&w);
    tev_run_for(10 * MS);
    fgw_send("15|1|DU111");
    fgw_sendf("9|1|%d", next_id);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.readies, readies + 1);
}

/* The request id field of the last reqHistoricalData. */
static int hist_req_id(void)
{
    rframe_t f;
    int n = rx_count(PROTO_OUT_REQ_HISTORICAL_DATA);
    CU_ASSERT_FATAL(n > 0 && rx_frame(PROTO_OUT_REQ_HISTORICAL_DATA, n - 1, &f));
    return atoi(f.f[1]);
}

static void fgw_send_position(const char *symbol, int qty)
{
    fgw_sendf("61|3|DU111|265598|%s|STK||0.0|||NASDAQ|USD|%s|NMS|%d|150.5", symbol, symbol,
              qty);
}

/* 26 bars (2 days of 13) whose closes go up (or down) by 0.5 a bar. */
static void fgw_send_bars(int req_id, int up)
{
    char buf[4096];
    int len = snprintf(buf, sizeof buf, "17|%d|20251208 09:30:00|20251210 09:25:00|26", req_id);
    for (int i = 0; i < 26; i++) {
        double c = up ? 100.0 + 0.5 * i : 150.0 - 0.5 * i;
        len += snprintf(buf + len, sizeof buf - (size_t)len,
                        "|20251208 %02d:%02d:00|%.2f|%.2f|%.2f|%.2f|1000|%.2f|10", 9 + i / 2,
                        i % 2 ? 30 : 0, c, c + 1, c - 1, c, c);
    }
    fgw_send(buf);
}

/* Starts cycle n and answers positions (AAPL: position) and the bars. */
static void cycle_through_bars(uint32_t n, int position, int up)
{
    CU_ASSERT_EQUAL_FATAL(cyc_start(fx.cyc, n), 0);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_REQ_POSITIONS), 1);
    if (position)
        fgw_send_position("AAPL", position);
    fgw_send_position("IBM", 300);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_REQ_HISTORICAL_DATA), 1);
    fgw_send_bars(hist_req_id(), up);
    tev_run_for(10 * MS);
}

static void fgw_send_order_status(int order_id, const char *status, int filled, int remaining)
{
    fgw_sendf("3|%d|%s|%d|%d|%s|1234|0|%s|%d||0", order_id, status, filled, remaining,
              filled ? "150.25" : "0", filled ? "150.25" : "0", CLIENT_ID);
}

/* An openOrder with the 127 fields of table 4.4: what the cycle reads is
 * filled in, the rest is empty. */
static void fgw_send_open_order(int order_id, const char *symbol, const char *status)
{
    char buf[1024];
    int len = snprintf(buf, sizeof buf, "5");
    for (int i = 1; i < 127; i++) {
        char v[32] = "";
        if (i == 1)
            snprintf(v, sizeof v, "%d", order_id);
        else if (i == 3)
            snprintf(v, sizeof v, "%s", symbol);
        else if (i == 4)
            snprintf(v, sizeof v, "STK");
        else if (i == 13)
            snprintf(v, sizeof v, "BUY");
        else if (i == 14)
            snprintf(v, sizeof v, "100");
        else if (i == 15)
            snprintf(v, sizeof v, "MKT");
        else if (i == 24)
            snprintf(v, sizeof v, "%d", CLIENT_ID);
        else if (i == 85)
            snprintf(v, sizeof v, "%s", status);
        len += snprintf(buf + len, sizeof buf - (size_t)len, "|%s", v);
    }
    fgw_send(buf);
}

/* execDetails, 32 fields. */
static void fgw_send_execution(int req_id, int order_id, const char *symbol, int shares,
                               int client_id)
{
    fgw_sendf("11|%d|%d|265598|%s|STK||0.0|||SMART|USD|%s|NMS|0001f4e8.1|20251210 09:31:00 "
              "US/Eastern|DU111|ISLAND|BOT|%d|150.25|1234|%d|0|%d|150.25||||0|0",
              req_id, order_id, symbol, symbol, shares, client_id, shares);
}

/* ---- strategy ----------------------------------------------------------- */

static void signal_is_long_when_the_fast_average_is_above_the_slow_one(void)
{
    double closes[25];
    for (int i = 0; i < 25; i++)
        closes[i] = 1.0 + i; /* last 5: 21..25, mean 23; last 20: 6..25, mean 15.5 */
    strat_signal_t s;
    strat_params_t p = STRAT_PARAMS_DEFAULT;
    CU_ASSERT_EQUAL_FATAL(strat_signal(closes, 25, &p, &s), 0);
    CU_ASSERT_DOUBLE_EQUAL(s.fast, 23.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.slow, 15.5, 1e-9);
    CU_ASSERT_EQUAL(s.target, 100);
    for (int i = 0; i < 25; i++)
        closes[i] = 50.0 - i; /* falling: fast below slow */
    CU_ASSERT_EQUAL_FATAL(strat_signal(closes, 25, &p, &s), 0);
    CU_ASSERT_TRUE(s.fast < s.slow);
    CU_ASSERT_EQUAL(s.target, 0);
}

static void signal_is_flat_on_equal_averages_and_needs_slow_bars(void)
{
    double closes[20];
    for (int i = 0; i < 20; i++)
        closes[i] = 42.0;
    strat_signal_t s = {0};
    strat_params_t p = STRAT_PARAMS_DEFAULT;
    CU_ASSERT_EQUAL(strat_signal(closes, 20, &p, &s), 0);
    CU_ASSERT_EQUAL(s.target, 0);
    CU_ASSERT_EQUAL(strat_signal(closes, 19, &p, &s), -1);
    p.fast = 20;
    CU_ASSERT_EQUAL(strat_signal(closes, 20, &p, &s), -1);
}

/* The averages' text is printf's "%.4f" to the byte: prices, exact ties
 * (k / 2^j: round half to even), carries into the integer part, the sign
 * of zero, tiny and huge values, NaN and infinities, short buffers. */
static void fixed4_text_matches_printf_for_every_kind_of_double(void)
{
    char got[64], want[64];
    int bad = 0;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        switch (i % 6) {
        case 0: v = (double)(x % 100000000) / 10000.0; break;            /* 4-decimal prices */
        case 1: v = (double)(x >> 11) * 0x1.0p-53 * 2000.0; break;        /* any bits */
        case 2: v = (double)(x % 4000000) / (double)(1u << (x >> 60));    /* ties k/2^j */
                break;
        case 3: v = -(double)(x % 100000) / 65536.0; break;               /* negative */
        case 4: v = ldexp((double)(x >> 11), (int)(x % 80) - 100); break; /* tiny to 2^32 */
        default: v = (double)(x % 20000) + 0.99995 + (double)(x % 7) * 1e-6; break; /* carry */
        }
        cyc_format_fixed4(got, 32, v);
        snprintf(want, 32, "%.4f", v);
        bad += strcmp(got, want) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    const double edge[] = {0.0, -0.0, 0.00005, 0.00015, 0.03125, 0.09375, 1.5, -1e-9,
                           9999.99995, 2147483647.99997, 2147483648.0, -2147483648.5,
                           1e300, -1e300, 4.9e-324, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        for (size_t cap = 1; cap <= 40; cap += 13) {
            memset(got, 'x', sizeof got);
            memset(want, 'x', sizeof want);
            cyc_format_fixed4(got, cap, edge[i]);
            snprintf(want, cap, "%.4f", edge[i]);
            CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);
        }
    }
}

/* The fraction's bits are read straight off the double: fractions of
 * every binary exponent (down to subnormals, where no digit shows), and
 * their neighbours a unit in the last place away, with whole parts small
 * and large, print as printf prints them. */
static void fixed4_reads_fractions_of_every_binary_exponent_as_printf(void)
{
    static const double wholes[] = {0.0, 1.0, 7.0, 4095.0, 2147483646.0};
    char got[64], want[64];
    int bad = 0;
    for (size_t w = 0; w < sizeof wholes / sizeof wholes[0]; w++) {
        for (int e = -1074; e <= -1; e++) {
            double f = ldexp(1.0, e);
            const double fracs[] = {f, nextafter(f, 0.0), nextafter(f, 1.0), 3.0 * f, 5.0 * f};
            for (size_t i = 0; i < sizeof fracs / sizeof fracs[0]; i++) {
                for (int sign = 0; sign < 2; sign++) {
                    double v = wholes[w] + fracs[i];
                    if (sign)
                        v = -v;
                    cyc_format_fixed4(got, 32, v);
                    snprintf(want, 32, "%.4f", v);
                    bad += strcmp(got, want) != 0;
                }
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void order_is_the_difference_between_target_and_position(void)
{
    strat_order_t o = strat_order(100, 0);
    CU_ASSERT_STRING_EQUAL(o.action, "BUY");
    CU_ASSERT_EQUAL(o.qty, 100);
    o = strat_order(0, 100);
    CU_ASSERT_STRING_EQUAL(o.action, "SELL");
    CU_ASSERT_EQUAL(o.qty, 100);
    o = strat_order(100, 40.4);
    CU_ASSERT_STRING_EQUAL(o.action, "BUY");
    CU_ASSERT_EQUAL(o.qty, 60);
    o = strat_order(100, 100);
    CU_ASSERT_PTR_NULL(o.action);
    CU_ASSERT_EQUAL(o.qty, 0);
}

/* ---- the cycle against the fake gateway --------------------------------- */

static void dry_run_traces_the_order_and_sends_no_place_order(void)
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    size_t handshake = fx.rxlen;
    cycle_through_bars(1, 0, 1);
    /* The exact bytes of the whole cycle: reqPositions, cancelPositions,
     * reqHistoricalData (23 fields), and nothing else. */
    proto_writer_t want;
    proto_writer_init(&want);
    const char *frames[] = {
        "61|1",
        "64|1",
        "20|1|0|AAPL|STK||0.0|||SMART||USD|||0||30 mins|3 D|1|TRADES|1|0|",
    };
    for (size_t i = 0; i < 3; i++) {
        proto_writer_t f;
        frame_of(&f, frames[i]);
        proto_put_raw(&want, f.buf, f.len);
        proto_writer_free(&f);
    }
    CU_ASSERT_EQUAL(fx.rxlen - handshake, want.len);
    CU_ASSERT_EQUAL(memcmp(fx.rx + handshake, want.buf, want.len), 0);
    proto_writer_free(&want);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_PLACE_ORDER), 0);
    const tev_t *s = tev_rev("signal_computed", 0);
    CU_ASSERT_STRING_EQUAL(tev_str(s, "symbol"), "AAPL");
    CU_ASSERT_STRING_EQUAL(tev_str(s, "fast"), "111.5000"); /* closes 110.5 .. 112.5 */
    CU_ASSERT_STRING_EQUAL(tev_str(s, "slow"), "107.7500"); /* closes 103.0 .. 112.5 */
    CU_ASSERT_EQUAL(tev_num(s, "target"), 100);
    const tev_t *d = tev_rev("order_dry_run", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(tev_str(d, "symbol"), "AAPL");
    CU_ASSERT_STRING_EQUAL(tev_str(d, "action"), "BUY");
    CU_ASSERT_EQUAL(tev_num(d, "qty"), 100);
    CU_ASSERT_EQUAL(tev_rcount("order"), 0);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    CU_ASSERT_EQUAL(fx.res[0].n, 1);
    CU_ASSERT_EQUAL(fx.res[0].orders, 0);
    CU_ASSERT_EQUAL(tev_num(tev_rev("cycle_end", 0), "ok"), 1);
    CU_ASSERT_FALSE(cyc_running(fx.cyc));
    fx_teardown();
}

static void no_order_when_the_position_is_already_at_target(void)
{
    fx_setup(1);
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 100, 1);
    CU_ASSERT_EQUAL(tev_num(tev_rev("signal_computed", 0), "target"), 100);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_PLACE_ORDER), 0);
    CU_ASSERT_EQUAL(tev_rcount("order_dry_run"), 0);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    fx_teardown();
}

/* Fields of the 114-field MKT placeOrder that are not empty. */
static const struct {
    int i;
    const char *v;
} place_order_fields[] = {
    {0, "3"},    {1, "10"},   {2, "0"},    {3, "AAPL"}, {4, "STK"},  {6, "0.0"},  {9, "SMART"},
    {11, "USD"}, {16, "BUY"}, {17, "100"}, {18, "MKT"}, {21, "DAY"}, {25, "0"},   {27, "1"},
    {28, "0"},   {29, "0"},   {30, "0"},   {31, "0"},   {32, "0"},   {33, "0"},   {34, "0"},
    {36, "0"},   {43, "0"},   {45, "-1"},  {46, "0"},   {49, "0"},   {52, "0"},   {53, "0"},
    {55, "0"},   {61, "0"},   {66, "0"},   {77, "0"},   {80, "0"},   {81, "0"},   {84, "0"},
    {86, "0"},   {87, "0"},   {88, "0"},   {89, "0"},   {96, "0"},   {105, "0"},  {106, "0"},
    {107, "0"},  {111, "0"},
};

static void trade_mode_places_the_114_field_order_and_waits_for_filled(void)
{
    fx_setup(1);
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 0, 1);
    rframe_t f;
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_PLACE_ORDER), 1);
    CU_ASSERT_FATAL(rx_frame(PROTO_OUT_PLACE_ORDER, 0, &f));
    CU_ASSERT_EQUAL_FATAL(f.n, 114);
    size_t k = 0, nwant = sizeof place_order_fields / sizeof place_order_fields[0];
    for (int i = 0; i < f.n; i++) {
        int set = k < nwant && place_order_fields[k].i == i;
        CU_ASSERT_STRING_EQUAL(f.f[i], set ? place_order_fields[k].v : "");
        k += set;
    }
    const tev_t *o = tev_rev("order", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(tev_str(o, "symbol"), "AAPL");
    CU_ASSERT_STRING_EQUAL(tev_str(o, "action"), "BUY");
    CU_ASSERT_EQUAL(tev_num(o, "qty"), 100);
    CU_ASSERT_EQUAL(tev_num(o, "order_id"), 10);
    CU_ASSERT_EQUAL(tev_rcount("order_dry_run"), 0);
    /* Working is not done. */
    fgw_send_open_order(10, "AAPL", "Submitted");
    fgw_send_order_status(10, "Submitted", 0, 100);
    tev_run_for(10 * MS);
    CU_ASSERT_TRUE(cyc_running(fx.cyc));
    CU_ASSERT_EQUAL(fx.nres, 0);
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    fgw_send_order_status(10, "Filled", 100, 0);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(tev_rcount("order_status"), 2);
    const tev_t *st = tev_rev("order_status", 1);
    CU_ASSERT_EQUAL(tev_num(st, "order_id"), 10);
    CU_ASSERT_STRING_EQUAL(tev_str(st, "status"), "Filled");
    CU_ASSERT_EQUAL(tev_num(st, "filled"), 100);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    CU_ASSERT_EQUAL(fx.res[0].orders, 1);
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    fx_teardown();
}

static void falling_bars_sell_the_position_down_to_flat(void)
{
    fx_setup(1);
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 100, 0);
    CU_ASSERT_EQUAL(tev_num(tev_rev("signal_computed", 0), "target"), 0);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("order", 0), "action"), "SELL");
    CU_ASSERT_EQUAL(tev_num(tev_rev("order", 0), "qty"), 100);
    fgw_send_order_status(10, "Filled", 100, 0);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    fx_teardown();
}

static void missing_position_end_is_a_request_timeout_that_fails_the_cycle(void)
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    io_us_t t0 = io_now_us(fx.loop);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 3), 0);
    CU_ASSERT_EQUAL(fx.nres, 0); /* never from inside cyc_start */
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 4), IO_ERR_INVAL);
    tev_run_for(10 * MS);
    fgw_send_position("AAPL", 5);
    tev_run_for(fx.cfg.request_timeout_us - 20 * MS);
    CU_ASSERT_EQUAL(fx.nres, 0);
    tev_run_for(20 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_FALSE(fx.res[0].ok);
    CU_ASSERT_EQUAL(fx.res[0].n, 3);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "request timeout: reqPositions");
    CU_ASSERT_TRUE(fx.res[0].timed_out);
    const tev_t *e = tev_rev("cycle_end", 0);
    CU_ASSERT_EQUAL(tev_num(e, "n"), 3);
    CU_ASSERT_EQUAL(tev_num(e, "ok"), 0);
    CU_ASSERT_STRING_EQUAL(tev_str(e, "reason"), "request timeout: reqPositions");
    CU_ASSERT_TRUE(io_now_us(fx.loop) - t0 <= fx.cfg.request_timeout_us + 10 * MS);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_CANCEL_POSITIONS), 1); /* the subscription is ended */
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_REQ_HISTORICAL_DATA), 0);
    /* A late positionEnd belongs to nobody. */
    fgw_send("62|1");
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(fx.nres, 1);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_REQ_HISTORICAL_DATA), 0);
    fx_teardown();
}

static void deadline_fails_the_cycle_and_cancels_the_historical_request(void)
{
    fx_setup(0);
    fx.cfg.deadline_us = 1 * SEC;
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    int req = hist_req_id();
    tev_run_for(fx.cfg.deadline_us);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_FALSE(fx.res[0].ok);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "deadline");
    CU_ASSERT_TRUE(fx.res[0].timed_out); /* the runner starts a fresh session */
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("cycle_end", 0), "reason"), "deadline");
    char want[32];
    snprintf(want, sizeof want, "25|1|%d", req);
    CU_ASSERT_STRING_EQUAL(rx_fields(PROTO_OUT_CANCEL_HISTORICAL_DATA, 0), want);
    fx_teardown();
}

static void error_162_fails_the_cycle_with_the_reason_and_sends_no_cancel(void)
{
    fx_setup(0);
    fx.symbols[0] = "MSFT";
    fx.symbols[1] = "AAPL";
    fx.cfg.nsymbols = 2;
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    fgw_sendf("4|2|%d|162|Historical Market Data Service error message:HMDS query returned no "
              "data: MSFT@SMART Trades|",
              hist_req_id());
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_FALSE(fx.res[0].ok);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason,
                           "reqHistoricalData MSFT: error 162: Historical Market Data Service "
                           "error message:HMDS query returned no data: MSFT@SMART Trades");
    CU_ASSERT_PTR_NOT_NULL(tev_rev("error:162", 0)); /* the session traced it too */
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_CANCEL_HISTORICAL_DATA), 0);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_REQ_HISTORICAL_DATA), 1); /* AAPL never asked */
    fx_teardown();
}

static void notice_with_the_request_id_does_not_end_the_request(void)
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    fgw_sendf("4|2|%d|165|Historical Market Data Service query message:ok|", hist_req_id());
    tev_run_for(10 * MS);
    CU_ASSERT_TRUE(cyc_running(fx.cyc));
    fgw_send_bars(hist_req_id(), 1);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    fx_teardown();
}

static void too_few_bars_fail_the_cycle_naming_the_symbol(void)
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    fgw_sendf("17|%d|a|b|1|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3", hist_req_id());
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "not enough bars for AAPL: 1, need 20");
    fx_teardown();
}

static void malformed_bars_fail_the_cycle_as_a_bad_reply(void)
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    fgw_sendf("17|%d|a|b|5|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3", hist_req_id());
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_EQUAL(strncmp(fx.res[0].reason, "bad historicalData: ", 20), 0);
    fx_teardown();
}

/* Answers the bar request with "17|id|a|b|" + rest and returns why the
 * cycle failed. */
static const char *reason_for_bars(const char *rest)
{
    static char reason[192];
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    fgw_sendf("17|%d|a|b|%s", hist_req_id(), rest);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(fx.nres, 1);
    snprintf(reason, sizeof reason, "%s", fx.nres == 1 ? fx.res[0].reason : "<none>");
    fx_teardown();
    return reason;
}

/* The frame's length refuses a count at once only past a bar per 8 bytes;
 * other counts are read, and a read that fails on a frame too short for
 * them still names the count, not the field where it stopped. */
static void bar_counts_the_frame_cannot_hold_are_named_as_such(void)
{
    const char *count5 = "bad historicalData: bar count 5 does not match the frame";
    /* 8 fields of ~40 bytes: 5 bars pass the byte bound, the read runs out. */
    CU_ASSERT_STRING_EQUAL(reason_for_bars("5|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3"), count5);
    /* A bad close before the read runs out: still the count. */
    CU_ASSERT_STRING_EQUAL(reason_for_bars("5|20251208 09:30:00|1|2|0.5|x|10|1.2|3"), count5);
    CU_ASSERT_STRING_EQUAL(reason_for_bars("1000000|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3"),
                           "bad historicalData: bar count 1000000 does not match the frame");
    CU_ASSERT_STRING_EQUAL(reason_for_bars("-1|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3"),
                           "bad historicalData: bar count -1 does not match the frame");
    /* A count the frame holds with a bad close names the field. */
    const char *bad = reason_for_bars("1|20251208 09:30:00|1|2|0.5|x|10|1.2|3");
    CU_ASSERT_PTR_NULL(strstr(bad, "bar count"));
    CU_ASSERT_PTR_NOT_NULL(strstr(bad, "field"));
}

/* From one close to the next the reader skips the 7 fields between in one
 * walk: a bad close in a later bar is still named where it is, a last bar
 * cut short is still a count the frame does not hold, and no bars read
 * nothing. */
static void bars_are_read_close_to_close_and_a_bad_field_is_named_where_it_is(void)
{
    CU_ASSERT_STRING_EQUAL(reason_for_bars("2|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3"
                                           "|20251208 10:00:00|1|2|0.5|x|10|1.2|3"),
                           "bad historicalData: field 17: expected a number, got \"x\"");
    CU_ASSERT_STRING_EQUAL(reason_for_bars("2|20251208 09:30:00|1|2|0.5|1.5|10|1.2|3"
                                           "|20251208 10:00:00|1|2|0.5|1.5|10|1.2"),
                           "bad historicalData: bar count 2 does not match the frame");
    CU_ASSERT_STRING_EQUAL(reason_for_bars("1|20251208 09:30:00|1|2|0.5|1.5|10|1.2"),
                           "bad historicalData: bar count 1 does not match the frame");
    CU_ASSERT_STRING_EQUAL(reason_for_bars("0"), "not enough bars for AAPL: 0, need 20");
}

/* "n|" and n bars numbered from first: bar i closes at 100 + i / 4, bar
 * odd (if in range) at odd_close instead. */
static const char *bars_of(int first, int n, int odd, const char *odd_close)
{
    static char buf[2048];
    int len = snprintf(buf, sizeof buf, "%d", n);
    for (int i = first; i < first + n; i++) {
        char close[32];
        snprintf(close, sizeof close, "%g", 100 + i / 4.0);
        len += snprintf(buf + len, sizeof buf - (size_t)len, "|D%02d|1|2|0.5|%s|10|1.2|3", i,
                        i == odd ? odd_close : close);
    }
    CU_ASSERT_FATAL((size_t)len < sizeof buf);
    return buf;
}

/* Runs cycle n on the ready fixture with its bars answered as "17|id|a|b|"
 * + bars: "fast slow" of its signal, or why it failed. */
static const char *cycle_signal(uint32_t n, const char *bars)
{
    static char out[192];
    int nres = fx.nres, nsig = tev_rcount("signal_computed");
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, n), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(10 * MS);
    fgw_sendf("17|%d|a|b|%s", hist_req_id(), bars);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, nres + 1);
    if (!fx.res[nres].ok)
        snprintf(out, sizeof out, "%s", fx.res[nres].reason);
    else
        snprintf(out, sizeof out, "%s %s", tev_str(tev_rev("signal_computed", nsig), "fast"),
                 tev_str(tev_rev("signal_computed", nsig), "slow"));
    return out;
}

/* cycle_signal of a runner that has read no bars before. */
static void cold_signal(const char *bars, char out[192])
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    snprintf(out, 192, "%s", cycle_signal(1, bars));
    fx_teardown();
}

/* Answers, in turn, to one runner; each gives what a fresh runner reads. */
typedef struct bars_case {
    int first, n, odd;
    const char *odd_close;
} bars_case_t;

static void bars_in_turn_read_as_a_fresh_runner_reads_them(const bars_case_t *cases, size_t n)
{
    char cold[RESULTS_MAX][192];
    CU_ASSERT_FATAL(n <= RESULTS_MAX);
    for (size_t i = 0; i < n; i++)
        cold_signal(bars_of(cases[i].first, cases[i].n, cases[i].odd, cases[i].odd_close),
                    cold[i]);
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    for (size_t i = 0; i < n; i++) {
        const char *warm = cycle_signal((uint32_t)i + 1, bars_of(cases[i].first, cases[i].n,
                                                                  cases[i].odd,
                                                                  cases[i].odd_close));
        CU_ASSERT_STRING_EQUAL(warm, cold[i]);
    }
    fx_teardown();
}

/* The runner keeps each symbol's last bars as bytes: bars that repeat
 * them (grown by one, moved on by a day, with a bar changed, fewer, none
 * in common) give the closes a runner reading them afresh gets. */
static void bars_repeating_the_last_answer_give_the_closes_of_a_fresh_read(void)
{
    static const bars_case_t cases[] = {
        {0, 25, -1, NULL},   /* nothing kept yet */
        {0, 26, -1, NULL},   /* grown by a bar */
        {13, 26, -1, NULL},  /* moved on by a day: 13 kept, 13 new */
        {13, 26, 30, "1"},   /* bar 30 changed: kept up to it, read from it */
        {13, 26, -1, NULL},  /* and back */
        {20, 20, -1, NULL},  /* fewer bars than kept */
        {40, 25, -1, NULL},  /* none in common */
        {40, 20, 45, "7.5"}, /* fewer, one changed */
    };
    bars_in_turn_read_as_a_fresh_runner_reads_them(cases, sizeof cases / sizeof cases[0]);
}

/* After bars taken from the memo, a bad field is named where it is and a
 * count the frame does not hold is still one; a failed read leaves no
 * memo behind that would misread the next answer. */
static void bad_bars_after_kept_ones_fail_as_on_a_fresh_read(void)
{
    static const bars_case_t cases[] = {
        {0, 25, -1, NULL},
        {0, 26, 25, "x"},     /* the new bar's close does not parse */
        {0, 25, -1, NULL},
        {0, 25, 24, "x"},     /* the last kept bar changed to a bad close */
        {0, 25, 3, "101.75"}, /* same close text as bar 7: still its own bar */
        {0, 25, -1, NULL},
    };
    bars_in_turn_read_as_a_fresh_runner_reads_them(cases, sizeof cases / sizeof cases[0]);
    /* A count past the bars there, the first 25 of them kept. */
    char cold[192], text[2048];
    snprintf(text, sizeof text, "%s", bars_of(0, 25, -1, NULL));
    text[0] = '3';
    text[1] = '0'; /* 30 bars claimed, 25 there: still more than 8 bytes a bar */
    cold_signal(text, cold);
    CU_ASSERT_STRING_EQUAL(cold, "bad historicalData: bar count 30 does not match the frame");
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_signal(1, bars_of(0, 25, -1, NULL));
    CU_ASSERT_STRING_EQUAL(cycle_signal(2, text), cold);
    fx_teardown();
}

static void cancelled_order_error_202_ends_the_wait_and_the_cycle_goes_on(void)
{
    fx_setup(1);
    fx.cfg.nsymbols = 2;
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 0, 1);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_PLACE_ORDER), 1);
    fgw_send("4|2|10|202|Order Canceled - reason:|");
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("order_status", 0), "status"), "Cancelled");
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_REQ_HISTORICAL_DATA), 2); /* on to MSFT */
    CU_ASSERT_TRUE(cyc_running(fx.cyc));
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    fx_teardown();
}

static void order_error_fails_the_cycle_and_leaves_the_order_to_reconcile(void)
{
    fx_setup(1);
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 0, 1);
    fgw_send("4|2|10|201|Order rejected - reason:no trading permissions|");
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "placeOrder AAPL order 10: error 201: Order "
                                             "rejected - reason:no trading permissions");
    CU_ASSERT_TRUE(cyc_needs_reconcile(fx.cyc));
    fx_teardown();
}

/* Trade mode, order 10 (BUY 100 AAPL) sent, then the connection drops
 * before any orderStatus. */
static void place_order_then_disconnect(void)
{
    fgw_to_ready(10);
    cycle_through_bars(1, 0, 1);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_PLACE_ORDER), 1);
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    io_stream_close(fx.peer, IO_CLOSE_RST);
    fx.peer = NULL;
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_FALSE(fx.res[0].ok);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "disconnected");
    CU_ASSERT_FALSE(fx.res[0].timed_out);
    CU_ASSERT_EQUAL(fx.res[0].orders, 1);
    CU_ASSERT_TRUE(cyc_needs_reconcile(fx.cyc));
}

/* Cycle 2 after the reconnect: the reconcile comes first; answers the open
 * orders with `open_status` for order 10 (NULL: none) and the executions
 * with `shares` of it (0: none). */
static void reconcile_cycle(const char *open_status, int shares)
{
    fgw_to_ready(5); /* nextValidId went backwards, as after a gateway restart */
    CU_ASSERT_EQUAL_FATAL(cyc_start(fx.cyc, 2), 0);
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(rx_fields(PROTO_OUT_REQ_OPEN_ORDERS, 0), "5|1");
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_REQ_POSITIONS), 0);
    if (open_status) {
        fgw_send_open_order(10, "AAPL", open_status);
        fgw_send_order_status(10, open_status, 0, 100);
    }
    fgw_send("53|1");
    tev_run_for(10 * MS);
    rframe_t f;
    CU_ASSERT_FATAL(rx_frame(PROTO_OUT_REQ_EXECUTIONS, 0, &f));
    char want[64];
    snprintf(want, sizeof want, "7|3|%s|%d||||||", f.f[2], CLIENT_ID);
    CU_ASSERT_STRING_EQUAL(rx_fields(PROTO_OUT_REQ_EXECUTIONS, 0), want);
    int req = atoi(f.f[2]);
    if (shares) {
        fgw_send_execution(req, 10, "AAPL", shares, CLIENT_ID);
        fgw_send_execution(req, 10, "AAPL", 999, CLIENT_ID + 1); /* another client's order 10 */
    }
    fgw_sendf("55|1|%d", req);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_REQ_POSITIONS), 1);
    fgw_send("62|1"); /* the position does not show the fill yet */
    tev_run_for(10 * MS);
    fgw_send_bars(hist_req_id(), 1);
    tev_run_for(10 * MS);
}

static void execution_found_after_a_disconnect_holds_the_symbol_this_cycle(void)
{
    fx_setup(1);
    fx_new_cycle();
    place_order_then_disconnect();
    reconcile_cycle(NULL, 100);
    const tev_t *r = tev_rev("reconcile", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(tev_str(r, "symbol"), "AAPL");
    CU_ASSERT_EQUAL(tev_num(r, "order_id"), 10);
    CU_ASSERT_STRING_EQUAL(tev_str(r, "outcome"), "filled");
    CU_ASSERT_EQUAL(tev_num(tev_rev("signal_computed", 1), "target"), 100);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_PLACE_ORDER), 0); /* held this cycle */
    CU_ASSERT_EQUAL(fx.placed, 1);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 2);
    CU_ASSERT_TRUE(fx.res[1].ok);
    CU_ASSERT_EQUAL(fx.res[1].orders, 0);
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    fx_teardown();
}

static void order_the_gateway_never_had_is_not_found_and_the_next_id_stays_above_it(void)
{
    fx_setup(1);
    fx_new_cycle();
    place_order_then_disconnect();
    reconcile_cycle(NULL, 0);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("reconcile", 0), "outcome"), "not_found");
    rframe_t f;
    CU_ASSERT_FATAL(rx_frame(PROTO_OUT_PLACE_ORDER, 0, &f));
    CU_ASSERT_STRING_EQUAL(f.f[1], "11"); /* not the gateway's 5, nor 10 again */
    CU_ASSERT_EQUAL(tev_num(tev_rev("order", 1), "order_id"), 11);
    fx_teardown();
}

static void order_still_working_stays_pending_and_holds_the_symbol(void)
{
    fx_setup(1);
    fx_new_cycle();
    place_order_then_disconnect();
    reconcile_cycle("Submitted", 0);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("reconcile", 0), "outcome"), "open");
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_PLACE_ORDER), 0);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 2);
    CU_ASSERT_TRUE(fx.res[1].ok);
    CU_ASSERT_TRUE(cyc_needs_reconcile(fx.cyc));
    fx_teardown();
}

/* The timeout names the request of the state it fires in. */
static void each_awaited_request_is_named_by_its_timeout(void)
{
    /* reqHistoricalData: the positions come, the bars never do. */
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    fgw_send("62|1");
    tev_run_for(fx.cfg.request_timeout_us + 20 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "request timeout: reqHistoricalData AAPL");
    CU_ASSERT_TRUE(fx.res[0].timed_out);
    fx_teardown();

    /* orderStatus: the order goes out, its status never comes. */
    fx_setup(1);
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 0, 1);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_PLACE_ORDER), 1);
    tev_run_for(fx.cfg.request_timeout_us + 20 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "request timeout: orderStatus AAPL order 10");
    fx_teardown();

    /* The reconcile: reqOpenOrders unanswered, then reqExecutions. */
    fx_setup(1);
    fx_new_cycle();
    place_order_then_disconnect();
    fgw_to_ready(5);
    CU_ASSERT_EQUAL_FATAL(cyc_start(fx.cyc, 2), 0);
    tev_run_for(fx.cfg.request_timeout_us + 20 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 2);
    CU_ASSERT_STRING_EQUAL(fx.res[1].reason, "request timeout: reqOpenOrders");
    CU_ASSERT_EQUAL_FATAL(cyc_start(fx.cyc, 3), 0);
    tev_run_for(10 * MS);
    fgw_send("53|1");
    tev_run_for(fx.cfg.request_timeout_us + 20 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 3);
    CU_ASSERT_STRING_EQUAL(fx.res[2].reason, "request timeout: reqExecutions");
    CU_ASSERT_TRUE(fx.res[2].timed_out);
    fx_teardown();
}

static void cycle_on_a_closed_session_fails_as_not_connected(void)
{
    fx_setup(0);
    fx_new_cycle();
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    CU_ASSERT_EQUAL(fx.nres, 0);
    tev_run_for(1 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "not connected");
    CU_ASSERT_EQUAL(tev_num(tev_rev("cycle_start", 0), "n"), 1);
    fx_teardown();
}

static void abort_ends_the_cycle_at_once_and_only_once(void)
{
    fx_setup(0);
    fx_new_cycle();
    fgw_to_ready(10);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(10 * MS);
    cyc_abort(fx.cyc, "shutdown");
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "shutdown");
    cyc_abort(fx.cyc, "again");
    tev_run_for(5 * SEC);
    CU_ASSERT_EQUAL(fx.nres, 1);
    CU_ASSERT_EQUAL(tev_rcount("cycle_end"), 1);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_CANCEL_POSITIONS), 1);
    fx_teardown();
}

/* ---- the session on its own ---------------------------------------------- */

/* A currentTime after its ping timed out answers nothing: the session
 * stays ready and passes it on like any other message. */
static void late_current_time_after_a_ping_timeout_is_passed_on(void)
{
    fx_setup(0);
    fgw_to_ready(1);
    CU_ASSERT_EQUAL(ibc_ping(fx.client, 1), 0);
    CU_ASSERT_EQUAL(ibc_ping(fx.client, 2), IO_ERR_INVAL); /* one at a time */
    tev_run_for(2500 * MS);
    CU_ASSERT_EQUAL(fx.pings_lost, 1);
    CU_ASSERT_FALSE(ibc_ping_outstanding(fx.client));
    fgw_send("49|1|1765376700");
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(fx.pings_ok, 0);
    CU_ASSERT_EQUAL(fx.last_msg_id, 49);
    CU_ASSERT_TRUE(ibc_is_ready(fx.client));
    CU_ASSERT_EQUAL(fx.closes, 0);
    fx_teardown();
}

/* Each reply that does not parse ends the session with an RST and says
 * what was wrong. */
static void unparseable_replies_close_the_session_with_the_reason(void)
{
    static const struct {
        const char *hello, *frame, *why;
    } cases[] = {
        {"abc|20251210 09:25:00 EST", NULL, "protocol error: server hello: "},
        {"100|20251210 09:25:00 EST", NULL, "server version 100 outside 176..178"},
        {NULL, "x|1", "protocol error: message id: "},
        {NULL, "49|1|soon", "protocol error: currentTime: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_setup(0);
        if (cases[i].hello) {
            fgw_listen();
            CU_ASSERT_EQUAL_FATAL(ibc_connect(fx.client), 0);
            tev_run_for(10 * MS);
            CU_ASSERT_EQUAL(ibc_connect(fx.client), IO_ERR_INVAL); /* already active */
            fgw_send(cases[i].hello);
        } else {
            fgw_to_ready(1);
            fgw_send(cases[i].frame);
        }
        tev_run_for(10 * MS);
        CU_ASSERT_EQUAL(fx.closes, 1);
        CU_ASSERT_EQUAL(strncmp(fx.close_reason, cases[i].why, strlen(cases[i].why)), 0);
        if (strncmp(fx.close_reason, cases[i].why, strlen(cases[i].why)) != 0)
            fprintf(stderr, "\n  case %zu: %s\n", i, fx.close_reason);
        fx_teardown();
    }
}

/* ibc_send takes exactly one whole frame, and only while ready. */
static void send_takes_one_whole_frame_while_ready(void)
{
    fx_setup(0);
    proto_writer_t one, two;
    frame_of(&one, "49|1");
    frame_of(&two, "49|1");
    proto_frame_begin(&two);
    proto_put_int(&two, 49);
    CU_ASSERT_EQUAL(proto_frame_end(&two), 0);
    CU_ASSERT_EQUAL(ibc_send(fx.client, &one), IO_ERR_INVAL); /* not connected */
    fgw_to_ready(1);
    CU_ASSERT_EQUAL(ibc_send(fx.client, &two), IO_ERR_INVAL);
    CU_ASSERT_EQUAL(ibc_send(fx.client, &one), 0);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL(rx_count(PROTO_OUT_REQ_CURRENT_TIME), 1);
    CU_ASSERT_EQUAL(tev_num(tev_rev("msg_out", tev_rcount("msg_out") - 1), "id"), 49);
    proto_writer_free(&one);
    proto_writer_free(&two);
    fx_teardown();
}

static void bad_config_is_refused_with_a_reason(void)
{
    fx_setup(0);
    char err[256] = "";
    fx.cfg.nsymbols = 0;
    CU_ASSERT_EQUAL(cyc_new(fx.loop, fx.client, &fx.cfg, on_done, NULL, &fx.cyc, err, sizeof err),
                    IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(fx.cyc);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no symbols"));
    fx.cfg.nsymbols = 1;
    fx.symbols[0] = "BRK B";
    CU_ASSERT_EQUAL(cyc_new(fx.loop, fx.client, &fx.cfg, on_done, NULL, &fx.cyc, err, sizeof err),
                    IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbol"));
    fx_teardown();
}

/* ---- the journal -------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void restarted_runner_reconciles_and_never_places_the_order_twice(void)
{
    fx_setup(1);
    fx_use_journal_file();
    fx_new_cycle();
    fgw_to_ready(10);
    cycle_through_bars(1, 0, 1);
    CU_ASSERT_EQUAL_FATAL(rx_count(PROTO_OUT_PLACE_ORDER), 1);
    CU_ASSERT_STRING_EQUAL(slurp(fx.journal),
                           "intent cycle=1 symbol=AAPL order_id=10 action=BUY qty=100\n"
                           "sent order_id=10\n");
    /* The runner dies: no status, no abort, no goodbye. */
    cyc_free(fx.cyc);
    fx.cyc = NULL;
    ibc_free(fx.client);
    fx.client = NULL;
    tev_run_for(10 * MS);
    /* A new runner over the same journal. */
    ibc_config_t cc = {"127.0.0.1", PORT, CLIENT_ID, 1 * SEC, 2 * SEC};
    ibc_events_t ev = {on_ready, on_ping_done, on_closed, NULL, on_message};
    char err[256];
    CU_ASSERT_EQUAL_FATAL(ibc_new(fx.loop, &cc, &ev, &fx.client, err, sizeof err), 0);
    fx_new_cycle();
    CU_ASSERT_TRUE(cyc_needs_reconcile(fx.cyc));
    reconcile_cycle("Submitted", 0);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("reconcile", 0), "outcome"), "open");
    CU_ASSERT_EQUAL(fx.placed + rx_count(PROTO_OUT_PLACE_ORDER), 1);
    CU_ASSERT_TRUE(cyc_needs_reconcile(fx.cyc));
    /* Cycle 3: the order filled meanwhile; its status is journaled. */
    CU_ASSERT_EQUAL_FATAL(cyc_start(fx.cyc, 3), 0);
    tev_run_for(10 * MS);
    fgw_send("53|1");
    tev_run_for(10 * MS);
    rframe_t f;
    CU_ASSERT_FATAL(rx_frame(PROTO_OUT_REQ_EXECUTIONS, 1, &f));
    fgw_send_execution(atoi(f.f[2]), 10, "AAPL", 100, CLIENT_ID);
    fgw_sendf("55|1|%s", f.f[2]);
    tev_run_for(10 * MS);
    CU_ASSERT_STRING_EQUAL(tev_str(tev_rev("reconcile", 1), "outcome"), "filled");
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(slurp(fx.journal), "status order_id=10 status=Filled filled=100\n"));
    fx_teardown();
}

static void journal_only_grows_and_replays_to_the_same_pending_orders(void)
{
    fx_setup(0);
    fx_use_journal_file();
    char err[256];
    jrn_t *j;
    CU_ASSERT_EQUAL_FATAL(jrn_open(fx.journal, &j, err, sizeof err), 0);
    jrn_order_t a = {.cycle = 1, .symbol = "AAPL", .order_id = 3, .action = "BUY", .qty = 100};
    jrn_order_t b = {.cycle = 1, .symbol = "MSFT", .order_id = 4, .action = "SELL", .qty = 7};
    char before[4096] = "";
    for (int step = 0; step < 5; step++) {
        int rc = step == 0   ? jrn_intent(j, &a, err, sizeof err)
                 : step == 1 ? jrn_sent(j, 3, err, sizeof err)
                 : step == 2 ? jrn_intent(j, &b, err, sizeof err)
                 : step == 3 ? jrn_final(j, 3, "Filled", 100, err, sizeof err)
                             : jrn_sent(j, 4, err, sizeof err);
        CU_ASSERT_EQUAL(rc, 0);
        const char *now = slurp(fx.journal);
        CU_ASSERT_TRUE(strlen(now) > strlen(before));
        CU_ASSERT_EQUAL(strncmp(now, before, strlen(before)), 0);
        snprintf(before, sizeof before, "%s", now);
    }
    CU_ASSERT_EQUAL(jrn_intent(j, &b, err, sizeof err), IO_ERR_INVAL); /* already pending */
    CU_ASSERT_EQUAL(jrn_sent(j, 3, err, sizeof err), IO_ERR_INVAL);    /* already final */
    CU_ASSERT_EQUAL(jrn_pending_count(j), 1);
    jrn_close(j);
    CU_ASSERT_EQUAL_FATAL(jrn_open(fx.journal, &j, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(jrn_pending_count(j), 1);
    const jrn_order_t *p = jrn_pending_at(j, 0);
    CU_ASSERT_EQUAL(p->order_id, 4);
    CU_ASSERT_STRING_EQUAL(p->symbol, "MSFT");
    CU_ASSERT_STRING_EQUAL(p->action, "SELL");
    CU_ASSERT_EQUAL(p->qty, 7);
    CU_ASSERT_TRUE(p->sent);
    CU_ASSERT_EQUAL(jrn_max_order_id(j), 4);
    CU_ASSERT_EQUAL(jrn_torn_line(j), 0);
    jrn_close(j);
    fx_teardown();
}

static void torn_last_line_is_dropped_and_cut_so_appends_start_a_new_line(void)
{
    fx_setup(0);
    fx_use_journal_file();
    spit(fx.journal, "intent cycle=2 symbol=AAPL order_id=8 action=BUY qty=100\n"
                     "sent order_id=8\n"
                     "status order_id=8 stat");
    char err[256];
    jrn_t *j;
    CU_ASSERT_EQUAL_FATAL(jrn_open(fx.journal, &j, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jrn_torn_line(j), 3);
    CU_ASSERT_EQUAL(jrn_pending_count(j), 1); /* the torn status does not count */
    CU_ASSERT_STRING_EQUAL(slurp(fx.journal),
                           "intent cycle=2 symbol=AAPL order_id=8 action=BUY qty=100\n"
                           "sent order_id=8\n");
    CU_ASSERT_EQUAL(jrn_final(j, 8, "Cancelled", 0, err, sizeof err), 0);
    jrn_close(j);
    CU_ASSERT_EQUAL_FATAL(jrn_open(fx.journal, &j, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jrn_torn_line(j), 0);
    CU_ASSERT_EQUAL(jrn_pending_count(j), 0);
    CU_ASSERT_EQUAL(jrn_max_order_id(j), 8);
    jrn_close(j);
    fx_teardown();
}

static void corrupt_journal_line_is_an_error_naming_file_and_line(void)
{
    fx_setup(0);
    fx_use_journal_file();
    spit(fx.journal, "intent cycle=2 symbol=AAPL order_id=8 action=BUY qty=100\n"
                     "sent order_id=9\n"
                     "sent order_id=8\n");
    char err[256] = "", want[160];
    jrn_t *j = NULL;
    CU_ASSERT_EQUAL(jrn_open(fx.journal, &j, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(j);
    snprintf(want, sizeof want, "journal %s:2: order 9 has no pending intent", fx.journal);
    CU_ASSERT_STRING_EQUAL(err, want);
    spit(fx.journal, "intent cycle=2 symbol=AAPL order_id=8 action=HOLD qty=100\n");
    CU_ASSERT_EQUAL(jrn_open(fx.journal, &j, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: action"));
    spit(fx.journal, "garbage\n");
    CU_ASSERT_EQUAL(jrn_open(fx.journal, &j, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: not a journal record"));
    /* cyc_new refuses to start over it. */
    CU_ASSERT_EQUAL(cyc_new(fx.loop, fx.client, &fx.cfg, on_done, NULL, &fx.cyc, err, sizeof err),
                    IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(fx.cyc);
    fx_teardown();
}

/* Refusals leave the journal as it was and say why; a memory journal
 * (no path) keeps the same books. */
static void journal_refuses_bad_records_with_the_reason(void)
{
    char err[256] = "";
    jrn_t *j;
    CU_ASSERT_EQUAL_FATAL(jrn_open(NULL, &j, err, sizeof err), 0);
    jrn_order_t ok = {.cycle = 1, .symbol = "AAPL", .order_id = 5, .action = "BUY", .qty = 10};
    static const struct {
        const char *symbol, *action;
        int32_t id;
        int64_t qty;
        const char *why;
    } bad[] = {
        {"", "BUY", 6, 1, "bad symbol (order 6)"},
        {"BRK B", "BUY", 6, 1, "bad symbol (order 6)"},
        {"AAPL", "HOLD", 6, 1, "action is neither BUY nor SELL (order 6)"},
        {"AAPL", "SELL", 0, 1, "order id and quantity must be positive (order 0)"},
        {"AAPL", "SELL", 6, 0, "order id and quantity must be positive (order 6)"},
        {"AAPL", "SELL", 5, 1, "order id already pending (order 5)"},
    };
    CU_ASSERT_EQUAL(jrn_intent(j, &ok, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jrn_order_t o = {.cycle = 1, .order_id = bad[i].id, .qty = bad[i].qty};
        snprintf(o.symbol, sizeof o.symbol, "%s", bad[i].symbol);
        snprintf(o.action, sizeof o.action, "%s", bad[i].action);
        CU_ASSERT_EQUAL(jrn_intent(j, &o, err, sizeof err), IO_ERR_INVAL);
        CU_ASSERT_STRING_EQUAL(err, bad[i].why);
    }
    CU_ASSERT_EQUAL(jrn_final(j, 5, "Fil led", 1, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_STRING_EQUAL(err, "journal: bad final status for order 5");
    CU_ASSERT_EQUAL(jrn_final(j, 5, "Filled", -1, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_EQUAL(jrn_final(j, 7, "Filled", 1, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_STRING_EQUAL(err, "order 7 has no pending intent");
    CU_ASSERT_EQUAL(jrn_pending_count(j), 1);
    CU_ASSERT_PTR_NOT_NULL(jrn_find(j, 5));
    CU_ASSERT_PTR_NULL(jrn_find(j, 6));
    CU_ASSERT_EQUAL(jrn_final(j, 5, "Filled", 10, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jrn_pending_count(j), 0);
    CU_ASSERT_EQUAL(jrn_max_order_id(j), 5);
    jrn_close(j);
}

/* Each damaged record kind is refused with its line number, and a path
 * that cannot be opened is named. */
static void journal_damaged_records_and_unopenable_paths_are_refused(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"intent cycle=1 symbol=AAPL order_id=3 action=BUY\n", ":1: not a journal record"},
        {"sent order_id=x\n", ":1: not a journal record"},
        {"intent cycle=1 symbol=AAPL order_id=3 action=BUY qty=1\nsent order_id=3 more\n",
         ":2: not a journal record"},
        {"status order_id=3 status=Filled filled=1\n", ":1: order 3 has no pending intent"},
        {"status order_id=3 status=Filled\n", ":1: not a journal record"},
        {"intent cycle=1 symbol=AAPL order_id=3 action=BUY qty=1\n"
         "intent cycle=1 symbol=MSFT order_id=3 action=BUY qty=1\n",
         ":2: order id already pending"},
    };
    fx_setup(0);
    fx_use_journal_file();
    char err[256];
    jrn_t *j = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spit(fx.journal, bad[i].text);
        CU_ASSERT_EQUAL(jrn_open(fx.journal, &j, err, sizeof err), IO_ERR_INVAL);
        CU_ASSERT_PTR_NULL(j);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
    }
    CU_ASSERT_EQUAL(jrn_open(fx.dir, &j, err, sizeof err), IO_ERR_SYS); /* a directory */
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, fx.dir));
    fx_teardown();
}

/* ---- the cycle against the real mock gateway ----------------------------- */

/* msg_out events of that message id: what the session sent. */
static int sent_count(int id)
{
    int n = 0;
    for (int i = 0; tev_rev("msg_out", i); i++)
        n += tev_num(tev_rev("msg_out", i), "id") == id;
    return n;
}

/* The mock with a position of qty AAPL, and the session ready on it. */
static void mock_to_ready(double qty)
{
    gw_config_t gc;
    gw_config_defaults(&gc);
    gc.port = PORT;
    gc.positions[0] = (gw_position_t){"DU1234567", "AAPL", qty, 140.0};
    gc.npositions = 1;
    gc.market_seed = 11;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_new(fx.loop, &gc, &fx.gw, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(ibc_connect(fx.client), 0);
    tev_run_for(100 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.readies, 1);
}

/* Runs in small steps until the nth event of that kind is traced. */
static void run_until_event(const char *ev, int nth, io_us_t max_us)
{
    io_us_t end = io_now_us(fx.loop) + max_us;
    while (!tev_rev(ev, nth) && io_now_us(fx.loop) < end)
        tev_run_for(20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tev_rev(ev, nth));
}

static void mock_trade_cycle_places_the_difference_and_sees_it_filled(void)
{
    fx_setup(1);
    fx_new_cycle();
    mock_to_ready(50); /* whichever the signal, the order is 50 shares */
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(1 * SEC);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "");
    CU_ASSERT_EQUAL(fx.res[0].orders, 1);
    CU_ASSERT_EQUAL(sent_count(PROTO_OUT_PLACE_ORDER), 1);
    const tev_t *o = tev_rev("order", 0);
    CU_ASSERT_EQUAL(tev_num(o, "qty"), 50);
    int64_t target = tev_num(tev_rev("signal_computed", 0), "target");
    CU_ASSERT_STRING_EQUAL(tev_str(o, "action"), target ? "BUY" : "SELL");
    const tev_t *st = tev_rev("order_status", tev_rcount("order_status") - 1);
    CU_ASSERT_STRING_EQUAL(tev_str(st, "status"), "Filled");
    CU_ASSERT_EQUAL(tev_num(st, "filled"), 50);
    CU_ASSERT_EQUAL(tev_num(st, "order_id"), tev_num(o, "order_id"));
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    /* Cycle 2 sees the position at the target: no order. */
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 2), 0);
    tev_run_for(1 * SEC);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 2);
    CU_ASSERT_TRUE(fx.res[1].ok);
    CU_ASSERT_EQUAL(tev_num(tev_rev("signal_computed", 1), "target"), target);
    CU_ASSERT_EQUAL(sent_count(PROTO_OUT_PLACE_ORDER), 1);
    fx_teardown();
}

static void mock_dry_run_traces_the_order_and_places_nothing(void)
{
    fx_setup(0);
    fx_new_cycle();
    mock_to_ready(50);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(1 * SEC);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_TRUE(fx.res[0].ok);
    CU_ASSERT_EQUAL(tev_num(tev_rev("order_dry_run", 0), "qty"), 50);
    CU_ASSERT_EQUAL(sent_count(PROTO_OUT_PLACE_ORDER), 0);
    CU_ASSERT_EQUAL(tev_rcount("order"), 0);
    fx_teardown();
}

/* At 10:05 New York time today's session has one bar: the request still
 * brings the slow average's 20. */
static void mock_cycle_in_the_morning_has_enough_bars(void)
{
    fx_setup(0);
    fx_new_cycle();
    mock_to_ready(0);
    tev_run_for(40 * 60 * SEC); /* 09:25 → 10:05 */
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    tev_run_for(1 * SEC);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "");
    CU_ASSERT_TRUE(fx.res[0].ok);
    fx_teardown();
}

static void mock_kill_after_place_order_is_reconciled_without_a_second_order(void)
{
    fx_setup(1);
    fx_new_cycle();
    mock_to_ready(50);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 1), 0);
    run_until_event("order", 0, 1 * SEC);
    tev_run_for(300); /* the order reaches the gateway; its answers are on the way */
    gw_kill(fx.gw, IO_CLOSE_RST, -1);
    tev_run_for(10 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 1);
    CU_ASSERT_STRING_EQUAL(fx.res[0].reason, "disconnected");
    CU_ASSERT_EQUAL(tev_rcount("order_status"), 0); /* its fate is unknown here */
    CU_ASSERT_TRUE(cyc_needs_reconcile(fx.cyc));
    CU_ASSERT_EQUAL_FATAL(ibc_connect(fx.client), 0);
    tev_run_for(100 * MS);
    CU_ASSERT_EQUAL_FATAL(fx.readies, 2);
    CU_ASSERT_EQUAL(cyc_start(fx.cyc, 2), 0);
    tev_run_for(1 * SEC);
    CU_ASSERT_EQUAL_FATAL(fx.nres, 2);
    CU_ASSERT_TRUE(fx.res[1].ok);
    const tev_t *r = tev_rev("reconcile", 0);
    CU_ASSERT_EQUAL(tev_num(r, "order_id"), tev_num(tev_rev("order", 0), "order_id"));
    CU_ASSERT_STRING_EQUAL(tev_str(r, "outcome"), "filled");
    CU_ASSERT_EQUAL(sent_count(PROTO_OUT_PLACE_ORDER), 1);
    CU_ASSERT_FALSE(cyc_needs_reconcile(fx.cyc));
    fx_teardown();
}

static CU_TestInfo tests[] = {
    {"signal_is_long_when_the_fast_average_is_above_the_slow_one",
     signal_is_long_when_the_fast_average_is_above_the_slow_one},
    {"signal_is_flat_on_equal_averages_and_needs_slow_bars",
     signal_is_flat_on_equal_averages_and_needs_slow_bars},
    {"fixed4_text_matches_printf_for_every_kind_of_double",
     fixed4_text_matches_printf_for_every_kind_of_double},
    {"fixed4_reads_fractions_of_every_binary_exponent_as_printf",
     fixed4_reads_fractions_of_every_binary_exponent_as_printf},
    {"order_is_the_difference_between_target_and_position",
     order_is_the_difference_between_target_and_position},
    {"dry_run_traces_the_order_and_sends_no_place_order",
     dry_run_traces_the_order_and_sends_no_place_order},
    {"no_order_when_the_position_is_already_at_target",
     no_order_when_the_position_is_already_at_target},
    {"trade_mode_places_the_114_field_order_and_waits_for_filled",
     trade_mode_places_the_114_field_order_and_waits_for_filled},
    {"falling_bars_sell_the_position_down_to_flat", falling_bars_sell_the_position_down_to_flat},
    {"missing_position_end_is_a_request_timeout_that_fails_the_cycle",
     missing_position_end_is_a_request_timeout_that_fails_the_cycle},
    {"deadline_fails_the_cycle_and_cancels_the_historical_request",
     deadline_fails_the_cycle_and_cancels_the_historical_request},
    {"error_162_fails_the_cycle_with_the_reason_and_sends_no_cancel",
     error_162_fails_the_cycle_with_the_reason_and_sends_no_cancel},
    {"notice_with_the_request_id_does_not_end_the_request",
     notice_with_the_request_id_does_not_end_the_request},
    {"too_few_bars_fail_the_cycle_naming_the_symbol",
     too_few_bars_fail_the_cycle_naming_the_symbol},
    {"bar_counts_the_frame_cannot_hold_are_named_as_such",
     bar_counts_the_frame_cannot_hold_are_named_as_such},
    {"bars_are_read_close_to_close_and_a_bad_field_is_named_where_it_is",
     bars_are_read_close_to_close_and_a_bad_field_is_named_where_it_is},
    {"each_awaited_request_is_named_by_its_timeout", each_awaited_request_is_named_by_its_timeout},
    {"malformed_bars_fail_the_cycle_as_a_bad_reply", malformed_bars_fail_the_cycle_as_a_bad_reply},
    {"bars_repeating_the_last_answer_give_the_closes_of_a_fresh_read",
     bars_repeating_the_last_answer_give_the_closes_of_a_fresh_read},
    {"bad_bars_after_kept_ones_fail_as_on_a_fresh_read",
     bad_bars_after_kept_ones_fail_as_on_a_fresh_read},
    {"cancelled_order_error_202_ends_the_wait_and_the_cycle_goes_on",
     cancelled_order_error_202_ends_the_wait_and_the_cycle_goes_on},
    {"order_error_fails_the_cycle_and_leaves_the_order_to_reconcile",
     order_error_fails_the_cycle_and_leaves_the_order_to_reconcile},
    {"execution_found_after_a_disconnect_holds_the_symbol_this_cycle",
     execution_found_after_a_disconnect_holds_the_symbol_this_cycle},
    {"order_the_gateway_never_had_is_not_found_and_the_next_id_stays_above_it",
     order_the_gateway_never_had_is_not_found_and_the_next_id_stays_above_it},
    {"order_still_working_stays_pending_and_holds_the_symbol",
     order_still_working_stays_pending_and_holds_the_symbol},
    {"cycle_on_a_closed_session_fails_as_not_connected",
     cycle_on_a_closed_session_fails_as_not_connected},
    {"abort_ends_the_cycle_at_once_and_only_once", abort_ends_the_cycle_at_once_and_only_once},
    {"bad_config_is_refused_with_a_reason", bad_config_is_refused_with_a_reason},
    {"restarted_runner_reconciles_and_never_places_the_order_twice",
     restarted_runner_reconciles_and_never_places_the_order_twice},
    {"journal_only_grows_and_replays_to_the_same_pending_orders",
     journal_only_grows_and_replays_to_the_same_pending_orders},
    {"torn_last_line_is_dropped_and_cut_so_appends_start_a_new_line",
     torn_last_line_is_dropped_and_cut_so_appends_start_a_new_line},
    {"corrupt_journal_line_is_an_error_naming_file_and_line",
     corrupt_journal_line_is_an_error_naming_file_and_line},
    {"journal_refuses_bad_records_with_the_reason", journal_refuses_bad_records_with_the_reason},
    {"late_current_time_after_a_ping_timeout_is_passed_on",
     late_current_time_after_a_ping_timeout_is_passed_on},
    {"unparseable_replies_close_the_session_with_the_reason",
     unparseable_replies_close_the_session_with_the_reason},
    {"send_takes_one_whole_frame_while_ready", send_takes_one_whole_frame_while_ready},
    {"journal_damaged_records_and_unopenable_paths_are_refused",
     journal_damaged_records_and_unopenable_paths_are_refused},
    {"mock_trade_cycle_places_the_difference_and_sees_it_filled",
     mock_trade_cycle_places_the_difference_and_sees_it_filled},
    {"mock_dry_run_traces_the_order_and_places_nothing",
     mock_dry_run_traces_the_order_and_places_nothing},
    {"mock_cycle_in_the_morning_has_enough_bars", mock_cycle_in_the_morning_has_enough_bars},
    {"mock_kill_after_place_order_is_reconciled_without_a_second_order",
     mock_kill_after_place_order_is_reconciled_without_a_second_order},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"cycle", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
