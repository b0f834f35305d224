"""How long the study's runs take here: the measured seconds per epoch of the trainer (a dated
table, :data:`TIMING_NOTE`), the estimate of one run, and the measurement itself
(``python -m mnv2lab.study time``)."""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

import torch

from ..data import load_dataset
from ..train import TrainConfig, TrainingInterrupted, train
from .definition import DATASET, StudyRun

# Measured on this machine (2 cores, shared) with `python -m mnv2lab.study time`'s method, trainer
# of commit 6f2fa41 or later, batch 128, channels_last: the MEDIAN over 6 timed intervals (the best
# interval in TIMING_NOTE). Keys: (model, width) -> seconds per training epoch (50,000 images) and
# per evaluation (10,000 test images).
SECONDS_PER_EPOCH: dict[tuple[str, float], float] = {
    ("mobilenet_v2", 0.25): 186.0,
    ("mobilenet_v2", 0.35): 233.0,
    ("mobilenet_v2", 0.5): 209.0,
    ("mobilenet_v1", 0.3): 136.0,
    ("mobilenet_v1", 0.4): 180.0,
    ("mobilenet_v2", 0.75): 634.0,
    ("mobilenet_v2", 1.0): 540.0,
}
SECONDS_PER_EVAL: dict[tuple[str, float], float] = {
    ("mobilenet_v2", 0.25): 12.0,
    ("mobilenet_v2", 0.35): 17.0,
    ("mobilenet_v2", 0.5): 20.0,
    ("mobilenet_v1", 0.3): 18.0,
    ("mobilenet_v1", 0.4): 18.0,
    ("mobilenet_v2", 0.75): 56.0,
    ("mobilenet_v2", 1.0): 54.0,
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
    ds = load_dataset(config.dataset, progress=False, **config.dataset_kwargs)
    n_train, n_test = len(ds.train_labels), len(ds.test_labels)
    probe_test = min(1000, n_test)
    probe = TrainConfig.from_dict(
        {
            **config.to_dict(),
            "eval_every_epochs": None,
            "eval_every_steps": steps,
            "eval_at_start": True,
            "epochs": 1,
            "test_subset": probe_test,
        }
    )
    load_before = os.getloadavg()[0]
    history = first_steps_history(probe, (intervals + 1) * steps)
    if history is None:
        raise ValueError(
            f"the probe of {config.label()} ended before {(intervals + 1) * steps} "
            "steps: nothing to time"
        )
    timed = history[2:]  # history[0]: step 0; history[1]: warm-up interval
    train_s = [steps * config.batch_size / h["images_per_s"] for h in timed]
    evals = [b["elapsed_s"] - a["elapsed_s"] - t for a, b, t in zip(history[1:], timed, train_s)]
    scale = n_test / probe_test
    per_epoch = [t * n_train / (steps * config.batch_size) for t in train_s]
    return {
        "seconds_per_epoch_best": min(per_epoch),
        "seconds_per_epoch_median": statistics.median(per_epoch),
        "seconds_per_eval_best": max(0.0, min(evals)) * scale,
        "seconds_per_eval_median": max(0.0, statistics.median(evals)) * scale,
        "load_average": round((load_before + os.getloadavg()[0]) / 2, 2),
    }


def estimate_seconds(run: StudyRun) -> float | None:
    """Estimated wall time of one run from the measured table (None if not measured)."""
    k = (run.model, run.width)
    if k not in SECONDS_PER_EPOCH or run.config.dataset != DATASET or run.config.train_subset:
        return None  # measured for the full CIFAR-10 training set only
    cfg = run.config
    n_evals = int(cfg.epochs / (cfg.eval_every_epochs or 1.0)) + int(cfg.eval_at_start)
    return cfg.epochs * SECONDS_PER_EPOCH[k] + n_evals * SECONDS_PER_EVAL.get(k, 0.0)


def first_steps_history(config: TrainConfig, steps: int) -> list[dict] | None:
    """The history of the real trainer run on ``config`` and stopped after ``steps`` steps, in a
    temporary folder (nothing stored); None when the run ends before that (nothing was cut)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            train(config, progress=False, stop_after_steps=steps, run_directory=tmp)
        except TrainingInterrupted:
            return torch.load(Path(tmp) / "checkpoint.pt", weights_only=True)["history"]
    return None
