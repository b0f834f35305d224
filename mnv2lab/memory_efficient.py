"""Section 5, executed: MobileNetV2 inference that never holds a whole expanded tensor.

Notation. The paper writes a bottleneck as F(x) = A(N(B(x))) and splits the expanded tensor into
"t" slices; t is also its letter for the expansion ratio. Here the number of slices is
``n_slices`` (written "t (slices)" in figures) and the expansion ratio stays ``expand_ratio``
(6 in Table 2). Then

    F(x) = sum_i A_i(N(B_i(x))),   i = 1 .. n_slices,

where B_i are the rows of the expansion for slice i, N (ReLU6, depthwise conv, ReLU6) acts per
channel, and A_i are the matching columns of the projection. Only one slice of the expanded
tensor (before and after the depthwise conv) is alive at a time; multiply-adds do not change.

:class:`MemoryEfficientMobileNetV2` runs a whole trained MobileNetV2 (eval mode; BN folded with
:func:`mnv2lab.inference.fold_batchnorm`) this way, channels-last, written to reach the bound:

* the expansion of slice i is one matrix multiply (``addmm``) into a fresh (HW x slice) tensor,
  ReLU6 applied in place; the depthwise conv makes the second slice tensor, the first is freed;
* the projection is accumulated in place into the block's output (``addmm_``), the shortcut
  added in place: live = block input + block output + two slice tensors, the quantity
  :func:`mnv2lab.memory.bottleneck_memory` computes;
* the paper's "first-layer trick": the stem conv (3 -> 32 channels) is the expansion of the first
  bottleneck (t = 1), so it is computed in slices too and its full output never exists;
* the last 1x1 conv (-> 1280 channels) is computed in slices and each slice average-pooled at once.

``n_slices`` larger than a layer's expanded width is capped at that width (one channel per slice).
``shortcut="expansion"`` is refused: its carried expanded tensors must be materialized whole.
:func:`mnv2lab.memory.sliced_forward` is the didactic one-block version (BN unfolded, no in-place
work); this module is the one whose memory is measured (:mod:`mnv2lab.memory_probe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .inference import fold_batchnorm
from .models import InvertedResidual, MobileNetV2
from .params import ParameterError

# Section 5's numbers of slices studied in the notebook (1 = the unsliced executor).
SLICES = (1, 2, 3, 4, 5, 8, 16)


def _activation(module: nn.Module | None):
    """The in-place version of a ConvBNAct's activation (None for a linear layer)."""
    if module is None:
        return None
    if isinstance(module, nn.ReLU6):
        return lambda t: t.clamp_(0.0, 6.0)
    if isinstance(module, nn.ReLU):
        return lambda t: t.clamp_(min=0.0)
    raise ParameterError(f"activation: got {type(module).__name__}; allowed: ReLU6 or ReLU")


def slice_edges(width: int, n_slices: int) -> list[tuple[int, int]]:
    """``n_slices`` (capped at ``width``) contiguous channel ranges covering ``width`` channels,
    sizes differing by at most one."""
    if not isinstance(n_slices, int) or isinstance(n_slices, bool) or n_slices < 1:
        raise ParameterError(f"n_slices: got {n_slices!r}; allowed: an integer >= 1")
    n = min(n_slices, width)
    edges = [round(i * width / n) for i in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


@dataclass
class _Block:
    """The folded weights of one bottleneck, laid out for channels-last matrix multiplies."""

    expand_w: torch.Tensor | None  # (k, hidden): X (HW x k) @ expand_w -> (HW x hidden)
    expand_b: torch.Tensor | None
    expand_act: object
    dw_w: torch.Tensor  # (hidden, 1, 3, 3)
    dw_b: torch.Tensor
    dw_act: object
    stride: int
    project_w: torch.Tensor  # (hidden, k')
    project_b: torch.Tensor
    project_act: object
    shortcut: bool
    hidden: int
    out_channels: int


def _layer(cba: nn.Module) -> tuple[nn.Conv2d, object]:
    return cba.conv, _activation(getattr(cba, "act", None))


def block_weights(block: InvertedResidual) -> _Block:
    """The folded block's weights, laid out for channels-last matrix multiplies."""
    expand_w = expand_b = expand_act = None
    if block.expand is not None:
        conv, expand_act = _layer(block.expand)
        expand_w = conv.weight.detach().flatten(1).t().contiguous()  # (k, hidden)
        expand_b = conv.bias.detach()
    dw, dw_act = _layer(block.depthwise)
    proj, proj_act = _layer(block.project)
    return _Block(
        expand_w,
        expand_b,
        expand_act,
        dw.weight.detach(),
        dw.bias.detach(),
        dw_act,
        dw.stride[0],
        proj.weight.detach().flatten(1).t().contiguous(),
        proj.bias.detach(),
        proj_act,
        block.use_shortcut,
        block.hidden_channels,
        block.out_channels,
    )


def _depthwise_project(
    e: torch.Tensor, h: int, w: int, b: _Block, lo: int, hi: int, out: torch.Tensor | None
) -> torch.Tensor:
    """Depthwise conv + act of one slice ``e`` (HW x s), projected and accumulated into
    ``out`` ((H'W') x k'; created on the first slice)."""
    s = hi - lo
    image = e.view(1, h, w, s).permute(0, 3, 1, 2)  # channels-last view
    d = F.conv2d(image, b.dw_w[lo:hi], b.dw_b[lo:hi], b.stride, 1, 1, s)
    del image
    if b.dw_act is not None:
        b.dw_act(d)
    d2 = d.permute(0, 2, 3, 1).reshape(-1, s)  # a view: d is channels last
    if out is None:
        return torch.addmm(b.project_b, d2, b.project_w[lo:hi])
    return out.addmm_(d2, b.project_w[lo:hi])


def _run_block(
    x: torch.Tensor, h: int, w: int, b: _Block, n_slices: int
) -> tuple[torch.Tensor, int, int]:
    """One bottleneck on ``x`` (HW x k): returns ((H'W') x k', H', W')."""
    out = None
    for lo, hi in slice_edges(b.hidden, n_slices):
        if b.expand_w is None:
            e = x[:, lo:hi].contiguous()
        else:
            e = torch.addmm(b.expand_b[lo:hi], x, b.expand_w[:, lo:hi])
            b.expand_act(e)
        out = _depthwise_project(e, h, w, b, lo, hi, out)
        del e
    if b.project_act is not None:
        b.project_act(out)
    if b.shortcut:
        out.add_(x)
    return out, math.ceil(h / b.stride), math.ceil(w / b.stride)


class MemoryEfficientMobileNetV2(nn.Module):
    """Run a MobileNetV2 (any width, resolution, ``expand_ratio``, ``bottleneck`` and
    ``shortcut`` in {"bottleneck", "none"}) one slice of each expanded tensor at a time.

    ``executor(x, n_slices)`` equals ``model.eval()(x)`` up to float rounding."""

    def __init__(self, model: MobileNetV2) -> None:
        super().__init__()
        if not isinstance(model, MobileNetV2):
            raise ParameterError(f"model: got {type(model).__name__}; allowed: a MobileNetV2")
        if model.shortcut == "expansion":
            raise ParameterError(
                "model.shortcut: got 'expansion'; allowed: 'bottleneck' or "
                "'none' (expansion shortcuts carry whole expanded tensors)"
            )
        folded = fold_batchnorm(model)
        stem, *blocks, last = list(folded.features)
        self.stem_w = stem.conv.weight.detach().contiguous(memory_format=torch.channels_last)
        self.stem_b = stem.conv.bias.detach()
        self.stem_stride = stem.conv.stride[0]
        self.stem_act = _activation(stem.act)
        self.blocks = [block_weights(b) for b in blocks]
        # The first-layer trick needs the first bottleneck to have no expansion of its own.
        self.fuse_stem = self.blocks[0].expand_w is None
        self.last_w = last.conv.weight.detach().flatten(1).t().contiguous()  # (320, 1280)
        self.last_b = last.conv.bias.detach()
        self.last_act = _activation(last.act)
        linear = folded.classifier[-1]
        self.fc_w, self.fc_b = linear.weight.detach(), linear.bias.detach()
        self.in_channels = 3

    def _stem_and_first_block(self, image: torch.Tensor, n_slices: int):
        """The first-layer trick: stem slices feed the first bottleneck's depthwise directly."""
        b = self.blocks[0]
        out, h, w = None, 0, 0
        for lo, hi in slice_edges(b.hidden, n_slices):
            e = F.conv2d(image, self.stem_w[lo:hi], self.stem_b[lo:hi], self.stem_stride, 1)
            self.stem_act(e)
            _, s, h, w = e.shape
            e2 = e.permute(0, 2, 3, 1).reshape(h * w, s)
            del e
            out = _depthwise_project(e2, h, w, b, lo, hi, out)
            del e2
        if b.project_act is not None:
            b.project_act(out)
        return out, math.ceil(h / b.stride), math.ceil(w / b.stride)

    def _one_image(self, image: torch.Tensor, n_slices: int) -> torch.Tensor:
        if self.fuse_stem:
            x, h, w = self._stem_and_first_block(image, n_slices)
            rest = self.blocks[1:]
        else:
            e = F.conv2d(image, self.stem_w, self.stem_b, self.stem_stride, 1)
            self.stem_act(e)
            _, c, h, w = e.shape
            x = e.permute(0, 2, 3, 1).reshape(h * w, c)
            del e
            rest = self.blocks
        for b in rest:
            x, h, w = _run_block(x, h, w, b, n_slices)
        pooled = torch.empty(self.last_w.shape[1], dtype=x.dtype, device=x.device)
        for lo, hi in slice_edges(self.last_w.shape[1], n_slices):
            y = torch.addmm(self.last_b[lo:hi], x, self.last_w[:, lo:hi])
            self.last_act(y)
            pooled[lo:hi] = y.mean(dim=0)
            del y
        del x
        return F.linear(pooled, self.fc_w, self.fc_b)

    def forward(self, x: torch.Tensor, n_slices: int = 1) -> torch.Tensor:
        """Logits for the batch ``x`` (N, 3, H, W), one image at a time, under inference mode."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ParameterError(f"input: got shape {tuple(x.shape)}; allowed: (N, 3, H, W)")
        slice_edges(1, n_slices)  # validates n_slices before any work
        with torch.inference_mode():
            return torch.stack(
                [
                    self._one_image(
                        x[i : i + 1].contiguous(memory_format=torch.channels_last), n_slices
                    )
                    for i in range(x.shape[0])
                ]
            )


def run_bottleneck(block: InvertedResidual, x: torch.Tensor, n_slices: int) -> torch.Tensor:
    """One bottleneck (eval mode, BN folded) on the batch ``x`` (N, k, H, W) in ``n_slices``
    slices of its expanded channels, one image at a time: equal to ``block.eval()(x)``."""
    if not isinstance(block, InvertedResidual) or block.expansion_shortcut_in:
        raise ParameterError(
            "block: allowed: an InvertedResidual without an incoming expansion shortcut"
        )
    slice_edges(1, n_slices)
    b = block_weights(fold_batchnorm(block))
    outs = []
    with torch.inference_mode():
        for i in range(x.shape[0]):
            _, k, h, w = x[i : i + 1].shape
            flat = x[i].permute(1, 2, 0).reshape(h * w, k).contiguous()
            y, h2, w2 = _run_block(flat, h, w, b, n_slices)
            outs.append(y.view(h2, w2, -1).permute(2, 0, 1))
    return torch.stack(outs)


# ------------------------------------------------------------------ the analytic bound


def analytic_peak_bytes(
    model: MobileNetV2, resolution: int, n_slices: int, bytes_per_value: int = 4
) -> dict:
    """Activation bytes the executor must hold at its worst moment, for one image, excluding the
    input image itself (the measurement counts it in the baseline too).

    Blocks use :func:`mnv2lab.memory.bottleneck_memory` (input + output + one slice before and
    one after the depthwise conv). The fused stem is a bottleneck whose input is not counted; the
    last conv holds its input, one slice and the pooled vector. Returns ``{"peak": bytes,
    "where": step name, "steps": {name: bytes}}``."""
    from .costs import probe
    from .memory import bottleneck_memory

    stem, last = model.features[0], model.features[-1]
    blocks = [m for m in model.features if isinstance(m, InvertedResidual)]
    shapes = probe(model, resolution, [stem, *blocks, last])
    steps: dict[str, int] = {}
    for i, b in enumerate(blocks):
        in_shape, out_shape = shapes[b]
        n = min(n_slices, b.hidden_channels)
        if i == 0 and b.expand is None:  # fused with the stem: the image is not counted
            steps["stem + block 1"] = bottleneck_memory(
                (0, *in_shape[1:]),
                out_shape,
                b.hidden_channels,
                n,
                expanded_hw=shapes[stem][1][1:],
                has_expansion=True,
                bytes_per_value=bytes_per_value,
            )
        else:
            # t = 1 blocks elsewhere copy their slice, so it is counted as an expansion.
            steps[f"block {i + 1}"] = bottleneck_memory(
                in_shape,
                out_shape,
                b.hidden_channels,
                n,
                has_expansion=True,
                bytes_per_value=bytes_per_value,
            )
    (c, h, w), (c2, _, _) = shapes[last]
    per_slice = math.ceil(c2 / min(n_slices, c2))
    steps["last conv + pool"] = (h * w * c + h * w * per_slice + c2) * bytes_per_value
    where = max(steps, key=steps.get)
    return {"peak": steps[where], "where": where, "steps": steps}
