"""The V1-vs-V2 notebook's logic (mnv2lab.v1_vs_v2): what it measures, Table 4's ratio and its
verdict, the Pareto front, and the trained comparison read through the study's definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mnv2lab import cost_report, published, section5, v1_vs_v2
from mnv2lab.params import ParameterError, validate


def test_table4_and_figure5_configurations():
    t4 = v1_vs_v2.table4_configs([1, 2], 2.0)
    assert len(t4) == 2 * len(v1_vs_v2.TABLE4_MODELS) == 10
    f5 = v1_vs_v2.figure5_configs([1], 2.0)
    models = pd.Series([c.model for c in f5]).value_counts()
    assert models["mobilenet_v2"] == 21 and models["mobilenet_v1"] == 7
    assert models["shufflenet_v1"] == 5
    groups = {c.kwargs["width_mult"]: c.kwargs["groups"] for c in f5 if c.model == "shufflenet_v1"}
    assert groups == published.SHUFFLENET_TOP1_GROUPS  # the networks whose top-1 is quoted
    # Table 4's networks are Figure 5 points too: one cache entry each, in the same series.
    assert {c.key() for c in t4 if c.threads == 1} <= {c.key() for c in f5}
    plan = v1_vs_v2.make_plan(v1_vs_v2.default_params())
    assert set(plan.table4) <= set(plan.latency) and len(plan.latency) == 2 * 33


def test_notebook_spec_defaults_and_cross_check():
    params = v1_vs_v2.default_params()
    assert validate(params, v1_vs_v2.SPEC) == params
    with pytest.raises(ParameterError, match="slices"):
        v1_vs_v2.check_params({**params, "slices": [2, 4]})


def test_pareto_front():
    cost = [1, 2, 3, 4, 2.5]
    acc = [50, 60, 55, 70, 60]
    assert list(v1_vs_v2.pareto_mask(cost, acc)) == [True, True, False, True, False]


def test_trained_comparison_is_matched_and_paired():
    configs = [r.config for r in v1_vs_v2.trained_comparison_runs()]
    pairs = v1_vs_v2.matched_pairs()
    assert len(configs) == 2 * 3 * len(pairs)
    from mnv2lab.costs import model_costs

    madds = {}
    for c in configs:
        assert c.dataset == "cifar10-jpeg" and c.model_kwargs["small_input"]
        c.validate()
        kw = {
            k: v for k, v in c.model_kwargs.items() if k in ("width_mult", "small_input", "groups")
        }
        madds[(c.model, kw["width_mult"])] = model_costs(c.model, 32, num_classes=10, **kw)["madds"]
    for w2, w1 in pairs.items():  # "roughly matched": within 10% of each other
        assert abs(madds[("mobilenet_v1", w1)] / madds[("mobilenet_v2", w2)] - 1) < 0.1
    assert sorted({c.seed for c in configs}) == [0, 1, 2]
    assert len({c.key() for c in configs}) == len(configs)


def test_trained_results_missing_and_summary(tmp_path):
    from mnv2lab import study
    from mnv2lab.params import NoResults

    runs = v1_vs_v2.trained_comparison_runs()
    plan = study.plan_of(runs, tmp_path, only="v1_vs_v2")
    with pytest.raises(NoResults, match="no stored result"):  # nothing to analyse
        study.collect(plan)
    collected = study.StudyResults(plan, missing=list(runs))
    table = v1_vs_v2.trained_results(collected)
    assert table.test_acc.isna().all() and (table.status == "missing").all()
    message = study.missing_message(collected)
    assert f"{len(runs)} of {len(runs)}" in message
    assert "python -m mnv2lab.study run --only v1_vs_v2" in message
    rng = np.random.default_rng(0)
    table["test_acc"] = np.where(table.model == "mobilenet_v2", 0.80, 0.78) + rng.normal(
        0, 0.002, len(table)
    )
    per_model, pairs = v1_vs_v2.trained_summary(table)
    assert set(per_model.n) == {3}
    assert (per_model.ci_low < per_model.mean_acc).all()
    assert len(pairs) == len(v1_vs_v2.matched_pairs())
    assert pairs["V2 - V1 (points)"].to_numpy() == pytest.approx(2.0, abs=0.6)
    assert pairs.excludes_zero.all()

    def trained_verdict(pairs):
        empty = pd.DataFrame()
        (found,) = v1_vs_v2.findings(empty, empty, empty, empty, pairs, table, budget="CIFAR-10")
        assert found.paper_item == "Trained V1 vs V2 (CIFAR-10)"
        return found.verdict

    assert trained_verdict(pairs) == "beyond the paper"  # every interval excludes zero
    table["test_acc"] = 0.80 + rng.normal(0, 0.02, len(table))  # no effect, seed noise only
    noisy = v1_vs_v2.trained_summary(table)[1]
    assert not noisy.excludes_zero.all()
    assert trained_verdict(noisy) == "inconclusive"


def test_ratio_and_findings_from_a_latency_table():
    lat = pd.DataFrame(
        [
            {
                "model": "mobilenet_v1",
                "width": 1.0,
                "groups": None,
                "resolution": 224,
                "threads": 1,
                "path": "practitioner",
                "median_ms": 30.0,
                "iqr_ms": 1.0,
            },
            {
                "model": "mobilenet_v2",
                "width": 1.0,
                "groups": None,
                "resolution": 224,
                "threads": 1,
                "path": "practitioner",
                "median_ms": 21.0,
                "iqr_ms": 1.0,
            },
        ]
    ).assign(cpu_model="Test CPU", cpu_count=2)
    ratio = v1_vs_v2.latency_ratio(lat)
    assert ratio.iloc[0]["V2/V1 here"] == pytest.approx(0.7)
    assert ratio.iloc[0]["V2/V1 paper (75/113 ms)"] == pytest.approx(75 / 113)
    found = v1_vs_v2.findings(
        ratio,
        pd.DataFrame(),
        pd.DataFrame(columns=["path", "measured_mb"]),
        pd.DataFrame(columns=["path", "median_ms"]),
        pd.DataFrame(),
        pd.DataFrame(),
    )
    assert (found[0].paper_item, found[0].verdict) == ("Table 4 (CPU latency)", "reproduced")
    assert found[0].figures == ("v1v2_table4_latency",)
    # read on any machine, the finding names the one it was measured on
    assert "0.70 at 1 thr on Test CPU (2 cores) vs 75/113" in found[0].finding
    two = pd.concat([lat, lat.assign(threads=2, median_ms=[10.0, 10.5])])
    assert (
        v1_vs_v2.findings(
            v1_vs_v2.latency_ratio(two),
            pd.DataFrame(),
            pd.DataFrame(),
            pd.DataFrame(),
            pd.DataFrame(),
            pd.DataFrame(),
        )[0].verdict
        == "partly"
    )


def test_notebook_parameters_cell_matches_the_package_defaults(repo_root):
    import ast

    import nbformat

    path = repo_root / "notebooks" / "06_v1_vs_v2.ipynb"
    if not path.exists():
        pytest.skip("notebook 06 has not landed yet")
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {
        node.target.id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.AnnAssign)
    }
    assert values == v1_vs_v2.default_params()
    assert set(values) == set(v1_vs_v2.SPEC)


def test_smoke_plan_is_tiny_and_kept_out_of_results():
    from mnv2lab.paths import results_dir

    plan = v1_vs_v2.make_plan({**v1_vs_v2.default_params(), "smoke": True})
    for root in (plan.latency_root, plan.memory_root, plan.trained.results, plan.tables_dir):
        assert root is not None and results_dir() not in root.parents
    assert plan.table4_resolution == 32 and len(plan.latency) <= 11
    assert set(plan.table4) <= set(plan.latency)
    assert all(c.min_run_time <= 0.05 for c in plan.latency + plan.slices_latency)
    with pytest.raises(ParameterError, match="train_missing"):
        v1_vs_v2.make_plan({**v1_vs_v2.default_params(), "smoke": True, "train_missing": True})


def test_section5_verdict_needs_both_memory_and_speed():
    memory = pd.DataFrame(
        {
            "path": "sliced",
            "resolution": 224,
            "n_slices": [1, 2, 3, 5],
            "measured_mb": [8.0, 4.5, 3.5, 2.5],
        }
    )
    lat = pd.DataFrame(
        {
            "path": "sliced",
            "resolution": 224,
            "threads": [1] * 4 + [2] * 4,
            "n_slices": [1, 2, 3, 5] * 2,
            "median_ms": 10.0,
            "slowdown": [1.0, 1.1, 1.2, 2.0, 1.0, 1.1, 1.3, 2.0],
        }
    )
    # 1 thread: t=3 saves 56% at 1.2x; 2 threads: t=2 saves only 44%, t=3 and 5 are too slow.
    found = section5.finding(memory, lat)
    assert (found.paper_item, found.verdict) == ("Section 5", "partly")
    assert "224/1thr t=3" in found.finding
    assert "224/2thr none (t=2: 44% less, 1.10x)" in found.finding
    assert found.finding.endswith("(on an unrecorded CPU)")
    machine = {"cpu_model": "Test CPU", "cpu_count": 2}
    named = section5.finding(memory.assign(**machine), lat.assign(**machine))
    assert named.finding.endswith("(on Test CPU (2 cores))")
    lat.loc[6, "slowdown"] = 1.25
    assert section5.finding(memory, lat).verdict == "reproduced"
    memory["measured_mb"] = [8.0, 7.0, 7.0, 7.0]
    assert section5.finding(memory, lat).verdict == "not reproduced"


def test_notebook_promises_the_package_figures(repo_root):
    import nbformat

    nb = nbformat.read(repo_root / "notebooks" / "06_v1_vs_v2.ipynb", as_version=4)
    assert nb.metadata["mnv2lab"]["figures"] == list(v1_vs_v2.FIGURES.values())


def test_accuracy_latency_joins_each_shufflenet_point_with_its_groups():
    # Two timings of ShuffleNet 0.25x: the quoted top-1 belongs to g=8, so g=8's time must be used.
    lat = pd.DataFrame(
        [
            {
                "path": "practitioner",
                "model": "shufflenet_v1",
                "width": 0.25,
                "resolution": 224,
                "threads": 1,
                "groups": g,
                "median_ms": ms,
                "q25_ms": ms,
                "q75_ms": ms,
            }
            for g, ms in ((3, 1.0), (8, 2.0))
        ]
    )
    points = cost_report.figure5_points([1.0], [224])
    out = v1_vs_v2.accuracy_latency_points(lat, points)
    assert list(out.family) == ["ShuffleNet"] and list(out.median_ms) == [2.0]


def test_trained_text_states_the_interval_only_when_there_is_one():
    row = {"V2 width": 0.5, "V1 width": 0.4, "V2 MAdds (M)": 28.0, "V1 MAdds (M)": 29.2}
    one = pd.DataFrame(
        [
            {
                **row,
                "seeds": 1,
                "V2 - V1 (points)": -6.0,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "excludes_zero": False,
            }
        ]
    )
    assert "no interval yet" in v1_vs_v2.trained_text(one) and "nan" not in v1_vs_v2.trained_text(
        one
    )
    three = pd.DataFrame(
        [
            {
                **row,
                "seeds": 3,
                "V2 - V1 (points)": -6.0,
                "ci_low": -9.0,
                "ci_high": -3.0,
                "excludes_zero": True,
            }
        ]
    )
    text = v1_vs_v2.trained_text(three)
    assert "95% CI -9.00 to -3.00, 3 paired seeds; the interval excludes zero" in text
    assert v1_vs_v2.trained_text(three.iloc[:0]) == "results not produced yet."


# --- a busy machine (issue 14, finding 3) -------------------------------------------------------


def _all_contaminated(configs) -> pd.DataFrame:
    """A latency table as measure_all returns it when every timing was taken while other
    processes kept more than MAX_FOREIGN cores busy: all measured, none usable."""
    rows = []
    for i, c in enumerate(configs):
        ms = 5.0 + i
        rows.append(
            {
                "model": c.model,
                "width": c.kwargs.get("width_mult"),
                "groups": c.kwargs.get("groups"),
                "resolution": c.resolution,
                "threads": c.threads,
                "path": c.path,
                "n_slices": c.n_slices,
                "key": c.key(),
                "label": c.label(),
                "median_ms": ms,
                "iqr_ms": 1.0,
                "q25_ms": ms - 0.5,
                "q75_ms": ms + 0.5,
                "cached": False,
                "usable": False,
                "quiet": False,
                "cpu_model": "cpu",
                "cpu_count": 2,
                "torch": "2",
                "load_1min_before": 3.0,
                "foreign_cpu_cores": 1.6,
                "foreign_nice_cores": 0.0,
            }
        )
    table = pd.DataFrame.from_records(rows)
    table["n_slices"] = table["n_slices"].astype("Int64")
    return table


def test_every_timing_left_out_is_said_in_figures_and_findings_without_a_crash():
    import matplotlib

    matplotlib.use("Agg")
    from mnv2lab import latency, v1_vs_v2_plots

    plan = v1_vs_v2.make_plan({**v1_vs_v2.default_params(), "smoke": True})
    lat = _all_contaminated(plan.latency)
    t4 = v1_vs_v2.table4_latency(lat, plan.table4_resolution)
    v1_vs_v2_plots.plot_table4_latency(t4, plan.table4_resolution)
    ratio = v1_vs_v2.latency_ratio(lat, plan.table4_resolution)
    v1_vs_v2.ratio_explanation(ratio, v1_vs_v2.throughput(lat, None, plan.table4_resolution))
    acc_lat = v1_vs_v2.accuracy_latency_points(lat, v1_vs_v2.figure5_points(plan))
    # the notebook's display of the Pareto points (AttributeError: no 'pareto' before the fix)
    acc_lat[acc_lat.pareto].sort_values(["threads", "family", "median_ms"])
    summary = v1_vs_v2.pareto_summary(acc_lat)
    left = f"all {len(plan.latency)} timing(s) left out"
    assert left in summary and str(latency.MAX_FOREIGN) in summary
    fig = v1_vs_v2_plots.plot_accuracy_latency(acc_lat, latency.machine_text(lat))
    shown = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "left out" in shown
    found = {
        f.paper_item: f
        for f in v1_vs_v2.findings(
            ratio, acc_lat, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
        )
    }
    assert left in found["Figure 5 vs latency"].finding


def test_the_smoke_plan_counts_timings_taken_on_a_busy_machine(monkeypatch):
    """Smoke runs check that the notebook runs, not what the latencies are: a busy machine must
    not empty them (the full run keeps excluding contaminated timings)."""
    import math
    from mnv2lab import latency

    smoke = v1_vs_v2.make_plan({**v1_vs_v2.default_params(), "smoke": True})
    assert smoke.max_foreign == math.inf
    busy = {
        "provenance": {"foreign_cpu_cores": 1.8, "foreign_nice_cores": 0.9},
        "config": {"threads": 1},
        "result": {"median_ms": 3.0},
        "cached": True,
    }
    monkeypatch.setattr(latency.cache, "measure_or_load", lambda *a, **k: busy)  # measure_all's
    configs = smoke.latency[:2]
    assert latency.measure_all(configs, max_foreign=smoke.max_foreign)["usable"].all()
    assert not latency.measure_all(configs)["usable"].any()


def test_the_trained_finding_rests_on_the_long_budget_only_once_it_is_complete():
    from mnv2lab import study
    from mnv2lab.study import budgets

    params = v1_vs_v2.default_params()
    long = study.collect(budgets.long_plan(params, ["v1_vs_v2"]), require_some=False)
    short_pairs = pd.DataFrame({"V2 width": [0.5]})
    if long.n_done < len(long.plan.runs):  # the committed long budget, while runs are missing
        got = v1_vs_v2.finding_source(short_pairs, "5 epochs", long, "30 epochs")
        assert got[0] is short_pairs and got[1:] == ("5 epochs", "v1v2_trained_cifar10")
    done = [r for r in long.plan.runs if r.name in long.results]
    if not any(r.model == "mobilenet_v1" for r in done):
        pytest.skip("no long-budget MobileNetV1 run committed yet")
    complete = study.collect(study.plan_of(done, long.plan.results), require_some=False)
    pairs, label, figure = v1_vs_v2.finding_source(short_pairs, "5 epochs", complete, "30 epochs")
    assert (label, figure) == ("30 epochs", "v1v2_gap_budget")
    assert list(pairs["V2 width"]) == [0.5] and list(pairs["V1 width"]) == [0.4]
    v2, v1 = complete.runs("linear", 0.5), complete.runs("v1", 0.4, "mobilenet_v1")
    gaps = [
        100 * (v2[s].final["test_acc"] - v1[s].final["test_acc"])
        for s in sorted(v2.keys() & v1.keys())
    ]
    assert pairs["V2 - V1 (points)"].iloc[0] == pytest.approx(np.mean(gaps))
    found = v1_vs_v2.findings(
        pd.DataFrame(),
        pd.DataFrame(),
        pd.DataFrame(columns=["path", "measured_mb"]),
        pd.DataFrame(columns=["path", "median_ms"]),
        pairs,
        pd.DataFrame(),
        budget=label,
        trained_figure=figure,
    )[-1]
    assert found.figures == ("v1v2_gap_budget",) and found.finding.startswith("30 epochs: V2 0.5")
