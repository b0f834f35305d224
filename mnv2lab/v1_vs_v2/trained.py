"""The trained comparison on CIFAR-10: MobileNetV1 and V2 at matched multiply-adds, read (or
trained) through :func:`mnv2lab.study.collect`, summarized per model and per matched pair."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..costs import model_costs
from ..params import NoResults
from ..stats import mean_ci, paired_difference
from ..study import V1_MATCHED_WIDTHS, StudyPlan, StudyResults, StudyRun, define_study, result_file

FAMILIES = {
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v1": "MobileNetV1",
    "shufflenet_v1": "ShuffleNet",
}


def trained_comparison_runs(epochs: int | None = None) -> list[StudyRun]:
    """The CIFAR-10 runs of the trained comparison: MobileNetV2 and MobileNetV1 at matched
    multiply-adds (32x32, ``small_input``), 3 seeds each, as the study runner defines and trains
    them (the study's ``v1_vs_v2`` runs; ``epochs`` None or 0: the study's)."""
    return [
        r
        for r in define_study(**({"epochs": int(epochs)} if epochs else {}))
        if "v1_vs_v2" in r.uses
    ]


def require_some_result(trained: StudyPlan, train_epochs: int) -> None:
    """Raise :class:`mnv2lab.params.NoResults` before any measuring when not one CIFAR-10 run
    of the comparison has a stored result and none will be trained: it would rest on 0 runs."""
    if trained.train_missing or any(result_file(r, trained.results).exists() for r in trained.runs):
        return
    raise NoResults(
        f"no stored result for any of the {len(trained.runs)} CIFAR-10 runs with "
        f"train_epochs={train_epochs} (epochs {trained.epochs}) in {trained.results}; "
        "produce them with `python -m mnv2lab.study run --only v1_vs_v2`, or pass "
        "-p train_missing True (hours on a CPU)"
    )


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
        records.append(
            {
                "family": FAMILIES[cfg.model],
                "model": cfg.model,
                "width": kw["width_mult"],
                "madds": costs["madds"],
                "params": costs["params"],
                "seed": cfg.seed,
                "epochs": cfg.epochs,
                "test_acc": result.final["test_acc"] if result is not None else np.nan,
                "status": collected.status.get(run.name, "missing"),
                "path": str(result_file(run, collected.plan.results)),
            }
        )
    return pd.DataFrame.from_records(records)


def trained_summary(trained: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per model: n, mean test accuracy and 95% t-interval; per matched pair: the paired
    difference V2 - V1 over the seeds both have, with its 95% interval)."""
    done = trained.dropna(subset=["test_acc"])
    per_model = []
    for (fam, w), g in done.groupby(["family", "width"]):
        mean, lo, hi = mean_ci(g.test_acc.to_numpy())
        per_model.append(
            {
                "family": fam,
                "width": w,
                "madds": g.madds.iloc[0],
                "params": g.params.iloc[0],
                "n": len(g),
                "mean_acc": mean,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
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
        pairs.append(
            {
                "V2 width": w2,
                "V1 width": w1,
                "V2 MAdds (M)": g2.madds.iloc[0] / 1e6,
                "V1 MAdds (M)": g1.madds.iloc[0] / 1e6,
                "seeds": len(both),
                "V2 - V1 (points)": 100 * d.mean,
                "ci_low": 100 * d.low,
                "ci_high": 100 * d.high,
                "excludes_zero": d.excludes_zero,
            }
        )
    return pd.DataFrame.from_records(per_model), pd.DataFrame.from_records(pairs)


def paired_text(p: pd.Series) -> str:
    """One row of :func:`trained_summary`'s pairs table in words: the paired difference with its
    95% interval, or a plain "no interval yet" while fewer than two seeds are paired."""
    n, diff = int(p.seeds), p["V2 - V1 (points)"]
    if n < 2 or not (np.isfinite(p.ci_low) and np.isfinite(p.ci_high)):
        return f"{diff:+.2f} points ({n} seed, no interval yet)"
    side = "excludes" if p.excludes_zero else "includes"
    return (
        f"{diff:+.2f} points (95% CI {p.ci_low:+.2f} to {p.ci_high:+.2f}, {n} paired seeds; "
        f"the interval {side} zero)"
    )


def trained_text(pairs: pd.DataFrame) -> str:
    """Every matched pair's paired difference V2 - V1, for captions and the findings table."""
    if pairs.empty:
        return "results not produced yet."
    return "; ".join(
        f"V2 {p['V2 width']:g} ({p['V2 MAdds (M)']:.0f}M MAdds) minus V1 "
        f"{p['V1 width']:g} ({p['V1 MAdds (M)']:.0f}M): {paired_text(p)}"
        for _, p in pairs.iterrows()
    )
