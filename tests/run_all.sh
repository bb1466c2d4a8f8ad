#!/bin/sh
# Runs every test of `make check` and ends with one line: N passed, N failed.
# Counts: each CUnit binary (normal and sanitizer build) is one suite, each
# fuzzer and each integration script one test.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
. tests/env.inc
passed=0
failed=0
failures=""
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run() { # name command...
    name=$1
    shift
    start=$(date +%s)
    if "$@" > "$log/out" 2>&1; then
        passed=$((passed + 1))
        status=ok
    else
        failed=$((failed + 1))
        failures="$failures $name"
        status=FAILED
    fi
    cat "$log/out"
    echo "== $name: $status ($(( $(date +%s) - start )) s)"
    echo
}

for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in
    *_mpi) for np in 1 2 3; do run "$(basename "$t") np=$np" mpirun -np $np "$t"; done ;;
    *) run "$(basename "$t")" "$t" ;;
    esac
done
for t in build/tests-san/test_*; do
    [ -x "$t" ] || continue
    case $t in
    *_mpi) run "asan $(basename "$t") np=3" mpirun -np 3 "$t" ;;
    *) run "asan $(basename "$t")" "$t" ;;
    esac
done
for t in build/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh tests/slurm/*.sh; do
    [ -f "$t" ] || continue
    run "$(basename "$t" .sh)" sh "$t"
done

[ -z "$failures" ] || echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
