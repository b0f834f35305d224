"""The training configuration: one dataclass, validated before any work, hashed into a cache key."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..data.stream import PIPELINES
from ..params import Param, ParameterError, check

# Bump when a change to the trainer changes its numbers: cached results then no longer match.
TRAINER_VERSION = 1

OPTIMIZERS = ("sgd", "rmsprop")
SCHEDULES = ("constant", "cosine", "step", "exponential")
DEVICES = ("cpu", "cuda", "auto")
DATASET_KWARGS = ("root", "image_size", "limit_per_class", "download")

# Fields that change how a run executes or where it is stored, not its numbers: left out of the
# cache key. (Resuming is exact, so checkpoint cadence does not change the history.)
_STUDY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NOT_HASHED = (
    "study",
    "checkpoint_every_steps",
    "checkpoint_seconds",
    "snapshot_epochs",
    "loader_workers",
    "fit_check_images",
)
# Fields added (or made part of the key) after results were stored: left out of the key while at
# their default, so that adding an option does not invalidate every stored result. (Changing a
# default that affects the numbers needs a TRAINER_VERSION bump instead.) Map field name -> default.
#
# Run identity on CPU: the thread count and the number of ranks change a run's numbers (different
# reduction orders; per-rank BatchNorm batches). An explicit ``threads`` or ``ranks`` is part of
# the key, so a 1-thread and a 2-thread run never share a result, a checkpoint or final weights.
# ``threads=None`` means "all cores of this machine" (the committed 5-epoch study): its effective
# thread count is recorded in the checkpoint and the result, and a resume with another count is
# refused rather than mixed.
ADDED_LATER: dict[str, Any] = {
    "threads": None,
    "ranks": 1,
    "validation_images": None,
    # scale (issue 18): data pipeline, mixed precision, BatchNorm options
    "data_pipeline": "auto",
    "precision": "fp32",
    "sync_batchnorm": False,
    "bn_momentum": None,
    "bn_eps": None,
}
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Everything that determines a training run. Defaults: a quick digits run of MobileNetV2."""

    # what to train
    model: str = "mobilenet_v2"  # mnv2lab.models name, or "tiny_cnn" (tests)
    model_kwargs: dict = field(default_factory=lambda: {"width_mult": 0.5, "small_input": True})
    dataset: str = "digits"  # see mnv2lab.data.DATASETS
    dataset_kwargs: dict = field(
        default_factory=dict
    )  # root, image_size, limit_per_class, download
    train_subset: int | None = None  # random subset of N training images (quick runs)
    test_subset: int | None = None  # random subset of N test images
    subset_seed: int = 0  # the subsets do not change with `seed`
    validation_images: int | None = None  # hold out N training images (stratified, by
    #   subset_seed) and evaluate on them instead of the test set, which is then never loaded onto
    #   the device: for choosing recipes and budgets without looking at the test set
    # how long, in what batches
    epochs: int = 1
    batch_size: int = 128  # global batch (split across ranks under torchrun)
    # optimizer
    optimizer: str = "sgd"  # sgd | rmsprop (TensorFlow's, as in the paper)
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False  # sgd only
    rmsprop_alpha: float = 0.9  # RMSProp decay (paper: 0.9)
    rmsprop_eps: float = 1e-3  # inside the sqrt, as in TF (paper: not stated)
    weight_decay: float = 4e-5  # on conv/linear weights only (paper: 4e-5)
    # learning-rate schedule
    schedule: str = "cosine"  # constant | cosine | step | exponential
    decay_rate: float = 0.98  # step/exponential: factor per `decay_epochs`
    decay_epochs: float = 1.0  # (paper: 0.98 per epoch)
    warmup_epochs: float = 0.0  # linear warm-up from lr/steps to lr
    label_smoothing: float = 0.0
    # data augmentation (batched, on the device)
    augment: bool = True  # random crop with padding + horizontal flip
    crop_padding: int = 4
    # evaluation
    eval_every_epochs: float | None = None  # evaluate every this many epochs (default 1) ...
    eval_every_steps: int | None = None  # ... or every this many steps (not both)
    eval_at_start: bool = False  # also evaluate the untrained model (step 0)
    # randomness and execution
    seed: int = 0
    device: str = "auto"  # cpu | cuda | auto
    channels_last: bool = True  # NHWC memory format (fast on CPU)
    compile: bool = False  # torch.compile the model
    threads: int | None = None  # CPU threads per rank (default: all cores / ranks)
    ranks: int = 1  # processes (DDP) the run is trained with: 1, or
    #   torchrun --nproc-per-node N (mnv2lab.train.launch starts them for you)
    checkpoint_every_steps: int | None = None  # also checkpoint every N steps (always at evals)
    checkpoint_seconds: float = 300.0  # and at least every this many seconds
    study: str = "default"  # results/<study>/ holds the result JSON
    snapshot_epochs: list[int] = field(default_factory=list)  # also keep the weights after these
    #   epochs (run folder, epoch<E>.pt): for analyses along training (Fig. 7); not in the key
    fit_check_images: int | None = None  # also evaluate this many training images (no augmentation,
    #   eval mode) at every evaluation: the fit check (train vs test loss, label smoothing and
    #   dropout excluded); reads the weights only, so not in the key
    # scale (mnv2lab.data.stream, "Running at scale" in the README)
    data_pipeline: str = "auto"  # memory | stream | auto (stream big folders)
    loader_workers: int | None = None  # stream: decoding processes per rank (not in
    #   the key: a batch does not depend on which worker decodes it)
    precision: str = "fp32"  # fp32 | bf16 (autocast) | fp16 (CUDA, scaled)
    sync_batchnorm: bool = False  # SyncBatchNorm across ranks (CUDA under torchrun)
    bn_momentum: float | None = None  # BatchNorm running-average momentum (torch's
    bn_eps: float | None = None  # convention, = 1 - TF decay); None: the model's

    # ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data, integers given for float fields widened to floats (so that
        ``lr=1`` and ``lr=1.0`` are the same configuration)."""
        d = asdict(self)
        for name, spec in _SPEC.items():
            if spec.kind is float and isinstance(d[name], int) and not isinstance(d[name], bool):
                d[name] = float(d[name])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ParameterError(
                f"unknown training option {unknown[0]!r} (value {d[unknown[0]]!r});"
                f" allowed options: {', '.join(sorted(names))}"
            )
        return cls(**d)

    def key(self) -> str:
        """A 16-hex-digit hash of every field that can change the numbers (the cache key)."""
        hashed = {
            k: v
            for k, v in self.to_dict().items()
            if k not in NOT_HASHED and not (k in ADDED_LATER and v == ADDED_LATER[k])
        }
        blob = json.dumps(
            {"trainer_version": TRAINER_VERSION, **hashed}, sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        """A short human-readable name for progress bars and file listings."""
        kw = ",".join(f"{k}={v}" for k, v in sorted(self.model_kwargs.items()))
        return f"{self.model}({kw}) on {self.dataset}, seed {self.seed}"

    def validate(self) -> "TrainConfig":
        """Check every field (type, range, choices, combinations); raise ParameterError naming the
        field, the bad value and what is allowed. Cheap: runs before any data or model work."""
        for name, spec in _SPEC.items():
            check(name, getattr(self, name), spec)
        strictly_positive = ("lr", "rmsprop_eps", "decay_epochs", "checkpoint_seconds")
        for name in strictly_positive:
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ParameterError(f"parameter {name!r}: got {v!r}; allowed: a number > 0")
        if not 0 < self.decay_rate <= 1:
            raise ParameterError(
                f"parameter 'decay_rate': got {self.decay_rate!r}; allowed: a number in (0, 1]"
            )
        if self.eval_every_epochs is not None and self.eval_every_epochs <= 0:
            raise ParameterError(
                f"parameter 'eval_every_epochs': got {self.eval_every_epochs!r}; "
                "allowed: a number > 0, or None"
            )
        if self.eval_every_epochs is not None and self.eval_every_steps is not None:
            raise ParameterError(
                "eval_every_epochs and eval_every_steps: give one of them, not "
                f"both (got {self.eval_every_epochs!r} and {self.eval_every_steps!r})"
            )
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ParameterError(
                f"parameter 'nesterov': True needs optimizer='sgd' and momentum > 0"
                f" (got optimizer={self.optimizer!r}, momentum={self.momentum!r})"
            )
        bad = [
            e
            for e in self.snapshot_epochs
            if not isinstance(e, int) or isinstance(e, bool) or not 1 <= e <= self.epochs
        ]
        if bad:
            raise ParameterError(
                f"parameter 'snapshot_epochs': got {bad[0]!r}; allowed: whole "
                f"epochs from 1 to epochs={self.epochs}"
            )
        if self.batch_size % self.ranks:
            raise ParameterError(
                f"parameter 'batch_size': got {self.batch_size}, which does not "
                f"split evenly over ranks={self.ranks}"
            )
        if self.validation_images is not None and self.test_subset is not None:
            raise ParameterError(
                "validation_images and test_subset: give one of them, not both "
                f"(got {self.validation_images!r} and {self.test_subset!r}); with"
                " validation_images the test set is not used at all"
            )
        if not _STUDY.match(self.study):
            raise ParameterError(
                f"parameter 'study': got {self.study!r}; allowed: a folder name of "
                "letters, digits, '_', '-' and '.' (it names results/<study>/)"
            )
        from ..data import check_dataset_name

        try:
            check_dataset_name(self.dataset)
        except ValueError as e:
            raise ParameterError(str(e)) from None
        bad = sorted(set(self.dataset_kwargs) - set(DATASET_KWARGS))
        if bad:
            raise ParameterError(
                f"parameter 'dataset_kwargs': unknown key {bad[0]!r}; allowed "
                f"keys: {', '.join(DATASET_KWARGS)}"
            )
        if self.data_pipeline == "stream" and not self.dataset.startswith("folder:"):
            raise ParameterError(
                f"parameter 'data_pipeline': 'stream' reads an ImageNet-style "
                f"folder; give dataset='folder:<path>' (got {self.dataset!r})"
            )
        if self.device == "cpu" and (self.precision == "fp16" or self.sync_batchnorm):
            what = "precision='fp16'" if self.precision == "fp16" else "sync_batchnorm=True"
            raise ParameterError(
                f"{what} needs a CUDA device (got device='cpu'); on CPU use "
                "precision 'fp32' or 'bf16' and sync_batchnorm=False"
            )
        for name in ("bn_momentum", "bn_eps"):
            v = getattr(self, name)
            if v is not None and not (0 < v < 1):
                raise ParameterError(
                    f"parameter {name!r}: got {v!r}; allowed: a number in "
                    "(0, 1), or None (the model's default)"
                )
        from .models import check_model

        check_model(self.model, self.model_kwargs)
        try:
            json.dumps(self.to_dict(), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ParameterError(
                f"the configuration must be plain JSON data (numbers, strings, lists, dicts): {e}"
            ) from None
        return self


_SPEC: dict[str, Param] = {
    "model": Param(str),
    "model_kwargs": Param(dict),
    "dataset": Param(str),
    "dataset_kwargs": Param(dict),
    "train_subset": Param(int, min=1, nullable=True),
    "test_subset": Param(int, min=1, nullable=True),
    "subset_seed": Param(int, min=0),
    "epochs": Param(int, min=1),
    "batch_size": Param(int, min=1),
    "optimizer": Param(str, choices=OPTIMIZERS),
    "lr": Param(float),
    "momentum": Param(float, min=0.0, max=0.999),
    "nesterov": Param(bool),
    "rmsprop_alpha": Param(float, min=0.0, max=0.9999),
    "rmsprop_eps": Param(float),
    "weight_decay": Param(float, min=0.0, max=1.0),
    "schedule": Param(str, choices=SCHEDULES),
    "decay_rate": Param(float),
    "decay_epochs": Param(float),
    "warmup_epochs": Param(float, min=0.0),
    "label_smoothing": Param(float, min=0.0, max=0.999),
    "augment": Param(bool),
    "crop_padding": Param(int, min=0, max=64),
    "eval_every_epochs": Param(float, nullable=True),
    "eval_every_steps": Param(int, min=1, nullable=True),
    "eval_at_start": Param(bool),
    "seed": Param(int, min=0),
    "device": Param(str, choices=DEVICES),
    "channels_last": Param(bool),
    "compile": Param(bool),
    "threads": Param(int, min=1, nullable=True),
    "ranks": Param(int, min=1),
    "validation_images": Param(int, min=1, nullable=True),
    "checkpoint_every_steps": Param(int, min=1, nullable=True),
    "checkpoint_seconds": Param(float),
    "study": Param(str),
    "snapshot_epochs": Param(list),
    "fit_check_images": Param(int, min=1, nullable=True),
    "data_pipeline": Param(str, choices=PIPELINES),
    "loader_workers": Param(int, min=0, nullable=True),
    "precision": Param(str, choices=PRECISIONS),
    "sync_batchnorm": Param(bool),
    "bn_momentum": Param(float, nullable=True),
    "bn_eps": Param(float, nullable=True),
}
