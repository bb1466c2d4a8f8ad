/* Image views (image, rows, columns) and augmentation: exact layouts,
 * exact whole-pixel shifts, exact quarter turns, and the random draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "spikebridge/data.h"

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------------ views */

static float norm(uint8_t v, float mean, float std) { return (float)((v / 255.0 - mean) / std); }

static void test_views_layout_and_values(void)
{
    /* two 3x4 images: the second is the first plus 100 */
    uint8_t px[2 * 12];
    for (int i = 0; i < 12; i++) {
        px[i] = (uint8_t)(i * 20 + 5);
        px[12 + i] = (uint8_t)(i * 20 + 105);
    }
    const float mean = 0.1307f, std = 0.3081f;
    float img[24], rows[24], cols[24];
    sb_view_images(px, 2, 3, 4, SB_VIEW_IMAGE, mean, std, img);
    sb_view_images(px, 2, 3, 4, SB_VIEW_ROWS, mean, std, rows);
    sb_view_images(px, 2, 3, 4, SB_VIEW_COLS, mean, std, cols);
    int exact = 1;
    for (int n = 0; n < 2; n++)
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) {
                float want = norm(px[n * 12 + r * 4 + c], mean, std);
                exact &= img[n * 12 + r * 4 + c] == want;
                exact &= rows[n * 12 + r * 4 + c] == want;
                /* columns view: step c (of 4) holds the 3 values of column c */
                exact &= cols[n * 12 + c * 3 + r] == want;
            }
    CU_ASSERT(exact);
    /* known values: 0 -> -mean/std, 255 -> (1 - mean)/std, and identity */
    const uint8_t ends[2] = {0, 255};
    float e[2];
    sb_view_images(ends, 1, 1, 2, SB_VIEW_IMAGE, 0.5f, 0.5f, e);
    CU_ASSERT_EQUAL(e[0], -1.0f);
    CU_ASSERT_EQUAL(e[1], 1.0f);
    sb_view_images(ends, 1, 2, 1, SB_VIEW_COLS, 0.0f, 1.0f, e);
    CU_ASSERT_EQUAL(e[0], 0.0f);
    CU_ASSERT_EQUAL(e[1], 1.0f);
}

/* Enough images to take the OpenMP path: same values as one at a time. */
static void test_views_many_images(void)
{
    enum { N = 200, R = 28, C = 28, S = R * C };
    uint8_t *px = malloc(N * S);
    float *all = malloc(sizeof(float) * N * S), one[S];
    for (int i = 0; i < N * S; i++)
        px[i] = (uint8_t)((i * 7919u) >> 3);
    sb_view_images(px, N, R, C, SB_VIEW_COLS, 0.2f, 0.3f, all);
    int same = 1;
    for (int n = 0; n < N; n++) {
        sb_view_images(px + n * S, 1, R, C, SB_VIEW_COLS, 0.2f, 0.3f, one);
        same &= memcmp(one, all + n * S, sizeof one) == 0;
    }
    CU_ASSERT(same);
    free(px);
    free(all);
}

/* ------------------------------------------------------------------ augmentation */

static void test_augment_identity_draws_nothing(void)
{
    uint8_t in[12], out[12];
    for (int i = 0; i < 12; i++)
        in[i] = (uint8_t)(i * 21 + 1);
    sb_rng rng, fresh;
    sb_rng_init(&rng, 4, SB_STREAM_ANN_AUGMENT, 9, 0);
    sb_rng_init(&fresh, 4, SB_STREAM_ANN_AUGMENT, 9, 0);
    sb_augment_image(in, out, 3, 4, 0, 0.0f, &rng);
    CU_ASSERT(memcmp(in, out, sizeof in) == 0);
    CU_ASSERT_EQUAL(sb_rng_u32(&rng), sb_rng_u32(&fresh));
    /* negative amounts mean none as well */
    sb_augment_image(in, out, 3, 4, -2, -5.0f, &rng);
    CU_ASSERT(memcmp(in, out, sizeof in) == 0);
    CU_ASSERT_EQUAL(sb_rng_u32(&rng), sb_rng_u32(&fresh));
}

/* The documented draw order: dx, dy (u32 % (2 shift + 1) - shift), then
 * one uniform for the angle. */
static void test_augment_draw_order(void)
{
    enum { R = 9, C = 11 };
    uint8_t in[R * C], out[R * C], want[R * C];
    for (int i = 0; i < R * C; i++)
        in[i] = (uint8_t)(i * 37 % 256);
    for (int trial = 0; trial < 20; trial++) {
        sb_rng a, b;
        sb_rng_init(&a, 8, SB_STREAM_ANN_AUGMENT, 1, (uint64_t)trial * 3);
        b = a;
        sb_augment_image(in, out, R, C, 3, 15.0f, &a);
        int dx = (int)(sb_rng_u32(&b) % 7) - 3, dy = (int)(sb_rng_u32(&b) % 7) - 3;
        double rad = (2 * sb_rng_uniform(&b) - 1) * 15.0 * PI / 180;
        sb_rotate_shift_image(in, want, R, C, dx, dy, rad);
        CU_ASSERT(memcmp(out, want, sizeof out) == 0);
        CU_ASSERT_EQUAL(sb_rng_u32(&a), sb_rng_u32(&b));
    }
    /* shift only: two draws; rotation only: one */
    sb_rng a, b;
    sb_rng_init(&a, 8, SB_STREAM_ANN_AUGMENT, 2, 0);
    b = a;
    sb_augment_image(in, out, R, C, 2, 0.0f, &a);
    sb_rng_u32(&b);
    sb_rng_u32(&b);
    CU_ASSERT_EQUAL(sb_rng_u32(&a), sb_rng_u32(&b));
    sb_augment_image(in, out, R, C, 0, 10.0f, &a);
    sb_rng_u32(&b);
    CU_ASSERT_EQUAL(sb_rng_u32(&a), sb_rng_u32(&b));
}

/* A single bright pixel far from the border lands within +-shift and
 * keeps its value exactly; every shift in range occurs. */
static void test_augment_shift_moves_pixels_exactly(void)
{
    enum { R = 15, C = 15, SHIFT = 2 };
    uint8_t in[R * C] = {0}, out[R * C];
    in[7 * C + 6] = 200;
    int seen[2 * SHIFT + 1][2 * SHIFT + 1] = {{0}};
    int ok = 1;
    for (int trial = 0; trial < 400; trial++) {
        sb_rng rng;
        sb_rng_init(&rng, 3, SB_STREAM_ANN_AUGMENT, 5, (uint64_t)trial * 2);
        sb_augment_image(in, out, R, C, SHIFT, 0.0f, &rng);
        int count = 0, where = -1;
        for (int i = 0; i < R * C; i++)
            if (out[i]) {
                count++;
                where = i;
            }
        ok &= count == 1 && out[where] == 200;
        if (count != 1)
            continue;
        int dy = where / C - 7, dx = where % C - 6;
        ok &= abs(dx) <= SHIFT && abs(dy) <= SHIFT;
        if (abs(dx) <= SHIFT && abs(dy) <= SHIFT)
            seen[dy + SHIFT][dx + SHIFT]++;
    }
    CU_ASSERT(ok);
    int all = 1;
    for (int i = 0; i < 2 * SHIFT + 1; i++)
        for (int j = 0; j < 2 * SHIFT + 1; j++)
            all &= seen[i][j] > 0;
    CU_ASSERT(all);
}

/* Directions: +dx moves right, +dy moves down, zeros come in at the edge. */
static void test_shift_direction_and_border(void)
{
    const uint8_t in[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    uint8_t out[6];
    sb_rotate_shift_image(in, out, 2, 3, 1, 0, 0.0);
    const uint8_t right[6] = {0, 1, 2, 0, 4, 5};
    CU_ASSERT(memcmp(out, right, 6) == 0);
    sb_rotate_shift_image(in, out, 2, 3, 0, 1, 0.0);
    const uint8_t down[6] = {0, 0, 0, 1, 2, 3};
    CU_ASSERT(memcmp(out, down, 6) == 0);
    sb_rotate_shift_image(in, out, 2, 3, -1, -1, 0.0);
    const uint8_t up_left[6] = {5, 6, 0, 0, 0, 0};
    CU_ASSERT(memcmp(out, up_left, 6) == 0);
    sb_rotate_shift_image(in, out, 2, 3, 5, 0, 0.0);
    const uint8_t gone[6] = {0};
    CU_ASSERT(memcmp(out, gone, 6) == 0);
}

static void test_augment_same_state_same_output(void)
{
    enum { R = 28, C = 28 };
    uint8_t in[R * C], a[R * C], b[R * C], c[R * C];
    for (int i = 0; i < R * C; i++)
        in[i] = (uint8_t)((i / C > 5 && i / C < 22 && i % C > 8 && i % C < 19) ? 40 + i % 200 : 0);
    sb_rng r1, r2, r3;
    sb_rng_init(&r1, 6, SB_STREAM_ANN_AUGMENT, 7, 11);
    sb_rng_init(&r2, 6, SB_STREAM_ANN_AUGMENT, 7, 11);
    sb_rng_init(&r3, 6, SB_STREAM_ANN_AUGMENT, 7, 14);
    sb_augment_image(in, a, R, C, 2, 10.0f, &r1);
    sb_augment_image(in, b, R, C, 2, 10.0f, &r2);
    sb_augment_image(in, c, R, C, 2, 10.0f, &r3);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    CU_ASSERT(memcmp(a, c, sizeof a) != 0);
}

/* Quarter turns of a 5x5 grid map pixels onto pixels: counter-clockwise by
 * 90 degrees, out[r][c] = in[c][4 - r]; by -90, out[r][c] = in[4 - c][r];
 * by 180, out[r][c] = in[4 - r][4 - c]. Interpolation weights are 1 up to
 * ~1e-16, so the rounded bytes must be exact. */
static void test_rotation_quarter_turns_exact(void)
{
    uint8_t in[25], out[25];
    for (int i = 0; i < 25; i++)
        in[i] = (uint8_t)(i * 10 + 3); /* all distinct: asymmetric */
    int ccw = 1, cw = 1, half = 1;
    sb_rotate_shift_image(in, out, 5, 5, 0, 0, PI / 2);
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++)
            ccw &= out[r * 5 + c] == in[c * 5 + (4 - r)];
    sb_rotate_shift_image(in, out, 5, 5, 0, 0, -PI / 2);
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++)
            cw &= out[r * 5 + c] == in[(4 - c) * 5 + r];
    sb_rotate_shift_image(in, out, 5, 5, 0, 0, PI);
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++)
            half &= out[r * 5 + c] == in[(4 - r) * 5 + (4 - c)];
    CU_ASSERT(ccw);
    CU_ASSERT(cw);
    CU_ASSERT(half);
    /* the right-middle pixel goes to the top-middle: counter-clockwise */
    uint8_t dot[25] = {0};
    dot[2 * 5 + 4] = 255;
    sb_rotate_shift_image(dot, out, 5, 5, 0, 0, PI / 2);
    CU_ASSERT_EQUAL(out[0 * 5 + 2], 255);
    /* rotation then shift: the same turn moved one column right */
    sb_rotate_shift_image(dot, out, 5, 5, 1, 0, PI / 2);
    CU_ASSERT_EQUAL(out[0 * 5 + 3], 255);
    /* an even size turns about the centre between pixels: 4x4, 90 degrees */
    uint8_t in4[16], out4[16];
    for (int i = 0; i < 16; i++)
        in4[i] = (uint8_t)(i * 15 + 1);
    sb_rotate_shift_image(in4, out4, 4, 4, 0, 0, PI / 2);
    int even = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            even &= out4[r * 4 + c] == in4[c * 4 + (3 - r)];
    CU_ASSERT(even);
}

/* Bilinear at 45 degrees: the centre pixel of an odd grid stays, and a
 * uniform image keeps its value wherever the source lies fully inside. */
static void test_rotation_bilinear_values(void)
{
    enum { N = 9 };
    uint8_t in[N * N], out[N * N];
    memset(in, 100, sizeof in);
    sb_rotate_shift_image(in, out, N, N, 0, 0, PI / 4);
    int inner = 1;
    for (int r = 2; r < N - 2; r++)
        for (int c = 2; c < N - 2; c++)
            inner &= out[r * N + c] == 100;
    CU_ASSERT(inner);
    CU_ASSERT_EQUAL(out[0], 0); /* a corner's source lies outside */
    /* a single centre pixel at 45 degrees: output (1, 2) samples the source
     * (1.707, 1.707), whose only inside neighbour within reach is the centre,
     * weighted (1 - cos 45)^2: 200 * 0.0858 = 17.16 -> 17 */
    uint8_t dot[9] = {0}, o[9];
    dot[4] = 200;
    sb_rotate_shift_image(dot, o, 3, 3, 0, 0, PI / 4);
    CU_ASSERT_EQUAL(o[4], 200);
    CU_ASSERT_EQUAL(o[1 * 3 + 2], (int)floor(200 * pow(1 - sqrt(0.5), 2) + 0.5));
    CU_ASSERT_EQUAL(o[1 * 3 + 2], 17);
}

/* A centred symmetric blob keeps its centre of mass at the centre for any
 * angle up to 180 degrees, and its mass within a few percent. */
static void test_rotation_keeps_centre_of_mass(void)
{
    enum { N = 29 };
    uint8_t in[N * N], out[N * N];
    const double cx = (N - 1) / 2.0;
    double mass_in = 0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) {
            double d2 = (r - cx) * (r - cx) + (c - cx) * (c - cx);
            in[r * N + c] = (uint8_t)floor(250 * exp(-d2 / 18.0) + 0.5);
            mass_in += in[r * N + c];
        }
    double worst_off = 0, worst_mass = 0;
    for (int trial = 0; trial < 30; trial++) {
        sb_rng rng;
        sb_rng_init(&rng, 2, SB_STREAM_ANN_AUGMENT, 3, (uint64_t)trial);
        sb_augment_image(in, out, N, N, 0, 180.0f, &rng);
        double m = 0, mx = 0, my = 0;
        for (int r = 0; r < N; r++)
            for (int c = 0; c < N; c++) {
                m += out[r * N + c];
                mx += out[r * N + c] * (double)c;
                my += out[r * N + c] * (double)r;
            }
        worst_off = fmax(worst_off, hypot(mx / m - cx, my / m - cx));
        worst_mass = fmax(worst_mass, fabs(m / mass_in - 1));
    }
    printf("\n    blob: worst centre offset %.1e px, worst mass change %.2f%% ", worst_off,
           100 * worst_mass);
    CU_ASSERT(worst_off < 0.05);
    CU_ASSERT(worst_mass < 0.03);
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("views", NULL, NULL);
    CU_add_test(s, "image/rows row-major, cols transposed, exact values", test_views_layout_and_values);
    CU_add_test(s, "many images (OpenMP) = one at a time", test_views_many_images);
    s = CU_add_suite("augmentation", NULL, NULL);
    CU_add_test(s, "no shift, no rotation: copy, no draws", test_augment_identity_draws_nothing);
    CU_add_test(s, "documented draw order", test_augment_draw_order);
    CU_add_test(s, "shift moves a pixel exactly within +-shift", test_augment_shift_moves_pixels_exactly);
    CU_add_test(s, "shift directions and zero border", test_shift_direction_and_border);
    CU_add_test(s, "same stream state, same output", test_augment_same_state_same_output);
    CU_add_test(s, "quarter and half turns are exact", test_rotation_quarter_turns_exact);
    CU_add_test(s, "bilinear interior and border", test_rotation_bilinear_values);
    CU_add_test(s, "rotation keeps a centred blob's centre of mass", test_rotation_keeps_centre_of_mass);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 0); }
