"""A verified on-disk cache of decoded images (uint8 arrays in one uncompressed .npz).

Each entry stores its arrays plus a JSON ``meta`` record holding the SHA-256 of every array. On
load the digests are recomputed (about 0.1 s per 200 MB), so a truncated or corrupted entry is
detected, reported with a :class:`CacheWarning` and rebuilt rather than silently trusted. Entries
are written atomically (temporary file, then rename), so a crash mid-write leaves no entry at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import records
from ..atomic import atomic_path
from ..paths import cache_dir
from .errors import CacheWarning

FORMAT = 1  # bump when the layout or the decoding changes: older entries are then ignored


def key_of(params: Mapping[str, Any]) -> str:
    """A short stable hash of JSON-able ``params`` (the cache key)."""
    return records.key_of({"format": FORMAT, **params}, 20, default=str)


def entry_path(kind: str, key: str) -> Path:
    return cache_dir() / "datasets" / f"{kind}-{key}.npz"


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


def save(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` (JSON-able) atomically, with a digest per array."""
    record = {**meta, "format": FORMAT, "digests": {k: _digest(v) for k, v in arrays.items()}}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(record, sort_keys=True)), **arrays)


def load(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The entry's ``(arrays, meta)``, or ``None`` when it is absent or fails verification (a
    :class:`CacheWarning` then says why; the caller rebuilds it)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["__meta__"]))
            arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')} != {FORMAT}")
        digests = meta["digests"]
        if set(digests) != set(arrays):
            raise ValueError(f"arrays {sorted(arrays)} != recorded {sorted(digests)}")
        for k, a in arrays.items():
            if _digest(a) != digests[k]:
                raise ValueError(f"array {k!r} does not match its recorded SHA-256")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        warnings.warn(
            f"data cache {path} is corrupt or unreadable ({type(e).__name__}: {e}); rebuilding it",
            CacheWarning,
            stacklevel=3,
        )
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    return arrays, meta
