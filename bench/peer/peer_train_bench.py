#!/usr/bin/python3
"""NoiseTrail's trainer against a plain PyTorch training loop, alternately, in one run.

For every case (network, batch, threads): --runs rounds of whole processes, the variants' order
rotating each round so that slow phases of the machine hit all of them. Ours is
`noisetrail-cli train` (the core trainer the GUI's training worker runs); the peer is
peer_train.py, the same network, batch, optimiser and per-step work in plain PyTorch.
Two figures per run:
- CPU ms per step: each variant runs --steps and --short steps; (CPU(long) - CPU(short)) /
  (long - short), CPU = user + sys of the whole process (getrusage of the child). Start-up, loading and
  what is written at the end cancel out, and it holds on a loaded machine (other jobs take
  wall time, not this process's CPU time). With 2 threads it sums both threads.
- steps/s (wall) of the long run's steps after the first log interval: ours from the loss
  log it writes (each row's samples/s over its interval), the peer timed over the same
  steps. Meaningful only on an idle machine; the load average is printed per run.
Prints the median of each, the ratio ours / peer (> 1: ours is faster) and the load
average before and after.

usage: bench/train_bench.sh [--quick] [--cases NAME,...] [--runs N] [--steps N] [--variants ours,peer,peer-blas]
"""
import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MOONS = os.path.join(ROOT, "models/two-moons.npy")

# name: (hidden, blocks, time_dim, batch, threads). moons-*: the shipped two-moons MLP's recipe
# (models/two-moons-mlp.train.json); small-*: a network the size a live GUI run would use.
CASES = {
    "moons-h128x3-b512-t1": (128, 3, 64, 512, 1),
    "moons-h128x3-b512-t2": (128, 3, 64, 512, 2),
    "small-h64x2-b256-t1": (64, 2, 32, 256, 1),
}
QUICK = ["moons-h128x3-b512-t1", "small-h64x2-b256-t1"]
LOG_EVERY = 50


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


# peer-blas: the peer with OpenBLAS limited to its intra-op threads, as ours sets it (idle
# OpenBLAS workers spin in sched_yield; a plain loop does not think of it).
VARIANTS = ["ours", "peer", "peer-blas"]


def run(cmd, env=None):
    """stdout, wall seconds and CPU seconds (user + sys, all threads) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, **(env or {})))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN) # one child at a time: the difference is this one
    if p.returncode != 0:
        sys.exit(f"train_bench: {' '.join(cmd[:2])} failed (exit {p.returncode}): {p.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.stdout, wall, cpu


def ours(cli, case, steps, out):
    hidden, blocks, time_dim, batch, threads = CASES[case]
    arch = json.dumps({"hidden": hidden, "blocks": blocks, "time_dim": time_dim})
    card = os.path.join(out, "model.json")
    _, wall, cpu = run([cli, "train", "--kind", "noisetrail-mlp", "--data", MOONS, "--steps", str(steps), "--batch",
                        str(batch), "--architecture", arch, "--threads", str(threads), "--seed", "1", "--samples", "1",
                        "--log-every", str(LOG_EVERY), "--fresh", "--out", card])
    rows = list(csv.DictReader(open(os.path.join(out, "model-loss.csv"))))
    # Each row: the interval's samples/s; its seconds = steps * batch / samples_per_s.
    timed = rows[1:]
    secs = sum(LOG_EVERY * batch / float(r["samples_per_s"]) for r in timed)
    return {"steps_per_s": LOG_EVERY * len(timed) / secs if timed else float("nan"), "wall": wall, "cpu": cpu,
            "final_loss": float(rows[-1]["loss"])}


def peer(case, steps, blas_threads=False):
    hidden, blocks, time_dim, batch, threads = CASES[case]
    out, wall, cpu = run(["/usr/bin/python3", os.path.join(HERE, "peer_train.py"), "--data", MOONS, "--steps",
                          str(steps), "--batch", str(batch), "--hidden", str(hidden), "--blocks", str(blocks),
                          "--time-dim", str(time_dim), "--threads", str(threads), "--seed", "1", "--log-every",
                          str(LOG_EVERY)], {"OPENBLAS_NUM_THREADS": str(threads)} if blas_threads else None)
    r = json.loads(out.strip().splitlines()[-1])
    r.update(wall=wall, cpu=cpu)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="cases " + ", ".join(QUICK))
    ap.add_argument("--cases", help="comma-separated case names (default: all); --list shows them")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=600, help="steps of the long run (a multiple of 50; default 600)")
    ap.add_argument("--short", type=int, default=100, help="steps of the short run (default 100)")
    ap.add_argument("--variants", default="ours,peer", help="from " + ", ".join(VARIANTS) + " (default ours,peer)")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build/release/app/noisetrail-cli"))
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return
    cases = a.cases.split(",") if a.cases else (QUICK if a.quick else list(CASES))
    variants = a.variants.split(",")
    if "peer" not in variants or any(v not in VARIANTS for v in variants):
        sys.exit(f"train_bench: --variants: from {', '.join(VARIANTS)}, including peer (the baseline)")
    for c in cases:
        if c not in CASES:
            sys.exit(f"train_bench: --cases: unknown case '{c}' (--list shows them)")
    if a.steps < 2 * LOG_EVERY or a.steps % LOG_EVERY or not LOG_EVERY <= a.short < a.steps:
        sys.exit(f"train_bench: --steps must be a multiple of {LOG_EVERY}, at least {2 * LOG_EVERY}, "
                 f"and --short in {LOG_EVERY}..steps-1")
    if not os.access(a.cli, os.X_OK):
        sys.exit(f"train_bench: --cli {a.cli}: not an executable (build noisetrail-cli first)")

    print(f"# training benchmark {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {loadavg()}")
    print(f"# {a.steps} and {a.short} steps per pair of runs, {a.runs} pairs each, order rotating; "
          f"data {os.path.relpath(MOONS, ROOT)}\n")
    rows = []
    with tempfile.TemporaryDirectory(prefix="train_bench_") as tmp:
        for case in cases:
            res = {v: [] for v in variants}
            for r in range(a.runs):
                for v in variants[r % len(variants):] + variants[:r % len(variants)]:
                    go = (lambda n: ours(a.cli, case, n, os.path.join(tmp, f"{case}-{r}-{n}"))) if v == "ours" \
                        else (lambda n: peer(case, n, v == "peer-blas"))
                    short, long = go(a.short), go(a.steps)
                    m = {"cpu_ms": 1000 * (long["cpu"] - short["cpu"]) / (a.steps - a.short),
                         "steps_per_s": long["steps_per_s"], "wall": long["wall"], "final_loss": long["final_loss"]}
                    res[v].append(m)
                    print(f"  {case} run {r + 1} {v}: {m['cpu_ms']:.2f} CPU ms/step, {m['steps_per_s']:.1f} steps/s "
                          f"(process {m['wall']:.1f} s, last loss {m['final_loss']:.3f}), load {loadavg()}",
                          file=sys.stderr)
            rows.append((case, res))

    print("| case | variant | CPU ms/step (median) | vs peer | steps/s wall (median, max) | vs peer (median) |")
    print("|---|---|---:|---:|---:|---:|")
    for case, res in rows:
        med = {v: statistics.median(m["cpu_ms"] for m in res[v]) for v in res}
        sps = {v: statistics.median(m["steps_per_s"] for m in res[v]) for v in res}
        for v in variants:
            print(f"| {case} | {v} | {med[v]:.2f} | {med['peer'] / med[v]:.2f} | {sps[v]:.1f}, "
                  f"{max(m['steps_per_s'] for m in res[v]):.1f} | {sps[v] / sps['peer']:.2f} |")
    print("\n# vs peer: the peer's time over ours (> 1: ours is faster)")
    print(f"# load average after: {loadavg()}")


if __name__ == "__main__":
    main()
