"""How a model describes itself the way the papers' architecture tables do.

Every model in :mod:`mnv2lab.models` has ``layer_rows()``, returning one :class:`LayerRow` per
line of its paper's table (operator, t, c, n, s) together with the modules that implement that
line, so that :mod:`mnv2lab.costs` can measure each line's shapes, parameters and multiply-adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn


@dataclass
class LayerRow:
    """One line of an architecture table and the modules that make it up."""

    operator: str  # e.g. "conv2d 3x3", "bottleneck", "avgpool", "linear"
    t: int | None  # expansion factor (bottlenecks only)
    c: int | None  # output channels
    n: int  # repeats
    s: int | None  # stride of the first repeat
    modules: list[nn.Module] = field(default_factory=list)
