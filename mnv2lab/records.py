"""Verified records: the one way mnv2lab stores a result as a file and reads it back.

A record is one JSON object that carries the SHA-256 of its own content (``"sha256"``: the hash
of the other fields, serialized with sorted keys and no NaN), so a truncated, corrupt or
hand-edited file is detected instead of silently trusted. Training results
(``results/<study>/<key>.json``), latency, operator-breakdown and peak-memory measurements
(``results/latency``, ``results/memory_efficient``) and activation statistics are records; the
decoded data set cache (NumPy archives) shares the key and the warning.

    record = records.write(path, {"format": 1, "key": key, ...})   # adds "sha256", atomic
    record = records.read(path, format=1, key=key)                  # RecordError says why not
    records.key_of(config_dict)                                     # 16 hex digits naming it

A caller that falls back (recomputes, or treats the file as missing) reports it with the one
warning class, :class:`RecordWarning`, saying which file, why, and what happens instead.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from .atomic import write_json


class RecordWarning(UserWarning):
    """A stored record (result, measurement, statistics, cached data) was unusable: it is
    recomputed or treated as missing, as the message says."""


class RecordError(ValueError):
    """Why a stored record cannot be used (unreadable, unknown format, checksum, wrong key)."""


def key_of(obj: Any, length: int = 16, *, default: Callable[[Any], Any] | None = None) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``obj`` as sorted-key JSON: the name of
    a configuration's file (``default`` serializes what JSON cannot, e.g. ``str``)."""
    blob = json.dumps(obj, sort_keys=True, default=default)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def digest(record: dict[str, Any]) -> str:
    """The SHA-256 of a record's content: every field but ``"sha256"``, sorted-key JSON, no NaN
    (a NaN or infinity raises ValueError: a record holds finite numbers or nulls)."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()


def seal(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its ``"sha256"`` set (in place, and returned)."""
    record["sha256"] = digest(record)
    return record


def write(path: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Seal ``record`` and write it atomically to ``path`` (folders created); returns it."""
    write_json(Path(path), seal(record))
    return record


def read(path: str | Path, *, format: int, **expected: Any) -> dict[str, Any]:
    """The verified record at ``path``: readable JSON object, ``"format"`` equal to ``format``,
    content matching its SHA-256, and every field in ``expected`` equal to the given value.
    Raise :class:`RecordError` saying what is wrong."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError(f"not readable JSON ({type(e).__name__}: {e})") from None
    if not isinstance(record, dict) or record.get("format") != format:
        raise RecordError("unknown format")
    try:
        intact = record.get("sha256") == digest(record)
    except ValueError:  # NaN or infinity: never written by write()
        intact = False
    if not intact:
        raise RecordError("content does not match its SHA-256 (truncated or edited)")
    for name, value in expected.items():
        if record.get(name) != value:
            raise RecordError(
                f"belongs to another {name} ({record.get(name)!r}, expected {value!r})"
            )
    return record
