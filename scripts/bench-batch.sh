#!/usr/bin/env bash
# Batch benchmark: a folder of 40 generated 30-frame 512x512 runs (made once with
# `angio phantom`, cached in bench-out/batch-40), analysed by `angio-bench batch` with 1 and 2
# jobs. Prints files/s for each, the speed-up, and the per-stage time split.
# Not a test: nothing here fails on a slow machine. Usage: scripts/bench-batch.sh [COUNT] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-40}; repeat=${2:-1}
dir=bench-out/batch-$count
scratch=${ANGIO_SCRATCH:-.build}   # e.g. ANGIO_SCRATCH=.build-batch to keep a private build folder
swift build -c release --scratch-path "$scratch" --product angio >/dev/null
swift build -c release --scratch-path "$scratch" --product angio-bench >/dev/null
bin=$scratch/release/angio; bench=$scratch/release/angio-bench

if [ ! -f "$dir/.complete" ]; then
  echo "generating $count phantom runs (512x512, 30 frames) in $dir ..."
  mkdir -p "$dir"
  for i in $(seq 1 "$count"); do
    # Varied but reproducible: seed, stenosis, anatomy and calibration differ across runs.
    anatomy=coronary; [ $((i % 4)) -eq 0 ] && anatomy=peripheral
    calibration=imager-magnification; [ $((i % 5)) -eq 0 ] && calibration=pixel-spacing
    "$bin" phantom --seed "$i" --size 512 --frames 30 --stenosis $((30 + (i * 7) % 50)) --anatomy "$anatomy" \
      --calibration "$calibration" --out "$dir/run$(printf %03d "$i").dcm" >/dev/null 2>&1 || echo "phantom $i failed" >&2
  done
  touch "$dir/.complete"
fi

echo "machine: $(nproc) cores, $(uname -m); files: $(ls "$dir"/*.dcm | wc -l) x 512x512x30"
one=$("$bench" batch --dir "$dir" --jobs 1 --repeat "$repeat" || true)
two=$("$bench" batch --dir "$dir" --jobs 2 --repeat "$repeat" || true)
echo "jobs=1: $one"
echo "jobs=2: $two"
python3 - "$one" "$two" <<'PY'
import json, sys
one, two = (json.loads(s) for s in sys.argv[1:3])
print(f"files/s: 1 job {one['filesPerSecond']:.3f}, 2 jobs {two['filesPerSecond']:.3f}, "
      f"speed-up {two['filesPerSecond'] / one['filesPerSecond']:.2f}x; "
      f"CPU s/file: 1 job {one['cpuSecondsPerFile']:.3f}, 2 jobs {two['cpuSecondsPerFile']:.3f}")
load = open('/proc/loadavg').read().split()[0] if __import__('os').path.exists('/proc/loadavg') else '?'
print(f"load average at the end: {load} (on a busy machine the wall-clock speed-up understates the 2-job gain)")
for label, run in (("1 job", one), ("2 jobs", two)):
    split = ", ".join(f"{k} {100 * v:.1f}%" for k, v in run["stageFraction"].items())
    print(f"stage split ({label}): {split}")
PY
