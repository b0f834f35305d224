"""CIFAR-10/100 in the official python-pickle format (https://www.cs.toronto.edu/~kriz/cifar.html).

Pickles can run arbitrary code when loaded, so they are read only after their MD5 matches the
published value. The archive is verified the same way before it is (safely) extracted, and the
download is verified before it is kept. Layout under ``root``:

    root/cifar-10-python.tar.gz      (optional once extracted)
    root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
    root/cifar-100-python/{train, test, meta}
"""

from __future__ import annotations

import hashlib
import os
import pickle
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..paths import cache_dir
from ..progress import progress as progress_bar
from .dataset import ImageDataset, from_numpy
from .errors import ChecksumError, DataError
from .tarsafe import safe_extract


@dataclass(frozen=True)
class CifarSpec:
    """Where a CIFAR variant comes from and the MD5 of every file (as published with it)."""

    name: str
    url: str
    archive: str
    archive_md5: str
    folder: str
    train: tuple[tuple[str, str], ...]
    test: tuple[tuple[str, str], ...]
    meta: tuple[str, str]
    label_key: bytes
    names_key: bytes


SPECS: dict[str, CifarSpec] = {
    "cifar10": CifarSpec(
        name="cifar10",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        archive="cifar-10-python.tar.gz",
        archive_md5="c58f30108f718f92721af3b95e74349a",
        folder="cifar-10-batches-py",
        train=(
            ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
            ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
            ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
            ("data_batch_4", "634d18415352ddfa80567beed471001a"),
            ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
        ),
        test=(("test_batch", "40351d587109b95175f43aff81a1287e"),),
        meta=("batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
        label_key=b"labels",
        names_key=b"label_names",
    ),
    "cifar100": CifarSpec(
        name="cifar100",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        archive="cifar-100-python.tar.gz",
        archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
        folder="cifar-100-python",
        train=(("train", "16019d7e3df5f24257cddd939b257f8d"),),
        test=(("test", "f0ef6b0ae62326f3e7ffdfab6717acfc"),),
        meta=("meta", "7973b15100ade9c7d40fb424638fde48"),
        label_key=b"fine_labels",
        names_key=b"fine_label_names",
    ),
}


def default_root() -> Path:
    return cache_dir() / "cifar"


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, md5: str) -> None:
    got = md5_file(path)
    if got != md5:
        raise ChecksumError(
            f"{path}: MD5 {got} does not match the published {md5}; the file is "
            "corrupt or not the official one (delete it and try again)"
        )


def download(url: str, target: Path, md5: str, progress: bool | None = None) -> Path:
    """Download ``url`` to ``target``, keeping it only if its MD5 matches ``md5``."""
    h = hashlib.md5()
    with atomic_path(target) as tmp:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = progress_bar(
                None,
                enabled=progress,
                total=total,
                unit="B",
                unit_scale=True,
                desc=f"downloading {target.name}",
            )
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                h.update(chunk)
                bar.update(len(chunk))
            bar.close()
        if h.hexdigest() != md5:
            raise ChecksumError(
                f"download of {url}: MD5 {h.hexdigest()} does not match the "
                f"published {md5}; nothing was kept"
            )
    return target


def _files_ok(folder: Path, spec: CifarSpec) -> bool:
    return all((folder / f).is_file() for f, _ in spec.train + spec.test + (spec.meta,))


def prepare(spec: CifarSpec, root: Path, download_ok: bool, progress: bool | None) -> Path:
    """The verified, extracted folder of ``spec`` under ``root`` (extracting/downloading if needed)."""
    folder = root / spec.folder
    if not _files_ok(folder, spec):
        archive = root / spec.archive
        if not archive.is_file():
            if not download_ok:
                raise DataError(
                    f"{spec.name} not found: neither {folder} nor {archive} exists. Put "
                    f"{spec.archive} (from {spec.url}, MD5 {spec.archive_md5}) into "
                    f"{root}, or pass download=True on a machine that is online"
                )
            download(spec.url, archive, spec.archive_md5, progress)
        _verify(archive, spec.archive_md5)
        safe_extract(archive, root)
        if not _files_ok(folder, spec):
            raise DataError(f"{archive} does not contain the expected {spec.folder}/ files")
    for fname, md5 in spec.train + spec.test + (spec.meta,):
        _verify(folder / fname, md5)
    return folder


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def load_cifar(
    name: str = "cifar10",
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    progress: bool | None = None,
    specs: dict[str, CifarSpec] | None = None,
) -> ImageDataset:
    """CIFAR-10 or CIFAR-100 (fine labels) from the official pickles, verified before reading.

    ``root``: the folder holding the archive or its extracted folder (default
    ``cache_dir()/cifar``). ``download``: fetch the official archive when it is absent.
    """
    specs = SPECS if specs is None else specs
    if name not in specs:
        raise ValueError(f"name: got {name!r}; allowed: {sorted(specs)}")
    spec = specs[name]
    root = Path(root).expanduser() if root is not None else default_root()
    folder = prepare(spec, root, download, progress)  # every MD5 checked before any unpickling
    arrays = {}
    for split, files in (("train", spec.train), ("test", spec.test)):
        xs, ys = [], []
        for fname, _ in files:
            d = _unpickle(folder / fname)
            xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d[spec.label_key], dtype=np.int64))
        arrays[split] = (np.concatenate(xs).transpose(0, 2, 3, 1), np.concatenate(ys))
    names = [n.decode() for n in _unpickle(folder / spec.meta[0])[spec.names_key]]
    return from_numpy(
        name,
        names,
        arrays["train"][0],
        arrays["train"][1],
        arrays["test"][0],
        arrays["test"][1],
        source=str(folder),
    )
