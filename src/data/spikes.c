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

static int before(double ta, uint64_t ia, double tb, uint64_t ib)
{
    return ta < tb || (ta == tb && ia < ib);
}

/* Spike times of an image spread over its window, so a bucket sort by time
 * (about four spikes a bucket, then insertion sort inside each) orders them
 * in linear time; qsort took a third of the encoding time. */
sb_status sb_spikes_sort(sb_spikes *s, uint64_t from)
{
    uint64_t n = s->n - from;
    if (n < 2)
        return SB_OK;
    double lo = s->t[from], hi = s->t[from];
    for (uint64_t k = from; k < s->n; k++) {
        lo = s->t[k] < lo ? s->t[k] : lo;
        hi = s->t[k] > hi ? s->t[k] : hi;
    }
    uint64_t nb = n / 4 + 1;
    uint64_t *start = SB_CALLOC(nb + 1, sizeof *start);
    uint64_t *ids = SB_MALLOC(n, sizeof *ids);
    double *t = SB_MALLOC(n, sizeof *t);
    if (!start || !ids || !t) {
        free(start);
        free(ids);
        free(t);
        return SB_ENOMEM;
    }
    double scale = hi > lo ? (double)nb / (hi - lo) : 0;
#define BUCKET(x) ((uint64_t)(((x) - lo) * scale) < nb ? (uint64_t)(((x) - lo) * scale) : nb - 1)
    for (uint64_t k = from; k < s->n; k++)
        start[BUCKET(s->t[k]) + 1]++;
    for (uint64_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    for (uint64_t k = from; k < s->n; k++) {
        uint64_t at = start[BUCKET(s->t[k])]++;
        t[at] = s->t[k];
        ids[at] = s->ids[k];
    }
#undef BUCKET
    for (uint64_t k = 1; k < n; k++) {
        double tk = t[k];
        uint64_t ik = ids[k], j = k;
        for (; j > 0 && before(tk, ik, t[j - 1], ids[j - 1]); j--) {
            t[j] = t[j - 1];
            ids[j] = ids[j - 1];
        }
        t[j] = tk;
        ids[j] = ik;
    }
    memcpy(s->t + from, t, n * sizeof *t);
    memcpy(s->ids + from, ids, n * sizeof *ids);
    free(start);
    free(ids);
    free(t);
    return SB_OK;
}

void sb_spikes_clear(sb_spikes *s) { s->n = 0; }

void sb_spikes_free(sb_spikes *s)
{
    free(s->ids);
    free(s->t);
    memset(s, 0, sizeof *s);
}
