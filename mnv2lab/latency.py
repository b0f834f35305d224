"""CPU latency of the models, measured with ``torch.utils.benchmark`` and cached under
``results/latency/`` with provenance.

What is measured (:func:`measure`): one forward pass of a freshly built model (random weights,
seed 0) on one ``batch x 3 x resolution x resolution`` fp32 image, through an inference path of
:mod:`mnv2lab.inference` ("practitioner" by default) or the memory-efficient executor of
:mod:`mnv2lab.memory_efficient` ("sliced"), with ``threads`` intra-op threads set explicitly
(``torch.utils.benchmark.Timer`` defaults to ONE thread). After a warm-up, ``blocked_autorange``
runs the call until ``min_run_time`` seconds are spent; we keep the median and the interquartile
range (IQR) of the per-call times.

The cache: one JSON file per configuration, ``results/latency/<config key>.json``. An entry is used
only when its SHA-256 matches its content, its configuration matches, and its *code fingerprint*
(:func:`config_fingerprint`: the files the measured model is built from, the inference code,
plus the executor for "sliced", with docstrings and comments stripped, :data:`MEASURE_VERSION`
and the torch version) equals the current one. Otherwise, or on
``remeasure=True``, the configuration is measured again and the file replaced atomically. Every
entry carries its provenance: CPU model, torch version, threads, git commit, timestamp and the
machine's load average before and after measuring (latency on a shared machine is only as good as
its load).
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import hashlib
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import sys

# OpenMP reads OMP_WAIT_POLICY once, when torch loads it (importing mnv2lab sets PASSIVE unless the
# environment sets it; entries measured before that was the rule say "unset"). Record what was in
# force, as far as this module can tell.
OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY", "unset") + (
    " (or later: torch was loaded before mnv2lab.latency)" if "torch" in sys.modules else "")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.modules.module import (register_module_forward_hook,  # noqa: E402
                                     register_module_forward_pre_hook)
from torch.utils.benchmark import Timer  # noqa: E402

from . import records
from .inference import make_runner
from .memory_efficient import MemoryEfficientMobileNetV2
from .models import MODELS, build_model, model_names
from .params import ParameterError
from .paths import resolve, results_dir
from .progress import progress as progress_bar
from .provenance import provenance

# Bump when the measuring protocol changes (what is timed, how): cached entries then re-measure.
MEASURE_VERSION = 1
FORMAT = 1
PATHS = ("practitioner", "naive", "sliced")
# The code whose change invalidates a cached latency (relative to the package folder): the files
# of the measured model (:func:`model_files`) plus, per inference path, these. Narrowed from
# "models/*.py" (every model file) so that adding or editing one model leaves the measurements
# of the others valid; tools/migrate_fingerprints.py moved the stored entries over, verified.
PATH_FILES: dict[str, tuple[str, ...]] = {
    "practitioner": ("inference.py",),
    "naive": ("inference.py",),
    "sliced": ("inference.py", "memory_efficient.py"),
}


# A cached measurement was unusable (corrupt, edited, other code) and is re-measured: the one
# warning of every verified record (mnv2lab.records), under the name the measurements have used.
LatencyCacheWarning = records.RecordWarning


@dataclass(frozen=True)
class LatencyConfig:
    """One latency measurement: model, input size, threads, inference path and timing budget."""

    model: str                                # an mnv2lab.models name
    kwargs: dict = field(default_factory=dict, hash=False)   # builder keyword arguments
    resolution: int = 224
    threads: int = 1
    path: str = "practitioner"                # practitioner | naive | sliced
    n_slices: int | None = None               # "sliced" only: slices of the expanded tensors
    batch: int = 1
    min_run_time: float = 2.0                 # seconds of timed calls (after warm-up)
    warmup: int = 5                           # untimed calls first
    series: str = ""                          # timed interleaved with the same series+threads

    def validate(self) -> "LatencyConfig":
        if self.model not in model_names():
            raise ParameterError(f"model: got {self.model!r}; allowed: one of {model_names()}")
        for name, minimum in (("resolution", 8), ("threads", 1), ("batch", 1), ("warmup", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ParameterError(f"{name}: got {value!r}; allowed: an integer >= {minimum}")
        if self.path not in PATHS:
            raise ParameterError(f"path: got {self.path!r}; allowed: one of {list(PATHS)}")
        if (self.path == "sliced") != (self.n_slices is not None):
            raise ParameterError(f"n_slices: got {self.n_slices!r} with path {self.path!r}; "
                                 "allowed: an integer >= 1 for path 'sliced', None otherwise")
        if self.n_slices is not None and (not isinstance(self.n_slices, int) or self.n_slices < 1):
            raise ParameterError(f"n_slices: got {self.n_slices!r}; allowed: an integer >= 1")
        if not isinstance(self.series, str):
            raise ParameterError(f"series: got {self.series!r}; allowed: a string")
        if not isinstance(self.min_run_time, (int, float)) or not self.min_run_time > 0:
            raise ParameterError(f"min_run_time: got {self.min_run_time!r}; allowed: seconds > 0")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["min_run_time"] = float(d["min_run_time"])
        d["kwargs"] = dict(sorted(d["kwargs"].items()))
        return d

    def key(self) -> str:
        """16 hex digits naming this configuration's cache file."""
        return records.key_of(self.to_dict())

    def label(self) -> str:
        kw = ",".join(f"{k}={v}" for k, v in sorted(self.kwargs.items()))
        extra = f", {self.n_slices} slices" if self.n_slices is not None else ""
        return (f"{self.model}({kw}) @{self.resolution}, {self.threads} thread(s), "
                f"{self.path}{extra}")

    @property
    def group(self) -> tuple[str, int]:
        """Configurations with the same (series, threads) are timed together, interleaved."""
        return self.series, self.threads


# ------------------------------------------------------------------ code fingerprint

def _source_without_docs(path: Path) -> str:
    """The module's AST without docstrings (comments are gone already): edits to prose do not
    invalidate measurements, edits to code do."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def code_fingerprint(files: Sequence[str], builder: str = "") -> str:
    """A hash of the code that determines a measurement: the given package files (glob patterns
    relative to the package folder), :data:`MEASURE_VERSION`, the torch version and (if given)
    the qualified name of the model builder the registry maps the measured name to. Docstrings
    and comments do not count."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256(f"measure={MEASURE_VERSION};torch={torch.__version__}".encode())
    if builder:
        h.update(f"builder={builder}".encode())
    for pattern in files:
        for path in sorted(package.glob(pattern)):
            h.update(path.relative_to(package).as_posix().encode())
            h.update(_source_without_docs(path).encode())
    return h.hexdigest()[:16]


def _models_imports(path: Path) -> set[str]:
    """The sibling modules of ``mnv2lab/models`` that ``path`` imports (``from .x import ...``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def model_files(model: str) -> tuple[str, ...]:
    """The files a registered model is built from: the module defining its builder and,
    transitively, the ``mnv2lab/models`` modules it imports (relative to the package folder,
    sorted). The registry (``models/__init__.py``) is not among them, so registering a new model
    leaves the others' measurements valid; which builder a name maps to is hashed instead
    (:func:`builder_name`)."""
    if model not in MODELS:
        raise ParameterError(f"model: got {model!r}; allowed: one of {list(MODELS)}")
    folder = Path(__file__).resolve().parent / "models"
    todo = [MODELS[model].__module__.rsplit(".", 1)[-1]]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or not (folder / f"{name}.py").exists():
            continue
        seen.add(name)
        todo.extend(_models_imports(folder / f"{name}.py"))
    return tuple(f"models/{name}.py" for name in sorted(seen))


def builder_name(model: str) -> str:
    """``module.function`` of the builder the registry maps ``model`` to."""
    return f"{MODELS[model].__module__}.{MODELS[model].__qualname__}"


def fingerprint_files(model: str, path: str) -> tuple[str, ...]:
    """Every file behind a measurement of ``model`` through inference ``path``."""
    return model_files(model) + PATH_FILES[path]


def config_fingerprint(config: LatencyConfig) -> str:
    """The code fingerprint a cached measurement of ``config`` must carry."""
    return code_fingerprint(fingerprint_files(config.model, config.path),
                            builder_name(config.model))


# ------------------------------------------------------------------ measuring

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
                continue                     # ended meanwhile
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
    image = torch.randn(config.batch, 3, config.resolution, config.resolution,
                        generator=torch.Generator().manual_seed(0))
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
    return {"median_ms": float(q50), "q25_ms": float(q25), "q75_ms": float(q75),
            "iqr_ms": float(q75 - q25), "mean_ms": float(t.mean()), "min_ms": float(t.min()),
            "n_runs": int(t.size)}


def measure(config: LatencyConfig) -> dict:
    """Time ``config`` now (no cache): summary statistics, raw per-call times and provenance."""
    config.validate()
    forward, x = build_forward(config)
    load_before = load_average()
    with torch_threads(config.threads):
        for _ in range(config.warmup):
            forward(x)
        timer = Timer("forward(x)", globals={"forward": forward, "x": x},
                      num_threads=config.threads, label=config.label())
        with ForeignCpu() as foreign:
            m = timer.blocked_autorange(min_run_time=config.min_run_time)
    times = [float(t) for t in m.times]            # seconds per call (block averages)
    result = {**summarize(times), "number_per_run": int(m.number_per_run),
              "times_ms": [round(t * 1e3, 4) for t in times]}
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
            timer = Timer("forward(x)", globals={"forward": forward, "x": x},
                          num_threads=n_threads, label=c.label())
            once = timer.timeit(1).median
            timers.append(timer)
            numbers.append(max(1, round(c.min_run_time / rounds / max(once, 1e-6))))
        times: list[list[float]] = [[] for _ in configs]
        order = list(range(len(configs)))
        with ForeignCpu() as foreign:
            for r in range(rounds):
                for i in (order if r % 2 == 0 else order[::-1]):
                    times[i].append(timers[i].timeit(numbers[i]).median)
    out = []
    for c, t, number in zip(configs, times, numbers):
        prov = measurement_provenance(n_threads, load_before)
        prov["foreign_cpu_cores"], prov["foreign_nice_cores"] = foreign.cores, foreign.nice_cores
        out.append({"result": {**summarize(t), "number_per_run": number,
                               "times_ms": [round(v * 1e3, 4) for v in t],
                               "interleaved_with": len(configs), "rounds": rounds},
                    "provenance": prov})
    return out


def series_or_load(configs: Sequence[LatencyConfig], root: str | os.PathLike | None = None, *,
                   remeasure: bool = False, allow_measure: bool = True,
                   rounds: int = 20) -> list[dict | None]:
    """The cached entries of a series of configurations if every one is intact, current and was
    measured interleaved with the others; otherwise the whole series measured again with
    :func:`measure_interleaved` (stored atomically, one file per configuration)."""
    configs = [c.validate() for c in configs]
    fingerprints = [config_fingerprint(c) for c in configs]
    records = []
    for c, fp in zip(configs, fingerprints):
        try:
            record = read_entry(entry_path(c, root), c, fp)
            if record["result"].get("interleaved_with") != len(configs):
                raise ValueError("not measured interleaved with this series")
            record["cached"] = True
            records.append(record)
        except ValueError as e:
            records.append(None)
            if entry_path(c, root).exists() and not remeasure:
                warnings.warn(f"cache entry {entry_path(c, root).name} ({c.label()}) is "
                              f"unusable: {e}; measuring the series again", LatencyCacheWarning,
                              stacklevel=2)
    if (remeasure or any(r is None for r in records)) and allow_measure:
        measured = measure_interleaved(configs, rounds)
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


def series_table(configs: Sequence[LatencyConfig], root: str | os.PathLike | None = None, *,
                 remeasure: bool = False, allow_measure: bool = True,
                 progress: bool | None = None, rounds: int = 20) -> pd.DataFrame:
    """:func:`measure_all`'s table for configurations timed as interleaved series
    (:func:`series_groups`, :func:`series_or_load`): ratios within a series do not depend on
    when it was timed."""
    configs = [c.validate() for c in configs]
    for group in progress_bar(series_groups(configs), enabled=progress, desc="latency series"):
        series_or_load(group, root, remeasure=remeasure, allow_measure=allow_measure,
                       rounds=rounds)
    return measure_all(configs, root, allow_measure=False, progress=False)


def measurement_provenance(threads: int, load_before: list[float] | None) -> dict:
    """:func:`mnv2lab.provenance.provenance` plus what a timing depends on: threads used, the
    load average before and after, the OpenMP wait policy and a UTC timestamp."""
    prov = {**provenance(), "threads": threads, "load_average_before": load_before,
            "load_average_after": load_average(),
            "omp_wait_policy": OMP_WAIT_POLICY,
            "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    prov.pop("torch_threads", None)    # the process default, not what was measured
    return prov


# ------------------------------------------------------------------ the cache

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
        raise ValueError(f"measured with other code (fingerprint {record.get('fingerprint')}, "
                         f"now {fingerprint})")
    for part in ("result", "provenance"):
        if not isinstance(record.get(part), dict):
            raise ValueError(f"has no {part!r} section")
    return record


def write_entry(path: Path, config, fingerprint: str, measured: dict) -> dict:
    """Store ``measured`` ({"result": ..., "provenance": ...}) atomically with its SHA-256."""
    record = {"format": FORMAT, "key": config.key(), "label": config.label(),
              "config": config.to_dict(), "fingerprint": fingerprint, **measured}
    return records.write(path, record)


def cached(config, path: Path, fingerprint: str, measure_fn: Callable[[], dict], *,
           remeasure: bool = False, allow_measure: bool = True) -> dict | None:
    """The entry at ``path`` if it is intact and current; otherwise ``measure_fn()`` stored there
    (a corrupt or outdated entry is reported with a :class:`LatencyCacheWarning`).
    ``allow_measure=False`` returns None instead of measuring. The record's ``cached`` says
    which happened."""
    if path.exists() and not remeasure:
        try:
            record = read_entry(path, config, fingerprint)
            record["cached"] = True
            return record
        except ValueError as e:
            warnings.warn(f"cache entry {path.name} ({config.label()}) is unusable: {e}; "
                          "measuring again", LatencyCacheWarning, stacklevel=3)
    if not allow_measure:
        return None
    record = write_entry(path, config, fingerprint, measure_fn())
    record["cached"] = False
    return record


def measure_or_load(config: LatencyConfig, root: str | os.PathLike | None = None, *,
                    remeasure: bool = False, fingerprint: str | None = None,
                    allow_measure: bool = True) -> dict | None:
    """The cached entry of ``config`` if it is intact and current, else a fresh measurement
    (stored atomically). ``allow_measure=False`` returns None instead of measuring."""
    config.validate()
    fingerprint = fingerprint or config_fingerprint(config)
    return cached(config, entry_path(config, root), fingerprint,
                  lambda: measure(config), remeasure=remeasure, allow_measure=allow_measure)


def measure_all(configs: Iterable[LatencyConfig], root: str | os.PathLike | None = None, *,
                remeasure: bool = False, progress: bool | None = None,
                allow_measure: bool = True) -> pd.DataFrame:
    """Measure (or load) every configuration; one row per configuration with its statistics and
    the provenance that matters for reading a latency (CPU, torch, threads, load, commit)."""
    configs = [c.validate() for c in configs]
    rows = []
    for config in progress_bar(configs, enabled=progress, desc="latency"):
        record = measure_or_load(config, root, remeasure=remeasure,
                                 allow_measure=allow_measure)
        row = {"model": config.model, "width": config.kwargs.get("width_mult"),
               "groups": config.kwargs.get("groups"), "resolution": config.resolution,
               "threads": config.threads, "path": config.path, "n_slices": config.n_slices,
               "key": config.key(), "label": config.label()}
        if record is None:
            rows.append({**row, "median_ms": np.nan, "iqr_ms": np.nan, "cached": False,
                         "usable": False, "quiet": False})
            continue
        prov = record["provenance"]
        rows.append({**row, **{k: v for k, v in record["result"].items() if k != "times_ms"},
                     "cached": record["cached"],
                     "usable": not contaminated(record, strict=False),
                     "quiet": not contaminated(record), "cpu_model": prov.get("cpu_model"),
                     "cpu_count": prov.get("cpu_count"),
                     "torch": prov.get("torch"), "git_commit": prov.get("git_commit"),
                     "timestamp": prov.get("timestamp"),
                     "load_1min_before": (prov.get("load_average_before") or [np.nan])[0],
                     "load_1min_after": (prov.get("load_average_after") or [np.nan])[0],
                     "foreign_cpu_cores": prov.get("foreign_cpu_cores", np.nan),
                     "foreign_nice_cores": prov.get("foreign_nice_cores", np.nan)})
    table = pd.DataFrame.from_records(rows)
    table["n_slices"] = table["n_slices"].astype("Int64")
    return table


# ------------------------------------------------------------------ where the time goes

TIMED_MODULES = (nn.Conv2d, nn.Linear)


def conv_kind(weight_shape: Sequence[int]) -> str:
    """"depthwise" (one input channel per group, k > 1), "1x1" or "full conv", from a conv's
    weight shape (C_out, C_in / groups, kh, kw)."""
    _, per_group, kh, kw = weight_shape
    if per_group == 1 and (kh, kw) != (1, 1):
        return "depthwise"
    return "1x1" if (kh, kw) == (1, 1) else "full conv"


def op_breakdown(config: LatencyConfig, repeats: int = 20) -> dict:
    """Share of the forward time spent in depthwise convs, 1x1 convs, full convs, linear layers
    and everything else (activations, adds, pooling, Python and dispatch), for the model
    inference paths. Every ``Conv2d`` and ``Linear`` the forward pass calls is timed by global
    module hooks (two clock reads around the call, a microsecond or so each; the hooks see every
    module call, so nothing needs to know which model the timed function closes over) over
    ``repeats`` passes."""
    config.validate()
    if config.path == "sliced":
        raise ParameterError("path: got 'sliced'; allowed: 'practitioner' or 'naive' (the "
                             "sliced executor has no conv modules to time)")
    forward, x = build_forward(config)
    spent: dict[str, float] = {}
    starts: dict[int, float] = {}

    def before(module, args):
        if isinstance(module, TIMED_MODULES):
            starts[id(module)] = time.perf_counter()

    def after(module, args, output):
        if isinstance(module, TIMED_MODULES):
            kind = "linear" if isinstance(module, nn.Linear) else conv_kind(module.weight.shape)
            spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - starts[id(module)]

    load_before = load_average()
    with torch_threads(config.threads):
        for _ in range(max(config.warmup, 1)):
            forward(x)
        handles = [register_module_forward_pre_hook(before), register_module_forward_hook(after)]
        try:
            with ForeignCpu() as foreign:
                start = time.perf_counter()
                for _ in range(repeats):
                    forward(x)
                wall = time.perf_counter() - start
        finally:
            for h in handles:
                h.remove()
    if not spent:
        raise RuntimeError(f"op_breakdown: {config.label()} called no Conv2d or Linear module")
    shares = {k: v / wall for k, v in spent.items()}
    shares["other"] = max(0.0, 1.0 - sum(shares.values()))
    prov = measurement_provenance(config.threads, load_before)
    prov["foreign_cpu_cores"], prov["foreign_nice_cores"] = foreign.cores, foreign.nice_cores
    return {"result": {"shares": shares, "ms_per_pass_with_hooks": wall / repeats * 1e3,
                       "repeats": repeats}, "provenance": prov}


def breakdown_or_load(config: LatencyConfig, root: str | os.PathLike | None = None, *,
                      remeasure: bool = False, allow_measure: bool = True) -> dict | None:
    """:func:`op_breakdown` of ``config``, cached beside the latencies (``breakdown/``)."""
    config.validate()
    path = latency_dir(root) / "breakdown" / f"{config.key()}.json"
    return cached(config, path, config_fingerprint(config),
                  lambda: op_breakdown(config), remeasure=remeasure, allow_measure=allow_measure)


# ------------------------------------------------------------------ measuring on a shared machine

MAX_FOREIGN = 0.15     # cores other processes may use while we time, for a timing to count


def contaminated(record: dict | None, max_foreign: float = MAX_FOREIGN, *,
                 strict: bool = True) -> bool:
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


def _wait_until_quiet(max_foreign: float, deadline: float, poll_seconds: float,
                      log: Callable[[str], None], left: int) -> bool:
    """Sleep until other processes (niced ones included) use at most ``max_foreign`` cores
    for 2 s; False if the deadline passes first."""
    while time.monotonic() < deadline:
        normal, nice = foreign_cpu(2.0) or (0.0, 0.0)
        if normal <= max_foreign and nice <= max_foreign:
            return True
        log(f"waiting: other processes use {normal:.2f} cores (+{nice:.2f} niced; load "
            f"{load_average()}); {left} left")
        time.sleep(poll_seconds)
    return False


def measure_quietly(configs: Sequence[LatencyConfig], root: str | os.PathLike | None = None, *,
                    breakdown_configs: Sequence[LatencyConfig] = (),
                    series: Sequence[LatencyConfig] = (),
                    max_foreign: float = MAX_FOREIGN, max_seconds: float = 3 * 3600,
                    poll_seconds: float = 20.0, log: Callable[[str], None] = print) -> dict:
    """Fill the cache with timings taken when the machine is quiet: every configuration whose
    entry is missing, outdated or contaminated (:func:`contaminated`, niced processes included)
    is measured when other processes have used at most ``max_foreign`` cores for 2 s, and
    again later if they used more while it was timed. ``breakdown_configs`` get their time
    breakdown (:func:`breakdown_or_load`) the same way, and ``series`` (configurations with
    a series name) are measured interleaved, one (series, threads) group at a time
    (:func:`series_or_load`). Gives up after ``max_seconds``, leaving the last
    measurement (with its recorded contamination) in the cache."""
    jobs = []          # (label, needs it?, measure it -> records)
    for c in dict.fromkeys(configs):
        jobs.append((c.label(), lambda c=c: [measure_or_load(c, root, allow_measure=False)],
                     lambda c=c: [measure_or_load(c, root, remeasure=True)]))
    for c in dict.fromkeys(breakdown_configs):
        jobs.append((c.label() + " (breakdown)",
                     lambda c=c: [breakdown_or_load(c, root, allow_measure=False)],
                     lambda c=c: [breakdown_or_load(c, root, remeasure=True)]))
    for group in series_groups(series):
        jobs.append((f"series of {len(group)}: {group[0].label()} ...",
                     lambda g=group: series_or_load(g, root, allow_measure=False),
                     lambda g=group: series_or_load(g, root, remeasure=True)))
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
    items = "; ".join(f"{r.label} ({r.median_ms:.1f} ms, others {r.foreign_cpu_cores:.2f} cores "
                      f"+ {r.foreign_nice_cores:.2f} niced)" for r in bad.itertuples())
    return (f"{len(bad)} timing(s) left out, taken while other processes used more than "
            f"{MAX_FOREIGN} cores: {items}")


def machine_text(table: pd.DataFrame) -> str:
    """"CPU (n cores), torch x.y" of the measurements in ``table`` (for figure titles)."""
    if table.empty or "cpu_model" not in table or table["cpu_model"].isna().all():
        return ""
    cpus = ", ".join(sorted(set(table["cpu_model"].dropna())))
    cores = ", ".join(str(int(c)) for c in sorted(set(table["cpu_count"].dropna())))
    return f"{cpus} ({cores} cores), torch {', '.join(sorted(set(table['torch'].dropna())))}"


def describe_conditions(table: pd.DataFrame) -> str:
    """One sentence for captions: machine, torch, threads, batch and the load while measuring."""
    if table.empty or "cpu_model" not in table or table["cpu_model"].isna().all():
        return "no latency measured"
    cpus = ", ".join(sorted(set(table["cpu_model"].dropna())))
    torches = ", ".join(sorted(set(table["torch"].dropna())))
    threads = ", ".join(str(t) for t in sorted(set(table["threads"])))
    cores = ", ".join(str(int(c)) for c in sorted(set(table["cpu_count"].dropna())))
    loads = table["load_1min_before"].dropna()
    load = (f"1-min load average {loads.min():.2f}-{loads.max():.2f} before measuring"
            if len(loads) else "load unknown")
    foreign = table["foreign_cpu_cores"].dropna() if "foreign_cpu_cores" in table else []
    if len(foreign):
        load += (f", other processes using {foreign.min():.2f}-{foreign.max():.2f} cores "
                 "while timing")
    nice = table["foreign_nice_cores"].dropna() if "foreign_nice_cores" in table else []
    if len(nice) and nice.max() > 0.05:
        load += f" (+ niced background jobs {nice.min():.2f}-{nice.max():.2f} cores)"
    return (f"{cpus} ({cores} cores), torch {torches}, {threads} thread(s), batch 1, fp32, "
            f"eval; {load}")
