"""Figure 7 along training (issue 13): the expansion layers' activation patterns of the long-budget
paper's model at initialization and after several epochs, not only at the start and the end.

Differences from notebook 05's init/trained counts (:mod:`mnv2lab.activations`), and why:

* **The same number of pixels per layer.** Early layers have 64x more pixels than late ones at
  32x32 (32x32 vs 4x4 feature maps), and a minimum over more pixels is lower: comparing raw minima
  across layers confounds depth with sample size. Every layer's statistics here use
  :data:`PIXELS_PER_LAYER` pixels drawn without replacement (seeded), at most the smallest
  layer's count.
* **Saturated channels counted too.** ReLU6 also clips at 6; a channel at 6 passes no gradient
  and carries less information, so ``frac_saturated`` (share of channels at 6, averaged over the
  pixels) sits next to the positive fraction.
* **BatchNorm at initialization.** The "epoch 0" model is evaluated in eval mode with the
  initial running statistics (mean 0, variance 1), so BatchNorm is the identity then; after
  training it uses the running statistics the trainer accumulated (rank 0's, under DDP).

The weights come from ``TrainConfig.snapshot_epochs`` (kept by the trainer in the run's cache
folder, not committed); the study runner counts them right after a long run and stores one small
JSON per run, ``results/<study>/activations/<key>.along.n<N>.json``, which is committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import records
from .activations import expansion_layers, fig7_finding, initial_model, probe_images
from .data import to_model_input
from .findings import Finding
from .study import PAPER_VARIANT, StudyRun, register_after_run
from .train.checkpoint import load_weights, run_dir
from .train.engine import snapshot_path

FORMAT = 1
N_IMAGES = 500
PIXELS_PER_LAYER = 8_000  # = 500 images x 4 x 4, the last stage's pixel count
SAMPLE_SEED = 0
COLUMNS = [
    "epoch",
    "layer",
    "channels",
    "threshold",
    "pixels",
    "frac_mean",
    "frac_min",
    "frac_p5",
    "frac_std",
    "share_below",
    "min_below",
    "frac_saturated",
]


def layer_statistics(
    counts: torch.Tensor,
    saturated: torch.Tensor,
    channels: int,
    threshold: int,
    pixels: int,
    seed: int = SAMPLE_SEED,
) -> dict:
    """Statistics of ``pixels`` pixels drawn (seeded, without replacement) from one layer's
    per-pixel positive counts and saturated counts (tensors of the same shape)."""
    c, s = counts.reshape(-1), saturated.reshape(-1)
    if pixels > c.numel():
        raise ValueError(f"pixels: got {pixels}; allowed: at most this layer's {c.numel()}")
    pick = torch.randperm(c.numel(), generator=torch.Generator().manual_seed(seed))[:pixels]
    c, s = c[pick].double().numpy(), s[pick].double().numpy()
    return {
        "channels": channels,
        "threshold": threshold,
        "pixels": pixels,
        "frac_mean": float(c.mean() / channels),
        "frac_min": float(c.min() / channels),
        "frac_p5": float(np.percentile(c, 5) / channels),
        "frac_std": float(c.std() / channels),
        "share_below": float((c < threshold).mean()),
        "min_below": bool(c.min() < threshold),
        "frac_saturated": float(s.mean() / channels),
    }


@torch.inference_mode()
def equal_pixel_patterns(
    model: nn.Module,
    images: torch.Tensor,
    mean,
    std,
    *,
    pixels: int = PIXELS_PER_LAYER,
    batch_size: int = 250,
) -> pd.DataFrame:
    """One row per expansion layer of ``model`` (eval mode): :func:`layer_statistics` over the
    same number of pixels in every layer (``pixels``, or the smallest layer's count if fewer)."""
    layers = expansion_layers(model)
    got: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {la.index: [] for la in layers}
    hooks = [
        la.module.register_forward_hook(
            lambda _m, _i, out, idx=la.index: got[idx].append(
                ((out > 0).sum(1).to(torch.int16), (out >= 6).sum(1).to(torch.int16))
            )
        )
        for la in layers
    ]
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(images), batch_size):
            model(to_model_input(images[i : i + batch_size], mean, std, channels_last=False))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    counts = {i: torch.cat([a for a, _ in v]) for i, v in got.items()}
    saturated = {i: torch.cat([b for _, b in v]) for i, v in got.items()}
    pixels = min(pixels, *(c.numel() for c in counts.values()))  # the same for every layer
    rows = [
        {
            "layer": la.index,
            **layer_statistics(
                counts[la.index], saturated[la.index], la.channels, la.threshold, pixels
            ),
        }
        for la in layers
    ]
    return pd.DataFrame(rows)


def cache_path(folder: Path, key: str, n_images: int = N_IMAGES) -> Path:
    return Path(folder) / "activations" / f"{key}.along.n{n_images}.json"


def snapshot_model(config, epoch: int) -> nn.Module:
    """The run's model after ``epoch`` from its kept snapshot (FileNotFoundError if not here)."""
    path = snapshot_path(run_dir(config.key()), epoch)
    if not path.exists():
        raise FileNotFoundError(
            f"no weights after epoch {epoch} of run {config.key()} on this "
            f"machine ({path}); they exist only where the run was trained"
        )
    model = initial_model(config)  # the right architecture and class count
    model.load_state_dict(load_weights(path))
    return model.eval()


def along_training(config, folder: Path, n_images: int = N_IMAGES) -> pd.DataFrame:
    """Equal-pixel statistics at epoch 0 (initialization) and after each snapshot epoch, from the
    cache file if present, else counted from the snapshots and cached."""
    path = cache_path(folder, config.key(), n_images)
    if path.exists():
        record = records.read(path, format=FORMAT, key=config.key())
        return pd.DataFrame(record["rows"], columns=record["columns"])
    images = probe_images(config.dataset, n_images, config.dataset_kwargs)
    tables = []
    for epoch in [0, *config.snapshot_epochs]:
        model = initial_model(config) if epoch == 0 else snapshot_model(config, epoch)
        t = equal_pixel_patterns(model, *images)
        t.insert(0, "epoch", epoch)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)[COLUMNS]
    records.write(
        path,
        {
            "format": FORMAT,
            "key": config.key(),
            "n_images": n_images,
            "pixels_per_layer": PIXELS_PER_LAYER,
            "config": config.to_dict(),
            "columns": COLUMNS,
            "rows": table.to_dict(orient="records"),
        },
    )
    return table


def after_run(run: StudyRun, result, folder: Path) -> list[Path]:
    """Study-runner hook: count a freshly trained long-budget paper's model along training."""
    if (
        run.model != "mobilenet_v2"
        or run.variant != PAPER_VARIANT
        or not run.config.snapshot_epochs
    ):
        return []
    along_training(run.config, folder)
    return [cache_path(folder, run.key)]


register_after_run("fig7-along-training", after_run)


def stored_along(runs: Sequence[StudyRun], folder: Path | None) -> pd.DataFrame:
    """The committed along-training tables of ``runs`` (those that have one) in ``folder``, with a
    seed column; empty without runs."""
    tables = []
    for r in runs if folder is not None else []:
        path = cache_path(folder, r.key)
        if path.exists():
            t = along_training(r.config, folder)
            t.insert(0, "seed", r.seed)
            tables.append(t)
    return (
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["seed", *COLUMNS])
    )


def summary_by_epoch(table: pd.DataFrame) -> pd.DataFrame:
    """Per epoch (mean over seeds): mean positive fraction over layers, its spread across layers,
    layers with a pixel under 1/t, mean saturated fraction."""
    if table.empty:
        return pd.DataFrame(
            columns=[
                "epoch",
                "seeds",
                "frac_mean",
                "frac_std_layers",
                "layers_below",
                "frac_saturated",
            ]
        )
    per_seed = table.groupby(["epoch", "seed"]).agg(
        frac_mean=("frac_mean", "mean"),
        frac_std_layers=("frac_mean", "std"),
        layers_below=("min_below", "sum"),
        frac_saturated=("frac_saturated", "mean"),
    )
    out = per_seed.groupby("epoch").mean()
    out.insert(0, "seeds", per_seed.groupby("epoch").size())
    return out.reset_index()


def along_takeaway(summary: pd.DataFrame, label: str) -> str:
    """The one-line takeaway of the along-training figure from :func:`summary_by_epoch`, naming
    the budget ``label`` ("CIFAR-10, 30 epochs"); says so when no run is counted yet."""
    if summary.empty:
        return f"{label}: no long-budget run counted yet."
    first, last = summary.iloc[0], summary.iloc[-1]
    return (
        f"{label}: mean positive fraction {first.frac_mean:.2f} at init, {last.frac_mean:.2f} "
        f"after {int(last.epoch)} epochs; layers with a pixel under 1/t: "
        f"{first.layers_below:.1f} -> {last.layers_below:.1f} (mean over {int(last.seeds)} seeds)."
    )


def verdict(table: pd.DataFrame, label: str) -> Finding:
    """Figure 7 from the long-budget models: the checks of
    :func:`mnv2lab.activations.fig7_checks`, initialization (epoch 0) against the last epoch
    counted, the same seeds at both, equal pixels in every layer. ``label`` names the budget."""
    if table.empty:
        raise ValueError("table: got no along-training counts; allowed: at least one run's")
    last = int(table.epoch.max())
    init, end = table[table.epoch == 0], table[table.epoch == last]
    seeds = sorted(set(init.seed) & set(end.seed))
    init, end = init[init.seed.isin(seeds)], end[end.seed.isin(seeds)]
    li = init.groupby("layer")[["frac_mean", "frac_std"]].mean()  # per layer, mean over seeds
    le = end.groupby("layer")[["frac_mean", "frac_std"]].mean()
    n_layers, grows = len(li), int((le.frac_std > li.frac_std).sum())
    below_init = init.groupby("seed").min_below.sum()
    below_end = end.groupby("seed").min_below.sum()
    f_init, f_end = float(li.frac_mean.mean()), float(le.frac_mean.mean())
    pixels = int(table.pixels.iloc[0])
    return fig7_finding(
        f"{label}: ",
        f"from the long budget's paper's model ({len(seeds)} seeds, {pixels:,} pixels in every "
        f"one of the {n_layers} expansion layers, initialization against epoch {last})",
        frac_init=f_init,
        frac_trained=f_end,
        trained=f"after {last} epochs",
        grows=grows,
        n_layers=n_layers,
        spread_note="",
        below_init=f"{below_init.mean():.1f}",
        below_trained=f"{below_end.mean():.1f}",
        below_mean=float(below_end.mean()),
        below_note=f" (per seed {' / '.join(str(int(below_end[s])) for s in seeds)})",
    )


def figure7_finding(short: Finding, table: pd.DataFrame, planned: int, label: str) -> Finding:
    """The Figure 7 finding the notebook records: the long budget's (:func:`verdict`) once all
    ``planned`` long-budget runs are counted along training, else ``short`` (the short budget's,
    which names its budget)."""
    counted = table.seed.nunique() if len(table) else 0
    return verdict(table, label) if planned and counted >= planned else short
