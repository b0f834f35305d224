"""`make slides`: a 16:9 PDF deck (one PNG per slide) and its speaker notes, built offline.

The order is data: ``docs/story.toml`` (see :mod:`mnv2lab.story`) tells the paper's story (title,
section dividers, text slides, figures from ``figures/`` with their takeaways, the findings) and
carries the speaker notes, written to ``notes.md`` next to the deck. Without a story the deck is
the title, one slide per figure in gallery order, then the findings. Drawn with matplotlib only (no
LaTeX, no network); TrueType fonts are embedded and the PDF metadata is pinned, so the same figures
and story give a byte-identical deck.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import TextToPath
from PIL import Image

from . import __version__, atomic
from .catalog import FigureEntry, Finding, load_figures, load_findings, notebook_title
from .story import Slide, default_story, load_story, notes_markdown, plan

SLIDE_INCHES = (40 / 3, 7.5)  # 16:9, 960 x 540 pt
PNG_DPI = 144  # 1920 x 1080 pixel slide images
DECK_NAME = "mnv2lab-slides.pdf"
NOTES_NAME = "notes.md"
PAPER = (
    "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    "Sandler, Howard, Zhu, Zhmoginov, Chen. CVPR 2018 (arXiv 1801.04381)",
)
PDF_METADATA = {
    "Title": "mnv2lab: MobileNetV2, reproduced and checked",
    "Author": "mnv2lab",
    "Subject": PAPER[0],
    "Creator": f"mnv2lab {__version__} (make slides)",
    "CreationDate": None,
}
INK, MUTED, ACCENT = "#1a1a1a", "#5f5f5f", "#0173b2"
VERDICT_COLOURS = {
    "reproduced": "#029e73",
    "direction only": "#56b4e9",
    "partly": "#de8f05",
    "inconclusive": "#949494",
    "not reproduced": "#d55e00",
    "beyond the paper": "#0173b2",
}  # every word of mnv2lab.findings.VERDICTS
RC = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "font.family": "DejaVu Sans",
    "figure.constrained_layout.use": False,
    "text.color": INK,
}
SLIDE_PT = (960, 540)
LEFT, RIGHT = 0.04, 0.96
WIDTH_PT = (RIGHT - LEFT) * SLIDE_PT[0]
_TEXT_TO_PATH = TextToPath()
FINDING_X = 0.22  # where a finding's text starts, right of its verdict


def _text_width(text: str, size: float, bold: bool) -> float:
    """Width of one line of text in points (measured with the font, not guessed from its length)."""
    prop = FontProperties(family=RC["font.family"], size=size, weight="bold" if bold else "normal")
    return _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)[0]


def _wrap(text: str, size: float, bold: bool, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` points; more than ``max_lines`` lines end in an ellipsis."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(f"{lines[-1]} {word}", size, bold) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        while lines[-1] and _text_width(lines[-1] + " …", size, bold) > width:
            lines[-1] = lines[-1].rsplit(" ", 1)[0] if " " in lines[-1] else lines[-1][:-1]
        lines[-1] += " …"
    return lines


def _fit(
    text: str, bold: bool, width: float, options: list[tuple[float, int]]
) -> tuple[list[str], float]:
    """Lines and font size: the first ``(size, max_lines)`` option where ``text`` fits whole."""
    for size, max_lines in options:
        lines = _wrap(text, size, bold, width, 10**6)
        if len(lines) <= max_lines:
            return lines, size
    size, max_lines = options[-1]
    return _wrap(text, size, bold, width, max_lines), size


def _slide() -> Figure:
    return Figure(figsize=SLIDE_INCHES, facecolor="white")


def _header(fig: Figure, title: str, subtitle: str) -> float:
    """Title, subtitle and a rule at the top of a slide; returns the free height below them."""
    lines, size = _fit(title, True, WIDTH_PT, [(26, 1), (22, 1), (20, 2)])
    top = 0.965
    fig.text(
        LEFT,
        top,
        "\n".join(lines),
        fontsize=size,
        fontweight="bold",
        va="top",
        ha="left",
        linespacing=1.1,
    )
    top -= len(lines) * size * 1.25 / SLIDE_PT[1] + 0.012
    fig.text(LEFT, top, subtitle, fontsize=14, color=MUTED, va="top", ha="left")
    top -= 14 * 1.25 / SLIDE_PT[1] + 0.014
    fig.add_artist(Line2D([LEFT, RIGHT], [top, top], color=ACCENT, linewidth=2))
    return top - 0.015


def _footer(fig: Figure, left: str, page: int, pages: int) -> None:
    fig.text(LEFT, 0.018, left, fontsize=10, color=MUTED, ha="left", va="bottom")
    fig.text(RIGHT, 0.018, f"{page} / {pages}", fontsize=10, color=MUTED, ha="right", va="bottom")


def _image(path: Path) -> np.ndarray:
    """The figure PNG as RGB (figures have a white background; no alpha channel to embed)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def title_slide(
    figures: list[FigureEntry],
    findings: list[Finding],
    pages: int,
    titles: dict[str, str] | None = None,
) -> Figure:
    """The paper, the notebooks with their figure counts, and the verdicts in numbers."""
    fig = _slide()
    fig.add_artist(Line2D([LEFT, RIGHT], [0.62, 0.62], color=ACCENT, linewidth=3))
    fig.text(
        LEFT,
        0.80,
        "MobileNetV2, reproduced and checked",
        fontsize=40,
        fontweight="bold",
        va="center",
    )
    fig.text(LEFT, 0.70, PAPER[0], fontsize=22, color=INK, va="center")
    fig.text(LEFT, 0.655, PAPER[1], fontsize=16, color=MUTED, va="center")
    y = 0.56
    for nb in sorted({f.notebook for f in figures})[:8]:
        count = sum(f.notebook == nb for f in figures)
        title = (titles or {}).get(nb, "")
        fig.text(LEFT, y, nb, fontsize=15, fontweight="bold", va="top")
        fig.text(
            0.31,
            y,
            _wrap(title, 15, False, 0.5 * SLIDE_PT[0], 1)[0] if title else "",
            fontsize=15,
            va="top",
        )
        fig.text(
            RIGHT,
            y,
            f"{count} figure{'s' if count > 1 else ''}",
            fontsize=15,
            va="top",
            ha="right",
            color=MUTED,
        )
        y -= 0.052
    counts = {v: sum(f.verdict == v for f in findings) for v in VERDICT_COLOURS}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    if summary:
        fig.text(LEFT, y - 0.02, f"Verdicts: {summary}", fontsize=15, va="top", color=MUTED)
    _footer(
        fig, f"mnv2lab {__version__} · {len(figures)} figures from figures/ · make slides", 1, pages
    )
    return fig


def figure_slide(
    entry: FigureEntry, page: int, pages: int, takeaway: str | None = None, trained: str = ""
) -> tuple[Figure, object]:
    """One figure with its title, paper item and takeaway (the figure's own unless given) and,
    for a trained result, its data set and budget; returns the slide and its image."""
    takeaway = entry.takeaway if takeaway is None else takeaway
    fig = _slide()
    top = _header(fig, entry.title, f"Paper: {entry.paper_item}    ·    notebook {entry.notebook}")
    bottom = 0.2 if trained else 0.175
    ax = fig.add_axes((LEFT, bottom, RIGHT - LEFT, top - bottom))
    ax.set_axis_off()
    image = ax.imshow(_image(entry.png), aspect="equal")
    if trained:
        fig.text(
            0.5,
            0.172,
            _wrap(trained, 12, False, WIDTH_PT, 1)[0],
            fontsize=12,
            color=MUTED,
            ha="center",
            va="center",
        )
    if takeaway.strip():
        lines, size = _fit(takeaway, True, WIDTH_PT, [(20, 1), (18, 2), (15, 2), (13, 3)])
        fig.text(
            0.5,
            0.105,
            "\n".join(lines),
            fontsize=size,
            fontweight="bold",
            color=ACCENT,
            ha="center",
            va="center",
            linespacing=1.3,
        )
    else:  # no takeaway given: the caption stands in, smaller
        lines, size = _fit(entry.caption, False, WIDTH_PT, [(14, 2), (12, 3)])
        fig.text(
            0.5,
            0.105,
            "\n".join(lines),
            fontsize=size,
            color=MUTED,
            ha="center",
            va="center",
            linespacing=1.25,
        )
    _footer(fig, f"mnv2lab · figures/{entry.name}.pdf", page, pages)
    return fig, image


def findings_slide(
    findings: list[Finding], page: int, pages: int, title: str = "What we found"
) -> Figure:
    """Up to six verdicts, each with its paper item, notebook and numbers."""
    fig = _slide()
    y = _header(fig, title, "verdict · paper item · notebook: finding (paper vs ours)")
    for f in findings:
        fig.text(
            LEFT,
            y,
            f.verdict,
            fontsize=15,
            fontweight="bold",
            va="top",
            color=VERDICT_COLOURS.get(f.verdict, INK),
        )
        where = f"{f.paper_item} · {f.notebook}"
        if f.smoke:
            where += " · smoke run, not a result"
        fig.text(FINDING_X, y, where, fontsize=15, fontweight="bold", va="top")
        text = "\n".join(_wrap(f.finding, 13, False, (RIGHT - FINDING_X) * SLIDE_PT[0], 2))
        fig.text(FINDING_X, y - 0.045, text, fontsize=13, va="top", color=INK, linespacing=1.25)
        y -= 0.125
    _footer(fig, "mnv2lab · findings recorded by the notebooks (figures/findings/)", page, pages)
    return fig


def section_slide(title: str, subtitle: str, page: int, pages: int) -> Figure:
    """A divider: the section's title (and subtitle) across the slide."""
    fig = _slide()
    fig.add_artist(Line2D([LEFT, RIGHT], [0.46, 0.46], color=ACCENT, linewidth=3))
    lines, size = _fit(title, True, WIDTH_PT, [(40, 1), (32, 2)])
    fig.text(LEFT, 0.52, "\n".join(lines), fontsize=size, fontweight="bold", va="bottom")
    if subtitle:
        sub, sub_size = _fit(subtitle, False, WIDTH_PT, [(20, 2), (16, 3)])
        fig.text(
            LEFT, 0.42, "\n".join(sub), fontsize=sub_size, color=MUTED, va="top", linespacing=1.3
        )
    _footer(fig, "mnv2lab", page, pages)
    return fig


def text_slide(title: str, bullets: tuple[str, ...], section: str, page: int, pages: int) -> Figure:
    """A title and bullets (each wrapped to the slide width)."""
    fig = _slide()
    y = _header(fig, title, section)
    size = 20 if len(bullets) <= 4 else 17
    for bullet in bullets:
        lines = _wrap(bullet, size, False, WIDTH_PT - 30, 3)
        fig.text(LEFT, y - 0.01, "•", fontsize=size, color=ACCENT, va="top")
        fig.text(LEFT + 0.03, y - 0.01, "\n".join(lines), fontsize=size, va="top", linespacing=1.3)
        y -= (len(lines) * size * 1.3 + size * 0.9) / SLIDE_PT[1]
    _footer(fig, "mnv2lab", page, pages)
    return fig


def _png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def plan_deck(
    figures: list[FigureEntry], findings: list[Finding], story: list[dict] | None = None
) -> list[Slide]:
    """The slides in order: the story's (see :mod:`mnv2lab.story`), or the default story."""
    return plan(story if story is not None else default_story(figures), figures, findings)


def _draw(
    slide: Slide,
    page: int,
    pages: int,
    figures: list[FigureEntry],
    findings: list[Finding],
    titles: dict[str, str],
) -> tuple[Figure, object]:
    if slide.kind == "title":
        return title_slide(figures, findings, pages, titles), None
    if slide.kind == "section":
        return section_slide(slide.title, slide.subtitle, page, pages), None
    if slide.kind == "text":
        return text_slide(slide.title, slide.bullets, slide.section, page, pages), None
    if slide.kind == "figure":
        return figure_slide(slide.figure, page, pages, slide.takeaway, slide.trained)
    return findings_slide(list(slide.findings), page, pages, slide.title), None


def build_deck(
    figures_dir: str | Path,
    out_dir: str | Path,
    notebooks_dir: str | Path | None = None,
    story_path: str | Path | None = None,
) -> Path:
    """Write ``out_dir/mnv2lab-slides.pdf``, ``out_dir/png/slide-NN.png`` and the speaker notes
    ``out_dir/notes.md`` (one section per slide); return the PDF."""
    figures_dir, out_dir = Path(figures_dir), Path(out_dir)
    story = load_story(story_path) if story_path is not None else None
    figures = load_figures(figures_dir, Path(notebooks_dir) if notebooks_dir else None)
    if not figures:
        raise ValueError(
            f"figures_dir: {figures_dir} holds no figures (NAME.json + NAME.png); "
            "run `make figures` first"
        )
    missing = [str(f.png) for f in figures if not f.png.exists()]
    if missing:
        raise ValueError(f"figures_dir: figure PNGs missing: {missing}; run `make figures`")
    findings = load_findings(figures_dir)
    titles = {
        nb: notebook_title(Path(notebooks_dir) if notebooks_dir else None, nb)
        for nb in {f.notebook for f in figures}
    }
    slides = plan_deck(figures, findings, story)
    pages = len(slides)
    png_dir = out_dir / "png"
    png_dir.mkdir(parents=True, exist_ok=True)
    pdf_path = out_dir / DECK_NAME
    written = set()
    with matplotlib.rc_context(RC), atomic.atomic_path(pdf_path) as tmp:
        with PdfPages(tmp, metadata=PDF_METADATA) as pdf:
            for page, slide in enumerate(slides, 1):
                fig, image = _draw(slide, page, pages, figures, findings, titles)
                if image is not None:
                    image.set_interpolation("none")  # PDF: embed the PNG's own pixels
                pdf.savefig(fig, facecolor="white")
                if image is not None:
                    image.set_interpolation("antialiased")  # PNG: smooth downscaling
                png = png_dir / f"slide-{page:02d}.png"
                atomic.write_bytes(png, _png_bytes(fig))
                written.add(png)
    for old in png_dir.glob("slide-*.png"):  # slides left over from a bigger deck
        if old not in written:
            old.unlink()
    atomic.write_text(out_dir / NOTES_NAME, notes_markdown(slides, PDF_METADATA["Title"]))
    return pdf_path
