"""The first call of every notebook: validate parameters, print provenance, set the theme.

nb = start("01_relu_manifold", globals(), SPEC)
...
nb.save_figure(fig, "fig1_spiral", title=..., caption=..., paper_item="Figure 1")
nb.record_finding(Finding("Figure 1", count_verdict(checks), f"n = 2 collapses ..."))
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import __version__, atomic, paths, plotting
from .findings import Finding
from .params import NoResults, Param, ParameterError, notebook_values, validate
from .provenance import banner

# Every notebook has these two parameters.
COMMON: dict[str, Param] = {
    "smoke": Param(bool, "tiny workload (seconds) for the tests"),
    "out_dir": Param(str, "folder for figures; relative paths start at the repository root"),
}

# Where a smoke run's figures go when it is pointed at figures/ (which only receives full runs).
SMOKE_DIR = "build/smoke"


def is_figures_dir(path: Path) -> bool:
    """Whether ``path`` is the repository's ``figures/`` or a folder inside it."""
    figures = paths.figures_dir()
    return path == figures or figures in path.parents


@dataclass
class NotebookSession:
    """Validated parameters plus the notebook's figure writer."""

    name: str
    params: dict[str, Any]
    out_dir: Path
    saved: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)  # as recorded on disk

    def save_figure(
        self,
        fig,
        name: str,
        *,
        title: str,
        caption: str,
        paper_item: str,
        takeaway: str = "",
        runs: int | None = None,
    ) -> dict:
        """Save through :func:`mnv2lab.plotting.save_figure`; the caption file also records
        whether this is a smoke run and ``runs``, how many training runs the figure rests on
        (None: it rests on none). A figure over 0 runs is refused for ``figures/``."""
        if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 0):
            raise ValueError(f"runs: got {runs!r}; allowed: an integer >= 0, or None")
        if runs == 0 and is_figures_dir(self.out_dir):
            raise NoResults(
                f"figure {name!r} rests on 0 runs: not written to {self.out_dir} "
                "(figures/ only receives real results); produce the runs first, or "
                "pass -p out_dir build/<folder> to look at the empty figure"
            )
        record = plotting.save_figure(
            fig,
            name,
            out_dir=self.out_dir,
            title=title,
            caption=caption,
            paper_item=paper_item,
            notebook=self.name,
            takeaway=takeaway,
            extra={"smoke": bool(self.params.get("smoke", False)), "runs": runs},
        )
        self.saved.append(name)
        return record

    def record_finding(self, *args: Any, **kwargs: Any) -> dict:
        """Record this notebook's :class:`~mnv2lab.findings.Finding` on one paper item, for the
        README's reproduction table: ``record_finding(finding)``, or its fields
        (``record_finding(paper_item, verdict, finding, figures=...)``), checked the same way.

        The verdict is one of :data:`~mnv2lab.findings.VERDICTS`, computed by the analysis; the
        finding is one line with the numbers behind it (paper vs ours). Its figures default to the
        figures this session saved with the same paper item. All findings of the session are
        (re)written atomically to ``out_dir/findings/<notebook>.json``; recording a paper item
        again replaces its entry.
        """
        if len(args) == 1 and not kwargs and isinstance(args[0], Finding):
            finding = args[0]
        else:
            finding = Finding(*args, **kwargs)
        entry = _finding_entry(finding, self.saved, self.out_dir)
        self.findings = [f for f in self.findings if f["paper_item"] != entry["paper_item"]]
        self.findings.append(entry)
        atomic.write_json(
            self.out_dir / "findings" / f"{self.name}.json",
            {
                "notebook": self.name,
                "smoke": bool(self.params.get("smoke", False)),
                "mnv2lab_version": __version__,
                "findings": self.findings,
            },
        )
        print(f"finding [{entry['verdict']}] {entry['paper_item']}: {entry['finding']}")
        return entry


def _finding_entry(finding: Finding, saved: Sequence[str], out_dir: Path) -> dict:
    """The finding as written to disk, with its figures checked against those saved (errors name
    the argument, the value and what is allowed)."""
    figures = finding.figures
    if figures is None:
        item_of = {
            name: json.loads((out_dir / f"{name}.json").read_text())["paper_item"] for name in saved
        }
        figures = [name for name in saved if item_of[name].strip() == finding.paper_item.strip()]
    else:
        unknown = [f for f in figures if f not in saved]
        if unknown:
            raise ValueError(
                f"figures: got {list(figures)!r}; allowed: a list of figure names "
                f"this notebook saved before recording the finding: {list(saved)}"
            )
    return {
        "paper_item": finding.paper_item.strip(),
        "verdict": finding.verdict,
        "finding": finding.finding.strip(),
        "figures": list(dict.fromkeys(figures)),
    }


def start(name: str, namespace: Mapping[str, Any], spec: Mapping[str, Param]) -> NotebookSession:
    """Validate the notebook's parameters (before any heavy work) and prepare the session."""
    missing_common = set(COMMON) - set(spec)
    if missing_common:
        raise ValueError(f"spec for {name} lacks the common parameters {sorted(missing_common)}")
    params = validate(notebook_values(namespace, spec), spec)
    out_dir = figure_folder(params["out_dir"], params["smoke"])
    plotting.apply_theme()
    print(banner())
    print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    if out_dir != paths.resolve(params["out_dir"]):
        print(f"smoke run: figures go to {out_dir}, not figures/ (which only receives full runs)")
    return NotebookSession(name=name, params=params, out_dir=out_dir)


def figure_folder(out_dir: str, smoke: bool) -> Path:
    """The folder a notebook writes its figures to. An empty ``out_dir`` or the repository root
    is refused; a smoke run aimed at ``figures/`` writes under :data:`SMOKE_DIR` instead."""
    if not out_dir.strip() or paths.resolve(out_dir) == paths.repo_root():
        raise ParameterError(
            f"parameter 'out_dir': got {out_dir!r}; allowed: a folder other than "
            "the repository root, e.g. 'figures' or 'build/figs'"
        )
    folder = paths.resolve(out_dir)
    if smoke and is_figures_dir(folder):
        return paths.resolve(SMOKE_DIR) / folder.relative_to(paths.repo_root())
    return folder


def parameter_defaults(name: str) -> dict[str, Any]:
    """The defaults of ``notebooks/<name>.ipynb``, read from its cell tagged "parameters" (each
    ``name: type = value`` line; values are Python literals): what a script or a solution uses to
    load exactly what the notebook loads, without a copy that could drift."""
    path = paths.repo_root() / "notebooks" / f"{name}.ipynb"
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{path.name}: {len(tagged)} cells tagged 'parameters'; allowed: one")
    source = "".join(tagged[0]["source"])
    return {
        node.target.id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.AnnAssign) and node.value is not None
    }
