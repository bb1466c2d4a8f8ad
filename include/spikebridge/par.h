/*
 * par.h — the MPI side: the world, work assignment, agreement on failure.
 *
 * Engines never call MPI directly; they use these helpers (and io.h for
 * collective files), so that the rules "results do not depend on the rank
 * count" and "a failure on one rank stops every rank cleanly" live here.
 */
#ifndef SPIKEBRIDGE_PAR_H
#define SPIKEBRIDGE_PAR_H

#include <mpi.h>

#include "spikebridge/core.h"

typedef struct {
    MPI_Comm comm; /* the communicator the job runs on */
    int rank;      /* this process in comm */
    int size;      /* processes in comm */
    int threads;   /* OpenMP threads per process (omp_get_max_threads) */
} par_ctx;

/* MPI_Init_thread (FUNNELED: only the main thread calls MPI) on the world. */
sb_status par_init(int *argc, char ***argv, par_ctx *ctx);
void par_finalize(void);

/* Collective barrier that waits without spinning a core (polls every 20 ms):
 * for ranks that finished their share while others still compute. */
void par_idle_barrier(MPI_Comm comm);

/* Collective. SB_OK when every rank passed SB_OK; otherwise `local` where it
 * failed and SB_EPEER ("failed on another rank") everywhere else. Call it
 * before any collective that a failed rank would skip. */
sb_status par_agree(sb_status local, MPI_Comm comm);

/* Collective. The lowest rank whose status is not SB_OK, or -1 if none:
 * that rank prints the job's one error line. */
int par_first_failure(sb_status local, MPI_Comm comm);

/* Splits items [0, n) into `size` contiguous blocks that differ by at most
 * one; block `rank` is [*first, *first + *count). Contiguous blocks keep
 * per-item outputs in item order when gathered in rank order. */
void par_block(uint64_t n, int rank, int size, uint64_t *first, uint64_t *count);

/* Collective. 1 on every rank if flag is non-zero on any (a stop request
 * seen by one rank must stop all of them at the same point). */
int par_any(int flag, MPI_Comm comm);

/* Collective. Sum of a local count over all ranks. */
uint64_t par_sum_u64(uint64_t local, MPI_Comm comm);

/* Collective. The distinct host names of all ranks, comma-separated, in
 * rank order of first appearance. Free with free(). */
char *par_hosts(MPI_Comm comm);

/* ------------------------------------------------------------------ spike exchange */

/* The one place where spikes cross ranks. A spike is a 64-bit key whose
 * order is the delivery order (the engine packs (step offset, gid)); every
 * rank contributes its keys in ascending order and receives the keys of all
 * ranks merged in ascending order, so what follows does not depend on how
 * neurons are spread over ranks. Buffers are kept between calls. */
typedef struct {
    int *counts, *displs; /* per rank */
    uint64_t *recv, *merged;
    size_t recv_cap, merged_cap;
    int *heap;            /* merge heap of rank indices */
    int *pos;             /* next key of each rank's run */
} par_exchange;

sb_status par_exchange_init(par_exchange *x, MPI_Comm comm);
void par_exchange_free(par_exchange *x);
/* Collective. keys: this rank's n keys, ascending. *all points into x (or to
 * keys on one rank) and holds *nall keys until the next call. */
sb_status par_exchange_spikes(par_exchange *x, MPI_Comm comm, const uint64_t *keys, size_t n,
                              const uint64_t **all, size_t *nall);

/* Collective. Gathers every rank's n doubles on rank 0 in rank order into a
 * new buffer (*out, *nout; NULL and 0 elsewhere). */
sb_status par_gather_f64(MPI_Comm comm, const double *buf, uint64_t n, double **out, uint64_t *nout);

#endif
