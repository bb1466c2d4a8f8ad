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

enum { EM, AE, AI, DE, DI, REF, PERIOD, LE, LI }; /* LE, LI: ln DE, ln DI = -dt/τ */

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
    /* the stored conductances grow by at most e^20 between renormalisations */
    pop->c[PERIOD] = fmax(1.0, floor(20.0 / (dt / fmin(p->tau_e, p->tau_i))));
    pop->c[LE] = -dt / p->tau_e;
    pop->c[LI] = -dt / p->tau_i;
}

/* The step is memory-bound, so it touches as little as it can. The
 * conductances are stored scaled, ĝ = g / d^m with d = e^(-dt/τ) and m =
 * steps since the last renormalisation (every PERIOD steps, counted from
 * step 0, so the stored state depends on the step alone, not on how a run
 * was split): between inputs ĝ stays put, so a step reads ĝe and ĝi but
 * writes only v, unless input arrived through the ring or the step
 * renormalises (then ĝ ← g of the next step). Direct input for the next
 * step is added as w / d^m by the engine (snn_neuron_model.scale). A
 * neuron's refractory state is the step until which it is frozen (read,
 * written only on a spike), the ring is read and cleared only when input
 * waits there (in_e != NULL), and current stimuli only where a population
 * has them. Each block of 64 neurons is integrated branch-free in doubles
 * (vectorised) while its largest v is kept; only a block whose largest v
 * crossed the threshold (a few per step) is scanned again to reset and list
 * its spiking neurons. A frozen neuron sits at v_reset < v_th (checked at
 * start), so it cannot cross. Cloned for AVX-512, AVX2 and plain x86-64. */
typedef struct {
    double em, rest, drive, ks, now;
    double fe, fi;   /* true g = ĝ · f this step (d^m); fae = f·Ae, fai = f·Ai */
    double fae, fai;
    double se, si;   /* ring input enters ĝ as input · s (1 / f) */
    double ke, ki;   /* a store writes ĝ · k: 1, or f · d where the step renormalises */
} consts;

static inline __attribute__((always_inline)) double
block(size_t lo, size_t hi, double *restrict v, double *restrict ge, double *restrict gi,
      const double *restrict until, double *restrict in_e, double *restrict in_i,
      const double *restrict istim, consts q, const int ring, const int stim, const int store)
{
    double vmax = -1e300; /* finite: this function assumes finite math */
    for (size_t k = lo; k < hi; k++) {
        double e = ge[k], i = gi[k], v0 = v[k];
        if (ring) {
            e += in_e[k] * q.se;
            i += in_i[k] * q.si;
            in_e[k] = 0;
            in_i[k] = 0;
        }
        double vn = q.rest + (v0 - q.rest) * q.em + e * q.fae + i * q.fai + q.drive;
        if (stim)
            vn += istim[k] * q.ks;
        vn = q.now < until[k] ? v0 : vn;
        v[k] = vn;
        vmax = vn > vmax ? vn : vmax;
        if (store) {
            ge[k] = e * q.ke;
            gi[k] = i * q.ki;
        }
    }
    return vmax;
}

/* finite-math-only lets the max reduction vectorise; no value here is NaN
 * or infinite (the ring and state are finite by construction). */
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("finite-math-only", "no-signed-zeros")))
static size_t advance(size_t n, size_t lo, double *restrict v, double *restrict ge,
                      double *restrict gi, double *restrict until, double *restrict in_e,
                      double *restrict in_i, const double *restrict istim, int stim, int store,
                      consts q, double th, double reset, double thaw, uint32_t *restrict out)
{
    size_t m = 0;
    for (size_t b = 0; b < n; b += 64) {
        size_t e = n - b < 64 ? n : b + 64;
        double vmax;
        /* the ring forces a store; the six variants are compiled apart */
        if (in_e)
            vmax = stim ? block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 1, 1, 1)
                        : block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 1, 0, 1);
        else if (store)
            vmax = stim ? block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 0, 1, 1)
                        : block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 0, 0, 1);
        else
            vmax = stim ? block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 0, 1, 0)
                        : block(b, e, v, ge, gi, until, in_e, in_i, istim, q, 0, 0, 0);
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

/* Steps since the last renormalisation at the start of `step`. */
static int64_t since(const snn_pop *pop, int64_t step)
{
    return step % (int64_t)pop->c[PERIOD];
}

/* e^(m·l), the decay over m steps: exp, cheaper than pow (a few calls per
 * population and step) */
static double decay(double l, int64_t m)
{
    return exp((double)m * l);
}

static double scale(const snn_pop *pop, int var, int64_t step)
{
    double l = var == SNN_VAR_GE ? pop->c[LE] : var == SNN_VAR_GI ? pop->c[LI] : 0.0;
    return 1.0 / decay(l, since(pop, step));
}

static size_t step(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out)
{
    const double *c = pop->c;
    const snn_neuron_params *p = &pop->p;
    int64_t m = since(pop, pop->now);
    int renorm = since(pop, pop->now + 1) == 0;
    consts q = {c[EM], p->v_rest, p->i_ext * (1 - c[EM]), 1 - c[EM], (double)pop->now,
                decay(c[LE], m), decay(c[LI], m), 0, 0, 0, 0, 1, 1};
    q.fae = q.fe * c[AE];
    q.fai = q.fi * c[AI];
    q.se = 1 / q.fe;
    q.si = 1 / q.fi;
    if (renorm) {
        q.ke = q.fe * c[DE];
        q.ki = q.fi * c[DI];
    }
    return advance(hi - lo, lo, pop->var[SNN_VAR_V] + lo, pop->var[SNN_VAR_GE] + lo,
                   pop->var[SNN_VAR_GI] + lo, pop->refr + lo, in_e ? in_e + lo : NULL,
                   in_e ? in_i + lo : NULL, pop->i_stim + lo, pop->has_stim, renorm, q, p->v_th,
                   p->v_reset, (double)pop->now + c[REF], out);
}

const snn_neuron_model snn_neuron_lif_cuba = {
    "lif_cuba", "LIF, current-based exponential synapses, exact integration", valid, prepare, step,
    SNN_VAR_GE, SNN_VAR_GI, NULL, NULL, scale};
