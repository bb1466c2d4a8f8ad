/*
 * tasks.h — the kinds of work a job file can ask for, and the table of every
 * key a job file may set.
 */
#ifndef SPIKEBRIDGE_TASKS_H
#define SPIKEBRIDGE_TASKS_H

#include "spikebridge/config.h"
#include "spikebridge/par.h"

/* One job as the task sees it. */
typedef struct {
    const sb_config *cfg;     /* validated job file + overrides */
    const par_ctx *par;       /* ranks and threads */
    const char *name;         /* job file's base name without .ini */
    const char *command_line; /* for provenance */
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

#endif
