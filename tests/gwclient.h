/* gwclient.h - the mock gateway test fixture that test_mockgw,
 * test_mockgw_faults, test_mockgw_surface and test_replay share.
 *
 * It owns the environment (one io_sim loop, one gateway and its config, in
 * the global `gwc`: a test binary runs one test at a time), the trace and
 * log records ("ev key=value ..." lines with their wall time), and the
 * scripted TWS client: it connects, sends exact bytes or frames of text
 * fields, and decodes every frame it receives, kept as its fields joined by
 * '|' ("4|2|-1|2104|...|" ends in '|' for a trailing "") with the virtual
 * time it was whole, besides every byte and the size of every delivery.
 * What only one test file needs stays in that file. */
#ifndef GWCLIENT_H
#define GWCLIENT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../mockgw/config.h"
#include "../mockgw/gateway.h"
#include "../proto/proto.h"
#include "../sim/io_sim.h"

/* 2025-12-10 14:25:00 UTC (Wednesday 09:25 in New York). */
#define GWC_START_WALL_S 1765376700
#define GWC_FRAMES_MAX 64
#define GWC_RAW_MAX 16384
#define GWC_RECORDS_MAX 512
#define GWC_CLIENTS_MAX 48
#define GWC_LINE_MAX 2048

typedef struct gwc_records {
    char *lines[GWC_RECORDS_MAX];
    io_us_t wall_us[GWC_RECORDS_MAX];
    size_t n;
} gwc_records_t;

typedef struct gwc_client {
    io_stream_t *stream;
    unsigned long long conn; /* the gateway's id for this connection, 0 if none */
    proto_decoder_t dec;
    int text;                /* a control client: bytes only, no frames */
    char *frames[GWC_FRAMES_MAX];
    io_us_t frame_us[GWC_FRAMES_MAX]; /* virtual time each frame was whole */
    size_t nframes;
    int dec_error;           /* the decoder refused the stream (PROTO_ERR_*) */
    uint8_t raw[GWC_RAW_MAX]; /* every byte received, in order, while it fits */
    size_t nraw;
    size_t deliveries, largest_delivery;
    int eof, reset, refused;
} gwc_client_t;

/* How a test file's environment differs from the others'. */
typedef struct gwc_opts {
    uint64_t seed;
    int64_t start_wall_s;    /* the wall clock at virtual time 0 */
    int src_in_line;         /* trace lines start with their source: "gateway accept ..." */
    const char *only_src;    /* if set, every trace must come from this source */
    int strict_frames;       /* a frame the decoder refuses fails the test */
} gwc_opts_t;

typedef struct gwc_env {
    io_loop_t *loop;
    gw_t *gw;
    gw_config_t cfg;
    gwc_opts_t opts;
    gwc_records_t traces;
    gwc_records_t logs;
    gwc_client_t *clients[GWC_CLIENTS_MAX];
    size_t nclients;
} gwc_env_t;

extern gwc_env_t gwc;

/* ---- records ---- */
void gwc_records_add(gwc_records_t *r, const char *line, io_us_t wall_us);
void gwc_records_free(gwc_records_t *r);
/* The first record holding part, or NULL. */
const char *gwc_records_find(const gwc_records_t *r, const char *part);
/* The index of the first trace equal to the formatted line, or -1. */
int gwc_trace_index(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gwc_traced(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gwc_logged(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t gwc_trace_count_prefix(const char *prefix);
/* The conn of the last accept traced after `before` records, or 0. */
unsigned long long gwc_last_accept_since(size_t before);

/* ---- the environment ---- */
void gwc_run_ms(long long ms);
/* A fresh loop with the sinks installed and default gateway config; set
 * gwc.cfg between this and gwc_env_start_gw. */
void gwc_env_init(const gwc_opts_t *opts);
void gwc_env_start_gw(void);
void gwc_env_start(const gwc_opts_t *opts);
/* Frees the gateway and the clients, checks that nothing io-level was
 * left behind, then gwc_env_free. */
void gwc_env_stop(void);
/* Frees the loop, the records and the config, for a test file that tears
 * down its own streams first. */
void gwc_env_free(void);

/* ---- frames as text ---- */
/* "15|1|DU1234567" for the frame's fields, via proto's field reader. */
char *gwc_frame_join(const proto_frame_t *f);
/* Puts the '|'-separated fields as one frame into w; proto_frame_end's result. */
int gwc_frame_split(proto_writer_t *w, const char *fields);
void gwc_write_fields(io_stream_t *s, int n, const char *const *fields);
void gwc_write_fieldsv(io_stream_t *s, int n, va_list ap);
void gwc_write_hello(io_stream_t *s, int min_version, int max_version);

/* ---- the scripted client ---- */
/* Starts a connect to port and returns at once. */
gwc_client_t *gwc_client_dial(uint16_t port);
/* Connects to the gateway and lets the connect complete. */
gwc_client_t *gwc_client_new(void);
void gwc_client_send(gwc_client_t *c, const void *bytes, size_t len);
/* One frame of the given text fields. */
void gwc_client_send_fields(gwc_client_t *c, int n, ...);
void gwc_client_hello(gwc_client_t *c, int min_version, int max_version);
void gwc_client_start_api(gwc_client_t *c, const char *client_id);
void gwc_client_close(gwc_client_t *c, enum io_close_how how);
const char *gwc_frame_at(const gwc_client_t *c, size_t i);
/* A client through hello and startApi with that id: 6 frames received. */
gwc_client_t *gwc_client_ready(const char *client_id);
/* Sends reqCurrentTime and says whether currentTime came back within 1 s. */
int gwc_client_gets_current_time(gwc_client_t *c);

#endif
