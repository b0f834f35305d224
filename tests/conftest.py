"""Shared test set-up: keep torch small and quiet, bars off, paths to the repo and the shared data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MNV2LAB_PROGRESS", "0")
os.environ.pop("MPLBACKEND", None)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cifar_tarball() -> Path:
    """The real CIFAR-10 (JPEG, ImageNet layout) in ../shared/data; skip where it is absent."""
    from mnv2lab.paths import shared_data

    path = shared_data("cifar10-jpeg.tar.gz")
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path
