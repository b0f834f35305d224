"""Building blocks shared by the three model families: conv + BN + activation, width rounding,
argument validation, weight initialisation and the input-size check.

Errors follow the suite's form: they name the parameter, the bad value and what is allowed.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Sequence

import torch
from torch import nn

from ..params import ParameterError

# Activation names understood by ConvBNAct.
_ACTIVATIONS = {"relu6": nn.ReLU6, "relu": nn.ReLU}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``divisor``), never more
    than 10% below ``value``: the rounding of the MobileNet reference implementations."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """``conv`` (no bias) -> ``bn`` -> optional ``act`` (ReLU6 or ReLU), with "same" padding.

    Children are named so that forward hooks and the cost tables can find them
    (``block.expand.act`` is the ReLU6 after an expansion).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = "relu6",
    ) -> None:
        layers: "OrderedDict[str, nn.Module]" = OrderedDict()
        layers["conv"] = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding=(kernel_size - 1) // 2,
            groups=groups,
            bias=False,
        )
        layers["bn"] = nn.BatchNorm2d(out_channels)
        if activation is not None:
            layers["act"] = _ACTIVATIONS[activation](inplace=False)
        super().__init__(layers)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.groups = kernel_size, stride, groups


def init_weights(model: nn.Module) -> None:
    """The reference initialisation: Kaiming-normal (fan_out) convs, BN at identity,
    N(0, 0.01) linear weights, zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- validation helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    if value not in allowed or isinstance(value, bool) != any(isinstance(a, bool) for a in allowed):
        raise ParameterError(f"{name}: got {value!r}; allowed: one of {list(allowed)}")
    return value


def check_positive(name: str, value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ParameterError(f"{name}: got {value!r}; allowed: a finite number > 0")
    return float(value)


def check_int(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ParameterError(f"{name}: got {value!r}; allowed: an integer >= {minimum}")
    return value


def check_fraction(name: str, value: Any) -> float:
    if not _is_number(value) or not 0 <= value < 1:
        raise ParameterError(f"{name}: got {value!r}; allowed: a number in [0, 1)")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name}: got {value!r}; allowed: True or False")
    return value


def check_input_size(model_name: str, min_size: int, size: Any) -> None:
    """``size`` (an int or (H, W)) must be at least ``min_size``, the network's total stride:
    below it the last stride-2 layers only see padding."""
    sizes = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
    try:
        ok = all(isinstance(s, int) and not isinstance(s, bool) for s in sizes) and len(sizes) == 2
    except TypeError:
        ok = False
    if not ok:
        raise ParameterError(f"input_size: got {size!r}; allowed: an integer or (H, W) of integers")
    if min(sizes) < min_size:
        raise ParameterError(
            f"input_size: got {sizes[0]}x{sizes[1]}; allowed: at least {min_size}x{min_size} for "
            f"{model_name} (its strides multiply to {min_size})"
        )


class InputSizeCheck(nn.Module):
    """Mixin-style base: models set ``min_input_size`` and call ``self._check_input(x)``."""

    model_name: str = "model"
    min_input_size: int = 1

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ParameterError(
                f"input: got a tensor of shape {tuple(x.shape)}; allowed: a 4-D batch (N, C, H, W)"
            )
        if x.shape[1] != self.in_channels:
            raise ParameterError(f"input channels: got {x.shape[1]}; allowed: {self.in_channels}")
        check_input_size(self.model_name, self.min_input_size, (int(x.shape[-2]), int(x.shape[-1])))

    in_channels: int = 3
