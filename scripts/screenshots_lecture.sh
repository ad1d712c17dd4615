#!/usr/bin/env bash
# Lecture screenshots (issue 12) for docs/: the ring and digit comparisons
# (DDPM 1000 vs DDIM 50 from one x_T) caught mid-run at 1366x768 (a projector
# laptop) and 1920x1080, normal and presentation mode, light and dark, plus the
# Reverse step (equation) tab. Needs xvfb-run, openbox, xdotool and import.
#   scripts/screenshots_lecture.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
app="$build/app/gui/noisetrail"
[[ -x "$app" ]] || { echo "screenshots_lecture.sh: no built noisetrail in '$build'" >&2; exit 2; }
for tool in xvfb-run openbox xdotool import; do
  command -v $tool >/dev/null || { echo "screenshots_lecture.sh: needs $tool" >&2; exit 2; }
done
out="$root/docs/lecture"
mkdir -p "$out"

# shot CARD PNG WxH PERCENT [app args]: a screen of WxH, press Run (Ctrl+R),
# wait until the run is PERCENT done (the title leads with it), save the screen.
shot() {
  local card=$1 png=$2 size=$3 percent=$4; shift 4
  echo "== $(basename "$card") $size $* -> $(basename "$png")"
  XDG_CONFIG_HOME=$(mktemp -d) timeout 600 xvfb-run -a -s "-screen 0 ${size}x24" bash -c '
    app=$1 card=$2 png=$3 size=$4 percent=$5; shift 5
    openbox & sleep 1
    "$app" --model "$card" --size "$size" "$@" & pid=$!
    win=
    for _ in $(seq 100); do win=$(xdotool search --onlyvisible --name "NoiseTrail" 2>/dev/null | head -1); [[ -n $win ]] && break; sleep 0.2; done
    sleep 4 # the model loads on the worker
    xdotool windowactivate --sync "$win" key ctrl+r
    seen=
    for _ in $(seq 3000); do
      done=$(xdotool getwindowname "$win" 2>/dev/null | sed -n "s/^\([0-9]*\)%.*/\1/p")
      [[ -n $done ]] && seen=1
      [[ -n $done && $done -ge $percent ]] && break
      [[ -z $done && -n $seen ]] && break # the run ended first
      sleep 0.1
    done
    import -window root "$png"
    kill "$pid"' _ "$app" "$card" "$png" "$size" "$percent" "$@"
}

ring="$root/models/ring8.json" digits="$root/models/mnist-unet.json"
for size in 1366x768 1920x1080; do
  for mode in normal presentation; do
    for theme in light dark; do
      args=()
      [[ $mode == presentation ]] && args+=(--presentation)
      [[ $theme == dark ]] && args+=(--dark)
      # The ring at 5000 points runs long enough to be caught half way.
      shot "$ring" "$out/ring8-$size-$mode-$theme.png" "$size" 50 "${args[@]}"
      shot "$digits" "$out/digits-$size-$mode-$theme.png" "$size" 50 --field x0_hat "${args[@]}"
    done
  done
done
# The equation tab (and the forward view), after a ring run, at 1366x768.
QT_QPA_PLATFORM=offscreen timeout 300 "$app" --model "$ring" --screenshot "$out/ring8-1366x768" --size 1366x768
QT_QPA_PLATFORM=offscreen timeout 300 "$app" --model "$ring" --screenshot "$out/ring8-1366x768-dark" --size 1366x768 --dark
ls -l "$out"
