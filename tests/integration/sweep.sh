# Task sweep: grid expansion and --sweep-index mapping, an in-job sweep on
# 2 groups with the collected table, a failing point that is reported
# without losing the others, collect on array-style point files, and an
# in-job sweep stopped by SIGUSR1 that a rerun completes.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 200 50
small="data.dir=$ds model.arch=conv3x3:4,maxpool2,dense:10 train.epochs=1 train.batch=32"
job="jobs/sweep_cnn_lr.ini $small sweep.train.lr=0.01,0.05,0.1 sweep.train.batch=16,32"
n=$($SB sweep-size $job) || fail "sweep-size"
[ "$n" = 6 ] || fail "sweep-size says $n, wanted 6"
# Point 4 of lr (3) x batch (2), first key slowest: lr=0.1, batch=16.
mpirun -np 1 $SB run $job job.output="$TMP/arr.h5" --sweep-index 4 > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "--sweep-index 4"; }
[ -f "$TMP/arr_p0004.h5" ] || fail "point 4 wrote no arr_p0004.h5"
$PY -c "
import h5py
ov = h5py.File('$TMP/arr_p0004.h5')['provenance/overrides'][()].decode()
assert 'train.lr=0.1' in ov and 'train.batch=16' in ov and 'job.task=train' in ov, ov" || fail "point 4 has the wrong values"
expect_error 1 "point 6 does not exist" "$TMP/none_p0006.h5" $SB run $job job.output="$TMP/none.h5" --sweep-index 6
mpirun -np 1 $SB run $job job.output="$TMP/arr.h5" --sweep-index 1 > "$TMP/log" 2>&1 || fail "--sweep-index 1"
$SB collect "$TMP/table.h5" "$TMP/arr_p0004.h5" "$TMP/arr_p0001.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "collect"; }
grep -q "collect: best" "$TMP/log" || fail "collect names no best point"
[ "$(wc -l < "$TMP/table.csv")" = 3 ] || fail "collect's CSV does not have a header and 2 rows"
# In one job: 2 groups of 1 rank, all 6 points, then the table.
mpirun -np 2 $SB run $job job.output="$TMP/in.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "in-job sweep"; }
for p in 0 1 2 3 4 5; do [ -f "$TMP/in_p000$p.h5" ] || fail "in-job point $p missing"; done
[ "$(wc -l < "$TMP/in.csv")" = 7 ] || fail "in-job table does not have 6 rows"
$PY analysis/sweep_plot.py "$TMP/in.h5" -o "$TMP/in.png" || fail "sweep_plot"
[ -s "$TMP/in.png" ] || fail "sweep_plot wrote no figure"
# Points that fail at run time (more test images than the dataset has) are
# named; the others finish and are collected.
rc=0
mpirun -np 2 $SB run $job sweep.train.batch=16 sweep.data.test=50,100 job.output="$TMP/bad.h5" > "$TMP/log" 2>&1 || rc=$?
[ $rc != 0 ] || fail "a sweep with failing points exits 0"
grep -q "sweep point 1 failed" "$TMP/log" || { cat "$TMP/log"; fail "the failing point is not named"; }
grep -q "3 of 6 points failed" "$TMP/log" || fail "the failure count is not reported"
[ -f "$TMP/bad_p0000.h5" ] && [ -f "$TMP/bad.csv" ] || fail "finished points were lost"
[ "$(wc -l < "$TMP/bad.csv")" = 4 ] || fail "the table of the finished points does not have 3 rows"
# SIGUSR1 in the middle of an in-job sweep: exit 3 with the points under way
# checkpointed; the rerun skips the finished points, resumes the others and
# ends with the uninterrupted sweep's results.
long="data.dir=$ds model.arch=conv3x3:16,conv3x3:16,maxpool2,dense:10 train.epochs=4 train.batch=16"
ljob="jobs/sweep_cnn_lr.ini $long sweep.train.lr=0.01,0.05 sweep.train.batch=16,32"
mpirun -np 2 $SB run $ljob job.output="$TMP/lr.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "reference sweep"; }
LOG=$TMP/s.log interrupt usr1 "$TMP/ls_p0000.h5.ckpt/member_0000.h5" "$TMP/ls.h5" mpirun -np 2 $SB run $ljob job.output="$TMP/ls.h5"
[ $rc = 3 ] || { cat "$TMP/s.log"; fail "stopped sweep: exit $rc, wanted 3"; }
grep -q "stopped by a signal at a safe point" "$TMP/s.log" || { cat "$TMP/s.log"; fail "stopped sweep: no message"; }
[ ! -e "$TMP/ls.h5" ] || fail "stopped sweep: a table appeared"
mpirun -np 2 $SB run $ljob job.output="$TMP/ls.h5" > "$TMP/s2.log" 2>&1 || { cat "$TMP/s2.log"; fail "resumed sweep"; }
grep -q "resuming from" "$TMP/s2.log" || { cat "$TMP/s2.log"; fail "resumed sweep: no point resumed"; }
for p in 0 1 2 3; do
    $PY tests/integration/same_datasets.py "$TMP/lr_p000$p.h5" "$TMP/ls_p000$p.h5" /test/probs /metrics/loss \
        || fail "resumed sweep: point $p differs"
done
finish
