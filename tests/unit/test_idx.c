/* IDX files and datasets against the corpus in tests/data/idx (written by
 * tests/data/make_idx_corpus.py; pixel() and label() mirror it).
 *
 * Status codes: a file that cannot be found, opened or read is SB_EIO; a
 * file whose content is wrong (magic, type, rank, dims, length, gzip
 * stream) is SB_EFORMAT; a header describing more than SB_IDX_MAX_BYTES is
 * SB_ENOMEM (core.h: "a size is absurd"); asking for items a file does not
 * hold is SB_EINVAL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "spikebridge/data.h"

#define IDX SB_TEST_DATA "/idx"
#define GOOD IDX "/good"
#define GOOD_GZ IDX "/good_gz"
#define BAD IDX "/bad"

enum { ROWS = 28, COLS = 28, PIX = ROWS * COLS, TRAIN_N = 6, TEST_N = 4 };

static uint8_t pixel(int split, int k, int i)
{
    int r = i / COLS, c = i % COLS;
    if (r >= 4 && r < 24 && c >= 6 && c < 22)
        return (uint8_t)((split * 101 + k * 31 + r * 7 + c * 3 + r * c) % 256);
    return 0;
}

static uint8_t label(int split, int k) { return (uint8_t)((split * 50 + k * 37 + 3) % 256); }

/* Items [first, first + n) of a split's images match pixel(). */
static int images_match(const uint8_t *px, int split, int first, int n)
{
    for (int k = 0; k < n; k++)
        for (int i = 0; i < PIX; i++)
            if (px[(size_t)k * PIX + i] != pixel(split, first + k, i))
                return 0;
    return 1;
}

static int labels_match(const uint8_t *lb, int split, int first, int n)
{
    for (int k = 0; k < n; k++)
        if (lb[k] != label(split, first + k))
            return 0;
    return 1;
}

static int has(const char *needle)
{
    if (strstr(sb_last_error(), needle))
        return 1;
    printf("\n    message \"%s\" lacks \"%s\" ", sb_last_error(), needle);
    return 0;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* ------------------------------------------------------------------ IDX */

static void test_raw_images(void)
{
    sb_idx f;
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, GOOD "/train-images-idx3-ubyte"), SB_OK);
    CU_ASSERT_STRING_EQUAL(f.path, GOOD "/train-images-idx3-ubyte");
    CU_ASSERT_EQUAL(f.gzipped, 0);
    CU_ASSERT_EQUAL(f.type, SB_IDX_U8);
    CU_ASSERT_EQUAL(f.elem_size, 1);
    CU_ASSERT_EQUAL(f.rank, 3);
    CU_ASSERT_EQUAL(f.dims[0], TRAIN_N);
    CU_ASSERT_EQUAL(f.dims[1], ROWS);
    CU_ASSERT_EQUAL(f.dims[2], COLS);
    CU_ASSERT_EQUAL(f.item_elems, PIX);
    CU_ASSERT_EQUAL(f.header_bytes, 16);
    CU_ASSERT_EQUAL(f.pos, 0);
    uint8_t px[TRAIN_N * PIX];
    memset(px, 0xEE, sizeof px);
    CU_ASSERT_EQUAL_FATAL(sb_idx_read(&f, 0, TRAIN_N, px), SB_OK);
    CU_ASSERT(images_match(px, 0, 0, TRAIN_N));
    CU_ASSERT_EQUAL(f.pos, TRAIN_N);
    sb_idx_close(&f);
    CU_ASSERT_PTR_NULL(f.handle);
    sb_idx_close(&f); /* twice is harmless */
}

static void test_gz_images_and_labels(void)
{
    sb_idx f;
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, GOOD_GZ "/t10k-images-idx3-ubyte"), SB_OK);
    CU_ASSERT_STRING_EQUAL(f.path, GOOD_GZ "/t10k-images-idx3-ubyte.gz");
    CU_ASSERT_EQUAL(f.gzipped, 1);
    CU_ASSERT_EQUAL(f.rank, 3);
    CU_ASSERT_EQUAL(f.dims[0], TEST_N);
    uint8_t px[TEST_N * PIX];
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, TEST_N, px), SB_OK);
    CU_ASSERT(images_match(px, 1, 0, TEST_N));
    sb_idx_close(&f);

    uint8_t lb[TRAIN_N];
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, GOOD_GZ "/train-labels-idx1-ubyte"), SB_OK);
    CU_ASSERT_EQUAL(f.rank, 1);
    CU_ASSERT_EQUAL(f.item_elems, 1);
    CU_ASSERT_EQUAL(f.header_bytes, 8);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, TRAIN_N, lb), SB_OK);
    CU_ASSERT(labels_match(lb, 0, 0, TRAIN_N));
    sb_idx_close(&f);

    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, GOOD "/train-labels-idx1-ubyte"), SB_OK);
    CU_ASSERT_EQUAL(f.gzipped, 0);
    memset(lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, TRAIN_N, lb), SB_OK);
    CU_ASSERT(labels_match(lb, 0, 0, TRAIN_N));
    sb_idx_close(&f);
}

/* Middle, last, backwards and out of range, on the raw and the gzip file. */
static void test_ranges(void)
{
    const char *paths[] = {GOOD "/train-images-idx3-ubyte", GOOD_GZ "/train-images-idx3-ubyte"};
    for (int p = 0; p < 2; p++) {
        sb_idx f;
        CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, paths[p]), SB_OK);
        uint8_t px[3 * PIX];
        CU_ASSERT_EQUAL(sb_idx_read(&f, 2, 2, px), SB_OK);
        CU_ASSERT(images_match(px, 0, 2, 2));
        CU_ASSERT_EQUAL(f.pos, 4);
        CU_ASSERT_EQUAL(sb_idx_read(&f, 5, 1, px), SB_OK); /* skips item 4 */
        CU_ASSERT(images_match(px, 0, 5, 1));
        CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 1, px), SB_OK); /* backwards */
        CU_ASSERT(images_match(px, 0, 0, 1));
        CU_ASSERT_EQUAL(sb_idx_read(&f, 1, 3, px), SB_OK); /* forwards from there */
        CU_ASSERT(images_match(px, 0, 1, 3));

        sb_clear_error();
        CU_ASSERT_EQUAL(sb_idx_read(&f, 5, 2, px), SB_EINVAL);
        CU_ASSERT(has(f.path));
        CU_ASSERT(has("[5, 7)"));
        CU_ASSERT(has("holds 6"));
        CU_ASSERT_EQUAL(sb_idx_read(&f, 7, 0, px), SB_EINVAL);
        CU_ASSERT_EQUAL(sb_idx_read(&f, UINT64_MAX, 2, px), SB_EINVAL); /* no wrap-around */
        CU_ASSERT_EQUAL(sb_idx_read(&f, 6, 0, NULL), SB_OK);            /* empty is fine */
        /* a refused read leaves the file usable */
        CU_ASSERT_EQUAL(sb_idx_read(&f, 3, 3, px), SB_OK);
        CU_ASSERT(images_match(px, 0, 3, 3));
        sb_idx_close(&f);
    }
}

/* Multi-byte elements come back in host order. */
static void test_types(void)
{
    sb_idx f;
    int8_t i8[5];
    const int8_t i8_want[5] = {-128, -1, 0, 1, 127};
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, IDX "/types/i8"), SB_OK);
    CU_ASSERT_EQUAL(f.type, SB_IDX_I8);
    CU_ASSERT_EQUAL(f.elem_size, 1);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 5, i8), SB_OK);
    CU_ASSERT(memcmp(i8, i8_want, sizeof i8) == 0);
    sb_idx_close(&f);

    int16_t i16[6];
    const int16_t i16_want[6] = {-32768, -2, 0, 1, 0x0102, 32767};
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, IDX "/types/i16"), SB_OK);
    CU_ASSERT_EQUAL(f.type, SB_IDX_I16);
    CU_ASSERT_EQUAL(f.elem_size, 2);
    CU_ASSERT_EQUAL(f.item_elems, 2);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 3, i16), SB_OK);
    CU_ASSERT(memcmp(i16, i16_want, sizeof i16) == 0);
    sb_idx_close(&f);

    const int32_t i32_want[6] = {INT32_MIN, -1, 0, 1, 0x01020304, INT32_MAX};
    const char *i32_paths[] = {IDX "/types/i32", IDX "/types/i32z"};
    for (int p = 0; p < 2; p++) {
        int32_t i32[6];
        CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, i32_paths[p]), SB_OK);
        CU_ASSERT_EQUAL(f.gzipped, p);
        CU_ASSERT_EQUAL(f.type, SB_IDX_I32);
        CU_ASSERT_EQUAL(f.elem_size, 4);
        CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 3, i32), SB_OK);
        CU_ASSERT(memcmp(i32, i32_want, sizeof i32) == 0);
        /* one item at a time, last to first: seeks, and converts each */
        for (int k = 2; k >= 0; k--) {
            int32_t two[2] = {0, 0};
            CU_ASSERT_EQUAL(sb_idx_read(&f, (uint64_t)k, 1, two), SB_OK);
            CU_ASSERT_EQUAL(two[0], i32_want[2 * k]);
            CU_ASSERT_EQUAL(two[1], i32_want[2 * k + 1]);
        }
        sb_idx_close(&f);
    }

    float f32[6];
    const float f32_want[6] = {-1.5f, 0.0f, 1.0f, 3.25f, 1e-3f, 65504.0f};
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, IDX "/types/f32"), SB_OK);
    CU_ASSERT_EQUAL(f.type, SB_IDX_F32);
    CU_ASSERT_EQUAL(f.item_elems, 3);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 2, f32), SB_OK);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(f32[i], f32_want[i]);
    sb_idx_close(&f);

    double f64[8];
    const double f64_want[8] = {-2.5, 0.0, 1.0, 1e-300, 3.141592653589793, 1e300, -0.125, 42.0};
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, IDX "/types/f64"), SB_OK);
    CU_ASSERT_EQUAL(f.type, SB_IDX_F64);
    CU_ASSERT_EQUAL(f.elem_size, 8);
    CU_ASSERT_EQUAL(f.rank, 3);
    CU_ASSERT_EQUAL(f.item_elems, 4);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 1, 1, f64 + 4), SB_OK);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 1, f64), SB_OK);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(f64[i], f64_want[i]);
    sb_idx_close(&f);
}

enum { AT_OPEN, AT_READ, AT_EITHER };

typedef struct {
    const char *name;
    sb_status status;
    const char *says; /* a fragment of the message */
    int stage;
} bad_case;

/* Opens and, if that works, reads everything: the first failure. */
static sb_status open_and_read_all(const char *path, int *stage)
{
    sb_idx f;
    *stage = AT_OPEN;
    sb_status st = sb_idx_open(&f, path);
    if (st) {
        CU_ASSERT_PTR_NULL(f.handle);
        return st;
    }
    *stage = AT_READ;
    uint64_t bytes = f.dims[0] * f.item_elems * (uint64_t)f.elem_size;
    CU_ASSERT_FATAL(bytes < 1 << 20);
    void *buf = malloc(bytes ? bytes : 1);
    st = sb_idx_read(&f, 0, f.dims[0], buf);
    free(buf);
    sb_idx_close(&f);
    return st;
}

static void test_bad_files(void)
{
    static const bad_case cases[] = {
        {"truncated", SB_EFORMAT, "truncated: header says 5 items of 16 bytes (96 bytes), file has 66 bytes", AT_OPEN},
        {"trailing", SB_EFORMAT, "3 trailing bytes", AT_OPEN},
        {"bad_magic", SB_EFORMAT, "bad magic 0x12340803", AT_OPEN},
        {"bad_type", SB_EFORMAT, "bad magic 0x00000a03: unknown element type 0x0a", AT_OPEN},
        {"rank0", SB_EFORMAT, "rank 0 (expected 1..8)", AT_OPEN},
        {"rank9", SB_EFORMAT, "rank 9 (expected 1..8)", AT_OPEN},
        {"zero_dim", SB_EFORMAT, "dimension 1 is 0 (dims 3 x 0 x 4)", AT_OPEN},
        {"absurd", SB_ENOMEM, "4294967295 x 65536 x 65536 elements of 1 byte, over the limit", AT_OPEN},
        {"absurd_overflow", SB_ENOMEM, "elements of 8 bytes, over the limit", AT_OPEN},
        {"short_header", SB_EFORMAT, "too short for an IDX header: 3 bytes", AT_OPEN},
        {"header_cut", SB_EFORMAT, "header cut short: rank 3 needs 16 bytes", AT_OPEN},
        {"empty", SB_EFORMAT, "empty file", AT_OPEN},
        {"truncated_gz", SB_EFORMAT, "truncated or corrupt: the gzip trailer says", AT_OPEN},
        {"short_content_gz", SB_EFORMAT, "trailer says 13 uncompressed bytes (mod 2^32), the header says 10 items of 1 bytes (18 bytes)", AT_OPEN},
        {"long_content_gz", SB_EFORMAT, "trailer says 18 uncompressed bytes (mod 2^32), the header says 5 items of 1 bytes (13 bytes)", AT_OPEN},
        /* zlib finds these itself; in a file this small it decodes the whole
         * stream at the first read, so the stage depends on zlib */
        {"isize_gz", SB_EFORMAT, "incorrect length check", AT_EITHER},
        {"truncated_gz_isize", SB_EFORMAT, "gzip", AT_EITHER},
        {"corrupt_gz", SB_EFORMAT, "corrupt gzip data", AT_EITHER},
        {"crc_gz", SB_EFORMAT, "incorrect data check", AT_EITHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        char path[256];
        snprintf(path, sizeof path, BAD "/%s", c->name);
        sb_clear_error();
        int stage;
        sb_status st = open_and_read_all(path, &stage);
        if (st != c->status)
            printf("\n    %s: status %d (%s), wanted %d ", c->name, st, sb_last_error(), c->status);
        if (getenv("SB_TEST_VERBOSE"))
            printf("\n    %s: %s ", stage == AT_OPEN ? "open" : "read", sb_last_error());
        CU_ASSERT_EQUAL(st, c->status);
        CU_ASSERT(c->stage == AT_EITHER || stage == c->stage);
        CU_ASSERT(has(path));
        CU_ASSERT(has(c->says));
        CU_ASSERT(strchr(sb_last_error(), '\n') == NULL);
    }
}

static void test_not_found_and_not_a_file(void)
{
    sb_idx f;
    sb_clear_error();
    CU_ASSERT_EQUAL(sb_idx_open(&f, IDX "/no-such-file"), SB_EIO);
    CU_ASSERT_STRING_EQUAL(sb_last_error(),
                           IDX "/no-such-file: not found (nor " IDX "/no-such-file.gz)");
    CU_ASSERT_PTR_NULL(f.handle);
    CU_ASSERT_EQUAL(sb_idx_open(&f, IDX "/good"), SB_EIO);
    CU_ASSERT(has(IDX "/good: is a directory"));
    CU_ASSERT_EQUAL(sb_idx_open(&f, GOOD "/train-labels-idx1-ubyte/x"), SB_EIO);
    CU_ASSERT(has("train-labels-idx1-ubyte/x"));
    /* not open: refused, not a crash */
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, 0, NULL), SB_EINVAL);
}

/* A file that names itself .gz but is raw still reads (zlib is
 * transparent), and gzipped says what the bytes are, not the name. */
static void test_raw_named_gz(void)
{
    const char *src = GOOD "/train-labels-idx1-ubyte";
    const char *dst = sb_test_path("labels.gz");
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CU_ASSERT_FATAL(in && out);
    int ch;
    while ((ch = fgetc(in)) != EOF)
        fputc(ch, out);
    fclose(in);
    fclose(out);
    sb_idx f;
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, sb_test_path("labels")), SB_OK);
    CU_ASSERT(ends_with(f.path, "labels.gz"));
    CU_ASSERT_EQUAL(f.gzipped, 0);
    uint8_t lb[TRAIN_N];
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, TRAIN_N, lb), SB_OK);
    CU_ASSERT(labels_match(lb, 0, 0, TRAIN_N));
    sb_idx_close(&f);
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, n, f);
    return fclose(f) == 0 && put == n ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    unsigned char *buf = len > 0 ? malloc((size_t)len) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = buf ? (size_t)len : 0;
    return buf;
}

/* A gzip IDX too big for zlib to decode at the first read (1024 items of
 * 1 KiB of noise, stored blocks), so that damage deep in the stream shows
 * up in sb_idx_read, not at open. */
enum { BIG_N = 1024, BIG_ITEM = 1024 };

static unsigned char *big_payload(void)
{
    unsigned char *p = malloc((size_t)BIG_N * BIG_ITEM);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; p && i < (size_t)BIG_N * BIG_ITEM; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

static unsigned char *write_big_gz(const char *path, size_t *zlen)
{
    unsigned char *payload = big_payload();
    unsigned char head[12] = {0, 0, SB_IDX_U8, 2, 0, 0, BIG_N >> 8, BIG_N & 0xff,
                              0, 0, BIG_ITEM >> 8, BIG_ITEM & 0xff};
    gzFile gz = gzopen(path, "wb");
    int ok = payload && gz && gzwrite(gz, head, sizeof head) == (int)sizeof head &&
             gzwrite(gz, payload, BIG_N * BIG_ITEM) == BIG_N * BIG_ITEM;
    if (gz)
        ok = gzclose(gz) == Z_OK && ok;
    free(payload);
    return ok ? read_file(path, zlen) : NULL;
}

static void test_gz_damage_found_while_reading(void)
{
    size_t zlen = 0;
    unsigned char *z = write_big_gz(sb_test_path("big.gz"), &zlen);
    CU_ASSERT_FATAL(z != NULL);
    unsigned char *want = big_payload();
    unsigned char *got = malloc((size_t)BIG_N * BIG_ITEM);
    CU_ASSERT_FATAL(want && got);
    sb_idx f;
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, sb_test_path("big")), SB_OK);
    CU_ASSERT_EQUAL(f.gzipped, 1);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, BIG_N, got), SB_OK);
    CU_ASSERT(memcmp(got, want, (size_t)BIG_N * BIG_ITEM) == 0);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 700, 2, got), SB_OK); /* backwards: re-reads */
    CU_ASSERT(memcmp(got, want + 700 * BIG_ITEM, 2 * BIG_ITEM) == 0);
    sb_idx_close(&f);

    /* a wrong CRC: every item reads, the end of the file does not */
    z[zlen - 8] ^= 0xff;
    CU_ASSERT_EQUAL_FATAL(write_file(sb_test_path("crc.gz"), z, zlen), 0);
    z[zlen - 8] ^= 0xff;
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, sb_test_path("crc")), SB_OK);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, BIG_N - 1, got), SB_OK);
    CU_ASSERT(memcmp(got, want, (size_t)(BIG_N - 1) * BIG_ITEM) == 0);
    CU_ASSERT_EQUAL(sb_idx_read(&f, BIG_N - 1, 1, got), SB_EFORMAT);
    CU_ASSERT(has(sb_test_path("crc.gz: corrupt gzip data reading items [1023, 1024)")));
    CU_ASSERT(has("incorrect data check"));
    sb_idx_close(&f);
    /* in one read: zlib finds it within the read or, when its input ends
     * right before the trailer, in the byte read after the last item */
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, sb_test_path("crc")), SB_OK);
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, BIG_N, got), SB_EFORMAT);
    CU_ASSERT(has(sb_test_path("crc.gz: corrupt gzip data ")));
    CU_ASSERT(has("incorrect data check"));
    sb_idx_close(&f);

    /* cut in the middle, with the right ISIZE put back: passes the open
     * check; the read names the item where the data stops */
    size_t half = zlen / 2;
    memcpy(z + half, z + zlen - 8, 8);
    CU_ASSERT_EQUAL_FATAL(write_file(sb_test_path("cut.gz"), z, half + 8), 0);
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, sb_test_path("cut")), SB_OK);
    sb_clear_error();
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, BIG_N, got), SB_EFORMAT);
    CU_ASSERT(has(sb_test_path("cut.gz: ")));
    CU_ASSERT(has("truncated: item "));
    CU_ASSERT(has("of 1024 is missing or cut short; the uncompressed data ends before byte "));
    CU_ASSERT(has("(zlib: unexpected end of file)"));
    sb_idx_close(&f);
    free(z);
    free(want);
    free(got);
}

/* A raw file that shrinks after open (rewritten by someone else): the short
 * read names the first item that is not there. Big enough that zlib's
 * buffer does not already hold it all after the header. */
static void test_raw_shrinks_after_open(void)
{
    unsigned char *want = big_payload();
    unsigned char *got = malloc((size_t)BIG_N * BIG_ITEM);
    CU_ASSERT_FATAL(want && got);
    unsigned char head[12] = {0, 0, SB_IDX_U8, 2, 0, 0, BIG_N >> 8, BIG_N & 0xff,
                              0, 0, BIG_ITEM >> 8, BIG_ITEM & 0xff};
    const char *path = sb_test_path("shrinks");
    FILE *out = fopen(path, "wb");
    CU_ASSERT_FATAL(out != NULL);
    CU_ASSERT(fwrite(head, 1, sizeof head, out) == sizeof head);
    CU_ASSERT(fwrite(want, 1, (size_t)BIG_N * BIG_ITEM, out) == (size_t)BIG_N * BIG_ITEM);
    CU_ASSERT_EQUAL_FATAL(fclose(out), 0);
    sb_idx f;
    CU_ASSERT_EQUAL_FATAL(sb_idx_open(&f, path), SB_OK);
    CU_ASSERT_EQUAL_FATAL(truncate(path, 12 + 300 * BIG_ITEM + 10), 0);
    sb_clear_error();
    CU_ASSERT_EQUAL(sb_idx_read(&f, 0, BIG_N, got), SB_EFORMAT);
    CU_ASSERT(has(path));
    CU_ASSERT(has("truncated: item 300 of 1024 is missing or cut short; the data ends before byte "
                  "308236 of the 1048588 bytes the header promises"));
    CU_ASSERT(memcmp(got, want, 300 * BIG_ITEM) == 0);
    sb_idx_close(&f);
    free(want);
    free(got);
}

/* ------------------------------------------------------------------ datasets */

static void test_split_names(void)
{
    CU_ASSERT_STRING_EQUAL(sb_split_name(SB_SPLIT_TRAIN), "train");
    CU_ASSERT_STRING_EQUAL(sb_split_name(SB_SPLIT_TEST), "test");
    CU_ASSERT_STRING_EQUAL(sb_split_file(SB_SPLIT_TRAIN, 0), "train-images-idx3-ubyte");
    CU_ASSERT_STRING_EQUAL(sb_split_file(SB_SPLIT_TRAIN, 1), "train-labels-idx1-ubyte");
    CU_ASSERT_STRING_EQUAL(sb_split_file(SB_SPLIT_TEST, 0), "t10k-images-idx3-ubyte");
    CU_ASSERT_STRING_EQUAL(sb_split_file(SB_SPLIT_TEST, 1), "t10k-labels-idx1-ubyte");
}

static void test_count(void)
{
    const char *dirs[] = {GOOD, GOOD_GZ, GOOD "/"};
    for (int d = 0; d < 3; d++) {
        uint64_t n = 99;
        CU_ASSERT_EQUAL(sb_dataset_count(dirs[d], SB_SPLIT_TRAIN, &n), SB_OK);
        CU_ASSERT_EQUAL(n, TRAIN_N);
        CU_ASSERT_EQUAL(sb_dataset_count(dirs[d], SB_SPLIT_TEST, &n), SB_OK);
        CU_ASSERT_EQUAL(n, TEST_N);
    }
}

static void test_load_whole(void)
{
    const char *dirs[] = {GOOD, GOOD_GZ};
    for (int d = 0; d < 2; d++)
        for (int split = 0; split < 2; split++) {
            int n = split ? TEST_N : TRAIN_N;
            sb_dataset ds;
            CU_ASSERT_EQUAL_FATAL(sb_dataset_load(&ds, dirs[d], (sb_split)split, 0, (uint64_t)n), SB_OK);
            CU_ASSERT_EQUAL(ds.first, 0);
            CU_ASSERT_EQUAL(ds.n, n);
            CU_ASSERT_EQUAL(ds.rows, ROWS);
            CU_ASSERT_EQUAL(ds.cols, COLS);
            CU_ASSERT(images_match(ds.pixels, split, 0, n));
            CU_ASSERT(labels_match(ds.labels, split, 0, n));
            sb_dataset_free(&ds);
            CU_ASSERT_PTR_NULL(ds.pixels);
            CU_ASSERT_PTR_NULL(ds.labels);
            CU_ASSERT_EQUAL(ds.n, 0);
        }
}

static void test_load_range_and_empty(void)
{
    sb_dataset ds;
    CU_ASSERT_EQUAL_FATAL(sb_dataset_load(&ds, GOOD_GZ, SB_SPLIT_TEST, 1, 2), SB_OK);
    CU_ASSERT_EQUAL(ds.first, 1);
    CU_ASSERT_EQUAL(ds.n, 2);
    CU_ASSERT(images_match(ds.pixels, 1, 1, 2));
    CU_ASSERT(labels_match(ds.labels, 1, 1, 2));
    sb_dataset_free(&ds);

    CU_ASSERT_EQUAL_FATAL(sb_dataset_load(&ds, GOOD, SB_SPLIT_TRAIN, 3, 3), SB_OK);
    CU_ASSERT(images_match(ds.pixels, 0, 3, 3));
    CU_ASSERT(labels_match(ds.labels, 0, 3, 3));
    sb_dataset_free(&ds);

    /* nothing to load still tells the image shape (a rank with no work) */
    CU_ASSERT_EQUAL_FATAL(sb_dataset_load(&ds, GOOD, SB_SPLIT_TEST, TEST_N, 0), SB_OK);
    CU_ASSERT_EQUAL(ds.n, 0);
    CU_ASSERT_EQUAL(ds.first, TEST_N);
    CU_ASSERT_EQUAL(ds.rows, ROWS);
    CU_ASSERT_EQUAL(ds.cols, COLS);
    sb_dataset_free(&ds);
}

static void test_load_too_many(void)
{
    sb_dataset ds;
    CU_ASSERT_EQUAL(sb_dataset_load(&ds, GOOD, SB_SPLIT_TEST, 0, TEST_N + 1), SB_EINVAL);
    CU_ASSERT_STRING_EQUAL(sb_last_error(), GOOD ": asked for images 0..4 of the test split "
                                            "but t10k-images-idx3-ubyte holds 4");
    CU_ASSERT_PTR_NULL(ds.pixels);
    CU_ASSERT_PTR_NULL(ds.labels);
    CU_ASSERT_EQUAL(ds.n, 0);
    CU_ASSERT_EQUAL(sb_dataset_load(&ds, GOOD_GZ, SB_SPLIT_TRAIN, 4, 3), SB_EINVAL);
    CU_ASSERT(has("asked for images 4..6 of the train split but train-images-idx3-ubyte.gz holds 6"));
    CU_ASSERT_EQUAL(sb_dataset_load(&ds, GOOD, SB_SPLIT_TRAIN, TRAIN_N + 1, 0), SB_EINVAL);
    CU_ASSERT(has("holds 6"));
    CU_ASSERT_EQUAL(sb_dataset_load(&ds, GOOD, SB_SPLIT_TRAIN, UINT64_MAX, 2), SB_EINVAL);
}

static void test_count_mismatch(void)
{
    uint64_t n = 99;
    CU_ASSERT_EQUAL(sb_dataset_count(IDX "/count_mismatch", SB_SPLIT_TRAIN, &n), SB_EFORMAT);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_STRING_EQUAL(sb_last_error(),
                           IDX "/count_mismatch/train-images-idx3-ubyte holds 3 images but " IDX
                               "/count_mismatch/train-labels-idx1-ubyte holds 2 labels");
    sb_dataset ds;
    CU_ASSERT_EQUAL(sb_dataset_load(&ds, IDX "/count_mismatch", SB_SPLIT_TRAIN, 0, 1), SB_EFORMAT);
    CU_ASSERT(has("holds 3 images"));
    CU_ASSERT_PTR_NULL(ds.pixels);
    /* the test split is not there at all */
    CU_ASSERT_EQUAL(sb_dataset_count(IDX "/count_mismatch", SB_SPLIT_TEST, &n), SB_EIO);
    CU_ASSERT(has(IDX "/count_mismatch/t10k-images-idx3-ubyte: not found"));
}

static void test_wrong_type(void)
{
    uint64_t n;
    CU_ASSERT_EQUAL(sb_dataset_count(IDX "/wrong_type", SB_SPLIT_TRAIN, &n), SB_EFORMAT);
    CU_ASSERT(has(IDX "/wrong_type/train-images-idx3-ubyte: train images must be ubyte"));
    CU_ASSERT(has("holds float (type 0x0d) of rank 3"));
    CU_ASSERT_EQUAL(sb_dataset_count(IDX "/wrong_type", SB_SPLIT_TEST, &n), SB_EFORMAT);
    CU_ASSERT(has(IDX "/wrong_type/t10k-labels-idx1-ubyte: test labels must be ubyte"));
    CU_ASSERT(has("holds ubyte (type 0x08) of rank 2"));
    sb_dataset ds;
    CU_ASSERT_EQUAL(sb_dataset_load(&ds, IDX "/wrong_type", SB_SPLIT_TEST, 0, 1), SB_EFORMAT);
    CU_ASSERT_PTR_NULL(ds.pixels);
    CU_ASSERT_EQUAL(sb_dataset_count(IDX "/huge_images", SB_SPLIT_TRAIN, &n), SB_ENOMEM);
    CU_ASSERT(has(IDX "/huge_images/train-images-idx3-ubyte: images of 65536 x 65537 pixels"));
}

static void test_missing_dir(void)
{
    uint64_t n;
    CU_ASSERT_EQUAL(sb_dataset_count(IDX "/nowhere", SB_SPLIT_TRAIN, &n), SB_EIO);
    CU_ASSERT(has(IDX "/nowhere/train-images-idx3-ubyte: not found (nor "));
}

/* A member cut short, as by an interrupted download: the file is named, and
 * so are the sizes. */
static void test_truncated_member(void)
{
    const char *names[] = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int m = 0; m < 2; m++) {
        char src[256];
        snprintf(src, sizeof src, GOOD "/%s", names[m]);
        FILE *in = fopen(src, "rb");
        FILE *out = fopen(sb_test_path(names[m]), "wb");
        CU_ASSERT_FATAL(in && out);
        long keep = m == 0 ? 16 + 2 * PIX + 100 : -1; /* images: 2.1 items */
        int ch;
        for (long i = 0; (keep < 0 || i < keep) && (ch = fgetc(in)) != EOF; i++)
            fputc(ch, out);
        fclose(in);
        fclose(out);
    }
    uint64_t n;
    CU_ASSERT_EQUAL(sb_dataset_count(sb_test_tmpdir(), SB_SPLIT_TEST, &n), SB_EFORMAT);
    CU_ASSERT(has(sb_test_path("t10k-images-idx3-ubyte: truncated: header says 4 items of 784 "
                               "bytes (3152 bytes), file has 1684 bytes (2 complete items)")));
}

static void register_suites(void)
{
    CU_pSuite s = CU_add_suite("idx", NULL, NULL);
    CU_add_test(s, "raw ubyte images read exactly", test_raw_images);
    CU_add_test(s, "gzip images and labels read exactly", test_gz_images_and_labels);
    CU_add_test(s, "ranges: middle, last, backwards, out of range", test_ranges);
    CU_add_test(s, "multi-byte types convert to host order", test_types);
    CU_add_test(s, "every bad file: status and message", test_bad_files);
    CU_add_test(s, "not found, directory, not open", test_not_found_and_not_a_file);
    CU_add_test(s, "raw content under a .gz name", test_raw_named_gz);
    CU_add_test(s, "gzip damage found while reading", test_gz_damage_found_while_reading);
    CU_add_test(s, "raw file shrinks after open", test_raw_shrinks_after_open);
    s = CU_add_suite("dataset", NULL, NULL);
    CU_add_test(s, "split names and files", test_split_names);
    CU_add_test(s, "count, raw and gzip", test_count);
    CU_add_test(s, "load whole splits, raw and gzip", test_load_whole);
    CU_add_test(s, "load a range, and nothing", test_load_range_and_empty);
    CU_add_test(s, "more images than exist", test_load_too_many);
    CU_add_test(s, "images and labels disagree on count", test_count_mismatch);
    CU_add_test(s, "wrong type, rank or image size", test_wrong_type);
    CU_add_test(s, "missing directory", test_missing_dir);
    CU_add_test(s, "truncated member in a dataset", test_truncated_member);
}

int main(int c, char **v) { return sb_test_main(c, v, register_suites, 0); }
