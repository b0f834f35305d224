"""Activation patterns (Figure 7): counting on hand-made layers, the paper's step-0 picture on a
real MobileNetV2, the trainer's initialization reproduced, and the per-run cache."""

from __future__ import annotations

import json

from mnv2lab import activations as A
from mnv2lab.models import mobilenet_v2
from mnv2lab.train import TrainConfig, run_or_load

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


def test_positive_counts_and_statistics_on_a_hand_made_tensor():
    # 2 images, 4 channels, 1 x 3 pixels; positives per pixel: image 0: 0, 1, 4; image 1: 2, 3, 2
    x = torch.full((2, 4, 1, 3), -1.0)
    x[0, 0, 0, 1] = 0.5
    x[0, :, 0, 2] = 6.0
    x[1, :2, 0, 0] = 1.0
    x[1, 1:, 0, 1] = 2.0
    x[1, 2:, 0, 2] = 3.0
    x[1, 0, 0, 2] = 0.0  # exactly zero is not positive
    counts = A.positive_counts(x)
    assert counts.tolist() == [[[0, 1, 4]], [[2, 3, 2]]]
    s = A.count_statistics(counts, channels=4, threshold=2)
    assert (s["min"], s["max"], s["pixels"]) == (0.0, 4.0, 6)
    assert s["mean"] == pytest.approx(2.0)
    assert s["std"] == pytest.approx(np.std([0, 1, 4, 2, 3, 2]))
    assert s["frac_mean"] == pytest.approx(0.5) and s["frac_max"] == 1.0
    assert s["share_below"] == pytest.approx(2 / 6) and s["min_below"] is True
    assert A.count_statistics(counts, 4, 1)["min_below"] is True
    assert A.count_statistics(counts + 1, 5, 1)["min_below"] is False


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="N, C, H, W"):
        A.positive_counts(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="threshold"):
        A.count_statistics(torch.zeros(3), channels=4, threshold=5)
    with pytest.raises(ValueError, match="no expansion layers"):
        A.expansion_layers(mobilenet_v2(0.25, 10, small_input=True, expand_ratio=1))


def _rigged_model(positives: list[int]):
    """A MobileNetV2 whose expansion layer i outputs exactly positives[i] positive channels at
    every pixel: zero conv weights, BN bias +1 on the first positives[i] channels, -1 elsewhere."""
    model = mobilenet_v2(0.35, 10, small_input=True).eval()
    layers = A.expansion_layers(model)
    with torch.no_grad():
        for layer, k in zip(layers, positives):
            block = model.get_submodule(layer.name[: -len(".expand.act")])
            block.expand.conv.weight.zero_()
            bias = -torch.ones(layer.channels)
            bias[:k] = 1.0
            block.expand.bn.bias.copy_(bias)
    return model, layers


def test_hooks_count_a_layer_with_known_activations():
    model, layers = _rigged_model([0] * 16)
    positives = [
        layer.threshold - 1 if i % 3 == 0 else layer.threshold + i for i, layer in enumerate(layers)
    ]
    model, layers = _rigged_model(positives)
    images = torch.randint(0, 256, (5, 16, 16, 3), dtype=torch.uint8)
    table = A.activation_patterns(model, images, (0.5,) * 3, (0.25,) * 3, batch_size=2)
    assert len(table) == 16 == len(layers)
    assert table.layer.tolist() == list(range(1, 17))
    assert (table.channels == 6 * table.threshold).all()  # t = 6: threshold = 1/t
    for row, k, layer in zip(table.itertuples(), positives, layers):
        assert row.min == row.mean == row.max == k, row.name
        assert row.std == 0.0
        assert row.min_below == (k < layer.threshold)
        assert row.share_below == (1.0 if k < layer.threshold else 0.0)
    assert table.min_below.sum() == 6  # i = 0, 3, 6, 9, 12, 15


def test_at_initialization_about_half_the_channels_are_positive():
    """The paper's Figure 7a: at step 0 the counts concentrate around half the channels."""
    torch.manual_seed(0)
    model = mobilenet_v2(0.5, 10, small_input=True).eval()
    images = torch.randint(0, 256, (16, 32, 32, 3), dtype=torch.uint8)
    table = A.activation_patterns(model, images, (0.5,) * 3, (0.25,) * 3)
    assert len(table) == 16
    assert table.frac_mean.between(0.35, 0.65).all(), table.frac_mean.round(3).tolist()


def test_initial_model_is_the_trainers_initialization(tmp_path, monkeypatch):
    """The step-0 test loss the trainer recorded equals the loss of initial_model(config)."""
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    from mnv2lab.data import load_dataset, to_model_input

    cfg = TrainConfig(
        model="mobilenet_v2",
        model_kwargs={"width_mult": 0.25, "small_input": True},
        dataset="digits",
        epochs=1,
        train_subset=256,
        test_subset=100,
        eval_at_start=True,
        seed=3,
        study="t",
    )
    result = run_or_load(cfg, tmp_path / "res", progress=False)
    assert result.history[0]["step"] == 0
    ds = load_dataset("digits").subset(256, 100, seed=0)
    model = A.initial_model(cfg)
    with torch.inference_mode():
        out = model(to_model_input(ds.test_images, ds.mean, ds.std))
        loss = float(torch.nn.functional.cross_entropy(out, ds.test_labels))
    assert loss == pytest.approx(result.history[0]["test_loss"], rel=1e-4)


def test_run_patterns_cache_round_trip_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    cfg = TrainConfig(
        model="mobilenet_v2",
        model_kwargs={"width_mult": 0.25, "small_input": True},
        dataset="digits",
        epochs=1,
        train_subset=256,
        test_subset=50,
        study="t",
    )
    res = tmp_path / "res"
    with pytest.raises(A.WeightsMissing):
        A.run_patterns(cfg, "trained", 20, res)
    run_or_load(cfg, res, progress=False)
    init = A.run_patterns(cfg, "init", 20, res)
    trained = A.run_patterns(cfg, "trained", 20, res)
    path = A.cache_path(res, cfg.key(), "trained", 20)
    assert path.exists() and not trained.equals(init)
    again = A.run_patterns(cfg, "trained", 20, res)
    assert again.to_dict(orient="records") == json.loads(path.read_text())["layers"]
    pd.testing.assert_frame_equal(again, trained, check_dtype=False)
    path.write_text(path.read_text().replace('"min": ', '"min": 1', 1))  # tampered
    with pytest.warns(UserWarning, match="unusable"):
        recomputed = A.run_patterns(cfg, "trained", 20, res)
    np.testing.assert_allclose(recomputed["mean"], trained["mean"])
    with pytest.raises(Exception, match="stage"):
        A.run_patterns(cfg, "final", 20, res)


def _fake_table(trained_seeds, below_layers=(3, 9)):
    rows = []
    for seed in (0, 1, 2):
        for stage in ("init", "trained"):
            if stage == "trained" and seed not in trained_seeds:
                continue
            for layer in range(1, 17):
                ch, thr = 96, 16
                spread = 4.0 if stage == "init" else 9.0
                low = 40.0 if stage == "init" else (10.0 if layer in below_layers else 25.0)
                rows.append(
                    {
                        "layer": layer,
                        "channels": ch,
                        "threshold": thr,
                        "min": low,
                        "p5": 42.0,
                        "mean": 48.0 + seed,
                        "p95": 54.0,
                        "max": 60.0,
                        "std": spread,
                        "share_below": 0.01 if low < thr else 0.0,
                        "min_below": low < thr,
                        "seed": seed,
                        "width": 0.5,
                        "stage": stage,
                        "run": f"s{seed}",
                    }
                )
    return pd.DataFrame(rows)


def test_figure7_verdict_follows_the_numbers():
    plan = A.ActivationPlan(
        runs=[],
        results=None,
        n_images=10,
        train_missing=False,
        smoke=False,
        in_committed_study=False,
        main_width=0.5,
        widths=[0.5],
        dataset="digits",
        epochs=1,
        seeds=[0, 1, 2],
    )
    v = A.verdict(_fake_table({0, 1, 2}), plan)
    assert v.verdict == "reproduced", v.details
    assert "16 of 16 layers" in v.details and "2 trained" in v.details
    assert A.verdict(_fake_table({0, 1, 2}, below_layers=()), plan).verdict == "partly"
    one = A.verdict(_fake_table({1}), plan)
    assert one.details.startswith("digits, 1 epoch: PROVISIONAL (1 seed(s))")  # budget named first
    assert "0.510 at initialization" in one.details  # init of the same seed (mean 49/96)
    none = A.verdict(_fake_table(set()), plan)
    assert none.verdict == "inconclusive" and "no trained model" in none.details


def test_lowest_layer_per_seed():
    table = _fake_table(trained_seeds=(0, 2), below_layers=(5,))
    table.loc[(table.stage == "trained") & (table.seed == 2) & (table.layer == 12), "min"] = 4.0
    low = A.lowest_layers(table, "trained")
    assert low.seed.tolist() == [0, 2] and low.layer.tolist() == [5, 12]
    assert low.frac_min.tolist() == pytest.approx([10 / 96, 4 / 96])
