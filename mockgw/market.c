/* market.c - the synthetic market: contract resolution, a seeded price
 * function of (seed, symbol, time), and historical bars built from it.
 *
 * The price is start * exp(sum over octaves k of a_k * ramp_k(t)), where
 * ramp_k interpolates seeded values in [-1, 1] placed every 5 * 2^k seconds
 * and a_k grows with the square root of that spacing, as the spread of a
 * random walk does. Nothing is stored or summed from an origin, so any
 * time costs the same few hashes and history never depends on what was
 * asked before. */
#include "market.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/nytime.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MKT_OCTAVES 21
#define MKT_BASE_STEP_S 5
#define MKT_SIGMA_PER_SQRT_S 6.5e-5 /* about 1% over a 6.5 hour session */
#define MKT_DEFAULT_PRICE 100.0
#define MKT_SAMPLES_MAX 12          /* points per bar for high and low */
#define MKT_DAY_S 86400
#define MKT_RTH_OPEN_MIN (9 * 60 + 30)
#define MKT_RTH_CLOSE_MIN (16 * 60)
#define MKT_SPAN_DAYS_MAX (366 * 30)
#define MKT_RUNS 8                  /* series kept: the symbols and kinds asked about in turn */
#define MKT_KEY_MAX 24              /* the cache keeps the bars of shorter keys */
#define MKT_WALKS 8                 /* walks kept: symbols asked about in turn */

#define MKT_PAIRS ((MKT_OCTAVES + 1) / 2) /* octaves two at a time; the last pair's
                                               second is a dummy with amplitude 0 */

/* Two doubles or four ints in one SSE register: the octaves' terms
 * are worked out two at a time, each lane the same IEEE operations as one
 * octave alone, and only then summed in order, one by one. */
typedef double mkt_v2d __attribute__((vector_size(16)));
typedef int32_t mkt_v4i __attribute__((vector_size(16)));

/* The walk of one symbol: mkt_hash(seed, sym, k, i) with the part that
 * does not depend on i hashed once per octave, and each octave's two
 * points kept, since a bar's samples mostly fall between the same points
 * of the slower octaves. Also each octave's step and amplitude, the same
 * doubles the sum would compute each time. A cache of values only: the
 * sums are the same. Every octave's points are those of the last time's
 * index, floor(t / 5) >> k: when the index moves, the octaves whose points
 * change are the fast ones below its highest changed bit.
 *
 * The points are kept times 2^52 (whole numbers, one multiply less per
 * point) and the amplitudes times 2^-52: scaling by a power of two is
 * exact and commutes with rounding away from subnormals (every value here
 * is far above them), so amp * (a + d * frac) is the same double. */
typedef struct mkt_walk {
    uint64_t octave[MKT_OCTAVES];
    int64_t base;                   /* floor(t / 5) of the last time; INT64_MIN: none yet */
    double b[MKT_OCTAVES];          /* each octave's point at its index + 1, times 2^52 */
    mkt_v2d a[MKT_PAIRS];           /* its point at its index, times 2^52 */
    mkt_v2d d[MKT_PAIRS];           /* b - a (exact: whole numbers below 2^53) */
    mkt_v2d step[MKT_PAIRS];        /* 5 * 2^k seconds */
    mkt_v2d amp[MKT_PAIRS];         /* MKT_SIGMA_PER_SQRT_S * sqrt(step) * 2^-52 */
} mkt_walk_t;

/* The bars of a series' last answer, oldest first, with everything they
 * were built from: a bar is a pure function of (seed, key, start price,
 * whatToShow, daily, start, length). A client polling history asks for
 * nearly the same bars every time (a trading year of 30-minute cycles
 * would rebuild each bar some forty times): the span grown by a bar or
 * moved on by a day. Both lists are in time order, so the bars of a new
 * answer are found in the last one by walking the two together. The
 * answer being built notes its lengths in next_len; at its end its bars
 * are copied in and next_len becomes len. */
typedef struct mkt_run {
    char key[MKT_KEY_MAX];          /* NUL-padded; "": empty */
    uint64_t seed;
    double start_price;
    enum gw_mkt_what what;
    int daily;
    uint64_t used;                  /* the cache's clock at the last use */
    gw_mkt_bar_t *bar;
    int64_t *len, *next_len;        /* the length each bar was built for */
    size_t n, cap;                  /* bars kept; room in each list */
} mkt_run_t;

/* The cache is not part of the market's value: gw_mkt_bars stays const. */
typedef struct mkt_cache {
    uint64_t clock;
    uint64_t serial;                /* the last bar serial given */
    mkt_run_t run[MKT_RUNS];
    /* The walks of the symbols asked about lately, kept from request to
     * request (a request mostly builds just its newest bar, and setting a
     * walk up costs as much as two of its prices). Values only, like the
     * bars. */
    struct mkt_walk_slot {
        uint64_t seed, sym;
        int ready;
        mkt_walk_t walk;
    } walk[MKT_WALKS];
    unsigned next_walk;             /* the slot the next new walk takes */
} mkt_cache_t;

struct gw_market {
    const gw_config_t *cfg;
    mkt_cache_t *cache;
};

gw_market_t *gw_mkt_new(const gw_config_t *cfg)
{
    gw_market_t *m = calloc(1, sizeof *m);
    if (m && !(m->cache = calloc(1, sizeof *m->cache))) {
        free(m);
        return NULL;
    }
    if (m)
        m->cfg = cfg;
    return m;
}

void gw_mkt_free(gw_market_t *m)
{
    for (size_t i = 0; m && i < MKT_RUNS; i++) {
        free(m->cache->run[i].bar);
        free(m->cache->run[i].len);
        free(m->cache->run[i].next_len);
    }
    if (m)
        free(m->cache);
    free(m);
}

/* ---- contracts --------------------------------------------------------- */

static uint64_t mkt_fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* A stable conId per market key, in the positive int32 range clients use. */
static int32_t mkt_con_id(const char *key)
{
    return (int32_t)(mkt_fnv(key) % 2000000000u) + 1000;
}

/* src into dst, cut to fit, as snprintf "%s" would (at a tenth of its
 * cost: every historical request resolves its contract). */
static void mkt_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void gw_mkt_stock(gw_mkt_contract_t *c, const char *symbol)
{
    memset(c, 0, sizeof *c);
    mkt_copy(c->symbol, sizeof c->symbol, symbol);
    mkt_copy(c->sec_type, sizeof c->sec_type, "STK");
    gw_mkt_contract_resolve(c);
}

int gw_mkt_contract_resolve(gw_mkt_contract_t *c)
{
    if (c->symbol[0] == '\0')
        return IO_ERR_INVAL;
    if (strcmp(c->sec_type, "STK") == 0) {
        if (c->currency[0] == '\0')
            mkt_copy(c->currency, sizeof c->currency, "USD");
        if (c->exchange[0] == '\0')
            mkt_copy(c->exchange, sizeof c->exchange, "SMART");
        mkt_copy(c->primary_exchange, sizeof c->primary_exchange, "NASDAQ");
        mkt_copy(c->key, sizeof c->key, c->symbol);
        mkt_copy(c->local_symbol, sizeof c->local_symbol, c->symbol);
        mkt_copy(c->trading_class, sizeof c->trading_class, "NMS");
    } else if (strcmp(c->sec_type, "CASH") == 0) {
        if (c->currency[0] == '\0')
            return IO_ERR_INVAL;
        mkt_copy(c->exchange, sizeof c->exchange, "IDEALPRO");
        c->primary_exchange[0] = '\0';
        snprintf(c->key, sizeof c->key, "%s%s", c->symbol, c->currency);
        snprintf(c->local_symbol, sizeof c->local_symbol, "%s.%s", c->symbol, c->currency);
        mkt_copy(c->trading_class, sizeof c->trading_class, c->local_symbol);
    } else {
        return IO_ERR_INVAL;
    }
    c->con_id = mkt_con_id(c->key);
    return 0;
}

/* ---- prices ------------------------------------------------------------ */

static uint64_t mkt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t mkt_hash(uint64_t seed, uint64_t sym, uint64_t a, uint64_t b)
{
    return mkt_mix(mkt_mix(mkt_mix(seed ^ sym) ^ a) ^ b);
}

static int64_t mkt_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static double mkt_start_price(const gw_market_t *m, const char *key)
{
    for (size_t i = 0; i < m->cfg->nprices; i++)
        if (strcmp(m->cfg->prices[i].symbol, key) == 0)
            return m->cfg->prices[i].price;
    return MKT_DEFAULT_PRICE;
}

/* 100 for a cent tick, 10000 for 0.0001: rounding through the inverse
 * keeps prices exact decimals ("101.23", not "101.23000000000002"). */
static double mkt_tick_scale(const gw_market_t *m, const char *key)
{
    return mkt_start_price(m, key) >= 10.0 ? 100.0 : 10000.0;
}

double gw_mkt_min_tick(const gw_market_t *m, const char *key)
{
    return 1.0 / mkt_tick_scale(m, key);
}

/* A point of the walk, times 2^52: the top 53 bits of h as a value in
 * [-1, 1), (h >> 11) * 2^-52 - 1, which is exact since h >> 11 and its
 * distance from 2^52 are whole numbers below 2^53. */
static double mkt_point(uint64_t h)
{
    return (double)((int64_t)(h >> 11) - ((int64_t)1 << 52));
}

static void mkt_walk_init(mkt_walk_t *w, uint64_t seed, uint64_t sym)
{
    uint64_t root = mkt_mix(seed ^ sym);
    memset(w, 0, sizeof *w);
    w->base = INT64_MIN;
    for (int k = 0; k < 2 * MKT_PAIRS; k++) {
        double step = (double)((int64_t)MKT_BASE_STEP_S << k);
        w->step[k / 2][k % 2] = step;
        if (k < MKT_OCTAVES) {
            w->octave[k] = mkt_mix(root ^ (uint64_t)k);
            w->amp[k / 2][k % 2] = MKT_SIGMA_PER_SQRT_S * sqrt(step) * 0x1p-52;
        }
    }
}

/* The low (high 0) or high (1) two lanes of v as doubles. */
static inline mkt_v2d mkt_half_to_double(mkt_v4i v, int high)
{
#ifdef __SSE2__
    /* One conversion of the half moved down: gcc converts a high half lane
     * by lane (eleven instructions instead of two). */
    __m128i x = (__m128i)v;
    return (mkt_v2d)_mm_cvtepi32_pd(high ? _mm_unpackhi_epi64(x, x) : x);
#else
    return high ? __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), mkt_v2d)
                : __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), mkt_v2d);
#endif
}

/* floor(t / (5 * 2^k)) is floor(t / 5) >> k (gcc shifts signed values
 * arithmetically, which floors), so t minus that interval's start is
 * t - 5 * floor(t / 5) plus 5 times the low k bits of floor(t / 5): below
 * 5 * 2^21, four octaves' worth in one int32 vector. The sum is the one of
 * amp * (a + (b - a) * frac) over the octaves in order that the walk
 * always was. */
static double mkt_log_offset(mkt_walk_t *w, int64_t t_s)
{
    int64_t base = mkt_floor_div(t_s, MKT_BASE_STEP_S);
    int moved = 0;
    if (base != w->base) { /* from INT64_MIN, far below any t's base, all of them */
        int top = 64 - __builtin_clzll((uint64_t)(base ^ w->base));
        moved = top < MKT_OCTAVES ? top : MKT_OCTAVES;
    }
    for (int k = 0; k < moved; k++) {
        int64_t i = base >> k;
        double a = i == (w->base >> k) + 1
                       ? w->b[k] /* the next interval starts where the last one ended */
                       : mkt_point(mkt_mix(w->octave[k] ^ (uint64_t)i));
        double b = mkt_point(mkt_mix(w->octave[k] ^ (uint64_t)(i + 1)));
        w->b[k] = b;
        ((double *)w->a)[k] = a;
        ((double *)w->d)[k] = b - a;
    }
    w->base = base;
    static const mkt_v4i low_bits[(MKT_PAIRS + 1) / 2] = {
        {0, 1, 3, 7},
        {15, 31, 63, 127},
        {255, 511, 1023, 2047},
        {4095, 8191, 16383, 32767},
        {65535, 131071, 262143, 524287},
        {1048575, 2097151, 4194303, 8388607},
    };
    int32_t r0 = (int32_t)(t_s - base * MKT_BASE_STEP_S);
    mkt_v4i base4 = (mkt_v4i){0, 0, 0, 0} + (int32_t)base; /* the low bits are all used */
    double sum = 0.0;
#pragma GCC unroll 11 /* constant offsets */
    for (int p = 0; p < MKT_PAIRS; p++) {
        mkt_v4i m = base4 & low_bits[p / 2];
        mkt_v4i r4 = (m << 2) + m + r0;
        mkt_v2d frac = mkt_half_to_double(r4, p % 2) / w->step[p];
        mkt_v2d t = w->amp[p] * (w->a[p] + w->d[p] * frac);
        sum += t[0];
        if (2 * p + 1 < MKT_OCTAVES)
            sum += t[1];
    }
    return sum;
}

/* round(x), halves away from zero, bit for bit, without a call into libm
 * (a year rounds some 120,000 prices): below 2^52 the whole part fits an
 * int64 and x minus it is exactly the fraction; copysign keeps round's
 * -0.0 for -0.5 < x <= -0.0. From 2^52 on x is whole (or inf, NaN), and
 * round itself answers. */
static inline double mkt_round(double x)
{
    if (!(fabs(x) < 0x1p52))
        return round(x);
    double whole = (double)(int64_t)x;
    double frac = x - whole;
    if (frac >= 0.5)
        whole += 1.0;
    else if (frac <= -0.5)
        whole -= 1.0;
    return copysign(whole, x);
}

/* start_price and scale: mkt_start_price and mkt_tick_scale of the key. */
static double mkt_price_on(mkt_walk_t *w, double start_price, double scale, int64_t t_s)
{
    double raw = start_price * exp(mkt_log_offset(w, t_s));
    return mkt_round(raw * scale) / scale;
}

double gw_mkt_price(const gw_market_t *m, const char *key, int64_t t_s)
{
    mkt_walk_t w;
    mkt_walk_init(&w, m->cfg->market_seed, mkt_fnv(key));
    return mkt_price_on(&w, mkt_start_price(m, key), mkt_tick_scale(m, key), t_s);
}

/* ---- request parsing --------------------------------------------------- */

static int mkt_fail(char *err, size_t errlen, const char *what, const char *text)
{
    if (err)
        snprintf(err, errlen, "%s \"%s\"", what, text);
    return IO_ERR_INVAL;
}

static int mkt_zone_is_utc(const char *zone)
{
    return strcmp(zone, "UTC") == 0 || strcmp(zone, "GMT") == 0 || strcmp(zone, "Etc/UTC") == 0;
}

static int mkt_zone_is_ny(const char *zone)
{
    return zone[0] == '\0' || strcmp(zone, "US/Eastern") == 0 ||
           strcmp(zone, "America/New_York") == 0 || strcmp(zone, "EST") == 0 ||
           strcmp(zone, "EDT") == 0;
}

static int mkt_parse_end(const char *text, int64_t now_s, int64_t *out)
{
    int y, mo, d, h, mi, s, n = 0;
    char sep;
    if (text[0] == '\0') {
        *out = now_s;
        return 0;
    }
    if (sscanf(text, "%4d%2d%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &n) != 7 ||
        (sep != ' ' && sep != '-') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || s > 59 || y < 1970 || h < 0 || mi < 0 || s < 0)
        return IO_ERR_INVAL;
    const char *zone = text + n;
    while (*zone == ' ')
        zone++;
    if (sep == '-' && zone[0] == '\0') {
        *out = (ny_days_from_civil(y, mo, d) * MKT_DAY_S) + h * 3600 + mi * 60 + s;
        return 0;
    }
    if (sep == ' ' && mkt_zone_is_utc(zone)) {
        *out = (ny_days_from_civil(y, mo, d) * MKT_DAY_S) + h * 3600 + mi * 60 + s;
        return 0;
    }
    if (sep == ' ' && mkt_zone_is_ny(zone)) {
        *out = ny_to_utc(y, mo, d, h, mi, s);
        return 0;
    }
    return IO_ERR_INVAL;
}

/* The bar sizes a Gateway accepts, in seconds. */
static int mkt_parse_bar_size(const char *text, int *bar_s)
{
    static const struct {
        const char *text;
        int seconds;
    } sizes[] = {
        {"1 secs", 1},      {"5 secs", 5},      {"10 secs", 10},    {"15 secs", 15},
        {"30 secs", 30},    {"1 min", 60},      {"2 mins", 120},    {"3 mins", 180},
        {"5 mins", 300},    {"10 mins", 600},   {"15 mins", 900},   {"20 mins", 1200},
        {"30 mins", 1800},  {"1 hour", 3600},   {"2 hours", 7200},  {"3 hours", 10800},
        {"4 hours", 14400}, {"8 hours", 28800}, {"1 day", MKT_DAY_S},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* The first byte first: every request looks its size up. */
        if (text[0] == sizes[i].text[0] && strcmp(text, sizes[i].text) == 0) {
            *bar_s = sizes[i].seconds;
            return 0;
        }
    }
    return IO_ERR_INVAL;
}

/* "<1 to 9 digits> <S|D|W|M|Y>", the form every client writes, read as
 * sscanf would; 0 if the text has any other form. */
static int mkt_duration_plain(const char *text, int *count, char *unit)
{
    int v = 0, i = 0;
    for (; i < 9 && text[i] >= '0' && text[i] <= '9'; i++)
        v = v * 10 + (text[i] - '0');
    if (i == 0 || text[i] != ' ' || text[i + 1] == '\0' || !strchr("SDWMY", text[i + 1]) ||
        text[i + 2] != '\0')
        return 0;
    *count = v;
    *unit = text[i + 1];
    return 1;
}

static int mkt_parse_duration(const char *text, int *n, char *unit)
{
    int count = 0, len = 0;
    char u = 0;
    if (!mkt_duration_plain(text, &count, &u) &&
        (sscanf(text, "%9d %c%n", &count, &u, &len) != 2 || text[len] != '\0'))
        return IO_ERR_INVAL;
    if (count < 1 || strchr("SDWMY", u) == NULL)
        return IO_ERR_INVAL;
    *n = count;
    *unit = u;
    return 0;
}

static int mkt_parse_what(const char *text, enum gw_mkt_what *what)
{
    static const char *const names[] = {"TRADES", "MIDPOINT", "BID", "ASK"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i]) == 0) {
            *what = (enum gw_mkt_what)i;
            return 0;
        }
    }
    return IO_ERR_INVAL;
}

int gw_mkt_parse_query(const char *end, const char *bar_size, const char *duration,
                       const char *what, int use_rth, int64_t now_s, gw_mkt_query_t *q,
                       char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->use_rth = use_rth != 0;
    if (mkt_parse_end(end, now_s, &q->end_s) < 0)
        return mkt_fail(err, errlen, "bad end date/time", end);
    if (mkt_parse_bar_size(bar_size, &q->bar_s) < 0)
        return mkt_fail(err, errlen, "bad bar size", bar_size);
    if (mkt_parse_duration(duration, &q->dur_n, &q->dur_unit) < 0)
        return mkt_fail(err, errlen, "bad duration", duration);
    if (mkt_parse_what(what, &q->what) < 0)
        return mkt_fail(err, errlen, "unsupported whatToShow", what);
    return 0;
}

/* ---- sessions and spans ------------------------------------------------ */

static int mkt_weekday(int64_t days)
{
    return (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
}

/* Counted in days and seconds, never through the civil date: a request
 * walks several days and each asks for two wall times. */
static int64_t mkt_ny_days(int64_t t_s)
{
    return mkt_floor_div(ny_local_from_utc(t_s), MKT_DAY_S);
}

static int64_t mkt_ny_at(int64_t days, int minute)
{
    return ny_utc_from_local(days * MKT_DAY_S + minute * 60);
}

static int mkt_is_trading_day(int64_t days)
{
    int wd = mkt_weekday(days);
    return wd != 0 && wd != 6;
}

/* The span's start. "N S" is N seconds back; with useRTH the day units
 * count trading sessions (a week is 5, a month 21, a year 252), else they
 * are calendar spans (1, 7, 30, 365 days). */
static int mkt_span_start(const gw_mkt_query_t *q, int64_t *start_s, char *err, size_t errlen)
{
    static const char units[] = "DWMY";
    static const int calendar_days[] = {1, 7, 30, 365};
    static const int trading_days[] = {1, 5, 21, 252};
    if (q->dur_unit == 'S') {
        *start_s = q->end_s - q->dur_n;
        return 0;
    }
    size_t u = (size_t)(strchr(units, q->dur_unit) - units);
    int64_t days = (int64_t)q->dur_n * (q->use_rth ? trading_days[u] : calendar_days[u]);
    if (days > MKT_SPAN_DAYS_MAX) {
        if (err)
            snprintf(err, errlen, "duration %d %c is too long", q->dur_n, q->dur_unit);
        return IO_ERR_INVAL;
    }
    if (!q->use_rth) {
        *start_s = q->end_s - days * MKT_DAY_S;
        return 0;
    }
    int64_t day = mkt_ny_days(q->end_s);
    int64_t found = 0;
    *start_s = q->end_s;
    for (; found < days; day--) {
        int64_t open = mkt_ny_at(day, MKT_RTH_OPEN_MIN);
        if (mkt_is_trading_day(day) && open < q->end_s) {
            *start_s = open;
            found++;
        }
    }
    return 0;
}

/* ---- bars -------------------------------------------------------------- */

typedef struct mkt_bars {
    gw_mkt_bar_t *v;
    size_t n, cap;
} mkt_bars_t;

/* What every bar of one request shares, found once per request rather
 * than per bar: a year of polling asks for a quarter of a million bars. */
typedef struct mkt_series {
    const gw_market_t *m;
    const gw_mkt_query_t *q;
    int daily;                      /* whole sessions (the bar size is a day) */
    uint64_t sym;                   /* mkt_fnv(key) */
    char key[MKT_KEY_MAX];          /* NUL-padded; "" if too long to cache (or "") */
    double start_price;
    double scale;                   /* mkt_tick_scale */
    mkt_run_t *run;                 /* the cache's, or NULL (a key too long, no memory) */
    size_t at;                      /* the first kept bar not passed yet */
    mkt_walk_t *walk;               /* the cache's, found by the first bar built */
} mkt_series_t;

static void mkt_series_init(mkt_series_t *sr, const gw_market_t *m, const char *key,
                            const gw_mkt_query_t *q)
{
    sr->m = m;
    sr->q = q;
    sr->daily = q->bar_s >= MKT_DAY_S;
    sr->sym = mkt_fnv(key);
    memset(sr->key, 0, sizeof sr->key);
    if (strlen(key) < sizeof sr->key)
        strcpy(sr->key, key);
    sr->start_price = mkt_start_price(m, key);
    sr->scale = mkt_tick_scale(m, key);
    sr->run = NULL;
    sr->at = 0;
    sr->walk = NULL;
}

/* The symbol's walk from the cache, set up there if it is not kept. */
static mkt_walk_t *mkt_series_walk(mkt_series_t *sr)
{
    mkt_cache_t *cache = sr->m->cache;
    uint64_t seed = sr->m->cfg->market_seed;
    for (int i = 0; i < MKT_WALKS; i++)
        if (cache->walk[i].ready && cache->walk[i].sym == sr->sym && cache->walk[i].seed == seed)
            return &cache->walk[i].walk;
    struct mkt_walk_slot *slot = &cache->walk[cache->next_walk++ % MKT_WALKS];
    mkt_walk_init(&slot->walk, seed, sr->sym);
    slot->seed = seed;
    slot->sym = sr->sym;
    slot->ready = 1;
    return &slot->walk;
}

/* fmax and fmin of prices, one instruction each instead of a call: a
 * price is never NaN or -0.0 (a positive start times exp, rounded), where
 * alone these would differ from fmax and fmin. */
static inline double mkt_max(double a, double b)
{
    return b > a ? b : a;
}

static inline double mkt_min(double a, double b)
{
    return b < a ? b : a;
}

static void mkt_make_bar(mkt_series_t *sr, int64_t start, int64_t len, gw_mkt_bar_t *b)
{
    const gw_mkt_query_t *q = sr->q;
    int samples = len < MKT_SAMPLES_MAX ? (int)len : MKT_SAMPLES_MAX;
    double scale = sr->scale, shift = 0.0;
    if (q->what == GW_MKT_BID)
        shift = -(1.0 / scale);
    else if (q->what == GW_MKT_ASK)
        shift = 1.0 / scale;
    if (!sr->walk)
        sr->walk = mkt_series_walk(sr);
    mkt_walk_t *w = sr->walk;
    b->start_s = start;
    b->daily = sr->daily;
    b->serial = ++sr->m->cache->serial;
    /* In time order, so the walk's slower octaves move on at most once per
     * point (high and low are the same whatever the order). */
    b->open = mkt_price_on(w, sr->start_price, scale, start);
    b->high = b->low = b->open;
    for (int i = 1; i < samples; i++) {
        double p = mkt_price_on(w, sr->start_price, scale, start + (len - 1) * i / samples);
        b->high = mkt_max(b->high, p);
        b->low = mkt_min(b->low, p);
    }
    b->close = mkt_price_on(w, sr->start_price, scale, start + len - 1);
    b->high = mkt_max(b->high, b->close);
    b->low = mkt_min(b->low, b->close);
    b->open = mkt_round((b->open + shift) * scale) / scale;
    b->high = mkt_round((b->high + shift) * scale) / scale;
    b->low = mkt_round((b->low + shift) * scale) / scale;
    b->close = mkt_round((b->close + shift) * scale) / scale;
    b->volume = b->wap = -1;
    b->count = -1;
    if (q->what == GW_MKT_TRADES) {
        uint64_t h = mkt_hash(sr->m->cfg->market_seed, sr->sym, 0xba5, (uint64_t)start);
        b->count = (int)(1 + h % 40) * (int)(1 + len / 60);
        b->volume = (double)b->count * 100;
        b->wap = mkt_round((b->high + b->low + b->close) / 3.0 * scale) / scale;
    }
}

/* The series' run from the cache, or the least recently used one emptied
 * for it; NULL for a key too long to keep (every bar is then built). */
static mkt_run_t *mkt_series_run(const mkt_series_t *sr)
{
    if (sr->key[0] == '\0')
        return NULL;
    mkt_cache_t *cache = sr->m->cache;
    uint64_t seed = sr->m->cfg->market_seed;
    mkt_run_t *run = NULL, *victim = &cache->run[0];
    for (int i = 0; i < MKT_RUNS && !run; i++) {
        mkt_run_t *r = &cache->run[i];
        if (r->seed == seed && r->what == sr->q->what && r->daily == sr->daily &&
            r->start_price == sr->start_price &&
            memcmp(r->key, sr->key, sizeof r->key) == 0)
            run = r;
        else if (r->used < victim->used)
            victim = r;
    }
    if (!run) {
        run = victim;
        memcpy(run->key, sr->key, sizeof run->key);
        run->seed = seed;
        run->what = sr->q->what;
        run->daily = sr->daily;
        run->start_price = sr->start_price;
        run->n = 0;
    }
    run->used = ++cache->clock;
    return run;
}

/* Room for n bars in run's lists; 0, or IO_ERR_NOMEM. */
static int mkt_run_reserve(mkt_run_t *run, size_t n)
{
    if (n <= run->cap)
        return 0;
    gw_mkt_bar_t *bar = realloc(run->bar, n * sizeof *bar);
    if (bar)
        run->bar = bar;
    int64_t *len = bar ? realloc(run->len, n * sizeof *len) : NULL;
    if (len)
        run->len = len;
    int64_t *next_len = len ? realloc(run->next_len, n * sizeof *next_len) : NULL;
    if (!next_len)
        return IO_ERR_NOMEM;
    run->next_len = next_len;
    run->cap = n;
    return 0;
}

/* The bar kept from the series' last answer, or built. Bars come in time
 * order, so the kept ones before it are passed for good. i: the bar's
 * place in this answer. */
static inline void mkt_run_bar(mkt_series_t *sr, size_t i, int64_t start, int64_t len,
                               gw_mkt_bar_t *b)
{
    mkt_run_t *run = sr->run;
    if (!run) {
        mkt_make_bar(sr, start, len, b);
        return;
    }
    while (sr->at < run->n && run->bar[sr->at].start_s < start)
        sr->at++;
    if (sr->at < run->n && run->bar[sr->at].start_s == start && run->len[sr->at] == len)
        *b = run->bar[sr->at];
    else
        mkt_make_bar(sr, start, len, b);
    run->next_len[i] = len;
}

/* Inline in both loops: a year of polling pushes a quarter of a million
 * bars, nearly all of them kept ones. */
__attribute__((always_inline)) static inline int mkt_push(mkt_series_t *sr, mkt_bars_t *bars,
                                                           int64_t start, int64_t len, char *err,
                                                           size_t errlen)
{
    if (bars->n == GW_MKT_BARS_MAX) {
        if (err)
            snprintf(err, errlen, "more than %d bars requested", GW_MKT_BARS_MAX);
        return IO_ERR_INVAL;
    }
    if (bars->n == bars->cap) {
        size_t cap = bars->cap ? bars->cap * 2 : 64;
        gw_mkt_bar_t *v = realloc(bars->v, cap * sizeof *v);
        if (!v)
            return IO_ERR_NOMEM;
        bars->v = v;
        bars->cap = cap;
        /* No room to keep this answer: its bars are built, the run forgotten. */
        if (sr->run && mkt_run_reserve(sr->run, cap) < 0) {
            sr->run->n = 0;
            sr->run = NULL;
        }
    }
    mkt_run_bar(sr, bars->n, start, len, &bars->v[bars->n]);
    bars->n++;
    return 0;
}

/* Regular sessions between start and end: daily bars, or intraday bars
 * counted from each session's open and cut at its close. */
static int mkt_session_bars(mkt_series_t *sr, int64_t start, mkt_bars_t *bars, char *err,
                            size_t errlen)
{
    const gw_mkt_query_t *q = sr->q;
    int rc = 0;
    int64_t last_day = mkt_ny_days(q->end_s);
    for (int64_t day = mkt_ny_days(start); rc == 0 && day <= last_day; day++) {
        if (!mkt_is_trading_day(day))
            continue;
        int64_t open = mkt_ny_at(day, MKT_RTH_OPEN_MIN);
        int64_t close = mkt_ny_at(day, MKT_RTH_CLOSE_MIN);
        if (sr->daily) {
            if (open >= start && open < q->end_s)
                rc = mkt_push(sr, bars, open, close - open, err, errlen);
            continue;
        }
        for (int64_t t = open; rc == 0 && t < close && t < q->end_s; t += q->bar_s) {
            int64_t len = close - t < q->bar_s ? close - t : q->bar_s;
            if (t >= start)
                rc = mkt_push(sr, bars, t, len, err, errlen);
        }
    }
    return rc;
}

static int mkt_clock_bars(mkt_series_t *sr, int64_t start, mkt_bars_t *bars, char *err,
                          size_t errlen)
{
    const gw_mkt_query_t *q = sr->q;
    int rc = 0;
    int64_t first = -mkt_floor_div(-start, q->bar_s) * q->bar_s; /* start rounded up */
    if ((q->end_s - first) / q->bar_s >= GW_MKT_BARS_MAX) {
        if (err)
            snprintf(err, errlen, "more than %d bars requested", GW_MKT_BARS_MAX);
        return IO_ERR_INVAL;
    }
    for (int64_t t = first; rc == 0 && t < q->end_s; t += q->bar_s)
        rc = mkt_push(sr, bars, t, q->bar_s, err, errlen);
    return rc;
}

/* Intraday bars without useRTH run around the clock; daily bars and useRTH
 * follow the sessions (so daily is 0 around the clock). */
int gw_mkt_bars(const gw_market_t *m, const char *key, const gw_mkt_query_t *q,
                gw_mkt_bar_t **out, size_t *n, int64_t *start_s, char *err, size_t errlen)
{
    mkt_bars_t bars = {NULL, 0, 0};
    mkt_series_t sr;
    *out = NULL;
    *n = 0;
    mkt_series_init(&sr, m, key, q);
    sr.run = mkt_series_run(&sr);
    int rc = mkt_span_start(q, start_s, err, errlen);
    if (rc == 0 && (q->use_rth || sr.daily))
        rc = mkt_session_bars(&sr, *start_s, &bars, err, errlen);
    else if (rc == 0)
        rc = mkt_clock_bars(&sr, *start_s, &bars, err, errlen);
    if (rc < 0) {
        free(bars.v);
        if (rc == IO_ERR_NOMEM && err)
            snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (sr.run) { /* this answer's bars are the ones kept now */
        int64_t *len = sr.run->len;
        sr.run->len = sr.run->next_len;
        sr.run->next_len = len;
        if (bars.n)
            memcpy(sr.run->bar, bars.v, bars.n * sizeof *bars.v);
        sr.run->n = bars.n;
    }
    *out = bars.v;
    *n = bars.n;
    return 0;
}

/* Writes v (0 <= v < 100) as two digits; returns the end. */
static char *mkt_two_digits(char *p, int v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    memcpy(p, pairs + 2 * v, 2);
    return p + 2;
}

/* "yyyyMMdd HH:mm:ss US/Eastern" without printf, which costs ten times as
 * much (every bar of every answer has one), two digits at a time; 0 when
 * the year has other than four digits and printf must do it. */
static int mkt_format_ny(const ny_civil_t *c, char buf[40])
{
    static const char zone[] = " US/Eastern";
    if (c->year < 1000 || c->year > 9999)
        return 0;
    char *p = mkt_two_digits(buf, c->year / 100);
    p = mkt_two_digits(p, c->year % 100);
    p = mkt_two_digits(p, c->month);
    p = mkt_two_digits(p, c->day);
    *p++ = ' ';
    p = mkt_two_digits(p, c->hour);
    *p++ = ':';
    p = mkt_two_digits(p, c->minute);
    *p++ = ':';
    p = mkt_two_digits(p, c->second);
    memcpy(p, zone, sizeof zone);
    return 1;
}

void gw_mkt_format_date(int64_t t_s, int daily, int format_date, char buf[40])
{
    ny_civil_t c;
    ny_from_utc(t_s, &c);
    if (!daily && format_date != 2 && mkt_format_ny(&c, buf))
        return;
    if (daily)
        snprintf(buf, 40, "%04d%02d%02d", c.year, c.month, c.day);
    else if (format_date == 2)
        snprintf(buf, 40, "%lld", (long long)t_s);
    else
        snprintf(buf, 40, "%04d%02d%02d %02d:%02d:%02d US/Eastern", c.year, c.month, c.day,
                 c.hour, c.minute, c.second);
}
