"""What a user would write instead of NoiseTrail: a plain PyTorch sampling loop.

Shared by peer_unet.py and peer_mixture.py. The schedule, the plan and the
sampler arithmetic follow core/src (noise_schedule.cpp, sampling_plan.cpp,
parameterisation.cpp, samplers/ddpm.cpp, samplers/ddim.cpp) operation for
operation, in float64, with the same seeded generator, so that the final
samples are bit-identical to `noisetrail-cli sample` on the same libtorch.
Only what the peer benchmark needs: linear schedule, leading spacing, epsilon
prediction, DDPM fixed_small and DDIM (any eta).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch


def fail(msg):
    print(f"peer: error: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", required=True, help="model card (.json)")
    p.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddpm")
    p.add_argument("--steps", type=int, default=0, help="default: T for ddpm, 50 for ddim")
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", help="folder for samples.npy (float32)")
    return p


def load_card(path):
    try:
        with open(path) as f:
            card = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"model card {path}: {e}")
    s = card.get("schedule", {})
    if s.get("kind") != "linear":
        fail(f"model card {path}: the peer supports only the linear schedule")
    if card.get("prediction", "epsilon") != "epsilon":
        fail(f"model card {path}: the peer supports only epsilon prediction")
    return card


def linspace(start, stop, n):
    # numpy.linspace as core/src/numeric.hpp computes it.
    step = (stop - start) / (n - 1)
    y = [i * step + start for i in range(n)]
    y[-1] = stop
    return y


def alpha_bars(card):
    s = card["schedule"]
    prod, out = 1.0, []
    for b in linspace(s["beta_start"], s["beta_end"], s["train_steps"]):
        prod *= 1.0 - b
        out.append(prod)
    return out


def plan(card, sampler, steps, eta):
    """[(t, alpha_bar, alpha_bar_prev, sigma)], leading spacing (DDIM paper App. C.1)."""
    ab = alpha_bars(card)
    T = len(ab)
    S = steps or (T if sampler == "ddpm" else 50)
    ts = [i * (T // S) for i in range(S - 1, -1, -1)]
    out = []
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        a, a_prev = ab[t], (ab[t_prev] if t_prev >= 0 else 1.0)
        if t_prev < 0:
            sigma = 0.0
        elif sampler == "ddpm":  # fixed_small: beta' (1 - ab_prev) / (1 - ab), Ho et al. eq. 7
            beta = 1.0 - a / a_prev
            sigma = math.sqrt(beta * (1.0 - a_prev) / (1.0 - a))
        else:  # DDIM eq. 16 times eta
            sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a)) * math.sqrt(1.0 - a / a_prev)
        out.append((t, a, a_prev, sigma))
    return out


def sample(card, args, eps_model, clip):
    """The sampling loop; eps_model(x float64, t int) -> eps_hat float64."""
    gen = torch.Generator().manual_seed(args.seed)
    shape = [args.batch] + list(card["data_shape"])
    x = torch.randn(shape, generator=gen, dtype=torch.float32).to(torch.float64)
    for t, a, a_prev, sigma in plan(card, args.sampler, args.steps, args.eta):
        out = eps_model(x, t)
        sa, s1 = math.sqrt(a), math.sqrt(1.0 - a)
        eps = out
        x0 = (x - s1 * out) / sa  # Ho et al. eq. 4 solved for x_0
        if clip:
            x0 = x0.clamp(-clip, clip)
            eps = (x - sa * x0) / s1
        z = torch.randn(shape, generator=gen, dtype=torch.float32).to(torch.float64) if sigma > 0 else None
        if args.sampler == "ddpm":  # posterior mean, Ho et al. eq. 7
            beta = 1.0 - a / a_prev
            c_x0 = math.sqrt(a_prev) * beta / (1.0 - a)
            c_xt = math.sqrt(1.0 - beta) * (1.0 - a_prev) / (1.0 - a)
            x_prev = c_x0 * x0 + c_xt * x
        else:  # DDIM eq. 12
            c_eps = math.sqrt(max(0.0, 1.0 - a_prev - sigma * sigma))
            x_prev = math.sqrt(a_prev) * x0 + c_eps * eps
        if sigma > 0:
            x_prev.add_(z, alpha=sigma)
        x = x_prev
    return x


def main(description, make_eps_model, default_clip):
    args = parse_args(description).parse_args()
    torch.set_num_threads(args.threads)
    card = load_card(args.model)
    t0 = time.perf_counter()
    with torch.inference_mode():
        eps_model = make_eps_model(card, os.path.dirname(os.path.abspath(args.model)))
        x = sample(card, args, eps_model, default_clip(card))
    seconds = time.perf_counter() - t0
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        np.save(os.path.join(args.out, "samples.npy"), x.to(torch.float32).numpy())
    print(f"peer: {args.sampler} {len(plan(card, args.sampler, args.steps, args.eta))} steps, batch {args.batch}, "
          f"threads {torch.get_num_threads()}: {seconds:.3f} s", file=sys.stderr)
