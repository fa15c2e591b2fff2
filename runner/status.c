/* status.c - the dashboard status (see status.h). */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proto/nytime.h"

#define ST_SRC "runner"
#define ST_JSON_MAX 1024
#define ST_ISO_MAX 32

struct st {
    io_loop_t *loop;
    char *path;        /* NULL: no file */
    st_model_t m;      /* what the runner changes */
    st_model_t shown;  /* what was last published */
    const char *label; /* of shown */
    int write_failing; /* the last write failed: do not log every retry */
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

/* "2025-12-10T10:00:00-05:00": exchange time, as the dashboard shows it. */
static const char *st_iso(char *buf, size_t cap, io_us_t wall_us)
{
    ny_civil_t c;
    ny_from_utc(wall_us / IO_US_PER_S, &c);
    int off_min = c.utc_offset_s / 60;
    char sign = off_min < 0 ? '-' : '+';
    if (off_min < 0)
        off_min = -off_min;
    snprintf(buf, cap, "\"%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d\"", c.year, c.month, c.day,
             c.hour, c.minute, c.second, sign, off_min / 60, off_min % 60);
    return buf;
}

/* A moment, or null when unset (0). */
static const char *st_iso_or_null(char *buf, size_t cap, io_us_t wall_us)
{
    return wall_us ? st_iso(buf, cap, wall_us) : "null";
}

size_t st_render_json(const st_model_t *m, io_us_t now_wall_us, char *buf, size_t cap)
{
    char now[ST_ISO_MAX], started[ST_ISO_MAX], since[ST_ISO_MAX], next[ST_ISO_MAX];
    char rtt[32] = "null";
    if (m->last_rtt_us >= 0)
        snprintf(rtt, sizeof rtt, "%.3f", (double)m->last_rtt_us / (double)IO_US_PER_MS);
    io_us_t connected_for = m->connected_wall_us ? now_wall_us - m->connected_wall_us : 0;
    int n = snprintf(
        buf, cap,
        "{\"label\":\"%s\",\"connection\":\"%s\",\"phase\":\"%s\",\"persistent\":%s,"
        "\"updated\":%s,\"started\":%s,\"uptime_s\":%lld,\"connected_since\":%s,"
        "\"connected_for_s\":%lld,\"last_ping_rtt_ms\":%s,\"reconnects\":%u,"
        "\"cycles_ok\":%u,\"cycles_failed\":%u,\"next_cycle\":%s}\n",
        st_label(m->conn, m->phase), st_conn_name(m->conn), st_phase_name(m->phase),
        m->persistent ? "true" : "false", st_iso(now, sizeof now, now_wall_us),
        st_iso(started, sizeof started, m->started_wall_us),
        (long long)((now_wall_us - m->started_wall_us) / IO_US_PER_S),
        st_iso_or_null(since, sizeof since, m->connected_wall_us),
        (long long)(connected_for / IO_US_PER_S), rtt, (unsigned)m->reconnects,
        (unsigned)m->cycles_ok, (unsigned)m->cycles_failed,
        st_iso_or_null(next, sizeof next, m->next_cycle_wall_us));
    return n < 0 ? 0 : (size_t)n;
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

/* Field by field: memcmp would also compare padding. */
static int st_model_equal(const st_model_t *a, const st_model_t *b)
{
    return a->conn == b->conn && a->phase == b->phase && a->persistent == b->persistent &&
           a->started_wall_us == b->started_wall_us &&
           a->connected_wall_us == b->connected_wall_us &&
           a->next_cycle_wall_us == b->next_cycle_wall_us && a->last_rtt_us == b->last_rtt_us &&
           a->reconnects == b->reconnects && a->cycles_ok == b->cycles_ok &&
           a->cycles_failed == b->cycles_failed;
}

void st_commit(st_t *s)
{
    if (st_model_equal(&s->m, &s->shown))
        return;
    s->shown = s->m;
    const char *label = st_label(s->m.conn, s->m.phase);
    if (strcmp(label, s->label) != 0) {
        s->label = label;
        IO_TRACE(s->loop, ST_SRC, "status", IO_TS("label", label),
                 IO_TS("connection", st_conn_name(s->m.conn)),
                 IO_TS("phase", st_phase_name(s->m.phase)));
        io_log(s->loop, IO_LOG_INFO, ST_SRC, "status: %s", label);
    }
    if (s->path)
        st_write_file(s);
}

const char *st_current_label(const st_t *s)
{
    return s->label;
}
