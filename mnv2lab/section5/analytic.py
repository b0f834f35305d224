"""Section 5 on paper: the memory each MobileNetV2 bottleneck needs when its expanded tensor is
computed in slices (:func:`sliced_memory_table`, by :func:`mnv2lab.memory.bottleneck_memory`:
16-bit, kB = 1000 bytes as in Table 3), and :func:`sliced_forward`, which shows that the slices
give the same output at the same multiply-adds."""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import torch

from ..costs import probe
from ..memory import BYTES_PER_VALUE, KB, bottleneck_memory, bottleneck_schedule_peak
from ..memory_efficient import run_bottleneck
from ..models import InvertedResidual, MobileNetV2
from ..params import ParameterError


UNSLICED_TIGHTEST = "kB, unsliced, tightest schedule"
TABLE3_TENSOR = "kB, largest thin tensor (Table 3)"


def section5_summary(sliced: pd.DataFrame) -> dict:
    """The t-slice saving of :func:`sliced_memory_table`'s t > 1 blocks measured two ways: against
    the unsliced upper bound (everything held at once) and against the tightest unsliced schedule.
    Ratios are unsliced / t slices; ``largest`` is the block with the largest tightest schedule.
    Also: how much a block's working memory exceeds Table 3's single tensor, in t slices and
    one channel at a time (the smallest ratio over all blocks)."""
    t6 = sliced[sliced.t > 1]
    naive = t6["kB, 1 slice(s)"] / t6["kB, t slice(s)"]
    tight = t6[UNSLICED_TIGHTEST] / t6["kB, t slice(s)"]
    big = t6.loc[t6[UNSLICED_TIGHTEST].idxmax()]
    return {
        "naive_ratio": (float(naive.min()), float(naive.max())),
        "tight_ratio": (float(tight.min()), float(tight.max())),
        "largest": {
            "block": int(big.block),
            "input": big.input,
            "naive_kB": float(big["kB, 1 slice(s)"]),
            "tight_kB": float(big[UNSLICED_TIGHTEST]),
            "t_slices_kB": float(big["kB, t slice(s)"]),
            "tk_slices_kB": float(big["kB, tk slice(s)"]),
            "table3_kB": float(big[TABLE3_TENSOR]),
        },
        "over_table3_t": float((sliced["kB, t slice(s)"] / sliced[TABLE3_TENSOR]).min()),
        "over_table3_tk": float((sliced["kB, tk slice(s)"] / sliced[TABLE3_TENSOR]).min()),
        "network_peak_kB": {
            col: float(sliced[col].max())
            for col in (
                "kB, 1 slice(s)",
                UNSLICED_TIGHTEST,
                "kB, t slice(s)",
                "kB, tk slice(s)",
                TABLE3_TENSOR,
            )
        },
    }


def sliced_memory_table(
    model: MobileNetV2, input_size: int = 224, slices: Sequence[int | str] = (1, 2, "t", "tk")
) -> pd.DataFrame:
    """Per bottleneck of ``model``: its shapes and the memory (kB) when computed in 1, 2, t
    (slices of k channels, the paper's example) and tk (one channel per slice) slices, beside
    the tightest unsliced schedule (:func:`mnv2lab.memory.bottleneck_schedule_peak`) and the
    largest single tensor of the block that Table 3 counts (its input or output).

    As in Table 3, the first block uses the first-layer trick when it has no expansion of its
    own: the stem is its expansion, so its input is the image and its expanded tensor the stem's
    output ("t" is then 1: one slice)."""
    blocks = [(n, m) for n, m in model.named_modules() if isinstance(m, InvertedResidual)]
    stem = model.features[0]
    shapes = probe(model, input_size, [m for _, m in blocks] + [stem])
    records = []
    for index, (name, b) in enumerate(blocks, 1):
        in_shape, out_shape = shapes[b]
        expanded_hw, has_expansion, label = None, b.expand is not None, name
        if index == 1 and b.expand is None:
            in_shape = shapes[stem][0]  # the image
            expanded_hw, has_expansion = shapes[stem][1][1:], True
            label = f"features.0 + {name}"
        row = {
            "block": index,
            "name": label,
            "input": f"{in_shape[1]}² × {in_shape[0]}",
            "t": b.expand_ratio,
            "expanded": b.hidden_channels,
            "output": f"{out_shape[1]}² × {out_shape[0]}",
            "stride": b.stride,
        }
        for s in slices:
            n = {"t": b.expand_ratio, "tk": b.hidden_channels}.get(s, s)
            row[f"kB, {s} slice(s)"] = (
                bottleneck_memory(
                    in_shape,
                    out_shape,
                    b.hidden_channels,
                    n,
                    expanded_hw=expanded_hw,
                    has_expansion=has_expansion,
                )
                / KB
            )
        row[UNSLICED_TIGHTEST] = (
            bottleneck_schedule_peak(
                in_shape,
                out_shape,
                b.hidden_channels,
                expanded_hw=expanded_hw,
                has_expansion=has_expansion,
                shortcut=b.use_shortcut,
            )
            / KB
        )
        # Table 3 counts one tensor; at block 1 the image is the input, not a materialized tensor
        thin = [out_shape] if label != name else [in_shape, out_shape]
        row[TABLE3_TENSOR] = max(math.prod(sh) for sh in thin) * BYTES_PER_VALUE / KB
        records.append(row)
    return pd.DataFrame.from_records(records)


def sliced_forward(block: InvertedResidual, x: torch.Tensor, n_slices: int) -> torch.Tensor:
    """Compute ``block(x)`` as F(x) = sum_i A_i(N(B_i(x))) over ``n_slices`` slices of the
    expanded channels, holding one slice at a time (eval mode; standard shortcuts only). Equal
    to ``block(x)`` up to rounding, at the same multiply-adds: the demonstration behind Section 5.

    The slicing itself is the measured executor's
    (:func:`mnv2lab.memory_efficient.run_bottleneck`, BN folded, one image at a time): one
    implementation for the analysis and the measurements."""
    if block.training:
        raise ParameterError(
            "block: got a block in training mode; allowed: eval mode (BN uses "
            "running statistics, which are per channel and so slice exactly)"
        )
    if block.expansion_shortcut_in:
        raise ParameterError(
            "block: got a block that receives an expansion shortcut; allowed: "
            "blocks of shortcut='bottleneck' or 'none'"
        )
    hidden = block.hidden_channels
    if not isinstance(n_slices, int) or isinstance(n_slices, bool) or not 1 <= n_slices <= hidden:
        raise ParameterError(f"n_slices: got {n_slices!r}; allowed: 1 to {hidden}")
    return run_bottleneck(block, x, n_slices)
