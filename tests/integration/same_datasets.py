#!/usr/bin/python3
"""Exit 0 if every named dataset is identical (dtype, shape, bytes) in two
HDF5 files, else print what differs and exit 1. (h5diff exits 0 for
datasets of different shapes, "not comparable", so it cannot be used.)

    same_datasets.py A.h5 B.h5 /path/one /path/two ...
"""
import sys

import h5py
import numpy as np

a_path, b_path, names = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = 0
with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
    for name in names:
        if name not in a or name not in b:
            print(f"{name}: missing in {a_path if name not in a else b_path}", file=sys.stderr)
            bad += 1
            continue
        x, y = a[name][()], b[name][()]
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            diff = "" if x.shape != y.shape else f", {int(np.sum(x != y))} elements differ"
            print(f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}{diff}", file=sys.stderr)
            bad += 1
sys.exit(1 if bad else 0)
