/* testlib.c - see testlib.h. */
#include "testlib.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

/* Runs one suite, or one test of it when `name` is "suite:test". */
static int testlib_run_named(const char *name)
{
    char suite_name[256];
    const char *colon = strchr(name, ':');
    size_t n = colon ? (size_t)(colon - name) : strlen(name);
    if (n >= sizeof suite_name) {
        fprintf(stderr, "test name too long: %s\n", name);
        return -1;
    }
    memcpy(suite_name, name, n);
    suite_name[n] = '\0';
    CU_pSuite suite = CU_get_suite(suite_name);
    if (!suite) {
        fprintf(stderr, "no suite named \"%s\"\n", suite_name);
        return -1;
    }
    if (!colon)
        return CU_basic_run_suite(suite) == CUE_SUCCESS ? 0 : -1;
    CU_pTest test = CU_get_test(suite, colon + 1);
    if (!test) {
        fprintf(stderr, "no test named \"%s\" in suite \"%s\"\n", colon + 1, suite_name);
        return -1;
    }
    return CU_basic_run_test(suite, test) == CUE_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(test_suites) != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    int rc = 0;
    if (argc < 2) {
        rc = CU_basic_run_tests() == CUE_SUCCESS ? 0 : -1;
    } else {
        for (int i = 1; i < argc && rc == 0; i++)
            rc = testlib_run_named(argv[i]);
    }
    unsigned failures = CU_get_number_of_failure_records();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (rc != 0)
        return 2;
    printf("tests run: %u, failure records: %u\n", run, failures);
    return failures == 0 ? 0 : 1;
}
