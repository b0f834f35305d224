"""Solutions to the exercises of notebooks/06_v1_vs_v2.ipynb (checked by tests/test_exercises.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mnv2lab import budget, study, v1_vs_v2
from mnv2lab.costs import model_costs

_spec = importlib.util.spec_from_file_location("_study", Path(__file__).with_name("_study.py"))
_study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_study)


def _madds_32(model: str, width: float) -> int:
    return model_costs(model, 32, width_mult=width, num_classes=10, small_input=True)["madds"]


def exercise_1(v2_width: float = 0.35) -> dict:
    """The MobileNetV1 width (0.05 grid) whose multiply-adds at 32x32 are closest to
    MobileNetV2 ``v2_width``'s: the matching behind the trained comparison."""
    target = _madds_32("mobilenet_v2", v2_width)
    grid = [round(0.1 + 0.05 * k, 2) for k in range(19)]
    best = min(grid, key=lambda w: abs(_madds_32("mobilenet_v1", w) - target))
    return {"v2_madds": target, "v1_width": best, "v1_madds": _madds_32("mobilenet_v1", best)}


def exercise_2() -> dict:
    """Parameters of the matched pair V2 0.35 / V1 0.3 (32x32, 10 classes): which is smaller?"""
    return {
        name: model_costs(name, 32, width_mult=w, num_classes=10, small_input=True)["params"]
        for name, w in (("mobilenet_v2", 0.35), ("mobilenet_v1", 0.3))
    }


def exercise_3() -> dict:
    """MobileNetV2 0.5 minus MobileNetV1 0.4 (matched multiply-adds), final CIFAR-10 test accuracy
    paired by seed, at both budgets: does the sign of the 5-epoch gap survive 30 epochs?"""
    comparison = budget.Comparison(
        "V2 0.5 - V1 0.4", budget.Side("linear", 0.5), budget.Side("v1", 0.4, "mobilenet_v1")
    )
    trained = v1_vs_v2.make_plan(v1_vs_v2.default_params()).trained  # the notebook's defaults
    by_budget = {
        "5 epochs": study.collect(trained),
        "30 epochs": _study.committed_long("v1_vs_v2"),
    }
    return {
        row.budget: {"per_seed": list(row.per_seed), "gap": row.gap, "pairs": int(row.pairs)}
        for row in budget.gap_table(by_budget, [comparison]).itertuples()
    }


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
