/*
 * core.h — status codes, error messages, logging, progress, timing,
 * checked allocation and counter-based random streams.
 *
 * Everything here is MPI-free and usable from any thread. Library code
 * returns an sb_status and fills a per-thread message with sb_fail();
 * only main() decides to print and exit.
 */
#ifndef SPIKEBRIDGE_CORE_H
#define SPIKEBRIDGE_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ status */

typedef enum {
    SB_OK = 0,
    SB_EINVAL = -1,      /* impossible value or argument */
    SB_EIO = -2,         /* a file could not be opened, read or written */
    SB_EFORMAT = -3,     /* a file's content is malformed */
    SB_ENOMEM = -4,      /* allocation failed or a size is absurd */
    SB_ECONFIG = -5,     /* job file or override is wrong */
    SB_EMPI = -6,        /* an MPI call failed */
    SB_EHDF5 = -7,       /* an HDF5 call failed */
    SB_EPEER = -8,       /* another rank failed; its message is over there */
    SB_EINTERRUPTED = -9 /* stopped by a signal at a safe point */
} sb_status;

/* Records "fmt ..." as this thread's last error and returns code.
 * Typical use: return sb_fail(SB_EFORMAT, "%s: bad magic 0x%08x", path, m); */
sb_status sb_fail(sb_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the current message (adds context on the way up)
 * and returns code unchanged. */
sb_status sb_fail_context(sb_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* This thread's last error message; "" when none. Never NULL. */
const char *sb_last_error(void);

/* Clears this thread's last error message. */
void sb_clear_error(void);

/* A short name for a status code ("format error", ...). */
const char *sb_status_name(sb_status s);

/* ------------------------------------------------------------------ logging */

typedef enum {
    SB_LOG_QUIET = 0, /* errors only */
    SB_LOG_INFO = 1,  /* results and phases (default) */
    SB_LOG_DEBUG = 2  /* per-rank detail */
} sb_log_level;

/* Tells the logger which rank this process is: only rank 0 prints info. */
void sb_log_init(int rank, sb_log_level level);
int sb_log_rank(void);
sb_log_level sb_log_get_level(void);

/* Rank 0 only, to stdout, newline appended. */
void sb_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Every rank, to stderr, prefixed "[rank N] " when there are several. */
void sb_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 only, to stderr, prefixed "warning: ". */
void sb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ timing */

/* Monotonic wall-clock seconds. */
double sb_now(void);

/* Formats seconds as "1h02m", "3m05s" or "12.3s" into buf. */
const char *sb_format_duration(double seconds, char *buf, size_t len);

/* ------------------------------------------------------------------ progress */

/* Progress of one phase as seen from rank 0. On a terminal it is one line
 * rewritten in place (at most 10 times a second); in a batch log it is one
 * line every `log_step` fraction of the work (5 %), or every minute. */
typedef struct {
    const char *label;  /* "encode", "train epoch 3", ... */
    const char *unit;   /* "images", "ms", ... */
    double total;       /* units of work in the whole phase (all ranks) */
    double scale;       /* global units per local unit (total / local total) */
    double start;       /* sb_now() at begin */
    double last_print;  /* sb_now() at the last line printed */
    double last_frac;   /* fraction at the last line printed */
    int tty;            /* stderr is a terminal */
    int active;         /* printing on this rank */
} sb_progress;

/* local_total: units this rank will do; total: units all ranks will do. */
void sb_progress_begin(sb_progress *p, const char *label, const char *unit,
                       double local_total, double total);
void sb_progress_update(sb_progress *p, double local_done);
/* Prints the final line: count, elapsed time and rate. */
void sb_progress_end(sb_progress *p);

/* ------------------------------------------------------------------ stop requests */

/* SIGUSR1 (SLURM's warning before the time limit) and SIGTERM set a flag;
 * long loops poll it at their safe points, checkpoint and return
 * SB_EINTERRUPTED, and main exits with status 3 so that a batch script can
 * requeue the job. */
void sb_signals_install(void);
int sb_stop_requested(void);
/* Sets (1) the flag as a signal would, or clears it (0); for tests. */
void sb_set_stop_request(int on);

/* ------------------------------------------------------------------ memory */

/* malloc/calloc that record an error naming the call site on failure and
 * refuse sizes whose computation overflowed (n * size). Free with free(). */
void *sb_alloc_at(size_t n, size_t size, int zero, const char *file, int line);
#define SB_MALLOC(n, size) sb_alloc_at((n), (size), 0, __FILE__, __LINE__)
#define SB_CALLOC(n, size) sb_alloc_at((n), (size), 1, __FILE__, __LINE__)

/* strdup that records an error on failure. */
char *sb_strdup(const char *s);

/* Reads a whole (small) file into a NUL-terminated buffer. */
sb_status sb_read_text_file(const char *path, char **text, size_t *len);

/* ------------------------------------------------------------------ BLAS kernels */

/* The OpenBLAS core type worth asking for on a CPU with these features when
 * the library chose `core` by itself, or NULL when its choice is fine. */
const char *sb_blas_better_core(const char *core, int avx512f, int avx2);
/* Before MPI starts: re-executes the program with OPENBLAS_CORETYPE set
 * when OpenBLAS picked pre-AVX2 kernels on a newer CPU (returns otherwise). */
void sb_blas_core_fix(char **argv);
/* After logging starts: says whether the program restarted, and why. */
void sb_blas_core_report(void);

/* ------------------------------------------------------------------ random */

/* Every random stream is identified by what it belongs to, never by the
 * process that draws it: (job seed, purpose, entity), and is then read as a
 * sequence whose position is a 64-bit counter. Two processes that open the
 * same (seed, purpose, entity, position) draw the same numbers. */
typedef enum {
    SB_STREAM_TEST = 0,
    SB_STREAM_ENCODE_POISSON = 1, /* entity: image index * pixels + pixel */
    SB_STREAM_ENCODE_WEIGHTS = 2, /* entity: encoder neuron */
    SB_STREAM_ANN_INIT = 3,       /* entity: member * 256 + layer index */
    SB_STREAM_ANN_DROPOUT = 4,    /* entity: member * 256 + layer index; position: step, sample */
    SB_STREAM_ANN_ORDER = 5,      /* entity: member; position: epoch (data order) */
    SB_STREAM_ANN_AUGMENT = 6,    /* entity: member * 2^32 + epoch; position: sample */
    SB_STREAM_SWEEP = 7,          /* entity: sweep point; position: swept key */
    SB_STREAM_SNN_CONNECT = 8,    /* entity: projection * 2^40 + post gid */
    SB_STREAM_SNN_INIT = 9,       /* entity: variable * 2^40 + neuron gid */
    SB_STREAM_SNN_POISSON = 10,   /* entity: source group * 2^40 + source; position: draw */
    SB_STREAM_COUNT_
} sb_stream_purpose;

typedef struct {
    uint32_t key[2];    /* seed, purpose */
    uint32_t ctr[4];    /* position (low, high), entity (low, high) */
    uint32_t buf[4];    /* the current block of four outputs */
    unsigned next;      /* next unused word of buf; 4 = empty */
} sb_rng;

/* Opens stream (seed, purpose, entity) at word position `pos`. */
void sb_rng_init(sb_rng *r, uint32_t seed, sb_stream_purpose purpose,
                 uint64_t entity, uint64_t pos);
uint32_t sb_rng_u32(sb_rng *r);
/* Uniform on the open interval (0, 1), 32 bits of resolution. */
double sb_rng_uniform(sb_rng *r);
/* Standard normal (Box–Muller, two uniforms per value). */
double sb_rng_normal(sb_rng *r);

#endif
