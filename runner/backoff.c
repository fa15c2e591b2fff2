/* backoff.c - capped exponential backoff with jitter (see backoff.h). */
#include "backoff.h"

#include <math.h>

const char *bo_config_problem(const bo_config_t *cfg)
{
    if (cfg->initial_us <= 0 || cfg->max_us < cfg->initial_us)
        return "reconnect delays must satisfy 0 < initial <= max";
    if (!(cfg->multiplier >= 1.0))
        return "reconnect multiplier must be >= 1";
    if (!(cfg->jitter >= 0.0 && cfg->jitter < 1.0))
        return "reconnect jitter must be in [0, 1)";
    return NULL;
}

io_us_t bo_delay(const bo_config_t *cfg, int k, double u)
{
    /* pow overflows to inf for a large k, and the cap takes it from there. */
    double base = (double)cfg->initial_us * pow(cfg->multiplier, (double)k);
    if (base > (double)cfg->max_us)
        base = (double)cfg->max_us;
    double spread = cfg->jitter * (2.0 * u - 1.0);
    return (io_us_t)llround(base * (1.0 + spread));
}

void bo_init(bo_t *b, const bo_config_t *cfg)
{
    b->cfg = *cfg;
    b->n = 0;
}

io_us_t bo_next(bo_t *b, io_loop_t *loop)
{
    io_us_t d = bo_delay(&b->cfg, b->n, io_random_unit(loop));
    if (b->n < 1000) /* far past any cap; keeps the counter from overflowing */
        b->n++;
    return d;
}

void bo_reset(bo_t *b)
{
    b->n = 0;
}
