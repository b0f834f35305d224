"""What ``figures/`` holds, in reading order: the figures (from their ``NAME.json`` sidecars) and
the findings notebooks recorded (``findings/NN_topic.json``). The gallery and the deck read it.

Order: by notebook name (``NN_topic`` sorts in reading order), then in the order the notebook
promises its figures (``metadata.mnv2lab.figures``), then by name for anything it does not promise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .findings import Finding

FIGURE_FIELDS = ("name", "title", "caption", "paper_item", "notebook")


@dataclass(frozen=True)
class FigureEntry:
    """One figure of ``figures/``: its sidecar fields and where its files are."""

    name: str
    title: str
    caption: str
    paper_item: str
    notebook: str
    takeaway: str
    png: Path
    pdf: Path
    promised: bool  # listed in its notebook's metadata (False: stale or renamed?)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable JSON file ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def promised_figures(notebooks_dir: Path | None, notebook: str) -> list[str]:
    """The figure names ``notebooks_dir/notebook.ipynb`` promises ([] when it does not exist)."""
    if notebooks_dir is None:
        return []
    path = Path(notebooks_dir) / f"{notebook}.ipynb"
    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    return list(nb.metadata.get("mnv2lab", {}).get("figures", []))


def notebook_title(notebooks_dir: Path | None, notebook: str) -> str:
    """The first Markdown heading of the notebook's first cell, as plain text ("" if none)."""
    path = Path(notebooks_dir or "") / f"{notebook}.ipynb"
    if notebooks_dir is None or not path.exists():
        return ""
    cells = nbformat.read(path, as_version=4).cells
    if not cells or cells[0].cell_type != "markdown":
        return ""
    for line in cells[0].source.splitlines():
        if line.lstrip().startswith("#"):
            return " ".join(line.strip().lstrip("#").replace("`", "").split())
    return ""


def load_figures(figures_dir: Path, notebooks_dir: Path | None = None) -> list[FigureEntry]:
    """Every figure sidecar in ``figures_dir``, in reading order; a broken sidecar is an error."""
    figures_dir = Path(figures_dir)
    records = []
    for path in sorted(figures_dir.glob("*.json")):
        data = _read_json(path)
        missing = [f for f in FIGURE_FIELDS if not str(data.get(f, "")).strip()]
        if missing:
            raise ValueError(f"{path}: figure sidecar lacks {missing} (written by save_figure?)")
        if data["name"] != path.stem:
            raise ValueError(f"{path}: its name field is {data['name']!r}, not {path.stem!r}")
        records.append(data)
    promised = {nb: promised_figures(notebooks_dir, nb) for nb in {r["notebook"] for r in records}}

    def order(r: dict) -> tuple:
        names = promised[r["notebook"]]
        rank = names.index(r["name"]) if r["name"] in names else len(names)
        return (r["notebook"], rank, r["name"])

    return [
        FigureEntry(
            name=r["name"],
            title=r["title"],
            caption=r["caption"],
            paper_item=r["paper_item"],
            notebook=r["notebook"],
            takeaway=str(r.get("takeaway") or ""),
            png=figures_dir / f"{r['name']}.png",
            pdf=figures_dir / f"{r['name']}.pdf",
            promised=notebooks_dir is None or r["name"] in promised[r["notebook"]],
        )
        for r in sorted(records, key=order)
    ]


def load_findings(figures_dir: Path) -> list[Finding]:
    """Every finding in ``figures_dir/findings/*.json``, by notebook, in the order recorded."""
    found = []
    for path in sorted((Path(figures_dir) / "findings").glob("*.json")):
        data = _read_json(path)
        for i, f in enumerate(data.get("findings", [])):
            missing = [k for k in ("paper_item", "verdict", "finding") if not f.get(k)]
            if missing:
                raise ValueError(f"{path}: finding {i} lacks {missing}")
            try:
                found.append(
                    Finding(
                        notebook=str(data.get("notebook", path.stem)),
                        paper_item=f["paper_item"],
                        verdict=f["verdict"],
                        finding=f["finding"],
                        figures=tuple(f.get("figures", [])),
                        smoke=bool(data.get("smoke", False)),
                    )
                )
            except ValueError as e:
                raise ValueError(f"{path}: finding {i}: {e}") from None
    return found
