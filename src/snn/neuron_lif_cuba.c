/* Leaky integrate-and-fire neuron with current-based exponential synapses
 * (Vogels & Abbott's CUBA, Brian2's examples/CUBA.py):
 *   τm dv/dt = -(v - v_rest) + ge + gi + I,   τe dge/dt = -ge,   τi dgi/dt = -gi
 * The system is linear, so one step is its exact solution over dt: with
 * u = v - v_rest, u(dt) = u·Em + ge·Ae + gi·Ai + I·(1 - Em), where
 * Em = exp(-dt/τm) and Ax = τx/(τx - τm)·(exp(-dt/τx) - Em) (the limit
 * dt/τm·Em when τx = τm). Synaptic weights are in mV (inhibitory ones < 0). */
#include <math.h>
#include <stdio.h>

#include "spikebridge/snn.h"

enum { EM, AE, AI, DE, DI, REF };

static double kernel(double tau_x, double tau_m, double dt)
{
    double em = exp(-dt / tau_m);
    if (fabs(tau_x - tau_m) < 1e-12 * tau_m)
        return dt / tau_m * em;
    return tau_x / (tau_x - tau_m) * (exp(-dt / tau_x) - em);
}

static int valid(const snn_neuron_params *p, double dt, char *why, size_t len)
{
    (void)dt;
    if (!(p->tau_m > 0 && p->tau_e > 0 && p->tau_i > 0)) {
        snprintf(why, len, "tau_m, tau_e and tau_i must be > 0");
        return 0;
    }
    return 1;
}

static void prepare(snn_pop *pop, double dt)
{
    const snn_neuron_params *p = &pop->p;
    pop->c[EM] = exp(-dt / p->tau_m);
    pop->c[AE] = kernel(p->tau_e, p->tau_m, dt);
    pop->c[AI] = kernel(p->tau_i, p->tau_m, dt);
    pop->c[DE] = exp(-dt / p->tau_e);
    pop->c[DI] = exp(-dt / p->tau_i);
    pop->c[REF] = round(p->t_ref / dt);
}

static size_t step(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out)
{
    const double em = pop->c[EM], ae = pop->c[AE], ai = pop->c[AI];
    const double de = pop->c[DE], di = pop->c[DI];
    const int32_t ref = (int32_t)pop->c[REF];
    const double rest = pop->p.v_rest, th = pop->p.v_th, reset = pop->p.v_reset;
    const double iext = pop->p.i_ext;
    double *restrict v = pop->var[SNN_VAR_V], *restrict ge = pop->var[SNN_VAR_GE];
    double *restrict gi = pop->var[SNN_VAR_GI];
    const double *restrict istim = pop->i_stim;
    int32_t *restrict refr = pop->refr;
    size_t n = 0;
    for (size_t k = lo; k < hi; k++) {
        double e = ge[k] + in_e[k], i = gi[k] + in_i[k];
        in_e[k] = in_i[k] = 0;
        if (refr[k] > 0) {
            refr[k]--;
        } else {
            double u = v[k] - rest;
            v[k] = rest + u * em + e * ae + i * ai + (iext + istim[k]) * (1 - em);
            if (v[k] > th) {
                v[k] = reset;
                refr[k] = ref;
                out[n++] = (uint32_t)k;
            }
        }
        ge[k] = e * de;
        gi[k] = i * di;
    }
    return n;
}

const snn_neuron_model snn_neuron_lif_cuba = {
    "lif_cuba", "LIF, current-based exponential synapses, exact integration", valid, prepare, step};
