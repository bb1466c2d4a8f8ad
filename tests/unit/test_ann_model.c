/* Models, optimisers and the training loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ann/fastmath.h"
#include "harness.h"
#include "spikebridge/ann.h"

static const ann_shape MNIST = {1, 28, 28};

static void test_reference_sizes(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "cnn-vgg-s", MNIST, 4), SB_OK);
    /* conv 320 + 9248 + 18496 + 36928, dense 803072 + 2570: PyTorch's count. */
    CU_ASSERT_EQUAL(m.nparams, 870634);
    CU_ASSERT_EQUAL(m.nlayers, 14); /* 4 conv + 5 relu + 2 pool + 2 dense + dropout */
    CU_ASSERT_EQUAL(m.classes, 10);
    CU_ASSERT_EQUAL(m.layers[1].kind, ANN_RELU);
    CU_ASSERT_EQUAL(m.layers[10].out.c, 256);
    CU_ASSERT_EQUAL(m.layers[13].kind, ANN_DENSE);
    CU_ASSERT_DOUBLE_EQUAL(ann_model_macs(&m), 28 * 28 * 32 * 9 + 28 * 28 * 32 * 288.0 +
                           14 * 14 * 64 * 288.0 + 14 * 14 * 64 * 576.0 + 3136 * 256.0 + 2560, 1);
    ann_model_free(&m);
    sb_view v;
    const char *arch = ann_reference("lstm-cols", &v);
    CU_ASSERT_EQUAL(v, SB_VIEW_COLS);
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, arch, MNIST, 4), SB_OK);
    CU_ASSERT_EQUAL(m.nparams, 4 * 128 * (28 + 128) + 8 * 128 + 1290);
    CU_ASSERT_EQUAL(m.nlayers, 2); /* lstm, dense: no ReLU after an LSTM */
    ann_model_free(&m);
}

static void test_implicit_relu_after_bn(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "conv3x3:4,bn,maxpool2,dense:8,relu,dense:3", MNIST, 2), SB_OK);
    ann_kind want[] = {ANN_CONV, ANN_BATCHNORM, ANN_RELU, ANN_MAXPOOL, ANN_DENSE, ANN_RELU, ANN_DENSE};
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 7);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(m.layers[i].kind, want[i]);
    ann_model_free(&m);
}

static void expect_arch_error(const char *arch, const char *fragment)
{
    ann_model m;
    CU_ASSERT_NOT_EQUAL(ann_model_build(&m, arch, MNIST, 2), SB_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), fragment));
    if (!strstr(sb_last_error(), fragment))
        printf("\n    '%s' gave: %s ", arch, sb_last_error());
}

static void test_bad_arch(void)
{
    expect_arch_error("conv3x3:32,maxpol2,dense:10", "token 2 'maxpol2': unknown layer");
    expect_arch_error("conv3x4:32,dense:10", "token 1 'conv3x4:32'");
    expect_arch_error("conv3x3:,dense:10", "expected convKxK:FILTERS");
    expect_arch_error("dense:10,dropout:1.5,dense:10", "probability in [0, 1)");
    expect_arch_error("conv3x3:8,maxpool2", "last layer must be dense");
    expect_arch_error("conv29x29:8:0,dense:10", "layer 0");
    expect_arch_error("", "empty");
}

static void test_sgd_nesterov_step(void)
{
    ann_optim_cfg c = {ANN_SGD, 0.1, 0.9, 1, 0.01, 0, 0, 0, ANN_SCHED_CONSTANT, 10};
    ann_optim o;
    CU_ASSERT_EQUAL_FATAL(ann_optim_init(&o, &c, 1), SB_OK);
    float p = 1.0f, g = 0.5f;
    /* step 1: g' = 0.5 + 0.01 = 0.51; v = 0.51; p -= 0.1 (0.51 + 0.9 * 0.51) */
    ann_optim_step(&o, &p, &g);
    CU_ASSERT_DOUBLE_EQUAL(p, 1 - 0.1 * (0.51 + 0.9 * 0.51), 1e-6);
    double v = 0.51, p2 = 1 - 0.1 * (0.51 + 0.9 * 0.51);
    double g2 = 0.5 + 0.01 * p2;
    v = 0.9 * v + g2;
    ann_optim_step(&o, &p, &g);
    CU_ASSERT_DOUBLE_EQUAL(p, p2 - 0.1 * (g2 + 0.9 * v), 1e-6);
    ann_optim_free(&o);
}

static void test_adam_step(void)
{
    ann_optim_cfg c = {ANN_ADAM, 0.01, 0, 0, 0, 0.9, 0.999, 1e-8, ANN_SCHED_CONSTANT, 10};
    ann_optim o;
    CU_ASSERT_EQUAL_FATAL(ann_optim_init(&o, &c, 1), SB_OK);
    float p = 0.0f, g = 2.0f;
    /* After bias correction the first step moves by lr * sign(g). */
    ann_optim_step(&o, &p, &g);
    CU_ASSERT_DOUBLE_EQUAL(p, -0.01, 1e-6);
    ann_optim_free(&o);
}

static void test_onecycle_schedule(void)
{
    ann_optim_cfg c = {ANN_SGD, 0.05, 0.95, 1, 0, 0, 0, 0, ANN_SCHED_ONECYCLE, 1001};
    double lr, m;
    ann_optim_schedule(&c, 0, &lr, &m);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.05 / 25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m, 0.95, 1e-12);
    ann_optim_schedule(&c, 299, &lr, &m); /* 0.3 * 1001 - 1 = 299.3: just before the peak */
    CU_ASSERT(lr > 0.0499 && lr <= 0.05);
    CU_ASSERT(m < 0.8501);
    ann_optim_schedule(&c, 1000, &lr, &m);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.05 / 25 / 1e4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m, 0.95, 1e-12);
    c.schedule = ANN_SCHED_COSINE;
    ann_optim_schedule(&c, 0, &lr, &m);
    CU_ASSERT_DOUBLE_EQUAL(lr, 0.05, 1e-12);
}

/* 2000 synthetic images: class = which quadrant holds a bright blob. */
static void make_quadrants(sb_dataset *d, uint64_t n, uint32_t salt)
{
    d->n = n;
    d->first = 0;
    d->rows = d->cols = 12;
    d->pixels = calloc(n * 144, 1);
    d->labels = malloc(n);
    sb_rng r;
    sb_rng_init(&r, salt, SB_STREAM_TEST, 0, 0);
    for (uint64_t k = 0; k < n; k++) {
        int q = (int)(sb_rng_u32(&r) % 4);
        d->labels[k] = (uint8_t)q;
        int r0 = (q / 2) * 6 + (int)(sb_rng_u32(&r) % 3), c0 = (q % 2) * 6 + (int)(sb_rng_u32(&r) % 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                d->pixels[k * 144 + (uint64_t)(r0 + i) * 12 + (uint64_t)(c0 + j)] = 200;
        for (int i = 0; i < 144; i++)
            d->pixels[k * 144 + (uint64_t)i] += (uint8_t)(sb_rng_u32(&r) % 40);
    }
}

static ann_train_cfg small_cfg(void)
{
    ann_train_cfg c;
    memset(&c, 0, sizeof c);
    c.epochs = 2;
    c.batch = 32;
    c.optim = (ann_optim_cfg){ANN_SGD, 0.05, 0.9, 1, 1e-4, 0.9, 0.999, 1e-8, ANN_SCHED_ONECYCLE, 0};
    c.shift = 1;
    c.view = SB_VIEW_IMAGE;
    c.mean = 0.1f;
    c.std = 0.3f;
    c.seed = 3;
    return c;
}

static void test_small_model_learns_and_repeats(void)
{
    sb_dataset train, test;
    make_quadrants(&train, 2000, 1);
    make_quadrants(&test, 400, 2);
    ann_train_cfg c = small_cfg();
    const char *arch = "conv3x3:8,maxpool2,dense:16,dropout:0.1,dense:4";
    ann_trainer a, b;
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&a, arch, &c, 12, 12, train.n), SB_OK);
    CU_ASSERT_EQUAL_FATAL(ann_train(&a, &c, &train, &test, NULL, NULL), SB_OK);
    double acc = 0;
    CU_ASSERT_EQUAL(ann_evaluate(&a.model, &c, &test, NULL, &acc), SB_OK);
    printf("\n    quadrant task: test accuracy %.3f after 2 epochs (chance 0.25) ", acc);
    CU_ASSERT(acc > 0.9);
    CU_ASSERT(a.history[1].loss < a.history[0].loss);
    /* Same seed, same threads: the same weights, bit for bit. */
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&b, arch, &c, 12, 12, train.n), SB_OK);
    CU_ASSERT_EQUAL_FATAL(ann_train(&b, &c, &train, &test, NULL, NULL), SB_OK);
    CU_ASSERT_EQUAL(memcmp(a.model.params, b.model.params, a.model.nparams * sizeof(float)), 0);
    ann_trainer_free(&b);
    /* Another member: other weights. */
    c.member = 1;
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&b, arch, &c, 12, 12, train.n), SB_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a.model.params, b.model.params, a.model.nparams * sizeof(float)), 0);
    ann_trainer_free(&b);
    ann_trainer_free(&a);
    sb_dataset_free(&train);
    sb_dataset_free(&test);
}

/* Training epoch by epoch (stop_after = 1, as a resumed job does) ends where
 * one uninterrupted call ends. */
static void test_stop_and_continue_equals_uninterrupted(void)
{
    sb_dataset train, test;
    make_quadrants(&train, 600, 5);
    make_quadrants(&test, 100, 6);
    ann_train_cfg c = small_cfg();
    c.epochs = 3;
    const char *arch = "conv3x3:4,bn,maxpool2,dense:4";
    ann_trainer a, b;
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&a, arch, &c, 12, 12, train.n), SB_OK);
    CU_ASSERT_EQUAL_FATAL(ann_train(&a, &c, &train, &test, NULL, NULL), SB_OK);
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&b, arch, &c, 12, 12, train.n), SB_OK);
    c.stop_after = 1;
    for (int run = 0; run < 3; run++)
        CU_ASSERT_EQUAL_FATAL(ann_train(&b, &c, &train, &test, NULL, NULL), SB_OK);
    CU_ASSERT_EQUAL(b.epochs_done, 3);
    CU_ASSERT_EQUAL(memcmp(a.model.params, b.model.params, a.model.nparams * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(a.model.state, b.model.state, a.model.nstate * sizeof(float)), 0);
    ann_trainer_free(&a);
    ann_trainer_free(&b);
    sb_dataset_free(&train);
    sb_dataset_free(&test);
}

/* The LSTM's own exp, sigmoid and tanh against libm in double. */
static void test_fast_math_accuracy(void)
{
    double worst_exp = 0, worst_sig = 0, worst_tanh = 0;
    for (int k = -870000; k <= 880000; k += 7) {
        float x = (float)k * 1e-4f;
        double e = exp((double)x), rel = fabs(sb_expf(x) - e) / e;
        worst_exp = rel > worst_exp ? rel : worst_exp;
        double sg = fabs(sb_sigmoidf(x) - 1 / (1 + exp(-(double)x)));
        worst_sig = sg > worst_sig ? sg : worst_sig;
        double th = fabs(sb_tanhf(x) - tanh((double)x));
        worst_tanh = th > worst_tanh ? th : worst_tanh;
    }
    printf("\n    worst: exp relative %.2e, sigmoid absolute %.2e, tanh absolute %.2e ", worst_exp,
           worst_sig, worst_tanh);
    CU_ASSERT(worst_exp < 2e-7);
    CU_ASSERT(worst_sig < 2e-7);
    CU_ASSERT(worst_tanh < 3e-7);
    CU_ASSERT(sb_sigmoidf(-200.0f) >= 0 && sb_sigmoidf(-200.0f) < 1e-37f); /* clamped, no inf or NaN */
    CU_ASSERT(sb_sigmoidf(200.0f) == 1.0f);
    CU_ASSERT(sb_tanhf(100.0f) == 1.0f && sb_tanhf(-100.0f) == -1.0f);
}

static int hook_calls;
static sb_status count_hook(void *user, ann_trainer *t)
{
    (void)user;
    (void)t;
    hook_calls++;
    return SB_OK;
}

/* A stop request ends training after the current batch with the hook run;
 * training on from there ends where an uninterrupted run ends. */
static void test_stop_request_mid_epoch(void)
{
    sb_dataset train, test;
    make_quadrants(&train, 600, 7);
    make_quadrants(&test, 100, 8);
    ann_train_cfg c = small_cfg();
    const char *arch = "conv3x3:4,maxpool2,dense:4";
    ann_trainer a, b;
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&a, arch, &c, 12, 12, train.n), SB_OK);
    CU_ASSERT_EQUAL_FATAL(ann_train(&a, &c, &train, &test, NULL, NULL), SB_OK);
    CU_ASSERT_EQUAL_FATAL(ann_trainer_init(&b, arch, &c, 12, 12, train.n), SB_OK);
    hook_calls = 0;
    sb_set_stop_request(1);
    CU_ASSERT_EQUAL(ann_train(&b, &c, &train, &test, count_hook, NULL), SB_EINTERRUPTED);
    sb_set_stop_request(0);
    CU_ASSERT_EQUAL(hook_calls, 1);
    CU_ASSERT_EQUAL(b.epochs_done, 0);
    CU_ASSERT_EQUAL(b.next_image, 32); /* one batch */
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), "after 32 images"));
    CU_ASSERT_EQUAL_FATAL(ann_train(&b, &c, &train, &test, count_hook, NULL), SB_OK);
    CU_ASSERT_EQUAL(b.epochs_done, 2);
    CU_ASSERT_EQUAL(memcmp(a.model.params, b.model.params, a.model.nparams * sizeof(float)), 0);
    CU_ASSERT_DOUBLE_EQUAL(a.history[0].loss, b.history[0].loss, 1e-12);
    ann_trainer_free(&a);
    ann_trainer_free(&b);
    sb_dataset_free(&train);
    sb_dataset_free(&test);
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("ann models", NULL, NULL);
    CU_add_test(s, "reference models: layers and parameter counts", test_reference_sizes);
    CU_add_test(s, "implicit ReLU goes after a following bn", test_implicit_relu_after_bn);
    CU_add_test(s, "bad architectures name the token", test_bad_arch);
    s = CU_add_suite("ann optimisers", NULL, NULL);
    CU_add_test(s, "SGD with Nesterov momentum and weight decay", test_sgd_nesterov_step);
    CU_add_test(s, "Adam's first step", test_adam_step);
    CU_add_test(s, "one-cycle and cosine schedules", test_onecycle_schedule);
    CU_add_test(s, "vectorised exp, sigmoid, tanh", test_fast_math_accuracy);
    s = CU_add_suite("ann training", NULL, NULL);
    CU_add_test(s, "a small CNN learns 2000 images; same seed, same weights", test_small_model_learns_and_repeats);
    CU_add_test(s, "epoch by epoch equals uninterrupted", test_stop_and_continue_equals_uninterrupted);
    CU_add_test(s, "a stop request mid-epoch, then on, equals uninterrupted", test_stop_request_mid_epoch);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
