#!/usr/bin/env bash
# ACH library benchmark: read+validate the 100,000-entry conformance file and
# a generated 1,000,000-entry file (in memory and streamed from disk), write
# 1,000,000 entries, then the npm peers on the same work: @midlandsbank/node-nacha
# parses the same file, nach2 generates 100,000 entries. Prints the ratios.
# Usage: bench/ach.sh   (builds build/release/ach_bench itself)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/release
mkdir -p "$OUT"
# A dedicated driver over the ACH sources only (they depend on nothing else).
g++ -std=c++20 -O2 -DNDEBUG -Isrc bench/ach_bench.cpp \
  src/payments/ach/{record,codes,validator,reader,writer}.cpp -o "$OUT/ach_bench"
npm ci --prefix bench/ach_peers --silent --no-audit --no-fund >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for gz in tests/conformance/ach/large/*.gz; do gunzip -c "$gz" >"$tmp/$(basename "${gz%.gz}")"; done
large=$(ls "$tmp"/*.ach | head -1)

field() { node -e "console.log(JSON.parse(process.argv[1])[process.argv[2]])" "$1" "$2"; }

echo "== kontor ACH library (one core)"
gen=$("$OUT/ach_bench" generate 1000000 "$tmp/gen-1m.ach"); echo "write 1M entries:        $gen"
m1=$("$OUT/ach_bench" memory "$large");              echo "read+validate 100k (mem): $m1"
s1=$("$OUT/ach_bench" stream "$large");              echo "read+validate 100k (disk): $s1"
m2=$("$OUT/ach_bench" memory "$tmp/gen-1m.ach");     echo "read+validate 1M (mem):   $m2"
s2=$("$OUT/ach_bench" stream "$tmp/gen-1m.ach");     echo "read+validate 1M (disk):  $s2"
for f in "$large" "$tmp/gen-1m.ach"; do
  /usr/bin/time -f "peak RSS streaming $(basename "$f"): %M KB" "$OUT/ach_bench" stream "$f" >/dev/null
done

echo "== npm peers"
p=$(node bench/ach_peers/parse.js "$large");        echo "@midlandsbank/node-nacha parse 100k: $p"
g=$(node bench/ach_peers/generate.js 100000);       echo "nach2 generate 100k:                 $g"

echo "== ratios"
node -e '
const [m, p, gen, g] = process.argv.slice(1).map((s) => JSON.parse(s));
console.log(`read+validate vs node-nacha parse: ${(m.mbps / p.mbps).toFixed(1)}x (${m.mbps.toFixed(0)} vs ${p.mbps.toFixed(1)} MB/s)`);
console.log(`write vs nach2 generate:           ${(gen.eps / g.eps).toFixed(1)}x (${gen.eps.toFixed(0)} vs ${g.eps.toFixed(0)} entries/s)`);
' "$m1" "$p" "$gen" "$g"
