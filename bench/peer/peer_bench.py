#!/usr/bin/python3
"""NoiseTrail against a plain PyTorch loop, alternately, in one run.

For every case: first a short run of both on the same seed (so the same x_T and
sampler noise) whose final samples must be bit-identical, then --runs rounds of
whole processes, the variants' order rotating each round so that slow phases of
the machine hit all of them. Every timed run's samples are compared again.
Prints min and median wall time, user and sys CPU, page faults and peak memory
of each variant, and the ratio to the peer, with the load average before and after.

usage: bench/peer_bench.sh [--quick] [--cases NAME,...] [--runs N] [--variants ours,peer,ours-plain,peer-tuned]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UNET, RING = os.path.join(ROOT, "models/mnist-unet.json"), os.path.join(ROOT, "models/ring8.json")

# name: (card, peer script, sampler, steps, batch, threads)
CASES = {}
for sampler, steps in (("ddim", 50), ("ddpm", 1000)):
    for batch in (16, 64):
        for threads in (1, 2):
            CASES[f"unet-{sampler}{steps}-b{batch}-t{threads}"] = (UNET, "peer_unet.py", sampler, steps, batch, threads)
CASES["unet-ddpm100-b16-t1"] = (UNET, "peer_unet.py", "ddpm", 100, 16, 1)
CASES["ring8-ddpm1000-b4096-t1"] = (RING, "peer_mixture.py", "ddpm", 1000, 4096, 1)
CASES["ring8-ddpm1000-b4096-t2"] = (RING, "peer_mixture.py", "ddpm", 1000, 4096, 2)
FULL = [k for k in CASES if k.startswith(("unet-ddim50", "unet-ddpm1000"))] + ["ring8-ddpm1000-b4096-t1"]
QUICK = ["unet-ddim50-b16-t1", "unet-ddim50-b16-t2", "unet-ddpm100-b16-t1", "ring8-ddpm1000-b4096-t1"]

# What each variant changes in the environment; ours-plain: glibc's default allocator
# thresholds (noisetrail::prepare_process skips its mallopt calls).
# peer-tuned: the peer with the same allocator thresholds, through glibc's tunables.
VARIANT_ENV = {"ours": {}, "ours-plain": {"NOISETRAIL_MALLOC_TUNING": "0"}, "peer": {},
               "peer-tuned": {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=67108864:"
                                                "glibc.malloc.trim_threshold=268435456"}}


def card_for_ours(card, analytic_dtype, tmp):
    """The mixture card with "precision" set to what the peer uses (our default is float32)."""
    import json
    j = json.load(open(card))
    if j.get("kind") != "gaussian-mixture":
        return card
    j["precision"] = analytic_dtype
    path = os.path.join(tmp, f"{analytic_dtype}-" + os.path.basename(card))
    json.dump(j, open(path, "w"))
    return path


def command(variant, case, steps, out, cli, analytic_dtype):
    card, peer, sampler, _, batch, threads = CASES[case]
    if not variant.startswith("peer"):
        card = card_for_ours(card, analytic_dtype, os.path.dirname(out))
    common = ["--model", card, "--sampler", sampler, "--steps", str(steps), "--batch", str(batch), "--seed", "1",
              "--threads", str(threads), "--out", out]
    if variant.startswith("peer"):
        extra = ["--dtype", analytic_dtype] if peer == "peer_mixture.py" else []
        return ["/usr/bin/python3", os.path.join(HERE, peer)] + common + extra
    return [cli, "sample"] + common


def run_once(variant, case, steps, out, cli, analytic_dtype):
    env = dict(os.environ, **VARIANT_ENV[variant])
    cmd = command(variant, case, steps, out, cli, analytic_dtype)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"peer_bench: {variant} failed on {case} (exit {p.returncode}): {err.decode()[-500:]}")
    return {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "minflt": ru.ru_minflt,
            "maxrss_mib": ru.ru_maxrss / 1024.0}


def samples(out):
    return np.load(os.path.join(out, "samples.npy"))


def same_samples(a, b):
    x, y = samples(a), samples(b)
    if x.shape == y.shape and np.array_equal(x, y):
        return "bit-identical"
    return f"DIFFER (max |diff| {np.abs(x.astype(np.float64) - y).max():.3g})" if x.shape == y.shape else "DIFFER (shape)"


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def median(v):
    return statistics.median(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="cases " + ", ".join(QUICK))
    ap.add_argument("--cases", help="comma-separated case names (default: the full set); --list shows them")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--variants", default="ours,peer", help="from ours, peer, ours-plain, peer-tuned (default ours,peer)")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build/release/app/noisetrail-cli"))
    ap.add_argument("--analytic-dtype", default="float32", choices=["float32", "float64"],
                    help="precision of the mixture's eps* in both (default float32, our engine's default)")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return
    cases = a.cases.split(",") if a.cases else (QUICK if a.quick else FULL)
    variants = a.variants.split(",")
    for c in cases:
        if c not in CASES:
            sys.exit(f"peer_bench: --cases: unknown case '{c}' (--list shows them)")
    for v in variants:
        if v not in VARIANT_ENV:
            sys.exit(f"peer_bench: --variants: unknown variant '{v}'")
    if not os.access(a.cli, os.X_OK):
        sys.exit(f"peer_bench: --cli {a.cli}: not an executable (build noisetrail-cli first)")

    print(f"# peer benchmark {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {loadavg()}")
    print(f"# variants {', '.join(variants)}; {a.runs} runs each, order rotating; times are whole processes\n")
    rows = []
    with tempfile.TemporaryDirectory(prefix="peer_bench_") as tmp:
        for case in cases:
            card, peer, sampler, steps, batch, threads = CASES[case]
            # The check before timing: a short run of the same model, batch and threads.
            short = 5 if sampler == "ddim" else 20
            outs = {v: os.path.join(tmp, f"{case}-check-{v}") for v in variants}
            for v in variants:
                run_once(v, case, short, outs[v], a.cli, a.analytic_dtype)
            check = {v: same_samples(outs[variants[0]], outs[v]) for v in variants[1:]}
            print(f"{case}: check ({sampler} {short} steps): " + ", ".join(f"{v} {s}" for v, s in check.items()),
                  file=sys.stderr)
            res = {v: [] for v in variants}
            verdict = list(check.values())
            for r in range(a.runs):
                order = variants[r % len(variants):] + variants[:r % len(variants)]
                for v in order:
                    out = os.path.join(tmp, f"{case}-{r}-{v}")
                    m = run_once(v, case, steps, out, a.cli, a.analytic_dtype)
                    res[v].append(m)
                    print(f"  {case} run {r + 1} {v}: {m['wall']:.2f} s (user {m['user']:.2f}, sys {m['sys']:.2f}, "
                          f"{m['minflt']} faults, {m['maxrss_mib']:.0f} MiB)", file=sys.stderr)
                for v in variants[1:]:
                    verdict.append(same_samples(os.path.join(tmp, f"{case}-{r}-{variants[0]}"),
                                             os.path.join(tmp, f"{case}-{r}-{v}")))
            rows.append((case, res, verdict))

    base = "peer" if "peer" in variants else variants[-1]
    print("| case | variant | min s | median s | vs " + base + " (min, median) | user s | sys s | faults | max RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for case, res, verdict in rows:
        bmin = min(m["wall"] for m in res[base])
        bmed = median([m["wall"] for m in res[base]])
        for v in variants:
            w = [m["wall"] for m in res[v]]
            print(f"| {case} | {v} | {min(w):.2f} | {median(w):.2f} | {min(w) / bmin:.2f}, {median(w) / bmed:.2f} | "
                  f"{median([m['user'] for m in res[v]]):.2f} | {median([m['sys'] for m in res[v]]):.2f} | "
                  f"{int(median([m['minflt'] for m in res[v]]))} | {max(m['maxrss_mib'] for m in res[v]):.0f} |")
    print()
    for case, _, verdict in rows:
        # Each comparison (the check, then every round) is "bit-identical" or "DIFFER (...)";
        # at 2 threads a round can differ in the last bits (the threads' summation order).
        same = sum(v == "bit-identical" for v in verdict)
        differ = [v for v in verdict if v != "bit-identical"]
        summary = f"bit-identical in {same} of {len(verdict)} comparisons"
        if differ:
            summary += "; the others: " + ", ".join(differ)
        print(f"- {case}: final samples {summary}")
    print(f"\n# load average after: {loadavg()}")


if __name__ == "__main__":
    main()
