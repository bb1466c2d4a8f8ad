/* LSTM over a sequence (1, T, F) → the last hidden state (H, 1, 1), with
 * PyTorch's semantics and parameter layout so that weights can be compared
 * with torch.nn.LSTM(F, H, batch_first=True):
 *
 *   params = W_ih [4H][F], W_hh [4H][H], b_ih [4H], b_hh [4H]
 *   gates in the order i, f, g, o (rows k*H .. k*H+H-1 of W_ih, W_hh, b)
 *   i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t),  h_{-1} = c_{-1} = 0
 *
 * l->save, for a batch B (laid out for the batch of the call, so B <= max_batch),
 * time-major so that each step's rows are one contiguous block (6 % faster
 * products than rows T apart):
 *   gates [T][B][4H]     activated i, f, g, o of every step
 *   cell  [T][B][H]      c_t
 *   xh    [T][B][H+F+1]  h_{t-1} (zero at t = 0), x_t, 1
 * The gate pre-activations of a step are then one sgemm, xh_t · [W_hh W_ih b]ᵀ
 * with K = H + F + 1, which also adds both biases (at t = 0, where h is
 * zero, only the x, 1 columns). Backwards, dzᵀ · xh over all B*T rows gives
 * dW_hh, dW_ih and the bias gradient in one sgemm. Both replace a product
 * with K = F = 28 (half the speed of the others) and a pass over the gates
 * for the biases.
 *
 * ctx->work: forward, wcat [4H][H+F+1] = [W_hh W_ih b_ih+b_hh]; backward,
 * dz [T][B][4H] (pre-activation gradients of all steps), dh [B][H],
 * dc [B][H], gcat [4H][H+F+1]. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "fastmath.h"
#include "spikebridge/ann.h"

static sb_status lstm_setup(ann_layer *l)
{
    const int H = l->units, T = l->in.h, F = l->in.w;
    if (H < 1)
        return sb_fail(SB_EINVAL, "layer %d (lstm:%d): needs at least 1 unit", l->index, H);
    if (l->in.c != 1)
        return sb_fail(SB_EINVAL,
                       "layer %d (lstm:%d): input must be a sequence (1, steps, features), got %d channels",
                       l->index, H, l->in.c);
    if (T < 1 || F < 1)
        return sb_fail(SB_EINVAL, "layer %d (lstm:%d): input has %d steps of %d features; needs at least 1 of each",
                       l->index, H, T, F);
    if (l->max_batch < 1)
        return sb_fail(SB_EINVAL, "layer %d (lstm:%d): max_batch %d", l->index, H, l->max_batch);
    /* BLAS takes int dimensions and strides; the largest is B*T*4H (the
     * whole gate matrix), so refusing it here keeps every index in range. */
    double rows = (double)l->max_batch * T;
    if (rows * 4.0 * H > INT_MAX || rows * ((double)H + F + 1) > INT_MAX ||
        ((double)F + H + 1) * 4.0 * H > INT_MAX)
        return sb_fail(SB_EINVAL, "layer %d (lstm:%d): %d steps x %d features x batch %d is too large",
                       l->index, H, T, F, l->max_batch);
    size_t h = (size_t)H, bt = (size_t)l->max_batch * (size_t)T;
    l->out = (ann_shape){H, 1, 1};
    l->nparams = 4 * h * (size_t)F + 4 * h * h + 8 * h;
    l->nstate = 0;
    size_t k1 = h + (size_t)F + 1;
    l->saved = bt * (5 * h + k1);
    l->work = bt * 4 * h + 2 * (size_t)l->max_batch * h + 4 * h * k1;
    return SB_OK;
}

static void lstm_init(ann_layer *l, sb_rng *rng)
{
    /* PyTorch draws every LSTM tensor, biases included, from U(-k, k) with
     * k = 1/sqrt(hidden size), not 1/sqrt(fan_in). */
    const double k = 1.0 / sqrt((double)l->units);
    for (size_t i = 0; i < l->nparams; i++)
        l->params[i] = (float)((2.0 * sb_rng_uniform(rng) - 1.0) * k);
}


/* One sample's step: gate pre-activations z (4H) → activations (in place),
 * cell c = f * c_prev + i * g, hidden h = o * tanh(c). Built for AVX-512,
 * AVX2 and plain x86-64 and chosen when the program loads, so one binary
 * runs everywhere and uses the widest vectors the CPU has (the transcendental
 * functions were 27 % of a training step with 4-wide SSE). */
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),
               optimize("fp-contract=fast")))
static void lstm_cell_row(float *restrict z, const float *restrict cp, float *restrict c,
                          float *restrict h, int H)
{
#pragma omp simd
    for (int j = 0; j < H; j++) {
        float i = sb_sigmoidf(z[j]), f = sb_sigmoidf(z[H + j]);
        float g = sb_tanhf(z[2 * H + j]), o = sb_sigmoidf(z[3 * H + j]);
        z[j] = i;
        z[H + j] = f;
        z[2 * H + j] = g;
        z[3 * H + j] = o;
        c[j] = f * cp[j] + i * g;
        h[j] = o * sb_tanhf(c[j]);
    }
}

/* in (B, T, F), W_ih (4H, F), W_hh (4H, H) -> out (B, H) = h_{T-1}; save gates, c, xh */
static void lstm_forward(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx)
{
    const int H = l->units, T = l->in.h, F = l->in.w, G = 4 * H, K1 = H + F + 1;
    const size_t bt = (size_t)batch * (size_t)T;
    const float *w_ih = l->params, *w_hh = w_ih + (size_t)G * F, *b_ih = w_hh + (size_t)G * H,
                *b_hh = b_ih + G;
    float *gates = l->save, *cell = gates + bt * G, *xh = cell + bt * H, *wcat = ctx->work;

    for (int j = 0; j < G; j++) {
        float *w = wcat + (size_t)j * K1;
        memcpy(w, w_hh + (size_t)j * H, sizeof(float) * (size_t)H);
        memcpy(w + H, w_ih + (size_t)j * F, sizeof(float) * (size_t)F);
        w[H + F] = b_ih[j] + b_hh[j];
    }
    for (int t = 0; t < T; t++)
        for (int b = 0; b < batch; b++) {
            float *row = xh + ((size_t)t * batch + b) * K1;
            if (t == 0)
                memset(row, 0, sizeof(float) * (size_t)H); /* h_{-1} = 0 */
            memcpy(row + H, in + ((size_t)b * T + t) * F, sizeof(float) * (size_t)F);
            row[H + F] = 1.0f;
        }

    for (int t = 0; t < T; t++) {
        const size_t t0 = (size_t)t * batch; /* the step's first row */
        const int off = t > 0 ? 0 : H;       /* h_{-1} = 0: only the x, 1 columns */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, G, K1 - off, 1.0f,
                    xh + t0 * K1 + off, K1, wcat + off, K1, 0.0f, gates + t0 * G, G);
#pragma omp parallel for schedule(static) if (batch * H >= 4096)
        for (int b = 0; b < batch; b++) {
            const size_t row = t0 + (size_t)b;
            float *z = gates + row * G, *c = cell + row * H;
            float *h = t + 1 < T ? xh + (row + (size_t)batch) * K1 : out + (size_t)b * H;
            /* c_{-1} = 0: the saved h_{-1} (zeros) stands in for it, so the
             * loop below has no branch and vectorises. */
            const float *cp = t > 0 ? cell + (row - (size_t)batch) * H : xh + row * K1;
            lstm_cell_row(z, cp, c, h, H);
        }
    }
}

/* One sample's step backwards: from the saved activations a (4H), cell c
 * and previous cell cp, and the incoming dh and dc (dc updated in place for
 * the step before), the gate pre-activation gradients d (4H). Cloned per
 * vector width like lstm_cell_row. */
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),
               optimize("fp-contract=fast")))
static void lstm_cell_grad_row(const float *restrict a, const float *restrict c,
                               const float *restrict cp, const float *restrict dhb,
                               float *restrict dcb, float *restrict d, int H)
{
#pragma omp simd
    for (int j = 0; j < H; j++) {
        float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
        float tc = sb_tanhf(c[j]);
        float dct = dcb[j] + dhb[j] * o * (1.0f - tc * tc);
        d[j] = dct * g * i * (1.0f - i);
        d[H + j] = dct * cp[j] * f * (1.0f - f);
        d[2 * H + j] = dct * i * (1.0f - g * g);
        d[3 * H + j] = dhb[j] * tc * o * (1.0f - o);
        dcb[j] = dct * f;
    }
}

/* dout (B, H) -> dW_ih (4H, F), dW_hh (4H, H), db_ih, db_hh (4H) added, din (B, T, F) */
static void lstm_backward(ann_layer *l, const float *in, const float *out, const float *dout,
                          float *din, int batch, const ann_ctx *ctx)
{
    (void)in;
    (void)out;
    const int H = l->units, T = l->in.h, F = l->in.w, G = 4 * H, K1 = H + F + 1;
    const size_t bt = (size_t)batch * (size_t)T;
    const float *w_ih = l->params, *w_hh = w_ih + (size_t)G * F;
    float *g_ih = l->grads, *g_hh = g_ih + (size_t)G * F, *gb_ih = g_hh + (size_t)G * H,
          *gb_hh = gb_ih + G;
    const float *gates = l->save, *cell = gates + bt * G, *xh = cell + bt * H;
    float *dz = ctx->work, *dh = dz + bt * G, *dc = dh + (size_t)batch * H,
          *gcat = dc + (size_t)batch * H;

    memcpy(dh, dout, sizeof(float) * (size_t)batch * H);
    memset(dc, 0, sizeof(float) * (size_t)batch * H);
    for (int t = T - 1; t >= 0; t--) {
#pragma omp parallel for schedule(static) if (batch * H >= 4096)
        for (int b = 0; b < batch; b++) {
            const size_t row = (size_t)t * batch + (size_t)b;
            const float *a = gates + row * G, *c = cell + row * H;
            const float *cp = t > 0 ? cell + (row - (size_t)batch) * H : xh + row * K1; /* zeros at t = 0 */
            float *d = dz + row * G, *dhb = dh + (size_t)b * H, *dcb = dc + (size_t)b * H;
            lstm_cell_grad_row(a, c, cp, dhb, dcb, d, H);
        }
        /* dh_{t-1} = dz_t W_hh; nothing flows out of h_{-1} = 0. */
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, H, G, 1.0f,
                        dz + (size_t)t * batch * G, G, w_hh, H, 0.0f, dh, H);
    }

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, K1, (int)bt, 1.0f, dz, G, xh, K1, 0.0f,
                gcat, K1);
    for (int j = 0; j < G; j++) {
        const float *gc = gcat + (size_t)j * K1;
        for (int k = 0; k < H; k++)
            g_hh[(size_t)j * H + k] += gc[k];
        for (int k = 0; k < F; k++)
            g_ih[(size_t)j * F + k] += gc[H + k];
        gb_ih[j] += gc[H + F];
        gb_hh[j] += gc[H + F];
    }
    for (int t = 0; din && t < T; t++) /* din is sample-major */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, F, G, 1.0f,
                    dz + (size_t)t * batch * G, G, w_ih, F, 0.0f, din + (size_t)t * F, T * F);
}

const ann_layer_ops ann_lstm_ops = {"lstm", lstm_setup, lstm_init, lstm_forward, lstm_backward};
