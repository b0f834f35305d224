"""Solutions to the exercises of notebooks/00_ideas.ipynb (answers checked by tests/test_exercises.py)."""

from __future__ import annotations

from mnv2lab import blocks, ideas
from mnv2lab.models import build_model

PARAMS = {"width_mult": 1.0, "expand_ratio": 6, "input_size": 224, "shuffle_groups": 3}


def exercise_1() -> dict:
    """Block (d) of Figure 2 with t = 3: its expansion's channels and its multiply-adds."""
    block = ideas.figure2(dict(PARAMS, expand_ratio=3))[3]
    return {"expansion_channels": block.steps[1].channels, "madds": block.madds}


def exercise_2() -> dict:
    """Regular / separable multiply-adds from Figure 2, against k² d_j / (k² + d_j)."""
    regular, separable = ideas.figure2(PARAMS)[:2]
    k, d_j = separable.steps[1].kernel, separable.steps[-1].channels
    return {"measured": regular.madds / separable.madds, "formula": k * k * d_j / (k * k + d_j)}


def exercise_3() -> dict:
    """How many of MobileNetV2's 17 blocks have a shortcut in their diagram."""
    model = build_model("mobilenet_v2")
    n_blocks = len(model.features) - 2  # without the stem and the last 1x1 conv
    with_shortcut = [i for i in range(1, n_blocks + 1) if blocks.describe_blocks(model, i).skips]
    return {"blocks": n_blocks, "with_shortcut": len(with_shortcut), "which": with_shortcut}


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
