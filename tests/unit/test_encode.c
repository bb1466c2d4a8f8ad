/* Spike encoders against what they promise: counts, times, rates. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "spikebridge/data.h"

enum { PIX = 784 };

static void make_image(uint8_t *img, unsigned salt)
{
    for (int i = 0; i < PIX; i++) {
        int r = i / 28, c = i % 28;
        int inside = r > 4 && r < 24 && c > 8 && c < 20;
        img[i] = inside ? (uint8_t)((i * 37u + salt * 11u) % 256) : 0;
    }
}

static sb_encoder_params params(void)
{
    sb_encoder_params p = {0};
    p.seed = 5;
    p.pixels = PIX;
    p.duration_ms = 350;
    p.dt_ms = 0.5;
    p.max_rate_hz = 63.75;
    p.threshold = 0;
    p.neurons = 20;
    p.v_th = 3;
    return p;
}

static void assert_sorted_in_window(const sb_spikes *s, double onset, double duration)
{
    for (uint64_t k = 0; k < s->n; k++) {
        CU_ASSERT(s->t[k] >= onset && s->t[k] < onset + duration);
        if (k)
            CU_ASSERT(s->t[k - 1] < s->t[k] || (s->t[k - 1] == s->t[k] && s->ids[k - 1] < s->ids[k]));
    }
}

/* The study's claim: the count is sum(W x)/V_th, here within one spike. */
static void test_integrate_count_matches_drive(void)
{
    uint8_t img[PIX];
    make_image(img, 1);
    sb_encoder_params p = params();
    float *w = malloc(sizeof(float) * p.neurons * PIX);
    sb_encoder_random_weights(w, p.neurons, PIX, 9, 0.0, 0.5);
    p.weights = w;
    sb_spikes s = {0};
    CU_ASSERT_EQUAL_FATAL(sb_encode_image(SB_ENC_INTEGRATE, &p, img, 3, 1000.0, &s), SB_OK);
    assert_sorted_in_window(&s, 1000.0, p.duration_ms);
    int checked = 0;
    double worst = 0;
    for (uint32_t j = 0; j < p.neurons; j++) {
        double drive = 0;
        for (int i = 0; i < PIX; i++)
            drive += w[j * PIX + i] * (img[i] / 255.0);
        uint64_t count = 0;
        for (uint64_t k = 0; k < s.n; k++)
            count += s.ids[k] == j;
        double diff = fabs((double)count - drive / p.v_th);
        worst = diff > worst ? diff : worst;
        CU_ASSERT(diff < 1.0);
        checked += count > 0;
    }
    CU_ASSERT(checked > (int)p.neurons / 2);
    printf("\n    worst |count - sum(Wx)/v_th| = %.4f spikes ", worst);
    sb_spikes_free(&s);
    free(w);
}

/* One neuron, one pixel: the crossing times are known in closed form. */
static void test_integrate_exact_times(void)
{
    uint8_t img[PIX] = {0};
    img[10] = 255; /* x = 1 during slot 10 */
    sb_encoder_params p = params();
    p.neurons = 1;
    p.v_th = 0.4;
    float *w = calloc(PIX, sizeof(float));
    w[10] = 1.0f; /* charge 1 over the slot: crossings at 0.4 and 0.8 of it */
    p.weights = w;
    sb_spikes s = {0};
    CU_ASSERT_EQUAL_FATAL(sb_encode_image(SB_ENC_INTEGRATE, &p, img, 0, 0.0, &s), SB_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    double slot = p.duration_ms / PIX;
    CU_ASSERT_DOUBLE_EQUAL(s.t[0], (10 + 0.4) * slot, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.t[1], (10 + 0.8) * slot, 1e-9);
    sb_spikes_free(&s);
    free(w);
}

static void test_latency_times(void)
{
    uint8_t img[PIX] = {0};
    img[0] = 255;
    img[5] = 51;
    img[7] = 20; /* at the threshold: silent */
    sb_encoder_params p = params();
    p.threshold = 20;
    sb_spikes s = {0};
    CU_ASSERT_EQUAL_FATAL(sb_encode_image(SB_ENC_LATENCY, &p, img, 0, 500.0, &s), SB_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_EQUAL(s.ids[0], 0);
    CU_ASSERT_DOUBLE_EQUAL(s.t[0], 500.0, 1e-12);
    CU_ASSERT_EQUAL(s.ids[1], 5);
    CU_ASSERT_DOUBLE_EQUAL(s.t[1], 500.0 + 350.0 * (1 - 51 / 255.0), 1e-9);
    sb_spikes_free(&s);
}

/* Mean count of a Bernoulli process per pixel = steps * p, on the dt grid,
 * at most one spike per step; and the stream belongs to the image. */
static void test_poisson_statistics(void)
{
    uint8_t img[PIX];
    for (int i = 0; i < PIX; i++)
        img[i] = (uint8_t)(i % 4 == 0 ? 255 : i % 4 == 1 ? 128 : 0);
    sb_encoder_params p = params();
    sb_spikes s = {0};
    const int images = 20;
    for (int k = 0; k < images; k++)
        CU_ASSERT_EQUAL_FATAL(sb_encode_image(SB_ENC_POISSON, &p, img, (uint64_t)k, 0.0, &s), SB_OK);
    double expect = 0;
    for (int i = 0; i < PIX; i++)
        expect += 700 * (img[i] / 255.0 * 63.75 * 0.5e-3);
    expect *= images;
    double sd = sqrt(expect);
    CU_ASSERT(fabs((double)s.n - expect) < 4 * sd);
    printf("\n    poisson: %llu spikes, expected %.0f +- %.0f ", (unsigned long long)s.n, expect, sd);
    for (uint64_t k = 0; k < s.n; k++) {
        double steps = s.t[k] / p.dt_ms;
        CU_ASSERT_EQUAL(steps, floor(steps));
        CU_ASSERT(img[s.ids[k]] != 0);
    }
    sb_spikes_free(&s);
}

static void test_poisson_belongs_to_image(void)
{
    uint8_t img[PIX];
    make_image(img, 2);
    sb_encoder_params p = params();
    sb_spikes a = {0}, b = {0}, c = {0};
    sb_encode_image(SB_ENC_POISSON, &p, img, 41, 0.0, &a);
    sb_encode_image(SB_ENC_POISSON, &p, img, 41, 0.0, &b);
    sb_encode_image(SB_ENC_POISSON, &p, img, 42, 0.0, &c);
    CU_ASSERT_EQUAL_FATAL(a.n, b.n);
    for (uint64_t k = 0; k < a.n; k++)
        CU_ASSERT(a.ids[k] == b.ids[k] && a.t[k] == b.t[k]);
    int differ = a.n != c.n;
    for (uint64_t k = 0; !differ && k < a.n; k++)
        differ = a.ids[k] != c.ids[k] || a.t[k] != c.t[k];
    CU_ASSERT(differ);
    assert_sorted_in_window(&a, 0.0, p.duration_ms);
    sb_spikes_free(&a);
    sb_spikes_free(&b);
    sb_spikes_free(&c);
}

/* rate x dt = 1: every step of a white pixel spikes. */
static void test_poisson_saturated(void)
{
    uint8_t img[PIX] = {0};
    img[3] = 255;
    sb_encoder_params p = params();
    p.max_rate_hz = 2000;
    sb_spikes s = {0};
    CU_ASSERT_EQUAL_FATAL(sb_encode_image(SB_ENC_POISSON, &p, img, 0, 0.0, &s), SB_OK);
    CU_ASSERT_EQUAL(s.n, 700);
    sb_spikes_free(&s);
}

static void test_black_image_is_silent(void)
{
    uint8_t img[PIX] = {0};
    sb_encoder_params p = params();
    float *w = calloc((size_t)p.neurons * PIX, sizeof(float));
    p.weights = w;
    sb_spikes s = {0};
    for (int k = 0; k < SB_ENC_COUNT_; k++)
        CU_ASSERT_EQUAL(sb_encode_image((sb_encoder_kind)k, &p, img, 0, 0.0, &s), SB_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    sb_spikes_free(&s);
    free(w);
}

/* The bucket sort against a plain insertion sort, with many ties and a
 * prefix that must stay untouched. */
static void test_sort_matches_reference(void)
{
    sb_rng r;
    sb_rng_init(&r, 1, SB_STREAM_TEST, 0, 0);
    for (int trial = 0; trial < 20; trial++) {
        sb_spikes s = {0};
        int n = 1 + (int)(sb_rng_u32(&r) % 3000), grid = 1 + trial * 7;
        sb_spikes_push(&s, 999, -1.0); /* prefix */
        for (int k = 0; k < n; k++)
            sb_spikes_push(&s, sb_rng_u32(&r) % 50, (double)(sb_rng_u32(&r) % (uint32_t)grid) * 0.5 + 100);
        uint64_t *ids = malloc(s.n * sizeof *ids);
        double *t = malloc(s.n * sizeof *t);
        for (uint64_t k = 0; k < s.n; k++) {
            ids[k] = s.ids[k];
            t[k] = s.t[k];
        }
        for (uint64_t k = 2; k < s.n; k++)
            for (uint64_t j = k; j > 1 && (t[j] < t[j - 1] || (t[j] == t[j - 1] && ids[j] < ids[j - 1])); j--) {
                double tt = t[j]; t[j] = t[j - 1]; t[j - 1] = tt;
                uint64_t ii = ids[j]; ids[j] = ids[j - 1]; ids[j - 1] = ii;
            }
        CU_ASSERT_EQUAL_FATAL(sb_spikes_sort(&s, 1), SB_OK);
        int same = 1;
        for (uint64_t k = 0; k < s.n; k++)
            same &= s.ids[k] == ids[k] && s.t[k] == t[k];
        CU_ASSERT(same);
        free(ids);
        free(t);
        sb_spikes_free(&s);
    }
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("encoders", NULL, NULL);
    CU_add_test(s, "integrate: count within one spike of sum(Wx)/V_th", test_integrate_count_matches_drive);
    CU_add_test(s, "integrate: exact threshold-crossing times", test_integrate_exact_times);
    CU_add_test(s, "latency: t = duration (1 - pixel/255), threshold", test_latency_times);
    CU_add_test(s, "poisson: mean count and dt grid", test_poisson_statistics);
    CU_add_test(s, "poisson: stream belongs to the image", test_poisson_belongs_to_image);
    CU_add_test(s, "poisson: saturated rate spikes every step", test_poisson_saturated);
    CU_add_test(s, "a black image is silent", test_black_image_is_silent);
    CU_add_test(s, "spike sort by (time, id) matches a reference", test_sort_matches_reference);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
