/* Training-time augmentation: random shifts and small rotations of an
 * image, drawn from the caller's stream so that an epoch's augmented data
 * belongs to (member, epoch, sample) and not to whoever computes it. */
#include <math.h>
#include <string.h>

#include "spikebridge/data.h"

void sb_rotate_shift_image(const uint8_t *in, uint8_t *out, uint32_t rows, uint32_t cols, int dx,
                           int dy, double radians)
{
    if (radians == 0.0) {
        /* Whole-pixel moves need no interpolation: exact copies, so a
         * shift-only augmentation never blurs the digit. */
        for (uint32_t r = 0; r < rows; r++)
            for (uint32_t c = 0; c < cols; c++) {
                int64_t sr = (int64_t)r - dy, sc = (int64_t)c - dx;
                out[(size_t)r * cols + c] = sr >= 0 && sr < rows && sc >= 0 && sc < cols
                                                ? in[(size_t)sr * cols + (size_t)sc]
                                                : 0;
            }
        return;
    }
    const double cy = (rows - 1) / 2.0, cx = (cols - 1) / 2.0;
    const double cs = cos(radians), sn = sin(radians);
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < cols; c++) {
            /* Inverse map: undo the shift, then rotate back by -radians
             * (x right, y down; a positive angle turns the image
             * counter-clockwise as displayed). */
            const double px = (double)c - cx - dx, py = (double)r - cy - dy;
            const double sx = cx + px * cs - py * sn, sy = cy + px * sn + py * cs;
            const double fx = floor(sx), fy = floor(sy);
            const double wx = sx - fx, wy = sy - fy;
            double v = 0;
            /* Each of the four neighbours contributes only when it lies
             * inside: zero padding, as torchvision's rotate. */
            for (int k = 0; k < 4; k++) {
                const double yy = fy + (k >> 1), xx = fx + (k & 1);
                if (yy < 0 || yy >= rows || xx < 0 || xx >= cols)
                    continue;
                const double w = ((k >> 1) ? wy : 1 - wy) * ((k & 1) ? wx : 1 - wx);
                v += w * in[(size_t)yy * cols + (size_t)xx];
            }
            v = floor(v + 0.5);
            out[(size_t)r * cols + c] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
        }
}

void sb_augment_image(const uint8_t *in, uint8_t *out, uint32_t rows, uint32_t cols, int shift,
                      float degrees, sb_rng *rng)
{
    int dx = 0, dy = 0;
    double radians = 0;
    if (shift > 0) {
        /* 2*shift + 1 fits a uint32 for every positive int. */
        const uint32_t span = 2u * (uint32_t)shift + 1u;
        dx = (int)((int64_t)(sb_rng_u32(rng) % span) - shift);
        dy = (int)((int64_t)(sb_rng_u32(rng) % span) - shift);
    }
    if (degrees > 0)
        radians = (2.0 * sb_rng_uniform(rng) - 1.0) * degrees * (3.14159265358979323846 / 180.0);
    if (dx == 0 && dy == 0 && radians == 0.0) {
        memcpy(out, in, (size_t)rows * cols);
        return;
    }
    sb_rotate_shift_image(in, out, rows, cols, dx, dy, radians);
}
