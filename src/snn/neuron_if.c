/* Non-leaky integrate-and-fire neuron with reset by subtraction, the unit of
 * ANN→SNN conversion: v += I·dt + Σ w·s each step; v ≥ v_th spikes and
 * v -= v_th, so no charge above threshold is lost and the spike count over T
 * steps approximates max(0, Σ W x + b)·T / v_th (rate code = ReLU). Synaptic
 * weights are jumps of v; excitatory and inhibitory targets add alike. */
#include <math.h>
#include <stdio.h>

#include "spikebridge/snn.h"

enum { DRIVE, REF };

static int valid(const snn_neuron_params *p, double dt, char *why, size_t len)
{
    (void)dt;
    if (!(p->v_th > 0)) {
        snprintf(why, len, "v_th must be > 0 for reset by subtraction");
        return 0;
    }
    return 1;
}

static void prepare(snn_pop *pop, double dt)
{
    pop->c[DRIVE] = dt;
    pop->c[REF] = round(pop->p.t_ref / dt);
}

static size_t step(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out)
{
    const double dt = pop->c[DRIVE], th = pop->p.v_th, iext = pop->p.i_ext;
    const double ref = pop->c[REF];
    double *restrict v = pop->var[SNN_VAR_V];
    const double *restrict istim = pop->i_stim;
    double *restrict refr = pop->refr;
    size_t n = 0;
    for (size_t k = lo; k < hi; k++) {
        double in = 0;
        if (in_e) {
            in = in_e[k] + in_i[k];
            in_e[k] = in_i[k] = 0;
        }
        if (refr[k] > 0) {
            refr[k]--;
            continue;
        }
        v[k] += in + (iext + istim[k]) * dt;
        if (v[k] >= th) {
            v[k] -= th;
            refr[k] = ref > 0 ? ref - 1 : 0;
            out[n++] = (uint32_t)k;
        }
    }
    return n;
}

const snn_neuron_model snn_neuron_if = {
    "if", "non-leaky integrate-and-fire, reset by subtraction (ANN->SNN conversion)", valid, prepare,
    step, -1, -1, NULL, NULL, NULL};
