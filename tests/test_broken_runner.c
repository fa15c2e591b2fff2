/* test_broken_runner.c - a deliberately broken runner build must be caught
 * by the scenario sweep, with a line that reproduces it.
 *
 * The break is made at link time, not with a hook in production code: this
 * binary is linked with -Wl,--wrap=ibc_ping (see the Makefile), so every
 * call the runner makes to ibc_ping lands in __wrap_ibc_ping below, which
 * reports success and sends nothing, a health check that never checks. The
 * rest is the real runner, gateway and engine. Run from the project root. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runner/client.h"
#include "../sim/report.h"
#include "../sim/workers.h"
#include "testlib.h"

int __wrap_ibc_ping(ibc_t *c, uint32_t seq);

int __wrap_ibc_ping(ibc_t *c, uint32_t seq)
{
    (void)c, (void)seq;
    return 0;
}

static const char *const files[] = {"scenarios/handshake-and-ping.json",
                                    "scenarios/kill-detected.json",
                                    "scenarios/stale-detected.json"};
#define NFILES (sizeof files / sizeof files[0])
#define NSEEDS 3

static void the_sweep_catches_a_runner_whose_health_check_never_pings(void)
{
    sc_scenario_t *sc[NFILES];
    wk_item_t items[NFILES * NSEEDS];
    rp_run_t runs[NFILES * NSEEDS];
    char err[512];
    for (size_t f = 0; f < NFILES; f++) {
        CU_ASSERT_EQUAL_FATAL(sc_load_file(files[f], &sc[f], err, sizeof err), 0);
        for (size_t i = 0; i < NSEEDS; i++)
            items[f * NSEEDS + i] = (wk_item_t){f, sc[f]->seed + i};
    }
    wk_plan_t plan = {sc, files, items, NFILES * NSEEDS, 0};
    CU_ASSERT_EQUAL_FATAL(wk_run(&plan, 1, runs, err, sizeof err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    rp_text(out, runs, NFILES * NSEEDS);
    fclose(out);
    /* Pings never answered: the ping checks fail; a stale gateway is never noticed. */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "FAIL handshake-and-ping  0/3 seeds"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "count ping_ok ge 19: got 0"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "reproduce: sim --seed 1 scenarios/handshake-and-ping.json\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "FAIL stale-detected  0/3 seeds"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "reproduce: sim --seed 9 scenarios/stale-detected.json\n"));
    CU_ASSERT_NOT_EQUAL(rp_exit_code(runs, NFILES * NSEEDS), 0);
    if (!strstr(text, "got 0"))
        fprintf(stderr, "\n%s\n", text);
    free(text);
    for (size_t i = 0; i < NFILES * NSEEDS; i++)
        rp_clear(&runs[i]);
    for (size_t f = 0; f < NFILES; f++)
        sc_free(sc[f]);
}

static CU_TestInfo tests[] = {
    {"the_sweep_catches_a_runner_whose_health_check_never_pings",
     the_sweep_catches_a_runner_whose_health_check_never_pings},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"broken_runner", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
