"""Block diagrams are read from the code: traced steps match the built blocks, a change in a block's
forward or switches changes its diagram, and the drawings are made through the one theme."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnv2lab import blocks, diagram_plots, ideas, plotting
from mnv2lab.models import build_model
from mnv2lab.params import ParameterError

PARAMS = {"width_mult": 1.0, "expand_ratio": 6, "input_size": 224, "shuffle_groups": 3}


@pytest.fixture(scope="module")
def v2():
    return build_model("mobilenet_v2")


def test_a_bottleneck_block_is_read_step_by_step(v2):
    d = blocks.describe_blocks(v2, 3, title="block 3")
    assert [(s.op, s.channels, s.height, s.activation, s.linear) for s in d.steps] == [
        ("input", 24, 56, None, True),  # block 2 ends in a linear projection
        ("conv 1x1", 144, 56, "ReLU6", False),  # expansion by t = 6
        ("dwise 3x3", 144, 56, "ReLU6", False),
        ("conv 1x1", 24, 56, None, True),  # the linear bottleneck
        ("add", 24, 56, None, True),
    ]
    assert d.skips == [(0, 4)], "the shortcut joins the block's input to its output"
    assert all(s.batchnorm for s in d.steps if s.kind == "conv")
    # Cost and parameters as counted for the whole model, block by block.
    assert d.params == sum(p.numel() for p in v2.features[3].parameters())
    assert d.madds == 56 * 56 * 144 * 24 + 56 * 56 * 144 * 9 + 56 * 56 * 24 * 144


def test_the_ablation_switches_change_the_diagram():
    relu6 = blocks.describe_blocks(build_model("mobilenet_v2", bottleneck="relu6"), 3)
    assert relu6.steps[3].activation == "ReLU6" and not relu6.steps[3].linear
    none = blocks.describe_blocks(build_model("mobilenet_v2", shortcut="none"), 3, 2)
    assert none.skips == [] and "add" not in [s.kind for s in none.steps]
    expansion = blocks.describe_blocks(build_model("mobilenet_v2", shortcut="expansion"), 3, 2)
    ((src, dst),) = expansion.skips
    # From block 3's expanded tensor (144 channels, after its ReLU6) to block 4's expansion, added
    # before that expansion's ReLU6 (the tensor before the addition is linear).
    assert (expansion.steps[src].op, expansion.steps[src].channels) == ("conv 1x1", 144)
    assert expansion.steps[dst].kind == "add" and expansion.steps[dst].activation == "ReLU6"
    assert expansion.steps[dst - 1].linear and expansion.steps[dst - 1].channels == 144
    t3 = blocks.describe_blocks(build_model("mobilenet_v2", expand_ratio=3), 3)
    assert t3.steps[1].channels == 72


def test_a_change_in_forward_code_changes_the_diagram(v2):
    """The diagram follows forward(), not attributes: a block whose forward adds a ReLU6 after the
    shortcut shows it."""
    block = v2.features[3]

    class PostActivated(nn.Module):
        def __init__(self):
            super().__init__()
            self.block, self.act = block, nn.ReLU6()

        def forward(self, x):
            return self.act(self.block(x))

    d = blocks.describe([PostActivated()], (24, 56, 56), title="changed")
    assert d.steps[-1].kind == "add" and d.steps[-1].activation == "ReLU6"
    assert not d.steps[-1].linear


def test_shufflenet_and_v1_blocks(v2):
    shuffle = build_model("shufflenet_v1", groups=3, width_mult=1.0)
    unit = blocks.describe_blocks(shuffle, 6)
    assert unit.signature() == [
        ("gconv 1x1", "ReLU"),
        ("shuffle", None),
        ("dwise 3x3 /2", None),
        ("gconv 1x1", None),
        ("concat", "ReLU"),
    ]
    assert unit.steps[-1].skip_via == "avg pool 3x3 /2" and unit.steps[-1].channels == 480
    assert unit.steps[1].op == "gconv 1x1 (g=3)" and unit.steps[1].channels == 120
    v1 = blocks.describe_blocks(build_model("mobilenet_v1"), 1)
    assert v1.signature() == [("dwise 3x3", "ReLU"), ("conv 1x1", "ReLU")]


def test_windows_are_checked_before_any_work(v2):
    with pytest.raises(ParameterError, match="first, count"):
        blocks.describe_blocks(v2, 0)
    with pytest.raises(ParameterError, match="first, count"):
        blocks.describe_blocks(v2, 18, 2)
    expansion = build_model("mobilenet_v2", shortcut="expansion")
    with pytest.raises(ParameterError, match="expansion shortcut"):
        blocks.describe([expansion.features[4]], (24, 56, 56), title="x")


def test_describe_leaves_the_model_untouched(v2):
    before = {k: v.clone() for k, v in v2.state_dict().items()}
    v2.train()
    blocks.describe_blocks(v2, 3)
    assert v2.training and next(v2.parameters()).device.type == "cpu"
    assert all(torch.equal(before[k], v) for k, v in v2.state_dict().items())


def test_network_rows_are_table2(v2):
    rows = blocks.stage_rows(v2)
    bottlenecks = [r for r in rows if r.operator == "bottleneck"]
    assert [(r.t, r.out_shape[0], r.n, r.s) for r in bottlenecks] == [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    assert all(r.linear for r in bottlenecks)
    assert not rows[0].linear and not rows[-1].linear  # stem and last conv end in ReLU6
    assert [r.out_shape[1] for r in rows] == [112, 112, 56, 28, 14, 14, 7, 7, 7]
    assert bottlenecks[-1].expanded == 960 and bottlenecks[1].expanded == 144


def test_paper_figure_comparison_and_findings():
    fig2, fig3, fig4 = ideas.figure2(PARAMS), ideas.figure3(PARAMS), ideas.figure4(PARAMS)
    compared = {c["block"]: c["differences"] for c in ideas.compare_blocks(fig4)}
    assert all(not diff for block, diff in compared.items() if "MobileNetV1" not in block)
    assert compared["(a) MobileNetV1"] == [
        (("dwise 3x3", "ReLU"), ("dwise 3x3", "ReLU6")),
        (("conv 1x1", "ReLU"), ("conv 1x1", "ReLU6")),
    ]
    # Figure 2 (a) vs (b): the regular conv costs k² d_j / (k² + d_j) times the separable one.
    ratio = fig2[0].madds / fig2[1].madds
    assert ratio == pytest.approx(9 * 64 / (9 + 64))
    assert fig2[0].madds == 112 * 112 * 64 * 32 * 9  # H W C_out C_in k²
    assert ideas.shortcut_widths(fig3) == [144, 24]
    found = {f.paper_item: f for f in ideas.findings(fig2, fig3, fig4)}
    assert found["Figure 4"].verdict == "partly" and "4 of 5" in found["Figure 4"].finding
    assert "7.9x" in found["Figure 2"].finding


@pytest.mark.slow
def test_drawings_have_one_panel_per_diagram():
    plotting.apply_theme()
    fig4 = ideas.figure4(PARAMS)
    fig = diagram_plots.plot_operators(fig4)
    assert len(fig.axes) == len(fig4)
    variants = ideas.variants(PARAMS, ideas.VARIANTS_6B, 2)
    fig = diagram_plots.plot_tensors(variants)
    assert [ax.get_title(loc="left").split("   ")[0] for ax in fig.axes] == [
        "(a) shortcut between bottlenecks (paper)",
        "(b) shortcut between expansions",
        "(c) no residual",
    ]
    with pytest.raises(ValueError, match="subtitles"):
        diagram_plots.plot_tensors(variants, subtitles=["one"])
    fig = diagram_plots.plot_network(ideas.network(PARAMS), "t")
    assert len(fig.axes[0].get_xticklabels()) == 9
