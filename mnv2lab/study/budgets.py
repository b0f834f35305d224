"""The study's long budget: a recipe chosen on a validation split, and the runs that use it.

The committed 5-epoch study (:mod:`.definition`, ``results/cifar10_ablation/``) measures how fast
each architecture fits in 1,950 SGD steps: its models end underfit (train loss = test loss). The
long budget measures what they reach:

1. **Recipe search** (``python -m mnv2lab.study recipe``): the paper's model only (MobileNetV2
   0.5, linear bottleneck, seed 0), trained on 45,000 training images and evaluated on the other
   5,000 (``TrainConfig.validation_images``; the test set is never loaded), for
   :data:`SEARCH_EPOCHS` epochs, once per candidate of :data:`CANDIDATES`. The candidates and the
   rule (:func:`choose`) were fixed before any of these runs existed; results go to
   ``results/cifar10_recipe/``.
2. **Long runs** (``python -m mnv2lab.study run --budget long``): the chosen recipe, derived from
   the committed search results (never typed in), :data:`LONG_EPOCHS` epochs on all 50,000
   images, the same for every variant: the paper's model, ReLU6 bottleneck, shortcut between
   expansions, no residual (width 0.5), and MobileNetV1 0.4 (matched multiply-adds) with the
   same dropout as V2; :data:`LONG_SEEDS` paired seeds. Results go to ``results/cifar10_long/``.
3. **More seeds where a gap stays unresolved** (:func:`seeds_to_add`, fixed before the long runs
   existed): once both sides of a comparison of :data:`LONG_COMPARISONS` have the three seeds,
   a paired gap whose 95% interval spans zero with a mean of :data:`MORE_SEEDS_GAP` points or
   more gets one more seed on both sides, then is read again, up to :data:`MAX_SEEDS` seeds.
   The added runs are part of the long study (``define_long_study``), so the runner trains them
   and the verdicts wait for them.

Execution mode (part of each run's key, see ``TrainConfig``): on CPU 2 DDP ranks x 1 thread
(about 2x one 2-thread process on a 2-core machine: ``benchmarks/train_throughput.py``); each rank's
BatchNorm normalizes its own 64 of the 128 images of a step (no SyncBatchNorm), and rank 0's
running statistics are used for evaluation and saved. On a CUDA device: 1 process on the GPU,
channels_last, fp16 mixed precision with loss scaling (its runs are a separate set of keys: a GPU's
numbers are not a CPU's).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from ..params import ParameterError
from ..paths import resolve
from ..stats import paired_difference
from ..train import TrainConfig, load_intact
from .plan import plan_of
from .definition import (
    BATCH_SIZE,
    DATASET,
    MAIN_WIDTH,
    PAPER_VARIANT,
    StudyRun,
    check_seeds,
    run_name,
    v2_kwargs,
)

LONG_COMMAND = ".venv/bin/python -m mnv2lab.study run --budget long"
RECIPE_STUDY = "cifar10_recipe"  # results/<RECIPE_STUDY>/: the validation runs
LONG_STUDY = "cifar10_long"  # results/<LONG_STUDY>/: the long-budget runs
VALIDATION_IMAGES = 5_000  # carved from the 50,000 training images (stratified)
SEARCH_EPOCHS = 10
SEARCH_SEED = 0
LONG_EPOCHS = 30  # the cap is ~40; 30 fits the machine's budget
LONG_SEEDS: tuple[int, ...] = (0, 1, 2)  # up to 5 where a gap stays unresolved
LONG_EVAL_EVERY = 2.0  # epochs between test evaluations (plus step 0)
SNAPSHOT_EPOCHS = [1, 2, 5, 10, 20, 30]  # weights kept for Figure 7 along training
FIT_CHECK_IMAGES = 5_000  # training images evaluated like the test set at every evaluation
V1_WIDTH = 0.4  # matched to V2 0.5 (29.2M vs 28.0M MAdds at 32x32)
V1_DROPOUT = 0.2  # the same dropout as MobileNetV2's classifier
LONG_VARIANTS = ("linear", "relu6", "no_residual", "expansion_shortcut")
# The comparisons the long budget answers (reference variant, other variant; "v1" is MobileNetV1
# 0.4), with the rule for adding seeds; notebooks 03, 04 and 06 read the same pairs.
LONG_COMPARISONS: dict[str, tuple[str, str]] = {
    "linear - ReLU6": ("linear", "relu6"),
    "bottleneck - expansion shortcut": ("linear", "expansion_shortcut"),
    "bottleneck shortcut - no residual": ("linear", "no_residual"),
    "V2 0.5 - V1 0.4": ("linear", "v1"),
}
TARGET_ACCURACY = 0.88  # the paper's model on CIFAR-10 test after the long budget (issue 13)
MORE_SEEDS_GAP = 1.0  # points: an unresolved gap at least this large earns another seed
MAX_SEEDS = 5

# Decided before any search run existed: (weight decay, label smoothing); lr 0.1, batch 128,
# SGD with Nesterov momentum 0.9 and a cosine schedule are fixed (no compute for a wider grid).
CANDIDATES: dict[str, dict[str, float]] = {
    "A_wd5e-4": {"weight_decay": 5e-4, "label_smoothing": 0.0},
    "B_wd4e-5_paper": {"weight_decay": 4e-5, "label_smoothing": 0.0},
    "C_wd5e-4_ls0.1": {"weight_decay": 5e-4, "label_smoothing": 0.1},
}
CHOICE_RULE = (
    "the candidate with the highest final validation accuracy; within 0.3 points of "
    "the best, the earlier one in CANDIDATES' order"
)
TIE_POINTS = 0.3


def common_fields(device: str = "cpu") -> dict[str, Any]:
    """The TrainConfig fields shared by the search and the long runs, for ``device``."""
    fields: dict[str, Any] = {
        "dataset": DATASET,
        "batch_size": BATCH_SIZE,
        "optimizer": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": True,
        "schedule": "cosine",
        "warmup_epochs": 0.0,
        "augment": True,
        "crop_padding": 4,
        "eval_at_start": True,
        "channels_last": True,
    }
    if device == "cpu":
        fields.update(device="cpu", ranks=2, threads=1)
    elif device == "cuda":  # fp16 autocast with loss scaling: fast on every CUDA GPU
        fields.update(device="cuda", ranks=1, precision="fp16")
    else:
        raise ParameterError(f"parameter 'device': got {device!r}; allowed: 'cpu', 'cuda'")
    return fields


def search_runs(device: str = "cpu") -> list[StudyRun]:
    """One validation run per candidate recipe (the paper's model, seed 0)."""
    runs = []
    for name, recipe in CANDIDATES.items():
        cfg = TrainConfig(
            model="mobilenet_v2",
            model_kwargs=v2_kwargs(PAPER_VARIANT, MAIN_WIDTH),
            seed=SEARCH_SEED,
            epochs=SEARCH_EPOCHS,
            eval_every_epochs=1.0,
            validation_images=VALIDATION_IMAGES,
            study=RECIPE_STUDY,
            **common_fields(device),
            **recipe,
        )
        runs.append(
            StudyRun(
                f"recipe-{name}",
                "mobilenet_v2",
                PAPER_VARIANT,
                MAIN_WIDTH,
                SEARCH_SEED,
                cfg,
                ("recipe",),
            )
        )
    return runs


def choose(validation_accuracy: Mapping[str, float]) -> str:
    """The chosen candidate by :data:`CHOICE_RULE`; every candidate must have a result."""
    missing = [c for c in CANDIDATES if c not in validation_accuracy]
    if missing:
        raise ParameterError(
            f"recipe search incomplete: no validation result for {missing}; run "
            "`python -m mnv2lab.study recipe`"
        )
    best = max(validation_accuracy[c] for c in CANDIDATES)
    return next(c for c in CANDIDATES if validation_accuracy[c] >= best - TIE_POINTS / 100)


def long_runs(
    recipe: Mapping[str, float], *, seeds: Sequence[int] = LONG_SEEDS, device: str = "cpu"
) -> list[StudyRun]:
    """The long-budget runs with ``recipe`` (a CANDIDATES value), seed by seed: the four Figure 6
    variants at width 0.5, then MobileNetV1 0.4."""
    check_seeds(seeds)
    fields = {
        **common_fields(device),
        **recipe,
        "epochs": LONG_EPOCHS,
        "eval_every_epochs": LONG_EVAL_EVERY,
        "study": LONG_STUDY,
        "snapshot_epochs": list(SNAPSHOT_EPOCHS),
        "fit_check_images": FIT_CHECK_IMAGES,
    }
    uses = {
        "linear": ("fig6a", "fig6b", "v1_vs_v2"),
        "relu6": ("fig6a",),
        "no_residual": ("fig6b",),
        "expansion_shortcut": ("fig6b",),
    }
    runs = []
    for seed in seeds:
        for variant in LONG_VARIANTS:
            cfg = TrainConfig(
                model="mobilenet_v2",
                model_kwargs=v2_kwargs(variant, MAIN_WIDTH),
                seed=seed,
                **fields,
            )
            runs.append(
                StudyRun(
                    run_name("mobilenet_v2", variant, MAIN_WIDTH, seed),
                    "mobilenet_v2",
                    variant,
                    MAIN_WIDTH,
                    seed,
                    cfg,
                    uses[variant],
                )
            )
        v1 = TrainConfig(
            model="mobilenet_v1",
            seed=seed,
            model_kwargs={"width_mult": V1_WIDTH, "small_input": True, "dropout": V1_DROPOUT},
            **fields,
        )
        runs.append(
            StudyRun(
                run_name("mobilenet_v1", "v1", V1_WIDTH, seed),
                "mobilenet_v1",
                "v1",
                V1_WIDTH,
                seed,
                v1,
                ("v1_vs_v2",),
            )
        )
    return runs


def search_accuracies(device: str = "cpu", results: str | None = None) -> dict[str, float]:
    """Final validation accuracy of every candidate whose search run is stored (intact)."""
    out = {}
    for run in search_runs(device):
        res = load_intact(run.config, results)
        if res is not None:
            if res.final.get("evaluated_on") != "validation":
                raise ParameterError(
                    f"search run {run.name} was not evaluated on the validation"
                    " split; its result cannot choose a recipe"
                )
            out[run.name.removeprefix("recipe-")] = float(res.final["test_acc"])
    return out


def recipe_table(device: str = "cpu", results: str | None = None) -> list[dict[str, Any]]:
    """One row per candidate: its recipe, final validation accuracy (None until its run exists)
    and whether the rule chose it (only once the search is complete): for the notebooks."""
    accuracies = search_accuracies(device, results)
    chosen = choose(accuracies) if len(accuracies) == len(CANDIDATES) else None
    return [
        {
            "candidate": name,
            **recipe,
            "epochs": SEARCH_EPOCHS,
            "validation_acc": None if name not in accuracies else round(100 * accuracies[name], 2),
            "chosen": name == chosen,
        }
        for name, recipe in CANDIDATES.items()
    ]


def chosen_recipe(device: str = "cpu", results: str | None = None) -> tuple[str, dict[str, float]]:
    """(candidate name, its TrainConfig fields), chosen by :func:`choose` from the committed
    search results; raises ParameterError naming what is missing if the search is incomplete."""
    name = choose(search_accuracies(device, results))
    return name, dict(CANDIDATES[name])


def seeds_to_add(accuracy: Mapping[str, Mapping[int, float]]) -> dict[str, set[int]]:
    """variant -> the seeds it still needs by the more-seeds rule (module docstring, step 3).

    ``accuracy[variant][seed]``: final test accuracy (a fraction) of every long run stored so far.
    A comparison is read once both its sides have every seed of :data:`LONG_SEEDS`; if its paired
    gap's 95% interval spans zero and ``|mean| >= MORE_SEEDS_GAP`` points, both sides get the
    smallest seed they do not share yet (one at a time: the gap is read again after it)."""
    wanted: dict[str, set[int]] = {}
    for ref, var in LONG_COMPARISONS.values():
        a, b = accuracy.get(ref, {}), accuracy.get(var, {})
        shared = sorted(set(a) & set(b))
        if not set(LONG_SEEDS) <= set(shared) or len(shared) >= MAX_SEEDS:
            continue
        gap = paired_difference([100 * a[s] for s in shared], [100 * b[s] for s in shared])
        if gap.low <= 0.0 <= gap.high and abs(gap.mean) >= MORE_SEEDS_GAP:
            seed = min(set(range(MAX_SEEDS)) - set(shared))
            for side in (ref, var):
                if seed not in accuracy.get(side, {}):
                    wanted.setdefault(side, set()).add(seed)
    return wanted


def long_accuracies(
    recipe: Mapping[str, float], *, device: str = "cpu", results: str | os.PathLike | None = None
) -> dict[str, dict[int, float]]:
    """variant -> seed -> final test accuracy of the stored (intact) long runs with ``recipe``,
    seeds up to :data:`MAX_SEEDS`; ``results``: their folder (default ``results/cifar10_long``)."""
    out: dict[str, dict[int, float]] = {}
    for run in long_runs(recipe, seeds=list(range(MAX_SEEDS)), device=device):
        res = load_intact(run.config, results)
        if res is not None:
            out.setdefault(run.variant, {})[run.seed] = float(res.final["test_acc"])
    return out


def define_long_study(
    *,
    seeds: Sequence[int] = LONG_SEEDS,
    device: str = "cpu",
    results: str | None = None,
    long_results: str | os.PathLike | None = None,
) -> list[StudyRun]:
    """The long-budget runs with the recipe the committed search chose (``results``: the search's
    folder), plus, with the default seeds, the runs the more-seeds rule asks for given the long
    results stored so far (``long_results``: their folder)."""
    recipe = chosen_recipe(device, results)[1]
    runs = long_runs(recipe, seeds=seeds, device=device)
    if tuple(seeds) != LONG_SEEDS:
        return runs
    wanted = seeds_to_add(long_accuracies(recipe, device=device, results=long_results))
    for seed in sorted(set().union(*wanted.values())):
        runs += [
            r
            for r in long_runs(recipe, seeds=[seed], device=device)
            if seed in wanted.get(r.variant, ())
        ]
    return runs


def budget_label(plan) -> str:
    """ "CIFAR-10, 30 epochs" (or the smoke data set's name): how every trained claim names its
    data set and budget."""
    name = "CIFAR-10" if plan.dataset.startswith("cifar10") else plan.dataset
    return f"{name}, {plan.epochs} epoch{'s' if plan.epochs != 1 else ''}"


def long_plan(params: Mapping[str, Any], uses: Sequence[str], *, short_plan=None):
    """The long-budget runs behind ``uses`` ("fig6a", "fig6b", "v1_vs_v2") as a StudyPlan, or None
    when the long budget is not defined yet (its recipe search is incomplete). Never trains
    (30-epoch runs are the runner's job). ``smoke``: tiny digits runs like the short smoke plan,
    one epoch longer, trained into a temporary folder (``short_plan``: the smoke plan to mirror)."""
    wanted = set(uses)
    if params.get("smoke"):
        if short_plan is None:
            raise ParameterError("long_plan: smoke needs the short smoke plan to mirror")
        runs = []
        for r in short_plan.runs:
            if wanted & set(r.uses):
                cfg = TrainConfig.from_dict(
                    {**r.config.to_dict(), "epochs": r.config.epochs + 1, "study": LONG_STUDY}
                )
                runs.append(StudyRun(r.name, r.model, r.variant, r.width, r.seed, cfg, r.uses))
        folder = short_plan.results.parent / LONG_STUDY
        return (
            plan_of(runs, folder, train_missing=short_plan.train_missing, smoke=True)
            if runs
            else None
        )
    root = resolve(params.get("results_dir", "results"))
    try:
        runs = define_long_study(results=str(root / RECIPE_STUDY), long_results=root / LONG_STUDY)
    except ParameterError:
        return None
    runs = [r for r in runs if wanted & set(r.uses)]
    return (
        plan_of(runs, root / LONG_STUDY, train_missing=False, train_command=LONG_COMMAND)
        if runs
        else None
    )


def long_status(plan, results) -> str:
    """One paragraph: where the long budget stands for this notebook's comparisons."""
    if plan is None:
        done = search_accuracies()
        return (
            f"Long budget ({LONG_EPOCHS} epochs): not defined yet: its recipe search has "
            f"{len(done)} of {len(CANDIDATES)} validation runs (`python -m mnv2lab.study "
            f"recipe`). Every verdict below is from the short budget and says so."
        )
    n, total = (results.n_done if results is not None else 0), len(plan.runs)
    where = (
        "every verdict below is from it"
        if n == total
        else "verdicts below stay with the short budget until all its runs exist"
    )
    return f"Long budget ({budget_label(plan)}): {n} of {total} runs have results; {where}."


def verdict_source(short, long):
    """The results verdicts are taken from: the long budget once every run of its plan exists,
    else the short budget (each verdict names the budget it rests on)."""
    if long is not None and long.plan.runs and long.n_done == len(long.plan.runs):
        return long
    return short


def budget_labels(short_plan, long_plan) -> list[str]:
    """The x axis of a gap-against-budget figure: both budgets, even before the long one exists."""
    name = budget_label(short_plan).split(",")[0]
    return [
        budget_label(short_plan),
        budget_label(long_plan) if long_plan is not None else f"{name}, {LONG_EPOCHS} epochs",
    ]


RANKS_CHECK_STUDY = "cifar10_ranks_check"


def ranks_check_run() -> StudyRun:
    """The check of the study's multi-rank mode: the committed 5-epoch recipe and paper's model
    (width 0.5, seed 0), trained as 2 DDP ranks x 1 thread instead of one 2-thread process. Its
    final accuracy should land inside the spread of the committed one-process seeds."""
    from .definition import define_study

    run = next(
        r for r in define_study(seeds=[0]) if r.variant == PAPER_VARIANT and r.width == MAIN_WIDTH
    )
    cfg = TrainConfig.from_dict(
        {**run.config.to_dict(), "ranks": 2, "threads": 1, "study": RANKS_CHECK_STUDY}
    )
    return StudyRun("ranks-check-" + run.name, run.model, run.variant, run.width, 0, cfg, ())
