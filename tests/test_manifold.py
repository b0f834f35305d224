"""The ReLU-manifold experiment (Figure 1, Appendix A): spiral, collapse vs Theorem 1,
reconstruction, linear control, determinism, parameter errors."""

import math

import matplotlib
import numpy as np
import pytest
from scipy.special import comb

from mnv2lab import manifold as m
from mnv2lab.findings import VERDICTS
from mnv2lab.params import ParameterError, validate
from mnv2lab.stats import binomial_ci, mean_ci

matplotlib.use("Agg")

DEFAULTS = {
    "smoke": False,
    "out_dir": "figures",
    "seed": 0,
    "n_values": [2, 3, 5, 15, 30],
    "n_max": 50,
    "n_trials": 300,
    "n_points": 1000,
    "turns": 10.0,
    "n_pairs": 100_000,
}


# --- the spiral --------------------------------------------------------------------------------


def test_spiral_shape_turns_and_spacing():
    X = m.spiral(1000, 10.0)
    r = np.linalg.norm(X, axis=1)
    assert X.shape == (1000, 2)
    assert r[-1] == pytest.approx(1.0) and 0 < r[0] < 0.05  # from (next to) the origin out to 1
    assert np.all(np.diff(r) > 0)  # Archimedean: r grows with theta
    winding = np.unwrap(np.arctan2(X[:, 1], X[:, 0]))
    theta = winding - winding[0] + r[0] * 2 * np.pi * 10  # r = theta / theta_max
    np.testing.assert_allclose(theta, r * 2 * np.pi * 10, atol=1e-9)
    assert theta[-1] == pytest.approx(2 * np.pi * 10)  # 10 turns
    step = np.linalg.norm(np.diff(X, axis=0), axis=1)
    assert step.max() / step.min() < 1.1  # equal spacing along the curve
    directions = np.round(np.mod(winding, 2 * np.pi), 9)
    assert len(np.unique(directions)) == 1000  # no direction repeats


@pytest.mark.parametrize(
    "kwargs,fragment",
    [({"n_points": 1}, "n_points"), ({"n_points": 10.5}, "n_points"), ({"turns": 0}, "turns")],
)
def test_spiral_bad_input(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        m.spiral(**{"n_points": 100, "turns": 2.0, **kwargs})


# --- Theorem 1 and Lemma 2 ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_theorem1_as_printed_equals_the_2d_formula(n):
    # N(m, 2) / 2^m with N(m, d) = sum_{k=0}^{m-d} C(m, k)  ==  1 - (m + 1) / 2^m
    assert m.theorem1_noncollapsed_fraction(n, 2) == pytest.approx(1 - (n + 1) / 2**n, abs=1e-15)
    assert m.collapsed_fraction_theory(n) == pytest.approx((n + 1) / 2**n)


def test_theorem1_small_cases():
    assert m.theorem1_noncollapsed_fraction(2, 2) == 0.25  # both rows positive: 1/4
    assert m.theorem1_noncollapsed_fraction(3, 1) == 1 - 1 / 8  # 1-D input: one positive row
    assert m.theorem1_noncollapsed_fraction(1, 2) == 0.0


def test_collapsed_counts_positive_rows_and_their_rank():
    X = np.array([[1.0, -0.1], [1.0, 2.0], [-1.0, 0.0]])
    # rows 0 and 1 are parallel: at x = (1, -0.1) only they are positive -> rank 1 -> collapsed
    T = np.array([[1.0, 0.0], [2.0, 0.0], [-1.0, 1.0]])
    np.testing.assert_array_equal(m.collapsed(X, T), [True, False, True])
    # same positive count with independent rows: recoverable
    T2 = np.array([[1.0, 0.0], [0.0, -1.0], [-1.0, 1.0]])
    assert not m.collapsed(X[:1], T2)[0]


def test_collapse_is_exactly_half_for_n3_by_antipodal_symmetry():
    # count(x) + count(-x) = 3, so x collapses iff -x does not: half of all directions, every T.
    theta = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    X = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    frac = m.collapsed(X, m.gaussian_embeddings(3, 20, seed=5)).mean(axis=-1)
    np.testing.assert_allclose(frac, 0.5, atol=2e-3)


# --- Monte Carlo vs theory ---------------------------------------------------------------------


def _wrong_alternatives(n):
    """Plausible mistakes: counting only 'no positive coordinate', or '<= 2 positive'."""
    return [1 / 2**n, (1 + n + comb(n, 2)) / 2**n]


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8])
def test_sweep_collapse_fraction_agrees_with_theory(n):
    """Per-T collapsed fractions (the notebook's quantity): theory inside the 99.9% t-interval over
    400 random T, and wrong formulas outside it."""
    sw = m.sweep([n], n_trials=400, n_points=400, seed=11, progress=False)
    _, low, high = mean_ci(sw.collapsed[0], confidence=0.999)
    theory = (n + 1) / 2**n
    assert low <= theory <= high
    for wrong in _wrong_alternatives(n):
        assert not low <= wrong <= high


@pytest.mark.parametrize("n", [2, 3, 5, 8, 10, 12])
def test_pair_counts_agree_with_theory_binomially(n):
    """Independent (T, point) pairs: the count is exactly binomial; Wilson 99.9% interval."""
    pc = m.pair_counts([n], n_pairs=40_000, n_points=500, seed=3)
    _, low, high = binomial_ci(int(pc.counts[0]), pc.n_pairs, confidence=0.999)
    assert low <= (n + 1) / 2**n <= high
    for wrong in _wrong_alternatives(n):
        assert not low <= wrong <= high


def test_theory_agreement_reports_where_it_can_judge():
    ns = list(range(2, 13))
    sw = m.sweep(ns, n_trials=60, n_points=300, seed=2, progress=False)
    pc = m.pair_counts(ns, n_pairs=20_000, n_points=300, seed=2)
    agree = m.theory_agreement(sw, pc)
    assert set(agree["per_T_ns"]) <= set(ns) and 2 in agree["per_T_ns"]
    assert agree["pairs_ns"] == [n for n in ns if (n + 1) / 2**n * 20_000 >= 5]
    assert len(agree["pairs_outside"]) <= 2  # 95% intervals: a rare miss is allowed


# --- reconstruction ----------------------------------------------------------------------------


def test_pinv_of_gaussian_T_is_least_squares():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 30):
        T = m.gaussian_embeddings(n, 1, seed=n)[0]
        y = rng.standard_normal((n, 5))
        np.testing.assert_allclose(
            np.linalg.pinv(T) @ y, np.linalg.lstsq(T, y, rcond=None)[0], atol=1e-12
        )
        np.testing.assert_allclose(np.linalg.pinv(T) @ T, np.eye(2), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 15, 50])
def test_linear_control_reconstructs_to_float_precision(n):
    X = m.spiral(500, 10)
    T = m.gaussian_embeddings(n, 20, seed=1)
    err = m.relative_error(m.pinv_reconstruct(m.embed(X, T, relu=False), T), X)
    assert err.max() < 1e-11
    # ... and with ReLU the same T do not reconstruct (the control has something to control)
    assert m.relative_error(m.pinv_reconstruct(m.embed(X, T), T), X).min() > 0.3


def test_least_squares_decoder_matches_scikit_learn():
    from sklearn.linear_model import LinearRegression

    X = m.spiral(400, 10)
    Y = m.embed(X, m.gaussian_embeddings(8, 1, seed=4)[0])
    ours = m.apply_decoder(Y, m.least_squares_decoder(Y, X))
    ref = LinearRegression().fit(Y, X).predict(Y)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_decoder_beats_pinv_and_pinv_tends_to_half_the_spiral():
    X = m.spiral(500, 10)
    T = m.gaussian_embeddings(400, 10, seed=6)
    X_hat = m.pinv_reconstruct(m.embed(X, T), T)
    # ReLU(z) = (z + |z|)/2 and pinv(T)|Tx| -> 0 by sign symmetry: the output approaches x/2.
    assert np.all(np.abs(m.relative_error(X_hat, X) - 0.5) < 0.02)
    sw = m.sweep([5, 15], n_trials=30, n_points=400, seed=0, progress=False)
    assert np.all(sw.err_lstsq < sw.err_pinv)
    assert sw.err_lstsq[1].mean() < sw.err_lstsq[0].mean()  # more dimensions, less loss


def test_pinv_error_without_the_factor_half_is_the_relus_distortion_and_shrinks():
    """2 pinv(T) ReLU(T x) = x + pinv(T)|T x|: its relative error is ||pinv(T)|T X| || / ||X||
    exactly, and it falls with n (about 1/sqrt(n)) while the raw pinv error stays near 1/2."""
    X = m.spiral(300, 10)
    T = m.gaussian_embeddings(12, 3, seed=2)
    doubled = m.relative_error(2 * m.pinv_reconstruct(m.embed(X, T), T), X)
    direct = np.sqrt(
        (m.pinv_reconstruct(np.abs(m.embed(X, T, relu=False)), T) ** 2).sum(axis=(-2, -1))
        / (X**2).sum()
    )
    np.testing.assert_allclose(doubled, direct, rtol=1e-12)
    sw = m.sweep([5, 15, 50], n_trials=40, n_points=300, seed=0, progress=False)
    t = sw.table()
    assert t.err_pinv_x2[5] > t.err_pinv_x2[15] > t.err_pinv_x2[50]
    assert t.err_pinv_x2_high[50] < t.err_pinv_x2_low[15]  # separated by their CIs
    assert t.err_pinv[50] > 0.5 > t.err_pinv_x2[50]


def test_figure1_panels_carry_their_expected_collapse():
    fig1 = m.figure1([2, 3, 5, 15], 1000, 10, seed=0)
    assert [fig1.expected_fraction(n) for n in (2, 3, 5)] == [0.75, 0.5, 0.1875]
    # the notebook's default draw at n = 5 collapses about twice the expected fraction
    assert round(fig1.collapsed_fraction[5], 2) == 0.38
    assert m.percent(0.1875) == "19%" and m.percent(16 / 2**15) == "0.049%"
    assert m.percent(31 / 2**30) == "2.9e-6%" and m.percent(0.0) == "0%"


# --- determinism and parameters ---------------------------------------------------------------


def test_same_seed_same_numbers_independent_of_other_n_and_chunking(monkeypatch):
    a = m.sweep([3, 7], n_trials=25, n_points=200, seed=9, progress=False)
    b = m.sweep([3, 7], n_trials=25, n_points=200, seed=9, progress=False)
    for key in m.SWEEP_MEASURES:
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    monkeypatch.setattr(m, "_chunk_size", lambda n, p, budget=0: 4)
    c = m.sweep([7], n_trials=25, n_points=200, seed=9, progress=False)
    np.testing.assert_array_equal(c.err_lstsq[0], a.err_lstsq[1])
    np.testing.assert_array_equal(c.collapsed[0], a.collapsed[1])
    d = m.sweep([3, 7], n_trials=25, n_points=200, seed=10, progress=False)
    assert not np.array_equal(a.err_pinv, d.err_pinv)
    f1, f2 = m.figure1([2, 5], 200, 10, seed=1), m.figure1([5], 200, 10, seed=1)
    np.testing.assert_array_equal(f1.outputs[5], f2.outputs[5])


def test_spec_accepts_defaults_and_smoke_shrinks_the_work():
    params = validate(DEFAULTS, m.SPEC)
    full = m.make_plan(params)
    assert full.sweep_ns == tuple(range(2, 51)) and full.panel_ns == (2, 3, 5, 15, 30)
    smoke = m.make_plan({**params, "smoke": True})
    assert smoke.n_trials < full.n_trials and len(smoke.sweep_ns) < len(full.sweep_ns)
    assert smoke.n_pairs < full.n_pairs and smoke.n_points < full.n_points


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("n_trials", 1, "between 2 and"),
        ("n_values", [1, 5], "n_values[0]"),
        ("n_max", 2, "between 3"),
        ("turns", 0.0, "between"),
        ("n_points", "1000", "an integer"),
        ("seed", -1, "between 0"),
        ("n_values", 5, "a list of"),
    ],
)
def test_bad_parameters_name_parameter_and_allowed(name, value, fragment):
    with pytest.raises(ParameterError) as err:
        validate({**DEFAULTS, name: value}, m.SPEC)
    assert name in str(err.value) and fragment in str(err.value)


@pytest.mark.parametrize(
    "panels,fragment", [([2, 3, 4, 5, 6, 7, 8, 9], "at most"), ([2, 2], "distinct")]
)
def test_bad_panel_combinations(panels, fragment):
    params = validate({**DEFAULTS, "n_values": panels}, m.SPEC)
    with pytest.raises(ParameterError, match=fragment):
        m.make_plan(params)


# --- verdict and figures -----------------------------------------------------------------------


def test_verdict_and_figures_from_a_small_run():
    from mnv2lab import manifold_plots as mp

    ns = list(range(2, 9))
    sw = m.sweep(ns, n_trials=15, n_points=200, seed=0, progress=False)
    pc = m.pair_counts(ns, n_pairs=2000, n_points=200, seed=0)
    fig1 = m.figure1([2, 5], 200, 10, seed=0)
    text = m.verdict(fig1, sw, pc)
    assert "theory" in text and "linear control" in text
    assert f"{sw.err_linear.max():.1e}" in text
    assert "(expected (n+1)/2^n)" in text and "factor 1/2" in text
    assert not math.isnan(sw.table()["err_pinv_low"].iloc[0])
    found = m.findings(fig1, sw, pc)
    assert [f.paper_item for f in found] == [
        "Figure 1",
        "Appendix A, Theorem 1",
        "beyond the paper",
    ]
    assert found[0].verdict == "partly"  # no n >= 15 panel: half the claim untested
    assert f"n=5: {fig1.collapsed_fraction[5]:.0%} (19%)" in found[0].finding
    assert "without the factor 1/2" in found[2].finding
    assert m.findings(m.figure1([2, 15], 200, 10, seed=0), sw, pc)[0].verdict == "reproduced"
    assert all(f.verdict in VERDICTS and "\n" not in f.finding for f in found)
    for fig in (
        mp.plot_figure1(fig1),
        mp.plot_collapse(sw, pc),
        mp.plot_reconstruction(sw),
        mp.plot_linear_control(sw),
    ):
        for ax in fig.axes:
            assert ax.get_title()
        matplotlib.pyplot.close(fig)
