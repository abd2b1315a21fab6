#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer and AddressSanitizer, makes a seed corpus of real images, and
# runs each target for FUZZ_SECONDS (default 60). Crashing inputs land in FailCases/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/env.sh"   # Swift on PATH (it moves to the package root)
cd "$here"
for target in FuzzRead FuzzCheck; do
  swift build -c debug --product "$target" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
done
bin=$(swift build -c debug --show-bin-path)
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
tree=$(mktemp -d)
mkdir -p "$tree/d/e" && seq 1 3000 > "$tree/d/seq" && ln -s d/seq "$tree/l" && echo x > "$tree/d/e/f"
head -c 9000 /dev/zero > "$tree/zeros" && mkfifo "$tree/p"
for args in "" "-N big" "-p" "-z" "-b 16384"; do
  /usr/sbin/mkfs.cramfs $args "$tree" "$corpus/mkfs$(echo "$args" | tr -d ' -')" >/dev/null 2>&1
done
../.build/debug/cramfs make -q --xip '/d/*' "$tree" "$corpus/xip" 2>/dev/null || true
rm -rf "$tree"
mkdir -p FailCases
for target in FuzzRead FuzzCheck; do
  "$bin/$target" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=65536 -timeout=10 \
    -artifact_prefix=FailCases/ "$corpus" 2>&1 | tail -n 3
done
