"""Notebook 06's findings for the README's reproduction table, from its tables."""

from __future__ import annotations

import pandas as pd

from .. import published, section5
from ..findings import Finding, beyond_verdict
from ..study import StudyResults
from ..study.budgets import verdict_source
from .pareto import left_out_text, pareto_summary
from .plan import FIGURES, RATIO_TOLERANCE
from .trained import trained_results, trained_summary, trained_text


def finding_source(
    short_pairs: pd.DataFrame, short_label: str, long: StudyResults | None, long_label: str
) -> tuple[pd.DataFrame, str, str]:
    """What the trained finding rests on, as (matched pairs, budget label, figure name): the long
    budget's pair (V2 0.5 - V1 0.4, :func:`trained_summary` of its runs) once every run of its
    plan exists (:func:`mnv2lab.study.budgets.verdict_source`), else the short budget's pairs
    and its figure."""
    if long is not None and verdict_source(None, long) is long:
        _, pairs = trained_summary(trained_results(long))
        return pairs, long_label, FIGURES["gap_budget"]
    return short_pairs, short_label, FIGURES["trained"]


def findings(
    ratio: pd.DataFrame,
    points: pd.DataFrame,
    memory: pd.DataFrame,
    latency_slices: pd.DataFrame,
    pairs: pd.DataFrame,
    trained: pd.DataFrame,
    budget: str = "",
    trained_figure: str = FIGURES["trained"],
) -> list[Finding]:
    """The notebook's findings for the README's reproduction table, each with its figure.
    ``budget`` ("CIFAR-10, 5 epochs") opens the trained comparison's finding, shown by
    ``trained_figure`` (:func:`~mnv2lab.v1_vs_v2.trained.finding_source` picks both)."""
    out = []
    if not ratio.empty:
        # The paper timed one large core: the single-thread ratio decides; other thread
        # counts can only make it "partly".
        r = ratio.set_index("threads")["V2/V1 here"]
        close = {t: abs(v - published.TABLE4_V2_V1_RATIO) <= RATIO_TOLERANCE for t, v in r.items()}
        verdict = (
            "reproduced"
            if all(close.values())
            else "partly"
            if close.get(1, False)
            else "not reproduced"
        )
        out.append(
            Finding(
                "Table 4 (CPU latency)",
                verdict,
                "V2/V1 latency "
                + ", ".join(f"{v:.2f} at {t} thr" for t, v in r.items())
                + f" on {' and '.join(sorted(set(ratio['measured on'])))} vs 75/113 = "
                f"{published.TABLE4_V2_V1_RATIO:.2f} on a Pixel 1",
                figures=(FIGURES["table4"],),
            )
        )
    if not points.empty or left_out_text(points):
        out.append(
            Finding(
                "Figure 5 vs latency",
                "beyond the paper",
                pareto_summary(points)[:300],
                figures=(FIGURES["accuracy_latency"],),
            )
        )
    item = section5.finding(memory, latency_slices, figures=(FIGURES["section5"],))
    if item is not None:
        out.append(item)
    if not pairs.empty:
        # The paper states no matched-MAdds CIFAR-10 gap: "beyond the paper" once every pair's
        # interval excludes zero, "inconclusive" while any spans it.
        each = [beyond_verdict(p.ci_low, p.ci_high) for p in pairs.itertuples()]
        out.append(
            Finding(
                "Trained V1 vs V2 (CIFAR-10)",
                "inconclusive" if "inconclusive" in each else "beyond the paper",
                ((budget + ": ") if budget else "") + trained_text(pairs),
                figures=(trained_figure,),
            )
        )
    return out
