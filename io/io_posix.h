/* io_posix.h - the real io backend: poll(2), TCP, CLOCK_MONOTONIC/REALTIME,
 * SIGINT/SIGTERM through a self-pipe. Linked into build/runner and
 * build/mockgw. */
#ifndef IO_POSIX_H
#define IO_POSIX_H

#include "io.h"

/* seed feeds io_random_*; the binaries' main.c picks it (a flag or the
 * clock). Returns NULL on allocation or pipe failure (details in err). */
io_loop_t *io_posix_loop_new(uint64_t seed, char *err, size_t errlen);

/* For tests only (checking socket options such as TCP_NODELAY): the
 * stream's socket descriptor, or -1 once it has none. Not for the cores. */
int io_posix_stream_fd(const io_stream_t *stream);

#endif
