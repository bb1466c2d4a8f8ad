#!/usr/bin/python3
"""Checks that a file written by `spikebridge run` (task encode) has the
SONATA layout as h5py reads it: check_sonata.py FILE RANKS POPULATION..."""
import sys

import h5py
import numpy as np

path, ranks, pops = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)


with h5py.File(path, "r") as f:
    expect(int(f.attrs["magic"][0]) == 0x0A7A, "root attribute magic != 0x0A7A")
    expect(list(f.attrs["version"]) == [0, 1], "root attribute version != [0, 1]")
    labels = f["stimulus/labels"][:]
    onsets = f["stimulus/onsets_ms"][:]
    expect(len(labels) == len(onsets) > 0, "stimulus labels/onsets missing or unequal")
    expect(np.all(np.diff(onsets) > 0), "onsets not increasing")
    for pop in pops:
        g = f[f"spikes/{pop}"]
        ids, ts = g["node_ids"], g["timestamps"]
        expect(ids.dtype == np.uint64, f"{pop}: node_ids dtype {ids.dtype}")
        expect(ts.dtype == np.float64, f"{pop}: timestamps dtype {ts.dtype}")
        expect(ts.attrs["units"] == "ms", f"{pop}: units {ts.attrs['units']!r}")
        enum = h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype)
        expect(enum == {"none": 0, "by_id": 1, "by_time": 2}, f"{pop}: sorting enum {enum}")
        expect(int(g.attrs["sorting"]) == 2, f"{pop}: sorting is not by_time")
        t = ts[:]
        expect(len(t) == len(ids) and len(t) > 0, f"{pop}: no spikes or length mismatch")
        expect(np.all(np.diff(t) >= 0), f"{pop}: timestamps not sorted by time")
        expect(t[0] >= 0 and t[-1] < onsets[-1] + f[f"encoders/{pop}"].attrs["duration_ms"],
               f"{pop}: spikes outside the presentation windows")
    p = f["provenance"]
    expect(int(p.attrs["ranks"]) == ranks, f"provenance ranks {p.attrs['ranks']} != {ranks}")
    expect(b"task" in p["job"][()], "provenance job text missing")
    expect(len(p.attrs["version"]) > 0 and len(p.attrs["hosts"]) > 0, "provenance version/hosts")

for e in errors:
    print(f"check_sonata: {path}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
