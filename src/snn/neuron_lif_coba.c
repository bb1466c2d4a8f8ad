/* Leaky integrate-and-fire neuron with conductance-based synapses and an
 * adaptive threshold (the Diehl & Cook 2015 excitatory and inhibitory cells,
 * and Vogels & Abbott's COBA):
 *   τm dv/dt = (v_rest - v) + ge·(E_exc - v) + gi·(E_inh - v) + I
 *   τe dge/dt = -ge,  τi dgi/dt = -gi,  τθ dθ/dt = -θ;  spike when v > v_th + θ
 * v is linear in itself for conductances held over one step, so v is advanced
 * by exponential Euler (exact for frozen ge, gi; Brian2's exponential_euler)
 * and the conductances by their exact decay. */
#include <math.h>
#include <stdio.h>

#include "spikebridge/snn.h"

enum { DE, DI, DTH, REF };

static int valid(const snn_neuron_params *p, double dt, char *why, size_t len)
{
    (void)dt;
    if (!(p->tau_m > 0 && p->tau_e > 0 && p->tau_i > 0 && p->tau_theta >= 0)) {
        snprintf(why, len, "tau_m, tau_e and tau_i must be > 0 and tau_theta >= 0");
        return 0;
    }
    return 1;
}

static void prepare(snn_pop *pop, double dt)
{
    const snn_neuron_params *p = &pop->p;
    pop->c[DE] = exp(-dt / p->tau_e);
    pop->c[DI] = exp(-dt / p->tau_i);
    pop->c[DTH] = p->tau_theta > 0 ? exp(-dt / p->tau_theta) : 1.0;
    pop->c[REF] = round(p->t_ref / dt);
    pop->c[4] = dt / p->tau_m;
}

static size_t step(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out)
{
    const double de = pop->c[DE], di = pop->c[DI], dk = pop->c[4];
    const double dth = pop->theta_frozen ? 1.0 : pop->c[DTH];
    const double plus = pop->theta_frozen ? 0.0 : pop->p.theta_plus;
    const double ref = pop->c[REF];
    const double rest = pop->p.v_rest, th = pop->p.v_th, reset = pop->p.v_reset;
    const double ee = pop->p.e_exc, ei = pop->p.e_inh, iext = pop->p.i_ext;
    double *restrict v = pop->var[SNN_VAR_V], *restrict ge = pop->var[SNN_VAR_GE];
    double *restrict gi = pop->var[SNN_VAR_GI], *restrict theta = pop->var[SNN_VAR_THETA];
    const double *restrict istim = pop->i_stim;
    double *restrict refr = pop->refr;
    size_t n = 0;
    for (size_t k = lo; k < hi; k++) {
        double e = ge[k], i = gi[k];
        if (in_e) {
            e += in_e[k];
            i += in_i[k];
            in_e[k] = in_i[k] = 0;
        }
        theta[k] *= dth;
        if (refr[k] > 0) {
            refr[k]--;
        } else {
            double g = 1 + e + i;
            double vinf = (rest + e * ee + i * ei + iext + istim[k]) / g;
            v[k] = vinf + (v[k] - vinf) * exp(-dk * g);
            if (v[k] > th + theta[k]) {
                v[k] = reset;
                refr[k] = ref > 0 ? ref - 1 : 0;
                theta[k] += plus;
                out[n++] = (uint32_t)k;
            }
        }
        ge[k] = e * de;
        gi[k] = i * di;
    }
    return n;
}

const snn_neuron_model snn_neuron_lif_coba = {
    "lif_coba", "LIF, conductance-based synapses, adaptive threshold (Diehl & Cook)", valid, prepare,
    step, SNN_VAR_GE, SNN_VAR_GI};
