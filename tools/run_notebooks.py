"""`make figures`: run every notebook through papermill into build/, regenerating figures/.

A notebook is re-run when its source, the mnv2lab package, results/ or constraints.txt changed
since its last successful run, or when a file it published to figures/ is missing or differs from
what its stamp (build/NAME.stamp: input digest plus a hash of every published file) recorded.
Each notebook writes its figures into a fresh staging folder (build/NAME.figures/); only when it
ran through and wrote every figure it promises are they moved into figures/, so a failed run (an
error, or a dead kernel) leaves the previous complete set. The executed copy is written under a
temporary name; a failed one is kept as build/NAME.failed.ipynb for debugging.

Usage: python tools/run_notebooks.py [NOTEBOOK ...] [--force]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from mnv2lab import gallery

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
FIGURES = ROOT / "figures"
INPUTS = ["mnv2lab", "results", "constraints.txt"]


@dataclass(frozen=True)
class Layout:
    """Where the runner reads notebooks and writes build products and figures (tests use a
    temporary one); ``inputs`` are paths under ``root`` whose change re-runs every notebook."""

    root: Path = ROOT
    notebooks: Path = NOTEBOOKS
    build: Path = BUILD
    figures: Path = FIGURES
    inputs: list[str] = field(default_factory=lambda: list(INPUTS))


REPO = Layout()


def promised_figures(path: Path) -> list[str]:
    """Figure names a notebook promises, from its metadata ``mnv2lab.figures``."""
    nb = nbformat.read(path, as_version=4)
    return list(nb.metadata.get("mnv2lab", {}).get("figures", []))


def fingerprint(path: Path, layout: Layout = REPO) -> str:
    """Hash of the notebook and everything it depends on."""
    h = hashlib.sha256(path.read_bytes())
    for name in layout.inputs:
        base = layout.root / name
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for f in files:
            if "__pycache__" in f.parts or not f.exists():
                continue
            h.update(str(f.relative_to(layout.root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def describe_cell(path: Path, source: str) -> str:
    """Name a cell by its place among the notebook's own code cells (papermill's indices count
    the cells it inserted into the executed copy)."""
    source = (source or "").strip()
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    first_line = source.splitlines()[0] if source else "?"
    for i, cell in enumerate(code, 1):
        if cell.source.strip() == source:
            return f"code cell {i} of {len(code)} (`{first_line}`)"
    return f"the injected parameters cell or an unknown cell (`{first_line}`)"


def failing_cell(path: Path, err: PapermillExecutionError) -> str:
    """The cell a papermill execution error came from."""
    return describe_cell(path, getattr(err, "source", "") or "")


def last_started_cell(path: Path, executed: Path) -> str:
    """The cell that was running when execution stopped without an error in a cell (a dead
    kernel, a timeout): the last cell the executed copy records as started."""
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # noqa: BLE001 (the copy may be half-written; say so instead)
        return "an unknown cell (the executed copy is unreadable)"
    started = [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("papermill", {}).get("start_time")
    ]
    return describe_cell(path, started[-1].source) if started else "before the first cell"


def read_stamp(stamp: Path) -> dict:
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def up_to_date(path: Path, stamp: Path, digest: str, layout: Layout = REPO) -> bool:
    """The inputs are unchanged and every published file is still there, byte for byte."""
    data = read_stamp(stamp)
    files = data.get("files")
    if data.get("inputs") != digest or not isinstance(files, dict):
        return False
    expected = {f"{fig}.{ext}" for fig in promised_figures(path) for ext in ("png", "pdf", "json")}
    if not expected <= set(files):
        return False
    for rel, sha in files.items():
        f = layout.figures / rel
        if not f.is_file() or _sha256(f) != sha:
            print(
                f"{path.name}: {layout.figures.name}/{rel} differs from what the last run "
                "wrote: running again",
                flush=True,
            )
            return False
    return True


def publish(staging: Path, figures: Path) -> dict[str, str]:
    """Move every file of ``staging`` into ``figures`` (same relative paths); their hashes."""
    published = {}
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        rel = f.relative_to(staging)
        published[rel.as_posix()] = _sha256(f)
        target = figures / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)
    return published


def unpublishable(staging: Path) -> list[str]:
    """Staged figures that must not reach figures/: smoke runs and figures over 0 runs."""
    bad = []
    for sidecar in sorted(staging.glob("*.json")):
        record = json.loads(sidecar.read_text())
        if record.get("smoke"):
            bad.append(f"{sidecar.stem} (smoke run)")
        elif record.get("runs") == 0:
            bad.append(f"{sidecar.stem} (rests on 0 runs)")
    return bad


def _show(path: Path, layout: Layout) -> Path:
    return path.relative_to(layout.root) if path.is_relative_to(layout.root) else path


def _fail(message: str, running: Path, failed: Path, stamp: Path, layout: Layout):
    """Keep the executed copy as NAME.failed.ipynb, forget the stamp, exit naming everything."""
    if running.exists():
        os.replace(running, failed)
    stamp.unlink(missing_ok=True)
    kept = (
        f"executed copy kept at {_show(failed, layout)}"
        if failed.exists()
        else "no executed copy was written"
    )
    sys.exit(
        f"make figures: {message}\n{kept}; {layout.figures.name}/ keeps the previous "
        "complete set of this notebook's figures"
    )


def run(path: Path, index: int, total: int, layout: Layout = REPO, force: bool = False) -> None:
    stem = path.stem
    stamp = layout.build / f"{stem}.stamp"
    digest = fingerprint(path, layout)
    if not force and up_to_date(path, stamp, digest, layout):
        print(f"[{index}/{total}] {path.name}: up to date, skipped", flush=True)
        return
    print(f"[{index}/{total}] {path.name}: running", flush=True)
    running = layout.build / f"{stem}.running.ipynb"
    failed = layout.build / f"{stem}.failed.ipynb"
    staging = layout.build / f"{stem}.figures"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    name = _show(path, layout)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path),
            str(running),
            kernel_name="python3",
            cwd=str(layout.notebooks),
            progress_bar=True,
            parameters={"out_dir": str(staging)},
        )
    except PapermillExecutionError as err:
        _fail(
            f"FAILED in {name}, {failing_cell(path, err)}: {err.ename}: {err.evalue}",
            running,
            failed,
            stamp,
            layout,
        )
    except Exception as err:  # noqa: BLE001 (a dead kernel, a timeout: report them alike)
        cell = last_started_cell(path, running) if running.exists() else "an unknown cell"
        _fail(
            f"FAILED in {name}, {cell}: the kernel stopped ({type(err).__name__}: {err})",
            running,
            failed,
            stamp,
            layout,
        )
    missing = [
        f
        for f in promised_figures(path)
        if not all((staging / f"{f}.{ext}").exists() for ext in ("png", "pdf", "json"))
    ]
    if missing:
        _fail(
            f"{name} ran but did not write the figures it promises: {missing}",
            running,
            failed,
            stamp,
            layout,
        )
    if bad := unpublishable(staging):
        _fail(
            f"{name} ran but these figures are not results: {bad}", running, failed, stamp, layout
        )
    os.replace(running, layout.build / f"{stem}.ipynb")
    failed.unlink(missing_ok=True)
    files = publish(staging, layout.figures)
    shutil.rmtree(staging, ignore_errors=True)
    stamp.write_text(
        json.dumps({"inputs": digest, "files": files}, indent=1, sort_keys=True) + "\n"
    )
    print(f"[{index}/{total}] {path.name}: done in {time.perf_counter() - t0:.0f} s", flush=True)


def main(argv: list[str]) -> None:
    force = "--force" in argv
    names = [a for a in argv if a != "--force"]
    paths = [Path(n).resolve() for n in names] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    for p in paths:
        if not p.exists():
            sys.exit(f"make figures: no notebook {p}")
    BUILD.mkdir(exist_ok=True)
    # An exported MPLBACKEND=Agg would leave executed notebooks without inline images.
    os.environ.pop("MPLBACKEND", None)
    for i, p in enumerate(paths, 1):
        run(p, i, len(paths), force=force)
    stale = gallery.refresh(FIGURES, NOTEBOOKS, ROOT / "README.md")
    print(f"make figures: gallery and README table {'updated' if stale else 'up to date'}")
    print(
        f"make figures: {len(paths)} notebook(s) up to date; figures in {FIGURES.relative_to(ROOT)}/"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
