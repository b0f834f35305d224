"""Strip outputs, execution counts and papermill metadata from notebooks before committing.

Also resets ``language_info`` to ``{"name": "python"}``: JupyterLab fills in the Python version
and more when a notebook is opened, which would otherwise show up as a diff on every machine.

Usage: python tools/clean_notebooks.py notebooks/*.ipynb   (``--check`` only reports)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python"}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"]
    dirty = []
    for path in paths:
        text = path.read_text()
        nb = nbformat.reads(text, as_version=4)
        new = nbformat.writes(clean(nb)) + "\n"
        if new != text:
            dirty.append(path)
            if not check:
                path.write_text(new)
    for path in dirty:
        print(f"{'not clean' if check else 'cleaned'}: {path}")
    return 1 if (check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
