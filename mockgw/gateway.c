/* gateway.c - the mock gateway core: config defaults and checks, the
 * listener, the session table (fixed slots, so that closing sessions while
 * walking it is safe and the walk order is the accept order of the slots),
 * the table of held faults (what each does to the listener and to the
 * sessions it matches, when it starts and when it ends), the daily restart
 * schedule, and status for `mockgw ctl`. */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/duration.h"
#include "../proto/nytime.h"
#include "../proto/proto.h"
#include "faults.h"
#include "market.h"
#include "orders.h"
#include "registry.h"
#include "replay.h"
#include "requests.h"
#include "session.h"

#define GW_SRC "gateway"
#define GW_RELISTEN_US IO_US_PER_S          /* retry of a reopen that failed */
#define GW_DAILY_GAP_US (60 * IO_US_PER_S)  /* a restart never repeats sooner */

/* A fault that lasts, in the gateway's table. */
typedef struct gw_held {
    gw_t *gw;
    int used;
    gw_fault_t f;       /* client_id_in_use: f.times counts down */
    io_us_t end_us;     /* monotonic; 0: no end time */
    io_timer_t *timer;  /* fires at end_us; NULL without one */
} gw_held_t;

struct gw {
    io_loop_t *loop;
    gw_config_t cfg;
    io_listener_t *listener; /* NULL while down or refusing */
    uint16_t port;           /* the port bound at start, reopened on it */
    gw_registry_t registry;
    gw_session_host_t host;
    char *accounts_csv;
    gw_market_t *market;
    gw_orders_t *orders;
    gw_replay_t *replay;     /* NULL unless cfg.replay.file is set */
    gw_session_t *sessions[GW_SESSIONS_MAX]; /* NULL: a free slot */
    size_t nsessions;
    gw_held_t held[GW_FAULTS_MAX];
    io_timer_t *relisten;
    io_timer_t *daily;       /* the next daily restart; NULL if none */
    gw_counters_t counters;
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
    cfg->daily_restart_min = -1;
    cfg->daily_restart_down_us = 2 * 60 * IO_US_PER_S;
    cfg->output_max = GW_OUTPUT_MAX;
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
    else if (cfg->daily_restart_min < -1 || cfg->daily_restart_min >= 24 * 60)
        bad = "daily_restart_min must be -1 or a minute of the day (0..1439)";
    else if (cfg->daily_restart_min >= 0 && cfg->daily_restart_down_us <= 0)
        bad = "daily_restart_down_us must be above 0";
    else if (cfg->output_max < 1)
        bad = "output_max must be at least 1 byte";
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
    size_t len = 1; /* the NUL, even with no account */
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
            gw->counters.closed++;
            return;
        }
    }
}

static int gw_id_matches(int fault_client_id, int client_id)
{
    return fault_client_id < 0 || fault_client_id == client_id;
}

static int gw_matches(const gw_session_t *s, int client_id)
{
    return gw_id_matches(client_id, gw_session_client_id(s));
}

static int gw_held_any(const gw_t *gw, enum gw_fault_kind kind)
{
    for (size_t i = 0; i < GW_FAULTS_MAX; i++)
        if (gw->held[i].used && gw->held[i].f.kind == kind)
            return 1;
    return 0;
}

/* The output faults the held ones put on a session with that client id
 * (-1 before startApi: only the faults on every session). Overlapping
 * faults combine: the longest latency, the smallest slices, every kind. */
static gw_session_faults_t gw_faults_for(const gw_t *gw, int client_id)
{
    gw_session_faults_t sf = {0, 0, 0, 0};
    for (size_t i = 0; i < GW_FAULTS_MAX; i++) {
        const gw_fault_t *f = &gw->held[i].f;
        if (!gw->held[i].used || !gw_id_matches(f->client_id, client_id))
            continue;
        if (f->kind == GW_FAULT_STALE && f->only == 0)
            sf.stale = 1;
        else if (f->kind == GW_FAULT_STALE)
            sf.stale_only |= f->only;
        else if (f->kind == GW_FAULT_LATENCY && f->value_us > sf.latency_us)
            sf.latency_us = f->value_us;
        else if (f->kind == GW_FAULT_SLICE && (sf.slice_max == 0 || f->max_bytes < sf.slice_max))
            sf.slice_max = f->max_bytes;
    }
    return sf;
}

static void gw_refresh_sessions(gw_t *gw)
{
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (gw->sessions[i]) {
            gw_session_faults_t sf = gw_faults_for(gw, gw_session_client_id(gw->sessions[i]));
            gw_session_set_faults(gw->sessions[i], &sf);
        }
    }
}

/* A client_id_in_use fault refuses the next startApi it matches, id free
 * or not; any other startApi gets the faults held for its id. */
static int gw_on_start_api(void *data, gw_session_t *s, int client_id);

static void gw_on_accept(io_listener_t *listener, io_stream_t *stream, void *data)
{
    gw_t *gw = data;
    unsigned long long conn = io_stream_id(stream);
    (void)listener;
    if (gw->nsessions >= (size_t)gw->cfg.max_sessions) {
        gw->counters.turned_away++;
        io_log(gw->loop, IO_LOG_WARN, GW_SRC, "conn=%llu refused: %zu sessions already open",
               conn, gw->nsessions);
        io_stream_close(stream, IO_CLOSE_FIN);
        return;
    }
    size_t slot = 0;
    while (gw->sessions[slot])
        slot++;
    gw_session_faults_t sf = gw_faults_for(gw, -1);
    gw_session_t *s = gw_session_new(&gw->host, stream, &sf);
    if (!s) {
        io_log(gw->loop, IO_LOG_ERROR, GW_SRC, "conn=%llu dropped: out of memory", conn);
        io_stream_close(stream, IO_CLOSE_RST);
        return;
    }
    gw->sessions[slot] = s;
    gw->nsessions++;
    gw->counters.accepted++;
    io_log(gw->loop, IO_LOG_INFO, GW_SRC, "conn=%llu accepted", conn);
    IO_TRACE(gw->loop, GW_SRC, "accept", IO_TI("conn", conn));
    if (gw_held_any(gw, GW_FAULT_HANDSHAKE_STALL)) {
        io_log(gw->loop, IO_LOG_INFO, GW_SRC, "conn=%llu stalled: its hello is never answered",
               conn);
        gw_session_stall(s);
    }
}

/* ---- the listener -------------------------------------------------------- */

/* Open unless a down or refuse is held. Reopening fails only if someone
 * else took the port meanwhile (real sockets); it is retried every second. */
static void gw_update_listener(gw_t *gw)
{
    int want = !gw_held_any(gw, GW_FAULT_DOWN) && !gw_held_any(gw, GW_FAULT_REFUSE);
    char err[256] = "";
    if (!want && gw->listener) {
        io_listener_close(gw->listener);
        gw->listener = NULL;
        io_log(gw->loop, IO_LOG_INFO, GW_SRC, "listener closed: connects are refused");
    } else if (want && !gw->listener) {
        if (io_listen(gw->loop, gw->cfg.host, gw->port, gw_on_accept, gw, &gw->listener, err,
                      sizeof err) < 0) {
            io_log(gw->loop, IO_LOG_ERROR, GW_SRC, "cannot listen again (%s); retrying", err);
            io_timer_start(gw->relisten, GW_RELISTEN_US);
        } else {
            io_log(gw->loop, IO_LOG_INFO, GW_SRC, "listening again on %s:%u", gw->cfg.host,
                   (unsigned)gw->port);
        }
    }
}

static void gw_on_relisten(io_timer_t *timer, void *data)
{
    (void)timer;
    gw_update_listener(data);
}

/* ---- the daily restart ---------------------------------------------------- */

/* Microseconds until the next restart at least ahead_us from now: the
 * configured New York wall time today or on a following day. Counted in
 * civil days, so across a DST change the gap is 23 or 25 hours. */
static io_us_t gw_daily_delay(const gw_t *gw, io_us_t ahead_us)
{
    io_us_t wall = io_wall_us(gw->loop);
    int hour = gw->cfg.daily_restart_min / 60, minute = gw->cfg.daily_restart_min % 60;
    ny_civil_t now;
    ny_from_utc(wall / IO_US_PER_S, &now);
    int64_t day = ny_days_from_civil(now.year, now.month, now.day);
    for (;; day++) {
        int y, m, d;
        ny_civil_from_days(day, &y, &m, &d);
        io_us_t at = ny_to_utc(y, m, d, hour, minute, 0) * IO_US_PER_S;
        if (at - wall >= ahead_us && at > wall)
            return at - wall;
    }
}

static void gw_on_daily(io_timer_t *timer, void *data)
{
    gw_t *gw = data;
    gw_fault_t f;
    char err[256], dur[32];
    gw_fault_init(&f, GW_FAULT_DOWN);
    f.for_us = gw->cfg.daily_restart_down_us;
    io_log(gw->loop, IO_LOG_INFO, GW_SRC, "daily restart: down for %s",
           dur_format(f.for_us, dur, sizeof dur));
    if (gw_fault_apply(gw, &f, err, sizeof err) < 0)
        io_log(gw->loop, IO_LOG_ERROR, GW_SRC, "daily restart: %s", err);
    io_timer_start(timer, gw_daily_delay(gw, GW_DAILY_GAP_US));
}

/* ---- life ------------------------------------------------------------------ */

/* The order book reports to the session of the order's client id, when
 * one is connected and ready; the slot is read again after each call, as
 * the session may have closed and freed itself. */
static void gw_on_order_event(void *data, enum gw_ord_event ev, const gw_ord_order_t *o,
                              const gw_ord_exec_t *e)
{
    gw_t *gw = data;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        gw_session_t *s = gw->sessions[i];
        if (s && gw_session_is_ready(s) && gw_session_client_id(s) == o->client_id)
            gw_req_on_order_event(s, ev, o, e);
    }
}

int gw_new(io_loop_t *loop, const gw_config_t *cfg, gw_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = gw_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    gw_t *gw = calloc(1, sizeof *gw);
    char *csv = gw_join_accounts(cfg);
    io_timer_t *relisten = io_timer_new(loop, gw_on_relisten, gw);
    io_timer_t *daily = cfg->daily_restart_min >= 0 ? io_timer_new(loop, gw_on_daily, gw) : NULL;
    if (!gw || !csv || !relisten || (cfg->daily_restart_min >= 0 && !daily)) {
        rc = IO_ERR_NOMEM;
        if (err)
            snprintf(err, errlen, "gateway: out of memory");
        goto fail;
    }
    gw->loop = loop;
    gw->cfg = *cfg;
    gw->accounts_csv = csv;
    gw->relisten = relisten;
    gw->daily = daily;
    gw_registry_init(&gw->registry);
    gw->host = (gw_session_host_t){loop,           &gw->cfg,        &gw->registry, csv,
                                   gw_on_session_closed, gw_on_start_api, gw, NULL, NULL,
                                   NULL};
    gw->market = gw_mkt_new(&gw->cfg);
    gw->orders = gw->market ? gw_ord_new(loop, &gw->cfg, gw->market, gw_on_order_event, gw) : NULL;
    if (!gw->orders) {
        rc = IO_ERR_NOMEM;
        if (err)
            snprintf(err, errlen, "gateway: out of memory");
        goto fail;
    }
    gw->host.market = gw->market;
    gw->host.orders = gw->orders;
    if (cfg->replay.file &&
        (rc = gw_replay_load(loop, &cfg->replay, &gw->replay, err, errlen)) < 0)
        goto fail;
    gw->host.replay = gw->replay;
    rc = io_listen(loop, cfg->host, cfg->port, gw_on_accept, gw, &gw->listener, err, errlen);
    if (rc < 0)
        goto fail;
    gw->port = io_listener_port(gw->listener);
    io_log(loop, IO_LOG_INFO, GW_SRC, "listening on %s:%u (server versions %d..%d)", cfg->host,
           (unsigned)gw->port, cfg->server_version_min, cfg->server_version_max);
    if (daily)
        io_timer_start(daily, gw_daily_delay(gw, 0));
    *out = gw;
    return 0;
fail:
    if (gw) {
        gw_replay_free(gw->replay);
        gw_ord_free(gw->orders);
        gw_mkt_free(gw->market);
    }
    if (daily)
        io_timer_free(daily);
    if (relisten)
        io_timer_free(relisten);
    free(csv);
    free(gw);
    return rc;
}

void gw_free(gw_t *gw)
{
    if (!gw)
        return;
    if (gw->listener)
        io_listener_close(gw->listener);
    for (size_t i = 0; i < GW_FAULTS_MAX; i++)
        if (gw->held[i].timer)
            io_timer_free(gw->held[i].timer);
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        if (gw->sessions[i])
            gw_session_close(gw->sessions[i], IO_CLOSE_FIN, "gateway shutdown");
    if (gw->daily)
        io_timer_free(gw->daily);
    io_timer_free(gw->relisten);
    gw_replay_free(gw->replay);
    gw_ord_free(gw->orders);
    gw_mkt_free(gw->market);
    free(gw->accounts_csv);
    free(gw);
}

uint16_t gw_port(const gw_t *gw)
{
    return gw->port;
}

void gw_report_end(gw_t *gw)
{
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        if (gw->sessions[i])
            gw_replay_session_report(*gw_session_replay(gw->sessions[i]));
}

size_t gw_session_count(const gw_t *gw)
{
    return gw->nsessions;
}

io_loop_t *gw_loop(const gw_t *gw)
{
    return gw->loop;
}

/* ---- faults on many sessions ------------------------------------------------ */

static int gw_drop(gw_t *gw, enum io_close_how how, int client_id, const char *reason)
{
    int n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (gw->sessions[i] && gw_matches(gw->sessions[i], client_id)) {
            gw_session_close(gw->sessions[i], how, reason);
            n++;
        }
    }
    return n;
}

int gw_kill(gw_t *gw, enum io_close_how how, int client_id)
{
    int n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        n += gw->sessions[i] && gw_matches(gw->sessions[i], client_id);
    /* Traced first, so the session_closed events it causes follow it. */
    IO_TRACE(gw->loop, GW_SRC, "fault:kill", IO_TS("how", how == IO_CLOSE_FIN ? "fin" : "rst"),
             IO_TI("client_id", client_id), IO_TI("sessions", n));
    return gw_drop(gw, how, client_id, "killed");
}

int gw_send_error(gw_t *gw, int client_id, int id, int code, const char *text)
{
    int n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        if (gw->sessions[i] && gw_matches(gw->sessions[i], client_id))
            n += gw_session_send_error(gw->sessions[i], id, code, text);
    return n;
}

int gw_send_raw(gw_t *gw, int client_id, const void *bytes, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (gw->sessions[i] && gw_matches(gw->sessions[i], client_id)) {
            gw_session_send_raw(gw->sessions[i], bytes, len);
            n++;
        }
    }
    return n;
}

/* The errMsgs f sends as it starts or ends (faults.h). */
static void gw_send_notices(gw_t *gw, const gw_fault_t *f, int ending)
{
    gw_fault_notice_t n[GW_FAULT_NOTICES_MAX];
    size_t count = gw_fault_notices(f, ending, n);
    for (size_t i = 0; i < count; i++)
        gw_send_error(gw, f->client_id, n[i].req_id, n[i].code, n[i].text);
}

/* What a held fault does when it starts and when it ends. */
static void gw_held_effect(gw_t *gw, const gw_fault_t *f, int ending)
{
    switch (f->kind) {
    case GW_FAULT_DOWN:
        if (!ending)
            gw_drop(gw, f->how, -1, "gateway down");
        gw_update_listener(gw);
        break;
    case GW_FAULT_REFUSE:
        gw_update_listener(gw);
        break;
    case GW_FAULT_STALE:
    case GW_FAULT_LATENCY:
    case GW_FAULT_SLICE:
        gw_refresh_sessions(gw);
        break;
    case GW_FAULT_CONNECTIVITY_LOST:
    case GW_FAULT_FARM_OUTAGE:
        gw_send_notices(gw, f, ending);
        break;
    default:
        break; /* handshake_stall, client_id_in_use: read where they apply */
    }
}

/* Takes h out of the table, then undoes its effect. */
static void gw_held_end(gw_t *gw, gw_held_t *h)
{
    gw_fault_t f = h->f;
    if (h->timer)
        io_timer_free(h->timer);
    memset(h, 0, sizeof *h);
    gw_fault_announce_end(gw->loop, GW_SRC, &f);
    gw_held_effect(gw, &f, 1);
}

static void gw_on_held_timer(io_timer_t *timer, void *data)
{
    gw_held_t *h = data;
    (void)timer;
    gw_held_end(h->gw, h);
}

int gw_hold_fault(gw_t *gw, const gw_fault_t *f, char *err, size_t errlen)
{
    gw_held_t *h = NULL;
    for (size_t i = 0; i < GW_FAULTS_MAX && !h; i++)
        h = gw->held[i].used ? NULL : &gw->held[i];
    if (!h) {
        if (err)
            snprintf(err, errlen, "%d faults are active already; clear some first",
                     GW_FAULTS_MAX);
        return IO_ERR_NOBUFS;
    }
    io_timer_t *timer = NULL;
    if (f->for_us > 0 && f->kind != GW_FAULT_CLIENT_ID_IN_USE) {
        timer = io_timer_new(gw->loop, gw_on_held_timer, h);
        if (!timer) {
            if (err)
                snprintf(err, errlen, "out of memory");
            return IO_ERR_NOMEM;
        }
        io_timer_start(timer, f->for_us);
    }
    *h = (gw_held_t){gw, 1, *f, timer ? io_now_us(gw->loop) + f->for_us : 0, timer};
    gw->counters.faults++;
    gw_held_effect(gw, f, 0);
    return 0;
}

/* Ends the held faults of that kind (-1: any) with exactly that client_id
 * (< 0: whatever their target). */
static int gw_end_matching(gw_t *gw, int kind, int client_id)
{
    int n = 0;
    for (size_t i = 0; i < GW_FAULTS_MAX; i++) {
        gw_held_t *h = &gw->held[i];
        if (h->used && (kind < 0 || (int)h->f.kind == kind) &&
            (client_id < 0 || h->f.client_id == client_id)) {
            gw_held_end(gw, h);
            n++;
        }
    }
    return n;
}

int gw_clear_faults(gw_t *gw, int client_id)
{
    return gw_end_matching(gw, -1, client_id);
}

void gw_set_stale(gw_t *gw, int on, int client_id)
{
    on = on != 0;
    IO_TRACE(gw->loop, GW_SRC, "fault:stale", IO_TI("on", on), IO_TI("client_id", client_id));
    if (!on) {
        gw_end_matching(gw, GW_FAULT_STALE, client_id);
        return;
    }
    gw_fault_t f;
    char err[128];
    gw_fault_init(&f, GW_FAULT_STALE);
    f.client_id = client_id;
    if (gw_hold_fault(gw, &f, err, sizeof err) < 0)
        io_log(gw->loop, IO_LOG_ERROR, GW_SRC, "stale not applied: %s", err);
}

static int gw_on_start_api(void *data, gw_session_t *s, int client_id)
{
    gw_t *gw = data;
    for (size_t i = 0; i < GW_FAULTS_MAX; i++) {
        gw_held_t *h = &gw->held[i];
        if (h->used && h->f.kind == GW_FAULT_CLIENT_ID_IN_USE &&
            gw_id_matches(h->f.client_id, client_id)) {
            h->f.times--;
            io_log(gw->loop, IO_LOG_INFO, GW_SRC,
                   "conn=%llu client id %d refused by a client_id_in_use fault, %d more to go",
                   (unsigned long long)gw_session_conn(s), client_id, h->f.times);
            if (h->f.times <= 0)
                gw_held_end(gw, h);
            return 1;
        }
    }
    gw_session_faults_t sf = gw_faults_for(gw, client_id);
    gw_session_set_faults(s, &sf);
    return 0;
}

/* ---- status ------------------------------------------------------------------ */

size_t gw_sessions_info(const gw_t *gw, gw_session_info_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        const gw_session_t *s = gw->sessions[i];
        if (s && n < cap)
            out[n] = (gw_session_info_t){gw_session_conn(s), gw_session_client_id(s),
                                         gw_session_state_name(s)};
        n += s != NULL;
    }
    return n;
}

size_t gw_faults_info(const gw_t *gw, gw_fault_info_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < GW_FAULTS_MAX; i++) {
        const gw_held_t *h = &gw->held[i];
        if (h->used && n < cap) {
            io_us_t left = h->timer ? h->end_us - io_now_us(gw->loop) : -1;
            out[n] = (gw_fault_info_t){(int)h->f.kind, h->f.client_id, left,
                                       h->f.kind == GW_FAULT_CLIENT_ID_IN_USE ? h->f.times : 0};
        }
        n += h->used;
    }
    return n;
}

void gw_get_counters(const gw_t *gw, gw_counters_t *out)
{
    *out = gw->counters;
}

int gw_listening(const gw_t *gw)
{
    return gw->listener != NULL;
}
