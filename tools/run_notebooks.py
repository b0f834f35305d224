"""`make figures`: run every notebook through papermill into build/, regenerating figures/.

A notebook is re-run only when its source, the mnv2lab package, results/ or constraints.txt
changed since its last successful run (or a figure it promises is missing). The executed copy is
written to a temporary name and renamed on success, so a failed run never looks up to date; a
failed copy is kept as build/NAME.failed.ipynb for debugging.

Usage: python tools/run_notebooks.py [NOTEBOOK ...] [--force]
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
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


def promised_figures(path: Path) -> list[str]:
    """Figure names a notebook promises, from its metadata ``mnv2lab.figures``."""
    nb = nbformat.read(path, as_version=4)
    return list(nb.metadata.get("mnv2lab", {}).get("figures", []))


def fingerprint(path: Path) -> str:
    """Hash of the notebook and everything it depends on."""
    h = hashlib.sha256(path.read_bytes())
    for name in INPUTS:
        base = ROOT / name
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for f in files:
            if "__pycache__" in f.parts or not f.exists():
                continue
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def failing_cell(path: Path, err: PapermillExecutionError) -> str:
    """Name the failing cell by its place among the notebook's own code cells (papermill's
    ``cell_index`` counts the cells it inserted into the executed copy)."""
    source = (getattr(err, "source", "") or "").strip()
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    first_line = source.splitlines()[0] if source else "?"
    for i, cell in enumerate(code, 1):
        if cell.source.strip() == source:
            return f"code cell {i} of {len(code)} (`{first_line}`)"
    return f"the injected parameters cell or an unknown cell (`{first_line}`)"


def up_to_date(path: Path, stamp: Path, digest: str) -> bool:
    if not stamp.exists() or stamp.read_text().strip() != digest:
        return False
    return all((FIGURES / f"{fig}.{ext}").exists()
               for fig in promised_figures(path) for ext in ("png", "pdf", "json"))


def run(path: Path, index: int, total: int) -> None:
    stem = path.stem
    stamp = BUILD / f"{stem}.stamp"
    digest = fingerprint(path)
    if up_to_date(path, stamp, digest):
        print(f"[{index}/{total}] {path.name}: up to date, skipped", flush=True)
        return
    print(f"[{index}/{total}] {path.name}: running", flush=True)
    running = BUILD / f"{stem}.running.ipynb"
    failed = BUILD / f"{stem}.failed.ipynb"
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(path), str(running), kernel_name="python3",
                                   cwd=str(NOTEBOOKS), progress_bar=True)
    except PapermillExecutionError as err:
        os.replace(running, failed)
        stamp.unlink(missing_ok=True)
        sys.exit(f"make figures: FAILED in {path.relative_to(ROOT)}, {failing_cell(path, err)}: "
                 f"{err.ename}: {err.evalue}\n"
                 f"executed copy kept at {failed.relative_to(ROOT)}")
    os.replace(running, BUILD / f"{stem}.ipynb")
    failed.unlink(missing_ok=True)
    missing = [f for f in promised_figures(path) if not (FIGURES / f"{f}.png").exists()]
    if missing:
        sys.exit(f"make figures: {path.name} ran but did not write the figures it promises: {missing}")
    stamp.write_text(digest + "\n")
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
    if force:
        for p in paths:
            (BUILD / f"{p.stem}.stamp").unlink(missing_ok=True)
    for i, p in enumerate(paths, 1):
        run(p, i, len(paths))
    stale = gallery.refresh(FIGURES, NOTEBOOKS, ROOT / "README.md")
    print(f"make figures: gallery and README table {'updated' if stale else 'up to date'}")
    print(f"make figures: {len(paths)} notebook(s) up to date; figures in {FIGURES.relative_to(ROOT)}/")


if __name__ == "__main__":
    main(sys.argv[1:])
