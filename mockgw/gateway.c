/* gateway.c - the mock gateway core: config defaults and checks, the
 * listener, the session table (fixed slots, so that closing sessions while
 * walking it is safe and the walk order is the accept order of the slots),
 * and the faults that act on many sessions at once (kill, stale). */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"
#include "registry.h"
#include "session.h"

#define GW_SRC "gateway"

struct gw {
    io_loop_t *loop;
    gw_config_t cfg;
    io_listener_t *listener;
    gw_registry_t registry;
    gw_session_host_t host;
    char *accounts_csv;
    gw_session_t *sessions[GW_SESSIONS_MAX]; /* NULL: a free slot */
    size_t nsessions;
    int stale_all; /* stale for every session, new ones included */
};

void gw_config_defaults(gw_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 4002;
    cfg->server_version_min = PROTO_SERVER_VERSION_MIN;
    cfg->server_version_max = PROTO_SERVER_VERSION_MAX;
    cfg->accounts[0] = "DU1234567";
    cfg->naccounts = 1;
    cfg->next_order_id = 1;
    cfg->max_sessions = GW_SESSIONS_MAX;
}

/* Clients need at least one account to call themselves ready, and the
 * session table and registry are sized for GW_SESSIONS_MAX. */
static int gw_config_check(const gw_config_t *cfg, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (!cfg->host)
        bad = "no host";
    else if (cfg->server_version_min < 1 || cfg->server_version_min > cfg->server_version_max)
        bad = "server versions need 1 <= min <= max";
    else if (cfg->naccounts < 1 || cfg->naccounts > GW_ACCOUNTS_MAX)
        bad = "between 1 and GW_ACCOUNTS_MAX accounts needed";
    else if (cfg->max_sessions < 1 || cfg->max_sessions > GW_SESSIONS_MAX)
        bad = "max_sessions must be between 1 and GW_SESSIONS_MAX";
    for (size_t i = 0; !bad && i < cfg->naccounts; i++)
        if (!cfg->accounts[i] || !cfg->accounts[i][0] || strchr(cfg->accounts[i], ','))
            bad = "an account is empty or holds a comma";
    if (!bad)
        return 0;
    if (err)
        snprintf(err, errlen, "gateway config: %s", bad);
    return IO_ERR_INVAL;
}

/* "ACC1,ACC2", the managedAccounts field every session sends. */
static char *gw_join_accounts(const gw_config_t *cfg)
{
    size_t len = 0;
    for (size_t i = 0; i < cfg->naccounts; i++)
        len += strlen(cfg->accounts[i]) + 1;
    char *csv = malloc(len);
    if (!csv)
        return NULL;
    csv[0] = '\0';
    for (size_t i = 0; i < cfg->naccounts; i++) {
        if (i > 0)
            strcat(csv, ",");
        strcat(csv, cfg->accounts[i]);
    }
    return csv;
}

static void gw_on_session_closed(void *data, gw_session_t *session)
{
    gw_t *gw = data;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (gw->sessions[i] == session) {
            gw->sessions[i] = NULL;
            gw->nsessions--;
            return;
        }
    }
}

static void gw_on_accept(io_listener_t *listener, io_stream_t *stream, void *data)
{
    gw_t *gw = data;
    unsigned long long conn = io_stream_id(stream);
    (void)listener;
    if (gw->nsessions >= (size_t)gw->cfg.max_sessions) {
        io_log(gw->loop, IO_LOG_WARN, GW_SRC, "conn=%llu refused: %zu sessions already open",
               conn, gw->nsessions);
        io_stream_close(stream, IO_CLOSE_FIN);
        return;
    }
    size_t slot = 0;
    while (gw->sessions[slot])
        slot++;
    gw_session_t *s = gw_session_new(&gw->host, stream, gw->stale_all);
    if (!s) {
        io_log(gw->loop, IO_LOG_ERROR, GW_SRC, "conn=%llu dropped: out of memory", conn);
        io_stream_close(stream, IO_CLOSE_RST);
        return;
    }
    gw->sessions[slot] = s;
    gw->nsessions++;
    io_log(gw->loop, IO_LOG_INFO, GW_SRC, "conn=%llu accepted", conn);
    IO_TRACE(gw->loop, GW_SRC, "accept", IO_TI("conn", conn));
}

int gw_new(io_loop_t *loop, const gw_config_t *cfg, gw_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = gw_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    gw_t *gw = calloc(1, sizeof *gw);
    char *csv = gw_join_accounts(cfg);
    if (!gw || !csv) {
        free(gw);
        free(csv);
        if (err)
            snprintf(err, errlen, "gateway: out of memory");
        return IO_ERR_NOMEM;
    }
    gw->loop = loop;
    gw->cfg = *cfg;
    gw->accounts_csv = csv;
    gw_registry_init(&gw->registry);
    gw->host = (gw_session_host_t){loop, &gw->cfg, &gw->registry, csv, gw_on_session_closed, gw};
    rc = io_listen(loop, cfg->host, cfg->port, gw_on_accept, gw, &gw->listener, err, errlen);
    if (rc < 0) {
        free(csv);
        free(gw);
        return rc;
    }
    io_log(loop, IO_LOG_INFO, GW_SRC, "listening on %s:%u (server versions %d..%d)", cfg->host,
           (unsigned)io_listener_port(gw->listener), cfg->server_version_min,
           cfg->server_version_max);
    *out = gw;
    return 0;
}

void gw_free(gw_t *gw)
{
    if (!gw)
        return;
    io_listener_close(gw->listener);
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        if (gw->sessions[i])
            gw_session_close(gw->sessions[i], IO_CLOSE_FIN, "gateway shutdown");
    free(gw->accounts_csv);
    free(gw);
}

uint16_t gw_port(const gw_t *gw)
{
    return io_listener_port(gw->listener);
}

size_t gw_session_count(const gw_t *gw)
{
    return gw->nsessions;
}

static int gw_matches(const gw_session_t *s, int client_id)
{
    return client_id < 0 || gw_session_client_id(s) == client_id;
}

int gw_kill(gw_t *gw, enum io_close_how how, int client_id)
{
    int n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        n += gw->sessions[i] && gw_matches(gw->sessions[i], client_id);
    /* Traced first, so the session_closed events it causes follow it. */
    IO_TRACE(gw->loop, GW_SRC, "fault:kill", IO_TS("how", how == IO_CLOSE_FIN ? "fin" : "rst"),
             IO_TI("client_id", client_id), IO_TI("sessions", n));
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        if (gw->sessions[i] && gw_matches(gw->sessions[i], client_id))
            gw_session_close(gw->sessions[i], how, "killed");
    return n;
}

void gw_set_stale(gw_t *gw, int on, int client_id)
{
    on = on != 0;
    if (client_id < 0)
        gw->stale_all = on;
    IO_TRACE(gw->loop, GW_SRC, "fault:stale", IO_TI("on", on), IO_TI("client_id", client_id));
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        if (gw->sessions[i] && gw_matches(gw->sessions[i], client_id))
            gw_session_set_stale(gw->sessions[i], on);
}
