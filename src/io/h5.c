/* Result files: creation under a temporary name, collective datasets and
 * attributes, whole-dataset reads. Every rank calls every collective
 * function with the same arguments; only the data differ. */
#include "h5_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spikebridge/par.h"

/* ------------------------------------------------------------------ errors */

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc)
        snprintf(data, 256, "%s", e->desc);
    return 0;
}

sb_status h5_fail(const char *fmt, ...)
{
    char what[768], detail[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
    H5Eclear2(H5E_DEFAULT);
    if (detail[0])
        return sb_fail(SB_EHDF5, "%s (HDF5: %s)", what, detail);
    return sb_fail(SB_EHDF5, "%s", what);
}

const char *h5_filename(hid_t obj, char *buf, size_t len)
{
    if (H5Fget_name(obj, buf, len) < 0)
        snprintf(buf, len, "?");
    return buf;
}

void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* "FILE: cannot ACT NAME (HDF5: ...)": the file an object lives in, found
 * from the object, so that callers need not carry its name around. */
static sb_status cannot(hid_t obj, const char *act, const char *name)
{
    char fn[256];
    return h5_fail("%s: cannot %s %s", h5_filename(obj, fn, sizeof fn), act, name);
}

/* ------------------------------------------------------------------ files */

static int mkdir_parents(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(dir, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

sb_status h5_create(h5_out *f, const char *path, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    f->id = H5I_INVALID_HID;
    f->comm = comm;
    if (strlen(path) >= sizeof f->path)
        return sb_fail(SB_EINVAL, "%s: output path too long", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp, sizeof f->tmp, "%s.part", path);
    sb_status st = SB_OK;
    if (rank == 0 && mkdir_parents(path) != 0)
        st = sb_fail(SB_EIO, "%s: cannot create its directory: %s", path, strerror(errno));
    if ((st = par_agree(st, comm)) != SB_OK)
        return st;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    /* Metadata goes through rank 0 instead of every rank touching it. */
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    f->id = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f->id < 0)
        return h5_fail("%s: cannot create", f->tmp);
    return SB_OK;
}

/* Data must reach the disk before the rename makes the file visible. */
static sb_status sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return sb_fail(SB_EIO, "%s: cannot reopen to sync: %s", path, strerror(errno));
    int bad = fsync(fd);
    close(fd);
    return bad ? sb_fail(SB_EIO, "%s: fsync failed: %s", path, strerror(errno)) : SB_OK;
}

sb_status h5_commit(h5_out *f)
{
    int rank;
    MPI_Comm_rank(f->comm, &rank);
    sb_status st = H5Fclose(f->id) < 0 ? h5_fail("%s: closing failed", f->tmp) : SB_OK;
    f->id = H5I_INVALID_HID;
    if ((st = par_agree(st, f->comm)) != SB_OK) {
        if (rank == 0)
            unlink(f->tmp);
        return st;
    }
    if (rank == 0) {
        st = sync_file(f->tmp);
        if (st == SB_OK && rename(f->tmp, f->path) != 0)
            st = sb_fail(SB_EIO, "%s: cannot rename to %s: %s", f->tmp, f->path, strerror(errno));
        if (st != SB_OK)
            unlink(f->tmp);
    }
    return par_agree(st, f->comm);
}

void h5_discard(h5_out *f)
{
    int rank;
    MPI_Comm_rank(f->comm, &rank);
    if (f->id >= 0)
        H5Fclose(f->id);
    f->id = H5I_INVALID_HID;
    MPI_Barrier(f->comm);
    if (rank == 0)
        unlink(f->tmp);
    MPI_Barrier(f->comm);
}

/* ------------------------------------------------------------------ writing */

static hid_t parents_lcpl(void)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    return lcpl;
}

sb_status h5_group(hid_t loc, const char *path, hid_t *group)
{
    if (H5Lexists(loc, path, H5P_DEFAULT) > 0)
        *group = H5Gopen2(loc, path, H5P_DEFAULT);
    else {
        hid_t lcpl = parents_lcpl();
        *group = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Pclose(lcpl);
    }
    H5Eclear2(H5E_DEFAULT);
    return *group < 0 ? cannot(loc, "create group", path) : SB_OK;
}

sb_status h5_write_rows(hid_t loc, const char *name, hid_t type, int inner_rank,
                        const hsize_t *inner, const void *buf, uint64_t local_rows,
                        MPI_Comm comm)
{
    hsize_t dims[8], start[8] = {0}, count[8];
    if (inner_rank < 0 || inner_rank > 7)
        return sb_fail(SB_EINVAL, "h5_write_rows: %s: rank %d unsupported", name, inner_rank + 1);
    int rank;
    MPI_Comm_rank(comm, &rank);
    uint64_t offset = 0, total = 0;
    MPI_Exscan(&local_rows, &offset, 1, MPI_UINT64_T, MPI_SUM, comm);
    if (rank == 0)
        offset = 0; /* MPI_Exscan leaves rank 0's result undefined */
    MPI_Allreduce(&local_rows, &total, 1, MPI_UINT64_T, MPI_SUM, comm);
    dims[0] = total;
    start[0] = offset;
    count[0] = local_rows;
    for (int i = 0; i < inner_rank; i++)
        dims[i + 1] = count[i + 1] = inner[i];

    hid_t fspace = H5Screate_simple(inner_rank + 1, dims, NULL);
    hid_t lcpl = parents_lcpl();
    hid_t dset = H5Dcreate2(loc, name, type, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (dset < 0) {
        H5Sclose(fspace);
        return cannot(loc, "create dataset", name);
    }
    herr_t err = 0;
    /* A collective write to a dataset of size 0 fails in HDF5 1.10 (address
     * overflow); every rank knows total, so every rank skips it together. */
    if (total > 0) {
        hid_t mspace = H5Screate_simple(inner_rank + 1, count, NULL);
        if (local_rows > 0) {
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
        } else {
            H5Sselect_none(fspace);
            H5Sselect_none(mspace);
        }
        hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
        static const char dummy[16];
        err = H5Dwrite(dset, type, mspace, fspace, dxpl, buf && local_rows ? buf : dummy);
        H5Pclose(dxpl);
        H5Sclose(mspace);
    }
    H5Dclose(dset);
    H5Sclose(fspace);
    return err < 0 ? cannot(loc, "write dataset", name) : SB_OK;
}

sb_status h5_write_text(hid_t loc, const char *name, const char *text, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    size_t len = strlen(text);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, len ? len : 1);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t lcpl = parents_lcpl();
    hid_t dset = H5Dcreate2(loc, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    herr_t err = -1;
    if (dset >= 0) {
        /* One writer; the others take part in the collective with nothing. */
        hid_t mspace = H5Screate(H5S_SCALAR);
        if (rank != 0) {
            H5Sselect_none(space);
            H5Sselect_none(mspace);
        }
        hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
        err = H5Dwrite(dset, type, mspace, space, dxpl, len ? text : " ");
        H5Pclose(dxpl);
        H5Sclose(mspace);
        H5Dclose(dset);
    }
    H5Sclose(space);
    H5Tclose(type);
    return err < 0 ? cannot(loc, "write text", name) : SB_OK;
}

/* ------------------------------------------------------------------ attributes */

static sb_status write_attr(hid_t obj, const char *name, hid_t type, hid_t space,
                            const void *value)
{
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t err = a < 0 ? -1 : H5Awrite(a, type, value);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return err < 0 ? cannot(obj, "write attribute", name) : SB_OK;
}

sb_status h5_attr_str(hid_t obj, const char *name, const char *value)
{
    /* Variable-length UTF-8, which is what h5py writes for a str. */
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    sb_status st = write_attr(obj, name, type, H5Screate(H5S_SCALAR), &value);
    H5Tclose(type);
    return st;
}

sb_status h5_attr_f64(hid_t obj, const char *name, double value)
{
    return write_attr(obj, name, H5T_NATIVE_DOUBLE, H5Screate(H5S_SCALAR), &value);
}

sb_status h5_attr_i64(hid_t obj, const char *name, int64_t value)
{
    return write_attr(obj, name, H5T_NATIVE_INT64, H5Screate(H5S_SCALAR), &value);
}

sb_status h5_attr_u32s(hid_t obj, const char *name, const uint32_t *values, int n)
{
    hsize_t dim = (hsize_t)n;
    return write_attr(obj, name, H5T_NATIVE_UINT32, H5Screate_simple(1, &dim, NULL), values);
}

/* ------------------------------------------------------------------ reading */

sb_status h5_read_all(const char *path, const char *name, hid_t type, void **buf,
                      int *rank, hsize_t dims[4])
{
    *buf = NULL;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return h5_fail("%s: cannot open", path);
    sb_status st = SB_OK;
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (dset < 0)
        st = h5_fail("%s: no dataset %s", path, name);
    else if (nd < 0 || nd > 4)
        st = sb_fail(SB_EFORMAT, "%s: dataset %s has %d dimensions (at most 4 expected)", path,
                     name, nd);
    uint64_t n = 1;
    if (st == SB_OK) {
        H5Sget_simple_extent_dims(space, dims, NULL);
        for (int i = 0; i < nd; i++)
            n *= dims[i];
        *rank = nd;
        *buf = SB_MALLOC(n ? n : 1, H5Tget_size(type));
        if (!*buf)
            st = sb_fail_context(SB_ENOMEM, "%s: dataset %s", path, name);
    }
    if (st == SB_OK && n > 0 && H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0)
        st = h5_fail("%s: cannot read dataset %s", path, name);
    if (st != SB_OK) {
        free(*buf);
        *buf = NULL;
    }
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    H5Fclose(file);
    return st;
}

/* Opens attribute name of obj in the file at path; on failure says which
 * is missing. The caller closes a, then the file. */
static sb_status open_attr(const char *path, const char *obj, const char *name, hid_t *file,
                           hid_t *a)
{
    *a = H5I_INVALID_HID;
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return h5_fail("%s: cannot open", path);
    if (H5Lexists(*file, obj, H5P_DEFAULT) <= 0 || H5Aexists_by_name(*file, obj, name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        H5Fclose(*file);
        return sb_fail(SB_EFORMAT, "%s: no attribute %s on %s", path, name, obj);
    }
    *a = H5Aopen_by_name(*file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (*a < 0) {
        H5Fclose(*file);
        return h5_fail("%s: cannot open attribute %s of %s", path, name, obj);
    }
    return SB_OK;
}

sb_status h5_read_attr_str(const char *path, const char *obj, const char *name, char *buf, size_t len)
{
    hid_t file, a;
    sb_status st = open_attr(path, obj, name, &file, &a);
    if (st)
        return st;
    hid_t ftype = H5Aget_type(a);
    hid_t space = H5Aget_space(a);
    herr_t err = -1;
    buf[0] = '\0';
    if (H5Tget_class(ftype) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1) {
        hid_t mtype = H5Tcopy(H5T_C_S1);
        if (H5Tis_variable_str(ftype) > 0) {
            char *v = NULL;
            H5Tset_size(mtype, H5T_VARIABLE);
            H5Tset_cset(mtype, H5Tget_cset(ftype));
            err = H5Aread(a, mtype, &v);
            if (err >= 0 && v) {
                snprintf(buf, len, "%s", v);
                H5free_memory(v);
            }
        } else {
            size_t n = H5Tget_size(ftype);
            char *v = calloc(n + 1, 1);
            H5Tset_size(mtype, n + 1);
            err = v ? H5Aread(a, mtype, v) : -1;
            if (err >= 0)
                snprintf(buf, len, "%s", v);
            free(v);
        }
        H5Tclose(mtype);
    }
    H5Sclose(space);
    H5Tclose(ftype);
    H5Aclose(a);
    H5Fclose(file);
    return err < 0 ? sb_fail(SB_EFORMAT, "%s: attribute %s of %s is not a string", path, name, obj)
                   : SB_OK;
}

sb_status h5_read_attr_f64(const char *path, const char *obj, const char *name, double *value)
{
    hid_t file, a;
    sb_status st = open_attr(path, obj, name, &file, &a);
    if (st)
        return st;
    hid_t ftype = H5Aget_type(a);
    hid_t space = H5Aget_space(a);
    int numeric = H5Tget_class(ftype) == H5T_INTEGER || H5Tget_class(ftype) == H5T_FLOAT;
    herr_t err = numeric && H5Sget_simple_extent_npoints(space) == 1
                     ? H5Aread(a, H5T_NATIVE_DOUBLE, value)
                     : -1;
    H5Sclose(space);
    H5Tclose(ftype);
    H5Aclose(a);
    H5Fclose(file);
    return err < 0 ? sb_fail(SB_EFORMAT, "%s: attribute %s of %s is not a number", path, name, obj)
                   : SB_OK;
}
