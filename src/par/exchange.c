/* Spike exchange: one MPI_Allgather of counts and one MPI_Allgatherv of keys
 * per exchange interval, then a P-way merge of the sorted runs with a binary
 * heap (n log P), so that delivery order is the global key order. */
#include <stdlib.h>
#include <string.h>

#include "spikebridge/par.h"

sb_status par_exchange_init(par_exchange *x, MPI_Comm comm)
{
    int size;
    MPI_Comm_size(comm, &size);
    memset(x, 0, sizeof *x);
    x->counts = SB_CALLOC((size_t)size, sizeof *x->counts);
    x->displs = SB_CALLOC((size_t)size, sizeof *x->displs);
    x->heap = SB_CALLOC((size_t)size, sizeof *x->heap);
    x->pos = SB_CALLOC((size_t)size, sizeof *x->pos);
    if (!x->counts || !x->displs || !x->heap || !x->pos) {
        par_exchange_free(x);
        return SB_ENOMEM;
    }
    return SB_OK;
}

void par_exchange_free(par_exchange *x)
{
    free(x->counts);
    free(x->displs);
    free(x->recv);
    free(x->merged);
    free(x->heap);
    free(x->pos);
    memset(x, 0, sizeof *x);
}

static int grow(uint64_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    uint64_t *b = realloc(*buf, c * sizeof *b);
    if (!b)
        return 0;
    *buf = b;
    *cap = c;
    return 1;
}

/* Heap of ranks keyed by the next key of their run. */
static uint64_t head(const par_exchange *x, int r) { return x->recv[x->displs[r] + x->pos[r]]; }

static void sift_down(par_exchange *x, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < n && head(x, x->heap[l]) < head(x, x->heap[m]))
            m = l;
        if (l + 1 < n && head(x, x->heap[l + 1]) < head(x, x->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        int t = x->heap[i];
        x->heap[i] = x->heap[m];
        x->heap[m] = t;
        i = m;
    }
}

sb_status par_exchange_spikes(par_exchange *x, MPI_Comm comm, const uint64_t *keys, size_t n,
                              const uint64_t **all, size_t *nall)
{
    int size;
    MPI_Comm_size(comm, &size);
    if (size == 1) {
        *all = keys;
        *nall = n;
        return SB_OK;
    }
    if (n > (size_t)INT32_MAX)
        return sb_fail(SB_EINVAL, "spike exchange: %zu spikes in one interval on one rank", n);
    int mine = (int)n;
    if (MPI_Allgather(&mine, 1, MPI_INT, x->counts, 1, MPI_INT, comm) != MPI_SUCCESS)
        return sb_fail(SB_EMPI, "spike exchange: MPI_Allgather failed");
    size_t total = 0;
    for (int r = 0; r < size; r++) {
        if (total > (size_t)INT32_MAX)
            return sb_fail(SB_EINVAL, "spike exchange: over 2^31 spikes in one interval");
        x->displs[r] = (int)total;
        total += (size_t)x->counts[r];
    }
    if (!grow(&x->recv, &x->recv_cap, total + 1) || !grow(&x->merged, &x->merged_cap, total + 1))
        return sb_fail(SB_ENOMEM, "spike exchange: no memory for %zu spikes", total);
    if (MPI_Allgatherv(keys, mine, MPI_UINT64_T, x->recv, x->counts, x->displs, MPI_UINT64_T,
                       comm) != MPI_SUCCESS)
        return sb_fail(SB_EMPI, "spike exchange: MPI_Allgatherv failed");
    int h = 0;
    for (int r = 0; r < size; r++) {
        x->pos[r] = 0;
        if (x->counts[r] > 0)
            x->heap[h++] = r;
    }
    for (int i = h / 2 - 1; i >= 0; i--)
        sift_down(x, h, i);
    size_t out = 0;
    while (h > 0) {
        int r = x->heap[0];
        x->merged[out++] = head(x, r);
        if (++x->pos[r] == x->counts[r])
            x->heap[0] = x->heap[--h];
        sift_down(x, h, 0);
    }
    *all = x->merged;
    *nall = total;
    return SB_OK;
}

sb_status par_gather_f64(MPI_Comm comm, const double *buf, uint64_t n, double **out, uint64_t *nout)
{
    int size, rank;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    *out = NULL;
    *nout = 0;
    if (n > (uint64_t)INT32_MAX)
        return sb_fail(SB_EINVAL, "gather: %llu values on one rank", (unsigned long long)n);
    int mine = (int)n;
    int *counts = SB_CALLOC((size_t)size, sizeof *counts), *displs = SB_CALLOC((size_t)size, sizeof *displs);
    sb_status st = counts && displs ? SB_OK : SB_ENOMEM;
    if (!st && MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm) != MPI_SUCCESS)
        st = sb_fail(SB_EMPI, "gather: MPI_Gather failed");
    uint64_t total = 0;
    if (!st && rank == 0) {
        for (int r = 0; r < size; r++) {
            displs[r] = (int)total;
            total += (uint64_t)counts[r];
        }
        *out = SB_MALLOC(total + 1, sizeof **out);
        if (!*out) {
            /* The Gatherv below still runs so that no rank hangs; receiving
             * nothing makes it fail instead of writing past a buffer. */
            st = SB_ENOMEM;
            memset(counts, 0, (size_t)size * sizeof *counts);
            total = 0;
        }
    }
    double dummy;
    if (MPI_Gatherv(n ? buf : &dummy, mine, MPI_DOUBLE, *out ? *out : &dummy, counts, displs,
                    MPI_DOUBLE, 0, comm) != MPI_SUCCESS && !st)
        st = sb_fail(SB_EMPI, "gather: MPI_Gatherv failed");
    *nout = total;
    free(counts);
    free(displs);
    return st;
}
