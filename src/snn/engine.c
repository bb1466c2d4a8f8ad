/* The simulation loop. One OpenMP team lives for the whole run; per step:
 *
 *   all threads   update their range of every population (steps 1–3)
 *   barrier
 *   master        collects local spikes, records, emits source spikes and,
 *                 at the end of an exchange interval, exchanges neuron spikes
 *                 and merges them with the source spikes of the interval
 *   barrier
 *   all threads   deliver the interval's spikes to their own targets, then
 *                 plastic arrivals and postsynaptic plasticity of this step
 *
 * A thread only writes the state, rings, weights and queues of its own
 * target ranges, so there are no atomics; spikes are delivered in (step, gid)
 * order, and every target therefore sums its input in the same order for
 * any number of ranks or threads. An interval never exceeds the smallest
 * latency (delay + 1 step) of any projection, so a spike always arrives in a
 * slot that has not been consumed yet. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* Master-only state of a run. */
typedef struct {
    int64_t begin;         /* first step of this run */
    int64_t batch_start;   /* first step of the current exchange interval */
    const uint64_t *deliver;
    size_t ndeliver;
    int64_t deliver_base;  /* the interval the keys to deliver are relative to */
    int64_t done;          /* steps completed */
    snn_vec merged;
    int halt;
    sb_status st;
} run_state;

static void apply_currents(snn_net *net, int64_t step)
{
    for (int p = 0; p < net->npops; p++) {
        snn_pop *pop = &net->pops[p];
        int touched = 0;
        for (int c = 0; c < net->ncur; c++)
            touched |= net->cur[c].pop == p;
        if (!touched)
            continue;
        for (size_t k = 0; k < pop->nlocal; k++) {
            uint64_t i = snn_pop_index(pop, k);
            double sum = 0;
            for (int c = 0; c < net->ncur; c++) {
                const snn_current *cu = &net->cur[c];
                if (cu->pop == p && step >= cu->start && step < cu->stop && i >= cu->lo && i < cu->hi)
                    sum += cu->amplitude;
            }
            pop->i_stim[k] = sum;
        }
    }
}

static int currents_change(const snn_net *net, int64_t step)
{
    for (int c = 0; c < net->ncur; c++)
        if (net->cur[c].start == step || net->cur[c].stop == step)
            return 1;
    return 0;
}

/* Where input for local neuron range of thread t arrives in `slot`: the
 * state variable itself when the slot is the next step's and the model
 * allows it, otherwise the ring (then marked for the update to read). */
static double *input_at(snn_net *net, int t, const snn_proj *pr, int slot, int next)
{
    snn_pop *post = &net->pops[pr->post];
    int var = pr->target == SNN_TARGET_EXC ? post->model->direct_exc : post->model->direct_inh;
    if (slot == next && var >= 0)
        return post->var[var];
    net->dirty[((size_t)t * (size_t)net->npops + (size_t)pr->post) * (size_t)net->nslots + (size_t)slot] = 1;
    return (pr->target == SNN_TARGET_EXC ? net->ring_e[pr->post] : net->ring_i[pr->post]) +
           (size_t)slot * post->nlocal;
}

/* The group (population, then source) of a spike key and its index there. */
static inline int spike_group(const snn_net *net, uint64_t key, uint64_t *i)
{
    uint64_t gid = key & SNN_GID_MASK;
    int g = snn_net_group_of(net, gid);
    *i = gid - (g < net->npops ? net->pops[g].gid0 : net->src[g - net->npops].gid0);
    return g;
}

/* Thread t's part [*a, *e) of row i: the whole row unless a split divides it. */
static inline void row_part(const snn_proj *pr, uint64_t i, int t, int T, uint64_t *a, uint64_t *e)
{
    *a = pr->row[i];
    *e = pr->row[i + 1];
    if (!pr->split)
        return;
    const uint32_t *sp = pr->split + i * (uint64_t)(T - 1);
    uint64_t first = *a;
    *e = t < T - 1 ? first + sp[t] : *e;
    *a = t > 0 ? first + sp[t - 1] : first;
}

/* Rows of spikes are scattered through memory, and a spike's row is found
 * through another array (row[]), so delivery waits on two misses a spike:
 * PREFETCH_AHEAD spikes ahead the row offsets are fetched, half as far
 * ahead the start of this thread's part of each row. */
#define PREFETCH_AHEAD 8

static void prefetch_spike(const snn_net *net, int t, uint64_t key, int rows)
{
    uint64_t i;
    int g = spike_group(net, key, &i);
    for (int o = 0; o < net->nout_proj[g]; o++) {
        const snn_proj *pr = &net->proj[net->out_proj[g][o]];
        if (rows) {
            __builtin_prefetch(pr->row + i);
            if (pr->split && t > 0)
                __builtin_prefetch(pr->split + i * (uint64_t)(net->threads - 1) + (uint64_t)(t - 1));
            continue;
        }
        uint64_t a, e;
        row_part(pr, i, t, net->threads, &a, &e);
        __builtin_prefetch(pr->tgt + a);
        __builtin_prefetch(pr->w + a);
    }
}

/* Queues the arrivals of row part [a, e) for thread t as ranges [u, z) of
 * synapses that share a delay (a row lists its synapses by delay), rather
 * than one entry per synapse: queueing was most of a Diehl & Cook training
 * step. A range keeps the synapses' order, so arrivals are processed as
 * before. With pick, only this thread's targets [lo, hi) are kept. 0 when
 * out of memory. */
static int queue_row(const snn_net *net, const snn_proj *pr, snn_tvec **queue, int t, int s0,
                     uint64_t a, uint64_t e, int pick, size_t lo, size_t hi)
{
    const int S = net->nslots;
    for (uint64_t x = a; x < e;) {
        int d = pr->delay ? pr->delay[x] : pr->delay_const;
        uint64_t y = pr->delay ? snn_delay_run_end(pr->delay, x, e) : e;
        int slot = s0 + d; /* delays < S: one wrap at most */
        if (slot >= S)
            slot -= S;
        snn_vec *v = &queue[slot][t].v;
        for (uint64_t u = x; u < y;) {
            uint64_t z = y;
            if (pick) {
                while (u < y && (pr->tgt[u] < lo || pr->tgt[u] >= hi))
                    u++;
                for (z = u; z < y && pr->tgt[z] >= lo && pr->tgt[z] < hi;)
                    z++;
            }
            if (u < z && !snn_vec_push(v, u))
                return 0;
            if (u < z && !snn_vec_push(v, z)) {
                v->n--; /* never half a pair */
                return 0;
            }
            u = z;
        }
        x = y;
    }
    return 1;
}

/* What input added to the state directly (the next step's slot) is
 * multiplied by: the model's scale of that variable in the step the input
 * acts in (pop->now, during delivery), 1 for the ring, which the model
 * scales itself when it reads it. */
static double direct_scale(const snn_net *net, const snn_proj *pr)
{
    return net->pops[pr->post].in_scale[pr->target == SNN_TARGET_EXC ? 0 : 1];
}

/* Sets the step population p computes next, and its direct-input scales. */
static void set_now(snn_pop *pop, int64_t now)
{
    const snn_neuron_model *m = pop->model;
    pop->now = now;
    pop->in_scale[0] = m->scale && m->direct_exc >= 0 ? m->scale(pop, m->direct_exc, now) : 1.0;
    pop->in_scale[1] = m->scale && m->direct_inh >= 0 ? m->scale(pop, m->direct_inh, now) : 1.0;
}

static void deliver(snn_net *net, int t, const uint64_t *keys, size_t n, int64_t batch_start,
                    int64_t now)
{
    const int T = net->threads, S = net->nslots, next = (int)((now + 1) % S);
    for (size_t x = 0; x < n; x++) {
        if (x + PREFETCH_AHEAD < n)
            prefetch_spike(net, t, keys[x + PREFETCH_AHEAD], 1);
        if (x + PREFETCH_AHEAD / 2 < n)
            prefetch_spike(net, t, keys[x + PREFETCH_AHEAD / 2], 0);
        int64_t s = batch_start + (int64_t)(keys[x] >> SNN_GID_BITS);
        uint64_t i;
        int g = spike_group(net, keys[x], &i);
        for (int o = 0; o < net->nout_proj[g]; o++) {
            int pi = net->out_proj[g][o];
            snn_proj *pr = &net->proj[pi];
            const size_t *b = net->part + (size_t)pr->post * (size_t)(T + 1);
            uint64_t a, e;
            row_part(pr, i, t, T, &a, &e);
            if (a == e)
                continue;
            /* rows by delay hold every thread's targets throughout */
            const size_t lo = b[t], hi = b[t + 1];
            const int pick = T > 1 && pr->delay;
            if (pr->plast) {
                if (!queue_row(net, pr, net->queue[pi], t, (int)(s % S), a, e, pick, lo, hi)) {
#pragma omp atomic write
                    net->oom = 1; /* reported after the step loop */
                }
                continue;
            }
            int s0 = (int)((s + 1) % S);
            const double dsc = direct_scale(net, pr);
            if (!pr->delay) {
                int slot = (s0 + pr->delay_const) % S;
                double *r = input_at(net, t, pr, slot, next), sc = slot == next ? dsc : 1.0;
                if (sc == 1.0)
                    for (uint64_t syn = a; syn < e; syn++)
                        r[pr->tgt[syn]] += pr->w[syn];
                else
                    for (uint64_t syn = a; syn < e; syn++)
                        r[pr->tgt[syn]] += pr->w[syn] * sc;
                continue;
            }
            for (uint64_t syn = a; syn < e; syn++) {
                if (pick && (pr->tgt[syn] < lo || pr->tgt[syn] >= hi))
                    continue;
                int slot = s0 + pr->delay[syn];
                if (slot >= S)
                    slot -= S;
                double *r = input_at(net, t, pr, slot, next);
                r[pr->tgt[syn]] += slot != next || dsc == 1.0 ? pr->w[syn] : pr->w[syn] * dsc;
            }
        }
    }
}

/* Plastic arrivals of step n, for thread t's targets. */
static void plast_arrivals(snn_net *net, int t, int64_t n)
{
    const int S = net->nslots;
    for (int pi = 0; pi < net->nproj; pi++) {
        snn_proj *pr = &net->proj[pi];
        if (!pr->plast)
            continue;
        snn_vec *q = &net->queue[pi][n % S][t].v;
        if (!q->n)
            continue;
        int next = (int)((n + 1) % S);
        double sc = direct_scale(net, pr), *ring = input_at(net, t, pr, next, next);
        const snn_rule *rule = pr->plast->rule;
        /* a synapse arrives at most once per step: all weights act before
         * any changes, as each would before its own change */
        for (size_t x = 0; x < q->n; x += 2)
            for (uint64_t syn = q->a[x]; syn < q->a[x + 1]; syn++)
                ring[pr->tgt[syn]] += sc == 1.0 ? pr->w[syn] : pr->w[syn] * sc;
        if (rule->on_pre_many) {
            const size_t *b = net->part + (size_t)pr->post * (size_t)(net->threads + 1);
            rule->on_pre_many(pr->plast, pr->w, q->a, q->n / 2, pr->tgt, b[t], b[t + 1], n);
        } else {
            for (size_t x = 0; x < q->n; x += 2)
                for (uint64_t syn = q->a[x]; syn < q->a[x + 1]; syn++)
                    rule->on_pre(pr->plast, pr->w, syn, pr->tgt[syn], n);
        }
        q->n = 0;
    }
}

/* The postsynaptic side of step n's spikes, for thread t's targets, on the
 * projections whose rule acts on spikes before arrivals (first = 1) or
 * after them (first = 0). */
static void plast_post(snn_net *net, int t, int64_t n, const uint32_t *spk, int first)
{
    for (int p = 0; p < net->npops; p++) {
        size_t c = net->tcount[t][p];
        for (int pi = 0; pi < net->nproj; pi++) {
            snn_proj *pr = &net->proj[pi];
            if (!pr->plast || pr->post != p || pr->plast->spikes_first != first)
                continue;
            for (size_t x = 0; x < c; x++) {
                size_t k = spk[x];
                for (uint64_t cc = pr->col[k]; cc < pr->col[k + 1]; cc++)
                    pr->plast->rule->on_post(pr->plast, pr->w, pr->col_syn[cc], k, n);
                pr->plast->rule->on_post_done(pr->plast, k, n);
            }
        }
        spk += c;
    }
}

/* The plasticity of step n: snn_plasticity.spikes_first says on which side
 * of the step's arrivals a projection's postsynaptic spikes act. With
 * fence, the team waits between the two, as threads share the arrival
 * groups' steps (snn_plasticity.pre_group): one thread's arrivals must not
 * move a step that another's spikes still read as it was. */
static void plasticity(snn_net *net, int t, int64_t n, const uint32_t *spk, int fence)
{
    plast_post(net, t, n, spk, 1);
    if (fence) {
#pragma omp barrier
    }
    plast_arrivals(net, t, n);
    plast_post(net, t, n, spk, 0);
}

/* Whether plasticity() must fence: spikes-first projections whose arrival
 * groups threads share. */
static int plasticity_fence(const snn_net *net)
{
    int fence = 0;
    for (int pi = 0; pi < net->nproj && net->threads > 1; pi++) {
        const snn_plasticity *pl = net->proj[pi].plast;
        fence |= pl && pl->pre_group && pl->spikes_first;
    }
    return fence;
}

static sb_status record_step(snn_net *net, int64_t n)
{
    for (int r = 0; r < net->nrec; r++) {
        snn_rec *rec = &net->rec[r];
        if (rec->is_source)
            continue;
        const snn_pop *pop = &net->pops[rec->group];
        for (int t = 0; t < net->threads; t++) {
            const uint32_t *spk = net->tspk[t];
            for (int p = 0; p < rec->group; p++)
                spk += net->tcount[t][p];
            for (size_t x = 0; x < net->tcount[t][rec->group]; x++)
                if (!snn_vec_push(&rec->ids, snn_pop_index(pop, spk[x])) ||
                    !snn_vec_push(&rec->steps, (uint64_t)n))
                    return sb_fail(SB_ENOMEM, "no memory to record the spikes of %s", pop->name);
        }
    }
    for (int i = 0; i < net->nprobe; i++) {
        snn_prec *pr = &net->probe[i];
        if (!pr->owned || (n + 1 - pr->start) % pr->every != 0)
            continue;
        if (pr->nvals == pr->capv) {
            size_t c = pr->capv ? pr->capv * 2 : 1024;
            double *a = realloc(pr->vals, c * sizeof *a);
            if (!a)
                return sb_fail(SB_ENOMEM, "no memory to record %s", net->pops[pr->pop].name);
            pr->vals = a;
            pr->capv = c;
        }
        const snn_pop *pop = &net->pops[pr->pop];
        double x = pop->var[pr->probe.var][pr->local];
        pr->vals[pr->nvals++] = pop->model->scale ? x / pop->model->scale(pop, pr->probe.var, n + 1) : x;
    }
    return SB_OK;
}

static sb_status record_sources(snn_net *net, size_t from, int64_t n)
{
    if (net->par.rank != 0)
        return SB_OK;
    for (int r = 0; r < net->nrec; r++) {
        snn_rec *rec = &net->rec[r];
        if (!rec->is_source)
            continue;
        const snn_source *s = &net->src[rec->group];
        for (size_t x = from; x < net->srcspk.n; x++) {
            uint64_t gid = net->srcspk.a[x];
            if (gid >= s->gid0 && gid < s->gid0 + s->n &&
                (!snn_vec_push(&rec->ids, gid - s->gid0) || !snn_vec_push(&rec->steps, (uint64_t)n)))
                return sb_fail(SB_ENOMEM, "no memory to record the spikes of %s", s->name);
        }
    }
    return SB_OK;
}

/* Merges two ascending key lists into out. */
static sb_status merge(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, snn_vec *out)
{
    out->n = 0;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        uint64_t x = j >= nb || (i < na && a[i] <= b[j]) ? a[i++] : b[j++];
        if (!snn_vec_push(out, x))
            return sb_fail(SB_ENOMEM, "no memory for %zu spikes", na + nb);
    }
    return SB_OK;
}

/* Everything the master does between the two barriers of step n. */
static void master_phase(snn_net *net, run_state *rs, int64_t n, int64_t end, sb_progress *prog,
                         int64_t sync)
{
    rs->ndeliver = 0;
    rs->done = n;
    uint64_t off = (uint64_t)(n - rs->batch_start) << SNN_GID_BITS;
    for (int p = 0; p < net->npops; p++) {
        const snn_pop *pop = &net->pops[p];
        for (int t = 0; t < net->threads; t++) {
            const uint32_t *spk = net->tspk[t];
            for (int q = 0; q < p; q++)
                spk += net->tcount[t][q];
            size_t c = net->tcount[t][p];
            net->count[p] += c;
            for (size_t x = 0; x < c; x++)
                if (!snn_vec_push(&net->pending, off | (pop->gid0 + snn_pop_index(pop, spk[x])))) {
                    rs->st = sb_fail(SB_ENOMEM, "no memory for the spikes of %s", pop->name);
                    return;
                }
        }
    }
    if ((rs->st = record_step(net, n)))
        return;
    size_t from = net->srcspk.n;
    for (int i = 0; i < net->nsrc; i++)
        if ((rs->st = snn_source_emit(&net->src[i], n, net->dt, net->seed, &net->srcspk)))
            return;
    if ((rs->st = record_sources(net, from, n)))
        return;
    for (size_t x = from; x < net->srcspk.n; x++)
        net->srcspk.a[x] |= off;
    if (currents_change(net, n + 1))
        apply_currents(net, n + 1);
    if ((n + 1) % net->interval == 0 || n + 1 == end) {
        const uint64_t *all;
        size_t nall;
        rs->st = par_exchange_spikes(&net->xch, net->par.comm, net->pending.a, net->pending.n, &all, &nall);
        if (!rs->st)
            rs->st = merge(all, nall, net->srcspk.a, net->srcspk.n, &rs->merged);
        if (rs->st)
            return;
        rs->deliver = rs->merged.a;
        rs->ndeliver = rs->merged.n;
        rs->deliver_base = rs->batch_start;
        rs->batch_start = n + 1;
        net->pending.n = net->srcspk.n = 0;
    }
    if (!net->quiet && (n + 1) % sync == 0 && n + 1 < end) {
        rs->halt = par_any(sb_stop_requested(), net->par.comm);
        sb_progress_update(prog, (double)(n + 1 - rs->begin) * net->dt);
    }
    rs->done = n + 1;
    for (int p = 0; p < net->npops; p++)
        set_now(&net->pops[p], n + 1);
}

sb_status snn_net_run(snn_net *net, int64_t steps)
{
    const int64_t begin = net->step, end = net->step + steps;
    /* safe points (stop requests, progress) fall on interval ends */
    const int64_t sync = ((1000 + net->interval - 1) / net->interval) * net->interval;
    run_state rs = {.begin = begin, .batch_start = begin, .done = begin};
    sb_progress prog;
    /* in ms of biological time: the rate is then 1000 x the real-time factor */
    sb_progress_begin(&prog, "simulate", "ms", (double)steps * net->dt, (double)steps * net->dt);
    if (net->quiet)
        prog.active = 0;
    apply_currents(net, begin);
    for (int p = 0; p < net->npops; p++)
        set_now(&net->pops[p], begin);
    const int shared_groups = plasticity_fence(net);
#pragma omp parallel num_threads(net->threads)
    {
        const int t = omp_get_thread_num();
        /* libgomp's barrier makes a futex-wake system call even in a team of
         * one (twice a step: 6 % of a 4 000-neuron CUBA run on one thread) */
        const int team = omp_get_num_threads(), fence = team > 1 && shared_groups;
        for (int64_t n = begin; n < end; n++) {
            uint32_t *out = net->tspk[t];
            for (int p = 0; p < net->npops; p++) {
                snn_pop *pop = &net->pops[p];
                const size_t *b = net->part + (size_t)p * (size_t)(net->threads + 1);
                size_t slot = (size_t)(n % net->nslots), off = slot * pop->nlocal;
                uint8_t *dirty = net->dirty + ((size_t)t * (size_t)net->npops + (size_t)p) *
                                                  (size_t)net->nslots + slot;
                size_t c = pop->model->step(pop, b[t], b[t + 1], *dirty ? net->ring_e[p] + off : NULL,
                                            *dirty ? net->ring_i[p] + off : NULL, out);
                *dirty = 0;
                net->tcount[t][p] = c;
                out += c;
            }
            if (team > 1) {
#pragma omp barrier
            }
#pragma omp master
            master_phase(net, &rs, n, end, &prog, sync);
            if (team > 1) {
#pragma omp barrier
            }
            if (rs.st)
                break;
            if (rs.ndeliver)
                deliver(net, t, rs.deliver, rs.ndeliver, rs.deliver_base, n);
            plasticity(net, t, n, net->tspk[t], fence);
            if (rs.halt)
                break;
        }
    }
    net->step = rs.done;
    snn_vec_free(&rs.merged);
    if (net->oom && !rs.st)
        rs.st = sb_fail(SB_ENOMEM, "no memory to queue plastic synaptic events");
    if (rs.st)
        return rs.st;
    sb_progress_end(&prog);
    return rs.halt ? SB_EINTERRUPTED : SB_OK;
}
