/* journal.h - the append-only order journal: every order the runner
 * places is written down before it is sent, so that neither a reconnect
 * nor a restart of the runner can place it twice. One text line per event,
 * each written with one write() and made durable with fsync() before the
 * call returns:
 *
 *   intent cycle=<n> symbol=<sym> order_id=<id> action=<BUY|SELL> qty=<n>
 *   sent order_id=<id>
 *   status order_id=<id> status=<word> filled=<n>
 *
 * "intent" comes before placeOrder is sent, "sent" after it was handed to
 * the connection, "status" once the order's fate is final (Filled,
 * Cancelled, ... or NotFound after a reconcile). An order with an intent
 * and no status is pending: its fate is unknown, and it must be reconciled
 * with the gateway before any new order for its symbol.
 *
 * Loading: every complete line must parse, or jrn_open fails naming the
 * file and line (a configuration-class error: the runner refuses to start
 * rather than guess). A last line without its newline is a write torn by a
 * crash; it is tolerated: dropped and cut off the file (the one time the
 * file shrinks, and only by bytes that never formed a record). That is
 * safe because each record is written before the action it allows: a torn
 * intent means placeOrder was never sent, and a torn sent or status leaves
 * the order pending, so it is reconciled rather than trusted.
 *
 * With path NULL the journal lives in memory only (same rules, no file). */
#ifndef RUNNER_JOURNAL_H
#define RUNNER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JRN_SYMBOL_MAX 15 /* characters; printable, no spaces */
#define JRN_STATUS_MAX 23

typedef struct jrn_order {
    uint32_t cycle;
    char symbol[JRN_SYMBOL_MAX + 1];
    int32_t order_id;     /* > 0 */
    char action[5];       /* "BUY" or "SELL" */
    int64_t qty;          /* > 0 */
    int sent;             /* a "sent" line follows the intent */
} jrn_order_t;

typedef struct jrn jrn_t;

/* Opens (creating it if needed) and loads the journal at path, or makes a
 * memory-only one for NULL. 0, IO_ERR_INVAL for a corrupt line
 * ("journal FILE:LINE: ..." in err), IO_ERR_SYS for a file error,
 * IO_ERR_NOMEM. */
int jrn_open(const char *path, jrn_t **out, char *err, size_t errlen);
/* Closes the file and frees the journal. NULL is a no-op. */
void jrn_close(jrn_t *j);

/* The line number of a torn last line dropped at load, 0 if none. */
size_t jrn_torn_line(const jrn_t *j);

/* Appends a record. 0, IO_ERR_INVAL (bad values, an unknown or already
 * journaled order id), IO_ERR_SYS or IO_ERR_NOMEM with details in err.
 * After a failed write the journal refuses every later one: the file may
 * end in a partial line, and nothing may be appended after it. */
int jrn_intent(jrn_t *j, const jrn_order_t *o, char *err, size_t errlen);
int jrn_sent(jrn_t *j, int32_t order_id, char *err, size_t errlen);
/* The final status; the order stops being pending. */
int jrn_final(jrn_t *j, int32_t order_id, const char *status, int64_t filled, char *err,
              size_t errlen);

/* Orders with an intent and no final status, oldest first. The pointers
 * stay valid until the next jrn_intent or jrn_final. */
size_t jrn_pending_count(const jrn_t *j);
const jrn_order_t *jrn_pending_at(const jrn_t *j, size_t i);
const jrn_order_t *jrn_find(const jrn_t *j, int32_t order_id);

/* The highest order id ever journaled (0 if none): ids below it are used. */
int32_t jrn_max_order_id(const jrn_t *j);

#endif
