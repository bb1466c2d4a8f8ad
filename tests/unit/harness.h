/* Shared main() for the CUnit suites: registration, MPI, temp dirs, and an
 * exit status that is non-zero when any test failed on any rank. */
#ifndef SB_TEST_HARNESS_H
#define SB_TEST_HARNESS_H

#include <CUnit/Basic.h>

/* Calls register_suites() (which adds suites and tests with CU_add_suite /
 * CU_add_test), runs them and returns the process exit status. With
 * use_mpi, MPI is initialised first; every rank runs every test (so that
 * collectives inside tests match), rank 0 prints CUnit's verbose report,
 * other ranks print their failures with a [rank N] prefix, and the verdict
 * is the sum over ranks. */
int sb_test_main(int argc, char **argv, void (*register_suites)(void), int use_mpi);

/* A fresh directory for this run's files (the same on every rank), removed
 * at exit unless SB_KEEP_TEST_FILES is set. */
const char *sb_test_tmpdir(void);

/* Joins the temp dir and a name into a static rotating buffer. */
const char *sb_test_path(const char *name);

/* Directory of committed test inputs (tests/data, relative to the repo). */
#define SB_TEST_DATA "tests/data"

#endif
