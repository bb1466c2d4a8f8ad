/*
 * Convolution without im2col: k*k shifted products on a zero-padded copy.
 *
 * On a padded input (channels of (h + 2 pad) x pw floats, pw = w + 2 pad),
 * the input under kernel offset (i, j) for output position (y, x) sits at
 * (y + i) * pw + x + j: the same address as position n = y * pw + x plus a
 * constant i * pw + j. So for each offset the columns im2col would copy are
 * already a matrix in place: c rows, one per channel, `plane` floats apart,
 * starting at i * pw + j. The layer is then k*k products with K = c,
 *   grid[units][oh * pw] += W(i,j)[units][c] . padded[c][i * pw + j + n],
 * computed over whole padded rows: the k - 1 columns past ow on each row
 * are junk and dropped. This moves the one padded copy (c * plane floats)
 * instead of the k*k times larger column matrix (13 % of a cnn-vgg-s
 * training step went to im2col), and OpenBLAS runs these products with
 * K = 32 or 64 as fast as the single K = c*k*k one.
 *
 * Backward uses the same addressing: dW(i,j) += dgrid . padded(i,j)ᵀ with
 * the junk columns of dgrid set to zero, and dpadded(i,j) += W(i,j)ᵀ .
 * dgrid, whose interior is din. The last row of the last channel reads and
 * writes k - 1 floats past the padded copy: that slack is zeroed.
 *
 * Only layers with enough input channels use this (conv.c decides): with
 * c = 1, the products would be rank-1 updates.
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "conv_dims.h"

/* wr[t][u][ch] = W[u][ch][t], t = i * k + j: one (units x c) matrix per offset. */
static void regroup_weights(const conv_dims *d, const float *w, float *wr)
{
    size_t kk = (size_t)d->k * d->k, uc = (size_t)d->units * d->c;
    for (size_t uch = 0; uch < uc; uch++)
        for (size_t t = 0; t < kk; t++)
            wr[t * uc + uch] = w[uch * kk + t];
}

/* xp = x with `pad` zeros around each channel, then k - 1 zeros of slack */
static void pad_input(const conv_dims *d, const float *x, float *xp)
{
    memset(xp, 0, d->npad * sizeof(float));
    for (int ch = 0; ch < d->c; ch++)
        for (int y = 0; y < d->h; y++) {
            const float *src = x + ((size_t)ch * d->h + y) * d->w;
            float *dst = xp + (size_t)ch * d->plane + (size_t)(y + d->pad) * d->pw + d->pad;
            for (int xx = 0; xx < d->w; xx++)
                dst[xx] = src[xx];
        }
}

static size_t offset(const conv_dims *d, int t) { return (size_t)(t / d->k) * d->pw + (size_t)(t % d->k); }

/* in (B, C, H, W) -> out (B, units, OH, OW) */
void conv_shift_forward(const ann_layer *l, const conv_dims *d, const float *in, float *out,
                        int batch, float *work)
{
    const float *bias = l->params + d->nw;
    float *wr = work + d->nacc, *scratch = wr + d->nwr;
    const int kk = d->k * d->k;
    const size_t uc = (size_t)d->units * d->c;
    regroup_weights(d, l->params, wr);
#pragma omp parallel for num_threads(conv_threads(l, d, batch)) schedule(static)
    for (int s = 0; s < batch; s++) {
        float *xp = scratch + (size_t)omp_get_thread_num() * d->nthread, *grid = xp + d->npad;
        float *y = out + (size_t)s * d->nout;
        pad_input(d, in + (size_t)s * d->nin, xp);
        for (int t = 0; t < kk; t++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->units, (int)d->ngrid, d->c, 1.0f,
                        wr + (size_t)t * uc, d->c, xp + offset(d, t), (int)d->plane, t ? 1.0f : 0.0f,
                        grid, (int)d->ngrid);
        for (int u = 0; u < d->units; u++)
            for (int yy = 0; yy < d->oh; yy++) {
                const float *g = grid + (size_t)u * d->ngrid + (size_t)yy * d->pw;
                float *o = y + ((size_t)u * d->oh + yy) * d->ow;
                for (int xx = 0; xx < d->ow; xx++)
                    o[xx] = g[xx] + bias[u];
            }
    }
}

/* dgrid = dy on the grid, junk columns zero */
static void spread_dout(const conv_dims *d, const float *dy, float *grid)
{
    for (int u = 0; u < d->units; u++)
        for (int yy = 0; yy < d->oh; yy++) {
            const float *src = dy + ((size_t)u * d->oh + yy) * d->ow;
            float *g = grid + (size_t)u * d->ngrid + (size_t)yy * d->pw;
            for (int xx = 0; xx < d->ow; xx++)
                g[xx] = src[xx];
            for (int xx = d->ow; xx < d->pw; xx++)
                g[xx] = 0;
        }
}

/* din[ch][y][x] = dxp[ch][y + pad][x + pad] */
static void gather_din(const conv_dims *d, const float *dxp, float *dx)
{
    for (int ch = 0; ch < d->c; ch++)
        for (int y = 0; y < d->h; y++) {
            const float *src = dxp + (size_t)ch * d->plane + (size_t)(y + d->pad) * d->pw + d->pad;
            float *dst = dx + ((size_t)ch * d->h + y) * d->w;
            for (int xx = 0; xx < d->w; xx++)
                dst[xx] = src[xx];
        }
}

/* Weight gradients into l->grads (added), din if not NULL; the bias is conv.c's. */
void conv_shift_backward(const ann_layer *l, const conv_dims *d, const float *in, const float *dout,
                         float *din, int batch, int groups, float *work)
{
    float *acc = work, *wr = work + d->nacc, *scratch = wr + d->nwr;
    const int kk = d->k * d->k;
    const size_t uc = (size_t)d->units * d->c;
    regroup_weights(d, l->params, wr);
#pragma omp parallel for num_threads(conv_threads(l, d, groups)) schedule(static)
    for (int g = 0; g < groups; g++) {
        float *a = acc + (size_t)g * d->nw;
        float *xp = scratch + (size_t)omp_get_thread_num() * d->nthread;
        float *grid = xp + d->npad, *dxp = grid + (size_t)d->units * d->ngrid;
        memset(a, 0, d->nw * sizeof(float));
        int s1 = (int)((long)(g + 1) * batch / groups);
        for (int s = (int)((long)g * batch / groups); s < s1; s++) {
            pad_input(d, in + (size_t)s * d->nin, xp);
            spread_dout(d, dout + (size_t)s * d->nout, grid);
            for (int t = 0; t < kk; t++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->units, d->c, (int)d->ngrid, 1.0f,
                            grid, (int)d->ngrid, xp + offset(d, t), (int)d->plane, 1.0f,
                            a + (size_t)t * uc, d->c);
            if (!din)
                continue;
            memset(dxp, 0, d->npad * sizeof(float));
            for (int t = 0; t < kk; t++)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->c, (int)d->ngrid, d->units, 1.0f,
                            wr + (size_t)t * uc, d->c, grid, (int)d->ngrid, 1.0f, dxp + offset(d, t),
                            (int)d->plane);
            gather_din(d, dxp, din + (size_t)s * d->nin);
        }
    }
    float *gw = l->grads;
    long nw = (long)d->nw;
    /* Each weight sums its groups in order whichever thread runs it. */
#pragma omp parallel for schedule(static) if (nw * groups > 65536)
    for (long i = 0; i < nw; i++) {
        size_t at = (size_t)(i % kk) * uc + (size_t)(i / kk);
        float sum = acc[at];
        for (int g = 1; g < groups; g++)
            sum += acc[(size_t)g * d->nw + at];
        gw[i] += sum;
    }
}
