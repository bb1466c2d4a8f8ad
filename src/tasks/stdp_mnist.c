/*
 * Task `stdp-mnist`: the network of Diehl & Cook 2015 learning MNIST without
 * labels, built from the general engine (src/snn/) by writing its sections
 * (784 Poisson inputs, N conductance-based excitatory neurons with an
 * adaptive threshold, N inhibitory ones, plastic input weights with the
 * Diehl & Cook rule (stdp.rule: their code's triplet rule, or the power-law
 * rule of their paper's text; within a step the excitatory spikes act before
 * the step's input arrivals and see the input traces of the step before, as
 * Brian 1's C STDP ran their code: stdp.step_order), one-to-one excitation
 * of the inhibitory neurons and lateral inhibition of every other
 * excitatory neuron). What is specific
 * to the experiment lives here:
 *
 *   training    stdp.epochs passes over data.train images, online: the
 *               input weights of each neuron are normalised to sum 78, the
 *               image is shown for stdp.present ms at rate pixel/8 ×
 *               intensity Hz, then stdp.rest ms of silence (stepped until
 *               the last input has arrived and decayed, then jumped in
 *               closed form: snn_net_idle); fewer than
 *               stdp.min_spikes excitatory spikes → intensity + 1 and again;
 *               the learning curve scores every window of
 *               stdp.monitor_every images by the labels of the one before
 *   labelling   the frozen network (no plasticity, θ fixed) on the training
 *               images; each neuron takes the class with its highest mean
 *               response
 *   evaluation  the frozen network on data.test images, classified by the
 *               class whose neurons fire most on average ("mean rate", the
 *               vote of the authors' evaluation script), and by responses
 *               weighted with each neuron's class profile ("proportion", as
 *               a Brian2 port of their code adds it)
 *
 * Inputs (input.encoder): the authors' Poisson rates, or precisely timed
 * spikes from an encoder of src/data/encode.c laid over the presentation
 * window — `latency` (one spike per pixel, 784 inputs) or `integrate` (the
 * study's code: encode.neurons integrating neurons, each firing at the
 * exact times its summed currents cross encode.v_th) — handed to a spike
 * list source for each showing (snn_net_set_spikes). What the protocol's
 * pieces mean for them is said where they act: normalisation in build(),
 * the intensity retry in timed_input().
 *
 * Model-parallel: neurons and their input weights are spread over the ranks
 * by the engine; the inputs are generated on every rank from streams keyed
 * by input pixel (Poisson) or by the image alone (timed encoders: no random
 * numbers), so results are the same for any rank count. Every phase
 * is checkpointed every stdp.checkpoint_every images, at its end and when a
 * stop is requested (SIGUSR1/SIGTERM), with what labelling and evaluation
 * have summed so far: a rerun goes on from the image where it stopped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spikebridge/snn.h"
#include "spikebridge/tasks.h"

#define PIXELS 784
#define CLASSES 10
#define UNASSIGNED (-1) /* the label of a neuron silent during labelling */

typedef struct {
    int neurons, epochs, min_spikes, record_images;
    double intensity, present, rest, dt;
    uint64_t ntrain, nlabel, ntest, ckpt_every;
    uint64_t monitor_every;  /* stdp.monitor_every: training images per window of the learning curve */
    int label_test;          /* stdp.label_set = test: label with the test images */
    const char *rule;        /* stdp.rule: plasticity of the input weights */
    const char *step_order;  /* stdp.step_order: input arrivals or excitatory spikes first */
    const char *dir;
    sb_encoder_kind encoder; /* input.encoder */
    int inputs;              /* input sources: pixels, or the integrate encoder's neurons */
    sb_encoder_params enc;   /* latency, integrate: over the window stdp.present */
    double w_min, w_max;     /* integrate: encoder weights, uniform (encode.w_min, w_max) */
} recipe;

static sb_status read_recipe(const sb_job *job, recipe *r)
{
    const sb_config *c = job->cfg;
    r->neurons = (int)sb_cfg_int(c, "stdp", "neurons");
    r->epochs = (int)sb_cfg_int(c, "stdp", "epochs");
    r->min_spikes = (int)sb_cfg_int(c, "stdp", "min_spikes");
    r->record_images = (int)sb_cfg_int(c, "stdp", "record_images");
    r->intensity = sb_cfg_real(c, "stdp", "intensity");
    r->present = sb_cfg_real(c, "stdp", "present");
    r->rest = sb_cfg_real(c, "stdp", "rest");
    r->dt = sb_cfg_real(c, "stdp", "dt");
    r->ckpt_every = (uint64_t)sb_cfg_int(c, "stdp", "checkpoint_every");
    r->monitor_every = (uint64_t)sb_cfg_int(c, "stdp", "monitor_every");
    r->dir = sb_cfg_str(c, "data", "dir");
    r->rule = sb_cfg_str(c, "stdp", "rule");
    r->step_order = sb_cfg_str(c, "stdp", "step_order");
    const char *name = sb_cfg_str(c, "input", "encoder");
    r->encoder = SB_ENC_POISSON;
    for (int k = 0; k < SB_ENC_COUNT_; k++)
        if (strcmp(name, sb_encoder_name((sb_encoder_kind)k)) == 0)
            r->encoder = (sb_encoder_kind)k;
    r->enc = (sb_encoder_params){
        .seed = (uint32_t)sb_cfg_int(c, "job", "seed"),
        .pixels = PIXELS,
        .duration_ms = r->present,
        .dt_ms = r->dt,
        .threshold = (uint8_t)sb_cfg_int(c, "encode", "threshold"),
        .neurons = (uint32_t)sb_cfg_int(c, "encode", "neurons"),
        .v_th = sb_cfg_real(c, "encode", "v_th"),
    };
    r->w_min = sb_cfg_real(c, "encode", "w_min");
    r->w_max = sb_cfg_real(c, "encode", "w_max");
    r->inputs = r->encoder == SB_ENC_INTEGRATE ? (int)r->enc.neurons : PIXELS;
    if (r->encoder == SB_ENC_INTEGRATE && r->w_max < r->w_min)
        return sb_fail(SB_ECONFIG, "%s: encode.w_max = %g is below encode.w_min = %g",
                       sb_cfg_where(c, "encode", "w_max"), r->w_max, r->w_min);
    if (r->encoder == SB_ENC_INTEGRATE && *sb_cfg_str(c, "encode", "weights_file"))
        return sb_fail(SB_ECONFIG, "%s: stdp-mnist draws the integrate encoder's weights from "
                       "the seed; encode.weights_file is not read here",
                       sb_cfg_where(c, "encode", "weights_file"));
    sb_status st = sb_count_split(c, r->dir, SB_SPLIT_TRAIN, &r->ntrain);
    if (!st)
        st = sb_count_split(c, r->dir, SB_SPLIT_TEST, &r->ntest);
    /* The paper labels with the training set; the authors' published
     * evaluation script loads the same test-set responses as "training" and
     * as "testing" activity, so it labels the neurons with the images it
     * then scores. stdp.label_set = test shows that protocol's numbers (in a
     * second pass over the test images: frozen network, fresh spikes). */
    r->label_test = strcmp(sb_cfg_str(c, "stdp", "label_set"), "test") == 0;
    uint64_t nl = (uint64_t)sb_cfg_int(c, "stdp", "label_images");
    uint64_t nset = r->label_test ? r->ntest : r->ntrain;
    r->nlabel = nl && nl < nset ? nl : nset;
    return st;
}

sb_status sb_task_stdp_mnist_check(const sb_job *job)
{
    recipe r;
    return read_recipe(job, &r);
}

/* The network in the engine's own terms (DESIGN.md's parameters). Timed
 * inputs are a spike list source, set for each showing. The input weights
 * of each neuron sum to 78 for 784 inputs, as in the paper: 78 x inputs /
 * 784 for other input counts, so that the mean weight of an input, and the
 * drive of an input spike at the start, stay the paper's. */
static sb_status build(const sb_job *job, const recipe *r, snn_net **net)
{
    char text[4096];
    const char *method = sb_cfg_str(job->cfg, "stdp", "method");
    const char *source = r->encoder == SB_ENC_POISSON ? "type = poisson\nrate = 0" : "type = spikes";
    snprintf(text, sizeof text,
             "[job]\ntask = simulate\nseed = %lld\n[simulate]\ndt = %.17g\n"
             "[stimulus.input]\n%s\nn = %d\n"
             "[population.exc]\nmodel = lif_coba\nmethod = %s\nn = %d\nv_rest = -65\nv_reset = -65\nv_th = -72\n"
             "tau_m = 100\ntau_e = 1\ntau_i = 2\nt_ref = %.17g\nt_lockout = %.17g\ne_exc = 0\ne_inh = -100\n"
             "theta_plus = 0.05\ntau_theta = 1e7\ntheta_init = 20\nv_init = -105\n"
             "[population.inh]\nmodel = lif_coba\nmethod = %s\nn = %d\nv_rest = -60\nv_reset = -45\nv_th = -40\n"
             "tau_m = 10\ntau_e = 1\ntau_i = 2\nt_ref = 2\ne_exc = 0\ne_inh = -85\nv_init = -100\n"
             "[projection.input_exc]\npre = input\npost = exc\nrule = all_to_all\n"
             "weight = uniform:0.003:0.303\ndelay = uniform:0:10\nplasticity = %s\nstep_order = %s\n"
             "w_min = 0\nw_max = 1\ntau_pre = 20\ntau_post = 20\ntau_post2 = 40\n"
             "nu_pre = %.17g\nnu_post = %.17g\nx_tar = %.17g\nmu = %.17g\nnormalise = %.17g\n"
             "[projection.exc_inh]\npre = exc\npost = inh\nrule = one_to_one\nweight = 10.4\n"
             "[projection.inh_exc]\npre = inh\npost = exc\nrule = all_but_self\ntarget = inh\n"
             "weight = 17\n",
             sb_cfg_int(job->cfg, "job", "seed"), r->dt, source, r->inputs, method, r->neurons,
             sb_cfg_real(job->cfg, "stdp", "t_ref"), sb_cfg_real(job->cfg, "stdp", "t_lockout"),
             method, r->neurons,
             r->rule, r->step_order,
             sb_cfg_real(job->cfg, "stdp", "nu_pre"), sb_cfg_real(job->cfg, "stdp", "nu_post"),
             sb_cfg_real(job->cfg, "stdp", "x_tar"), sb_cfg_real(job->cfg, "stdp", "mu"),
             78.0 * r->inputs / PIXELS);
    sb_config *cfg = NULL;
    sb_status st = sb_config_parse(&cfg, sb_job_keys, sb_job_nkeys, "stdp-mnist network", text, 0, NULL);
    if (!st)
        st = snn_net_build(net, cfg, job->par);
    sb_config_free(cfg);
    if (!st)
        st = snn_net_record_spikes(*net, "exc");
    return st;
}

/* What a phase needs from the network. */
typedef struct {
    snn_net *net;
    MPI_Comm comm;
    snn_pop *exc;
    int input, plastic;
    const recipe *r;
    const char *ckdir, *tag;
    double *rates;
    sb_spikes spikes, timed; /* an image's encoded spikes, and as shown (timed encoders) */
    float *enc_w;           /* integrate: encoder weights [inputs x 784] */
    uint32_t *counts;       /* per local excitatory neuron, this image */
    int64_t present_steps, rest_steps;
    uint64_t keep;          /* recorded spikes to keep (first test images) */
    double *resp;           /* per local neuron: mean response per class */
    int64_t *labels;        /* per local neuron: its class */
    double members[CLASSES]; /* neurons per class, all ranks */
    size_t mon;             /* the learning curve's state in the checkpointed counters */
    uint64_t windows;       /* training windows of stdp.monitor_every images */
    double mon_members[CLASSES]; /* neurons per class by the last window's labels */
} runner;

static int argmax(const double *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* The timed input of image `image` for showing number `tries` (1 first),
 * from the current step on. A retry must drive the network harder, as the
 * Poisson input's intensity + 1 does (rates x intensity / stdp.intensity),
 * without changing what the spikes say:
 *   integrate  the currents are scaled as the rates are (threshold
 *              encode.v_th x stdp.intensity / intensity): more crossings,
 *              each still at the exact time it happens;
 *   latency    a pixel has one spike to give, and its time is the message,
 *              so try r turns each spike into a burst of r spikes one time
 *              step apart, starting at the pixel's latency (bursts cut at
 *              the end of the window). */
static sb_status timed_input(runner *ru, const uint8_t *img, uint64_t image, double intensity,
                             int tries)
{
    const recipe *r = ru->r;
    sb_encoder_params p = r->enc;
    p.weights = ru->enc_w;
    p.v_th = r->enc.v_th * r->intensity / intensity;
    sb_spikes_clear(&ru->spikes);
    sb_status st = sb_encode_image(r->encoder, &p, img, image, 0, &ru->spikes);
    const sb_spikes *in = &ru->spikes;
    if (!st && r->encoder == SB_ENC_LATENCY && tries > 1) {
        sb_spikes_clear(&ru->timed);
        for (uint64_t k = 0; !st && k < in->n; k++)
            for (int b = 0; !st && b < tries && in->t[k] + b * r->dt < r->present; b++)
                st = sb_spikes_push(&ru->timed, in->ids[k], in->t[k] + b * r->dt);
        in = &ru->timed;
    }
    return st ? st : snn_net_set_spikes(ru->net, ru->input, in->ids, in->t, in->n);
}

/* Shows image `image` until it makes enough spikes; counts each local
 * neuron's spikes of the successful presentation. Collective. */
static sb_status show(runner *ru, const uint8_t *img, uint64_t image, int learn, int *tries)
{
    const recipe *r = ru->r;
    double intensity = r->intensity;
    for (*tries = 1;; (*tries)++) {
        if (learn)
            snn_proj_normalise(ru->net, ru->plastic);
        snn_net_forget_recorded(ru->net, "exc", ru->keep);
        sb_status st = SB_OK;
        if (r->encoder == SB_ENC_POISSON) {
            for (int p = 0; p < PIXELS; p++)
                ru->rates[p] = img[p] / 8.0 * intensity;
            snn_net_set_rates(ru->net, ru->input, ru->rates, 0, PIXELS);
        } else {
            st = par_agree(timed_input(ru, img, image, intensity, *tries), ru->comm);
        }
        if (!st)
            st = snn_net_run(ru->net, ru->present_steps);
        if (st)
            return st;
        const uint64_t *ids;
        const int64_t *steps;
        uint64_t n = snn_net_recorded(ru->net, "exc", &ids, &steps);
        memset(ru->counts, 0, ru->exc->nlocal * sizeof *ru->counts);
        for (uint64_t k = ru->keep; k < n; k++)
            ru->counts[snn_pop_local(ru->exc, ids[k])]++;
        uint64_t total = par_sum_u64(n - ru->keep, ru->comm);
        if (r->encoder == SB_ENC_POISSON) { /* timed inputs end inside the window */
            memset(ru->rates, 0, PIXELS * sizeof *ru->rates);
            snn_net_set_rates(ru->net, ru->input, ru->rates, 0, PIXELS);
        }
        if ((st = snn_net_idle(ru->net, ru->rest_steps)))
            return st;
        if (total >= (uint64_t)r->min_spikes || *tries >= 20)
            return SB_OK;
        intensity += 1;
    }
}

static void freeze(runner *ru, int frozen)
{
    ru->exc->theta_frozen = frozen;
    snn_net_proj(ru->net, ru->plastic)->plast->frozen = frozen;
}

/* Task state kept in every checkpoint (int64 counters, snn_net_set_user):
 * the phase under way, the epoch and the next image of that phase, and
 * what labelling and evaluation have summed so far; then per local neuron
 * its spike count per class (labelling) and per test image the two
 * predictions (evaluation). */
enum { PH_TRAIN, PH_LABEL, PH_TEST, PH_DONE };
enum {
    U_PHASE, U_EPOCH, U_IMAGE, U_RIGHT_MEAN, U_RIGHT_PROP, U_KEEP,
    U_PER,                      /* [CLASSES] labelling images per class */
    U_CONF = U_PER + CLASSES,   /* [CLASSES x CLASSES] true x mean-rate prediction */
    U_RESP = U_CONF + CLASSES * CLASSES /* then [nlocal x CLASSES], then [ntest x 2], then
                                           the learning curve's (runner.mon, M_*) */
};
/* The learning curve's counters: whether the neurons have labels from a
 * window yet, the current window's right answers and images per class,
 * then [nlocal] labels, [nlocal x CLASSES] responses of the current window
 * and [windows] right answers per window. */
enum { M_LABELLED, M_RIGHT, M_PER, M_LABELS = M_PER + CLASSES };

/* This run's share of a phase: images, and showings of them (intensity
 * retries included: the cost of an encoder that drives the network weakly). */
typedef struct {
    uint64_t images, showings;
} tally;

/* One pass over ds from image user[U_IMAGE] on; after(i) takes in the
 * response to image i. Checkpoints every stdp.checkpoint_every images and,
 * when a stop is requested, checkpoints and returns SB_EINTERRUPTED. prog
 * counts the images this run shows in the whole phase (all epochs of
 * training, so that its ETA is the phase's), as shown->images does. */
typedef void (*after_image)(runner *ru, const sb_dataset *ds, uint64_t i, int64_t *user);

static sb_status pass(const sb_job *job, runner *ru, const sb_dataset *ds, int64_t *user,
                      sb_progress *prog, int learn, after_image after, tally *shown)
{
    const recipe *r = ru->r;
    sb_status st = SB_OK;
    while (!st && (uint64_t)user[U_IMAGE] < ds->n) {
        uint64_t i = (uint64_t)user[U_IMAGE];
        int tries;
        if ((st = show(ru, ds->pixels + i * PIXELS, ds->first + i, learn, &tries)))
            break;
        if (after)
            after(ru, ds, i, user);
        user[U_IMAGE]++;
        shown->images++;
        shown->showings += (uint64_t)tries;
        sb_progress_update(prog, (double)shown->images);
        int any = par_any(sb_stop_requested(), job->par->comm);
        int due = r->ckpt_every && (uint64_t)user[U_IMAGE] % r->ckpt_every == 0;
        if (any || due)
            st = snn_net_save(ru->net, ru->ckdir, ru->tag);
        if (!st && any) {
            sb_info("stdp-mnist: stopped in %s at image %lld; checkpoint in %s", prog->label,
                    (long long)user[U_IMAGE], ru->ckdir);
            st = SB_EINTERRUPTED;
        }
    }
    return st;
}

/* Labelling or evaluation: one pass over ds. */
static sb_status frozen_pass(const sb_job *job, runner *ru, const sb_dataset *ds, int64_t *user,
                             const char *label, after_image after, tally *shown)
{
    double left = (double)(ds->n - (uint64_t)user[U_IMAGE]);
    sb_progress prog;
    sb_progress_begin(&prog, label, "images", left, left);
    sb_status st = pass(job, ru, ds, user, &prog, 0, after, shown);
    if (!st)
        sb_progress_end(&prog);
    return st;
}

/* Ends a phase: the next one starts at its first image, from a checkpoint
 * if the job stops later. */
static sb_status next_phase(runner *ru, int64_t *user, int phase)
{
    user[U_PHASE] = phase;
    user[U_IMAGE] = 0;
    return snn_net_save(ru->net, ru->ckdir, ru->tag);
}

/* Adds the image just shown, of class c, to the images per class and to
 * each local neuron's spikes per class [nlocal x CLASSES]. */
static void add_response(const runner *ru, int c, int64_t *per, int64_t *sums)
{
    per[c]++;
    for (size_t k = 0; k < ru->exc->nlocal; k++)
        sums[k * CLASSES + (size_t)c] += ru->counts[k];
}

/* Labelling: spike counts of each local neuron per class. */
static void label_image(runner *ru, const sb_dataset *ds, uint64_t i, int64_t *user)
{
    add_response(ru, ds->labels[i], user + U_PER, user + U_RESP);
}

/* Each local neuron's mean response per class, and its label: the class it
 * fired for most, or UNASSIGNED if it never fired while labelling (it has
 * no class, so it must not dilute class 0's mean rate). */
static void responses(const runner *ru, const int64_t *per, const int64_t *sums, double *resp,
                      int64_t *labels)
{
    for (size_t k = 0; k < ru->exc->nlocal; k++) {
        for (int c = 0; c < CLASSES; c++)
            resp[k * CLASSES + (size_t)c] =
                per[c] ? (double)sums[k * CLASSES + (size_t)c] / (double)per[c] : 0.0;
        int best = argmax(resp + k * CLASSES, CLASSES);
        labels[k] = resp[k * CLASSES + (size_t)best] > 0 ? best : UNASSIGNED;
    }
}

/* Neurons per class on all ranks (collective); returns those without one. */
static double count_members(const runner *ru, const int64_t *labels, double *members)
{
    double local[CLASSES + 1] = {0}, all[CLASSES + 1];
    for (size_t k = 0; k < ru->exc->nlocal; k++)
        local[labels[k] == UNASSIGNED ? CLASSES : labels[k]] += 1;
    MPI_Allreduce(local, all, CLASSES + 1, MPI_DOUBLE, MPI_SUM, ru->comm);
    memcpy(members, all, CLASSES * sizeof *members);
    return all[CLASSES];
}

/* The class of the image whose spikes ru->counts holds (collective), by
 * mean rate: the class whose neurons fired most on average (a class with no
 * neurons never wins). With resp, also by proportion (*pp): each neuron's
 * spikes shared among the classes in the proportions of its responses. */
static int classify(const runner *ru, const int64_t *labels, const double *members,
                    const double *resp, int *pp)
{
    double part[2 * CLASSES] = {0}, sum[2 * CLASSES];
    for (size_t k = 0; k < ru->exc->nlocal; k++) {
        if (!ru->counts[k] || labels[k] == UNASSIGNED)
            continue;
        part[labels[k]] += ru->counts[k];
        const double *rk = resp ? resp + k * CLASSES : NULL;
        double norm = 0;
        for (int c = 0; rk && c < CLASSES; c++)
            norm += rk[c];
        for (int c = 0; rk && norm > 0 && c < CLASSES; c++)
            part[CLASSES + c] += ru->counts[k] * rk[c] / norm;
    }
    MPI_Allreduce(part, sum, 2 * CLASSES, MPI_DOUBLE, MPI_SUM, ru->comm);
    for (int c = 0; c < CLASSES; c++)
        sum[c] = members[c] > 0 ? sum[c] / members[c] : -1;
    if (pp)
        *pp = argmax(sum + CLASSES, CLASSES);
    return argmax(sum, CLASSES);
}

/* The learning curve, as the authors' code prints its "performance" while
 * training: every stdp.monitor_every training images the neurons are
 * labelled by their responses to those images, and each image of the next
 * window is classified (mean rate) by those labels from the spikes of the
 * showing that learns it. Collective at the end of a window. */
static void monitor_image(runner *ru, const sb_dataset *ds, uint64_t i, int64_t *user)
{
    const uint64_t every = ru->r->monitor_every;
    if (!every)
        return;
    size_t nl = ru->exc->nlocal;
    int64_t *m = user + ru->mon, *labels = m + M_LABELS, *sums = labels + nl;
    int64_t *right = sums + nl * CLASSES;
    int y = ds->labels[i];
    if (m[M_LABELLED])
        m[M_RIGHT] += classify(ru, labels, ru->mon_members, NULL, NULL) == y;
    add_response(ru, y, m + M_PER, sums);
    uint64_t seen = (uint64_t)user[U_EPOCH] * ds->n + i + 1;
    if (seen % every)
        return;
    if (m[M_LABELLED]) {
        uint64_t w = seen / every - 1; /* this window; window 0 had no labels */
        right[w - 1] = m[M_RIGHT];
        sb_info("stdp-mnist: training images %llu-%llu: %.2f %% right by the labels of the %llu "
                "before (mean rate)",
                (unsigned long long)(seen - every + 1), (unsigned long long)seen,
                100.0 * (double)m[M_RIGHT] / (double)every, (unsigned long long)every);
    }
    responses(ru, m + M_PER, sums, ru->resp, labels);
    count_members(ru, labels, ru->mon_members);
    m[M_LABELLED] = 1;
    m[M_RIGHT] = 0;
    memset(m + M_PER, 0, CLASSES * sizeof *m);
    memset(sums, 0, nl * CLASSES * sizeof *sums);
}

static sb_status train(const sb_job *job, runner *ru, const sb_dataset *ds, int64_t *user,
                       tally *shown)
{
    const int epochs = ru->r->epochs;
    freeze(ru, 0);
    const int64_t *m = user + ru->mon;
    if (ru->r->monitor_every && m[M_LABELLED]) /* resumed: the labels' class sizes */
        count_members(ru, m + M_LABELS, ru->mon_members);
    char label[64];
    snprintf(label, sizeof label, "stdp training, %d epochs", epochs);
    double left = (double)(epochs - user[U_EPOCH]) * (double)ds->n - (double)user[U_IMAGE];
    sb_progress prog;
    sb_progress_begin(&prog, label, "images", left, left);
    sb_status st = SB_OK;
    for (; !st && user[U_EPOCH] < epochs; user[U_EPOCH]++, user[U_IMAGE] = 0) {
        snprintf(label, sizeof label, "stdp train epoch %lld/%d", (long long)user[U_EPOCH] + 1,
                 epochs);
        st = pass(job, ru, ds, user, &prog, 1, monitor_image, shown);
    }
    if (st)
        return st;
    snprintf(label, sizeof label, "stdp training, %d epochs", epochs);
    sb_progress_end(&prog);
    return next_phase(ru, user, PH_LABEL);
}

/* Evaluation of test image i by both voting schemes (collective). */
static void test_image(runner *ru, const sb_dataset *ds, uint64_t i, int64_t *user)
{
    size_t nl = ru->exc->nlocal;
    if (i < (uint64_t)ru->r->record_images) { /* keep this image's spikes for the file */
        const uint64_t *ids;
        const int64_t *steps;
        ru->keep = snn_net_recorded(ru->net, "exc", &ids, &steps);
        user[U_KEEP] = (int64_t)ru->keep;
    }
    int pp, pm = classify(ru, ru->labels, ru->members, ru->resp, &pp), y = ds->labels[i];
    int64_t *pred = user + U_RESP + nl * CLASSES + 2 * i;
    pred[0] = pm;
    pred[1] = pp;
    user[U_RIGHT_MEAN] += pm == y;
    user[U_RIGHT_PROP] += pp == y;
    user[U_CONF + y * CLASSES + pm]++;
}

typedef struct {
    uint8_t *pred_mean, *pred_prop;
    double acc_mean, acc_prop;
    int64_t confusion[CLASSES * CLASSES];
    double *curve; /* training accuracy of windows 1 .. windows - 1 */
} scores;

static void score(const runner *ru, const sb_dataset *ds, const int64_t *user, scores *sc)
{
    const int64_t *pred = user + U_RESP + ru->exc->nlocal * CLASSES;
    for (uint64_t i = 0; i < ds->n; i++) {
        sc->pred_mean[i] = (uint8_t)pred[2 * i];
        sc->pred_prop[i] = (uint8_t)pred[2 * i + 1];
    }
    memcpy(sc->confusion, user + U_CONF, sizeof sc->confusion);
    sc->acc_mean = ds->n ? (double)user[U_RIGHT_MEAN] / (double)ds->n : 0;
    sc->acc_prop = ds->n ? (double)user[U_RIGHT_PROP] / (double)ds->n : 0;
    size_t nl = ru->exc->nlocal;
    const int64_t *right = user + ru->mon + M_LABELS + nl * (1 + CLASSES);
    for (uint64_t w = 1; w < ru->windows; w++)
        sc->curve[w - 1] = (double)right[w - 1] / (double)ru->r->monitor_every;
}

/* Rank 0 gets every neuron's input weights [N × inputs], θ and label, in
 * neuron order. */
typedef struct {
    double *w, *theta, *label;
} learned;

static sb_status gather_learned(runner *ru, const int64_t *labels, MPI_Comm comm, learned *out)
{
    snn_proj *pr = snn_net_proj(ru->net, ru->plastic);
    size_t nl = ru->exc->nlocal, K = (size_t)ru->r->inputs;
    double *w = SB_MALLOC(nl * K + 1, sizeof *w), *meta = SB_MALLOC(3 * nl + 1, sizeof *meta);
    sb_status st = par_agree(w && meta ? SB_OK : SB_ENOMEM, comm);
    for (size_t k = 0; !st && k < nl; k++) {
        for (uint64_t c = pr->col[k], p = 0; c < pr->col[k + 1]; c++, p++)
            w[k * K + p] = pr->w[pr->col_syn[c]];
        meta[3 * k] = (double)snn_pop_index(ru->exc, k);
        meta[3 * k + 1] = ru->exc->var[SNN_VAR_THETA][k];
        meta[3 * k + 2] = (double)labels[k];
    }
    double *gw = NULL, *gm = NULL;
    uint64_t nw = 0, nm = 0;
    if (!st)
        st = par_gather_f64(comm, w, nl * K, &gw, &nw);
    if (!st)
        st = par_gather_f64(comm, meta, 3 * nl, &gm, &nm);
    st = par_agree(st, comm);
    uint64_t N = ru->exc->n;
    if (!st && gm) {
        out->w = SB_MALLOC(N * K, sizeof *out->w);
        out->theta = SB_MALLOC(N, sizeof *out->theta);
        out->label = SB_MALLOC(N, sizeof *out->label);
        for (uint64_t k = 0; out->w && out->theta && out->label && k < nm / 3; k++) {
            uint64_t j = (uint64_t)gm[3 * k];
            memcpy(out->w + j * K, gw + k * K, K * sizeof *gw);
            out->theta[j] = gm[3 * k + 1];
            out->label[j] = gm[3 * k + 2];
        }
    }
    free(w);
    free(meta);
    free(gw);
    free(gm);
    return st;
}

static sb_status write_output(const sb_job *job, runner *ru, const learned *le, const scores *sc,
                              const sb_dataset *test, const double *seconds, const tally *shown)
{
    MPI_Comm comm = job->par->comm;
    int root = job->par->rank == 0;
    uint64_t N = ru->exc->n, K = (uint64_t)ru->r->inputs;
    char path[4096];
    sb_job_output(job, path, sizeof path);
    h5_out f;
    sb_status st = h5_create(&f, path, comm);
    if (st)
        return st;
    st = h5_attr_str(f.id, "task", "stdp-mnist");
    if (!st)
        st = sonata_write_header(f.id);
    if (!st)
        st = snn_net_write_records(ru->net, f.id);
    float *w = NULL;
    int32_t *lab = NULL;
    if (root) {
        w = SB_MALLOC(N * K + 1, sizeof *w);
        lab = SB_MALLOC(N + 1, sizeof *lab);
        for (uint64_t i = 0; w && i < N * K; i++)
            w[i] = (float)le->w[i];
        for (uint64_t i = 0; lab && i < N; i++)
            lab[i] = (int32_t)le->label[i];
    }
    st = par_agree(st ? st : root && (!w || !lab) ? SB_ENOMEM : SB_OK, comm);
    hsize_t pix = PIXELS, inputs = K, cls = CLASSES;
    if (!st)
        st = h5_write_rows(f.id, "stdp/weights", H5T_NATIVE_FLOAT, 1, &inputs, w, root ? N : 0, comm);
    /* the integrate encoder's weights: what the learned weights mean in
     * pixels (receptive_fields.py), and an encode.weights_file */
    if (!st && ru->enc_w)
        st = h5_write_rows(f.id, "encoders/integrate/weights", H5T_NATIVE_FLOAT, 1, &pix, ru->enc_w,
                           root ? K : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "stdp/theta", H5T_NATIVE_DOUBLE, 0, NULL, le->theta, root ? N : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "stdp/labels", H5T_NATIVE_INT32, 0, NULL, lab, root ? N : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "stdp/confusion", H5T_NATIVE_INT64, 1, &cls, sc->confusion,
                           root ? CLASSES : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "test/pred_mean_rate", H5T_NATIVE_UINT8, 0, NULL, sc->pred_mean,
                           root ? test->n : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "test/pred_proportion", H5T_NATIVE_UINT8, 0, NULL, sc->pred_prop,
                           root ? test->n : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "test/labels", H5T_NATIVE_UINT8, 0, NULL, test->labels,
                           root ? test->n : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "stdp/train_accuracy", H5T_NATIVE_DOUBLE, 0, NULL, sc->curve,
                           root && ru->windows ? ru->windows - 1 : 0, comm);
    hid_t g = -1;
    if (!st)
        st = h5_group(f.id, "stdp", &g);
    static const char *const phase[3] = {"train", "label", "test"};
    for (int p = 0; p < 3 && !st; p++) {
        char name[64];
        snprintf(name, sizeof name, "%s_seconds", phase[p]);
        st = h5_attr_f64(g, name, seconds[p]);
        snprintf(name, sizeof name, "%s_ms_per_image", phase[p]);
        if (!st)
            st = h5_attr_f64(g, name, shown[p].images ? 1e3 * seconds[p] / (double)shown[p].images : 0);
        snprintf(name, sizeof name, "%s_showings_per_image", phase[p]);
        if (!st)
            st = h5_attr_f64(g, name, shown[p].images ? (double)shown[p].showings / (double)shown[p].images : 0);
    }
    if (!st) st = h5_attr_f64(g, "accuracy_mean_rate", sc->acc_mean);
    if (!st) st = h5_attr_f64(g, "accuracy_proportion", sc->acc_prop);
    if (!st) st = h5_attr_i64(g, "neurons", (int64_t)N);
    if (!st) st = h5_attr_str(g, "encoder", sb_encoder_name(ru->r->encoder));
    if (!st) st = h5_attr_str(g, "label_set", ru->r->label_test ? "test" : "train");
    if (!st) st = h5_attr_str(g, "rule", ru->r->rule);
    if (!st) st = h5_attr_str(g, "step_order", ru->r->step_order);
    if (!st) st = h5_attr_i64(g, "inputs", (int64_t)K);
    if (!st) st = h5_attr_i64(g, "monitor_every", (int64_t)ru->r->monitor_every);
    if (!st) st = h5_attr_i64(g, "epochs", ru->r->epochs);
    if (!st) st = h5_attr_i64(g, "train_images", (int64_t)ru->r->ntrain);
    if (g >= 0)
        H5Gclose(g);
    free(w);
    free(lab);
    st = sb_job_finish_output(job, &f, st);
    if (!st)
        sb_info("stdp-mnist: wrote %s", path);
    return st;
}

static const char *const PHASE_NAME[PH_DONE] = {"training", "labelling", "evaluation"};

sb_status sb_task_stdp_mnist_run(const sb_job *job)
{
    recipe r;
    sb_status st = read_recipe(job, &r);
    if (st)
        return st;
    MPI_Comm comm = job->par->comm;
    sb_dataset trainset = {0}, labelset = {0}, testset = {0};
    st = sb_dataset_load(&trainset, r.dir, SB_SPLIT_TRAIN, 0, r.ntrain);
    if (!st)
        st = sb_dataset_load(&testset, r.dir, SB_SPLIT_TEST, 0, r.ntest);
    if (!st && (trainset.rows * trainset.cols != PIXELS))
        st = sb_fail(SB_EFORMAT, "%s: stdp-mnist needs 28x28 images, these are %ux%u", r.dir,
                     trainset.rows, trainset.cols);
    st = par_agree(st, comm);
    labelset = r.label_test ? testset : trainset;
    labelset.n = r.nlabel;
    snn_net *net = NULL;
    if (!st)
        st = build(job, &r, &net);
    char out[4096], ckdir[4200], tag[128];
    sb_job_output(job, out, sizeof out);
    snprintf(ckdir, sizeof ckdir, "%s.ckpt", out);
    /* a checkpoint of one encoder's network is never resumed by another */
    char kind[64];
    snprintf(kind, sizeof kind, "stdp-mnist v3 input=%s", sb_encoder_name(r.encoder));
    sb_job_tag(job, kind, tag, sizeof tag);
    runner ru = {.net = net, .comm = comm, .r = &r, .ckdir = ckdir, .tag = tag};
    int64_t *user = NULL;
    scores sc = {0};
    learned le = {0};
    if (!st) {
        ru.exc = snn_net_pop(net, snn_net_find_pop(net, "exc"));
        ru.input = snn_net_find_source(net, "input");
        ru.plastic = 0;
        size_t nl = ru.exc->nlocal;
        ru.mon = U_RESP + nl * CLASSES + 2 * testset.n;
        ru.windows = r.monitor_every ? (uint64_t)r.epochs * trainset.n / r.monitor_every : 0;
        size_t nuser = ru.mon + M_LABELS + nl * (1 + CLASSES) + ru.windows;
        ru.rates = SB_CALLOC(PIXELS, sizeof *ru.rates);
        if (r.encoder == SB_ENC_INTEGRATE) {
            ru.enc_w = SB_MALLOC((size_t)r.inputs * PIXELS, sizeof *ru.enc_w);
            if (ru.enc_w)
                sb_encoder_random_weights(ru.enc_w, (uint32_t)r.inputs, PIXELS, r.enc.seed, r.w_min,
                                          r.w_max);
        }
        ru.counts = SB_CALLOC(nl + 1, sizeof *ru.counts);
        ru.present_steps = llround(r.present / r.dt);
        ru.rest_steps = llround(r.rest / r.dt);
        ru.resp = SB_CALLOC(nl * CLASSES + 1, sizeof *ru.resp);
        ru.labels = SB_CALLOC(nl + 1, sizeof *ru.labels);
        user = SB_CALLOC(nuser, sizeof *user);
        sc.pred_mean = SB_CALLOC(testset.n + 1, 1);
        sc.pred_prop = SB_CALLOC(testset.n + 1, 1);
        sc.curve = SB_CALLOC(ru.windows + 1, sizeof *sc.curve);
        st = ru.rates && ru.counts && ru.resp && ru.labels && user && sc.pred_mean && sc.pred_prop &&
                     sc.curve &&
                     (ru.enc_w || r.encoder != SB_ENC_INTEGRATE)
                 ? SB_OK : SB_ENOMEM;
        st = par_agree(st, comm);
        if (!st)
            snn_net_set_user(net, user, (int)nuser);
        snn_net_set_progress(net, 0);
    }
    int loaded = 0;
    if (!st)
        st = snn_net_load(net, ckdir, tag, &loaded);
    if (!st && loaded && user[U_PHASE] >= PH_TRAIN && user[U_PHASE] < PH_DONE)
        sb_info("stdp-mnist: resuming from %s: %s, epoch %lld, image %lld", ckdir,
                PHASE_NAME[user[U_PHASE]], (long long)user[U_EPOCH] + 1, (long long)user[U_IMAGE]);
    if (!st)
        sb_info("stdp-mnist: %d excitatory neurons, %d %s inputs, %llu training images x %d epochs, "
                "%llu %s images for labelling, %llu test images, %d ranks x %d threads",
                r.neurons, r.inputs, sb_encoder_name(r.encoder), (unsigned long long)trainset.n, r.epochs,
                (unsigned long long)labelset.n, r.label_test ? "test" : "training",
                (unsigned long long)testset.n, job->par->size, job->par->threads);
    /* this run's share of each phase, for the time per image */
    double seconds[3] = {0}, t0 = sb_now();
    tally shown[3] = {{0, 0}};
    if (!st && user[U_PHASE] == PH_TRAIN)
        st = train(job, &ru, &trainset, user, &shown[0]);
    seconds[0] = sb_now() - t0;
    t0 = sb_now();
    if (!st && user[U_PHASE] == PH_LABEL) {
        freeze(&ru, 1);
        st = frozen_pass(job, &ru, &labelset, user, "stdp labelling", label_image, &shown[1]);
        if (!st)
            st = next_phase(&ru, user, PH_TEST);
    }
    seconds[1] = sb_now() - t0;
    if (!st) {
        responses(&ru, user + U_PER, user + U_RESP, ru.resp, ru.labels);
        double none = count_members(&ru, ru.labels, ru.members);
        if (none > 0)
            sb_info("stdp-mnist: %.0f neurons never fired while labelling: no class", none);
    }
    t0 = sb_now();
    if (!st && user[U_PHASE] == PH_TEST) {
        freeze(&ru, 1);
        if (user[U_IMAGE] == 0) /* the file keeps the spikes of the first test images only */
            snn_net_forget_recorded(net, "exc", 0);
        ru.keep = (uint64_t)user[U_KEEP];
        st = frozen_pass(job, &ru, &testset, user, "stdp evaluation", test_image, &shown[2]);
    }
    seconds[2] = sb_now() - t0;
    if (!st) {
        score(&ru, &testset, user, &sc);
        snn_net_forget_recorded(net, "exc", ru.keep);
        st = gather_learned(&ru, ru.labels, comm, &le);
    }
    if (!st) {
        double ms[3], per[3];
        uint64_t all = 0;
        for (int p = 0; p < 3; p++) {
            ms[p] = shown[p].images ? 1e3 * seconds[p] / (double)shown[p].images : 0;
            per[p] = shown[p].images ? (double)shown[p].showings / (double)shown[p].images : 0;
            all += shown[p].showings;
        }
        sb_info("stdp-mnist: test accuracy %.2f %% (mean rate), %.2f %% (proportion); %.1f / %.1f / "
                "%.1f ms per image (train / label / test)",
                100 * sc.acc_mean, 100 * sc.acc_prop, ms[0], ms[1], ms[2]);
        sb_info("stdp-mnist: %.2f / %.2f / %.2f showings per image (intensity retries included)",
                per[0], per[1], per[2]);
        sb_info("stdp-mnist: %.0f %% of the rest steps were jumped in closed form (snn_net_idle)",
                all ? 100.0 * (double)snn_net_jumped(net) / ((double)all * (double)ru.rest_steps) : 0.0);
        st = write_output(job, &ru, &le, &sc, &testset, seconds, shown);
    }
    if (!st && job->par->rank == 0)
        snn_checkpoint_remove(ckdir, job->par->size);
    free(le.w);
    free(le.theta);
    free(le.label);
    free(sc.pred_mean);
    free(sc.pred_prop);
    free(sc.curve);
    free(ru.resp);
    free(ru.labels);
    free(user);
    free(ru.rates);
    free(ru.enc_w);
    sb_spikes_free(&ru.spikes);
    sb_spikes_free(&ru.timed);
    free(ru.counts);
    snn_net_free(net);
    sb_dataset_free(&trainset);
    sb_dataset_free(&testset);
    return st;
}
