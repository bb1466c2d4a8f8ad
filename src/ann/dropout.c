/*
 * Inverted dropout: while training each element is kept with probability
 * 1 - rate and scaled by 1/(1 - rate), so that inference is the identity.
 *
 * The mask of sample s at step t reads the stream (seed, ANN_DROPOUT,
 * member*256 + layer) at position (t*max_batch + s)*size, one uniform per
 * element: it belongs to (seed, member, layer, step, sample) and not to the
 * thread, rank or batch that draws it, so results do not depend on how the
 * batch is split. l->save keeps the mask (0 or the scale) for backward.
 */
#include <string.h>

#include "spikebridge/ann.h"

static sb_status dropout_setup(ann_layer *l)
{
    if (l->in.c < 1 || l->in.h < 1 || l->in.w < 1)
        return sb_fail(SB_EINVAL, "layer %d (dropout:%g): empty input %dx%dx%d", l->index,
                       (double)l->rate, l->in.c, l->in.h, l->in.w);
    /* written so that a NaN rate fails too */
    if (!(l->rate >= 0.0f && l->rate < 1.0f))
        return sb_fail(SB_EINVAL, "layer %d (dropout:%g): rate %g outside [0, 1)", l->index,
                       (double)l->rate, (double)l->rate);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (dropout:%g): batch size %d", l->index, (double)l->rate,
                       l->max_batch);
    l->out = l->in;
    l->nparams = l->nstate = l->work = 0;
    l->saved = (size_t)l->max_batch * ann_shape_size(l->in);
    return SB_OK;
}

static void dropout_init(ann_layer *l, sb_rng *rng)
{
    (void)l;
    (void)rng;
}

static int dropout_active(const ann_layer *l, const ann_ctx *ctx)
{
    return ctx->train && l->rate > 0.0f;
}

/* in (B, N) -> out (B, N) = in * mask, mask in {0, 1/(1-rate)} while training; out = in otherwise */
static void dropout_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    const size_t size = ann_shape_size(l->in);
    if (!dropout_active(l, ctx)) {
        if (out != in)
            memcpy(out, in, (size_t)batch * size * sizeof(float));
        return;
    }
    const float scale = 1.0f / (1.0f - l->rate);
    const double rate = l->rate;
    float *mask_all = l->save;
#pragma omp parallel for schedule(static) if ((long)batch * (long)size > 16384)
    for (int s = 0; s < batch; s++) {
        sb_rng r;
        sb_rng_init(&r, ctx->seed, SB_STREAM_ANN_DROPOUT, ctx->member * 256 + (uint64_t)l->index,
                    ((uint64_t)ctx->step * (uint64_t)l->max_batch + (uint64_t)s) * size);
        float *mask = mask_all + (size_t)s * size;
        const float *x = in + (size_t)s * size;
        float *y = out + (size_t)s * size;
        for (size_t i = 0; i < size; i++) {
            mask[i] = sb_rng_uniform(&r) >= rate ? scale : 0.0f;
            y[i] = x[i] * mask[i];
        }
    }
}

/* dout (B, N) -> din (B, N) = dout * mask while training; dout otherwise */
static void dropout_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                             float *din, int batch, const ann_ctx *ctx)
{
    (void)in;
    (void)out;
    if (!din)
        return;
    const long n = (long)batch * (long)ann_shape_size(l->in);
    if (!dropout_active(l, ctx)) {
        if (din != dout)
            memcpy(din, dout, (size_t)n * sizeof(float));
        return;
    }
    const float *mask = l->save;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++)
        din[i] = dout[i] * mask[i];
}

const ann_layer_ops ann_dropout_ops = {"dropout", dropout_setup, dropout_init, dropout_forward,
                                       dropout_backward};
