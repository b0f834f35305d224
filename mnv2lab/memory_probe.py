"""Peak activation memory of one MobileNetV2 forward pass, measured in fresh subprocesses.

``tracemalloc`` does not see tensor memory, and a long-lived process remembers every earlier peak,
so each measurement runs in a new Python process (``python -m mnv2lab.memory_probe``) that

1. builds the model with seed 0 (the same weights every time) and its executor,
2. runs one warm-up pass at a small resolution (loads the kernels' code pages),
3. allocates the input image at the full resolution,
4. ``repeats`` times: resets the kernel's high-water mark (``/proc/self/clear_refs``, Linux),
   notes it, runs the forward pass (``run`` mode; ``baseline`` mode skips it), and reads the
   high-water mark again (:func:`peak_rss_kib`: ``VmHWM``, i.e. ``ru_maxrss`` without what a
   child process inherits from its parent, which would hide any peak smaller than the parent).

The reset matters: building the model briefly needs more memory than it keeps, and without it a
small forward pass would fit under that earlier peak and read as zero. The peak activation memory
is the median high-water increase of the ``run`` process minus that of the ``baseline``
process, which loads the same weights and does everything but the forward pass (interpreter,
torch, weights and the input image cancel). glibc's malloc is pinned to hand large blocks back to
the OS at once (``MALLOC_MMAP_THRESHOLD_``), so a freed slice does not keep its pages, and one
thread is used (per-thread arenas and scratch buffers would blur the number). Where the reset is
not available the increase over the start-up peak is reported and flagged (``reset: false``).

Paths: ``sliced`` (the Section 5 executor with ``n_slices``) and ``plain`` (the practitioner path
of :mod:`mnv2lab.inference`: BN folded, channels last, inference mode).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass

import numpy as np

from .params import ParameterError
from .paths import repo_root

MEMORY_PATHS = ("sliced", "plain")
WARMUP_RESOLUTION = 64
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "65536",
    "MALLOC_TRIM_THRESHOLD_": "65536",
    "MALLOC_ARENA_MAX": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# Bump when what the probe does changes: cached memory entries then re-measure.
PROBE_VERSION = 1


@dataclass(frozen=True)
class MemoryConfig:
    """One peak-memory measurement of MobileNetV2 at ``width`` and ``resolution``."""

    resolution: int = 224
    path: str = "sliced"  # sliced | plain
    n_slices: int | None = 1  # sliced only
    width: float = 1.0
    repeats: int = 3  # forward passes (each after a peak reset); the first
    # full-size pass has a one-time extra, so the median
    # needs 3 or more

    def validate(self) -> "MemoryConfig":
        if not isinstance(self.resolution, int) or self.resolution < 32:
            raise ParameterError(f"resolution: got {self.resolution!r}; allowed: an integer >= 32")
        if self.path not in MEMORY_PATHS:
            raise ParameterError(f"path: got {self.path!r}; allowed: one of {list(MEMORY_PATHS)}")
        if (self.path == "sliced") != (self.n_slices is not None):
            raise ParameterError(
                f"n_slices: got {self.n_slices!r} with path {self.path!r}; "
                "allowed: an integer >= 1 for 'sliced', None for 'plain'"
            )
        if self.n_slices is not None and (not isinstance(self.n_slices, int) or self.n_slices < 1):
            raise ParameterError(f"n_slices: got {self.n_slices!r}; allowed: an integer >= 1")
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise ParameterError(f"repeats: got {self.repeats!r}; allowed: an integer >= 1")
        if not isinstance(self.width, (int, float)) or not self.width > 0:
            raise ParameterError(f"width: got {self.width!r}; allowed: a number > 0")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["width"] = float(d["width"])
        d["probe_version"] = PROBE_VERSION
        return d

    def key(self) -> str:
        import hashlib

        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def label(self) -> str:
        what = f"{self.n_slices} slice(s)" if self.path == "sliced" else "plain model"
        return f"MobileNetV2 {self.width:g} @{self.resolution}, {what}"


# ------------------------------------------------------------------ the child process


def _child(
    resolution: int, path: str, n_slices: int | None, width: float, mode: str, repeats: int
) -> dict:
    import torch

    from .inference import prepare_for_inference, prepare_input
    from .memory_efficient import MemoryEfficientMobileNetV2
    from .models import mobilenet_v2

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = mobilenet_v2(width).eval()
    if path == "sliced":
        executor = MemoryEfficientMobileNetV2(model)
        del model

        def forward(x):
            return executor(x, n_slices)

        def prepare(x):
            return x.contiguous(memory_format=torch.channels_last)
    else:
        prepared = prepare_for_inference(model)
        del model

        def forward(x):
            with torch.inference_mode():
                return prepared(x)

        def prepare(x):
            return prepare_input(x, True)

    forward(prepare(torch.randn(1, 3, WARMUP_RESOLUTION, WARMUP_RESOLUTION)))
    x = prepare(
        torch.randn(1, 3, resolution, resolution, generator=torch.Generator().manual_seed(1))
    )
    deltas, checksum, reset = [], None, True
    for _ in range(repeats):
        reset = _reset_peak() and reset
        before = peak_rss_kib()
        if mode == "run":
            logits = forward(x)
            checksum = float(logits.double().sum())
            del logits
        deltas.append(peak_rss_kib() - before)
    return {
        "mode": mode,
        "delta_kib": deltas,
        "reset": reset,
        "checksum": checksum,
        "peak_rss_kib": peak_rss_kib(),
        "counter": _COUNTER,
    }


_COUNTER = "VmHWM" if os.path.exists("/proc/self/status") else "ru_maxrss"


def peak_rss_kib() -> int:
    """This process's peak resident size in KiB: ``VmHWM`` of ``/proc/self/status`` on Linux
    (the counter behind ``ru_maxrss`` without the part a child inherits from its parent at
    fork/exec, which would hide any peak smaller than the parent), else ``ru_maxrss``."""
    if _COUNTER == "VmHWM":
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset the process's peak resident size to its current size (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mnv2lab.memory_probe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--resolution", type=int, required=True)
    ap.add_argument("--path", choices=MEMORY_PATHS, required=True)
    ap.add_argument("--n-slices", type=int)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--mode", choices=("run", "baseline"), required=True)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    print(json.dumps(_child(a.resolution, a.path, a.n_slices, a.width, a.mode, a.repeats)))
    return 0


# ------------------------------------------------------------------ the parent side


def _start(config: MemoryConfig, mode: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "mnv2lab.memory_probe",
        "--resolution",
        str(config.resolution),
        "--path",
        config.path,
        "--width",
        str(config.width),
        "--mode",
        mode,
        "--repeats",
        str(config.repeats),
    ]
    if config.n_slices is not None:
        cmd += ["--n-slices", str(config.n_slices)]
    env = {**os.environ, **MALLOC_ENV}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(repo_root()), os.environ.get("PYTHONPATH")])
    )
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=repo_root()
    )


def _finish(proc: subprocess.Popen, config: MemoryConfig, mode: str, timeout: float) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(
            f"memory probe timed out after {timeout:.0f} s ({config.label()}, {mode})"
        ) from None
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed ({config.label()}, {mode}): {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run_probe(config: MemoryConfig, mode: str, timeout: float = 600.0) -> dict:
    """One child process; its JSON report (peak increases in KiB)."""
    return _finish(_start(config, mode), config, mode, timeout)


def measure_peak(config: MemoryConfig, timeout: float = 600.0) -> dict:
    """One ``run`` and one ``baseline`` process (side by side: CPU contention does not change
    memory): the peak activation memory in bytes (median increase of the run's passes minus the
    baseline's) and the raw numbers."""
    return measure_peaks([config], timeout=timeout)[0]


def measure_peaks(
    configs: list[MemoryConfig], parallel: int = 2, timeout: float = 600.0
) -> list[dict]:
    """:func:`measure_peak` for several configurations, ``parallel`` of them (two processes
    each) at a time: the processes are independent, so only the wall time changes."""
    configs = [c.validate() for c in configs]
    results: list[dict] = []
    for i in range(0, len(configs), parallel):
        batch = configs[i : i + parallel]
        procs = [{mode: _start(c, mode) for mode in ("run", "baseline")} for c in batch]
        try:
            for c, p in zip(batch, procs):
                results.append(
                    _summarize(*(_finish(p[m], c, m, timeout) for m in ("run", "baseline")))
                )
        finally:  # never leave a child behind after an error
            for p in procs:
                for proc in p.values():
                    if proc.poll() is None:
                        proc.kill()
                        proc.communicate()
    return results


def _summarize(run: dict, base: dict) -> dict:
    peak = (float(np.median(run["delta_kib"])) - float(np.median(base["delta_kib"]))) * 1024
    return {
        "peak_bytes": peak,
        "run_delta_kib": run["delta_kib"],
        "baseline_delta_kib": base["delta_kib"],
        "reset": bool(run["reset"] and base["reset"]),
        "counter": run["counter"],
        "run_peak_rss_kib": run["peak_rss_kib"],
        "baseline_peak_rss_kib": base["peak_rss_kib"],
        "checksum": run["checksum"],
    }


if __name__ == "__main__":
    sys.exit(main())
