/* Checkpoints: everything needed to continue a run, in one HDF5 file that
 * appears only when complete. Counter-based random streams mean there is no
 * generator state to save: positions follow from the saved counters. */
#include "h5_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint32_t CKPT_MAGIC = 0x5B0C4B01; /* "SpikeBridge checkpoint", format 1 */

int h5_ckpt_exists(const char *path) { return access(path, F_OK) == 0; }

sb_status h5_ckpt_save(const char *path, const char *tag, const h5_blob *blobs, int n)
{
    h5_out f;
    sb_status st = h5_create(&f, path, MPI_COMM_SELF);
    if (st)
        return st;
    st = h5_attr_u32s(f.id, "checkpoint_magic", &CKPT_MAGIC, 1);
    if (!st)
        st = h5_attr_str(f.id, "tag", tag);
    for (int i = 0; i < n && !st; i++)
        st = h5_write_rows(f.id, blobs[i].name, blobs[i].type, 0, NULL, blobs[i].data, blobs[i].n,
                           MPI_COMM_SELF);
    if (st) {
        h5_discard(&f);
        return st;
    }
    return h5_commit(&f);
}

static sb_status read_tag(hid_t f, const char *path, char **tag)
{
    uint32_t magic = 0;
    hid_t a = H5Aexists(f, "checkpoint_magic") > 0 ? H5Aopen(f, "checkpoint_magic", H5P_DEFAULT) : -1;
    if (a < 0 || H5Aread(a, H5T_NATIVE_UINT32, &magic) < 0 || magic != CKPT_MAGIC) {
        if (a >= 0)
            H5Aclose(a);
        H5Eclear2(H5E_DEFAULT);
        return sb_fail(SB_EFORMAT, "%s: not a SpikeBridge checkpoint of this format; delete it to start afresh", path);
    }
    H5Aclose(a);
    a = H5Aopen(f, "tag", H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    *tag = NULL;
    herr_t err = a < 0 ? -1 : H5Aread(a, t, tag);
    H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return err < 0 || !*tag ? h5_fail("%s: checkpoint has no readable tag", path) : SB_OK;
}

sb_status h5_ckpt_load(const char *path, const char *tag, const h5_blob *blobs, int n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return h5_fail("%s: cannot open checkpoint", path);
    char *found = NULL;
    sb_status st = read_tag(f, path, &found);
    if (!st && strcmp(found, tag) != 0)
        st = sb_fail(SB_EFORMAT,
                     "%s: checkpoint of another job ('%s', this job is '%s'); delete it or choose "
                     "another job.output",
                     path, found, tag);
    if (found)
        H5free_memory(found);
    for (int i = 0; i < n && !st; i++) {
        hid_t d = H5Dopen2(f, blobs[i].name, H5P_DEFAULT);
        hid_t space = d >= 0 ? H5Dget_space(d) : -1;
        hssize_t have = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
        if (d < 0)
            st = h5_fail("%s: checkpoint lacks %s", path, blobs[i].name);
        else if (have != (hssize_t)blobs[i].n)
            st = sb_fail(SB_EFORMAT, "%s: checkpoint's %s has %lld values, this job needs %llu",
                         path, blobs[i].name, (long long)have, (unsigned long long)blobs[i].n);
        else if (blobs[i].n && H5Dread(d, blobs[i].type, H5S_ALL, H5S_ALL, H5P_DEFAULT, blobs[i].data) < 0)
            st = h5_fail("%s: cannot read %s", path, blobs[i].name);
        if (space >= 0)
            H5Sclose(space);
        if (d >= 0)
            H5Dclose(d);
    }
    H5Fclose(f);
    return st;
}
