"""Notebook 05's side: its parameters and plan, the statistics of every run it needs as one
table, summaries over seeds, and the findings."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

import pandas as pd

from .. import study
from ..findings import Finding, count_verdict
from ..params import NoResults, Param, ParameterError
from ..published import FIG7_TEXT
from ..stats import mean_ci
from ..study import PAPER_VARIANT, SPEC_STUDY, StudyPlan, data_available
from ..study.budgets import budget_label
from ..train import result_path
from .runs import N_IMAGES, STAGES, WeightsMissing, cache_path, probe_images, run_patterns

SPEC: dict[str, Param] = {
    **SPEC_STUDY,
    "main_width": Param(float, "width of the model drawn as Figure 7", min=0.1, max=2.0),
    "widths": Param(
        list, "widths whose trained models are counted too", item=float, min=0.1, max=2.0, min_len=1
    ),
    "seeds": Param(list, "seeds of the study's runs", item=int, min=0, min_len=1),
    "n_images": Param(int, "test images whose pixels are counted", min=1, max=10_000),
    "train_missing": Param(bool, "train runs (or retrain for weights) that are missing"),
}


@dataclass
class ActivationPlan(StudyPlan):
    """The study's plan restricted to the paper's model (every width and seed), and how many test
    images are counted."""

    n_images: int = N_IMAGES


def make_plan(params: Mapping[str, Any]) -> ActivationPlan:
    """The runs (the paper's model at every width, every seed) after smoke reductions."""
    p = dict(params)
    widths = [float(w) for w in p["widths"]]
    if float(p["main_width"]) not in widths:
        raise ParameterError(
            f"parameters 'main_width' and 'widths': got {p['main_width']!r} and "
            f"{widths!r}; allowed: main_width among the widths"
        )
    base = study.make_plan({**p, "widths": widths}, "width_sweep")
    base.runs = [
        r
        for r in base.runs
        if r.variant == PAPER_VARIANT and (not base.smoke or r.width == base.main_width)
    ]  # smoke: 2 tiny runs
    if base.smoke:
        base.widths = [base.main_width]
    base.only = None
    n_images = min(int(p["n_images"]), 64) if p["smoke"] else int(p["n_images"])
    return ActivationPlan(
        **{f.name: getattr(base, f.name) for f in fields(StudyPlan)}, n_images=n_images
    )


def collect(plan: ActivationPlan, progress: bool | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Statistics of every run's model at init and trained, as one table (columns: seed, width,
    stage and the per-layer statistics), plus a list of messages about what is missing. Raises
    :class:`mnv2lab.params.NoResults` (before computing anything, if it can tell) when no
    trained model can be counted."""
    if not plan.train_missing and not any(
        result_path(r.config, plan.results).exists()
        or cache_path(plan.results, r.key, "trained", plan.n_images).exists()
        for r in plan.runs
    ):
        raise NoResults(
            f"no stored result of the {len(plan.runs)} runs of this plan (epochs="
            f"{plan.epochs}) in {plan.results}, and no trained statistics cached: "
            "nothing to analyse; train them with `python -m mnv2lab.study run` or "
            "rerun with `-p train_missing True`"
        )
    frames, missing = [], []
    images = None
    have_data = data_available(plan.dataset)
    for r in plan.runs:
        for stage in STAGES:
            path = cache_path(plan.results, r.key, stage, plan.n_images)
            try:
                if not path.exists() and images is None and have_data:
                    images = probe_images(plan.dataset, plan.n_images, r.config.dataset_kwargs)
                if not path.exists() and not have_data:
                    raise WeightsMissing(
                        f"the data set {plan.dataset!r} is not here to compute "
                        "activation statistics"
                    )
                t = run_patterns(
                    r.config,
                    stage,
                    plan.n_images,
                    plan.results,
                    train_missing=plan.train_missing,
                    images=images,
                    progress=progress,
                )
            except WeightsMissing as e:
                missing.append(f"{r.name} ({stage}): {e}")
                continue
            frames.append(t.assign(seed=r.seed, width=r.width, stage=stage, run=r.name))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    n_trained = 0 if table.empty else table[table.stage == "trained"].run.nunique()
    if not n_trained:
        raise NoResults(
            f"no trained model of the {len(plan.runs)} runs of this plan (epochs="
            f"{plan.epochs}, results in {plan.results}) could be counted; nothing to "
            "analyse. " + "; ".join(missing[:2]) + (" ..." if len(missing) > 2 else "")
        )
    print(
        f"activation statistics: {len(plan.runs)} runs, {n_trained} trained models counted"
        f" on {plan.n_images} test images"
    )
    if missing:
        print(
            f"{len(missing)} missing: "
            + "; ".join(missing[:4])
            + (" ..." if len(missing) > 4 else "")
            + "\nTrain the study with `.venv/bin/python -m mnv2lab.study run` (on this machine "
            "the final weights stay in .cache/runs/) or rerun with `-p train_missing True`."
        )
    return table, missing


# ---------------------------------------------------------------------------------------------
# Summaries and verdict


def pooled(table: pd.DataFrame, width: float, stage: str) -> pd.DataFrame:
    """Per layer, over seeds: the lowest min, the mean of the means with a 95% interval over
    seeds, the highest max, mean std, mean p5/p95, and (fractions) the same over the width."""
    t = table[(table.width == width) & (table.stage == stage)]
    rows = []
    for layer, g in t.groupby("layer"):
        m, lo, hi = mean_ci(g["mean"].to_numpy())
        rows.append(
            {
                "layer": layer,
                "channels": int(g.channels.iloc[0]),
                "threshold": int(g.threshold.iloc[0]),
                "seeds": len(g),
                "min": g["min"].min(),
                "p5": g.p5.mean(),
                "mean": m,
                "mean_low": lo,
                "mean_high": hi,
                "p95": g.p95.mean(),
                "max": g["max"].max(),
                "std": g["std"].mean(),
                "share_below": g.share_below.mean(),
                "seeds_min_below": int(g.min_below.sum()),
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        for c in ("min", "p5", "mean", "mean_low", "mean_high", "p95", "max", "std"):
            out[f"frac_{c}"] = out[c] / out.channels
    return out


def layers_below(table: pd.DataFrame) -> pd.DataFrame:
    """Per width, stage and seed: how many expansion layers have a pixel under the threshold."""
    if table.empty:
        return pd.DataFrame(columns=["width", "stage", "seed", "layers", "layers_below"])
    g = table.groupby(["width", "stage", "seed"])
    return g.agg(
        layers=("layer", "count"),
        layers_below=("min_below", "sum"),
        mean_share_below=("share_below", "mean"),
    ).reset_index()


def lowest_layers(table: pd.DataFrame, stage: str = "trained") -> pd.DataFrame:
    """Per width and seed: the expansion layer whose least-active pixel keeps the smallest
    fraction of its channels, with that minimum, the threshold and the share of pixels under it."""
    t = table[table.stage == stage].assign(frac_min=lambda d: d["min"] / d.channels)
    rows = t.sort_values("frac_min").groupby(["width", "seed"]).head(1)
    return (
        rows[["width", "seed", "layer", "min", "channels", "threshold", "frac_min", "share_below"]]
        .sort_values(["width", "seed"])
        .reset_index(drop=True)
    )


def figure_note(table: pd.DataFrame, plan: ActivationPlan) -> str:
    """The warning over Figure 7 when it is incomplete (smoke run, trained models missing)."""
    if plan.smoke:
        return "smoke run (tiny digits models): not a result"
    n_main = sum(1 for r in plan.runs if r.width == plan.main_width)
    done = (
        0
        if table.empty
        else table[(table.width == plan.main_width) & (table.stage == "trained")].seed.nunique()
    )
    if done < n_main:
        return (
            f"PROVISIONAL: {done} of {n_main} trained models at width {plan.main_width:g} "
            "counted so far"
        )
    return ""


def fig7_checks(
    frac_init: float, frac_trained: float, spread_grows_in: int, n_layers: int, below: float
) -> dict[str, bool]:
    """The paper's account of Figure 7 as four checks, one definition for every budget: the mean
    positive fraction near 1/2 at initialization (0.4 to 0.6); kept after training (within 0.1);
    the spread over pixels larger after training in at least 3/4 of the layers; and "a few"
    layers with a pixel under the threshold after training (mean over seeds, 1 to half of them)."""
    return {
        "init near half": 0.4 <= frac_init <= 0.6,
        "average kept": abs(frac_trained - frac_init) <= 0.1,
        "spread grows": spread_grows_in >= 0.75 * n_layers,
        "a few layers under": 1 <= below <= n_layers / 2,
    }


def fig7_finding(
    prefix: str,
    scope: str,
    *,
    frac_init: float,
    frac_trained: float,
    trained: str,
    grows: int,
    n_layers: int,
    spread_note: str,
    below_init: str,
    below_trained: str,
    below_mean: float,
    below_note: str = "",
) -> Finding:
    """Figure 7's finding from its statistics, for either budget: the verdict of
    :func:`fig7_checks` and the sentences that give the numbers behind each check. ``trained``
    names the trained stage ("trained", "after 30 epochs"); ``below_*`` are the layers with a
    pixel under 1/t as printed, ``below_mean`` their mean over seeds after training."""
    checks = fig7_checks(frac_init, frac_trained, grows, n_layers, below_mean)
    details = (
        f"{prefix}Figure 7 {scope}. Mean fraction of positive channels per pixel, averaged over "
        f"layers: {frac_init:.3f} at initialization, {frac_trained:.3f} {trained}. Spread (std "
        f"over pixels) grows in {grows} of {n_layers} layers{spread_note}. Layers with a pixel "
        f"under the invertibility threshold (1/t of the channels): {below_init} at "
        f"initialization, {below_trained} {trained}{below_note}. Paper: {FIG7_TEXT}. Checks: "
        + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in checks.items())
        + "."
    )
    short = (
        f"{prefix}mean positive fraction {frac_init:.2f} init -> {frac_trained:.2f} {trained}, "
        f"spread up in {grows}/{n_layers} layers, layers with a pixel under 1/t: "
        f"{below_init} init, {below_trained} {trained} (paper: ~0.5, same, grows, a few)"
    )
    return Finding("Figure 7", count_verdict(checks.values()), short[:300], details=details)


def verdict(table: pd.DataFrame, plan: ActivationPlan) -> Finding:
    """Figure 7 against the paper's account, from the numbers, as four checks (all / some / none
    hold: :func:`mnv2lab.findings.count_verdict`): init mean fraction near 1/2; trained mean
    fraction close to init; spread (std over pixels) larger after training in most layers; a few
    layers with pixels under the threshold after training. "inconclusive" while no trained model
    is counted."""
    w = plan.main_width
    init, trained = pooled(table, w, "init"), pooled(table, w, "trained")
    prefix = f"{budget_label(plan)}: " + ("smoke run, not a result: " if plan.smoke else "")
    if not trained.empty:  # compare the same seeds at both stages (paired)
        seeds = set(table[(table.width == w) & (table.stage == "trained")].seed)
        table = table[table.seed.isin(seeds)]
        init = pooled(table, w, "init")
    if init.empty or trained.empty:
        init_text = "nothing counted at initialization either."
        f0 = "n/a"
        if not init.empty:
            below0 = layers_below(table[(table.width == w) & (table.stage == "init")])
            where = init[init.seeds_min_below > 0].layer.tolist()
            f0 = f"{init.frac_mean.mean():.2f}"
            init_text = (
                f"at initialization ({int(init.seeds.min())} seeds, {plan.n_images} test "
                f"images) the mean fraction of positive channels per pixel, averaged over "
                f"the {len(init)} layers, is {init.frac_mean.mean():.3f} (per layer "
                f"{init.frac_mean.min():.3f} to {init.frac_mean.max():.3f}); the lowest "
                f"pixel count of a layer is {init.frac_min.min():.3f} of its channels; "
                f"layers with a pixel under 1/t: {_range(below0.layers_below)} per seed"
                + (f" (layer {', '.join(map(str, where))})" if where else "")
                + "."
            )
        return Finding(
            "Figure 7",
            "inconclusive",
            f"{prefix}provisional: trained models missing; at init the mean positive fraction "
            f"is {f0} (paper: about 0.5)",
            details=f"{prefix}PROVISIONAL: no trained model counted yet at width {w:g}; only "
            f"initialization can be compared with the paper: {init_text} "
            f"Paper: {FIG7_TEXT}.",
        )
    n_seeds = int(trained.seeds.min())
    if n_seeds < 3 and not plan.smoke:
        prefix += f"PROVISIONAL ({n_seeds} seed(s)): "
    f_init, f_trained = init.frac_mean.mean(), trained.frac_mean.mean()
    spread_ratio = trained["std"] / init["std"]
    grows = int((spread_ratio > 1).sum())
    below = layers_below(table[table.width == w])
    b_init = below[below.stage == "init"].layers_below
    b_tr = below[below.stage == "trained"].layers_below
    n_layers = len(trained)
    return fig7_finding(
        prefix,
        f"at width {w:g} ({n_seeds} seed(s), {plan.n_images} test images, {n_layers} expansion "
        "layers)",
        frac_init=f_init,
        frac_trained=f_trained,
        trained="trained",
        grows=grows,
        n_layers=n_layers,
        spread_note=f" (median ratio trained/init {spread_ratio.median():.2f})",
        below_init=_range(b_init),
        below_trained=_range(b_tr),
        below_mean=b_tr.mean(),
        below_note=" (per seed)",
    )


def findings(table: pd.DataFrame, plan: ActivationPlan) -> list[Finding]:
    """The notebook's findings: Figure 7 (:func:`verdict`) and, beyond the paper, how many
    expansion layers of the trained models have a pixel under the threshold, by width."""
    out = [verdict(table, plan)]
    below = layers_below(table)
    by_width = below[below.stage == "trained"].groupby("width").layers_below.mean()
    if len(by_width):
        out.append(
            Finding(
                "beyond the paper",
                "beyond the paper",
                "trained: layers (of 16) with a pixel under 1/t, mean over seeds, by "
                "width: " + ", ".join(f"{w:g}: {v:.1f}" for w, v in by_width.items()),
            )
        )
    return out


def _range(values: pd.Series) -> str:
    v = sorted(int(x) for x in values)
    if not v:
        return "n/a"
    return str(v[0]) if v[0] == v[-1] else f"{v[0]}-{v[-1]}"
