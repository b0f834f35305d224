"""The result cache: every finished run as one small JSON file, ``results/<study>/<key>.json``.

The key is a hash of the configuration (:meth:`TrainConfig.key`), so asking again for a
configuration that already ran returns its stored result without training. Each file carries a
SHA-256 of its own content; a truncated, corrupt or hand-edited file (or one whose configuration
does not hash to its name) is reported with a :class:`ResultCacheWarning` and recomputed.
Final weights stay in ``cache_dir()/runs/<key>/final.pt`` (a build product, not committed).
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from .. import records
from ..atomic import atomic_path
from ..paths import resolve, results_dir
from ..provenance import provenance
from .checkpoint import record_reproduction, run_dir, weights_match
from .config import TrainConfig
from .engine import DETERMINISTIC_FIELDS, RunResult, train

FORMAT = 1
WEIGHTS_IN_RESULTS_MAX_BYTES = 2_000_000


# A stored result was unusable and is recomputed, or a rerun did not reproduce it: the one warning
# of every verified record (mnv2lab.records), under the name the trainer has always used.
ResultCacheWarning = records.RecordWarning


def study_dir(config: TrainConfig, results: str | os.PathLike | None = None) -> Path:
    return resolve(results) if results is not None else results_dir() / config.study


def result_path(config: TrainConfig, results: str | os.PathLike | None = None) -> Path:
    return study_dir(config, results) / f"{config.key()}.json"


def to_record(result: RunResult) -> dict[str, Any]:
    record = {
        "format": FORMAT,
        "key": result.key,
        "label": result.config.label(),
        "config": result.config.to_dict(),
        "seed": result.config.seed,
        "history": result.history,
        "final": result.final,
        "provenance": result.provenance,
    }
    return records.seal(record)


def save_result(result: RunResult, path: Path) -> None:
    records.write(path, to_record(result))


def load_result(path: Path, config: TrainConfig | None = None) -> RunResult:
    """Read and verify a stored result; raise ValueError saying what is wrong with it."""
    record = records.read(path, format=FORMAT)
    stored = TrainConfig.from_dict(record["config"])
    if stored.key() != record["key"] or path.stem != record["key"]:
        raise ValueError(f"configuration hashes to {stored.key()}, file says {record['key']}")
    if config is not None and stored.key() != config.key():
        raise ValueError("belongs to a different configuration")
    weights = _weights_candidates(path, record["key"])
    existing = next((w for w in weights if w.exists()), None)
    return RunResult(
        config=stored,
        key=record["key"],
        history=record["history"],
        final=record["final"],
        provenance=record["provenance"],
        weights_path=str(existing or weights[-1]),
        cached=True,
    )


def _weights_candidates(path: Path, key: str) -> list[Path]:
    return [path.with_suffix(".weights.pth"), run_dir(key) / "final.pt"]


def weights_available(result: RunResult) -> bool:
    """Whether ``result``'s own final weights are on this machine (the file exists and, for results
    that record it, is the file the run wrote or a retrain that reproduced it: a file of another
    run with the same key does not count)."""
    path = Path(result.weights_path) if result.weights_path else None
    if path is None or not path.exists():
        return False
    return weights_match(path, result.final.get("weights_sha256"))


def same_history(a: list[dict], b: list[dict]) -> bool:
    """Whether two histories agree in every deterministic field (timings excluded)."""
    return len(a) == len(b) and all(
        x.get(k) == y.get(k) for x, y in zip(a, b) for k in DETERMINISTIC_FIELDS
    )


def load_intact(
    config: TrainConfig,
    results_dir: str | os.PathLike | None = None,
    *,
    unusable: str = "treated as missing",
) -> RunResult | None:
    """The stored result of ``config`` if its file is there and intact, else None: the
    "don't train" half of :func:`run_or_load`. A file that is there but unusable (truncated,
    edited, another configuration) is reported with a :class:`ResultCacheWarning` saying it is
    ``unusable``'s way forward."""
    path = result_path(config, results_dir)
    if not path.exists():
        return None
    try:
        return load_result(path, config)
    except (ValueError, KeyError, TypeError) as e:
        warnings.warn(
            f"stored result {path} is unusable ({e}); {unusable}", ResultCacheWarning, stacklevel=3
        )
        return None


def run_or_load(
    config: TrainConfig,
    results_dir: str | os.PathLike | None = None,
    *,
    progress: bool | None = None,
    need_model: bool = False,
    weights_in_results: bool = False,
) -> RunResult:
    """The result of ``config``: from ``results/<study>/<key>.json`` if it is there and intact,
    otherwise trained now (resuming from a checkpoint if one exists) and stored.

    ``need_model``: make sure the trained weights are available (retraining deterministically when
    only the JSON is present, e.g. on a fresh clone). ``weights_in_results``: also store the final
    weights beside the JSON as ``<key>.weights.pth`` when they are under 2 MB (small enough to
    commit).
    """
    config.validate()
    path = result_path(config, results_dir)
    cached = load_intact(config, results_dir, unusable="recomputing it")
    if cached is not None and (not need_model or weights_available(cached)):
        return cached

    if cached is not None:  # retrained only for the weights: check that it reproduced
        result = train(config, progress=progress)
        new_weights = result.final.get("weights_sha256")
        if not same_history(cached.history, result.history):
            warnings.warn(
                f"retraining {config.key()} for its weights did not reproduce the stored "
                "history (different machine or library versions?); keeping the stored "
                "result, the weights come from the new run",
                ResultCacheWarning,
                stacklevel=2,
            )
        elif cached.final.get("weights_sha256") not in (None, new_weights) and _is_main():
            record_reproduction(
                Path(result.weights_path), cached.final["weights_sha256"], new_weights
            )
        result.history, result.provenance = cached.history, cached.provenance
        result.final = {**cached.final, "weights_sha256": new_weights}
        result.cached = True
        return result
    return train_and_store(config, path, progress=progress, weights_in_results=weights_in_results)


def train_and_store(
    config: TrainConfig,
    path: Path,
    *,
    progress: bool | None = None,
    weights_in_results: bool = False,
    **train_kwargs,
) -> RunResult:
    """Train ``config`` and (on rank 0) store its result JSON at ``path`` with provenance."""
    wall_start = time.perf_counter()
    result = train(config, progress=progress, **train_kwargs)
    result.provenance = {
        **provenance(),
        "threads": result.final["threads"],
        "device": result.final["device"],
        "world_size": result.final["world_size"],
        "wall_time_s": round(time.perf_counter() - wall_start, 3),
    }
    if _is_main():
        save_result(result, path)
        if weights_in_results:
            size = Path(result.weights_path).stat().st_size
            if size <= WEIGHTS_IN_RESULTS_MAX_BYTES:
                target = path.with_suffix(".weights.pth")
                with atomic_path(target) as tmp:
                    shutil.copyfile(result.weights_path, tmp)
                result.weights_path = str(target)
            else:
                warnings.warn(
                    f"final weights are {size / 1e6:.1f} MB (> 2 MB): kept only in "
                    f"{result.weights_path}",
                    ResultCacheWarning,
                    stacklevel=2,
                )
    return result


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0
