"""The trained numbers a notebook's "What we found" quotes in prose are the committed results'.

The cell is written by hand (it is the notebook's narrative), so a rerun or a new seed could leave
it quoting numbers the results no longer give. Here each quoted number is recomputed from the
committed results with the package's own tables, formatted as the cell prints it, and looked up
in the cell: a stale sentence fails, naming the number it should say.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mnv2lab import ablation, budget, findings, notebook, study
from mnv2lab.study import budgets
from mnv2lab.v1_vs_v2 import plan as v1_vs_v2_plan

ROOT = Path(__file__).resolve().parent.parent


def what_we_found(stem: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.source.startswith("## What we found")]
    assert len(cells) == 1, f"{stem}: one 'What we found' cell"
    return " ".join(cells[0].split())  # line breaks in the prose are not part of a number


def both_budgets(stem: str, uses: list[str]):
    """(short plan, {budget label: study results}) from the committed results."""
    params = notebook.parameter_defaults(stem)
    short = study.make_plan(params, uses)
    long = budgets.long_plan(params, uses, short_plan=short)
    long_results = study.collect(long, require_some=False)
    if long_results.n_done < len(long.runs):
        pytest.skip(f"{stem}: the long budget is incomplete ({long_results.n_done} runs)")
    return short, {
        budgets.budget_label(short): study.collect(short),
        budgets.budget_label(long): long_results,
    }


def interval(mean: float, low: float, high: float, digits: int, unit: str = "") -> str:
    return f"{mean:+.{digits}f}{unit} [{low:+.{digits}f}, {high:+.{digits}f}]"


def per_seed(values, digits: int) -> str:
    return ", ".join(f"{v:+.{digits}f}" for v in values)


def missing(text: str, expected: dict[str, str]) -> dict[str, str]:
    """The expected quotes ``text`` lacks (a gap may be written with or without " points")."""
    text = text.replace(" points [", " [")
    return {
        what: quote
        for what, quote in expected.items()
        if quote.replace(" points [", " [") not in text
    }


def test_notebook_04_quotes_its_numbers_from_the_committed_results():
    stem = "04_shortcut_ablation"
    text = what_we_found(stem)
    short, by_budget = both_budgets(stem, ["fig6b"])
    short_label, long_label = list(by_budget)
    w = short.main_width
    paper = budget.Side("linear", w)
    others = {"expansion shortcut": "expansion_shortcut", "no residual": "no_residual"}
    comparisons = [
        budget.Comparison(name, paper, budget.Side(variant, w)) for name, variant in others.items()
    ]
    gaps = budget.gap_table(by_budget, comparisons).set_index(["budget", "comparison"])
    sides = {"paper's model": paper, **{k: budget.Side(v, w) for k, v in others.items()}}
    fits = budget.fit_table(by_budget, sides).set_index(["budget", "model"])

    expected: dict[str, str] = {}
    for name in sides:  # the long budget's means, intervals and seeds
        f = fits.loc[(long_label, name)]
        expected[f"long {name} mean"] = f"{f.test_acc:.2f}%"
        expected[f"long {name} interval"] = f"{f.low:.2f}, {f.high:.2f}]"
        expected[f"long {name} fit-check accuracy"] = f"{f.clean_train_acc:.1f}%"
        expected[f"long {name} fit-check loss"] = f"{f.clean_train_loss:.3f}"
        expected[f"long {name} test loss"] = f"{f.test_loss:.3f}"
        variant = "linear" if name == "paper's model" else others[name]
        row = ablation.final_table(by_budget[long_label], [(variant, w)]).iloc[0]
        expected[f"long {name} seeds"] = row.per_seed.replace(", ", " / ")
        f = fits.loc[(short_label, name)]  # the short budget's, one decimal
        expected[f"short {name} mean"] = f"{f.test_acc:.1f}% [{f.low:.1f}, {f.high:.1f}]"
    for name in others:
        g = gaps.loc[(long_label, name)]
        expected[f"long gap to {name}"] = interval(g.gap, g.low, g.high, 2, " points")
        expected[f"long gap to {name} per seed"] = per_seed(g.per_seed, 2)
        expected[f"long gap to {name} unpaired"] = interval(
            g.unpaired_gap, g.unpaired_low, g.unpaired_high, 2
        )
        expected[f"long gap to {name} interval width"] = f"{g.high - g.low:.2f}"
        g = gaps.loc[(short_label, name)]
        expected[f"short gap to {name}, 2 digits"] = interval(g.gap, g.low, g.high, 2)
        expected[f"short gap to {name}, 1 digit"] = interval(g.gap, g.low, g.high, 1)
        expected[f"short gap to {name} per seed"] = per_seed(g.per_seed, 2)
        expected[f"short gap to {name} interval width"] = f"{g.high - g.low:.1f}"
        early = ablation.paired_gap(
            by_budget[long_label], others[name], w, fraction=ablation.EARLY_FRACTION
        )
        expected[f"early gap to {name}"] = interval(early.mean, early.low, early.high, 2, " points")
    verdict = ablation.verdict_fig6b(by_budget[long_label]).verdict
    expected["verdict"] = f"**{verdict}** ({long_label})"

    assert not missing(text, expected), (
        f"{stem}: stale or missing numbers {missing(text, expected)}"
    )


def test_notebook_03_quotes_its_numbers_from_the_committed_results():
    stem = "03_bottleneck_ablation"
    text = what_we_found(stem)
    short, by_budget = both_budgets(stem, ["fig6a", "width_sweep"])
    short_label, long_label = list(by_budget)
    w = short.main_width
    sides = {"paper's model": budget.Side("linear", w), "ReLU6": budget.Side("relu6", w)}
    comparison = budget.Comparison("linear - ReLU6", sides["paper's model"], sides["ReLU6"])
    gaps = budget.gap_table(by_budget, [comparison]).set_index("budget")
    fits = budget.fit_table(by_budget, sides).set_index(["budget", "model"])
    long_results, short_results = by_budget[long_label], by_budget[short_label]

    expected: dict[str, str] = {}
    for name, variant in (("paper's model", "linear"), ("ReLU6", "relu6")):
        f = fits.loc[(long_label, name)]
        expected[f"long {name} mean and interval"] = (
            f"{f.test_acc:.2f}%** [95% CI {f.low:.2f}, {f.high:.2f}]"
            if variant == "linear"
            else f"{f.test_acc:.2f}%** [{f.low:.2f}, {f.high:.2f}]"
        )
        expected[f"long {name} seeds"] = (
            ablation.final_table(long_results, [(variant, w)]).iloc[0].per_seed.replace(", ", " / ")
        )
        expected[f"long {name} fit-check accuracy"] = f"{f.clean_train_acc:.1f}% ("
        expected[f"long {name} fit-check loss"] = f"{f.clean_train_loss:.3f}"
        expected[f"long {name} test loss"] = f"{f.test_loss:.3f}"
        f = fits.loc[(short_label, name)]
        expected[f"short {name} mean"] = f"{f.test_acc:.1f}% [{f.low:.1f}, {f.high:.1f}]"
    g = gaps.loc[long_label]
    expected["long gap"] = "linear - ReLU6 = " + interval(g.gap, g.low, g.high, 2, " points")
    expected["long gap per seed"] = per_seed(g.per_seed, 2)
    expected["long gap unpaired"] = interval(g.unpaired_gap, g.unpaired_low, g.unpaired_high, 2)
    s = gaps.loc[short_label]
    expected["short gap"] = interval(s.gap, s.low, s.high, 2, " points")
    early = ablation.paired_gap(long_results, "relu6", w, fraction=ablation.EARLY_FRACTION)
    expected["long early gap"] = interval(early.mean, early.low, early.high, 2, " points")
    shrink = ablation.early_minus_final(long_results, "relu6", w)
    expected["long early minus final"] = interval(shrink.mean, shrink.low, shrink.high, 2)
    paper = fits.loc[(long_label, "paper's model")]
    expected["88% target missed by"] = f"missed by {88 - paper.test_acc:.2f} points"
    expected["fit-check above test"] = f"{paper.clean_train_acc - paper.test_acc:.1f} points above"
    narrowest = min(short.widths)
    for r in ablation.width_gaps(short_results, short.widths).itertuples():  # beyond the paper
        at = f"points at width {r.width:g}" if r.width == narrowest else f"at {r.width:g}"
        expected[f"short gap at width {r.width:g}"] = (
            f"{r.gap:+.2f} {at} [{r.low:+.2f}, {r.high:+.2f}]"
        )
        e = ablation.paired_gap(short_results, "relu6", r.width, fraction=ablation.EARLY_FRACTION)
        expected[f"short early gap at width {r.width:g}"] = (
            f"{interval(e.mean, e.low, e.high, 2)} at {r.width:g}"
        )
    e = ablation.paired_gap(short_results, "relu6", w, fraction=ablation.EARLY_FRACTION)
    expected["short gap after 1 epoch"] = f"{interval(e.mean, e.low, e.high, 1)} after 1 epoch"
    trend = ablation.gap_trend(short_results, short.widths)
    expected["width trend"] = interval(trend.mean, trend.low, trend.high, 1, " points")
    verdict = ablation.verdict_fig6a(long_results).verdict
    expected["verdict"] = f"**{verdict}** ({long_label})"

    assert not missing(text, expected), (
        f"{stem}: stale or missing numbers {missing(text, expected)}"
    )


def test_notebook_06_quotes_its_trained_numbers_from_the_committed_results():
    stem = "06_v1_vs_v2"
    text = what_we_found(stem)
    params = notebook.parameter_defaults(stem)
    trained = v1_vs_v2_plan.make_plan(params).trained
    pairs = [((0.5, 0.4), "V2 0.5 - V1 0.4"), ((0.35, 0.3), "V2 0.35 - V1 0.3")]
    short = study.plan_of(
        [r for r in trained.runs if r.width in (0.5, 0.4)], trained.results, smoke=trained.smoke
    )
    long = budgets.long_plan(params, ["v1_vs_v2"], short_plan=short)
    long_results = study.collect(long, require_some=False)
    if long_results.n_done < len(long.runs):
        pytest.skip(f"{stem}: the long budget is incomplete ({long_results.n_done} runs)")
    short_label, long_label = budgets.budget_label(short), budgets.budget_label(long)
    by_budget = {short_label: study.collect(trained), long_label: long_results}
    comparisons = [
        budget.Comparison(name, budget.Side("linear", v2), budget.Side("v1", v1, "mobilenet_v1"))
        for (v2, v1), name in pairs
    ]
    gaps = budget.gap_table(by_budget, comparisons).set_index(["budget", "comparison"])
    sides = {"V2": comparisons[0].reference, "V1": comparisons[0].variant}
    fits = budget.fit_table(by_budget, sides).set_index(["budget", "model"])

    expected: dict[str, str] = {}
    for name in sides:
        f = fits.loc[(long_label, name)]
        expected[f"long {name} mean"] = f"**{f.test_acc:.2f}%**"
        expected[f"long {name} interval"] = f"{f.low:.2f}, {f.high:.2f}]"
        expected[f"long {name} fit-check accuracy"] = f"{name} {f.clean_train_acc:.1f}%"
        expected[f"long {name} fit-check loss"] = f"{f.clean_train_loss:.3f}"
        expected[f"long {name} test loss"] = f"{f.test_loss:.3f}"
    g = gaps.loc[(long_label, pairs[0][1])]
    expected["long gap"] = "V2 - V1 = " + interval(g.gap, g.low, g.high, 2, " points")
    expected["long gap per seed"] = per_seed(g.per_seed, 2)
    expected["long gap unpaired"] = interval(g.unpaired_gap, g.unpaired_low, g.unpaired_high, 2)
    s = gaps.loc[(short_label, pairs[0][1])]
    expected["short gap"] = (
        f"{interval(s.gap, s.low, s.high, 2, ' points')}** (3 seeds; V2 {s.reference_acc:.1f}%, "
        f"V1 {s.variant_acc:.1f}%)"
    )
    s = gaps.loc[(short_label, pairs[1][1])]
    expected["short gap, smaller pair"] = interval(s.gap, s.low, s.high, 1, " points")
    verdict = findings.beyond_verdict(g.low, g.high)
    expected["verdict"] = f"**{verdict}** ({long_label})"

    assert not missing(text, expected), (
        f"{stem}: stale or missing numbers {missing(text, expected)}"
    )


def test_a_stale_number_is_named():
    expected = {"mean": "87.14%", "gap": "+1.25 points [+0.90, +1.60]"}
    assert missing("mean 87.14%; gap +1.25 points [+0.90, +1.70]", expected) == {
        "gap": "+1.25 points [+0.90, +1.60]"
    }
