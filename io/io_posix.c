/* io_posix.c - the real io backend (see io_posix.h): one poll(2) loop with
 * cached clocks, a timer heap ordered by (deadline, start sequence), TCP
 * streams with unbounded-but-capped output queues, listeners, and SIGINT /
 * SIGTERM through a self-pipe.
 *
 * Handles closed by their owner are never freed inside a dispatch pass: a
 * closed stream or listener is only marked, and the sweep at the end of each
 * pass frees it, so a callback may close anything without leaving the poll
 * set pointing at freed memory. Timers are not in the poll set and are freed
 * at once. Events are only ever delivered from io_loop_run(): failures found
 * inside an API call (a refused connect, a broken write) are parked on the
 * stream as a pending event and delivered by the next pass. */
#include "io_posix.h"

#include "io_base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_POSIX_READ_CHUNK ((size_t)64 * 1024)
/* How long a FIN-closed stream may keep flushing and draining in the
 * background before it is closed regardless. */
#define IO_POSIX_LINGER_US (5 * IO_US_PER_S)
/* Accepts per listener per pass, so one busy listener cannot starve the rest. */
#define IO_POSIX_ACCEPT_BATCH 32
#define IO_POSIX_BACKLOG 128
#define IO_POSIX_TIMER_IDLE ((size_t)-1)

/* Timers, streams and listeners each sit on one of the loop's lists through
 * this node, their first member. */
typedef struct io_node {
    struct io_node *prev;
    struct io_node *next;
} io_node_t;

struct io_timer {
    io_node_t node;
    io_loop_t *loop;
    io_timer_cb cb;
    void *data;
    io_us_t deadline_us;
    uint64_t seq;      /* start order, the tie-break for equal deadlines */
    size_t heap_index; /* IO_POSIX_TIMER_IDLE when not armed */
};

/* Bytes [off, off + len) of data are queued for sending. */
typedef struct io_buf {
    uint8_t *data;
    size_t off;
    size_t len;
    size_t cap;
} io_buf_t;

enum io_stream_state {
    IO_ST_CONNECTING, /* non-blocking connect in flight */
    IO_ST_OPEN,       /* connected: reads delivered, the queue flushed */
    IO_ST_DONE,       /* EOF, reset or failed connect: waits for the owner's close */
    IO_ST_LINGER,     /* closed with FIN: flush, shutdown, drain, in the background */
    IO_ST_DEAD        /* closed for good; freed by the end-of-pass sweep */
};

enum io_pending { IO_PENDING_NONE, IO_PENDING_CONNECT_FAILED, IO_PENDING_RESET };

struct io_stream {
    io_node_t node;
    io_loop_t *loop;
    io_stream_cb cb;
    void *data;
    uint64_t id;
    int fd;
    enum io_stream_state state;
    int owner_closed;
    io_buf_t out;
    enum io_pending pending; /* an event found outside the loop, delivered by it */
    int pending_status;
    int peer_eof;            /* the peer's FIN was read */
    int fin_sent;            /* shutdown(SHUT_WR) done (LINGER) */
    io_us_t linger_deadline_us;
};

struct io_listener {
    io_node_t node;
    io_loop_t *loop;
    io_accept_cb cb;
    void *data;
    int fd;
    uint16_t port;
};

enum io_watch_kind { IO_WATCH_SIGNAL, IO_WATCH_LISTENER, IO_WATCH_STREAM };

/* What each pollfd of the current pass belongs to. */
typedef struct io_watch {
    enum io_watch_kind kind;
    void *obj;
} io_watch_t;

struct io_loop {
    io_base_t base; /* first: io_base.c casts the loop to it */
    io_us_t now_us;
    io_us_t wall_us;
    int stop;
    io_timer_t **heap;
    size_t heap_len;
    size_t heap_cap;
    uint64_t timer_seq;
    io_node_t *timers;
    size_t ntimers;
    io_node_t *streams;   /* every stream not yet swept, the owner's and lingering ones */
    size_t streams_open;  /* not yet closed by their owner */
    size_t npending;      /* streams with a pending event */
    uint64_t last_stream_id;
    io_node_t *listeners; /* open ones, and closed ones until the sweep */
    size_t listeners_open;
    int sig_pipe[2];
    io_signal_cb sig_cb;
    void *sig_data;
    struct pollfd *pfds;
    io_watch_t *watches;
    size_t poll_cap;
};

/* The loop whose watcher gets SIGINT/SIGTERM, and its pipe's write end for
 * the handler. Signal dispositions are process-wide, so one loop at a time. */
static io_loop_t *io_posix_signal_loop;
static volatile sig_atomic_t io_posix_signal_fd = -1;

/* ---- small helpers ------------------------------------------------------- */

static int io_errno_code(int e)
{
    switch (e) {
    case ECONNREFUSED: return IO_ERR_REFUSED;
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE: return IO_ERR_RESET;
    case ETIMEDOUT: return IO_ERR_TIMEDOUT;
    case EADDRINUSE: return IO_ERR_INUSE;
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT: return IO_ERR_ADDR;
    case ENOMEM:
    case ENOBUFS: return IO_ERR_NOMEM;
    default: return IO_ERR_SYS;
    }
}

static int io_would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

static io_us_t io_clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (io_us_t)ts.tv_sec * IO_US_PER_S + ts.tv_nsec / 1000;
}

static void io_update_time(io_loop_t *loop)
{
    loop->now_us = io_clock_us(CLOCK_MONOTONIC);
    loop->wall_us = io_clock_us(CLOCK_REALTIME);
}

static void io_node_push(io_node_t **head, io_node_t *node)
{
    node->prev = NULL;
    node->next = *head;
    if (*head)
        (*head)->prev = node;
    *head = node;
}

static void io_node_remove(io_node_t **head, io_node_t *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        *head = node->next;
    if (node->next)
        node->next->prev = node->prev;
}

static int io_fd_set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

/* Every stream socket: non-blocking, close-on-exec, Nagle off (the TWS
 * protocol is small request/response messages). */
static int io_stream_fd_prepare(int fd)
{
    int rc = io_fd_set_flags(fd);
    if (rc < 0)
        return rc;
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        return -errno;
    return 0;
}

static void io_fd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The next close sends RST and drops whatever the kernel still holds. */
static void io_fd_abort(int *fd)
{
    if (*fd < 0)
        return;
    struct linger lg = {1, 0};
    setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    io_fd_close(fd);
}

/* ---- loop ---------------------------------------------------------------- */

io_loop_t *io_posix_loop_new(uint64_t seed, char *err, size_t errlen)
{
    io_loop_t *loop = calloc(1, sizeof *loop);
    if (!loop) {
        io_errf(err, errlen, "io_posix_loop_new: out of memory");
        return NULL;
    }
    io_base_init(&loop->base, seed);
    if (pipe(loop->sig_pipe) < 0) {
        io_errf(err, errlen, "pipe: %s", strerror(errno));
        goto fail_pipe;
    }
    for (int i = 0; i < 2; i++) {
        if (io_fd_set_flags(loop->sig_pipe[i]) < 0) {
            io_errf(err, errlen, "fcntl on the signal pipe: %s", strerror(errno));
            goto fail_flags;
        }
    }
    io_update_time(loop);
    return loop;

fail_flags:
    close(loop->sig_pipe[0]);
    close(loop->sig_pipe[1]);
fail_pipe:
    free(loop);
    return NULL;
}

void io_loop_stop(io_loop_t *loop)
{
    loop->stop = 1;
}

io_us_t io_now_us(io_loop_t *loop)
{
    return loop->now_us;
}

io_us_t io_wall_us(io_loop_t *loop)
{
    return loop->wall_us;
}

void io_loop_stats(io_loop_t *loop, io_stats_t *out)
{
    out->timers = loop->ntimers;
    out->streams = loop->streams_open;
    out->listeners = loop->listeners_open;
}

/* ---- timers -------------------------------------------------------------- */

static int io_timer_before(const io_timer_t *a, const io_timer_t *b)
{
    if (a->deadline_us != b->deadline_us)
        return a->deadline_us < b->deadline_us;
    return a->seq < b->seq;
}

static void io_heap_place(io_loop_t *loop, size_t i, io_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void io_heap_sift_up(io_loop_t *loop, size_t i)
{
    io_timer_t *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!io_timer_before(t, loop->heap[parent]))
            break;
        io_heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    io_heap_place(loop, i, t);
}

static void io_heap_sift_down(io_loop_t *loop, size_t i)
{
    io_timer_t *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && io_timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!io_timer_before(loop->heap[child], t))
            break;
        io_heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    io_heap_place(loop, i, t);
}

static void io_heap_remove(io_loop_t *loop, io_timer_t *t)
{
    size_t i = t->heap_index;
    io_timer_t *last = loop->heap[--loop->heap_len];
    t->heap_index = IO_POSIX_TIMER_IDLE;
    if (last == t)
        return;
    io_heap_place(loop, i, last);
    io_heap_sift_up(loop, i);
    io_heap_sift_down(loop, last->heap_index);
}

io_timer_t *io_timer_new(io_loop_t *loop, io_timer_cb cb, void *data)
{
    if (!loop || !cb)
        return NULL;
    /* The heap always has room for every timer, so starting one never fails. */
    if (loop->heap_cap <= loop->ntimers) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        io_timer_t **heap = realloc(loop->heap, cap * sizeof *heap);
        if (!heap)
            return NULL;
        loop->heap = heap;
        loop->heap_cap = cap;
    }
    io_timer_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->loop = loop;
    t->cb = cb;
    t->data = data;
    t->heap_index = IO_POSIX_TIMER_IDLE;
    io_node_push(&loop->timers, &t->node);
    loop->ntimers++;
    return t;
}

void io_timer_start(io_timer_t *timer, io_us_t delay_us)
{
    io_loop_t *loop = timer->loop;
    io_timer_stop(timer);
    if (delay_us < 0)
        delay_us = 0;
    timer->deadline_us = delay_us > INT64_MAX - loop->now_us ? INT64_MAX : loop->now_us + delay_us;
    timer->seq = loop->timer_seq++;
    timer->heap_index = loop->heap_len++;
    loop->heap[timer->heap_index] = timer;
    io_heap_sift_up(loop, timer->heap_index);
}

void io_timer_stop(io_timer_t *timer)
{
    if (timer->heap_index != IO_POSIX_TIMER_IDLE)
        io_heap_remove(timer->loop, timer);
}

int io_timer_active(const io_timer_t *timer)
{
    return timer->heap_index != IO_POSIX_TIMER_IDLE;
}

void io_timer_free(io_timer_t *timer)
{
    if (!timer)
        return;
    io_loop_t *loop = timer->loop;
    io_timer_stop(timer);
    io_node_remove(&loop->timers, &timer->node);
    loop->ntimers--;
    free(timer);
}

/* Fires the due timers. A timer re-armed from a callback gets a newer
 * sequence number and waits for the next pass even with delay 0, so a
 * callback re-arming itself cannot keep the loop from polling. */
static void io_run_timers(io_loop_t *loop)
{
    uint64_t seq_end = loop->timer_seq;
    while (!loop->stop && loop->heap_len > 0) {
        io_timer_t *t = loop->heap[0];
        if (t->deadline_us > loop->now_us || t->seq >= seq_end)
            break;
        io_heap_remove(loop, t);
        t->cb(t, t->data);
    }
}

/* ---- stream output queue ------------------------------------------------- */

static int io_buf_append(io_buf_t *b, const uint8_t *data, size_t len)
{
    if (b->off + b->len + len > b->cap && b->off > 0) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown)
            return IO_ERR_NOMEM;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->off + b->len, data, len);
    b->len += len;
    return 0;
}

static void io_buf_consume(io_buf_t *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

static void io_buf_free(io_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Sends as much as the socket takes. 0 (maybe partial, *sent says) or
 * -errno when the connection is broken. */
static int io_send_some(int fd, const uint8_t *data, size_t len, size_t *sent)
{
    *sent = 0;
    while (*sent < len) {
        /* MSG_NOSIGNAL: a peer that went away gives EPIPE, not SIGPIPE. */
        ssize_t n = send(fd, data + *sent, len - *sent, MSG_NOSIGNAL);
        if (n >= 0) {
            *sent += (size_t)n;
        } else if (errno == EINTR) {
            continue;
        } else {
            return io_would_block(errno) ? 0 : -errno;
        }
    }
    return 0;
}

static int io_stream_flush(io_stream_t *s)
{
    size_t sent;
    int rc = io_send_some(s->fd, s->out.data + s->out.off, s->out.len, &sent);
    io_buf_consume(&s->out, sent);
    return rc;
}

/* ---- stream state machine ------------------------------------------------ */

static void io_stream_enter(io_stream_t *s, enum io_stream_state next);

static void io_stream_emit(io_stream_t *s, enum io_stream_event_kind kind, const uint8_t *data,
                           size_t len, int status)
{
    io_stream_event_t ev = {kind, data, len, status};
    if (s->cb)
        s->cb(s, &ev, s->data);
}

static void io_stream_set_pending(io_stream_t *s, enum io_pending pending, int status)
{
    if (s->pending == IO_PENDING_NONE)
        s->loop->npending++;
    s->pending = pending;
    s->pending_status = status;
}

static void io_stream_clear_pending(io_stream_t *s)
{
    if (s->pending != IO_PENDING_NONE)
        s->loop->npending--;
    s->pending = IO_PENDING_NONE;
}

/* The connection is gone (connect failed, or reset, or broke): the socket and
 * the queue go now, the owner hears about it from the loop. */
static void io_stream_fail(io_stream_t *s, enum io_pending pending, int status)
{
    io_fd_close(&s->fd);
    io_stream_enter(s, IO_ST_DONE);
    io_stream_set_pending(s, pending, status);
}

/* A FIN-closed stream moves on: shutdown once the queue is flushed, close
 * once the peer's FIN has been read too. */
static void io_linger_progress(io_stream_t *s)
{
    if (s->out.len == 0 && !s->fin_sent) {
        s->fin_sent = 1;
        if (shutdown(s->fd, SHUT_WR) < 0) {
            io_stream_enter(s, IO_ST_DEAD);
            return;
        }
    }
    if (s->fin_sent && s->peer_eof)
        io_stream_enter(s, IO_ST_DEAD);
}

/* The one place a stream changes state; each case does the entry work. */
static void io_stream_enter(io_stream_t *s, enum io_stream_state next)
{
    s->state = next;
    switch (next) {
    case IO_ST_CONNECTING:
    case IO_ST_OPEN:
        break;
    case IO_ST_DONE:
        if (s->fd < 0)
            io_buf_free(&s->out);
        break;
    case IO_ST_LINGER:
        s->linger_deadline_us = s->loop->now_us + IO_POSIX_LINGER_US;
        io_linger_progress(s);
        break;
    case IO_ST_DEAD:
        io_fd_close(&s->fd);
        io_buf_free(&s->out);
        io_stream_clear_pending(s);
        break;
    }
}

static io_stream_t *io_stream_alloc(io_loop_t *loop, int fd, enum io_stream_state state)
{
    io_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->fd = fd;
    s->state = state;
    s->id = ++loop->last_stream_id;
    io_node_push(&loop->streams, &s->node);
    loop->streams_open++;
    return s;
}

static void io_stream_free(io_stream_t *s)
{
    io_fd_abort(&s->fd);
    io_buf_free(&s->out);
    free(s);
}

/* Reads once; delivers data, EOF, or parks the reset for the loop. */
static void io_stream_read(io_stream_t *s)
{
    uint8_t buf[IO_POSIX_READ_CHUNK];
    ssize_t n = recv(s->fd, buf, sizeof buf, 0);
    if (n > 0) {
        io_stream_emit(s, IO_EV_DATA, buf, (size_t)n, 0);
    } else if (n == 0) {
        s->peer_eof = 1;
        io_stream_enter(s, IO_ST_DONE);
        io_stream_emit(s, IO_EV_EOF, NULL, 0, 0);
    } else if (!io_would_block(errno)) {
        io_stream_fail(s, IO_PENDING_RESET, io_errno_code(errno));
    }
}

static void io_stream_connect_done(io_stream_t *s)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr == EINPROGRESS || soerr == EINTR)
        return;
    if (soerr != 0) {
        io_stream_fail(s, IO_PENDING_CONNECT_FAILED, io_errno_code(soerr));
        return;
    }
    io_stream_enter(s, IO_ST_OPEN);
    io_stream_emit(s, IO_EV_CONNECTED, NULL, 0, 0);
}

/* In LINGER the owner is gone: input is read and dropped (closing with
 * unread input would send RST and could cost the peer our last bytes). */
static void io_linger_ready(io_stream_t *s, short revents)
{
    if (!s->peer_eof && (revents & (POLLIN | POLLHUP | POLLERR))) {
        uint8_t buf[IO_POSIX_READ_CHUNK];
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        if (n == 0) {
            s->peer_eof = 1;
        } else if (n < 0 && !io_would_block(errno)) {
            io_stream_enter(s, IO_ST_DEAD);
            return;
        }
    }
    if (s->out.len > 0 && (revents & (POLLOUT | POLLHUP | POLLERR)) && io_stream_flush(s) < 0) {
        io_stream_enter(s, IO_ST_DEAD);
        return;
    }
    io_linger_progress(s);
}

static void io_stream_ready(io_stream_t *s, short revents)
{
    switch (s->state) {
    case IO_ST_CONNECTING:
        io_stream_connect_done(s);
        break;
    case IO_ST_OPEN:
        if (revents & (POLLIN | POLLHUP | POLLERR))
            io_stream_read(s);
        if (s->state == IO_ST_OPEN && (revents & POLLOUT) && s->out.len > 0) {
            int rc = io_stream_flush(s);
            if (rc < 0)
                io_stream_fail(s, IO_PENDING_RESET, io_errno_code(-rc));
        }
        break;
    case IO_ST_LINGER:
        io_linger_ready(s, revents);
        break;
    case IO_ST_DONE:
    case IO_ST_DEAD:
        break;
    }
}

static short io_stream_interest(const io_stream_t *s)
{
    short out = s->out.len > 0 ? POLLOUT : 0;
    switch (s->state) {
    case IO_ST_CONNECTING: return POLLOUT;
    case IO_ST_OPEN: return POLLIN | out;
    case IO_ST_LINGER: return (short)((s->peer_eof ? 0 : POLLIN) | out);
    case IO_ST_DONE:
    case IO_ST_DEAD: return 0;
    }
    return 0;
}

/* ---- streams: API -------------------------------------------------------- */

static int io_resolve(const char *what, const char *host, uint16_t port, int passive,
                      struct addrinfo **res, char *err, size_t errlen)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int rc = getaddrinfo(host, service, &hints, res);
    if (rc == 0)
        return 0;
    io_errf(err, errlen, "%s %s:%u: %s", what, host ? host : "*", (unsigned)port,
               rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    if (rc == EAI_MEMORY)
        return IO_ERR_NOMEM;
    return rc == EAI_SYSTEM ? IO_ERR_SYS : IO_ERR_ADDR;
}

/* Resolves and starts the non-blocking connect; 0 or the failure's code. */
static int io_connect_start(io_stream_t *s, const char *host, uint16_t port, char *err,
                            size_t errlen)
{
    struct addrinfo *ai;
    int rc = io_resolve("connect", host, port, 0, &ai, err, errlen);
    if (rc < 0)
        return rc;
    const char *step = "socket";
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0) {
        step = "socket options";
        rc = io_stream_fd_prepare(fd);
        if (rc == 0) {
            step = "connect";
            /* EINPROGRESS is the normal answer; EINTR leaves it in flight too. */
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS
                && errno != EINTR)
                rc = -errno;
        }
    } else {
        rc = -errno;
    }
    freeaddrinfo(ai);
    if (rc < 0) {
        io_errf(err, errlen, "%s %s:%u: %s", step, host, (unsigned)port, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return io_errno_code(-rc);
    }
    s->fd = fd;
    return 0;
}

int io_connect(io_loop_t *loop, const char *host, uint16_t port, io_stream_cb cb, void *data,
               io_stream_t **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!loop || !out) {
        io_errf(err, errlen, "connect: no loop or no out pointer");
        return IO_ERR_INVAL;
    }
    if (!host || !*host) {
        io_errf(err, errlen, "connect: empty host");
        return IO_ERR_ADDR;
    }
    io_stream_t *s = io_stream_alloc(loop, -1, IO_ST_CONNECTING);
    if (!s) {
        io_errf(err, errlen, "connect %s:%u: out of memory", host, (unsigned)port);
        return IO_ERR_NOMEM;
    }
    s->cb = cb;
    s->data = data;
    int rc = io_connect_start(s, host, port, err, errlen);
    if (rc < 0)
        io_stream_fail(s, IO_PENDING_CONNECT_FAILED, rc);
    *out = s;
    return 0;
}

void io_stream_set_cb(io_stream_t *stream, io_stream_cb cb, void *data)
{
    stream->cb = cb;
    stream->data = data;
}

int io_stream_write(io_stream_t *stream, const void *data, size_t len)
{
    if (!stream || (!data && len > 0))
        return IO_ERR_INVAL;
    if (stream->owner_closed
        || (stream->state != IO_ST_CONNECTING && stream->state != IO_ST_OPEN))
        return IO_ERR_CLOSED;
    if (len > IO_STREAM_BUFFER_MAX - stream->out.len)
        return IO_ERR_NOBUFS;
    const uint8_t *bytes = data;
    if (stream->state == IO_ST_OPEN && stream->out.len == 0) {
        size_t sent;
        int rc = io_send_some(stream->fd, bytes, len, &sent);
        if (rc < 0) {
            /* The bytes are lost with the connection, as if the network had
             * taken them; the owner hears IO_EV_RESET from the loop. */
            io_stream_fail(stream, IO_PENDING_RESET, io_errno_code(-rc));
            return 0;
        }
        bytes += sent;
        len -= sent;
    }
    return len > 0 ? io_buf_append(&stream->out, bytes, len) : 0;
}

size_t io_stream_pending(const io_stream_t *stream)
{
    return stream->out.len;
}

void io_stream_close(io_stream_t *stream, enum io_close_how how)
{
    if (!stream || stream->owner_closed)
        return;
    stream->owner_closed = 1;
    stream->cb = NULL;
    stream->loop->streams_open--;
    io_stream_clear_pending(stream);
    int graceful = how == IO_CLOSE_FIN && stream->fd >= 0
                   && (stream->state == IO_ST_OPEN || stream->state == IO_ST_DONE);
    if (graceful) {
        io_stream_enter(stream, IO_ST_LINGER);
    } else {
        io_fd_abort(&stream->fd);
        io_stream_enter(stream, IO_ST_DEAD);
    }
}

uint64_t io_stream_id(const io_stream_t *stream)
{
    return stream->id;
}

int io_posix_stream_fd(const io_stream_t *stream)
{
    return stream->fd;
}

/* ---- listeners ----------------------------------------------------------- */

static uint16_t io_sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* Binds and listens on fd; *step names the call that failed. */
static int io_listen_setup(int fd, const struct addrinfo *ai, uint16_t *port, const char **step)
{
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    *step = "setsockopt SO_REUSEADDR";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return -errno;
    *step = "bind";
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        return -errno;
    *step = "listen";
    if (listen(fd, IO_POSIX_BACKLOG) < 0)
        return -errno;
    *step = "getsockname";
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
        return -errno;
    *step = "fcntl";
    int rc = io_fd_set_flags(fd);
    if (rc < 0)
        return rc;
    *port = io_sockaddr_port(&ss);
    return 0;
}

static int io_listen_socket(const struct addrinfo *ai, int *out_fd, uint16_t *port,
                            const char **step)
{
    *step = "socket";
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    int rc = io_listen_setup(fd, ai, port, step);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

int io_listen(io_loop_t *loop, const char *host, uint16_t port, io_accept_cb cb, void *data,
              io_listener_t **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!loop || !out || !cb) {
        io_errf(err, errlen, "listen: no loop, callback or out pointer");
        return IO_ERR_INVAL;
    }
    struct addrinfo *ai;
    int rc = io_resolve("listen", host, port, 1, &ai, err, errlen);
    if (rc < 0)
        return rc;
    int fd = -1;
    uint16_t bound_port = 0;
    const char *step = "";
    rc = io_listen_socket(ai, &fd, &bound_port, &step);
    freeaddrinfo(ai);
    if (rc < 0) {
        io_errf(err, errlen, "%s %s:%u: %s", step, host ? host : "*", (unsigned)port,
                   strerror(-rc));
        return io_errno_code(-rc);
    }
    io_listener_t *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        io_errf(err, errlen, "listen: out of memory");
        return IO_ERR_NOMEM;
    }
    l->loop = loop;
    l->cb = cb;
    l->data = data;
    l->fd = fd;
    l->port = bound_port;
    io_node_push(&loop->listeners, &l->node);
    loop->listeners_open++;
    *out = l;
    return 0;
}

uint16_t io_listener_port(const io_listener_t *listener)
{
    return listener->port;
}

void io_listener_close(io_listener_t *listener)
{
    if (!listener || listener->fd < 0)
        return;
    io_fd_close(&listener->fd);
    listener->loop->listeners_open--;
}

static void io_listener_ready(io_listener_t *l)
{
    io_loop_t *loop = l->loop;
    for (int i = 0; i < IO_POSIX_ACCEPT_BATCH && l->fd >= 0 && !loop->stop; i++) {
        int fd = accept(l->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == ECONNABORTED || errno == EINTR)
                continue;
            if (!io_would_block(errno))
                io_log(loop, IO_LOG_WARN, "io", "accept on port %u: %s", (unsigned)l->port,
                       strerror(errno));
            return;
        }
        int rc = io_stream_fd_prepare(fd);
        io_stream_t *s = rc == 0 ? io_stream_alloc(loop, fd, IO_ST_OPEN) : NULL;
        if (!s) {
            io_log(loop, IO_LOG_WARN, "io", "accepted connection on port %u dropped: %s",
                   (unsigned)l->port, rc < 0 ? strerror(-rc) : "out of memory");
            close(fd);
            continue;
        }
        l->cb(l, s, l->data);
    }
}

/* ---- signals ------------------------------------------------------------- */

static void io_posix_on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    int fd = io_posix_signal_fd;
    if (fd >= 0) {
        /* A full pipe drops the byte: the bytes queued will wake the loop. */
        ssize_t n = write(fd, &b, 1);
        (void)n;
    }
    errno = saved;
}

static void io_signal_drain(io_loop_t *loop)
{
    unsigned char buf[64];
    while (read(loop->sig_pipe[0], buf, sizeof buf) > 0)
        continue;
}

static void io_signal_unwatch(io_loop_t *loop)
{
    if (io_posix_signal_loop == loop) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        io_posix_signal_fd = -1;
        io_posix_signal_loop = NULL;
    }
    loop->sig_cb = NULL;
    loop->sig_data = NULL;
    io_signal_drain(loop);
}

int io_signal_watch(io_loop_t *loop, io_signal_cb cb, void *data)
{
    if (!loop)
        return IO_ERR_INVAL;
    if (!cb) {
        io_signal_unwatch(loop);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = io_posix_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    io_posix_signal_fd = loop->sig_pipe[1];
    io_posix_signal_loop = loop;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
        io_log(loop, IO_LOG_ERROR, "io", "sigaction: %s", strerror(errno));
        io_signal_unwatch(loop);
        return IO_ERR_SYS;
    }
    loop->sig_cb = cb;
    loop->sig_data = data;
    return 0;
}

/* One signal per pass, so a stop from the callback loses none. */
static void io_signal_ready(io_loop_t *loop)
{
    unsigned char b;
    if (read(loop->sig_pipe[0], &b, 1) == 1 && loop->sig_cb)
        loop->sig_cb(loop, b == SIGTERM ? IO_SIGTERM : IO_SIGINT, loop->sig_data);
}

/* ---- the loop ------------------------------------------------------------ */

static int io_poll_reserve(io_loop_t *loop, size_t n)
{
    if (n <= loop->poll_cap)
        return 0;
    size_t cap = loop->poll_cap ? loop->poll_cap : 16;
    while (cap < n)
        cap *= 2;
    struct pollfd *pfds = realloc(loop->pfds, cap * sizeof *pfds);
    if (!pfds)
        return IO_ERR_NOMEM;
    loop->pfds = pfds;
    io_watch_t *watches = realloc(loop->watches, cap * sizeof *watches);
    if (!watches)
        return IO_ERR_NOMEM;
    loop->watches = watches;
    loop->poll_cap = cap;
    return 0;
}

static void io_poll_add(io_loop_t *loop, size_t *n, int fd, short events, enum io_watch_kind kind,
                        void *obj)
{
    loop->pfds[*n] = (struct pollfd){fd, events, 0};
    loop->watches[*n] = (io_watch_t){kind, obj};
    (*n)++;
}

/* Closes FIN-closed streams whose linger time is up; returns the earliest
 * linger deadline still ahead, or INT64_MAX. */
static io_us_t io_expire_lingering(io_loop_t *loop)
{
    io_us_t next_us = INT64_MAX;
    for (io_node_t *n = loop->streams; n; n = n->next) {
        io_stream_t *s = (io_stream_t *)n;
        if (s->state != IO_ST_LINGER)
            continue;
        if (s->linger_deadline_us <= loop->now_us)
            io_stream_enter(s, IO_ST_DEAD);
        else if (s->linger_deadline_us < next_us)
            next_us = s->linger_deadline_us;
    }
    return next_us;
}

/* Fills the poll set; *waiting counts the fds something waits on (the
 * signal pipe does not count: it alone does not keep the loop running). */
static int io_poll_build(io_loop_t *loop, size_t *nfds, size_t *waiting)
{
    size_t n = 0, max = 1;
    for (io_node_t *i = loop->listeners; i; i = i->next)
        max++;
    for (io_node_t *i = loop->streams; i; i = i->next)
        max++;
    int rc = io_poll_reserve(loop, max);
    if (rc < 0)
        return rc;
    for (io_node_t *i = loop->listeners; i; i = i->next) {
        io_listener_t *l = (io_listener_t *)i;
        if (l->fd >= 0)
            io_poll_add(loop, &n, l->fd, POLLIN, IO_WATCH_LISTENER, l);
    }
    for (io_node_t *i = loop->streams; i; i = i->next) {
        io_stream_t *s = (io_stream_t *)i;
        short events = s->fd >= 0 ? io_stream_interest(s) : 0;
        if (events)
            io_poll_add(loop, &n, s->fd, events, IO_WATCH_STREAM, s);
    }
    *waiting = n;
    if (loop->sig_cb)
        io_poll_add(loop, &n, loop->sig_pipe[0], POLLIN, IO_WATCH_SIGNAL, NULL);
    *nfds = n;
    return 0;
}

/* Milliseconds until the earliest deadline, rounded up so a timer is never
 * polled for early; -1 when nothing is due ever. */
static int io_poll_timeout_ms(io_loop_t *loop, io_us_t linger_next_us)
{
    if (loop->npending > 0)
        return 0;
    io_us_t next_us = linger_next_us;
    if (loop->heap_len > 0 && loop->heap[0]->deadline_us < next_us)
        next_us = loop->heap[0]->deadline_us;
    if (next_us == INT64_MAX)
        return -1;
    io_us_t wait_us = next_us - loop->now_us;
    if (wait_us <= 0)
        return 0;
    io_us_t ms = wait_us / IO_US_PER_MS + (wait_us % IO_US_PER_MS != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void io_dispatch_pending(io_loop_t *loop)
{
    for (io_node_t *n = loop->streams; n && loop->npending > 0 && !loop->stop; n = n->next) {
        io_stream_t *s = (io_stream_t *)n;
        if (s->pending == IO_PENDING_NONE)
            continue;
        enum io_stream_event_kind kind =
            s->pending == IO_PENDING_CONNECT_FAILED ? IO_EV_CONNECT_FAILED : IO_EV_RESET;
        int status = s->pending_status;
        io_stream_clear_pending(s);
        io_stream_emit(s, kind, NULL, 0, status);
    }
}

static void io_dispatch_io(io_loop_t *loop, size_t nfds)
{
    for (size_t i = 0; i < nfds && !loop->stop; i++) {
        short revents = loop->pfds[i].revents;
        if (!revents)
            continue;
        switch (loop->watches[i].kind) {
        case IO_WATCH_SIGNAL:
            io_signal_ready(loop);
            break;
        case IO_WATCH_LISTENER: {
            io_listener_t *l = loop->watches[i].obj;
            if (l->fd >= 0)
                io_listener_ready(l);
            break;
        }
        case IO_WATCH_STREAM:
            io_stream_ready(loop->watches[i].obj, revents);
            break;
        }
    }
}

/* Frees what callbacks closed during the pass, now that nothing points at it. */
static void io_sweep(io_loop_t *loop)
{
    io_node_t *next;
    for (io_node_t *n = loop->streams; n; n = next) {
        next = n->next;
        if (((io_stream_t *)n)->state == IO_ST_DEAD) {
            io_node_remove(&loop->streams, n);
            io_stream_free((io_stream_t *)n);
        }
    }
    for (io_node_t *n = loop->listeners; n; n = next) {
        next = n->next;
        if (((io_listener_t *)n)->fd < 0) {
            io_node_remove(&loop->listeners, n);
            free(n);
        }
    }
}

int io_loop_run(io_loop_t *loop)
{
    int rc = 0;
    loop->stop = 0;
    io_update_time(loop);
    while (!loop->stop) {
        io_run_timers(loop);
        io_dispatch_pending(loop);
        io_sweep(loop);
        io_us_t linger_next_us = io_expire_lingering(loop);
        size_t nfds, waiting;
        rc = io_poll_build(loop, &nfds, &waiting);
        if (loop->stop || rc < 0 || (waiting == 0 && loop->heap_len == 0 && loop->npending == 0))
            break;
        int ready = poll(loop->pfds, (nfds_t)nfds, io_poll_timeout_ms(loop, linger_next_us));
        int poll_errno = errno;
        io_update_time(loop);
        if (ready > 0) {
            io_dispatch_io(loop, nfds);
        } else if (ready < 0 && poll_errno != EINTR) {
            io_log(loop, IO_LOG_ERROR, "io", "poll: %s", strerror(poll_errno));
            rc = io_errno_code(poll_errno);
            break;
        }
    }
    io_sweep(loop);
    if (rc == IO_ERR_NOMEM)
        io_log(loop, IO_LOG_ERROR, "io", "loop: out of memory for the poll set");
    return rc;
}

void io_loop_free(io_loop_t *loop)
{
    if (!loop)
        return;
    io_signal_unwatch(loop);
    io_node_t *next;
    for (io_node_t *n = loop->streams; n; n = next) {
        next = n->next;
        io_stream_free((io_stream_t *)n);
    }
    for (io_node_t *n = loop->listeners; n; n = next) {
        next = n->next;
        io_fd_close(&((io_listener_t *)n)->fd);
        free(n);
    }
    for (io_node_t *n = loop->timers; n; n = next) {
        next = n->next;
        free(n);
    }
    free(loop->heap);
    free(loop->pfds);
    free(loop->watches);
    close(loop->sig_pipe[0]);
    close(loop->sig_pipe[1]);
    io_base_free(&loop->base);
    free(loop);
}
