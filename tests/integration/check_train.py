#!/usr/bin/python3
"""Checks a `train` result file: check_train.py FILE MIN_ACCURACY.
Layout, metrics, probabilities, accuracy; and when python3-torch is
installed, the weights loaded into the equivalent PyTorch model give the
stored test probabilities (SpikeBridge's layers = PyTorch's layers)."""
import sys

import h5py
import numpy as np

path, min_acc = sys.argv[1], float(sys.argv[2])
errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)


with h5py.File(path, "r") as f:
    probs, labels = f["test/probs"][:], f["test/labels"][:]
    acc = float(f["test"].attrs["accuracy"])
    expect(np.allclose(probs.sum(1), 1, atol=1e-4), "probability rows do not sum to 1")
    expect(abs((probs.argmax(1) == labels).mean() - acc) < 1e-9, "accuracy attribute disagrees with probs")
    expect(acc >= min_acc, f"test accuracy {acc:.3f} below {min_acc}")
    loss = f["metrics/loss"][:]
    expect(len(loss) == len(f["metrics/test_accuracy"]) and np.all(np.isfinite(loss)), "metrics")
    m = f["model"]
    arch, shape = m.attrs["arch"], [int(v) for v in m.attrs["input_shape"]]
    mean, std = float(m.attrs["input_mean"]), float(m.attrs["input_std"])
    layers = [(name, {k: v[()] for k, v in g.items()}, dict(g.attrs)) for name, g in sorted(m["layers"].items())]
    print(f"check_train: {path}: accuracy {acc:.4f}, {len(layers)} layers, arch {arch}")

try:
    import torch
    from torch import nn
except ImportError:
    torch = None
    print("check_train: python3-torch not installed: PyTorch equivalence not checked")

if torch is not None and not errors:
    mods = []
    for name, tensors, attrs in layers:
        kind = name.split("_", 1)[1]
        if kind == "conv":
            w = tensors["weight"]
            mod = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=int(attrs["pad"]))
        elif kind == "dense":
            w = tensors["weight"]
            mod = nn.Sequential(nn.Flatten(), nn.Linear(w.shape[1], w.shape[0]))
        elif kind == "maxpool":
            mod = nn.MaxPool2d(int(attrs["kernel"]))
        elif kind == "relu":
            mod = nn.ReLU()
        elif kind == "dropout":
            mod = nn.Dropout(float(attrs["rate"]))
        elif kind == "batchnorm":
            mod = nn.BatchNorm2d(len(tensors["weight"]))
        else:
            sys.exit(f"check_train: no PyTorch equivalent written for {kind}")
        target = mod[1] if isinstance(mod, nn.Sequential) else mod
        for k, v in tensors.items():
            getattr(target, k).data = torch.from_numpy(np.ascontiguousarray(v))
        mods.append(mod)
    net = nn.Sequential(*mods).eval()
    sys.path.insert(0, "tests/integration")
    ds = sys.argv[3] if len(sys.argv) > 3 else None
    with h5py.File(path, "r") as f:
        ddir = f["provenance/effective"][()].decode()
    ddir = [line.split(" = ", 1)[1] for line in ddir.splitlines() if line.startswith("data.dir = ")][0]
    sys.path.insert(0, "analysis")
    from idxfile import read_idx
    n = len(labels)
    x = read_idx(f"{ddir}/t10k-images-idx3-ubyte", n).reshape(n, 1, 28, 28) / 255.0
    x = torch.from_numpy(((x - mean) / std).astype(np.float32))
    with torch.no_grad():
        ref = torch.softmax(net(x), 1).numpy()
    worst = float(np.abs(ref - probs).max())
    print(f"check_train: PyTorch with these weights: worst |p_torch - p_spikebridge| = {worst:.2e}")
    expect(worst < 1e-4, f"PyTorch disagrees: {worst:.2e}")

for e in errors:
    print(f"check_train: {path}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
