"""The MobileNetV1-vs-V2 notebook's logic (06_v1_vs_v2): its parameter spec and plan, Table 4 with
CPU latency measured here, the V2/V1 latency ratio and what explains it, accuracy against measured
latency with each family's Pareto front, and the trained CIFAR-10 comparison at matched
multiply-adds (configurations for the study runner, results read through the trainer's cache).
Plots live in :mod:`mnv2lab.v1_vs_v2_plots`; Section 5 in :mod:`mnv2lab.section5`.

The CIFAR-10 runs are defined once, by the study (:func:`mnv2lab.study.define_study`'s
``v1_vs_v2`` runs: its recipe, its seeds, MobileNetV1 widths matched to MobileNetV2's
multiply-adds) and loaded by :func:`mnv2lab.study.collect`; this module only tabulates them, so the notebook and ``python -m mnv2lab.study run --only v1_vs_v2``
always agree on what was trained.

Command line (for filling the caches when the machine is quiet):

    python -m mnv2lab.v1_vs_v2 measure        # latency + memory caches with the defaults
    python -m mnv2lab.v1_vs_v2 list           # the CIFAR-10 runs, one TrainConfig JSON a line
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import published
from .costs import model_costs
from .findings import Finding, count_verdict
from .latency import LatencyConfig
from .memory_probe import MemoryConfig
from .notebook import COMMON
from .params import Param, ParameterError
from .paths import results_dir
from .stats import mean_ci, paired_difference
from .study import (V1_MATCHED_WIDTHS, StudyPlan, StudyResults, StudyRun, define_study, plan_of,
                    result_file)

SPEC_06: dict[str, Param] = {
    **COMMON,
    "remeasure": Param(bool, "measure latency and memory again even where the cache is current"),
    "measure_missing": Param(bool, "measure what the cache lacks or has outdated (False: show "
                                   "cached numbers only)"),
    "threads": Param(list, "CPU threads for the latency measurements", item=int, min=1, max=256,
                     min_len=1),
    "min_run_time": Param(float, "seconds of timed calls per latency configuration", min=0.01,
                          max=120.0),
    "memory_resolutions": Param(list, "input resolutions for peak memory vs slices (Section 5)",
                                item=int, min=32, max=2048, min_len=1),
    "slice_resolutions": Param(list, "input resolutions for latency vs slices (Section 5)",
                               item=int, min=32, max=2048, min_len=1),
    "slices": Param(list, "numbers of slices t of the expanded tensors (Section 5); must include 1",
                    item=int, min=1, max=4096, min_len=2),
    "train_missing": Param(bool, "train the missing CIFAR-10 runs now (hours on a CPU)"),
    "train_epochs": Param(int, "epochs of every CIFAR-10 run (part of each run's cache key); "
                               "0 = the study runner's (mnv2lab.study.EPOCHS)", min=0, max=1000),
}

# The notebook's figures (names in figures/), in the order it promises them.
FIGURES = {"table4": "v1v2_table4_latency", "figure5": "v1v2_fig5_madds",
           "accuracy_latency": "v1v2_accuracy_latency", "section5": "v1v2_section5_slices",
           "trained": "v1v2_trained_cifar10"}


# V2/V1 latency ratios within this of the paper's 75/113 count as agreeing.
RATIO_TOLERANCE = 0.1

# Table 4's buildable networks: network -> (model name, width, ShuffleNet groups).
TABLE4_MODELS: dict[str, tuple[str, float, int | None]] = {
    "MobileNetV1": ("mobilenet_v1", 1.0, None),
    "ShuffleNet (1.5)": ("shufflenet_v1", 1.5, 3),
    "ShuffleNet (x2)": ("shufflenet_v1", 2.0, 3),
    "MobileNetV2": ("mobilenet_v2", 1.0, None),
    "MobileNetV2 (1.4)": ("mobilenet_v2", 1.4, None),
}
FAMILIES = {"mobilenet_v2": "MobileNetV2", "mobilenet_v1": "MobileNetV1",
            "shufflenet_v1": "ShuffleNet"}



def check_params(params: dict[str, Any]) -> None:
    """Checks across parameters (the spec checks each alone)."""
    if 1 not in params["slices"]:
        raise ParameterError(f"parameter 'slices': got {params['slices']!r}; allowed: a list "
                             "that includes 1 (the unsliced reference)")
    if params["smoke"] and params["train_missing"]:
        raise ParameterError("parameter 'train_missing': got True with smoke=True; allowed: "
                             "False in smoke mode (training takes hours)")


# ------------------------------------------------------------------ what to measure

SERIES = "figure5"     # every network of Table 4 and Figure 5, timed interleaved per thread count


def latency_config(model: str, width: float, resolution: int, threads: int,
                   groups: int | None = None, *, min_run_time: float = 2.0,
                   warmup: int = 5) -> LatencyConfig:
    """A practitioner-path latency configuration with normalized builder arguments, in the one
    series (:data:`SERIES`) that holds Table 4's and Figure 5's networks, so that a network both
    ask for is one cache entry and all of them are timed interleaved."""
    kwargs: dict[str, Any] = {"width_mult": float(width)}
    if groups is not None:
        kwargs["groups"] = int(groups)
    return LatencyConfig(model, kwargs, int(resolution), int(threads), "practitioner",
                         min_run_time=float(min_run_time), warmup=warmup,
                         series=SERIES).validate()


def table4_configs(threads: Sequence[int], min_run_time: float, resolution: int = 224,
                   warmup: int = 5) -> list[LatencyConfig]:
    return [latency_config(m, w, resolution, th, g, min_run_time=min_run_time, warmup=warmup)
            for th in threads for m, w, g in TABLE4_MODELS.values()]


def figure5_networks(smoke: bool = False) -> list[tuple[str, float, int, int | None]]:
    """(model, width, resolution, groups) of every point of Figure 5 we can build: 21
    MobileNetV2, 7 MobileNetV1 and 5 ShuffleNet configurations (a handful in smoke mode). Each
    ShuffleNet is built with the groups of the network whose top-1 is quoted (g = 8, 4, 8, 3, 3 for
    0.25x to 2x: :data:`mnv2lab.published.SHUFFLENET_TOP1_GROUPS`)."""
    nets = ([("mobilenet_v2", w, r, None) for (w, r) in published.V2_TOP1]
            + [("mobilenet_v1", w, r, None) for (w, r) in published.V1_TOP1]
            + [("shufflenet_v1", w, 224, published.SHUFFLENET_TOP1_GROUPS[w])
               for w in published.SHUFFLENET_TOP1])
    if smoke:
        keep = {("mobilenet_v2", 0.35, 96), ("mobilenet_v2", 0.5, 128),
                ("mobilenet_v1", 0.25, 224), ("mobilenet_v1", 0.5, 224),
                ("shufflenet_v1", 0.25, 224), ("shufflenet_v1", 0.5, 224)}
        nets = [n for n in nets if n[:3] in keep]
    return nets


def figure5_configs(threads: Sequence[int], min_run_time: float, smoke: bool = False,
                    warmup: int = 5) -> list[LatencyConfig]:
    return [latency_config(m, w, r, th, g, min_run_time=min_run_time, warmup=warmup)
            for th in threads for m, w, r, g in figure5_networks(smoke)]


@dataclass
class Plan:
    """Everything the notebook will measure or read, and where the caches are."""

    smoke: bool
    latency_root: Path | None          # None: results/latency
    memory_root: Path | None           # None: results/memory_efficient
    tables_dir: Path
    table4: list[LatencyConfig]        # Table 4's networks: a subset of ``latency``
    latency: list[LatencyConfig]       # one interleaved series per thread count
    slices_latency: list[LatencyConfig]
    slices_memory: list[MemoryConfig]
    trained: StudyPlan | None = None   # the CIFAR-10 runs (read, or trained when asked)
    remeasure: bool = False
    allow_measure: bool = True
    threads: list[int] = field(default_factory=list)

    @property
    def table4_resolution(self) -> int:
        """224, or the tiny size smoke mode measures Table 4's networks at."""
        return self.table4[0].resolution

    def describe(self) -> str:
        where = "a temporary folder (smoke)" if self.smoke else "results/"
        n_lat = len({c.key() for c in self.latency + self.slices_latency})
        return (f"{n_lat} latency and {len(self.slices_memory)} memory configurations, cached in "
                f"{where}; {len(self.trained.runs)} CIFAR-10 runs read from the trainer's cache")


def make_plan(params: dict[str, Any]) -> Plan:
    """The notebook's plan from its validated parameters. Smoke mode measures a few tiny
    configurations (32x32 Table 4, six Figure 5 points, 64x64 Section 5) into a temporary cache."""
    from . import section5

    check_params(params)
    smoke = params["smoke"]
    if smoke:
        tmp = Path(tempfile.mkdtemp(prefix="mnv2lab-06-smoke-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        threads, run_time, warmup = params["threads"][:1], 0.02, 1
        return Plan(
            smoke=True, latency_root=tmp / "latency", memory_root=tmp / "memory",
            tables_dir=tmp / "tables",
            table4=table4_configs(threads, run_time, resolution=32, warmup=warmup),
            latency=list(dict.fromkeys(
                figure5_configs(threads, run_time, smoke=True, warmup=warmup)
                + table4_configs(threads, run_time, resolution=32, warmup=warmup))),
            slices_latency=[_smoke(c) for c in section5.latency_configs(
                [64], [1, 4], threads, min_run_time=run_time)],
            slices_memory=section5.memory_configs([128], [1, 4], repeats=1, plain=False),
            trained=plan_of(trained_comparison_runs(params["train_epochs"]), tmp / "trained",
                            smoke=True, only="v1_vs_v2"),
            remeasure=False, allow_measure=True, threads=threads)
    threads, run_time = params["threads"], params["min_run_time"]
    return Plan(
        smoke=False, latency_root=None, memory_root=None,
        tables_dir=results_dir() / "tables",
        table4=table4_configs(threads, run_time),
        latency=list(dict.fromkeys(figure5_configs(threads, run_time)
                                   + table4_configs(threads, run_time))),
        slices_latency=section5.latency_configs(params["slice_resolutions"], params["slices"],
                                                threads, min_run_time=run_time),
        slices_memory=section5.memory_configs(params["memory_resolutions"], params["slices"]),
        trained=plan_of(trained_comparison_runs(params["train_epochs"]),
                        train_missing=params["train_missing"], only="v1_vs_v2"),
        remeasure=params["remeasure"], allow_measure=params["measure_missing"] or
        params["remeasure"], threads=list(threads))


def _smoke(config: LatencyConfig) -> LatencyConfig:
    from dataclasses import replace
    return replace(config, warmup=1)


# ------------------------------------------------------------------ Table 4 and the ratio

def table4_latency(latency: pd.DataFrame, resolution: int = 224) -> pd.DataFrame:
    """Table 4: published top-1, our parameters and multiply-adds (:func:`mnv2lab.cost_report.
    table4`), the paper's Pixel 1 latency and ours (median and IQR per thread count)."""
    from .cost_report import table4

    costs = table4().set_index("network")
    lat = latency[latency.path == "practitioner"]
    records = []
    for row in published.TABLE4:
        net = row["network"]
        rec = {"network": net, "top-1 (%, published)": row["top1"],
               "params (M)": costs.loc[net, "ours params (M)"],
               "MAdds (M)": costs.loc[net, "ours MAdds (M)"],
               "CPU Pixel 1 (ms, published)": published.TABLE4_CPU_MS.get(net, np.nan)}
        machine = torch_version = None
        if net in TABLE4_MODELS:
            model, width, groups = TABLE4_MODELS[net]
            for th in sorted(lat.threads.unique()):
                hit = _select(lat, model, width, resolution, th, groups)
                rec[f"CPU here, {th} thr (ms)"] = hit.median_ms if hit is not None else np.nan
                rec[f"IQR, {th} thr (ms)"] = hit.iqr_ms if hit is not None else np.nan
                if hit is not None:
                    machine = f"{hit.cpu_model} ({int(hit.cpu_count)} cores)"
                    torch_version = hit.torch
        rec["measured on"], rec["torch"] = machine, torch_version
        records.append(rec)
    return pd.DataFrame.from_records(records)


def write_table(table: pd.DataFrame, name: str, folder: Path, conditions: str) -> Path:
    """Store a result table as JSON (records, the measuring conditions, the package version)
    atomically in ``folder``: the notebook's tables as files. The git commit is left out on
    purpose: the table is derived from cached measurements (each with its own provenance), and a
    commit stamp would rewrite the file, and re-run every notebook, on every commit."""
    from . import __version__
    from .atomic import write_json

    path = Path(folder) / f"{name}.json"
    records = json.loads(table.to_json(orient="records"))
    write_json(path, {"table": name, "conditions": conditions, "records": records,
                      "written_by": {"mnv2lab_version": __version__}})
    return path


def _select(table: pd.DataFrame, model: str, width: float, resolution: int, threads: int,
            groups: int | None = None):
    """The row of one measured configuration, or None (absent, or left out as contaminated:
    see :func:`mnv2lab.latency.usable`)."""
    if "usable" in table:
        table = table[table["usable"]]
    mask = ((table.model == model) & np.isclose(table.width.astype(float), width)
            & (table.resolution == resolution) & (table.threads == threads))
    if groups is not None:
        mask &= table.groups == groups
    hits = table[mask]
    return None if hits.empty or hits.median_ms.isna().all() else hits.iloc[0]


def latency_ratio(latency: pd.DataFrame, resolution: int = 224) -> pd.DataFrame:
    """Per thread count: V1 and V2 1.0 medians, V2/V1, the paper's 75/113 and the MAdds ratio."""
    madds_ratio = (model_costs("mobilenet_v2", resolution)["madds"]
                   / model_costs("mobilenet_v1", resolution)["madds"])
    records = []
    for th in sorted(latency.threads.unique()):
        v1 = _select(latency, "mobilenet_v1", 1.0, resolution, th)
        v2 = _select(latency, "mobilenet_v2", 1.0, resolution, th)
        if v1 is None or v2 is None:
            continue
        records.append({"threads": int(th), "V1 (ms)": v1.median_ms, "V2 (ms)": v2.median_ms,
                        "V2/V1 here": v2.median_ms / v1.median_ms,
                        "V2/V1 paper (75/113 ms)": published.TABLE4_V2_V1_RATIO,
                        "V2/V1 MAdds": madds_ratio})
    return pd.DataFrame.from_records(records)


def throughput(latency: pd.DataFrame, breakdown: pd.DataFrame | None = None,
               resolution: int = 224) -> pd.DataFrame:
    """Achieved multiply-adds per second of each Table 4 network, and (from ``breakdown``) where
    its time and its multiply-adds go."""
    records = []
    for net, (model, width, groups) in TABLE4_MODELS.items():
        kw = {"width_mult": width, **({"groups": groups} if groups else {})}
        madds = model_costs(model, resolution, **kw)["madds"]
        for th in sorted(latency.threads.unique()):
            hit = _select(latency, model, width, resolution, th, groups)
            if hit is None:
                continue
            records.append({"network": net, "threads": int(th), "MAdds (M)": madds / 1e6,
                            "median (ms)": hit.median_ms,
                            "GMAdds/s": madds / (hit.median_ms * 1e-3) / 1e9})
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
        lines.append(f"{int(r['threads'])} thread(s): V2 {r['V2 (ms)']:.1f} ms / V1 "
                     f"{r['V1 (ms)']:.1f} ms = {r['V2/V1 here']:.2f} (paper: 75/113 = "
                     f"{published.TABLE4_V2_V1_RATIO:.2f}; MAdds ratio {r['V2/V1 MAdds']:.2f})")
    text = "; ".join(lines) + ". "
    t = through.set_index(["network", "threads"])
    th = int(ratio.threads.iloc[0])
    if ("MobileNetV1", th) in t.index and ("MobileNetV2", th) in t.index:
        v1, v2 = t.loc[("MobileNetV1", th)], t.loc[("MobileNetV2", th)]
        text += (f"At {th} thread(s) V1 runs at {v1['GMAdds/s']:.1f} GMAdds/s and V2 at "
                 f"{v2['GMAdds/s']:.1f}: V2 does {_ratio_word(v2['GMAdds/s'] / v1['GMAdds/s'])} "
                 "useful work per second. ")
        others = [int(x) for x in ratio.threads.iloc[1:]]
        for th2 in others:
            if ("MobileNetV1", th2) in t.index and ("MobileNetV2", th2) in t.index:
                s1 = v1["median (ms)"] / t.loc[("MobileNetV1", th2)]["median (ms)"]
                s2 = v2["median (ms)"] / t.loc[("MobileNetV2", th2)]["median (ms)"]
                text += (f"From {th} to {th2} threads V1 gets {s1:.2f}x faster, V2 only "
                         f"{s2:.2f}x: at batch 1, V2's many small layers leave a second thread "
                         "little to share. ")
        if "depthwise time share" in t.columns and not pd.isna(v2.get("depthwise time share")):
            text += (f"Depthwise convs are {v2['depthwise MAdds share']:.0%} of V2's MAdds but "
                     f"{v2['depthwise time share']:.0%} of its time (V1: "
                     f"{v1['depthwise MAdds share']:.0%} / {v1['depthwise time share']:.0%}); "
                     f"element-wise ops and overhead take {v2['other time share']:.0%} of V2's "
                     f"time (V1: {v1['other time share']:.0%}). ")
    n_conv = {m: _count_convs(m) for m in ("mobilenet_v1", "mobilenet_v2")}
    return text + ("The paper timed TF-Lite on one big core of a Pixel 1 phone; here PyTorch "
                   "eager with oneDNN runs on a wide-SIMD x86 server core, where dense 1x1 "
                   "convolutions (most of V1) run near the matrix-multiply peak while V2's "
                   "depthwise convs, ReLU6 and residual adds are limited by memory traffic and "
                   f"per-operator overhead (V2 has {n_conv['mobilenet_v2']} convolutions to V1's "
                   f"{n_conv['mobilenet_v1']}): the ratio is a property of the platform as much "
                   "as of the network.")


def _count_convs(model: str) -> int:
    import torch

    from .models import build_model

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
    import torch

    from .costs import layer_costs
    from .models import build_model

    with torch.device("meta"):
        net = build_model(model, **kwargs)
    totals: dict[str, float] = {}
    for c in layer_costs(net, resolution):
        kind = layer_kind(c.kind, c.kernel, c.groups, c.in_shape[0])
        totals[kind] = totals.get(kind, 0) + c.madds
    s = sum(totals.values())
    return {k: v / s for k, v in totals.items()}


def layer_kind(kind: str, kernel, groups: int, in_channels: int) -> str:
    """"depthwise", "1x1", "full conv" or "linear"."""
    if kind == "linear":
        return "linear"
    if groups == in_channels and groups > 1:
        return "depthwise"
    if tuple(kernel) == (1, 1):
        return "1x1"
    return "full conv"


BREAKDOWN_NETWORKS = ("MobileNetV1", "MobileNetV2")


def breakdown_configs(plan: "Plan") -> list[tuple[str, LatencyConfig]]:
    """(network, configuration) of the Table 4 networks whose time is broken down."""
    out = []
    for cfg in plan.table4:
        for net in BREAKDOWN_NETWORKS:
            model, width, _ = TABLE4_MODELS[net]
            if cfg.model == model and cfg.kwargs.get("width_mult") == width:
                out.append((net, cfg))
    return out


def measure_breakdowns(plan: "Plan") -> pd.DataFrame:
    """Where the time of V1 and V2 goes (:func:`mnv2lab.latency.breakdown_or_load`, cached), at
    every thread count of the plan, with the MAdds shares."""
    from .latency import breakdown_or_load

    found: dict[str, dict] = {}
    for net, cfg in breakdown_configs(plan):
        record = breakdown_or_load(cfg, plan.latency_root, remeasure=plan.remeasure,
                                   allow_measure=plan.allow_measure)
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
            records.append({"network": net, "threads": th,
                            "depthwise time share": b["shares"].get("depthwise", 0.0),
                            "1x1 time share": b["shares"].get("1x1", 0.0),
                            "other time share": b["shares"].get("other", 0.0),
                            "depthwise MAdds share": shares.get("depthwise", 0.0),
                            "1x1 MAdds share": shares.get("1x1", 0.0)})
    return pd.DataFrame.from_records(records)


# ------------------------------------------------------------------ accuracy vs latency

def pareto_mask(cost: Sequence[float], value: Sequence[float]) -> np.ndarray:
    """True for points no other point beats: nothing is at most as costly and at least as good
    with one of the two strictly better."""
    c, v = np.asarray(cost, float), np.asarray(value, float)
    keep = np.ones(len(c), dtype=bool)
    for i in range(len(c)):
        dominated = (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]))
        keep[i] = not dominated.any()
    return keep


def figure5_points(plan: "Plan") -> pd.DataFrame:
    """Figure 5's points (:func:`mnv2lab.cost_report.figure5_points`), only the measured ones in
    smoke mode."""
    from .cost_report import figure5_points as points

    if not plan.smoke:
        return points()
    nets = figure5_networks(smoke=True)
    return points(sorted({w for _, w, _, _ in nets}), sorted({r for _, _, r, _ in nets}))


def accuracy_latency_points(latency: pd.DataFrame, points: pd.DataFrame | None = None
                            ) -> pd.DataFrame:
    """Figure 5's points (:func:`mnv2lab.cost_report.figure5_points`: published top-1, our
    MAdds) joined with the latency measured here, one row per (point, threads), with
    ``pareto`` marking each family's front at each thread count."""
    from .cost_report import figure5_points

    points = figure5_points() if points is None else points
    lat = latency[latency.path == "practitioner"]
    model_of = {v: k for k, v in FAMILIES.items()}
    records = []
    for p in points.itertuples():
        model = model_of.get(p.family)
        if model is None:
            continue
        for th in sorted(lat.threads.unique()):
            hit = _select(lat, model, p.width, p.resolution, th,
                          int(p.groups) if model == "shufflenet_v1" else None)
            if hit is None:
                continue
            records.append({"family": p.family, "width": p.width, "resolution": p.resolution,
                            "top1": p.top1, "madds": p.madds, "threads": int(th),
                            "median_ms": hit.median_ms, "q25_ms": hit.q25_ms,
                            "q75_ms": hit.q75_ms})
    out = pd.DataFrame.from_records(records)
    if out.empty:
        return out
    out["pareto"] = False
    for _, group in out.groupby(["family", "threads"]):
        out.loc[group.index, "pareto"] = pareto_mask(group.median_ms, group.top1)
    return out


def pareto_summary(points: pd.DataFrame) -> str:
    """Per thread count: how many MobileNetV1 points some MobileNetV2 point matches or beats in
    both latency and accuracy, and how many points of each family are on its front."""
    if points.empty:
        return "Accuracy vs latency: nothing measured."
    short = {"MobileNetV1": "V1", "MobileNetV2": "V2", "ShuffleNet": "ShuffleNet"}
    parts = []
    for th, group in points.groupby("threads"):
        v1 = group[group.family == "MobileNetV1"]
        v2 = group[group.family == "MobileNetV2"]
        beaten = sum(int(((v2.median_ms <= r.median_ms) & (v2.top1 >= r.top1)).any())
                     for r in v1.itertuples())
        front = ", ".join(f"{short.get(f, f)} {int(g.pareto.sum())}/{len(g)}"
                          for f, g in group.groupby("family"))
        parts.append(f"{th} thread(s): {beaten} of {len(v1)} V1 points have a V2 point at "
                     f"least as fast and accurate; on their family's front: {front}")
    return "; ".join(parts) + "."


# ------------------------------------------------------------------ the trained comparison

def trained_comparison_runs(epochs: int | None = None) -> list[StudyRun]:
    """The CIFAR-10 runs of the trained comparison: MobileNetV2 and MobileNetV1 at matched
    multiply-adds (32x32, ``small_input``), 3 seeds each, as the study runner defines and trains
    them (the study's ``v1_vs_v2`` runs; ``epochs`` None or 0: the study's)."""
    return [r for r in define_study(**({"epochs": int(epochs)} if epochs else {}))
            if "v1_vs_v2" in r.uses]


def matched_pairs() -> dict[float, float]:
    """{MobileNetV2 width: MobileNetV1 width with about the same multiply-adds at 32x32}."""
    return dict(V1_MATCHED_WIDTHS)


def trained_results(collected: StudyResults) -> pd.DataFrame:
    """One row per run of the comparison (:func:`mnv2lab.study.collect` of ``plan.trained``):
    model, width, MAdds (32x32), seed, test accuracy (NaN when missing), how it was got
    (:data:`mnv2lab.study.STATUSES`) and its result file."""
    records = []
    for run in collected.plan.runs:
        cfg, result = run.config, collected.results.get(run.name)
        kw = {k: v for k, v in cfg.model_kwargs.items() if k != "dropout"}
        costs = model_costs(cfg.model, 32, num_classes=10, **kw)
        records.append({"family": FAMILIES[cfg.model], "model": cfg.model,
                        "width": kw["width_mult"], "madds": costs["madds"],
                        "params": costs["params"], "seed": cfg.seed, "epochs": cfg.epochs,
                        "test_acc": result.final["test_acc"] if result is not None else np.nan,
                        "status": collected.status.get(run.name, "missing"),
                        "path": str(result_file(run, collected.plan.results))})
    return pd.DataFrame.from_records(records)


def trained_summary(trained: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per model: n, mean test accuracy and 95% t-interval; per matched pair: the paired
    difference V2 - V1 over the seeds both have, with its 95% interval)."""
    done = trained.dropna(subset=["test_acc"])
    per_model = []
    for (fam, w), g in done.groupby(["family", "width"]):
        mean, lo, hi = mean_ci(g.test_acc.to_numpy())
        per_model.append({"family": fam, "width": w, "madds": g.madds.iloc[0],
                          "params": g.params.iloc[0], "n": len(g),
                          "mean_acc": mean, "ci_low": lo, "ci_high": hi})
    pairs = []
    v1 = done[done.model == "mobilenet_v1"]
    v2 = done[done.model == "mobilenet_v2"]
    partners = matched_pairs()
    for w2, g2 in v2.groupby("width"):
        w1 = partners.get(float(w2))
        g1 = v1[np.isclose(v1.width, w1)] if w1 is not None else v1.iloc[:0]
        both = sorted(set(g1.seed) & set(g2.seed))
        if not both:
            continue
        a = g2.set_index("seed").loc[both, "test_acc"].to_numpy()
        b = g1.set_index("seed").loc[both, "test_acc"].to_numpy()
        d = paired_difference(a, b)
        pairs.append({"V2 width": w2, "V1 width": w1, "V2 MAdds (M)": g2.madds.iloc[0] / 1e6,
                      "V1 MAdds (M)": g1.madds.iloc[0] / 1e6, "seeds": len(both),
                      "V2 - V1 (points)": 100 * d.mean, "ci_low": 100 * d.low,
                      "ci_high": 100 * d.high, "excludes_zero": d.excludes_zero})
    return pd.DataFrame.from_records(per_model), pd.DataFrame.from_records(pairs)


# ------------------------------------------------------------------ findings

def findings(ratio: pd.DataFrame, points: pd.DataFrame, memory: pd.DataFrame,
             latency_slices: pd.DataFrame, pairs: pd.DataFrame, trained: pd.DataFrame
             ) -> list[Finding]:
    """The notebook's findings for the README's reproduction table, each with its figure."""
    out = []
    if not ratio.empty:
        # The paper timed one large core: the single-thread ratio decides; other thread
        # counts can only make it "partly".
        r = ratio.set_index("threads")["V2/V1 here"]
        close = {t: abs(v - published.TABLE4_V2_V1_RATIO) <= RATIO_TOLERANCE for t, v in r.items()}
        verdict = ("reproduced" if all(close.values()) else
                   "partly" if close.get(1, False) else "not reproduced")
        out.append(Finding("Table 4 (CPU latency)", verdict,
                           "V2/V1 latency " + ", ".join(f"{v:.2f} at {t} thr" for t, v in r.items())
                           + f" on this CPU vs 75/113 = {published.TABLE4_V2_V1_RATIO:.2f} on a "
                           "Pixel 1", figures=(FIGURES["table4"],)))
    if not points.empty:
        out.append(Finding("Figure 5 vs latency", "beyond the paper", pareto_summary(points)[:300],
                           figures=(FIGURES["accuracy_latency"],)))
    item = section5_finding(memory, latency_slices)
    if item is not None:
        out.append(item)
    if not pairs.empty:
        out.append(Finding("Trained V1 vs V2 (CIFAR-10)", "beyond the paper", trained_text(pairs),
                           figures=(FIGURES["trained"],)))
    return out


def paired_text(p: pd.Series) -> str:
    """One row of :func:`trained_summary`'s pairs table in words: the paired difference with its
    95% interval, or a plain "no interval yet" while fewer than two seeds are paired."""
    n, diff = int(p.seeds), p["V2 - V1 (points)"]
    if n < 2 or not (np.isfinite(p.ci_low) and np.isfinite(p.ci_high)):
        return f"{diff:+.2f} points ({n} seed, no interval yet)"
    side = "excludes" if p.excludes_zero else "includes"
    return (f"{diff:+.2f} points (95% CI {p.ci_low:+.2f} to {p.ci_high:+.2f}, {n} paired seeds; "
            f"the interval {side} zero)")


def trained_text(pairs: pd.DataFrame) -> str:
    """Every matched pair's paired difference V2 - V1, for captions and the findings table."""
    if pairs.empty:
        return "results not produced yet."
    return "; ".join(f"V2 {p['V2 width']:g} ({p['V2 MAdds (M)']:.0f}M MAdds) minus V1 "
                     f"{p['V1 width']:g} ({p['V1 MAdds (M)']:.0f}M): {paired_text(p)}"
                     for _, p in pairs.iterrows())


MEMORY_CUT, MAX_SLOWDOWN = 0.5, 1.25      # "cuts memory a lot", "keeps most of the speed"


def section5_finding(memory: pd.DataFrame, latency_slices: pd.DataFrame,
                     low: int = 2, high: int = 5) -> Finding | None:
    """Section 5's finding. For each measured (resolution, threads): the t in [low, high] whose
    measured peak memory is at least 50% below the unsliced one while the time stays within
    1.25x of the unsliced one; all / some / no settings have one
    (:func:`mnv2lab.findings.count_verdict`)."""
    if memory.empty or latency_slices.empty:
        return None
    mem = memory[memory.path == "sliced"].dropna(subset=["measured_mb"])
    lat = latency_slices[latency_slices.path == "sliced"].dropna(subset=["median_ms"])
    if mem.empty or lat.empty or 1 not in set(mem.n_slices):
        return None
    cut = {}
    for res, g in mem.groupby("resolution"):
        m = g.set_index("n_slices").measured_mb
        cut.update({(res, int(t)): 1 - m[t] / m[1] for t in m.index if low <= t <= high})
    settings, good = [], 0
    for (res, th), g in lat.groupby(["resolution", "threads"]):
        slow = {int(t): v for t, v in zip(g.n_slices, g.slowdown) if low <= t <= high}
        ok = [t for t in sorted(slow) if (res, t) in cut and cut[(res, t)] >= MEMORY_CUT
              and slow[t] <= MAX_SLOWDOWN]
        if not slow:
            continue
        good += bool(ok)
        if ok:
            settings.append(f"{res}/{th}thr t={','.join(map(str, ok))}")
        else:
            t = min(slow)
            settings.append(f"{res}/{th}thr none (t={t}: {cut.get((res, t), float('nan')):.0%} "
                            f"less, {slow[t]:.2f}x)")
    if not settings:
        return None
    cuts = list(cut.values())
    return Finding("Section 5", count_verdict(good, len(settings)),
                   f"t={low}-{high} cut measured peak memory {min(cuts):.0%}-{max(cuts):.0%}; t "
                   f"with >=50% less memory at <=1.25x time: " + "; ".join(settings),
                   figures=(FIGURES["section5"],))


# ------------------------------------------------------------------ command line

def default_params() -> dict[str, Any]:
    """The notebook's default parameters (kept equal to its parameters cell by a test)."""
    return {"smoke": False, "out_dir": "figures", "remeasure": False, "measure_missing": True,
            "threads": [1, 2], "min_run_time": 2.0, "memory_resolutions": [224, 448, 896],
            "slice_resolutions": [224, 448], "slices": [1, 2, 3, 4, 5, 8, 16],
            "train_missing": False, "train_epochs": 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mnv2lab.v1_vs_v2", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("measure", "list"))
    ap.add_argument("--max-load", type=float, default=0.5,
                    help="start when the 1-minute load average is below this ...")
    ap.add_argument("--load-wait-minutes", type=float, default=30.0,
                    help="... or after waiting this long for it (the load is recorded anyway)")
    ap.add_argument("--max-foreign", type=float, default=0.15,
                    help="time a configuration only while other processes use at most this "
                         "many cores (measured before and during the timing)")
    ap.add_argument("--hours", type=float, default=3.0, help="give up waiting after this long")
    args = ap.parse_args(argv)
    if args.command == "list":
        for run in trained_comparison_runs():
            print(json.dumps(run.config.to_dict(), sort_keys=True))
        return 0
    import time

    from . import latency, section5

    plan = make_plan(default_params())
    print(section5.memory_table(plan.slices_memory)[["resolution", "path", "n_slices",
                                                     "measured_mb", "analytic_mb"]].to_string())
    deadline = time.monotonic() + args.hours * 3600
    load_deadline = time.monotonic() + args.load_wait_minutes * 60
    while ((latency.load_average() or [0.0])[0] >= args.max_load
           and time.monotonic() < min(deadline, load_deadline)):
        print(f"waiting for the 1-minute load average to fall below {args.max_load}: "
              f"{latency.load_average()}", flush=True)
        time.sleep(60)
    print(latency.measure_quietly((), breakdown_configs=[c for _, c in breakdown_configs(plan)],
                                  series=plan.latency + plan.slices_latency,
                                  max_foreign=args.max_foreign,
                                  max_seconds=max(60.0, deadline - time.monotonic()),
                                  log=lambda m: print(m, flush=True)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
