#!/usr/bin/python3
"""Compares the spikes of SONATA files, or a SONATA file with a reference
list ("population id time_ms" lines): the same (population, id, time)
triples, whatever their order (ranks write their own blocks). Exit 1 and
the first differences when they differ.

    same_spikes.py A.h5 B.h5 [population ...]
    same_spikes.py A.h5 --reference ref.txt
"""
import sys
import h5py


def from_h5(path, pops=None):
    out = set()
    with h5py.File(path, "r") as f:
        for p in pops or list(f["spikes"]):
            g = f["spikes"][p]
            for i, t in zip(g["node_ids"][:], g["timestamps"][:]):
                out.add((p, int(i), round(float(t), 6)))
    return out


def from_text(path):
    out = set()
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        p, i, t = line.split()
        out.add((p, int(i), round(float(t), 6)))
    return out


def main():
    a = from_h5(sys.argv[1])
    if sys.argv[2] == "--reference":
        b = from_text(sys.argv[3])
    else:
        b = from_h5(sys.argv[2], sys.argv[3:] or None)
        a = from_h5(sys.argv[1], sys.argv[3:] or None)
    if a == b:
        print(f"same {len(a)} spikes")
        return 0
    print(f"differ: {len(a)} vs {len(b)} spikes; only in the first: {sorted(a - b)[:5]}; "
          f"only in the second: {sorted(b - a)[:5]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
