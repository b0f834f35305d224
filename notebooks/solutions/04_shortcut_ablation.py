"""Solutions to the exercises of notebooks/04_shortcut_ablation.ipynb (checked by
tests/test_exercises.py). They read the committed runs; nothing is trained."""

from __future__ import annotations

import importlib.util
import math
import statistics
from pathlib import Path

from scipy import stats

from mnv2lab import ablation, budget
from mnv2lab.costs import model_costs

_spec = importlib.util.spec_from_file_location("_study", Path(__file__).with_name("_study.py"))
_study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_study)


def exercise_1() -> dict:
    """Do the three shortcut variants cost the same (width 0.5, 32x32, small_input, 10 classes)?"""
    return {
        shortcut: model_costs(
            "mobilenet_v2", 32, width_mult=0.5, num_classes=10, small_input=True, shortcut=shortcut
        )
        for shortcut in ("bottleneck", "expansion", "none")
    }


def exercise_2() -> dict:
    """The paired gaps of the paper's shortcut over the other two, at the end of training: which
    intervals exclude zero?"""
    results = _study.committed("fig6b")
    out = {}
    for variant in ("expansion_shortcut", "no_residual"):
        d = ablation.paired_gap(results, variant, 0.5)
        out[variant] = {
            "n": d.n,
            "mean": d.mean,
            "low": d.low,
            "high": d.high,
            "excludes_zero": d.excludes_zero,
        }
    return out


def exercise_3(half_width: float = 1.0) -> dict:
    """Per budget: the per-seed gaps (paper's shortcut minus shortcut between expansions), their
    standard deviation, and how many paired seeds would give a 95% interval of +-``half_width``
    points at that spread (t(0.975, n - 1) sd / sqrt(n) <= half_width)."""
    comparison = budget.Comparison(
        "bottleneck - expansion shortcut",
        budget.Side("linear", 0.5),
        budget.Side("expansion_shortcut", 0.5),
    )
    by_budget = {
        "5 epochs": _study.committed("fig6b"),
        "30 epochs": _study.committed_long("fig6b"),
    }
    out = {}
    for row in budget.gap_table(by_budget, [comparison]).itertuples():
        sd = statistics.stdev(row.per_seed)
        n = 2
        while stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) > half_width:
            n += 1
        out[row.budget] = {"per_seed": list(row.per_seed), "sd": sd, "seeds_needed": n}
    return out


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
