"""Solutions to the exercises of notebooks/05_activation_patterns.ipynb (checked by
tests/test_exercises.py)."""

from __future__ import annotations

import torch

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


def exercise_3(n_images: int = 500, share_below: float = 1e-5) -> dict:
    """Pixels per expansion layer of MobileNetV2 0.5 at 32x32 (small input), first and last layer,
    over ``n_images`` images; and, if a share ``share_below`` of a layer's pixels were under the
    threshold, the chance that a layer's minimum falls under it with either pixel count
    (1 - (1 - share)^pixels): why Figure 7 along training compares layers on equal pixels."""
    model = build_model("mobilenet_v2", width_mult=0.5, small_input=True, num_classes=10).eval()
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sizes.append(out.shape[-2] * out.shape[-1]))
        for _, m in expansion_activations(model)
    ]
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    first, last = n_images * sizes[0], n_images * sizes[-1]
    return {
        "pixels_per_image": sizes,
        "first_layer_pixels": first,
        "last_layer_pixels": last,
        "ratio": first // last,
        "p_min_below_first": 1 - (1 - share_below) ** first,
        "p_min_below_last": 1 - (1 - share_below) ** last,
    }


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
