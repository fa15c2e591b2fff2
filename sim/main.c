/* main.c - the sim command line: expands FILE|DIR arguments into scenario
 * files, loads each, plans the (scenario, seed) runs of this shard, runs
 * them (workers.c, in this process or across worker processes), writes
 * the reports, and shrinks the first failure on request. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "scenario.h"
#include "schedule.h"
#include "shrink.h"
#include "workers.h"

#define SIM_EXIT_PASS 0
#define SIM_EXIT_USAGE RP_ERROR

static const char sim_usage[] =
    "usage: sim [options] FILE|DIR...\n"
    "Plays each scenario (a DIR means every *.json in it, sorted by name) on a\n"
    "virtual clock and checks its expectations, the invariants and liveness.\n"
    "\n"
    "  --seed N        use seed N instead of each scenario's own\n"
    "  --seeds N       run each scenario under N seeds: its seed (or --seed) + 0..N-1\n"
    "  --jobs N        worker processes (default: the number of cores)\n"
    "  --shard K/N     run only every N-th (scenario, seed) run, starting at the K-th\n"
    "  --trace FILE    write the JSON-lines trace to FILE (exactly one run)\n"
    "  --json          the report as one JSON document\n"
    "  --tap           the report as TAP 13\n"
    "  --junit FILE    also write a JUnit XML report to FILE\n"
    "  --shrink FILE   shrink the first failing run and write the minimal scenario to FILE\n"
    "  -v              print the runner and gateway log lines to stderr\n"
    "  --help          this text\n"
    "\n"
    "exit: 0 all passed, 1 a check failed, 2 a scenario could not be loaded or run\n"
    "(or bad arguments), 3 an invariant was violated, 4 liveness was violated\n";

enum sim_format { SIM_TEXT, SIM_JSON, SIM_TAP };

typedef struct sim_args {
    int override_seed;
    uint64_t seed;
    uint64_t seeds;
    long jobs;
    uint64_t shard_k, shard_n;
    int verbose;
    enum sim_format format;
    const char *trace_path, *junit_path, *shrink_path;
    char **files; /* owned */
    size_t nfiles, cap;
} sim_args_t;

/* Everything a sweep holds, freed in one place (also by a worker). */
typedef struct sim_sweep {
    sc_scenario_t **scenarios; /* NULL where the file did not load */
    rp_run_t *load_errors;     /* one per file; code RP_ERROR where it did not load */
    wk_item_t *items;
    size_t nitems;
    rp_run_t *runs;            /* the items' results, then merged with load errors */
    size_t nruns;
} sim_sweep_t;

static int sim_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(sim --help for usage)\n");
    return SIM_EXIT_USAGE;
}

static int sim_add_file(sim_args_t *a, const char *path)
{
    if (a->nfiles == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **f = realloc(a->files, cap * sizeof *f);
        if (!f)
            return -1;
        a->files = f;
        a->cap = cap;
    }
    a->files[a->nfiles] = strdup(path);
    if (!a->files[a->nfiles])
        return -1;
    a->nfiles++;
    return 0;
}

static int sim_cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Adds every *.json in dir, sorted by name. */
static int sim_add_dir(sim_args_t *a, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "sim: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t first = a->nfiles, dlen = strlen(dir);
    int rc = 0;
    for (struct dirent *e = readdir(d); e && rc == 0; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char *path = malloc(dlen + n + 2);
        if (!path) {
            rc = -1;
            break;
        }
        snprintf(path, dlen + n + 2, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/",
                 e->d_name);
        rc = sim_add_file(a, path);
        free(path);
    }
    closedir(d);
    if (rc < 0) {
        fprintf(stderr, "sim: out of memory\n");
        return -1;
    }
    if (a->nfiles == first) {
        fprintf(stderr, "sim: %s: no *.json scenario files in it\n", dir);
        return -1;
    }
    qsort(a->files + first, a->nfiles - first, sizeof *a->files, sim_cmp_names);
    return 0;
}

static int sim_parse_u64(const char *text, uint64_t *out)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* "K/N" with 1 <= K <= N. */
static int sim_parse_shard(const char *text, sim_args_t *a)
{
    char k[24];
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= sizeof k)
        return -1;
    memcpy(k, text, (size_t)(slash - text));
    k[slash - text] = '\0';
    if (sim_parse_u64(k, &a->shard_k) < 0 || sim_parse_u64(slash + 1, &a->shard_n) < 0)
        return -1;
    return a->shard_k >= 1 && a->shard_k <= a->shard_n ? 0 : -1;
}

/* An option with a value; returns -1 to go on, or the exit code. */
static int sim_option(sim_args_t *a, const char *opt, const char *v)
{
    uint64_t n;
    if (strcmp(opt, "--trace") == 0) {
        a->trace_path = v;
    } else if (strcmp(opt, "--junit") == 0) {
        a->junit_path = v;
    } else if (strcmp(opt, "--shrink") == 0) {
        a->shrink_path = v;
    } else if (strcmp(opt, "--shard") == 0) {
        if (sim_parse_shard(v, a) < 0)
            return sim_usage_error("--shard wants K/N with 1 <= K <= N, got \"%s\"", v);
    } else if (sim_parse_u64(v, &n) < 0) {
        return sim_usage_error("this option wants a non-negative integer, got \"%s\"", v);
    } else if (strcmp(opt, "--seed") == 0) {
        a->override_seed = 1;
        a->seed = n;
    } else if (n < 1 || n > 1000000) {
        return sim_usage_error("%s wants a number from 1 to 1000000", opt);
    } else if (strcmp(opt, "--seeds") == 0) {
        a->seeds = n;
    } else {
        a->jobs = (long)n;
    }
    return -1;
}

static int sim_is_valued(const char *s)
{
    static const char *const opts[] = {"--seed",  "--seeds", "--jobs",   "--shard",
                                       "--trace", "--junit", "--shrink", NULL};
    for (size_t i = 0; opts[i]; i++)
        if (strcmp(s, opts[i]) == 0)
            return 1;
    return 0;
}

static int sim_check_args(const sim_args_t *a)
{
    if (a->nfiles == 0)
        return sim_usage_error("%s", "no scenario given");
    if (a->trace_path && (a->nfiles != 1 || a->seeds != 1))
        return sim_usage_error("%s", "--trace needs exactly one scenario and one seed");
    return -1;
}

/* Fills a from argv. Returns -1 to go on, or the exit code (--help: 0). */
static int sim_parse_args(int argc, char **argv, sim_args_t *a)
{
    int only_paths = 0, rc;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        struct stat st;
        if (!only_paths && strcmp(s, "--help") == 0) {
            fputs(sim_usage, stdout);
            return SIM_EXIT_PASS;
        } else if (!only_paths && strcmp(s, "-v") == 0) {
            a->verbose = 1;
        } else if (!only_paths && (strcmp(s, "--json") == 0 || strcmp(s, "--tap") == 0)) {
            if (a->format != SIM_TEXT)
                return sim_usage_error("%s", "--json and --tap exclude each other");
            a->format = s[2] == 'j' ? SIM_JSON : SIM_TAP;
        } else if (!only_paths && strcmp(s, "--") == 0) {
            only_paths = 1;
        } else if (!only_paths && sim_is_valued(s)) {
            if (i + 1 == argc)
                return sim_usage_error("%s needs a value", s);
            if ((rc = sim_option(a, s, argv[++i])) >= 0)
                return rc;
        } else if (!only_paths && s[0] == '-') {
            return sim_usage_error("unknown option %s", s);
        } else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (sim_add_dir(a, s) < 0)
                return SIM_EXIT_USAGE;
        } else if (sim_add_file(a, s) < 0) {
            fprintf(stderr, "sim: out of memory\n");
            return SIM_EXIT_USAGE;
        }
    }
    return sim_check_args(a);
}

/* Loads every file and lists this shard's (scenario, seed) runs: run k
 * of the whole sweep, counted over files then seeds, is this shard's when
 * k mod N = K - 1. */
static int sim_plan(const sim_args_t *a, sim_sweep_t *s)
{
    s->scenarios = calloc(a->nfiles, sizeof *s->scenarios);
    s->load_errors = calloc(a->nfiles, sizeof *s->load_errors);
    s->items = calloc(a->nfiles * a->seeds / a->shard_n + a->nfiles + 1, sizeof *s->items);
    if (!s->scenarios || !s->load_errors || !s->items)
        return IO_ERR_NOMEM;
    uint64_t k = 0;
    for (size_t f = 0; f < a->nfiles; f++) {
        char err[512];
        if (sc_load_file(a->files[f], &s->scenarios[f], err, sizeof err) < 0) {
            if (rp_from_error(&s->load_errors[f], a->files[f], 0, 0, err) < 0)
                return IO_ERR_NOMEM;
            continue;
        }
        uint64_t base = a->override_seed ? a->seed : s->scenarios[f]->seed;
        for (uint64_t i = 0; i < a->seeds; i++, k++)
            if (k % a->shard_n == a->shard_k - 1)
                s->items[s->nitems++] = (wk_item_t){f, base + i};
    }
    return 0;
}

/* The report's runs: per file, its load error or its items' results. */
static int sim_merge(const sim_args_t *a, sim_sweep_t *s, rp_run_t *item_runs)
{
    rp_run_t *all = calloc(s->nitems + a->nfiles + 1, sizeof *all);
    if (!all)
        return IO_ERR_NOMEM;
    size_t n = 0, it = 0;
    for (size_t f = 0; f < a->nfiles; f++) {
        if (!s->scenarios[f]) {
            all[n++] = s->load_errors[f];
            memset(&s->load_errors[f], 0, sizeof s->load_errors[f]);
        }
        while (it < s->nitems && s->items[it].scenario == f)
            all[n++] = item_runs[it++];
    }
    s->runs = all;
    s->nruns = n;
    return 0;
}

/* --trace: the one run, in this process, its trace written. 0, 1 when
 * the trace could not be written, or IO_ERR_NOMEM. */
static int sim_run_traced(const sim_args_t *a, const wk_plan_t *plan, rp_run_t *runs)
{
    tr_recorder_t *trace = NULL;
    char err[512];
    if (wk_run_one(plan, 0, &runs[0], &trace) < 0)
        return IO_ERR_NOMEM;
    int bad = trace && tr_write(trace, a->trace_path, err, sizeof err) < 0;
    if (bad)
        fprintf(stderr, "sim: trace: %s\n", err);
    tr_free(trace);
    return bad;
}

static void sim_report(const sim_args_t *a, const sim_sweep_t *s)
{
    if (a->format == SIM_JSON)
        rp_json(stdout, s->runs, s->nruns);
    else if (a->format == SIM_TAP)
        rp_tap(stdout, s->runs, s->nruns);
    else
        rp_text(stdout, s->runs, s->nruns);
    fflush(stdout);
}

/* --shrink: the first failing run, shrunk and written; notes on stderr. */
static int sim_shrink(const sim_args_t *a, const sim_sweep_t *s, const wk_plan_t *plan)
{
    size_t i = 0;
    while (i < s->nruns && (s->runs[i].code == EN_PASS || s->runs[i].code == RP_ERROR))
        i++;
    if (i == s->nruns) {
        fprintf(stderr, "sim: shrink: no run failed; nothing to shrink\n");
        return 0;
    }
    /* A failing run is an item's: find it by file and seed. */
    size_t item = 0;
    while (item < s->nitems && !(plan->items[item].seed == s->runs[i].seed &&
                                 strcmp(plan->files[plan->items[item].scenario],
                                        s->runs[i].file) == 0))
        item++;
    const sc_scenario_t *sc = s->scenarios[plan->items[item].scenario];
    en_options_t opt = {1, s->runs[i].seed, a->verbose};
    sh_result_t r;
    char err[512];
    int rc = sh_shrink(sc, &opt, &r, err, sizeof err);
    if (rc == 0)
        rc = sd_write(sc, r.seed, r.events, r.nevents, a->shrink_path, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "sim: shrink: %s\n", err);
    } else {
        fprintf(stderr, "sim: shrink: %s seed %" PRIu64 " (%s): %zu events -> %zu in %zu runs;"
                " written to %s\n", sc->file, r.seed, en_outcome_name(r.outcome), r.from,
                r.nevents, r.runs, a->shrink_path);
    }
    sh_result_free(&r);
    return rc;
}

/* Plans, runs and reports; returns the exit code, or -1 in a worker. */
static int sim_sweep(const sim_args_t *a, sim_sweep_t *s, int *worker_status)
{
    char err[512];
    if (sim_plan(a, s) < 0) {
        fprintf(stderr, "sim: out of memory\n");
        return SIM_EXIT_USAGE;
    }
    wk_plan_t plan = {s->scenarios, (const char *const *)a->files, s->items, s->nitems,
                      a->verbose};
    rp_run_t *item_runs = calloc(s->nitems + 1, sizeof *item_runs);
    int rc = item_runs ? 0 : IO_ERR_NOMEM, failed_io = 0;
    if (rc == 0 && a->trace_path && s->nitems == 1) {
        rc = sim_run_traced(a, &plan, item_runs);
        failed_io = rc > 0;
        rc = rc > 0 ? 0 : rc;
    } else if (rc == 0) {
        rc = wk_run(&plan, (int)a->jobs, item_runs, err, sizeof err);
    }
    if (rc >= WK_CHILD) {
        *worker_status = rc - WK_CHILD;
        free(item_runs);
        return -1;
    }
    if (rc < 0 || (rc == 0 && sim_merge(a, s, item_runs) < 0)) {
        fprintf(stderr, "sim: %s\n", rc == IO_ERR_NOMEM || rc == 0 ? "out of memory" : err);
        for (size_t i = 0; i < s->nitems && item_runs; i++)
            rp_clear(&item_runs[i]);
        free(item_runs);
        return SIM_EXIT_USAGE;
    }
    free(item_runs);
    sim_report(a, s);
    int code = rp_exit_code(s->runs, s->nruns);
    if (a->junit_path && rp_junit(a->junit_path, s->runs, s->nruns, err, sizeof err) < 0) {
        fprintf(stderr, "sim: junit: %s\n", err);
        failed_io = 1;
    }
    if (a->shrink_path && sim_shrink(a, s, &plan) < 0)
        failed_io = 1;
    return failed_io ? SIM_EXIT_USAGE : code;
}

static void sim_sweep_free(const sim_args_t *a, sim_sweep_t *s)
{
    for (size_t f = 0; f < a->nfiles && s->scenarios; f++) {
        sc_free(s->scenarios[f]);
        if (s->load_errors)
            rp_clear(&s->load_errors[f]);
    }
    for (size_t i = 0; i < s->nruns; i++)
        rp_clear(&s->runs[i]);
    free(s->runs);
    free(s->scenarios);
    free(s->load_errors);
    free(s->items);
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    sim_args_t a = {.seeds = 1, .jobs = cores > 0 ? cores : 1, .shard_k = 1, .shard_n = 1};
    sim_sweep_t s = {0};
    int worker_status = 0;
    int code = sim_parse_args(argc, argv, &a);
    en_keep_freed_memory();
    if (code < 0) {
        code = sim_sweep(&a, &s, &worker_status);
        if (code < 0)
            code = worker_status;
        sim_sweep_free(&a, &s);
    }
    for (size_t i = 0; i < a.nfiles; i++)
        free(a.files[i]);
    free(a.files);
    return code;
}
