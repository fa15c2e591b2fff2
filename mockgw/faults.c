/* faults.c - the fault controller (see faults.h): names, defaults, the
 * checks every fault passes before it is applied, the `mockgw ctl` word
 * parser, and gw_fault_apply, which traces and logs fault:<kind> and hands
 * the fault to the gateway: kill, garbage and error act once, the others
 * are held in the gateway's table until they end. */
#include "faults.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/duration.h"
#include "../proto/proto.h"

#define FAULT_SRC "gateway"
#define FAULT_GARBAGE_MAX ((size_t)1 << 20) /* bytes one garbage fault may write */
#define FAULT_SLICE_MAX ((size_t)1 << 20)
#define FAULT_TIMES_MAX 1000000
#define FAULT_POSITIONALS_MAX 3
#define FAULT_TRACE_FIELDS_MAX 6
#define FAULT_GARBAGE_DEFAULT 64

static const char *const fault_kind_names[GW_FAULT_KIND_COUNT] = {
    "kill",  "down",    "refuse",  "stale",             "handshake_stall",  "latency",
    "slice", "garbage", "connectivity_lost", "client_id_in_use", "error", "farm_outage",
    "clear",
};

static const struct {
    const char *name;
    unsigned bit;
} fault_msg_kinds[] = {
    {"current_time", GW_KIND_CURRENT_TIME}, {"historical", GW_KIND_HISTORICAL},
    {"market_data", GW_KIND_MARKET_DATA},   {"positions", GW_KIND_POSITIONS},
    {"account", GW_KIND_ACCOUNT},           {"orders", GW_KIND_ORDERS},
    {"executions", GW_KIND_EXECUTIONS},     {"contracts", GW_KIND_CONTRACTS},
    {"ids", GW_KIND_IDS},                   {"errors", GW_KIND_ERRORS},
};
#define FAULT_NMSG_KINDS (sizeof fault_msg_kinds / sizeof fault_msg_kinds[0])

/* ---- names and defaults ------------------------------------------------- */

void gw_fault_init(gw_fault_t *f, enum gw_fault_kind kind)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->client_id = -1;
    f->how = IO_CLOSE_FIN;
    f->restored_code = PROTO_CODE_RESTORED_DATA_KEPT;
    f->times = 1;
    f->bytes = FAULT_GARBAGE_DEFAULT;
    f->req_id = -1;
}

const char *gw_fault_kind_name(enum gw_fault_kind kind)
{
    return (unsigned)kind < GW_FAULT_KIND_COUNT ? fault_kind_names[kind] : "unknown";
}

int gw_fault_kind_from_name(const char *name)
{
    for (int i = 0; i < GW_FAULT_KIND_COUNT; i++)
        if (strcmp(name, fault_kind_names[i]) == 0)
            return i;
    return -1;
}

unsigned gw_msg_kind_from_name(const char *name)
{
    for (size_t i = 0; i < FAULT_NMSG_KINDS; i++)
        if (strcmp(name, fault_msg_kinds[i].name) == 0)
            return fault_msg_kinds[i].bit;
    return 0;
}

/* "historical,current_time" for a set of kinds, "" for none. */
static void fault_only_text(unsigned only, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FAULT_NMSG_KINDS; i++)
        if (only & fault_msg_kinds[i].bit)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
                                  fault_msg_kinds[i].name);
}

/* ---- checks ------------------------------------------------------------- */

static int fault_invalid(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fault_invalid(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return IO_ERR_INVAL;
}

/* Kinds that need a duration, and those that act on the listener or the
 * hello, before any client id is known, so they cannot target one. */
static int fault_needs_for(enum gw_fault_kind k)
{
    return k == GW_FAULT_DOWN || k == GW_FAULT_REFUSE || k == GW_FAULT_HANDSHAKE_STALL ||
           k == GW_FAULT_LATENCY || k == GW_FAULT_SLICE || k == GW_FAULT_CONNECTIVITY_LOST ||
           k == GW_FAULT_FARM_OUTAGE;
}

static int fault_before_client_id(enum gw_fault_kind k)
{
    return k == GW_FAULT_DOWN || k == GW_FAULT_REFUSE || k == GW_FAULT_HANDSHAKE_STALL;
}

static unsigned fault_all_kinds(void)
{
    unsigned all = 0;
    for (size_t i = 0; i < FAULT_NMSG_KINDS; i++)
        all |= fault_msg_kinds[i].bit;
    return all;
}

int gw_fault_check(const gw_fault_t *f, char *err, size_t errlen)
{
    if ((unsigned)f->kind >= GW_FAULT_KIND_COUNT)
        return fault_invalid(err, errlen, "unknown fault kind %d", (int)f->kind);
    const char *name = fault_kind_names[f->kind];
    if (fault_before_client_id(f->kind) && f->client_id >= 0)
        return fault_invalid(err, errlen,
                             "%s acts before any client id is known: it cannot target one", name);
    if (fault_needs_for(f->kind) && f->for_us <= 0)
        return fault_invalid(err, errlen, "%s needs a duration above 0", name);
    if (f->kind == GW_FAULT_STALE && f->for_us < 0)
        return fault_invalid(err, errlen, "stale: the duration cannot be negative");
    if (f->how != IO_CLOSE_FIN && f->how != IO_CLOSE_RST)
        return fault_invalid(err, errlen, "%s: how must be fin or rst", name);
    if (f->only & ~fault_all_kinds())
        return fault_invalid(err, errlen, "stale: only holds an unknown message kind");
    if (f->kind == GW_FAULT_LATENCY && f->value_us <= 0)
        return fault_invalid(err, errlen, "latency needs a value above 0");
    if (f->kind == GW_FAULT_SLICE && (f->max_bytes < 1 || f->max_bytes > FAULT_SLICE_MAX))
        return fault_invalid(err, errlen, "slice: max must be 1..%zu bytes", FAULT_SLICE_MAX);
    if (f->kind == GW_FAULT_GARBAGE && (f->bytes < 1 || f->bytes > FAULT_GARBAGE_MAX))
        return fault_invalid(err, errlen, "garbage: bytes must be 1..%zu", FAULT_GARBAGE_MAX);
    if (f->kind == GW_FAULT_CONNECTIVITY_LOST &&
        f->restored_code != PROTO_CODE_RESTORED_DATA_LOST &&
        f->restored_code != PROTO_CODE_RESTORED_DATA_KEPT)
        return fault_invalid(err, errlen,
                             "connectivity_lost: restored must be 1101 or 1102, not %d",
                             f->restored_code);
    if (f->kind == GW_FAULT_CLIENT_ID_IN_USE && (f->times < 1 || f->times > FAULT_TIMES_MAX))
        return fault_invalid(err, errlen, "client_id_in_use: times must be 1..%d",
                             FAULT_TIMES_MAX);
    if (f->kind == GW_FAULT_ERROR && f->code <= 0)
        return fault_invalid(err, errlen, "error needs a code above 0");
    if (memchr(f->text, '\0', sizeof f->text) == NULL)
        return fault_invalid(err, errlen, "error: the text is not terminated");
    return 0;
}

/* ---- apply -------------------------------------------------------------- */

/* The fault's parameters, as trace fields (and the INFO log line). */
static size_t fault_fields(const gw_fault_t *f, io_trace_field_t *fl, char *only, size_t cap)
{
    size_t n = 0;
    switch (f->kind) {
    case GW_FAULT_DOWN:
        fl[n++] = IO_TI("for_us", f->for_us);
        fl[n++] = IO_TS("how", f->how == IO_CLOSE_FIN ? "fin" : "rst");
        break;
    case GW_FAULT_STALE:
        fault_only_text(f->only, only, cap);
        fl[n++] = IO_TI("on", 1);
        fl[n++] = IO_TI("client_id", f->client_id);
        fl[n++] = IO_TI("for_us", f->for_us);
        fl[n++] = IO_TS("only", only);
        return n;
    case GW_FAULT_LATENCY:
        fl[n++] = IO_TI("value_us", f->value_us);
        fl[n++] = IO_TI("for_us", f->for_us);
        break;
    case GW_FAULT_SLICE:
        fl[n++] = IO_TI("max", f->max_bytes);
        fl[n++] = IO_TI("for_us", f->for_us);
        break;
    case GW_FAULT_GARBAGE:
        fl[n++] = IO_TI("bytes", f->bytes);
        break;
    case GW_FAULT_CONNECTIVITY_LOST:
        fl[n++] = IO_TI("for_us", f->for_us);
        fl[n++] = IO_TI("restored", f->restored_code);
        break;
    case GW_FAULT_CLIENT_ID_IN_USE:
        fl[n++] = IO_TI("times", f->times);
        break;
    case GW_FAULT_ERROR:
        fl[n++] = IO_TI("code", f->code);
        fl[n++] = IO_TI("req_id", f->req_id);
        fl[n++] = IO_TS("text", f->text);
        break;
    case GW_FAULT_REFUSE:
    case GW_FAULT_HANDSHAKE_STALL:
    case GW_FAULT_FARM_OUTAGE:
        fl[n++] = IO_TI("for_us", f->for_us);
        break;
    default:
        break; /* clear: only its target */
    }
    fl[n++] = IO_TI("client_id", f->client_id);
    return n;
}

void gw_fault_announce(io_loop_t *loop, const char *src, const gw_fault_t *f)
{
    io_trace_field_t fl[FAULT_TRACE_FIELDS_MAX];
    char only[160], ev[48], line[512];
    size_t n = fault_fields(f, fl, only, sizeof only);
    size_t len = (size_t)snprintf(line, sizeof line, "fault %s", fault_kind_names[f->kind]);
    for (size_t i = 0; i < n && len < sizeof line; i++) {
        if (fl[i].str)
            len += (size_t)snprintf(line + len, sizeof line - len, " %s=\"%s\"", fl[i].key,
                                    fl[i].str);
        else
            len += (size_t)snprintf(line + len, sizeof line - len, " %s=%lld", fl[i].key,
                                    (long long)fl[i].num);
    }
    io_log(loop, IO_LOG_INFO, src, "%s", line);
    snprintf(ev, sizeof ev, "fault:%s", fault_kind_names[f->kind]);
    io_trace_named(loop, src, ev, n, fl);
}

void gw_fault_announce_end(io_loop_t *loop, const char *src, const gw_fault_t *f)
{
    char ev[48];
    snprintf(ev, sizeof ev, "fault_end:%s", fault_kind_names[f->kind]);
    io_log(loop, IO_LOG_INFO, src, "fault %s ended (client_id %d)", fault_kind_names[f->kind],
           f->client_id);
    IO_TRACE_NAMED(loop, src, ev, IO_TI("client_id", f->client_id));
}

/* The farms a Gateway reports on: 2103/2104, 2105/2106, 2157/2158. */
static const struct {
    int broken, ok;
    const char *farm;
} fault_farms[] = {
    {PROTO_CODE_MKT_FARM_BROKEN, PROTO_CODE_MKT_FARM_OK, "usfarm"},
    {PROTO_CODE_HMDS_FARM_BROKEN, PROTO_CODE_HMDS_FARM_OK, "ushmds"},
    {PROTO_CODE_SECDEF_FARM_BROKEN, PROTO_CODE_SECDEF_FARM_OK, "secdefnj"},
};

static void fault_notice(gw_fault_notice_t *n, int req_id, int code, const char *suffix)
{
    const char *text = proto_error_text(code);
    n->req_id = req_id;
    n->code = code;
    snprintf(n->text, sizeof n->text, "%s%s", text ? text : "", suffix);
}

/* The farm notices (broken or OK) of the first nfarms farms, each with the
 * farm's name after the catalogue's text, as a Gateway words them. */
static size_t fault_farm_notices(size_t nfarms, int ok, gw_fault_notice_t *out)
{
    for (size_t i = 0; i < nfarms; i++)
        fault_notice(&out[i], -1, ok ? fault_farms[i].ok : fault_farms[i].broken,
                     fault_farms[i].farm);
    return nfarms;
}

size_t gw_fault_notices(const gw_fault_t *f, int ending,
                        gw_fault_notice_t out[GW_FAULT_NOTICES_MAX])
{
    switch (f->kind) {
    case GW_FAULT_ERROR:
        if (ending)
            return 0;
        fault_notice(&out[0], f->req_id, f->code, "");
        if (f->text[0])
            snprintf(out[0].text, sizeof out[0].text, "%s", f->text);
        return 1;
    case GW_FAULT_CONNECTIVITY_LOST:
        fault_notice(&out[0], -1, ending ? f->restored_code : PROTO_CODE_CONNECTIVITY_LOST, "");
        return 1 + fault_farm_notices(sizeof fault_farms / sizeof fault_farms[0], ending,
                                      out + 1);
    case GW_FAULT_FARM_OUTAGE:
        return fault_farm_notices(2, ending, out); /* market data and HMDS */
    default:
        return 0;
    }
}

/* A frame header whose length is above PROTO_LEN_MAX (so a correct client
 * must drop the connection), then f->bytes random bytes; all of it drawn
 * from the loop's seeded source. */
static int fault_garbage(gw_t *gw, const gw_fault_t *f, char *err, size_t errlen)
{
    io_loop_t *loop = gw_loop(gw);
    uint8_t *buf = malloc(4 + f->bytes);
    if (!buf) {
        if (err)
            snprintf(err, errlen, "garbage: out of memory");
        return IO_ERR_NOMEM;
    }
    uint32_t len = (uint32_t)io_random_range(loop, (int64_t)PROTO_LEN_MAX + 1, UINT32_MAX);
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    for (size_t i = 0; i < f->bytes; i += 8) {
        uint64_t r = io_random_u64(loop);
        for (size_t j = 0; j < 8 && i + j < f->bytes; j++)
            buf[4 + i + j] = (uint8_t)(r >> (8 * j));
    }
    gw_send_raw(gw, f->client_id, buf, 4 + f->bytes);
    free(buf);
    return 0;
}

int gw_fault_apply(gw_t *gw, const gw_fault_t *f, char *err, size_t errlen)
{
    int rc = gw_fault_check(f, err, errlen);
    if (rc < 0)
        return rc;
    int once = f->kind == GW_FAULT_KILL || f->kind == GW_FAULT_GARBAGE ||
               f->kind == GW_FAULT_ERROR || f->kind == GW_FAULT_CLEAR;
    /* Refused before it is traced, so every traced fault took effect. */
    if (!once && gw_faults_info(gw, NULL, 0) >= GW_FAULTS_MAX) {
        fault_invalid(err, errlen, "%d faults are active already; clear some first",
                      GW_FAULTS_MAX);
        return IO_ERR_NOBUFS;
    }
    if (f->kind == GW_FAULT_KILL) {
        /* gw_kill traces fault:kill itself, with the sessions it dropped. */
        int n = gw_kill(gw, f->how, f->client_id);
        io_log(gw_loop(gw), IO_LOG_INFO, FAULT_SRC, "fault kill how=%s client_id=%d sessions=%d",
               f->how == IO_CLOSE_FIN ? "fin" : "rst", f->client_id, n);
        return 0;
    }
    /* Traced first, so the events the fault causes follow it. */
    gw_fault_announce(gw_loop(gw), FAULT_SRC, f);
    switch (f->kind) {
    case GW_FAULT_GARBAGE:
        return fault_garbage(gw, f, err, errlen);
    case GW_FAULT_ERROR: {
        gw_fault_notice_t n[GW_FAULT_NOTICES_MAX];
        gw_fault_notices(f, 0, n);
        gw_send_error(gw, f->client_id, n[0].req_id, n[0].code, n[0].text);
        return 0;
    }
    case GW_FAULT_CLEAR:
        gw_clear_faults(gw, f->client_id);
        return 0;
    default:
        return gw_hold_fault(gw, f, err, errlen);
    }
}

/* ---- parsing `mockgw ctl` words ----------------------------------------- */

static int fault_parse_long(const char *word, long lo, long hi, long *out)
{
    char *end;
    if (!word[0] || (word[0] != '-' && (word[0] < '0' || word[0] > '9')))
        return -1;
    errno = 0;
    long v = strtol(word, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int fault_parse_int(const char *name, const char *what, const char *word, long lo,
                           long hi, long *out, char *err, size_t errlen)
{
    if (fault_parse_long(word, lo, hi, out) == 0)
        return 0;
    return fault_invalid(err, errlen, "%s: %s \"%s\" is not a whole number in %ld..%ld", name,
                         what, word, lo, hi);
}

static int fault_parse_dur(const char *name, const char *word, io_us_t *out, char *err,
                           size_t errlen)
{
    char why[128];
    if (dur_parse(word, out, why, sizeof why) == 0)
        return 0;
    return fault_invalid(err, errlen, "%s: \"%s\" is not a duration (%s)", name, word, why);
}

static int fault_parse_only(const char *word, unsigned *out, char *err, size_t errlen)
{
    char buf[256];
    if (strlen(word) >= sizeof buf || !word[0])
        return fault_invalid(err, errlen, "stale: --only \"%s\" is not a list of kinds", word);
    strcpy(buf, word);
    *out = 0;
    for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        unsigned bit = gw_msg_kind_from_name(k);
        if (!bit)
            return fault_invalid(err, errlen,
                                 "stale: --only: unknown message kind \"%s\" (current_time, "
                                 "historical, market_data, positions, account, orders, "
                                 "executions, contracts, ids, errors)",
                                 k);
        *out |= bit;
    }
    return 0;
}

/* One option with its value; which kinds take it is checked here. */
static int fault_parse_option(gw_fault_t *f, const char *opt, const char *val, char *err,
                              size_t errlen)
{
    const char *name = fault_kind_names[f->kind];
    long v;
    if (strcmp(opt, "--client-id") == 0) {
        if (fault_parse_int(name, "--client-id", val, 0, INT_MAX, &v, err, errlen) < 0)
            return IO_ERR_INVAL;
        f->client_id = (int)v;
    } else if (strcmp(opt, "--how") == 0 && f->kind == GW_FAULT_DOWN) {
        if (strcmp(val, "fin") != 0 && strcmp(val, "rst") != 0)
            return fault_invalid(err, errlen, "down: --how \"%s\" is not fin or rst", val);
        f->how = strcmp(val, "fin") == 0 ? IO_CLOSE_FIN : IO_CLOSE_RST;
    } else if (strcmp(opt, "--only") == 0 && f->kind == GW_FAULT_STALE) {
        return fault_parse_only(val, &f->only, err, errlen);
    } else if (strcmp(opt, "--req-id") == 0 && f->kind == GW_FAULT_ERROR) {
        if (fault_parse_int(name, "--req-id", val, -1, INT_MAX, &v, err, errlen) < 0)
            return IO_ERR_INVAL;
        f->req_id = (int)v;
    } else {
        return fault_invalid(err, errlen, "%s: unknown option \"%s\"", name, opt);
    }
    return 0;
}

/* The positional words after the kind: how many each kind takes (at least,
 * at most), then what they mean. */
static const struct {
    int min, max;
    const char *usage;
} fault_positionals[GW_FAULT_KIND_COUNT] = {
    [GW_FAULT_KILL] = {0, 1, "kill [fin|rst]"},
    [GW_FAULT_DOWN] = {1, 1, "down DURATION [--how fin|rst]"},
    [GW_FAULT_REFUSE] = {1, 1, "refuse DURATION"},
    [GW_FAULT_STALE] = {0, 1, "stale [DURATION] [--only kind,kind]"},
    [GW_FAULT_HANDSHAKE_STALL] = {1, 1, "handshake_stall DURATION"},
    [GW_FAULT_LATENCY] = {2, 2, "latency VALUE DURATION"},
    [GW_FAULT_SLICE] = {2, 2, "slice MAX DURATION"},
    [GW_FAULT_GARBAGE] = {0, 1, "garbage [BYTES]"},
    [GW_FAULT_CONNECTIVITY_LOST] = {1, 2, "connectivity_lost DURATION [1101|1102]"},
    [GW_FAULT_CLIENT_ID_IN_USE] = {0, 1, "client_id_in_use [TIMES]"},
    [GW_FAULT_ERROR] = {1, 2, "error CODE [TEXT] [--req-id N]"},
    [GW_FAULT_FARM_OUTAGE] = {1, 1, "farm_outage DURATION"},
    [GW_FAULT_CLEAR] = {0, 0, "clear"},
};

static int fault_parse_positionals(gw_fault_t *f, int n, const char *const *w, char *err,
                                   size_t errlen)
{
    const char *name = fault_kind_names[f->kind];
    long v;
    int rc = 0;
    switch (f->kind) {
    case GW_FAULT_KILL:
        if (n == 1 && strcmp(w[0], "fin") != 0 && strcmp(w[0], "rst") != 0)
            return fault_invalid(err, errlen, "kill: \"%s\" is not fin or rst", w[0]);
        f->how = n == 1 && strcmp(w[0], "rst") == 0 ? IO_CLOSE_RST : IO_CLOSE_FIN;
        return 0;
    case GW_FAULT_LATENCY:
        rc = fault_parse_dur(name, w[0], &f->value_us, err, errlen);
        return rc < 0 ? rc : fault_parse_dur(name, w[1], &f->for_us, err, errlen);
    case GW_FAULT_SLICE:
        rc = fault_parse_int(name, "max", w[0], 1, (long)FAULT_SLICE_MAX, &v, err, errlen);
        f->max_bytes = (size_t)v;
        return rc < 0 ? rc : fault_parse_dur(name, w[1], &f->for_us, err, errlen);
    case GW_FAULT_GARBAGE:
        if (n == 1 && (rc = fault_parse_int(name, "bytes", w[0], 1, (long)FAULT_GARBAGE_MAX, &v,
                                            err, errlen)) == 0)
            f->bytes = (size_t)v;
        return rc;
    case GW_FAULT_CLIENT_ID_IN_USE:
        if (n == 1 && (rc = fault_parse_int(name, "times", w[0], 1, FAULT_TIMES_MAX, &v, err,
                                            errlen)) == 0)
            f->times = (int)v;
        return rc;
    case GW_FAULT_ERROR:
        if ((rc = fault_parse_int(name, "code", w[0], 1, INT_MAX, &v, err, errlen)) < 0)
            return rc;
        f->code = (int)v;
        if (n == 2 && strlen(w[1]) >= sizeof f->text)
            return fault_invalid(err, errlen, "error: the text is longer than %zu bytes",
                                 sizeof f->text - 1);
        if (n == 2)
            strcpy(f->text, w[1]);
        return 0;
    case GW_FAULT_CONNECTIVITY_LOST:
        if (n == 2 && strcmp(w[1], "1101") != 0 && strcmp(w[1], "1102") != 0)
            return fault_invalid(err, errlen, "connectivity_lost: \"%s\" is not 1101 or 1102",
                                 w[1]);
        if (n == 2)
            f->restored_code = atoi(w[1]);
        return fault_parse_dur(name, w[0], &f->for_us, err, errlen);
    case GW_FAULT_CLEAR:
        return 0;
    default: /* down, refuse, stale, handshake_stall, farm_outage: [DURATION] */
        return n == 1 ? fault_parse_dur(name, w[0], &f->for_us, err, errlen) : 0;
    }
}

int gw_fault_parse_words(int argc, char *const argv[], gw_fault_t *out, char *err,
                         size_t errlen)
{
    if (argc < 1)
        return fault_invalid(err, errlen, "no command");
    int kind = gw_fault_kind_from_name(argv[0]);
    if (kind < 0)
        return fault_invalid(err, errlen, "unknown command \"%s\"", argv[0]);
    gw_fault_t f;
    gw_fault_init(&f, (enum gw_fault_kind)kind);
    const char *pos[FAULT_POSITIONALS_MAX];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            if (i + 1 == argc)
                return fault_invalid(err, errlen, "%s: option %s needs a value", argv[0],
                                     argv[i]);
            int rc = fault_parse_option(&f, argv[i], argv[i + 1], err, errlen);
            if (rc < 0)
                return rc;
            i++;
        } else if (npos == FAULT_POSITIONALS_MAX) {
            return fault_invalid(err, errlen, "%s: unexpected \"%s\" (usage: %s)", argv[0],
                                 argv[i], fault_positionals[kind].usage);
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos < fault_positionals[kind].min || npos > fault_positionals[kind].max)
        return fault_invalid(err, errlen, "%s: %s (usage: %s)", argv[0],
                             npos < fault_positionals[kind].min ? "missing argument"
                                                                : "too many arguments",
                             fault_positionals[kind].usage);
    int rc = fault_parse_positionals(&f, npos, pos, err, errlen);
    if (rc == 0)
        rc = gw_fault_check(&f, err, errlen);
    if (rc == 0)
        *out = f;
    return rc;
}
