#!/usr/bin/python3
"""The study's Figure 5: spikes of the integrate encoder for random images
and for MNIST digits, as rasters one above the other, with the images.

Runs `bin/spikebridge run jobs/precise_timing.ini` twice (on random images
written to a temporary IDX dataset, and on data/mnist), or reads encode
results given with --random-file / --mnist-file, and writes a PNG.

    precise_timing.py [-o docs/precise_timing.png] [--images 4] [key=value ...]

Extra key=value arguments are passed to both runs (e.g. encode.v_th=2).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from idxfile import read_idx, write_idx  # noqa: E402

JOB = "jobs/precise_timing.ini"


def random_dataset(folder, n, seed):
    """n images of uniform random pixels 0..255, in MNIST's file names."""
    rng = np.random.default_rng(seed)
    for split in ("train", "t10k"):
        write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte"),
                  rng.integers(0, 256, size=(n, 28, 28)))
        write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte"), np.zeros(n, dtype=np.uint8))


def encode(sb, data_dir, out, images, extra):
    cmd = [sb, "run", JOB, f"data.dir={data_dir}", f"data.test={images}", f"job.output={out}"] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"precise_timing: {' '.join(cmd)} failed:\n{r.stderr.strip()}")


def images_of(data_dir, n):
    path = os.path.join(data_dir, "t10k-images-idx3-ubyte")
    if not os.path.exists(path):
        return None
    return read_idx(path, n)


def draw(fig, grid, row, path, title, pictures, images):
    with h5py.File(path, "r") as f:
        t = f["spikes/integrate/timestamps"][:]
        ids = f["spikes/integrate/node_ids"][:]
        onsets = f["stimulus/onsets_ms"][:images]
        labels = f["stimulus/labels"][:images]
        k = int(f["encoders/integrate/weights"].shape[0])
    period = onsets[1] - onsets[0] if len(onsets) > 1 else t.max() + 1
    t_end = onsets[-1] + period
    keep = t < t_end
    ax = fig.add_subplot(grid[row, 1:])
    ax.plot(t[keep], ids[keep], "k|", ms=2.5, mew=0.6)
    for j, t0 in enumerate(onsets):
        ax.axvline(t0, color="tab:red", lw=0.7)
        note = f"label {labels[j]}" if "MNIST" in title else f"image {j}"
        ax.text(t0 + 4, k * 1.01, note, color="tab:red", fontsize=7, va="bottom")
    ax.set_xlim(0, t_end)
    ax.set_ylim(-1, k * 1.08)
    ax.set_ylabel("encoder neuron")
    ax.set_title(f"{title}: {int(keep.sum())} spikes from {k} neurons over {len(onsets)} images "
                 f"({keep.sum() / len(onsets) / k:.1f} per neuron and image)", fontsize=9)
    if row == 1:
        ax.set_xlabel("time (ms); each image: 350 ms of currents in scan order, then 150 ms rest")
    pic = fig.add_subplot(grid[row, 0])
    pic.axis("off")
    if pictures is not None:
        pic.imshow(np.hstack(list(pictures[:images])), cmap="gray_r")
        pic.set_title(f"{title}: the images", fontsize=8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", help="section.key=value for both encode runs")
    ap.add_argument("-o", "--output", default="docs/precise_timing.png")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--mnist", default="data/mnist", help="MNIST directory")
    ap.add_argument("--random-file", help="an encode result of random images instead of running")
    ap.add_argument("--mnist-file", help="an encode result of MNIST instead of running")
    ap.add_argument("--sb", default="bin/spikebridge")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random images")
    args = ap.parse_args()
    if args.images < 1:
        sys.exit("precise_timing: --images must be at least 1")
    with tempfile.TemporaryDirectory(prefix="precise_timing.") as tmp:
        rand_dir = os.path.join(tmp, "random")
        os.makedirs(rand_dir)
        random_dataset(rand_dir, args.images, args.seed)
        rand_file, mnist_file = args.random_file, args.mnist_file
        if not rand_file:
            rand_file = os.path.join(tmp, "random.h5")
            encode(args.sb, rand_dir, rand_file, args.images, args.overrides)
        if not mnist_file:
            mnist_file = os.path.join(tmp, "mnist.h5")
            encode(args.sb, args.mnist, mnist_file, args.images, args.overrides)
        fig = plt.figure(figsize=(12, 6.5))
        grid = fig.add_gridspec(2, 4)
        draw(fig, grid, 0, rand_file, "Random pixels",
             None if args.random_file else images_of(rand_dir, args.images), args.images)
        draw(fig, grid, 1, mnist_file, "MNIST", images_of(args.mnist, args.images), args.images)
        fig.suptitle("Integrate encoder (the study's precise spike-time code): spikes at the exact "
                     "threshold crossings", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.96))
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        fig.savefig(args.output, dpi=110)
    print(f"precise_timing: wrote {args.output}")


if __name__ == "__main__":
    main()
