/*
 * Fully connected: the input sample is flattened (c*h*w values, NCHW order,
 * like torch.flatten), the output is (units, 1, 1).
 *
 * Parameters: weights [units][inputs], then bias [units] — PyTorch's Linear
 * layout. Every product is one sgemm over the whole batch, called outside
 * any parallel region so that OpenBLAS threads it itself.
 */
#include <cblas.h>
#include <math.h>

#include "spikebridge/ann.h"

static sb_status dense_setup(ann_layer *l)
{
    if (l->in.c < 1 || l->in.h < 1 || l->in.w < 1)
        return sb_fail(SB_EINVAL, "layer %d (dense:%d): empty input %dx%dx%d", l->index, l->units,
                       l->in.c, l->in.h, l->in.w);
    if (l->units < 1)
        return sb_fail(SB_EINVAL, "layer %d (dense:%d): %d outputs (needs at least 1)", l->index,
                       l->units, l->units);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (dense:%d): batch size %d", l->index, l->units,
                       l->max_batch);
    /* BLAS takes int dimensions. */
    if (ann_shape_size(l->in) > (size_t)1 << 30)
        return sb_fail(SB_EINVAL, "layer %d (dense:%d): input of %zu values is absurd", l->index,
                       l->units, ann_shape_size(l->in));
    l->out = (ann_shape){l->units, 1, 1};
    l->nparams = (size_t)l->units * ann_shape_size(l->in) + (size_t)l->units;
    l->nstate = l->saved = l->work = 0;
    return SB_OK;
}

static void dense_init(ann_layer *l, sb_rng *rng)
{
    /* kaiming_uniform(a = sqrt 5) and PyTorch's bias rule: both U(+-1/sqrt(fan_in)) */
    double bound = 1.0 / sqrt((double)ann_shape_size(l->in));
    for (size_t i = 0; i < l->nparams; i++)
        l->params[i] = (float)((2 * sb_rng_uniform(rng) - 1) * bound);
}

/* in (B, N) -> out (B, units) = in . Wᵀ + b */
static void dense_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    (void)ctx;
    const int n = (int)ann_shape_size(l->in), m = l->units;
    const float *wt = l->params, *bias = l->params + (size_t)m * n;
    for (int s = 0; s < batch; s++)
        for (int u = 0; u < m; u++)
            out[(size_t)s * m + u] = bias[u];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, m, n, 1.0f, in, n, wt, n, 1.0f, out, m);
}

/* dout (B, units) -> dW += doutᵀ . in, db += sum dout, din (B, N) = dout . W */
static void dense_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                           float *din, int batch, const ann_ctx *ctx)
{
    (void)out;
    (void)ctx;
    const int n = (int)ann_shape_size(l->in), m = l->units;
    const float *wt = l->params;
    float *gw = l->grads, *gb = l->grads + (size_t)m * n;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, batch, 1.0f, dout, m, in, n, 1.0f, gw, n);
    for (int u = 0; u < m; u++) {
        double sum = 0;
        for (int s = 0; s < batch; s++)
            sum += dout[(size_t)s * m + u];
        gb[u] += (float)sum;
    }
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n, m, 1.0f, dout, m, wt, n, 0.0f,
                    din, n);
}

const ann_layer_ops ann_dense_ops = {"dense", dense_setup, dense_init, dense_forward, dense_backward};
