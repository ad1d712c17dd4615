#!/usr/bin/python3
"""Peer of `noisetrail-cli sample` for a gaussian-mixture card, in plain PyTorch.

The exact eps* of a mixture of isotropic Gaussians in the same softmax-plus-one-
matmul form as core/src/models/analytic.cpp (the "matmul-form peer"): Tweedie's
formula eps* = -sqrt(1 - ab) grad log p_t, with responsibilities from one softmax.

usage: peer_mixture.py --model models/ring8.json --sampler ddpm --batch 4096 --seed 1 --threads 1 --out DIR
       [--dtype float32|float64]: the precision of eps* (the sampler stays float64), as our engine's option.
"""
import math
import sys

import torch

import peer_common


def squared_distances(x, y, c):
    # |x_b - c y_k|^2, [B, K]: direct differences for small dimensions, as in analytic.cpp.
    if x.size(1) <= 8 and x.size(0) * y.size(0) * x.size(1) <= (1 << 22):
        return (x.unsqueeze(1) - c * y.unsqueeze(0)).pow(2).sum(-1)
    d = x.pow(2).sum(1, True) - (2.0 * c) * torch.matmul(x, y.t()) + (c * c) * y.pow(2).sum(1).unsqueeze(0)
    return d.clamp_min(0.0)


def make_eps_model(card, card_dir, dtype):
    if card.get("kind") != "gaussian-mixture":
        peer_common.fail("peer_mixture.py needs a gaussian-mixture card")
    m = card["mixture"]
    K = len(m["means"])
    w = m.get("weights", [1.0 / K] * K)
    total = 0.0
    for v in w:  # sequential sum, as the card parser does
        total += v
    w = torch.tensor([v / total for v in w], dtype=torch.float64)
    stds = m["stds"] * K if len(m["stds"]) == 1 else m["stds"]
    log_w = w.log().to(dtype)
    means = torch.tensor(m["means"], dtype=torch.float64).to(dtype)
    var = torch.tensor(stds, dtype=torch.float64).pow(2).to(dtype)
    ab_of = peer_common.alpha_bars(card)

    def eps_model(x_t, t):
        ab = ab_of[t]
        sa = math.sqrt(ab)
        x = x_t.reshape(x_t.size(0), -1).to(dtype)
        D = float(x.size(1))
        v = ab * var + (1.0 - ab)
        d2 = squared_distances(x, means, sa)
        logits = log_w.unsqueeze(0) - 0.5 * D * v.log().unsqueeze(0) - d2 / (2.0 * v.unsqueeze(0))
        r_over_v = torch.softmax(logits, 1) / v.unsqueeze(0)
        grad = -x * r_over_v.sum(1, True) + sa * torch.matmul(r_over_v, means)
        eps = (-math.sqrt(1.0 - ab) * grad).reshape(x_t.shape).to(torch.float64)
        return eps

    return eps_model


if __name__ == "__main__":
    dtype = torch.float64
    if "--dtype" in sys.argv:
        i = sys.argv.index("--dtype")
        dtype = {"float32": torch.float32, "float64": torch.float64}.get(sys.argv[i + 1] if i + 1 < len(sys.argv) else "")
        if dtype is None:
            peer_common.fail("--dtype must be float32 or float64")
        del sys.argv[i:i + 2]
    peer_common.main(__doc__, lambda card, d: make_eps_model(card, d, dtype), lambda card: None)
