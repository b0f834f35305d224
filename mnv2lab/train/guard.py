"""One trainer per run at a time, and a Ctrl-C that stops training at a step boundary.

Two trainers on one run directory would overwrite each other's checkpoints (and the second's
start-up cleanup of temporary files would delete the first one's checkpoint mid-write).
:func:`run_lock` holds ``<run directory>/lock`` (an exclusive ``flock``, with the holder's pid
written in it) for the whole run: a second trainer gets :class:`RunLockedError` naming the holder.
The operating system drops the lock when its holder dies, so a lock file left by a killed run
(a dead pid) is simply taken over. While the lock is held, no other process writes into the run
directory, so the temporary files found there are leftovers of a dead writer and are removed.

:class:`StopRequest` turns SIGINT into a flag the training loop checks after each step, so the
checkpoint saved on Ctrl-C holds a whole step, never half of one; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Iterator

LOCK_NAME = "lock"


class RunLockedError(RuntimeError):
    """Another live process is training the same run (same key, same run directory)."""


class TrainingStopped(KeyboardInterrupt):
    """Training stopped by Ctrl-C (SIGINT) after saving a checkpoint; the message says how to
    resume. A KeyboardInterrupt, so callers that stop on Ctrl-C keep doing so."""


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@contextlib.contextmanager
def run_lock(run_directory: Path, enabled: bool = True) -> Iterator[None]:
    """Hold the run directory's lock, then remove temporary files left by dead writers.

    Raises :class:`RunLockedError` at once if another live process holds it. ``enabled=False``
    (the non-main ranks of a distributed run, which write nothing) does nothing.
    """
    if not enabled:
        yield
        return
    run_directory.mkdir(parents=True, exist_ok=True)
    path = run_directory / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(
                f"run {run_directory.name} is being trained by process {_holder(path)} (lock "
                f"{path}); two trainers on one run would overwrite each other's checkpoints. Wait "
                "for it to finish and run again (the finished result is then loaded), or stop "
                "that process first."
            ) from None
        try:  # the file may have been removed by the previous holder meanwhile
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        for stale in run_directory.glob(".*.tmp"):  # written by a process that is gone
            stale.unlink(missing_ok=True)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)  # releases the flock


class StopRequest:
    """While active (a context manager), SIGINT sets :attr:`requested` instead of raising; a
    second SIGINT raises KeyboardInterrupt at once. Inactive outside the main thread or when
    ``enabled`` is False (distributed runs, where every rank would have to stop at one step)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: stopping after this step and saving a checkpoint (Ctrl-C again to stop "
            "at once, without one)",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> "StopRequest":
        if self.enabled:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            signal.signal(signal.SIGINT, self._previous)


def stopped(step: int, total: int, checkpoint_path: Path) -> TrainingStopped:
    """The exception (with its resume hint, also printed) for a run stopped by Ctrl-C."""
    message = (
        f"training interrupted (Ctrl-C) after step {step} of {total}; checkpoint saved to "
        f"{checkpoint_path}. To resume, run the same command again (for example "
        "`python -m mnv2lab.train --config <the same file>`, or run_or_load / train with "
        f"the same configuration): it continues from step {step}."
    )
    print(message, file=sys.stderr, flush=True)
    return TrainingStopped(message)
