/*
 * Task `ensemble`: M models trained independently, member m on rank
 * m mod P with that rank's OpenMP threads, then combined: the mean of the
 * members' class probabilities and their majority vote.
 *
 * Member m's initial weights, data order, augmentation and dropout belong to
 * m (streams keyed by the member number), so its weights are the same
 * whatever the number of ranks. The members' probabilities travel to rank 0
 * in member order and are averaged there in that order: a reduction whose
 * summation order followed the rank layout would change the last bits with
 * the rank count.
 */
#include <stdlib.h>
#include <string.h>

#include "member.h"

enum { MAX_MEMBERS = 4096 };

typedef struct {
    sb_recipe base;
    int n;                          /* members */
    const char *name[MAX_MEMBERS];  /* each member as ensemble.members names it */
    sb_recipe rec[MAX_MEMBERS];     /* each member's recipe */
    sb_config *file[64];            /* recipes of items that name a job file */
    int nfile;
} ensemble_setup;

/* The recipe of a job file named in ensemble.members: its [model] and
 * [train], on the ensemble's data and seed (so that every member sees the
 * same images and the test probabilities line up). */
static sb_status load_recipe(const sb_config *c, const char *path, const char *where,
                             ensemble_setup *e, sb_recipe *r)
{
    if (e->nfile == 64)
        return sb_fail(SB_ECONFIG, "%s: more than 64 job files in ensemble.members", where);
    char over[4][4200];
    snprintf(over[0], sizeof over[0], "data.dir=%s", sb_cfg_str(c, "data", "dir"));
    snprintf(over[1], sizeof over[1], "data.train=%lld", sb_cfg_int(c, "data", "train"));
    snprintf(over[2], sizeof over[2], "data.test=%lld", sb_cfg_int(c, "data", "test"));
    snprintf(over[3], sizeof over[3], "job.seed=%lld", sb_cfg_int(c, "job", "seed"));
    char *ov[4] = {over[0], over[1], over[2], over[3]};
    sb_config **f = &e->file[e->nfile];
    sb_status st = sb_config_load(f, sb_job_keys, sb_job_nkeys, path, 4, ov);
    if (st)
        return sb_fail_context(st, where);
    e->nfile++;
    return sb_recipe_read(*f, r);
}

/* ensemble.members: "5" (five of model.arch), "NAME", "NAME*N"; NAME is a
 * reference (cnn-vgg-s, lstm-rows, lstm-cols) or "model" for model.arch,
 * trained with the job's [train], or a job file (ending in .ini) whose
 * [model] and [train] the member takes (members with their own recipes). */
static sb_status parse_members(const sb_config *c, ensemble_setup *e)
{
    const char *const *items;
    int n = sb_cfg_list(c, "ensemble", "members", &items);
    const char *where = sb_cfg_where(c, "ensemble", "members");
    const char *model = sb_cfg_str(c, "model", "arch");
    static char names[64][256];
    e->n = 0;
    if (n > 64)
        return sb_fail(SB_ECONFIG, "%s: ensemble.members has %d items (at most 64)", where, n);
    for (int i = 0; i < n; i++) {
        char *end;
        long count = strtol(items[i], &end, 10);
        const int plain = end != items[i]; /* a count of model.arch */
        const char *name = model;
        if (end == items[i]) { /* NAME or NAME*N */
            if (strlen(items[i]) >= sizeof names[i])
                return sb_fail(SB_ECONFIG, "%s: ensemble.members item '%s' is longer than %zu characters",
                               where, items[i], sizeof names[i] - 1);
            snprintf(names[i], sizeof names[i], "%s", items[i]);
            char *star = strchr(names[i], '*');
            count = 1;
            if (star) {
                *star = '\0';
                count = strtol(star + 1, &end, 10);
                if (end == star + 1 || *end)
                    count = -1;
            }
            name = strcmp(names[i], "model") == 0 ? model : names[i];
            sb_view v;
            size_t len = strlen(names[i]);
            int file = len > 4 && strcmp(names[i] + len - 4, ".ini") == 0;
            if (!file && strcmp(names[i], "model") != 0 && ann_reference(names[i], &v) == names[i])
                return sb_fail(SB_ECONFIG,
                               "%s: ensemble.members item '%s': not a reference model "
                               "(cnn-vgg-s, lstm-rows, lstm-cols), 'model' or a job file (.ini)",
                               where, items[i]);
            sb_recipe r = e->base;
            sb_status st = file ? load_recipe(c, names[i], where, e, &r) : SB_OK;
            if (st)
                return st;
            if (!file)
                sb_recipe_set_arch(&r, name);
            for (long k = 0; count >= 1 && k < count && e->n + k < MAX_MEMBERS; k++)
                e->rec[e->n + k] = r;
        } else if (*end) {
            count = -1;
        }
        if (count < 1 || count > MAX_MEMBERS - e->n)
            return sb_fail(SB_ECONFIG,
                           "%s: ensemble.members item '%s': expected N, NAME or NAME*N with "
                           "1 <= N and at most %d members in all",
                           where, items[i], MAX_MEMBERS);
        for (long k = 0; k < count; k++) {
            if (plain) {
                e->rec[e->n] = e->base;
                sb_recipe_set_arch(&e->rec[e->n], name);
            }
            e->name[e->n++] = name;
        }
    }
    if (e->n == 0)
        return sb_fail(SB_ECONFIG, "%s: ensemble.members lists no member", where);
    return SB_OK;
}

static void setup_free(ensemble_setup *e)
{
    for (int i = 0; e && i < e->nfile; i++)
        sb_config_free(e->file[i]);
    free(e);
}

static sb_status read_setup(const sb_job *job, ensemble_setup *e)
{
    sb_status st = sb_recipe_read(job->cfg, &e->base);
    if (!st)
        st = parse_members(job->cfg, e);
    return st;
}

sb_status sb_task_ensemble_check(const sb_job *job)
{
    ensemble_setup *e = SB_CALLOC(1, sizeof *e);
    if (!e)
        return SB_ENOMEM;
    sb_status st = read_setup(job, e);
    for (int m = 0; m < e->n && !st; m++)
        if (m == 0 || e->name[m] != e->name[m - 1])
            st = sb_recipe_check_arch(&e->rec[m]);
    setup_free(e);
    return st;
}

typedef struct {
    ann_trainer t;   /* trained here, or built for shapes only */
    float *probs;    /* owner: test images x classes */
    double accuracy; /* known on rank 0 after the gather */
    int complete;
} member_state;


/* Rank 0: mean probabilities and majority vote (ties go to the class with
 * the larger mean probability), in member order. */
static void combine(const float *all, int members, uint64_t n, int classes, const uint8_t *labels,
                    float *mean, uint8_t *vote, double *acc_mean, double *acc_vote)
{
    uint64_t ok_mean = 0, ok_vote = 0;
    int *votes = calloc((size_t)classes, sizeof *votes);
    for (uint64_t i = 0; i < n; i++) {
        float *p = mean + i * (uint64_t)classes;
        memset(votes, 0, (size_t)classes * sizeof *votes);
        for (int k = 0; k < classes; k++) {
            double s = 0;
            for (int m = 0; m < members; m++)
                s += all[((uint64_t)m * n + i) * (uint64_t)classes + (uint64_t)k];
            p[k] = (float)(s / members);
        }
        for (int m = 0; m < members; m++)
            votes[ann_argmax(all + ((uint64_t)m * n + i) * (uint64_t)classes, classes)]++;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (votes[k] > votes[best] || (votes[k] == votes[best] && p[k] > p[best]))
                best = k;
        vote[i] = (uint8_t)best;
        ok_mean += ann_argmax(p, classes) == labels[i];
        ok_vote += best == labels[i];
    }
    free(votes);
    *acc_mean = n ? (double)ok_mean / (double)n : 0;
    *acc_vote = n ? (double)ok_vote / (double)n : 0;
}

static sb_status write_output(const sb_job *job, const char *path, const ensemble_setup *e,
                              member_state *ms, const float *all, const float *mean,
                              const uint8_t *vote, const uint8_t *labels, const double *acc,
                              double acc_mean, double acc_vote)
{
    MPI_Comm comm = job->par->comm;
    const int rank = job->par->rank, size = job->par->size, root = rank == 0;
    h5_out f;
    sb_status st = h5_create(&f, path, comm);
    if (st)
        return st;
    st = h5_attr_str(f.id, "task", "ensemble");
    for (int m = 0; m < e->n && !st; m++) {
        char where[64];
        const sb_recipe r = e->rec[m];
        int holder = m % size == rank;
        snprintf(where, sizeof where, "members/%04d/model", m);
        st = sb_write_model(f.id, where, &ms[m].t.model, &r, holder, comm);
        snprintf(where, sizeof where, "members/%04d/metrics", m);
        if (!st)
            st = sb_write_metrics(f.id, where, &ms[m].t, r.tc.epochs, holder, comm);
        snprintf(where, sizeof where, "members/%04d", m);
        hid_t g;
        if (!st)
            st = h5_group(f.id, where, &g);
        if (!st) {
            st = h5_attr_str(g, "arch_name", e->name[m]);
            if (!st)
                st = h5_attr_f64(g, "test_accuracy", acc[m]);
            H5Gclose(g);
        }
    }
    const uint64_t n = e->base.ntest;
    hsize_t inner[2] = {n, (hsize_t)ms[0].t.model.classes};
    if (!st)
        st = h5_write_rows(f.id, "ensemble/member_probs", H5T_NATIVE_FLOAT, 2, inner, all,
                           root ? (uint64_t)e->n : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "ensemble/mean_probs", H5T_NATIVE_FLOAT, 1, inner + 1, mean,
                           root ? n : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "ensemble/vote", H5T_NATIVE_UINT8, 0, NULL, vote, root ? n : 0, comm);
    if (!st)
        st = h5_write_rows(f.id, "ensemble/labels", H5T_NATIVE_UINT8, 0, NULL, labels, root ? n : 0,
                           comm);
    if (!st)
        st = h5_write_rows(f.id, "ensemble/member_accuracy", H5T_NATIVE_DOUBLE, 0, NULL, acc,
                           root ? (uint64_t)e->n : 0, comm);
    if (!st) {
        hid_t g;
        st = h5_group(f.id, "ensemble", &g);
        if (!st) {
            st = h5_attr_f64(g, "accuracy_mean", acc_mean);
            if (!st)
                st = h5_attr_f64(g, "accuracy_vote", acc_vote);
            if (!st)
                st = h5_attr_i64(g, "members", e->n);
            H5Gclose(g);
        }
    }
    return sb_job_finish_output(job, &f, st);
}

/* Trains this rank's members (m = rank, rank + P, ...). */
static sb_status train_mine(const sb_job *job, const ensemble_setup *e, const char *path,
                            member_state *ms, sb_dataset *test)
{
    const int rank = job->par->rank, size = job->par->size;
    sb_dataset train = {0};
    sb_status st = SB_OK;
    if (rank < e->n) {
        st = sb_dataset_load(&train, e->base.dir, SB_SPLIT_TRAIN, 0, e->base.ntrain);
        if (!st)
            st = sb_dataset_load(test, e->base.dir, SB_SPLIT_TEST, 0, e->base.ntest);
    }
    for (int m = 0; m < e->n && !st; m++) {
        sb_recipe r = e->rec[m];
        if (m % size != rank) {
            st = ann_model_build(&ms[m].t.model, r.arch, ann_input_shape(r.tc.view, r.rows, r.cols), 1);
            ms[m].complete = 1;
            continue;
        }
        char ckpt[4200];
        snprintf(ckpt, sizeof ckpt, "%s.ckpt/member_%04d.h5", path, m);
        sb_info("ensemble: member %d (%s) on rank %d", m, e->name[m], rank);
        st = sb_member_train(&r, (uint64_t)m, ckpt, &train, test, &ms[m].t, &ms[m].probs,
                             &ms[m].accuracy, &ms[m].complete);
    }
    sb_dataset_free(&train);
    return st;
}

sb_status sb_task_ensemble_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    ensemble_setup *e = SB_CALLOC(1, sizeof *e);
    if (!e)
        return SB_ENOMEM;
    sb_status st = read_setup(job, e);
    if (st) {
        setup_free(e);
        return st;
    }
    char path[4096];
    sb_job_output(job, path, sizeof path);
    sb_info("ensemble: %d members on %d rank%s x %d thread%s", e->n, par->size,
            par->size > 1 ? "s" : "", par->threads, par->threads > 1 ? "s" : "");
    if (par->size > e->n)
        sb_warn("%d ranks for %d members: %d rank%s wait", par->size, e->n, par->size - e->n,
                par->size - e->n > 1 ? "s" : "");

    member_state *ms = SB_CALLOC((size_t)e->n, sizeof *ms);
    sb_dataset test = {0};
    st = ms ? train_mine(job, e, path, ms, &test) : SB_ENOMEM;
    par_idle_barrier(par->comm);
    st = par_agree(st, par->comm);
    int complete = 1;
    for (int m = 0; m < e->n && ms && !st; m++)
        complete &= ms[m].complete;
    int all_complete = 0;
    if (!st)
        MPI_Allreduce(&complete, &all_complete, 1, MPI_INT, MPI_LAND, par->comm);
    if (!st && !all_complete)
        sb_info("ensemble: some members stopped early (train.epochs_per_run); run the same job "
                "again to continue from %s.ckpt/",
                path);

    const uint64_t n = e->base.ntest;
    const int classes = ms && !st ? ms[0].t.model.classes : 0;
    float *all = NULL, *mean = NULL;
    uint8_t *vote = NULL, *labels = NULL;
    double *acc = NULL, acc_mean = 0, acc_vote = 0;
    if (!st && all_complete) {
        /* Probabilities and accuracies to rank 0, member by member. */
        const size_t per = (size_t)n * (size_t)classes;
        if (par->rank == 0) {
            all = SB_MALLOC((size_t)e->n * per + 1, sizeof *all);
            mean = SB_MALLOC(per + 1, sizeof *mean);
            vote = SB_MALLOC(n + 1, 1);
            labels = SB_MALLOC(n + 1, 1);
            st = all && mean && vote && labels ? SB_OK : SB_ENOMEM;
        }
        acc = SB_CALLOC((size_t)e->n, sizeof *acc);
        if (!acc)
            st = SB_ENOMEM;
        st = par_agree(st, par->comm);
        for (int m = 0; m < e->n && !st; m++) {
            int owner = m % par->size;
            if (owner == 0 && par->rank == 0) {
                memcpy(all + (size_t)m * per, ms[m].probs, per * sizeof *all);
                acc[m] = ms[m].accuracy;
            } else if (par->rank == 0) {
                MPI_Recv(all + (size_t)m * per, (int)per, MPI_FLOAT, owner, m, par->comm, MPI_STATUS_IGNORE);
                MPI_Recv(acc + m, 1, MPI_DOUBLE, owner, m, par->comm, MPI_STATUS_IGNORE);
            } else if (owner == par->rank) {
                MPI_Send(ms[m].probs, (int)per, MPI_FLOAT, 0, m, par->comm);
                MPI_Send(&ms[m].accuracy, 1, MPI_DOUBLE, 0, m, par->comm);
            }
        }
        if (!st && par->rank == 0) {
            memcpy(labels, test.labels, n);
            combine(all, e->n, n, classes, labels, mean, vote, &acc_mean, &acc_vote);
        }
        /* Attributes are written by every rank with the same value. */
        if (!st) {
            MPI_Bcast(acc, e->n, MPI_DOUBLE, 0, par->comm);
            MPI_Bcast(&acc_mean, 1, MPI_DOUBLE, 0, par->comm);
            MPI_Bcast(&acc_vote, 1, MPI_DOUBLE, 0, par->comm);
            st = write_output(job, path, e, ms, all, mean, vote, labels, acc, acc_mean, acc_vote);
        }
        if (!st && par->rank == 0) {
            sb_info("  member  model          test accuracy");
            for (int m = 0; m < e->n; m++)
                sb_info("  %6d  %-12s  %12.2f %%", m, e->name[m], 100 * acc[m]);
            sb_info("  ensemble, mean probability %8.2f %%", 100 * acc_mean);
            sb_info("  ensemble, majority vote    %8.2f %%", 100 * acc_vote);
            sb_info("ensemble: wrote %s", path);
        }
    }
    for (int m = 0; ms && m < e->n; m++) {
        free(ms[m].probs);
        ann_trainer_free(&ms[m].t);
    }
    free(ms);
    free(all);
    free(mean);
    free(vote);
    free(labels);
    free(acc);
    sb_dataset_free(&test);
    setup_free(e);
    return st;
}
