#!/bin/sh
# pipeline.sh STEP... - the CI pipeline, one named step at a time, so any CI
# system (.ci/run, .github/workflows/ci.yml) calls the same commands:
#
#   deps       install the Debian packages (ci/deps.sh)
#   build      the three programs and every test binary, warnings as errors
#   lint       the determinism lint (forbidden calls in the cores)
#   test       the whole suite: unit suites, lint self-test, interop
#   run        every scenario once
#   sanitize   the whole suite again under ASan+UBSan (no recover), then
#              the trace pipe's thread under TSan (make tsan)
#   valgrind   every unit suite and the scenario suite under memcheck:
#              zero errors, zero leaks
#   coverage   gcov + lcov, HTML under coverage/html, fails under the gate
#              (COVERAGE_MIN_LINES, COVERAGE_MIN_BRANCHES: 90 / 75)
#   sweep      the scenario suite under SWEEP_SEEDS seeds (default 100) with
#              a JUnit report in SWEEP_JUNIT (default build/sweep.xml); with
#              SHARD=K/N only that shard (one machine of a matrix)
#   fuzz       every libFuzzer target for FUZZ_SECONDS each (default 60)
#
# Each step prints its wall time; the first failing step stops the run.
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}

step() {
    case $1 in
    deps) ci/deps.sh ;;
    build) make -j"$JOBS" build-all ;;
    lint) make lint ;;
    test) make test ;;
    run) make run ;;
    sanitize) make -j"$JOBS" sanitize && make -j"$JOBS" tsan ;;
    valgrind) make valgrind ;;
    coverage) make coverage ;;
    sweep)
        make -j"$JOBS" all
        build/sim --seeds "${SWEEP_SEEDS:-100}" --jobs "$JOBS" ${SHARD:+--shard "$SHARD"} \
            --junit "${SWEEP_JUNIT:-build/sweep.xml}" ${SWEEP_SHRINK:+--shrink "$SWEEP_SHRINK"} \
            scenarios/ ;;
    fuzz) make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" ;;
    *) echo "pipeline: unknown step '$1'" >&2; exit 2 ;;
    esac
}

[ $# -gt 0 ] || { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
for s in "$@"; do
    t0=$(date +%s)
    echo "== step $s"
    step "$s"
    echo "== step $s done in $(( $(date +%s) - t0 ))s"
done
