#!/usr/bin/python3
"""Generate models/two-moons.npy: the point set behind the two-moons cards.

Two interleaved half circles (as in scikit-learn's make_moons) with Gaussian
jitter, centred and scaled to unit-ish spread. Deterministic for a seed.
Usage: /usr/bin/python3 scripts/make_two_moons.py [--n 4000] [--seed 7] [--out models/two-moons.npy]
"""
import argparse
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=4000)
p.add_argument("--seed", type=int, default=7)
p.add_argument("--noise", type=float, default=0.06)
p.add_argument("--out", default="models/two-moons.npy")
a = p.parse_args()

rng = np.random.default_rng(a.seed)
n1 = a.n // 2
n2 = a.n - n1
th1 = rng.uniform(0, np.pi, n1)
th2 = rng.uniform(0, np.pi, n2)
upper = np.stack([np.cos(th1), np.sin(th1)], 1)
lower = np.stack([1 - np.cos(th2), 0.5 - np.sin(th2)], 1)
x = np.concatenate([upper, lower]) + rng.normal(0, a.noise, (a.n, 2))
x = (x - np.array([0.5, 0.25])) * 1.4  # centre on the origin, spread ~1
np.save(a.out, rng.permutation(x).astype(np.float32))
print(f"wrote {a.out}: {a.n} points, seed {a.seed}")
