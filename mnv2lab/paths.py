"""Where things live, resolved from the repository root so that notebooks behave the same
whether JupyterLab (cwd = notebooks/) or papermill/make (cwd = anywhere) runs them."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def repo_root() -> Path:
    """The repository root (the folder holding ``mnv2lab/`` and ``notebooks/``)."""
    return REPO_ROOT


def resolve(path: str | os.PathLike) -> Path:
    """An absolute path: relative paths are taken from the repository root, not the cwd."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def figures_dir() -> Path:
    return REPO_ROOT / "figures"


def results_dir() -> Path:
    return REPO_ROOT / "results"


def cache_dir() -> Path:
    """Build-product cache (git-ignored); override with ``MNV2LAB_CACHE``."""
    return Path(os.environ.get("MNV2LAB_CACHE", REPO_ROOT / ".cache"))


def shared_data(name: str = "cifar10-jpeg.tar.gz") -> Path:
    """A file in the project's ``../shared/data`` folder (override with ``MNV2LAB_SHARED_DATA``)."""
    return Path(os.environ.get("MNV2LAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")) / name
