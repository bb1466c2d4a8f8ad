/* The MPI world of a job, and agreement on failure. */
#include "spikebridge/par.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

sb_status par_init(int *argc, char ***argv, par_ctx *ctx)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return sb_fail(SB_EMPI, "MPI_Init_thread failed");
    /* Errors come back as codes so that the library can report them. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    ctx->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(ctx->comm, &ctx->rank);
    MPI_Comm_size(ctx->comm, &ctx->size);
    ctx->threads = omp_get_max_threads();
    if (provided < MPI_THREAD_FUNNELED)
        return sb_fail(SB_EMPI, "the MPI library offers no thread support (MPI_THREAD_FUNNELED)");
    return SB_OK;
}

void par_finalize(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done)
        MPI_Finalize();
}

/* Ranks that finished their work wait here without spinning a core (blocking
 * MPI collectives busy-poll): an ensemble rank done with its members would
 * otherwise burn a core for as long as the last member trains, and a
 * shared node loses it. Every rank calls it: a non-blocking barrier matches
 * only non-blocking barriers. Costs the last rank to arrive one poll
 * interval at most. */
void par_idle_barrier(MPI_Comm comm)
{
    MPI_Request req;
    MPI_Ibarrier(comm, &req);
    int done = 0;
    while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

sb_status par_agree(sb_status local, MPI_Comm comm)
{
    int mine = local, worst = 0;
    if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return sb_fail(SB_EMPI, "MPI_Allreduce failed while agreeing on a status");
    if (worst == SB_OK)
        return SB_OK;
    if (local != SB_OK)
        return local;
    return sb_fail(SB_EPEER, "failed on another rank");
}

int par_first_failure(sb_status local, MPI_Comm comm)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local != SB_OK && local != SB_EPEER ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first < size)
        return first;
    /* Only peers reported failure: nobody holds the original message. */
    mine = local != SB_OK ? rank : size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    return first < size ? first : -1;
}

char *par_hosts(MPI_Comm comm)
{
    int rank, size, len = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    MPI_Get_processor_name(name, &len);
    char *all = SB_CALLOC((size_t)size, MPI_MAX_PROCESSOR_NAME);
    char *out = SB_CALLOC((size_t)size, MPI_MAX_PROCESSOR_NAME + 1);
    if (par_agree(all && out ? SB_OK : SB_ENOMEM, comm) != SB_OK) {
        free(all);
        free(out);
        return NULL;
    }
    MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME,
                  MPI_CHAR, comm);
    for (int r = 0; r < size; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = strcmp(h, all + (size_t)q * MPI_MAX_PROCESSOR_NAME) == 0;
        if (seen)
            continue;
        if (out[0])
            strcat(out, ",");
        strcat(out, h);
    }
    free(all);
    return out;
}
