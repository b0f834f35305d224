"""Small statistics helpers used by every notebook: a mean with its interval, a paired difference
with its interval, and an interval for a fraction.

- :func:`mean_ci`: mean of a sample with a Student-t confidence interval (seeds, random trials).
- :func:`paired_difference`: the mean of ``a - b`` for paired samples (the same seeds run under two
  settings) with its Student-t interval; pairing removes the seed-to-seed variation both share.
- :func:`binomial_ci`: a Wilson score interval for a fraction ``successes / n``; unlike the
  normal ("Wald") interval it stays inside [0, 1] and behaves at 0 and n successes.

With a single value there is no estimate of spread: :func:`mean_ci` and :func:`paired_difference`
then return the mean with a ``nan`` interval (and ``excludes_zero=False``) rather than raising, so a
one-seed smoke run still draws its figures; the ``nan`` makes the missing interval visible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _st

ArrayLike = Sequence[float] | np.ndarray


def _check_confidence(confidence: float) -> float:
    if not (
        isinstance(confidence, (int, float))
        and not isinstance(confidence, bool)
        and 0.0 < confidence < 1.0
    ):
        raise ValueError(
            f"confidence: got {confidence!r}; allowed: a number strictly between 0 and 1"
        )
    return float(confidence)


def _as_sample(name: str, values: ArrayLike) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(
            f"{name}: got an array of shape {x.shape}; allowed: a 1-D sequence of numbers"
        )
    if x.size == 0:
        raise ValueError(f"{name}: got an empty sequence; allowed: at least one number")
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{name}: got non-finite values {x[~np.isfinite(x)][:3].tolist()}; "
            f"allowed: finite numbers only"
        )
    return x


def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    mean = float(x.mean())
    n = x.size
    if n == 1:
        return mean, math.nan, math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    half = float(_st.t.ppf(0.5 + confidence / 2.0, df=n - 1)) * sem
    return mean, mean - half, mean + half


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the sample mean and its Student-t confidence interval.

    Assumes independent values (one per seed or random trial). With one value the interval is
    ``(nan, nan)``: there is no spread to estimate. Empty or non-finite input raises ``ValueError``.
    """
    confidence = _check_confidence(confidence)
    return _t_interval(_as_sample("values", values), confidence)


@dataclass(frozen=True)
class PairedDifference:
    """Mean of ``a - b`` over paired samples, its confidence interval, and whether it excludes 0."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float
    excludes_zero: bool

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        return f"{self.mean:+.4g} [{pct}% CI {self.low:+.4g}, {self.high:+.4g}], n={self.n}" + (
            "" if self.excludes_zero else " (interval includes 0)"
        )


def paired_difference(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> PairedDifference:
    """The mean paired difference ``a - b`` (``a[i]`` and ``b[i]`` share seed ``i``), with a
    Student-t interval on the per-pair differences. With one pair the interval is ``nan``."""
    confidence = _check_confidence(confidence)
    xa, xb = _as_sample("a", a), _as_sample("b", b)
    if xa.size != xb.size:
        raise ValueError(
            f"a and b: got {xa.size} and {xb.size} values; allowed: the same number "
            f"(one per shared seed)"
        )
    mean, low, high = _t_interval(xa - xb, confidence)
    excludes = bool(not math.isnan(low) and (low > 0.0 or high < 0.0))
    return PairedDifference(
        mean=mean, low=low, high=high, n=int(xa.size), confidence=confidence, excludes_zero=excludes
    )


def binomial_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(fraction, low, high)``: ``successes / n`` with its Wilson score interval."""
    confidence = _check_confidence(confidence)
    for name, value in (("successes", successes), ("n", n)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name}: got {value!r}; allowed: a non-negative integer")
    if n < 1:
        raise ValueError(f"n: got {n!r}; allowed: an integer >= 1")
    if not 0 <= successes <= n:
        raise ValueError(f"successes: got {successes!r}; allowed: an integer between 0 and n={n}")
    p = successes / n
    z = float(_st.norm.ppf(0.5 + confidence / 2.0))
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 and n successes the bound is exactly 0 or 1; pin it so rounding cannot leave p outside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return p, low, high
