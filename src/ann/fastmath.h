/* Vectorisable exp, sigmoid and tanh for the LSTM's gates.
 *
 * glibc's expf/tanhf are scalar calls: they took 55 % of an LSTM training
 * step. These are branch-free inline functions that gcc vectorises inside
 * `#pragma omp simd` loops (the clamps need -fno-trapping-math to become
 * selects). expf: Cody–Waite reduction to [-ln2/2, ln2/2],
 * the Cephes degree-6 polynomial, and 2^n put into the exponent bits;
 * relative error below 2e-7 on [-87, 88] (tested against exp in double). */
#ifndef SB_ANN_FASTMATH_H
#define SB_ANN_FASTMATH_H

#include <stdint.h>
#include <string.h>

#pragma omp declare simd notinbranch
static inline float sb_expf(float x)
{
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    /* Adding 1.5 * 2^23 rounds to the nearest integer in the default mode. */
    const float magic = 12582912.0f;
    float n = (x * 1.44269504088896341f + magic) - magic;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

#pragma omp declare simd notinbranch
static inline float sb_sigmoidf(float x) { return 1.0f / (1.0f + sb_expf(-x)); }

/* tanh x = 1 - 2 / (1 + e^{2x}): absolute error below 3e-7 everywhere. */
#pragma omp declare simd notinbranch
static inline float sb_tanhf(float x) { return 1.0f - 2.0f / (1.0f + sb_expf(2.0f * x)); }

#endif
