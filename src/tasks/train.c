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

#include "member.h"

sb_status sb_task_train_check(const sb_job *job)
{
    sb_recipe r;
    sb_status st = sb_recipe_read(job->cfg, &r);
    return st ? st : sb_recipe_check_arch(&r);
}

static sb_status write_output(const sb_job *job, const char *path, const sb_recipe *r,
                              const ann_trainer *t, const float *probs, const uint8_t *labels,
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
        st = sb_write_model(f.id, "model", &t->model, r, holder, comm);
    if (!st)
        st = sb_write_metrics(f.id, "metrics", t, r->tc.epochs, holder, comm);
    hsize_t classes = (hsize_t)t->model.classes;
    if (!st)
        st = h5_write_rows(f.id, "test/probs", H5T_NATIVE_FLOAT, 1, &classes, probs,
                           holder ? r->ntest : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "test/labels", H5T_NATIVE_UINT8, 0, NULL, labels,
                           holder ? r->ntest : 0, comm);
    if (!st) {
        MPI_Bcast(&accuracy, 1, MPI_DOUBLE, 0, comm);
        hid_t g;
        st = h5_group(f.id, "test", &g);
        if (!st) {
            st = h5_attr_f64(g, "accuracy", accuracy);
            H5Gclose(g);
        }
    }
    return sb_job_finish_output(job, &f, st);
}

/* Rank 0's part: data, training with checkpoints, evaluation. */
static sb_status train_on_root(const sb_job *job, const sb_recipe *r, const char *ckpt,
                               ann_trainer *t, sb_dataset *test, float **probs, double *accuracy,
                               int *complete)
{
    sb_dataset train = {0};
    sb_status st = sb_dataset_load(&train, r->dir, SB_SPLIT_TRAIN, 0, r->ntrain);
    if (!st)
        st = sb_dataset_load(test, r->dir, SB_SPLIT_TEST, 0, r->ntest);
    if (!st) {
        sb_info("train: %s (%s view), %llu training and %llu test images, %d epochs of batch %d, "
                "%d thread%s",
                r->arch_name, sb_view_name(r->tc.view), (unsigned long long)train.n,
                (unsigned long long)test->n, r->tc.epochs, r->tc.batch, job->par->threads,
                job->par->threads > 1 ? "s" : "");
        st = sb_member_train(r, 0, ckpt, &train, test, t, probs, accuracy, complete);
    }
    if (!st && !*complete)
        sb_info("train: stopped after epoch %d of %d (train.epochs_per_run); run the same job "
                "again to continue from %s",
                t->epochs_done, r->tc.epochs, ckpt);
    sb_dataset_free(&train);
    return st;
}

sb_status sb_task_train_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    sb_recipe r;
    sb_status st = sb_recipe_read(job->cfg, &r);
    if (st)
        return st;
    char path[4096], ckpt[4200];
    sb_job_output(job, path, sizeof path);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt/member_0000.h5", path);
    if (par->size > 1)
        sb_warn("train trains one model on rank 0; the other %d rank%s wait (task ensemble uses "
                "every rank)",
                par->size - 1, par->size > 2 ? "s" : "");

    ann_trainer t = {0};
    sb_dataset test = {0};
    float *probs = NULL;
    double accuracy = 0;
    int complete = 0;
    if (par->rank == 0) {
        st = train_on_root(job, &r, ckpt, &t, &test, &probs, &accuracy, &complete);
        par_idle_barrier(par->comm);
    } else {
        /* Shapes only: the collective write creates the same datasets here. */
        st = ann_model_build(&t.model, r.arch, ann_input_shape(r.tc.view, r.rows, r.cols), 1);
        par_idle_barrier(par->comm);
    }
    st = par_agree(st, par->comm);
    MPI_Bcast(&complete, 1, MPI_INT, 0, par->comm);
    if (!st && complete)
        st = write_output(job, path, &r, &t, probs, test.labels, accuracy);
    if (!st && complete)
        sb_info("train: test accuracy %.2f %%; wrote %s", 100 * accuracy, path);
    free(probs);
    sb_dataset_free(&test);
    ann_trainer_free(&t);
    return st;
}
