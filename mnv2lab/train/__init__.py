"""Training engine: a fast, deterministic, resumable trainer with a result cache.

    from mnv2lab.train import TrainConfig, run_or_load
    cfg = TrainConfig(model="mobilenet_v2", model_kwargs={"width_mult": 0.5, "small_input": True},
                      dataset="cifar10-jpeg", epochs=30, study="bottleneck_ablation", seed=1)
    res = run_or_load(cfg)            # trains once; later calls read results/<study>/<key>.json
    res.history, res.final["test_acc"], res.load_model()

Scale-out: ``torchrun --nproc_per_node=2 -m mnv2lab.train --config cfg.json``.

Threads: ``OMP_WAIT_POLICY=PASSIVE`` is set when ``mnv2lab`` is imported (see
:mod:`mnv2lab`), before torch loads.
"""

from .checkpoint import CheckpointWarning, run_dir
from .config import TrainConfig
from .engine import RunResult, TrainingInterrupted, evaluate, resolve_device, train
from .models import TinyCNN, build
from .optim import RMSpropTF
from .results import (
    ResultCacheWarning,
    load_intact,
    load_result,
    result_path,
    run_or_load,
    same_history,
    weights_available,
)
from .schedule import lr_at

__all__ = [
    "TrainConfig",
    "train",
    "run_or_load",
    "RunResult",
    "TrainingInterrupted",
    "load_result",
    "load_intact",
    "weights_available",
    "result_path",
    "same_history",
    "lr_at",
    "run_dir",
    "evaluate",
    "resolve_device",
    "build",
    "TinyCNN",
    "RMSpropTF",
    "CheckpointWarning",
    "ResultCacheWarning",
]
