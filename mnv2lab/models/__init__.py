"""The models: MobileNetV2 with the paper's ablation switches, MobileNetV1 and ShuffleNet v1,
and the dense-prediction networks of the paper's Section 6.2-6.3 built on them: SSD / SSDLite
detection heads and DeepLabv3 segmentation heads (also on DeepLab's ResNet-101).

Notebooks take the architecture as a string: ``build_model("mobilenet_v2", width_mult=0.5)``.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from ..params import ParameterError
from .layers import ConvBNAct, make_divisible
from .mobilenetv1 import DepthwiseSeparable, MobileNetV1, mobilenet_v1
from .mobilenetv2 import TABLE2, InvertedResidual, MobileNetV2, expansion_activations, mobilenet_v2
from .deeplab import DeepLabV3, deeplabv3
from .resnet_beta import ResNet101Beta
from .shufflenetv1 import ChannelShuffle, ShuffleNetV1, ShuffleUnit, shufflenet_v1
from .ssd import SSD, anchor_count, map_sizes, ssd, ssdlite
from .table import LayerRow

MODELS: dict[str, Callable[..., nn.Module]] = {
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v1": mobilenet_v1,
    "shufflenet_v1": shufflenet_v1,
    "ssdlite": ssdlite,
    "ssd": ssd,
    "deeplabv3": deeplabv3,
}


def model_names() -> list[str]:
    """The names :func:`build_model` accepts."""
    return list(MODELS)


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name; keyword arguments go to its builder."""
    if name not in MODELS:
        raise ParameterError(f"model name: got {name!r}; allowed: one of {model_names()}")
    return MODELS[name](**kwargs)


__all__ = [
    "MODELS",
    "build_model",
    "model_names",
    "mobilenet_v2",
    "mobilenet_v1",
    "shufflenet_v1",
    "MobileNetV2",
    "MobileNetV1",
    "ShuffleNetV1",
    "InvertedResidual",
    "DepthwiseSeparable",
    "ShuffleUnit",
    "ChannelShuffle",
    "ConvBNAct",
    "LayerRow",
    "TABLE2",
    "expansion_activations",
    "make_divisible",
    "SSD",
    "ssd",
    "ssdlite",
    "anchor_count",
    "map_sizes",
    "DeepLabV3",
    "deeplabv3",
    "ResNet101Beta",
]
