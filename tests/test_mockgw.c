/* test_mockgw.c - the mock gateway core (gateway, session, registry) driven
 * over io_sim by the scripted clients of gwclient.h: they send exact bytes
 * and decode the replies with proto's decoder, each frame kept as its fields
 * joined by '|' ("4|2|-1|2104|...|" ends in '|' for a trailing ""). Traces
 * and log lines are recorded so tests can assert on them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mockgw/gateway.h"
#include "../mockgw/registry.h"
#include "../proto/proto.h"
#include "gwclient.h"
#include "testlib.h"

/* Every trace here comes from the gateway, and every reply must decode. */
static const gwc_opts_t T_ENV = {42, GWC_START_WALL_S, 0, "gateway", 1};

/* A ready client (gwc_client_ready) that also got a fresh gateway's nextValidId. */
static gwc_client_t *client_ready(const char *client_id)
{
    gwc_client_t *c = gwc_client_ready(client_id);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 2), "9|1|1");
    return c;
}

static const char farm_2104[] = "4|2|-1|2104|Market data farm connection is OK:usfarm|";
static const char farm_2106[] = "4|2|-1|2106|HMDS data farm connection is OK:ushmds|";
static const char farm_2158[] = "4|2|-1|2158|Sec-def data farm connection is OK:secdefnj|";

/* ---- handshake and startup --------------------------------------------- */

static void worked_example_from_the_protocol_notes_gives_the_exact_replies(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    static const uint8_t hello[] = {'A', 'P', 'I', 0, 0, 0, 0, 9, 'v', '1', '5', '7',
                                    '.', '.', '1', '7', '8'};
    gwc_client_send(c, hello, sizeof hello);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 0), "178|20251210 14:25:00 UTC");
    CU_ASSERT_EQUAL(c->nraw, 30);

    static const uint8_t start_api[] = {0, 0, 0, 8, '7', '1', 0, '2', 0, '7', 0, 0};
    gwc_client_send(c, start_api, sizeof start_api);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 1), "15|1|DU1234567");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 2), "9|1|1");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 3), farm_2104);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 4), farm_2106);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 5), farm_2158);
    /* managedAccounts, nextValidId and the 2104 notice, byte for byte. */
    static const uint8_t startup[] = {
        0, 0, 0, 0x0f, '1', '5', 0, '1', 0, 'D', 'U', '1', '2', '3', '4', '5', '6', '7', 0,
        0, 0, 0, 0x06, '9', 0, '1', 0, '1', 0,
        0, 0, 0, 0x36, '4', 0, '2', 0, '-', '1', 0, '2', '1', '0', '4', 0,
        'M', 'a', 'r', 'k', 'e', 't', ' ', 'd', 'a', 't', 'a', ' ', 'f', 'a', 'r', 'm', ' ',
        'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n', ' ', 'i', 's', ' ', 'O', 'K', ':',
        'u', 's', 'f', 'a', 'r', 'm', 0, 0};
    CU_ASSERT_FATAL(c->nraw >= 30 + sizeof startup);
    CU_ASSERT_EQUAL(memcmp(c->raw + 30, startup, sizeof startup), 0);
    CU_ASSERT(gwc_traced("session_ready conn=%llu client_id=7 version=178", c->conn));
    gwc_env_stop();
}

static void greeting_in_two_writes_is_answered_once_it_is_whole(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_send(c, "API", 4);
    gwc_run_ms(50);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    static const uint8_t version[] = {0, 0, 0, 9, 'v', '1', '5', '7', '.', '.', '1', '7', '8'};
    gwc_client_send(c, version, sizeof version);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 0), "178|20251210 14:25:00 UTC");
    gwc_env_stop();
}

static void hello_and_start_api_in_one_write_are_both_handled(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    static const uint8_t both[] = {'A', 'P', 'I', 0, 0, 0, 0, 9, 'v', '1', '5', '7', '.', '.',
                                   '1', '7', '8', 0, 0, 0, 8, '7', '1', 0, '2', 0, '3', 0, 0};
    gwc_client_send(c, both, sizeof both);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 1), "15|1|DU1234567");
    CU_ASSERT(gwc_traced("session_ready conn=%llu client_id=3 version=178", c->conn));
    gwc_env_stop();
}

/* Frames in one write arrive in one delivery: startApi and the requests
 * after it are all handled, across the session's move to ready. */
static void start_api_and_requests_in_one_write_are_all_answered_in_order(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(5);
    static const uint8_t three[] = {0, 0, 0, 8, '7', '1', 0, '2', 0, '3', 0, 0,
                                    0, 0, 0, 5, '4', '9', 0, '1', 0,
                                    0, 0, 0, 6, '8', 0, '1', 0, '1', 0};
    gwc_client_send(c, three, sizeof three);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nframes, 8);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 1), "15|1|DU1234567");
    char want[64];
    snprintf(want, sizeof want, "49|1|%d", GWC_START_WALL_S);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), want);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), "9|1|1");
    gwc_env_stop();
}

/* A request cut anywhere is answered once whole, and the whole ones that
 * came with its last piece after it. */
static void request_cut_across_writes_is_answered_with_the_ones_after_it(void)
{
    static const uint8_t two[] = {0, 0, 0, 5, '4', '9', 0, '1', 0,
                                  0, 0, 0, 6, '8', 0, '1', 0, '1', 0};
    for (size_t cut = 1; cut < 9; cut++) {
        gwc_env_start(&T_ENV);
        gwc_client_t *c = client_ready("1");
        gwc_client_send(c, two, cut);
        gwc_run_ms(5);
        CU_ASSERT_EQUAL(c->nframes, 6);
        gwc_client_send(c, two + cut, sizeof two - cut);
        gwc_run_ms(5);
        CU_ASSERT_EQUAL_FATAL(c->nframes, 8);
        CU_ASSERT_EQUAL(strncmp(gwc_frame_at(c, 6), "49|1|", 5), 0);
        CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), "9|1|1");
        CU_ASSERT(gwc_client_gets_current_time(c));
        gwc_env_stop();
    }
}

/* The first request closes the session: the ones after it in the same
 * delivery are never read. */
static void requests_after_the_one_that_closes_the_session_are_not_read(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(5);
    static const uint8_t two[] = {0, 0, 0, 5, '4', '9', 0, '1', 0,
                                  0, 0, 0, 8, '7', '1', 0, '2', 0, '3', 0, 0};
    gwc_client_send(c, two, sizeof two);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT(c->eof);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                     "reason=request before startApi", c->conn));
    CU_ASSERT_FALSE(gwc_traced("session_ready conn=%llu client_id=3 version=178", c->conn));
    gwc_env_stop();
}

static void chunked_network_delivery_still_completes_the_startup(void)
{
    gwc_env_start(&T_ENV);
    io_sim_net_t net = {200, 150, 1};
    io_sim_set_net(gwc.loop, &net);
    gwc_client_t *c = client_ready("5");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 1), "15|1|DU1234567");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 3), farm_2104);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 5), farm_2158);
    CU_ASSERT(gwc_client_gets_current_time(c));
    gwc_env_stop();
}

static void client_max_above_178_is_answered_with_178(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, 100, 193);
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 0), "178|20251210 14:25:00 UTC");
    gwc_client_start_api(c, "1");
    gwc_run_ms(5);
    CU_ASSERT(gwc_traced("session_ready conn=%llu client_id=1 version=178", c->conn));
    gwc_env_stop();
}

static void client_below_the_minimum_is_closed_with_nothing_sent(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, 100, 150);
    gwc_run_ms(5);
    CU_ASSERT(c->eof);
    CU_ASSERT_FALSE(c->reset);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 0);
    CU_ASSERT(gwc_traced("reject conn=%llu client_id=-1 code=0", c->conn));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "version refused"));
    gwc_env_stop();
}

static void several_accounts_are_sent_comma_joined(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.accounts[0] = "ACC1";
    gwc.cfg.accounts[1] = "ACC2";
    gwc.cfg.naccounts = 2;
    gwc_env_start_gw();
    gwc_client_t *c = client_ready("1");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 1), "15|1|ACC1,ACC2");
    gwc_env_stop();
}

/* ---- client ids -------------------------------------------------------- */

static void second_session_with_a_live_client_id_gets_326_then_eof(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("7");
    gwc_client_t *b = gwc_client_new();
    gwc_client_hello(b, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(2);
    gwc_client_start_api(b, "7");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(b->nframes, 2);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(b, 1), "4|2|-1|326|Unable to connect as the client id is "
                                           "already in use. Retry with a unique client id.|");
    CU_ASSERT(b->eof);
    CU_ASSERT(gwc_traced("reject conn=%llu client_id=7 code=326", b->conn));
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    CU_ASSERT(gwc_client_gets_current_time(a));
    gwc_env_stop();
}

static void client_id_is_free_again_once_its_session_closes_with_fin(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("7");
    gwc_client_close(a, IO_CLOSE_FIN);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 0);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=7 by=client how=fin "
                     "reason=closed by client", a->conn));
    gwc_client_t *b = client_ready("7");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(b, 1), "15|1|DU1234567");
    gwc_env_stop();
}

static void client_id_is_free_again_once_its_session_is_reset(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("7");
    gwc_client_close(a, IO_CLOSE_RST);
    gwc_run_ms(5);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=7 by=client how=rst "
                     "reason=reset by client", a->conn));
    gwc_client_t *b = client_ready("7");
    CU_ASSERT(gwc_traced("session_ready conn=%llu client_id=7 version=178", b->conn));
    gwc_env_stop();
}

/* ---- requests ---------------------------------------------------------- */

static void req_current_time_answers_with_the_wall_clock_seconds(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    gwc_run_ms(5500); /* mid-second, so the latency cannot cross a second */
    long long expected = io_wall_us(gwc.loop) / IO_US_PER_S;
    gwc_client_send_fields(c, 2, "49", "1");
    gwc_run_ms(5);
    char want[64];
    snprintf(want, sizeof want, "49|1|%lld", expected);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), want);
    CU_ASSERT_EQUAL(expected, GWC_START_WALL_S + 5);
    gwc_env_stop();
}

/* The plain reqCurrentTime (49, 1 and nothing after) is answered from its
 * bytes alone; every other spelling of it goes through the reader and gets
 * the same answer, or 320 when its version is missing; several in one
 * delivery are each answered. */
static void req_current_time_in_any_form_gets_the_plain_forms_answer(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    gwc_run_ms(5500);
    long long now = io_wall_us(gwc.loop) / IO_US_PER_S;
    size_t before = c->nframes;
    gwc_client_send_fields(c, 2, "49", "1");
    gwc_client_send_fields(c, 3, "49", "1", "extra");
    gwc_client_send_fields(c, 2, "49", "2");
    gwc_client_send_fields(c, 2, "49", "01");
    gwc_client_send_fields(c, 1, "49");
    gwc_client_send_fields(c, 2, "049", "1");
    static const uint8_t two[] = {0, 0, 0, 5, '4', '9', 0, '1', 0, 0, 0, 0, 5, '4', '9', 0, '1', 0};
    gwc_client_send(c, two, sizeof two);
    gwc_run_ms(5);
    char want[64];
    snprintf(want, sizeof want, "49|1|%lld", now);
    CU_ASSERT_EQUAL_FATAL(c->nframes, before + 8);
    for (size_t i = 0; i < 8; i++) {
        const char *got = gwc_frame_at(c, before + i);
        CU_ASSERT(i == 4 ? strncmp(got, "4|2|-1|320|", 11) == 0 : strcmp(got, want) == 0);
    }
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    gwc_env_stop();
}

/* currentTime is sent from the session's memo of its last answer, mostly
 * its last four digits rewritten: answers stay right across a multiple of
 * 10^4 seconds, back and forth with nextValidId (the other message the
 * memo writes), and in a second session with its own memo. */
static void current_time_answers_stay_right_across_ten_thousand_seconds_and_ids(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.next_order_id = 1001;
    gwc_env_start_gw();
    gwc_client_t *c = gwc_client_ready("1");
    gwc_client_t *other = gwc_client_ready("2");
    /* Mid-second, so the latency cannot cross a second. */
    io_us_t boundary_us = (io_us_t)(GWC_START_WALL_S / 10000 + 1) * 10000 * IO_US_PER_S;
    gwc_run_ms((boundary_us - io_wall_us(gwc.loop)) / 1000 - 1500);
    const long long want[] = {GWC_START_WALL_S / 10000 * 10000 + 9998,
                              GWC_START_WALL_S / 10000 * 10000 + 9999,
                              GWC_START_WALL_S / 10000 * 10000 + 10000,
                              GWC_START_WALL_S / 10000 * 10000 + 10001};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t before = c->nframes;
        gwc_client_send_fields(c, 2, "49", "1");
        gwc_client_send_fields(c, 3, "8", "1", "1");
        gwc_client_send_fields(c, 2, "49", "1");
        gwc_run_ms(5);
        char time_frame[64];
        snprintf(time_frame, sizeof time_frame, "49|1|%lld", want[i]);
        CU_ASSERT_EQUAL_FATAL(c->nframes, before + 3);
        CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, before), time_frame);
        CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, before + 1), "9|1|1001");
        CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, before + 2), time_frame);
        if (i == 2) {
            before = other->nframes;
            gwc_client_send_fields(other, 2, "49", "1");
            gwc_run_ms(5);
            CU_ASSERT_EQUAL_FATAL(other->nframes, before + 1);
            CU_ASSERT_STRING_EQUAL(gwc_frame_at(other, before), time_frame);
        }
        gwc_run_ms(995);
    }
    gwc_env_stop();
}

/* A delivery that is one whole frame is taken without the drain, yet
 * counted in the stream's byte offsets like the drained ones: the error
 * for a bad frame after lone and drained frames names its true offset. */
static void lone_frames_count_in_the_byte_offset_a_protocol_error_names(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    size_t before = c->nframes;
    gwc_client_send_fields(c, 2, "49", "1"); /* hello 17 and startApi 12: at 29 */
    gwc_run_ms(5);
    gwc_client_send_fields(c, 3, "8", "1", "1"); /* 38 */
    gwc_run_ms(5);
    static const uint8_t two[] = {0, 0, 0, 5, '4', '9', 0, '1', 0, 0, 0, 0, 5, '4', '9', 0, '1', 0};
    gwc_client_send(c, two, sizeof two); /* 48 */
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, before + 4);
    gwc_client_send_fields(c, 2, "x7", "1"); /* 66 */
    gwc_run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "frame at byte offset 66: "));
    gwc_env_stop();
}

static void req_ids_answers_with_the_next_valid_id(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.next_order_id = 1001;
    gwc_env_start_gw();
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_client_start_api(c, "1");
    gwc_run_ms(5);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 2), "9|1|1001");
    gwc_client_send_fields(c, 3, "8", "1", "1");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 7);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), "9|1|1001");
    gwc_env_stop();
}

static void unknown_requests_get_an_error_and_the_session_keeps_working(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    gwc_client_send_fields(c, 2, "61", "1");
    gwc_client_send_fields(c, 3, "999", "1", "x");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 8);
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 6), "62|1");
    CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, 7), "4|2|-1|505|Fatal Error: Unknown message id.|");
    CU_ASSERT(gwc_client_gets_current_time(c));
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    gwc_env_stop();
}

/* Handlers are found by indexing a table with the id: the holes in it, its
 * ends, past them and a second startApi are all unknown. */
static void ids_between_and_around_the_known_ones_are_unknown(void)
{
    static const char *const ids[] = {"0", "10", "71", "98", "100", "-1", "2147483647"};
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    size_t before = c->nframes;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        gwc_client_send_fields(c, 3, ids[i], "1", "x");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL_FATAL(c->nframes, before + sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        CU_ASSERT_STRING_EQUAL(gwc_frame_at(c, before + i),
                               "4|2|-1|505|Fatal Error: Unknown message id.|");
    CU_ASSERT(gwc_client_gets_current_time(c));
    gwc_env_stop();
}

static void request_before_start_api_closes_the_session(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_client_send_fields(c, 2, "49", "1");
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(c->nframes, 1); /* the server hello only */
    CU_ASSERT(c->eof);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                     "reason=request before startApi", c->conn));
    gwc_env_stop();
}

/* ---- malformed input --------------------------------------------------- */

static void zero_length_frame_closes_the_session_with_rst(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    static const uint8_t zero[] = {0, 0, 0, 0};
    gwc_client_send(c, zero, sizeof zero);
    gwc_run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 0);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=1 by=gateway how=rst "
                     "reason=protocol error", c->conn));
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "protocol error: byte offset"));
    gwc_env_stop();
}

static void field_that_does_not_parse_closes_the_session_with_rst(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(2); /* the server hello arrives before the reset can discard it */
    gwc_client_start_api(c, "x7");
    gwc_run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_EQUAL(c->nframes, 1);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=-1 by=gateway how=rst "
                     "reason=protocol error", c->conn));
    /* The hello is 17 bytes, so startApi starts at byte 17; its id is field 2. */
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "frame at byte offset 17: field 2"));
    gwc_env_stop();
}

static void negative_client_id_is_a_protocol_error(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_client_start_api(c, "-1");
    gwc_run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_PTR_NOT_NULL(gwc_records_find(&gwc.logs, "client id -1 is not a usable id"));
    gwc_env_stop();
}

static void garbage_instead_of_the_greeting_closes_the_session_with_rst(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = gwc_client_new();
    gwc_client_send(c, "GET / HTTP/1.1\r\n", 16);
    gwc_run_ms(5);
    CU_ASSERT(c->reset);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=-1 by=gateway how=rst "
                     "reason=protocol error", c->conn));
    gwc_env_stop();
}

/* ---- faults: kill ------------------------------------------------------ */

static void kill_with_fin_gives_every_client_eof(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("1");
    gwc_client_t *b = client_ready("2");
    CU_ASSERT_EQUAL(gw_kill(gwc.gw, IO_CLOSE_FIN, -1), 2);
    gwc_run_ms(5);
    CU_ASSERT(a->eof && !a->reset);
    CU_ASSERT(b->eof && !b->reset);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 0);
    CU_ASSERT(gwc_traced("fault:kill how=fin client_id=-1 sessions=2"));
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=1 by=gateway how=fin reason=killed",
                     a->conn));
    gwc_env_stop();
}

static void kill_with_rst_gives_the_client_reset(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("1");
    CU_ASSERT_EQUAL(gw_kill(gwc.gw, IO_CLOSE_RST, -1), 1);
    gwc_run_ms(5);
    CU_ASSERT(a->reset);
    CU_ASSERT(gwc_traced("fault:kill how=rst client_id=-1 sessions=1"));
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=1 by=gateway how=rst reason=killed",
                     a->conn));
    gwc_env_stop();
}

static void kill_of_one_client_id_leaves_the_other_session_alone(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("1");
    gwc_client_t *b = client_ready("2");
    CU_ASSERT_EQUAL(gw_kill(gwc.gw, IO_CLOSE_FIN, 2), 1);
    gwc_run_ms(5);
    CU_ASSERT(b->eof);
    CU_ASSERT_FALSE(a->eof);
    CU_ASSERT(gwc_traced("fault:kill how=fin client_id=2 sessions=1"));
    CU_ASSERT(gwc_client_gets_current_time(a));
    client_ready("2"); /* the killed session's id is free again */
    gwc_env_stop();
}

/* ---- faults: stale ----------------------------------------------------- */

static void stale_sessions_answer_nothing_until_cleared(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    gw_set_stale(gwc.gw, 1, -1);
    gwc_client_send_fields(c, 2, "49", "1");
    gwc_run_ms(5000);
    CU_ASSERT_EQUAL(c->nframes, 6);
    CU_ASSERT_FALSE(c->eof);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    gw_set_stale(gwc.gw, 0, -1);
    CU_ASSERT(gwc_client_gets_current_time(c)); /* exactly one: the stale one was dropped */
    CU_ASSERT(gwc_traced("fault:stale on=1 client_id=-1"));
    CU_ASSERT(gwc_traced("fault:stale on=0 client_id=-1"));
    gwc_env_stop();
}

static void stale_for_all_covers_sessions_that_connect_later(void)
{
    gwc_env_start(&T_ENV);
    gw_set_stale(gwc.gw, 1, -1);
    gwc_client_t *c = gwc_client_new();
    gwc_client_hello(c, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(5000);
    CU_ASSERT_EQUAL(c->nraw, 0);
    CU_ASSERT_FALSE(c->eof);
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 1);
    gwc_env_stop();
}

static void stale_for_one_client_id_leaves_the_others_answering(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("1");
    gwc_client_t *b = client_ready("2");
    gw_set_stale(gwc.gw, 1, 2);
    CU_ASSERT(gwc_client_gets_current_time(a));
    CU_ASSERT_FALSE(gwc_client_gets_current_time(b));
    CU_ASSERT(gwc_traced("fault:stale on=1 client_id=2"));
    gwc_client_t *c = client_ready("3"); /* a targeted stale does not reach newcomers */
    CU_ASSERT(gwc_client_gets_current_time(c));
    gwc_env_stop();
}

/* ---- limits and lifetime ----------------------------------------------- */

static void connections_beyond_max_sessions_are_closed_at_once(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.max_sessions = 2;
    gwc_env_start_gw();
    gwc_client_t *a = gwc_client_new();
    gwc_client_t *b = gwc_client_new();
    gwc_client_t *c = gwc_client_new();
    gwc_run_ms(5);
    CU_ASSERT(c->eof);
    CU_ASSERT_FALSE(a->eof || b->eof);
    CU_ASSERT_EQUAL(c->conn, 0); /* never became a session */
    CU_ASSERT_EQUAL(gw_session_count(gwc.gw), 2);
    gwc_client_hello(b, PROTO_CLIENT_VERSION_MIN, PROTO_CLIENT_VERSION_MAX);
    gwc_run_ms(5);
    CU_ASSERT_EQUAL(b->nframes, 1);
    gwc_env_stop();
}

static void gw_free_closes_every_session_with_fin(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *a = client_ready("1");
    gwc_client_t *b = gwc_client_new();
    gwc_client_send(b, "AP", 2); /* half a greeting: buffered in the decoder */
    gwc_run_ms(5);
    gw_free(gwc.gw);
    gwc.gw = NULL;
    gwc_run_ms(5);
    CU_ASSERT(a->eof);
    CU_ASSERT(b->eof);
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=1 by=gateway how=fin "
                     "reason=gateway shutdown", a->conn));
    CU_ASSERT(gwc_traced("session_closed conn=%llu client_id=-1 by=gateway how=fin "
                     "reason=gateway shutdown", b->conn));
    gwc_env_stop();
}

static void verbose_gateway_logs_every_message_in_and_out(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.verbose = 1;
    gwc_env_start_gw();
    gwc_client_t *c = client_ready("1");
    gwc_client_send_fields(c, 2, "49", "1");
    gwc_run_ms(5);
    CU_ASSERT(gwc_logged("in  conn=%llu hello v157..178", c->conn));
    CU_ASSERT(gwc_logged("out conn=%llu serverHello [178,\"20251210 14:25:00 UTC\"]", c->conn));
    CU_ASSERT(gwc_logged("in  conn=%llu startApi [71,2,1,\"\"]", c->conn));
    CU_ASSERT(gwc_logged("out conn=%llu managedAccounts [15,1,\"DU1234567\"]", c->conn));
    CU_ASSERT(gwc_logged("in  conn=%llu reqCurrentTime [49,1]", c->conn));
    CU_ASSERT(gwc_logged("out conn=%llu currentTime [49,1,%d]", c->conn, GWC_START_WALL_S));
    gwc_env_stop();
}

static void quiet_gateway_logs_no_messages(void)
{
    gwc_env_start(&T_ENV);
    gwc_client_t *c = client_ready("1");
    CU_ASSERT(gwc_client_gets_current_time(c));
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.logs, "reqCurrentTime"));
    CU_ASSERT_PTR_NULL(gwc_records_find(&gwc.logs, "managedAccounts"));
    gwc_env_stop();
}

/* ---- config ------------------------------------------------------------ */

static void defaults_are_the_documented_ones(void)
{
    gw_config_t cfg;
    gw_config_defaults(&cfg);
    CU_ASSERT_STRING_EQUAL(cfg.host, "127.0.0.1");
    CU_ASSERT_EQUAL(cfg.port, 4002);
    CU_ASSERT_EQUAL(cfg.server_version_min, PROTO_SERVER_VERSION_MIN);
    CU_ASSERT_EQUAL(cfg.server_version_max, PROTO_SERVER_VERSION_MAX);
    CU_ASSERT_EQUAL(cfg.naccounts, 1);
    CU_ASSERT_STRING_EQUAL(cfg.accounts[0], "DU1234567");
    CU_ASSERT_EQUAL(cfg.next_order_id, 1);
    CU_ASSERT_EQUAL(cfg.max_sessions, GW_SESSIONS_MAX);
    CU_ASSERT_EQUAL(cfg.verbose, 0);
}

/* gw_new on a config with one thing wrong: IO_ERR_INVAL, the reason, no gw. */
static void expect_bad_config(const gw_config_t *cfg, const char *reason)
{
    char err[256] = "";
    gw_t *gw = (gw_t *)&err; /* must be reset to NULL */
    CU_ASSERT_EQUAL(gw_new(gwc.loop, cfg, &gw, err, sizeof err), IO_ERR_INVAL);
    CU_ASSERT_PTR_NULL(gw);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, reason));
}

static void bad_configs_are_refused_with_a_reason(void)
{
    gwc_env_init(&T_ENV);
    gw_config_t cfg = gwc.cfg;
    cfg.host = NULL;
    expect_bad_config(&cfg, "no host");
    cfg = gwc.cfg;
    cfg.server_version_min = 179;
    expect_bad_config(&cfg, "server versions");
    cfg = gwc.cfg;
    cfg.naccounts = 0;
    expect_bad_config(&cfg, "accounts");
    cfg = gwc.cfg;
    cfg.accounts[0] = "A,B";
    expect_bad_config(&cfg, "comma");
    cfg = gwc.cfg;
    cfg.max_sessions = GW_SESSIONS_MAX + 1;
    expect_bad_config(&cfg, "max_sessions");
    cfg = gwc.cfg;
    cfg.max_sessions = 0;
    expect_bad_config(&cfg, "max_sessions");
    gwc_env_stop();
}

static void listening_on_a_taken_port_fails_with_inuse(void)
{
    gwc_env_start(&T_ENV);
    gw_config_t cfg = gwc.cfg;
    gw_t *second = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(gw_new(gwc.loop, &cfg, &second, err, sizeof err), IO_ERR_INUSE);
    CU_ASSERT_PTR_NULL(second);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "4002"));
    gwc_env_stop();
}

static void port_zero_picks_a_free_port(void)
{
    gwc_env_init(&T_ENV);
    gwc.cfg.port = 0;
    gwc_env_start_gw();
    CU_ASSERT_NOT_EQUAL(gw_port(gwc.gw), 0);
    client_ready("1");
    gwc_env_stop();
}

/* ---- registry ---------------------------------------------------------- */

static void registry_refuses_an_id_someone_holds(void)
{
    gw_registry_t r;
    uint64_t owner = 0;
    gw_registry_init(&r);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 100), 0);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 200), IO_ERR_INUSE);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 7, &owner), 1);
    CU_ASSERT_EQUAL(owner, 100);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 8, NULL), 0);
}

static void registry_ignores_a_release_by_someone_else(void)
{
    gw_registry_t r;
    gw_registry_init(&r);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 100), 0);
    gw_registry_release(&r, 7, 200);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 7, NULL), 1);
    gw_registry_release(&r, 7, 100);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, 7, NULL), 0);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 7, 200), 0);
}

static void registry_holds_at_most_gw_sessions_max_ids(void)
{
    gw_registry_t r;
    gw_registry_init(&r);
    for (int i = 0; i < GW_SESSIONS_MAX; i++)
        CU_ASSERT_EQUAL(gw_registry_claim(&r, i, (uint64_t)i + 1), 0);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 1000, 1000), IO_ERR_NOBUFS);
    gw_registry_release(&r, 3, 4);
    CU_ASSERT_EQUAL(gw_registry_claim(&r, 1000, 1000), 0);
    CU_ASSERT_EQUAL(gw_registry_lookup(&r, GW_SESSIONS_MAX - 1, NULL), 1);
}

static CU_TestInfo gateway_tests[] = {
    {"worked_example_from_the_protocol_notes_gives_the_exact_replies",
     worked_example_from_the_protocol_notes_gives_the_exact_replies},
    {"greeting_in_two_writes_is_answered_once_it_is_whole",
     greeting_in_two_writes_is_answered_once_it_is_whole},
    {"hello_and_start_api_in_one_write_are_both_handled",
     hello_and_start_api_in_one_write_are_both_handled},
    {"start_api_and_requests_in_one_write_are_all_answered_in_order",
     start_api_and_requests_in_one_write_are_all_answered_in_order},
    {"request_cut_across_writes_is_answered_with_the_ones_after_it",
     request_cut_across_writes_is_answered_with_the_ones_after_it},
    {"requests_after_the_one_that_closes_the_session_are_not_read",
     requests_after_the_one_that_closes_the_session_are_not_read},
    {"chunked_network_delivery_still_completes_the_startup",
     chunked_network_delivery_still_completes_the_startup},
    {"client_max_above_178_is_answered_with_178", client_max_above_178_is_answered_with_178},
    {"client_below_the_minimum_is_closed_with_nothing_sent",
     client_below_the_minimum_is_closed_with_nothing_sent},
    {"several_accounts_are_sent_comma_joined", several_accounts_are_sent_comma_joined},
    {"second_session_with_a_live_client_id_gets_326_then_eof",
     second_session_with_a_live_client_id_gets_326_then_eof},
    {"client_id_is_free_again_once_its_session_closes_with_fin",
     client_id_is_free_again_once_its_session_closes_with_fin},
    {"client_id_is_free_again_once_its_session_is_reset",
     client_id_is_free_again_once_its_session_is_reset},
    {"req_current_time_answers_with_the_wall_clock_seconds",
     req_current_time_answers_with_the_wall_clock_seconds},
    {"req_current_time_in_any_form_gets_the_plain_forms_answer",
     req_current_time_in_any_form_gets_the_plain_forms_answer},
    {"current_time_answers_stay_right_across_ten_thousand_seconds_and_ids",
     current_time_answers_stay_right_across_ten_thousand_seconds_and_ids},
    {"lone_frames_count_in_the_byte_offset_a_protocol_error_names",
     lone_frames_count_in_the_byte_offset_a_protocol_error_names},
    {"req_ids_answers_with_the_next_valid_id", req_ids_answers_with_the_next_valid_id},
    {"unknown_requests_get_an_error_and_the_session_keeps_working",
     unknown_requests_get_an_error_and_the_session_keeps_working},
    {"ids_between_and_around_the_known_ones_are_unknown",
     ids_between_and_around_the_known_ones_are_unknown},
    {"request_before_start_api_closes_the_session", request_before_start_api_closes_the_session},
    {"zero_length_frame_closes_the_session_with_rst",
     zero_length_frame_closes_the_session_with_rst},
    {"field_that_does_not_parse_closes_the_session_with_rst",
     field_that_does_not_parse_closes_the_session_with_rst},
    {"negative_client_id_is_a_protocol_error", negative_client_id_is_a_protocol_error},
    {"garbage_instead_of_the_greeting_closes_the_session_with_rst",
     garbage_instead_of_the_greeting_closes_the_session_with_rst},
    {"kill_with_fin_gives_every_client_eof", kill_with_fin_gives_every_client_eof},
    {"kill_with_rst_gives_the_client_reset", kill_with_rst_gives_the_client_reset},
    {"kill_of_one_client_id_leaves_the_other_session_alone",
     kill_of_one_client_id_leaves_the_other_session_alone},
    {"stale_sessions_answer_nothing_until_cleared", stale_sessions_answer_nothing_until_cleared},
    {"stale_for_all_covers_sessions_that_connect_later",
     stale_for_all_covers_sessions_that_connect_later},
    {"stale_for_one_client_id_leaves_the_others_answering",
     stale_for_one_client_id_leaves_the_others_answering},
    {"connections_beyond_max_sessions_are_closed_at_once",
     connections_beyond_max_sessions_are_closed_at_once},
    {"gw_free_closes_every_session_with_fin", gw_free_closes_every_session_with_fin},
    {"verbose_gateway_logs_every_message_in_and_out",
     verbose_gateway_logs_every_message_in_and_out},
    {"quiet_gateway_logs_no_messages", quiet_gateway_logs_no_messages},
    {"defaults_are_the_documented_ones", defaults_are_the_documented_ones},
    {"bad_configs_are_refused_with_a_reason", bad_configs_are_refused_with_a_reason},
    {"listening_on_a_taken_port_fails_with_inuse", listening_on_a_taken_port_fails_with_inuse},
    {"port_zero_picks_a_free_port", port_zero_picks_a_free_port},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo registry_tests[] = {
    {"registry_refuses_an_id_someone_holds", registry_refuses_an_id_someone_holds},
    {"registry_ignores_a_release_by_someone_else", registry_ignores_a_release_by_someone_else},
    {"registry_holds_at_most_gw_sessions_max_ids", registry_holds_at_most_gw_sessions_max_ids},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_suites[] = {
    {"gateway", NULL, NULL, NULL, NULL, gateway_tests},
    {"registry", NULL, NULL, NULL, NULL, registry_tests},
    CU_SUITE_INFO_NULL,
};
