#!/usr/bin/env bash
# Set up (install, build) and open NoiseTrail on the bundled default model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
gui=build/release/app/gui/noisetrail
if [ -x "$gui" ]; then
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "run: no display found; starting under xvfb-run (nothing will be visible)" >&2
    exec xvfb-run -a "$gui" "$@"
  fi
  exec "$gui" "$@"
fi
# Built without the GUI: a CLI demo instead.
out=build/demo
build/release/app/noisetrail-cli sample --model models/ring8.json --sampler ddim --steps 50 --batch 2000 --out "$out"
echo "run: samples written to $out/samples.png"
