"""The long budget (issue 13): a recipe chosen on a validation split by a rule fixed in advance,
and runs that differ from the committed 5-epoch study only where they must."""

from __future__ import annotations

import pytest

from mnv2lab import study
from mnv2lab.params import ParameterError
from mnv2lab.study import budgets


def test_the_search_tunes_only_the_papers_model_on_the_validation_split():
    runs = budgets.search_runs()
    assert len(runs) == len(budgets.CANDIDATES) == len({r.key for r in runs})
    for r in runs:
        c = r.config
        assert c.validation_images == budgets.VALIDATION_IMAGES and c.test_subset is None
        assert r.variant == study.PAPER_VARIANT and r.width == study.MAIN_WIDTH and r.seed == 0
        assert c.study == budgets.RECIPE_STUDY and c.ranks == 2 and c.threads == 1
    differing = {
        k for k in runs[0].config.to_dict() if len({str(r.config.to_dict()[k]) for r in runs}) > 1
    }
    assert differing == {"weight_decay", "label_smoothing"}


@pytest.mark.parametrize(
    "accuracies, chosen",
    [
        ({"A_wd5e-4": 0.90, "B_wd4e-5_paper": 0.85, "C_wd5e-4_ls0.1": 0.89}, "A_wd5e-4"),
        ({"A_wd5e-4": 0.88, "B_wd4e-5_paper": 0.85, "C_wd5e-4_ls0.1": 0.89}, "C_wd5e-4_ls0.1"),
        ({"A_wd5e-4": 0.888, "B_wd4e-5_paper": 0.85, "C_wd5e-4_ls0.1": 0.89}, "A_wd5e-4"),  # tie
        ({"A_wd5e-4": 0.80, "B_wd4e-5_paper": 0.85, "C_wd5e-4_ls0.1": 0.82}, "B_wd4e-5_paper"),
    ],
)
def test_choice_rule(accuracies, chosen):
    assert budgets.choose(accuracies) == chosen


def test_an_incomplete_search_chooses_nothing(tmp_path):
    with pytest.raises(ParameterError, match="recipe search incomplete.*C_wd5e-4_ls0.1"):
        budgets.choose({"A_wd5e-4": 0.9, "B_wd4e-5_paper": 0.8})
    with pytest.raises(ParameterError, match="recipe search incomplete"):
        budgets.define_long_study(results=str(tmp_path))


def test_long_runs_are_paired_and_differ_between_variants_only_in_the_model():
    recipe = budgets.CANDIDATES["A_wd5e-4"]
    runs = budgets.long_runs(recipe, seeds=[0, 1, 2])
    assert len(runs) == 15 and len({r.key for r in runs}) == 15
    names = {r.name for r in runs}
    for seed in (0, 1, 2):
        for v in budgets.LONG_VARIANTS:
            assert f"v2-{v}-w0.5-seed{seed}" in names
        assert f"v1-w0.4-seed{seed}" in names
    short_keys = {r.key for r in study.define_study()}
    assert not short_keys & {r.key for r in runs}  # the 5-epoch results stay as they are
    for r in runs:
        c = r.config.to_dict()
        assert c["epochs"] == budgets.LONG_EPOCHS and c["weight_decay"] == 5e-4
        assert c["validation_images"] is None and c["study"] == budgets.LONG_STUDY
    by_seed = [r for r in runs if r.seed == 1]
    shared = {
        k
        for k in by_seed[0].config.to_dict()
        if len({str(r.config.to_dict()[k]) for r in by_seed}) == 1
    }
    assert {"model", "model_kwargs"}.isdisjoint(shared) and "seed" in shared
    v1 = next(r for r in runs if r.model == "mobilenet_v1")
    v2 = next(r for r in runs if r.variant == "linear")
    assert v1.config.model_kwargs["dropout"] == 0.2  # V2's classifier dropout
    cuda = budgets.common_fields("cuda")
    assert (cuda["device"], cuda["ranks"], cuda["precision"]) == ("cuda", 1, "fp16")
    assert cuda["channels_last"] and "precision" not in budgets.common_fields("cpu")
    assert budgets.long_runs(recipe, device="cuda")[0].key != v2.key
    with pytest.raises(ParameterError, match="'device': got 'tpu'"):
        budgets.common_fields("tpu")


def test_expansion_shortcut_wiring_is_what_notebook_04_says():
    """Where the add sits (mnv2lab.models.mobilenetv2's docstring, quoted in notebook 04): block
    i's expanded tensor E_i (after its expansion's ReLU6) is added to block i+1's expansion
    *before* that expansion's ReLU6: E_{i+1} = ReLU6(BN(conv(x)) + E_i); there is no add around
    the projection. As many shortcuts as the paper's model has (10 in Table 2's network)."""
    import torch
    from mnv2lab.models import build_model
    from mnv2lab.models.mobilenetv2 import InvertedResidual

    torch.manual_seed(0)
    net = build_model("mobilenet_v2", width_mult=1.0, num_classes=10, shortcut="expansion").eval()
    blocks = [m for m in net.modules() if isinstance(m, InvertedResidual)]
    receivers = [b for b in blocks if b.expansion_shortcut_in]
    paper = build_model("mobilenet_v2", width_mult=1.0, num_classes=10)
    assert (
        len(receivers)
        == sum(b.use_shortcut for b in paper.modules() if isinstance(b, InvertedResidual))
        == 10
    )
    assert not any(b.use_shortcut for b in blocks)  # no add around the projection
    block = receivers[0]
    x = torch.randn(1, block.expand.conv.in_channels, 8, 8)
    carry = torch.randn(1, block.expand.conv.out_channels, 8, 8) * 3
    with torch.no_grad():
        _, expanded = block(x, carry, return_expanded=True)
        pre = block.expand.bn(block.expand.conv(x))
        assert torch.allclose(expanded, torch.clamp(pre + carry, 0, 6))  # add, then ReLU6
        assert not torch.allclose(expanded, torch.clamp(pre, 0, 6) + carry)  # not after it


def test_the_two_rank_mode_lands_inside_the_one_process_seed_spread(repo_root):
    """Issue 13's check, on the committed results: the 5-epoch paper's model trained as 2 ranks x
    1 thread (seed 0) against the 3 committed one-process seeds of the same configuration."""
    from mnv2lab.train import load_intact

    check = budgets.ranks_check_run()
    res = load_intact(check.config, repo_root / "results" / budgets.RANKS_CHECK_STUDY)
    if res is None:
        pytest.skip("the 2-rank check run is not committed")
    assert res.final["world_size"] == 2 and res.final["threads"] == 1
    one_process = [
        study.stored(r)
        for r in study.define_study()
        if r.variant == study.PAPER_VARIANT and r.width == study.MAIN_WIDTH
    ]
    accs = [r.final["test_acc"] for r in one_process if r is not None]
    assert len(accs) == 3
    assert min(accs) <= res.final["test_acc"] <= max(accs), (res.final["test_acc"], accs)


def _acc(**sides):
    """variant -> {seed: accuracy (fraction)} from lists of points."""
    return {v: {s: p / 100 for s, p in enumerate(points)} for v, points in sides.items()}


def test_more_seeds_only_for_an_unresolved_gap_of_a_point_or_more():
    ref = [90.0, 91.0, 89.0]
    # linear - ReLU6 = +3, -1, +2: interval spans zero, mean 1.33 -> both sides get seed 3;
    # bottleneck - no residual = +0.5 every seed: resolved; expansion shortcut: +0.4, -0.6, +0.5:
    # spans zero but under a point; V1 has only two seeds: not read yet
    acc = _acc(
        linear=ref,
        relu6=[87.0, 92.0, 87.0],
        no_residual=[89.5, 90.5, 88.5],
        expansion_shortcut=[89.6, 91.6, 88.5],
        v1=[80.0, 95.0],
    )
    assert budgets.seeds_to_add(acc) == {"linear": {3}, "relu6": {3}}
    # once linear has seed 3, only ReLU6 still needs it
    acc["linear"][3] = 0.90
    assert budgets.seeds_to_add(acc) == {"relu6": {3}}
    # still unresolved after seed 3 -> seed 4; resolved -> nothing more
    acc["relu6"][3] = 0.89
    assert budgets.seeds_to_add(acc) == {"linear": {4}, "relu6": {4}}
    acc["relu6"] = {0: 0.85, 1: 0.86, 2: 0.84, 3: 0.85}  # +5, +5, +5, +5
    assert budgets.seeds_to_add(acc) == {}
    # never more than MAX_SEEDS
    wide = _acc(linear=[90, 91, 89, 90, 92], relu6=[87, 92, 87, 90, 92])
    assert len(wide["linear"]) == budgets.MAX_SEEDS and budgets.seeds_to_add(wide) == {}


def _store(config, acc, folder):
    from mnv2lab.train import RunResult
    from mnv2lab.train.results import result_path, save_result

    final = {"test_acc": acc}
    if config.validation_images is not None:
        final["evaluated_on"] = "validation"
    path = result_path(config, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_result(RunResult(config=config, key=config.key(), history=[], final=final), path)


def test_the_long_study_grows_by_the_seeds_the_rule_asks_for(tmp_path):
    recipe_dir, long_dir = tmp_path / "recipe", tmp_path / "long"
    for run, acc in zip(budgets.search_runs(), (0.80, 0.78, 0.79)):
        _store(run.config, acc, recipe_dir)
    base = budgets.define_long_study(results=str(recipe_dir), long_results=long_dir)
    assert len(base) == 15 and {r.seed for r in base} == set(budgets.LONG_SEEDS)
    points = {"linear": [90, 91, 89], "relu6": [87, 92, 87]}  # unresolved, mean +1.33
    for r in base:
        acc = points.get(r.variant, [89.0, 90.0, 88.0])[r.seed]
        _store(r.config, acc / 100, long_dir)
    grown = budgets.define_long_study(results=str(recipe_dir), long_results=long_dir)
    added = grown[len(base) :]
    assert [r.key for r in grown[: len(base)]] == [r.key for r in base]
    assert sorted((r.variant, r.seed) for r in added) == [("linear", 3), ("relu6", 3)]
    linear0 = next(r for r in base if r.variant == "linear" and r.seed == 0)
    linear3 = next(r for r in added if r.variant == "linear")
    assert linear3.config.to_dict() == {**linear0.config.to_dict(), "seed": 3}


def test_the_notebooks_read_the_comparisons_the_seed_rule_watches(repo_root):
    """The more-seeds rule and notebooks 03/04/06 must mean the same pairs by the same labels."""
    import re

    sources = "".join(
        (repo_root / "notebooks" / n).read_text()
        for n in ("03_bottleneck_ablation.ipynb", "04_shortcut_ablation.ipynb", "06_v1_vs_v2.ipynb")
    )
    labels = set(re.findall(r'budget\.Comparison\(\\"([^"\\]+)\\"', sources))
    assert labels == set(budgets.LONG_COMPARISONS)


def test_recipe_search_runs_get_no_figure_7_statistics(tmp_path):
    """The search's runs choose a recipe and nothing else: the runner's after-run hooks skip them
    (without touching weights or data)."""
    from mnv2lab import fig7_training
    from mnv2lab.activations import runs as activation_runs

    for run in budgets.search_runs():
        assert activation_runs.after_run(run, None, tmp_path) == []
        assert fig7_training.after_run(run, None, tmp_path) == []
    assert not any(tmp_path.iterdir())


def test_a_long_plan_with_missing_runs_names_the_long_command(tmp_path):
    for run, acc in zip(budgets.search_runs(), (0.80, 0.78, 0.79)):
        _store(run.config, acc, tmp_path / budgets.RECIPE_STUDY)
    plan = budgets.long_plan({"results_dir": str(tmp_path)}, ["fig6a"])
    assert {r.variant for r in plan.runs} == {"linear", "relu6"} and len(plan.runs) == 6
    results = study.collect(plan, require_some=False)
    message = study.missing_message(results)
    assert "6 of 6 runs have no result" in message and budgets.LONG_COMMAND in message
    assert "train_missing" not in message  # the notebook never trains 30-epoch runs


def test_the_recipe_table_marks_the_choice_only_when_the_search_is_complete(tmp_path):
    runs = budgets.search_runs()
    _store(runs[0].config, 0.80, tmp_path)
    rows = budgets.recipe_table(results=str(tmp_path))
    assert [r["validation_acc"] for r in rows] == [80.0, None, None]
    assert not any(r["chosen"] for r in rows)
    for run, acc in zip(runs[1:], (0.78, 0.81)):
        _store(run.config, acc, tmp_path)
    rows = budgets.recipe_table(results=str(tmp_path))
    assert [r["candidate"] for r in rows if r["chosen"]] == ["C_wd5e-4_ls0.1"]
    assert rows[2]["label_smoothing"] == 0.1 and rows[2]["epochs"] == budgets.SEARCH_EPOCHS


def test_the_committed_search_is_on_the_validation_split_and_defines_the_long_study():
    """The committed search results (results/cifar10_recipe/): every candidate trained on 45,000
    training images and evaluated on the other 5,000, never on the test set; the long study is
    the chosen recipe's."""
    from mnv2lab.train import load_intact

    for run in budgets.search_runs():
        res = load_intact(run.config)
        assert res is not None, f"{run.name}: no committed result"
        assert res.final["evaluated_on"] == "validation"
        assert (res.final["train_images"], res.final["test_images"]) == (45_000, 5_000)
    name, recipe = budgets.chosen_recipe()
    accuracies = budgets.search_accuracies()
    assert name == budgets.choose(accuracies)
    assert accuracies[name] >= max(accuracies.values()) - budgets.TIE_POINTS / 100
    runs = budgets.define_long_study()
    assert len(runs) >= 15
    assert all(r.config.label_smoothing == recipe["label_smoothing"] for r in runs)
    assert all(r.config.weight_decay == recipe["weight_decay"] for r in runs)


@pytest.mark.parametrize("seeds", [[], [0, 0], [-1], [True], [0.5]])
def test_both_budgets_refuse_bad_seeds_naming_them(seeds):
    recipe = budgets.CANDIDATES["A_wd5e-4"]
    for build in (
        lambda: budgets.long_runs(recipe, seeds=seeds),
        lambda: study.define_study(seeds=seeds),
    ):
        with pytest.raises(ParameterError, match=r"parameter 'seeds': got .*distinct non-negative"):
            build()
