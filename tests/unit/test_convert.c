/* ANN -> SNN conversion: hand-built networks whose spike counts are known
 * exactly, the pooling gate, normalisation and the layers it refuses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "spikebridge/convert.h"

/* Weights and biases of layer i, from PyTorch-ordered values. */
static void set_layer(ann_model *m, int i, const float *w, const float *b)
{
    ann_tensor t[4];
    ann_layer_tensors(&m->layers[i], t);
    size_t nw = m->layers[i].nparams - (size_t)m->layers[i].units;
    memcpy(t[0].data, w, nw * sizeof(float));
    memcpy(t[1].data, b, (size_t)m->layers[i].units * sizeof(float));
}

static void run_steps(cv_net *net, int T)
{
    for (int t = 0; t < T; t++)
        cv_net_step(net);
}

/* Currents that are multiples of 1/8 add up exactly in float, so a neuron
 * with current a fires exactly floor(T a) times in T steps, and the output
 * integrates exactly W2 * counts + T * b2. */
static void test_dense_counts_exact(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "dense:4,dense:2", (ann_shape){1, 1, 2}, 2), SB_OK);
    const float w1[8] = {0.25f, 0, 0.5f, 0, 0.25f, 0, 0.125f, 0}, b1[4] = {0, 0, 0.125f, 0.5f};
    const float w2[8] = {1, 0, 0, 0, 0, 0.5f, 0, 0.25f}, b2[2] = {0.0625f, 0};
    set_layer(&m, 0, w1, b1);
    set_layer(&m, 2, w2, b2);
    cv_net net;
    CU_ASSERT_EQUAL_FATAL(cv_net_build(&net, &m), SB_OK);
    CU_ASSERT_EQUAL_FATAL(net.nstages, 2);
    CU_ASSERT_EQUAL(net.stages[0].kind, CV_IF);
    CU_ASSERT_EQUAL(net.stages[1].kind, CV_OUT);
    CU_ASSERT_STRING_EQUAL(net.stages[0].name, "00_dense");
    const float x[4] = {1, 0, 0.5f, 0}; /* image 1: half the weight current */
    cv_net_reset(&net, x, 2);
    run_steps(&net, 100);
    /* image 0: currents 0.25, 0.5, 0.375, 0.625 */
    const float want0[4] = {25, 50, 37, 62}, want1[4] = {12, 25, 25, 56};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(net.stages[0].count[i], want0[i]);
        CU_ASSERT_EQUAL(net.stages[0].count[4 + i], want1[i]);
    }
    const float *s = cv_net_scores(&net);
    CU_ASSERT_EQUAL(s[0], 25 + 100 * 0.0625f);
    CU_ASSERT_EQUAL(s[1], 0.5f * 50 + 0.25f * 62);
    CU_ASSERT_EQUAL(s[2], 12 + 100 * 0.0625f);
    CU_ASSERT_EQUAL(s[3], 0.5f * 25 + 0.25f * 56);
    /* every spike of the hidden layer reaches both outputs */
    CU_ASSERT_EQUAL(cv_net_synops(&net, 0), 2 * (25 + 50 + 37 + 62));
    CU_ASSERT_EQUAL(cv_net_synops(&net, 1), 2 * (12 + 25 + 25 + 56));
    /* a reset starts again from zero */
    cv_net_reset(&net, x, 1);
    run_steps(&net, 8);
    CU_ASSERT_EQUAL(net.stages[0].count[1], 4);
    CU_ASSERT_EQUAL(net.t, 8);
    cv_net_free(&net);
    ann_model_free(&m);
}

/* The window's output fires with its fastest input (0.5 per step) once
 * that one leads, which it does from its first spike on. */
static void test_pool_gate_follows_fastest(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "conv1x1:1,maxpool2,dense:1", (ann_shape){1, 2, 2}, 1),
                          SB_OK);
    const float one = 1, zero = 0;
    set_layer(&m, 0, &one, &zero);
    set_layer(&m, 3, &one, &zero);
    cv_net net;
    CU_ASSERT_EQUAL_FATAL(cv_net_build(&net, &m), SB_OK);
    CU_ASSERT_EQUAL_FATAL(net.nstages, 3);
    CU_ASSERT_EQUAL(net.stages[1].kind, CV_POOL);
    CU_ASSERT_PTR_NULL(net.stages[0].fanout); /* its spikes go through the gate */
    CU_ASSERT_EQUAL(net.stages[1].fanout[0], 1);
    const float x[4] = {0.25f, 0.5f, 0.125f, 0.375f};
    cv_net_reset(&net, x, 1);
    run_steps(&net, 100);
    CU_ASSERT_EQUAL(net.stages[0].count[1], 50);
    CU_ASSERT_EQUAL(net.stages[1].count[0], 50);
    CU_ASSERT_EQUAL(cv_net_scores(&net)[0], 50);
    CU_ASSERT_EQUAL(cv_net_synops(&net, 0), 50);
    cv_net_free(&net);
    ann_model_free(&m);
}

/* A 3x3 conv with padding 1 on 4x4: corner inputs reach 4 outputs, edges
 * 6, the middle 9, each in every filter. */
static void test_conv_fanout(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "conv1x1:2,conv3x3:3,dense:2", (ann_shape){1, 4, 4}, 1),
                          SB_OK);
    cv_net net;
    CU_ASSERT_EQUAL_FATAL(cv_net_build(&net, &m), SB_OK);
    const uint32_t *f = net.stages[0].fanout;
    CU_ASSERT_EQUAL(f[0], 4 * 3);
    CU_ASSERT_EQUAL(f[1], 6 * 3);
    CU_ASSERT_EQUAL(f[5], 9 * 3);
    CU_ASSERT_EQUAL(f[16 + 15], 4 * 3); /* second channel, last corner */
    CU_ASSERT_EQUAL(net.stages[1].fanout[7], 2);
    cv_net_free(&net);
    ann_model_free(&m);
}

/* The event-driven conv (each spike adds its weights to its targets) gives
 * the currents of the ANN's own conv kernel applied to the 0/1 spikes. */
static void test_conv_events_equal_ann_kernel(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "conv1x1:3,conv3x3:5,dense:2", (ann_shape){1, 6, 7}, 2), SB_OK);
    ann_model_init(&m, 7, 0);
    cv_net net;
    CU_ASSERT_EQUAL_FATAL(cv_net_build(&net, &m), SB_OK);
    CU_ASSERT_EQUAL_FATAL(net.nstages, 3);
    float x[2 * 42];
    for (int i = 0; i < 84; i++) /* about half the first stage fires at step 1 */
        x[i] = (float)((i * 37) % 11) - 3.0f;
    cv_net_reset(&net, x, 2);
    cv_net_step(&net);
    const cv_stage *in = &net.stages[0], *out = &net.stages[1];
    int fired = 0;
    for (size_t i = 0; i < 2 * in->n; i++)
        fired += in->spike[i] > 0;
    CU_ASSERT(fired > 10 && fired < 2 * (int)in->n - 10);
    float want[2 * 5 * 42];
    ann_ctx ctx = {0, 0, 0, 0, m.work};
    ann_conv_ops.forward(&m.layers[2], in->spike, want, 2, &ctx);
    double worst = 0; /* after one step, v = current - spike */
    for (size_t i = 0; i < 2 * out->n; i++)
        worst = fmax(worst, fabs((double)out->v[i] + out->spike[i] - want[i]));
    CU_ASSERT(worst < 1e-5);
    if (worst >= 1e-5)
        printf("\n    worst current difference %g ", worst);
    cv_net_free(&net);
    ann_model_free(&m);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default (linear) on a sorted copy. */
static double reference_percentile(const float *v, uint64_t n, double p)
{
    float *s = malloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_float);
    double pos = p / 100 * (double)(n - 1), lo = floor(pos);
    uint64_t k = (uint64_t)lo;
    double r = k + 1 < n ? s[k] + (pos - lo) * ((double)s[k + 1] - s[k]) : s[k];
    free(s);
    return r;
}

static void test_percentile_matches_sorting(void)
{
    const uint64_t sizes[] = {1, 2, 3, 10, 1001, 4096};
    const double ps[] = {0, 50, 90, 99.9, 100};
    double worst = 0;
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (size_t b = 0; b < sizeof ps / sizeof ps[0]; b++) {
            uint64_t n = sizes[a];
            float *v = malloc(n * sizeof *v);
            for (uint64_t i = 0; i < n; i++) /* duplicates on purpose */
                v[i] = (float)((i * 7919u + a * 31u) % 97u) / 8.0f;
            double want = reference_percentile(v, n, ps[b]), got = cv_percentile(v, n, ps[b]);
            worst = fabs(got - want) > worst ? fabs(got - want) : worst;
            free(v);
        }
    CU_ASSERT(worst < 1e-9);
    if (worst >= 1e-9)
        printf("\n    worst percentile difference %g ", worst);
}

/* lambda = the percentile of the non-zero activations; after scaling,
 * rates are activation / lambda (below 1), and the logits' argmax stays. */
static void test_normalisation_scales_and_rates_follow(void)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, "dense:3,dense:2", (ann_shape){1, 1, 1}, 4), SB_OK);
    const float w1[3] = {2, -1, 3}, b1[3] = {0, 0, 1}, w2[6] = {1, 0, 0, 0, 1, -1}, b2[2] = {0, 0.5f};
    set_layer(&m, 0, w1, b1);
    set_layer(&m, 2, w2, b2);
    cv_net net;
    CU_ASSERT_EQUAL_FATAL(cv_net_build(&net, &m), SB_OK);
    const float x[4] = {0.5f, 1, 1.5f, 2};
    double lambda[2];
    CU_ASSERT_EQUAL_FATAL(cv_normalise(&net, x, 4, 100, lambda), SB_OK);
    /* non-zero activations: 1, 2, 3, 4 (unit 0) and 2.5, 4, 5.5, 7 (unit 2): the maximum is 7 */
    CU_ASSERT_DOUBLE_EQUAL(lambda[0], 7, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(lambda[1], 1, 0);
    cv_scale(&net, lambda);
    CU_ASSERT_DOUBLE_EQUAL(m.layers[0].params[0], 2.0 / 7, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(m.layers[0].params[5], 1.0 / 7, 1e-6); /* bias of unit 2 */
    CU_ASSERT_DOUBLE_EQUAL(m.layers[2].params[0], 7, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(m.layers[2].params[6], 0, 0); /* output biases stay */
    CU_ASSERT_DOUBLE_EQUAL(m.layers[2].params[7], 0.5, 0);
    cv_net_reset(&net, x, 4);
    const int T = 1000;
    run_steps(&net, T);
    for (int b = 0; b < 4; b++) {
        CU_ASSERT_DOUBLE_EQUAL(net.stages[0].count[b * 3 + 0] / T, 2 * x[b] / 7, 1.0 / T + 1e-6);
        CU_ASSERT_EQUAL(net.stages[0].count[b * 3 + 1], 0);
        CU_ASSERT_DOUBLE_EQUAL(net.stages[0].count[b * 3 + 2] / T, (3 * x[b] + 1) / 7, 1.0 / T + 1e-6);
    }
    cv_net_free(&net);
    ann_model_free(&m);
}

static void expect_refused(const char *arch, ann_shape in, const char *fragment)
{
    ann_model m;
    CU_ASSERT_EQUAL_FATAL(ann_model_build(&m, arch, in, 1), SB_OK);
    cv_net net;
    CU_ASSERT_EQUAL(cv_net_build(&net, &m), SB_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), fragment));
    if (!strstr(sb_last_error(), fragment))
        printf("\n    '%s' gave: %s ", arch, sb_last_error());
    ann_model_free(&m);
}

static void test_refuses_what_does_not_convert(void)
{
    expect_refused("lstm:8,dense:2", (ann_shape){1, 4, 4}, "layer 0 (lstm)");
    expect_refused("conv3x3:4,bn,dense:2", (ann_shape){1, 4, 4}, "layer 1 (batchnorm)");
    expect_refused("maxpool2,dense:2", (ann_shape){1, 4, 4}, "pools the analog input");
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("ann to snn conversion", NULL, NULL);
    CU_add_test(s, "dense IF network: counts and output exactly known", test_dense_counts_exact);
    CU_add_test(s, "max-pool gate passes the fastest input", test_pool_gate_follows_fastest);
    CU_add_test(s, "conv fan-out counts border effects", test_conv_fanout);
    CU_add_test(s, "event-driven conv equals the ANN kernel on spikes", test_conv_events_equal_ann_kernel);
    CU_add_test(s, "percentile equals sorting's", test_percentile_matches_sorting);
    CU_add_test(s, "normalisation: lambda, scaled weights, rates", test_normalisation_scales_and_rates_follow);
    CU_add_test(s, "bn, lstm and pooled input are refused", test_refuses_what_does_not_convert);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
