"""IDX files (MNIST's format) for the analysis, test and benchmark scripts:
one reader and one writer, so that every script reads a dataset as
src/data/idx.c does (uint8 data, big-endian dimensions, raw or gzip).

    read_idx("data/mnist/t10k-images-idx3-ubyte", 100)  # -> uint8 (100, 28, 28)
    write_idx("out/train-labels-idx1-ubyte", labels, compress=True)  # writes ...ubyte.gz
"""
import gzip
import os
import struct
import zlib

import numpy as np


def read_idx(path, count=None):
    """The uint8 array an IDX file holds (its first `count` items if given).
    Reads PATH.gz when PATH is missing, and gzip by its magic bytes. Raises
    ValueError naming the file when it is not an IDX file of uint8, is
    truncated, or holds fewer than `count` items."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    try:
        return _read(path, gz, count)
    except (OSError, EOFError, zlib.error) as e:  # a damaged gzip stream
        raise ValueError(f"{path}: {e}") from e


def _read(path, gz, count):
    with (gzip.open if gz else open)(path, "rb") as f:
        magic = f.read(4)
        if len(magic) != 4 or magic[:3] != b"\x00\x00\x08" or magic[3] == 0:
            raise ValueError(f"{path}: not an IDX file of uint8")
        dims = f.read(4 * magic[3])
        if len(dims) != 4 * magic[3]:
            raise ValueError(f"{path}: truncated header")
        shape = list(struct.unpack(f">{magic[3]}I", dims))
        if count is not None:
            if count > shape[0]:
                raise ValueError(f"{path}: {shape[0]} items, {count} asked for")
            shape[0] = count
        size = int(np.prod(shape, dtype=object))
        if size > os.path.getsize(path) * (1032 if gz else 1):  # deflate packs at most ~1032:1
            raise ValueError(f"{path}: header claims {size} bytes, more than the file can hold")
        data = f.read(size)
    if len(data) != size:
        raise ValueError(f"{path}: truncated ({len(data)} of {size} bytes)")
    return np.frombuffer(data, np.uint8).reshape(shape)


def write_idx(path, array, compress=False):
    """Writes array (as uint8) to path, or to path.gz with compress."""
    array = np.asarray(array)
    data = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    with (gzip.open(path + ".gz", "wb") if compress else open(path, "wb")) as f:
        f.write(data)
