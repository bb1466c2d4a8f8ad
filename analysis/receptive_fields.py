#!/usr/bin/python3
"""The learned input weights of a stdp-mnist result as a grid of 28x28
images, one per excitatory neuron, titled with the class each neuron was
labelled with (as in Diehl & Cook 2015, Figure 2). With integrate-encoder
inputs (input.encoder = integrate) a neuron's weights are on encoder
neurons, not pixels: it is drawn as what it sees in pixels, its weights
times the encoder's (/encoders/integrate/weights), a signed image.

    receptive_fields.py runs/stdp_mnist_100.h5 [-o OUT.png] [--max 400]
"""
import argparse
import math
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output")
    ap.add_argument("--max", type=int, default=400, help="neurons to draw at most")
    args = ap.parse_args()
    out = args.output or os.path.splitext(args.file)[0] + "_receptive_fields.png"
    with h5py.File(args.file, "r") as f:
        w = f["stdp/weights"][: args.max]
        labels = f["stdp/labels"][: args.max]
        acc = f["stdp"].attrs["accuracy_mean_rate"]
        pixels = "encoders/integrate/weights" not in f
        if not pixels:
            w = w @ f["encoders/integrate/weights"][:]
    n = len(w)
    side = math.ceil(math.sqrt(n))
    fig, axes = plt.subplots(side, side, figsize=(side * 0.9, side * 0.9 + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            if pixels:
                ax.imshow(w[k].reshape(28, 28), cmap="hot_r", vmin=0, vmax=w.max())
            else:
                lim = abs(w[k]).max() or 1
                ax.imshow(w[k].reshape(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(str(labels[k]) if labels[k] >= 0 else "-", fontsize=6, pad=1)
    fig.suptitle(f"{os.path.basename(args.file)}: input weights of {n} excitatory neurons "
                 f"(title: assigned class, - if silent while labelling; test accuracy {100 * acc:.1f} %)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"receptive_fields: wrote {out}")


if __name__ == "__main__":
    main()
