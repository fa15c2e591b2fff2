/* tevlog.h - the trace record that test_runner, test_cycle and
 * test_runner_loop share.
 *
 * It owns the io_sim loop these suites run on and the record of its trace
 * events, in the global `tevlog` (a test binary runs one test at a time):
 * each kept event with its source, name, time and first fields, in the
 * order traced. Tests read it by key (tev_str, tev_num) or by position
 * among the string or integer fields (tev_str_at, tev_num_at), and step
 * the loop by a duration or to a time on the record's clock. tev_opts_t
 * carries what differs between the files. What only one test file needs
 * (its fixture struct, its peers, lookups over a time range) stays there. */
#ifndef TEVLOG_H
#define TEVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "../sim/io_sim.h"

#define TEV_FIELDS 6

typedef struct tev {
    io_us_t t; /* wall time less the record's origin */
    char src[16];
    char ev[32];
    size_t n;
    struct {
        char key[24];
        char str[192];
        int64_t num;
        int is_str;
    } f[TEV_FIELDS];
} tev_t;

/* Nonzero for an event worth keeping. */
typedef int (*tev_keep_fn)(const char *src, const char *ev);

/* How a test file's record differs from the others'. */
typedef struct tev_opts {
    uint64_t seed;    /* the io_sim loop's */
    io_us_t origin;   /* subtracted from wall times: 0 keeps them as they are */
    size_t max;       /* events kept at most, 0 for no limit; past it, overflow */
    tev_keep_fn keep; /* NULL keeps every event */
} tev_opts_t;

typedef struct tev_log {
    io_loop_t *loop;
    tev_opts_t opts;
    tev_t *ev;
    size_t n, cap;
    int overflow;
} tev_log_t;

extern tev_log_t tevlog;

/* A fresh io_sim loop whose wall clock reads start_wall_us at virtual time
 * 0, tracing into an empty record, its log lines dropped (tev_quiet_log). */
io_loop_t *tev_start(const tev_opts_t *opts, io_us_t start_wall_us);
/* Checks that nothing io-level was left on the loop and that a capped
 * record did not overflow, then frees the loop and the record. */
void tev_stop(void);

/* A log sink that drops every line, for loops the tests build themselves. */
void tev_quiet_log(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                   const char *text);

/* The nth (0-based) event of that kind from that source, or NULL. */
const tev_t *tev_find(const char *src, const char *ev, int nth);
/* The same from the runner, and how many the runner traced. */
const tev_t *tev_rev(const char *ev, int nth);
int tev_rcount(const char *ev);

/* A field by key: "<missing>" and INT64_MIN when e is NULL or lacks it. */
const char *tev_str(const tev_t *e, const char *key);
int64_t tev_num(const tev_t *e, const char *key);
/* The ith string field, or the ith integer field, in the order traced. */
const char *tev_str_at(const tev_t *e, int i);
int64_t tev_num_at(const tev_t *e, int i);

void tev_run_for(io_us_t dt);
/* Runs until time t on the record's clock (wall time less the origin). */
void tev_run_to(io_us_t t);

#endif
