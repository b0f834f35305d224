"""Backbones cut for dense prediction: the feature maps that the SSD and DeepLab heads read,
taken from the classification models' own modules (so parameters and multiply-adds are those of
the same code), and slim's rule for output stride by atrous convolution.

Tensor names follow the TF-slim definitions the reference heads use:

* MobileNetV2: ``layer_1`` is the stem, ``layer_2`` ... ``layer_18`` the 17 bottlenecks,
  ``layer_19`` the 1x1 conv to 1280. ``layer_15/expansion_output`` is the 1x1 expansion of the
  first 160-channel bottleneck (576 channels at output stride 16, before its stride-2 depthwise).
* MobileNetV1: ``Conv2d_0`` is the stem, ``Conv2d_1`` ... ``Conv2d_13`` the separable layers;
  ``Conv2d_k_pointwise`` is the output of layer k.

The atrous rule (:func:`apply_output_stride`, slim's ``mobilenet_base`` /
``stack_blocks_dense``): walk the units in order with a running stride; once it equals the target
output stride, every later unit runs at stride 1 with the current rate, and the rate is then
multiplied by the unit's nominal stride. So the first would-be-strided unit past the target runs
undilated at stride 1 and the units after it dilated; 1x1 convs never get a rate.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .layers import check_choice
from .mobilenetv1 import MobileNetV1
from .mobilenetv2 import InvertedResidual, MobileNetV2

OUTPUT_STRIDES = (8, 16, 32)


def dilate(conv: nn.Conv2d, rate: int) -> None:
    """Run ``conv`` at stride 1 with dilation ``rate`` and the "same" padding for it (odd
    kernels: the output keeps the input size)."""
    conv.stride = (1, 1)
    if rate > 1 and conv.kernel_size != (1, 1):
        conv.dilation = (rate, rate)
        conv.padding = tuple(rate * (k - 1) // 2 for k in conv.kernel_size)


def apply_output_stride(
    units: Sequence[tuple[int, Sequence[nn.Conv2d]]], output_stride: int
) -> list[tuple[int, int]]:
    """Apply slim's atrous rule in place. ``units``: ``(nominal stride, convs)`` in network
    order, the convs being those that carry the unit's stride (and, past the target, its rate).
    Returns ``(stride, rate)`` per unit as applied."""
    check_choice("output_stride", output_stride, OUTPUT_STRIDES)
    current, rate, applied = 1, 1, []
    for stride, convs in units:
        if current == output_stride:
            for conv in convs:
                dilate(conv, rate)
            applied.append((1, rate))
            rate *= stride
        else:
            applied.append((stride, 1))
            current *= stride
    return applied


class MobileNetV2Trunk(nn.Module):
    """MobileNetV2's ``features`` up to ``layer_18`` (``last_conv=False``) or ``layer_19``,
    returning the tapped tensors in order: ``"layer_15/expansion_output"`` and/or the last
    layer's output. Only the reference configuration (default switches) is supported."""

    def __init__(
        self,
        backbone: MobileNetV2,
        *,
        last_conv: bool,
        expansion_tap: bool,
        output_stride: int = 32,
    ) -> None:
        super().__init__()
        if backbone.shortcut != "bottleneck":
            raise ValueError("MobileNetV2Trunk: the backbone must use shortcut='bottleneck'")
        layers = list(backbone.features)  # stem, 17 bottlenecks, last conv
        self.layers = nn.ModuleList(layers if last_conv else layers[:-1])
        self.expansion_tap = expansion_tap
        self.tap_index = 14  # layer_15 = features[14], the first 160-channel bottleneck
        block = self.layers[self.tap_index]
        assert isinstance(block, InvertedResidual) and block.stride == 2 and block.expand
        self.channels = ([block.hidden_channels] if expansion_tap else []) + [
            layers[-1].out_channels if last_conv else layers[-2].out_channels
        ]
        units = [(self.layers[0].stride, [self.layers[0].conv])] + [
            (m.stride, [m.depthwise.conv]) for m in self.layers[1:18]
        ]
        self.atrous = apply_output_stride(units, output_stride)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for i, layer in enumerate(self.layers):
            if i == self.tap_index and self.expansion_tap:
                expanded = layer.expand(x)
                taps.append(expanded)
                x = layer.project(layer.depthwise(expanded))  # stride 2: no shortcut
            else:
                x = layer(x)
        return taps + [x]


class MobileNetV1Trunk(nn.Module):
    """MobileNetV1's ``features`` up to ``Conv2d_13_pointwise``, returning
    ``Conv2d_11_pointwise`` (if ``tap_11``) and ``Conv2d_13_pointwise``."""

    def __init__(self, backbone: MobileNetV1, *, tap_11: bool, output_stride: int = 32) -> None:
        super().__init__()
        self.layers = nn.ModuleList(list(backbone.features))  # Conv2d_0 ... Conv2d_13
        self.tap_11 = tap_11
        self.channels = ([self.layers[11].out_channels] if tap_11 else []) + [
            self.layers[13].out_channels
        ]
        units = [(self.layers[0].stride, [self.layers[0].conv])] + [
            (m.stride, [m.depthwise.conv]) for m in self.layers[1:]
        ]
        self.atrous = apply_output_stride(units, output_stride)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == 11 and self.tap_11:
                taps.append(x)
        return taps + [x]
