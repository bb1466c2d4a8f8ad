/*
 * Optimisers and learning-rate schedules with PyTorch's semantics, so that a
 * recipe tuned there means the same here: weight decay is L2 added to the
 * gradient, SGD momentum is v = mu v + g, Nesterov steps along g + mu v, Adam
 * corrects its moment estimates for bias.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/ann.h"

static const double PI = 3.14159265358979323846;

sb_status ann_optim_init(ann_optim *o, const ann_optim_cfg *cfg, size_t nparams)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = nparams;
    o->nbuf = cfg->kind == ANN_ADAM ? 2 * nparams : nparams;
    o->buf = SB_CALLOC(o->nbuf + 1, sizeof(float));
    return o->buf ? SB_OK : SB_ENOMEM;
}

void ann_optim_schedule(const ann_optim_cfg *cfg, long t, double *lr, double *momentum)
{
    *lr = cfg->lr;
    *momentum = cfg->kind == ANN_ADAM ? cfg->beta1 : cfg->momentum;
    double total = cfg->total_steps > 1 ? (double)cfg->total_steps : 1;
    if (cfg->schedule == ANN_SCHED_COSINE) {
        *lr = 0.5 * cfg->lr * (1 + cos(PI * (double)t / total));
    } else if (cfg->schedule == ANN_SCHED_ONECYCLE) {
        /* OneCycleLR: warm up over 30 % of the steps from lr/25 to lr, then
         * anneal to lr/25/1e4, both along a cosine; momentum moves the
         * other way between 0.85 and its maximum. */
        const double initial = cfg->lr / 25, final_lr = initial / 1e4;
        const double up = 0.3 * total - 1, down = total - 1 - up;
        double max_m = *momentum, base_m = 0.85 < max_m ? 0.85 : max_m;
        double frac, lo, hi, m_from, m_to;
        if ((double)t <= up) {
            frac = up > 0 ? (double)t / up : 1;
            lo = initial, hi = cfg->lr, m_from = max_m, m_to = base_m;
        } else {
            frac = down > 0 ? ((double)t - up) / down : 1;
            lo = cfg->lr, hi = final_lr, m_from = base_m, m_to = max_m;
        }
        frac = frac > 1 ? 1 : frac;
        double c = (cos(PI * frac) + 1) / 2; /* 1 → 0 */
        *lr = hi + (lo - hi) * c;
        *momentum = m_to + (m_from - m_to) * c;
    }
}

void ann_optim_step(ann_optim *o, float *params, const float *grads)
{
    double lr, mom;
    ann_optim_schedule(&o->cfg, o->step, &lr, &mom);
    o->step++;
    const float wd = (float)o->cfg.weight_decay, flr = (float)lr, fm = (float)mom;
    const long n = (long)o->n;
    if (o->cfg.kind == ANN_SGD) {
        float *v = o->buf;
        const int nesterov = o->cfg.nesterov;
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) {
            float g = grads[i] + wd * params[i];
            v[i] = fm * v[i] + g;
            params[i] -= flr * (nesterov ? g + fm * v[i] : v[i]);
        }
    } else {
        float *m1 = o->buf, *m2 = o->buf + o->n;
        const float b1 = fm, b2 = (float)o->cfg.beta2, eps = (float)o->cfg.eps;
        const double c1 = 1 - pow(b1, (double)o->step), c2 = 1 - pow(b2, (double)o->step);
        const float step = (float)(lr / c1), rc2 = (float)(1 / sqrt(c2));
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) {
            float g = grads[i] + wd * params[i];
            m1[i] = b1 * m1[i] + (1 - b1) * g;
            m2[i] = b2 * m2[i] + (1 - b2) * g * g;
            params[i] -= step * m1[i] / (sqrtf(m2[i]) * rc2 + eps);
        }
    }
}

void ann_optim_free(ann_optim *o)
{
    free(o->buf);
    memset(o, 0, sizeof *o);
}
