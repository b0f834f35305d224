"""What the three classification networks (MobileNetV2, MobileNetV1, ShuffleNet v1) share: the
common arguments and their checks, and the tail of their tables, global average pooling then a
classifier (dropout + linear). Each subclass builds ``features`` and its own table rows."""

from __future__ import annotations

import torch
from torch import nn

from .layers import (
    InputSizeCheck,
    check_bool,
    check_fraction,
    check_input_size,
    check_int,
    check_positive,
    init_weights,
)
from .table import LayerRow


class ImageClassifier(InputSizeCheck):
    """``features`` -> global average pooling -> ``classifier`` (dropout + linear).

    Subclasses call ``super().__init__(...)`` first (it checks the shared arguments before
    anything is built), then build their layers, adding a :class:`LayerRow` per table line to
    ``self._rows``, and end with :meth:`_add_head`."""

    def __init__(
        self,
        width_mult: float,
        num_classes: int,
        small_input: bool,
        dropout: float,
        input_size: int | tuple[int, int] | None,
    ) -> None:
        super().__init__()
        self.width_mult = check_positive("width_mult", width_mult)
        self.num_classes = check_int("num_classes", num_classes, 1)
        self.small_input = check_bool("small_input", small_input)
        self._dropout = check_fraction("dropout", dropout)
        # Small inputs (32x32) run the stem and the first stride-2 stage at stride 1.
        self.min_input_size = 8 if small_input else 32
        if input_size is not None:
            check_input_size(self.model_name, self.min_input_size, input_size)
        self._rows: list[LayerRow] = []

    def _add_head(self, features: nn.Module, channels: int) -> None:
        """Set ``features`` (ending in ``channels`` channels), add pooling and the classifier with
        their table rows, and initialise every weight (in module order, so seeds reproduce)."""
        self.last_channels = channels
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(self._dropout), nn.Linear(channels, self.num_classes)
        )
        self._rows.append(LayerRow("avgpool", None, None, 1, None, [self.pool]))
        self._rows.append(
            LayerRow("linear (classifier)", None, self.num_classes, 1, None, [self.classifier])
        )
        init_weights(self)

    def layer_rows(self) -> list[LayerRow]:
        """The lines of the paper's architecture table for this instance, with their modules."""
        return list(self._rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self.classifier(self.pool(self.features(x)).flatten(1))
