"""mnv2lab.stats against scipy and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats as st

from mnv2lab.stats import PairedDifference, binomial_ci, mean_ci, paired_difference


def test_mean_ci_hand_computed():
    # mean 2, sd 1, sem 1/sqrt(3), t_{0.975, 2} = 4.302653 -> half-width 2.484138
    mean, low, high = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert low == pytest.approx(2.0 - 2.484138, abs=1e-6)
    assert high == pytest.approx(2.0 + 2.484138, abs=1e-6)


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_mean_ci_matches_scipy(confidence):
    x = np.random.default_rng(1).normal(3.0, 2.0, size=17)
    mean, low, high = mean_ci(x, confidence)
    ref_low, ref_high = st.t.interval(confidence, df=x.size - 1, loc=x.mean(), scale=st.sem(x))
    assert mean == pytest.approx(x.mean())
    assert (low, high) == pytest.approx((ref_low, ref_high), rel=1e-12)


def test_mean_ci_interval_shrinks_with_more_data():
    rng = np.random.default_rng(2)
    _, lo_small, hi_small = mean_ci(rng.normal(size=5))
    _, lo_big, hi_big = mean_ci(rng.normal(size=500))
    assert hi_big - lo_big < hi_small - lo_small


def test_mean_ci_single_value_gives_nan_interval():
    mean, low, high = mean_ci([4.5])
    assert mean == 4.5 and math.isnan(low) and math.isnan(high)


def test_mean_ci_constant_sample_has_zero_width():
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


@pytest.mark.parametrize(
    "values,fragment",
    [
        ([], "empty"),
        ([1.0, float("nan")], "non-finite"),
        ([[1.0, 2.0]], "1-D"),
    ],
)
def test_mean_ci_bad_values(values, fragment):
    with pytest.raises(ValueError, match=fragment):
        mean_ci(values)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, True, "0.95"])
def test_bad_confidence_is_named(confidence):
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence)


def test_paired_difference_matches_scipy_ttest_rel():
    rng = np.random.default_rng(3)
    shared = rng.normal(70.0, 5.0, size=8)  # seed-to-seed variation both settings share
    a = shared + 0.8 + rng.normal(0, 0.2, size=8)
    b = shared + rng.normal(0, 0.2, size=8)
    d = paired_difference(a, b)
    ci = st.ttest_rel(a, b).confidence_interval(0.95)
    assert isinstance(d, PairedDifference)
    assert d.mean == pytest.approx(np.mean(a - b))
    assert (d.low, d.high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert d.n == 8 and d.excludes_zero
    # Unpaired, the same data would not separate: the pairing is what makes the difference visible.
    _, lo_a, hi_a = mean_ci(a)
    _, lo_b, hi_b = mean_ci(b)
    assert lo_a < hi_b and lo_b < hi_a


def test_paired_difference_includes_zero_when_there_is_no_effect():
    rng = np.random.default_rng(4)
    a = rng.normal(size=10)
    d = paired_difference(a, a)
    assert d.mean == 0.0 and not d.excludes_zero
    d = paired_difference([1.0, 2.0, 3.0], [1.1, 1.9, 3.05])
    assert d.low < 0 < d.high and not d.excludes_zero
    assert "includes 0" in str(d)


def test_paired_difference_single_pair_and_length_mismatch():
    d = paired_difference([2.0], [1.0])
    assert d.mean == 1.0 and math.isnan(d.low) and not d.excludes_zero
    with pytest.raises(ValueError, match="same number"):
        paired_difference([1.0, 2.0], [1.0])


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (1, 1000), (512, 1000)])
def test_binomial_ci_matches_scipy_wilson(k, n):
    p, low, high = binomial_ci(k, n)
    ref = st.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert p == k / n
    assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert 0.0 <= low <= p <= high <= 1.0


def test_binomial_ci_hand_computed_zero_successes():
    # Wilson upper bound at 0 successes is z^2 / (n + z^2), z = 1.959964.
    z2 = 1.959964**2
    assert binomial_ci(0, 10)[2] == pytest.approx(z2 / (10 + z2), abs=1e-6)


@pytest.mark.parametrize(
    "k,n,fragment",
    [
        (-1, 10, "successes"),
        (11, 10, "successes"),
        (0, 0, "'n'|n:"),
        (1.5, 10, "successes"),
        (True, 10, "successes"),
    ],
)
def test_binomial_ci_bad_input(k, n, fragment):
    with pytest.raises(ValueError, match=fragment):
        binomial_ci(k, n)
