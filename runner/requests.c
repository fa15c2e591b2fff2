/* requests.c - the cycle's request frames (see requests.h). Field lists
 * follow tws-protocol.md §4.1/§4.3 at server version 178; the values of
 * unused order fields are what a plain client (ib_async) sends. */
#include "requests.h"

#include "../proto/proto.h"

/* placeOrder fields 28..113 of a plain order, in wire order ("" = unset). */
static const char *const rq_order_tail[] = {
    /* 28 parentId, blockOrder, sweepToFill, displaySize, triggerMethod, outsideRth, hidden */
    "0", "0", "0", "0", "0", "0", "0",
    /* 35 (sharesAllocation), discretionaryAmt, goodAfterTime, goodTillDate */
    "", "0", "", "",
    /* 39 faGroup, faMethod, faPercentage, modelCode */
    "", "", "", "",
    /* 43 shortSaleSlot, designatedLocation, exemptCode, ocaType, rule80A, settlingFirm */
    "0", "", "-1", "0", "", "",
    /* 49 allOrNone, minQty, percentOffset, eTradeOnly, firmQuoteOnly, nbboPriceCap */
    "0", "", "", "0", "0", "",
    /* 55 auctionStrategy, startingPrice, stockRefPrice, delta, stockRangeLower/Upper */
    "0", "", "", "", "", "",
    /* 61 overridePercentageConstraints, volatility, volatilityType */
    "0", "", "",
    /* 64 deltaNeutralOrderType (must stay "": no delta-neutral block), deltaNeutralAuxPrice */
    "", "",
    /* 66 continuousUpdate, referencePriceType, trailStopPrice, trailingPercent */
    "0", "", "", "",
    /* 70 scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement ("": no scale block) */
    "", "", "",
    /* 73 scaleTable, activeStartTime, activeStopTime, hedgeType ("": no hedgeParam) */
    "", "", "", "",
    /* 77 optOutSmartRouting, clearingAccount, clearingIntent, notHeld */
    "0", "", "", "0",
    /* 81 deltaNeutralContract present, algoStrategy ("": no params), algoId, whatIf */
    "0", "", "", "0",
    /* 85 orderMiscOptions, solicited, randomizeSize, randomizePrice, nConditions */
    "", "0", "0", "0", "0",
    /* 90 adjustedOrderType, triggerPrice, lmtPriceOffset, adjustedStopPrice,
     *    adjustedStopLimitPrice, adjustedTrailingAmount, adjustableTrailingUnit */
    "", "", "", "", "", "", "0",
    /* 97 extOperator, softDollarTier name and value, cashQty */
    "", "", "", "",
    /* 101 mifid2DecisionMaker, DecisionAlgo, ExecutionTrader, ExecutionAlgo */
    "", "", "", "",
    /* 105 dontUseAutoPriceForHedge, isOmsContainer, discretionaryUpToLimitPrice */
    "0", "0", "0",
    /* 108 usePriceMgmtAlgo, duration, postToAts, autoCancelParent */
    "", "", "", "0",
    /* 112 advancedErrorOverride, manualOrderTime */
    "", "",
};

_Static_assert(sizeof rq_order_tail / sizeof rq_order_tail[0] == 114 - 28,
               "placeOrder at 178 has 114 fields");

static void rq_begin(proto_writer_t *w, int id)
{
    proto_writer_reset(w);
    proto_frame_begin(w);
    proto_put_int(w, id);
}

/* conId, symbol, secType, lastTradeDate, strike, right, multiplier,
 * exchange, primaryExchange, currency, localSymbol, tradingClass. */
static void rq_put_stock(proto_writer_t *w, const char *symbol)
{
    static const char *const tail[] = {"", "0.0", "", "", "SMART", "", "USD", "", ""};
    proto_put_int(w, 0);
    proto_put_str(w, symbol);
    proto_put_str(w, "STK");
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        proto_put_str(w, tail[i]);
}

/* The many requests that are just an id and a version. */
static int rq_simple(proto_writer_t *w, int id)
{
    rq_begin(w, id);
    proto_put_int(w, 1);
    return proto_frame_end(w);
}

int rq_req_positions(proto_writer_t *w)
{
    return rq_simple(w, PROTO_OUT_REQ_POSITIONS);
}

int rq_cancel_positions(proto_writer_t *w)
{
    return rq_simple(w, PROTO_OUT_CANCEL_POSITIONS);
}

int rq_req_open_orders(proto_writer_t *w)
{
    return rq_simple(w, PROTO_OUT_REQ_OPEN_ORDERS);
}

int rq_req_historical(proto_writer_t *w, int32_t req_id, const char *symbol,
                      const rq_history_t *h)
{
    rq_begin(w, PROTO_OUT_REQ_HISTORICAL_DATA); /* no version field since 124 */
    proto_put_int(w, req_id);
    rq_put_stock(w, symbol);
    proto_put_bool(w, 0);      /* includeExpired */
    proto_put_empty(w);        /* endDateTime: now */
    proto_put_str(w, h->bar_size);
    proto_put_str(w, h->duration);
    proto_put_bool(w, h->use_rth);
    proto_put_str(w, h->what);
    proto_put_int(w, 1);       /* formatDate: text */
    proto_put_bool(w, 0);      /* keepUpToDate */
    proto_put_empty(w);        /* chartOptions */
    return proto_frame_end(w);
}

int rq_cancel_historical(proto_writer_t *w, int32_t req_id)
{
    rq_begin(w, PROTO_OUT_CANCEL_HISTORICAL_DATA);
    proto_put_int(w, 1);
    proto_put_int(w, req_id);
    return proto_frame_end(w);
}

int rq_place_market_order(proto_writer_t *w, int32_t order_id, const char *symbol,
                          const char *action, int64_t qty)
{
    rq_begin(w, PROTO_OUT_PLACE_ORDER); /* no version field since 145 */
    proto_put_int(w, order_id);
    rq_put_stock(w, symbol);
    proto_put_empty(w);          /* 14 secIdType */
    proto_put_empty(w);          /* 15 secId */
    proto_put_str(w, action);    /* 16 */
    proto_put_int(w, qty);       /* 17 totalQuantity */
    proto_put_str(w, "MKT");     /* 18 orderType */
    proto_put_empty(w);          /* 19 lmtPrice */
    proto_put_empty(w);          /* 20 auxPrice */
    proto_put_str(w, "DAY");     /* 21 tif */
    proto_put_empty(w);          /* 22 ocaGroup */
    proto_put_empty(w);          /* 23 account: the default one */
    proto_put_empty(w);          /* 24 openClose */
    proto_put_int(w, 0);         /* 25 origin: customer */
    proto_put_empty(w);          /* 26 orderRef */
    proto_put_bool(w, 1);        /* 27 transmit */
    for (size_t i = 0; i < sizeof rq_order_tail / sizeof rq_order_tail[0]; i++)
        proto_put_str(w, rq_order_tail[i]);
    return proto_frame_end(w);
}

int rq_req_executions(proto_writer_t *w, int32_t req_id, int client_id)
{
    rq_begin(w, PROTO_OUT_REQ_EXECUTIONS);
    proto_put_int(w, 3);
    proto_put_int(w, req_id);
    proto_put_int(w, client_id);
    for (int i = 0; i < 6; i++) /* acctCode, time, symbol, secType, exchange, side */
        proto_put_empty(w);
    return proto_frame_end(w);
}
