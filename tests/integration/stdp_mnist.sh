# Task stdp-mnist on a small synthetic dataset: the same learned weights,
# thresholds, labels and predictions on 1, 2 and 3 ranks and 1 and 2
# threads, with Poisson and with timed (latency, integrate) inputs;
# learning beats chance; runs stopped by SIGUSR1 (exit 3) during training,
# labelling and evaluation resume to the uninterrupted run's results (the
# learning curve's labels and counts too: the run is stopped inside a
# window, after the first); the result file has the documented layout.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 600 100
job="jobs/stdp_mnist_smoke.ini data.dir=$ds data.train=600 data.test=100 stdp.checkpoint_every=25 stdp.monitor_every=20"
names="/stdp/weights /stdp/theta /stdp/labels /stdp/confusion /test/pred_mean_rate /test/pred_proportion /stdp/train_accuracy"
for np in 1 2 3; do
    mpirun -np $np $SB run $job job.output="$TMP/r$np.h5" > "$TMP/r.log" 2>&1 || { cat "$TMP/r.log"; fail "np=$np"; }
    [ $np = 1 ] && cat "$TMP/r.log" && cp "$TMP/r.log" "$TMP/r1.log"
    [ $np = 1 ] || $PY tests/integration/same_datasets.py "$TMP/r1.h5" "$TMP/r$np.h5" $names \
        || fail "np=$np differs from np=1"
done
$PY -c "
import h5py, re, sys
with h5py.File(sys.argv[1]) as f:
    a = f['stdp'].attrs
    w = f['stdp/weights']
    assert w.shape == (20, 784), w.shape
    assert f['stdp/labels'].shape == (20,) and f['stdp/confusion'].shape == (10, 10)
    assert f['stdp/confusion'][:].sum() == 100
    assert abs(w[:].sum(axis=1) - 78).max() < 2, 'weights should stay near their normalised sum'
    assert 'exc' in f['spikes'], 'no spikes of the first test images'
    print('accuracy', a['accuracy_mean_rate'], a['accuracy_proportion'])
    assert a['accuracy_proportion'] > 0.3, 'no better than chance (0.1)'
    # learning curve: windows of 20 of the 600 images, the first without labels
    c = f['stdp/train_accuracy'][:]
    assert a['monitor_every'] == 20 and c.shape == (29,), (a['monitor_every'], c.shape)
    assert ((c >= 0) & (c <= 1)).all() and (abs(c * 20 - (c * 20).round()) < 1e-9).all(), c
    assert c.mean() > 0.2, ('learning curve no better than chance (0.1)', c)
    logged = [float(x) / 100 for x in re.findall(r'training images \d+-\d+: ([0-9.]+) % right', open(sys.argv[2]).read())]
    assert len(logged) == 29 and max(abs(x - y) for x, y in zip(logged, c)) < 1e-4, (logged, c)
    print('learning curve', c.round(2))
" "$TMP/r1.h5" "$TMP/r1.log" || fail "result file layout or accuracy"
$PY analysis/stdp_mnist_report.py "$TMP/r1.h5" > "$TMP/report" || fail "stdp_mnist_report.py"
grep -q "^| 20 | - | " "$TMP/report" && grep -q "^  epoch 1: [0-9.]*\( [0-9.]*\)\{28\}$" "$TMP/report" \
    || { cat "$TMP/report"; fail "stdp_mnist_report.py: no table row or learning curve of 29 windows"; }

# stdp.label_set = test (the authors' evaluation protocol) labels with the
# test images: training is untouched (same weights and thresholds as r1),
# and the file says which set labelled. With one labelling image most
# neurons stay silent: they get no class (-1) and the log counts them.
mpirun -np 2 $SB run $job stdp.label_set=test job.output="$TMP/lt.h5" > "$TMP/lt.log" 2>&1 || { cat "$TMP/lt.log"; fail "label_set=test"; }
grep -q "100 test images for labelling" "$TMP/lt.log" || { cat "$TMP/lt.log"; fail "label_set=test: not labelled on the test images"; }
$PY tests/integration/same_datasets.py "$TMP/r1.h5" "$TMP/lt.h5" /stdp/weights /stdp/theta || fail "label_set=test changed training"
# the learning curve only reads spike counts: off, the same results
mpirun -np 2 $SB run $job stdp.monitor_every=0 job.output="$TMP/m0.h5" > "$TMP/m0.log" 2>&1 || { cat "$TMP/m0.log"; fail "monitor_every=0"; }
$PY tests/integration/same_datasets.py "$TMP/r1.h5" "$TMP/m0.h5" /stdp/weights /stdp/theta /stdp/labels \
    /test/pred_mean_rate /test/pred_proportion || fail "the learning curve changed the results"
grep -q "right by the labels" "$TMP/m0.log" && fail "monitor_every=0 still scores windows"
mpirun -np 2 $SB run $job stdp.label_images=1 job.output="$TMP/l1.h5" > "$TMP/l1.log" 2>&1 || { cat "$TMP/l1.log"; fail "label_images=1"; }
$PY -c "
import h5py, sys, re
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as g:
    assert f['stdp'].attrs['label_set'] == 'test' and g['stdp'].attrs['label_set'] == 'train'
    lab = g['stdp/labels'][:]
    silent = int((lab == -1).sum())
    assert 0 < silent < len(lab), lab
    assert set(lab[lab >= 0]) <= set(range(10)), lab
    n = re.search(r'(\d+) neurons never fired while labelling', open(sys.argv[3]).read())
    assert n and int(n.group(1)) == silent, (n and n.group(0), silent)
    print('label_images=1:', silent, 'of', len(lab), 'neurons unassigned')
" "$TMP/lt.h5" "$TMP/l1.h5" "$TMP/l1.log" || fail "labels of silent neurons"

# A variant of the job: run with overrides on each rank count of $2 (results
# $TMP/$1NP.h5, log $TMP/$1.log) and check the counts agree with the first.
variant() {
    tag=$1 nps=$2 first=
    shift 2
    for np in $nps; do
        mpirun -np $np $SB run $job "$@" job.output="$TMP/$tag$np.h5" > "$TMP/$tag.log" 2>&1 || { cat "$TMP/$tag.log"; fail "$tag np=$np"; }
        if [ -z "$first" ]; then
            first=$np
        else
            $PY tests/integration/same_datasets.py "$TMP/$tag$first.h5" "$TMP/$tag$np.h5" $names || fail "$tag: np=$np differs from np=$first"
        fi
    done
}

# Fails ($4) unless the learned weights of files $1 and $2 differ somewhere
# by more than $3: the variant reached the network.
weights_differ() {
    $PY -c "
import h5py, sys, numpy as np
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as g:
    d = np.abs(f['stdp/weights'][:] - g['stdp/weights'][:]).max()
    assert d > float(sys.argv[3]), 'the same weights as the default (max diff %g)' % d
" "$1" "$2" "$3" || fail "$4"
}

# Fails unless /stdp attribute $1 is $2 in file $4 and $3 in file $5: the
# variant's file names it, the default's names the default.
attrs_are() {
    $PY -c "
import h5py, sys
k, a, b = sys.argv[1:4]
with h5py.File(sys.argv[4]) as f, h5py.File(sys.argv[5]) as g:
    assert f['stdp'].attrs[k] == a and g['stdp'].attrs[k] == b, (f['stdp'].attrs[k], g['stdp'].attrs[k])
" "$@" || fail "$1: attribute"
}

# stdp.rule = power_law (the rule of the paper's text): again the same on 1
# and 3 ranks, the file names the rule, and the weights it learns are not
# the triplet rule's.
variant pl "1 3" stdp.rule=power_law
grep "accuracy" "$TMP/pl.log"
attrs_are rule power_law diehl_cook "$TMP/pl1.h5" "$TMP/r1.h5"
weights_differ "$TMP/pl1.h5" "$TMP/r1.h5" 0.05 "power_law learned the triplet rule weights"

# stdp.t_ref = 5 with stdp.t_lockout = 0 (v held for 5 ms after a spike,
# instead of the default's spikes suppressed for 5 ms with v free, as in
# Brian 1 for the authors' code) reaches the network: the same on 1 and 2
# ranks, and not the default's weights.
variant b "1 2" stdp.t_ref=5 stdp.t_lockout=0
weights_differ "$TMP/b1.h5" "$TMP/r1.h5" 0.01 "t_ref=5 learned the default weights"

# stdp.step_order = arrivals (a step's arrivals change the input weights
# before its excitatory spikes do, Brian2's order, instead of the default's
# spikes first as in Brian 1's C STDP for the authors' code) reaches the
# network and is named in the file: the same on 1 and 3 ranks, and not the
# default's weights.
variant so "1 3" stdp.step_order=arrivals
weights_differ "$TMP/so1.h5" "$TMP/r1.h5" 0.01 "step_order=arrivals learned the default weights"
attrs_are step_order arrivals spikes "$TMP/so1.h5" "$TMP/r1.h5"

# 2 threads share each input's arrival steps (one per delay) between their
# targets: the same results as 1 thread (common.inc's default: r1, so1) in
# both step orders
for order in spikes arrivals; do
    ref=$TMP/r1.h5
    [ $order = arrivals ] && ref=$TMP/so1.h5
    OMP_NUM_THREADS=2 mpirun -np 1 $SB run $job stdp.step_order=$order job.output="$TMP/th$order.h5" \
        > "$TMP/th.log" 2>&1 || { cat "$TMP/th.log"; fail "$order, 2 threads"; }
    $PY tests/integration/same_datasets.py "$ref" "$TMP/th$order.h5" $names \
        || fail "step_order=$order: 2 threads differ from 1"
done

# Timed inputs (input.encoder = latency, integrate): every rank encodes each
# image itself, so the results are again the same on 1, 2 and 3 ranks; a
# SIGUSR1 stop resumes to the same results (the next image's spikes are set
# afresh); the file holds the encoder, its weights and one weight per input
for enc in latency integrate; do
    tjob="jobs/stdp_mnist_smoke.ini data.dir=$ds data.train=120 data.test=40 stdp.checkpoint_every=10
          input.encoder=$enc encode.neurons=50 encode.w_min=-1 encode.v_th=1"
    for np in 1 2 3; do
        mpirun -np $np $SB run $tjob job.output="$TMP/$enc$np.h5" > "$TMP/r.log" 2>&1 || { cat "$TMP/r.log"; fail "$enc np=$np"; }
        [ $np = 1 ] && grep "accuracy\|showings" "$TMP/r.log"
        # (the recorded spikes are stored rank after rank: compared at equal np only)
        [ $np = 1 ] || $PY tests/integration/same_datasets.py "$TMP/${enc}1.h5" "$TMP/$enc$np.h5" $names \
            || fail "$enc: np=$np differs from np=1"
    done
done
LOG=$TMP/iu.log interrupt usr1 "$TMP/iu.h5.ckpt/latest" "$TMP/iu.h5" mpirun -np 2 $SB run $tjob job.output="$TMP/iu.h5"
[ $rc = 3 ] || { cat "$TMP/iu.log"; fail "integrate, SIGUSR1: exit $rc, wanted 3"; }
mpirun -np 2 $SB run $tjob job.output="$TMP/iu.h5" > "$TMP/iu2.log" 2>&1 || { cat "$TMP/iu2.log"; fail "integrate: resume"; }
grep -q "resuming from" "$TMP/iu2.log" || fail "integrate: no resume"
$PY tests/integration/same_datasets.py "$TMP/integrate2.h5" "$TMP/iu.h5" $names || fail "integrate: resumed run differs"
$PY -c "
import h5py, sys
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as g:
    a = f['stdp'].attrs
    assert a['encoder'] == 'integrate' and a['inputs'] == 50, dict(a)
    assert f['stdp/weights'].shape == (20, 50) and f['encoders/integrate/weights'].shape == (50, 784)
    w = f['stdp/weights'][:]
    assert abs(w.sum(axis=1) - 78 * 50 / 784).max() < 0.5, 'weights should stay near 78 x inputs/784'
    assert g['stdp'].attrs['encoder'] == 'latency' and g['stdp/weights'].shape == (20, 784)
" "$TMP/integrate1.h5" "$TMP/latency1.h5" || fail "timed inputs: result file layout"

# SIGUSR1 during training: checkpoint, exit 3; the rerun resumes
LOG=$TMP/u.log interrupt usr1 "$TMP/u.h5.ckpt/latest" "$TMP/u.h5" mpirun -np 2 $SB run $job job.output="$TMP/u.h5"
[ $rc = 3 ] || { cat "$TMP/u.log"; fail "SIGUSR1: exit $rc, wanted 3"; }
grep -q "stopped in stdp train epoch 1/[0-9]* at image" "$TMP/u.log" || { cat "$TMP/u.log"; fail "SIGUSR1: no 'stopped in' line"; }
mpirun -np 2 $SB run $job job.output="$TMP/u.h5" > "$TMP/u2.log" 2>&1 || { cat "$TMP/u2.log"; fail "resume"; }
grep -q "resuming from" "$TMP/u2.log" || fail "no resume"
$PY tests/integration/same_datasets.py "$TMP/r1.h5" "$TMP/u.h5" $names || fail "resumed run differs"

# SIGUSR1 during labelling, then during evaluation (sent once a checkpoint,
# every 10 images, shows the phase under way): each stops with a checkpoint
# of what the phase has summed so far, and the reruns end with the
# uninterrupted run's results
$PY tests/integration/make_dataset.py "$TMP/ds2" 300 600
job2="jobs/stdp_mnist_smoke.ini data.dir=$TMP/ds2 data.train=300 data.test=600 stdp.label_images=300 stdp.checkpoint_every=10"
mpirun -np 2 $SB run $job2 job.output="$TMP/e.h5" > "$TMP/e.log" 2>&1 || { cat "$TMP/e.log"; fail "phases: reference run"; }
phase=1
for name in labelling evaluation; do
    rc=0
    mpirun -np 2 $SB run $job2 job.output="$TMP/p.h5" > "$TMP/p.log" 2>&1 &
    runner=$!
    $PY tests/integration/signal_in_phase.py "$TMP/p.h5.ckpt" $phase "job.output=$TMP/p.h5" || fail "no signal in $name"
    wait $runner || rc=$?
    [ $rc = 3 ] || { cat "$TMP/p.log"; fail "SIGUSR1 in $name: exit $rc, wanted 3"; }
    grep -q "stopped in stdp $name at image" "$TMP/p.log" || { cat "$TMP/p.log"; fail "SIGUSR1 in $name: no 'stopped in' line"; }
    phase=$((phase + 1))
done
mpirun -np 2 $SB run $job2 job.output="$TMP/p.h5" > "$TMP/p2.log" 2>&1 || { cat "$TMP/p2.log"; fail "phases: resume"; }
grep -q "resuming from .*: evaluation, " "$TMP/p2.log" || { cat "$TMP/p2.log"; fail "phases: did not resume in evaluation"; }
$PY tests/integration/same_datasets.py "$TMP/e.h5" "$TMP/p.h5" $names /spikes/exc/node_ids /spikes/exc/timestamps \
    || fail "runs stopped in labelling and evaluation differ from the uninterrupted one"
finish
