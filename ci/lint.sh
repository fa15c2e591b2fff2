#!/bin/sh
# lint.sh - the determinism guard. Code under runner/, mockgw/, proto/ and the
# scenario engine (sim/ except its io backend and main) must get time,
# sockets, polling, sleeping, randomness, the environment, signals and
# threads only through io.h. Comments are stripped (gcc -fpreprocessed)
# before the grep, so prose may name the calls.
#
# usage: ci/lint.sh [DIR...]   (default: the project's guarded folders)
set -u
cd "$(dirname "$0")/.." || exit 2

# Files allowed to touch the world: the binaries' entry points and the sim
# backend. Anything added here needs a reason in this comment.
# sim/workers.c: the sim's worker processes (fork, waitpid) and the wall
# time of each run for the report; it runs whole scenarios, never inside one.
# sim/tracepipe.c: the trace recorder's thread; it feeds the recorder the
# run's events in the order the run emitted them, so nothing in the run or
# its trace depends on how the two threads are scheduled.
# main_<what>.c: a binary's glue split out of its main.c, linked only into
# that binary, never into sim or the tests' cores (runner/main_http.c: the
# HTTP endpoint's thread and clock; runner/main_notify.c: sd_notify, which
# reads NOTIFY_SOCKET and WATCHDOG_USEC from the environment).
ALLOW='(^|/)main(_[a-z]+)?\.c$|^sim/io_sim\.c$|^sim/workers\.c$|^sim/tracepipe\.c$'

CALLS='socket|connect|bind|listen|accept|accept4|poll|ppoll|epoll_[a-z_]+|select|pselect'
CALLS="$CALLS|time|clock_gettime|gettimeofday|clock|sleep|usleep|nanosleep|alarm"
CALLS="$CALLS|rand|srand|random|srandom|rand_r|drand48|getrandom|arc4random"
CALLS="$CALLS|getenv|secure_getenv|setenv|signal|sigaction|raise|kill"
CALLS="$CALLS|pthread_[a-z_]+|thrd_[a-z_]+|fork|send|recv|sendto|recvfrom"
PATTERN="(^|[^A-Za-z0-9_.>])($CALLS)[[:space:]]*\\("

if [ $# -gt 0 ]; then dirs="$*"; else dirs="runner mockgw proto sim"; fi
bad=0
for f in $(find $dirs -name '*.c' -o -name '*.h' 2>/dev/null | sort); do
    if echo "$f" | grep -Eq "$ALLOW"; then continue; fi
    hits=$(gcc -fpreprocessed -dD -E -P "$f" 2>/dev/null | grep -nE "$PATTERN")
    if [ -n "$hits" ]; then
        echo "$hits" | sed "s|^|$f: forbidden call outside io.h: |"
        bad=1
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "lint: FAILED (use io.h for time, sockets, signals, randomness; config comes in structs)" >&2
    exit 1
fi
echo "lint: ok"
