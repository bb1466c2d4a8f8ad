/* Shared by the files of src/io: HDF5 failures as sb_status. */
#ifndef SB_IO_H5_INTERNAL_H
#define SB_IO_H5_INTERNAL_H

#include "spikebridge/io.h"

/* Records "<what>: <innermost HDF5 message>" and returns SB_EHDF5. */
sb_status h5_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Name of the file an object lives in, for messages ("?" if unknown). */
const char *h5_filename(hid_t obj, char *buf, size_t len);

#endif
