/* Checkpoints of a simulation: the whole state of each rank in its own file,
 * written in two alternating slots; rank 0 names the complete slot in
 * <dir>/latest only after every rank has written it, so a crash while
 * saving leaves the previous checkpoint usable. Resuming needs the same
 * rank count (each rank holds its own neurons); the thread count may differ:
 * pending plastic arrivals are saved as synapse lists, and on resume each
 * goes to the thread that owns its target, keeping its order there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net_internal.h"

#define MAXBLOBS 4096

typedef struct {
    h5_blob b[MAXBLOBS];
    char names[MAXBLOBS][48];
    void *owned[MAXBLOBS];  /* temporaries to free */
    int n;
} blobs;

static int add(blobs *bl, hid_t type, void *data, uint64_t n, int own, const char *fmt, int a, int b)
{
    if (bl->n == MAXBLOBS)
        return 0;
    snprintf(bl->names[bl->n], sizeof bl->names[0], fmt, a, b);
    bl->b[bl->n] = (h5_blob){bl->names[bl->n], type, data, n};
    bl->owned[bl->n] = own ? data : NULL;
    bl->n++;
    return 1;
}

static void drop(blobs *bl)
{
    for (int i = 0; i < bl->n; i++)
        free(bl->owned[i]);
    bl->n = 0;
}

/* Number of entries of the sizes blob. */
static int nsizes(const snn_net *net)
{
    int n = 1 + net->nrec + net->nprobe;
    for (int i = 0; i < net->nproj; i++)
        n += net->proj[i].plast ? net->nslots : 0;
    return n;
}

/* The blobs of the state; `saving` fills the temporaries from the state,
 * otherwise allocates them (and the records) for sizes read back. */
static sb_status describe(snn_net *net, blobs *bl, const int64_t *sizes, int saving)
{
    int ok = 1, si = 1;
    for (int p = 0; p < net->npops && ok; p++) {
        snn_pop *pop = &net->pops[p];
        size_t nl = pop->nlocal, cells = (size_t)net->nslots * nl;
        for (int v = 0; v < SNN_VAR_COUNT_; v++)
            ok = ok && add(bl, H5T_NATIVE_DOUBLE, pop->var[v], nl, 0, "pop%d/var%d", p, v);
        ok = ok && add(bl, H5T_NATIVE_DOUBLE, pop->refr, nl, 0, "pop%d/refr%d", p, 0);
        ok = ok && add(bl, H5T_NATIVE_DOUBLE, net->ring_e[p], cells, 0, "pop%d/ring%d", p, 0);
        ok = ok && add(bl, H5T_NATIVE_DOUBLE, net->ring_i[p], cells, 0, "pop%d/ring%d", p, 1);
        ok = ok && add(bl, H5T_NATIVE_UINT64, &net->count[p], 1, 0, "pop%d/count%d", p, 0);
    }
    if (net->nuser > 0)
        ok = ok && add(bl, H5T_NATIVE_INT64, net->user, (uint64_t)net->nuser, 0, "user%.0d%.0d", 0, 0);
    for (int i = 0; i < net->nsrc && ok; i++) {
        snn_source *s = &net->src[i];
        if (s->kind != SNN_SRC_POISSON)
            continue;
        ok = add(bl, H5T_NATIVE_DOUBLE, s->rate, s->n, 0, "src%d/rate%d", i, 0) &&
             add(bl, H5T_NATIVE_INT64, s->next, s->n, 0, "src%d/next%d", i, 0) &&
             add(bl, H5T_NATIVE_UINT64, s->draws, s->n, 0, "src%d/draws%d", i, 0);
    }
    for (int i = 0; i < net->nproj && ok; i++) {
        snn_proj *pr = &net->proj[i];
        snn_plasticity *pl = pr->plast;
        if (!pl)
            continue;
        size_t nl = net->pops[pr->post].nlocal;
        ok = add(bl, H5T_NATIVE_FLOAT, pr->w, pr->nsyn, 0, "proj%d/w%d", i, 0) &&
             (!pl->pre || add(bl, H5T_NATIVE_FLOAT, pl->pre, pr->nsyn, 0, "proj%d/pre%d", i, 0)) &&
             add(bl, H5T_NATIVE_INT64, pl->pre_step, pl->npre_step, 0, "proj%d/pre_step%d", i, 0) &&
             add(bl, H5T_NATIVE_DOUBLE, pl->post1, nl, 0, "proj%d/post%d", i, 1) &&
             add(bl, H5T_NATIVE_DOUBLE, pl->post2, nl, 0, "proj%d/post%d", i, 2) &&
             add(bl, H5T_NATIVE_INT64, pl->post_step, nl, 0, "proj%d/post_step%d", i, 0);
        for (int s = 0; s < net->nslots && ok; s++) {
            uint64_t n = (uint64_t)sizes[si++], k = 0;
            uint64_t *q = SB_MALLOC(n + 1, sizeof *q);
            if (!q)
                return SB_ENOMEM;
            for (int t = 0; saving && t < net->threads; t++) {
                const snn_vec *v = &net->queue[i][s][t].v;
                for (size_t r = 0; r < v->n; r += 2) /* ranges stored as their synapses */
                    for (uint64_t syn = v->a[r]; syn < v->a[r + 1]; syn++)
                        q[k++] = syn;
            }
            ok = add(bl, H5T_NATIVE_UINT64, q, n, 1, "proj%d/queue%d", i, s);
        }
    }
    for (int r = 0; r < net->nrec && ok; r++) {
        snn_rec *rec = &net->rec[r];
        uint64_t n = (uint64_t)sizes[si++];
        if (!saving) {
            rec->ids.n = rec->steps.n = 0;
            for (uint64_t k = 0; k < n; k++)
                if (!snn_vec_push(&rec->ids, 0) || !snn_vec_push(&rec->steps, 0))
                    return SB_ENOMEM;
        }
        ok = add(bl, H5T_NATIVE_UINT64, rec->ids.a, n, 0, "rec%d/ids%d", r, 0) &&
             add(bl, H5T_NATIVE_UINT64, rec->steps.a, n, 0, "rec%d/steps%d", r, 0);
    }
    for (int i = 0; i < net->nprobe && ok; i++) {
        snn_prec *x = &net->probe[i];
        uint64_t n = (uint64_t)sizes[si++];
        if (!saving && n > x->capv) {
            double *a = realloc(x->vals, n * sizeof *a);
            if (!a)
                return SB_ENOMEM;
            x->vals = a;
            x->capv = n;
        }
        x->nvals = saving ? x->nvals : n;
        ok = add(bl, H5T_NATIVE_DOUBLE, x->vals, n, 0, "probe%d/values%d", i, 0);
    }
    return ok ? SB_OK : sb_fail(SB_EINVAL, "checkpoint: more than %d arrays", MAXBLOBS);
}

/* Synapses in a queue of ranges [a[2r], a[2r+1]). */
static uint64_t queued(const snn_vec *v)
{
    uint64_t n = 0;
    for (size_t r = 0; r < v->n; r += 2)
        n += v->a[r + 1] - v->a[r];
    return n;
}

static void sizes_now(const snn_net *net, int64_t *sizes)
{
    int si = 0;
    sizes[si++] = net->step;
    for (int i = 0; i < net->nproj; i++) {
        if (!net->proj[i].plast)
            continue;
        for (int s = 0; s < net->nslots; s++) {
            int64_t n = 0;
            for (int t = 0; t < net->threads; t++)
                n += (int64_t)queued(&net->queue[i][s][t].v);
            sizes[si++] = n;
        }
    }
    for (int r = 0; r < net->nrec; r++)
        sizes[si++] = (int64_t)net->rec[r].ids.n;
    for (int i = 0; i < net->nprobe; i++)
        sizes[si++] = (int64_t)net->probe[i].nvals;
}

static void file_name(const snn_net *net, const char *dir, int slot, char *buf, size_t len)
{
    snprintf(buf, len, "%s/rank%dof%d.%d.h5", dir, net->par.rank, net->par.size, slot);
}

/* <dir>/latest holds "slot step". */
static int read_latest(const char *dir, int *slot, int64_t *step)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/latest", dir);
    FILE *f = fopen(path, "r");
    long long s = -1;
    int ok = f && fscanf(f, "%d %lld", slot, &s) == 2 && (*slot == 0 || *slot == 1) && s >= 0;
    if (f)
        fclose(f);
    *step = s;
    return ok;
}

sb_status snn_net_save(snn_net *net, const char *dir, const char *tag)
{
    int slot = 0;
    int64_t prev;
    if (read_latest(dir, &slot, &prev))
        slot = 1 - slot;
    MPI_Bcast(&slot, 1, MPI_INT, 0, net->par.comm);
    sb_status st = SB_OK;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        st = sb_fail(SB_EIO, "%s: cannot create the checkpoint directory: %s", dir, strerror(errno));
    int ns = nsizes(net);
    int64_t *sizes = SB_MALLOC((size_t)ns, sizeof *sizes);
    blobs *bl = SB_CALLOC(1, sizeof *bl);
    if (!st && (!sizes || !bl))
        st = SB_ENOMEM;
    if (!st) {
        sizes_now(net, sizes);
        /* "%.0d" of 0 prints nothing: the blob is named "sizes" */
        add(bl, H5T_NATIVE_INT64, sizes, (uint64_t)ns, 0, "sizes%.0d%.0d", 0, 0);
        st = describe(net, bl, sizes + 0, 1);
    }
    char path[4200];
    file_name(net, dir, slot, path, sizeof path);
    if (!st)
        st = h5_ckpt_save(path, tag, bl->b, bl->n);
    if (bl)
        drop(bl);
    free(bl);
    free(sizes);
    st = par_agree(st, net->par.comm);
    if (!st && net->par.rank == 0) {
        char tmp[4300], fin[4200];
        snprintf(fin, sizeof fin, "%s/latest", dir);
        snprintf(tmp, sizeof tmp, "%s.part", fin);
        FILE *f = fopen(tmp, "w");
        int ok = f && fprintf(f, "%d %lld\n", slot, (long long)net->step) > 0;
        ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
        if (f)
            ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, fin) != 0)
            st = sb_fail(SB_EIO, "%s: cannot write: %s", fin, strerror(errno));
    }
    return par_agree(st, net->par.comm);
}

/* Gives each pending plastic arrival to the thread that owns its target. */
static sb_status requeue(snn_net *net, blobs *bl)
{
    for (int b = 0; b < bl->n; b++) {
        int i, s;
        if (sscanf(bl->b[b].name, "proj%d/queue%d", &i, &s) != 2)
            continue;
        snn_proj *pr = &net->proj[i];
        const size_t *part = net->part + (size_t)pr->post * (size_t)(net->threads + 1);
        const uint64_t *q = bl->b[b].data;
        for (int t = 0; t < net->threads; t++)
            net->queue[i][s][t].v.n = 0;
        for (uint64_t k = 0; k < bl->b[b].n; k++) {
            int t = 0;
            while (pr->tgt[q[k]] >= part[t + 1])
                t++;
            if (!snn_vec_push(&net->queue[i][s][t].v, q[k]) || !snn_vec_push(&net->queue[i][s][t].v, q[k] + 1))
                return SB_ENOMEM;
        }
    }
    return SB_OK;
}

sb_status snn_net_load(snn_net *net, const char *dir, const char *tag, int *loaded)
{
    int slot = 0;
    int64_t step = -1;
    int have = net->par.rank == 0 ? read_latest(dir, &slot, &step) : 0;
    MPI_Bcast(&have, 1, MPI_INT, 0, net->par.comm);
    MPI_Bcast(&slot, 1, MPI_INT, 0, net->par.comm);
    MPI_Bcast(&step, 1, MPI_INT64_T, 0, net->par.comm);
    *loaded = 0;
    if (!have)
        return SB_OK;
    char path[4200];
    file_name(net, dir, slot, path, sizeof path);
    int ns = nsizes(net);
    int64_t *sizes = SB_CALLOC((size_t)ns, sizeof *sizes);
    blobs *bl = SB_CALLOC(1, sizeof *bl);
    sb_status st = sizes && bl ? SB_OK : SB_ENOMEM;
    if (!st && access(path, F_OK) != 0)
        st = sb_fail(SB_EIO, "%s: missing (the checkpoint in %s was written by another number of ranks?)",
                     path, dir);
    if (!st) {
        h5_blob head = {"sizes", H5T_NATIVE_INT64, sizes, (uint64_t)ns};
        st = h5_ckpt_load(path, tag, &head, 1);
    }
    if (!st && sizes[0] != step)
        st = sb_fail(SB_EFORMAT, "%s: holds step %lld, %s/latest says %lld", path,
                     (long long)sizes[0], dir, (long long)step);
    if (!st)
        st = describe(net, bl, sizes, 0);
    if (!st)
        st = h5_ckpt_load(path, tag, bl->b, bl->n);
    if (!st)
        st = requeue(net, bl);
    if (!st) {
        net->step = step;
        /* rings may hold input: let every update read them */
        memset(net->dirty, 1, (size_t)net->threads * (size_t)net->npops * (size_t)net->nslots);
        for (int p = 0; p < net->npops; p++)
            memset(net->pops[p].steady, 0, net->pops[p].nlocal);
    }
    if (bl)
        drop(bl);
    free(bl);
    free(sizes);
    st = par_agree(st, net->par.comm);
    *loaded = !st;
    return st;
}

void snn_checkpoint_remove(const char *dir, int ranks)
{
    char path[4300];
    for (int r = 0; r < ranks; r++)
        for (int s = 0; s < 2; s++) {
            snprintf(path, sizeof path, "%s/rank%dof%d.%d.h5", dir, r, ranks, s);
            unlink(path);
        }
    snprintf(path, sizeof path, "%s/latest", dir);
    unlink(path);
    rmdir(dir);
}
