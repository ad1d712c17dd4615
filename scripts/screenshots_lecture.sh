#!/usr/bin/env bash
# Lecture screenshots (issue 12) for docs/: the ring and digit comparisons
# (DDPM 1000 vs DDIM 50 from one x_T) caught mid-run at 1366x768 (a projector
# laptop) and 1920x1080, normal and presentation mode, light and dark; the plot
# grid with four plots folded; and the Reverse step (equation) tab for DDIM,
# Heun and DPM-Solver++(2M). Needs xvfb-run, openbox, xdotool and import.
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
# FOLDED="key,key" starts with those plots folded (PlotsWidget's QSettings keys).
shot() {
  local card=$1 png=$2 size=$3 percent=$4; shift 4
  echo "== $(basename "$card") $size $* ${FOLDED:+folded: $FOLDED} -> $(basename "$png")"
  local config; config=$(mktemp -d)
  if [[ -n ${FOLDED:-} ]]; then
    mkdir -p "$config/NoiseTrail"
    printf '[plots]\nfolded=%s\n' "$FOLDED" > "$config/NoiseTrail/NoiseTrail.conf"
  fi
  XDG_CONFIG_HOME=$config timeout 600 xvfb-run -a -s "-screen 0 ${size}x24" bash -c '
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
# The plot grid with the step-size plots and two metrics folded: the rest take the room.
for theme in light dark; do
  args=(); [[ $theme == dark ]] && args+=(--dark)
  FOLDED="x0_change,x0_batch_std,vendi,entropy" \
    shot "$digits" "$out/digits-1366x768-folded-$theme.png" 1366x768 60 --field x0_hat "${args[@]}"
done
# The equation tab (and the forward view), after a ring run, at 1366x768.
QT_QPA_PLATFORM=offscreen timeout 300 "$app" --model "$ring" --screenshot "$out/ring8-1366x768" --size 1366x768
QT_QPA_PLATFORM=offscreen timeout 300 "$app" --model "$ring" --screenshot "$out/ring8-1366x768-dark" --size 1366x768 --dark
# Heun's and DPM-Solver++(2M)'s step written out (panel 2), light and dark: only the equation tab is kept.
tmp=$(mktemp -d)
for sampler in heun dpmpp2m; do
  for theme in light dark; do
    args=(); suffix=""
    [[ $theme == dark ]] && { args+=(--dark); suffix="-dark"; }
    QT_QPA_PLATFORM=offscreen timeout 300 "$app" --model "$ring" --panel-sampler "2=$sampler:50" \
      --screenshot "$tmp/shot" --size 1366x768 "${args[@]}" >/dev/null
    mv "$tmp/shot-equations.png" "$out/ring8-1366x768$suffix-$sampler-equations.png"
  done
done
# The whole window after a digits run: the status bar says that the DDPM 1000
# panel's metrics were measured on every 20th step (the curves are points).
QT_QPA_PLATFORM=offscreen timeout 300 "$app" --model "$digits" --field x0_hat --screenshot "$tmp/digits" \
  --size 1366x768 >/dev/null
mv "$tmp/digits.png" "$out/digits-1366x768-metrics-note.png"
rm -rf "$tmp"
ls -l "$out"
