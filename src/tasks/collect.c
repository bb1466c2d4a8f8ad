/*
 * `spikebridge collect OUT.h5 RUN.h5...`: the result files of a sweep (or
 * any runs) as one table sorted by their metric, in HDF5 and CSV. A row is
 * a file, its metric and the overrides it was run with (from /provenance).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/io.h"
#include "spikebridge/tasks.h"

typedef struct {
    const char *file;
    double metric;
    char *overrides; /* "k=v" lines, job.output and job.task left out */
} row;

/* Test accuracy of a train file, mean-probability accuracy of an ensemble;
 * NaN for files without one. */
static double read_metric(hid_t f)
{
    static const char *where[][2] = {{"test", "accuracy"}, {"ensemble", "accuracy_mean"}};
    for (int i = 0; i < 2; i++) {
        if (H5Lexists(f, where[i][0], H5P_DEFAULT) <= 0 ||
            H5Aexists_by_name(f, where[i][0], where[i][1], H5P_DEFAULT) <= 0)
            continue;
        double v = NAN;
        hid_t a = H5Aopen_by_name(f, where[i][0], where[i][1], H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            H5Aread(a, H5T_NATIVE_DOUBLE, &v);
            H5Aclose(a);
        }
        return v;
    }
    H5Eclear2(H5E_DEFAULT);
    return NAN;
}

static sb_status read_row(const char *path, row *r)
{
    r->file = path;
    r->overrides = NULL;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return sb_fail(SB_EIO, "%s: cannot open as HDF5", path);
    }
    r->metric = read_metric(f);
    hid_t d = H5Lexists(f, "provenance", H5P_DEFAULT) > 0 ? H5Dopen2(f, "provenance/overrides", H5P_DEFAULT)
                                                          : H5I_INVALID_HID;
    sb_status st = SB_OK;
    if (d < 0) {
        st = sb_fail(SB_EFORMAT, "%s: no /provenance/overrides: not a SpikeBridge result file", path);
    } else {
        hid_t t = H5Dget_type(d);
        size_t len = H5Tget_size(t);
        char *text = SB_CALLOC(len + 1, 1);
        char *kept = SB_CALLOC(len + 2, 1);
        if (!text || !kept || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0) {
            st = sb_fail(SB_EFORMAT, "%s: cannot read /provenance/overrides", path);
        } else {
            char *save = NULL;
            for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "job.output=", 11) == 0 || strncmp(line, "job.task=", 9) == 0 ||
                    line[0] == ' ')
                    continue;
                strcat(kept, kept[0] ? " " : "");
                strcat(kept, line);
            }
            r->overrides = kept;
            kept = NULL;
        }
        free(text);
        free(kept);
        H5Tclose(t);
        H5Dclose(d);
    }
    H5Eclear2(H5E_DEFAULT);
    H5Fclose(f);
    return st;
}

/* Best first; files without a metric last. */
static int by_metric(const void *a, const void *b)
{
    double x = ((const row *)a)->metric, y = ((const row *)b)->metric;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

static sb_status write_csv(const char *out, const row *rows, int n, char **text)
{
    size_t cap = 64;
    for (int i = 0; i < n; i++)
        cap += strlen(rows[i].file) + strlen(rows[i].overrides) + 64;
    char *csv = SB_MALLOC(cap, 1);
    if (!csv)
        return SB_ENOMEM;
    size_t at = (size_t)snprintf(csv, cap, "rank,metric,file,overrides\n");
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(csv + at, cap - at, "%d,%.6f,%s,\"%s\"\n", i + 1, rows[i].metric,
                               rows[i].file, rows[i].overrides);
    char path[4200], tmp[4300];
    const char *dot = strrchr(out, '.');
    snprintf(path, sizeof path, "%.*s.csv", (int)(dot ? (size_t)(dot - out) : strlen(out)), out);
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = fopen(tmp, "w");
    sb_status st = f && fputs(csv, f) >= 0 && fclose(f) == 0 ? SB_OK
                   : sb_fail(SB_EIO, "%s: cannot write", tmp);
    if (!st && rename(tmp, path) != 0)
        st = sb_fail(SB_EIO, "%s: cannot rename to %s", tmp, path);
    if (st)
        free(csv);
    else
        *text = csv;
    return st;
}

sb_status sb_collect(const char *out, const char *const *files, int n, MPI_Comm comm)
{
    row *rows = SB_CALLOC((size_t)n + 1, sizeof *rows);
    sb_status st = rows ? SB_OK : SB_ENOMEM;
    for (int i = 0; i < n && !st; i++)
        st = read_row(files[i], &rows[i]);
    if (!st)
        qsort(rows, (size_t)n, sizeof *rows, by_metric);
    char *csv = NULL;
    if (!st)
        st = write_csv(out, rows, n, &csv);
    h5_out f;
    if (!st)
        st = h5_create(&f, out, comm);
    if (!st) {
        double *metric = SB_MALLOC((size_t)n + 1, sizeof *metric);
        st = metric ? h5_attr_str(f.id, "task", "collect") : SB_ENOMEM;
        for (int i = 0; metric && i < n; i++)
            metric[i] = rows[i].metric;
        if (!st)
            st = h5_write_rows(f.id, "collect/metric", H5T_NATIVE_DOUBLE, 0, NULL, metric, (uint64_t)n,
                               comm);
        if (!st)
            st = h5_write_text(f.id, "collect/table_csv", csv, comm);
        hid_t g;
        if (!st && !(st = h5_group(f.id, "collect", &g))) {
            st = h5_attr_str(g, "best", n ? rows[0].file : "");
            if (!st)
                st = h5_attr_str(g, "metric", "test accuracy (train) or mean-probability accuracy (ensemble)");
            H5Gclose(g);
        }
        free(metric);
        if (st)
            h5_discard(&f);
        else
            st = h5_commit(&f);
    }
    if (!st) {
        sb_info("  rank  metric    file  (overrides)");
        for (int i = 0; i < n; i++)
            sb_info("  %4d  %7.4f  %s  (%s)", i + 1, rows[i].metric, rows[i].file, rows[i].overrides);
        if (n)
            sb_info("collect: best %s (%.4f); wrote %s and its .csv", rows[0].file, rows[0].metric, out);
        else
            sb_info("collect: no file to collect; wrote an empty table to %s", out);
    }
    for (int i = 0; rows && i < n; i++)
        free(rows[i].overrides);
    free(rows);
    free(csv);
    return st;
}
