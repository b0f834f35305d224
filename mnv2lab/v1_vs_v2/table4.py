"""Table 4 with CPU latency measured here: the table, the V2/V1 latency ratio, achieved
multiply-adds per second, where V1's and V2's time goes, and the words that explain the ratio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import __version__, published
from ..atomic import write_json
from ..cost_report import table4
from ..costs import layer_costs, model_costs
from ..latency import LatencyConfig, breakdown_or_load, cpu_label
from ..models import build_model
from .plan import TABLE4_MODELS, Plan


def table4_latency(latency: pd.DataFrame, resolution: int = 224) -> pd.DataFrame:
    """Table 4: published top-1, our parameters and multiply-adds (:func:`mnv2lab.cost_report.
    table4`), the paper's Pixel 1 latency and ours (median and IQR per thread count)."""
    costs = table4().set_index("network")
    lat = latency[latency.path == "practitioner"]
    records = []
    for row in published.TABLE4:
        net = row["network"]
        rec = {
            "network": net,
            "top-1 (%, published)": row["top1"],
            "params (M)": costs.loc[net, "ours params, with BN (M)"],  # as the notebook states
            "MAdds (M)": costs.loc[net, "ours MAdds (M)"],
            "CPU Pixel 1 (ms, published)": published.TABLE4_CPU_MS.get(net, np.nan),
        }
        machine = torch_version = None
        if net in TABLE4_MODELS:
            model, width, groups = TABLE4_MODELS[net]
            for th in sorted(lat.threads.unique()):
                hit = select(lat, model, width, resolution, th, groups)
                rec[f"CPU here, {th} thr (ms)"] = hit.median_ms if hit is not None else np.nan
                rec[f"IQR, {th} thr (ms)"] = hit.iqr_ms if hit is not None else np.nan
                if hit is not None:
                    machine = cpu_label(pd.DataFrame([hit]))
                    torch_version = hit.torch
        rec["measured on"], rec["torch"] = machine, torch_version
        records.append(rec)
    return pd.DataFrame.from_records(records)


def write_table(table: pd.DataFrame, name: str, folder: Path, conditions: str) -> Path:
    """Store a result table as JSON (records, the measuring conditions, the package version)
    atomically in ``folder``: the notebook's tables as files. The git commit is left out on
    purpose: the table is derived from cached measurements (each with its own provenance), and a
    commit stamp would rewrite the file, and re-run every notebook, on every commit."""
    path = Path(folder) / f"{name}.json"
    records = json.loads(table.to_json(orient="records"))
    write_json(
        path,
        {
            "table": name,
            "conditions": conditions,
            "records": records,
            "written_by": {"mnv2lab_version": __version__},
        },
    )
    return path


def select(
    table: pd.DataFrame,
    model: str,
    width: float,
    resolution: int,
    threads: int,
    groups: int | None = None,
):
    """The row of one measured configuration, or None (absent, or left out as contaminated:
    see :func:`mnv2lab.latency.usable`)."""
    if "usable" in table:
        table = table[table["usable"]]
    mask = (
        (table.model == model)
        & np.isclose(table.width.astype(float), width)
        & (table.resolution == resolution)
        & (table.threads == threads)
    )
    if groups is not None:
        mask &= table.groups == groups
    hits = table[mask]
    return None if hits.empty or hits.median_ms.isna().all() else hits.iloc[0]


def latency_ratio(latency: pd.DataFrame, resolution: int = 224) -> pd.DataFrame:
    """Per thread count: V1 and V2 1.0 medians, V2/V1, the paper's 75/113, the MAdds ratio and
    the CPU the two were timed on."""
    madds_ratio = (
        model_costs("mobilenet_v2", resolution)["madds"]
        / model_costs("mobilenet_v1", resolution)["madds"]
    )
    records = []
    for th in sorted(latency.threads.unique()):
        v1 = select(latency, "mobilenet_v1", 1.0, resolution, th)
        v2 = select(latency, "mobilenet_v2", 1.0, resolution, th)
        if v1 is None or v2 is None:
            continue
        records.append(
            {
                "threads": int(th),
                "V1 (ms)": v1.median_ms,
                "V2 (ms)": v2.median_ms,
                "V2/V1 here": v2.median_ms / v1.median_ms,
                "V2/V1 paper (75/113 ms)": published.TABLE4_V2_V1_RATIO,
                "V2/V1 MAdds": madds_ratio,
                "measured on": cpu_label(pd.DataFrame([v1, v2])),
            }
        )
    return pd.DataFrame.from_records(records)


def throughput(
    latency: pd.DataFrame, breakdown: pd.DataFrame | None = None, resolution: int = 224
) -> pd.DataFrame:
    """Achieved multiply-adds per second of each Table 4 network, and (from ``breakdown``) where
    its time and its multiply-adds go."""
    records = []
    for net, (model, width, groups) in TABLE4_MODELS.items():
        kw = {"width_mult": width, **({"groups": groups} if groups else {})}
        madds = model_costs(model, resolution, **kw)["madds"]
        for th in sorted(latency.threads.unique()):
            hit = select(latency, model, width, resolution, th, groups)
            if hit is None:
                continue
            records.append(
                {
                    "network": net,
                    "threads": int(th),
                    "MAdds (M)": madds / 1e6,
                    "median (ms)": hit.median_ms,
                    "GMAdds/s": madds / (hit.median_ms * 1e-3) / 1e9,
                }
            )
    table = pd.DataFrame.from_records(records)
    if breakdown is not None and not breakdown.empty and not table.empty:
        table = table.merge(breakdown, on=["network", "threads"], how="left")
    return table


def ratio_explanation(ratio: pd.DataFrame, through: pd.DataFrame) -> str:
    """Why the V2/V1 latency ratio here differs from the paper's (or not), from the numbers."""
    if ratio.empty:
        return "V2/V1 latency ratio: not measured (no MobileNetV1 1.0 and V2 1.0 latency)."
    lines = []
    for _, r in ratio.iterrows():
        lines.append(
            f"{int(r['threads'])} thread(s): V2 {r['V2 (ms)']:.1f} ms / V1 "
            f"{r['V1 (ms)']:.1f} ms = {r['V2/V1 here']:.2f} (paper: 75/113 = "
            f"{published.TABLE4_V2_V1_RATIO:.2f}; MAdds ratio {r['V2/V1 MAdds']:.2f})"
        )
    text = "; ".join(lines) + ". "
    t = through.set_index(["network", "threads"])
    th = int(ratio.threads.iloc[0])
    if ("MobileNetV1", th) in t.index and ("MobileNetV2", th) in t.index:
        v1, v2 = t.loc[("MobileNetV1", th)], t.loc[("MobileNetV2", th)]
        text += (
            f"At {th} thread(s) V1 runs at {v1['GMAdds/s']:.1f} GMAdds/s and V2 at "
            f"{v2['GMAdds/s']:.1f}: V2 does {_ratio_word(v2['GMAdds/s'] / v1['GMAdds/s'])} "
            "useful work per second. "
        )
        others = [int(x) for x in ratio.threads.iloc[1:]]
        for th2 in others:
            if ("MobileNetV1", th2) in t.index and ("MobileNetV2", th2) in t.index:
                s1 = v1["median (ms)"] / t.loc[("MobileNetV1", th2)]["median (ms)"]
                s2 = v2["median (ms)"] / t.loc[("MobileNetV2", th2)]["median (ms)"]
                text += (
                    f"From {th} to {th2} threads V1 gets {s1:.2f}x faster, V2 only "
                    f"{s2:.2f}x: at batch 1, V2's many small layers leave a second thread "
                    "little to share. "
                )
        if "depthwise time share" in t.columns and not pd.isna(v2.get("depthwise time share")):
            text += (
                f"Depthwise convs are {v2['depthwise MAdds share']:.0%} of V2's MAdds but "
                f"{v2['depthwise time share']:.0%} of its time (V1: "
                f"{v1['depthwise MAdds share']:.0%} / {v1['depthwise time share']:.0%}); "
                f"element-wise ops and overhead take {v2['other time share']:.0%} of V2's "
                f"time (V1: {v1['other time share']:.0%}). "
            )
    n_conv = {m: count_convs(m) for m in ("mobilenet_v1", "mobilenet_v2")}
    return text + (
        "The paper timed TF-Lite on one big core of a Pixel 1 phone; here PyTorch "
        "eager with oneDNN runs on a wide-SIMD x86 server core, where dense 1x1 "
        "convolutions (most of V1) run near the matrix-multiply peak while V2's "
        "depthwise convs, ReLU6 and residual adds are limited by memory traffic and "
        f"per-operator overhead (V2 has {n_conv['mobilenet_v2']} convolutions to V1's "
        f"{n_conv['mobilenet_v1']}): the ratio is a property of the platform as much "
        "as of the network."
    )


def count_convs(model: str) -> int:
    with torch.device("meta"):
        return sum(isinstance(m, torch.nn.Conv2d) for m in build_model(model).modules())


def _ratio_word(r: float) -> str:
    if r < 0.95:
        return f"{1 / r:.1f}x less"
    if r > 1.05:
        return f"{r:.1f}x more"
    return "about as much"


def madds_by_kind(model: str, resolution: int = 224, **kwargs) -> dict[str, float]:
    """Share of multiply-adds in depthwise convs, 1x1 convs, other (full) convs and linear
    layers, from :func:`mnv2lab.costs.layer_costs`."""
    with torch.device("meta"):
        net = build_model(model, **kwargs)
    totals: dict[str, float] = {}
    for c in layer_costs(net, resolution):
        kind = layer_kind(c.kind, c.kernel, c.groups, c.in_shape[0])
        totals[kind] = totals.get(kind, 0) + c.madds
    s = sum(totals.values())
    return {k: v / s for k, v in totals.items()}


def layer_kind(kind: str, kernel, groups: int, in_channels: int) -> str:
    """ "depthwise", "1x1", "full conv" or "linear"."""
    if kind == "linear":
        return "linear"
    if groups == in_channels and groups > 1:
        return "depthwise"
    if tuple(kernel) == (1, 1):
        return "1x1"
    return "full conv"


BREAKDOWN_NETWORKS = ("MobileNetV1", "MobileNetV2")


def breakdown_configs(plan: Plan) -> list[tuple[str, LatencyConfig]]:
    """(network, configuration) of the Table 4 networks whose time is broken down."""
    out = []
    for cfg in plan.table4:
        for net in BREAKDOWN_NETWORKS:
            model, width, _ = TABLE4_MODELS[net]
            if cfg.model == model and cfg.kwargs.get("width_mult") == width:
                out.append((net, cfg))
    return out


def measure_breakdowns(plan: Plan) -> pd.DataFrame:
    """Where the time of V1 and V2 goes (:func:`mnv2lab.latency.breakdown_or_load`, cached), at
    every thread count of the plan, with the MAdds shares."""
    found: dict[str, dict] = {}
    for net, cfg in breakdown_configs(plan):
        record = breakdown_or_load(
            cfg, plan.latency_root, remeasure=plan.remeasure, allow_measure=plan.allow_measure
        )
        if record is not None:
            found.setdefault(net, {})[cfg.threads] = record["result"]
    return breakdown_table(found, plan.table4_resolution)


def breakdown_table(breakdowns: dict[str, dict], resolution: int = 224) -> pd.DataFrame:
    """Rows (network, threads) with the time shares of :func:`mnv2lab.latency.op_breakdown` and
    the MAdds shares of :func:`madds_by_kind`."""
    records = []
    for net, per_thread in breakdowns.items():
        model, width, groups = TABLE4_MODELS[net]
        kw = {"width_mult": width, **({"groups": groups} if groups else {})}
        shares = madds_by_kind(model, resolution, **kw)
        for th, b in per_thread.items():
            records.append(
                {
                    "network": net,
                    "threads": th,
                    "depthwise time share": b["shares"].get("depthwise", 0.0),
                    "1x1 time share": b["shares"].get("1x1", 0.0),
                    "other time share": b["shares"].get("other", 0.0),
                    "depthwise MAdds share": shares.get("depthwise", 0.0),
                    "1x1 MAdds share": shares.get("1x1", 0.0),
                }
            )
    return pd.DataFrame.from_records(records)
