"""Parameters and multiply-adds, counted the way the papers count them.

Multiply-adds (MAdds) count convolution and linear layers only (BN, activations, pooling,
additions and shuffles are free), one per multiply-accumulate, for one image:

    conv:   H_out * W_out * C_out * (C_in / groups) * k_h * k_w
    linear: C_in * C_out

They are computed from the layer shapes, which a forward pass records with hooks (on the ``meta``
device when the model lives there, so that a 224x224 probe costs nothing). The tests cross-check
the totals against ``torch.utils.flop_counter.FlopCounterMode`` forward counts divided by two
(FlopCounterMode counts 2 FLOPs per multiply-add; its *backward* counts for grouped convolutions
are wrong in torch 2.13, so only the forward is used).

Parameters: :func:`count_params` counts every trainable parameter (conv weights, BN scale and
shift, classifier weight and bias), the definition of the reference count 3,504,872 for
MobileNetV2 1.0; ``include_bn=False`` gives the convention of the TF-slim tables (3.47M);
:func:`count_params_folded` the convention of deployed graphs (BN folded into one bias per
channel: the OpenVINO model zoo's counts of the released detectors).

Conventions the printed numbers of the paper's Tables 5-7 need (each a switch, each documented
where it is defined): ``dilated`` (:data:`DILATED_CONVENTIONS`: how a dilated convolution is
counted), :func:`multi_scale_madds` (multi-scale + flipped evaluation as a sum over passes) and
:func:`deployed_gflops` (the "GFLOPs" of a deployed graph).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Sequence

import pandas as pd
import torch
from torch import nn

from .models import build_model
from .models.layers import check_input_size
from .params import ParameterError


@dataclass(frozen=True)
class LayerCost:
    """The shapes and cost of one conv or linear layer (shapes per image, channels first)."""

    name: str
    kind: str  # "conv" or "linear"
    in_shape: tuple[int, ...]  # (C, H, W) or (C,)
    out_shape: tuple[int, ...]
    kernel: tuple[int, int] | None
    groups: int
    params: int
    madds: int


def count_params(model: nn.Module, *, include_bn: bool = True) -> int:
    """Trainable parameters; ``include_bn=False`` leaves out BN scale and shift."""
    total = 0
    for module in model.modules():
        if not include_bn and isinstance(module, nn.modules.batchnorm._BatchNorm):
            continue
        total += sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad)
    return total


def _size_hw(input_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        return input_size, input_size
    if (
        isinstance(input_size, (tuple, list))
        and len(input_size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) for s in input_size)
    ):
        return int(input_size[0]), int(input_size[1])
    raise ParameterError(f"input_size: got {input_size!r}; allowed: an integer or (H, W)")


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def probe(
    model: nn.Module, input_size: int | Sequence[int], modules: Iterable[nn.Module]
) -> dict[nn.Module, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Run one image through ``model`` and return {module: (input shape, output shape)} for the
    given modules (shapes without the batch dimension; the first call of a module wins)."""
    h, w = _size_hw(input_size)
    min_size = getattr(model, "min_input_size", 1)
    check_input_size(getattr(model, "model_name", type(model).__name__), min_size, (h, w))
    wanted = list(modules)
    seen: dict[nn.Module, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def hook(module, args, output):
        if module in seen:
            return
        out = output[0] if isinstance(output, tuple) else output
        seen[module] = (tuple(args[0].shape[1:]), tuple(out.shape[1:]))

    handles = [m.register_forward_hook(hook) for m in wanted]
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        x = torch.zeros(1, getattr(model, "in_channels", 3), h, w, device=device)
        with _eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


# How a dilated (atrous) convolution's multiply-adds are counted:
# "nominal": over its output, like any conv (what the network computes; FlopCounterMode agrees).
# "tf1_space_to_batch": as TensorFlow 1's profiler (tfprof) counts the graphs behind the
#   published DeepLab numbers. TF1 runs a conv of rate r as SpaceToBatch -> VALID conv with the
#   undilated kernel -> BatchToSpace, on the input padded for SAME and then up to a multiple of r;
#   tfprof counts the inner conv, whose r*r blocks together have ceil(H/r)*r x ceil(W/r)*r
#   outputs instead of H x W. Stride-1 convs with "same" padding only (as in atrous nets).
DILATED_CONVENTIONS = ("nominal", "tf1_space_to_batch")


def _ceil_to(n: int, r: int) -> int:
    return -(-n // r) * r


def layer_madds(module: nn.Module, in_shape, out_shape, dilated: str = "nominal") -> int:
    """Multiply-adds of one conv or linear layer given its (C, H, W) shapes per image."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        c_out, h_out, w_out = out_shape
        rh, rw = module.dilation
        if dilated == "tf1_space_to_batch" and (rh > 1 or rw > 1):
            if module.stride != (1, 1) or (h_out, w_out) != tuple(in_shape[1:]):
                raise ValueError(
                    f"dilated: 'tf1_space_to_batch' needs a stride-1 'same' conv; "
                    f"got stride {module.stride}, {in_shape} -> {out_shape}"
                )
            h_out, w_out = _ceil_to(h_out, rh), _ceil_to(w_out, rw)
        return h_out * w_out * c_out * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    raise TypeError(f"not a conv or linear layer: {type(module).__name__}")


def layer_costs(
    model: nn.Module, input_size: int | Sequence[int] = 224, *, dilated: str = "nominal"
) -> list[LayerCost]:
    """Every conv and linear layer in network order, with its shapes, parameters and MAdds
    (dilated convs counted as ``dilated`` says: :data:`DILATED_CONVENTIONS`)."""
    if dilated not in DILATED_CONVENTIONS:
        raise ParameterError(
            f"dilated: got {dilated!r}; allowed: one of {list(DILATED_CONVENTIONS)}"
        )
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    shapes = probe(model, input_size, [m for _, m in named])
    costs = []
    for name, m in named:
        if m not in shapes:  # a layer the forward pass never used costs nothing
            continue
        in_shape, out_shape = shapes[m]
        conv = isinstance(m, nn.Conv2d)
        costs.append(
            LayerCost(
                name=name,
                kind="conv" if conv else "linear",
                in_shape=in_shape,
                out_shape=out_shape,
                kernel=tuple(m.kernel_size) if conv else None,
                groups=m.groups if conv else 1,
                params=sum(p.numel() for p in m.parameters()),
                madds=layer_madds(m, in_shape, out_shape, dilated),
            )
        )
    return costs


def count_madds(
    model: nn.Module, input_size: int | Sequence[int] = 224, *, dilated: str = "nominal"
) -> int:
    """Multiply-adds for one image, conv and linear layers only (the papers' convention)."""
    return sum(c.madds for c in layer_costs(model, input_size, dilated=dilated))


def count_params_folded(model: nn.Module) -> int:
    """Parameters once BatchNorm is folded into the preceding conv: BN scale and shift become one
    bias per channel (convs that already have a bias keep theirs): the count of a deployed
    graph, such as the OpenVINO model zoo's."""
    bn_channels = sum(
        m.num_features
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine
    )
    return count_params(model, include_bn=False) + bn_channels


def conv_outputs(model: nn.Module, input_size: int | Sequence[int] = 224) -> int:
    """Output elements of all conv layers for one image (one bias add each once BN is folded)."""
    return sum(math.prod(c.out_shape) for c in layer_costs(model, input_size) if c.kind == "conv")


def deployed_gflops(model: nn.Module, input_size: int | Sequence[int] = 224) -> float:
    """ "GFLOPs" as a deployed-model zoo prints them, by our reading: 2 FLOPs per multiply-add
    plus 2 per conv output element (the folded bias add and one more per output), in 10^9.
    Found, not documented: it reproduces the OpenVINO counts of ssdlite_mobilenet_v2 and
    ssd_mobilenet_v2_coco to the printed digit; see the notebook for the third."""
    return (2 * count_madds(model, input_size) + 2 * conv_outputs(model, input_size)) / 1e9


def eval_sizes(crop: int, scales: Sequence[float]) -> list[int]:
    """Input sides of multi-scale evaluation, as DeepLab computes them: int((crop - 1) * s + 1)
    (513 at 0.5, 0.75, ..., 1.75 -> 257, 385, 513, 641, 769, 897)."""
    return [int((crop - 1) * s + 1) for s in scales]


def multi_scale_madds(
    model: nn.Module, sizes: Sequence[int], *, flip: bool, dilated: str = "nominal"
) -> int:
    """Multiply-adds of multi-scale (and left-right flipped) evaluation: the sum over every
    forward pass, one per size, twice with ``flip`` (a flipped image costs the same)."""
    return (2 if flip else 1) * sum(count_madds(model, s, dilated=dilated) for s in sizes)


def flop_counter_madds(model: nn.Module, input_size: int | Sequence[int] = 224) -> int:
    """The independent check: ``FlopCounterMode`` forward FLOPs for one image, divided by 2."""
    from torch.utils.flop_counter import FlopCounterMode

    h, w = _size_hw(input_size)
    param = next(model.parameters())
    x = torch.zeros(1, getattr(model, "in_channels", 3), h, w, device=param.device)
    with _eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = counter.get_total_flops()
    if flops % 2:
        raise AssertionError(f"FlopCounterMode gave an odd FLOP count {flops}")
    return flops // 2


# ------------------------------------------------------------------ the architecture table


def format_shape(shape: Sequence[int]) -> str:
    """(C, H, W) -> "112² × 32" (square) or "112 × 96 × 32"; (C,) or (C, 1, 1) -> "1 × 1 × C",
    as in Table 2."""
    if len(shape) == 1 or tuple(shape[1:]) == (1, 1):
        return f"1 × 1 × {shape[0]}"
    c, h, w = shape
    return f"{h}² × {c}" if h == w else f"{h} × {w} × {c}"


def architecture_table(model: nn.Module, input_size: int | Sequence[int] = 224) -> pd.DataFrame:
    """The model's architecture table (Table 2 for MobileNetV2), computed: one row per line of its
    paper's table with input shape, operator, t, c, n, s, output shape, parameters and MAdds."""
    rows = model.layer_rows()
    firsts = [r.modules[0] for r in rows]
    lasts = [r.modules[-1] for r in rows]
    shapes = probe(model, input_size, set(firsts) | set(lasts))
    per_layer = {c.name: c for c in layer_costs(model, input_size)}
    module_names = {m: n for n, m in model.named_modules()}
    records = []
    for row, first, last in zip(rows, firsts, lasts):
        madds = 0
        for top in row.modules:
            prefix = module_names[top]
            madds += sum(
                c.madds for n, c in per_layer.items() if n == prefix or n.startswith(prefix + ".")
            )
        in_shape = shapes[first][0]
        out_shape = shapes[last][1]
        records.append(
            {
                "input": format_shape(in_shape),
                "operator": row.operator,
                "t": row.t,
                "c": row.c,
                "n": row.n,
                "s": row.s,
                "output": format_shape(out_shape),
                "params": sum(count_params(m) for m in row.modules),
                "MAdds": madds,
            }
        )
    table = pd.DataFrame.from_records(records)
    for col in ("t", "c", "s"):
        table[col] = table[col].astype("Int64")
    return table


# ------------------------------------------------------------------ grids over widths/resolutions


def model_costs(name: str, input_size: int = 224, **kwargs) -> dict:
    """Parameters (with and without BN) and MAdds of ``build_model(name, **kwargs)`` at
    ``input_size``; the model is built on the ``meta`` device (no memory, no time). Results are
    memoized per process (the counts are a pure function of the arguments)."""
    return dict(_model_costs(name, input_size, tuple(sorted(kwargs.items()))))


@lru_cache(maxsize=1024)
def _model_costs(name: str, input_size: int, kwargs: tuple) -> tuple:
    with torch.device("meta"):
        model = build_model(name, **dict(kwargs))
    return (
        ("params", count_params(model)),
        ("params_no_bn", count_params(model, include_bn=False)),
        ("madds", count_madds(model, input_size)),
    )


def cost_grid(
    name: str,
    widths: Sequence[float],
    resolutions: Sequence[int],
    num_classes: int = 1000,
    **kwargs,
) -> pd.DataFrame:
    """Parameters and MAdds for every (width, resolution) pair of one model family."""
    records = []
    for width in widths:
        for res in resolutions:
            costs = model_costs(name, res, width_mult=width, num_classes=num_classes, **kwargs)
            records.append({"model": name, "width": float(width), "resolution": int(res), **costs})
    return pd.DataFrame.from_records(records)
