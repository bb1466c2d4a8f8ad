#!/usr/bin/python3
"""The accuracy table of stdp-mnist results beside Diehl & Cook 2015's.

    stdp_mnist_report.py runs/stdp_mnist_*.h5
"""
import sys

import h5py

PAPER = {100: (82.9, 1), 400: (87.0, 3), 1600: (91.9, 7), 6400: (95.0, 15)}


def main():
    rows = []
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            a = f["stdp"].attrs
            n = int(a["neurons"])
            ntrain = len(f["test/labels"])  # test images
            eff = f["provenance"].attrs.get("command_line", "")
            rows.append((n, path, 100 * a["accuracy_mean_rate"], 100 * a["accuracy_proportion"],
                         a["train_ms_per_image"], a["label_ms_per_image"], a["test_ms_per_image"],
                         a["train_seconds"] + a["label_seconds"] + a["test_seconds"], ntrain))
    print(f"| neurons | paper (epochs) | SpikeBridge mean rate | proportion | train / label / test ms per image | "
          f"total | test images | file |")
    print("|---|---|---|---|---|---|---|---|")
    for n, path, am, ap, tr, lb, te, tot, nt in sorted(rows):
        paper = f"{PAPER[n][0]:.1f} % ({PAPER[n][1]})" if n in PAPER else "-"
        print(f"| {n} | {paper} | {am:.2f} % | {ap:.2f} % | {tr:.1f} / {lb:.1f} / {te:.1f} | "
              f"{tot / 60:.1f} min | {nt} | `{path}` |")


if __name__ == "__main__":
    main()
