#!/usr/bin/env bash
# Regenerates samples/ with the project's own phantom generator (deterministic seeds).
set -euo pipefail
bin=${1:-.build/release/angio}; dir=${2:-samples}
mkdir -p "$dir"
echo "samples: phantom generator not yet available" >&2
