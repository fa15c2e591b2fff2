/* main_http.c - the operator endpoint (see main_http.h). The one lock
 * guards one snapshot: the loop holds it for a struct copy, the server
 * thread for another, and every rendering happens outside it, on the
 * server thread, dated by its own clock reading (so the uptime is current
 * even when nothing has changed for hours). */
#include "main_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MH_CONNECTIONS_MAX 16
#define MH_IDLE_TIMEOUT_S 10

struct mh {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    st_snapshot_t snap; /* under lock */
    int have_snap;      /* under lock: 0 until the first publish */
};

typedef size_t (*mh_render_fn)(const st_snapshot_t *s, io_us_t now, char *buf, size_t cap);

/* One page: its path, content type and renderer. */
typedef struct mh_page {
    const char *path;
    const char *type;
    mh_render_fn render;
} mh_page_t;

static const mh_page_t mh_pages[] = {
    {"/", "text/html; charset=utf-8", st_render_page},
    {"/status", "application/json", st_render_status},
    /* The exposition format's own content type, as Prometheus asks for it. */
    {"/metrics", "text/plain; version=0.0.4; charset=utf-8", st_render_metrics},
};

int mh_parse_addr(const char *text, char *host, size_t hostcap, uint16_t *port, char *err,
                  size_t errlen)
{
    const char *colon = strrchr(text, ':');
    struct in_addr addr;
    char *end;
    if (!colon || (size_t)(colon - text) >= hostcap) {
        snprintf(err, errlen, "'%s' is not ADDRESS:PORT (e.g. 127.0.0.1:8080)", text);
        return -1;
    }
    snprintf(host, hostcap, "%.*s", (int)(colon - text), text);
    if (inet_pton(AF_INET, host, &addr) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 address (e.g. 127.0.0.1)", host);
        return -1;
    }
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 0 || p > 65535) {
        snprintf(err, errlen, "'%s' is not a port number (0..65535)", colon + 1);
        return -1;
    }
    *port = (uint16_t)p;
    return 0;
}

static io_us_t mh_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (io_us_t)ts.tv_sec * IO_US_PER_S + ts.tv_nsec / 1000;
}

static enum MHD_Result mh_answer(struct MHD_Connection *conn, unsigned status, const char *type,
                                 char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result mh_answer_text(struct MHD_Connection *conn, unsigned status,
                                      const char *text)
{
    char *body = strdup(text);
    return body ? mh_answer(conn, status, "text/plain; charset=utf-8", body, strlen(text))
                : MHD_NO;
}

/* Renders page from a copy of the snapshot taken under the lock. */
static enum MHD_Result mh_serve(mh_t *h, struct MHD_Connection *conn, const mh_page_t *page)
{
    st_snapshot_t snap;
    pthread_mutex_lock(&h->lock);
    int have = h->have_snap;
    if (have)
        snap = h->snap;
    pthread_mutex_unlock(&h->lock);
    if (!have)
        return mh_answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "runner starting\n");
    io_us_t now = mh_wall_now();
    size_t len = page->render(&snap, now, NULL, 0);
    char *body = malloc(len + 1);
    if (!body)
        return MHD_NO;
    page->render(&snap, now, body, len + 1);
    return mh_answer(conn, MHD_HTTP_OK, page->type, body, len);
}

static enum MHD_Result mh_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_size, void **ctx)
{
    (void)version, (void)upload_data, (void)upload_size, (void)ctx;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return mh_answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    for (size_t i = 0; i < sizeof mh_pages / sizeof mh_pages[0]; i++)
        if (strcmp(url, mh_pages[i].path) == 0)
            return mh_serve(cls, conn, &mh_pages[i]);
    return mh_answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /, /status or /metrics\n");
}

/* The server thread inherits the signal mask of its creator: with every
 * signal blocked there, SIGINT and SIGTERM always reach the loop's thread. */
static struct MHD_Daemon *mh_start_daemon(mh_t *h, const struct sockaddr_in *addr)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        mh_on_request, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MH_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MH_IDLE_TIMEOUT_S, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return d;
}

int mh_start(const char *host, uint16_t port, mh_t **out, uint16_t *bound_port, char *err,
             size_t errlen)
{
    *out = NULL;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 address", host);
        return -1;
    }
    mh_t *h = calloc(1, sizeof *h);
    if (!h || pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->daemon = mh_start_daemon(h, &addr);
    if (!h->daemon) {
        /* libmicrohttpd printed why; errno is its last failure, as a rule
         * the bind's. */
        snprintf(err, errlen, "cannot listen on %s:%u: %s", host, (unsigned)port,
                 strerror(errno));
        pthread_mutex_destroy(&h->lock);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    *out = h;
    return 0;
}

void mh_publish(mh_t *h, const st_snapshot_t *snap)
{
    pthread_mutex_lock(&h->lock);
    h->snap = *snap;
    h->have_snap = 1;
    pthread_mutex_unlock(&h->lock);
}

void mh_stop(mh_t *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
