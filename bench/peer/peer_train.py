#!/usr/bin/python3
"""Peer of `noisetrail-cli train --kind noisetrail-mlp`, in plain PyTorch.

The loop a user would write for the same work per step: the MLP of
core/src/nn/networks.cpp (MlpDenoiser: same modules, same operations), L_simple
(Ho et al. 2020, eq. 14) on the linear schedule, Adam with a linear warm-up then
cosine learning rate, the gradient clipped to norm 1, an EMA of the weights and
the loss read back every step, as core/src/nn/training.cpp does. It times the
steps after the first log interval (warm-up of the allocator and of the first
calls), like peer_train_bench.py reads ours from the loss log, and prints one
JSON line: {"steps_per_s": ..., "final_loss": ...}.

usage: peer_train.py --data POINTS.npy --steps N --batch B [--hidden 128 --blocks 3 --time-dim 64]
                     [--threads 1] [--seed 0] [--log-every 50]
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
    args = t.to(torch.float32).unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class Mlp(nn.Module):
    def __init__(self, dim=2, hidden=128, blocks=3, time_dim=64):
        super().__init__()
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(dim, hidden)
        self.lin1 = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(blocks))
        self.tproj = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(blocks))
        self.lin2 = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(blocks))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x, t):
        temb = F.silu(self.time_mlp(timestep_embedding(t, self.time_dim)))
        h = self.inp(x)
        for l1, tp, l2 in zip(self.lin1, self.tproj, self.lin2):
            h = h + l2(F.silu(l1(F.silu(h)) + tp(temb)))
        return self.out(F.silu(h))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--time-dim", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = torch.from_numpy(np.load(a.data).astype(np.float32))
    if data.dim() != 2:
        sys.exit(f"peer_train: --data {a.data}: expected points [N, D]")
    n, d = data.shape
    net = Mlp(d, a.hidden, a.blocks, a.time_dim)
    ema = Mlp(d, a.hidden, a.blocks, a.time_dim)
    ema.load_state_dict(net.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)
    T = 1000
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    ab = torch.cumprod(1 - betas, 0)
    sqrt_ab, sqrt_1m_ab = ab.sqrt().float(), (1 - ab).sqrt().float()

    start = None
    loss_v = float("nan")
    for step in range(a.steps):
        if step == a.log_every:
            start = time.perf_counter()
        if step < a.warmup:
            lr = a.lr * (step + 1) / a.warmup
        else:
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, n, (a.batch,))
        x0 = data.index_select(0, idx)
        t = torch.randint(0, T, (a.batch,))
        eps = torch.randn_like(x0)
        xt = sqrt_ab.index_select(0, t).view(-1, 1) * x0 + sqrt_1m_ab.index_select(0, t).view(-1, 1) * eps
        loss = F.mse_loss(net(xt, t), eps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            dec = min(a.ema, (1.0 + step) / (10.0 + step))
            for pe, p in zip(ema.parameters(), params):
                pe.mul_(dec).add_(p.detach(), alpha=1 - dec)
        loss_v = loss.item()
    secs = time.perf_counter() - start if start is not None else float("nan")
    timed = a.steps - a.log_every
    print(json.dumps({"steps_per_s": timed / secs if secs > 0 else float("nan"), "timed_steps": timed,
                      "seconds": secs, "final_loss": loss_v}))


if __name__ == "__main__":
    main()
