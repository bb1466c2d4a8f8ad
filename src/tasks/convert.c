/*
 * Task `convert`: the study's claim that an integrate-and-fire neuron's
 * spike count carries what a ReLU carries, measured. A CNN trained by task
 * `train` (convert.model) becomes a network of IF neurons (convert.h),
 * normalised on training images, and is simulated for the largest of
 * convert.steps time steps on the test images; accuracy is read at every
 * listed step count.
 *
 * Ranks take whole batches of test images (contiguous), so every image is
 * simulated in the same batch, with the same arithmetic, whatever the
 * number of ranks. Per image: the prediction at each step count, the
 * synaptic events up to it, and sums for each stage's correlation between
 * spike rate and ANN activation, which rank 0 adds up in image order.
 * Checkpoints (per rank, <output>.ckpt/) every convert.checkpoint_every
 * batches and on SIGUSR1/SIGTERM; the same job resumes there.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "member.h"
#include "spikebridge/convert.h"

enum { MAX_STEPS = 64, STATS = 6 /* n, sum x, sum y, sum xx, sum yy, sum xy */ };

typedef struct {
    const char *model, *group, *dir;
    int nsteps;
    long steps[MAX_STEPS];
    double percentile;
    uint64_t norm_images, ntest;
    int batch, record, ckpt_every;
    uint32_t rows, cols;
} cv_job;

static sb_status read_steps(const sb_config *c, cv_job *j)
{
    const char *const *items;
    int n = sb_cfg_list(c, "convert", "steps", &items);
    if (n < 1 || n > MAX_STEPS)
        return sb_fail(SB_ECONFIG, "%s: convert.steps needs 1 to %d step counts",
                       sb_cfg_where(c, "convert", "steps"), MAX_STEPS);
    for (int i = 0; i < n; i++) {
        char *end = NULL;
        long v = strtol(items[i], &end, 10);
        if (end == items[i] || *end || v < 1 || v > 1000000 || (i > 0 && v <= j->steps[i - 1]))
            return sb_fail(SB_ECONFIG, "%s: convert.steps item '%s': expected whole step counts "
                                       "from 1 to 1000000 in ascending order",
                           sb_cfg_where(c, "convert", "steps"), items[i]);
        j->steps[i] = v;
    }
    j->nsteps = n;
    return SB_OK;
}

static sb_status read_job(const sb_config *c, cv_job *j)
{
    memset(j, 0, sizeof *j);
    j->model = sb_cfg_str(c, "convert", "model");
    j->group = sb_cfg_str(c, "convert", "group");
    j->dir = sb_cfg_str(c, "data", "dir");
    j->percentile = sb_cfg_real(c, "convert", "percentile");
    j->norm_images = (uint64_t)sb_cfg_int(c, "convert", "norm_images");
    j->batch = (int)sb_cfg_int(c, "convert", "batch");
    j->record = (int)sb_cfg_int(c, "convert", "record_images");
    j->ckpt_every = (int)sb_cfg_int(c, "convert", "checkpoint_every");
    sb_status st = read_steps(c, j);
    uint64_t ntrain = 0;
    if (!st)
        st = sb_count_split(c, j->dir, SB_SPLIT_TEST, &j->ntest);
    if (!st)
        st = sb_count_split(c, j->dir, SB_SPLIT_TRAIN, &ntrain);
    if (!st && j->norm_images > ntrain)
        st = sb_fail(SB_ECONFIG, "%s: convert.norm_images = %llu but only %llu training images are used",
                     sb_cfg_where(c, "convert", "norm_images"), (unsigned long long)j->norm_images,
                     (unsigned long long)ntrain);
    sb_dataset shape = {0};
    if (!st)
        st = sb_dataset_load(&shape, j->dir, SB_SPLIT_TEST, 0, 0);
    j->rows = shape.rows;
    j->cols = shape.cols;
    sb_dataset_free(&shape);
    if ((uint64_t)j->record > j->ntest)
        j->record = (int)j->ntest;
    return st;
}

/* The model of convert.model, ready to simulate in batches of `batch`. */
static sb_status load_net(const cv_job *j, int batch, ann_model *m, cv_net *net, float *mean,
                          float *std)
{
    sb_view view;
    sb_status st = sb_read_model(j->model, j->group, m, batch, j->rows, j->cols, &view, mean, std);
    if (st)
        return sb_fail_context(st, "convert.model");
    st = cv_net_build(net, m);
    if (st) {
        ann_model_free(m);
        return sb_fail_context(st, "%s", j->model);
    }
    return SB_OK;
}

sb_status sb_task_convert_check(const sb_job *job)
{
    cv_job j;
    sb_status st = read_job(job->cfg, &j);
    ann_model m;
    cv_net net;
    float mean, std;
    if (!st)
        st = load_net(&j, 1, &m, &net, &mean, &std);
    if (!st) {
        cv_net_free(&net);
        ann_model_free(&m);
    }
    return st;
}

/* ------------------------------------------------------------------ one rank's images */

typedef struct {
    const cv_job *j;
    ann_model m;
    cv_net net;
    float mean, std;
    uint64_t first, n;   /* this rank's test images */
    int rounds, nbatch;  /* batches of the largest rank, and of this one */
    /* per image (checkpointed) */
    int64_t *pred;       /* [n x nsteps] class at each step count */
    int64_t *ann_pred;   /* [n] */
    double *synops;      /* [n x nsteps] synaptic events up to each step count */
    double *stats;       /* [n x stages x STATS] */
    int64_t next;        /* next round */
    double seconds;      /* simulation wall time so far */
} cv_run;

static void image_stats(const cv_run *r, int b, uint64_t img)
{
    const cv_net *net = &r->net;
    const double t = net->t;
    for (int s = 0; s < net->nstages; s++) {
        const cv_stage *st = &net->stages[s];
        const float *count = st->kind == CV_OUT ? st->v : st->count;
        const float *act = r->m.act[st->layer] + (size_t)b * st->n;
        double sum[STATS] = {(double)st->n, 0, 0, 0, 0, 0};
        for (size_t i = 0; i < st->n; i++) {
            double x = count[(size_t)b * st->n + i] / t, y = act[i];
            sum[1] += x, sum[2] += y, sum[3] += x * x, sum[4] += y * y, sum[5] += x * y;
        }
        memcpy(r->stats + (img * (uint64_t)net->nstages + (uint64_t)s) * STATS, sum, sizeof sum);
    }
}

static sb_status simulate_batch(cv_run *r, const sb_dataset *ds, uint64_t at, int b, float *x)
{
    const cv_job *j = r->j;
    ann_model *m = &r->m;
    const int classes = m->classes, ns = j->nsteps;
    sb_view_images(ds->pixels + at * ds->rows * ds->cols, (uint64_t)b, ds->rows, ds->cols,
                   SB_VIEW_IMAGE, r->mean, r->std, x);
    ann_ctx ctx = {0, 0, 0, 0, NULL};
    const float *logits = ann_model_forward(m, x, b, &ctx);
    for (int i = 0; i < b; i++)
        r->ann_pred[at + (uint64_t)i] = ann_argmax(logits + (size_t)i * classes, classes);
    cv_net_reset(&r->net, x, b);
    for (int k = 0; k < ns; k++) {
        while (r->net.t < j->steps[k])
            cv_net_step(&r->net);
        const float *scores = cv_net_scores(&r->net);
        for (int i = 0; i < b; i++) {
            uint64_t img = at + (uint64_t)i;
            r->pred[img * (uint64_t)ns + (uint64_t)k] = ann_argmax(scores + (size_t)i * classes, classes);
            r->synops[img * (uint64_t)ns + (uint64_t)k] = cv_net_synops(&r->net, i);
        }
    }
    for (int i = 0; i < b; i++)
        image_stats(r, i, at + (uint64_t)i);
    return SB_OK;
}

static sb_status checkpoint(cv_run *r, const char *path, const char *tag, int save)
{
    const uint64_t n = r->n, ns = (uint64_t)r->j->nsteps;
    int64_t counters[1] = {r->next};
    h5_blob blobs[] = {
        {"pred", H5T_NATIVE_INT64, r->pred, n * ns},
        {"ann_pred", H5T_NATIVE_INT64, r->ann_pred, n},
        {"synops", H5T_NATIVE_DOUBLE, r->synops, n * ns},
        {"stats", H5T_NATIVE_DOUBLE, r->stats, n * (uint64_t)r->net.nstages * STATS},
        {"seconds", H5T_NATIVE_DOUBLE, &r->seconds, 1},
        {"counters", H5T_NATIVE_INT64, counters, 1},
    };
    int nb = sizeof blobs / sizeof blobs[0];
    sb_status st = save ? h5_ckpt_save(path, tag, blobs, nb) : h5_ckpt_load(path, tag, blobs, nb);
    if (!st && !save)
        r->next = counters[0];
    return st;
}

/* Every rank runs r->rounds rounds (idle in the last one when it has fewer
 * batches) so that all meet at the same points to agree on stopping. */
static sb_status simulate_all(cv_run *r, const sb_job *job, const sb_dataset *ds, const char *ckpt,
                              const char *tag)
{
    const cv_job *j = r->j;
    float *x = SB_MALLOC((size_t)j->batch * ann_shape_size(r->m.in), sizeof(float));
    sb_status st = par_agree(x ? SB_OK : SB_ENOMEM, job->par->comm);
    sb_progress prog;
    uint64_t done = r->next < r->nbatch ? (uint64_t)r->next * (uint64_t)j->batch : r->n;
    char what[64];
    snprintf(what, sizeof what, "convert (%ld steps)", j->steps[j->nsteps - 1]);
    sb_progress_begin(&prog, what, "images", (double)(r->n - done), (double)j->ntest);
    for (; !st && r->next < r->rounds; r->next++) {
        double t0 = sb_now();
        if (r->next < r->nbatch) {
            uint64_t at = (uint64_t)r->next * (uint64_t)j->batch;
            int b = (int)(r->n - at < (uint64_t)j->batch ? r->n - at : (uint64_t)j->batch);
            st = simulate_batch(r, ds, at, b, x);
            sb_progress_update(&prog, (double)(at + (uint64_t)b - done));
        }
        r->seconds += sb_now() - t0;
        st = par_agree(st, job->par->comm);
        int stop = par_any(sb_stop_requested(), job->par->comm);
        int due = j->ckpt_every && (r->next + 1) % j->ckpt_every == 0;
        if (!st && (stop || due) && r->next + 1 < r->rounds) {
            r->next++;
            st = par_agree(checkpoint(r, ckpt, tag, 1), job->par->comm);
            r->next--;
        }
        if (!st && stop && r->next + 1 < r->rounds) {
            sb_info("convert: stopped after %lld of %d rounds of batches; checkpoints in %s",
                    (long long)r->next + 1, r->rounds, ckpt);
            st = SB_EINTERRUPTED;
        }
    }
    if (!st)
        sb_progress_end(&prog);
    free(x);
    return st;
}

/* ------------------------------------------------------------------ results */

typedef struct {
    double accuracy[MAX_STEPS], synops[MAX_STEPS], ann_accuracy;
    double *corr, *rate; /* per stage */
} cv_summary;

static sb_status summarise(const cv_run *r, const sb_dataset *ds, MPI_Comm comm, cv_summary *s)
{
    const cv_job *j = r->j;
    const int ns = j->nsteps, nst = r->net.nstages;
    uint64_t correct[MAX_STEPS + 1] = {0};
    for (uint64_t i = 0; i < r->n; i++) {
        for (int k = 0; k < ns; k++) {
            correct[k] += r->pred[i * (uint64_t)ns + (uint64_t)k] == ds->labels[i];
            s->synops[k] += r->synops[i * (uint64_t)ns + (uint64_t)k];
        }
        correct[ns] += r->ann_pred[i] == ds->labels[i];
    }
    /* Counts and whole-number sums: exact in any order of addition. */
    MPI_Allreduce(MPI_IN_PLACE, correct, ns + 1, MPI_UINT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, s->synops, ns, MPI_DOUBLE, MPI_SUM, comm);
    for (int k = 0; k < ns; k++) {
        s->accuracy[k] = (double)correct[k] / (double)j->ntest;
        s->synops[k] /= (double)j->ntest;
    }
    s->ann_accuracy = (double)correct[ns] / (double)j->ntest;

    /* Correlation sums in image order on rank 0, then the same values everywhere. */
    double *all = NULL;
    uint64_t nall = 0;
    s->corr = SB_CALLOC((size_t)nst, sizeof(double));
    s->rate = SB_CALLOC((size_t)nst, sizeof(double));
    sb_status st = par_gather_f64(comm, r->stats, r->n * (uint64_t)nst * STATS, &all, &nall);
    st = par_agree(st ? st : s->corr && s->rate ? SB_OK : SB_ENOMEM, comm);
    for (int q = 0; !st && all && q < nst; q++) {
        double sum[STATS] = {0};
        for (uint64_t i = 0; i < nall / ((uint64_t)nst * STATS); i++)
            for (int f = 0; f < STATS; f++)
                sum[f] += all[(i * (uint64_t)nst + (uint64_t)q) * STATS + (uint64_t)f];
        double n = sum[0], cov = sum[5] / n - sum[1] / n * sum[2] / n;
        double vx = sum[3] / n - sum[1] / n * sum[1] / n, vy = sum[4] / n - sum[2] / n * sum[2] / n;
        s->corr[q] = vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : 0;
        s->rate[q] = sum[1] / n;
    }
    free(all);
    if (!st) {
        MPI_Bcast(s->corr, nst, MPI_DOUBLE, 0, comm);
        MPI_Bcast(s->rate, nst, MPI_DOUBLE, 0, comm);
    }
    return st;
}

/* What is written about the first j->record test images. */
typedef struct {
    sb_spikes *spikes; /* per stage */
    float **act;       /* per stage [record x n]: the (normalised) ANN activation */
    float **rate;      /* per stage [record x n]: spikes per step (output: potential / steps) */
} cv_record;

static sb_status record_alloc(cv_record *rec, const cv_net *net, int record)
{
    const size_t ns = (size_t)net->nstages;
    rec->spikes = SB_CALLOC(ns, sizeof *rec->spikes);
    rec->act = SB_CALLOC(ns, sizeof *rec->act);
    rec->rate = SB_CALLOC(ns, sizeof *rec->rate);
    if (!rec->spikes || !rec->act || !rec->rate)
        return SB_ENOMEM;
    for (size_t q = 0; q < ns; q++) {
        rec->act[q] = SB_CALLOC((size_t)record * net->stages[q].n + 1, sizeof(float));
        rec->rate[q] = SB_CALLOC((size_t)record * net->stages[q].n + 1, sizeof(float));
        if (!rec->act[q] || !rec->rate[q])
            return SB_ENOMEM;
    }
    return SB_OK;
}

static void record_free(cv_record *rec, int nstages)
{
    for (int q = 0; q < nstages; q++) {
        if (rec->spikes)
            sb_spikes_free(&rec->spikes[q]);
        if (rec->act)
            free(rec->act[q]);
        if (rec->rate)
            free(rec->rate[q]);
    }
    free(rec->spikes);
    free(rec->act);
    free(rec->rate);
}

/* Simulates the first j->record test images again, one at a time, with
 * the run's (scaled) network, and keeps the spikes of every spiking stage
 * (image k's step t, 1 ms steps from 0, is at k * t_max + t ms, so each
 * population comes out sorted by time), each neuron's rate and its ANN
 * activation. */
static sb_status record_images(cv_run *r, cv_record *rec)
{
    const cv_job *j = r->j;
    const long tmax = j->steps[j->nsteps - 1];
    sb_dataset ds = {0};
    sb_status st = sb_dataset_load(&ds, j->dir, SB_SPLIT_TEST, 0, (uint64_t)j->record);
    float *x = st ? NULL : SB_MALLOC(ann_shape_size(r->m.in), sizeof(float));
    if (!st && !x)
        st = SB_ENOMEM;
    ann_ctx ctx = {0, 0, 0, 0, NULL};
    for (int k = 0; !st && k < j->record; k++) {
        sb_view_images(ds.pixels + (uint64_t)k * ds.rows * ds.cols, 1, ds.rows, ds.cols,
                       SB_VIEW_IMAGE, r->mean, r->std, x);
        ann_model_forward(&r->m, x, 1, &ctx);
        cv_net_reset(&r->net, x, 1);
        for (long t = 0; !st && t < tmax; t++) {
            cv_net_step(&r->net);
            for (int q = 0; !st && q < r->net.nstages; q++) {
                const cv_stage *s = &r->net.stages[q];
                for (uint32_t e = 0; !st && s->kind != CV_OUT && e < s->nfired[0]; e++)
                    st = sb_spikes_push(&rec->spikes[q], s->fired[e], (double)k * (double)tmax + (double)t);
            }
        }
        for (int q = 0; q < r->net.nstages; q++) {
            const cv_stage *s = &r->net.stages[q];
            const float *count = s->kind == CV_OUT ? s->v : s->count;
            for (size_t i = 0; i < s->n; i++) {
                rec->act[q][(size_t)k * s->n + i] = r->m.act[s->layer][i];
                rec->rate[q][(size_t)k * s->n + i] = count[i] / (float)tmax;
            }
        }
    }
    free(x);
    sb_dataset_free(&ds);
    return st;
}

static sb_status write_stage(hid_t g, const cv_stage *s, double corr, double rate)
{
    static const char *const kinds[] = {"if", "maxpool", "output"};
    char where[64];
    snprintf(where, sizeof where, "stages/%s", s->name);
    hid_t sg;
    sb_status st = h5_group(g, where, &sg);
    if (st)
        return st;
    st = h5_attr_str(sg, "kind", kinds[s->kind]);
    if (!st)
        st = h5_attr_i64(sg, "neurons", (int64_t)s->n);
    if (!st)
        st = h5_attr_f64(sg, "lambda", s->lambda);
    if (!st)
        st = h5_attr_f64(sg, "correlation", corr);
    if (!st)
        st = h5_attr_f64(sg, "mean_rate", rate);
    H5Gclose(sg);
    return st;
}

/* MACs of the first layer, which the analog input drives once per image. */
static double first_layer_macs(const ann_model *m, const cv_net *net)
{
    const ann_layer *l = &m->layers[net->stages[0].syn];
    double in = l->kind == ANN_CONV ? (double)l->in.c * l->k * l->k : (double)ann_shape_size(l->in);
    return in * (double)ann_shape_size(l->out);
}

static sb_status write_output(const sb_job *job, const cv_run *r, const sb_dataset *ds,
                              const cv_summary *s, const cv_record *rec)
{
    const cv_job *j = r->j;
    MPI_Comm comm = job->par->comm;
    const int ns = j->nsteps, rank0 = job->par->rank == 0;
    h5_out f;
    sb_status st = sb_job_create_output(job, &f);
    if (st)
        return st;
    hid_t g = H5I_INVALID_HID;
    st = sonata_write_header(f.id);
    if (!st)
        st = h5_group(f.id, "convert", &g);
    if (!st)
        st = h5_attr_str(g, "model", j->model);
    if (!st)
        st = h5_attr_str(g, "model_group", j->group);
    if (!st)
        st = h5_attr_f64(g, "ann_accuracy", s->ann_accuracy);
    if (!st)
        st = h5_attr_f64(g, "percentile", j->percentile);
    if (!st)
        st = h5_attr_i64(g, "norm_images", (int64_t)j->norm_images);
    if (!st)
        st = h5_attr_f64(g, "ann_macs_per_image", ann_model_macs(&r->m));
    if (!st)
        st = h5_attr_f64(g, "input_macs_per_image", first_layer_macs(&r->m, &r->net));
    double secs = r->seconds;
    MPI_Allreduce(MPI_IN_PLACE, &secs, 1, MPI_DOUBLE, MPI_MAX, comm);
    if (!st)
        st = h5_attr_f64(g, "seconds", secs);
    int64_t steps[MAX_STEPS];
    for (int k = 0; k < ns; k++)
        steps[k] = j->steps[k];
    if (!st)
        st = h5_write_rows(g, "steps", H5T_NATIVE_INT64, 0, NULL, steps, rank0 ? (uint64_t)ns : 0, comm);
    if (!st)
        st = h5_write_rows(g, "accuracy", H5T_NATIVE_DOUBLE, 0, NULL, s->accuracy,
                           rank0 ? (uint64_t)ns : 0, comm);
    if (!st)
        st = h5_write_rows(g, "synops_per_image", H5T_NATIVE_DOUBLE, 0, NULL, s->synops,
                           rank0 ? (uint64_t)ns : 0, comm);
    hsize_t inner = (hsize_t)ns;
    if (!st)
        st = h5_write_rows(g, "predictions", H5T_NATIVE_INT64, 1, &inner, r->pred, r->n, comm);
    if (!st)
        st = h5_write_rows(g, "ann_predictions", H5T_NATIVE_INT64, 0, NULL, r->ann_pred, r->n, comm);
    if (!st)
        st = h5_write_rows(f.id, "test/labels", H5T_NATIVE_UINT8, 0, NULL, ds->labels, r->n, comm);
    for (int q = 0; q < r->net.nstages && !st; q++)
        st = write_stage(g, &r->net.stages[q], s->corr[q], s->rate[q]);
    for (int q = 0; q < r->net.nstages && !st; q++) {
        const cv_stage *sq = &r->net.stages[q];
        if (sq->kind != CV_OUT)
            st = sonata_write_spikes(f.id, sq->name, rec->spikes[q].ids, rec->spikes[q].t,
                                     rank0 ? rec->spikes[q].n : 0, SB_SORT_BY_TIME, comm);
        char name[96];
        hsize_t n = sq->n;
        const uint64_t rows = rank0 ? (uint64_t)j->record : 0;
        snprintf(name, sizeof name, "sample/%s/activation", sq->name);
        if (!st)
            st = h5_write_rows(g, name, H5T_NATIVE_FLOAT, 1, &n, rec->act[q], rows, comm);
        snprintf(name, sizeof name, "sample/%s/rate", sq->name);
        if (!st)
            st = h5_write_rows(g, name, H5T_NATIVE_FLOAT, 1, &n, rec->rate[q], rows, comm);
    }
    if (g != H5I_INVALID_HID)
        H5Gclose(g);
    st = sb_job_finish_output(job, &f, st);
    if (!st)
        sb_info("convert: wrote %s", f.path);
    return st;
}

/* ------------------------------------------------------------------ the task */

static sb_status normalise(cv_run *r, const sb_job *job)
{
    const cv_job *j = r->j;
    sb_dataset train = {0};
    double *lambda = SB_CALLOC((size_t)r->net.nstages, sizeof *lambda);
    float *x = NULL;
    sb_status st = lambda ? sb_dataset_load(&train, j->dir, SB_SPLIT_TRAIN, 0, j->norm_images) : SB_ENOMEM;
    if (!st && !(x = SB_MALLOC(train.n * ann_shape_size(r->m.in), sizeof(float))))
        st = SB_ENOMEM;
    if (!st) {
        sb_view_images(train.pixels, train.n, train.rows, train.cols, SB_VIEW_IMAGE, r->mean, r->std, x);
        st = cv_normalise(&r->net, x, train.n, j->percentile, lambda);
    }
    st = par_agree(st, job->par->comm);
    if (!st) {
        /* Every rank computed them; rank 0's are the ones, should BLAS round differently. */
        MPI_Bcast(lambda, r->net.nstages, MPI_DOUBLE, 0, job->par->comm);
        cv_scale(&r->net, lambda);
        for (int q = 0; q < r->net.nstages; q++)
            if (r->net.stages[q].kind == CV_IF)
                sb_info("convert: %-10s %8zu neurons, threshold = %.4g (%.4g-th percentile of "
                        "%llu training images' activations)",
                        r->net.stages[q].name, r->net.stages[q].n, lambda[q], j->percentile,
                        (unsigned long long)j->norm_images);
    }
    free(x);
    free(lambda);
    sb_dataset_free(&train);
    return st;
}

static sb_status alloc_run(cv_run *r)
{
    const uint64_t n = r->n + 1, ns = (uint64_t)r->j->nsteps;
    r->pred = SB_CALLOC(n * ns, sizeof *r->pred);
    r->ann_pred = SB_CALLOC(n, sizeof *r->ann_pred);
    r->synops = SB_CALLOC(n * ns, sizeof *r->synops);
    r->stats = SB_CALLOC(n * (uint64_t)r->net.nstages * STATS, sizeof *r->stats);
    return r->pred && r->ann_pred && r->synops && r->stats ? SB_OK : SB_ENOMEM;
}

static void free_run(cv_run *r)
{
    free(r->pred);
    free(r->ann_pred);
    free(r->synops);
    free(r->stats);
    cv_net_free(&r->net);
    ann_model_free(&r->m);
}

static void report(const cv_job *j, const cv_run *r, const cv_summary *s)
{
    double macs = ann_model_macs(&r->m);
    sb_info("convert: ANN accuracy %.2f %% on %llu test images", 100 * s->ann_accuracy,
            (unsigned long long)j->ntest);
    sb_info("convert: %8s %9s %14s %10s", "steps", "accuracy", "synops/image", "/ANN MACs");
    for (int k = 0; k < j->nsteps; k++)
        sb_info("convert: %8ld %8.2f %% %14.4g %10.3f", j->steps[k], 100 * s->accuracy[k],
                s->synops[k], s->synops[k] / macs);
    for (int q = 0; q < r->net.nstages; q++)
        sb_info("convert: %-10s rate/activation correlation %.4f, mean rate %.4f per step",
                r->net.stages[q].name, s->corr[q], s->rate[q]);
}

sb_status sb_task_convert_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    cv_job j;
    sb_status st = read_job(job->cfg, &j);
    if (st)
        return st;
    cv_run r = {.j = &j};
    st = par_agree(load_net(&j, j.batch, &r.m, &r.net, &r.mean, &r.std), par->comm);
    if (st)
        return st;
    if (par->rank == 0)
        ann_model_describe(&r.m);
    st = normalise(&r, job);

    uint64_t batches = (j.ntest + (uint64_t)j.batch - 1) / (uint64_t)j.batch, b0, nb;
    par_block(batches, par->rank, par->size, &b0, &nb);
    r.first = b0 * (uint64_t)j.batch;
    r.n = nb ? ((b0 + nb) * (uint64_t)j.batch < j.ntest ? nb * (uint64_t)j.batch : j.ntest - r.first) : 0;
    r.nbatch = (int)nb;
    r.rounds = (int)((batches + (uint64_t)par->size - 1) / (uint64_t)par->size);
    sb_dataset test = {0};
    if (!st)
        st = par_agree(alloc_run(&r), par->comm);
    if (!st)
        st = par_agree(sb_dataset_load(&test, j.dir, SB_SPLIT_TEST, r.first, r.n), par->comm);

    char out[4096], ckpt[4200], tag[256];
    sb_job_output(job, out, sizeof out);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt/rank_%04d.h5", out, par->rank);
    sb_job_tag(job, "convert v1", tag, sizeof tag);
    if (!st && h5_ckpt_exists(ckpt)) {
        st = par_agree(checkpoint(&r, ckpt, tag, 0), par->comm);
        if (!st)
            sb_info("convert: resuming at round %lld of %d from %s", (long long)r.next, r.rounds, ckpt);
    }
    if (!st) {
        sb_info("convert: %llu test images in batches of %d on %d rank%s, %ld steps each",
                (unsigned long long)j.ntest, j.batch, par->size, par->size > 1 ? "s" : "",
                j.steps[j.nsteps - 1]);
        st = simulate_all(&r, job, &test, ckpt, tag);
    }
    cv_summary s = {0};
    if (!st)
        st = summarise(&r, &test, par->comm, &s);
    if (!st && par->rank == 0)
        report(&j, &r, &s);
    cv_record rec = {0};
    if (!st)
        st = par_agree(record_alloc(&rec, &r.net, par->rank == 0 ? j.record : 0), par->comm);
    if (!st && par->rank == 0)
        st = record_images(&r, &rec);
    st = par_agree(st, par->comm);
    if (!st)
        st = write_output(job, &r, &test, &s, &rec);
    if (!st) { /* finished: the checkpoints would only make a rerun skip nothing */
        remove(ckpt);
        MPI_Barrier(par->comm);
        snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
        if (par->rank == 0)
            rmdir(ckpt);
    }
    record_free(&rec, r.net.nstages);
    free(s.corr);
    free(s.rate);
    sb_dataset_free(&test);
    free_run(&r);
    return st;
}
