"""The study's runner: which runs are done, how long the rest will take, and training the missing
ones in order (``python -m mnv2lab.study status|run``).

After each freshly trained run the runner calls the registered after-run hooks, while the trained
network is still in memory: an analysis that needs something from every run (Figure 7's
activation statistics, :mod:`mnv2lab.activations`) registers one with :func:`register_after_run`,
so the runner never imports the analyses.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from ..train import RunResult, launch
from .collect import is_done, result_file, stored
from .definition import StudyRun
from .timing import estimate_seconds

# hook(run, result, folder of its result JSON) -> files it wrote (each printed as "result: <path>")
AfterRunHook = Callable[[StudyRun, RunResult, Path], list[Path]]
AFTER_RUN_HOOKS: dict[str, AfterRunHook] = {}


def register_after_run(name: str, hook: AfterRunHook) -> None:
    """Have :func:`run_study` call ``hook`` after every run it trains (registering a name again
    replaces its hook). A hook picks the runs it cares about itself and returns the files it wrote."""
    AFTER_RUN_HOOKS[name] = hook


def _hours(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 3600:.2f} h"


def status_lines(runs: Sequence[StudyRun], results: str | os.PathLike | None = None) -> list[str]:
    """One line per run (done/missing, key, minutes, uses) and a total of the time left.

    Minutes of a missing run: the mean wall time of the finished runs with the same model and
    width when there are some (they include this machine's current load), else the measured
    table (:data:`mnv2lab.study.timing.SECONDS_PER_EPOCH`)."""
    found = {r.name: stored(r, results) for r in runs}
    done = {name: res is not None for name, res in found.items()}
    walls: dict[tuple, list[float]] = {}
    for r in runs:
        res = found[r.name]
        if res is not None:
            wall = res.provenance.get("wall_time_s") or res.final.get("wall_time_s")
            if wall:
                walls.setdefault((r.model, r.width), []).append(float(wall))
    lines, left, unknown = [], 0.0, 0
    for i, r in enumerate(runs, 1):
        seen = walls.get((r.model, r.width))
        est = sum(seen) / len(seen) if seen else estimate_seconds(r)
        if not done[r.name]:
            if est is None:
                unknown += 1
            else:
                left += est
        minutes = "   ?" if est is None else f"{est / 60:4.0f}"
        lines.append(
            f"{i:3d}  {'done   ' if done[r.name] else 'missing'}  {r.name:34s} "
            f"{r.key}  {minutes} min  {','.join(r.uses)}"
        )
    lines.append(
        f"{sum(done.values())}/{len(runs)} done; estimated time left {_hours(left)}"
        + (f" (+{unknown} runs without a timing)" if unknown else "")
    )
    return lines


def run_study(
    runs: Sequence[StudyRun],
    *,
    max_runs: int | None = None,
    progress: bool = True,
    results: str | os.PathLike | None = None,
    out=sys.stdout,
) -> list[Path]:
    """Train every missing run of ``runs`` in order (resuming from checkpoints) and store its
    result; print progress and, after each finished run, ``result: <path>``.

    A run whose configuration asks for several ranks (the long budget: 2 DDP ranks x 1 thread)
    is started with that many processes (:func:`mnv2lab.train.launch.run`). Thread and rank
    counts come from the run's configuration only: they change the numbers, so they are part of
    its identity (there is no runner-wide override)."""
    missing = [r for r in runs if not is_done(r, results)]
    todo = missing if max_runs is None else missing[:max_runs]
    print(
        f"{len(runs) - len(missing)}/{len(runs)} runs done; training {len(todo)} now",
        file=out,
        flush=True,
    )
    written = []
    for i, r in enumerate(todo, 1):
        est = estimate_seconds(r)
        about = "" if est is None else f", about {est / 60:.0f} min"
        print(
            f"[{i}/{len(todo)}] {r.name} ({r.config.label()}, {r.config.epochs} epochs, key "
            f"{r.key}{about})",
            file=out,
            flush=True,
        )
        start = time.perf_counter()
        config = r.config
        result = launch.run(config, results, progress=progress)
        path = result_file(r, results)
        print(
            f"  test accuracy {result.final['test_acc']:.4f} after "
            f"{(time.perf_counter() - start) / 60:.1f} min",
            file=out,
            flush=True,
        )
        print(f"result: {path}", file=out, flush=True)
        written.append(path)
        written += _after_run(r, result, path.parent, out)
    return written


def _after_run(run: StudyRun, result: RunResult, folder: Path, out) -> list[Path]:
    """Call every registered hook on a freshly trained run. A failing hook is reported and never
    costs the training result (the notebooks can compute the same later from saved weights)."""
    written = []
    for name, hook in AFTER_RUN_HOOKS.items():
        try:
            paths = hook(run, result, folder)
        except Exception as e:  # noqa: BLE001 (report it and carry on with the next run)
            print(
                f"  after-run step {name!r} failed ({type(e).__name__}: {e}); its notebook "
                "computes it later from the saved weights",
                file=out,
                flush=True,
            )
            continue
        for p in paths:
            print(f"result: {p}", file=out, flush=True)
        written += paths
    return written
