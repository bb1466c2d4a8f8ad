/* Reductions of counts and metrics across ranks. */
#include "spikebridge/par.h"

uint64_t par_sum_u64(uint64_t local, MPI_Comm comm)
{
    uint64_t total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_UINT64_T, MPI_SUM, comm);
    return total;
}
