# A rank killed with SIGKILL in the middle of an ensemble and of a train
# (the simulate case is in simulate.sh): the job ends
# non-zero within a bound (no hang) with a message, no file under a final
# name is corrupt, and a rerun resumes from the checkpoints and ends with
# results identical to an uninterrupted run.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 600 100
job="jobs/cnn_ensemble.ini data.dir=$ds model.arch=conv3x3:16,maxpool2,conv3x3:16,maxpool2,dense:64,dense:10 ensemble.members=model*2 train.epochs=6 train.batch=32"
mpirun -np 2 $SB run $job job.output="$TMP/ref.h5" > "$TMP/ref.log" 2>&1 || { cat "$TMP/ref.log"; fail "reference run"; }
# mpirun's own report of a lost rank is what the user sees here (our ranks
# are killed before they can say anything), so it is not silenced this once.
LOG=$TMP/k.log interrupt 1 "$TMP/k.h5.ckpt/member_0001.h5" "$TMP/k.h5" mpirun -np 2 $SB run $job job.output="$TMP/k.h5"
LOG=$TMP/k.log expect_lost_rank 1 "$TMP/k.h5" ensemble
for c in "$TMP"/k.h5.ckpt/*.h5; do
    $PY -c "import h5py, sys; h5py.File(sys.argv[1])['params'][:]" "$c" || fail "checkpoint $c is corrupt"
done
mpirun -np 2 $SB run $job job.output="$TMP/k.h5" > "$TMP/k2.log" 2>&1 || { cat "$TMP/k2.log"; fail "rerun"; }
grep -q "resuming from" "$TMP/k2.log" || fail "the rerun did not resume"
names=$($PY -c "
import h5py
with h5py.File('$TMP/ref.h5') as f:
    f['members'].visititems(lambda n, o: print('/members/' + n) if isinstance(o, h5py.Dataset) and '/metrics/' not in '/' + n else None)")
$PY tests/integration/same_datasets.py "$TMP/ref.h5" "$TMP/k.h5" $names /ensemble/mean_probs \
    || fail "resumed results differ from the uninterrupted run"

# train on 2 ranks: rank 0 trains, rank 1 waits; kill the one that trains
tjob="jobs/cnn_single.ini data.dir=$ds model.arch=conv3x3:16,maxpool2,conv3x3:16,maxpool2,dense:64,dense:10 train.epochs=6 train.batch=32"
$SB run $tjob job.output="$TMP/tref.h5" > "$TMP/tref.log" 2>&1 || { cat "$TMP/tref.log"; fail "train reference run"; }
LOG=$TMP/t.log interrupt 0 "$TMP/t.h5.ckpt/member_0000.h5" "$TMP/t.h5" mpirun -np 2 $SB run $tjob job.output="$TMP/t.h5"
LOG=$TMP/t.log expect_lost_rank 0 "$TMP/t.h5" train
$PY -c "import h5py, sys; h5py.File(sys.argv[1])['params'][:]" "$TMP/t.h5.ckpt/member_0000.h5" || fail "train: checkpoint corrupt"
mpirun -np 2 $SB run $tjob job.output="$TMP/t.h5" > "$TMP/t2.log" 2>&1 || { cat "$TMP/t2.log"; fail "train rerun"; }
grep -q "resuming from" "$TMP/t2.log" || fail "train: the rerun did not resume"
layers=$($PY -c "
import h5py
with h5py.File('$TMP/tref.h5') as f:
    f['model/layers'].visititems(lambda n, o: print('/model/layers/' + n) if isinstance(o, h5py.Dataset) else None)")
$PY tests/integration/same_datasets.py "$TMP/tref.h5" "$TMP/t.h5" $layers /test/probs \
    || fail "train: resumed weights differ from the uninterrupted run"
finish
