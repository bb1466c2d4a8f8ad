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
    if (!(p->v_reset < p->v_th)) {
        snprintf(why, len, "v_reset (%g mV) must be below v_th (%g mV)", p->v_reset, p->v_th);
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

/* The step is memory-bound, so it touches as little as it can: a neuron's
 * refractory state is the step until which it is frozen (read, written only
 * on a spike), the ring is read and cleared only when input waits there
 * (in_e != NULL; input for the very next step is added to ge and gi
 * directly), and current stimuli only where a population has them. Each
 * block of 64 neurons is integrated branch-free in doubles (vectorised)
 * while its largest v is kept; only a block whose largest v crossed the
 * threshold (a few per step) is scanned again to reset and list its spiking
 * neurons. A frozen neuron sits at v_reset < v_th (checked at start), so it
 * cannot cross. Cloned for AVX-512, AVX2 and plain x86-64. */
typedef struct {
    double em, ae, ai, de, di, rest, drive, ks, now;
} consts;

static inline __attribute__((always_inline)) double
block(size_t lo, size_t hi, double *restrict v, double *restrict ge, double *restrict gi,
      const double *restrict until, double *restrict in_e, double *restrict in_i,
      const double *restrict istim, consts q, const int ring, const int stim)
{
    double vmax = -1e300; /* finite: this function assumes finite math */
    for (size_t k = lo; k < hi; k++) {
        double e = ge[k], i = gi[k], v0 = v[k];
        if (ring) {
            e += in_e[k];
            i += in_i[k];
            in_e[k] = 0;
            in_i[k] = 0;
        }
        double vn = q.rest + (v0 - q.rest) * q.em + e * q.ae + i * q.ai + q.drive;
        if (stim)
            vn += istim[k] * q.ks;
        vn = q.now < until[k] ? v0 : vn;
        v[k] = vn;
        vmax = vn > vmax ? vn : vmax;
        ge[k] = e * q.de;
        gi[k] = i * q.di;
    }
    return vmax;
}

/* finite-math-only lets the max reduction vectorise; no value here is NaN
 * or infinite (the ring and state are finite by construction). */
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("finite-math-only", "no-signed-zeros")))
static size_t advance(size_t n, size_t lo, double *restrict v, double *restrict ge,
                      double *restrict gi, double *restrict until, double *restrict in_e,
                      double *restrict in_i, const double *restrict istim, int stim,
                      const double *c, const snn_neuron_params *p, int64_t now,
                      uint32_t *restrict out)
{
    const consts q = {c[EM], c[AE], c[AI], c[DE], c[DI], p->v_rest, p->i_ext * (1 - c[EM]),
                      1 - c[EM], (double)now};
    const double th = p->v_th, reset = p->v_reset, thaw = (double)now + c[REF];
    size_t m = 0;
    for (size_t b = 0; b < n; b += 64) {
        size_t e = n - b < 64 ? n : b + 64;
        double vmax;
        if (in_e)
            vmax = stim ? block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 1, 1)
                        : block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 1, 0);
        else
            vmax = stim ? block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 0, 1)
                        : block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 0, 0);
        if (!(vmax > th))
            continue;
        for (size_t k = b; k < e; k++)
            if (v[k] > th) {
                v[k] = reset;
                until[k] = thaw;
                out[m++] = (uint32_t)(lo + k);
            }
    }
    return m;
}

static size_t step(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out)
{
    return advance(hi - lo, lo, pop->var[SNN_VAR_V] + lo, pop->var[SNN_VAR_GE] + lo,
                   pop->var[SNN_VAR_GI] + lo, pop->refr + lo, in_e ? in_e + lo : NULL,
                   in_e ? in_i + lo : NULL, pop->i_stim + lo, pop->has_stim, pop->c, &pop->p,
                   pop->now, out);
}

const snn_neuron_model snn_neuron_lif_cuba = {
    "lif_cuba", "LIF, current-based exponential synapses, exact integration", valid, prepare, step,
    SNN_VAR_GE, SNN_VAR_GI, NULL, NULL};
