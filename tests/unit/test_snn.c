/* Neuron models against their analytic solutions, plasticity rules against
 * the closed-form pair rule, stimuli, connection rules and the errors of
 * malformed network sections. One process (MPI_COMM_SELF). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/snn/fastexp.h"
#include "../../src/snn/net_internal.h"
#include "harness.h"
#include "snn_test_util.h"

#define JOB "[job]\ntask = simulate\n[simulate]\ndt = 0.1\n"

static snn_net *build(const char *text) { return snn_test_build(text, MPI_COMM_SELF, 1); }

/* Probe samples of one neuron: runs `steps` steps recording var every step
 * and returns them (sample k is the state at time (k + 1)·dt). */
static double *trace(snn_net *net, const char *pop, uint64_t index, snn_var var, int steps)
{
    snn_probe p;
    memset(&p, 0, sizeof p);
    snprintf(p.pop, sizeof p.pop, "%s", pop);
    p.index = index;
    p.var = var;
    if (snn_net_record_probe(net, &p, 1) || snn_net_run(net, steps))
        return NULL;
    /* the probe's samples are gathered by writing them; read them back
     * through a result file */
    const char *path = sb_test_path("trace.h5");
    h5_out f;
    double *out = NULL;
    if (h5_create(&f, path, MPI_COMM_SELF) == SB_OK) {
        if (snn_net_write_records(net, f.id) == SB_OK && h5_commit(&f) == SB_OK) {
            char name[128];
            snprintf(name, sizeof name, "reports/%s/%s/data", snn_var_names[var], pop);
            void *buf;
            int rank;
            hsize_t dims[4];
            if (h5_read_all(path, name, H5T_NATIVE_DOUBLE, &buf, &rank, dims) == SB_OK)
                out = buf;
        } else {
            h5_discard(&f);
        }
    }
    return out;
}

/* v of a lif_cuba neuron below threshold relaxes exactly as
 * v(t) = v_rest + I·(1 − exp(−t/τm)). */
static void test_cuba_relaxation(void)
{
    snn_net *net = build(JOB "[population.P]\nmodel = lif_cuba\nn = 1\nv_rest = -70\nv_th = -50\n"
                             "v_reset = -70\ntau_m = 20\ni_ext = 15\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    double *v = trace(net, "P", 0, SNN_VAR_V, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    double worst = 0;
    for (int k = 0; k < 1000; k++) {
        double t = (k + 1) * 0.1;
        worst = fmax(worst, fabs(v[k] - (-70 + 15 * (1 - exp(-t / 20)))));
    }
    printf("\n    lif_cuba relaxation: worst |v - analytic| = %.3g mV\n", worst);
    CU_ASSERT(worst < 1e-9);
    free(v);
    snn_net_free(net);
}

/* A spike of neuron A (which fires once, at step 0) gives B the current-
 * based PSP u(t) = w·τe/(τe − τm)·(exp(−t/τe) − exp(−t/τm)), from the step
 * after the spike on. */
static void test_cuba_psp(void)
{
    snn_net *net = build(JOB "[population.A]\nmodel = lif_cuba\nn = 1\nv_rest = -40\nv_th = -50\n"
                             "v_reset = -80\nv_init = -50.0001\nt_ref = 100000\n"
                             "[population.B]\nmodel = lif_cuba\nn = 1\nv_rest = -70\nv_reset = -70\n"
                             "tau_m = 20\ntau_e = 5\n"
                             "[projection.AB]\npre = A\npost = B\nrule = all_to_all\nweight = 2\n"
                             "[record]\nspikes = A\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    double *v = trace(net, "B", 0, SNN_VAR_V, 600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(snn_net_spike_count(net, 0), 1);
    double worst = 0;
    for (int k = 0; k < 600; k++) {
        double t = k * 0.1; /* the input acts from step 1, time 0.1 */
        double u = 2 * 5 / (5.0 - 20) * (exp(-t / 5) - exp(-t / 20));
        worst = fmax(worst, fabs(v[k] - (-70 + u)));
    }
    printf("\n    lif_cuba PSP: worst |v - analytic| = %.3g mV\n", worst);
    CU_ASSERT(worst < 1e-9);
    free(v);
    snn_net_free(net);
}

/* Constant suprathreshold drive: f = 1/(t_ref + τ·ln(RI/(RI − θ))). */
static void test_lif_rate(void)
{
    const double tau = 10, RI = 20, theta = 15, tref = 2;
    snn_net *net = build("[job]\ntask = simulate\n[simulate]\ndt = 0.01\n"
                         "[population.P]\nmodel = lif_cuba\nn = 1\nv_rest = -65\nv_reset = -65\n"
                         "v_th = -50\ntau_m = 10\nt_ref = 2\ni_ext = 20\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 200000), SB_OK); /* 2 s */
    double f = (double)snn_net_spike_count(net, 0) / 2.0;
    double expect = 1000.0 / (tref + tau * log(RI / (RI - theta)));
    printf("\n    LIF rate %.3f Hz, analytic %.3f Hz (%.3f %%)\n", f, expect, 100 * (f / expect - 1));
    CU_ASSERT(fabs(f / expect - 1) < 2e-3);
    snn_net_free(net);
}

/* lif_coba with only a constant drive relaxes as its method says (g = 1):
 * v_k = (v_rest + I) + (v0 − v_rest − I)·d^k with d = exp(−dt/τm) for
 * exponential Euler (the exact solution) and 1 − dt/τm for Euler. */
static void coba_relaxation(const char *method, double d)
{
    char text[512];
    snprintf(text, sizeof text,
             JOB "[population.P]\nmodel = lif_coba\nmethod = %s\nn = 1\nv_rest = -65\nv_th = -40\n"
                 "tau_m = 100\ni_ext = 10\n",
             method);
    snn_net *net = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    double *v = trace(net, "P", 0, SNN_VAR_V, 2000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    double worst = 0;
    for (int k = 0; k < 2000; k++)
        worst = fmax(worst, fabs(v[k] - (-55 - 10 * pow(d, k + 1))));
    CU_ASSERT(worst < 1e-9);
    free(v);
    snn_net_free(net);
}

static void test_coba_relaxation(void) { coba_relaxation("exponential_euler", exp(-0.1 / 100)); }

/* One input spike of weight w into a lif_coba neuron at rest, at Diehl &
 * Cook's dt = 0.5 ms, against the continuous-time solution: for small w,
 * u = v − v_rest obeys τm du/dt = −u + w·e^(−t/τ)·(E − v_rest), so once the
 * conductance has gone, u(t)·e^(t/τm) = (E − v_rest)·w·τ/(τm − τ). Forward
 * Euler delivers that charge; exponential Euler, holding the conductance at
 * its start value over each step, (dt/τ)/(1 − e^(−dt/τ)) times it. Returns the
 * measured charge over the continuous-time one (worst of 20-40 ms). */
static double coba_charge(const char *method, const char *target, double tau, double e_rev)
{
    char text[640];
    snprintf(text, sizeof text,
             "[job]\ntask = simulate\n[simulate]\ndt = 0.5\n"
             "[population.P]\nmodel = lif_coba\nmethod = %s\nn = 1\nv_rest = -65\nv_reset = -65\n"
             "v_th = 0\ntau_m = 100\ntau_e = 1\ntau_i = 2\ne_exc = 0\ne_inh = -100\n"
             "v_init = -65\n[stimulus.in]\ntype = spikes\nn = 1\n"
             "[projection.x]\npre = in\npost = P\nrule = all_to_all\ntarget = %s\n"
             "weight = 0.01\n",
             method, target);
    snn_net *net = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    const uint64_t id = 0;
    const double t0 = 0;
    CU_ASSERT_EQUAL_FATAL(snn_net_set_spikes(net, snn_net_find_source(net, "in"), &id, &t0, 1),
                          SB_OK);
    double *v = trace(net, "P", 0, SNN_VAR_V, 80);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    const double tm = 100, want = (e_rev + 65) * 0.01 * tau / (tm - tau);
    double worst = 1;
    for (int k = 40; k < 80; k++) {
        double t = (k + 1) * 0.5, got = (v[k] + 65) * exp(t / tm) / want;
        worst = fabs(got - 1) > fabs(worst - 1) ? got : worst;
    }
    free(v);
    snn_net_free(net);
    printf("\n    %s, one %s input, tau %.0f ms, dt 0.5 ms: %.4f x the continuous charge", method,
           target, tau, worst);
    return worst;
}

static void test_coba_charge(void)
{
    /* 0.5 % of slack: the first sample after the input is 0.5 ms early or late */
    CU_ASSERT(fabs(coba_charge("euler", "exc", 1, 0) - 1) < 0.01);
    CU_ASSERT(fabs(coba_charge("euler", "inh", 2, -100) - 1) < 0.01);
    const double x1 = 0.5 / -expm1(-0.5), x2 = 0.25 / -expm1(-0.25); /* 1.271, 1.130 */
    CU_ASSERT(fabs(coba_charge("exponential_euler", "exc", 1, 0) / x1 - 1) < 0.01);
    CU_ASSERT(fabs(coba_charge("exponential_euler", "inh", 2, -100) / x2 - 1) < 0.01);
}

static void expect_error(const char *text, const char *needle);

/* Forward Euler relaxes as Euler's recursion, and dt >= a time constant is
 * refused. */
static void test_coba_euler(void)
{
    coba_relaxation("euler", 1 - 0.1 / 100);
    expect_error(JOB "[population.P]\nmodel = lif_coba\nmethod = euler\nn = 1\ntau_e = 0.1\n",
                 "method = euler needs dt");
}

/* t_lockout: a neuron driven above threshold (v relaxes towards -40 mV, 12
 * mV above it) reaches threshold 14.7 ms after each reset (2 ms refractory
 * + 20 ln(25/12) ms), so without a lockout it fires every 16.7 ms; with a
 * 20 ms lockout every 20 ms, from its first spike at 14.7 ms: 50 in 1 s.
 * Brian 1's refractoriness for a string reset (the Diehl & Cook authors'
 * excitatory cells) holds nothing and only suppresses spikes: with t_ref = 0
 * and a 16 ms lockout v is above threshold again after 14.7 ms and fires as
 * the lockout ends, every 16 ms: 62 (15 + 16 k <= 1000). */
static void test_coba_lockout(void)
{
    const char *text = JOB "[population.P]\nmodel = lif_coba\nn = 1\nv_rest = -40\nv_reset = -65\n"
                           "v_init = -65\nv_th = -52\ntau_m = 20\nt_ref = %s\nt_lockout = %s\n";
    char buf[512];
    uint64_t n[3];
    const char *ref[3] = {"2", "2", "0"}, *lock[3] = {"0", "20", "16"};
    for (int k = 0; k < 3; k++) {
        snprintf(buf, sizeof buf, text, ref[k], lock[k]);
        snn_net *net = build(buf);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 10000), SB_OK);
        n[k] = snn_net_spike_count(net, 0);
        snn_net_free(net);
    }
    printf("\n    spikes in 1 s: %llu without lockout, %llu with 20 ms, %llu with 16 ms and no hold",
           (unsigned long long)n[0], (unsigned long long)n[1], (unsigned long long)n[2]);
    CU_ASSERT_EQUAL(n[0], 60); /* 14.7 + 16.7 k <= 1000 */
    CU_ASSERT_EQUAL(n[1], 50);
    CU_ASSERT_EQUAL(n[2], 62);
}

/* A silent stretch jumped by snn_net_idle ends where stepping it ends:
 * Poisson input drives a small Diehl & Cook-like pair of populations (with
 * delays, so input is still arriving when the inputs stop), then rest. The
 * spikes are the same and v, ge, gi, θ agree within the idle tolerance. */
static void idle_jump(const char *method)
{
    char text[2048];
    snprintf(text, sizeof text,
        JOB "[stimulus.in]\ntype = poisson\nn = 50\nrate = 80\n"
        "[population.E]\nmodel = lif_coba\nmethod = %s\nn = 20\nv_rest = -65\nv_reset = -65\nv_th = -72\n"
        "tau_m = 100\ntau_e = 1\ntau_i = 2\nt_ref = 5\ne_inh = -100\ntheta_plus = 0.05\n"
        "tau_theta = 1e7\ntheta_init = 20\nv_init = -105\n"
        "[population.I]\nmodel = lif_coba\nmethod = %s\nn = 20\nv_rest = -60\nv_reset = -45\nv_th = -40\n"
        "tau_m = 10\ntau_e = 1\ntau_i = 2\nt_ref = 2\ne_inh = -85\nv_init = -100\n"
        "[projection.in_e]\npre = in\npost = E\nrule = all_to_all\nweight = uniform:0.1:0.5\n"
        "delay = uniform:0:10\n"
        "[projection.e_i]\npre = E\npost = I\nrule = one_to_one\nweight = 10.4\n"
        "[projection.i_e]\npre = I\npost = E\nrule = all_but_self\ntarget = inh\nweight = 17\n",
        method, method);
    snn_net *a = build(text), *b = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    double zero[50] = {0};
    snn_net *both[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(snn_net_run(both[k], 3500), SB_OK); /* 350 ms at dt 0.1 */
        snn_net_set_rates(both[k], 0, zero, 0, 50);
    }
    CU_ASSERT_EQUAL(snn_net_run(a, 1500), SB_OK);
    CU_ASSERT_EQUAL(snn_net_idle(b, 1500), SB_OK);
    CU_ASSERT_EQUAL(snn_net_step(a), snn_net_step(b));
    printf("\n    %lld of 1500 steps jumped", (long long)snn_net_jumped(b));
    CU_ASSERT(snn_net_jumped(b) > 500 && snn_net_jumped(b) < 1500);
    CU_ASSERT(snn_net_spike_count(a, 0) > 0);
    for (int p = 0; p < 2; p++) {
        CU_ASSERT_EQUAL(snn_net_spike_count(a, p), snn_net_spike_count(b, p));
        snn_pop *pa = snn_net_pop(a, p), *pb = snn_net_pop(b, p);
        double worst = 0;
        for (int v = 0; v < SNN_VAR_COUNT_; v++)
            for (size_t k = 0; k < pa->nlocal; k++)
                worst = fmax(worst, fabs(pa->var[v][k] - pb->var[v][k]));
        printf("\n    idle jump vs stepping, %s, %s: worst difference %.2e", method, pa->name, worst);
        CU_ASSERT(worst < 1e-8);
    }
    /* both go on identically: the next input gives the same spikes */
    double on[50];
    for (int i = 0; i < 50; i++)
        on[i] = 80;
    for (int k = 0; k < 2; k++) {
        snn_net_set_rates(both[k], 0, on, 0, 50);
        CU_ASSERT_EQUAL(snn_net_run(both[k], 2000), SB_OK);
    }
    CU_ASSERT_EQUAL(snn_net_spike_count(a, 0), snn_net_spike_count(b, 0));
    CU_ASSERT_EQUAL(snn_net_spike_count(a, 1), snn_net_spike_count(b, 1));
    snn_net_free(a);
    snn_net_free(b);
}

static void test_idle_jump(void)
{
    idle_jump("exponential_euler");
    idle_jump("euler");
}

/* A lif_coba conductance decaying without input reaches exactly 0, never
 * a subnormal: decayed by e^(-dt/tau) > 1/2 a subnormal sticks at the
 * smallest one, and every step on it takes a microcode assist. The same
 * through the closed-form jump of a silent stretch (one that lands ge at
 * e^-712.7). */
static void test_conductance_flush(void)
{
    const char *text = "[job]\ntask = simulate\n[simulate]\ndt = 0.5\n"
                       "[population.P]\nmodel = lif_coba\nn = 3\nv_rest = -60\nv_th = -40\n"
                       "tau_m = 10\ntau_e = 1\ntau_i = 2\nge_init = 10\ngi_init = 3\n";
    for (int jump = 0; jump < 2; jump++) {
        snn_net *net = build(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        snn_pop *pop = snn_net_pop(net, 0);
        int subnormal = 0;
        for (int n = 0; n < 4000; n++) {
            CU_ASSERT_EQUAL_FATAL(jump && n == 1000 ? snn_net_idle(net, 430) : snn_net_run(net, 1), SB_OK);
            for (int v = SNN_VAR_GE; v <= SNN_VAR_GI; v++)
                subnormal += fpclassify(pop->var[v][0]) == FP_SUBNORMAL;
        }
        CU_ASSERT_EQUAL(subnormal, 0);
        CU_ASSERT(pop->var[SNN_VAR_GE][0] == 0 && pop->var[SNN_VAR_GI][0] == 0);
        snn_net_free(net);
    }
}

/* lif_coba skips a block that its last step left as it was while no input
 * reaches it: the same network with the skip switched off (steady = NULL)
 * gives the same spikes and state bit for bit, through input, silence (in
 * which the inhibitory blocks fall steady) and input again, which reaches
 * them both directly (delay 0) and through the ring (delays). K is frozen
 * long after its conductance is gone, L rests above threshold, spiking as
 * often as its lockout lets it: neither may count as steady. */
static void test_steady_skip(void)
{
    const char *text =
        "[job]\ntask = simulate\n[simulate]\ndt = 0.5\n"
        "[stimulus.in]\ntype = poisson\nn = 40\nrate = 60\n"
        "[population.E]\nmodel = lif_coba\nn = 200\nv_rest = -65\nv_reset = -65\nv_th = -72\n"
        "tau_m = 100\ntau_e = 1\ntau_i = 2\nt_lockout = 5\ne_inh = -100\ntheta_plus = 0.05\n"
        "tau_theta = 1e7\ntheta_init = 20\nv_init = -105\n"
        "[population.I]\nmodel = lif_coba\nn = 200\nv_rest = -60\nv_reset = -45\nv_th = -40\n"
        "tau_m = 10\ntau_e = 1\ntau_i = 2\nt_ref = 2\ne_inh = -85\nv_init = -100\n"
        "[population.J]\nmodel = lif_coba\nmethod = euler\nn = 200\nv_rest = -60\nv_reset = -45\n"
        "v_th = -40\ntau_m = 10\ntau_e = 1\ntau_i = 2\nt_ref = 2\ne_inh = -85\n"
        "[population.K]\nmodel = lif_coba\nn = 200\nv_rest = -60\nv_reset = -45\nv_th = -40\n"
        "tau_m = 10\ntau_e = 0.5\ntau_i = 2\nt_ref = 500\n"
        "[population.L]\nmodel = lif_coba\nn = 10\nv_rest = -50\nv_reset = -50\nv_th = -55\n"
        "tau_m = 10\ntau_e = 1\ntau_i = 2\nt_lockout = 20\n"
        "[projection.in_e]\npre = in\npost = E\nrule = all_to_all\nweight = uniform:0:0.3\n"
        "delay = uniform:0:10\n"
        "[projection.e_i]\npre = E\npost = I\nrule = one_to_one\nweight = 10.4\n"
        "[projection.e_j]\npre = E\npost = J\nrule = one_to_one\nweight = 10.4\ndelay = uniform:0:3\n"
        "[projection.e_k]\npre = E\npost = K\nrule = one_to_one\nweight = 10.4\n"
        "[projection.i_e]\npre = I\npost = E\nrule = all_but_self\ntarget = inh\nweight = 17\n";
    snn_net *a = build(text), *b = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int p = 0; p < 5; p++) {
        snn_pop *pb = snn_net_pop(b, p);
        free(pb->steady);
        pb->steady = NULL;
    }
    double rate[40] = {0};
    const int steps[3] = {1400, 4000, 1400};
    int steady = 0, differ = 0;
    for (int stage = 0; stage < 3; stage++) {
        for (int i = 0; i < 40; i++)
            rate[i] = stage == 1 ? 0 : 60;
        snn_net_set_rates(a, 0, rate, 0, 40);
        snn_net_set_rates(b, 0, rate, 0, 40);
        CU_ASSERT_EQUAL_FATAL(snn_net_run(a, steps[stage]), SB_OK);
        CU_ASSERT_EQUAL_FATAL(snn_net_run(b, steps[stage]), SB_OK);
        for (int p = 0; p < 5; p++) {
            snn_pop *pa = snn_net_pop(a, p), *pb = snn_net_pop(b, p);
            CU_ASSERT_EQUAL(snn_net_spike_count(a, p), snn_net_spike_count(b, p));
            for (int v = 0; v < SNN_VAR_COUNT_; v++)
                differ += memcmp(pa->var[v], pb->var[v], pa->nlocal * sizeof(double)) != 0;
            differ += memcmp(pa->refr, pb->refr, pa->nlocal * sizeof(double)) != 0;
            for (size_t k = 0; stage == 1 && (p == 1 || p == 2) && k < pa->nlocal; k += 64)
                steady += pa->steady[k];
        }
    }
    CU_ASSERT_EQUAL(differ, 0);
    for (int p = 1; p < 5; p++)
        CU_ASSERT(snn_net_spike_count(a, p) > 0);
    printf("\n    %d of 8 inhibitory blocks steady after the silence", steady);
    CU_ASSERT(steady > 0);
    CU_ASSERT_EQUAL(snn_net_pop(a, 0)->steady[0], 0); /* θ > 0 moves every step */
    snn_net_free(a);
    snn_net_free(b);
}

/* The adaptive threshold grows by theta_plus per spike, so a driven neuron
 * ends with θ = theta_plus × spikes (no decay), and fires less than without. */
static void test_adaptive_threshold(void)
{
    const char *text = JOB "[population.P]\nmodel = lif_coba\nn = 1\nv_rest = -40\nv_reset = -65\n"
                           "v_th = -52\ntau_m = 20\nt_ref = 2\ntheta_plus = %s\n";
    char buf[512];
    snprintf(buf, sizeof buf, text, "0.5");
    snn_net *net = build(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    double *theta = trace(net, "P", 0, SNN_VAR_THETA, 10000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(theta);
    uint64_t n = snn_net_spike_count(net, 0);
    CU_ASSERT(n > 3);
    CU_ASSERT_DOUBLE_EQUAL(theta[9999], 0.5 * (double)n, 1e-12);
    snprintf(buf, sizeof buf, text, "0");
    snn_net *plain = build(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_EQUAL(snn_net_run(plain, 10000), SB_OK);
    CU_ASSERT(snn_net_spike_count(plain, 0) > n);
    free(theta);
    snn_net_free(net);
    snn_net_free(plain);
}

/* Non-leaky IF with reset by subtraction loses no charge: T steps of drive
 * I·dt give floor(I·dt·T / v_th) spikes (rate code = ReLU), and a negative
 * drive none. */
static void test_if_counts(void)
{
    snn_net *net = build("[job]\ntask = simulate\n[simulate]\ndt = 1\n"
                         "[population.P]\nmodel = if\nn = 2\nv_th = 1\nv_init = 0\ni_ext = 0.37\n"
                         "[population.N]\nmodel = if\nn = 1\nv_th = 1\nv_init = 0\ni_ext = -0.2\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 1000), SB_OK);
    uint64_t n = snn_net_spike_count(net, 0);
    CU_ASSERT(n == 740 || n == 738); /* 370 each, up to rounding of the sum */
    CU_ASSERT_EQUAL(snn_net_spike_count(net, 1), 0);
    double v = snn_net_pop(net, 0)->var[SNN_VAR_V][0];
    CU_ASSERT(v >= 0 && v < 1);
    snn_net_free(net);
}

/* sb_exp, the vectorisable exp of the conductance-based step, against libm. */
static void test_fast_exp(void)
{
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        double x = -700 + 1400.0 * i / 200000.0, e = exp(x);
        worst = fmax(worst, fabs(sb_exp(x) - e) / e);
    }
    for (int i = 0; i <= 100000; i++) { /* the range a step uses */
        double x = -i * 1e-5, e = exp(x);
        worst = fmax(worst, fabs(sb_exp(x) - e) / e);
    }
    printf("\n    sb_exp: worst relative error %.3g\n", worst);
    CU_ASSERT(worst < 1e-15);
}

/* ------------------------------------------------------------------ plasticity */

typedef struct {
    snn_plasticity pl;
    float w, pre;
    int64_t pre_step, post_step;
    double post1, post2;
} one_syn;

static void one_syn_init(one_syn *s, const snn_rule *rule, double w)
{
    memset(s, 0, sizeof *s);
    s->pl.rule = rule;
    s->pl.dt = 0.1;
    s->pl.p = (snn_plast_params){.tau_pre = 20, .tau_post = 20, .tau_post2 = 40, .a_plus = 0.01,
                                 .a_minus = 0.012, .nu_pre = 1e-4, .nu_post = 0.01, .w_min = 0,
                                 .w_max = 1};
    s->pl.pre = &s->pre;
    s->pl.pre_step = &s->pre_step;
    s->pre_step = SNN_NEVER;
    s->pl.post1 = &s->post1;
    s->pl.post2 = &s->post2;
    s->pl.post_step = &s->post_step;
    s->w = (float)w;
}

static void pre_at(one_syn *s, int64_t step) { s->pl.rule->on_pre(&s->pl, &s->w, 0, 0, step); }
static void post_at(one_syn *s, int64_t step)
{
    s->pl.rule->on_post(&s->pl, &s->w, 0, 0, step);
    s->pl.rule->on_post_done(&s->pl, 0, step);
}

/* One pair at Δ = t_post − t_pre: +A+·exp(−Δ/τ+) or −A−·exp(Δ/τ−). */
static void test_stdp_pairs(void)
{
    double worst = 0;
    for (int d = -1000; d <= 1000; d += 25) {
        one_syn s;
        one_syn_init(&s, &snn_rule_stdp, 0.5);
        int64_t tpre = 2000, tpost = 2000 + d;
        if (d >= 0) {
            pre_at(&s, tpre);
            post_at(&s, tpost);
        } else {
            post_at(&s, tpost);
            pre_at(&s, tpre);
        }
        double dt = d * 0.1;
        double expect = d >= 0 ? 0.01 * exp(-dt / 20) : -0.012 * exp(dt / 20);
        worst = fmax(worst, fabs((s.w - 0.5) - expect));
    }
    printf("\n    pair STDP: worst |dw - closed form| = %.3g\n", worst);
    CU_ASSERT(worst < 1e-7); /* float weights */

    /* multiplicative: potentiation scales with w_max − w, depression with w */
    one_syn s;
    one_syn_init(&s, &snn_rule_stdp, 0.8);
    s.pl.p.mode = SNN_STDP_MULTIPLICATIVE;
    pre_at(&s, 0);
    post_at(&s, 100);
    CU_ASSERT_DOUBLE_EQUAL(s.w, 0.8 + 0.01 * 0.2 * exp(-10.0 / 20), 1e-7);
    /* bounds hold */
    one_syn_init(&s, &snn_rule_stdp, 0.999);
    s.pl.p.a_plus = 0.5;
    pre_at(&s, 0);
    post_at(&s, 1);
    CU_ASSERT_EQUAL(s.w, 1.0f);
}

/* Diehl & Cook: a post spike potentiates by ν_post·pre·post2 with post2 read
 * before this spike; the first post spike (post2 = 0) changes nothing. */
static void test_diehl_cook_rule(void)
{
    one_syn s;
    one_syn_init(&s, &snn_rule_diehl_cook, 0.3);
    pre_at(&s, 0);                 /* post1 = 0: no depression */
    CU_ASSERT_EQUAL(s.w, 0.3f);
    post_at(&s, 50);               /* post2 was 0 */
    CU_ASSERT_EQUAL(s.w, 0.3f);
    post_at(&s, 150);              /* pre 15 ms old, post2 10 ms old */
    double w = 0.3 + 0.01 * exp(-15.0 / 20) * exp(-10.0 / 40);
    CU_ASSERT_DOUBLE_EQUAL(s.w, w, 1e-7);
    pre_at(&s, 250);               /* post1 10 ms old */
    w -= 1e-4 * exp(-10.0 / 20);
    CU_ASSERT_DOUBLE_EQUAL(s.w, w, 1e-7);
}

/* Diehl & Cook: a step's arrivals at once (on_pre_many, the vectorised
 * depression) change the weights bit for bit as one arrival at a time, for
 * ranges whose lengths leave vector remainders, with weights clipped at both
 * bounds and targets whose post spikes are recent, old and never. */
static void test_diehl_cook_many(void)
{
    enum { M = 23, S = 211 };
    snn_plasticity a, b;
    memset(&a, 0, sizeof a);
    a.rule = &snn_rule_diehl_cook;
    a.dt = 0.5;
    a.p = (snn_plast_params){.tau_pre = 20, .tau_post = 20, .tau_post2 = 40, .nu_pre = 0.05,
                             .nu_post = 0.01, .w_min = 0.02, .w_max = 0.97};
    int64_t pre_a[S], pre_b[S], post_step[M];
    double post1[M], post2[M], scratch[M];
    float wa[S], wb[S], w0[S];
    uint32_t tgt[S];
    sb_rng r;
    sb_rng_init(&r, 7, SB_STREAM_SNN_INIT, 0, 0);
    for (int j = 0; j < M; j++) {
        post1[j] = post2[j] = j % 5 ? 1.0 : 0.0;
        post_step[j] = j % 5 ? 1000 - 7 * j : SNN_NEVER;
    }
    for (int k = 0; k < S; k++) {
        double u = sb_rng_uniform(&r);
        w0[k] = wa[k] = wb[k] = (float)(k % 9 == 0 ? 0.03 : k % 11 == 0 ? 0.99 : u);
        tgt[k] = (uint32_t)(sb_rng_uniform(&r) * M);
        pre_a[k] = pre_b[k] = SNN_NEVER;
    }
    a.post1 = post1;
    a.post2 = post2;
    a.post_step = post_step;
    a.scratch = scratch;
    b = a;
    a.pre_step = pre_a;
    b.pre_step = pre_b;
    const uint64_t range[] = {0, 1, 5, 22, 30, 101, 120, 211};
    const int64_t step = 1010;
    a.rule->on_pre_many(&a, wa, range, 4, tgt, 0, M, step);
    for (int x = 0; x < 8; x += 2)
        for (uint64_t k = range[x]; k < range[x + 1]; k++)
            b.rule->on_pre(&b, wb, k, tgt[k], step);
    int lo = 0, hi = 0, moved = 0;
    for (int k = 0; k < S; k++) {
        CU_ASSERT_EQUAL(memcmp(&wa[k], &wb[k], sizeof wa[k]), 0);
        CU_ASSERT_EQUAL(pre_a[k], pre_b[k]);
        lo += wa[k] == (float)a.p.w_min;
        hi += wa[k] == (float)a.p.w_max;
        moved += wa[k] != w0[k];
    }
    printf("\n    %d weights clipped at w_min, %d at w_max, %d moved\n", lo, hi, moved);
    CU_ASSERT(lo > 0 && hi > 0 && moved > lo + hi);
    CU_ASSERT_EQUAL(pre_a[120], step);
    CU_ASSERT_EQUAL(pre_a[110], SNN_NEVER);
}

/* Δw of one plastic synapse (pair STDP: a+ 0.01, a− 0.012, τ 20 ms, dt 0.1
 * ms) whose one input spike is sent in step `sent`, into a neuron that a
 * strong static input makes fire once; *fired gets that step. */
static double step_order_dw(const char *order, int64_t sent, int64_t *fired)
{
    char text[1024];
    snprintf(text, sizeof text,
             JOB "[population.P]\nmodel = lif_cuba\nn = 1\nv_rest = -70\nv_reset = -70\n"
                 "v_th = -50\nt_ref = 1000\n"
                 "[stimulus.drive]\ntype = spikes\nn = 1\n[stimulus.in]\ntype = spikes\nn = 1\n"
                 "[projection.d]\npre = drive\npost = P\nrule = all_to_all\nweight = 1000\n"
                 "[projection.x]\npre = in\npost = P\nrule = all_to_all\nweight = 0.5\n"
                 "plasticity = stdp\na_plus = 0.01\na_minus = 0.012\nstep_order = %s\n",
             order);
    snn_net *net = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL_FATAL(snn_net_record_spikes(net, "P"), SB_OK);
    const uint64_t id = 0;
    const double t_drive = 2.05, t_in = ((double)sent + 0.5) * 0.1;
    CU_ASSERT_EQUAL_FATAL(snn_net_set_spikes(net, snn_net_find_source(net, "drive"), &id, &t_drive, 1), SB_OK);
    CU_ASSERT_EQUAL_FATAL(snn_net_set_spikes(net, snn_net_find_source(net, "in"), &id, &t_in, 1), SB_OK);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 100), SB_OK);
    uint64_t key = 0;
    CU_ASSERT_EQUAL(snn_test_spikes(net, "P", &key, 1), 1);
    *fired = (int64_t)(key >> 32);
    double dw = snn_net_proj(net, 1)->w[0] - 0.5;
    snn_net_free(net);
    return dw;
}

/* step_order: an input that arrives in the step of the postsynaptic spike
 * potentiates by a+ (pre = 1) when arrivals act first, and depresses by a−
 * (post = 1) when the spike acts first (Brian 1's C STDP); there, an input
 * of the step before counts as 0 steps old (pre seen as at the end of that
 * step), while arrivals first see it one step decayed. Later arrivals
 * depress alike in both orders. */
static void test_step_order(void)
{
    const double ap = 0.01, am = 0.012, d1 = exp(-0.1 / 20);
    int64_t fired = -1, f;
    double arr[12], spk[12];
    int same = -1;
    for (int k = 0; k < 12; k++) {
        arr[k] = step_order_dw("arrivals", 18 + k, &f);
        CU_ASSERT(fired < 0 || f == fired);
        fired = f;
        spk[k] = step_order_dw("spikes", 18 + k, &f);
        CU_ASSERT_EQUAL(f, fired);
        if (fabs(arr[k] - ap) < 1e-7)
            same = k;
    }
    printf("\n    step_order: the neuron fires in step %lld; same-step input sent in step %d\n",
           (long long)fired, 18 + same);
    if (same < 1 || same > 10) {
        CU_FAIL("no input sent early enough to arrive in the step of the spike");
        return;
    }
    CU_ASSERT_DOUBLE_EQUAL(spk[same], -am, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(arr[same - 1], ap * d1, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(spk[same - 1], ap, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(arr[same + 1], -am * d1, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(spk[same + 1], -am * d1, 1e-7);
}

/* The paper's power-law rule: arrivals only add to the trace; a post spike
 * moves w by η·(x_pre − x_tar)·(w_max − w)^μ, down when the trace is below
 * x_tar, and never past w_max. */
static void test_power_law_rule(void)
{
    one_syn s;
    one_syn_init(&s, &snn_rule_power_law, 0.3);
    s.pl.p.x_tar = 0.4;
    s.pl.p.mu = 0.2;
    pre_at(&s, 0);
    pre_at(&s, 100);               /* the trace adds: e^(-10/20) + 1 */
    CU_ASSERT_EQUAL(s.w, 0.3f);
    CU_ASSERT_DOUBLE_EQUAL(s.pre, exp(-10.0 / 20) + 1, 1e-6);
    post_at(&s, 150);
    double x = (exp(-10.0 / 20) + 1) * exp(-5.0 / 20);
    double w = 0.3 + 0.01 * (x - 0.4) * pow(0.7, 0.2);
    CU_ASSERT_DOUBLE_EQUAL(s.w, w, 1e-7);
    post_at(&s, 100000);           /* trace gone: depression by η·x_tar·(1 − w)^μ */
    w -= 0.01 * 0.4 * pow(1 - w, 0.2);
    CU_ASSERT_DOUBLE_EQUAL(s.w, w, 1e-7);
    one_syn_init(&s, &snn_rule_power_law, 1.0);
    s.pl.p.x_tar = 0.4;
    s.pl.p.mu = 0.2;
    pre_at(&s, 0);
    post_at(&s, 1);                /* at w_max nothing moves it */
    CU_ASSERT_EQUAL(s.w, 1.0f);
    s.pl.frozen = 1;               /* frozen: the trace still counts, w stays */
    s.w = 0.5f;
    post_at(&s, 2);
    CU_ASSERT_EQUAL(s.w, 0.5f);
}

/* ------------------------------------------------------------------ stimuli, rules */

static void test_poisson_rate(void)
{
    snn_net *net = build(JOB "[population.P]\nmodel = lif_cuba\nn = 1\n"
                             "[stimulus.in]\ntype = poisson\nn = 2000\nrate = 20\n"
                             "[record]\nspikes = in\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL_FATAL(snn_net_record_spikes(net, "in"), SB_OK);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 10000), SB_OK);
    const uint64_t *ids;
    const int64_t *steps;
    uint64_t n = snn_net_recorded(net, "in", &ids, &steps);
    printf("\n    poisson: %llu spikes, expected 40000\n", (unsigned long long)n);
    CU_ASSERT(fabs((double)n - 40000) < 5 * sqrt(40000.0));
    snn_net_free(net);
}

/* In-degrees of every post neuron, counted from the rows. */
static void indegrees(const snn_proj *pr, size_t nlocal, uint64_t *deg, int *self, int same)
{
    memset(deg, 0, nlocal * sizeof *deg);
    *self = 0;
    for (uint64_t i = 0; i < pr->npre; i++)
        for (uint64_t s = pr->row[i]; s < pr->row[i + 1]; s++) {
            deg[pr->tgt[s]]++;
            *self |= same && pr->tgt[s] == i;
            if (s > pr->row[i])
                CU_ASSERT(pr->tgt[s] > pr->tgt[s - 1]); /* sorted, no repeats */
        }
}

static void test_connection_rules(void)
{
    snn_net *net = build(JOB "[population.P]\nmodel = lif_cuba\nn = 300\n"
                             "[population.Q]\nmodel = lif_cuba\nn = 150\n"
                             "[projection.deg]\npre = P\npost = Q\nrule = fixed_indegree\nindegree = 7\n"
                             "[projection.dense]\npre = P\npost = Q\nrule = fixed_indegree\nindegree = 290\n"
                             "[projection.abs]\npre = Q\npost = Q\nrule = all_but_self\n"
                             "[projection.one]\npre = Q\npost = Q\nrule = one_to_one\ndelay = uniform:0:2\n"
                             "[projection.prob]\npre = P\npost = Q\nrule = fixed_prob\np = 0.1\n"
                             "weight = normal:1:0.1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    uint64_t deg[150];
    int self;
    indegrees(snn_net_proj(net, 0), 150, deg, &self, 0);
    for (int k = 0; k < 150; k++)
        CU_ASSERT_EQUAL(deg[k], 7);
    indegrees(snn_net_proj(net, 1), 150, deg, &self, 0);
    for (int k = 0; k < 150; k++)
        CU_ASSERT_EQUAL(deg[k], 290);
    indegrees(snn_net_proj(net, 2), 150, deg, &self, 1);
    CU_ASSERT_EQUAL(self, 0);
    for (int k = 0; k < 150; k++)
        CU_ASSERT_EQUAL(deg[k], 149);
    const snn_proj *one = snn_net_proj(net, 3);
    CU_ASSERT_EQUAL(one->nsyn, 150);
    for (uint64_t i = 0; i < 150; i++)
        CU_ASSERT(one->row[i + 1] - one->row[i] == 1 && one->tgt[one->row[i]] == i);
    CU_ASSERT_PTR_NOT_NULL(one->delay);
    for (uint64_t s = 0; s < one->nsyn; s++)
        CU_ASSERT(one->delay[s] <= 20);
    const snn_proj *prob = snn_net_proj(net, 4);
    double mean = 0.1 * 300 * 150, sd = sqrt(mean * 0.9);
    CU_ASSERT(fabs((double)prob->nsyn - mean) < 5 * sd);
    snn_net_free(net);
}

static void test_normalise(void)
{
    snn_net *net = build(JOB "[population.P]\nmodel = lif_coba\nn = 40\n"
                             "[population.Q]\nmodel = lif_coba\nn = 6\n"
                             "[projection.w]\npre = P\npost = Q\nrule = all_to_all\n"
                             "weight = uniform:0:1\nnormalise = 3\nplasticity = diehl_cook\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    const snn_proj *pr = snn_net_proj(net, 0);
    for (size_t k = 0; k < 6; k++) {
        double sum = 0;
        for (uint64_t c = pr->col[k]; c < pr->col[k + 1]; c++)
            sum += pr->w[pr->col_syn[c]];
        CU_ASSERT_DOUBLE_EQUAL(sum, 3, 1e-5);
    }
    snn_net_free(net);
}

/* The end of a run of equal delays, found by galloping, is where a scan
 * stops: runs of 1 to 300, from every run start, to parts ending anywhere. */
static void test_delay_run_end(void)
{
    enum { N = 4000 };
    static uint16_t d[N];
    uint64_t x = 0, seed = 12345;
    for (uint16_t v = 0; x < N; v++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        for (uint64_t len = 1 + (seed >> 33) % 300; len > 0 && x < N; len--)
            d[x++] = v;
    }
    int wrong = 0;
    for (x = 0; x < N; x++) {
        if (x > 0 && d[x] == d[x - 1])
            continue;
        for (uint64_t e = x + 1; e <= N; e += 1 + (e - x) / 8) {
            uint64_t y = x + 1;
            while (y < e && d[y] == d[x])
                y++;
            wrong += snn_delay_run_end(d, x, e) != y;
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

/* Lazy traces read from the tables equal exp() up to the cutoff (to the
 * rounding of its argument), read 0 from it on, and never come out
 * subnormal: each subnormal operand costs a microcode assist in the
 * arithmetic that reads it. */
static void test_trace_tables(void)
{
    const double taus[][3] = {{20, 20, 40}, {0.5, 1, 3}, {1000, 5000, 1e5}};
    int wrong = 0, subnormal = 0;
    for (size_t c = 0; c < sizeof taus / sizeof taus[0]; c++) {
        snn_plasticity pl = {.dt = 0.5};
        pl.p.tau_pre = taus[c][0];
        pl.p.tau_post = taus[c][1];
        pl.p.tau_post2 = taus[c][2];
        CU_ASSERT_EQUAL_FATAL(snn_plast_tables(&pl), SB_OK);
        for (int w = 0; w < 3; w++) {
            int64_t k0 = pl.kzero[w];
            CU_ASSERT(snn_plast_trace(&pl, (snn_trace)w, 1.0, 0, k0 - 1) > 0);
            CU_ASSERT(snn_plast_trace(&pl, (snn_trace)w, 1.0, 0, k0) == 0);
            for (int64_t i = 0; i < 3 * SNN_DECAY_LO + 60000; i++) {
                /* every step of the first tables, then around the cutoff */
                int64_t k = i < 3 * SNN_DECAY_LO ? i : k0 - 30000 + (i - 3 * SNN_DECAY_LO);
                if (k < 0)
                    continue;
                for (double x = 1.0; x < 10; x += 6.5) {
                    double t = snn_plast_trace(&pl, (snn_trace)w, x, 7, 7 + k);
                    double e = snn_trace_decay(x, 7, 7 + k, pl.dt, taus[c][w]);
                    subnormal += fpclassify(t) == FP_SUBNORMAL;
                    /* exp()'s argument k·dt/τ is itself rounded */
                    double rel = 4 * DBL_EPSILON * (1 + (double)k * pl.dt / taus[c][w]);
                    wrong += fabs(t - e) > rel * e;
                }
            }
        }
        for (int w = 0; w < 3; w++)
            free(pl.decay[w]);
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(subnormal, 0);
}

/* Diehl & Cook's rule keeps one presynaptic step per arrival group: two
 * synapses share one exactly when they leave the same neuron with the same
 * delay; a rule with a trace value per synapse keeps a step per synapse. */
static void test_pre_groups(void)
{
    const char *net_text = JOB "[population.P]\nmodel = lif_coba\nn = 30\n"
                               "[population.Q]\nmodel = lif_coba\nn = 50\n"
                               "[projection.w]\npre = P\npost = Q\nrule = all_to_all\n"
                               "weight = uniform:0:1\ndelay = uniform:0:2\nplasticity = %s\n";
    char text[1024];
    snprintf(text, sizeof text, net_text, "diehl_cook");
    snn_net *net = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    const snn_proj *pr = snn_net_proj(net, 0);
    const snn_plasticity *pl = pr->plast;
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl->pre_group);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pr->delay);
    uint64_t groups = 0;
    int wrong = 0;
    for (uint64_t i = 0; i < pr->npre; i++) {
        uint64_t distinct = 0; /* rows are sorted by delay */
        for (uint64_t s = pr->row[i]; s < pr->row[i + 1]; s++) {
            distinct += s == pr->row[i] || pr->delay[s] != pr->delay[s - 1];
            for (uint64_t u = 0; u < pr->nsyn; u++) {
                int same = u >= pr->row[i] && u < pr->row[i + 1] && pr->delay[u] == pr->delay[s];
                wrong += same != (pl->pre_group[u] == pl->pre_group[s]);
            }
        }
        CU_ASSERT(distinct > 1); /* delays vary within each row */
        groups += distinct;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(pl->npre_step, groups);
    for (uint64_t s = 0; s < pr->nsyn; s++)
        wrong += pl->pre_group[s] >= pl->npre_step;
    CU_ASSERT_EQUAL(wrong, 0);
    snn_net_free(net);
    snprintf(text, sizeof text, net_text, "stdp");
    net = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    pr = snn_net_proj(net, 0);
    CU_ASSERT_PTR_NULL(pr->plast->pre_group);
    CU_ASSERT_EQUAL(pr->plast->npre_step, pr->nsyn);
    snn_net_free(net);
}

/* The recorded spikes of `name` are exactly want[0..n) ((step, id) keys). */
static void expect_spikes(const snn_net *net, const char *name, const uint64_t *want, size_t n)
{
    uint64_t got[16];
    CU_ASSERT_EQUAL_FATAL(snn_test_spikes(net, name, got, 16), n);
    for (size_t k = 0; k < n; k++)
        CU_ASSERT_EQUAL(got[k], want[k]);
}

/* A spike file drives a source: its spikes come out at the steps of the
 * file's times. */
static void test_spike_file_source(void)
{
    const char *path = sb_test_path("in_spikes.h5");
    h5_out f;
    CU_ASSERT_EQUAL_FATAL(h5_create(&f, path, MPI_COMM_SELF), SB_OK);
    const uint64_t ids[] = {3, 0, 3, 1};
    const double ts[] = {0.5, 1.0, 2.3, 7.0};
    CU_ASSERT_EQUAL_FATAL(sonata_write_header(f.id), SB_OK);
    CU_ASSERT_EQUAL_FATAL(sonata_write_spikes(f.id, "in", ids, ts, 4, SB_SORT_NONE, MPI_COMM_SELF), SB_OK);
    CU_ASSERT_EQUAL_FATAL(h5_commit(&f), SB_OK);
    char text[1024];
    snprintf(text, sizeof text,
             JOB "[population.P]\nmodel = lif_cuba\nn = 4\n"
                 "[stimulus.in]\ntype = spikes\nfile = %s\n"
                 "[projection.x]\npre = in\npost = P\nrule = one_to_one\nweight = 1\n"
                 "[record]\nspikes = in\n",
             path);
    snn_net *net = build(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL(snn_net_source(net, 0)->n, 4);
    CU_ASSERT_EQUAL_FATAL(snn_net_record_spikes(net, "in"), SB_OK);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 100), SB_OK);
    const uint64_t want[] = {(UINT64_C(5) << 32) | 3, UINT64_C(10) << 32,
                             (UINT64_C(23) << 32) | 3, (UINT64_C(70) << 32) | 1};
    expect_spikes(net, "in", want, 4);
    /* the source's spikes reached P: ge of neuron 2 (no input) is 0 */
    CU_ASSERT_EQUAL(snn_net_pop(net, 0)->var[SNN_VAR_GE][2], 0.0);
    CU_ASSERT(snn_net_pop(net, 0)->var[SNN_VAR_GE][1] > 0);
    snn_net_free(net);
}

/* A task replaces a spike list: spikes come out in the steps that hold
 * their times (counted from the step of the call), a source's second spike
 * in one step is merged away, and bad spikes fail leaving the list as it was. */
static void test_set_spikes(void)
{
    snn_net *net = build(JOB "[population.P]\nmodel = lif_cuba\nn = 4\n"
                             "[stimulus.in]\ntype = spikes\nn = 4\n"
                             "[projection.x]\npre = in\npost = P\nrule = one_to_one\nweight = 1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL_FATAL(snn_net_record_spikes(net, "in"), SB_OK);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 5), SB_OK); /* silent until set */
    const uint64_t ids[] = {3, 0, 3, 1, 1};
    const double ts[] = {0.5, 1.0, 2.3, 7.0, 7.04};
    int in = snn_net_find_source(net, "in");
    CU_ASSERT_EQUAL_FATAL(snn_net_set_spikes(net, in, ids, ts, 5), SB_OK);
    const uint64_t bad_id = 4;
    const double bad_t = -1;
    CU_ASSERT_NOT_EQUAL(snn_net_set_spikes(net, in, &bad_id, ts, 1), SB_OK);
    CU_ASSERT_NOT_EQUAL(snn_net_set_spikes(net, in, ids, &bad_t, 1), SB_OK);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(net, 100), SB_OK);
    const uint64_t want[] = {(UINT64_C(10) << 32) | 3, UINT64_C(15) << 32,
                             (UINT64_C(28) << 32) | 3, (UINT64_C(75) << 32) | 1};
    expect_spikes(net, "in", want, 4);
    CU_ASSERT(snn_net_pop(net, 0)->var[SNN_VAR_GE][1] > 0);
    snn_net_free(net);
}

/* A step current moves v only while it is on. */
static void test_step_current(void)
{
    snn_net *net = build(JOB "[population.P]\nmodel = lif_cuba\nn = 2\nv_rest = -70\nv_th = -50\n"
                             "v_reset = -70\ntau_m = 10\n"
                             "[stimulus.c]\ntype = current\ntarget = P\namplitude = 5\nstart = 10\n"
                             "stop = 20\nneurons = 1:2\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    double *v = trace(net, "P", 1, SNN_VAR_V, 300);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v[98], -70.0);                       /* t = 9.9 ms */
    double on = -70 + 5 * (1 - exp(-10.0 / 10));         /* after 10 ms on */
    CU_ASSERT_DOUBLE_EQUAL(v[199], on, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(v[299], -70 + (on + 70) * exp(-10.0 / 10), 1e-9);
    CU_ASSERT_EQUAL(snn_net_pop(net, 0)->var[SNN_VAR_V][0], -70.0);
    free(v);
    snn_net_free(net);
}

/* ------------------------------------------------------------------ errors */

static void expect_error(const char *text, const char *needle)
{
    snn_net *net = build(text);
    CU_ASSERT_PTR_NULL(net);
    if (!strstr(sb_last_error(), needle))
        printf("\n    error was: %s\n", sb_last_error());
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), needle));
    snn_net_free(net);
}

static void test_errors(void)
{
    const char *pops = JOB "[population.P]\nmodel = lif_cuba\nn = 5\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s[projection.x]\npre = P\npost = Z\nrule = all_to_all\n", pops);
    expect_error(buf, "post = 'Z' is not a population");
    snprintf(buf, sizeof buf, "%s[projection.x]\npre = Y\npost = P\nrule = all_to_all\n", pops);
    expect_error(buf, "pre = 'Y' is not a population or spike source");
    snprintf(buf, sizeof buf, "%s[projection.x]\npre = P\npost = P\nrule = all_to_all\ndelay = -1\n", pops);
    expect_error(buf, "delays must be >= 0");
    snprintf(buf, sizeof buf, "%s[projection.x]\npre = P\npost = P\nrule = all_to_all\ndelay = 0.05\n", pops);
    expect_error(buf, "shorter than dt");
    snprintf(buf, sizeof buf, "%s[projection.x]\npre = P\npost = P\nrule = all_to_all\nweight = uniform:2:1\n", pops);
    expect_error(buf, "needs a < b");
    snprintf(buf, sizeof buf, "%s[population.Q]\nmodel = lif_cuba\nn = 4\n[projection.x]\npre = Q\npost = P\n"
             "rule = all_but_self\n", pops);
    expect_error(buf, "same size (4 and 5)");
    snprintf(buf, sizeof buf, "%s[projection.x]\npre = P\npost = P\nrule = fixed_indegree\nindegree = 5\n", pops);
    expect_error(buf, "exceeds the 4 possible");
    expect_error(JOB "[population.P]\nmodel = lif_cuba\nn = 5\nv_reset = -40\nv_th = -50\n",
                 "must be below v_th");
    expect_error(JOB "[population.P]\nmodel = lif_coba\nn = 5\n"
                     "[projection.x]\npre = P\npost = P\nrule = all_to_all\nweight = -1\n",
                 "conductances must be >= 0");
    expect_error(JOB "[population.P]\nmodel = lif_cuba\nn = 5\n[stimulus.s]\ntype = spikes\n"
                     "file = /nonexistent/x.h5\n",
                 "[stimulus.s]");
    expect_error(JOB "[population.P]\nmodel = lif_cuba\nn = 5\n[stimulus.s]\ntype = spikes\n",
                 "needs file");
}

static void register_suites(void)
{
    h5_quiet();
    CU_pSuite s = CU_add_suite("snn neurons", NULL, NULL);
    CU_add_test(s, "lif_cuba relaxes as the analytic solution", test_cuba_relaxation);
    CU_add_test(s, "lif_cuba PSP equals the analytic kernel", test_cuba_psp);
    CU_add_test(s, "LIF rate for constant drive", test_lif_rate);
    CU_add_test(s, "lif_coba relaxes as the analytic solution", test_coba_relaxation);
    CU_add_test(s, "lif_coba: Euler and exponential Euler deliver their input's charge",
                test_coba_charge);
    CU_add_test(s, "lif_coba method = euler: exact Euler relaxation, dt checked", test_coba_euler);
    CU_add_test(s, "lif_coba t_lockout spaces spikes", test_coba_lockout);
    CU_add_test(s, "adaptive threshold", test_adaptive_threshold);
    CU_add_test(s, "idle stretch jumped = stepped", test_idle_jump);
    CU_add_test(s, "lif_coba: steady blocks skipped = stepped", test_steady_skip);
    CU_add_test(s, "lif_coba: decayed conductances reach 0, not a subnormal", test_conductance_flush);
    CU_add_test(s, "IF reset by subtraction counts", test_if_counts);
    CU_add_test(s, "vectorisable exp", test_fast_exp);
    s = CU_add_suite("snn plasticity", NULL, NULL);
    CU_add_test(s, "pair STDP against the closed form", test_stdp_pairs);
    CU_add_test(s, "Diehl & Cook rule", test_diehl_cook_rule);
    CU_add_test(s, "Diehl & Cook: arrivals at once = one at a time", test_diehl_cook_many);
    CU_add_test(s, "plasticity step order", test_step_order);
    CU_add_test(s, "power-law rule (Diehl & Cook's paper)", test_power_law_rule);
    CU_add_test(s, "end of a run of equal delays", test_delay_run_end);
    CU_add_test(s, "one presynaptic step per arrival group", test_pre_groups);
    CU_add_test(s, "lazy traces: tables, cutoff, no subnormals", test_trace_tables);
    s = CU_add_suite("snn network", NULL, NULL);
    CU_add_test(s, "Poisson source rate", test_poisson_rate);
    CU_add_test(s, "connection rules", test_connection_rules);
    CU_add_test(s, "weight normalisation", test_normalise);
    CU_add_test(s, "spike-file source", test_spike_file_source);
    CU_add_test(s, "spike list set by a task", test_set_spikes);
    CU_add_test(s, "step current", test_step_current);
    CU_add_test(s, "malformed sections", test_errors);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 1); }
