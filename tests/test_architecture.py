"""The package's shape: no import cycle between mnv2lab's modules (counting imports written inside
functions too, so that none can hide a cycle), and no module or notebook reaching for another
module's private (underscore) names. Read from the source with ``ast``: nothing is imported."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnv2lab"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[tuple[str, list[str]]]:
    """(imported mnv2lab module, names taken from it) for one import statement of ``module``."""
    if isinstance(node, ast.Import):
        return [(a.name, []) for a in node.names if a.name.split(".")[0] == "mnv2lab"]
    if node.level:
        base = module.split(".") if _is_package(module) else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "mnv2lab":
        return []
    out = [(target, [a.name for a in node.names])]
    # `from pkg import submodule` imports the submodule too
    out += [(f"{target}.{a.name}", []) for a in node.names if f"{target}.{a.name}" in MODULES]
    return out


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """Every mnv2lab import in ``module`` (anywhere in the file): (target, names, line)."""
    tree = ast.parse(MODULES[module].read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [(t, names, node.lineno) for t, names in _resolve(module, node)]
    return found


def _with_parents(target: str, importer: str) -> list[str]:
    """Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: every one that the importer is
    not itself inside of (its own packages are already being imported before it runs)."""
    parts = target.split(".")
    chain = [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
    return [m for m in chain if m in MODULES and not importer.startswith(m + ".") and m != importer]


def import_graph() -> dict[str, set[str]]:
    return {
        m: {t for target, _, _ in imports(m) for t in _with_parents(target, m)} for m in MODULES
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_cycle_and_resolves_relative_imports():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    study = dict((t, n) for t, n, _ in imports("mnv2lab.study.collect"))
    assert "mnv2lab.train" in study and "mnv2lab.study.definition" in study
    assert "mnv2lab.study.definition" in import_graph()["mnv2lab.study"]


def test_no_import_cycle_even_through_imports_inside_functions():
    assert len(MODULES) > 30
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_another_modules_private_names():
    bad = []
    for module in MODULES:
        for target, names, line in imports(module):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != module:
                bad.append(
                    f"{MODULES[module].relative_to(ROOT)}:{line} takes {private} from {target}"
                )
    assert not bad, "\n".join(bad)


PRIVATE_ATTRIBUTE = re.compile(r"\b([a-z_][a-z0-9_]*)\.(_[a-z][a-z0-9_]*)\b")


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_use_only_public_names(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    source = "\n".join("".join(c["source"]) for c in cells)
    assert not PRIVATE_ATTRIBUTE.findall(source), PRIVATE_ATTRIBUTE.findall(source)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_read_parameters_only_through_the_session_or_a_plan(path):
    """After the validation cell a notebook uses ``nb.params`` or a plan made from it, never the
    raw parameter globals (which skip validation and smoke reductions)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    params = {
        n.target.id
        for n in ast.parse("".join(cells[0]["source"])).body
        if isinstance(n, ast.AnnAssign)
    }
    raw = sorted(
        {
            node.id
            for c in cells[2:]
            for node in ast.walk(ast.parse("".join(c["source"])))
            if isinstance(node, ast.Name) and node.id in params
        }
    )
    assert not raw, f"{path.name} uses the raw parameters {raw}: read nb.params or the plan"
