"""Analysis of the CIFAR-10 ablation study (Figure 6a, 6b and the width sweep): load the runs that
exist, summarize them over seeds, compare each variant with the paper's model seed by seed, and
say in words (with the numbers) whether the paper's claims reproduced.

    plan = study.make_plan(nb.params, "fig6a")          # which runs, where, smoke reductions
    results = study.collect(plan)                       # load (and, if asked, train) the runs
    ablation.curves(results, width, variants)           # mean test accuracy per step, 95% band
    ablation.final_table(results, cells) / ablation.paired_table(results, cells)
    print(ablation.verdict_fig6a(results).text)

Conventions: accuracies are in percent; a *gap* is ``paper's model - variant`` for the same seed
(positive: the paper's choice is better), averaged over the seeds both have, with a Student-t 95%
interval (:func:`mnv2lab.stats.paired_difference`). With fewer than 3 seeds per variant the
verdict says it is provisional.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from .models import make_divisible
from .models.mobilenetv2 import TABLE2
from .params import Param
from .stats import mean_ci, paired_difference
from .findings import Finding, beyond_verdict, combined_verdict, interval_verdict
from .published import FIG6_FINAL_GAP, FIG6_TEXT
from .study import PAPER_VARIANT, SPEC_STUDY, VARIANT_LABELS, StudyResults
from .study.budgets import budget_label

EARLY_FRACTION = 0.2  # "early in training": the evaluation nearest 20% of the run
MIN_SEEDS_FOR_VERDICT = 3

# The notebooks' parameters: the study's (see mnv2lab.study.plan).
SPEC: dict[str, Param] = dict(SPEC_STUDY)


# ---------------------------------------------------------------------------------------------
# Summaries over seeds


def _acc_series(result) -> pd.Series:
    """Test accuracy (%) indexed by step."""
    return pd.Series({h["step"]: 100.0 * h["test_acc"] for h in result.history}, name="acc")


def curves(study: StudyResults, width: float, variants: Sequence[str]) -> pd.DataFrame:
    """Per variant and evaluation step: mean test accuracy (%) over the seeds with its 95% band.
    Columns: variant, step, epoch, n, mean, low, high."""
    rows = []
    for v in variants:
        runs = study.runs(v, width)
        if not runs:
            continue
        table = pd.DataFrame({s: _acc_series(r) for s, r in runs.items()})
        any_run = next(iter(runs.values()))
        epoch_of = {h["step"]: h["epoch"] for h in any_run.history}
        for step, row in table.iterrows():
            vals = row.dropna().to_numpy()
            m, lo, hi = mean_ci(vals)
            rows.append(
                {
                    "variant": v,
                    "step": int(step),
                    "epoch": epoch_of.get(step),
                    "n": len(vals),
                    "mean": m,
                    "low": lo,
                    "high": hi,
                }
            )
    return pd.DataFrame(rows, columns=["variant", "step", "epoch", "n", "mean", "low", "high"])


def gap_curves(
    study: StudyResults, width: float, variants: Sequence[str], reference: str = PAPER_VARIANT
) -> pd.DataFrame:
    """Per variant and step: the paired gap ``reference - variant`` (points) with its 95%
    interval, over the seeds both have. Columns: variant, step, epoch, n, mean, low, high,
    excludes_zero."""
    ref = study.runs(reference, width)
    rows = []
    for v in variants:
        if v == reference:
            continue
        other = study.runs(v, width)
        seeds = sorted(set(ref) & set(other))
        if not seeds:
            continue
        a = pd.DataFrame({s: _acc_series(ref[s]) for s in seeds})
        b = pd.DataFrame({s: _acc_series(other[s]) for s in seeds})
        epoch_of = {h["step"]: h["epoch"] for h in ref[seeds[0]].history}
        for step in a.index.intersection(b.index):
            d = paired_difference(a.loc[step].to_numpy(), b.loc[step].to_numpy())
            rows.append(
                {
                    "variant": v,
                    "step": int(step),
                    "epoch": epoch_of.get(step),
                    "n": d.n,
                    "mean": d.mean,
                    "low": d.low,
                    "high": d.high,
                    "excludes_zero": d.excludes_zero,
                }
            )
    return pd.DataFrame(
        rows, columns=["variant", "step", "epoch", "n", "mean", "low", "high", "excludes_zero"]
    )


def final_table(study: StudyResults, cells: Sequence[tuple[str, float]]) -> pd.DataFrame:
    """Final test accuracy (%) per (variant, width): seeds, mean and 95% interval, per-seed values."""
    rows = []
    for v, w in cells:
        runs = study.runs(v, w)
        vals = [100.0 * runs[s].final["test_acc"] for s in sorted(runs)]
        m, lo, hi = mean_ci(vals) if vals else (math.nan, math.nan, math.nan)
        rows.append(
            {
                "variant": v,
                "label": VARIANT_LABELS.get(v, v),
                "width": w,
                "seeds": len(vals),
                "mean": m,
                "low": lo,
                "high": hi,
                "per_seed": ", ".join(f"{x:.2f}" for x in vals),
            }
        )
    return pd.DataFrame(rows)


def _at_fraction(result, fraction: float) -> float:
    """Test accuracy (%) at the evaluation nearest ``fraction`` of the run (1.0: the end)."""
    total = result.history[-1]["step"]
    h = min(result.history, key=lambda h: (abs(h["step"] - fraction * total), -h["step"]))
    return 100.0 * h["test_acc"]


def paired_gap(
    study: StudyResults,
    variant: str,
    width: float,
    *,
    reference: str = PAPER_VARIANT,
    fraction: float = 1.0,
):
    """PairedDifference of ``reference - variant`` (points) at ``fraction`` of training, or None
    when no seed has both runs."""
    ref_vals, other_vals = paired_accuracies(
        study, variant, width, reference=reference, fraction=fraction
    )
    return paired_difference(ref_vals, other_vals) if ref_vals else None


def paired_accuracies(
    study: StudyResults,
    variant: str,
    width: float,
    *,
    reference: str = PAPER_VARIANT,
    fraction: float = 1.0,
) -> tuple[list[float], list[float]]:
    """Test accuracies (%) of ``reference`` and ``variant`` at ``fraction`` of training, over the
    seeds both have (in seed order): the pairs behind :func:`paired_gap`."""
    ref, other = study.runs(reference, width), study.runs(variant, width)
    seeds = sorted(set(ref) & set(other))
    return (
        [_at_fraction(ref[s], fraction) for s in seeds],
        [_at_fraction(other[s], fraction) for s in seeds],
    )


def early_minus_final(
    study: StudyResults, variant: str, width: float, reference: str = PAPER_VARIANT
):
    """PairedDifference over seeds of (gap early) - (gap at the end): positive when the gap
    shrinks during training, as in the paper. None without a complete pair."""
    ref, other = study.runs(reference, width), study.runs(variant, width)
    seeds = sorted(set(ref) & set(other))
    if not seeds:
        return None
    early = [
        _at_fraction(ref[s], EARLY_FRACTION) - _at_fraction(other[s], EARLY_FRACTION) for s in seeds
    ]
    final = [_at_fraction(ref[s], 1.0) - _at_fraction(other[s], 1.0) for s in seeds]
    return paired_difference(early, final)


def paired_table(
    study: StudyResults, cells: Sequence[tuple[str, float]], reference: str = PAPER_VARIANT
) -> pd.DataFrame:
    """Paired gaps ``reference - variant`` (points) at the end and early in training, per
    (variant, width): mean, 95% interval, whether the interval excludes zero, per-seed gaps."""
    rows = []
    for v, w in cells:
        if v == reference:
            continue
        for when, frac in (
            ("end", 1.0),
            (f"early ({EARLY_FRACTION:.0%} of training)", EARLY_FRACTION),
        ):
            d = paired_gap(study, v, w, reference=reference, fraction=frac)
            ref_vals, other_vals = paired_accuracies(
                study, v, w, reference=reference, fraction=frac
            )
            rows.append(
                {
                    "variant": v,
                    "label": VARIANT_LABELS.get(v, v),
                    "width": w,
                    "when": when,
                    "pairs": 0 if d is None else d.n,
                    "gap": math.nan if d is None else d.mean,
                    "low": math.nan if d is None else d.low,
                    "high": math.nan if d is None else d.high,
                    "excludes_zero": False if d is None else d.excludes_zero,
                    "per_seed": ", ".join(f"{a - b:+.2f}" for a, b in zip(ref_vals, other_vals)),
                }
            )
    return pd.DataFrame(rows)


def width_gaps(study: StudyResults, widths: Sequence[float]) -> pd.DataFrame:
    """The linear-minus-ReLU6 gap at the end of training for every width (beyond the paper)."""
    rows = []
    for w in sorted(widths):
        d = paired_gap(study, "relu6", w)
        lin, relu = study.runs("linear", w), study.runs("relu6", w)
        rows.append(
            {
                "width": w,
                "bottleneck_channels": bottleneck_range(w),
                "pairs": 0 if d is None else d.n,
                "linear": mean_ci([100 * r.final["test_acc"] for r in lin.values()])[0]
                if lin
                else math.nan,
                "relu6": mean_ci([100 * r.final["test_acc"] for r in relu.values()])[0]
                if relu
                else math.nan,
                "gap": math.nan if d is None else d.mean,
                "low": math.nan if d is None else d.low,
                "high": math.nan if d is None else d.high,
                "excludes_zero": False if d is None else d.excludes_zero,
            }
        )
    return pd.DataFrame(rows)


def bottleneck_range(width: float) -> str:
    """The bottleneck channels of the first and last stage of Table 2 at this width, e.g. "8-160"
    (the reference rounding to multiples of 8 makes the narrow widths share their first stages)."""
    return f"{make_divisible(TABLE2[0][1] * width)}-{make_divisible(TABLE2[-1][1] * width)}"


def gap_trend(study: StudyResults, widths: Sequence[float]):
    """PairedDifference over seeds of (gap at the narrowest width) - (gap at the widest):
    positive if the gap grows as the bottleneck narrows, as the theory predicts."""
    lo_w, hi_w = min(widths), max(widths)
    runs = {(v, w): study.runs(v, w) for v in ("linear", "relu6") for w in (lo_w, hi_w)}
    seeds = sorted(set.intersection(*(set(r) for r in runs.values())))
    if lo_w == hi_w or not seeds:
        return None

    def gap(w, s):
        return 100 * (
            runs[("linear", w)][s].final["test_acc"] - runs[("relu6", w)][s].final["test_acc"]
        )

    return paired_difference([gap(lo_w, s) for s in seeds], [gap(hi_w, s) for s in seeds])


# ---------------------------------------------------------------------------------------------
# Verdicts: text built from the numbers


def _fmt(d) -> str:
    if d is None:
        return "no complete pair yet"
    if math.isnan(d.low):
        return f"{d.mean:+.2f} points (n = {d.n}: no interval)"
    return f"{d.mean:+.2f} points [95% CI {d.low:+.2f}, {d.high:+.2f}], n = {d.n}" + (
        "" if d.excludes_zero else ", interval includes 0"
    )


def gap_verdict(d) -> str:
    """The verdict on one paired gap against Figure 6's final gap (:data:`mnv2lab.published.
    FIG6_FINAL_GAP`), by :func:`mnv2lab.findings.interval_verdict`; "inconclusive" without a
    complete pair."""
    return "inconclusive" if d is None else interval_verdict(d.low, d.high, FIG6_FINAL_GAP)


def _min_seeds(study: StudyResults) -> int:
    return min((len(study.runs(r.variant, r.width, r.model)) for r in study.plan.runs), default=0)


def short_note(study: StudyResults) -> str:
    """The prefix of one-line findings: the data set and budget they rest on ("CIFAR-10, 5
    epochs: "), then a provisional/smoke warning where it applies."""
    budget = f"{budget_label(study.plan)}: "
    if study.plan.smoke:
        return budget + "smoke run, not a result: "
    if study.missing or _min_seeds(study) < MIN_SEEDS_FOR_VERDICT:
        return (
            budget + f"provisional ({study.n_done}/{len(study.plan.runs)} runs, min "
            f"{_min_seeds(study)} seeds): "
        )
    return budget


def provisional_note(study: StudyResults) -> str:
    """A warning that opens every verdict of an incomplete (or smoke) study; "" when complete."""
    n_seeds = _min_seeds(study)
    if study.plan.smoke:
        return "SMOKE RUN (tiny digits runs): the numbers test the code, they are not a result. "
    if study.n_done == 0:
        return (
            f"NO RESULTS YET: 0 of {len(study.plan.runs)} runs done; the figures fill in as "
            "the study's runs land. "
        )
    if n_seeds == 0:
        return (
            f"PROVISIONAL: {study.n_done} of {len(study.plan.runs)} runs done; some variants "
            "have no run yet. "
        )
    if study.missing or n_seeds < MIN_SEEDS_FOR_VERDICT:
        return (
            f"PROVISIONAL: {study.n_done} of {len(study.plan.runs)} runs done, as few as "
            f"{n_seeds} seed(s) per variant; the verdict may change. "
        )
    return ""


def _setting(study: StudyResults) -> str:
    p = study.plan
    return f"{p.epochs} epoch{'s' if p.epochs != 1 else ''} of {p.dataset}"


VERDICT_TEXT = {
    "reproduced": "The paper's choice is better, by about the paper's margin.",
    "direction only": "The paper's choice is better, but the gap is far from the paper's 0.5 to "
    "1.5 points (another data set, recipe and length).",
    "partly": "Only part of the paper's claims is resolved at 95% confidence in its direction.",
    "inconclusive": "The direction is not resolved at 95% confidence with these seeds.",
    "not reproduced": "The paper's advantage does not appear here: the variant is better.",
}


def verdict_fig6a(study: StudyResults) -> Finding:
    """Figure 6a: linear vs ReLU6 bottleneck at the main width, the final gap against the
    paper's (:func:`gap_verdict`); ``details`` says it in words with every number."""
    w = study.plan.main_width
    end = paired_gap(study, "relu6", w)
    early = paired_gap(study, "relu6", w, fraction=EARLY_FRACTION)
    shrink = early_minus_final(study, "relu6", w)
    verdict = gap_verdict(end)
    note = provisional_note(study)
    text = (
        f"{note}Figure 6a (width {w:g}, {_setting(study)}): linear minus "
        f"ReLU6 bottleneck, test accuracy at the end: {_fmt(end)}; early "
        f"({EARLY_FRACTION:.0%} of training): {_fmt(early)}; early gap minus final gap: "
        f"{_fmt(shrink)}. Paper: {FIG6_TEXT}. "
        + (
            "No complete pair of runs yet: nothing to compare."
            if end is None
            else VERDICT_TEXT[verdict]
        )
    )
    finding = (
        f"{short_note(study)}linear - ReLU6 bottleneck at the end "
        f"{_short(end)} (paper: +0.5 to +1.5 top-1 on ImageNet); early {_short(early)}"
    )
    return Finding("Figure 6a", verdict, finding[:300], details=text)


def verdict_fig6b(study: StudyResults) -> Finding:
    """Figure 6b: shortcut between bottlenecks vs between expansions vs none, at the main width:
    both final gaps against the paper's (:func:`gap_verdict`, combined by
    :func:`mnv2lab.findings.combined_verdict`), and "no residual" must be the worst."""
    w = study.plan.main_width
    exp_end = paired_gap(study, "expansion_shortcut", w)
    none_end = paired_gap(study, "no_residual", w)
    exp_early = paired_gap(study, "expansion_shortcut", w, fraction=EARLY_FRACTION)
    none_early = paired_gap(study, "no_residual", w, fraction=EARLY_FRACTION)
    worst = _worst_variant(study, w)
    verdict = combined_verdict([gap_verdict(exp_end), gap_verdict(none_end)])
    if verdict in ("reproduced", "direction only") and worst != "no_residual":
        verdict = "partly"
    note = provisional_note(study)
    text = (
        f"{note}Figure 6b (width {w:g}, {_setting(study)}): the paper's "
        f"shortcut between bottlenecks minus shortcut between expansions, at the end: "
        f"{_fmt(exp_end)} (early: {_fmt(exp_early)}); minus no residual, at the end: "
        f"{_fmt(none_end)} (early: {_fmt(none_early)}). Lowest final mean accuracy: "
        f"{VARIANT_LABELS.get(worst, worst) if worst else 'n/a'}. Paper: {FIG6_TEXT}. "
        + (
            "No complete pair of runs yet: nothing to compare."
            if exp_end is None and none_end is None
            else VERDICT_TEXT[verdict]
        )
    )
    finding = (
        f"{short_note(study)}bottleneck shortcut - expansion shortcut "
        f"{_short(exp_end)}, - no residual {_short(none_end)} at the end (paper: +0.5 to "
        f"+1.5 top-1, no residual worst)"
    )
    return Finding("Figure 6b", verdict, finding[:300], details=text)


def _worst_variant(study: StudyResults, width: float) -> str | None:
    means = {}
    for v in ("linear", "expansion_shortcut", "no_residual"):
        runs = study.runs(v, width)
        if runs:
            means[v] = np.mean([r.final["test_acc"] for r in runs.values()])
    return min(means, key=means.get) if len(means) >= 2 else None


def verdict_width(study: StudyResults) -> Finding:
    """Beyond the paper: does the linear-minus-ReLU6 gap grow as the bottleneck narrows?"""
    widths = study.plan.widths
    table = width_gaps(study, widths)
    trend = gap_trend(study, widths)
    per_width = "; ".join(
        f"width {r.width:g}: no pair"
        if not r.pairs
        else f"width {r.width:g}: {r.gap:+.2f} (n = {r.pairs}: no interval)"
        if not (np.isfinite(r.low) and np.isfinite(r.high))
        else f"width {r.width:g}: {r.gap:+.2f} [{r.low:+.2f}, {r.high:+.2f}] (n = {r.pairs})"
        for r in table.itertuples()
    )
    if trend is None:
        answer = "not yet measurable (needs both ends of the sweep)"
    elif trend.excludes_zero and trend.mean > 0:
        answer = "yes: the gap is larger at the narrowest width"
    elif trend.excludes_zero:
        answer = "no: the gap is smaller at the narrowest width"
    else:
        answer = "not resolved (interval includes 0)"
    note = provisional_note(study)
    text = (
        f"{note}Linear minus ReLU6 bottleneck, final test accuracy, per width: {per_width}. "
        f"Gap at width {min(widths):g} minus gap at width {max(widths):g}: {_fmt(trend)}. "
        f"Does the gap grow as the bottleneck narrows (the theory's prediction)? {answer}."
    )
    by_width = ", ".join(f"{r.width:g}: {r.gap:+.2f}" for r in table.itertuples() if r.pairs)
    finding = (
        f"{short_note(study)}linear - ReLU6 gap by width: {by_width or 'no pairs yet'}; "
        f"narrowest - widest {_short(trend)} (not in the paper)"
    )
    verdict = "inconclusive" if trend is None else beyond_verdict(trend.low, trend.high)
    return Finding("beyond the paper", verdict, finding[:300], details=text)


def _short(d) -> str:
    if d is None:
        return "n/a"
    if math.isnan(d.low):
        return f"{d.mean:+.2f} pt (n={d.n})"
    return f"{d.mean:+.2f} pt [{d.low:+.2f}, {d.high:+.2f}] (n={d.n})"
