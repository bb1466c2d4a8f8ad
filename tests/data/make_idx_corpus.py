#!/usr/bin/python3
"""Writes the IDX test corpus under tests/data/idx/ (run from anywhere; make
test-bins runs it, and the output is not committed).

  good/            the four MNIST-named files, raw: 6 train and 4 test images
  good_gz/         the same content, gzip-compressed, .gz names only
  types/           one small file per multi-byte element type (+ a gzip int32)
  bad/             one defect per file (see BAD below)
  count_mismatch/  train split: 3 images but 2 labels
  wrong_type/      train: float images; test: labels of rank 2
  huge_images/     train: 0 images of 65536 x 65537 pixels (too big per image)

Pixel values and labels are the functions pixel() and label(): the C tests
(tests/unit/test_idx.c) compute the same values to check what is read.
"""
import gzip
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idx")
ROWS = COLS = 28
N = {"train": 6, "t10k": 4}
SPLIT_ID = {"train": 0, "t10k": 1}

U8, I8, I16, I32, F32, F64 = 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E


def pixel(split, k, i):
    # MNIST-like: a black border around a patterned patch (so gzip helps)
    r, c = divmod(i, COLS)
    if 4 <= r < 24 and 6 <= c < 22:
        return (split * 101 + k * 31 + r * 7 + c * 3 + r * c) % 256
    return 0


def label(split, k):
    # any byte: datasets are not limited to 10 classes
    return (split * 50 + k * 37 + 3) % 256


def idx(type_, dims, payload=b""):
    head = struct.pack(">BBBB", 0, 0, type_, len(dims))
    return head + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    # mtime=0: the same bytes on every run
    return gzip.compress(data, compresslevel=9, mtime=0)


def put(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def images(prefix, n=None):
    s = SPLIT_ID[prefix]
    n = N[prefix] if n is None else n
    px = bytes(pixel(s, k, i) for k in range(n) for i in range(ROWS * COLS))
    return idx(U8, (n, ROWS, COLS), px)


def labels(prefix, n=None):
    s = SPLIT_ID[prefix]
    n = N[prefix] if n is None else n
    return idx(U8, (n,), bytes(label(s, k) for k in range(n)))


def good():
    for prefix in N:
        for name, data in ((f"{prefix}-images-idx3-ubyte", images(prefix)),
                           (f"{prefix}-labels-idx1-ubyte", labels(prefix))):
            put(f"good/{name}", data)
            put(f"good_gz/{name}.gz", gz(data))


# Values the C tests expect, element by element.
I8_VALUES = [-128, -1, 0, 1, 127]
I16_VALUES = [-32768, -2, 0, 1, 0x0102, 32767]
I32_VALUES = [-2147483648, -1, 0, 1, 0x01020304, 2147483647]
F32_VALUES = [-1.5, 0.0, 1.0, 3.25, 1e-3, 65504.0]
F64_VALUES = [-2.5, 0.0, 1.0, 1e-300, 3.141592653589793, 1e300, -0.125, 42.0]


def types():
    put("types/i8", idx(I8, (5,), struct.pack(">5b", *I8_VALUES)))
    put("types/i16", idx(I16, (3, 2), struct.pack(">6h", *I16_VALUES)))
    i32 = idx(I32, (3, 2), struct.pack(">6i", *I32_VALUES))
    put("types/i32", i32)
    put("types/i32z.gz", gz(i32))
    put("types/f32", idx(F32, (2, 3), struct.pack(">6f", *F32_VALUES)))
    put("types/f64", idx(F64, (2, 2, 2), struct.pack(">8d", *F64_VALUES)))


def bad():
    small = idx(U8, (5, 4, 4), bytes(range(80)))
    put("bad/truncated", small[:16 + 50])
    put("bad/trailing", small + b"\0\0\0")
    put("bad/bad_magic", b"\x12\x34" + small[2:])
    put("bad/bad_type", idx(0x0A, (5, 4, 4), bytes(range(80))))
    put("bad/rank0", struct.pack(">I", 0x0800) + bytes(16))
    put("bad/rank9", idx(U8, (1,) * 9, b"\x07"))
    put("bad/zero_dim", idx(U8, (3, 0, 4)))
    # 2^32-1 x 2^16 x 2^16 bytes: far over 16 GiB, and the product fits 64 bits
    put("bad/absurd", idx(U8, (0xFFFFFFFF, 65536, 65536)))
    # eight dims of 2^32-1: the product overflows 64 bits
    put("bad/absurd_overflow", idx(F64, (0xFFFFFFFF,) * 8))
    put("bad/short_header", b"\0\0\x08")
    put("bad/header_cut", idx(U8, (5, 4, 4))[:12])
    put("bad/empty", b"")
    z = gz(small)
    put("bad/truncated_gz", z[: len(z) // 2])
    # the deflate stream cut short, then a trailer with the right ISIZE:
    # passes the open check, must fail when read
    put("bad/truncated_gz_isize", z[:20] + z[-8:])
    # bytes flipped inside the deflate stream (header and trailer intact)
    mid = bytearray(z)
    for j in range(12, len(mid) - 10, 3):
        mid[j] ^= 0x5A
    put("bad/corrupt_gz", bytes(mid))
    # a wrong CRC-32 in the trailer: only reading to the end can tell
    crc = bytearray(z)
    crc[-8] ^= 0xFF
    put("bad/crc_gz", bytes(crc))
    isize = bytearray(z)
    isize[-4:] = struct.pack("<I", len(small) + 16)
    put("bad/isize_gz", bytes(isize))
    # sound gzip streams around IDX content of the wrong length: only the
    # ISIZE check at open can tell (zlib itself finds nothing wrong)
    put("bad/short_content_gz", gz(idx(U8, (10,), bytes(5))))
    put("bad/long_content_gz", gz(idx(U8, (5,), bytes(10))))


def datasets():
    put("count_mismatch/train-images-idx3-ubyte",
        idx(U8, (3, 4, 4), bytes(range(48))))
    put("count_mismatch/train-labels-idx1-ubyte", idx(U8, (2,), b"\1\2"))
    put("wrong_type/train-images-idx3-ubyte",
        idx(F32, (2, 2, 2), struct.pack(">8f", *range(8))))
    put("wrong_type/train-labels-idx1-ubyte", idx(U8, (2,), b"\1\2"))
    put("wrong_type/t10k-images-idx3-ubyte", idx(U8, (2, 2, 2), bytes(8)))
    put("wrong_type/t10k-labels-idx1-ubyte", idx(U8, (2, 1), b"\1\2"))
    put("huge_images/train-images-idx3-ubyte", idx(U8, (0, 65536, 65537)))
    put("huge_images/train-labels-idx1-ubyte", idx(U8, (0,)))


def main():
    good()
    types()
    bad()
    datasets()


if __name__ == "__main__":
    main()
