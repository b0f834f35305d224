"""The CIFAR-10 study as data: every training run of the ablations (Fig. 6a, 6b), the width sweep
and the trained MobileNetV1-vs-V2 comparison, with one recipe for all of them.

Every run is a :class:`~mnv2lab.train.TrainConfig`; its result lands in the trainer's cache,
``results/<STUDY>/<key>.json`` (config, history, provenance, SHA-256). The same seeds are used for
every variant, so that differences between variants are paired (seed ``s`` of the paper's model
against seed ``s`` of a variant).

Variants (MobileNetV2, ``small_input=True``, t = 6):

* ``linear``: linear bottleneck, shortcut between bottlenecks: the paper's model, shared by
  Figure 6a and 6b as in the paper;
* ``relu6``: ReLU6 after the projection (Fig. 6a);
* ``expansion_shortcut``: shortcuts between the expanded tensors (Fig. 6b);
* ``no_residual``: no shortcuts at all (Fig. 6b);
* beyond the paper: ``linear`` and ``relu6`` at every width of :data:`WIDTHS`;
* issue 6's trained comparison: MobileNetV1 at widths whose multiply-adds at 32x32 match
  MobileNetV2's (the V2 side reuses the ``linear`` runs).

The recipe (:func:`recipe`) and the reasons it differs from the paper's are in :data:`RECIPE_TEXT`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..params import ParameterError
from ..train import TrainConfig

STUDY = "cifar10_ablation"  # results/<STUDY>/<key>.json
DATASET = "cifar10-jpeg"
SEEDS: tuple[int, ...] = (0, 1, 2)
MAIN_WIDTH = 0.5  # the width of the Fig. 6 ablations
WIDTHS: tuple[float, ...] = (0.25, 0.35, 0.5)  # linear vs ReLU6 width sweep (beyond the paper)
EPOCHS = 5  # chosen from the measured speed: see timing.TIMING_NOTE
BATCH_SIZE = 128

# MobileNetV2 variants: name -> the model switches that make it (Fig. 6).
VARIANTS: dict[str, dict[str, str]] = {
    "linear": {"bottleneck": "linear", "shortcut": "bottleneck"},
    "relu6": {"bottleneck": "relu6", "shortcut": "bottleneck"},
    "expansion_shortcut": {"bottleneck": "linear", "shortcut": "expansion"},
    "no_residual": {"bottleneck": "linear", "shortcut": "none"},
}
PAPER_VARIANT = "linear"
VARIANT_LABELS = {
    "linear": "linear bottleneck, shortcut between bottlenecks (paper)",
    "relu6": "ReLU6 in the bottleneck",
    "expansion_shortcut": "shortcut between expansions",
    "no_residual": "no residual",
}
# MobileNetV1 width whose multiply-adds at 32x32 (small_input) match a MobileNetV2 width:
# V2 0.35 = 15.6M vs V1 0.3 = 16.8M; V2 0.5 = 28.0M vs V1 0.4 = 29.2M (mnv2lab.costs.count_madds).
V1_MATCHED_WIDTHS: dict[float, float] = {0.35: 0.3, 0.5: 0.4}


def recipe(epochs: int = EPOCHS, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """The one training recipe every run of the study uses (TrainConfig fields)."""
    return {
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 4e-5,  # the paper's
        "schedule": "cosine",
        "warmup_epochs": 0.0,
        "label_smoothing": 0.0,
        "augment": True,
        "crop_padding": 4,
        "eval_every_epochs": 0.5,
        "eval_at_start": True,
        "channels_last": True,
        "device": "auto",
    }


RECIPE_TEXT = """\
| | paper (Section 6.1, ImageNet) | this study (CIFAR-10 JPEG, 2 CPU cores) |
|---|---|---|
| data | ImageNet, 224x224 | CIFAR-10 (JPEG re-encoded), 32x32, 50,000 train / 10,000 test |
| model | MobileNetV2, total stride 32 | MobileNetV2 with `small_input=True`: stem and first stride-2 stage at stride 1 (total stride 8, 32x32 ends at 4x4) |
| optimizer | RMSProp, decay 0.9, momentum 0.9 | SGD, Nesterov momentum 0.9 |
| learning rate | 0.045, x0.98 per epoch | 0.1, cosine to 0 over the run, no warm-up |
| batch | 96 per worker, 16 asynchronous GPU workers | 128, one synchronous worker |
| weight decay | 4e-5 | 4e-5 (conv/linear weights only) |
| augmentation | Inception-style crops | random 32x32 crop of the 4-pixel-padded image, horizontal flip |
| length | several hundred epochs (Fig. 6 x-axis: millions of steps) | {epochs} epochs ({steps} steps of 128 images), test accuracy every half epoch |
| runs | one per variant | {n_seeds} seeds per variant, the same seeds for every variant |

Why ours differs: the whole study (30 runs, this issue's and the V1-vs-V2 comparison's) must fit
about 10 hours of a shared 2-core CPU, each run under about 30 minutes; at the measured speed (see
`mnv2lab.study.TIMING_NOTE`) that is {epochs} epochs a run. Width 1.0 (about 8 minutes an epoch
here) would not fit, so the width sweep is 0.25 / 0.35 / 0.5 with the ablations at 0.5. RMSProp with
a decay of 0.98 per epoch is a schedule for hundreds of epochs; for a run of {epochs} epochs we use
the common short-schedule CIFAR recipe (SGD, Nesterov, cosine) without tuning it (no compute for a
search), the same for every variant. CIFAR's 32x32 images need the smaller total stride. Everything
else (architecture, BatchNorm after every layer, weight decay, dropout 0.2 before the classifier)
is the paper's."""  # noqa: E501 (Markdown table rows)


def recipe_text(
    epochs: int = EPOCHS,
    n_seeds: int = len(SEEDS),
    train_images: int = 50_000,
    batch_size: int = BATCH_SIZE,
) -> str:
    """The recipe table (paper vs ours) and the reasons, as markdown, for the notebooks."""
    steps = epochs * (train_images // batch_size)
    return RECIPE_TEXT.format(epochs=epochs, steps=f"{steps:,}", n_seeds=n_seeds)


@dataclass(frozen=True)
class StudyRun:
    """One training run of the study: its name, what it belongs to, and its TrainConfig."""

    name: str  # e.g. "v2-linear-w0.5-seed0"
    model: str  # "mobilenet_v2" or "mobilenet_v1"
    variant: str  # a VARIANTS key, or "v1"
    width: float
    seed: int
    config: TrainConfig = field(compare=False)
    uses: tuple[str, ...] = ()  # "fig6a", "fig6b", "width_sweep", "v1_vs_v2"

    @property
    def key(self) -> str:
        return self.config.key()


def make_config(
    model: str,
    model_kwargs: dict,
    seed: int,
    *,
    dataset: str = DATASET,
    epochs: int = EPOCHS,
    study: str = STUDY,
    dataset_kwargs: dict | None = None,
    batch_size: int = BATCH_SIZE,
    **overrides: Any,
) -> TrainConfig:
    """A TrainConfig of the study: the common recipe, this model and seed."""
    fields = {**recipe(epochs, batch_size), **overrides}
    return TrainConfig(
        model=model,
        model_kwargs=dict(model_kwargs),
        dataset=dataset,
        dataset_kwargs=dict(dataset_kwargs or {}),
        seed=seed,
        study=study,
        **fields,
    )


def v2_kwargs(variant: str, width: float, small_input: bool = True) -> dict:
    if variant not in VARIANTS:
        raise ParameterError(f"variant: got {variant!r}; allowed: {list(VARIANTS)}")
    return {"width_mult": float(width), "small_input": small_input, **VARIANTS[variant]}


def v1_kwargs(width: float, small_input: bool = True) -> dict:
    return {"width_mult": float(width), "small_input": small_input}


def run_name(model: str, variant: str, width: float, seed: int) -> str:
    prefix = "v2-" + variant if model == "mobilenet_v2" else "v1"
    return f"{prefix}-w{width:g}-seed{seed}"


def define_study(
    *,
    seeds: Sequence[int] = SEEDS,
    main_width: float = MAIN_WIDTH,
    widths: Sequence[float] = WIDTHS,
    epochs: int = EPOCHS,
    dataset: str = DATASET,
    study: str = STUDY,
    include_v1: bool = True,
    v1_widths: dict[float, float] | None = None,
    dataset_kwargs: dict | None = None,
    small_input: bool = True,
    **overrides: Any,
) -> list[StudyRun]:
    """Every run of the study, in the order to train them: seed by seed (seed 0 of every variant
    first, so that a first complete picture lands early), and within a seed the Fig. 6 variants at
    the main width, then the width sweep, then MobileNetV1. A run needed by several figures (the
    paper's model) appears once, with all its uses. ``small_input=False`` builds the models for
    224x224 inputs (total stride 32; :mod:`mnv2lab.study.scale`)."""
    _check_study_args(seeds, main_width, widths, epochs)
    v1_widths = V1_MATCHED_WIDTHS if v1_widths is None else v1_widths
    runs: list[StudyRun] = []
    for seed in seeds:
        planned: dict[tuple, set[str]] = {}

        def add(model, variant, width, use):
            planned.setdefault((model, variant, float(width)), set()).add(use)  # noqa: B023 (called in this loop)

        add("mobilenet_v2", "linear", main_width, "fig6a")
        add("mobilenet_v2", "linear", main_width, "fig6b")
        add("mobilenet_v2", "relu6", main_width, "fig6a")
        add("mobilenet_v2", "no_residual", main_width, "fig6b")
        add("mobilenet_v2", "expansion_shortcut", main_width, "fig6b")
        for w in sorted(widths, key=lambda w: (w == main_width, w)):
            add("mobilenet_v2", "linear", w, "width_sweep")
            add("mobilenet_v2", "relu6", w, "width_sweep")
        if include_v1:
            for v2_width, v1_width in sorted(v1_widths.items()):
                add("mobilenet_v2", "linear", v2_width, "v1_vs_v2")
                add("mobilenet_v1", "v1", v1_width, "v1_vs_v2")
        for (model, variant, width), uses in planned.items():
            kwargs = (
                v2_kwargs(variant, width, small_input)
                if model == "mobilenet_v2"
                else v1_kwargs(width, small_input)
            )
            cfg = make_config(
                model,
                kwargs,
                seed,
                dataset=dataset,
                epochs=epochs,
                study=study,
                dataset_kwargs=dataset_kwargs,
                **overrides,
            )
            runs.append(
                StudyRun(
                    run_name(model, variant, width, seed),
                    model,
                    variant,
                    float(width),
                    seed,
                    cfg,
                    tuple(sorted(uses)),
                )
            )
    return runs


def check_seeds(seeds: Sequence[int]) -> None:
    """Refuse seeds that are not distinct non-negative integers (at least one), naming them."""
    if (
        not seeds
        or len(set(seeds)) != len(seeds)
        or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds)
    ):
        raise ParameterError(
            f"parameter 'seeds': got {list(seeds)!r}; allowed: distinct "
            "non-negative integers, at least one"
        )


def _check_study_args(seeds, main_width, widths, epochs) -> None:
    check_seeds(seeds)
    for w in [main_width, *widths]:
        if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 < w <= 4:
            raise ParameterError(f"parameter 'widths': got {w!r}; allowed: numbers in (0, 4]")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ParameterError(f"parameter 'epochs': got {epochs!r}; allowed: an integer >= 1")


def v1_vs_v2_configs(**kwargs: Any) -> list[TrainConfig]:
    """The trained V1-vs-V2 comparison of issue 6 (MobileNetV1 and V2 at matched multiply-adds,
    3 seeds, the study's recipe); the V2 runs are the ablation's ``linear`` runs."""
    return [r.config for r in define_study(**kwargs) if "v1_vs_v2" in r.uses]


def select(runs: Iterable[StudyRun], pattern: str | None) -> list[StudyRun]:
    """Runs whose name matches a shell pattern (``*`` implied around it), e.g. ``seed0``,
    ``relu6-w0.35``, ``v1``; or whose uses include the pattern (``fig6b``)."""
    runs = list(runs)
    if not pattern:
        return runs
    glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
    return [r for r in runs if fnmatch.fnmatch(r.name, glob) or pattern in r.uses]
