"""Solutions to the exercises of notebooks/01_relu_manifold.ipynb (checked by tests/test_exercises.py)."""

from __future__ import annotations

from mnv2lab import manifold
from mnv2lab.stats import binomial_ci


def exercise_1(n_pairs: int = 20_000) -> dict:
    """Predict the collapsed fraction for n = 4, then check it by Monte Carlo (Wilson interval)."""
    predicted = float(manifold.collapsed_fraction_theory(4))
    pairs = manifold.pair_counts([4], n_pairs=n_pairs, seed=1)
    fraction, low, high = binomial_ci(int(pairs.counts[0]), n_pairs)
    return {"predicted": predicted, "measured": fraction, "low": low, "high": high}


def exercise_2() -> dict:
    """The smallest n whose expected collapsed fraction (n+1)/2^n is below 1%."""
    n = 2
    while manifold.collapsed_fraction_theory(n) >= 0.01:
        n += 1
    return {"n": n, "fraction": float(manifold.collapsed_fraction_theory(n))}


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("exercise_"):
            print(name, fn())
