/* market.h - the mock gateway's synthetic market: contracts (what a
 * symbol resolves to) and prices. The price of a symbol at a time is a pure
 * function of (market_seed, symbol, time): a sum of seeded random ramps at
 * time scales from 5 seconds to about two months, which wanders like a
 * random walk around the symbol's starting price. Every request, every
 * session and every gateway with the same seed sees the same history.
 *
 * Bars follow the request: bar size, duration, end, whatToShow and useRTH
 * (regular hours: 09:30-16:00 America/New_York on weekdays). Without useRTH
 * intraday bars run around the clock, every day (the forex probe of the
 * ib_insync Watchdog gets bars at any hour). */
#ifndef MOCKGW_MARKET_H
#define MOCKGW_MARKET_H

#include <stddef.h>
#include <stdint.h>

#include "gateway.h"

/* At most this many bars per request; more is a 162 as on a Gateway. */
#define GW_MKT_BARS_MAX 20000

typedef struct gw_market gw_market_t;

/* A contract as the gateway knows it. The request fills symbol, sec_type,
 * exchange, currency (and con_id if it has one); gw_mkt_contract_resolve
 * completes the rest. */
typedef struct gw_mkt_contract {
    int32_t con_id;
    char symbol[16];
    char sec_type[8];         /* "STK" or "CASH" */
    char exchange[16];        /* default SMART (STK), IDEALPRO (CASH) */
    char primary_exchange[16];
    char currency[8];
    char local_symbol[24];
    char trading_class[24];
    char key[24];             /* the market's name for it: "AAPL", "EURUSD" */
} gw_mkt_contract_t;

enum gw_mkt_what { GW_MKT_TRADES, GW_MKT_MIDPOINT, GW_MKT_BID, GW_MKT_ASK };

typedef struct gw_mkt_bar {
    int64_t start_s;          /* UTC */
    int daily;                /* 1: a whole session, dated yyyyMMdd */
    int count;                /* -1 unless TRADES */
    double open, high, low, close;
    double volume;            /* -1 unless TRADES */
    double wap;               /* -1 unless TRADES */
    /* The market's number for this bar's value, given when it is built
     * and kept while the market keeps the bar: two bars of one market
     * with the same serial are equal in every field (a caller keeping
     * bars tells them apart with one compare). Never 0. */
    uint64_t serial;
} gw_mkt_bar_t;

/* A historical request, parsed by gw_mkt_parse_query. */
typedef struct gw_mkt_query {
    int64_t end_s;            /* UTC */
    int bar_s;                /* 86400 means daily bars */
    int dur_n;
    char dur_unit;            /* 'S' 'D' 'W' 'M' 'Y' */
    int use_rth;
    enum gw_mkt_what what;
} gw_mkt_query_t;

/* The market of a gateway config (market_seed, prices); reads cfg on every
 * call, so cfg must outlive it. NULL on allocation failure. */
gw_market_t *gw_mkt_new(const gw_config_t *cfg);
void gw_mkt_free(gw_market_t *m);

/* Fills in a requested contract. 0, or IO_ERR_INVAL when there is no such
 * security (empty symbol, a secType other than STK/CASH, a CASH pair without
 * currency): the caller answers 200. */
int gw_mkt_contract_resolve(gw_mkt_contract_t *c);

/* The contract of a stock symbol (positions from the config). */
void gw_mkt_stock(gw_mkt_contract_t *c, const char *symbol);

/* Price of the market key at UTC second t, rounded to its tick. */
double gw_mkt_price(const gw_market_t *m, const char *key, int64_t t_s);
/* The tick: 0.01 for prices of 10 and more, 0.0001 below. */
double gw_mkt_min_tick(const gw_market_t *m, const char *key);

/* Parses endDateTime ("" = now_s; "yyyyMMdd HH:mm:ss[ zone]" with zone
 * UTC/GMT or US/Eastern/America/New_York or none = New York;
 * "yyyyMMdd-HH:mm:ss" = UTC), barSizeSetting ("5 secs", "1 min", "30 mins",
 * "1 hour", "1 day", ...), durationStr ("30 S", "2 D", "1 W", "1 M", "1 Y")
 * and whatToShow. 0, or IO_ERR_INVAL with what was wrong in err. */
int gw_mkt_parse_query(const char *end, const char *bar_size, const char *duration,
                       const char *what, int use_rth, int64_t now_s, gw_mkt_query_t *q,
                       char *err, size_t errlen);

/* The bars of q for key, oldest first, in a malloc'd array the caller
 * frees; *start_s is where the requested span starts. 0, IO_ERR_NOMEM, or
 * IO_ERR_INVAL (more than GW_MKT_BARS_MAX bars) with the reason in err. */
int gw_mkt_bars(const gw_market_t *m, const char *key, const gw_mkt_query_t *q,
                gw_mkt_bar_t **out, size_t *n, int64_t *start_s, char *err, size_t errlen);

/* A bar date or span bound as a Gateway writes it: formatDate 1 gives
 * "yyyyMMdd HH:mm:ss US/Eastern" (New York time), or "yyyyMMdd" when daily;
 * formatDate 2 gives Unix seconds (daily bars stay "yyyyMMdd"). */
void gw_mkt_format_date(int64_t t_s, int daily, int format_date, char buf[40]);

#endif
