"""Every notebook ends with 2 to 4 exercises, and notebooks/solutions/ solves each of them: the
solutions run here and their answers are checked against independent computations (the paper's
formulas, hand counts, or scipy), so the exercises cannot rot."""

from __future__ import annotations

import importlib.util
import math
import re

import nbformat
import pytest
from scipy import stats

from conftest import NOTEBOOKS, ROOT
from mnv2lab.models import TABLE2

SOLUTIONS = ROOT / "notebooks" / "solutions"


def exercises(path) -> list[str]:
    """The numbered items of the notebook's last cell, "## Exercises"."""
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Exercises"), \
        f"{path.name}: the last cell must be the '## Exercises' markdown"
    return re.findall(r"^\d+\. \*\*(.+?)\*\*", last.source, flags=re.M)


def solutions(stem: str):
    path = SOLUTIONS / f"{stem}.py"
    assert path.exists(), f"no solutions file {path.relative_to(ROOT)}"
    spec = importlib.util.spec_from_file_location(f"solutions_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_ends_with_exercises_that_have_solutions(path):
    items = exercises(path)
    assert 2 <= len(items) <= 4, f"{path.name}: {len(items)} exercises; allowed: 2 to 4"
    module = solutions(path.stem)
    solved = sorted(n for n in vars(module) if re.fullmatch(r"exercise_\d+", n))
    assert solved == [f"exercise_{i}" for i in range(1, len(items) + 1)], \
        f"{path.stem}: exercises {items} but solutions {solved}"


# --- the answers ----------------------------------------------------------------------------------

def test_00_ideas():
    s = solutions("00_ideas")
    one = s.exercise_1()
    # Block (d) with t = 3: 16 -> 48 (1x1, 112²), depthwise 3x3 stride 2 (56²), 48 -> 24 (1x1, 56²).
    assert one["expansion_channels"] == 48
    assert one["madds"] == 112 * 112 * 48 * 16 + 56 * 56 * 48 * 9 + 56 * 56 * 24 * 48
    two = s.exercise_2()
    assert two["formula"] == pytest.approx(9 * 64 / (9 + 64))
    assert two["measured"] == pytest.approx(two["formula"], rel=1e-12)
    three = s.exercise_3()
    assert three["blocks"] == sum(n for _, _, n, _ in TABLE2) == 17
    assert three["with_shortcut"] == sum(n - 1 for _, _, n, _ in TABLE2) == 10


def test_01_relu_manifold():
    s = solutions("01_relu_manifold")
    one = s.exercise_1()
    assert one["predicted"] == 5 / 16                       # (n + 1) / 2^n at n = 4
    assert one["low"] <= 5 / 16 <= one["high"] and one["high"] - one["low"] < 0.02
    two = s.exercise_2()
    assert two["n"] == 11 and (two["n"]) / 2 ** (two["n"] - 1) >= 0.01 > 12 / 2 ** 11


def test_02_architecture_and_cost():
    s = solutions("02_architecture_and_cost")
    by_t = s.exercise_1()
    assert by_t[6]["madds"] == 300_774_272 and by_t[6]["params"] == 3_504_872   # Table 2
    # Only the t = 6 rows' expanded layers depend on t, linearly: t = 4 is the mean of 2 and 6.
    for key in ("madds", "params"):
        assert 2 * by_t[4][key] == by_t[2][key] + by_t[6][key]
        assert by_t[2][key] < by_t[4][key] < by_t[6][key]
    two = s.exercise_2()
    assert two["v1_madds"] >= two["v2_madds"]
    from mnv2lab.costs import model_costs
    below = model_costs("mobilenet_v1", 224, width_mult=round(two["v1_width"] - 0.01, 2))
    assert below["madds"] < two["v2_madds"], "the smallest such width on the 0.01 grid"
    # V1's cost is nearly quadratic in its width: 568.7M at 1.0 -> about sqrt(300.8 / 568.7).
    assert abs(two["v1_width"] - math.sqrt(300.77 / 568.74)) < 0.02


def _independent_gap(results, variant: str) -> tuple[float, float, float]:
    """mean and 95% t-interval of reference - variant from the stored histories, with scipy."""
    ref, other = results.runs("linear", 0.5), results.runs(variant, 0.5)
    diffs = [100 * (ref[k].history[-1]["test_acc"] - other[k].history[-1]["test_acc"])
             for k in sorted(set(ref) & set(other))]
    mean = sum(diffs) / len(diffs)
    half = stats.t.ppf(0.975, len(diffs) - 1) * stats.tstd(diffs) / math.sqrt(len(diffs))
    return mean, mean - half, mean + half


def test_03_bottleneck_ablation():
    s = solutions("03_bottleneck_ablation")
    one = s.exercise_1()
    mean, low, high = _independent_gap(s._study.committed("fig6a"), "relu6")
    assert (one["mean"], one["low"], one["high"]) == pytest.approx((mean, low, high), abs=1e-9)
    assert one["excludes_zero"] == (low > 0 or high < 0)
    two = s.exercise_2()
    n = two["seeds_needed"]
    assert two["half_width_then"] <= two["half_width_now"] / 2
    sd = two["half_width_now"] / stats.t.ppf(0.975, two["seeds_now"] - 1) * math.sqrt(
        two["seeds_now"])
    assert stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) > two["half_width_now"] / 2, \
        "one seed fewer would not be enough"


def test_04_shortcut_ablation():
    s = solutions("04_shortcut_ablation")
    costs = s.exercise_1()
    assert costs["bottleneck"] == costs["expansion"] == costs["none"]
    assert costs["bottleneck"]["madds"] > 0
    gaps = s.exercise_2()
    results = s._study.committed("fig6b")
    for variant, got in gaps.items():
        mean, low, high = _independent_gap(results, variant)
        assert (got["mean"], got["low"], got["high"]) == pytest.approx((mean, low, high), abs=1e-9)
        assert got["excludes_zero"] == (low > 0 or high < 0)


def test_05_activation_patterns():
    s = solutions("05_activation_patterns")
    one = s.exercise_1()
    # One ReLU6 per block with an expansion: every block but the t = 1 one; none when t = 1.
    assert one[6] == sum(n for t, _, n, _ in TABLE2 if t != 1) == 16 and one[1] == 0
    two = s.exercise_2()
    # Narrowest expansion: 16 channels at width 0.5 (make_divisible(8) -> 8) times 6 = 48 ...;
    # widest: 160 x 0.5 = 80, times 6 = 480.
    assert (two["narrowest"], two["widest"]) == (8 * 6, 80 * 6)
    assert (two["needed_narrowest"], two["needed_widest"]) == (8, 80)


def test_06_v1_vs_v2():
    s = solutions("06_v1_vs_v2")
    from mnv2lab import study
    one = s.exercise_1(0.35)
    assert one["v1_width"] == study.V1_MATCHED_WIDTHS[0.35], "the study's matched width"
    assert abs(one["v1_madds"] - one["v2_madds"]) / one["v2_madds"] < 0.1
    two = s.exercise_2()
    assert two["mobilenet_v2"] > two["mobilenet_v1"] > 0
