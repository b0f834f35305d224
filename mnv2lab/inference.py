"""The inference path a practitioner would deploy on a CPU, and the naive one it is compared with.

Practitioner path (:func:`prepare_for_inference` + :func:`run_inference`):

* ``eval()`` mode (BatchNorm uses its running statistics, dropout is off);
* BatchNorm **folded** into the convolution before it (:func:`fold_batchnorm` returns a folded
  copy): ``y = gamma * (W x - mean) / sqrt(var + eps) + beta`` is the convolution with weights
  ``W * gamma / sqrt(var + eps)`` (per output channel) and bias ``beta - mean * gamma /
  sqrt(var + eps)``. One pass over each activation less, no extra tensor;
* activations in place: a ReLU/ReLU6 that directly follows a conv (or its folded BN) overwrites
  that conv's fresh output instead of allocating another tensor of the same size;
* ``channels_last`` (NHWC) weights and input, the layout oneDNN's CPU convolutions prefer;
* ``torch.inference_mode()``: no autograd bookkeeping.

Naive path (:func:`prepare_naive`): the same model in ``eval()`` mode, NCHW, BatchNorm unfolded,
called without ``inference_mode``/``no_grad`` (autograd records the graph for nothing). Both
paths give the same outputs up to float rounding (tests/test_inference.py).
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

PATHS = ("practitioner", "naive")


def _folded_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new conv equal to ``bn(conv(x))`` in eval mode (computed in float64, stored as before)."""
    dtype = conv.weight.dtype
    scale = (
        bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        if bn.affine
        else 1.0 / torch.sqrt(bn.running_var.double() + bn.eps)
    )
    shift = bn.bias.double() if bn.affine else torch.zeros_like(scale)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    folded = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=dtype,
    )
    with torch.no_grad():
        folded.weight.copy_((conv.weight.double() * scale.view(-1, 1, 1, 1)).to(dtype))
        folded.bias.copy_((shift + (bias - bn.running_mean.double()) * scale).to(dtype))
    return folded


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) in which every ``Conv2d`` directly followed by a
    ``BatchNorm2d`` inside the same ``nn.Sequential`` (every ``ConvBNAct`` of the suite, and plain
    ``Sequential(conv, bn, ...)`` stacks) becomes one conv with a bias, and the BN an
    ``nn.Identity``. The original model is not changed. Returns the number of folds in
    ``folded.folded_batchnorms``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: got {type(model).__name__}; allowed: a torch.nn.Module")
    folded = copy.deepcopy(model).eval()
    count = 0
    for parent in folded.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = parent._modules[first], parent._modules[second]
            if (
                isinstance(conv, nn.Conv2d)
                and isinstance(bn, nn.BatchNorm2d)
                and bn.track_running_stats
                and bn.running_mean is not None
                and conv.out_channels == bn.num_features
            ):
                parent._modules[first] = _folded_conv(conv, bn)
                parent._modules[second] = nn.Identity()
                count += 1
    folded.folded_batchnorms = count
    return folded


def count_batchnorms(model: nn.Module) -> int:
    """How many BatchNorm layers ``model`` still has (0 after a complete fold)."""
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def activations_in_place(model: nn.Module) -> int:
    """Switch every ReLU/ReLU6 that directly follows a ``Conv2d``, ``BatchNorm2d`` or the
    ``Identity`` left by folding, inside one ``nn.Sequential``, to ``inplace=True`` (its input is
    that layer's fresh output, used nowhere else). Returns how many were switched."""
    count = 0
    for parent in model.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent.children())
        for before, act in zip(children, children[1:]):
            if isinstance(act, (nn.ReLU, nn.ReLU6)) and isinstance(
                before, (nn.Conv2d, nn.BatchNorm2d, nn.Identity)
            ):
                act.inplace = True
                count += 1
    return count


def prepare_for_inference(
    model: nn.Module, *, fold_bn: bool = True, channels_last: bool = True, inplace: bool = True
) -> nn.Module:
    """The practitioner's model: an eval-mode copy with BN folded, activations in place,
    channels-last weights and no gradients required. Call it through :func:`run_inference`
    (in-place activations need ``inference_mode`` or ``no_grad``)."""
    prepared = fold_batchnorm(model) if fold_bn else copy.deepcopy(model).eval()
    if inplace:
        activations_in_place(prepared)
    if channels_last:
        prepared = prepared.to(memory_format=torch.channels_last)
    for p in prepared.parameters():
        p.requires_grad_(False)
    return prepared


def prepare_naive(model: nn.Module) -> nn.Module:
    """The naive baseline: an eval-mode copy, NCHW, BN unfolded, parameters requiring grad."""
    return copy.deepcopy(model).eval()


def prepare_input(x: torch.Tensor, channels_last: bool = True) -> torch.Tensor:
    """The input in the layout the prepared model expects."""
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def run_inference(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One forward pass of a prepared model under ``torch.inference_mode``."""
    with torch.inference_mode():
        return model(x)


def make_runner(model: nn.Module, path: str = "practitioner") -> tuple[Callable, Callable]:
    """``(prepare_input, forward)`` for ``path`` in :data:`PATHS`, so that the latency code times
    exactly ``forward(x)`` with ``x = prepare_input(image)``."""
    if path == "practitioner":
        prepared = prepare_for_inference(model)
        return (lambda x: prepare_input(x, True)), (lambda x: run_inference(prepared, x))
    if path == "naive":
        naive = prepare_naive(model)
        return (lambda x: x.contiguous()), naive
    raise ValueError(f"path: got {path!r}; allowed: one of {list(PATHS)}")
