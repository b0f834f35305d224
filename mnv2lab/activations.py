"""Activation patterns of the expansion layers (Figure 7, Appendix A of the paper).

For every expansion layer (1x1 conv + BN + ReLU6, t * k channels from a k-channel bottleneck) we
count, at every pixel of every image, how many channels are positive after the ReLU6. Lemma 2 of
Appendix A: the layer can only be inverted at a pixel (the k-dimensional input recovered from its
output) if at least k channels are positive there, so k = 1/t of the expanded channels is the
*invertibility threshold*. The paper shows, for the 16 expansion layers of MobileNetV2: at step 0
about half the channels are positive everywhere; after training the average is about the same but
the spread grows, and the minimum of a few layers falls under the threshold.

    layers = expansion_layers(model)                     # name, channels, threshold per layer
    table = activation_patterns(model, images, ds)       # one row of statistics per layer
    run_patterns(config, "trained", ...)                 # cached per run in results/<study>/activations/

Statistics per layer (over all pixels of all images): ``min``, ``p5``, ``mean``, ``p95``,
``max``, ``std`` of the count; the same divided by the expanded width (``frac_*``); the share of
pixels whose count is under the threshold (``share_below``), and ``min_below`` (does any pixel
fall under it).
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import records
from .data import load_dataset, to_model_input
from .models import expansion_activations
from .findings import Finding, count_verdict
from .params import Param, ParameterError
from .published import FIG7_TEXT
from .paths import resolve
from .provenance import provenance
from .records import RecordWarning
from .stats import mean_ci
from . import study
from .study import (PAPER_VARIANT, SPEC_STUDY, StudyPlan, StudyRun, data_available, obtain,
                    register_after_run, stored)
from .train import build, result_path

STAGES = ("init", "trained")
N_IMAGES = 500                  # test images counted by the study runner and notebook 05
STABLE_PROVENANCE = ("mnv2lab_version", "python", "cpu_model", "torch")
FORMAT = 1

SPEC: dict[str, Param] = {
    **SPEC_STUDY,
    "main_width": Param(float, "width of the model drawn as Figure 7", min=0.1, max=2.0),
    "widths": Param(list, "widths whose trained models are counted too", item=float, min=0.1,
                    max=2.0, min_len=1),
    "seeds": Param(list, "seeds of the study's runs", item=int, min=0, min_len=1),
    "n_images": Param(int, "test images whose pixels are counted", min=1, max=10_000),
    "train_missing": Param(bool, "train runs (or retrain for weights) that are missing"),
}


# ---------------------------------------------------------------------------------------------
# Counting

@dataclass(frozen=True)
class ExpansionLayer:
    """One expansion layer: where its ReLU6 is, its width and its invertibility threshold."""

    index: int            # 1-based, in network order
    name: str             # e.g. "features.2.expand.act"
    module: nn.Module     # the ReLU6 to hook
    channels: int         # expanded channels t * k
    threshold: int        # k: the bottleneck width feeding it (Lemma 2)

    @property
    def t(self) -> float:
        return self.channels / self.threshold


def expansion_layers(model: nn.Module) -> list[ExpansionLayer]:
    """The expansion layers of a MobileNetV2 (16 at Table 2; t = 1 blocks have none)."""
    layers = []
    for i, (name, act) in enumerate(expansion_activations(model), 1):
        block = model.get_submodule(name[:-len(".expand.act")])
        layers.append(ExpansionLayer(i, name, act, block.hidden_channels, block.in_channels))
    if not layers:
        raise ValueError(f"model {type(model).__name__} has no expansion layers (expected a "
                         "MobileNetV2 with expand_ratio > 1)")
    return layers


def positive_counts(activation: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) activations -> (N, H, W) number of channels > 0 at each pixel."""
    if activation.ndim != 4:
        raise ValueError(f"activation: got shape {tuple(activation.shape)}; allowed: (N, C, H, W)")
    return (activation > 0).sum(dim=1)


def count_statistics(counts: torch.Tensor | np.ndarray, channels: int, threshold: int) -> dict:
    """Statistics of per-pixel positive-channel counts (any shape; all pixels of all images
    pooled) against the threshold."""
    c = np.asarray(counts, dtype=np.float64).ravel()
    if c.size == 0:
        raise ValueError("counts: got no pixels")
    if channels < 1 or not 0 < threshold <= channels:
        raise ValueError(f"channels/threshold: got {channels}/{threshold}; allowed: "
                         "1 <= threshold <= channels")
    stats = {"min": c.min(), "p5": np.percentile(c, 5), "mean": c.mean(),
             "p95": np.percentile(c, 95), "max": c.max(), "std": c.std()}
    out = {k: float(v) for k, v in stats.items()}
    out.update({f"frac_{k}": float(v) / channels for k, v in stats.items()})
    out["share_below"] = float((c < threshold).mean())
    out["min_below"] = bool(c.min() < threshold)
    out["pixels"] = int(c.size)
    return out


@torch.inference_mode()
def activation_patterns(model: nn.Module, images: torch.Tensor, mean: Sequence[float],
                        std: Sequence[float], *, batch_size: int = 250) -> pd.DataFrame:
    """One row per expansion layer of ``model`` (eval mode) on uint8 NHWC ``images``: index,
    name, channels, threshold, t, and :func:`count_statistics`."""
    layers = expansion_layers(model)
    collected: dict[int, list[torch.Tensor]] = {layer.index: [] for layer in layers}
    hooks = [layer.module.register_forward_hook(
        lambda _m, _i, out, idx=layer.index: collected[idx].append(
            positive_counts(out).to(torch.int16).cpu())) for layer in layers]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for i in range(0, len(images), batch_size):
            model(to_model_input(images[i:i + batch_size].to(device), mean, std,
                                 channels_last=False))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    rows = []
    for layer in layers:
        counts = torch.cat(collected[layer.index])
        rows.append({"layer": layer.index, "name": layer.name, "channels": layer.channels,
                     "threshold": layer.threshold, "t": layer.t,
                     **count_statistics(counts, layer.channels, layer.threshold)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The study's models: at initialization and trained, cached per run

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
        warnings.warn(f"activation cache {path} is unusable ({e}); recomputing", RecordWarning,
                      stacklevel=3)
        return None


class WeightsMissing(RuntimeError):
    """The trained weights of a run are not on this machine (and retraining was not asked for)."""


def run_patterns(config, stage: str, n_images: int, results: str | os.PathLike, *,
                 train_missing: bool = False, images=None, progress: bool | None = None,
                 model: nn.Module | None = None) -> pd.DataFrame:
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
    record = {"format": FORMAT, "key": key, "stage": stage, "n_images": n_images,
              "config": config.to_dict(), "image_subset": "test split, torch.randperm seed 0",
              "provenance": prov, "columns": list(table.columns),
              "layers": table.to_dict(orient="records")}
    records.write(path, record)
    return table


def store_run_statistics(config, results: str | os.PathLike, model: nn.Module | None = None,
                         n_images: int = N_IMAGES) -> list[Path]:
    """Count and cache a finished run's activation patterns at init and trained (the study
    runner calls this right after training the paper's model, while its weights are at hand).
    Returns the cache files."""
    images = probe_images(config.dataset, n_images, config.dataset_kwargs)
    paths = []
    for stage in STAGES:
        run_patterns(config, stage, n_images, results, images=images,
                     model=model if stage == "trained" else None)
        paths.append(cache_path(resolve(results), config.key(), stage, n_images))
    return paths


def trained_model(config, results: Path, *, train_missing: bool = False,
                  progress: bool | None = None) -> nn.Module:
    """The trained model of a study run (eval mode) from its saved final weights; without them
    :class:`WeightsMissing`, unless ``train_missing`` (then it is trained, or retrained
    deterministically for its weights)."""
    result, status = obtain(config, results, train=train_missing, need_model=True,
                            progress=progress)
    if status == "no weights":
        raise WeightsMissing(
            f"the final weights of run {config.key()} ({config.label()}) are not on this machine "
            f"(looked for {result.weights_path}); rerun with train_missing=True to retrain it "
            "deterministically for them")
    if result is None:
        raise WeightsMissing(f"run {config.key()} ({config.label()}) has no result in {results}")
    return result.load_model()


def after_run(run: StudyRun, result, folder: Path) -> list[Path]:
    """The study runner's after-run hook: Figure 7's statistics of a freshly trained paper's
    model, counted while its weights are in memory (they are not committed; the small statistics
    files are)."""
    if run.model != "mobilenet_v2" or run.variant != PAPER_VARIANT:
        return []
    return store_run_statistics(run.config, folder, model=result.model)


register_after_run("fig7-statistics", after_run)


def store_missing_statistics(runs: Sequence[StudyRun], results: str | os.PathLike | None = None,
                             out=sys.stdout) -> list[Path]:
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
            paths = store_run_statistics(r.config, folder,
                                         model=trained_model(r.config, folder))
        except WeightsMissing as e:
            print(f"{r.name}: {e}", file=out, flush=True)
            continue
        for p in paths:
            print(f"result: {p}", file=out, flush=True)
        written += paths
    return written


# ---------------------------------------------------------------------------------------------
# The notebook's workload

@dataclass
class ActivationPlan(StudyPlan):
    """The study's plan restricted to the paper's model (every width and seed), and how many test
    images are counted."""

    n_images: int = N_IMAGES


def make_plan(params: Mapping[str, Any]) -> ActivationPlan:
    """The runs (the paper's model at every width, every seed) after smoke reductions."""
    p = dict(params)
    widths = [float(w) for w in p["widths"]]
    if float(p["main_width"]) not in widths:
        raise ParameterError(f"parameters 'main_width' and 'widths': got {p['main_width']!r} and "
                             f"{widths!r}; allowed: main_width among the widths")
    base = study.make_plan({**p, "widths": widths}, "width_sweep")
    base.runs = [r for r in base.runs if r.variant == PAPER_VARIANT
                 and (not base.smoke or r.width == base.main_width)]     # smoke: 2 tiny runs
    if base.smoke:
        base.widths = [base.main_width]
    base.only = None
    n_images = min(int(p["n_images"]), 64) if p["smoke"] else int(p["n_images"])
    return ActivationPlan(**{f.name: getattr(base, f.name) for f in fields(StudyPlan)},
                          n_images=n_images)


def collect(plan: ActivationPlan, progress: bool | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Statistics of every run's model at init and trained, as one table (columns: seed, width,
    stage and the per-layer statistics), plus a list of messages about what is missing."""
    frames, missing = [], []
    images = None
    have_data = data_available(plan.dataset)
    for r in plan.runs:
        for stage in STAGES:
            path = cache_path(plan.results, r.key, stage, plan.n_images)
            try:
                if not path.exists() and images is None and have_data:
                    images = probe_images(plan.dataset, plan.n_images, r.config.dataset_kwargs)
                if not path.exists() and not have_data:
                    raise WeightsMissing(f"the data set {plan.dataset!r} is not here to compute "
                                         "activation statistics")
                t = run_patterns(r.config, stage, plan.n_images, plan.results,
                                 train_missing=plan.train_missing, images=images,
                                 progress=progress)
            except WeightsMissing as e:
                missing.append(f"{r.name} ({stage}): {e}")
                continue
            frames.append(t.assign(seed=r.seed, width=r.width, stage=stage, run=r.name))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    n_trained = 0 if table.empty else table[table.stage == "trained"].run.nunique()
    print(f"activation statistics: {len(plan.runs)} runs, {n_trained} trained models counted"
          f" on {plan.n_images} test images")
    if missing:
        print(f"{len(missing)} missing: " + "; ".join(missing[:4])
              + (" ..." if len(missing) > 4 else "")
              + "\nTrain the study with `.venv/bin/python -m mnv2lab.study run` (on this machine "
              "the final weights stay in .cache/runs/) or rerun with `-p train_missing True`.")
    return table, missing


# ---------------------------------------------------------------------------------------------
# Summaries and verdict

def pooled(table: pd.DataFrame, width: float, stage: str) -> pd.DataFrame:
    """Per layer, over seeds: the lowest min, the mean of the means with a 95% interval over
    seeds, the highest max, mean std, mean p5/p95, and (fractions) the same over the width."""
    t = table[(table.width == width) & (table.stage == stage)]
    rows = []
    for layer, g in t.groupby("layer"):
        m, lo, hi = mean_ci(g["mean"].to_numpy())
        rows.append({"layer": layer, "channels": int(g.channels.iloc[0]),
                     "threshold": int(g.threshold.iloc[0]), "seeds": len(g),
                     "min": g["min"].min(), "p5": g.p5.mean(), "mean": m, "mean_low": lo,
                     "mean_high": hi, "p95": g.p95.mean(), "max": g["max"].max(),
                     "std": g["std"].mean(), "share_below": g.share_below.mean(),
                     "seeds_min_below": int(g.min_below.sum())})
    out = pd.DataFrame(rows)
    if not out.empty:
        for c in ("min", "p5", "mean", "mean_low", "mean_high", "p95", "max", "std"):
            out[f"frac_{c}"] = out[c] / out.channels
    return out


def layers_below(table: pd.DataFrame) -> pd.DataFrame:
    """Per width, stage and seed: how many expansion layers have a pixel under the threshold."""
    if table.empty:
        return pd.DataFrame(columns=["width", "stage", "seed", "layers", "layers_below"])
    g = table.groupby(["width", "stage", "seed"])
    return g.agg(layers=("layer", "count"), layers_below=("min_below", "sum"),
                 mean_share_below=("share_below", "mean")).reset_index()


def lowest_layers(table: pd.DataFrame, stage: str = "trained") -> pd.DataFrame:
    """Per width and seed: the expansion layer whose least-active pixel keeps the smallest
    fraction of its channels, with that minimum, the threshold and the share of pixels under it."""
    t = table[table.stage == stage].assign(frac_min=lambda d: d["min"] / d.channels)
    rows = t.sort_values("frac_min").groupby(["width", "seed"]).head(1)
    return rows[["width", "seed", "layer", "min", "channels", "threshold", "frac_min",
                 "share_below"]].sort_values(["width", "seed"]).reset_index(drop=True)


def figure_note(table: pd.DataFrame, plan: ActivationPlan) -> str:
    """The warning over Figure 7 when it is incomplete (smoke run, trained models missing)."""
    if plan.smoke:
        return "smoke run (tiny digits models): not a result"
    n_main = sum(1 for r in plan.runs if r.width == plan.main_width)
    done = 0 if table.empty else table[(table.width == plan.main_width)
                                       & (table.stage == "trained")].seed.nunique()
    if done < n_main:
        return (f"PROVISIONAL: {done} of {n_main} trained models at width {plan.main_width:g} "
                "counted so far")
    return ""


def verdict(table: pd.DataFrame, plan: ActivationPlan) -> Finding:
    """Figure 7 against the paper's account, from the numbers, as four checks (all / some / none
    hold: :func:`mnv2lab.findings.count_verdict`): init mean fraction near 1/2; trained mean
    fraction close to init; spread (std over pixels) larger after training in most layers; a few
    layers with pixels under the threshold after training. "inconclusive" while no trained model
    is counted."""
    w = plan.main_width
    init, trained = pooled(table, w, "init"), pooled(table, w, "trained")
    prefix = ("smoke run, not a result: " if plan.smoke else "")
    if not trained.empty:            # compare the same seeds at both stages (paired)
        seeds = set(table[(table.width == w) & (table.stage == "trained")].seed)
        table = table[table.seed.isin(seeds)]
        init = pooled(table, w, "init")
    if init.empty or trained.empty:
        init_text = "nothing counted at initialization either."
        f0 = "n/a"
        if not init.empty:
            below0 = layers_below(table[(table.width == w) & (table.stage == "init")])
            where = init[init.seeds_min_below > 0].layer.tolist()
            f0 = f"{init.frac_mean.mean():.2f}"
            init_text = (f"at initialization ({int(init.seeds.min())} seeds, {plan.n_images} test "
                         f"images) the mean fraction of positive channels per pixel, averaged over "
                         f"the {len(init)} layers, is {init.frac_mean.mean():.3f} (per layer "
                         f"{init.frac_mean.min():.3f} to {init.frac_mean.max():.3f}); the lowest "
                         f"pixel count of a layer is {init.frac_min.min():.3f} of its channels; "
                         f"layers with a pixel under 1/t: {_range(below0.layers_below)} per seed"
                         + (f" (layer {', '.join(map(str, where))})" if where else "") + ".")
        return Finding(
            "Figure 7", "inconclusive",
            f"{prefix}provisional: trained models missing; at init the mean positive fraction "
            f"is {f0} (paper: about 0.5)",
            details=f"{prefix}PROVISIONAL: no trained model counted yet at width {w:g}; only "
                    f"initialization can be compared with the paper: {init_text} "
                    f"Paper: {FIG7_TEXT}.")
    n_seeds = int(trained.seeds.min())
    if n_seeds < 3 and not plan.smoke:
        prefix += f"PROVISIONAL ({n_seeds} seed(s)): "
    f_init, f_trained = init.frac_mean.mean(), trained.frac_mean.mean()
    spread_ratio = trained["std"] / init["std"]
    grows = int((spread_ratio > 1).sum())
    below = layers_below(table[table.width == w])
    b_init = below[below.stage == "init"].layers_below
    b_tr = below[below.stage == "trained"].layers_below
    n_layers = len(trained)
    checks = {
        "init near half": 0.4 <= f_init <= 0.6,
        "average kept": abs(f_trained - f_init) <= 0.1,
        "spread grows": grows >= 0.75 * n_layers,
        "a few layers under": b_tr.mean() >= 1 and b_tr.mean() <= n_layers / 2,
    }
    text = (f"{prefix}Figure 7 at width {w:g} ({n_seeds} seed(s), {plan.n_images} test images, "
            f"{n_layers} expansion layers). Mean fraction of positive channels per pixel, averaged "
            f"over layers: {f_init:.3f} at initialization, {f_trained:.3f} trained. Spread (std "
            f"over pixels) grows in {grows} of {n_layers} layers (median ratio trained/init "
            f"{spread_ratio.median():.2f}). Layers with a pixel under the invertibility threshold "
            f"(1/t of the channels): {_range(b_init)} at initialization, {_range(b_tr)} trained "
            f"(per seed). Paper: {FIG7_TEXT}. Checks: "
            + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in checks.items()) + ".")
    finding = (f"{prefix}mean positive fraction {f_init:.2f} init -> {f_trained:.2f} trained, "
               f"spread up in {grows}/{n_layers} layers, layers with a pixel under 1/t: "
               f"{_range(b_init)} init, {_range(b_tr)} trained (paper: ~0.5, same, grows, a few)")
    return Finding("Figure 7", count_verdict(checks.values()), finding[:300], details=text)


def findings(table: pd.DataFrame, plan: ActivationPlan) -> list[Finding]:
    """The notebook's findings: Figure 7 (:func:`verdict`) and, beyond the paper, how many
    expansion layers of the trained models have a pixel under the threshold, by width."""
    out = [verdict(table, plan)]
    below = layers_below(table)
    by_width = below[below.stage == "trained"].groupby("width").layers_below.mean()
    if len(by_width):
        out.append(Finding("beyond the paper", "beyond the paper",
                           "trained: layers (of 16) with a pixel under 1/t, mean over seeds, by "
                           "width: " + ", ".join(f"{w:g}: {v:.1f}" for w, v in by_width.items())))
    return out


def _range(values: pd.Series) -> str:
    v = sorted(int(x) for x in values)
    if not v:
        return "n/a"
    return str(v[0]) if v[0] == v[-1] else f"{v[0]}-{v[-1]}"
