"""The study's runs on another data set and recipe: the same variants, widths and seeds as the
CIFAR-10 study (:func:`~mnv2lab.study.define_study`), e.g. ImageNet with the paper's recipe on
many GPUs:

    torchrun --nnodes 2 --nproc-per-node 8 ... -m mnv2lab.study run \\
        --dataset folder:/data/imagenet --recipe paper

Under ``torchrun`` every rank runs the same list of runs; each run uses all ranks (the recipe is
scaled to ``WORLD_SIZE`` GPUs, which is part of each run's key), and rank 0 writes the results to
``results/<study>/`` as for the CIFAR runs.
"""

from __future__ import annotations

import os
import re
from typing import Any, Sequence

from ..params import ParameterError
from ..train import TrainConfig
from ..train.recipes import recipe as named_recipe
from .definition import DATASET, SEEDS, STUDY, StudyRun, define_study

RECIPES = ("cifar", "paper")  # "cifar": the CIFAR-10 study's own recipe (definition.recipe)
IMAGE_SIZE = 224  # folders are read at 224x224 (the paper's resolution)


def study_name(dataset: str, recipe: str) -> str:
    """``results/<name>/`` of a study: the CIFAR study's own name for its data set and recipe,
    else ``<data set folder name>_<recipe>`` (e.g. ``imagenet_paper``)."""
    if dataset == DATASET and recipe == "cifar":
        return STUDY
    base = dataset.rstrip("/").rsplit("/", 1)[-1].split(":")[-1] or "data"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{base}_{recipe}")


def define_scaled_study(
    dataset: str = DATASET,
    recipe: str = "cifar",
    *,
    image_size: int | None = None,
    study: str | None = None,
    epochs: int | None = None,
    world_size: int | None = None,
    seeds: Sequence[int] = SEEDS,
    **execution: Any,
) -> list[StudyRun]:
    """The study's runs on ``dataset`` with ``recipe``.

    ``recipe="paper"``: :func:`mnv2lab.train.recipes.paper_recipe` for ``world_size`` GPUs
    (default ``WORLD_SIZE`` of the torchrun job, else 1) and models for 224x224 inputs
    (``small_input=False``); a ``folder:`` data set is read at ``image_size`` (default 224),
    streamed when it is too big to hold (``data_pipeline="auto"``). ``recipe="cifar"``: the
    CIFAR-10 study's recipe and models (32x32 inputs). ``execution``: further TrainConfig
    fields, e.g. ``precision="bf16"``, ``sync_batchnorm=True`` (left out when at their defaults,
    so that the default study keeps its keys)."""
    if recipe not in RECIPES:
        raise ParameterError(f"recipe: got {recipe!r}; allowed: {', '.join(RECIPES)}")
    world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
    kwargs: dict[str, Any] = {
        "dataset": dataset,
        "seeds": seeds,
        "study": study or study_name(dataset, recipe),
    }
    if dataset.startswith("folder:"):
        kwargs["dataset_kwargs"] = {"image_size": image_size or IMAGE_SIZE}
    elif image_size is not None:
        kwargs["dataset_kwargs"] = {"image_size": image_size}
    if recipe == "paper":
        fields = named_recipe("paper", gpus=world, **({"epochs": epochs} if epochs else {}))
        kwargs.update(small_input=False, epochs=fields.pop("epochs"), **fields)
    else:
        if epochs:
            kwargs["epochs"] = epochs
        if world > 1:
            kwargs["ranks"] = world
    kwargs.update(
        {k: v for k, v in execution.items() if v != TrainConfig.__dataclass_fields__[k].default}
    )
    return define_study(**kwargs)
