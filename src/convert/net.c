/*
 * The converted network: stages of integrate-and-fire neurons, pooling
 * gates and output integrators over the ANN's layer kernels (convert.h).
 *
 * Binary spike tensors go through the same conv and dense kernels as
 * activations do (im2col + sgemm), so one step costs about one ANN
 * inference; an event-driven kernel would do less work when spikes are
 * sparse, which the synaptic-operation count reported next to the MACs
 * quantifies.
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
    if (!s->count || !s->spike || (kind != CV_POOL && !s->v))
        return SB_ENOMEM;
    if (from >= 0 && kind != CV_POOL) {
        sb_status st = fill_fanout(&net->stages[from], &m->layers[syn]);
        if (st)
            return st;
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
        net->analog = SB_MALLOC((size_t)m->max_batch * net->stages[0].n, sizeof(float));
        if (!net->current || !net->analog)
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
        free(net->stages[i].v);
        free(net->stages[i].count);
        free(net->stages[i].spike);
    }
    free(net->stages);
    free(net->current);
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
        if (s->v)
            memset(s->v, 0, total * sizeof(float));
    }
    syn_forward(net, net->stages[0].syn, x, net->analog);
}

/* Reset by subtraction keeps the surplus above threshold, so the count
 * after t steps of a constant current a in [0, 1] is exactly floor(t a)
 * (up to float rounding of the running sum). */
static void integrate_and_fire(cv_stage *s, const float *current, size_t total)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < total; i++) {
        float v = s->v[i] + current[i];
        float fired = v >= 1.0f ? 1.0f : 0.0f;
        s->v[i] = v - fired;
        s->spike[i] = fired;
        s->count[i] += fired;
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
}

static void count_synops(const cv_stage *s, int batch, double *synops)
{
    if (!synops || !s->fanout)
        return;
    for (int b = 0; b < batch; b++) {
        const float *spk = s->spike + (size_t)b * s->n;
        double sum = 0;
        #pragma omp parallel for reduction(+ : sum) schedule(static)
        for (size_t i = 0; i < s->n; i++)
            sum += spk[i] * (double)s->fanout[i];
        synops[b] += sum;
    }
}

void cv_net_step(cv_net *net, double *synops)
{
    for (int i = 0; i < net->nstages; i++) {
        cv_stage *s = &net->stages[i];
        size_t total = (size_t)net->batch * s->n;
        const float *current = net->analog;
        if (s->kind != CV_POOL && i > 0) {
            syn_forward(net, s->syn, net->stages[s->from].spike, net->current);
            current = net->current;
        }
        switch (s->kind) {
        case CV_IF:
            integrate_and_fire(s, current, total);
            break;
        case CV_OUT:
            for (size_t j = 0; j < total; j++)
                s->v[j] += current[j];
            break;
        case CV_POOL:
            pool_gate(s, &net->stages[s->from], &net->m->layers[s->layer], net->batch);
            break;
        }
        count_synops(s, net->batch, synops);
    }
    net->t++;
}

const float *cv_net_scores(const cv_net *net)
{
    return net->stages[net->nstages - 1].v;
}
