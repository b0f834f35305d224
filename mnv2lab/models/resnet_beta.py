"""DeepLab's ResNet-101 backbone, ``resnet_v1_101_beta`` (tensorflow/models research/deeplab,
core/resnet_v1_beta.py): the "beta" root of three 3x3 convs (64 stride 2, 64, 128, each BN + ReLU)
and a 3x3 max pool of stride 2 replace the 7x7 stem; four blocks of ResNet v1 bottleneck units
(1x1 -> 3x3 -> 1x1 expanding 4x, BN after each, ReLU after the addition) with 3, 4, 23 and 3 units
of bottleneck depth 64, 128, 256, 512. Blocks 1-3 put their stride 2 in the LAST unit (on the 3x3
conv); block 4 has stride 1 and a multi-grid of unit rates (1, 2, 4 by default) multiplying the
block's atrous rate. A unit whose depth changes gets a 1x1 projection shortcut (with BN, no
ReLU); otherwise the shortcut is the identity (subsampled when strided).

Output stride by slim's ``stack_blocks_dense`` rule (:func:`mnv2lab.models.trunks.
apply_output_stride`): the root's stride 4 counts first. No pooling or classifier: the trunk
returns the block-4 feature map (2048 channels).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvBNAct, check_choice, init_weights
from .trunks import OUTPUT_STRIDES, dilate

# (bottleneck depth, units, stride of the last unit) for blocks 1-3 of resnet_v1_101_beta.
BLOCKS_101: list[tuple[int, int, int]] = [(64, 3, 2), (128, 4, 2), (256, 23, 2)]
BLOCK4_DEPTH = 512
MULTI_GRID = (1, 2, 4)


class Bottleneck(nn.Module):
    """ResNet v1 bottleneck unit: 1x1 (ReLU) -> 3x3 stride s, rate r (ReLU) -> 1x1 (no ReLU),
    plus the shortcut, then ReLU."""

    def __init__(self, in_channels: int, depth_bottleneck: int, stride: int) -> None:
        super().__init__()
        depth = 4 * depth_bottleneck
        self.stride = stride
        self.conv1 = ConvBNAct(in_channels, depth_bottleneck, 1, activation="relu")
        self.conv2 = ConvBNAct(depth_bottleneck, depth_bottleneck, 3, stride, activation="relu")
        self.conv3 = ConvBNAct(depth_bottleneck, depth, 1, activation=None)
        self.shortcut = (
            ConvBNAct(in_channels, depth, 1, stride, activation=None)
            if in_channels != depth
            else None
        )
        self.in_channels, self.out_channels = in_channels, depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stride = self.conv2.conv.stride[0]
        if self.shortcut is not None:
            skip = self.shortcut(x)
        else:
            skip = x[:, :, ::stride, ::stride] if stride > 1 else x
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + skip)


class ResNet101Beta(nn.Module):
    """The DeepLab ResNet-101 trunk at output stride 8 or 16 (or 32: no atrous)."""

    model_name = "resnet_101_beta"
    in_channels = 3
    min_input_size = 32

    def __init__(self, output_stride: int = 16, multi_grid: Sequence[int] = MULTI_GRID) -> None:
        super().__init__()
        check_choice("output_stride", output_stride, OUTPUT_STRIDES)
        if (
            not isinstance(multi_grid, (list, tuple))
            or len(multi_grid) != 3
            or not all(isinstance(r, int) and r >= 1 for r in multi_grid)
        ):
            raise ValueError(f"multi_grid: got {multi_grid!r}; allowed: three integers >= 1")
        self.root = nn.Sequential(
            ConvBNAct(3, 64, 3, 2, activation="relu"),
            ConvBNAct(64, 64, 3, 1, activation="relu"),
            ConvBNAct(64, 128, 3, 1, activation="relu"),
        )
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        units: list[Bottleneck] = []
        in_channels = 128
        for depth, n, stride in BLOCKS_101:
            for i in range(n):
                units.append(Bottleneck(in_channels, depth, stride if i == n - 1 else 1))
                in_channels = 4 * depth
        for _ in MULTI_GRID:
            units.append(Bottleneck(in_channels, BLOCK4_DEPTH, 1))
            in_channels = 4 * BLOCK4_DEPTH
        self.units = nn.Sequential(*units)
        self.channels = [in_channels]
        self.atrous = self._apply_output_stride(output_stride, tuple(multi_grid))
        init_weights(self)

    def _apply_output_stride(
        self, output_stride: int, multi_grid: tuple[int, ...]
    ) -> list[tuple[int, int]]:
        """slim's rule with the root's stride 4 counted first; block 4's units multiply the
        rate by their multi-grid factor. Returns (stride, rate) per unit."""
        current, rate, applied = 4, 1, []
        n_before = len(self.units) - len(multi_grid)
        for i, unit in enumerate(self.units):
            unit_rate = multi_grid[i - n_before] if i >= n_before else 1
            if current == output_stride:
                convs = [unit.conv2.conv] + ([unit.shortcut.conv] if unit.shortcut else [])
                for conv in convs:
                    dilate(conv, rate * unit_rate)
                applied.append((1, rate * unit_rate))
                rate *= unit.stride
            else:
                applied.append((unit.stride, unit_rate))
                if unit_rate > 1:
                    dilate(unit.conv2.conv, unit_rate)
                current *= unit.stride
        return applied

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.units(self.pool(self.root(x)))]
