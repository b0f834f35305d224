"""The CIFAR-10 study: its definition (paired seeds, one recipe, valid configs), the runner's
bookkeeping, and the committed results (one run's first steps re-run against its history)."""

from __future__ import annotations

import io

import pytest

from mnv2lab import study
from mnv2lab.params import ParameterError
from mnv2lab.train import TrainConfig

RECIPE_FIELDS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov", "weight_decay",
                 "schedule", "warmup_epochs", "label_smoothing", "augment", "crop_padding",
                 "eval_every_epochs", "eval_at_start", "dataset", "dataset_kwargs", "train_subset",
                 "test_subset")


def test_same_seeds_for_every_variant_and_width():
    runs = study.define_study()
    seeds_of: dict[tuple, set] = {}
    for r in runs:
        seeds_of.setdefault((r.model, r.variant, r.width), set()).add(r.seed)
    assert len(seeds_of) >= 4 + 2 * (len(study.WIDTHS) - 1)
    assert all(s == set(study.SEEDS) for s in seeds_of.values()), seeds_of
    assert len(study.SEEDS) >= 3


def test_one_recipe_for_every_run():
    runs = study.define_study()
    reference = runs[0].config.to_dict()
    for r in runs:
        d = r.config.to_dict()
        assert {k: d[k] for k in RECIPE_FIELDS} == {k: reference[k] for k in RECIPE_FIELDS}, r.name
        assert d["study"] == study.STUDY and d["seed"] == r.seed
        assert d["dataset"] == "cifar10-jpeg"
        assert r.config.model_kwargs["small_input"] is True


def test_configs_are_valid_and_distinct():
    runs = study.define_study()
    for r in runs:
        r.config.validate()
    keys = [r.key for r in runs]
    assert len(set(keys)) == len(keys)          # the paper's model appears once, shared
    names = [r.name for r in runs]
    assert len(set(names)) == len(names)


def test_variants_cover_the_papers_figure_6():
    runs = study.define_study()
    main = [r for r in runs if r.width == study.MAIN_WIDTH and r.model == "mobilenet_v2"]
    by_variant = {r.variant: r for r in main if r.seed == 0}
    assert set(by_variant) == set(study.VARIANTS)
    assert {"fig6a", "fig6b"} <= set(by_variant["linear"].uses)     # shared by both panels
    assert "fig6a" in by_variant["relu6"].uses
    assert "fig6b" in by_variant["no_residual"].uses and "fig6b" in by_variant["expansion_shortcut"].uses
    kw = {v: r.config.model_kwargs for v, r in by_variant.items()}
    assert kw["linear"]["bottleneck"] == "linear" and kw["linear"]["shortcut"] == "bottleneck"
    assert kw["relu6"]["bottleneck"] == "relu6"
    assert kw["no_residual"]["shortcut"] == "none"
    assert kw["expansion_shortcut"]["shortcut"] == "expansion"
    sweep = {(r.variant, r.width) for r in runs if "width_sweep" in r.uses}
    assert sweep == {(v, w) for v in ("linear", "relu6") for w in study.WIDTHS}


def test_order_puts_every_variant_of_seed_0_first():
    runs = study.define_study()
    seeds = [r.seed for r in runs]
    assert seeds == sorted(seeds)
    assert runs[0].variant == study.PAPER_VARIANT and runs[0].width == study.MAIN_WIDTH


def test_v1_vs_v2_runs_match_multiply_adds():
    from mnv2lab.costs import count_madds
    from mnv2lab.models import build_model
    configs = study.v1_vs_v2_configs()
    by_seed: dict[int, list[TrainConfig]] = {}
    for c in configs:
        by_seed.setdefault(c.seed, []).append(c)
    assert set(by_seed) == set(study.SEEDS)
    for v2_width, v1_width in study.V1_MATCHED_WIDTHS.items():
        v2 = count_madds(build_model("mobilenet_v2", num_classes=10, **study.v2_kwargs("linear", v2_width)), 32)
        v1 = count_madds(build_model("mobilenet_v1", num_classes=10, **study.v1_kwargs(v1_width)), 32)
        assert abs(v1 / v2 - 1) < 0.1, (v2_width, v1_width, v1, v2)


def test_bad_study_arguments_are_named():
    with pytest.raises(ParameterError, match="seeds"):
        study.define_study(seeds=[0, 0])
    with pytest.raises(ParameterError, match="epochs"):
        study.define_study(epochs=0)
    with pytest.raises(ParameterError, match="widths"):
        study.define_study(widths=[0.5, -1])


def test_select_by_name_and_use():
    runs = study.define_study()
    assert all(r.seed == 0 for r in study.select(runs, "seed0"))
    assert {r.variant for r in study.select(runs, "fig6b")} == {"linear", "no_residual",
                                                              "expansion_shortcut"}
    assert study.select(runs, None) == runs


def test_runner_trains_missing_runs_then_skips_them(tmp_path, monkeypatch):
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    runs = study.define_study(seeds=[0], widths=[0.35], main_width=0.35, epochs=1,
                              dataset="digits", include_v1=False, study="smoke",
                              train_subset=256, test_subset=64)[:2]
    out = io.StringIO()
    paths = study.run_study(runs, progress=False, results=tmp_path / "res", out=out)
    assert len(paths) == 2 and all(p.exists() for p in paths)
    assert out.getvalue().count("result: ") == 2
    assert all(study.is_done(r, tmp_path / "res") for r in runs)
    out2 = io.StringIO()
    assert study.run_study(runs, progress=False, results=tmp_path / "res", out=out2) == []
    assert "2/2 runs done" in out2.getvalue()
