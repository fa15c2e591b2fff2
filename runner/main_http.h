/* main_http.h - the runner binary's operator endpoint (--http): an HTTP
 * server on its own thread (libmicrohttpd) that answers GET /status (the
 * status JSON with its timeline), GET /metrics (Prometheus text) and GET /
 * (the self-refreshing page). The loop hands it each published status
 * snapshot; the server thread renders from its own copy, so a slow or
 * stuck client never blocks the loop or moves its timers. Binary glue:
 * it talks to the OS, so it lives beside main.c (see ci/lint.sh). */
#ifndef RUNNER_MAIN_HTTP_H
#define RUNNER_MAIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct mh mh_t;

/* "127.0.0.1:8080" → host and port (0 = any free one). The host must be an
 * IPv4 address. 0, or -1 with the reason in err. */
int mh_parse_addr(const char *text, char *host, size_t hostcap, uint16_t *port, char *err,
                  size_t errlen);

/* Listens on host:port and serves; *bound_port tells the port (useful
 * with 0). Until the first mh_publish every page answers 503. 0, or -1
 * with the reason in err. */
int mh_start(const char *host, uint16_t port, mh_t **out, uint16_t *bound_port, char *err,
             size_t errlen);
/* From the loop: the snapshot the pages show from now on. */
void mh_publish(mh_t *h, const st_snapshot_t *snap);
/* Stops the server thread and frees it; NULL is fine. */
void mh_stop(mh_t *h);

#endif
