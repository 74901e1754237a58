#!/usr/bin/env bash
# Renders a batch report's index.html in headless Chromium and writes a PNG screenshot, so the
# page can be looked at (and checked by a test) without a desktop.
#
#   scripts/screenshot-report.sh REPORT_DIR/index.html [OUT.png] [WIDTHxHEIGHT]
#   scripts/screenshot-report.sh --demo [OUT_DIR]   # phantoms -> angio analyze -> screenshot
#
# Needs chromium (Debian: apt-get install -y chromium); exits 3 when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

find_browser() {
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}

shoot() {  # html png size
  local html=$1 png=$2 size=${3:-1400x1000}
  local browser; browser=$(find_browser) || { echo "screenshot-report: chromium not installed" >&2; exit 3; }
  local absolute; absolute=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
  # A private profile keeps runs independent; virtual time lets the inline script run first.
  local profile; profile=$(mktemp -d)
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --virtual-time-budget=2000 --window-size="${size/x/,}" --screenshot="$png" "file://$absolute" \
    >/dev/null 2>&1 || { rm -rf "$profile"; echo "screenshot-report: chromium failed" >&2; exit 1; }
  rm -rf "$profile"
  [ -s "$png" ] || { echo "screenshot-report: no screenshot written" >&2; exit 1; }
  echo "$png"
}

if [ "${1:-}" = "--demo" ]; then
  out=${2:-bench-out/screenshot-demo}
  bin=${ANGIO_BIN:-.build/release/angio}
  [ -x "$bin" ] || swift build -c release --product angio >/dev/null
  mkdir -p "$out/in"
  for seed in 1 2 3 4 5 6; do
    [ -f "$out/in/run$seed.dcm" ] || "$bin" phantom --seed "$seed" --size 256 --frames 4 --stenosis $((30 + seed * 8)) \
      --out "$out/in/run$seed.dcm" >/dev/null 2>&1
  done
  head -c 3000 "$out/in/run1.dcm" > "$out/in/truncated.dcm"
  "$bin" analyze "$out/in" --out "$out/report" --quiet 2>/dev/null || true   # exit 1 expected: one broken file
  shoot "$out/report/index.html" "$out/index-screenshot.png" "${3:-1400x1000}"
  exit 0
fi

[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
shoot "$1" "${2:-${1%.html}-screenshot.png}" "${3:-1400x1000}"
