#!/usr/bin/env bash
# Measure the colour UNet with the emoji group classifier and write the figures
# into the card's "quality" field (issue 24, point 3):
#   - unconditional DDIM 50 samples (N, seed 1): the classifier's mean top-class
#     probability, its group histogram, the FD of its features to the held-out
#     emoji's, and memorisation: each sample's distance to its nearest training
#     emoji (RMS per pixel) against the held-out emoji's own distance to it;
#   - real emoji measured the same way: 288 training emoji (the FD a perfect
#     model could reach; the reference is the 280 held-out emoji themselves);
#   - class accuracy at guidance W = 1 and 3 (noisetrail-cli guidance, DDIM 50,
#     SAMPLES per group) and a sample grid at W = 3 with a column per group.
# Usage: scripts/measure_emoji_quality.sh [N (280)] [SAMPLES per group (20)]
# Env: NOISETRAIL_CLI (default build/release/app/noisetrail-cli), THREADS (default 1),
#   CARD (default models/emoji-cond-unet.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cli="${NOISETRAIL_CLI:-build/release/app/noisetrail-cli}"
threads="${THREADS:-1}"
n="${1:-280}"
per_class="${2:-20}"
card="${CARD:-models/emoji-cond-unet.json}"
clf=models/emoji-classifier.json
train=data/emoji/train_images.npy
heldout=data/emoji/heldout_images.npy
real=models/data/emoji-train-288_images.npy
out=.cache/emoji-quality
for f in "$card" "$clf" "$train" "$heldout" "$real"; do
  [[ -f "$f" ]] || { echo "measure_emoji_quality.sh: $f is missing (scripts/fetch_emoji.sh makes data/emoji/)" >&2; exit 2; }
done
mkdir -p "$out"

# The card names its judge, so guidance, compare and the GUI's metrics use it too.
node - "$card" <<'JS'
const fs = require('fs');
const card = process.argv[2];
const j = JSON.parse(fs.readFileSync(card, 'utf8'));
if (!j.classifier) { j.classifier = 'emoji-classifier.json'; fs.writeFileSync(card, JSON.stringify(j, null, 2) + '\n'); }
JS

judge() { # name samples.npy
  "$cli" classify --classifier "$clf" --samples "$2" --train "$train" --json > "$out/$1.json"
  echo "$1: $(cat "$out/$1.json")" >&2
}
t0=$(date +%s)
"$cli" sample --model "$card" --sampler ddim --steps 50 --batch "$n" --seed 1 --threads "$threads" --out "$out/uncond" >&2
echo $(($(date +%s) - t0)) > "$out/uncond.seconds"
judge samples "$out/uncond/samples.npy"
judge heldout "$heldout"
judge real "$real"
rm -rf "$out/guidance"
"$cli" guidance --model "$card" --scales 1,3 --samples "$per_class" --steps 50 --threads "$threads" --out "$out/guidance" >&2
# A grid by group at W = 3: 81 samples in 9 columns, the classes cycled, so column k is group k.
"$cli" sample --model "$card" --sampler ddim --steps 50 --batch 81 --classes 0,1,2,3,4,5,6,7,8 \
  --guidance 3 --seed 2 --threads "$threads" --out "$out/grid" >&2
cp "$out/grid/samples.png" "${card%.json}-samples-by-group.png"

node - "$card" "$out" "$n" "$per_class" "$threads" <<'JS'
const fs = require('fs');
const [card, out, n, perClass, threads] = process.argv.slice(2);
const j = JSON.parse(fs.readFileSync(card, 'utf8'));
const read = (name) => JSON.parse(fs.readFileSync(`${out}/${name}.json`, 'utf8'));
const s = read('samples'), held = read('heldout'), real = read('real');
const csv = fs.readFileSync(`${out}/guidance/guidance.csv`, 'utf8').trim().split('\n');
const head = csv[0].split(',');
const byW = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i], Number(v)])));
j.quality = {
  judged_by: 'emoji-classifier.json (noisetrail-cli classify and guidance; 73.6% held-out accuracy over the 9 groups)',
  unconditional: {
    sampler: `DDIM, 50 steps, eta 0; ${n} samples, seed 1, no class`,
    mean_top_probability: s.mean_top_probability, group_histogram: s.histogram,
    frechet_distance: s.frechet_distance, nearest_train_distance: s.nearest_train_distance,
    seconds: Number(fs.readFileSync(`${out}/uncond.seconds`, 'utf8')),
  },
  real_training_emoji: { samples: real.samples, frechet_distance: real.frechet_distance,
                         mean_top_probability: real.mean_top_probability },
  heldout_emoji: { samples: held.samples, nearest_train_distance: held.nearest_train_distance,
                   note: 'the FD reference itself; their distance to the nearest training emoji is what a new emoji scores' },
  by_guidance: byW.map((r) => ({ guidance: r.guidance, accuracy: r.accuracy, class_probability: r.class_probability })),
  guidance_samples_per_group: Number(perClass),
  memorisation: 'nearest_train_distance is the RMS per pixel (data range [-1, 1]) to the nearest of the 1,590 training ' +
                'emoji: 0 is a copy; held-out emoji show what a new emoji scores',
  threads: Number(threads),
  measured_on: '2-core CPU shared with other jobs (times are upper bounds)',
  command: `THREADS=${threads} CARD=${card} scripts/measure_emoji_quality.sh ${n} ${perClass}`,
};
fs.writeFileSync(card, JSON.stringify(j, null, 2) + '\n');
console.log(JSON.stringify(j.quality, null, 2));
JS
