#!/usr/bin/python3
"""make bench-stdp: per-image training time of the Diehl & Cook network
(task stdp-mnist) for N = 100 and 400 excitatory neurons, by SpikeBridge on 1
and 2 ranks and 1 and 2 threads and, where Debian's python3-brian is
installed, by Brian2 in the same run (tests/bench/stdp_brian2.py): runtime
mode with one run() per presentation as the published ports do it, and C++
standalone. Prints one table with the ratios; never fails on speed.

Environment: N_LIST (default "100 400"), IMAGES (SpikeBridge training images,
default 1000), B2_RT_IMAGES (Brian2 runtime images, 10), B2_STD_IMAGES
(Brian2 standalone images, 1000).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

from machine import MPI_ENV, build, cpu_model, has_module

PY = "/usr/bin/python3"
LAYOUTS = [(1, 1), (1, 2), (2, 1)]  # ranks x threads on 2 cores


def spikebridge(n, images, ranks, threads, tmp):
    out = os.path.join(tmp, f"stdp_{n}_{ranks}_{threads}.h5")
    cmd = ["mpirun", "-np", str(ranks), "bin/spikebridge", "run", "jobs/stdp_mnist_100.ini",
           f"stdp.neurons={n}", "stdp.epochs=1", f"data.train={images}", "stdp.label_images=10",
           "data.test=10", "stdp.checkpoint_every=0", f"job.output={out}", "job.log=quiet"]
    r = subprocess.run(cmd, env=dict(MPI_ENV, OMP_NUM_THREADS=str(threads)), capture_output=True, text=True)
    if r.returncode != 0:
        print(f"# spikebridge failed: {' '.join(cmd)}\n# {r.stderr.strip()[-300:]}", flush=True)
        return None
    with h5py.File(out, "r") as f:
        return float(f["stdp"].attrs["train_ms_per_image"]) * 1e-3


def brian2(mode, n, images):
    cmd = [PY, "tests/bench/stdp_brian2.py", mode, str(n), str(images), "1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print(f"# brian2 failed: {' '.join(cmd)}\n# {r.stderr.strip()[-300:]}", flush=True)
        return None


def main():
    have_brian = has_module(PY, "brian2")
    images = int(os.environ.get("IMAGES", "1000"))
    rt_images = int(os.environ.get("B2_RT_IMAGES", "10"))
    std_images = int(os.environ.get("B2_STD_IMAGES", "1000"))
    cpu = cpu_model()
    commit = build()
    print(f"bench stdp: {os.uname().nodename}, {os.cpu_count()} cores, {cpu}; commit {commit}; "
          f"Diehl & Cook training, dt 0.5 ms, 350 + 150 ms per image; SpikeBridge {images} images, "
          f"Brian2 runtime {rt_images}, standalone {std_images} (the first of the training set)")
    if not have_brian:
        print("bench stdp: python3-brian is not installed: SpikeBridge numbers only")
    print(f"{'N':>4} | {'SB 1x1 ms':>9} {'1x2 ms':>7} {'2x1 ms':>7} | {'B2 rt ms':>8} {'B2 std ms':>9} | "
          f"{'rt/SB':>7} {'std/SB':>7}")
    tmp = tempfile.mkdtemp(prefix="sbstdp.")
    try:
        for n in [int(x) for x in os.environ.get("N_LIST", "100 400").split()]:
            res = {lay: spikebridge(n, images, *lay, tmp) for lay in LAYOUTS}
            got = [v for v in res.values() if v]
            if not got:
                continue
            fastest = min(got)
            rt = brian2("runtime", n, rt_images) if have_brian else None
            std = brian2("standalone", n, std_images) if have_brian else None
            ms = lambda v: f"{1e3 * v:.1f}" if v else "-"
            rt_s = rt["seconds_per_image"] if rt else None
            std_s = std["seconds_per_image"] if std else None
            print(f"{n:>4} | {ms(res[(1, 1)]):>9} {ms(res[(1, 2)]):>7} {ms(res[(2, 1)]):>7} | "
                  f"{ms(rt_s):>8} {ms(std_s):>9} | "
                  f"{(f'{rt_s / fastest:.0f}x' if rt_s else '-'):>7} "
                  f"{(f'{std_s / fastest:.1f}x' if std_s else '-'):>7}", flush=True)
            if rt:
                print(f"     Brian2 runtime ({rt.get('target', '?')}): {rt_s:.3f} s per image, of which "
                      f"{rt.get('loop_seconds_per_image', float('nan')):.3f} s in its time-step loops", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ms: training time per image (presentation + rest, intensity retries included; Brian2 standalone "
          "shows each image once); SB AxB: A ranks x B threads; rt/SB, std/SB: Brian2 runtime and C++ "
          "standalone time over SpikeBridge's fastest layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
