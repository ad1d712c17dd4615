#!/usr/bin/env bash
# Render the colour data set from Debian's packages (fonts-noto-color-emoji:
# the font OFL 1.1, its images Apache 2.0; unicode-data: emoji-test.txt, whose
# groups are the labels) into data/emoji/ with tools/emoji_data.cpp: every
# fully-qualified emoji without a skin-tone modifier at 32x32 RGB on white,
# 9 groups, a seeded stratified 85/15 train/held-out split, plus classes.txt
# and emoji.csv. Offline; builds the tool when it is missing; a no-op when the
# outputs exist. Usage:
#   scripts/fetch_emoji.sh [--subset]   (--subset also rewrites models/data/'s
#                                        emoji subset and models/emoji-data-grid.png)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/data/emoji"
font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
emoji_test=/usr/share/unicode/emoji/emoji-test.txt
tool="$root/build/release/tools/noisetrail-emoji-data"

extra=()
if [[ "${1:-}" == "--subset" ]]; then
  extra=(--subset "$root/models/data" --subset-per-class 32 --grid "$root/models/emoji-data-grid.png")
elif [[ -f "$out/heldout_labels.npy" && -f "$out/train_images.npy" && -f "$out/classes.txt" ]]; then
  echo "fetch_emoji: $out already holds the data set (nothing to do)"
  exit 0
fi
[[ -f "$font" ]] || { echo "fetch_emoji: $font is missing (apt-get install fonts-noto-color-emoji)" >&2; exit 1; }
[[ -f "$emoji_test" ]] || { echo "fetch_emoji: $emoji_test is missing (apt-get install unicode-data)" >&2; exit 1; }
if [[ ! -x "$tool" ]]; then
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target noisetrail-emoji-data)
fi
"$tool" --font "$font" --emoji-test "$emoji_test" --out "$out" --size 32 --seed 24 --heldout 0.15 "${extra[@]}"
