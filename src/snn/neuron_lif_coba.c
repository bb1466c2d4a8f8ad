/* Leaky integrate-and-fire neuron with conductance-based synapses and an
 * adaptive threshold (the Diehl & Cook 2015 excitatory and inhibitory cells,
 * and Vogels & Abbott's COBA):
 *   τm dv/dt = (v_rest - v) + ge·(E_exc - v) + gi·(E_inh - v) + I
 *   τe dge/dt = -ge,  τi dgi/dt = -gi,  τθ dθ/dt = -θ;  spike when v > v_th + θ
 * method = exponential_euler (default): v is linear in itself for conductances
 * held over one step, so v is advanced by exponential Euler (exact for frozen
 * ge, gi; Brian2's exponential_euler) and the conductances, θ by their exact
 * decay. method = euler: every variable by one forward Euler step, as Brian
 * integrates these equations by default and so the Diehl & Cook authors'
 * code. The two differ most where dt is not small against τe: holding ge at
 * its start value over a step, exponential Euler delivers (dt/τe)/(1 −
 * e^(−dt/τe)) times the continuous-time charge τe·w of an input (1.27 for
 * τe = 1 ms at dt = 0.5 ms); Euler's decay 1 − dt/τe delivers exactly τe·w. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fastexp.h"
#include "spikebridge/snn.h"

/* pop->c: decays, refractory steps, dt/τm, v's decay, lockout steps beyond REF */
enum { DE, DI, DTH, REF, DK, VK, LOCK };


static int valid(const snn_neuron_params *p, double dt, char *why, size_t len)
{
    if (!(p->tau_m > 0 && p->tau_e > 0 && p->tau_i > 0 && p->tau_theta >= 0)) {
        snprintf(why, len, "tau_m, tau_e and tau_i must be > 0 and tau_theta >= 0");
        return 0;
    }
    if (p->euler && !(dt < p->tau_m && dt < p->tau_e && dt < p->tau_i &&
                      (p->tau_theta == 0 || dt < p->tau_theta))) {
        snprintf(why, len, "method = euler needs dt (%g ms) below tau_m, tau_e, tau_i and tau_theta "
                 "(each decay 1 - dt/tau must stay positive)", dt);
        return 0;
    }
    return 1;
}

/* What is left of a decaying variable after one step of dt = x·τ. */
static double exact_decay(double x) { return exp(-x); }
static double euler_decay(double x) { return 1.0 - x; }

static void prepare(snn_pop *pop, double dt)
{
    const snn_neuron_params *p = &pop->p;
    double (*decay)(double) = p->euler ? euler_decay : exact_decay;
    pop->c[DE] = decay(dt / p->tau_e);
    pop->c[DI] = decay(dt / p->tau_i);
    pop->c[DTH] = p->tau_theta > 0 ? decay(dt / p->tau_theta) : 1.0;
    pop->c[REF] = round(p->t_ref / dt);
    pop->c[DK] = dt / p->tau_m;
    pop->c[VK] = decay(dt / p->tau_m);
    pop->c[LOCK] = fmax(0.0, round(p->t_lockout / dt) - pop->c[REF]);
}

/* One step for neurons [0, n) in blocks of 64, as lif_cuba does it: the
 * integration of a block is branch-free (the refractory clamp is a select,
 * exp is sb_exp) and vectorises, and keeps the largest v − θ; only a block
 * where some neuron crossed is scanned again to reset and list them. The
 * refractory state is the step until which a neuron is frozen (as in
 * lif_cuba). */
typedef struct {
    double de, di, dk, dth, rest, ee, ei, drive, now, lock, vth;
} consts;

#define NONE (-1e300) /* v − θ of a frozen neuron: never above a threshold */

/* A conductance that has decayed below 1e-300 is 0. Left alone it would
 * turn subnormal and stick at the smallest one (4.9e-324 × e^(−dt/τ)
 * rounds back to itself when the decay is above 1/2), and every operation
 * on it takes a microcode assist: N = 6 400 Diehl & Cook training fell from
 * about 29 to 16 images/s (2 ranks) near image 30 000, once most inhibitory
 * cells, whose one input is silent for seconds, sat there. What it drops
 * moves v by far less than its last bit. */
static inline __attribute__((always_inline)) double flush(double g)
{
    return fabs(g) < 1e-300 ? 0 : g;
}

static inline __attribute__((always_inline)) double
block(size_t lo, size_t hi, double *restrict v, double *restrict ge, double *restrict gi,
      double *restrict theta, const double *restrict until, double *restrict in_e,
      double *restrict in_i, const double *restrict istim, consts q, const int ring,
      const int euler, double *restrict moved)
{
    double most = NONE, change = 0;
    for (size_t k = lo; k < hi; k++) {
        double e = ge[k], i = gi[k], v0 = v[k];
        int frozen = q.now < until[k];
        if (ring) {
            e += in_e[k];
            i += in_i[k];
            in_e[k] = 0;
            in_i[k] = 0;
        }
        double th = theta[k] * q.dth;
        double vn;
        if (euler) {
            vn = v0 + q.dk * ((q.rest - v0) + e * (q.ee - v0) + i * (q.ei - v0) + q.drive + istim[k]);
        } else {
            double g = 1 + e + i;
            double vinf = (q.rest + e * q.ee + i * q.ei + q.drive + istim[k]) / g;
            vn = vinf + (v0 - vinf) * sb_exp(-q.dk * g);
        }
        vn = frozen ? v0 : vn;
        v[k] = vn;
        double over = q.now < until[k] + q.lock ? NONE : vn - th;
        most = over > most ? over : most;
        /* 0 only if the next step without input would repeat this one: no
         * conductance, θ = 0, not frozen, v unmoved and below threshold */
        double d = fabs(vn - v0) + fabs(e) + fabs(i) + fabs(theta[k]) +
                   (double)(frozen | (vn - th > q.vth));
        change = d > change ? d : change;
        theta[k] = th;
        ge[k] = flush(e * q.de);
        gi[k] = flush(i * q.di);
    }
    *moved = change;
    return most;
}

/* No conductance in [lo, hi): direct input (added to ge, gi) arrived. */
static inline __attribute__((always_inline)) int
unlit(size_t lo, size_t hi, const double *restrict ge, const double *restrict gi)
{
    double g = 0;
    for (size_t k = lo; k < hi; k++) {
        double a = fabs(ge[k]) + fabs(gi[k]);
        g = a > g ? a : g;
    }
    return g == 0;
}

/* finite-math-only lets the max reduction vectorise: every value here is
 * finite (sb_exp clamps its argument). */
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("finite-math-only", "no-signed-zeros")))
static size_t advance(size_t n, size_t lo, double *restrict v, double *restrict ge,
                      double *restrict gi, double *restrict theta, double *restrict until,
                      double *restrict in_e, double *restrict in_i, const double *restrict istim,
                      const snn_pop *pop, uint32_t *restrict out)
{
    const double *c = pop->c;
    const snn_neuron_params *p = &pop->p;
    const consts q = {c[DE], c[DI], c[DK], pop->theta_frozen ? 1.0 : c[DTH], p->v_rest, p->e_exc,
                      p->e_inh, p->i_ext, (double)pop->now, c[LOCK], p->v_th};
    const double plus = pop->theta_frozen ? 0.0 : p->theta_plus, thaw = q.now + c[REF];
    const double vth = q.vth, reset = p->v_reset;
    /* current stimuli change without input: no block is steady then */
    uint8_t *restrict steady = pop->steady && !pop->has_stim ? pop->steady + lo : NULL;
    size_t m = 0;
    for (size_t b = 0; b < n; b += 64) {
        size_t e = n - b < 64 ? n : b + 64;
        /* what the last step left as it was, with no input since, this step
         * leaves so again (Diehl & Cook's inhibitory cells, most of the time) */
        if (steady && !in_e && steady[b] && unlit(b, e, ge, gi))
            continue;
        double most, moved;
        if (p->euler)
            most = in_e ? block(b, e, v, ge, gi, theta, until, in_e, in_i, istim, q, 1, 1, &moved)
                        : block(b, e, v, ge, gi, theta, until, in_e, in_i, istim, q, 0, 1, &moved);
        else
            most = in_e ? block(b, e, v, ge, gi, theta, until, in_e, in_i, istim, q, 1, 0, &moved)
                        : block(b, e, v, ge, gi, theta, until, in_e, in_i, istim, q, 0, 0, &moved);
        if (steady)
            steady[b] = moved == 0;
        if (!(most > vth))
            continue;
        for (size_t k = b; k < e; k++)
            if (!(q.now < until[k] + q.lock) && v[k] > vth + theta[k]) {
                v[k] = reset;
                until[k] = thaw;
                theta[k] += plus;
                out[m++] = (uint32_t)(lo + k);
            }
    }
    return m;
}

static size_t step(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out)
{
    return advance(hi - lo, lo, pop->var[SNN_VAR_V] + lo, pop->var[SNN_VAR_GE] + lo,
                   pop->var[SNN_VAR_GI] + lo, pop->var[SNN_VAR_THETA] + lo, pop->refr + lo,
                   in_e ? in_e + lo : NULL, in_e ? in_i + lo : NULL, pop->i_stim + lo, pop, out);
}

/* Without input v relaxes monotonically from v towards v_inf = v_rest + I,
 * so it stays below threshold if both ends do, against the lowest θ of the
 * stretch; what ge and gi can still add to v is at most g·τ·|E − v|/τm. */
static int quiet(const snn_pop *pop, int64_t steps)
{
    const snn_neuron_params *p = &pop->p;
    const double *v = pop->var[SNN_VAR_V], *ge = pop->var[SNN_VAR_GE], *gi = pop->var[SNN_VAR_GI];
    const double *theta = pop->var[SNN_VAR_THETA];
    const double decay = pop->theta_frozen ? 1.0 : pow(pop->c[DTH], (double)steps);
    const double vinf = p->v_rest + p->i_ext;
    for (size_t k = 0; k < pop->nlocal; k++) {
        double th = p->v_th + fmin(theta[k], theta[k] * decay);
        if (pop->i_stim[k] != 0 || !(fmax(v[k], vinf) < th - SNN_IDLE_EPS) ||
            ge[k] * p->tau_e * fabs(p->e_exc - v[k]) > SNN_IDLE_EPS * p->tau_m ||
            gi[k] * p->tau_i * fabs(p->e_inh - v[k]) > SNN_IDLE_EPS * p->tau_m)
            return 0;
    }
    return 1;
}

/* A neuron frozen until step u moves only in the steps from u on. */
static void relax(snn_pop *pop, int64_t steps)
{
    const snn_neuron_params *p = &pop->p;
    double *v = pop->var[SNN_VAR_V], *ge = pop->var[SNN_VAR_GE], *gi = pop->var[SNN_VAR_GI];
    double *theta = pop->var[SNN_VAR_THETA];
    const double vinf = p->v_rest + p->i_ext, now = (double)pop->now, dk = pop->c[DK];
    const double de = pow(pop->c[DE], (double)steps), di = pow(pop->c[DI], (double)steps);
    const double dth = pop->theta_frozen ? 1.0 : pow(pop->c[DTH], (double)steps);
    if (pop->steady)
        memset(pop->steady, 0, pop->nlocal);
    for (size_t k = 0; k < pop->nlocal; k++) {
        double active = (double)steps - fmin((double)steps, fmax(0.0, pop->refr[k] - now));
        v[k] = vinf + (v[k] - vinf) * (p->euler ? pow(pop->c[VK], active) : exp(-dk * active));
        ge[k] = flush(ge[k] * de);
        gi[k] = flush(gi[k] * di);
        theta[k] *= dth;
    }
}

const snn_neuron_model snn_neuron_lif_coba = {
    "lif_coba", "LIF, conductance-based synapses, adaptive threshold (Diehl & Cook)", valid, prepare,
    step, SNN_VAR_GE, SNN_VAR_GI, quiet, relax, NULL};
