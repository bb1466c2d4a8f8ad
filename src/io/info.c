/* `spikebridge info FILE.h5`: what a result file holds, for an operator who
 * has only a shell on the cluster. */
#include "h5_internal.h"

#include <stdlib.h>
#include <string.h>

static void print_attr_value(FILE *out, hid_t a)
{
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_STRING && H5Tis_variable_str(type) > 0 && n == 1) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(type));
        if (H5Aread(a, mt, &s) >= 0 && s) {
            fprintf(out, "%s", s);
            H5free_memory(s);
        }
        H5Tclose(mt);
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n >= 1 && n <= 16) {
        double v[16];
        if (H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0)
            for (hssize_t i = 0; i < n; i++)
                fprintf(out, "%s%.10g", i ? ", " : "", v[i]);
    } else if (cls == H5T_ENUM && n == 1) {
        char name[32] = "?";
        hid_t native = H5Tget_native_type(type, H5T_DIR_ASCEND);
        unsigned char raw[8] = {0};
        if (H5Aread(a, native, raw) >= 0)
            H5Tenum_nameof(native, raw, name, sizeof name);
        H5Tclose(native);
        fprintf(out, "%s", name);
    } else {
        fprintf(out, "(%lld values)", (long long)n);
    }
    H5Sclose(space);
    H5Tclose(type);
}

static herr_t print_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    FILE *out = data;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    fprintf(out, "  @%s = ", name);
    print_attr_value(out, a);
    fprintf(out, "\n");
    H5Aclose(a);
    return 0;
}

static const char *type_name(hid_t t)
{
    switch (H5Tget_class(t)) {
    case H5T_INTEGER:
        switch (H5Tget_size(t)) {
        case 1: return H5Tget_sign(t) == H5T_SGN_NONE ? "uint8" : "int8";
        case 2: return H5Tget_sign(t) == H5T_SGN_NONE ? "uint16" : "int16";
        case 4: return H5Tget_sign(t) == H5T_SGN_NONE ? "uint32" : "int32";
        default: return H5Tget_sign(t) == H5T_SGN_NONE ? "uint64" : "int64";
        }
    case H5T_FLOAT: return H5Tget_size(t) == 4 ? "float32" : "float64";
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum";
    default: return "other";
    }
}

static herr_t visit(hid_t root, const char *name, const H5O_info_t *info, void *data)
{
    FILE *out = data;
    if (strcmp(name, ".") == 0) {
        H5Aiterate2(root, H5_INDEX_NAME, H5_ITER_INC, NULL, print_attr, out);
        return 0;
    }
    if (info->type == H5O_TYPE_GROUP) {
        fprintf(out, "/%s/\n", name);
        hid_t g = H5Gopen2(root, name, H5P_DEFAULT);
        if (g >= 0) {
            H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, NULL, print_attr, out);
            H5Gclose(g);
        }
    } else if (info->type == H5O_TYPE_DATASET) {
        hid_t d = H5Dopen2(root, name, H5P_DEFAULT);
        if (d < 0)
            return 0;
        hid_t space = H5Dget_space(d), type = H5Dget_type(d);
        hsize_t dims[8];
        int nd = H5Sget_simple_extent_ndims(space);
        if (nd > 8)
            nd = 8;
        H5Sget_simple_extent_dims(space, dims, NULL);
        fprintf(out, "/%s  %s [", name, type_name(type));
        for (int i = 0; i < nd; i++)
            fprintf(out, "%s%llu", i ? " x " : "", (unsigned long long)dims[i]);
        fprintf(out, "]%s\n", nd == 0 ? " scalar" : "");
        H5Aiterate2(d, H5_INDEX_NAME, H5_ITER_INC, NULL, print_attr, out);
        H5Tclose(type);
        H5Sclose(space);
        H5Dclose(d);
    }
    return 0;
}

sb_status h5_print_info(FILE *out, const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return h5_fail("%s: cannot open as HDF5", path);
    fprintf(out, "%s\n", path);
    herr_t err = H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit, out, H5O_INFO_BASIC);
    fflush(out);
    H5Fclose(f);
    return err < 0 ? h5_fail("%s: cannot list its contents", path) : SB_OK;
}
