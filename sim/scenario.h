/* scenario.h - loading one scenario file (JSON, read with cJSON) into a plain
 * struct, with every value validated. The contract is
 * docs/scenario-format.md; docs/scenarios.md says which part of it this build
 * implements. Every load error names the file and the JSON path
 * ("events[3].for") or, for a syntax error, the line and column; keys and
 * words the contract has but this build does not are refused as "not
 * supported by this build yet" instead of being ignored. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "../mockgw/gateway.h"
#include "../runner/runner.h"
#include "io_sim.h"

#define SC_WHERE_MAX 4

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
    SC_FAULT_KILL,  /* gw_kill every session */
    SC_FAULT_STALE, /* gw_set_stale on, and off again after for_us */
    SC_SIGNAL       /* io_sim_raise_signal */
};

typedef struct sc_event {
    io_us_t at_us; /* wall time */
    enum sc_action action;
    enum io_close_how how; /* kill */
    io_us_t for_us;        /* stale: how long; < 0 means until the end */
    enum io_signal sig;    /* signal */
} sc_event_t;

enum sc_check_kind { SC_CHECK_COUNT, SC_CHECK_NEVER, SC_CHECK_WITHIN, SC_CHECK_SEQUENCE,
                     SC_CHECK_EXIT };

enum sc_cmp { SC_CMP_EQ, SC_CMP_GE, SC_CMP_LE };

typedef struct sc_check {
    enum sc_check_kind kind;
    char *src;         /* only events from this source count; NULL: any */
    sc_pattern_t what; /* count, never: the kind; within: `after` */
    sc_pattern_t then; /* within: `expect` */
    sc_pattern_t *seq; /* sequence */
    size_t nseq;
    enum sc_cmp cmp;   /* count */
    int64_t n;
    int has_from, has_to; /* count, never: the window [from, to) in wall time */
    io_us_t from_us, to_us;
    io_us_t within_us; /* within */
    int exit_code;     /* exit */
} sc_check_t;

typedef struct sc_scenario {
    char *file;
    char *name;
    char *description; /* "" when absent */
    uint64_t seed;
    io_us_t start_us, end_us; /* wall time */
    rn_config_t runner;       /* on_exit is left for the engine */
    gw_config_t gateway;      /* accounts point into account_names */
    char *account_names[GW_ACCOUNTS_MAX];
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

#endif
