"""Notebook 00: the paper's ideas as block diagrams read from the package's built models.

Which block of which model illustrates each of the paper's diagrams (Figures 2, 3 and 4, the
variants of Figure 6 and the network of Table 2) is decided here, once; :mod:`mnv2lab.blocks`
reads each block's code and :mod:`mnv2lab.diagram_plots` draws it.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from .blocks import BlockDiagram, StageRow, describe, describe_blocks, stage_rows
from .findings import Finding, count_verdict
from .models import build_model
from .models.layers import ConvBNAct
from .notebook import COMMON
from .params import Param

SPEC: dict[str, Param] = {
    **COMMON,
    "width_mult": Param(
        float, "MobileNetV2 width multiplier of the drawn blocks", min=0.1, max=2.0
    ),
    "expand_ratio": Param(int, "expansion factor t of MobileNetV2's t = 6 rows", min=1, max=12),
    "input_size": Param(int, "input resolution (shapes and MAdds)", min=32, max=1024),
    "shuffle_groups": Param(int, "groups g of the ShuffleNet unit", choices=(1, 2, 3, 4, 8)),
}

# features[] indices of the blocks drawn (MobileNetV2 at Table 2): 1 is the t = 1 block (32 -> 16),
# 2 the first t = 6 block (16 -> 24, stride 2), 3 its shape-preserving repeat (24 -> 24, the first
# block with a shortcut), 4 the next stage's first block (24 -> 32, stride 2).
V2_T1, V2_STRIDE2, V2_STRIDE1 = 1, 2, 3
V1_LAYER = 1  # MobileNetV1's first separable layer (32 -> 64)
# ShuffleNet: features[3] is stage 2's second unit (stride 1); features[6] stage 3's first unit
# (stride 2; stage 2's first unit has an ungrouped first 1x1 conv, the exception its paper makes).
SHUFFLE_STRIDE1, SHUFFLE_STRIDE2 = 3, 6

VARIANTS_6A = {
    "linear bottleneck (paper)": {"bottleneck": "linear"},
    "ReLU6 in the bottleneck": {"bottleneck": "relu6"},
}
VARIANTS_6B = {
    "shortcut between bottlenecks (paper)": {"shortcut": "bottleneck"},
    "shortcut between expansions": {"shortcut": "expansion"},
    "no residual": {"shortcut": "none"},
}


def _build(name: str, **kwargs) -> nn.Module:
    """A model of the package built on the meta device: shapes and counts, no weights to draw."""
    with torch.device("meta"):
        return build_model(name, **kwargs)


def _v2(params: Mapping[str, Any], **switches) -> nn.Module:
    return _build(
        "mobilenet_v2",
        width_mult=params["width_mult"],
        expand_ratio=params["expand_ratio"],
        **switches,
    )


def figure2(params: Mapping[str, Any]) -> list[BlockDiagram]:
    """From a regular convolution to the bottleneck with expansion: (a) a regular 3x3 conv with
    the in/out channels of (b), MobileNetV1's first separable layer; (c) MobileNetV2's t = 1 block
    (separable with a linear bottleneck); (d) its first expansion block."""
    size = params["input_size"]
    v1 = _build("mobilenet_v1", width_mult=params["width_mult"])
    v2 = _v2(params)
    separable = describe_blocks(
        v1, V1_LAYER, input_size=size, title="(b) separable: MobileNetV1 layer 1"
    )
    first = separable.steps[0]
    regular = ConvBNAct(first.channels, separable.steps[-1].channels, 3, activation="relu")
    conv = describe(
        [regular],
        (first.channels, first.height, first.width),
        title="(a) regular 3x3 conv, same channels",
        input_linear=first.linear,
    )
    return [
        conv,
        separable,
        describe_blocks(
            v2,
            V2_T1,
            input_size=size,
            title="(c) separable with linear bottleneck: MobileNetV2 block 1 (t=1)",
        ),
        describe_blocks(
            v2,
            V2_STRIDE2,
            input_size=size,
            title=f"(d) bottleneck with expansion layer: MobileNetV2 block 2 "
            f"(t={params['expand_ratio']})",
        ),
    ]


def figure3(params: Mapping[str, Any]) -> list[BlockDiagram]:
    """Residual vs inverted residual: the same two MobileNetV2 blocks with the shortcut between
    the wide tensors (``shortcut="expansion"``: wide - narrow - wide, a classical residual) and
    between the bottlenecks (the paper's inverted residual)."""
    size = params["input_size"]
    return [
        describe_blocks(
            _v2(params, shortcut="expansion"),
            V2_STRIDE1,
            2,
            input_size=size,
            title="(a) residual: shortcut joins wide tensors",
        ),
        describe_blocks(
            _v2(params),
            V2_STRIDE1,
            2,
            input_size=size,
            title="(b) inverted residual: shortcut joins bottlenecks (MobileNetV2)",
        ),
    ]


def figure4(params: Mapping[str, Any]) -> list[BlockDiagram]:
    """The blocks of MobileNetV1, MobileNetV2 (stride 1 and 2) and ShuffleNet (stride 1 and 2)."""
    size = params["input_size"]
    v2 = _v2(params)
    shuffle = _build(
        "shufflenet_v1", groups=params["shuffle_groups"], width_mult=params["width_mult"]
    )
    return [
        describe_blocks(
            _build("mobilenet_v1", width_mult=params["width_mult"]),
            V1_LAYER,
            input_size=size,
            title="(a) MobileNetV1",
        ),
        describe_blocks(v2, V2_STRIDE1, input_size=size, title="(b) MobileNetV2, stride 1"),
        describe_blocks(v2, V2_STRIDE2, input_size=size, title="(c) MobileNetV2, stride 2"),
        describe_blocks(
            shuffle, SHUFFLE_STRIDE1, input_size=size, title="(d) ShuffleNet, stride 1"
        ),
        describe_blocks(
            shuffle, SHUFFLE_STRIDE2, input_size=size, title="(e) ShuffleNet, stride 2"
        ),
    ]


def variants(
    params: Mapping[str, Any], which: Mapping[str, dict], count: int
) -> list[BlockDiagram]:
    """The same window of MobileNetV2 blocks under each ablation switch of Figure 6."""
    return [
        describe_blocks(
            _v2(params, **switches),
            V2_STRIDE1,
            count,
            input_size=params["input_size"],
            title=f"({chr(97 + i)}) {name}",
        )
        for i, (name, switches) in enumerate(which.items())
    ]


def network(params: Mapping[str, Any]) -> list[StageRow]:
    """MobileNetV2's Table 2 as tensors, stem to last conv."""
    return stage_rows(_v2(params), params["input_size"])


# What the paper's block figures write in their boxes, (operator, activation), top to bottom.
# Figure 4 (a) MobileNetV1, (b, c) MobileNetV2 at stride 1 and 2, ShuffleNet (from its paper's
# Figure 2) at stride 1 and 2; Figure 2 (c) and (d) in words: "separable with linear bottleneck",
# "bottleneck with expansion layer".
PAPER_BLOCKS: dict[str, list[tuple[str, str | None]]] = {
    "(a) MobileNetV1": [("dwise 3x3", "ReLU6"), ("conv 1x1", "ReLU6")],
    "(b) MobileNetV2, stride 1": [
        ("conv 1x1", "ReLU6"),
        ("dwise 3x3", "ReLU6"),
        ("conv 1x1", None),
        ("add", None),
    ],
    "(c) MobileNetV2, stride 2": [
        ("conv 1x1", "ReLU6"),
        ("dwise 3x3 /2", "ReLU6"),
        ("conv 1x1", None),
    ],
    "(d) ShuffleNet, stride 1": [
        ("gconv 1x1", "ReLU"),
        ("shuffle", None),
        ("dwise 3x3", None),
        ("gconv 1x1", None),
        ("add", "ReLU"),
    ],
    "(e) ShuffleNet, stride 2": [
        ("gconv 1x1", "ReLU"),
        ("shuffle", None),
        ("dwise 3x3 /2", None),
        ("gconv 1x1", None),
        ("concat", "ReLU"),
    ],
}


def compare_blocks(diagrams: list[BlockDiagram]) -> list[dict]:
    """Each drawn block against the paper's boxes: the steps that differ, as (ours, paper)."""
    out = []
    for d in diagrams:
        paper = PAPER_BLOCKS[d.title]
        ours = d.signature()
        diffs = [(o, p) for o, p in zip(ours, paper) if o != p]
        if len(ours) != len(paper):
            diffs.append((f"{len(ours)} steps", f"{len(paper)} steps"))
        out.append({"block": d.title, "steps": len(ours), "differences": diffs})
    return out


def shortcut_widths(fig3: list[BlockDiagram]) -> list[int]:
    """Channels of the tensor each panel's shortcut carries."""
    return [d.steps[d.skips[0][0]].channels for d in fig3]


def findings(
    fig2: list[BlockDiagram], fig3: list[BlockDiagram], fig4: list[BlockDiagram]
) -> list[Finding]:
    """The README rows: Figure 2's cost saving, Figure 3's shortcut widths, Figure 4 box by box
    (all / some / none agree: :func:`mnv2lab.findings.count_verdict`)."""
    conv, separable = fig2[0], fig2[1]
    linear_ends = sum(d.steps[-1].linear for d in fig2[2:])
    ends = f"{linear_ends} of {len(fig2[2:])} bottleneck blocks end linear (paper: all)"
    wide, narrow = shortcut_widths(fig3)
    compared = compare_blocks(fig4)
    same = [c["block"].split(") ")[1] for c in compared if not c["differences"]]
    differ = [
        f"{c['block'].split(') ')[1]}: "
        + "; ".join(
            f"{o[0]} {o[1] or 'linear'} vs paper {p[1] or 'linear'}"
            for o, p in c["differences"]
            if isinstance(o, tuple)
        )
        for c in compared
        if c["differences"]
    ]
    return [
        Finding(
            "Figure 2",
            count_verdict(linear_ends, len(fig2[2:])),
            f"regular 3x3 conv {conv.madds / 1e6:.1f}M MAdds vs the separable layer with the "
            f"same channels {separable.madds / 1e6:.1f}M "
            f"({conv.madds / separable.madds:.1f}x fewer); {ends}",
        ),
        Finding(
            "Figure 3",
            count_verdict([narrow < wide]),
            f"same two blocks, same {fig3[0].madds / 1e6:.1f}M MAdds: the shortcut carries "
            f"{narrow} channels between bottlenecks vs {wide} between expansions "
            f"({wide / narrow:g}x)",
        ),
        Finding(
            "Figure 4",
            count_verdict(len(same), len(compared)),
            f"{len(same)} of {len(compared)} blocks match the paper's boxes step by step"
            + (f"; differs: {' | '.join(differ)}" if differ else ""),
        ),
    ]
