/* ANN layers against finite differences, hand-computed cases, direct
 * reference loops and their setup rules.
 *
 * Gradient-check tolerance. The checker's loss is sum(out * r) evaluated in
 * double from float32 outputs. For the piecewise-linear layers (conv,
 * dense, pool, relu, dropout) the central difference has no truncation
 * error: what is left is float32 rounding of the perturbed outputs
 * (~1e-7 relative) divided by 2 eps, i.e. about 1e-5 absolute, against
 * gradients of order 0.1 to 1 (relative floor 1e-3). Batch norm is smooth
 * but nonlinear: the O(eps^2) truncation term is about 1e-4 relative at
 * eps 1e-2. So 1e-2 leaves a wide margin over every measured worst value
 * (printed; all below 1e-3) while any real mistake in a backward pass (a
 * missing term, a wrong index, a transposed product) gives errors of order
 * 0.1 to 1. ReLU and max pooling are checked with eps 1e-3 so that a step
 * rarely crosses a kink (an input within eps of 0, two window values
 * within eps of each other), where the difference is legitimately wrong.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "harness.h"
#include "../../src/ann/conv_dims.h"
#include "spikebridge/ann.h"

#define GC_TOL 1e-2
#define GC_SAMPLES 60

/* ------------------------------------------------------------------ helpers */

static ann_layer layer(ann_kind kind, int c, int h, int w, int max_batch)
{
    ann_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.index = 1;
    l.in = (ann_shape){c, h, w};
    l.max_batch = max_batch;
    return l;
}

/* A layer set up with storage of exactly the sizes it asked for (so that
 * the sanitizer build catches any access beyond them) and its work area. */
typedef struct {
    ann_layer l;
    const ann_layer_ops *ops;
    float *work;
    ann_ctx ctx;
} owned;

static float *exact(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static sb_status own(owned *o, const ann_layer_ops *ops, ann_layer l, uint32_t seed)
{
    memset(o, 0, sizeof *o);
    o->l = l;
    o->ops = ops;
    sb_status st = ops->setup(&o->l);
    if (st)
        return st;
    o->l.params = exact(o->l.nparams);
    o->l.grads = exact(o->l.nparams);
    o->l.state = exact(o->l.nstate);
    o->l.save = exact(o->l.saved);
    o->work = exact(o->l.work);
    o->ctx = (ann_ctx){1, seed, 0, 0, o->work};
    sb_rng r;
    sb_rng_init(&r, seed, SB_STREAM_TEST, 77, 0);
    ops->init(&o->l, &r);
    return SB_OK;
}

static void disown(owned *o)
{
    free(o->l.params);
    free(o->l.grads);
    free(o->l.state);
    free(o->l.save);
    free(o->work);
}

static float *uniform(size_t n, uint32_t seed, float lo, float hi)
{
    float *v = malloc(n * sizeof(float));
    sb_rng r;
    sb_rng_init(&r, seed, SB_STREAM_TEST, 99, 0);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(lo + (hi - lo) * sb_rng_uniform(&r));
    return v;
}

static void check_grad(const char *what, const ann_layer_ops *ops, ann_layer l, int batch, int train,
                       double eps)
{
    gc_result g = gradcheck_layer(ops, &l, batch, 1234, train, GC_SAMPLES, eps);
    printf("\n    %-34s worst rel err: input %.2e, params %.2e (%d checked) ", what, g.worst_input,
           g.worst_param, g.checked);
    CU_ASSERT(g.checked >= GC_SAMPLES);
    CU_ASSERT(g.worst_input < GC_TOL);
    CU_ASSERT(g.worst_param < GC_TOL);
}

static ann_layer conv_layer(int c, int h, int w, int units, int k, int pad, int max_batch)
{
    ann_layer l = layer(ANN_CONV, c, h, w, max_batch);
    l.units = units;
    l.k = k;
    l.pad = pad;
    return l;
}

/* ------------------------------------------------------------------ gradient checks */

static void test_gc_conv(void)
{
    static const struct {
        const char *name;
        int c, h, w, units, k, pad, batch;
    } cases[] = {
        {"conv3x3 pad1 (2,5,6)->3, batch 2", 2, 5, 6, 3, 3, 1, 2},
        {"conv5x5 pad0 (2,6,7)->2, batch 3", 2, 6, 7, 2, 5, 0, 3},
        {"conv1x1 pad0 (4,3,3)->5, batch 2", 4, 3, 3, 5, 1, 0, 2},
        {"conv3x3 pad2 (1,3,3)->2, batch 2", 1, 3, 3, 2, 3, 2, 2},
        {"conv2x2 pad0 (3,4,5)->2, batch 2", 3, 4, 5, 2, 2, 0, 2},
        /* more samples than gradient groups: groups of unequal size */
        {"conv3x3 pad1 (1,4,4)->2, batch 37", 1, 4, 4, 2, 3, 1, 37},
        /* eight channels and more: the shifted products of conv_shift.c */
        {"conv3x3 pad1 (8,5,6)->3, batch 2", 8, 5, 6, 3, 3, 1, 2},
        {"conv2x2 pad1 (9,4,3)->2, batch 3", 9, 4, 3, 2, 2, 1, 3},
        {"conv3x3 pad3 (8,2,3)->2, batch 2", 8, 2, 3, 2, 3, 3, 2},
        {"conv3x3 pad1 (8,3,3)->2, batch 37", 8, 3, 3, 2, 3, 1, 37},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
        check_grad(cases[t].name, &ann_conv_ops,
                   conv_layer(cases[t].c, cases[t].h, cases[t].w, cases[t].units, cases[t].k, cases[t].pad,
                              cases[t].batch + 3),
                   cases[t].batch, 1, 1e-2);
}

/* Which strategy a layer gets: the tests above and below cover both. */
static void test_conv_strategy(void)
{
    const int cases[][4] = {/* c, k, pad, shift */ {1, 3, 1, 0}, {7, 3, 1, 0}, {8, 3, 1, 1},
                            {32, 3, 1, 1}, {8, 1, 0, 0}, {8, 5, 4, 1}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        ann_layer l = conv_layer(cases[t][0], 6, 6, 4, cases[t][1], cases[t][2], 2);
        CU_ASSERT_EQUAL_FATAL(ann_conv_ops.setup(&l), SB_OK);
        conv_dims d = conv_dims_of(&l);
        CU_ASSERT_EQUAL(d.shift, cases[t][3]);
        if (d.shift)
            CU_ASSERT(l.work >= d.nacc + d.nwr + d.nthread && d.npad == (size_t)l.in.c * d.plane + (size_t)l.k - 1);
    }
}

static void test_gc_dense(void)
{
    ann_layer l = layer(ANN_DENSE, 2, 3, 3, 3);
    l.units = 4;
    check_grad("dense (2,3,3)->4, batch 3", &ann_dense_ops, l, 3, 1, 1e-2);
    l = layer(ANN_DENSE, 7, 1, 1, 5);
    l.units = 4;
    check_grad("dense 7->4, batch 5", &ann_dense_ops, l, 5, 1, 1e-2);
}

static void test_gc_pool(void)
{
    ann_layer l = layer(ANN_MAXPOOL, 3, 4, 6, 2);
    l.k = 2;
    check_grad("maxpool2 (3,4,6), batch 2", &ann_maxpool_ops, l, 2, 1, 1e-3);
    l = layer(ANN_MAXPOOL, 2, 7, 8, 2);
    l.k = 3;
    check_grad("maxpool3 (2,7,8), batch 2", &ann_maxpool_ops, l, 2, 1, 1e-3);
}

static void test_gc_relu(void)
{
    check_grad("relu (3,4,5), batch 2", &ann_relu_ops, layer(ANN_RELU, 3, 4, 5, 2), 2, 1, 1e-3);
}

static void test_gc_dropout(void)
{
    ann_layer l = layer(ANN_DROPOUT, 3, 4, 5, 2);
    l.rate = 0.3f;
    check_grad("dropout 0.3 train (3,4,5), batch 2", &ann_dropout_ops, l, 2, 1, 1e-2);
    check_grad("dropout 0.3 eval (3,4,5), batch 2", &ann_dropout_ops, l, 2, 0, 1e-2);
}

static void test_gc_batchnorm(void)
{
    check_grad("bn train (3,4,4), batch 3", &ann_batchnorm_ops, layer(ANN_BATCHNORM, 3, 4, 4, 3), 3, 1,
               1e-2);
    check_grad("bn train (5,1,1), batch 6", &ann_batchnorm_ops, layer(ANN_BATCHNORM, 5, 1, 1, 6), 6, 1,
               1e-2);
    check_grad("bn eval (3,4,4), batch 2", &ann_batchnorm_ops, layer(ANN_BATCHNORM, 3, 4, 4, 2), 2, 0,
               1e-2);
}

/* ------------------------------------------------------------------ conv */

/* 4x4 input 1..16, pad 1. Filter 0: all ones (3x3 box sums) + 0.5;
 * filter 1: only the top-right tap (cross-correlation, PyTorch layout), so
 * out[y][x] = in[y-1][x+1]; bias -1. */
static void test_conv_hand(void)
{
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_conv_ops, conv_layer(1, 4, 4, 2, 3, 1, 1), 1), SB_OK);
    CU_ASSERT_EQUAL(o.l.out.c, 2);
    CU_ASSERT_EQUAL(o.l.out.h, 4);
    CU_ASSERT_EQUAL(o.l.out.w, 4);
    CU_ASSERT_EQUAL(o.l.nparams, 2 * 9 + 2);
    float *p = o.l.params;
    memset(p, 0, o.l.nparams * sizeof(float));
    for (int i = 0; i < 9; i++)
        p[i] = 1;
    p[9 + 0 * 3 + 2] = 1; /* filter 1, row 0, column 2 */
    p[18] = 0.5f;
    p[19] = -1;
    float in[16], out[32];
    for (int i = 0; i < 16; i++)
        in[i] = (float)(i + 1);
    const float box[16] = {14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54};
    const float shift[16] = {0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0};
    o.ops->forward(&o.l, in, out, 1, &o.ctx);
    int same = 1;
    for (int i = 0; i < 16; i++)
        same &= out[i] == box[i] + 0.5f && out[16 + i] == shift[i] - 1;
    CU_ASSERT(same);
    disown(&o);
}

static float conv_ref_in(const float *x, int c, int h, int w, int ch, int y, int xx)
{
    (void)c;
    return y < 0 || y >= h || xx < 0 || xx >= w ? 0.0f : x[((size_t)ch * h + y) * w + xx];
}

/* Direct loops in double: forward, dW, db and din of the whole layer. */
static void conv_reference(const ann_layer *l, const float *in, const float *dout, int batch, double *out,
                           double *gw, double *din)
{
    int c = l->in.c, h = l->in.h, w = l->in.w, k = l->k, pad = l->pad, U = l->units;
    int oh = l->out.h, ow = l->out.w;
    const float *wt = l->params, *b = l->params + (size_t)U * c * k * k;
    memset(gw, 0, l->nparams * sizeof(double));
    memset(din, 0, (size_t)batch * c * h * w * sizeof(double));
    for (int s = 0; s < batch; s++)
        for (int u = 0; u < U; u++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    size_t o = (((size_t)s * U + u) * oh + y) * ow + x;
                    double acc = b[u];
                    for (int ch = 0; ch < c; ch++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                size_t wi = (((size_t)u * c + ch) * k + i) * k + j;
                                int iy = y + i - pad, ix = x + j - pad;
                                double v = conv_ref_in(in + (size_t)s * c * h * w, c, h, w, ch, iy, ix);
                                acc += wt[wi] * v;
                                gw[wi] += dout[o] * v;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                    din[(((size_t)s * c + ch) * h + iy) * w + ix] += dout[o] * wt[wi];
                            }
                    out[o] = acc;
                    gw[(size_t)U * c * k * k + u] += dout[o];
                }
}

/* Float32 sums of up to ~150 terms of order 1 are off by ~1e-6 in absolute
 * terms, however small the result: relative where large, absolute near 0. */
static double rel(double a, double b) { return fabs(a - b) / (1 + fabs(b)); }

/* Every output and every gradient against direct loops, batch < max_batch. */
static void test_conv_reference(void)
{
    const int cases[][7] = {
        /* c, h, w, units, k, pad, batch */
        {3, 6, 5, 4, 3, 1, 3}, {2, 7, 7, 3, 5, 2, 2}, {4, 5, 6, 3, 1, 0, 4}, {2, 5, 4, 2, 4, 0, 3},
        {1, 3, 4, 2, 3, 3, 2},
        /* the same shapes with eight channels and more (conv_shift.c) */
        {8, 6, 5, 4, 3, 1, 3}, {9, 7, 7, 3, 5, 2, 2}, {8, 5, 4, 2, 4, 0, 3}, {8, 3, 4, 2, 3, 3, 2},
        {12, 4, 4, 3, 2, 1, 2},
    };
    double worst[3] = {0, 0, 0};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int *q = cases[t];
        owned o;
        CU_ASSERT_EQUAL_FATAL(own(&o, &ann_conv_ops, conv_layer(q[0], q[1], q[2], q[3], q[4], q[5], 5),
                                  (uint32_t)t + 3),
                              SB_OK);
        int batch = q[6];
        size_t nin = (size_t)batch * ann_shape_size(o.l.in), nout = (size_t)batch * ann_shape_size(o.l.out);
        float *in = uniform(nin, 10 + (uint32_t)t, -1, 1), *dout = uniform(nout, 20 + (uint32_t)t, -1, 1);
        float *out = malloc(nout * sizeof(float)), *din = malloc(nin * sizeof(float));
        double *rout = malloc(nout * sizeof(double)), *rgw = malloc(o.l.nparams * sizeof(double));
        double *rdin = malloc(nin * sizeof(double));
        for (size_t i = 0; i < o.l.nparams; i++)
            o.l.grads[i] = 0.25f; /* backward adds */
        o.ops->forward(&o.l, in, out, batch, &o.ctx);
        o.ops->backward(&o.l, in, out, dout, din, batch, &o.ctx);
        conv_reference(&o.l, in, dout, batch, rout, rgw, rdin);
        for (size_t i = 0; i < nout; i++)
            worst[0] = fmax(worst[0], rel(out[i], rout[i]));
        for (size_t i = 0; i < nin; i++)
            worst[1] = fmax(worst[1], rel(din[i], rdin[i]));
        for (size_t i = 0; i < o.l.nparams; i++)
            worst[2] = fmax(worst[2], rel(o.l.grads[i], rgw[i] + 0.25));
        free(in);
        free(dout);
        free(out);
        free(din);
        free(rout);
        free(rgw);
        free(rdin);
        disown(&o);
    }
    printf("\n    worst rel err against direct loops: out %.2e, din %.2e, grads %.2e ", worst[0], worst[1],
           worst[2]);
    CU_ASSERT(worst[0] < 1e-5 && worst[1] < 1e-5 && worst[2] < 1e-5);
}

/* The first layer gets din = NULL: parameters only. */
static void test_conv_no_din(void)
{
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_conv_ops, conv_layer(2, 5, 5, 3, 3, 1, 2), 5), SB_OK);
    float *in = uniform(2 * 50, 1, -1, 1), *dout = uniform(2 * 75, 2, -1, 1), out[150];
    o.ops->forward(&o.l, in, out, 2, &o.ctx);
    o.ops->backward(&o.l, in, out, dout, NULL, 2, &o.ctx);
    double sum = 0;
    for (size_t i = 0; i < o.l.nparams; i++)
        sum += fabs(o.l.grads[i]);
    CU_ASSERT(sum > 0);
    free(in);
    free(dout);
    disown(&o);
}

/* Forward and backward of one setup, grads zeroed first. */
static void conv_run(owned *o, const float *in, const float *dout, int batch, float *out, float *din)
{
    memset(o->l.grads, 0, o->l.nparams * sizeof(float));
    o->ops->forward(&o->l, in, out, batch, &o->ctx);
    o->ops->backward(&o->l, in, out, dout, din, batch, &o->ctx);
}

/* Two runs give the same bits; so do one and two threads (the gradient
 * groups depend on the batch only), also when setup saw fewer threads than
 * the run has (the layer must then not use more scratch than it asked). */
static void conv_deterministic(int channels)
{
    const int batch = 45;
    int saved_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_conv_ops, conv_layer(channels, 9, 9, 8, 3, 1, 48), 11), SB_OK);
    size_t nin = (size_t)batch * ann_shape_size(o.l.in), nout = (size_t)batch * ann_shape_size(o.l.out);
    float *in = uniform(nin, 3, -1, 1), *dout = uniform(nout, 4, -1, 1);
    float *out[3], *din[3], *g[3];
    for (int r = 0; r < 3; r++) {
        out[r] = malloc(nout * sizeof(float));
        din[r] = malloc(nin * sizeof(float));
        g[r] = malloc(o.l.nparams * sizeof(float));
        omp_set_num_threads(r == 2 ? 2 : 1);
        conv_run(&o, in, dout, batch, out[r], din[r]);
        memcpy(g[r], o.l.grads, o.l.nparams * sizeof(float));
    }
    omp_set_num_threads(saved_threads);
    for (int r = 1; r < 3; r++) {
        CU_ASSERT(memcmp(out[0], out[r], nout * sizeof(float)) == 0);
        CU_ASSERT(memcmp(din[0], din[r], nin * sizeof(float)) == 0);
        CU_ASSERT(memcmp(g[0], g[r], o.l.nparams * sizeof(float)) == 0);
    }
    disown(&o);

    /* set up with two threads: two runs, then one thread */
    omp_set_num_threads(2);
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_conv_ops, conv_layer(channels, 9, 9, 8, 3, 1, 48), 11), SB_OK);
    for (int r = 0; r < 3; r++) {
        omp_set_num_threads(r == 2 ? 1 : 2);
        conv_run(&o, in, dout, batch, out[r], din[r]);
        CU_ASSERT(memcmp(g[0], o.l.grads, o.l.nparams * sizeof(float)) == 0);
        CU_ASSERT(memcmp(din[0], din[r], nin * sizeof(float)) == 0);
    }
    omp_set_num_threads(saved_threads);
    for (int r = 0; r < 3; r++) {
        free(out[r]);
        free(din[r]);
        free(g[r]);
    }
    free(in);
    free(dout);
    disown(&o);
}

static void test_conv_deterministic(void)
{
    conv_deterministic(3); /* im2col */
    conv_deterministic(8); /* shifted products */
}

/* PyTorch's default: every parameter in U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static void test_init_bounds(void)
{
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_conv_ops, conv_layer(4, 6, 6, 16, 3, 1, 1), 8), SB_OK);
    double bound = 1 / sqrt(36.0), lo = 0, hi = 0, mean = 0;
    for (size_t i = 0; i < o.l.nparams; i++) {
        lo = fmin(lo, o.l.params[i]);
        hi = fmax(hi, o.l.params[i]);
        mean += o.l.params[i] / (double)o.l.nparams;
    }
    CU_ASSERT(lo >= -bound && hi <= bound);
    CU_ASSERT(lo < -0.9 * bound && hi > 0.9 * bound);
    CU_ASSERT(fabs(mean) < 0.1 * bound);
    disown(&o);

    ann_layer d = layer(ANN_DENSE, 2, 5, 5, 1);
    d.units = 30;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_dense_ops, d, 8), SB_OK);
    bound = 1 / sqrt(50.0);
    lo = hi = 0;
    for (size_t i = 0; i < o.l.nparams; i++) {
        lo = fmin(lo, o.l.params[i]);
        hi = fmax(hi, o.l.params[i]);
    }
    CU_ASSERT(lo >= -bound && hi <= bound && lo < -0.9 * bound && hi > 0.9 * bound);
    disown(&o);

    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_batchnorm_ops, layer(ANN_BATCHNORM, 3, 2, 2, 1), 8), SB_OK);
    const float want_p[6] = {1, 1, 1, 0, 0, 0}, want_s[6] = {0, 0, 0, 1, 1, 1};
    CU_ASSERT(memcmp(o.l.params, want_p, sizeof want_p) == 0);
    CU_ASSERT(memcmp(o.l.state, want_s, sizeof want_s) == 0);
    disown(&o);
}

/* ------------------------------------------------------------------ pool */

static void test_pool_ties_and_floor(void)
{
    ann_layer l = layer(ANN_MAXPOOL, 1, 5, 5, 1);
    l.k = 2;
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_maxpool_ops, l, 1), SB_OK);
    CU_ASSERT_EQUAL(o.l.out.h, 2);
    CU_ASSERT_EQUAL(o.l.out.w, 2);
    /* windows: all 3 (first wins), 5 twice (top-right first), -2 twice
     * (bottom-left vs bottom-right: bottom-left first), a plain maximum;
     * the last row and column (9s) fill no window and are ignored */
    const float in[25] = {
        3, 3, 1, 5, 9, /* */
        3, 3, 5, 2, 9, /* */
        -7, -4, 0, 1, 9, /* */
        -2, -2, 4, 6, 9, /* */
        9, 9, 9, 9, 9,
    };
    float out[4], din[25];
    const float dout[4] = {10, 20, 30, 40};
    o.ops->forward(&o.l, in, out, 1, &o.ctx);
    const float want[4] = {3, 5, -2, 6};
    CU_ASSERT(memcmp(out, want, sizeof want) == 0);
    memset(din, 0x7f, sizeof din); /* backward must write every element */
    o.ops->backward(&o.l, in, out, dout, din, 1, &o.ctx);
    float wdin[25] = {0};
    wdin[0] = 10;  /* (0,0) */
    wdin[3] = 20;  /* (0,3) */
    wdin[15] = 30; /* (3,0) */
    wdin[18] = 40; /* (3,3) */
    CU_ASSERT(memcmp(din, wdin, sizeof wdin) == 0);
    disown(&o);
}

/* ------------------------------------------------------------------ dense */

static void test_dense_hand(void)
{
    ann_layer l = layer(ANN_DENSE, 3, 1, 1, 2);
    l.units = 2;
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_dense_ops, l, 1), SB_OK);
    CU_ASSERT_EQUAL(o.l.nparams, 8);
    CU_ASSERT(o.l.out.c == 2 && o.l.out.h == 1 && o.l.out.w == 1);
    const float p[8] = {1, 2, 3, 4, 5, 6, 0.5f, -1}; /* W [2][3], b [2] */
    memcpy(o.l.params, p, sizeof p);
    const float in[6] = {1, 0, -1, 2, 1, 0}, dout[4] = {1, 2, -1, 0.5f};
    float out[4], din[6];
    o.ops->forward(&o.l, in, out, 2, &o.ctx);
    const float want[4] = {-1.5f, -3, 4.5f, 12};
    CU_ASSERT(memcmp(out, want, sizeof want) == 0);
    o.ops->backward(&o.l, in, out, dout, din, 2, &o.ctx);
    /* dW = doutᵀ in: row 0 = 1*(1,0,-1) - 1*(2,1,0), row 1 = 2*(1,0,-1) + 0.5*(2,1,0) */
    const float wg[8] = {-1, -1, -1, 3, 0.5f, -2, 0, 2.5f};
    CU_ASSERT(memcmp(o.l.grads, wg, sizeof wg) == 0);
    /* din = dout W: (1,2).W = (9,12,15), (-1,0.5).W = (1,0.5,0) */
    const float wd[6] = {9, 12, 15, 1, 0.5f, 0};
    CU_ASSERT(memcmp(din, wd, sizeof wd) == 0);
    disown(&o);
}

/* ------------------------------------------------------------------ relu */

static void test_relu_hand(void)
{
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_relu_ops, layer(ANN_RELU, 1, 1, 5, 1), 1), SB_OK);
    const float in[5] = {-2, 0, 0.5f, 3, -0.1f}, dout[5] = {1, 2, 3, 4, 5};
    float out[5], din[5];
    o.ops->forward(&o.l, in, out, 1, &o.ctx);
    o.ops->backward(&o.l, in, out, dout, din, 1, &o.ctx);
    const float wo[5] = {0, 0, 0.5f, 3, 0}, wd[5] = {0, 0, 3, 4, 0};
    CU_ASSERT(memcmp(out, wo, sizeof wo) == 0);
    CU_ASSERT(memcmp(din, wd, sizeof wd) == 0);
    disown(&o);
}

/* ------------------------------------------------------------------ dropout */

enum { DB = 8, DC = 4, DH = 16, DW = 16, DN = DC * DH * DW };

static owned dropout_owned(float rate, int index)
{
    ann_layer l = layer(ANN_DROPOUT, DC, DH, DW, DB);
    l.rate = rate;
    l.index = index;
    owned o;
    CU_ASSERT(own(&o, &ann_dropout_ops, l, 5) == SB_OK);
    o.ctx.seed = 42;
    o.ctx.member = 3;
    o.ctx.step = 17;
    return o;
}

static void test_dropout_eval_identity(void)
{
    owned o = dropout_owned(0.3f, 2);
    o.ctx.train = 0;
    float *in = uniform(DB * DN, 1, -1, 1), *dout = uniform(DB * DN, 2, -1, 1);
    float *out = malloc(DB * DN * sizeof(float)), *din = malloc(DB * DN * sizeof(float));
    o.ops->forward(&o.l, in, out, DB, &o.ctx);
    o.ops->backward(&o.l, in, out, dout, din, DB, &o.ctx);
    CU_ASSERT(memcmp(in, out, DB * DN * sizeof(float)) == 0);
    CU_ASSERT(memcmp(dout, din, DB * DN * sizeof(float)) == 0);
    free(in);
    free(dout);
    free(out);
    free(din);
    disown(&o);
}

static void test_dropout_train(void)
{
    const float rate = 0.3f, scale = 1.0f / (1.0f - rate);
    owned o = dropout_owned(rate, 2);
    float *in = uniform(DB * DN, 1, 0.5f, 1.5f), *dout = uniform(DB * DN, 2, -1, 1);
    float *out = malloc(DB * DN * sizeof(float)), *din = malloc(DB * DN * sizeof(float));
    o.ops->forward(&o.l, in, out, DB, &o.ctx);
    o.ops->backward(&o.l, in, out, dout, din, DB, &o.ctx);
    size_t zeros = 0;
    int exact_scale = 1, grads_follow = 1;
    for (size_t i = 0; i < DB * DN; i++) {
        zeros += out[i] == 0;
        exact_scale &= out[i] == 0 || out[i] == in[i] * scale;
        grads_follow &= din[i] == (out[i] == 0 ? 0.0f : dout[i] * scale);
    }
    double frac = (double)zeros / (DB * DN), sd = sqrt(rate * (1 - rate) / (DB * DN));
    printf("\n    dropped %.4f (rate %.2f +- %.4f) ", frac, (double)rate, sd);
    CU_ASSERT(fabs(frac - rate) < 4 * sd);
    CU_ASSERT(exact_scale);
    CU_ASSERT(grads_follow);

    /* The mask is the documented stream, one uniform per element. */
    int s = 5, stream_ok = 1;
    sb_rng r;
    sb_rng_init(&r, 42, SB_STREAM_ANN_DROPOUT, 3 * 256 + 2, ((uint64_t)17 * DB + (uint64_t)s) * DN);
    for (size_t i = 0; i < DN; i++)
        stream_ok &= (out[(size_t)s * DN + i] == 0) == (sb_rng_uniform(&r) < rate);
    CU_ASSERT(stream_ok);
    free(in);
    free(dout);
    free(out);
    free(din);
    disown(&o);
}

/* Masks of a run: 1 where kept. */
static void dropout_masks(owned *o, int batch, unsigned char *kept)
{
    float *in = uniform((size_t)batch * DN, 1, 0.5f, 1.5f), *out = malloc((size_t)batch * DN * sizeof(float));
    o->ops->forward(&o->l, in, out, batch, &o->ctx);
    for (size_t i = 0; i < (size_t)batch * DN; i++)
        kept[i] = out[i] != 0;
    free(in);
    free(out);
}

static void test_dropout_streams(void)
{
    unsigned char *a = malloc(DB * DN), *b = malloc(DB * DN);
    owned o = dropout_owned(0.5f, 2);
    int saved_threads = omp_get_max_threads();
    omp_set_num_threads(2);
    dropout_masks(&o, DB, a);
    /* same (seed, member, layer, step, sample) in a smaller batch, one thread */
    omp_set_num_threads(1);
    dropout_masks(&o, 3, b);
    omp_set_num_threads(saved_threads);
    CU_ASSERT(memcmp(a, b, 3 * DN) == 0);
    /* within a batch every sample has its own mask */
    CU_ASSERT(memcmp(a, a + DN, DN) != 0);
    o.ctx.step = 18;
    dropout_masks(&o, DB, b);
    CU_ASSERT(memcmp(a, b, DB * DN) != 0);
    o.ctx.step = 17;
    o.ctx.member = 4;
    dropout_masks(&o, DB, b);
    CU_ASSERT(memcmp(a, b, DB * DN) != 0);
    o.ctx.member = 3;
    o.ctx.seed = 43;
    dropout_masks(&o, DB, b);
    CU_ASSERT(memcmp(a, b, DB * DN) != 0);
    disown(&o);
    o = dropout_owned(0.5f, 3); /* another layer */
    dropout_masks(&o, DB, b);
    CU_ASSERT(memcmp(a, b, DB * DN) != 0);
    disown(&o);
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ batch norm */

static void test_bn_inference(void)
{
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_batchnorm_ops, layer(ANN_BATCHNORM, 2, 2, 2, 2), 1), SB_OK);
    o.ctx.train = 0;
    const float gamma[2] = {2, 0.5f}, beta[2] = {1, -1}, rm[2] = {0.5f, -2}, rv[2] = {4, 0.25f};
    memcpy(o.l.params, gamma, sizeof gamma);
    memcpy(o.l.params + 2, beta, sizeof beta);
    memcpy(o.l.state, rm, sizeof rm);
    memcpy(o.l.state + 2, rv, sizeof rv);
    const float in[16] = {0.5f, 2.5f, -1.5f, 4.5f, -2, -1.5f, -2.5f, 0, 1, 0, 3, -3, 1, 2, -2, -4};
    float out[16];
    o.ops->forward(&o.l, in, out, 2, &o.ctx);
    double worst = 0;
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 2; c++)
            for (int p = 0; p < 4; p++) {
                int i = (s * 2 + c) * 4 + p;
                double want = gamma[c] * (in[i] - rm[c]) / sqrt(rv[c] + 1e-5) + beta[c];
                worst = fmax(worst, fabs(out[i] - want));
            }
    CU_ASSERT(worst < 1e-5);
    /* hand values: channel 0 x=2.5 -> 2*2/2 + 1 = 3; channel 1 x=-1.5 -> 0.5*0.5/0.5 - 1 = -0.5 */
    CU_ASSERT_DOUBLE_EQUAL(out[1], 3.0, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(out[5], -0.5, 1e-4);
    CU_ASSERT(memcmp(o.l.state, rm, sizeof rm) == 0 && memcmp(o.l.state + 2, rv, sizeof rv) == 0);
    disown(&o);
}

static void test_bn_training_statistics(void)
{
    const int B = 4, C = 3, HW = 6;
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_batchnorm_ops, layer(ANN_BATCHNORM, C, 2, 3, B), 1), SB_OK);
    const float gamma[3] = {1.5f, 1, 0.25f}, beta[3] = {0, 2, -1};
    memcpy(o.l.params, gamma, sizeof gamma);
    memcpy(o.l.params + C, beta, sizeof beta);
    float *in = uniform((size_t)B * C * HW, 5, -3, 5), out[72];
    o.ops->forward(&o.l, in, out, B, &o.ctx);
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0, om = 0, ov = 0, n = B * HW;
        for (int s = 0; s < B; s++)
            for (int p = 0; p < HW; p++) {
                m += in[(s * C + c) * HW + p] / n;
                om += out[(s * C + c) * HW + p] / n;
            }
        for (int s = 0; s < B; s++)
            for (int p = 0; p < HW; p++) {
                v += pow(in[(s * C + c) * HW + p] - m, 2) / n;
                ov += pow(out[(s * C + c) * HW + p] - om, 2) / n;
            }
        CU_ASSERT_DOUBLE_EQUAL(om, beta[c], 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(ov, gamma[c] * gamma[c] * v / (v + 1e-5), 1e-4);
        /* momentum 0.1 from (0, 1); the running variance is the unbiased one */
        CU_ASSERT_DOUBLE_EQUAL(o.l.state[c], 0.1 * m, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(o.l.state[C + c], 0.9 + 0.1 * v * n / (n - 1), 1e-5);
    }
    free(in);
    disown(&o);
}

/* A batch of one on (c, 1, 1) has no variance: finite output (beta), no NaN in the state. */
static void test_bn_single_value(void)
{
    owned o;
    CU_ASSERT_EQUAL_FATAL(own(&o, &ann_batchnorm_ops, layer(ANN_BATCHNORM, 2, 1, 1, 4), 1), SB_OK);
    const float in[2] = {3, -1}, dout[2] = {1, 1};
    float out[2], din[2];
    o.ops->forward(&o.l, in, out, 1, &o.ctx);
    o.ops->backward(&o.l, in, out, dout, din, 1, &o.ctx);
    CU_ASSERT(out[0] == 0 && out[1] == 0);
    CU_ASSERT(isfinite(o.l.state[2]) && isfinite(o.l.state[3]) && isfinite(din[0]) && isfinite(din[1]));
    disown(&o);
}

/* ------------------------------------------------------------------ setup */

static void expect_einval(const ann_layer_ops *ops, ann_layer l, const char *part)
{
    l.index = 3;
    sb_clear_error();
    sb_status st = ops->setup(&l);
    CU_ASSERT_EQUAL(st, SB_EINVAL);
    const char *msg = sb_last_error();
    CU_ASSERT(strstr(msg, "layer 3 (") == msg);
    if (!strstr(msg, part)) {
        printf("\n    message '%s' lacks '%s' ", msg, part);
        CU_FAIL("message");
    }
}

static void test_setup_errors(void)
{
    expect_einval(&ann_conv_ops, conv_layer(1, 4, 4, 8, 5, 0, 1),
                  "(conv5x5:8): kernel 5 larger than padded input 4x4");
    expect_einval(&ann_conv_ops, conv_layer(1, 2, 2, 8, 5, 1, 1), "larger than padded input 4x4");
    expect_einval(&ann_conv_ops, conv_layer(1, 4, 4, 0, 3, 1, 1), "filters");
    expect_einval(&ann_conv_ops, conv_layer(1, 4, 4, 2, 0, 0, 1), "kernel 0");
    expect_einval(&ann_conv_ops, conv_layer(1, 4, 4, 2, 3, -1, 1), "padding");
    expect_einval(&ann_conv_ops, conv_layer(0, 4, 4, 2, 3, 1, 1), "empty input");
    expect_einval(&ann_conv_ops, conv_layer(1, 4, 4, 2, 3, 1, 0), "batch");
    ann_layer l = layer(ANN_MAXPOOL, 2, 2, 5, 1);
    l.k = 3;
    expect_einval(&ann_maxpool_ops, l, "(maxpool3): kernel 3 larger than input 2x5");
    l.k = 0;
    expect_einval(&ann_maxpool_ops, l, "kernel 0");
    l = layer(ANN_DENSE, 3, 2, 2, 1);
    expect_einval(&ann_dense_ops, l, "outputs");
    l = layer(ANN_DROPOUT, 3, 2, 2, 1);
    l.rate = 1.0f;
    expect_einval(&ann_dropout_ops, l, "outside [0, 1)");
    l.rate = -0.1f;
    expect_einval(&ann_dropout_ops, l, "outside [0, 1)");
    l.rate = NAN;
    expect_einval(&ann_dropout_ops, l, "outside [0, 1)");
    expect_einval(&ann_relu_ops, layer(ANN_RELU, 3, 0, 2, 1), "empty input");
    expect_einval(&ann_batchnorm_ops, layer(ANN_BATCHNORM, 0, 1, 1, 1), "empty input");

    /* the edges that are fine */
    l = conv_layer(1, 1, 1, 2, 5, 2, 1); /* padded 5x5 -> 1x1 */
    CU_ASSERT_EQUAL(ann_conv_ops.setup(&l), SB_OK);
    CU_ASSERT(l.out.c == 2 && l.out.h == 1 && l.out.w == 1);
    l = conv_layer(3, 28, 28, 32, 3, 1, 64);
    CU_ASSERT_EQUAL(ann_conv_ops.setup(&l), SB_OK);
    CU_ASSERT(l.out.c == 32 && l.out.h == 28 && l.out.w == 28 && l.nparams == 32 * 27 + 32);
    l = layer(ANN_MAXPOOL, 2, 5, 7, 1);
    l.k = 2;
    CU_ASSERT_EQUAL(ann_maxpool_ops.setup(&l), SB_OK);
    CU_ASSERT(l.out.c == 2 && l.out.h == 2 && l.out.w == 3);
    l = layer(ANN_DROPOUT, 3, 2, 2, 1);
    l.rate = 0;
    CU_ASSERT_EQUAL(ann_dropout_ops.setup(&l), SB_OK);
    l = layer(ANN_DENSE, 64, 7, 7, 1);
    l.units = 256;
    CU_ASSERT_EQUAL(ann_dense_ops.setup(&l), SB_OK);
    CU_ASSERT(l.out.c == 256 && l.out.h == 1 && l.out.w == 1 && l.nparams == 256 * 3136 + 256);
    l = layer(ANN_BATCHNORM, 6, 3, 3, 1);
    CU_ASSERT_EQUAL(ann_batchnorm_ops.setup(&l), SB_OK);
    CU_ASSERT(l.nparams == 12 && l.nstate == 12);
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("ann layers: gradients", NULL, NULL);
    CU_add_test(s, "conv: finite differences", test_gc_conv);
    CU_add_test(s, "dense: finite differences", test_gc_dense);
    CU_add_test(s, "maxpool: finite differences", test_gc_pool);
    CU_add_test(s, "relu: finite differences", test_gc_relu);
    CU_add_test(s, "dropout: finite differences", test_gc_dropout);
    CU_add_test(s, "batchnorm: finite differences", test_gc_batchnorm);
    s = CU_add_suite("ann layers: values", NULL, NULL);
    CU_add_test(s, "conv: 3x3 pad 1 on 4x4 by hand", test_conv_hand);
    CU_add_test(s, "conv: outputs and gradients against direct loops", test_conv_reference);
    CU_add_test(s, "conv: first layer without din", test_conv_no_din);
    CU_add_test(s, "conv: bit-identical runs, 1 and 2 threads", test_conv_deterministic);
    CU_add_test(s, "conv: im2col below 8 channels, shifted products from 8", test_conv_strategy);
    CU_add_test(s, "init: PyTorch bounds, batch norm identity", test_init_bounds);
    CU_add_test(s, "maxpool: first maximum wins ties, floor", test_pool_ties_and_floor);
    CU_add_test(s, "dense: known values", test_dense_hand);
    CU_add_test(s, "relu: known values", test_relu_hand);
    CU_add_test(s, "dropout: identity outside training", test_dropout_eval_identity);
    CU_add_test(s, "dropout: rate, exact scale, documented stream", test_dropout_train);
    CU_add_test(s, "dropout: mask belongs to (seed, member, layer, step, sample)", test_dropout_streams);
    CU_add_test(s, "batchnorm: inference with running statistics", test_bn_inference);
    CU_add_test(s, "batchnorm: training statistics and running update", test_bn_training_statistics);
    CU_add_test(s, "batchnorm: one value per channel stays finite", test_bn_single_value);
    s = CU_add_suite("ann layers: setup", NULL, NULL);
    CU_add_test(s, "impossible layers are SB_EINVAL naming the layer", test_setup_errors);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
