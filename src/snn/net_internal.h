/* What the network modules of src/snn share; tasks see only snn.h. */
#ifndef SNN_NET_INTERNAL_H
#define SNN_NET_INTERNAL_H

#include "spikebridge/snn.h"

/* A growable array of 64-bit values. */
typedef struct {
    uint64_t *a;
    size_t n, cap;
} snn_vec;

/* Grows v and appends x; 0 when out of memory. */
int snn_vec_grow_push(snn_vec *v, uint64_t x);
void snn_vec_free(snn_vec *v);

/* Appends x; 0 when out of memory. Inline: the engine pushes a pair per
 * range of plastic synaptic events. */
static inline int snn_vec_push(snn_vec *v, uint64_t x)
{
    if (v->n == v->cap)
        return snn_vec_grow_push(v, x);
    v->a[v->n++] = x;
    return 1;
}

/* The end of the range of synapses from x on that share x's delay, in a
 * part [x, e) of a row sorted by delay. The ranges are long (a Diehl & Cook
 * input row of 6 400 synapses has 21 delays), so galloping then bisecting
 * reads a few dozen delays where a scan read them all (the scan took about
 * 5 % of a 6 400-neuron training image and 12 % of a labelling image). */
static inline uint64_t snn_delay_run_end(const uint16_t *delay, uint64_t x, uint64_t e)
{
    const uint16_t d = delay[x];
    uint64_t lo = x + 1, step = 1; /* delay[lo - 1] == d */
    while (lo + step <= e && delay[lo + step - 1] == d) {
        lo += step;
        step *= 2;
    }
    uint64_t hi = lo + step <= e ? lo + step - 1 : e; /* delay[hi] != d or hi == e */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (delay[mid] == d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One thread's queue of plastic arrivals for one delay slot. Its counter is
 * written on every queued range, so two threads' queues must not share a
 * cache line: unpadded, neighbours did, and two threads trained the Diehl &
 * Cook network slower than one. 128 bytes keep any two apart whatever
 * malloc's alignment. */
typedef struct {
    snn_vec v;
    char pad[128 - sizeof(snn_vec)];
} snn_tvec;

/* Spikes recorded for one population or source group. */
typedef struct {
    int is_source, group;
    snn_vec ids, steps;
} snn_rec;

/* State probes recorded on this rank (only of neurons it owns). */
typedef struct {
    snn_probe probe;
    int pop;
    int owned;              /* this rank owns the neuron and records it */
    size_t local;
    int every;
    int64_t start;          /* step of the first sample */
    double *vals;           /* samples */
    size_t nvals, capv;
} snn_prec;

/* Spike keys: (step offset within an exchange interval) << 40 | gid. */
#define SNN_GID_BITS 40
#define SNN_GID_MASK ((UINT64_C(1) << SNN_GID_BITS) - 1)

struct snn_net {
    par_ctx par;
    uint32_t seed;
    double dt;
    int64_t step;              /* steps done */
    int64_t interval;          /* exchange interval in steps (min latency) */
    int nslots;                /* ring slots: max delay + 2 */

    int npops, nsrc, ncur, nproj;
    snn_pop *pops;
    snn_source *src;
    snn_current *cur;
    snn_proj *proj;

    double **ring_e, **ring_i; /* per pop: [nslots][nlocal] arriving input */
    uint8_t *dirty;            /* [threads][npops][nslots]: a thread wrote into its part of a slot */
    size_t *part;              /* per pop: threads + 1 bounds of local ranges */
    int threads;

    /* per group (pops then sources): outgoing projections */
    int **out_proj;
    int *nout_proj;

    /* spikes of this step by thread, then of this interval on this rank */
    uint32_t **tspk;           /* [threads]: local indices, pop after pop */
    size_t **tcount;           /* [threads][npops] */
    snn_vec pending;           /* keys of this rank's spikes of the interval */
    snn_vec srcspk;            /* gids of source spikes of this step */
    par_exchange xch;
    /* plastic arrivals: per projection, slot and thread, pairs [begin, end)
     * of synapses that share a delay */
    snn_tvec ***queue;

    uint64_t *count;           /* per pop: spikes of own neurons */

    int quiet;                 /* no progress lines from snn_net_run */
    int64_t jumped;            /* steps advanced in closed form by snn_net_idle */
    int oom;                   /* a thread could not queue a plastic event */
    int64_t *user;             /* a task's counters, checkpointed with the state */
    int nuser;
    int nrec, nprobe;
    snn_rec *rec;
    snn_prec *probe;
};

/* Builders (projection.c, stimulus.c). */
sb_status snn_proj_build(snn_net *net, snn_proj *pr, int index, const sb_config *cfg,
                         const char *section);
sb_status snn_proj_index_columns(snn_net *net, snn_proj *pr);
void snn_proj_free(snn_proj *pr);
sb_status snn_source_build(snn_net *net, snn_source *s, int index, const sb_config *cfg,
                           const char *section, uint64_t gid0);
/* Appends the ids of the sources that spike at `step` to out (as gids). */
sb_status snn_source_emit(snn_source *s, int64_t step, double dt, uint32_t seed, snn_vec *out);
void snn_source_free(snn_source *s);

/* Which group a gid belongs to: pops [0, npops), then sources. */
int snn_net_group_of(const snn_net *net, uint64_t gid);

#endif
