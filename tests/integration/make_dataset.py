#!/usr/bin/python3
"""Writes a small MNIST-shaped IDX dataset (deterministic strokes on black)
for the integration tests: make_dataset.py DIR [N_TRAIN N_TEST] [--gzip]."""
import gzip
import os
import struct
import sys


def image(k):
    px = bytearray(28 * 28)
    digit = k % 10
    for i in range(28 * 28):
        r, c = divmod(i, 28)
        # a thick bar whose angle and place depend on the digit, shaded
        if abs((r - 14) * (digit - 4.5) / 5 - (c - 14) + digit % 3) < 2.5 and 3 < r < 25:
            px[i] = (40 + 23 * ((r + c + k) % 10)) % 256
    return bytes(px)


def write(path, magic, dims, payload, compress):
    data = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload
    if compress:
        with gzip.open(path + ".gz", "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    compress = "--gzip" in sys.argv
    out = args[0]
    n_train = int(args[1]) if len(args) > 1 else 30
    n_test = int(args[2]) if len(args) > 2 else 50
    os.makedirs(out, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write(f"{out}/{prefix}-images-idx3-ubyte", 0x803, (n, 28, 28),
              b"".join(image(k) for k in range(n)), compress)
        write(f"{out}/{prefix}-labels-idx1-ubyte", 0x801, (n,),
              bytes(k % 10 for k in range(n)), compress)


if __name__ == "__main__":
    main()
