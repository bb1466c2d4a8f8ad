/* Reductions of counts and metrics across ranks. */
#include "spikebridge/par.h"

int par_any(int flag, MPI_Comm comm)
{
    int local = flag != 0, any = 0;
    MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}

uint64_t par_sum_u64(uint64_t local, MPI_Comm comm)
{
    uint64_t total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_UINT64_T, MPI_SUM, comm);
    return total;
}
