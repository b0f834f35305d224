"""What a notebook concludes about a paper item: one :class:`Finding` type, and the verdict words
computed from numbers (never typed in).

    finding = Finding("Figure 6a", interval_verdict(gap, PAPER_FIG6A_GAP), "linear - ReLU6 ...")
    nb.record_finding(finding)                  # README table, gallery and slides read it back

Verdicts (:data:`VERDICTS`), and the helper that computes each:

* an effect with a 95% interval against the paper's range (:func:`interval_verdict`):
  "reproduced" (the interval excludes zero on the paper's side and reaches the paper's range),
  "direction only" (the sign agrees, the size is far from the paper's: the interval excludes the
  paper's whole range), "inconclusive" (the interval spans zero), "not reproduced" (the interval
  excludes zero on the other side);
* a table checked cell by cell, or a list of checks (:func:`count_verdict`): all agree
  "reproduced", some "partly", none "not reproduced";
* several effects of one paper item (:func:`combined_verdict`);
* "beyond the paper": a result the paper does not state (no comparison to make); when that result
  is an effect with an interval, :func:`beyond_verdict` makes it "inconclusive" if the interval
  spans zero, so a README row never hides an unresolved effect behind "beyond the paper".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

VERDICTS = (
    "reproduced",
    "direction only",
    "partly",
    "inconclusive",
    "not reproduced",
    "beyond the paper",
)
MAX_CHARS = 300  # a finding is one line of the README table

# What each verdict word means, for readers of the README table, the gallery and the slides.
VERDICT_MEANINGS = {
    "reproduced": "sign and size agree with the paper (a trained gap's 95% interval excludes zero "
    "on the paper's side and reaches the paper's range; a table: every cell agrees)",
    "direction only": "the sign agrees, the size does not (the interval lies outside the "
    "paper's range)",
    "partly": "some cells or claims agree, others do not",
    "inconclusive": "the 95% interval includes zero, also for an effect the paper does not state",
    "not reproduced": "the interval excludes zero on the other side, or no cell agrees",
    "beyond the paper": "a result the paper does not state (resolved, where it has an interval)",
}


@dataclass(frozen=True)
class Finding:
    """One verdict on one paper item, with the one line of numbers behind it (paper vs ours).

    ``figures``: the figures that show it (None: the figures the notebook saved for the same
    paper item). ``notebook`` and ``smoke`` are filled in when a recorded finding is read back
    (:mod:`mnv2lab.catalog`). ``details``: longer text a notebook may print; not recorded."""

    paper_item: str
    verdict: str
    finding: str
    figures: tuple[str, ...] | None = None
    notebook: str = ""
    smoke: bool = False
    details: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_finding(self.paper_item, self.verdict, self.finding)
        if self.figures is not None:
            if isinstance(self.figures, str):
                raise ValueError(f"figures: got {self.figures!r}; allowed: a list of figure names")
            object.__setattr__(self, "figures", tuple(self.figures))


def check_finding(paper_item: str, verdict: str, finding: str) -> None:
    """Raise ValueError naming the argument, the value and what is allowed."""
    for arg, value in (("paper_item", paper_item), ("finding", finding)):
        if not isinstance(value, str) or not value.strip() or "\n" in value.strip():
            raise ValueError(f"{arg}: got {value!r}; allowed: a non-empty single-line string")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: got {verdict!r}; allowed: one of {list(VERDICTS)}")
    if not any(ch.isdigit() for ch in finding) or len(finding) > MAX_CHARS:
        raise ValueError(
            f"finding: got {finding!r}; allowed: one line of at most {MAX_CHARS} "
            "characters that states the numbers (paper vs ours)"
        )


def interval_verdict(low: float, high: float, paper_range: tuple[float, float]) -> str:
    """The verdict on an effect measured with the 95% interval [low, high] against the paper's
    range of that effect (``paper_range``: low, high; its sign is the paper's direction).

    "inconclusive" also when the interval is not finite (one seed: no interval)."""
    p_low, p_high = sorted(paper_range)
    if p_low < 0 < p_high or (p_low == 0 and p_high == 0):
        raise ValueError(f"paper_range: got {paper_range!r}; allowed: a range on one side of 0")
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return "inconclusive"
    sign = 1.0 if p_high > 0 else -1.0
    if low <= 0 <= high:
        return "inconclusive"
    if sign * low < 0:  # the interval excludes zero on the other side
        return "not reproduced"
    return "reproduced" if low <= p_high and high >= p_low else "direction only"


def beyond_verdict(low: float, high: float) -> str:
    """The verdict on an effect the paper does not state, measured with the 95% interval
    [low, high]: "inconclusive" when the interval spans (or touches) zero or is not finite (one
    seed), else "beyond the paper" (a resolved effect with no paper number to compare)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high or low <= 0 <= high:
        return "inconclusive"
    return "beyond the paper"


def count_verdict(agree: int | Iterable[bool], total: int | None = None) -> str:
    """Cell by cell (or check by check): all agree "reproduced", some "partly", none
    "not reproduced". ``agree``: a count with ``total``, or the checks themselves."""
    if total is None:
        checks = [bool(c) for c in agree]
        agree, total = sum(checks), len(checks)
    if total < 1 or not 0 <= agree <= total:
        raise ValueError(
            f"agree/total: got {agree}/{total}; allowed: 0 <= agree <= total, total >= 1"
        )
    return "reproduced" if agree == total else "partly" if agree else "not reproduced"


def combined_verdict(verdicts: Sequence[str]) -> str:
    """One verdict for a paper item that makes several claims, each with its own verdict: the
    common one when they agree; "direction only" when each is reproduced at least in direction;
    "partly" when some are and others are not; else "not reproduced" if any is, else
    "inconclusive"."""
    unknown = [v for v in verdicts if v not in VERDICTS or v == "beyond the paper"]
    if not verdicts or unknown:
        raise ValueError(
            f"verdicts: got {list(verdicts)!r}; allowed: at least one of {list(VERDICTS[:-1])}"
        )
    if len(set(verdicts)) == 1:
        return verdicts[0]
    positive = {"reproduced", "direction only"}
    if all(v in positive for v in verdicts):
        return "direction only"
    if any(v in positive or v == "partly" for v in verdicts):
        return "partly"
    return "not reproduced" if "not reproduced" in verdicts else "inconclusive"
