/* Values written as text that may be random: "1.5", "uniform:a:b",
 * "normal:mean:sd", "linspace:a:b". Weights, delays and initial states all
 * use the same small grammar so that a job file reads the same everywhere. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/snn.h"

static int parse_num(const char *s, char stop, double *x, const char **end)
{
    char *e;
    errno = 0;
    *x = strtod(s, &e);
    if (e == s || errno || !isfinite(*x) || *e != stop)
        return 0;
    *end = e;
    return 1;
}

sb_status snn_dist_parse(const char *text, const char *what, snn_dist *d)
{
    static const struct { const char *prefix; snn_dist_kind kind; } forms[] = {
        {"uniform:", SNN_DIST_UNIFORM}, {"normal:", SNN_DIST_NORMAL}, {"linspace:", SNN_DIST_LINSPACE}};
    const char *end;
    memset(d, 0, sizeof *d);
    if (parse_num(text, '\0', &d->a, &end)) {
        d->kind = SNN_DIST_CONST;
        d->b = d->a;
        return SB_OK;
    }
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t len = strlen(forms[i].prefix);
        if (strncmp(text, forms[i].prefix, len) != 0)
            continue;
        d->kind = forms[i].kind;
        if (!parse_num(text + len, ':', &d->a, &end) || !parse_num(end + 1, '\0', &d->b, &end))
            break;
        if (d->kind == SNN_DIST_UNIFORM && !(d->b > d->a))
            return sb_fail(SB_ECONFIG, "%s: '%s': uniform:a:b needs a < b", what, text);
        if (d->kind == SNN_DIST_NORMAL && d->b < 0)
            return sb_fail(SB_ECONFIG, "%s: '%s': normal:mean:sd needs sd >= 0", what, text);
        /* draws must stay finite: a normal draw lies within 40 sd */
        if (!isfinite(d->b - d->a) || !isfinite(fabs(d->a) + 40 * d->b))
            return sb_fail(SB_ECONFIG, "%s: '%s': values too large", what, text);
        return SB_OK;
    }
    return sb_fail(SB_ECONFIG,
                   "%s: '%s' is not a number, uniform:a:b, normal:mean:sd or linspace:a:b", what, text);
}

double snn_dist_draw(const snn_dist *d, sb_rng *r, uint64_t k, uint64_t n)
{
    switch (d->kind) {
    case SNN_DIST_UNIFORM:
        return d->a + (d->b - d->a) * sb_rng_uniform(r);
    case SNN_DIST_NORMAL:
        return d->a + d->b * sb_rng_normal(r);
    case SNN_DIST_LINSPACE:
        return n > 1 ? d->a + (d->b - d->a) * (double)k / (double)(n - 1) : d->a;
    case SNN_DIST_CONST:
    default:
        return d->a;
    }
}

void snn_dist_bounds(const snn_dist *d, double *lo, double *hi)
{
    *lo = fmin(d->a, d->b);
    *hi = fmax(d->a, d->b);
    if (d->kind == SNN_DIST_NORMAL && d->b > 0) {
        *lo = -INFINITY;
        *hi = INFINITY;
    }
}
