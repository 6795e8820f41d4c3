#!/usr/bin/env bash
# Edition personalization benchmark: generates an 18-page ~5 MB newsletter master (text on every
# page, JPEG photos, Flate charts, object and xref streams), then
#   - personalizes N recipients (default 10,000) into a discarding sink (the personalizer alone:
#     patching, encryption, SHA-256; the shared 5 MB are not copied) and through a hotfolder on
#     disk (temp file, rename; no fsync), unencrypted and AES-256 encrypted,
#     deleting each copy right after its rename except every 2,500th, which are checked with
#     qpdf --check and pdftotext and listed in the manifest;
#   - 300 recipients through the hotfolder with an fsync per file (what the disk allows);
#   - 100 recipients with Debian's qpdf: `qpdf master.pdf --overlay wm.pdf --repeat=1 -- out.pdf`,
#     one process per recipient and a one-page watermark PDF each (written beforehand as plain
#     PDF text), with the same number of parallel jobs as personalizer threads, plain and with
#     --encrypt (AES-256);
# and prints PDFs/s, ms per recipient and the ratios.
# Usage: bench/pdf.sh   (PDF_BENCH_N, PDF_BENCH_THREADS, PDF_BENCH_BASELINE_N override)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/release
N=${PDF_BENCH_N:-10000}
THREADS=${PDF_BENCH_THREADS:-2}
BASE_N=${PDF_BENCH_BASELINE_N:-100}
mkdir -p "$OUT"
# A dedicated driver over the documents sources (they depend on core's Status and crypto only).
mapfile -t sources < <(ls src/documents/*.cpp | grep -Ev '_test\.cpp$|_fuzz\.cpp$')
g++ -std=c++20 -O2 -DNDEBUG -DPOINTERHOLDER_TRANSITION=4 -Isrc bench/pdf_bench.cpp \
  "${sources[@]}" src/core/{status,crypto,markup}.cpp -lqpdf -lfmt -lssl -lcrypto -pthread \
  -o "$OUT/pdf_bench"

tmp=$(mktemp -d /tmp/pdf-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
master=$tmp/master.pdf
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
show() {  # label json
  printf '%-34s %6.0f PDFs/s  %7.3f ms/recipient' "$1" "$(field "$2" pdfs_per_s)" \
    "$(field "$2" ms_per_pdf)"
  if [[ $(field "$2" mode) == hotfolder ]]; then printf '  %5.0f MB/s' "$(field "$2" mb_per_s)"; fi
  printf '  (template %s ms, full rewrites %s, peak RSS %s MB)\n' "$(field "$2" create_ms)" \
    "$(field "$2" full_rewrites)" "$(field "$2" peak_rss_mb)"
}
check_kept() {  # dir: every kept copy passes qpdf --check and shows its recipient on pages 1 and 18
  local f id bad=0
  for f in "$1"/cust-*.pdf; do
    id=$(basename "$f" .pdf)
    qpdf --check "$f" >/dev/null 2>&1 || { echo "qpdf --check failed: $f"; bad=1; }
    for p in 1 18; do
      pdftotext -f $p -l $p "$f" - | grep -q "Kd.-Nr. ${id#cust-}" || { echo "no watermark: $f p$p"; bad=1; }
    done
  done
  [[ -s $1/manifest.csv ]] || { echo "no manifest in $1"; bad=1; }
  ((bad == 0)) && echo "  kept copies: $(ls "$1"/cust-*.pdf | wc -l) pass qpdf --check and pdftotext; manifest written"
}

m=$("$OUT/pdf_bench" master "$master")
echo "== master: $(field "$m" pages) pages, $(field "$m" bytes) bytes; $N recipients, $THREADS threads"

mem=$("$OUT/pdf_bench" memory "$master" "$N" "$THREADS")
show "personalizer alone" "$mem"
mem_enc=$("$OUT/pdf_bench" memory "$master" "$N" "$THREADS" enc)
show "personalizer alone, AES-256" "$mem_enc"
hot=$("$OUT/pdf_bench" hotfolder "$master" "$tmp/hot" "$N" "$THREADS" keep=2500)
show "hotfolder, no fsync" "$hot"
check_kept "$tmp/hot"
hot_enc=$("$OUT/pdf_bench" hotfolder "$master" "$tmp/hot-enc" "$N" "$THREADS" enc keep=2500)
show "hotfolder, no fsync, AES-256" "$hot_enc"
check_kept "$tmp/hot-enc"
rm -rf "$tmp/hot" "$tmp/hot-enc"
dur=$("$OUT/pdf_bench" hotfolder "$master" "$tmp/hot-sync" 300 "$THREADS" fsync)
show "hotfolder, fsync per file (300)" "$dur"
rm -rf "$tmp/hot-sync"

echo "== qpdf $(qpdf --version | head -1 | awk '{print $NF}') --overlay, one process per recipient ($BASE_N, $THREADS jobs)"
mkdir -p "$tmp/wm" "$tmp/overlay"
"$OUT/pdf_bench" watermarks "$tmp/wm" "$BASE_N" >/dev/null
# One recipient: overlay page 1 of its watermark on every page, then delete the copy.
cat >"$tmp/overlay.sh" <<'SH'
#!/bin/sh
# overlay.sh MASTER WM_DIR OUT_DIR MODE I
if [ "$4" = enc ]; then
  qpdf "$1" --overlay "$2/wm-$5.pdf" --repeat=1 -- --encrypt "" bench-owner-password 256 \
    --print=full --extract=n --modify=none -- "$3/out-$5.pdf"
else
  qpdf "$1" --overlay "$2/wm-$5.pdf" --repeat=1 -- "$3/out-$5.pdf"
fi
rm "$3/out-$5.pdf"
SH
overlay() {  # plain|enc; prints seconds
  local start end
  start=$(date +%s.%N)
  seq 0 $((BASE_N - 1)) | xargs -P "$THREADS" -I{} sh "$tmp/overlay.sh" "$master" "$tmp/wm" \
    "$tmp/overlay" "$1" {}
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
plain=$(overlay plain)
enc=$(overlay enc)
python3 - "$plain" "$enc" "$BASE_N" "$mem" "$mem_enc" "$hot" "$hot_enc" <<'PY'
import json, sys
plain, enc, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
mem, mem_enc, hot, hot_enc = (json.loads(s) for s in sys.argv[4:8])
q, qe = n / plain, n / enc
print(f"{'qpdf --overlay':34} {q:6.1f} PDFs/s  {1000 / q:7.1f} ms/recipient")
print(f"{'qpdf --overlay --encrypt AES-256':34} {qe:6.1f} PDFs/s  {1000 / qe:7.1f} ms/recipient")
print("== ratios (personalizer / qpdf --overlay)")
print(f"hotfolder, no fsync:          {hot['pdfs_per_s'] / q:7.0f}x")
print(f"hotfolder, no fsync, AES-256: {hot_enc['pdfs_per_s'] / qe:7.0f}x")
print(f"personalizer alone:           {mem['pdfs_per_s'] / q:7.0f}x")
print(f"personalizer alone, AES-256:  {mem_enc['pdfs_per_s'] / qe:7.0f}x")
PY
