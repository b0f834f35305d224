"""Checkpoints: everything needed to continue a run exactly where it stopped.

One file per run, ``cache_dir()/runs/<key>/checkpoint.pt``, replaced atomically, so a crash leaves
either the previous or the new checkpoint, never half of one. It holds the model, the optimizer,
the step (which fixes the data order position, the augmentation draws and the learning rate: all
are pure functions of seed and step), the RNG state of every rank (dropout), the history and the
running training-loss sums. It is loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path
from ..paths import cache_dir

FORMAT = 1


class CheckpointWarning(UserWarning):
    """A checkpoint could not be used (corrupt, or from another configuration); starting over."""


def run_dir(key: str) -> Path:
    """Where a run's checkpoint and final weights live (build products, never committed)."""
    return cache_dir() / "runs" / key


def save(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def load(path: Path, key: str) -> dict[str, Any] | None:
    """The checkpoint's state, or None if there is none or it is unusable (with a warning)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("unknown checkpoint format")
        if state.get("key") != key:
            raise ValueError(f"it belongs to configuration {state.get('key')!r}, not {key!r}")
        for k in ("step", "model", "optimizer", "history", "rng"):
            if k not in state:
                raise ValueError(f"missing {k!r}")
        return state
    except Exception as e:  # any unpickling/zip error means: cannot resume from it
        warnings.warn(
            f"checkpoint {path} is unusable ({type(e).__name__}: {e}); starting the run "
            "from the beginning",
            CheckpointWarning,
            stacklevel=3,
        )
        return None


def save_weights(path: Path, model: torch.nn.Module) -> str:
    """Save the final model's state_dict (float tensors) atomically; return the file's SHA-256,
    which the run's result records so that the weights can be matched to *their* result."""
    with atomic_path(path) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
        digest = file_sha256(Path(tmp))
    return digest


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_weights(path: Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The weights at ``path``; with ``sha256`` (from the run's result), refuse weights that are
    not the ones that run wrote (another run with the same key, e.g. on another machine)."""
    if sha256 is not None and file_sha256(path) != sha256:
        raise ValueError(
            f"weights {path} are not the ones this result was trained with (SHA-256 "
            "differs): retrain with run_or_load(config, need_model=True)"
        )
    return torch.load(path, map_location="cpu", weights_only=True)
