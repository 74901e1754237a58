#!/usr/bin/env bash
# Standard-scenario sweep (part of `make accuracy`): `angio phantom` at 512 px, reference
# 1.5 / 2.5 / 3.5 mm x 0 / 30 / 50 / 70 / 85 % stenosis, coronary seeds 3 and 8, peripheral
# seeds 4 and 9 (60 files), analysed in automatic mode and compared with the truth JSON:
# normal vessels must show no lesion above 15 %, every lesion must be rank 1 within 2 mm of
# the true narrowing with a %DS error within 6 points. Prints one line per miss and a summary;
# exits 1 when a run fails outright (not when a target is missed: this is a report).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/angio}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/angio-sweep.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
source scripts/phantom-grid.sh
phantom_grid "$WORK" "coronary:3 coronary:8 peripheral:4 peripheral:9" "1.5 2.5 3.5" "0 30 50 70 85" \
  --size 512 || exit 1
"$BIN" analyze "$WORK"/*.dcm --out "$WORK/out" >/dev/null 2>&1 || { echo "angio analyze failed"; exit 1; }
python3 - "$WORK" <<'PY'
import glob, json, math, os, sys
work = sys.argv[1]
misses, normals, lesions, ds_errors, mld_errors = 0, 0, 0, [], []
for truth_path in sorted(glob.glob(os.path.join(work, "*.truth.json"))):
    name = os.path.basename(truth_path)[:-len(".truth.json")]
    truth = json.load(open(truth_path))
    record = json.load(open(os.path.join(work, "out", name + ".json")))
    stenosis = truth["vessels"][0].get("stenosis")
    if not stenosis or stenosis["percentDiameterStenosis"] < 1:
        normals += 1
        worst = max([l["percentDiameterStenosis"] for l in record["lesions"]] or [0])
        if worst > 15:
            misses += 1
            print(f"{name}: normal vessel with a {worst:.1f} % lesion")
        continue
    lesions += 1
    if not record["lesions"]:
        misses += 1
        print(f"{name}: no lesion found (true {stenosis['percentDiameterStenosis']:.1f} %)")
        continue
    top = record["lesions"][0]
    mm = truth["trueMmPerPixel"]
    distance = math.hypot(top["location"]["x"] - stenosis["location"]["x"], top["location"]["y"] - stenosis["location"]["y"]) * mm
    ds_error = top["percentDiameterStenosis"] - stenosis["percentDiameterStenosis"]
    mld_error = top["minimalLumenDiameter"]["mm"] - stenosis["mldMm"]
    ds_errors.append(ds_error); mld_errors.append(mld_error)
    if distance > 2 or abs(ds_error) > 6:
        misses += 1
        print(f"{name}: rank-1 lesion {distance:.2f} mm from the truth, %DS error {ds_error:+.1f}, MLD error {mld_error:+.3f} mm")
print(f"standard sweep: {normals} normal vessels, {lesions} lesions, {misses} outside the targets; "
      f"%DS error {min(ds_errors):+.1f} to {max(ds_errors):+.1f} points, MLD error {min(mld_errors):+.3f} to {max(mld_errors):+.3f} mm")
PY
