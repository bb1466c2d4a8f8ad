/* Recording: spikes into SONATA populations (every rank writes the spikes of
 * its own neurons, collectively), and state probes into SONATA frame
 * reports. A spike of step n has the time n·dt (Brian2's convention); probe
 * samples hold the state after step n, at time (n+1)·dt. */
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

sb_status snn_net_record_spikes(snn_net *net, const char *name)
{
    int is_source = 0, g = snn_net_find_pop(net, name);
    if (g < 0) {
        is_source = 1;
        g = snn_net_find_source(net, name);
    }
    if (g < 0)
        return sb_fail(SB_ECONFIG, "record: '%s' is not a population or spike source of this job", name);
    for (int i = 0; i < net->nrec; i++)
        if (net->rec[i].is_source == is_source && net->rec[i].group == g)
            return SB_OK;
    snn_rec *r = realloc(net->rec, (size_t)(net->nrec + 1) * sizeof *r);
    if (!r)
        return SB_ENOMEM;
    net->rec = r;
    memset(&r[net->nrec], 0, sizeof *r);
    r[net->nrec].is_source = is_source;
    r[net->nrec].group = g;
    net->nrec++;
    return SB_OK;
}

sb_status snn_net_record_probe(snn_net *net, const snn_probe *probe, int every)
{
    int p = snn_net_find_pop(net, probe->pop);
    if (p < 0)
        return sb_fail(SB_ECONFIG, "record: '%s' is not a neuron population of this job", probe->pop);
    const snn_pop *pop = &net->pops[p];
    if (probe->index >= pop->n)
        return sb_fail(SB_ECONFIG, "record: %s has no neuron %llu (it has %llu)", probe->pop,
                       (unsigned long long)probe->index, (unsigned long long)pop->n);
    if (every < 1)
        return sb_fail(SB_ECONFIG, "record: trace_every must be >= 1 step");
    snn_prec *r = realloc(net->probe, (size_t)(net->nprobe + 1) * sizeof *r);
    if (!r)
        return SB_ENOMEM;
    net->probe = r;
    snn_prec *x = &r[net->nprobe++];
    memset(x, 0, sizeof *x);
    x->probe = *probe;
    x->pop = p;
    x->owned = snn_pop_owns(pop, probe->index);
    x->local = x->owned ? snn_pop_local(pop, probe->index) : 0;
    x->every = every;
    x->start = net->step;
    return SB_OK;
}

uint64_t snn_net_recorded(const snn_net *net, const char *name, const uint64_t **ids,
                          const int64_t **steps)
{
    for (int i = 0; i < net->nrec; i++) {
        const snn_rec *r = &net->rec[i];
        const char *rn = r->is_source ? net->src[r->group].name : net->pops[r->group].name;
        if (strcmp(rn, name) == 0) {
            *ids = r->ids.a;
            *steps = (const int64_t *)r->steps.a;
            return r->ids.n;
        }
    }
    *ids = NULL;
    *steps = NULL;
    return 0;
}

void snn_net_forget_recorded(snn_net *net, const char *name, uint64_t keep)
{
    for (int i = 0; i < net->nrec; i++) {
        snn_rec *r = &net->rec[i];
        const char *rn = r->is_source ? net->src[r->group].name : net->pops[r->group].name;
        if (strcmp(rn, name) == 0 && r->ids.n > keep)
            r->ids.n = r->steps.n = keep;
    }
}

static sb_status write_spikes(snn_net *net, hid_t file)
{
    sb_status st = SB_OK;
    for (int i = 0; i < net->nrec && !st; i++) {
        const snn_rec *r = &net->rec[i];
        double *t = SB_MALLOC(r->steps.n + 1, sizeof *t);
        st = par_agree(t ? SB_OK : SB_ENOMEM, net->par.comm);
        if (!st) {
            for (size_t k = 0; k < r->steps.n; k++)
                t[k] = (double)r->steps.a[k] * net->dt;
            const char *name = r->is_source ? net->src[r->group].name : net->pops[r->group].name;
            st = sonata_write_spikes(file, name, r->ids.a, t, r->ids.n, SB_SORT_NONE, net->par.comm);
        }
        free(t);
    }
    return st;
}

/* One frame report: the probes of variable v in population p. */
static sb_status write_report(snn_net *net, hid_t file, int v, int p)
{
    int np = 0;
    size_t ntimes = SIZE_MAX;
    for (int i = 0; i < net->nprobe; i++)
        np += net->probe[i].pop == p && (int)net->probe[i].probe.var == v;
    if (np == 0)
        return SB_OK;
    int rank0 = net->par.rank == 0;
    double **cols = SB_CALLOC((size_t)np, sizeof *cols);
    uint64_t *ids = SB_CALLOC((size_t)np + 1, sizeof *ids), *ptr = SB_CALLOC((size_t)np + 1, sizeof *ptr);
    uint32_t *elem = SB_CALLOC((size_t)np + 1, sizeof *elem);
    sb_status st = par_agree(cols && ids && ptr && elem ? SB_OK : SB_ENOMEM, net->par.comm);
    int c = 0, every = 1;
    int64_t start = 0;
    for (int i = 0; i < net->nprobe && !st; i++) {
        const snn_prec *x = &net->probe[i];
        if (x->pop != p || (int)x->probe.var != v)
            continue;
        uint64_t n;
        st = par_gather_f64(net->par.comm, x->vals, x->owned ? x->nvals : 0,
                            &cols[c], &n);
        ids[c] = x->probe.index;
        ptr[c + 1] = (uint64_t)c + 1;
        every = x->every;
        start = x->start;
        if (rank0 && n < ntimes)
            ntimes = n;
        c++;
    }
    if (!rank0 || ntimes == SIZE_MAX)
        ntimes = 0;
    double *data = st ? NULL : SB_MALLOC(ntimes * (size_t)np + 1, sizeof *data);
    st = par_agree(st ? st : data ? SB_OK : SB_ENOMEM, net->par.comm);
    for (size_t t = 0; !st && t < ntimes; t++)
        for (int k = 0; k < np; k++)
            data[t * (size_t)np + (size_t)k] = cols[k][t];
    char path[256];
    hid_t g = -1;
    snprintf(path, sizeof path, "reports/%s/%s", snn_var_names[v], net->pops[p].name);
    if (!st)
        st = h5_group(file, path, &g);
    hsize_t inner = (hsize_t)np;
    uint64_t rows = rank0 ? (uint64_t)np : 0;
    if (!st)
        st = h5_write_rows(g, "data", H5T_NATIVE_DOUBLE, 1, &inner, data, ntimes, net->par.comm);
    if (!st)
        st = h5_write_rows(g, "mapping/node_ids", H5T_NATIVE_UINT64, 0, NULL, ids, rows, net->par.comm);
    if (!st)
        st = h5_write_rows(g, "mapping/element_ids", H5T_NATIVE_UINT32, 0, NULL, elem, rows, net->par.comm);
    if (!st)
        st = h5_write_rows(g, "mapping/index_pointers", H5T_NATIVE_UINT64, 0, NULL, ptr,
                           rank0 ? (uint64_t)np + 1 : 0, net->par.comm);
    double time[3] = {(double)(start + every) * net->dt, 0, (double)every * net->dt};
    uint64_t nt = par_sum_u64(ntimes, net->par.comm);
    time[1] = time[0] + (double)nt * time[2];
    if (!st)
        st = h5_write_rows(g, "mapping/time", H5T_NATIVE_DOUBLE, 0, NULL, time, rank0 ? 3 : 0,
                           net->par.comm);
    if (!st) {
        hid_t d = H5Dopen2(g, "data", H5P_DEFAULT), m = H5Dopen2(g, "mapping/time", H5P_DEFAULT);
        st = h5_attr_str(d, "units", v == SNN_VAR_V || v == SNN_VAR_THETA ? "mV" : "1");
        if (!st)
            st = h5_attr_str(m, "units", "ms");
        H5Dclose(d);
        H5Dclose(m);
    }
    if (g >= 0)
        H5Gclose(g);
    for (int k = 0; cols && k < np; k++)
        free(cols[k]);
    free(cols);
    free(ids);
    free(ptr);
    free(elem);
    free(data);
    return st;
}

sb_status snn_net_write_records(snn_net *net, hid_t file)
{
    sb_status st = write_spikes(net, file);
    for (int v = 0; v < SNN_VAR_COUNT_ && !st; v++)
        for (int p = 0; p < net->npops && !st; p++)
            st = write_report(net, file, v, p);
    return st;
}
