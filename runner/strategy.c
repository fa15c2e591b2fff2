/* strategy.c - the moving-average crossover (see strategy.h). */
#include "strategy.h"

#include <math.h>

static double strat_mean_last(const double *closes, size_t n, size_t k)
{
    double sum = 0.0;
    for (size_t i = n - k; i < n; i++)
        sum += closes[i];
    return sum / (double)k;
}

int strat_signal(const double *closes, size_t n, const strat_params_t *p, strat_signal_t *out)
{
    if (p->fast == 0 || p->fast >= p->slow || p->long_qty <= 0 || n < p->slow)
        return -1;
    out->fast = strat_mean_last(closes, n, p->fast);
    out->slow = strat_mean_last(closes, n, p->slow);
    /* Equal averages are no crossover: stay flat rather than flip on noise. */
    out->target = out->fast > out->slow ? p->long_qty : 0;
    return 0;
}

strat_order_t strat_order(int64_t target, double position)
{
    double diff = (double)target - position;
    int64_t qty = (int64_t)llround(fabs(diff));
    if (qty == 0)
        return (strat_order_t){NULL, 0};
    return (strat_order_t){diff > 0 ? "BUY" : "SELL", qty};
}
