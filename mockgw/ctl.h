/* ctl.h - the mock gateway's control server, what `mockgw ctl` talks to: a
 * TCP listener (loopback by default) that takes one command per line, the
 * words gw_fault_parse_words takes or `status`, and answers each with one
 * JSON line:
 *
 *   kill rst --client-id 7   {"ok":true,"applied":"kill","client_id":7}
 *   stale 30s                {"ok":true,"applied":"stale","client_id":-1}
 *   status                   {"ok":true,"port":4002,"listening":true,
 *                             "sessions":[{"conn":3,"client_id":7,"state":"ready"}],
 *                             "faults":[{"kind":"stale","client_id":-1,
 *                                        "remaining_ms":29000,"times":0}],
 *                             "counters":{"accepted":1,"turned_away":0,"closed":0,
 *                                         "faults":1}}
 *   frobnicate               {"ok":false,"error":"unknown command \"frobnicate\""}
 *
 * Words are separated by blanks; double quotes group a word with blanks in
 * it and a backslash takes the next character as it is (gw_ctl_quote writes
 * words that way). Faults go through gw_fault_apply, so each is traced and
 * logged like any other. All I/O goes through io.h. */
#ifndef MOCKGW_CTL_H
#define MOCKGW_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "../io/io.h"
#include "gateway.h"

#define GW_CTL_LINE_MAX 1024   /* a longer command line is refused */
#define GW_CTL_ANSWER_MAX 16384

typedef struct gw_ctl gw_ctl_t;

/* Listens on host:port (0 picks a free one) for commands to gw, which must
 * outlive the control server. 0 or a negative IO_ERR_* with the reason in
 * err. */
int gw_ctl_new(io_loop_t *loop, gw_t *gw, const char *host, uint16_t port, gw_ctl_t **out,
               char *err, size_t errlen);
uint16_t gw_ctl_port(const gw_ctl_t *ctl);
/* Closes the listener and every control connection; NULL is a no-op. */
void gw_ctl_free(gw_ctl_t *ctl);

/* Runs one command line against gw and writes its JSON answer (no newline)
 * into out. Returns 1 if the answer is ok, 0 if not. */
int gw_ctl_execute(gw_t *gw, const char *line, char *out, size_t cap);

/* Appends word to buf (holding len bytes, NUL-terminated), after a blank
 * if len > 0, quoted so that the server reads it back as one word. The new
 * length; cap or more means it did not fit. */
size_t gw_ctl_quote(const char *word, char *buf, size_t len, size_t cap);

#endif
