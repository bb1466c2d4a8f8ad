/*
 * Task `train`: one CNN or LSTM on an MNIST-like dataset, checkpointed every
 * epoch, written to one HDF5 file with its weights (PyTorch state_dict names
 * and shapes), per-epoch metrics and test-set class probabilities.
 *
 * One model is one member: it trains on rank 0 with OpenMP threads. Extra
 * ranks have nothing to do (task `ensemble` gives each rank members); they
 * wait without spinning and take part in the collective write.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spikebridge/ann.h"
#include "spikebridge/data.h"
#include "spikebridge/io.h"
#include "spikebridge/tasks.h"

typedef struct {
    ann_train_cfg tc;
    const char *arch;
    const char *dir;
    uint32_t rows, cols;
    uint64_t ntrain, ntest;
    int checkpoint;
    char tag[1024];
} train_setup;

static sb_status parse_augment(const sb_config *c, ann_train_cfg *tc)
{
    const char *const *items;
    int n = sb_cfg_list(c, "train", "augment", &items);
    tc->shift = 0;
    tc->rotate = 0;
    for (int i = 0; i < n; i++) {
        char *end = NULL;
        if (strcmp(items[i], "none") == 0 && n == 1)
            return SB_OK;
        if (strncmp(items[i], "shift:", 6) == 0) {
            long v = strtol(items[i] + 6, &end, 10);
            if (end != items[i] + 6 && *end == '\0' && v >= 0 && v <= 8) {
                tc->shift = (int)v;
                continue;
            }
        } else if (strncmp(items[i], "rotate:", 7) == 0) {
            double v = strtod(items[i] + 7, &end);
            if (end != items[i] + 7 && *end == '\0' && v >= 0 && v <= 180) {
                tc->rotate = (float)v;
                continue;
            }
        }
        return sb_fail(SB_ECONFIG,
                       "%s: train.augment item '%s': expected none, shift:N (0..8 pixels) or "
                       "rotate:D (0..180 degrees)",
                       sb_cfg_where(c, "train", "augment"), items[i]);
    }
    return SB_OK;
}

static sb_status count_split(const sb_config *c, const char *dir, sb_split split, uint64_t *n)
{
    uint64_t available;
    sb_status st = sb_dataset_count(dir, split, &available);
    if (st)
        return st;
    const char *key = split == SB_SPLIT_TRAIN ? "train" : "test";
    uint64_t want = (uint64_t)sb_cfg_int(c, "data", key);
    if (want > available)
        return sb_fail(SB_ECONFIG, "%s: data.%s = %llu but %s holds only %llu %s images",
                       sb_cfg_where(c, "data", key), key, (unsigned long long)want, dir,
                       (unsigned long long)available, sb_split_name(split));
    *n = want ? want : available;
    return SB_OK;
}

static sb_status read_setup(const sb_job *job, train_setup *s)
{
    const sb_config *c = job->cfg;
    memset(s, 0, sizeof *s);
    ann_train_cfg *tc = &s->tc;
    tc->epochs = (int)sb_cfg_int(c, "train", "epochs");
    tc->batch = (int)sb_cfg_int(c, "train", "batch");
    tc->optim.kind = strcmp(sb_cfg_str(c, "train", "optimizer"), "adam") == 0 ? ANN_ADAM : ANN_SGD;
    tc->optim.lr = sb_cfg_real(c, "train", "lr");
    tc->optim.momentum = sb_cfg_real(c, "train", "momentum");
    tc->optim.nesterov = sb_cfg_bool(c, "train", "nesterov");
    tc->optim.weight_decay = sb_cfg_real(c, "train", "weight_decay");
    tc->optim.beta1 = sb_cfg_real(c, "train", "beta1");
    tc->optim.beta2 = sb_cfg_real(c, "train", "beta2");
    tc->optim.eps = sb_cfg_real(c, "train", "eps");
    const char *sched = sb_cfg_str(c, "train", "schedule");
    tc->optim.schedule = strcmp(sched, "onecycle") == 0 ? ANN_SCHED_ONECYCLE
                         : strcmp(sched, "cosine") == 0 ? ANN_SCHED_COSINE
                                                        : ANN_SCHED_CONSTANT;
    tc->mean = (float)sb_cfg_real(c, "train", "mean");
    tc->std = (float)sb_cfg_real(c, "train", "std");
    tc->seed = (uint32_t)sb_cfg_int(c, "job", "seed");
    tc->member = 0;
    s->checkpoint = sb_cfg_bool(c, "train", "checkpoint");
    tc->stop_after = (int)sb_cfg_int(c, "train", "epochs_per_run");
    if (tc->stop_after && !s->checkpoint)
        return sb_fail(SB_ECONFIG, "%s: train.epochs_per_run needs train.checkpoint = true",
                       sb_cfg_where(c, "train", "epochs_per_run"));
    if (tc->optim.nesterov && tc->optim.kind == ANN_SGD && tc->optim.momentum <= 0)
        return sb_fail(SB_ECONFIG, "%s: Nesterov SGD needs train.momentum > 0",
                       sb_cfg_where(c, "train", "nesterov"));
    sb_status st = parse_augment(c, tc);
    if (st)
        return st;
    s->arch = ann_reference(sb_cfg_str(c, "model", "arch"), &tc->view);
    const char *view = sb_cfg_str(c, "model", "view");
    if (strcmp(view, "image") == 0)
        tc->view = SB_VIEW_IMAGE;
    else if (strcmp(view, "rows") == 0)
        tc->view = SB_VIEW_ROWS;
    else if (strcmp(view, "cols") == 0)
        tc->view = SB_VIEW_COLS;
    s->dir = sb_cfg_str(c, "data", "dir");
    st = count_split(c, s->dir, SB_SPLIT_TRAIN, &s->ntrain);
    if (!st)
        st = count_split(c, s->dir, SB_SPLIT_TEST, &s->ntest);
    sb_dataset shape = {0};
    if (!st)
        st = sb_dataset_load(&shape, s->dir, SB_SPLIT_TRAIN, 0, 0);
    s->rows = shape.rows;
    s->cols = shape.cols;
    sb_dataset_free(&shape);
    if (st)
        return st;
    /* Everything that shapes the trajectory: a checkpoint made under other
     * values must not be continued. */
    snprintf(s->tag, sizeof s->tag,
             "train v1 arch=%s view=%d seed=%u member=%llu epochs=%d batch=%d opt=%d lr=%g mom=%g "
             "nesterov=%d wd=%g sched=%d b1=%g b2=%g eps=%g shift=%d rotate=%g mean=%g std=%g n=%llu",
             s->arch, (int)tc->view, tc->seed, (unsigned long long)tc->member, tc->epochs, tc->batch,
             (int)tc->optim.kind, tc->optim.lr, tc->optim.momentum, tc->optim.nesterov,
             tc->optim.weight_decay, (int)tc->optim.schedule, tc->optim.beta1, tc->optim.beta2,
             tc->optim.eps, tc->shift, (double)tc->rotate, (double)tc->mean, (double)tc->std,
             (unsigned long long)s->ntrain);
    return SB_OK;
}

sb_status sb_task_train_check(const sb_job *job)
{
    train_setup s;
    sb_status st = read_setup(job, &s);
    if (st)
        return st;
    /* The architecture is checked by building it for one sample. */
    ann_model m;
    st = ann_model_build(&m, s.arch, ann_input_shape(s.tc.view, s.rows, s.cols), 1);
    if (!st)
        ann_model_free(&m);
    return st;
}

/* ------------------------------------------------------------------ checkpoints */

typedef struct {
    const char *path;
    const char *tag;
    int epochs;
} ckpt_ctx;

enum { HISTORY_FIELDS = 5 };

static void history_blob(ann_trainer *t, int epochs, double *flat, int to_flat)
{
    for (int e = 0; e < epochs; e++) {
        double *f = flat + (size_t)e * HISTORY_FIELDS;
        ann_epoch *h = &t->history[e];
        if (to_flat) {
            f[0] = h->loss, f[1] = h->train_acc, f[2] = h->test_acc, f[3] = h->seconds;
            f[4] = h->images_per_s;
        } else {
            h->loss = f[0], h->train_acc = f[1], h->test_acc = f[2], h->seconds = f[3];
            h->images_per_s = f[4];
        }
    }
}

static sb_status ckpt_io(ann_trainer *t, const char *path, const char *tag, int epochs, int save)
{
    int64_t counters[2] = {t->epochs_done, t->optim.step};
    double *hist = SB_CALLOC((size_t)epochs * HISTORY_FIELDS + 1, sizeof *hist);
    if (!hist)
        return SB_ENOMEM;
    if (save)
        history_blob(t, epochs, hist, 1);
    h5_blob blobs[] = {
        {"params", H5T_NATIVE_FLOAT, t->model.params, t->model.nparams},
        {"state", H5T_NATIVE_FLOAT, t->model.state, t->model.nstate},
        {"optimizer", H5T_NATIVE_FLOAT, t->optim.buf, t->optim.nbuf},
        {"counters", H5T_NATIVE_INT64, counters, 2},
        {"history", H5T_NATIVE_DOUBLE, hist, (uint64_t)epochs * HISTORY_FIELDS},
    };
    int n = sizeof blobs / sizeof blobs[0];
    sb_status st = save ? h5_ckpt_save(path, tag, blobs, n) : h5_ckpt_load(path, tag, blobs, n);
    if (!st && !save) {
        history_blob(t, epochs, hist, 0);
        t->epochs_done = (int)counters[0];
        t->optim.step = (long)counters[1];
        if (counters[0] < 0 || counters[0] > epochs)
            st = sb_fail(SB_EFORMAT, "%s: checkpoint claims %lld of %d epochs", path,
                         (long long)counters[0], epochs);
    }
    free(hist);
    return st;
}

static sb_status save_hook(void *user, ann_trainer *t)
{
    const ckpt_ctx *c = user;
    return ckpt_io(t, c->path, c->tag, c->epochs, 1);
}

/* ------------------------------------------------------------------ output */

static sb_status write_model(hid_t file, const ann_model *m, const train_setup *s, int holder,
                             MPI_Comm comm)
{
    hid_t g;
    sb_status st = h5_group(file, "model", &g);
    if (st)
        return st;
    static const char *views[] = {"image", "rows", "cols"};
    st = h5_attr_str(g, "arch", m->arch);
    if (!st)
        st = h5_attr_str(g, "view", views[s->tc.view]);
    uint32_t shape[3] = {(uint32_t)m->in.c, (uint32_t)m->in.h, (uint32_t)m->in.w};
    if (!st)
        st = h5_attr_u32s(g, "input_shape", shape, 3);
    if (!st)
        st = h5_attr_f64(g, "input_mean", s->tc.mean);
    if (!st)
        st = h5_attr_f64(g, "input_std", s->tc.std);
    if (!st)
        st = h5_attr_i64(g, "classes", m->classes);
    for (int i = 0; i < m->nlayers && !st; i++) {
        const ann_layer *l = &m->layers[i];
        char path[96];
        snprintf(path, sizeof path, "layers/%02d_%s", i, ann_ops(l->kind)->name);
        hid_t lg;
        st = h5_group(g, path, &lg);
        if (st)
            break;
        st = h5_attr_i64(lg, "units", l->units);
        if (!st)
            st = h5_attr_i64(lg, "kernel", l->k);
        if (!st)
            st = h5_attr_i64(lg, "pad", l->pad);
        if (!st)
            st = h5_attr_f64(lg, "rate", l->rate);
        ann_tensor t[4];
        int nt = ann_layer_tensors(l, t);
        for (int k = 0; k < nt && !st; k++) {
            hsize_t inner[3];
            for (int d = 1; d < t[k].rank; d++)
                inner[d - 1] = t[k].dims[d];
            st = h5_write_rows(lg, t[k].name, H5T_NATIVE_FLOAT, t[k].rank - 1, inner, t[k].data,
                               holder ? t[k].dims[0] : 0, comm);
        }
        H5Gclose(lg);
    }
    H5Gclose(g);
    return st;
}

static sb_status write_output(const sb_job *job, const char *path, const train_setup *s,
                              ann_trainer *t, const float *probs, const uint8_t *labels,
                              double accuracy)
{
    MPI_Comm comm = job->par->comm;
    const int holder = job->par->rank == 0;
    h5_out f;
    sb_status st = h5_create(&f, path, comm);
    if (st)
        return st;
    st = h5_attr_str(f.id, "task", "train");
    if (!st)
        st = write_model(f.id, &t->model, s, holder, comm);
    static const char *fields[HISTORY_FIELDS] = {"loss", "train_accuracy", "test_accuracy",
                                                 "seconds", "images_per_s"};
    double *col = SB_MALLOC((size_t)s->tc.epochs + 1, sizeof *col);
    if (!st)
        st = par_agree(col ? SB_OK : SB_ENOMEM, comm);
    for (int k = 0; k < HISTORY_FIELDS && !st; k++) {
        char name[64];
        for (int e = 0; holder && e < s->tc.epochs; e++) {
            const ann_epoch *h = &t->history[e];
            const double v[HISTORY_FIELDS] = {h->loss, h->train_acc, h->test_acc, h->seconds,
                                              h->images_per_s};
            col[e] = v[k];
        }
        snprintf(name, sizeof name, "metrics/%s", fields[k]);
        st = h5_write_rows(f.id, name, H5T_NATIVE_DOUBLE, 0, NULL, col,
                           holder ? (uint64_t)s->tc.epochs : 0, comm);
    }
    free(col);
    hsize_t classes = (hsize_t)t->model.classes;
    if (!st)
        st = h5_write_rows(f.id, "test/probs", H5T_NATIVE_FLOAT, 1, &classes, probs,
                           holder ? s->ntest : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "test/labels", H5T_NATIVE_UINT8, 0, NULL, labels,
                           holder ? s->ntest : 0, comm);
    if (!st) {
        double acc = accuracy;
        MPI_Bcast(&acc, 1, MPI_DOUBLE, 0, comm);
        hid_t g;
        st = h5_group(f.id, "test", &g);
        if (!st) {
            st = h5_attr_f64(g, "accuracy", acc);
            H5Gclose(g);
        }
    }
    if (!st)
        st = h5_write_provenance(f.id, job->cfg, job->command_line, job->par->threads, comm);
    if (st) {
        h5_discard(&f);
        return st;
    }
    return h5_commit(&f);
}

/* Ranks without work wait here without spinning a core that rank 0's
 * threads could use (blocking MPI collectives busy-poll). Every rank calls
 * it: a non-blocking barrier matches only non-blocking barriers. */
static void idle_wait(MPI_Comm comm, int busy)
{
    MPI_Request req;
    MPI_Ibarrier(comm, &req);
    if (busy) {
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        return;
    }
    int done = 0;
    while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* Rank 0's part: data, training with checkpoints, evaluation. */
static sb_status train_member(const sb_job *job, const train_setup *s, ann_trainer *t,
                              const char *ckpt_path, sb_dataset *test, float **probs,
                              double *accuracy, int *complete)
{
    sb_dataset train = {0};
    sb_status st = sb_dataset_load(&train, s->dir, SB_SPLIT_TRAIN, 0, s->ntrain);
    if (!st)
        st = sb_dataset_load(test, s->dir, SB_SPLIT_TEST, 0, s->ntest);
    if (!st)
        st = ann_trainer_init(t, s->arch, &s->tc, train.rows, train.cols, train.n);
    if (!st) {
        sb_info("train: %s (%s view), %llu training and %llu test images, %d epochs of batch %d, "
                "%d thread%s",
                sb_cfg_str(job->cfg, "model", "arch"), s->tc.view == SB_VIEW_IMAGE ? "image"
                                                       : s->tc.view == SB_VIEW_ROWS ? "rows"
                                                                                    : "cols",
                (unsigned long long)train.n, (unsigned long long)test->n, s->tc.epochs, s->tc.batch,
                job->par->threads, job->par->threads > 1 ? "s" : "");
        ann_model_describe(&t->model);
    }
    if (!st && s->checkpoint && h5_ckpt_exists(ckpt_path)) {
        st = ckpt_io(t, ckpt_path, s->tag, s->tc.epochs, 0);
        if (!st)
            sb_info("train: resuming from %s after epoch %d", ckpt_path, t->epochs_done);
    }
    ckpt_ctx cc = {ckpt_path, s->tag, s->tc.epochs};
    if (!st)
        st = ann_train(t, &s->tc, &train, test, s->checkpoint ? save_hook : NULL, &cc);
    *complete = !st && t->epochs_done == s->tc.epochs;
    if (!st && !*complete)
        sb_info("train: stopped after epoch %d of %d (train.epochs_per_run); run the same job "
                "again to continue from %s", t->epochs_done, s->tc.epochs, ckpt_path);
    if (*complete) {
        *probs = SB_MALLOC(test->n * (uint64_t)t->model.classes + 1, sizeof(float));
        st = *probs ? ann_evaluate(&t->model, &s->tc, test, *probs, accuracy) : SB_ENOMEM;
    }
    sb_dataset_free(&train);
    return st;
}

sb_status sb_task_train_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    train_setup s;
    sb_status st = read_setup(job, &s);
    if (st)
        return st;
    char path[4096], ckpt[4200];
    sb_job_output(job, path, sizeof path);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt/member_0000.h5", path);
    if (par->size > 1)
        sb_warn("train trains one model on rank 0; the other %d rank%s wait (task ensemble uses "
                "every rank)", par->size - 1, par->size > 2 ? "s" : "");

    ann_trainer t = {0};
    sb_dataset test = {0};
    float *probs = NULL;
    double accuracy = 0;
    int complete = 0;
    if (par->rank == 0) {
        st = train_member(job, &s, &t, ckpt, &test, &probs, &accuracy, &complete);
        idle_wait(par->comm, 1);
    } else {
        /* Shapes only: the collective write creates the same datasets here. */
        st = ann_model_build(&t.model, s.arch, ann_input_shape(s.tc.view, s.rows, s.cols), 1);
        idle_wait(par->comm, 0);
    }
    st = par_agree(st, par->comm);
    MPI_Bcast(&complete, 1, MPI_INT, 0, par->comm);
    if (!st && complete)
        st = write_output(job, path, &s, &t, probs, test.labels, accuracy);
    if (!st && complete)
        sb_info("train: test accuracy %.2f %%; wrote %s", 100 * accuracy, path);
    free(probs);
    sb_dataset_free(&test);
    ann_trainer_free(&t);
    return st;
}
