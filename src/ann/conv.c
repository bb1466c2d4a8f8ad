/*
 * Convolution: k x k, stride 1, zero padding `pad`, `units` filters with a
 * bias each.
 *
 * Parameters: weights [units][in.c][k][k], then bias [units] — PyTorch's
 * Conv2d layout, so weights can be loaded from it and compared with it.
 *
 * Strategy: one sample per OpenMP iteration, its products in OpenBLAS. A
 * layer with at least SHIFT_MIN_CHANNELS input channels runs k*k shifted
 * products on a padded copy of the sample (conv_shift.c); the others, the
 * first layer of an image model among them, im2col and one sgemm
 * (in.c*k*k x H*W columns). Per-sample products are already large enough
 * for BLAS (32 x 784 x 32 nine times for the second layer of cnn-vgg-s),
 * while whole-batch ones would cost batch times the scratch and a
 * transpose of [units][batch*H*W] into NCHW. Each thread owns its scratch
 * in ctx->work; OpenBLAS's OpenMP build runs single-threaded inside our
 * parallel region, and threaded on its own when a batch of one leaves no
 * region to open.
 *
 * Determinism: weight gradients are summed per group of consecutive samples
 * into the group's own accumulator, and the accumulators are then added in
 * group order. The groups depend on the batch size only, never on the
 * thread count or on which thread ran which group, so the gradients are
 * bit-identical for any number of threads (not only for the same one).
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "conv_dims.h"

/* At most this many weight-gradient accumulators: enough groups to keep
 * 32 threads busy, few enough that their sum costs little next to the
 * products (each group already holds batch/32 samples). */
enum { CONV_GROUPS = 32 };

/* Fewest input channels for conv_shift.c: its products have K = c, and at
 * c = 1 (the first layer of an image model) they would be rank-1 updates,
 * where im2col's K = k*k is the better product. */
enum { SHIFT_MIN_CHANNELS = 8 };

conv_dims conv_dims_of(const ann_layer *l)
{
    conv_dims d = {0};
    d.c = l->in.c, d.h = l->in.h, d.w = l->in.w, d.k = l->k, d.pad = l->pad, d.units = l->units;
    d.oh = l->out.h, d.ow = l->out.w;
    d.hw = (size_t)d.oh * d.ow;
    d.ckk = (size_t)d.c * d.k * d.k;
    d.nin = (size_t)d.c * d.h * d.w;
    d.nout = (size_t)d.units * d.hw;
    /* A 1x1 kernel without padding reads the input as its own column matrix. */
    d.ncol = d.k == 1 && d.pad == 0 ? 0 : d.ckk * d.hw;
    d.nw = (size_t)d.units * d.ckk;
    d.nacc = (size_t)(l->max_batch < CONV_GROUPS ? l->max_batch : CONV_GROUPS) * d.nw;
    d.shift = d.k > 1 && d.c >= SHIFT_MIN_CHANNELS;
    d.nthread = d.ncol;
    if (d.shift) {
        d.ncol = 0;
        d.pw = d.w + 2 * d.pad;
        d.plane = (size_t)(d.h + 2 * d.pad) * (size_t)d.pw;
        d.npad = (size_t)d.c * d.plane + (size_t)d.k - 1;
        d.ngrid = (size_t)d.oh * (size_t)d.pw;
        d.nwr = d.nw;
        d.nthread = 2 * d.npad + (size_t)d.units * d.ngrid;
    }
    return d;
}

/* How many column buffers setup reserved: threads beyond that (more than
 * omp_get_max_threads() at setup) would have no scratch of their own. */
int conv_threads(const ann_layer *l, const conv_dims *d, int tasks)
{
    int t = omp_get_max_threads();
    if (d->nthread) {
        size_t room = (l->work - d->nacc - d->nwr) / d->nthread;
        t = room < (size_t)t ? (int)room : t;
    }
    t = t < tasks ? t : tasks;
    return t < 1 ? 1 : t;
}

static void conv_label(const ann_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "conv%dx%d:%d", l->k, l->k, l->units);
}

static sb_status conv_setup(ann_layer *l)
{
    char what[64];
    conv_label(l, what, sizeof what);
    if (l->in.c < 1 || l->in.h < 1 || l->in.w < 1)
        return sb_fail(SB_EINVAL, "layer %d (%s): empty input %dx%dx%d", l->index, what, l->in.c,
                       l->in.h, l->in.w);
    if (l->units < 1)
        return sb_fail(SB_EINVAL, "layer %d (%s): %d filters (needs at least 1)", l->index, what,
                       l->units);
    if (l->k < 1)
        return sb_fail(SB_EINVAL, "layer %d (%s): kernel %d (needs at least 1)", l->index, what, l->k);
    if (l->pad < 0)
        return sb_fail(SB_EINVAL, "layer %d (%s): negative padding %d", l->index, what, l->pad);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (%s): batch size %d", l->index, what, l->max_batch);
    /* long: a huge pad must not overflow into a plausible size. */
    long ph = (long)l->in.h + 2L * l->pad, pw = (long)l->in.w + 2L * l->pad;
    if (l->k > ph || l->k > pw)
        return sb_fail(SB_EINVAL, "layer %d (%s): kernel %d larger than padded input %ldx%ld",
                       l->index, what, l->k, ph, pw);
    if (ph - l->k + 1 > INT_MAX / 2 || pw - l->k + 1 > INT_MAX / 2)
        return sb_fail(SB_EINVAL, "layer %d (%s): padding %d is absurd", l->index, what, l->pad);
    l->out.c = l->units;
    l->out.h = (int)(ph - l->k + 1);
    l->out.w = (int)(pw - l->k + 1);
    conv_dims d = conv_dims_of(l);
    l->nparams = d.nw + (size_t)l->units;
    l->nstate = 0;
    l->saved = 0; /* backward rebuilds its columns or padded copy: cheaper than keeping a batch */
    int threads = omp_get_max_threads();
    threads = threads < l->max_batch ? threads : l->max_batch;
    l->work = d.nacc + d.nwr + (size_t)(threads < 1 ? 1 : threads) * d.nthread;
    return SB_OK;
}

static void conv_init(ann_layer *l, sb_rng *rng)
{
    /* kaiming_uniform(a = sqrt 5) for the weights and PyTorch's bias rule
     * both come down to U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    double bound = 1.0 / sqrt((double)l->in.c * l->k * l->k);
    for (size_t i = 0; i < l->nparams; i++)
        l->params[i] = (float)((2 * sb_rng_uniform(rng) - 1) * bound);
}

/* Output columns [*x0, *x1) whose input column x + j - pad lies inside. */
static void conv_inside(const conv_dims *d, int j, int *x0, int *x1)
{
    int a = d->pad - j, b = d->w + d->pad - j;
    a = a < 0 ? 0 : a;
    b = b > d->ow ? d->ow : b;
    *x0 = a;
    *x1 = b > a ? b : a;
}

/* cols[(ch*k + i)*k + j][y*ow + x] = x[ch][y + i - pad][x + j - pad], 0 outside */
static void im2col(const conv_dims *d, const float *x, float *cols)
{
    for (int ch = 0; ch < d->c; ch++)
        for (int i = 0; i < d->k; i++)
            for (int j = 0; j < d->k; j++) {
                float *row = cols + ((size_t)(ch * d->k + i) * d->k + j) * d->hw;
                int x0, x1;
                conv_inside(d, j, &x0, &x1);
                for (int y = 0; y < d->oh; y++) {
                    float *r = row + (size_t)y * d->ow;
                    int iy = y + i - d->pad;
                    if (iy < 0 || iy >= d->h) {
                        memset(r, 0, (size_t)d->ow * sizeof(float));
                        continue;
                    }
                    const float *src = x + ((size_t)ch * d->h + iy) * d->w;
                    for (int xx = 0; xx < x0; xx++)
                        r[xx] = 0;
                    /* Rows are 7 to 28 floats here: an inline loop beats a
                     * memcpy call (6 % of a training step in the profile). */
                    const float *from = src + j - d->pad;
                    for (int xx = x0; xx < x1; xx++)
                        r[xx] = from[xx];
                    for (int xx = x1; xx < d->ow; xx++)
                        r[xx] = 0;
                }
            }
}

/* dx[ch][yy][xx] = sum of the column entries im2col copied from there */
static void col2im(const conv_dims *d, const float *cols, float *dx)
{
    memset(dx, 0, d->nin * sizeof(float));
    for (int ch = 0; ch < d->c; ch++)
        for (int i = 0; i < d->k; i++)
            for (int j = 0; j < d->k; j++) {
                const float *row = cols + ((size_t)(ch * d->k + i) * d->k + j) * d->hw;
                int x0, x1;
                conv_inside(d, j, &x0, &x1);
                for (int y = 0; y < d->oh; y++) {
                    int iy = y + i - d->pad;
                    if (iy < 0 || iy >= d->h)
                        continue;
                    const float *r = row + (size_t)y * d->ow;
                    float *dst = dx + ((size_t)ch * d->h + iy) * d->w;
                    for (int xx = x0; xx < x1; xx++)
                        dst[xx + j - d->pad] += r[xx];
                }
            }
}

/* in (B, C, H, W) -> out (B, units, H+2p-k+1, W+2p-k+1); per sample out = W . im2col(in) + b */
static void conv_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    const conv_dims d = conv_dims_of(l);
    if (d.shift) {
        conv_shift_forward(l, &d, in, out, batch, ctx->work);
        return;
    }
    const float *wt = l->params, *bias = l->params + d.nw;
    float *cols_all = ctx->work + d.nacc;
#pragma omp parallel for num_threads(conv_threads(l, &d, batch)) schedule(static)
    for (int s = 0; s < batch; s++) {
        const float *x = in + (size_t)s * d.nin;
        float *y = out + (size_t)s * d.nout;
        const float *cols = x;
        if (d.ncol) {
            float *mine = cols_all + (size_t)omp_get_thread_num() * d.ncol;
            im2col(&d, x, mine);
            cols = mine;
        }
        for (int u = 0; u < d.units; u++)
            for (size_t p = 0; p < d.hw; p++)
                y[(size_t)u * d.hw + p] = bias[u];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.units, (int)d.hw, (int)d.ckk, 1.0f, wt,
                    (int)d.ckk, cols, (int)d.hw, 1.0f, y, (int)d.hw);
    }
}

/* One unit per iteration, each summed in sample and position order: the
 * same bits for any thread count. */
static void bias_grad(const conv_dims *d, const float *dout, int batch, float *gb)
{
#pragma omp parallel for schedule(static) if ((long)batch * (long)d->nout > 65536)
    for (int u = 0; u < d->units; u++) {
        double sum = 0;
        for (int s = 0; s < batch; s++) {
            const float *dy = dout + (size_t)s * d->nout + (size_t)u * d->hw;
            for (size_t p = 0; p < d->hw; p++)
                sum += dy[p];
        }
        gb[u] += (float)sum;
    }
}

/* dout (B, units, OH, OW) -> dW += dout . colsᵀ, db += sum dout, din (B, C, H, W) = col2im(Wᵀ . dout) */
static void conv_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                          float *din, int batch, const ann_ctx *ctx)
{
    (void)out;
    const conv_dims d = conv_dims_of(l);
    const float *wt = l->params;
    float *acc = ctx->work, *cols_all = ctx->work + d.nacc;
    int groups = batch < CONV_GROUPS ? batch : CONV_GROUPS;
    float *gw = l->grads, *gb = l->grads + d.nw;
    if (d.shift) {
        conv_shift_backward(l, &d, in, dout, din, batch, groups, ctx->work);
        bias_grad(&d, dout, batch, gb);
        return;
    }
#pragma omp parallel for num_threads(conv_threads(l, &d, groups)) schedule(static)
    for (int g = 0; g < groups; g++) {
        float *a = acc + (size_t)g * d.nw;
        float *mine = d.ncol ? cols_all + (size_t)omp_get_thread_num() * d.ncol : NULL;
        memset(a, 0, d.nw * sizeof(float));
        int s1 = (int)((long)(g + 1) * batch / groups);
        for (int s = (int)((long)g * batch / groups); s < s1; s++) {
            const float *x = in + (size_t)s * d.nin, *dy = dout + (size_t)s * d.nout;
            const float *cols = x;
            if (mine) {
                im2col(&d, x, mine);
                cols = mine;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.units, (int)d.ckk, (int)d.hw, 1.0f,
                        dy, (int)d.hw, cols, (int)d.hw, 1.0f, a, (int)d.ckk);
            if (!din)
                continue;
            float *dx = din + (size_t)s * d.nin;
            /* The columns are spent: their buffer takes Wᵀ . dout. */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d.ckk, (int)d.hw, d.units, 1.0f, wt,
                        (int)d.ckk, dy, (int)d.hw, 0.0f, mine ? mine : dx, (int)d.hw);
            if (mine)
                col2im(&d, mine, dx);
        }
    }
    long nw = (long)d.nw;
    /* Each weight sums its groups in order whichever thread runs it. */
#pragma omp parallel for schedule(static) if (nw * groups > 65536)
    for (long i = 0; i < nw; i++) {
        float sum = acc[i];
        for (int g = 1; g < groups; g++)
            sum += acc[(size_t)g * d.nw + (size_t)i];
        gw[i] += sum;
    }
    bias_grad(&d, dout, batch, gb);
}

const ann_layer_ops ann_conv_ops = {"conv", conv_setup, conv_init, conv_forward, conv_backward};
