# Sourced by the sweep scripts: writes a grid of `angio phantom` runs into a directory.
# phantom_grid WORK "ANATOMY:SEED ..." "DIAMETERS" "STENOSES" [more `angio phantom` options]
# names each run ANATOMY-SEED-DIAMETER-STENOSIS (.dcm and .truth.json) and returns 1 when a
# run fails. Uses $BIN (the angio executable).
phantom_grid() {
  local work=$1 combos=$2 diameters=$3 stenoses=$4
  shift 4
  local combo anatomy seed diameter stenosis name
  for combo in $combos; do
    anatomy=${combo%:*}; seed=${combo#*:}
    for diameter in $diameters; do
      for stenosis in $stenoses; do
        name="$anatomy-$seed-$diameter-$stenosis"
        "$BIN" phantom --out "$work/$name.dcm" --truth "$work/$name.truth.json" --seed "$seed" \
          --anatomy "$anatomy" --diameter "$diameter" --stenosis "$stenosis" "$@" >/dev/null 2>&1 \
          || { echo "angio phantom failed for $name"; return 1; }
      done
    done
  done
}
