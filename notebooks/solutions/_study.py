"""Shared by the solutions of notebooks 03 and 04: the committed CIFAR-10 runs, as the notebooks
load them with their default parameters (nothing is trained)."""

from __future__ import annotations

from mnv2lab import study

DEFAULTS = {
    "dataset": "cifar10-jpeg",
    "main_width": 0.5,
    "widths": [0.25, 0.35, 0.5],
    "seeds": [0, 1, 2],
    "epochs": 5,
    "train_missing": False,
    "results_dir": "results",
    "smoke": False,
    "out_dir": "figures",
}


def committed(use: str) -> study.StudyResults:
    return study.collect(study.make_plan(DEFAULTS, use))


def committed_long(use: str) -> study.StudyResults:
    """The long budget's committed runs behind ``use`` (whatever of them exist)."""
    from mnv2lab.study import budgets

    return study.collect(budgets.long_plan(DEFAULTS, [use]), require_some=False)
