/* status.c - the dashboard status (see status.h). */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proto/nytime.h"

#define ST_SRC "runner"
#define ST_JSON_MAX 2048
#define ST_ISO_MAX 32

struct st {
    io_loop_t *loop;
    char *path;        /* NULL: no file */
    st_model_t m;      /* what the runner changes */
    st_model_t shown;  /* what was last published (with nobody to tell, only
                        * conn and phase follow: see st_commit) */
    const char *label; /* of shown */
    int write_failing; /* the last write failed: do not log every retry */
    st_timeline_t timeline;
    st_observer_cb observer;
    void *observer_data;
};

const char *st_label(enum st_conn conn, enum st_phase phase)
{
    if (phase == ST_STOPPED)
        return "Disconnected";
    if (phase == ST_STOPPING)
        return "Stopping";
    switch (conn) {
    case ST_CONNECTING:
        return "Connecting";
    case ST_RECONNECTING:
        return "Reconnecting";
    case ST_DEGRADED:
        return "Degraded (connectivity lost)";
    case ST_CONNECTED:
        return phase == ST_MARKET_CLOSED ? "API Connected (Market Closed)" : "API Connected";
    case ST_DISCONNECTED:
        break;
    }
    /* Alive, no session on purpose: per-cycle mode between cycles. */
    return "Waiting for cycle";
}

const char *st_conn_name(enum st_conn conn)
{
    static const char *const names[] = {
        [ST_CONNECTING] = "connecting",     [ST_CONNECTED] = "connected",
        [ST_DEGRADED] = "degraded",         [ST_RECONNECTING] = "reconnecting",
        [ST_DISCONNECTED] = "disconnected",
    };
    return names[conn];
}

const char *st_phase_name(enum st_phase phase)
{
    static const char *const names[] = {
        [ST_CYCLE] = "cycle running",       [ST_WAITING] = "waiting for cycle",
        [ST_MARKET_CLOSED] = "market closed", [ST_STOPPING] = "stopping",
        [ST_STOPPED] = "stopped",
    };
    return names[phase];
}

/* 2025-12-10T10:00:00-05:00: exchange time, as the dashboard shows it. */
static const char *st_iso_text(char *buf, size_t cap, io_us_t wall_us)
{
    ny_civil_t c;
    ny_from_utc(wall_us / IO_US_PER_S, &c);
    int off_min = c.utc_offset_s / 60;
    char sign = off_min < 0 ? '-' : '+';
    if (off_min < 0)
        off_min = -off_min;
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day,
             c.hour, c.minute, c.second, sign, off_min / 60, off_min % 60);
    return buf;
}

/* The same as a JSON string. */
static const char *st_iso(char *buf, size_t cap, io_us_t wall_us)
{
    char text[ST_ISO_MAX];
    snprintf(buf, cap, "\"%s\"", st_iso_text(text, sizeof text, wall_us));
    return buf;
}

/* A moment, or null when unset (0). */
static const char *st_iso_or_null(char *buf, size_t cap, io_us_t wall_us)
{
    return wall_us ? st_iso(buf, cap, wall_us) : "null";
}

/* Text appended to a caller's buffer; len counts what did not fit too, so
 * the renderers can say what they need, like snprintf. */
typedef struct st_out {
    char *buf;
    size_t cap;
    size_t len;
} st_out_t;

__attribute__((format(printf, 2, 3))) static void st_put(st_out_t *o, const char *fmt, ...)
{
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static size_t st_out_end(st_out_t *o)
{
    if (o->cap > 0 && o->len >= o->cap)
        o->buf[o->cap - 1] = '\0';
    return o->len;
}

static double st_seconds(io_us_t us)
{
    return (double)us / (double)IO_US_PER_S;
}

static io_us_t st_connected_for(const st_model_t *m, io_us_t now_wall_us)
{
    return m->connected_wall_us ? now_wall_us - m->connected_wall_us : 0;
}

static void st_put_errors_json(st_out_t *o, const st_codes_t *c)
{
    st_put(o, "{");
    for (size_t i = 0; i < c->n; i++)
        st_put(o, "%s\"%d\":%u", i ? "," : "", (int)c->at[i].code, (unsigned)c->at[i].count);
    if (c->other)
        st_put(o, "%s\"other\":%u", c->n ? "," : "", (unsigned)c->other);
    st_put(o, "}");
}

/* The model's members of the status object, without the braces. */
static void st_put_model_json(st_out_t *o, const st_model_t *m, io_us_t now_wall_us)
{
    char now[ST_ISO_MAX], started[ST_ISO_MAX], since[ST_ISO_MAX], next[ST_ISO_MAX];
    char rtt[32] = "null";
    if (m->last_rtt_us >= 0)
        snprintf(rtt, sizeof rtt, "%.3f", (double)m->last_rtt_us / (double)IO_US_PER_MS);
    st_put(o,
           "\"label\":\"%s\",\"connection\":\"%s\",\"phase\":\"%s\",\"persistent\":%s,"
           "\"updated\":%s,\"started\":%s,\"uptime_s\":%lld,\"connected_since\":%s,"
           "\"connected_for_s\":%lld,\"last_ping_rtt_ms\":%s,\"reconnects\":%u,"
           "\"cycles_ok\":%u,\"cycles_failed\":%u,\"next_cycle\":%s,\"healthy\":%s,"
           "\"health_checks_ok\":%u,\"health_checks_failed\":%u,\"errors\":",
           st_label(m->conn, m->phase), st_conn_name(m->conn), st_phase_name(m->phase),
           m->persistent ? "true" : "false", st_iso(now, sizeof now, now_wall_us),
           st_iso(started, sizeof started, m->started_wall_us),
           (long long)((now_wall_us - m->started_wall_us) / IO_US_PER_S),
           st_iso_or_null(since, sizeof since, m->connected_wall_us),
           (long long)(st_connected_for(m, now_wall_us) / IO_US_PER_S), rtt,
           (unsigned)m->reconnects, (unsigned)m->cycles_ok, (unsigned)m->cycles_failed,
           st_iso_or_null(next, sizeof next, m->next_cycle_wall_us),
           st_healthy(m) ? "true" : "false", (unsigned)m->pings_ok, (unsigned)m->pings_failed);
    st_put_errors_json(o, &m->errors);
}

size_t st_render_json(const st_model_t *m, io_us_t now_wall_us, char *buf, size_t cap)
{
    st_out_t o = {buf, cap, 0};
    st_put(&o, "{");
    st_put_model_json(&o, m, now_wall_us);
    st_put(&o, "}\n");
    return st_out_end(&o);
}

size_t st_render_status(const st_snapshot_t *s, io_us_t now_wall_us, char *buf, size_t cap)
{
    st_out_t o = {buf, cap, 0};
    char at[ST_ISO_MAX];
    st_put(&o, "{");
    st_put_model_json(&o, &s->model, now_wall_us);
    st_put(&o, ",\"timeline\":[");
    const st_change_t *c;
    for (size_t i = 0; (c = st_timeline_at(&s->timeline, i)) != NULL; i++)
        st_put(&o, "%s{\"at\":%s,\"label\":\"%s\",\"connection\":\"%s\",\"phase\":\"%s\"}",
               i ? "," : "", st_iso(at, sizeof at, c->wall_us), st_label(c->conn, c->phase),
               st_conn_name(c->conn), st_phase_name(c->phase));
    st_put(&o, "]}\n");
    return st_out_end(&o);
}

/* ---- Prometheus metrics ------------------------------------------------- */

#define ST_METRIC "ibgw_runner_"

static void st_put_help(st_out_t *o, const char *name, const char *type, const char *help)
{
    st_put(o, "# HELP " ST_METRIC "%s %s\n# TYPE " ST_METRIC "%s %s\n", name, help, name, type);
}

/* One gauge per value of an enum, 1 for the current one: the usual way to
 * export a state so that a query can select on it. */
static void st_put_state_metrics(st_out_t *o, const st_model_t *m)
{
    st_put_help(o, "connection_state", "gauge",
                "Connection to IB Gateway: 1 for the current state, 0 for the others.");
    for (int c = ST_CONNECTING; c <= ST_DISCONNECTED; c++)
        st_put(o, ST_METRIC "connection_state{state=\"%s\"} %d\n",
               st_conn_name((enum st_conn)c), (int)m->conn == c);
    st_put_help(o, "phase", "gauge", "Phase of the runner's loop: 1 for the current one.");
    for (int p = ST_CYCLE; p <= ST_STOPPED; p++)
        st_put(o, ST_METRIC "phase{phase=\"%s\"} %d\n", st_phase_name((enum st_phase)p),
               (int)m->phase == p);
    st_put_help(o, "healthy", "gauge",
                "1 while the session is up and its health checks pass (feeds the watchdog).");
    st_put(o, ST_METRIC "healthy %d\n", st_healthy(m));
}

static void st_put_counter_metrics(st_out_t *o, const st_model_t *m)
{
    st_put_help(o, "reconnects_total", "counter",
                "Reconnects scheduled after a lost, refused or unhealthy session.");
    st_put(o, ST_METRIC "reconnects_total %u\n", (unsigned)m->reconnects);
    st_put_help(o, "cycles_total", "counter", "Trading cycles finished, by result.");
    st_put(o, ST_METRIC "cycles_total{result=\"ok\"} %u\n", (unsigned)m->cycles_ok);
    st_put(o, ST_METRIC "cycles_total{result=\"failed\"} %u\n", (unsigned)m->cycles_failed);
    st_put_help(o, "health_checks_total", "counter",
                "reqCurrentTime health checks, by result.");
    st_put(o, ST_METRIC "health_checks_total{result=\"ok\"} %u\n", (unsigned)m->pings_ok);
    st_put(o, ST_METRIC "health_checks_total{result=\"timeout\"} %u\n",
           (unsigned)m->pings_failed);
    st_put_help(o, "errors_total", "counter",
                "errMsg messages from the Gateway, by code (faults and notices alike).");
    for (size_t i = 0; i < m->errors.n; i++)
        st_put(o, ST_METRIC "errors_total{code=\"%d\"} %u\n", (int)m->errors.at[i].code,
               (unsigned)m->errors.at[i].count);
    if (m->errors.other)
        st_put(o, ST_METRIC "errors_total{code=\"other\"} %u\n", (unsigned)m->errors.other);
}

static void st_put_time_metrics(st_out_t *o, const st_model_t *m, io_us_t now_wall_us)
{
    st_put_help(o, "ping_rtt_seconds", "gauge",
                "Round trip of the last answered health check (absent before the first).");
    if (m->last_rtt_us >= 0)
        st_put(o, ST_METRIC "ping_rtt_seconds %.6f\n", st_seconds(m->last_rtt_us));
    st_put_help(o, "uptime_seconds", "gauge", "Seconds since the runner started.");
    st_put(o, ST_METRIC "uptime_seconds %.3f\n", st_seconds(now_wall_us - m->started_wall_us));
    st_put_help(o, "connected_seconds", "gauge",
                "Seconds the current session has been ready; 0 without one.");
    st_put(o, ST_METRIC "connected_seconds %.3f\n",
           st_seconds(st_connected_for(m, now_wall_us)));
}

size_t st_render_metrics(const st_snapshot_t *s, io_us_t now_wall_us, char *buf, size_t cap)
{
    st_out_t o = {buf, cap, 0};
    st_put_state_metrics(&o, &s->model);
    st_put_counter_metrics(&o, &s->model);
    st_put_time_metrics(&o, &s->model, now_wall_us);
    return st_out_end(&o);
}

/* ---- the operator's page ------------------------------------------------ */

/* Every text the page shows comes from the fixed tables above or from
 * numbers: nothing needs HTML escaping. The script takes over after the
 * first paint: it asks /status every second and redraws the same elements
 * (textContent only), so the page stays current without reloading, and it
 * says so when the runner stops answering. */
static const char st_page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>";

static const char st_page_style[] =
    "</title>\n<style>\n"
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}\n"
    "#label{display:inline-block;font-size:1.8em;font-weight:600;padding:.3em .8em;"
    "border-radius:.3em;color:#fff;background:#777}\n"
    ".c-connected{background:#2e7d32!important}.c-degraded,.c-connecting,.c-reconnecting"
    "{background:#e65100!important}.c-disconnected{background:#616161!important}\n"
    "table{border-collapse:collapse;margin:1em 0}th,td{text-align:left;padding:.25em 1em .25em 0}"
    "\n#timeline td,#timeline th{border-bottom:1px solid #ddd}#stale{color:#b71c1c}\n"
    "</style></head><body>\n<h1>IB Gateway runner</h1>\n";

static const char st_page_script[] =
    "<script>\n"
    "(function () {\n"
    "  function put(id, text) { document.getElementById(id).textContent = text; }\n"
    "  function cell(tr, text) { var td = document.createElement('td');"
    " td.textContent = text; tr.appendChild(td); }\n"
    "  function draw(s) {\n"
    "    document.title = s.label;\n"
    "    var label = document.getElementById('label');\n"
    "    label.textContent = s.label; label.className = 'c-' + s.connection;\n"
    "    put('connection', s.connection); put('phase', s.phase);\n"
    "    put('uptime', s.uptime_s + ' s'); put('reconnects', s.reconnects);\n"
    "    put('cycles', s.cycles_ok + ' ok, ' + s.cycles_failed + ' failed');\n"
    "    put('rtt', s.last_ping_rtt_ms === null ? '-' : s.last_ping_rtt_ms.toFixed(3) + ' ms');\n"
    "    put('updated', s.updated); put('stale', '');\n"
    "    var body = document.getElementById('changes');\n"
    "    while (body.firstChild) body.removeChild(body.firstChild);\n"
    "    for (var i = s.timeline.length - 1; i >= 0; i--) {\n"
    "      var c = s.timeline[i], tr = document.createElement('tr');\n"
    "      cell(tr, c.at); cell(tr, c.label); cell(tr, c.connection); cell(tr, c.phase);\n"
    "      body.appendChild(tr);\n"
    "    }\n"
    "  }\n"
    "  function refresh() {\n"
    "    fetch('/status', {cache: 'no-store'}).then(function (r) { return r.json(); })\n"
    "      .then(draw).catch(function (e) { put('stale', 'runner not answering: ' + e); });\n"
    "  }\n"
    "  setInterval(refresh, 1000);\n"
    "})();\n"
    "</script>\n</body></html>\n";

static void st_put_page_rows(st_out_t *o, const st_timeline_t *t)
{
    char at[ST_ISO_MAX];
    const st_change_t *c;
    /* Newest first: the operator looks for what just happened. */
    for (size_t i = t->count; i-- > 0 && (c = st_timeline_at(t, i)) != NULL;) {
        st_put(o, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
               st_iso_text(at, sizeof at, c->wall_us),
               st_label(c->conn, c->phase), st_conn_name(c->conn), st_phase_name(c->phase));
    }
}

size_t st_render_page(const st_snapshot_t *s, io_us_t now_wall_us, char *buf, size_t cap)
{
    const st_model_t *m = &s->model;
    const char *label = st_label(m->conn, m->phase);
    char now[ST_ISO_MAX], rtt[32] = "-";
    if (m->last_rtt_us >= 0)
        snprintf(rtt, sizeof rtt, "%.3f ms", (double)m->last_rtt_us / (double)IO_US_PER_MS);
    st_iso_text(now, sizeof now, now_wall_us);
    st_out_t o = {buf, cap, 0};
    st_put(&o, "%s%s%s", st_page_head, label, st_page_style);
    st_put(&o,
           "<div id=\"label\" class=\"c-%s\">%s</div>\n<table>\n"
           "<tr><th>Connection</th><td id=\"connection\">%s</td></tr>\n"
           "<tr><th>Phase</th><td id=\"phase\">%s</td></tr>\n"
           "<tr><th>Uptime</th><td id=\"uptime\">%lld s</td></tr>\n"
           "<tr><th>Reconnects</th><td id=\"reconnects\">%u</td></tr>\n"
           "<tr><th>Cycles</th><td id=\"cycles\">%u ok, %u failed</td></tr>\n"
           "<tr><th>Last ping</th><td id=\"rtt\">%s</td></tr>\n"
           "<tr><th>Updated</th><td id=\"updated\">%s</td></tr>\n</table>\n"
           "<p id=\"stale\"></p>\n<h2>Last state changes</h2>\n<table id=\"timeline\">\n"
           "<thead><tr><th>At (New York)</th><th>Label</th><th>Connection</th><th>Phase</th>"
           "</tr></thead>\n<tbody id=\"changes\">\n",
           st_conn_name(m->conn), label, st_conn_name(m->conn), st_phase_name(m->phase),
           (long long)((now_wall_us - m->started_wall_us) / IO_US_PER_S),
           (unsigned)m->reconnects, (unsigned)m->cycles_ok, (unsigned)m->cycles_failed, rtt,
           now);
    st_put_page_rows(&o, &s->timeline);
    st_put(&o, "</tbody></table>\n%s", st_page_script);
    return st_out_end(&o);
}

/* ---- the model's pure parts --------------------------------------------- */

void st_count_error(st_model_t *m, int32_t code)
{
    st_codes_t *c = &m->errors;
    c->total++;
    for (size_t i = 0; i < c->n; i++) {
        if (c->at[i].code == code) {
            c->at[i].count++;
            return;
        }
    }
    if (c->n == ST_CODES_MAX) {
        c->other++;
        return;
    }
    c->at[c->n].code = code;
    c->at[c->n].count = 1;
    c->n++;
}

int st_healthy(const st_model_t *m)
{
    if (m->phase == ST_STOPPING || m->phase == ST_STOPPED)
        return 0;
    return m->conn == ST_CONNECTED || m->conn == ST_DEGRADED ||
           (m->conn == ST_DISCONNECTED && !m->persistent);
}

void st_timeline_push(st_timeline_t *t, const st_change_t *c)
{
    t->ring[t->next] = *c;
    t->next = (t->next + 1) % ST_TIMELINE_MAX;
    if (t->count < ST_TIMELINE_MAX)
        t->count++;
}

const st_change_t *st_timeline_at(const st_timeline_t *t, size_t i)
{
    if (i >= t->count)
        return NULL;
    return &t->ring[(t->next + ST_TIMELINE_MAX - t->count + i) % ST_TIMELINE_MAX];
}

static int st_sys_fail(char *err, size_t errlen, const char *step, const char *path)
{
    if (err && errlen)
        snprintf(err, errlen, "%s '%s': %s", step, path, strerror(errno));
    return IO_ERR_SYS;
}

static int st_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The rename is only durable once the folder holding the name is synced. */
static void st_sync_dir(const char *path)
{
    char dir[512];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int st_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char tmp[512];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        if (err && errlen)
            snprintf(err, errlen, "status file path too long: '%s'", path);
        return IO_ERR_INVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return st_sys_fail(err, errlen, "cannot create", tmp);
    if (st_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int rc = st_sys_fail(err, errlen, "cannot write", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0) {
        int rc = st_sys_fail(err, errlen, "cannot close", tmp);
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, path) < 0) {
        int rc = st_sys_fail(err, errlen, "cannot rename onto", path);
        unlink(tmp);
        return rc;
    }
    st_sync_dir(path);
    return 0;
}

int st_new(io_loop_t *loop, const char *path, const st_model_t *initial, st_t **out, char *err,
           size_t errlen)
{
    *out = NULL;
    st_t *s = calloc(1, sizeof *s);
    if (!s || (path && !(s->path = strdup(path)))) {
        free(s);
        if (err && errlen)
            snprintf(err, errlen, "status: out of memory");
        return IO_ERR_NOMEM;
    }
    s->loop = loop;
    s->m = *initial;
    s->shown = *initial;
    s->label = st_label(initial->conn, initial->phase);
    *out = s;
    return 0;
}

void st_free(st_t *s)
{
    if (!s)
        return;
    free(s->path);
    free(s);
}

st_model_t *st_model(st_t *s)
{
    return &s->m;
}

static void st_write_file(st_t *s)
{
    char buf[ST_JSON_MAX], err[256];
    size_t len = st_render_json(&s->m, io_wall_us(s->loop), buf, sizeof buf);
    if (len >= sizeof buf)
        len = sizeof buf - 1; /* every field is bounded; never write past buf */
    if (st_write_atomic(s->path, buf, len, err, sizeof err) < 0) {
        if (!s->write_failing)
            io_log(s->loop, IO_LOG_WARN, ST_SRC, "status file: %s", err);
        s->write_failing = 1;
        return;
    }
    s->write_failing = 0;
}

/* The code tables are equal when they hold as many codes, counted as many
 * times, with as many others: shown is always an earlier state of m, whose
 * counts move only through st_count_error, which adds one to the total. */
static int st_codes_same(const st_codes_t *a, const st_codes_t *b)
{
    return a->total == b->total && a->n == b->n && a->other == b->other;
}

/* Field by field: memcmp would also compare padding. The health check's
 * counter comes first: most commits are a ping's, and it tells at once. */
static int st_model_equal(const st_model_t *a, const st_model_t *b)
{
    return a->pings_ok == b->pings_ok && a->last_rtt_us == b->last_rtt_us && a->conn == b->conn &&
           a->phase == b->phase && a->persistent == b->persistent &&
           a->started_wall_us == b->started_wall_us &&
           a->connected_wall_us == b->connected_wall_us &&
           a->next_cycle_wall_us == b->next_cycle_wall_us && a->reconnects == b->reconnects &&
           a->cycles_ok == b->cycles_ok && a->cycles_failed == b->cycles_failed &&
           a->pings_failed == b->pings_failed && st_codes_same(&a->errors, &b->errors);
}

/* Only with an observer (see st_commit). */
static void st_notify(const st_t *s, int label_changed)
{
    st_snapshot_t snap = {s->shown, s->timeline};
    s->observer(s->observer_data, &snap, label_changed);
}

/* shown = m. The code table is most of the model and moves only with an
 * errMsg, while a health check commits every time: it is copied only when
 * it moved (st_codes_same), and then without its unused tail. */
static void st_model_publish(st_model_t *shown, const st_model_t *m)
{
    memcpy(shown, m, offsetof(st_model_t, errors));
    if (st_codes_same(&shown->errors, &m->errors))
        return;
    memcpy(shown->errors.at, m->errors.at, m->errors.n * sizeof m->errors.at[0]);
    shown->errors.n = m->errors.n;
    shown->errors.other = m->errors.other;
    shown->errors.total = m->errors.total;
}

/* Conn or phase moved: the timeline gets the change, shown the pair, and
 * a new label is traced and logged. 1 when the label changed. */
static int st_move(st_t *s)
{
    st_change_t change = {io_wall_us(s->loop), s->m.conn, s->m.phase};
    st_timeline_push(&s->timeline, &change);
    s->shown.conn = s->m.conn;
    s->shown.phase = s->m.phase;
    const char *label = st_label(s->m.conn, s->m.phase);
    if (strcmp(label, s->label) == 0)
        return 0;
    s->label = label;
    IO_TRACE(s->loop, ST_SRC, "status", IO_TS("label", label),
             IO_TS("connection", st_conn_name(s->m.conn)),
             IO_TS("phase", st_phase_name(s->m.phase)));
    io_log(s->loop, IO_LOG_INFO, ST_SRC, "status: %s", label);
    return 1;
}

/* st_commit with a file or an observer to tell of any change. */
__attribute__((noinline)) static void st_commit_told(st_t *s, int moved)
{
    if (st_model_equal(&s->m, &s->shown))
        return;
    int label_changed = moved && st_move(s);
    st_model_publish(&s->shown, &s->m);
    if (s->path)
        st_write_file(s);
    if (s->observer)
        st_notify(s, label_changed);
}

void st_commit(st_t *s)
{
    /* The label is a function of these two alone: counters cannot move it. */
    int moved = s->m.conn != s->shown.conn || s->m.phase != s->shown.phase;
    if (s->path || s->observer) {
        st_commit_told(s, moved);
        return;
    }
    /* Nobody to tell (the simulator; a health check's commit is most of
     * them): only the label and the timeline follow; the rest of shown is
     * published when an observer comes (st_observe). */
    if (moved)
        st_move(s);
}

const char *st_current_label(const st_t *s)
{
    return s->label;
}

void st_observe(st_t *s, st_observer_cb cb, void *data)
{
    s->observer = cb;
    s->observer_data = data;
    if (!cb)
        return;
    /* Commits with nobody to tell left shown behind (st_commit). */
    st_model_publish(&s->shown, &s->m);
    st_notify(s, 0);
}
