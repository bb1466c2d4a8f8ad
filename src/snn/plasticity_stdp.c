/* Pair-based STDP with exponential traces (Song, Miller & Abbott 2000;
 * Morrison et al. 2008 for the variants):
 *   presynaptic arrival:  x_pre ← x_pre + 1 (nearest: 1);  w ← w − A−·f−(w)·x_post
 *   postsynaptic spike:   w ← w + A+·f+(w)·x_pre;  x_post ← x_post + 1 (nearest: 1)
 * additive: f± = 1; multiplicative: f+ = w_max − w, f− = w − w_min. For one
 * pair at Δ = t_post − t_pre the additive change is A+·exp(−Δ/τ_pre) for
 * Δ ≥ 0 and −A−·exp(Δ/τ_post) for Δ < 0. Arrivals are handled before the
 * post spikes of the same step, so Δ = 0 potentiates. */
#include <math.h>

#include "spikebridge/snn.h"

double snn_trace_decay(double x, int64_t then, int64_t now, double dt, double tau)
{
    if (x == 0 || now == then)
        return x;
    double e = (double)(now - then) * dt / tau;
    return e >= SNN_TRACE_CUTOFF ? 0 : x * exp(-e);
}

sb_status snn_plast_tables(snn_plasticity *pl)
{
    const double tau[3] = {pl->p.tau_pre, pl->p.tau_post, pl->p.tau_post2};
    for (int w = 0; w < 3; w++) {
        /* blocks of SNN_DECAY_LO steps up to the cutoff, or for 16M steps
         * (exp() beyond) */
        double block = (double)SNN_DECAY_LO * pl->dt / tau[w];
        int64_t nhi = (int64_t)fmin(ceil(SNN_TRACE_CUTOFF / block) + 1, 4096);
        pl->decay[w] = SB_MALLOC((size_t)(SNN_DECAY_LO + nhi), sizeof *pl->decay[w]);
        if (!pl->decay[w])
            return SB_ENOMEM;
        for (int64_t k = 0; k < SNN_DECAY_LO; k++)
            pl->decay[w][k] = exp(-(double)k * pl->dt / tau[w]);
        for (int64_t m = 0; m < nhi; m++)
            pl->decay[w][SNN_DECAY_LO + m] = exp(-(double)m * block);
        pl->nhi[w] = nhi;
        /* the first k that snn_trace_decay() cuts off, as it computes it */
        int64_t k0 = (int64_t)ceil(SNN_TRACE_CUTOFF * tau[w] / pl->dt);
        while (k0 > 0 && (double)(k0 - 1) * pl->dt / tau[w] >= SNN_TRACE_CUTOFF)
            k0--;
        while ((double)k0 * pl->dt / tau[w] < SNN_TRACE_CUTOFF)
            k0++;
        pl->kzero[w] = k0;
    }
    return SB_OK;
}

static void on_pre(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    const snn_plast_params *p = &pl->p;
    double x = snn_plast_trace(pl, SNN_TRACE_PRE, pl->pre[s], snn_plast_pre_step(pl, s), step);
    pl->pre[s] = (float)(p->pairing == SNN_STDP_NEAREST ? 1.0 : x + 1.0);
    snn_plast_set_pre_step(pl, s, step);
    if (pl->frozen)
        return;
    double post = snn_plast_trace(pl, SNN_TRACE_POST1, pl->post1[j], pl->post_step[j], step);
    double f = p->mode == SNN_STDP_MULTIPLICATIVE ? w[s] - p->w_min : 1.0;
    w[s] = snn_plast_clip(w[s] - p->a_minus * f * post, p);
}

static void on_post(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step)
{
    (void)j;
    const snn_plast_params *p = &pl->p;
    if (pl->frozen)
        return;
    double pre = snn_plast_trace(pl, SNN_TRACE_PRE, pl->pre[s], snn_plast_pre_step(pl, s), step - pl->spikes_first);
    double f = p->mode == SNN_STDP_MULTIPLICATIVE ? p->w_max - w[s] : 1.0;
    w[s] = snn_plast_clip(w[s] + p->a_plus * f * pre, p);
}

static void on_post_done(snn_plasticity *pl, size_t j, int64_t step)
{
    const snn_plast_params *p = &pl->p;
    double x = snn_plast_trace(pl, SNN_TRACE_POST1, pl->post1[j], pl->post_step[j], step);
    pl->post1[j] = p->pairing == SNN_STDP_NEAREST ? 1.0 : x + 1.0;
    pl->post_step[j] = step;
}

const snn_rule snn_rule_stdp = {"stdp", on_pre, on_post, on_post_done, NULL, 1};
