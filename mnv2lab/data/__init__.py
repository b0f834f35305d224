"""Data: real image data sets held in memory as uint8 tensors, plus batched tensor augmentation.

    from mnv2lab.data import load_dataset
    ds = load_dataset("cifar10-jpeg")     # the shared CIFAR-10 JPEG tarball; cached after 1st load
    ds = load_dataset("digits")           # tiny, offline (scikit-learn), for smoke runs
    ds = load_dataset("folder:/data/imagenette2-160", image_size=128)

Names: ``cifar10-jpeg`` (ImageNet-style folder/tarball, default ``paths.shared_data()``),
``cifar10`` / ``cifar100`` (official python pickles, MD5-verified, optional download),
``digits`` and ``folder:<path>`` (any ImageNet-style folder or .tar.gz of one).

Folders too big to hold in memory (ImageNet) are streamed instead: :mod:`mnv2lab.data.stream`.
"""

from __future__ import annotations

import os

import torch

from ..paths import resolve, shared_data
from .augment import epoch_order, random_crop_flip, step_generator, to_model_input
from .cifar import load_cifar
from .dataset import ImageDataset, channel_stats
from .digits import load_digits_dataset
from .errors import CacheWarning, ChecksumError, DataError, UnsafeArchiveError
from .folders import load_image_folder

DATASETS = ("cifar10-jpeg", "cifar10", "cifar100", "digits", "folder:<path>")

__all__ = [
    "DATASETS",
    "ImageDataset",
    "load_dataset",
    "load_image_folder",
    "load_cifar",
    "load_digits_dataset",
    "random_crop_flip",
    "to_model_input",
    "epoch_order",
    "step_generator",
    "channel_stats",
    "keep_first_per_class",
    "DataError",
    "ChecksumError",
    "UnsafeArchiveError",
    "CacheWarning",
    "check_dataset_name",
]


def check_dataset_name(name: str) -> None:
    """Raise a ValueError naming the allowed data sets unless ``name`` is one of them."""
    ok = isinstance(name, str) and (
        name in DATASETS[:4] or (name.startswith("folder:") and len(name) > len("folder:"))
    )
    if not ok:
        raise ValueError(f"dataset: got {name!r}; allowed: {', '.join(DATASETS)}")


def keep_first_per_class(ds: ImageDataset, n: int) -> ImageDataset:
    """Keep the first ``n`` images of each class in each split."""
    out = {}
    for split in ("train", "test"):
        y = getattr(ds, f"{split}_labels")
        keep = torch.zeros(len(y), dtype=torch.bool)
        for c in range(ds.num_classes):
            keep[(y == c).nonzero().flatten()[:n]] = True
        out[f"{split}_images"] = getattr(ds, f"{split}_images")[keep]
        out[f"{split}_labels"] = y[keep]
    return ImageDataset(
        name=ds.name,
        classes=ds.classes,
        mean=ds.mean,
        std=ds.std,
        info={**ds.info, "limit_per_class": n},
        **out,
    )


def load_dataset(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    image_size: int | None = None,
    limit_per_class: int | None = None,
    download: bool = False,
    use_cache: bool = True,
    workers: int | None = None,
    progress: bool | None = None,
) -> ImageDataset:
    """Load a data set by name (see the module docstring) into memory.

    Relative paths are taken from the repository root (as everywhere in mnv2lab).
    ``root``: where the data lives (``cifar10-jpeg``: the tarball or folder, default the shared
    data; ``cifar10``/``cifar100``: the folder with the official archive). ``image_size``: resize
    to NxN (folders; digits: default 16). ``limit_per_class``: first N images of each class per
    split, for quick runs. ``download``: fetch official CIFAR pickles when missing.
    """
    check_dataset_name(name)
    limit = limit_per_class
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit_per_class: got {limit!r}; allowed: an integer >= 1, or None")
    if name == "digits":
        ds = load_digits_dataset(16 if image_size is None else image_size)
        return ds if limit is None else keep_first_per_class(ds, limit)
    if name in ("cifar10", "cifar100"):
        if image_size not in (None, 32):
            raise ValueError(
                f"image_size: got {image_size!r}; the {name} pickles are 32x32 "
                "(allowed: None or 32)"
            )
        ds = load_cifar(
            name, resolve(root) if root is not None else None, download=download, progress=progress
        )
        return ds if limit is None else keep_first_per_class(ds, limit)
    if name == "cifar10-jpeg":
        source = resolve(root) if root is not None else shared_data("cifar10-jpeg.tar.gz")
        label = name
    else:
        if root is not None:
            raise ValueError("root: give the path in the name ('folder:<path>'), not both")
        source, label = resolve(name[len("folder:") :]), name
    return load_image_folder(
        source,
        image_size=image_size,
        limit_per_class=limit,
        workers=workers,
        use_cache=use_cache,
        progress=progress,
        name=label,
    )
