/*
 * Task `stdp-window`: the weight change of one synapse as a function of the
 * offset Δt = t_post − t_pre of a pre/post spike pair (the study's
 * Figure 3), for two rules:
 *
 *   pair     the engine's pair STDP rule (src/snn/plasticity_stdp.c): a
 *            network of IF neurons, pre neuron k and post neuron k one pair
 *            per offset, joined one-to-one by a plastic projection with
 *            `plasticity = stdp`; the weight each synapse ends with is the
 *            measured Δw.
 *   bengio   Bengio, Mesnard, Fischer, Zhang & Wu 2015, "STDP as presynaptic
 *            activity times rate of change of postsynaptic activity"
 *            (arXiv:1509.05936): ΔW_ij ∝ S_i · dV_j/dt, a presynaptic spike
 *            times the rate of change of the postsynaptic voltage. Only the
 *            abstract could be checked here; the rest of the recipe is ours
 *            (README, "STDP window"): a LIF neuron (the engine's lif_cuba
 *            model) is pushed toward firing by a drive that grows as
 *            exp(t/tau_rise), spikes at t_post and is reset; the slope a
 *            presynaptic spike at t_pre reads is dV/dt averaged over the time
 *            before it with exponential weights of time constant tau_avg (a
 *            causal estimate: the instantaneous slope is positive on both
 *            sides of an instantaneous reset). Pre before post reads the
 *            rising voltage (potentiation); pre shortly after post reads the
 *            reset (depression).
 *
 * Offsets are split over ranks in contiguous blocks; each rank simulates its
 * block on its own (MPI_COMM_SELF), and every offset is independent and
 * deterministic, so the file is the same for any rank count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/snn.h"
#include "spikebridge/tasks.h"

/* The postsynaptic LIF of the Bengio rule (mV): the project's usual values. */
#define V_REST -65.0
#define V_TH -50.0
#define V_RESET -65.0
/* The drive crosses threshold a little before its nominal time so that the
 * step it fires in does not hinge on rounding; the measured spike step is
 * what offsets are counted from. */
#define DRIVE_MARGIN 1.02

typedef struct {
    double from, to, step, dt, interval;
    int64_t pairs;
    int64_t o_from, o_step;  /* offsets in steps: o_from + i * o_step */
    uint64_t n;              /* offsets */
    int64_t seg;             /* steps per pair (interval / dt) */
    int64_t lead_pair;       /* steps from a segment's start to the pre spikes of the pair rule */
    int64_t lead_bengio;     /* ... to the post spike of the Bengio rule */
    double a_plus, a_minus, tau_pre, tau_post;
    double eta, tau_m, tau_rise, tau_avg;
} window;

static int whole_steps(double x, double dt, int64_t *steps)
{
    double s = x / dt;
    *steps = llround(s);
    return fabs(s - (double)*steps) < 1e-6 * fmax(1, fabs(s));
}

static sb_status read_window(const sb_config *c, window *w)
{
    memset(w, 0, sizeof *w);
    w->from = sb_cfg_real(c, "window", "from");
    w->to = sb_cfg_real(c, "window", "to");
    w->step = sb_cfg_real(c, "window", "step");
    w->dt = sb_cfg_real(c, "window", "dt");
    w->interval = sb_cfg_real(c, "window", "interval");
    w->pairs = sb_cfg_int(c, "window", "pairs");
    w->a_plus = sb_cfg_real(c, "window", "a_plus");
    w->a_minus = sb_cfg_real(c, "window", "a_minus");
    w->tau_pre = sb_cfg_real(c, "window", "tau_pre");
    w->tau_post = sb_cfg_real(c, "window", "tau_post");
    w->eta = sb_cfg_real(c, "window", "eta");
    w->tau_m = sb_cfg_real(c, "window", "tau_m");
    w->tau_rise = sb_cfg_real(c, "window", "tau_rise");
    w->tau_avg = sb_cfg_real(c, "window", "tau_avg");
    if (w->from > w->to)
        return sb_fail(SB_ECONFIG, "%s: window.from = %g ms is above window.to = %g ms: no offsets",
                       sb_cfg_where(c, "window", "from"), w->from, w->to);
    if (!whole_steps(w->from, w->dt, &w->o_from) || !whole_steps(w->step, w->dt, &w->o_step) ||
        w->o_step < 1)
        return sb_fail(SB_ECONFIG, "%s: window.from = %g ms and window.step = %g ms must be whole "
                       "multiples of window.dt = %g ms (step at least one dt)",
                       sb_cfg_where(c, "window", "step"), w->from, w->step, w->dt);
    double n = floor((w->to - w->from) / w->step + 1e-9) + 1;
    if (n > 1e6)
        return sb_fail(SB_ECONFIG, "%s: %g offsets are too many (at most 1e6)",
                       sb_cfg_where(c, "window", "step"), n);
    w->n = (uint64_t)n;
    /* pairs must not feel each other: every trace and the LIF must have
     * decayed (10 time constants) between the last spike of one pair and
     * the first of the next */
    double tau = fmax(fmax(w->tau_pre, w->tau_post), fmax(w->tau_m, fmax(w->tau_rise, w->tau_avg)));
    double last = w->from + (double)(w->n - 1) * w->step;
    double span = fmax(last, 0) - fmin(w->from, 0), need = span + 20 * tau;
    if (w->interval < need)
        return sb_fail(SB_ECONFIG, "%s: window.interval = %g ms is too short for offsets from %g to "
                       "%g ms with time constants up to %g ms: pairs would overlap (at least %g ms)",
                       sb_cfg_where(c, "window", "interval"), w->interval, w->from, last, tau, need);
    w->seg = llround(w->interval / w->dt);
    if (w->seg > 10000000)
        return sb_fail(SB_ECONFIG, "%s: window.interval / window.dt = %lld steps per pair is too many "
                       "(at most 1e7)", sb_cfg_where(c, "window", "interval"), (long long)w->seg);
    if ((double)w->seg * (double)w->pairs > 1e9)
        return sb_fail(SB_ECONFIG, "%s: window.pairs x window.interval / window.dt = %g steps is too "
                       "many (at most 1e9)", sb_cfg_where(c, "window", "pairs"),
                       (double)w->seg * (double)w->pairs);
    /* either way every spike of a pair lies in [10 tau, 10 tau + span] of its segment */
    w->lead_pair = llround((10 * tau - fmin(w->from, 0)) / w->dt);
    w->lead_bengio = llround((10 * tau + fmax(last, 0)) / w->dt);
    return SB_OK;
}

sb_status sb_task_stdp_window_check(const sb_job *job)
{
    window w;
    return read_window(job->cfg, &w);
}

static int64_t offset_steps(const window *w, uint64_t i) { return w->o_from + (int64_t)i * w->o_step; }

/* ------------------------------------------------------------------ pair rule */

/* Offsets [first, first + n) as IF neurons, which fire exactly when their
 * linearly rising v crosses v_th: every pre neuron at step lead_pair of each
 * segment, post neuron k at lead_pair + offset_k. v_th is reached mid-step, so
 * the step does not hinge on rounding, and reset by subtraction makes each
 * neuron fire again exactly one segment later (the next pair). u, the rise
 * per step, is a power of two (exact sums) that keeps v_th within the
 * key's range. Writes the weight of each synapse after all pairs to dw. */
static sb_status run_pairs(const sb_job *job, const window *w, uint64_t first, uint64_t n, double *dw)
{
    double u = exp2(floor(log2(5e5 / (double)w->seg)));
    double th = u * (double)w->seg;
    /* a pre spike adds its weight to post's v: it must stay far from the
     * half step of margin (the spike times are checked below as well) */
    if ((double)w->pairs * fmax(w->a_plus, w->a_minus) > 0.25 * u)
        return sb_fail(SB_ECONFIG, "%s: window.pairs x max(a_plus, a_minus) = %g would move the "
                       "spike times (at most %g)", sb_cfg_where(job->cfg, "window", "pairs"),
                       (double)w->pairs * fmax(w->a_plus, w->a_minus), 0.25 * u);
    double v_pre = th - ((double)w->lead_pair + 0.5) * u;
    double v_a = th - ((double)(w->lead_pair + offset_steps(w, first)) + 0.5) * u;
    double v_b = th - ((double)(w->lead_pair + offset_steps(w, first + n - 1)) + 0.5) * u;
    char vinit[128], text[2048];
    if (n > 1)
        snprintf(vinit, sizeof vinit, "linspace:%.17g:%.17g", v_a, v_b);
    else
        snprintf(vinit, sizeof vinit, "%.17g", v_a);
    snprintf(text, sizeof text,
             "[job]\ntask = simulate\n[simulate]\ndt = %.17g\n"
             "[population.pre]\nmodel = if\nn = %llu\nv_th = %.17g\ni_ext = %.17g\nv_init = %.17g\n"
             "[population.post]\nmodel = if\nn = %llu\nv_th = %.17g\ni_ext = %.17g\nv_init = %s\n"
             "[projection.pair]\npre = pre\npost = post\nrule = one_to_one\nweight = 0\ndelay = 0\n"
             "plasticity = stdp\nw_min = -1e9\nw_max = 1e9\na_plus = %.17g\na_minus = %.17g\n"
             "tau_pre = %.17g\ntau_post = %.17g\n",
             w->dt, (unsigned long long)n, th, u / w->dt, v_pre, (unsigned long long)n, th, u / w->dt,
             vinit, w->a_plus, w->a_minus, w->tau_pre, w->tau_post);
    sb_config *cfg = NULL;
    sb_status st = sb_config_parse(&cfg, sb_job_keys, sb_job_nkeys, "stdp-window pairs", text, 0, NULL);
    par_ctx self = {MPI_COMM_SELF, 0, 1, job->par->threads};
    snn_net *net = NULL;
    if (!st)
        st = snn_net_build(&net, cfg, &self);
    sb_config_free(cfg);
    if (!st)
        st = snn_net_record_spikes(net, "pre");
    if (!st)
        st = snn_net_record_spikes(net, "post");
    if (st) {
        snn_net_free(net);
        return st;
    }
    snn_net_set_progress(net, 0);
    sb_progress prog;
    sb_progress_begin(&prog, "stdp-window pairs", "pairs", (double)w->pairs, (double)w->pairs);
    for (int64_t p = 0; p < w->pairs && !st; p++) {
        st = snn_net_run(net, w->seg);
        sb_progress_update(&prog, (double)(p + 1));
    }
    if (!st)
        sb_progress_end(&prog);
    /* every neuron fired once per pair, exactly when it was meant to */
    const char *names[2] = {"pre", "post"};
    for (int g = 0; g < 2 && !st; g++) {
        const uint64_t *ids;
        const int64_t *steps;
        uint64_t m = snn_net_recorded(net, names[g], &ids, &steps);
        int ok = m == n * (uint64_t)w->pairs;
        for (uint64_t x = 0; x < m && ok; x++) {
            int64_t want = w->lead_pair + (g ? offset_steps(w, first + ids[x]) : 0);
            ok = (steps[x] - want) % w->seg == 0;
        }
        if (!ok)
            st = sb_fail(SB_EINVAL, "stdp-window: the %s neurons did not fire at the planned steps "
                         "(%llu spikes for %llu offsets x %lld pairs)", names[g],
                         (unsigned long long)m, (unsigned long long)n, (long long)w->pairs);
    }
    if (!st) {
        const snn_proj *pr = snn_net_proj(net, 0);
        for (uint64_t i = 0; i < n; i++)
            dw[i] = pr->w[pr->row[i]];
    }
    snn_net_free(net);
    return st;
}

/* ------------------------------------------------------------------ Bengio et al. 2015 */

/* The postsynaptic voltage of one pair, from the engine's lif_cuba model
 * stepped on its own with a current: I(t) = I0 exp((t − t_ref)/tau_rise)
 * with I0 chosen so that v would reach threshold at t_ref (step lead_bengio),
 * switched off once it spiked. Writes the exponentially averaged slope
 * (mV/ms) seen by a spike at step s to slope[s] (the voltage up to time
 * s·dt) and returns the step of the postsynaptic spike, or -1 if none. */
static int64_t bengio_trace(const window *w, double *slope)
{
    snn_pop pop;
    memset(&pop, 0, sizeof pop);
    snprintf(pop.name, sizeof pop.name, "bengio_post");
    pop.model = &snn_neuron_lif_cuba;
    pop.p = (snn_neuron_params){.v_rest = V_REST, .v_reset = V_RESET, .v_th = V_TH, .tau_m = w->tau_m,
                                .tau_e = 5, .tau_i = 10};
    pop.n = pop.nlocal = 1;
    pop.stride = 1;
    pop.has_stim = 1;
    double var[SNN_VAR_COUNT_] = {V_REST, 0, 0, 0}, istim = 0, refr = 0;
    for (int v = 0; v < SNN_VAR_COUNT_; v++)
        pop.var[v] = &var[v];
    pop.i_stim = &istim;
    pop.refr = &refr;
    pop.model->prepare(&pop, w->dt);
    /* the particular solution of tau_m dv/dt = -(v - v_rest) + I0 e^(t/tau_rise)
     * is I0 tau_rise / (tau_rise + tau_m) e^(t/tau_rise) */
    double i0 = DRIVE_MARGIN * (V_TH - V_REST) * (w->tau_rise + w->tau_m) / w->tau_rise;
    double a = exp(-w->dt / w->tau_avg), d = 0, v_prev = V_REST;
    int64_t spike = -1;
    for (int64_t s = 0; s < w->seg; s++) {
        slope[s] = d;
        double mid = ((double)(s - w->lead_bengio) + 0.5) * w->dt;
        istim = spike < 0 ? i0 * exp(mid / w->tau_rise) : 0;
        pop.now = s;
        uint32_t out[1];
        if (pop.model->step(&pop, 0, 1, NULL, NULL, out) && spike < 0)
            spike = s;
        d = a * d + (1 - a) * (var[SNN_VAR_V] - v_prev) / w->dt;
        v_prev = var[SNN_VAR_V];
    }
    return spike;
}

/* Δw = eta · pairs · slope at each offset's presynaptic spike (every pair
 * starts from rest after the last one's reset, so they are alike). */
static sb_status run_bengio(const window *w, uint64_t first, uint64_t n, double *dw)
{
    double *slope = SB_MALLOC((size_t)w->seg, sizeof *slope);
    if (!slope)
        return SB_ENOMEM;
    int64_t post = bengio_trace(w, slope);
    sb_status st = SB_OK;
    if (post < 0)
        st = sb_fail(SB_EINVAL, "stdp-window: the Bengio rule's LIF neuron did not fire");
    for (uint64_t i = 0; i < n && !st; i++) {
        int64_t pre = post - offset_steps(w, first + i);
        if (pre < 0 || pre >= w->seg)
            st = sb_fail(SB_EINVAL, "stdp-window: offset %g ms falls outside its pair's interval",
                         (double)offset_steps(w, first + i) * w->dt);
        else
            dw[i] = w->eta * (double)w->pairs * slope[pre];
    }
    free(slope);
    return st;
}

/* ------------------------------------------------------------------ fits */

typedef struct {
    double a, tau;  /* |Δw| ≈ a·exp(−|Δt|/tau) */
    int points;
} expfit;

/* Least squares of ln|dw| against |x| over the points of one side (sign of
 * x: +1 takes x ≥ 0, -1 takes x < 0) whose dw has sign `want` and is above
 * 1e-6 of that side's largest |dw|. */
static expfit fit_side(const double *x, const double *dw, uint64_t n, int side, int want)
{
    expfit f = {NAN, NAN, 0};
    double big = 0;
    for (uint64_t i = 0; i < n; i++)
        if ((side > 0 ? x[i] >= 0 : x[i] < 0) && dw[i] * want > big)
            big = dw[i] * want;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (!(side > 0 ? x[i] >= 0 : x[i] < 0) || !(dw[i] * want > 1e-6 * big))
            continue;
        double ax = fabs(x[i]), y = log(dw[i] * want);
        sx += ax;
        sy += y;
        sxx += ax * ax;
        sxy += ax * y;
        f.points++;
    }
    double det = f.points * sxx - sx * sx;
    if (f.points >= 2 && det > 0) {
        double slope = (f.points * sxy - sx * sy) / det;
        f.a = exp((sy - slope * sx) / f.points);
        f.tau = slope < 0 ? -1 / slope : INFINITY;
    }
    return f;
}

/* ------------------------------------------------------------------ the task */

/* Every rank gets every offset's values, in offset order. */
static sb_status gather_all(const double *local, int nlocal, double *all, MPI_Comm comm)
{
    int size;
    MPI_Comm_size(comm, &size);
    int *counts = SB_MALLOC((size_t)size, sizeof *counts), *displs = SB_MALLOC((size_t)size, sizeof *displs);
    sb_status st = counts && displs ? SB_OK : SB_ENOMEM;
    if (!st && MPI_Allgather(&nlocal, 1, MPI_INT, counts, 1, MPI_INT, comm) != MPI_SUCCESS)
        st = sb_fail(SB_EMPI, "stdp-window: MPI_Allgather failed");
    for (int r = 0; !st && r < size; r++)
        displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
    if (!st && MPI_Allgatherv(local, nlocal, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, comm) !=
                   MPI_SUCCESS)
        st = sb_fail(SB_EMPI, "stdp-window: MPI_Allgatherv failed");
    free(counts);
    free(displs);
    return st;
}

static sb_status write_attrs(hid_t file, const window *w, const expfit f[4], const double peak[4])
{
    hid_t g;
    sb_status st = h5_group(file, "window", &g);
    if (st)
        return st;
    const struct {
        const char *name;
        double value;
    } a[] = {
        {"dt_ms", w->dt}, {"pairs", (double)w->pairs}, {"interval_ms", w->interval},
        {"a_plus", w->a_plus}, {"a_minus", w->a_minus},
        {"tau_plus_ms", w->tau_pre}, {"tau_minus_ms", w->tau_post},
        {"fit_a_plus", f[0].a}, {"fit_tau_plus_ms", f[0].tau},
        {"fit_a_minus", f[1].a}, {"fit_tau_minus_ms", f[1].tau},
        {"bengio_eta", w->eta}, {"bengio_tau_m_ms", w->tau_m}, {"bengio_tau_rise_ms", w->tau_rise},
        {"bengio_tau_avg_ms", w->tau_avg}, {"bengio_v_rest_mv", V_REST}, {"bengio_v_th_mv", V_TH},
        {"bengio_v_reset_mv", V_RESET},
        {"bengio_fit_a_plus", f[2].a}, {"bengio_fit_tau_plus_ms", f[2].tau},
        {"bengio_fit_a_minus", f[3].a}, {"bengio_fit_tau_minus_ms", f[3].tau},
        {"bengio_peak_plus", peak[0]}, {"bengio_peak_plus_at_ms", peak[1]},
        {"bengio_peak_minus", peak[2]}, {"bengio_peak_minus_at_ms", peak[3]},
    };
    for (size_t i = 0; i < sizeof a / sizeof a[0] && !st; i++)
        st = h5_attr_f64(g, a[i].name, a[i].value);
    if (!st)
        st = h5_attr_str(g, "units", "offset_ms = t_post - t_pre (ms); dw_pair in weight units; "
                                     "dw_bengio = eta x dV/dt (mV/ms), both summed over the pairs; "
                                     "fit_* and bengio_peak_* are per pair");
    H5Gclose(g);
    return st;
}

sb_status sb_task_stdp_window_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    window w;
    sb_status st = read_window(job->cfg, &w);
    if (st)
        return st;
    uint64_t first, n;
    par_block(w.n, par->rank, par->size, &first, &n);
    sb_info("stdp-window: %llu offsets from %g to %g ms in steps of %g ms, dt %g ms, %lld pair(s) "
            "each %g ms apart; %d ranks x %d threads",
            (unsigned long long)w.n, w.from, (double)offset_steps(&w, w.n - 1) * w.dt, w.step, w.dt,
            (long long)w.pairs, w.interval, par->size, par->threads);
    double t0 = sb_now();
    double *x = SB_MALLOC(n + 1, sizeof *x), *pair = SB_MALLOC(n + 1, sizeof *pair);
    double *beng = SB_MALLOC(n + 1, sizeof *beng);
    double *all = SB_MALLOC(3 * w.n, sizeof *all);
    st = x && pair && beng && all ? SB_OK : SB_ENOMEM;
    for (uint64_t i = 0; i < n && !st; i++)
        x[i] = (double)offset_steps(&w, first + i) * w.dt;
    if (!st && n)
        st = run_pairs(job, &w, first, n, pair);
    if (!st && n)
        st = run_bengio(&w, first, n, beng);
    st = par_agree(st, par->comm);
    if (!st)
        st = gather_all(x, (int)n, all, par->comm);
    if (!st)
        st = gather_all(pair, (int)n, all + w.n, par->comm);
    if (!st)
        st = gather_all(beng, (int)n, all + 2 * w.n, par->comm);
    double sim_s = sb_now() - t0;
    expfit f[4];
    double peak[4] = {0, NAN, 0, NAN};
    if (!st) {
        /* fits and peaks are per pair, to compare with the rule's parameters */
        for (uint64_t i = w.n; i < 3 * w.n; i++)
            all[i] /= (double)w.pairs;
        const double *ax = all, *ap = all + w.n, *ab = all + 2 * w.n;
        f[0] = fit_side(ax, ap, w.n, +1, +1);
        f[1] = fit_side(ax, ap, w.n, -1, -1);
        f[2] = fit_side(ax, ab, w.n, +1, +1);
        f[3] = fit_side(ax, ab, w.n, -1, -1);
        for (uint64_t i = 0; i < w.n; i++) {
            if (ab[i] > peak[0]) {
                peak[0] = ab[i];
                peak[1] = ax[i];
            }
            if (ab[i] < peak[2]) {
                peak[2] = ab[i];
                peak[3] = ax[i];
            }
        }
        sb_info("stdp-window: pair rule:   A+ %.6g (rule %.6g), tau+ %.4g ms (rule tau_pre %.4g); "
                "A- %.6g (rule %.6g), tau- %.4g ms (rule tau_post %.4g)",
                f[0].a, w.a_plus, f[0].tau, w.tau_pre, f[1].a, w.a_minus, f[1].tau, w.tau_post);
        sb_info("stdp-window: bengio rule: largest +%.4g at %+g ms, largest %.4g at %+g ms; "
                "exponential fits: + side %.4g x exp(-dt/%.4g ms), - side -%.4g x exp(dt/%.4g ms)",
                peak[0], peak[1], peak[2], peak[3], f[2].a, f[2].tau, f[3].a, f[3].tau);
    }
    char out[4096];
    sb_job_output(job, out, sizeof out);
    if (!st) {
        h5_out file;
        st = h5_create(&file, out, par->comm);
        if (!st) {
            st = h5_attr_str(file.id, "task", "stdp-window");
            if (!st)
                st = h5_write_rows(file.id, "window/offset_ms", H5T_NATIVE_DOUBLE, 0, NULL, x, n, par->comm);
            if (!st)
                st = h5_write_rows(file.id, "window/dw_pair", H5T_NATIVE_DOUBLE, 0, NULL, pair, n, par->comm);
            if (!st)
                st = h5_write_rows(file.id, "window/dw_bengio", H5T_NATIVE_DOUBLE, 0, NULL, beng, n,
                                   par->comm);
            if (!st)
                st = write_attrs(file.id, &w, f, peak);
            st = sb_job_finish_output(job, &file, st);
        }
    }
    if (!st)
        sb_info("stdp-window: %.3f s simulating; wrote %s", sim_s, out);
    free(x);
    free(pair);
    free(beng);
    free(all);
    return st;
}
