/* fuzz_client.c - libFuzzer target: the runner's client session and its
 * trading cycle against a fuzzed gateway. Over io_sim, a fake gateway
 * listens, and for each burst of the input (fuzz_bursts.h) waits for the
 * runner to send something, then answers with it; a valid server hello
 * (FZ_HELLO) and managedAccounts + nextValidId (FZ_READY) may go first so
 * the fuzz reaches the cycle (positions, bars, orders, reconciling). Once
 * ready the session pings and runs cycles. At the end the fake gateway
 * hangs up (FIN or RST). Nothing may crash or leak, and closed must have
 * fired exactly once for the one connect. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runner/client.h"
#include "../../runner/cycle.h"
#include "../../sim/io_sim.h"
#include "fuzz_bursts.h"

#define FZ_PORT 4002
#define FZ_START_WALL_US ((io_us_t)1765376700 * IO_US_PER_S)
#define FZ_RUN_US (60 * IO_US_PER_S)

static const char *const fz_symbols[] = {"AAPL", "MSFT"};

static struct {
    fz_bursts_t in;
    size_t next;
    io_stream_t *peer; /* the fake gateway's side; NULL once closed */
    ibc_t *client;
    cyc_t *cycle;
    uint32_t cycles, pings;
    int closed;
} F;

static void fz_answer(void)
{
    size_t len;
    if (F.peer && F.next < F.in.n) {
        const uint8_t *p = fz_burst(&F.in, F.next++, &len);
        io_stream_write(F.peer, p, len);
    }
}

static void fz_on_peer(io_stream_t *s, const io_stream_event_t *ev, void *data)
{
    (void)data;
    if (ev->kind == IO_EV_DATA) {
        fz_answer();
    } else if (ev->kind == IO_EV_EOF || ev->kind == IO_EV_RESET) {
        io_stream_close(s, IO_CLOSE_FIN);
        F.peer = NULL;
    }
}

static void fz_on_accept(io_listener_t *l, io_stream_t *s, void *data)
{
    (void)l;
    (void)data;
    if (F.peer) {
        io_stream_close(s, IO_CLOSE_RST);
        return;
    }
    F.peer = s;
    io_stream_set_cb(s, fz_on_peer, NULL);
}

static void fz_ready(void *data, const ibc_ready_t *ready)
{
    (void)data;
    (void)ready;
    ibc_ping(F.client, ++F.pings);
    if (!cyc_running(F.cycle))
        cyc_start(F.cycle, ++F.cycles);
}

static void fz_ping_done(void *data, const ibc_ping_result_t *result)
{
    (void)data;
    if (result->ok && ibc_is_ready(F.client))
        ibc_ping(F.client, ++F.pings);
}

static void fz_closed(void *data, const ibc_closed_t *closed)
{
    (void)data;
    (void)closed;
    F.closed++;
    cyc_abort(F.cycle, "disconnected");
}

static void fz_message(void *data, int32_t msg_id, const proto_frame_t *frame)
{
    (void)data;
    cyc_on_message(F.cycle, msg_id, frame);
}

static void fz_cycle_done(void *data, const cyc_result_t *result)
{
    (void)data;
    (void)result;
}

/* The server hello and, for FZ_READY, what makes the session ready. */
static void fz_prefix(proto_writer_t *w, unsigned mode)
{
    if (!(mode & FZ_HELLO))
        return;
    proto_server_hello_write(w, PROTO_SERVER_VERSION_MAX, "20251210 14:25:00 UTC");
    if (mode & FZ_READY) {
        proto_frame_begin(w);
        proto_put_int(w, 15);
        proto_put_int(w, 1);
        proto_put_str(w, "DU1234567");
        proto_frame_end(w);
        proto_frame_begin(w);
        proto_put_int(w, 9);
        proto_put_int(w, 1);
        proto_put_int(w, 1);
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
    io_listener_t *lis;
    if (!loop || io_listen(loop, "127.0.0.1", FZ_PORT, fz_on_accept, NULL, &lis, err,
                           sizeof err) != 0)
        abort();
    ibc_config_t icfg = {"127.0.0.1", FZ_PORT, 1, 5 * IO_US_PER_S, 2 * IO_US_PER_S};
    ibc_events_t ev = {fz_ready, fz_ping_done, fz_closed, NULL, fz_message};
    cyc_config_t ccfg = {fz_symbols, 2, 1, 2 * IO_US_PER_S, 20 * IO_US_PER_S, NULL};
    if (ibc_new(loop, &icfg, &ev, &F.client, err, sizeof err) != 0 ||
        cyc_new(loop, F.client, &ccfg, fz_cycle_done, NULL, &F.cycle, err, sizeof err) != 0 ||
        ibc_connect(F.client) != 0)
        abort();
    io_sim_run_until(loop, FZ_RUN_US);
    if (F.peer)
        io_stream_close(F.peer, (F.in.mode & FZ_RST) ? IO_CLOSE_RST : IO_CLOSE_FIN);
    io_sim_run_until(loop, FZ_RUN_US + 10 * IO_US_PER_S);
    if (F.closed != 1)
        abort(); /* the gateway hung up: the session must have closed, once */
    cyc_free(F.cycle);
    ibc_free(F.client);
    io_listener_close(lis);
    io_loop_free(loop);
    proto_writer_free(&F.in.w);
    return 0;
}
