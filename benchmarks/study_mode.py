"""The study's mode against today's one-process trainer, as real runs, side by side (issue 13).

``benchmarks/train_throughput.py`` interleaves single steps of the two modes (fair to machine load,
but each DDP step pays a pipe round trip and finds caches cold after the other side ran). This
script times what the study actually runs, end to end, through the package's own entry points:

* today: the committed 5-epoch study's run of the paper's model (``mnv2lab.study.define_study``:
  one process, all cores, the test set evaluated every half epoch), trained by
  ``mnv2lab.train.train`` in a child process;
* study mode: the long budget's run of the same model (``mnv2lab.study.budgets``: 2 DDP ranks x 1
  thread under ``torchrun``, evaluated every ``LONG_EVAL_EVERY`` epochs), started by
  ``mnv2lab.train.launch.run``.

Each run trains one epoch on a random subset of ``--images`` training images, evaluating after
each half (so that the second half is timed warm: the first steps of a process pay one-off costs,
oneDNN kernel setup and memory growth, that a 30-epoch run pays once). Evaluation is scaled so
that each side evaluates what it would per epoch of the full 50,000 images: today 2 x 10,000
test images per epoch, the study mode 10,000 every 2 epochs (so a quarter of that per half epoch),
plus, likewise scaled, the 5,000 training images its fit check evaluates with each of them.
Seconds per full epoch = the run's own clock over its second half (training and one evaluation,
``elapsed_s`` between the two evaluations) x 2 x 50,000 / images. The sides alternate (A B, B A,
A B, ...) so that drifting load from other users hits both; the ratio per pair is reported with
its spread. Recipes differ
between the sides (weight decay, evaluation schedule), which does not change the cost of a step.

Nothing is stored in ``results/`` or the cache: runs go to a temporary folder.

Both sides run in processes of their own (today's in one child process, the study mode's ranks
under ``torchrun``), so no side's threads linger beside the other's. Threads wait as the package
sets them to (``OMP_WAIT_POLICY=PASSIVE``; see :mod:`mnv2lab`), which protects a shared machine but
slows a 2-thread process on an idle one. ``--today-wait-policy ACTIVE`` times today's side with
spinning threads instead, the fastest one process can be on an idle machine (the ranks keep the
package's policy); the JSON records each side's policy.

Usage: python benchmarks/study_mode.py [--images 12800] [--pairs 3]
       [--today-wait-policy PASSIVE|ACTIVE] [--json results/benchmarks/study_mode_runs.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnv2lab.atomic import write_json  # noqa: E402
from mnv2lab.provenance import provenance  # noqa: E402
from mnv2lab.study import MAIN_WIDTH, PAPER_VARIANT, define_study  # noqa: E402
from mnv2lab.study import budgets  # noqa: E402
from mnv2lab.train import TrainConfig  # noqa: E402
from mnv2lab.train.launch import run as launch_run  # noqa: E402

FULL_TRAIN, FULL_TEST = 50_000, 10_000


def paper_model(runs) -> TrainConfig:
    run = next(r for r in runs if r.variant == PAPER_VARIANT and r.width == MAIN_WIDTH)
    return run.config


def scaled(config: TrainConfig, images: int, label: str) -> TrainConfig:
    """``config`` for one epoch of ``images`` training images with an evaluation after each half,
    each of as many test images, and of fit-check training images, as the full run evaluates per
    half epoch of training (the long budget also evaluates 5,000 training images at each of its
    evaluations: charged per evaluation of the short timed run, it would cost the study mode
    about 8x what its full run pays)."""
    per_half = images / FULL_TRAIN / 2 / (config.eval_every_epochs or 1.0)
    fit = config.fit_check_images
    return TrainConfig.from_dict(
        {
            **config.to_dict(),
            "train_subset": images,
            "test_subset": round(FULL_TEST * per_half),
            "fit_check_images": max(1, round(fit * per_half)) if fit else None,
            "epochs": 1,
            "eval_every_epochs": 0.5,
            "eval_at_start": False,
            "snapshot_epochs": [],
            "study": f"bench_{label}",
        }
    )


def epoch_seconds(result, images: int) -> float:
    """Seconds per full epoch from the run's second half (between its two evaluations)."""
    first, last = result.history[-2], result.history[-1]
    return (last["elapsed_s"] - first["elapsed_s"]) * 2 * FULL_TRAIN / images


# Today's side: mnv2lab.train.train in a child process, its history written to a file.
_TRAIN_IN_CHILD = """
import json, sys
from pathlib import Path
from mnv2lab.train import TrainConfig, train
config = TrainConfig.from_dict(json.loads(Path(sys.argv[1]).read_text()))
result = train(config, progress=False, resume=False, run_directory=Path(sys.argv[2]))
Path(sys.argv[3]).write_text(json.dumps(result.history))
"""


def train_in_child(config: TrainConfig, folder: Path, wait_policy: str) -> SimpleNamespace:
    """Train ``config`` with the one-process trainer in a fresh process whose OpenMP threads wait
    by ``wait_policy``; returns an object with its ``history``."""
    folder.mkdir(parents=True)
    config_file, history_file = folder / "config.json", folder / "history.json"
    config_file.write_text(json.dumps(config.to_dict()))
    subprocess.run(
        [sys.executable, "-c", _TRAIN_IN_CHILD, str(config_file), str(folder), str(history_file)],
        env={**os.environ, "OMP_WAIT_POLICY": wait_policy},
        cwd=ROOT,
        check=True,
    )
    return SimpleNamespace(history=json.loads(history_file.read_text()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=12_800, help="training images per timed run")
    ap.add_argument("--pairs", type=int, default=3, help="alternating pairs of runs")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    ap.add_argument(
        "--today-wait-policy",
        choices=["PASSIVE", "ACTIVE"],
        default=os.environ["OMP_WAIT_POLICY"],  # the package's (set when mnv2lab is imported)
        help="how today's OpenMP threads wait (default: as the package sets it)",
    )
    args = ap.parse_args()
    if args.images < 128 * 20:
        ap.error(f"--images: got {args.images}; allowed: >= 2560 (20 steps of 128)")
    if args.pairs < 1:
        ap.error(f"--pairs: got {args.pairs}; allowed: an integer >= 1")
    # the runs' checkpoints and weights go to a throw-away cache (the rank processes inherit it)
    os.environ["MNV2LAB_CACHE"] = tempfile.mkdtemp(prefix="mnv2lab-bench-cache-")
    os.environ.setdefault("MNV2LAB_PROGRESS", "0")

    today = scaled(paper_model(define_study(seeds=[0])), args.images, "today")
    recipe = budgets.CANDIDATES["A_wd5e-4"]  # any candidate: the recipe does not change the cost
    study = scaled(paper_model(budgets.long_runs(recipe, seeds=[0])), args.images, "study")
    print(
        f"cpu: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; one epoch of "
        f"{args.images} images per run; OMP_WAIT_POLICY today {args.today_wait_policy}, study "
        f"{os.environ['OMP_WAIT_POLICY']}; today: 1 process x {today.threads or 'all'} threads, "
        f"{today.test_subset} test images per half epoch; study: {study.ranks} ranks x "
        f"{study.threads} thread, {study.test_subset} test images per half epoch",
        flush=True,
    )
    load = [os.getloadavg()[0]]
    seconds: dict[str, list[float]] = {"today": [], "study": []}
    with tempfile.TemporaryDirectory(prefix="mnv2lab-bench-") as tmp:
        for pair in range(args.pairs):
            order = ("today", "study") if pair % 2 == 0 else ("study", "today")
            for side in order:
                start = time.perf_counter()
                if side == "today":
                    result = train_in_child(today, Path(tmp) / f"t{pair}", args.today_wait_policy)
                else:
                    result = launch_run(study, Path(tmp) / f"results{pair}", progress=False)
                s = epoch_seconds(result, args.images)
                seconds[side].append(s)
                print(
                    f"pair {pair + 1} {side:5s}: {s:6.1f} s per full epoch "
                    f"({time.perf_counter() - start:.0f} s wall incl. data loading)",
                    flush=True,
                )
    load.append(os.getloadavg()[0])
    ratios = [t / s for t, s in zip(seconds["today"], seconds["study"])]
    summary = {
        "today_s_per_epoch": statistics.mean(seconds["today"]),
        "study_s_per_epoch": statistics.mean(seconds["study"]),
        "ratio_mean": statistics.mean(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "target": 2.0,
    }
    print(
        f"study mode vs today, per epoch incl. evaluation: {summary['ratio_mean']:.2f}x "
        f"(pairs {', '.join(f'{r:.2f}' for r in ratios)}; target 2x)",
        flush=True,
    )
    if args.json:
        write_json(
            args.json,
            {
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "today_config": today.to_dict(),
                "study_config": study.to_dict(),
                "seconds_per_epoch": seconds,
                "ratios": ratios,
                "summary": summary,
                "load_average_start_end": load,
                "omp_wait_policy": {
                    "today": args.today_wait_policy,
                    "study": os.environ["OMP_WAIT_POLICY"],
                },
                "provenance": provenance(),
            },
        )


if __name__ == "__main__":
    main()
