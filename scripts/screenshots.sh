#!/usr/bin/env bash
# Screenshots of the current GUI for docs/ and the README. Builds nothing:
# run it after building the `noisetrail` target.
#   scripts/screenshots.sh [BUILD_DIR]   (default build/gui, else build/release)
# For each model it starts the app under Xvfb (or the offscreen platform if
# xvfb-run is missing), runs the default comparison (DDPM 1000 steps vs DDIM
# 50 steps from the same noise), scrubs to the middle and saves PNGs; two
# live shots are taken mid-run with a window manager (openbox, xdotool, import).
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

# live CARD PNG PERCENT [app args]: under Xvfb with a window manager, open the
# window, press Run (Ctrl+R, as a user would), wait until the run is PERCENT
# done (the window title leads with it while a run runs), and save the whole
# screen: both panels denoising at the same t.
live() {
  local card=$1 png=$2 percent=$3; shift 3
  command -v xvfb-run >/dev/null && command -v openbox >/dev/null && command -v xdotool >/dev/null &&
    command -v import >/dev/null || { echo "screenshots.sh: live shots need xvfb-run, openbox, xdotool, import" >&2; return 0; }
  echo "== $card -> $png (mid-run, at ${percent}%)"
  XDG_CONFIG_HOME=$(mktemp -d) timeout 900 xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
    app=$1 card=$2 png=$3 percent=$4; shift 4
    openbox & sleep 1
    "$app" --model "$card" --size 1580x960 "$@" & pid=$!
    win=
    for _ in $(seq 100); do win=$(xdotool search --onlyvisible --name "NoiseTrail" 2>/dev/null | head -1); [[ -n $win ]] && break; sleep 0.2; done
    sleep 4 # the model (and any panel card) loads on the worker
    xdotool windowactivate --sync "$win" key ctrl+r
    seen=
    for _ in $(seq 3000); do
      done=$(xdotool getwindowname "$win" 2>/dev/null | sed -n "s/^\([0-9]*\)%.*/\1/p")
      [[ -n $done ]] && seen=1
      [[ -n $done && $done -ge $percent ]] && break
      [[ -z $done && -n $seen ]] && break # the run ended first
      sleep 0.2
    done
    import -window root "$png"
    kill "$pid"' _ "$app" "$card" "$png" "$percent" "$@"
}

live "$root/models/mnist-unet-wide.json" "$out/screenshot-lockstep-midrun.png" 70
# The exact denoiser of the 4000 two-moons points (window) and the learned MLP
# (panel 2), the same sampler, from one x_T.
live "$root/models/two-moons.json" "$out/screenshot-two-moons-exact-vs-learned.png" 85 \
  --panel-model "2=$root/models/two-moons-mlp.json" --panel-sampler 1=ddim:200 --panel-sampler 2=ddim:200

run "$root/models/mnist-unet-wide.json" "$out/screenshot-digits"
run "$root/models/mnist-unet-wide.json" "$out/screenshot-digits-x0-dark" --dark --field x0_hat
run "$root/models/mnist-500-exact.json" "$out/screenshot-digits-exact"
run "$root/models/ring8.json" "$out/screenshot-ring8"
run "$root/models/ring8.json" "$out/screenshot-ring8-dark" --dark
run "$root/models/two-moons.json" "$out/screenshot-two-moons"
ls -l "$out"/screenshot-*.png
