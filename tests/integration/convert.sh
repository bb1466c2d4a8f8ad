# Task convert end to end on a small synthetic dataset: a small CNN is
# trained, converted and simulated on 1, 2 and 3 ranks (identical files),
# stopped by SIGUSR1 and resumed (identical again), and checked: accuracy
# at the largest step count within 0.5 % of the ANN's, spike-rate/ReLU
# correlation of every layer above 0.99, SONATA spikes of the first images.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 800 200
arch="conv3x3:8,maxpool2,conv3x3:16,maxpool2,dense:32,dropout:0.2,dense:10"
$SB run jobs/cnn_single.ini data.dir=$ds model.arch=$arch train.epochs=3 train.batch=32 \
    train.augment=none job.output="$TMP/cnn.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "training the CNN"; }
job="jobs/convert.ini data.dir=$ds convert.model=$TMP/cnn.h5 convert.steps=20,100,400 convert.batch=16 convert.norm_images=200"
names="/convert/predictions /convert/ann_predictions /convert/accuracy /convert/synops_per_image /test/labels"
for np in 1 2 3; do
    mpirun -np $np $SB run $job job.output="$TMP/np$np.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "np=$np run"; }
done
cat "$TMP/log"
pops=$($PY -c "
import h5py
with h5py.File('$TMP/np1.h5') as f:
    print(' '.join('/spikes/%s/%s' % (p, d) for p in f['spikes'] for d in ('node_ids', 'timestamps')))")
for np in 2 3; do
    $PY tests/integration/same_datasets.py "$TMP/np1.h5" "$TMP/np$np.h5" $names $pops || fail "np=$np differs from np=1"
done
$PY tests/integration/check_convert.py "$TMP/np1.h5" 0.005 0.99 || fail "convert output check"

# SIGUSR1 after the first checkpoint: exit 3, no result; the rerun resumes
# and ends with the uninterrupted run's file.
LOG=$TMP/int.log
interrupt usr1 "$TMP/int.h5.ckpt/rank_0001.h5" "$TMP/int.h5" \
    mpirun -np 2 $SB run $job convert.checkpoint_every=1 job.output="$TMP/int.h5"
[ "$rc" = 3 ] || { cat "$LOG"; fail "stopped run exited $rc (wanted 3)"; }
[ ! -e "$TMP/int.h5" ] || fail "a stopped run wrote its result"
mpirun -np 2 $SB run $job convert.checkpoint_every=1 job.output="$TMP/int.h5" > "$LOG" 2>&1 || { cat "$LOG"; fail "resumed run"; }
grep -q "resuming at round" "$LOG" || { cat "$LOG"; fail "the rerun did not resume"; }
$PY tests/integration/same_datasets.py "$TMP/np2.h5" "$TMP/int.h5" $names $pops || fail "stopped and resumed differs"
[ ! -e "$TMP/int.h5.ckpt" ] || fail "checkpoints left after a finished run"

# Bad input: one clear line, no file.
expect_error 1 "no-such.h5: cannot open" "$TMP/bad.h5" $SB run $job convert.model=$TMP/no-such.h5 job.output="$TMP/bad.h5"
expect_error 1 "convert.steps item '50'" "$TMP/bad.h5" $SB run $job convert.steps=100,50 job.output="$TMP/bad.h5"
$SB run jobs/lstm_rows.ini data.dir=$ds model.arch=lstm:8,dense:10 train.epochs=1 job.output="$TMP/lstm.h5" \
    > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "training the LSTM"; }
expect_error 1 "layer 0 (lstm) has no spiking counterpart" "$TMP/bad.h5" $SB run $job convert.model=$TMP/lstm.h5 job.output="$TMP/bad.h5"
expect_error 1 "no /model with" "$TMP/bad.h5" $SB run $job convert.model=$TMP/np1.h5 job.output="$TMP/bad.h5"
finish
