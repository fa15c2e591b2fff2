/* test_status.c - the status model's operator surface (issue 8): the
 * timeline ring, the error-code counters, health, the three renderings
 * (status JSON with its timeline, Prometheus metrics, the HTML page) and
 * the observer, first on hand-made models, then fed by the real runner
 * against the mock gateway core on the simulated network. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mockgw/faults.h"
#include "../mockgw/gateway.h"
#include "../proto/nytime.h"
#include "../runner/runner.h"
#include "../runner/status.h"
#include "../sim/io_sim.h"
#include "testlib.h"

#define SEC IO_US_PER_S
#define MS IO_US_PER_MS
#define PORT 4002

/* 2025-12-10 (a Wednesday) in New York. */
static io_us_t at(int h, int mi, int s)
{
    return ny_to_utc(2025, 12, 10, h, mi, s) * SEC;
}

static st_snapshot_t snapshot(enum st_conn conn, enum st_phase phase)
{
    st_snapshot_t s = {0};
    s.model = (st_model_t){.conn = conn, .phase = phase, .persistent = 1,
                           .started_wall_us = at(9, 0, 0), .last_rtt_us = -1};
    return s;
}

static void push(st_timeline_t *t, io_us_t wall, enum st_conn conn, enum st_phase phase)
{
    st_change_t c = {wall, conn, phase};
    st_timeline_push(t, &c);
}

/* A rendering into a heap buffer of exactly the size it asks for. */
static char *render(size_t (*fn)(const st_snapshot_t *, io_us_t, char *, size_t),
                    const st_snapshot_t *s, io_us_t now)
{
    size_t len = fn(s, now, NULL, 0);
    char *buf = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_EQUAL(fn(s, now, buf, len + 1), len);
    CU_ASSERT_EQUAL(strlen(buf), len);
    return buf;
}

static int has(const char *text, const char *needle)
{
    if (strstr(text, needle))
        return 1;
    fprintf(stderr, "\nmissing: %s\n", needle);
    return 0;
}

/* ---- the model's pure parts --------------------------------------------- */

static void timeline_keeps_the_last_changes_oldest_first_once_the_ring_wraps(void)
{
    st_timeline_t t = {0};
    CU_ASSERT_PTR_NULL(st_timeline_at(&t, 0));
    push(&t, 1, ST_CONNECTING, ST_WAITING);
    push(&t, 2, ST_CONNECTED, ST_WAITING);
    CU_ASSERT_EQUAL(t.count, 2);
    CU_ASSERT_EQUAL(st_timeline_at(&t, 0)->wall_us, 1);
    CU_ASSERT_EQUAL(st_timeline_at(&t, 1)->conn, ST_CONNECTED);
    CU_ASSERT_PTR_NULL(st_timeline_at(&t, 2));
    for (io_us_t w = 3; w <= ST_TIMELINE_MAX + 5; w++)
        push(&t, w, ST_RECONNECTING, ST_WAITING);
    CU_ASSERT_EQUAL(t.count, ST_TIMELINE_MAX);
    /* 1..ST_TIMELINE_MAX+5 pushed: the first five fell out. */
    CU_ASSERT_EQUAL(st_timeline_at(&t, 0)->wall_us, 6);
    CU_ASSERT_EQUAL(st_timeline_at(&t, ST_TIMELINE_MAX - 1)->wall_us, ST_TIMELINE_MAX + 5);
    CU_ASSERT_PTR_NULL(st_timeline_at(&t, ST_TIMELINE_MAX));
}

static void error_codes_count_apart_until_the_map_is_full_then_as_other(void)
{
    st_model_t m = {0};
    st_count_error(&m, 1100);
    st_count_error(&m, 2104);
    st_count_error(&m, 1100);
    CU_ASSERT_EQUAL(m.errors.n, 2);
    CU_ASSERT_EQUAL(m.errors.at[0].code, 1100);
    CU_ASSERT_EQUAL(m.errors.at[0].count, 2);
    CU_ASSERT_EQUAL(m.errors.at[1].count, 1);
    for (int32_t code = 1; m.errors.n < ST_CODES_MAX; code++)
        st_count_error(&m, code);
    st_count_error(&m, 9999);
    st_count_error(&m, 1100); /* known codes keep counting */
    CU_ASSERT_EQUAL(m.errors.n, ST_CODES_MAX);
    CU_ASSERT_EQUAL(m.errors.other, 1);
    CU_ASSERT_EQUAL(m.errors.at[0].count, 3);
}

static void healthy_means_a_live_session_or_a_per_cycle_runner_parked_on_purpose(void)
{
    st_model_t m = {.conn = ST_CONNECTED, .phase = ST_WAITING, .persistent = 1};
    CU_ASSERT_TRUE(st_healthy(&m));
    m.phase = ST_MARKET_CLOSED;
    CU_ASSERT_TRUE(st_healthy(&m));
    m.conn = ST_DEGRADED; /* the Gateway lost IB, but it answers the checks */
    CU_ASSERT_TRUE(st_healthy(&m));
    m.conn = ST_RECONNECTING;
    CU_ASSERT_FALSE(st_healthy(&m));
    m.conn = ST_CONNECTING;
    CU_ASSERT_FALSE(st_healthy(&m));
    m.conn = ST_DISCONNECTED;
    CU_ASSERT_FALSE(st_healthy(&m));
    m.persistent = 0;
    CU_ASSERT_TRUE(st_healthy(&m));
    m.conn = ST_CONNECTED;
    m.phase = ST_STOPPING;
    CU_ASSERT_FALSE(st_healthy(&m));
}

/* ---- renderings --------------------------------------------------------- */

static void status_json_carries_the_health_counters_errors_and_the_timeline(void)
{
    st_snapshot_t s = snapshot(ST_CONNECTED, ST_WAITING);
    s.model.pings_ok = 7;
    s.model.pings_failed = 1;
    st_count_error(&s.model, 1100);
    st_count_error(&s.model, 1100);
    push(&s.timeline, at(9, 0, 1), ST_CONNECTING, ST_WAITING);
    push(&s.timeline, at(9, 0, 2), ST_CONNECTED, ST_WAITING);
    char *text = render(st_render_status, &s, at(9, 1, 0));
    cJSON *j = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "label")->valuestring, "API Connected");
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "healthy")));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "health_checks_ok")->valueint, 7);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "health_checks_failed")->valueint, 1);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errors"), "1100")->valueint, 2);
    cJSON *tl = cJSON_GetObjectItem(j, "timeline");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(tl), 2);
    cJSON *first = cJSON_GetArrayItem(tl, 0), *last = cJSON_GetArrayItem(tl, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(first, "label")->valuestring, "Connecting");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(first, "at")->valuestring,
                           "2025-12-10T09:00:01-05:00");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(last, "label")->valuestring, "API Connected");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(last, "connection")->valuestring, "connected");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(last, "phase")->valuestring,
                           "waiting for cycle");
    cJSON_Delete(j);
    free(text);
}

static void metrics_are_prometheus_text_with_help_and_type_for_every_family(void)
{
    static const char *const families[][2] = {
        {"connection_state", "gauge"},     {"phase", "gauge"},
        {"healthy", "gauge"},              {"reconnects_total", "counter"},
        {"cycles_total", "counter"},       {"health_checks_total", "counter"},
        {"errors_total", "counter"},       {"ping_rtt_seconds", "gauge"},
        {"uptime_seconds", "gauge"},       {"connected_seconds", "gauge"},
    };
    st_snapshot_t s = snapshot(ST_RECONNECTING, ST_WAITING);
    char *text = render(st_render_metrics, &s, at(9, 0, 30));
    char line[160];
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        snprintf(line, sizeof line, "\n# TYPE ibgw_runner_%s %s\n", families[i][0],
                 families[i][1]);
        CU_ASSERT(has(text, line));
        snprintf(line, sizeof line, "# HELP ibgw_runner_%s ", families[i][0]);
        CU_ASSERT(has(text, line));
    }
    /* Every line is a comment or "name{labels} value"; the text ends in \n. */
    CU_ASSERT_EQUAL(text[strlen(text) - 1], '\n');
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
        CU_ASSERT(l[0] == '#' || (strncmp(l, "ibgw_runner_", 12) == 0 && strchr(l, ' ')));
    free(text);
}

static void metrics_set_the_current_state_to_one_and_carry_the_counters(void)
{
    st_snapshot_t s = snapshot(ST_CONNECTED, ST_CYCLE);
    s.model.connected_wall_us = at(9, 0, 10);
    s.model.last_rtt_us = 1500;
    s.model.reconnects = 2;
    s.model.cycles_ok = 3;
    s.model.cycles_failed = 1;
    s.model.pings_ok = 40;
    s.model.pings_failed = 2;
    st_count_error(&s.model, 1100);
    st_count_error(&s.model, 326);
    st_count_error(&s.model, 326);
    char *text = render(st_render_metrics, &s, at(9, 1, 0));
    static const char *const lines[] = {
        "\nibgw_runner_connection_state{state=\"connected\"} 1\n",
        "\nibgw_runner_connection_state{state=\"reconnecting\"} 0\n",
        "\nibgw_runner_phase{phase=\"cycle running\"} 1\n",
        "\nibgw_runner_phase{phase=\"waiting for cycle\"} 0\n",
        "\nibgw_runner_healthy 1\n",
        "\nibgw_runner_reconnects_total 2\n",
        "\nibgw_runner_cycles_total{result=\"ok\"} 3\n",
        "\nibgw_runner_cycles_total{result=\"failed\"} 1\n",
        "\nibgw_runner_health_checks_total{result=\"ok\"} 40\n",
        "\nibgw_runner_health_checks_total{result=\"timeout\"} 2\n",
        "\nibgw_runner_errors_total{code=\"1100\"} 1\n",
        "\nibgw_runner_errors_total{code=\"326\"} 2\n",
        "\nibgw_runner_ping_rtt_seconds 0.001500\n",
        "\nibgw_runner_uptime_seconds 60.000\n",
        "\nibgw_runner_connected_seconds 50.000\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        CU_ASSERT(has(text, lines[i]));
    CU_ASSERT_PTR_NULL(strstr(text, "code=\"other\""));
    free(text);
}

static void metrics_leave_out_the_rtt_sample_before_the_first_ping(void)
{
    st_snapshot_t s = snapshot(ST_CONNECTING, ST_WAITING);
    char *text = render(st_render_metrics, &s, at(9, 0, 1));
    CU_ASSERT(has(text, "# TYPE ibgw_runner_ping_rtt_seconds gauge\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "\nibgw_runner_ping_rtt_seconds "));
    CU_ASSERT(has(text, "\nibgw_runner_connected_seconds 0.000\n"));
    CU_ASSERT(has(text, "\nibgw_runner_healthy 0\n"));
    free(text);
}

static void page_shows_label_connection_phase_and_changes_newest_first_and_refreshes(void)
{
    st_snapshot_t s = snapshot(ST_CONNECTED, ST_MARKET_CLOSED);
    push(&s.timeline, at(9, 0, 1), ST_CONNECTED, ST_WAITING);
    push(&s.timeline, at(9, 0, 2), ST_RECONNECTING, ST_WAITING);
    push(&s.timeline, at(9, 0, 3), ST_CONNECTED, ST_MARKET_CLOSED);
    char *page = render(st_render_page, &s, at(9, 1, 0));
    CU_ASSERT(has(page, "<!DOCTYPE html>"));
    CU_ASSERT(has(page, "<title>API Connected (Market Closed)</title>"));
    CU_ASSERT(has(page, "<div id=\"label\" class=\"c-connected\">"
                        "API Connected (Market Closed)</div>"));
    CU_ASSERT(has(page, "<td id=\"connection\">connected</td>"));
    CU_ASSERT(has(page, "<td id=\"phase\">market closed</td>"));
    CU_ASSERT(has(page, "<td id=\"uptime\">60 s</td>"));
    /* The refresh: /status every second, redrawing the label and title. */
    CU_ASSERT(has(page, "fetch('/status'"));
    CU_ASSERT(has(page, "setInterval(refresh, 1000)"));
    CU_ASSERT(has(page, "document.title = s.label"));
    const char *newest = strstr(page, "<td>2025-12-10T09:00:03-05:00</td>");
    const char *middle = strstr(page, "<td>2025-12-10T09:00:02-05:00</td><td>Reconnecting</td>");
    const char *oldest = strstr(page, "<td>2025-12-10T09:00:01-05:00</td>");
    CU_ASSERT(newest && middle && oldest && newest < middle && middle < oldest);
    /* Self-contained: nothing loaded from elsewhere. */
    CU_ASSERT_PTR_NULL(strstr(page, "src="));
    CU_ASSERT_PTR_NULL(strstr(page, "href="));
    free(page);
}

static void renderings_cut_short_safely_and_say_what_they_need(void)
{
    st_snapshot_t s = snapshot(ST_CONNECTED, ST_WAITING);
    for (int i = 0; i < ST_TIMELINE_MAX; i++)
        push(&s.timeline, at(9, 0, i), i % 2 ? ST_CONNECTED : ST_RECONNECTING, ST_WAITING);
    for (int32_t code = 100; s.model.errors.n < ST_CODES_MAX; code++)
        st_count_error(&s.model, code);
    size_t (*fns[])(const st_snapshot_t *, io_us_t, char *, size_t) = {
        st_render_status, st_render_metrics, st_render_page};
    for (size_t i = 0; i < 3; i++) {
        char small[64];
        memset(small, 'x', sizeof small);
        size_t need = fns[i](&s, at(9, 1, 0), small, sizeof small);
        CU_ASSERT(need > sizeof small);
        CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
        char *whole = render(fns[i], &s, at(9, 1, 0));
        CU_ASSERT_EQUAL(strncmp(whole, small, sizeof small - 1), 0);
        free(whole);
    }
    /* The whole status JSON still parses with a full ring and map. */
    char *text = render(st_render_status, &s, at(9, 1, 0));
    cJSON *j = cJSON_Parse(text);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(j, "timeline")), ST_TIMELINE_MAX);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), ST_CODES_MAX);
    cJSON_Delete(j);
    free(text);
}

/* ---- the observer ------------------------------------------------------- */

static struct {
    int calls;
    int label_changes;
    st_snapshot_t last;
    char labels[32][32]; /* the label of each call that changed it */
} ob;

static void observe(void *data, const st_snapshot_t *snap, int label_changed)
{
    (void)data;
    ob.calls++;
    ob.last = *snap;
    if (label_changed && ob.label_changes < 32)
        snprintf(ob.labels[ob.label_changes++], sizeof ob.labels[0], "%s",
                 st_label(snap->model.conn, snap->model.phase));
}

static void quiet(void *data, io_us_t wall_us, enum io_log_level level, const char *src,
                  const char *text)
{
    (void)data, (void)wall_us, (void)level, (void)src, (void)text;
}

static io_loop_t *sim_loop(io_us_t start)
{
    io_sim_config_t sc = {.seed = 3, .start_wall_us = start, .net = IO_SIM_NET_DEFAULT};
    io_loop_t *loop = io_sim_loop_new(&sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    io_set_log_sink(loop, IO_LOG_ERROR, quiet, NULL);
    memset(&ob, 0, sizeof ob);
    return loop;
}

static void observer_sees_each_published_change_and_the_timeline_of_conn_and_phase(void)
{
    io_loop_t *loop = sim_loop(at(9, 0, 0));
    st_model_t init = {.conn = ST_DISCONNECTED, .phase = ST_STOPPED, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    st_observe(s, observe, NULL);
    CU_ASSERT_EQUAL(ob.calls, 1); /* the current snapshot, right away */
    CU_ASSERT_EQUAL(ob.label_changes, 0);
    st_commit(s); /* nothing changed: nothing published */
    CU_ASSERT_EQUAL(ob.calls, 1);
    st_model(s)->conn = ST_CONNECTED;
    st_model(s)->phase = ST_WAITING;
    st_commit(s);
    st_model(s)->phase = ST_CYCLE; /* same label, new phase: in the timeline */
    st_commit(s);
    st_model(s)->pings_ok++; /* a counter: published, not in the timeline */
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 4);
    CU_ASSERT_EQUAL(ob.label_changes, 1);
    CU_ASSERT_STRING_EQUAL(ob.labels[0], "API Connected");
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 1);
    CU_ASSERT_EQUAL(ob.last.timeline.count, 2);
    CU_ASSERT_EQUAL(st_timeline_at(&ob.last.timeline, 1)->phase, ST_CYCLE);
    CU_ASSERT_EQUAL(st_timeline_at(&ob.last.timeline, 1)->wall_us, at(9, 0, 0));
    st_observe(s, NULL, NULL);
    st_model(s)->conn = ST_RECONNECTING;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 4);
    st_free(s);
    io_loop_free(loop);
}

/* A commit that moves only counters or error codes publishes them whole
 * (every code counted, the overflow count) and leaves the label alone; a
 * new connection state recomputes it. */
static void counters_and_codes_publish_whole_and_only_conn_or_phase_move_the_label(void)
{
    io_loop_t *loop = sim_loop(at(9, 0, 0));
    st_model_t init = {.conn = ST_CONNECTED, .phase = ST_WAITING, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    st_observe(s, observe, NULL);
    st_count_error(st_model(s), 2104);
    st_count_error(st_model(s), 2106);
    st_count_error(st_model(s), 2104);
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 2);
    CU_ASSERT_EQUAL_FATAL(ob.last.model.errors.n, 2);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[0].code, 2104);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[0].count, 2);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[1].code, 2106);
    for (int32_t code = 1; code <= ST_CODES_MAX + 1; code++)
        st_count_error(st_model(s), code);
    st_commit(s);
    CU_ASSERT_EQUAL(ob.last.model.errors.n, ST_CODES_MAX);
    CU_ASSERT_EQUAL(ob.last.model.errors.other, 3);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[ST_CODES_MAX - 1].code, ST_CODES_MAX - 2);
    st_model(s)->pings_ok++;
    st_model(s)->last_rtt_us = 250;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 4);
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 1);
    CU_ASSERT_EQUAL(ob.last.model.last_rtt_us, 250);
    CU_ASSERT_EQUAL(ob.last.model.errors.other, 3);
    CU_ASSERT_EQUAL(ob.label_changes, 0);
    CU_ASSERT_STRING_EQUAL(st_current_label(s), "API Connected");
    st_model(s)->conn = ST_RECONNECTING;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.label_changes, 1);
    CU_ASSERT_STRING_EQUAL(ob.labels[0], "Reconnecting");
    st_model(s)->pings_failed++;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.label_changes, 1);
    CU_ASSERT_STRING_EQUAL(st_current_label(s), "Reconnecting");
    st_free(s);
    io_loop_free(loop);
}

/* The real runner against the mock gateway: what it publishes counts the
 * health checks and the Gateway's error codes, and the timeline and labels
 * follow a connectivity loss and a stale Gateway. */
/* The commit compares the health check's fields first: a change to any
 * one field alone, whichever place it has in that order, is published, and
 * a commit right after it publishes nothing. */
static void a_change_to_any_single_field_is_published_once(void)
{
    io_loop_t *loop = sim_loop(at(9, 0, 0));
    st_model_t init = {.conn = ST_CONNECTED, .phase = ST_WAITING, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    st_count_error(st_model(s), 2104);
    st_commit(s);
    st_observe(s, observe, NULL);
    int calls = ob.calls;
    for (int field = 0; field < 15; field++) {
        st_model_t *m = st_model(s);
        switch (field) {
        case 0: m->pings_ok++; break;
        case 1: m->last_rtt_us = 1234; break;
        case 2: m->conn = ST_DEGRADED; break;
        case 3: m->phase = ST_CYCLE; break;
        case 4: m->persistent = 1; break;
        case 5: m->started_wall_us = 5; break;
        case 6: m->connected_wall_us = 6; break;
        case 7: m->next_cycle_wall_us = 7; break;
        case 8: m->reconnects++; break;
        case 9: m->cycles_ok++; break;
        case 10: m->cycles_failed++; break;
        case 11: m->pings_failed++; break;
        case 12: st_count_error(m, 2104); break; /* a count, the same codes */
        case 13: st_count_error(m, 2106); break; /* a new code */
        case 14: m->errors.other++; break;
        }
        st_commit(s);
        CU_ASSERT_EQUAL(ob.calls, calls + 1);
        st_commit(s);
        CU_ASSERT_EQUAL(ob.calls, calls + 1);
        calls = ob.calls;
    }
    CU_ASSERT_EQUAL(ob.last.model.last_rtt_us, 1234);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[0].count, 2);
    CU_ASSERT_EQUAL(ob.last.model.errors.other, 1);
    st_free(s);
    io_loop_free(loop);
}

/* A health check's commit copies no code table (nothing counted since the
 * last one): the published codes stay as they were through many of them,
 * and a count after them, to a code already in the table (same n, same
 * other), still publishes the table with the new count. */
static void health_check_commits_keep_the_published_codes_and_a_later_count_moves_them(void)
{
    io_loop_t *loop = sim_loop(at(9, 0, 0));
    st_model_t init = {.conn = ST_CONNECTED, .phase = ST_WAITING, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    st_observe(s, observe, NULL);
    st_count_error(st_model(s), 2104);
    st_count_error(st_model(s), 2106);
    st_commit(s);
    for (int i = 0; i < 5; i++) {
        st_model(s)->pings_ok++;
        st_model(s)->last_rtt_us = 100 + i;
        st_commit(s);
        CU_ASSERT_EQUAL_FATAL(ob.last.model.errors.n, 2);
        CU_ASSERT_EQUAL(ob.last.model.errors.at[0].code, 2104);
        CU_ASSERT_EQUAL(ob.last.model.errors.at[0].count, 1);
        CU_ASSERT_EQUAL(ob.last.model.errors.at[1].code, 2106);
        CU_ASSERT_EQUAL(ob.last.model.errors.total, 2);
    }
    CU_ASSERT_EQUAL(ob.calls, 7);
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 5);
    st_count_error(st_model(s), 2106);
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 8);
    CU_ASSERT_EQUAL(ob.last.model.errors.n, 2);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[1].count, 2);
    CU_ASSERT_EQUAL(ob.last.model.errors.total, 3);
    /* Counted in the same commit as a health check: both published. */
    st_count_error(st_model(s), 2104);
    st_model(s)->pings_ok++;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[0].count, 2);
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 6);
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 9);
    st_free(s);
    io_loop_free(loop);
}

/* Without an observer a commit still traces a label change; observing
 * again hands over the model published meanwhile at once. */
static void commits_without_an_observer_publish_and_a_new_observer_gets_them(void)
{
    io_loop_t *loop = sim_loop(at(9, 0, 0));
    st_model_t init = {.conn = ST_CONNECTED, .phase = ST_WAITING, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    st_observe(s, NULL, NULL);
    CU_ASSERT_EQUAL(ob.calls, 0);
    st_model(s)->pings_ok = 3;
    st_count_error(st_model(s), 1100);
    st_model(s)->conn = ST_DEGRADED;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 0);
    CU_ASSERT_STRING_EQUAL(st_current_label(s), "Degraded (connectivity lost)");
    st_observe(s, observe, NULL);
    CU_ASSERT_EQUAL(ob.calls, 1);
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 3);
    CU_ASSERT_EQUAL(ob.last.model.errors.n, 1);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[0].code, 1100);
    CU_ASSERT_EQUAL(ob.last.timeline.count, 1);
    st_free(s);
    io_loop_free(loop);
}

static int status_traces;

static void count_status(void *data, io_us_t wall_us, const char *src, const char *ev,
                         size_t nfields, const io_trace_field_t *fields)
{
    (void)data, (void)wall_us, (void)src, (void)nfields, (void)fields;
    status_traces += strcmp(ev, "status") == 0;
}

/* With no file and no observer a commit only moves the label and the
 * timeline (a move is still traced); an observer that comes later gets
 * the model as it stands, counters and codes included, at once. */
static void commits_with_nobody_to_tell_keep_the_label_and_a_new_observer_gets_the_model(void)
{
    io_loop_t *loop = sim_loop(at(9, 0, 0));
    st_model_t init = {.conn = ST_CONNECTED, .phase = ST_WAITING, .last_rtt_us = -1};
    st_t *s;
    CU_ASSERT_EQUAL_FATAL(st_new(loop, NULL, &init, &s, NULL, 0), 0);
    status_traces = 0;
    io_set_trace_sink(loop, count_status, NULL);
    for (int i = 0; i < 3; i++) {
        st_model(s)->pings_ok++;
        st_model(s)->last_rtt_us = 100 + i;
        st_commit(s);
    }
    st_count_error(st_model(s), 2104);
    st_model(s)->reconnects = 2;
    st_commit(s);
    CU_ASSERT_STRING_EQUAL(st_current_label(s), "API Connected");
    st_model(s)->conn = ST_DEGRADED;
    st_commit(s);
    st_commit(s); /* nothing moved: no second change */
    CU_ASSERT_STRING_EQUAL(st_current_label(s), "Degraded (connectivity lost)");
    CU_ASSERT_EQUAL(status_traces, 1);
    st_model(s)->pings_ok++;
    st_model(s)->cycles_ok = 9; /* not committed: the observer still gets it */
    st_observe(s, observe, NULL);
    CU_ASSERT_EQUAL(ob.calls, 1);
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 4);
    CU_ASSERT_EQUAL(ob.last.model.last_rtt_us, 102);
    CU_ASSERT_EQUAL(ob.last.model.reconnects, 2);
    CU_ASSERT_EQUAL(ob.last.model.cycles_ok, 9);
    CU_ASSERT_EQUAL_FATAL(ob.last.model.errors.n, 1);
    CU_ASSERT_EQUAL(ob.last.model.errors.at[0].code, 2104);
    CU_ASSERT_EQUAL(ob.last.model.conn, ST_DEGRADED);
    CU_ASSERT_EQUAL_FATAL(ob.last.timeline.count, 1);
    CU_ASSERT_EQUAL(st_timeline_at(&ob.last.timeline, 0)->conn, ST_DEGRADED);
    /* Told from now on: a commit of what it already got tells nothing. */
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 1);
    st_model(s)->pings_ok++;
    st_commit(s);
    CU_ASSERT_EQUAL(ob.calls, 2);
    CU_ASSERT_EQUAL(ob.last.model.pings_ok, 5);
    st_free(s);
    io_loop_free(loop);
}

static void runner_publishes_health_checks_error_codes_and_its_label_changes(void)
{
    io_loop_t *loop = sim_loop(at(10, 0, 0));
    gw_config_t gc;
    gw_config_defaults(&gc);
    gc.port = PORT;
    gw_t *gw;
    rn_t *rn;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(gw_new(loop, &gc, &gw, err, sizeof err), 0);
    rn_config_t cfg;
    rn_config_defaults(&cfg);
    cfg.port = PORT;
    cfg.ping_timeout_us = 2 * SEC;
    cfg.reconnect_jitter = 0.0;
    cfg.on_status = observe;
    CU_ASSERT_EQUAL_FATAL(rn_new(loop, &cfg, &rn, err, sizeof err), 0);
    CU_ASSERT_EQUAL(ob.calls, 1);
    rn_start(rn);
    io_sim_run_until(loop, io_now_us(loop) + 30 * SEC);
    CU_ASSERT_STRING_EQUAL(st_label(ob.last.model.conn, ob.last.model.phase), "API Connected");
    uint32_t pings = ob.last.model.pings_ok;
    CU_ASSERT(pings >= 5);
    gw_fault_t f;
    gw_fault_init(&f, GW_FAULT_CONNECTIVITY_LOST);
    f.for_us = 10 * SEC;
    f.restored_code = 1102;
    CU_ASSERT_EQUAL(gw_fault_apply(gw, &f, err, sizeof err), 0);
    io_sim_run_until(loop, io_now_us(loop) + 20 * SEC);
    gw_fault_init(&f, GW_FAULT_STALE);
    f.for_us = 5 * SEC;
    CU_ASSERT_EQUAL(gw_fault_apply(gw, &f, err, sizeof err), 0);
    io_sim_run_until(loop, io_now_us(loop) + 40 * SEC);
    const st_model_t *m = &ob.last.model;
    CU_ASSERT(m->pings_ok > pings);
    CU_ASSERT(m->pings_failed >= 1);
    CU_ASSERT(m->reconnects >= 1);
    int lost = 0, restored = 0;
    for (size_t i = 0; i < m->errors.n; i++) {
        lost += m->errors.at[i].code == 1100 ? (int)m->errors.at[i].count : 0;
        restored += m->errors.at[i].code == 1102 ? (int)m->errors.at[i].count : 0;
    }
    CU_ASSERT_EQUAL(lost, 1);
    CU_ASSERT_EQUAL(restored, 1);
    static const char *const story[] = {"Connecting", "API Connected",
                                        "Degraded (connectivity lost)", "API Connected",
                                        "Reconnecting", "API Connected"};
    CU_ASSERT_EQUAL_FATAL(ob.label_changes, 6);
    for (size_t i = 0; i < 6; i++)
        CU_ASSERT_STRING_EQUAL(ob.labels[i], story[i]);
    CU_ASSERT_EQUAL(ob.last.timeline.count, 6);
    rn_free(rn);
    gw_free(gw);
    io_loop_free(loop);
}

static CU_TestInfo status_tests[] = {
    {"timeline_keeps_the_last_changes_oldest_first_once_the_ring_wraps",
     timeline_keeps_the_last_changes_oldest_first_once_the_ring_wraps},
    {"error_codes_count_apart_until_the_map_is_full_then_as_other",
     error_codes_count_apart_until_the_map_is_full_then_as_other},
    {"healthy_means_a_live_session_or_a_per_cycle_runner_parked_on_purpose",
     healthy_means_a_live_session_or_a_per_cycle_runner_parked_on_purpose},
    {"status_json_carries_the_health_counters_errors_and_the_timeline",
     status_json_carries_the_health_counters_errors_and_the_timeline},
    {"metrics_are_prometheus_text_with_help_and_type_for_every_family",
     metrics_are_prometheus_text_with_help_and_type_for_every_family},
    {"metrics_set_the_current_state_to_one_and_carry_the_counters",
     metrics_set_the_current_state_to_one_and_carry_the_counters},
    {"metrics_leave_out_the_rtt_sample_before_the_first_ping",
     metrics_leave_out_the_rtt_sample_before_the_first_ping},
    {"page_shows_label_connection_phase_and_changes_newest_first_and_refreshes",
     page_shows_label_connection_phase_and_changes_newest_first_and_refreshes},
    {"renderings_cut_short_safely_and_say_what_they_need",
     renderings_cut_short_safely_and_say_what_they_need},
    {"observer_sees_each_published_change_and_the_timeline_of_conn_and_phase",
     observer_sees_each_published_change_and_the_timeline_of_conn_and_phase},
    {"counters_and_codes_publish_whole_and_only_conn_or_phase_move_the_label",
     counters_and_codes_publish_whole_and_only_conn_or_phase_move_the_label},
    {"a_change_to_any_single_field_is_published_once",
     a_change_to_any_single_field_is_published_once},
    {"health_check_commits_keep_the_published_codes_and_a_later_count_moves_them",
     health_check_commits_keep_the_published_codes_and_a_later_count_moves_them},
    {"commits_without_an_observer_publish_and_a_new_observer_gets_them",
     commits_without_an_observer_publish_and_a_new_observer_gets_them},
    {"commits_with_nobody_to_tell_keep_the_label_and_a_new_observer_gets_the_model",
     commits_with_nobody_to_tell_keep_the_label_and_a_new_observer_gets_the_model},
    {"runner_publishes_health_checks_error_codes_and_its_label_changes",
     runner_publishes_health_checks_error_codes_and_its_label_changes},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"status", NULL, NULL, NULL, NULL, status_tests},
    CU_SUITE_INFO_NULL,
};
