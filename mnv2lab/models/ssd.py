"""SSD and SSDLite detection heads on MobileNetV2 and MobileNetV1 (the paper's Section 6.2,
Tables 5 and 6), as the TF Object Detection API builds them.

* Feature maps: two from the backbone (:mod:`mnv2lab.models.trunks`): MobileNetV2
  ``layer_15/expansion_output`` (576 ch, output stride 16) and ``layer_19`` (1280, OS 32);
  MobileNetV1 ``Conv2d_11_pointwise`` (512, OS 16) and ``Conv2d_13_pointwise`` (1024, OS 32).
  Then four extra maps of depths 512, 256, 256, 128, each a 1x1 conv to half the depth followed by
  a 3x3 stride-2 conv to the depth: regular (``extras="regular"``, SSD) or depthwise 3x3 stride 2
  + 1x1 (``extras="separable"``, SSDLite). Every conv here: BatchNorm + ReLU6, no bias.
* Predictors, per map, separate box and class heads: ``predictor="separable"`` (SSDLite: 3x3
  depthwise + BN + ReLU6, then a 1x1 conv with bias), ``"regular"`` (one 3x3 conv with bias) or
  ``"1x1"`` (one 1x1 conv with bias, the released ssd_mobilenet_v1_coco). Outputs: anchors x 4
  box codes and anchors x (classes + 1) class scores (background included).
* Anchors per location: 3 on the first map, 6 on the others.

``forward`` returns ``(boxes, scores)`` of shapes ``(N, total anchors, 4)`` and
``(N, total anchors, classes + 1)``, anchors ordered map by map, then row, column, anchor (the
API's order). No anchor decoding or non-maximum suppression: they cost no multiply-adds in the
paper's sense and are not part of the network.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct, InputSizeCheck, check_choice, check_int, init_weights
from .mobilenetv1 import MobileNetV1
from .mobilenetv2 import MobileNetV2
from .trunks import MobileNetV1Trunk, MobileNetV2Trunk

EXTRA_DEPTHS = (512, 256, 256, 128)
ANCHORS = (3, 6, 6, 6, 6, 6)
BACKBONES = ("mobilenet_v2", "mobilenet_v1")
EXTRAS = ("separable", "regular")
PREDICTORS = ("separable", "regular", "1x1")


def extra_layer(in_channels: int, depth: int, separable: bool) -> nn.Sequential:
    """One extra feature map: 1x1 conv to depth / 2, then a stride-2 3x3 (regular or separable)
    to ``depth``; BN + ReLU6 after every conv."""
    half = depth // 2
    if separable:
        return nn.Sequential(
            ConvBNAct(in_channels, half, 1),
            ConvBNAct(half, half, 3, 2, groups=half),
            ConvBNAct(half, depth, 1),
        )
    return nn.Sequential(ConvBNAct(in_channels, half, 1), ConvBNAct(half, depth, 3, 2))


def predictor(in_channels: int, outputs: int, kind: str) -> nn.Sequential:
    """One box or class head: ``kind`` "separable" (3x3 depthwise + BN + ReLU6, 1x1 conv with
    bias), "regular" (3x3 conv with bias) or "1x1" (1x1 conv with bias)."""
    if kind == "separable":
        return nn.Sequential(
            ConvBNAct(in_channels, in_channels, 3, groups=in_channels),
            nn.Conv2d(in_channels, outputs, 1),
        )
    k = 3 if kind == "regular" else 1
    return nn.Sequential(nn.Conv2d(in_channels, outputs, k, padding=k // 2))


class SSD(InputSizeCheck):
    """A MobileNet backbone with SSD/SSDLite extra layers and predictors (module docstring)."""

    min_input_size = 32

    def __init__(
        self,
        backbone: str = "mobilenet_v2",
        num_classes: int = 90,
        *,
        extras: str = "separable",
        predictor_kind: str = "separable",
    ) -> None:
        super().__init__()
        check_choice("backbone", backbone, BACKBONES)
        num_classes = check_int("num_classes", num_classes, 1)
        check_choice("extras", extras, EXTRAS)
        check_choice("predictor", predictor_kind, PREDICTORS)
        self.backbone_name, self.num_classes = backbone, num_classes
        self.extras_kind, self.predictor_kind = extras, predictor_kind
        self.model_name = f"ssd({backbone})"
        if backbone == "mobilenet_v2":
            self.trunk: nn.Module = MobileNetV2Trunk(
                MobileNetV2(), last_conv=True, expansion_tap=True
            )
        else:
            self.trunk = MobileNetV1Trunk(MobileNetV1(), tap_11=True)
        channels = list(self.trunk.channels)
        extra = []
        for depth in EXTRA_DEPTHS:
            extra.append(extra_layer(channels[-1], depth, extras == "separable"))
            channels.append(depth)
        self.extras = nn.ModuleList(extra)
        self.channels = channels
        self.box_heads = nn.ModuleList(
            predictor(c, a * 4, predictor_kind) for c, a in zip(channels, ANCHORS)
        )
        self.class_heads = nn.ModuleList(
            predictor(c, a * (num_classes + 1), predictor_kind) for c, a in zip(channels, ANCHORS)
        )
        init_weights(self)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The six maps the predictors read."""
        maps = self.trunk(x)
        for layer in self.extras:
            maps.append(layer(maps[-1]))
        return maps

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_input(x)
        boxes, scores = [], []
        for fmap, box, cls in zip(self.feature_maps(x), self.box_heads, self.class_heads):
            n = fmap.shape[0]
            boxes.append(box(fmap).permute(0, 2, 3, 1).reshape(n, -1, 4))
            scores.append(cls(fmap).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes + 1))
        return torch.cat(boxes, 1), torch.cat(scores, 1)


def map_sizes(input_size: int, n_maps: int = len(ANCHORS)) -> list[int]:
    """Side of each feature map for a square input: output strides 16, 32, 64, ... with "same"
    padding (every stride-2 layer gives ceil(n / 2))."""
    side, sizes = input_size, []
    for stride_step in range(4 + n_maps):
        side = -(-side // 2)
        if stride_step >= 3:
            sizes.append(side)
    return sizes[:n_maps]


def anchor_count(input_size: int) -> list[int]:
    """Anchors per feature map for a square input (3 per location on the first map, 6 after)."""
    return [a * s * s for a, s in zip(ANCHORS, map_sizes(input_size))]


def ssdlite(backbone: str = "mobilenet_v2", num_classes: int = 90) -> SSD:
    """SSDLite (the paper's Section 6.2): separable extras and separable predictors."""
    return SSD(backbone, num_classes, extras="separable", predictor_kind="separable")


def ssd(
    backbone: str = "mobilenet_v2",
    num_classes: int = 90,
    *,
    extras: str = "regular",
    predictor: str = "regular",
) -> SSD:
    """Regular SSD heads: by default regular extras and 3x3 predictors (the paper's Table 5
    "SSD" row); ``extras``/``predictor`` select the released models' mixtures."""
    return SSD(backbone, num_classes, extras=extras, predictor_kind=predictor)
