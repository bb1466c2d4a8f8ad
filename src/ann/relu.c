/*
 * ReLU, max(0, x). No parameters and nothing saved: backward reads the
 * forward output, whose sign is the input's.
 */
#include "spikebridge/ann.h"

static sb_status relu_setup(ann_layer *l)
{
    if (l->in.c < 1 || l->in.h < 1 || l->in.w < 1)
        return sb_fail(SB_EINVAL, "layer %d (relu): empty input %dx%dx%d", l->index, l->in.c,
                       l->in.h, l->in.w);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (relu): batch size %d", l->index, l->max_batch);
    l->out = l->in;
    l->nparams = l->nstate = l->saved = l->work = 0;
    return SB_OK;
}

static void relu_init(ann_layer *l, sb_rng *rng)
{
    (void)l;
    (void)rng;
}

/* in (B, N) -> out (B, N) = max(0, in) */
static void relu_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    (void)ctx;
    const long n = (long)batch * (long)ann_shape_size(l->in);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++)
        out[i] = in[i] < 0 ? 0.0f : in[i]; /* written this way round a NaN passes through */
}

/* dout (B, N) -> din (B, N) = dout where out > 0, else 0 */
static void relu_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                          float *din, int batch, const ann_ctx *ctx)
{
    (void)in;
    (void)ctx;
    if (!din)
        return;
    const long n = (long)batch * (long)ann_shape_size(l->in);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++)
    {
        float d = dout[i]; /* loaded unconditionally, so the loop vectorises */
        din[i] = out[i] > 0 ? d : 0.0f;
    }
}

const ann_layer_ops ann_relu_ops = {"relu", relu_setup, relu_init, relu_forward, relu_backward};
