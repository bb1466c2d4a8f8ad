#!/usr/bin/python3
"""Checks a convert result: check_convert.py FILE MAX_ACC_GAP MIN_CORR.

Accuracy at the largest step count within MAX_ACC_GAP of the ANN's; the
spike-rate/activation correlation of every stage at least MIN_CORR; accuracy
and synaptic events grow sensibly with steps; the SONATA spikes of the
recorded images are sorted by time and inside their windows."""
import sys

import h5py
import numpy as np

path, gap, min_corr = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
bad = []
with h5py.File(path, "r") as f:
    c = f["convert"]
    steps, acc = c["steps"][()], c["accuracy"][()]
    ann = c.attrs["ann_accuracy"]
    labels = f["test/labels"][()]
    pred, ann_pred = c["predictions"][()], c["ann_predictions"][()]
    if pred.shape != (labels.size, steps.size):
        bad.append(f"predictions {pred.shape}, wanted {(labels.size, steps.size)}")
    if not np.isclose(np.mean(ann_pred == labels), ann):
        bad.append("ann_accuracy does not match ann_predictions")
    if not np.allclose(np.mean(pred == labels[:, None], axis=0), acc):
        bad.append("accuracy does not match predictions")
    if abs(acc[-1] - ann) > gap:
        bad.append(f"accuracy at {steps[-1]} steps {acc[-1]:.4f} vs ANN {ann:.4f}")
    if ann < 0.5:
        bad.append(f"the ANN itself only reaches {ann:.3f}")
    syn = c["synops_per_image"][()]
    if not (np.all(np.diff(syn) > 0) and syn[0] > 0):
        bad.append(f"synaptic events do not grow with steps: {syn}")
    for name, st in c["stages"].items():
        r = st.attrs["correlation"]
        print(f"{name:12s} {st.attrs['kind']:8s} lambda {st.attrs['lambda']:8.4f} "
              f"correlation {r:.5f} mean rate {st.attrs['mean_rate']:.4f}")
        if r < min_corr:
            bad.append(f"{name}: correlation {r:.4f} < {min_corr}")
        a, r_ = c[f"sample/{name}/activation"][()], c[f"sample/{name}/rate"][()]
        if a.shape != r_.shape or a.shape[0] != 3 or np.corrcoef(a.ravel(), r_.ravel())[0, 1] < min_corr - 0.01:
            bad.append(f"{name}: sample of the first images {a.shape} {r_.shape} or their correlation")
    pops = list(f["spikes"])
    spiking = [n for n, st in c["stages"].items() if st.attrs["kind"] != "output"]
    if sorted(pops) != sorted(spiking):
        bad.append(f"spike populations {pops} vs stages {spiking}")
    for p in pops:
        t = f[f"spikes/{p}/timestamps"][()]
        if t.size == 0 or np.any(np.diff(t) < 0) or t.min() < 0 or t.max() >= 3 * steps[-1]:
            bad.append(f"spikes of {p}: {t.size} spikes, not sorted or outside the 3 windows")
    print(f"ANN {ann:.4f}; SNN " + ", ".join(f"{s}: {a:.4f}" for s, a in zip(steps, acc)))
for b in bad:
    print("check_convert:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
