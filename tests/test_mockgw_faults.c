/* test_mockgw_faults.c - the fault controller (faults.c), the gateway's held
 * faults and limits, the session output path they act on, and the control
 * server (ctl.c), driven over io_sim by the scripted clients of gwclient.h.
 * A client keeps each frame's fields joined by '|' with the virtual time it
 * was whole, every byte received, and the size of every delivery, so tests
 * can check what arrived, when, and in how many pieces. Traces are kept
 * as "ev key=value ..." lines with their wall time. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mockgw/ctl.h"
#include "../mockgw/faults.h"
#include "../mockgw/gateway.h"
#include "../proto/nytime.h"
#include "../proto/proto.h"
#include "gwclient.h"
#include "testlib.h"

#define T_SEED 42

/* Faults may make the gateway send what does not decode: clients keep the
 * decoder's refusal in dec_error instead of failing. */
static const gwc_opts_t T_ENV = {T_SEED, GWC_START_WALL_S, 0, NULL, 0};

static void env_init_at(uint64_t seed, int64_t start_wall_s)
{
    gwc_opts_t opts = T_ENV;
    opts.seed = seed;
    opts.start_wall_s = start_wall_s;
    gwc_env_init(&opts);
}

/* ---- applying faults --------------------------------------------------- */

/* Parses the words as `mockgw ctl` sends them and applies the fault. */
static int apply_words(const char *line)
{
    char buf[256], err[256] = "";
    char *argv[16];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 16;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    gw_fault_t f;
    int rc = gw_fault_parse_words(argc, argv, &f, err, sizeof err);
    if (rc == 0)
        rc = gw_fault_apply(gwc.gw, &f, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "\n%s: %s\n", line, err);
    return rc;
}

static const char farm_2104[] = "4|2|-1|2104|Market data farm connection is OK:usfarm|";
static const char farm_2106[] = "4|2|-1|2106|HMDS data farm connection is OK:ushmds|";
static const char farm_2158[] = "4|2|-1|2158|Sec-def data farm connection is OK:secdefnj|";
static const char farm_2103[] = "4|2|-1|2103|Market data farm connection is broken:usfarm|";
static const char farm_2105[] = "4|2|-1|2105|HMDS data farm connection is broken:ushmds|";
static const char farm_2157[] = "4|2|-1|2157|Sec-def data farm connection is broken:secdefnj|";

/* ---- parsing ----------------------------------------------------------- */

static gw_fault_t parsed(const char *line)
{
    char buf[256], err[256] = "";
    char *argv[16];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 16;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    gw_fault_t f;
    memset(&f, 0xAB, sizeof f);
    int rc = gw_fault_parse_words(argc, argv, &f, err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "\n%s: %s\n", line, err);
    return f;
}

static void parse_words_reads_every_command_and_its_defaults(void)
{
    gw_fault_t f = parsed("kill");
    CU_ASSERT(f.kind == GW_FAULT_KILL && f.how == IO_CLOSE_FIN && f.client_id == -1);
    f = parsed("kill rst --client-id 7");
    CU_ASSERT(f.how == IO_CLOSE_RST && f.client_id == 7);
    f = parsed("down 2m");
    CU_ASSERT(f.kind == GW_FAULT_DOWN && f.for_us == 120 * IO_US_PER_S && f.how == IO_CLOSE_FIN);
    f = parsed("down 1s --how rst");
    CU_ASSERT(f.how == IO_CLOSE_RST);
    f = parsed("refuse 30s");
    CU_ASSERT(f.kind == GW_FAULT_REFUSE && f.for_us == 30 * IO_US_PER_S);
    f = parsed("stale");
    CU_ASSERT(f.kind == GW_FAULT_STALE && f.for_us == 0 && f.only == 0);
    f = parsed("stale 30s --client-id 7 --only historical,current_time");
    CU_ASSERT(f.for_us == 30 * IO_US_PER_S && f.client_id == 7 &&
              f.only == (GW_KIND_HISTORICAL | GW_KIND_CURRENT_TIME));
    f = parsed("handshake_stall 1m");
    CU_ASSERT(f.kind == GW_FAULT_HANDSHAKE_STALL && f.for_us == 60 * IO_US_PER_S);
    f = parsed("latency 250ms 1h");
    CU_ASSERT(f.value_us == 250 * IO_US_PER_MS && f.for_us == 3600 * IO_US_PER_S);
    f = parsed("slice 3 10s");
    CU_ASSERT(f.kind == GW_FAULT_SLICE && f.max_bytes == 3 && f.for_us == 10 * IO_US_PER_S);
    f = parsed("garbage");
    CU_ASSERT(f.kind == GW_FAULT_GARBAGE && f.bytes == 64);
    f = parsed("garbage 100");
    CU_ASSERT(f.bytes == 100);
    f = parsed("connectivity_lost 45s");
    CU_ASSERT(f.restored_code == 1102 && f.for_us == 45 * IO_US_PER_S);
    f = parsed("connectivity_lost 45s 1101");
    CU_ASSERT(f.restored_code == 1101);
    f = parsed("client_id_in_use");
    CU_ASSERT(f.kind == GW_FAULT_CLIENT_ID_IN_USE && f.times == 1);
    f = parsed("client_id_in_use 3 --client-id 1");
    CU_ASSERT(f.times == 3 && f.client_id == 1);
    f = parsed("error 162");
    CU_ASSERT(f.kind == GW_FAULT_ERROR && f.code == 162 && f.req_id == -1 && f.text[0] == '\0');
    f = parsed("error 200 nope --req-id 4");
    CU_ASSERT(f.code == 200 && f.req_id == 4 && strcmp(f.text, "nope") == 0);
    f = parsed("farm_outage 5m");
    CU_ASSERT(f.kind == GW_FAULT_FARM_OUTAGE && f.for_us == 300 * IO_US_PER_S);
    f = parsed("clear --client-id 2");
    CU_ASSERT(f.kind == GW_FAULT_CLEAR && f.client_id == 2);
}

/* The words are refused with IO_ERR_INVAL and a reason naming `named`. */
static void expect_refused(const char *line, const char *named)
{
    char buf[256], err[256] = "";
    char *argv[16];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 16;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    gw_fault_t f;
    CU_ASSERT_EQUAL(gw_fault_parse_words(argc, argv, &f, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, named));
    if (!strstr(err, named))
        fprintf(stderr, "\n\"%s\" -> \"%s\" does not name \"%s\"\n", line, err, named);
}

static void parse_words_refuses_each_bad_form_and_names_the_word(void)
{
    expect_refused("", "no command");
    expect_refused("frobnicate", "unknown command \"frobnicate\"");
    expect_refused("kill sideways", "\"sideways\" is not fin or rst");
    expect_refused("kill fin rst", "too many arguments");
    expect_refused("down", "missing argument");
    expect_refused("down soon", "\"soon\" is not a duration");
    expect_refused("down 0s", "needs a duration above 0");
    expect_refused("down 2m --how sideways", "--how \"sideways\"");
    expect_refused("down 2m --client-id 7", "cannot target one");
    expect_refused("refuse 1m --client-id 7", "cannot target one");
    expect_refused("handshake_stall 1m --client-id 7", "cannot target one");
    expect_refused("stale 30s --only weather", "unknown message kind \"weather\"");
    expect_refused("stale --only", "--only needs a value");
    expect_refused("latency 250ms", "missing argument");
    expect_refused("latency 0s 1m", "needs a value above 0");
    expect_refused("slice 0 1m", "max \"0\"");
    expect_refused("slice many 1m", "max \"many\"");
    expect_refused("garbage -5", "bytes \"-5\"");
    expect_refused("garbage 9999999", "bytes \"9999999\"");
    expect_refused("connectivity_lost 1m 1103", "\"1103\" is not 1101 or 1102");
    expect_refused("client_id_in_use 0", "times \"0\"");
    expect_refused("error", "missing argument");
    expect_refused("error abc", "code \"abc\"");
    expect_refused("error 162 --req-id x", "--req-id \"x\"");
    expect_refused("farm_outage", "missing argument");
    expect_refused("clear now", "too many arguments");
    expect_refused("kill --client-id -3", "--client-id \"-3\"");
    expect_refused("kill --client-id", "needs a value");
    expect_refused("kill --only historical", "unknown option \"--only\"");
}

static void kind_names_and_message_kind_names_round_trip(void)
{
    for (int k = 0; k < GW_FAULT_KIND_COUNT; k++)
        CU_ASSERT_EQUAL(gw_fault_kind_from_name(gw_fault_kind_name((enum gw_fault_kind)k)), k);
    CU_ASSERT_EQUAL(gw_fault_kind_from_name("connectivity_lost"), GW_FAULT_CONNECTIVITY_LOST);
    CU_ASSERT_EQUAL(gw_fault_kind_from_name("nope"), -1);
    CU_ASSERT_EQUAL(gw_msg_kind_from_name("historical"), GW_KIND_HISTORICAL);
    CU_ASSERT_EQUAL(gw_msg_kind_from_name("errors"), GW_KIND_ERRORS);
    CU_ASSERT_EQUAL(gw_msg_kind_from_name("weather"), 0);
}

static void apply_refuses_bad_parameters_and_traces_nothing(void)
{
    gwc_env_start(&T_ENV);
    char err[256];
    gw_fault_t f;
    gw_fault_init(&f, GW_FAULT_DOWN);
    CU_ASSERT_EQUAL(gw_fault_apply(gwc.gw, &f, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "duration"));
    gw_fault_init(&f, GW_FAULT_CONNECTIVITY_LOST);
    f.for_us = IO_US_PER_S;
    f.restored_code = 1100;
    CU_ASSERT_EQUAL(gw_fault_apply(gwc.gw, &f, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1101 or 1102"));
    CU_ASSERT_EQUAL(gwc_trace_count_prefix("fault"), 0);
    CU_ASSERT(gw_listening(gwc.gw));
    gwc_env_stop();
}

/* ---- each fault's effect and its end ----------------------------------- */

static void kill_rst_for_one_client_id_resets_only_that_session(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = gwc_client_ready("1");
    gwc_client_t *b = gwc_client_ready("2");
    CU_ASSERT_EQUAL(apply_words("kill rst --client-id 2"), 0);
    gwc_run_ms(5);
    CU_ASSERT(b->reset);
    CU_ASSERT_FALSE(a->reset || a->eof);
    CU_ASSERT(gwc_trace_index("fault:kill how=rst client_id=2 sessions=1") >= 0);
    CU_ASSERT(gwc_client_gets_current_time(a));
    gwc_env_stop();
}

static void down_kills_refuses_connects_while_it_lasts_then_accepts_again(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("down 2m"), 0);
    gwc_run_ms(5);
    CU_ASSERT(a->eof);
    CU_ASSERT_FALSE(gw_listening(gwc.gw));
    int down = gwc_trace_index("fault:down for_us=120000000 how=fin client_id=-1");
    CU_ASSERT(down >= 0);
    CU_ASSERT(gwc_trace_index("session_closed conn=%llu client_id=1 by=gateway how=fin "
                          "reason=gateway down", a->conn) > down);
    gwc_client_t *early = gwc_client_dial(gw_port(gwc.gw));
    gwc_run_ms(119 * 1000);
    CU_ASSERT(early->refused);
    CU_ASSERT(gwc_trace_index("fault_end:down client_id=-1") < 0);
    gwc_run_ms(1000);
    CU_ASSERT(gwc_trace_index("fault_end:down client_id=-1") >= 0);
    gwc_client_t *late = gwc_client_dial(gw_port(gwc.gw));
    gwc_run_ms(1);
    CU_ASSERT_FALSE(late->refused);
    gwc_client_hello(late, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(late->nframes, 1);
    CU_ASSERT(gw_listening(gwc.gw));
    gwc_env_stop();
}

static void refuse_keeps_open_sessions_answering_while_connects_are_refused(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("refuse 30s"), 0);
    gwc_client_t *b = gwc_client_dial(gw_port(gwc.gw));
    gwc_run_ms(5);
    CU_ASSERT(b->refused);
    CU_ASSERT(gwc_client_gets_current_time(a));
    CU_ASSERT(gwc_trace_index("fault:refuse for_us=30000000 client_id=-1") >= 0);
    gwc_run_ms(30 * 1000);
    CU_ASSERT(gwc_trace_index("fault_end:refuse client_id=-1") >= 0);
    gwc_client_ready("2");
    gwc_env_stop();
}

static void stale_only_current_time_drops_it_but_answers_req_ids(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("stale 10s --only current_time"), 0);
    CU_ASSERT(gwc_trace_index("fault:stale on=1 client_id=-1 for_us=10000000 only=current_time") >=
              0);
    CU_ASSERT_FALSE(gwc_client_gets_current_time(c));
    gwc_client_send_fields(c, 3, "8", "1", "1");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), "9|1|1");
    gwc_run_ms(10 * 1000);
    CU_ASSERT(gwc_trace_index("fault_end:stale client_id=-1") >= 0);
    CU_ASSERT(gwc_client_gets_current_time(c));
    gwc_env_stop();
}

static void stale_only_historical_still_answers_current_time(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("stale --only historical"), 0);
    CU_ASSERT(gwc_client_gets_current_time(c));
    gwc_env_stop();
}

static void handshake_stall_mutes_sessions_accepted_during_it_for_good(void)
{
    gwc_env_start(&T_ENV);
    CU_ASSERT_EQUAL(apply_words("handshake_stall 10s"), 0);
    gwc_client_t *stalled = gwc_client_new();
    gwc_client_hello(stalled, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(11 * 1000);
    CU_ASSERT(gwc_trace_index("fault_end:handshake_stall client_id=-1") >= 0);
    CU_ASSERT_EQUAL(stalled->nraw, 0);
    CU_ASSERT_FALSE(stalled->eof);
    gwc_client_t *after = gwc_client_ready("2");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(after, 1), "15|1|DU1234567");
    /* still nothing, whatever it sends */
    gwc_client_hello(stalled, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(1000);
    CU_ASSERT_EQUAL(stalled->nraw, 0);
    gwc_env_stop();
}

static void latency_delays_every_answer_by_exactly_its_value(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("latency 500ms 1m"), 0);
    io_us_t sent = io_now_us(gwc.loop);
    gwc_client_send_fields(c, 2, "49", "1");
    /* 200 us to the gateway, 500 ms held, 200 us back. */
    io_sim_run_until(gwc.loop, sent + 500 * IO_US_PER_MS + 399);
    CU_ASSERT_EQUAL(c->nframes, 6);
    io_sim_run_until(gwc.loop, sent + 500 * IO_US_PER_MS + 400);
    CU_ASSERT_EQUAL(c->nframes, 7);
    CU_ASSERT_EQUAL(c->frame_us[6], sent + 500 * IO_US_PER_MS + 400);
    gwc_run_ms(60 * 1000);
    CU_ASSERT(gwc_trace_index("fault_end:latency client_id=-1") >= 0);
    sent = io_now_us(gwc.loop);
    CU_ASSERT(gwc_client_gets_current_time(c));
    CU_ASSERT_EQUAL(c->frame_us[7], sent + 400);
    gwc_env_stop();
}

static void slice_delivers_answers_in_pieces_of_at_most_max_that_reassemble(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT(c->largest_delivery > 3); /* the startup came whole */
    CU_ASSERT_EQUAL(apply_words("slice 3 1m"), 0);
    CU_ASSERT(gwc_trace_index("fault:slice max=3 for_us=60000000 client_id=-1") >= 0);
    size_t before = c->deliveries;
    c->largest_delivery = 0;
    io_us_t sent = io_now_us(gwc.loop);
    CU_ASSERT(gwc_client_gets_current_time(c)); /* 20 bytes: 7 pieces, 1 ms apart */
    CU_ASSERT_EQUAL(c->deliveries - before, 7);
    CU_ASSERT_EQUAL(c->largest_delivery, 3);
    CU_ASSERT_EQUAL(c->frame_us[6], sent + 6 * IO_US_PER_MS + 400);
    gwc_client_send_fields(c, 3, "8", "1", "1");
    gwc_run_ms(100);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), "9|1|1");
    CU_ASSERT_EQUAL(c->largest_delivery, 3);
    gwc_run_ms(60 * 1000);
    CU_ASSERT(gwc_trace_index("fault_end:slice client_id=-1") >= 0);
    c->largest_delivery = 0;
    CU_ASSERT(gwc_client_gets_current_time(c));
    CU_ASSERT_EQUAL(c->largest_delivery, 20);
    gwc_env_stop();
}

static void garbage_sends_a_length_above_the_limit_then_random_bytes(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    size_t before = c->nraw;
    CU_ASSERT_EQUAL(apply_words("garbage 40"), 0);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nraw - before, 44);
    const uint8_t *h = c->raw + before;
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    CU_ASSERT(len > PROTO_LEN_MAX);
    CU_ASSERT_EQUAL(c->dec_error, PROTO_ERR_LENGTH);
    CU_ASSERT(gwc_trace_index("fault:garbage bytes=40 client_id=-1") >= 0);
    gwc_env_stop();
}

/* The 44 garbage bytes one client receives in a fresh run with seed. */
static void garbage_of_a_run(uint64_t seed, uint8_t out[44])
{
    env_init_at(seed, GWC_START_WALL_S);
    gwc_env_start_gw();
    gwc_client_t *c = gwc_client_ready("1");
    size_t before = c->nraw;
    CU_ASSERT_EQUAL(apply_words("garbage 40"), 0);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nraw - before, 44);
    memcpy(out, c->raw + before, 44);
    gwc_env_stop();
}

static void same_seed_gives_the_same_garbage_bytes(void)
{
    uint8_t a[44], b[44], other[44];
    garbage_of_a_run(7, a);
    garbage_of_a_run(7, b);
    garbage_of_a_run(8, other);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, other, sizeof a), 0);
}

static void connectivity_lost_sends_1100_and_broken_farms_then_1101_after_the_duration(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    io_us_t start = io_now_us(gwc.loop);
    CU_ASSERT_EQUAL(apply_words("connectivity_lost 45s 1101"), 0);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 10);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), "4|2|-1|1100|Connectivity between IB and Trader "
                                           "Workstation has been lost.|");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), farm_2103);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 8), farm_2105);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 9), farm_2157);
    io_sim_run_until(gwc.loop, start + 45 * IO_US_PER_S + 400);
    CU_ASSERT_EQUAL(c->nframes, 14);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 10), "4|2|-1|1101|Connectivity between IB and Trader "
                                            "Workstation has been restored - data lost.|");
    CU_ASSERT_EQUAL(c->frame_us[10], start + 45 * IO_US_PER_S + 200);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 11), farm_2104);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 12), farm_2106);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 13), farm_2158);
    CU_ASSERT(gwc_trace_index("fault:connectivity_lost for_us=45000000 restored=1101 "
                          "client_id=-1") >= 0);
    CU_ASSERT(gwc_client_gets_current_time(c)); /* the socket stayed up throughout */
    gwc_env_stop();
}

static void connectivity_lost_with_1102_says_data_maintained(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("connectivity_lost 1s 1102"), 0);
    gwc_run_ms(1005);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 10), "4|2|-1|1102|Connectivity between IB and Trader "
                                            "Workstation has been restored - data maintained.|");
    gwc_env_stop();
}

/* hello and startApi with that id; 1 if it came out ready. */
static int start_with_id(const char *id)
{
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(2);
    gwc_client_start_api(c, id);
    gwc_run_ms(5);
    if (c->nframes == 2)
        CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 1), "4|2|-1|326|Unable to connect as the client id "
                                               "is already in use. Retry with a unique client "
                                               "id.|");
    CU_ASSERT(c->nframes == 2 ? c->eof : c->nframes == 6);
    return c->nframes == 6;
}

static void client_id_in_use_refuses_the_next_two_start_apis_then_lets_one_in(void)
{
    gwc_env_start(&T_ENV);
    CU_ASSERT_EQUAL(apply_words("client_id_in_use 2"), 0);
    CU_ASSERT_FALSE(start_with_id("7"));
    CU_ASSERT_FALSE(start_with_id("7"));
    CU_ASSERT(start_with_id("7"));
    CU_ASSERT(gwc_trace_index("fault:client_id_in_use times=2 client_id=-1") >= 0);
    CU_ASSERT(gwc_trace_index("fault_end:client_id_in_use client_id=-1") >= 0);
    gwc_env_stop();
}

static void client_id_in_use_for_one_id_lets_other_ids_in(void)
{
    gwc_env_start(&T_ENV);
    CU_ASSERT_EQUAL(apply_words("client_id_in_use 1 --client-id 7"), 0);
    CU_ASSERT(start_with_id("8"));
    CU_ASSERT_FALSE(start_with_id("7"));
    CU_ASSERT(start_with_id("7"));
    gwc_env_stop();
}

static void error_fault_sends_the_exact_err_msg(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("error 162 --req-id 4"), 0);
    CU_ASSERT_EQUAL(apply_words("error 10197 custom"), 0);
    gwc_run_ms(5);
    char want[256];
    snprintf(want, sizeof want, "4|2|4|162|%s|", proto_error_text(162));
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), want);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), "4|2|-1|10197|custom|");
    CU_ASSERT(gwc_trace_index("fault:error code=10197 req_id=-1 text=custom client_id=-1") >= 0);
    gwc_env_stop();
}

static void farm_outage_sends_2103_2105_then_2104_2106_and_keeps_the_socket(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("farm_outage 5m"), 0);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 8);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), farm_2103);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), farm_2105);
    gwc_run_ms(5 * 60 * 1000);
    CU_ASSERT_EQUAL(c->nframes, 10);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 8), farm_2104);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 9), farm_2106);
    CU_ASSERT_FALSE(c->eof || c->reset);
    CU_ASSERT(gwc_trace_index("fault_end:farm_outage client_id=-1") >= 0);
    gwc_env_stop();
}

static void fault_for_one_client_id_leaves_the_other_session_untouched(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = gwc_client_ready("1");
    gwc_client_t *b = gwc_client_ready("2");
    CU_ASSERT_EQUAL(apply_words("latency 5s 1m --client-id 2"), 0);
    CU_ASSERT_EQUAL(apply_words("error 162 --client-id 2"), 0);
    CU_ASSERT(gwc_client_gets_current_time(a));
    CU_ASSERT_EQUAL(a->nframes, 7);
    CU_ASSERT_FALSE(gwc_client_gets_current_time(b));
    gwc_run_ms(5000);
    CU_ASSERT_EQUAL(b->nframes, 8); /* the error, then currentTime, in order */
    CU_ASSERT_EQUAL(strncmp(gwc_frame_at(b, 6), "4|2|-1|162|", 11), 0);
    CU_ASSERT_EQUAL(strncmp(gwc_frame_at(b, 7), "49|1|", 5), 0);
    gwc_env_stop();
}

static void targeted_stale_follows_the_client_id_into_a_new_session(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = gwc_client_ready("7");
    CU_ASSERT_EQUAL(apply_words("stale 30s --only current_time --client-id 7"), 0);
    CU_ASSERT_EQUAL(apply_words("kill --client-id 7"), 0);
    gwc_client_t *b = gwc_client_ready("7");
    CU_ASSERT(a->eof);
    CU_ASSERT_FALSE(gwc_client_gets_current_time(b));
    gwc_env_stop();
}

static void clear_ends_every_active_fault_at_once(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    CU_ASSERT_EQUAL(apply_words("stale"), 0);
    CU_ASSERT_EQUAL(apply_words("latency 2s 1h"), 0);
    CU_ASSERT_EQUAL(apply_words("refuse 1h"), 0);
    CU_ASSERT_EQUAL(apply_words("farm_outage 1h"), 0);
    CU_ASSERT_EQUAL(gw_faults_info(gwc.gw, NULL, 0), 4);
    CU_ASSERT_EQUAL(apply_words("clear"), 0);
    CU_ASSERT_EQUAL(gw_faults_info(gwc.gw, NULL, 0), 0);
    CU_ASSERT(gw_listening(gwc.gw));
    int clear = gwc_trace_index("fault:clear client_id=-1");
    CU_ASSERT(clear >= 0);
    CU_ASSERT(gwc_trace_index("fault_end:stale client_id=-1") > clear);
    CU_ASSERT(gwc_trace_index("fault_end:latency client_id=-1") > clear);
    CU_ASSERT(gwc_trace_index("fault_end:refuse client_id=-1") > clear);
    CU_ASSERT(gwc_trace_index("fault_end:farm_outage client_id=-1") > clear);
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), farm_2104); /* stale ended before the farms */
    io_us_t sent = io_now_us(gwc.loop);
    CU_ASSERT(gwc_client_gets_current_time(c));
    CU_ASSERT_EQUAL(c->frame_us[c->nframes - 1], sent + 400);
    gwc_env_stop();
}

static void clear_for_one_client_id_keeps_the_others_faults(void)
{
    gwc_env_start(&T_ENV);
    CU_ASSERT_EQUAL(apply_words("stale --client-id 1"), 0);
    CU_ASSERT_EQUAL(apply_words("stale --client-id 2"), 0);
    CU_ASSERT_EQUAL(apply_words("clear --client-id 1"), 0);
    gw_fault_info_t info[4];
    CU_ASSERT_EQUAL(gw_faults_info(gwc.gw, info, 4), 1);
    CU_ASSERT_EQUAL(info[0].client_id, 2);
    CU_ASSERT_EQUAL(info[0].remaining_us, -1);
    gwc_env_stop();
}

/* The wall seconds of every trace line that starts with prefix. */
static size_t trace_walls(const char *prefix, int64_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < gwc.traces.n && n < cap; i++)
        if (strncmp(gwc.traces.lines[i], prefix, strlen(prefix)) == 0)
            out[n++] = gwc.traces.wall_us[i] / IO_US_PER_S;
    return n;
}

static void daily_restart_goes_down_at_2345_new_york_time_across_a_dst_change(void)
{
    /* Saturday 2025-11-01 12:00 UTC (EDT); DST ends on Sunday the 2nd. */
    env_init_at(T_SEED, ny_to_utc(2025, 11, 1, 8, 0, 0));
    gwc.cfg.daily_restart_min = 23 * 60 + 45;
    gwc.cfg.daily_restart_down_us = 2 * 60 * IO_US_PER_S;
    gwc_env_start_gw();
    gwc_run_ms(50LL * 3600 * 1000);
    int64_t downs[4], ends[4];
    CU_ASSERT_EQUAL_FATAL(trace_walls("fault:down ", downs, 4), 2);
    CU_ASSERT_EQUAL_FATAL(trace_walls("fault_end:down", ends, 4), 2);
    CU_ASSERT_EQUAL(downs[0], ny_to_utc(2025, 11, 1, 23, 45, 0));
    CU_ASSERT_EQUAL(downs[0], 1762055100); /* 2025-11-02 03:45 UTC, EDT */
    CU_ASSERT_EQUAL(downs[1], ny_to_utc(2025, 11, 2, 23, 45, 0));
    CU_ASSERT_EQUAL(downs[1] - downs[0], 25 * 3600); /* the day DST ended */
    CU_ASSERT_EQUAL(ends[0] - downs[0], 120);
    CU_ASSERT_EQUAL(ends[1] - downs[1], 120);
    CU_ASSERT(gwc_trace_index("fault:down for_us=120000000 how=fin client_id=-1") >= 0);
    CU_ASSERT(gw_listening(gwc.gw));
    gwc_env_stop();
}

static void daily_restart_refuses_connects_while_down(void)
{
    env_init_at(T_SEED, ny_to_utc(2025, 12, 10, 23, 44, 0));
    gwc.cfg.daily_restart_min = 23 * 60 + 45;
    gwc_env_start_gw();
    gwc_client_t *a = gwc_client_ready("1");
    gwc_run_ms(61 * 1000);
    CU_ASSERT(a->eof);
    gwc_client_t *b = gwc_client_dial(gw_port(gwc.gw));
    gwc_run_ms(5);
    CU_ASSERT(b->refused);
    gwc_run_ms(2 * 60 * 1000);
    gwc_client_ready("1");
    gwc_env_stop();
}

/* ---- robustness -------------------------------------------------------- */

static void client_that_never_reads_is_dropped_at_the_bound_and_others_still_answer(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.output_max = 4096;
    gwc_env_start_gw();
    gwc_client_t *other = gwc_client_ready("1");
    gwc_client_t *slow = gwc_client_ready("2");
    for (int i = 0; i < 300; i++) /* 300 answers of 20 bytes: 6000 bytes */
        gwc_client_send_fields(slow, 2, "49", "1");
    /* Answers now stay in flight for an hour: a client that never reads. */
    io_sim_net_t stuck = {3600 * IO_US_PER_S, 0, 0};
    io_sim_set_net(gwc.loop, &stuck);
    gwc_run_ms(1);
    CU_ASSERT(gwc_trace_index("session_closed conn=%llu client_id=2 by=gateway how=rst "
                          "reason=output bound exceeded", slow->conn) >= 0);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    io_sim_net_t normal = IO_SIM_NET_DEFAULT;
    io_sim_set_net(gwc.loop, &normal);
    CU_ASSERT(gwc_client_gets_current_time(other));
    gwc_env_stop();
}

static void forty_connects_at_once_serve_thirty_two_and_close_the_rest(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c[40];
    for (int i = 0; i < 40; i++)
        c[i] = gwc_client_dial(gw_port(gwc.gw));
    gwc_run_ms(5);
    int open = 0, closed = 0;
    for (int i = 0; i < 40; i++) {
        open += !c[i]->eof && !c[i]->refused;
        closed += c[i]->eof;
    }
    CU_ASSERT_EQUAL(open, GW_SESSIONS_MAX);
    CU_ASSERT_EQUAL(closed, 40 - GW_SESSIONS_MAX);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), GW_SESSIONS_MAX);
    gw_counters_t counters;
    gw_get_counters(gwc.gw, &counters);
    CU_ASSERT_EQUAL(counters.turned_away, 40 - GW_SESSIONS_MAX);
    gwc_client_hello(c[0], PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c[0]->nframes, 1);
    gwc_env_stop();
}

static void bad_input_on_one_session_leaves_the_others_answering(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *ok = gwc_client_ready("1");
    gwc_client_t *early = gwc_client_new();
    gwc_client_hello(early, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_client_send_fields(early, 2, "49", "1"); /* a request before startApi */
    gwc_client_t *huge = gwc_client_ready("2");
    static const uint8_t oversized[] = {0x01, 0x00, 0x00, 0x00, '4', '9', 0};
    gwc_client_send(huge, oversized, sizeof oversized);
    gwc_run_ms(5);
    CU_ASSERT(early->eof);
    CU_ASSERT(huge->reset);
    CU_ASSERT(gwc_trace_index("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                          "reason=request before startApi", early->conn) >= 0);
    CU_ASSERT(gwc_trace_index("session_closed conn=%llu client_id=2 by=gateway how=rst "
                          "reason=protocol error", huge->conn) >= 0);
    CU_ASSERT(gwc_client_gets_current_time(ok));
    gwc_env_stop();
}

/* ---- the control server ------------------------------------------------ */

static void ctl_status_lists_sessions_faults_and_counters_as_json(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_ready("7");
    char out[GW_CTL_ANSWER_MAX];
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "stale 30s --client-id 7", out, sizeof out), 1);
    CU_ASSERT_STRING_EQUAL(out, "{\"ok\":true,\"applied\":\"stale\",\"client_id\":7}");
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "client_id_in_use 2", out, sizeof out), 1);
    gwc_run_ms(10 * 1000);
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "status", out, sizeof out), 1);
    cJSON *st = cJSON_Parse(out);
    CU_ASSERT_FATAL(cJSON_IsObject(st));
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(st, "ok")));
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(st, "listening")));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(st, "port")->valueint, gw_port(gwc.gw));
    cJSON *sessions = cJSON_GetObjectItem(st, "sessions");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(sessions), 1);
    cJSON *s0 = cJSON_GetArrayItem(sessions, 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(s0, "client_id")->valueint, 7);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(s0, "state")->valuestring, "ready");
    cJSON *faults = cJSON_GetObjectItem(st, "faults");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(faults), 2);
    cJSON *f0 = cJSON_GetArrayItem(faults, 0), *f1 = cJSON_GetArrayItem(faults, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(f0, "kind")->valuestring, "stale");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(f0, "remaining_ms")->valueint, 20000);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(f1, "kind")->valuestring, "client_id_in_use");
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(f1, "remaining_ms")));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(f1, "times")->valueint, 2);
    cJSON *counters = cJSON_GetObjectItem(st, "counters");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(counters, "accepted")->valueint, 1);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(counters, "faults")->valueint, 2);
    cJSON_Delete(st);
    gwc_env_stop();
}

static void ctl_refuses_a_bad_command_with_the_reason(void)
{
    gwc_env_start(&T_ENV);
    char out[GW_CTL_ANSWER_MAX];
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "down soon", out, sizeof out), 0);
    cJSON *ans = cJSON_Parse(out);
    CU_ASSERT_FATAL(cJSON_IsObject(ans));
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(ans, "ok")));
    CU_ASSERT_PTR_NOT_NULL(strstr(cJSON_GetObjectItem(ans, "error")->valuestring,
                                  "\"soon\" is not a duration"));
    cJSON_Delete(ans);
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "status now", out, sizeof out), 0);
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "   ", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"ok\":false,\"error\":\"empty command\"}");
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, "error 1 \"open", out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "quote"));
    gwc_env_stop();
}

static void ctl_quoted_words_arrive_whole(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_ready("1");
    char line[256] = "";
    size_t len = 0;
    const char *words[] = {"error", "200", "say \"hi\" \\ there", "--req-id", "3"};
    for (size_t i = 0; i < 5; i++)
        len = gw_ctl_quote(words[i], line, len, sizeof line);
    CU_ASSERT_EQUAL(len, strlen(line));
    char out[GW_CTL_ANSWER_MAX];
    CU_ASSERT_EQUAL(gw_ctl_execute(gwc.gw, line, out, sizeof out), 1);
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), "4|2|3|200|say \"hi\" \\ there|");
    char small[8] = "";
    CU_ASSERT(gw_ctl_quote("a b c d e", small, 0, sizeof small) >= sizeof small);
    gwc_env_stop();
}

static void ctl_server_answers_one_json_line_per_command_line(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *s = gwc_client_ready("7");
    gw_ctl_t *ctl = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gw_ctl_new(gwc.loop, gwc.gw, "127.0.0.1", 0, &ctl, err, sizeof err), 0);
    gwc_client_t *c = gwc_client_dial(gw_ctl_port(ctl));
    c->text = 1;
    static const char cmds[] = "kill rst --client-id 7\r\nfrobnicate\nstatus\n";
    gwc_client_send(c, cmds, sizeof cmds - 1);
    gwc_run_ms(5);
    CU_ASSERT(s->reset);
    c->raw[c->nraw] = '\0';
    char *lines[4] = {NULL};
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r((char *)c->raw, "\n", &save); l && n < 4;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(lines[0], "{\"ok\":true,\"applied\":\"kill\",\"client_id\":7}");
    CU_ASSERT_STRING_EQUAL(lines[1],
                           "{\"ok\":false,\"error\":\"unknown command \\\"frobnicate\\\"\"}");
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[2], "\"sessions\":[]"));
    gw_ctl_free(ctl);
    gwc_env_stop();
}

static void ctl_server_closes_a_connection_whose_line_never_ends(void)
{
    gwc_env_start(&T_ENV);
    gw_ctl_t *ctl = NULL;
    CU_ASSERT_EQUAL_FATAL(gw_ctl_new(gwc.loop, gwc.gw, "127.0.0.1", 0, &ctl, NULL, 0), 0);
    gwc_client_t *c = gwc_client_dial(gw_ctl_port(ctl));
    c->text = 1;
    char junk[GW_CTL_LINE_MAX + 10];
    memset(junk, 'x', sizeof junk);
    gwc_client_send(c, junk, sizeof junk);
    gwc_run_ms(5);
    CU_ASSERT(c->eof);
    c->raw[c->nraw] = '\0';
    CU_ASSERT_STRING_EQUAL((char *)c->raw, "{\"ok\":false,\"error\":\"command line too long\"}\n");
    gw_ctl_free(ctl);
    gwc_env_stop();
}

static CU_TestInfo parse_tests[] = {
    {"parse_words_reads_every_command_and_its_defaults",
     parse_words_reads_every_command_and_its_defaults},
    {"parse_words_refuses_each_bad_form_and_names_the_word",
     parse_words_refuses_each_bad_form_and_names_the_word},
    {"kind_names_and_message_kind_names_round_trip",
     kind_names_and_message_kind_names_round_trip},
    {"apply_refuses_bad_parameters_and_traces_nothing",
     apply_refuses_bad_parameters_and_traces_nothing},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fault_tests[] = {
    {"kill_rst_for_one_client_id_resets_only_that_session",
     kill_rst_for_one_client_id_resets_only_that_session},
    {"down_kills_refuses_connects_while_it_lasts_then_accepts_again",
     down_kills_refuses_connects_while_it_lasts_then_accepts_again},
    {"refuse_keeps_open_sessions_answering_while_connects_are_refused",
     refuse_keeps_open_sessions_answering_while_connects_are_refused},
    {"stale_only_current_time_drops_it_but_answers_req_ids",
     stale_only_current_time_drops_it_but_answers_req_ids},
    {"stale_only_historical_still_answers_current_time",
     stale_only_historical_still_answers_current_time},
    {"handshake_stall_mutes_sessions_accepted_during_it_for_good",
     handshake_stall_mutes_sessions_accepted_during_it_for_good},
    {"latency_delays_every_answer_by_exactly_its_value",
     latency_delays_every_answer_by_exactly_its_value},
    {"slice_delivers_answers_in_pieces_of_at_most_max_that_reassemble",
     slice_delivers_answers_in_pieces_of_at_most_max_that_reassemble},
    {"garbage_sends_a_length_above_the_limit_then_random_bytes",
     garbage_sends_a_length_above_the_limit_then_random_bytes},
    {"same_seed_gives_the_same_garbage_bytes", same_seed_gives_the_same_garbage_bytes},
    {"connectivity_lost_sends_1100_and_broken_farms_then_1101_after_the_duration",
     connectivity_lost_sends_1100_and_broken_farms_then_1101_after_the_duration},
    {"connectivity_lost_with_1102_says_data_maintained",
     connectivity_lost_with_1102_says_data_maintained},
    {"client_id_in_use_refuses_the_next_two_start_apis_then_lets_one_in",
     client_id_in_use_refuses_the_next_two_start_apis_then_lets_one_in},
    {"client_id_in_use_for_one_id_lets_other_ids_in",
     client_id_in_use_for_one_id_lets_other_ids_in},
    {"error_fault_sends_the_exact_err_msg", error_fault_sends_the_exact_err_msg},
    {"farm_outage_sends_2103_2105_then_2104_2106_and_keeps_the_socket",
     farm_outage_sends_2103_2105_then_2104_2106_and_keeps_the_socket},
    {"fault_for_one_client_id_leaves_the_other_session_untouched",
     fault_for_one_client_id_leaves_the_other_session_untouched},
    {"targeted_stale_follows_the_client_id_into_a_new_session",
     targeted_stale_follows_the_client_id_into_a_new_session},
    {"clear_ends_every_active_fault_at_once", clear_ends_every_active_fault_at_once},
    {"clear_for_one_client_id_keeps_the_others_faults",
     clear_for_one_client_id_keeps_the_others_faults},
    {"daily_restart_goes_down_at_2345_new_york_time_across_a_dst_change",
     daily_restart_goes_down_at_2345_new_york_time_across_a_dst_change},
    {"daily_restart_refuses_connects_while_down", daily_restart_refuses_connects_while_down},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo robustness_tests[] = {
    {"client_that_never_reads_is_dropped_at_the_bound_and_others_still_answer",
     client_that_never_reads_is_dropped_at_the_bound_and_others_still_answer},
    {"forty_connects_at_once_serve_thirty_two_and_close_the_rest",
     forty_connects_at_once_serve_thirty_two_and_close_the_rest},
    {"bad_input_on_one_session_leaves_the_others_answering",
     bad_input_on_one_session_leaves_the_others_answering},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo ctl_tests[] = {
    {"ctl_status_lists_sessions_faults_and_counters_as_json",
     ctl_status_lists_sessions_faults_and_counters_as_json},
    {"ctl_refuses_a_bad_command_with_the_reason", ctl_refuses_a_bad_command_with_the_reason},
    {"ctl_quoted_words_arrive_whole", ctl_quoted_words_arrive_whole},
    {"ctl_server_answers_one_json_line_per_command_line",
     ctl_server_answers_one_json_line_per_command_line},
    {"ctl_server_closes_a_connection_whose_line_never_ends",
     ctl_server_closes_a_connection_whose_line_never_ends},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"parse", NULL, NULL, NULL, NULL, parse_tests},
    {"faults", NULL, NULL, NULL, NULL, fault_tests},
    {"robustness", NULL, NULL, NULL, NULL, robustness_tests},
    {"ctl", NULL, NULL, NULL, NULL, ctl_tests},
    CU_SUITE_INFO_NULL,
};
