/* test_runner_loop.c - the runner's continuous loop (issue 3) on the
 * simulated network against the real mock gateway core: the cycle schedule
 * inside market hours, the health check before each cycle and while idle,
 * persistent versus per-cycle connections, connectivity loss (1100/1101/
 * 1102), a session lost mid-cycle, shutdown during a cycle, 326 on a
 * reconnect; and its parts: the reconnect backoff and the status model. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mockgw/faults.h"
#include "../mockgw/gateway.h"
#include "../proto/nytime.h"
#include "../runner/backoff.h"
#include "../runner/calendar.h"
#include "../runner/runner.h"
#include "../runner/status.h"
#include "../sim/io_sim.h"
#include "testlib.h"
#include "tevlog.h"

#define PORT 4002
#define MS IO_US_PER_MS
#define SEC IO_US_PER_S
#define MIN (60 * SEC)

/* ---- recording ----------------------------------------------------------
 * Every trace event but msg_in/msg_out (a trading day has thousands), timed
 * in wall time: the tests start at different times of day. */

static int not_msg(const char *src, const char *ev)
{
    (void)src;
    return strcmp(ev, "msg_in") != 0 && strcmp(ev, "msg_out") != 0;
}

static const tev_opts_t TEV = {5, 0, 0, not_msg};

static struct {
    io_loop_t *loop;
    rn_t *rn;
    gw_t *gw;
    rn_config_t cfg;
    int exits, exit_code;
    char dir[64]; /* a temporary folder, when a test needs files */
} fx;

static const char *const SYMBOLS[] = {"AAPL"};

static void fx_on_exit(void *data, int code)
{
    (void)data;
    fx.exits++;
    fx.exit_code = code;
}

/* The nth runner event of that kind at or after from (wall), or NULL. */
static const tev_t *rev_from(const char *ev, int nth, io_us_t from)
{
    for (size_t i = 0; i < tevlog.n; i++)
        if (tevlog.ev[i].t >= from && strcmp(tevlog.ev[i].src, "runner") == 0 &&
            strcmp(tevlog.ev[i].ev, ev) == 0 && nth-- == 0)
            return &tevlog.ev[i];
    return NULL;
}

/* Runner events of that kind in [from, to). */
static int rcount_in(const char *ev, io_us_t from, io_us_t to)
{
    int n = 0;
    for (const tev_t *e; (e = rev_from(ev, n, from)) && e->t < to;)
        n++;
    return n;
}

/* The last status label traced at or before wall. */
static const char *label_at(io_us_t wall)
{
    const char *label = "<none>";
    for (size_t i = 0; i < tevlog.n && tevlog.ev[i].t <= wall; i++)
        if (strcmp(tevlog.ev[i].ev, "status") == 0)
            label = tev_str_at(&tevlog.ev[i], 0);
    return label;
}

/* The whole file parsed as JSON, or NULL. */
static cJSON *read_json(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

/* ---- fixture ------------------------------------------------------------ */

static io_us_t nyw(int y, int mo, int d, int h, int mi)
{
    return ny_to_utc(y, mo, d, h, mi, 0) * SEC;
}

/* 2025-12-10 (a Wednesday) in New York. */
static io_us_t at(int h, int mi)
{
    return nyw(2025, 12, 10, h, mi);
}

static void fx_setup_at(io_us_t start_wall)
{
    memset(&fx, 0, sizeof fx);
    fx.loop = tev_start(&TEV, start_wall);
    rn_config_defaults(&fx.cfg);
    fx.cfg.port = PORT;
    fx.cfg.client_id = 7;
    fx.cfg.ping_timeout_us = 2 * SEC;
    fx.cfg.reconnect_max_us = 10 * SEC;
    fx.cfg.reconnect_jitter = 0.0;
    fx.cfg.symbols = SYMBOLS;
    fx.cfg.nsymbols = 1;
    fx.cfg.on_exit = fx_on_exit;
}

static void gw_up(void)
{
    gw_config_t gc;
    gw_config_defaults(&gc);
    gc.port = PORT;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_new(fx.loop, &gc, &fx.gw, err, sizeof err), 0);
}

static void gw_down(void)
{
    gw_free(fx.gw);
    fx.gw = NULL;
}

static void fx_start(void)
{
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(rn_new(fx.loop, &fx.cfg, &fx.rn, err, sizeof err), 0);
    rn_start(fx.rn);
}

static void fault(enum gw_fault_kind kind, io_us_t for_us, unsigned only, int restored)
{
    gw_fault_t f;
    gw_fault_init(&f, kind);
    f.for_us = for_us;
    f.only = only;
    if (restored)
        f.restored_code = restored;
    char err[256];
    CU_ASSERT_EQUAL(gw_fault_apply(fx.gw, &f, err, sizeof err), 0);
}

static void fx_teardown(void)
{
    rn_free(fx.rn);
    gw_free(fx.gw);
    tev_stop();
}

/* ---- the loop ----------------------------------------------------------- */

static void check_cycles_at(const io_us_t *due, int n)
{
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_start"), n);
    for (int i = 0; i < n; i++) {
        io_us_t t = tev_rev("cycle_start", i)->t;
        /* At the due time, after one health-check round trip. */
        CU_ASSERT(t >= due[i] && t < due[i] + 1 * SEC);
    }
}

static void persistent_mode_runs_a_cycle_every_interval_on_one_connection(void)
{
    fx_setup_at(at(9, 25));
    gw_up();
    fx_start();
    tev_run_to(at(11, 5));
    io_us_t due[] = {at(9, 30), at(10, 0), at(10, 30), at(11, 0)};
    check_cycles_at(due, 4);
    CU_ASSERT_EQUAL(tev_rcount("cycle_end"), 4);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(tev_num_at(tev_rev("cycle_end", i), 1), 1); /* {n, ok, ...} */
    CU_ASSERT_EQUAL(tev_rcount("connect"), 1);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "API Connected");
    fx_teardown();
}

static void no_cycle_runs_before_the_open_and_the_label_says_market_closed(void)
{
    fx_setup_at(at(9, 0));
    gw_up();
    fx_start();
    tev_run_to(at(9, 29));
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 0);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "API Connected (Market Closed)");
    tev_run_to(at(9, 31));
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 1);
    CU_ASSERT_STRING_EQUAL(label_at(at(9, 30) + 1 * SEC), "API Connected");
    fx_teardown();
}

static void every_cycle_starts_right_after_a_health_check_ping_answers(void)
{
    fx_setup_at(at(9, 25));
    fx.cfg.ping_interval_us = 7 * MIN; /* no idle ping near the due times */
    gw_up();
    fx_start();
    tev_run_to(at(10, 5));
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_start"), 2);
    for (int i = 0; i < 2; i++) {
        const tev_t *c = tev_rev("cycle_start", i);
        const tev_t *p = rev_from("ping", 0, c->t - 1 * SEC);
        const tev_t *ok = rev_from("ping_ok", 0, c->t - 1 * SEC);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
        CU_ASSERT(p < ok && ok < c);
        CU_ASSERT_EQUAL(ok->t, c->t);
    }
    fx_teardown();
}

/* An idle ping still out when a cycle comes due is its health check: no
 * second ping is sent, and the cycle starts when that one is answered. */
static void a_cycle_due_while_an_idle_ping_is_out_waits_for_its_answer(void)
{
    fx_setup_at(at(9, 25) + 3 * SEC); /* idle pings at about 9:29:58 */
    fx.cfg.ping_timeout_us = 4 * SEC;
    gw_up();
    fx_start();
    tev_run_to(at(9, 26));
    gw_fault_t f;
    gw_fault_init(&f, GW_FAULT_LATENCY);
    f.value_us = 3 * SEC;
    f.for_us = 10 * MIN;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_fault_apply(fx.gw, &f, err, sizeof err), 0);
    tev_run_to(at(9, 31));
    const tev_t *c = tev_rev("cycle_start", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const tev_t *p = rev_from("ping", 0, at(9, 29) + 57 * SEC);
    const tev_t *ok = rev_from("ping_ok", 0, at(9, 29) + 57 * SEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
    CU_ASSERT(p->t < at(9, 30));
    CU_ASSERT(ok->t > at(9, 30) && ok->t < at(9, 30) + 2 * SEC);
    CU_ASSERT_EQUAL(rcount_in("ping", p->t + 1, c->t + 1), 0);
    CU_ASSERT(ok < c);
    CU_ASSERT_EQUAL(ok->t, c->t);
    CU_ASSERT_EQUAL(tev_rcount("ping_timeout"), 0);
    fx_teardown();
}

static void check_per_cycle(int force, const char *how)
{
    fx_setup_at(at(9, 25));
    fx.cfg.persistent = 0;
    fx.cfg.force_disconnect = force;
    gw_up();
    fx_start();
    tev_run_to(at(9, 29));
    CU_ASSERT_EQUAL(tev_rcount("connect"), 0);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Waiting for cycle");
    tev_run_to(at(10, 35));
    io_us_t due[] = {at(9, 30), at(10, 0), at(10, 30)};
    check_cycles_at(due, 3);
    CU_ASSERT_EQUAL(tev_rcount("connect"), 3);
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 3);
    for (int i = 0; i < 3; i++) {
        const tev_t *d = tev_rev("disconnect", i);
        CU_ASSERT_STRING_EQUAL(tev_str_at(d, 0), "client");
        CU_ASSERT_STRING_EQUAL(tev_str_at(d, 1), how);
        CU_ASSERT_STRING_EQUAL(tev_str_at(d, 2), "cycle complete");
        CU_ASSERT(d > tev_rev("cycle_end", i));
    }
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Waiting for cycle");
    CU_ASSERT_EQUAL(gw_session_count(fx.gw), 0);
    fx_teardown();
}

static void per_cycle_mode_connects_for_each_cycle_and_hangs_up_after_it(void)
{
    check_per_cycle(0, "fin");
}

static void per_cycle_mode_with_force_disconnect_hangs_up_with_rst(void)
{
    check_per_cycle(1, "rst");
}

static void after_the_close_it_stays_connected_and_pings_every_closed_interval(void)
{
    fx_setup_at(at(15, 50));
    gw_up();
    fx_start();
    tev_run_to(at(17, 0) + 1 * SEC);
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 1);
    CU_ASSERT_STRING_EQUAL(label_at(at(16, 0) + 1 * SEC), "API Connected (Market Closed)");
    CU_ASSERT_EQUAL(tev_rcount("disconnect"), 0);
    /* 5 s while open, then every 5 min: 16:05 … 17:00. */
    CU_ASSERT(rcount_in("ping_ok", at(15, 51), at(16, 0)) >= 100);
    int slow = rcount_in("ping_ok", at(16, 1), at(17, 0) + 1 * SEC);
    CU_ASSERT(slow >= 11 && slow <= 12);
    fx_teardown();
}

static void before_the_open_it_pings_at_the_normal_cadence_again(void)
{
    fx_setup_at(at(8, 0));
    gw_up();
    fx_start();
    tev_run_to(at(9, 30));
    /* 08:00-09:25 at 5 min; 09:25-09:30 at 5 s. */
    int slow = rcount_in("ping_ok", at(8, 0), at(9, 24));
    CU_ASSERT(slow >= 16 && slow <= 17);
    CU_ASSERT(rcount_in("ping_ok", at(9, 25), at(9, 30)) >= 58);
    fx_teardown();
}

/* The idle health check's sleep at now, worked out from the calendar
 * itself: ping_interval in a session; closed, closed_ping_interval, or up
 * to the last such stretch before the next open (rounded up to the
 * second), then ping_interval again. */
static io_us_t model_idle_delay(io_us_t now)
{
    io_us_t slow = fx.cfg.closed_ping_interval_us;
    if (fx.cfg.always_open || cal_is_open(now / SEC))
        return fx.cfg.ping_interval_us;
    io_us_t to_window = cal_next_open((now + SEC - 1) / SEC) * SEC - now - slow;
    if (to_window <= 0)
        return fx.cfg.ping_interval_us;
    return to_window < slow ? to_window : slow;
}

/* Without symbols there is no cycle, so every ping is the idle timer's:
 * from ready on, each comes exactly the model's delay after the last,
 * through the close, a weekend and the open. */
static void check_idle_pings_follow_the_model(io_us_t from, io_us_t to, int at_least)
{
    fx_setup_at(from);
    fx.cfg.symbols = NULL;
    fx.cfg.nsymbols = 0;
    gw_up();
    fx_start();
    tev_run_to(to);
    const tev_t *ready = tev_rev("ready", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ready);
    io_us_t t = ready->t;
    int n = tev_rcount("ping");
    CU_ASSERT(n >= at_least);
    for (int i = 0; i < n; i++) {
        t += model_idle_delay(t);
        CU_ASSERT_EQUAL_FATAL(tev_rev("ping", i)->t, t);
    }
    CU_ASSERT(t + model_idle_delay(t) > to);
    CU_ASSERT_EQUAL(tev_rcount("ping_ok"), n - (tev_rev("ping", n - 1)->t + 10 * MS > to));
    fx_teardown();
}

static void idle_pings_follow_the_calendar_to_the_microsecond(void)
{
    /* A Friday's close, the weekend, Monday's open. */
    check_idle_pings_follow_the_model(nyw(2025, 12, 12, 15, 58), nyw(2025, 12, 15, 9, 33), 850);
    /* From inside the last second before a stretch's end: the next open
     * is taken rounded up to the second. */
    check_idle_pings_follow_the_model(nyw(2025, 12, 15, 9, 29) + 59 * SEC + 999 * MS,
                                      nyw(2025, 12, 15, 9, 31), 10);
    check_idle_pings_follow_the_model(nyw(2025, 12, 15, 9, 24) + 59 * SEC + 990 * MS,
                                      nyw(2025, 12, 15, 9, 26), 12);
    /* A holiday (Christmas, a Thursday) and an early close the day before. */
    check_idle_pings_follow_the_model(nyw(2025, 12, 24, 12, 58), nyw(2025, 12, 26, 9, 35), 600);
}

static void always_open_pings_every_interval_whatever_the_calendar(void)
{
    fx_setup_at(nyw(2025, 12, 13, 12, 0)); /* a Saturday */
    fx.cfg.always_open = 1;
    fx.cfg.symbols = NULL;
    fx.cfg.nsymbols = 0;
    gw_up();
    fx_start();
    tev_run_to(nyw(2025, 12, 13, 12, 10));
    const tev_t *ready = tev_rev("ready", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ready);
    int n = tev_rcount("ping");
    CU_ASSERT(n >= 110);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(tev_rev("ping", i)->t, ready->t + (i + 1) * fx.cfg.ping_interval_us);
    fx_teardown();
}

static void a_weekend_is_slept_through_on_one_connection(void)
{
    fx_setup_at(nyw(2025, 12, 12, 15, 45)); /* a Friday */
    gw_up();
    fx_start();
    tev_run_to(nyw(2025, 12, 15, 9, 31));
    io_us_t due[] = {nyw(2025, 12, 12, 15, 45), nyw(2025, 12, 15, 9, 30)};
    check_cycles_at(due, 2);
    CU_ASSERT_EQUAL(tev_rcount("connect"), 1);
    CU_ASSERT_EQUAL(tev_rcount("ping_timeout"), 0);
    fx_teardown();
}

static void connectivity_lost_stops_cycles_until_1102_then_runs_the_missed_one(void)
{
    fx_setup_at(at(9, 25));
    gw_up();
    fx_start();
    tev_run_to(at(9, 40));
    fault(GW_FAULT_CONNECTIVITY_LOST, 40 * MIN, 0, 1102);
    tev_run_to(at(9, 41));
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Degraded (connectivity lost)");
    tev_run_to(at(10, 35));
    CU_ASSERT_EQUAL(rcount_in("cycle_start", at(9, 40), at(10, 20)), 0);
    const tev_t *c = rev_from("cycle_start", 0, at(10, 20));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(c->t < at(10, 20) + 1 * SEC);
    CU_ASSERT_EQUAL(rcount_in("cycle_start", at(10, 20), at(10, 35)), 2);
    CU_ASSERT_STRING_EQUAL(label_at(at(10, 21)), "API Connected");
    CU_ASSERT_EQUAL(tev_rcount("connect"), 1);
    fx_teardown();
}

/* Ready, with the 09:30 cycle waiting for bars that do not come. */
static void to_a_cycle_waiting_for_bars(void)
{
    gw_up();
    fx_start();
    tev_run_to(at(9, 29));
    fault(GW_FAULT_STALE, 0, GW_KIND_HISTORICAL, 0);
    tev_run_to(at(9, 30) + 5 * SEC);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_start"), 1);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_end"), 0);
    fault(GW_FAULT_CLEAR, 0, 0, 0);
}

static void connectivity_lost_mid_cycle_aborts_it_and_1101_runs_it_again(void)
{
    fx_setup_at(at(9, 25));
    to_a_cycle_waiting_for_bars();
    fault(GW_FAULT_CONNECTIVITY_LOST, 2 * MIN, 0, 1101);
    tev_run_to(at(9, 31));
    const tev_t *end = tev_rev("cycle_end", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    CU_ASSERT_EQUAL(tev_num_at(end, 1), 0);
    CU_ASSERT_STRING_EQUAL(tev_str_at(end, 0), "connectivity lost");
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 1);
    tev_run_to(at(9, 33));
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_start"), 2);
    CU_ASSERT(tev_rev("cycle_start", 1)->t < at(9, 32) + 6 * SEC);
    CU_ASSERT_EQUAL(tev_num_at(tev_rev("cycle_end", 1), 1), 1);
    fx_teardown();
}

static void session_lost_mid_cycle_fails_it_then_reconnects_and_runs_it_again(void)
{
    fx_setup_at(at(9, 25));
    to_a_cycle_waiting_for_bars();
    gw_kill(fx.gw, IO_CLOSE_RST, -1);
    tev_run_to(at(9, 31));
    const tev_t *end = tev_rev("cycle_end", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    CU_ASSERT_EQUAL(tev_num_at(end, 1), 0);
    CU_ASSERT_STRING_EQUAL(tev_str_at(end, 0), "disconnected");
    CU_ASSERT_EQUAL(tev_rcount("ready"), 2);
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_start"), 2);
    CU_ASSERT(tev_rev("cycle_start", 1) > tev_rev("ready", 1));
    CU_ASSERT_EQUAL(tev_num_at(tev_rev("cycle_end", 1), 1), 1);
    fx_teardown();
}

static void sigint_mid_cycle_aborts_it_closes_with_fin_and_exits_zero(void)
{
    fx_setup_at(at(9, 25));
    to_a_cycle_waiting_for_bars();
    io_sim_raise_signal(fx.loop, IO_SIGINT);
    tev_run_to(at(9, 31));
    const tev_t *end = tev_rev("cycle_end", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    CU_ASSERT_STRING_EQUAL(tev_str_at(end, 0), "shutdown");
    const tev_t *d = tev_rev("disconnect", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT(d > end);
    CU_ASSERT_STRING_EQUAL(tev_str_at(d, 1), "fin");
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(fx.exit_code, 0);
    CU_ASSERT_EQUAL(tev_rcount("connect"), 1);
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Disconnected");
    fx_teardown();
}

static void sigterm_while_waiting_for_a_session_exits_zero_at_once(void)
{
    fx_setup_at(at(9, 25));
    fx_start(); /* no gateway: connects are refused */
    tev_run_to(at(9, 26));
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "Reconnecting");
    io_sim_raise_signal(fx.loop, IO_SIGTERM);
    tev_run_to(at(9, 26) + 10 * MS);
    CU_ASSERT_EQUAL(fx.exits, 1);
    CU_ASSERT_EQUAL(fx.exit_code, 0);
    int connects = tev_rcount("connect");
    tev_run_to(at(9, 35));
    CU_ASSERT_EQUAL(tev_rcount("connect"), connects);
    fx_teardown();
}

static void a_cycle_due_while_reconnecting_runs_once_the_session_is_ready(void)
{
    fx_setup_at(at(9, 25));
    gw_up();
    fx_start();
    tev_run_to(at(9, 29));
    gw_down();
    tev_run_to(at(10, 2)); /* the 09:30 and 10:00 cycles come due meanwhile */
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 0);
    gw_up();
    tev_run_to(at(10, 5));
    CU_ASSERT_EQUAL_FATAL(tev_rcount("cycle_start"), 1);
    CU_ASSERT(tev_rev("cycle_start", 0) > tev_rev("ready", 1));
    tev_run_to(at(10, 31));
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 2);
    CU_ASSERT(tev_rev("cycle_start", 1)->t >= at(10, 30));
    fx_teardown();
}

static void a_due_cycle_is_skipped_if_the_market_closes_before_a_session_is_back(void)
{
    fx_setup_at(at(15, 58));
    fx_start(); /* no gateway until after the close */
    tev_run_to(at(16, 1));
    gw_up();
    tev_run_to(at(16, 3));
    CU_ASSERT_EQUAL(tev_rcount("ready"), 1);
    CU_ASSERT_EQUAL(tev_rcount("cycle_start"), 0);
    CU_ASSERT_EQUAL(tev_rcount("cycle_skipped"), 1);
    CU_ASSERT_STRING_EQUAL(tev_str_at(tev_rev("cycle_skipped", 0), 0), "market closed");
    CU_ASSERT_STRING_EQUAL(rn_status_label(fx.rn), "API Connected (Market Closed)");
    fx_teardown();
}

static void client_id_in_use_on_reconnect_backs_off_and_then_gets_ready(void)
{
    fx_setup_at(at(9, 25));
    gw_up();
    fx_start();
    tev_run_to(at(9, 26));
    gw_fault_t f;
    gw_fault_init(&f, GW_FAULT_CLIENT_ID_IN_USE);
    f.times = 2;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_fault_apply(fx.gw, &f, err, sizeof err), 0);
    gw_kill(fx.gw, IO_CLOSE_FIN, -1);
    tev_run_to(at(9, 27));
    CU_ASSERT_EQUAL(tev_rcount("error:326"), 2);
    CU_ASSERT_EQUAL(tev_rcount("ready"), 2);
    /* 1 s after the kill, 2 s after the first 326, 4 s after the second. */
    CU_ASSERT_EQUAL_FATAL(tev_rcount("reconnect"), 3);
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL(tev_num_at(tev_rev("reconnect", k), 1), (1 << k) * SEC);
    fx_teardown();
}

static void status_file_follows_the_loop_and_ends_disconnected(void)
{
    fx_setup_at(at(9, 25));
    snprintf(fx.dir, sizeof fx.dir, "/tmp/test_runner_loop.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(fx.dir));
    char path[128];
    snprintf(path, sizeof path, "%s/status.json", fx.dir);
    fx.cfg.status_file = path;
    gw_up();
    fx_start();
    tev_run_to(at(9, 31));
    cJSON *j = read_json(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "label")->valuestring, "API Connected");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "cycles_ok")->valueint, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "next_cycle")->valuestring,
                           "2025-12-10T10:00:00-05:00");
    CU_ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItem(j, "last_ping_rtt_ms")));
    cJSON_Delete(j);
    rn_stop(fx.rn);
    j = read_json(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "label")->valuestring, "Disconnected");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "phase")->valuestring, "stopped");
    cJSON_Delete(j);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);
    unlink(path);
    rmdir(fx.dir);
    fx_teardown();
}

static void loop_settings_must_be_positive(void)
{
    fx_setup_at(at(9, 25));
    char err[256] = "";
    fx.cfg.interval_us = 0;
    CU_ASSERT_EQUAL(rn_new(fx.loop, &fx.cfg, &fx.rn, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "interval"));
    rn_config_defaults(&fx.cfg);
    fx.cfg.nsymbols = 2;
    CU_ASSERT_EQUAL(rn_new(fx.loop, &fx.cfg, &fx.rn, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbols"));
    fx_teardown();
}

/* ---- backoff ------------------------------------------------------------ */

static const bo_config_t BO = {1 * SEC, 10 * SEC, 2.0, 0.2};

static void backoff_doubles_from_initial_and_caps_at_max(void)
{
    static const io_us_t want[] = {1 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC, 10 * SEC};
    for (int k = 0; k < 6; k++)
        CU_ASSERT_EQUAL(bo_delay(&BO, k, 0.5), want[k]);
    CU_ASSERT_EQUAL(bo_delay(&BO, 100000, 0.5), 10 * SEC); /* pow overflows to inf */
}

static void backoff_jitter_spreads_the_delay_by_its_fraction_both_ways(void)
{
    CU_ASSERT_EQUAL(bo_delay(&BO, 1, 0.0), 1600 * MS);
    CU_ASSERT_EQUAL(bo_delay(&BO, 1, 0.75), 2200 * MS);
    CU_ASSERT_EQUAL(bo_delay(&BO, 9, 0.0), 8 * SEC);
}

static void backoff_draws_from_the_loop_and_restarts_after_a_reset(void)
{
    io_sim_config_t sc = {.seed = 9, .start_wall_us = 0, .net = IO_SIM_NET_DEFAULT};
    io_loop_t *loop = io_sim_loop_new(&sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    bo_t b;
    bo_init(&b, &BO);
    int off = 0;
    for (int k = 0; k < 5; k++) {
        io_us_t d = bo_next(&b, loop), base = bo_delay(&BO, k, 0.5);
        CU_ASSERT(d >= base * 8 / 10 && d <= base * 12 / 10);
        off += d != base;
    }
    CU_ASSERT(off > 0);
    bo_reset(&b);
    io_us_t d = bo_next(&b, loop);
    CU_ASSERT(d >= 800 * MS && d <= 1200 * MS);
    io_loop_free(loop);
}

static void backoff_config_problems_are_named(void)
{
    bo_config_t c = BO;
    CU_ASSERT_PTR_NULL(bo_config_problem(&c));
    c.max_us = c.initial_us - 1;
    CU_ASSERT_PTR_NOT_NULL(strstr(bo_config_problem(&c), "max"));
    c = BO;
    c.multiplier = 0.5;
    CU_ASSERT_PTR_NOT_NULL(strstr(bo_config_problem(&c), "multiplier"));
    c = BO;
    c.jitter = 1.0;
    CU_ASSERT_PTR_NOT_NULL(strstr(bo_config_problem(&c), "jitter"));
}

/* ---- status ------------------------------------------------------------- */

static void status_labels_are_the_plans(void)
{
    CU_ASSERT_STRING_EQUAL(st_label(ST_CONNECTED, ST_WAITING), "API Connected");
    CU_ASSERT_STRING_EQUAL(st_label(ST_CONNECTED, ST_CYCLE), "API Connected");
    CU_ASSERT_STRING_EQUAL(st_label(ST_CONNECTED, ST_MARKET_CLOSED),
                           "API Connected (Market Closed)");
    CU_ASSERT_STRING_EQUAL(st_label(ST_DISCONNECTED, ST_WAITING), "Waiting for cycle");
    CU_ASSERT_STRING_EQUAL(st_label(ST_DISCONNECTED, ST_MARKET_CLOSED), "Waiting for cycle");
    CU_ASSERT_STRING_EQUAL(st_label(ST_CONNECTING, ST_WAITING), "Connecting");
    CU_ASSERT_STRING_EQUAL(st_label(ST_RECONNECTING, ST_MARKET_CLOSED), "Reconnecting");
    CU_ASSERT_STRING_EQUAL(st_label(ST_DEGRADED, ST_WAITING), "Degraded (connectivity lost)");
    CU_ASSERT_STRING_EQUAL(st_label(ST_CONNECTED, ST_STOPPING), "Stopping");
    CU_ASSERT_STRING_EQUAL(st_label(ST_DISCONNECTED, ST_STOPPED), "Disconnected");
}

static void status_json_carries_the_counters_and_exchange_times(void)
{
    st_model_t m = {.conn = ST_CONNECTED, .phase = ST_MARKET_CLOSED, .persistent = 1,
                    .started_wall_us = at(9, 0), .connected_wall_us = at(9, 1),
                    .next_cycle_wall_us = at(9, 30), .last_rtt_us = 1500,
                    .reconnects = 2, .cycles_ok = 3, .cycles_failed = 1};
    char buf[1024];
    size_t n = st_render_json(&m, at(9, 11), buf, sizeof buf);
    CU_ASSERT_FATAL(n < sizeof buf);
    CU_ASSERT_EQUAL(buf[n - 1], '\n');
    cJSON *j = cJSON_Parse(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "label")->valuestring,
                           "API Connected (Market Closed)");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "connection")->valuestring, "connected");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "phase")->valuestring, "market closed");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "uptime_s")->valueint, 660);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "connected_for_s")->valueint, 600);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "last_ping_rtt_ms")->valuedouble, 1.5, 1e-9);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "reconnects")->valueint, 2);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "cycles_ok")->valueint, 3);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "cycles_failed")->valueint, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "next_cycle")->valuestring,
                           "2025-12-10T09:30:00-05:00");
    cJSON_Delete(j);
    m.last_rtt_us = -1;
    m.connected_wall_us = 0;
    m.next_cycle_wall_us = 0;
    st_render_json(&m, at(9, 11), buf, sizeof buf);
    j = cJSON_Parse(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "last_ping_rtt_ms")));
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "connected_since")));
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cycle")));
    cJSON_Delete(j);
}

static void status_file_is_replaced_whole_and_a_bad_folder_is_an_error(void)
{
    char dir[] = "/tmp/test_status.XXXXXX", path[64], tmp[72], err[256] = "";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_EQUAL(st_write_atomic(path, "{\"a\":1}\n", 8, err, sizeof err), 0);
    CU_ASSERT_EQUAL(st_write_atomic(path, "{}\n", 3, err, sizeof err), 0);
    char buf[16] = "";
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(buf, "{}\n");
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);
    unlink(path);
    rmdir(dir);
    CU_ASSERT_EQUAL(st_write_atomic("/nonexistent-dir/s.json", "{}", 2, err, sizeof err),
                    IO_ERR_SYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/s.json.tmp"));
}

static int status_traces;

static void count_status(void *data, io_us_t wall_us, const char *src, const char *ev, size_t n,
                         const io_trace_field_t *fields)
{
    (void)data, (void)wall_us, (void)src, (void)n, (void)fields;
    status_traces += strcmp(ev, "status") == 0;
}

static void status_commit_traces_label_changes_only(void)
{
    io_sim_config_t sc = {.seed = 1, .start_wall_us = at(9, 0), .net = IO_SIM_NET_DEFAULT};
    io_loop_t *loop = io_sim_loop_new(&sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    io_set_trace_sink(loop, count_status, NULL);
    io_set_log_sink(loop, IO_LOG_ERROR, tev_quiet_log, NULL);
    status_traces = 0;
    st_model_t init = {.conn = ST_DISCONNECTED, .phase = ST_STOPPED, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    st_commit(s);
    CU_ASSERT_EQUAL(status_traces, 0);
    st_model(s)->conn = ST_CONNECTED;
    st_model(s)->phase = ST_WAITING;
    st_commit(s);
    CU_ASSERT_EQUAL(status_traces, 1);
    CU_ASSERT_STRING_EQUAL(st_current_label(s), "API Connected");
    st_model(s)->phase = ST_CYCLE; /* same label */
    st_model(s)->last_rtt_us = 900;
    st_commit(s);
    CU_ASSERT_EQUAL(status_traces, 1);
    st_model(s)->phase = ST_MARKET_CLOSED;
    st_commit(s);
    CU_ASSERT_EQUAL(status_traces, 2);
    st_free(s);
    io_loop_free(loop);
}

static CU_TestInfo loop_tests[] = {
    {"persistent_mode_runs_a_cycle_every_interval_on_one_connection",
     persistent_mode_runs_a_cycle_every_interval_on_one_connection},
    {"no_cycle_runs_before_the_open_and_the_label_says_market_closed",
     no_cycle_runs_before_the_open_and_the_label_says_market_closed},
    {"every_cycle_starts_right_after_a_health_check_ping_answers",
     every_cycle_starts_right_after_a_health_check_ping_answers},
    {"a_cycle_due_while_an_idle_ping_is_out_waits_for_its_answer",
     a_cycle_due_while_an_idle_ping_is_out_waits_for_its_answer},
    {"per_cycle_mode_connects_for_each_cycle_and_hangs_up_after_it",
     per_cycle_mode_connects_for_each_cycle_and_hangs_up_after_it},
    {"per_cycle_mode_with_force_disconnect_hangs_up_with_rst",
     per_cycle_mode_with_force_disconnect_hangs_up_with_rst},
    {"after_the_close_it_stays_connected_and_pings_every_closed_interval",
     after_the_close_it_stays_connected_and_pings_every_closed_interval},
    {"before_the_open_it_pings_at_the_normal_cadence_again",
     before_the_open_it_pings_at_the_normal_cadence_again},
    {"idle_pings_follow_the_calendar_to_the_microsecond",
     idle_pings_follow_the_calendar_to_the_microsecond},
    {"always_open_pings_every_interval_whatever_the_calendar",
     always_open_pings_every_interval_whatever_the_calendar},
    {"a_weekend_is_slept_through_on_one_connection", a_weekend_is_slept_through_on_one_connection},
    {"connectivity_lost_stops_cycles_until_1102_then_runs_the_missed_one",
     connectivity_lost_stops_cycles_until_1102_then_runs_the_missed_one},
    {"connectivity_lost_mid_cycle_aborts_it_and_1101_runs_it_again",
     connectivity_lost_mid_cycle_aborts_it_and_1101_runs_it_again},
    {"session_lost_mid_cycle_fails_it_then_reconnects_and_runs_it_again",
     session_lost_mid_cycle_fails_it_then_reconnects_and_runs_it_again},
    {"sigint_mid_cycle_aborts_it_closes_with_fin_and_exits_zero",
     sigint_mid_cycle_aborts_it_closes_with_fin_and_exits_zero},
    {"sigterm_while_waiting_for_a_session_exits_zero_at_once",
     sigterm_while_waiting_for_a_session_exits_zero_at_once},
    {"a_cycle_due_while_reconnecting_runs_once_the_session_is_ready",
     a_cycle_due_while_reconnecting_runs_once_the_session_is_ready},
    {"a_due_cycle_is_skipped_if_the_market_closes_before_a_session_is_back",
     a_due_cycle_is_skipped_if_the_market_closes_before_a_session_is_back},
    {"client_id_in_use_on_reconnect_backs_off_and_then_gets_ready",
     client_id_in_use_on_reconnect_backs_off_and_then_gets_ready},
    {"status_file_follows_the_loop_and_ends_disconnected",
     status_file_follows_the_loop_and_ends_disconnected},
    {"loop_settings_must_be_positive", loop_settings_must_be_positive},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo backoff_tests[] = {
    {"backoff_doubles_from_initial_and_caps_at_max", backoff_doubles_from_initial_and_caps_at_max},
    {"backoff_jitter_spreads_the_delay_by_its_fraction_both_ways",
     backoff_jitter_spreads_the_delay_by_its_fraction_both_ways},
    {"backoff_draws_from_the_loop_and_restarts_after_a_reset",
     backoff_draws_from_the_loop_and_restarts_after_a_reset},
    {"backoff_config_problems_are_named", backoff_config_problems_are_named},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo status_tests[] = {
    {"status_labels_are_the_plans", status_labels_are_the_plans},
    {"status_json_carries_the_counters_and_exchange_times",
     status_json_carries_the_counters_and_exchange_times},
    {"status_file_is_replaced_whole_and_a_bad_folder_is_an_error",
     status_file_is_replaced_whole_and_a_bad_folder_is_an_error},
    {"status_commit_traces_label_changes_only", status_commit_traces_label_changes_only},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"loop", NULL, NULL, NULL, NULL, loop_tests},
    {"backoff", NULL, NULL, NULL, NULL, backoff_tests},
    {"status", NULL, NULL, NULL, NULL, status_tests},
    CU_SUITE_INFO_NULL,
};
