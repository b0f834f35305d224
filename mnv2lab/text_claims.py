"""Two sentences of the paper's Section 4 that state counts, checked against the built network.

* "the initial fully convolution layer with 32 filters, followed by 19 residual bottleneck layers
  described in the Table 2": Table 2 has 17 bottleneck blocks. :func:`layer_count_readings`
  counts the network under every reading we could think of and says which give 19.
* "the network computational cost ranges from 7 multiply adds to 585M MAdds, while the model size
  vary between 1.7M and 6.9M parameters", for the models of Figure 5 (widths 0.35 to 1.4,
  resolutions 96 to 224): :func:`cost_range` computes the smallest and largest of them and
  compares under both printing conventions of :mod:`mnv2lab.printed`; :func:`smallest_madds_readings`
  tries the readings of "7" that a different counting could explain.

Counting conventions: multiply-adds as :mod:`mnv2lab.costs` (conv and linear layers), 1000 classes
unless a row says otherwise; parameters with and without BN scale/shift, labelled.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from . import printed, published
from .costs import layer_costs, model_costs
from .models import InvertedResidual, build_model
from .models.layers import make_divisible
from .models.mobilenetv2 import LAST_CHANNELS

# ------------------------------------------------------------------ "19 residual bottleneck layers"


def _meta_v2(**kwargs) -> nn.Module:
    with torch.device("meta"):
        return build_model("mobilenet_v2", **kwargs)


def layer_count_readings(model: nn.Module | None = None) -> pd.DataFrame:
    """Every reading of "19 residual bottleneck layers" counted on MobileNetV2's Table 2 lines
    (``model.layer_rows()``, repeats included): reading, count, and whether it gives the
    printed 19. The text calls the stem "the initial layer" and the 19 what "follows" it."""
    model = _meta_v2() if model is None else model
    rows = model.layer_rows()
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    bottleneck = sum(r.n for r in rows if r.operator == "bottleneck")
    after_stem = rows[1:]

    def weighted(row) -> bool:
        return any(
            isinstance(m, (nn.Conv2d, nn.Linear)) for top in row.modules for m in top.modules()
        )

    readings = [  # (reading, short name for findings, count)
        ("bottleneck blocks (Table 2's n summed)", "bottleneck blocks", bottleneck),
        (
            "bottleneck blocks with an identity shortcut (residual)",
            "residual blocks",
            sum(b.use_shortcut for b in blocks),
        ),
        (
            "bottleneck blocks with an expansion layer (t > 1)",
            "expanding blocks",
            sum(b.expand is not None for b in blocks),
        ),
        (
            "weight layers after the stem (bottlenecks, 1x1 conv, classifier)",
            "blocks + last 1x1 conv + classifier",
            sum(r.n for r in after_stem if weighted(r)),
        ),
        (
            "bottlenecks and Table 2's two conv2d lines (stem 3x3, last 1x1)",
            "blocks + stem + last 1x1 conv",
            bottleneck + sum(r.n for r in rows if r.operator.startswith("conv2d")),
        ),
        (
            "every Table 2 line after the stem (incl. avgpool)",
            "lines after the stem",
            sum(r.n for r in after_stem),
        ),
        ("every Table 2 line with its repeats", "all lines", sum(r.n for r in rows)),
    ]
    return pd.DataFrame(
        [
            {
                "reading": text,
                "short": short,
                "count": int(n),
                "gives 19": int(n) == published.TEXT_BOTTLENECK_LAYERS,
            }
            for text, short, n in readings
        ]
    )


# ------------------------------------------------------------------ the cost range of Figure 5


def figure5_configurations() -> list[tuple[float, int]]:
    """(width, resolution) of every MobileNetV2 point of Figure 5 (the released checkpoints)."""
    return sorted(published.V2_TOP1)


def cost_range(classes: int = published.PAPER_CLASSES) -> pd.DataFrame:
    """The smallest and largest multiply-adds and parameters over Figure 5's configurations,
    beside the text's range, with agreement when rounded and when truncated to the printed
    digit. Parameters are given with and without BN (two rows each)."""
    configs = figure5_configurations()
    costs = {
        wr: model_costs("mobilenet_v2", wr[1], width_mult=wr[0], num_classes=classes)
        for wr in configs
    }
    picks = {
        "smallest MAdds": (min, "madds"),
        "largest MAdds": (max, "madds"),
        "smallest params": (min, "params_no_bn"),
        "largest params": (max, "params_no_bn"),
    }
    rows = []
    for claim, (pick, key) in picks.items():
        w, r = pick(configs, key=lambda wr: costs[wr][key])
        shown, decimals = published.TEXT_COST_RANGE[claim]
        keys = ["madds"] if key == "madds" else ["params", "params_no_bn"]
        for k in keys:
            count = costs[(w, r)][k]
            rows.append(
                {
                    "claim": claim,
                    "printed (M)": shown,
                    "width": w,
                    "resolution": r,
                    "count": {
                        "madds": "MAdds",
                        "params": "params with BN",
                        "params_no_bn": "params without BN",
                    }[k],
                    "classes": classes,
                    "ours (M)": count / 1e6,
                    **printed.agreement(count, shown, 10**6, decimals),
                }
            )
    return pd.DataFrame(rows)


def smallest_madds_readings(width: float = 0.35, resolution: int = 96) -> pd.DataFrame:
    """Readings of the text's smallest model, "7 multiply adds" (read as 7M), for the smallest
    Figure 5 configuration: our multiply-adds under each, and whether it prints as 7 when rounded
    or truncated to whole millions.

    * as built (1000 classes) and with the released checkpoints' 1001 classes;
    * without the classifier; without the last 1x1 conv and the classifier (the bottleneck body);
    * with the last 1x1 conv scaled by the width too (the reference code's rule for widths < 1
      without "fine-grain" mode: 1280 x 0.35 -> 448 channels; the paper and the released
      checkpoints keep 1280), computed from the built layers' shapes.
    """
    model = _meta_v2(width_mult=width)
    layers = layer_costs(model, resolution)
    total = sum(c.madds for c in layers)
    classifier, last = layers[-1], layers[-2]
    if classifier.kind != "linear" or last.out_shape[0] != model.last_channels:
        raise AssertionError("expected the last two layers to be the 1x1 conv and the classifier")
    c_in, h, w = last.in_shape
    scaled = make_divisible(LAST_CHANNELS * width)
    classes = classifier.out_shape[0]
    readings = [
        ("as built, 1000 classes", total),
        (
            "1001 classes (released checkpoints)",
            model_costs(
                "mobilenet_v2", resolution, width_mult=width, num_classes=published.TF_SLIM_CLASSES
            )["madds"],
        ),
        ("without the classifier", total - classifier.madds),
        ("without the last 1x1 conv and the classifier", total - classifier.madds - last.madds),
        (
            f"last 1x1 conv scaled by the width ({scaled} channels)",
            total - classifier.madds - last.madds + h * w * c_in * scaled + scaled * classes,
        ),
    ]
    shown, decimals = published.TEXT_COST_RANGE["smallest MAdds"]
    return pd.DataFrame(
        [
            {
                "reading": text,
                "width": width,
                "resolution": resolution,
                "MAdds (M)": n / 1e6,
                **printed.agreement(n, shown, 10**6, decimals),
            }
            for text, n in readings
        ]
    )
