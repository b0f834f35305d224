"""Solutions to the exercises of notebooks/05_activation_patterns.ipynb (checked by
tests/test_exercises.py)."""

from __future__ import annotations

from mnv2lab.models import InvertedResidual, build_model, expansion_activations


def exercise_1() -> dict:
    """How many expansion ReLU6 layers does Figure 7 look at, for t = 6 and for t = 1?"""
    return {
        t: len(expansion_activations(build_model("mobilenet_v2", expand_ratio=t))) for t in (6, 1)
    }


def exercise_2() -> dict:
    """The invertibility threshold 1/t as a number of channels, for the widest and the narrowest
    expansion layer of MobileNetV2 0.5 (small input): at least this many must be positive."""
    model = build_model("mobilenet_v2", width_mult=0.5, small_input=True, num_classes=10)
    widths = [
        m.hidden_channels
        for m in model.modules()
        if isinstance(m, InvertedResidual) and m.expand is not None
    ]
    t = model.expand_ratio
    return {
        "t": t,
        "narrowest": min(widths),
        "widest": max(widths),
        "needed_narrowest": min(widths) / t,
        "needed_widest": max(widths) / t,
    }


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
