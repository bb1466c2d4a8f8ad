/*
 * Task `encode`: MNIST-like images → spike trains → one SONATA file.
 *
 * Images are split across ranks in contiguous blocks by image index; every
 * random stream belongs to an image, so the file's spike datasets are the
 * same bytes whatever the number of ranks or threads. Each image's spikes
 * are sorted by time and images follow each other in time, so the gathered
 * datasets are sorted by time as a whole.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/data.h"
#include "spikebridge/io.h"
#include "spikebridge/tasks.h"

typedef struct {
    sb_split split;
    const char *dir;
    uint64_t images;                 /* images encoded, all ranks */
    int use[SB_ENC_COUNT_];          /* encoders asked for */
    double gap_ms;
    double w_min, w_max;
    const char *weights_file;
    sb_encoder_params p;
} encode_setup;

static const char *WEIGHTS_DATASET = "/encoders/integrate/weights";

static sb_status read_setup(const sb_job *job, encode_setup *s)
{
    const sb_config *c = job->cfg;
    memset(s, 0, sizeof *s);
    s->split = strcmp(sb_cfg_str(c, "encode", "split"), "train") == 0 ? SB_SPLIT_TRAIN
                                                                     : SB_SPLIT_TEST;
    s->dir = sb_cfg_str(c, "data", "dir");
    const char *const *names;
    int n = sb_cfg_list(c, "encode", "encoders", &names);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < SB_ENC_COUNT_; k++)
            if (strcmp(names[i], sb_encoder_name((sb_encoder_kind)k)) == 0)
                s->use[k] = 1;
    s->gap_ms = sb_cfg_real(c, "encode", "gap");
    s->w_min = sb_cfg_real(c, "encode", "w_min");
    s->w_max = sb_cfg_real(c, "encode", "w_max");
    s->weights_file = sb_cfg_str(c, "encode", "weights_file");
    s->p.seed = (uint32_t)sb_cfg_int(c, "job", "seed");
    s->p.duration_ms = sb_cfg_real(c, "encode", "duration");
    s->p.dt_ms = sb_cfg_real(c, "encode", "dt");
    s->p.max_rate_hz = sb_cfg_real(c, "encode", "max_rate");
    s->p.threshold = (uint8_t)sb_cfg_int(c, "encode", "threshold");
    s->p.neurons = (uint32_t)sb_cfg_int(c, "encode", "neurons");
    s->p.v_th = sb_cfg_real(c, "encode", "v_th");

    if (s->p.max_rate_hz * s->p.dt_ms > 1000)
        return sb_fail(SB_ECONFIG,
                       "%s: encode.max_rate = %g Hz with encode.dt = %g ms asks for more than one "
                       "spike per step (max_rate x dt must be at most 1000 Hz ms)",
                       sb_cfg_where(c, "encode", "max_rate"), s->p.max_rate_hz, s->p.dt_ms);
    if (s->p.dt_ms > s->p.duration_ms)
        return sb_fail(SB_ECONFIG, "%s: encode.dt = %g ms is longer than encode.duration = %g ms",
                       sb_cfg_where(c, "encode", "dt"), s->p.dt_ms, s->p.duration_ms);
    if (s->use[SB_ENC_INTEGRATE] && !s->weights_file[0] && s->w_max < s->w_min)
        return sb_fail(SB_ECONFIG, "%s: encode.w_max = %g is below encode.w_min = %g",
                       sb_cfg_where(c, "encode", "w_max"), s->w_max, s->w_min);

    return sb_count_split(c, s->dir, s->split, &s->images);
}

/* The integrate encoder's weights: the same on every rank, from the seed or
 * from a file (e.g. the output of an earlier encode run). */
static sb_status load_weights(encode_setup *s, const sb_config *c, uint32_t pixels, float **w)
{
    *w = NULL;
    if (!s->weights_file[0]) {
        *w = SB_MALLOC((size_t)s->p.neurons * pixels, sizeof **w);
        if (!*w)
            return SB_ENOMEM;
        sb_encoder_random_weights(*w, s->p.neurons, pixels, s->p.seed, s->w_min, s->w_max);
        return SB_OK;
    }
    int rank;
    hsize_t dims[4];
    sb_status st = h5_read_all(s->weights_file, WEIGHTS_DATASET, H5T_NATIVE_FLOAT, (void **)w,
                               &rank, dims);
    if (st)
        return sb_fail_context(st, "encode.weights_file");
    if (rank != 2 || dims[1] != pixels || dims[0] == 0 || dims[0] > 1000000) {
        free(*w);
        *w = NULL;
        return sb_fail(SB_EFORMAT, "%s: %s must be K x %u (K encoder neurons, %u pixels)",
                       s->weights_file, WEIGHTS_DATASET, pixels, pixels);
    }
    if (sb_cfg_is_set(c, "encode", "neurons") && dims[0] != s->p.neurons) {
        free(*w);
        *w = NULL;
        return sb_fail(SB_ECONFIG, "%s: encode.neurons = %u but %s holds %llu neurons",
                       sb_cfg_where(c, "encode", "neurons"), s->p.neurons, s->weights_file,
                       (unsigned long long)dims[0]);
    }
    s->p.neurons = (uint32_t)dims[0];
    return SB_OK;
}

sb_status sb_task_encode_check(const sb_job *job)
{
    encode_setup s;
    return read_setup(job, &s);
}

/* Encodes this rank's images with one encoder, images in parallel; the
 * per-image lists are joined in image order, so threads change nothing. */
static sb_status encode_block(sb_encoder_kind kind, const encode_setup *s, const sb_dataset *ds,
                              sb_spikes *out, sb_progress *prog, double *done)
{
    const uint64_t npix = (uint64_t)ds->rows * ds->cols;
    sb_spikes *per = SB_CALLOC(ds->n ? ds->n : 1, sizeof *per);
    if (!per)
        return SB_ENOMEM;
    sb_status st = SB_OK;
    uint64_t finished = 0;
#pragma omp parallel for schedule(dynamic, 4)
    for (uint64_t k = 0; k < ds->n; k++) {
        uint64_t image = ds->first + k;
        double onset = (double)image * (s->p.duration_ms + s->gap_ms);
        sb_status e = sb_encode_image(kind, &s->p, ds->pixels + k * npix, image, onset, &per[k]);
        if (e) {
#pragma omp critical(encode_error)
            if (!st)
                st = sb_fail(e, "%s", sb_last_error());
        }
#pragma omp atomic
        finished++;
        if (omp_get_thread_num() == 0) {
            uint64_t now;
#pragma omp atomic read
            now = finished;
            sb_progress_update(prog, *done + (double)now);
        }
    }
    *done += (double)ds->n;
    for (uint64_t k = 0; k < ds->n; k++) {
        if (!st)
            st = sb_spikes_append(out, &per[k]);
        sb_spikes_free(&per[k]);
    }
    free(per);
    return st;
}

static sb_status write_encoder_group(hid_t file, sb_encoder_kind kind, const encode_setup *s,
                                     const float *w, uint32_t pixels, int rank, MPI_Comm comm)
{
    char path[64];
    snprintf(path, sizeof path, "encoders/%s", sb_encoder_name(kind));
    hid_t g;
    sb_status st = h5_group(file, path, &g);
    if (st)
        return st;
    uint64_t nodes = kind == SB_ENC_INTEGRATE ? s->p.neurons : pixels;
    st = h5_attr_i64(g, "nodes", (int64_t)nodes);
    if (!st)
        st = h5_attr_f64(g, "duration_ms", s->p.duration_ms);
    if (!st)
        st = h5_attr_f64(g, "gap_ms", s->gap_ms);
    if (!st && kind == SB_ENC_POISSON) {
        st = h5_attr_f64(g, "dt_ms", s->p.dt_ms);
        if (!st)
            st = h5_attr_f64(g, "max_rate_hz", s->p.max_rate_hz);
        if (!st)
            st = h5_attr_i64(g, "seed", s->p.seed);
    }
    if (!st && kind == SB_ENC_LATENCY)
        st = h5_attr_i64(g, "threshold", s->p.threshold);
    if (!st && kind == SB_ENC_INTEGRATE) {
        st = h5_attr_f64(g, "v_th", s->p.v_th);
        if (!st)
            st = h5_attr_str(g, "weights_source", s->weights_file[0] ? s->weights_file : "random");
        if (!st && !s->weights_file[0])
            st = h5_attr_f64(g, "w_min", s->w_min);
        if (!st && !s->weights_file[0])
            st = h5_attr_f64(g, "w_max", s->w_max);
        hsize_t inner = pixels;
        if (!st)
            st = h5_write_rows(g, "weights", H5T_NATIVE_FLOAT, 1, &inner, w,
                               rank == 0 ? s->p.neurons : 0, comm);
    }
    H5Gclose(g);
    return st;
}

static sb_status write_output(const sb_job *job, const char *path, const encode_setup *s,
                              const sb_dataset *ds, sb_spikes *spikes, const float *w)
{
    MPI_Comm comm = job->par->comm;
    const uint32_t pixels = ds->rows * ds->cols;
    h5_out f;
    sb_status st = h5_create(&f, path, comm);
    if (st)
        return st;
    st = sonata_write_header(f.id);
    for (int k = 0; k < SB_ENC_COUNT_ && !st; k++) {
        if (!s->use[k])
            continue;
        st = sonata_write_spikes(f.id, sb_encoder_name((sb_encoder_kind)k), spikes[k].ids,
                                 spikes[k].t, spikes[k].n, SB_SORT_BY_TIME, comm);
        if (!st)
            st = write_encoder_group(f.id, (sb_encoder_kind)k, s, w, pixels, job->par->rank, comm);
    }
    double *onsets = SB_MALLOC(ds->n ? ds->n : 1, sizeof *onsets);
    uint64_t *index = SB_MALLOC(ds->n ? ds->n : 1, sizeof *index);
    if (!st)
        st = par_agree(onsets && index ? SB_OK : SB_ENOMEM, comm);
    if (!st) {
        for (uint64_t k = 0; k < ds->n; k++) {
            index[k] = ds->first + k;
            onsets[k] = (double)index[k] * (s->p.duration_ms + s->gap_ms);
        }
        st = h5_write_rows(f.id, "stimulus/labels", H5T_NATIVE_UINT8, 0, NULL, ds->labels, ds->n,
                           comm);
    }
    if (!st)
        st = h5_write_rows(f.id, "stimulus/onsets_ms", H5T_NATIVE_DOUBLE, 0, NULL, onsets, ds->n,
                           comm);
    if (!st)
        st = h5_write_rows(f.id, "stimulus/image_index", H5T_NATIVE_UINT64, 0, NULL, index, ds->n,
                           comm);
    free(onsets);
    free(index);
    if (!st) {
        hid_t g;
        st = h5_group(f.id, "stimulus", &g);
        if (!st) {
            st = h5_attr_str(g, "dataset", s->dir);
            if (!st)
                st = h5_attr_str(g, "split", sb_split_name(s->split));
            if (!st)
                st = h5_attr_i64(g, "rows", ds->rows);
            if (!st)
                st = h5_attr_i64(g, "cols", ds->cols);
            H5Gclose(g);
        }
    }
    if (!st)
        st = h5_attr_str(f.id, "task", "encode");
    return sb_job_finish_output(job, &f, st);
}

sb_status sb_task_encode_run(const sb_job *job)
{
    const par_ctx *par = job->par;
    encode_setup s;
    sb_status st = read_setup(job, &s);
    if (st)
        return st;
    uint64_t first, count;
    par_block(s.images, par->rank, par->size, &first, &count);
    sb_dataset ds = {0};
    st = par_agree(sb_dataset_load(&ds, s.dir, s.split, first, count), par->comm);
    if (st)
        return st;
    s.p.pixels = ds.rows * ds.cols;
    if (par->size > 1 && s.images < (uint64_t)par->size)
        sb_warn("%llu images on %d ranks: some ranks have nothing to encode",
                (unsigned long long)s.images, par->size);

    float *w = NULL;
    if (s.use[SB_ENC_INTEGRATE])
        st = load_weights(&s, job->cfg, s.p.pixels, &w);
    s.p.weights = w;
    if ((st = par_agree(st, par->comm)) != SB_OK) {
        sb_dataset_free(&ds);
        free(w);
        return st;
    }

    int nenc = 0;
    for (int k = 0; k < SB_ENC_COUNT_; k++)
        nenc += s.use[k];
    sb_info("encode: %llu %s images from %s (%ux%u) on %d rank%s x %d thread%s, %d encoder%s",
            (unsigned long long)s.images, sb_split_name(s.split), s.dir, ds.rows, ds.cols,
            par->size, par->size > 1 ? "s" : "", par->threads, par->threads > 1 ? "s" : "", nenc,
            nenc > 1 ? "s" : "");

    sb_spikes spikes[SB_ENC_COUNT_] = {{0}};
    sb_progress prog;
    double done = 0, t0 = sb_now();
    sb_progress_begin(&prog, "encode", "images", (double)ds.n * nenc, (double)s.images * nenc);
    for (int k = 0; k < SB_ENC_COUNT_ && !st; k++)
        if (s.use[k])
            st = encode_block((sb_encoder_kind)k, &s, &ds, &spikes[k], &prog, &done);
    st = par_agree(st, par->comm);
    if (!st)
        sb_progress_end(&prog);
    double t_encode = sb_now() - t0;

    char path[4096];
    sb_job_output(job, path, sizeof path);
    if (!st)
        st = write_output(job, path, &s, &ds, spikes, w);

    if (!st) {
        sb_info("  %-10s %8s %12s %10s %14s", "encoder", "nodes", "spikes", "per image",
                "mean rate Hz");
        for (int k = 0; k < SB_ENC_COUNT_; k++) {
            if (!s.use[k])
                continue;
            uint64_t total = par_sum_u64(spikes[k].n, par->comm);
            uint64_t nodes = k == SB_ENC_INTEGRATE ? s.p.neurons : s.p.pixels;
            double per_image = s.images ? (double)total / (double)s.images : 0;
            double rate = per_image / (double)nodes / (s.p.duration_ms * 1e-3);
            sb_info("  %-10s %8llu %12llu %10.1f %14.3f", sb_encoder_name((sb_encoder_kind)k),
                    (unsigned long long)nodes, (unsigned long long)total, per_image, rate);
        }
        sb_info("encode: %.2f s encoding, %.2f s writing; wrote %s", t_encode,
                sb_now() - t0 - t_encode, path);
    }
    for (int k = 0; k < SB_ENC_COUNT_; k++)
        sb_spikes_free(&spikes[k]);
    sb_dataset_free(&ds);
    free(w);
    return st;
}
