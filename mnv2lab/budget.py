"""Gaps against the training budget: does a comparison of two trained variants hold when the
models are trained longer, and are the models still underfit? (Issue 13.)

A *comparison* is "reference minus variant" in final test accuracy (points), over the seeds both
sides share. The analysis, fixed before the long runs existed:

* primary: the **paired** difference (seed ``s`` of one side against seed ``s`` of the other: the
  same initialization seed, data order and augmentation draws), mean with a Student-t 95%
  interval over the per-seed differences;
* also reported: the **unpaired** (Welch) difference of the two sides' means, which ignores the
  pairing, so a reader can see how much the pairing buys.

``budgets`` maps a label (e.g. "CIFAR-10, 5 epochs") to a :class:`~mnv2lab.study.StudyResults`;
the same comparison is read in each, so a figure can show the gap against the budget.

Fit: per variant and budget, the final training loss (running mean over the last evaluation
interval, with augmentation and dropout on, and label smoothing if the recipe uses it) next to
the test loss; where the run has it (``TrainConfig.fit_check_images``, the long budget), also the
loss and accuracy on a fixed set of training images evaluated exactly as the test set is (no
augmentation, dropout or smoothing). Train loss about equal to or above test loss means the model
is still underfit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from .stats import mean_ci, paired_difference


@dataclass(frozen=True)
class Side:
    """One trained configuration: variant name, width and model (as in the study's runs)."""

    variant: str
    width: float
    model: str = "mobilenet_v2"

    def runs(self, results) -> dict:
        return results.runs(self.variant, self.width, self.model)


@dataclass(frozen=True)
class Comparison:
    """``reference`` minus ``variant`` in final test accuracy; ``label`` names it in tables."""

    label: str
    reference: Side
    variant: Side


def welch_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high): Welch's unpaired t interval; nan bounds with < 2 values a side."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("a and b: need at least one value each")
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = float(sps.t.ppf(0.5 + confidence / 2, dof))
    return diff, diff - t * se, diff + t * se


def gap_table(budgets: Mapping[str, object], comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """One row per (budget, comparison): paired gap (points) with its 95% interval and per-seed
    gaps, the unpaired (Welch) gap with its interval, and both sides' mean accuracy. Budgets or
    comparisons without a shared seed are left out."""
    rows = []
    for budget, results in budgets.items():
        for c in comparisons:
            ref, var = c.reference.runs(results), c.variant.runs(results)
            seeds = sorted(set(ref) & set(var))
            if not seeds:
                continue
            a = [100 * ref[s].final["test_acc"] for s in seeds]
            b = [100 * var[s].final["test_acc"] for s in seeds]
            paired = paired_difference(a, b)
            all_a = [100 * r.final["test_acc"] for r in ref.values()]
            all_b = [100 * r.final["test_acc"] for r in var.values()]
            unpaired = welch_difference(all_a, all_b)
            rows.append(
                {
                    "budget": budget,
                    "comparison": c.label,
                    "pairs": len(seeds),
                    "gap": paired.mean,
                    "low": paired.low,
                    "high": paired.high,
                    "per_seed": [round(x - y, 2) for x, y in zip(a, b)],
                    "unpaired_gap": unpaired[0],
                    "unpaired_low": unpaired[1],
                    "unpaired_high": unpaired[2],
                    "reference_acc": float(np.mean(all_a)),
                    "variant_acc": float(np.mean(all_b)),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "budget",
            "comparison",
            "pairs",
            "gap",
            "low",
            "high",
            "per_seed",
            "unpaired_gap",
            "unpaired_low",
            "unpaired_high",
            "reference_acc",
            "variant_acc",
        ],
    )


def fit_table(budgets: Mapping[str, object], sides: Mapping[str, Side]) -> pd.DataFrame:
    """Per (budget, side): seeds, mean final test accuracy with its 95% interval, mean final train
    and test loss, the clean train loss and accuracy where the runs measured them (else nan), and
    ``underfit``: the train loss (the clean one when measured) >= 0.9 x the test loss, i.e. the
    models have not started to fit the training set better than unseen data."""
    rows = []
    for budget, results in budgets.items():
        for name, side in sides.items():
            runs = list(side.runs(results).values())
            if not runs:
                continue
            acc = [100 * r.final["test_acc"] for r in runs]
            m, lo, hi = mean_ci(acc)
            train_loss = float(np.mean([r.final["train_loss"] for r in runs]))
            test_loss = float(np.mean([r.final["test_loss"] for r in runs]))
            clean = [r.final.get("train_eval_loss") for r in runs]
            clean_loss = float(np.mean(clean)) if None not in clean else math.nan
            clean_acc = (
                float(np.mean([100 * r.final["train_eval_acc"] for r in runs]))
                if None not in clean
                else math.nan
            )
            fit_loss = train_loss if math.isnan(clean_loss) else clean_loss
            rows.append(
                {
                    "budget": budget,
                    "model": name,
                    "seeds": len(runs),
                    "test_acc": m,
                    "low": lo,
                    "high": hi,
                    "train_loss": train_loss,
                    "test_loss": test_loss,
                    "clean_train_loss": clean_loss,
                    "clean_train_acc": clean_acc,
                    "underfit": fit_loss >= 0.9 * test_loss,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "budget",
            "model",
            "seeds",
            "test_acc",
            "low",
            "high",
            "train_loss",
            "test_loss",
            "clean_train_loss",
            "clean_train_acc",
            "underfit",
        ],
    )


def fit_summary(table: pd.DataFrame, label: str) -> str:
    """One budget's rows of :func:`fit_table` in words, for figure takeaways: "CIFAR-10, 30
    epochs: paper's model 87.14% test, 93.55% on training images evaluated as test (loss 0.441 vs
    0.275; 2 seeds): fits its training images; ...". Without the clean evaluation the training
    loss as trained stands in (and says so)."""
    rows = table[table.budget == label]
    if rows.empty:
        return f"{label}: no runs yet"
    parts = []
    for r in rows.itertuples():
        state = "still underfit" if r.underfit else "fits its training images"
        seeds = f"{r.seeds} seed{'s' * (r.seeds != 1)}"
        if math.isfinite(r.clean_train_loss):
            parts.append(
                f"{r.model} {r.test_acc:.2f}% test, {r.clean_train_acc:.2f}% on training images "
                f"evaluated as test (loss {r.test_loss:.3f} vs {r.clean_train_loss:.3f}; {seeds}): "
                f"{state}"
            )
        else:
            parts.append(
                f"{r.model} {r.test_acc:.2f}% test (test loss {r.test_loss:.3f}, training loss as "
                f"trained {r.train_loss:.3f}; {seeds}): {state}"
            )
    return f"{label}: " + "; ".join(parts)


def loss_curves(results, sides: Mapping[str, Side]) -> pd.DataFrame:
    """Long form: budget-free curves of one study, per side and seed: epoch, train loss, clean
    train loss (None where not measured), test loss, test accuracy (points). No results (None):
    an empty table."""
    rows = []
    for name, side in sides.items() if results is not None else ():
        for seed, r in side.runs(results).items():
            for h in r.history:
                rows.append(
                    {
                        "model": name,
                        "seed": seed,
                        "epoch": h["epoch"],
                        "train_loss": h.get("train_loss"),
                        "clean_train_loss": h.get("train_eval_loss"),
                        "test_loss": h["test_loss"],
                        "test_acc": 100 * h["test_acc"],
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "seed",
            "epoch",
            "train_loss",
            "clean_train_loss",
            "test_loss",
            "test_acc",
        ],
    )


def gap_summary(table: pd.DataFrame, labels: Sequence[str], comparison: str) -> str:
    """ "linear - ReLU6: 5 epochs: +11.05 points [+8.22, +13.88] (n=3); 30 epochs: no runs yet"
    for one comparison (figure takeaways: every budget named, every number with its unit)."""
    parts = []
    for label in labels:
        r = table[(table.budget == label) & (table.comparison == comparison)]
        if r.empty:
            parts.append(f"{label}: no runs yet")
            continue
        r = r.iloc[0]
        ci = (
            f" [{r.low:+.2f}, {r.high:+.2f}]"
            if math.isfinite(r.low) and math.isfinite(r.high)
            else " (no interval)"
        )
        parts.append(f"{label}: {r.gap:+.2f} points{ci} (n={int(r.pairs)})")
    return f"{comparison}: " + "; ".join(parts)


def gap_sentence(results, comparison: Comparison, label: str) -> str:
    """One budget's paired gap in words, for figure takeaways: "CIFAR-10, 5 epochs: linear -
    ReLU6 +11.05 points [+8.22, +13.88] (n=3)"."""
    table = gap_table({label: results}, [comparison])
    return f"{label}: " + gap_summary(table, [label], comparison.label).replace(f"{label}: ", "", 1)


def target_sentence(
    results, side: Side, label: str, target: float, name: str, planned: int | None = None
) -> str:
    """Whether ``side`` reaches the accuracy ``target`` (a fraction) at one budget, in words with
    the numbers that explain a shortfall: "The paper's model (CIFAR-10, 30 epochs): 88.40% [95% CI
    87.90, 88.90] over 3 seeds (89.00 / 88.10 / 88.10): meets the 88% target; final train loss
    0.210 vs test loss 0.380". With fewer seeds than ``planned``, the verdict says "so far"."""
    runs = side.runs(results) if results is not None else {}
    if not runs:
        return f"{name} ({label}): no runs yet, so the {100 * target:g}% target is not measured."
    seeds = sorted(runs)
    acc = [100 * runs[s].final["test_acc"] for s in seeds]
    m, lo, hi = mean_ci(acc)
    interval = f" [95% CI {lo:.2f}, {hi:.2f}]" if len(acc) > 1 else ""
    if m >= 100 * target:
        verdict = f"meets the {100 * target:g}% target"
    else:
        verdict = f"misses the {100 * target:g}% target by {100 * target - m:.2f} points"
    if planned is not None and len(acc) < planned:
        verdict += f" so far ({len(acc)} of {planned} seeds)"
    train = float(np.mean([runs[s].final["train_loss"] for s in seeds]))
    test = float(np.mean([runs[s].final["test_loss"] for s in seeds]))
    return (
        f"{name} ({label}): {m:.2f}%{interval} over {len(acc)} seed{'s' * (len(acc) != 1)} "
        f"({' / '.join(f'{a:.2f}' for a in acc)}): {verdict}; final train loss {train:.3f} vs "
        f"test loss {test:.3f}"
    )
