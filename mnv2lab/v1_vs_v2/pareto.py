"""Figure 5 against latency measured here: every buildable Figure 5 network's published top-1
at its median latency, and each family's Pareto front."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..cost_report import figure5_points as cost_figure5_points
from ..latency import MAX_FOREIGN
from .plan import Plan, figure5_networks
from .table4 import select
from .trained import FAMILIES


def pareto_mask(cost: Sequence[float], value: Sequence[float]) -> np.ndarray:
    """True for points no other point beats: nothing is at most as costly and at least as good
    with one of the two strictly better."""
    c, v = np.asarray(cost, float), np.asarray(value, float)
    keep = np.ones(len(c), dtype=bool)
    for i in range(len(c)):
        dominated = (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]))
        keep[i] = not dominated.any()
    return keep


def figure5_points(plan: Plan) -> pd.DataFrame:
    """Figure 5's points (:func:`mnv2lab.cost_report.figure5_points`), only the measured ones in
    smoke mode."""
    if not plan.smoke:
        return cost_figure5_points()
    nets = figure5_networks(smoke=True)
    return cost_figure5_points(
        sorted({w for _, w, _, _ in nets}), sorted({r for _, _, r, _ in nets})
    )


ACCURACY_LATENCY_COLUMNS = [
    "family",
    "width",
    "resolution",
    "top1",
    "madds",
    "threads",
    "median_ms",
    "q25_ms",
    "q75_ms",
]


def accuracy_latency_points(
    latency: pd.DataFrame, points: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Figure 5's points (:func:`mnv2lab.cost_report.figure5_points`: published top-1, our
    MAdds) joined with the latency measured here, one row per (point, threads), with
    ``pareto`` marking each family's front at each thread count. ``attrs["left_out"]`` and
    ``attrs["measured"]``: how many measured timings were left out as contaminated, of how many
    (:func:`left_out_text`)."""
    points = cost_figure5_points() if points is None else points
    lat = latency[latency.path == "practitioner"]
    model_of = {v: k for k, v in FAMILIES.items()}
    records = []
    for p in points.itertuples():
        model = model_of.get(p.family)
        if model is None:
            continue
        for th in sorted(lat.threads.unique()):
            hit = select(
                lat,
                model,
                p.width,
                p.resolution,
                th,
                int(p.groups) if model == "shufflenet_v1" else None,
            )
            if hit is None:
                continue
            records.append(
                {
                    "family": p.family,
                    "width": p.width,
                    "resolution": p.resolution,
                    "top1": p.top1,
                    "madds": p.madds,
                    "threads": int(th),
                    "median_ms": hit.median_ms,
                    "q25_ms": hit.q25_ms,
                    "q75_ms": hit.q75_ms,
                }
            )
    out = pd.DataFrame.from_records(records, columns=ACCURACY_LATENCY_COLUMNS)
    out["pareto"] = False  # also when nothing was measured (or every timing was excluded)
    for _, group in out.groupby(["family", "threads"]):
        out.loc[group.index, "pareto"] = pareto_mask(group.median_ms, group.top1)
    measured = lat[lat.median_ms.notna()] if "median_ms" in lat else lat
    out.attrs["left_out"] = int((~measured["usable"]).sum()) if "usable" in measured else 0
    out.attrs["measured"] = len(measured)
    return out


def left_out_text(points: pd.DataFrame) -> str:
    """What :func:`accuracy_latency_points` had to leave out ('' when nothing): on a busy
    machine every timing may be contaminated, and the figure and finding must say so."""
    left, measured = points.attrs.get("left_out", 0), points.attrs.get("measured", 0)
    if not left:
        return ""
    what = f"all {left} timing(s)" if left == measured else f"{left} of {measured} timing(s)"
    return (
        f"{what} left out, taken while other processes used more than {MAX_FOREIGN} cores "
        "(a busy machine)"
    )


def pareto_summary(points: pd.DataFrame) -> str:
    """Per thread count: how many MobileNetV1 points some MobileNetV2 point matches or beats in
    both latency and accuracy, and how many points of each family are on its front."""
    if points.empty:
        left = left_out_text(points)
        return (
            f"Accuracy vs latency: no usable timing, {left}; nothing to compare."
            if left
            else "Accuracy vs latency: nothing measured."
        )
    short = {"MobileNetV1": "V1", "MobileNetV2": "V2", "ShuffleNet": "ShuffleNet"}
    parts = []
    for th, group in points.groupby("threads"):
        v1 = group[group.family == "MobileNetV1"]
        v2 = group[group.family == "MobileNetV2"]
        beaten = sum(
            int(((v2.median_ms <= r.median_ms) & (v2.top1 >= r.top1)).any())
            for r in v1.itertuples()
        )
        front = ", ".join(
            f"{short.get(f, f)} {int(g.pareto.sum())}/{len(g)}" for f, g in group.groupby("family")
        )
        parts.append(
            f"{th} thread(s): {beaten} of {len(v1)} V1 points have a V2 point at "
            f"least as fast and accurate; on their family's front: {front}"
        )
    return "; ".join(parts) + "."
