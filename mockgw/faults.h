/* faults.h - the mock gateway's fault controller: every fault of the
 * scenario contract, callable from code (the sim engine), from `mockgw ctl`
 * at runtime, and from the gateway's own daily-restart schedule. Each fault
 * can target every session (client_id < 0) or one client id; each traces
 * `fault:<kind>` (src "gateway") with its parameters when applied, and a
 * fault with a duration traces `fault_end:<kind>` when it ends. All timing
 * is on the io clock and every random choice comes from io_random_*, so a
 * fault run is reproducible from its seed.
 *
 *   kill              how fin|rst: drop the matching sessions at once
 *   down              for: kill (how), close the listener, reopen after `for`
 *   refuse            for: close the listener (connects refused); open sessions stay
 *   stale             for (0 = until cleared), only (message kinds): read, answer nothing
 *   handshake_stall   for: accept TCP but never answer the hello
 *   latency           value, for: delay every answer by value
 *   slice             max, for: deliver answers at most max bytes at a time
 *   garbage           bytes: write a malformed frame (a length above the limit,
 *                     then `bytes` random bytes) to the matching sessions
 *   connectivity_lost for, restored 1101|1102: errMsg 1100 (and farm-broken
 *                     notices 2103/2105/2157), after `for` the restored code and
 *                     2104/2106/2158 again
 *   client_id_in_use  times: the next `times` startApi get 326 and are closed
 *   error             code, text, req_id: one errMsg
 *   farm_outage       for: 2103/2105 (market data and HMDS farms broken), after
 *                     `for` 2104/2106 (the nightly reset's shape, socket stays up)
 *   clear             ends every active fault now
 */
#ifndef MOCKGW_FAULTS_H
#define MOCKGW_FAULTS_H

#include <stddef.h>

#include "../io/io.h"
#include "gateway.h"

enum gw_fault_kind {
    GW_FAULT_KILL,
    GW_FAULT_DOWN,
    GW_FAULT_REFUSE,
    GW_FAULT_STALE,
    GW_FAULT_HANDSHAKE_STALL,
    GW_FAULT_LATENCY,
    GW_FAULT_SLICE,
    GW_FAULT_GARBAGE,
    GW_FAULT_CONNECTIVITY_LOST,
    GW_FAULT_CLIENT_ID_IN_USE,
    GW_FAULT_ERROR,
    GW_FAULT_FARM_OUTAGE,
    GW_FAULT_CLEAR,
    GW_FAULT_KIND_COUNT
};

/* Kinds of answers `stale.only` can silence, as a bit set. */
enum gw_msg_kind {
    GW_KIND_CURRENT_TIME = 1u << 0, /* "current_time": currentTime */
    GW_KIND_HISTORICAL = 1u << 1,   /* "historical": historicalData, updates */
    GW_KIND_MARKET_DATA = 1u << 2,  /* "market_data": ticks, tickReqParams, snapshot end */
    GW_KIND_POSITIONS = 1u << 3,    /* "positions": position, positionEnd */
    GW_KIND_ACCOUNT = 1u << 4,      /* "account": summary, updates, multi */
    GW_KIND_ORDERS = 1u << 5,       /* "orders": openOrder, orderStatus, ends, completed */
    GW_KIND_EXECUTIONS = 1u << 6,   /* "executions": execDetails, commissionReport, end */
    GW_KIND_CONTRACTS = 1u << 7,    /* "contracts": contractData, end */
    GW_KIND_IDS = 1u << 8,          /* "ids": nextValidId after reqIds */
    GW_KIND_ERRORS = 1u << 9        /* "errors": errMsg */
};

typedef struct gw_fault {
    enum gw_fault_kind kind;
    int client_id;         /* < 0: every session */
    io_us_t for_us;        /* down/refuse/handshake_stall/latency/slice/
                              connectivity_lost/farm_outage: required (> 0);
                              stale: 0 = until cleared */
    enum io_close_how how; /* kill, down (default FIN) */
    unsigned only;         /* stale: gw_msg_kind bits; 0 = everything */
    io_us_t value_us;      /* latency */
    size_t max_bytes;      /* slice (>= 1) */
    size_t bytes;          /* garbage (>= 1) */
    int restored_code;     /* connectivity_lost: 1101 or 1102 */
    int times;             /* client_id_in_use (>= 1) */
    int code;              /* error */
    int req_id;            /* error, default -1 */
    char text[160];        /* error; "" = the catalogue's text for code */
} gw_fault_t;

/* A fault of that kind with every parameter at its default. */
void gw_fault_init(gw_fault_t *f, enum gw_fault_kind kind);

/* "kill", "connectivity_lost", ... and back (-1 for an unknown name). */
const char *gw_fault_kind_name(enum gw_fault_kind kind);
int gw_fault_kind_from_name(const char *name);

/* "historical" → GW_KIND_HISTORICAL, 0 for an unknown name. */
unsigned gw_msg_kind_from_name(const char *name);

/* Checks the parameters only (what gw_fault_apply checks first): 0, or
 * IO_ERR_INVAL with the reason in err. */
int gw_fault_check(const gw_fault_t *f, char *err, size_t errlen);

/* Logs (INFO, "fault <kind> key=value ...") and traces fault:<kind> with
 * f's parameters, as src: how a gateway and the recording proxy announce
 * the faults they apply. */
void gw_fault_announce(io_loop_t *loop, const char *src, const gw_fault_t *f);

/* Logs (INFO) and traces fault_end:<kind> {client_id}: a held fault ended. */
void gw_fault_announce_end(io_loop_t *loop, const char *src, const gw_fault_t *f);

/* One errMsg a fault sends. */
typedef struct gw_fault_notice {
    int req_id;
    int code;
    char text[192];
} gw_fault_notice_t;

#define GW_FAULT_NOTICES_MAX 4

/* The errMsgs f sends, in order, into out; their number: error its one as
 * it is applied (ending 0); connectivity_lost 1100 and the farm-broken
 * notices as it starts, the restored code and the farm-OK notices as it
 * ends (ending 1); farm_outage the market-data and HMDS farm notices the
 * same way; other kinds none. */
size_t gw_fault_notices(const gw_fault_t *f, int ending,
                        gw_fault_notice_t out[GW_FAULT_NOTICES_MAX]);

/* Checks the parameters and applies the fault now. 0, or IO_ERR_INVAL with
 * the reason in err (a missing duration, restored not 1101/1102, ...). */
int gw_fault_apply(gw_t *gw, const gw_fault_t *f, char *err, size_t errlen);

/* Parses a command's words, as `mockgw ctl` sends them:
 *   kill [fin|rst] [--client-id N]
 *   down DURATION [--how fin|rst]        refuse DURATION
 *   stale [DURATION] [--only kind,kind]  handshake_stall DURATION
 *   latency VALUE DURATION               slice MAX DURATION
 *   garbage [BYTES]                      connectivity_lost DURATION [1101|1102]
 *   client_id_in_use [TIMES]             error CODE [TEXT] [--req-id N]
 *   farm_outage DURATION                 clear
 * (every one takes --client-id N). 0, or IO_ERR_INVAL naming the word. */
int gw_fault_parse_words(int argc, char *const argv[], gw_fault_t *out, char *err,
                         size_t errlen);

#endif
