/*
 * Task `sweep`: one job, many points. [sweep] lists values for any keys
 * (`train.lr = 0.01, 0.05, 0.1`); the points are their product (grid) or
 * `samples` random picks from it. Each point is the same job with those
 * values as overrides, `job.task = sweep.task` and its own output file
 * `<output stem>_pNNNN.h5`.
 *
 * In one MPI job the world is split into groups of `ranks_per_point` ranks
 * and group g runs points g, g + G, ...; a point that fails is reported and
 * the others go on. As a SLURM array, `run JOB --sweep-index I` runs point I
 * alone. Either way `spikebridge collect` (or the end of an in-job sweep)
 * gathers the points into one table.
 *
 * Meta keys live in [sweep] too and have no '.': task, mode, samples,
 * ranks_per_point. Every other key names a job key.
 */
#include <stdlib.h>
#include <string.h>

#include "spikebridge/io.h"
#include "spikebridge/tasks.h"

enum { MAX_KEYS = 16, MAX_POINTS = 100000 };

typedef struct {
    const char *task;        /* task of each point */
    int random;              /* mode = random */
    int ranks_per_point;
    int nkeys;
    const char *key[MAX_KEYS];
    int nvalues[MAX_KEYS];
    const char *const *values[MAX_KEYS];
    uint64_t grid;           /* product of the value counts */
    uint64_t points;         /* points of the sweep */
    uint32_t seed;
} sweep_def;

static sb_status meta_value(const sb_config *c, const char *key, const char **value)
{
    const char *const *items;
    int n = sb_cfg_list(c, "sweep", key, &items);
    *value = "";
    if (n != 1)
        return sb_fail(SB_ECONFIG, "%s: sweep.%s takes one value", sb_cfg_where(c, "sweep", key), key);
    *value = items[0];
    return SB_OK;
}

static sb_status meta_count(const sb_config *c, const char *key, long lo, long hi, long *out)
{
    const char *v = "";
    sb_status st = meta_value(c, key, &v);
    if (st)
        return st;
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi)
        return sb_fail(SB_ECONFIG, "%s: sweep.%s = %s: expected a whole number in [%ld, %ld]",
                       sb_cfg_where(c, "sweep", key), key, v, lo, hi);
    *out = n;
    return SB_OK;
}

static sb_status read_def(const sb_config *c, sweep_def *d)
{
    memset(d, 0, sizeof *d);
    d->task = "train";
    d->ranks_per_point = 1;
    d->seed = (uint32_t)sb_cfg_int(c, "job", "seed");
    const char *const *names;
    int n = sb_cfg_open_keys(c, "sweep", &names);
    long samples = 0;
    sb_status st = SB_OK;
    for (int i = 0; i < n && !st; i++) {
        const char *k = names[i];
        const char *v = NULL;
        long num;
        if (strcmp(k, "task") == 0) {
            st = meta_value(c, k, &v);
            if (!st && (strcmp(v, "sweep") == 0 || !sb_task_find(v)))
                st = sb_fail(SB_ECONFIG, "%s: sweep.task = %s: not a task a point can run",
                             sb_cfg_where(c, "sweep", k), v);
            d->task = v;
        } else if (strcmp(k, "mode") == 0) {
            st = meta_value(c, k, &v);
            if (!st && strcmp(v, "grid") != 0 && strcmp(v, "random") != 0)
                st = sb_fail(SB_ECONFIG, "%s: sweep.mode = %s: expected grid or random",
                             sb_cfg_where(c, "sweep", k), v);
            d->random = !st && strcmp(v, "random") == 0;
        } else if (strcmp(k, "samples") == 0) {
            st = meta_count(c, k, 1, MAX_POINTS, &samples);
        } else if (strcmp(k, "ranks_per_point") == 0) {
            st = meta_count(c, k, 1, 1 << 20, &num);
            d->ranks_per_point = (int)num;
        } else if (!strchr(k, '.')) {
            st = sb_fail(SB_ECONFIG,
                         "%s: [sweep] %s: unknown setting (task, mode, samples, ranks_per_point) "
                         "and not a section.key to sweep",
                         sb_cfg_where(c, "sweep", k), k);
        } else if (strncmp(k, "job.", 4) == 0 || strncmp(k, "sweep.", 6) == 0) {
            st = sb_fail(SB_ECONFIG, "%s: [sweep] %s: job and sweep keys cannot be swept",
                         sb_cfg_where(c, "sweep", k), k);
        } else if (d->nkeys == MAX_KEYS) {
            st = sb_fail(SB_ECONFIG, "%s: [sweep] more than %d keys", sb_cfg_where(c, "sweep", k),
                         MAX_KEYS);
        } else {
            d->key[d->nkeys] = k;
            d->nvalues[d->nkeys] = sb_cfg_list(c, "sweep", k, &d->values[d->nkeys]);
            if (d->nvalues[d->nkeys] == 0)
                st = sb_fail(SB_ECONFIG, "%s: [sweep] %s lists no value", sb_cfg_where(c, "sweep", k), k);
            d->nkeys++;
        }
    }
    if (st)
        return st;
    if (d->nkeys == 0)
        return sb_fail(SB_ECONFIG, "%s: a sweep needs a [sweep] section with at least one "
                       "section.key = value, value, ...", sb_cfg_path(c));
    d->grid = 1;
    for (int k = 0; k < d->nkeys; k++) {
        d->grid *= (uint64_t)d->nvalues[k];
        if (d->grid > MAX_POINTS)
            return sb_fail(SB_ECONFIG, "%s: the grid has more than %d points", sb_cfg_path(c),
                           MAX_POINTS);
    }
    if (d->random && samples == 0)
        return sb_fail(SB_ECONFIG, "%s: sweep.mode = random needs sweep.samples", sb_cfg_path(c));
    d->points = d->random ? (uint64_t)samples : d->grid;
    return SB_OK;
}

/* Value index of key k at point p: grid points count with the first key
 * slowest; random points draw each key from (seed, SWEEP, point). */
static int value_of(const sweep_def *d, uint64_t p, int k)
{
    if (d->random) {
        sb_rng r;
        sb_rng_init(&r, d->seed, SB_STREAM_SWEEP, p, (uint64_t)k);
        return (int)(((uint64_t)sb_rng_u32(&r) * (uint64_t)d->nvalues[k]) >> 32);
    }
    uint64_t stride = 1;
    for (int j = k + 1; j < d->nkeys; j++)
        stride *= (uint64_t)d->nvalues[j];
    return (int)(p / stride % (uint64_t)d->nvalues[k]);
}

sb_status sb_sweep_size(const sb_config *cfg, uint64_t *points)
{
    sweep_def d;
    sb_status st = read_def(cfg, &d);
    *points = st ? 0 : d.points;
    return st;
}

/* "runs/x.h5" → "runs/x_p0003.h5" */
static void point_output(const char *base, uint64_t p, char *out, size_t len)
{
    const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - base) : strlen(base);
    snprintf(out, len, "%.*s_p%04llu%s", (int)stem, base, (unsigned long long)p, base + stem);
}

sb_status sb_sweep_point(const sb_config *cfg, const char *job_output, uint64_t p,
                         char ***overrides, int *n)
{
    sweep_def d;
    sb_status st = read_def(cfg, &d);
    if (st)
        return st;
    if (p >= d.points)
        return sb_fail(SB_EINVAL, "%s: sweep point %llu does not exist (the sweep has %llu: 0..%llu)",
                       sb_cfg_path(cfg), (unsigned long long)p, (unsigned long long)d.points,
                       (unsigned long long)d.points - 1);
    char **ov = SB_CALLOC((size_t)d.nkeys + 2, sizeof *ov);
    if (!ov)
        return SB_ENOMEM;
    int count = 0;
    for (int k = 0; k < d.nkeys; k++) {
        const char *v = d.values[k][value_of(&d, p, k)];
        size_t len = strlen(d.key[k]) + strlen(v) + 2;
        if ((ov[count] = SB_MALLOC(len, 1)) != NULL)
            snprintf(ov[count++], len, "%s=%s", d.key[k], v);
    }
    char out[4200], buf[4300];
    point_output(job_output, p, out, sizeof out);
    snprintf(buf, sizeof buf, "job.output=%s", out);
    ov[count++] = sb_strdup(buf);
    snprintf(buf, sizeof buf, "job.task=%s", d.task);
    ov[count++] = sb_strdup(buf);
    for (int i = 0; i < count; i++)
        if (!ov[i])
            st = SB_ENOMEM;
    *overrides = ov;
    *n = count;
    return st;
}

void sb_sweep_point_free(char **overrides, int n)
{
    for (int i = 0; overrides && i < n; i++)
        free(overrides[i]);
    free(overrides);
}

sb_status sb_sweep_point_config(const sb_job *job, uint64_t p, sb_config **cfg)
{
    char out[4096], **ov = NULL;
    int n = 0;
    *cfg = NULL;
    sb_status st = sb_sweep_point(job->cfg, sb_job_output(job, out, sizeof out), p, &ov, &n);
    if (!st)
        st = sb_job_reload(job, ov, n, cfg);
    sb_sweep_point_free(ov, n);
    return st;
}

sb_status sb_task_sweep_check(const sb_job *job)
{
    sweep_def d;
    sb_status st = read_def(job->cfg, &d);
    if (st)
        return st;
    /* Every point must be a valid job of its task. */
    for (uint64_t p = 0; p < d.points && !st; p++) {
        sb_config *pc;
        st = sb_sweep_point_config(job, p, &pc);
        if (!st && p == 0) {
            sb_job pj = *job;
            pj.cfg = pc;
            st = sb_task_find(d.task)->check(&pj);
        }
        if (st)
            sb_fail_context(st, "sweep point %llu", (unsigned long long)p);
        sb_config_free(pc);
    }
    return st;
}

sb_status sb_task_sweep_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    sweep_def d;
    sb_status st = read_def(job->cfg, &d);
    if (st)
        return st;
    int groups = par->size / d.ranks_per_point;
    if (groups < 1)
        return sb_fail(SB_ECONFIG, "%s: sweep.ranks_per_point = %d but the job has %d rank%s",
                       sb_cfg_where(job->cfg, "sweep", "ranks_per_point"), d.ranks_per_point,
                       par->size, par->size > 1 ? "s" : "");
    int group = par->rank / d.ranks_per_point;
    if (group >= groups)
        group = groups; /* the remainder: no points */
    MPI_Comm gc;
    MPI_Comm_split(par->comm, group, par->rank, &gc);
    par_ctx sub = *par;
    sub.comm = gc;
    MPI_Comm_rank(gc, &sub.rank);
    MPI_Comm_size(gc, &sub.size);
    char out[4096];
    sb_job_output(job, out, sizeof out);
    sb_info("sweep: %llu points of task %s (%s) on %d group%s of %d rank%s", (unsigned long long)d.points,
            d.task, d.random ? "random" : "grid", groups, groups > 1 ? "s" : "", d.ranks_per_point,
            d.ranks_per_point > 1 ? "s" : "");
    if (par->size % d.ranks_per_point)
        sb_warn("%d rank%s left over by sweep.ranks_per_point = %d wait", par->size % d.ranks_per_point,
                par->size % d.ranks_per_point > 1 ? "s" : "", d.ranks_per_point);

    /* status[p]: 0 done, 1 failed, on the group's rank 0; summed at the end. */
    int *failed = SB_CALLOC(d.points + 1, sizeof *failed);
    if (!failed)
        st = SB_ENOMEM;
    st = par_agree(st, par->comm);
    int quiet_log = sb_log_rank(), interrupted = 0;
    for (uint64_t p = (uint64_t)group; !st && !interrupted && group < groups && p < d.points;
         p += (uint64_t)groups) {
        sb_config *pc;
        sb_status ps = sb_sweep_point_config(job, p, &pc);
        if (!ps) {
            sb_job pj = *job;
            pj.cfg = pc;
            pj.par = &sub;
            /* Each group's first rank reports on its own points. */
            sb_log_init(sub.rank == 0 ? 0 : 1, sb_log_get_level());
            char values[512] = "";
            for (int k = 0; k < d.nkeys; k++)
                snprintf(values + strlen(values), sizeof values - strlen(values), " %s=%s",
                         d.key[k], d.values[k][value_of(&d, p, k)]);
            sb_info("sweep: point %llu (group %d):%s", (unsigned long long)p, group, values);
            /* a rerun after a stop skips the points that finished */
            int done = sub.rank == 0 && sb_job_already_done(&pj);
            MPI_Bcast(&done, 1, MPI_INT, 0, gc);
            const sb_task *t = sb_task_find(sb_cfg_str(pc, "job", "task"));
            if (done)
                sb_info("sweep: point %llu was finished by an earlier run", (unsigned long long)p);
            else if (!(ps = t->check(&pj)))
                ps = t->run(&pj);
            int any = par_any(ps == SB_EINTERRUPTED, gc);
            if (any) { /* checkpointed by the point's task: not a failure */
                interrupted = 1;
                ps = SB_OK;
            }
            ps = par_agree(ps, gc);
        }
        if (ps && sub.rank == 0) {
            failed[p] = 1;
            fprintf(stderr, "spikebridge: sweep point %llu failed: %s\n", (unsigned long long)p,
                    sb_last_error());
        }
        sb_config_free(pc);
    }
    sb_log_init(quiet_log, sb_log_get_level());
    if (!st) {
        par_idle_barrier(par->comm); /* groups done with their points wait without spinning */
        MPI_Allreduce(MPI_IN_PLACE, failed, (int)d.points, MPI_INT, MPI_MAX, par->comm);
        MPI_Allreduce(MPI_IN_PLACE, &interrupted, 1, MPI_INT, MPI_MAX, par->comm);
    }
    if (!st && interrupted) {
        MPI_Comm_free(&gc);
        free(failed);
        return sb_fail(SB_EINTERRUPTED, "sweep: stopped by a signal; the points under way are "
                       "checkpointed and the finished ones kept: run the same job again to go on");
    }
    uint64_t nfailed = 0;
    for (uint64_t p = 0; !st && p < d.points; p++)
        nfailed += (uint64_t)failed[p];
    MPI_Comm_free(&gc);
    if (!st && par->rank == 0) {
        /* The points that finished, gathered into one table. */
        char **files = SB_CALLOC(d.points + 1, sizeof *files);
        int nf = 0;
        for (uint64_t p = 0; files && p < d.points; p++) {
            char f[4200];
            point_output(out, p, f, sizeof f);
            if (!failed[p])
                files[nf++] = sb_strdup(f);
        }
        st = files ? sb_collect(out, (const char *const *)files, nf, MPI_COMM_SELF) : SB_ENOMEM;
        for (int i = 0; files && i < nf; i++)
            free(files[i]);
        free(files);
    }
    st = par_agree(st, par->comm);
    free(failed);
    if (!st && nfailed)
        st = sb_fail(SB_EINVAL, "sweep: %llu of %llu points failed (their errors are above); the "
                     "other points are in %s",
                     (unsigned long long)nfailed, (unsigned long long)d.points, out);
    return st;
}
