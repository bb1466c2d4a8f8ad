/*
 * Reading back a model that task `train` wrote (sb_write_model): the stored
 * architecture is built again and every tensor is read by its PyTorch
 * state_dict name, with its shape checked, so a file from another model or
 * another image size is refused with the tensor that does not fit.
 */
#include <stdlib.h>
#include <string.h>

#include "member.h"

static sb_status read_tensor(const char *path, const char *name, const ann_tensor *t)
{
    void *buf;
    int rank;
    hsize_t dims[4];
    sb_status st = h5_read_all(path, name, H5T_NATIVE_FLOAT, &buf, &rank, dims);
    if (st)
        return st;
    int same = rank == t->rank;
    uint64_t n = 1;
    for (int d = 0; same && d < rank; d++) {
        same = dims[d] == t->dims[d];
        n *= t->dims[d];
    }
    if (same)
        memcpy(t->data, buf, n * sizeof(float));
    else
        st = sb_fail(SB_EFORMAT, "%s: %s does not have the shape the model's architecture gives "
                                 "(was it trained on images of another size?)",
                     path, name);
    free(buf);
    return st;
}

sb_status sb_read_model(const char *path, const char *group, ann_model *m, int max_batch,
                        uint32_t rows, uint32_t cols, sb_view *view, float *mean, float *std)
{
    char arch[1024], view_name[16];
    double mu, sd;
    sb_status st = h5_read_attr_str(path, group, "arch", arch, sizeof arch);
    if (st == SB_EFORMAT)
        return sb_fail(SB_EFORMAT, "%s: no /%s with an architecture; name the result file of a "
                                   "`train` run (or an ensemble's members/NNNN/model)",
                       path, group);
    if (!st)
        st = h5_read_attr_str(path, group, "view", view_name, sizeof view_name);
    if (!st)
        st = h5_read_attr_f64(path, group, "input_mean", &mu);
    if (!st)
        st = h5_read_attr_f64(path, group, "input_std", &sd);
    if (st)
        return st;
    *view = strcmp(view_name, "rows") == 0   ? SB_VIEW_ROWS
            : strcmp(view_name, "cols") == 0 ? SB_VIEW_COLS
                                             : SB_VIEW_IMAGE;
    *mean = (float)mu;
    *std = (float)sd;
    st = ann_model_build(m, arch, ann_input_shape(*view, rows, cols), max_batch);
    if (st)
        return sb_fail_context(st, "%s: the stored architecture", path);
    for (int i = 0; i < m->nlayers && !st; i++) {
        const ann_layer *l = &m->layers[i];
        ann_tensor t[4];
        int nt = ann_layer_tensors(l, t);
        for (int k = 0; k < nt && !st; k++) {
            char name[400];
            snprintf(name, sizeof name, "%s/layers/%02d_%s/%s", group, i, ann_ops(l->kind)->name,
                     t[k].name);
            st = read_tensor(path, name, &t[k]);
        }
    }
    if (st)
        ann_model_free(m);
    return st;
}
