/* Training and inference throughput of a model at a fixed batch, on random
 * inputs (the speed of the arithmetic, not of the data pipeline):
 *
 *   ann_bench ARCH|NAME BATCH SECONDS
 *
 * prints "train IMAGES/S GFLOPS" and "infer IMAGES/S GFLOPS" lines, the
 * machine's practical peak "peak GFLOPS" (OpenBLAS sgemm 1024^3 on the same
 * threads) and the process's peak resident memory "rss KIB". FLOPs are 2 per
 * multiply-add; a training step counts 3 passes (forward, data gradient,
 * weight gradient). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "spikebridge/ann.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ann_bench ARCH BATCH SECONDS\n");
        return 2;
    }
    sb_blas_core_fix(argv); /* measure what `spikebridge run` would run */
    int batch = atoi(argv[2]);
    double seconds = atof(argv[3]);
    sb_view view;
    const char *arch = ann_reference(argv[1], &view);
    ann_model m;
    if (ann_model_build(&m, arch, ann_input_shape(view, 28, 28), batch) != SB_OK) {
        fprintf(stderr, "ann_bench: %s\n", sb_last_error());
        return 1;
    }
    ann_model_init(&m, 1, 0);
    size_t n = (size_t)batch * ann_shape_size(m.in);
    float *x = malloc(n * sizeof *x), *dl = malloc((size_t)batch * m.classes * sizeof *dl);
    uint8_t *labels = malloc((size_t)batch);
    sb_rng r;
    sb_rng_init(&r, 1, SB_STREAM_TEST, 0, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)sb_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        labels[i] = (uint8_t)(i % m.classes);
    ann_optim_cfg oc = {ANN_SGD, 0.01, 0.9, 1, 5e-4, 0.9, 0.999, 1e-8, ANN_SCHED_CONSTANT, 1000};
    ann_optim o;
    ann_optim_init(&o, &oc, m.nparams);
    double macs = ann_model_macs(&m);
    for (int mode = 0; mode < 2; mode++) {
        ann_ctx ctx = {mode == 0, 1, 0, 0, NULL};
        long iters = 0;
        double t0 = 0;
        for (;; iters++) {
            if (iters == 2)
                t0 = sb_now(); /* two warm-up iterations */
            if (iters > 2 && sb_now() - t0 > seconds)
                break;
            const float *logits = ann_model_forward(&m, x, batch, &ctx);
            if (mode == 0) {
                ann_softmax_xent(logits, labels, batch, m.classes, NULL, dl);
                ann_model_backward(&m, x, dl, batch, &ctx);
                ann_optim_step(&o, m.params, m.grads);
                ctx.step++;
            }
        }
        double el = sb_now() - t0, images = (double)(iters - 2) * batch;
        double flops = images * macs * 2 * (mode == 0 ? 3 : 1);
        printf("%s %.1f %.2f\n", mode == 0 ? "train" : "infer", images / el, flops / el / 1e9);
    }
    enum { N = 1024 };
    float *a = calloc((size_t)N * N, sizeof *a), *b = calloc((size_t)N * N, sizeof *b),
          *c = calloc((size_t)N * N, sizeof *c);
    for (size_t i = 0; i < (size_t)N * N; i++)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    long reps = 0;
    double t0 = 0;
    for (;; reps++) {
        if (reps == 1)
            t0 = sb_now();
        if (reps > 1 && sb_now() - t0 > 1.0)
            break;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
    }
    printf("peak %.2f\n", (double)(reps - 1) * 2.0 * N * N * N / (sb_now() - t0) / 1e9);
    free(a);
    free(b);
    free(c);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rss %ld\n", ru.ru_maxrss);
    ann_optim_free(&o);
    ann_model_free(&m);
    free(x);
    free(dl);
    free(labels);
    return 0;
}
