/*
 * Task `simulate`: builds the spiking network of the job's [population.*],
 * [stimulus.*] and [projection.*] sections, runs it for simulate.duration and
 * writes the recorded spikes (SONATA), state probes (frame reports) and a
 * summary (/simulate: wall times of construction and simulation, real-time
 * factor, spikes and rates, synapses and their memory, peak RSS).
 * Checkpoints go to <output>.ckpt/ every simulate.checkpoint_every ms and on
 * SIGUSR1/SIGTERM; the same job started again resumes from there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spikebridge/snn.h"
#include "spikebridge/tasks.h"

sb_status sb_task_simulate_check(const sb_job *job)
{
    const sb_config *c = job->cfg;
    double dt = sb_cfg_real(c, "simulate", "dt"), T = sb_cfg_real(c, "simulate", "duration");
    if (T / dt > 1e15)
        return sb_fail(SB_ECONFIG, "%s: simulate.duration / dt = %g steps is too many",
                       sb_cfg_where(c, "simulate", "duration"), T / dt);
    const char *const *items;
    int n = sb_cfg_list(c, "record", "traces", &items);
    for (int i = 0; i < n; i++) {
        char pop[64], var[16];
        unsigned long long idx;
        if (sscanf(items[i], "%63[^:]:%llu:%15s", pop, &idx, var) != 3)
            return sb_fail(SB_ECONFIG, "%s: record.traces item '%s' is not pop:index:var",
                           sb_cfg_where(c, "record", "traces"), items[i]);
        int known = 0;
        for (int v = 0; v < SNN_VAR_COUNT_; v++)
            known |= strcmp(var, snn_var_names[v]) == 0;
        if (!known)
            return sb_fail(SB_ECONFIG, "%s: record.traces item '%s': variable '%s' is not v, ge, gi or theta",
                           sb_cfg_where(c, "record", "traces"), items[i], var);
    }
    return SB_OK;
}

static sb_status setup_records(snn_net *net, const sb_config *c)
{
    const char *const *items;
    int n = sb_cfg_list(c, "record", "spikes", &items);
    sb_status st = SB_OK;
    for (int i = 0; i < n && !st; i++) {
        if (strcmp(items[i], "none") == 0)
            continue;
        if (strcmp(items[i], "all") == 0) {
            for (int p = 0; p < snn_net_npops(net) && !st; p++)
                st = snn_net_record_spikes(net, snn_net_pop(net, p)->name);
        } else {
            st = snn_net_record_spikes(net, items[i]);
        }
    }
    n = sb_cfg_list(c, "record", "traces", &items);
    int every = (int)sb_cfg_int(c, "record", "trace_every");
    for (int i = 0; i < n && !st; i++) {
        snn_probe pr;
        char var[16];
        unsigned long long idx;
        memset(&pr, 0, sizeof pr);
        sscanf(items[i], "%63[^:]:%llu:%15s", pr.pop, &idx, var);
        pr.index = idx;
        for (int v = 0; v < SNN_VAR_COUNT_; v++)
            if (strcmp(var, snn_var_names[v]) == 0)
                pr.var = (snn_var)v;
        st = snn_net_record_probe(net, &pr, every);
    }
    if (st)
        return sb_fail_context(st, "%s", sb_cfg_where(c, "record", "spikes"));
    return SB_OK;
}

typedef struct {
    double build_s, sim_s;
} timing;

static sb_status write_summary(const sb_job *job, snn_net *net, hid_t file, const timing *tm)
{
    MPI_Comm comm = job->par->comm;
    double dt = snn_net_dt(net), T = (double)snn_net_step(net) * dt;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss = (double)ru.ru_maxrss * 1024.0, rss_max = 0;
    MPI_Allreduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, comm);
    uint64_t syn = par_sum_u64(snn_net_synapses(net), comm);
    uint64_t bytes = par_sum_u64(snn_net_synapse_bytes(net), comm);
    hid_t g;
    sb_status st = h5_group(file, "simulate", &g);
    if (st)
        return st;
    st = h5_attr_f64(g, "duration_ms", T);
    if (!st) st = h5_attr_f64(g, "dt_ms", dt);
    if (!st) st = h5_attr_f64(g, "build_s", tm->build_s);
    if (!st) st = h5_attr_f64(g, "sim_s", tm->sim_s);
    if (!st) st = h5_attr_f64(g, "realtime_factor", tm->sim_s > 0 ? T * 1e-3 / tm->sim_s : 0);
    if (!st) st = h5_attr_i64(g, "synapses", (int64_t)syn);
    if (!st) st = h5_attr_f64(g, "synapse_bytes", (double)bytes);
    if (!st) st = h5_attr_f64(g, "peak_rss_bytes_max_rank", rss_max);
    if (!st) st = h5_attr_i64(g, "ranks", job->par->size);
    if (!st) st = h5_attr_i64(g, "threads", job->par->threads);
    uint64_t events = 0;
    for (int p = 0; p < snn_net_npops(net) && !st; p++) {
        const snn_pop *pop = snn_net_pop(net, p);
        uint64_t n = snn_net_spike_count(net, p);
        double rate = T > 0 ? (double)n / ((double)pop->n * T * 1e-3) : 0;
        char name[96];
        snprintf(name, sizeof name, "spikes_%s", pop->name);
        st = h5_attr_i64(g, name, (int64_t)n);
        snprintf(name, sizeof name, "rate_hz_%s", pop->name);
        if (!st)
            st = h5_attr_f64(g, name, rate);
        sb_info("simulate: %-10s %10llu neurons %12llu spikes %8.3f Hz", pop->name,
                (unsigned long long)pop->n, (unsigned long long)n, rate);
        events += n;
    }
    H5Gclose(g);
    sb_info("simulate: %g ms in %.3f s (real-time factor %.3g), construction %.3f s; %llu synapses, "
            "%.1f bytes each, peak RSS %.0f MiB per rank",
            T, tm->sim_s, tm->sim_s > 0 ? T * 1e-3 / tm->sim_s : 0, tm->build_s, (unsigned long long)syn,
            syn ? (double)bytes / (double)syn : 0, rss_max / 1048576.0);
    (void)events;
    return st;
}

sb_status sb_task_simulate_run(const sb_job *job)
{
    const sb_config *c = job->cfg;
    char out[4096], dir[4200], tag[128];
    sb_job_output(job, out, sizeof out);
    snprintf(dir, sizeof dir, "%s.ckpt", out);
    sb_job_tag(job, "simulate v3", tag, sizeof tag); /* v3: lif_cuba stores ĝ, not g */
    timing tm = {0};
    double t0 = sb_now();
    snn_net *net = NULL;
    sb_status st = snn_net_build(&net, c, job->par);
    if (st)
        return st;
    st = par_agree(setup_records(net, c), job->par->comm);
    tm.build_s = sb_now() - t0;
    int loaded = 0;
    if (!st)
        st = snn_net_load(net, dir, tag, &loaded);
    double dt = snn_net_dt(net);
    int64_t total = llround(sb_cfg_real(c, "simulate", "duration") / dt);
    if (!st && loaded)
        sb_info("simulate: resumed from %s at %g ms", dir, (double)snn_net_step(net) * dt);
    double every = sb_cfg_real(c, "simulate", "checkpoint_every");
    int64_t chunk = every > 0 ? (int64_t)fmax(1, llround(every / dt)) : total;
    double t1 = sb_now();
    while (!st && snn_net_step(net) < total) {
        int64_t n = total - snn_net_step(net);
        st = snn_net_run(net, n < chunk ? n : chunk);
        if (st == SB_EINTERRUPTED || (!st && every > 0 && snn_net_step(net) < total)) {
            sb_status cs = snn_net_save(net, dir, tag);
            if (cs)
                st = cs;
            else if (st == SB_EINTERRUPTED)
                sb_info("simulate: stopped at %g ms; checkpoint in %s (run the same job to resume)",
                        (double)snn_net_step(net) * dt, dir);
        }
    }
    tm.sim_s = sb_now() - t1;
    if (!st) {
        h5_out f;
        st = h5_create(&f, out, job->par->comm);
        if (!st) {
            st = h5_attr_str(f.id, "task", "simulate");
            if (!st)
                st = sonata_write_header(f.id);
            if (!st)
                st = snn_net_write_records(net, f.id);
            if (!st)
                st = write_summary(job, net, f.id, &tm);
            st = sb_job_finish_output(job, &f, st);
        }
        if (!st) {
            sb_info("simulate: wrote %s", out);
            if (job->par->rank == 0)
                snn_checkpoint_remove(dir, job->par->size);
        }
    }
    snn_net_free(net);
    return st;
}
