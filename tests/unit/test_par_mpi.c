/* Work assignment and agreement on failure across ranks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "spikebridge/par.h"

static int rank, size;

static void test_blocks_cover_in_order(void)
{
    const uint64_t ns[] = {0, 1, 2, 3, 7, 1000, 10001};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int p = 1; p <= 5; p++) {
            uint64_t next = 0, lo = UINT64_MAX, hi = 0;
            for (int r = 0; r < p; r++) {
                uint64_t first, count;
                par_block(ns[t], r, p, &first, &count);
                CU_ASSERT_EQUAL(first, next);
                next = first + count;
                lo = count < lo ? count : lo;
                hi = count > hi ? count : hi;
            }
            CU_ASSERT_EQUAL(next, ns[t]);
            CU_ASSERT(hi - lo <= 1);
        }
}

static void test_agree_all_ok(void)
{
    CU_ASSERT_EQUAL(par_agree(SB_OK, MPI_COMM_WORLD), SB_OK);
    CU_ASSERT_EQUAL(par_first_failure(SB_OK, MPI_COMM_WORLD), -1);
}

/* The last rank fails: it keeps its status, the others learn SB_EPEER, and
 * everybody agrees it is the one to print the message. */
static void test_agree_one_fails(void)
{
    int bad = size - 1;
    sb_status mine = rank == bad ? sb_fail(SB_EFORMAT, "rank %d: broken", rank) : SB_OK;
    sb_status got = par_agree(mine, MPI_COMM_WORLD);
    CU_ASSERT_EQUAL(got, rank == bad ? SB_EFORMAT : SB_EPEER);
    CU_ASSERT_EQUAL(par_first_failure(got, MPI_COMM_WORLD), bad);
}

static void test_sum_and_hosts(void)
{
    CU_ASSERT_EQUAL(par_sum_u64((uint64_t)rank + 1, MPI_COMM_WORLD), (uint64_t)size * (size + 1) / 2);
    char *hosts = par_hosts(MPI_COMM_WORLD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hosts);
    CU_ASSERT(strlen(hosts) > 0);
    CU_ASSERT_PTR_NULL(strchr(hosts, ',')); /* one machine, one name */
    free(hosts);
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Rank 0 arrives 0.5 s late; the others wait for it without burning their
 * core (a blocking MPI barrier would spin them through the whole 0.5 s). */
static void test_idle_barrier_sleeps(void)
{
    double wall0 = MPI_Wtime(), cpu0 = cpu_seconds();
    if (rank == 0) {
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    par_idle_barrier(MPI_COMM_WORLD);
    double waited = MPI_Wtime() - wall0, cpu = cpu_seconds() - cpu0;
    CU_ASSERT(waited >= 0.45); /* nobody left before rank 0 came */
    if (rank != 0) {
        printf("\n    rank %d: %.3f s waited, %.3f s of CPU ", rank, waited, cpu);
        CU_ASSERT(cpu < 0.25 * waited);
    }
}

static void register_suites(void)
{
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CU_pSuite s = CU_add_suite("par", NULL, NULL);
    CU_add_test(s, "blocks cover [0, n) in order, sizes differ by <= 1", test_blocks_cover_in_order);
    CU_add_test(s, "agreement when all succeed", test_agree_all_ok);
    CU_add_test(s, "agreement when one rank fails", test_agree_one_fails);
    CU_add_test(s, "sum and host list", test_sum_and_hosts);
    CU_add_test(s, "idle barrier waits for the last rank without spinning", test_idle_barrier_sleeps);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 1); }
