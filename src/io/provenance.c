/* /provenance: enough to know, years later, what produced a file. */
#include "h5_internal.h"

#include <stdlib.h>
#include <time.h>

#include "spikebridge/par.h"
#include "version.h"

sb_status h5_write_provenance(hid_t file, const sb_config *cfg, const char *command_line,
                              int threads, MPI_Comm comm)
{
    int size;
    MPI_Comm_size(comm, &size);
    /* Every rank must pass the same attribute values: take rank 0's clock. */
    long long now = (long long)time(NULL);
    MPI_Bcast(&now, 1, MPI_LONG_LONG, 0, comm);
    time_t t = (time_t)now;
    struct tm utc;
    char when[32];
    gmtime_r(&t, &utc);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    char *hosts = par_hosts(comm);

    hid_t g;
    sb_status st = h5_group(file, "provenance", &g);
    if (st) {
        free(hosts);
        return st;
    }
    st = h5_attr_str(g, "version", SB_VERSION);
    if (!st)
        st = h5_attr_str(g, "created", when);
    if (!st)
        st = h5_attr_str(g, "command_line", command_line);
    if (!st)
        st = h5_attr_str(g, "job_path", sb_cfg_path(cfg));
    if (!st)
        st = h5_attr_i64(g, "ranks", size);
    if (!st)
        st = h5_attr_i64(g, "threads", threads);
    if (!st)
        st = h5_attr_str(g, "hosts", hosts ? hosts : "?");
    if (!st)
        st = h5_write_text(g, "job", sb_cfg_job_text(cfg), comm);
    if (!st)
        st = h5_write_text(g, "overrides", sb_cfg_overrides_text(cfg), comm);
    if (!st)
        st = h5_write_text(g, "effective", sb_cfg_effective_text(cfg), comm);
    H5Gclose(g);
    free(hosts);
    return st;
}
