"""Shared test set-up: keep torch small and quiet, bars off, paths to the repo and the shared data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MNV2LAB_PROGRESS", "0")
os.environ.pop("MPLBACKEND", None)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew (pyplot keeps every figure open until closed)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """A cache of this test's own (``MNV2LAB_CACHE``): runs and data never come from, or go to,
    the user's cache."""
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


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


@pytest.fixture
def tiny_study(tmp_path, monkeypatch):
    """A factory of the study's runs shrunk to seconds: the digits set, one width, no MobileNetV1,
    a small subset, and a private cache (keyword arguments override any of it)."""
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))
    from mnv2lab.study import define_study

    def make(width: float = 0.35, **overrides):
        settings = dict(
            seeds=[0],
            widths=[width],
            main_width=width,
            epochs=1,
            dataset="digits",
            include_v1=False,
            study="smoke",
            train_subset=256,
            test_subset=64,
        )
        return define_study(**{**settings, **overrides})

    return make


def tiny_config(**over):
    """A training run of a few seconds: TinyCNN on 8x8 digits (``over`` replaces fields)."""
    from mnv2lab.train import TrainConfig

    base = dict(
        model="tiny_cnn",
        model_kwargs={"width": 8},
        dataset="digits",
        dataset_kwargs={"image_size": 8},
        epochs=3,
        batch_size=32,
        lr=0.05,
        device="cpu",
        augment=False,
        threads=1,
    )
    return TrainConfig(**{**base, **over})
