# The encode task gives byte-identical spike datasets on 1, 2 and 3 ranks
# and 1 or 2 threads, in the SONATA layout h5py expects; the integrate
# encoder's weights can be read back from a result file.
. tests/integration/common.inc
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 30 50 --gzip
run() { # np threads output [overrides]
    np=$1 th=$2 out=$3
    shift 3
    OMP_NUM_THREADS=$th mpirun -np "$np" $SB run jobs/quickstart.ini data.dir="$ds" data.test=50 \
        job.output="$out" "$@" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "run np=$np threads=$th"; return 0; }
    $PY tests/integration/check_sonata.py "$out" "$np" poisson latency integrate || fail "layout np=$np"
}
run 1 1 "$TMP/np1.h5"
cat "$TMP/log"
run 2 1 "$TMP/np2.h5"
run 3 1 "$TMP/np3.h5"
run 2 2 "$TMP/np2t2.h5"
datasets="/stimulus/labels /stimulus/onsets_ms /stimulus/image_index /encoders/integrate/weights"
for pop in poisson latency integrate; do
    datasets="$datasets /spikes/$pop/node_ids /spikes/$pop/timestamps"
done
same() { $PY tests/integration/same_datasets.py "$@"; }
for other in np2 np3 np2t2; do
    same "$TMP/np1.h5" "$TMP/$other.h5" $datasets || fail "datasets differ between np1 and $other"
    echo "ok: $other identical to np1 ($(echo $datasets | wc -w) datasets)"
done
# Weights from a file reproduce the spikes made with the same weights.
OMP_NUM_THREADS=1 mpirun -np 2 $SB run jobs/quickstart.ini data.dir="$ds" data.test=50 \
    job.output="$TMP/fromfile.h5" encode.encoders=integrate encode.weights_file="$TMP/np1.h5" \
    job.seed=99 > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "run with weights_file"; }
same "$TMP/np1.h5" "$TMP/fromfile.h5" /spikes/integrate/node_ids /spikes/integrate/timestamps \
    || fail "integrate spikes differ with weights from file"
# A different seed changes the Poisson spikes.
OMP_NUM_THREADS=1 mpirun -np 1 $SB run jobs/quickstart.ini data.dir="$ds" data.test=50 \
    job.output="$TMP/seed2.h5" encode.encoders=poisson job.seed=2 > "$TMP/log" 2>&1 || fail "seed 2 run"
if same "$TMP/np1.h5" "$TMP/seed2.h5" /spikes/poisson/timestamps 2> /dev/null; then
    fail "seed does not change the Poisson spikes"
fi
$SB info "$TMP/np1.h5" > "$TMP/info" || fail "info"
grep -q "/spikes/poisson/node_ids  uint64" "$TMP/info" || fail "info lacks the poisson node_ids line"
finish
