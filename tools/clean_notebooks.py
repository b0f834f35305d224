"""Strip outputs, execution counts and papermill metadata from notebooks before committing.

Also resets ``language_info`` to ``{"name": "python"}``: JupyterLab fills in the Python version
and more when a notebook is opened, which would otherwise show up as a diff on every machine.

Usage: python tools/clean_notebooks.py notebooks/*.ipynb   (``--check`` only reports)
       python tools/clean_notebooks.py --filter < in.ipynb > out.ipynb
``--filter`` is the git "clean" filter the Makefile installs (see ``.gitattributes``): git stores
every notebook cleaned, whatever the working copy holds.
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


def clean_text(text: str) -> str:
    """The committed form of a notebook given as JSON text."""
    return nbformat.writes(clean(nbformat.reads(text, as_version=4))) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--filter"]:
        sys.stdout.buffer.write(clean_text(sys.stdin.buffer.read().decode("utf-8")).encode("utf-8"))
        return 0
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"]
    dirty = []
    for path in paths:
        text = path.read_text()
        new = clean_text(text)
        if new != text:
            dirty.append(path)
            if not check:
                path.write_text(new)
    for path in dirty:
        print(f"{'not clean' if check else 'cleaned'}: {path}")
    return 1 if (check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
