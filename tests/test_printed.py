"""Printing conventions: a count rounded or truncated to the printed digit, exactly."""

from decimal import Decimal

import pytest

from mnv2lab import printed


def test_rounded_and_truncated_to_the_printed_digit():
    # MobileNetV2 1.0 without BN (3,470,760) prints 3.5M rounded but 3.4M truncated
    assert printed.printed_as(3_470_760, 10**6, 1, "rounded") == Decimal("3.5")
    assert printed.printed_as(3_470_760, 10**6, 1, "truncated") == Decimal("3.4")
    assert printed.agreement(300_774_272, 300, 10**6, 0) == {"rounded": False, "truncated": True}
    assert printed.agreement(2_609_784, 2.61, 10**6, 2) == {"rounded": True, "truncated": False}
    # exact decimal arithmetic: a tie rounds half up, an exact value truncates to itself
    assert printed.printed_as(2_450_000, 10**6, 1, "rounded") == Decimal("2.5")
    assert printed.printed_as(2_400_000, 10**6, 1, "truncated") == Decimal("2.4")
    assert printed.agrees(5_401_816, 5.4, 10**6, 1, "rounded")


@pytest.mark.parametrize(
    "call,fragment",
    [
        (lambda: printed.agrees(1, 3.45, 10**6, 1, "rounded"), "printed"),
        (lambda: printed.printed_as(1, 10**6, 1, "floor"), "convention"),
        (lambda: printed.printed_as(1, 10**6, -1, "rounded"), "decimals"),
        (lambda: printed.printed_as(1.5, 10**6, 1, "rounded"), "count"),
    ],
)
def test_bad_arguments_are_named(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
