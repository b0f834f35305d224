"""Batched augmentation and normalization on uint8 image tensors, on the training device.

No per-sample Python: a whole batch is cropped and flipped with one gather, driven by random
numbers drawn from an explicit ``torch.Generator`` (so a run is reproducible and can resume at any
step by re-seeding the generator for that step).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def random_crop_flip(
    images: torch.Tensor,
    *,
    padding: int = 4,
    flip: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop of each (H, W) image from its zero-padded (H+2p, W+2p) version, and a random
    horizontal flip with probability 1/2: the standard CIFAR augmentation.

    ``images``: uint8 (B, H, W, C). Random numbers come from ``generator`` (a CPU generator), so the
    result does not depend on the device.
    """
    if images.ndim != 4:
        raise ValueError(f"images: need (B, H, W, C), got shape {tuple(images.shape)}")
    b, h, w, _ = images.shape
    dev = images.device
    if padding < 0:
        raise ValueError(f"padding: got {padding}; allowed: >= 0")
    offsets = torch.randint(0, 2 * padding + 1, (b, 2), generator=generator)
    flips = torch.rand(b, generator=generator) < 0.5 if flip else torch.zeros(b, dtype=torch.bool)
    offsets, flips = offsets.to(dev), flips.to(dev)
    if padding:
        images = F.pad(images, (0, 0, padding, padding, padding, padding))
    rows = offsets[:, :1] + torch.arange(h, device=dev)  # (B, H)
    cols_fwd = torch.arange(w, device=dev)
    cols = torch.where(flips[:, None], cols_fwd.flip(0), cols_fwd) + offsets[:, 1:]  # (B, W)
    batch = torch.arange(b, device=dev)[:, None, None]
    return images[batch, rows[:, :, None], cols[:, None, :]]


def to_model_input(
    images: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    channels_last: bool = True,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """uint8 (B, H, W, C) -> normalized float (B, C, H, W).

    With ``channels_last`` the result keeps the NHWC memory layout (no copy of the layout), which
    the oneDNN CPU convolutions run fastest on; otherwise it is made NCHW-contiguous.
    """
    x = images.permute(0, 3, 1, 2).to(dtype)
    c = x.shape[1]
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=dtype, device=x.device)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], dtype=dtype, device=x.device)
    x = x * scale.view(1, c, 1, 1) + shift.view(1, c, 1, 1)
    return x.contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format
    )


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of ``n`` training examples in ``epoch``: a pure function of
    (seed, epoch), so a resumed run recomputes exactly the order it was in."""
    g = torch.Generator().manual_seed(mix_seeds(seed, epoch, 0x5EED))
    return torch.randperm(n, generator=g)


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A CPU generator for the augmentation of one training step (and one rank)."""
    return torch.Generator().manual_seed(mix_seeds(seed, step, rank))


def mix_seeds(*ints: int) -> int:
    """Combine integers into one 63-bit seed (splitmix64-style), so nearby seeds/steps give
    unrelated streams."""
    x = 0x9E3779B97F4A7C15
    for v in ints:
        x = (x ^ (int(v) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
    return x & 0x7FFFFFFFFFFFFFFF
