# Bad input gives one clear error line, a non-zero exit and no output file,
# also when two ranks hit it at once.
. tests/integration/common.inc
# The sanitizer build: bad input must not touch memory it should not.
SB=bin/spikebridge-san
ds=$TMP/ds
$PY tests/integration/make_dataset.py "$ds" 10 20
out=$TMP/out.h5
job="jobs/quickstart.ini data.dir=$ds data.test=20 job.output=$out"

# A truncated IDX file.
mkdir "$TMP/bad"
cp "$ds"/* "$TMP/bad/"
head -c 5000 "$ds/t10k-images-idx3-ubyte" > "$TMP/bad/t10k-images-idx3-ubyte"
expect_error 1 "t10k-images-idx3-ubyte" "$out" mpirun -np 2 $SB run $job data.dir="$TMP/bad"

# An unknown key in a job file: file and line are named.
sed 's/^max_rate .*/max_rat = 10/' jobs/quickstart.ini > "$TMP/typo.ini"
line=$(grep -n '^max_rat ' "$TMP/typo.ini" | cut -d: -f1)
expect_error 1 "typo.ini:$line: .*max_rat.*max_rate" "$out" mpirun -np 2 $SB run "$TMP/typo.ini" data.dir="$ds" job.output="$out"

# An impossible value on the command line.
expect_error 1 "encode.max_rate=-5" "$out" mpirun -np 2 $SB run $job encode.max_rate=-5
# Values wrong together.
expect_error 1 "max_rate" "$out" mpirun -np 2 $SB run $job encode.max_rate=5000 encode.dt=1
# More images than the dataset holds.
expect_error 1 "holds only 20" "$out" mpirun -np 2 $SB run $job data.test=21
# An unknown section, a missing job file, a malformed override.
printf '[job]\ntask = encode\n[encod]\nx = 1\n' > "$TMP/sec.ini"
expect_error 1 "sec.ini:3:.*encod.*encode" "$out" $SB validate "$TMP/sec.ini"
expect_error 1 "nonexistent.ini" "$out" $SB run "$TMP/nonexistent.ini"
expect_error 1 "expected section.key=value" "$out" $SB validate $job foo
# A task that this version does not have.
expect_error 1 "job.task=classify: not one of" "$out" $SB validate $job job.task=classify
# Usage errors exit 2.
rc=0; $SB frobnicate > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown command exits $rc, wanted 2"
# A valid job validates, and writes nothing.
$SB validate $job > "$TMP/v" 2>&1 || { cat "$TMP/v"; fail "validate of a good job"; }
[ ! -e "$out" ] || fail "validate wrote $out"
finish
