# Sourced by the integration tests: MPI environment, a temp dir, helpers.
set -eu
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_orte_execute_quiet=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PY=/usr/bin/python3
SB=bin/spikebridge
TMP=$(mktemp -d /tmp/sbit.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# Runs a command expected to fail: exit status must be $1 (non-zero), stderr
# exactly one line containing $2, and no file $3 nor $3.part afterwards.
expect_error() {
    want_rc=$1 pattern=$2 out=$3
    shift 3
    rc=0
    "$@" > "$TMP/stdout" 2> "$TMP/stderr" || rc=$?
    lines=$(wc -l < "$TMP/stderr")
    if [ "$rc" != "$want_rc" ]; then fail "exit $rc (wanted $want_rc): $*"; fi
    if [ "$lines" != 1 ]; then fail "$lines stderr lines (wanted 1): $*"; cat "$TMP/stderr" >&2; fi
    grep -q -- "$pattern" "$TMP/stderr" || fail "stderr lacks '$pattern': $(cat "$TMP/stderr")"
    if [ -e "$out" ] || [ -e "$out.part" ]; then fail "output left behind: $out"; fi
    echo "ok: $(cat "$TMP/stderr")"
}

finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails check(s) failed"
        exit 1
    fi
    echo "all checks passed"
}
