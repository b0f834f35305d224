"""Activation memory: the paper's Table 3 (Section 5's slicing is :mod:`mnv2lab.section5`).

Definition used (the paper's, made explicit):

* A cell of Table 3 is the **largest single tensor** that must be materialized at one spatial
  resolution, in 16-bit floats (2 bytes per value), for one image.
* **kB = 1000 bytes.** Decided by matching the printed cells (see :func:`kilobyte_decision`):
  with 1000-byte kB six cells agree to within 1% (64 x 112 x 112 x 2 B = 1605.6 kB, printed
  1600), with 1024-byte kB only one does (1568 KiB vs 1600).
* What must be materialized (``policy="paper"``):
  - MobileNetV1: the output of every layer (the paper applies no trick to V1).
  - MobileNetV2: only the bottleneck tensors (block inputs and outputs). The expanded tensors
    inside a block can be computed in slices (Section 5). The stem (3 -> 32) is the expansion of
    the first bottleneck, so its output is never materialized (the paper's "trick for the first
    layer"); the last 1x1 conv's output can be average-pooled channel by channel as it is
    computed, so the 1280 channels appear only as the pooled 1x1 vector. With
    ``shortcut="expansion"`` the carried expanded tensors must be materialized too.
  - ShuffleNet: the unit inputs and outputs (the wide tensors, kept because of the shortcuts
    between them; the bottleneck inside a unit is streamed). First-layer trick: conv1 is
    max-pooled as it is computed, so nothing is materialized at 112x112.
  - Everywhere: the input image, the pooled vector and the logits.
* ``policy="every"``: every conv, pool and block output is materialized (no slicing at all), for
  contrast.

Section 5 (a bottleneck computed in slices): :func:`bottleneck_memory` is what a block holds in
``n`` slices (with one slice: everything at once, an upper bound); :func:`bottleneck_schedule_peak`
is the fair unsliced baseline, the tightest layer-by-layer schedule. A block's working memory is
always more than the single tensor a Table 3 cell counts.
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import torch
from torch import nn

from .costs import probe
from .models import (
    ConvBNAct,
    DepthwiseSeparable,
    InvertedResidual,
    MobileNetV1,
    MobileNetV2,
    ShuffleNetV1,
    ShuffleUnit,
    mobilenet_v1,
    mobilenet_v2,
    shufflenet_v1,
)
from .params import ParameterError
from .published import TABLE3, TABLE3_SIZES

BYTES_PER_VALUE = 2  # 16-bit floats
KB = 1000  # bytes per kB (decided by matching the printed cells)
POLICIES = ("paper", "every")

# ------------------------------------------------------------------ which tensors exist


def materialized_modules(model: nn.Module, policy: str = "paper") -> list[tuple[str, nn.Module]]:
    """The modules whose outputs must be held in memory under ``policy``, in network order."""
    if policy not in POLICIES:
        raise ParameterError(f"policy: got {policy!r}; allowed: one of {list(POLICIES)}")
    named = list(model.named_modules())
    if policy == "every":
        kinds = (
            nn.Conv2d,
            nn.Linear,
            nn.MaxPool2d,
            nn.AvgPool2d,
            nn.AdaptiveAvgPool2d,
            InvertedResidual,
            ShuffleUnit,
            DepthwiseSeparable,
        )
        return [(n, m) for n, m in named if isinstance(m, kinds)]
    head = [(n, m) for n, m in named if isinstance(m, (nn.AdaptiveAvgPool2d, nn.Linear))]
    if isinstance(model, MobileNetV2):
        body = []
        for n, m in named:
            if isinstance(m, InvertedResidual):
                if m.emits_expansion and m.expand is not None:
                    body.append((f"{n}.expand.act", m.expand.act))
                body.append((n, m))
        return body + head
    if isinstance(model, MobileNetV1):
        return [(n, m) for n, m in named if isinstance(m, ConvBNAct)] + head
    if isinstance(model, ShuffleNetV1):
        return [(n, m) for n, m in named if isinstance(m, (nn.MaxPool2d, ShuffleUnit))] + head
    raise ParameterError(
        f"model: got {type(model).__name__}; allowed: MobileNetV1, MobileNetV2 "
        "or ShuffleNetV1 (policy 'paper' needs to know the family)"
    )


def materialized_tensors(
    model: nn.Module, input_size: int = 224, policy: str = "paper"
) -> pd.DataFrame:
    """One row per materialized tensor: name, channels, height, width, bytes (16-bit)."""
    named = materialized_modules(model, policy)
    shapes = probe(model, input_size, [m for _, m in named])
    records = [{"name": "input", "channels": 3, "height": input_size, "width": input_size}]
    for name, module in named:
        if module not in shapes:
            continue
        out = shapes[module][1]
        c, h, w = (out[0], 1, 1) if len(out) == 1 else out
        records.append({"name": name, "channels": c, "height": h, "width": w})
    table = pd.DataFrame.from_records(records)
    table["bytes"] = table.channels * table.height * table.width * BYTES_PER_VALUE
    return table


def memory_by_resolution(
    model: nn.Module, input_size: int = 224, policy: str = "paper"
) -> pd.DataFrame:
    """Per spatial resolution (largest first): the largest materialized tensor, its channels,
    its size in kB and its name. Square inputs only (rows are keyed by the height)."""
    tensors = materialized_tensors(model, input_size, policy)
    largest = tensors.loc[tensors.groupby("height")["bytes"].idxmax()]
    largest = largest.sort_values("height", ascending=False)
    return pd.DataFrame(
        {
            "resolution": largest.height.to_numpy(),
            "channels": largest.channels.to_numpy(),
            "kB": largest.bytes.to_numpy() / KB,
            "tensor": largest.name.to_numpy(),
        }
    )


# ------------------------------------------------------------------ Table 3


def table3_models(num_classes: int = 1000) -> dict[str, nn.Module]:
    """The paper's three networks, plus ShuffleNet 2x with g = 2, whose widths the printed
    ShuffleNet column turns out to use. Built on the meta device (shapes only)."""
    with torch.device("meta"):
        return {
            "MobileNetV1": mobilenet_v1(1.0, num_classes),
            "MobileNetV2": mobilenet_v2(1.0, num_classes),
            "ShuffleNet (2x, g=3)": shufflenet_v1(3, 2.0, num_classes),
            "ShuffleNet (2x, g=2)": shufflenet_v1(2, 2.0, num_classes),
        }


def table3(
    models: dict[str, nn.Module] | None = None, input_size: int = 224, policy: str = "paper"
) -> pd.DataFrame:
    """Long table: family, size (112 ... 1 and "max"), channels, kB, tensor name."""
    models = table3_models() if models is None else models
    records = []
    for family, model in models.items():
        by_res = memory_by_resolution(model, input_size, policy).set_index("resolution")
        for size in sorted(by_res.index, reverse=True):
            row = by_res.loc[size]
            records.append(
                {
                    "family": family,
                    "size": int(size),
                    "channels": int(row.channels),
                    "kB": float(row.kB),
                    "tensor": row.tensor,
                }
            )
        sized = [r for r in records if r["family"] == family and r["size"] < input_size]
        top = max(sized, key=lambda r: r["kB"])
        records.append(
            {
                "family": family,
                "size": "max",
                "channels": top["channels"],
                "kB": top["kB"],
                "tensor": top["tensor"],
            }
        )
    return pd.DataFrame.from_records(records)


def cell_text(channels: int | None, kb: float | None) -> str:
    """A Table 3 cell, "channels/kB", or "–" where nothing is materialized."""
    if channels is None or kb is None or (isinstance(kb, float) and math.isnan(kb)):
        return "–"
    return f"{channels}/{kb:.3g}" if kb < 10 else f"{channels}/{kb:.0f}"


def table3_wide(long: pd.DataFrame, sizes: Sequence = TABLE3_SIZES + ("max",)) -> pd.DataFrame:
    """Table 3's layout: one row per size, one column per family, cells "channels/kB"."""
    out = {}
    for family, group in long.groupby("family", sort=False):
        cells = {
            r.size: (cell_text(r.channels, r.kB) if r.size != "max" else f"{r.kB:.0f}K")
            for r in group.itertuples()
        }
        out[family] = [cells.get(s, "–") for s in sizes]
    return pd.DataFrame(out, index=[f"{s}x{s}" if s != "max" else "max" for s in sizes])


def agrees(ours_kb: float | None, paper_kb: float) -> bool:
    """Within the paper's printing precision: 1 kB or 5%, whichever is larger."""
    return ours_kb is not None and abs(ours_kb - paper_kb) <= max(1.0, 0.05 * paper_kb)


# Why each cell agrees or not (checked against the computed agreement pattern in the tests).
_NOTES: dict[tuple[str, object], str] = {
    ("MobileNetV1", 112): "agrees: the 64-channel pointwise output at 112x112.",
    ("MobileNetV1", 56): "agrees: the 128-channel pointwise outputs.",
    ("MobileNetV1", 28): "agrees: the 256-channel pointwise outputs.",
    ("MobileNetV1", 14): "agrees: the 512-channel pointwise outputs.",
    ("MobileNetV1", 7): "channels agree, memory does not: one 7x7x1024 tensor is 100 kB; the "
    "printed 199 is two of them (the input and output of the last pointwise "
    "conv), counted together only in this cell.",
    ("MobileNetV1", 1): "agrees: the pooled 1024-vector (2.0 kB).",
    ("MobileNetV1", "max"): "agrees: the 112x112 cell.",
    ("MobileNetV2", 112): "agrees: the first bottleneck's 16-channel output; the stem's 32 "
    "channels are not materialized because the stem is the first "
    "bottleneck's expansion (the paper's first-layer trick).",
    ("MobileNetV2", 56): "differs: by Table 2 the bottleneck tensors at 56x56 have 24 channels; "
    "the paper prints 32, the c of the Table 2 row whose input is 56x56 "
    "(that row's stride-2 output is at 28x28).",
    ("MobileNetV2", 28): "differs for the same reason: 32 channels at 28x28 by Table 2; the "
    "printed 64 is the output of the row whose input is 28x28 (at 14x14).",
    ("MobileNetV2", 14): "differs: the 96-channel blocks are the widest at 14x14; the printed 160 "
    "belongs to blocks that run at 7x7 (the row starts from a 14x14 input).",
    ("MobileNetV2", 7): "agrees: 320 channels at 7x7 = 31.4 kB, printed 32.",
    ("MobileNetV2", 1): "agrees: the pooled 1280-vector; the last 1x1 conv's 7x7x1280 output "
    "is pooled channel by channel as it is computed, never materialized.",
    ("MobileNetV2", "max"): "agrees: the 112x112 cell, 401 kB.",
    ("ShuffleNet (2x, g=3)", 112): "differs: with the first-layer trick conv1 (48 channels at "
    "2x) is max-pooled as it is computed and nothing is "
    "materialized at 112x112 (without it: 48 channels, 1204 kB). "
    "The printed 32/800 fits neither, and the paper's own max "
    "(600K) leaves this cell out.",
    ("ShuffleNet (2x, g=3)", 56): "agrees: the 48-channel max-pool output (301 kB).",
    ("ShuffleNet (2x, g=3)", 28): "differs: 2x with g=3 has 480 channels here; the printed 400 "
    "is 2x with g=2 (2 x 200), which our g=2 column matches.",
    ("ShuffleNet (2x, g=3)", 14): "differs: 960 channels with g=3; the printed 800 is g=2's.",
    ("ShuffleNet (2x, g=3)", 7): "differs: 1920 channels with g=3; the printed 1600 is g=2's.",
    ("ShuffleNet (2x, g=3)", 1): "differs: a 1920-vector with g=3; the printed 1600 is g=2's.",
    ("ShuffleNet (2x, g=3)", "max"): "differs: 753 kB at 28x28 with g=3; the printed 600K "
    "matches g=2's 627 kB.",
}


def compare_table3(long: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our Table 3 beside the printed one, cell by cell, with whether they agree and why.

    ShuffleNet's printed column is also compared with our g=2 column (see the notes)."""
    long = table3() if long is None else long
    ours = {(r.family, r.size): (r.channels, r.kB) for r in long.itertuples()}
    records = []
    for family, printed in TABLE3.items():
        candidates = [family] + (
            ["ShuffleNet (2x, g=2)"]
            if family.startswith("ShuffleNet") and any(f == "ShuffleNet (2x, g=2)" for f, _ in ours)
            else []
        )
        for computed_as in candidates:
            for size in TABLE3_SIZES + ("max",):
                c_kb = ours.get((computed_as, size))
                if size == "max":
                    p_c, p_kb = None, float(printed["max"])
                    ok = c_kb is not None and agrees(c_kb[1], p_kb)
                else:
                    p_c, p_kb = printed[size]
                    ok = c_kb is not None and c_kb[0] == p_c and agrees(c_kb[1], p_kb)
                note = _NOTES.get((computed_as, size), "")
                if computed_as.endswith("g=2)"):
                    note = "agrees with g=2's widths." if ok else "differs (see the g=3 row)."
                records.append(
                    {
                        "family": family,
                        "computed as": computed_as,
                        "size": size,
                        "paper": f"{printed['max']}K" if size == "max" else cell_text(p_c, p_kb),
                        "ours": "–"
                        if c_kb is None
                        else (f"{c_kb[1]:.0f}K" if size == "max" else cell_text(*c_kb)),
                        "agrees": ok,
                        "why": note,
                    }
                )
    return pd.DataFrame.from_records(records)


def kilobyte_decision(long: pd.DataFrame | None = None) -> pd.DataFrame:
    """For kB = 1000 and kB = 1024 bytes: how many printed cells (with matching channels) our
    bytes reproduce to within 1%. The unit with more such cells is the paper's."""
    long = table3() if long is None else long
    ours = {(r.family, r.size): (r.channels, r.kB * KB) for r in long.itertuples()}
    records = []
    for unit in (1000, 1024):
        hits = total = 0
        for family, printed in TABLE3.items():
            for size in TABLE3_SIZES:
                p_c, p_kb = printed[size]
                got = ours.get((family, size))
                if got is None or got[0] != p_c:
                    continue
                total += 1
                hits += abs(got[1] / unit - p_kb) <= 0.01 * p_kb
        records.append({"bytes per kB": unit, "cells compared": total, "cells within 1%": hits})
    return pd.DataFrame.from_records(records)


# ------------------------------------------------------------------ one bottleneck in slices


def bottleneck_memory(
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    expanded: int,
    n_slices: int,
    *,
    expanded_hw: Sequence[int] | None = None,
    has_expansion: bool = True,
    bytes_per_value: int = BYTES_PER_VALUE,
) -> int:
    """Bytes held while computing one bottleneck as a sum over ``n_slices`` slices of its
    ``expanded`` channels (Section 5): the input (C, H, W) and the output accumulator stay alive
    throughout, plus one slice of the expanded tensor (at ``expanded_hw``, by default the input's
    H x W) and one slice of the depthwise output (at the output's H x W).

    ``n_slices = 1`` is the unsliced block; ``n_slices = expanded`` (one channel per slice)
    reaches the paper's bound |input| + |output| + O(one slice). Without an expansion layer
    (t = 1) the "expanded" tensor is the input itself and costs nothing extra.
    Multiply-adds do not depend on ``n_slices``.
    """
    if not isinstance(n_slices, int) or isinstance(n_slices, bool) or not 1 <= n_slices <= expanded:
        raise ParameterError(
            f"n_slices: got {n_slices!r}; allowed: an integer between 1 and "
            f"the expanded width {expanded}"
        )
    (ci, hi, wi), (co, ho, wo) = in_shape, out_shape
    he, we = expanded_hw if expanded_hw is not None else (hi, wi)
    per_slice = math.ceil(expanded / n_slices)
    per_channel = ho * wo + (he * we if has_expansion else 0)
    return (ci * hi * wi + co * ho * wo + per_slice * per_channel) * bytes_per_value


def bottleneck_schedule_peak(
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    expanded: int,
    *,
    expanded_hw: Sequence[int] | None = None,
    has_expansion: bool = True,
    shortcut: bool = False,
    bytes_per_value: int = BYTES_PER_VALUE,
) -> int:
    """Bytes at the worst moment of the **tightest unsliced** schedule of one bottleneck: the
    layers run one after the other on whole tensors, each writes a fresh tensor (no convolution
    overwrites its own input), a tensor is freed as soon as nothing reads it any more, and the
    shortcut's addition accumulates into the input's buffer. What must coexist, per layer:

    * expansion:  input x and expanded E (at ``expanded_hw``; absent when t = 1: E is x);
    * depthwise:  E and its output D (at the output's H x W), plus x when a shortcut needs it later;
    * projection: D and the output y; with a shortcut y is accumulated into x's buffer, so D + x.

    :func:`bottleneck_memory` with one slice instead holds x, y, E and D all at once: an upper
    bound for the unsliced block, not what an unsliced schedule needs.
    """
    (ci, hi, wi), (co, ho, wo) = in_shape, out_shape
    he, we = expanded_hw if expanded_hw is not None else (hi, wi)
    x, y = ci * hi * wi, co * ho * wo
    e = expanded * he * we if has_expansion else x
    d = expanded * ho * wo
    keep_x = x if shortcut else 0
    steps = [x + e] if has_expansion else []
    steps += [e + d + (keep_x if has_expansion else 0), d + (x if shortcut else y)]
    return max(steps) * bytes_per_value
