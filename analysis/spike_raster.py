#!/usr/bin/python3
"""Raster plot of the first images (or the first milliseconds) of any SONATA
spike file that SpikeBridge writes, one panel per population, with image
onsets and labels when the file has a /stimulus group.

    spike_raster.py RUN.h5 [-o OUT.png] [--images 5] [--ms 2500]
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output", help="PNG to write (default: next to the file)")
    ap.add_argument("--images", type=int, default=5, help="images to show (with /stimulus)")
    ap.add_argument("--ms", type=float, default=2500.0, help="time window without /stimulus")
    args = ap.parse_args()

    with h5py.File(args.file, "r") as f:
        if "spikes" not in f or not len(f["spikes"]):
            sys.exit(f"spike_raster: {args.file}: no /spikes populations")
        pops = list(f["spikes"])
        t_end, onsets, labels = args.ms, None, None
        if "stimulus/onsets_ms" in f:
            onsets = f["stimulus/onsets_ms"][: args.images]
            labels = f["stimulus/labels"][: args.images]
            period = onsets[1] - onsets[0] if len(onsets) > 1 else args.ms
            t_end = onsets[-1] + period
        fig, axes = plt.subplots(len(pops), 1, figsize=(11, 2.6 * len(pops)), sharex=True,
                                 squeeze=False)
        for ax, pop in zip(axes[:, 0], pops):
            ts = f[f"spikes/{pop}/timestamps"]
            ids = f[f"spikes/{pop}/node_ids"]
            # Files sorted by time need only a prefix; others are read whole.
            n = len(ts)
            if n and int(f[f"spikes/{pop}"].attrs.get("sorting", 0)) == 2:
                n = int(np.searchsorted(ts[:], t_end))
            t, i = ts[:n], ids[:n]
            keep = t < t_end
            ax.plot(t[keep], i[keep], "k.", ms=1.0, mew=0)
            ax.set_ylabel(f"{pop}\nnode id")
            ax.text(0.995, 0.97, f"{int(keep.sum())} spikes", transform=ax.transAxes,
                    ha="right", va="top", fontsize=8, backgroundcolor="white")
            if onsets is not None:
                for k, (t0, lab) in enumerate(zip(onsets, labels)):
                    ax.axvline(t0, color="tab:red", lw=0.8)
                    if ax is axes[0, 0]:
                        ax.text(t0 + 5, 1.02, f"image {k}: label {lab}", transform=ax.get_xaxis_transform(),
                                color="tab:red", fontsize=8)
        axes[-1, 0].set_xlabel("time (ms)")
        axes[-1, 0].set_xlim(0, t_end)
    out = args.output or os.path.splitext(args.file)[0] + "_raster.png"
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"spike_raster: wrote {out}")


if __name__ == "__main__":
    main()
