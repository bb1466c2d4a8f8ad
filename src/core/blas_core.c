/*
 * OpenBLAS 0.3.21 (Debian 12) does not know recent Intel Xeon models and
 * falls back to its Prescott (SSE3) kernels: 2-5x slower products on CPUs
 * that have AVX-512 (PLATFORM.md section 8), 2.4x slower cnn-vgg-s training
 * (README). The library reads OPENBLAS_CORETYPE only when it loads, so
 * the program re-executes itself with the variable set, before MPI starts:
 * every rank decides alone, from its own CPU, and ends up in the same place.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "spikebridge/core.h"

/* Set by the restart so that the restarted process can say what happened. */
#define RESTART_VAR "SPIKEBRIDGE_BLAS_RESTART"

const char *sb_blas_better_core(const char *core, int avx512f, int avx2)
{
    static const char *const pre_avx2[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                           "Atom", "Sandybridge", "Katmai", "Northwood", "Banias"};
    const char *want = avx512f ? "SkylakeX" : avx2 ? "Haswell" : NULL;
    if (!want || !core)
        return NULL;
    for (size_t i = 0; i < sizeof pre_avx2 / sizeof *pre_avx2; i++)
        if (strcasecmp(core, pre_avx2[i]) == 0)
            return want;
    return NULL;
}

void sb_blas_core_fix(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE")) /* the user's choice, or already restarted */
        return;
    __builtin_cpu_init();
    const char *core = openblas_get_corename();
    const char *want = sb_blas_better_core(core, __builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx2"));
    if (!want)
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv(RESTART_VAR, core, 1);
    execv("/proc/self/exe", argv);
    /* No /proc: carry on slowly, and say so once logging is up. */
    unsetenv("OPENBLAS_CORETYPE");
    setenv(RESTART_VAR, "failed", 1);
}

void sb_blas_core_report(void)
{
    const char *from = getenv(RESTART_VAR);
    if (!from)
        return;
    if (strcmp(from, "failed") == 0)
        sb_warn("OpenBLAS uses its slow %s kernels on this CPU and the restart with faster ones failed; "
                "set OPENBLAS_CORETYPE (SkylakeX with AVX-512, Haswell with AVX2) before starting",
                openblas_get_corename());
    else
        sb_info("OpenBLAS chose its %s kernels on this CPU; restarted with OPENBLAS_CORETYPE=%s "
                "(set the variable yourself to choose)", from, getenv("OPENBLAS_CORETYPE"));
}
