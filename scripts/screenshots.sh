#!/usr/bin/env bash
# Screenshots of the current GUI for docs/ and the README. Builds nothing:
# run it after building the `noisetrail` target.
#   scripts/screenshots.sh [BUILD_DIR]   (default build/gui, else build/release)
# For each model it starts the app under Xvfb (or the offscreen platform if
# xvfb-run is missing), runs the default comparison (DDPM 1000 steps vs DDIM
# 50 steps from the same noise), scrubs to the middle and saves PNGs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
if [[ -z "$build" ]]; then
  for d in build/gui build/release build/debug; do
    [[ -x "$root/$d/app/gui/noisetrail" ]] && { build="$root/$d"; break; }
  done
fi
app="$build/app/gui/noisetrail"
[[ -x "$app" ]] || { echo "screenshots.sh: no built noisetrail in '$build' (build the noisetrail target first)" >&2; exit 2; }
out="$root/docs"
mkdir -p "$out"

run() { # run CARD PREFIX [extra args]
  local card=$1 prefix=$2; shift 2
  echo "== $card -> $prefix*.png"
  if command -v xvfb-run >/dev/null; then
    timeout 600 xvfb-run -a -s "-screen 0 1920x1080x24" "$app" --model "$card" --screenshot "$prefix" --size 1366x768 "$@"
  else
    QT_QPA_PLATFORM=offscreen timeout 600 "$app" --model "$card" --screenshot "$prefix" --size 1366x768 "$@"
  fi
}

run "$root/models/mnist-unet.json" "$out/screenshot-digits"
run "$root/models/mnist-unet.json" "$out/screenshot-digits-x0-dark" --dark --field x0_hat
run "$root/models/mnist-500-exact.json" "$out/screenshot-digits-exact"
run "$root/models/ring8.json" "$out/screenshot-ring8"
run "$root/models/ring8.json" "$out/screenshot-ring8-dark" --dark
run "$root/models/two-moons.json" "$out/screenshot-two-moons"
ls -l "$out"/screenshot-*.png
