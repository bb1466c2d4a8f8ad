/*
 * tasks.h — the kinds of work a job file can ask for, and the table of every
 * key a job file may set.
 */
#ifndef SPIKEBRIDGE_TASKS_H
#define SPIKEBRIDGE_TASKS_H

#include "spikebridge/config.h"
#include "spikebridge/data.h"
#include "spikebridge/io.h"
#include "spikebridge/par.h"

/* One job as the task sees it. */
typedef struct {
    const sb_config *cfg;     /* validated job file + overrides */
    const par_ctx *par;       /* ranks and threads */
    const char *name;         /* job file's base name without .ini */
    const char *command_line; /* for provenance */
    int noverrides;           /* the command line's section.key=value overrides */
    char *const *overrides;
} sb_job;

typedef struct {
    const char *name;    /* the value of job.task */
    const char *summary; /* one line for --help */
    /* Everything that can be checked before running (values that are wrong
     * together, input files' headers). Collective. */
    sb_status (*check)(const sb_job *job);
    /* Does the work and writes job.output. Collective. */
    sb_status (*run)(const sb_job *job);
} sb_task;

/* The task named by job.task; NULL if none. */
const sb_task *sb_task_find(const char *name);

/* Every key of every section a job may set. */
extern const sb_key_spec sb_job_keys[];
extern const size_t sb_job_nkeys;

/* job.output, or runs/<job name>.h5 when it is empty. */
const char *sb_job_output(const sb_job *job, char *buf, size_t len);

/* Collective: creates job.output (as <path>.part until committed) with
 * the root attribute task = job.task. On failure there is no file. */
sb_status sb_job_create_output(const sb_job *job, h5_out *f);

/* Collective: writes /provenance into f, then commits it, or discards it
 * when st (the status of everything written before) or provenance failed. */
sb_status sb_job_finish_output(const sb_job *job, h5_out *f, sb_status st);

/* 1 if the job's output already exists and was made by exactly this job
 * (same effective settings in its /provenance): then there is nothing to
 * do. Any rank may call it; it reads the file serially. */
int sb_job_already_done(const sb_job *job);

/* A checkpoint tag: `kind`, the rank count and a hash of the job's
 * effective settings, so that a checkpoint of another job or layout is
 * refused. */
void sb_job_tag(const sb_job *job, const char *kind, char *tag, size_t len);

/* Images of a split the job uses: data.train or data.test (0 = all),
 * checked against what the dataset in dir holds. */
sb_status sb_count_split(const sb_config *c, const char *dir, sb_split split, uint64_t *n);

/* The job again with `extra` overrides after its own (a sweep point). */
sb_status sb_job_reload(const sb_job *job, char *const *extra, int nextra, sb_config **cfg);

/* ------------------------------------------------------------------ sweeps */

/* Points of the job's [sweep]. */
sb_status sb_sweep_size(const sb_config *cfg, uint64_t *points);
/* The overrides that make point p of a sweep whose output is job_output
 * (its values, job.output, job.task); free with sb_sweep_point_free. */
sb_status sb_sweep_point(const sb_config *cfg, const char *job_output, uint64_t p,
                         char ***overrides, int *n);
void sb_sweep_point_free(char **overrides, int n);
/* The whole configuration of point p: the job with its overrides and the
 * point's (free with sb_config_free). */
sb_status sb_sweep_point_config(const sb_job *job, uint64_t p, sb_config **cfg);

/* Collective over comm (one rank is enough): merges result files into one
 * table, sorted by their metric (test accuracy of train, mean-probability
 * accuracy of ensemble), as OUT (HDF5) and OUT with .csv, and names the
 * best. Each row holds the file's overrides from its provenance. */
sb_status sb_collect(const char *out, const char *const *files, int n, MPI_Comm comm);

#endif
