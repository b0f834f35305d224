"""Inference latency: the practitioner path vs naive eager PyTorch, side by side in one run.

MobileNetV2 1.0, one 224x224 fp32 image (batch 1), the same weights (seed 0) on both sides:

* practitioner (``mnv2lab.inference.prepare_for_inference`` + ``run_inference``): eval mode,
  BatchNorm folded into the convolutions, ReLU6 in place, channels_last weights and input,
  ``torch.inference_mode()``;
* naive: the model in eval mode, NCHW, BatchNorm unfolded, called without ``inference_mode`` or
  ``no_grad`` (autograd records a graph nobody uses): what a first script does.

For each thread count the two sides alternate (A B, B A, A B, ...) for ``--rounds`` rounds of
``--number`` calls each, timed with ``torch.utils.benchmark.Timer`` with ``num_threads`` set
explicitly (it defaults to one thread). Reported: medians and IQRs of the per-call times, the
ratio of the medians, and the median of the per-round ratios (robust to load drifting during the
run). The target is practitioner >= 1.5x faster on 2 threads.

Achieved GFLOP/s = 2 x multiply-adds (conv and linear layers, 300.8M for MobileNetV2 1.0) /
latency, against the peak of a large float32 matrix multiply (2 n^3 FLOPs, best of several) at
the same thread count. The 1-minute load average before and after, and the cores other processes
kept busy during each block, are printed: on a shared machine the numbers are only as good as the
load (``--wait-quiet 0.15`` waits for a quiet moment first).

Usage: python benchmarks/inference_latency.py [--threads 1 2] [--rounds 30] [--number 5]
       [--omp-wait-policy passive] [--wait-quiet 0.15] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts")
    ap.add_argument("--rounds", type=int, default=30, help="alternating rounds per thread count")
    ap.add_argument("--number", type=int, default=5, help="calls per round and side")
    ap.add_argument("--width", type=float, default=1.0, help="MobileNetV2 width multiplier")
    ap.add_argument("--resolution", type=int, default=224, help="input size (pixels)")
    ap.add_argument("--gemm-size", type=int, default=2048, help="n of the n x n sgemm peak")
    ap.add_argument(
        "--omp-wait-policy",
        choices=("passive", "active"),
        help="set OMP_WAIT_POLICY before torch loads (default: leave it as it is)",
    )
    ap.add_argument(
        "--wait-quiet",
        type=float,
        metavar="CORES",
        help="first wait (up to an hour) until other processes use at most CORES cores",
    )
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    for name in ("rounds", "number", "gemm_size", "resolution"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}; allowed: >= 1")
    if any(t < 1 for t in args.threads):
        ap.error(f"--threads: got {args.threads}; allowed: integers >= 1")
    return args


def sgemm_peak(n: int, threads: int, repeats: int = 5) -> float:
    """Best GFLOP/s of an n x n x n float32 matrix multiply at ``threads`` threads."""
    import torch
    from torch.utils.benchmark import Timer

    a, b = torch.randn(n, n), torch.randn(n, n)
    timer = Timer("torch.mm(a, b)", globals={"torch": torch, "a": a, "b": b}, num_threads=threads)
    timer.timeit(2)
    best = min(timer.timeit(3).median for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def interleaved(sides: dict, x: dict, threads: int, rounds: int, number: int) -> dict:
    """Per-call seconds of every side, rounds alternating the order (A B, B A, ...)."""
    from torch.utils.benchmark import Timer

    timers = {
        name: Timer("f(x)", globals={"f": f, "x": x[name]}, num_threads=threads)
        for name, f in sides.items()
    }
    for t in timers.values():  # warm-up (oneDNN primitives, caches)
        t.timeit(3)
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(timers[name].timeit(number).median)
    return times


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import numpy as np
    import torch

    from mnv2lab.costs import count_madds
    from mnv2lab.inference import make_runner
    from mnv2lab.latency import ForeignCpu, foreign_cpu, load_average
    from mnv2lab.models import mobilenet_v2
    from mnv2lab.provenance import provenance

    prov = provenance()
    torch.manual_seed(0)
    model = mobilenet_v2(args.width).eval()
    madds = count_madds(model, args.resolution)
    image = torch.randn(
        1, 3, args.resolution, args.resolution, generator=torch.Generator().manual_seed(0)
    )
    sides, inputs = {}, {}
    for name, path in (("practitioner", "practitioner"), ("naive", "naive")):
        prepare, forward = make_runner(model, path)
        sides[name], inputs[name] = forward, prepare(image)
    with torch.no_grad():
        ref = model(image)
    for name in sides:
        out = sides[name](inputs[name]).detach()
        assert torch.allclose(out, ref, rtol=1e-4, atol=1e-5 * ref.abs().max().item()), name

    print(
        f"MobileNetV2 {args.width:g} @ {args.resolution}x{args.resolution}, batch 1, fp32, "
        f"eval; {madds / 1e6:.1f}M multiply-adds = {2 * madds / 1e9:.3f} GFLOP per image"
    )
    print(
        f"{prov['cpu_model']} ({prov['cpu_count']} cores), torch {prov['torch']}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, commit "
        f"{prov['git_commit']}"
    )
    print(f"{args.rounds} alternating rounds x {args.number} calls per side and thread count\n")
    if args.wait_quiet is not None:
        import time

        for _ in range(180):
            busy = foreign_cpu(2.0)  # (normal, niced) cores of other processes
            if busy is None or max(busy) <= args.wait_quiet:
                break
            print(
                f"waiting: other processes use {busy[0]:.2f} cores (+{busy[1]:.2f} niced)",
                flush=True,
            )
            time.sleep(18)
    header = (
        f"{'threads':>7} | {'practitioner ms':>15} | {'naive ms':>12} | {'speed-up':>8} | "
        f"{'per-round':>9} | {'GFLOP/s':>7} | {'sgemm peak':>10} | {'of peak':>7} | "
        f"{'others':>6} | {'niced':>5} | load"
    )
    print(header)
    print("-" * len(header))
    results = []
    for threads in args.threads:
        load_before = load_average()
        with ForeignCpu() as others:
            peak = sgemm_peak(args.gemm_size, threads)
            times = interleaved(sides, inputs, threads, args.rounds, args.number)
        load_after = load_average()
        p, n = np.array(times["practitioner"]), np.array(times["naive"])
        p_med, n_med = float(np.median(p)), float(np.median(n))
        p_iqr = float(np.subtract(*np.percentile(p, [75, 25])))
        n_iqr = float(np.subtract(*np.percentile(n, [75, 25])))
        per_round = float(np.median(n / p))
        gflops = 2 * madds / p_med / 1e9
        naive_gflops = 2 * madds / n_med / 1e9
        row = {
            "threads": threads,
            "practitioner_ms": p_med * 1e3,
            "practitioner_iqr_ms": p_iqr * 1e3,
            "naive_ms": n_med * 1e3,
            "naive_iqr_ms": n_iqr * 1e3,
            "speedup": n_med / p_med,
            "speedup_per_round_median": per_round,
            "practitioner_gflops": gflops,
            "naive_gflops": naive_gflops,
            "sgemm_peak_gflops": peak,
            "fraction_of_peak": gflops / peak,
            "load_before": load_before,
            "load_after": load_after,
            "foreign_cpu_cores": others.cores,
            "foreign_nice_cores": others.nice_cores,
        }
        results.append(row)
        print(
            f"{threads:>7} | {p_med * 1e3:8.2f} ±{p_iqr * 1e3:5.2f} | "
            f"{n_med * 1e3:6.2f} ±{n_iqr * 1e3:4.1f} | {n_med / p_med:7.2f}x | "
            f"{per_round:8.2f}x | {gflops:7.1f} | {peak:10.1f} | {gflops / peak:6.1%} | "
            f"{others.cores if others.cores is not None else '?':>6} | "
            f"{others.nice_cores if others.nice_cores is not None else '?':>5} | "
            f"{load_before[0] if load_before else '?'} -> "
            f"{load_after[0] if load_after else '?'}"
        )
    print(
        "\n(± = interquartile range of the per-call times; GFLOP/s and 'of peak' are the "
        "practitioner path's; 'others'/'niced' = cores other processes kept busy meanwhile)"
    )
    target = [r for r in results if r["threads"] == 2]
    if target:
        r = target[0]
        verdict = "met" if r["speedup"] >= 1.5 else "NOT met"
        print(
            f"target practitioner >= 1.5x faster than naive on 2 threads: {verdict} "
            f"({r['speedup']:.2f}x; naive at {r['naive_gflops']:.1f} GFLOP/s)"
        )
    if args.json:
        from mnv2lab.atomic import write_json

        write_json(
            args.json,
            {
                "args": vars(args),
                "madds": madds,
                "provenance": prov,
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                "results": results,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
