#!/bin/sh
# make bench-ann: images/s of SpikeBridge and PyTorch on the same models,
# batch and threads, in the same run, with the ratio and GFLOP/s.
# Each configuration is measured REPEATS times, SpikeBridge and PyTorch
# alternating, so that a slow spell of a shared machine hits both sides of
# a pair; the table shows medians, the median of the pairs' ratios and
# their range.
set -eu
SECONDS_EACH=${SECONDS_EACH:-6}
BATCH=${BATCH:-128}
REPEATS=${REPEATS:-3}
echo "bench ann: host $(hostname), $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "bench ann: commit $(git describe --always --dirty 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ), batch $BATCH, ${SECONDS_EACH} s per measurement, $REPEATS alternating pairs, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && torch=1
[ $torch = 1 ] || echo "bench ann: python3-torch is not installed: SpikeBridge numbers only"
printf '%-10s %-7s %-6s %12s %9s %8s %12s %8s %11s %8s %9s\n' model mode threads "SB images/s" "SB GFLOP/s" "% peak" "torch img/s" "SB/torch" "range" "SB MiB" "torch MiB"
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for model in cnn-vgg-s lstm-rows; do
    for th in 1 2; do
        sbs="" tts=""
        r=0
        while [ $r -lt "$REPEATS" ]; do
            sbs="$sbs$(OMP_NUM_THREADS=$th build/bench/ann_bench "$model" "$BATCH" "$SECONDS_EACH" | sed "s/^/$r /")
"
            [ $torch = 1 ] && tts="$tts$(OMP_NUM_THREADS=$th /usr/bin/python3 tests/bench/ann_bench_torch.py "$model" "$BATCH" "$SECONDS_EACH" "$th" | sed "s/^/$r /")
"
            r=$((r + 1))
        done
        for mode in train infer; do
            s=$(echo "$sbs" | awk -v m=$mode '$2 == m {print $3}' | median)
            g=$(echo "$sbs" | awk -v m=$mode '$2 == m {print $4}' | median)
            t=$(echo "$tts" | awk -v m=$mode '$2 == m {print $3}' | median)
            ratios=$(printf '%s\n%s\n' "$sbs" "$tts" | awk -v m=$mode '$2 == m {if ($1 in a) print a[$1] / $3; else a[$1] = $3}')
            r=$( [ -n "$t" ] && echo "$ratios" | median | awk '{printf "%.2f", $1}' || echo "-")
            range=$( [ -n "$t" ] && echo "$ratios" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}' || echo "-")
            peak=$(echo "$sbs" | awk '$2 == "peak" {print $3}' | median)
            pct=$(awk -v a="$g" -v b="$peak" 'BEGIN {printf "%.0f", 100 * a / b}')
            rs=$(echo "$sbs" | awk '$2 == "rss" {print $3}' | sort -g | tail -1 | awk '{printf "%.0f", $1 / 1024}')
            rt=$(echo "$tts" | awk '$2 == "rss" {print $3}' | sort -g | tail -1 | awk '{printf "%.0f", $1 / 1024}')
            printf '%-10s %-7s %-6s %12s %9s %8s %12s %8s %11s %8s %9s\n' "$model" "$mode" "$th" "$s" "$g" "$pct" "${t:--}" "$r" "$range" "$rs" "${rt:--}"
        done
    done
done
echo "medians over the pairs; range: lowest and highest SB/torch of a pair; % peak: SpikeBridge GFLOP/s over OpenBLAS sgemm 1024^3 on the same threads; MiB: the largest peak RSS of each side"
