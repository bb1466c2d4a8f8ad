/* Images as a model reads them: normalised floats, as an image or as a
 * sequence of rows or of columns. */
#include "spikebridge/data.h"

void sb_view_images(const uint8_t *pixels, uint64_t n, uint32_t rows, uint32_t cols,
                    sb_view view, float mean, float std, float *out)
{
    /* 256 possible bytes: one table makes every image a lookup, and every
     * value the same double-precision (x/255 - mean)/std rounded once. */
    float table[256];
    for (int v = 0; v < 256; v++)
        table[v] = (float)((v / 255.0 - (double)mean) / (double)std);
    const uint64_t size = (uint64_t)rows * cols;

#pragma omp parallel for schedule(static) if (n * size > 65536)
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = pixels + i * size;
        float *o = out + i * size;
        if (view == SB_VIEW_COLS) {
            /* step c holds column c: o[c][r] = p[r][c] */
            for (uint32_t r = 0; r < rows; r++)
                for (uint32_t c = 0; c < cols; c++)
                    o[(uint64_t)c * rows + r] = table[p[(uint64_t)r * cols + c]];
        } else {
            for (uint64_t k = 0; k < size; k++)
                o[k] = table[p[k]];
        }
    }
}

const char *sb_view_name(sb_view view)
{
    static const char *const names[] = {"image", "rows", "cols"};
    return (unsigned)view < 3 ? names[view] : "?";
}
