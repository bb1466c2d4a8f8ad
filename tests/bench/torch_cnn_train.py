#!/usr/bin/python3
"""jobs/cnn_single.ini's recipe in PyTorch (Debian python3-torch), for the
memory comparison of a whole training run and as an accuracy reference:

    torch_cnn_train.py [EPOCHS] [THREADS] [DATA_DIR]   (15, 1, data/mnist)

Same model as ann_bench_torch.py (DESIGN.md's cnn-vgg-s), input
(x/255 - 0.1307)/0.3081, random shifts of up to 2 pixels (zero fill), SGD
Nesterov 0.9, weight decay 5e-4, batch 128, one-cycle lr 0.05 over the whole
run (torch.optim.lr_scheduler.OneCycleLR), the training set held in memory as
one float tensor as a PyTorch user would. Prints a line per epoch (test
accuracy, images/s) and at the end the peak resident memory of the process
("rss KIB"), as /usr/bin/time -v reports it for SpikeBridge."""
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ann_bench_torch import model  # noqa: E402  (the one cnn-vgg-s definition)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
from idxfile import read_idx  # noqa: E402


def images(path):
    x = torch.from_numpy(read_idx(path).astype(np.float32) / 255.0)
    return ((x - 0.1307) / 0.3081).unsqueeze(1)


def shift(x, gen, most=2):
    """Each image moved by its own (dy, dx) in [-most, most], zeros shifted in."""
    n = x.shape[0]
    pad = nn.functional.pad(x, (most, most, most, most))
    d = torch.randint(0, 2 * most + 1, (n, 2), generator=gen)
    rows = (torch.arange(28).view(1, 28) + d[:, :1]).view(n, 1, 28, 1).expand(n, 1, 28, 28 + 2 * most)
    pad = torch.gather(pad, 2, rows)
    cols = (torch.arange(28).view(1, 28) + d[:, 1:]).view(n, 1, 1, 28).expand(n, 1, 28, 28)
    return torch.gather(pad, 3, cols)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    data = sys.argv[3] if len(sys.argv) > 3 else "data/mnist"
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    xtr, ytr = images(f"{data}/train-images-idx3-ubyte"), torch.from_numpy(read_idx(f"{data}/train-labels-idx1-ubyte").astype(np.int64))
    xte, yte = images(f"{data}/t10k-images-idx3-ubyte"), torch.from_numpy(read_idx(f"{data}/t10k-labels-idx1-ubyte").astype(np.int64))
    net, _ = model("cnn-vgg-s")
    batch = 128
    steps = (xtr.shape[0] + batch - 1) // batch
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=epochs * steps)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(xtr.shape[0], generator=gen)
        t0 = time.perf_counter()
        for s in range(steps):
            i = order[s * batch:(s + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(shift(xtr[i], gen)), ytr[i]).backward()
            opt.step()
            sched.step()
        rate = xtr.shape[0] / (time.perf_counter() - t0)
        net.eval()
        with torch.no_grad():
            right = sum(int((net(xte[k:k + 1000]).argmax(1) == yte[k:k + 1000]).sum())
                        for k in range(0, xte.shape[0], 1000))
        print(f"epoch {epoch + 1}/{epochs} test {100.0 * right / xte.shape[0]:.2f} % {rate:.0f} images/s",
              flush=True)
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main()
