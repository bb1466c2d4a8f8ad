/* LSTM layer and softmax cross-entropy against references: finite
 * differences, a double-precision LSTM written out here, and values worked
 * out by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "harness.h"
#include "spikebridge/ann.h"

enum { T_ = 4, F_ = 3, H_ = 5, B_ = 3 };

static ann_layer lstm_layer(int steps, int features, int units, int max_batch)
{
    ann_layer l;
    memset(&l, 0, sizeof l);
    l.kind = ANN_LSTM;
    l.index = 3;
    l.in = (ann_shape){1, steps, features};
    l.units = units;
    l.max_batch = max_batch;
    return l;
}

/* A layer with its storage, initialised from a test stream. */
typedef struct {
    ann_layer l;
    float *work;
} lstm_fixture;

static void fixture_open(lstm_fixture *fx, int max_batch, uint32_t seed)
{
    fx->l = lstm_layer(T_, F_, H_, max_batch);
    CU_ASSERT_EQUAL_FATAL(ann_lstm_ops.setup(&fx->l), SB_OK);
    fx->l.params = calloc(fx->l.nparams, sizeof(float));
    fx->l.grads = calloc(fx->l.nparams, sizeof(float));
    fx->l.save = calloc(fx->l.saved, sizeof(float));
    fx->work = calloc(fx->l.work, sizeof(float));
    sb_rng rng;
    sb_rng_init(&rng, seed, SB_STREAM_TEST, 2, 0);
    ann_lstm_ops.init(&fx->l, &rng);
}

static void fixture_close(lstm_fixture *fx)
{
    free(fx->l.params);
    free(fx->l.grads);
    free(fx->l.save);
    free(fx->work);
}

static void fill_uniform(float *x, size_t n, uint32_t seed, double scale)
{
    sb_rng rng;
    sb_rng_init(&rng, seed, SB_STREAM_TEST, 3, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2 * sb_rng_uniform(&rng) - 1) * scale);
}

/* ------------------------------------------------------------------ reference */

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }

/* One sample through an LSTM in double precision, straight from the
 * PyTorch equations, with the layer's parameters in its layout. */
static void reference_lstm(const double *p, const double *x, int T, int F, int H, double *h_out)
{
    const int G = 4 * H;
    const double *w_ih = p, *w_hh = p + G * F, *b_ih = w_hh + G * H, *b_hh = b_ih + G;
    double h[64] = {0}, c[64] = {0}, z[256];
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < G; r++) {
            double s = b_ih[r] + b_hh[r];
            for (int k = 0; k < F; k++)
                s += w_ih[r * F + k] * x[t * F + k];
            for (int k = 0; k < H; k++)
                s += w_hh[r * H + k] * h[k];
            z[r] = s;
        }
        for (int j = 0; j < H; j++) {
            double i = sigmoid(z[j]), f = sigmoid(z[H + j]), g = tanh(z[2 * H + j]),
                   o = sigmoid(z[3 * H + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * tanh(c[j]);
        }
    }
    memcpy(h_out, h, sizeof(double) * (size_t)H);
}

/* ------------------------------------------------------------------ LSTM tests */

/* Float32 central differences: the loss sum(out * r) carries ~1e-7
 * relative rounding, so the numerical slope is off by ~1e-7/eps absolute,
 * which is large against the smallest sampled gradients (the denominator's
 * floor is 1e-3). Rounding dominates truncation here: worst relative errors
 * over seeds 11-13 were 3e-3..6e-3 at eps 1e-2 and 3e-2..5e-2 at eps 1e-3.
 * Hence eps 1e-2 and a bound of 2e-2, still far below the O(1) error of a
 * wrong term or gate; the tight check is the double reference below. */
static void test_lstm_gradcheck(void)
{
    ann_layer l = lstm_layer(T_, F_, H_, B_);
    gc_result r = gradcheck_layer(&ann_lstm_ops, &l, B_, 11, 1, 200, 1e-2);
    printf("\n    gradcheck: worst rel err input %.2e, params %.2e (%d checked) ", r.worst_input,
           r.worst_param, r.checked);
    CU_ASSERT_EQUAL(r.checked, 400);
    CU_ASSERT(r.worst_input < 2e-2);
    CU_ASSERT(r.worst_param < 2e-2);
}

static void test_lstm_forward_matches_reference(void)
{
    lstm_fixture fx;
    fixture_open(&fx, B_, 21);
    ann_layer *l = &fx.l;
    float in[B_ * T_ * F_], out[B_ * H_];
    fill_uniform(in, B_ * T_ * F_, 5, 2.0);
    ann_ctx ctx = {0, 1, 0, 0, fx.work};
    ann_lstm_ops.forward(l, in, out, B_, &ctx);

    double *p = malloc(sizeof(double) * l->nparams), x[T_ * F_], h[H_];
    for (size_t i = 0; i < l->nparams; i++)
        p[i] = l->params[i];
    double worst = 0;
    for (int b = 0; b < B_; b++) {
        for (int i = 0; i < T_ * F_; i++)
            x[i] = in[b * T_ * F_ + i];
        reference_lstm(p, x, T_, F_, H_, h);
        for (int j = 0; j < H_; j++) {
            double d = fabs(h[j] - out[b * H_ + j]);
            worst = d > worst ? d : worst;
        }
    }
    printf("\n    forward vs double reference: worst |diff| %.2e ", worst);
    CU_ASSERT(worst < 1e-5);
    free(p);
    fixture_close(&fx);
}

/* The analytic gradients of every parameter and input against central
 * differences of the double reference (eps 1e-6: truncation ~1e-12,
 * rounding ~1e-10), so the only error left is float32's. */
static void test_lstm_backward_matches_reference(void)
{
    lstm_fixture fx;
    fixture_open(&fx, B_, 23);
    ann_layer *l = &fx.l;
    float in[B_ * T_ * F_], out[B_ * H_], dout[B_ * H_], din[B_ * T_ * F_];
    fill_uniform(in, B_ * T_ * F_, 6, 1.0);
    fill_uniform(dout, B_ * H_, 7, 1.0);
    ann_ctx ctx = {1, 1, 0, 0, fx.work};
    ann_lstm_ops.forward(l, in, out, B_, &ctx);
    ann_lstm_ops.backward(l, in, out, dout, din, B_, &ctx);

    const size_t np = l->nparams;
    double *p = malloc(sizeof(double) * np), x[B_ * T_ * F_], h[H_];
    for (size_t i = 0; i < np; i++)
        p[i] = l->params[i];
    for (int i = 0; i < B_ * T_ * F_; i++)
        x[i] = in[i];
    /* L = sum_b sum_j dout[b][j] h_b[j] */
#define LOSS(acc)                                                                                  \
    do {                                                                                           \
        acc = 0;                                                                                   \
        for (int b = 0; b < B_; b++) {                                                             \
            reference_lstm(p, x + b * T_ * F_, T_, F_, H_, h);                                     \
            for (int j = 0; j < H_; j++)                                                           \
                acc += dout[b * H_ + j] * h[j];                                                    \
        }                                                                                          \
    } while (0)
    const double eps = 1e-6;
    double worst_p = 0, worst_x = 0, up, down;
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + eps;
        LOSS(up);
        p[i] = keep - eps;
        LOSS(down);
        p[i] = keep;
        double d = fabs((up - down) / (2 * eps) - l->grads[i]);
        worst_p = d > worst_p ? d : worst_p;
    }
    for (int i = 0; i < B_ * T_ * F_; i++) {
        double keep = x[i];
        x[i] = keep + eps;
        LOSS(up);
        x[i] = keep - eps;
        LOSS(down);
        x[i] = keep;
        double d = fabs((up - down) / (2 * eps) - din[i]);
        worst_x = d > worst_x ? d : worst_x;
    }
#undef LOSS
    printf("\n    backward vs double finite differences: worst |diff| params %.2e, input %.2e ",
           worst_p, worst_x);
    CU_ASSERT(worst_p < 1e-5);
    CU_ASSERT(worst_x < 1e-5);
    free(p);
    fixture_close(&fx);
}

/* Backward adds to the gradients (not bitwise twice: the second pass
 * rounds its sums onto a non-zero start); din is optional. */
static void test_lstm_backward_accumulates(void)
{
    lstm_fixture fx;
    fixture_open(&fx, B_, 25);
    ann_layer *l = &fx.l;
    float in[B_ * T_ * F_], out[B_ * H_], dout[B_ * H_];
    fill_uniform(in, B_ * T_ * F_, 8, 1.0);
    fill_uniform(dout, B_ * H_, 9, 1.0);
    ann_ctx ctx = {1, 1, 0, 0, fx.work};
    ann_lstm_ops.forward(l, in, out, B_, &ctx);
    ann_lstm_ops.backward(l, in, out, dout, NULL, B_, &ctx);
    float *once = malloc(sizeof(float) * l->nparams);
    memcpy(once, l->grads, sizeof(float) * l->nparams);
    ann_lstm_ops.backward(l, in, out, dout, NULL, B_, &ctx);
    int doubled = 1, nonzero = 0;
    for (size_t i = 0; i < l->nparams; i++) {
        doubled &= fabsf(l->grads[i] - 2 * once[i]) <= 1e-6f * (1 + fabsf(once[i]));
        nonzero += once[i] != 0;
    }
    CU_ASSERT(doubled);
    CU_ASSERT_EQUAL(nonzero, (int)l->nparams);
    free(once);
    fixture_close(&fx);
}

/* Sample 2 of a batch of 3 gives the output it gives alone, and the
 * gradient of a batch is the sum of the samples' gradients. */
static void test_lstm_batch_independence(void)
{
    lstm_fixture fx;
    fixture_open(&fx, B_, 27);
    ann_layer *l = &fx.l;
    float in[B_ * T_ * F_], out[B_ * H_], alone[H_], dout[B_ * H_];
    fill_uniform(in, B_ * T_ * F_, 10, 1.5);
    fill_uniform(dout, B_ * H_, 11, 1.0);
    ann_ctx ctx = {0, 1, 0, 0, fx.work};
    ann_lstm_ops.forward(l, in, out, B_, &ctx);
    ann_lstm_ops.backward(l, in, out, dout, NULL, B_, &ctx);
    float *batch_grads = malloc(sizeof(float) * l->nparams);
    memcpy(batch_grads, l->grads, sizeof(float) * l->nparams);

    memset(l->grads, 0, sizeof(float) * l->nparams);
    double worst_out = 0, worst_grad = 0;
    for (int b = 0; b < B_; b++) {
        ann_lstm_ops.forward(l, in + b * T_ * F_, alone, 1, &ctx);
        if (b == 2)
            for (int j = 0; j < H_; j++)
                worst_out = fmax(worst_out, fabs(alone[j] - out[2 * H_ + j]));
        ann_lstm_ops.backward(l, in + b * T_ * F_, alone, dout + b * H_, NULL, 1, &ctx);
    }
    for (size_t i = 0; i < l->nparams; i++)
        worst_grad = fmax(worst_grad, fabs(l->grads[i] - batch_grads[i]));
    printf("\n    sample 2 alone vs in batch: worst |diff| %.2e; summed gradients %.2e ", worst_out,
           worst_grad);
    /* Not bitwise: BLAS may pick another kernel for 1 row than for 3. */
    CU_ASSERT(worst_out < 1e-6);
    CU_ASSERT(worst_grad < 1e-5);
    free(batch_grads);
    fixture_close(&fx);
}

static void test_lstm_deterministic(void)
{
    lstm_fixture a, b;
    fixture_open(&a, B_, 29);
    fixture_open(&b, B_, 29);
    float in[B_ * T_ * F_], oa[B_ * H_], ob[B_ * H_], dout[B_ * H_];
    fill_uniform(in, B_ * T_ * F_, 12, 1.0);
    fill_uniform(dout, B_ * H_, 13, 1.0);
    ann_ctx ca = {1, 1, 0, 0, a.work}, cb = {1, 1, 0, 0, b.work};
    ann_lstm_ops.forward(&a.l, in, oa, B_, &ca);
    ann_lstm_ops.forward(&b.l, in, ob, B_, &cb);
    ann_lstm_ops.backward(&a.l, in, oa, dout, NULL, B_, &ca);
    ann_lstm_ops.backward(&b.l, in, ob, dout, NULL, B_, &cb);
    CU_ASSERT(memcmp(oa, ob, sizeof oa) == 0);
    CU_ASSERT(memcmp(a.l.grads, b.l.grads, sizeof(float) * a.l.nparams) == 0);
    fixture_close(&a);
    fixture_close(&b);
}

static void test_lstm_setup_sizes_and_init(void)
{
    ann_layer l = lstm_layer(28, 28, 128, 64);
    CU_ASSERT_EQUAL_FATAL(ann_lstm_ops.setup(&l), SB_OK);
    CU_ASSERT_EQUAL(l.out.c, 128);
    CU_ASSERT_EQUAL(l.out.h, 1);
    CU_ASSERT_EQUAL(l.out.w, 1);
    /* torch.nn.LSTM(28, 128): 4*128*28 + 4*128*128 + 2*4*128 */
    CU_ASSERT_EQUAL(l.nparams, 80896);
    CU_ASSERT_EQUAL(l.nstate, 0);

    float *p = malloc(sizeof(float) * l.nparams);
    l.params = p;
    sb_rng rng;
    sb_rng_init(&rng, 1, SB_STREAM_TEST, 4, 0);
    ann_lstm_ops.init(&l, &rng);
    const double k = 1 / sqrt(128.0);
    double lo = 1, hi = -1, mean = 0;
    for (size_t i = 0; i < l.nparams; i++) {
        lo = fmin(lo, p[i]);
        hi = fmax(hi, p[i]);
        mean += p[i];
    }
    mean /= (double)l.nparams;
    CU_ASSERT(lo >= -k && hi <= k);
    CU_ASSERT(lo < -0.99 * k && hi > 0.99 * k);
    CU_ASSERT(fabs(mean) < 0.01 * k);
    free(p);
}

static void expect_setup_error(ann_layer l, const char *what)
{
    sb_clear_error();
    CU_ASSERT_EQUAL(ann_lstm_ops.setup(&l), SB_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), "layer 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), what));
}

static void test_lstm_setup_errors(void)
{
    expect_setup_error(lstm_layer(4, 3, 0, 2), "unit");
    ann_layer l = lstm_layer(4, 3, 5, 2);
    l.in.c = 2;
    expect_setup_error(l, "channels");
    expect_setup_error(lstm_layer(0, 3, 5, 2), "steps");
    expect_setup_error(lstm_layer(4, 0, 5, 2), "features");
    expect_setup_error(lstm_layer(100000, 1000, 1000, 64), "too large");
}

/* ------------------------------------------------------------------ loss */

static void test_xent_hand_values(void)
{
    const float z[6] = {1, 2, 3, 0, 0, 0};
    const uint8_t y[2] = {2, 0};
    float p[6], d[6];
    double loss = ann_softmax_xent(z, y, 2, 3, p, d);
    /* log(e + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2), and log 3 */
    CU_ASSERT_DOUBLE_EQUAL(loss, (0.4076059644443804 + 1.0986122886681098) / 2, 1e-12);
    const double expect[6] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219,
                              1 / 3.0, 1 / 3.0, 1 / 3.0};
    for (int k = 0; k < 6; k++) {
        CU_ASSERT_DOUBLE_EQUAL(p[k], expect[k], 1e-7);
        double onehot = (k == 2 || k == 3);
        CU_ASSERT_DOUBLE_EQUAL(d[k], (expect[k] - onehot) / 2, 1e-7);
    }
    for (int b = 0; b < 2; b++)
        CU_ASSERT_DOUBLE_EQUAL(p[3 * b] + p[3 * b + 1] + p[3 * b + 2], 1.0, 1e-6);
    /* optional outputs */
    CU_ASSERT_DOUBLE_EQUAL(ann_softmax_xent(z, y, 2, 3, NULL, NULL), loss, 0);
}

static void test_xent_gradient_finite_differences(void)
{
    enum { NB = 4, NC = 7 };
    float z[NB * NC], d[NB * NC];
    uint8_t y[NB] = {0, 6, 3, 3};
    fill_uniform(z, NB * NC, 14, 3.0);
    ann_softmax_xent(z, y, NB, NC, NULL, d);
    double worst = 0;
    const float eps = 1e-2f;
    for (int i = 0; i < NB * NC; i++) {
        float keep = z[i];
        z[i] = keep + eps;
        double up = ann_softmax_xent(z, y, NB, NC, NULL, NULL);
        z[i] = keep - eps;
        double down = ann_softmax_xent(z, y, NB, NC, NULL, NULL);
        z[i] = keep;
        /* the step actually taken in float */
        double h = ((double)(keep + eps) - (double)(keep - eps));
        worst = fmax(worst, fabs((up - down) / h - d[i]));
    }
    printf("\n    dlogits vs finite differences: worst |diff| %.2e ", worst);
    CU_ASSERT(worst < 1e-4);
}

static void test_xent_stable(void)
{
    const float z[3] = {1000, 1000, 990};
    const uint8_t y[1] = {0};
    float p[3], d[3];
    double loss = ann_softmax_xent(z, y, 1, 3, p, d);
    CU_ASSERT(isfinite(loss));
    CU_ASSERT_DOUBLE_EQUAL(loss, 0.6931698802671862, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.5 / (1 + 0.5 * exp(-10)), 1e-7);
    CU_ASSERT(p[2] > 0);
    for (int k = 0; k < 3; k++)
        CU_ASSERT(isfinite(d[k]));
    const float neg[3] = {-1000, -1000, -1000};
    CU_ASSERT_DOUBLE_EQUAL(ann_softmax_xent(neg, y, 1, 3, p, NULL), log(3.0), 1e-12);
}

static void test_xent_bad_label(void)
{
    const float z[6] = {1, 2, 3, 0, 0, 0};
    const uint8_t y[2] = {1, 3};
    float p[6], d[6];
    for (int k = 0; k < 6; k++)
        p[k] = d[k] = 42;
    CU_ASSERT_EQUAL(ann_softmax_xent(z, y, 2, 3, p, d), -1.0);
    int untouched = 1;
    for (int k = 0; k < 6; k++)
        untouched &= p[k] == 42 && d[k] == 42;
    CU_ASSERT(untouched);
    CU_ASSERT_EQUAL(ann_softmax_xent(z, y, 0, 3, p, d), -1.0);
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("lstm", NULL, NULL);
    CU_add_test(s, "gradient check (T=4, F=3, H=5, batch 3)", test_lstm_gradcheck);
    CU_add_test(s, "forward matches a double-precision reference", test_lstm_forward_matches_reference);
    CU_add_test(s, "backward matches finite differences of the reference",
                test_lstm_backward_matches_reference);
    CU_add_test(s, "backward adds to the gradients", test_lstm_backward_accumulates);
    CU_add_test(s, "a sample's output does not depend on its batch", test_lstm_batch_independence);
    CU_add_test(s, "deterministic forward and backward", test_lstm_deterministic);
    CU_add_test(s, "setup: shapes, PyTorch parameter count, init range", test_lstm_setup_sizes_and_init);
    CU_add_test(s, "setup errors name the layer", test_lstm_setup_errors);
    s = CU_add_suite("softmax cross-entropy", NULL, NULL);
    CU_add_test(s, "hand-computed loss, probabilities, gradient", test_xent_hand_values);
    CU_add_test(s, "dlogits match finite differences", test_xent_gradient_finite_differences);
    CU_add_test(s, "stable with logits of 1000", test_xent_stable);
    CU_add_test(s, "a label >= classes returns -1 and writes nothing", test_xent_bad_label);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
