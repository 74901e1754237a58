#!/usr/bin/env bash
# make bench: every benchmark, each timing angio against its peers in the same run and
# printing the ratio. Not a test: nothing here fails the build on a slow machine.
set -uo pipefail
cd "$(dirname "$0")/.."
for part in scripts/bench-decode.sh scripts/bench-vesselness.sh scripts/bench-batch.sh; do
  if [ -x "$part" ]; then echo "=== $part"; "$part" || echo "($part failed with $?)"; fi
done
