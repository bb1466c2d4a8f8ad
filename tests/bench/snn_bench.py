#!/usr/bin/python3
"""make bench-snn: the Vogels-Abbott CUBA and COBA networks (jobs/bench/) at
4000 to 256000 neurons, with 80 synapses per neuron (fixed probability 80/N,
and fixed in-degree 64 + 16), run by SpikeBridge on 1 and 2 ranks and 1 and 2
threads and, where Debian's python3-brian is installed, by Brian2 (C++
standalone and runtime) in the same run. Prints one table; never fails on
speed.

Environment: N_LIST (default "4000 16000 64000 256000"), BRIAN_N_LIST
("4000 16000 64000"), BRIAN_RUNTIME_MAX (16000), RUNS (3: median of that
many interleaved rounds of SpikeBridge's layouts and Brian2's standalone run up
to 16000 neurons, one round above), NETS
("cuba coba"), CONNS ("prob indegree").
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import h5py

from machine import MPI_ENV, build, cpu_model, has_module

PY = "/usr/bin/python3"
LAYOUTS = [(1, 1), (1, 2), (2, 1)]  # ranks x threads on 2 cores


def env_list(name, default):
    return os.environ.get(name, default).split()


def job_args(net, conn, n):
    ne, ni = int(round(0.8 * n)), n - int(round(0.8 * n))
    job = f"jobs/bench/{net}{'' if conn == 'prob' else '_indegree'}.ini"
    args = [job, f"population.E.n={ne}", f"population.I.n={ni}", "record.spikes=none"]
    if conn == "prob":
        args += [f"projection.{x}.p={80.0 / n:.10g}" for x in ("EE", "EI", "IE", "II")]
    return args


def spikebridge(net, conn, n, ranks, threads, tmp):
    out = os.path.join(tmp, f"{net}_{conn}_{n}_{ranks}_{threads}.h5")
    if os.path.exists(out):
        os.remove(out)
    cmd = ["mpirun", "-np", str(ranks), "bin/spikebridge", "run"] + job_args(net, conn, n) + \
          [f"job.output={out}", "job.log=quiet"]
    r = subprocess.run(cmd, env=dict(MPI_ENV, OMP_NUM_THREADS=str(threads)), capture_output=True, text=True)
    if r.returncode != 0:
        print(f"# spikebridge failed: {' '.join(cmd)}\n# {r.stderr.strip()}", flush=True)
        return None
    with h5py.File(out, "r") as f:
        a = dict(f["simulate"].attrs)
    spikes = sum(int(v) for k, v in a.items() if k.startswith("spikes_"))
    return dict(sim=a["sim_s"], build=a["build_s"], spikes=spikes, syn=int(a["synapses"]),
                bps=a["synapse_bytes"] / max(1, int(a["synapses"])), rss=a["peak_rss_bytes_max_rank"] / 2**20,
                rate=spikes / n / (a["duration_ms"] * 1e-3))


def brian2(net, conn, n, mode, seed):
    cmd = [PY, "tests/bench/snn_brian2.py", "--net", net, "--conn", conn, "--n", str(n), "--mode", mode,
           "--seed", str(seed)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("brian2 "):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            return dict(sim=float(kv["sim_s"]), build=float(kv["build_s"]), rate=float(kv["rate_hz"]))
    print(f"# brian2 failed: {' '.join(cmd)}\n# {r.stderr.strip()[-300:]}", flush=True)
    return None


def main():
    have_brian = has_module(PY, "brian2")
    runs = int(os.environ.get("RUNS", "3"))
    bn = [int(x) for x in env_list("BRIAN_N_LIST", "4000 16000 64000")]
    rt_max = int(os.environ.get("BRIAN_RUNTIME_MAX", "16000"))
    cpu = cpu_model()
    commit = build()
    print(f"bench snn: {os.uname().nodename}, {os.cpu_count()} cores, {cpu}; commit {commit}; "
          f"1 s of biological time at dt 0.1 ms; SpikeBridge and Brian2 standalone: median of {runs} "
          f"interleaved runs up to 16000 neurons")
    if not have_brian:
        print("bench snn: python3-brian is not installed: SpikeBridge numbers only")
    hdr = (f"{'net':5} {'conn':8} {'N':>6} {'synapses':>9} | {'SB 1x1 s':>8} {'1x2 s':>7} {'2x1 s':>7} "
           f"{'build s':>7} {'Hz':>6} {'ev/s':>8} {'B/syn':>5} {'RSS MiB':>7} {'eff 2r':>6} | "
           f"{'B2 std s':>8} {'B2 rt s':>7} {'B2 Hz':>6} | {'B2std/SB':>8}")
    print(hdr)
    tmp = tempfile.mkdtemp(prefix="sbbench.")
    try:
        for net in env_list("NETS", "cuba coba"):
            seed = 1 if net == "cuba" else 2
            for conn in env_list("CONNS", "prob indegree"):
                for n in [int(x) for x in env_list("N_LIST", "4000 16000 64000 256000")]:
                    # k rounds of every SpikeBridge layout and Brian2's standalone
                    # run, interleaved so that both sides see the same load; medians
                    k = runs if n <= 16000 else 1
                    got = {lay: [] for lay in LAYOUTS}
                    stds = []
                    for _ in range(k):
                        for ranks, threads in LAYOUTS:
                            got[(ranks, threads)].append(spikebridge(net, conn, n, ranks, threads, tmp))
                        if have_brian and n in bn:
                            stds.append(brian2(net, conn, n, "standalone", seed))
                    res = {}
                    for lay, g in got.items():
                        g = [x for x in g if x]
                        if g:
                            res[lay] = dict(g[0], sim=statistics.median(x["sim"] for x in g))
                    if (1, 1) not in res:
                        continue
                    b = res[(1, 1)]
                    fastest = min(r["sim"] for r in res.values())
                    eff = b["sim"] / (2 * res[(2, 1)]["sim"]) if (2, 1) in res else float("nan")
                    ev = b["spikes"] * (b["syn"] / n) / fastest
                    stds = [x for x in stds if x]
                    std = dict(stds[0], sim=statistics.median(x["sim"] for x in stds)) if stds else None
                    rt = brian2(net, conn, n, "runtime", seed) if have_brian and n in bn and n <= rt_max else None
                    fmt = lambda r, key="sim": f"{r[key]:.3f}" if r else "-"
                    ratio = f"{std['sim'] / fastest:.2f}x" if std else "-"
                    print(f"{net:5} {conn:8} {n:>6} {b['syn']:>9} | {b['sim']:8.3f} "
                          f"{fmt(res.get((1, 2))):>7} {fmt(res.get((2, 1))):>7} {b['build']:7.3f} "
                          f"{b['rate']:6.2f} {ev:8.2e} {b['bps']:5.1f} {b['rss']:7.0f} {eff:6.2f} | "
                          f"{fmt(std):>8} {fmt(rt):>7} {(std['rate'] if std else float('nan')):6.2f} | {ratio:>8}",
                          flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("SB AxB: A ranks x B threads, simulation phase only (construction in 'build s', 1x1); ev/s: "
          "synaptic events per second at the fastest layout; B/syn: connectivity bytes per synapse; "
          "RSS: peak per rank (1x1); eff 2r: 1->2 rank strong-scaling efficiency; "
          "B2std/SB: Brian2 C++ standalone time over SpikeBridge's fastest layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
