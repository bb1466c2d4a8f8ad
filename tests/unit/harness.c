#include "harness.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spikebridge/core.h"

static char tmpdir[256];
static int mpi_used;

static void remove_tmpdir(void)
{
    if (!tmpdir[0] || getenv("SB_KEEP_TEST_FILES"))
        return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

const char *sb_test_tmpdir(void)
{
    if (tmpdir[0])
        return tmpdir;
    int rank = 0;
    if (mpi_used)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/sbtest.XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    if (mpi_used)
        MPI_Bcast(tmpdir, sizeof tmpdir, MPI_CHAR, 0, MPI_COMM_WORLD);
    return tmpdir;
}

const char *sb_test_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", sb_test_tmpdir(), name);
    return b;
}

int sb_test_main(int argc, char **argv, void (*register_suites)(void), int use_mpi)
{
    int rank = 0;
    mpi_used = use_mpi;
    if (use_mpi) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    } else {
        (void)argc;
        (void)argv;
    }
    sb_log_init(rank, SB_LOG_QUIET);
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return EXIT_FAILURE;
    }
    register_suites();
    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit registration failed: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return EXIT_FAILURE;
    }
    if (rank == 0) {
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();
    } else {
        CU_run_all_tests();
        for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext)
            fprintf(stderr, "[rank %d] %s:%u - %s\n", rank, f->strFileName, f->uiLineNumber,
                    f->strCondition);
    }
    /* Read before cleanup: CU_cleanup_registry() resets the counts. */
    long failures = (long)CU_get_number_of_tests_failed() + (long)CU_get_number_of_failures();
    long ran = (long)CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (use_mpi) {
        long global = 0;
        MPI_Allreduce(&failures, &global, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
        failures = global;
        MPI_Finalize();
    }
    if (ran == 0) {
        fprintf(stderr, "no test ran\n");
        return EXIT_FAILURE;
    }
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
