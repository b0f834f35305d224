"""Gap against budget and the fit check (issue 13), on fake results with known numbers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib
import pytest
from scipy import stats as sps

from mnv2lab import budget, budget_plots

matplotlib.use("Agg")


class FakeStudy:
    """What budget reads of a StudyResults: runs(variant, width, model) -> {seed: result}."""

    def __init__(self, acc: dict, train_loss: float = 1.0, test_loss: float = 1.0, clean=None):
        self.acc, self.tl, self.vl = acc, train_loss, test_loss
        self.clean = clean  # (clean train loss, clean train accuracy) of every run, or None

    def runs(self, variant, width, model="mobilenet_v2"):
        return {
            s: SimpleNamespace(
                final={"test_acc": a, "train_loss": self.tl, "test_loss": self.vl}
                | (
                    {"train_eval_loss": self.clean[0], "train_eval_acc": self.clean[1]}
                    if self.clean
                    else {}
                ),
                history=[
                    {"epoch": 0.0, "train_loss": None, "test_loss": 2.3, "test_acc": 0.1},
                    {"epoch": 5.0, "train_loss": self.tl, "test_loss": self.vl, "test_acc": a}
                    | ({"train_eval_loss": self.clean[0]} if self.clean else {}),
                ],
            )
            for s, a in self.acc.get((variant, width, model), {}).items()
        }


REF, VAR = budget.Side("linear", 0.5), budget.Side("relu6", 0.5)
COMP = budget.Comparison("linear - ReLU6", REF, VAR)


def _study(ref, var, **kw):
    return FakeStudy(
        {
            ("linear", 0.5, "mobilenet_v2"): dict(enumerate(ref)),
            ("relu6", 0.5, "mobilenet_v2"): dict(enumerate(var)),
        },
        **kw,
    )


def test_paired_and_unpaired_gaps_from_known_numbers():
    short = _study([0.60, 0.62, 0.64], [0.50, 0.55, 0.50])
    long = _study([0.90, 0.91], [0.89, 0.91, 0.80])  # seed 2 of the reference missing
    t = budget.gap_table({"5 epochs": short, "30 epochs": long}, [COMP])
    s, lg = t.iloc[0], t.iloc[1]
    assert s.pairs == 3 and s.gap == pytest.approx((10 + 7 + 14) / 3)
    assert s.per_seed == [10.0, 7.0, 14.0]
    d = [10.0, 7.0, 14.0]
    half = sps.t.ppf(0.975, 2) * sps.tstd(d) / math.sqrt(3)
    assert (s.low, s.high) == pytest.approx((s.gap - half, s.gap + half))
    assert lg.pairs == 2 and lg.gap == pytest.approx(0.5)  # only the shared seeds are paired
    welch = sps.ttest_ind([90, 91], [89, 91, 80], equal_var=False).confidence_interval()
    assert (lg.unpaired_low, lg.unpaired_high) == pytest.approx((welch.low, welch.high))
    assert lg.unpaired_gap == pytest.approx(90.5 - 260 / 3)


def test_no_shared_seed_no_row_and_one_value_a_side_has_no_interval():
    t = budget.gap_table({"x": _study([0.6], [])}, [COMP])
    assert t.empty
    diff, lo, hi = budget.welch_difference([1.0], [0.5, 0.7])
    assert diff == pytest.approx(0.4) and math.isnan(lo) and math.isnan(hi)


def test_fit_table_flags_underfit_models():
    under = _study([0.6, 0.6], [0.5, 0.5], train_loss=0.95, test_loss=0.93)
    fits = _study([0.9, 0.9], [0.88, 0.88], train_loss=0.10, test_loss=0.35)
    t = budget.fit_table({"5 epochs": under, "30 epochs": fits}, {"paper": REF})
    assert list(t.underfit) == [True, False]
    assert t.iloc[1].test_acc == pytest.approx(90.0)
    assert math.isnan(t.iloc[0].clean_train_loss)
    # label smoothing keeps the training loss above the test loss although the model fits: the
    # clean evaluation of training images decides then
    smoothed = _study([0.9, 0.9], [0.88], train_loss=0.60, test_loss=0.40, clean=(0.15, 0.97))
    row = budget.fit_table({"30 epochs": smoothed}, {"paper": REF}).iloc[0]
    assert not row.underfit and row.clean_train_acc == pytest.approx(97.0)
    assert row.clean_train_loss == pytest.approx(0.15)


def test_budget_figures_draw_every_comparison_and_budget():
    short = _study([0.60, 0.62, 0.64], [0.50, 0.55, 0.50])
    long = _study([0.90, 0.91, 0.92], [0.89, 0.91, 0.90])
    t = budget.gap_table({"5 epochs": short, "30 epochs": long}, [COMP])
    fig = budget_plots.plot_gap_against_budget(
        t, ["5 epochs", "30 epochs"], title="t", paper_range=(0.5, 1.5)
    )
    ax = fig.axes[0]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["5 epochs", "30 epochs"]
    assert len(ax.containers) == 2  # one error bar per budget
    empty = budget_plots.plot_gap_against_budget(t.iloc[:0], ["5 epochs"], title="t")
    assert "no complete pair" in " ".join(x.get_text() for x in empty.axes[0].texts)
    curves = budget.loss_curves(long, {"paper": REF, "relu6": VAR})
    assert len(curves) == 12 and set(curves.model) == {"paper", "relu6"}
    fit = budget_plots.plot_fit(curves, title="fit")
    assert len(fit.axes[0].lines) == 4
    measured = _study([0.9, 0.9], [0.88, 0.89], clean=(0.2, 0.95))
    curves = budget.loss_curves(measured, {"paper": REF, "relu6": VAR})
    assert curves[curves.epoch == 5.0].clean_train_loss.tolist() == [0.2] * 4
    fit = budget_plots.plot_fit(curves, title="fit")
    assert len(fit.axes[0].lines) == 6  # test, train, train evaluated as test, per model
    none = budget.loss_curves(None, {"paper": REF})  # no long-budget results yet
    assert none.empty and list(none.columns) == list(curves.columns)
    empty = budget_plots.plot_fit(none, title="fit")
    assert "no runs yet" in " ".join(x.get_text() for x in empty.axes[0].texts)


def test_the_target_sentence_says_met_or_missed_with_the_numbers():
    met = _study([0.89, 0.88, 0.90], [0.5, 0.5, 0.5], train_loss=0.2, test_loss=0.4)
    s = budget.target_sentence(met, REF, "CIFAR-10, 30 epochs", 0.88, "The paper's model")
    assert s.startswith("The paper's model (CIFAR-10, 30 epochs): 89.00% [95% CI ")
    assert "(89.00 / 88.00 / 90.00): meets the 88% target" in s
    assert s.endswith("final train loss 0.200 vs test loss 0.400")
    short = _study([0.87, 0.86], [0.5])
    s = budget.target_sentence(short, REF, "CIFAR-10, 30 epochs", 0.88, "The paper's model")
    assert "over 2 seeds" in s and "misses the 88% target by 1.50 points" in s
    one = budget.target_sentence(_study([0.9], []), REF, "x", 0.88, "M", planned=3)
    assert "over 1 seed (" in one and "CI" not in one
    assert "meets the 88% target so far (1 of 3 seeds)" in one
    assert "no runs yet" in budget.target_sentence(None, REF, "x", 0.88, "M")


def test_gap_summary_names_every_budget_with_units_and_missing_budgets():
    short = _study([0.60, 0.62, 0.64], [0.50, 0.55, 0.50])
    t = budget.gap_table({"5 epochs": short, "30 epochs": _study([0.9], [0.89])}, [COMP])
    s = budget.gap_summary(t, ["5 epochs", "30 epochs", "90 epochs"], "linear - ReLU6")
    first, one_pair, missing = s.removeprefix("linear - ReLU6: ").split("; ")
    assert first.startswith("5 epochs: +10.33 points [") and first.endswith("] (n=3)")
    assert one_pair == "30 epochs: +1.00 points (no interval) (n=1)"
    assert missing == "90 epochs: no runs yet"
    sentence = budget.gap_sentence(short, COMP, "CIFAR-10, 5 epochs")
    assert sentence.startswith("CIFAR-10, 5 epochs: linear - ReLU6: +10.33 points [")


def test_fit_summary_says_fit_or_underfit_from_the_clean_evaluation_when_there_is_one():
    under = _study([0.6, 0.6], [0.5, 0.5], train_loss=0.95, test_loss=0.93)
    fits = _study([0.9, 0.9], [0.88], train_loss=0.60, test_loss=0.40, clean=(0.15, 0.97))
    t = budget.fit_table({"5 epochs": under, "30 epochs": fits}, {"paper": REF, "relu6": VAR})
    long = budget.fit_summary(t, "30 epochs")
    assert long.startswith("30 epochs: paper 90.00% test, 97.00% on training images evaluated")
    assert "(loss 0.400 vs 0.150; 2 seeds): fits its training images" in long
    assert "relu6 88.00% test" in long and "1 seed)" in long
    short = budget.fit_summary(t, "5 epochs")
    assert "training loss as trained 0.950" in short and short.endswith("still underfit")
    assert budget.fit_summary(t, "90 epochs") == "90 epochs: no runs yet"
