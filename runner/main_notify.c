/* main_notify.c - systemd notifications (see main_notify.h). Everything is
 * driven from the loop: the status observer and one io timer, so a hung
 * loop stops the watchdog pings as it should. */
#include "main_notify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#define MN_SRC "systemd"
#define MN_MSG_MAX 256

struct mn {
    io_loop_t *loop;
    io_timer_t *keepalive; /* NULL without a watchdog */
    io_us_t period_us;     /* half of WatchdogSec */
    int healthy;           /* of the last snapshot */
    int ready_sent;
    int stopping_sent;
    uint32_t pings_ok;     /* of the last snapshot */
};

static void mn_send(mn_t *n, const char *msg)
{
    int rc = sd_notify(0, msg);
    if (rc < 0)
        io_log(n->loop, IO_LOG_WARN, MN_SRC, "sd_notify: %s", strerror(-rc));
}

static void mn_on_keepalive(io_timer_t *t, void *data)
{
    mn_t *n = data;
    io_timer_start(t, n->period_us);
    if (n->healthy)
        mn_send(n, "WATCHDOG=1");
}

mn_t *mn_new(io_loop_t *loop)
{
    mn_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->loop = loop;
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return n;
    n->period_us = (io_us_t)(usec / 2);
    n->keepalive = io_timer_new(loop, mn_on_keepalive, n);
    if (!n->keepalive) {
        free(n);
        return NULL;
    }
    io_timer_start(n->keepalive, n->period_us);
    io_log(loop, IO_LOG_INFO, MN_SRC, "watchdog: WATCHDOG=1 every %.3f s while healthy",
           (double)n->period_us / IO_US_PER_S);
    return n;
}

/* Appends "LINE\n" to the message being built. */
static void mn_add(char *msg, size_t cap, const char *key, const char *value)
{
    size_t len = strlen(msg);
    snprintf(msg + len, cap - len, "%s%s\n", key, value);
}

void mn_publish(mn_t *n, const st_snapshot_t *snap, int label_changed)
{
    const st_model_t *m = &snap->model;
    char msg[MN_MSG_MAX] = "";
    n->healthy = st_healthy(m);
    if (n->healthy && !n->ready_sent) {
        n->ready_sent = 1;
        mn_add(msg, sizeof msg, "READY=", "1");
    }
    if (label_changed || msg[0])
        mn_add(msg, sizeof msg, "STATUS=", st_label(m->conn, m->phase));
    if (m->phase == ST_STOPPING && !n->stopping_sent) {
        n->stopping_sent = 1;
        mn_add(msg, sizeof msg, "STOPPING=", "1");
    }
    /* A health check passed: the freshest proof of life there is. */
    if (n->healthy && m->pings_ok != n->pings_ok && n->keepalive)
        mn_add(msg, sizeof msg, "WATCHDOG=", "1");
    n->pings_ok = m->pings_ok;
    if (msg[0])
        mn_send(n, msg);
}

void mn_free(mn_t *n)
{
    if (!n)
        return;
    if (n->keepalive)
        io_timer_free(n->keepalive);
    free(n);
}
