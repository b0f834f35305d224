"""Shared by the solutions of notebooks 03, 04 and 06: the committed CIFAR-10 runs of both budgets,
as the notebooks load them with their default parameters (nothing is trained)."""

from __future__ import annotations

from mnv2lab import study
from mnv2lab.notebook import parameter_defaults
from mnv2lab.study import budgets

DEFAULTS = parameter_defaults("03_bottleneck_ablation")  # what notebooks 03 and 04 load


def committed(use: str) -> study.StudyResults:
    return study.collect(study.make_plan(DEFAULTS, use))


def committed_long(use: str) -> study.StudyResults:
    """The long budget's committed runs behind ``use`` (whatever of them exist)."""
    return study.collect(budgets.long_plan(DEFAULTS, [use]), require_some=False)
