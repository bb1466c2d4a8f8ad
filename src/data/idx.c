/* IDX files (MNIST and relatives), raw or gzip. Both go through zlib's gz*
 * calls so that there is one read path. The header is checked against the
 * file's length before anyone allocates for it, so a truncated download or
 * a corrupt header is reported at open, with sizes, rather than later as a
 * short read or an absurd allocation.
 *
 * Status codes: SB_EIO when a file cannot be found, opened or read (the
 * OS's fault); SB_EFORMAT when its content is wrong: magic, type, rank,
 * dims, length, gzip stream; SB_ENOMEM when the header describes more than
 * SB_IDX_MAX_BYTES (core.h: "a size is absurd"); SB_EINVAL for a range of
 * items the file does not hold. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "spikebridge/data.h"

/* Big reads are split because gzread takes an unsigned and returns an int. */
#define GZ_CHUNK ((uint64_t)1 << 30)

/* MNIST files are read in one sweep: a larger buffer means fewer syscalls. */
enum { GZ_BUFFER = 1 << 17 };

/* The smallest gzip file: a 10-byte header and an 8-byte trailer. */
enum { GZIP_MIN = 18 };

static int elem_size_of(unsigned type)
{
    switch (type) {
    case SB_IDX_U8:
    case SB_IDX_I8: return 1;
    case SB_IDX_I16: return 2;
    case SB_IDX_I32:
    case SB_IDX_F32: return 4;
    case SB_IDX_F64: return 8;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* "60000 x 28 x 28", for messages. */
static const char *dims_text(const uint32_t *dims, int rank, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && used < len; i++) {
        int n = snprintf(buf + used, len - used, i ? " x %u" : "%u", dims[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* zlib's message without the "<fd:N>: " it prefixes (we name the path). */
static const char *zlib_message(gzFile gz, int *zerr)
{
    const char *msg = gzerror(gz, zerr);
    const char *colon = strncmp(msg, "<fd:", 4) == 0 ? strstr(msg, ": ") : NULL;
    return colon ? colon + 2 : msg;
}

/* Why a gz* call failed, as zlib saw it. `what` says where we were. */
static sb_status gz_failure(gzFile gz, const char *path, const char *what)
{
    int saved = errno;
    int zerr = Z_OK;
    const char *msg = zlib_message(gz, &zerr);
    switch (zerr) {
    case Z_ERRNO:
        return sb_fail(SB_EIO, "%s: read error %s: %s", path, what, strerror(saved));
    case Z_MEM_ERROR:
        return sb_fail(SB_ENOMEM, "%s: out of memory %s", path, what);
    case Z_OK:
        return sb_fail(SB_EIO, "%s: read error %s", path, what);
    case Z_BUF_ERROR:
        return sb_fail(SB_EFORMAT, "%s: truncated gzip stream %s (zlib: %s)", path, what, msg);
    default:
        return sb_fail(SB_EFORMAT, "%s: corrupt gzip data %s (zlib: %s)", path, what, msg);
    }
}

/* Reads up to n bytes; *got < n means the data ended. -1: zlib error. */
static int read_fully(gzFile gz, void *buf, uint64_t n, uint64_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < n) {
        uint64_t want = n - *got < GZ_CHUNK ? n - *got : GZ_CHUNK;
        int r = gzread(gz, p + *got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *got += (uint64_t)r;
    }
    return 0;
}

/* IDX is big-endian; assembling each value from its bytes is right on any
 * host and compiles to a byte swap where one is needed. */
static void be_to_host(unsigned char *p, uint64_t n, int size)
{
    switch (size) {
    case 2:
        for (uint64_t i = 0; i < n; i++, p += 2) {
            uint16_t v = (uint16_t)(p[0] << 8 | p[1]);
            memcpy(p, &v, 2);
        }
        break;
    case 4:
        for (uint64_t i = 0; i < n; i++, p += 4) {
            uint32_t v = be32(p);
            memcpy(p, &v, 4);
        }
        break;
    case 8:
        for (uint64_t i = 0; i < n; i++, p += 8) {
            uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
            memcpy(p, &v, 8);
        }
        break;
    }
}

/* A guess at what a non-IDX file is, appended to the bad-magic message. */
static const char *magic_hint(const unsigned char *h, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!h[2] && !h[3] && elem_size_of(h[1]) && h[0] >= 1 && h[0] <= SB_IDX_MAX_RANK) {
        snprintf(buf, len, "; byte-swapped (little-endian) IDX?");
        return buf;
    }
    for (int i = 0; i < 4; i++)
        if (h[i] < 0x20 || h[i] > 0x7e)
            return buf;
    snprintf(buf, len, "; starts with text \"%c%c%c%c\" (an HTML error page?)", h[0], h[1], h[2],
             h[3]);
    return buf;
}

/* Opens path, or path.gz if path does not exist; f->path is what opened. */
static sb_status open_either(sb_idx *f, const char *path, int *fd)
{
    size_t len = strlen(path);
    if (len + sizeof ".gz" > sizeof f->path)
        return sb_fail(SB_EINVAL, "%s: path too long (%zu bytes, at most %zu)", path, len,
                       sizeof f->path - sizeof ".gz");
    memcpy(f->path, path, len + 1);
    *fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT) {
        memcpy(f->path + len, ".gz", sizeof ".gz");
        *fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (*fd < 0 && errno == ENOENT)
            return sb_fail(SB_EIO, "%s: not found (nor %s)", path, f->path);
    }
    if (*fd < 0)
        return sb_fail(SB_EIO, "%s: cannot open: %s", f->path, strerror(errno));
    return SB_OK;
}

/* Size, gzip magic and (for gzip) the trailer's ISIZE, read before zlib
 * takes the descriptor. pread leaves the offset at 0 for zlib. */
static sb_status probe(sb_idx *f, int fd, uint64_t *size, uint32_t *isize)
{
    struct stat s;
    if (fstat(fd, &s) != 0)
        return sb_fail(SB_EIO, "%s: cannot stat: %s", f->path, strerror(errno));
    if (S_ISDIR(s.st_mode))
        return sb_fail(SB_EIO, "%s: is a directory, not an IDX file", f->path);
    if (!S_ISREG(s.st_mode))
        return sb_fail(SB_EIO, "%s: not a regular file", f->path);
    *size = (uint64_t)s.st_size;
    if (*size == 0)
        return sb_fail(SB_EFORMAT, "%s: empty file (0 bytes)", f->path);
    unsigned char b[4];
    ssize_t r = pread(fd, b, 2, 0);
    if (r < 0)
        return sb_fail(SB_EIO, "%s: read error: %s", f->path, strerror(errno));
    f->gzipped = r == 2 && b[0] == 0x1f && b[1] == 0x8b;
    if (!f->gzipped)
        return SB_OK;
    if (*size < GZIP_MIN)
        return sb_fail(SB_EFORMAT, "%s: truncated gzip file: %llu bytes (a gzip file has at least %d)",
                       f->path, (unsigned long long)*size, GZIP_MIN);
    r = pread(fd, b, 4, (off_t)(*size - 4));
    if (r < 0)
        return sb_fail(SB_EIO, "%s: read error: %s", f->path, strerror(errno));
    if (r != 4)
        return sb_fail(SB_EIO, "%s: file shrank while being opened", f->path);
    *isize = le32(b);
    return SB_OK;
}

/* Magic, dimensions and sizes, then the length check. */
static sb_status read_header(sb_idx *f, gzFile gz, uint64_t size, uint32_t isize)
{
    const char *zip = f->gzipped ? "uncompressed " : "";
    unsigned char h[4 + 4 * SB_IDX_MAX_RANK];
    uint64_t got;
    if (read_fully(gz, h, 4, &got) != 0)
        return gz_failure(gz, f->path, "in the IDX header");
    if (got < 4)
        return sb_fail(SB_EFORMAT, "%s: too short for an IDX header: %llu %sbytes (at least 8)",
                       f->path, (unsigned long long)got, zip);
    uint32_t magic = be32(h);
    if (h[0] || h[1]) {
        char hint[80];
        return sb_fail(SB_EFORMAT,
                       "%s: bad magic 0x%08x (expected 0x0000TTRR: two zero bytes, element type, "
                       "rank); not an IDX file%s",
                       f->path, magic, magic_hint(h, hint, sizeof hint));
    }
    f->elem_size = elem_size_of(h[2]);
    if (!f->elem_size)
        return sb_fail(SB_EFORMAT,
                       "%s: bad magic 0x%08x: unknown element type 0x%02x (expected 0x08 ubyte, "
                       "0x09 byte, 0x0b short, 0x0c int, 0x0d float or 0x0e double)",
                       f->path, magic, h[2]);
    f->type = (sb_idx_type)h[2];
    if (h[3] < 1 || h[3] > SB_IDX_MAX_RANK)
        return sb_fail(SB_EFORMAT, "%s: bad magic 0x%08x: rank %d (expected 1..%d)", f->path, magic,
                       h[3], SB_IDX_MAX_RANK);
    f->rank = h[3];
    f->header_bytes = 4 + 4 * (uint64_t)f->rank;

    if (read_fully(gz, h + 4, 4 * (uint64_t)f->rank, &got) != 0)
        return gz_failure(gz, f->path, "in the IDX header");
    if (got < 4 * (uint64_t)f->rank)
        return sb_fail(SB_EFORMAT, "%s: header cut short: rank %d needs %llu bytes, the %sdata ends after %llu",
                       f->path, f->rank, (unsigned long long)f->header_bytes, zip,
                       (unsigned long long)(4 + got));
    for (int i = 0; i < f->rank; i++)
        f->dims[i] = be32(h + 4 + 4 * i);
    char dims[16 * SB_IDX_MAX_RANK];
    dims_text(f->dims, f->rank, dims, sizeof dims);
    for (int i = 1; i < f->rank; i++)
        if (f->dims[i] == 0)
            return sb_fail(SB_EFORMAT, "%s: dimension %d is 0 (dims %s); only the item count may be 0",
                           f->path, i, dims);

    /* Every product is bounded by SB_IDX_MAX_BYTES (2^34) before it is
     * formed (elems * 8 stays under 2^38), so none can overflow 64 bits. */
    uint64_t elems = 1;
    int absurd = 0;
    for (int i = 1; i < f->rank; i++) {
        if (elems > SB_IDX_MAX_BYTES / f->dims[i]) {
            absurd = 1;
            break;
        }
        elems *= f->dims[i];
    }
    uint64_t item_bytes = elems * (uint64_t)f->elem_size;
    if (absurd || item_bytes > SB_IDX_MAX_BYTES || f->dims[0] > SB_IDX_MAX_BYTES / item_bytes)
        return sb_fail(SB_ENOMEM,
                       "%s: header describes %s elements of %d byte%s, over the limit of %llu "
                       "bytes (16 GiB); corrupt header?",
                       f->path, dims, f->elem_size, f->elem_size > 1 ? "s" : "",
                       (unsigned long long)SB_IDX_MAX_BYTES);
    f->item_elems = elems;
    uint64_t want = f->header_bytes + f->dims[0] * item_bytes;

    if (f->gzipped) {
        /* ISIZE is the uncompressed size mod 2^32; a cut-short download
         * leaves deflate bytes there instead, which almost never match.
         * (Concatenated gzip members, which zlib would read as one stream,
         * fail here too: ISIZE covers only the last member.) */
        if (isize != (uint32_t)want)
            return sb_fail(SB_EFORMAT,
                           "%s: truncated or corrupt: the gzip trailer says %u uncompressed bytes "
                           "(mod 2^32), the header says %u items of %llu bytes (%llu bytes)",
                           f->path, isize, f->dims[0], (unsigned long long)item_bytes,
                           (unsigned long long)want);
    } else if (size < want) {
        return sb_fail(SB_EFORMAT,
                       "%s: truncated: header says %u items of %llu bytes (%llu bytes), file has "
                       "%llu bytes (%llu complete items)",
                       f->path, f->dims[0], (unsigned long long)item_bytes, (unsigned long long)want,
                       (unsigned long long)size,
                       (unsigned long long)((size - f->header_bytes) / item_bytes));
    } else if (size > want) {
        return sb_fail(SB_EFORMAT,
                       "%s: %llu trailing bytes: header says %u items of %llu bytes (%llu bytes), "
                       "file has %llu bytes",
                       f->path, (unsigned long long)(size - want), f->dims[0],
                       (unsigned long long)item_bytes, (unsigned long long)want,
                       (unsigned long long)size);
    }
    return SB_OK;
}

sb_status sb_idx_open(sb_idx *f, const char *path)
{
    memset(f, 0, sizeof *f);
    int fd = -1;
    sb_status st = open_either(f, path, &fd);
    if (st)
        return st;
    uint64_t size = 0;
    uint32_t isize = 0;
    st = probe(f, fd, &size, &isize);
    if (st) {
        close(fd);
        return st;
    }
    /* gzdopen on the descriptor we probed: the file checked is the file read. */
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return sb_fail(SB_ENOMEM, "%s: out of memory opening the file with zlib", f->path);
    }
    gzbuffer(gz, GZ_BUFFER);
    st = read_header(f, gz, size, isize);
    if (st) {
        gzclose(gz);
        return st;
    }
    f->handle = gz;
    f->pos = 0;
    return SB_OK;
}

sb_status sb_idx_read(sb_idx *f, uint64_t first, uint64_t count, void *buf)
{
    if (!f->handle)
        return sb_fail(SB_EINVAL, "%s: read from an IDX file that is not open",
                       f->path[0] ? f->path : "(unnamed)");
    uint64_t n = f->dims[0];
    if (first > n || count > n - first)
        return sb_fail(SB_EINVAL, "%s: asked for items [%llu, %llu) but the file holds %llu",
                       f->path, (unsigned long long)first, (unsigned long long)(first + count),
                       (unsigned long long)n);
    if (count == 0)
        return SB_OK;
    if (!buf)
        return sb_fail(SB_EINVAL, "%s: no buffer to read %llu items into", f->path,
                       (unsigned long long)count);
    gzFile gz = f->handle;
    uint64_t item_bytes = f->item_elems * (uint64_t)f->elem_size;
    uint64_t bytes = count * item_bytes; /* <= SB_IDX_MAX_BYTES, checked at open */
    if (bytes > SIZE_MAX)
        return sb_fail(SB_ENOMEM, "%s: %llu bytes do not fit this machine's address space",
                       f->path, (unsigned long long)bytes);
    uint64_t offset = f->header_bytes + first * item_bytes;
    char where[96];
    if (f->pos != first) {
        z_off_t target = (z_off_t)offset;
        snprintf(where, sizeof where, "seeking to item %llu", (unsigned long long)first);
        f->pos = UINT64_MAX; /* unknown after a failed seek */
        if ((uint64_t)target != offset || gzseek(gz, target, SEEK_SET) != target)
            return gz_failure(gz, f->path, where);
    }
    f->pos = UINT64_MAX; /* and after a failed read */
    uint64_t got;
    if (read_fully(gz, buf, bytes, &got) != 0) {
        snprintf(where, sizeof where, "reading items [%llu, %llu)", (unsigned long long)first,
                 (unsigned long long)(first + count));
        return gz_failure(gz, f->path, where);
    }
    if (got < bytes) {
        int zerr = Z_OK;
        const char *zmsg = zlib_message(gz, &zerr);
        char note[96] = "";
        if (zerr != Z_OK)
            snprintf(note, sizeof note, " (zlib: %s)", zmsg);
        return sb_fail(SB_EFORMAT,
                       "%s: truncated: item %llu of %llu is missing or cut short; the %sdata ends "
                       "before byte %llu of the %llu bytes the header promises%s",
                       f->path, (unsigned long long)(first + got / item_bytes),
                       (unsigned long long)n, f->gzipped ? "uncompressed " : "",
                       (unsigned long long)(offset + got - got % item_bytes + item_bytes),
                       (unsigned long long)(f->header_bytes + n * item_bytes), note);
    }
    be_to_host(buf, count * f->item_elems, f->elem_size);
    if (first + count == n) {
        /* One byte more makes zlib read the gzip trailer and check the CRC
         * even when its input ran out exactly at the end of the data, and
         * finds anything after the items (say, a file that grew). */
        unsigned char extra;
        int r = gzread(gz, &extra, 1);
        if (r < 0)
            return gz_failure(gz, f->path, "at the end of the file");
        if (r > 0)
            return sb_fail(SB_EFORMAT, "%s: trailing data after the %llu items the header describes",
                           f->path, (unsigned long long)n);
    }
    f->pos = first + count;
    return SB_OK;
}

void sb_idx_close(sb_idx *f)
{
    if (f && f->handle) {
        gzclose((gzFile)f->handle);
        f->handle = NULL;
    }
}
