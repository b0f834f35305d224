"""Streaming ImageNet-style folders: for data sets that do not fit in memory.

The in-memory path (:func:`mnv2lab.data.load_dataset`) decodes every image once and keeps the
uint8 pixels; at 224x224 ImageNet would need ~200 GB. This module reads image files as training
needs them, decoding in ``DataLoader`` worker processes:

* **layout**: ``<root>/train/<class>/...`` and ``<root>/val/<class>/...`` (or ``test/``), the same
  checks as the in-memory loader (an empty class folder, or class folders that differ between
  train and val, are a :class:`DataError` before any training);
* **training transform**: the standard ImageNet augmentation, a random-resized crop (area 8%-100%
  of the image, aspect ratio 3/4-4/3, up to 10 tries, else a centre crop of the clamped ratio)
  resized to ``size`` x ``size`` (bilinear), then a horizontal flip with probability 1/2;
* **evaluation transform**: resize the short side to ``size / 0.875`` (256 for 224) and crop the
  centre ``size`` x ``size``;
* **inputs** are scaled to [-1, 1] (mean = std = 0.5 per channel), as TF-slim's Inception
  preprocessing does, instead of per-data-set statistics (those would need a pass over the data);
* **sharding and order**: the epoch's order is :func:`~mnv2lab.data.epoch_order` (a pure function
  of seed and epoch, the same on every rank); step ``s`` of the epoch takes the global batch
  ``order[s*B:(s+1)*B]`` and rank ``r`` its slice ``[r*B/W, (r+1)*B/W)``: exactly the in-memory
  path's indexing. So every rank reads its own, disjoint shard of every epoch, and the crop/flip
  draws of a sample come from a generator seeded by (seed, epoch, position in the epoch): a batch
  is a pure function of (seed, epoch, step, rank), whichever worker decodes it, and a resumed run
  continues exactly;
* **unreadable images** (a corrupt JPEG found mid-epoch): *skipped and counted*, by choice. The
  batch that holds one is that many images smaller; the trainer reports the running count in the
  history (``skipped_images``, summed over ranks) and stops with a :class:`DataError` naming the
  files once a rank has met more than :data:`MAX_SKIPPED_ALWAYS` unreadable images and they are
  more than :data:`MAX_SKIPPED_FRACTION` of the images it has read (a broken copy of the data set,
  not a few bad files). Skipping is deterministic: a resumed run skips the same images.
  Unreadable test images are left out of that evaluation and counted (``skipped_test_images``).

Why folders and not tar shards (e.g. the ``webdataset`` library): shards are read sequentially
and shuffled through a buffer, so a batch is not a function of (seed, epoch, step, rank) and a run
resumed mid-epoch cannot continue exactly without replaying the epoch up to that point; per-rank
shards of unequal size also break "each rank reads a disjoint, equal share". Random access into
a folder gives both properties for free, it is what the ImageNet folder layout already is, and it
needs no new dependency. The price is one file open per image, which parallel file systems serve
well with a few workers per GPU; a ``.tar.gz`` of a folder (sequential-only) is refused with a
clear error rather than read slowly.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from .augment import epoch_order, mix_seeds, to_model_input
from .decode import IMAGE_FORMATS
from .folders import check_listing, is_archive, scan_folder
from .errors import DataError

TRAIN_SCALE = (0.08, 1.0)  # random-resized crop: fraction of the image area
TRAIN_RATIO = (3 / 4, 4 / 3)  # and aspect ratio range (sampled log-uniformly)
EVAL_CROP_FRACTION = 0.875  # resize to size / 0.875, crop the centre size x size
MEAN = (0.5, 0.5, 0.5)  # inputs scaled to [-1, 1], as TF-slim's preprocessing
STD = (0.5, 0.5, 0.5)
DEFAULT_SIZE = 224
# The automatic choice ("auto"): stream a folder whose decoded uint8 images (all splits, at the
# configured image_size) would exceed this many bytes; keep smaller ones in memory.
IN_MEMORY_MAX_BYTES = 4 * 10**9
MAX_SKIPPED_FRACTION = 0.01  # more unreadable images than this fraction ...
MAX_SKIPPED_ALWAYS = 10  # ... and more than this many (per rank): stop
PIPELINES = ("auto", "memory", "stream")


# --- the listing --------------------------------------------------------------------------------


@dataclass
class FolderIndex:
    """The files of an ImageNet-style folder: paths and labels of the train and the test split."""

    root: Path
    classes: list[str]
    train_paths: list[str]
    train_labels: np.ndarray
    test_paths: list[str]
    test_labels: np.ndarray
    test_split: str = "val"
    info: dict = field(default_factory=dict)

    @classmethod
    def scan(
        cls,
        root: str | os.PathLike,
        *,
        limit_per_class: int | None = None,
        test_split: str | None = None,
    ) -> "FolderIndex":
        """List ``root`` (a folder; archives cannot be streamed) and check its layout."""
        root = Path(root).expanduser()
        if not root.exists():
            raise DataError(
                f"data source {root} does not exist (expected a folder with "
                "train/<class>/ and val/<class>/ or test/<class>/)"
            )
        if is_archive(root) or root.is_file():
            raise DataError(
                f"data source {root} is a file: the streaming pipeline reads a "
                "folder (random access per image); extract the archive first, or "
                "use data_pipeline='memory' for a small one"
            )
        root = root.resolve()
        listing, _ = scan_folder(root)
        classes, tsplit = check_listing(listing, root, test_split)
        out = {}
        for split, key in (("train", "train"), (tsplit, "test")):
            paths, labels = [], []
            for label, cls_name in enumerate(classes):
                chosen = listing[split][cls_name][:limit_per_class]
                paths.extend(path for _, _, path in chosen)
                labels.extend([label] * len(chosen))
            out[f"{key}_paths"], out[f"{key}_labels"] = paths, np.asarray(labels, dtype=np.int64)
        return cls(
            root=root,
            classes=classes,
            test_split=tsplit,
            **out,
            info={"limit_per_class": limit_per_class},
        )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, train: int | None, test: int | None, seed: int) -> "FolderIndex":
        """A random subset of ``train``/``test`` files (same rule as ``ImageDataset.subset``)."""
        out = {}
        for split, n in (("train", train), ("test", test)):
            paths, labels = getattr(self, f"{split}_paths"), getattr(self, f"{split}_labels")
            if n is not None and n < len(paths):
                g = torch.Generator().manual_seed(seed)
                idx = torch.randperm(len(paths), generator=g)[:n].sort().values.numpy()
                paths, labels = [paths[i] for i in idx], labels[idx]
            out[f"{split}_paths"], out[f"{split}_labels"] = paths, labels
        return FolderIndex(
            self.root,
            self.classes,
            test_split=self.test_split,
            info={**self.info, "subset": [train, test], "subset_seed": seed},
            **out,
        )

    def decoded_bytes(self, size: int) -> int:
        """Bytes the in-memory path would hold for both splits at ``size`` x ``size``."""
        return (len(self.train_paths) + len(self.test_paths)) * size * size * 3


def choose_pipeline(
    pipeline: str, dataset: str, image_size: int | None = None, limit_per_class: int | None = None
) -> tuple[str, FolderIndex | None]:
    """("memory" or "stream", the folder's index when streaming) for a run's data.

    ``"memory"``/``"stream"`` are explicit; ``"auto"`` streams a ``folder:<path>`` data set (a
    folder, not an archive) whose decoded images at ``image_size`` (default 224) would exceed
    :data:`IN_MEMORY_MAX_BYTES`, and keeps everything else in memory. The rule depends only on the
    data set, not on this machine's memory, so a configuration means the same run everywhere."""
    if pipeline not in PIPELINES:
        raise DataError(f"data_pipeline: got {pipeline!r}; allowed: {', '.join(PIPELINES)}")
    is_folder = dataset.startswith("folder:")
    if pipeline == "stream" and not is_folder:
        raise DataError(
            f"data_pipeline 'stream' reads an ImageNet-style folder: give dataset="
            f"'folder:<path>' (got dataset={dataset!r})"
        )
    if pipeline == "memory" or not is_folder:
        return "memory", None
    from ..paths import resolve
    from .folders import is_archive

    source = resolve(dataset[len("folder:") :])
    if pipeline == "auto" and (is_archive(source) or not source.is_dir()):
        return "memory", None
    index = FolderIndex.scan(source, limit_per_class=limit_per_class)
    too_big = index.decoded_bytes(image_size or DEFAULT_SIZE) > IN_MEMORY_MAX_BYTES
    if pipeline == "stream" or too_big:
        return "stream", index
    return "memory", None


# --- transforms ---------------------------------------------------------------------------------


def random_resized_box(
    width: int,
    height: int,
    rng: random.Random,
    scale: tuple[float, float] = TRAIN_SCALE,
    ratio: tuple[float, float] = TRAIN_RATIO,
) -> tuple[int, int, int, int]:
    """(left, top, crop width, crop height) of a random-resized crop: area a uniform fraction in
    ``scale`` of the image, aspect ratio log-uniform in ``ratio``; 10 tries, then the largest
    centred crop whose ratio is clamped to ``ratio`` (the Inception / torchvision rule)."""
    area = width * height
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, width - w), rng.randint(0, height - h), w, h
    image_ratio = width / height
    if image_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif image_ratio > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def eval_box(width: int, height: int, size: int) -> tuple[float, float, float, float]:
    """(left, top, crop width, crop height) in the original image of "resize the short side to
    size / 0.875, crop the centre size x size" (done as one resize of that box)."""
    crop = min(width, height) * EVAL_CROP_FRACTION
    return (width - crop) / 2, (height - crop) / 2, crop, crop


def _load(path: str, box: tuple[float, float, float, float], size: int) -> Image.Image:
    """Decode ``path`` and resize its ``box`` (in original pixels) to ``size`` x ``size``.

    JPEGs are decoded at a reduced scale when the box stays at least ``size`` pixels (libjpeg's
    DCT scaling: several times faster on large photos)."""
    with Image.open(path, formats=IMAGE_FORMATS) as im:
        full_w, full_h = im.size
        left, top, w, h = box
        if im.format == "JPEG":
            im.draft("RGB", (math.ceil(full_w * size / w), math.ceil(full_h * size / h)))
        sx, sy = im.size[0] / full_w, im.size[1] / full_h
        rgb = im if im.mode == "RGB" else im.convert("RGB")
        return rgb.resize(
            (size, size),
            Image.Resampling.BILINEAR,
            box=(left * sx, top * sy, (left + w) * sx, (top + h) * sy),
        )


def image_size_of(path: str) -> tuple[int, int]:
    with Image.open(path, formats=IMAGE_FORMATS) as im:
        return im.size


def train_image(path: str, size: int, rng: random.Random) -> np.ndarray:
    """One training image: random-resized crop to ``size`` x ``size``, random flip; (H, W, 3)."""
    width, height = image_size_of(path)
    box = random_resized_box(width, height, rng)
    flip = rng.random() < 0.5
    im = _load(path, box, size)
    if flip:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(im, dtype=np.uint8)


def eval_image(path: str, size: int) -> np.ndarray:
    """One evaluation image: resize to ``size / 0.875``, centre ``size`` x ``size``; (H, W, 3)."""
    width, height = image_size_of(path)
    return np.asarray(_load(path, eval_box(width, height, size), size), dtype=np.uint8)


def _read(fn, path: str, *args) -> np.ndarray | None:
    """``fn(path, ...)``, or None when the file cannot be decoded (counted by the caller)."""
    try:
        return fn(path, *args)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


# --- batches: map-style data sets whose item is one step of one rank ------------------------------

Batch = tuple[torch.Tensor, torch.Tensor, list[str]]  # uint8 (B, H, W, 3), labels, skipped files


def _stack(
    arrays: list[np.ndarray | None], labels: np.ndarray, paths: list[str], size: int
) -> Batch:
    keep = [i for i, a in enumerate(arrays) if a is not None]
    skipped = [paths[i] for i, a in enumerate(arrays) if a is None]
    x = (
        torch.from_numpy(np.stack([arrays[i] for i in keep]))
        if keep
        else torch.zeros((0, size, size, 3), dtype=torch.uint8)
    )
    return x, torch.from_numpy(labels[keep]), skipped


class TrainBatches(torch.utils.data.Dataset):
    """Item ``step`` = rank ``rank``'s share of the global batch of training step ``step``
    (steps count from the start of training; ``steps_per_epoch`` full batches per epoch, the
    remainder of an epoch's order is dropped, as on the in-memory path)."""

    def __init__(
        self,
        index: FolderIndex,
        *,
        seed: int,
        batch_size: int,
        rank: int = 0,
        world_size: int = 1,
        size: int = DEFAULT_SIZE,
        augment: bool = True,
    ) -> None:
        if batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} does not split over {world_size} ranks")
        self.paths, self.labels = index.train_paths, index.train_labels
        self.seed, self.batch_size, self.rank = seed, batch_size, rank
        self.per_rank, self.size, self.augment = batch_size // world_size, size, augment
        self.steps_per_epoch = len(self.paths) // batch_size
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.steps_per_epoch

    def positions(self, step: int) -> tuple[int, range]:
        """(epoch, positions in the epoch's order) that this rank reads at ``step``."""
        epoch, within = divmod(step, self.steps_per_epoch)
        start = within * self.batch_size + self.rank * self.per_rank
        return epoch, range(start, start + self.per_rank)

    def indices(self, step: int) -> np.ndarray:
        """Indices (into ``index.train_paths``) of the images of this rank's batch at ``step``."""
        epoch, where = self.positions(step)
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, epoch_order(len(self.paths), self.seed, epoch).numpy())
        return self._order[1][where.start : where.stop]

    def __getitem__(self, step: int) -> Batch:
        epoch, where = self.positions(step)
        idx = self.indices(step)
        paths = [self.paths[i] for i in idx]
        if self.augment:
            arrays = [
                _read(
                    train_image,
                    p,
                    self.size,
                    random.Random(mix_seeds(self.seed, epoch, pos, 0xC409)),
                )
                for p, pos in zip(paths, where)
            ]
        else:
            arrays = [_read(eval_image, p, self.size) for p in paths]
        return _stack(arrays, self.labels[idx], paths, self.size)


class EvalBatches(torch.utils.data.Dataset):
    """Item ``i`` = the ``i``-th evaluation batch of this rank's shard (images ``rank::world``)."""

    def __init__(
        self,
        index: FolderIndex,
        *,
        batch_size: int,
        rank: int = 0,
        world_size: int = 1,
        size: int = DEFAULT_SIZE,
    ) -> None:
        self.paths = index.test_paths[rank::world_size]
        self.labels = index.test_labels[rank::world_size]
        self.batch_size, self.size = batch_size, size

    def __len__(self) -> int:
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, i: int) -> Batch:
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        paths = self.paths[sl]
        return _stack(
            [_read(eval_image, p, self.size) for p in paths], self.labels[sl], paths, self.size
        )


def _worker_context():
    """Decoding workers are spawned (a fresh interpreter, started by fork + exec at once), not
    forked from the trainer. A trainer rank runs threads (gloo, the training loader's queue
    feeder, OpenMP), and a plain fork while one of them holds a lock can leave the child stuck
    before it starts: an evaluation loader's worker hung so, and its rank never reached the next
    all-reduce. Spawned workers are still the rank's children, so they exit when it dies. The
    price: each loader's workers import torch again when they start (seconds per evaluation)."""
    return multiprocessing.get_context("spawn")


def _loader(dataset: torch.utils.data.Dataset, items: range, workers: int, pin: bool):
    """A DataLoader over ``items`` (steps or batch numbers), in order. It gets a generator of its
    own: by default each new iterator draws a seed from torch's global RNG, which would shift
    the dropout draws of a resumed run (our transforms seed themselves per sample). Workers
    come from :func:`_worker_context`."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        sampler=items,
        num_workers=workers,
        pin_memory=pin,
        prefetch_factor=2 if workers else None,
        generator=torch.Generator().manual_seed(0),
        multiprocessing_context=_worker_context() if workers else None,
    )


def default_loader_workers(local_world_size: int = 1) -> int:
    """Decoding processes per rank: the cores shared among the node's ranks, 1 to 8."""
    return max(1, min(8, (os.cpu_count() or 1) // max(1, local_world_size)))


class StreamSource:
    """The trainer's data source for a streamed folder: ``get(step)`` gives this rank's
    model-ready training batch (decoded ahead by ``workers`` processes), ``evaluate`` runs a model
    over this rank's shard of the test split. ``skipped`` counts unreadable training images of
    the steps taken so far (kept in checkpoints through :meth:`state` / :meth:`restore`)."""

    def __init__(
        self,
        index: FolderIndex,
        *,
        seed: int,
        batch_size: int,
        epochs: int,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
        size: int = DEFAULT_SIZE,
        augment: bool = True,
        channels_last: bool = True,
        workers: int = 1,
    ) -> None:
        self.index, self.device = index, device
        self.size, self.channels_last, self.workers = size, channels_last, workers
        self.train = TrainBatches(
            index,
            seed=seed,
            batch_size=batch_size,
            rank=rank,
            world_size=world_size,
            size=size,
            augment=augment,
        )
        self.eval = EvalBatches(
            index,
            batch_size=max(1, batch_size // world_size),
            rank=rank,
            world_size=world_size,
            size=size,
        )
        self.steps_per_epoch = self.train.steps_per_epoch
        self.total = epochs * self.steps_per_epoch
        self.mean, self.std = MEAN, STD
        self.evaluated_on = "test"  # the folder's held-out split (val/ or test/)
        self.skipped, self.read = 0, 0
        self.skipped_files: list[str] = []
        self._it: Iterator[Batch] | None = None
        self._next = -1

    @property
    def num_classes(self) -> int:
        return self.index.num_classes

    @property
    def n_train(self) -> int:
        return len(self.index.train_paths)

    @property
    def n_test(self) -> int:
        return len(self.index.test_paths)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, self.size, self.size)

    def state(self) -> dict:
        """What a checkpoint keeps of this rank's source: the counts of read and skipped images."""
        return {
            "read": self.read,
            "skipped": self.skipped,
            "skipped_files": self.skipped_files[:100],
        }

    def restore(self, state: dict) -> None:
        self.read, self.skipped = int(state["read"]), int(state["skipped"])
        self.skipped_files = list(state["skipped_files"])

    def _model_input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return to_model_input(x, self.mean, self.std, channels_last=self.channels_last)

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._it is None or step != self._next:
            self.close()
            self._it = iter(
                _loader(
                    self.train, range(step, self.total), self.workers, self.device.type == "cuda"
                )
            )
        x, y, skipped = next(self._it)
        self._next = step + 1
        self.read += len(y) + len(skipped)
        self.skipped += len(skipped)
        self.skipped_files.extend(skipped)
        too_many = self.skipped > max(MAX_SKIPPED_ALWAYS, MAX_SKIPPED_FRACTION * self.read)
        if too_many or not len(y):
            self.close()
            raise DataError(
                f"{self.skipped} of {self.read} training images read so far could "
                f"not be decoded on rank {self.train.rank} (allowed: at most "
                f"{MAX_SKIPPED_ALWAYS}, or {MAX_SKIPPED_FRACTION:.0%}; the data set "
                f"copy looks broken), e.g. {', '.join(self.skipped_files[:5])}"
            )
        return self._model_input(x), y.to(self.device, non_blocking=True)

    def eval_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's test shard, model-ready; unreadable test images are left out (and
        counted in ``eval_skipped``)."""
        self.eval_skipped = 0
        for x, y, skipped in _loader(
            self.eval, range(len(self.eval)), self.workers, self.device.type == "cuda"
        ):
            self.eval_skipped += len(skipped)
            if len(y):
                yield self._model_input(x), y.to(self.device, non_blocking=True)

    def close(self) -> None:
        """Stop the decoding workers (they are restarted by the next ``get``)."""
        it, self._it = self._it, None
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()
