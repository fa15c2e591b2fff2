/* replay.c - a recorded TWS conversation taken apart into exchanges (load),
 * and each session's walk through it (strict or lenient), answering from
 * the recording with its ids remapped. The whole design is in replay.h;
 * the tables below say, per message kind, where its ids sit and which of
 * its fields identify it. Layouts are those of server versions 151..178,
 * the only ones a recording is taken at. */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "session.h"

#define RP_SRC "gateway"
#define RP_FIELDS_MAX 160  /* fields read per message: ids and keys sit early */
#define RP_KEYS_MAX 12
#define RP_TEXT_MAX 400    /* a message as text in logs and traces */
#define RP_ERR_MAX 256
#define RP_MSG_ID_BITS 128 /* message ids an exchange tracks (all known ones are below) */
#define RP_V_CONTRACT_DATA_NO_VERSION 164

enum rp_id_type { RP_ID_NONE, RP_ID_REQ, RP_ID_ORDER };

/* A client request: the id it introduces, the id it refers to (a
 * cancel), and the fields that say what it asks for (indices from 0, the
 * message id; 0 ends the list). Times and ids are not keys: a live client
 * sends other ones. */
typedef struct rp_spec {
    int msg;
    int new_field;
    enum rp_id_type new_type;
    int ref_field;
    enum rp_id_type ref_type;
    int keys[RP_KEYS_MAX];
} rp_spec_t;

static const rp_spec_t rp_specs[] = {
    /* conId 3, symbol 4, secType 5, exchange 10, currency 12, generic ticks 16, snapshot 17 */
    {PROTO_OUT_REQ_MKT_DATA, 2, RP_ID_REQ, 0, RP_ID_NONE, {4, 5, 10, 12, 16, 17}},
    {PROTO_OUT_CANCEL_MKT_DATA, 0, RP_ID_NONE, 2, RP_ID_REQ, {0}},
    /* symbol 3, secType 4, exchange 9, currency 11, action 16, quantity 17, type 18 */
    {PROTO_OUT_PLACE_ORDER, 1, RP_ID_ORDER, 0, RP_ID_NONE, {3, 4, 9, 11, 16, 17, 18}},
    {PROTO_OUT_CANCEL_ORDER, 0, RP_ID_NONE, 2, RP_ID_ORDER, {0}},
    {PROTO_OUT_REQ_OPEN_ORDERS, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_ACCT_DATA, 0, RP_ID_NONE, 0, RP_ID_NONE, {2, 3}},
    {PROTO_OUT_REQ_EXECUTIONS, 2, RP_ID_REQ, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_IDS, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_CONTRACT_DATA, 2, RP_ID_REQ, 0, RP_ID_NONE, {4, 5, 10, 12}},
    {PROTO_OUT_REQ_AUTO_OPEN_ORDERS, 0, RP_ID_NONE, 0, RP_ID_NONE, {2}},
    {PROTO_OUT_REQ_ALL_OPEN_ORDERS, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_MANAGED_ACCTS, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    /* symbol 3, secType 4, exchange 9, currency 11, bar size 16, duration 17,
     * useRTH 18, whatToShow 19, formatDate 20, keepUpToDate 21 (not endDateTime 15) */
    {PROTO_OUT_REQ_HISTORICAL_DATA, 1, RP_ID_REQ, 0, RP_ID_NONE,
     {3, 4, 9, 11, 16, 17, 18, 19, 20, 21}},
    {PROTO_OUT_CANCEL_HISTORICAL_DATA, 0, RP_ID_NONE, 2, RP_ID_REQ, {0}},
    {PROTO_OUT_REQ_CURRENT_TIME, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_GLOBAL_CANCEL, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_MARKET_DATA_TYPE, 0, RP_ID_NONE, 0, RP_ID_NONE, {2}},
    {PROTO_OUT_REQ_POSITIONS, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_ACCOUNT_SUMMARY, 2, RP_ID_REQ, 0, RP_ID_NONE, {3, 4}},
    {PROTO_OUT_CANCEL_ACCOUNT_SUMMARY, 0, RP_ID_NONE, 2, RP_ID_REQ, {0}},
    {PROTO_OUT_CANCEL_POSITIONS, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_START_API, 0, RP_ID_NONE, 0, RP_ID_NONE, {0}},
    {PROTO_OUT_REQ_ACCOUNT_UPDATES_MULTI, 2, RP_ID_REQ, 0, RP_ID_NONE, {3, 4, 5}},
    {PROTO_OUT_REQ_COMPLETED_ORDERS, 0, RP_ID_NONE, 0, RP_ID_NONE, {1}},
};

/* Answers a request claims by kind, not by id: `end` is the message after
 * which it claims no more of them (0: a subscription, never ends). */
static const struct {
    int req, msg, end;
} rp_kind_claims[] = {
    {PROTO_OUT_REQ_CURRENT_TIME, PROTO_IN_CURRENT_TIME, PROTO_IN_CURRENT_TIME},
    {PROTO_OUT_REQ_IDS, PROTO_IN_NEXT_VALID_ID, PROTO_IN_NEXT_VALID_ID},
    {PROTO_OUT_START_API, PROTO_IN_NEXT_VALID_ID, PROTO_IN_NEXT_VALID_ID},
    {PROTO_OUT_START_API, PROTO_IN_MANAGED_ACCTS, PROTO_IN_MANAGED_ACCTS},
    {PROTO_OUT_REQ_MANAGED_ACCTS, PROTO_IN_MANAGED_ACCTS, PROTO_IN_MANAGED_ACCTS},
    {PROTO_OUT_REQ_POSITIONS, PROTO_IN_POSITION_DATA, 0},
    {PROTO_OUT_REQ_POSITIONS, PROTO_IN_POSITION_END, 0},
    {PROTO_OUT_REQ_ACCT_DATA, PROTO_IN_ACCT_VALUE, 0},
    {PROTO_OUT_REQ_ACCT_DATA, PROTO_IN_PORTFOLIO_VALUE, 0},
    {PROTO_OUT_REQ_ACCT_DATA, PROTO_IN_ACCT_UPDATE_TIME, 0},
    {PROTO_OUT_REQ_ACCT_DATA, PROTO_IN_ACCT_DOWNLOAD_END, 0},
    {PROTO_OUT_REQ_OPEN_ORDERS, PROTO_IN_OPEN_ORDER, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_OPEN_ORDERS, PROTO_IN_ORDER_STATUS, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_OPEN_ORDERS, PROTO_IN_OPEN_ORDER_END, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_ALL_OPEN_ORDERS, PROTO_IN_OPEN_ORDER, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_ALL_OPEN_ORDERS, PROTO_IN_ORDER_STATUS, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_ALL_OPEN_ORDERS, PROTO_IN_OPEN_ORDER_END, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_AUTO_OPEN_ORDERS, PROTO_IN_OPEN_ORDER, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_AUTO_OPEN_ORDERS, PROTO_IN_OPEN_ORDER_END, PROTO_IN_OPEN_ORDER_END},
    {PROTO_OUT_REQ_COMPLETED_ORDERS, PROTO_IN_COMPLETED_ORDER, PROTO_IN_COMPLETED_ORDERS_END},
    {PROTO_OUT_REQ_COMPLETED_ORDERS, PROTO_IN_COMPLETED_ORDERS_END,
     PROTO_IN_COMPLETED_ORDERS_END},
};

/* Where a server message carries ids (field indices; 0: none). errMsg's
 * id is a request id or an order id: `any`. */
typedef struct rp_ids {
    int req, order, any;
} rp_ids_t;

static rp_ids_t rp_server_ids(int msg, int version)
{
    rp_ids_t ids = {0, 0, 0};
    switch (msg) {
    case PROTO_IN_TICK_PRICE:
    case PROTO_IN_TICK_SIZE:
    case PROTO_IN_TICK_GENERIC:
    case PROTO_IN_TICK_STRING:
    case PROTO_IN_TICK_SNAPSHOT_END:
    case PROTO_IN_MARKET_DATA_TYPE:
    case PROTO_IN_CONTRACT_DATA_END:
    case PROTO_IN_EXECUTION_DATA_END:
    case PROTO_IN_ACCOUNT_SUMMARY:
    case PROTO_IN_ACCOUNT_SUMMARY_END:
    case PROTO_IN_ACCOUNT_UPDATE_MULTI:
    case PROTO_IN_ACCOUNT_UPDATE_MULTI_END:
        ids.req = 2; /* after the version field */
        break;
    case PROTO_IN_TICK_REQ_PARAMS:
    case PROTO_IN_HISTORICAL_DATA:
    case PROTO_IN_HISTORICAL_DATA_UPDATE:
    case PROTO_IN_HISTORICAL_DATA_END:
        ids.req = 1;
        break;
    case PROTO_IN_CONTRACT_DATA:
        ids.req = version < RP_V_CONTRACT_DATA_NO_VERSION ? 2 : 1;
        break;
    case PROTO_IN_EXECUTION_DATA:
        ids.req = 1;
        ids.order = 2;
        break;
    case PROTO_IN_ORDER_STATUS:
    case PROTO_IN_OPEN_ORDER:
        ids.order = 1;
        break;
    case PROTO_IN_ERR_MSG:
        ids.any = 2;
        break;
    default:
        break;
    }
    return ids;
}

/* ---- the recording --------------------------------------------------- */

/* One recorded server message. */
typedef struct rp_msg {
    int64_t t_us;
    int id;
    long owner;      /* the exchange it answers; -1: unsolicited */
    size_t after;    /* unsolicited: the exchange it followed */
    io_us_t at_us;   /* answer: delay after its request; unsolicited: offset after startApi */
    long next;       /* the owner's next answer; -1: the last */
    uint8_t *payload;
    size_t len;
} rp_msg_t;

/* One recorded client message (0: startApi) and its answers. */
typedef struct rp_ex {
    int64_t t_us;
    int id;
    const rp_spec_t *spec; /* NULL: a kind the table does not know; every field is key */
    int32_t new_id, ref_id;
    long first, last;      /* its answers in rp->msgs; -1: none */
    uint64_t got[RP_MSG_ID_BITS / 64]; /* kinds of answers claimed so far */
    uint8_t *payload;
    size_t len;
} rp_ex_t;

struct gw_replay {
    io_loop_t *loop;
    gw_replay_config_t cfg;
    char *file;
    unsigned conn;          /* the conversation's number in the capture */
    int version;
    rp_ex_t *ex;
    size_t nex;
    rp_msg_t *msgs;
    size_t nmsgs;
    size_t *unsol;          /* indices of the unsolicited messages, in time order */
    size_t nunsol;
    size_t played;          /* sessions that started a replay */
};

/* The first RP_FIELDS_MAX fields of one message (where ids and keys
 * sit), pointing into its payload. */
typedef struct rp_fields {
    const char *f[RP_FIELDS_MAX];
    int n;
} rp_fields_t;

static void rp_split(const uint8_t *payload, size_t len, rp_fields_t *out)
{
    size_t pos = 0;
    out->n = 0;
    while (pos < len && out->n < RP_FIELDS_MAX) {
        const char *field = (const char *)payload + pos;
        size_t flen = strnlen(field, len - pos);
        if (pos + flen == len)
            break; /* not NUL-terminated: the decoder never yields that */
        out->f[out->n++] = field;
        pos += flen + 1;
    }
}

static const char *rp_field(const rp_fields_t *fs, int i)
{
    return i < fs->n ? fs->f[i] : "";
}

static int32_t rp_field_int(const rp_fields_t *fs, int i)
{
    return i > 0 && i < fs->n ? (int32_t)strtol(fs->f[i], NULL, 10) : -1;
}

static const rp_spec_t *rp_spec_of(int msg)
{
    for (size_t i = 0; i < sizeof rp_specs / sizeof rp_specs[0]; i++)
        if (rp_specs[i].msg == msg)
            return &rp_specs[i];
    return NULL;
}

static const char *rp_name(int dir_c2s, int id)
{
    const char *name = dir_c2s ? proto_out_name(id) : proto_in_name(id);
    return name ? name : "unknown";
}

/* `reqHistoricalData [20,7,0,"AAPL",...]`: numbers bare, the rest quoted,
 * cut short with "..." past cap. */
static void rp_format(int dir_c2s, const uint8_t *payload, size_t len, char *buf, size_t cap)
{
    rp_fields_t fs;
    rp_split(payload, len, &fs);
    int n = snprintf(buf, cap, "%s [", rp_name(dir_c2s, fs.n > 0 ? atoi(fs.f[0]) : -1));
    for (int i = 0; i < fs.n && n >= 0 && (size_t)n < cap; i++) {
        const char *f = fs.f[i];
        int number = f[0] && strspn(f, "-.0123456789") == strlen(f);
        n += snprintf(buf + n, cap - (size_t)n, number ? "%s%s" : "%s\"%s\"", i ? "," : "", f);
    }
    if (n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "]");
    else if (cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

static void rp_bit_set(uint64_t *bits, int id)
{
    if (id >= 0 && id < RP_MSG_ID_BITS)
        bits[id / 64] |= (uint64_t)1 << (id % 64);
}

static int rp_bit(const uint64_t *bits, int id)
{
    return id >= 0 && id < RP_MSG_ID_BITS && (bits[id / 64] >> (id % 64) & 1);
}

/* Whether ex introduced or referred to id v of that type. */
static int rp_ex_has_id(const rp_ex_t *ex, enum rp_id_type type, int32_t v)
{
    const rp_spec_t *sp = ex->spec;
    return sp && ((sp->new_type == type && ex->new_id == v) ||
                  (sp->ref_type == type && ex->ref_id == v));
}

/* The latest exchange holding that id; -1 if none. */
static long rp_claim_by_id(const gw_replay_t *rp, enum rp_id_type type, int32_t v)
{
    for (size_t k = rp->nex; k-- > 0;)
        if (rp_ex_has_id(&rp->ex[k], type, v))
            return (long)k;
    return -1;
}

static int rp_claims_kind(const rp_ex_t *ex, int msg)
{
    for (size_t i = 0; i < sizeof rp_kind_claims / sizeof rp_kind_claims[0]; i++)
        if (rp_kind_claims[i].req == ex->id && rp_kind_claims[i].msg == msg)
            return rp_kind_claims[i].end == 0 || !rp_bit(ex->got, rp_kind_claims[i].end);
    return 0;
}

/* The exchange a server message answers: by its ids when it carries one
 * (an id no request holds makes it unsolicited), else by its kind; a
 * commissionReport goes with the execDetails before it. -1: unsolicited. */
static long rp_owner(const gw_replay_t *rp, const rp_fields_t *fs, int msg, long last_exec)
{
    rp_ids_t ids = rp_server_ids(msg, rp->version);
    int32_t req = rp_field_int(fs, ids.req), order = rp_field_int(fs, ids.order);
    int32_t any = rp_field_int(fs, ids.any);
    if (req >= 0)
        return rp_claim_by_id(rp, RP_ID_REQ, req);
    if (order >= 0)
        return rp_claim_by_id(rp, RP_ID_ORDER, order);
    if (any >= 0) {
        long k = rp_claim_by_id(rp, RP_ID_REQ, any);
        return k >= 0 ? k : rp_claim_by_id(rp, RP_ID_ORDER, any);
    }
    if (msg == PROTO_IN_COMMISSION_REPORT)
        return last_exec;
    for (size_t k = rp->nex; k-- > 0;)
        if (rp_claims_kind(&rp->ex[k], msg))
            return (long)k;
    return -1;
}

/* ---- loading ---------------------------------------------------------- */

/* A message of the chosen conversation as the capture gave it. */
typedef struct rp_raw {
    int64_t t_us;
    size_t seq;
    int c2s;
    uint8_t *payload;
    size_t len;
} rp_raw_t;

typedef struct rp_load {
    unsigned want;       /* 0: the first conversation */
    unsigned conn;       /* the one taken; 0 until found */
    unsigned nconns;
    int version;
    rp_raw_t *raw;
    size_t nraw, cap;
    int nomem;
    char problem[RP_ERR_MAX]; /* the first gap or decode error */
} rp_load_t;

static void rp_load_msg(rp_load_t *l, const gw_cap_event_t *ev)
{
    if (l->nraw == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        rp_raw_t *raw = realloc(l->raw, cap * sizeof *raw);
        if (!raw) {
            l->nomem = 1;
            return;
        }
        l->raw = raw;
        l->cap = cap;
    }
    rp_raw_t *r = &l->raw[l->nraw];
    r->payload = malloc(ev->frame.len);
    if (!r->payload) {
        l->nomem = 1;
        return;
    }
    memcpy(r->payload, ev->frame.payload, ev->frame.len);
    r->len = ev->frame.len;
    r->t_us = ev->t_us;
    r->seq = l->nraw++;
    r->c2s = ev->dir == GW_CAP_C2S;
}

static void rp_on_cap(const gw_cap_event_t *ev, void *data)
{
    rp_load_t *l = data;
    const char *dir = ev->dir == GW_CAP_C2S ? "c>s" : "s>c";
    if (ev->kind == GW_CAP_OPEN) {
        l->nconns++;
        if (l->conn == 0 && (l->want == 0 || l->want == ev->conn))
            l->conn = ev->conn;
    }
    if (ev->conn == 0 || ev->conn != l->conn || l->nomem)
        return;
    switch (ev->kind) {
    case GW_CAP_SERVER_HELLO:
        l->version = ev->version;
        break;
    case GW_CAP_MSG:
        rp_load_msg(l, ev);
        break;
    case GW_CAP_GAP:
        if (!l->problem[0])
            snprintf(l->problem, sizeof l->problem,
                     "%s: %llu bytes missing at offset %llu (a gap in the capture)", dir,
                     (unsigned long long)ev->length, (unsigned long long)ev->offset);
        break;
    case GW_CAP_ERROR:
        if (!l->problem[0])
            snprintf(l->problem, sizeof l->problem, "%s: bytes at offset %llu do not decode: %s",
                     dir, (unsigned long long)ev->offset, ev->text ? ev->text : "");
        break;
    default:
        break; /* the greeting, resyncs (after a gap or error already noted), closes */
    }
}

static int rp_raw_cmp(const void *a, const void *b)
{
    const rp_raw_t *x = a, *y = b;
    if (x->t_us != y->t_us)
        return x->t_us < y->t_us ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void rp_load_free(rp_load_t *l)
{
    for (size_t i = 0; i < l->nraw; i++)
        free(l->raw[i].payload);
    free(l->raw);
}

/* Appends a client message as a new exchange; takes its payload. */
static void rp_add_ex(gw_replay_t *rp, rp_raw_t *raw, const rp_fields_t *fs)
{
    rp_ex_t *ex = &rp->ex[rp->nex++];
    memset(ex, 0, sizeof *ex);
    ex->t_us = raw->t_us;
    ex->id = atoi(rp_field(fs, 0));
    ex->spec = rp_spec_of(ex->id);
    ex->new_id = ex->spec ? rp_field_int(fs, ex->spec->new_field) : -1;
    ex->ref_id = ex->spec ? rp_field_int(fs, ex->spec->ref_field) : -1;
    ex->first = ex->last = -1;
    ex->payload = raw->payload;
    ex->len = raw->len;
    raw->payload = NULL;
}

/* Appends a server message, as an answer of the exchange that claims it or
 * as unsolicited; takes its payload. */
static void rp_add_msg(gw_replay_t *rp, rp_raw_t *raw, const rp_fields_t *fs, long *last_exec)
{
    size_t i = rp->nmsgs++;
    rp_msg_t *m = &rp->msgs[i];
    m->t_us = raw->t_us;
    m->id = atoi(rp_field(fs, 0));
    m->owner = rp_owner(rp, fs, m->id, *last_exec);
    m->after = rp->nex - 1;
    m->next = -1;
    m->payload = raw->payload;
    m->len = raw->len;
    raw->payload = NULL;
    if (m->owner < 0) {
        m->at_us = m->t_us - rp->ex[0].t_us;
        rp->unsol[rp->nunsol++] = i;
        return;
    }
    rp_ex_t *ex = &rp->ex[m->owner];
    m->at_us = m->t_us - ex->t_us;
    rp_bit_set(ex->got, m->id);
    if (ex->last >= 0)
        rp->msgs[ex->last].next = (long)i;
    else
        ex->first = (long)i;
    ex->last = (long)i;
    if (m->id == PROTO_IN_EXECUTION_DATA)
        *last_exec = m->owner;
}

/* Builds the exchanges from the messages in time order: the first client
 * message must be startApi, as the session answers the hello itself. */
static int rp_build(gw_replay_t *rp, rp_load_t *l, char *err, size_t errlen)
{
    rp->ex = calloc(l->nraw + 1, sizeof *rp->ex);
    rp->msgs = calloc(l->nraw + 1, sizeof *rp->msgs);
    rp->unsol = calloc(l->nraw + 1, sizeof *rp->unsol);
    if (!rp->ex || !rp->msgs || !rp->unsol) {
        snprintf(err, errlen, "%s: out of memory", rp->file);
        return IO_ERR_NOMEM;
    }
    qsort(l->raw, l->nraw, sizeof *l->raw, rp_raw_cmp);
    long last_exec = -1;
    for (size_t i = 0; i < l->nraw; i++) {
        rp_fields_t fs;
        rp_split(l->raw[i].payload, l->raw[i].len, &fs);
        if (rp->nex == 0 && !(l->raw[i].c2s && atoi(rp_field(&fs, 0)) == PROTO_OUT_START_API)) {
            if (l->raw[i].c2s) {
                snprintf(err, errlen, "%s: conversation %u: the first client message is not "
                         "startApi", rp->file, rp->conn);
                return GW_REPLAY_ERR_CAPTURE;
            }
            continue; /* nothing a server sends before startApi can be replayed */
        }
        if (l->raw[i].c2s)
            rp_add_ex(rp, &l->raw[i], &fs);
        else
            rp_add_msg(rp, &l->raw[i], &fs, &last_exec);
    }
    if (rp->nex == 0) {
        snprintf(err, errlen, "%s: conversation %u has no startApi", rp->file, rp->conn);
        return GW_REPLAY_ERR_CAPTURE;
    }
    return 0;
}

/* What the capture gave: a conversation, whole, at a version we speak. */
static int rp_check_load(gw_replay_t *rp, const rp_load_t *l, char *err, size_t errlen)
{
    if (l->nomem) {
        snprintf(err, errlen, "%s: out of memory", rp->file);
        return IO_ERR_NOMEM;
    }
    if (l->conn == 0) {
        if (l->want)
            snprintf(err, errlen, "%s: no TWS conversation %u (the capture holds %u)", rp->file,
                     l->want, l->nconns);
        else
            snprintf(err, errlen, "%s: no TWS conversation in the capture", rp->file);
        return GW_REPLAY_ERR_CAPTURE;
    }
    if (l->problem[0]) {
        snprintf(err, errlen, "%s: conversation %u cannot be replayed: %s", rp->file, l->conn,
                 l->problem);
        return GW_REPLAY_ERR_CAPTURE;
    }
    if (l->version == 0) {
        snprintf(err, errlen, "%s: conversation %u: the server hello is not in the capture, "
                 "so its version is unknown", rp->file, l->conn);
        return GW_REPLAY_ERR_CAPTURE;
    }
    if (l->version < PROTO_SERVER_VERSION_MIN || l->version > PROTO_SERVER_VERSION_MAX) {
        snprintf(err, errlen, "%s: conversation %u was recorded at server version %d; the mock "
                 "replays versions %d..%d", rp->file, l->conn, l->version,
                 PROTO_SERVER_VERSION_MIN, PROTO_SERVER_VERSION_MAX);
        return GW_REPLAY_ERR_VERSION;
    }
    return 0;
}

static void rp_free_recording(gw_replay_t *rp)
{
    for (size_t i = 0; i < rp->nex; i++)
        free(rp->ex[i].payload);
    for (size_t i = 0; i < rp->nmsgs; i++)
        free(rp->msgs[i].payload);
    free(rp->ex);
    free(rp->msgs);
    free(rp->unsol);
    free(rp->file);
    free(rp);
}

int gw_replay_load(io_loop_t *loop, const gw_replay_config_t *cfg, gw_replay_t **out, char *err,
                   size_t errlen)
{
    char why[RP_ERR_MAX] = "";
    gw_cap_config_t ccfg;
    rp_load_t l = {0};
    *out = NULL;
    gw_replay_t *rp = calloc(1, sizeof *rp);
    gw_cap_config_defaults(&ccfg);
    gw_cap_t *cap = gw_cap_new(&ccfg, rp_on_cap, &l);
    if (rp)
        rp->file = strdup(cfg->file);
    if (!rp || !rp->file || !cap) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        gw_cap_free(cap);
        if (rp)
            rp_free_recording(rp);
        return IO_ERR_NOMEM;
    }
    rp->loop = loop;
    rp->cfg = *cfg;
    rp->cfg.file = rp->file;
    l.want = cfg->conn;
    int rc = gw_cap_read_file(cap, cfg->file, why, sizeof why);
    gw_cap_free(cap);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", cfg->file, why);
    rp->conn = l.conn;
    rp->version = l.version;
    if (rc == 0)
        rc = rp_check_load(rp, &l, err, errlen);
    if (rc == 0)
        rc = rp_build(rp, &l, err, errlen);
    rp_load_free(&l);
    if (rc < 0) {
        rp_free_recording(rp);
        return rc;
    }
    io_log(loop, IO_LOG_INFO, RP_SRC,
           "replay %s: conversation %u, server version %d, %zu requests, %zu answers, "
           "%zu unsolicited messages (%s, %s timing)", rp->file, rp->conn, rp->version,
           rp->nex - 1, rp->nmsgs - rp->nunsol, rp->nunsol, cfg->lenient ? "lenient" : "strict",
           cfg->fast ? "fast" : "recorded");
    *out = rp;
    return 0;
}

static void rp_trace_unconsumed(gw_replay_t *rp, unsigned long long conn, size_t count,
                                size_t next)
{
    char text[RP_TEXT_MAX];
    rp_format(1, rp->ex[next].payload, rp->ex[next].len, text, sizeof text);
    io_log(rp->loop, IO_LOG_ERROR, RP_SRC,
           "conn=%llu replay %s: %zu recorded requests never came, the first: %s", conn,
           rp->file, count, text);
    IO_TRACE(rp->loop, RP_SRC, "replay_unconsumed", IO_TI("conn", conn), IO_TI("count", count),
             IO_TS("next", text));
}

void gw_replay_free(gw_replay_t *rp)
{
    if (!rp)
        return;
    if (!rp->cfg.lenient && rp->played == 0 && rp->nex > 1)
        rp_trace_unconsumed(rp, 0, rp->nex - 1, 1);
    rp_free_recording(rp);
}

int gw_replay_version(const gw_replay_t *rp)
{
    return rp->version;
}

size_t gw_replay_requests(const gw_replay_t *rp)
{
    return rp->nex - 1;
}

/* ---- a session's replay ----------------------------------------------- */

/* Pairs of a recorded id and the live id that took its place. */
typedef struct rp_map {
    struct {
        int32_t rec, live;
    } *pairs;
    size_t n, cap;
} rp_map_t;

/* A recorded answer waiting for its time. */
typedef struct rp_due {
    struct rp_due *next;
    io_us_t due_us;
    size_t msg;
} rp_due_t;

struct gw_replay_session {
    gw_replay_t *rp;
    gw_session_t *s;
    unsigned long long conn;
    io_us_t t0_us;        /* when startApi was answered (monotonic) */
    size_t next;          /* strict: the next exchange expected */
    uint8_t *answered;    /* per exchange */
    size_t nanswered;     /* requests answered, startApi not counted */
    size_t unsol;         /* the next unsolicited message to send */
    rp_map_t maps[3];     /* indexed by rp_id_type: REQ, ORDER */
    rp_due_t *due;        /* sorted by (due_us, msg) */
    io_timer_t *timer;
    int diverged;
    int reported;         /* replay_unconsumed already traced */
};

static int rp_map_put(rp_map_t *m, int32_t rec, int32_t live)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        void *pairs = realloc(m->pairs, cap * sizeof *m->pairs);
        if (!pairs)
            return IO_ERR_NOMEM;
        m->pairs = pairs;
        m->cap = cap;
    }
    m->pairs[m->n].rec = rec;
    m->pairs[m->n].live = live;
    m->n++;
    return 0;
}

/* The latest pairing wins: a recording may reuse an id. to_live: rec →
 * live, else live → rec. Unpaired ids map to themselves. */
static int32_t rp_map_get(const rp_map_t *m, int32_t v, int to_live)
{
    for (size_t i = m->n; i-- > 0;)
        if ((to_live ? m->pairs[i].rec : m->pairs[i].live) == v)
            return to_live ? m->pairs[i].live : m->pairs[i].rec;
    return v;
}

static int rp_map_has(const rp_map_t *m, int32_t rec)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->pairs[i].rec == rec)
            return 1;
    return 0;
}

/* Field i of a recorded server message as the live session sees it: an
 * id field carries the live id. errMsg's id is a request or an order id:
 * the kind its request introduced is tried first. */
static void rp_put_field(const gw_replay_session_t *rs, proto_writer_t *w, rp_ids_t ids,
                         enum rp_id_type first, int i, const char *f)
{
    char *end;
    int32_t v = (int32_t)strtol(f, &end, 10);
    int id_field = i > 0 && (i == ids.req || i == ids.order || i == ids.any);
    if (!id_field || f[0] == '\0' || *end != '\0') {
        proto_put_str(w, f); /* not an id, or an empty or odd one: as recorded */
        return;
    }
    enum rp_id_type type = i == ids.req     ? RP_ID_REQ
                           : i == ids.order ? RP_ID_ORDER
                           : rp_map_has(&rs->maps[first], v)
                               ? first
                               : (first == RP_ID_REQ ? RP_ID_ORDER : RP_ID_REQ);
    proto_put_int(w, rp_map_get(&rs->maps[type], v, 1));
}

/* The recorded server message msg, ids turned into the live ones, sent
 * through the session's output path. */
static void rp_send(gw_replay_session_t *rs, size_t msg)
{
    const gw_replay_t *rp = rs->rp;
    const rp_msg_t *m = &rp->msgs[msg];
    rp_ids_t ids = rp_server_ids(m->id, rp->version);
    const rp_spec_t *owner = m->owner >= 0 ? rp->ex[m->owner].spec : NULL;
    enum rp_id_type first = owner && owner->new_type == RP_ID_ORDER ? RP_ID_ORDER : RP_ID_REQ;
    proto_writer_t *w = gw_session_writer(rs->s);
    proto_frame_begin(w);
    /* Every field, however many (bars): the payload ends in a NUL. */
    int i = 0;
    for (size_t pos = 0; pos < m->len; pos += strlen((const char *)m->payload + pos) + 1)
        rp_put_field(rs, w, ids, first, i++, (const char *)m->payload + pos);
    gw_session_emit(rs->s, rp_name(0, m->id), proto_frame_end(w));
    if (m->id == PROTO_IN_NEXT_VALID_ID) {
        /* The synthetic fallback (lenient) numbers orders on from it. */
        rp_fields_t fs;
        rp_split(m->payload, m->len, &fs);
        gw_session_set_next_order_id(rs->s, rp_field_int(&fs, 2));
    }
}

/* Queues msg to go out at due_us, behind anything due at the same time. */
static int rp_queue(gw_replay_session_t *rs, io_us_t due_us, size_t msg)
{
    rp_due_t *d = malloc(sizeof *d);
    if (!d)
        return IO_ERR_NOMEM;
    d->due_us = due_us;
    d->msg = msg;
    rp_due_t **at = &rs->due;
    while (*at && ((*at)->due_us < due_us || ((*at)->due_us == due_us && (*at)->msg < msg)))
        at = &(*at)->next;
    d->next = *at;
    *at = d;
    return 0;
}

/* The unsolicited message due next with recorded timing; 0 if none. */
static int rp_unsol_due(const gw_replay_session_t *rs, io_us_t *due_us, size_t *msg)
{
    const gw_replay_t *rp = rs->rp;
    if (rp->cfg.fast || rs->unsol >= rp->nunsol)
        return 0;
    *msg = rp->unsol[rs->unsol];
    *due_us = rs->t0_us + rp->msgs[*msg].at_us;
    return 1;
}

/* Sends what is due, answers and unsolicited messages merged in recorded
 * order, then waits for the next. Only emits: never frees the session. */
static void rp_pump(gw_replay_session_t *rs)
{
    io_us_t now = io_now_us(gw_session_host(rs->s)->loop);
    for (;;) {
        io_us_t u_due = 0;
        size_t u_msg = 0;
        int has_u = rp_unsol_due(rs, &u_due, &u_msg);
        if (!has_u && !rs->due)
            return;
        int take_u = has_u && (!rs->due || u_due < rs->due->due_us ||
                               (u_due == rs->due->due_us && u_msg < rs->due->msg));
        io_us_t due = take_u ? u_due : rs->due->due_us;
        if (due > now) {
            io_timer_start(rs->timer, due - now);
            return;
        }
        if (take_u) {
            rs->unsol++;
            rp_send(rs, u_msg);
        } else {
            rp_due_t *d = rs->due;
            rs->due = d->next;
            rp_send(rs, d->msg);
            free(d);
        }
    }
}

static void rp_on_timer(io_timer_t *timer, void *data)
{
    gw_replay_session_t *rs = data;
    gw_session_t *s = rs->s;
    (void)timer;
    rp_pump(rs);
    gw_session_settle(s); /* may free s, and rs with it */
}

/* Fast timing: the unsolicited messages whose request has been answered,
 * in recorded order. */
static void rp_flush_unsol(gw_replay_session_t *rs)
{
    const gw_replay_t *rp = rs->rp;
    while (rs->unsol < rp->nunsol && rs->answered[rp->msgs[rp->unsol[rs->unsol]].after])
        rp_send(rs, rp->unsol[rs->unsol++]);
}

/* Exchange k is answered: its answers go out (at once, or queued at their
 * recorded delays). */
static void rp_answer(gw_replay_session_t *rs, size_t k)
{
    const gw_replay_t *rp = rs->rp;
    io_us_t now = io_now_us(gw_session_host(rs->s)->loop);
    rs->answered[k] = 1;
    rs->nanswered += k > 0;
    for (long i = rp->ex[k].first; i >= 0; i = rp->msgs[i].next) {
        if (rp->cfg.fast)
            rp_send(rs, (size_t)i);
        else if (rp_queue(rs, now + rp->msgs[i].at_us, (size_t)i) < 0)
            io_log(rp->loop, IO_LOG_ERROR, RP_SRC, "conn=%llu replay: out of memory, "
                   "%s not sent", rs->conn, rp_name(0, rp->msgs[i].id));
    }
    if (rp->cfg.fast)
        rp_flush_unsol(rs);
    else
        rp_pump(rs);
}

int gw_replay_start(gw_replay_t *rp, gw_session_t *s)
{
    gw_replay_session_t *rs = calloc(1, sizeof *rs);
    io_loop_t *loop = gw_session_host(s)->loop;
    if (rs) {
        rs->answered = calloc(rp->nex, 1);
        rs->timer = io_timer_new(loop, rp_on_timer, rs);
    }
    if (!rs || !rs->answered || !rs->timer) {
        io_log(loop, IO_LOG_ERROR, RP_SRC, "conn=%llu replay: out of memory; answering from "
               "the synthetic market", (unsigned long long)gw_session_conn(s));
        if (rs) {
            free(rs->answered);
            if (rs->timer)
                io_timer_free(rs->timer);
        }
        free(rs);
        return IO_ERR_NOMEM;
    }
    rs->rp = rp;
    rs->s = s;
    rs->conn = gw_session_conn(s);
    rs->t0_us = io_now_us(loop);
    rs->next = 1;
    rp->played++;
    *gw_session_replay(s) = rs;
    rp_answer(rs, 0);
    return 0;
}

/* ---- matching a live request ------------------------------------------ */

/* Two field texts the same value: equal text, or both numbers that are
 * equal ("0" and "0.0"). */
static int rp_same(const char *a, const char *b)
{
    char *ea, *eb;
    if (strcmp(a, b) == 0)
        return 1;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    return a[0] && b[0] && *ea == '\0' && *eb == '\0' && x == y;
}

/* 0 when the live request (fields lv) is recorded exchange k, else 1 with
 * the first difference in detail. A referred id is compared after mapping
 * the live one back to the recording's. */
static int rp_compare(const gw_replay_session_t *rs, size_t k, const rp_fields_t *lv,
                      char *detail, size_t cap)
{
    const rp_ex_t *ex = &rs->rp->ex[k];
    rp_fields_t rec;
    rp_split(ex->payload, ex->len, &rec);
    if (!rp_same(rp_field(&rec, 0), rp_field(lv, 0))) {
        snprintf(detail, cap, "another kind of message");
        return 1;
    }
    const rp_spec_t *sp = ex->spec;
    if (sp && sp->ref_field) {
        int32_t live = rp_field_int(lv, sp->ref_field);
        int32_t back = rp_map_get(&rs->maps[sp->ref_type], live, 0);
        if (back != ex->ref_id) {
            snprintf(detail, cap, "field %d: refers to id %d (recorded id %d), expected %d",
                     sp->ref_field, live, back, ex->ref_id);
            return 1;
        }
    }
    int n = sp ? RP_KEYS_MAX : (rec.n > lv->n ? rec.n : lv->n);
    for (int j = 0; j < n; j++) {
        int i = sp ? sp->keys[j] : j;
        if (sp && i == 0)
            break;
        if (!rp_same(rp_field(&rec, i), rp_field(lv, i))) {
            snprintf(detail, cap, "field %d: expected \"%s\", got \"%s\"", i, rp_field(&rec, i),
                     rp_field(lv, i));
            return 1;
        }
    }
    return 0;
}

/* The live request is exchange k: its new id is paired with the recorded
 * one, and it is answered. */
static void rp_take(gw_replay_session_t *rs, size_t k, const rp_fields_t *lv)
{
    const rp_ex_t *ex = &rs->rp->ex[k];
    if (ex->spec && ex->spec->new_field &&
        rp_map_put(&rs->maps[ex->spec->new_type], ex->new_id,
                   rp_field_int(lv, ex->spec->new_field)) < 0)
        io_log(rs->rp->loop, IO_LOG_ERROR, RP_SRC,
               "conn=%llu replay: out of memory; id %d is not remapped", rs->conn, ex->new_id);
    rs->next = k + 1;
    rp_answer(rs, k);
}

static void rp_diverge(gw_replay_session_t *rs, const proto_frame_t *f, const char *detail)
{
    gw_replay_t *rp = rs->rp;
    char expected[RP_TEXT_MAX], actual[RP_TEXT_MAX];
    if (rs->next < rp->nex)
        rp_format(1, rp->ex[rs->next].payload, rp->ex[rs->next].len, expected, sizeof expected);
    else
        snprintf(expected, sizeof expected, "nothing (the recording ends after %zu requests)",
                 rp->nex - 1);
    rp_format(1, f->payload, f->len, actual, sizeof actual);
    io_log(rp->loop, IO_LOG_ERROR, RP_SRC,
           "conn=%llu replay %s diverged at request %zu of %zu (%s)\n"
           "  expected: %s\n  actual:   %s",
           rs->conn, rp->file, rs->next, rp->nex - 1, detail, expected, actual);
    IO_TRACE(rp->loop, RP_SRC, "replay_diverged", IO_TI("conn", rs->conn),
             IO_TI("index", rs->next), IO_TS("expected", expected), IO_TS("actual", actual),
             IO_TS("detail", detail));
    rs->diverged = 1;
    io_timer_stop(rs->timer);
    gw_session_end(rs->s, IO_CLOSE_FIN, "replay diverged");
}

int gw_replay_request(gw_replay_session_t *rs, int32_t id, const proto_reader_t *r)
{
    gw_replay_t *rp = rs->rp;
    proto_frame_t f = {(const uint8_t *)r->p, r->len, 0};
    rp_fields_t lv;
    char detail[RP_ERR_MAX] = "";
    (void)id; /* the frame's first field, compared with the rest */
    rp_split(f.payload, f.len, &lv);
    if (!rp->cfg.lenient) {
        if (rs->next >= rp->nex)
            snprintf(detail, sizeof detail, "a request after the last recorded one");
        if (rs->next >= rp->nex || rp_compare(rs, rs->next, &lv, detail, sizeof detail))
            rp_diverge(rs, &f, detail);
        else
            rp_take(rs, rs->next, &lv);
        return 1;
    }
    for (size_t k = 1; k < rp->nex; k++) {
        if (!rs->answered[k] && !rp_compare(rs, k, &lv, detail, sizeof detail)) {
            rp_take(rs, k, &lv);
            return 1;
        }
    }
    return 0;
}

void gw_replay_session_report(gw_replay_session_t *rs)
{
    if (!rs || rs->reported)
        return;
    gw_replay_t *rp = rs->rp;
    size_t left = rp->nex - 1 - rs->nanswered;
    rs->reported = 1;
    if (!rp->cfg.lenient && !rs->diverged && left > 0)
        rp_trace_unconsumed(rp, rs->conn, left, rs->next);
    else if (left > 0)
        io_log(rp->loop, IO_LOG_INFO, RP_SRC, "conn=%llu replay: %zu recorded requests not "
               "asked for", rs->conn, left);
}

void gw_replay_session_free(gw_replay_session_t *rs)
{
    if (!rs)
        return;
    gw_replay_session_report(rs);
    while (rs->due) {
        rp_due_t *d = rs->due;
        rs->due = d->next;
        free(d);
    }
    for (size_t i = 0; i < sizeof rs->maps / sizeof rs->maps[0]; i++)
        free(rs->maps[i].pairs);
    io_timer_free(rs->timer);
    free(rs->answered);
    free(rs);
}

int gw_replay_hello(gw_replay_t *rp, gw_session_t *s, const proto_client_hello_t *hello,
                    int *version)
{
    unsigned long long conn = gw_session_conn(s);
    if (hello->min_version <= rp->version && rp->version <= hello->max_version) {
        *version = rp->version;
        return 0;
    }
    io_log(rp->loop, IO_LOG_ERROR, RP_SRC,
           "conn=%llu replay refused: %s was recorded at server version %d, the client "
           "takes only v%d..%d", conn, rp->file, rp->version, hello->min_version,
           hello->max_version);
    IO_TRACE(rp->loop, RP_SRC, "replay_refused", IO_TI("conn", conn),
             IO_TI("version", rp->version), IO_TI("client_min", hello->min_version),
             IO_TI("client_max", hello->max_version));
    return GW_REPLAY_ERR_VERSION;
}
