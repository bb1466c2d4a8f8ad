/* Stretches of silence (the rest between two images): once nothing is in
 * flight and no neuron can react any more, the remaining steps are jumped in
 * closed form instead of stepped one by one, on every rank at once. The
 * decision is a reduction over per-neuron tests, so it is the same for any
 * number of ranks or threads. */
#include "net_internal.h"

/* Steps simulated between two tests while input is still arriving: long
 * enough that a test costs little, short against a 150 ms rest. */
#define IDLE_CHUNK 16

static int nothing_in_flight(const snn_net *net, int64_t end)
{
    size_t flags = (size_t)net->threads * (size_t)net->npops * (size_t)net->nslots;
    for (size_t i = 0; i < flags; i++)
        if (net->dirty[i])
            return 0;
    for (int p = 0; p < net->nproj; p++)
        for (int s = 0; net->queue[p] && s < net->nslots; s++)
            for (int t = 0; t < net->threads; t++)
                if (net->queue[p][s][t].v.n)
                    return 0;
    for (int i = 0; i < net->nsrc; i++) {
        const snn_source *s = &net->src[i];
        for (uint64_t k = 0; s->kind == SNN_SRC_POISSON && k < s->n; k++)
            if (s->next[k] < end)
                return 0;
        if (s->kind == SNN_SRC_SPIKES && s->cursor < s->nspikes && s->spike_step[s->cursor] < end)
            return 0;
    }
    for (int c = 0; c < net->ncur; c++)
        if (net->cur[c].start < end && net->cur[c].stop > net->step)
            return 0;
    return 1;
}

static int quiet(const snn_net *net, int64_t steps)
{
    if (net->nprobe || !nothing_in_flight(net, net->step + steps))
        return 0;
    for (int p = 0; p < net->npops; p++) {
        const snn_pop *pop = &net->pops[p];
        if (!pop->model->quiet || !pop->model->quiet(pop, steps))
            return 0;
    }
    return 1;
}

sb_status snn_net_idle(snn_net *net, int64_t steps)
{
    int64_t end = net->step + steps;
    while (net->step < end) {
        int local = quiet(net, end - net->step), all = 0;
        MPI_Allreduce(&local, &all, 1, MPI_INT, MPI_MIN, net->par.comm);
        if (all) {
            for (int p = 0; p < net->npops; p++) {
                net->pops[p].model->relax(&net->pops[p], end - net->step);
                net->pops[p].now = end;
            }
            net->jumped += end - net->step;
            net->step = end;
            break;
        }
        int64_t chunk = end - net->step < IDLE_CHUNK ? end - net->step : IDLE_CHUNK;
        sb_status st = snn_net_run(net, chunk);
        if (st)
            return st;
    }
    return SB_OK;
}

int64_t snn_net_jumped(const snn_net *net) { return net->jumped; }
