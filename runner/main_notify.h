/* main_notify.h - the runner binary's systemd notifications (sd_notify,
 * libsystemd): READY=1 the first time the runner is healthy (connected),
 * STATUS=<label> whenever the label changes, STOPPING=1 on shutdown, and
 * WATCHDOG=1 each time a health check passes and, when the unit sets
 * WatchdogSec=, every half of it, but only while the runner is healthy
 * (st_healthy), so systemd restarts one that stays unhealthy or whose loop
 * hangs. Where systemd is absent (no NOTIFY_SOCKET) nothing is sent and
 * nothing else changes. Binary glue: it reads the environment, so it lives
 * beside main.c (see ci/lint.sh). */
#ifndef RUNNER_MAIN_NOTIFY_H
#define RUNNER_MAIN_NOTIFY_H

#include "../io/io.h"
#include "status.h"

typedef struct mn mn_t;

/* Reads WATCHDOG_USEC/WATCHDOG_PID and arms the keep-alive timer on loop.
 * NULL when out of memory. */
mn_t *mn_new(io_loop_t *loop);
/* From the status observer: sends what the change calls for. */
void mn_publish(mn_t *n, const st_snapshot_t *snap, int label_changed);
void mn_free(mn_t *n);

#endif
