"""The architecture-and-cost notebook's logic (02_architecture_and_cost): its parameter spec,
Table 1 read off a block object, Table 4's cost columns beside the printed ones, the cost grids
behind Figure 5, and the verdicts the notebook records. Plots live in :mod:`mnv2lab.cost_plots`.

The paper comparisons use 1000 classes (the paper's) unless a count is labelled 1001 (the released
TF-slim checkpoints' classifier); ``classes`` only changes Table 2 and the width/resolution grids.
Printed counts are compared to the printed digit, rounded and truncated (:mod:`mnv2lab.printed`),
with parameters counted with and without BN scale/shift: :func:`conventions` finds the paper's way
(truncated, without BN). The Section 4 sentences with counts are checked in
:mod:`mnv2lab.text_claims`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd
import torch

from . import printed, published, text_claims
from .costs import (
    architecture_table,
    cost_grid,
    count_madds,
    count_params,
    layer_costs,
    model_costs,
    probe,
)
from .memory import compare_table3, table3
from .findings import Finding, count_verdict
from .models import InvertedResidual, build_model
from .notebook import COMMON
from .params import Param
from .section5 import section5_summary, sliced_memory_table

SPEC: dict[str, Param] = {
    **COMMON,
    "widths": Param(
        list,
        "width multipliers for the cost grid (V1 and V2)",
        item=float,
        min=0.05,
        max=4.0,
        min_len=1,
    ),
    "resolutions": Param(
        list, "input resolutions (pixels) for the cost grid", item=int, min=32, max=1024, min_len=1
    ),
    "classes": Param(
        int, "classifier outputs for Table 2 and the grid (paper comparisons use 1000)", min=1
    ),
}

PAPER_CLASSES = published.PAPER_CLASSES


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
    return Plan(
        widths=smoke_subset(params["widths"], smoke),
        resolutions=smoke_subset(params["resolutions"], smoke),
        classes=int(params["classes"]),
        smoke=smoke,
    )


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
    parts = [
        (p, kind)
        for p, kind in (
            (block.expand, "expand"),
            (block.depthwise, "depthwise"),
            (block.project, "project"),
        )
        if p is not None
    ]
    shapes = probe(model, input_size, [p for p, _ in parts])
    costs = {c.name: c for c in layer_costs(model, input_size)}
    t, s = block.expand_ratio, block.stride
    symbolic_in = {"expand": "h × w × k", "depthwise": "h × w × tk", "project": "h/s × w/s × tk"}
    symbolic_out = {
        "expand": "h × w × tk",
        "depthwise": "h/s × w/s × tk",
        "project": "h/s × w/s × k'",
    }
    rows = []
    for part, kind in parts:
        (ci, hi, wi), (co, ho, wo) = shapes[part]
        rows.append(
            {
                "input": symbolic_in[kind],
                "operator": _operator_text(part, kind),
                "output": symbolic_out[kind],
                "module": f"{name}.{kind}",
                f"input (t={t}, s={s})": f"{hi} × {wi} × {ci}",
                f"output (t={t}, s={s})": f"{ho} × {wo} × {co}",
                "MAdds": costs[f"{name}.{kind}.conv"].madds,
            }
        )
    return pd.DataFrame.from_records(rows)


def table1_formula_check(block_index: int = 3, input_size: int = 224) -> dict:
    """Table 1's cost h*w*k*t*(k + 9 + k') (stride 1) beside the counted MAdds of the block."""
    table = table1(block_index, input_size)
    first_in = table.iloc[0, 4]
    h, w, k = (int(v) for v in first_in.split(" × "))
    model = meta_model("mobilenet_v2")
    block = [b for b in model.modules() if isinstance(b, InvertedResidual)][block_index - 1]
    t, k2 = block.expand_ratio, block.out_channels
    return {
        "h": h,
        "w": w,
        "k": k,
        "t": t,
        "k'": k2,
        "stride": block.stride,
        "formula": h * w * k * t * (k + 9 + k2),
        "counted": int(table.MAdds.sum()),
    }


# ------------------------------------------------------------------ Table 2 and the grids


def table2(classes: int = PAPER_CLASSES, input_size: int = 224) -> pd.DataFrame:
    """Table 2 computed from a MobileNetV2 1.0 (see :func:`mnv2lab.costs.architecture_table`)."""
    return architecture_table(meta_model("mobilenet_v2", num_classes=classes), input_size)


def cost_grids(
    widths: Sequence[float], resolutions: Sequence[int], classes: int = PAPER_CLASSES
) -> pd.DataFrame:
    """Parameters and MAdds of MobileNetV1 and V2 at every width and resolution."""
    return pd.concat(
        [
            cost_grid(name, widths, resolutions, classes)
            for name in ("mobilenet_v1", "mobilenet_v2")
        ],
        ignore_index=True,
    )


def cost_takeaway(grid: pd.DataFrame) -> str:
    """One sentence comparing V2 with V1 across the grid, from the numbers."""
    v1 = grid[grid.model == "mobilenet_v1"].set_index(["width", "resolution"])
    v2 = grid[grid.model == "mobilenet_v2"].set_index(["width", "resolution"])
    ratio = (v2.madds / v1.madds).dropna()
    fewer = sorted({w for (w, _), p2 in v2.params.items() if p2 < v1.params.loc[(w, _)]})
    params = (
        f"fewer parameters at widths {', '.join(f'{w:g}' for w in fewer)}"
        if fewer
        else "never fewer parameters"
    )
    return (
        f"MobileNetV2 needs {ratio.min():.2f} to {ratio.max():.2f} times MobileNetV1's "
        f"multiply-adds across the grid, and has {params}."
    )


def figure5_points(
    widths: Sequence[float] | None = None, resolutions: Sequence[int] | None = None
) -> pd.DataFrame:
    """Figure 5's points: published top-1 against the MAdds *we* compute (1000 classes).
    ``widths``/``resolutions`` restrict the MobileNetV2 points (None: every published one); the
    other families' published points are always all shown."""

    def keep(w, r):
        return (widths is None or any(abs(w - x) < 1e-9 for x in widths)) and (
            resolutions is None or r in resolutions
        )

    records = []
    for family, name, table in (
        ("MobileNetV2", "mobilenet_v2", published.V2_TOP1),
        ("MobileNetV1", "mobilenet_v1", published.V1_TOP1),
    ):
        for (w, r), top1 in table.items():
            if family == "MobileNetV1" or keep(w, r):
                records.append(
                    {
                        "family": family,
                        "width": w,
                        "resolution": r,
                        "top1": top1,
                        "madds": model_costs(name, r, width_mult=w)["madds"],
                    }
                )
    for w, (printed_madds, top1) in published.SHUFFLENET_TOP1.items():
        g = published.SHUFFLENET_TOP1_GROUPS[w]  # the network whose top-1 is quoted
        records.append(
            {
                "family": "ShuffleNet",
                "width": w,
                "resolution": 224,
                "groups": g,
                "top1": top1,
                "printed_madds": printed_madds * 1e6,
                "madds": model_costs("shufflenet_v1", 224, groups=g, width_mult=w)["madds"],
            }
        )
    records.append(
        {
            "family": "NasNet-A (published MAdds)",
            "width": None,
            "resolution": 224,
            "top1": published.NASNET_A["top1"],
            "madds": published.NASNET_A["madds_m"] * 1e6,
        }
    )
    return pd.DataFrame.from_records(records)


# ------------------------------------------------------------------ Table 4 and the checkpoint table

# Our count behind each printed one: parameters with or without BN scale/shift, multiply-adds.
BN_LABELS = {"params": "with BN", "params_no_bn": "without BN"}
NO_BN = "-"  # the BN column of multiply-add cells (BN costs no multiply-adds here)


def _cells(
    key: dict, costs: dict, classes: int, params_m: float, madds_m: float, decimals: dict
) -> list[dict]:
    """One row per count cell of ``key`` (params with BN, params without BN, MAdds), with our
    exact count and whether it prints as the printed value when rounded and when truncated."""
    rows = []
    for quantity, bn, count, shown, dec in (
        ("params", BN_LABELS["params"], costs["params"], params_m, decimals["params_m"]),
        (
            "params",
            BN_LABELS["params_no_bn"],
            costs["params_no_bn"],
            params_m,
            decimals["params_m"],
        ),
        ("MAdds", NO_BN, costs["madds"], madds_m, decimals["madds_m"]),
    ):
        rows.append(
            {
                **key,
                "quantity": quantity,
                "BN": bn,
                "classes": classes,
                "ours (M)": count / 1e6,
                "printed (M)": shown,
                **printed.agreement(count, shown, 10**6, dec),
            }
        )
    return rows


def table4_cells(
    classes: Sequence[int] = (published.PAPER_CLASSES, published.TF_SLIM_CLASSES),
) -> pd.DataFrame:
    """Table 4's params and MAdds cells (224x224), long: one row per (network, quantity, BN
    counted or not, classes) with our count, the printed value and the agreement when our count
    is rounded / truncated to the printed digit (0.1M params, 1M MAdds). NasNet-A is not built."""
    rows = []
    for row in published.TABLE4:
        if row["model"] is None:
            continue
        for n in classes:
            c = model_costs(row["model"], 224, num_classes=n, **row["kwargs"])
            rows += _cells(
                {"network": row["network"]},
                c,
                n,
                row["params_m"],
                row["madds_m"],
                published.TABLE4_DECIMALS,
            )
    return pd.DataFrame.from_records(rows)


def checkpoint_cells(
    classes: Sequence[int] = (published.PAPER_CLASSES, published.TF_SLIM_CLASSES),
) -> pd.DataFrame:
    """The released MobileNetV2 checkpoints' table ([TF2], the Figure 5 models plus 1.3): the same
    long layout as :func:`table4_cells`, keyed by width and resolution (0.01M params, 1M MACs)."""
    rows = []
    for (w, r), (madds_m, params_m) in published.TF_SLIM_V2.items():
        for n in classes:
            c = model_costs("mobilenet_v2", r, width_mult=w, num_classes=n)
            rows += _cells(
                {"width": w, "resolution": r},
                c,
                n,
                params_m,
                madds_m,
                published.TF_SLIM_V2_DECIMALS,
            )
    return pd.DataFrame.from_records(rows)


def conventions(cells: pd.DataFrame) -> pd.DataFrame:
    """How many printed cells each counting convention reproduces: one row per (rounded or
    truncated, params with or without BN, classes), counting the params and MAdds cells."""
    rows = []
    for convention in printed.CONVENTIONS:
        for bn in BN_LABELS.values():
            for n in sorted(cells.classes.unique()):
                sub = cells[(cells.classes == n) & cells.BN.isin([bn, NO_BN])]
                mad = sub[sub.quantity == "MAdds"]
                par = sub[sub.quantity == "params"]
                rows.append(
                    {
                        "printed as": convention,
                        "params": bn,
                        "classes": int(n),
                        "params cells": f"{int(par[convention].sum())} of {len(par)}",
                        "MAdds cells": f"{int(mad[convention].sum())} of {len(mad)}",
                        "agree": int(sub[convention].sum()),
                        "of": len(sub),
                    }
                )
    return pd.DataFrame.from_records(rows)


def unexplained_cells(cells: pd.DataFrame) -> str:
    """The printed cells no convention reproduces (neither rounded nor truncated, with or without
    BN, at any of the classes), per network as "network printed (ours ...)", ours without BN and
    for 1000 classes; params and MAdds of one network joined by "/"."""
    ok = cells.groupby(["network", "quantity"], sort=False)[list(printed.CONVENTIONS)].any()
    missed: dict[str, list[tuple[str, str]]] = {}
    for (network, quantity), row in ok.iterrows():
        if row.any():
            continue
        ours = cells[
            (cells.network == network)
            & (cells.quantity == quantity)
            & (cells.classes == PAPER_CLASSES)
            & (cells.BN != "with BN")
        ].iloc[0]
        digits = 2 if quantity == "params" else 1
        missed.setdefault(network, []).append(
            (f"{ours['printed (M)']:g}M", f"{ours['ours (M)']:.{digits}f}M")
        )
    items = [
        f"{net} {'/'.join(p for p, _ in pairs)} (ours {'/'.join(o for _, o in pairs)})"
        for net, pairs in missed.items()
    ]
    return "; ".join(items) if items else "nothing"


def _which(group: pd.DataFrame, convention: str) -> str:
    """The BN conventions under which a params cell agrees, e.g. "without BN", or "none"."""
    ok = group[group[convention]].BN.tolist()
    return ", ".join(ok) if ok else "none"


def table4(cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 4's params and MAdds columns, printed vs ours, one row per network (224x224, the
    paper's 1000 classes; whether 1001 would change any verdict is its own column).

    "params agree" and "MAdds agree" use the paper's convention as found by :func:`conventions`:
    the printed value is our count **truncated** to the printed digit, parameters **without** BN.
    The rounded / truncated columns show which BN convention agrees under each."""
    cells = table4_cells() if cells is None else cells
    paper = cells[cells.classes == published.PAPER_CLASSES]
    other = cells[cells.classes != published.PAPER_CLASSES]
    records = []
    for row in published.TABLE4:
        rec = {
            "network": row["network"],
            "paper params (M)": row["params_m"],
            "paper MAdds (M)": row["madds_m"],
        }
        sub = paper[paper.network == row["network"]]
        if sub.empty:
            rec["note"] = TABLE4_NOTES[row["network"]]
            records.append(rec)
            continue
        par, mad = sub[sub.quantity == "params"].set_index("BN"), sub[sub.quantity == "MAdds"]
        alt = other[other.network == row["network"]]
        same = (
            alt.empty
            or (
                alt[["rounded", "truncated"]].to_numpy() == sub[["rounded", "truncated"]].to_numpy()
            ).all()
        )
        rec.update(
            {
                "ours params, with BN (M)": round(par.loc["with BN", "ours (M)"], 3),
                "ours params, without BN (M)": round(par.loc["without BN", "ours (M)"], 3),
                "ours MAdds (M)": round(mad["ours (M)"].item(), 1),
                "params: rounded agrees for": _which(par.reset_index(), "rounded"),
                "params: truncated agrees for": _which(par.reset_index(), "truncated"),
                "MAdds: rounded": bool(mad.rounded.item()),
                "MAdds: truncated": bool(mad.truncated.item()),
                "params agree": bool(par.loc["without BN", "truncated"]),
                "MAdds agree": bool(mad.truncated.item()),
                "same verdicts at 1001 classes": bool(same),
                "note": TABLE4_NOTES[row["network"]],
            }
        )
        records.append(rec)
    return pd.DataFrame.from_records(records)


TABLE4_NOTES = {
    "MobileNetV1": "params agree; the printed 575M fits no convention: V1's own paper gives 569M "
    "(our 568.74M rounded; truncated it is 568).",
    "ShuffleNet (1.5)": "both agree, with g = 3 (conv1 kept at 24 channels, see "
    "mnv2lab.models.shufflenetv1). Table 3's ShuffleNet column fits g = 2.",
    "ShuffleNet (x2)": "both agree with g = 3 (5.45M with BN truncates to 5.4, rounds to 5.5); "
    "g = 2, whose widths Table 3 prints, would give 5.26M (5.22M without BN) and 539M.",
    "NasNet-A": "not built by this suite.",
    "MobileNetV2": "both agree only truncated: 3.47M without BN -> 3.4 (rounded 3.5; with BN "
    "3,504,872 -> 3.5 either way) and 300.77M -> 300 (rounded 301).",
    "MobileNetV2 (1.4)": "the printed 6.9M/585M fit no convention; the released 1.4 checkpoint "
    "has 6.06M (no BN) and 582M, as we compute.",
}


# ------------------------------------------------------------------ verdicts


def section5_takeaway(summary: dict) -> str:
    """One sentence on the t-slice saving, from :func:`mnv2lab.section5.section5_summary`, measured
    against the tightest unsliced schedule (not against everything held at once)."""
    lo, hi = summary["tight_ratio"]
    n_lo, n_hi = summary["naive_ratio"]
    return (
        f"Computing a t = 6 bottleneck in t slices cuts its working memory {lo:.1f}x to "
        f"{hi:.1f}x against the tightest unsliced schedule ({n_lo:.1f}x to {n_hi:.1f}x against "
        f"holding everything at once), at the same multiply-adds."
    )


def findings(
    grid: pd.DataFrame | None = None, t3: pd.DataFrame | None = None, t4: pd.DataFrame | None = None
) -> list[Finding]:
    """The notebook's findings, computed now. Tables are checked cell by cell
    (:func:`~mnv2lab.findings.count_verdict`: all / some / no cells agree). Paper comparisons use
    1000 classes and 224x224; ``t3`` (from :func:`mnv2lab.memory.table3`) and ``t4`` (from
    :func:`table4`) are reused when given."""
    v2 = meta_model("mobilenet_v2")
    p, m = count_params(v2), count_madds(v2, 224)
    p_nobn = count_params(v2, include_bn=False)
    ref = published.V2_REFERENCE
    out = [
        Finding(
            "Table 2",
            count_verdict([p == ref["params"], m == ref["madds"]]),
            f"MobileNetV2 1.0@224, {PAPER_CLASSES} classes: {p:,} params with BN "
            f"({p_nobn:,} without) and {m:,} MAdds (reference {ref['params']:,} and "
            f"{ref['madds']:,}); the paper prints 3.4M and 300M (truncated, without BN).",
        )
    ]
    cmp = compare_table3(table3() if t3 is None else t3)
    main = cmp[cmp["family"] == cmp["computed as"]]
    n_ok, n_all = int(main.agrees.sum()), len(main)
    g2 = cmp[cmp["computed as"] == "ShuffleNet (2x, g=2)"]
    out.append(
        Finding(
            "Table 3",
            count_verdict(n_ok, n_all),
            f"{n_ok} of {n_all} cells agree (16-bit, kB = 1000 B); V2 at 56/28/14 "
            f"lists the next stage's channels; the ShuffleNet column fits g=2 "
            f"({int(g2.agrees.sum())} of {len(g2)} cells), not the stated g=3 (Table "
            f"4's ShuffleNet rows fit g=3).",
        )
    )
    t4 = table4() if t4 is None else t4
    t4 = t4.dropna(subset=["ours MAdds (M)"]).set_index("network")
    conv4 = conventions(table4_cells()).set_index(["printed as", "params", "classes"])
    trunc = conv4.loc[("truncated", "without BN", PAPER_CLASSES)]
    best_round = int(conv4.loc["rounded"].agree.max())
    out.append(
        Finding(
            "Table 4",
            count_verdict(int(trunc.agree), int(trunc.of)),
            f"{trunc.agree} of {trunc.of} params/MAdds cells agree as our counts truncated, "
            f"without BN (rounded: at most {best_round}); 1000 or 1001 classes alike. No "
            f"convention gives {unexplained_cells(table4_cells())}. ShuffleNet rows fit g=3 "
            f"(Table 3: g=2).",
        )
    )
    if grid is not None:
        v2g = grid[grid.model == "mobilenet_v2"]
        lo, hi = v2g.madds.min() / 1e6, v2g.madds.max() / 1e6
        cp = checkpoint_cells()
        n_rows = len(published.TF_SLIM_V2)

        def rows_ok(convention: str, classes: int) -> int:
            sub = cp[(cp.classes == classes) & cp.BN.isin(["without BN", NO_BN])]
            return int(sub.groupby(["width", "resolution"])[convention].all().sum())

        tf = published.TF_SLIM_CLASSES
        mad = cp[(cp.quantity == "MAdds") & (cp.classes == tf)]
        out.append(
            Finding(
                "Figure 5",
                count_verdict(rows_ok("truncated", tf), n_rows),
                f"MAdds axis: {len(v2g)} MobileNetV2 configurations, one code path "
                f"({lo:.1f}M to {hi:.1f}M, 1000 classes). Released-checkpoint table (MACs, params without "
                f"BN): {rows_ok('truncated', tf)} of {n_rows} rows truncated at 1001 classes "
                f"({rows_ok('truncated', PAPER_CLASSES)} at 1000); rounded, MACs agree in "
                f"{int(mad.rounded.sum())} of {n_rows}.",
            )
        )
    sl = sliced_memory_table(v2)
    s5 = section5_summary(sl)
    big = s5["largest"]
    lo_t, hi_t = s5["tight_ratio"]
    out.append(
        Finding(
            "Section 5",
            "beyond the paper",  # its figure is "beyond the paper"'s
            f"Largest t=6 block ({big['input']}, 16-bit): {big['naive_kB']:.0f} kB all held at "
            f"once, {big['tight_kB']:.0f} kB in the tightest unsliced schedule, "
            f"{big['t_slices_kB']:.0f} kB in t slices; t slices save {lo_t:.1f}-{hi_t:.1f}x "
            f"against the tightest schedule over t=6 blocks. MAdds unchanged.",
            figures=("bottleneck_memory_slices",),
        )
    )
    out += text_findings()
    return out


def text_findings() -> list[Finding]:
    """The Section 4 sentences with counts (:mod:`mnv2lab.text_claims`), as findings."""
    layers = text_claims.layer_count_readings()
    count = dict(zip(layers.short, layers["count"]))
    fits = layers[layers["gives 19"]]
    rng = text_claims.cost_range()
    holds = rng.groupby("claim", sort=False)[["rounded", "truncated"]].any().any(axis=1)
    small = rng[rng.claim == "smallest MAdds"].iloc[0]
    large = rng[rng.claim == "largest MAdds"].iloc[0]
    p_lo = rng[(rng.claim == "smallest params") & (rng["count"] == "params without BN")].iloc[0]
    p_hi = rng[(rng.claim == "largest params") & (rng["count"] == "params without BN")].iloc[0]
    readings = text_claims.smallest_madds_readings(float(small.width), int(small.resolution))
    any7 = bool(readings[["rounded", "truncated"]].to_numpy().any())
    holds["smallest MAdds"] |= any7
    lo_rows = rng[rng.claim == "smallest params"]
    how = [c for c in printed.CONVENTIONS if lo_rows[c].any()]
    n_ok = int(holds.sum())
    # "19 bottleneck layers" holds only if a reading of bottleneck blocks alone gives 19
    plain = ~fits.short.str.startswith("blocks +")
    return [
        Finding(
            "Section 4 (19 bottleneck layers)",
            count_verdict([bool(plain.any())]),
            f"Table 2 has {count['bottleneck blocks']} bottleneck blocks ({count['residual blocks']} "
            f"with a shortcut); 19 only when counting {' or '.join(fits.short)} "
            f"({len(fits)} of {len(layers)} readings).",
        ),
        Finding(
            "Section 4 (cost range)",
            count_verdict(n_ok, len(holds)),
            f"{n_ok} of {len(holds)} numbers hold. Smallest Figure 5 model ({small.width:g}@"
            f"{small.resolution}): {small['ours (M)']:.1f}M MAdds vs '7' ({'a' if any7 else 'no'} "
            f"reading gives 7M, lowest "
            f"{readings['MAdds (M)'].min():.1f}M); largest {large['ours (M)']:.1f}M vs 585M; params "
            f"{p_lo['ours (M)']:.2f}M-{p_hi['ours (M)']:.2f}M (no BN) vs 1.7M "
            f"({' or '.join(how) if how else 'no convention'})-6.9M.",
        ),
    ]
