"""The architecture-and-cost notebook's package logic: Table 1 from a block, Table 4 beside the
printed values, the verdicts, the parameter spec and the figures (built, not looked at)."""

from __future__ import annotations

import matplotlib
import pytest

from mnv2lab import cost_plots, cost_report, memory, published, section5
from mnv2lab.costs import model_costs
from mnv2lab.params import ParameterError, validate

matplotlib.use("Agg")


def test_table1_is_read_off_the_block():
    t1 = cost_report.table1()
    assert list(t1.operator) == ["1x1 conv2d, ReLU6", "3x3 dwise s=1, ReLU6", "linear 1x1 conv2d"]
    assert list(t1["input (t=6, s=1)"]) == ["56 × 56 × 24", "56 × 56 × 144", "56 × 56 × 144"]
    assert list(t1["output (t=6, s=1)"])[-1] == "56 × 56 × 24"
    check = cost_report.table1_formula_check()
    assert check["formula"] == check["counted"] == 56 * 56 * 24 * 6 * (24 + 9 + 24)
    stride2 = cost_report.table1(block_index=2)
    assert stride2.operator.iloc[1] == "3x3 dwise s=2, ReLU6"
    assert stride2["output (t=6, s=2)"].iloc[-1] == "56 × 56 × 24"


def test_table4_agreement_pattern():
    """Table 4 printed to 0.1M params and 1M MAdds; convention: truncated, params without BN."""
    t4 = cost_report.table4().set_index("network")
    assert t4["ours MAdds (M)"].isna()["NasNet-A"]
    built = t4.drop(index="NasNet-A")
    assert dict(built["params agree"]) == {
        "MobileNetV1": True,
        "ShuffleNet (1.5)": True,
        "ShuffleNet (x2)": True,
        "MobileNetV2": True,
        "MobileNetV2 (1.4)": False,
    }
    assert dict(built["MAdds agree"]) == {
        "MobileNetV1": False,
        "ShuffleNet (1.5)": True,
        "ShuffleNet (x2)": True,
        "MobileNetV2": True,
        "MobileNetV2 (1.4)": False,
    }
    # MobileNetV2's 3.4M and 300M only truncated: 3.47M -> 3.5 and 300.77M -> 301 rounded
    assert built.loc["MobileNetV2", "params: rounded agrees for"] == "none"
    assert built.loc["MobileNetV2", "params: truncated agrees for"] == "without BN"
    assert not built.loc["MobileNetV2", "MAdds: rounded"]
    # ShuffleNet 2x with BN (5,450,776) rounds to 5.5 but truncates to 5.4
    assert built.loc["ShuffleNet (x2)", "params: rounded agrees for"] == "without BN"
    assert built["same verdicts at 1001 classes"].all()
    assert built.loc["MobileNetV2 (1.4)", "ours params, without BN (M)"] == 6.061
    assert built.loc["MobileNetV1", "ours MAdds (M)"] == 568.7


def test_table4_convention_is_truncation_without_bn():
    conv = cost_report.conventions(cost_report.table4_cells())
    best = conv[conv.agree == conv.agree.max()]
    assert set(zip(best["printed as"], best.params)) == {("truncated", "without BN")}
    assert set(best.classes) == {1000, 1001} and (best.agree == 7).all() and (best.of == 10).all()
    assert conv[conv["printed as"] == "rounded"].agree.max() == 5


def test_checkpoint_table_is_truncated_without_bn_at_1001_classes():
    """[TF2]'s table: MACs to 1M, params to 0.01M. Only truncation, no BN and the checkpoints'
    1001 classes reproduce all 44 cells; at 1000 classes the 0.75 rows (2,609,784 -> 2.60) fail."""
    cells = cost_report.checkpoint_cells()
    conv = cost_report.conventions(cells).set_index(["printed as", "params", "classes"])
    assert (conv.agree == conv.of).sum() == 1
    assert conv.loc[("truncated", "without BN", 1001), "agree"] == 44
    assert conv.loc[("truncated", "without BN", 1000), "params cells"] == "17 of 22"
    assert conv.loc[("rounded", "without BN", 1000), "params cells"] == "22 of 22"
    assert conv.loc[("rounded", "without BN", 1000), "MAdds cells"] == "14 of 22"
    bad = cells[(cells.classes == 1000) & (cells.BN == "without BN") & ~cells.truncated]
    assert set(bad.width) == {0.75} and len(bad) == 5


def test_table4_notes_quote_computed_numbers():
    g2 = model_costs("shufflenet_v1", 224, groups=2, width_mult=2.0)
    note = cost_report.TABLE4_NOTES["ShuffleNet (x2)"]
    assert f"{g2['params'] / 1e6:.2f}M ({g2['params_no_bn'] / 1e6:.2f}M without BN)" in note
    assert f"{g2['madds'] / 1e6:.0f}M" in note
    g3 = model_costs("shufflenet_v1", 224, groups=3, width_mult=2.0)
    assert f"{g3['params'] / 1e6:.2f}M" in note


def test_findings_are_computed_with_numbers():
    grid = cost_report.cost_grids([0.35, 1.0], [96, 224])
    found = {f.paper_item: (f.verdict, f.finding) for f in cost_report.findings(grid)}
    assert found["Table 2"][0] == "reproduced" and "3,504,872" in found["Table 2"][1]
    assert found["Table 3"][0] == "partly" and "11 of 21" in found["Table 3"][1]
    assert "7 of 10" in found["Table 4"][1] and "at most 5" in found["Table 4"][1]
    assert found["Figure 5"][0] == "reproduced" and "22 of 22" in found["Figure 5"][1]
    assert "(17 at 1000)" in found["Figure 5"][1]
    assert "3562 kB all held" in found["Section 5"][1] and "3011 kB" in found["Section 5"][1]
    assert "2.4-3.3x" in found["Section 5"][1]
    assert (
        "No convention gives MobileNetV1 575M (ours 568.7M); MobileNetV2 (1.4) 6.9M/585M "
        "(ours 6.06M/582.2M)." in found["Table 4"][1]
    )
    layers = found["Section 4 (19 bottleneck layers)"]
    assert layers[0] == "not reproduced"
    assert (
        "17 bottleneck blocks (10 with a shortcut); 19 only when counting blocks + last 1x1 "
        "conv + classifier or blocks + stem + last 1x1 conv (2 of 7 readings)" in layers[1]
    )
    cost = found["Section 4 (cost range)"]
    assert cost[0] == "partly" and cost[1].startswith("1 of 4 numbers hold")
    assert "11.9M MAdds vs '7' (no reading gives 7M, lowest 9.4M)" in cost[1]
    assert "vs 1.7M (rounded)-6.9M" in cost[1]
    assert all(len(text) <= 300 for _, text in found.values())


def test_cost_takeaway_says_what_the_grid_shows():
    grid = cost_report.cost_grids([0.35, 1.0], [224])
    text = cost_report.cost_takeaway(grid)
    assert "0.53 to 0.79" in text and "widths 1." in text


def test_spec_rejects_bad_grids():
    good = {"smoke": True, "out_dir": "x", "widths": [0.5], "resolutions": [96], "classes": 10}
    assert validate(good, cost_report.SPEC)["widths"] == [0.5]
    for name, bad in (("widths", [0.0]), ("resolutions", [16]), ("classes", 0), ("widths", [])):
        with pytest.raises(ParameterError, match=name):
            validate({**good, name: bad}, cost_report.SPEC)


def test_smoke_subset():
    assert cost_report.smoke_subset([1, 2, 3, 4], True) == [1, 4]
    assert cost_report.smoke_subset([1, 2, 3, 4], False) == [1, 2, 3, 4]
    assert cost_report.smoke_subset([7], True) == [7]


def test_figure5_points_use_computed_madds():
    pts = cost_report.figure5_points([1.0], [224])
    v2 = pts[pts.family == "MobileNetV2"]
    assert list(v2.madds) == [300_774_272] and list(v2.top1) == [published.V2_TOP1[(1.0, 224)]]
    sh = pts[pts.family == "ShuffleNet"].set_index("width")
    assert (abs(sh.madds / 1e6 - sh.printed_madds / 1e6) < 3).all()  # 1x: 137.5 vs "140"
    # each point is built with the groups of the network whose top-1 is quoted (g=8 at 0.25x)
    assert sh.groups.to_dict() == published.SHUFFLENET_TOP1_GROUPS


def test_figures_build():
    grid = cost_report.cost_grids([0.5, 1.0], [96, 128])
    figs = [
        cost_plots.plot_cost_grid(grid),
        cost_plots.plot_figure5(cost_report.figure5_points([0.5, 1.0], [96, 128])),
        cost_plots.plot_memory(memory.table3(), memory.table3(policy="every")),
        cost_plots.plot_sliced_memory(
            section5.sliced_memory_table(cost_report.meta_model("mobilenet_v2")), 401.4
        ),
    ]
    for fig in figs:
        assert fig.axes and all(ax.get_xlabel() and ax.get_title() for ax in fig.axes)
        matplotlib.pyplot.close(fig)
