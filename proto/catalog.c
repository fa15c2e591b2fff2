/* catalog.c - the names of message ids (both directions) and of the error
 * and notice codes, with the texts a Gateway sends for them. Names are
 * found by id in one step (every traced message is named); the other
 * lookups scan small tables. */
#include "catalog.h"

#include <stddef.h>
#include <string.h>

typedef struct catalog_code {
    int code;
    const char *name;
    const char *text;
} catalog_code_t;

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const catalog_in[] = {
    [PROTO_IN_TICK_PRICE] = "tickPrice",
    [PROTO_IN_TICK_SIZE] = "tickSize",
    [PROTO_IN_ORDER_STATUS] = "orderStatus",
    [PROTO_IN_ERR_MSG] = "errMsg",
    [PROTO_IN_OPEN_ORDER] = "openOrder",
    [PROTO_IN_ACCT_VALUE] = "acctValue",
    [PROTO_IN_PORTFOLIO_VALUE] = "portfolioValue",
    [PROTO_IN_ACCT_UPDATE_TIME] = "acctUpdateTime",
    [PROTO_IN_NEXT_VALID_ID] = "nextValidId",
    [PROTO_IN_CONTRACT_DATA] = "contractData",
    [PROTO_IN_EXECUTION_DATA] = "execDetails",
    [PROTO_IN_MANAGED_ACCTS] = "managedAccounts",
    [PROTO_IN_HISTORICAL_DATA] = "historicalData",
    [PROTO_IN_TICK_GENERIC] = "tickGeneric",
    [PROTO_IN_TICK_STRING] = "tickString",
    [PROTO_IN_CURRENT_TIME] = "currentTime",
    [PROTO_IN_CONTRACT_DATA_END] = "contractDataEnd",
    [PROTO_IN_OPEN_ORDER_END] = "openOrderEnd",
    [PROTO_IN_ACCT_DOWNLOAD_END] = "acctDownloadEnd",
    [PROTO_IN_EXECUTION_DATA_END] = "execDetailsEnd",
    [PROTO_IN_TICK_SNAPSHOT_END] = "tickSnapshotEnd",
    [PROTO_IN_MARKET_DATA_TYPE] = "marketDataType",
    [PROTO_IN_COMMISSION_REPORT] = "commissionReport",
    [PROTO_IN_POSITION_DATA] = "position",
    [PROTO_IN_POSITION_END] = "positionEnd",
    [PROTO_IN_ACCOUNT_SUMMARY] = "accountSummary",
    [PROTO_IN_ACCOUNT_SUMMARY_END] = "accountSummaryEnd",
    [PROTO_IN_ACCOUNT_UPDATE_MULTI] = "accountUpdateMulti",
    [PROTO_IN_ACCOUNT_UPDATE_MULTI_END] = "accountUpdateMultiEnd",
    [PROTO_IN_TICK_REQ_PARAMS] = "tickReqParams",
    [PROTO_IN_HISTORICAL_DATA_UPDATE] = "historicalDataUpdate",
    [PROTO_IN_COMPLETED_ORDER] = "completedOrder",
    [PROTO_IN_COMPLETED_ORDERS_END] = "completedOrdersEnd",
    [PROTO_IN_HISTORICAL_DATA_END] = "historicalDataEnd",
};

static const char *const catalog_out[] = {
    [PROTO_OUT_REQ_MKT_DATA] = "reqMktData",
    [PROTO_OUT_CANCEL_MKT_DATA] = "cancelMktData",
    [PROTO_OUT_PLACE_ORDER] = "placeOrder",
    [PROTO_OUT_CANCEL_ORDER] = "cancelOrder",
    [PROTO_OUT_REQ_OPEN_ORDERS] = "reqOpenOrders",
    [PROTO_OUT_REQ_ACCT_DATA] = "reqAccountUpdates",
    [PROTO_OUT_REQ_EXECUTIONS] = "reqExecutions",
    [PROTO_OUT_REQ_IDS] = "reqIds",
    [PROTO_OUT_REQ_CONTRACT_DATA] = "reqContractDetails",
    [PROTO_OUT_REQ_AUTO_OPEN_ORDERS] = "reqAutoOpenOrders",
    [PROTO_OUT_REQ_ALL_OPEN_ORDERS] = "reqAllOpenOrders",
    [PROTO_OUT_REQ_MANAGED_ACCTS] = "reqManagedAccts",
    [PROTO_OUT_REQ_HISTORICAL_DATA] = "reqHistoricalData",
    [PROTO_OUT_CANCEL_HISTORICAL_DATA] = "cancelHistoricalData",
    [PROTO_OUT_REQ_CURRENT_TIME] = "reqCurrentTime",
    [PROTO_OUT_REQ_GLOBAL_CANCEL] = "reqGlobalCancel",
    [PROTO_OUT_REQ_MARKET_DATA_TYPE] = "reqMarketDataType",
    [PROTO_OUT_REQ_POSITIONS] = "reqPositions",
    [PROTO_OUT_REQ_ACCOUNT_SUMMARY] = "reqAccountSummary",
    [PROTO_OUT_CANCEL_ACCOUNT_SUMMARY] = "cancelAccountSummary",
    [PROTO_OUT_CANCEL_POSITIONS] = "cancelPositions",
    [PROTO_OUT_START_API] = "startApi",
    [PROTO_OUT_REQ_ACCOUNT_UPDATES_MULTI] = "reqAccountUpdatesMulti",
    [PROTO_OUT_REQ_COMPLETED_ORDERS] = "reqCompletedOrders",
};

/* Farm texts end in ':' because the Gateway appends the farm name
 * ("...is OK:usfarm"); the sender adds the detail after the text. */
static const catalog_code_t catalog_codes[] = {
    {PROTO_CODE_PACING, "PACING", "Max rate of messages per second has been exceeded:max=50"},
    {PROTO_CODE_DUPLICATE_ORDER_ID, "DUPLICATE_ORDER_ID", "Duplicate order id"},
    {PROTO_CODE_HMDS_ERROR, "HMDS_ERROR",
     "Historical Market Data Service error message:HMDS query returned no data"},
    {PROTO_CODE_HMDS_QUERY, "HMDS_QUERY", "Historical Market Data Service query message:"},
    {PROTO_CODE_NO_SECURITY_DEF, "NO_SECURITY_DEF",
     "No security definition has been found for the request"},
    {PROTO_CODE_ORDER_CANCELLED, "ORDER_CANCELLED", "Order Canceled - reason:"},
    {PROTO_CODE_SERVER_ERROR, "SERVER_ERROR", "Error processing request."},
    {PROTO_CODE_CLIENT_ID_IN_USE, "CLIENT_ID_IN_USE",
     "Unable to connect as the client id is already in use. Retry with a unique client id."},
    {PROTO_CODE_NO_HIST_QUERY, "NO_HIST_QUERY", "No historical data query found for ticker id:"},
    {PROTO_CODE_CONNECTIVITY_LOST, "CONNECTIVITY_LOST",
     "Connectivity between IB and Trader Workstation has been lost."},
    {PROTO_CODE_RESTORED_DATA_LOST, "RESTORED_DATA_LOST",
     "Connectivity between IB and Trader Workstation has been restored - data lost."},
    {PROTO_CODE_RESTORED_DATA_KEPT, "RESTORED_DATA_KEPT",
     "Connectivity between IB and Trader Workstation has been restored - data maintained."},
    {PROTO_CODE_PORT_CHANGED, "PORT_CHANGED",
     "TWS socket port has been reset and this connection is being dropped. "
     "Please reconnect on the new port -"},
    {PROTO_CODE_MKT_FARM_BROKEN, "MKT_FARM_BROKEN", "Market data farm connection is broken:"},
    {PROTO_CODE_MKT_FARM_OK, "MKT_FARM_OK", "Market data farm connection is OK:"},
    {PROTO_CODE_HMDS_FARM_BROKEN, "HMDS_FARM_BROKEN", "HMDS data farm connection is broken:"},
    {PROTO_CODE_HMDS_FARM_OK, "HMDS_FARM_OK", "HMDS data farm connection is OK:"},
    {PROTO_CODE_HMDS_FARM_INACTIVE, "HMDS_FARM_INACTIVE",
     "HMDS data farm connection is inactive but should be available upon demand."},
    {PROTO_CODE_MKT_FARM_INACTIVE, "MKT_FARM_INACTIVE",
     "Market data farm connection is inactive but should be available upon demand."},
    {PROTO_CODE_CONNECTIVITY_BROKEN, "CONNECTIVITY_BROKEN",
     "Connectivity between Trader Workstation and server is broken. "
     "It will be restored automatically."},
    {PROTO_CODE_SECDEF_FARM_BROKEN, "SECDEF_FARM_BROKEN",
     "Sec-def data farm connection is broken:"},
    {PROTO_CODE_SECDEF_FARM_OK, "SECDEF_FARM_OK", "Sec-def data farm connection is OK:"},
};

/* Codes outside 2100-2199 that both ib_insync and ib_async log as warnings
 * rather than errors (the two lists' common part; 202 is in only one). */
static const int catalog_notice_codes[] = {110, 165, 399, 404, 434, 492, 10167};

/* The name tables are indexed by message id (NULL: no such message), so
 * that naming a message costs one load: every message a run sends or
 * receives is traced by name. */
static const char *names_find_name(const char *const *t, size_t n, int id)
{
    return id >= 0 && (size_t)id < n ? t[id] : NULL;
}

static int names_find_id(const char *const *t, size_t n, const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (t[i] && strcmp(t[i], name) == 0)
            return (int)i;
    return -1;
}

static const catalog_code_t *codes_find(int code)
{
    for (size_t i = 0; i < COUNT(catalog_codes); i++)
        if (catalog_codes[i].code == code)
            return &catalog_codes[i];
    return NULL;
}

const char *proto_in_name(int id)
{
    return names_find_name(catalog_in, COUNT(catalog_in), id);
}

const char *proto_out_name(int id)
{
    return names_find_name(catalog_out, COUNT(catalog_out), id);
}

int proto_in_id(const char *name)
{
    return names_find_id(catalog_in, COUNT(catalog_in), name);
}

int proto_out_id(const char *name)
{
    return names_find_id(catalog_out, COUNT(catalog_out), name);
}

const char *proto_error_name(int code)
{
    const catalog_code_t *c = codes_find(code);
    return c ? c->name : NULL;
}

const char *proto_error_text(int code)
{
    const catalog_code_t *c = codes_find(code);
    return c ? c->text : NULL;
}

int proto_error_is_notice(int code)
{
    if (code >= 2100 && code <= 2199)
        return 1;
    for (size_t i = 0; i < COUNT(catalog_notice_codes); i++)
        if (catalog_notice_codes[i] == code)
            return 1;
    return 0;
}
