/*
 * Batch normalisation per channel over the batch and the spatial positions
 * (BatchNorm2d; on (c, 1, 1) inputs it is BatchNorm1d), PyTorch semantics:
 * eps 1e-5, momentum 0.1, normalisation by the biased batch variance, the
 * running variance updated with the unbiased one.
 *
 * Parameters: gamma [c], then beta [c]. State: running mean [c], then
 * running variance [c]. l->save holds the mean and 1/sqrt(var + eps) [c]
 * each that forward used (batch or running statistics), so backward
 * rebuilds the normalised input from `in` instead of keeping a copy.
 */
#include <math.h>

#include "spikebridge/ann.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

static sb_status bn_setup(ann_layer *l)
{
    if (l->in.c < 1 || l->in.h < 1 || l->in.w < 1)
        return sb_fail(SB_EINVAL, "layer %d (bn): empty input %dx%dx%d", l->index, l->in.c,
                       l->in.h, l->in.w);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (bn): batch size %d", l->index, l->max_batch);
    l->out = l->in;
    l->nparams = 2 * (size_t)l->in.c;
    l->nstate = 2 * (size_t)l->in.c;
    l->saved = 2 * (size_t)l->in.c;
    l->work = 0;
    return SB_OK;
}

static void bn_init(ann_layer *l, sb_rng *rng)
{
    (void)rng;
    const int c = l->in.c;
    for (int i = 0; i < c; i++) {
        l->params[i] = 1.0f;
        l->params[c + i] = 0.0f;
        l->state[i] = 0.0f;
        l->state[c + i] = 1.0f;
    }
}

/* in (B, C, HW) -> out (B, C, HW) = gamma (in - mean) / sqrt(var + eps) + beta, per channel */
static void bn_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    const int c = l->in.c;
    const size_t hw = (size_t)l->in.h * l->in.w, size = (size_t)c * hw;
    const double n = (double)batch * (double)hw;
    const float *gamma = l->params, *beta = l->params + c;
    float *rmean = l->state, *rvar = l->state + c, *smean = l->save, *sinv = l->save + c;
#pragma omp parallel for schedule(static) if ((long)batch * (long)size > 16384)
    for (int ch = 0; ch < c; ch++) {
        double mean = rmean[ch], var = rvar[ch];
        if (ctx->train) {
            /* two passes in double: one pass (E[x²] - E[x]²) cancels badly */
            double sum = 0, sq = 0;
            for (int s = 0; s < batch; s++) {
                const float *x = in + (size_t)s * size + (size_t)ch * hw;
                for (size_t p = 0; p < hw; p++)
                    sum += x[p];
            }
            mean = sum / n;
            for (int s = 0; s < batch; s++) {
                const float *x = in + (size_t)s * size + (size_t)ch * hw;
                for (size_t p = 0; p < hw; p++)
                    sq += (x[p] - mean) * (x[p] - mean);
            }
            var = sq / n;
            /* One value per channel has no unbiased variance (PyTorch
             * refuses it); keep the biased one rather than divide by zero. */
            double unbiased = n > 1 ? sq / (n - 1) : var;
            rmean[ch] = (float)((1 - BN_MOMENTUM) * rmean[ch] + BN_MOMENTUM * mean);
            rvar[ch] = (float)((1 - BN_MOMENTUM) * rvar[ch] + BN_MOMENTUM * unbiased);
        }
        const float m = (float)mean, inv = (float)(1.0 / sqrt(var + BN_EPS));
        smean[ch] = m;
        sinv[ch] = inv;
        for (int s = 0; s < batch; s++) {
            const float *x = in + (size_t)s * size + (size_t)ch * hw;
            float *y = out + (size_t)s * size + (size_t)ch * hw;
            for (size_t p = 0; p < hw; p++)
                y[p] = gamma[ch] * ((x[p] - m) * inv) + beta[ch];
        }
    }
}

/* dout (B, C, HW) -> din (B, C, HW), dgamma += sum dout*xhat, dbeta += sum dout */
static void bn_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                        float *din, int batch, const ann_ctx *ctx)
{
    (void)out;
    const int c = l->in.c;
    const size_t hw = (size_t)l->in.h * l->in.w, size = (size_t)c * hw;
    const double n = (double)batch * (double)hw;
    const float *gamma = l->params, *smean = l->save, *sinv = l->save + c;
    float *ggamma = l->grads, *gbeta = l->grads + c;
#pragma omp parallel for schedule(static) if ((long)batch * (long)size > 16384)
    for (int ch = 0; ch < c; ch++) {
        const float m = smean[ch], inv = sinv[ch];
        double sdy = 0, sdyx = 0;
        for (int s = 0; s < batch; s++) {
            const float *x = in + (size_t)s * size + (size_t)ch * hw;
            const float *dy = dout + (size_t)s * size + (size_t)ch * hw;
            for (size_t p = 0; p < hw; p++) {
                sdy += dy[p];
                sdyx += (double)dy[p] * ((x[p] - m) * inv);
            }
        }
        ggamma[ch] += (float)sdyx;
        gbeta[ch] += (float)sdy;
        if (!din)
            continue;
        const float k = gamma[ch] * inv;
        /* din = gamma/sigma (dout - mean(dout) - xhat mean(dout xhat)): in
         * training the mean and variance depend on every input of the
         * channel, which gives the two mean terms; with running statistics
         * they are constants and only gamma/sigma dout is left. */
        const float mdy = ctx->train ? (float)(sdy / n) : 0.0f;
        const float mdyx = ctx->train ? (float)(sdyx / n) : 0.0f;
        for (int s = 0; s < batch; s++) {
            const float *x = in + (size_t)s * size + (size_t)ch * hw;
            const float *dy = dout + (size_t)s * size + (size_t)ch * hw;
            float *dx = din + (size_t)s * size + (size_t)ch * hw;
            for (size_t p = 0; p < hw; p++)
                dx[p] = k * (dy[p] - mdy - (x[p] - m) * inv * mdyx);
        }
    }
}

const ann_layer_ops ann_batchnorm_ops = {"batchnorm", bn_setup, bn_init, bn_forward, bn_backward};
