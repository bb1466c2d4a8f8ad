#!/usr/bin/python3
"""Writes a small MNIST-shaped IDX dataset (deterministic strokes on black)
for the integration tests: make_dataset.py DIR [N_TRAIN N_TEST] [--gzip]."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
from idxfile import write_idx  # noqa: E402


def image(k):
    px = bytearray(28 * 28)
    digit = k % 10
    for i in range(28 * 28):
        r, c = divmod(i, 28)
        # a thick bar whose angle and place depend on the digit, shaded
        if abs((r - 14) * (digit - 4.5) / 5 - (c - 14) + digit % 3) < 2.5 and 3 < r < 25:
            px[i] = (40 + 23 * ((r + c + k) % 10)) % 256
    return bytes(px)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    compress = "--gzip" in sys.argv
    out = args[0]
    n_train = int(args[1]) if len(args) > 1 else 30
    n_test = int(args[2]) if len(args) > 2 else 50
    os.makedirs(out, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        pixels = np.frombuffer(b"".join(image(k) for k in range(n)), np.uint8).reshape(n, 28, 28)
        write_idx(f"{out}/{prefix}-images-idx3-ubyte", pixels, compress)
        write_idx(f"{out}/{prefix}-labels-idx1-ubyte", np.arange(n) % 10, compress)


if __name__ == "__main__":
    main()
