"""Measuring on a shared machine: which timings were disturbed by other processes, waiting for
quiet moments to (re)measure them, and the conditions in words."""

from __future__ import annotations

import os
import time
import warnings
from typing import Callable, Sequence

import pandas as pd

from .breakdown import breakdown_or_load
from .cache import LatencyCacheWarning, measure_or_load, series_groups, series_or_load
from .config import LatencyConfig
from .timing import MAX_FOREIGN, contaminated, foreign_cpu, load_average


def _wait_until_quiet(
    max_foreign: float, deadline: float, poll_seconds: float, log: Callable[[str], None], left: int
) -> bool:
    """Sleep until other processes (niced ones included) use at most ``max_foreign`` cores
    for 2 s; False if the deadline passes first."""
    while time.monotonic() < deadline:
        normal, nice = foreign_cpu(2.0) or (0.0, 0.0)
        if normal <= max_foreign and nice <= max_foreign:
            return True
        log(
            f"waiting: other processes use {normal:.2f} cores (+{nice:.2f} niced; load "
            f"{load_average()}); {left} left"
        )
        time.sleep(poll_seconds)
    return False


def measure_quietly(
    configs: Sequence[LatencyConfig],
    root: str | os.PathLike | None = None,
    *,
    breakdown_configs: Sequence[LatencyConfig] = (),
    series: Sequence[LatencyConfig] = (),
    max_foreign: float = MAX_FOREIGN,
    max_seconds: float = 3 * 3600,
    poll_seconds: float = 20.0,
    log: Callable[[str], None] = print,
) -> dict:
    """Fill the cache with timings taken when the machine is quiet: every configuration whose
    entry is missing, outdated or contaminated (:func:`contaminated`, niced processes included)
    is measured when other processes have used at most ``max_foreign`` cores for 2 s, and
    again later if they used more while it was timed. ``breakdown_configs`` get their time
    breakdown (:func:`breakdown_or_load`) the same way, and ``series`` (configurations with
    a series name) are measured interleaved, one (series, threads) group at a time
    (:func:`series_or_load`). Gives up after ``max_seconds``, leaving the last
    measurement (with its recorded contamination) in the cache."""
    jobs = []  # (label, needs it?, measure it -> records)
    for c in dict.fromkeys(configs):
        jobs.append(
            (
                c.label(),
                lambda c=c: [measure_or_load(c, root, allow_measure=False)],
                lambda c=c: [measure_or_load(c, root, remeasure=True)],
            )
        )
    for c in dict.fromkeys(breakdown_configs):
        jobs.append(
            (
                c.label() + " (breakdown)",
                lambda c=c: [breakdown_or_load(c, root, allow_measure=False)],
                lambda c=c: [breakdown_or_load(c, root, remeasure=True)],
            )
        )
    for group in series_groups(series):
        jobs.append(
            (
                f"series of {len(group)}: {group[0].label()} ...",
                lambda g=group: series_or_load(g, root, allow_measure=False),
                lambda g=group: series_or_load(g, root, remeasure=True),
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LatencyCacheWarning)
        pending = [j for j in jobs if any(contaminated(r, max_foreign) for r in j[1]())]
    deadline = time.monotonic() + max_seconds
    clean = retries = 0
    total = len(pending)
    while pending and _wait_until_quiet(max_foreign, deadline, poll_seconds, log, len(pending)):
        job = pending.pop(0)
        records = job[2]()
        prov = records[0]["provenance"]
        note = f"others {prov['foreign_cpu_cores']} cores, +{prov['foreign_nice_cores']} niced"
        if "median_ms" in records[0]["result"]:
            note = ", ".join(f"{r['result']['median_ms']:.2f}" for r in records) + f" ms ({note})"
        if any(contaminated(r, max_foreign) for r in records):
            pending.append(job)
            retries += 1
            log(f"contaminated, again later: {job[0]}: {note}")
        else:
            clean += 1
            log(f"{clean}/{total} {job[0]}: {note}")
    return {"clean": clean, "left": len(pending), "retries": retries}


def usable(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`measure_all` table whose timing counts (:func:`contaminated` with
    ``strict=False``); the others are reported by :func:`excluded_text`."""
    return table[table["usable"]] if "usable" in table else table


def excluded_text(table: pd.DataFrame) -> str:
    """Which measured configurations were left out as contaminated, and by how much."""
    if "usable" not in table:
        return ""
    bad = table[~table["usable"] & table["median_ms"].notna()]
    if bad.empty:
        return "no timing left out as contaminated"
    items = "; ".join(
        f"{r.label} ({r.median_ms:.1f} ms, others {r.foreign_cpu_cores:.2f} cores "
        f"+ {r.foreign_nice_cores:.2f} niced)"
        for r in bad.itertuples()
    )
    return (
        f"{len(bad)} timing(s) left out, taken while other processes used more than "
        f"{MAX_FOREIGN} cores: {items}"
    )


def cpu_label(rows: pd.DataFrame) -> str:
    """ "AMD EPYC (2 cores)": the CPU(s) the timings in ``rows`` were taken on (latency rows with
    ``cpu_model`` and ``cpu_count``), so that a finding read on another machine names the machine
    it describes rather than "this CPU"; "an unrecorded CPU" if none is known."""
    if rows.empty or "cpu_model" not in rows or rows["cpu_model"].isna().all():
        return "an unrecorded CPU"
    machines = {
        f"{r.cpu_model} ({int(r.cpu_count)} cores)" if pd.notna(r.cpu_count) else r.cpu_model
        for r in rows.itertuples()
        if isinstance(r.cpu_model, str)
    }
    return " and ".join(sorted(machines))


def machine_text(table: pd.DataFrame) -> str:
    """ "CPU (n cores), torch x.y" of the measurements in ``table`` (for figure titles)."""
    if table.empty or "cpu_model" not in table or table["cpu_model"].isna().all():
        return ""
    return f"{cpu_label(table)}, torch {', '.join(sorted(set(table['torch'].dropna())))}"


def describe_conditions(table: pd.DataFrame) -> str:
    """One sentence for captions: machine, torch, threads, batch and the load while measuring."""
    if table.empty or "cpu_model" not in table or table["cpu_model"].isna().all():
        return "no latency measured"
    cpus = ", ".join(sorted(set(table["cpu_model"].dropna())))
    torches = ", ".join(sorted(set(table["torch"].dropna())))
    threads = ", ".join(str(t) for t in sorted(set(table["threads"])))
    cores = ", ".join(str(int(c)) for c in sorted(set(table["cpu_count"].dropna())))
    loads = table["load_1min_before"].dropna()
    load = (
        f"1-min load average {loads.min():.2f}-{loads.max():.2f} before measuring"
        if len(loads)
        else "load unknown"
    )
    foreign = table["foreign_cpu_cores"].dropna() if "foreign_cpu_cores" in table else []
    if len(foreign):
        load += (
            f", other processes using {foreign.min():.2f}-{foreign.max():.2f} cores while timing"
        )
    nice = table["foreign_nice_cores"].dropna() if "foreign_nice_cores" in table else []
    if len(nice) and nice.max() > 0.05:
        load += f" (+ niced background jobs {nice.min():.2f}-{nice.max():.2f} cores)"
    return (
        f"{cpus} ({cores} cores), torch {torches}, {threads} thread(s), batch 1, fp32, eval; {load}"
    )
