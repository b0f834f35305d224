"""The one Finding type and the verdict words, computed from numbers."""

from __future__ import annotations

import json
import math

import pytest

from mnv2lab import findings as F
from mnv2lab.findings import Finding

PAPER = (0.5, 1.5)  # e.g. Figure 6's final gap, points


@pytest.mark.parametrize(
    "low, high, verdict",
    [
        (0.8, 1.6, "reproduced"),  # inside the paper's range
        (0.1, 0.6, "reproduced"),  # reaches the range from below
        (1.4, 9.0, "reproduced"),  # reaches it from above
        (8.2, 13.9, "direction only"),  # right sign, far larger than the paper's
        (0.05, 0.3, "direction only"),  # right sign, far smaller
        (-1.0, 2.0, "inconclusive"),  # spans zero
        (0.0, 2.0, "inconclusive"),  # touches zero
        (-3.0, -0.2, "not reproduced"),  # excludes zero on the other side
        (math.nan, math.nan, "inconclusive"),  # one seed: no interval
    ],
)
def test_interval_verdict(low, high, verdict):
    assert F.interval_verdict(low, high, PAPER) == verdict


def test_interval_verdict_for_a_negative_paper_effect():
    assert F.interval_verdict(-1.2, -0.9, (-1.5, -0.5)) == "reproduced"
    assert F.interval_verdict(0.2, 0.9, (-1.5, -0.5)) == "not reproduced"
    with pytest.raises(ValueError, match="paper_range"):
        F.interval_verdict(0.2, 0.9, (-1.0, 1.0))


@pytest.mark.parametrize(
    "low, high, verdict",
    [
        (0.3, 1.2, "beyond the paper"),  # resolved, positive
        (-4.0, -0.1, "beyond the paper"),  # resolved, negative: no paper direction to miss
        (-0.55, 0.86, "inconclusive"),  # spans zero: unresolved, whatever the paper says
        (0.0, 1.0, "inconclusive"),  # touches zero
        (math.nan, math.nan, "inconclusive"),  # one seed: no interval
    ],
)
def test_beyond_verdict_never_hides_an_interval_spanning_zero(low, high, verdict):
    assert F.beyond_verdict(low, high) == verdict


def test_count_and_combined_verdicts():
    assert F.count_verdict(21, 21) == "reproduced"
    assert F.count_verdict(11, 21) == "partly"
    assert F.count_verdict(0, 21) == "not reproduced"
    assert F.count_verdict([True, False, True]) == "partly"
    with pytest.raises(ValueError, match="agree/total"):
        F.count_verdict(3, 2)
    assert F.combined_verdict(["reproduced", "reproduced"]) == "reproduced"
    assert F.combined_verdict(["reproduced", "direction only"]) == "direction only"
    assert F.combined_verdict(["reproduced", "inconclusive"]) == "partly"
    assert F.combined_verdict(["inconclusive", "inconclusive"]) == "inconclusive"
    assert F.combined_verdict(["inconclusive", "not reproduced"]) == "not reproduced"
    with pytest.raises(ValueError, match="verdicts"):
        F.combined_verdict(["beyond the paper"])


def test_a_finding_is_checked_when_made():
    f = Finding("Table 3", "partly", "11 of 21 cells agree", figures=["a"])
    assert f.figures == ("a",) and f.verdict in F.VERDICTS
    for bad, match in (
        ({"verdict": "differs"}, "verdict"),
        ({"finding": "no numbers"}, "finding"),
        ({"paper_item": ""}, "paper_item"),
        ({"finding": "1\n2"}, "finding"),
        ({"finding": "9" * 301}, "finding"),
    ):
        with pytest.raises(ValueError, match=match):
            Finding(**{"paper_item": "Table 3", "verdict": "partly", "finding": "1 of 2", **bad})


def test_every_verdict_has_a_slide_colour():
    from mnv2lab.slides import VERDICT_COLOURS

    assert set(VERDICT_COLOURS) == set(F.VERDICTS)


def test_the_session_records_findings_in_the_catalog_format(tmp_path):
    from mnv2lab.catalog import load_findings
    from mnv2lab.notebook import NotebookSession

    nb = NotebookSession("00_test", {"smoke": False}, tmp_path)
    nb.record_finding(Finding("Table 2", "reproduced", "3,504,872 params"))
    nb.record_finding("Figure 5", "partly", "21 of 22 counts match")  # the same, built here
    stored = json.loads((tmp_path / "findings" / "00_test.json").read_text())
    assert [f["verdict"] for f in stored["findings"]] == ["reproduced", "partly"]
    back = load_findings(tmp_path)
    assert back[0] == Finding(
        "Table 2", "reproduced", "3,504,872 params", figures=(), notebook="00_test"
    )
