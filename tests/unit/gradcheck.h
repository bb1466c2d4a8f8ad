/* Finite-difference check of any layer's backward pass, for the ANN suites.
 *
 * The loss is L = sum(out * r) with a fixed random r, so dL/dout = r. For a
 * sample of input elements and parameters, the central difference
 * (L(x + eps) - L(x - eps)) / 2 eps is compared with what backward gave;
 * the worst relative error |num - ana| / max(|num| + |ana|, floor) is
 * returned, so a test can assert it and print it. */
#ifndef SB_GRADCHECK_H
#define SB_GRADCHECK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/ann.h"

typedef struct {
    double worst_input;  /* worst relative error of dL/din */
    double worst_param;  /* worst relative error of dL/dparams */
    int checked;         /* elements compared */
} gc_result;

typedef struct {
    ann_layer *l;
    const ann_layer_ops *ops;
    int batch;
    float *in, *out, *r;
    ann_ctx ctx;
} gc_case;

static double gc_loss(gc_case *c)
{
    c->ops->forward(c->l, c->in, c->out, c->batch, &c->ctx);
    double s = 0;
    size_t n = (size_t)c->batch * ann_shape_size(c->l->out);
    for (size_t i = 0; i < n; i++)
        s += (double)c->out[i] * c->r[i];
    return s;
}

static double gc_rel(double num, double ana, double floor_)
{
    double den = fabs(num) + fabs(ana);
    return fabs(num - ana) / (den > floor_ ? den : floor_);
}

/* ops is the layer's table (e.g. &ann_conv_ops). The layer must have kind, in, hyperparameters and max_batch set; this
 * calls setup, allocates its storage, initialises it from `seed` and checks
 * at most `samples` input elements and `samples` parameters. Input values
 * are U(-1, 1). `train` selects the ctx mode. eps is the difference step. */
static gc_result gradcheck_layer(const ann_layer_ops *ops, ann_layer *l, int batch, uint32_t seed,
                                 int train, int samples, double eps)
{
    gc_result res = {0, 0, 0};
    if (ops->setup(l) != SB_OK) {
        res.worst_input = res.worst_param = INFINITY;
        return res;
    }
    size_t nin = (size_t)batch * ann_shape_size(l->in), nout = (size_t)batch * ann_shape_size(l->out);
    l->params = calloc(l->nparams + 1, sizeof(float));
    l->grads = calloc(l->nparams + 1, sizeof(float));
    l->state = calloc(l->nstate + 1, sizeof(float));
    l->save = calloc(l->saved + 1, sizeof(float));
    float *work = calloc(l->work + 1, sizeof(float));
    gc_case c = {l, ops, batch, malloc(nin * sizeof(float)), malloc(nout * sizeof(float)),
                 malloc(nout * sizeof(float)), {train, seed, 0, 7, work}};
    float *din = calloc(nin, sizeof(float));
    sb_rng rng;
    sb_rng_init(&rng, seed, SB_STREAM_TEST, 1, 0);
    ops->init(l, &rng);
    for (size_t i = 0; i < nin; i++)
        c.in[i] = (float)(2 * sb_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < nout; i++)
        c.r[i] = (float)(2 * sb_rng_uniform(&rng) - 1);

    gc_loss(&c);
    ops->backward(l, c.in, c.out, c.r, din, batch, &c.ctx);

    for (int s = 0; s < samples && nin; s++) {
        size_t i = sb_rng_u32(&rng) % nin;
        float keep = c.in[i];
        c.in[i] = (float)(keep + eps);
        double up = gc_loss(&c);
        c.in[i] = (float)(keep - eps);
        double down = gc_loss(&c);
        c.in[i] = keep;
        double e = gc_rel((up - down) / (2 * eps), din[i], 1e-3);
        res.worst_input = e > res.worst_input ? e : res.worst_input;
        res.checked++;
    }
    for (int s = 0; s < samples && l->nparams; s++) {
        size_t i = sb_rng_u32(&rng) % l->nparams;
        float keep = l->params[i];
        l->params[i] = (float)(keep + eps);
        double up = gc_loss(&c);
        l->params[i] = (float)(keep - eps);
        double down = gc_loss(&c);
        l->params[i] = keep;
        double e = gc_rel((up - down) / (2 * eps), l->grads[i], 1e-3);
        res.worst_param = e > res.worst_param ? e : res.worst_param;
        res.checked++;
    }
    free(c.in);
    free(c.out);
    free(c.r);
    free(din);
    free(work);
    free(l->params);
    free(l->grads);
    free(l->state);
    free(l->save);
    l->params = l->grads = l->state = l->save = NULL;
    return res;
}

#endif
