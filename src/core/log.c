/* Logging and wall-clock time. Rank 0 speaks for the job; other ranks only
 * speak at debug level, so a 64-rank job prints one log, not 64. */
#include "spikebridge/core.h"

#include <time.h>

static int log_rank;
static sb_log_level log_level = SB_LOG_INFO;

void sb_log_init(int rank, sb_log_level level)
{
    log_rank = rank;
    log_level = level;
}

int sb_log_rank(void) { return log_rank; }

sb_log_level sb_log_get_level(void) { return log_level; }

void sb_info(const char *fmt, ...)
{
    if (log_rank != 0 || log_level < SB_LOG_INFO)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void sb_debug(const char *fmt, ...)
{
    if (log_level < SB_LOG_DEBUG)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[rank %d] ", log_rank);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void sb_warn(const char *fmt, ...)
{
    if (log_rank != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double sb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *sb_format_duration(double s, char *buf, size_t len)
{
    if (!(s >= 0))
        s = 0;
    if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    return buf;
}
