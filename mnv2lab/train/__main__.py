"""Command line: ``python -m mnv2lab.train --config cfg.json`` (also under ``torchrun``).

The config file holds :class:`TrainConfig` fields as JSON. The result goes to the result cache
(``results/<study>/<key>.json`` unless ``--results-dir``); only rank 0 writes. The last line
printed (rank 0) is a JSON summary: key, result path, final metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .config import TrainConfig
from .engine import train
from .guard import RunLockedError, TrainingStopped
from .results import result_path, run_or_load, train_and_store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mnv2lab.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--config", required=True, help="JSON file of TrainConfig fields")
    ap.add_argument("--results-dir", help="folder for the result JSON (default results/<study>)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument(
        "--no-cache",
        action="store_true",
        help="train even if a stored result exists, and do not store one",
    )
    ap.add_argument(
        "--rank-weights-dir", help="every rank also saves its final weights here as rank<r>.pt"
    )
    args = ap.parse_args(argv)
    with open(args.config) as f:
        config = TrainConfig.from_dict(json.load(f))
    config.validate()
    progress = False if args.no_progress else None
    try:
        result = _run(config, args, progress)
    except TrainingStopped:  # Ctrl-C: the checkpoint is saved and the hint printed
        print(f"resume with: python -m mnv2lab.train --config {args.config}", file=sys.stderr)
        return 130
    except RunLockedError as e:
        print(f"python -m mnv2lab.train: {e}", file=sys.stderr)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            json.dumps(
                {
                    "key": result.key,
                    "result": str(result_path(config, args.results_dir)),
                    "cached": result.cached,
                    "final": result.final,
                }
            )
        )
    return 0


def _run(config: TrainConfig, args: argparse.Namespace, progress: bool | None):
    """Train (or load) as the command-line flags say; returns the RunResult."""
    if args.no_cache:
        return train(config, progress=progress, rank_weights_dir=args.rank_weights_dir)
    if args.rank_weights_dir:
        return train_and_store(
            config,
            result_path(config, args.results_dir),
            progress=progress,
            rank_weights_dir=args.rank_weights_dir,
        )
    return run_or_load(config, args.results_dir, progress=progress)


if __name__ == "__main__":
    sys.exit(main())
