/* requests.c - the ready session's request handlers and the messages they
 * answer with. Each handler reads every field it needs first (through a
 * reader that stops at the first error), and only then answers, so a
 * request that does not parse gets one errMsg 320 and nothing else.
 *
 * Layout gates by server version (the ones that fall in 151..178):
 *   errMsg         advancedOrderRejectJson from 166
 *   contractData   version field and mdSizeMultiplier below 164, stockType
 *                  from 152, sizeMinTick at 163, minSize/sizeIncrement/
 *                  suggestedSizeIncrement from 164
 *   openOrder      faProfile below 177; usePriceMgmtAlgo 151, duration 158,
 *                  postToAts 160, autoCancelParent 162, PEG BEST/MID 170
 *   completedOrder faProfile below 177, PEG BEST/MID from 170
 *   execDetails    pendingPriceRevision from 178
 * Requests: reqContractDetails gains issuerId at 176, cancelOrder
 * manualOrderCancelTime at 169 (both trailing, so they are not read). */
#include "requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/nytime.h"
#include "market.h"

#define REQ_SRC "gateway"
#define REQ_ERR_MAX 200
#define REQ_TICK_US IO_US_PER_S
#define REQ_TICK_SIZE 100
#define REQ_MKT_DATA_LIVE 1

/* Server versions where layouts change (tws-protocol.md §2). */
#define V_MD_SIZE_MULTIPLIER 110
#define V_PRICE_MGMT_ALGO 151
#define V_STOCK_TYPE 152
#define V_DURATION 158
#define V_POST_TO_ATS 160
#define V_AUTO_CANCEL_PARENT 162
#define V_FRACTIONAL_SIZE 163
#define V_SIZE_RULES 164
#define V_ADVANCED_ORDER_REJECT 166
#define V_PEG_BEST_MID 170
#define V_FA_PROFILE_DESUPPORT 177
#define V_PENDING_PRICE_REVISION 178

typedef struct req_sub {
    gw_req_session_t *st;
    int used;
    int req_id;
    gw_mkt_contract_t contract;
    io_timer_t *timer;
} req_sub_t;

#define REQ_BAR_RUNS 4       /* series kept per session: the symbols a client polls */

/* The bars of one of the session's last answers, with the text they were
 * written as (the fields from the first bar's date to the last bar's
 * count) and where each bar starts in it: a bar's text is a pure function
 * of (bar, formatDate). A client polling history gets nearly the same bars
 * every time (the same span grown by a bar, or moved on by a day), so the
 * run of them that it got last time is copied as one piece, and only the
 * bars not in it are written. */
typedef struct req_bar_run {
    char key[24];            /* the contract's market key, to pick the run */
    int format_date;
    uint64_t used;           /* the session's clock at the last use */
    gw_mkt_bar_t *bar;
    size_t *start;           /* n + 1 offsets: bar i is text[start[i] .. start[i + 1]) */
    size_t n, cap;           /* bars kept (0: none), room for bar (start has one more) */
    uint8_t *text;
    size_t text_cap;
} req_bar_run_t;

struct gw_req_session {
    gw_session_t *s;
    int handling;            /* inside gw_req_handle: the session frees itself after */
    int positions_subscribed;
    int market_data_type;
    req_sub_t subs[GW_REQ_SUBS_MAX];
    req_bar_run_t runs[REQ_BAR_RUNS];
    uint64_t run_clock;
};

/* The fields of one request, read in order; the first error sticks and
 * every later read returns an empty value. */
typedef struct req_in {
    proto_reader_t *r;
    int rc;
    char err[REQ_ERR_MAX];
} req_in_t;

typedef struct req_ctx {
    gw_session_t *s;
    gw_req_session_t *st;
    const gw_session_host_t *host;
    int version;
    int64_t now_s;
    req_in_t in;
} req_ctx_t;

/* ---- per-session state ------------------------------------------------- */

static gw_req_session_t *req_state(gw_session_t *s)
{
    gw_req_session_t **slot = gw_session_req(s);
    if (!*slot) {
        *slot = calloc(1, sizeof **slot);
        if (*slot) {
            (*slot)->s = s;
            (*slot)->market_data_type = REQ_MKT_DATA_LIVE;
        }
    }
    return *slot;
}

static void req_sub_stop(req_sub_t *sub)
{
    if (sub->timer)
        io_timer_free(sub->timer);
    memset(sub, 0, sizeof *sub);
}

void gw_req_session_free(gw_req_session_t *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < GW_REQ_SUBS_MAX; i++)
        if (st->subs[i].used)
            req_sub_stop(&st->subs[i]);
    for (size_t i = 0; i < REQ_BAR_RUNS; i++) {
        free(st->runs[i].bar);
        free(st->runs[i].start);
        free(st->runs[i].text);
    }
    free(st);
}

/* ---- reading ----------------------------------------------------------- */

static int32_t in_int(req_in_t *in)
{
    int32_t v = 0;
    if (in->rc == 0)
        in->rc = proto_read_int(in->r, &v, in->err, sizeof in->err);
    return in->rc == 0 ? v : 0;
}

static const char *in_str(req_in_t *in)
{
    const char *v = "";
    if (in->rc == 0)
        in->rc = proto_read_str(in->r, &v, in->err, sizeof in->err);
    return in->rc == 0 ? v : "";
}

static double in_double(req_in_t *in)
{
    double v = 0;
    if (in->rc == 0)
        in->rc = proto_read_double(in->r, &v, in->err, sizeof in->err);
    return in->rc == 0 ? v : 0;
}

static double in_decimal(req_in_t *in)
{
    const char *v = "";
    if (in->rc == 0)
        in->rc = proto_read_decimal(in->r, &v, in->err, sizeof in->err);
    return in->rc == 0 && v[0] ? strtod(v, NULL) : 0;
}

static int in_bool(req_in_t *in)
{
    int v = 0;
    if (in->rc == 0)
        in->rc = proto_read_bool(in->r, &v, in->err, sizeof in->err);
    return in->rc == 0 ? v : 0;
}

static void in_skip(req_in_t *in, int n)
{
    if (in->rc == 0)
        in->rc = proto_skip(in->r, n, in->err, sizeof in->err);
}

/* The field into dst, cut to fit ("" after an error). */
static void in_copy(req_in_t *in, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (in->rc == 0)
        in->rc = proto_read_str_into(in->r, dst, cap, in->err, sizeof in->err);
}

/* conId, symbol, secType, lastTradeDate, strike, right, multiplier,
 * exchange, primaryExchange, currency, localSymbol, tradingClass. */
static void in_contract(req_in_t *in, gw_mkt_contract_t *c)
{
    memset(c, 0, sizeof *c);
    in_int(in);
    in_copy(in, c->symbol, sizeof c->symbol);
    in_copy(in, c->sec_type, sizeof c->sec_type);
    in_skip(in, 4);
    in_copy(in, c->exchange, sizeof c->exchange);
    in_skip(in, 1);
    in_copy(in, c->currency, sizeof c->currency);
    in_skip(in, 2);
}

/* ---- writing ----------------------------------------------------------- */

static proto_writer_t *out_begin(gw_session_t *s, int msg_id)
{
    proto_writer_t *w = gw_session_writer(s);
    proto_frame_begin(w);
    proto_put_int(w, msg_id);
    return w;
}

static void out_end(gw_session_t *s, int msg_id)
{
    gw_session_emit(s, proto_in_name(msg_id), proto_frame_end(gw_session_writer(s)));
}

static void out_empties(proto_writer_t *w, int n)
{
    for (int i = 0; i < n; i++)
        proto_put_empty(w);
}

static void out_zeros(proto_writer_t *w, int n)
{
    for (int i = 0; i < n; i++)
        proto_put_int(w, 0);
}

int gw_req_put_error(proto_writer_t *w, int version, int id, int code, const char *text)
{
    proto_frame_begin(w);
    proto_put_int(w, PROTO_IN_ERR_MSG);
    proto_put_int(w, 2);
    proto_put_int(w, id);
    proto_put_int(w, code);
    proto_put_str(w, text);
    if (version >= V_ADVANCED_ORDER_REJECT)
        proto_put_empty(w);
    return proto_frame_end(w);
}

static void out_error(gw_session_t *s, int id, int code, const char *text)
{
    int rc = gw_req_put_error(gw_session_writer(s), gw_session_version(s), id, code, text);
    gw_session_emit(s, proto_in_name(PROTO_IN_ERR_MSG), rc);
}

static void out_version_only(gw_session_t *s, int msg_id)
{
    proto_writer_t *w = out_begin(s, msg_id);
    proto_put_int(w, 1);
    out_end(s, msg_id);
}

/* "20251210 09:25:00 US/Eastern", the time style of execDetails. */
static void req_time_text(int64_t t_s, char buf[40])
{
    gw_mkt_format_date(t_s, 0, 1, buf);
}

/* conId, symbol, secType, lastTradeDate, strike, right, multiplier: the
 * head every contract in a message starts with. */
static void out_contract_head(proto_writer_t *w, const gw_mkt_contract_t *c)
{
    proto_put_int(w, c->con_id);
    proto_put_str(w, c->symbol);
    proto_put_str(w, c->sec_type);
    proto_put_empty(w);
    proto_put_double(w, 0);
    proto_put_empty(w);
    proto_put_empty(w);
}

/* ---- simple requests --------------------------------------------------- */

/* reqCurrentTime: 49, 1 → currentTime in whole Unix seconds. */
static void req_current_time(req_ctx_t *x)
{
    in_int(&x->in);
    if (x->in.rc == 0)
        gw_session_send_int(x->s, PROTO_IN_CURRENT_TIME, x->now_s);
}

/* reqIds: 8, 1, numIds → nextValidId: the session's next id, or past the
 * highest this client id used (also in an earlier session). */
static void req_ids(req_ctx_t *x)
{
    in_skip(&x->in, 2);
    if (x->in.rc < 0)
        return;
    int next = gw_session_next_order_id(x->s);
    int used = gw_ord_next_id(x->host->orders, gw_session_client_id(x->s));
    if (used > next)
        next = used;
    gw_session_set_next_order_id(x->s, next);
    gw_session_send_int(x->s, PROTO_IN_NEXT_VALID_ID, next);
}

/* reqManagedAccts: 17, 1 → managedAccounts. */
static void req_managed_accounts(req_ctx_t *x)
{
    in_int(&x->in);
    if (x->in.rc < 0)
        return;
    proto_writer_t *w = out_begin(x->s, PROTO_IN_MANAGED_ACCTS);
    proto_put_int(w, 1);
    proto_put_str(w, x->host->accounts_csv);
    out_end(x->s, PROTO_IN_MANAGED_ACCTS);
}

/* Requests that are answered by nothing: cancelPositions, cancelAccountSummary,
 * reqMarketDataType (the type shows in the next marketDataType). */
static void req_cancel_positions(req_ctx_t *x)
{
    in_int(&x->in);
    if (x->in.rc == 0)
        x->st->positions_subscribed = 0;
}

static void req_cancel_account_summary(req_ctx_t *x)
{
    in_skip(&x->in, 2);
}

static void req_market_data_type(req_ctx_t *x)
{
    in_int(&x->in);
    int type = in_int(&x->in);
    if (x->in.rc == 0 && type >= 1 && type <= 4)
        x->st->market_data_type = type;
}

/* reqAutoOpenOrders: 15, 1, bAutoBind; only client 0 may bind. */
static void req_auto_open_orders(req_ctx_t *x)
{
    in_skip(&x->in, 2);
    if (x->in.rc == 0 && gw_session_client_id(x->s) != 0)
        out_error(x->s, -1, 327, "Only the default client (i.e 0) can auto bind orders.");
}

/* cancelHistoricalData: 25, 1, reqId. Every query is answered at once, so
 * none is ever still running. */
static void req_cancel_historical(req_ctx_t *x)
{
    in_int(&x->in);
    int req_id = in_int(&x->in);
    if (x->in.rc < 0)
        return;
    char text[96];
    snprintf(text, sizeof text, "%s%d", proto_error_text(PROTO_CODE_NO_HIST_QUERY), req_id);
    out_error(x->s, req_id, PROTO_CODE_NO_HIST_QUERY, text);
}

/* ---- positions and account --------------------------------------------- */

/* position: 61, 3, account, conId, symbol, secType, lastTradeDate, strike,
 * right, multiplier, exchange, currency, localSymbol, tradingClass,
 * position, avgCost (16). */
static void out_position(gw_session_t *s, const gw_ord_position_t *p)
{
    proto_writer_t *w = out_begin(s, PROTO_IN_POSITION_DATA);
    proto_put_int(w, 3);
    proto_put_str(w, p->account);
    out_contract_head(w, &p->contract);
    proto_put_empty(w); /* exchange: a position is not routed anywhere */
    proto_put_str(w, p->contract.currency);
    proto_put_str(w, p->contract.local_symbol);
    proto_put_str(w, p->contract.trading_class);
    proto_put_double(w, p->qty);
    proto_put_double(w, p->avg_cost);
    out_end(s, PROTO_IN_POSITION_DATA);
}

/* reqPositions: 61, 1 → position × n, positionEnd; then a position
 * message whenever a fill of this client moves one. */
static void req_positions(req_ctx_t *x)
{
    in_int(&x->in);
    if (x->in.rc < 0)
        return;
    const gw_orders_t *b = x->host->orders;
    for (size_t i = 0; i < gw_ord_position_count(b); i++)
        out_position(x->s, gw_ord_position_at(b, i));
    out_version_only(x->s, PROTO_IN_POSITION_END);
    x->st->positions_subscribed = 1;
}

enum req_value { RV_TYPE, RV_NET, RV_CASH, RV_GROSS, RV_BUYING_POWER, RV_ZERO, RV_ONE };

/* The account values the mock reports, in reqAccountSummary's tag names. */
static const struct {
    const char *tag;
    const char *currency;
    enum req_value value;
} req_account_tags[] = {
    {"AccountType", "", RV_TYPE},          {"NetLiquidation", "USD", RV_NET},
    {"TotalCashValue", "USD", RV_CASH},    {"SettledCash", "USD", RV_CASH},
    {"AccruedCash", "USD", RV_ZERO},       {"BuyingPower", "USD", RV_BUYING_POWER},
    {"EquityWithLoanValue", "USD", RV_NET}, {"GrossPositionValue", "USD", RV_GROSS},
    {"InitMarginReq", "USD", RV_ZERO},     {"MaintMarginReq", "USD", RV_ZERO},
    {"AvailableFunds", "USD", RV_NET},     {"ExcessLiquidity", "USD", RV_NET},
    {"Cushion", "", RV_ONE},
};

#define REQ_NTAGS (sizeof req_account_tags / sizeof req_account_tags[0])

static void req_value_text(const gw_ord_account_t *a, enum req_value v, char buf[32])
{
    static const double buying_power_leverage = 4.0;
    double n = v == RV_NET            ? a->net_liquidation
               : v == RV_CASH         ? a->cash
               : v == RV_GROSS        ? a->gross_position_value
               : v == RV_BUYING_POWER ? a->net_liquidation * buying_power_leverage
               : v == RV_ONE          ? 1
                                      : 0;
    if (v == RV_TYPE)
        snprintf(buf, 32, "INDIVIDUAL");
    else
        snprintf(buf, 32, "%.2f", n);
}

/* Whether tag is in the comma-separated list (or the list asks for all). */
static int req_tag_wanted(const char *list, const char *tag)
{
    size_t len = strlen(tag);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, tag, n) == 0)
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

/* reqAccountSummary: 62, 1, reqId, group, tags → accountSummary per
 * account and tag asked for (tags the mock does not keep are left out),
 * accountSummaryEnd. */
static void req_account_summary(req_ctx_t *x)
{
    in_int(&x->in);
    int req_id = in_int(&x->in);
    in_str(&x->in);
    const char *tags = in_str(&x->in);
    if (x->in.rc < 0)
        return;
    const gw_config_t *cfg = x->host->cfg;
    for (size_t a = 0; a < cfg->naccounts; a++) {
        gw_ord_account_t vals;
        gw_ord_account_values(x->host->orders, cfg->accounts[a], x->now_s, &vals);
        for (size_t t = 0; t < REQ_NTAGS; t++) {
            if (!req_tag_wanted(tags, req_account_tags[t].tag))
                continue;
            char value[32];
            req_value_text(&vals, req_account_tags[t].value, value);
            proto_writer_t *w = out_begin(x->s, PROTO_IN_ACCOUNT_SUMMARY);
            proto_put_int(w, 1);
            proto_put_int(w, req_id);
            proto_put_str(w, cfg->accounts[a]);
            proto_put_str(w, req_account_tags[t].tag);
            proto_put_str(w, value);
            proto_put_str(w, req_account_tags[t].currency);
            out_end(x->s, PROTO_IN_ACCOUNT_SUMMARY);
        }
    }
    gw_session_send_int(x->s, PROTO_IN_ACCOUNT_SUMMARY_END, req_id);
}

/* The account named, or the first one for "" (ib_insync sends "" with a
 * single account). NULL for an account the gateway does not manage. */
static const char *req_account(const gw_config_t *cfg, const char *name)
{
    if (name[0] == '\0')
        return cfg->accounts[0];
    for (size_t i = 0; i < cfg->naccounts; i++)
        if (strcmp(cfg->accounts[i], name) == 0)
            return cfg->accounts[i];
    return NULL;
}

/* portfolioValue: 7, 8, conId, symbol, secType, lastTradeDate, strike,
 * right, multiplier, primaryExchange, currency, localSymbol, tradingClass,
 * position, marketPrice, marketValue, avgCost, unrealizedPNL, realizedPNL,
 * account (20). */
static void out_portfolio(req_ctx_t *x, const gw_ord_position_t *p)
{
    double price = gw_mkt_price(x->host->market, p->contract.key, x->now_s);
    proto_writer_t *w = out_begin(x->s, PROTO_IN_PORTFOLIO_VALUE);
    proto_put_int(w, 8);
    out_contract_head(w, &p->contract);
    proto_put_str(w, p->contract.primary_exchange);
    proto_put_str(w, p->contract.currency);
    proto_put_str(w, p->contract.local_symbol);
    proto_put_str(w, p->contract.trading_class);
    proto_put_double(w, p->qty);
    proto_put_double(w, price);
    proto_put_double(w, p->qty * price);
    proto_put_double(w, p->avg_cost);
    proto_put_double(w, p->qty * (price - p->avg_cost));
    proto_put_double(w, 0);
    proto_put_str(w, p->account);
    out_end(x->s, PROTO_IN_PORTFOLIO_VALUE);
}

/* reqAccountUpdates: 6, 2, subscribe, acctCode → acctValue × n,
 * portfolioValue per position, acctUpdateTime, acctDownloadEnd. */
static void req_account_updates(req_ctx_t *x)
{
    in_int(&x->in);
    int subscribe = in_bool(&x->in);
    const char *name = in_str(&x->in);
    if (x->in.rc < 0 || !subscribe)
        return;
    const char *account = req_account(x->host->cfg, name);
    if (!account) {
        out_error(x->s, -1, 321, "Error validating request:-'bA' : cause - Unknown account");
        return;
    }
    gw_ord_account_t vals;
    gw_ord_account_values(x->host->orders, account, x->now_s, &vals);
    for (size_t t = 0; t < REQ_NTAGS; t++) {
        char value[32];
        req_value_text(&vals, req_account_tags[t].value, value);
        proto_writer_t *w = out_begin(x->s, PROTO_IN_ACCT_VALUE);
        proto_put_int(w, 2);
        proto_put_str(w, req_account_tags[t].tag);
        proto_put_str(w, value);
        proto_put_str(w, req_account_tags[t].currency);
        proto_put_str(w, account);
        out_end(x->s, PROTO_IN_ACCT_VALUE);
    }
    const gw_orders_t *b = x->host->orders;
    for (size_t i = 0; i < gw_ord_position_count(b); i++)
        if (strcmp(gw_ord_position_at(b, i)->account, account) == 0)
            out_portfolio(x, gw_ord_position_at(b, i));
    ny_civil_t c;
    ny_from_utc(x->now_s, &c);
    char hhmm[8];
    snprintf(hhmm, sizeof hhmm, "%02d:%02d", c.hour, c.minute);
    proto_writer_t *w = out_begin(x->s, PROTO_IN_ACCT_UPDATE_TIME);
    proto_put_int(w, 1);
    proto_put_str(w, hhmm);
    out_end(x->s, PROTO_IN_ACCT_UPDATE_TIME);
    w = out_begin(x->s, PROTO_IN_ACCT_DOWNLOAD_END);
    proto_put_int(w, 1);
    proto_put_str(w, account);
    out_end(x->s, PROTO_IN_ACCT_DOWNLOAD_END);
}

/* reqAccountUpdatesMulti: 76, 1, reqId, account, modelCode, ledgerAndNLV →
 * accountUpdateMulti × n per account ("" or "All": every one), End. */
static void req_account_updates_multi(req_ctx_t *x)
{
    in_int(&x->in);
    int req_id = in_int(&x->in);
    const char *name = in_str(&x->in);
    const char *model = in_str(&x->in);
    if (x->in.rc < 0)
        return;
    const gw_config_t *cfg = x->host->cfg;
    int all = name[0] == '\0' || strcmp(name, "All") == 0;
    for (size_t a = 0; a < cfg->naccounts; a++) {
        if (!all && strcmp(cfg->accounts[a], name) != 0)
            continue;
        gw_ord_account_t vals;
        gw_ord_account_values(x->host->orders, cfg->accounts[a], x->now_s, &vals);
        for (size_t t = 0; t < REQ_NTAGS; t++) {
            char value[32];
            req_value_text(&vals, req_account_tags[t].value, value);
            proto_writer_t *w = out_begin(x->s, PROTO_IN_ACCOUNT_UPDATE_MULTI);
            proto_put_int(w, 1);
            proto_put_int(w, req_id);
            proto_put_str(w, cfg->accounts[a]);
            proto_put_str(w, model);
            proto_put_str(w, req_account_tags[t].tag);
            proto_put_str(w, value);
            proto_put_str(w, req_account_tags[t].currency);
            out_end(x->s, PROTO_IN_ACCOUNT_UPDATE_MULTI);
        }
    }
    gw_session_send_int(x->s, PROTO_IN_ACCOUNT_UPDATE_MULTI_END, req_id);
}

/* ---- contracts --------------------------------------------------------- */

static void out_no_security(gw_session_t *s, int id)
{
    out_error(s, id, PROTO_CODE_NO_SECURITY_DEF, proto_error_text(PROTO_CODE_NO_SECURITY_DEF));
}

/* "20251210:0930-20251210:1600" for the New York day of t (or CLOSED). */
static void req_hours(int64_t t_s, const char *from, const char *to, char *buf, size_t cap)
{
    ny_civil_t c;
    ny_from_utc(t_s, &c);
    char day[16];
    snprintf(day, sizeof day, "%04d%02d%02d", c.year, c.month, c.day);
    if (c.weekday == 0 || c.weekday == 6)
        snprintf(buf, cap, "%s:CLOSED", day);
    else
        snprintf(buf, cap, "%s:%s-%s:%s", day, from, day, to);
}

/* contractData (table 4.5 at 178; see the gates at the top). */
static void out_contract_data(req_ctx_t *x, int req_id, const gw_mkt_contract_t *c)
{
    int v = x->version, stock = strcmp(c->sec_type, "STK") == 0;
    char trading[64], liquid[64];
    req_hours(x->now_s, stock ? "0400" : "0000", stock ? "2000" : "2359", trading,
              sizeof trading);
    req_hours(x->now_s, stock ? "0930" : "0000", stock ? "1600" : "2359", liquid, sizeof liquid);
    proto_writer_t *w = out_begin(x->s, PROTO_IN_CONTRACT_DATA);
    if (v < V_SIZE_RULES)
        proto_put_int(w, 8);
    proto_put_int(w, req_id);
    proto_put_str(w, c->symbol);
    proto_put_str(w, c->sec_type);
    proto_put_empty(w);        /* lastTradeDateOrContractMonth */
    proto_put_double(w, 0);    /* strike */
    proto_put_empty(w);        /* right */
    proto_put_str(w, c->exchange);
    proto_put_str(w, c->currency);
    proto_put_str(w, c->local_symbol);
    proto_put_str(w, c->trading_class); /* marketName */
    proto_put_str(w, c->trading_class);
    proto_put_int(w, c->con_id);
    proto_put_double(w, gw_mkt_min_tick(x->host->market, c->key));
    if (v >= V_MD_SIZE_MULTIPLIER && v < V_SIZE_RULES)
        proto_put_int(w, 1);   /* mdSizeMultiplier */
    proto_put_empty(w);        /* multiplier */
    proto_put_str(w, "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,DAY,GTC,LMT,MKT,STP,STPLMT,TRAIL");
    proto_put_str(w, stock ? "SMART,NASDAQ,ARCA,BATS,IEX" : "IDEALPRO");
    proto_put_int(w, 1);       /* priceMagnifier */
    proto_put_int(w, 0);       /* underConId */
    proto_put_str(w, c->symbol); /* longName */
    proto_put_str(w, c->primary_exchange);
    out_empties(w, 4);         /* contractMonth, industry, category, subcategory */
    proto_put_str(w, "US/Eastern");
    proto_put_str(w, trading);
    proto_put_str(w, liquid);
    out_empties(w, 2);         /* evRule, evMultiplier */
    proto_put_int(w, 0);       /* no secId pairs */
    proto_put_int(w, 1);       /* aggGroup */
    out_empties(w, 2);         /* underSymbol, underSecType */
    proto_put_str(w, "26");    /* marketRuleIds */
    proto_put_empty(w);        /* realExpirationDate */
    if (v >= V_STOCK_TYPE)
        proto_put_str(w, stock ? "COMMON" : "");
    if (v == V_FRACTIONAL_SIZE)
        proto_put_int(w, 1);   /* sizeMinTick */
    if (v >= V_SIZE_RULES) {
        proto_put_int(w, 1);   /* minSize, sizeIncrement, suggestedSizeIncrement */
        proto_put_int(w, 1);
        proto_put_int(w, 100);
    }
    out_end(x->s, PROTO_IN_CONTRACT_DATA);
}

/* reqContractDetails: 9, 8, reqId, Contract12, includeExpired, secIdType,
 * secId[, issuerId] → contractData, contractDataEnd; or error 200. */
static void req_contract_details(req_ctx_t *x)
{
    gw_mkt_contract_t c;
    in_int(&x->in);
    int req_id = in_int(&x->in);
    in_contract(&x->in, &c);
    if (x->in.rc < 0)
        return;
    if (gw_mkt_contract_resolve(&c) < 0) {
        out_no_security(x->s, req_id);
        return;
    }
    out_contract_data(x, req_id, &c);
    gw_session_send_int(x->s, PROTO_IN_CONTRACT_DATA_END, req_id);
}

/* ---- historical data --------------------------------------------------- */

static void out_bar_fields(proto_writer_t *w, const gw_mkt_bar_t *b, int format_date)
{
    char date[40];
    gw_mkt_format_date(b->start_s, b->daily, format_date, date);
    proto_put_str(w, date);
    proto_put_double(w, b->open);
    proto_put_double(w, b->high);
    proto_put_double(w, b->low);
    proto_put_double(w, b->close);
    proto_put_double(w, b->volume);
    proto_put_double(w, b->wap);
    proto_put_int(w, b->count);
}

/* Bit for bit, as the text tells doubles apart (-0 is not 0). */
static int req_same_double(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

/* Bars whose texts are the same in any formatDate: the same serial (the
 * session's bars all come from its gateway's one market), or, a bar built
 * anew, the same fields. */
static inline int req_bar_same(const gw_mkt_bar_t *a, const gw_mkt_bar_t *b)
{
    if (a->serial == b->serial)
        return 1;
    return a->start_s == b->start_s && a->daily == b->daily && req_same_double(a->open, b->open) &&
           req_same_double(a->high, b->high) && req_same_double(a->low, b->low) &&
           req_same_double(a->close, b->close) && req_same_double(a->volume, b->volume) &&
           req_same_double(a->wap, b->wap) && a->count == b->count;
}

/* The run kept for (key, formatDate), or the least recently used one
 * emptied for it, with room for n bars; NULL when there is no memory for
 * that (the bars are then all written afresh). */
static req_bar_run_t *req_bar_run(gw_req_session_t *st, const char *key, int format_date,
                                  size_t n)
{
    req_bar_run_t *run = &st->runs[0];
    for (size_t i = 0; i < REQ_BAR_RUNS; i++) {
        req_bar_run_t *r = &st->runs[i];
        if (r->format_date == format_date && strcmp(r->key, key) == 0) {
            run = r;
            break;
        }
        if (r->used < run->used)
            run = r;
    }
    run->used = ++st->run_clock;
    if (run->format_date != format_date || strcmp(run->key, key) != 0) {
        run->n = 0;
        run->format_date = format_date;
        snprintf(run->key, sizeof run->key, "%s", key);
    }
    if (n > run->cap || !run->start) {
        gw_mkt_bar_t *bar = realloc(run->bar, n * sizeof *bar);
        if (bar)
            run->bar = bar;
        size_t *start = bar ? realloc(run->start, (n + 1) * sizeof *start) : NULL;
        if (!start) {
            run->n = 0;
            return NULL;
        }
        run->start = start;
        run->cap = n;
    }
    return run;
}

/* How many of bars (n of them) are a run of the kept ones, from the
 * first kept bar j equal to bars[0] on; sets *j. */
static size_t req_bar_match(const req_bar_run_t *run, const gw_mkt_bar_t *bars, size_t n,
                            size_t *j)
{
    size_t first = 0, k = 0;
    while (first < run->n && !req_bar_same(&run->bar[first], &bars[0]))
        first++;
    while (k < n && first + k < run->n && req_bar_same(&run->bar[first + k], &bars[k]))
        k++;
    *j = first;
    return k;
}

/* Writes the bars, the run kept from the last answer copied as one piece,
 * and keeps them with their text as the run for the next. */
static void out_bar_list(gw_req_session_t *st, proto_writer_t *w, const char *key,
                         int format_date, const gw_mkt_bar_t *bars, size_t n)
{
    req_bar_run_t *run = req_bar_run(st, key, format_date, n);
    size_t from = w->len, j = 0, k = run && n ? req_bar_match(run, bars, n, &j) : 0;
    if (k) {
        proto_put_raw(w, run->text + run->start[j], run->start[j + k] - run->start[j]);
        /* Bars j.. become 0..: every index moves down (or stays). */
        for (size_t i = 0, base = run->start[j]; i <= k; i++)
            run->start[i] = run->start[j + i] - base;
    }
    for (size_t i = k; i < n; i++) {
        if (run)
            run->start[i] = w->len - from;
        out_bar_fields(w, &bars[i], format_date);
    }
    if (!run)
        return;
    size_t len = w->len - from;
    run->n = 0;
    if (w->error)
        return;
    if (len > run->text_cap) {
        uint8_t *text = realloc(run->text, len);
        if (!text)
            return;
        run->text = text;
        run->text_cap = len;
    }
    run->start[n] = len;
    memcpy(run->text, w->buf + from, len);
    memcpy(run->bar, bars, n * sizeof *bars);
    run->n = n;
}

static void out_bars(req_ctx_t *x, int req_id, const char *key, int format_date,
                     int64_t start_s, int64_t end_s, const gw_mkt_bar_t *bars, size_t n)
{
    char date[40];
    proto_writer_t *w = out_begin(x->s, PROTO_IN_HISTORICAL_DATA);
    proto_put_int(w, req_id);
    gw_mkt_format_date(start_s, 0, format_date, date);
    proto_put_str(w, date);
    gw_mkt_format_date(end_s, 0, format_date, date);
    proto_put_str(w, date);
    proto_put_int(w, (int64_t)n);
    out_bar_list(x->st, w, key, format_date, bars, n);
    out_end(x->s, PROTO_IN_HISTORICAL_DATA);
}

static void out_hmds_error(gw_session_t *s, int req_id, const char *detail)
{
    char text[REQ_ERR_MAX + 64];
    snprintf(text, sizeof text, "%s%s", proto_error_text(PROTO_CODE_HMDS_ERROR), detail);
    out_error(s, req_id, PROTO_CODE_HMDS_ERROR, text);
}

/* reqHistoricalData: 20, reqId, Contract12, includeExpired, endDateTime,
 * barSize, duration, useRTH, whatToShow, formatDate, keepUpToDate,
 * chartOptions → historicalData with every bar (keepUpToDate is not
 * served: no updates follow). */
static void req_historical(req_ctx_t *x)
{
    gw_mkt_contract_t c;
    int req_id = in_int(&x->in);
    in_contract(&x->in, &c);
    in_skip(&x->in, 1);
    char end[40], bar_size[16], duration[16], what[24];
    in_copy(&x->in, end, sizeof end);
    in_copy(&x->in, bar_size, sizeof bar_size);
    in_copy(&x->in, duration, sizeof duration);
    int use_rth = in_bool(&x->in);
    in_copy(&x->in, what, sizeof what);
    int format_date = in_int(&x->in);
    if (x->in.rc < 0)
        return;
    if (gw_mkt_contract_resolve(&c) < 0) {
        out_no_security(x->s, req_id);
        return;
    }
    gw_mkt_query_t q;
    char why[REQ_ERR_MAX];
    if (gw_mkt_parse_query(end, bar_size, duration, what, use_rth, x->now_s, &q, why,
                           sizeof why) < 0) {
        char text[REQ_ERR_MAX + 64];
        snprintf(text, sizeof text, "Error validating request:-'bP' : cause - %s", why);
        out_error(x->s, req_id, 321, text);
        return;
    }
    gw_mkt_bar_t *bars;
    size_t n;
    int64_t start_s;
    if (gw_mkt_bars(x->host->market, c.key, &q, &bars, &n, &start_s, why, sizeof why) < 0) {
        out_hmds_error(x->s, req_id, why);
        return;
    }
    if (n == 0) {
        snprintf(why, sizeof why, "HMDS query returned no data: %s@%s %s", c.local_symbol,
                 c.exchange, what);
        out_hmds_error(x->s, req_id, why);
    } else {
        out_bars(x, req_id, c.key, format_date == 2 ? 2 : 1, start_s, q.end_s, bars, n);
    }
    free(bars);
}

/* ---- market data ------------------------------------------------------- */

/* tickPrice: 1, 6, reqId, tickType, price, size, attrMask (7). */
static void out_tick_price(gw_session_t *s, int req_id, int type, double price)
{
    proto_writer_t *w = out_begin(s, PROTO_IN_TICK_PRICE);
    proto_put_int(w, 6);
    proto_put_int(w, req_id);
    proto_put_int(w, type);
    proto_put_double(w, price);
    proto_put_int(w, REQ_TICK_SIZE);
    proto_put_int(w, 0);
    out_end(s, PROTO_IN_TICK_PRICE);
}

/* bid (1), ask (2) one tick either side of the price, last (4), and the
 * day's volume (tickSize 8). */
static void out_ticks(gw_session_t *s, const gw_market_t *m, int req_id,
                      const gw_mkt_contract_t *c, int64_t now_s)
{
    double price = gw_mkt_price(m, c->key, now_s);
    double tick = gw_mkt_min_tick(m, c->key);
    out_tick_price(s, req_id, 1, price - tick);
    out_tick_price(s, req_id, 2, price + tick);
    out_tick_price(s, req_id, 4, price);
    proto_writer_t *w = out_begin(s, PROTO_IN_TICK_SIZE);
    proto_put_int(w, 6);
    proto_put_int(w, req_id);
    proto_put_int(w, 8);
    proto_put_int(w, (now_s % 86400) * 10);
    out_end(s, PROTO_IN_TICK_SIZE);
}

static void req_on_tick(io_timer_t *timer, void *data)
{
    req_sub_t *sub = data;
    gw_session_t *s = sub->st->s;
    const gw_session_host_t *host = gw_session_host(s);
    io_timer_start(timer, REQ_TICK_US);
    out_ticks(s, host->market, sub->req_id, &sub->contract, io_wall_us(host->loop) / IO_US_PER_S);
    gw_session_settle(s); /* last: it may free the session, sub and timer */
}

static req_sub_t *req_find_sub(gw_req_session_t *st, int req_id)
{
    for (size_t i = 0; i < GW_REQ_SUBS_MAX; i++)
        if (st->subs[i].used && st->subs[i].req_id == req_id)
            return &st->subs[i];
    return NULL;
}

/* Starts a streaming line; NULL when every line is taken (or no memory). */
static req_sub_t *req_add_sub(req_ctx_t *x, int req_id, const gw_mkt_contract_t *c)
{
    for (size_t i = 0; i < GW_REQ_SUBS_MAX; i++) {
        req_sub_t *sub = &x->st->subs[i];
        if (sub->used)
            continue;
        sub->timer = io_timer_new(x->host->loop, req_on_tick, sub);
        if (!sub->timer)
            return NULL;
        sub->used = 1;
        sub->st = x->st;
        sub->req_id = req_id;
        sub->contract = *c;
        io_timer_start(sub->timer, REQ_TICK_US);
        return sub;
    }
    return NULL;
}

/* reqMktData: 1, 11, reqId, Contract12, deltaNeutral, genericTickList,
 * snapshot, regulatorySnapshot, options → tickReqParams, marketDataType,
 * ticks; a snapshot ends with tickSnapshotEnd, a stream ticks every second
 * until cancelMktData. */
static void req_mkt_data(req_ctx_t *x)
{
    gw_mkt_contract_t c;
    in_int(&x->in);
    int req_id = in_int(&x->in);
    in_contract(&x->in, &c);
    if (x->in.rc == 0 && gw_mkt_contract_resolve(&c) < 0) {
        out_no_security(x->s, req_id); /* BAG legs would follow: not read */
        return;
    }
    in_bool(&x->in);
    in_str(&x->in);
    int snapshot = in_bool(&x->in);
    if (x->in.rc < 0)
        return;
    if (req_find_sub(x->st, req_id)) {
        out_error(x->s, req_id, PROTO_CODE_SERVER_ERROR,
                  "Error processing request:-'bW' : cause - Duplicate ticker id");
        return;
    }
    if (!snapshot && !req_add_sub(x, req_id, &c)) {
        out_error(x->s, req_id, 101, "Max number of tickers has been reached");
        return;
    }
    proto_writer_t *w = out_begin(x->s, PROTO_IN_TICK_REQ_PARAMS);
    proto_put_int(w, req_id);
    proto_put_double(w, gw_mkt_min_tick(x->host->market, c.key));
    proto_put_str(w, "9c0001");
    proto_put_int(w, 3);
    out_end(x->s, PROTO_IN_TICK_REQ_PARAMS);
    w = out_begin(x->s, PROTO_IN_MARKET_DATA_TYPE);
    proto_put_int(w, 1);
    proto_put_int(w, req_id);
    proto_put_int(w, x->st->market_data_type);
    out_end(x->s, PROTO_IN_MARKET_DATA_TYPE);
    out_ticks(x->s, x->host->market, req_id, &c, x->now_s);
    if (snapshot)
        gw_session_send_int(x->s, PROTO_IN_TICK_SNAPSHOT_END, req_id);
}

/* cancelMktData: 2, version, reqId. */
static void req_cancel_mkt_data(req_ctx_t *x)
{
    in_int(&x->in);
    int req_id = in_int(&x->in);
    if (x->in.rc < 0)
        return;
    req_sub_t *sub = req_find_sub(x->st, req_id);
    if (sub) {
        req_sub_stop(sub);
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "Can't find EId with tickerId:%d", req_id);
    out_error(x->s, req_id, 300, text);
}

/* ---- orders: messages -------------------------------------------------- */

static const char *const req_status_names[] = {"Submitted", "Filled", "Cancelled"};

/* orderStatus: 3, orderId, status, filled, remaining, avgFillPrice,
 * permId, parentId, lastFillPrice, clientId, whyHeld, mktCapPrice (12). */
static void out_order_status(gw_session_t *s, const gw_ord_order_t *o)
{
    proto_writer_t *w = out_begin(s, PROTO_IN_ORDER_STATUS);
    proto_put_int(w, o->order_id);
    proto_put_str(w, req_status_names[o->status]);
    proto_put_double(w, o->filled);
    proto_put_double(w, o->status == GW_ORD_SUBMITTED ? o->qty - o->filled : 0);
    proto_put_double(w, o->avg_fill_price);
    proto_put_int(w, o->perm_id);
    proto_put_int(w, 0);
    proto_put_double(w, o->last_fill_price);
    proto_put_int(w, o->client_id);
    proto_put_empty(w);
    proto_put_double(w, 0);
    out_end(s, PROTO_IN_ORDER_STATUS);
}

/* The order's fields up to goodAfterTime, shared by openOrder (with
 * clientId) and completedOrder (without). */
static void out_order_head(proto_writer_t *w, const gw_ord_order_t *o, int with_client_id)
{
    out_contract_head(w, &o->contract);
    proto_put_str(w, o->contract.exchange);
    proto_put_str(w, o->contract.currency);
    proto_put_str(w, o->contract.local_symbol);
    proto_put_str(w, o->contract.trading_class);
    proto_put_str(w, o->action);
    proto_put_double(w, o->qty);
    proto_put_str(w, o->order_type);
    proto_put_double(w, strcmp(o->order_type, "LMT") == 0 ? o->lmt_price : 0);
    proto_put_double(w, 0);       /* auxPrice */
    proto_put_str(w, o->tif);
    proto_put_empty(w);           /* ocaGroup */
    proto_put_str(w, o->account);
    proto_put_empty(w);           /* openClose */
    proto_put_int(w, 0);          /* origin: customer */
    proto_put_str(w, o->order_ref);
    if (with_client_id)
        proto_put_int(w, o->client_id);
    proto_put_int(w, o->perm_id);
    out_zeros(w, 3);              /* outsideRth, hidden, discretionaryAmt */
    proto_put_empty(w);           /* goodAfterTime */
}

/* faGroup, faMethod, faPercentage[, faProfile below 177], modelCode,
 * goodTillDate, rule80A, percentOffset, settlingFirm, shortSaleSlot,
 * designatedLocation, exemptCode. */
static void out_order_fa_to_exempt(proto_writer_t *w, int version)
{
    out_empties(w, version < V_FA_PROFILE_DESUPPORT ? 4 : 3);
    out_empties(w, 5);
    proto_put_int(w, 0);
    proto_put_empty(w);
    proto_put_int(w, -1);
}

static void out_peg_best_mid(proto_writer_t *w, int version)
{
    if (version >= V_PEG_BEST_MID)
        out_empties(w, 5); /* minTradeQty .. midOffsetAtHalf */
}

/* openOrder (table 4.4: 127 fields at 178 for a plain order). */
static void out_open_order(gw_session_t *s, const gw_ord_order_t *o)
{
    int v = gw_session_version(s);
    proto_writer_t *w = out_begin(s, PROTO_IN_OPEN_ORDER);
    proto_put_int(w, o->order_id);
    out_order_head(w, o, 1);
    proto_put_empty(w);           /* sharesAllocation */
    out_order_fa_to_exempt(w, v);
    proto_put_int(w, 0);          /* auctionStrategy */
    out_empties(w, 6);            /* startingPrice .. displaySize */
    out_zeros(w, 3);              /* blockOrder, sweepToFill, allOrNone */
    proto_put_empty(w);           /* minQty */
    proto_put_int(w, 3);          /* ocaType */
    out_zeros(w, 2);              /* eTradeOnly, firmQuoteOnly */
    proto_put_empty(w);           /* nbboPriceCap */
    out_zeros(w, 2);              /* parentId, triggerMethod */
    proto_put_empty(w);           /* volatility */
    proto_put_int(w, 0);          /* volatilityType */
    out_empties(w, 2);            /* deltaNeutralOrderType, deltaNeutralAuxPrice */
    out_zeros(w, 2);              /* continuousUpdate, referencePriceType */
    out_empties(w, 5);            /* trailStopPrice .. comboLegsDescrip */
    out_zeros(w, 3);              /* combo legs, order combo legs, smart params */
    out_empties(w, 4);            /* scale init, subs, increment; hedgeType */
    proto_put_int(w, 0);          /* optOutSmartRouting */
    proto_put_empty(w);           /* clearingAccount */
    proto_put_str(w, "IB");       /* clearingIntent */
    out_zeros(w, 2);              /* notHeld, deltaNeutralContract present */
    proto_put_empty(w);           /* algoStrategy */
    out_zeros(w, 2);              /* solicited, whatIf */
    proto_put_str(w, req_status_names[o->status]);
    out_empties(w, 9 + 5);        /* margins, commission .. warningText */
    out_zeros(w, 3);              /* randomizeSize, randomizePrice, nConditions */
    out_empties(w, 7);            /* adjustedOrderType .. adjustedTrailingAmount */
    proto_put_int(w, 0);          /* adjustableTrailingUnit */
    out_empties(w, 4);            /* softDollarTier name, value, displayName; cashQty */
    out_zeros(w, 3);              /* dontUseAutoPriceForHedge, isOmsContainer,
                                     discretionaryUpToLimitPrice */
    if (v >= V_PRICE_MGMT_ALGO)
        proto_put_empty(w);       /* usePriceMgmtAlgo */
    if (v >= V_DURATION)
        proto_put_empty(w);
    if (v >= V_POST_TO_ATS)
        proto_put_empty(w);
    if (v >= V_AUTO_CANCEL_PARENT)
        proto_put_int(w, 0);
    out_peg_best_mid(w, v);
    out_end(s, PROTO_IN_OPEN_ORDER);
}

/* completedOrder (the order decoders' completed-order field list). */
static void out_completed_order(gw_session_t *s, const gw_ord_order_t *o)
{
    int v = gw_session_version(s);
    char when[40];
    req_time_text(o->done_s, when);
    proto_writer_t *w = out_begin(s, PROTO_IN_COMPLETED_ORDER);
    out_order_head(w, o, 0);
    out_order_fa_to_exempt(w, v);
    out_empties(w, 6);            /* startingPrice .. displaySize */
    out_zeros(w, 2);              /* sweepToFill, allOrNone */
    proto_put_empty(w);           /* minQty */
    proto_put_int(w, 3);          /* ocaType */
    proto_put_int(w, 0);          /* triggerMethod */
    proto_put_empty(w);           /* volatility */
    proto_put_int(w, 0);          /* volatilityType */
    out_empties(w, 2);            /* deltaNeutralOrderType, deltaNeutralAuxPrice */
    out_zeros(w, 2);              /* continuousUpdate, referencePriceType */
    out_empties(w, 3);            /* trailStopPrice, trailingPercent, comboLegsDescrip */
    out_zeros(w, 3);              /* combo legs, order combo legs, smart params */
    out_empties(w, 4);            /* scale init, subs, increment; hedgeType */
    proto_put_empty(w);           /* clearingAccount */
    proto_put_str(w, "IB");       /* clearingIntent */
    out_zeros(w, 2);              /* notHeld, deltaNeutralContract present */
    proto_put_empty(w);           /* algoStrategy */
    proto_put_int(w, 0);          /* solicited */
    proto_put_str(w, req_status_names[o->status]);
    out_zeros(w, 3);              /* randomizeSize, randomizePrice, nConditions */
    out_empties(w, 3);            /* trailStopPrice, lmtPriceOffset, cashQty */
    out_zeros(w, 2);              /* dontUseAutoPriceForHedge, isOmsContainer */
    proto_put_empty(w);           /* autoCancelDate */
    proto_put_double(w, o->filled);
    out_zeros(w, 2);              /* refFuturesConId, autoCancelParent */
    proto_put_empty(w);           /* shareholder */
    out_zeros(w, 3);              /* imbalanceOnly, routeMarketableToBbo, parentPermId */
    proto_put_str(w, when);
    proto_put_str(w, req_status_names[o->status]);
    out_peg_best_mid(w, v);
    out_end(s, PROTO_IN_COMPLETED_ORDER);
}

/* execDetails: 11, reqId, orderId, Contract (12, no primaryExchange),
 * execId, time, acctNumber, exchange, side, shares, price, permId,
 * clientId, liquidation, cumQty, avgPrice, orderRef, evRule, evMultiplier,
 * modelCode, lastLiquidity[, pendingPriceRevision from 178]. */
static void out_exec(gw_session_t *s, int req_id, const gw_ord_exec_t *e)
{
    char when[40];
    req_time_text(e->time_s, when);
    const gw_mkt_contract_t *c = &e->contract;
    proto_writer_t *w = out_begin(s, PROTO_IN_EXECUTION_DATA);
    proto_put_int(w, req_id);
    proto_put_int(w, e->order_id);
    out_contract_head(w, c);
    proto_put_str(w, c->exchange);
    proto_put_str(w, c->currency);
    proto_put_str(w, c->local_symbol);
    proto_put_str(w, c->trading_class);
    proto_put_str(w, e->exec_id);
    proto_put_str(w, when);
    proto_put_str(w, e->account);
    proto_put_str(w, c->primary_exchange[0] ? c->primary_exchange : c->exchange);
    proto_put_str(w, e->side);
    proto_put_double(w, e->shares);
    proto_put_double(w, e->price);
    proto_put_int(w, e->perm_id);
    proto_put_int(w, e->client_id);
    proto_put_int(w, 0);          /* liquidation */
    proto_put_double(w, e->cum_qty);
    proto_put_double(w, e->avg_price);
    proto_put_str(w, e->order_ref);
    out_empties(w, 3);            /* evRule, evMultiplier, modelCode */
    proto_put_int(w, 2);          /* lastLiquidity: removed liquidity */
    if (gw_session_version(s) >= V_PENDING_PRICE_REVISION)
        proto_put_int(w, 0);
    out_end(s, PROTO_IN_EXECUTION_DATA);
}

/* commissionReport: 59, 1, execId, commission, currency, realizedPNL,
 * yield, yieldRedemptionDate (8); the unset doubles are DBL_MAX. */
static void out_commission(gw_session_t *s, const gw_ord_exec_t *e)
{
    proto_writer_t *w = out_begin(s, PROTO_IN_COMMISSION_REPORT);
    proto_put_int(w, 1);
    proto_put_str(w, e->exec_id);
    proto_put_double(w, e->commission);
    proto_put_str(w, e->contract.currency);
    proto_put_double(w, PROTO_DBL_UNSET);
    proto_put_double(w, PROTO_DBL_UNSET);
    proto_put_empty(w);
    out_end(s, PROTO_IN_COMMISSION_REPORT);
}

static void out_position_of(gw_session_t *s, const gw_orders_t *b, const gw_ord_order_t *o)
{
    for (size_t i = 0; i < gw_ord_position_count(b); i++) {
        const gw_ord_position_t *p = gw_ord_position_at(b, i);
        if (strcmp(p->account, o->account) == 0 && strcmp(p->contract.key, o->contract.key) == 0)
            out_position(s, p);
    }
}

void gw_req_on_order_event(gw_session_t *s, enum gw_ord_event ev, const gw_ord_order_t *o,
                           const gw_ord_exec_t *e)
{
    gw_req_session_t *st = req_state(s);
    if (ev == GW_ORD_EV_FILLED)
        out_exec(s, -1, e);
    if (ev != GW_ORD_EV_CANCELLED)
        out_open_order(s, o);
    out_order_status(s, o);
    if (ev == GW_ORD_EV_FILLED) {
        out_commission(s, e);
        if (st && st->positions_subscribed)
            out_position_of(s, gw_session_host(s)->orders, o);
    }
    if (ev == GW_ORD_EV_CANCELLED)
        out_error(s, o->order_id, PROTO_CODE_ORDER_CANCELLED,
                  proto_error_text(PROTO_CODE_ORDER_CANCELLED));
    if (!st || !st->handling)
        gw_session_settle(s);
}

/* ---- orders: requests -------------------------------------------------- */

static const char *req_order_error_text(int code)
{
    switch (code) {
    case 387:
        return "Unsupported order type for this exchange and security type.";
    case 321:
        return "Error validating request:-'bO' : cause - The action, quantity or limit "
               "price is not valid";
    default:
        return proto_error_text(code);
    }
}

/* placeOrder (table 4.3): reads orderId, the contract, action,
 * totalQuantity, orderType, lmtPrice, auxPrice, tif, ocaGroup, account,
 * openClose, origin, orderRef; the rest is not needed. */
static void req_place_order(req_ctx_t *x)
{
    gw_ord_order_t o;
    memset(&o, 0, sizeof o);
    o.order_id = in_int(&x->in);
    in_contract(&x->in, &o.contract);
    in_skip(&x->in, 2);           /* secIdType, secId */
    in_copy(&x->in, o.action, sizeof o.action);
    o.qty = in_decimal(&x->in);
    in_copy(&x->in, o.order_type, sizeof o.order_type);
    o.lmt_price = in_double(&x->in);
    in_double(&x->in);
    in_copy(&x->in, o.tif, sizeof o.tif);
    in_str(&x->in);
    in_copy(&x->in, o.account, sizeof o.account);
    in_skip(&x->in, 2);
    in_copy(&x->in, o.order_ref, sizeof o.order_ref);
    if (x->in.rc < 0)
        return;
    if (gw_mkt_contract_resolve(&o.contract) < 0) {
        out_no_security(x->s, o.order_id);
        return;
    }
    if (o.tif[0] == '\0')
        snprintf(o.tif, sizeof o.tif, "DAY");
    o.client_id = gw_session_client_id(x->s);
    int rc = gw_ord_place(x->host->orders, &o);
    if (rc < 0) {
        out_error(x->s, o.order_id, -rc, req_order_error_text(-rc));
        return;
    }
    if (o.order_id >= gw_session_next_order_id(x->s))
        gw_session_set_next_order_id(x->s, o.order_id + 1);
}

/* cancelOrder: 4, 1, orderId[, manualOrderCancelTime]. */
static void req_cancel_order(req_ctx_t *x)
{
    in_int(&x->in);
    int order_id = in_int(&x->in);
    if (x->in.rc < 0)
        return;
    if (gw_ord_cancel(x->host->orders, gw_session_client_id(x->s), order_id) < 0) {
        char text[96];
        snprintf(text, sizeof text, "OrderId %d that needs to be cancelled is not found.",
                 order_id);
        out_error(x->s, order_id, 10147, text);
    }
}

/* reqGlobalCancel: 58, 1 → every working order of every client cancelled. */
static void req_global_cancel(req_ctx_t *x)
{
    in_int(&x->in);
    if (x->in.rc == 0)
        gw_ord_cancel_all(x->host->orders);
}

/* reqOpenOrders (5, 1): this client's working orders; reqAllOpenOrders
 * (16, 1): everyone's. Each as openOrder + orderStatus, then openOrderEnd. */
static void req_open_orders_of(req_ctx_t *x, int all)
{
    in_int(&x->in);
    if (x->in.rc < 0)
        return;
    const gw_orders_t *b = x->host->orders;
    int client_id = gw_session_client_id(x->s);
    for (size_t i = 0; i < gw_ord_count(b); i++) {
        const gw_ord_order_t *o = gw_ord_at(b, i);
        if (o->status == GW_ORD_SUBMITTED && (all || o->client_id == client_id)) {
            out_open_order(x->s, o);
            out_order_status(x->s, o);
        }
    }
    out_version_only(x->s, PROTO_IN_OPEN_ORDER_END);
}

static void req_open_orders(req_ctx_t *x)
{
    req_open_orders_of(x, 0);
}

static void req_all_open_orders(req_ctx_t *x)
{
    req_open_orders_of(x, 1);
}

/* reqCompletedOrders: 99, apiOnly → completedOrder × n, completedOrdersEnd
 * (the id alone). */
static void req_completed_orders(req_ctx_t *x)
{
    in_bool(&x->in);
    if (x->in.rc < 0)
        return;
    const gw_orders_t *b = x->host->orders;
    for (size_t i = 0; i < gw_ord_count(b); i++)
        if (gw_ord_at(b, i)->status != GW_ORD_SUBMITTED)
            out_completed_order(x->s, gw_ord_at(b, i));
    out_begin(x->s, PROTO_IN_COMPLETED_ORDERS_END);
    out_end(x->s, PROTO_IN_COMPLETED_ORDERS_END);
}

typedef struct req_exec_filter {
    int client_id;
    char account[32];
    char symbol[16];
    char sec_type[8];
    char side[8];
} req_exec_filter_t;

/* 0 and "" match everything; side BUY/SELL matches BOT/SLD. */
static int req_exec_matches(const req_exec_filter_t *f, const gw_ord_exec_t *e)
{
    const char *side = strcmp(f->side, "BUY") == 0 ? "BOT" : strcmp(f->side, "SELL") == 0 ? "SLD"
                                                                                         : f->side;
    return (f->client_id == 0 || f->client_id == PROTO_INT_UNSET ||
            f->client_id == e->client_id) &&
           (!f->account[0] || strcmp(f->account, e->account) == 0) &&
           (!f->symbol[0] || strcmp(f->symbol, e->contract.symbol) == 0) &&
           (!f->sec_type[0] || strcmp(f->sec_type, e->contract.sec_type) == 0) &&
           (!side[0] || strcmp(side, e->side) == 0);
}

/* reqExecutions: 7, 3, reqId, clientId, acctCode, time, symbol, secType,
 * exchange, side → {execDetails, commissionReport} per matching fill
 * (the time filter is not applied), execDetailsEnd. */
static void req_executions(req_ctx_t *x)
{
    req_exec_filter_t f;
    in_int(&x->in);
    int req_id = in_int(&x->in);
    f.client_id = in_int(&x->in);
    in_copy(&x->in, f.account, sizeof f.account);
    in_str(&x->in);
    in_copy(&x->in, f.symbol, sizeof f.symbol);
    in_copy(&x->in, f.sec_type, sizeof f.sec_type);
    in_str(&x->in);
    in_copy(&x->in, f.side, sizeof f.side);
    if (x->in.rc < 0)
        return;
    const gw_orders_t *b = x->host->orders;
    for (size_t i = 0; i < gw_ord_exec_count(b); i++) {
        const gw_ord_exec_t *e = gw_ord_exec_at(b, i);
        if (req_exec_matches(&f, e)) {
            out_exec(x->s, req_id, e);
            out_commission(x->s, e);
        }
    }
    gw_session_send_int(x->s, PROTO_IN_EXECUTION_DATA_END, req_id);
}

/* ---- dispatch ---------------------------------------------------------- */

/* Indexed by message id, so that finding the handler is one load. */
static void (*const req_handlers[])(req_ctx_t *x) = {
    [PROTO_OUT_REQ_MKT_DATA] = req_mkt_data,
    [PROTO_OUT_CANCEL_MKT_DATA] = req_cancel_mkt_data,
    [PROTO_OUT_PLACE_ORDER] = req_place_order,
    [PROTO_OUT_CANCEL_ORDER] = req_cancel_order,
    [PROTO_OUT_REQ_OPEN_ORDERS] = req_open_orders,
    [PROTO_OUT_REQ_ACCT_DATA] = req_account_updates,
    [PROTO_OUT_REQ_EXECUTIONS] = req_executions,
    [PROTO_OUT_REQ_IDS] = req_ids,
    [PROTO_OUT_REQ_CONTRACT_DATA] = req_contract_details,
    [PROTO_OUT_REQ_AUTO_OPEN_ORDERS] = req_auto_open_orders,
    [PROTO_OUT_REQ_ALL_OPEN_ORDERS] = req_all_open_orders,
    [PROTO_OUT_REQ_MANAGED_ACCTS] = req_managed_accounts,
    [PROTO_OUT_REQ_HISTORICAL_DATA] = req_historical,
    [PROTO_OUT_CANCEL_HISTORICAL_DATA] = req_cancel_historical,
    [PROTO_OUT_REQ_CURRENT_TIME] = req_current_time,
    [PROTO_OUT_REQ_GLOBAL_CANCEL] = req_global_cancel,
    [PROTO_OUT_REQ_MARKET_DATA_TYPE] = req_market_data_type,
    [PROTO_OUT_REQ_POSITIONS] = req_positions,
    [PROTO_OUT_REQ_ACCOUNT_SUMMARY] = req_account_summary,
    [PROTO_OUT_CANCEL_ACCOUNT_SUMMARY] = req_cancel_account_summary,
    [PROTO_OUT_CANCEL_POSITIONS] = req_cancel_positions,
    [PROTO_OUT_REQ_ACCOUNT_UPDATES_MULTI] = req_account_updates_multi,
    [PROTO_OUT_REQ_COMPLETED_ORDERS] = req_completed_orders,
};

int gw_req_handle_plain(gw_session_t *s, const proto_frame_t *f)
{
    static const uint8_t current_time[] = {'4', '9', '\0', '1', '\0'};
    if (f->len != sizeof current_time || memcmp(f->payload, current_time, sizeof current_time))
        return 0;
    /* What req_current_time answers; the request state is not needed. */
    gw_session_send_int(s, PROTO_IN_CURRENT_TIME,
                        io_wall_us(gw_session_host(s)->loop) / IO_US_PER_S);
    return 1;
}

void gw_req_handle(gw_session_t *s, int32_t id, proto_reader_t *r)
{
    const gw_session_host_t *host = gw_session_host(s);
    /* Not an initializer: that would clear all of in.err on every request. */
    req_ctx_t x;
    x.s = s;
    x.st = req_state(s);
    x.host = host;
    x.version = gw_session_version(s);
    x.now_s = io_wall_us(host->loop) / IO_US_PER_S;
    x.in.r = r;
    x.in.rc = 0;
    x.in.err[0] = '\0';
    if (!x.st) {
        out_error(s, -1, PROTO_CODE_SERVER_ERROR, "Error processing request: out of memory");
        return;
    }
    void (*handle)(req_ctx_t *x) = NULL;
    if (id >= 0 && (size_t)id < sizeof req_handlers / sizeof req_handlers[0])
        handle = req_handlers[id];
    if (!handle) {
        io_log(host->loop, IO_LOG_WARN, REQ_SRC, "client_id=%d unknown message id %d",
               gw_session_client_id(s), (int)id);
        out_error(s, -1, GW_REQ_UNKNOWN_ID, "Fatal Error: Unknown message id.");
        return;
    }
    x.st->handling = 1;
    handle(&x);
    x.st->handling = 0;
    if (x.in.rc < 0) {
        char text[REQ_ERR_MAX + 64];
        snprintf(text, sizeof text, "Error reading request: %s: %s", proto_out_name(id),
                 x.in.err);
        io_log(host->loop, IO_LOG_WARN, REQ_SRC, "client_id=%d %s", gw_session_client_id(s),
               text);
        out_error(s, -1, GW_REQ_BAD_FIELDS, text);
    }
}
