/* Datasets in the MNIST layout: per split an images file and a labels file,
 * checked against each other before anything is loaded, so that a mixed-up
 * directory fails at the start of a job with both files named. */
#include <stdlib.h>
#include <string.h>

#include "spikebridge/data.h"

static const char *const split_files[2][2] = {
    {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
    {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
};

const char *sb_split_file(sb_split split, int labels)
{
    /* Never NULL: callers print it. */
    if (split != SB_SPLIT_TRAIN && split != SB_SPLIT_TEST)
        return labels ? "unknown-split-labels" : "unknown-split-images";
    return split_files[split][labels != 0];
}

const char *sb_split_name(sb_split split)
{
    switch (split) {
    case SB_SPLIT_TRAIN: return "train";
    case SB_SPLIT_TEST: return "test";
    }
    return "unknown";
}

static const char *type_name(sb_idx_type t)
{
    switch (t) {
    case SB_IDX_U8: return "ubyte";
    case SB_IDX_I8: return "byte";
    case SB_IDX_I16: return "short";
    case SB_IDX_I32: return "int";
    case SB_IDX_F32: return "float";
    case SB_IDX_F64: return "double";
    }
    return "unknown";
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static sb_status join(char *out, size_t len, const char *dir, const char *name)
{
    size_t d = strlen(dir);
    const char *sep = d && dir[d - 1] != '/' ? "/" : "";
    int n = snprintf(out, len, "%s%s%s", dir, sep, name);
    if (n < 0 || (size_t)n >= len)
        return sb_fail(SB_EINVAL, "%s: path too long for %s", dir, name);
    return SB_OK;
}

/* Opens one file of a split and checks its type and rank. */
static sb_status open_member(sb_idx *f, const char *dir, sb_split split, int labels)
{
    char path[sizeof f->path];
    sb_status st = join(path, sizeof path, dir, sb_split_file(split, labels));
    if (st)
        return st;
    st = sb_idx_open(f, path);
    if (st)
        return st;
    int rank = labels ? 1 : 3;
    if (f->type != SB_IDX_U8 || f->rank != rank) {
        st = sb_fail(SB_EFORMAT,
                     "%s: %s %s must be ubyte (type 0x08) of rank %d (%s), this file holds %s "
                     "(type 0x%02x) of rank %d",
                     f->path, sb_split_name(split), labels ? "labels" : "images",
                     rank, labels ? "count" : "count x rows x cols", type_name(f->type),
                     (unsigned)f->type, f->rank);
    } else if (!labels && (uint64_t)f->dims[1] * f->dims[2] > UINT32_MAX) {
        /* Pixel counts are 32-bit everywhere downstream (encoder inputs). */
        st = sb_fail(SB_ENOMEM, "%s: images of %u x %u pixels are too large (at most 2^32-1 pixels)",
                     f->path, f->dims[1], f->dims[2]);
    }
    if (st)
        sb_idx_close(f);
    return st;
}

/* Both files of a split, open and agreeing on the count. */
static sb_status open_split(const char *dir, sb_split split, sb_idx *img, sb_idx *lab)
{
    sb_status st = open_member(img, dir, split, 0);
    if (st)
        return st;
    st = open_member(lab, dir, split, 1);
    if (st) {
        sb_idx_close(img);
        return st;
    }
    if (img->dims[0] != lab->dims[0]) {
        st = sb_fail(SB_EFORMAT, "%s holds %u images but %s holds %u labels", img->path,
                     img->dims[0], lab->path, lab->dims[0]);
        sb_idx_close(img);
        sb_idx_close(lab);
    }
    return st;
}

sb_status sb_dataset_count(const char *dir, sb_split split, uint64_t *count)
{
    *count = 0;
    sb_idx img, lab;
    sb_status st = open_split(dir, split, &img, &lab);
    if (st)
        return st;
    *count = img.dims[0];
    sb_idx_close(&img);
    sb_idx_close(&lab);
    return SB_OK;
}

sb_status sb_dataset_load(sb_dataset *ds, const char *dir, sb_split split, uint64_t first,
                          uint64_t count)
{
    memset(ds, 0, sizeof *ds);
    sb_idx img, lab;
    sb_status st = open_split(dir, split, &img, &lab);
    if (st)
        return st;
    uint64_t have = img.dims[0];
    if (first > have || count > have - first) {
        if (count)
            st = sb_fail(SB_EINVAL, "%s: asked for images %llu..%llu of the %s split but %s holds %llu",
                         dir, (unsigned long long)first, (unsigned long long)(first + count - 1),
                         sb_split_name(split), base_name(img.path), (unsigned long long)have);
        else
            st = sb_fail(SB_EINVAL, "%s: asked for images from %llu of the %s split but %s holds %llu",
                         dir, (unsigned long long)first, sb_split_name(split),
                         base_name(img.path), (unsigned long long)have);
        goto done;
    }
    ds->first = first;
    ds->rows = img.dims[1];
    ds->cols = img.dims[2];
    if (count) {
        uint64_t pixels = img.item_elems; /* rows * cols <= 2^32-1 */
        if (count > SIZE_MAX / pixels) {
            st = sb_fail(SB_ENOMEM, "%s: %llu images do not fit this machine's address space",
                         img.path, (unsigned long long)count);
            goto done;
        }
        ds->pixels = SB_MALLOC((size_t)count, (size_t)pixels);
        ds->labels = ds->pixels ? SB_MALLOC((size_t)count, 1) : NULL;
        if (!ds->labels) {
            st = sb_fail_context(SB_ENOMEM, "%s: loading %llu images", img.path,
                                 (unsigned long long)count);
            goto done;
        }
        st = sb_idx_read(&img, first, count, ds->pixels);
        if (!st)
            st = sb_idx_read(&lab, first, count, ds->labels);
    }
    ds->n = count;
done:
    sb_idx_close(&img);
    sb_idx_close(&lab);
    if (st)
        sb_dataset_free(ds);
    return st;
}

void sb_dataset_free(sb_dataset *ds)
{
    if (!ds)
        return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
