#!/usr/bin/env bash
# Install what is missing (Debian 12 packages; a no-op when present), then configure and build.
# Run by scripts/run.sh and scripts/test.sh; safe to run on its own. With --tests (scripts/test.sh)
# it also installs what only the tests need: the app never needs a browser.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(cmake g++ make pkg-config qt6-base-dev libgl-dev libqcustomplot-dev libtorch-dev
          libopenblas0-pthread nlohmann-json3-dev zlib1g-dev xvfb xauth
          libgif-dev libavcodec-dev libavformat-dev libswscale-dev qt6-svg-dev
          fonts-noto-color-emoji unicode-data # the colour data set (scripts/fetch_emoji.sh)
          clang-14 libclang-rt-14-dev # the fuzz targets (scripts/fuzz.sh)
          python3-torch)              # tests/cli/tst_export_torchscript.py (bring your own model)
# tests/cli/tst_html_page.cpp opens the interactive page (session html) in headless Chromium.
if [ "${1:-}" = "--tests" ]; then
  packages+=(chromium)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

cmake --preset release >/dev/null
cmake --build --preset release --parallel "$(nproc)"
