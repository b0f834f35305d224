"""The study's models at initialization and trained, and their activation statistics cached per
run (``<results>/activations/<key>.<stage>.n<N>.json``, verified records). Registers the study
runner's after-run hook, so a freshly trained paper's model is counted while its weights are in
memory."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from .. import records
from ..data import load_dataset
from ..params import ParameterError
from ..paths import resolve
from ..provenance import provenance
from ..records import RecordWarning
from ..study import PAPER_VARIANT, StudyRun, obtain, register_after_run, stored
from ..train import build, result_path
from .counting import activation_patterns

STAGES = ("init", "trained")
N_IMAGES = 500  # test images counted by the study runner and notebook 05
STABLE_PROVENANCE = ("mnv2lab_version", "python", "cpu_model", "torch")
FORMAT = 1


def initial_model(config) -> nn.Module:
    """The model exactly as the trainer initializes it for ``config`` (``torch.manual_seed(seed)``
    then build), in eval mode. The global RNG is left as it was."""
    num_classes = _num_classes(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build(config.model, num_classes, config.model_kwargs)
    return model.eval()


def _num_classes(config) -> int:
    known = {"cifar10-jpeg": 10, "cifar10": 10, "digits": 10, "cifar100": 100}
    if config.dataset not in known:
        raise ParameterError(f"dataset: got {config.dataset!r}; allowed here: {sorted(known)}")
    return known[config.dataset]


def probe_images(dataset: str, n_images: int, dataset_kwargs: Mapping | None = None):
    """A fixed random subset (seed 0) of ``n_images`` test images: (uint8 NHWC images, mean, std).
    Normalization uses the full training set's statistics, as in training."""
    ds = load_dataset(dataset, progress=False, **dict(dataset_kwargs or {}))
    ds = ds.subset(None, n_images, seed=0)
    return ds.test_images, ds.mean, ds.std


def cache_path(results: Path, key: str, stage: str, n_images: int) -> Path:
    return Path(results) / "activations" / f"{key}.{stage}.n{n_images}.json"


def _read_cache(path: Path, key: str) -> pd.DataFrame | None:
    try:
        record = records.read(path, format=FORMAT, key=key)
        return pd.DataFrame(record["layers"], columns=record["columns"])
    except (ValueError, KeyError, TypeError) as e:
        warnings.warn(
            f"activation cache {path} is unusable ({e}); recomputing", RecordWarning, stacklevel=3
        )
        return None


class WeightsMissing(RuntimeError):
    """The trained weights of a run are not on this machine (and retraining was not asked for)."""


def run_patterns(
    config,
    stage: str,
    n_images: int,
    results: str | os.PathLike,
    *,
    train_missing: bool = False,
    images=None,
    progress: bool | None = None,
    model: nn.Module | None = None,
) -> pd.DataFrame:
    """Activation statistics of one study run's model at ``stage`` ("init" or "trained"), from
    the cache ``<results>/activations/<key>.<stage>.n<N>.json`` when present, else computed (and
    cached). Trained weights come from ``model`` if given (the trained network in memory), else
    from the trainer's saved final weights; without them :class:`WeightsMissing` is raised unless
    ``train_missing`` (then the run is retrained deterministically for its weights).

    The cache file holds no git commit or time, so the same run counted twice on one machine
    writes the same bytes (two checkouts can commit it without a conflict)."""
    if stage not in STAGES:
        raise ParameterError(f"parameter 'stage': got {stage!r}; allowed: {list(STAGES)}")
    results = resolve(results)
    key = config.key()
    path = cache_path(results, key, stage, n_images)
    if path.exists():
        cached = _read_cache(path, key)
        if cached is not None:
            return cached
    if stage == "init":
        model = initial_model(config)
    elif model is None:
        model = trained_model(config, results, train_missing=train_missing, progress=progress)
    if images is None:
        images = probe_images(config.dataset, n_images, config.dataset_kwargs)
    table = activation_patterns(model, *images)
    prov = {k: v for k, v in provenance().items() if k in STABLE_PROVENANCE}
    record = {
        "format": FORMAT,
        "key": key,
        "stage": stage,
        "n_images": n_images,
        "config": config.to_dict(),
        "image_subset": "test split, torch.randperm seed 0",
        "provenance": prov,
        "columns": list(table.columns),
        "layers": table.to_dict(orient="records"),
    }
    records.write(path, record)
    return table


def store_run_statistics(
    config, results: str | os.PathLike, model: nn.Module | None = None, n_images: int = N_IMAGES
) -> list[Path]:
    """Count and cache a finished run's activation patterns at init and trained (the study
    runner calls this right after training the paper's model, while its weights are at hand).
    Returns the cache files."""
    images = probe_images(config.dataset, n_images, config.dataset_kwargs)
    paths = []
    for stage in STAGES:
        run_patterns(
            config,
            stage,
            n_images,
            results,
            images=images,
            model=model if stage == "trained" else None,
        )
        paths.append(cache_path(resolve(results), config.key(), stage, n_images))
    return paths


def trained_model(
    config, results: Path, *, train_missing: bool = False, progress: bool | None = None
) -> nn.Module:
    """The trained model of a study run (eval mode) from its saved final weights; without them
    :class:`WeightsMissing`, unless ``train_missing`` (then it is trained, or retrained
    deterministically for its weights)."""
    result, status = obtain(
        config, results, train=train_missing, need_model=True, progress=progress
    )
    if status == "no weights":
        raise WeightsMissing(
            f"the final weights of run {config.key()} ({config.label()}) are not on this machine "
            f"(looked for {result.weights_path}); rerun with train_missing=True to retrain it "
            "deterministically for them"
        )
    if result is None:
        raise WeightsMissing(f"run {config.key()} ({config.label()}) has no result in {results}")
    return result.load_model()


def after_run(run: StudyRun, result, folder: Path) -> list[Path]:
    """The study runner's after-run hook: Figure 7's statistics of a freshly trained paper's
    model, counted while its weights are in memory (they are not committed; the small statistics
    files are). Recipe-search runs (trained on part of the training set, evaluated on the
    validation split) are not study results: they get none."""
    if run.model != "mobilenet_v2" or run.variant != PAPER_VARIANT:
        return []
    if run.config.validation_images is not None:
        return []
    return store_run_statistics(run.config, folder, model=result.model)


register_after_run("fig7-statistics", after_run)


def store_missing_statistics(
    runs: Sequence[StudyRun], results: str | os.PathLike | None = None, out=sys.stdout
) -> list[Path]:
    """Figure 7's statistics for every finished paper's-model run that lacks them and whose final
    weights are on this machine (runs trained before the runner stored them); prints each file
    as ``result: <path>`` (``python -m mnv2lab.study activations``)."""
    written = []
    for r in runs:
        if r.model != "mobilenet_v2" or r.variant != PAPER_VARIANT:
            continue
        result = stored(r, results)
        if result is None:
            continue
        folder = result_path(r.config, results).parent
        if all(cache_path(folder, r.key, s, N_IMAGES).exists() for s in STAGES):
            continue
        try:
            paths = store_run_statistics(r.config, folder, model=trained_model(r.config, folder))
        except WeightsMissing as e:
            print(f"{r.name}: {e}", file=out, flush=True)
            continue
        for p in paths:
            print(f"result: {p}", file=out, flush=True)
        written += paths
    return written
