/* io_sim.h - the simulated io backend: a virtual clock, one event heap
 * ordered by (time, sequence number), and an in-memory network whose
 * streams deliver bytes after a latency (plus jitter), cut into random
 * chunks, with FIN/EOF and RST semantics and refused connects to ports
 * nobody listens on. Every random choice comes from the seed, so one seed
 * gives one run, byte for byte. Linked into build/sim and the tests. */
#ifndef IO_SIM_H
#define IO_SIM_H

#include "../io/io.h"

typedef struct io_sim_net {
    io_us_t latency_us; /* one-way delay of every delivery */
    io_us_t jitter_us;  /* plus a uniform draw in [0, jitter_us] */
    int chunking;       /* nonzero: deliveries are cut at random points,
                           down to one byte at a time */
} io_sim_net_t;

typedef struct io_sim_config {
    uint64_t seed;
    io_us_t start_wall_us; /* wall clock at virtual time 0 */
    io_sim_net_t net;
} io_sim_config_t;

/* The network draws its jitter and cut points from a stream of its own,
 * seeded with the loop's seed ^ IO_SIM_NET_SEED_MIX ("net-sim!"), so that
 * they leave io_random_* alone: one draw per delivery delay (every data
 * piece and control event, in the order they are sent), and a write's
 * cut points just before its pieces' delays. */
#define IO_SIM_NET_SEED_MIX 0x6e65742d73696d21ull

/* Default network: 200 us latency, no jitter, no chunking. */
#define IO_SIM_NET_DEFAULT ((io_sim_net_t){200, 0, 0})

io_loop_t *io_sim_loop_new(const io_sim_config_t *cfg);

/* Runs every event due at or before until_us (monotonic virtual time), then
 * leaves the clock at until_us. Returns 1 if io_loop_stop() ended it early,
 * 0 otherwise. io_loop_run() is the same with no bound (until the heap is
 * empty or stop). */
int io_sim_run_until(io_loop_t *loop, io_us_t until_us);

/* Delivers sig to the loop's signal watcher as a loop event at the current
 * virtual time (dropped if no watcher). */
void io_sim_raise_signal(io_loop_t *loop, enum io_signal sig);

/* Changes the network for deliveries scheduled from now on. */
void io_sim_set_net(io_loop_t *loop, const io_sim_net_t *net);

/* Number of events the loop has run so far (benchmarks, tests). */
uint64_t io_sim_events_run(const io_loop_t *loop);

#endif
