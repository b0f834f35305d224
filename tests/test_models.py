"""The models: structure as in the papers' tables, every switch and its validation, shapes at any
resolution, channels_last, training, and the expansion-shortcut reading."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnv2lab.models import (
    MODELS,
    TABLE2,
    ChannelShuffle,
    InvertedResidual,
    ShuffleUnit,
    build_model,
    expansion_activations,
    make_divisible,
    mobilenet_v1,
    mobilenet_v2,
    model_names,
    shufflenet_v1,
)
from mnv2lab.params import ParameterError

torch.set_num_threads(1)

# Keyword arguments that make each registered model quick to test. Tests meant for every model
# parametrize over model_names() and look the model up here, so a newly registered model fails
# with a KeyError naming it until it has an entry.
SMALL = {
    "mobilenet_v2": {"width_mult": 0.35},
    "mobilenet_v1": {"width_mult": 0.25},
    "shufflenet_v1": {"width_mult": 0.5},
}
# The detection and segmentation models (Tables 5-7) take other arguments and return other outputs;
# tests/test_dense_prediction.py covers them.
DENSE = {"ssdlite", "ssd", "deeplabv3"}
EVERY_MODEL = [(name, SMALL[name]) for name in model_names() if name not in DENSE]


def test_every_registered_model_is_tested_somewhere():
    assert set(model_names()) == set(SMALL) | DENSE


def blocks(model):
    return [m for m in model.modules() if isinstance(m, InvertedResidual)]


def differs(a, b):
    """Clearly different tensors (relative to their scale; classifier outputs are ~1e-9 at init)."""
    return (a - b).abs().max() > 1e-3 * a.abs().max()


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ registry


def test_registry_names_and_builder():
    assert model_names() == [
        "mobilenet_v2",
        "mobilenet_v1",
        "shufflenet_v1",
        "ssdlite",
        "ssd",
        "deeplabv3",
    ]
    assert set(MODELS) == set(model_names())
    m = build_model("mobilenet_v2", width_mult=0.5, num_classes=7)
    assert m.classifier[-1].out_features == 7 and m.width_mult == 0.5


def test_unknown_model_name_lists_the_names():
    with pytest.raises(ParameterError) as err:
        build_model("mobilenet_v3")
    msg = str(err.value)
    assert "'mobilenet_v3'" in msg and all(n in msg for n in model_names())


# ------------------------------------------------------------------ MobileNetV2 structure


def test_width_rounding_matches_the_reference_rule():
    assert [make_divisible(c * 0.35) for c in (32, 16, 24, 32, 64, 96, 160, 320)] == [
        16,
        8,
        8,
        16,
        24,
        32,
        56,
        112,
    ]
    assert make_divisible(1280 * 1.4) == 1792
    for v in (3.0, 10.0, 13.0, 33.6, 115.2, 447.9):
        r = make_divisible(v)
        assert r % 8 == 0 and r >= 0.9 * v


@pytest.mark.parametrize("width,last", [(0.35, 1280), (0.5, 1280), (1.0, 1280), (1.4, 1792)])
def test_last_conv_kept_below_one_scaled_above(width, last):
    m = mobilenet_v2(width)
    assert m.last_channels == last and m.classifier[-1].in_features == last


def test_v2_follows_table2():
    m = mobilenet_v2()
    bs = blocks(m)
    assert len(bs) == sum(n for _, _, n, _ in TABLE2) == 17
    assert len(m.features) == 19  # stem, 17 blocks, last conv
    expected = [(t, c, s if i == 0 else 1) for t, c, n, s in TABLE2 for i in range(n)]
    assert [(b.expand_ratio, b.out_channels, b.stride) for b in bs] == expected
    assert bs[0].expand is None and all(b.expand is not None for b in bs[1:])
    assert sum(b.use_shortcut for b in bs) == 10
    for b in bs:
        assert b.use_shortcut == (b.stride == 1 and b.in_channels == b.out_channels)
        assert isinstance(b.depthwise.act, nn.ReLU6)
        assert b.depthwise.conv.groups == b.hidden_channels
        assert not hasattr(b.project, "act")  # linear bottleneck
    acts = expansion_activations(m)
    assert len(acts) == 16 and all(isinstance(a, nn.ReLU6) for _, a in acts)
    assert acts[0][0] == "features.2.expand.act"
    assert dict(m.named_modules())[acts[0][0]] is acts[0][1]


def test_expand_ratio_replaces_every_six():
    m = mobilenet_v2(expand_ratio=3)
    assert [b.expand_ratio for b in blocks(m)] == [1] + [3] * 16
    m1 = mobilenet_v2(expand_ratio=1)
    assert all(b.expand is None for b in blocks(m1)) and expansion_activations(m1) == []


def test_relu6_bottleneck_adds_relu6_after_projection():
    m = mobilenet_v2(0.35, 10, bottleneck="relu6")
    assert all(isinstance(b.project.act, nn.ReLU6) for b in blocks(m))


@pytest.mark.parametrize(
    "size,small,final", [(64, False, 2), (96, False, 3), (32, True, 4), (224, False, 7)]
)
def test_v2_any_resolution(size, small, final):
    m = mobilenet_v2(0.35, 10, small_input=small).eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        assert m.features(x).shape[-2:] == (final, final)
        assert m(x).shape == (1, 10)


def test_non_square_input():
    m = mobilenet_v2(0.35, 5).eval()
    with torch.no_grad():
        assert m.features(torch.randn(1, 3, 64, 96)).shape[-2:] == (2, 3)


def test_small_input_changes_only_the_first_two_strides():
    big, small = mobilenet_v2(), mobilenet_v2(small_input=True)
    assert big.features[0].stride == 2 and small.features[0].stride == 1
    strides = [(b.stride, s.stride) for b, s in zip(blocks(big), blocks(small))]
    changed = [i for i, (a, b) in enumerate(strides) if a != b]
    assert changed == [1] and strides[1] == (2, 1)
    assert n_params(big) == n_params(small)


# ------------------------------------------------------------------ shortcut switches


def test_shortcut_counts_per_mode():
    none = blocks(mobilenet_v2(shortcut="none"))
    assert not any(b.use_shortcut or b.expansion_shortcut_in for b in none)
    exp = blocks(mobilenet_v2(shortcut="expansion"))
    assert not any(b.use_shortcut for b in exp)
    receivers = [i for i, b in enumerate(exp) if b.expansion_shortcut_in]
    # block i+1 receives iff block i is shape-preserving: the same 10 places as the standard net
    standard = [i for i, b in enumerate(blocks(mobilenet_v2())) if b.use_shortcut]
    assert receivers == [i + 1 for i in standard]


def test_expansion_shortcut_adds_previous_expansion_before_relu6():
    torch.manual_seed(0)
    m = mobilenet_v2(0.5, 10, shortcut="expansion").eval()
    bs = blocks(m)
    i = next(k for k, b in enumerate(bs) if b.expansion_shortcut_in)
    seen = {}
    bs[i - 1].expand.act.register_forward_hook(lambda mod, a, out: seen.__setitem__("prev", out))
    bs[i].expand.bn.register_forward_hook(lambda mod, a, out: seen.__setitem__("bn", out))
    bs[i].expand.act.register_forward_hook(lambda mod, a, out: seen.__setitem__("act_in", a[0]))
    with torch.no_grad():
        m(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(seen["act_in"], seen["bn"] + seen["prev"])


def test_expansion_shortcut_equals_standard_when_t_is_one():
    """With t = 1 the expanded tensor is the bottleneck itself, so both readings coincide:
    a check that the expansion shortcut sits where we say it does."""
    torch.manual_seed(0)
    a = mobilenet_v2(0.5, 10, expand_ratio=1, shortcut="bottleneck").eval()
    b = mobilenet_v2(0.5, 10, expand_ratio=1, shortcut="expansion").eval()
    c = mobilenet_v2(0.5, 10, expand_ratio=1, shortcut="none").eval()
    b.load_state_dict(a.state_dict())
    c.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(a.features(x), b.features(x))
        torch.testing.assert_close(a(x), b(x))
        assert differs(a.features(x), c.features(x))


def test_modes_share_parameters_but_compute_differently():
    torch.manual_seed(0)
    models = {
        s: mobilenet_v2(0.5, 10, shortcut=s).eval() for s in ("bottleneck", "expansion", "none")
    }
    sd = models["bottleneck"].state_dict()
    for m in models.values():
        m.load_state_dict(sd)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outs = {s: m.features(x) for s, m in models.items()}
    assert differs(outs["bottleneck"], outs["expansion"])
    assert differs(outs["bottleneck"], outs["none"])
    assert differs(outs["expansion"], outs["none"])


# ------------------------------------------------------------------ MobileNetV1 and ShuffleNet


def test_v1_structure():
    m = mobilenet_v1()
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    assert len(convs) == 27  # 1 + 13 x (dw + pw)
    assert sum(isinstance(mod, nn.BatchNorm2d) for mod in m.modules()) == 27
    assert sum(isinstance(mod, nn.ReLU) for mod in m.modules()) == 27
    assert [c.stride[0] for c in convs if c.groups > 1] == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    assert m.last_channels == 1024
    assert mobilenet_v1(0.25).last_channels == 256


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(3)(x).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert ChannelShuffle(2)(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize(
    "groups,widths", [(1, (144, 288, 576)), (3, (240, 480, 960)), (8, (384, 768, 1536))]
)
def test_shufflenet_follows_its_table1(groups, widths):
    m = shufflenet_v1(groups, 1.0)
    units = [u for u in m.modules() if isinstance(u, ShuffleUnit)]
    assert len(units) == 16 and m.stage_widths == widths
    assert [u.stride for u in units] == [2, 1, 1, 1, 2] + [1] * 7 + [2, 1, 1, 1]
    assert units[0].pw1.conv.groups == 1 and all(u.pw1.conv.groups == groups for u in units[1:])
    assert all(u.pw2.conv.groups == groups for u in units)
    for u in units:
        assert u.pw1.conv.out_channels == u.out_channels // 4
        assert (u.shortcut is not None) == (u.stride == 2)


def test_shufflenet_2x_widths():
    m = shufflenet_v1()
    assert m.groups == 3 and m.stage_widths == (480, 960, 1920)
    assert m.features[0].out_channels == 48
    assert shufflenet_v1(width_mult=1.5).features[0].out_channels == 24


@pytest.mark.parametrize("size,small_input", [(64, False), (32, True)])
@pytest.mark.parametrize("name", [name for name, _ in EVERY_MODEL])
def test_every_model_runs(name, size, small_input):
    m = build_model(name, num_classes=10, small_input=small_input, **SMALL[name]).eval()
    with torch.no_grad():
        f = m.features(torch.randn(1, 3, size, size))
        assert f.shape[-2:] == (size // m.min_input_size,) * 2
        assert m(torch.randn(2, 3, size, size)).shape == (2, 10)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "builder,kwargs,fragments",
    [
        (mobilenet_v2, {"bottleneck": "relu"}, ["bottleneck", "'relu'", "'linear'", "'relu6'"]),
        (mobilenet_v2, {"shortcut": "dense"}, ["shortcut", "'dense'", "'expansion'", "'none'"]),
        (mobilenet_v2, {"width_mult": 0}, ["width_mult", "0", "> 0"]),
        (mobilenet_v2, {"width_mult": -1.0}, ["width_mult", "-1.0", "> 0"]),
        (mobilenet_v2, {"width_mult": "1"}, ["width_mult", "'1'"]),
        (mobilenet_v2, {"expand_ratio": 0}, ["expand_ratio", "0", ">= 1"]),
        (mobilenet_v2, {"expand_ratio": 2.5}, ["expand_ratio", "2.5", "integer"]),
        (mobilenet_v2, {"num_classes": 0}, ["num_classes", "0", ">= 1"]),
        (mobilenet_v2, {"small_input": "yes"}, ["small_input", "'yes'", "True or False"]),
        (mobilenet_v2, {"dropout": 1.0}, ["dropout", "1.0", "[0, 1)"]),
        (mobilenet_v2, {"input_size": 16}, ["input_size", "16x16", "32x32"]),
        (mobilenet_v2, {"input_size": 4, "small_input": True}, ["input_size", "4x4", "8x8"]),
        (mobilenet_v1, {"width_mult": 0.0}, ["width_mult", "> 0"]),
        (mobilenet_v1, {"input_size": (224, 31)}, ["input_size", "224x31", "32x32"]),
        (shufflenet_v1, {"groups": 5}, ["groups", "5", "[1, 2, 3, 4, 8]"]),
        (shufflenet_v1, {"width_mult": -2}, ["width_mult", "-2"]),
    ],
)
def test_bad_arguments_fail_clearly(builder, kwargs, fragments):
    with pytest.raises(ParameterError) as err:
        builder(**kwargs)
    for f in fragments:
        assert f in str(err.value), (f, str(err.value))


def test_input_too_small_for_the_strides_fails_at_forward():
    m = mobilenet_v2(0.35, 10).eval()
    with pytest.raises(ParameterError, match=r"input_size: got 16x16.*at least 32x32"):
        m(torch.randn(1, 3, 16, 16))
    with pytest.raises(ParameterError, match="input channels"):
        m(torch.randn(1, 1, 64, 64))
    small = mobilenet_v2(0.35, 10, small_input=True).eval()
    with torch.no_grad():
        assert small(torch.randn(1, 3, 8, 8)).shape == (1, 10)


# ------------------------------------------------------------------ devices, layouts, training


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = mobilenet_v2(0.35, 10)
    torch.manual_seed(3)
    b = mobilenet_v2(0.35, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("name,kw", EVERY_MODEL + [("mobilenet_v2", {"shortcut": "expansion"})])
def test_channels_last_gives_the_same_output(name, kw):
    torch.manual_seed(0)
    m = build_model(name, num_classes=10, small_input=True, **kw).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = m(x)
        m_cl = m.to(memory_format=torch.channels_last)
        out = m_cl(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "name,kw",
    EVERY_MODEL
    + [("mobilenet_v2", {"width_mult": 0.35, "shortcut": "expansion", "bottleneck": "relu6"})],
)
def test_one_optimizer_step_changes_the_loss(name, kw):
    torch.manual_seed(0)
    m = build_model(name, num_classes=10, small_input=True, **kw).train()
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    loss0 = nn.functional.cross_entropy(m(x), y)
    opt.zero_grad()
    loss0.backward()
    assert all(p.grad is not None for p in m.parameters())
    opt.step()
    loss1 = nn.functional.cross_entropy(m(x), y)
    assert torch.isfinite(loss1) and abs(loss1.item() - loss0.item()) > 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", [name for name, _ in EVERY_MODEL])
def test_runs_on_cuda(name):
    m = build_model(name, num_classes=10, small_input=True).cuda().eval()
    with torch.no_grad():
        assert m(torch.randn(2, 3, 32, 32, device="cuda")).shape == (2, 10)


def test_reference_parameter_counts():
    """Published counts (all trainable parameters: conv weights, BN scale/shift, classifier)."""
    assert n_params(mobilenet_v2()) == 3_504_872  # reference MobileNetV2 1.0
    assert n_params(mobilenet_v1()) == 4_231_976  # V1 paper: 4.2M
    assert n_params(mobilenet_v2(shortcut="expansion")) == 3_504_872
