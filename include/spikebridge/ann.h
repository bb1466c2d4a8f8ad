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
#include "spikebridge/data.h"

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
 * (subtracts the row maximum). Returns -1 and writes nothing if a label is
 * not below `classes` or batch or classes is below 1. */
/* Index of the largest of n values (the first one on ties). */
int ann_argmax(const float *v, int n);

double ann_softmax_xent(const float *logits, const uint8_t *labels, int batch, int classes,
                        float *probs, float *dlogits);

/* ------------------------------------------------------------------ models */

/* A feed-forward stack of layers with one buffer each for parameters,
 * gradients and state. The architecture is a comma-separated list:
 *   convKxK:N[:P]  K x K convolution, N filters, padding P (default K/2)
 *   maxpoolK       K x K max pooling
 *   dense:N        fully connected, N outputs
 *   lstm:H         LSTM over a (1, T, F) input, last hidden state
 *   dropout:P      dropout with probability P
 *   bn             batch normalisation
 *   relu           an explicit ReLU
 * conv and dense are followed by a ReLU (after a directly following bn)
 * except when they are the last layer, whose outputs are the logits. Named
 * references: cnn-vgg-s, lstm-rows, lstm-cols (DESIGN.md). */
typedef struct {
    int nlayers;
    ann_layer *layers;
    ann_shape in;        /* one sample's input */
    int classes;         /* outputs of the last layer */
    int max_batch;
    size_t nparams, nstate, nwork;
    float *params;       /* all parameters, layer after layer */
    float *grads;        /* same layout */
    float *state;        /* all non-trainable state */
    float *work;         /* scratch shared by the layers */
    float **act;         /* act[i]: output of layer i for max_batch samples */
    float *dact[2];      /* gradients flowing backwards, ping-pong */
    char arch[1024];     /* the expanded architecture string */
} ann_model;

/* Expands a named reference ("cnn-vgg-s") to its layer list and the view
 * its input uses (lstm-cols reads columns); any other string comes back
 * unchanged, with SB_VIEW_IMAGE for convolutional lists and SB_VIEW_ROWS
 * for lists that start with an LSTM. */
const char *ann_reference(const char *name, sb_view *view);

/* Parses arch (a name or a layer list), sets every layer up for inputs of
 * shape `in` and batches up to max_batch, and allocates everything. Errors
 * name the token: "model.arch: token 4 'maxpol2': unknown layer". */
sb_status ann_model_build(ann_model *m, const char *arch, ann_shape in, int max_batch);

/* Initial parameters, from streams (seed, SB_STREAM_ANN_INIT, member*256+layer). */
void ann_model_init(ann_model *m, uint32_t seed, uint64_t member);

/* Forward pass of `batch` samples; returns the logits (batch x classes). */
const float *ann_model_forward(ann_model *m, const float *x, int batch, const ann_ctx *ctx);

/* Zeroes the gradients, then back-propagates dlogits through the stack. */
void ann_model_backward(ann_model *m, const float *x, const float *dlogits, int batch,
                        const ann_ctx *ctx);

/* One line per layer through sb_info: kind, shape in -> out, parameters. */
void ann_model_describe(const ann_model *m);

/* Multiply-adds of one sample's forward pass (conv, dense, lstm). */
double ann_model_macs(const ann_model *m);

void ann_model_free(ann_model *m);

/* A layer's parameters and state as named tensors, with PyTorch's
 * state_dict names and shapes (conv weight [out, in, k, k], dense weight
 * [out, in], lstm weight_ih [4H, F], batch norm running_mean [C], ...).
 * Returns the count (at most 4); data points into the model's buffers. */
typedef struct {
    const char *name;
    float *data;
    int rank;
    uint64_t dims[4];
} ann_tensor;
int ann_layer_tensors(const ann_layer *l, ann_tensor out[4]);

/* ------------------------------------------------------------------ optimisers */

typedef enum { ANN_SGD = 0, ANN_ADAM = 1 } ann_optimizer_kind;
typedef enum { ANN_SCHED_CONSTANT = 0, ANN_SCHED_ONECYCLE = 1, ANN_SCHED_COSINE = 2 } ann_schedule;

typedef struct {
    ann_optimizer_kind kind;
    double lr;            /* base (constant, cosine) or peak (onecycle) learning rate */
    double momentum;      /* SGD momentum; onecycle cycles it between 0.85 and momentum */
    int nesterov;         /* SGD: Nesterov momentum */
    double weight_decay;  /* L2, added to the gradient (PyTorch semantics) */
    double beta1, beta2, eps; /* Adam */
    ann_schedule schedule;
    long total_steps;     /* steps of the whole run, for the schedules */
} ann_optim_cfg;

typedef struct {
    ann_optim_cfg cfg;
    size_t n;             /* parameters */
    float *buf;           /* SGD: velocity [n]; Adam: m [n] then v [n] */
    size_t nbuf;
    long step;            /* steps taken */
} ann_optim;

sb_status ann_optim_init(ann_optim *o, const ann_optim_cfg *cfg, size_t nparams);
/* Learning rate and momentum (or beta1) at step t, PyTorch's OneCycleLR with
 * its defaults (pct_start 0.3, cosine, div 25, final div 1e4) for onecycle. */
void ann_optim_schedule(const ann_optim_cfg *cfg, long t, double *lr, double *momentum);
/* One update of params from grads. */
void ann_optim_step(ann_optim *o, float *params, const float *grads);
void ann_optim_free(ann_optim *o);

/* ------------------------------------------------------------------ training */

typedef struct {
    int epochs;
    int batch;
    ann_optim_cfg optim;   /* total_steps is filled in by ann_train */
    int shift;             /* augmentation: random shifts up to this many pixels */
    float rotate;          /* augmentation: random rotations up to this many degrees */
    sb_view view;          /* how the model reads an image */
    float mean, std;       /* input normalisation: (x/255 - mean) / std */
    uint32_t seed;         /* job seed */
    uint64_t member;       /* ensemble member: its data order, augmentation and dropout */
    int stop_after;        /* train at most this many epochs in this call; 0 = all */
} ann_train_cfg;

typedef struct {
    double loss;           /* mean training loss */
    double train_acc;      /* accuracy on the (augmented) training batches */
    double test_acc;       /* accuracy on the test set after the epoch */
    double seconds;        /* wall time of the epoch (training and testing) */
    double images_per_s;   /* training images per second */
} ann_epoch;

typedef struct {
    ann_model model;
    ann_optim optim;
    int epochs_done;       /* completed epochs (a checkpoint resumes after them) */
    ann_epoch *history;    /* [epochs] */
    uint64_t next_image;   /* position in the current epoch's order (after a stop) */
    double part_loss;      /* the current epoch's loss sum so far */
    uint64_t part_correct; /* and its correct predictions so far */
} ann_trainer;

/* Called after each epoch and when a stop request ends training early
 * (checkpointing); a non-OK status stops training. */
typedef sb_status (*ann_epoch_hook)(void *user, ann_trainer *t);

/* Builds the model and optimiser, initialised from the seed and member. */
sb_status ann_trainer_init(ann_trainer *t, const char *arch, const ann_train_cfg *cfg,
                           uint32_t rows, uint32_t cols, uint64_t train_images);
void ann_trainer_free(ann_trainer *t);

/* Trains epochs [t->epochs_done, cfg->epochs). Each epoch's order is a
 * permutation drawn from (seed, SB_STREAM_ANN_ORDER, member) at the epoch,
 * so resuming after epoch e gives what an uninterrupted run gives. A stop
 * request (sb_stop_requested) ends training after the current batch: the
 * hook runs, and SB_EINTERRUPTED is returned; training again continues at
 * that batch with the same result as an uninterrupted run. */
sb_status ann_train(ann_trainer *t, const ann_train_cfg *cfg, const sb_dataset *train,
                    const sb_dataset *test, ann_epoch_hook hook, void *user);

/* Class probabilities (n x classes, may be NULL) and accuracy of a model on
 * a dataset, in inference mode. */
sb_status ann_evaluate(ann_model *m, const ann_train_cfg *cfg, const sb_dataset *ds,
                       float *probs, double *accuracy);

/* The model's input shape for images of rows x cols under a view. */
ann_shape ann_input_shape(sb_view view, uint32_t rows, uint32_t cols);

#endif
