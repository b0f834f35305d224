"""Timing one configuration (or a series of them, interleaved) on a shared machine: threads set
explicitly, the load average and other processes' CPU use recorded beside every timing."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import time
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.benchmark import Timer

# OpenMP reads OMP_WAIT_POLICY once, when torch loads; mnv2lab records what it was then.
from .. import OMP_WAIT_POLICY
from ..inference import make_runner
from ..memory_efficient import MemoryEfficientMobileNetV2
from ..models import build_model
from ..params import ParameterError
from ..provenance import provenance
from .config import LatencyConfig


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, restoring the previous setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (None where the OS does not tell)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


class ForeignCpu:
    """CPU time other processes used while a block ran, in cores (0.0 = the machine was ours;
    1.0 = one core busy elsewhere on average): ``cores`` for processes at normal priority,
    ``nice_cores`` for niced (background) ones, which the scheduler lets run only when ours do
    not need the CPU. Summed over ``/proc/<pid>/stat`` (Linux; None elsewhere); processes that
    end inside the block are missed. A sharper measure of contamination than the load average,
    which lags by a minute and counts our own threads and niced jobs alike."""

    def __enter__(self) -> "ForeignCpu":
        self._start, self._t0 = self._sample(), time.perf_counter()
        self.cores: float | None = None
        self.nice_cores: float | None = None
        return self

    def __exit__(self, *exc) -> None:
        end, wall = self._sample(), time.perf_counter() - self._t0
        if self._start is None or end is None or wall <= 0:
            return
        hz = os.sysconf("SC_CLK_TCK")
        normal = niced = 0
        for pid, (ticks, nice) in end.items():
            used = ticks - self._start.get(pid, (0, nice))[0]
            if nice > 0:
                niced += used
            else:
                normal += used
        self.cores = round(normal / hz / wall, 3)
        self.nice_cores = round(niced / hz / wall, 3)

    @staticmethod
    def _sample() -> dict[int, tuple[int, int]] | None:
        """{pid: (user + system ticks, nice)} of every other process."""
        if not os.path.isdir("/proc/self"):
            return None
        me, out = os.getpid(), {}
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended meanwhile
            # after "(comm)": state is field 3, utime 14, stime 15, nice 19 (1-based, proc(5))
            out[int(name)] = (int(fields[11]) + int(fields[12]), int(fields[16]))
        return out


def foreign_cpu(seconds: float = 2.0) -> tuple[float, float] | None:
    """(normal-priority, niced) cores other processes keep busy, sampled over ``seconds``
    while we sleep; None where it cannot be measured."""
    with ForeignCpu() as meter:
        time.sleep(seconds)
    return None if meter.cores is None else (meter.cores, meter.nice_cores)


def build_forward(config: LatencyConfig):
    """``(forward, x)``: the callable to time and its prepared input, for ``config``."""
    torch.manual_seed(0)
    model = build_model(config.model, **config.kwargs).eval()
    image = torch.randn(
        config.batch,
        3,
        config.resolution,
        config.resolution,
        generator=torch.Generator().manual_seed(0),
    )
    if config.path == "sliced":
        executor = MemoryEfficientMobileNetV2(model)
        n = config.n_slices
        return (lambda x: executor(x, n)), image.contiguous()
    prepare, forward = make_runner(model, config.path)
    return forward, prepare(image)


def summarize(times_s: Sequence[float]) -> dict:
    """Median, quartiles, IQR, mean and count of per-call times, in milliseconds."""
    t = np.asarray(times_s, dtype=float) * 1e3
    q25, q50, q75 = np.percentile(t, [25, 50, 75])
    return {
        "median_ms": float(q50),
        "q25_ms": float(q25),
        "q75_ms": float(q75),
        "iqr_ms": float(q75 - q25),
        "mean_ms": float(t.mean()),
        "min_ms": float(t.min()),
        "n_runs": int(t.size),
    }


def measure(config: LatencyConfig) -> dict:
    """Time ``config`` now (no cache): summary statistics, raw per-call times and provenance."""
    config.validate()
    forward, x = build_forward(config)
    load_before = load_average()
    with torch_threads(config.threads):
        for _ in range(config.warmup):
            forward(x)
        timer = Timer(
            "forward(x)",
            globals={"forward": forward, "x": x},
            num_threads=config.threads,
            label=config.label(),
        )
        with ForeignCpu() as foreign:
            m = timer.blocked_autorange(min_run_time=config.min_run_time)
    times = [float(t) for t in m.times]  # seconds per call (block averages)
    result = {
        **summarize(times),
        "number_per_run": int(m.number_per_run),
        "times_ms": [round(t * 1e3, 4) for t in times],
    }
    prov = measurement_provenance(config.threads, load_before)
    prov["foreign_cpu_cores"], prov["foreign_nice_cores"] = foreign.cores, foreign.nice_cores
    return {"result": result, "provenance": prov}


def measure_interleaved(configs: Sequence[LatencyConfig], rounds: int = 20) -> list[dict]:
    """Time several configurations (same thread count) in alternating rounds (A B C, C B A,
    ...), so that a slow spell of the machine hits all of them alike: the right protocol when
    their *ratios* matter (latency against the number of slices). Each gets about its
    ``min_run_time`` of timed calls over ``rounds`` rounds. Returns one measured dict per
    configuration, as :func:`measure` does, marked ``interleaved_with``."""
    configs = [c.validate() for c in configs]
    threads = {c.threads for c in configs}
    if len(threads) != 1:
        raise ParameterError(f"configs: got thread counts {sorted(threads)}; allowed: one")
    (n_threads,) = threads
    load_before = load_average()
    timers, numbers = [], []
    with torch_threads(n_threads):
        for c in configs:
            forward, x = build_forward(c)
            for _ in range(max(c.warmup, 1)):
                forward(x)
            timer = Timer(
                "forward(x)",
                globals={"forward": forward, "x": x},
                num_threads=n_threads,
                label=c.label(),
            )
            once = timer.timeit(1).median
            timers.append(timer)
            numbers.append(max(1, round(c.min_run_time / rounds / max(once, 1e-6))))
        times: list[list[float]] = [[] for _ in configs]
        order = list(range(len(configs)))
        with ForeignCpu() as foreign:
            for r in range(rounds):
                for i in order if r % 2 == 0 else order[::-1]:
                    times[i].append(timers[i].timeit(numbers[i]).median)
    out = []
    for t, number in zip(times, numbers):
        prov = measurement_provenance(n_threads, load_before)
        prov["foreign_cpu_cores"], prov["foreign_nice_cores"] = foreign.cores, foreign.nice_cores
        out.append(
            {
                "result": {
                    **summarize(t),
                    "number_per_run": number,
                    "times_ms": [round(v * 1e3, 4) for v in t],
                    "interleaved_with": len(configs),
                    "rounds": rounds,
                },
                "provenance": prov,
            }
        )
    return out


def measurement_provenance(threads: int, load_before: list[float] | None) -> dict:
    """:func:`mnv2lab.provenance.provenance` plus what a timing depends on: threads used, the
    load average before and after, the OpenMP wait policy and a UTC timestamp."""
    prov = {
        **provenance(),
        "threads": threads,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "omp_wait_policy": OMP_WAIT_POLICY,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    prov.pop("torch_threads", None)  # the process default, not what was measured
    return prov


MAX_FOREIGN = 0.15  # cores other processes may use while we time, for a timing to count


def contaminated(
    record: dict | None, max_foreign: float = MAX_FOREIGN, *, strict: bool = True
) -> bool:
    """Whether a cache entry is missing, or was timed while other processes used more than
    ``max_foreign`` cores (or without that being known). Niced (background) processes count
    too when ``strict``; otherwise only against multi-threaded timings, which they ruin (every
    OpenMP barrier waits for the thread they delay) while a single thread keeps its core."""
    if record is None:
        return True
    prov = record["provenance"]
    foreign = prov.get("foreign_cpu_cores")
    if foreign is None or foreign > max_foreign:
        return True
    nice_counts = strict or record["config"]["threads"] > 1
    return nice_counts and (prov.get("foreign_nice_cores") or 0) > max_foreign
