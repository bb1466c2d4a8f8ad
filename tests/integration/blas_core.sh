# When OpenBLAS picks its pre-AVX2 kernels on a CPU with AVX-512 or AVX2
# (Debian's 0.3.21 on recent Xeons), `spikebridge run` restarts itself with
# OPENBLAS_CORETYPE set, on every rank, and says so once; a user's own
# setting is left alone. OpenBLAS's choice is faked with a preloaded
# openblas_get_corename that says "Prescott".
. tests/integration/common.inc
printf 'char *openblas_get_corename(void) { return "Prescott"; }\n' > "$TMP/fake.c"
cc -shared -fPIC -o "$TMP/prescott.so" "$TMP/fake.c"
want=""
grep -qw avx2 /proc/cpuinfo && want=Haswell
grep -qw avx512f /proc/cpuinfo && want=SkylakeX
echo "CPU wants: ${want:-no change}"

ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 200 50
job="jobs/cnn_single.ini data.dir=$ds model.arch=conv3x3:8,maxpool2,dense:10 train.epochs=1 train.batch=32"

# Restarted: one line from rank 0 of 2, and the job finishes.
env -u OPENBLAS_CORETYPE LD_PRELOAD="$TMP/prescott.so" mpirun -np 2 -x LD_PRELOAD \
    $SB run $job job.output="$TMP/restarted.h5" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "restarted run"; }
n=$(grep -c "OpenBLAS chose its Prescott kernels.*restarted with OPENBLAS_CORETYPE=$want" "$TMP/log" || true)
if [ -n "$want" ]; then
    [ "$n" = 1 ] || { cat "$TMP/log"; fail "$n restart lines (wanted 1)"; }
else
    grep -q "OpenBLAS" "$TMP/log" && fail "restarted on a CPU without AVX2"
fi

# The user's choice stands: no restart, and the same weights as the restarted run.
OPENBLAS_CORETYPE=${want:-Prescott} LD_PRELOAD="$TMP/prescott.so" mpirun -np 2 -x LD_PRELOAD -x OPENBLAS_CORETYPE \
    $SB run $job job.output="$TMP/chosen.h5" > "$TMP/log2" 2>&1 || { cat "$TMP/log2"; fail "run with the user's core"; }
grep -q "OpenBLAS" "$TMP/log2" && fail "restarted although OPENBLAS_CORETYPE was set"
if [ -n "$want" ]; then
    $PY - "$TMP/restarted.h5" "$TMP/chosen.h5" <<'PYEOF' || fail "the restarted run's weights differ from a run with the core asked for"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
names = []
a["model"].visititems(lambda k, v: names.append(k) if isinstance(v, h5py.Dataset) else None)
assert names, "no model datasets"
for k in names:
    assert np.array_equal(a["model"][k][()], b["model"][k][()]), k
print(f"same {len(names)} model datasets")
PYEOF
fi

# Other verbs never restart.
LD_PRELOAD="$TMP/prescott.so" $SB validate $job > "$TMP/log3" 2>&1 || fail "validate"
grep -q "OpenBLAS" "$TMP/log3" && fail "validate restarted"
[ "$fails" = 0 ]
