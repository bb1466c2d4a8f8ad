#!/bin/sh
# make bench-ann: images/s of SpikeBridge and PyTorch on the same models,
# batch and threads, in the same run, with the ratio and GFLOP/s.
set -eu
SECONDS_EACH=${SECONDS_EACH:-6}
BATCH=${BATCH:-128}
echo "bench ann: host $(hostname), $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "bench ann: commit $(git describe --always --dirty 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ), batch $BATCH, ${SECONDS_EACH} s per measurement, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && torch=1
[ $torch = 1 ] || echo "bench ann: python3-torch is not installed: SpikeBridge numbers only"
printf '%-10s %-7s %-6s %12s %9s %8s %12s %8s %9s %9s\n' model mode threads "SB images/s" "SB GFLOP/s" "% peak" "torch img/s" "SB/torch" "SB MiB" "torch MiB"
for model in cnn-vgg-s lstm-rows; do
    for th in 1 2; do
        sb=$(OMP_NUM_THREADS=$th build/bench/ann_bench "$model" "$BATCH" "$SECONDS_EACH")
        tt=""
        [ $torch = 1 ] && tt=$(OMP_NUM_THREADS=$th /usr/bin/python3 tests/bench/ann_bench_torch.py "$model" "$BATCH" "$SECONDS_EACH" "$th")
        for mode in train infer; do
            s=$(echo "$sb" | awk -v m=$mode '$1 == m {print $2}')
            g=$(echo "$sb" | awk -v m=$mode '$1 == m {print $3}')
            t=$(echo "$tt" | awk -v m=$mode '$1 == m {print $2}')
            r=$( [ -n "$t" ] && awk -v a="$s" -v b="$t" 'BEGIN {printf "%.2f", a / b}' || echo "-")
            peak=$(echo "$sb" | awk '$1 == "peak" {print $2}')
            pct=$(awk -v a="$g" -v b="$peak" 'BEGIN {printf "%.0f", 100 * a / b}')
            rs=$(echo "$sb" | awk '$1 == "rss" {printf "%.0f", $2 / 1024}')
            rt=$(echo "$tt" | awk '$1 == "rss" {printf "%.0f", $2 / 1024}')
            printf '%-10s %-7s %-6s %12s %9s %8s %12s %8s %9s %9s\n' "$model" "$mode" "$th" "$s" "$g" "$pct" "${t:--}" "$r" "$rs" "${rt:--}"
        done
    done
done
echo "% peak: SpikeBridge GFLOP/s over OpenBLAS sgemm 1024^3 on the same threads; MiB: peak RSS of each process"
