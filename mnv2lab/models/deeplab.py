"""DeepLabv3 heads (the paper's Section 6.3, Table 7) on MobileNetV2, MobileNetV1 and DeepLab's
ResNet-101, as tensorflow/models research/deeplab builds them (no decoder).

On the backbone's last feature map (MobileNetV2 ``layer_18``, the 320-channel output of the last
bottleneck: the paper's "MNet V2*"; MobileNetV1 ``Conv2d_13_pointwise``, 1024, *inferred*: the
reference code has no V1 DeepLab; ResNet-101 block 4, 2048), at output stride 16 or 8 by atrous
convolution (:mod:`mnv2lab.models.trunks`), every branch 256 channels with BatchNorm + ReLU:

* image pooling: global average pool, 1x1 conv, bilinear upsampling back to the map;
* a 1x1 conv branch;
* with ``aspp=True``, three 3x3 atrous convs at rates 6/12/18 (OS 16) or 12/24/36 (OS 8),
  regular (``aspp_separable=False``) or depthwise 3x3 + BN + ReLU then 1x1 + BN + ReLU
  (the code's default ``aspp_with_separable_conv``);
* concatenation, a 1x1 projection to 256, dropout, then the logits: a 1x1 conv with bias to
  ``num_classes`` (21 for PASCAL VOC), upsampled bilinearly to the input size.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvBNAct, InputSizeCheck, check_bool, check_choice, check_int, init_weights
from .mobilenetv1 import MobileNetV1
from .mobilenetv2 import MobileNetV2
from .resnet_beta import ResNet101Beta
from .trunks import MobileNetV1Trunk, MobileNetV2Trunk

DEPTH = 256
BACKBONES = ("mobilenet_v2", "mobilenet_v1", "resnet_101")
ASPP_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}


class ImagePooling(nn.Module):
    """Global average pooling, 1x1 conv + BN + ReLU, bilinear upsampling to the map's size."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = ConvBNAct(in_channels, DEPTH, 1, activation="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            self.conv(self.pool(x)), size=x.shape[-2:], mode="bilinear", align_corners=True
        )


def aspp_branch(in_channels: int, rate: int, separable: bool) -> nn.Sequential:
    """One atrous 3x3 branch at ``rate``: a regular conv, or depthwise + pointwise."""
    if separable:
        dw = ConvBNAct(in_channels, in_channels, 3, groups=in_channels, activation="relu")
        pw = ConvBNAct(in_channels, DEPTH, 1, activation="relu")
        convs, seq = [dw.conv], nn.Sequential(dw, pw)
    else:
        seq = nn.Sequential(ConvBNAct(in_channels, DEPTH, 3, activation="relu"))
        convs = [seq[0].conv]
    for conv in convs:
        conv.dilation, conv.padding = (rate, rate), (rate, rate)
    return seq


class DeepLabV3(InputSizeCheck):
    """A backbone trunk with the DeepLabv3 head (module docstring); logits at the input size."""

    min_input_size = 32

    def __init__(
        self,
        backbone: str = "mobilenet_v2",
        num_classes: int = 21,
        *,
        output_stride: int = 16,
        aspp: bool = False,
        aspp_separable: bool = False,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        check_choice("backbone", backbone, BACKBONES)
        num_classes = check_int("num_classes", num_classes, 1)
        check_choice("output_stride", output_stride, tuple(ASPP_RATES))
        check_bool("aspp", aspp)
        check_bool("aspp_separable", aspp_separable)
        self.backbone_name, self.num_classes = backbone, num_classes
        self.output_stride, self.aspp, self.aspp_separable = output_stride, aspp, aspp_separable
        self.model_name = f"deeplabv3({backbone})"
        if backbone == "mobilenet_v2":
            self.trunk: nn.Module = MobileNetV2Trunk(
                MobileNetV2(), last_conv=False, expansion_tap=False, output_stride=output_stride
            )
        elif backbone == "mobilenet_v1":
            self.trunk = MobileNetV1Trunk(MobileNetV1(), tap_11=False, output_stride=output_stride)
        else:
            self.trunk = ResNet101Beta(output_stride)
        c = self.trunk.channels[-1]
        self.image_pooling = ImagePooling(c)
        self.conv1x1 = ConvBNAct(c, DEPTH, 1, activation="relu")
        rates = ASPP_RATES[output_stride] if aspp else ()
        self.aspp_branches = nn.ModuleList(aspp_branch(c, r, aspp_separable) for r in rates)
        branches = 2 + len(rates)
        self.project = ConvBNAct(branches * DEPTH, DEPTH, 1, activation="relu")
        self.dropout = nn.Dropout(dropout)
        self.logits = nn.Conv2d(DEPTH, num_classes, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        (fmap,) = self.trunk(x)[-1:]
        parts = [self.image_pooling(fmap), self.conv1x1(fmap)]
        parts += [branch(fmap) for branch in self.aspp_branches]
        logits = self.logits(self.dropout(self.project(torch.cat(parts, 1))))
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=True)


def deeplabv3(
    backbone: str = "mobilenet_v2",
    num_classes: int = 21,
    *,
    output_stride: int = 16,
    aspp: bool = False,
    aspp_separable: bool = False,
) -> DeepLabV3:
    """Build DeepLabv3 (see the module docstring). Defaults: the released MobileNetV2 model
    (OS 16, no ASPP, 21 classes)."""
    return DeepLabV3(
        backbone, num_classes, output_stride=output_stride, aspp=aspp, aspp_separable=aspp_separable
    )
