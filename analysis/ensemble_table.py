#!/usr/bin/python3
"""Member and ensemble accuracies next to the study's numbers, and how a CNN
and an RNN generalise differently.

    ensemble_table.py RESULT.h5... [-o OUT.png]

RESULT files are those of task `train` (one model) or `ensemble` (members
and their combination). The script prints one table row per model and per
ensemble; when the files hold both a CNN (image view) and an LSTM, it also
compares them: confusion matrices side by side, how many test images each
gets wrong, how many both get wrong, and, with both LSTM views, which digits
the rows and columns readers disagree on.
"""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STUDY = {  # CS771 study (and the PyTorch reference of DESIGN.md)
    "cnn-vgg-s": "99.49 % single, 99.60 % five",
    "lstm-rows": "~98.9 %",
    "lstm-cols": "~98.9 %",
    "rows+cols": "99.38 %",
}


def models_of(path):
    """(name, view, probs, labels) for every model in a result file."""
    out = []
    with h5py.File(path, "r") as f:
        task = f.attrs.get("task", "")
        if task == "train":
            m = f["model"]
            name = f"{os.path.basename(path)} {m.attrs.get('name', '')}"
            out.append((name, m.attrs["view"], f["test/probs"][:], f["test/labels"][:]))
        elif task == "ensemble":
            labels = f["ensemble/labels"][:]
            probs = f["ensemble/member_probs"][:]
            for k, key in enumerate(sorted(f["members"])):
                g = f["members"][key]
                name = f"{os.path.basename(path)}:{key} {g.attrs['arch_name']}"
                out.append((name, g["model"].attrs["view"], probs[k], labels))
        else:
            raise SystemExit(f"ensemble_table: {path}: not a train or ensemble result ({task!r})")
    return out


def accuracy(probs, labels):
    return float((probs.argmax(1) == labels).mean())


def confusion(pred, labels, classes=10):
    c = np.zeros((classes, classes), int)
    np.add.at(c, (labels, pred), 1)
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("-o", "--output", default="runs/figures/ensemble_table.png")
    args = ap.parse_args()

    models = [m for p in args.files for m in models_of(p)]
    labels = models[0][3]
    if any(len(m[3]) != len(labels) or np.any(m[3] != labels) for m in models):
        raise SystemExit("ensemble_table: the files were evaluated on different test sets")

    print(f"{'model':58s} {'view':5s} {'accuracy':>9s}  study")
    for name, view, probs, _ in models:
        ref = next((v for k, v in STUDY.items() if k in name), "")
        print(f"{name[:58]:58s} {view:5s} {100 * accuracy(probs, labels):8.2f} %  {ref}")
    groups = {"all": models,
              "CNNs": [m for m in models if m[1] == "image"],
              "LSTMs": [m for m in models if m[1] != "image"]}
    for gname, g in groups.items():
        if len(g) < 2 or (gname == "all" and len(g) in (len(groups["CNNs"]), len(groups["LSTMs"]))):
            continue
        mean = np.mean([m[2] for m in g], axis=0)
        ref = STUDY["rows+cols"] if gname == "LSTMs" else STUDY["cnn-vgg-s"] if gname == "CNNs" else ""
        print(f"{'ensemble of ' + gname + f' ({len(g)}, mean probability)':58s} {'':5s} "
              f"{100 * accuracy(mean, labels):8.2f} %  {ref}")

    cnns, rnns = groups["CNNs"], groups["LSTMs"]
    if not cnns or not rnns:
        return
    cnn = np.mean([m[2] for m in cnns], axis=0).argmax(1)
    rnn = np.mean([m[2] for m in rnns], axis=0).argmax(1)
    wrong_c, wrong_r = cnn != labels, rnn != labels
    print(f"\nCNN wrong on {wrong_c.sum()} test images, RNN on {wrong_r.sum()}, both on "
          f"{(wrong_c & wrong_r).sum()} (independent errors would give "
          f"{wrong_c.mean() * wrong_r.mean() * len(labels):.1f})")
    rows = [m for m in rnns if m[1] == "rows"]
    cols = [m for m in rnns if m[1] == "cols"]
    if rows and cols:
        pr, pc = rows[0][2].argmax(1), cols[0][2].argmax(1)
        dis = pr != pc
        per_digit = np.bincount(labels[dis], minlength=10)
        print(f"rows and columns readers disagree on {dis.sum()} images; by true digit: "
              + ", ".join(f"{d}: {n}" for d, n in enumerate(per_digit)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, pred, title in ((axes[0], cnn, f"CNN ({len(cnns)})"), (axes[1], rnn, f"LSTM ({len(rnns)})")):
        c = confusion(pred, labels)
        off = c.copy()
        np.fill_diagonal(off, 0)
        ax.imshow(off, cmap="Reds")
        for i in range(10):
            for j in range(10):
                if off[i, j]:
                    ax.text(j, i, off[i, j], ha="center", va="center", fontsize=7)
        ax.set_title(f"{title}: {int(off.sum())} errors")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"ensemble_table: wrote {args.output}")


if __name__ == "__main__":
    main()
