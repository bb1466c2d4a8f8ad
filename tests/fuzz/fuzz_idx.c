/* Mutation fuzzer for the IDX reader and the dataset loader, built with
 * ASan and UBSan: fuzz_idx [CORPUS_DIR [ITERATIONS]]  (default 3000).
 *
 * Every file under CORPUS_DIR is a seed. Each input is a seed mutated by a
 * fixed-seed PRNG (bit flips, special bytes, truncation, header dims,
 * duplicated chunks; gzip seeds either as compressed bytes or mutated
 * inside and recompressed), written to a temp file and opened and read in
 * full; every fourth input is instead one mutated member of a dataset
 * directory, counted and loaded. Checked: nothing crashes or overruns (the
 * sanitizers), every failure is a known negative status with a one-line
 * message naming the temp file, and out-of-range reads are refused. The run
 * is the same every time; on a violation the temp dir is kept for replay.
 * Without arguments (as tests/run_all.sh runs it, from the repo root) the
 * corpus is tests/data/idx. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "spikebridge/data.h"

enum { MAX_SEED_BYTES = 1 << 20, MAX_SEEDS = 4096 };
#define MAX_READ ((uint64_t)64 << 20) /* larger payloads are opened, not read */

typedef struct {
    char *path;
    unsigned char *data; /* the file's bytes */
    size_t n;
    int gz;              /* data is gzip; plain holds what it inflates to */
    unsigned char *plain;
    size_t plain_n;
} seed;

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static seed seeds[MAX_SEEDS];
static int nseeds;
static char tmpdir[] = "/tmp/fuzz_idx.XXXXXX";
static long inputs, accepted, rejected;

/* ------------------------------------------------------------------ PRNG */

static uint64_t rng_state = 0x5DEECE66DB1A2F3Bu;

static uint64_t next_u64(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static size_t below(size_t n) { return n ? (size_t)(next_u64() % n) : 0; }

/* ------------------------------------------------------------------ helpers */

static void die(const char *what)
{
    fprintf(stderr, "fuzz_idx: %s\n", what);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void reserve(bytes *b, size_t n)
{
    if (n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = xmalloc(MAX_SEED_BYTES);
    *n = fread(buf, 1, MAX_SEED_BYTES, f);
    int big = fgetc(f) != EOF;
    fclose(f);
    if (big) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* What a gzip seed inflates to, as far as it inflates. */
static unsigned char *inflate_seed(const char *path, size_t *n)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return NULL;
    unsigned char *buf = xmalloc(MAX_SEED_BYTES);
    int r = gzread(gz, buf, MAX_SEED_BYTES);
    gzclose(gz);
    *n = r > 0 ? (size_t)r : 0;
    return buf;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const seed *)a)->path, ((const seed *)b)->path);
}

static void collect(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nseeds < MAX_SEEDS) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = xmalloc(len);
        snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat s;
        int found = stat(path, &s) == 0;
        if (found && S_ISDIR(s.st_mode))
            collect(path);
        size_t n = 0;
        unsigned char *data = found && S_ISREG(s.st_mode) ? slurp(path, &n) : NULL;
        if (!data) {
            free(path);
            continue;
        }
        seed *sd = &seeds[nseeds++];
        memset(sd, 0, sizeof *sd);
        sd->path = path;
        sd->data = data;
        sd->n = n;
        sd->gz = n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
        if (sd->gz)
            sd->plain = inflate_seed(path, &sd->plain_n);
        if (!sd->plain) {
            sd->plain = xmalloc(n);
            memcpy(sd->plain, data, n);
            sd->plain_n = n;
        }
    }
    closedir(d);
}

static int write_raw(const char *path, const bytes *b)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = b->n ? fwrite(b->p, 1, b->n, f) : 0;
    return fclose(f) == 0 && put == b->n ? 0 : -1;
}

static int write_gz(const char *path, const bytes *b)
{
    gzFile gz = gzopen(path, "wb6");
    if (!gz)
        return -1;
    int ok = b->n == 0 || gzwrite(gz, b->p, (unsigned)b->n) == (int)b->n;
    return gzclose(gz) == Z_OK && ok ? 0 : -1;
}

/* ------------------------------------------------------------------ mutation */

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Half the byte-level damage lands in the first 40 bytes: the header,
 * where a change decides what the reader does with the rest. */
static size_t somewhere(size_t n)
{
    return next_u64() & 1 ? below(n < 40 ? n : 40) : below(n);
}

static void mutate_once(bytes *b)
{
    static const unsigned char special[] = {0x00, 0xff, 0x7f, 0x80};
    static const unsigned char types[] = {0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x0a, 0x00};
    switch (below(6)) {
    case 0: /* bit flip */
        if (b->n)
            b->p[somewhere(b->n)] ^= (unsigned char)(1u << below(8));
        break;
    case 1: /* special byte */
        if (b->n)
            b->p[somewhere(b->n)] = special[below(sizeof special)];
        break;
    case 2: /* truncation */
        b->n = below(b->n + 1);
        break;
    case 3: { /* a header dimension */
        if (b->n < 8)
            break;
        int rank = b->p[3] >= 1 && b->p[3] <= SB_IDX_MAX_RANK ? b->p[3] : 1;
        size_t at = 4 + 4 * below((size_t)rank);
        if (at + 4 > b->n)
            break;
        uint32_t old = get_be32(b->p + at);
        const uint32_t choices[] = {0, 1, old + 1, old - 1, old * 2, old / 2, 0xffffffffu,
                                    0x80000000u, 0x7fffffffu, 65536, (uint32_t)next_u64()};
        put_be32(b->p + at, choices[below(sizeof choices / sizeof choices[0])]);
        break;
    }
    case 4: { /* a duplicated chunk */
        if (!b->n || b->n > MAX_SEED_BYTES)
            break;
        size_t from = below(b->n);
        size_t max = b->n - from < 256 ? b->n - from : 256;
        size_t len = 1 + below(max);
        size_t to = below(b->n + 1);
        reserve(b, b->n + len);
        unsigned char chunk[256];
        memcpy(chunk, b->p + from, len);
        memmove(b->p + to + len, b->p + to, b->n - to);
        memcpy(b->p + to, chunk, len);
        b->n += len;
        break;
    }
    case 5: /* element type or rank */
        if (b->n >= 4) {
            if (next_u64() & 1)
                b->p[2] = types[below(sizeof types)];
            else
                b->p[3] = (unsigned char)below(11);
        }
        break;
    }
}

static void mutate(bytes *b, const unsigned char *src, size_t n)
{
    reserve(b, n + 1);
    memcpy(b->p, src, n);
    b->n = n;
    for (size_t k = 1 + below(3); k > 0; k--)
        mutate_once(b);
}

/* Writes a mutant of sd at `base` (or base.gz); 1 if it went to base.gz. */
static int write_mutant(const seed *sd, const char *base, bytes *b)
{
    char gzpath[4200];
    snprintf(gzpath, sizeof gzpath, "%s.gz", base);
    unlink(base);
    unlink(gzpath);
    int rc, to_gz;
    if (sd->gz && next_u64() & 1) {
        mutate(b, sd->data, sd->n); /* damage the compressed bytes */
        to_gz = (int)(next_u64() & 1);
        rc = write_raw(to_gz ? gzpath : base, b);
    } else {
        mutate(b, sd->plain, sd->plain_n); /* damage the content */
        int compress = sd->gz || below(8) == 0;
        to_gz = compress || below(4) == 0;
        rc = compress ? write_gz(to_gz ? gzpath : base, b) : write_raw(to_gz ? gzpath : base, b);
    }
    if (rc != 0)
        die("cannot write a mutant to the temp dir");
    return to_gz;
}

/* ------------------------------------------------------------------ checks */

static void violation(const char *what, const char *file, sb_status st)
{
    fprintf(stderr,
            "fuzz_idx: input %ld: %s\n  file: %s\n  status: %d\n  message: \"%s\"\n"
            "  the input is kept in %s\n",
            inputs, what, file, (int)st, sb_last_error(), tmpdir);
    exit(1);
}

/* A failure must say what, and where: the file we made (without .gz,
 * which the message may or may not carry). */
static void check_failure(sb_status st, const char *file)
{
    const char *msg = sb_last_error();
    if (st >= 0 || st < SB_EINTERRUPTED)
        violation("failure with a status that is not a known error", file, st);
    if (!msg[0])
        violation("failure with an empty message", file, st);
    if (!strstr(msg, file))
        violation("message does not name the file", file, st);
    if (strchr(msg, '\n'))
        violation("message spans lines", file, st);
}

static void fuzz_file(const char *path)
{
    sb_idx f;
    sb_clear_error();
    sb_status st = sb_idx_open(&f, path);
    if (st) {
        if (f.handle)
            violation("failed open left the file open", path, st);
        check_failure(st, path);
        rejected++;
        return;
    }
    uint64_t prod = 1;
    for (int i = 1; i < f.rank; i++)
        prod *= f.dims[i];
    if (f.rank < 1 || f.rank > SB_IDX_MAX_RANK || f.item_elems != prod ||
        f.header_bytes != 4 + 4 * (uint64_t)f.rank || f.elem_size < 1 || f.elem_size > 8 ||
        (uint64_t)f.dims[0] * f.item_elems * (uint64_t)f.elem_size > SB_IDX_MAX_BYTES)
        violation("open accepted an inconsistent header", path, st);
    uint64_t item_bytes = f.item_elems * (uint64_t)f.elem_size;
    uint64_t total = f.dims[0] * item_bytes;
    int ok = 1;
    if (total <= MAX_READ) {
        unsigned char *buf = xmalloc((size_t)total);
        sb_clear_error();
        st = sb_idx_read(&f, 0, f.dims[0], buf);
        if (st) {
            check_failure(st, path);
            ok = 0;
        }
        if (ok && f.dims[0] > 0) {
            /* a random range, often backwards from the end */
            uint64_t first = below(f.dims[0]);
            uint64_t count = 1 + below((size_t)(f.dims[0] - first));
            st = sb_idx_read(&f, first, count, buf);
            if (st) {
                check_failure(st, path);
                ok = 0;
            }
        }
        st = sb_idx_read(&f, f.dims[0], 1, buf);
        if (st != SB_EINVAL)
            violation("a read past the last item was not refused", path, st);
        check_failure(st, path);
        free(buf);
    }
    sb_idx_close(&f);
    if (ok)
        accepted++;
    else
        rejected++;
}

/* Where the pixel sum goes, so that the loop touching them stays. */
static volatile unsigned sink;

/* The raw files of the good dataset, [split][labels]; NULL where missing. */
static const seed *members[2][2];

static void find_members(void)
{
    for (int s = 0; s < 2; s++)
        for (int m = 0; m < 2; m++)
            for (int i = 0; i < nseeds; i++) {
                const char *slash = strrchr(seeds[i].path, '/');
                const char *name = slash ? slash + 1 : seeds[i].path;
                if (!seeds[i].gz && strcmp(name, sb_split_file((sb_split)s, m)) == 0 &&
                    (!members[s][m] || strstr(seeds[i].path, "/good/")))
                    members[s][m] = &seeds[i];
            }
}

static int have_members(void)
{
    return members[0][0] && members[0][1] && members[1][0] && members[1][1];
}

static void fuzz_dataset(const char *dsdir, bytes *b)
{
    sb_split split = (sb_split)below(2);
    int m = (int)below(2);
    char path[4096], other[4096];
    snprintf(path, sizeof path, "%s/%s", dsdir, sb_split_file(split, m));
    snprintf(other, sizeof other, "%s/%s", dsdir, sb_split_file(split, !m));
    write_mutant(members[split][m], path, b);
    bytes partner = {members[split][!m]->data, members[split][!m]->n, 0};
    if (write_raw(other, &partner) != 0)
        die("cannot write to the temp dir");

    uint64_t n;
    sb_clear_error();
    sb_status st = sb_dataset_count(dsdir, split, &n);
    if (st) {
        check_failure(st, path);
        rejected++;
        return;
    }
    sb_dataset ds;
    st = sb_dataset_load(&ds, dsdir, split, n, 0); /* nothing: just the shape */
    if (st) {
        check_failure(st, path);
        rejected++;
        return;
    }
    uint64_t pixels = (uint64_t)ds.rows * ds.cols;
    if (pixels == 0 || ds.n != 0 || ds.pixels)
        violation("an empty load is not empty or has no shape", path, st);
    uint64_t first = below((size_t)n + 1);
    uint64_t count = n - first;
    if (count * pixels > MAX_READ)
        count = MAX_READ / pixels;
    st = sb_dataset_load(&ds, dsdir, split, first, count);
    if (st) {
        check_failure(st, path);
        if (ds.pixels || ds.labels || ds.n)
            violation("a failed load left data behind", path, st);
        rejected++;
        return;
    }
    if (ds.n != count || ds.first != first || (count && (!ds.pixels || !ds.labels)))
        violation("a load returned other than what was asked", path, st);
    /* touch every byte: the sanitizers check the buffers are that big */
    unsigned sum = 0;
    for (uint64_t i = 0; i < ds.n * pixels; i++)
        sum += ds.pixels[i];
    for (uint64_t i = 0; i < ds.n; i++)
        sum += ds.labels[i];
    sb_dataset_free(&ds);
    st = sb_dataset_load(&ds, dsdir, split, n, 1);
    if (st != SB_EINVAL || !strstr(sb_last_error(), dsdir))
        violation("a load past the end was not refused with the directory named", path, st);
    sink = sum;
    accepted++;
}

static void cleanup(const char *dsdir)
{
    char path[4200];
    for (int s = 0; s < 2; s++)
        for (int m = 0; m < 2; m++) {
            snprintf(path, sizeof path, "%s/%s", dsdir, sb_split_file((sb_split)s, m));
            unlink(path);
            strcat(path, ".gz");
            unlink(path);
        }
    rmdir(dsdir);
    snprintf(path, sizeof path, "%s/m", tmpdir);
    unlink(path);
    strcat(path, ".gz");
    unlink(path);
    rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: fuzz_idx [CORPUS_DIR [ITERATIONS]]\n");
        return 2;
    }
    const char *corpus = argc >= 2 ? argv[1] : "tests/data/idx";
    long iterations = argc == 3 ? strtol(argv[2], NULL, 10) : 3000;
    if (iterations <= 0) {
        fprintf(stderr, "fuzz_idx: ITERATIONS must be a positive number\n");
        return 2;
    }
    collect(corpus);
    if (nseeds == 0) {
        fprintf(stderr, "fuzz_idx: no files under %s\n", corpus);
        return 2;
    }
    /* readdir order is the file system's: sort for a repeatable run */
    qsort(seeds, (size_t)nseeds, sizeof seeds[0], by_path);
    find_members();
    if (!mkdtemp(tmpdir))
        die("cannot make a temp dir");
    char file[64], dsdir[64];
    snprintf(file, sizeof file, "%s/m", tmpdir);
    snprintf(dsdir, sizeof dsdir, "%s/ds", tmpdir);
    if (mkdir(dsdir, 0700) != 0)
        die("cannot make a temp dir");

    bytes b = {0};
    for (inputs = 0; inputs < iterations; inputs++) {
        if (inputs % 4 == 3 && have_members()) {
            fuzz_dataset(dsdir, &b);
        } else {
            write_mutant(&seeds[below((size_t)nseeds)], file, &b);
            fuzz_file(file);
        }
    }
    cleanup(dsdir);
    free(b.p);
    for (int i = 0; i < nseeds; i++) {
        free(seeds[i].path);
        free(seeds[i].data);
        free(seeds[i].plain);
    }
    printf("fuzz_idx: %ld inputs, %ld accepted, %ld rejected\n", inputs, accepted, rejected);
    return 0;
}
