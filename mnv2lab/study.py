"""The CIFAR-10 study as data: every training run of the ablations (Fig. 6a, 6b), the width sweep
and the trained MobileNetV1-vs-V2 comparison, with one recipe for all of them, and a runner.

    python -m mnv2lab.study status              # done / missing runs, estimated hours left
    python -m mnv2lab.study run                 # train every missing run, most informative first
    python -m mnv2lab.study run --only seed0 --max-runs 2
    python -m mnv2lab.study time                # measure seconds per epoch of the trainer here
    python -m mnv2lab.study activations         # Fig. 7 statistics of finished runs lacking them

Every run is a :class:`~mnv2lab.train.TrainConfig`; its result lands in the trainer's cache,
``results/<STUDY>/<key>.json`` (config, history, provenance, SHA-256). A run interrupted half-way
resumes from its checkpoint. The same seeds are used for every variant, so that differences
between variants are paired (seed ``s`` of the paper's model against seed ``s`` of a variant).

Variants (MobileNetV2, ``small_input=True``, t = 6):

* ``linear``: linear bottleneck, shortcut between bottlenecks: the paper's model, shared by
  Figure 6a and 6b as in the paper;
* ``relu6``: ReLU6 after the projection (Fig. 6a);
* ``expansion_shortcut``: shortcuts between the expanded tensors (Fig. 6b);
* ``no_residual``: no shortcuts at all (Fig. 6b);
* beyond the paper: ``linear`` and ``relu6`` at every width of :data:`WIDTHS`;
* issue 6's trained comparison: MobileNetV1 at widths whose multiply-adds at 32x32 match
  MobileNetV2's (the V2 side reuses the ``linear`` runs).

The recipe (:func:`recipe`) and the reasons it differs from the paper's are in :data:`RECIPE_TEXT`.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .params import ParameterError
from .train import TrainConfig

STUDY = "cifar10_ablation"                # results/<STUDY>/<key>.json
DATASET = "cifar10-jpeg"
SEEDS: tuple[int, ...] = (0, 1, 2)
MAIN_WIDTH = 0.5                          # the width of the Fig. 6 ablations
WIDTHS: tuple[float, ...] = (0.25, 0.35, 0.5)  # linear vs ReLU6 width sweep (beyond the paper)
EPOCHS = 5                                # chosen from the measured speed: see TIMING_NOTE
BATCH_SIZE = 128

# MobileNetV2 variants: name -> the model switches that make it (Fig. 6).
VARIANTS: dict[str, dict[str, str]] = {
    "linear": {"bottleneck": "linear", "shortcut": "bottleneck"},
    "relu6": {"bottleneck": "relu6", "shortcut": "bottleneck"},
    "expansion_shortcut": {"bottleneck": "linear", "shortcut": "expansion"},
    "no_residual": {"bottleneck": "linear", "shortcut": "none"},
}
PAPER_VARIANT = "linear"
VARIANT_LABELS = {
    "linear": "linear bottleneck, shortcut between bottlenecks (paper)",
    "relu6": "ReLU6 in the bottleneck",
    "expansion_shortcut": "shortcut between expansions",
    "no_residual": "no residual",
}
# MobileNetV1 width whose multiply-adds at 32x32 (small_input) match a MobileNetV2 width:
# V2 0.35 = 15.6M vs V1 0.3 = 16.8M; V2 0.5 = 28.0M vs V1 0.4 = 29.2M (mnv2lab.costs.count_madds).
V1_MATCHED_WIDTHS: dict[float, float] = {0.35: 0.3, 0.5: 0.4}


def recipe(epochs: int = EPOCHS, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """The one training recipe every run of the study uses (TrainConfig fields)."""
    return {
        "epochs": epochs, "batch_size": batch_size,
        "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True,
        "weight_decay": 4e-5,                   # the paper's
        "schedule": "cosine", "warmup_epochs": 0.0, "label_smoothing": 0.0,
        "augment": True, "crop_padding": 4,
        "eval_every_epochs": 0.5, "eval_at_start": True,
        "channels_last": True, "device": "auto",
    }


RECIPE_TEXT = """\
| | paper (Section 6.1, ImageNet) | this study (CIFAR-10 JPEG, 2 CPU cores) |
|---|---|---|
| data | ImageNet, 224x224 | CIFAR-10 (JPEG re-encoded), 32x32, 50,000 train / 10,000 test |
| model | MobileNetV2, total stride 32 | MobileNetV2 with `small_input=True`: stem and first stride-2 stage at stride 1 (total stride 8, 32x32 ends at 4x4) |
| optimizer | RMSProp, decay 0.9, momentum 0.9 | SGD, Nesterov momentum 0.9 |
| learning rate | 0.045, x0.98 per epoch | 0.1, cosine to 0 over the run, no warm-up |
| batch | 96 per worker, 16 asynchronous GPU workers | 128, one synchronous worker |
| weight decay | 4e-5 | 4e-5 (conv/linear weights only) |
| augmentation | Inception-style crops | random 32x32 crop of the 4-pixel-padded image, horizontal flip |
| length | several hundred epochs (Fig. 6 x-axis: millions of steps) | {epochs} epochs ({steps} steps of 128 images), test accuracy every half epoch |
| runs | one per variant | {n_seeds} seeds per variant, the same seeds for every variant |

Why ours differs: the whole study (30 runs, this issue's and the V1-vs-V2 comparison's) must fit
about 10 hours of a shared 2-core CPU, each run under about 30 minutes; at the measured speed (see
`mnv2lab.study.TIMING_NOTE`) that is {epochs} epochs a run. Width 1.0 (about 8 minutes an epoch
here) would not fit, so the width sweep is 0.25 / 0.35 / 0.5 with the ablations at 0.5. RMSProp with
a decay of 0.98 per epoch is a schedule for hundreds of epochs; for a run of {epochs} epochs we use
the common short-schedule CIFAR recipe (SGD, Nesterov, cosine) without tuning it (no compute for a
search), the same for every variant. CIFAR's 32x32 images need the smaller total stride. Everything
else (architecture, BatchNorm after every layer, weight decay, dropout 0.2 before the classifier)
is the paper's."""  # noqa: E501 (Markdown table rows)


def recipe_text(epochs: int = EPOCHS, n_seeds: int = len(SEEDS), train_images: int = 50_000,
                batch_size: int = BATCH_SIZE) -> str:
    """The recipe table (paper vs ours) and the reasons, as markdown, for the notebooks."""
    steps = epochs * (train_images // batch_size)
    return RECIPE_TEXT.format(epochs=epochs, steps=f"{steps:,}", n_seeds=n_seeds)


@dataclass(frozen=True)
class StudyRun:
    """One training run of the study: its name, what it belongs to, and its TrainConfig."""

    name: str                      # e.g. "v2-linear-w0.5-seed0"
    model: str                     # "mobilenet_v2" or "mobilenet_v1"
    variant: str                   # a VARIANTS key, or "v1"
    width: float
    seed: int
    config: TrainConfig = field(compare=False)
    uses: tuple[str, ...] = ()     # "fig6a", "fig6b", "width_sweep", "v1_vs_v2"

    @property
    def key(self) -> str:
        return self.config.key()


def make_config(model: str, model_kwargs: dict, seed: int, *, dataset: str = DATASET,
                epochs: int = EPOCHS, study: str = STUDY, dataset_kwargs: dict | None = None,
                batch_size: int = BATCH_SIZE, **overrides: Any) -> TrainConfig:
    """A TrainConfig of the study: the common recipe, this model and seed."""
    fields = {**recipe(epochs, batch_size), **overrides}
    return TrainConfig(model=model, model_kwargs=dict(model_kwargs), dataset=dataset,
                       dataset_kwargs=dict(dataset_kwargs or {}), seed=seed, study=study,
                       **fields)


def v2_kwargs(variant: str, width: float) -> dict:
    if variant not in VARIANTS:
        raise ParameterError(f"variant: got {variant!r}; allowed: {list(VARIANTS)}")
    return {"width_mult": float(width), "small_input": True, **VARIANTS[variant]}


def v1_kwargs(width: float) -> dict:
    return {"width_mult": float(width), "small_input": True}


def run_name(model: str, variant: str, width: float, seed: int) -> str:
    prefix = "v2-" + variant if model == "mobilenet_v2" else "v1"
    return f"{prefix}-w{width:g}-seed{seed}"


def define_study(*, seeds: Sequence[int] = SEEDS, main_width: float = MAIN_WIDTH,
                 widths: Sequence[float] = WIDTHS, epochs: int = EPOCHS, dataset: str = DATASET,
                 study: str = STUDY, include_v1: bool = True,
                 v1_widths: dict[float, float] | None = None, dataset_kwargs: dict | None = None,
                 **overrides: Any) -> list[StudyRun]:
    """Every run of the study, in the order to train them: seed by seed (seed 0 of every variant
    first, so that a first complete picture lands early), and within a seed the Fig. 6 variants at
    the main width, then the width sweep, then MobileNetV1. A run needed by several figures (the
    paper's model) appears once, with all its uses."""
    _check_study_args(seeds, main_width, widths, epochs)
    v1_widths = V1_MATCHED_WIDTHS if v1_widths is None else v1_widths
    runs: list[StudyRun] = []
    for seed in seeds:
        planned: dict[tuple, set[str]] = {}

        def add(model, variant, width, use):
            planned.setdefault((model, variant, float(width)), set()).add(use)  # noqa: B023 (called in this loop)

        add("mobilenet_v2", "linear", main_width, "fig6a")
        add("mobilenet_v2", "linear", main_width, "fig6b")
        add("mobilenet_v2", "relu6", main_width, "fig6a")
        add("mobilenet_v2", "no_residual", main_width, "fig6b")
        add("mobilenet_v2", "expansion_shortcut", main_width, "fig6b")
        for w in sorted(widths, key=lambda w: (w == main_width, w)):
            add("mobilenet_v2", "linear", w, "width_sweep")
            add("mobilenet_v2", "relu6", w, "width_sweep")
        if include_v1:
            for v2_width, v1_width in sorted(v1_widths.items()):
                add("mobilenet_v2", "linear", v2_width, "v1_vs_v2")
                add("mobilenet_v1", "v1", v1_width, "v1_vs_v2")
        for (model, variant, width), uses in planned.items():
            kwargs = v2_kwargs(variant, width) if model == "mobilenet_v2" else v1_kwargs(width)
            cfg = make_config(model, kwargs, seed, dataset=dataset, epochs=epochs, study=study,
                              dataset_kwargs=dataset_kwargs, **overrides)
            runs.append(StudyRun(run_name(model, variant, width, seed), model, variant,
                                 float(width), seed, cfg, tuple(sorted(uses))))
    return runs


def _check_study_args(seeds, main_width, widths, epochs) -> None:
    if not seeds or len(set(seeds)) != len(seeds) or any(
            not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds):
        raise ParameterError(f"parameter 'seeds': got {list(seeds)!r}; allowed: distinct "
                             "non-negative integers, at least one")
    for w in [main_width, *widths]:
        if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 < w <= 4:
            raise ParameterError(f"parameter 'widths': got {w!r}; allowed: numbers in (0, 4]")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ParameterError(f"parameter 'epochs': got {epochs!r}; allowed: an integer >= 1")


def v1_vs_v2_configs(**kwargs: Any) -> list[TrainConfig]:
    """The trained V1-vs-V2 comparison of issue 6 (MobileNetV1 and V2 at matched multiply-adds,
    3 seeds, the study's recipe); the V2 runs are the ablation's ``linear`` runs."""
    return [r.config for r in define_study(**kwargs) if "v1_vs_v2" in r.uses]


# ---------------------------------------------------------------------------------------------
# Time: measured seconds per epoch of the trainer on this machine (`python -m mnv2lab.study time`)

# Measured on this machine (2 cores, shared) with `python -m mnv2lab.study time`'s method, trainer
# of commit 6f2fa41 or later, batch 128, channels_last: the MEDIAN over 6 timed intervals (the best
# interval in TIMING_NOTE). Keys: (model, width) -> seconds per training epoch (50,000 images) and
# per evaluation (10,000 test images).
SECONDS_PER_EPOCH: dict[tuple[str, float], float] = {
    ("mobilenet_v2", 0.25): 186.0, ("mobilenet_v2", 0.35): 233.0, ("mobilenet_v2", 0.5): 209.0,
    ("mobilenet_v1", 0.3): 136.0, ("mobilenet_v1", 0.4): 180.0,
    ("mobilenet_v2", 0.75): 634.0, ("mobilenet_v2", 1.0): 540.0,
}
SECONDS_PER_EVAL: dict[tuple[str, float], float] = {
    ("mobilenet_v2", 0.25): 12.0, ("mobilenet_v2", 0.35): 17.0, ("mobilenet_v2", 0.5): 20.0,
    ("mobilenet_v1", 0.3): 18.0, ("mobilenet_v1", 0.4): 18.0,
    ("mobilenet_v2", 0.75): 56.0, ("mobilenet_v2", 1.0): 54.0,
}
TIMING_NOTE = """\
Seconds per training epoch of the trainer, measured 2026-11-23 15:50-16:02 on this 2-core machine
while 3-5 other developers ran tests and benchmarks (load average 2.2-6.3): median over 6 intervals
of 3 steps (best interval in brackets). MobileNetV2 (small_input): 0.25: 186 (122), 0.35: 233 (138),
0.5: 209 (200), 0.75: 634 (616), 1.0: 540 (486). MobileNetV1: 0.3: 136 (121), 0.4: 180 (158).
Evaluation of the 10,000 test images: 12-20 s (0.25-0.5), 54 s (1.0). The spread between intervals
is the other users' load, not the model: on a quiet machine expect the bracketed numbers.
Schedule: 5 epochs, evaluation every half epoch: about 18-23 minutes a run, 9.9 hours for the 30
runs at the medians (about 7.5 hours at the best intervals). Width 1.0 at 5 epochs would take 50
minutes a run: over the 30-minute cap, hence the 0.25-0.5 sweep."""


def measure_epoch_seconds(config: TrainConfig, steps: int = 3, intervals: int = 6) -> dict:
    """Seconds per training epoch and per evaluation of ``config`` on this machine, from a short
    run of the real trainer (nothing stored): ``intervals`` timed intervals of ``steps`` steps,
    each followed by an evaluation on 1,000 test images (scaled to the full test set).

    On a shared machine the speed varies several-fold with the other users' load, so both the
    best interval (``*_best``: close to what an unloaded machine does) and the median are given."""
    import statistics
    import tempfile

    import torch

    from .data import load_dataset
    from .train import TrainingInterrupted, train

    ds = load_dataset(config.dataset, progress=False, **config.dataset_kwargs)
    n_train, n_test = len(ds.train_labels), len(ds.test_labels)
    probe_test = min(1000, n_test)
    probe = TrainConfig.from_dict({**config.to_dict(), "eval_every_epochs": None,
                                   "eval_every_steps": steps, "eval_at_start": True,
                                   "epochs": 1, "test_subset": probe_test})
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            train(probe, progress=False, stop_after_steps=(intervals + 1) * steps,
                  run_directory=tmp)
        except TrainingInterrupted:
            pass
        history = torch.load(Path(tmp) / "checkpoint.pt", weights_only=True)["history"]
    timed = history[2:]                        # history[0]: step 0; history[1]: warm-up interval
    train_s = [steps * config.batch_size / h["images_per_s"] for h in timed]
    evals = [b["elapsed_s"] - a["elapsed_s"] - t for a, b, t in zip(history[1:], timed, train_s)]
    scale = n_test / probe_test
    per_epoch = [t * n_train / (steps * config.batch_size) for t in train_s]
    return {"seconds_per_epoch_best": min(per_epoch),
            "seconds_per_epoch_median": statistics.median(per_epoch),
            "seconds_per_eval_best": max(0.0, min(evals)) * scale,
            "seconds_per_eval_median": max(0.0, statistics.median(evals)) * scale,
            "load_average": round((load_before + os.getloadavg()[0]) / 2, 2)}


def estimate_seconds(run: StudyRun) -> float | None:
    """Estimated wall time of one run from the measured table (None if not measured)."""
    k = (run.model, run.width)
    if k not in SECONDS_PER_EPOCH or run.config.dataset != DATASET or run.config.train_subset:
        return None                      # measured for the full CIFAR-10 training set only
    cfg = run.config
    n_evals = int(cfg.epochs / (cfg.eval_every_epochs or 1.0)) + int(cfg.eval_at_start)
    return cfg.epochs * SECONDS_PER_EPOCH[k] + n_evals * SECONDS_PER_EVAL.get(k, 0.0)


# ---------------------------------------------------------------------------------------------
# Status and runner

def result_file(run: StudyRun, results: str | os.PathLike | None = None) -> Path:
    from .train import result_path
    return result_path(run.config, results)


def is_done(run: StudyRun, results: str | os.PathLike | None = None) -> bool:
    """Whether an intact result exists for the run."""
    from .train import load_result
    path = result_file(run, results)
    if not path.exists():
        return False
    try:
        load_result(path, run.config)
        return True
    except (ValueError, KeyError, TypeError):
        return False


def select(runs: Iterable[StudyRun], pattern: str | None) -> list[StudyRun]:
    """Runs whose name matches a shell pattern (``*`` implied around it), e.g. ``seed0``,
    ``relu6-w0.35``, ``v1``; or whose uses include the pattern (``fig6b``)."""
    runs = list(runs)
    if not pattern:
        return runs
    glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
    return [r for r in runs if fnmatch.fnmatch(r.name, glob) or pattern in r.uses]


def _hours(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 3600:.2f} h"


def status_lines(runs: Sequence[StudyRun], results: str | os.PathLike | None = None) -> list[str]:
    """One line per run (done/missing, key, minutes, uses) and a total of the time left.

    Minutes of a missing run: the mean wall time of the finished runs with the same model and
    width when there are some (they include this machine's current load), else the measured
    table (:data:`SECONDS_PER_EPOCH`)."""
    from .train import load_result
    done = {r.name: is_done(r, results) for r in runs}
    walls: dict[tuple, list[float]] = {}
    for r in runs:
        if done[r.name]:
            res = load_result(result_file(r, results), r.config)
            wall = res.provenance.get("wall_time_s") or res.final.get("wall_time_s")
            if wall:
                walls.setdefault((r.model, r.width), []).append(float(wall))
    lines, left, unknown = [], 0.0, 0
    for i, r in enumerate(runs, 1):
        seen = walls.get((r.model, r.width))
        est = sum(seen) / len(seen) if seen else estimate_seconds(r)
        if not done[r.name]:
            if est is None:
                unknown += 1
            else:
                left += est
        minutes = "   ?" if est is None else f"{est / 60:4.0f}"
        lines.append(f"{i:3d}  {'done   ' if done[r.name] else 'missing'}  {r.name:34s} "
                     f"{r.key}  {minutes} min  {','.join(r.uses)}")
    lines.append(f"{sum(done.values())}/{len(runs)} done; estimated time left {_hours(left)}"
                 + (f" (+{unknown} runs without a timing)" if unknown else ""))
    return lines


def run_study(runs: Sequence[StudyRun], *, max_runs: int | None = None, progress: bool = True,
              results: str | os.PathLike | None = None, threads: int | None = None,
              out=sys.stdout) -> list[Path]:
    """Train every missing run of ``runs`` in order (resuming from checkpoints) and store its
    result; print progress and, after each finished run, ``result: <path>``.

    ``threads`` sets the CPU threads of each run (default: all cores). It is not part of a run's
    key, so runners on a bigger machine can split the cores. On this 2-core machine two 1-thread
    runners side by side were slower in total (2 x 102 images/s) than one 2-thread runner
    (230-280 images/s): keep one runner per machine here."""
    from .train import run_or_load
    todo = [r for r in runs if not is_done(r, results)]
    if max_runs is not None:
        todo = todo[:max_runs]
    print(f"{len(runs) - len([r for r in runs if not is_done(r, results)])}/{len(runs)} runs done;"
          f" training {len(todo)} now", file=out, flush=True)
    written = []
    for i, r in enumerate(todo, 1):
        est = estimate_seconds(r)
        about = "" if est is None else f", about {est / 60:.0f} min"
        print(f"[{i}/{len(todo)}] {r.name} ({r.config.label()}, {r.config.epochs} epochs, key "
              f"{r.key}{about})", file=out, flush=True)
        start = time.perf_counter()
        config = r.config if threads is None else dataclasses.replace(r.config, threads=threads)
        result = run_or_load(config, results, progress=progress)
        path = result_file(r, results)
        print(f"  test accuracy {result.final['test_acc']:.4f} after "
              f"{(time.perf_counter() - start) / 60:.1f} min", file=out, flush=True)
        print(f"result: {path}", file=out, flush=True)
        written.append(path)
        if r.model == "mobilenet_v2" and r.variant == PAPER_VARIANT:
            written += _store_activation_statistics(r, result, path.parent, out)
    return written


def _store_activation_statistics(run: StudyRun, result, folder: Path, out) -> list[Path]:
    """Figure 7's counts for a freshly trained paper's model, while its weights are in memory
    (they are not committed; the small statistics files are). A failure here never costs the
    training result."""
    try:
        from .activations import store_run_statistics
        paths = store_run_statistics(run.config, folder, model=result.model)
    except Exception as e:  # noqa: BLE001 (report and carry on with the next run)
        print(f"  activation statistics not stored ({type(e).__name__}: {e}); notebook 05 "
              "computes them later from the saved weights", file=out, flush=True)
        return []
    for p in paths:
        print(f"result: {p}", file=out, flush=True)
    return paths


def committed_runs(results: str | os.PathLike | None = None) -> list[tuple[StudyRun, Path]]:
    """The study's runs whose result files exist (intact), in study order."""
    return [(r, result_file(r, results)) for r in define_study() if is_done(r, results)]


def replay_first_interval(result, *, test_subset: int = 200) -> dict:
    """Re-run a stored run's first steps, up to its first evaluation after step 0, with the real
    trainer (in a temporary folder; nothing stored) and return the stored and the replayed mean
    training loss over those steps, and whether this machine is the one that produced the run.

    Only the evaluation set is cut to ``test_subset`` images: the training trajectory (data
    order, augmentation, initialization) does not depend on it."""
    import tempfile

    import torch

    from .train import TrainingInterrupted, train

    first = next(h for h in result.history if h["step"] > 0)
    probe = TrainConfig.from_dict({**result.config.to_dict(), "test_subset": test_subset})
    with tempfile.TemporaryDirectory() as tmp:
        try:
            train(probe, progress=False, stop_after_steps=first["step"], run_directory=tmp)
            history = None                       # the run was not longer than its first interval
        except TrainingInterrupted:
            history = torch.load(Path(tmp) / "checkpoint.pt", weights_only=True)["history"]
    if history is None:
        raise ValueError("the run ends at its first evaluation: nothing shorter to replay")
    replayed = next(h for h in history if h["step"] == first["step"])
    return {"steps": first["step"], "stored": first["train_loss"],
            "replayed": replayed["train_loss"], "same_machine": produced_here(result)}


def produced_here(result) -> bool:
    """Whether this machine (CPU, torch, thread count) is the one that trained ``result``, so a
    replay must match it exactly. The CPU model name alone is not enough (two "AMD EPYC" hosts
    rounded differently); results stored before ``cpu_fingerprint`` existed count as elsewhere."""
    import torch

    from .provenance import cpu_fingerprint
    prov = result.provenance
    return bool(prov.get("cpu_fingerprint") == cpu_fingerprint()
                and prov.get("torch") == torch.__version__
                and result.final.get("threads") == (result.config.threads or os.cpu_count()))


def store_missing_activation_statistics(runs: Sequence[StudyRun],
                                        results: str | os.PathLike | None = None,
                                        out=sys.stdout) -> list[Path]:
    """Figure 7's statistics for every finished paper's-model run that lacks them and whose final
    weights are on this machine (runs trained before the runner stored them); prints each file
    as ``result: <path>``."""
    from .activations import N_IMAGES, WeightsMissing, cache_path, store_run_statistics
    from .train import load_result
    written = []
    for r in runs:
        if r.model != "mobilenet_v2" or r.variant != PAPER_VARIANT or not is_done(r, results):
            continue
        folder = result_file(r, results).parent
        if all(cache_path(folder, r.key, s, N_IMAGES).exists() for s in ("init", "trained")):
            continue
        result = load_result(result_file(r, results), r.config)
        if not Path(result.weights_path).exists():
            print(f"{r.name}: final weights not on this machine ({result.weights_path}); skipped",
                  file=out, flush=True)
            continue
        try:
            paths = store_run_statistics(r.config, folder, model=result.load_model())
        except WeightsMissing as e:
            print(f"{r.name}: {e}", file=out, flush=True)
            continue
        for p in paths:
            print(f"result: {p}", file=out, flush=True)
        written += paths
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mnv2lab.study",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, help_ in (("run", "train every missing run"), ("status", "list done/missing runs"),
                        ("time", "measure seconds per epoch of the trainer here"),
                        ("activations", "store Figure 7 statistics of finished runs that lack "
                                        "them (needs their final weights)")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--only", help="only runs whose name contains this (shell pattern), or "
                                      "used by this figure (fig6a, fig6b, width_sweep, v1_vs_v2)")
        if name == "run":
            p.add_argument("--max-runs", type=int, help="stop after training this many runs")
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
            p.add_argument("--threads", type=int, help="CPU threads per run (default: all cores;"
                           " not part of the result key)")
        if name == "time":
            p.add_argument("--steps", type=int, default=3, help="steps per timed interval")
            p.add_argument("--intervals", type=int, default=6, help="timed intervals per model")
    args = ap.parse_args(argv)
    runs = select(define_study(), args.only)
    if not runs:
        ap.error(f"--only {args.only!r} matches no run; names look like "
                 f"{define_study()[0].name!r}")
    if args.command == "status":
        print("\n".join(status_lines(runs)))
    elif args.command == "activations":
        written = store_missing_activation_statistics(runs)
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
