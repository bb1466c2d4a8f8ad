/* SONATA spike files (AllenInstitute/sonata, "Spike file"):
 * root attributes magic/version, /spikes/<population>/{node_ids,timestamps}
 * and the population's `sorting` enum, as libsonata reads them. */
#include "h5_internal.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t SONATA_MAGIC = 0x0A7A;
static const uint32_t SONATA_VERSION[2] = {0, 1};

sb_status sonata_write_header(hid_t file)
{
    sb_status st = h5_attr_u32s(file, "magic", &SONATA_MAGIC, 1);
    return st ? st : h5_attr_u32s(file, "version", SONATA_VERSION, 2);
}

/* libsonata: enum class Sorting : char {none = 0, by_id = 1, by_time = 2}. */
static hid_t sorting_type(void)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    const char *names[] = {"none", "by_id", "by_time"};
    for (int8_t v = 0; v < 3; v++)
        H5Tenum_insert(t, names[v], &v);
    return t;
}

static sb_status write_sorting(hid_t group, sb_sorting sorting)
{
    char fn[256];
    hid_t type = sorting_type(), space = H5Screate(H5S_SCALAR);
    int8_t v = (int8_t)sorting;
    hid_t a = H5Acreate2(group, "sorting", type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t err = a < 0 ? -1 : H5Awrite(a, type, &v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    return err < 0 ? h5_fail("%s: cannot write the sorting attribute", h5_filename(group, fn, sizeof fn))
                   : SB_OK;
}

sb_status sonata_write_spikes(hid_t file, const char *population, const uint64_t *node_ids,
                              const double *timestamps, uint64_t n, sb_sorting sorting,
                              MPI_Comm comm)
{
    char path[512];
    snprintf(path, sizeof path, "spikes/%s", population);
    hid_t g;
    sb_status st = h5_group(file, path, &g);
    if (st)
        return st;
    st = write_sorting(g, sorting);
    if (!st)
        st = h5_write_rows(g, "node_ids", H5T_NATIVE_UINT64, 0, NULL, node_ids, n, comm);
    if (!st)
        st = h5_write_rows(g, "timestamps", H5T_NATIVE_DOUBLE, 0, NULL, timestamps, n, comm);
    if (!st) {
        hid_t d = H5Dopen2(g, "timestamps", H5P_DEFAULT);
        st = d < 0 ? h5_fail("cannot reopen %s/timestamps", path) : h5_attr_str(d, "units", "ms");
        if (d >= 0)
            H5Dclose(d);
    }
    H5Gclose(g);
    return st;
}

sb_status sonata_read_spikes(const char *path, const char *population, sonata_spikes *s)
{
    memset(s, 0, sizeof *s);
    char name[512];
    int rank;
    hsize_t dims[4], tdims[4];
    snprintf(name, sizeof name, "/spikes/%s/node_ids", population);
    sb_status st = h5_read_all(path, name, H5T_NATIVE_UINT64, (void **)&s->node_ids, &rank, dims);
    if (st)
        return st;
    snprintf(name, sizeof name, "/spikes/%s/timestamps", population);
    st = h5_read_all(path, name, H5T_NATIVE_DOUBLE, (void **)&s->timestamps, &rank, tdims);
    if (!st && dims[0] != tdims[0])
        st = sb_fail(SB_EFORMAT, "%s: population %s has %llu node_ids but %llu timestamps", path,
                     population, (unsigned long long)dims[0], (unsigned long long)tdims[0]);
    if (st) {
        sonata_spikes_free(s);
        return st;
    }
    s->n = dims[0];
    s->sorting = SB_SORT_NONE;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    snprintf(name, sizeof name, "/spikes/%s", population);
    if (f >= 0 && H5Aexists_by_name(f, name, "sorting", H5P_DEFAULT) > 0) {
        hid_t a = H5Aopen_by_name(f, name, "sorting", H5P_DEFAULT, H5P_DEFAULT);
        hid_t type = sorting_type();
        int8_t v = 0;
        if (a >= 0 && H5Aread(a, type, &v) >= 0 && v >= 0 && v <= 2)
            s->sorting = (sb_sorting)v;
        H5Tclose(type);
        if (a >= 0)
            H5Aclose(a);
    }
    H5Eclear2(H5E_DEFAULT);
    if (f >= 0)
        H5Fclose(f);
    return SB_OK;
}

void sonata_spikes_free(sonata_spikes *s)
{
    free(s->node_ids);
    free(s->timestamps);
    memset(s, 0, sizeof *s);
}
