"""MobileNetV2 (Sandler et al., 2018) with every ablation switch of the paper's Figure 6.

The builder is driven by :data:`TABLE2`, the paper's Table 2 kept as data: one ``(t, c, n, s)``
row per stage of bottlenecks (expansion factor, output channels, repeats, stride of the first
repeat). The stem (3x3 conv, 32 channels, stride 2) and the last 1x1 conv (1280 channels) frame it.

Switches (each validated, with the paper's choice as default):

* ``bottleneck="linear"`` (paper) or ``"relu6"``: a ReLU6 after the projection (Fig. 6a).
* ``shortcut="bottleneck"`` (paper): identity shortcuts between the thin bottleneck tensors, in
  blocks with stride 1 and equal input/output channels. ``"none"``: no residuals.
  ``"expansion"``: identity shortcuts between the *expanded* tensors instead (Fig. 6b). Our reading:
  the residual stream becomes the wide tensor, as in a classical (wide-narrow-wide) residual
  bottleneck. For a block ``i`` whose input and output shapes match (stride 1, k = k'), its
  expanded tensor ``E_i`` (the input of its depthwise conv) skips over depthwise_i, project_i and
  expand_{i+1} and is added to the next block's expansion, before that expansion's ReLU6, as
  ResNet adds before its ReLU:  ``E_{i+1} = ReLU6(BN(conv_{i+1}(x_{i+1})) + E_i)``. The shapes
  match exactly when block ``i`` preserves shape and both blocks have the same t, so the shortcut
  count equals that of the standard network (10 at Table 2) and the added cost is nil. A block with
  t = 1 has no expansion: its "expanded" tensor is its input, and the addition lands there.
* ``expand_ratio``: the t of every row whose paper t is 6 (the first row keeps t = 1).
* ``small_input=True`` (for 32x32 CIFAR images; **a deviation from the paper**): the stem and the
  first stride-2 bottleneck stage run at stride 1, so the total stride is 8 and a 32x32 input ends
  at 4x4, as a 224x224 input ends at 7x7.

Width multiplier: every width is ``make_divisible(c * width_mult, 8)`` (reference rounding); the
last conv stays at 1280 below 1.0 and is scaled above (1.4 -> 1792), as the released models do.
"""

from __future__ import annotations

import torch
from torch import nn

from .classifier import ImageClassifier
from .layers import ConvBNAct, check_choice, check_int, make_divisible
from .table import LayerRow

# Table 2 of the paper: (t, c, n, s) per stage of bottleneck blocks.
TABLE2: list[tuple[int, int, int, int]] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
BOTTLENECKS = ("linear", "relu6")
SHORTCUTS = ("bottleneck", "expansion", "none")


class InvertedResidual(nn.Module):
    """The bottleneck block of Table 1: ``expand`` (1x1 conv+BN+ReLU6, absent when t = 1) ->
    ``depthwise`` (3x3 depthwise conv+BN+ReLU6, stride s) -> ``project`` (1x1 conv+BN, linear
    unless ``bottleneck="relu6"``), with the shortcut chosen by ``shortcut``.

    Attributes: ``expand_ratio``, ``stride``, ``use_shortcut`` (identity between bottlenecks),
    ``expansion_shortcut_in`` (adds the previous block's expanded tensor to its own expansion) and
    ``emits_expansion`` (its expanded tensor may feed the next block's expansion shortcut).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: int,
        *,
        bottleneck: str = "linear",
        shortcut: str = "bottleneck",
        expansion_shortcut_in: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.expand_ratio, self.stride = expand_ratio, stride
        hidden = in_channels * expand_ratio
        self.hidden_channels = hidden
        shape_preserving = stride == 1 and in_channels == out_channels
        self.use_shortcut = shortcut == "bottleneck" and shape_preserving
        self.emits_expansion = shortcut == "expansion" and shape_preserving
        self.expansion_shortcut_in = expansion_shortcut_in
        self.expand = ConvBNAct(in_channels, hidden, 1) if expand_ratio != 1 else None
        self.depthwise = ConvBNAct(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvBNAct(
            hidden, out_channels, 1, activation="relu6" if bottleneck == "relu6" else None
        )

    def forward(
        self, x: torch.Tensor, carry: torch.Tensor | None = None, return_expanded: bool = False
    ):
        """``carry``: the previous block's expanded tensor (expansion shortcuts only).
        With ``return_expanded`` the result is ``(output, expanded tensor)``."""
        if self.expand is None:
            expanded = x if carry is None else x + carry
        elif carry is None:
            expanded = self.expand(x)
        else:
            pre = self.expand.bn(self.expand.conv(x))
            expanded = self.expand.act(pre + carry)
        out = self.project(self.depthwise(expanded))
        if self.use_shortcut:
            out = out + x
        return (out, expanded) if return_expanded else out


class Features(nn.Sequential):
    """The stem, the bottleneck blocks and the last conv, in order. Behaves as ``nn.Sequential``
    except that it threads expanded tensors from block to block for ``shortcut="expansion"``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        carry = None
        for module in self:
            if isinstance(module, InvertedResidual) and (
                module.emits_expansion or module.expansion_shortcut_in
            ):
                x, expanded = module(
                    x, carry if module.expansion_shortcut_in else None, return_expanded=True
                )
                carry = expanded if module.emits_expansion else None
            else:
                x = module(x)
                carry = None
        return x


class MobileNetV2(ImageClassifier):
    """MobileNetV2: ``features`` (stem, 17 bottlenecks, last conv), global average pooling and
    ``classifier`` (dropout + linear). See the module docstring for the switches."""

    model_name = "mobilenet_v2"

    def __init__(
        self,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        *,
        bottleneck: str = "linear",
        shortcut: str = "bottleneck",
        expand_ratio: int = 6,
        small_input: bool = False,
        dropout: float = 0.2,
        input_size: int | tuple[int, int] | None = None,
    ) -> None:
        # Validate everything before building anything.
        check_choice("bottleneck", bottleneck, BOTTLENECKS)
        check_choice("shortcut", shortcut, SHORTCUTS)
        expand_ratio = check_int("expand_ratio", expand_ratio, 1)
        super().__init__(width_mult, num_classes, small_input, dropout, input_size)
        self.bottleneck, self.shortcut, self.expand_ratio = bottleneck, shortcut, expand_ratio

        # The table this instance is built from: t replaced where the paper has 6, and for small
        # inputs the first stride-2 stage run at stride 1.
        rows, first_stride2_seen = [], False
        for t, c, n, s in TABLE2:
            t = expand_ratio if t == 6 else t
            if small_input and s == 2 and not first_stride2_seen:
                s, first_stride2_seen = 1, True
            rows.append((t, make_divisible(c * self.width_mult), n, s))
        self.config = rows

        stem_channels = make_divisible(STEM_CHANNELS * self.width_mult)
        last_channels = make_divisible(LAST_CHANNELS * max(1.0, self.width_mult))
        stem = ConvBNAct(3, stem_channels, 3, stride=1 if small_input else 2)
        blocks: list[InvertedResidual] = []
        self._rows.append(LayerRow("conv2d 3x3", None, stem_channels, 1, stem.stride, [stem]))
        in_channels, previous = stem_channels, None
        for t, c, n, s in rows:
            stage = []
            for i in range(n):
                receives = (
                    previous is not None
                    and previous.emits_expansion
                    and previous.hidden_channels == in_channels * t
                )
                block = InvertedResidual(
                    in_channels,
                    c,
                    s if i == 0 else 1,
                    t,
                    bottleneck=bottleneck,
                    shortcut=shortcut,
                    expansion_shortcut_in=receives,
                )
                stage.append(block)
                in_channels, previous = c, block
            blocks.extend(stage)
            self._rows.append(LayerRow("bottleneck", t, c, n, s, stage))
        last = ConvBNAct(in_channels, last_channels, 1)
        self._rows.append(LayerRow("conv2d 1x1", None, last_channels, 1, 1, [last]))
        self._add_head(Features(stem, *blocks, last), last_channels)


def mobilenet_v2(
    width_mult: float = 1.0,
    num_classes: int = 1000,
    *,
    bottleneck: str = "linear",
    shortcut: str = "bottleneck",
    expand_ratio: int = 6,
    small_input: bool = False,
    dropout: float = 0.2,
    input_size: int | tuple[int, int] | None = None,
) -> MobileNetV2:
    """Build MobileNetV2. ``small_input=True`` (32x32 images) deviates from the paper: the stem and
    the first stride-2 stage use stride 1. ``input_size``, if given, is checked against the total
    stride before anything is built. See the module docstring for ``shortcut="expansion"``."""
    return MobileNetV2(
        width_mult,
        num_classes,
        bottleneck=bottleneck,
        shortcut=shortcut,
        expand_ratio=expand_ratio,
        small_input=small_input,
        dropout=dropout,
        input_size=input_size,
    )


def expansion_activations(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``[(name, ReLU6 module)]`` after every expansion conv, in network order: hook these to see
    the activation patterns of Figure 7 (16 layers at Table 2; t = 1 blocks have none)."""
    return [
        (f"{name}.expand.act", m.expand.act)
        for name, m in model.named_modules()
        if isinstance(m, InvertedResidual) and m.expand is not None
    ]
