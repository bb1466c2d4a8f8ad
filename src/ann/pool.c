/*
 * Max pooling: k x k windows at stride k, output size rounded down (the
 * last rows and columns that fill no window are ignored, as in PyTorch).
 *
 * No parameters. l->save keeps, per output element, the offset i*k + j of
 * the maximum inside its window: small integers are exact in a float, and
 * an offset (unlike an index into the sample) stays below 2^24 for any
 * kernel that fits in memory. Ties go to the first maximum in row-major
 * order, so backward routes a gradient to exactly one input.
 */
#include <math.h>
#include <string.h>

#include "spikebridge/ann.h"

static sb_status pool_setup(ann_layer *l)
{
    if (l->in.c < 1 || l->in.h < 1 || l->in.w < 1)
        return sb_fail(SB_EINVAL, "layer %d (maxpool%d): empty input %dx%dx%d", l->index, l->k,
                       l->in.c, l->in.h, l->in.w);
    if (l->k < 1)
        return sb_fail(SB_EINVAL, "layer %d (maxpool%d): kernel %d (needs at least 1)", l->index,
                       l->k, l->k);
    if (l->k > l->in.h || l->k > l->in.w)
        return sb_fail(SB_EINVAL, "layer %d (maxpool%d): kernel %d larger than input %dx%d",
                       l->index, l->k, l->k, l->in.h, l->in.w);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (maxpool%d): batch size %d", l->index, l->k,
                       l->max_batch);
    l->out.c = l->in.c;
    l->out.h = l->in.h / l->k;
    l->out.w = l->in.w / l->k;
    l->nparams = l->nstate = l->work = 0;
    l->saved = (size_t)l->max_batch * ann_shape_size(l->out);
    return SB_OK;
}

static void pool_init(ann_layer *l, sb_rng *rng)
{
    (void)l;
    (void)rng;
}

/* The 2x2 case of cnn-vgg-s as straight-line selects that gcc vectorises
 * along a row (the general loop below does not: it was 9 % of a training
 * step). Same rules: strict > keeps the first maximum, a NaN wins. */
static void pool2_row(const float *r0, const float *r1, float *out, float *arg, int ow)
{
    for (int ox = 0; ox < ow; ox++) {
        float v[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
        float best = v[0], at = 0;
        for (int i = 1; i < 4; i++) {
            int take = v[i] > best || (v[i] != v[i] && best == best);
            best = take ? v[i] : best;
            at = take ? (float)i : at;
        }
        out[ox] = best;
        arg[ox] = at;
    }
}

/* in (B, C, H, W) -> out (B, C, H/k, W/k), save = argmax offset in each window */
static void pool_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    (void)ctx;
    const int k = l->k, h = l->in.h, w = l->in.w, oh = l->out.h, ow = l->out.w;
    const long planes = (long)batch * l->in.c;
    const size_t inplane = (size_t)h * w, outplane = (size_t)oh * ow;
    float *arg = l->save;
#pragma omp parallel for schedule(static) if (planes * (long)inplane > 32768)
    for (long p = 0; p < planes; p++) {
        const float *x = in + (size_t)p * inplane;
        if (k == 2) {
            for (int oy = 0; oy < oh; oy++) {
                size_t o = (size_t)p * outplane + (size_t)oy * ow;
                pool2_row(x + (size_t)2 * oy * w, x + (size_t)(2 * oy + 1) * w, out + o, arg + o, ow);
            }
            continue;
        }
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const float *win = x + (size_t)oy * k * w + (size_t)ox * k;
                float best = win[0];
                int at = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        float v = win[(size_t)i * w + j];
                        /* strict >: ties keep the first; a NaN wins so that divergence shows */
                        if (v > best || (isnan(v) && !isnan(best))) {
                            best = v;
                            at = i * k + j;
                        }
                    }
                size_t o = (size_t)p * outplane + (size_t)oy * ow + ox;
                out[o] = best;
                arg[o] = (float)at;
            }
    }
}

/* dout (B, C, H/k, W/k) -> din (B, C, H, W): each gradient to its window's argmax, 0 elsewhere */
static void pool_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                          float *din, int batch, const ann_ctx *ctx)
{
    (void)in;
    (void)out;
    (void)ctx;
    if (!din)
        return;
    const int k = l->k, w = l->in.w, oh = l->out.h, ow = l->out.w;
    const long planes = (long)batch * l->in.c;
    const size_t inplane = (size_t)l->in.h * w, outplane = (size_t)oh * ow;
    const float *arg = l->save;
#pragma omp parallel for schedule(static) if (planes * (long)inplane > 32768)
    for (long p = 0; p < planes; p++) {
        float *dx = din + (size_t)p * inplane;
        memset(dx, 0, inplane * sizeof(float));
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                size_t o = (size_t)p * outplane + (size_t)oy * ow + ox;
                int at = (int)arg[o];
                /* windows do not overlap (stride k): each input gets at most one gradient */
                dx[(size_t)(oy * k + at / k) * w + (size_t)ox * k + at % k] = dout[o];
            }
    }
}

const ann_layer_ops ann_maxpool_ops = {"maxpool", pool_setup, pool_init, pool_forward, pool_backward};
