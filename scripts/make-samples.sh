#!/usr/bin/env bash
# Regenerates samples/ with the project's own phantom generator: deterministic (fixed seeds),
# small (a few hundred KB in total), each DICOM file with its ground-truth JSON beside it.
# Usage: scripts/make-samples.sh [BIN] [DIR]
set -euo pipefail
bin=${1:-.build/release/angio}; dir=${2:-samples}
if [ ! -x "$bin" ]; then echo "make-samples: $bin is not an executable (build first)" >&2; exit 1; fi
mkdir -p "$dir"
rm -f "$dir"/*.dcm "$dir"/*.truth.json "$dir/.generated"
phantom() { "$bin" phantom --truth-spacing 2 "$@"; }

# 1. Coronary-like single frame, 60 % stenosis, calibrated by Imager Pixel Spacing (0018,1164)
#    plus Estimated Radiographic Magnification Factor (0018,1114); JPEG lossless.
phantom --seed 1001 --size 384 --stenosis 60 --lesion-length 10 --branches 2 --catheter 6 \
  --bits 10 --noise 2% --calibration imager-magnification --magnification 1.25 \
  --transfer-syntax jpeg-lossless --out "$dir/coronary_60pct.dcm" --truth "$dir/coronary_60pct.truth.json"

# 2. Short cine run with contrast wash-in (12 frames, 15 fps), eccentric 50 % lesion; JPEG-LS.
phantom --seed 1002 --size 192 --mm-per-pixel 0.25 --frames 12 --frame-time 66.7 --stenosis 50 --eccentricity 0.6 \
  --branches 1 --bits 8 --noise 0.6% --calibration pixel-spacing \
  --transfer-syntax jpeg-ls --out "$dir/coronary_cine_12f.dcm" --truth "$dir/coronary_cine_12f.truth.json"

# 3. MONOCHROME1, 8-bit, with a crossing vessel; Imager Pixel Spacing with SID/SOD distances.
phantom --seed 1003 --size 256 --stenosis 40 --crossing --bits 8 --photometric MONOCHROME1 \
  --noise 1.2% --calibration imager-distances --sid 1100 --sod 800 \
  --transfer-syntax jpeg-ls --out "$dir/mono1_8bit.dcm" --truth "$dir/mono1_8bit.truth.json"

# 4. Uncalibrated (no spacing tags): a 6 F catheter is the only calibration object.
phantom --seed 1004 --size 256 --stenosis 70 --lesion-length 6 --catheter 6 --bits 10 --noise 1.5% \
  --calibration none --transfer-syntax jpeg-ls --out "$dir/uncalibrated_catheter.dcm" \
  --truth "$dir/uncalibrated_catheter.truth.json"

# 5. Below-the-knee balloon dilation pair: same patient, study and artery; 75 % before, 20 % after.
phantom --seed 1005 --anatomy peripheral --size 256 --diameter 3.0 --stenosis 75 --lesion-length 15 \
  --branches 0 --catheter none --bits 10 --noise 1.5% --calibration imager-magnification --magnification 1.15 \
  --transfer-syntax jpeg-lossless --out "$dir/btk_pre.dcm" --truth "$dir/btk_pre.truth.json"
phantom --post-of "$dir/btk_pre.truth.json" --stenosis 20 \
  --out "$dir/btk_post.dcm" --truth "$dir/btk_post.truth.json"

touch "$dir/.generated"
echo "samples: wrote $(ls "$dir"/*.dcm | wc -l) phantoms to $dir ($(du -sk "$dir" | cut -f1) KB)"
