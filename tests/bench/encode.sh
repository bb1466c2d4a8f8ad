#!/bin/sh
# Benchmark of task encode on the whole MNIST test set (10 000 images, all
# three encoders): wall time of the encoding and writing phases for 1 and 2
# ranks, median and range over REPEATS runs, with host, commit and date.
set -eu
REPEATS=${REPEATS:-5}
export OMP_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "bench encode: host $(hostname), $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "bench encode: commit $(git describe --always --dirty 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ), $REPEATS runs each"
printf '%-6s %-24s %-24s %-10s %s\n' ranks "encode s (median, range)" "write s (median, range)" "images/s" "spikes"
for np in 1 2; do
    : > "$out/times"
    for r in $(seq "$REPEATS"); do
        mpirun -np $np bin/spikebridge run jobs/quickstart.ini data.test=0 job.output="$out/b.h5" > "$out/log" 2>&1 \
            || { cat "$out/log"; exit 1; }
        sed -n 's/^encode: \([0-9.]*\) s encoding, \([0-9.]*\) s writing.*/\1 \2/p' "$out/log" >> "$out/times"
    done
    spikes=$(awk '$1 ~ /^(poisson|latency|integrate)$/ {s += $3} END {print s}' "$out/log")
    med() { sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); printf "%.3f (%.3f-%.3f)", v[m], v[1], v[NR] }'; }
    enc=$(cut -d' ' -f1 "$out/times" | med)
    wr=$(cut -d' ' -f2 "$out/times" | med)
    rate=$(cut -d' ' -f1 "$out/times" | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", 30000 / v[int((NR + 1) / 2)] }')
    printf '%-6d %-24s %-24s %-10s %s\n' $np "$enc" "$wr" "$rate" "$spikes"
done
echo "(images/s counts each image once per encoder: 3 x 10000 encodings)"
