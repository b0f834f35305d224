"""The Section 4 sentences with counts: "19 residual bottleneck layers" and the cost range of
Figure 5's models ("7 multiply adds to 585M MAdds", "1.7M and 6.9M parameters"). Counting
conventions: multiply-adds of conv and linear layers, 1000 classes unless stated; parameters
with and without BN, labelled; agreement to the printed digit, rounded and truncated."""

from mnv2lab import text_claims


def test_nineteen_layers_only_with_two_non_bottleneck_layers():
    r = text_claims.layer_count_readings().set_index("reading")["count"]
    assert r["bottleneck blocks (Table 2's n summed)"] == 17 == 1 + 2 + 3 + 4 + 3 + 3 + 1
    assert r["bottleneck blocks with an identity shortcut (residual)"] == 10
    assert r["bottleneck blocks with an expansion layer (t > 1)"] == 16
    nineteen = sorted(k for k, v in r.items() if v == 19)
    assert nineteen == [
        "bottlenecks and Table 2's two conv2d lines (stem 3x3, last 1x1)",
        "weight layers after the stem (bottlenecks, 1x1 conv, classifier)",
    ]
    assert r["every Table 2 line with its repeats"] == 21


def test_cost_range_of_figure5_models():
    t = text_claims.cost_range()
    by = {(row.claim, row["count"]): row for _, row in t.iterrows()}
    small = by[("smallest MAdds", "MAdds")]
    assert (small.width, small.resolution) == (0.35, 96)
    assert round(small["ours (M)"] * 1e6) == 11_934_128  # printed "7": no
    assert not (small.rounded or small.truncated)
    large = by[("largest MAdds", "MAdds")]
    assert (large.width, large.resolution) == (1.4, 224)
    assert round(large["ours (M)"] * 1e6) == 582_195_824  # printed 585: no
    assert not (large.rounded or large.truncated)
    # 1.7M: 1,663,048 (no BN) and 1,677,128 (BN) both round to 1.7, neither truncates to it
    for bn in ("params with BN", "params without BN"):
        lo, hi = by[("smallest params", bn)], by[("largest params", bn)]
        assert (lo.rounded, lo.truncated) == (True, False)
        assert not (hi.rounded or hi.truncated)  # 6.06M / 6.11M vs 6.9M
    assert round(by[("largest params", "params without BN")]["ours (M)"] * 1e6) == 6_060_840


def test_no_reading_of_the_smallest_model_gives_7m():
    r = text_claims.smallest_madds_readings().set_index("reading")["MAdds (M)"].mul(1e6).round()
    assert r["as built, 1000 classes"] == 11_934_128
    assert r["1001 classes (released checkpoints)"] == 11_934_128 + 1280
    assert r["without the classifier"] == 11_934_128 - 1280 * 1000
    # the last conv's input is 112 channels at 3x3 (96 / 32)
    assert (
        r["without the last 1x1 conv and the classifier"]
        == 11_934_128 - 1280 * 1000 - 3 * 3 * 112 * 1280
    )
    assert (
        r["last 1x1 conv scaled by the width (448 channels)"]
        == 11_934_128 - 1280 * 1000 - 3 * 3 * 112 * 1280 + 3 * 3 * 112 * 448 + 448 * 1000
    )
    t = text_claims.smallest_madds_readings()
    assert not t[["rounded", "truncated"]].to_numpy().any()
    assert t["MAdds (M)"].min() > 9  # nowhere near 7M


def test_the_initial_layer_has_32_filters():
    import torch

    from mnv2lab import published
    from mnv2lab.models import build_model

    with torch.device("meta"):
        model = build_model("mobilenet_v2")
    stem = model.layer_rows()[0]
    assert stem.operator == "conv2d 3x3" and stem.c == published.TEXT_STEM_FILTERS == 32
