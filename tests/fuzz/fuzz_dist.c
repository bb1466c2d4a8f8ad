/* Mutation fuzzer for the value grammar of network sections ("1.5",
 * "uniform:a:b", "normal:m:s", "linspace:a:b"): whatever the bytes, parsing
 * either succeeds with draws that are finite and within the stated bounds,
 * or fails with a message naming the key. Deterministic (fixed seed);
 * built with ASan and UBSan.
 *
 *   build/fuzz/fuzz_dist [iterations]      (default 50000) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/snn.h"

static const char *const seeds[] = {"1.5", "-9", "uniform:0:1", "normal:4:1.5", "linspace:-60:-50",
                                    "uniform:0.003:0.303", "1e308", "normal:0:0"};
static const char *const words[] = {"uniform", "normal", "linspace", ":", "-", ".", "e", "1",
                                    "0", "9", "inf", "nan", "1e400", " ", "x", ""};

static uint64_t state = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 50000;
    long ok = 0, rejected = 0;
    char buf[256];
    for (long it = 0; it < iters; it++) {
        snprintf(buf, sizeof buf, "%s", seeds[next() % (sizeof seeds / sizeof seeds[0])]);
        int edits = 1 + (int)(next() % 4);
        for (int e = 0; e < edits; e++) {
            size_t len = strlen(buf), at = len ? next() % (len + 1) : 0;
            const char *w = words[next() % (sizeof words / sizeof words[0])];
            char tail[256];
            switch (next() % 3) {
            case 0: /* insert a word */
                snprintf(tail, sizeof tail, "%s", buf + at);
                snprintf(buf + at, sizeof buf - at, "%s%s", w, tail);
                break;
            case 1: /* delete a byte */
                if (at < len)
                    memmove(buf + at, buf + at + 1, len - at);
                break;
            default: /* overwrite a byte with anything */
                if (at < len)
                    buf[at] = (char)(1 + next() % 255);
            }
        }
        snn_dist d;
        sb_clear_error();
        if (snn_dist_parse(buf, "fuzz.ini:1: [projection.x] weight", &d) != SB_OK) {
            if (!strstr(sb_last_error(), "[projection.x] weight")) {
                fprintf(stderr, "fuzz_dist: '%s': message lacks the key: %s\n", buf, sb_last_error());
                return 1;
            }
            rejected++;
            continue;
        }
        double lo, hi;
        snn_dist_bounds(&d, &lo, &hi);
        sb_rng r;
        sb_rng_init(&r, 1, SB_STREAM_TEST, (uint64_t)it, 0);
        for (int k = 0; k < 8; k++) {
            double x = snn_dist_draw(&d, &r, (uint64_t)k, 8);
            if (!isfinite(x)) {
                fprintf(stderr, "fuzz_dist: '%s' gave %g\n", buf, x);
                return 1;
            }
            if (d.kind != SNN_DIST_NORMAL && (x < lo - 1e-9 * fabs(lo) || x > hi + 1e-9 * fabs(hi))) {
                fprintf(stderr, "fuzz_dist: '%s' gave %g outside [%g, %g]\n", buf, x, lo, hi);
                return 1;
            }
        }
        ok++;
    }
    printf("fuzz_dist: %ld value texts, %ld accepted, %ld rejected with a message\n", iters, ok, rejected);
    return 0;
}
