"""One theme and one way to save figures, so that ``figures/`` is slide-ready and reproducible.

Every figure goes through :func:`save_figure`, which writes ``NAME.png`` (200 dpi), ``NAME.pdf``
(TrueType fonts embedded, date metadata pinned so the bytes do not change between runs) and
``NAME.json`` (title, caption, the paper item it reproduces, the notebook that made it). Plotted
coordinates are rounded first (:func:`round_plotted`), so that a figure regenerated on another
CPU gives the same bytes wherever its data agree to 6 significant digits.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.patches import Polygon, Rectangle

from . import atomic
from .provenance import provenance

# Slide presets in inches: a 16:9 slide is 13.33 x 7.5 in; leave room for the slide title.
PRESETS: dict[str, tuple[float, float]] = {
    "full": (12.8, 6.0),  # the whole width of a 16:9 slide
    "half": (6.4, 5.6),  # one of two figures side by side
    "tall": (12.8, 7.2),  # a full slide with no title
}
DPI = 200
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def apply_theme() -> None:
    """seaborn "talk" context, colour-blind-safe palette, embedded TrueType fonts."""
    sns.set_theme(context="talk", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update(
        {
            "pdf.fonttype": 42,  # TrueType, editable in slide software
            "ps.fonttype": 42,
            "svg.hashsalt": "mnv2lab",  # stable SVG ids
            "savefig.dpi": DPI,
            "figure.dpi": 100,
            "figure.constrained_layout.use": True,
            "axes.titleweight": "bold",
            "legend.frameon": False,
        }
    )


def palette(n: int | None = None) -> list:
    """The theme's colour-blind-safe colours."""
    return sns.color_palette("colorblind", n)


def new_figure(preset: str = "full", nrows: int = 1, ncols: int = 1, **kwargs: Any):
    """``plt.subplots`` at a slide preset size (``full``, ``half`` or ``tall``)."""
    if preset not in PRESETS:
        raise ValueError(f"preset: got {preset!r}; allowed: {sorted(PRESETS)}")
    return plt.subplots(nrows, ncols, figsize=PRESETS[preset], **kwargs)


# Significant digits kept in plotted data coordinates: 1/40 of a pixel across a 2560-pixel slide
# figure, far coarser than the last-bit differences between CPUs (BLAS kernels, SIMD widths),
# which would otherwise change the PNG and PDF bytes of a figure regenerated on another machine.
PLOT_DIGITS = 6


def _sig(values: Any, digits: int = PLOT_DIGITS) -> Any:
    """``values`` rounded to ``digits`` significant digits (float arrays only; masks and
    non-finite values kept; anything else returned unchanged)."""
    mask = np.ma.getmask(values)
    a = np.asarray(np.ma.getdata(values))
    if a.dtype.kind != "f" or a.size == 0:
        return values
    finite = np.isfinite(a) & (a != 0)
    out = a.astype(float, copy=True)
    mag = np.floor(np.log10(np.abs(out[finite])))
    scale = 10.0 ** (digits - 1 - mag)
    out[finite] = np.round(out[finite] * scale) / scale
    return np.ma.array(out, mask=mask) if mask is not np.ma.nomask else out


def round_plotted(fig: matplotlib.figure.Figure, digits: int = PLOT_DIGITS) -> None:
    """Round every coordinate plotted in data space (lines, scatter offsets, bands, error bars,
    bars, polygons, data-placed text, images, axis limits) to ``digits`` significant digits, so
    that the same figure regenerated on another CPU gives the same bytes."""
    for ax in fig.axes:
        data = ax.transData
        for line in ax.get_lines():
            line.set_data(_sig(line.get_xdata(orig=True)), _sig(line.get_ydata(orig=True)))
        for coll in ax.collections:
            offsets = coll.get_offsets()
            if len(offsets):
                coll.set_offsets(_sig(offsets))
            if coll.get_transform() is data:
                for path in coll.get_paths():
                    if not path.readonly:
                        path.vertices = _sig(path.vertices)
        for patch in ax.patches:
            if isinstance(patch, Rectangle):
                x, y, w, h = _sig(
                    np.array(
                        [patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()],
                        dtype=float,
                    )
                )
                patch.set_bounds(x, y, w, h)
            elif isinstance(patch, Polygon):
                patch.set_xy(_sig(patch.get_xy()))
        for text in ax.texts:
            if text.get_transform() is data:
                pos = _sig(np.array(text.get_position(), dtype=float))
                text.set_position((pos[0], pos[1]))
        for image in ax.images:
            image.set_data(_sig(image.get_array()))
        ax.set_xlim(*_sig(np.array(ax.get_xlim(), dtype=float)))
        ax.set_ylim(*_sig(np.array(ax.get_ylim(), dtype=float)))


def _render(fig: matplotlib.figure.Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata, facecolor="white")
    return buf.getvalue()


def save_figure(
    fig: matplotlib.figure.Figure,
    name: str,
    *,
    out_dir: str | Path,
    title: str,
    caption: str,
    paper_item: str,
    notebook: str,
    takeaway: str = "",
    extra: dict[str, Any] | None = None,
) -> dict:
    """Write ``NAME.png``, ``NAME.pdf`` and ``NAME.json`` atomically into ``out_dir``.

    ``paper_item`` names what the figure reproduces ("Figure 1", "Table 3") or "beyond the paper";
    ``takeaway`` is one sentence for the slide deck; ``extra`` adds fields to ``NAME.json`` (the
    notebook session records ``smoke`` and ``runs`` there).
    """
    if not _NAME.match(name):
        raise ValueError(f"name: got {name!r}; allowed: lower-case letters, digits, '_' and '-'")
    for field, value in (("title", title), ("caption", caption), ("paper_item", paper_item)):
        if not value or not value.strip():
            raise ValueError(f"{field}: must be a non-empty string (figures explain themselves)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    round_plotted(fig)
    atomic.write_bytes(out / f"{name}.png", _render(fig, "png"))
    atomic.write_bytes(out / f"{name}.pdf", _render(fig, "pdf"))
    prov = provenance()
    record = {
        "name": name,
        "title": title,
        "caption": caption,
        "paper_item": paper_item,
        "notebook": notebook,
        "takeaway": takeaway,
        "files": [f"{name}.png", f"{name}.pdf"],
        "mnv2lab_version": prov["mnv2lab_version"],
        **(extra or {}),
    }
    atomic.write_json(out / f"{name}.json", record)
    return record
