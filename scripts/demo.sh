#!/usr/bin/env bash
# The main job on the bundled samples. Extended by later stages as commands land.
set -euo pipefail
bin=${1:-.build/release/angio}; samples=${2:-samples}; out=${3:-demo-out}
mkdir -p "$out"
echo "== angio info (first sample)"
first=$(ls "$samples"/*.dcm | head -n 1)
"$bin" info "$first"
