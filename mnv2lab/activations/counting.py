"""Counting Figure 7's quantity: at every pixel, how many channels of an expansion layer are
positive after its ReLU6, against the invertibility threshold k (Lemma 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..data import to_model_input
from ..models import expansion_activations


@dataclass(frozen=True)
class ExpansionLayer:
    """One expansion layer: where its ReLU6 is, its width and its invertibility threshold."""

    index: int  # 1-based, in network order
    name: str  # e.g. "features.2.expand.act"
    module: nn.Module  # the ReLU6 to hook
    channels: int  # expanded channels t * k
    threshold: int  # k: the bottleneck width feeding it (Lemma 2)

    @property
    def t(self) -> float:
        return self.channels / self.threshold


def expansion_layers(model: nn.Module) -> list[ExpansionLayer]:
    """The expansion layers of a MobileNetV2 (16 at Table 2; t = 1 blocks have none)."""
    layers = []
    for i, (name, act) in enumerate(expansion_activations(model), 1):
        block = model.get_submodule(name[: -len(".expand.act")])
        layers.append(ExpansionLayer(i, name, act, block.hidden_channels, block.in_channels))
    if not layers:
        raise ValueError(
            f"model {type(model).__name__} has no expansion layers (expected a "
            "MobileNetV2 with expand_ratio > 1)"
        )
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
        raise ValueError(
            f"channels/threshold: got {channels}/{threshold}; allowed: 1 <= threshold <= channels"
        )
    stats = {
        "min": c.min(),
        "p5": np.percentile(c, 5),
        "mean": c.mean(),
        "p95": np.percentile(c, 95),
        "max": c.max(),
        "std": c.std(),
    }
    out = {k: float(v) for k, v in stats.items()}
    out.update({f"frac_{k}": float(v) / channels for k, v in stats.items()})
    out["share_below"] = float((c < threshold).mean())
    out["min_below"] = bool(c.min() < threshold)
    out["pixels"] = int(c.size)
    return out


@torch.inference_mode()
def activation_patterns(
    model: nn.Module,
    images: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    batch_size: int = 250,
) -> pd.DataFrame:
    """One row per expansion layer of ``model`` (eval mode) on uint8 NHWC ``images``: index,
    name, channels, threshold, t, and :func:`count_statistics`."""
    layers = expansion_layers(model)
    collected: dict[int, list[torch.Tensor]] = {layer.index: [] for layer in layers}
    hooks = [
        layer.module.register_forward_hook(
            lambda _m, _i, out, idx=layer.index: collected[idx].append(
                positive_counts(out).to(torch.int16).cpu()
            )
        )
        for layer in layers
    ]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for i in range(0, len(images), batch_size):
            model(
                to_model_input(
                    images[i : i + batch_size].to(device), mean, std, channels_last=False
                )
            )
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    rows = []
    for layer in layers:
        counts = torch.cat(collected[layer.index])
        rows.append(
            {
                "layer": layer.index,
                "name": layer.name,
                "channels": layer.channels,
                "threshold": layer.threshold,
                "t": layer.t,
                **count_statistics(counts, layer.channels, layer.threshold),
            }
        )
    return pd.DataFrame(rows)
