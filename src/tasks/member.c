/*
 * What a trained model is made of, shared by the tasks `train` and
 * `ensemble`: the recipe read from [train], [model] and [data], training one
 * member with checkpoints and resume, and writing a model's weights.
 */
#include <stdlib.h>
#include <string.h>

#include "member.h"

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


void sb_recipe_set_arch(sb_recipe *s, const char *name)
{
    s->arch_name = name;
    s->arch = ann_reference(name, &s->tc.view);
    if (strcmp(s->view_key, "image") == 0)
        s->tc.view = SB_VIEW_IMAGE;
    else if (strcmp(s->view_key, "rows") == 0)
        s->tc.view = SB_VIEW_ROWS;
    else if (strcmp(s->view_key, "cols") == 0)
        s->tc.view = SB_VIEW_COLS;
}

/* Everything that shapes a member's trajectory: a checkpoint made under
 * other values must not be continued. */
void sb_recipe_tag(const sb_recipe *s, uint64_t member, char *tag, size_t len)
{
    const ann_train_cfg *tc = &s->tc;
    snprintf(tag, len,
             "train v2 arch=%s view=%d seed=%u member=%llu epochs=%d batch=%d opt=%d lr=%g mom=%g "
             "nesterov=%d wd=%g sched=%d b1=%g b2=%g eps=%g shift=%d rotate=%g mean=%g std=%g n=%llu",
             s->arch, (int)tc->view, tc->seed, (unsigned long long)member, tc->epochs, tc->batch,
             (int)tc->optim.kind, tc->optim.lr, tc->optim.momentum, tc->optim.nesterov,
             tc->optim.weight_decay, (int)tc->optim.schedule, tc->optim.beta1, tc->optim.beta2,
             tc->optim.eps, tc->shift, (double)tc->rotate, (double)tc->mean, (double)tc->std,
             (unsigned long long)s->ntrain);
}

sb_status sb_recipe_check_arch(const sb_recipe *s)
{
    ann_model m;
    sb_status st = ann_model_build(&m, s->arch, ann_input_shape(s->tc.view, s->rows, s->cols), 1);
    if (!st)
        ann_model_free(&m);
    return st;
}

sb_status sb_recipe_read(const sb_config *c, sb_recipe *s)
{
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
    s->view_key = sb_cfg_str(c, "model", "view");
    sb_recipe_set_arch(s, sb_cfg_str(c, "model", "arch"));
    s->dir = sb_cfg_str(c, "data", "dir");
    st = sb_count_split(c, s->dir, SB_SPLIT_TRAIN, &s->ntrain);
    if (!st)
        st = sb_count_split(c, s->dir, SB_SPLIT_TEST, &s->ntest);
    sb_dataset shape = {0};
    if (!st)
        st = sb_dataset_load(&shape, s->dir, SB_SPLIT_TRAIN, 0, 0);
    s->rows = shape.rows;
    s->cols = shape.cols;
    sb_dataset_free(&shape);
    if (st)
        return st;
    return SB_OK;
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

sb_status sb_member_checkpoint(ann_trainer *t, const char *path, const char *tag, int epochs, int save)
{
    int64_t counters[4] = {t->epochs_done, t->optim.step, (int64_t)t->next_image,
                           (int64_t)t->part_correct};
    double *hist = SB_CALLOC((size_t)epochs * HISTORY_FIELDS + 1, sizeof *hist);
    if (!hist)
        return SB_ENOMEM;
    if (save)
        history_blob(t, epochs, hist, 1);
    h5_blob blobs[] = {
        {"params", H5T_NATIVE_FLOAT, t->model.params, t->model.nparams},
        {"state", H5T_NATIVE_FLOAT, t->model.state, t->model.nstate},
        {"optimizer", H5T_NATIVE_FLOAT, t->optim.buf, t->optim.nbuf},
        {"counters", H5T_NATIVE_INT64, counters, 4},
        {"partial_loss", H5T_NATIVE_DOUBLE, &t->part_loss, 1},
        {"history", H5T_NATIVE_DOUBLE, hist, (uint64_t)epochs * HISTORY_FIELDS},
    };
    int n = sizeof blobs / sizeof blobs[0];
    sb_status st = save ? h5_ckpt_save(path, tag, blobs, n) : h5_ckpt_load(path, tag, blobs, n);
    if (!st && !save) {
        history_blob(t, epochs, hist, 0);
        t->epochs_done = (int)counters[0];
        t->optim.step = (long)counters[1];
        t->next_image = (uint64_t)counters[2];
        t->part_correct = (uint64_t)counters[3];
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
    return sb_member_checkpoint(t, c->path, c->tag, c->epochs, 1);
}

sb_status sb_member_train(const sb_recipe *s, uint64_t member, const char *ckpt_path,
                          const sb_dataset *train, const sb_dataset *test, ann_trainer *t,
                          float **probs, double *accuracy, int *complete)
{
    ann_train_cfg tc = s->tc;
    tc.member = member;
    char tag[1024];
    sb_recipe_tag(s, member, tag, sizeof tag);
    sb_status st = ann_trainer_init(t, s->arch, &tc, train->rows, train->cols, train->n);
    if (!st && member == 0)
        ann_model_describe(&t->model);
    if (!st && s->checkpoint && h5_ckpt_exists(ckpt_path)) {
        st = sb_member_checkpoint(t, ckpt_path, tag, tc.epochs, 0);
        if (!st)
            sb_info("member %llu: resuming from %s after epoch %d of %d%s",
                    (unsigned long long)member, ckpt_path, t->epochs_done, tc.epochs,
                    t->next_image ? " (within the next epoch)" : "");
    }
    ckpt_ctx cc = {ckpt_path, tag, tc.epochs};
    if (!st)
        st = ann_train(t, &tc, train, test, s->checkpoint ? save_hook : NULL, &cc);
    *complete = !st && t->epochs_done == tc.epochs;
    if (*complete) {
        *probs = SB_MALLOC(test->n * (uint64_t)t->model.classes + 1, sizeof(float));
        st = *probs ? ann_evaluate(&t->model, &tc, test, *probs, accuracy) : SB_ENOMEM;
    }
    return st;
}

sb_status sb_write_model(hid_t file, const char *where, const ann_model *m, const sb_recipe *s,
                         int holder, MPI_Comm comm)
{
    hid_t g;
    sb_status st = h5_group(file, where, &g);
    if (st)
        return st;
    st = h5_attr_str(g, "arch", m->arch);
    if (!st)
        st = h5_attr_str(g, "name", s->arch_name);
    if (!st)
        st = h5_attr_str(g, "view", sb_view_name(s->tc.view));
    if (!st) {
        uint32_t shape[3] = {(uint32_t)m->in.c, (uint32_t)m->in.h, (uint32_t)m->in.w};
        st = h5_attr_u32s(g, "input_shape", shape, 3);
    }
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


sb_status sb_write_metrics(hid_t loc, const char *where, const ann_trainer *t, int epochs, int holder,
                           MPI_Comm comm)
{
    static const char *fields[5] = {"loss", "train_accuracy", "test_accuracy", "seconds",
                                    "images_per_s"};
    double *col = SB_MALLOC((size_t)epochs + 1, sizeof *col);
    sb_status st = par_agree(col ? SB_OK : SB_ENOMEM, comm);
    for (int k = 0; k < 5 && !st; k++) {
        char name[256];
        for (int e = 0; holder && e < epochs; e++) {
            const ann_epoch *h = &t->history[e];
            const double v[5] = {h->loss, h->train_acc, h->test_acc, h->seconds, h->images_per_s};
            col[e] = v[k];
        }
        snprintf(name, sizeof name, "%s/%s", where, fields[k]);
        st = h5_write_rows(loc, name, H5T_NATIVE_DOUBLE, 0, NULL, col, holder ? (uint64_t)epochs : 0,
                           comm);
    }
    free(col);
    return st;
}
