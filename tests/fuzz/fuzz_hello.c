/* fuzz_hello.c - libFuzzer target for both sides of the greeting: the
 * server reading a client hello from arbitrary bytes (whole and byte by
 * byte must agree), negotiation on whatever it parsed, and the client
 * parsing every frame that follows as a server hello. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/proto.h"

static int fuzz_read_hello(const uint8_t *data, size_t size, size_t step,
                           proto_client_hello_t *hello, proto_decoder_t *d)
{
    int rc = 0;
    char err[128];
    for (size_t pos = 0; pos < size && rc == 0; pos += step) {
        size_t n = size - pos < step ? size - pos : step;
        if (proto_decoder_feed(d, data + pos, n) != 0)
            abort();
        rc = proto_client_hello_read(d, hello, err, sizeof err);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_decoder_t whole, bytewise;
    proto_client_hello_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    proto_decoder_init(&whole);
    proto_decoder_init(&bytewise);
    int ra = fuzz_read_hello(data, size, size ? size : 1, &a, &whole);
    int rb = fuzz_read_hello(data, size, 1, &b, &bytewise);
    if (ra != rb || (ra == 1 && memcmp(&a, &b, sizeof a) != 0))
        abort();
    if (ra == 1) {
        int version;
        char err[128];
        if (proto_negotiate(&a, PROTO_SERVER_VERSION_MIN, PROTO_SERVER_VERSION_MAX, &version,
                            err, sizeof err) == 0 &&
            (version > a.max_version || version < a.min_version ||
             version > PROTO_SERVER_VERSION_MAX || version < PROTO_SERVER_VERSION_MIN))
            abort();
        /* Whatever follows the greeting, read as the client would read it. */
        proto_frame_t f;
        while (proto_decoder_next(&whole, &f, err, sizeof err) == 1) {
            char when[64];
            proto_server_hello_parse(&f, &version, when, sizeof when, err, sizeof err);
        }
    }
    proto_decoder_free(&whole);
    proto_decoder_free(&bytewise);
    return 0;
}
