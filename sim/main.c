/* main.c - the sim command line: expands FILE|DIR arguments into scenario
 * files, loads and runs each, prints one line per scenario and a total, and
 * optionally writes the JSON-lines trace of a single run. The only sim/
 * file besides io_sim.c that reads a real clock: the wall time each run
 * took, for the report. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../proto/duration.h"
#include "engine.h"
#include "scenario.h"

#define SIM_EXIT_PASS 0
#define SIM_EXIT_FAIL 1
#define SIM_EXIT_LOAD 2

static const char sim_usage[] =
    "usage: sim [options] FILE|DIR...\n"
    "Plays each scenario (a DIR means every *.json in it, sorted by name) on a\n"
    "virtual clock and checks its expectations.\n"
    "\n"
    "  --seed N      use seed N for every scenario instead of its own\n"
    "  --trace FILE  write the JSON-lines trace to FILE (exactly one scenario)\n"
    "  -v            print the runner and gateway log lines to stderr\n"
    "  --help        this text\n"
    "\n"
    "exit: 0 every check passed, 1 a check failed, 2 a scenario could not be\n"
    "loaded or run, or bad arguments\n";

typedef struct sim_args {
    en_options_t opt;
    const char *trace_path;
    char **files; /* owned */
    size_t nfiles, cap;
} sim_args_t;

static int sim_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(sim --help for usage)\n");
    return SIM_EXIT_LOAD;
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

static int sim_parse_seed(const char *text, uint64_t *out)
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

/* Fills a from argv. Returns -1 to go on, or the exit code (--help: 0). */
static int sim_parse_args(int argc, char **argv, sim_args_t *a)
{
    int only_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        struct stat st;
        if (!only_paths && strcmp(s, "--help") == 0) {
            fputs(sim_usage, stdout);
            return SIM_EXIT_PASS;
        } else if (!only_paths && strcmp(s, "-v") == 0) {
            a->opt.verbose = 1;
        } else if (!only_paths && strcmp(s, "--") == 0) {
            only_paths = 1;
        } else if (!only_paths && (strcmp(s, "--seed") == 0 || strcmp(s, "--trace") == 0)) {
            if (i + 1 == argc)
                return sim_usage_error("%s needs a value", s);
            const char *v = argv[++i];
            if (s[2] == 't') {
                a->trace_path = v;
            } else if (sim_parse_seed(v, &a->opt.seed) < 0) {
                return sim_usage_error("--seed wants a non-negative integer, got \"%s\"", v);
            } else {
                a->opt.override_seed = 1;
            }
        } else if (!only_paths && s[0] == '-') {
            return sim_usage_error("unknown option %s", s);
        } else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (sim_add_dir(a, s) < 0)
                return SIM_EXIT_LOAD;
        } else if (sim_add_file(a, s) < 0) {
            fprintf(stderr, "sim: out of memory\n");
            return SIM_EXIT_LOAD;
        }
    }
    if (a->nfiles == 0)
        return sim_usage_error("%s", "no scenario given");
    if (a->trace_path && a->nfiles != 1)
        return sim_usage_error("--trace needs exactly one scenario, got %s",
                               a->nfiles > 1 ? "several" : "none");
    return -1;
}

static double sim_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sim_print_result(const char *file, const sc_scenario_t *sc, const en_result_t *r,
                             double wall_ms)
{
    char span[40];
    printf("%s %s  %zu/%zu checks  virtual %s  wall ", r->pass ? "PASS" : "FAIL", sc->name,
           r->npassed, r->nchecks, dur_format(r->span_us, span, sizeof span));
    if (wall_ms < 1000.0)
        printf("%.1fms", wall_ms);
    else
        printf("%.2fs", wall_ms / 1000.0);
    printf("  trace %016" PRIx64 "\n", r->hash);
    if (r->pass)
        return;
    for (size_t i = 0; i < r->nchecks; i++)
        if (!r->checks[i].pass)
            printf("  %s\n", r->checks[i].msg);
    printf("  reproduce: sim --seed %" PRIu64 " %s\n", r->seed, file);
}

/* Errors go to stderr; flushing the report first keeps them in order with
 * the report lines when both go to one place. */
static void sim_error(const char *prefix, const char *text)
{
    fflush(stdout);
    fprintf(stderr, "%s%s\n", prefix, text);
}

/* Loads and runs one file; returns its exit code. */
static int sim_run_file(const char *file, const sim_args_t *a)
{
    char err[512];
    sc_scenario_t *sc;
    if (sc_load_file(file, &sc, err, sizeof err) < 0) {
        sim_error("", err);
        return SIM_EXIT_LOAD;
    }
    en_result_t r;
    double t0 = sim_clock_ms();
    int rc = en_run(sc, &a->opt, &r, err, sizeof err);
    double wall_ms = sim_clock_ms() - t0;
    if (rc < 0) {
        sim_error("", err);
        sc_free(sc);
        return SIM_EXIT_LOAD;
    }
    sim_print_result(file, sc, &r, wall_ms);
    int code = r.pass ? SIM_EXIT_PASS : SIM_EXIT_FAIL;
    if (a->trace_path && tr_write(r.trace, a->trace_path, err, sizeof err) < 0) {
        sim_error("sim: trace: ", err);
        code = SIM_EXIT_LOAD;
    }
    en_result_free(&r);
    sc_free(sc);
    return code;
}

int main(int argc, char **argv)
{
    sim_args_t a = {0};
    int code = sim_parse_args(argc, argv, &a);
    if (code < 0) {
        size_t passed = 0, failed = 0, broken = 0;
        for (size_t i = 0; i < a.nfiles; i++) {
            int rc = sim_run_file(a.files[i], &a);
            passed += rc == SIM_EXIT_PASS;
            failed += rc == SIM_EXIT_FAIL;
            broken += rc == SIM_EXIT_LOAD;
        }
        printf("scenarios: %zu passed, %zu failed", passed, failed);
        if (broken)
            printf(", %zu could not be loaded or run", broken);
        printf("\n");
        code = broken ? SIM_EXIT_LOAD : failed ? SIM_EXIT_FAIL : SIM_EXIT_PASS;
    }
    for (size_t i = 0; i < a.nfiles; i++)
        free(a.files[i]);
    free(a.files);
    return code;
}
