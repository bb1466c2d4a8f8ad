# Task simulate from the command line: spike times identical to Brian2's on
# a small network; the same spikes for 1, 2 and 3 ranks and 1 and 2 threads;
# a run stopped by SIGUSR1 (exit 3, checkpoint) and a run whose rank is
# killed (SIGKILL) both resume and end with the uninterrupted run's spikes;
# malformed network sections give one clear error line and no output.
. tests/integration/common.inc

mpirun -np 2 $SB run tests/data/snn/two_pops.ini job.output="$TMP/tp.h5" > "$TMP/tp.log" 2>&1 \
    || { cat "$TMP/tp.log"; fail "two_pops"; }
$PY tests/integration/same_spikes.py "$TMP/tp.h5" --reference tests/data/snn/two_pops_brian2.txt \
    || fail "two_pops differs from Brian2's spike times"

small="jobs/bench/cuba.ini population.E.n=640 population.I.n=160 projection.EE.p=0.1
       projection.EI.p=0.1 projection.IE.p=0.1 projection.II.p=0.1 simulate.duration=300"
for np in 1 2 3; do
    for th in 1 2; do
        OMP_NUM_THREADS=$th mpirun -np $np $SB run $small job.output="$TMP/s${np}_$th.h5" \
            > "$TMP/s.log" 2>&1 || { cat "$TMP/s.log"; fail "np=$np threads=$th"; }
        if [ "$np$th" != 11 ]; then
            $PY tests/integration/same_spikes.py "$TMP/s1_1.h5" "$TMP/s${np}_$th.h5" > /dev/null \
                || fail "np=$np threads=$th differs from np=1 threads=1"
        fi
    done
done
echo "ok: the same spikes for 1-3 ranks x 1-2 threads ($($PY tests/integration/same_spikes.py "$TMP/s1_1.h5" "$TMP/s3_2.h5"))"

# Long enough to be interrupted: 4000 neurons, 20 s of biological time.
long="jobs/bench/cuba.ini simulate.duration=20000 simulate.checkpoint_every=1000 record.spikes=I"
mpirun -np 2 $SB run $long job.output="$TMP/ref.h5" > "$TMP/ref.log" 2>&1 || { cat "$TMP/ref.log"; fail "reference"; }

# SIGUSR1 to every rank: checkpoint at the next safe point, exit 3
LOG=$TMP/u.log interrupt usr1 "$TMP/u.h5.ckpt/latest" "$TMP/u.h5" mpirun -np 2 $SB run $long job.output="$TMP/u.h5"
[ $rc = 3 ] || { cat "$TMP/u.log"; fail "SIGUSR1: exit $rc, wanted 3"; }
grep -q "stopped at" "$TMP/u.log" || fail "SIGUSR1: no 'stopped at' line"
[ ! -e "$TMP/u.h5" ] || fail "SIGUSR1: a result file appeared"
mpirun -np 2 $SB run $long job.output="$TMP/u.h5" > "$TMP/u2.log" 2>&1 || { cat "$TMP/u2.log"; fail "resume after SIGUSR1"; }
grep -q "resumed from" "$TMP/u2.log" || fail "no resume after SIGUSR1"
$PY tests/integration/same_spikes.py "$TMP/ref.h5" "$TMP/u.h5" || fail "resumed after SIGUSR1: spikes differ"

# SIGKILL one rank: the job ends non-zero without hanging; a rerun resumes
LOG=$TMP/k.log interrupt 1 "$TMP/k.h5.ckpt/latest" "$TMP/k.h5" mpirun -np 2 $SB run $long job.output="$TMP/k.h5"
LOG=$TMP/k.log expect_lost_rank 1 "$TMP/k.h5" SIGKILL
mpirun -np 2 $SB run $long job.output="$TMP/k.h5" > "$TMP/k2.log" 2>&1 || { cat "$TMP/k2.log"; fail "rerun after SIGKILL"; }
grep -q "resumed from" "$TMP/k2.log" || fail "no resume after SIGKILL"
$PY tests/integration/same_spikes.py "$TMP/ref.h5" "$TMP/k.h5" || fail "resumed after SIGKILL: spikes differ"
[ ! -e "$TMP/k.h5.ckpt" ] || fail "the checkpoint was not removed after the result was written"

# malformed network sections
base="tests/data/snn/two_pops.ini job.output=$TMP/bad.h5"
expect_error 1 "post = 'Z' is not a population" "$TMP/bad.h5" mpirun -np 2 $SB run $base projection.AB.post=Z
expect_error 1 "delays must be >= 0" "$TMP/bad.h5" mpirun -np 2 $SB run $base projection.AB.delay=-1
expect_error 1 "shorter than dt" "$TMP/bad.h5" mpirun -np 2 $SB run $base projection.AB.delay=0.05
expect_error 1 "unknown key" "$TMP/bad.h5" mpirun -np 2 $SB run $base population.A.tau=3
expect_error 1 "is not pop:index:var" "$TMP/bad.h5" mpirun -np 2 $SB run $base record.traces=A:0
finish
