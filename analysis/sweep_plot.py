#!/usr/bin/python3
"""A metric against the swept keys of a sweep (or of any collected runs):

    sweep_plot.py TABLE.h5|TABLE.csv [-o OUT.png]

reads the table that `spikebridge run SWEEP.ini` or `spikebridge collect`
wrote (the CSV next to the HDF5 file) and draws one panel per swept key:
the metric of every point against that key's value, the best point marked.
"""
import argparse
import csv
import io
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_table(path):
    if path.endswith(".csv"):
        text = open(path).read()
    else:
        with h5py.File(path, "r") as f:
            text = f["collect/table_csv"][()].decode()
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        values = dict(kv.split("=", 1) for kv in r["overrides"].split() if "=" in kv)
        rows.append((float(r["metric"]), r["file"], values))
    return rows


def as_number(v):
    try:
        return float(v)
    except ValueError:
        return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    rows = read_table(args.table)
    if not rows:
        raise SystemExit(f"sweep_plot: {args.table}: no rows")
    # Swept keys: those whose values differ between points.
    keys = sorted({k for _, _, v in rows for k in v})
    swept = [k for k in keys if len({r[2].get(k) for r in rows}) > 1] or keys[:1]
    fig, axes = plt.subplots(1, max(1, len(swept)), figsize=(4.5 * max(1, len(swept)), 3.6),
                             squeeze=False)
    best = max(rows, key=lambda r: r[0])
    for ax, key in zip(axes[0], swept):
        xs = [as_number(r[2].get(key, "?")) for r in rows]
        numeric = all(isinstance(x, float) for x in xs)
        ax.scatter(xs, [100 * r[0] for r in rows], c="k", s=18)
        ax.scatter([as_number(best[2].get(key, "?"))], [100 * best[0]], s=80, facecolors="none",
                   edgecolors="tab:red", label=f"best: {os.path.basename(best[1])}")
        if numeric and min(xs) > 0 and max(xs) / min(xs) > 20:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel("metric (%)")
        ax.legend(fontsize=7)
    out = args.output or os.path.splitext(args.table)[0] + "_sweep.png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"sweep_plot: {len(rows)} points, swept {', '.join(swept)}; best {best[1]} "
          f"({100 * best[0]:.2f} %); wrote {out}")


if __name__ == "__main__":
    main()
