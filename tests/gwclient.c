/* gwclient.c - the shared mock gateway test fixture (see gwclient.h). */
#include "gwclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

gwc_env_t gwc;

/* ---- records ------------------------------------------------------------ */

void gwc_records_add(gwc_records_t *r, const char *line, io_us_t wall_us)
{
    if (r->n < GWC_RECORDS_MAX) {
        r->wall_us[r->n] = wall_us;
        r->lines[r->n++] = strdup(line);
    }
}

void gwc_records_free(gwc_records_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->lines[i]);
    r->n = 0;
}

const char *gwc_records_find(const gwc_records_t *r, const char *part)
{
    for (size_t i = 0; i < r->n; i++)
        if (strstr(r->lines[i], part))
            return r->lines[i];
    return NULL;
}

static int records_index(const gwc_records_t *r, const char *fmt, va_list ap)
{
    char line[GWC_LINE_MAX];
    vsnprintf(line, sizeof line, fmt, ap);
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->lines[i], line) == 0)
            return (int)i;
    return -1;
}

int gwc_trace_index(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int i = records_index(&gwc.traces, fmt, ap);
    va_end(ap);
    return i;
}

int gwc_traced(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int i = records_index(&gwc.traces, fmt, ap);
    va_end(ap);
    return i >= 0;
}

int gwc_logged(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int i = records_index(&gwc.logs, fmt, ap);
    va_end(ap);
    return i >= 0;
}

size_t gwc_trace_count_prefix(const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < gwc.traces.n; i++)
        n += strncmp(gwc.traces.lines[i], prefix, strlen(prefix)) == 0;
    return n;
}

unsigned long long gwc_last_accept_since(size_t before)
{
    unsigned long long conn = 0;
    const char *fmt = gwc.opts.src_in_line ? "gateway accept conn=%llu" : "accept conn=%llu";
    for (size_t i = before; i < gwc.traces.n; i++)
        sscanf(gwc.traces.lines[i], fmt, &conn);
    return conn;
}

static void trace_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                       size_t nfields, const io_trace_field_t *fields)
{
    char line[GWC_LINE_MAX];
    size_t n = (size_t)(gwc.opts.src_in_line ? snprintf(line, sizeof line, "%s %s", src, ev)
                                             : snprintf(line, sizeof line, "%s", ev));
    (void)data;
    if (gwc.opts.only_src)
        CU_ASSERT_STRING_EQUAL(src, gwc.opts.only_src);
    for (size_t i = 0; i < nfields && n < sizeof line; i++) {
        if (fields[i].str)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%s", fields[i].key,
                                  fields[i].str);
        else
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%lld", fields[i].key,
                                  (long long)fields[i].num);
    }
    gwc_records_add(&gwc.traces, line, wall_us);
}

static void log_sink(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                     const char *text)
{
    (void)data;
    (void)level;
    (void)src;
    gwc_records_add(&gwc.logs, text, wall_us);
}

/* ---- the environment ---------------------------------------------------- */

void gwc_run_ms(long long ms)
{
    io_sim_run_until(gwc.loop, io_now_us(gwc.loop) + ms * IO_US_PER_MS);
}

void gwc_env_init(const gwc_opts_t *opts)
{
    memset(&gwc, 0, sizeof gwc);
    gwc.opts = *opts;
    io_sim_config_t sc = {opts->seed, (io_us_t)opts->start_wall_s * IO_US_PER_S,
                          IO_SIM_NET_DEFAULT};
    gwc.loop = io_sim_loop_new(&sc);
    io_set_trace_sink(gwc.loop, trace_sink, NULL);
    io_set_log_sink(gwc.loop, IO_LOG_DEBUG, log_sink, NULL);
    gw_config_defaults(&gwc.cfg);
}

void gwc_env_start_gw(void)
{
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(gw_new(gwc.loop, &gwc.cfg, &gwc.gw, err, sizeof err), 0);
}

void gwc_env_start(const gwc_opts_t *opts)
{
    gwc_env_init(opts);
    gwc_env_start_gw();
}

static void client_free(gwc_client_t *c)
{
    if (c->stream)
        io_stream_close(c->stream, IO_CLOSE_FIN);
    proto_decoder_free(&c->dec);
    for (size_t i = 0; i < c->nframes; i++)
        free(c->frames[i]);
    free(c);
}

void gwc_env_stop(void)
{
    gw_free(gwc.gw);
    for (size_t i = 0; i < gwc.nclients; i++)
        client_free(gwc.clients[i]);
    io_loop_run(gwc.loop);
    io_stats_t st;
    io_loop_stats(gwc.loop, &st);
    CU_ASSERT_EQUAL(st.streams, 0);
    CU_ASSERT_EQUAL(st.listeners, 0);
    CU_ASSERT_EQUAL(st.timers, 0);
    gwc_env_free();
}

void gwc_env_free(void)
{
    io_loop_free(gwc.loop);
    gwc_records_free(&gwc.traces);
    gwc_records_free(&gwc.logs);
    gw_config_release(&gwc.cfg);
}

/* ---- frames as text ------------------------------------------------------ */

char *gwc_frame_join(const proto_frame_t *f)
{
    char *out = calloc(1, f->len + 1);
    proto_reader_t r;
    proto_reader_init(&r, f);
    for (int i = 0; proto_reader_remaining(&r) > 0; i++) {
        const char *field;
        if (proto_read_str(&r, &field, NULL, 0) < 0)
            break;
        if (i > 0)
            strcat(out, "|");
        strcat(out, field);
    }
    return out;
}

int gwc_frame_split(proto_writer_t *w, const char *fields)
{
    char *copy = strdup(fields), *save;
    proto_frame_begin(w);
    /* strtok would skip empty fields: split by hand. */
    for (char *f = copy;; f = save + 1) {
        save = strchr(f, '|');
        if (save)
            *save = '\0';
        proto_put_str(w, f);
        if (!save)
            break;
    }
    free(copy);
    return proto_frame_end(w);
}

/* Ends the frame begun in w, sends it and frees w. */
static void send_frame(io_stream_t *s, proto_writer_t *w)
{
    CU_ASSERT_EQUAL(proto_frame_end(w), 0);
    CU_ASSERT_EQUAL(io_stream_write(s, w->buf, w->len), 0);
    proto_writer_free(w);
}

void gwc_write_fields(io_stream_t *s, int n, const char *const *fields)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    for (int i = 0; i < n; i++)
        proto_put_str(&w, fields[i]);
    send_frame(s, &w);
}

void gwc_write_fieldsv(io_stream_t *s, int n, va_list ap)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_frame_begin(&w);
    for (int i = 0; i < n; i++)
        proto_put_str(&w, va_arg(ap, const char *));
    send_frame(s, &w);
}

void gwc_write_hello(io_stream_t *s, int min_version, int max_version)
{
    proto_writer_t w;
    proto_writer_init(&w);
    CU_ASSERT_EQUAL(proto_client_hello_write(&w, min_version, max_version, NULL), 0);
    CU_ASSERT_EQUAL(io_stream_write(s, w.buf, w.len), 0);
    proto_writer_free(&w);
}

/* ---- the scripted client ------------------------------------------------- */

static void client_decode(gwc_client_t *c, const uint8_t *data, size_t len)
{
    CU_ASSERT_EQUAL_FATAL(proto_decoder_feed(&c->dec, data, len), 0);
    proto_frame_t f;
    char err[256];
    int rc;
    while ((rc = proto_decoder_next(&c->dec, &f, err, sizeof err)) == 1) {
        CU_ASSERT_FATAL(c->nframes < GWC_FRAMES_MAX);
        c->frame_us[c->nframes] = io_now_us(gwc.loop);
        c->frames[c->nframes++] = gwc_frame_join(&f);
    }
    c->dec_error = rc < 0 ? rc : 0;
    if (gwc.opts.strict_frames)
        CU_ASSERT_EQUAL(rc, 0);
}

static void client_on_data(gwc_client_t *c, const uint8_t *data, size_t len)
{
    size_t keep = len < GWC_RAW_MAX - c->nraw ? len : GWC_RAW_MAX - c->nraw;
    memcpy(c->raw + c->nraw, data, keep);
    c->nraw += keep;
    c->deliveries++;
    c->largest_delivery = len > c->largest_delivery ? len : c->largest_delivery;
    /* A refused stream is not decoded further: its later bytes mean nothing. */
    if (!c->text && !c->dec_error)
        client_decode(c, data, len);
}

static void client_cb(io_stream_t *stream, const io_stream_event_t *ev, void *data)
{
    gwc_client_t *c = data;
    (void)stream;
    if (ev->kind == IO_EV_DATA)
        client_on_data(c, ev->data, ev->len);
    else if (ev->kind == IO_EV_EOF)
        c->eof = 1;
    else if (ev->kind == IO_EV_RESET)
        c->reset = 1;
    else if (ev->kind == IO_EV_CONNECT_FAILED)
        c->refused = ev->status == IO_ERR_REFUSED;
}

gwc_client_t *gwc_client_dial(uint16_t port)
{
    gwc_client_t *c = calloc(1, sizeof *c);
    CU_ASSERT_FATAL(c != NULL && gwc.nclients < GWC_CLIENTS_MAX);
    gwc.clients[gwc.nclients++] = c;
    proto_decoder_init(&c->dec);
    CU_ASSERT_EQUAL_FATAL(
        io_connect(gwc.loop, "127.0.0.1", port, client_cb, c, &c->stream, NULL, 0), 0);
    return c;
}

gwc_client_t *gwc_client_new(void)
{
    size_t before = gwc.traces.n;
    gwc_client_t *c = gwc_client_dial(gw_port(gwc.gw));
    gwc_run_ms(1);
    c->conn = gwc_last_accept_since(before);
    return c;
}

void gwc_client_send(gwc_client_t *c, const void *bytes, size_t len)
{
    CU_ASSERT_EQUAL(io_stream_write(c->stream, bytes, len), 0);
}

void gwc_client_send_fields(gwc_client_t *c, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    gwc_write_fieldsv(c->stream, n, ap);
    va_end(ap);
}

void gwc_client_hello(gwc_client_t *c, int min_version, int max_version)
{
    gwc_write_hello(c->stream, min_version, max_version);
}

void gwc_client_start_api(gwc_client_t *c, const char *client_id)
{
    gwc_client_send_fields(c, 4, "71", "2", client_id, "");
}

void gwc_client_close(gwc_client_t *c, enum io_close_how how)
{
    io_stream_close(c->stream, how);
    c->stream = NULL;
}

const char *gwc_frame_at(const gwc_client_t *c, size_t i)
{
    return i < c->nframes ? c->frames[i] : "(no frame)";
}

gwc_client_t *gwc_client_ready(const char *client_id)
{
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(2);
    gwc_client_start_api(c, client_id);
    gwc_run_ms(2);
    CU_ASSERT_EQUAL(c->nframes, 6);
    return c;
}

int gwc_client_gets_current_time(gwc_client_t *c)
{
    size_t before = c->nframes;
    gwc_client_send_fields(c, 2, "49", "1");
    gwc_run_ms(1000);
    return c->nframes == before + 1 && strncmp(gwc_frame_at(c, before), "49|1|", 5) == 0;
}
