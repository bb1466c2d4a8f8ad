/* Work assignment. Blocks are contiguous so that per-item results written
 * in rank order come out in item order, whatever the number of ranks. */
#include "spikebridge/par.h"

void par_block(uint64_t n, int rank, int size, uint64_t *first, uint64_t *count)
{
    uint64_t p = (uint64_t)size, r = (uint64_t)rank;
    uint64_t base = n / p, extra = n % p;
    *first = r * base + (r < extra ? r : extra);
    *count = base + (r < extra ? 1 : 0);
}
