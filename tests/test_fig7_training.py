"""Figure 7 along training (issue 13): equal pixels per layer, saturation, snapshots."""

from __future__ import annotations

import pytest
import torch

from mnv2lab import fig7_training as f7
from mnv2lab.fig7_training_plots import plot_along_training
from mnv2lab.train import train


def test_layer_statistics_use_the_same_pixels_and_count_saturation():
    counts = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7]])
    saturated = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 8]])
    row = f7.layer_statistics(counts, saturated, channels=8, threshold=2, pixels=8)
    assert row["frac_mean"] == pytest.approx(3.5 / 8) and row["frac_min"] == 0.0
    assert row["share_below"] == pytest.approx(2 / 8) and row["min_below"]
    assert row["frac_saturated"] == pytest.approx(2 / 8)
    part = f7.layer_statistics(counts, saturated, 8, 2, pixels=4)
    assert part["pixels"] == 4 and part == f7.layer_statistics(counts, saturated, 8, 2, pixels=4)
    with pytest.raises(ValueError, match="pixels: got 9"):
        f7.layer_statistics(counts, saturated, 8, 2, pixels=9)


@pytest.mark.slow
def test_along_training_counts_init_and_each_snapshot(tmp_path, tiny_study):
    run = tiny_study(0.25, epochs=2, study="f7", snapshot_epochs=[1, 2])[0]
    assert run.variant == "linear"
    train(run.config, progress=False)
    paths = f7.after_run(run, None, tmp_path / "res")
    table = f7.along_training(run.config, tmp_path / "res")
    assert paths == [f7.cache_path(tmp_path / "res", run.key)] and paths[0].exists()
    assert sorted(set(table.epoch)) == [0, 1, 2]
    assert table.groupby("epoch").pixels.nunique().eq(1).all()  # one pixel count for all layers
    assert table[table.epoch == 0].frac_mean.tolist() != table[table.epoch == 2].frac_mean.tolist()
    again = f7.along_training(run.config, tmp_path / "res")  # from the cache file
    assert again.equals(table)
    stored = f7.stored_along([run], tmp_path / "res")
    summary = f7.summary_by_epoch(stored)
    assert list(summary.epoch) == [0, 1, 2] and (summary.seeds == 1).all()
    fig = plot_along_training(stored, summary, title="t")
    left, right = fig.axes[:2]
    assert len(left.lines) == table.layer.nunique() + 2  # a line per layer, the mean, y = 0.5
    assert list(left.lines[-2].get_xdata()) == [0, 1, 2]
    legend = [t.get_text() for t in right.get_legend().get_texts()]  # one legend, both y axes
    assert legend == ["layers with a pixel under 1/t", "share of channels at 6 (right)"]
    plain = tiny_study(0.25, epochs=2, study="f7")[0]
    assert f7.after_run(plain, None, tmp_path / "res") == []  # no snapshots: nothing to count


def _along(seeds, end_frac, end_std, end_below):
    """A fake along-training table: 4 layers, epochs 0 and 30, every seed alike."""
    import pandas as pd

    rows = []
    for seed in seeds:
        for epoch, frac, std, below in [
            (0, 0.5, 0.1, [False] * 4),
            (30, end_frac, end_std, end_below),
        ]:
            for layer in range(1, 5):
                rows.append(
                    {
                        "seed": seed,
                        "epoch": epoch,
                        "layer": layer,
                        "pixels": 8000,
                        "frac_mean": frac,
                        "frac_std": std,
                        "min_below": below[layer - 1],
                    }
                )
    return pd.DataFrame(rows)


def test_long_budget_figure7_verdict_applies_the_four_checks():
    from mnv2lab.findings import Finding

    paper_like = f7.verdict(
        _along([0, 1, 2], 0.48, 0.15, [False, False, True, True]), "C, 30 epochs"
    )
    assert paper_like.verdict == "reproduced" and paper_like.finding.startswith("C, 30 epochs: ")
    assert "after 30 epochs (per seed 2 / 2 / 2)" in paper_like.details
    flat = f7.verdict(_along([0, 1], 0.30, 0.08, [False] * 4), "C, 30 epochs")
    assert flat.verdict == "partly"  # init near half only
    assert "average kept: no, spread grows: no, a few layers under: no" in flat.details
    short = Finding("Figure 7", "partly", "C, 5 epochs: short")
    table = _along([0, 1], 0.48, 0.15, [False, False, True, True])
    assert f7.figure7_finding(short, table, planned=3, label="L") is short  # 2 of 3 counted
    assert f7.figure7_finding(short, table, planned=2, label="L").finding.startswith("L: ")
    assert f7.figure7_finding(short, table.iloc[:0], planned=0, label="L") is short
    with pytest.raises(ValueError, match="table: got no along-training counts"):
        f7.verdict(table.iloc[:0], "L")


def test_along_training_takeaway_names_the_budget_and_the_counts():
    table = _along([0, 1], 0.48, 0.15, [False, False, True, False])
    table["frac_saturated"] = 0.0
    line = f7.along_takeaway(f7.summary_by_epoch(table), "C, 30 epochs")
    assert line == (
        "C, 30 epochs: mean positive fraction 0.50 at init, 0.48 after 30 epochs; layers with a "
        "pixel under 1/t: 0.0 -> 1.0 (mean over 2 seeds)."
    )
    empty = f7.summary_by_epoch(table.iloc[:0])
    assert (
        f7.along_takeaway(empty, "C, 30 epochs") == "C, 30 epochs: no long-budget run counted yet."
    )
