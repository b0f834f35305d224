"""Start a run with as many processes as its configuration says (``TrainConfig.ranks``).

    from mnv2lab.train import TrainConfig
    from mnv2lab.train.launch import run
    result = run(TrainConfig(..., ranks=2, threads=1))   # 2 DDP processes x 1 thread

One process (``ranks=1``) trains in this process (:func:`~mnv2lab.train.run_or_load`). Several
ranks are started as ``python -m torch.distributed.run --standalone --nproc-per-node N -m
mnv2lab.train --config <file>`` (gloo on CPU, nccl on CUDA, one GPU per rank); rank 0 stores the
result, which is then read back here. A stored result is returned without starting anything.

Why several ranks on one CPU: on a 2-core machine, two 1-thread DDP ranks train these small
tensors faster than one 2-thread process: by how much depends on the CPU (about 2x per epoch on
an AMD EPYC, 1.6x on an Intel Xeon; ``benchmarks/study_mode.py``, README). Each
rank's BatchNorm then normalizes its own half of the global batch (no SyncBatchNorm), so a
2-rank run is a different run from a 1-rank one: ``ranks`` is part of the run's key.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from .config import TrainConfig
from .engine import RunResult
from .results import load_intact, load_result, result_path, run_or_load


class LaunchError(RuntimeError):
    """The ranks of a multi-process run failed (the message names the run and the exit code)."""


def torchrun_command(
    config_file: str | os.PathLike,
    ranks: int,
    results_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> list[str]:
    """The command that trains the configuration in ``config_file`` with ``ranks`` processes."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={ranks}",
        "-m",
        "mnv2lab.train",
        "--config",
        str(config_file),
    ]
    if results_dir is not None:
        cmd += ["--results-dir", str(results_dir)]
    if not progress:
        cmd.append("--no-progress")
    return cmd


class _Terminated(SystemExit):
    """SIGTERM while the ranks run: leave through ``finally`` blocks (which stop the ranks)."""


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While active (main thread only), SIGTERM raises :class:`_Terminated` instead of killing
    this process at once, so that the ranks it started are stopped with it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum, frame):
        raise _Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait_for_ranks(proc: subprocess.Popen, grace_s: float = 60.0) -> int:
    """``proc``'s exit code. If this process is stopped first (SIGTERM, Ctrl-C, an error), ``proc``
    (torchrun, which passes the signal on to its ranks) is terminated too, and killed after
    ``grace_s`` seconds: otherwise the ranks would train on, orphaned, holding the run's lock."""
    try:
        with _sigterm_exits():
            return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run(
    config: TrainConfig,
    results_dir: str | os.PathLike | None = None,
    *,
    progress: bool | None = None,
) -> RunResult:
    """The result of ``config``, trained with ``config.ranks`` processes if it is not stored yet.

    Inside a ``torchrun`` job (or with ``ranks=1``) this is :func:`run_or_load`. Otherwise the
    ranks are started as child processes; their output goes to this process's stdout/stderr. A
    failed rank raises :class:`LaunchError`; an interrupted run resumes from its checkpoint the
    next time it is launched. Stopping this process (SIGTERM, Ctrl-C) stops the ranks too."""
    config.validate()
    if config.ranks == 1 or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return run_or_load(config, results_dir, progress=progress)
    cached = load_intact(config, results_dir, unusable="recomputing it")
    if cached is not None:
        return cached
    path = result_path(config, results_dir)
    with tempfile.TemporaryDirectory(prefix="mnv2lab-launch-") as tmp:
        config_file = Path(tmp) / "config.json"
        config_file.write_text(json.dumps(config.to_dict()))
        env = {**os.environ, "OMP_NUM_THREADS": str(config.threads or 1)}
        cmd = torchrun_command(
            config_file, config.ranks, results_dir, progress=progress is not False
        )
        code = _wait_for_ranks(subprocess.Popen(cmd, env=env))
    if code != 0:
        raise LaunchError(
            f"run {config.key()} ({config.label()}) with {config.ranks} ranks failed "
            f"with exit code {code}; its checkpoint (if any) is kept: launch it "
            "again to resume"
        )
    return load_result(path, config)
