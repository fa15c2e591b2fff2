/* handshake.h - both sides of the TWS greeting.
 *
 *   client → server  "API\0" + uint32be(len) + "v<min>..<max>[ <options>]"
 *                    (or "v<n>" when min == max; no NUL at the end)
 *   server → client  one frame of exactly two fields:
 *                    "<version>\0<yyyyMMdd HH:mm:ss zone>\0"
 *
 * and the rule that picks the version: min(client max, server max), which
 * must be at least both the client's min and the server's min. */
#ifndef PROTO_HANDSHAKE_H
#define PROTO_HANDSHAKE_H

#include <stddef.h>

#include "frame.h"

typedef struct proto_client_hello {
    int min_version;
    int max_version;
    char options[64]; /* text after the space, e.g. "+PACEAPI"; "" if none */
} proto_client_hello_t;

/* Client side: writes "API\0" and the version frame. */
int proto_client_hello_write(proto_writer_t *w, int min_version, int max_version,
                             const char *options);

/* Server side: takes the greeting from the front of the decoder's bytes,
 * whether it came in one write or many. 1 done (the bytes after it stay in
 * the decoder as ordinary frames), 0 need more, PROTO_ERR_HELLO with the
 * byte offset and what was wrong in err. */
int proto_client_hello_read(proto_decoder_t *d, proto_client_hello_t *out, char *err,
                            size_t errlen);

int proto_server_hello_write(proto_writer_t *w, int version, const char *connection_time);

/* Client side: checks a frame is a server hello. conn_time gets the second
 * field (may be NULL). PROTO_ERR_HELLO if it is not two fields with a
 * positive integer first (a -1 redirect is reported as an error too). */
int proto_server_hello_parse(const proto_frame_t *f, int *version, char *conn_time,
                             size_t conn_time_len, char *err, size_t errlen);

/* 0 and *version, or PROTO_ERR_VERSION with both ranges in err. */
int proto_negotiate(const proto_client_hello_t *hello, int server_min, int server_max,
                    int *version, char *err, size_t errlen);

/* "20250425 15:23:54 UTC" for a wall time in microseconds (UTC). */
void proto_connection_time(long long wall_us, char buf[32]);

#endif
