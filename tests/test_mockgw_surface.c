/* test_mockgw_surface.c - the mock gateway's protocol surface (requests.c,
 * market.c, orders.c, config.c) driven over io_sim by scripted clients:
 * they send each request with the field layout real clients use and keep
 * every reply as its list of fields (read with proto's decoder and field
 * reader), so tests check exact field counts per negotiated version, the
 * order of the messages of a flow, and what the values say. The loop and
 * the gateway are gwclient.h's; the clients are this file's own, since
 * they keep fields apart and any number of frames. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../mockgw/config.h"
#include "../mockgw/gateway.h"
#include "../mockgw/market.h"
#include "../proto/nytime.h"
#include "../proto/proto.h"
#include "gwclient.h"
#include "testlib.h"

/* 2025-12-13 15:00:00 UTC, a Saturday. */
#define T_SATURDAY_WALL_S 1765638000
#define T_CLIENTS_MAX 4
#define T_FIELDS_MAX 160

static const gwc_opts_t T_ENV = {42, GWC_START_WALL_S, 0, NULL, 1};

typedef struct t_frame {
    int n;
    char **f;
} t_frame_t;

typedef struct t_client {
    io_stream_t *stream;
    proto_decoder_t dec;
    t_frame_t *frames;
    size_t nframes, cap;
    int eof, reset;
} t_client_t;

static struct {
    t_client_t *clients[T_CLIENTS_MAX];
    size_t nclients;
} E;

/* ---- the scripted client ----------------------------------------------- */

static void client_clear(t_client_t *c)
{
    for (size_t i = 0; i < c->nframes; i++) {
        for (int k = 0; k < c->frames[i].n; k++)
            free(c->frames[i].f[k]);
        free(c->frames[i].f);
    }
    c->nframes = 0;
}

static void client_free(t_client_t *c)
{
    if (c->stream)
        io_stream_close(c->stream, IO_CLOSE_FIN);
    proto_decoder_free(&c->dec);
    client_clear(c);
    free(c->frames);
    free(c);
}

/* This file's clients go first, then the shared environment. */
static void env_stop(void)
{
    for (size_t i = 0; i < E.nclients; i++)
        client_free(E.clients[i]);
    E.nclients = 0;
    gwc_env_stop();
}

static void client_keep(t_client_t *c, const proto_frame_t *f)
{
    if (c->nframes == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->frames = realloc(c->frames, c->cap * sizeof *c->frames);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c->frames);
    }
    t_frame_t *fr = &c->frames[c->nframes++];
    proto_reader_t r;
    proto_reader_init(&r, f);
    fr->n = proto_reader_remaining(&r);
    fr->f = calloc((size_t)fr->n + 1, sizeof *fr->f);
    for (int i = 0; i < fr->n; i++) {
        const char *s = "";
        CU_ASSERT_EQUAL(proto_read_str(&r, &s, NULL, 0), 0);
        fr->f[i] = strdup(s);
    }
}

static void client_cb(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    t_client_t *c = data;
    (void)stream;
    if (ev->kind == IO_EV_EOF) {
        c->eof = 1;
    } else if (ev->kind == IO_EV_RESET) {
        c->reset = 1;
    } else if (ev->kind == IO_EV_DATA) {
        CU_ASSERT_EQUAL_FATAL(proto_decoder_feed(&c->dec, ev->data, ev->len), 0);
        proto_frame_t f;
        int rc;
        while ((rc = proto_decoder_next(&c->dec, &f, NULL, 0)) == 1)
            client_keep(c, &f);
        CU_ASSERT_EQUAL(rc, 0);
    }
}

static void client_send_arr(t_client_t *c, int n, const char *const *fields)
{
    gwc_write_fields(c->stream, n, fields);
}

static void client_send(t_client_t *c, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    gwc_write_fieldsv(c->stream, n, ap);
    va_end(ap);
}

/* Connects, says hello with v100..max, sends startApi with client_id and
 * lets the startup (hello, 15, 9, three farm notices) arrive; then forgets
 * those frames, so a test sees only the replies to its own requests. */
static t_client_t *client_ready_v(const char *client_id, int max_version)
{
    t_client_t *c = calloc(1, sizeof *c);
    CU_ASSERT_FATAL(c != NULL && E.nclients < T_CLIENTS_MAX);
    E.clients[E.nclients++] = c;
    proto_decoder_init(&c->dec);
    CU_ASSERT_EQUAL_FATAL(io_connect(gwc.loop, "127.0.0.1", gw_port(gwc.gw), client_cb, c,
                                     &c->stream, NULL, 0),
                          0);
    gwc_run_ms(1);
    gwc_write_hello(c->stream, 100, max_version);
    gwc_run_ms(2);
    client_send(c, 4, "71", "2", client_id, "");
    gwc_run_ms(2);
    CU_ASSERT_EQUAL_FATAL(c->nframes, 6);
    client_clear(c);
    return c;
}

static t_client_t *client_ready(const char *client_id)
{
    return client_ready_v(client_id, PROTO_SERVER_VERSION_MAX);
}

/* The i-th frame with message id msg_id (or NULL). */
static const t_frame_t *nth(const t_client_t *c, const char *msg_id, int i)
{
    for (size_t k = 0; k < c->nframes; k++)
        if (strcmp(c->frames[k].f[0], msg_id) == 0 && i-- == 0)
            return &c->frames[k];
    return NULL;
}

static const t_frame_t *first(const t_client_t *c, const char *msg_id)
{
    return nth(c, msg_id, 0);
}

static int count(const t_client_t *c, const char *msg_id)
{
    int n = 0;
    for (size_t k = 0; k < c->nframes; k++)
        n += strcmp(c->frames[k].f[0], msg_id) == 0;
    return n;
}

static int fields_of(const t_client_t *c, const char *msg_id)
{
    const t_frame_t *f = first(c, msg_id);
    return f ? f->n : -1;
}

/* The message ids received, "5,3,11,5,3,59". */
static void ids_of(const t_client_t *c, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < c->nframes && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? "," : "", c->frames[k].f[0]);
}

/* ---- requests as clients write them ------------------------------------ */

/* conId, symbol, secType, lastTradeDate, strike, right, multiplier,
 * exchange, primaryExchange, currency, localSymbol, tradingClass. */
static int put_contract(const char **f, const char *symbol, const char *type)
{
    int cash = strcmp(type, "CASH") == 0;
    const char *contract[12] = {"0", symbol, type, "", "0.0", "", "", cash ? "IDEALPRO" : "SMART",
                                "", "USD", "", ""};
    memcpy(f, contract, sizeof contract);
    return 12;
}

static void req_contract_details(t_client_t *c, const char *req_id, const char *symbol,
                                 const char *type)
{
    const char *f[T_FIELDS_MAX] = {"9", "8", req_id};
    int n = 3 + put_contract(f + 3, symbol, type);
    f[n++] = "0";
    f[n++] = "";
    f[n++] = "";
    f[n++] = "";
    client_send_arr(c, n, f);
}

static void req_historical(t_client_t *c, const char *req_id, const char *symbol,
                           const char *type, const char *end, const char *bar_size,
                           const char *duration, const char *rth, const char *what,
                           const char *format_date)
{
    const char *f[T_FIELDS_MAX] = {"20", req_id};
    int n = 2 + put_contract(f + 2, symbol, type);
    const char *tail[] = {"0", end, bar_size, duration, rth, what, format_date, "0", ""};
    memcpy(f + n, tail, sizeof tail);
    client_send_arr(c, n + 9, f);
}

static void req_mkt_data(t_client_t *c, const char *req_id, const char *symbol,
                         const char *snapshot)
{
    const char *f[T_FIELDS_MAX] = {"1", "11", req_id};
    int n = 3 + put_contract(f + 3, symbol, "STK");
    const char *tail[] = {"0", "", snapshot, "0", ""};
    memcpy(f + n, tail, sizeof tail);
    client_send_arr(c, n + 5, f);
}

/* placeOrder as table 4.3 lays it out (114 fields for a plain order). */
static void place_order(t_client_t *c, const char *id, const char *symbol, const char *action,
                        const char *qty, const char *type, const char *lmt)
{
    const char *f[114];
    for (int i = 0; i < 114; i++)
        f[i] = "";
    f[0] = "3";
    f[1] = id;
    put_contract(f + 2, symbol, "STK");
    f[16] = action;
    f[17] = qty;
    f[18] = type;
    f[19] = lmt;
    f[25] = "0";
    f[27] = "1";
    client_send_arr(c, 114, f);
}

static int64_t wall_s(void)
{
    return io_wall_us(gwc.loop) / IO_US_PER_S;
}

/* ---- field counts ------------------------------------------------------ */

static void simple_replies_have_their_exact_field_counts_at_178(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.positions[0] = (gw_position_t){"DU1234567", "AAPL", 10, 150};
    gwc.cfg.npositions = 1;
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    client_send(c, 2, "49", "1");
    client_send(c, 3, "8", "1", "1");
    client_send(c, 2, "17", "1");
    client_send(c, 2, "61", "1");
    client_send(c, 5, "62", "1", "7", "All", "NetLiquidation,TotalCashValue");
    client_send(c, 4, "6", "2", "1", "DU1234567");
    client_send(c, 6, "76", "1", "8", "DU1234567", "", "1");
    client_send(c, 2, "5", "1");
    client_send(c, 10, "7", "3", "9", "0", "", "", "", "", "", "");
    client_send(c, 2, "99", "0");
    req_mkt_data(c, "11", "AAPL", "1");
    gwc_run_ms(5);
    static const struct {
        const char *id;
        int fields;
    } want[] = {{"49", 3}, {"9", 3},  {"15", 3}, {"61", 16}, {"62", 2}, {"63", 7}, {"64", 3},
                {"6", 6},  {"7", 20}, {"8", 3},  {"54", 3},  {"73", 8}, {"74", 3}, {"53", 2},
                {"55", 3}, {"102", 1}, {"81", 5}, {"58", 4}, {"1", 7},  {"2", 5},  {"57", 3}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL(fields_of(c, want[i].id), want[i].fields);
        if (fields_of(c, want[i].id) != want[i].fields)
            fprintf(stderr, "\n  message %s: %d fields\n", want[i].id, fields_of(c, want[i].id));
    }
    CU_ASSERT_EQUAL(count(c, "63"), 2);
    CU_ASSERT_STRING_EQUAL(first(c, "61")->f[4], "AAPL");
    CU_ASSERT_STRING_EQUAL(first(c, "61")->f[14], "10");
    CU_ASSERT_STRING_EQUAL(first(c, "54")->f[2], "DU1234567");
    env_stop();
}

/* Field counts of contractData, with 0 secId pairs, per version. */
static void contract_data_layout_follows_the_negotiated_version(void)
{
    static const struct {
        int version, fields;
    } want[] = {{178, 40}, {176, 40}, {164, 40}, {163, 40}, {162, 39}, {152, 39}, {151, 38}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        gwc_env_start(&T_ENV);
        t_client_t *c = client_ready_v("1", want[i].version);
        req_contract_details(c, "5", "AAPL", "STK");
        req_contract_details(c, "6", "EUR", "CASH");
        gwc_run_ms(5);
        CU_ASSERT_EQUAL(count(c, "10"), 2);
        CU_ASSERT_EQUAL(nth(c, "10", 0)->n, want[i].fields);
        CU_ASSERT_EQUAL(nth(c, "10", 1)->n, want[i].fields);
        int at = want[i].version < 164; /* the version field shifts the rest */
        CU_ASSERT_STRING_EQUAL(nth(c, "10", 0)->f[1], at ? "8" : "5");
        CU_ASSERT_STRING_EQUAL(nth(c, "10", 1)->f[2 + at], "EUR");
        CU_ASSERT_STRING_EQUAL(nth(c, "10", 1)->f[9 + at], "EUR.USD");
        CU_ASSERT_EQUAL(count(c, "52"), 2);
        env_stop();
    }
}

static void unknown_contracts_get_error_200_and_no_end(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    req_contract_details(c, "5", "AAPL", "OPT");
    req_contract_details(c, "6", "", "STK");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(count(c, "52"), 0);
    CU_ASSERT_EQUAL(count(c, "4"), 2);
    CU_ASSERT_STRING_EQUAL(first(c, "4")->f[2], "5");
    CU_ASSERT_STRING_EQUAL(first(c, "4")->f[3], "200");
    env_stop();
}

/* openOrder counts: faProfile below 177, PEG fields from 170, and the
 * 151..162 additions; status sits at index 85 (86 with faProfile). */
static void open_order_layout_follows_the_negotiated_version(void)
{
    static const struct {
        int version, fields;
    } want[] = {{178, 127}, {177, 127}, {176, 128}, {170, 128}, {169, 123}, {162, 123},
                {161, 122}, {160, 122}, {159, 121}, {158, 121}, {157, 120}, {151, 120}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        gwc_env_start(&T_ENV);
        t_client_t *c = client_ready_v("1", want[i].version);
        place_order(c, "1", "AAPL", "BUY", "5", "LMT", "1");
        gwc_run_ms(5);
        const t_frame_t *o = first(c, "5");
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(o->n, want[i].fields);
        CU_ASSERT_STRING_EQUAL(o->f[want[i].version < 177 ? 86 : 85], "Submitted");
        CU_ASSERT_STRING_EQUAL(o->f[3], "AAPL");
        CU_ASSERT_STRING_EQUAL(o->f[13], "BUY");
        CU_ASSERT_STRING_EQUAL(o->f[14], "5");
        CU_ASSERT_STRING_EQUAL(o->f[16], "1");
        CU_ASSERT_STRING_EQUAL(o->f[24], "1"); /* clientId */
        CU_ASSERT_EQUAL(fields_of(c, "3"), 12);
        env_stop();
    }
}

static void exec_details_completed_order_and_error_follow_the_version(void)
{
    static const struct {
        int version, exec, completed, error;
    } want[] = {{178, 32, 96, 6}, {177, 31, 96, 6}, {176, 31, 97, 6},
                {169, 31, 92, 6}, {165, 31, 92, 5}, {151, 31, 92, 5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        gwc_env_start(&T_ENV);
        t_client_t *c = client_ready_v("1", want[i].version);
        place_order(c, "1", "AAPL", "BUY", "5", "MKT", "");
        client_send(c, 2, "99", "0");
        client_send(c, 2, "999", "1");
        gwc_run_ms(5);
        CU_ASSERT_EQUAL(fields_of(c, "11"), want[i].exec);
        CU_ASSERT_EQUAL(fields_of(c, "59"), 8);
        CU_ASSERT_EQUAL(fields_of(c, "101"), want[i].completed);
        CU_ASSERT_EQUAL(fields_of(c, "4"), want[i].error);
        env_stop();
    }
}

/* ---- errors ------------------------------------------------------------ */

static void unknown_request_gets_an_error_and_the_session_still_answers(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    client_send(c, 3, "999", "1", "x");
    client_send(c, 2, "49", "1");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nframes, 2);
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[0], "4");
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[2], "-1");
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[3], "505");
    CU_ASSERT_STRING_EQUAL(c->frames[1].f[0], "49");
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    env_stop();
}

static void malformed_request_gets_error_320_and_the_session_stays(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    req_contract_details(c, "x5", "AAPL", "STK");
    client_send(c, 1, "62");            /* fields missing */
    client_send(c, 2, "49", "1");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nframes, 3);
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[3], "320");
    CU_ASSERT_PTR_NOT_NULL(strstr(c->frames[0].f[4], "reqContractDetails"));
    CU_ASSERT_STRING_EQUAL(c->frames[1].f[3], "320");
    CU_ASSERT_STRING_EQUAL(c->frames[2].f[0], "49");
    CU_ASSERT(!c->eof && !c->reset);
    env_stop();
}

static void configured_max_version_caps_the_negotiation(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.server_version_max = 165;
    gwc_env_start_gw();
    t_client_t *c = calloc(1, sizeof *c);
    E.clients[E.nclients++] = c;
    proto_decoder_init(&c->dec);
    io_connect(gwc.loop, "127.0.0.1", gw_port(gwc.gw), client_cb, c, &c->stream, NULL, 0);
    gwc_run_ms(1);
    static const uint8_t prefix[] = {'A', 'P', 'I', 0};
    static const uint8_t rest[] = {0, 0, 0, 9, 'v', '1', '5', '7', '.', '.', '1', '7', '8'};
    CU_ASSERT_EQUAL(io_stream_write(c->stream, prefix, sizeof prefix), 0);
    gwc_run_ms(2);
    CU_ASSERT_EQUAL(c->nframes, 0);
    CU_ASSERT_EQUAL(io_stream_write(c->stream, rest, sizeof rest), 0);
    gwc_run_ms(2);
    CU_ASSERT_EQUAL_FATAL(c->nframes, 1);
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[0], "165");
    env_stop();
}

/* ---- historical data --------------------------------------------------- */

/* Every field of the historicalData frame after its reqId. */
static int same_bars(const t_frame_t *a, const t_frame_t *b)
{
    if (!a || !b || a->n != b->n)
        return 0;
    for (int i = 2; i < a->n; i++)
        if (strcmp(a->f[i], b->f[i]) != 0)
            return 0;
    return 1;
}

static t_frame_t t_copy(const t_frame_t *f)
{
    t_frame_t out = {f->n, calloc((size_t)f->n, sizeof(char *))};
    for (int i = 0; i < f->n; i++)
        out.f[i] = strdup(f->f[i]);
    return out;
}

static void t_frame_free(t_frame_t *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->f[i]);
    free(f->f);
}

/* The 1-hour, 5-minute TRADES bars of AAPL ending at a fixed moment, from a
 * fresh gateway with that market seed. */
static t_frame_t bars_with_seed(uint64_t seed)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.market_seed = seed;
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    req_historical(c, "3", "AAPL", "STK", "20251209 15:00:00 US/Eastern", "5 mins", "3600 S",
                   "0", "TRADES", "1");
    gwc_run_ms(5);
    const t_frame_t *f = first(c, "17");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    t_frame_t out = t_copy(f);
    env_stop();
    return out;
}

static void historical_bars_are_the_same_for_the_same_seed_and_differ_for_another(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    req_historical(c, "3", "AAPL", "STK", "20251210 09:00:00 US/Eastern", "1 min", "1800 S",
                   "0", "TRADES", "1");
    gwc_run_ms(3000);
    req_historical(c, "4", "AAPL", "STK", "20251210 14:00:00 UTC", "1 min", "1800 S", "0",
                   "TRADES", "1");
    req_historical(c, "5", "AAPL", "STK", "", "1 min", "1800 S", "0", "TRADES", "1");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(count(c, "17"), 3);
    CU_ASSERT_STRING_EQUAL(nth(c, "17", 1)->f[1], "4");
    CU_ASSERT(same_bars(nth(c, "17", 0), nth(c, "17", 1)));
    CU_ASSERT_STRING_EQUAL(nth(c, "17", 0)->f[4], "30");
    CU_ASSERT_EQUAL(nth(c, "17", 0)->n, 5 + 30 * 8);
    CU_ASSERT_STRING_EQUAL(nth(c, "17", 2)->f[4], "30");
    env_stop();

    t_frame_t a = bars_with_seed(11), b = bars_with_seed(11), other = bars_with_seed(12);
    CU_ASSERT_STRING_EQUAL(a.f[4], "12");
    CU_ASSERT_STRING_EQUAL(a.f[5], "20251209 14:00:00 US/Eastern");
    CU_ASSERT(same_bars(&a, &b));
    CU_ASSERT(!same_bars(&a, &other));
    t_frame_free(&a);
    t_frame_free(&b);
    t_frame_free(&other);
}

/* The gateway keeps the bars it built and the text it wrote for them:
 * asking again, in the other date format, for another whatToShow, or from
 * a fresh gateway, gives each time what building them anew gives. */
static void repeated_history_requests_answer_as_a_fresh_gateway_would(void)
{
    static const char *const what[] = {"TRADES", "TRADES", "BID", "TRADES", "BID"};
    static const char *const fmt[] = {"1", "2", "1", "1", "1"};
    char id[16];
    gwc_env_init(&T_ENV);
    gwc.cfg.market_seed = 11;
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "%d", i + 3);
        req_historical(c, id, "AAPL", "STK", "20251209 15:00:00 US/Eastern", "5 mins", "3600 S",
                       "0", what[i], fmt[i]);
    }
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(count(c, "17"), 5);
    const t_frame_t *trades = nth(c, "17", 0), *unix_dates = nth(c, "17", 1);
    const t_frame_t *bid = nth(c, "17", 2);
    CU_ASSERT(same_bars(trades, nth(c, "17", 3)));
    CU_ASSERT(same_bars(bid, nth(c, "17", 4)));
    CU_ASSERT_EQUAL_FATAL(unix_dates->n, trades->n);
    CU_ASSERT_EQUAL(strtoll(unix_dates->f[5], NULL, 10), ny_to_utc(2025, 12, 9, 14, 0, 0));
    for (int i = 5; i + 8 <= trades->n; i += 8) {
        for (int k = 1; k < 8; k++)
            CU_ASSERT_STRING_EQUAL(unix_dates->f[i + k], trades->f[i + k]);
        CU_ASSERT_DOUBLE_EQUAL(strtod(bid->f[i + 4], NULL), strtod(trades->f[i + 4], NULL) - 0.01,
                               1e-9);
        CU_ASSERT_STRING_EQUAL(bid->f[i + 5], "-1");
    }
    t_frame_t first = t_copy(trades);
    env_stop();
    t_frame_t fresh = bars_with_seed(11);
    CU_ASSERT(same_bars(&first, &fresh));
    t_frame_free(&first);
    t_frame_free(&fresh);
}

/* A historical request of the sequence below. */
typedef struct t_hist {
    const char *symbol, *end, *bar_size, *duration, *rth, *what, *format_date;
} t_hist_t;

static void req_hist(t_client_t *c, const char *id, const t_hist_t *h)
{
    req_historical(c, id, h->symbol, "STK", h->end, h->bar_size, h->duration, h->rth, h->what,
                   h->format_date);
}

/* A session answers from the bars and text of its last answers for the
 * same symbol and format: spans grown by a bar, moved on by a day, moved
 * back, in the other format, for another whatToShow, another bar size, or
 * after more symbols than it keeps pushed a symbol out, each answer is the
 * one a fresh gateway gives. */
static void history_polled_in_turn_answers_as_a_fresh_gateway_would(void)
{
    static const t_hist_t reqs[] = {
        {"AAPL", "20251209 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251209 10:30:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251210 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251210 11:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251210 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "2"},
        {"MSFT", "20251210 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"IBM", "20251210 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"XOM", "20251210 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"GOOG", "20251210 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251210 10:30:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251210 10:30:00 US/Eastern", "30 mins", "3 D", "1", "BID", "1"},
        {"AAPL", "20251209 10:00:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
        {"AAPL", "20251209 10:00:00 US/Eastern", "30 mins", "2 D", "1", "TRADES", "1"},
        {"AAPL", "20251209 15:00:00 US/Eastern", "5 mins", "3600 S", "0", "TRADES", "1"},
        {"AAPL", "20251209 10:30:00 US/Eastern", "30 mins", "3 D", "1", "TRADES", "1"},
    };
    enum { N = sizeof reqs / sizeof reqs[0] };
    t_frame_t cold[N];
    char id[16];
    for (int i = 0; i < N; i++) {
        gwc_env_init(&T_ENV);
        gwc.cfg.market_seed = 11;
        gwc_env_start_gw();
        t_client_t *c = client_ready("1");
        req_hist(c, "3", &reqs[i]);
        gwc_run_ms(5);
        CU_ASSERT_PTR_NOT_NULL_FATAL(first(c, "17"));
        cold[i] = t_copy(first(c, "17"));
        env_stop();
    }
    gwc_env_init(&T_ENV);
    gwc.cfg.market_seed = 11;
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "%d", i + 3);
        req_hist(c, id, &reqs[i]);
        gwc_run_ms(5);
        CU_ASSERT_EQUAL_FATAL(count(c, "17"), i + 1);
        CU_ASSERT(same_bars(nth(c, "17", i), &cold[i]));
        t_frame_free(&cold[i]);
    }
    env_stop();
}

static void regular_hours_bars_lie_within_the_new_york_session(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    req_historical(c, "3", "AAPL", "STK", "", "30 mins", "2 D", "1", "TRADES", "2");
    req_historical(c, "4", "AAPL", "STK", "", "1 day", "1 W", "1", "TRADES", "1");
    gwc_run_ms(5);
    const t_frame_t *f = first(c, "17");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* Wednesday 09:25: the last two sessions are Monday and Tuesday. */
    CU_ASSERT_STRING_EQUAL(f->f[4], "26");
    for (int i = 5; i + 8 <= f->n; i += 8) {
        ny_civil_t t;
        ny_from_utc(strtoll(f->f[i], NULL, 10), &t);
        int minute = t.hour * 60 + t.minute;
        CU_ASSERT(t.weekday >= 1 && t.weekday <= 5);
        CU_ASSERT(minute >= 9 * 60 + 30 && minute < 16 * 60);
        CU_ASSERT(strtod(f->f[i + 2], NULL) >= strtod(f->f[i + 3], NULL)); /* high >= low */
    }
    const t_frame_t *d = nth(c, "17", 1);
    CU_ASSERT_STRING_EQUAL(d->f[4], "5");
    CU_ASSERT_STRING_EQUAL(d->f[5], "20251203");
    CU_ASSERT_STRING_EQUAL(d->f[5 + 4 * 8], "20251209");
    env_stop();
}

static void watchdog_eurusd_probe_gets_bars_even_on_a_saturday(void)
{
    gwc_env_init(&(gwc_opts_t){42, T_SATURDAY_WALL_S, 0, NULL, 1});
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    req_historical(c, "9", "EUR", "CASH", "", "5 secs", "30 S", "0", "MIDPOINT", "1");
    gwc_run_ms(5);
    const t_frame_t *f = first(c, "17");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(atoi(f->f[4]) >= 1);
    CU_ASSERT_STRING_EQUAL(f->f[4], "6");
    CU_ASSERT_STRING_EQUAL(f->f[5 + 5], "-1"); /* no volume for MIDPOINT */
    env_stop();
}

static void bad_historical_requests_get_their_gateway_errors(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    req_historical(c, "3", "AAPL", "STK", "", "7 mins", "1 D", "1", "TRADES", "1");
    req_historical(c, "4", "AAPL", "STK", "", "5 secs", "1 M", "0", "TRADES", "1");
    req_historical(c, "5", "AAPL", "STK", "", "5 mins", "1 D", "1", "ADJUSTED_LAST", "1");
    client_send(c, 3, "25", "1", "3");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(count(c, "17"), 0);
    CU_ASSERT_STRING_EQUAL(nth(c, "4", 0)->f[3], "321");
    CU_ASSERT_STRING_EQUAL(nth(c, "4", 1)->f[3], "162");
    CU_ASSERT_STRING_EQUAL(nth(c, "4", 2)->f[3], "321");
    CU_ASSERT_STRING_EQUAL(nth(c, "4", 3)->f[3], "366");
    env_stop();
}

/* ---- market data ------------------------------------------------------- */

static void streaming_ticks_come_every_second_until_cancelled(void)
{
    gwc_env_start(&T_ENV);
    io_stats_t before, during, after;
    io_loop_stats(gwc.loop, &before);
    t_client_t *c = client_ready("1");
    req_mkt_data(c, "5", "AAPL", "0");
    gwc_run_ms(3500);
    io_loop_stats(gwc.loop, &during);
    CU_ASSERT_EQUAL(during.timers, before.timers + 1);
    CU_ASSERT_EQUAL(count(c, "81"), 1);
    CU_ASSERT_EQUAL(count(c, "57"), 0);
    CU_ASSERT_EQUAL(count(c, "1"), 3 * 4);
    client_send(c, 3, "2", "2", "5");
    gwc_run_ms(5);
    size_t n = c->nframes;
    gwc_run_ms(3000);
    CU_ASSERT_EQUAL(c->nframes, n);
    client_send(c, 3, "2", "2", "5");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(c->frames[c->nframes - 1].f[3], "300");
    req_mkt_data(c, "6", "AAPL", "0");
    gwc_run_ms(5);
    io_stream_close(c->stream, IO_CLOSE_FIN); /* the session's timers go with it */
    c->stream = NULL;
    gwc_run_ms(5);
    io_loop_stats(gwc.loop, &after);
    CU_ASSERT_EQUAL(after.timers, before.timers);
    env_stop();
}

static void snapshot_answers_params_type_ticks_then_end(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    req_mkt_data(c, "5", "AAPL", "1");
    gwc_run_ms(2500);
    char ids[128];
    ids_of(c, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "81,58,1,1,1,2,57");
    double bid = strtod(nth(c, "1", 0)->f[4], NULL), ask = strtod(nth(c, "1", 1)->f[4], NULL);
    CU_ASSERT(bid < ask);
    env_stop();
}

/* ---- orders ------------------------------------------------------------ */

static void market_order_fills_at_the_market_and_moves_the_position(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.positions[0] = (gw_position_t){"DU1234567", "AAPL", 10, 150};
    gwc.cfg.npositions = 1;
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    place_order(c, "1", "AAPL", "BUY", "5", "MKT", "");
    gwc_run_ms(5);
    char ids[128];
    ids_of(c, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "5,3,11,5,3,59");
    CU_ASSERT_STRING_EQUAL(nth(c, "3", 0)->f[2], "Submitted");
    const t_frame_t *filled = nth(c, "3", 1), *exec = first(c, "11"), *comm = first(c, "59");
    CU_ASSERT_STRING_EQUAL(filled->f[2], "Filled");
    CU_ASSERT_STRING_EQUAL(filled->f[3], "5");
    CU_ASSERT_STRING_EQUAL(filled->f[4], "0");
    CU_ASSERT_STRING_EQUAL(exec->f[1], "-1");
    CU_ASSERT_STRING_EQUAL(exec->f[18], "BOT");
    CU_ASSERT_STRING_EQUAL(exec->f[14], comm->f[2]); /* the same execId */
    CU_ASSERT_STRING_EQUAL(exec->f[20], filled->f[5]); /* price = avgFillPrice */
    gw_market_t *m = gw_mkt_new(&gwc.cfg);
    char price[32];
    snprintf(price, sizeof price, "%g", gw_mkt_price(m, "AAPL", wall_s()));
    gw_mkt_free(m);
    CU_ASSERT_STRING_EQUAL(exec->f[20], price);
    client_clear(c);
    client_send(c, 2, "61", "1");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(first(c, "61")->f[14], "15");
    env_stop();
}

static void limit_order_rests_then_cancel_gives_cancelled_and_202(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    place_order(c, "1", "AAPL", "BUY", "5", "LMT", "1.00");
    gwc_run_ms(5000);
    char ids[128];
    ids_of(c, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "5,3");
    client_clear(c);
    client_send(c, 4, "4", "1", "1", "");
    client_send(c, 2, "5", "1");
    gwc_run_ms(5);
    ids_of(c, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "3,4,53");
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[2], "Cancelled");
    CU_ASSERT_STRING_EQUAL(c->frames[1].f[2], "1");
    CU_ASSERT_STRING_EQUAL(c->frames[1].f[3], "202");
    client_clear(c);
    client_send(c, 4, "4", "1", "1", "");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[3], "10147");
    env_stop();
}

/* A BUY limit at the lowest price of the next ten minutes rests now and is
 * filled by the one-second check when the market gets there. */
static void resting_limit_order_fills_when_the_market_crosses_it(void)
{
    gwc_env_start(&T_ENV);
    gw_market_t *m = gw_mkt_new(&gwc.cfg);
    int64_t now = wall_s();
    double low = gw_mkt_price(m, "AAPL", now);
    int64_t when = now;
    for (int64_t t = now + 1; t < now + 600; t++) {
        if (gw_mkt_price(m, "AAPL", t) < low) {
            low = gw_mkt_price(m, "AAPL", t);
            when = t;
        }
    }
    gw_mkt_free(m);
    CU_ASSERT_FATAL(when > now + 2);
    char lmt[32];
    snprintf(lmt, sizeof lmt, "%.2f", low);
    t_client_t *c = client_ready("1");
    place_order(c, "1", "AAPL", "BUY", "5", "LMT", lmt);
    gwc_run_ms(1000);
    CU_ASSERT_EQUAL(count(c, "11"), 0);
    gwc_run_ms((when - wall_s() + 2) * 1000);
    CU_ASSERT_EQUAL(count(c, "11"), 1);
    CU_ASSERT_DOUBLE_EQUAL(strtod(first(c, "11")->f[20], NULL), low, 1e-9);
    env_stop();
}

static void global_cancel_cancels_every_clients_working_orders(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *a = client_ready("1"), *b = client_ready("2");
    place_order(a, "1", "AAPL", "BUY", "5", "LMT", "1");
    place_order(b, "1", "MSFT", "BUY", "5", "LMT", "1");
    gwc_run_ms(5);
    client_send(a, 2, "16", "1");
    client_send(b, 2, "5", "1");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(count(a, "5"), 3); /* its own, then both in reqAllOpenOrders */
    CU_ASSERT_EQUAL(count(b, "5"), 2); /* its own, then its own in reqOpenOrders */
    client_clear(a);
    client_clear(b);
    client_send(a, 2, "58", "1");
    gwc_run_ms(5);
    char ids[64];
    ids_of(a, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "3,4");
    ids_of(b, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "3,4");
    CU_ASSERT_STRING_EQUAL(b->frames[1].f[3], "202");
    client_clear(a);
    client_send(a, 2, "99", "0");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(count(a, "101"), 2);
    env_stop();
}

static void order_id_at_or_below_a_used_one_gets_103(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    place_order(c, "5", "AAPL", "BUY", "1", "MKT", "");
    gwc_run_ms(5);
    client_clear(c);
    place_order(c, "5", "AAPL", "BUY", "1", "MKT", "");
    place_order(c, "3", "AAPL", "BUY", "1", "MKT", "");
    client_send(c, 3, "8", "1", "1");
    gwc_run_ms(5);
    char ids[64];
    ids_of(c, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "4,4,9");
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[2], "5");
    CU_ASSERT_STRING_EQUAL(c->frames[0].f[3], "103");
    CU_ASSERT_STRING_EQUAL(c->frames[1].f[3], "103");
    CU_ASSERT_STRING_EQUAL(c->frames[2].f[2], "6");
    env_stop();
}

static void placing_a_working_order_again_modifies_it(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    place_order(c, "1", "AAPL", "BUY", "5", "LMT", "1");
    place_order(c, "1", "AAPL", "BUY", "7", "LMT", "2");
    place_order(c, "2", "AAPL", "BUY", "1", "STP", "2");
    client_send(c, 2, "5", "1");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(nth(c, "5", 1)->f[14], "7");
    CU_ASSERT_STRING_EQUAL(nth(c, "5", 1)->f[16], "2");
    CU_ASSERT_STRING_EQUAL(first(c, "4")->f[3], "387");
    CU_ASSERT_EQUAL(count(c, "5"), 3); /* placed, modified, one working in the list */
    env_stop();
}

static void executions_are_filtered_and_repeat_the_fill_commission(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    place_order(c, "1", "AAPL", "BUY", "1", "MKT", "");
    place_order(c, "2", "MSFT", "SELL", "1", "MKT", "");
    gwc_run_ms(5);
    client_clear(c);
    client_send(c, 10, "7", "3", "4", "0", "", "", "MSFT", "", "", "");
    client_send(c, 10, "7", "3", "5", "0", "", "", "", "", "", "BUY");
    client_send(c, 10, "7", "3", "6", "0", "", "", "", "", "", "");
    gwc_run_ms(5);
    char ids[128];
    ids_of(c, ids, sizeof ids);
    CU_ASSERT_STRING_EQUAL(ids, "11,59,55,11,59,55,11,59,11,59,55");
    CU_ASSERT_STRING_EQUAL(nth(c, "11", 0)->f[1], "4");
    CU_ASSERT_STRING_EQUAL(nth(c, "11", 0)->f[4], "MSFT");
    CU_ASSERT_STRING_EQUAL(nth(c, "11", 0)->f[18], "SLD");
    CU_ASSERT_STRING_EQUAL(nth(c, "11", 1)->f[4], "AAPL");
    env_stop();
}

/* What ib_insync sends right after connecting, all at once: each request
 * is answered at once, ends included. */
static void ib_insync_startup_requests_are_all_answered_promptly(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("1");
    client_send(c, 2, "61", "1");
    client_send(c, 2, "5", "1");
    client_send(c, 2, "99", "0");
    client_send(c, 4, "6", "2", "1", "DU1234567");
    client_send(c, 6, "76", "1", "3", "DU1234567", "", "1");
    client_send(c, 10, "7", "3", "4", "1", "", "", "", "", "", "");
    gwc_run_ms(2);
    static const char *const ends[] = {"62", "53", "102", "54", "74", "55"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        CU_ASSERT_EQUAL(count(c, ends[i]), 1);
    env_stop();
}

static void account_requests_check_their_account_and_client(void)
{
    gwc_env_start(&T_ENV);
    t_client_t *c = client_ready("3");
    client_send(c, 4, "6", "2", "1", "DU999");
    client_send(c, 3, "15", "1", "1");
    client_send(c, 3, "59", "1", "3");
    req_mkt_data(c, "5", "AAPL", "1");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(nth(c, "4", 0)->f[3], "321");
    CU_ASSERT_STRING_EQUAL(nth(c, "4", 1)->f[3], "327");
    CU_ASSERT_STRING_EQUAL(first(c, "58")->f[3], "3"); /* the type asked for */
    CU_ASSERT_EQUAL(count(c, "6"), 0);
    env_stop();
}

/* ---- market ------------------------------------------------------------ */

static void prices_are_a_pure_function_of_seed_symbol_and_time(void)
{
    gw_config_t cfg, other;
    gw_config_defaults(&cfg);
    cfg.market_seed = 5;
    cfg.prices[0] = (gw_price_t){"EURUSD", 1.08};
    cfg.nprices = 1;
    other = cfg;
    other.market_seed = 6;
    gw_market_t *a = gw_mkt_new(&cfg), *b = gw_mkt_new(&cfg), *o = gw_mkt_new(&other);
    int differs = 0;
    for (int64_t t = GWC_START_WALL_S; t < GWC_START_WALL_S + 3600; t += 60) {
        CU_ASSERT_EQUAL(gw_mkt_price(a, "AAPL", t), gw_mkt_price(b, "AAPL", t));
        differs += gw_mkt_price(a, "AAPL", t) != gw_mkt_price(o, "AAPL", t);
        CU_ASSERT(gw_mkt_price(a, "EURUSD", t) > 0.5 && gw_mkt_price(a, "EURUSD", t) < 2);
    }
    CU_ASSERT(differs > 0);
    CU_ASSERT_EQUAL(gw_mkt_min_tick(a, "EURUSD"), 0.0001);
    gw_mkt_contract_t c = {.symbol = "EUR", .sec_type = "CASH", .currency = "USD"};
    CU_ASSERT_EQUAL(gw_mkt_contract_resolve(&c), 0);
    CU_ASSERT_STRING_EQUAL(c.key, "EURUSD");
    gw_mkt_contract_t opt = {.symbol = "AAPL", .sec_type = "OPT"};
    CU_ASSERT_EQUAL(gw_mkt_contract_resolve(&opt), IO_ERR_INVAL);
    gw_mkt_free(a);
    gw_mkt_free(b);
    gw_mkt_free(o);
}

static int bars_equal(const gw_mkt_bar_t *a, const gw_mkt_bar_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].start_s != b[i].start_s || a[i].daily != b[i].daily || a[i].open != b[i].open ||
            a[i].high != b[i].high || a[i].low != b[i].low || a[i].close != b[i].close ||
            a[i].volume != b[i].volume || a[i].wap != b[i].wap || a[i].count != b[i].count)
            return 0;
    return 1;
}

/* Bars come from a cache keyed by series and from a walk shared by the
 * bars of one request: whatever a market answered before, the bars must be
 * those of a fresh market, and their open and close the price function's
 * (a key too long for the cache and a sub-$10 tick included). */
static void bars_are_the_same_from_a_warm_cache_as_from_a_cold_one(void)
{
    static const char *const keys[] = {"AAPL", "PENNY", "EURUSD",
                                       "A_KEY_LONGER_THAN_THE_CACHE_KEEPS"};
    static const char *const whats[] = {"TRADES", "MIDPOINT", "BID", "ASK"};
    static const char *const sizes[] = {"30 mins", "1 min", "1 day"};
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.market_seed = 11;
    cfg.prices[0] = (gw_price_t){"PENNY", 4.2};
    cfg.nprices = 1;
    gw_market_t *warm = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(warm);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            for (size_t w = 0; w < sizeof whats / sizeof whats[0]; w++) {
                for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                    gw_mkt_query_t q;
                    char err[200];
                    CU_ASSERT_EQUAL_FATAL(gw_mkt_parse_query("20251210 15:00:00 US/Eastern",
                                                             sizes[z], "2 D", whats[w], z != 1,
                                                             0, &q, err, sizeof err),
                                          0);
                    gw_market_t *cold = gw_mkt_new(&cfg);
                    gw_mkt_bar_t *a, *b;
                    size_t na, nb;
                    int64_t sa, sb;
                    CU_ASSERT_EQUAL_FATAL(
                        gw_mkt_bars(warm, keys[k], &q, &a, &na, &sa, err, sizeof err), 0);
                    CU_ASSERT_EQUAL_FATAL(
                        gw_mkt_bars(cold, keys[k], &q, &b, &nb, &sb, err, sizeof err), 0);
                    CU_ASSERT(na > 0 && na == nb && sa == sb);
                    CU_ASSERT(bars_equal(a, b, na < nb ? na : nb));
                    if (w == 1 && na > 0 && !a[0].daily) { /* MIDPOINT: no shift */
                        int64_t len = na > 1 ? a[1].start_s - a[0].start_s : 60;
                        CU_ASSERT_EQUAL(a[0].open, gw_mkt_price(cold, keys[k], a[0].start_s));
                        CU_ASSERT_EQUAL(a[0].close,
                                        gw_mkt_price(cold, keys[k], a[0].start_s + len - 1));
                    }
                    free(a);
                    free(b);
                    gw_mkt_free(cold);
                }
            }
        }
    }
    gw_mkt_free(warm);
}

/* The market keeps the walks of the last few symbols from request to
 * request: more symbols than it keeps, asked about in turn, at times going
 * back and forth, under a seed that changes while the market lives, must
 * still get the bars of a fresh market. */
static void bars_are_the_same_when_kept_walks_turn_over_and_the_seed_changes(void)
{
    static const char *const ends[] = {"20251210 15:00:00 US/Eastern", "20250303 11:00:00 US/Eastern",
                                       "20251211 10:30:00 US/Eastern", "20251210 12:00:00 US/Eastern"};
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.market_seed = 3;
    gw_market_t *warm = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(warm);
    for (int round = 0; round < 3; round++) {
        cfg.market_seed = round == 2 ? 4 : 3;
        for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
            for (int k = 0; k < 12; k++) {
                char key[8];
                snprintf(key, sizeof key, "SYM%d", (k * 5 + round) % 12);
                gw_mkt_query_t q;
                char err[200];
                CU_ASSERT_EQUAL_FATAL(gw_mkt_parse_query(ends[e], "30 mins", "3 D", "TRADES", 1,
                                                         0, &q, err, sizeof err),
                                      0);
                gw_market_t *cold = gw_mkt_new(&cfg);
                gw_mkt_bar_t *a, *b;
                size_t na, nb;
                int64_t sa, sb;
                CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(warm, key, &q, &a, &na, &sa, err, sizeof err), 0);
                CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(cold, key, &q, &b, &nb, &sb, err, sizeof err), 0);
                CU_ASSERT(na > 0 && na == nb && sa == sb);
                CU_ASSERT(bars_equal(a, b, na < nb ? na : nb));
                free(a);
                free(b);
                gw_mkt_free(cold);
            }
        }
    }
    gw_mkt_free(warm);
}

/* The market keeps each series' last bars: a span grown by a bar, moved
 * on by a day, moved back, cut shorter, under a start price or seed that
 * changes while the market lives (-0 included), in another bar size or as
 * daily bars, must still get the bars of a fresh market. */
static void bars_polled_in_turn_are_those_of_a_fresh_market_as_the_config_changes(void)
{
    static const struct {
        const char *end, *size, *duration;
        double price;
        uint64_t seed;
    } asks[] = {
        {"20251209 10:00:00 US/Eastern", "30 mins", "3 D", 190, 3},
        {"20251209 10:30:00 US/Eastern", "30 mins", "3 D", 190, 3},
        {"20251210 10:00:00 US/Eastern", "30 mins", "3 D", 190, 3},
        {"20251210 10:00:00 US/Eastern", "30 mins", "3 D", 191, 3},
        {"20251210 10:00:00 US/Eastern", "30 mins", "3 D", 191, 4},
        {"20251208 15:00:00 US/Eastern", "30 mins", "3 D", 191, 4},
        {"20251210 10:30:00 US/Eastern", "30 mins", "1 D", 191, 4},
        {"20251210 10:30:00 US/Eastern", "1 hour", "3 D", 191, 4},
        {"20251210 10:30:00 US/Eastern", "1 day", "1 W", 191, 4},
        {"20251211 10:30:00 US/Eastern", "1 day", "1 W", 191, 4},
        {"20251211 10:30:00 US/Eastern", "1 day", "1 W", 0.0, 4},
        {"20251211 10:30:00 US/Eastern", "1 day", "1 W", -0.0, 4},
    };
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.nprices = 1;
    gw_market_t *warm = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(warm);
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        cfg.prices[0] = (gw_price_t){"AAPL", asks[i].price};
        cfg.market_seed = asks[i].seed;
        for (int what = 0; what < 4; what += 2) { /* TRADES, then BID */
            gw_mkt_query_t q;
            char err[200];
            CU_ASSERT_EQUAL_FATAL(gw_mkt_parse_query(asks[i].end, asks[i].size, asks[i].duration,
                                                     what ? "BID" : "TRADES", 1, 0, &q, err,
                                                     sizeof err),
                                  0);
            gw_market_t *cold = gw_mkt_new(&cfg);
            gw_mkt_bar_t *a, *b;
            size_t na, nb;
            int64_t sa, sb;
            CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(warm, "AAPL", &q, &a, &na, &sa, err, sizeof err), 0);
            CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(cold, "AAPL", &q, &b, &nb, &sb, err, sizeof err), 0);
            CU_ASSERT(na > 0 && na == nb && sa == sb);
            CU_ASSERT(bars_equal(a, b, na < nb ? na : nb));
            for (size_t k = 0; k < na && k < nb; k++) /* -0 is not 0 on the wire */
                CU_ASSERT(signbit(a[k].open) == signbit(b[k].open) &&
                          signbit(a[k].close) == signbit(b[k].close));
            free(a);
            free(b);
            gw_mkt_free(cold);
        }
    }
    gw_mkt_free(warm);
}

/* Serials name a bar's value within one market: the bars a series keeps
 * from one answer to the next keep theirs, a bar built anew (a new bar at
 * the end, another seed or whatToShow) gets one never given before, and
 * none is 0. A caller comparing bars by serial alone relies on that. */
static void bar_serials_are_kept_with_the_bar_and_new_for_a_new_value(void)
{
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.market_seed = 5;
    gw_market_t *m = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static const char *const ends[] = {"20251209 10:00:00 US/Eastern",
                                       "20251209 10:30:00 US/Eastern"};
    gw_mkt_bar_t *bars[4];
    size_t n[4];
    for (int i = 0; i < 4; i++) {
        gw_mkt_query_t q;
        char err[200];
        int64_t start;
        if (i == 2)
            cfg.market_seed = 6; /* every bar has another value */
        CU_ASSERT_EQUAL_FATAL(gw_mkt_parse_query(ends[i % 2], "30 mins", "3 D",
                                                 i == 3 ? "BID" : "TRADES", 1, 0, &q, err,
                                                 sizeof err),
                              0);
        CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(m, "AAPL", &q, &bars[i], &n[i], &start, err, sizeof err),
                              0);
        CU_ASSERT_FATAL(n[i] > 1);
    }
    /* The span grown by one bar: all but the new last bar are kept. */
    CU_ASSERT_EQUAL_FATAL(n[1], n[0] + 1);
    size_t shift = 0;
    while (shift < n[1] && bars[1][shift].start_s != bars[0][0].start_s)
        shift++;
    CU_ASSERT_EQUAL_FATAL(shift, 0);
    for (size_t k = 0; k < n[0]; k++)
        CU_ASSERT_EQUAL(bars[1][k].serial, bars[0][k].serial);
    /* Every serial given is distinct, and none is 0. */
    uint64_t seen[4 * 64];
    size_t nseen = 0;
    for (int i = 0; i < 4; i++) {
        for (size_t k = 0; k < n[i]; k++) {
            uint64_t sn = bars[i][k].serial;
            CU_ASSERT_NOT_EQUAL(sn, 0);
            int dup = 0;
            for (size_t j = 0; j < nseen; j++)
                dup |= seen[j] == sn;
            CU_ASSERT_EQUAL(dup, i == 1 && k < n[0]); /* only the kept ones repeat */
            if (!dup && nseen < sizeof seen / sizeof seen[0])
                seen[nseen++] = sn;
        }
    }
    for (int i = 0; i < 4; i++)
        free(bars[i]);
    gw_mkt_free(m);
}

/* A walk kept from bar to bar moves only the octaves whose interval
 * changed (the fast ones below the highest bit of the time's index that
 * moved), takes an interval's start from the last one's end when it moves
 * on by one, and works its terms two at a time: bars of 1 and 5 seconds
 * (every step one interval on), minutes, times before 1970 and going back,
 * must give the prices of a fresh walk, bar by bar. */
static void kept_walks_give_the_prices_of_a_fresh_walk_at_any_step(void)
{
    static const struct {
        const char *end, *size, *duration;
    } asks[] = {
        {"19700101 00:10:00 UTC", "1 secs", "1800 S"},   /* from before 1970 */
        {"19700101 00:10:00 UTC", "5 secs", "1800 S"},
        {"20251210 15:00:00 US/Eastern", "5 secs", "3600 S"},
        {"20251210 15:00:00 US/Eastern", "1 min", "1 D"},
        {"20250303 11:00:00 US/Eastern", "30 mins", "2 D"}, /* back by months */
        {"20251210 14:00:00 US/Eastern", "1 secs", "600 S"},
        {"20351210 14:00:00 US/Eastern", "3 hours", "1 W"},
    };
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.market_seed = 9;
    gw_market_t *warm = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(warm);
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        gw_mkt_query_t q;
        char err[200];
        CU_ASSERT_EQUAL_FATAL(gw_mkt_parse_query(asks[i].end, asks[i].size, asks[i].duration,
                                                 "MIDPOINT", 0, 0, &q, err, sizeof err),
                              0);
        gw_market_t *cold = gw_mkt_new(&cfg);
        gw_mkt_bar_t *a, *b;
        size_t na, nb;
        int64_t sa, sb;
        CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(warm, "AAPL", &q, &a, &na, &sa, err, sizeof err), 0);
        CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(cold, "AAPL", &q, &b, &nb, &sb, err, sizeof err), 0);
        CU_ASSERT(na > 0 && na == nb && sa == sb && bars_equal(a, b, na < nb ? na : nb));
        if (i == 0)
            CU_ASSERT(a[0].start_s < 0);
        for (size_t k = 0; k < na; k++) {
            int64_t len = q.bar_s;
            CU_ASSERT_EQUAL(a[k].open, gw_mkt_price(cold, "AAPL", a[k].start_s));
            CU_ASSERT_EQUAL(a[k].close, gw_mkt_price(cold, "AAPL", a[k].start_s + len - 1));
            CU_ASSERT(a[k].high >= fmax(a[k].open, a[k].close));
            CU_ASSERT(a[k].low <= fmin(a[k].open, a[k].close));
        }
        free(a);
        free(b);
        gw_mkt_free(cold);
    }
    gw_mkt_free(warm);
}

/* FNV-1a step over the bits of a double. */
static uint64_t digest_double(uint64_t h, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (h ^ bits) * 1099511628211ull;
}

/* Prices around the ends of the octaves' intervals (5 * 2^k seconds,
 * where the low bits of floor(t / 5) wrap), before 1970, around 2038 and
 * far off, and the bars of kept walks crossing such ends, as one digest. */
static uint64_t walk_digest(const gw_market_t *m, const char *key)
{
    static const int64_t centres[] = {
        0, 5 * 512, 5 * (INT64_C(1) << 20), -5 * (INT64_C(1) << 20), 5 * (INT64_C(1) << 21) * 3,
        5 * (INT64_C(1) << 30) * 7, INT32_MAX, INT32_MIN, 1735700000, 4102444800, -1000000000,
        INT64_C(5000000000000), -INT64_C(5000000000000),
    };
    uint64_t h = 1469598103934665603ull;
    for (size_t c = 0; c < sizeof centres / sizeof centres[0]; c++) {
        for (int64_t d = -12; d <= 12; d++)
            h = digest_double(h, gw_mkt_price(m, key, centres[c] + d));
        if (centres[c] < 0 || centres[c] > 4102444800)
            continue; /* bars: a span the date arithmetic takes */
        gw_mkt_query_t q = {.end_s = centres[c] + 300, .bar_s = 1, .dur_n = 600, .dur_unit = 'S',
                            .what = GW_MKT_MIDPOINT};
        gw_mkt_bar_t *b;
        size_t n;
        int64_t start;
        char err[200];
        if (gw_mkt_bars(m, key, &q, &b, &n, &start, err, sizeof err) != 0)
            return 0;
        for (size_t i = 0; i < n; i++)
            h = digest_double(digest_double(h, b[i].open), b[i].close);
        free(b);
    }
    return h;
}

/* The walk's terms take each octave's time within its interval from the
 * low bits of floor(t / 5), four octaves at a time, and keep its points
 * times 2^52 and amplitudes times 2^-52. From a start price of 10^12 a
 * cent is 10^-14 of the price, so a sum one bit off shows: the digest of
 * prices and bars around interval ends, before 1970, around 2038 and far
 * off must be the one the walk gave before (taken from the market.c of
 * commit 8bdb2ae). */
static void prices_keep_every_bit_at_interval_ends_before_1970_and_far_off(void)
{
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.market_seed = 3;
    cfg.prices[0] = (gw_price_t){"BIG", 1e12};
    cfg.nprices = 1;
    gw_market_t *m = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(walk_digest(m, "BIG"), 0x70a2a387dbcedc0aull);
    gw_mkt_free(m);
}

/* Bar prices are rounded to ticks without libm's round, and high and low
 * kept without fmax and fmin: a trade bar's WAP (thirds of a tick), and
 * the bid of a price near half a tick or zero (halves, and below zero)
 * must be what round gives, and high and low the extremes. */
static void bar_prices_round_as_libm_does_at_halves_thirds_and_below_zero(void)
{
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.market_seed = 4;
    gw_market_t *m = gw_mkt_new(&cfg); /* TINY's walk level in those days (from 100) */
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    double level = gw_mkt_price(m, "TINY", 1765400000 - 3 * 86400) / 100.0;
    gw_mkt_free(m);
    cfg.prices[0] = (gw_price_t){"TINY", 0.00005 / level}; /* about half a tick */
    cfg.nprices = 1;
    m = gw_mkt_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static const enum gw_mkt_what whats[] = {GW_MKT_TRADES, GW_MKT_MIDPOINT, GW_MKT_BID};
    static const char *const keys[] = {"AAPL", "TINY"};
    for (size_t k = 0; k < 2; k++) {
        double scale = k ? 10000.0 : 100.0;
        gw_mkt_bar_t *b[3];
        size_t n[3];
        for (size_t w = 0; w < 3; w++) {
            gw_mkt_query_t q = {.end_s = 1765400000, .bar_s = 1800, .dur_n = 5, .dur_unit = 'D',
                                .what = whats[w]};
            int64_t start;
            char err[200];
            CU_ASSERT_EQUAL_FATAL(gw_mkt_bars(m, keys[k], &q, &b[w], &n[w], &start, err, sizeof err), 0);
        }
        CU_ASSERT_FATAL(n[0] > 100 && n[0] == n[1] && n[1] == n[2]);
        int zero = 0, below = 0;
        for (size_t i = 0; i < n[0]; i++) {
            const gw_mkt_bar_t *t = &b[0][i], *mid = &b[1][i], *bid = &b[2][i];
            CU_ASSERT_EQUAL(t->wap, round((t->high + t->low + t->close) / 3.0 * scale) / scale);
            const double *mp = &mid->open, *bp = &bid->open; /* open, high, low, close */
            for (int f = 0; f < 4; f++) {
                CU_ASSERT_EQUAL(bp[f], round((mp[f] - 1.0 / scale) * scale) / scale);
                zero += mp[f] == 0.0;
                below += bp[f] < 0.0;
            }
            CU_ASSERT(mid->high >= fmax(mid->open, mid->close) && mid->low <= fmin(mid->open, mid->close));
        }
        if (k) /* the tiny price rounds both ways */
            CU_ASSERT(zero > 0 && zero < (int)(4 * n[1]) && below == zero);
        for (size_t w = 0; w < 3; w++)
            free(b[w]);
    }
    gw_mkt_free(m);
}

/* Bar dates are written two digits at a time, without printf: every
 * instant (both sides of each DST change, midnight, the ends of a year,
 * years 1000 and 9999, before 1970) reads as printf writes it, and years
 * of other widths still go through printf. */
static void bar_dates_read_as_printf_writes_them(void)
{
    static const int64_t from[] = {0,           -86400 * 365LL, 1741503600 - 7200,
                                   1762063200 - 7200, 1767225600 - 7200,
                                   -30610224000LL - 86400, 253402300799LL - 86400 * 3};
    int checked = 0;
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        for (int64_t t = from[i]; t < from[i] + 4 * 3600 + 86400 * 3; t += 599) {
            ny_civil_t c;
            char want[64], got[40];
            ny_from_utc(t, &c);
            snprintf(want, sizeof want, "%04d%02d%02d %02d:%02d:%02d US/Eastern", c.year,
                     c.month, c.day, c.hour, c.minute, c.second);
            gw_mkt_format_date(t, 0, 1, got);
            CU_ASSERT_STRING_EQUAL(got, want);
            checked++;
        }
    }
    CU_ASSERT(checked > 1000);
    static const int years[] = {0, 999, 10000};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        char got[40], want[64];
        int64_t t = ny_days_from_civil(years[i], 1, 1) * 86400 + 5 * 3600; /* midnight EST */
        gw_mkt_format_date(t, 0, 1, got);
        snprintf(want, sizeof want, "%04d0101 00:00:00 US/Eastern", years[i]);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
}

/* Bar dates are New York wall time, in the Gateway's words: around
 * midnight and on both sides of the 2025 DST switches, a day asked again
 * after others; daily bars and formatDate 2 as the Gateway writes them. */
static void bar_dates_are_new_york_wall_time_around_midnight_and_dst(void)
{
    static const struct {
        int64_t t;
        const char *want;
    } cases[] = {
        {1765342800, "20251210 00:00:00 US/Eastern"},      /* EST midnight */
        {1765342800 - 1, "20251209 23:59:59 US/Eastern"},
        {1765342800 + 86399, "20251210 23:59:59 US/Eastern"},
        {1741503600 - 1, "20250309 01:59:59 US/Eastern"},  /* spring forward */
        {1741503600, "20250309 03:00:00 US/Eastern"},
        {1762063200 - 1, "20251102 01:59:59 US/Eastern"},  /* fall back: 01:xx twice */
        {1762063200, "20251102 01:00:00 US/Eastern"},
        {1762063200 + 3600, "20251102 02:00:00 US/Eastern"},
        {1765342800, "20251210 00:00:00 US/Eastern"},      /* again, after other days */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[40];
        gw_mkt_format_date(cases[i].t, 0, 1, got);
        CU_ASSERT_STRING_EQUAL(got, cases[i].want);
    }
    char got[40];
    gw_mkt_format_date(1765342800, 1, 1, got);
    CU_ASSERT_STRING_EQUAL(got, "20251210");
    gw_mkt_format_date(1765342800, 0, 2, got);
    CU_ASSERT_STRING_EQUAL(got, "1765342800");
}

/* Durations in the plain "<n> <unit>" form and every other form sscanf's
 * "%9d %c" takes (or refuses) must read the same. */
static void durations_read_as_sscanf_reads_them(void)
{
    static const struct {
        const char *text;
        int ok, n;
        char unit;
    } cases[] = {
        {"30 D", 1, 30, 'D'},     {"1 Y", 1, 1, 'Y'},         {"3600 S", 1, 3600, 'S'},
        {"007 W", 1, 7, 'W'},     {"999999999 S", 1, 999999999, 'S'},
        {" 2 D", 1, 2, 'D'},      {"2  D", 1, 2, 'D'},        {"2D", 1, 2, 'D'},
        {"+2 M", 1, 2, 'M'},      {"2\tD", 1, 2, 'D'},        {"0 D", 0, 0, 0},
        {"-1 D", 0, 0, 0},        {"2 X", 0, 0, 0},           {"2 d", 0, 0, 0},
        {"2 D ", 0, 0, 0},        {"2 DD", 0, 0, 0},          {"2 ", 0, 0, 0},
        {"1234567890 D", 0, 0, 0}, {"D", 0, 0, 0},            {"", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_mkt_query_t q;
        char err[200] = "";
        int rc = gw_mkt_parse_query("", "1 min", cases[i].text, "TRADES", 0, GWC_START_WALL_S, &q,
                                    err, sizeof err);
        CU_ASSERT_EQUAL(rc, cases[i].ok ? 0 : IO_ERR_INVAL);
        if (cases[i].ok && rc == 0) {
            CU_ASSERT_EQUAL(q.dur_n, cases[i].n);
            CU_ASSERT_EQUAL(q.dur_unit, cases[i].unit);
        } else if (!cases[i].ok) {
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad duration"));
        }
        if ((rc == 0) != cases[i].ok)
            fprintf(stderr, "\n  duration \"%s\": rc %d\n", cases[i].text, rc);
    }
}

/* ---- config ------------------------------------------------------------ */

static int load(const char *json, gw_config_t *cfg, char *err, size_t errlen)
{
    cJSON *root = cJSON_Parse(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    int rc = gw_config_from_json(root, cfg, "gateway", err, errlen);
    cJSON_Delete(root); /* the config keeps copies */
    return rc;
}

static void config_reads_every_key_of_the_gateway_object(void)
{
    gw_config_t cfg;
    char err[256] = "";
    gw_config_defaults(&cfg);
    int rc = load("{\"server_version\": 176, \"accounts\": [\"DU1\", \"DU2\"], \"port\": 0,"
                  " \"positions\": [{\"account\": \"DU2\", \"symbol\": \"AAPL\", \"qty\": -3,"
                  " \"avg_cost\": 150.5}, {\"account\": \"DU1\", \"symbol\": \"MSFT\","
                  " \"qty\": 2}], \"prices\": {\"AAPL\": 190.25}, \"market_seed\": 99,"
                  " \"daily_restart\": {\"at\": \"23:45\", \"down_for\": \"3m\"}}",
                  &cfg, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(cfg.server_version_max, 176);
    CU_ASSERT_EQUAL(cfg.naccounts, 2);
    CU_ASSERT_STRING_EQUAL(cfg.accounts[1], "DU2");
    CU_ASSERT_EQUAL(cfg.port, 0);
    CU_ASSERT_EQUAL(cfg.npositions, 2);
    CU_ASSERT_STRING_EQUAL(cfg.positions[0].account, "DU2");
    CU_ASSERT_STRING_EQUAL(cfg.positions[0].symbol, "AAPL");
    CU_ASSERT_EQUAL(cfg.positions[0].qty, -3);
    CU_ASSERT_EQUAL(cfg.positions[0].avg_cost, 150.5);
    CU_ASSERT_EQUAL(cfg.positions[1].avg_cost, 0);
    CU_ASSERT_EQUAL(cfg.nprices, 1);
    CU_ASSERT_STRING_EQUAL(cfg.prices[0].symbol, "AAPL");
    CU_ASSERT_EQUAL(cfg.market_seed, 99);
    CU_ASSERT_EQUAL(cfg.daily_restart_min, 23 * 60 + 45);
    CU_ASSERT_EQUAL(cfg.daily_restart_down_us, 3 * 60 * IO_US_PER_S);
    /* A second object adds to the first; its strings are owned too. */
    CU_ASSERT_EQUAL(load("{\"prices\": {\"MSFT\": 400}}", &cfg, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.accounts[0], "DU1");
    CU_ASSERT_STRING_EQUAL(cfg.prices[0].symbol, "MSFT");
    gw_config_release(&cfg);
    CU_ASSERT_PTR_NULL(cfg.owned);
}

static void config_errors_name_the_json_path(void)
{
    static const struct {
        const char *json, *error;
    } bad[] = {
        {"[]", "gateway: expected an object, got an array"},
        {"{\"colour\": 1}", "gateway.colour: unknown key"},
        {"{\"port\": 1, \"port\": 2}", "gateway.port: duplicate key"},
        {"{\"server_version\": 179}", "gateway.server_version: 179 is out of range [1, 178]"},
        {"{\"server_version\": 170.5}", "gateway.server_version: expected an integer, got 170.5"},
        {"{\"port\": \"4002\"}", "gateway.port: expected an integer, got a string"},
        {"{\"accounts\": []}", "gateway.accounts: expected 1 to 8 accounts, got 0"},
        {"{\"accounts\": [\"A\", 7]}", "gateway.accounts[1]: expected a string, got a number"},
        {"{\"accounts\": [\"A,B\"]}", "gateway.accounts[0]: an account name must not hold a comma"},
        {"{\"positions\": {}}", "gateway.positions: expected an array, got an object"},
        {"{\"positions\": [{\"account\": \"DU1234567\", \"symbol\": \"A\", \"qty\": 1},"
         " {\"account\": \"DU1234567\", \"symbol\": \"B\", \"qty\": \"x\"}]}",
         "gateway.positions[1].qty: expected a number, got a string"},
        {"{\"positions\": [{\"account\": \"DU1234567\", \"qty\": 1}]}",
         "gateway.positions[0].symbol: missing"},
        {"{\"positions\": [{\"account\": \"XX\", \"symbol\": \"A\", \"qty\": 1}]}",
         "gateway.positions[0].account: \"XX\" is not one of the accounts"},
        {"{\"positions\": [{\"account\": \"DU1234567\", \"symbol\": \"A\", \"qty\": 1,"
         " \"side\": 1}]}",
         "gateway.positions[0].side: unknown key"},
        {"{\"prices\": {\"AAPL\": 0}}", "gateway.prices.AAPL: 0 is out of range [0.0001, 1e+09]"},
        {"{\"market_seed\": -1}", "gateway.market_seed: -1 is out of range [0, 9.0072e+15]"},
        {"{\"daily_restart\": {\"at\": \"24:00\"}}",
         "gateway.daily_restart.at: expected a time of day \"HH:MM\" (00:00 to 23:59), got "
         "\"24:00\""},
        {"{\"daily_restart\": {\"down_for\": \"2m\"}}", "gateway.daily_restart.at: missing"},
        {"{\"daily_restart\": {\"at\": \"23:45\", \"down_for\": 5}}",
         "gateway.daily_restart.down_for: expected a duration, got a number"},
        {"{\"replay\": {\"file\": \"x.pcap\", \"mode\": \"loose\"}}",
         "gateway.replay.mode: expected \"strict\" or \"lenient\", got \"loose\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_config_t cfg, before;
        char err[256] = "";
        gw_config_defaults(&cfg);
        before = cfg;
        CU_ASSERT_EQUAL(load(bad[i].json, &cfg, err, sizeof err), IO_ERR_INVAL);
        CU_ASSERT_STRING_EQUAL(err, bad[i].error);
        CU_ASSERT(memcmp(&cfg, &before, sizeof cfg) == 0); /* left as it was */
    }
}

static void configured_gateway_serves_the_configured_positions_and_prices(void)
{
    char err[256];
    gwc_env_init(&T_ENV);
    CU_ASSERT_EQUAL_FATAL(load("{\"accounts\": [\"DU7\"], \"positions\": [{\"account\":"
                               " \"DU7\", \"symbol\": \"IBM\", \"qty\": 4, \"avg_cost\": 200}],"
                               " \"prices\": {\"IBM\": 5.5}, \"port\": 0}",
                               &gwc.cfg, err, sizeof err),
                          0);
    gwc_env_start_gw();
    t_client_t *c = client_ready("1");
    client_send(c, 2, "61", "1");
    req_mkt_data(c, "5", "IBM", "1");
    gwc_run_ms(5);
    const t_frame_t *p = first(c, "61");
    CU_ASSERT_STRING_EQUAL(p->f[2], "DU7");
    CU_ASSERT_STRING_EQUAL(p->f[4], "IBM");
    CU_ASSERT_STRING_EQUAL(p->f[15], "200");
    double last = strtod(nth(c, "1", 2)->f[4], NULL);
    CU_ASSERT(last > 4 && last < 7);
    env_stop();
}

static CU_TestInfo layout_tests[] = {
    {"simple_replies_have_their_exact_field_counts_at_178",
     simple_replies_have_their_exact_field_counts_at_178},
    {"contract_data_layout_follows_the_negotiated_version",
     contract_data_layout_follows_the_negotiated_version},
    {"unknown_contracts_get_error_200_and_no_end", unknown_contracts_get_error_200_and_no_end},
    {"open_order_layout_follows_the_negotiated_version",
     open_order_layout_follows_the_negotiated_version},
    {"exec_details_completed_order_and_error_follow_the_version",
     exec_details_completed_order_and_error_follow_the_version},
    {"unknown_request_gets_an_error_and_the_session_still_answers",
     unknown_request_gets_an_error_and_the_session_still_answers},
    {"malformed_request_gets_error_320_and_the_session_stays",
     malformed_request_gets_error_320_and_the_session_stays},
    {"configured_max_version_caps_the_negotiation", configured_max_version_caps_the_negotiation},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo market_tests[] = {
    {"historical_bars_are_the_same_for_the_same_seed_and_differ_for_another",
     historical_bars_are_the_same_for_the_same_seed_and_differ_for_another},
    {"repeated_history_requests_answer_as_a_fresh_gateway_would",
     repeated_history_requests_answer_as_a_fresh_gateway_would},
    {"history_polled_in_turn_answers_as_a_fresh_gateway_would",
     history_polled_in_turn_answers_as_a_fresh_gateway_would},
    {"regular_hours_bars_lie_within_the_new_york_session",
     regular_hours_bars_lie_within_the_new_york_session},
    {"watchdog_eurusd_probe_gets_bars_even_on_a_saturday",
     watchdog_eurusd_probe_gets_bars_even_on_a_saturday},
    {"bad_historical_requests_get_their_gateway_errors",
     bad_historical_requests_get_their_gateway_errors},
    {"streaming_ticks_come_every_second_until_cancelled",
     streaming_ticks_come_every_second_until_cancelled},
    {"snapshot_answers_params_type_ticks_then_end", snapshot_answers_params_type_ticks_then_end},
    {"prices_are_a_pure_function_of_seed_symbol_and_time",
     prices_are_a_pure_function_of_seed_symbol_and_time},
    {"bars_are_the_same_from_a_warm_cache_as_from_a_cold_one",
     bars_are_the_same_from_a_warm_cache_as_from_a_cold_one},
    {"bars_are_the_same_when_kept_walks_turn_over_and_the_seed_changes",
     bars_are_the_same_when_kept_walks_turn_over_and_the_seed_changes},
    {"bars_polled_in_turn_are_those_of_a_fresh_market_as_the_config_changes",
     bars_polled_in_turn_are_those_of_a_fresh_market_as_the_config_changes},
    {"bar_serials_are_kept_with_the_bar_and_new_for_a_new_value",
     bar_serials_are_kept_with_the_bar_and_new_for_a_new_value},
    {"kept_walks_give_the_prices_of_a_fresh_walk_at_any_step",
     kept_walks_give_the_prices_of_a_fresh_walk_at_any_step},
    {"prices_keep_every_bit_at_interval_ends_before_1970_and_far_off",
     prices_keep_every_bit_at_interval_ends_before_1970_and_far_off},
    {"bar_prices_round_as_libm_does_at_halves_thirds_and_below_zero",
     bar_prices_round_as_libm_does_at_halves_thirds_and_below_zero},
    {"bar_dates_read_as_printf_writes_them", bar_dates_read_as_printf_writes_them},
    {"bar_dates_are_new_york_wall_time_around_midnight_and_dst",
     bar_dates_are_new_york_wall_time_around_midnight_and_dst},
    {"durations_read_as_sscanf_reads_them", durations_read_as_sscanf_reads_them},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo order_tests[] = {
    {"market_order_fills_at_the_market_and_moves_the_position",
     market_order_fills_at_the_market_and_moves_the_position},
    {"limit_order_rests_then_cancel_gives_cancelled_and_202",
     limit_order_rests_then_cancel_gives_cancelled_and_202},
    {"resting_limit_order_fills_when_the_market_crosses_it",
     resting_limit_order_fills_when_the_market_crosses_it},
    {"global_cancel_cancels_every_clients_working_orders",
     global_cancel_cancels_every_clients_working_orders},
    {"order_id_at_or_below_a_used_one_gets_103", order_id_at_or_below_a_used_one_gets_103},
    {"placing_a_working_order_again_modifies_it", placing_a_working_order_again_modifies_it},
    {"executions_are_filtered_and_repeat_the_fill_commission",
     executions_are_filtered_and_repeat_the_fill_commission},
    {"ib_insync_startup_requests_are_all_answered_promptly",
     ib_insync_startup_requests_are_all_answered_promptly},
    {"account_requests_check_their_account_and_client",
     account_requests_check_their_account_and_client},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo config_tests[] = {
    {"config_reads_every_key_of_the_gateway_object", config_reads_every_key_of_the_gateway_object},
    {"config_errors_name_the_json_path", config_errors_name_the_json_path},
    {"configured_gateway_serves_the_configured_positions_and_prices",
     configured_gateway_serves_the_configured_positions_and_prices},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"layouts", NULL, NULL, NULL, NULL, layout_tests},
    {"market", NULL, NULL, NULL, NULL, market_tests},
    {"orders", NULL, NULL, NULL, NULL, order_tests},
    {"config", NULL, NULL, NULL, NULL, config_tests},
    CU_SUITE_INFO_NULL,
};
