/*
 * spikebridge — command line only. Parses the verb, starts MPI, loads the
 * job, hands it to its task, and turns any failure into one error line from
 * the rank that failed first and a non-zero exit on every rank.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/config.h"
#include "spikebridge/io.h"
#include "spikebridge/par.h"
#include "spikebridge/tasks.h"
#include "version.h"

/* EXIT_REQUEUE: stopped by SIGUSR1/SIGTERM at a safe point after writing
 * checkpoints; the same job started again resumes (the sbatch scripts in slurm/ requeue). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_REQUEUE = 3 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spikebridge run JOB.ini [section.key=value ...]   run a job\n"
            "       spikebridge validate JOB.ini [section.key=value ...]  check a job, run nothing\n"
            "       spikebridge run SWEEP.ini --sweep-index I [...]    one point of a sweep (SLURM arrays)\n"
            "       spikebridge sweep-size SWEEP.ini [...]            how many points a sweep has\n"
            "       spikebridge collect OUT.h5 RUN.h5...              merge runs into one table (+ OUT.csv)\n"
            "       spikebridge info FILE.h5                          what a result file holds\n"
            "       spikebridge help-keys [--markdown]                every job key, with defaults\n"
            "       spikebridge version\n"
            "Launch jobs with mpirun -np P (or srun); every rank runs the same command.\n");
}

static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = SB_CALLOC(len, 1);
    for (int i = 0; s && i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* "jobs/quickstart.ini" → "quickstart" */
static void job_name(const char *path, char *name, size_t len)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(name, len, "%s", basename(copy));
    char *dot = strrchr(name, '.');
    if (dot && dot != name)
        *dot = '\0';
}

/* Pulls "--sweep-index I" out of the arguments; -1 when absent. */
static long take_sweep_index(int *argc, char **argv, sb_status *st)
{
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--sweep-index") != 0)
            continue;
        char *end = NULL;
        long v = i + 1 < *argc ? strtol(argv[i + 1], &end, 10) : -1;
        if (!end || end == argv[i + 1] || *end || v < 0) {
            *st = sb_fail(SB_EINVAL, "--sweep-index needs a point number (0, 1, ...)");
            return -1;
        }
        for (int j = i; j + 2 <= *argc; j++)
            argv[j] = argv[j + 2];
        *argc -= 2;
        return v;
    }
    return -1;
}

enum { VERB_RUN, VERB_VALIDATE, VERB_SWEEP_SIZE };

static sb_status run_job(const par_ctx *par, int verb, int argc, char **argv, char *command_line)
{
    sb_status st = SB_OK;
    long index = take_sweep_index(&argc, argv, &st);
    if (st)
        return st;
    sb_config *cfg = NULL;
    st = sb_config_load(&cfg, sb_job_keys, sb_job_nkeys, argv[0], argc - 1, argv + 1);
    if (st)
        return st;
    char name[256];
    job_name(argv[0], name, sizeof name);
    sb_job job = {cfg, par, name, command_line, argc - 1, argv + 1};
    const char *task_name = sb_cfg_str(cfg, "job", "task");
    if ((index >= 0 || verb == VERB_SWEEP_SIZE) && strcmp(task_name, "sweep") != 0) {
        st = sb_fail(SB_ECONFIG, "%s: %s is for sweeps, and job.task is %s",
                     sb_cfg_where(cfg, "job", "task"), index >= 0 ? "--sweep-index" : "sweep-size",
                     task_name);
    } else if (verb == VERB_SWEEP_SIZE) {
        uint64_t points = 0;
        st = sb_sweep_size(cfg, &points);
        if (!st && par->rank == 0)
            printf("%llu\n", (unsigned long long)points);
    } else if (index >= 0) {
        /* One point of a sweep: the same job with the point's overrides. */
        sb_config *pc;
        st = sb_sweep_point_config(&job, (uint64_t)index, &pc);
        if (!st) {
            sb_config_free(cfg);
            cfg = pc;
            job.cfg = cfg;
            task_name = sb_cfg_str(cfg, "job", "task");
        }
    }
    if (st || verb == VERB_SWEEP_SIZE) {
        sb_config_free(cfg);
        return st;
    }
    const char *level = sb_cfg_str(cfg, "job", "log");
    sb_log_init(par->rank, strcmp(level, "quiet") == 0   ? SB_LOG_QUIET
                           : strcmp(level, "debug") == 0 ? SB_LOG_DEBUG
                                                         : SB_LOG_INFO);
    sb_blas_core_report();
    const sb_task *task = sb_task_find(task_name);
    if (!task) {
        st = sb_fail(SB_ECONFIG, "%s: task '%s' is not available in this version",
                     sb_cfg_where(cfg, "job", "task"), task_name);
        sb_config_free(cfg);
        return st;
    }
    st = task->check(&job);
    /* Every rank must take the same branch: rank 0 decides. */
    int done = !st && verb == VERB_RUN && par->rank == 0 && sb_job_already_done(&job);
    MPI_Bcast(&done, 1, MPI_INT, 0, par->comm);
    if (done) {
        char out[4096];
        sb_info("%s: %s already holds the result of this exact job; nothing to do (delete it "
                "to run again)", argv[0], sb_job_output(&job, out, sizeof out));
    } else if (!st && verb == VERB_RUN)
        st = task->run(&job);
    else if (!st)
        sb_info("%s: valid %s job", argv[0], task_name);
    sb_config_free(cfg);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "version") == 0 || strcmp(verb, "--version") == 0) {
        printf("spikebridge %s\n", SB_VERSION);
        return EXIT_OK;
    }
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "help-keys") == 0 ||
        (strcmp(verb, "run") == 0 && argc > 2 && strcmp(argv[2], "--help-keys") == 0)) {
        int md = argc > 2 && strcmp(argv[argc - 1], "--markdown") == 0;
        sb_config_print_keys(stdout, sb_job_keys, sb_job_nkeys, md);
        return EXIT_OK;
    }
    int execute = strcmp(verb, "run") == 0;
    int info = strcmp(verb, "info") == 0, collect = strcmp(verb, "collect") == 0;
    int size_only = strcmp(verb, "sweep-size") == 0;
    if (!execute && !info && !collect && !size_only && strcmp(verb, "validate") != 0) {
        fprintf(stderr, "spikebridge: unknown command '%s'\n", verb);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (argc < 3) {
        usage(stderr);
        return EXIT_USAGE;
    }

    if (execute)
        sb_blas_core_fix(argv);
    par_ctx par;
    sb_status st = par_init(&argc, &argv, &par);
    if (st) {
        fprintf(stderr, "spikebridge: error: %s\n", sb_last_error());
        return EXIT_ERROR;
    }
    sb_log_init(par.rank, SB_LOG_INFO);
    sb_signals_install();
    h5_quiet();
    char *command_line = join_args(argc, argv);
    if (!command_line)
        st = SB_ENOMEM;
    else if (info)
        st = par.rank == 0 ? h5_print_info(stdout, argv[2]) : SB_OK;
    else if (collect)
        st = sb_collect(argv[2], (const char *const *)argv + 3, argc - 3, par.comm);
    else
        st = run_job(&par, execute ? VERB_RUN : size_only ? VERB_SWEEP_SIZE : VERB_VALIDATE, argc - 2,
                     argv + 2, command_line);

    /* Stopped by a signal everywhere it stopped, and failed nowhere: not an
     * error but a request to be started again. */
    int real = st != SB_OK && st != SB_EINTERRUPTED && st != SB_EPEER, stopped = st == SB_EINTERRUPTED;
    int any_real = 0, any_stopped = 0;
    MPI_Allreduce(&real, &any_real, 1, MPI_INT, MPI_LOR, par.comm);
    MPI_Allreduce(&stopped, &any_stopped, 1, MPI_INT, MPI_LOR, par.comm);
    if (!any_real && any_stopped) {
        if (par.rank == 0)
            fprintf(stderr, "spikebridge: stopped by a signal at a safe point; checkpoints are "
                            "written; run the same job again to resume (exit status %d)\n",
                    EXIT_REQUEUE);
        free(command_line);
        par_finalize();
        return EXIT_REQUEUE;
    }
    int first = par_first_failure(st, par.comm);
    if (first == par.rank) {
        const char *msg = sb_last_error()[0] ? sb_last_error() : sb_status_name(st);
        if (par.rank == 0)
            fprintf(stderr, "spikebridge: error: %s\n", msg);
        else
            fprintf(stderr, "spikebridge: error (rank %d): %s\n", par.rank, msg);
    }
    free(command_line);
    par_finalize();
    return first >= 0 ? EXIT_ERROR : EXIT_OK;
}
