#!/usr/bin/python3
"""Peer of `noisetrail-cli sample` for a noisetrail-unet card, in plain PyTorch.

An exact port of the digit UNet of core/src/nn/networks.cpp (same modules, same
names, same operations in the same order). Our weights file is a
torch::serialize archive, which is a TorchScript archive whose parameters are
named like the C++ module's: torch.jit.load reads it, no other dependency.

usage: peer_unet.py --model models/mnist-unet.json --sampler ddim --steps 50 --batch 16 --seed 1 --threads 1 --out DIR
"""
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

import peer_common


def group_count(channels, groups):
    g = min(groups, channels)
    while channels % g:
        g -= 1
    return g


def conv3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
    args = t.to(torch.float32).unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(group_count(cin, groups), cin)
        self.conv1 = conv3(cin, cout)
        self.time_proj = nn.Linear(time_dim, cout)
        self.norm2 = nn.GroupNorm(group_count(cout, groups), cout)
        self.conv2 = conv3(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(temb).unsqueeze(-1).unsqueeze(-1)
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class UNet(nn.Module):
    def __init__(self, in_channels=1, base_channels=32, channel_mult=(1, 2, 2), time_dim=128, groups=8):
        super().__init__()
        self.time_dim = time_dim
        ch = [base_channels * m for m in channel_mult]
        L = len(ch)
        self.L = L
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = conv3(in_channels, ch[0])
        prev = ch[0]
        for i in range(L):
            setattr(self, f"down{i}", ResBlock(prev, ch[i], time_dim, groups))
            prev = ch[i]
            if i + 1 < L:
                setattr(self, f"downsample{i}", conv3(ch[i], ch[i], 2))
        self.mid = ResBlock(prev, prev, time_dim, groups)
        for i in range(L - 1, -1, -1):
            setattr(self, f"up{i}", ResBlock(prev + ch[i], ch[i], time_dim, groups))
            prev = ch[i]
            if i > 0:
                setattr(self, f"upsample{i}", conv3(ch[i], ch[i - 1]))
                prev = ch[i - 1]
        self.norm_out = nn.GroupNorm(group_count(ch[0], groups), ch[0])
        self.conv_out = conv3(ch[0], in_channels)

    def forward(self, x, t):
        temb = self.time_mlp(timestep_embedding(t, self.time_dim))
        skips = []
        h = self.conv_in(x)
        for i in range(self.L):
            h = getattr(self, f"down{i}")(h, temb)
            skips.append(h)
            if i + 1 < self.L:
                h = getattr(self, f"downsample{i}")(h)
        h = self.mid(h, temb)
        for i in range(self.L - 1, -1, -1):
            h = getattr(self, f"up{i}")(torch.cat([h, skips[i]], 1), temb)
            if i > 0:
                s = skips[i - 1]
                h = F.interpolate(h, size=(s.size(2), s.size(3)), mode="nearest")
                h = getattr(self, f"upsample{i}")(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def make_eps_model(card, card_dir):
    if card.get("kind") != "noisetrail-unet":
        peer_common.fail("peer_unet.py needs a noisetrail-unet card")
    a = card.get("architecture", {})
    net = UNet(a.get("in_channels", 1), a.get("base_channels", 32), a.get("channel_mult", [1, 2, 2]),
               a.get("time_dim", 128), a.get("groups", 8))
    archive = torch.jit.load(os.path.join(card_dir, card["weights"]))
    state = {k: v for k, v in archive.named_parameters()}
    state.update({k: v for k, v in archive.named_buffers()})
    net.load_state_dict(state, strict=True)
    net.eval()

    def eps_model(x, t):
        tt = torch.full((x.size(0),), t, dtype=torch.int64)
        return net(x.to(torch.float32), tt).to(torch.float64)

    return eps_model


def default_clip(card):
    r = card.get("data_range")
    return max(abs(r[0]), abs(r[1])) if r else None


if __name__ == "__main__":
    peer_common.main(__doc__, make_eps_model, default_clip)
