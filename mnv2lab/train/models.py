"""Which models the trainer can build: every ``mnv2lab.models`` model plus a tiny CNN for tests."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from ..params import ParameterError


class TinyCNN(nn.Module):
    """A two-conv network with BatchNorm and dropout: enough to test training, resuming and
    DistributedDataParallel in seconds (BN buffers and dropout randomness included)."""

    def __init__(self, num_classes: int = 10, width: int = 8, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def builders() -> dict[str, Callable[..., nn.Module]]:
    from ..models import MODELS

    return {**MODELS, "tiny_cnn": TinyCNN}


def build(name: str, num_classes: int, kwargs: dict[str, Any]) -> nn.Module:
    """Build model ``name`` for ``num_classes`` classes with the configured keyword arguments."""
    table = builders()
    if name not in table:
        raise ParameterError(f"parameter 'model': got {name!r}; allowed: {', '.join(table)}")
    if "num_classes" in kwargs:
        raise ParameterError(
            "parameter 'model_kwargs': do not set 'num_classes'; the trainer "
            "takes it from the data set"
        )
    try:
        return table[name](num_classes=num_classes, **kwargs)
    except TypeError as e:  # an unknown keyword argument
        raise ParameterError(f"parameter 'model_kwargs' for {name!r}: {e}") from None


def check_model(name: str, kwargs: dict[str, Any]) -> None:
    """Validate the model name and arguments by building it once (on CPU, a fraction of a second)."""
    with torch.random.fork_rng(devices=[]):
        build(name, 10, kwargs)
