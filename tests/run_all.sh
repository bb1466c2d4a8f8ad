#!/bin/sh
# Runs every test of `make check` and ends with one line: N passed, N failed.
# Counts: each CUnit binary (normal and sanitizer build) is one suite, each
# fuzzer and each integration script one test.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_orte_execute_quiet=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# ranks poll for messages; yielding the core while they wait keeps 3 ranks on 2 cores (or beside
# another job) from waiting a scheduler slice per exchange
export OMPI_MCA_mpi_yield_when_idle=1
# Open MPI's own allocations are not ours to fix; everything else must be
# clean. Suppressions match only with full stacks (slow unwinding) and with
# Open MPI's plugins kept loaded until exit (otherwise "unknown module").
# intercept_tls_get_addr=0: GCC <= 13's runtime mistakes a dynamic TLS block at
# 16 mod 4096 for one behind a pre-2.25 glibc header, reads a bogus range from it,
# and LeakSanitizer's tracer dies at exit ("Tracer caught signal 11"): a flake
# that hangs on where malloc lands, hit through Open MPI's plugins' TLS.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:intercept_tls_get_addr=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0}
export OMPI_MCA_mca_base_component_disable_dlclose=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
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
