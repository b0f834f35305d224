"""MobileNetV1 (Howard et al., 2017, Table 1 of its paper): a 3x3 conv (32 channels, stride 2)
then 13 depthwise separable layers (3x3 depthwise conv + 1x1 pointwise conv), BN and ReLU after
every conv, global average pooling and a fully connected classifier.

Deviations and decisions, written down:

* The V1 paper's Table 1 prints the 13th depthwise conv as "Conv dw / s2" although its input and
  output are both 7x7; we use stride 1 there, as the released models do.
* Width multiplier alpha: every width is ``int(c * alpha)`` (at least 8), the V1 paper's "alpha M"
  without extra rounding; for the published multipliers (1, 0.75, 0.5, 0.25) widths are exact.
* ``small_input=True`` (32x32 images; not in the paper): the stem and the first stride-2 depthwise
  layer use stride 1, so the total stride is 8 and 32x32 ends at 4x4.
"""

from __future__ import annotations

from torch import nn

from .classifier import ImageClassifier
from .layers import ConvBNAct
from .table import LayerRow

# The depthwise separable layers of V1's Table 1: (output channels of the pointwise conv, stride
# of the depthwise conv).
SEPARABLE_LAYERS: list[tuple[int, int]] = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
]
STEM_CHANNELS = 32


def scale_width(channels: int, width_mult: float) -> int:
    """V1's width multiplier: ``int(channels * alpha)``, at least 8."""
    return max(8, int(channels * width_mult))


class DepthwiseSeparable(nn.Sequential):
    """``depthwise`` (3x3 depthwise conv+BN+ReLU, stride s) then ``pointwise`` (1x1 conv+BN+ReLU)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.add_module(
            "depthwise",
            ConvBNAct(in_channels, in_channels, 3, stride, groups=in_channels, activation="relu"),
        )
        self.add_module("pointwise", ConvBNAct(in_channels, out_channels, 1, activation="relu"))
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride


class MobileNetV1(ImageClassifier):
    """MobileNetV1: ``features`` (stem + 13 separable layers), average pooling, ``classifier``."""

    model_name = "mobilenet_v1"

    def __init__(
        self,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        *,
        small_input: bool = False,
        dropout: float = 0.0,
        input_size: int | tuple[int, int] | None = None,
    ) -> None:
        super().__init__(width_mult, num_classes, small_input, dropout, input_size)
        stem_channels = scale_width(STEM_CHANNELS, self.width_mult)
        stem = ConvBNAct(3, stem_channels, 3, stride=1 if small_input else 2, activation="relu")
        self._rows.append(LayerRow("conv 3x3", None, stem_channels, 1, stem.stride, [stem]))
        layers: list[nn.Module] = [stem]
        in_channels, first_stride2_seen = stem_channels, False
        for c, s in SEPARABLE_LAYERS:
            if small_input and s == 2 and not first_stride2_seen:
                s, first_stride2_seen = 1, True
            out_channels = scale_width(c, self.width_mult)
            layer = DepthwiseSeparable(in_channels, out_channels, s)
            layers.append(layer)
            self._rows.append(LayerRow("conv dw 3x3 + conv 1x1", None, out_channels, 1, s, [layer]))
            in_channels = out_channels
        self._add_head(nn.Sequential(*layers), in_channels)


def mobilenet_v1(
    width_mult: float = 1.0,
    num_classes: int = 1000,
    *,
    small_input: bool = False,
    dropout: float = 0.0,
    input_size: int | tuple[int, int] | None = None,
) -> MobileNetV1:
    """Build MobileNetV1 (see the module docstring for the decisions and ``small_input``)."""
    return MobileNetV1(
        width_mult, num_classes, small_input=small_input, dropout=dropout, input_size=input_size
    )
