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

#endif
