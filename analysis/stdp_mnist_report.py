#!/usr/bin/python3
"""The accuracy table of stdp-mnist results beside Diehl & Cook 2015's, then
each run's learning curve (/stdp/train_accuracy: every window of
stdp.monitor_every training images scored by the labels of the window
before, mean rate), one line per epoch.

    stdp_mnist_report.py runs/stdp_mnist_*.h5
"""
import sys

import h5py

PAPER = {100: (82.9, 1), 400: (87.0, 3), 1600: (91.9, 7), 6400: (95.0, 15)}


def learning_curve(path):
    with h5py.File(path, "r") as f:
        if len(f.get("stdp/train_accuracy", [])) == 0:
            return
        c = 100 * f["stdp/train_accuracy"][:]
        every = int(f["stdp"].attrs["monitor_every"])
        ntrain = int(f["stdp"].attrs["train_images"])
    print(f"\n{path}: training accuracy (%) of each window of {every} images, "
          f"scored by the labels of the window before")
    per_epoch = max(1, ntrain // every)
    # window w (w >= 1) is c[w - 1]; window 0 had no labels before it
    for e, w0 in enumerate(range(0, len(c) + 1, per_epoch)):
        vals = " ".join(f"{x:.1f}" for x in c[max(w0, 1) - 1:w0 + per_epoch - 1])
        print(f"  epoch {e + 1}: {vals}")


def main():
    rows = []
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            a = f["stdp"].attrs
            n = int(a["neurons"])
            ntest = len(f["test/labels"])
            rows.append((n, path, 100 * a["accuracy_mean_rate"], 100 * a["accuracy_proportion"],
                         a["train_ms_per_image"], a["label_ms_per_image"], a["test_ms_per_image"],
                         a["train_seconds"] + a["label_seconds"] + a["test_seconds"], ntest))
    print("| neurons | paper (epochs) | SpikeBridge mean rate | proportion | train / label / test ms per image | "
          "total | test images | file |")
    print("|---|---|---|---|---|---|---|---|")
    for n, path, am, ap, tr, lb, te, tot, nt in sorted(rows):
        paper = f"{PAPER[n][0]:.1f} % ({PAPER[n][1]})" if n in PAPER else "-"
        print(f"| {n} | {paper} | {am:.2f} % | {ap:.2f} % | {tr:.1f} / {lb:.1f} / {te:.1f} | "
              f"{tot / 60:.1f} min | {nt} | `{path}` |")
    for path in sys.argv[1:]:
        learning_curve(path)


if __name__ == "__main__":
    main()
