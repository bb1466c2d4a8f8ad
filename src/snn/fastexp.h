/* A vectorisable exp in double precision for the neuron loops (glibc's exp
 * is a scalar call and kept the conductance-based step from vectorising).
 * Cody–Waite reduction x = k·ln2 + r with |r| ≤ ln2/2, the Taylor series of
 * e^r to r^13 (truncation below 4e-18 relative), and 2^k put into the
 * exponent bits with integer operations only, so that gcc vectorises it for
 * AVX2 as well as AVX-512. Relative error about 2e-16 on [-700, 700]
 * (tests/unit/test_snn.c compares it with libm). */
#ifndef SB_SNN_FASTEXP_H
#define SB_SNN_FASTEXP_H

#include <stdint.h>
#include <string.h>

static inline __attribute__((always_inline)) double sb_exp(double x)
{
    x = x < -700.0 ? -700.0 : x;
    x = x > 700.0 ? 700.0 : x;
    /* adding 1.5·2^52 rounds to the nearest integer; its low bits are k */
    const double magic = 6755399441055744.0;
    double t = x * 1.4426950408889634 + magic;
    double k = t - magic;
    double r = x - k * 6.93147180369123816490e-01 - k * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r * r + r + 1.0;
    int64_t tb;
    memcpy(&tb, &t, sizeof tb);
    int64_t ki = tb - INT64_C(0x4338000000000000); /* bits of magic */
    int64_t scale = (ki + 1023) << 52;
    double s;
    memcpy(&s, &scale, sizeof s);
    return p * s;
}

#endif
