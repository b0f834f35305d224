"""The study's command line.

    python -m mnv2lab.study status              # done / missing runs, estimated hours left
    python -m mnv2lab.study run                 # train every missing run, most informative first
    python -m mnv2lab.study run --only seed0 --max-runs 2
    python -m mnv2lab.study time                # measure seconds per epoch of the trainer here
    python -m mnv2lab.study activations         # Fig. 7 statistics of finished runs lacking them
    python -m mnv2lab.study recipe              # the long budget's recipe search (validation split)
    python -m mnv2lab.study run --budget long   # the long-budget runs, with the chosen recipe
                                                # (and the seeds an unresolved gap asks for)
    torchrun --nproc-per-node 8 -m mnv2lab.study run --dataset folder:/data/imagenet --recipe paper
                                                # the same runs at scale (mnv2lab.study.scale)

``--budget short`` (default) is the committed 5-epoch study; ``--budget long`` the 30-epoch one of
:mod:`mnv2lab.study.budgets` (2 DDP ranks x 1 thread on CPU; on a CUDA device, 1 process on the
GPU: ``--device cuda`` or automatically when one is present). ``--dataset``/``--recipe`` run the
short budget's runs on another data set and recipe (:mod:`mnv2lab.study.scale`).

A run interrupted half-way resumes from its checkpoint. This entry point imports
:mod:`mnv2lab.activations`, which registers the runner's after-run hook for Figure 7's
statistics (the library itself never imports the analyses from the study).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from .. import activations, fig7_training  # noqa: F401 (they register after-run hooks)
from ..params import ParameterError
from . import budgets
from .definition import DATASET, select
from .runner import run_study, status_lines
from .scale import RECIPES, define_scaled_study
from .timing import measure_epoch_seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mnv2lab.study", description="Train and list the runs of the CIFAR-10 study."
    )
    sub = ap.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("run", "train every missing run"),
        ("status", "list done/missing runs"),
        ("time", "measure seconds per epoch of the trainer here"),
        (
            "activations",
            "store Figure 7 statistics of finished runs that lack them (needs their final weights)",
        ),
        (
            "recipe",
            "train the long budget's recipe-search runs (validation "
            "split) and print the chosen recipe",
        ),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument(
            "--budget",
            choices=("short", "long"),
            default="short",
            help="short: the committed 5-epoch study; long: the 30-epoch study",
        )
        p.add_argument(
            "--device",
            choices=("cpu", "cuda"),
            help="long budget and recipe: where to train (default: cuda if present)",
        )
        p.add_argument(
            "--only",
            help="only runs whose name contains this (shell pattern), or "
            "used by this figure (fig6a, fig6b, width_sweep, v1_vs_v2)",
        )
        p.add_argument(
            "--dataset",
            default=DATASET,
            help=f"data set (default {DATASET}), e.g. "
            "folder:/data/imagenet (streamed when too big to hold in memory)",
        )
        p.add_argument(
            "--recipe",
            default="cifar",
            choices=RECIPES,
            help="cifar: the CIFAR-10 study's recipe (default); paper: the paper's "
            "ImageNet recipe scaled to the torchrun job's GPUs, 224x224 models",
        )
        p.add_argument(
            "--image-size", type=int, help="image side for folder data sets (default 224)"
        )
        p.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
        p.add_argument(
            "--study",
            help="results/<study>/ (default: cifar10_ablation for the "
            "CIFAR study, else <data set>_<recipe>)",
        )
        p.add_argument(
            "--precision",
            choices=("fp32", "bf16", "fp16"),
            default="fp32",
            help="mixed precision (fp16: CUDA only); part of each run's key",
        )
        p.add_argument(
            "--sync-batchnorm",
            action="store_true",
            help="SyncBatchNorm across the GPUs of a torchrun job (CUDA only)",
        )
        if name == "run":
            p.add_argument("--max-runs", type=int, help="stop after training this many runs")
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
        if name == "time":
            p.add_argument("--steps", type=int, default=3, help="steps per timed interval")
            p.add_argument("--intervals", type=int, default=6, help="timed intervals per model")
    args = ap.parse_args(argv)
    for name in ("image_size", "epochs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(
                f"--{name.replace('_', '-')}: got {getattr(args, name)}; allowed: an integer >= 1"
            )
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.command == "recipe":
        search = select(budgets.search_runs(device), args.only)
        if args.budget != "short":
            ap.error("recipe: --budget does not apply (the search is the long budget's)")
        run_study(search, progress=True)
        accuracies = budgets.search_accuracies(device)
        print(json.dumps({"validation_accuracy": accuracies}))
        if len(accuracies) == len(budgets.CANDIDATES):
            print(f"chosen ({budgets.CHOICE_RULE}): {budgets.choose(accuracies)}")
        return 0
    if args.budget == "long":
        if args.dataset != DATASET or args.recipe != "cifar":
            ap.error(
                "--budget long is the CIFAR-10 study's; --dataset/--recipe go with the "
                f"short budget (got --dataset {args.dataset} --recipe {args.recipe})"
            )
        try:
            everything = budgets.define_long_study(device=device)
        except ParameterError as e:
            ap.error(str(e))
    else:
        everything = define_scaled_study(
            args.dataset,
            args.recipe,
            image_size=args.image_size,
            study=args.study,
            epochs=args.epochs,
            precision=args.precision,
            sync_batchnorm=args.sync_batchnorm,
        )
    runs = select(everything, args.only)
    if not runs:
        ap.error(f"--only {args.only!r} matches no run; names look like {everything[0].name!r}")
    if args.command == "status":
        print("\n".join(status_lines(runs)))
    elif args.command == "activations":
        written = activations.store_missing_statistics(runs)
        print(f"{len(written)} statistics files written")
    elif args.command == "run":
        if args.max_runs is not None and args.max_runs < 1:
            ap.error(f"--max-runs: got {args.max_runs}; allowed: an integer >= 1")
        trained = run_study(runs, max_runs=args.max_runs, progress=not args.no_progress)
        while args.budget == "long" and args.max_runs is None and trained:
            # the more-seeds rule (budgets.seeds_to_add) may ask for runs the new results made
            # necessary: read the long study again and train those too
            added = [
                r
                for r in select(budgets.define_long_study(device=device), args.only)
                if r.key not in {x.key for x in runs}
            ]
            if not added:
                break
            print(f"more seeds for unresolved gaps: {', '.join(r.name for r in added)}")
            runs += added
            trained = run_study(added, progress=not args.no_progress)
    else:
        seen = set()
        print(f"cpu: {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
        for r in runs:
            if (r.model, r.width) in seen:
                continue
            seen.add((r.model, r.width))
            m = measure_epoch_seconds(r.config, args.steps, args.intervals)
            print(
                json.dumps(
                    {"model": r.model, "width": r.width, **{k: round(v, 2) for k, v in m.items()}}
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
