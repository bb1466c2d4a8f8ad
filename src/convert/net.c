/*
 * The converted network: stages of integrate-and-fire neurons, pooling
 * gates and output integrators over the ANN's layers (convert.h).
 *
 * Synaptic input is event-driven: a layer's neurons spike a few % of the
 * steps, so adding each spike's row of weights to its targets does a few %
 * of the multiply-adds that the ANN's im2col + sgemm kernels would do on
 * the 0/1 spike tensor (measured: the synops reported next to the MACs).
 * Weights are stored input-major for that ([c][dy][dx][filter] for conv),
 * and a conv's currents add up position-major (each spike touches k x k
 * runs of `filters` contiguous floats) before one transpose to the
 * channel-major layout of the ANN. Each image is one thread's, and its
 * spikes are added in a fixed order, so results do not depend on threads.
 */
#include <stdlib.h>
#include <string.h>

#include "spikebridge/convert.h"

/* Synapses that input (c, y, x) of a conv layer drives: the output rows
 * oy with 0 <= oy + dy - pad = y ... for some dy in [0, k), the same for
 * columns, times the filters. */
static uint32_t conv_fanout(const ann_layer *l, int y, int x)
{
    int rows = 0, cols = 0;
    for (int d = 0; d < l->k; d++) {
        int oy = y + l->pad - d, ox = x + l->pad - d;
        rows += oy >= 0 && oy < l->out.h;
        cols += ox >= 0 && ox < l->out.w;
    }
    return (uint32_t)(rows * cols * l->units);
}

static sb_status fill_fanout(cv_stage *s, const ann_layer *l)
{
    s->fanout = SB_MALLOC(s->n, sizeof *s->fanout);
    if (!s->fanout)
        return SB_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        if (l->kind == ANN_DENSE) {
            s->fanout[i] = (uint32_t)l->units;
        } else {
            size_t hw = (size_t)l->in.h * l->in.w, pix = i % hw;
            s->fanout[i] = conv_fanout(l, (int)(pix / (size_t)l->in.w), (int)(pix % (size_t)l->in.w));
        }
    }
    return SB_OK;
}

void cv_net_transpose(cv_net *net, cv_stage *s)
{
    const ann_layer *l = &net->m->layers[s->syn];
    const size_t outs = (size_t)l->units, ins = (l->nparams - outs) / outs;
    for (size_t o = 0; o < outs; o++)
        for (size_t i = 0; i < ins; i++) /* conv: i = (c * k + dy) * k + dx */
            s->wt[i * outs + o] = l->params[o * ins + i];
}

static sb_status add_stage(cv_net *net, cv_kind kind, int layer, int syn, int from)
{
    const ann_model *m = net->m;
    cv_stage *s = &net->stages[net->nstages];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->layer = layer;
    s->syn = syn;
    s->from = from;
    s->lambda = 1;
    s->n = ann_shape_size(m->layers[layer].out);
    const ann_layer *named = &m->layers[syn >= 0 ? syn : layer];
    snprintf(s->name, sizeof s->name, "%02d_%s", named->index, ann_ops(named->kind)->name);
    size_t total = (size_t)m->max_batch * s->n;
    s->count = SB_CALLOC(total, sizeof(float));
    s->spike = SB_CALLOC(total, sizeof(float));
    s->v = kind == CV_POOL ? NULL : SB_CALLOC(total, sizeof(float));
    s->fired = SB_CALLOC(total, sizeof *s->fired);
    s->nfired = SB_CALLOC((size_t)m->max_batch, sizeof *s->nfired);
    if (!s->count || !s->spike || !s->fired || !s->nfired || (kind != CV_POOL && !s->v))
        return SB_ENOMEM;
    if (from >= 0 && kind != CV_POOL) {
        s->wt = SB_MALLOC(m->layers[syn].nparams, sizeof(float));
        sb_status st = s->wt ? fill_fanout(&net->stages[from], &m->layers[syn]) : SB_ENOMEM;
        if (st)
            return st;
        cv_net_transpose(net, s);
    }
    net->nstages++;
    return SB_OK;
}

sb_status cv_net_build(cv_net *net, ann_model *m)
{
    memset(net, 0, sizeof *net);
    net->m = m;
    net->stages = SB_CALLOC((size_t)m->nlayers + 1, sizeof *net->stages);
    if (!net->stages)
        return SB_ENOMEM;
    sb_status st = SB_OK;
    int from = -1; /* the stage feeding the next layer; -1: the analog input */
    size_t widest = 1;
    for (int i = 0; i < m->nlayers && !st; i++) {
        const ann_layer *l = &m->layers[i];
        const char *name = ann_ops(l->kind)->name;
        switch (l->kind) {
        case ANN_CONV:
        case ANN_DENSE:
            if (i + 1 < m->nlayers && m->layers[i + 1].kind == ANN_RELU) {
                st = add_stage(net, CV_IF, i + 1, i, from);
                i++;
            } else if (i + 1 < m->nlayers && m->layers[i + 1].kind == ANN_BATCHNORM) {
                st = sb_fail(SB_EINVAL, "convert: layer %d (batchnorm) is not supported; fold it "
                                        "into layer %d (%s) before converting",
                             i + 1, i, name);
            } else if (i + 1 == m->nlayers) {
                st = add_stage(net, CV_OUT, i, i, from);
            } else {
                st = sb_fail(SB_EINVAL, "convert: layer %d (%s) is not followed by a ReLU; only "
                                        "ReLU networks convert to rate-coded spikes",
                             i, name);
            }
            break;
        case ANN_MAXPOOL:
            if (from < 0)
                st = sb_fail(SB_EINVAL, "convert: layer %d (maxpool) pools the analog input; "
                                        "put a conv layer first", i);
            else
                st = add_stage(net, CV_POOL, i, -1, from);
            break;
        case ANN_DROPOUT:
            continue;
        default:
            st = sb_fail(SB_EINVAL, "convert: layer %d (%s) has no spiking counterpart here "
                                    "(conv, dense, maxpool, dropout and the ReLUs after conv "
                                    "and dense convert)",
                         i, name);
        }
        if (!st) {
            from = net->nstages - 1;
            if (net->stages[from].n > widest)
                widest = net->stages[from].n;
        }
    }
    if (!st && (net->nstages == 0 || net->stages[net->nstages - 1].kind != CV_OUT))
        st = sb_fail(SB_EINVAL, "convert: the model must end in a conv or dense layer (the logits)");
    if (!st) {
        net->current = SB_MALLOC((size_t)m->max_batch * widest, sizeof(float));
        net->hwc = SB_MALLOC((size_t)m->max_batch * widest, sizeof(float));
        net->analog = SB_MALLOC((size_t)m->max_batch * net->stages[0].n, sizeof(float));
        if (!net->current || !net->hwc || !net->analog)
            st = SB_ENOMEM;
    }
    if (st)
        cv_net_free(net);
    return st;
}

void cv_net_free(cv_net *net)
{
    for (int i = 0; net->stages && i < net->nstages; i++) {
        free(net->stages[i].fanout);
        free(net->stages[i].wt);
        free(net->stages[i].fired);
        free(net->stages[i].nfired);
        free(net->stages[i].v);
        free(net->stages[i].count);
        free(net->stages[i].spike);
    }
    free(net->stages);
    free(net->current);
    free(net->hwc);
    free(net->analog);
    memset(net, 0, sizeof *net);
}

static void syn_forward(const cv_net *net, int syn, const float *in, float *out)
{
    ann_layer *l = &net->m->layers[syn];
    ann_ctx ctx = {0, 0, 0, 0, net->m->work};
    ann_ops(l->kind)->forward(l, in, out, net->batch, &ctx);
}

void cv_net_reset(cv_net *net, const float *x, int batch)
{
    net->batch = batch;
    net->t = 0;
    for (int i = 0; i < net->nstages; i++) {
        cv_stage *s = &net->stages[i];
        size_t total = (size_t)batch * s->n;
        memset(s->count, 0, total * sizeof(float));
        memset(s->spike, 0, total * sizeof(float));
        memset(s->nfired, 0, (size_t)batch * sizeof *s->nfired);
        if (s->v)
            memset(s->v, 0, total * sizeof(float));
    }
    syn_forward(net, net->stages[0].syn, x, net->analog);
}

/* One image's conv currents from its input spikes spk ([c][y][x]), into
 * out ([filter][y][x]) through hwc ([y][x][filter]). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void conv_events(const ann_layer *l, const float *wt, const uint32_t *fired, uint32_t nf,
                        float *hwc, float *out)
{
    const int k = l->k, pad = l->pad, F = l->units, oh = l->out.h, ow = l->out.w;
    const int ih = l->in.h, iw = l->in.w;
    const float *bias = l->params + (l->nparams - (size_t)F);
    for (int p = 0; p < oh * ow; p++)
        memcpy(hwc + (size_t)p * F, bias, (size_t)F * sizeof(float));
    for (uint32_t e = 0; e < nf; e++) {
                const int c = (int)(fired[e] / (uint32_t)(ih * iw));
                const int y = (int)(fired[e] / (uint32_t)iw % (uint32_t)ih), x = (int)(fired[e] % (uint32_t)iw);
                for (int dy = 0; dy < k; dy++) {
                    int oy = y + pad - dy;
                    if (oy < 0 || oy >= oh)
                        continue;
                    for (int dx = 0; dx < k; dx++) {
                        int ox = x + pad - dx;
                        if (ox < 0 || ox >= ow)
                            continue;
                        const float *w = wt + (((size_t)c * k + dy) * k + dx) * F;
                        float *o = hwc + ((size_t)oy * ow + ox) * F;
                        #pragma omp simd
                        for (int f = 0; f < F; f++)
                            o[f] += w[f];
                    }
                }
    }
    for (int f = 0; f < F; f++)
        for (int p = 0; p < oh * ow; p++)
            out[(size_t)f * oh * ow + p] = hwc[(size_t)p * F + f];
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void dense_events(const ann_layer *l, const float *wt, const uint32_t *fired, uint32_t nf,
                         float *out)
{
    const size_t U = (size_t)l->units, ins = ann_shape_size(l->in);
    memcpy(out, l->params + U * ins, U * sizeof(float));
    for (uint32_t e = 0; e < nf; e++) {
        const float *w = wt + (size_t)fired[e] * U;
        #pragma omp simd
        for (size_t u = 0; u < U; u++)
            out[u] += w[u];
    }
}

static void syn_events(const cv_net *net, const cv_stage *s)
{
    const ann_layer *l = &net->m->layers[s->syn];
    const cv_stage *in = &net->stages[s->from];
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < net->batch; b++) {
        const uint32_t *fired = in->fired + (size_t)b * in->n, nf = in->nfired[b];
        float *out = net->current + (size_t)b * s->n;
        if (l->kind == ANN_CONV)
            conv_events(l, s->wt, fired, nf, net->hwc + (size_t)b * s->n, out);
        else
            dense_events(l, s->wt, fired, nf, out);
    }
}

/* Reset by subtraction keeps the surplus above threshold, so the count
 * after t steps of a constant current a in [0, 1] is exactly floor(t a)
 * (up to float rounding of the running sum). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void if_image(float *restrict v, const float *restrict current, float *restrict spike,
                     float *restrict count, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float u = v[i] + current[i];
        float fired = u >= 1.0f ? 1.0f : 0.0f;
        v[i] = u - fired;
        spike[i] = fired;
        count[i] += fired;
    }
}

/* Who fired, in ascending order. Written without a branch: most neurons
 * are silent most steps, and a branch on firing would be mispredicted at
 * nearly every spike. */
static uint32_t list_fired(const float *spike, size_t n, uint32_t *list)
{
    uint32_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        list[nf] = (uint32_t)i;
        nf += spike[i] > 0;
    }
    return nf;
}

static void integrate_and_fire(cv_stage *s, const float *current, int batch)
{
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < batch; b++) {
        const size_t off = (size_t)b * s->n;
        if_image(s->v + off, current + off, s->spike + off, s->count + off, s->n);
        s->nfired[b] = list_fired(s->spike + off, s->n, s->fired + off);
    }
}

/* Each window forwards the spike of its input with the most spikes so far. */
static void pool_gate(cv_stage *s, const cv_stage *in, const ann_layer *l, int batch)
{
    const int k = l->k, oh = l->out.h, ow = l->out.w, ih = l->in.h, iw = l->in.w;
    const size_t planes = (size_t)batch * l->out.c;
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < planes; p++) {
        const float *cnt = in->count + p * (size_t)ih * iw, *spk = in->spike + p * (size_t)ih * iw;
        float *out = s->spike + p * (size_t)oh * ow, *oc = s->count + p * (size_t)oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                size_t best = (size_t)oy * k * iw + (size_t)ox * k;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) {
                        size_t at = (size_t)(oy * k + dy) * iw + (size_t)(ox * k + dx);
                        best = cnt[at] > cnt[best] ? at : best;
                    }
                out[oy * ow + ox] = spk[best];
                oc[oy * ow + ox] += spk[best];
            }
    }
    for (int b = 0; b < batch; b++)
        s->nfired[b] = list_fired(s->spike + (size_t)b * s->n, s->n, s->fired + (size_t)b * s->n);
}

double cv_net_synops(const cv_net *net, int b)
{
    double sum = 0; /* whole numbers below 2^53: exact in any order */
    for (int q = 0; q < net->nstages; q++) {
        const cv_stage *s = &net->stages[q];
        const float *count = s->count + (size_t)b * s->n;
        for (size_t i = 0; s->fanout && i < s->n; i++)
            sum += (double)count[i] * s->fanout[i];
    }
    return sum;
}

void cv_net_step(cv_net *net)
{
    for (int i = 0; i < net->nstages; i++) {
        cv_stage *s = &net->stages[i];
        size_t total = (size_t)net->batch * s->n;
        const float *current = net->analog;
        if (s->kind != CV_POOL && i > 0) {
            syn_events(net, s);
            current = net->current;
        }
        switch (s->kind) {
        case CV_IF:
            integrate_and_fire(s, current, net->batch);
            break;
        case CV_OUT:
            for (size_t j = 0; j < total; j++)
                s->v[j] += current[j];
            break;
        case CV_POOL:
            pool_gate(s, &net->stages[s->from], &net->m->layers[s->layer], net->batch);
            break;
        }
    }
    net->t++;
}

const float *cv_net_scores(const cv_net *net)
{
    return net->stages[net->nstages - 1].v;
}
