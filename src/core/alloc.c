/* Checked allocation and whole-file reads: every failure names its cause. */
#include "spikebridge/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void *sb_alloc_at(size_t n, size_t size, int zero, const char *file, int line)
{
    if (size != 0 && n > SIZE_MAX / size) {
        sb_fail(SB_ENOMEM, "%s:%d: allocation of %zu x %zu bytes overflows", file, line, n, size);
        return NULL;
    }
    size_t bytes = n * size;
    void *p = zero ? calloc(n ? n : 1, size ? size : 1) : malloc(bytes ? bytes : 1);
    if (!p)
        sb_fail(SB_ENOMEM, "%s:%d: out of memory allocating %zu bytes", file, line, bytes);
    return p;
}

char *sb_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = SB_MALLOC(n, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

sb_status sb_read_text_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sb_fail(SB_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = SB_MALLOC(cap, 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            sb_fail(SB_ENOMEM, "%s: out of memory reading file", path);
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return SB_ENOMEM;
    if (err) {
        free(buf);
        return sb_fail(SB_EIO, "%s: read error", path);
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        free(buf);
        return sb_fail(SB_EFORMAT, "%s: contains a NUL byte; not a text file", path);
    }
    *text = buf;
    if (len)
        *len = n;
    return SB_OK;
}
