#!/bin/sh
# coverage.sh BUILD - collects gcov data from BUILD/obj into an lcov report
# under coverage/ (HTML in coverage/html), prints line and branch totals for
# the project's own code (runner/, mockgw/, proto/, sim/, io/; tests and
# system headers left out), and fails below the gate: COVERAGE_MIN_LINES
# (default 90) percent of lines and COVERAGE_MIN_BRANCHES (default 75) of
# branches.
set -eu
build=$1
min_lines=${COVERAGE_MIN_LINES:-90}
min_branches=${COVERAGE_MIN_BRANCHES:-75}
rc="--rc lcov_branch_coverage=1"
mkdir -p coverage
# geninfo 1.16 under newer Perl prints "Subroutine ... redefined" noise on
# stderr: keep it in a log and show it only when the capture fails.
lcov -q $rc --capture --directory "$build/obj" --base-directory . \
    --output-file coverage/all.info 2>coverage/capture.log || { cat coverage/capture.log; exit 1; }
lcov -q $rc --extract coverage/all.info "$(pwd)/io/*" "$(pwd)/proto/*" "$(pwd)/runner/*" \
    "$(pwd)/mockgw/*" "$(pwd)/sim/*" --output-file coverage/project.info
genhtml -q $rc --output-directory coverage/html coverage/project.info
lcov $rc --summary coverage/project.info >coverage/summary.txt 2>&1
grep -E 'lines|branches' coverage/summary.txt
echo "coverage: HTML report in coverage/html/index.html"

# "  lines......: 91.2% (12034 of 13195 lines)" -> 91.2
pct() { awk -v what="$1" '$1 ~ "^" what { sub("%", "", $2); print $2 }' coverage/summary.txt; }
lines=$(pct lines)
branches=$(pct branches)
if awk -v l="$lines" -v b="$branches" -v ml="$min_lines" -v mb="$min_branches" \
    'BEGIN { exit !(l >= ml && b >= mb) }'; then
    echo "coverage gate: PASS (lines $lines% >= $min_lines%, branches $branches% >= $min_branches%)"
else
    echo "coverage gate: FAIL (lines $lines%, need $min_lines%; branches $branches%, need $min_branches%)"
    exit 1
fi
