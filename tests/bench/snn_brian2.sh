#!/bin/bash
# Brian2 reference numbers for the Vogels-Abbott benchmark networks: runs
# tests/bench/snn_brian2.py over net {cuba,coba} x conn {prob,indegree} x
# MODES x N_LIST and prints its lines (result lines start with "brian2 ",
# everything else on stdout starts with "#"; Brian2/compiler chatter goes to
# stderr).
#   N_LIST                    sizes (default "4000 16000 64000")
#   MODES                     default "standalone runtime"
#   BRIAN_SKIP_LARGE_RUNTIME  1: skip runtime mode for N > 16000
#   SEED                      default 1;  DURATION_MS  default 1000
#   BRIAN_MAKE_JOBS           make -j for the standalone compile (default 1)
#   PYTHON                    default /usr/bin/python3 (Debian python3-brian)
# Standalone projects are built in a fresh mktemp -d directory per run, removed
# afterwards (done by snn_brian2.py); nothing is written in the repository.
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
N_LIST=${N_LIST:-"4000 16000 64000"}
MODES=${MODES:-"standalone runtime"}
SEED=${SEED:-1}
DURATION_MS=${DURATION_MS:-1000}
here=$(cd "$(dirname "$0")" && pwd)

if ! "$PYTHON" -c 'import brian2' >/dev/null 2>&1; then
    echo "# brian2 not installed: skipped"
    exit 0
fi
echo "# brian2 $("$PYTHON" -c 'import warnings; warnings.simplefilter("ignore"); import brian2; print(brian2.__version__)' 2>/dev/null) on $(hostname), $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), seed $SEED, ${DURATION_MS} ms"
fail=0
for n in $N_LIST; do
    for mode in $MODES; do
        if [ "$mode" = runtime ] && [ "${BRIAN_SKIP_LARGE_RUNTIME:-0}" = 1 ] && [ "$n" -gt 16000 ]; then
            echo "# skipped: runtime n=$n (BRIAN_SKIP_LARGE_RUNTIME=1)"
            continue
        fi
        for net in cuba coba; do
            for conn in prob indegree; do
                if ! "$PYTHON" "$here/snn_brian2.py" --net "$net" --n "$n" --conn "$conn" \
                        --mode "$mode" --duration-ms "$DURATION_MS" --seed "$SEED"; then
                    echo "# failed: mode=$mode net=$net conn=$conn n=$n"
                    fail=1
                fi
            done
        done
    done
done
exit $fail
