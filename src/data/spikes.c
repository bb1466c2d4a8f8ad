/* Growable spike lists, the encoders' output. */
#include <stdlib.h>
#include <string.h>

#include "spikebridge/data.h"

static sb_status grow(sb_spikes *s, uint64_t need)
{
    if (need <= s->cap)
        return SB_OK;
    uint64_t cap = s->cap ? s->cap : 256;
    while (cap < need)
        cap *= 2;
    uint64_t *ids = realloc(s->ids, cap * sizeof *ids);
    if (ids)
        s->ids = ids;
    double *t = ids ? realloc(s->t, cap * sizeof *t) : NULL;
    if (!ids || !t)
        return sb_fail(SB_ENOMEM, "out of memory for %llu spikes", (unsigned long long)need);
    s->t = t;
    s->cap = cap;
    return SB_OK;
}

sb_status sb_spikes_push(sb_spikes *s, uint64_t id, double t)
{
    sb_status st = grow(s, s->n + 1);
    if (st)
        return st;
    s->ids[s->n] = id;
    s->t[s->n] = t;
    s->n++;
    return SB_OK;
}

sb_status sb_spikes_append(sb_spikes *dst, const sb_spikes *src)
{
    sb_status st = grow(dst, dst->n + src->n);
    if (st || src->n == 0)
        return st;
    memcpy(dst->ids + dst->n, src->ids, src->n * sizeof *src->ids);
    memcpy(dst->t + dst->n, src->t, src->n * sizeof *src->t);
    dst->n += src->n;
    return SB_OK;
}

typedef struct {
    double t;
    uint64_t id;
} spike_pair;

static int by_time_then_id(const void *a, const void *b)
{
    const spike_pair *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

sb_status sb_spikes_sort(sb_spikes *s, uint64_t from)
{
    uint64_t n = s->n - from;
    if (n < 2)
        return SB_OK;
    spike_pair *tmp = SB_MALLOC(n, sizeof *tmp);
    if (!tmp)
        return SB_ENOMEM;
    for (uint64_t i = 0; i < n; i++)
        tmp[i] = (spike_pair){s->t[from + i], s->ids[from + i]};
    qsort(tmp, n, sizeof *tmp, by_time_then_id);
    for (uint64_t i = 0; i < n; i++) {
        s->t[from + i] = tmp[i].t;
        s->ids[from + i] = tmp[i].id;
    }
    free(tmp);
    return SB_OK;
}

void sb_spikes_clear(sb_spikes *s) { s->n = 0; }

void sb_spikes_free(sb_spikes *s)
{
    free(s->ids);
    free(s->t);
    memset(s, 0, sizeof *s);
}
