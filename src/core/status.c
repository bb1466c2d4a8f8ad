/* Per-thread error messages: the library's only channel for saying why. */
#include "spikebridge/core.h"

#include <stdio.h>
#include <string.h>

enum { SB_ERRMSG_MAX = 1024 };

static _Thread_local char last_error[SB_ERRMSG_MAX];

sb_status sb_fail(sb_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

sb_status sb_fail_context(sb_status code, const char *fmt, ...)
{
    char old[SB_ERRMSG_MAX];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof last_error - 2)
        return code;
    const char *rest = old[0] ? old : sb_status_name(code);
    size_t room = sizeof last_error - (size_t)n - 3;
    size_t len = strlen(rest) < room ? strlen(rest) : room;
    memcpy(last_error + n, ": ", 2);
    memcpy(last_error + n + 2, rest, len);
    last_error[n + 2 + len] = '\0';
    return code;
}

const char *sb_last_error(void) { return last_error; }

void sb_clear_error(void) { last_error[0] = '\0'; }

const char *sb_status_name(sb_status s)
{
    switch (s) {
    case SB_OK: return "ok";
    case SB_EINVAL: return "invalid value";
    case SB_EIO: return "input/output error";
    case SB_EFORMAT: return "malformed file";
    case SB_ENOMEM: return "out of memory";
    case SB_ECONFIG: return "job configuration error";
    case SB_EMPI: return "MPI error";
    case SB_EHDF5: return "HDF5 error";
    case SB_EPEER: return "failed on another rank";
    case SB_EINTERRUPTED: return "interrupted";
    }
    return "unknown error";
}
