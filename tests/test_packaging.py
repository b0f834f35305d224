"""Packaging: pyproject.toml declares what the code imports, and constraints.txt pins all of it.

Static and cheap: imports are read from the source (AST, function-local ones included), the
dependency closure from the installed packages' metadata; nothing is installed or downloaded.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
TORCH = "2.13.0"  # the CPU wheel on local disk; any other release resolves to a CUDA build


def norm(name: str) -> str:
    """A distribution name in its canonical form (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(extras: tuple[str, ...] = ()) -> list[Requirement]:
    """The project's declared requirements with the given extras, self-references expanded."""
    out, todo, seen = [], list(PROJECT["dependencies"]), set()
    for extra in extras:
        todo += PROJECT["optional-dependencies"][extra]
    while todo:
        req = Requirement(todo.pop(0))
        if norm(req.name) == "mnv2lab":  # "mnv2lab[lab]" inside the test extra
            todo += [
                r for e in sorted(req.extras - seen) for r in PROJECT["optional-dependencies"][e]
            ]
            seen |= req.extras
            continue
        out.append(req)
    return out


def constraints() -> dict[str, str]:
    """constraints.txt as {canonical name: pinned version}."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[norm(name)] = version
    return pins


def third_party_imports(folders: list[str]) -> dict[str, str]:
    """Top-level names imported by the .py files under ``folders`` that are neither the standard
    library, nor mnv2lab, nor a module of the repository itself -> the first file importing it."""
    local = {p.stem for f in ("tests", "tools", "benchmarks") for p in (ROOT / f).glob("*.py")}
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "mnv2lab" and top not in local:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(
    "folders,extras",
    [
        (["mnv2lab"], ()),
        (["tests", "tools", "benchmarks"], ("test", "lab")),
    ],
    ids=["package", "tests-tools-benchmarks"],
)
def test_declared_dependencies_cover_every_third_party_import(folders, extras):
    declared = {norm(r.name) for r in requirements(extras)}
    providers = metadata.packages_distributions()
    uncovered = []
    for module, where in sorted(third_party_imports(folders).items()):
        dists = {norm(d) for d in providers.get(module, [])}
        if not dists & declared:
            uncovered.append(
                f"{module} (imported by {where}; installed from {sorted(dists) or 'nothing'})"
            )
    where = "[project] dependencies" + (f" or the extras {list(extras)}" if extras else "")
    assert not uncovered, f"imports not declared in pyproject.toml's {where}: {uncovered}"


def test_every_declared_requirement_is_pinned_and_torch_is_the_local_wheel():
    pins = constraints()
    for req in requirements(("test", "lab")):
        name = norm(req.name)
        assert name in pins, (
            f"{req.name} is declared in pyproject.toml but not pinned in constraints.txt"
        )
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject.toml's {req}"
        )
    torch = next(r for r in requirements() if norm(r.name) == "torch")
    assert str(torch.specifier) == f"=={TORCH}" and pins["torch"] == TORCH
    # The torch wheel is cp311: requires-python must admit 3.11 and nothing else.
    python = SpecifierSet(PROJECT["requires-python"])
    assert python.contains("3.11.7") and not python.contains("3.10.14")
    assert not python.contains("3.11.3"), "mnv2lab.data.tarsafe uses tarfile.data_filter (3.11.4+)"
    assert not python.contains("3.12.0")
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"], (
        "the version is written once, as mnv2lab.__version__"
    )


def test_constraints_pin_the_installed_dependency_closure():
    """Every package the declared requirements pull in (transitively, markers evaluated for this
    machine) is pinned, at the version installed here: the environment is the locked one."""
    pins = constraints()
    env = default_environment()
    todo = [(r, "") for r in requirements(("test", "lab"))]
    seen: set[str] = set()
    problems = []
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        key = f"{norm(req.name)}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name}: required but not installed")
            continue
        pinned = pins.get(norm(req.name))
        if pinned is None or pinned != installed.split("+")[0]:
            problems.append(
                f"{req.name}: installed {installed}, constraints.txt "
                f"{'has no pin' if pinned is None else 'pins ' + pinned}"
            )
        for sub in metadata.requires(req.name) or []:
            sub_req = Requirement(sub)
            todo += [(sub_req, e) for e in (sorted(req.extras) or [""])]
    assert not problems, (
        "environment and constraints.txt disagree (run `make venv`, or pin the "
        f"new package as constraints.txt's header says): {problems}"
    )


def test_every_results_folder_is_described_in_its_readme(repo_root):
    readme = (repo_root / "results" / "README.md").read_text()
    folders = {p.name for p in (repo_root / "results").iterdir() if p.is_dir()}
    folders.add("cifar10_long")  # described before its first run lands
    missing = sorted(f for f in folders if f"`{f}/`" not in readme)
    assert not missing, f"results/README.md does not describe {missing}"
