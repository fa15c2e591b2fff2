/* catalog.h - message ids in both directions and error/notice codes, with
 * names for logs, traces and `mockgw inspect` (server version 178). */
#ifndef PROTO_CATALOG_H
#define PROTO_CATALOG_H

/* Server → client message ids. */
enum proto_in_id {
    PROTO_IN_TICK_PRICE = 1,
    PROTO_IN_TICK_SIZE = 2,
    PROTO_IN_ORDER_STATUS = 3,
    PROTO_IN_ERR_MSG = 4,
    PROTO_IN_OPEN_ORDER = 5,
    PROTO_IN_ACCT_VALUE = 6,
    PROTO_IN_PORTFOLIO_VALUE = 7,
    PROTO_IN_ACCT_UPDATE_TIME = 8,
    PROTO_IN_NEXT_VALID_ID = 9,
    PROTO_IN_CONTRACT_DATA = 10,
    PROTO_IN_EXECUTION_DATA = 11,
    PROTO_IN_MANAGED_ACCTS = 15,
    PROTO_IN_HISTORICAL_DATA = 17,
    PROTO_IN_TICK_GENERIC = 45,
    PROTO_IN_TICK_STRING = 46,
    PROTO_IN_CURRENT_TIME = 49,
    PROTO_IN_CONTRACT_DATA_END = 52,
    PROTO_IN_OPEN_ORDER_END = 53,
    PROTO_IN_ACCT_DOWNLOAD_END = 54,
    PROTO_IN_EXECUTION_DATA_END = 55,
    PROTO_IN_TICK_SNAPSHOT_END = 57,
    PROTO_IN_MARKET_DATA_TYPE = 58,
    PROTO_IN_COMMISSION_REPORT = 59,
    PROTO_IN_POSITION_DATA = 61,
    PROTO_IN_POSITION_END = 62,
    PROTO_IN_ACCOUNT_SUMMARY = 63,
    PROTO_IN_ACCOUNT_SUMMARY_END = 64,
    PROTO_IN_ACCOUNT_UPDATE_MULTI = 73,
    PROTO_IN_ACCOUNT_UPDATE_MULTI_END = 74,
    PROTO_IN_TICK_REQ_PARAMS = 81,
    PROTO_IN_HISTORICAL_DATA_UPDATE = 90,
    PROTO_IN_COMPLETED_ORDER = 101,
    PROTO_IN_COMPLETED_ORDERS_END = 102,
    PROTO_IN_HISTORICAL_DATA_END = 108
};

/* Client → server message ids. */
enum proto_out_id {
    PROTO_OUT_REQ_MKT_DATA = 1,
    PROTO_OUT_CANCEL_MKT_DATA = 2,
    PROTO_OUT_PLACE_ORDER = 3,
    PROTO_OUT_CANCEL_ORDER = 4,
    PROTO_OUT_REQ_OPEN_ORDERS = 5,
    PROTO_OUT_REQ_ACCT_DATA = 6,
    PROTO_OUT_REQ_EXECUTIONS = 7,
    PROTO_OUT_REQ_IDS = 8,
    PROTO_OUT_REQ_CONTRACT_DATA = 9,
    PROTO_OUT_REQ_AUTO_OPEN_ORDERS = 15,
    PROTO_OUT_REQ_ALL_OPEN_ORDERS = 16,
    PROTO_OUT_REQ_MANAGED_ACCTS = 17,
    PROTO_OUT_REQ_HISTORICAL_DATA = 20,
    PROTO_OUT_CANCEL_HISTORICAL_DATA = 25,
    PROTO_OUT_REQ_CURRENT_TIME = 49,
    PROTO_OUT_REQ_GLOBAL_CANCEL = 58,
    PROTO_OUT_REQ_MARKET_DATA_TYPE = 59,
    PROTO_OUT_REQ_POSITIONS = 61,
    PROTO_OUT_REQ_ACCOUNT_SUMMARY = 62,
    PROTO_OUT_CANCEL_ACCOUNT_SUMMARY = 63,
    PROTO_OUT_CANCEL_POSITIONS = 64,
    PROTO_OUT_START_API = 71,
    PROTO_OUT_REQ_ACCOUNT_UPDATES_MULTI = 76,
    PROTO_OUT_REQ_COMPLETED_ORDERS = 99
};

/* Error and notice codes (errMsg, id 4) the project acts on or sends. */
enum proto_error_code {
    PROTO_CODE_PACING = 100,
    PROTO_CODE_DUPLICATE_ORDER_ID = 103,
    PROTO_CODE_HMDS_ERROR = 162,
    PROTO_CODE_HMDS_QUERY = 165,
    PROTO_CODE_NO_SECURITY_DEF = 200,
    PROTO_CODE_ORDER_CANCELLED = 202,
    PROTO_CODE_SERVER_ERROR = 322,
    PROTO_CODE_CLIENT_ID_IN_USE = 326,
    PROTO_CODE_NO_HIST_QUERY = 366,
    PROTO_CODE_CONNECTIVITY_LOST = 1100,
    PROTO_CODE_RESTORED_DATA_LOST = 1101,
    PROTO_CODE_RESTORED_DATA_KEPT = 1102,
    PROTO_CODE_PORT_CHANGED = 1300,
    PROTO_CODE_MKT_FARM_BROKEN = 2103,
    PROTO_CODE_MKT_FARM_OK = 2104,
    PROTO_CODE_HMDS_FARM_BROKEN = 2105,
    PROTO_CODE_HMDS_FARM_OK = 2106,
    PROTO_CODE_HMDS_FARM_INACTIVE = 2107,
    PROTO_CODE_MKT_FARM_INACTIVE = 2108,
    PROTO_CODE_CONNECTIVITY_BROKEN = 2110,
    PROTO_CODE_SECDEF_FARM_BROKEN = 2157,
    PROTO_CODE_SECDEF_FARM_OK = 2158
};

/* Names as the public clients spell them ("currentTime", "reqCurrentTime"),
 * or NULL for an id the catalogue does not know. */
const char *proto_in_name(int id);
const char *proto_out_name(int id);

/* The id for a name, or -1. */
int proto_in_id(const char *name);
int proto_out_id(const char *name);

/* A short symbolic name ("CLIENT_ID_IN_USE") and the text a Gateway sends
 * ("Unable to connect as the client id is already in use. Retry with a
 * unique client id."), or NULL for an unknown code. */
const char *proto_error_name(int code);
const char *proto_error_text(int code);

/* 1 for codes clients treat as warnings/notices (2100-2199 and the
 * informational ones), 0 otherwise. */
int proto_error_is_notice(int code);

#endif
