"""The ReLU-manifold experiment of Figure 1 and Appendix A of the MobileNetV2 paper.

A 2-D spiral ``X`` (points x 2) is embedded into ``n`` dimensions by a random Gaussian matrix ``T``
(n x 2), passed through ReLU, and mapped back to 2-D with the pseudo-inverse of ``T``:
``X_hat = ReLU(X T^T) pinv(T)^T``. For small ``n`` much of the spiral collapses (many points map to
the same output); for large ``n`` it survives, distorted.

Appendix A makes this exact. A point ``x`` can be recovered from ``y = ReLU(T x)`` iff ``y`` has at
least 2 positive coordinates and the rows of ``T`` for them have rank 2 (Lemma 2). For a
sign-symmetric ``T`` (e.g. Gaussian) each row is positive on ``x`` with probability 1/2,
independently, so ``x`` *collapses* (is not recoverable) with probability
``P(Binomial(n, 1/2) <= 1) = (n + 1) / 2^n`` (Theorem 1 states the complement, the *non-collapsed*
fraction ``1 - (n + 1) / 2^n``). This holds for every fixed ``x != 0``, so the Monte-Carlo mean over
random ``T`` of the collapsed fraction of the spiral's points is an unbiased estimate of it.

Reconstruction with the pseudo-inverse: ``ReLU(z) = (z + |z|) / 2`` and ``pinv(T) T = I`` give
``pinv(T) ReLU(T x) = x / 2 + pinv(T) |T x| / 2``, so its relative error tends to 1/2 for large
``n`` whatever happens to the spiral (the trivial factor 1/2). ``2 pinv(T) ReLU(T x) = x +
pinv(T) |T x|`` removes that factor; its relative error ``||pinv(T) |T X| || / ||X||`` is the
ReLU's distortion alone, and its trend with ``n`` is what the Figure 1 panels show (scaled to their
own data, they hide the factor 2).

Everything is vectorized over random trials (stacks of ``T``) and points. Random streams are keyed
by ``(seed, purpose, n)``, so the matrices drawn for one ``n`` do not depend on which other ``n``
are run, on ``n_max`` or on the chunking.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .findings import Finding, count_verdict
from .notebook import COMMON
from .params import Param, ParameterError
from .progress import progress as _progress
from .stats import binomial_ci, mean_ci, paired_difference

# ---------------------------------------------------------------------------------------------
# Notebook parameters (notebooks/01_relu_manifold.ipynb)

MAX_PANELS = 7  # Figure 1 draws the input plus one panel per n in a single row, as the paper does

SPEC: dict[str, Param] = {
    **COMMON,
    "seed": Param(int, "seed of every random matrix T", min=0, max=2**32 - 1),
    "n_values": Param(
        list, "embedding dimensions drawn as Figure 1 panels", item=int, min=2, max=1000, min_len=1
    ),
    "n_max": Param(int, "Monte-Carlo sweep runs n = 2 .. n_max", min=3, max=500),
    "n_trials": Param(int, "random matrices T per n in the sweep", min=2, max=100_000),
    "n_points": Param(int, "points on the spiral", min=20, max=100_000),
    "turns": Param(float, "turns of the spiral", min=0.5, max=100.0),
    "n_pairs": Param(
        int, "independent (T, point) pairs per n for the binomial check", min=100, max=10_000_000
    ),
}

SMOKE_LIMITS = {"n_max": 8, "n_trials": 20, "n_points": 200, "n_pairs": 2000}


@dataclass(frozen=True)
class Plan:
    """What the notebook runs, after smoke-mode reductions and cross-parameter checks."""

    seed: int
    panel_ns: tuple[int, ...]
    sweep_ns: tuple[int, ...]
    n_trials: int
    n_points: int
    turns: float
    n_pairs: int


def make_plan(params: Mapping[str, Any]) -> Plan:
    """Checks that need several parameters together, then the smoke-mode reductions."""
    panels = list(params["n_values"])
    if len(panels) > MAX_PANELS:
        raise ParameterError(
            f"parameter 'n_values': got {panels!r} ({len(panels)} panels); allowed: "
            f"at most {MAX_PANELS} values (one row of panels, as in the paper)"
        )
    if len(set(panels)) != len(panels):
        raise ParameterError(f"parameter 'n_values': got {panels!r}; allowed: distinct values")
    sizes = {k: params[k] for k in SMOKE_LIMITS}
    if params["smoke"]:
        sizes = {k: min(v, SMOKE_LIMITS[k]) for k, v in sizes.items()}
    return Plan(
        seed=params["seed"],
        panel_ns=tuple(panels),
        sweep_ns=tuple(range(2, sizes["n_max"] + 1)),
        n_trials=sizes["n_trials"],
        n_points=sizes["n_points"],
        turns=float(params["turns"]),
        n_pairs=sizes["n_pairs"],
    )


# ---------------------------------------------------------------------------------------------
# The experiment's pieces

_FIGURE1_STREAM, _SWEEP_STREAM, _PAIRS_STREAM = 1, 2, 3


def spiral(n_points: int = 1000, turns: float = 10.0) -> np.ndarray:
    """An Archimedean spiral ``r = theta / theta_max`` from the origin out to radius 1
    (``theta_max = 2 pi turns``), as ``(n_points, 2)`` points equally spaced along the curve.

    Equal arc-length spacing (rather than equal angle steps) matters: with equal angle steps and a
    whole number of points per turn (1000 points, 10 turns) every turn repeats the same 100
    directions, and a least-squares decoder can then fit those few directions exactly. Along the
    curve, no two points share a direction. The origin itself is left out (the first point sits
    one step along the curve): ``T 0 = 0`` for every ``T``, so the origin always collapses and says
    nothing about Theorem 1.
    """
    if int(n_points) != n_points or n_points < 2:
        raise ValueError(f"n_points: got {n_points!r}; allowed: an integer >= 2")
    if not turns > 0:
        raise ValueError(f"turns: got {turns!r}; allowed: a number > 0")
    theta_max = 2.0 * np.pi * turns
    grid = np.linspace(0.0, theta_max, 64 * n_points + 1)
    length = grid * np.sqrt(1.0 + grid**2) + np.arcsinh(grid)  # 2 x arc length of r = theta
    targets = length[-1] * np.arange(1, n_points + 1) / n_points
    theta = np.interp(targets, length, grid)
    r = theta / theta_max
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


def gaussian_embeddings(
    n: int, n_trials: int, seed: int, stream: int = _SWEEP_STREAM
) -> np.ndarray:
    """``n_trials`` random matrices ``T`` of shape ``(n, 2)`` with i.i.d. N(0, 1) entries, as
    ``(n_trials, n, 2)``, from the random stream keyed by ``(seed, stream, n)``."""
    if int(n) != n or n < 1:
        raise ValueError(f"n: got {n!r}; allowed: an integer >= 1")
    rng = np.random.default_rng([seed, stream, n])
    return rng.standard_normal((n_trials, n, 2))


def embed(X: np.ndarray, T: np.ndarray, relu: bool = True) -> np.ndarray:
    """``ReLU(X T^T)``: points ``(P, 2)`` and matrices ``(..., n, 2)`` give ``(..., P, n)``."""
    Z = X @ np.swapaxes(T, -1, -2)
    return np.maximum(Z, 0.0) if relu else Z


def pinv_reconstruct(Y: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Back-projection ``Y pinv(T)^T``: ``(..., P, n)`` and ``(..., n, 2)`` give ``(..., P, 2)``."""
    return Y @ np.swapaxes(np.linalg.pinv(T), -1, -2)


def collapsed(X: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Which points cannot be recovered from ``ReLU(T x)`` (Lemma 2), as ``(..., P)`` booleans:
    fewer than 2 positive coordinates, or the rows of ``T`` for the positive coordinates span less
    than 2 dimensions (checked through the determinant of their 2 x 2 Gram matrix)."""
    positive = (X @ np.swapaxes(T, -1, -2)) > 0.0  # (..., P, n)
    t0, t1 = T[..., 0], T[..., 1]  # (..., n)
    g00 = np.einsum("...pn,...n->...p", positive, t0 * t0)
    g11 = np.einsum("...pn,...n->...p", positive, t1 * t1)
    g01 = np.einsum("...pn,...n->...p", positive, t0 * t1)
    rank_deficient = g00 * g11 - g01 * g01 <= 1e-12 * (g00 + g11) ** 2
    return (positive.sum(axis=-1) < 2) | rank_deficient


def relative_error(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Relative RMS error ``sqrt(sum ||x_hat - x||^2 / sum ||x||^2)`` over the points (axis -2)."""
    return np.sqrt(((X_hat - X) ** 2).sum(axis=(-2, -1)) / (X**2).sum(axis=(-2, -1)))


def least_squares_decoder(Y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The best affine decoder ``[Y, 1] W ~ X`` in the least-squares sense, for one ``T``: ``Y``
    ``(P, n)`` and ``X`` ``(P, 2)`` give ``W`` ``(n + 1, 2)``. ``numpy.linalg.lstsq`` (SVD) returns
    the minimum-norm solution when ``Y`` is rank deficient. The bias column lets the decoder undo
    the positive mean that ReLU adds."""
    return np.linalg.lstsq(_with_bias(Y), X, rcond=None)[0]


def apply_decoder(Y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``[Y, 1] W``."""
    return _with_bias(Y) @ W


def _with_bias(Y: np.ndarray) -> np.ndarray:
    return np.concatenate([Y, np.ones(Y.shape[:-1] + (1,))], axis=-1)


# ---------------------------------------------------------------------------------------------
# Figure 1


@dataclass(frozen=True)
class Figure1:
    """The input spiral and its back-projections ``pinv(T) ReLU(T x)``, one per ``n``."""

    X: np.ndarray
    outputs: dict[int, np.ndarray]
    collapsed_fraction: dict[int, float]
    seed: int

    def expected_fraction(self, n: int) -> float:
        """Theorem 1's expected collapsed fraction ``(n + 1) / 2^n`` for the panel at ``n``: one
        draw of ``T`` scatters around it (at n = 5, seed 0: 38% against 19%)."""
        return float(collapsed_fraction_theory(n))


def figure1(
    n_values: Sequence[int] = (2, 3, 5, 15, 30),
    n_points: int = 1000,
    turns: float = 10.0,
    seed: int = 0,
) -> Figure1:
    """One random ``T`` per ``n`` (stream ``(seed, 1, n)``), as in the paper's Figure 1."""
    X = spiral(n_points, turns)
    outputs, fractions = {}, {}
    for n in n_values:
        T = gaussian_embeddings(n, 1, seed, stream=_FIGURE1_STREAM)[0]
        outputs[n] = pinv_reconstruct(embed(X, T), T)
        fractions[n] = float(collapsed(X, T).mean())
    return Figure1(X=X, outputs=outputs, collapsed_fraction=fractions, seed=seed)


# ---------------------------------------------------------------------------------------------
# Monte-Carlo sweep over random T


def collapsed_fraction_theory(n: int | np.ndarray) -> np.ndarray:
    """Expected fraction of a 2-D input that collapses in ``n`` dimensions: ``(n + 1) / 2^n``."""
    n = np.asarray(n, dtype=float)
    return (n + 1.0) / 2.0**n


def theorem1_noncollapsed_fraction(m: int, d: int = 2) -> float:
    """Theorem 1 as printed: ``N(m, d) / 2^m`` with ``N(m, d) = sum_{k=0}^{m-d} C(m, k)``, the
    expected non-collapsed fraction of a ``d``-dimensional input embedded in ``m`` dimensions."""
    if m < d:
        return 0.0
    return sum(math.comb(m, k) for k in range(m - d + 1)) / 2.0**m


# What the sweep measures per (n, random T), in the order of :class:`Sweep`'s fields.
SWEEP_MEASURES = (
    "collapsed",
    "err_pinv",
    "err_pinv_x2",
    "err_lstsq",
    "err_lstsq_heldout",
    "err_linear",
)


@dataclass(frozen=True)
class Sweep:
    """Per-``n``, per-trial measurements (arrays of shape ``(len(ns), n_trials)``)."""

    ns: np.ndarray
    n_trials: int
    n_points: int
    turns: float
    seed: int
    collapsed: np.ndarray  # fraction of spiral points collapsed, per random T
    err_pinv: np.ndarray  # relative RMS error of pinv(T) ReLU(T x)
    err_pinv_x2: np.ndarray  # same for 2 pinv(T) ReLU(T x): the trivial factor 1/2 removed
    err_lstsq: np.ndarray  # best affine decoder, fit and scored on all points
    err_lstsq_heldout: np.ndarray  # fit on even-indexed points, scored on odd-indexed ones
    err_linear: np.ndarray  # control without ReLU: pinv(T) T x

    def detection_limit(self) -> float:
        """The smallest non-zero mean collapsed fraction the sweep can measure."""
        return 1.0 / (self.n_points * self.n_trials)

    def table(self, confidence: float = 0.95) -> pd.DataFrame:
        """One row per ``n``: theory, and mean with its Student-t interval over the trials."""
        rows = []
        for i, n in enumerate(self.ns):
            row = {"n": int(n), "collapsed_theory": float(collapsed_fraction_theory(n))}
            for key in SWEEP_MEASURES:
                mean, low, high = mean_ci(getattr(self, key)[i], confidence)
                row.update({f"{key}": mean, f"{key}_low": low, f"{key}_high": high})
            row["err_linear_max"] = float(self.err_linear[i].max())
            rows.append(row)
        return pd.DataFrame(rows).set_index("n")


@contextmanager
def _single_threaded_blas():
    try:
        from threadpoolctl import threadpool_limits  # ships with scikit-learn
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _chunk_size(n: int, n_points: int, budget: int = 4_000_000) -> int:
    """Trials per batch so that one ``(trials, points, n)`` array stays near ``budget`` floats."""
    return max(1, budget // (n_points * (n + 1)))


def sweep(
    ns: Sequence[int],
    n_trials: int = 200,
    n_points: int = 1000,
    turns: float = 10.0,
    seed: int = 0,
    progress: bool | None = None,
) -> Sweep:
    """For every ``n`` in ``ns``, draw ``n_trials`` Gaussian ``T`` and measure the collapsed
    fraction, the reconstruction errors (pinv, least squares in-sample and held-out) and the
    linear control's error."""
    if n_trials < 1:
        raise ValueError(f"n_trials: got {n_trials!r}; allowed: an integer >= 1")
    if not ns or min(ns) < 1:
        raise ValueError(f"ns: got {list(ns)!r}; allowed: a non-empty list of integers >= 1")
    with _single_threaded_blas():  # thousands of tiny solves: threads only contend on a busy CPU
        return _sweep(list(ns), n_trials, n_points, turns, seed, progress)


def _sweep(
    ns: list[int], n_trials: int, n_points: int, turns: float, seed: int, progress: bool | None
) -> Sweep:
    X = spiral(n_points, turns)
    fit, held = X[0::2], X[1::2]
    out = {k: np.empty((len(ns), n_trials)) for k in SWEEP_MEASURES}
    for i, n in enumerate(_progress(list(ns), enabled=progress, desc="n")):
        T_all = gaussian_embeddings(n, n_trials, seed)
        step = _chunk_size(n, n_points)
        for start in range(0, n_trials, step):
            T = T_all[start : start + step]
            sl = slice(start, start + T.shape[0])
            Y = embed(X, T)
            out["collapsed"][i, sl] = collapsed(X, T).mean(axis=-1)
            back = pinv_reconstruct(Y, T)
            out["err_pinv"][i, sl] = relative_error(back, X)
            out["err_pinv_x2"][i, sl] = relative_error(2.0 * back, X)
            for j, t in enumerate(range(sl.start, sl.stop)):
                W = least_squares_decoder(Y[j], X)
                out["err_lstsq"][i, t] = relative_error(apply_decoder(Y[j], W), X)
                W = least_squares_decoder(Y[j, 0::2], fit)
                out["err_lstsq_heldout"][i, t] = relative_error(apply_decoder(Y[j, 1::2], W), held)
            out["err_linear"][i, sl] = relative_error(
                pinv_reconstruct(embed(X, T, relu=False), T), X
            )
    return Sweep(
        ns=np.asarray(ns), n_trials=n_trials, n_points=n_points, turns=turns, seed=seed, **out
    )


@dataclass(frozen=True)
class PairCounts:
    """Collapse counted over independent (random ``T``, random spiral point) pairs, per ``n``.

    Every pair is an independent Bernoulli draw with probability ``(n + 1) / 2^n``, so the count
    is exactly binomial and the Wilson interval is valid at every ``n`` (the per-``T`` fractions
    of :class:`Sweep` are correlated within a ``T`` and very skewed once collapse is rare).
    """

    ns: np.ndarray
    n_pairs: int
    counts: np.ndarray

    def table(self, confidence: float = 0.95) -> pd.DataFrame:
        rows = []
        for n, k in zip(self.ns, self.counts):
            p, low, high = binomial_ci(int(k), self.n_pairs, confidence)
            rows.append(
                {
                    "n": int(n),
                    "collapsed_theory": float(collapsed_fraction_theory(n)),
                    "count": int(k),
                    "pairs": p,
                    "pairs_low": low,
                    "pairs_high": high,
                }
            )
        return pd.DataFrame(rows).set_index("n")


def pair_counts(
    ns: Sequence[int],
    n_pairs: int = 100_000,
    n_points: int = 1000,
    turns: float = 10.0,
    seed: int = 0,
) -> PairCounts:
    """Draw ``n_pairs`` independent (``T``, spiral point) pairs per ``n`` and count collapses."""
    if n_pairs < 1:
        raise ValueError(f"n_pairs: got {n_pairs!r}; allowed: an integer >= 1")
    X = spiral(n_points, turns)
    counts = []
    for n in ns:
        rng = np.random.default_rng([seed, _PAIRS_STREAM, n])
        T = rng.standard_normal((n_pairs, n, 2))
        x = X[rng.integers(0, n_points, size=n_pairs)][:, None, :]  # (pairs, 1, 2)
        counts.append(int(collapsed(x, T).sum()))
    return PairCounts(ns=np.asarray(ns), n_pairs=n_pairs, counts=np.asarray(counts))


# ---------------------------------------------------------------------------------------------
# The verdict the notebook prints

MIN_COLLAPSING_TRIALS = 10  # below this many trials with any collapse, the t-interval is unreliable


def _inside(table: pd.DataFrame, low: str, high: str) -> np.ndarray:
    theory = table["collapsed_theory"]
    return ((table[low] <= theory) & (theory <= table[high])).to_numpy()


def theory_agreement(sw: Sweep, pairs: PairCounts, confidence: float = 0.95) -> dict:
    """Does Theorem 1's ``(n + 1) / 2^n`` fall inside the Monte-Carlo intervals?

    Per-``T`` fractions (Student t over the trials): judged only at the ``n`` where at least
    ``MIN_COLLAPSING_TRIALS`` trials collapsed any point; with fewer, the per-trial values are mostly
    zero with a rare large one and the t-interval does not hold its coverage. Independent pairs
    (Wilson): valid at every ``n``; reported where at least 5 collapses are expected, since at larger
    ``n`` an interval from 0 counts contains the tiny prediction trivially.
    """
    table = sw.table(confidence)
    collapsing_trials = (sw.collapsed > 0).sum(axis=1)
    judged = table[collapsing_trials >= MIN_COLLAPSING_TRIALS]
    inside = _inside(judged, "collapsed_low", "collapsed_high")
    ptable = pairs.table(confidence)
    pjudged = ptable[ptable["collapsed_theory"] * pairs.n_pairs >= 5]
    pinside = _inside(pjudged, "pairs_low", "pairs_high")
    return {
        "per_T_ns": [int(n) for n in judged.index],
        "per_T_outside": [int(n) for n in judged.index[~inside]],
        "pairs_ns": [int(n) for n in pjudged.index],
        "pairs_outside": [int(n) for n in pjudged.index[~pinside]],
    }


def verdict(
    fig: Figure1,
    sw: Sweep,
    pairs: PairCounts,
    show_ns: Sequence[int] = (2, 3, 4, 5, 8, 10, 12, 15, 20, 30, 50),
) -> str:
    """The numbers the notebook's "What we found" quotes, as plain text."""
    table, ptable = sw.table(), pairs.table()
    shown = [n for n in show_ns if n in table.index]
    agree = theory_agreement(sw, pairs)
    collapsing_trials = dict(zip(sw.ns.tolist(), (sw.collapsed > 0).sum(axis=1).tolist()))
    lines = [
        f"Sweep: n = {sw.ns[0]}..{sw.ns[-1]}, {sw.n_trials} Gaussian T per n, {sw.n_points} "
        f"spiral points, {sw.turns:g} turns, seed {sw.seed}. Intervals: 95%, Student t over the "
        f"random T unless marked.",
        "",
        "Figure 1 panels (one T each), fraction of the spiral's points collapsed "
        "(expected (n+1)/2^n): "
        + ", ".join(
            f"n={n}: {f:.1%} ({fig.expected_fraction(n):.2g})"
            for n, f in fig.collapsed_fraction.items()
        ),
        "",
        "Collapsed fraction (n+1)/2^n [Theorem 1 states its complement, 1-(n+1)/2^n]:",
        "      n   theory     per-T mean [95% t CI]          (#T with any collapse)"
        f"   {pairs.n_pairs} independent (T, point) pairs [95% Wilson CI]",
    ]
    for n in shown:
        r, q = table.loc[n], ptable.loc[n]
        lines.append(
            f"  {n:>5}   {r.collapsed_theory:.2e}   {r.collapsed:.2e} [{r.collapsed_low:.2e}, "
            f"{r.collapsed_high:.2e}]  ({collapsing_trials[n]:>3})"
            f"   {q.pairs:.2e} [{q.pairs_low:.2e}, {q.pairs_high:.2e}]"
        )
    lines += [
        f"  per-T: theory inside the 95% CI at {len(agree['per_T_ns']) - len(agree['per_T_outside'])}"
        f" of {len(agree['per_T_ns'])} n with >= {MIN_COLLAPSING_TRIALS} collapsing T "
        f"(n = {_span(agree['per_T_ns'])}); outside at n = {agree['per_T_outside'] or 'none'}.",
        f"  pairs: theory inside the 95% CI at {len(agree['pairs_ns']) - len(agree['pairs_outside'])}"
        f" of {len(agree['pairs_ns'])} n with >= 5 expected collapses (n = {_span(agree['pairs_ns'])})"
        f"; outside at n = {agree['pairs_outside'] or 'none'}.",
        "",
        "Relative RMS reconstruction error, mean [95% CI]:",
        f"  {'n':>5}   {'pinv(T)':<28}  {'least squares, same points':<28}  "
        f"{'least squares, held-out':<28}  linear control (worst T)",
    ]
    for n in shown:
        r = table.loc[n]
        lines.append(
            f"  {n:>5}   {_ci(r, 'err_pinv')}  {_ci(r, 'err_lstsq')}  "
            f"{_ci(r, 'err_lstsq_heldout')}  {r.err_linear_max:.1e}"
        )
    lines += [
        "",
        "pinv(T) ReLU(T x) = x/2 + pinv(T)|T x|/2: the same error with the trivial factor 1/2 "
        "removed, i.e. of 2 pinv(T) ReLU(T x) = x + pinv(T)|T x| (the ReLU's distortion alone):",
    ]
    lines += [f"  {n:>5}   {_ci(table.loc[n], 'err_pinv_x2')}" for n in shown]
    lines.append(f"  linear control, worst over all n and T: {sw.err_linear.max():.1e}")
    lines += ["", "Paired differences over the same T, mean [95% CI]:"]
    for n in [n for n in (2, 5, 15, 30, 50) if n in table.index]:
        i = int(np.flatnonzero(sw.ns == n)[0])
        gain = paired_difference(sw.err_pinv[i], sw.err_lstsq[i])
        optimism = paired_difference(sw.err_lstsq_heldout[i], sw.err_lstsq[i])
        lines.append(
            f"  n={n:>3}: pinv - least squares = {gain.mean:+.3f} [{gain.low:+.3f}, "
            f"{gain.high:+.3f}];  held-out - same points = {optimism.mean:+.1e} "
            f"[{optimism.low:+.1e}, {optimism.high:+.1e}]"
        )
    return "\n".join(lines)


PAPER_ITEM_FIG1 = "Figure 1"
PAPER_ITEM_THEOREM1 = "Appendix A, Theorem 1"
PAPER_ITEM_BEYOND = "beyond the paper"


def findings(fig: Figure1, sw: Sweep, pairs: PairCounts) -> list[Finding]:
    """The notebook's findings (paper item, verdict, one line of numbers).

    Figure 1's two checks (the caption's claim in numbers): the panels at n <= 3 collapse at
    least a quarter of the spiral, those at n >= 15 under 1% (all / some / none hold:
    :func:`~mnv2lab.findings.count_verdict`; panels that cannot test a half count it as not
    holding). Theorem 1 is reproduced when its prediction lies inside the Wilson interval at all
    but at most 10% of the judged ``n``.
    """
    small = [f for n, f in fig.collapsed_fraction.items() if n <= 3]
    large = [f for n, f in fig.collapsed_fraction.items() if n >= 15]
    fig1_verdict = count_verdict(
        [bool(small) and min(small) >= 0.25, bool(large) and max(large) < 0.01]
    )
    panels = ", ".join(
        f"n={n}: {f:.0%} ({percent(fig.expected_fraction(n))})"
        for n, f in fig.collapsed_fraction.items()
    )
    agree = theory_agreement(sw, pairs)
    judged, outside = agree["pairs_ns"], agree["pairs_outside"]
    thm_ok = len(judged) >= 5 and len(outside) <= max(1, len(judged) // 10)
    table = sw.table()
    n_hi = int(sw.ns.max())
    hi = table.loc[n_hi]
    mid_n = 15 if 15 in table.index else int(sw.ns[len(sw.ns) // 2])
    mid = table.loc[mid_n]
    return [
        Finding(
            PAPER_ITEM_FIG1,
            fig1_verdict,
            f"points collapsed per panel, one T each (expected): {panels} (paper: n = 2, 3 "
            f"lose information, 15-30 keep it; no numbers)",
        ),
        Finding(
            PAPER_ITEM_THEOREM1,
            "reproduced" if thm_ok else "not reproduced",
            f"collapsed fraction (n+1)/2^n inside the 95% Wilson CI at "
            f"{len(judged) - len(outside)} of {len(judged)} n ({pairs.n_pairs:,} "
            f"(T, point) pairs per n, n = {_span(judged)})",
        ),
        Finding(
            PAPER_ITEM_BEYOND,
            "beyond the paper",
            f"relative error at n = {mid_n} / {n_hi}: pinv {mid.err_pinv:.2f} / "
            f"{hi.err_pinv:.2f} (-> 0.5, x/2), without the factor 1/2 "
            f"{mid.err_pinv_x2:.2f} / {hi.err_pinv_x2:.2f}; least squares "
            f"{mid.err_lstsq:.1e} / {hi.err_lstsq:.1e}; no-ReLU control <= "
            f"{sw.err_linear.max():.0e}",
        ),
    ]


def percent(p: float) -> str:
    """A fraction as a percentage with two significant digits (0.1875 -> "19%", 4.9e-4 ->
    "0.049%", 2.9e-8 -> "2.9e-6%"), so that tiny expected fractions do not print as 0%."""
    value = 100 * p
    if value == 0 or value >= 0.01:
        return f"{value:.2g}%"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}%"


def _ci(row: pd.Series, key: str) -> str:
    return f"{row[key]:.3g} [{row[key + '_low']:.3g}, {row[key + '_high']:.3g}]".ljust(28)


def _span(ns: list[int]) -> str:
    return f"{min(ns)}..{max(ns)}" if ns else "none"
