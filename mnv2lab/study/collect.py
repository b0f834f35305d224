"""Load the study's runs: an intact stored result is used, a missing one is listed with the
command that produces it, or trained now when asked. Written once, for the runner and for every
notebook over the study (03-06).

    plan = study.make_plan(nb.params, "fig6a")
    results = study.collect(plan)          # StudyResults: .results, .missing, .status
    print(study.missing_message(results))
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..params import NoResults
from ..paths import repo_root, shared_data
from ..train import launch
from ..train import (
    ResultCacheWarning,
    RunResult,
    TrainConfig,
    load_intact,
    result_path,
    run_or_load,
    weights_available,
)
from .definition import StudyRun
from .plan import StudyPlan

# What collect found for each run.
STATUSES = ("found", "missing", "unusable", "no weights", "trained now")


def result_file(run: StudyRun, results: str | os.PathLike | None = None) -> Path:
    """Where the run's result is (or would be) stored: ``<results>/<key>.json``."""
    return result_path(run.config, results)


def stored(run: StudyRun, results: str | os.PathLike | None = None) -> RunResult | None:
    """The run's intact stored result, or None (quietly: an unusable file counts as absent)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResultCacheWarning)
        return load_intact(run.config, results)


def is_done(run: StudyRun, results: str | os.PathLike | None = None) -> bool:
    """Whether an intact result exists for the run."""
    return stored(run, results) is not None


def data_available(dataset: str) -> bool:
    """Whether a data set can be loaded offline here (the condition for training a run now)."""
    if dataset == "digits":
        return True
    if dataset == "cifar10-jpeg":
        return shared_data("cifar10-jpeg.tar.gz").exists()
    return False


def obtain(
    config: TrainConfig,
    results: str | os.PathLike | None = None,
    *,
    train: bool,
    need_model: bool = False,
    progress: bool | None = None,
) -> tuple[RunResult | None, str]:
    """One run's result and how it was got (one of :data:`STATUSES`): the intact stored result
    ("found"); else, with ``train``, trained now through :func:`mnv2lab.train.run_or_load`
    (resuming from a checkpoint); else None with "missing" or "unusable". ``need_model``: the
    final weights must be on this machine too ("no weights" when only the JSON is, unless
    ``train`` retrains the run deterministically for them)."""
    result = load_intact(config, results)
    if result is not None and (not need_model or weights_available(result)):
        return result, "found"
    if train and config.ranks > 1 and not need_model:  # several processes (torchrun)
        return launch.run(config, results, progress=progress), "trained now"
    if train:
        return run_or_load(config, results, progress=progress, need_model=need_model), "trained now"
    if result is not None:
        return result, "no weights"
    return None, "unusable" if result_path(config, results).exists() else "missing"


@dataclass
class StudyResults:
    """The runs of a plan that have results, and the ones that do not."""

    plan: StudyPlan
    results: dict[str, RunResult] = field(default_factory=dict)  # run name -> RunResult
    missing: list[StudyRun] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)  # run name -> STATUSES

    def runs(self, variant: str, width: float, model: str = "mobilenet_v2") -> dict[int, RunResult]:
        """seed -> RunResult of one variant at one width (only the runs that exist)."""
        return {
            r.seed: self.results[r.name]
            for r in self.plan.runs
            if r.variant == variant
            and r.width == width
            and r.model == model
            and r.name in self.results
        }

    @property
    def n_done(self) -> int:
        return len(self.results)


def collect(
    plan: StudyPlan, progress: bool | None = None, *, require_some: bool = True
) -> StudyResults:
    """Load every run of the plan that has an intact stored result; train the others if the plan
    says so (the data must be here: FileNotFoundError otherwise, naming the command), else list
    them as missing. Prints what it loaded and, if some are missing, how to produce them. With
    no result at all (outside smoke runs) it raises :class:`mnv2lab.params.NoResults`: there is
    nothing to analyse, and empty figures must not stand in for results. ``require_some=False``
    is for optional comparisons (the long budget before its runs land), whose absence the
    notebook reports itself."""
    out = StudyResults(plan)
    todo = []
    for r in plan.runs:
        result, status = obtain(r.config, plan.results, train=False)
        out.status[r.name] = status
        if result is not None:
            out.results[r.name] = result
        else:
            todo.append(r)
    if todo and plan.train_missing and not data_available(plan.dataset):
        raise FileNotFoundError(missing_message(StudyResults(plan, missing=todo)))
    for i, r in enumerate(todo if plan.train_missing else [], 1):
        print(f"training missing run {i}/{len(todo)}: {r.name}", flush=True)
        out.results[r.name], out.status[r.name] = obtain(
            r.config, plan.results, train=True, progress=progress
        )
    out.missing = [r for r in plan.runs if r.name not in out.results]
    message = missing_message(out)
    if not out.n_done and not plan.smoke and require_some:
        raise NoResults(
            f"no stored result for any of the {len(plan.runs)} runs of this plan in "
            f"{_shown(plan.results)}; nothing to analyse. {message}"
        )
    print(
        f"{out.n_done}/{len(plan.runs)} runs loaded from {_shown(plan.results)}"
        + (f"\n{message}" if message else "")
    )
    return out


def missing_message(results: StudyResults) -> str:
    """Which runs are missing and the exact command that produces them ("" when none is)."""
    plan, missing = results.plan, results.missing
    if not missing:
        return ""
    names = ", ".join(r.name for r in missing[:8]) + (" ..." if len(missing) > 8 else "")
    if plan.in_committed_study:
        only = f" --only {plan.only}" if plan.only else ""
        how = (
            f"train them with `.venv/bin/python -m mnv2lab.study run{only}` (about 20 min a run "
            "on 2 cores; the whole study about 10 h) or rerun this notebook with "
            "`-p train_missing True`"
        )
    elif plan.train_command:
        how = (
            f"train them with `{plan.train_command}` (in the background: each run resumes "
            "from its checkpoint; commit each result as it lands)"
        )
    else:
        how = (
            "these parameters differ from the committed study's, so rerun this notebook with "
            "`-p train_missing True` to train them"
        )
    if not data_available(plan.dataset):
        how += f"; training needs the data set {plan.dataset!r}" + (
            f" at {shared_data('cifar10-jpeg.tar.gz')}"
            if plan.dataset == "cifar10-jpeg"
            else " (mnv2lab.data.load_dataset(..., download=True) fetches CIFAR pickles)"
        )
    return (
        f"{len(missing)} of {len(plan.runs)} runs have no result in {_shown(plan.results)} "
        f"yet ({names}): {how}."
    )


def _shown(folder: Path) -> str:
    """A results folder as the reader knows it: relative to the repository when inside it."""
    folder = Path(folder)
    return (
        str(folder.relative_to(repo_root())) if folder.is_relative_to(repo_root()) else str(folder)
    )
