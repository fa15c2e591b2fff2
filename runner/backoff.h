/* backoff.h - the reconnect delay: capped exponential with jitter. The k-th
 * delay since the last reset is min(max, initial * multiplier^k), spread by
 * ± jitter of itself with a uniform draw from the loop's seeded random
 * source, so runs replay from their seed and many runners restarted at once
 * do not reconnect in lockstep. */
#ifndef RUNNER_BACKOFF_H
#define RUNNER_BACKOFF_H

#include <stddef.h>

#include "../io/io.h"

typedef struct bo_config {
    io_us_t initial_us;
    io_us_t max_us;
    double multiplier; /* >= 1 */
    double jitter;     /* fraction of the delay, in [0, 1) */
} bo_config_t;

typedef struct bo {
    bo_config_t cfg;
    int n; /* delays handed out since the last reset: the exponent */
} bo_t;

/* NULL if the config is usable, else what is wrong with it. */
const char *bo_config_problem(const bo_config_t *cfg);

/* The k-th delay for a uniform draw u in [0, 1): u = 0.5 is the unjittered
 * delay, 0 and 1 its lower and upper jitter bounds. */
io_us_t bo_delay(const bo_config_t *cfg, int k, double u);

void bo_init(bo_t *b, const bo_config_t *cfg);
/* The next delay (drawing the jitter from loop); the exponent grows. */
io_us_t bo_next(bo_t *b, io_loop_t *loop);
/* After a success: the next delay starts from initial again. */
void bo_reset(bo_t *b);

#endif
