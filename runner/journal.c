/* journal.c - the append-only order journal (see journal.h). The file is
 * the truth and memory mirrors it: a record is checked, written and synced
 * first, and only then applied to the in-memory list of pending orders,
 * the same way loading applies the records it reads. */
#include "journal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/io.h"

#define JRN_LINE_MAX 160

struct jrn {
    char *path;           /* NULL: memory only */
    int fd;               /* -1 when memory only */
    int failed;           /* a write failed: no more appends */
    jrn_order_t *pending; /* oldest first */
    size_t npending;
    size_t cap;
    int32_t max_order_id;
    size_t torn_line;
};

/* ---- checks ------------------------------------------------------------- */

/* 1 for 1..max printable characters without spaces. */
static int jrn_word_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n == max || !isgraph((unsigned char)s[n]))
            return 0;
    return n > 0;
}

static jrn_order_t *jrn_lookup(const jrn_t *j, int32_t order_id)
{
    for (size_t i = 0; i < j->npending; i++)
        if (j->pending[i].order_id == order_id)
            return &j->pending[i];
    return NULL;
}

static int jrn_check_intent(const jrn_t *j, const jrn_order_t *o, char *why, size_t whylen)
{
    const char *bad = NULL;
    if (!jrn_word_ok(o->symbol, JRN_SYMBOL_MAX))
        bad = "bad symbol";
    else if (strcmp(o->action, "BUY") != 0 && strcmp(o->action, "SELL") != 0)
        bad = "action is neither BUY nor SELL";
    else if (o->order_id <= 0 || o->qty <= 0)
        bad = "order id and quantity must be positive";
    else if (jrn_lookup(j, o->order_id))
        bad = "order id already pending";
    if (!bad)
        return 0;
    snprintf(why, whylen, "%s (order %" PRId32 ")", bad, o->order_id);
    return IO_ERR_INVAL;
}

static jrn_order_t *jrn_check_pending(const jrn_t *j, int32_t order_id, char *why, size_t whylen)
{
    jrn_order_t *o = jrn_lookup(j, order_id);
    if (!o)
        snprintf(why, whylen, "order %" PRId32 " has no pending intent", order_id);
    return o;
}

/* Room for one more pending order, made before anything is written so that
 * applying a written record cannot fail. */
static int jrn_reserve(jrn_t *j)
{
    if (j->npending < j->cap)
        return 0;
    size_t cap = j->cap ? 2 * j->cap : 8;
    jrn_order_t *p = realloc(j->pending, cap * sizeof *p);
    if (!p)
        return IO_ERR_NOMEM;
    j->pending = p;
    j->cap = cap;
    return 0;
}

/* ---- applying records --------------------------------------------------- */

static void jrn_apply_intent(jrn_t *j, const jrn_order_t *o)
{
    j->pending[j->npending] = *o;
    j->pending[j->npending].sent = 0;
    j->npending++;
    if (o->order_id > j->max_order_id)
        j->max_order_id = o->order_id;
}

static void jrn_apply_final(jrn_t *j, jrn_order_t *o)
{
    size_t i = (size_t)(o - j->pending);
    memmove(&j->pending[i], &j->pending[i + 1], (j->npending - i - 1) * sizeof *o);
    j->npending--;
}

/* ---- writing ------------------------------------------------------------ */

/* Writes one whole line and syncs it. Memory-only journals skip the file. */
static int jrn_append(jrn_t *j, const char *line, char *err, size_t errlen)
{
    if (j->failed) {
        snprintf(err, errlen, "journal %s: an earlier write failed", j->path);
        return IO_ERR_SYS;
    }
    if (j->fd < 0)
        return 0;
    size_t len = strlen(line), done = 0;
    while (done < len) {
        ssize_t n = write(j->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t)n;
    }
    if (fsync(j->fd) == 0)
        return 0;
fail:
    j->failed = 1;
    snprintf(err, errlen, "journal %s: write: %s", j->path, strerror(errno));
    return IO_ERR_SYS;
}

int jrn_intent(jrn_t *j, const jrn_order_t *o, char *err, size_t errlen)
{
    char line[JRN_LINE_MAX];
    int rc = jrn_check_intent(j, o, err, errlen);
    if (rc == 0 && jrn_reserve(j) < 0) {
        snprintf(err, errlen, "journal: out of memory");
        rc = IO_ERR_NOMEM;
    }
    if (rc < 0)
        return rc;
    snprintf(line, sizeof line,
             "intent cycle=%" PRIu32 " symbol=%s order_id=%" PRId32 " action=%s qty=%" PRId64
             "\n",
             o->cycle, o->symbol, o->order_id, o->action, o->qty);
    rc = jrn_append(j, line, err, errlen);
    if (rc == 0)
        jrn_apply_intent(j, o);
    return rc;
}

int jrn_sent(jrn_t *j, int32_t order_id, char *err, size_t errlen)
{
    char line[JRN_LINE_MAX];
    jrn_order_t *o = jrn_check_pending(j, order_id, err, errlen);
    if (!o)
        return IO_ERR_INVAL;
    snprintf(line, sizeof line, "sent order_id=%" PRId32 "\n", order_id);
    int rc = jrn_append(j, line, err, errlen);
    if (rc == 0)
        o->sent = 1;
    return rc;
}

int jrn_final(jrn_t *j, int32_t order_id, const char *status, int64_t filled, char *err,
              size_t errlen)
{
    char line[JRN_LINE_MAX];
    jrn_order_t *o = jrn_check_pending(j, order_id, err, errlen);
    if (!o)
        return IO_ERR_INVAL;
    if (!jrn_word_ok(status, JRN_STATUS_MAX) || filled < 0) {
        snprintf(err, errlen, "journal: bad final status for order %" PRId32, order_id);
        return IO_ERR_INVAL;
    }
    snprintf(line, sizeof line, "status order_id=%" PRId32 " status=%s filled=%" PRId64 "\n",
             order_id, status, filled);
    int rc = jrn_append(j, line, err, errlen);
    if (rc == 0)
        jrn_apply_final(j, o);
    return rc;
}

/* ---- loading ------------------------------------------------------------ */

/* 1 when sscanf matched all n conversions and %n reached the end. */
static int jrn_matched(int got, int n, const char *line, int end)
{
    return got == n && end >= 0 && line[end] == '\0';
}

static int jrn_load_line(jrn_t *j, const char *line, char *why, size_t whylen)
{
    jrn_order_t o = {0};
    char status[JRN_STATUS_MAX + 1];
    int32_t id;
    int64_t filled;
    int end = -1;
    if (strncmp(line, "intent ", 7) == 0) {
        int got = sscanf(line,
                         "intent cycle=%" SCNu32 " symbol=%15s order_id=%" SCNd32
                         " action=%4s qty=%" SCNd64 "%n",
                         &o.cycle, o.symbol, &o.order_id, o.action, &o.qty, &end);
        if (!jrn_matched(got, 5, line, end))
            goto malformed;
        if (jrn_check_intent(j, &o, why, whylen) < 0)
            return IO_ERR_INVAL;
        if (jrn_reserve(j) < 0) {
            snprintf(why, whylen, "out of memory");
            return IO_ERR_NOMEM;
        }
        jrn_apply_intent(j, &o);
        return 0;
    }
    if (strncmp(line, "sent ", 5) == 0) {
        int got = sscanf(line, "sent order_id=%" SCNd32 "%n", &id, &end);
        if (!jrn_matched(got, 1, line, end))
            goto malformed;
        jrn_order_t *p = jrn_check_pending(j, id, why, whylen);
        if (!p)
            return IO_ERR_INVAL;
        p->sent = 1;
        return 0;
    }
    if (strncmp(line, "status ", 7) == 0) {
        int got = sscanf(line, "status order_id=%" SCNd32 " status=%23s filled=%" SCNd64 "%n",
                         &id, status, &filled, &end);
        if (!jrn_matched(got, 3, line, end))
            goto malformed;
        jrn_order_t *p = jrn_check_pending(j, id, why, whylen);
        if (!p)
            return IO_ERR_INVAL;
        jrn_apply_final(j, p);
        return 0;
    }
malformed:
    snprintf(why, whylen, "not a journal record: \"%.60s\"", line);
    return IO_ERR_INVAL;
}

static int jrn_read_all(int fd, char **out, size_t *outlen)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf)
        return IO_ERR_NOMEM;
    for (;;) {
        if (len == cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return IO_ERR_NOMEM;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return IO_ERR_SYS;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* Applies every complete line; a tail without its newline is torn: it is
 * dropped and cut off the file, so that the next append starts a line. */
static int jrn_load(jrn_t *j, char *buf, size_t len, char *err, size_t errlen)
{
    char why[128];
    size_t lineno = 0, start = 0;
    while (start < len) {
        char *nl = memchr(buf + start, '\n', len - start);
        lineno++;
        if (!nl) {
            j->torn_line = lineno;
            if (ftruncate(j->fd, (off_t)start) < 0 || fsync(j->fd) < 0) {
                snprintf(err, errlen, "journal %s: cutting the torn line %zu: %s", j->path,
                         lineno, strerror(errno));
                return IO_ERR_SYS;
            }
            return 0;
        }
        *nl = '\0';
        int rc = jrn_load_line(j, buf + start, why, sizeof why);
        if (rc < 0) {
            snprintf(err, errlen, "journal %s:%zu: %s", j->path, lineno, why);
            return rc;
        }
        start = (size_t)(nl - buf) + 1;
    }
    return 0;
}

static int jrn_open_file(jrn_t *j, const char *path, char *err, size_t errlen)
{
    j->path = strdup(path);
    if (!j->path) {
        snprintf(err, errlen, "journal: out of memory");
        return IO_ERR_NOMEM;
    }
    /* O_APPEND: every write lands at the end, whatever else touches the file. */
    j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        snprintf(err, errlen, "journal %s: open: %s", path, strerror(errno));
        return IO_ERR_SYS;
    }
    char *buf;
    size_t len;
    int rc = jrn_read_all(j->fd, &buf, &len);
    if (rc < 0) {
        snprintf(err, errlen, "journal %s: read: %s", path,
                 rc == IO_ERR_NOMEM ? "out of memory" : strerror(errno));
        return rc;
    }
    rc = jrn_load(j, buf, len, err, errlen);
    free(buf);
    return rc;
}

int jrn_open(const char *path, jrn_t **out, char *err, size_t errlen)
{
    *out = NULL;
    jrn_t *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "journal: out of memory");
        return IO_ERR_NOMEM;
    }
    j->fd = -1;
    int rc = path ? jrn_open_file(j, path, err, errlen) : 0;
    if (rc < 0) {
        jrn_close(j);
        return rc;
    }
    *out = j;
    return 0;
}

void jrn_close(jrn_t *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j->pending);
    free(j);
}

size_t jrn_torn_line(const jrn_t *j)
{
    return j->torn_line;
}

size_t jrn_pending_count(const jrn_t *j)
{
    return j->npending;
}

const jrn_order_t *jrn_pending_at(const jrn_t *j, size_t i)
{
    return i < j->npending ? &j->pending[i] : NULL;
}

const jrn_order_t *jrn_find(const jrn_t *j, int32_t order_id)
{
    return jrn_lookup(j, order_id);
}

int32_t jrn_max_order_id(const jrn_t *j)
{
    return j->max_order_id;
}
