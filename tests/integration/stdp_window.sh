# Task stdp-window: the same weight changes on 1, 2 and 3 ranks and on 2
# threads; the pair rule's window has the right signs, time constants and
# amplitudes, the Bengio rule the STDP sign pattern (check_stdp_window.py);
# the figure script runs; impossible windows give one error line.
. tests/integration/common.inc
names="/window/offset_ms /window/dw_pair /window/dw_bengio"
for np in 1 2 3; do
    mpirun -np $np $SB run jobs/stdp_window.ini job.output="$TMP/w$np.h5" > "$TMP/w.log" 2>&1 \
        || { cat "$TMP/w.log"; fail "np=$np"; }
    [ $np = 1 ] && cat "$TMP/w.log"
    [ $np = 1 ] || $PY tests/integration/same_datasets.py "$TMP/w1.h5" "$TMP/w$np.h5" $names \
        || fail "np=$np differs from np=1"
done
OMP_NUM_THREADS=2 mpirun -np 1 $SB run jobs/stdp_window.ini job.output="$TMP/t2.h5" > "$TMP/w.log" 2>&1 \
    || { cat "$TMP/w.log"; fail "2 threads"; }
$PY tests/integration/same_datasets.py "$TMP/w1.h5" "$TMP/t2.h5" $names || fail "2 threads differ from 1"
$PY tests/integration/check_stdp_window.py "$TMP/w1.h5" || fail "window of the default job"
# several pairs per offset add up; a finer, narrower window on 2 ranks
mpirun -np 2 $SB run jobs/stdp_window.ini window.pairs=3 window.from=-40 window.to=60 window.step=0.5 \
    job.output="$TMP/p3.h5" > "$TMP/w.log" 2>&1 || { cat "$TMP/w.log"; fail "pairs=3"; }
$PY tests/integration/check_stdp_window.py "$TMP/p3.h5" || fail "window with 3 pairs"
$PY -c "
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
x1, x3 = a['window/offset_ms'][:], b['window/offset_ms'][:]
both, i1, i3 = np.intersect1d(x1, x3, return_indices=True)
assert both.size > 50, both.size
for name in ('dw_pair', 'dw_bengio'):
    one, three = a['window/' + name][:][i1], b['window/' + name][:][i3]
    err = np.max(np.abs(three - 3 * one)) / np.max(np.abs(one))
    print(name, 'worst |dw(3 pairs) - 3 dw(1 pair)| / max|dw| =', err)
    assert err < 1e-6, name
" "$TMP/w1.h5" "$TMP/p3.h5" || fail "3 pairs are not 3 times one pair"
$PY analysis/stdp_window.py "$TMP/w1.h5" -o "$TMP/fig.png" > "$TMP/fig.log" 2>&1 || { cat "$TMP/fig.log"; fail "analysis/stdp_window.py"; }
[ -s "$TMP/fig.png" ] || fail "no figure"
expect_error 1 "window.from = 10 ms is above window.to = -10 ms" "$TMP/e.h5" \
    mpirun -np 2 $SB run jobs/stdp_window.ini window.from=10 window.to=-10 job.output="$TMP/e.h5"
expect_error 1 "whole multiples of window.dt" "$TMP/e.h5" \
    mpirun -np 2 $SB run jobs/stdp_window.ini window.step=0.25 job.output="$TMP/e.h5"
expect_error 1 "window.interval = 300 ms is too short" "$TMP/e.h5" \
    mpirun -np 2 $SB run jobs/stdp_window.ini window.interval=300 job.output="$TMP/e.h5"
finish
