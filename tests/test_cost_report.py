"""The architecture-and-cost notebook's package logic: Table 1 from a block, Table 4 beside the
printed values, the verdicts, the parameter spec and the figures (built, not looked at)."""

from __future__ import annotations

import matplotlib
import pytest

from mnv2lab import cost_plots, cost_report, memory, published, section5
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
    t4 = cost_report.table4().set_index("network")
    assert t4["ours MAdds (M)"].isna()["NasNet-A"]
    built = t4.drop(index="NasNet-A")
    assert dict(built["params agree"]) == {
        "MobileNetV1": True, "ShuffleNet (1.5)": True, "ShuffleNet (x2)": True,
        "MobileNetV2": False, "MobileNetV2 (1.4)": False}
    assert dict(built["MAdds agree"]) == {
        "MobileNetV1": False, "ShuffleNet (1.5)": True, "ShuffleNet (x2)": True,
        "MobileNetV2": True, "MobileNetV2 (1.4)": False}
    assert built.loc["MobileNetV2 (1.4)", "ours params, no BN (M)"] == 6.061
    assert built.loc["MobileNetV1", "ours MAdds (M)"] == 568.7


def test_findings_are_computed_with_numbers():
    grid = cost_report.cost_grids([0.35, 1.0], [96, 224])
    found = {f.paper_item: (f.verdict, f.finding) for f in cost_report.findings(grid)}
    assert found["Table 2"][0] == "reproduced" and "3,504,872" in found["Table 2"][1]
    assert found["Table 3"][0] == "partly" and "11 of 21" in found["Table 3"][1]
    assert "6 of 10" in found["Table 4"][1]
    assert found["Figure 5"][0] == "reproduced" and "22 of 22" in found["Figure 5"][1]
    assert "3562 kB unsliced" in found["Section 5"][1]
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
    assert (abs(sh.madds / 1e6 - sh.printed_madds / 1e6) < 3).all()     # 1x: 137.5 vs "140"
    # each point is built with the groups of the network whose top-1 is quoted (g=8 at 0.25x)
    assert sh.groups.to_dict() == published.SHUFFLENET_TOP1_GROUPS


def test_figures_build():
    grid = cost_report.cost_grids([0.5, 1.0], [96, 128])
    figs = [cost_plots.plot_cost_grid(grid),
            cost_plots.plot_figure5(cost_report.figure5_points([0.5, 1.0], [96, 128])),
            cost_plots.plot_memory(memory.table3(), memory.table3(policy="every")),
            cost_plots.plot_sliced_memory(
                section5.sliced_memory_table(cost_report.meta_model("mobilenet_v2")), 401.4)]
    for fig in figs:
        assert fig.axes and all(ax.get_xlabel() and ax.get_title() for ax in fig.axes)
        matplotlib.pyplot.close(fig)
