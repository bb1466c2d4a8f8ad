#!/usr/bin/python3
"""The study's Figure 2 from a simulate result (jobs/two_neurons.ini): the
membrane potential of a driven neuron and of the neuron it excites, with
their spikes, read from the SONATA frame report (/reports/v/<pop>) and the
spike populations.

    two_neurons.py runs/two_neurons.h5 [-o OUT.png] [--pre pre] [--post post]
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def trace(f, var, pop):
    g = f.get(f"reports/{var}/{pop}")
    if g is None:
        sys.exit(f"two_neurons: no frame report /reports/{var}/{pop} (record.traces = {pop}:0:{var})")
    t0, t1, dt = g["mapping/time"][:]
    data = g["data"][:, 0]
    return t0 + dt * np.arange(len(data)), data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output")
    ap.add_argument("--pre", default="pre")
    ap.add_argument("--post", default="post")
    args = ap.parse_args()
    out = args.output or os.path.splitext(args.file)[0] + "_two_neurons.png"
    with h5py.File(args.file, "r") as f:
        fig, axes = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
        for ax, pop, colour in zip(axes, (args.pre, args.post), ("tab:blue", "tab:orange")):
            t, v = trace(f, "v", pop)
            ax.plot(t, v, color=colour, lw=1)
            spikes = f[f"spikes/{pop}/timestamps"][:] if f"spikes/{pop}" in f else []
            top = v.max() + 5
            ax.vlines(spikes, top, top + 8, color="k", lw=1.2)
            ax.set_ylabel(f"{pop}: v (mV)")
            ax.text(0.995, 0.95, f"{len(spikes)} spikes", transform=ax.transAxes, ha="right", va="top",
                    fontsize=8)
        axes[0].set_title("One neuron driving another (study, Figure 2): spikes of pre give post "
                          "EPSPs that add up to its spikes", fontsize=10)
        axes[1].set_xlabel("time (ms)")
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        fig.savefig(out, dpi=120)
    print(f"two_neurons: wrote {out}")


if __name__ == "__main__":
    main()
