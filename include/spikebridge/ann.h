/*
 * ann.h — artificial neural networks: layers, models, optimisers, training.
 *
 * A layer is one file in src/ann/ with the functions of ann_layer_ops; the
 * model calls them through a table. Activations are float32, batch-major,
 * NCHW within a sample. A sequence of T steps of F features is the shape
 * (1, T, F). All parameters of a model live in one buffer, their gradients in
 * a second and non-trainable state (batch-norm statistics) in a third, so a
 * checkpoint is three datasets and a reduction is one MPI call.
 */
#ifndef SPIKEBRIDGE_ANN_H
#define SPIKEBRIDGE_ANN_H

#include "spikebridge/core.h"

/* ------------------------------------------------------------------ layers */

typedef struct {
    int c, h, w; /* channels, height, width; a sequence is (1, steps, features) */
} ann_shape;

static inline size_t ann_shape_size(ann_shape s) { return (size_t)s.c * s.h * s.w; }

typedef enum {
    ANN_CONV,      /* k x k convolution, stride 1, zero padding `pad`, `units` filters, bias */
    ANN_MAXPOOL,   /* k x k max pooling, stride k (floor) */
    ANN_DENSE,     /* fully connected, input flattened, `units` outputs, bias */
    ANN_RELU,      /* max(0, x) */
    ANN_DROPOUT,   /* inverted dropout with probability `rate` while training */
    ANN_BATCHNORM, /* per channel; batch statistics while training, running ones otherwise */
    ANN_LSTM,      /* (1, T, F) -> (units, 1, 1): the last hidden state */
    ANN_KIND_COUNT_
} ann_kind;

/* What every layer function may use during one call. */
typedef struct {
    int train;        /* 1 while training: dropout active, batch norm on batch statistics */
    uint32_t seed;    /* job seed */
    uint64_t member;  /* which model (ensemble member): dropout streams belong to it */
    uint64_t step;    /* optimisation step: dropout streams are read at this position */
    float *work;      /* scratch shared by all layers, model->work floats; valid only during a call */
} ann_ctx;

typedef struct ann_layer {
    ann_kind kind;
    int index;        /* position in the model (0 = first) */
    ann_shape in;     /* one sample's input shape (set before setup) */
    ann_shape out;    /* one sample's output shape (set by setup) */
    int max_batch;    /* largest batch forward/backward will see (set before setup) */

    /* hyperparameters (set before setup, from the architecture) */
    int k;            /* kernel size of conv and maxpool */
    int pad;          /* zero padding of conv */
    int units;        /* conv filters, dense outputs, LSTM hidden units */
    float rate;       /* dropout probability */

    /* sizes in floats (set by setup) */
    size_t nparams;   /* trainable parameters */
    size_t nstate;    /* non-trainable state saved with the model (running statistics) */
    size_t saved;     /* kept from forward for backward, for a batch of max_batch */
    size_t work;      /* ctx->work needed during forward or backward at max_batch */

    /* storage (set by the model after setup; the layer owns none of it) */
    float *params;    /* nparams: the layer documents its order */
    float *grads;     /* nparams: backward ADDS to it; the model zeroes it */
    float *state;     /* nstate */
    float *save;      /* saved */
} ann_layer;

typedef struct {
    const char *name;
    /* From in, max_batch and the hyperparameters: out, nparams, nstate,
     * saved, work. An impossible layer (kernel larger than its input, zero
     * units, rate outside [0, 1)) is SB_EINVAL with a message naming the
     * layer ("layer 3 (conv5x5:32): kernel 5 larger than input 4x4"). */
    sb_status (*setup)(ann_layer *l);
    /* Initial parameters and state, drawn from rng (PyTorch's defaults:
     * weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)); batch norm
     * gamma 1, beta 0, running mean 0, running var 1). */
    void (*init)(ann_layer *l, sb_rng *rng);
    /* out[batch][out] = f(in[batch][in]); may fill l->save. */
    void (*forward)(ann_layer *l, const float *in, float *out, int batch, const ann_ctx *ctx);
    /* Given dL/dout: adds dL/dparams to l->grads and, when din != NULL,
     * writes dL/din. in and out are those of the forward call just made. */
    void (*backward)(ann_layer *l, const float *in, const float *out, const float *dout,
                     float *din, int batch, const ann_ctx *ctx);
} ann_layer_ops;

extern const ann_layer_ops ann_conv_ops, ann_maxpool_ops, ann_dense_ops, ann_relu_ops,
    ann_dropout_ops, ann_batchnorm_ops, ann_lstm_ops;

/* The ops of a kind. */
const ann_layer_ops *ann_ops(ann_kind kind);

/* ------------------------------------------------------------------ loss */

/* Softmax cross-entropy over `classes` logits per sample. Returns the mean
 * loss over the batch; writes probabilities to probs (may be NULL) and
 * dL/dlogits of the mean loss to dlogits (may be NULL). Numerically stable
 * (subtracts the row maximum). */
double ann_softmax_xent(const float *logits, const uint8_t *labels, int batch, int classes,
                        float *probs, float *dlogits);

#endif
