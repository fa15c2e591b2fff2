#!/bin/sh
# run-tests.sh BUILD TEST... - runs every CUnit binary, the lint self-test,
# the third-party interop test and the browser test of the status page;
# prints one line each and a total.
# Exit 1 if anything failed.
set -u
build=$1; shift
export TEST_BUILD_DIR="$build"
failed=0; passed=0
log_dir="$build/test-logs"; mkdir -p "$log_dir"

report() { # name rc
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1";
    else failed=$((failed + 1)); echo "FAIL $1 (log: $log_dir/$1.log)"; tail -n 30 "$log_dir/$1.log"; fi
}

for t in "$@"; do
    "$build/tests/test_$t" >"$log_dir/test_$t.log" 2>&1
    report "test_$t" $?
done

# Every scenario, with its checks, invariants and liveness, as `make run` plays it.
"$build/sim" --jobs 1 scenarios/ >"$log_dir/scenarios.log" 2>&1
report scenarios $?

# The lint must catch a forbidden call: run it on a fixture that has one.
if ci/lint.sh tests/data/lint-fixture >"$log_dir/lint-selftest.log" 2>&1; then
    echo "lint accepted a forbidden call" >>"$log_dir/lint-selftest.log"; report lint-selftest 1
else
    grep -q 'forbidden call' "$log_dir/lint-selftest.log"; report lint-selftest $?
fi

# A test that needs something CI installs but a workstation may lack
# exits 77 without it: a SKIP, not a failure.
optional() { # name script
    "$2" "$build" >"$log_dir/$1.log" 2>&1
    rc=$?
    if [ $rc -eq 77 ]; then echo "SKIP $1: $(tail -n 1 "$log_dir/$1.log")"; else report "$1" $rc; fi
}
optional interop tests/interop/run.sh
# The status page in headless Chromium; its screenshot is $build/browser/status.png.
optional browser tests/browser/run.sh

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
