"""The practitioner inference path: BatchNorm folding is exact (all three families and every
ablation variant), the prepared model is eval/channels-last/in-place and gives the same outputs as
the naive path, and the original model is left untouched; the same for the Table 5-7 heads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnv2lab.inference import (
    activations_in_place,
    count_batchnorms,
    fold_batchnorm,
    make_runner,
    prepare_for_inference,
    prepare_input,
    run_inference,
)
from mnv2lab.models import model_names
from trained_like import trained_like

# Every family and every ablation switch; narrow widths keep the test quick (folding depends on
# the structure, not on the width).
VARIANTS = [
    ("mobilenet_v2", {}),
    ("mobilenet_v2", {"width_mult": 0.35, "bottleneck": "relu6"}),
    ("mobilenet_v2", {"width_mult": 0.35, "shortcut": "none"}),
    ("mobilenet_v2", {"width_mult": 0.35, "shortcut": "expansion"}),
    ("mobilenet_v2", {"width_mult": 0.35, "expand_ratio": 3}),
    ("mobilenet_v2", {"width_mult": 0.35, "small_input": True}),
    ("mobilenet_v1", {"width_mult": 0.25}),
    ("mobilenet_v1", {"width_mult": 0.25, "small_input": True}),
    ("shufflenet_v1", {"groups": 3, "width_mult": 0.5}),
    ("shufflenet_v1", {"groups": 8, "width_mult": 0.25}),
]


# The detection/segmentation heads (Tables 5-7): outputs are boxes + class scores (SSD) or a
# segmentation map (DeepLabv3), at the smallest input each accepts that still has every map.
DENSE_VARIANTS = [
    ("ssdlite", {}, 96),
    ("ssd", {"backbone": "mobilenet_v1"}, 96),
    ("deeplabv3", {"aspp": True, "aspp_separable": True}, 65),
    ("deeplabv3", {"backbone": "mobilenet_v1", "output_stride": 8}, 33),
]


def test_variants_cover_every_registered_model():
    names = {name for name, _ in VARIANTS} | {name for name, _, _ in DENSE_VARIANTS}
    assert names == set(model_names())


def _input(kwargs, batch=2):
    size = 16 if kwargs.get("small_input") else 48
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=[f"{n}-{k}" for n, k in VARIANTS])
def test_folded_copy_equals_the_model(name, kwargs):
    model = trained_like(name, **kwargs)
    x = _input(kwargs)
    with torch.no_grad():
        ref_features, ref = model.features(x), model(x)
    n_bn = count_batchnorms(model)
    folded = fold_batchnorm(model)
    assert count_batchnorms(folded) == 0 and folded.folded_batchnorms == n_bn > 0
    assert count_batchnorms(model) == n_bn, "the original model must keep its BN layers"
    with torch.no_grad():
        features, out = folded.features(x), folded(x)
    scale = ref_features.abs().max()
    assert torch.allclose(features, ref_features, rtol=1e-4, atol=1e-5 * scale.item())
    assert torch.allclose(out, ref, rtol=1e-4, atol=1e-5 * ref.abs().max().item())
    assert (out - ref).abs().max() < (ref.abs().max() * 1e-3), "logits must agree"


@pytest.mark.parametrize(
    "name,kwargs,size", DENSE_VARIANTS, ids=[f"{n}-{k}" for n, k, _ in DENSE_VARIANTS]
)
def test_folded_dense_heads_equal_the_model(name, kwargs, size):
    """The Table 6/7 latencies time the practitioner path: it must compute the same network."""
    model = trained_like(name, **kwargs)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x)
    n_bn = count_batchnorms(model)
    prepare, forward = make_runner(model, "practitioner")
    folded = fold_batchnorm(model)
    assert count_batchnorms(folded) == 0 and folded.folded_batchnorms == n_bn > 0
    with torch.no_grad():
        outs = [folded(x), forward(prepare(x))]
    refs = ref if isinstance(ref, tuple) else (ref,)
    for out in outs:
        out = out if isinstance(out, tuple) else (out,)
        assert len(out) == len(refs)
        for a, b in zip(out, refs):
            assert a.shape == b.shape
            assert (a - b).abs().max() < 1e-4 * b.abs().max(), f"{name}: outputs differ"


def test_folding_is_exact_per_layer_in_float64():
    """conv -> BN with arbitrary statistics equals the folded conv to float64 rounding."""
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=True), nn.BatchNorm2d(6))
    seq = seq.double()
    seq[1].running_mean.normal_()
    seq[1].running_var.uniform_(0.1, 3.0)
    seq[1].weight.data.normal_()
    seq.eval()
    x = torch.randn(3, 4, 9, 9, dtype=torch.float64)
    folded = fold_batchnorm(seq)
    assert isinstance(folded[1], nn.Identity) and folded[0].bias is not None
    assert torch.allclose(folded(x), seq(x), atol=1e-12, rtol=1e-12)


def test_fold_leaves_a_training_model_alone_and_returns_eval():
    model = trained_like("mobilenet_v2", width_mult=0.35).train()
    folded = fold_batchnorm(model)
    assert model.training and not folded.training


def test_fold_rejects_non_modules():
    with pytest.raises(TypeError, match="model"):
        fold_batchnorm("mobilenet_v2")


def test_prepared_model_is_channels_last_in_place_and_matches_naive():
    model = trained_like("mobilenet_v2", width_mult=0.35)
    prepared = prepare_for_inference(model)
    convs = [m for m in prepared.modules() if isinstance(m, nn.Conv2d)]
    assert all(
        c.weight.is_contiguous(memory_format=torch.channels_last)
        for c in convs
        if c.weight.shape[-1] > 1 or c.weight.shape[1] > 1
    )
    assert not any(p.requires_grad for p in prepared.parameters())
    acts = [m for m in prepared.modules() if isinstance(m, (nn.ReLU6, nn.ReLU))]
    assert acts and all(a.inplace for a in acts)
    assert not any(m.inplace for m in model.modules() if isinstance(m, nn.ReLU6))
    x = _input({})
    out = run_inference(prepared, prepare_input(x))
    assert out.is_inference() and not out.requires_grad
    prep_naive, naive = make_runner(model, "naive")
    ref = naive(prep_naive(x))
    assert ref.requires_grad, "the naive path records autograd history"
    assert torch.allclose(out, ref.detach(), rtol=1e-4, atol=1e-5 * ref.abs().max().item())


def test_runner_paths_agree_for_shufflenet():
    model = trained_like("shufflenet_v1", groups=3, width_mult=0.25)
    x = _input({})
    outs = []
    for path in ("practitioner", "naive"):
        prepare, forward = make_runner(model, path)
        outs.append(forward(prepare(x)).detach())
    assert torch.allclose(outs[0], outs[1], rtol=1e-4, atol=1e-5 * outs[1].abs().max().item())


def test_in_place_only_after_a_conv_or_bn():
    seq = nn.Sequential(nn.ReLU(), nn.Conv2d(2, 2, 1), nn.ReLU6(), nn.Identity(), nn.ReLU())
    assert activations_in_place(seq) == 2
    assert not seq[0].inplace and seq[2].inplace and seq[4].inplace


def test_unknown_path_is_named():
    with pytest.raises(ValueError, match="path: got 'fast'"):
        make_runner(nn.Conv2d(3, 3, 1), "fast")
