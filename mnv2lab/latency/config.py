"""What one latency measurement is (:class:`LatencyConfig`) and the code fingerprint a cached
entry must carry (:func:`config_fingerprint`): the files the measured model is built from, the
inference path's files, with docstrings and comments stripped, :data:`MEASURE_VERSION` and the
torch version."""

from __future__ import annotations

import ast
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .. import records
from ..models import MODELS, model_names
from ..params import ParameterError

# The package folder: fingerprinted files are named relative to it (e.g. "models/layers.py").
PACKAGE = Path(__file__).resolve().parents[1]

# Bump when the measuring protocol changes (what is timed, how): cached entries then re-measure.
MEASURE_VERSION = 1
FORMAT = 1
PATHS = ("practitioner", "naive", "sliced")
# The code whose change invalidates a cached latency (relative to the package folder): the files
# of the measured model (:func:`model_files`) plus, per inference path, these. Narrowed from
# "models/*.py" (every model file) so that adding or editing one model leaves the measurements
# of the others valid. tools/restamp_fingerprints.py carries stored entries across a change that
# alters these files but not the measured model (verified entry by entry).
PATH_FILES: dict[str, tuple[str, ...]] = {
    "practitioner": ("inference.py",),
    "naive": ("inference.py",),
    "sliced": ("inference.py", "memory_efficient.py"),
}


@dataclass(frozen=True)
class LatencyConfig:
    """One latency measurement: model, input size, threads, inference path and timing budget."""

    model: str  # an mnv2lab.models name
    kwargs: dict = field(default_factory=dict, hash=False)  # builder keyword arguments
    resolution: int = 224
    threads: int = 1
    path: str = "practitioner"  # practitioner | naive | sliced
    n_slices: int | None = None  # "sliced" only: slices of the expanded tensors
    batch: int = 1
    min_run_time: float = 2.0  # seconds of timed calls (after warm-up)
    warmup: int = 5  # untimed calls first
    series: str = ""  # timed interleaved with the same series+threads

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
            raise ParameterError(
                f"n_slices: got {self.n_slices!r} with path {self.path!r}; "
                "allowed: an integer >= 1 for path 'sliced', None otherwise"
            )
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
        return (
            f"{self.model}({kw}) @{self.resolution}, {self.threads} thread(s), {self.path}{extra}"
        )

    @property
    def group(self) -> tuple[str, int]:
        """Configurations with the same (series, threads) are timed together, interleaved."""
        return self.series, self.threads


def source_without_docs(path: Path) -> str:
    """The module's AST without docstrings (comments are gone already): edits to prose do not
    invalidate measurements, edits to code do."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def code_fingerprint(files: Sequence[str], builder: str = "") -> str:
    """A hash of the code that determines a measurement: the given package files (glob patterns
    relative to the package folder), :data:`MEASURE_VERSION`, the torch version and (if given)
    the qualified name of the model builder the registry maps the measured name to. Docstrings
    and comments do not count."""
    package = PACKAGE
    h = hashlib.sha256(f"measure={MEASURE_VERSION};torch={torch.__version__}".encode())
    if builder:
        h.update(f"builder={builder}".encode())
    for pattern in files:
        for path in sorted(package.glob(pattern)):
            h.update(path.relative_to(package).as_posix().encode())
            h.update(source_without_docs(path).encode())
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
    folder = PACKAGE / "models"
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
    return code_fingerprint(
        fingerprint_files(config.model, config.path), builder_name(config.model)
    )
