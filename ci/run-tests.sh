#!/bin/sh
# run-tests.sh BUILD TEST... - runs every CUnit binary, the lint self-test
# and the third-party interop test; prints one line each and a total.
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

# The lint must catch a forbidden call: run it on a fixture that has one.
if ci/lint.sh tests/data/lint-fixture >"$log_dir/lint-selftest.log" 2>&1; then
    echo "lint accepted a forbidden call" >>"$log_dir/lint-selftest.log"; report lint-selftest 1
else
    grep -q 'forbidden call' "$log_dir/lint-selftest.log"; report lint-selftest $?
fi

tests/interop/run.sh "$build" >"$log_dir/interop.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then echo "SKIP interop: $(tail -n 1 "$log_dir/interop.log")"; else report interop $rc; fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
