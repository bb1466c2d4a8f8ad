/* The learning rule of Diehl & Cook 2015 (their published code): a
 * presynaptic trace (τ_pre) and two postsynaptic traces (τ_post1, τ_post2),
 * each set to 1 by its spike (nearest-spike):
 *   presynaptic arrival: pre ← 1;  w ← clip(w − ν_pre·post1)
 *   postsynaptic spike:  w ← clip(w + ν_post·pre·post2), with post2 read
 *                        before this spike sets it;  post1 ← 1, post2 ← 1
 * with clip to [w_min, w_max]. The post2 factor makes potentiation depend on
 * the neuron's recent rate (a triplet rule). */
#include "spikebridge/snn.h"

static float clip(double w, const snn_plast_params *p)
{
    return (float)(w < p->w_min ? p->w_min : w > p->w_max ? p->w_max : w);
}

static void on_pre(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    pl->pre[s] = 1.0f;
    pl->pre_step[s] = step;
    if (pl->frozen)
        return;
    double post1 = snn_plast_trace(pl, SNN_TRACE_POST1, pl->post1[j], pl->post_step[j], step);
    w[s] = clip(w[s] - pl->p.nu_pre * post1, &pl->p);
}

static void on_post(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    if (pl->frozen)
        return;
    double pre = snn_plast_trace(pl, SNN_TRACE_PRE, pl->pre[s], pl->pre_step[s], step);
    double post2 = snn_plast_trace(pl, SNN_TRACE_POST2, pl->post2[j], pl->post_step[j], step);
    w[s] = clip(w[s] + pl->p.nu_post * pre * post2, &pl->p);
}

static void on_post_done(snn_plasticity *pl, size_t j, int64_t step)
{
    pl->post1[j] = 1.0;
    pl->post2[j] = 1.0;
    pl->post_step[j] = step;
}

const snn_rule snn_rule_diehl_cook = {"diehl_cook", on_pre, on_post, on_post_done};
