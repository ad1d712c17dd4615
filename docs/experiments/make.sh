#!/bin/sh
# Rebuild the experiment figures and tables in docs/experiments/ with the CLI
# (issue 13). Keeps the PNG, CSV and Markdown files; the .npy outputs stay in a
# temporary folder. Usage: docs/experiments/make.sh [path/to/noisetrail-cli]
# (ONLY="name ..." remakes only those figures, e.g. ONLY=decision-ring8).
set -eu
cd "$(dirname "$0")/../.."
CLI=${1:-build/release/app/noisetrail-cli}
OUT=docs/experiments
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# Two bundled held-out digits of every class (the file holds 50 per class, sorted).
DIGITS=0,50,100,150,200,250,300,350,400,450,1,51,101,151,201,251,301,351,401,451
STEPS=10,20,50,100,1000

run() { # name, then the command's arguments; copies the figures and numbers
    name=$1
    shift
    case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    "$CLI" "$@" --out "$TMP/$name"
    for f in "$TMP/$name"/*.png "$TMP/$name"/*.csv "$TMP/$name"/*.md; do
        if [ -e "$f" ]; then cp "$f" "$OUT/$name-$(basename "$f")"; fi
    done
}

run invert-digits invert --model models/mnist-unet.json --data models/data/mnist-heldout-500_images.npy \
    --index $DIGITS --steps 50 --ddpm --table $STEPS
run invert-two-moons invert --model models/two-moons-mlp.json --data models/two-moons.npy --count 200 \
    --steps 50 --ddpm --table $STEPS
run interpolate-digits interpolate --model models/mnist-unet.json --samplers ddim:50,ddpm:1000 --points 10 --seed 3
run interpolate-ring8 interpolate --model models/ring8.json --samplers ddim:50,ddpm:1000 --points 40 --seed 7
run consistency-digits consistency --model models/mnist-unet.json --batch 8 --seed 1 --steps $STEPS
run consistency-ring8 consistency --model models/ring8.json --batch 50 --seed 2 --steps $STEPS
run decision-digits decision --model models/mnist-unet.json --panels ddpm:1000,ddim:50 --batch 16 --seed 1
run decision-ring8 decision --model models/ring8.json --panels ddpm:1000,ddim:50 --batch 100 --seed 2
