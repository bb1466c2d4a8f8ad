/* Projections: who connects to whom, with which weight and delay.
 *
 * Each rank generates only the incoming synapses of the neurons it owns.
 * The synapses of post neuron gid g come from one random stream keyed by
 * (projection, g), so the network is the same for any rank count. Rows are
 * filled in two passes over the same streams (count per presynaptic neuron,
 * then fill), so construction needs no temporary copy of the synapses and a
 * synapse costs 8 bytes (target, weight) plus 2 when delays vary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

typedef enum { R_ALL, R_ONE, R_ALL_BUT_SELF, R_PROB, R_INDEGREE, R_FILE } rule_kind;

typedef struct {
    rule_kind rule;
    double p;
    uint64_t indegree;
    int same;               /* pre and post are the same population */
    snn_dist weight, delay;
    /* rule = file: every synapse of the file, by post index */
    uint64_t nfile, *fpre, *fpost, *forder;
    double *fw, *fd;
} spec;

static sb_status grow(uint64_t **a, size_t *cap, size_t need)
{
    if (need <= *cap)
        return SB_OK;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    uint64_t *b = realloc(*a, c * sizeof *b);
    if (!b)
        return sb_fail(SB_ENOMEM, "projection: no memory for %zu presynaptic indices", need);
    *a = b;
    *cap = c;
    return SB_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The presynaptic indices of post index j, ascending, into *pre. For the file
 * rule also returns where its synapses start in the sorted file arrays. */
static sb_status presyn(const spec *sp, sb_rng *r, uint64_t npre, uint64_t j, uint64_t **pre,
                        size_t *cap, size_t *n, uint64_t *file_first)
{
    sb_status st = SB_OK;
    *n = 0;
    switch (sp->rule) {
    case R_ONE:
        if ((st = grow(pre, cap, 1)) == SB_OK)
            (*pre)[(*n)++] = j;
        break;
    case R_ALL:
    case R_ALL_BUT_SELF:
        if ((st = grow(pre, cap, npre)) != SB_OK)
            break;
        for (uint64_t i = 0; i < npre; i++)
            if (!(sp->rule == R_ALL_BUT_SELF && i == j))
                (*pre)[(*n)++] = i;
        break;
    case R_PROB: {
        if (sp->p <= 0)
            break;
        double lq = log1p(-sp->p);
        for (uint64_t i = 0;; i++) {
            if (sp->p < 1) {
                double skip = floor(log(sb_rng_uniform(r)) / lq);
                if (skip >= (double)(npre - i))
                    break;
                i += (uint64_t)skip;
            }
            if (i >= npre)
                break;
            if ((st = grow(pre, cap, *n + 1)) != SB_OK)
                break;
            (*pre)[(*n)++] = i;
        }
        break;
    }
    case R_INDEGREE: {
        uint64_t k = sp->indegree, pool = npre - (sp->same ? 1 : 0);
        if ((st = grow(pre, cap, k + 1)) != SB_OK)
            break;
        if (k * 8 > pool) { /* dense: selection sampling (Knuth's algorithm S) */
            for (uint64_t i = 0, seen = 0; i < npre && *n < k; i++) {
                if (sp->same && i == j)
                    continue;
                if ((double)(pool - seen++) * sb_rng_uniform(r) < (double)(k - *n))
                    (*pre)[(*n)++] = i;
            }
            break;
        }
        while (*n < k) { /* sparse: draw, sort, drop repeats, draw what is missing */
            while (*n < k) {
                uint64_t i = (uint64_t)(sb_rng_uniform(r) * (double)pool);
                if (i >= pool)
                    i = pool - 1;
                if (sp->same && i >= j)
                    i++;
                (*pre)[(*n)++] = i;
            }
            qsort(*pre, *n, sizeof **pre, cmp_u64);
            size_t u = 0;
            for (size_t a = 0; a < *n; a++)
                if (u == 0 || (*pre)[a] != (*pre)[u - 1])
                    (*pre)[u++] = (*pre)[a];
            *n = u;
        }
        break;
    }
    case R_FILE: {
        /* forder sorts the file's synapses by (post, pre); find post j's run */
        uint64_t lo = 0, hi = sp->nfile;
        while (lo < hi) {
            uint64_t mid = (lo + hi) / 2;
            if (sp->fpost[sp->forder[mid]] < j)
                lo = mid + 1;
            else
                hi = mid;
        }
        *file_first = lo;
        for (uint64_t a = lo; a < sp->nfile && sp->fpost[sp->forder[a]] == j; a++) {
            if ((st = grow(pre, cap, *n + 1)) != SB_OK)
                break;
            (*pre)[(*n)++] = sp->fpre[sp->forder[a]];
        }
        break;
    }
    }
    return st;
}

static const uint64_t *g_fpost, *g_fpre;
static int cmp_file(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    if (g_fpost[x] != g_fpost[y])
        return g_fpost[x] < g_fpost[y] ? -1 : 1;
    return g_fpre[x] < g_fpre[y] ? -1 : g_fpre[x] > g_fpre[y] ? 1 : (x > y) - (x < y);
}

static sb_status read_file(spec *sp, const char *path, const char *where, uint64_t npre,
                           uint64_t npost)
{
    int rank;
    hsize_t dims[4];
    void *buf;
    sb_status st = h5_read_all(path, "pre", H5T_NATIVE_UINT64, &buf, &rank, dims);
    if (st)
        return sb_fail_context(st, "%s", where);
    sp->fpre = buf;
    sp->nfile = rank == 1 ? dims[0] : 0;
    if ((st = h5_read_all(path, "post", H5T_NATIVE_UINT64, &buf, &rank, dims)))
        return sb_fail_context(st, "%s", where);
    sp->fpost = buf;
    if (rank != 1 || dims[0] != sp->nfile)
        return sb_fail(SB_EFORMAT, "%s: %s: /pre and /post must be 1-D of the same length", where, path);
    for (const char *name = "weight";; name = "delay") {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        int has = f >= 0 && H5Lexists(f, name, H5P_DEFAULT) > 0;
        if (f >= 0)
            H5Fclose(f);
        H5Eclear2(H5E_DEFAULT);
        if (has) {
            if ((st = h5_read_all(path, name, H5T_NATIVE_DOUBLE, &buf, &rank, dims)))
                return sb_fail_context(st, "%s", where);
            if (rank != 1 || dims[0] != sp->nfile) {
                free(buf);
                return sb_fail(SB_EFORMAT, "%s: %s: /%s must be 1-D with one value per synapse",
                               where, path, name);
            }
            *(name[0] == 'w' ? &sp->fw : &sp->fd) = buf;
        }
        if (name[0] == 'd')
            break;
    }
    for (uint64_t a = 0; a < sp->nfile; a++)
        if (sp->fpre[a] >= npre || sp->fpost[a] >= npost)
            return sb_fail(SB_EFORMAT, "%s: %s: synapse %llu connects %llu -> %llu, outside %llu x %llu",
                           where, path, (unsigned long long)a, (unsigned long long)sp->fpre[a],
                           (unsigned long long)sp->fpost[a], (unsigned long long)npre,
                           (unsigned long long)npost);
    sp->forder = SB_MALLOC(sp->nfile + 1, sizeof *sp->forder);
    if (!sp->forder)
        return SB_ENOMEM;
    for (uint64_t a = 0; a < sp->nfile; a++)
        sp->forder[a] = a;
    g_fpost = sp->fpost;
    g_fpre = sp->fpre;
    qsort(sp->forder, sp->nfile, sizeof *sp->forder, cmp_file);
    return SB_OK;
}

static sb_status delay_steps(double d, double dt, const char *where, uint16_t *steps)
{
    double s = round(d / dt);
    if (!(d >= 0) || s > 65535)
        return sb_fail(SB_ECONFIG, "%s delay: %g ms is outside [0, %g] ms", where, d, 65535 * dt);
    *steps = (uint16_t)s;
    return SB_OK;
}

static sb_status parse_spec(snn_net *net, snn_proj *pr, spec *sp, const sb_config *cfg,
                            const char *section, const char *where)
{
    static const char *const rules[] = {"all_to_all", "one_to_one", "all_but_self",
                                        "fixed_prob", "fixed_indegree", "file"};
    const char *rule = sb_cfg_str(cfg, section, "rule");
    for (int i = 0; i < 6; i++)
        if (strcmp(rule, rules[i]) == 0)
            sp->rule = (rule_kind)i;
    const snn_pop *post = &net->pops[pr->post];
    uint64_t npost = post->n;
    sp->same = !pr->pre_is_source && pr->pre == pr->post;
    sp->p = sb_cfg_real(cfg, section, "p");
    sp->indegree = (uint64_t)sb_cfg_int(cfg, section, "indegree");
    if (sp->rule == R_ONE && pr->npre != npost)
        return sb_fail(SB_ECONFIG, "%s: one_to_one needs populations of the same size (%llu and %llu)",
                       where, (unsigned long long)pr->npre, (unsigned long long)npost);
    if (sp->rule == R_ALL_BUT_SELF && pr->npre != npost)
        return sb_fail(SB_ECONFIG,
                       "%s: all_but_self needs populations of the same size (%llu and %llu): "
                       "neuron i connects to every j except j = i",
                       where, (unsigned long long)pr->npre, (unsigned long long)npost);
    if (sp->rule == R_INDEGREE && sp->indegree > pr->npre - (sp->same ? 1 : 0))
        return sb_fail(SB_ECONFIG, "%s: indegree %llu exceeds the %llu possible presynaptic neurons",
                       where, (unsigned long long)sp->indegree,
                       (unsigned long long)(pr->npre - (sp->same ? 1 : 0)));
    char what[320];
    snprintf(what, sizeof what, "%s: [%s] weight", sb_cfg_where(cfg, section, "weight"), section);
    sb_status st = snn_dist_parse(sb_cfg_str(cfg, section, "weight"), what, &sp->weight);
    if (st)
        return st;
    double lo, hi;
    snn_dist_bounds(&sp->weight, &lo, &hi);
    if (post->model != &snn_neuron_lif_cuba && post->model != &snn_neuron_if && lo < 0)
        return sb_fail(SB_ECONFIG, "%s: conductances must be >= 0 (use target = inh for inhibition)",
                       what);
    snprintf(what, sizeof what, "%s: [%s] delay", sb_cfg_where(cfg, section, "delay"), section);
    if ((st = snn_dist_parse(sb_cfg_str(cfg, section, "delay"), what, &sp->delay)))
        return st;
    snn_dist_bounds(&sp->delay, &lo, &hi);
    if (sp->delay.kind == SNN_DIST_NORMAL) /* draws below 0 are clipped to 0 */
        lo = fmax(lo, 0);
    if (lo < 0)
        return sb_fail(SB_ECONFIG, "%s: delays must be >= 0 ms", what);
    if (sp->delay.kind == SNN_DIST_CONST && lo > 0 && lo < net->dt)
        return sb_fail(SB_ECONFIG, "%s: %g ms is shorter than dt = %g ms (use 0 for the shortest, one step)",
                       what, lo, net->dt);
    if (sp->rule == R_FILE) {
        const char *file = sb_cfg_str(cfg, section, "file");
        if (!*file)
            return sb_fail(SB_ECONFIG, "%s: rule = file needs file = an HDF5 file with /pre and /post", where);
        if ((st = read_file(sp, file, where, pr->npre, npost)))
            return st;
    }
    return SB_OK;
}

static void free_spec(spec *sp)
{
    free(sp->fpre);
    free(sp->fpost);
    free(sp->forder);
    free(sp->fw);
    free(sp->fd);
}

/* One pass over the local post neurons: count (fill = 0) or place. */
static sb_status pass(snn_net *net, snn_proj *pr, int index, const spec *sp, int fill,
                      uint64_t *cursor, const char *where)
{
    const snn_pop *post = &net->pops[pr->post];
    uint64_t *pre = NULL;
    size_t cap = 0, n = 0;
    sb_status st = SB_OK;
    for (size_t k = 0; k < post->nlocal && !st; k++) {
        uint64_t j = snn_pop_index(post, k), gid = post->gid0 + j;
        uint64_t ent = ((uint64_t)index << 40) | gid, ffirst = 0;
        sb_rng r;
        sb_rng_init(&r, net->seed, SB_STREAM_SNN_CONNECT, ent, 0);
        if ((st = presyn(sp, &r, pr->npre, j, &pre, &cap, &n, &ffirst)))
            break;
        if (!fill) {
            for (size_t a = 0; a < n; a++)
                pr->row[pre[a] + 1]++;
            continue;
        }
        sb_rng rw;
        sb_rng_init(&rw, net->seed, SB_STREAM_SNN_CONNECT, ent | (UINT64_C(1) << 63), 0);
        for (size_t a = 0; a < n && !st; a++) {
            uint64_t s = cursor[pre[a]]++;
            pr->tgt[s] = (uint32_t)k;
            double w = sp->fw ? sp->fw[sp->forder[ffirst + a]] : snn_dist_draw(&sp->weight, &rw, a, n);
            double d = sp->fd ? sp->fd[sp->forder[ffirst + a]] : snn_dist_draw(&sp->delay, &rw, a, n);
            pr->w[s] = (float)w;
            if (sp->delay.kind == SNN_DIST_NORMAL && d < 0)
                d = 0;
            uint16_t steps = 0;
            st = delay_steps(d, net->dt, where, &steps);
            if (pr->delay)
                pr->delay[s] = steps;
        }
    }
    free(pre);
    return st;
}

sb_status snn_proj_index_columns(snn_net *net, snn_proj *pr)
{
    size_t nl = net->pops[pr->post].nlocal;
    if (pr->col)
        return SB_OK;
    pr->col = SB_CALLOC(nl + 1, sizeof *pr->col);
    pr->col_syn = SB_MALLOC(pr->nsyn + 1, sizeof *pr->col_syn);
    pr->scale = SB_MALLOC(nl + 1, sizeof *pr->scale);
    uint64_t *fillc = SB_MALLOC(nl + 1, sizeof *fillc);
    if (!pr->col || !pr->col_syn || !pr->scale || !fillc) {
        free(fillc);
        return SB_ENOMEM;
    }
    for (uint64_t s = 0; s < pr->nsyn; s++)
        pr->col[pr->tgt[s] + 1]++;
    for (size_t k = 0; k < nl; k++)
        pr->col[k + 1] += pr->col[k];
    memcpy(fillc, pr->col, nl * sizeof *fillc);
    for (uint64_t s = 0; s < pr->nsyn; s++) /* rows in pre order: columns list pre ascending */
        pr->col_syn[fillc[pr->tgt[s]]++] = s;
    free(fillc);
    return SB_OK;
}

/* With per-synapse delays, each row is reordered by (delay, target): the
 * synapses of a spike that arrive in the same step are then neighbours, so
 * handling the arrivals (plastic ones above all) walks the arrays instead
 * of jumping through them. The order depends on the synapses alone, not on
 * the thread count. */
static sb_status sort_rows_by_delay(snn_proj *pr)
{
    size_t nd = (size_t)pr->delay_max + 2;
    uint64_t *start = SB_MALLOC(nd, sizeof *start);
    uint32_t *tgt = SB_MALLOC(pr->nsyn + 1, sizeof *tgt);
    float *w = SB_MALLOC(pr->nsyn + 1, sizeof *w);
    uint16_t *delay = SB_MALLOC(pr->nsyn + 1, sizeof *delay);
    sb_status st = start && tgt && w && delay ? SB_OK : SB_ENOMEM;
    for (uint64_t i = 0; !st && i < pr->npre; i++) {
        uint64_t a = pr->row[i], e = pr->row[i + 1];
        memset(start, 0, nd * sizeof *start);
        for (uint64_t k = a; k < e; k++)
            start[pr->delay[k] + 1]++;
        start[0] = a;
        for (size_t d = 1; d < nd; d++)
            start[d] += start[d - 1];
        for (uint64_t k = a; k < e; k++) { /* stable: targets stay ascending per delay */
            uint64_t to = start[pr->delay[k]]++;
            tgt[to] = pr->tgt[k];
            w[to] = pr->w[k];
            delay[to] = pr->delay[k];
        }
    }
    if (!st) {
        memcpy(pr->tgt, tgt, pr->nsyn * sizeof *tgt);
        memcpy(pr->w, w, pr->nsyn * sizeof *w);
        memcpy(pr->delay, delay, pr->nsyn * sizeof *delay);
    }
    free(start);
    free(tgt);
    free(w);
    free(delay);
    return st;
}

/* Numbers the arrival groups of pr (the runs of one delay in a row, rows
 * being sorted by delay) into pl->pre_group, and counts them into
 * npre_step. More groups than a uint32_t holds leave pre_group NULL: a
 * step per synapse. */
static sb_status index_pre_groups(const snn_proj *pr, snn_plasticity *pl)
{
    pl->pre_group = SB_MALLOC(pr->nsyn + 1, sizeof *pl->pre_group);
    if (!pl->pre_group)
        return SB_ENOMEM;
    uint64_t n = 0;
    for (uint64_t i = 0; i < pr->npre; i++)
        for (uint64_t s = pr->row[i]; s < pr->row[i + 1]; s++) {
            n += s == pr->row[i] || (pr->delay && pr->delay[s] != pr->delay[s - 1]);
            pl->pre_group[s] = (uint32_t)(n - 1);
        }
    pl->npre_step = n;
    if (n > (uint64_t)UINT32_MAX + 1) {
        free(pl->pre_group);
        pl->pre_group = NULL;
        pl->npre_step = pr->nsyn;
    }
    return SB_OK;
}

static sb_status build_plasticity(snn_net *net, snn_proj *pr, const sb_config *cfg,
                                  const char *section, const char *where)
{
    const char *rule = sb_cfg_str(cfg, section, "plasticity");
    if (strcmp(rule, "none") == 0)
        return SB_OK;
    snn_plasticity *pl = SB_CALLOC(1, sizeof *pl);
    if (!pl)
        return SB_ENOMEM;
    pr->plast = pl;
    pl->rule = snn_rule_find(rule);
    pl->spikes_first = strcmp(sb_cfg_str(cfg, section, "step_order"), "spikes") == 0;
    pl->dt = net->dt;
    snn_plast_params *p = &pl->p;
    p->tau_pre = sb_cfg_real(cfg, section, "tau_pre");
    p->tau_post = sb_cfg_real(cfg, section, "tau_post");
    p->tau_post2 = sb_cfg_real(cfg, section, "tau_post2");
    p->a_plus = sb_cfg_real(cfg, section, "a_plus");
    p->a_minus = sb_cfg_real(cfg, section, "a_minus");
    p->nu_pre = sb_cfg_real(cfg, section, "nu_pre");
    p->nu_post = sb_cfg_real(cfg, section, "nu_post");
    p->x_tar = sb_cfg_real(cfg, section, "x_tar");
    p->mu = sb_cfg_real(cfg, section, "mu");
    p->w_min = sb_cfg_real(cfg, section, "w_min");
    p->w_max = sb_cfg_real(cfg, section, "w_max");
    p->mode = strcmp(sb_cfg_str(cfg, section, "stdp_mode"), "multiplicative") == 0
                  ? SNN_STDP_MULTIPLICATIVE : SNN_STDP_ADDITIVE;
    p->pairing = strcmp(sb_cfg_str(cfg, section, "stdp_pairing"), "nearest") == 0
                     ? SNN_STDP_NEAREST : SNN_STDP_ALL;
    if (!(p->w_max >= p->w_min))
        return sb_fail(SB_ECONFIG, "%s: w_max (%g) must be >= w_min (%g)", where, p->w_max, p->w_min);
    size_t nl = net->pops[pr->post].nlocal;
    pl->pre = pl->rule->pre_value ? SB_CALLOC(pr->nsyn + 1, sizeof *pl->pre) : NULL;
    pl->npre_step = pr->nsyn;
    sb_status st = pl->rule->pre_value ? SB_OK : index_pre_groups(pr, pl);
    if (st)
        return st;
    pl->pre_step = SB_MALLOC(pl->npre_step + 1, sizeof *pl->pre_step);
    for (uint64_t s = 0; pl->pre_step && s <= pl->npre_step; s++)
        pl->pre_step[s] = SNN_NEVER;
    pl->post1 = SB_CALLOC(nl + 1, sizeof *pl->post1);
    pl->post2 = SB_CALLOC(nl + 1, sizeof *pl->post2);
    pl->post_step = SB_CALLOC(nl + 1, sizeof *pl->post_step);
    pl->scratch = SB_CALLOC(nl + 1, sizeof *pl->scratch);
    if ((pl->rule->pre_value && !pl->pre) || !pl->pre_step || !pl->post1 || !pl->post2 || !pl->post_step || !pl->scratch)
        return SB_ENOMEM;
    return snn_plast_tables(pl);
}

sb_status snn_proj_build(snn_net *net, snn_proj *pr, int index, const sb_config *cfg,
                         const char *section)
{
    char where[256];
    snprintf(where, sizeof where, "%s: [%s]", sb_cfg_where(cfg, section, "rule"), section);
    spec sp;
    memset(&sp, 0, sizeof sp);
    sb_status st = parse_spec(net, pr, &sp, cfg, section, where);
    pr->row = st ? NULL : SB_CALLOC(pr->npre + 1, sizeof *pr->row);
    if (!st && !pr->row)
        st = SB_ENOMEM;
    if (!st)
        st = pass(net, pr, index, &sp, 0, NULL, where);
    for (uint64_t i = 0; !st && i < pr->npre; i++)
        pr->row[i + 1] += pr->row[i];
    double lo = 0, hi = 0;
    if (!st) {
        snn_dist_bounds(&sp.delay, &lo, &hi);
        lo = fmax(lo, 0);
        for (uint64_t a = 0; sp.fd && a < sp.nfile; a++)
            lo = a == 0 || sp.fd[a] < lo ? sp.fd[a] : lo;
        st = delay_steps(lo, net->dt, where, &pr->delay_min);
    }
    if (!st) {
        pr->nsyn = pr->row[pr->npre];
        int varies = sp.fd || sp.delay.kind != SNN_DIST_CONST;
        pr->tgt = SB_MALLOC(pr->nsyn + 1, sizeof *pr->tgt);
        pr->w = SB_MALLOC(pr->nsyn + 1, sizeof *pr->w);
        pr->delay = varies ? SB_MALLOC(pr->nsyn + 1, sizeof *pr->delay) : NULL;
        if (!pr->tgt || !pr->w || (varies && !pr->delay))
            st = SB_ENOMEM;
        if (!st && !varies)
            st = delay_steps(lo, net->dt, where, &pr->delay_const);
    }
    uint64_t *cursor = st ? NULL : SB_MALLOC(pr->npre + 1, sizeof *cursor);
    if (!st && !cursor)
        st = SB_ENOMEM;
    if (!st) {
        memcpy(cursor, pr->row, pr->npre * sizeof *cursor);
        st = pass(net, pr, index, &sp, 1, cursor, where);
    }
    free(cursor);
    free_spec(&sp);
    if (st)
        return st;
    pr->delay_max = pr->delay_const;
    for (uint64_t s = 0; pr->delay && s < pr->nsyn; s++)
        if (pr->delay[s] > pr->delay_max)
            pr->delay_max = pr->delay[s];
    if (pr->delay && (st = sort_rows_by_delay(pr)))
        return st;
    pr->normalise = sb_cfg_real(cfg, section, "normalise");
    if ((st = build_plasticity(net, pr, cfg, section, where)))
        return st;
    if (pr->plast || pr->normalise > 0)
        st = snn_proj_index_columns(net, pr);
    return st;
}

void snn_proj_free(snn_proj *pr)
{
    free(pr->row);
    free(pr->tgt);
    free(pr->w);
    free(pr->delay);
    free(pr->split);
    free(pr->col);
    free(pr->col_syn);
    free(pr->scale);
    if (pr->plast) {
        free(pr->plast->pre);
        free(pr->plast->pre_step);
        free(pr->plast->pre_group);
        free(pr->plast->post1);
        free(pr->plast->post2);
        free(pr->plast->post_step);
        free(pr->plast->scratch);
        for (int w = 0; w < 3; w++)
            free(pr->plast->decay[w]);
        free(pr->plast);
    }
    memset(pr, 0, sizeof *pr);
}
