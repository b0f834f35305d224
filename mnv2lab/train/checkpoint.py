"""Checkpoints: everything needed to continue a run exactly where it stopped.

One file per run, ``cache_dir()/runs/<key>/checkpoint.pt``, replaced atomically, so a crash leaves
either the previous or the new checkpoint, never half of one. It holds the model, the optimizer,
the step (which fixes the data order position, the augmentation draws and the learning rate: all
are pure functions of seed and step), the RNG state of every rank (dropout), the history and the
running training-loss sums. It is loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

import torch

from .. import records
from ..atomic import atomic_path, write_bytes
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
    which the run's result records so that the weights can be matched to *their* result.

    The bytes are serialized in memory first: ``torch.save`` to a file names the archive inside
    after the file (here a random temporary name), so equal weights would hash differently."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    data = buffer.getvalue()
    write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_match(path: Path, sha256: str | None) -> bool:
    """Whether the weights file at ``path`` is the one a result recording ``sha256`` stands for:
    the file the run wrote, or a retrain of it that reproduced the result's history
    (:func:`record_reproduction`). ``sha256`` None (older results): any file of that key."""
    if sha256 is None:
        return True
    actual = file_sha256(path)
    if actual == sha256:
        return True
    try:
        vouched = records.read(_reproduction_path(path), format=FORMAT)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (
        vouched.get("result_weights_sha256") == sha256 and vouched.get("weights_sha256") == actual
    )


def record_reproduction(path: Path, result_sha256: str, weights_sha256: str) -> None:
    """Vouch that the weights at ``path`` (SHA-256 ``weights_sha256``) come from a retrain that
    reproduced the history of the result recording ``result_sha256``.

    Needed for results whose weights were written before :func:`save_weights` serialized
    deterministically: their recorded SHA-256 covers a random archive name no retrain can match,
    so without this record the weights would be retrained again on every request."""
    records.write(
        _reproduction_path(path),
        {
            "format": FORMAT,
            "result_weights_sha256": result_sha256,
            "weights_sha256": weights_sha256,
        },
    )


def _reproduction_path(weights: Path) -> Path:
    return weights.with_name(weights.name + ".reproduced.json")


def load_weights(path: Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The weights at ``path``; with ``sha256`` (from the run's result), refuse weights that are
    not the ones that run wrote (another run with the same key, e.g. on another machine)."""
    if not weights_match(path, sha256):
        raise ValueError(
            f"weights {path} are not the ones this result was trained with (SHA-256 "
            "differs): retrain with run_or_load(config, need_model=True)"
        )
    return torch.load(path, map_location="cpu", weights_only=True)
