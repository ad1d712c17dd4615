#!/usr/bin/python3
"""Export your own PyTorch denoiser for NoiseTrail: a TorchScript module plus its model card.

NoiseTrail calls a model card of kind `torchscript` as

    model(x_t, t) -> prediction          x_t float32 [B, *data_shape], t int64 [B],
                                         the prediction (epsilon, sample or v) of x_t's shape

Your network may differ from that convention in the usual ways; the wrapper here absorbs them:

  * it returns an object with a `.sample` tensor (diffusers' UNet2DModel returns
    UNet2DOutput), a dict with "sample", or a tuple whose first element is the tensor;
  * it expects float timesteps (t as float32 values 0..T-1, as many diffusers models
    accept), or timesteps scaled to [0, 1) (--timestep-scale 0.001 for T = 1000);
  * it is called with keyword names other than (x, t): only the order matters.

The wrapped module is traced (default) or scripted (--script), then checked on probe
inputs against the original network (another batch size and other timesteps than those
it was traced with), and written with its card next to it.

Command line (Debian 12: apt-get install python3-torch; run with /usr/bin/python3):

    /usr/bin/python3 scripts/export_torchscript.py --model-file my_unet.py --factory load \\
        --data-shape 1,28,28 --data-range -1,1 --prediction epsilon \\
        --schedule linear --beta-start 0.0001 --beta-end 0.02 --train-steps 1000 \\
        --out models/my-unet.json

`--model-file FILE.py --factory NAME` imports FILE.py and calls NAME() to get the
nn.Module (load your weights there). The schedule flags must be those the network was
trained with: NoiseTrail computes alpha_bar from them. From Python:

    from export_torchscript import export
    export(net, "models/my-unet.json", data_shape=[1, 28, 28], prediction="epsilon")

Exit codes: 0 written, 2 bad arguments or a model that does not fit (one line on stderr).
"""
import argparse
import importlib.util
import json
import os
import sys
from typing import List, Optional, Sequence

import torch

PREDICTIONS = ("epsilon", "sample", "v")
SCHEDULES = ("linear", "scaled_linear", "cosine", "sigmoid")


class ExportError(Exception):
    """A model or argument that does not fit the card's convention (exit 2)."""


def unwrap(out):
    """The prediction tensor of a network's output: a tensor, `.sample`, ["sample"] or [0]."""
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "sample") and isinstance(out.sample, torch.Tensor):
        return out.sample  # diffusers' BaseOutput (UNet2DOutput and the like)
    if isinstance(out, dict) and isinstance(out.get("sample"), torch.Tensor):
        return out["sample"]
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]  # diffusers with return_dict=False
    raise ExportError(f"the model returned {type(out).__name__}; expected a tensor, an object with "
                      "a .sample tensor, a dict with 'sample' or a tuple starting with the tensor")


class CardConvention(torch.nn.Module):
    """model(x_t float32 [B, ...], t int64 [B]) -> tensor of x_t's shape, around any denoiser f(x, t)."""

    def __init__(self, net: torch.nn.Module, float_timesteps: bool, timestep_scale: float):
        super().__init__()
        self.net = net
        self.float_timesteps = float_timesteps
        self.timestep_scale = timestep_scale

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.float_timesteps:
            tt = t.to(torch.float32) * self.timestep_scale
        else:
            tt = t
        return unwrap(self.net(x, tt)).to(torch.float32)


def probe_batch(data_shape: Sequence[int], batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn([batch, *data_shape], generator=g, dtype=torch.float32)


def timesteps(batch: int, train_steps: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, train_steps, (batch,), generator=g, dtype=torch.int64)


def choose_timesteps(net, data_shape, train_steps, timestep_type: str, timestep_scale: float) -> bool:
    """Whether the net gets float timesteps: as asked, or (auto) int64 first, float32 if that fails."""
    if timestep_type in ("int", "float"):
        return timestep_type == "float" or timestep_scale != 1.0
    if timestep_scale != 1.0:
        return True  # a scale only makes sense on float timesteps
    x = probe_batch(data_shape, 2, 1)
    t = timesteps(2, train_steps, 2)
    with torch.no_grad():
        try:
            unwrap(net(x, t))
            return False
        except ExportError:
            raise
        except Exception:
            pass
        try:
            unwrap(net(x, t.to(torch.float32)))
            return True
        except ExportError:
            raise
        except Exception as e:
            raise ExportError(f"the model fails on x {list(x.shape)} with int64 and with float32 timesteps "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); check --data-shape")


def check(module, reference, data_shape, train_steps, tolerance: float) -> None:
    """The exported module against the original on inputs it was not traced with."""
    for batch, seed in ((3, 11), (1, 12), (5, 13)):
        x = probe_batch(data_shape, batch, seed)
        t = timesteps(batch, train_steps, seed + 100)
        t[0] = train_steps - 1  # the first sampling step
        with torch.no_grad():
            got = module(x, t)
            want = reference(x, t)
        if not isinstance(got, torch.Tensor):
            raise ExportError(f"the exported module returned {type(got).__name__}, expected a tensor")
        if got.dtype != torch.float32:
            raise ExportError(f"the exported module returned {got.dtype}, expected float32")
        if list(got.shape) != list(x.shape):
            raise ExportError(f"the model returned shape {list(got.shape)} for x_t {list(x.shape)}: "
                              "the prediction must have x_t's shape")
        if not torch.isfinite(got).all():
            raise ExportError(f"the model returned non-finite values on a probe (batch {batch})")
        err = (got - want).abs().max().item()
        scale = max(1.0, want.abs().max().item())
        if err > tolerance * scale:
            raise ExportError(f"the exported module differs from the original by {err:.3g} on batch {batch}: "
                              "tracing froze a shape or a branch; try --script, or make the model's "
                              "control flow independent of the batch size and of t")


def card_for(name, data_shape, prediction, schedule, beta_start, beta_end, train_steps, file_name,
             data_range: Optional[List[float]], description: str, export_info: dict) -> dict:
    card = {
        "format": "noisetrail-model/1",
        "name": name,
        "kind": "torchscript",
        "description": description,
        "data_shape": list(data_shape),
        "prediction": prediction,
        "schedule": {"kind": schedule, "beta_start": beta_start, "beta_end": beta_end, "train_steps": train_steps},
        "file": file_name,
        "export": export_info,
    }
    if data_range is not None:
        card["data_range"] = list(data_range)
    return card


def export(net: torch.nn.Module, card_path: str, data_shape: Sequence[int], prediction: str = "epsilon",
           schedule: str = "linear", beta_start: float = 1e-4, beta_end: float = 0.02, train_steps: int = 1000,
           name: Optional[str] = None, description: str = "", data_range: Optional[Sequence[float]] = None,
           timestep_type: str = "auto", timestep_scale: float = 1.0, script: bool = False,
           tolerance: float = 1e-4) -> str:
    """Wrap, trace (or script), check and write `card_path` and its .pt next to it. Returns the .pt path."""
    data_shape = [int(d) for d in data_shape]
    if not data_shape or any(d < 1 for d in data_shape):
        raise ExportError(f"--data-shape {data_shape}: every dimension must be >= 1")
    if prediction not in PREDICTIONS:
        raise ExportError(f"--prediction {prediction}: expected one of {', '.join(PREDICTIONS)}")
    if schedule not in SCHEDULES:
        raise ExportError(f"--schedule {schedule}: expected one of {', '.join(SCHEDULES)}")
    if train_steps < 1:
        raise ExportError(f"--train-steps {train_steps}: must be >= 1")
    if not card_path.endswith(".json"):
        raise ExportError(f"--out {card_path}: the card's name must end in .json")
    if data_range is not None and (len(data_range) != 2 or not data_range[0] < data_range[1]):
        raise ExportError(f"--data-range {list(data_range)}: expected LOW,HIGH with LOW < HIGH")

    net = net.eval().to(torch.float32)
    for p in net.parameters():
        p.requires_grad_(False)
    float_t = choose_timesteps(net, data_shape, train_steps, timestep_type, timestep_scale)
    wrapper = CardConvention(net, float_t, timestep_scale).eval()
    if script:
        try:
            module = torch.jit.script(wrapper)
        except Exception as e:
            raise ExportError(f"torch.jit.script failed ({str(e).splitlines()[0]}); try tracing (no --script)")
    else:
        x = probe_batch(data_shape, 2, 1)
        t = torch.tensor([train_steps - 1, train_steps // 2], dtype=torch.int64)
        with torch.no_grad():
            module = torch.jit.trace(wrapper, (x, t), check_trace=False)
    module = module.eval()
    check(module, wrapper, data_shape, train_steps, tolerance)

    out_dir = os.path.dirname(os.path.abspath(card_path))
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(card_path))[0]
    pt_path = os.path.join(out_dir, stem + ".pt")
    module.save(pt_path)
    # Reload what was written and check it once more: the file is what NoiseTrail loads.
    check(torch.jit.load(pt_path), wrapper, data_shape, train_steps, tolerance)
    info = {
        "tool": "scripts/export_torchscript.py",
        "method": "script" if script else "trace",
        "source": type(net).__module__ + "." + type(net).__qualname__,
        "timesteps": ("float32 x %g" % timestep_scale) if float_t else "int64",
        "torch": torch.__version__,
    }
    card = card_for(name or stem, data_shape, prediction, schedule, beta_start, beta_end, train_steps,
                    os.path.basename(pt_path), list(data_range) if data_range is not None else None,
                    description, info)
    tmp = card_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    os.replace(tmp, card_path)
    return pt_path


def load_factory(path: str, factory: str) -> torch.nn.Module:
    if not os.path.isfile(path):
        raise ExportError(f"--model-file {path}: no such file")
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(mod)
    except Exception as e:
        raise ExportError(f"--model-file {path}: importing it failed ({type(e).__name__}: {e})")
    fn = getattr(mod, factory, None)
    if fn is None:
        raise ExportError(f"--factory {factory}: {path} defines no such name")
    net = fn() if callable(fn) and not isinstance(fn, torch.nn.Module) else fn
    if not isinstance(net, torch.nn.Module):
        raise ExportError(f"--factory {factory}: returned {type(net).__name__}, expected a torch.nn.Module")
    return net


def floats(text: str, flag: str) -> List[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ExportError(f"{flag} {text}: expected comma-separated numbers")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Export a PyTorch denoiser f(x, t) as a NoiseTrail TorchScript card.")
    ap.add_argument("--model-file", required=True, help="Python file that builds the network")
    ap.add_argument("--factory", default="load", help="name in it: a function returning the nn.Module, "
                    "or the module itself (default: load)")
    ap.add_argument("--out", required=True, help="the card to write (CARD.json; CARD.pt goes next to it)")
    ap.add_argument("--data-shape", required=True, help="shape of one sample, e.g. 1,28,28 or 2")
    ap.add_argument("--prediction", default="epsilon", choices=PREDICTIONS)
    ap.add_argument("--schedule", default="linear", choices=SCHEDULES)
    ap.add_argument("--beta-start", type=float, default=1e-4)
    ap.add_argument("--beta-end", type=float, default=0.02)
    ap.add_argument("--train-steps", type=int, default=1000)
    ap.add_argument("--data-range", help="LOW,HIGH of the data, e.g. -1,1 for images (enables x0 clipping)")
    ap.add_argument("--name", help="display name (default: the card's file name)")
    ap.add_argument("--description", default="")
    ap.add_argument("--timesteps", default="auto", choices=("auto", "int", "float"),
                    help="what the network expects for t (auto: int64, else float32)")
    ap.add_argument("--timestep-scale", type=float, default=1.0,
                    help="multiply t by this before the call (implies float timesteps)")
    ap.add_argument("--script", action="store_true", help="torch.jit.script instead of trace")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="allowed max difference on the probes, relative")
    a = ap.parse_args(argv)
    try:
        shape = [int(v) for v in floats(a.data_shape, "--data-shape")]
        rng = floats(a.data_range, "--data-range") if a.data_range else None
        net = load_factory(a.model_file, a.factory)
        pt = export(net, a.out, shape, a.prediction, a.schedule, a.beta_start, a.beta_end, a.train_steps,
                    a.name, a.description, rng, a.timesteps, a.timestep_scale, a.script, a.tolerance)
    except ExportError as e:
        print(f"export_torchscript: error: {e}", file=sys.stderr)
        return 2
    print(f"export_torchscript: wrote {a.out} and {pt} (checked on probe batches of 1, 3 and 5)")
    print(f"  try: noisetrail-cli sample --model {a.out} --trust-code --sampler ddim --steps 50 --out samples/")
    print("  (--trust-code: a TorchScript module is code; run only modules whose source you trust)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
