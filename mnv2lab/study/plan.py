"""Which of the study's runs a notebook needs, and where their results live: the plan notebooks
03-06 share, built from validated notebook parameters (:func:`make_plan`) or from a list of runs
(:func:`plan_of`).

``smoke=True`` swaps in tiny ``digits`` runs trained into a temporary folder, so a notebook's smoke
run exercises the whole path (train, store, load) in seconds.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..notebook import COMMON
from ..params import Param, ParameterError
from ..paths import resolve, results_dir
from .definition import STUDY, StudyRun, define_study

DATASETS = ("cifar10-jpeg", "cifar10", "digits")

# The parameters of every notebook over the study's runs (03, 04, 05 add their own).
SPEC_STUDY: dict[str, Param] = {
    **COMMON,
    "dataset": Param(str, "data set of the study", choices=DATASETS),
    "main_width": Param(float, "width multiplier of the Figure 6 ablations", min=0.1, max=2.0),
    "widths": Param(
        list,
        "width multipliers of the linear-vs-ReLU6 sweep",
        item=float,
        min=0.1,
        max=2.0,
        min_len=1,
    ),
    "seeds": Param(list, "seeds (the same for every variant: paired)", item=int, min=0, min_len=1),
    "epochs": Param(int, "epochs per run (the study's recipe)", min=1, max=1000),
    "train_missing": Param(bool, "train runs that have no stored result (needs the data)"),
    "results_dir": Param(str, "folder of results/<study>/ (relative: from the repo root)"),
}

SMOKE = {"dataset": "digits", "seeds": [0, 1], "epochs": 2, "train_subset": 256, "test_subset": 120}


@dataclass
class StudyPlan:
    """The runs a notebook needs and where their results live (after smoke reductions)."""

    runs: list[StudyRun]
    results: Path  # the folder holding <key>.json
    train_missing: bool
    smoke: bool
    main_width: float
    widths: list[float]
    seeds: list[int]
    epochs: int
    dataset: str
    in_committed_study: bool  # every run is one of `python -m mnv2lab.study`'s
    only: str | None = None  # the runner's --only pattern that trains exactly these
    train_command: str | None = None  # trains these runs when they are not the short study's


def make_plan(params: Mapping[str, Any], use: str | Sequence[str]) -> StudyPlan:
    """The runs behind ``use`` ("fig6a", "fig6b", "width_sweep" or several), from validated
    notebook parameters (:data:`SPEC_STUDY`). Cross-parameter checks raise ParameterError before
    any work."""
    uses = {use} if isinstance(use, str) else set(use)
    seeds, widths = list(params["seeds"]), [float(w) for w in params["widths"]]
    main_width = float(params["main_width"])
    if len(set(seeds)) != len(seeds):
        raise ParameterError(f"parameter 'seeds': got {seeds!r}; allowed: distinct seeds")
    if len(set(widths)) != len(widths):
        raise ParameterError(f"parameter 'widths': got {widths!r}; allowed: distinct widths")
    if "width_sweep" in uses and main_width not in widths:
        raise ParameterError(
            f"parameters 'main_width' and 'widths': got {main_width!r} and "
            f"{widths!r}; allowed: main_width among the widths (its runs are shared)"
        )
    dataset, epochs, extra = params["dataset"], int(params["epochs"]), {}
    results = resolve(params["results_dir"]) / STUDY
    if params["smoke"]:
        dataset, epochs = SMOKE["dataset"], SMOKE["epochs"]
        extra = {"train_subset": SMOKE["train_subset"], "test_subset": SMOKE["test_subset"]}
        seeds = seeds[: len(SMOKE["seeds"])] if len(seeds) >= 2 else seeds
        widths = sorted(widths)[:2] if len(widths) > 2 else widths
        if main_width not in widths:
            widths = sorted({*widths[:1], main_width})
        results = Path(tempfile.mkdtemp(prefix="mnv2lab-smoke-")) / STUDY
    runs = define_study(
        seeds=seeds,
        main_width=main_width,
        widths=widths,
        epochs=epochs,
        dataset=dataset,
        include_v1=False,
        **extra,
    )
    runs = [r for r in runs if uses & set(r.uses)]
    committed = {r.key for r in define_study()}
    return StudyPlan(
        runs=runs,
        results=results,
        train_missing=bool(params["train_missing"] or params["smoke"]),
        smoke=bool(params["smoke"]),
        main_width=main_width,
        widths=widths,
        seeds=seeds,
        epochs=epochs,
        dataset=dataset,
        in_committed_study=all(r.key in committed for r in runs),
        only=next(iter(uses)) if len(uses) == 1 else None,
    )


def plan_of(
    runs: Sequence[StudyRun],
    results: str | Path | None = None,
    *,
    train_missing: bool = False,
    smoke: bool = False,
    only: str | None = None,
    train_command: str | None = None,
) -> StudyPlan:
    """A plan over given runs (e.g. one figure's, picked from :func:`define_study`); ``results``
    None: the committed ``results/<study>/`` of the runs; ``train_command``: the command that
    trains them (named when some are missing)."""
    runs = list(runs)
    if not runs:
        raise ParameterError("runs: got none; allowed: at least one run of the study")
    folder = resolve(results) if results is not None else results_dir() / runs[0].config.study
    committed = {r.key for r in define_study()}
    widths = sorted({r.width for r in runs})
    return StudyPlan(
        runs=runs,
        results=folder,
        train_missing=train_missing,
        smoke=smoke,
        main_width=max(widths),
        widths=widths,
        seeds=sorted({r.seed for r in runs}),
        epochs=runs[0].config.epochs,
        dataset=runs[0].config.dataset,
        in_committed_study=all(r.key in committed for r in runs),
        only=only,
        train_command=train_command,
    )
