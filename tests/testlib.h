/* testlib.h - the one main() every CUnit test binary shares.
 *
 * A test file defines `CU_SuiteInfo test_suites[]`, ending with
 * CU_SUITE_INFO_NULL. The binary runs them all, or only the suites and
 * tests named on the command line ("suite" or "suite:test"), and exits
 * nonzero when any assertion failed: CUnit's basic runner returns 0 even
 * then, so the exit code comes from CU_get_number_of_failure_records(). */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <CUnit/CUnit.h>

extern CU_SuiteInfo test_suites[];

#endif
