#!/bin/sh
# coverage.sh BUILD - collects gcov data from BUILD/obj into an lcov report
# under coverage/ (HTML in coverage/html) and prints line and branch totals
# for the project's own code (tests and system headers left out).
set -eu
build=$1
rc="--rc lcov_branch_coverage=1"
mkdir -p coverage
# geninfo 1.16 under newer Perl prints "Subroutine ... redefined" noise on
# stderr: keep it in a log and show it only when the capture fails.
lcov -q $rc --capture --directory "$build/obj" --base-directory . \
    --output-file coverage/all.info 2>coverage/capture.log || { cat coverage/capture.log; exit 1; }
lcov -q $rc --extract coverage/all.info "$(pwd)/io/*" "$(pwd)/proto/*" "$(pwd)/runner/*" \
    "$(pwd)/mockgw/*" "$(pwd)/sim/*" --output-file coverage/project.info
genhtml -q $rc --output-directory coverage/html coverage/project.info
lcov $rc --summary coverage/project.info 2>&1 | grep -E 'lines|branches'
echo "coverage: HTML report in coverage/html/index.html"
