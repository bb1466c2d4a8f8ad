#!/usr/bin/python3
"""The rate-code claim from a convert result (jobs/convert.ini): accuracy of
the spiking network against the number of time steps next to the ANN's,
synaptic events per image against the ANN's multiply-adds, and each
neuron's spike rate against its ReLU activation for the first test images.

    convert_plot.py runs/convert.h5 [-o OUT.png]

Prints the accuracy table and the per-layer correlations as Markdown.
"""
import argparse
import os

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with h5py.File(path, "r") as f:
        c = f["convert"]
        d = {k: c[k][()] for k in ("steps", "accuracy", "synops_per_image")}
        d.update({k: c.attrs[k] for k in ("ann_accuracy", "ann_macs_per_image", "input_macs_per_image",
                                          "percentile", "norm_images", "seconds")})
        d["model"] = c.attrs["model"]
        d["images"] = len(f["test/labels"])
        d["stages"] = [(n, dict(s.attrs)) for n, s in c["stages"].items()]
        d["sample"] = {n: (c[f"sample/{n}/activation"][()], c[f"sample/{n}/rate"][()])
                       for n in c["sample"]} if "sample" in c else {}
        d["ranks"] = int(f["provenance"].attrs.get("ranks", 0)) if "provenance" in f else 0
    return d


def table(d):
    lines = ["| steps | SNN accuracy | synaptic events / image | / ANN MACs |", "|---:|---:|---:|---:|"]
    for s, a, n in zip(d["steps"], d["accuracy"], d["synops_per_image"]):
        lines.append(f"| {s} | {100 * a:.2f} % | {n:.3g} | {n / d['ann_macs_per_image']:.2f} |")
    lines.append(f"| ANN | {100 * d['ann_accuracy']:.2f} % | {d['ann_macs_per_image']:.3g} MACs | 1 |")
    lines += ["", "| layer | kind | threshold λ | rate/activation correlation | mean rate per step |",
              "|---|---|---:|---:|---:|"]
    for name, a in d["stages"]:
        rate = f"{a['mean_rate']:.4f}" if a["kind"] != "output" else "(potential)"
        lines.append(f"| {name} | {a['kind']} | {a['lambda']:.3f} | {a['correlation']:.4f} | {rate} |")
    return "\n".join(lines)


def smallest_steps(d, target):
    """The fewest listed steps whose accuracy reaches target (a fraction), or None."""
    for s, a in zip(d["steps"], d["accuracy"]):
        if a >= target:
            return int(s)
    return None


def draw(d, out):
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.3))
    steps = d["steps"]
    ax[0].semilogx(steps, 100 * d["accuracy"], "o-", label="spiking (IF, reset by subtraction)")
    ax[0].axhline(100 * d["ann_accuracy"], color="k", ls="--", label=f"ANN {100 * d['ann_accuracy']:.2f} %")
    ax[0].axhline(99.3, color="tab:red", ls=":", label="target 99.3 %")
    ax[0].set_xlabel("time steps")
    ax[0].set_ylabel("test accuracy (%)")
    lo = min(100 * d["accuracy"].min(), 98.0)
    ax[0].set_ylim(lo - 0.2, 100)
    ax[0].legend(loc="lower right", fontsize=8)
    ax[0].set_title(f"accuracy against time ({d['images']} test images)")
    ax[1].loglog(steps, d["synops_per_image"], "o-", label="synaptic events (spikes x fan-out)")
    ax[1].axhline(d["ann_macs_per_image"], color="k", ls="--", label="ANN multiply-adds")
    ax[1].set_xlabel("time steps")
    ax[1].set_ylabel("operations per image")
    ax[1].legend(fontsize=8)
    ax[1].set_title("cost against time")
    for name, (act, rate) in d["sample"].items():
        if dict(d["stages"])[name]["kind"] == "output":
            continue
        on = (act > 0) | (rate > 0)
        ax[2].plot(act[on].ravel(), rate[on].ravel(), ".", ms=2, alpha=0.4, label=name)
    kinds = dict(d["stages"])
    top = max([a.max() for n, (a, _) in d["sample"].items() if kinds[n]["kind"] != "output"] + [1.0])
    ax[2].plot([0, 1, top], [0, 1, 1], "k--", lw=1, label="rate = activation (max 1)")
    ax[2].set_xlim(0, min(top, 2.0) * 1.02)
    ax[2].set_xlabel("ReLU activation / λ (ANN)")
    ax[2].set_ylabel(f"spikes per step over {steps[-1]} steps (SNN)")
    ax[2].legend(fontsize=7, markerscale=4)
    ax[2].set_title("rate code = ReLU (first test images)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    out = args.output or os.path.splitext(args.file)[0] + "_convert.png"
    d = read(args.file)
    print(table(d))
    s = smallest_steps(d, 0.993)
    print(f"\nsmallest listed step count reaching 99.3 %: {s if s else 'none'}; "
          f"simulation {d['seconds']:.0f} s; wrote {out}")
    draw(d, out)


if __name__ == "__main__":
    main()
