"""Solutions to the exercises of notebooks/02_architecture_and_cost.ipynb (checked by
tests/test_exercises.py)."""

from __future__ import annotations

from mnv2lab.costs import model_costs


def exercise_1() -> dict:
    """MobileNetV2 1.0 at 224x224 with t = 2, 4, 6: multiply-adds and parameters."""
    return {t: model_costs("mobilenet_v2", 224, expand_ratio=t) for t in (2, 4, 6)}


def exercise_2(step: float = 0.01) -> dict:
    """The smallest MobileNetV1 width (on a 0.01 grid) that costs at least MobileNetV2 1.0's
    multiply-adds at 224x224."""
    target = model_costs("mobilenet_v2", 224)["madds"]
    width = 0.5
    while model_costs("mobilenet_v1", 224, width_mult=round(width, 2))["madds"] < target:
        width += step
    return {
        "v2_madds": target,
        "v1_width": round(width, 2),
        "v1_madds": model_costs("mobilenet_v1", 224, width_mult=round(width, 2))["madds"],
    }


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
