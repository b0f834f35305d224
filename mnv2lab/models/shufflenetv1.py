"""ShuffleNet v1 (Zhang et al., 2018, Table 1 of its paper), for the MobileNetV2 paper's Table 3
and Table 4 comparisons.

Conv1 (3x3, 24 channels, stride 2) and a 3x3 max-pool (stride 2), then three stages of ShuffleNet
units repeated 1 + 3, 1 + 7, 1 + 3 times at 28x28, 14x14 and 7x7 (for 224x224 inputs), global
average pooling and a fully connected classifier. A unit: 1x1 group conv + BN + ReLU, channel
shuffle, 3x3 depthwise conv (stride s) + BN, 1x1 group conv + BN; stride 1 adds the input and
applies ReLU; stride 2 concatenates a 3x3 average-pooled (stride 2) copy of the input and applies
ReLU. The bottleneck width is 1/4 of the stage's output channels. The first 1x1 conv of the first
stage's first unit is not grouped (its input has only 24 channels).

Width ``s`` ("ShuffleNet s x", which scales "the number of filters" of 1x by s): every stage width
is ``base(g) * s`` rounded to a multiple of 4g (so the bottleneck divides into g groups). The paper
does not say how conv1 scales; we scale it by powers of two only and never below 12 channels,
``max(12, 24 * 2**floor(log2 s))`` (0.25x and 0.5x -> 12, 1x and 1.5x -> 24, 2x -> 48), the
choice that reproduces every published g = 3 complexity: 13, 38, 137 (printed "140"), 292 and
524 M multiply-adds for 0.25x, 0.5x, 1x, 1.5x and 2x (scaling conv1 linearly gives 11.0M at 0.25x
and 299.6M at 1.5x). See :func:`stage_channels`.

``small_input=True`` (32x32 images; not in the paper): conv1 at stride 1 and no max-pool, so the
total stride is 8 and 32x32 ends at 4x4.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .classifier import ImageClassifier
from .layers import ConvBNAct, check_choice
from .table import LayerRow

# ShuffleNet's Table 1: output channels of stages 2, 3, 4 at 1x, for each number of groups g.
STAGE_CHANNELS_1X: dict[int, tuple[int, int, int]] = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
GROUPS = tuple(STAGE_CHANNELS_1X)
STAGE_REPEATS = (4, 8, 4)  # 1 stride-2 unit + 3, 7, 3 stride-1 units
CONV1_CHANNELS = 24
CONV1_MIN = 12


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def stage_channels(groups: int, width_mult: float) -> tuple[int, tuple[int, int, int]]:
    """(conv1 channels, stage output channels) for ``groups`` and width ``s``: stage widths are
    ``base * s`` rounded to a multiple of 4g; conv1 is ``max(12, 24 * 2**floor(log2 s))``
    rounded to a multiple of g (so that the first unit's concatenation splits into whole groups)."""
    stages = tuple(_round_to(c * width_mult, 4 * groups) for c in STAGE_CHANNELS_1X[groups])
    conv1 = _round_to(
        max(CONV1_MIN, CONV1_CHANNELS * 2.0 ** math.floor(math.log2(width_mult))), groups
    )
    return conv1, stages


class ChannelShuffle(nn.Module):
    """Permute channels so that each group of the next group conv sees every previous group."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return x
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ShuffleUnit(nn.Module):
    """One ShuffleNet unit (Fig. 2b for stride 1, Fig. 2c for stride 2). Children: ``pw1``,
    ``shuffle``, ``depthwise``, ``pw2`` and, for stride 2, ``shortcut`` (the average pool)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        groups: int,
        bottleneck_channels: int,
        first_grouped: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        self.pw1 = ConvBNAct(
            in_channels,
            bottleneck_channels,
            1,
            groups=groups if first_grouped else 1,
            activation="relu",
        )
        self.shuffle = ChannelShuffle(groups)
        self.depthwise = ConvBNAct(
            bottleneck_channels,
            bottleneck_channels,
            3,
            stride,
            groups=bottleneck_channels,
            activation=None,
        )
        self.pw2 = ConvBNAct(bottleneck_channels, branch_out, 1, groups=groups, activation=None)
        self.shortcut = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.pw2(self.depthwise(self.shuffle(self.pw1(x))))
        if self.shortcut is None:
            return torch.relu(x + branch)
        return torch.relu(torch.cat([self.shortcut(x), branch], dim=1))


class ShuffleNetV1(ImageClassifier):
    """ShuffleNet v1 with ``groups`` in {1, 2, 3, 4, 8} and width multiplier ``width_mult``."""

    model_name = "shufflenet_v1"

    def __init__(
        self,
        groups: int = 3,
        width_mult: float = 2.0,
        num_classes: int = 1000,
        *,
        small_input: bool = False,
        dropout: float = 0.0,
        input_size: int | tuple[int, int] | None = None,
    ) -> None:
        check_choice("groups", groups, GROUPS)
        super().__init__(width_mult, num_classes, small_input, dropout, input_size)
        self.groups = groups
        conv1_channels, widths = stage_channels(groups, self.width_mult)
        self.stage_widths = widths
        conv1 = ConvBNAct(3, conv1_channels, 3, stride=1 if small_input else 2, activation="relu")
        layers: list[nn.Module] = [conv1]
        self._rows.append(LayerRow("conv1 3x3", None, conv1_channels, 1, conv1.stride, [conv1]))
        if not small_input:
            maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            layers.append(maxpool)
            self._rows.append(LayerRow("maxpool 3x3", None, conv1_channels, 1, 2, [maxpool]))
        in_channels = conv1_channels
        for stage, (out_channels, repeats) in enumerate(zip(widths, STAGE_REPEATS)):
            units = []
            for i in range(repeats):
                units.append(
                    ShuffleUnit(
                        in_channels,
                        out_channels,
                        2 if i == 0 else 1,
                        groups,
                        out_channels // 4,
                        first_grouped=not (stage == 0 and i == 0),
                    )
                )
                in_channels = out_channels
            layers.extend(units)
            self._rows.append(
                LayerRow(f"stage{stage + 2} (stride 2)", None, out_channels, 1, 2, units[:1])
            )
            self._rows.append(
                LayerRow(f"stage{stage + 2}", None, out_channels, repeats - 1, 1, units[1:])
            )
        self._add_head(nn.Sequential(*layers), in_channels)


def shufflenet_v1(
    groups: int = 3,
    width_mult: float = 2.0,
    num_classes: int = 1000,
    *,
    small_input: bool = False,
    dropout: float = 0.0,
    input_size: int | tuple[int, int] | None = None,
) -> ShuffleNetV1:
    """Build ShuffleNet v1 ("ShuffleNet 2x, g = 3" by default, as in the MobileNetV2 paper)."""
    return ShuffleNetV1(
        groups,
        width_mult,
        num_classes,
        small_input=small_input,
        dropout=dropout,
        input_size=input_size,
    )
