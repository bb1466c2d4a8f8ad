# The real sbatch scripts on a real (local) SLURM cluster: an ensemble on 2
# ranks, a spiking network on 2 ranks, a sweep as a job array merged by collect, and a job that receives
# SIGUSR1, checkpoints, requeues itself and completes with the same weights
# as an uninterrupted run.
. tests/integration/common.inc
trap cluster_stop EXIT
. tests/slurm/cluster.inc
cluster_start || { echo "SLURM could not be started: test failed"; exit 1; }
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 400 100
small="data.dir=$ds model.arch=conv3x3:4,maxpool2,dense:16,dense:10 train.epochs=2 train.batch=32"

# Ensemble on 2 ranks.
id=$(sbatch --parsable -o "$TMP/%x-%A_%a.out" slurm/ensemble.sbatch jobs/cnn_ensemble.ini $small \
     ensemble.members=model*2 job.output="$TMP/ens.h5") || fail "sbatch ensemble"
state=$(wait_job "$id")
echo "ensemble job $id: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat "$TMP"/sb-ensemble-*.out; fail "ensemble job ended $state"; }
grep -q "ensemble, mean probability" "$TMP"/sb-ensemble-"$id"_*.out || fail "no ensemble table in the log"
grep -q "2 ranks x 1 threads" "$TMP"/sb-ensemble-"$id"_*.out || fail "the log does not show 2 ranks"
[ -f "$TMP/ens.h5" ] || fail "no ensemble result file"

# A spiking network on 2 ranks: Brian2's spike times.
id=$(sbatch --parsable -o "$TMP/%x-%A_%a.out" slurm/simulate.sbatch tests/data/snn/two_pops.ini \
     job.output="$TMP/sim.h5") || fail "sbatch simulate"
state=$(wait_job "$id")
echo "simulate job $id: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat "$TMP"/sb-simulate-*.out; fail "simulate job ended $state"; }
grep -q "2 ranks x 1 threads" "$TMP"/sb-simulate-"$id"_*.out || fail "the simulate log does not show 2 ranks"
$PY tests/integration/same_spikes.py "$TMP/sim.h5" --reference tests/data/snn/two_pops_brian2.txt \
    || fail "simulate under SLURM differs from Brian2's spike times"

# Diehl & Cook on 2 ranks (the smoke job on the synthetic digits).
id=$(sbatch --parsable -o "$TMP/%x-%A_%a.out" slurm/stdp-mnist.sbatch jobs/stdp_mnist_smoke.ini \
     data.dir="$ds" data.train=200 data.test=50 job.output="$TMP/dc.h5") || fail "sbatch stdp-mnist"
state=$(wait_job "$id")
echo "stdp-mnist job $id: $state"
[ "$state" = "COMPLETED 0:0" ] || { cat "$TMP"/sb-stdp-mnist-*.out; fail "stdp-mnist job ended $state"; }
grep -q "stdp-mnist: test accuracy" "$TMP"/sb-stdp-mnist-"$id"_*.out || fail "no accuracy in the stdp-mnist log"
[ -f "$TMP/dc.h5" ] || fail "no stdp-mnist result file"

# A sweep as a job array, then collect.
sweep="jobs/sweep_cnn_lr.ini $small train.epochs=1 sweep.train.lr=0.01,0.1 sweep.train.batch=16,32 job.output=$TMP/sw.h5"
n=$($SB sweep-size $sweep)
id=$(sbatch --parsable --array=0-$((n - 1)) -o "$TMP/%x-%A_%a.out" slurm/sweep-array.sbatch $sweep) || fail "sbatch array"
wait_job "$id" > /dev/null
for p in $(seq 0 $((n - 1))); do [ -f "$TMP/sw_p000$p.h5" ] || fail "array task $p wrote nothing"; done
$SB collect "$TMP/sw.h5" "$TMP"/sw_p*.h5 > "$TMP/collect" 2>&1 || { cat "$TMP/collect"; fail "collect"; }
[ "$(wc -l < "$TMP/sw.csv")" = $((n + 1)) ] || fail "the collected table does not have $n rows"
echo "array of $n points collected"

# SIGUSR1 to a running job: checkpoint, requeue, resume, same weights.
long="$small train.epochs=8 model.arch=conv3x3:16,maxpool2,conv3x3:16,maxpool2,dense:64,dense:10"
$SB run jobs/cnn_single.ini $long job.output="$TMP/ref.h5" > "$TMP/ref.log" 2>&1 || { cat "$TMP/ref.log"; fail "reference run"; }
# Same threads as the reference run: weights are bit-identical only then.
id=$(sbatch --parsable --cpus-per-task=1 -o "$TMP/%x-%A_%a.out" slurm/train.sbatch jobs/cnn_single.ini $long job.output="$TMP/sig.h5") || fail "sbatch train"
for i in $(seq 300); do [ -f "$TMP/sig.h5.ckpt/member_0000.h5" ] && break; sleep 0.1; done
scancel --signal=USR1 --batch "$id"
# SLURM holds a requeued job back for a while (BeginTime); a test need not wait.
for i in $(seq 300); do
    grep -q "requeueing" "$TMP"/sb-train-"$id"_*.out 2> /dev/null && break
    sleep 0.1
done
for i in $(seq 50); do
    squeue -h -j "$id" -o %r 2> /dev/null | grep -q BeginTime && { scontrol update JobId="$id" StartTime=now; break; }
    sleep 0.1
done
state=$(wait_job "$id")
log=$(ls "$TMP"/sb-train-"$id"_*.out)
cat "$log"
grep -q "checkpointed; requeueing" "$log" || fail "the job did not checkpoint and requeue"
grep -q "resuming from" "$log" || fail "the requeued job did not resume"
[ "$state" = "COMPLETED 0:0" ] || fail "the requeued job ended $state"
layers=$($PY -c "
import h5py
with h5py.File('$TMP/ref.h5') as f:
    f['model/layers'].visititems(lambda n, o: print('/model/layers/' + n) if isinstance(o, h5py.Dataset) else None)")
$PY tests/integration/same_datasets.py "$TMP/ref.h5" "$TMP/sig.h5" $layers /test/probs \
    || fail "interrupted-and-requeued weights differ from the uninterrupted run"
finish
