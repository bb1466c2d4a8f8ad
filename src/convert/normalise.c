/*
 * Data-based weight normalisation of a converted network (Rueckauer et al.
 * 2017, "Conversion of continuous-valued deep networks to efficient
 * event-driven networks"): a robust maximum (a high percentile, not the
 * maximum, which one outlier image would set) of each layer's activations
 * becomes that layer's firing threshold, by scaling weights and biases.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/convert.h"

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it and
 * larger ones after (quickselect, median of three: linear on average,
 * against n log n for sorting a layer's millions of activations). */
static void select_kth(float *v, uint64_t n, uint64_t k)
{
    uint64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        uint64_t mid = lo + (hi - lo) / 2;
        float a = v[lo], b = v[mid], c = v[hi];
        float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        uint64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

double cv_percentile(float *v, uint64_t n, double p)
{
    if (n == 0)
        return 0;
    double pos = p / 100.0 * (double)(n - 1);
    uint64_t k = (uint64_t)pos;
    if (k >= n - 1)
        k = n - 1;
    select_kth(v, n, k);
    double lo = v[k], frac = pos - (double)k;
    if (frac <= 0 || k + 1 >= n)
        return lo;
    float hi = v[k + 1];
    for (uint64_t i = k + 2; i < n; i++)
        hi = v[i] < hi ? v[i] : hi;
    return lo + frac * ((double)hi - lo);
}

void cv_scale(cv_net *net, const double *lambda)
{
    for (int i = 0; i < net->nstages; i++) {
        cv_stage *s = &net->stages[i];
        s->lambda = s->kind == CV_POOL ? net->stages[s->from].lambda : lambda[i];
        if (s->kind == CV_POOL)
            continue;
        double in = s->from >= 0 ? net->stages[s->from].lambda : 1.0;
        double out = s->kind == CV_OUT ? 1.0 : s->lambda;
        ann_layer *l = &net->m->layers[s->syn];
        ann_tensor t[4];
        ann_layer_tensors(l, t);
        size_t nw = l->nparams - (size_t)l->units; /* weights, then one bias per unit */
        for (size_t j = 0; j < nw; j++)
            t[0].data[j] = (float)(t[0].data[j] * (in / out));
        for (int j = 0; j < l->units; j++)
            t[1].data[j] = (float)(t[1].data[j] / out);
        if (s->wt)
            cv_net_transpose(net, s);
    }
}

/* Appends the non-zero values of src[0..n) to a growing array. */
static sb_status keep_nonzero(float **buf, uint64_t *len, uint64_t *cap, const float *src, size_t n)
{
    if (*len + n > *cap) {
        uint64_t want = (*cap ? *cap * 2 : 1 << 20) + n;
        float *grown = realloc(*buf, want * sizeof(float));
        if (!grown)
            return sb_fail(SB_ENOMEM, "convert: out of memory keeping %llu activations for the "
                                      "normalisation (lower convert.norm_images)",
                           (unsigned long long)want);
        *buf = grown;
        *cap = want;
    }
    for (size_t j = 0; j < n; j++)
        if (src[j] > 0)
            (*buf)[(*len)++] = src[j];
    return SB_OK;
}

sb_status cv_normalise(cv_net *net, const float *x, uint64_t n, double percentile, double *lambda)
{
    ann_model *m = net->m;
    const size_t in_size = ann_shape_size(m->in);
    int ns = net->nstages;
    float **acts = SB_CALLOC((size_t)ns, sizeof *acts);
    uint64_t *len = SB_CALLOC((size_t)ns, sizeof *len), *cap = SB_CALLOC((size_t)ns, sizeof *cap);
    sb_status st = acts && len && cap ? SB_OK : SB_ENOMEM;
    ann_ctx ctx = {0, 0, 0, 0, NULL};
    for (uint64_t first = 0; first < n && !st; first += (uint64_t)m->max_batch) {
        int b = (int)(n - first < (uint64_t)m->max_batch ? n - first : (uint64_t)m->max_batch);
        ann_model_forward(m, x + first * in_size, b, &ctx);
        for (int i = 0; i < ns && !st; i++)
            if (net->stages[i].kind == CV_IF)
                st = keep_nonzero(&acts[i], &len[i], &cap[i], m->act[net->stages[i].layer],
                                  (size_t)b * net->stages[i].n);
    }
    for (int i = 0; i < ns && !st; i++) {
        lambda[i] = 1;
        if (net->stages[i].kind == CV_IF && len[i] > 0)
            lambda[i] = cv_percentile(acts[i], len[i], percentile);
        if (!(lambda[i] > 0) || !isfinite(lambda[i]))
            lambda[i] = 1;
    }
    for (int i = 0; acts && i < ns; i++)
        free(acts[i]);
    free(acts);
    free(len);
    free(cap);
    return st;
}
