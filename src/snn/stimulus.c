/* Spike sources, replicated on every rank: Poisson generators and spike
 * trains read from a SONATA file. A Poisson source draws its next spike step
 * from a geometric distribution (the exact waiting time of a Bernoulli
 * process with p = rate·dt per step), so it costs one random number per spike
 * instead of one per step, and the stream of source i is keyed by i alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static uint64_t entity(const snn_source *s, uint64_t i) { return ((uint64_t)s->stream << 40) | i; }

/* Steps until the next spike, counting this one (0 = now). */
static int64_t wait_steps(snn_source *s, uint64_t i, double dt, uint32_t seed)
{
    double p = s->rate[i] * dt * 1e-3;
    if (p <= 0)
        return INT64_MAX / 2;
    if (p >= 1)
        return 0;
    sb_rng r;
    sb_rng_init(&r, seed, SB_STREAM_SNN_POISSON, entity(s, i), s->draws[i]++);
    double k = floor(log(sb_rng_uniform(&r)) / log1p(-p));
    return k > 1e15 ? INT64_MAX / 2 : (int64_t)k;
}

void snn_source_set_rates(snn_source *s, const double *rates, uint64_t first, uint64_t n,
                          int64_t step, double dt, uint32_t seed)
{
    for (uint64_t i = first; i < first + n && i < s->n; i++) {
        s->rate[i] = rates[i - first];
        s->next[i] = step + wait_steps(s, i, dt, seed);
    }
}

static int cmp_spike(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Sorts n (step, id) pairs and makes them the source's spike list from its
 * first spike on. merge: spikes of one source in one step become one. */
static sb_status take_pairs(snn_source *s, uint64_t *pairs, uint64_t n, int merge)
{
    qsort(pairs, n, 2 * sizeof *pairs, cmp_spike);
    int64_t *step = realloc(s->spike_step, (n + 1) * sizeof *step);
    if (step)
        s->spike_step = step;
    uint64_t *id = realloc(s->spike_id, (n + 1) * sizeof *id);
    if (id)
        s->spike_id = id;
    if (!step || !id)
        return SB_ENOMEM;
    uint64_t m = 0;
    for (uint64_t k = 0; k < n; k++) {
        if (merge && m && (uint64_t)step[m - 1] == pairs[2 * k] && id[m - 1] == pairs[2 * k + 1])
            continue;
        step[m] = (int64_t)pairs[2 * k];
        id[m++] = pairs[2 * k + 1];
    }
    s->nspikes = m;
    s->cursor = 0;
    return SB_OK;
}

static sb_status load_file(snn_source *s, const char *path, const char *pop, uint64_t n, double dt,
                           const char *where)
{
    sonata_spikes sp;
    sb_status st = sonata_read_spikes(path, pop, &sp);
    if (st)
        return sb_fail_context(st, "%s", where);
    uint64_t *pairs = SB_MALLOC(sp.n * 2 + 2, sizeof *pairs);
    uint64_t maxid = 0;
    for (uint64_t k = 0; pairs && k < sp.n && !st; k++) {
        double t = sp.timestamps[k];
        if (!(t >= 0) || !isfinite(t))
            st = sb_fail(SB_EFORMAT, "%s: %s /spikes/%s: spike %llu has time %g ms (need >= 0)",
                         where, path, pop, (unsigned long long)k, t);
        pairs[2 * k] = (uint64_t)llround(t / dt);
        pairs[2 * k + 1] = sp.node_ids[k];
        if (sp.node_ids[k] > maxid)
            maxid = sp.node_ids[k];
    }
    if (!pairs)
        st = SB_ENOMEM;
    if (!st && n && sp.n && maxid >= n)
        st = sb_fail(SB_EFORMAT, "%s: %s /spikes/%s has node id %llu, but n = %llu", where, path,
                     pop, (unsigned long long)maxid, (unsigned long long)n);
    if (!st) {
        s->n = n ? n : sp.n ? maxid + 1 : 0;
        /* a file's spikes are kept as they are (no merging), as before */
        st = take_pairs(s, pairs, sp.n, 0);
    }
    free(pairs);
    sonata_spikes_free(&sp);
    return st;
}

sb_status snn_source_set_spikes(snn_source *s, const uint64_t *ids, const double *t_ms, uint64_t n,
                                int64_t step, double dt)
{
    if (s->kind != SNN_SRC_SPIKES)
        return sb_fail(SB_EINVAL, "source %s is not a spike list (type = spikes)", s->name);
    uint64_t *pairs = SB_MALLOC(2 * n + 2, sizeof *pairs);
    if (!pairs)
        return SB_ENOMEM;
    sb_status st = SB_OK;
    for (uint64_t k = 0; k < n && !st; k++) {
        if (!(t_ms[k] >= 0) || !isfinite(t_ms[k]) || ids[k] >= s->n)
            st = sb_fail(SB_EINVAL, "source %s: spike %llu of source %llu at %g ms (need a source "
                         "below %llu and a time >= 0)", s->name, (unsigned long long)k,
                         (unsigned long long)ids[k], t_ms[k], (unsigned long long)s->n);
        /* the step that holds the time; the guard keeps k*dt computed as
         * a hair below it in step k */
        pairs[2 * k] = (uint64_t)step + (uint64_t)floor(t_ms[k] / dt + 1e-9);
        pairs[2 * k + 1] = ids[k];
    }
    if (!st)
        st = take_pairs(s, pairs, n, 1);
    free(pairs);
    return st;
}

sb_status snn_source_build(snn_net *net, snn_source *s, int index, const sb_config *cfg,
                           const char *section, uint64_t gid0)
{
    char where[256];
    snprintf(where, sizeof where, "%s: [%s]", sb_cfg_where(cfg, section, "type"), section);
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", strchr(section, '.') + 1);
    s->gid0 = gid0;
    s->stream = (uint32_t)index;
    uint64_t n = (uint64_t)sb_cfg_int(cfg, section, "n");
    if (strcmp(sb_cfg_str(cfg, section, "type"), "spikes") == 0) {
        s->kind = SNN_SRC_SPIKES;
        const char *file = sb_cfg_str(cfg, section, "file");
        if (!*file && n) { /* silent until a task sets its spikes (snn_net_set_spikes) */
            s->n = n;
            return SB_OK;
        }
        if (!*file)
            return sb_fail(SB_ECONFIG, "%s: type = spikes needs file = a SONATA spike file (or "
                           "n > 0 sources whose spikes a task sets)", where);
        const char *pop = sb_cfg_str(cfg, section, "source_population");
        return load_file(s, file, *pop ? pop : s->name, n, net->dt, where);
    }
    s->kind = SNN_SRC_POISSON;
    if (n == 0)
        return sb_fail(SB_ECONFIG, "%s: type = poisson needs n > 0 sources", where);
    snn_dist rate;
    char what[300];
    snprintf(what, sizeof what, "%s rate", where);
    sb_status st = snn_dist_parse(sb_cfg_str(cfg, section, "rate"), what, &rate);
    double lo, hi;
    snn_dist_bounds(&rate, &lo, &hi);
    if (!st && lo < 0)
        st = sb_fail(SB_ECONFIG, "%s: rates must be >= 0 Hz", what);
    if (st)
        return st;
    s->n = n;
    s->rate = SB_MALLOC(n, sizeof *s->rate);
    s->next = SB_MALLOC(n, sizeof *s->next);
    s->draws = SB_CALLOC(n, sizeof *s->draws);
    if (!s->rate || !s->next || !s->draws)
        return SB_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        sb_rng r;
        sb_rng_init(&r, net->seed, SB_STREAM_SNN_INIT, ((uint64_t)(SNN_VAR_COUNT_ + 1) << 40) | (gid0 + i), 0);
        s->rate[i] = snn_dist_draw(&rate, &r, i, n);
    }
    for (uint64_t i = 0; i < n; i++)
        s->next[i] = wait_steps(s, i, net->dt, net->seed);
    return SB_OK;
}

sb_status snn_source_emit(snn_source *s, int64_t step, double dt, uint32_t seed, snn_vec *out)
{
    if (s->kind == SNN_SRC_SPIKES) {
        while (s->cursor < s->nspikes && s->spike_step[s->cursor] < step)
            s->cursor++;
        for (; s->cursor < s->nspikes && s->spike_step[s->cursor] == step; s->cursor++)
            if (!snn_vec_push(out, s->gid0 + s->spike_id[s->cursor]))
                return SB_ENOMEM;
        return SB_OK;
    }
    for (uint64_t i = 0; i < s->n; i++) {
        if (s->next[i] != step)
            continue;
        if (!snn_vec_push(out, s->gid0 + i))
            return SB_ENOMEM;
        s->next[i] = step + 1 + wait_steps(s, i, dt, seed);
    }
    return SB_OK;
}

void snn_source_free(snn_source *s)
{
    free(s->rate);
    free(s->next);
    free(s->draws);
    free(s->spike_step);
    free(s->spike_id);
    memset(s, 0, sizeof *s);
}
