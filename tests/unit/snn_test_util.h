/* Building small networks from job text in the SNN tests. */
#ifndef SNN_TEST_UTIL_H
#define SNN_TEST_UTIL_H

#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "spikebridge/snn.h"
#include "spikebridge/tasks.h"

/* Builds the network of `text` (a job file) on comm with `threads` threads;
 * NULL on failure (the message is in sb_last_error()). */
static inline snn_net *snn_test_build(const char *text, MPI_Comm comm, int threads)
{
    sb_config *cfg = NULL;
    if (sb_config_parse(&cfg, sb_job_keys, sb_job_nkeys, "test.ini", text, 0, NULL) != SB_OK)
        return NULL;
    par_ctx par = {comm, 0, 1, threads};
    MPI_Comm_rank(comm, &par.rank);
    MPI_Comm_size(comm, &par.size);
    omp_set_num_threads(threads);
    snn_net *net = NULL;
    sb_status st = snn_net_build(&net, cfg, &par);
    sb_config_free(cfg);
    return st ? NULL : net;
}

/* The recorded spikes of population `name` on this rank, as (step, id) keys
 * step * 2^32 + id into out (capacity cap); returns the count. */
static inline size_t snn_test_spikes(const snn_net *net, const char *name, uint64_t *out, size_t cap)
{
    const uint64_t *ids;
    const int64_t *steps;
    uint64_t n = snn_net_recorded(net, name, &ids, &steps);
    for (uint64_t k = 0; k < n && k < cap; k++)
        out[k] = ((uint64_t)steps[k] << 32) | ids[k];
    return (size_t)n;
}

#endif
