/*
 * convert.h — a trained CNN as a spiking network (rate coding).
 *
 * Every ReLU unit of the CNN becomes a non-leaky integrate-and-fire neuron
 * with threshold 1 and reset by subtraction; its input current at each time
 * step is the conv or dense layer applied to the previous layer's spikes
 * (0/1), plus the bias as a constant current. The first layer's current,
 * from the analog image, is computed once with the ANN's kernel; the others
 * are event-driven: each spike adds its row of weights to its targets. A neuron driven by a constant current a fires
 * floor(t a) spikes in t steps when 0 <= a <= 1, so its rate carries the
 * ReLU activation: the claim this module measures.
 *
 *   - Input: the normalised image drives the first layer as a constant
 *     (analog) current (Rueckauer et al. 2017), so no input noise.
 *   - Max pooling: each window passes on the spikes of the input neuron
 *     that has fired most so far (first in row-major order on ties), which
 *     makes the output rate the largest input rate.
 *   - Dropout: the identity, as in inference.
 *   - The last layer (the logits) does not spike: its neurons integrate
 *     their current and the class is the largest potential, i.e. the
 *     largest mean input — a logit up to a factor t.
 *   - Weight normalisation (data-based, Rueckauer et al. 2017): lambda_l is
 *     the p-th percentile of layer l's non-zero ReLU activations on training
 *     images; W_l *= lambda_(l-1) / lambda_l and b_l /= lambda_l, so that
 *     the activations the neurons must carry become at most 1 spike per step
 *     for all but (100 - p) % of them. The input's lambda is 1 (analog) and
 *     the last layer's is 1 (only its argmax matters).
 * Batch norm and LSTM layers are refused.
 */
#ifndef SPIKEBRIDGE_CONVERT_H
#define SPIKEBRIDGE_CONVERT_H

#include "spikebridge/ann.h"

typedef enum {
    CV_IF,   /* integrate-and-fire neurons standing for a conv/dense + ReLU */
    CV_POOL, /* max-pooling gate */
    CV_OUT   /* the non-spiking output integrators (logits) */
} cv_kind;

typedef struct {
    cv_kind kind;
    int layer;        /* the model layer whose output these neurons stand for */
    int syn;          /* CV_IF, CV_OUT: the conv or dense layer giving their current; else -1 */
    int from;         /* the stage whose spikes they receive; -1 for the analog input */
    char name[32];    /* "03_conv": model layer index and kind of syn (or maxpool) */
    size_t n;         /* neurons per image */
    double lambda;    /* scale of their activations (the normalisation); pool: its input's */
    uint32_t *fanout; /* synapses each neuron drives in the next conv/dense layer; NULL when
                         its spikes go through a pooling gate instead */
    float *wt;        /* CV_IF, CV_OUT fed by spikes: the syn layer's weights with the input
                         first ([in][out]; conv: [c][dy][dx][filter]), one row per spike */
    float *v;         /* CV_IF, CV_OUT: membrane potential [batch x n] */
    float *count;     /* spikes so far [batch x n] (exact: counts stay far below 2^24) */
    float *spike;     /* this step's spikes, 0 or 1 [batch x n] */
    uint32_t *fired;  /* this step's spiking neurons of image b from [b x n], ascending */
    uint32_t *nfired; /* how many [batch] */
} cv_stage;

typedef struct {
    ann_model *m;      /* the model simulated (its weights scaled by cv_normalise) */
    int nstages;
    cv_stage *stages;
    int batch;         /* images in the current simulation (at most m->max_batch) */
    int t;             /* steps simulated since cv_net_reset */
    float *current;    /* scratch: one stage's input current [max_batch x largest n] */
    float *hwc;        /* scratch: the same, position-major while events add up */
    float *analog;     /* the first stage's constant current [max_batch x n] */
} cv_net;

/* Maps the model's layers to stages and allocates their state for
 * m->max_batch images. Unsupported layers (bn, lstm, a ReLU that does not
 * follow conv or dense) are SB_EINVAL naming the layer. */
sb_status cv_net_build(cv_net *net, ann_model *m);
void cv_net_free(cv_net *net);

/* Data-based normalisation: runs the (unscaled) model on n images x, in
 * the model's input layout and normalisation, and sets lambda[i] of every
 * IF stage i to the `percentile`-th percentile of its non-zero activations
 * (1 when a layer never fires; 1 for the other stages). */
sb_status cv_normalise(cv_net *net, const float *x, uint64_t n, double percentile, double *lambda);

/* Takes the lambdas (one per stage; pools take their input's) and scales
 * the model's weights and biases in place (and the stages' copies). Call
 * once. */
void cv_scale(cv_net *net, const double *lambda);

/* Copies the stage's syn-layer weights into s->wt (input-major); after
 * the model's weights change. */
void cv_net_transpose(cv_net *net, cv_stage *s);

/* Starts a simulation of `batch` images x: potentials and counts 0. */
void cv_net_reset(cv_net *net, const float *x, int batch);

/* One time step of every stage. */
void cv_net_step(cv_net *net);

/* Synaptic events of image b since the reset: each spike times its fanout
 * (the spikes that reach a conv or dense layer; the first layer's analog
 * input is not counted). */
double cv_net_synops(const cv_net *net, int b);

/* Output potentials of the current simulation: batch x classes. */
const float *cv_net_scores(const cv_net *net);

/* The stage's p-th percentile helper, exposed for tests: the p-th
 * percentile (linear interpolation between order statistics, as numpy's
 * default) of n values, which it reorders. */
double cv_percentile(float *v, uint64_t n, double p);

#endif
