/*
 * Models: an architecture string becomes a stack of layers that share three
 * buffers (parameters, gradients, state) and one scratch area. The model
 * owns all memory; layers only point into it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/ann.h"

const ann_layer_ops *ann_ops(ann_kind kind)
{
    static const ann_layer_ops *const table[ANN_KIND_COUNT_] = {
        [ANN_CONV] = &ann_conv_ops,       [ANN_MAXPOOL] = &ann_maxpool_ops,
        [ANN_DENSE] = &ann_dense_ops,     [ANN_RELU] = &ann_relu_ops,
        [ANN_DROPOUT] = &ann_dropout_ops, [ANN_BATCHNORM] = &ann_batchnorm_ops,
        [ANN_LSTM] = &ann_lstm_ops,
    };
    return (unsigned)kind < ANN_KIND_COUNT_ ? table[kind] : NULL;
}

static const struct {
    const char *name, *arch;
    sb_view view;
} references[] = {
    {"cnn-vgg-s",
     "conv3x3:32,conv3x3:32,maxpool2,conv3x3:64,conv3x3:64,maxpool2,dense:256,dropout:0.5,dense:10",
     SB_VIEW_IMAGE},
    {"lstm-rows", "lstm:128,dense:10", SB_VIEW_ROWS},
    {"lstm-cols", "lstm:128,dense:10", SB_VIEW_COLS},
};

const char *ann_reference(const char *name, sb_view *view)
{
    for (size_t i = 0; i < sizeof references / sizeof references[0]; i++)
        if (strcmp(name, references[i].name) == 0) {
            *view = references[i].view;
            return references[i].arch;
        }
    *view = strncmp(name, "lstm", 4) == 0 ? SB_VIEW_ROWS : SB_VIEW_IMAGE;
    return name;
}

/* ------------------------------------------------------------------ parsing */

/* Whole, positive number at *p (advanced). */
static int parse_int(const char **p, int *v)
{
    if (!isdigit((unsigned char)**p))
        return 0;
    long x = 0;
    while (isdigit((unsigned char)**p) && x < 1000000)
        x = x * 10 + (*(*p)++ - '0');
    *v = (int)x;
    return x > 0 && x < 1000000;
}

/* One token → one layer (without the implicit ReLU). */
static sb_status parse_token(const char *tok, int pos, ann_layer *l)
{
    const char *p = tok;
    memset(l, 0, sizeof *l);
    int a = 0, b = 0;
    if (strncmp(p, "conv", 4) == 0) {
        p += 4;
        l->kind = ANN_CONV;
        if (!parse_int(&p, &a) || *p++ != 'x' || !parse_int(&p, &b) || a != b || *p++ != ':' ||
            !parse_int(&p, &l->units))
            goto bad;
        l->k = a;
        l->pad = a / 2;
        if (*p == ':') {
            p++;
            if (*p == '0' && p[1] == '\0')
                l->pad = 0, p++;
            else if (!parse_int(&p, &l->pad))
                goto bad;
        }
    } else if (strncmp(p, "maxpool", 7) == 0) {
        p += 7;
        l->kind = ANN_MAXPOOL;
        if (!parse_int(&p, &l->k))
            goto bad;
    } else if (strncmp(p, "dense:", 6) == 0) {
        p += 6;
        l->kind = ANN_DENSE;
        if (!parse_int(&p, &l->units))
            goto bad;
    } else if (strncmp(p, "lstm:", 5) == 0) {
        p += 5;
        l->kind = ANN_LSTM;
        if (!parse_int(&p, &l->units))
            goto bad;
    } else if (strncmp(p, "dropout:", 8) == 0) {
        char *end;
        l->kind = ANN_DROPOUT;
        double r = strtod(p + 8, &end);
        if (end == p + 8 || !(r >= 0 && r < 1))
            return sb_fail(SB_EINVAL, "model.arch: token %d '%s': dropout needs a probability in [0, 1)", pos, tok);
        l->rate = (float)r;
        p = end;
    } else if (strcmp(p, "bn") == 0) {
        l->kind = ANN_BATCHNORM;
        p += 2;
    } else if (strcmp(p, "relu") == 0) {
        l->kind = ANN_RELU;
        p += 4;
    } else {
        return sb_fail(SB_EINVAL,
                       "model.arch: token %d '%s': unknown layer (convKxK:N[:P], maxpoolK, dense:N, "
                       "lstm:H, dropout:P, bn, relu, or a name: cnn-vgg-s, lstm-rows, lstm-cols)",
                       pos, tok);
    }
    if (*p == '\0')
        return SB_OK;
bad:
    return sb_fail(SB_EINVAL, "model.arch: token %d '%s': expected %s", pos, tok,
                   l->kind == ANN_CONV      ? "convKxK:FILTERS or convKxK:FILTERS:PAD"
                   : l->kind == ANN_MAXPOOL ? "maxpoolK"
                   : l->kind == ANN_DENSE   ? "dense:UNITS"
                                            : "lstm:UNITS");
}

/* Splits the list and inserts the implicit ReLUs. */
static sb_status parse_arch(const char *arch, ann_layer **out, int *n)
{
    char buf[1024];
    if (strlen(arch) >= sizeof buf)
        return sb_fail(SB_EINVAL, "model.arch: longer than %zu characters", sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", arch);
    int tokens = 1;
    for (const char *c = buf; *c; c++)
        tokens += *c == ',';
    ann_layer *parsed = SB_CALLOC((size_t)tokens, sizeof *parsed);
    ann_layer *layers = SB_CALLOC((size_t)tokens * 2, sizeof *layers);
    if (!parsed || !layers) {
        free(parsed);
        free(layers);
        return SB_ENOMEM;
    }
    int count = 0;
    char *save = NULL;
    sb_status st = SB_OK;
    for (char *tok = strtok_r(buf, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        for (char *e = tok + strlen(tok); e > tok && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        st = parse_token(tok, count + 1, &parsed[count]);
        count++;
    }
    if (!st && count == 0)
        st = sb_fail(SB_EINVAL, "model.arch: empty");
    if (!st && parsed[count - 1].kind != ANN_DENSE)
        st = sb_fail(SB_EINVAL, "model.arch: the last layer must be dense:CLASSES (the logits)");
    int m = 0;
    for (int i = 0; i < count && !st; i++) {
        layers[m++] = parsed[i];
        int weighted = parsed[i].kind == ANN_CONV || parsed[i].kind == ANN_DENSE;
        if (!weighted || i == count - 1)
            continue;
        if (i + 1 < count && parsed[i + 1].kind == ANN_BATCHNORM)
            layers[m++] = parsed[++i];
        if (i + 1 < count && parsed[i + 1].kind == ANN_RELU)
            continue; /* written explicitly */
        layers[m++].kind = ANN_RELU;
    }
    free(parsed);
    if (st) {
        free(layers);
        return st;
    }
    *out = layers;
    *n = m;
    return SB_OK;
}

/* ------------------------------------------------------------------ building */

sb_status ann_model_build(ann_model *m, const char *arch, ann_shape in, int max_batch)
{
    memset(m, 0, sizeof *m);
    sb_view view;
    const char *expanded = ann_reference(arch, &view);
    snprintf(m->arch, sizeof m->arch, "%s", expanded);
    sb_status st = parse_arch(expanded, &m->layers, &m->nlayers);
    if (st)
        return st;
    m->in = in;
    m->max_batch = max_batch;
    ann_shape shape = in;
    size_t largest = ann_shape_size(in);
    for (int i = 0; i < m->nlayers && !st; i++) {
        ann_layer *l = &m->layers[i];
        l->index = i;
        l->in = shape;
        l->max_batch = max_batch;
        st = ann_ops(l->kind)->setup(l);
        if (st)
            break;
        shape = l->out;
        m->nparams += l->nparams;
        m->nstate += l->nstate;
        m->nwork = l->work > m->nwork ? l->work : m->nwork;
        largest = ann_shape_size(shape) > largest ? ann_shape_size(shape) : largest;
    }
    if (st) {
        ann_model_free(m);
        return st;
    }
    m->classes = (int)ann_shape_size(shape);
    m->params = SB_CALLOC(m->nparams + 1, sizeof(float));
    m->grads = SB_CALLOC(m->nparams + 1, sizeof(float));
    m->state = SB_CALLOC(m->nstate + 1, sizeof(float));
    m->work = SB_MALLOC(m->nwork + 1, sizeof(float));
    m->act = SB_CALLOC((size_t)m->nlayers, sizeof *m->act);
    for (int k = 0; k < 2; k++)
        m->dact[k] = SB_MALLOC((size_t)max_batch * largest, sizeof(float));
    int ok = m->params && m->grads && m->state && m->work && m->act && m->dact[0] && m->dact[1];
    size_t p = 0, s = 0;
    for (int i = 0; ok && i < m->nlayers; i++) {
        ann_layer *l = &m->layers[i];
        l->params = m->params + p;
        l->grads = m->grads + p;
        l->state = m->state + s;
        p += l->nparams;
        s += l->nstate;
        m->act[i] = SB_MALLOC((size_t)max_batch * ann_shape_size(l->out), sizeof(float));
        l->save = l->saved ? SB_CALLOC(l->saved, sizeof(float)) : NULL;
        ok = m->act[i] && (l->save || !l->saved);
    }
    if (!ok) {
        ann_model_free(m);
        return sb_fail_context(SB_ENOMEM, "model %s", arch);
    }
    return SB_OK;
}

void ann_model_init(ann_model *m, uint32_t seed, uint64_t member)
{
    for (int i = 0; i < m->nlayers; i++) {
        sb_rng r;
        sb_rng_init(&r, seed, SB_STREAM_ANN_INIT, member * 256 + (uint64_t)i, 0);
        ann_ops(m->layers[i].kind)->init(&m->layers[i], &r);
    }
}

const float *ann_model_forward(ann_model *m, const float *x, int batch, const ann_ctx *ctx)
{
    ann_ctx c = *ctx;
    c.work = m->work;
    const float *in = x;
    for (int i = 0; i < m->nlayers; i++) {
        ann_ops(m->layers[i].kind)->forward(&m->layers[i], in, m->act[i], batch, &c);
        in = m->act[i];
    }
    return in;
}

void ann_model_backward(ann_model *m, const float *x, const float *dlogits, int batch,
                        const ann_ctx *ctx)
{
    ann_ctx c = *ctx;
    c.work = m->work;
    memset(m->grads, 0, m->nparams * sizeof(float));
    const float *dout = dlogits;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        float *din = i > 0 ? m->dact[i % 2] : NULL;
        const float *in = i > 0 ? m->act[i - 1] : x;
        ann_ops(m->layers[i].kind)->backward(&m->layers[i], in, m->act[i], dout, din, batch, &c);
        dout = din;
    }
}

static double layer_macs(const ann_layer *l)
{
    switch (l->kind) {
    case ANN_CONV:
        return (double)ann_shape_size(l->out) * l->in.c * l->k * l->k;
    case ANN_DENSE:
        return (double)ann_shape_size(l->in) * l->units;
    case ANN_LSTM:
        return (double)l->in.h * 4.0 * l->units * (l->in.w + l->units);
    default:
        return 0;
    }
}

double ann_model_macs(const ann_model *m)
{
    double s = 0;
    for (int i = 0; i < m->nlayers; i++)
        s += layer_macs(&m->layers[i]);
    return s;
}

void ann_model_describe(const ann_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        const ann_layer *l = &m->layers[i];
        char what[48];
        switch (l->kind) {
        case ANN_CONV: snprintf(what, sizeof what, "conv %dx%d pad %d", l->k, l->k, l->pad); break;
        case ANN_MAXPOOL: snprintf(what, sizeof what, "maxpool %dx%d", l->k, l->k); break;
        case ANN_DROPOUT: snprintf(what, sizeof what, "dropout %.2f", l->rate); break;
        default: snprintf(what, sizeof what, "%s", ann_ops(l->kind)->name); break;
        }
        sb_info("  %2d %-18s %4dx%-3dx%-4d -> %4dx%-3dx%-4d %9zu params", i, what, l->in.h, l->in.w,
                l->in.c, l->out.h, l->out.w, l->out.c, l->nparams);
    }
    sb_info("  %zu parameters, %.1f M multiply-adds per sample", m->nparams, ann_model_macs(m) / 1e6);
}

static ann_tensor tensor(const char *name, float *data, int rank, uint64_t d0, uint64_t d1,
                         uint64_t d2, uint64_t d3)
{
    ann_tensor t = {name, data, rank, {d0, d1, d2, d3}};
    return t;
}

int ann_layer_tensors(const ann_layer *l, ann_tensor out[4])
{
    const uint64_t u = (uint64_t)l->units, in = ann_shape_size(l->in), c = (uint64_t)l->in.c;
    switch (l->kind) {
    case ANN_CONV: {
        uint64_t k = (uint64_t)l->k, nw = u * c * k * k;
        out[0] = tensor("weight", l->params, 4, u, c, k, k);
        out[1] = tensor("bias", l->params + nw, 1, u, 0, 0, 0);
        return 2;
    }
    case ANN_DENSE:
        out[0] = tensor("weight", l->params, 2, u, in, 0, 0);
        out[1] = tensor("bias", l->params + u * in, 1, u, 0, 0, 0);
        return 2;
    case ANN_BATCHNORM:
        out[0] = tensor("weight", l->params, 1, c, 0, 0, 0);
        out[1] = tensor("bias", l->params + c, 1, c, 0, 0, 0);
        out[2] = tensor("running_mean", l->state, 1, c, 0, 0, 0);
        out[3] = tensor("running_var", l->state + c, 1, c, 0, 0, 0);
        return 4;
    case ANN_LSTM: {
        uint64_t f = (uint64_t)l->in.w;
        out[0] = tensor("weight_ih", l->params, 2, 4 * u, f, 0, 0);
        out[1] = tensor("weight_hh", l->params + 4 * u * f, 2, 4 * u, u, 0, 0);
        out[2] = tensor("bias_ih", l->params + 4 * u * (f + u), 1, 4 * u, 0, 0, 0);
        out[3] = tensor("bias_hh", l->params + 4 * u * (f + u + 1), 1, 4 * u, 0, 0, 0);
        return 4;
    }
    default:
        return 0;
    }
}

void ann_model_free(ann_model *m)
{
    for (int i = 0; m->layers && i < m->nlayers; i++) {
        free(m->layers[i].save);
        if (m->act)
            free(m->act[i]);
    }
    free(m->layers);
    free(m->act);
    free(m->params);
    free(m->grads);
    free(m->state);
    free(m->work);
    free(m->dact[0]);
    free(m->dact[1]);
    memset(m, 0, sizeof *m);
}
