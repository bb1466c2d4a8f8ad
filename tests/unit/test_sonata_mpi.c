/* Collective result files: SONATA spikes, row blocks, text, atomic rename.
 * Run with 1, 2 and 3 ranks; rank 1 always holds no spikes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "spikebridge/io.h"
#include "spikebridge/par.h"

static int rank, size;

/* Rank r's spikes: none on rank 1, else 4 + r spikes; values encode (r, k). */
static uint64_t local_count(int r) { return r == 1 ? 0 : (uint64_t)(4 + r); }
static uint64_t id_of(int r, uint64_t k) { return (uint64_t)r * 1000 + k; }
static double time_of(int r, uint64_t k) { return r * 10.0 + k * 0.25; }

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void write_spike_file(const char *path, int empty_everywhere)
{
    uint64_t n = empty_everywhere ? 0 : local_count(rank);
    uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    double *ts = malloc((n ? n : 1) * sizeof *ts);
    for (uint64_t k = 0; k < n; k++) {
        ids[k] = id_of(rank, k);
        ts[k] = time_of(rank, k);
    }
    h5_out f;
    CU_ASSERT_EQUAL_FATAL(h5_create(&f, path, MPI_COMM_WORLD), SB_OK);
    CU_ASSERT(!exists(path));
    CU_ASSERT(exists(f.tmp));
    CU_ASSERT_EQUAL(sonata_write_header(f.id), SB_OK);
    CU_ASSERT_EQUAL(sonata_write_spikes(f.id, "exc", ids, ts, n, SB_SORT_BY_TIME, MPI_COMM_WORLD), SB_OK);
    CU_ASSERT_EQUAL(h5_commit(&f), SB_OK);
    CU_ASSERT(exists(path));
    CU_ASSERT(!exists(f.tmp));
    free(ids);
    free(ts);
}

static void test_spikes_round_trip(void)
{
    const char *path = sb_test_path("spikes.h5");
    write_spike_file(path, 0);
    sonata_spikes s;
    CU_ASSERT_EQUAL_FATAL(sonata_read_spikes(path, "exc", &s), SB_OK);
    uint64_t total = 0;
    for (int r = 0; r < size; r++)
        total += local_count(r);
    CU_ASSERT_EQUAL_FATAL(s.n, total);
    CU_ASSERT_EQUAL(s.sorting, SB_SORT_BY_TIME);
    uint64_t i = 0;
    for (int r = 0; r < size; r++)
        for (uint64_t k = 0; k < local_count(r); k++, i++) {
            CU_ASSERT_EQUAL(s.node_ids[i], id_of(r, k));
            CU_ASSERT_EQUAL(s.timestamps[i], time_of(r, k));
        }
    sonata_spikes_free(&s);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* The layout other SONATA readers expect, checked with the HDF5 API. */
static void test_spikes_layout(void)
{
    const char *path = sb_test_path("layout.h5");
    write_spike_file(path, 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    uint32_t magic = 0, version[2] = {9, 9};
    hid_t a = H5Aopen(f, "magic", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT32, &magic);
    H5Aclose(a);
    a = H5Aopen(f, "version", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT32, version);
    H5Aclose(a);
    CU_ASSERT_EQUAL(magic, 0x0A7A);
    CU_ASSERT(version[0] == 0 && version[1] == 1);
    hid_t d = H5Dopen2(f, "/spikes/exc/node_ids", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    CU_ASSERT(H5Tequal(t, H5T_STD_U64LE) > 0);
    H5Tclose(t);
    H5Dclose(d);
    d = H5Dopen2(f, "/spikes/exc/timestamps", H5P_DEFAULT);
    t = H5Dget_type(d);
    CU_ASSERT(H5Tequal(t, H5T_IEEE_F64LE) > 0);
    H5Tclose(t);
    a = H5Aopen(d, "units", H5P_DEFAULT);
    char *units = NULL;
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    CU_ASSERT(a >= 0 && H5Aread(a, st, &units) >= 0);
    CU_ASSERT(units && strcmp(units, "ms") == 0);
    H5free_memory(units);
    H5Tclose(st);
    H5Aclose(a);
    H5Dclose(d);
    hid_t g = H5Gopen2(f, "/spikes/exc", H5P_DEFAULT);
    a = H5Aopen(g, "sorting", H5P_DEFAULT);
    t = H5Aget_type(a);
    CU_ASSERT_EQUAL(H5Tget_class(t), H5T_ENUM);
    char name[16] = "";
    int8_t v = -1;
    H5Aread(a, t, &v);
    H5Tenum_nameof(t, &v, name, sizeof name);
    CU_ASSERT_STRING_EQUAL(name, "by_time");
    H5Tclose(t);
    H5Aclose(a);
    H5Gclose(g);
    H5Fclose(f);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Every rank empty: HDF5 1.10 cannot write 0 bytes collectively; the file
 * must still be complete, with datasets of shape (0,). */
static void test_all_ranks_empty(void)
{
    const char *path = sb_test_path("empty.h5");
    write_spike_file(path, 1);
    sonata_spikes s;
    CU_ASSERT_EQUAL_FATAL(sonata_read_spikes(path, "exc", &s), SB_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    sonata_spikes_free(&s);
    MPI_Barrier(MPI_COMM_WORLD);
}

static void test_rows_and_text(void)
{
    const char *path = sb_test_path("rows.h5");
    uint64_t n = (uint64_t)rank + 1; /* rank r holds r + 1 rows of 3 floats */
    float *rows = malloc(n * 3 * sizeof *rows);
    for (uint64_t k = 0; k < n * 3; k++)
        rows[k] = (float)(rank * 100 + (int)k);
    h5_out f;
    CU_ASSERT_EQUAL_FATAL(h5_create(&f, path, MPI_COMM_WORLD), SB_OK);
    hsize_t inner = 3;
    CU_ASSERT_EQUAL(h5_write_rows(f.id, "a/b/rows", H5T_NATIVE_FLOAT, 1, &inner, rows, n, MPI_COMM_WORLD), SB_OK);
    CU_ASSERT_EQUAL(h5_write_text(f.id, "a/text", "line one\nline two\n", MPI_COMM_WORLD), SB_OK);
    CU_ASSERT_EQUAL(h5_commit(&f), SB_OK);
    float *back = NULL;
    int nd = 0;
    hsize_t dims[4];
    CU_ASSERT_EQUAL_FATAL(h5_read_all(path, "/a/b/rows", H5T_NATIVE_FLOAT, (void **)&back, &nd, dims), SB_OK);
    CU_ASSERT_EQUAL(nd, 2);
    CU_ASSERT_EQUAL(dims[0], (hsize_t)(size * (size + 1) / 2));
    CU_ASSERT_EQUAL(dims[1], 3);
    uint64_t i = 0;
    for (int r = 0; r < size; r++)
        for (int k = 0; k < (r + 1) * 3; k++, i++)
            CU_ASSERT_EQUAL(back[i], (float)(r * 100 + k));
    free(back);
    free(rows);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(file, "/a/text", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    char text[64] = "";
    CU_ASSERT(H5Tget_size(t) == strlen("line one\nline two\n"));
    H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text);
    CU_ASSERT_STRING_EQUAL(text, "line one\nline two\n");
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(file);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* A one-row uint64 dataset NAME in f (collective). */
static sb_status write_one_row(const h5_out *f, const char *name)
{
    uint64_t one = 1;
    return h5_write_rows(f->id, name, H5T_NATIVE_UINT64, 0, NULL, &one, 1, MPI_COMM_WORLD);
}

static void test_discard_leaves_nothing(void)
{
    const char *path = sb_test_path("sub/dir/discarded.h5");
    h5_out f;
    CU_ASSERT_EQUAL_FATAL(h5_create(&f, path, MPI_COMM_WORLD), SB_OK);
    CU_ASSERT_EQUAL(write_one_row(&f, "x"), SB_OK);
    h5_discard(&f);
    CU_ASSERT(!exists(path));
    CU_ASSERT(!exists(f.tmp));
    MPI_Barrier(MPI_COMM_WORLD);
}

static void test_read_errors_name_the_file(void)
{
    sonata_spikes s;
    const char *missing = sb_test_path("missing.h5");
    CU_ASSERT_EQUAL(sonata_read_spikes(missing, "exc", &s), SB_EHDF5);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), "missing.h5"));
    const char *path = sb_test_path("spikes.h5"); /* written by the round trip */
    CU_ASSERT_EQUAL(sonata_read_spikes(path, "inh", &s), SB_EHDF5);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), "/spikes/inh/node_ids"));
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Write errors name the file being written (its temporary name: the final
 * one does not exist yet) and the object. */
static void test_write_errors_name_the_file(void)
{
    const char *path = sb_test_path("write_errors.h5");
    h5_out f;
    CU_ASSERT_EQUAL_FATAL(h5_create(&f, path, MPI_COMM_WORLD), SB_OK);
    CU_ASSERT_EQUAL(write_one_row(&f, "x"), SB_OK);
    CU_ASSERT_EQUAL(write_one_row(&f, "x"), SB_EHDF5);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), f.tmp));
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), ": cannot create dataset x"));
    hid_t g = -1;
    CU_ASSERT_EQUAL(h5_group(f.id, "x", &g), SB_EHDF5); /* a dataset, not a group */
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), ": cannot create group x"));
    CU_ASSERT_EQUAL(h5_write_text(f.id, "x", "text", MPI_COMM_WORLD), SB_EHDF5);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_last_error(), ": cannot write text x"));
    h5_discard(&f);
    CU_ASSERT(!exists(path));
    MPI_Barrier(MPI_COMM_WORLD);
}

static void register_suites(void)
{
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    h5_quiet();
    CU_pSuite s = CU_add_suite("sonata and result files", NULL, NULL);
    CU_add_test(s, "spikes round trip, one rank empty", test_spikes_round_trip);
    CU_add_test(s, "SONATA layout: magic, version, types, units, sorting", test_spikes_layout);
    CU_add_test(s, "all ranks empty", test_all_ranks_empty);
    CU_add_test(s, "2-D row blocks and text", test_rows_and_text);
    CU_add_test(s, "discard leaves no file", test_discard_leaves_nothing);
    CU_add_test(s, "read errors name the file", test_read_errors_name_the_file);
    CU_add_test(s, "write errors name the file", test_write_errors_name_the_file);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 1); }
