"""Tables 5-7: the SSD/SSDLite and DeepLabv3 builders (shapes, anchors, atrous rule), their
counts against the released models' published numbers (to the printed digit), the counting
conventions, and the text's claims. Counts run on the meta device."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnv2lab import dense_prediction as dp
from mnv2lab import published
from mnv2lab.costs import (
    count_madds,
    count_params_folded,
    deployed_gflops,
    eval_sizes,
    flop_counter_madds,
    layer_costs,
    multi_scale_madds,
)
from mnv2lab.models import anchor_count, build_model, map_sizes
from mnv2lab.params import ParameterError


def meta(name, **kw):
    with torch.device("meta"):
        return build_model(name, **kw).eval()


@pytest.mark.parametrize(
    "backbone,channels",
    [
        ("mobilenet_v2", [576, 1280, 512, 256, 256, 128]),
        ("mobilenet_v1", [512, 1024, 512, 256, 256, 128]),
    ],
)
def test_ssdlite_maps_anchors_and_outputs(backbone, channels):
    model = meta("ssdlite", backbone=backbone, num_classes=90)
    maps = model.feature_maps(torch.zeros(1, 3, 300, 300, device="meta"))
    assert [m.shape[1] for m in maps] == channels
    assert [m.shape[-1] for m in maps] == map_sizes(300) == [19, 10, 5, 3, 2, 1]
    assert sum(anchor_count(300)) == 1917  # the released config's anchors
    boxes, scores = model(torch.zeros(2, 3, 300, 300, device="meta"))
    assert tuple(boxes.shape) == (2, 1917, 4) and tuple(scores.shape) == (2, 1917, 91)
    boxes, _ = model(torch.zeros(1, 3, 320, 320, device="meta"))
    assert boxes.shape[1] == sum(anchor_count(320)) == 3 * 20 * 20 + 6 * (100 + 25 + 9 + 4 + 1)


def test_ssdlite_runs_for_real_and_heads_are_separable():
    torch.manual_seed(0)
    model = build_model("ssdlite", num_classes=3).eval()
    with torch.no_grad():
        boxes, scores = model(torch.randn(1, 3, 64, 64))
    assert boxes.shape == (1, sum(anchor_count(64)), 4) and scores.shape[-1] == 4
    assert torch.isfinite(boxes).all() and torch.isfinite(scores).all()
    first = model.box_heads[0]
    assert first[0].conv.groups == first[0].conv.in_channels and first[1].kernel_size == (1, 1)
    assert meta("ssd").box_heads[0][0].kernel_size == (3, 3)


def test_deeplab_logits_at_input_size_and_output_stride():
    for os_, side in ((16, 33), (8, 65)):
        model = meta("deeplabv3", output_stride=os_, aspp=True)
        x = torch.zeros(1, 3, 513, 513, device="meta")
        assert model.trunk(x)[-1].shape[-1] == side
        assert tuple(model(x).shape) == (1, 21, 513, 513)
    real = build_model("deeplabv3", backbone="mobilenet_v1", num_classes=5).eval()
    with torch.no_grad():
        assert real(torch.randn(1, 3, 65, 97)).shape == (1, 5, 65, 97)


def test_slim_atrous_rule_on_mobilenet_v2_and_resnet():
    # the notes: OS16 -> layers 16-18 at rate 2; OS8 -> layer_8 stride 1 rate 1, layers 9-14 rate 2,
    # layer 15 stride 1 rate 2, layers 16-18 rate 4 (layer_k is unit k, the stem is layer_1)
    os16 = meta("deeplabv3", output_stride=16).trunk.atrous
    assert os16[14] == (1, 1) and os16[15:] == [(1, 2)] * 3 and os16[13] == (1, 1)
    os8 = meta("deeplabv3", output_stride=8).trunk.atrous
    assert os8[7] == (1, 1) and os8[8:14] == [(1, 2)] * 6 and os8[14] == (1, 2)
    assert os8[15:] == [(1, 4)] * 3 and os8[:7] == [
        (2, 1),
        (1, 1),
        (2, 1),
        (1, 1),
        (2, 1),
        (1, 1),
        (1, 1),
    ]
    trunk = meta("deeplabv3", backbone="mobilenet_v2", output_stride=16).trunk
    assert trunk.layers[16].depthwise.conv.dilation == (2, 2)
    assert trunk.layers[14].depthwise.conv.stride == (1, 1)
    res16 = meta("deeplabv3", backbone="resnet_101", output_stride=16).trunk.atrous
    assert res16[-3:] == [(1, 2), (1, 4), (1, 8)] and res16[2] == (2, 1) and res16[29] == (1, 1)
    res8 = meta("deeplabv3", backbone="resnet_101", output_stride=8).trunk.atrous
    assert res8[-3:] == [(1, 4), (1, 8), (1, 16)] and res8[6] == (1, 1) and res8[7] == (1, 2)


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({"output_stride": 4}, "output_stride"),
        ({"backbone": "vgg"}, "backbone"),
        ({"aspp": 1}, "aspp"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_deeplab_bad_arguments_are_named(kwargs, word):
    with pytest.raises(ParameterError, match=word):
        build_model("deeplabv3", **kwargs)


@pytest.mark.parametrize(
    "name,kwargs,word",
    [
        ("ssd", {"extras": "dense"}, "extras"),
        ("ssd", {"predictor": "5x5"}, "predictor"),
        ("ssdlite", {"backbone": "resnet"}, "backbone"),
    ],
)
def test_ssd_bad_arguments_are_named(name, kwargs, word):
    with pytest.raises(ParameterError, match=word):
        build_model(name, **kwargs)


@pytest.mark.parametrize("name", list(published.OPENVINO_DETECTORS))
def test_released_detector_params_to_the_printed_digit(name):
    ref = published.OPENVINO_DETECTORS[name]
    model = meta(ref["model"], num_classes=90, **ref["kwargs"])
    assert f"{count_params_folded(model) / 1e6:.3f}" == ref["mparams"]
    # GFLOPs: 2 x (MAdds + conv outputs) gives the printed digits for the two V2 models; V1 is
    # 0.001 short (2.493 vs 2.494): recorded, not hidden
    printed = float(ref["gflops"])
    ours = deployed_gflops(model, 300)
    if name == "ssd_mobilenet_v1_coco":
        assert f"{ours:.3f}" == "2.493"
    else:
        assert f"{ours:.3f}" == ref["gflops"]
    assert abs(2 * count_madds(model, 300) / 1e9 / printed - 1) < 0.02  # "about 2x MAdds"


def test_table7_params_and_v2_madds_to_the_printed_digit():
    for row in published.TABLE7:
        if row["os"] != 16:
            continue
        c = dp.counts(
            "deeplabv3", 513, backbone=row["backbone"], output_stride=16, aspp=row["aspp"]
        )
        assert dp.printed_match(row["params"], c["params"] / 1e6) == "rounded", row
        # separable ASPP would not reproduce the printed parameters
        if row["aspp"]:
            sep = dp.counts(
                "deeplabv3",
                513,
                backbone=row["backbone"],
                output_stride=16,
                aspp=True,
                aspp_separable=True,
            )
            assert dp.printed_match(row["params"], sep["params"] / 1e6) is None
    v2 = published.TABLE7[2]
    assert (
        dp.printed_match(
            v2["madds"], dp.seg_madds(v2, separable=False, dilated="nominal", crop=513) / 1e9
        )
        is None
    )
    assert (
        dp.printed_match(
            v2["madds"],
            dp.seg_madds(v2, separable=False, dilated="tf1_space_to_batch", crop=513) / 1e9,
        )
        == "rounded"
    )


def test_released_deeplab_madds_within_a_third_of_a_percent():
    zoo = dict(list(published.DEEPLAB_ZOO.items())[:2])
    table = dp.released_deeplab(zoo)
    assert (table["gap tf1_space_to_batch (%)"].abs() < 0.3).all()
    assert (table["gap tf1_space_to_batch (%)"].abs() <= table["gap nominal (%)"].abs()).all()


def test_dilated_convention_counts_the_padded_inner_conv():
    conv = nn.Conv2d(3, 4, 3, padding=6, dilation=6, bias=False)
    model = nn.Sequential(conv)
    [nominal] = layer_costs(model, 33)
    [tf1] = layer_costs(model, 33, dilated="tf1_space_to_batch")
    assert nominal.madds == 33 * 33 * 4 * 3 * 9 == flop_counter_madds(model, 33)
    assert tf1.madds == 36 * 36 * 4 * 3 * 9  # 33 padded up to a multiple of 6
    with pytest.raises(ParameterError, match="dilated"):
        layer_costs(model, 33, dilated="tfprof")


def test_multi_scale_is_a_sum_over_passes():
    assert eval_sizes(513, published.DEEPLAB_SCALES) == [257, 385, 513, 641, 769, 897]
    model = meta("deeplabv3")
    one, two = count_madds(model, 257), count_madds(model, 385)
    assert multi_scale_madds(model, [257, 385], flip=True) == 2 * (one + two)
    assert multi_scale_madds(model, [257], flip=False) == one


def test_flop_counter_agrees_on_every_network():
    table = dp.flop_counter_check(96, 97)
    assert table.equal.all() and len(table) == 7


def test_printed_match_rounding_and_truncation():
    assert dp.printed_match("1.25", 1.2591) == "truncated"
    assert dp.printed_match("0.8", 0.789) == "rounded"
    assert dp.printed_match("0.8", 0.7) is None
    assert dp.printed_match("387", 387.48) == "rounded"


def test_tables_5_and_6_cells():
    t5 = dp.table5().set_index(["row", "quantity"])
    assert t5.loc[("SSD", "MAdds (B)"), dp.OURS] == pytest.approx(1.259, abs=5e-4)
    assert bool(t5.loc[("SSD", "params (M)"), "paper's setting reproduces"])
    lite = t5.loc[("SSDLite", "MAdds (B)")]
    assert not lite["paper's setting reproduces"]  # 0.178B vs printed 0.35B
    assert lite[dp.HOW] == "320px, 80 cls, 2 FLOPs/MAdd (truncated)"
    t6 = dp.table6()
    assert t6["paper's setting reproduces"].all() and len(t6) == 4


def test_the_texts_claims():
    rows = [r for r in published.TABLE7 if r["os"] in (16, 8) and r["aspp"]]
    claims = dp.claims(dp.table7_counts(rows=rows)).set_index("claim")
    assert claims.loc["20x more efficient than YOLOv2 (MAdds ratio)", "ours"] > 20
    assert claims.loc["10x smaller than YOLOv2 (params ratio)", "ours"] > 10
    assert (
        claims.loc[
            "V2 + SSDLite the most accurate of the three (mAP minus the best other)", "printed"
        ]
        < 0
    )  # 22.1 < 22.2
    lo, hi = published.SECTION6_CLAIMS["resnet_vs_v1"]
    ours = claims.loc[
        ["ResNet-101 / MNet V1 MAdds, OS16", "ResNet-101 / MNet V1 MAdds, OS8"], "ours"
    ]
    assert round(ours.min(), 1) == lo and round(ours.max(), 1) == hi  # 4.9 and 5.7, ours
    printed = claims.loc[
        ["ResNet-101 / MNet V1 MAdds, OS16", "ResNet-101 / MNet V1 MAdds, OS8"], "printed"
    ]
    assert round(printed.min(), 1) == 5.2  # the table gives 5.2-5.7
    v2 = claims.loc[
        ["MNet V1 / MNet V2* MAdds (both ASPP), OS16", "MNet V1 / MNet V2* MAdds (both ASPP), OS8"],
        "ours",
    ]
    assert ((v2 > 2.4) & (v2 < 2.6)).all()


def test_new_models_fingerprint_their_own_files():
    from mnv2lab.latency import model_files

    assert {"models/ssd.py", "models/trunks.py"} <= set(model_files("ssdlite"))
    assert "models/deeplab.py" not in model_files("ssdlite")
    assert {"models/deeplab.py", "models/resnet_beta.py"} <= set(model_files("deeplabv3"))
    assert "models/ssd.py" not in model_files("mobilenet_v2")
