/* The learning rule of Diehl & Cook 2015 (their published code): a
 * presynaptic trace (τ_pre) and two postsynaptic traces (τ_post1, τ_post2),
 * each set to 1 by its spike (nearest-spike: so the presynaptic trace is
 * known from the step of the last arrival alone):
 *   presynaptic arrival: pre ← 1;  w ← clip(w − ν_pre·post1)
 *   postsynaptic spike:  w ← clip(w + ν_post·pre·post2), with post2 read
 *                        before this spike sets it;  post1 ← 1, post2 ← 1
 * with clip to [w_min, w_max]. The post2 factor makes potentiation depend on
 * the neuron's recent rate (a triplet rule). */
#include "spikebridge/snn.h"

static void on_pre(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    snn_plast_set_pre_step(pl, s, step);
    if (pl->frozen)
        return;
    double post1 = snn_plast_trace(pl, SNN_TRACE_POST1, pl->post1[j], pl->post_step[j], step);
    w[s] = snn_plast_clip(w[s] - pl->p.nu_pre * post1, &pl->p);
}

static void on_post(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    if (pl->frozen)
        return;
    double pre = snn_plast_trace(pl, SNN_TRACE_PRE, 1.0, snn_plast_pre_step(pl, s), step - pl->spikes_first);
    double post2 = snn_plast_trace(pl, SNN_TRACE_POST2, pl->post2[j], pl->post_step[j], step);
    w[s] = snn_plast_clip(w[s] + pl->p.nu_post * pre * post2, &pl->p);
}

static void on_post_done(snn_plasticity *pl, size_t j, int64_t step)
{
    pl->post1[j] = 1.0;
    pl->post2[j] = 1.0;
    pl->post_step[j] = step;
}

/* One range of arrivals against the targets' decayed post1. Cloned: the
 * post1 lookups are a gather, which only AVX2 and AVX-512 have (the
 * default build does them one by one); the same operations, so the same
 * weights on every target. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void depress(float *restrict w, const uint32_t *restrict tgt, size_t n,
                    const double *restrict post1, double nu, double wmin, double wmax)
{
    for (size_t s = 0; s < n; s++) {
        double v = w[s] - nu * post1[tgt[s]]; /* the clip as selects (minpd/maxpd) */
        v = v < wmin ? wmin : v;
        w[s] = (float)(v > wmax ? wmax : v);
    }
}

/* A step's arrivals at once: where targets receive several, their decayed
 * post1 is computed once per target first (the arrivals then cost a load
 * and a clip each). */
static void on_pre_many(snn_plasticity *pl, float *w, const uint64_t *range, size_t nr,
                        const uint32_t *tgt, size_t lo, size_t hi, int64_t step)
{
    size_t n = 0;
    for (size_t r = 0; r < 2 * nr; r += 2) {
        if (pl->pre_group) /* a range lies in one group */
            snn_plast_set_pre_step(pl, range[r], step);
        else
            for (uint64_t s = range[r]; s < range[r + 1]; s++)
                pl->pre_step[s] = step;
        n += range[r + 1] - range[r];
    }
    if (pl->frozen)
        return;
    const double nu = pl->p.nu_pre, wmin = pl->p.w_min, wmax = pl->p.w_max;
    if (2 * n < hi - lo) {
        for (size_t r = 0; r < 2 * nr; r += 2)
            for (uint64_t s = range[r]; s < range[r + 1]; s++)
                on_pre(pl, w, s, tgt[s], step);
        return;
    }
    double *restrict post1 = pl->scratch;
    for (size_t j = lo; j < hi; j++)
        post1[j] = snn_plast_trace(pl, SNN_TRACE_POST1, pl->post1[j], pl->post_step[j], step);
    for (size_t r = 0; r < 2 * nr; r += 2)
        depress(w + range[r], tgt + range[r], range[r + 1] - range[r], post1, nu, wmin, wmax);
}

const snn_rule snn_rule_diehl_cook = {"diehl_cook", on_pre, on_post, on_post_done, on_pre_many, 0};
