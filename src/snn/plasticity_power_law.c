/* The learning rule that Diehl & Cook 2015 state first in their paper
 * (Methods, "Learning"). Their published code runs the triplet rule of
 * plasticity_diehl_cook.c instead but still defines this rule's constants
 * (nu_ee_post = 0.01, STDP_offset = 0.4, exp_ee_post = 0.2):
 *   presynaptic arrival: x_pre ← x_pre + 1 (no weight change)
 *   postsynaptic spike:  w ← clip(w + η·(x_pre − x_tar)·(w_max − w)^μ)
 * with η = nu_post. Only the postsynaptic spike changes a weight: inputs
 * whose trace is below x_tar when the neuron fires lose weight, so inputs
 * that rarely drive the neuron are disconnected without a separate
 * depression term (the paper's argument for the offset). */
#include <math.h>

#include "spikebridge/snn.h"

static void on_pre(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    (void)w;
    (void)j;
    pl->pre[s] = (float)(snn_plast_trace(pl, SNN_TRACE_PRE, pl->pre[s], snn_plast_pre_step(pl, s), step) + 1.0);
    snn_plast_set_pre_step(pl, s, step);
}

static void on_post(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    (void)j;
    const snn_plast_params *p = &pl->p;
    if (pl->frozen)
        return;
    double x = snn_plast_trace(pl, SNN_TRACE_PRE, pl->pre[s], snn_plast_pre_step(pl, s), step - pl->spikes_first);
    double room = p->w_max - w[s];
    double f = room > 0 ? pow(room, p->mu) : 0;
    w[s] = snn_plast_clip(w[s] + p->nu_post * (x - p->x_tar) * f, p);
}

static void on_post_done(snn_plasticity *pl, size_t j, int64_t step)
{
    pl->post_step[j] = step;
}

const snn_rule snn_rule_power_law = {"power_law", on_pre, on_post, on_post_done, NULL, 1};
