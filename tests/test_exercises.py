"""Every notebook ends with 2 to 4 exercises, and notebooks/solutions/ solves each of them: the
solutions run here and their answers are checked against independent computations (the paper's
formulas, hand counts, or scipy), so the exercises cannot rot."""

from __future__ import annotations

import importlib.util
import json
import math
import re

import nbformat
import numpy as np
import pytest
import torch
from scipy import stats

from conftest import NOTEBOOKS, ROOT
from mnv2lab.models import TABLE2

SOLUTIONS = ROOT / "notebooks" / "solutions"


def exercises(path) -> list[str]:
    """The numbered items of the notebook's last cell, "## Exercises"."""
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Exercises"), (
        f"{path.name}: the last cell must be the '## Exercises' markdown"
    )
    return re.findall(r"^\d+\. \*\*(.+?)\*\*", last.source, flags=re.M)


def solutions(stem: str):
    path = SOLUTIONS / f"{stem}.py"
    assert path.exists(), f"no solutions file {path.relative_to(ROOT)}"
    spec = importlib.util.spec_from_file_location(f"solutions_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finals(study_dir: str, model: str, **model_kwargs) -> dict[int, dict]:
    """{seed: final metrics} of the result files in results/<study_dir>/ whose model and model
    kwargs match: the committed runs read without the package."""
    out = {}
    for f in sorted((ROOT / "results" / study_dir).glob("*.json")):
        r = json.loads(f.read_text())
        c = r["config"]
        if c["model"] == model and c["model_kwargs"] == model_kwargs:
            out[c["seed"]] = r["final"]
    return out


V2_05 = {"small_input": True, "width_mult": 0.5, "bottleneck": "linear"}


def paired_points(a: dict, b: dict) -> list[float]:
    """100 x (a - b) in final test accuracy, over the seeds both have, in seed order."""
    return [100 * (a[s]["test_acc"] - b[s]["test_acc"]) for s in sorted(set(a) & set(b))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_ends_with_exercises_that_have_solutions(path):
    items = exercises(path)
    assert 2 <= len(items) <= 4, f"{path.name}: {len(items)} exercises; allowed: 2 to 4"
    module = solutions(path.stem)
    solved = sorted(n for n in vars(module) if re.fullmatch(r"exercise_\d+", n))
    assert solved == [f"exercise_{i}" for i in range(1, len(items) + 1)], (
        f"{path.stem}: exercises {items} but solutions {solved}"
    )


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
    assert one["predicted"] == 5 / 16  # (n + 1) / 2^n at n = 4
    assert one["low"] <= 5 / 16 <= one["high"] and one["high"] - one["low"] < 0.02
    two = s.exercise_2()
    assert two["n"] == 11 and (two["n"]) / 2 ** (two["n"] - 1) >= 0.01 > 12 / 2**11


def test_02_architecture_and_cost():
    s = solutions("02_architecture_and_cost")
    by_t = s.exercise_1()
    assert by_t[6]["madds"] == 300_774_272 and by_t[6]["params"] == 3_504_872  # Table 2
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
    diffs = [
        100 * (ref[k].history[-1]["test_acc"] - other[k].history[-1]["test_acc"])
        for k in sorted(set(ref) & set(other))
    ]
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
    sd = (
        two["half_width_now"]
        / stats.t.ppf(0.975, two["seeds_now"] - 1)
        * math.sqrt(two["seeds_now"])
    )
    assert stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) > two["half_width_now"] / 2, (
        "one seed fewer would not be enough"
    )

    three = s.exercise_3()
    long = list(finals("cifar10_long", "mobilenet_v2", shortcut="bottleneck", **V2_05).values())
    assert three["long_seeds"] == len(long) >= 1

    def mean(key: str) -> float:
        return sum(f[key] for f in long) / len(long)

    assert three["long_train_loss"] == pytest.approx(mean("train_loss"))
    assert three["long_test_loss"] == pytest.approx(mean("test_loss"))
    assert three["long_train_images_loss"] == pytest.approx(mean("train_eval_loss"))
    assert three["long_train_images_acc"] == pytest.approx(100 * mean("train_eval_acc"))
    eps = three["label_smoothing"]
    q = [1 - eps + eps / 10] + [eps / 10] * 9
    assert three["smoothing_floor"] == pytest.approx(stats.entropy(q))  # natural log
    assert three["long_train_loss"] > three["smoothing_floor"]  # no model gets under the floor


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
    three = s.exercise_3(half_width=1.0)
    for budget_name, folder in (("5 epochs", "cifar10_ablation"), ("30 epochs", "cifar10_long")):
        got = three[budget_name]
        gaps = paired_points(
            finals(folder, "mobilenet_v2", shortcut="bottleneck", **V2_05),
            finals(folder, "mobilenet_v2", shortcut="expansion", **V2_05),
        )
        assert got["per_seed"] == pytest.approx(gaps, abs=0.006)  # the table rounds to 0.01
        sd = float(np.std(got["per_seed"], ddof=1))
        assert got["sd"] == pytest.approx(sd)
        n = got["seeds_needed"]
        assert stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= 1.0
        assert n == 2 or stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) > 1.0, "not minimal"


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
    three = s.exercise_3(n_images=500, share_below=1e-5)
    # By hand from Table 2 with the small-input strides (stem and the c = 24 stage at stride 1): an
    # expansion runs at its block's input size, so the first block of a stride-2 stage still sees
    # the previous size. 32x32 for both c = 24 blocks and the first c = 32 block, then halving.
    sizes, side = [], 32
    for t, c, n, stride in TABLE2:
        for i in range(n):
            if t != 1:
                sizes.append(side * side)
            if i == 0 and stride == 2 and c != 24:
                side //= 2
    assert three["pixels_per_image"] == sizes and len(sizes) == 16
    assert (three["first_layer_pixels"], three["last_layer_pixels"]) == (500 * 1024, 500 * 16)
    assert three["ratio"] == 64
    assert three["p_min_below_first"] == pytest.approx(-math.expm1(512_000 * math.log1p(-1e-5)))
    assert three["p_min_below_first"] > 0.99 > 0.1 > three["p_min_below_last"] > 0.05


def test_06_v1_vs_v2():
    s = solutions("06_v1_vs_v2")
    from mnv2lab import study

    one = s.exercise_1(0.35)
    assert one["v1_width"] == study.V1_MATCHED_WIDTHS[0.35], "the study's matched width"
    assert abs(one["v1_madds"] - one["v2_madds"]) / one["v2_madds"] < 0.1
    two = s.exercise_2()
    assert two["mobilenet_v2"] > two["mobilenet_v1"] > 0
    three = s.exercise_3()
    short = paired_points(
        finals("cifar10_ablation", "mobilenet_v2", shortcut="bottleneck", **V2_05),
        finals("cifar10_ablation", "mobilenet_v1", small_input=True, width_mult=0.4),
    )
    long = paired_points(
        finals("cifar10_long", "mobilenet_v2", shortcut="bottleneck", **V2_05),
        finals("cifar10_long", "mobilenet_v1", small_input=True, width_mult=0.4, dropout=0.2),
    )
    for got, gaps in ((three["5 epochs"], short), (three["30 epochs"], long)):
        assert got["pairs"] == len(gaps) >= 1
        assert got["per_seed"] == pytest.approx(gaps, abs=0.006)
        assert got["gap"] == pytest.approx(float(np.mean(gaps)))


def _head_by_hand(extras: str, predictor: str) -> tuple[int, int]:
    """(multiply-adds, parameters) of the MobileNetV2 SSD/SSDLite head at 320x320, 80 classes +
    background, from the layer list of the TF Object Detection API. Maps: 576 ch at 20x20 and
    1280 at 10x10 from the trunk, then extras of depth 512/256/256/128 at 5, 3, 2, 1 ("same"
    padding: ceil(n / 2)). BN adds 2 parameters per channel; predictor outputs carry a bias."""
    channels, sides = [576, 1280, 512, 256, 256, 128], [20, 10, 5, 3, 2, 1]
    madds = params = 0
    for i, depth in enumerate([512, 256, 256, 128]):
        c_in, s_in, s_out, half = channels[i + 1], sides[i + 1], sides[i + 2], depth // 2
        madds += s_in**2 * c_in * half  # 1x1 to depth / 2
        params += c_in * half + 2 * half
        if extras == "regular":  # 3x3 stride 2
            madds += s_out**2 * half * depth * 9
            params += half * depth * 9 + 2 * depth
        else:  # dw 3x3 s2, then 1x1
            madds += s_out**2 * (half * 9 + half * depth)
            params += half * 9 + 2 * half + half * depth + 2 * depth
    for c, s, anchors in zip(channels, sides, [3, 6, 6, 6, 6, 6]):
        for out in (anchors * 4, anchors * 81):  # box, class
            if predictor == "regular":  # 3x3 conv + bias
                madds += s * s * c * out * 9
                params += c * out * 9 + out
            else:  # dw 3x3 + BN, 1x1 + bias
                madds += s * s * (c * 9 + c * out)
                params += c * 9 + 2 * c + c * out + out
    return madds, params


def test_07_detection_and_segmentation():
    from mnv2lab.costs import flop_counter_madds
    from mnv2lab.models import build_model
    from mnv2lab.published import TABLE5, TABLE7

    s = solutions("07_detection_and_segmentation")
    one = s.exercise_1()
    for (extras, predictor), got in one.items():
        assert (got["madds"], got["params"]) == _head_by_hand(extras, predictor), (
            extras,
            predictor,
        )
    # Table 5's SSD row to its printed digits (1.25B is truncated); SSDLite's parameters.
    ssd, lite = one[("regular", "regular")], one[("separable", "separable")]
    assert (round(ssd["params"] / 1e6, 1), int(ssd["madds"] / 1e7) / 100) == (14.8, 1.25)
    assert TABLE5["SSD"] == ("14.8", "1.25") and round(lite["params"] / 1e6, 1) == 2.1
    two = s.exercise_2()
    for os_, side in ((16, 33), (8, 65)):  # 513 -> 257 -> 129 -> 65 -> 33
        # Head: image pooling (1x1 conv on a 1x1 map), 1x1 branch, three 3x3 ASPP branches,
        # projection of 5 x 256 channels, logits to 21 classes; all 256 wide, on the 320-ch map.
        head = 320 * 256 + side**2 * (320 * 256 + 3 * 9 * 320 * 256 + 5 * 256 * 256 + 256 * 21)
        assert two[os_]["head_madds"] == head
        with torch.device("meta"):
            model = build_model("deeplabv3", backbone="mobilenet_v2", output_stride=os_, aspp=True)
        assert two[os_]["madds"] == flop_counter_madds(model, 513)
    assert two["os8_over_os16"] == two[8]["madds"] / two[16]["madds"] > 3
    three = s.exercise_3()
    printed = {(r["backbone"], r["os"]): float(r["madds"]) for r in TABLE7 if r["aspp"]}
    for os_ in (16, 8):
        madds = {}
        for bb in ("mobilenet_v1", "mobilenet_v2"):
            with torch.device("meta"):
                model = build_model("deeplabv3", backbone=bb, output_stride=os_, aspp=True)
            madds[bb] = flop_counter_madds(model, 513)
        assert (three[os_]["v1_madds"], three[os_]["v2_madds"]) == (
            madds["mobilenet_v1"],
            madds["mobilenet_v2"],
        )
        assert three[os_]["ours"] == pytest.approx(madds["mobilenet_v1"] / madds["mobilenet_v2"])
        assert three[os_]["printed"] == pytest.approx(
            printed[("mobilenet_v1", os_)] / printed[("mobilenet_v2", os_)]
        )
