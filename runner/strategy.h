/* strategy.h - the trading signal, pure arithmetic: a moving-average
 * crossover over bar closes gives a target position, and the target minus
 * the current position gives the order. Long-only: the target is
 * long_qty shares while the fast average is above the slow one, and flat
 * (0) otherwise; it never goes short. No I/O, no state. */
#ifndef RUNNER_STRATEGY_H
#define RUNNER_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

typedef struct strat_params {
    size_t fast;      /* bars in the fast average, default 5 */
    size_t slow;      /* bars in the slow average, default 20; > fast */
    int64_t long_qty; /* shares held while fast > slow, default 100 */
} strat_params_t;

#define STRAT_PARAMS_DEFAULT ((strat_params_t){5, 20, 100})

typedef struct strat_signal {
    double fast;    /* mean of the last `fast` closes */
    double slow;    /* mean of the last `slow` closes */
    int64_t target; /* long_qty when fast > slow, else 0 */
} strat_signal_t;

typedef struct strat_order {
    const char *action; /* "BUY" or "SELL"; NULL when qty is 0 */
    int64_t qty;        /* shares, >= 0 */
} strat_order_t;

/* The signal over closes[0..n) (oldest first). 0, or -1 when there are
 * fewer than p->slow closes or the parameters are invalid
 * (0 < fast < slow, long_qty > 0). */
int strat_signal(const double *closes, size_t n, const strat_params_t *p, strat_signal_t *out);

/* The order that takes position to target: BUY or SELL the difference,
 * rounded to whole shares (a fractional position leaves its fraction). */
strat_order_t strat_order(int64_t target, double position);

#endif
