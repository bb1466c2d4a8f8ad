#!/usr/bin/python3
"""Vogels-Abbott benchmark networks (CUBA / COBA) in Brian2, for comparison
with SpikeBridge's SNN engine.

Prints exactly one machine-readable line on stdout per run:

  brian2 mode=<runtime|standalone> net=<cuba|coba> conn=<prob|indegree> n=<N>
         build_s=<float> sim_s=<float> spikes=<int> rate_hz=<float> synapses=<int>

(on one line). Every other line on stdout starts with '#'; everything else
(Brian2 log messages, compiler output, warnings) goes to stderr: file
descriptor 1 is pointed at stderr for the whole run and only the result lines
are written to the saved, real stdout.

Timings
-------
sim_s, both modes: Brian2's own measurement of the simulation loop of the
  one run() call, `device._last_run_time`.
  - runtime: brian2/core/network.py Network.run() sets it to the wall time of
    the time-step loop only, after before_run() (code generation and Cython
    compilation, which is cached in ~/.cython/brian_extensions after the first
    time) has finished.  The wall time of the whole run() call is printed in a
    '#' line as run_call_s.
  - standalone: the generated C++ Network::run() measures its time-step loop
    and writes it to <project>/results/last_run_info.txt; device.run() reads
    it back into device._last_run_time.  Without OpenMP (the default, and what
    this script uses) it is measured with std::clock(), i.e. the process CPU
    time of the loop, which for this single-threaded loop equals its wall
    time.  It excludes code generation, compilation, array allocation,
    synapse creation and the before-run setup code objects.  A
    CLOCK_MONOTONIC wall time from the end of the network construction to the
    end of main() (so: before-run setup + loop + writing results) is also
    measured in the binary and printed in a '#' line as run_wall_s.
build_s:
  - runtime: wall time from before the NeuronGroup is created to after the
    last Synapses.connect() returns (includes numpy index generation for
    conn=indegree, initial values, and code generation of the connect code
    objects).  Brian2 compiles a Cython extension per code object, cached in
    ~/.cython/brian_extensions under a hash of the code, which has constants
    such as p = 80/N inlined: the first connect() at a new N costs ~10 s of
    compilation on this machine.  So the identical network is first built once
    untimed and thrown away (time in the '#' line as warmup_build_s; disable
    with --no-warmup), then the RNGs are re-seeded and the timed build runs.
  - standalone: Python only describes the network, the work happens in the
    binary.  build_s is measured inside the binary with CLOCK_MONOTONIC (code
    inserted with device.insert_code) from the start of main() - before
    brian_start() allocates the arrays and loads the static index arrays
    written for conn=indegree - to after the last synapse creation code.  The
    Python-side description time (py_describe_s, incl. the numpy index
    generation for conn=indegree) and the compile time ('make', from
    device.timers) are printed in a '#' line.
"""

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--net', choices=('cuba', 'coba'), default='cuba')
    ap.add_argument('--n', type=int, default=4000)
    ap.add_argument('--conn', choices=('prob', 'indegree'), default='prob')
    ap.add_argument('--mode', choices=('runtime', 'standalone'), default='runtime')
    ap.add_argument('--duration-ms', type=float, default=1000.0)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--make-jobs', type=int,
                    default=int(os.environ.get('BRIAN_MAKE_JOBS', '1')),
                    help='parallel jobs for the standalone compile '
                         '(default $BRIAN_MAKE_JOBS or 1; Brian2 itself uses an unbounded -j)')
    ap.add_argument('--no-warmup', action='store_true',
                    help='runtime mode: no untimed warm-up construction, so build_s '
                         'includes any Cython compilation of the connect code')
    return ap.parse_args()


def fixed_indegree(rng, n_post, k, pool):
    """For each of n_post rows, k distinct indices drawn uniformly from
    range(pool), vectorised over rows with Floyd's algorithm (exactly uniform
    over k-subsets).  Returns (pre, post) flat int32 arrays."""
    import numpy as np
    if k > pool:
        raise SystemExit(f'indegree {k} > presynaptic population {pool}')
    sel = np.empty((n_post, k), dtype=np.int64)
    for c, top in enumerate(range(pool - k, pool)):
        t = rng.integers(0, top + 1, size=n_post)
        if c:
            present = (sel[:, :c] == t[:, None]).any(axis=1)
            t = np.where(present, top, t)
        sel[:, c] = t
    pre = sel.ravel().astype(np.int32)
    post = np.repeat(np.arange(n_post, dtype=np.int32), k)
    return pre, post


def build_network(args, rng):
    """NeuronGroup + E and I Synapses, connected.  Explicit object names so
    the generated code (and so the Cython cache key) is the same each time."""
    from brian2 import NeuronGroup, Synapses, ms, mV
    N = args.n
    NE = int(round(0.8 * N))
    NI = N - NE
    KE, KI = 64, 16
    p = 80.0 / N
    if args.net == 'cuba':
        # Brian2 examples/CUBA.py
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms,
                  Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV,
                  we=(60 * 0.27 / 10) * mV, wi=(-20 * 4.5 / 10) * mV)
        eqs = '''
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        '''
    else:
        # Brette et al. 2007, benchmark 1 (COBA); conductances
        # dimensionless, in units of the leak conductance.
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms,
                  Vt=-50 * mV, Vr=-60 * mV, El=-60 * mV,
                  Ee=0 * mV, Ei=-80 * mV, we=0.6, wi=6.7)
        eqs = '''
        dv/dt  = ((El-v) + ge*(Ee-v) + gi*(Ei-v))/taum : volt (unless refractory)
        dge/dt = -ge/taue : 1
        dgi/dt = -gi/taui : 1
        '''
    method = 'exact' if args.net == 'cuba' else 'exponential_euler'
    P = NeuronGroup(N, eqs, threshold='v > Vt', reset='v = Vr',
                    refractory=5 * ms, method=method, namespace=ns,
                    name='vanet')
    P.v = 'Vr + rand()*(Vt - Vr)'
    if args.net == 'cuba':
        P.ge = 0 * mV
        P.gi = 0 * mV
    else:
        # Brette's kick-start, negative values clipped to 0
        P.ge = 'clip(4 + 1.5*randn(), 0, inf)'
        P.gi = 'clip(20 + 12*randn(), 0, inf)'
    Pe = P[:NE]
    Pi = P[NE:]
    Ce = Synapses(Pe, P, on_pre='ge += we', namespace=ns, name='vanet_syn_e')
    Ci = Synapses(Pi, P, on_pre='gi += wi', namespace=ns, name='vanet_syn_i')
    if args.conn == 'prob':
        Ce.connect(p=p)
        Ci.connect(p=p)
    else:
        pre_e, post_e = fixed_indegree(rng, N, KE, NE)
        pre_i, post_i = fixed_indegree(rng, N, KI, NI)
        Ce.connect(i=pre_e, j=post_e)
        Ci.connect(i=pre_i, j=post_i)
    return P, Ce, Ci


def main():
    args = parse_args()
    # Real stdout for the result lines; everything else written to fd 1
    # (Brian2, make, the standalone binary) goes to stderr.
    out = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    import warnings
    warnings.filterwarnings('ignore', category=FutureWarning)
    import numpy as np
    from brian2 import (prefs, set_device, device, seed, defaultclock,
                        SpikeMonitor, Network, ms, second)
    import brian2

    N = args.n
    duration = args.duration_ms * ms

    tmpdir = None
    if args.mode == 'standalone':
        tmpdir = tempfile.mkdtemp(prefix='snn_brian2_')
        prefs.devices.cpp_standalone.extra_make_args_unix = [f'-j{args.make_jobs}']
        set_device('cpp_standalone', directory=tmpdir, build_on_run=True,
                   with_output=False)
        target = 'cpp_standalone'
        # Wall-clock timers inside the generated main() (time.h is included
        # by Brian2's main.cpp template).
        device.insert_code('before_start',
                           'struct timespec _sb_t0, _sb_t1, _sb_t2;\n'
                           'clock_gettime(CLOCK_MONOTONIC, &_sb_t0);')
        device.insert_code('before_end', r'''
clock_gettime(CLOCK_MONOTONIC, &_sb_t2);
{
    FILE *_sb_f = fopen("results/sb_timing.txt", "w");
    if (_sb_f) {
        fprintf(_sb_f, "%.9f %.9f\n",
                (_sb_t1.tv_sec - _sb_t0.tv_sec) + 1e-9 * (_sb_t1.tv_nsec - _sb_t0.tv_nsec),
                (_sb_t2.tv_sec - _sb_t1.tv_sec) + 1e-9 * (_sb_t2.tv_nsec - _sb_t1.tv_nsec));
        fclose(_sb_f);
    }
}''')
    else:
        from brian2_target import runtime_target
        target = runtime_target()
        prefs.codegen.target = target

    try:
        defaultclock.dt = 0.1 * ms

        method = 'exact' if args.net == 'cuba' else 'exponential_euler'
        build_cold_s = None
        if args.mode == 'runtime' and not args.no_warmup:
            # Untimed warm-up: Brian2 runtime compiles a Cython extension per
            # code object, keyed on the generated code, which has constants
            # such as p = 80/N inlined; a cold cache adds ~10 s of compilation
            # to the first connect() at every new N.  Build the identical
            # network once, throw it away and re-seed, so build_s measures
            # construction only.  The cold time is reported in a '#' line.
            t0 = time.perf_counter()
            build_network(args, np.random.default_rng(args.seed))
            build_cold_s = time.perf_counter() - t0
            gc.collect()
        seed(args.seed)
        rng = np.random.default_rng(args.seed)
        t0 = time.perf_counter()
        P, Ce, Ci = build_network(args, rng)
        if args.mode == 'standalone':
            device.insert_code('main', 'clock_gettime(CLOCK_MONOTONIC, &_sb_t1);')
        build_s = time.perf_counter() - t0

        M = SpikeMonitor(P, record=False)
        net = Network(P, Ce, Ci, M)

        t1 = time.perf_counter()
        net.run(duration)
        run_call_s = time.perf_counter() - t1
        sim_s = float(device._last_run_time)

        spikes = int(M.num_spikes)
        synapses = int(len(Ce) + len(Ci))
        rate = spikes / (N * float(duration / second))

        if args.mode == 'standalone':
            py_describe_s = build_s
            with open(os.path.join(tmpdir, 'results', 'sb_timing.txt')) as f:
                build_s, run_wall_s = (float(x) for x in f.read().split())
            make_s = device.timers.get('compile', {}).get('make', float('nan'))
            run_binary_s = device.timers.get('run_binary', float('nan'))
            print(f'# brian2 {brian2.__version__} target=cpp_standalone (no OpenMP, make -j{args.make_jobs}) '
                  f'net={args.net} method={method} py_describe_s={py_describe_s:.3f} '
                  f'make_s={make_s:.3f} run_binary_s={run_binary_s:.3f} '
                  f'run_wall_s={run_wall_s:.4f} run_call_s={run_call_s:.3f}', file=out)
        else:
            cold = 'none' if build_cold_s is None else f'{build_cold_s:.3f}'
            print(f'# brian2 {brian2.__version__} target={target} net={args.net} method={method} '
                  f'warmup_build_s={cold} run_call_s={run_call_s:.3f} '
                  f'(run_call_s incl. code generation/compilation)', file=out)
        print(f'brian2 mode={args.mode} net={args.net} conn={args.conn} n={N} '
              f'build_s={build_s:.4f} sim_s={sim_s:.4f} spikes={spikes} '
              f'rate_hz={rate:.3f} synapses={synapses}', file=out)
        out.flush()
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == '__main__':
    main()
