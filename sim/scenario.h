/* scenario.h - loading one scenario file (JSON, read with cJSON) into a plain
 * struct, with every value validated (schedule.h turns its events into one
 * run's concrete schedule). The contract is
 * docs/scenario-format.md; docs/scenarios.md documents this build's format.
 * Every load error names the file and the JSON path ("events[3].for") or,
 * for a syntax error, the line and column; unknown keys and words are
 * errors, never ignored. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "../mockgw/faults.h"
#include "../mockgw/gateway.h"
#include "../runner/runner.h"
#include "io_sim.h"

#define SC_WHERE_MAX 4

/* The liveness bound when a scenario does not state one. */
#define SC_LIVENESS_DEFAULT_US (2 * 60 * IO_US_PER_S)

/* A field a pattern requires: the event's field key, written as text. */
typedef struct sc_where {
    char *key;
    char *value;
} sc_where_t;

/* What a check matches in the trace: an event kind ("disconnect"), optionally
 * narrowed by field values, written "disconnect[by=gateway,how=rst]". */
typedef struct sc_pattern {
    char *text; /* as written, for messages */
    char *ev;
    size_t nwhere;
    sc_where_t where[SC_WHERE_MAX];
} sc_pattern_t;

enum sc_action {
    SC_FAULT,  /* gw_fault_apply(fault) at at_us */
    SC_SIGNAL, /* io_sim_raise_signal(sig) at at_us */
    SC_RANDOM  /* faults drawn from the run's seed (sd_schedule) */
};

/* `random`: about per_day faults a day, of the given kinds, in [from, to). */
typedef struct sc_random {
    enum gw_fault_kind kinds[GW_FAULT_KIND_COUNT];
    size_t nkinds;
    double per_day;
    io_us_t for_min_us, for_max_us;
    io_us_t from_us, to_us; /* wall time */
} sc_random_t;

typedef struct sc_event {
    io_us_t at_us; /* wall time; SC_RANDOM: its from */
    enum sc_action action;
    gw_fault_t fault;   /* SC_FAULT */
    enum io_signal sig; /* SC_SIGNAL */
    sc_random_t random; /* SC_RANDOM */
} sc_event_t;

enum sc_check_kind { SC_CHECK_COUNT, SC_CHECK_NEVER, SC_CHECK_WITHIN, SC_CHECK_SEQUENCE,
                     SC_CHECK_EXIT, SC_CHECK_STATUS, SC_CHECK_CLEAN_SHUTDOWN };

enum sc_cmp { SC_CMP_EQ, SC_CMP_GE, SC_CMP_LE };

/* Phases a status check may except, as bits. */
enum sc_phase {
    SC_PHASE_CYCLE = 1u << 0,    /* from cycle_start to its cycle_end */
    SC_PHASE_RECONNECT = 1u << 1 /* from a disconnect to the next ready */
};

typedef struct sc_check {
    enum sc_check_kind kind;
    char *src;         /* only events from this source count; NULL: any */
    sc_pattern_t what; /* count, never: the kind; within: `after` */
    sc_pattern_t then; /* within: `expect` */
    sc_pattern_t *seq; /* sequence */
    size_t nseq;
    enum sc_cmp cmp;   /* count */
    int64_t n;
    int has_from, has_to; /* count, never, status: the window [from, to) in wall time */
    io_us_t from_us, to_us;
    io_us_t within_us; /* within */
    int exit_code;     /* exit */
    char *label;       /* status */
    unsigned except;   /* status: sc_phase bits */
} sc_check_t;

typedef struct sc_scenario {
    char *file;
    char *name;
    char *description; /* "" when absent */
    char *text;        /* the file's text, for sd_write */
    size_t textlen;
    uint64_t seed;
    io_us_t start_us, end_us; /* wall time */
    io_us_t liveness_us;      /* 0: no liveness phase */
    rn_config_t runner;       /* on_exit is left for the engine */
    gw_config_t gateway;      /* its strings are its own (gw_config_release) */
    int market_seed_fixed;    /* gateway.market_seed given; else the run's seed */
    char **strings;           /* copies the configs point into */
    size_t nstrings;
    io_sim_net_t net;
    sc_event_t *events;
    size_t nevents;
    sc_check_t *checks;
    size_t nchecks;
} sc_scenario_t;

/* Reads and validates path. 0 and *out (free with sc_free), or a negative
 * IO_ERR_* with "FILE: PATH: message" or "FILE:LINE:COL: message" in err. */
int sc_load_file(const char *path, sc_scenario_t **out, char *err, size_t errlen);

/* The same for text already in memory (len bytes); file names it in
 * messages and gives the default name. */
int sc_load_text(const char *file, const char *text, size_t len, sc_scenario_t **out, char *err,
                 size_t errlen);

/* NULL is a no-op. */
void sc_free(sc_scenario_t *sc);

/* Whether the fault kind takes that parameter ("for", "how", ...). */
int sc_fault_takes(enum gw_fault_kind kind, const char *param);

#endif
