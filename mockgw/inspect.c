/* inspect.c - `mockgw inspect`: capture events as text or JSON lines, and
 * the summary. The field names below follow the wire layouts at server
 * version 178 (docs: tws-protocol.md section 4) for the messages this
 * project sends or answers; other messages print their fields unnamed. */
#include "inspect.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

#define EXIT_USAGE 2
#define ERR_MAX 512
#define US_PER_S 1000000
#define S_PER_DAY 86400

static const char usage[] =
    "usage: mockgw inspect [--json] [--ports P,Q,...] FILE\n"
    "\n"
    "Decodes the TWS API conversations in a pcap or pcapng capture: one line per\n"
    "message (UTC time, direction, connection, message name, fields), then a summary\n"
    "of connections, negotiated versions and gaps (bytes the capture does not hold).\n"
    "Conversations are found by server port or by the client's \"API\\0\" greeting.\n"
    "\n"
    "  --json          one JSON object per line, the summary last\n"
    "  --ports P,Q     server ports (default 4001,4002,7496,7497), at most 16\n"
    "  --help          this text\n"
    "\n"
    "Exit status: 0 decoded, 2 bad usage, not a capture, or a truncated file.\n";

/* Field names after the message id, comma-separated. */
typedef struct msg_names {
    int id;
    const char *names;
} msg_names_t;

static const msg_names_t names_out[] = {
    {PROTO_OUT_START_API, "version,clientId,optionalCapabilities"},
    {PROTO_OUT_REQ_CURRENT_TIME, "version"},
    {PROTO_OUT_REQ_IDS, "version,numIds"},
    {PROTO_OUT_REQ_POSITIONS, "version"},
    {PROTO_OUT_CANCEL_POSITIONS, "version"},
    {PROTO_OUT_REQ_MANAGED_ACCTS, "version"},
    {PROTO_OUT_REQ_OPEN_ORDERS, "version"},
    {PROTO_OUT_REQ_ALL_OPEN_ORDERS, "version"},
    {PROTO_OUT_REQ_GLOBAL_CANCEL, "version"},
    {PROTO_OUT_REQ_MARKET_DATA_TYPE, "version,marketDataType"},
    {PROTO_OUT_CANCEL_ORDER, "version,orderId,manualOrderCancelTime"},
    {PROTO_OUT_REQ_ACCOUNT_SUMMARY, "version,reqId,group,tags"},
    {PROTO_OUT_CANCEL_ACCOUNT_SUMMARY, "version,reqId"},
    {PROTO_OUT_CANCEL_HISTORICAL_DATA, "version,reqId"},
    {PROTO_OUT_REQ_EXECUTIONS,
     "version,reqId,clientId,acctCode,time,symbol,secType,exchange,side"},
    {PROTO_OUT_REQ_HISTORICAL_DATA,
     "reqId,conId,symbol,secType,lastTradeDate,strike,right,multiplier,exchange,"
     "primaryExchange,currency,localSymbol,tradingClass,includeExpired,endDateTime,barSize,"
     "duration,useRTH,whatToShow,formatDate,keepUpToDate,chartOptions"},
};

static const msg_names_t names_in[] = {
    {PROTO_IN_ERR_MSG, "version,id,code,text,advancedOrderRejectJson"},
    {PROTO_IN_CURRENT_TIME, "version,time"},
    {PROTO_IN_NEXT_VALID_ID, "version,orderId"},
    {PROTO_IN_MANAGED_ACCTS, "version,accounts"},
    {PROTO_IN_POSITION_DATA,
     "version,account,conId,symbol,secType,lastTradeDate,strike,right,multiplier,exchange,"
     "currency,localSymbol,tradingClass,position,avgCost"},
    {PROTO_IN_POSITION_END, "version"},
    {PROTO_IN_ACCOUNT_SUMMARY, "version,reqId,account,tag,value,currency"},
    {PROTO_IN_ACCOUNT_SUMMARY_END, "version,reqId"},
    {PROTO_IN_ACCT_VALUE, "version,key,value,currency,account"},
    {PROTO_IN_ACCT_DOWNLOAD_END, "version,account"},
    {PROTO_IN_OPEN_ORDER_END, "version"},
    {PROTO_IN_EXECUTION_DATA_END, "version,reqId"},
    {PROTO_IN_MARKET_DATA_TYPE, "version,reqId,marketDataType"},
    {PROTO_IN_TICK_PRICE, "version,tickerId,tickType,price,size,attrMask"},
    {PROTO_IN_TICK_SIZE, "version,tickerId,tickType,size"},
    {PROTO_IN_TICK_REQ_PARAMS, "tickerId,minTick,bboExchange,snapshotPermissions"},
    {PROTO_IN_ORDER_STATUS,
     "orderId,status,filled,remaining,avgFillPrice,permId,parentId,lastFillPrice,clientId,"
     "whyHeld,mktCapPrice"},
    {PROTO_IN_COMMISSION_REPORT,
     "version,execId,commission,currency,realizedPNL,yield,yieldRedemptionDate"},
    {PROTO_IN_HISTORICAL_DATA, "reqId,startDate,endDate,barCount"},
    {PROTO_IN_HISTORICAL_DATA_END, "reqId,startDate,endDate"},
};

typedef struct inspect {
    FILE *out;
    int json;
    uint64_t msgs, gaps, errors, packets_skipped;
} inspect_t;

static const char *names_for(enum gw_cap_dir dir, int id)
{
    const msg_names_t *t = dir == GW_CAP_C2S ? names_out : names_in;
    size_t n = dir == GW_CAP_C2S ? sizeof names_out / sizeof names_out[0]
                                 : sizeof names_in / sizeof names_in[0];
    for (size_t i = 0; i < n; i++)
        if (t[i].id == id)
            return t[i].names;
    return NULL;
}

/* The next name of a comma list into buf ("" once the list is used up). */
static const char *next_name(const char **list, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!*list || !**list)
        return buf;
    size_t n = strcspn(*list, ",");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, *list, n);
    buf[n] = '\0';
    *list += n + ((*list)[n] == ',');
    return buf;
}

static const char *dir_text(enum gw_cap_dir dir)
{
    return dir == GW_CAP_C2S ? "c>s" : "s>c";
}

static void time_text(int64_t t_us, char buf[32])
{
    int64_t s = t_us / US_PER_S, us = t_us % US_PER_S, day = s % S_PER_DAY;
    snprintf(buf, 32, "%02d:%02d:%02d.%06d", (int)(day / 3600), (int)(day / 60 % 60),
             (int)(day % 60), (int)us);
}

static int is_number(const char *f)
{
    size_t len = strlen(f);
    return len > 0 && strspn(f, "-.0123456789") == len && strpbrk(f, "0123456789") != NULL;
}

/* A field as text: numbers bare, anything else quoted with \" \\ \xNN. */
static void put_value(FILE *out, const char *f)
{
    if (is_number(f)) {
        fputs(f, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)f; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\x%02X", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static const char *msg_name(enum gw_cap_dir dir, int id)
{
    const char *name = dir == GW_CAP_C2S ? proto_out_name(id) : proto_in_name(id);
    return name ? name : "unknown";
}

/* ---- text lines ----------------------------------------------------------- */

static void text_msg(inspect_t *in, const gw_cap_event_t *ev)
{
    proto_reader_t r;
    const char *field;
    char name[48];
    proto_reader_init(&r, &ev->frame);
    int id = -1;
    if (proto_read_str(&r, &field, NULL, 0) == 0) {
        char *end;
        long v = strtol(field, &end, 10);
        id = *end == '\0' && end != field ? (int)v : -1;
        fprintf(in->out, "%s [", msg_name(ev->dir, id));
        put_value(in->out, field);
    }
    const char *names = names_for(ev->dir, id);
    while (proto_read_str(&r, &field, NULL, 0) == 0) {
        fputc(',', in->out);
        if (next_name(&names, name, sizeof name)[0])
            fprintf(in->out, "%s=", name);
        put_value(in->out, field);
    }
    fputs("]\n", in->out);
}

static void text_event(inspect_t *in, const gw_cap_event_t *ev)
{
    char t[32];
    time_text(ev->t_us, t);
    if (ev->kind == GW_CAP_PACKET) {
        fprintf(in->out, "%s PACKET skipped: %s\n", t, ev->text);
        return;
    }
    fprintf(in->out, "%s %s conn=%u ", t, dir_text(ev->dir), ev->conn);
    switch (ev->kind) {
    case GW_CAP_OPEN:
        fprintf(in->out, "OPEN found by %s\n", ev->text);
        break;
    case GW_CAP_HELLO:
        fprintf(in->out, "hello [min=%d,max=%d", ev->hello->min_version,
                ev->hello->max_version);
        if (ev->hello->options[0]) {
            fputs(",options=", in->out);
            put_value(in->out, ev->hello->options);
        }
        fputs("]\n", in->out);
        break;
    case GW_CAP_SERVER_HELLO:
        fprintf(in->out, "serverHello [version=%d,connectionTime=", ev->version);
        put_value(in->out, ev->text);
        fputs("]\n", in->out);
        break;
    case GW_CAP_MSG:
        text_msg(in, ev);
        break;
    case GW_CAP_GAP:
        fprintf(in->out, "GAP offset=%" PRIu64 " length=%" PRIu64 "\n", ev->offset,
                ev->length);
        break;
    case GW_CAP_RESYNC:
        fprintf(in->out, "RESYNC offset=%" PRIu64 " skipped=%" PRIu64 "\n", ev->offset,
                ev->length);
        break;
    case GW_CAP_ERROR:
        fprintf(in->out, "ERROR offset=%" PRIu64 " %s\n", ev->offset, ev->text);
        break;
    default: /* GW_CAP_CLOSE */
        fprintf(in->out, "CLOSE %s offset=%" PRIu64 "\n", ev->text, ev->offset);
        break;
    }
}

/* ---- JSON lines ----------------------------------------------------------- */

static const char *const kind_names[] = {"open", "hello", "server_hello", "msg", "gap",
                                         "resync", "error", "close", "packet"};

static void json_msg(cJSON *o, const gw_cap_event_t *ev)
{
    proto_reader_t r;
    const char *field;
    char name[48];
    cJSON *fields = cJSON_AddArrayToObject(o, "fields");
    cJSON *named = cJSON_CreateObject();
    proto_reader_init(&r, &ev->frame);
    int id = -1;
    const char *names = NULL;
    for (int i = 0; proto_read_str(&r, &field, NULL, 0) == 0; i++) {
        cJSON_AddItemToArray(fields, cJSON_CreateString(field));
        if (i == 0) {
            char *end;
            long v = strtol(field, &end, 10);
            id = *end == '\0' && end != field ? (int)v : -1;
            names = names_for(ev->dir, id);
        } else if (next_name(&names, name, sizeof name)[0]) {
            cJSON_AddStringToObject(named, name, field);
        }
    }
    cJSON_AddNumberToObject(o, "id", id);
    cJSON_AddStringToObject(o, "name", msg_name(ev->dir, id));
    cJSON_AddItemToObject(o, "named", named);
}

static void json_event(inspect_t *in, const gw_cap_event_t *ev)
{
    char t[32];
    time_text(ev->t_us, t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t_us", (double)ev->t_us);
    cJSON_AddStringToObject(o, "time", t);
    cJSON_AddStringToObject(o, "event", kind_names[ev->kind]);
    if (ev->kind != GW_CAP_PACKET) {
        cJSON_AddNumberToObject(o, "conn", ev->conn);
        cJSON_AddStringToObject(o, "dir", dir_text(ev->dir));
    }
    cJSON_AddNumberToObject(o, "offset", (double)ev->offset);
    if (ev->kind == GW_CAP_MSG)
        json_msg(o, ev);
    else if (ev->kind == GW_CAP_HELLO) {
        cJSON_AddNumberToObject(o, "min", ev->hello->min_version);
        cJSON_AddNumberToObject(o, "max", ev->hello->max_version);
        cJSON_AddStringToObject(o, "options", ev->hello->options);
    } else if (ev->kind == GW_CAP_SERVER_HELLO) {
        cJSON_AddNumberToObject(o, "version", ev->version);
        cJSON_AddStringToObject(o, "connection_time", ev->text);
    } else if (ev->kind == GW_CAP_GAP || ev->kind == GW_CAP_RESYNC) {
        cJSON_AddNumberToObject(o, ev->kind == GW_CAP_GAP ? "length" : "skipped",
                                (double)ev->length);
    } else if (ev->text) {
        cJSON_AddStringToObject(o, ev->kind == GW_CAP_ERROR || ev->kind == GW_CAP_PACKET
                                       ? "error" : ev->kind == GW_CAP_OPEN ? "found_by" : "how",
                                ev->text);
    }
    char *line = cJSON_PrintUnformatted(o);
    if (line)
        fprintf(in->out, "%s\n", line);
    free(line);
    cJSON_Delete(o);
}

static void on_event(const gw_cap_event_t *ev, void *data)
{
    inspect_t *in = data;
    in->msgs += ev->kind == GW_CAP_MSG;
    in->gaps += ev->kind == GW_CAP_GAP;
    in->errors += ev->kind == GW_CAP_ERROR;
    in->packets_skipped += ev->kind == GW_CAP_PACKET;
    if (in->json)
        json_event(in, ev);
    else
        text_event(in, ev);
}

/* ---- summary -------------------------------------------------------------- */

static void text_summary(inspect_t *in, const char *path, const gw_cap_t *c)
{
    const gw_cap_stats_t *st = gw_cap_stats(c);
    fprintf(in->out, "summary: %s: %" PRIu64 " packets (%" PRIu64 " TCP, %" PRIu64
            " other, %" PRIu64 " malformed), %" PRIu64 " TCP flows (%" PRIu64
            " not TWS), %zu conversations, %" PRIu64 " messages, %" PRIu64 " gaps, %" PRIu64
            " decode errors\n", path, st->packets.packets, st->packets.tcp, st->packets.other,
            st->packets.malformed, st->flows, st->ignored, gw_cap_nconns(c), in->msgs, in->gaps,
            in->errors);
    for (size_t i = 0; i < gw_cap_nconns(c); i++) {
        const gw_cap_conn_info_t *k = gw_cap_conn(c, i);
        fprintf(in->out, "summary: conn=%u %s > %s found by %s, hello ", k->conn, k->client,
                k->server, k->found_by);
        if (k->hello_max)
            fprintf(in->out, "v%d..%d", k->hello_min, k->hello_max);
        else
            fputs("not captured", in->out);
        if (k->version)
            fprintf(in->out, ", version %d", k->version);
        else
            fputs(", version unknown", in->out);
        for (int d = 0; d < 2; d++)
            fprintf(in->out, "; %s %" PRIu64 " msgs, %" PRIu64 " gaps (%" PRIu64
                    " bytes), %" PRIu64 " skipped, %" PRIu64 " errors, end %s",
                    dir_text((enum gw_cap_dir)d), k->msgs[d], k->gaps[d], k->gap_bytes[d],
                    k->skipped[d], k->errors[d], k->end[d]);
        fputc('\n', in->out);
    }
}

static cJSON *json_pair(uint64_t c2s, uint64_t s2c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "c>s", (double)c2s);
    cJSON_AddNumberToObject(o, "s>c", (double)s2c);
    return o;
}

static void json_summary(inspect_t *in, const char *path, const gw_cap_t *c)
{
    const gw_cap_stats_t *st = gw_cap_stats(c);
    cJSON *root = cJSON_CreateObject();
    cJSON *s = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddStringToObject(s, "file", path);
    cJSON_AddNumberToObject(s, "packets", (double)st->packets.packets);
    cJSON_AddNumberToObject(s, "tcp", (double)st->packets.tcp);
    cJSON_AddNumberToObject(s, "other", (double)st->packets.other);
    cJSON_AddNumberToObject(s, "malformed", (double)st->packets.malformed);
    cJSON_AddNumberToObject(s, "flows", (double)st->flows);
    cJSON_AddNumberToObject(s, "ignored_flows", (double)st->ignored);
    cJSON_AddNumberToObject(s, "messages", (double)in->msgs);
    cJSON_AddNumberToObject(s, "gaps", (double)in->gaps);
    cJSON_AddNumberToObject(s, "errors", (double)in->errors);
    cJSON *conns = cJSON_AddArrayToObject(s, "conversations");
    for (size_t i = 0; i < gw_cap_nconns(c); i++) {
        const gw_cap_conn_info_t *k = gw_cap_conn(c, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "conn", k->conn);
        cJSON_AddStringToObject(o, "client", k->client);
        cJSON_AddStringToObject(o, "server", k->server);
        cJSON_AddStringToObject(o, "found_by", k->found_by);
        cJSON_AddNumberToObject(o, "hello_min", k->hello_min);
        cJSON_AddNumberToObject(o, "hello_max", k->hello_max);
        cJSON_AddNumberToObject(o, "version", k->version);
        cJSON_AddItemToObject(o, "messages", json_pair(k->msgs[0], k->msgs[1]));
        cJSON_AddItemToObject(o, "gaps", json_pair(k->gaps[0], k->gaps[1]));
        cJSON_AddItemToObject(o, "gap_bytes", json_pair(k->gap_bytes[0], k->gap_bytes[1]));
        cJSON_AddItemToObject(o, "skipped", json_pair(k->skipped[0], k->skipped[1]));
        cJSON_AddItemToObject(o, "errors", json_pair(k->errors[0], k->errors[1]));
        cJSON *end = cJSON_AddObjectToObject(o, "end");
        cJSON_AddStringToObject(end, "c>s", k->end[0]);
        cJSON_AddStringToObject(end, "s>c", k->end[1]);
        cJSON_AddItemToArray(conns, o);
    }
    char *line = cJSON_PrintUnformatted(root);
    if (line)
        fprintf(in->out, "%s\n", line);
    free(line);
    cJSON_Delete(root);
}

/* ---- command line ------------------------------------------------------------ */

static int parse_ports(const char *text, gw_cap_config_t *cfg)
{
    const char *p = text;
    cfg->nports = 0;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9' || cfg->nports == GW_CAP_PORTS_MAX)
            return -1;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (errno || v == 0 || v > 65535 || (*end != ',' && *end != '\0'))
            return -1;
        cfg->ports[cfg->nports++] = (uint16_t)v;
        if (*end == '\0')
            return 0;
        p = end + 1;
    }
}

static int usage_error(FILE *errout, const char *what, const char *arg)
{
    fprintf(errout, "mockgw inspect: %s \"%s\"\nTry 'mockgw inspect --help'.\n", what, arg);
    return EXIT_USAGE;
}

int gw_inspect_run(int argc, char **argv, FILE *out, FILE *errout)
{
    inspect_t in = {.out = out};
    gw_cap_config_t cfg;
    const char *path = NULL;
    gw_cap_config_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, out);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            in.json = 1;
        } else if (strcmp(argv[i], "--ports") == 0) {
            if (i + 1 == argc || parse_ports(argv[i + 1], &cfg) < 0)
                return usage_error(errout, "--ports needs 1 to 16 ports (1..65535) separated "
                                   "by commas, got", i + 1 < argc ? argv[i + 1] : "");
            i++;
        } else if (argv[i][0] == '-' || path) {
            return usage_error(errout, argv[i][0] == '-' ? "unknown option" :
                               "unexpected argument", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage_error(errout, "missing FILE, got", "");
    gw_cap_t *c = gw_cap_new(&cfg, on_event, &in);
    if (!c) {
        fprintf(errout, "mockgw inspect: out of memory\n");
        return EXIT_USAGE;
    }
    char err[ERR_MAX] = "";
    int rc = gw_cap_read_file(c, path, err, sizeof err);
    if (rc != GW_PCAP_ERR_OPEN && rc != GW_PCAP_ERR_LINKTYPE) {
        if (in.json)
            json_summary(&in, path, c);
        else
            text_summary(&in, path, c);
    }
    gw_cap_free(c);
    if (rc < 0) {
        fprintf(errout, "mockgw inspect: %s: %s\n", path, err);
        return EXIT_USAGE;
    }
    return 0;
}

int gw_inspect_main(int argc, char **argv)
{
    return gw_inspect_run(argc, argv, stdout, stderr);
}
