/* The task registry. A task is listed here only when it is implemented. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spikebridge/tasks.h"

sb_status sb_task_encode_check(const sb_job *job);
sb_status sb_task_encode_run(const sb_job *job);
sb_status sb_task_train_check(const sb_job *job);
sb_status sb_task_train_run(const sb_job *job);
sb_status sb_task_ensemble_check(const sb_job *job);
sb_status sb_task_ensemble_run(const sb_job *job);
sb_status sb_task_sweep_check(const sb_job *job);
sb_status sb_task_sweep_run(const sb_job *job);
sb_status sb_task_simulate_check(const sb_job *job);
sb_status sb_task_simulate_run(const sb_job *job);
sb_status sb_task_stdp_mnist_check(const sb_job *job);
sb_status sb_task_stdp_mnist_run(const sb_job *job);
sb_status sb_task_convert_check(const sb_job *job);
sb_status sb_task_convert_run(const sb_job *job);
sb_status sb_task_stdp_window_check(const sb_job *job);
sb_status sb_task_stdp_window_run(const sb_job *job);

static const sb_task tasks[] = {
    {"encode", "encode images as spike trains (poisson, latency, integrate) into a SONATA file",
     sb_task_encode_check, sb_task_encode_run},
    {"train", "train one CNN or LSTM on MNIST; weights, metrics and test probabilities to HDF5",
     sb_task_train_check, sb_task_train_run},
    {"ensemble", "train M models, member m on rank m mod P; mean-probability and vote ensembles",
     sb_task_ensemble_check, sb_task_ensemble_run},
    {"sweep", "run the job once per point of [sweep], in groups of ranks, and collect the points",
     sb_task_sweep_check, sb_task_sweep_run},
    {"simulate", "simulate a spiking network of populations, stimuli and projections; spikes to SONATA",
     sb_task_simulate_check, sb_task_simulate_run},
    {"stdp-mnist", "Diehl & Cook 2015: learn MNIST by STDP without labels, then label neurons and classify",
     sb_task_stdp_mnist_check, sb_task_stdp_mnist_run},
    {"convert", "convert a trained CNN to integrate-and-fire neurons; accuracy against time steps",
     sb_task_convert_check, sb_task_convert_run},
    {"stdp-window", "weight change against pre/post spike offset: pair STDP and Bengio et al. 2015",
     sb_task_stdp_window_check, sb_task_stdp_window_run},
};

const sb_task *sb_task_find(const char *name)
{
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
        if (strcmp(tasks[i].name, name) == 0)
            return &tasks[i];
    return NULL;
}

void sb_job_tag(const sb_job *job, const char *kind, char *tag, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *s = sb_cfg_effective_text(job->cfg); *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    snprintf(tag, len, "%s ranks=%d job=%016llx", kind, job->par->size, (unsigned long long)h);
}

sb_status sb_job_reload(const sb_job *job, char *const *extra, int nextra, sb_config **cfg)
{
    int n = job->noverrides + nextra;
    char **all = SB_CALLOC((size_t)n + 1, sizeof *all);
    if (!all)
        return SB_ENOMEM;
    for (int i = 0; i < job->noverrides; i++)
        all[i] = job->overrides[i];
    for (int i = 0; i < nextra; i++)
        all[job->noverrides + i] = extra[i];
    sb_status st = sb_config_parse(cfg, sb_job_keys, sb_job_nkeys, sb_cfg_path(job->cfg),
                                   sb_cfg_job_text(job->cfg), n, all);
    free(all);
    return st;
}

sb_status sb_job_create_output(const sb_job *job, h5_out *f)
{
    char path[4096];
    sb_status st = h5_create(f, sb_job_output(job, path, sizeof path), job->par->comm);
    if (st)
        return st;
    st = h5_attr_str(f->id, "task", sb_cfg_str(job->cfg, "job", "task"));
    if (st)
        h5_discard(f);
    return st;
}

sb_status sb_job_finish_output(const sb_job *job, h5_out *f, sb_status st)
{
    if (!st)
        st = h5_write_provenance(f->id, job->cfg, job->command_line, job->par->threads, f->comm);
    if (st) {
        h5_discard(f);
        return st;
    }
    return h5_commit(f);
}

int sb_job_already_done(const sb_job *job)
{
    char path[4096];
    sb_job_output(job, path, sizeof path);
    if (access(path, F_OK) != 0)
        return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 && H5Lexists(f, "provenance", H5P_DEFAULT) > 0
                  ? H5Dopen2(f, "provenance/effective", H5P_DEFAULT)
                  : H5I_INVALID_HID;
    int same = 0;
    if (d >= 0) {
        hid_t t = H5Dget_type(d);
        size_t len = H5Tget_size(t);
        char *text = calloc(len + 1, 1);
        if (text && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0)
            same = strcmp(text, sb_cfg_effective_text(job->cfg)) == 0;
        free(text);
        H5Tclose(t);
        H5Dclose(d);
    }
    H5Eclear2(H5E_DEFAULT);
    if (f >= 0)
        H5Fclose(f);
    return same;
}

sb_status sb_count_split(const sb_config *c, const char *dir, sb_split split, uint64_t *n)
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

const char *sb_job_output(const sb_job *job, char *buf, size_t len)
{
    const char *out = sb_cfg_str(job->cfg, "job", "output");
    if (out[0])
        snprintf(buf, len, "%s", out);
    else
        snprintf(buf, len, "runs/%s.h5", job->name);
    return buf;
}
