"""Start 2 CPU ranks under torchrun, as the tests that check DDP runs need them: one thread each,
this checkout first on the path, in their own process group (so that a hang kills the ranks and
their decoding workers too, not only torchrun: orphaned ranks would hold the pipes and the cores).

    proc = run_two_ranks(["-m", "mnv2lab.train", "--config", str(cfg)], cwd=tmp_path)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_two_ranks(
    args: list[str | os.PathLike],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 *args`` in ``cwd``; ``env`` adds to the
    environment. Fails the test (with torchrun's last output) after ``timeout`` seconds."""
    command = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc_per_node=2"]
    command += [str(a) for a in args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout:g} s; its last output:\n{err[-3000:]}")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)
