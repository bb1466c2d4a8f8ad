/* The spiking engine gives the same spikes and the same learned weights for
 * any number of ranks and threads, and a run resumed from a checkpoint ends
 * exactly as an uninterrupted one. Every rank builds the network on the
 * world and rank 0 also alone (one rank, 1 and 2 threads): all must agree. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "snn_test_util.h"

static int rank, size;

/* Mixed models, Poisson input, random delays and weights, fixed in-degree
 * and probability, and a plastic projection. */
static const char *NET =
    "[job]\ntask = simulate\nseed = 7\n[simulate]\ndt = 0.1\n"
    "[population.E]\nmodel = lif_cuba\nn = 161\nv_rest = -49\nv_reset = -60\nv_th = -50\n"
    "t_ref = 2\nv_init = uniform:-60:-50\n"
    "[population.I]\nmodel = lif_coba\nn = 43\nv_rest = -60\nv_reset = -60\nv_th = -50\n"
    "tau_m = 10\nt_ref = 1\ntheta_plus = 0.2\ntau_theta = 50\nv_init = uniform:-60:-50\n"
    "[stimulus.in]\ntype = poisson\nn = 37\nrate = uniform:5:40\n"
    "[projection.inE]\npre = in\npost = E\nrule = fixed_prob\np = 0.3\nweight = uniform:0:1\n"
    "delay = uniform:0:2\nplasticity = stdp\nw_max = 1\na_plus = 0.05\na_minus = 0.05\n"
    "[projection.EE]\npre = E\npost = E\nrule = fixed_indegree\nindegree = 9\nweight = normal:1:0.3\n"
    "delay = uniform:0.2:1.5\n"
    "[projection.EI]\npre = E\npost = I\nrule = fixed_prob\np = 0.2\nweight = 0.3\ndelay = 0.3\n"
    "[projection.IE]\npre = I\npost = E\nrule = all_to_all\ntarget = inh\nweight = -1.5\ndelay = 0.2\n"
    "[projection.inI]\npre = in\npost = I\nrule = fixed_prob\np = 0.2\nweight = 0.2\n"
    "plasticity = diehl_cook\nnormalise = 2\n";

/* All recorded spikes of E and I over comm, sorted, on rank 0 of comm. */
static uint64_t *all_spikes(snn_net *net, MPI_Comm comm, int *n)
{
    int r, p;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &p);
    uint64_t local[20000];
    size_t a = snn_test_spikes(net, "E", local, 10000);
    size_t b = snn_test_spikes(net, "I", local + a, 10000);
    for (size_t k = a; k < a + b; k++)
        local[k] |= UINT64_C(1) << 31; /* population I */
    int mine = (int)(a + b), *counts = calloc((size_t)p, sizeof *counts), *displs = calloc((size_t)p, sizeof *displs);
    MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
    int total = 0;
    for (int i = 0; i < p; i++) {
        displs[i] = total;
        total += counts[i];
    }
    uint64_t *out = malloc(((size_t)total + 1) * sizeof *out);
    MPI_Gatherv(local, mine, MPI_UINT64_T, out, counts, displs, MPI_UINT64_T, 0, comm);
    free(counts);
    free(displs);
    for (int i = 1; i < total; i++) /* insertion sort: small */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint64_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    *n = r == 0 ? total : 0;
    return out;
}

/* Weights of projection i as (post index, pre index) -> w, summed into a
 * checksum that does not depend on where synapses are stored. */
static double weight_checksum(snn_net *net, int i, MPI_Comm comm)
{
    snn_proj *pr = snn_net_proj(net, i);
    const snn_pop *post = snn_net_pop(net, pr->post);
    double sum = 0;
    for (uint64_t pre = 0; pre < pr->npre; pre++)
        for (uint64_t s = pr->row[pre]; s < pr->row[pre + 1]; s++) {
            uint64_t j = snn_pop_index(post, pr->tgt[s]);
            sum += (double)pr->w[s] * (double)(1 + (j * 7919 + pre * 104729) % 1000);
        }
    double total = 0;
    MPI_Allreduce(&sum, &total, 1, MPI_DOUBLE, MPI_SUM, comm);
    return total;
}

static snn_net *run_net(MPI_Comm comm, int threads, int64_t steps)
{
    snn_net *net = snn_test_build(NET, comm, threads);
    if (!net)
        return NULL;
    snn_net_record_spikes(net, "E");
    snn_net_record_spikes(net, "I");
    if (snn_net_run(net, steps) != SB_OK) {
        snn_net_free(net);
        return NULL;
    }
    return net;
}

static void test_same_for_any_decomposition(void)
{
    h5_quiet();
    snn_net *world = run_net(MPI_COMM_WORLD, 1, 3000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(world);
    int nw;
    uint64_t *sw = all_spikes(world, MPI_COMM_WORLD, &nw);
    double w1 = weight_checksum(world, 0, MPI_COMM_WORLD), w2 = weight_checksum(world, 4, MPI_COMM_WORLD);
    snn_net *fresh = snn_test_build(NET, MPI_COMM_WORLD, 1); /* the weights did learn */
    CU_ASSERT_PTR_NOT_NULL_FATAL(fresh);
    CU_ASSERT_NOT_EQUAL(weight_checksum(fresh, 0, MPI_COMM_WORLD), w1);
    CU_ASSERT_NOT_EQUAL(weight_checksum(fresh, 4, MPI_COMM_WORLD), w2);
    snn_net_free(fresh);
    if (rank == 0) {
        printf("\n    %d ranks: %d spikes, weight checksums %.10g %.10g\n", size, nw, w1, w2);
        CU_ASSERT(nw > 500);
        for (int threads = 1; threads <= 2; threads++) {
            snn_net *alone = run_net(MPI_COMM_SELF, threads, 3000);
            CU_ASSERT_PTR_NOT_NULL_FATAL(alone);
            int na;
            uint64_t *sa = all_spikes(alone, MPI_COMM_SELF, &na);
            CU_ASSERT_EQUAL(na, nw);
            CU_ASSERT(na == nw && memcmp(sa, sw, (size_t)na * sizeof *sa) == 0);
            CU_ASSERT_EQUAL(weight_checksum(alone, 0, MPI_COMM_SELF), w1);
            CU_ASSERT_EQUAL(weight_checksum(alone, 4, MPI_COMM_SELF), w2);
            free(sa);
            snn_net_free(alone);
        }
    }
    free(sw);
    snn_net_free(world);
    omp_set_num_threads(1);
}

/* Stop after 1400 steps (not a multiple of the exchange interval), save,
 * build afresh with another thread count, load, run to 3000: the same
 * spikes and weights as 3000 steps in one go. */
static void test_checkpoint_resume(void)
{
    const char *dir = sb_test_path("snn.ckpt");
    snn_net *first = run_net(MPI_COMM_WORLD, 1, 1400);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_EQUAL_FATAL(snn_net_save(first, dir, "test"), SB_OK);
    snn_net_free(first);

    snn_net *second = snn_test_build(NET, MPI_COMM_WORLD, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    snn_net_record_spikes(second, "E");
    snn_net_record_spikes(second, "I");
    int loaded = 0;
    CU_ASSERT_EQUAL_FATAL(snn_net_load(second, dir, "test", &loaded), SB_OK);
    CU_ASSERT_EQUAL(loaded, 1);
    CU_ASSERT_EQUAL(snn_net_step(second), 1400);
    CU_ASSERT_EQUAL_FATAL(snn_net_run(second, 1600), SB_OK);
    int nr;
    uint64_t *sr = all_spikes(second, MPI_COMM_WORLD, &nr);
    double w1 = weight_checksum(second, 0, MPI_COMM_WORLD);

    snn_net *whole = run_net(MPI_COMM_WORLD, 1, 3000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    int nw;
    uint64_t *sw = all_spikes(whole, MPI_COMM_WORLD, &nw);
    CU_ASSERT_EQUAL(nr, nw);
    CU_ASSERT(nr == nw && memcmp(sr, sw, (size_t)nr * sizeof *sr) == 0);
    CU_ASSERT_EQUAL(weight_checksum(whole, 0, MPI_COMM_WORLD), w1);
    /* a checkpoint of another job is refused */
    snn_net *other = snn_test_build(NET, MPI_COMM_WORLD, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_NOT_EQUAL(snn_net_load(other, dir, "another job", &loaded), SB_OK);
    snn_net_free(other);
    free(sr);
    free(sw);
    snn_net_free(second);
    snn_net_free(whole);
    omp_set_num_threads(1);
}

static void register_suites(void)
{
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CU_pSuite s = CU_add_suite("snn decomposition", NULL, NULL);
    CU_add_test(s, "same spikes and weights for any ranks and threads", test_same_for_any_decomposition);
    CU_add_test(s, "checkpoint and resume", test_checkpoint_resume);
}

int main(int argc, char **argv) { return sb_test_main(argc, argv, register_suites, 1); }
