/* Which OpenBLAS kernels to ask for instead of the library's own choice. */
#include "harness.h"
#include "spikebridge/core.h"

static void test_pre_avx2_cores_are_replaced(void)
{
    CU_ASSERT_STRING_EQUAL(sb_blas_better_core("Prescott", 1, 1), "SkylakeX");
    CU_ASSERT_STRING_EQUAL(sb_blas_better_core("prescott", 1, 1), "SkylakeX");
    CU_ASSERT_STRING_EQUAL(sb_blas_better_core("Nehalem", 0, 1), "Haswell");
    CU_ASSERT_STRING_EQUAL(sb_blas_better_core("Sandybridge", 0, 1), "Haswell");
}

static void test_good_choices_and_old_cpus_are_kept(void)
{
    CU_ASSERT_PTR_NULL(sb_blas_better_core("Cooperlake", 1, 1));
    CU_ASSERT_PTR_NULL(sb_blas_better_core("SkylakeX", 1, 1));
    CU_ASSERT_PTR_NULL(sb_blas_better_core("Haswell", 0, 1));
    CU_ASSERT_PTR_NULL(sb_blas_better_core("Zen", 0, 1));
    CU_ASSERT_PTR_NULL(sb_blas_better_core("Prescott", 0, 0)); /* the CPU has nothing better */
    CU_ASSERT_PTR_NULL(sb_blas_better_core(NULL, 1, 1));
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("blas core", NULL, NULL);
    CU_add_test(s, "pre-AVX2 kernels on a newer CPU are replaced", test_pre_avx2_cores_are_replaced);
    CU_add_test(s, "good choices and old CPUs are kept", test_good_choices_and_old_cpus_are_kept);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
