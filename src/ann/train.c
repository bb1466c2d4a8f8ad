/*
 * The training loop: shuffle, augment, forward, loss, backward, update;
 * evaluate after each epoch. Everything random is drawn from streams keyed by
 * (seed, member) and positioned by epoch and sample, so a run is a pure
 * function of its job, and a resumed run equals an uninterrupted one.
 */
#include <stdlib.h>
#include <string.h>

#include "spikebridge/ann.h"

enum { AUGMENT_WORDS = 4 }; /* stream words reserved per sample for augmentation */

ann_shape ann_input_shape(sb_view view, uint32_t rows, uint32_t cols)
{
    ann_shape s = {1, (int)rows, (int)cols};
    if (view == SB_VIEW_COLS) {
        s.h = (int)cols;
        s.w = (int)rows;
    }
    return s;
}

sb_status ann_trainer_init(ann_trainer *t, const char *arch, const ann_train_cfg *cfg,
                           uint32_t rows, uint32_t cols, uint64_t train_images)
{
    memset(t, 0, sizeof *t);
    sb_status st = ann_model_build(&t->model, arch, ann_input_shape(cfg->view, rows, cols), cfg->batch);
    if (st)
        return st;
    ann_model_init(&t->model, cfg->seed, cfg->member);
    ann_optim_cfg oc = cfg->optim;
    long per_epoch = (long)((train_images + (uint64_t)cfg->batch - 1) / (uint64_t)cfg->batch);
    oc.total_steps = per_epoch * cfg->epochs;
    st = ann_optim_init(&t->optim, &oc, t->model.nparams);
    t->history = SB_CALLOC((size_t)cfg->epochs + 1, sizeof *t->history);
    if (!st && !t->history)
        st = SB_ENOMEM;
    if (st)
        ann_trainer_free(t);
    return st;
}

void ann_trainer_free(ann_trainer *t)
{
    ann_model_free(&t->model);
    ann_optim_free(&t->optim);
    free(t->history);
    memset(t, 0, sizeof *t);
}

/* Fisher–Yates with a bias-free-enough bounded draw (32-bit multiply-shift). */
static void epoch_order(uint64_t *order, uint64_t n, const ann_train_cfg *cfg, int epoch)
{
    sb_rng r;
    sb_rng_init(&r, cfg->seed, SB_STREAM_ANN_ORDER, cfg->member, (uint64_t)epoch * n);
    for (uint64_t i = 0; i < n; i++)
        order[i] = i;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = ((uint64_t)sb_rng_u32(&r) * i) >> 32;
        uint64_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

int ann_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

sb_status ann_evaluate(ann_model *m, const ann_train_cfg *cfg, const sb_dataset *ds,
                       float *probs, double *accuracy)
{
    const uint64_t px = (uint64_t)ds->rows * ds->cols;
    const int classes = m->classes, B = m->max_batch;
    float *x = SB_MALLOC((size_t)B * px, sizeof(float));
    float *p = SB_MALLOC((size_t)B * classes, sizeof(float));
    if (!x || !p) {
        free(x);
        free(p);
        return SB_ENOMEM;
    }
    ann_ctx ctx = {0, cfg->seed, cfg->member, 0, NULL};
    uint64_t correct = 0;
    for (uint64_t first = 0; first < ds->n; first += (uint64_t)B) {
        int b = (int)(ds->n - first < (uint64_t)B ? ds->n - first : (uint64_t)B);
        sb_view_images(ds->pixels + first * px, (uint64_t)b, ds->rows, ds->cols, cfg->view,
                       cfg->mean, cfg->std, x);
        const float *logits = ann_model_forward(m, x, b, &ctx);
        ann_softmax_xent(logits, ds->labels + first, b, classes, p, NULL);
        for (int s = 0; s < b; s++)
            correct += ann_argmax(p + (size_t)s * classes, classes) == ds->labels[first + (uint64_t)s];
        if (probs)
            memcpy(probs + first * (uint64_t)classes, p, (size_t)b * classes * sizeof(float));
    }
    free(x);
    free(p);
    *accuracy = ds->n ? (double)correct / (double)ds->n : 0;
    return SB_OK;
}

static sb_status train_epoch(ann_trainer *t, const ann_train_cfg *cfg, const sb_dataset *train,
                             int epoch, uint64_t *order, uint8_t *img, float *x, float *dlogits,
                             ann_epoch *e)
{
    ann_model *m = &t->model;
    const uint64_t px = (uint64_t)train->rows * train->cols, n = train->n;
    const int B = cfg->batch, classes = m->classes;
    uint8_t *labels = SB_MALLOC((size_t)B, 1);
    if (!labels)
        return SB_ENOMEM;
    epoch_order(order, n, cfg, epoch);
    const uint64_t stream = cfg->member * ((uint64_t)1 << 32) + (uint64_t)epoch;
    double loss_sum = t->part_loss;
    uint64_t correct = t->part_correct;
    char label[32];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, cfg->epochs);
    /* A resumed epoch counts only what this run trains, so the rate and the
     * ETA are not inflated by the images done before the restart. */
    const uint64_t start = t->next_image;
    sb_progress prog;
    sb_progress_begin(&prog, label, "images", (double)(n - start), (double)(n - start));
    for (uint64_t first = start; first < n; first += (uint64_t)B) {
        int b = (int)(n - first < (uint64_t)B ? n - first : (uint64_t)B);
#pragma omp parallel for schedule(static)
        for (int s = 0; s < b; s++) {
            uint64_t k = order[first + (uint64_t)s];
            sb_rng r;
            sb_rng_init(&r, cfg->seed, SB_STREAM_ANN_AUGMENT, stream, (first + (uint64_t)s) * AUGMENT_WORDS);
            sb_augment_image(train->pixels + k * px, img + (uint64_t)s * px, train->rows,
                             train->cols, cfg->shift, cfg->rotate, &r);
            labels[s] = train->labels[k];
        }
        sb_view_images(img, (uint64_t)b, train->rows, train->cols, cfg->view, cfg->mean, cfg->std, x);
        ann_ctx ctx = {1, cfg->seed, cfg->member, (uint64_t)t->optim.step, NULL};
        const float *logits = ann_model_forward(m, x, b, &ctx);
        double loss = ann_softmax_xent(logits, labels, b, classes, NULL, dlogits);
        if (loss < 0) {
            free(labels);
            return sb_fail(SB_EFORMAT, "a training label is not below the model's %d classes", classes);
        }
        for (int s = 0; s < b; s++)
            correct += ann_argmax(logits + (size_t)s * classes, classes) == labels[s];
        loss_sum += loss * b;
        ann_model_backward(m, x, dlogits, b, &ctx);
        ann_optim_step(&t->optim, m->params, m->grads);
        sb_progress_update(&prog, (double)(first + (uint64_t)b - start));
        if (sb_stop_requested() && first + (uint64_t)b < n) {
            t->next_image = first + (uint64_t)b;
            t->part_loss = loss_sum;
            t->part_correct = correct;
            free(labels);
            return SB_EINTERRUPTED;
        }
    }
    t->next_image = 0;
    t->part_loss = 0;
    t->part_correct = 0;
    free(labels);
    e->loss = n ? loss_sum / (double)n : 0;
    e->train_acc = n ? (double)correct / (double)n : 0;
    return SB_OK;
}

sb_status ann_train(ann_trainer *t, const ann_train_cfg *cfg, const sb_dataset *train,
                    const sb_dataset *test, ann_epoch_hook hook, void *user)
{
    const uint64_t px = (uint64_t)train->rows * train->cols;
    uint64_t *order = SB_MALLOC(train->n ? train->n : 1, sizeof *order);
    uint8_t *img = SB_MALLOC((size_t)cfg->batch * px, 1);
    float *x = SB_MALLOC((size_t)cfg->batch * px, sizeof(float));
    float *dlogits = SB_MALLOC((size_t)cfg->batch * t->model.classes, sizeof(float));
    sb_status st = order && img && x && dlogits ? SB_OK : SB_ENOMEM;
    int last = cfg->epochs;
    if (cfg->stop_after > 0 && t->epochs_done + cfg->stop_after < last)
        last = t->epochs_done + cfg->stop_after;
    for (int epoch = t->epochs_done; epoch < last && !st; epoch++) {
        ann_epoch *e = &t->history[epoch];
        /* A resumed epoch's rate counts only the images trained in this run. */
        const uint64_t fresh = train->n - t->next_image;
        double t0 = sb_now();
        st = train_epoch(t, cfg, train, epoch, order, img, x, dlogits, e);
        double t1 = sb_now();
        if (st == SB_EINTERRUPTED) {
            if (hook)
                st = hook(user, t);
            if (!st)
                st = sb_fail(SB_EINTERRUPTED, "stopped by a signal in epoch %d after %llu images; "
                             "checkpointed", epoch + 1, (unsigned long long)t->next_image);
            break;
        }
        if (!st)
            st = ann_evaluate(&t->model, cfg, test, NULL, &e->test_acc);
        if (st)
            break;
        e->seconds = sb_now() - t0;
        e->images_per_s = t1 > t0 ? (double)fresh / (t1 - t0) : 0;
        t->epochs_done = epoch + 1;
        char left[32];
        sb_info("epoch %3d/%d  loss %.4f  train %.2f %%  test %.2f %%  %.0f images/s  %.1f s  ETA %s",
                epoch + 1, cfg->epochs, e->loss, 100 * e->train_acc, 100 * e->test_acc,
                e->images_per_s, e->seconds,
                sb_format_duration(e->seconds * (cfg->epochs - epoch - 1), left, sizeof left));
        if (hook)
            st = hook(user, t);
    }
    free(order);
    free(img);
    free(x);
    free(dlogits);
    return st;
}
