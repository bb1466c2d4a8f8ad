#!/usr/bin/python3
"""make bench-scaling: how SpikeBridge's run time scales with MPI ranks, in
one run, for the four kinds of parallel work:

  strong   the CUBA benchmark network (jobs/bench/cuba.ini, 80 synapses per
           neuron) at each of the SIM_N sizes on each rank count: simulation
           seconds, the bandwidth the neuron update needs at that speed,
           speed-up and efficiency against the fewest ranks; the spike count
           must be the same on every rank count (the network and its spikes
           do not depend on the decomposition)
  weak     the same network at SIM_N_PER_RANK x ranks neurons: efficiency
           t(fewest) / t(P)
  ensemble ENS_MEMBERS cnn-vgg-s members (jobs/cnn_ensemble.ini) on
           ENS_TRAIN images for one epoch: wall time of the whole run
  stdp     the Diehl & Cook network (task stdp-mnist) at STDP_N excitatory
           neurons split across the ranks (model-parallel): milliseconds
           per training, labelling and test image over STDP_IMAGES images
           of each phase, and the full job's projected training time; the
           two accuracies must be the same on every rank count

Reads the result files with `spikebridge info`, so it needs no h5py (the
lent 16-core machine has none). Never fails on speed; fails when a run
fails or the spike counts differ.

Environment: NP_LIST ("1 2"; "1 2 4 8 16" on a 16-core machine), SIM_N
("256000"; a list gives one strong table each), SIM_N_PER_RANK (64000), RUNS (3: medians), ENS_MEMBERS (the
largest rank count), ENS_TRAIN (3000), STDP_N (1600; 0 skips the part),
STDP_IMAGES (100), MPIRUN ("mpirun").
"""
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from machine import MPI_ENV, build, cpu_model

ENV = dict(MPI_ENV, OMP_NUM_THREADS="1")


def run(np_, args, tmp, name):
    out = os.path.join(tmp, name + ".h5")
    cmd = shlex.split(os.environ.get("MPIRUN", "mpirun")) + ["-np", str(np_), "bin/spikebridge", "run"] + \
        args + [f"job.output={out}", "job.log=quiet"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"bench-scaling: failed: {' '.join(cmd)}\n{r.stderr.strip()}")
    info = subprocess.run(["bin/spikebridge", "info", out], capture_output=True, text=True, check=True).stdout
    attrs = dict(re.findall(r"^\s*@(\w+) = (.*)$", info, re.M))
    os.remove(out)
    return wall, attrs


# lif_cuba's step reads v, g_e, g_i and the refractory step and writes v
# (README, "Where the time goes"); 10 000 steps of 0.1 ms make 1 s
UPDATE_BYTES = 40


def update_gbs(n, seconds):
    return UPDATE_BYTES * n * 10000 / seconds / 1e9


def cuba(n):
    ne = int(round(0.8 * n))
    p = f"{80.0 / n:.10g}"
    return ["jobs/bench/cuba.ini", f"population.E.n={ne}", f"population.I.n={n - ne}", "record.spikes=none"] + \
        [f"projection.{x}.p={p}" for x in ("EE", "EI", "IE", "II")]


def sim_median(np_, n, runs, tmp):
    times, spikes = [], set()
    for k in range(runs):
        _, a = run(np_, cuba(n), tmp, f"cuba_{n}_{np_}_{k}")
        times.append(float(a["sim_s"]))
        spikes.add(int(a["spikes_E"]) + int(a["spikes_I"]))
    if len(spikes) != 1:
        sys.exit(f"bench-scaling: {n} neurons on {np_} ranks gave different spike counts {sorted(spikes)}")
    return statistics.median(times), spikes.pop()


def speedup(base, t, p):
    """Speed-up and efficiency of time t on p ranks against base = (time, ranks)."""
    sp = base[0] / t
    return f"{sp:.2f} | {sp * base[1] / p:.2f}"


def strong_part(nps, n, runs, tmp):
    print(f"\n## strong: CUBA, {n} neurons, simulation seconds for 1 s of biological time "
          f"(GB/s: the least the neuron update moves, {UPDATE_BYTES} bytes a neuron and step)")
    print("| ranks | sim s | speed-up | efficiency | spikes | GB/s |\n|---|---|---|---|---|---|")
    base = None
    for p in nps:
        t, s = sim_median(p, n, runs, tmp)
        base = base or (t, p, s)
        if s != base[2]:
            sys.exit(f"bench-scaling: {p} ranks gave {s} spikes, {base[1]} ranks {base[2]}")
        print(f"| {p} | {t:.3f} | {speedup(base, t, p)} | {s} | {update_gbs(n, t):.1f} |", flush=True)


def weak_part(nps, per_rank, runs, tmp):
    print(f"\n## weak: CUBA, {per_rank} neurons per rank")
    print("| ranks | neurons | sim s | efficiency | GB/s |\n|---|---|---|---|---|")
    base = None
    for p in nps:
        t, _ = sim_median(p, per_rank * p, runs, tmp)
        base = base or t
        print(f"| {p} | {per_rank * p} | {t:.3f} | {base / t:.2f} | {update_gbs(per_rank * p, t):.1f} |", flush=True)


def ensemble_part(nps, members, train, tmp):
    print(f"\n## ensemble: {members} x cnn-vgg-s, {train} training images, 1 epoch (wall seconds, one run)")
    print("| ranks | wall s | speed-up | efficiency |\n|---|---|---|---|")
    base = None
    for p in nps:
        wall, _ = run(p, ["jobs/cnn_ensemble.ini", f"ensemble.members=cnn-vgg-s*{members}",
                          f"data.train={train}", "data.test=1000", "train.epochs=1"], tmp, f"ens_{p}")
        base = base or (wall, p)
        print(f"| {p} | {wall:.1f} | {speedup(base, wall, p)} |", flush=True)


def stdp_part(nps, n, images, tmp):
    ini = f"jobs/stdp_mnist_{n}.ini"
    if not os.path.exists(ini):
        ini = "jobs/stdp_mnist_100.ini"
    epochs = int(re.search(r"^epochs\s*=\s*(\d+)", open(ini).read(), re.M).group(1))
    print(f"\n## stdp: Diehl & Cook, {n} excitatory neurons split across the ranks, {images} images per phase "
          f"(ms per image; projected full run: {epochs} x 60 000 training + 60 000 labelling + 10 000 test images)")
    print("| ranks | train ms | label ms | test ms | train speed-up | efficiency | projected full run |\n"
          "|---|---|---|---|---|---|---|")
    base, acc0 = None, None
    for p in nps:
        _, a = run(p, [ini, f"stdp.neurons={n}", "stdp.epochs=1", f"data.train={images}",
                       f"stdp.label_images={images}", f"data.test={images}", "stdp.checkpoint_every=0"],
                   tmp, f"stdp_{n}_{p}")
        ms = [float(a[f"{ph}_ms_per_image"]) for ph in ("train", "label", "test")]
        acc = (a["accuracy_mean_rate"], a["accuracy_proportion"])
        acc0 = acc0 or acc
        if acc != acc0:
            sys.exit(f"bench-scaling: stdp {n} on {p} ranks: accuracies {acc}, on {nps[0]} ranks {acc0}")
        base = base or (ms[0], p)
        hours = (epochs * 60000 * ms[0] + 60000 * ms[1] + 10000 * ms[2]) / 3.6e6
        print(f"| {p} | {ms[0]:.2f} | {ms[1]:.2f} | {ms[2]:.2f} | {speedup(base, ms[0], p)} | {hours:.2f} h |",
              flush=True)


def main():
    nps = [int(x) for x in os.environ.get("NP_LIST", "1 2").split()]
    sizes = [int(x) for x in os.environ.get("SIM_N", "256000").split()]
    per_rank = int(os.environ.get("SIM_N_PER_RANK", "64000"))
    runs = int(os.environ.get("RUNS", "3"))
    members = int(os.environ.get("ENS_MEMBERS", str(max(nps))))
    train = int(os.environ.get("ENS_TRAIN", "3000"))
    stdp_n = int(os.environ.get("STDP_N", "1600"))
    stdp_images = int(os.environ.get("STDP_IMAGES", "100"))
    host = os.uname().nodename
    commit = build()
    cpu = cpu_model()
    print(f"# bench-scaling on {host}, {os.cpu_count()} CPUs ({cpu}), build {commit}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; OMP_NUM_THREADS=1, medians of {runs}")
    with tempfile.TemporaryDirectory(prefix="sbscale.") as tmp:
        for n in sizes:
            strong_part(nps, n, runs, tmp)
        weak_part(nps, per_rank, runs, tmp)
        ensemble_part(nps, members, train, tmp)
        if stdp_n > 0:
            stdp_part(nps, stdp_n, stdp_images, tmp)


if __name__ == "__main__":
    main()
