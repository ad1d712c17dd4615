#!/usr/bin/python3
"""Bring your own model, end to end: a diffusers-style toy denoiser defined here (no
downloads) goes through scripts/export_torchscript.py and is sampled by the real
noisetrail-cli; the samples are checked against the closed form the toy encodes.

The toy behaves like diffusers' UNet2DModel where it matters for export: forward(sample,
timestep, return_dict=True) returns an object with `.sample`, and it insists on float
timesteps. What it computes is the exact noise predictor of one Gaussian N(MU, S^2 I) on
[1, 8, 8] images, eps*(x, t) = sqrt(1 - ab_t) (x - sqrt(ab_t) MU) / (ab_t S^2 + 1 - ab_t)
(docs/MODEL-CARDS.md), through a 1x1 convolution with identity weights. So DDIM with
eta = 0 must land on samples whose pixel means are MU and whose standard deviation is
what the DDIM steps make of a Gaussian in closed form (computed below).

Run by CTest: tst_export_torchscript.py --cli NOISETRAIL_CLI --script EXPORT_SCRIPT.
Exit 77 (skipped) when torch or numpy cannot be imported.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:  # python3-torch is in scripts/setup.sh's list; without it, skip
    print(f"SKIP: {e}")
    sys.exit(77)

TOY = r'''
import dataclasses
import torch

T = 1000
S = 0.1


@dataclasses.dataclass
class ToyOutput:
    sample: torch.Tensor


def pattern():
    # A plus sign in [-0.8, 0.8] on an 8x8 image: easy to recognise in a screenshot.
    mu = torch.full((1, 8, 8), -0.8, dtype=torch.float64)
    mu[0, 3:5, :] = 0.8
    mu[0, :, 3:5] = 0.8
    return mu


class ToyUNet2DModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
        self.register_buffer("alpha_bar", torch.cumprod(1.0 - betas, dim=0))
        self.register_buffer("mu", pattern())
        self.out = torch.nn.Conv2d(1, 1, kernel_size=1)
        with torch.no_grad():
            self.out.weight.fill_(1.0)
            self.out.bias.zero_()

    def forward(self, sample, timestep, return_dict=True):
        if not torch.is_floating_point(timestep):
            raise TypeError("this toy, like many diffusers models, wants float timesteps")
        ab = self.alpha_bar[timestep.long()].view(-1, 1, 1, 1)
        x = sample.to(torch.float64)
        eps = torch.sqrt(1 - ab) * (x - torch.sqrt(ab) * self.mu) / (ab * S * S + 1 - ab)
        out = self.out(eps.to(torch.float32))
        return ToyOutput(sample=out) if return_dict else (out,)


class WrongShape(torch.nn.Module):
    def forward(self, x, t):
        return x.flatten(1)


def load():
    return ToyUNet2DModel()


def wrong():
    return WrongShape()
'''


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--keep", help="also copy the exported card here (for a GUI check)")
    a = ap.parse_args()
    a.cli, a.script = os.path.abspath(a.cli), os.path.abspath(a.script)
    with tempfile.TemporaryDirectory() as tmp:
        toy = os.path.join(tmp, "toy_unet.py")
        with open(toy, "w") as f:
            f.write(TOY)
        card = os.path.join(tmp, "models", "toy-unet.json")
        code, out, err = run([sys.executable, a.script, "--model-file", toy, "--factory", "load",
                              "--data-shape", "1,8,8", "--data-range=-1,1", "--name", "Toy UNet (diffusers-style)",
                              "--out", card])
        if code != 0:
            fail(f"export failed ({code}): {err}")
        print(out.strip())
        with open(card) as f:
            c = json.load(f)
        for key, want in (("kind", "torchscript"), ("data_shape", [1, 8, 8]), ("prediction", "epsilon"),
                          ("file", "toy-unet.pt"), ("data_range", [-1.0, 1.0])):
            if c.get(key) != want:
                fail(f"card field {key} = {c.get(key)!r}, expected {want!r}")
        if c["schedule"] != {"kind": "linear", "beta_start": 1e-4, "beta_end": 0.02, "train_steps": 1000}:
            fail(f"card schedule {c['schedule']}")
        if not c["export"]["timesteps"].startswith("float32"):
            fail(f"float timesteps not detected: {c['export']}")

        # The module follows the card's convention on its own: int64 t in, a tensor out.
        m = torch.jit.load(os.path.join(tmp, "models", "toy-unet.pt"))
        y = m(torch.zeros(4, 1, 8, 8), torch.tensor([999, 500, 10, 0]))
        if not isinstance(y, torch.Tensor) or y.dtype != torch.float32 or list(y.shape) != [4, 1, 8, 8]:
            fail(f"exported module returned {type(y)} {getattr(y, 'shape', None)}")

        # Sample it with the real CLI, from another working directory.
        samples = os.path.join(tmp, "out")
        n = 2000
        # A module from outside the bundled models folder is code: refused until trusted.
        code, out, err = run([a.cli, "sample", "--model", card, "--steps", "2"], cwd=tmp)
        if code != 2 or "--trust-code" not in err or err.strip().count("\n") != 0:
            fail(f"untrusted TorchScript card: exit {code}, expected 2 naming --trust-code: {err}")
        code, out, err = run([a.cli, "sample", "--model", card, "--trust-code", "--sampler", "ddim", "--steps", "100",
                              "--batch", str(n), "--clip-x0", "off", "--seed", "3", "--threads", "1",
                              "--out", samples], cwd=tmp)
        if code != 0:
            fail(f"noisetrail-cli sample failed ({code}): {err}")
        x = np.load(os.path.join(samples, "samples.npy"))
        if x.shape != (n, 1, 8, 8) or x.dtype != np.float32:
            fail(f"samples.npy {x.shape} {x.dtype}")
        mu = np.full((1, 8, 8), -0.8)
        mu[0, 3:5, :] = 0.8
        mu[0, :, 3:5] = 0.8
        # With an exact Gaussian eps*, each DDIM step (eta 0) is affine: the deviation
        # d = x_t - sqrt(ab_t) MU becomes k d with k = sqrt(ab_prev) sqrt(ab) S^2 / v +
        # sqrt(1 - ab_prev) sqrt(1 - ab) / v, v = ab S^2 + 1 - ab (the DDIM step of docs/MODEL-CARDS.md
        # DDIM step on the closed-form x0_hat, eps_hat). x_T ~ N(0, I), so the samples'
        # std is the product of the k over the 100 leading-spacing steps (t = 990, ..., 0),
        # 0.0883 rather than S = 0.1: DDIM's discretisation error, computed here exactly.
        ab = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))
        ts = [i * 10 for i in range(99, -1, -1)]
        want_std = 1.0
        for i, t in enumerate(ts):
            ab_t, ab_prev = ab[t], (ab[ts[i + 1]] if i + 1 < len(ts) else 1.0)
            v = ab_t * 0.01 + 1 - ab_t
            want_std *= (np.sqrt(ab_prev) * np.sqrt(ab_t) * 0.01 + np.sqrt(1 - ab_prev) * np.sqrt(1 - ab_t)) / v
        # Per-pixel mean: standard error want_std / sqrt(n) = 0.002; allow 6 of them.
        mean_err = np.abs(x.mean(axis=0) - mu).max()
        std = x.std(axis=0).mean()
        print(f"samples: max |mean - MU| = {mean_err:.4f}, mean std = {std:.4f} (closed form {want_std:.4f})")
        if mean_err > 0.012:
            fail(f"pixel means off by {mean_err}")
        if abs(std - want_std) > 0.03 * want_std:
            fail(f"sample std {std}, expected {want_std}")

        # A model that does not fit the convention is one clear error, exit 2, no card written.
        bad = os.path.join(tmp, "bad.json")
        code, out, err = run([sys.executable, a.script, "--model-file", toy, "--factory", "wrong",
                              "--data-shape", "1,8,8", "--out", bad])
        if code != 2 or "shape" not in err or os.path.exists(bad):
            fail(f"wrong-shape model: exit {code}, stderr {err!r}")
        code, out, err = run([sys.executable, a.script, "--model-file", os.path.join(tmp, "nope.py"),
                              "--data-shape", "2", "--out", bad])
        if code != 2 or "nope.py" not in err:
            fail(f"missing model file: exit {code}, stderr {err!r}")

        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
            for f in ("toy-unet.json", "toy-unet.pt"):
                with open(os.path.join(tmp, "models", f), "rb") as src, open(os.path.join(a.keep, f), "wb") as dst:
                    dst.write(src.read())
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
