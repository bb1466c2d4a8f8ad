# Task ensemble: members' weights and probabilities are the same on 1, 2 and
# 3 ranks, the stored mean equals the average of the stored members, and a
# rerun of a finished job trains nothing.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 400 100
job="jobs/cnn_ensemble.ini data.dir=$ds model.arch=conv3x3:4,maxpool2,dense:16,dense:10 ensemble.members=model*3 train.epochs=2 train.batch=32"
for np in 1 2 3; do
    mpirun -np $np $SB run $job job.output="$TMP/np$np.h5" > "$TMP/log$np" 2>&1 || { cat "$TMP/log$np"; fail "np=$np"; }
done
cat "$TMP/log2"
names=$($PY -c "
import h5py
with h5py.File('$TMP/np1.h5') as f:
    f['members'].visititems(lambda n, o: print('/members/' + n) if isinstance(o, h5py.Dataset) and '/metrics/' not in '/' + n else None)")
for np in 2 3; do
    $PY tests/integration/same_datasets.py "$TMP/np1.h5" "$TMP/np$np.h5" $names /ensemble/member_probs \
        /ensemble/mean_probs /ensemble/vote || fail "np=$np differs from np=1"
done
$PY - "$TMP/np1.h5" <<'PY' || fail "ensemble combination"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    p = f["ensemble/member_probs"][:].astype(np.float64)
    mean = f["ensemble/mean_probs"][:]
    labels = f["ensemble/labels"][:]
    g = f["ensemble"]
    worst = np.abs(p.mean(0) - mean).max()
    acc = (mean.argmax(1) == labels).mean()
    members = [(p[m].argmax(1) == labels).mean() for m in range(len(p))]
    print(f"members {members}, mean {acc}, stored {g.attrs['accuracy_mean']}, worst |mean - stored| {worst:.1e}")
    assert p.shape[0] == 3 and worst < 1e-6 and abs(acc - g.attrs["accuracy_mean"]) < 1e-12
    assert np.allclose(f["ensemble/member_accuracy"][:], members)
PY
$PY analysis/ensemble_table.py "$TMP/np1.h5" -o "$TMP/table.png" > "$TMP/table" || fail "ensemble_table.py"
grep -q "ensemble of CNNs (3, mean probability)" "$TMP/table" || { cat "$TMP/table"; fail "ensemble_table.py has no ensemble row"; }
# A second start of a finished job does nothing and says so.
mpirun -np 2 $SB run $job job.output="$TMP/np2.h5" > "$TMP/again" 2>&1 || fail "second start"
grep -q "already holds the result of this exact job; nothing to do" "$TMP/again" || fail "second start did not say it had nothing to do"
if grep -q "^epoch" "$TMP/again"; then fail "second start trained again"; fi
# Without the result file, the finished checkpoints are used: nothing is trained.
rm "$TMP/np2.h5"
mpirun -np 2 $SB run $job job.output="$TMP/np2.h5" > "$TMP/again" 2>&1 || fail "start without the result"
grep -q "after epoch 2 of 2" "$TMP/again" || fail "the finished checkpoints were not found"
if grep -q "^epoch" "$TMP/again"; then fail "a finished member trained again"; fi
$PY tests/integration/same_datasets.py "$TMP/np1.h5" "$TMP/np2.h5" /ensemble/mean_probs || fail "the result from checkpoints differs"
finish
