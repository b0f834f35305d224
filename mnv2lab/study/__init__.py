"""The CIFAR-10 study behind notebooks 03-06: its runs as data, the plans the notebooks make of
them, loading (or training) their results, and the runner.

    from mnv2lab import study
    runs = study.define_study()                     # every run, in training order
    plan = study.make_plan(nb.params, "fig6a")      # the runs one notebook needs
    results = study.collect(plan)                   # intact results; missing ones listed

    python -m mnv2lab.study status|run|time|activations   (see mnv2lab/study/__main__.py)

Modules, one job each: :mod:`.definition` (the study as data: variants, recipe, runs),
:mod:`.timing` (measured seconds per epoch, estimates), :mod:`.plan` (notebook parameters ->
runs), :mod:`.collect` (load / mark missing / train), :mod:`.runner` (status, training the
missing runs, after-run hooks), :mod:`.replay` (re-running a committed run's first steps).
"""

from .collect import (
    STATUSES,
    StudyResults,
    collect,
    data_available,
    is_done,
    missing_message,
    obtain,
    result_file,
    stored,
)
from .definition import (
    BATCH_SIZE,
    DATASET,
    EPOCHS,
    MAIN_WIDTH,
    PAPER_VARIANT,
    RECIPE_TEXT,
    SEEDS,
    STUDY,
    V1_MATCHED_WIDTHS,
    VARIANT_LABELS,
    VARIANTS,
    WIDTHS,
    StudyRun,
    define_study,
    make_config,
    recipe,
    recipe_text,
    run_name,
    select,
    v1_kwargs,
    v1_vs_v2_configs,
    v2_kwargs,
)
from .plan import DATASETS, SMOKE, SPEC_STUDY, StudyPlan, make_plan, plan_of
from .replay import committed_runs, produced_here, replay_first_interval
from .runner import AFTER_RUN_HOOKS, register_after_run, run_study, status_lines
from .timing import (
    SECONDS_PER_EPOCH,
    SECONDS_PER_EVAL,
    TIMING_NOTE,
    estimate_seconds,
    first_steps_history,
    measure_epoch_seconds,
)

__all__ = [
    "STATUSES",
    "StudyResults",
    "collect",
    "data_available",
    "is_done",
    "missing_message",
    "obtain",
    "result_file",
    "stored",
    "BATCH_SIZE",
    "DATASET",
    "EPOCHS",
    "MAIN_WIDTH",
    "PAPER_VARIANT",
    "RECIPE_TEXT",
    "SEEDS",
    "STUDY",
    "V1_MATCHED_WIDTHS",
    "VARIANT_LABELS",
    "VARIANTS",
    "WIDTHS",
    "StudyRun",
    "define_study",
    "make_config",
    "recipe",
    "recipe_text",
    "run_name",
    "select",
    "v1_kwargs",
    "v1_vs_v2_configs",
    "v2_kwargs",
    "DATASETS",
    "SMOKE",
    "SPEC_STUDY",
    "StudyPlan",
    "make_plan",
    "plan_of",
    "committed_runs",
    "produced_here",
    "replay_first_interval",
    "AFTER_RUN_HOOKS",
    "register_after_run",
    "run_study",
    "status_lines",
    "SECONDS_PER_EPOCH",
    "SECONDS_PER_EVAL",
    "TIMING_NOTE",
    "estimate_seconds",
    "first_steps_history",
    "measure_epoch_seconds",
]
