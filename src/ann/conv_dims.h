/* Sizes shared by the two strategies of the convolution layer (conv.c:
 * im2col; conv_shift.c: shifted products on a padded copy). */
#ifndef SB_ANN_CONV_DIMS_H
#define SB_ANN_CONV_DIMS_H

#include <stddef.h>

#include "spikebridge/ann.h"

typedef struct {
    int c, h, w, k, pad, units, oh, ow;
    int shift;     /* 1: conv_shift.c computes this layer; 0: im2col */
    size_t hw;     /* output positions per channel */
    size_t ckk;    /* rows of the column matrix: in.c * k * k */
    size_t nin;    /* input floats per sample */
    size_t nout;   /* output floats per sample */
    size_t ncol;   /* floats of one column buffer; 0 for a 1x1 unpadded conv or shift */
    size_t nw;     /* weights (without bias) */
    size_t nacc;   /* floats of all gradient accumulators at max_batch */
    /* shift only (0 otherwise) */
    int pw;        /* padded row length w + 2 pad: the grid's row stride */
    size_t plane;  /* floats of one padded channel, (h + 2 pad) * pw */
    size_t npad;   /* padded copy of a sample: c * plane, plus k - 1 floats of slack */
    size_t ngrid;  /* grid positions per channel: oh rows of pw (ow valid, the rest junk) */
    size_t nwr;    /* weights regrouped by kernel offset, [k*k][units][c] */
    size_t nthread; /* scratch of one thread: im2col columns, or padded copy + grid + padded dx */
} conv_dims;

conv_dims conv_dims_of(const ann_layer *l);
/* Threads for a loop of `tasks` items, at most as many as setup reserved scratch for. */
int conv_threads(const ann_layer *l, const conv_dims *d, int tasks);

/* Same contract as the layer's forward/backward; work is ctx->work, laid
 * out as [nacc gradient accumulators][nwr regrouped weights][per-thread scratch]. */
void conv_shift_forward(const ann_layer *l, const conv_dims *d, const float *in, float *out,
                        int batch, float *work);
void conv_shift_backward(const ann_layer *l, const conv_dims *d, const float *in, const float *dout,
                         float *din, int batch, int groups, float *work);

#endif
