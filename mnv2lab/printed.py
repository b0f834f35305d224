"""How a paper prints a count, and whether our exact count prints the same.

A printed count such as "3.4M" keeps one decimal of millions; whether the paper *rounded* the
exact count to that digit or *truncated* it is not stated anywhere, and it matters: MobileNetV2
1.0 has 3,470,760 parameters without BatchNorm, which rounds to 3.5M and truncates to 3.4M. So
every comparison here is made under both conventions, exactly (decimal arithmetic, no float
error), to the digit printed:

* **rounded**: round half up to the printed number of decimals (3.4708 -> 3.5);
* **truncated**: drop the digits after the printed ones (3.4708 -> 3.4; 300.77 -> 300).

The number of printed decimals is passed explicitly: a printed "5.40" stored as the float 5.4
would otherwise look like one decimal.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CONVENTIONS = ("rounded", "truncated")


def _check(decimals: int) -> None:
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 6:
        raise ValueError(f"decimals: got {decimals!r}; allowed: an integer from 0 to 6")


def printed_as(count: int, unit: int, decimals: int, convention: str) -> Decimal:
    """``count / unit`` printed with ``decimals`` decimals under ``convention`` ("rounded" or
    "truncated"), e.g. ``printed_as(3_470_760, 10**6, 1, "truncated") == Decimal("3.4")``."""
    _check(decimals)
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: got {convention!r}; allowed: one of {list(CONVENTIONS)}")
    if not isinstance(count, int) or not isinstance(unit, int) or unit <= 0:
        raise ValueError(f"count, unit: got {count!r}, {unit!r}; allowed: integers, unit > 0")
    exact = Decimal(count) / Decimal(unit)
    mode = ROUND_HALF_UP if convention == "rounded" else ROUND_DOWN
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=mode)


def agrees(count: int, printed: float | int, unit: int, decimals: int, convention: str) -> bool:
    """Does ``count`` print as ``printed`` (in units of ``unit``, ``decimals`` decimals)?"""
    target = Decimal(str(printed)).quantize(Decimal(1).scaleb(-decimals))
    if target != Decimal(str(printed)):
        raise ValueError(
            f"printed: got {printed!r}; allowed: a value with at most {decimals} "
            "decimals (the printed digits)"
        )
    return printed_as(count, unit, decimals, convention) == target


def agreement(count: int, printed: float | int, unit: int, decimals: int) -> dict[str, bool]:
    """{convention: agrees} for both conventions."""
    return {c: agrees(count, printed, unit, decimals, c) for c in CONVENTIONS}
