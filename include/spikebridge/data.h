/*
 * data.h — IDX files, datasets of labelled images, and spike encoders.
 *
 * IDX is the format of MNIST and its relatives (Fashion-MNIST, EMNIST, ...):
 * a big-endian header (magic 0x0000TTRR: element type TT, rank RR, then RR
 * uint32 dimensions) followed by the elements. Files may be raw or gzip;
 * `name` is tried first, then `name.gz`.
 */
#ifndef SPIKEBRIDGE_DATA_H
#define SPIKEBRIDGE_DATA_H

#include "spikebridge/core.h"

/* ------------------------------------------------------------------ IDX */

typedef enum {
    SB_IDX_U8 = 0x08,
    SB_IDX_I8 = 0x09,
    SB_IDX_I16 = 0x0B,
    SB_IDX_I32 = 0x0C,
    SB_IDX_F32 = 0x0D,
    SB_IDX_F64 = 0x0E
} sb_idx_type;

enum { SB_IDX_MAX_RANK = 8 };

/* Largest payload accepted, so that a corrupt header cannot make us try to
 * allocate or read terabytes: 16 GiB. */
#define SB_IDX_MAX_BYTES ((uint64_t)1 << 34)

typedef struct {
    char path[4096];            /* the file actually opened (may end in .gz) */
    int gzipped;                /* 1 if the file is gzip-compressed */
    sb_idx_type type;           /* element type */
    int elem_size;              /* bytes per element */
    int rank;                   /* number of dimensions, 1..SB_IDX_MAX_RANK */
    uint32_t dims[SB_IDX_MAX_RANK]; /* dims[0] = number of items */
    uint64_t item_elems;        /* elements per item: product of dims[1..] */
    uint64_t header_bytes;      /* 4 + 4 * rank */
    void *handle;               /* gzFile; private */
    uint64_t pos;               /* next item the stream is positioned at */
} sb_idx;

/* Opens `path`, or `path.gz` if `path` does not exist, and validates the
 * header: magic, element type, rank, dimensions (none zero except the item
 * count, total payload <= SB_IDX_MAX_BYTES) and the file length against the
 * header (raw files: exact size; gzip files: the gzip trailer's ISIZE).
 * Every error names the file. On failure nothing stays open. */
sb_status sb_idx_open(sb_idx *f, const char *path);

/* Reads items [first, first + count) into buf (count * item_elems
 * elements, converted to host byte order). Reading forwards from the
 * current position is cheap; seeking backwards in a gzip file re-reads. */
sb_status sb_idx_read(sb_idx *f, uint64_t first, uint64_t count, void *buf);

void sb_idx_close(sb_idx *f);

/* ------------------------------------------------------------------ datasets */

typedef enum { SB_SPLIT_TRAIN = 0, SB_SPLIT_TEST = 1 } sb_split;

/* A contiguous range of labelled images from one split of a dataset
 * directory holding the four MNIST-named files
 * (train|t10k)-(images-idx3|labels-idx1)-ubyte[.gz]. */
typedef struct {
    uint64_t first;     /* index in the files of the first image held */
    uint64_t n;         /* images held */
    uint32_t rows, cols;/* image shape */
    uint8_t *pixels;    /* n * rows * cols, row-major, 0..255 */
    uint8_t *labels;    /* n labels */
} sb_dataset;

/* The file name (without .gz) of a split's images or labels. */
const char *sb_split_file(sb_split split, int labels);
const char *sb_split_name(sb_split split); /* "train" or "test" */

/* Number of images in a split, after validating both files' headers and that
 * they agree: images are ubyte of rank 3, labels ubyte of rank 1, same count. */
sb_status sb_dataset_count(const char *dir, sb_split split, uint64_t *count);

/* Loads images [first, first + count) and their labels. */
sb_status sb_dataset_load(sb_dataset *ds, const char *dir, sb_split split,
                          uint64_t first, uint64_t count);

void sb_dataset_free(sb_dataset *ds);

/* ------------------------------------------------------------------ views and augmentation */

/* How a model sees an image: as an image (1, rows, cols), or as a time
 * series of `rows` steps of `cols` features (rows view: step t is row t) or
 * of `cols` steps of `rows` features (cols view: step t is column t). */
typedef enum { SB_VIEW_IMAGE = 0, SB_VIEW_ROWS = 1, SB_VIEW_COLS = 2 } sb_view;

/* "image", "rows" or "cols". */
const char *sb_view_name(sb_view view);

/* n images of rows x cols bytes → floats (x/255 - mean) / std in the layout
 * of the view (IMAGE and ROWS: row-major; COLS: transposed). */
void sb_view_images(const uint8_t *pixels, uint64_t n, uint32_t rows, uint32_t cols,
                    sb_view view, float mean, float std, float *out);

/* One image moved by a random whole-pixel shift in [-shift, shift] along
 * each axis and rotated by a random angle in [-degrees, degrees] about its
 * centre (bilinear, zero outside), drawing from rng. shift = 0 and
 * degrees = 0 copy the image and draw nothing. Draw order: when shift > 0,
 * dx = u32 % (2 shift + 1) - shift, then dy the same way; then, when
 * degrees > 0, one sb_rng_uniform u for the angle (2u - 1) degrees. A
 * non-positive shift or degrees means none of it. The image is then
 * sb_rotate_shift_image(in, out, rows, cols, dx, dy, angle in radians). */
void sb_augment_image(const uint8_t *in, uint8_t *out, uint32_t rows, uint32_t cols, int shift,
                      float degrees, sb_rng *rng);

/* The deterministic part of sb_augment_image: rotate by `radians` about the
 * centre ((rows-1)/2, (cols-1)/2), positive = counter-clockwise as
 * displayed (row 0 at the top), then move by dx columns (right) and dy rows
 * (down). One inverse mapping per output pixel, bilinear, zero outside,
 * rounded to the nearest byte; radians = 0 moves whole pixels exactly.
 * in and out must not overlap. */
void sb_rotate_shift_image(const uint8_t *in, uint8_t *out, uint32_t rows, uint32_t cols, int dx,
                           int dy, double radians);

/* ------------------------------------------------------------------ spike encoders */

/* Spikes of one image (or of many, appended in order): node ids and times in
 * ms. Encoders append; sb_spikes_sort orders a range by (time, id). */
typedef struct {
    uint64_t n, cap;
    uint64_t *ids;  /* input neuron: pixel index, or encoder neuron */
    double *t;      /* ms */
} sb_spikes;

sb_status sb_spikes_push(sb_spikes *s, uint64_t id, double t);
/* Appends all of src to dst. */
sb_status sb_spikes_append(sb_spikes *dst, const sb_spikes *src);
/* Sorts spikes [from, s->n) by time, then id. */
sb_status sb_spikes_sort(sb_spikes *s, uint64_t from);
void sb_spikes_clear(sb_spikes *s);
void sb_spikes_free(sb_spikes *s);

typedef enum { SB_ENC_POISSON = 0, SB_ENC_LATENCY = 1, SB_ENC_INTEGRATE = 2, SB_ENC_COUNT_ } sb_encoder_kind;

const char *sb_encoder_name(sb_encoder_kind k); /* "poisson", ... */

typedef struct {
    uint32_t seed;       /* job seed: Poisson streams are keyed by it */
    uint32_t pixels;     /* inputs per image */
    double duration_ms;  /* presentation window of one image */
    double dt_ms;        /* Poisson: time step; at most one spike per step */
    double max_rate_hz;  /* Poisson: rate of a pixel of 255 */
    uint8_t threshold;   /* latency: pixels above it spike once */
    uint32_t neurons;    /* integrate: encoder neurons K */
    double v_th;         /* integrate: threshold, reset by subtraction */
    const float *weights;/* integrate: K x pixels, row j = neuron j */
} sb_encoder_params;

/* Each encoder appends the spikes of one image, at times onset_ms + t with
 * t in [0, duration), sorted by (time, id). `image` is the image's index in
 * its dataset: the random streams belong to it, not to whoever encodes it.
 *
 * poisson:   pixel i fires as a Bernoulli process with probability
 *            rate_i * dt per step, rate_i = pixel/255 * max_rate, at times
 *            k * dt (drawn by geometric skips: cost per spike, not per step).
 * latency:   pixel i > threshold fires once at duration * (1 - pixel/255).
 * integrate: pixel i's current x_i = pixel/255 flows during its slot
 *            [i, i+1) * duration/pixels in scan order; neuron j integrates
 *            V_j += W_ji x_i linearly over the slot and fires at the exact
 *            time V_j reaches v_th, then V_j -= v_th. With W >= 0 neuron j
 *            fires floor(sum_i W_ji x_i / v_th) times. */
sb_status sb_encode_image(sb_encoder_kind kind, const sb_encoder_params *p, const uint8_t *img,
                          uint64_t image, double onset_ms, sb_spikes *out);

/* Fills K x pixels weights uniform in [w_min, w_max) from the streams
 * (seed, SB_STREAM_ENCODE_WEIGHTS, neuron j). */
void sb_encoder_random_weights(float *w, uint32_t neurons, uint32_t pixels, uint32_t seed,
                               double w_min, double w_max);

#endif
