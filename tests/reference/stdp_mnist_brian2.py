#!/usr/bin/python3
"""The whole Diehl & Cook protocol of task stdp-mnist in Brian2 (Debian
python3-brian, C++ standalone): training with the intensity retry,
labelling on the training images and evaluation on the test images, scored
by both votes.  An independent simulator's accuracy for the network and
protocol that SpikeBridge runs, so that a gap to the paper can be told
apart from a fault of SpikeBridge's.

Usage:  stdp_mnist_brian2.py [--neurons N] [--train K] [--label K] [--test K]
                             [--seed S] [--slots F] [--data DIR]

Prints one JSON line on stdout (accuracies, showings per image, times);
progress and Brian2's messages go to stderr.

The network is tests/bench/stdp_brian2.py's build() (the same equations and
parameters as src/tasks/stdp_mnist.c writes for the engine, Brian2's order
within a step: arrivals, then spikes, as SpikeBridge's
stdp.step_order=arrivals).  The protocol runs inside the standalone binary,
in slots of 500 ms (350 ms presentation, 150 ms rest, one showing each):
a one-neuron controller, at the start of each slot, reads the excitatory
spikes of the last presentation and either moves to the next image at
intensity 2 or shows the same one again at intensity + 1 (fewer than 5
spikes, at most 20 showings), as SpikeBridge's show(); the input weights
are normalised at the start of each training slot.  A phase's images are
known in advance, their showings are not: each phase runs for F slots per
image (default 2.5) and idles, frozen, once its last image is done (no
input, no plasticity, theta held).  Labelling and evaluation run with
plasticity and theta frozen.  Each neuron takes the class of its highest
mean response (none if it never fired); an image is classified by the
class whose neurons fired most on average (mean rate, the authors'
evaluation) and by each neuron's spikes shared in the proportions of its
responses (proportion), both as in stdp_mnist.c classify().

Differences from SpikeBridge that remain: the random streams (Brian2's
own), delays rounded by Brian2 from U(0, 10) ms, and the state at the start
of labelling and evaluation (relaxed through the idle slots, where
SpikeBridge starts each phase 150 ms after the last image).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'bench'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'analysis'))
from idxfile import read_idx  # noqa: E402
from stdp_brian2 import PRESENT_MS, REST_MS, MIN_SPIKES, MAX_TRIES, build, quiet_stdout  # noqa: E402

CLASSES = 10
DT_MS = 0.5
SLOT_STEPS = int(round((PRESENT_MS + REST_MS) / DT_MS))
PRESENT_STEPS = int(round(PRESENT_MS / DT_MS))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--neurons', type=int, default=100)
    ap.add_argument('--train', type=int, default=60000, help='training images (one epoch)')
    ap.add_argument('--label', type=int, default=None, help='labelling images (default --train)')
    ap.add_argument('--test', type=int, default=10000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--slots', type=float, default=2.5, help='slots of 500 ms per image of a phase')
    ap.add_argument('--data', default=os.path.join(HERE, '..', '..', 'data', 'mnist'))
    a = ap.parse_args()
    a.label = a.train if a.label is None else a.label
    if min(a.neurons, a.train, a.label, a.test) < 1 or a.label > a.train or a.slots < 1:
        ap.error('N, K >= 1, --label <= --train, --slots >= 1')
    return a


def load(data, name, k):
    try:
        return (read_idx(os.path.join(data, f'{name}-images-idx3-ubyte'), k).reshape(k, 784),
                read_idx(os.path.join(data, f'{name}-labels-idx1-ubyte'), k).astype(np.int64))
    except ValueError as e:
        raise SystemExit(str(e))


def simulate(a, pixels, log):
    """Runs the three phases; returns (slot images, slot active flags, spike
    slot/step/neuron arrays, loop seconds per phase, compile seconds)."""
    from brian2 import (prefs, set_device, device, seed, defaultclock, Network, NeuronGroup,
                        Synapses, SpikeMonitor, StateMonitor, TimedArray, Clock, ms, Hz)
    tmpdir = tempfile.mkdtemp(prefix='stdp_mnist_brian2_')
    try:
        prefs.devices.cpp_standalone.openmp_threads = 0
        set_device('cpp_standalone', directory=tmpdir, build_on_run=False, with_output=False)
        defaultclock.dt = DT_MS * ms
        seed(a.seed)
        period = (PRESENT_MS + REST_MS) * ms
        slot = Clock(dt=period, name='slot_clock')
        ns = dict(pix=TimedArray(pixels.astype(np.float64) / 8.0 * Hz, dt=period), period=period,
                  slot_steps=SLOT_STEPS, present_steps=PRESENT_STEPS)
        inp = NeuronGroup(784, 'img : 1\nintensity : 1\nactive : 1',
                          threshold='active > 0 and t_in_timesteps % slot_steps < present_steps '
                                    'and rand() < pix(img*period, i)*intensity*dt',
                          namespace=ns, name='inp')
        objs, _, E, S = build(a.neurons, True, None, inp=inp, frozen=True)
        E.learn = 1
        ctrl = NeuronGroup(1, '''img : 1
                                 intensity : 1
                                 tries : 1
                                 prev : 1
                                 cnt : 1
                                 img_end : 1
                                 showing : 1''', name='ctrl')
        ctrl.run_regularly(f'''cur = cnt - prev
                              prev = cnt
                              ok = int(cur >= {MIN_SPIKES} or tries >= {MAX_TRIES})
                              img += ok
                              intensity = ok*2 + (1 - ok)*(intensity + 1)
                              tries = ok + (1 - ok)*(tries + 1)
                              showing = int(img < img_end)''',
                           clock=slot, when='start', order=1, name='ctrl_step')
        # Summed variables carry the controller's state to the groups and the
        # spike count to the controller, once a slot at its start.
        count = Synapses(E, ctrl, 'cnt_post = nspk_pre : 1 (summed)', name='count')
        count.connect()
        to_inp = Synapses(ctrl, inp, '''img_post = img_pre : 1 (summed)
                                        intensity_post = intensity_pre : 1 (summed)
                                        active_post = showing_pre : 1 (summed)''', name='to_inp')
        to_inp.connect()
        to_exc = Synapses(ctrl, E, 'active_post = showing_pre : 1 (summed)', name='to_exc')
        to_exc.connect()
        order = {'count': 0, 'to_inp': 2, 'to_exc': 2}
        for syn in (count, to_inp, to_exc):
            for upd in syn.summed_updaters.values():
                upd._clock, upd.when, upd.order = slot, 'start', order[syn.name]
        upd = S.summed_updaters['sumw_post']
        upd._clock, upd.when, upd.order = slot, 'start', 3
        S.run_regularly('g = learn_post*active_post\n'
                        'w = w*(1 - g) + g*w*norm/clip(sumw_post, 1e-12, inf)',
                        clock=slot, when='start', order=4, name='inp_exc_normalise')
        slots_mon = StateMonitor(ctrl, ['img', 'showing'], record=0, clock=slot, when='start',
                                 order=5, name='slots_mon')
        spikes = SpikeMonitor(E, name='exc_mon')
        net = Network(*objs, ctrl, count, to_inp, to_exc, slots_mon, spikes)
        phases = [('train', 0, a.train, 1), ('label', 0, a.label, 0),
                  ('test', a.train, a.train + a.test, 0)]
        lengths = []
        for name, first, end, plastic in phases:
            E.learn = plastic
            ctrl.img, ctrl.img_end, ctrl.tries = first - 1, end, MAX_TRIES
            n = int(np.ceil((end - first) * a.slots))
            lengths.append(n)
            net.run(n * period)
        log(f'building the standalone binary in {tmpdir}')
        t0 = time.perf_counter()
        device.build(directory=tmpdir, compile=True, run=True, with_output=False)
        wall = time.perf_counter() - t0
        make_s = device.timers.get('compile', {}).get('make', float('nan'))
        img = np.asarray(slots_mon.img[0], dtype=np.int64)
        active = np.asarray(slots_mon.showing[0]) > 0
        step = np.round(np.asarray(spikes.t_[:]) / (DT_MS * 1e-3)).astype(np.int64)
        neuron = np.asarray(spikes.i[:], dtype=np.int64)
        return img, active, step, neuron, lengths, dict(make_s=make_s, build_and_run_s=wall)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def responses(a, img, active, step, neuron, lengths):
    """Per phase: the images shown, their showings, and each image's spike
    counts per neuron in its last (accepted) showing."""
    per_slot = np.zeros((len(img), a.neurons), dtype=np.int64)
    keep = step % SLOT_STEPS < PRESENT_STEPS
    np.add.at(per_slot, (step[keep] // SLOT_STEPS, neuron[keep]), 1)
    out, s0 = [], 0
    for n, first, end in zip(lengths, (0, 0, a.train), (a.train, a.label, a.train + a.test)):
        sl = slice(s0, s0 + n)
        im, act = img[sl], active[sl]
        if act[-1] or (act.any() and im[act].max() < end - 1):
            raise SystemExit(f'stdp_mnist_brian2: a phase did not finish in {n} slots '
                             f'(images {first}-{end - 1}); raise --slots')
        # a showing is accepted when the next slot moves on to another image
        accepted = act & (np.r_[im[1:], end] != im)
        if not np.array_equal(im[accepted], np.arange(first, end)):
            raise SystemExit('stdp_mnist_brian2: the slots do not show each image once, in order')
        out.append(dict(counts=per_slot[np.flatnonzero(accepted) + s0],
                        showings=int(act.sum()) / (end - first)))
        s0 += n
    return out


def votes(label_counts, label_y, test_counts, test_y):
    """Accuracy by mean rate and by proportion, as stdp_mnist.c classify()."""
    per = np.bincount(label_y, minlength=CLASSES).astype(np.float64)
    sums = np.zeros((label_counts.shape[1], CLASSES))
    np.add.at(sums.T, label_y, label_counts)
    resp = np.divide(sums, per, out=np.zeros_like(sums), where=per > 0)
    labels = np.where(resp.max(axis=1) > 0, resp.argmax(axis=1), -1)
    members = np.bincount(labels[labels >= 0], minlength=CLASSES).astype(np.float64)
    right_mean = right_prop = 0
    norm = resp.sum(axis=1, keepdims=True)
    share = np.divide(resp, norm, out=np.zeros_like(resp), where=norm > 0)
    for c, y in zip(test_counts, test_y):
        use = (c > 0) & (labels >= 0)
        mean = np.bincount(labels[use], weights=c[use], minlength=CLASSES)
        mean = np.where(members > 0, mean / np.where(members > 0, members, 1), -1)
        prop = (c[use, None] * share[use]).sum(axis=0)
        right_mean += int(np.argmax(mean) == y)
        right_prop += int(np.argmax(prop) == y)
    return right_mean / len(test_y), right_prop / len(test_y), int(np.sum(labels < 0))


def main():
    a = parse_args()
    out, log = quiet_stdout('stdp_mnist_brian2')
    import brian2
    tx, ty = load(a.data, 'train', a.train)
    sx, sy = load(a.data, 't10k', a.test)
    t0 = time.perf_counter()
    img, active, step, neuron, lengths, timing = simulate(a, np.concatenate([tx, sx]), log)
    train, label, test = responses(a, img, active, step, neuron, lengths)
    mean, prop, unassigned = votes(label['counts'], ty[:a.label], test['counts'], sy)
    line = dict(neurons=a.neurons, train=a.train, label=a.label, test=a.test, seed=a.seed,
                brian2=brian2.__version__, dt_ms=DT_MS, accuracy_mean_rate=round(mean, 6),
                accuracy_proportion=round(prop, 6), unassigned=unassigned,
                showings_per_image=[round(p['showings'], 4) for p in (train, label, test)],
                slots=lengths, compile_s=round(timing['make_s'], 2),
                wall_s=round(time.perf_counter() - t0, 1))
    log(f'mean rate {100 * mean:.2f} %, proportion {100 * prop:.2f} %, '
        f'showings per image {line["showings_per_image"]}')
    print(json.dumps(line), file=out)
    out.flush()


if __name__ == '__main__':
    main()
