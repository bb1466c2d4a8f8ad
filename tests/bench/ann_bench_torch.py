#!/usr/bin/python3
"""The same measurement as ann_bench.c in PyTorch (Debian python3-torch):
ann_bench_torch.py NAME BATCH SECONDS THREADS. Same models (DESIGN.md),
same batch, random inputs, SGD Nesterov with weight decay."""
import resource
import sys
import time

import torch
from torch import nn


class LastHidden(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0][:, -1]


def model(name):
    if name == "cnn-vgg-s":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(3136, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10)), (1, 28, 28)
    if name in ("lstm-rows", "lstm-cols"):
        return nn.Sequential(LastHidden(28, 128), nn.Linear(128, 10)), (28, 28)
    sys.exit(f"unknown model {name}")


def main():
    name, batch, seconds, threads = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net, shape = model(name)
    x = torch.randn(batch, *shape)
    y = torch.arange(batch) % 10
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    for mode in ("train", "infer"):
        net.train(mode == "train")
        iters, t0 = 0, 0.0
        with torch.set_grad_enabled(mode == "train"):
            while True:
                if iters == 2:
                    t0 = time.perf_counter()
                if iters > 2 and time.perf_counter() - t0 > seconds:
                    break
                out = net(x)
                if mode == "train":
                    opt.zero_grad(set_to_none=True)
                    loss_fn(out, y).backward()
                    opt.step()
                iters += 1
        el = time.perf_counter() - t0
        print(f"{mode} {(iters - 2) * batch / el:.1f}")
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main()
