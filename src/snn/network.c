/* A network built from a job's [population.*], [stimulus.*] and
 * [projection.*] sections: gids in section order (populations, then spike
 * sources), round-robin ownership, a shape summary on rank 0. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

const char *const snn_var_names[SNN_VAR_COUNT_] = {"v", "ge", "gi", "theta"};

int snn_vec_grow_push(snn_vec *v, uint64_t x)
{
    size_t c = v->cap ? v->cap * 2 : 64;
    uint64_t *a = realloc(v->a, c * sizeof *a);
    if (!a)
        return 0;
    v->a = a;
    v->cap = c;
    v->a[v->n++] = x;
    return 1;
}

void snn_vec_free(snn_vec *v)
{
    free(v->a);
    memset(v, 0, sizeof *v);
}

const snn_neuron_model *snn_neuron_model_find(const char *name)
{
    const snn_neuron_model *all[] = {&snn_neuron_lif_cuba, &snn_neuron_lif_coba, &snn_neuron_if};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

const snn_rule *snn_rule_find(const char *name)
{
    const snn_rule *all[] = {&snn_rule_stdp, &snn_rule_diehl_cook, &snn_rule_power_law};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static const char *short_name(const char *section) { return strchr(section, '.') + 1; }

static sb_status init_var(snn_net *net, snn_pop *pop, snn_var var, const char *text,
                          const char *what)
{
    snn_dist d;
    sb_status st = snn_dist_parse(text, what, &d);
    if (st)
        return st;
    for (size_t k = 0; k < pop->nlocal; k++) {
        uint64_t i = snn_pop_index(pop, k);
        sb_rng r;
        sb_rng_init(&r, net->seed, SB_STREAM_SNN_INIT, ((uint64_t)var << 40) | (pop->gid0 + i), 0);
        double x = snn_dist_draw(&d, &r, i, pop->n);
        /* conductances and θ cannot be negative (Brette's kick-start clips) */
        pop->var[var][k] = var == SNN_VAR_V ? x : fmax(x, 0);
    }
    return SB_OK;
}

static sb_status build_pop(snn_net *net, snn_pop *pop, const sb_config *cfg, const char *sec,
                           uint64_t gid0)
{
    char where[256], why[200], what[300];
    snprintf(where, sizeof where, "%s: [%s]", sb_cfg_where(cfg, sec, "model"), sec);
    snprintf(pop->name, sizeof pop->name, "%s", short_name(sec));
    pop->model = snn_neuron_model_find(sb_cfg_str(cfg, sec, "model"));
    snn_neuron_params *p = &pop->p;
    p->v_rest = sb_cfg_real(cfg, sec, "v_rest");
    p->v_reset = sb_cfg_real(cfg, sec, "v_reset");
    p->v_th = sb_cfg_real(cfg, sec, "v_th");
    p->tau_m = sb_cfg_real(cfg, sec, "tau_m");
    p->tau_e = sb_cfg_real(cfg, sec, "tau_e");
    p->tau_i = sb_cfg_real(cfg, sec, "tau_i");
    p->t_ref = sb_cfg_real(cfg, sec, "t_ref");
    p->e_exc = sb_cfg_real(cfg, sec, "e_exc");
    p->e_inh = sb_cfg_real(cfg, sec, "e_inh");
    p->i_ext = sb_cfg_real(cfg, sec, "i_ext");
    p->theta_plus = sb_cfg_real(cfg, sec, "theta_plus");
    p->tau_theta = sb_cfg_real(cfg, sec, "tau_theta");
    p->euler = strcmp(sb_cfg_str(cfg, sec, "method"), "euler") == 0;
    p->t_lockout = sb_cfg_real(cfg, sec, "t_lockout");
    if (!pop->model->valid(p, net->dt, why, sizeof why))
        return sb_fail(SB_ECONFIG, "%s: %s", where, why);
    pop->gid0 = gid0;
    pop->n = (uint64_t)sb_cfg_int(cfg, sec, "n");
    uint64_t P = (uint64_t)net->par.size, r = (uint64_t)net->par.rank;
    pop->stride = P;
    pop->first = (r + P - gid0 % P) % P;
    pop->nlocal = pop->first < pop->n ? (size_t)((pop->n - pop->first + P - 1) / P) : 0;
    size_t nl = pop->nlocal + 1;
    for (int v = 0; v < SNN_VAR_COUNT_; v++)
        if (!(pop->var[v] = SB_CALLOC(nl, sizeof(double))))
            return SB_ENOMEM;
    pop->i_stim = SB_CALLOC(nl, sizeof *pop->i_stim);
    pop->refr = SB_CALLOC(nl, sizeof *pop->refr);
    pop->steady = SB_CALLOC(nl, sizeof *pop->steady);
    if (!pop->i_stim || !pop->refr || !pop->steady)
        return SB_ENOMEM;
    static const char *const keys[SNN_VAR_COUNT_] = {"v_init", "ge_init", "gi_init", "theta_init"};
    for (int v = 0; v < SNN_VAR_COUNT_; v++) {
        const char *text = sb_cfg_str(cfg, sec, keys[v]);
        char rest[64];
        if (v == SNN_VAR_V && !*text) {
            snprintf(rest, sizeof rest, "%.17g", p->v_rest);
            text = rest;
        }
        snprintf(what, sizeof what, "%s %s", where, keys[v]);
        sb_status st = init_var(net, pop, (snn_var)v, text, what);
        if (st)
            return st;
    }
    pop->model->prepare(pop, net->dt);
    return SB_OK;
}

int snn_net_group_of(const snn_net *net, uint64_t gid)
{
    for (int i = 0; i < net->npops; i++)
        if (gid < net->pops[i].gid0 + net->pops[i].n)
            return i;
    for (int i = 0; i < net->nsrc; i++)
        if (gid < net->src[i].gid0 + net->src[i].n)
            return net->npops + i;
    return -1;
}

static int find_group(const snn_net *net, const char *name, int *is_source)
{
    *is_source = 0;
    int i = snn_net_find_pop(net, name);
    if (i >= 0)
        return i;
    *is_source = 1;
    return snn_net_find_source(net, name);
}

static sb_status build_current(snn_net *net, snn_current *c, const sb_config *cfg, const char *sec)
{
    char where[256];
    snprintf(where, sizeof where, "%s: [%s]", sb_cfg_where(cfg, sec, "type"), sec);
    snprintf(c->name, sizeof c->name, "%s", short_name(sec));
    const char *target = sb_cfg_str(cfg, sec, "target");
    c->pop = snn_net_find_pop(net, target);
    if (c->pop < 0)
        return sb_fail(SB_ECONFIG, "%s: target '%s' is not a population of this job", where, target);
    c->amplitude = sb_cfg_real(cfg, sec, "amplitude");
    c->start = llround(sb_cfg_real(cfg, sec, "start") / net->dt);
    double stop = sb_cfg_real(cfg, sec, "stop");
    c->stop = stop >= 1e11 ? INT64_MAX : llround(stop / net->dt);
    uint64_t n = net->pops[c->pop].n;
    c->lo = 0;
    c->hi = n;
    const char *range = sb_cfg_str(cfg, sec, "neurons");
    if (*range) {
        unsigned long long a, b;
        char tail;
        if (sscanf(range, "%llu:%llu%c", &a, &b, &tail) != 2 || a >= b || b > n)
            return sb_fail(SB_ECONFIG, "%s: neurons = '%s' is not a range a:b within 0:%llu", where,
                           range, (unsigned long long)n);
        c->lo = a;
        c->hi = b;
    }
    net->pops[c->pop].has_stim = 1;
    if (c->stop <= c->start)
        return sb_fail(SB_ECONFIG, "%s: stop must be after start", where);
    return SB_OK;
}

static sb_status build_groups(snn_net *net, const sb_config *cfg)
{
    const char *const *names;
    int n = sb_cfg_sections(cfg, "population", &names);
    if (n == 0)
        return sb_fail(SB_ECONFIG, "%s: task = simulate needs at least one [population.NAME] section",
                       sb_cfg_path(cfg));
    net->pops = SB_CALLOC((size_t)n, sizeof *net->pops);
    if (!net->pops)
        return SB_ENOMEM;
    uint64_t gid = 0;
    for (int i = 0; i < n; i++) {
        sb_status st = build_pop(net, &net->pops[i], cfg, names[i], gid);
        net->npops = i + 1;
        if (st)
            return st;
        gid += net->pops[i].n;
    }
    n = sb_cfg_sections(cfg, "stimulus", &names);
    net->src = SB_CALLOC((size_t)n + 1, sizeof *net->src);
    net->cur = SB_CALLOC((size_t)n + 1, sizeof *net->cur);
    if (!net->src || !net->cur)
        return SB_ENOMEM;
    for (int i = 0; i < n; i++) {
        sb_status st;
        if (strcmp(sb_cfg_str(cfg, names[i], "type"), "current") == 0) {
            st = build_current(net, &net->cur[net->ncur++], cfg, names[i]);
        } else {
            snn_source *s = &net->src[net->nsrc++];
            st = snn_source_build(net, s, i, cfg, names[i], gid);
            gid += s->n;
        }
        if (st)
            return st;
    }
    if (gid >= (UINT64_C(1) << SNN_GID_BITS))
        return sb_fail(SB_ECONFIG, "%s: %llu neurons and sources exceed 2^%d", sb_cfg_path(cfg),
                       (unsigned long long)gid, SNN_GID_BITS);
    return SB_OK;
}

static sb_status build_projs(snn_net *net, const sb_config *cfg)
{
    const char *const *names;
    int n = sb_cfg_sections(cfg, "projection", &names);
    net->proj = SB_CALLOC((size_t)n + 1, sizeof *net->proj);
    if (!net->proj)
        return SB_ENOMEM;
    for (int i = 0; i < n; i++) {
        snn_proj *pr = &net->proj[i];
        net->nproj = i + 1;
        char where[256];
        snprintf(where, sizeof where, "%s: [%s]", sb_cfg_where(cfg, names[i], "pre"), names[i]);
        snprintf(pr->name, sizeof pr->name, "%s", short_name(names[i]));
        const char *pre = sb_cfg_str(cfg, names[i], "pre"), *post = sb_cfg_str(cfg, names[i], "post");
        pr->pre = find_group(net, pre, &pr->pre_is_source);
        if (pr->pre < 0)
            return sb_fail(SB_ECONFIG, "%s: pre = '%s' is not a population or spike source of this job",
                           where, pre);
        pr->post = snn_net_find_pop(net, post);
        if (pr->post < 0)
            return sb_fail(SB_ECONFIG, "%s: post = '%s' is not a population of this job", where, post);
        pr->npre = pr->pre_is_source ? net->src[pr->pre].n : net->pops[pr->pre].n;
        pr->target = strcmp(sb_cfg_str(cfg, names[i], "target"), "inh") == 0 ? SNN_TARGET_INH
                                                                             : SNN_TARGET_EXC;
        sb_status st = snn_proj_build(net, pr, i, cfg, names[i]);
        if (st)
            return st;
        if (pr->normalise > 0)
            snn_proj_normalise(net, i);
    }
    return SB_OK;
}

/* Rings, thread ranges, outgoing lists and spike buffers. */
static sb_status build_engine(snn_net *net)
{
    int T = net->threads, G = net->npops + net->nsrc;
    int64_t lat = 1 << 14;
    int dmax = 0;
    for (int i = 0; i < net->nproj; i++) {
        lat = net->proj[i].delay_min + 1 < lat ? net->proj[i].delay_min + 1 : lat;
        dmax = net->proj[i].delay_max > dmax ? net->proj[i].delay_max : dmax;
    }
    net->interval = net->nproj ? lat : 100;
    net->nslots = dmax + 2;
    net->ring_e = SB_CALLOC((size_t)net->npops, sizeof *net->ring_e);
    net->ring_i = SB_CALLOC((size_t)net->npops, sizeof *net->ring_i);
    net->part = SB_CALLOC((size_t)net->npops * (size_t)(T + 1), sizeof *net->part);
    net->count = SB_CALLOC((size_t)net->npops, sizeof *net->count);
    net->out_proj = SB_CALLOC((size_t)G, sizeof *net->out_proj);
    net->nout_proj = SB_CALLOC((size_t)G, sizeof *net->nout_proj);
    net->tspk = SB_CALLOC((size_t)T, sizeof *net->tspk);
    net->tcount = SB_CALLOC((size_t)T, sizeof *net->tcount);
    net->queue = SB_CALLOC((size_t)net->nproj + 1, sizeof *net->queue);
    net->dirty = SB_CALLOC((size_t)T * (size_t)net->npops * (size_t)net->nslots + 1, 1);
    if (!net->ring_e || !net->ring_i || !net->part || !net->count || !net->out_proj ||
        !net->nout_proj || !net->tspk || !net->tcount || !net->queue || !net->dirty)
        return SB_ENOMEM;
    size_t maxrange = 0;
    for (int p = 0; p < net->npops; p++) {
        size_t nl = net->pops[p].nlocal, cells = (size_t)net->nslots * nl + 1;
        if (!(net->ring_e[p] = SB_CALLOC(cells, sizeof(double))) ||
            !(net->ring_i[p] = SB_CALLOC(cells, sizeof(double))))
            return SB_ENOMEM;
        size_t *b = net->part + (size_t)p * (size_t)(T + 1);
        for (int t = 0; t <= T; t++)
            b[t] = nl * (size_t)t / (size_t)T;
        maxrange += b[1] - b[0] + 1;
    }
    for (int t = 0; t < T; t++)
        if (!(net->tspk[t] = SB_MALLOC(maxrange + 1, sizeof(uint32_t))) ||
            !(net->tcount[t] = SB_CALLOC((size_t)net->npops + 1, sizeof(size_t))))
            return SB_ENOMEM;
    for (int i = 0; i < net->nproj; i++) {
        snn_proj *pr = &net->proj[i];
        if (T > 1 && !pr->delay) {
            const size_t *b = net->part + (size_t)pr->post * (size_t)(T + 1);
            pr->split = SB_MALLOC(pr->npre * (size_t)(T - 1) + 1, sizeof *pr->split);
            if (!pr->split)
                return SB_ENOMEM;
            for (uint64_t r = 0; r < pr->npre; r++) {
                uint64_t s = pr->row[r];
                for (int t = 1; t < T; t++) {
                    while (s < pr->row[r + 1] && pr->tgt[s] < b[t])
                        s++;
                    pr->split[r * (uint64_t)(T - 1) + (uint64_t)(t - 1)] = (uint32_t)(s - pr->row[r]);
                }
            }
        }
        int g = pr->pre_is_source ? net->npops + pr->pre : pr->pre;
        int *l = realloc(net->out_proj[g], (size_t)(net->nout_proj[g] + 1) * sizeof *l);
        if (!l)
            return SB_ENOMEM;
        l[net->nout_proj[g]++] = i;
        net->out_proj[g] = l;
        if (!pr->plast)
            continue;
        net->queue[i] = SB_CALLOC((size_t)net->nslots, sizeof **net->queue);
        if (!net->queue[i])
            return SB_ENOMEM;
        for (int s = 0; s < net->nslots; s++)
            if (!(net->queue[i][s] = SB_CALLOC((size_t)T, sizeof ***net->queue)))
                return SB_ENOMEM;
    }
    return par_exchange_init(&net->xch, net->par.comm);
}

static void summary(const snn_net *net)
{
    char buf[64];
    for (int i = 0; i < net->npops; i++) {
        const snn_pop *p = &net->pops[i];
        sb_info("population %-10s %10llu %-9s gids %llu-%llu", p->name, (unsigned long long)p->n,
                p->model->name, (unsigned long long)p->gid0, (unsigned long long)(p->gid0 + p->n - 1));
    }
    for (int i = 0; i < net->nsrc; i++) {
        const snn_source *s = &net->src[i];
        sb_info("source     %-10s %10llu %-9s gids %llu-%llu", s->name, (unsigned long long)s->n,
                s->kind == SNN_SRC_POISSON ? "poisson" : "spikes", (unsigned long long)s->gid0,
                (unsigned long long)(s->gid0 + s->n - 1));
    }
    for (int i = 0; i < net->nproj; i++) {
        const snn_proj *pr = &net->proj[i];
        uint64_t n = par_sum_u64(pr->nsyn, net->par.comm);
        snprintf(buf, sizeof buf, "%s", pr->plast ? pr->plast->rule->name : "static");
        sb_info("projection %-10s %s -> %s (%s): %llu synapses, %s", pr->name,
                pr->pre_is_source ? net->src[pr->pre].name : net->pops[pr->pre].name,
                net->pops[pr->post].name, pr->target == SNN_TARGET_EXC ? "exc" : "inh",
                (unsigned long long)n, buf);
    }
    sb_info("dt %g ms, spikes exchanged every %lld steps, %d ranks x %d threads", net->dt,
            (long long)net->interval, net->par.size, net->threads);
}

sb_status snn_net_build(snn_net **out, const sb_config *cfg, const par_ctx *par)
{
    snn_net *net = SB_CALLOC(1, sizeof *net);
    if (!net)
        return SB_ENOMEM;
    net->par = *par;
    net->threads = omp_get_max_threads();
    net->seed = (uint32_t)sb_cfg_int(cfg, "job", "seed");
    net->dt = sb_cfg_real(cfg, "simulate", "dt");
    sb_status st = build_groups(net, cfg);
    if (!st)
        st = build_projs(net, cfg);
    if (!st)
        st = build_engine(net);
    st = par_agree(st, par->comm);
    if (st) {
        snn_net_free(net);
        return st;
    }
    summary(net);
    *out = net;
    return SB_OK;
}

void snn_net_free(snn_net *net)
{
    if (!net)
        return;
    for (int p = 0; p < net->npops; p++) {
        for (int v = 0; v < SNN_VAR_COUNT_; v++)
            free(net->pops[p].var[v]);
        free(net->pops[p].i_stim);
        free(net->pops[p].refr);
        free(net->pops[p].steady);
        if (net->ring_e)
            free(net->ring_e[p]);
        if (net->ring_i)
            free(net->ring_i[p]);
    }
    for (int i = 0; i < net->nsrc; i++)
        snn_source_free(&net->src[i]);
    for (int i = 0; i < net->nproj; i++) {
        if (net->queue && net->queue[i]) {
            for (int s = 0; s < net->nslots; s++) {
                for (int t = 0; net->queue[i][s] && t < net->threads; t++)
                    snn_vec_free(&net->queue[i][s][t].v);
                free(net->queue[i][s]);
            }
            free(net->queue[i]);
        }
        snn_proj_free(&net->proj[i]);
    }
    for (int g = 0; net->out_proj && g < net->npops + net->nsrc; g++)
        free(net->out_proj[g]);
    for (int t = 0; t < net->threads; t++) {
        if (net->tspk)
            free(net->tspk[t]);
        if (net->tcount)
            free(net->tcount[t]);
    }
    for (int i = 0; i < net->nrec; i++) {
        snn_vec_free(&net->rec[i].ids);
        snn_vec_free(&net->rec[i].steps);
    }
    for (int i = 0; i < net->nprobe; i++)
        free(net->probe[i].vals);
    free(net->rec);
    free(net->probe);
    snn_vec_free(&net->pending);
    snn_vec_free(&net->srcspk);
    par_exchange_free(&net->xch);
    free(net->pops);
    free(net->src);
    free(net->cur);
    free(net->proj);
    free(net->ring_e);
    free(net->ring_i);
    free(net->dirty);
    free(net->part);
    free(net->count);
    free(net->out_proj);
    free(net->nout_proj);
    free(net->tspk);
    free(net->tcount);
    free(net->queue);
    free(net);
}

/* Cloned: scale[tgt[s]] is a gather, which only AVX2 and AVX-512 have; the
 * same operations on every target, so the same weights. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void scale_weights(float *restrict w, const uint32_t *restrict tgt, uint64_t n,
                          const double *restrict scale)
{
    for (uint64_t s = 0; s < n; s++)
        w[s] = (float)(w[s] * scale[tgt[s]]);
}

void snn_proj_normalise(snn_net *net, int i)
{
    snn_proj *pr = &net->proj[i];
    if (!(pr->normalise > 0) || !pr->col)
        return;
    /* Through the rows, not the columns: a column's weights lie one per row,
     * a cache miss each, and this ran at a tenth of the memory bandwidth.
     * Rows are in pre order, as a column lists its synapses, so every sum
     * adds in the same order as before. Each thread reads all synapses and
     * sums those into its own neurons; the others go to a sink instead of
     * past a branch, which would mispredict on every other synapse with two
     * threads (targets within a row are in delay order, not in thread
     * order). The scaling is per synapse and needs no order: each thread
     * takes a slice. */
    const size_t nl = net->pops[pr->post].nlocal;
    const uint32_t *tgt = pr->tgt;
    float *w = pr->w;
    double *scale = pr->scale;
    const uint64_t nsyn = pr->nsyn;
#pragma omp parallel num_threads(net->threads)
    {
        const size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads();
        const size_t lo = nl * t / T, hi = nl * (t + 1) / T;
        double sink = 0;
        for (size_t k = lo; k < hi; k++)
            scale[k] = 0;
        for (uint64_t s = 0; s < nsyn; s++) {
            const uint32_t g = tgt[s];
            double *sum = g >= lo && g < hi ? &scale[g] : &sink;
            *sum += w[s];
        }
        for (size_t k = lo; k < hi; k++) /* sum <= 0: weights stay as they are */
            scale[k] = scale[k] <= 0 ? 1.0 : pr->normalise / scale[k];
#pragma omp barrier
        const uint64_t s0 = nsyn * t / T, s1 = nsyn * (t + 1) / T;
        scale_weights(w + s0, tgt + s0, s1 - s0, scale);
    }
}

void snn_net_set_rates(snn_net *net, int i, const double *rates, uint64_t first, uint64_t n)
{
    snn_source_set_rates(&net->src[i], rates, first, n, net->step, net->dt, net->seed);
}

sb_status snn_net_set_spikes(snn_net *net, int i, const uint64_t *ids, const double *t_ms,
                             uint64_t n)
{
    return snn_source_set_spikes(&net->src[i], ids, t_ms, n, net->step, net->dt);
}

void snn_net_set_progress(snn_net *net, int on) { net->quiet = !on; }

void snn_net_set_user(snn_net *net, int64_t *buf, int n)
{
    net->user = buf;
    net->nuser = n;
}

int64_t snn_net_step(const snn_net *net) { return net->step; }
double snn_net_dt(const snn_net *net) { return net->dt; }
int snn_net_npops(const snn_net *net) { return net->npops; }
snn_pop *snn_net_pop(snn_net *net, int i) { return &net->pops[i]; }
int snn_net_nsources(const snn_net *net) { return net->nsrc; }
snn_source *snn_net_source(snn_net *net, int i) { return &net->src[i]; }
int snn_net_nprojs(const snn_net *net) { return net->nproj; }
snn_proj *snn_net_proj(snn_net *net, int i) { return &net->proj[i]; }
uint64_t snn_net_spike_count(const snn_net *net, int pop) { return par_sum_u64(net->count[pop], net->par.comm); }

int snn_net_find_pop(const snn_net *net, const char *name)
{
    for (int i = 0; i < net->npops; i++)
        if (strcmp(net->pops[i].name, name) == 0)
            return i;
    return -1;
}

int snn_net_find_source(const snn_net *net, const char *name)
{
    for (int i = 0; i < net->nsrc; i++)
        if (strcmp(net->src[i].name, name) == 0)
            return i;
    return -1;
}

uint64_t snn_net_synapses(const snn_net *net)
{
    uint64_t n = 0;
    for (int i = 0; i < net->nproj; i++)
        n += net->proj[i].nsyn;
    return n;
}

uint64_t snn_net_synapse_bytes(const snn_net *net)
{
    uint64_t b = 0;
    for (int i = 0; i < net->nproj; i++) {
        const snn_proj *pr = &net->proj[i];
        size_t nl = net->pops[pr->post].nlocal;
        b += (pr->npre + 1) * sizeof *pr->row + pr->nsyn * (sizeof *pr->tgt + sizeof *pr->w);
        if (pr->delay)
            b += pr->nsyn * sizeof *pr->delay;
        if (pr->split)
            b += pr->npre * (uint64_t)(net->threads - 1) * sizeof *pr->split;
        if (pr->col)
            b += (nl + 1) * (sizeof *pr->col + sizeof *pr->scale) + pr->nsyn * sizeof *pr->col_syn;
        if (pr->plast)
            b += pr->nsyn * ((pr->plast->pre ? sizeof *pr->plast->pre : 0) +
                             (pr->plast->pre_group ? sizeof *pr->plast->pre_group : 0)) +
                 pr->plast->npre_step * sizeof *pr->plast->pre_step + nl * 3 * sizeof(double);
    }
    return b;
}
