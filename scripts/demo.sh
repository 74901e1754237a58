#!/usr/bin/env bash
# `make demo`: the main job on the bundled samples, as a user would run it.
#   1. angio analyze  samples/ -> per-run JSON + annotated PNG, summary.csv, index.html
#   2. angio compare  the below-the-knee pre/post dilation pair -> acute gain
#   3. angio qa       archive QA of samples/
set -euo pipefail
bin=${1:-.build/release/angio}; samples=${2:-samples}; out=${3:-demo-out}
mkdir -p "$out"

echo "== angio analyze $samples --out $out/analysis"
"$bin" analyze "$samples" --out "$out/analysis"
echo
echo "-- $out/analysis/summary.csv"
cut -d, -f1,2,5,8,11,13,15,17 "$out/analysis/summary.csv" | column -t -s, || cat "$out/analysis/summary.csv"

echo
echo "== angio compare (below-the-knee artery before/after balloon dilation)"
"$bin" compare "$samples/btk_pre.dcm" "$samples/btk_post.dcm" --out "$out/compare"

echo
echo "== angio qa $samples --out $out/qa"
"$bin" qa "$samples" --out "$out/qa" || true

echo
echo "Open $out/analysis/index.html in a browser; annotated PNGs are beside each JSON."
