"""The first call of every notebook: validate parameters, print provenance, set the theme.

    nb = start("01_relu_manifold", globals(), SPEC)
    ...
    nb.save_figure(fig, "fig1_spiral", title=..., caption=..., paper_item="Figure 1")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import plotting
from .params import Param, notebook_values, validate
from .paths import resolve
from .provenance import banner

# Every notebook has these two parameters.
COMMON: dict[str, Param] = {
    "smoke": Param(bool, "tiny workload (seconds) for the tests"),
    "out_dir": Param(str, "folder for figures; relative paths start at the repository root"),
}


@dataclass
class NotebookSession:
    """Validated parameters plus the notebook's figure writer."""

    name: str
    params: dict[str, Any]
    out_dir: Path
    saved: list[str] = field(default_factory=list)

    def save_figure(self, fig, name: str, *, title: str, caption: str, paper_item: str,
                    takeaway: str = "") -> dict:
        record = plotting.save_figure(fig, name, out_dir=self.out_dir, title=title, caption=caption,
                                      paper_item=paper_item, notebook=self.name, takeaway=takeaway)
        self.saved.append(name)
        return record


def start(name: str, namespace: Mapping[str, Any], spec: Mapping[str, Param]) -> NotebookSession:
    """Validate the notebook's parameters (before any heavy work) and prepare the session."""
    missing_common = set(COMMON) - set(spec)
    if missing_common:
        raise ValueError(f"spec for {name} lacks the common parameters {sorted(missing_common)}")
    params = validate(notebook_values(namespace, spec), spec)
    plotting.apply_theme()
    out_dir = resolve(params["out_dir"])
    print(banner())
    print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    return NotebookSession(name=name, params=params, out_dir=out_dir)
