"""Table 4's CPU latencies on the machine at hand, beside the committed ones: does V2/V1 hold on
another CPU?

The committed Table 4 latencies (``results/latency/``, notebook 06, the README row) come from one
CPU, named in their provenance. This script times the same five networks with the same inference
path (``mnv2lab.latency``, batch 1, 224x224 fp32, BatchNorm folded, channels_last) on this
machine, without touching the cache: per thread count, ``--repeats`` interleaved runs of all five
(:func:`mnv2lab.latency.measure_interleaved`, the networks alternating A B C, C B A, ...), so a
slow spell of the machine hits them alike. Reported per thread count: each network's median over
the repeats' medians, V2/V1 per repeat and their median, beside the committed CPU's V2/V1 and the
paper's 75/113 = 0.66 (Pixel 1). The cores other processes kept busy are recorded per repeat;
a repeat above ``--max-foreign`` cores is reported and left out.

Threads waiting: importing ``mnv2lab`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment
sets it (it protects training on a shared machine); for batch-1 inference on 2 threads that
policy costs a lot on some CPUs. Run with ``OMP_WAIT_POLICY=ACTIVE`` in the environment to time
spinning threads; the JSON records the policy in force, as every latency entry does.

Usage: [OMP_WAIT_POLICY=ACTIVE] python benchmarks/table4_latency.py [--threads 1 2] [--repeats 3]
       [--run-time 2]
       [--json results/benchmarks/table4_latency_<cpu>.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mnv2lab import notebook, published, v1_vs_v2  # noqa: E402
from mnv2lab.atomic import write_json  # noqa: E402
from mnv2lab.latency import (  # noqa: E402
    MAX_FOREIGN,
    OMP_WAIT_POLICY,
    measure_interleaved,
    series_table,
)
from mnv2lab.provenance import provenance  # noqa: E402
from mnv2lab.v1_vs_v2.plan import TABLE4_MODELS, table4_configs  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs per thread count")
    ap.add_argument("--run-time", type=float, default=2.0, help="timed seconds per network and run")
    ap.add_argument("--rounds", type=int, default=20, help="alternating rounds per run")
    ap.add_argument(
        "--max-foreign",
        type=float,
        default=MAX_FOREIGN,
        help="cores other processes may keep busy for a run to count",
    )
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    for name in ("repeats", "rounds"):
        if getattr(args, name) < 1:
            ap.error(f"--{name}: got {getattr(args, name)}; allowed: an integer >= 1")
    if any(t < 1 for t in args.threads):
        ap.error(f"--threads: got {args.threads}; allowed: integers >= 1")
    if not args.run_time > 0:
        ap.error(f"--run-time: got {args.run_time}; allowed: a number > 0")
    return args


def committed_ratios() -> dict:
    """Notebook 06's V2/V1 per thread count, from the committed cache exactly as the notebook
    reads it, with the CPU that measured them."""
    plan = v1_vs_v2.make_plan(notebook.parameter_defaults("06_v1_vs_v2"))
    table = series_table(
        plan.latency,
        plan.latency_root,
        allow_measure=False,
        progress=False,
        max_foreign=plan.max_foreign,
    )
    ratio = v1_vs_v2.latency_ratio(table, plan.table4_resolution)
    return {
        int(r["threads"]): {"v2_over_v1": float(r["V2/V1 here"]), "measured_on": r["measured on"]}
        for r in ratio.to_dict("records")
    }


def time_here(args: argparse.Namespace) -> dict:
    names = list(TABLE4_MODELS)
    by_threads = {}
    for th in args.threads:
        configs = table4_configs([th], args.run_time)
        repeats = []
        for r in range(args.repeats):
            order = configs if r % 2 == 0 else configs[::-1]
            measured = dict(zip(order, measure_interleaved(order, rounds=args.rounds)))
            foreign = measured[configs[0]]["provenance"]["foreign_cpu_cores"]
            medians = {n: measured[c]["result"]["median_ms"] for n, c in zip(names, configs)}
            usable = foreign is not None and foreign <= args.max_foreign
            repeats.append({"median_ms": medians, "foreign_cpu_cores": foreign, "usable": usable})
            print(
                f"  {th} thr, run {r + 1}: "
                + ", ".join(f"{n} {v:.1f}" for n, v in medians.items())
                + f" ms; V2/V1 {medians['MobileNetV2'] / medians['MobileNetV1']:.3f}; "
                f"other processes {foreign} cores" + ("" if usable else " (left out)"),
                flush=True,
            )
        good = [r for r in repeats if r["usable"]]
        summary = None
        if good:
            ratios = [r["median_ms"]["MobileNetV2"] / r["median_ms"]["MobileNetV1"] for r in good]
            summary = {
                "median_ms": {n: statistics.median(r["median_ms"][n] for r in good) for n in names},
                "v2_over_v1_per_run": ratios,
                "v2_over_v1": statistics.median(ratios),
            }
        by_threads[th] = {"runs": repeats, "summary": summary}
    return by_threads


def main(argv=None) -> int:
    args = parse_args(argv)
    prov = provenance()
    committed = committed_ratios()
    print(
        f"Table 4 networks on {prov['cpu_model']} ({prov['cpu_count']} cores), "
        f"OMP_WAIT_POLICY={OMP_WAIT_POLICY}"
    )
    here = time_here(args)
    paper = published.TABLE4_V2_V1_RATIO
    print(
        f"\nV2/V1 latency (MobileNetV2 1.0 / MobileNetV1 1.0, 224x224, batch 1); paper {paper:.2f}"
    )
    for th in args.threads:
        s = here[th]["summary"]
        then = committed.get(th)
        then_text = f"{then['v2_over_v1']:.2f} on {then['measured_on']}" if then else "none"
        now_text = (
            f"{s['v2_over_v1']:.2f} (runs {', '.join(f'{v:.3f}' for v in s['v2_over_v1_per_run'])})"
            if s
            else "no usable run"
        )
        print(f"  {th} thread(s): here {now_text}; committed {then_text}")
    if args.json:
        write_json(
            Path(args.json),
            {
                "what": "Table 4 networks, batch 1, 224x224 fp32, practitioner inference path, "
                "interleaved runs (benchmarks/table4_latency.py)",
                "networks": {n: list(m) for n, m in TABLE4_MODELS.items()},
                "paper_v2_over_v1": paper,
                "committed": {str(k): v for k, v in committed.items()},
                "here": {str(k): v for k, v in here.items()},
                "settings": {
                    "repeats": args.repeats,
                    "run_time_s": args.run_time,
                    "rounds": args.rounds,
                    "max_foreign": args.max_foreign,
                },
                "provenance": {**prov, "omp_wait_policy": OMP_WAIT_POLICY},
            },
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
