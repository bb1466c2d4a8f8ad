# Task train end to end on a small synthetic dataset: it learns, its file
# has the documented layout and loads into PyTorch with the same outputs,
# and a run interrupted after each epoch ends with the same weights as an
# uninterrupted one. Extra ranks wait and the result is the same.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 800 200
arch="conv3x3:8,maxpool2,conv3x3:16,bn,maxpool2,dense:32,dropout:0.2,dense:10"
job="jobs/cnn_single.ini data.dir=$ds model.arch=$arch train.epochs=3 train.batch=32 train.augment=shift:1,rotate:5"
$SB run $job job.output="$TMP/full.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "uninterrupted run"; }
cat "$TMP/log"
[ -f "$TMP/full.h5.ckpt/member_0000.h5" ] || fail "no checkpoint written"
for k in 1 2; do
    $SB run $job train.epochs_per_run=1 job.output="$TMP/step.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "run $k of the interrupted job"; }
    grep -q "stopped after epoch $k of 3" "$TMP/log" || fail "run $k did not stop after epoch $k"
    [ ! -e "$TMP/step.h5" ] || fail "an unfinished run wrote its final output"
done
$SB run $job train.epochs_per_run=1 job.output="$TMP/step.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "last run"; }
grep -q "resuming from .* after epoch 2" "$TMP/log" || fail "the last run did not resume after epoch 2"
mpirun -np 2 $SB run $job job.output="$TMP/np2.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "np=2 run"; }
layers=$($PY -c "
import h5py
with h5py.File('$TMP/full.h5') as f:
    f['model/layers'].visititems(lambda n, o: print('/model/layers/' + n) if isinstance(o, h5py.Dataset) else None)")
$PY tests/integration/same_datasets.py "$TMP/full.h5" "$TMP/step.h5" $layers /test/probs /metrics/loss \
    || fail "interrupted and uninterrupted runs differ"
$PY tests/integration/same_datasets.py "$TMP/full.h5" "$TMP/np2.h5" $layers /test/probs || fail "np=2 differs from np=1"
$PY tests/integration/check_train.py "$TMP/full.h5" 0.8 || fail "train output check"
# Bad architecture: one clear line, no file.
expect_error 1 "token 2 'maxpol2'" "$TMP/bad.h5" $SB run $job model.arch=conv3x3:8,maxpol2,dense:10 job.output="$TMP/bad.h5"
finish
