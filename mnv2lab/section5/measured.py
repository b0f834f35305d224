"""Section 5 measured: peak activation memory and latency of MobileNetV2 against the number of
slices ``n_slices`` ("t" in the paper's Section 5, not the expansion ratio), cached.

* Memory: :func:`mnv2lab.memory_probe.measure_peak` (fresh subprocesses, high-water mark over a
  baseline with the same weights) for the sliced executor and for the plain practitioner model,
  beside :func:`mnv2lab.memory_efficient.analytic_peak_bytes`. Cached in
  ``results/memory_efficient/<key>.json`` with the same verified format and provenance as the
  latency cache (:func:`mnv2lab.latency.cached`).
* Latency: :func:`mnv2lab.latency.measure_all` with ``path="sliced"`` (and the practitioner path
  for reference), cached in ``results/latency/``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..findings import Finding, count_verdict
from ..latency import (
    MAX_FOREIGN,
    LatencyCacheWarning,
    LatencyConfig,
    builder_name,
    code_fingerprint,
    cpu_label,
    load_average,
    measurement_provenance,
    model_files,
    read_entry,
    series_table,
    write_entry,
)
from ..memory_efficient import SLICES, analytic_peak_bytes
from ..memory_probe import MemoryConfig, measure_peaks
from ..models import mobilenet_v2
from ..paths import resolve, results_dir
from ..progress import progress as progress_bar

# The code behind a peak-memory measurement (always MobileNetV2, see mnv2lab.memory_probe): the
# model's own files plus these. Narrowed from "models/*.py" like the latency fingerprints.
MEMORY_PATH_FILES = ("inference.py", "memory_efficient.py", "memory_probe.py")
MB = 1e6


def memory_fingerprint() -> str:
    """The code fingerprint a cached peak-memory entry must carry."""
    return code_fingerprint(
        model_files("mobilenet_v2") + MEMORY_PATH_FILES, builder_name("mobilenet_v2")
    )


def memory_dir(root: str | os.PathLike | None = None) -> Path:
    """Where cached peak-memory measurements live: ``results/memory_efficient`` by default."""
    return resolve(root) if root is not None else results_dir() / "memory_efficient"


def memory_configs(
    resolutions: Sequence[int],
    slices: Sequence[int] = SLICES,
    width: float = 1.0,
    repeats: int = 3,
    plain: bool = True,
) -> list[MemoryConfig]:
    """The sliced executor at every (resolution, n_slices) and (``plain``) the plain model per
    resolution."""
    out = []
    for r in resolutions:
        if plain:
            out.append(MemoryConfig(r, "plain", None, width, repeats))
        out += [MemoryConfig(r, "sliced", n, width, repeats) for n in slices]
    return [c.validate() for c in out]


def memory_table(
    configs: Sequence[MemoryConfig],
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    allow_measure: bool = True,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Measured peak (MB, 1 MB = 10^6 bytes, fp32) and the analytic bound for every config."""
    fingerprint = memory_fingerprint()
    paths = {c: memory_dir(root) / f"{c.key()}.json" for c in configs}
    todo = [c for c in configs if remeasure or _unusable(c, paths[c], fingerprint)]
    if todo and allow_measure:  # measure in parallel, then read everything back
        batches = [todo[i : i + 2] for i in range(0, len(todo), 2)]
        for batch in progress_bar(batches, enabled=progress, desc="peak memory"):
            load_before = load_average()
            for c, result in zip(batch, measure_peaks(batch)):
                write_entry(
                    paths[c],
                    c,
                    fingerprint,
                    {"result": result, "provenance": measurement_provenance(1, load_before)},
                )
    models: dict[float, torch.nn.Module] = {}
    rows = []
    for config in configs:
        try:
            record = read_entry(paths[config], config, fingerprint)
            record["cached"] = config not in todo
        except ValueError:  # missing, or unusable and not measured (warned above)
            record = None
        if config.width not in models:
            with torch.device("meta"):
                models[config.width] = mobilenet_v2(config.width)
        bound = (
            analytic_peak_bytes(models[config.width], config.resolution, config.n_slices)
            if config.path == "sliced"
            else None
        )
        row = {
            "resolution": config.resolution,
            "path": config.path,
            "n_slices": config.n_slices,
            "width": config.width,
            "analytic_mb": bound["peak"] / MB if bound else np.nan,
            "analytic_where": bound["where"] if bound else None,
        }
        if record is None:
            rows.append({**row, "measured_mb": np.nan, "cached": False})
            continue
        prov = record["provenance"]
        rows.append(
            {
                **row,
                "measured_mb": record["result"]["peak_bytes"] / MB,
                "first_pass_mb": (
                    record["result"]["run_delta_kib"][0]
                    - np.median(record["result"]["baseline_delta_kib"])
                )
                * 1024
                / MB,
                "reset": record["result"]["reset"],
                "counter": record["result"]["counter"],
                "cached": record["cached"],
                "cpu_model": prov.get("cpu_model"),
                "cpu_count": prov.get("cpu_count"),
                "torch": prov.get("torch"),
                "git_commit": prov.get("git_commit"),
                "timestamp": prov.get("timestamp"),
            }
        )
    table = pd.DataFrame.from_records(rows)
    table["n_slices"] = table["n_slices"].astype("Int64")
    if "reset" in table and (table.reset == False).any():  # noqa: E712 (NaN-aware)
        warnings.warn(
            "some peaks were measured without resetting the kernel's high-water mark "
            "(/proc/self/clear_refs unavailable): small peaks read too low",
            LatencyCacheWarning,
            stacklevel=2,
        )
    return table


def _unusable(config: MemoryConfig, path: Path, fingerprint: str) -> bool:
    """Whether the entry at ``path`` must be measured (absent, corrupt or outdated: warned)."""
    if not path.exists():
        return True
    try:
        read_entry(path, config, fingerprint)
        return False
    except ValueError as e:
        warnings.warn(
            f"cache entry {path.name} ({config.label()}) is unusable: {e}; measuring again",
            LatencyCacheWarning,
            stacklevel=3,
        )
        return True


def latency_configs(
    resolutions: Sequence[int],
    slices: Sequence[int] = SLICES,
    threads: Sequence[int] = (1, 2),
    width: float = 1.0,
    min_run_time: float = 2.0,
) -> list[LatencyConfig]:
    """The sliced executor at every (resolution, threads, n_slices) plus the practitioner path;
    one interleaved series per (resolution, threads)."""
    kwargs = {"width_mult": float(width)}
    out = []
    for r in resolutions:
        for th in threads:
            name = f"slices@{r}"
            out.append(
                LatencyConfig(
                    "mobilenet_v2",
                    kwargs,
                    r,
                    th,
                    "practitioner",
                    min_run_time=min_run_time,
                    series=name,
                )
            )
            out += [
                LatencyConfig(
                    "mobilenet_v2",
                    kwargs,
                    r,
                    th,
                    "sliced",
                    n,
                    min_run_time=min_run_time,
                    series=name,
                )
                for n in slices
            ]
    return out


def latency_table(
    configs: Sequence[LatencyConfig],
    root: str | os.PathLike | None = None,
    *,
    remeasure: bool = False,
    allow_measure: bool = True,
    progress: bool | None = None,
    max_foreign: float = MAX_FOREIGN,
) -> pd.DataFrame:
    """Latency per config, with ``slowdown``: the median over the same executor unsliced
    (n_slices = 1) at the same resolution and threads. The configurations of one (resolution,
    threads) are one series, timed interleaved (:func:`mnv2lab.latency.series_table`), so that
    their ratios do not depend on when each was timed. Contaminated timings
    (:func:`mnv2lab.latency.usable`) are blanked."""
    table = series_table(
        configs,
        root,
        remeasure=remeasure,
        allow_measure=allow_measure,
        progress=progress,
        max_foreign=max_foreign,
    )
    table.loc[~table["usable"], "median_ms"] = np.nan  # contaminated: left out
    sliced = table[table.path == "sliced"]
    one = sliced[sliced.n_slices == 1].set_index(["resolution", "threads"]).median_ms
    table["slowdown"] = [
        row.median_ms / one.get((row.resolution, row.threads), np.nan) for row in table.itertuples()
    ]
    return table


def verdict(memory: pd.DataFrame, latency: pd.DataFrame, low: int = 2, high: int = 5) -> str:
    """Does n_slices in [low, high] cut memory a lot while keeping most of the speed? One
    paragraph with the numbers, from the measured tables."""
    mem = memory[(memory.path == "sliced")].dropna(subset=["measured_mb"])
    lat = latency[(latency.path == "sliced")].dropna(subset=["median_ms"])
    if mem.empty or lat.empty:
        return "Section 5: measurements missing; run with the caches present or allow measuring."
    parts = []
    for res, group in mem.groupby("resolution"):
        g = group.set_index("n_slices").measured_mb
        plain = memory[(memory.path == "plain") & (memory.resolution == res)].measured_mb
        inside = [n for n in g.index if low <= n <= high]
        if 1 not in g.index or not inside:
            continue
        cut = 1 - g.loc[inside].astype(float) / g.loc[1]
        plain_txt = f", plain model {plain.iloc[0]:.1f} MB" if len(plain) else ""
        parts.append(
            f"at {res}x{res}: {g.loc[1]:.1f} MB unsliced{plain_txt}; t={min(inside)}..."
            f"{max(inside)} slices: {g.loc[min(inside)]:.1f}-{g.loc[max(inside)]:.1f} MB "
            f"({cut.min():.0%}-{cut.max():.0%} less)"
        )
    speed = []
    for (res, th), group in lat.groupby(["resolution", "threads"]):
        s = group.set_index("n_slices").slowdown
        inside = [n for n in s.index if low <= n <= high]
        if inside:
            worst = max(inside, key=lambda n: s.loc[n])
            speed.append(
                f"{res}x{res}, {th} thread(s): at most {s.loc[worst]:.2f}x the unsliced "
                f"time (t={worst})"
                + (
                    f", {s.loc[max(s.index)]:.2f}x at t={max(s.index)}"
                    if max(s.index) > high
                    else ""
                )
            )
    return "Memory " + "; ".join(parts) + ". Latency " + "; ".join(speed) + "."


MEMORY_CUT, MAX_SLOWDOWN = 0.5, 1.25  # "cuts memory a lot", "keeps most of the speed"


def finding(
    memory: pd.DataFrame,
    latency_slices: pd.DataFrame,
    low: int = 2,
    high: int = 5,
    figures: tuple[str, ...] = (),
) -> Finding | None:
    """Section 5's finding. For each measured (resolution, threads): the t in [low, high] whose
    measured peak memory is at least 50% below the unsliced one while the time stays within
    1.25x of the unsliced one; all / some / no settings have one
    (:func:`mnv2lab.findings.count_verdict`)."""
    if memory.empty or latency_slices.empty:
        return None
    mem = memory[memory.path == "sliced"].dropna(subset=["measured_mb"])
    lat = latency_slices[latency_slices.path == "sliced"].dropna(subset=["median_ms"])
    if mem.empty or lat.empty or 1 not in set(mem.n_slices):
        return None
    cut = {}
    for res, g in mem.groupby("resolution"):
        m = g.set_index("n_slices").measured_mb
        cut.update({(res, int(t)): 1 - m[t] / m[1] for t in m.index if low <= t <= high})
    settings, good = [], 0
    for (res, th), g in lat.groupby(["resolution", "threads"]):
        slow = {int(t): v for t, v in zip(g.n_slices, g.slowdown) if low <= t <= high}
        ok = [
            t
            for t in sorted(slow)
            if (res, t) in cut and cut[(res, t)] >= MEMORY_CUT and slow[t] <= MAX_SLOWDOWN
        ]
        if not slow:
            continue
        good += bool(ok)
        if ok:
            settings.append(f"{res}/{th}thr t={','.join(map(str, ok))}")
        else:
            t = min(slow)
            settings.append(
                f"{res}/{th}thr none (t={t}: {cut.get((res, t), float('nan')):.0%} "
                f"less, {slow[t]:.2f}x)"
            )
    if not settings:
        return None
    cuts = list(cut.values())
    return Finding(
        "Section 5",
        count_verdict(good, len(settings)),
        f"t={low}-{high} cut measured peak memory {min(cuts):.0%}-{max(cuts):.0%}; t "
        f"with >=50% less memory at <=1.25x time: "
        + "; ".join(settings)
        + f" (on {cpu_label(pd.concat([mem, lat]))})",
        figures=figures,
    )
