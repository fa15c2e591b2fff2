/* bench_sim.c - how fast the simulator plays time, and that its memory
 * stays flat.
 *
 *   year   bench/data/year.json: a trading year (252 sessions, a cycle every
 *          30 min on 2 symbols, health checks every 30 s, 20 random faults),
 *          run --year-runs times: median wall time and simulated/real ratio.
 *          Target: under 100 ms.
 *   suite  every scenarios/ file under --seeds seeds with 2 worker
 *          processes, --suite-runs times: median wall time. Target: 30 s.
 *   rss    the runner and the gateway on the simulated loop with the
 *          calendar off and a cycle every second, --cycles cycles (default
 *          10^6), trace events counted, not kept: RSS after the first 1000
 *          cycles, after a tenth of the cycles and at the end. Target: flat
 *          within 1% from the tenth to the end (the first cycles still size
 *          buffers and the allocator's arena once; printed, not judged).
 *
 * Every run must pass (the year, every sweep run) and the RSS must stay
 * flat, or the bench exits 1; the speed targets are reported, met or not.
 * Run from the project root. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../proto/duration.h"
#include "../sim/engine.h"
#include "../sim/io_sim.h"
#include "../sim/report.h"
#include "../sim/workers.h"

#define BENCH_YEAR_FILE "bench/data/year.json"
#define BENCH_SUITE_DIR "scenarios"
#define BENCH_YEAR_TARGET_MS 100.0
#define BENCH_SUITE_TARGET_S 30.0
#define BENCH_RSS_WARMUP 1000
#define BENCH_FILES_MAX 256
/* The 10^6 cycles: about 8 seconds here. */
#define BENCH_CYCLES_DEFAULT 1000000

typedef struct bench_opts {
    int year_runs, suite_runs, seeds;
    long cycles;
    const char *only; /* NULL: every part */
} bench_opts_t;

static double bench_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double bench_minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_minflt;
}

static int bench_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sorts v and returns its median. */
static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_list(const char *what, const double *v, int n, const char *unit)
{
    printf("  %s:", what);
    for (int i = 0; i < n; i++)
        printf(" %.1f%s", v[i], unit);
    printf("\n");
}

/* ---- year --------------------------------------------------------------- */

static int bench_year(const bench_opts_t *o)
{
    char err[512], d[40];
    sc_scenario_t *sc;
    if (sc_load_file(BENCH_YEAR_FILE, &sc, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sim: %s\n", err);
        return 1;
    }
    double wall[64], faults[64];
    int bad = 0;
    en_result_t res = {0};
    for (int i = 0; i < o->year_runs && !bad; i++) {
        en_options_t opt = {0};
        double f0 = bench_minor_faults(), t0 = bench_ms();
        if (en_run(sc, &opt, &res, err, sizeof err) < 0) {
            fprintf(stderr, "bench_sim: %s\n", err);
            bad = 1;
            break;
        }
        wall[i] = bench_ms() - t0;
        faults[i] = bench_minor_faults() - f0;
        bad = !res.pass;
        if (i + 1 < o->year_runs || bad)
            en_result_free(&res);
    }
    if (!bad) {
        double med = bench_median(wall, o->year_runs);
        printf("year: %s simulated, %zu trace events, %zu faults, trace %016llx\n",
               dur_format(res.span_us, d, sizeof d), res.nevents, res.nfaults,
               (unsigned long long)res.hash);
        bench_list("wall", wall, o->year_runs, "ms");
        printf("  page faults: %.0f in the first run, median %.0f in the later ones\n",
               faults[0], o->year_runs > 1 ? bench_median(faults + 1, o->year_runs - 1) : 0.0);
        printf("  median %.1f ms, simulated/real %.0fx; target %.0f ms: %s\n", med,
               (double)res.span_us / 1000.0 / med, BENCH_YEAR_TARGET_MS,
               med <= BENCH_YEAR_TARGET_MS ? "met" : "MISSED");
        en_result_free(&res);
    } else {
        fprintf(stderr, "bench_sim: the year's run failed\n");
    }
    sc_free(sc);
    return bad;
}

/* ---- suite -------------------------------------------------------------- */

static int bench_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Loads every *.json of dir, sorted; returns how many. */
static size_t bench_load_dir(const char *dir, char **files, sc_scenario_t **sc)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e && n < BENCH_FILES_MAX; e = readdir(d)) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            files[n] = malloc(strlen(dir) + len + 2);
            sprintf(files[n++], "%s/%s", dir, e->d_name);
        }
    }
    if (d)
        closedir(d);
    qsort(files, n, sizeof *files, bench_names);
    for (size_t i = 0; i < n; i++) {
        char err[512];
        if (sc_load_file(files[i], &sc[i], err, sizeof err) < 0) {
            fprintf(stderr, "bench_sim: %s\n", err);
            sc[i] = NULL;
        }
    }
    return n;
}

/* One sweep; returns the failed runs, or -1 in a worker (which exits). */
static long bench_sweep(const wk_plan_t *plan, rp_run_t *runs, int *child)
{
    char err[512];
    int rc = wk_run(plan, 2, runs, err, sizeof err);
    if (rc >= WK_CHILD) {
        *child = rc - WK_CHILD + 1; /* 1 + the worker's status */
        return -1;
    }
    if (rc < 0) {
        fprintf(stderr, "bench_sim: %s\n", err);
        return (long)plan->nitems;
    }
    long failed = 0;
    for (size_t i = 0; i < plan->nitems; i++) {
        if (runs[i].code != EN_PASS && failed++ < 3)
            fprintf(stderr, "bench_sim: %s seed %llu failed: %s\n", runs[i].file,
                    (unsigned long long)runs[i].seed,
                    runs[i].nfailures ? runs[i].failures[0].msg : runs[i].error);
        rp_clear(&runs[i]);
    }
    return failed;
}

static int bench_suite(const bench_opts_t *o, int *child)
{
    char *files[BENCH_FILES_MAX];
    sc_scenario_t *sc[BENCH_FILES_MAX];
    size_t nfiles = bench_load_dir(BENCH_SUITE_DIR, files, sc), n = 0;
    wk_item_t *items = calloc(nfiles * (size_t)o->seeds + 1, sizeof *items);
    rp_run_t *runs = calloc(nfiles * (size_t)o->seeds + 1, sizeof *runs);
    int bad = !items || !runs || nfiles == 0;
    for (size_t f = 0; f < nfiles && !bad; f++) {
        bad = sc[f] == NULL;
        for (int s = 0; s < o->seeds && !bad; s++)
            items[n++] = (wk_item_t){f, sc[f]->seed + (uint64_t)s};
    }
    wk_plan_t plan = {sc, (const char *const *)files, items, n, 0};
    double wall[64];
    long failed = 0;
    for (int i = 0; i < o->suite_runs && !bad && failed == 0; i++) {
        double t0 = bench_ms();
        failed = bench_sweep(&plan, runs, child);
        if (failed < 0)
            break;
        wall[i] = (bench_ms() - t0) / 1000.0;
    }
    if (!bad && failed == 0) {
        double med = bench_median(wall, o->suite_runs);
        printf("suite: %zu scenarios x %d seeds = %zu runs, 2 workers\n", nfiles, o->seeds, n);
        bench_list("wall", wall, o->suite_runs, "s");
        printf("  median %.1f s; target %.0f s: %s\n", med, BENCH_SUITE_TARGET_S,
               med <= BENCH_SUITE_TARGET_S ? "met" : "MISSED");
    } else if (failed > 0) {
        fprintf(stderr, "bench_sim: %ld runs of the sweep failed\n", failed);
    }
    for (size_t f = 0; f < nfiles; f++) {
        sc_free(sc[f]);
        free(files[f]);
    }
    free(items);
    free(runs);
    return bad || failed > 0;
}

/* ---- rss ---------------------------------------------------------------- */

typedef struct bench_rss {
    io_loop_t *loop;
    long cycles, target, events;
    long rss_first_kb; /* after BENCH_RSS_WARMUP cycles */
    long rss_start_kb; /* after a tenth of the cycles */
} bench_rss_t;

static long bench_rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void bench_rss_sink(void *data, io_us_t wall_us, const char *src, const char *ev,
                           size_t nfields, const io_trace_field_t *fields)
{
    (void)wall_us, (void)src, (void)nfields, (void)fields;
    bench_rss_t *b = data;
    b->events++;
    if (strcmp(ev, "cycle_end") != 0)
        return;
    if (++b->cycles == BENCH_RSS_WARMUP)
        b->rss_first_kb = bench_rss_kb();
    if (b->cycles == (b->target / 10 > BENCH_RSS_WARMUP ? b->target / 10 : BENCH_RSS_WARMUP))
        b->rss_start_kb = bench_rss_kb();
    if (b->cycles == b->target)
        io_loop_stop(b->loop);
}

static int bench_rss(const bench_opts_t *o)
{
    static const char *const symbols[] = {"AAPL", "MSFT"};
    io_sim_config_t cfg = {1, (io_us_t)1735722000 * IO_US_PER_S, IO_SIM_NET_DEFAULT};
    bench_rss_t b = {io_sim_loop_new(&cfg), 0, o->cycles, 0, 0, 0};
    gw_config_t gcfg;
    rn_config_t rcfg;
    gw_t *gw = NULL;
    rn_t *rn = NULL;
    char err[256];
    gw_config_defaults(&gcfg);
    rn_config_defaults(&rcfg);
    rcfg.symbols = symbols;
    rcfg.nsymbols = 2;
    rcfg.always_open = 1;
    rcfg.interval_us = IO_US_PER_S;
    rcfg.ping_interval_us = 30 * IO_US_PER_S;
    if (!b.loop || gw_new(b.loop, &gcfg, &gw, err, sizeof err) < 0 ||
        rn_new(b.loop, &rcfg, &rn, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sim: rss: cannot build the world: %s\n", err);
        return 1;
    }
    io_set_trace_sink(b.loop, bench_rss_sink, &b);
    double t0 = bench_ms();
    rn_start(rn);
    io_sim_run_until(b.loop, (io_us_t)o->cycles * 10 * IO_US_PER_S);
    double wall = bench_ms() - t0;
    long end_kb = bench_rss_kb();
    rn_free(rn);
    gw_free(gw);
    io_loop_free(b.loop);
    double growth = b.rss_start_kb ? 100.0 * (double)(end_kb - b.rss_start_kb) /
                                         (double)b.rss_start_kb
                                   : 0.0;
    int flat = b.cycles == o->cycles && growth <= 1.0;
    printf("rss: %ld cycles (%ld trace events) in %.1f s\n", b.cycles, b.events, wall / 1000.0);
    printf("  RSS after %d cycles %ld kB, after %ld cycles %ld kB, at the end %ld kB\n",
           BENCH_RSS_WARMUP, b.rss_first_kb,
           o->cycles / 10 > BENCH_RSS_WARMUP ? o->cycles / 10 : BENCH_RSS_WARMUP, b.rss_start_kb,
           end_kb);
    printf("  from a tenth of the run to the end: %+.2f%%; target within 1%%: %s\n", growth,
           flat ? "met" : "MISSED");
    return !flat;
}

static int bench_args(int argc, char **argv, bench_opts_t *o)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--only") == 0) {
            o->only = argv[i + 1];
            continue;
        }
        if (v < 1 || v > 100000000)
            return -1;
        if (strcmp(argv[i], "--year-runs") == 0 && v <= 64)
            o->year_runs = (int)v;
        else if (strcmp(argv[i], "--suite-runs") == 0 && v <= 64)
            o->suite_runs = (int)v;
        else if (strcmp(argv[i], "--seeds") == 0)
            o->seeds = (int)v;
        else if (strcmp(argv[i], "--cycles") == 0 && v > BENCH_RSS_WARMUP)
            o->cycles = v;
        else
            return -1;
    }
    return argc % 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts_t o = {5, 3, 100, BENCH_CYCLES_DEFAULT, NULL};
    int child = 0, bad = 0;
    if (bench_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_sim [--only rss|year|suite] [--year-runs N]"
                        " [--suite-runs N] [--seeds N] [--cycles N]\n");
        return 2;
    }
    /* RSS first, so its figures are not those of the year's freed heap. */
    if (!o.only || strcmp(o.only, "rss") == 0)
        bad |= bench_rss(&o);
    en_keep_freed_memory(); /* as sim does: each run of the year reuses the last one's memory */
    if (!o.only || strcmp(o.only, "year") == 0)
        bad |= bench_year(&o);
    fflush(stdout);
    if (!o.only || strcmp(o.only, "suite") == 0)
        bad |= bench_suite(&o, &child);
    return child ? child - 1 : bad;
}
