"""Command line (for filling the caches when the machine is quiet):

python -m mnv2lab.v1_vs_v2 measure        # latency + memory caches with the defaults
python -m mnv2lab.v1_vs_v2 list           # the CIFAR-10 runs, one TrainConfig JSON a line
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .. import latency, section5
from .plan import default_params, make_plan
from .table4 import breakdown_configs
from .trained import trained_comparison_runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mnv2lab.v1_vs_v2",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("command", choices=("measure", "list"))
    ap.add_argument(
        "--max-load",
        type=float,
        default=0.5,
        help="start when the 1-minute load average is below this ...",
    )
    ap.add_argument(
        "--load-wait-minutes",
        type=float,
        default=30.0,
        help="... or after waiting this long for it (the load is recorded anyway)",
    )
    ap.add_argument(
        "--max-foreign",
        type=float,
        default=0.15,
        help="time a configuration only while other processes use at most this "
        "many cores (measured before and during the timing)",
    )
    ap.add_argument("--hours", type=float, default=3.0, help="give up waiting after this long")
    args = ap.parse_args(argv)
    if args.command == "list":
        for run in trained_comparison_runs():
            print(json.dumps(run.config.to_dict(), sort_keys=True))
        return 0
    plan = make_plan(default_params())
    print(
        section5.memory_table(plan.slices_memory)[
            ["resolution", "path", "n_slices", "measured_mb", "analytic_mb"]
        ].to_string()
    )
    deadline = time.monotonic() + args.hours * 3600
    load_deadline = time.monotonic() + args.load_wait_minutes * 60
    while (latency.load_average() or [0.0])[0] >= args.max_load and time.monotonic() < min(
        deadline, load_deadline
    ):
        print(
            f"waiting for the 1-minute load average to fall below {args.max_load}: "
            f"{latency.load_average()}",
            flush=True,
        )
        time.sleep(60)
    print(
        latency.measure_quietly(
            (),
            breakdown_configs=[c for _, c in breakdown_configs(plan)],
            series=plan.latency + plan.slices_latency,
            max_foreign=args.max_foreign,
            max_seconds=max(60.0, deadline - time.monotonic()),
            log=lambda m: print(m, flush=True),
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
