"""Learning rate as a pure function of the step, so a resumed run needs no scheduler state.

Schedules (after an optional linear warm-up over ``warmup_epochs``):

* ``constant``: ``lr``.
* ``cosine``: ``lr`` annealed to 0 over the remaining steps (half a cosine period).
* ``step``: ``lr * decay_rate ** floor(epoch / decay_epochs)``: the paper's "0.98 per epoch"
  with ``decay_rate=0.98, decay_epochs=1`` (the TF-slim staircase decay).
* ``exponential``: ``lr * decay_rate ** (epoch / decay_epochs)`` (continuous).
"""

from __future__ import annotations

import math

from .config import TrainConfig


def lr_at(config: TrainConfig, step: int, steps_per_epoch: int, total_steps: int) -> float:
    """The learning rate used for optimizer step ``step`` (0-based)."""
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    epoch = step / steps_per_epoch
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "cosine":
        span = max(1, total_steps - warmup)
        return 0.5 * config.lr * (1 + math.cos(math.pi * (step - warmup) / span))
    if config.schedule == "step":
        return config.lr * config.decay_rate ** math.floor(epoch / config.decay_epochs + 1e-9)
    if config.schedule == "exponential":
        return config.lr * config.decay_rate ** (epoch / config.decay_epochs)
    raise ValueError(f"schedule: got {config.schedule!r}")
