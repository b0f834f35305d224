"""The numbers a notebook's "What we found" quotes in prose are the committed results' (or, for
counts, the package's).

The cell is written by hand (it is the notebook's narrative), so a rerun, a new seed or a
re-timing could leave it quoting numbers the results no longer give, and a number copied from a
rounded table can be rounded twice (7.55 printed as 7.6, 1.046 as 1.1). Here each quoted number is
recomputed offline from the committed results (trained runs, latency and memory measurements,
activation statistics) with the package's own tables, formatted as the cell prints it, and looked
up in the cell: a stale sentence fails, naming the number it should say. Notebooks 02-07 are
recomputed from committed results; notebook 01's seeded Monte Carlo is recomputed at the
dimensions its prose quotes (every ``n`` has a random stream of its own, so a subset of the sweep
gives the default run's numbers at those ``n``).
"""

from __future__ import annotations

import math
import re
import statistics
import nbformat
import pandas as pd
import pytest

from mnv2lab import (
    ablation,
    manifold,
    activations,
    budget,
    cost_report,
    costs,
    dense_prediction,
    fig7_training,
    findings,
    latency,
    notebook,
    section5,
    study,
    text_claims,
    v1_vs_v2,
)
from mnv2lab.paths import resolve
from mnv2lab.study import budgets
from mnv2lab.v1_vs_v2 import plan as v1_vs_v2_plan
from conftest import ROOT


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


def fit_quotes(fits, budget_label: str, name: str) -> dict[str, str]:
    """A model's final mean accuracy, interval and fit check at one budget, as the cells print
    them (two decimals for accuracy, one for the fit-check accuracy, three for losses)."""
    f = fits.loc[(budget_label, name)]
    return {
        f"{name} mean": f"{f.test_acc:.2f}%",
        f"{name} interval": f"{f.low:.2f}, {f.high:.2f}]",
        f"{name} fit-check accuracy": f"{f.clean_train_acc:.1f}%",
        f"{name} fit-check loss": f"{f.clean_train_loss:.3f}",
        f"{name} test loss": f"{f.test_loss:.3f}",
    }


def gap_quotes(gap, name: str) -> dict[str, str]:
    """A paired gap (a ``budget.gap_table`` row): interval, per seed and unpaired, two decimals."""
    return {
        f"gap {name}": interval(gap.gap, gap.low, gap.high, 2, " points"),
        f"gap {name} per seed": per_seed(gap.per_seed, 2),
        f"gap {name} unpaired": interval(gap.unpaired_gap, gap.unpaired_low, gap.unpaired_high, 2),
    }


def assert_quoted(stem: str, text: str, expected: dict[str, str]) -> None:
    absent = missing(text, expected)
    assert not absent, f"{stem}: 'What we found' lacks (stale or missing) {absent}"


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
        expected.update(fit_quotes(fits, long_label, name))
        variant = "linear" if name == "paper's model" else others[name]
        row = ablation.final_table(by_budget[long_label], [(variant, w)]).iloc[0]
        expected[f"long {name} seeds"] = row.per_seed.replace(", ", " / ")
        f = fits.loc[(short_label, name)]  # the short budget's, one decimal
        expected[f"short {name} mean"] = f"{f.test_acc:.1f}% [{f.low:.1f}, {f.high:.1f}]"
    for name in others:
        g = gaps.loc[(long_label, name)]
        expected.update(gap_quotes(g, name))
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

    assert_quoted(stem, text, expected)


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
        expected.update(fit_quotes(fits, long_label, name))
        expected[f"long {name} seeds"] = (
            ablation.final_table(long_results, [(variant, w)]).iloc[0].per_seed.replace(", ", " / ")
        )
        f = fits.loc[(short_label, name)]
        expected[f"short {name} mean"] = f"{f.test_acc:.1f}% [{f.low:.1f}, {f.high:.1f}]"
    expected.update(gap_quotes(gaps.loc[long_label], "linear - ReLU6 ="))
    s = gaps.loc[short_label]
    expected["short gap"] = interval(s.gap, s.low, s.high, 2, " points")
    early = ablation.paired_gap(long_results, "relu6", w, fraction=ablation.EARLY_FRACTION)
    expected["long early gap"] = interval(early.mean, early.low, early.high, 2, " points")
    shrink = ablation.early_minus_final(long_results, "relu6", w)
    expected["long early minus final"] = interval(shrink.mean, shrink.low, shrink.high, 2)
    paper = fits.loc[(long_label, "paper's model")]
    target = 100 * budgets.TARGET_ACCURACY
    expected["target missed by"] = (
        f"The {target:.0f}% target is missed by {target - paper.test_acc:.2f} points"
    )
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
    params = notebook.parameter_defaults(stem)
    recipe_results = resolve(params["results_dir"]) / budgets.RECIPE_STUDY
    recipes = pd.DataFrame(budgets.recipe_table(results=str(recipe_results)))
    recipes = recipes.set_index("candidate")["validation_acc"]
    expected["recipe search"] = (
        f"label smoothing 0.1 with weight decay 5e-4: {recipes['C_wd5e-4_ls0.1']:.1f}%, against "
        f"{recipes['A_wd5e-4']:.1f}% without smoothing and {recipes['B_wd4e-5_paper']:.1f}% with "
        f"the paper's weight decay 4e-5"
    )
    every_long = budgets.long_plan(params, ["fig6a", "fig6b", "v1_vs_v2"])
    minutes = sorted(
        r.final["wall_time_s"] / 60
        for r in study.collect(every_long, require_some=False).results.values()
        if r.config.model == "mobilenet_v2"
    )
    expected["minutes per run"] = (
        f"{minutes[0]:.0f} to {minutes[-1]:.0f} minutes per MobileNetV2 run on 2 cores (median "
        f"{statistics.median(minutes):.0f} over the {len(minutes)}"
    )
    late = {
        epoch: [
            100 * h["test_acc"]
            for r in sides["paper's model"].runs(long_results).values()
            for h in r.history
            if h["epoch"] == epoch
        ]
        for epoch in (28, 30)
    }
    expected["creeping up at the end"] = (
        f"{min(late[28]):.1f}-{max(late[28]):.1f}% at epoch 28, "
        f"{min(late[30]):.1f}-{max(late[30]):.1f}% at 30"
    )

    assert_quoted(stem, text, expected)


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
        expected.update(fit_quotes(fits, long_label, name))
    g = gaps.loc[(long_label, pairs[0][1])]
    expected.update(gap_quotes(g, "V2 - V1 ="))
    s = gaps.loc[(short_label, pairs[0][1])]
    expected["short gap"] = (
        f"{interval(s.gap, s.low, s.high, 2, ' points')}** (3 seeds; V2 {s.reference_acc:.1f}%, "
        f"V1 {s.variant_acc:.1f}%)"
    )
    s = gaps.loc[(short_label, pairs[1][1])]
    expected["short gap, smaller pair"] = interval(s.gap, s.low, s.high, 1, " points")
    verdict = findings.beyond_verdict(g.low, g.high)
    expected["verdict"] = f"**{verdict}** ({long_label})"
    lead = v1_lead_by_epoch(sides["V2"].runs(long_results), sides["V1"].runs(long_results))
    middle = {e: v for e, v in lead.items() if 2 <= e <= 24}
    top = max(middle, key=middle.get)
    expected["V1 ahead along training"] = (
        f"V1's mean is ahead at {sum(v > 0 for v in middle.values())} of the {len(middle)} "
        f"evaluations from epoch 2 to 24, but by at most {middle[top]:.1f} points (epoch {top})"
    )
    assert max(abs(v) for e, v in middle.items() if e >= 4) < 2, "the text: under 2 from epoch 4"
    last = max(lead)
    expected["lead at the end"] = f"({-lead[last]:+.2f} points for V2 in the mean curves)"

    def cost(model: str, width: float) -> dict:
        return costs.model_costs(model, 32, width_mult=width, num_classes=10, small_input=True)

    (v2_big, v1_big), (v2_small, v1_small) = (
        (cost("mobilenet_v2", v2), cost("mobilenet_v1", v1)) for (v2, v1), _ in pairs
    )
    expected["matched multiply-adds"] = (
        f"MobileNetV2 0.5 ({v2_big['madds'] / 1e6:.0f}M multiply-adds per 32x32 image)"
    )
    expected["V1 multiply-adds"] = f"MobileNetV1 0.4 ({v1_big['madds'] / 1e6:.0f}M)"
    expected["smaller pair multiply-adds"] = (
        f"{v2_small['madds'] / 1e6:.0f}-{v1_small['madds'] / 1e6:.0f}M multiply-adds"
    )
    expected["parameters"] = (
        f"V2 0.5 has {v2_big['params'] / 1e6:.2f}M parameters, V1 0.4 {v1_big['params'] / 1e6:.2f}M"
    )

    assert_quoted(stem, text, expected)


def test_notebook_05_quotes_its_long_budget_counts_from_the_committed_statistics():
    stem = "05_activation_patterns"
    text = what_we_found(stem)
    params = notebook.parameter_defaults(stem)
    long = budgets.long_plan(params, ["fig6a"])
    runs = [r for r in long.runs if r.variant == study.PAPER_VARIANT]
    along = fig7_training.stored_along(runs, long.results)
    if along.seed.nunique() < len(runs):
        pytest.skip(f"{stem}: the long budget's counts are incomplete")
    summary = fig7_training.summary_by_epoch(along).set_index("epoch")
    results = study.collect(long, require_some=False)
    label = budgets.budget_label(long)

    expected: dict[str, str] = {}
    accuracies = [
        100 * results.runs(study.PAPER_VARIANT, long.main_width)[r.seed].final["test_acc"]
        for r in runs
    ]
    expected["seeds' accuracy"] = (
        f"{accuracies[0]:.2f}%, {accuracies[1]:.2f}% and {accuracies[2]:.2f}%"
    )
    expected["mean fraction at initialization"] = (
        f"is {summary.frac_mean[0]:.3f} ({len(runs)} seeds)"
    )
    trained = [e for e in summary.index if e > 0]
    fractions = [f"{summary.frac_mean[e]:.3f}" for e in trained]
    expected["mean fraction along training"] = (
        f"{fractions[0]} after epoch {trained[0]}, then {', '.join(fractions[1:-1])} and "
        f"**{fractions[-1]} after {trained[-1]} epochs"
    )
    below = [f"{summary.layers_below[e]:.1f}" for e in trained]
    expected["layers under the threshold along training"] = (
        f"{summary.layers_below[0]:.1f} at initialization (the first layer, below), then "
        f"{', '.join(below[:-1])} and {below[-1]} after epochs"
    )
    finding = fig7_training.verdict(along, label)
    expected["verdict"] = f"**{finding.verdict}** ({label})"
    end = along[along.epoch == trained[-1]]
    per_seed_below = end.groupby("seed").min_below.sum()
    expected["layers under per seed"] = (
        f"{per_seed_below.mean():.1f} layers per seed (per seed "
        f"{' / '.join(str(int(n)) for n in per_seed_below)})"
    )
    for r in end[end.min_below].itertuples():  # the layers with a pixel under 1/t
        expected[f"seed {r.seed} layer {r.layer} under the threshold"] = (
            f"{round(r.frac_min * r.channels)} of {r.channels} positive channels "
            f"({r.frac_min:.3f}) at {round(r.share_below * r.pixels)} of its {r.pixels:,} pixels"
        )
    init, last = (
        along[along.epoch == e].groupby("layer").frac_std.mean() for e in (0, trained[-1])
    )
    expected["spread grows"] = f"in {int((last > init).sum())} of {len(init)} layers"
    saturated = 100 * summary.frac_saturated.max()
    expected["saturated, averaged over layers"] = f"at most {saturated:.2f}% of the channels"

    assert_quoted(stem, text, expected)


def test_notebook_06_quotes_its_measurements_from_the_committed_results():
    """Table 4's latencies, the ratio's explanation, the accuracy-latency fronts and Section 5's
    memory and time, as measured and committed in results/latency and results/memory_efficient
    (read offline: nothing is measured here)."""
    stem = "06_v1_vs_v2"
    text = what_we_found(stem)
    plan = v1_vs_v2.make_plan({**notebook.parameter_defaults(stem), "measure_missing": False})
    lat = latency.series_table(
        plan.latency, plan.latency_root, allow_measure=False, max_foreign=plan.max_foreign
    )
    t4 = v1_vs_v2.table4_latency(lat, plan.table4_resolution).set_index("network")
    ratio = v1_vs_v2.latency_ratio(lat, plan.table4_resolution).set_index("threads")
    through = v1_vs_v2.throughput(
        lat, v1_vs_v2.measure_breakdowns(plan), plan.table4_resolution
    ).set_index(["network", "threads"])
    v1, v2 = through.loc["MobileNetV1"], through.loc["MobileNetV2"]

    def costs(network: str) -> str:
        row = t4.loc[network]
        return f"{row['params (M)']:.2f}M / {row['MAdds (M)']:.1f}M"

    expected = {
        "V1 cost": f"V1 {costs('MobileNetV1')}",
        "V2 cost": f"V2 {costs('MobileNetV2')}",
        "V2 1.4 cost": f"V2 1.4 {costs('MobileNetV2 (1.4)')}",
        "1 thread latencies": (
            f"{ratio.loc[1, 'V1 (ms)']:.1f} ms on MobileNetV1 and {ratio.loc[1, 'V2 (ms)']:.1f} ms "
            f"on MobileNetV2 with one thread: **V2/V1 = {ratio.loc[1, 'V2/V1 here']:.2f}**"
        ),
        "MAdds ratio": f"only {ratio.loc[1, 'V2/V1 MAdds']:.2f} of V1's multiply-adds",
        "2 thread ratio": (
            f"two threads the ratio is {ratio.loc[2, 'V2/V1 here']:.2f}** "
            f"({ratio.loc[2, 'V2 (ms)']:.1f} vs {ratio.loc[2, 'V1 (ms)']:.1f} ms)"
        ),
        "thread speed-ups": (
            f"V1 speeds up {v1.loc[1, 'median (ms)'] / v1.loc[2, 'median (ms)']:.2f}×, V2 only "
            f"{v2.loc[1, 'median (ms)'] / v2.loc[2, 'median (ms)']:.2f}×"
        ),
        "throughput": (
            f"V1 runs at {v1.loc[1, 'GMAdds/s']:.0f} GMAdds/s, V2 at {v2.loc[1, 'GMAdds/s']:.0f}"
        ),
        "depthwise and other shares": (
            f"depthwise convolutions are {100 * v2.loc[1, 'depthwise MAdds share']:.0f}% of V2's "
            f"multiply-adds but {100 * v2.loc[1, 'depthwise time share']:.0f}% of its time, and "
            f"activations, additions and dispatch another {100 * v2.loc[1, 'other time share']:.0f}%"
            f" (V1: {100 * v1.loc[1, 'other time share']:.0f}%)"
        ),
    }
    fronts = v1_vs_v2.accuracy_latency_points(lat, v1_vs_v2.figure5_points(plan))
    beaten = {}
    for threads, points in fronts.groupby("threads"):
        v1_points = points[points.family == "MobileNetV1"]
        v2_points = points[points.family == "MobileNetV2"]
        beaten[threads] = sum(
            ((v2_points.median_ms <= p.median_ms) & (v2_points.top1 >= p.top1)).any()
            for p in v1_points.itertuples()
        )
        if threads == 1:
            expected["V2 front"] = f"{int(v2_points.pareto.sum())} of {len(v2_points)} V2 points"
    expected["V1 points beaten, 1 thread"] = f"{beaten[1]} of the {len(v1_points)} MobileNetV1"
    expected["V1 points beaten, 2 threads"] = (
        f"With two threads only {beaten[2]} of {len(v1_points)}"
    )

    memory = section5.memory_table(plan.slices_memory, plan.memory_root, allow_measure=False)
    sliced = memory[memory.path == "sliced"].set_index(["resolution", "n_slices"]).measured_mb
    analytic = memory[memory.path == "sliced"].set_index(["resolution", "n_slices"]).analytic_mb
    plain = memory[memory.path == "plain"].set_index("resolution").measured_mb
    resolutions = sorted(plain.index)
    expected["unsliced peaks"] = "unsliced " + " / ".join(
        f"{sliced[(r, 1)]:.1f}" for r in resolutions
    )
    expected["plain peaks"] = "plain practitioner model: " + " / ".join(
        f"{plain[r]:.1f}" for r in resolutions
    )
    for t in (2, 3, 5):
        cuts = [100 * (1 - sliced[(r, t)] / sliced[(r, 1)]) for r in resolutions]
        expected[f"t = {t} cuts"] = (
            f"t = {t} {'cuts it ' if t == 2 else ''}by {min(cuts):.0f}–{max(cuts):.0f}%"
        )
    below = 100 * (1 - sliced / analytic)
    small = below.loc[resolutions[0]]
    expected["below the bound at the smallest size"] = (
        f"{small.min():.0f}–{small.max():.0f}% below it at {resolutions[0]}²"
    )
    larger = below.drop(resolutions[0], level="resolution").abs().max()
    expected["within the bound at larger sizes"] = f"within {math.ceil(larger):.0f}%"

    times = section5.latency_table(
        plan.slices_latency, plan.latency_root, allow_measure=False, max_foreign=plan.max_foreign
    ).pivot_table(index=["resolution", "threads"], columns="n_slices", values="slowdown")
    mid = times.loc[448, [2, 3, 4]]
    expected["448, t = 2-4"] = f"({mid.min().min():.2f}–{mid.max().max():.2f}×)"
    expected["224, 2 threads"] = (
        f"t = 2 already costs {times.loc[(224, 2), 2]:.2f}× and t = 5 {times.loc[(224, 2), 5]:.2f}×"
    )
    expected["t = 16"] = f"(t = 16: {times[16].min():.1f}–{times[16].max():.1f}×)"

    assert_quoted(stem, text, expected)


def test_notebook_05_quotes_its_short_budget_counts_from_the_committed_statistics():
    stem = "05_activation_patterns"
    text = what_we_found(stem)
    plan = activations.make_plan(notebook.parameter_defaults(stem))
    table, missing_runs = activations.collect(plan)
    if missing_runs:
        pytest.skip(f"{stem}: the short budget's counts are incomplete")
    w = plan.main_width
    init, trained = (activations.pooled(table, w, s).frac_mean.mean() for s in ("init", "trained"))
    spread = re.search(
        r"grows in (\d+) of (\d+) layers \(median ratio trained/init ([\d.]+)\)",
        activations.findings(table, plan)[0].details,
    )
    expected = {
        "mean fraction": f"mean fraction {init:.3f} at initialization, {trained:.3f} trained",
        "spread": "spread up in {} of {} layers (median ratio {})".format(*spread.groups()),
    }
    lowest = activations.lowest_layers(table, "trained")
    under = lowest[(lowest.width == w) & (lowest["min"] < lowest.threshold)]
    expected["seeds with the last layer under"] = (
        f"under the threshold in {len(under)} of {lowest[lowest.width == w].seed.nunique()} seeds "
        f"at width {w:g}"
    )
    for r in under.itertuples():
        expected[f"seed {r.seed} under"] = (
            f"seed {r.seed}: {r.min:.0f} of {r.channels} channels on {100 * r.share_below:.1f}% of "
            f"its pixels"
        )
    below = activations.layers_below(table)
    by_width = below[below.stage == "trained"].groupby("width").layers_below.mean()
    widths = sorted(by_width.index)
    expected["layers under by width"] = (
        f"{by_width[widths[0]]:.1f} at width {widths[0]:g}, "
        + ", ".join(f"{by_width[x]:.1f} at {x:g}" for x in widths[1:])
    )
    assert_quoted(stem, text, expected)


def test_notebook_07_quotes_its_latencies_from_the_committed_results():
    stem = "07_detection_and_segmentation"
    text = what_we_found(stem)
    plan = dense_prediction.latency_plan(
        {**notebook.parameter_defaults(stem), "measure_missing": False}
    )
    ratios = dense_prediction.latency_ratios(dense_prediction.latency_table(plan))
    assert ratios.usable.all(), "the quoted timings are the uncontaminated ones"
    ssd = ratios[ratios.table == "Table 6"].set_index("threads")
    deeplab = ratios[ratios.table == "Table 7"].set_index(["threads", "V2 network"])
    aspp, no_aspp = "MNet V2* DeepLabv3 OS16 ASPP", "MNet V2* DeepLabv3 OS16"

    def ms(threads: int) -> tuple:
        return deeplab.loc[(threads, aspp)], deeplab.loc[(threads, no_aspp)]

    (a1, n1), (a2, n2) = ms(1), ms(2)
    expected = {
        "SSDLite, 1 thread": (
            f"{ssd.loc[1, 'V2 (ms)']:.1f} vs {ssd.loc[1, 'V1 (ms)']:.1f} ms at 1 thread "
            f"(ratio {ssd.loc[1, 'V2 / V1']:.2f})"
        ),
        "SSDLite, 2 threads": (
            f"at 2 threads {ssd.loc[2, 'V2 (ms)']:.1f} vs {ssd.loc[2, 'V1 (ms)']:.1f} ms "
            f"({ssd.loc[2, 'V2 / V1']:.2f}"
        ),
        "DeepLabv3, 1 thread": (
            f"V2* with ASPP {a1['V2 (ms)']:.1f} ms and without {n1['V2 (ms)']:.1f} ms against V1's "
            f"{a1['V1 (ms)']:.1f} ms at 1 thread ({a1['V2 / V1']:.2f} and {n1['V2 / V1']:.2f}"
        ),
        "DeepLabv3, 2 threads": (
            f"at 2 threads {a2['V2 (ms)']:.1f} / {n2['V2 (ms)']:.1f} vs {a2['V1 (ms)']:.1f} ms "
            f"({a2['V2 / V1']:.2f} / {n2['V2 / V1']:.2f})"
        ),
    }
    assert_quoted(stem, text, expected)


def test_notebook_02_quotes_its_counts_from_the_package():
    """Counts are deterministic, but the prose quoting them is typed: Table 2's totals, Table 1's
    formula check, Section 4's cost range and Section 5's block memory, as the package computes
    them."""
    stem = "02_architecture_and_cost"
    text = what_we_found(stem)
    table2 = cost_report.table2(1000)
    v2 = costs.model_costs("mobilenet_v2", 224)
    formula = cost_report.table1_formula_check()
    cost_range = text_claims.cost_range().set_index(["claim", "count"])["ours (M)"]
    readings = text_claims.smallest_madds_readings().set_index("reading")["MAdds (M)"]
    summary = section5.section5_summary(
        section5.sliced_memory_table(cost_report.meta_model("mobilenet_v2"))
    )
    largest, peaks = summary["largest"], summary["network_peak_kB"]
    expected = {
        "Table 2 parameters": f"**{table2.params.sum():,} parameters** with BN "
        f"({v2['params_no_bn']:,} without)",
        "Table 2 multiply-adds": f"**{table2.MAdds.sum():,} multiply-adds**",
        "Table 1 formula": f"the layer-by-layer count of block 3 ({formula['counted']:,})",
        "smallest multiply-adds": (
            f"needs {cost_range[('smallest MAdds', 'MAdds')]:.2f}M multiply-adds"
        ),
        "readings of 7M": (
            f"without the classifier {readings['without the classifier']:.2f}M, also without the "
            f"last 1×1 conv {readings['without the last 1x1 conv and the classifier']:.2f}M, with "
            f"that conv scaled to 448 channels "
            f"{readings['last 1x1 conv scaled by the width (448 channels)']:.2f}M"
        ),
        "largest multiply-adds": f"needs {cost_range[('largest MAdds', 'MAdds')]:.1f}M",
        "parameter range": (
            f"{cost_range[('smallest params', 'params without BN')]:.2f}M to "
            f"{cost_range[('largest params', 'params without BN')]:.2f}M without BN "
            f"({cost_range[('smallest params', 'params with BN')]:.2f}M to "
            f"{cost_range[('largest params', 'params with BN')]:.2f}M with)"
        ),
        "largest block": (
            f"needs {largest['naive_kB']:,.0f} kB all at once but {largest['tight_kB']:,.0f} kB in "
            f"the tightest unsliced schedule"
        ),
        "largest block sliced": (
            f"{largest['t_slices_kB']:,.0f} kB in t slices and {largest['tk_slices_kB']:,.0f} kB "
            f"one channel at a time — a {largest['tight_kB'] / largest['t_slices_kB']:.1f}x saving"
        ),
        "savings over t = 6 blocks": (
            "{:.1f}x to {:.2f}x over all t = 6 blocks ({:.1f}x to {:.1f}x against".format(
                *summary["tight_ratio"], *summary["naive_ratio"]
            )
        ),
        "against Table 3": (
            f"at least {summary['over_table3_tk']:.2f}x a block's largest thin tensor (block "
            f"{largest['block']}: {largest['tk_slices_kB']:,.0f} vs {largest['table3_kB']:,.0f} kB), "
            f"t slices at least {summary['over_table3_t']:.1f}x"
        ),
        "peak in t slices": f"the network's peak is {peaks['kB, t slice(s)']:,.0f} kB",
    }
    assert_quoted(stem, text, expected)


def v1_lead_by_epoch(v2_runs: dict, v1_runs: dict) -> dict[int, float]:
    """V1's mean test accuracy minus V2's (points) at every epoch both evaluated."""

    def mean_curve(runs: dict) -> dict[int, float]:
        curves = [
            {round(h["epoch"]): 100 * h["test_acc"] for h in r.history} for r in runs.values()
        ]
        epochs = set.intersection(*(set(c) for c in curves))
        return {e: sum(c[e] for c in curves) / len(curves) for e in epochs}

    v2, v1 = mean_curve(v2_runs), mean_curve(v1_runs)
    return {e: v1[e] - v2[e] for e in sorted(set(v1) & set(v2))}


def test_a_stale_number_is_named():
    expected = {"mean": "87.14%", "gap": "+1.25 points [+0.90, +1.60]"}
    assert missing("mean 87.14%; gap +1.25 points [+0.90, +1.70]", expected) == {
        "gap": "+1.25 points [+0.90, +1.60]"
    }


def short_e(x: float, digits: int = 1) -> str:
    """``2.2e-4`` rather than Python's ``2.2e-04``, as the prose writes small numbers."""
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def test_notebook_01_quotes_its_monte_carlo_numbers():
    stem = "01_relu_manifold"
    text = what_we_found(stem)
    run = manifold.make_plan(notebook.parameter_defaults(stem))
    assert run.sweep_ns == tuple(range(2, 51))  # the prose describes n = 2..50
    ns = list(range(2, 21)) + [30, 50]  # every n the prose quotes or counts over (n <= 20)
    sweep = manifold.sweep(ns, run.n_trials, run.n_points, run.turns, run.seed, progress=False)
    pairs = manifold.pair_counts(ns, run.n_pairs, run.n_points, run.turns, run.seed)
    fig1 = manifold.figure1(run.panel_ns, run.n_points, run.turns, run.seed)
    t, p = sweep.table(), pairs.table()
    theory = manifold.collapsed_fraction_theory
    agree = manifold.theory_agreement(sweep, pairs)

    def ci(n: int, key: str, fmt: str) -> str:
        r = t.loc[n]
        return f"{r[key]:{fmt}} [{r[key + '_low']:{fmt}}, {r[key + '_high']:{fmt}}]"

    panel = fig1.collapsed_fraction
    expected = {
        "panels n=2, 3": (
            f"{panel[2]:.0%} (`n = 2`, expected {manifold.percent(theory(2))}) and "
            f"{panel[3]:.0%} (`n = 3`, expected {manifold.percent(theory(3))})"
        ),
        "panels n=15, 30 expected": (
            f"(expected {manifold.percent(theory(15))} and {manifold.percent(theory(30))})"
        ),
        "panel n=5": f"this `T` collapses {panel[5]:.0%}",
        "theory n=5": f"twice the {theory(5):.0%} Theorem 1 expects",
        "per-T mean n=5 (%)": (
            f"{100 * t.loc[5].collapsed:.1f}% [{100 * t.loc[5].collapsed_low:.1f}, "
            f"{100 * t.loc[5].collapsed_high:.1f}]"
        ),
        "pairs judged": f"at all {len(agree['pairs_ns'])} `n` with at least 5 expected collapses",
        "pairs span": f"(`n = {min(agree['pairs_ns'])}..{max(agree['pairs_ns'])}`)",
        "per-T judged": (
            f"at all {len(agree['per_T_ns'])} `n` where at least "
            f"{manifold.MIN_COLLAPSING_TRIALS} of the {run.n_trials} `T`"
        ),
        "per-T span": f"`n = {min(agree['per_T_ns'])}..{max(agree['per_T_ns'])}`",
        "per-T n=5": ci(5, "collapsed", ".3f"),
        "theory n=20, 30, 50": (
            f"(theory {short_e(theory(20))}, {short_e(theory(30))}, {short_e(theory(50))})"
        ),
        "n=3 per-T interval": f"[{t.loc[3].collapsed_low:.3f}, {t.loc[3].collapsed_high:.3f}]",
        "pinv n=2": ci(2, "err_pinv", ".2f"),
        "pinv n=15": ci(15, "err_pinv", ".3f"),
        "pinv n=50": ci(50, "err_pinv", ".3f"),
        "x2 n=2": ci(2, "err_pinv_x2", ".2f"),
        "x2 n=5": f"{t.loc[5].err_pinv_x2:.2f} at `n = 5`",
        "x2 n=15": ci(15, "err_pinv_x2", ".2f"),
        "x2 n=30": f"{t.loc[30].err_pinv_x2:.2f} at `n = 30`",
        "x2 n=50": ci(50, "err_pinv_x2", ".2f"),
        "1/sqrt(n) scaling": (
            f"({t.loc[15].err_pinv_x2:.2f} × sqrt(15/50) = "
            f"{t.loc[15].err_pinv_x2 * math.sqrt(15 / 50):.2f})"
        ),
        "raw pinv n=15, 50": (
            f"({t.loc[15].err_pinv:.2f} at `n = 15`, {t.loc[50].err_pinv:.2f} at `n = 50`)"
        ),
        "lstsq n=2": ci(2, "err_lstsq", ".3f"),
        "lstsq n=15": ci(15, "err_lstsq", ".4f"),
        "lstsq n=50": (
            f"{short_e(t.loc[50].err_lstsq)} [{short_e(t.loc[50].err_lstsq_low)}, "
            f"{short_e(t.loc[50].err_lstsq_high)}]"
        ),
        "held-out vs same points n=20": (
            f"({t.loc[20].err_lstsq_heldout:.5f} vs {t.loc[20].err_lstsq:.5f})"
        ),
        "held-out n=50": f"({short_e(t.loc[50].err_lstsq_heldout)} at `n = 50`)",
        "control": f"worst relative error about {sweep.err_linear.max():.0e}",
    }
    for n, theory_digits in ((2, ".2g"), (5, ".4g"), (10, ".3g")):  # theory: exact, as written
        q = p.loc[n]
        digits = 3 if n < 10 else 4
        expected[f"pairs n={n}"] = (
            f"{q.pairs:.{digits}f} [{q.pairs_low:.{digits}f}, {q.pairs_high:.{digits}f}] vs "
            f"{float(theory(n)):{theory_digits}}"
        )
    i15 = ns.index(15)
    gain = manifold.paired_difference(sweep.err_pinv[i15], sweep.err_lstsq[i15])
    expected["pinv - lstsq n=15"] = f"{gain.mean:+.3f} [{gain.low:+.3f}, {gain.high:+.3f}]"
    assert_quoted(stem, text, expected)

    # The claims in words, on the same numbers.
    assert panel[15] == panel[30] == 0  # "no point collapses"
    assert 1.8 < panel[5] / theory(5) < 2.2  # "twice"
    assert not agree["pairs_outside"] and not agree["per_T_outside"]  # theory inside everywhere
    assert all(sweep.collapsed[ns.index(n)].max() == 0 for n in (20, 30, 50))  # "none of the 200"
    # "every T collapses exactly half of all directions": each T's share of the 1000 points is
    # within a few points of a half (the directions are sampled, not all of them)
    assert abs(sweep.collapsed[ns.index(3)] - 0.5).max() < 0.05
    held = t.err_lstsq_heldout / t.err_lstsq
    assert (abs(held.loc[2:20] - 1) <= 0.05).all()  # "within 5% up to n = 20"
    assert (t.loc[[30, 50]].err_lstsq_heldout.between(0.5e-3, 2e-3)).all()  # "near 1e-3"
