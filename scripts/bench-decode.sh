#!/usr/bin/env bash
# Decode benchmark: angio (AngioDICOM, per-frame decoding through DCMTK/OpenJPEG) vs DCMTK's own
# command line tools, timed in the same run on the same files of the shared corpus:
#   - the real 96-frame 512x512 JPEG baseline cine run (xa/rubo_0002_XA_cine96_JPEGBaseline.dcm)
#   - the 1024x1024 10-bit JPEG lossless SV1 frame (xa/WG04_XA1_JPLL.dcm)
#   - the same frame in JPEG 2000 lossless (xa/WG04_XA1_J2KR.dcm; DCMTK has no peer decoder)
# Every tool is timed as a whole process (start-up, dictionary load, all frames), median of
# REPEAT runs; angio-bench also reports its in-process time. Peers: `dcmj2pnm --all-frames`
# (decode + write PGM files to a tmpfs folder) and `dcmdjpeg` (decode + write an uncompressed
# DICOM). Ratios > 1 mean angio is faster. The CPU column (user + system seconds of the whole
# process) is the fair figure on a loaded machine. Not a test; skips cleanly without the corpus.
# Env: SCRATCH=.build (swift scratch path), REPEAT=7.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/data/dicom
if [ ! -d "$corpus/xa" ]; then echo "bench-decode: shared corpus $corpus absent, skipping"; exit 0; fi
scratch=${SCRATCH:-.build}
repeat=${REPEAT:-7}
swift build -c release --scratch-path "$scratch" --product angio-bench >/dev/null
bench="$scratch/release/angio-bench"
out=bench-out/decode
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR_FAST:-/dev/shm}/angio-bench-decode.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
threads_max=$(nproc)

# median CPU seconds (user + system, from /usr/bin/time) of a command run $repeat times:
# robust to other load on a shared machine, where wall time mostly measures waiting.
median_cpu() {
  if [ ! -x /usr/bin/time ]; then echo "NaN"; return; fi
  local times=()
  for _ in $(seq "$repeat"); do
    /usr/bin/time -o "$tmp/cpu" -f '%U %S' "$@" >/dev/null 2>&1 || true
    times+=("$(tail -1 "$tmp/cpu" | awk '{print $1 + $2}')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'
}

# median wall seconds of a command run $repeat times (after one warm-up run)
median_wall() {
  local times=() start end
  "$@" >/dev/null 2>&1 || { echo "NaN"; return; }
  for _ in $(seq "$repeat"); do
    start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N)
    times+=("$(( end - start ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.6f\n", m/1e9}'
}

results="$out/decode.jsonl"
: > "$results"
# Start-up cost of each tool (process, runtime, dictionary), measured on a 3x3 one-frame JPEG
# lossless file; subtracted to give the marginal cost per frame ("net ms/frame").
tiny="$corpus/malformed/orthanc_Issue140.dcm"
startup_angio=$(median_wall "$bench" decode --file "$tiny" --repeat 1)
startup_dcmj2pnm=$(median_wall dcmj2pnm "$tiny" "$tmp/tiny.pgm")
startup_dcmdjpeg=$(median_wall dcmdjpeg "$tiny" "$tmp/tiny.dcm")
echo "start-up (3x3 file): angio-bench ${startup_angio}s  dcmj2pnm ${startup_dcmj2pnm}s  dcmdjpeg ${startup_dcmdjpeg}s"
printf '%-40s %7s %-10s %12s %12s %14s %10s\n' "workload" "frames" "tool" "wall s" "ms/frame" "net ms/frame" "CPU s"
for file in xa/rubo_0002_XA_cine96_JPEGBaseline.dcm xa/WG04_XA1_JPLL.dcm xa/WG04_XA1_J2KR.dcm; do
  path="$corpus/$file"
  name=$(basename "$file" .dcm)
  frames=$("$bench" decode --file "$path" --repeat 1 | sed -E 's/.*"frames":([0-9]+).*/\1/')
  declare -A wall=() cpu=()
  for t in 1 "$threads_max"; do
    "$bench" decode --file "$path" --threads "$t" --repeat "$repeat" | tee -a "$results" >/dev/null
    wall["angio-t$t"]=$(median_wall "$bench" decode --file "$path" --threads "$t" --repeat 1)
    cpu["angio-t$t"]=$(median_cpu "$bench" decode --file "$path" --threads "$t" --repeat 1)
  done
  case "$file" in
    *J2K*) ;;  # DCMTK 3.6.7 (free) cannot decode JPEG 2000
    *)
      rm -rf "$tmp/pnm"; mkdir -p "$tmp/pnm"
      wall[dcmj2pnm]=$(median_wall dcmj2pnm --all-frames "$path" "$tmp/pnm/f")
      wall[dcmdjpeg]=$(median_wall dcmdjpeg "$path" "$tmp/out.dcm")
      cpu[dcmj2pnm]=$(median_cpu dcmj2pnm --all-frames "$path" "$tmp/pnm/f")
      cpu[dcmdjpeg]=$(median_cpu dcmdjpeg "$path" "$tmp/out.dcm")
      ;;
  esac
  declare -A net=()
  for tool in "${!wall[@]}"; do
    case "$tool" in angio*) s=$startup_angio;; dcmj2pnm) s=$startup_dcmj2pnm;; *) s=$startup_dcmdjpeg;; esac
    net[$tool]=$(awk -v w="${wall[$tool]}" -v s="$s" -v f="$frames" 'BEGIN {d=w-s; if (d<0) d=0; printf "%.4f", 1000*d/f}')
    printf '%-40s %7s %-10s %12.4f %12.3f %14s %10s\n' "$name" "$frames" "$tool" "${wall[$tool]}" \
      "$(awk -v w="${wall[$tool]}" -v f="$frames" 'BEGIN {print 1000*w/f}')" "${net[$tool]}" "${cpu[$tool]}"
  done | sort -k3
  for tool in "${!wall[@]}"; do
    case "$tool" in angio*) s=$startup_angio;; dcmj2pnm) s=$startup_dcmj2pnm;; *) s=$startup_dcmdjpeg;; esac
    net[$tool]=$(awk -v w="${wall[$tool]}" -v s="$s" -v f="$frames" 'BEGIN {d=w-s; if (d<0) d=0; printf "%.4f", 1000*d/f}')
  done
  if [ -n "${wall[dcmj2pnm]:-}" ]; then
    for t in 1 "$threads_max"; do
      awk -v a="${wall[angio-t$t]}" -v p="${wall[dcmj2pnm]}" -v q="${wall[dcmdjpeg]}" \
          -v na="${net[angio-t$t]}" -v np="${net[dcmj2pnm]}" -v nq="${net[dcmdjpeg]}" -v t="$t" -v n="$name" \
        'BEGIN {printf "%-40s t=%s  wall ratio dcmj2pnm/angio %.2f, dcmdjpeg/angio %.2f | net per-frame ratio dcmj2pnm/angio %.2f, dcmdjpeg/angio %.2f\n", n, t, p/a, q/a, (na>0?np/na:0), (na>0?nq/na:0)}'
    done
  fi
  unset net cpu
  unset wall
done
echo "in-process angio-bench lines: $results"
cat "$results"
