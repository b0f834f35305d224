"""Validate notebook parameters before any heavy work.

papermill injects whatever it is given (``-p x 1`` is an int, ``-p x false`` the *string* "false")
and type hints are not enforced, so every notebook declares a spec here and checks its parameters
against it. Errors name the parameter, the bad value and what is allowed.
"""

from __future__ import annotations

import ast
import types
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


class ParameterError(ValueError):
    """A notebook or function parameter has a wrong name, type or value."""


class NoResults(RuntimeError):
    """Valid parameters select no result to analyse (e.g. an epoch count nothing was trained
    with): a notebook stops instead of writing empty figures and a finding over zero runs."""


_ITEM_WORDS = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}
_TYPE_WORDS = {
    bool: "True or False",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
}


@dataclass(frozen=True)
class Param:
    """One allowed parameter: its type, optional bounds or choices, and a one-line help text."""

    kind: type
    help: str = ""
    choices: Sequence[Any] | None = None
    min: float | None = None
    max: float | None = None
    item: type | None = None  # element type, for lists
    item_choices: Sequence[Any] | None = None
    min_len: int = 0
    nullable: bool = False

    def describe(self) -> str:
        """What is allowed, in words."""
        if self.kind is list:
            what = f"a list of {_ITEM_WORDS.get(self.item, 'values')}" if self.item else "a list"
            if self.item_choices is not None:
                what += f" from {list(self.item_choices)}"
            if self.min_len:
                what += f" with at least {self.min_len} element(s)"
        else:
            what = _TYPE_WORDS.get(self.kind, self.kind.__name__)
            if self.choices is not None:
                what = f"one of {list(self.choices)}"
        what += _bounds(self.min, self.max)
        if self.nullable:
            what += ", or None"
        return what


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" between {lo} and {hi}"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def _type_ok(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is list:
        return isinstance(value, (list, tuple))
    return isinstance(value, kind)


def _check_scalar(name: str, value: Any, kind: type, choices, lo, hi, spec: Param) -> Any:
    def fail() -> ParameterError:
        hint = ""
        if kind is bool and isinstance(value, str):
            hint = " (papermill turns only True/False into booleans: use -p NAME True)"
        return ParameterError(
            f"parameter {name!r}: got {value!r} ({type(value).__name__}); "
            f"allowed: {spec.describe()}{hint}"
        )

    if not _type_ok(value, kind):
        raise fail()
    if choices is not None and value not in choices:
        raise fail()
    if lo is not None and value < lo:
        raise fail()
    if hi is not None and value > hi:
        raise fail()
    return float(value) if kind is float else value


def check(name: str, value: Any, spec: Param) -> Any:
    """Check one value against its spec; return it (ints widened to float where a float is asked)."""
    if value is None and spec.nullable:
        return None
    if spec.kind is list:
        if not _type_ok(value, list) or len(value) < spec.min_len:
            raise ParameterError(
                f"parameter {name!r}: got {value!r} ({type(value).__name__}); "
                f"allowed: {spec.describe()}"
            )
        if spec.item is None:
            return list(value)
        return [
            _check_scalar(f"{name}[{i}]", v, spec.item, spec.item_choices, spec.min, spec.max, spec)
            for i, v in enumerate(value)
        ]
    return _check_scalar(name, value, spec.kind, spec.choices, spec.min, spec.max, spec)


def validate(values: Mapping[str, Any], spec: Mapping[str, Param]) -> dict[str, Any]:
    """Check every value against ``spec``; unknown and missing names are errors too."""
    unknown = sorted(set(values) - set(spec))
    if unknown:
        name = unknown[0]
        raise ParameterError(
            f"unknown parameter {name!r} (value {values[name]!r}); "
            f"allowed parameters: {', '.join(sorted(spec))}"
        )
    missing = sorted(set(spec) - set(values))
    if missing:
        raise ParameterError(f"missing parameter(s): {', '.join(missing)}")
    return {name: check(name, values[name], spec[name]) for name in spec}


_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def injected_names(cell_sources: Sequence[str]) -> set[str]:
    """Names assigned by papermill's injected-parameters cells (they start with ``# Parameters``)."""
    names: set[str] = set()
    for src in cell_sources:
        if not src.lstrip().startswith("# Parameters"):
            continue
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _literal_assignments(src: str) -> set[str] | None:
    """The names a cell assigns if it holds nothing but assignments of literal values to plain
    names (what a parameters cell looks like); None for any other cell."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            return None
        if not all(isinstance(t, ast.Name) for t in targets):
            return None
        try:
            ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        names.update(t.id for t in targets)
    return names or None


def parameter_cell_names(cell_sources: Sequence[str], spec: Mapping[str, Param]) -> set[str]:
    """Names assigned by the notebook's own parameters cell as last executed: the latest cell
    (papermill's injected ones aside) of literal assignments that sets at least one spec name.
    So a name typed into that cell in JupyterLab (``sed = 7``) is checked like ``-p sed 7``."""
    for src in reversed(cell_sources):
        if src.lstrip().startswith("# Parameters"):
            continue
        names = _literal_assignments(src)
        if names and names & set(spec):
            return names
    return set()


def notebook_values(namespace: Mapping[str, Any], spec: Mapping[str, Param]) -> dict[str, Any]:
    """The parameter values a notebook holds: the spec's names, plus any name papermill injected
    or the notebook's own parameters cell assigns that the spec does not know (so that a misspelt
    ``-p`` or a typo in the parameters cell is an error, not silently ignored)."""
    if "In" in namespace:  # running in IPython: look at the parameters cells it ran
        extra = injected_names(namespace["In"]) | parameter_cell_names(namespace["In"], spec)
    else:  # a plain dict (tests, scripts): every plain variable counts
        extra = {
            k
            for k, v in namespace.items()
            if not k.startswith("_")
            and k not in _IPYTHON_NAMES
            and not isinstance(v, types.ModuleType)
            and not callable(v)
        }
    return {k: namespace[k] for k in (set(spec) | extra) if k in namespace}
