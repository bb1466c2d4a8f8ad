#!/usr/bin/python3
"""Diehl & Cook 2015 training phase in Brian2, the peer of SpikeBridge's
stdp-mnist task (src/tasks/stdp_mnist.c) in a benchmark.

Usage:  stdp_brian2.py {runtime|standalone} [N] [K] [SEED]
        (N excitatory = N inhibitory neurons, default 400; K training images,
        the first K of the MNIST training set, default 10; seed default 1)

Prints exactly one JSON line on stdout; everything else (progress, Brian2 log
messages, compiler output) goes to stderr: file descriptor 1 is pointed at
stderr for the whole run and only the result is written to the saved, real
stdout.

The network is the one stdp_mnist.c build() writes for the engine (see
DESIGN.md, "Diehl & Cook 2015 reference parameters"): 784 Poisson inputs at
pixel/8 x intensity Hz; N conductance-based LIF excitatory neurons with an
adaptive threshold (fire when v > theta - 72 mV); N inhibitory ones; input ->
excitatory all-to-all, plastic (Diehl & Cook rule), delays U(0, 10) ms;
excitatory -> inhibitory one-to-one (10.4 on ge); inhibitory -> every other
excitatory (17 on gi).  Conductances dimensionless, in units of the leak
conductance, as in the authors' code.  dt = 0.5 ms.  An excitatory
neuron cannot fire for 5 ms after a spike while v moves on (as Brian 1
ran the authors' code; SpikeBridge's default); an inhibitory neuron's v is
held for 2 ms; conductances and theta keep decaying.  Integration:
exponential Euler (exact for ge, gi, theta), as SpikeBridge's lif_coba.

Modes
-----
runtime      How the published Python ports run it: Brian2 runtime (Cython
             code generation if available, else numpy), one Network and per
             image: normalise the input weights of each excitatory neuron to
             sum 78 in Python, set the rates, net.run(350 ms), count the
             excitatory spikes, rates 0, net.run(150 ms); fewer than 5 spikes
             -> intensity + 1 and the image again (at most 20 tries, as
             SpikeBridge).  seconds_per_image is the mean wall time of images
             2..K (all tries of an image included); the first image, which
             includes code generation and Cython compilation (cached in
             ~/.cython/brian_extensions after the first time), is reported
             as warmup_s.  build_s is the Python network construction.
standalone   C++ standalone (cpp_standalone, no OpenMP), all K images in one
             run of K x 500 ms: rates from a TimedArray indexed by image
             (t // 500 ms) times a 350 ms on / 150 ms off gate; the weight
             normalisation by a run_regularly on the synapses every 500 ms at
             the start of the step that starts an image (fed by a summed
             variable that is updated only then).  No intensity retry: every
             image is shown once at intensity 2 (images_below_min says how
             many got fewer than 5 excitatory spikes).  seconds_per_image is
             Brian2's measurement of the time-step loop (device._last_run_time,
             std::clock() of the loop, excludes synapse creation and set-up)
             divided by K; compile_s is the 'make' time; run_binary_s the whole
             binary (incl. synapse creation, reading/writing arrays).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, '..', '..', 'data', 'mnist', 'train-images-idx3-ubyte')
sys.path.insert(0, os.path.join(HERE, '..', '..', 'analysis'))
from idxfile import read_idx  # noqa: E402

PRESENT_MS, REST_MS, MIN_SPIKES, MAX_TRIES = 350.0, 150.0, 5, 20


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=('runtime', 'standalone'))
    ap.add_argument('neurons', nargs='?', type=int, default=400)
    ap.add_argument('images', nargs='?', type=int, default=10)
    ap.add_argument('seed', nargs='?', type=int, default=1)
    ap.add_argument('--data', default=os.environ.get('MNIST_TRAIN_IMAGES', DEFAULT_DATA),
                    help='MNIST training images, IDX, raw or gzip (a missing path '
                         'is also tried with .gz appended)')
    ap.add_argument('--make-jobs', type=int,
                    default=int(os.environ.get('BRIAN_MAKE_JOBS', '1')),
                    help='standalone: parallel jobs for the compile (default '
                         '$BRIAN_MAKE_JOBS or 1)')
    a = ap.parse_args()
    if a.neurons < 1 or a.images < 1:
        ap.error('N and K must be >= 1')
    if a.mode == 'runtime' and a.images < 2:
        ap.error('runtime needs K >= 2 (the first image is the warm-up)')
    return a


def load_images(path, k):
    """First k images of an IDX3 file (raw or gzip), uint8 array (k, 784)."""
    try:
        x = read_idx(path, k)
    except ValueError as e:
        raise SystemExit(str(e))
    if x.shape[1:] != (28, 28):
        raise SystemExit(f'{path}: images are {"x".join(map(str, x.shape[1:]))}, expected 28x28')
    return x.reshape(k, 784)


def build(N, standalone, rates, rates_ns=None, inp=None, frozen=False):
    """The network; `rates` is the PoissonGroup's rates (Quantity or string
    using the names in `rates_ns`), or `inp` a group of 784 inputs that
    replaces it.  With `frozen`, the excitatory group has a shared flag
    `learn` (1: plasticity and theta move; 0: both frozen, as in labelling
    and evaluation) and a variable `active` (0 holds theta while no image is
    shown), and counts its spikes of the presentation part of each 500 ms
    slot in `nspk` (tests/reference/stdp_mnist_brian2.py).  Returns
    (objects, input group, exc, plastic synapses)."""
    from brian2 import NeuronGroup, PoissonGroup, Synapses, ms, mV
    ns = dict(
        v_rest_e=-65 * mV, v_reset_e=-65 * mV, v_th_e=-72 * mV, tau_m_e=100 * ms,
        t_ref_e=5 * ms, E_exc=0 * mV, E_inh_e=-100 * mV,
        theta_plus=0.05 * mV, tau_theta=1e7 * ms,
        v_rest_i=-60 * mV, v_reset_i=-45 * mV, v_th_i=-40 * mV, tau_m_i=10 * ms,
        t_ref_i=2 * ms, E_inh_i=-85 * mV,
        tau_ge=1 * ms, tau_gi=2 * ms,
        tau_pre=20 * ms, tau_post1=20 * ms, tau_post2=40 * ms,
        nu_pre=1e-4, nu_post=1e-2, wmax=1.0, w_ee=10.4, w_ie=17.0, norm=78.0)
    P = inp if inp is not None else PoissonGroup(784, rates=rates, namespace=rates_ns, name='inp')
    learn = 'learn*active*' if frozen else ''
    eqs_e = f'''
    dv/dt = ((v_rest_e - v) + ge*(E_exc - v) + gi*(E_inh_e - v))/tau_m_e : volt
    dge/dt = -ge/tau_ge : 1
    dgi/dt = -gi/tau_gi : 1
    dtheta/dt = -{learn}theta/tau_theta : volt
    '''
    reset_e = 'v = v_reset_e\ntheta += ' + ('learn*' if frozen else '') + 'theta_plus'
    if standalone:
        eqs_e += 'sumw : 1\n'
    if frozen:
        eqs_e += 'learn : 1 (shared)\nactive : 1\nnspk : 1\n'
        ns.update(slot_steps=int(round((PRESENT_MS + REST_MS) / 0.5)),
                  present_steps=int(round(PRESENT_MS / 0.5)))
        reset_e += '\nnspk += int(t_in_timesteps % slot_steps < present_steps)'
    E = NeuronGroup(N, eqs_e, threshold='v > theta + v_th_e', reset=reset_e,
                    refractory='t_ref_e', method='exponential_euler',
                    namespace=ns, name='exc')
    E.v = -105 * mV
    E.theta = 20 * mV
    eqs_i = '''
    dv/dt = ((v_rest_i - v) + ge*(E_exc - v) + gi*(E_inh_i - v))/tau_m_i : volt (unless refractory)
    dge/dt = -ge/tau_ge : 1
    dgi/dt = -gi/tau_gi : 1
    '''
    I = NeuronGroup(N, eqs_i, threshold='v > v_th_i', reset='v = v_reset_i',
                    refractory='t_ref_i', method='exponential_euler',
                    namespace=ns, name='inh')
    I.v = -100 * mV
    model = '''
    w : 1
    dpre/dt = -pre/tau_pre : 1 (event-driven)
    dpost1/dt = -post1/tau_post1 : 1 (event-driven)
    dpost2/dt = -post2/tau_post2 : 1 (event-driven)
    '''
    if standalone:
        model += 'sumw_post = w : 1 (summed)\n'
    # on_post: the w update reads post2 (decayed to now) before it is set,
    # i.e. the authors' post2before.
    learn = 'learn_post*' if frozen else ''
    S = Synapses(P, E, model=model,
                 on_pre=f'ge_post += w\npre = 1.\nw = clip(w - {learn}nu_pre*post1, 0, wmax)',
                 on_post=f'w = clip(w + {learn}nu_post*pre*post2, 0, wmax)\npost1 = 1.\npost2 = 1.',
                 namespace=ns, name='inp_exc')
    S.connect()
    S.w = 'rand()*0.3 + 0.003'
    S.delay = 'rand()*10*ms'
    EI = Synapses(E, I, on_pre='ge_post += w_ee', namespace=ns, name='exc_inh')
    EI.connect(j='i')
    IE = Synapses(I, E, on_pre='gi_post += w_ie', namespace=ns, name='inh_exc')
    IE.connect(condition='i != j')
    return [P, E, I, S, EI, IE], P, E, S


def run_runtime(args, images, log):
    import numpy as np
    from brian2 import prefs, seed, defaultclock, device, Network, SpikeMonitor, ms, Hz
    from brian2_target import runtime_target
    target = runtime_target()
    prefs.codegen.target = target
    log(f'runtime: codegen target {target}')
    defaultclock.dt = 0.5 * ms
    seed(args.seed)
    N, K = args.neurons, args.images
    t0 = time.perf_counter()
    objs, P, E, S = build(N, False, 0 * Hz)
    M = SpikeMonitor(E, record=False, name='exc_mon')
    net = Network(*objs, M)
    build_s = time.perf_counter() - t0
    post = np.asarray(S.j[:])

    def normalise():
        w = np.asarray(S.w[:])
        col = np.bincount(post, weights=w, minlength=N)
        f = np.where(col > 0, 78.0 / np.where(col > 0, col, 1.0), 1.0)
        S.w[:] = w * f[post]

    times, loops, counts, tries_all, first_try = [], [], [], [], []
    for k in range(K):
        img = images[k].astype(np.float64) / 8.0
        intensity = 2.0
        loop = 0.0
        t1 = time.perf_counter()
        for tries in range(1, MAX_TRIES + 1):
            normalise()
            P.rates = img * intensity * Hz
            n0 = int(M.num_spikes)
            net.run(PRESENT_MS * ms)
            loop += float(device._last_run_time)
            n = int(M.num_spikes) - n0
            if tries == 1:
                first_try.append(n)
            P.rates = 0 * Hz
            net.run(REST_MS * ms)
            loop += float(device._last_run_time)
            if n >= MIN_SPIKES:
                break
            intensity += 1
        times.append(time.perf_counter() - t1)
        loops.append(loop)
        counts.append(n)
        tries_all.append(tries)
        log(f'image {k + 1}/{K}: {n} exc spikes, {tries} tries, {times[-1]:.3f} s '
            f'({loop:.3f} s in the time-step loops)')
    per = float(np.mean(times[1:]))
    return dict(target=target, build_s=round(build_s, 4), warmup_s=round(times[0], 4),
                seconds_per_image=round(per, 5),
                loop_seconds_per_image=round(float(np.mean(loops[1:])), 5),
                seconds_per_presentation=round(float(np.sum(times[1:]) / np.sum(tries_all[1:])), 5),
                presentations=int(np.sum(tries_all)), retries=int(np.sum(tries_all) - K),
                images_below_min_first_try=int(np.sum(np.array(first_try) < MIN_SPIKES)),
                exc_spikes=int(np.sum(counts)),
                exc_spikes_per_image=counts if K <= 1000 else None,
                tries_per_image=tries_all if K <= 1000 else None,
                intensity_retry=True)


def run_standalone(args, images, log):
    import numpy as np
    from brian2 import (prefs, set_device, device, seed, defaultclock, Network,
                        SpikeMonitor, TimedArray, Clock, ms, Hz, second)
    tmpdir = tempfile.mkdtemp(prefix='stdp_brian2_')
    try:
        prefs.devices.cpp_standalone.openmp_threads = 0
        prefs.devices.cpp_standalone.extra_make_args_unix = [f'-j{args.make_jobs}']
        set_device('cpp_standalone', directory=tmpdir, build_on_run=True,
                   with_output=False)
        defaultclock.dt = 0.5 * ms
        seed(args.seed)
        N, K = args.neurons, args.images
        t0 = time.perf_counter()
        period = (PRESENT_MS + REST_MS) * ms
        pix = TimedArray(images.astype(np.float64) / 8.0 * 2.0 * Hz, dt=period)
        slots = int(round((PRESENT_MS + REST_MS) / 50.0))
        on = int(round(PRESENT_MS / 50.0))
        gate = TimedArray(np.tile(np.r_[np.ones(on), np.zeros(slots - on)], K), dt=50 * ms)
        objs, P, E, S = build(N, True, 'pix(t, i)*gate(t)', dict(pix=pix, gate=gate))
        # Normalisation at t = 0, 500, ... ms, in the 'start' slot of the
        # step that starts an image: first the summed variable (moved from
        # its every-step clock to this one), then the scaling.
        norm_clock = Clock(dt=period, name='norm_clock')
        upd = S.summed_updaters['sumw_post']
        upd._clock = norm_clock
        upd.when, upd.order = 'start', 0
        S.run_regularly('w = w*norm/clip(sumw_post, 1e-12, inf)', clock=norm_clock,
                        when='start', order=1, name='inp_exc_normalise')
        M = SpikeMonitor(E, name='exc_mon')
        net = Network(*objs, M)
        describe_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        net.run(K * period)
        run_call_s = time.perf_counter() - t1
        sim_s = float(device._last_run_time)
        make_s = device.timers.get('compile', {}).get('make', float('nan'))
        run_binary_s = device.timers.get('run_binary', float('nan'))
        t = np.asarray(M.t_[:])
        img = np.floor(t / float(period / second) + 1e-9).astype(np.int64)
        in_present = (t - img * float(period / second)) < PRESENT_MS * 1e-3 - 1e-9
        counts = np.bincount(img[in_present], minlength=K)[:K]
        log(f'standalone: make {make_s:.2f} s, binary {run_binary_s:.2f} s, loop {sim_s:.3f} s; '
            f'exc spikes per image: mean {counts.mean():.1f}, min {counts.min()}, '
            f'{int(np.sum(counts < MIN_SPIKES))} of {K} below {MIN_SPIKES}')
        return dict(target='cpp_standalone', openmp_threads=0,
                    compile_s=round(make_s, 3), py_describe_s=round(describe_s, 3),
                    run_call_s=round(run_call_s, 3), run_binary_s=round(run_binary_s, 3),
                    sim_s=round(sim_s, 4), seconds_per_image=round(sim_s / K, 6),
                    presentations=K, retries=0,
                    images_below_min=int(np.sum(counts < MIN_SPIKES)),
                    exc_spikes=int(counts.sum()),
                    exc_spikes_rest=int(len(t) - counts.sum()),
                    exc_spikes_per_image=[int(c) for c in counts] if K <= 1000 else None,
                    intensity_retry=False)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def quiet_stdout(name):
    """The real stdout, kept for the one JSON line, and a log function: file
    descriptor 1 (Brian2's and the compiler's output) goes to stderr from now
    on.  Brian2's FutureWarnings are silenced."""
    out = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def log(msg):
        print(f'{name}: {msg}', file=sys.stderr, flush=True)

    import warnings
    warnings.filterwarnings('ignore', category=FutureWarning)
    return out, log


def main():
    args = parse_args()
    out, log = quiet_stdout('stdp_brian2')
    import brian2
    images = load_images(args.data, args.images)
    if args.mode == 'runtime':
        res = run_runtime(args, images, log)
    else:
        res = run_standalone(args, images, log)
    line = dict(mode=args.mode, neurons=args.neurons, images=args.images, seed=args.seed,
                brian2=brian2.__version__, dt_ms=0.5)
    line.update({k: v for k, v in res.items() if v is not None})
    print(json.dumps(line), file=out)
    out.flush()


if __name__ == '__main__':
    main()
