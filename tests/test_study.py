"""The CIFAR-10 study: its definition (paired seeds, one recipe, valid configs), the runner's
bookkeeping, and the committed results (one run's first steps re-run against its history)."""

from __future__ import annotations

import io

import pytest

from mnv2lab import activations  # registers the runner's Fig. 7 after-run hook
from mnv2lab import study
from mnv2lab.study.__main__ import main as study_main
from mnv2lab.params import ParameterError
from mnv2lab.train import TrainConfig

RECIPE_FIELDS = (
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "nesterov",
    "weight_decay",
    "schedule",
    "warmup_epochs",
    "label_smoothing",
    "augment",
    "crop_padding",
    "eval_every_epochs",
    "eval_at_start",
    "dataset",
    "dataset_kwargs",
    "train_subset",
    "test_subset",
)


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
    assert len(set(keys)) == len(keys)  # the paper's model appears once, shared
    names = [r.name for r in runs]
    assert len(set(names)) == len(names)


def test_variants_cover_the_papers_figure_6():
    runs = study.define_study()
    main = [r for r in runs if r.width == study.MAIN_WIDTH and r.model == "mobilenet_v2"]
    by_variant = {r.variant: r for r in main if r.seed == 0}
    assert set(by_variant) == set(study.VARIANTS)
    assert {"fig6a", "fig6b"} <= set(by_variant["linear"].uses)  # shared by both panels
    assert "fig6a" in by_variant["relu6"].uses
    assert (
        "fig6b" in by_variant["no_residual"].uses
        and "fig6b" in by_variant["expansion_shortcut"].uses
    )
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
        v2 = count_madds(
            build_model("mobilenet_v2", num_classes=10, **study.v2_kwargs("linear", v2_width)), 32
        )
        v1 = count_madds(
            build_model("mobilenet_v1", num_classes=10, **study.v1_kwargs(v1_width)), 32
        )
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
    assert {r.variant for r in study.select(runs, "fig6b")} == {
        "linear",
        "no_residual",
        "expansion_shortcut",
    }
    assert study.select(runs, None) == runs


@pytest.mark.slow
def test_runner_trains_missing_runs_then_skips_them(tmp_path, tiny_study):
    runs = tiny_study()[:2]
    out = io.StringIO()
    paths = study.run_study(runs, progress=False, results=tmp_path / "res", out=out)
    # two results, plus Figure 7's statistics of the paper's model (init and trained)
    assert [r.variant for r in runs] == ["linear", "relu6"]
    assert len(paths) == 4 and all(p.exists() for p in paths)
    assert paths[2].name.endswith(".trained.n500.json")
    assert out.getvalue().count("result: ") == 4
    assert all(study.is_done(r, tmp_path / "res") for r in runs)
    stored = activations.run_patterns(
        runs[0].config, "trained", activations.N_IMAGES, tmp_path / "res"
    )  # read from the cache
    paths[2].unlink()  # the trained statistics
    recounted = activations.run_patterns(
        runs[0].config, "trained", activations.N_IMAGES, tmp_path / "res"
    )  # from the saved final weights
    assert stored["mean"].tolist() == pytest.approx(recounted["mean"].tolist())
    out2 = io.StringIO()
    assert study.run_study(runs, progress=False, results=tmp_path / "res", out=out2) == []
    assert "2/2 runs done" in out2.getvalue()


def test_runner_starts_the_ranks_a_run_names_and_has_no_thread_override(
    tmp_path, monkeypatch, capsys, tiny_study
):
    run = tiny_study(ranks=2, threads=1, train_subset=128)[1]  # relu6
    calls = []

    def fake_run(config, results, progress=None):
        calls.append(config)
        raise SystemExit("stop here")

    monkeypatch.setattr(study.runner.launch, "run", fake_run)
    with pytest.raises(SystemExit, match="stop here"):
        study.run_study([run], progress=False, results=tmp_path / "res", out=io.StringIO())
    assert calls == [run.config] and calls[0].ranks == 2 and calls[0].key() == run.key
    with pytest.raises(SystemExit):
        study_main(["run", "--threads", "1"])
    assert "unrecognized arguments: --threads" in capsys.readouterr().err


# --- the analysis: paired statistics over fake histories -------------------------------------

from mnv2lab import ablation  # noqa: E402
from mnv2lab.stats import mean_ci, paired_difference  # noqa: E402
from mnv2lab.train import RunResult  # noqa: E402

PARAMS = {
    "smoke": False,
    "out_dir": "figures",
    "dataset": "cifar10-jpeg",
    "main_width": 0.5,
    "widths": [0.25, 0.5],
    "seeds": [0, 1, 2],
    "epochs": 5,
    "train_missing": False,
    "results_dir": "results",
}
STEPS = [0, 100, 200, 300, 400, 500]


def _fake(run, accs):
    history = [
        {"step": s, "epoch": s / 100, "test_acc": a, "train_loss": 1.0, "test_loss": 1.0}
        for s, a in zip(STEPS, accs)
    ]
    return RunResult(
        config=run.config, key=run.key, history=history, final={"test_acc": accs[-1]}, cached=True
    )


def _study(gaps, *, uses=("fig6a", "fig6b", "width_sweep"), seeds=(0, 1, 2)):
    """Fake results: the paper's model climbs to 0.80 (+0.01 per seed); variant v at width w trails
    it by gaps[(v, w)](step index, seed) accuracy points."""
    plan = study.make_plan({**PARAMS, "seeds": list(seeds)}, list(uses))
    st = study.StudyResults(plan)
    for r in plan.runs:
        base = [0.1 + 0.7 * min(1.0, i / 4) + 0.01 * r.seed for i in range(len(STEPS))]
        g = gaps.get((r.variant, r.width), lambda i, s: 0.0)
        st.results[r.name] = _fake(r, [b - g(i, r.seed) / 100 for i, b in enumerate(base)])
    return st


def _early_large(final):
    return lambda i, s: (3.0 if i == 1 else final) + 0.2 * s


def test_curves_and_paired_gaps_match_the_statistics_by_hand():
    st = _study({("relu6", 0.5): _early_large(1.0), ("relu6", 0.25): _early_large(2.0)})
    c = ablation.curves(st, 0.5, ["linear", "relu6"])
    last = c[(c.variant == "relu6") & (c.step == 500)].iloc[0]
    vals = [100 * (0.8 + 0.01 * s) - (1.0 + 0.2 * s) for s in (0, 1, 2)]
    assert (last["mean"], last["low"], last["high"]) == pytest.approx(mean_ci(vals))
    assert last.n == 3
    d = ablation.paired_gap(st, "relu6", 0.5)
    ref = paired_difference([100 * (0.8 + 0.01 * s) for s in (0, 1, 2)], vals)
    assert (d.mean, d.low, d.high) == pytest.approx((ref.mean, ref.low, ref.high))
    assert d.mean == pytest.approx(1.2) and d.excludes_zero
    early = ablation.paired_gap(st, "relu6", 0.5, fraction=ablation.EARLY_FRACTION)
    assert early.mean == pytest.approx(3.2)  # the evaluation nearest 20%: step 100
    g = ablation.gap_curves(st, 0.5, ["linear", "relu6"])
    assert g[g.step == 500]["mean"].iloc[0] == pytest.approx(1.2)
    widths = ablation.width_gaps(st, [0.25, 0.5])
    assert widths.gap.tolist() == pytest.approx([2.2, 1.2])
    trend = ablation.gap_trend(st, [0.25, 0.5])
    assert trend.mean == pytest.approx(1.0)
    table = ablation.paired_table(st, [("linear", 0.5), ("relu6", 0.5)])
    end = table[table.when == "end"].iloc[0]
    assert end.per_seed == "+1.00, +1.20, +1.40" and end.gap == pytest.approx(1.2)
    assert table[table.when != "end"].per_seed.iloc[0] == "+3.00, +3.20, +3.40"


def test_verdicts_follow_the_numbers():
    good = _study(
        {
            ("relu6", 0.5): _early_large(1.0),
            ("expansion_shortcut", 0.5): _early_large(0.8),
            ("no_residual", 0.5): _early_large(1.5),
        }
    )
    v = ablation.verdict_fig6a(good)
    assert v.verdict == "reproduced" and "PROVISIONAL" not in v.details
    assert "+1.20 points" in v.details and "0.5 to 1.5" in v.details
    assert ablation.verdict_fig6b(good).verdict == "reproduced"
    bad = _study({("relu6", 0.5): lambda i, s: -1.0 - 0.3 * s})
    assert ablation.verdict_fig6a(bad).verdict == "not reproduced"
    # ordering wrong: the expansion shortcut is worse than no residual
    swapped = _study(
        {("expansion_shortcut", 0.5): _early_large(2.0), ("no_residual", 0.5): _early_large(0.5)}
    )
    assert ablation.verdict_fig6b(swapped).verdict == "partly"
    noisy = _study({("relu6", 0.5): lambda i, s: [2.0, -2.5, 0.8][s]})
    assert ablation.verdict_fig6a(noisy).verdict == "inconclusive"
    # the sign agrees but the gap is far outside the paper's 0.5 to 1.5 points
    large = _study({("relu6", 0.5): lambda i, s: 8.0 + 0.5 * s})
    assert ablation.verdict_fig6a(large).verdict == "direction only"
    # the width sweep (beyond the paper): resolved when its paired trend excludes zero
    grows = _study({("relu6", 0.5): _early_large(1.0), ("relu6", 0.25): _early_large(2.0)})
    assert ablation.verdict_width(grows).verdict == "beyond the paper"
    unresolved = _study(
        {("relu6", 0.5): _early_large(1.0), ("relu6", 0.25): lambda i, s: [2.0, -1.0, 3.5][s]}
    )
    assert ablation.verdict_width(unresolved).verdict == "inconclusive"


def test_an_incomplete_study_is_provisional():
    st = _study({("relu6", 0.5): _early_large(1.0)}, seeds=(0, 1, 2))
    for r in st.plan.runs:
        if r.seed > 0:
            del st.results[r.name]
            st.missing.append(r)
    v = ablation.verdict_fig6a(st)
    assert v.details.startswith("PROVISIONAL") and "n = 1: no interval" in v.details
    w = ablation.verdict_width(st).details
    assert "width 0.5: +1.00 (n = 1: no interval)" in w and "nan" not in w
    assert v.finding.startswith("CIFAR-10, 5 epochs: provisional") and len(v.finding) <= 300
    assert "mnv2lab.study run" in study.missing_message(st)


def test_bad_notebook_parameters_are_named():
    from mnv2lab.params import ParameterError

    with pytest.raises(ParameterError, match="main_width"):
        study.make_plan({**PARAMS, "widths": [0.25, 0.35]}, "width_sweep")
    with pytest.raises(ParameterError, match="seeds"):
        study.make_plan({**PARAMS, "seeds": [1, 1]}, "fig6a")


# --- the result cache, through the notebooks' loader ------------------------------------------


@pytest.mark.slow
def test_results_round_trip_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    params = {**PARAMS, "smoke": True, "seeds": [0], "widths": [0.5]}
    plan = study.make_plan(params, "fig6a")
    first = study.collect(plan, progress=False)  # smoke: trains into a temp folder
    assert not first.missing and first.n_done == 2
    plan.train_missing = False
    again = study.collect(plan, progress=False)
    for name, res in again.results.items():
        assert res.cached and res.history == first.results[name].history
    path = study.result_file(plan.runs[0], plan.results)
    path.write_text(path.read_text()[:-40])  # truncated
    with pytest.warns(UserWarning, match="unusable"):
        broken = study.collect(plan, progress=False)
    assert [r.name for r in broken.missing] == [plan.runs[0].name]


# --- the committed study --------------------------------------------------------------------


@pytest.mark.slow
def test_a_committed_run_replays_its_first_steps(cifar_tarball):
    """Re-run the first evaluation interval of the cheapest committed run: the mean training
    loss matches the stored history exactly on the machine that produced it, and within 2%
    elsewhere (float rounding differs between CPUs and grows over the steps)."""
    from mnv2lab.train import load_result

    done = study.committed_runs()
    if not done:
        pytest.skip("no committed result of the study yet (python -m mnv2lab.study run)")
    run, path = min(done, key=lambda rp: study.estimate_seconds(rp[0]) or 1e9)
    result = load_result(path, run.config)
    assert result.provenance.get("cpu_model") and result.provenance.get("git_commit")
    assert result.config.to_dict() == run.config.to_dict()
    out = study.replay_first_interval(result)
    if out["same_machine"]:
        assert out["replayed"] == out["stored"], out
    else:
        assert out["replayed"] == pytest.approx(out["stored"], rel=0.02), out


def test_replay_of_a_fresh_tiny_run_is_exact(tmp_path, monkeypatch):
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    from mnv2lab.train import run_or_load

    cfg = study.make_config(
        "mobilenet_v2",
        study.v2_kwargs("linear", 0.25),
        1,
        dataset="digits",
        epochs=2,
        study="t",
        train_subset=512,
        test_subset=60,
    )
    result = run_or_load(cfg, tmp_path / "res", progress=False)
    out = study.replay_first_interval(result, test_subset=30)
    assert out["steps"] == 2 and out["same_machine"]
    assert out["replayed"] == out["stored"]
    # another CPU with the same model name, or a result from before the fingerprint was stored,
    # is not "this machine": the committed-run test then allows a tolerance
    import dataclasses

    for prov in (
        {**result.provenance, "cpu_fingerprint": "0" * 12},
        {k: v for k, v in result.provenance.items() if k != "cpu_fingerprint"},
    ):
        assert not study.produced_here(dataclasses.replace(result, provenance=prov))


def test_cpu_fingerprint_is_stable_and_stored():
    from mnv2lab.provenance import cpu_fingerprint, provenance

    assert cpu_fingerprint() == cpu_fingerprint() == provenance()["cpu_fingerprint"]
    assert len(cpu_fingerprint()) == 12 and int(cpu_fingerprint(), 16) >= 0


def test_status_lists_done_and_missing_runs_with_time_left(tmp_path, tiny_study):
    runs = tiny_study()[:2]
    before = study.status_lines(runs, tmp_path / "res")
    assert "0/2 done" in before[-1] and "+2 runs without a timing" in before[-1]
    study.run_study(runs[:1], progress=False, results=tmp_path / "res", out=io.StringIO())
    after = study.status_lines(runs, tmp_path / "res")
    assert after[0].split()[1] == "done" and after[1].split()[1] == "missing"
    assert "1/2 done" in after[-1] and "without a timing" not in after[-1]  # timed by run 1
    full = study.status_lines(study.define_study())
    assert len(full) == len(study.define_study()) + 1 and "estimated time left" in full[-1]


def test_activation_statistics_are_filled_in_for_runs_that_lack_them(tmp_path, tiny_study):
    from mnv2lab.train import run_or_load

    runs = tiny_study()[:2]
    for r in runs:  # trained without the runner: no statistics stored
        run_or_load(r.config, tmp_path / "res", progress=False)
    out = io.StringIO()
    written = activations.store_missing_statistics(runs, tmp_path / "res", out=out)
    assert [p.name.split(".")[1] for p in written] == ["init", "trained"]  # the linear run only
    assert out.getvalue().count("result: ") == 2
    assert activations.store_missing_statistics(runs, tmp_path / "res", out=out) == []
