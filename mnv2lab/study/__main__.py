"""The study's command line.

    python -m mnv2lab.study status              # done / missing runs, estimated hours left
    python -m mnv2lab.study run                 # train every missing run, most informative first
    python -m mnv2lab.study run --only seed0 --max-runs 2
    python -m mnv2lab.study time                # measure seconds per epoch of the trainer here
    python -m mnv2lab.study activations         # Fig. 7 statistics of finished runs lacking them
    torchrun --nproc-per-node 8 -m mnv2lab.study run --dataset folder:/data/imagenet --recipe paper
                                                # the same runs at scale (mnv2lab.study.scale)

A run interrupted half-way resumes from its checkpoint. This entry point imports
:mod:`mnv2lab.activations`, which registers the runner's after-run hook for Figure 7's
statistics (the library itself never imports the analyses from the study).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import activations
from .definition import DATASET, select
from .runner import run_study, status_lines
from .scale import RECIPES, define_scaled_study
from .timing import measure_epoch_seconds

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mnv2lab.study",
                                 description="Train and list the runs of the CIFAR-10 study.")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, help_ in (("run", "train every missing run"), ("status", "list done/missing runs"),
                        ("time", "measure seconds per epoch of the trainer here"),
                        ("activations", "store Figure 7 statistics of finished runs that lack "
                                        "them (needs their final weights)")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--only", help="only runs whose name contains this (shell pattern), or "
                                      "used by this figure (fig6a, fig6b, width_sweep, v1_vs_v2)")
        p.add_argument("--dataset", default=DATASET, help=f"data set (default {DATASET}), e.g. "
                       "folder:/data/imagenet (streamed when too big to hold in memory)")
        p.add_argument("--recipe", default="cifar", choices=RECIPES,
                       help="cifar: the CIFAR-10 study's recipe (default); paper: the paper's "
                            "ImageNet recipe scaled to the torchrun job's GPUs, 224x224 models")
        p.add_argument("--image-size", type=int, help="image side for folder data sets "
                                                      "(default 224)")
        p.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
        p.add_argument("--study", help="results/<study>/ (default: cifar10_ablation for the "
                                       "CIFAR study, else <data set>_<recipe>)")
        p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                       help="mixed precision (fp16: CUDA only); part of each run's key")
        p.add_argument("--sync-batchnorm", action="store_true",
                       help="SyncBatchNorm across the GPUs of a torchrun job (CUDA only)")
        if name == "run":
            p.add_argument("--max-runs", type=int, help="stop after training this many runs")
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
            p.add_argument("--threads", type=int, help="CPU threads per run (default: all cores;"
                           " not part of the result key)")
        if name == "time":
            p.add_argument("--steps", type=int, default=3, help="steps per timed interval")
            p.add_argument("--intervals", type=int, default=6, help="timed intervals per model")
    args = ap.parse_args(argv)
    for name in ("image_size", "epochs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}; allowed: an "
                     "integer >= 1")
    everything = define_scaled_study(args.dataset, args.recipe, image_size=args.image_size,
                                     study=args.study, epochs=args.epochs,
                                     precision=args.precision,
                                     sync_batchnorm=args.sync_batchnorm)
    runs = select(everything, args.only)
    if not runs:
        ap.error(f"--only {args.only!r} matches no run; names look like "
                 f"{everything[0].name!r}")
    if args.command == "status":
        print("\n".join(status_lines(runs)))
    elif args.command == "activations":
        written = activations.store_missing_statistics(runs)
        print(f"{len(written)} statistics files written")
    elif args.command == "run":
        if args.max_runs is not None and args.max_runs < 1:
            ap.error(f"--max-runs: got {args.max_runs}; allowed: an integer >= 1")
        if args.threads is not None and args.threads < 1:
            ap.error(f"--threads: got {args.threads}; allowed: an integer >= 1")
        run_study(runs, max_runs=args.max_runs, progress=not args.no_progress,
                  threads=args.threads)
    else:
        seen = set()
        print(f"cpu: {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
        for r in runs:
            if (r.model, r.width) in seen:
                continue
            seen.add((r.model, r.width))
            m = measure_epoch_seconds(r.config, args.steps, args.intervals)
            print(json.dumps({"model": r.model, "width": r.width, **{k: round(v, 2) for k, v in
                                                                      m.items()}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
