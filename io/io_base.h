/* io_base.h - what both io backends share: the seeded random source, log and
 * trace dispatch, and the one JSON-lines trace format.
 *
 * Each backend's struct io_loop starts with an io_base_t member named `base`,
 * so io_base.c can reach it from an io_loop_t pointer. Not for the cores:
 * only io/ and sim/io_sim.c include this header. */
#ifndef IO_BASE_H
#define IO_BASE_H

#include "io.h"

/* xoshiro256** seeded through splitmix64: io_random_* draw from the loop's
 * own stream, and io_sim keeps a second one for the network's choices. */
typedef struct io_rng {
    uint64_t s[4];
} io_rng_t;

void io_rng_seed(io_rng_t *rng, uint64_t seed);

static inline uint64_t io_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Inline: the simulated network draws once per write. */
static inline uint64_t io_rng_next(io_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = io_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = io_rotl(s[3], 45);
    return result;
}
/* Uniform in [0, span], unbiased (rejection sampling). */
uint64_t io_rng_upto(io_rng_t *rng, uint64_t span);

/* A span prepared once for many draws (the simulated network's jitter):
 * io_rng_upto_span gives the values, and consumes the draws, that
 * io_rng_upto gives for the same span, with the division by span + 1 done
 * as a multiply by a precomputed reciprocal (Granlund and Montgomery's
 * method, exact for every 64-bit draw): a 64-bit division costs tens of
 * cycles, and the network draws one per write. */
typedef struct io_rng_span {
    uint64_t span, n;      /* n = span + 1 */
    uint64_t reject_below; /* draws below it are drawn again */
    uint64_t magic;        /* the reciprocal's low 64 bits */
    unsigned shift;
    int add; /* the reciprocal needs 65 bits: the add-and-shift form */
} io_rng_span_t;

void io_rng_span_prepare(io_rng_span_t *sp, uint64_t span);

/* x % (span + 1), for any x. */
static inline uint64_t io_rng_span_mod(const io_rng_span_t *sp, uint64_t x)
{
    if (sp->span == UINT64_MAX)
        return x;
    if ((sp->n & sp->span) == 0)
        return x & sp->span;
    __extension__ uint64_t q = (uint64_t)(((unsigned __int128)sp->magic * x) >> 64);
    q = sp->add ? (((x - q) >> 1) + q) >> sp->shift : q >> sp->shift;
    return x - q * sp->n;
}

/* The draws after one below sp->reject_below, until one is not; out of
 * line, as it almost never runs and would cost its callers registers. */
uint64_t io_rng_redraw(io_rng_t *rng, const io_rng_span_t *sp);

static inline uint64_t io_rng_upto_span(io_rng_t *rng, const io_rng_span_t *sp)
{
    uint64_t x = io_rng_next(rng);
    if (__builtin_expect(x < sp->reject_below, 0))
        x = io_rng_redraw(rng, sp);
    return io_rng_span_mod(sp, x);
}

/* Writes a printf-formatted detail into a caller's err buffer (NULL ok).
 * The one helper of this header the scenario engine uses as well. */
void io_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The event names io_trace_named copied: open addressing over their
 * texts, each malloc'd once and kept until io_base_free. */
typedef struct io_names {
    char **slot;
    size_t cap, n; /* cap: a power of two, or 0 */
} io_names_t;

typedef struct io_base {
    io_rng_t rng;
    enum io_log_level log_level;
    io_log_sink log_sink;
    void *log_data;
    io_trace_sink trace_sink;
    void *trace_data;
    io_names_t names;
} io_base_t;

/* Seeds the random source (splitmix64 → xoshiro256**) and installs the
 * default log sink (io_base_stderr_sink at IO_LOG_INFO), no trace sink. */
void io_base_init(io_base_t *base, uint64_t seed);
/* Frees what the base allocated (the copied event names); the backends'
 * io_loop_free calls it. */
void io_base_free(io_base_t *base);

/* Writes "2025-12-10T14:25:00.000000Z" (27 chars + NUL) into buf. */
void io_format_wall(io_us_t wall_us, char buf[32]);

/* The log sink that writes "<time> <LEVEL> <src>: <text>\n" to stderr. */
void io_base_stderr_sink(void *data, io_us_t wall_us, enum io_log_level level,
                         const char *src, const char *text);

/* Formats one trace event as a JSON object on one line, with the fields in
 * this order: t, src, ev, then the event's fields as given. Strings are
 * JSON-escaped. Returns the length written (excluding NUL), truncating
 * safely to cap; a return >= cap means the line was cut. */
size_t io_trace_format_json(char *buf, size_t cap, io_us_t wall_us, const char *src,
                            const char *ev, size_t nfields, const io_trace_field_t *fields);

#endif
