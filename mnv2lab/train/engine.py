"""The training loop: batched tensor data pipeline, exact resume, optional DistributedDataParallel.

    from mnv2lab.train import TrainConfig, train
    result = train(TrainConfig(dataset="cifar10-jpeg", epochs=10, model_kwargs={...}))
    result.history[-1]["test_acc"], result.model

Reproducibility: the same configuration gives the same history on the same machine. Everything
random is a function of ``seed`` and the step: the model's initialization (``torch.manual_seed``),
the data order of each epoch, each step's crop/flip draws, and dropout (the global RNG, whose state
is checkpointed). ``torch.use_deterministic_algorithms`` is switched on for the run. Timing fields
(``images_per_s``, ``elapsed_s``) naturally differ between runs.

Data comes from one source, chosen in :func:`open_data`: uint8 tensors in memory
(:class:`BatchSource`, the default for sets that fit) or an image folder streamed through
DataLoader workers (:class:`mnv2lab.data.stream.StreamSource`); both give a rank's batch as a
pure function of (seed, step, rank).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data import (
    ImageDataset,
    epoch_order,
    load_dataset,
    random_crop_flip,
    step_generator,
    to_model_input,
)
from ..data.augment import mix_seeds
from ..data.stream import StreamSource, choose_pipeline, default_loader_workers
from ..params import ParameterError
from ..progress import enabled_by_default, progress as progress_bar
from . import checkpoint, distributed, guard
from .config import TrainConfig
from .models import build
from .optim import make_optimizer
from .schedule import lr_at

EVAL_BATCH = 500
DETERMINISTIC_FIELDS = ("step", "epoch", "train_loss", "test_loss", "test_acc", "lr")


class TrainingInterrupted(RuntimeError):
    """Raised by ``train(..., stop_after_steps=N)`` to simulate a crash (tests)."""


@dataclass
class RunResult:
    """A finished run: its configuration, history (one entry per evaluation) and final metrics.

    ``model`` is the trained network when the run happened in this process; otherwise
    :meth:`load_model` rebuilds it from the saved final weights.
    """

    config: TrainConfig
    key: str
    history: list[dict[str, Any]]
    final: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    weights_path: str | None = None
    cached: bool = False
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    def load_model(self, device: str = "cpu") -> nn.Module:
        """The trained model (eval mode), from memory or from the final weights on disk."""
        if self.model is not None:
            return self.model
        if not self.weights_path or not Path(self.weights_path).exists():
            raise FileNotFoundError(
                f"final weights of run {self.key} are not on this machine ({self.weights_path}); "
                "call run_or_load(config, need_model=True) to retrain (deterministically)"
            )
        model = build(self.config.model, self.final["num_classes"], self.config.model_kwargs)
        model.load_state_dict(
            checkpoint.load_weights(Path(self.weights_path), self.final.get("weights_sha256"))
        )
        self.model = model.to(device).eval()
        return self.model

    def series(self, name: str) -> list:
        """One history column, e.g. ``result.series("test_acc")``."""
        return [h.get(name) for h in self.history]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            "parameter 'device': got 'cuda' but no CUDA device is available; "
            "allowed here: 'cpu' or 'auto'"
        )
    return torch.device(name)


@contextlib.contextmanager
def execution_settings(device: torch.device, threads: int):
    """Threads and deterministic algorithms for the run; the caller's settings are restored."""
    det = torch.utils.deterministic
    saved = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        det.fill_uninitialized_memory,
    )
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # Deterministic mode also NaN-fills every new tensor (a debugging aid): 40% of a CPU training
    # step. Our kernels overwrite what they allocate, so it is switched off.
    det.fill_uninitialized_memory = False
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[3], saved[4]
        det.fill_uninitialized_memory = saved[5]


def eval_steps(config: TrainConfig, steps_per_epoch: int, total: int) -> set[int]:
    """The steps after which the model is evaluated (always including the last)."""
    if config.eval_every_steps is not None:
        points = set(range(config.eval_every_steps, total + 1, config.eval_every_steps))
    else:
        every = (config.eval_every_epochs or 1.0) * steps_per_epoch
        points = {max(1, round(k * every)) for k in range(1, int(total / every + 1e-9) + 1)}
    points = {p for p in points if 0 < p <= total}
    points.add(total)
    if config.eval_at_start:
        points.add(0)
    return points


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    ds: ImageDataset,
    channels_last: bool,
) -> tuple[float, int, int]:
    """(summed cross-entropy, number correct, number of images) of ``model`` on uint8 images."""
    return evaluate_batches(model, _memory_batches(images, labels, ds, channels_last))


def _memory_batches(images, labels, ds, channels_last):
    for i in range(0, len(labels), EVAL_BATCH):
        yield (
            to_model_input(
                images[i : i + EVAL_BATCH], ds.mean, ds.std, channels_last=channels_last
            ),
            labels[i : i + EVAL_BATCH],
        )


@torch.inference_mode()
def evaluate_batches(model: nn.Module, batches) -> tuple[float, int, int]:
    """(summed cross-entropy, number correct, number of images) over model-ready (x, y) batches."""
    was_training = model.training
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    for x, y in batches:
        out = model(x).float()
        loss_sum += float(F.cross_entropy(out, y, reduction="sum"))
        correct += int((out.argmax(1) == y).sum())
        n += len(y)
    model.train(was_training)
    return loss_sum, correct, n


class BatchSource:
    """The training batches of one rank, as a pure function of (seed, step): the epoch's shuffled
    order, this rank's slice of the global batch, the step's crop/flip draws, normalization.
    All of it batched tensor work on the device (the uint8 images live there)."""

    def __init__(
        self,
        ds: ImageDataset,
        config: TrainConfig,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.ds, self.config, self.rank = ds, config, rank
        self.images, self.labels = ds.train_images.to(device), ds.train_labels.to(device)
        self.steps_per_epoch = len(self.labels) // config.batch_size
        self.per_rank = config.batch_size // world_size
        self._order, self._epoch = None, -1

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._order = epoch_order(len(self.labels), c.seed, epoch).to(self.images.device)
            self._epoch = epoch
        start = position * c.batch_size + self.rank * self.per_rank
        idx = self._order[start : start + self.per_rank]
        xb, yb = self.images[idx], self.labels[idx]
        if c.augment:
            xb = random_crop_flip(
                xb, padding=c.crop_padding, generator=step_generator(c.seed, step, self.rank)
            )
        return to_model_input(xb, self.ds.mean, self.ds.std, channels_last=c.channels_last), yb


class MemorySource:
    """The in-memory data path as the trainer's data source (the streamed one is
    :class:`mnv2lab.data.stream.StreamSource`): training batches from :class:`BatchSource`, this
    rank's share of the test images (``rank::world_size``) for evaluation."""

    skipped = 0

    def __init__(
        self,
        ds: ImageDataset,
        config: TrainConfig,
        device: torch.device,
        ctx: distributed.DistContext,
    ) -> None:
        self.ds, self.channels_last = ds, config.channels_last
        self.get = BatchSource(ds, config, device, ctx.rank, ctx.world_size).get
        self.test_x = ds.test_images[ctx.rank :: ctx.world_size].to(device)
        self.test_y = ds.test_labels[ctx.rank :: ctx.world_size].to(device)
        self.fit_x = self.fit_y = None
        if config.fit_check_images is not None:  # a fixed set of training images, this rank's share
            n = min(config.fit_check_images, len(ds.train_labels))
            order = torch.randperm(
                len(ds.train_labels), generator=torch.Generator().manual_seed(0xF17)
            )
            idx = order[:n][ctx.rank :: ctx.world_size]
            self.fit_x, self.fit_y = (
                ds.train_images[idx].to(device),
                ds.train_labels[idx].to(device),
            )
        self.num_classes, self.image_shape = ds.num_classes, ds.image_shape
        self.evaluated_on = ds.info.get("evaluated_on", "test")
        self.n_train, self.n_test = len(ds.train_labels), len(ds.test_labels)

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        pass

    def close(self) -> None:
        pass


def open_data(
    config: TrainConfig, ctx: distributed.DistContext, device: torch.device, progress: bool = False
) -> MemorySource | StreamSource:
    """The run's data source: in memory, or streamed from a folder (``config.data_pipeline``;
    "auto" streams folders too big to hold: :func:`mnv2lab.data.stream.choose_pipeline`)."""
    kw = config.dataset_kwargs
    pipeline, index = choose_pipeline(
        config.data_pipeline, config.dataset, kw.get("image_size"), kw.get("limit_per_class")
    )
    if pipeline == "memory":
        return MemorySource(load_training_data(config, ctx, progress), config, device, ctx)
    if config.fit_check_images is not None:
        raise ParameterError(
            "parameter 'fit_check_images': not supported by the streaming pipeline yet; got "
            f"{config.fit_check_images!r}, allowed here: None"
        )
    if config.validation_images is not None:
        raise ParameterError(
            "parameter 'validation_images': not supported by the streaming "
            "pipeline yet (it evaluates on the folder's val/ or test/ split); "
            f"got {config.validation_images!r}, allowed here: None"
        )
    if config.train_subset is not None or config.test_subset is not None:
        index = index.subset(config.train_subset, config.test_subset, config.subset_seed)
    workers = config.loader_workers
    return StreamSource(
        index,
        seed=config.seed,
        batch_size=config.batch_size,
        epochs=config.epochs,
        device=device,
        rank=ctx.rank,
        world_size=ctx.world_size,
        size=kw.get("image_size") or 224,
        augment=config.augment,
        channels_last=config.channels_last,
        workers=default_loader_workers(ctx.local_world_size) if workers is None else workers,
    )


def load_training_data(
    config: TrainConfig, ctx: distributed.DistContext, progress: bool = False
) -> ImageDataset:
    """The run's data set (subset applied), as every rank of ``train()`` loads it: rank 0 first
    (it may build the decode cache), then the others read the cache."""
    if not ctx.is_main:
        ctx.barrier()
    ds = load_dataset(config.dataset, progress=progress, **config.dataset_kwargs)
    if ctx.is_main:
        ctx.barrier()
    if config.validation_images is not None:  # the test split is dropped here
        ds = ds.holdout(config.validation_images, seed=config.subset_seed)
    if config.train_subset is not None or config.test_subset is not None:
        ds = ds.subset(config.train_subset, config.test_subset, seed=config.subset_seed)
    return ds


def build_for_training(
    config: TrainConfig, num_classes: int, device: torch.device, rank: int = 0
) -> tuple[nn.Module, torch.optim.Optimizer, nn.Module]:
    """(model, optimizer, loss) of one rank as ``train()`` builds them: the same initialization on
    every rank (seeded by ``config.seed``), channels_last if configured, then a per-rank RNG
    stream (dropout)."""
    torch.manual_seed(config.seed)
    model = build(config.model, num_classes, config.model_kwargs).to(device)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if config.bn_momentum is not None:
                m.momentum = config.bn_momentum
            if config.bn_eps is not None:
                m.eps = config.bn_eps
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    torch.manual_seed(mix_seeds(config.seed, rank, 0xD0))  # per-rank dropout stream
    optimizer = make_optimizer(config, model)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    return model, optimizer, criterion


def wrap_for_training(
    model: nn.Module, config: TrainConfig, ctx: distributed.DistContext, device: torch.device
) -> nn.Module:
    """The module the training steps call: DistributedDataParallel when there are several ranks,
    compiled when ``config.compile``; ``model`` itself otherwise."""
    net: nn.Module = model
    if config.sync_batchnorm and device.type != "cuda":
        raise ParameterError(
            "parameter 'sync_batchnorm': True needs CUDA devices (torch's "
            f"SyncBatchNorm runs only on GPUs); this run is on {device.type}"
        )
    if ctx.enabled and config.sync_batchnorm:
        # in place: the new SyncBatchNorm modules share the old ones' parameters and buffers, so
        # the optimizer and the state_dict keys stay valid
        nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if ctx.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        net = torch.compile(net)
    return net


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    *,
    autocast=contextlib.nullcontext,
    scaler: torch.amp.GradScaler | None = None,
) -> torch.Tensor:
    """One optimizer step at learning rate ``lr``; returns the (graph-free) loss. ``autocast``:
    a mixed-precision context (see :func:`precision_settings`); ``scaler``: fp16 loss scaling."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    with autocast():
        loss = criterion(net(x).float(), y)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.detach()


def precision_settings(precision: str, device: torch.device):
    """(autocast context factory, gradient scaler or None) for ``precision``: fp32 runs as is;
    bf16 autocasts (CPU or CUDA); fp16 autocasts on CUDA with a loss scaler (its state goes into
    checkpoints, so a resumed run continues exactly)."""
    if precision == "fp32":
        return contextlib.nullcontext, None
    if precision == "fp16" and device.type != "cuda":
        raise ParameterError(
            "parameter 'precision': 'fp16' needs a CUDA device; on CPU use 'bf16' or 'fp32'"
        )
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    return (lambda: torch.autocast(device.type, dtype=dtype)), scaler


def snapshot_path(run_directory: Path, epoch: int) -> Path:
    """Where a run keeps its weights after ``epoch`` (``TrainConfig.snapshot_epochs``)."""
    return run_directory / f"epoch{epoch}.pt"


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def train(
    config: TrainConfig,
    progress: bool | None = None,
    *,
    resume: bool = True,
    stop_after_steps: int | None = None,
    run_directory: str | os.PathLike | None = None,
    rank_weights_dir: str | os.PathLike | None = None,
) -> RunResult:
    """Train ``config`` (validated first) and return its :class:`RunResult`, model included.

    ``progress``: a progress bar (epoch, loss, accuracy, images/s); None follows
    ``MNV2LAB_PROGRESS``. ``resume``: continue from this configuration's checkpoint if there is one.
    ``stop_after_steps``: raise :class:`TrainingInterrupted` after that many steps (simulates a
    crash, for tests). ``run_directory``: where checkpoint and final weights go (default
    ``cache_dir()/runs/<key>``). ``rank_weights_dir``: every rank also writes its final weights
    there as ``rank<r>.pt`` (to check that replicas agree under torchrun).
    Under ``torchrun`` every rank calls this; only rank 0 writes checkpoints and weights.
    """
    config.validate()
    device = resolve_device(config.device)
    ctx = distributed.setup(device.type)
    try:
        if device.type == "cuda" and ctx.enabled:
            device = torch.device("cuda", ctx.local_rank)
            torch.cuda.set_device(device)
        if ctx.world_size != config.ranks:
            raise ParameterError(
                f"parameter 'ranks': the configuration says ranks={config.ranks} but this run has "
                f"{ctx.world_size} process(es); the rank count changes the numbers, so it is part "
                f"of the run's identity. Start it with mnv2lab.train.launch.run(config) (or "
                f"torchrun --nproc-per-node {config.ranks}), or set ranks={ctx.world_size}"
            )
        threads = config.threads or max(1, (os.cpu_count() or 1) // ctx.local_world_size)
        call = _Call(
            config,
            device,
            ctx,
            threads,
            show_progress=(enabled_by_default() if progress is None else bool(progress))
            and ctx.is_main,
            resume=resume,
            stop_after_steps=stop_after_steps,
            rank_weights_dir=Path(rank_weights_dir) if rank_weights_dir else None,
        )
        rdir = Path(run_directory) if run_directory else checkpoint.run_dir(config.key())
        # One trainer per run directory (it also clears temporary files of dead writers); Ctrl-C
        # stops at a step boundary with a checkpoint (single process only: ranks stop together).
        with (
            execution_settings(device, threads),
            guard.run_lock(rdir, enabled=ctx.is_main),
            guard.StopRequest(not ctx.enabled) as stop,
        ):
            return _train_locked(call, rdir, stop)
    finally:
        ctx.teardown()


@dataclass(frozen=True)
class _Call:
    """One call of :func:`train` as fixed before its loop starts: what the loop reads besides the
    run directory and the stop request."""

    config: TrainConfig
    device: torch.device
    ctx: distributed.DistContext
    threads: int
    show_progress: bool
    resume: bool
    stop_after_steps: int | None
    rank_weights_dir: Path | None


def _train_locked(call: _Call, rdir: Path, stop: guard.StopRequest) -> RunResult:
    """The run itself, under its run directory's lock: data, model, resume, the loop, the result."""
    config, device, ctx, threads = call.config, call.device, call.ctx, call.threads
    key = config.key()
    ckpt_path, weights_path = rdir / "checkpoint.pt", rdir / "final.pt"
    show = call.show_progress

    data = open_data(config, ctx, device, show)
    streamed = isinstance(data, StreamSource)
    n_train = data.n_train
    steps_per_epoch = n_train // config.batch_size
    if steps_per_epoch == 0:
        raise ParameterError(
            f"parameter 'batch_size': got {config.batch_size}, larger than the "
            f"{n_train} training images"
        )
    total = config.epochs * steps_per_epoch
    evals = eval_steps(config, steps_per_epoch, total)
    autocast, scaler = precision_settings(config.precision, device)

    model, optimizer, criterion = build_for_training(config, data.num_classes, device, ctx.rank)

    step, history = 0, []
    loss_acc = torch.zeros((), dtype=torch.float64, device=device)
    loss_n, elapsed_before, iv_time, iv_images = 0, 0.0, 0.0, 0
    state = checkpoint.load(ckpt_path, key) if call.resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = int(state["step"]), list(state["history"])
        sums = state["loss_sum"]  # per rank (a single float in checkpoints before 2026-12)
        loss_acc.fill_(float(sums[ctx.rank] if isinstance(sums, list) else sums))
        loss_n, elapsed_before = int(state["loss_n"]), float(state["elapsed_s"])
        iv_time, iv_images = float(state["interval_s"]), int(state["interval_images"])
        saved_threads = state.get("threads")
        if saved_threads is not None and saved_threads != threads:
            raise ParameterError(
                f"checkpoint {ckpt_path} was written by a run with {saved_threads} thread(s) per "
                f"rank; this one would use {threads}. The thread count changes the numbers, so "
                f"the two would mix: resume with threads={saved_threads}, or delete the checkpoint"
                " to start over"
            )
        rng = state["rng"]
        if len(rng["cpu"]) != ctx.world_size:
            raise RuntimeError(
                f"checkpoint {ckpt_path} was written by {len(rng['cpu'])} ranks, "
                f"this run has {ctx.world_size}"
            )
        torch.set_rng_state(rng["cpu"][ctx.rank])
        if device.type == "cuda" and rng.get("cuda"):
            torch.cuda.set_rng_state(rng["cuda"][ctx.rank])
        if "data" in state:
            data.restore(state["data"][ctx.rank])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])

    net = wrap_for_training(model, config, ctx, device)

    session_start = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - session_start

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def record(at_step: int) -> None:
        nonlocal loss_n, iv_time, iv_images
        distributed.broadcast_buffers(model, ctx)
        with autocast():
            ls, correct, n = (
                evaluate_batches(model, data.eval_batches())
                if streamed
                else evaluate(model, data.test_x, data.test_y, data.ds, config.channels_last)
            )
            fit = (0.0, 0, 0)
            if getattr(data, "fit_x", None) is not None:
                fit = evaluate(model, data.fit_x, data.fit_y, data.ds, config.channels_last)
        ls, correct, n, tl, tn, skipped, skipped_test, fl, fc, fn = distributed.all_sum(
            [
                ls,
                correct,
                n,
                float(loss_acc),
                loss_n,
                data.skipped,
                getattr(data, "eval_skipped", 0),
                *fit,
            ],
            ctx,
            device,
        )
        history.append(
            {
                "step": at_step,
                "epoch": round(at_step / steps_per_epoch, 6),
                "train_loss": _finite(tl / tn) if tn else None,
                "test_loss": _finite(ls / n),
                "test_acc": round(correct) / n,
                "lr": lr_at(config, max(0, at_step - 1), steps_per_epoch, total),
                "images_per_s": round(iv_images / iv_time, 2) if iv_time > 0 else None,
                "elapsed_s": round(elapsed(), 3),
            }
        )
        if fn:  # the fit check: training images as the test images are evaluated
            history[-1].update(train_eval_loss=_finite(fl / fn), train_eval_acc=round(fc) / fn)
        if streamed:  # unreadable images so far (training, all ranks) and in this evaluation
            history[-1].update(
                skipped_images=round(skipped), skipped_test_images=round(skipped_test)
            )
        loss_acc.zero_()
        loss_n, iv_time, iv_images = 0, 0.0, 0

    def save_checkpoint(at_step: int) -> None:
        rng_cpu = distributed.gather_objects(torch.get_rng_state(), ctx)
        rng_cuda = (
            distributed.gather_objects(torch.cuda.get_rng_state(device), ctx)
            if device.type == "cuda"
            else []
        )
        data_states = distributed.gather_objects(data.state(), ctx)
        loss_sums = distributed.gather_objects(float(loss_acc), ctx)  # each rank's own losses
        if ctx.is_main:
            epoch, position = divmod(at_step, steps_per_epoch)
            checkpoint.save(
                ckpt_path,
                {
                    "key": key,
                    "config": config.to_dict(),
                    "step": at_step,
                    "epoch": epoch,
                    "position": position,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": history,
                    "loss_sum": loss_sums,
                    "loss_n": loss_n,
                    "elapsed_s": elapsed(),
                    "interval_s": iv_time,
                    "interval_images": iv_images,
                    "threads": threads,
                    "rng": {"cpu": rng_cpu, "cuda": rng_cuda},
                    "data": data_states,
                    "scaler": scaler.state_dict() if scaler is not None else None,
                },
            )

    bar = progress_bar(
        None,
        enabled=show,
        total=total,
        initial=step,
        unit="step",
        desc=f"{config.model} seed {config.seed}",
    )
    if 0 in evals and not history:
        record(0)
    last_ckpt = time.monotonic()
    net.train()
    seg_start = time.perf_counter()
    while step < total:
        x, y = data.get(step)
        loss = train_step(
            net,
            optimizer,
            criterion,
            x,
            y,
            lr_at(config, step, steps_per_epoch, total),
            autocast=autocast,
            scaler=scaler,
        )
        loss_acc += loss.detach()
        loss_n += 1
        iv_images += config.batch_size
        step += 1
        bar.update(1)

        boundary = step in evals
        due = bool(config.checkpoint_every_steps and step % config.checkpoint_every_steps == 0)
        late = time.monotonic() - last_ckpt > config.checkpoint_seconds
        if ctx.enabled:  # every rank must agree, since saving gathers RNG states from all
            late = distributed.all_sum([float(late)], ctx, device)[0] > 0
        due = due or late
        if boundary or due:
            sync()
            iv_time += time.perf_counter() - seg_start
            if boundary:
                record(step)
                h = history[-1]
                bar.set_postfix_str(
                    f"epoch {h['epoch']:.2f} loss {h['train_loss'] or float('nan'):.3f}"
                    f" acc {h['test_acc']:.3f} {h['images_per_s'] or 0:.0f} img/s",
                    refresh=False,
                )
            save_checkpoint(step)
            last_ckpt = time.monotonic()
            seg_start = time.perf_counter()
        if step % steps_per_epoch == 0 and step // steps_per_epoch in config.snapshot_epochs:
            distributed.broadcast_buffers(model, ctx)
            if ctx.is_main:
                checkpoint.save_weights(snapshot_path(rdir, step // steps_per_epoch), model)
        if stop.requested and step < total:
            save_checkpoint(step)
            bar.close()
            raise guard.stopped(step, total, ckpt_path)
        if call.stop_after_steps is not None and step >= call.stop_after_steps and step < total:
            bar.close()
            data.close()
            raise TrainingInterrupted(f"simulated crash after step {step}")
    bar.close()
    data.close()

    distributed.broadcast_buffers(model, ctx)
    weights_sha256 = None
    if ctx.is_main:
        weights_sha256 = checkpoint.save_weights(weights_path, model)
    if call.rank_weights_dir is not None:
        checkpoint.save_weights(call.rank_weights_dir / f"rank{ctx.rank}.pt", model)
    ctx.barrier()
    if ctx.is_main and ckpt_path.exists():
        ckpt_path.unlink()

    timed = [h for h in history if h["images_per_s"]]
    last = history[-1]
    final = {
        "test_acc": last["test_acc"],
        "test_loss": last["test_loss"],
        "train_loss": last["train_loss"],
        "steps": total,
        "epochs": config.epochs,
        "num_classes": data.num_classes,
        "train_images": n_train,
        "test_images": data.n_test,
        "image_shape": list(data.image_shape),
        "images_per_s": round(sum(h["images_per_s"] for h in timed) / len(timed), 2)
        if timed
        else None,
        "wall_time_s": round(elapsed(), 3),
        "threads": threads,
        "device": str(device),
        "world_size": ctx.world_size,
        "evaluated_on": data.evaluated_on,
    }
    if streamed:
        final.update(data_pipeline="stream", skipped_images=last["skipped_images"])
    if "train_eval_loss" in last:
        final.update(train_eval_loss=last["train_eval_loss"], train_eval_acc=last["train_eval_acc"])
    if weights_sha256 is not None:
        final["weights_sha256"] = weights_sha256
    return RunResult(
        config=config,
        key=key,
        history=history,
        final=final,
        weights_path=str(weights_path),
        model=model.eval(),
    )
