"""The architecture-and-cost notebook's logic (02_architecture_and_cost): its parameter spec,
Table 1 read off a block object, Table 4's cost columns beside the printed ones, the cost grids
behind Figure 5, and the verdicts the notebook records. Plots live in :mod:`mnv2lab.cost_plots`.

The paper comparisons always use 1000 classes (the paper's); ``classes`` only changes Table 2 and
the width/resolution grids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd
import torch

from . import published
from .costs import (architecture_table, cost_grid, count_madds, count_params, layer_costs,
                    model_costs, probe)
from .memory import compare_table3, table3
from .findings import Finding, count_verdict
from .models import InvertedResidual, build_model
from .notebook import COMMON
from .params import Param
from .section5 import sliced_memory_table

SPEC: dict[str, Param] = {
    **COMMON,
    "widths": Param(list, "width multipliers for the cost grid (V1 and V2)", item=float,
                    min=0.05, max=4.0, min_len=1),
    "resolutions": Param(list, "input resolutions (pixels) for the cost grid", item=int,
                         min=32, max=1024, min_len=1),
    "classes": Param(int, "classifier outputs for Table 2 and the grid (paper comparisons use "
                          "1000)", min=1),
}

PAPER_CLASSES = 1000


def smoke_subset(values: Sequence, smoke: bool, keep: int = 2) -> list:
    """The first and last of ``values`` in smoke mode (``keep`` = 2), all of them otherwise."""
    values = list(values)
    if not smoke or len(values) <= keep:
        return values
    return [values[0], values[-1]]


@dataclass(frozen=True)
class Plan:
    """What notebook 02 computes: the cost grid's widths and resolutions (first and last only in
    smoke mode) and the classifier outputs."""

    widths: list[float]
    resolutions: list[int]
    classes: int
    smoke: bool


def make_plan(params: Mapping[str, Any]) -> Plan:
    """The notebook's plan from its validated parameters (:data:`SPEC`)."""
    smoke = bool(params["smoke"])
    return Plan(widths=smoke_subset(params["widths"], smoke),
                resolutions=smoke_subset(params["resolutions"], smoke),
                classes=int(params["classes"]), smoke=smoke)


def meta_model(name: str, **kwargs):
    """A model of the registry built on the meta device: shapes and counts, no memory or time."""
    with torch.device("meta"):
        return build_model(name, **kwargs)


# ------------------------------------------------------------------ Table 1

def _operator_text(part, kind: str) -> str:
    conv = part.conv
    k = conv.kernel_size[0]
    act = getattr(part, "act", None)
    act_text = f", {type(act).__name__}" if act is not None else ""
    if kind == "depthwise":
        return f"{k}x{k} dwise s={conv.stride[0]}{act_text}"
    return f"{'linear ' if act is None else ''}{k}x{k} conv2d{act_text}"


def table1(block_index: int = 3, input_size: int = 224) -> pd.DataFrame:
    """Table 1 (the bottleneck block: input -> operator -> output) read off block number
    ``block_index`` (1-based) of a MobileNetV2 1.0 built at ``input_size``, with each layer's
    shapes and multiply-adds. The default is the first stride-1 block with t = 6."""
    model = meta_model("mobilenet_v2")
    blocks = [(n, b) for n, b in model.named_modules() if isinstance(b, InvertedResidual)]
    name, block = blocks[block_index - 1]
    parts = [(p, kind) for p, kind in ((block.expand, "expand"), (block.depthwise, "depthwise"),
                                      (block.project, "project")) if p is not None]
    shapes = probe(model, input_size, [p for p, _ in parts])
    costs = {c.name: c for c in layer_costs(model, input_size)}
    t, s = block.expand_ratio, block.stride
    symbolic_in = {"expand": "h × w × k", "depthwise": "h × w × tk", "project": "h/s × w/s × tk"}
    symbolic_out = {"expand": "h × w × tk", "depthwise": "h/s × w/s × tk",
                    "project": "h/s × w/s × k'"}
    rows = []
    for part, kind in parts:
        (ci, hi, wi), (co, ho, wo) = shapes[part]
        rows.append({"input": symbolic_in[kind], "operator": _operator_text(part, kind),
                     "output": symbolic_out[kind], "module": f"{name}.{kind}",
                     f"input (t={t}, s={s})": f"{hi} × {wi} × {ci}",
                     f"output (t={t}, s={s})": f"{ho} × {wo} × {co}",
                     "MAdds": costs[f"{name}.{kind}.conv"].madds})
    return pd.DataFrame.from_records(rows)


def table1_formula_check(block_index: int = 3, input_size: int = 224) -> dict:
    """Table 1's cost h*w*k*t*(k + 9 + k') (stride 1) beside the counted MAdds of the block."""
    table = table1(block_index, input_size)
    first_in = table.iloc[0, 4]
    h, w, k = (int(v) for v in first_in.split(" × "))
    model = meta_model("mobilenet_v2")
    block = [b for b in model.modules() if isinstance(b, InvertedResidual)][block_index - 1]
    t, k2 = block.expand_ratio, block.out_channels
    return {"h": h, "w": w, "k": k, "t": t, "k'": k2, "stride": block.stride,
            "formula": h * w * k * t * (k + 9 + k2), "counted": int(table.MAdds.sum())}


# ------------------------------------------------------------------ Table 2 and the grids

def table2(classes: int = PAPER_CLASSES, input_size: int = 224) -> pd.DataFrame:
    """Table 2 computed from a MobileNetV2 1.0 (see :func:`mnv2lab.costs.architecture_table`)."""
    return architecture_table(meta_model("mobilenet_v2", num_classes=classes), input_size)


def cost_grids(widths: Sequence[float], resolutions: Sequence[int],
               classes: int = PAPER_CLASSES) -> pd.DataFrame:
    """Parameters and MAdds of MobileNetV1 and V2 at every width and resolution."""
    return pd.concat([cost_grid(name, widths, resolutions, classes)
                      for name in ("mobilenet_v1", "mobilenet_v2")], ignore_index=True)


def cost_takeaway(grid: pd.DataFrame) -> str:
    """One sentence comparing V2 with V1 across the grid, from the numbers."""
    v1 = grid[grid.model == "mobilenet_v1"].set_index(["width", "resolution"])
    v2 = grid[grid.model == "mobilenet_v2"].set_index(["width", "resolution"])
    ratio = (v2.madds / v1.madds).dropna()
    fewer = sorted({w for (w, _), p2 in v2.params.items() if p2 < v1.params.loc[(w, _)]})
    params = (f"fewer parameters at widths {', '.join(f'{w:g}' for w in fewer)}" if fewer
              else "never fewer parameters")
    return (f"MobileNetV2 needs {ratio.min():.2f} to {ratio.max():.2f} times MobileNetV1's "
            f"multiply-adds across the grid, and has {params}.")


def figure5_points(widths: Sequence[float] | None = None,
                   resolutions: Sequence[int] | None = None) -> pd.DataFrame:
    """Figure 5's points: published top-1 against the MAdds *we* compute (1000 classes).
    ``widths``/``resolutions`` restrict the MobileNetV2 points (None: every published one); the
    other families' published points are always all shown."""
    def keep(w, r):
        return ((widths is None or any(abs(w - x) < 1e-9 for x in widths))
                and (resolutions is None or r in resolutions))

    records = []
    for family, name, table in (("MobileNetV2", "mobilenet_v2", published.V2_TOP1),
                                ("MobileNetV1", "mobilenet_v1", published.V1_TOP1)):
        for (w, r), top1 in table.items():
            if family == "MobileNetV1" or keep(w, r):
                records.append({"family": family, "width": w, "resolution": r, "top1": top1,
                                "madds": model_costs(name, r, width_mult=w)["madds"]})
    for w, (printed, top1) in published.SHUFFLENET_TOP1.items():
        g = published.SHUFFLENET_TOP1_GROUPS[w]     # the network whose top-1 is quoted
        records.append({"family": "ShuffleNet", "width": w, "resolution": 224, "groups": g,
                        "top1": top1, "printed_madds": printed * 1e6,
                        "madds": model_costs("shufflenet_v1", 224, groups=g,
                                             width_mult=w)["madds"]})
    records.append({"family": "NasNet-A (published MAdds)", "width": None, "resolution": 224,
                    "top1": published.NASNET_A["top1"], "madds": published.NASNET_A["madds_m"] * 1e6})
    return pd.DataFrame.from_records(records)


# ------------------------------------------------------------------ Table 4

def table4() -> pd.DataFrame:
    """Table 4's params and MAdds columns: printed vs ours (1000 classes, 224x224).

    Parameters agree if the printed value is our count rounded to 0.1M, with or without BN
    (papers differ on counting BN scale/shift); MAdds agree within 1M (printing precision)."""
    records = []
    for row in published.TABLE4:
        rec = {"network": row["network"], "paper params (M)": row["params_m"],
               "paper MAdds (M)": row["madds_m"]}
        if row["model"] is None:
            rec.update({"ours params (M)": None, "ours params, no BN (M)": None,
                        "ours MAdds (M)": None, "params agree": None, "MAdds agree": None})
        else:
            c = model_costs(row["model"], 224, num_classes=PAPER_CLASSES, **row["kwargs"])
            p, p_nobn, m = c["params"], c["params_no_bn"], c["madds"]
            rec.update({
                "ours params (M)": round(p / 1e6, 3), "ours params, no BN (M)": round(p_nobn / 1e6, 3),
                "ours MAdds (M)": round(m / 1e6, 1),
                "params agree": row["params_m"] in (round(p / 1e6, 1), round(p_nobn / 1e6, 1)),
                "MAdds agree": abs(m / 1e6 - row["madds_m"]) < 1.0})
        rec["note"] = TABLE4_NOTES[row["network"]]
        records.append(rec)
    return pd.DataFrame.from_records(records)


TABLE4_NOTES = {
    "MobileNetV1": "params agree; the printed 575M is unexplained: V1's own paper gives 569M, "
                   "which our count (568.7M) matches.",
    "ShuffleNet (1.5)": "both agree (conv1 kept at 24 channels, see mnv2lab.models.shufflenetv1).",
    "ShuffleNet (x2)": "both agree (5.45M with BN, 5.40M without).",
    "NasNet-A": "not built by this suite.",
    "MobileNetV2": "MAdds agree; the printed 3.4M matches neither count (3.50M with BN, the "
                   "reference 3,504,872; 3.47M without).",
    "MobileNetV2 (1.4)": "the printed 6.9M/585M match neither count; the released 1.4 "
                         "checkpoint has 6.06M (no BN) and 582M, as we compute.",
}


# ------------------------------------------------------------------ verdicts

def model_costs_1000(width: float, resolution: int) -> dict:
    """MobileNetV2 costs with the paper's 1000 classes."""
    return model_costs("mobilenet_v2", resolution, width_mult=width, num_classes=PAPER_CLASSES)


def findings(grid: pd.DataFrame | None = None, t3: pd.DataFrame | None = None,
             t4: pd.DataFrame | None = None) -> list[Finding]:
    """The notebook's findings, computed now. Tables are checked cell by cell
    (:func:`~mnv2lab.findings.count_verdict`: all / some / no cells agree). Paper comparisons use
    1000 classes and 224x224; ``t3`` (from :func:`mnv2lab.memory.table3`) and ``t4`` (from
    :func:`table4`) are reused when given."""
    v2 = meta_model("mobilenet_v2")
    p, m = count_params(v2), count_madds(v2, 224)
    ref = published.V2_REFERENCE
    out = [Finding("Table 2", count_verdict([p == ref["params"], m == ref["madds"]]),
                   f"MobileNetV2 1.0@224: {p:,} params and {m:,} MAdds (reference "
                   f"{ref['params']:,} and {ref['madds']:,}); the paper prints 3.4M and 300M.")]
    cmp = compare_table3(table3() if t3 is None else t3)
    main = cmp[cmp["family"] == cmp["computed as"]]
    n_ok, n_all = int(main.agrees.sum()), len(main)
    g2 = cmp[cmp["computed as"] == "ShuffleNet (2x, g=2)"]
    out.append(Finding("Table 3", count_verdict(n_ok, n_all),
                       f"{n_ok} of {n_all} cells agree (16-bit, kB = 1000 B); V2 at 56/28/14 "
                       f"lists the next stage's channels; the ShuffleNet column fits g=2 "
                       f"({int(g2.agrees.sum())} of {len(g2)} cells), not the stated g=3."))
    t4 = (table4() if t4 is None else t4).dropna(subset=["ours MAdds (M)"])
    cells = int(t4["params agree"].sum() + t4["MAdds agree"].sum())
    v1, v2_14 = t4.iloc[0], t4.iloc[-1]
    out.append(Finding("Table 4", count_verdict(cells, 2 * len(t4)),
                       f"{cells} of {2 * len(t4)} params/MAdds cells agree; V1 "
                       f"{v1['ours MAdds (M)']}M MAdds vs printed 575M (V1 paper: 569M); V2 1.4 "
                       f"{v2_14['ours params, no BN (M)']:.2f}M/{v2_14['ours MAdds (M)']:.0f}M "
                       f"vs printed 6.9M/585M."))
    if grid is not None:
        v2g = grid[grid.model == "mobilenet_v2"]
        lo, hi = v2g.madds.min() / 1e6, v2g.madds.max() / 1e6
        hits = 0
        for (w, r), (mm, mp) in published.TF_SLIM_V2.items():
            c = model_costs_1000(w, r)
            hits += int(c["madds"] / 1e6) == mm and round(c["params_no_bn"] / 1e6, 2) == mp
        out.append(Finding("Figure 5", count_verdict(hits, len(published.TF_SLIM_V2)),
                           f"MAdds axis: {len(v2g)} MobileNetV2 configurations from one code "
                           f"path ({lo:.1f}M to {hi:.1f}M); {hits} of "
                           f"{len(published.TF_SLIM_V2)} published checkpoint counts match, e.g. "
                           f"1.4@224 582M MAdds, 6.06M params (no BN)."))
    sl = sliced_memory_table(v2)
    t6 = sl[sl.t > 1]
    worst = t6.loc[t6["kB, 1 slice(s)"].idxmax()]
    out.append(Finding("Section 5", "beyond the paper",    # its figure is "beyond the paper"'s
                       f"Largest t=6 block (block {worst.block}, {worst.input}): "
                       f"{worst['kB, 1 slice(s)']:.0f} kB unsliced, "
                       f"{worst['kB, t slice(s)']:.0f} kB in t slices, "
                       f"{worst['kB, tk slice(s)']:.0f} kB one channel at a time (16-bit, "
                       f"224x224); MAdds unchanged.", figures=("bottleneck_memory_slices",)))
    return out
