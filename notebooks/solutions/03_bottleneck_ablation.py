"""Solutions to the exercises of notebooks/03_bottleneck_ablation.ipynb (checked by
tests/test_exercises.py). They read the committed runs; nothing is trained."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from scipy import stats

from mnv2lab import ablation, budget

_spec = importlib.util.spec_from_file_location("_study", Path(__file__).with_name("_study.py"))
_study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_study)


def exercise_1() -> dict:
    """The paired gap linear - ReLU6 at width 0.5 at the end of training: mean, 95% interval,
    whether it excludes zero."""
    d = ablation.paired_gap(_study.committed("fig6a"), "relu6", 0.5)
    return {
        "n": d.n,
        "mean": d.mean,
        "low": d.low,
        "high": d.high,
        "excludes_zero": d.excludes_zero,
    }


def exercise_2() -> dict:
    """How many paired seeds would halve that interval, if the spread of the gaps stayed the same:
    the half-width is t(0.975, n-1) s / sqrt(n)."""
    d = ablation.paired_gap(_study.committed("fig6a"), "relu6", 0.5)
    half = (d.high - d.low) / 2
    s = half / stats.t.ppf(0.975, d.n - 1) * d.n**0.5
    n = d.n
    while stats.t.ppf(0.975, n - 1) * s / n**0.5 > half / 2:
        n += 1
    return {
        "seeds_now": d.n,
        "half_width_now": half,
        "seeds_needed": n,
        "half_width_then": stats.t.ppf(0.975, n - 1) * s / n**0.5,
    }


def exercise_3() -> dict:
    """The paper's model's final losses at both budgets, and the floor that label smoothing puts
    under the training loss: with targets q (1 - eps + eps/k on the true class, eps/k on the
    others), the cross-entropy of any prediction is at least the entropy H(q)."""
    paper = {"paper": budget.Side("linear", 0.5)}
    long = _study.committed_long("fig6a")
    fit = budget.fit_table({"5 epochs": _study.committed("fig6a"), "30 epochs": long}, paper)
    short_row, long_row = (
        fit.set_index("budget").loc["5 epochs"],
        fit.set_index("budget").loc["30 epochs"],
    )
    eps = next(iter(long.runs("linear", 0.5).values())).config.label_smoothing
    k = 10
    q = [1 - eps + eps / k] + [eps / k] * (k - 1)
    floor = -sum(p * math.log(p) for p in q)
    return {
        "short_train_loss": float(short_row.train_loss),
        "short_test_loss": float(short_row.test_loss),
        "long_seeds": int(long_row.seeds),
        "long_train_loss": float(long_row.train_loss),
        "long_test_loss": float(long_row.test_loss),
        "long_train_images_loss": float(long_row.clean_train_loss),
        "long_train_images_acc": float(long_row.clean_train_acc),
        "long_test_acc": float(long_row.test_acc),
        "label_smoothing": eps,
        "smoothing_floor": floor,
        "long_train_loss_above_floor": float(long_row.train_loss) - floor,
    }


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
