"""Solutions to the exercises of notebooks/06_v1_vs_v2.ipynb (checked by tests/test_exercises.py)."""

from __future__ import annotations

from mnv2lab.costs import model_costs


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


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
