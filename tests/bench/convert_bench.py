#!/usr/bin/python3
"""make bench-convert: simulation speed of a converted CNN (task convert) on
1 rank with 1 and 2 threads, against the same spiking network simulated in
PyTorch (Debian's python3-torch) in the same run, the way the published
conversion toolboxes do it: dense conv2d / linear on the 0/1 spike tensors
every step, with the same thresholds (read from SpikeBridge's result), the
same max-pool gate and the same output integrators. Also prints how often
the two simulations predict the same class. Never fails on speed.

Environment: MODEL (a train result, default runs/cnn_single.h5), IMAGES
(test images, default 256), STEPS (default 100), BATCH (default 64).
"""
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
from idxfile import read_idx  # noqa: E402
from machine import MPI_ENV, build  # noqa: E402

MODEL = os.environ.get("MODEL", "runs/cnn_single.h5")
IMAGES, STEPS, BATCH = (int(os.environ.get(k, d)) for k, d in (("IMAGES", 256), ("STEPS", 100), ("BATCH", 64)))


def spikebridge(threads, tmp):
    out = os.path.join(tmp, f"convert_{threads}.h5")
    cmd = ["bin/spikebridge", "run", "jobs/convert.ini", f"convert.model={MODEL}", f"data.test={IMAGES}",
           f"convert.steps={STEPS}", f"convert.batch={BATCH}", "convert.record_images=0",
           f"job.output={out}", "job.log=quiet"]
    r = subprocess.run(cmd, env=dict(MPI_ENV, OMP_NUM_THREADS=str(threads)), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench-convert: {' '.join(cmd)} failed: {r.stderr.strip()[-400:]}")
    with h5py.File(out, "r") as f:
        c = f["convert"]
        lam = [(n, float(s.attrs["lambda"]), s.attrs["kind"]) for n, s in c["stages"].items()]
        return float(c.attrs["seconds"]), c["predictions"][()][:, -1], lam, f["test/labels"][()]


def load_images(n):
    x = read_idx("data/mnist/t10k-images-idx3-ubyte", n).reshape(n, 1, 28, 28)
    return (x / 255.0 - 0.1307) / 0.3081


def torch_model(lam):
    """cnn-vgg-s with SpikeBridge's thresholds folded into the weights."""
    import torch
    with h5py.File(MODEL, "r") as f:
        g = f["model/layers"]
        conv = [torch.tensor(g[k]["weight"][()]) for k in sorted(g) if k.endswith("_conv")]
        cb = [torch.tensor(g[k]["bias"][()]) for k in sorted(g) if k.endswith("_conv")]
        dense = [torch.tensor(g[k]["weight"][()]) for k in sorted(g) if k.endswith("_dense")]
        db = [torch.tensor(g[k]["bias"][()]) for k in sorted(g) if k.endswith("_dense")]
    lif = [l for _, l, k in lam if k == "if"]  # conv1..4, dense1
    ins = [1.0] + lif
    w = [conv[i] * ins[i] / lif[i] for i in range(4)] + [dense[0] * ins[4] / lif[4], dense[1] * ins[5]]
    b = [cb[i] / lif[i] for i in range(4)] + [db[0] / lif[4], db[1]]
    return w, b


def torch_simulate(threads, lam, x):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    w, b = torch_model(lam)
    preds = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(x), BATCH):
            xb = torch.tensor(x[s:s + BATCH], dtype=torch.float32)
            n = len(xb)
            analog = F.conv2d(xb, w[0], b[0], padding=1)
            v = [torch.zeros(n, 32, 28, 28), torch.zeros(n, 32, 28, 28), torch.zeros(n, 64, 14, 14),
                 torch.zeros(n, 64, 14, 14), torch.zeros(n, 256), torch.zeros(n, 10)]
            cnt = [torch.zeros_like(t) for t in v[:4]]
            pc = [torch.zeros(n, 32, 14, 14), torch.zeros(n, 64, 7, 7)]

            def fire(i, cur):
                v[i] += cur
                s_ = (v[i] >= 1).float()
                v[i] -= s_
                if i < 4:
                    cnt[i] += s_
                return s_

            def gate(spk, c, k):  # spikes of the input with the most spikes so far, per 2x2 window
                nb, ch, h, wd = c.shape
                win = lambda t: t.reshape(nb, ch, h // 2, 2, wd // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(nb, ch, h // 2, wd // 2, 4)
                idx = win(c).argmax(-1, keepdim=True)
                out = win(spk).gather(-1, idx).squeeze(-1)
                pc[k] += out
                return out

            for _ in range(STEPS):
                s1 = fire(0, analog)
                s2 = fire(1, F.conv2d(s1, w[1], b[1], padding=1))
                p1 = gate(s2, cnt[1], 0)
                s3 = fire(2, F.conv2d(p1, w[2], b[2], padding=1))
                s4 = fire(3, F.conv2d(s3, w[3], b[3], padding=1))
                p2 = gate(s4, cnt[3], 1)
                s5 = fire(4, F.linear(p2.flatten(1), w[4], b[4]))
                v[5] += F.linear(s5, w[5], b[5])
            preds.append(v[5].argmax(1).numpy())
    return time.perf_counter() - t0, np.concatenate(preds)


def main():
    if not os.path.exists(MODEL):
        sys.exit(f"bench-convert: {MODEL} not found: it is the result of "
                 "`OMP_NUM_THREADS=2 bin/spikebridge run jobs/cnn_single.ini` (about 17 min on 2 cores); "
                 "run that first, or set MODEL to another result of task train")
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    host = os.uname().nodename
    commit = build()
    print(f"bench convert: host {host}, {os.cpu_count()} cores, commit {commit}, {MODEL}, "
          f"{IMAGES} test images x {STEPS} steps, batch {BATCH}, 1 rank")
    print(f"{'threads':>7} {'SB img*steps/s':>15} {'torch img*steps/s':>18} {'SB/torch':>9} "
          f"{'SB acc':>8} {'torch acc':>9} {'same class':>10}")
    x = load_images(IMAGES)
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 2):
            sec, pred, lam, labels = spikebridge(threads, tmp)
            sb_rate = IMAGES * STEPS / sec
            if have_torch:
                tsec, tpred = torch_simulate(threads, lam, x)
                t_rate = IMAGES * STEPS / tsec
                print(f"{threads:>7} {sb_rate:15.0f} {t_rate:18.0f} {sb_rate / t_rate:9.2f} "
                      f"{100 * np.mean(pred == labels):7.2f}% {100 * np.mean(tpred == labels):8.2f}% "
                      f"{100 * np.mean(pred == tpred):9.2f}%", flush=True)
            else:
                print(f"{threads:>7} {sb_rate:15.0f} {'(no torch)':>18}", flush=True)


if __name__ == "__main__":
    main()
