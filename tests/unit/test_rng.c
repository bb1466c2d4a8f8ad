/* Random streams: keyed by what they belong to, positionable, uniform. */
#include <math.h>

#include "harness.h"
#include "spikebridge/core.h"

static void test_same_key_same_stream(void)
{
    sb_rng a, b;
    sb_rng_init(&a, 7, SB_STREAM_TEST, 12345, 0);
    sb_rng_init(&b, 7, SB_STREAM_TEST, 12345, 0);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL_FATAL(sb_rng_u32(&a), sb_rng_u32(&b));
}

static void test_any_key_part_changes_stream(void)
{
    sb_rng base, seed, purpose, entity, high_entity;
    sb_rng_init(&base, 7, SB_STREAM_TEST, 1, 0);
    sb_rng_init(&seed, 8, SB_STREAM_TEST, 1, 0);
    sb_rng_init(&purpose, 7, SB_STREAM_ENCODE_POISSON, 1, 0);
    sb_rng_init(&entity, 7, SB_STREAM_TEST, 2, 0);
    sb_rng_init(&high_entity, 7, SB_STREAM_TEST, 1 + (1ull << 32), 0);
    int same[4] = {0};
    for (int i = 0; i < 64; i++) {
        uint32_t x = sb_rng_u32(&base);
        same[0] += x == sb_rng_u32(&seed);
        same[1] += x == sb_rng_u32(&purpose);
        same[2] += x == sb_rng_u32(&entity);
        same[3] += x == sb_rng_u32(&high_entity);
    }
    for (int k = 0; k < 4; k++)
        CU_ASSERT(same[k] <= 1);
}

/* Opening a stream at position p gives what reading p words from the start
 * gives: a rank that starts mid-stream agrees with one that read it all. */
static void test_positioning(void)
{
    sb_rng full;
    uint32_t words[103];
    sb_rng_init(&full, 3, SB_STREAM_TEST, 99, 0);
    for (int i = 0; i < 103; i++)
        words[i] = sb_rng_u32(&full);
    for (int p = 0; p < 100; p += 7) {
        sb_rng r;
        sb_rng_init(&r, 3, SB_STREAM_TEST, 99, (uint64_t)p);
        for (int i = p; i < p + 3; i++)
            CU_ASSERT_EQUAL(sb_rng_u32(&r), words[i]);
    }
}

/* Splitting entities among any number of "ranks" reproduces the serial draw. */
static void test_partition_independence(void)
{
    enum { ENTITIES = 50 };
    double serial[ENTITIES];
    for (int e = 0; e < ENTITIES; e++) {
        sb_rng r;
        sb_rng_init(&r, 11, SB_STREAM_TEST, (uint64_t)e, 0);
        serial[e] = sb_rng_uniform(&r) + sb_rng_uniform(&r);
    }
    for (int ranks = 1; ranks <= 4; ranks++)
        for (int rank = ranks - 1; rank >= 0; rank--)
            for (int e = rank; e < ENTITIES; e += ranks) {
                sb_rng r;
                sb_rng_init(&r, 11, SB_STREAM_TEST, (uint64_t)e, 0);
                double v = sb_rng_uniform(&r) + sb_rng_uniform(&r);
                CU_ASSERT_EQUAL(v, serial[e]);
            }
}

static void test_uniform_and_normal_moments(void)
{
    sb_rng r;
    sb_rng_init(&r, 1, SB_STREAM_TEST, 0, 0);
    const int n = 200000;
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        double u = sb_rng_uniform(&r);
        s += u;
        s2 += u * u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CU_ASSERT(lo > 0 && hi < 1);
    CU_ASSERT_DOUBLE_EQUAL(s / n, 0.5, 0.005);
    CU_ASSERT_DOUBLE_EQUAL(s2 / n - (s / n) * (s / n), 1.0 / 12, 0.002);
    s = s2 = 0;
    for (int i = 0; i < n; i++) {
        double z = sb_rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    CU_ASSERT_DOUBLE_EQUAL(s / n, 0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(s2 / n, 1, 0.02);
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("rng", NULL, NULL);
    CU_add_test(s, "same key, same stream", test_same_key_same_stream);
    CU_add_test(s, "seed, purpose and entity each change the stream", test_any_key_part_changes_stream);
    CU_add_test(s, "opening at a position equals reading up to it", test_positioning);
    CU_add_test(s, "entity streams do not depend on the partition", test_partition_independence);
    CU_add_test(s, "uniform and normal moments", test_uniform_and_normal_moments);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
