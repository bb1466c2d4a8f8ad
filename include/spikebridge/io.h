/*
 * io.h — result files in parallel HDF5: atomic creation, collective
 * datasets, attributes, SONATA spikes and provenance.
 *
 * Every file is written under "<path>.part" by all ranks together and
 * renamed to <path> only when it is complete, so a killed or failed job
 * never leaves a partial file under the final name.
 */
#ifndef SPIKEBRIDGE_IO_H
#define SPIKEBRIDGE_IO_H

#include <hdf5.h>
#include <mpi.h>

#include "spikebridge/config.h"
#include "spikebridge/core.h"

#if !defined(H5_HAVE_PARALLEL)
#error "SpikeBridge needs HDF5 built with MPI (parallel HDF5; Debian: libhdf5-openmpi-dev)"
#endif

/* ------------------------------------------------------------------ files */

typedef struct {
    hid_t id;          /* the open HDF5 file */
    MPI_Comm comm;     /* the ranks writing it */
    char path[4096];   /* final name */
    char tmp[4112];    /* name while being written */
} h5_out;

/* Collective. Creates the parent directory if needed and opens <path>.part
 * for writing with the MPI-IO driver. */
sb_status h5_create(h5_out *f, const char *path, MPI_Comm comm);

/* Collective. Closes the file and renames it to its final name. */
sb_status h5_commit(h5_out *f);

/* Collective. Closes and deletes the temporary file (after a failure). */
void h5_discard(h5_out *f);

/* Silences HDF5's own error printing: failures come back as sb_status with
 * the innermost HDF5 message attached. Call once at start. */
void h5_quiet(void);

/* ------------------------------------------------------------------ writing */

/* Collective. Creates group `path` under loc, with missing parents. */
sb_status h5_group(hid_t loc, const char *path, hid_t *group);

/* Collective. Writes dataset `name` (groups in the name are created) of
 * shape [total_rows, inner...], where total_rows is the sum of local_rows
 * over the ranks and rank r's rows follow rank r-1's. `type` is a native
 * memory type (H5T_NATIVE_DOUBLE, ...); the file keeps the same type. A rank
 * may hold no rows; all ranks holding none gives an empty dataset. */
sb_status h5_write_rows(hid_t loc, const char *name, hid_t type, int inner_rank,
                        const hsize_t *inner, const void *buf, uint64_t local_rows,
                        MPI_Comm comm);

/* Collective. A scalar string dataset (for long texts such as job files);
 * every rank must pass the same text. */
sb_status h5_write_text(hid_t loc, const char *name, const char *text, MPI_Comm comm);

/* Collective (attributes are metadata: every rank passes the same value). */
sb_status h5_attr_str(hid_t obj, const char *name, const char *value);
sb_status h5_attr_f64(hid_t obj, const char *name, double value);
sb_status h5_attr_i64(hid_t obj, const char *name, int64_t value);
sb_status h5_attr_u32s(hid_t obj, const char *name, const uint32_t *values, int n);

/* ------------------------------------------------------------------ reading */

/* Reads a whole 1-D or N-D dataset of a numeric type into a new buffer
 * converted to `type`; dims (up to 4) and rank are returned. Serial: any
 * rank may call it on its own. */
sb_status h5_read_all(const char *path, const char *name, hid_t type, void **buf,
                      int *rank, hsize_t dims[4]);

/* Reads attribute `name` of object `obj` (a group or dataset path) in the
 * file at path: a string (any HDF5 string type, truncated to len - 1) or a
 * number converted to double. Serial. */
sb_status h5_read_attr_str(const char *path, const char *obj, const char *name, char *buf,
                           size_t len);
sb_status h5_read_attr_f64(const char *path, const char *obj, const char *name, double *value);

/* ------------------------------------------------------------------ SONATA */

typedef enum { SB_SORT_NONE = 0, SB_SORT_BY_ID = 1, SB_SORT_BY_TIME = 2 } sb_sorting;

/* Collective. Root attributes magic = 0x0A7A and version = {0, 1}. */
sb_status sonata_write_header(hid_t file);

/* Collective. /spikes/<population>/{node_ids (uint64), timestamps (float64,
 * units "ms")} and the group's `sorting` attribute. Rank r's n spikes
 * follow rank r-1's; `sorting` must describe the concatenation. */
sb_status sonata_write_spikes(hid_t file, const char *population, const uint64_t *node_ids,
                              const double *timestamps, uint64_t n, sb_sorting sorting,
                              MPI_Comm comm);

/* All spikes of one population, read serially. */
typedef struct {
    uint64_t n;
    uint64_t *node_ids;
    double *timestamps;
    sb_sorting sorting;
} sonata_spikes;

sb_status sonata_read_spikes(const char *path, const char *population, sonata_spikes *s);
void sonata_spikes_free(sonata_spikes *s);

/* ------------------------------------------------------------------ provenance */

/* Collective. /provenance: job path and text, overrides, effective values,
 * version, command line, ranks, threads, hosts and the UTC start time. */
sb_status h5_write_provenance(hid_t file, const sb_config *cfg, const char *command_line,
                              int threads, MPI_Comm comm);

/* ------------------------------------------------------------------ checkpoints */

/* One array of a checkpoint: n elements of a native type. */
typedef struct {
    const char *name;
    hid_t type;        /* H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_NATIVE_INT64 */
    void *data;
    uint64_t n;
} h5_blob;

/* Writes a checkpoint atomically by one process (MPI_COMM_SELF): under
 * <path>.part, then renamed, so the previous checkpoint survives a crash
 * during this one. `tag` says what made it (kind, architecture, sizes). */
sb_status h5_ckpt_save(const char *path, const char *tag, const h5_blob *blobs, int n);

/* 1 if a checkpoint file exists at path. */
int h5_ckpt_exists(const char *path);

/* Reads every blob back; its tag and every array's length must match,
 * otherwise SB_EFORMAT says what differs and what to do. */
sb_status h5_ckpt_load(const char *path, const char *tag, const h5_blob *blobs, int n);

/* ------------------------------------------------------------------ inspection */

/* Prints what a result file holds: its task, provenance, and every dataset
 * with shape and type. Serial. */
sb_status h5_print_info(FILE *out, const char *path);

#endif
