/* ctl.c - the control server (see ctl.h): a listener, a few connections
 * that each gather bytes into a line and answer it, the command-line
 * splitter and quoter, and the JSON answers. */
#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"

#define CTL_SRC "ctl"
#define CTL_CONNS_MAX 8
#define CTL_WORDS_MAX 32

typedef struct ctl_conn {
    gw_ctl_t *ctl;
    io_stream_t *stream; /* NULL: a free slot */
    char line[GW_CTL_LINE_MAX];
    size_t len;
} ctl_conn_t;

struct gw_ctl {
    io_loop_t *loop;
    gw_t *gw;
    io_listener_t *listener;
    ctl_conn_t conns[CTL_CONNS_MAX];
};

/* ---- JSON answers ------------------------------------------------------- */

typedef struct ctl_json {
    char *buf;
    size_t cap, len; /* len stops at cap - 1: the answer is cut, never overrun */
} ctl_json_t;

static void json_add(ctl_json_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_add(ctl_json_t *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
    va_end(ap);
    j->len += n < 0 ? 0 : (size_t)n;
    if (j->len >= j->cap)
        j->len = j->cap - 1;
}

static void json_str(ctl_json_t *j, const char *s)
{
    json_add(j, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            json_add(j, "\\%c", c);
        else if (c < 0x20)
            json_add(j, "\\u%04x", c);
        else
            json_add(j, "%c", c);
    }
    json_add(j, "\"");
}

static int json_error(ctl_json_t *j, const char *error)
{
    json_add(j, "{\"ok\":false,\"error\":");
    json_str(j, error);
    json_add(j, "}");
    return 0;
}

static int json_status(ctl_json_t *j, gw_t *gw)
{
    gw_session_info_t sessions[GW_SESSIONS_MAX];
    gw_fault_info_t faults[GW_FAULTS_MAX];
    gw_counters_t c;
    size_t ns = gw_sessions_info(gw, sessions, GW_SESSIONS_MAX);
    size_t nf = gw_faults_info(gw, faults, GW_FAULTS_MAX);
    gw_get_counters(gw, &c);
    json_add(j, "{\"ok\":true,\"port\":%u,\"listening\":%s,\"sessions\":[",
             (unsigned)gw_port(gw), gw_listening(gw) ? "true" : "false");
    for (size_t i = 0; i < ns; i++) {
        json_add(j, "%s{\"conn\":%llu,\"client_id\":%d,\"state\":", i ? "," : "",
                 (unsigned long long)sessions[i].conn, sessions[i].client_id);
        json_str(j, sessions[i].state);
        json_add(j, "}");
    }
    json_add(j, "],\"faults\":[");
    for (size_t i = 0; i < nf; i++) {
        json_add(j, "%s{\"kind\":", i ? "," : "");
        json_str(j, gw_fault_kind_name((enum gw_fault_kind)faults[i].kind));
        json_add(j, ",\"client_id\":%d,\"remaining_ms\":", faults[i].client_id);
        if (faults[i].remaining_us < 0)
            json_add(j, "null");
        else /* rounded up: a fault with 1 us left is still on */
            json_add(j, "%lld", (long long)((faults[i].remaining_us + 999) / IO_US_PER_MS));
        json_add(j, ",\"times\":%d}", faults[i].times);
    }
    json_add(j,
             "],\"counters\":{\"accepted\":%llu,\"turned_away\":%llu,\"closed\":%llu,"
             "\"faults\":%llu}}",
             (unsigned long long)c.accepted, (unsigned long long)c.turned_away,
             (unsigned long long)c.closed, (unsigned long long)c.faults);
    return 1;
}

/* ---- command lines ------------------------------------------------------ */

/* Splits line in place into words (see ctl.h). 0, or -1 with the reason. */
static int ctl_split(char *line, char **argv, int *argc, const char **why)
{
    char *in = line, *out = line;
    *argc = 0;
    for (;;) {
        while (*in == ' ' || *in == '\t')
            in++;
        if (!*in)
            return 0;
        if (*argc == CTL_WORDS_MAX) {
            *why = "too many words";
            return -1;
        }
        argv[(*argc)++] = out;
        int quoted = 0;
        for (; *in && (quoted || (*in != ' ' && *in != '\t')); in++) {
            if (*in == '"') {
                quoted = !quoted;
            } else if (*in == '\\' && in[1]) {
                *out++ = *++in;
            } else {
                *out++ = *in;
            }
        }
        if (quoted) {
            *why = "a quote is not closed";
            return -1;
        }
        /* The word ends before the blank that ends it in the input, which
         * is at or after out, so both can be NUL. */
        if (*in)
            in++;
        *out++ = '\0';
    }
}

static void ctl_put(char *buf, size_t *len, size_t cap, char ch)
{
    if (*len + 1 < cap) {
        buf[*len] = ch;
        buf[*len + 1] = '\0';
    }
    (*len)++;
}

size_t gw_ctl_quote(const char *word, char *buf, size_t len, size_t cap)
{
    int plain = word[0] != '\0' && strpbrk(word, " \t\"\\") == NULL;
    if (len > 0)
        ctl_put(buf, &len, cap, ' ');
    if (!plain)
        ctl_put(buf, &len, cap, '"');
    for (const char *p = word; *p; p++) {
        if (!plain && (*p == '"' || *p == '\\'))
            ctl_put(buf, &len, cap, '\\');
        ctl_put(buf, &len, cap, *p);
    }
    if (!plain)
        ctl_put(buf, &len, cap, '"');
    return len;
}

int gw_ctl_execute(gw_t *gw, const char *line, char *out, size_t cap)
{
    ctl_json_t j = {out, cap, 0};
    char words[GW_CTL_LINE_MAX], err[256];
    char *argv[CTL_WORDS_MAX];
    const char *why = NULL;
    int argc = 0;
    out[0] = '\0';
    io_log(gw_loop(gw), IO_LOG_INFO, CTL_SRC, "command: %s", line);
    if (strlen(line) >= sizeof words)
        return json_error(&j, "command line too long");
    strcpy(words, line);
    if (ctl_split(words, argv, &argc, &why) < 0)
        return json_error(&j, why);
    if (argc == 0)
        return json_error(&j, "empty command");
    if (strcmp(argv[0], "status") == 0)
        return argc == 1 ? json_status(&j, gw) : json_error(&j, "status takes no arguments");
    gw_fault_t f;
    if (gw_fault_parse_words(argc, argv, &f, err, sizeof err) < 0 ||
        gw_fault_apply(gw, &f, err, sizeof err) < 0) {
        io_log(gw_loop(gw), IO_LOG_WARN, CTL_SRC, "refused: %s", err);
        return json_error(&j, err);
    }
    json_add(&j, "{\"ok\":true,\"applied\":");
    json_str(&j, gw_fault_kind_name(f.kind));
    json_add(&j, ",\"client_id\":%d}", f.client_id);
    return 1;
}

/* ---- connections -------------------------------------------------------- */

static void ctl_conn_close(ctl_conn_t *c, enum io_close_how how)
{
    io_stream_close(c->stream, how);
    c->stream = NULL;
    c->len = 0;
}

static void ctl_answer(ctl_conn_t *c, const char *line)
{
    char answer[GW_CTL_ANSWER_MAX];
    gw_ctl_execute(c->ctl->gw, line, answer, sizeof answer - 1);
    strcat(answer, "\n");
    io_stream_write(c->stream, answer, strlen(answer));
}

/* Answers every whole line; a line longer than GW_CTL_LINE_MAX gets an
 * error and the connection is closed, as its end cannot be found safely. */
static void ctl_on_data(ctl_conn_t *c, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len && c->stream; i++) {
        char ch = (char)data[i];
        if (ch == '\n') {
            if (c->len > 0 && c->line[c->len - 1] == '\r')
                c->len--;
            c->line[c->len] = '\0';
            c->len = 0;
            ctl_answer(c, c->line);
        } else if (c->len + 1 < sizeof c->line) {
            c->line[c->len++] = ch;
        } else {
            static const char too_long[] =
                "{\"ok\":false,\"error\":\"command line too long\"}\n";
            io_stream_write(c->stream, too_long, sizeof too_long - 1);
            ctl_conn_close(c, IO_CLOSE_FIN);
        }
    }
}

static void ctl_on_stream(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    ctl_conn_t *c = data;
    (void)stream;
    if (ev->kind == IO_EV_DATA)
        ctl_on_data(c, ev->data, ev->len);
    else if (ev->kind == IO_EV_EOF)
        ctl_conn_close(c, IO_CLOSE_FIN);
    else if (ev->kind == IO_EV_RESET)
        ctl_conn_close(c, IO_CLOSE_RST);
}

static void ctl_on_accept(io_listener_t *listener, io_stream_t *stream, void *data)
{
    gw_ctl_t *ctl = data;
    (void)listener;
    for (size_t i = 0; i < CTL_CONNS_MAX; i++) {
        if (!ctl->conns[i].stream) {
            ctl->conns[i] = (ctl_conn_t){.ctl = ctl, .stream = stream};
            io_stream_set_cb(stream, ctl_on_stream, &ctl->conns[i]);
            return;
        }
    }
    static const char busy[] = "{\"ok\":false,\"error\":\"too many control connections\"}\n";
    io_log(ctl->loop, IO_LOG_WARN, CTL_SRC, "connection refused: %d open already",
           CTL_CONNS_MAX);
    io_stream_write(stream, busy, sizeof busy - 1);
    io_stream_close(stream, IO_CLOSE_FIN);
}

int gw_ctl_new(io_loop_t *loop, gw_t *gw, const char *host, uint16_t port, gw_ctl_t **out,
               char *err, size_t errlen)
{
    *out = NULL;
    gw_ctl_t *ctl = calloc(1, sizeof *ctl);
    if (!ctl) {
        if (err)
            snprintf(err, errlen, "control: out of memory");
        return IO_ERR_NOMEM;
    }
    ctl->loop = loop;
    ctl->gw = gw;
    int rc = io_listen(loop, host, port, ctl_on_accept, ctl, &ctl->listener, err, errlen);
    if (rc < 0) {
        free(ctl);
        return rc;
    }
    io_log(loop, IO_LOG_INFO, CTL_SRC, "control on %s:%u", host,
           (unsigned)io_listener_port(ctl->listener));
    *out = ctl;
    return 0;
}

uint16_t gw_ctl_port(const gw_ctl_t *ctl)
{
    return io_listener_port(ctl->listener);
}

void gw_ctl_free(gw_ctl_t *ctl)
{
    if (!ctl)
        return;
    io_listener_close(ctl->listener);
    for (size_t i = 0; i < CTL_CONNS_MAX; i++)
        if (ctl->conns[i].stream)
            ctl_conn_close(&ctl->conns[i], IO_CLOSE_FIN);
    free(ctl);
}
