/* fuzz_gateway.c - libFuzzer target: the mock gateway's request handling
 * against a fuzzed client. Over io_sim, a client connects to gw_new's
 * listener and sends the input's bursts (fuzz_bursts.h) half a virtual
 * second apart, optionally behind a valid greeting and startApi, reading
 * whatever comes back; then it hangs up (FIN or RST). Nothing may crash or
 * leak, and once the client is gone the gateway must hold no session. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mockgw/gateway.h"
#include "../../sim/io_sim.h"
#include "fuzz_bursts.h"

#define FZ_PORT 4002
#define FZ_BURST_GAP_US (500 * IO_US_PER_MS)
/* 2025-12-10 14:25 UTC, a Wednesday with the market open. */
#define FZ_START_WALL_US ((io_us_t)1765376700 * IO_US_PER_S)

static struct {
    fz_bursts_t in;
    size_t next;        /* the next burst to send */
    io_stream_t *s;     /* the fuzzed client; NULL once closed */
    io_timer_t *timer;
} F;

static void fz_send_next(void)
{
    size_t len;
    const uint8_t *p = fz_burst(&F.in, F.next++, &len);
    io_stream_write(F.s, p, len);
    if (F.next < F.in.n)
        io_timer_start(F.timer, FZ_BURST_GAP_US);
}

static void fz_on_timer(io_timer_t *t, void *data)
{
    (void)t;
    (void)data;
    if (F.s)
        fz_send_next();
}

static void fz_on_client(io_stream_t *s, const io_stream_event_t *ev, void *data)
{
    (void)data;
    if (ev->kind == IO_EV_CONNECTED && F.in.n > 0) {
        fz_send_next();
    } else if (ev->kind == IO_EV_EOF || ev->kind == IO_EV_RESET ||
               ev->kind == IO_EV_CONNECT_FAILED) {
        io_stream_close(s, IO_CLOSE_FIN);
        F.s = NULL;
    }
}

/* A valid greeting and, for FZ_READY, startApi for client id 1. */
static void fz_prefix(proto_writer_t *w, unsigned mode)
{
    if (!(mode & FZ_HELLO))
        return;
    proto_client_hello_write(w, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX, "");
    if (mode & FZ_READY) {
        proto_frame_begin(w);
        proto_put_int(w, 71);
        proto_put_int(w, 2);
        proto_put_int(w, 1);
        proto_put_str(w, "");
        proto_frame_end(w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    memset(&F, 0, sizeof F);
    proto_writer_init(&F.in.w);
    fz_prefix(&F.in.w, size ? data[0] : 0);
    fz_bursts_parse(&F.in, data, size);
    io_sim_net_t net = {200, 0, (F.in.mode & FZ_CHUNKED) != 0};
    io_sim_config_t sc = {.seed = 1, .start_wall_us = FZ_START_WALL_US, .net = net};
    io_loop_t *loop = io_sim_loop_new(&sc);
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    cfg.port = FZ_PORT;
    gw_t *gw;
    if (!loop || gw_new(loop, &cfg, &gw, err, sizeof err) != 0)
        abort();
    F.timer = io_timer_new(loop, fz_on_timer, NULL);
    if (io_connect(loop, "127.0.0.1", FZ_PORT, fz_on_client, NULL, &F.s, err, sizeof err) != 0)
        abort();
    io_us_t t = (io_us_t)F.in.n * FZ_BURST_GAP_US + 5 * IO_US_PER_S;
    io_sim_run_until(loop, t);
    if (F.s)
        io_stream_close(F.s, (F.in.mode & FZ_RST) ? IO_CLOSE_RST : IO_CLOSE_FIN);
    io_sim_run_until(loop, t + 5 * IO_US_PER_S);
    if (gw_session_count(gw) != 0)
        abort(); /* the client hung up: its session must be gone */
    gw_free(gw);
    io_timer_free(F.timer);
    io_loop_free(loop);
    proto_writer_free(&F.in.w);
    return 0;
}
