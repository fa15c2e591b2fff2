/* replay.h - answering live clients from a recorded TWS conversation.
 *
 * gw_replay_load reads a capture through capture.h and takes one TWS
 * conversation apart into exchanges: exchange 0 is startApi, then one per
 * client request, each with the server messages that answered it (those
 * carrying its request or order id, or of the kinds it asks for), each at
 * its delay after the request. Server messages no request claims (farm
 * notices, error 1100, ...) are unsolicited: kept with their offset after
 * startApi and the request they followed. A capture with a gap, a decode
 * error or no server hello in that conversation is refused: a replay of a
 * conversation with holes would answer wrongly.
 *
 * Each session that connects plays the conversation from its start:
 *   hello     answered with the recorded server version; a client whose
 *             range cannot take it is refused (logged, traced
 *             replay_refused, closed)
 *   startApi  answered with the recorded startup messages
 *   requests  strict: each must be the next recorded one, compared by
 *             message kind and key fields (the contract, bar size, tags...;
 *             not times, not ids); a divergence is logged and traced
 *             replay_diverged with the expected and the actual message and
 *             the session is closed. lenient: the first unanswered recorded
 *             request of that kind and key fields, in any order; none left:
 *             requests.c's synthetic answer.
 *   ids       request, ticker and order ids are remapped both ways: a live
 *             request's id is paired with the recorded one, and recorded
 *             answers carry the live id.
 *   timing    recorded: answers after their recorded delay, unsolicited
 *             messages at their recorded offset after startApi (on the io
 *             clock, so virtual under sim); fast: at once (an unsolicited
 *             message as soon as the request it followed is answered).
 * A strict session that ends with recorded requests unanswered traces
 * replay_unconsumed, and so does gw_replay_free when no session played the
 * recording at all.
 *
 * Trace events (src "gateway"):
 *   replay_refused    {conn, version, client_min, client_max}
 *   replay_diverged   {conn, index, expected, actual, detail}
 *   replay_unconsumed {conn, count, next}      conn 0: never played
 */
#ifndef MOCKGW_REPLAY_H
#define MOCKGW_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "../proto/proto.h"
#include "gateway.h"

enum gw_replay_err {
    GW_REPLAY_ERR_CAPTURE = -60, /* no usable conversation: gap, decode error, none found */
    GW_REPLAY_ERR_VERSION = -61  /* recorded at a version the mock cannot replay */
};

typedef struct gw_replay gw_replay_t;
typedef struct gw_replay_session gw_replay_session_t;

struct gw_session;

/* Loads cfg->file (cfg->file must be set). 0, or GW_REPLAY_ERR_*, a gw_pcap
 * error (a file that is not a capture or ends inside a record) or
 * IO_ERR_NOMEM, with the file and the reason in err. */
int gw_replay_load(io_loop_t *loop, const gw_replay_config_t *cfg, gw_replay_t **out, char *err,
                   size_t errlen);
/* Traces replay_unconsumed if strict and never played; frees. NULL: no-op. */
void gw_replay_free(gw_replay_t *rp);

/* The recorded server version, and the number of recorded requests (not
 * counting startApi). */
int gw_replay_version(const gw_replay_t *rp);
size_t gw_replay_requests(const gw_replay_t *rp);

/* ---- for the session (session.c) ---- */

/* The client's hello: 0 with *version the recorded one, or
 * GW_REPLAY_ERR_VERSION when the client's range cannot take it (logged and
 * traced; the session closes). */
int gw_replay_hello(gw_replay_t *rp, struct gw_session *s, const proto_client_hello_t *hello,
                    int *version);

/* startApi accepted: starts the session's replay (kept in the session's
 * replay slot), sends the recorded startup answers and schedules the
 * unsolicited messages. 0, or IO_ERR_NOMEM (logged): the session then
 * answers from the synthetic market. */
int gw_replay_start(gw_replay_t *rp, struct gw_session *s);

/* A request of a ready session whose replay has started; r is past the
 * message id. 1: handled (answered from the recording, or diverged and the
 * session closed); 0: not in the recording, answer it synthetically
 * (lenient only). */
int gw_replay_request(gw_replay_session_t *rs, int32_t id, const proto_reader_t *r);

/* The session ends: a strict replay with requests left traces
 * replay_unconsumed. Frees rs and its timer; NULL is a no-op. */
/* Traces replay_unconsumed once if a strict session has not been sent every
 * recorded request (done at the latest when the session is freed). */
void gw_replay_session_report(gw_replay_session_t *rs);
void gw_replay_session_free(gw_replay_session_t *rs);

#endif
