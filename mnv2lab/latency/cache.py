"""The latency cache: one verified record (:mod:`mnv2lab.records`) per configuration,
``results/latency/<config key>.json``, used only while its code fingerprint is current and only
if it was timed under the OpenMP default wait policy (:mod:`.child`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import records
from ..params import ParameterError
from ..paths import resolve, results_dir
from ..progress import progress as progress_bar
from .config import FORMAT, LatencyConfig, config_fingerprint
from .child import TIMING_WAIT_POLICY, time_in_child
from .timing import MAX_FOREIGN, contaminated

# A cached measurement was unusable (corrupt, edited, other code) and is re-measured: the one
# warning of every verified record (mnv2lab.records), under the name the measurements have used.
LatencyCacheWarning = records.RecordWarning


def latency_dir(root: str | os.PathLike | None = None) -> Path:
    """Where cached latencies live: ``results/latency`` unless ``root`` is given."""
    return resolve(root) if root is not None else results_dir() / "latency"


def entry_path(config: LatencyConfig, root: str | os.PathLike | None = None) -> Path:
    return latency_dir(root) / f"{config.key()}.json"


def read_entry(path: Path, config, fingerprint: str) -> dict:
    """A verified cache entry; raise ValueError saying why it cannot be used. ``config`` is any
    configuration with ``to_dict()`` (latency here, peak memory in :mod:`mnv2lab.section5`)."""
    record = records.read(path, format=FORMAT)
    if record.get("config") != config.to_dict():
        raise ValueError("belongs to a different configuration")
    if record.get("fingerprint") != fingerprint:
        raise ValueError(
            f"measured with other code (fingerprint {record.get('fingerprint')}, now {fingerprint})"
        )
    for part in ("result", "provenance"):
        if not isinstance(record.get(part), dict):
            raise ValueError(f"has no {part!r} section")
    return record


def read_latency_entry(path: Path, config: LatencyConfig, fingerprint: str) -> dict:
    """:func:`read_entry`, and the entry was timed under the wait policy every latency is timed
    under (:data:`~mnv2lab.latency.child.TIMING_WAIT_POLICY`): a timing under another policy
    measured something else (2-thread batch-1 latencies can differ 2-3x)."""
    record = read_entry(path, config, fingerprint)
    policy = record["provenance"].get("omp_wait_policy")
    if policy != TIMING_WAIT_POLICY:
        raise ValueError(
            f"timed with OMP_WAIT_POLICY {policy!r}; latencies are timed under the OpenMP "
            f"default ({TIMING_WAIT_POLICY!r})"
        )
    return record


def write_entry(path: Path, config, fingerprint: str, measured: dict) -> dict:
    """Store ``measured`` ({"result": ..., "provenance": ...}) atomically with its SHA-256."""
    record = {
        "format": FORMAT,
        "key": config.key(),
        "label": config.label(),
        "config": config.to_dict(),
        "fingerprint": fingerprint,
        **measured,
    }
    return records.write(path, record)


def cached(
    config,
    path: Path,
    fingerprint: str,
    measure_fn: Callable[[], dict],
    *,
    remeasure: bool = False,
    allow_measure: bool = True,
) -> dict | None:
    """The entry at ``path`` if it is intact and current; otherwise ``measure_fn()`` stored there
    (a corrupt or outdated entry is reported with a :class:`LatencyCacheWarning`).
    ``allow_measure=False`` returns None instead of measuring. The record's ``cached`` says
    which happened."""
    if path.exists() and not remeasure:
        try:
            record = read_latency_entry(path, config, fingerprint)
            record["cached"] = True
            return record
        except ValueError as e:
            warnings.warn(
                f"cache entry {path.name} ({config.label()}) is unusable: {e}; measuring again",
                LatencyCacheWarning,
                stacklevel=3,
            )
    if not allow_measure:
        return None
    record = write_entry(path, config, fingerprint, measure_fn())
    record["cached"] = False
    return record


def measure_or_load(
    config: LatencyConfig,
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    fingerprint: str | None = None,
    allow_measure: bool = True,
) -> dict | None:
    """The cached entry of ``config`` if it is intact and current, else a fresh measurement
    (stored atomically). ``allow_measure=False`` returns None instead of measuring."""
    config.validate()
    fingerprint = fingerprint or config_fingerprint(config)
    return cached(
        config,
        entry_path(config, root),
        fingerprint,
        lambda: time_in_child("measure", [config])[0],
        remeasure=remeasure,
        allow_measure=allow_measure,
    )


def measure_all(
    configs: Iterable[LatencyConfig],
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    progress: bool | None = None,
    allow_measure: bool = True,
    max_foreign: float = MAX_FOREIGN,
) -> pd.DataFrame:
    """Measure (or load) every configuration; one row per configuration with its statistics and
    the provenance that matters for reading a latency (CPU, torch, threads, load, commit).
    ``usable``: timed while other processes used at most ``max_foreign`` cores
    (:func:`contaminated`; ``math.inf`` counts every timing, as smoke runs do)."""
    configs = [c.validate() for c in configs]
    rows = []
    for config in progress_bar(configs, enabled=progress, desc="latency"):
        record = measure_or_load(config, root, remeasure=remeasure, allow_measure=allow_measure)
        row = {
            "model": config.model,
            "width": config.kwargs.get("width_mult"),
            "groups": config.kwargs.get("groups"),
            "resolution": config.resolution,
            "threads": config.threads,
            "path": config.path,
            "n_slices": config.n_slices,
            "key": config.key(),
            "label": config.label(),
        }
        if record is None:
            rows.append(
                {
                    **row,
                    "median_ms": np.nan,
                    "iqr_ms": np.nan,
                    "cached": False,
                    "usable": False,
                    "quiet": False,
                }
            )
            continue
        prov = record["provenance"]
        rows.append(
            {
                **row,
                **{k: v for k, v in record["result"].items() if k != "times_ms"},
                "cached": record["cached"],
                "usable": not contaminated(record, max_foreign, strict=False),
                "quiet": not contaminated(record),
                "cpu_model": prov.get("cpu_model"),
                "cpu_count": prov.get("cpu_count"),
                "torch": prov.get("torch"),
                "git_commit": prov.get("git_commit"),
                "timestamp": prov.get("timestamp"),
                "load_1min_before": (prov.get("load_average_before") or [np.nan])[0],
                "load_1min_after": (prov.get("load_average_after") or [np.nan])[0],
                "foreign_cpu_cores": prov.get("foreign_cpu_cores", np.nan),
                "foreign_nice_cores": prov.get("foreign_nice_cores", np.nan),
            }
        )
    table = pd.DataFrame.from_records(rows)
    table["n_slices"] = table["n_slices"].astype("Int64")
    return table


def series_or_load(
    configs: Sequence[LatencyConfig],
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    allow_measure: bool = True,
    rounds: int = 20,
) -> list[dict | None]:
    """The cached entries of a series of configurations if every one is intact, current and was
    measured interleaved with the others; otherwise the whole series measured again with
    :func:`measure_interleaved` (stored atomically, one file per configuration)."""
    configs = [c.validate() for c in configs]
    fingerprints = [config_fingerprint(c) for c in configs]
    records = []
    for c, fp in zip(configs, fingerprints):
        try:
            record = read_latency_entry(entry_path(c, root), c, fp)
            if record["result"].get("interleaved_with") != len(configs):
                raise ValueError("not measured interleaved with this series")
            record["cached"] = True
            records.append(record)
        except ValueError as e:
            records.append(None)
            if entry_path(c, root).exists() and not remeasure:
                warnings.warn(
                    f"cache entry {entry_path(c, root).name} ({c.label()}) is "
                    f"unusable: {e}; measuring the series again",
                    LatencyCacheWarning,
                    stacklevel=2,
                )
    if (remeasure or any(r is None for r in records)) and allow_measure:
        measured = time_in_child("interleaved", configs, rounds=rounds)
        records = []
        for c, fp, m in zip(configs, fingerprints, measured):
            record = write_entry(entry_path(c, root), c, fp, m)
            record["cached"] = False
            records.append(record)
    return records


def series_groups(configs: Iterable[LatencyConfig]) -> list[list[LatencyConfig]]:
    """``configs`` (each with a ``series`` name) grouped by (series, threads), in order: each
    group is one interleaved series."""
    groups: dict[tuple[str, int], list[LatencyConfig]] = {}
    for c in dict.fromkeys(configs):
        if not c.series:
            raise ParameterError(f"series: got '' for {c.label()}; allowed: a series name")
        groups.setdefault(c.group, []).append(c)
    return list(groups.values())


def series_table(
    configs: Sequence[LatencyConfig],
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    allow_measure: bool = True,
    progress: bool | None = None,
    rounds: int = 20,
    max_foreign: float = MAX_FOREIGN,
) -> pd.DataFrame:
    """:func:`measure_all`'s table for configurations timed as interleaved series
    (:func:`series_groups`, :func:`series_or_load`): ratios within a series do not depend on
    when it was timed."""
    configs = [c.validate() for c in configs]
    for group in progress_bar(series_groups(configs), enabled=progress, desc="latency series"):
        series_or_load(group, root, remeasure=remeasure, allow_measure=allow_measure, rounds=rounds)
    return measure_all(configs, root, allow_measure=False, progress=False, max_foreign=max_foreign)
