"""Checks that a committed run is what it claims: replay its first training steps with the real
trainer and compare the losses (exact on the machine that produced it)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..provenance import cpu_fingerprint
from ..train import TrainConfig
from .collect import is_done, result_file
from .definition import StudyRun, define_study
from .timing import first_steps_history


def committed_runs(results: str | os.PathLike | None = None) -> list[tuple[StudyRun, Path]]:
    """The study's runs whose result files exist (intact), in study order."""
    return [(r, result_file(r, results)) for r in define_study() if is_done(r, results)]


def replay_first_interval(result, *, test_subset: int = 200) -> dict:
    """Re-run a stored run's first steps, up to its first evaluation after step 0, with the real
    trainer (in a temporary folder; nothing stored) and return the stored and the replayed mean
    training loss over those steps, and whether this machine is the one that produced the run.

    Only the evaluation set is cut to ``test_subset`` images: the training trajectory (data
    order, augmentation, initialization) does not depend on it."""
    first = next(h for h in result.history if h["step"] > 0)
    probe = TrainConfig.from_dict({**result.config.to_dict(), "test_subset": test_subset})
    history = first_steps_history(probe, first["step"])
    if history is None:
        raise ValueError("the run ends at its first evaluation: nothing shorter to replay")
    replayed = next(h for h in history if h["step"] == first["step"])
    return {
        "steps": first["step"],
        "stored": first["train_loss"],
        "replayed": replayed["train_loss"],
        "same_machine": produced_here(result),
    }


def produced_here(result) -> bool:
    """Whether this machine (CPU, torch, thread count) is the one that trained ``result``, so a
    replay must match it exactly. The CPU model name alone is not enough (two "AMD EPYC" hosts
    rounded differently); results stored before ``cpu_fingerprint`` existed count as elsewhere."""
    prov = result.provenance
    return bool(
        prov.get("cpu_fingerprint") == cpu_fingerprint()
        and prov.get("torch") == torch.__version__
        and result.final.get("threads") == (result.config.threads or os.cpu_count())
    )
