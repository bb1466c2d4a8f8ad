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
# Members with their own recipes (a job file in ensemble.members): alone,
# such a member is exactly the train task of that file; mixed with members
# of the ensemble's [train], every member trains with its own recipe.
cat > "$TMP/adam.ini" <<'INI'
[job]
task = train
[data]
dir = data/mnist
[model]
arch = conv3x3:4,maxpool2,dense:10
[train]
epochs = 2
batch = 16
optimizer = adam
lr = 0.003
schedule = constant
weight_decay = 0
augment = none
INI
mpirun -np 1 $SB run "$TMP/adam.ini" data.dir=$ds job.output="$TMP/adam.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "train of the member file"; }
mpirun -np 1 $SB run $job ensemble.members="$TMP/adam.ini" job.output="$TMP/one.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "ensemble of a job file"; }
$PY - "$TMP/adam.h5" "$TMP/one.h5" <<'PY' || fail "a job-file member is not its train task"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as t, h5py.File(sys.argv[2]) as e:
    a, b = t["test/probs"][:], e["ensemble/member_probs"][0]
    assert np.array_equal(a, b), abs(a - b).max()
PY
mpirun -np 2 $SB run $job ensemble.members="model*2,$TMP/adam.ini" job.output="$TMP/mixed.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "mixed ensemble"; }
grep -q "adam.ini" "$TMP/log" || fail "the mixed ensemble's table does not name the job-file member"
$PY - "$TMP/mixed.h5" "$TMP/adam.h5" "$TMP/np1.h5" <<'PY' || fail "mixed ensemble members"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as m, h5py.File(sys.argv[2]) as a, h5py.File(sys.argv[3]) as r:
    p = m["ensemble/member_probs"][:]
    assert p.shape[0] == 3, p.shape
    # members 0 and 1 are the first two of the 3-member run (same recipe, same member numbers)
    assert np.array_equal(p[:2], r["ensemble/member_probs"][:2])
    # member 2 has the file's recipe (Adam, constant lr), so it differs from the SGD members
    assert not np.array_equal(p[2], r["ensemble/member_probs"][2])
PY
finish
