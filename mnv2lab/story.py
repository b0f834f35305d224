"""The deck's story as data: ``docs/story.toml`` lists the slides in order, and :func:`plan`
resolves it against ``figures/`` and the recorded findings into :class:`Slide` s with notes.

Entries (``[[slide]]`` tables, in order), each with a ``note`` (``say``, and ``quote``/``ask``):

* ``kind = "title"``: the title slide.
* ``kind = "section"``: a divider (``title``, optional ``subtitle``). ``requires = [paper items]``
  makes the whole section (divider and every entry up to the next section) conditional: it is left
  out cleanly when no figure of those paper items exists yet.
* ``kind = "text"``: ``title`` and ``bullets``.
* ``kind = "figure"``: ``figure = "name"`` (must exist), or ``paper_item = "Table 5"`` (every figure
  of that item, in gallery order; none is fine). Optional ``takeaway`` (else the figure's own) and
  ``trained = true`` (the slide then states the data set and training budget of the study).
* ``kind = "findings"``: ``title`` and ``verdicts``: the recorded findings with those verdicts.

A figure slide's note quotes the notebook's recorded finding for its figure (or paper item), else
the figure's takeaway, unless the story gives ``quote``: the number on the slide and in the notes
come from the same run.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import FigureEntry, Finding
from .findings import VERDICTS

KINDS = ("title", "section", "text", "figure", "findings")
FINDINGS_PER_SLIDE = 6


def trained_on(caption: str = "") -> str:
    """The data set and budget of a trained result: the CIFAR-10 study's recipe, with every number
    of epochs the figure's own caption states ("5 and 30 epochs" for a figure that compares the
    budgets; the study's default when it states none)."""
    from . import study

    epochs = sorted({int(n) for n in re.findall(r"(\d+) epochs", caption)}) or [study.EPOCHS]
    budget = " and ".join(str(e) for e in epochs)
    return (
        f"Trained: CIFAR-10, 32x32, 50,000 train / 10,000 test images; {budget} epochs, "
        f"batch {study.BATCH_SIZE}, SGD + cosine; {len(study.SEEDS)} paired seeds or more; "
        "2 CPU cores"
    )


@dataclass(frozen=True)
class Note:
    """Speaker notes: what to say, the number to quote, a question for the room."""

    say: str
    quote: str = ""
    ask: str = ""


@dataclass(frozen=True)
class Slide:
    """One slide of the deck, resolved: what to draw and what to say."""

    kind: str
    title: str
    note: Note
    entry: int  # index of the story entry it comes from
    section: str = ""
    subtitle: str = ""
    bullets: tuple[str, ...] = ()
    figure: FigureEntry | None = None
    takeaway: str = ""
    trained: str = ""
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def load_story(path: str | Path) -> list[dict[str, Any]]:
    """The story's entries, checked: every entry has a known kind, what that kind needs, a note."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"story: {path} is not a readable TOML file ({err})") from err
    entries = data.get("slide")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"story: {path} has no [[slide]] entries")
    for i, e in enumerate(entries):
        where = f"story {path.name}, slide entry {i + 1}"
        kind = e.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind {kind!r}; allowed: one of {list(KINDS)}")
        need = {
            "section": ["title"],
            "text": ["title", "bullets"],
            "findings": ["title", "verdicts"],
            "figure": [],
            "title": [],
        }[kind]
        missing = [k for k in need if not e.get(k)]
        if kind == "figure" and bool(e.get("figure")) == bool(e.get("paper_item")):
            missing.append("exactly one of figure / paper_item")
        note = e.get("note", {})
        if not isinstance(note, dict) or not str(note.get("say", "")).strip():
            missing.append("note.say")
        if kind in ("text", "figure", "findings") and not str(note.get("ask", "")).strip():
            missing.append("note.ask")
        if missing:
            raise ValueError(f"{where} ({kind}): lacks {missing}")
    return entries


def _finding_for(figure: FigureEntry, findings: list[Finding]) -> Finding | None:
    by_figure = [f for f in findings if figure.name in f.figures]
    by_item = [
        f for f in findings if f.paper_item == figure.paper_item and f.notebook == figure.notebook
    ]
    return (by_figure or by_item or [None])[0]


def sections(entries: list[dict]) -> list[list[tuple[int, dict]]]:
    """The entries grouped: a group starts at each section divider."""
    groups: list[list[tuple[int, dict]]] = [[]]
    for i, e in enumerate(entries):
        if e["kind"] == "section":
            groups.append([])
        groups[-1].append((i, e))
    return [g for g in groups if g]


def plan(entries: list[dict], figures: list[FigureEntry], findings: list[Finding]) -> list[Slide]:
    """The slides in story order; a missing named figure is an error, a section whose required
    paper items have no figure yet is left out."""
    by_name = {f.name: f for f in figures}
    items = {f.paper_item for f in figures}
    slides: list[Slide] = []
    for group in sections(entries):
        head = group[0][1]
        required = head.get("requires", []) if head["kind"] == "section" else []
        if required and not items & set(required):
            continue
        section = head["title"] if head["kind"] == "section" else ""
        for i, e in group:
            slides.extend(_resolve(i, e, section, by_name, figures, findings))
    return slides


def _note(e: dict, quote: str = "") -> Note:
    n = e.get("note", {})

    def one_line(text: object) -> str:  # TOML's multi-line strings, as one paragraph
        return " ".join(str(text).split())

    return Note(
        say=one_line(n["say"]),
        quote=one_line(n.get("quote") or quote),
        ask=one_line(n.get("ask", "")),
    )


def _resolve(
    i: int,
    e: dict,
    section: str,
    by_name: dict[str, FigureEntry],
    figures: list[FigureEntry],
    findings: list[Finding],
) -> list[Slide]:
    kind = e["kind"]
    if kind in ("title", "section", "text"):
        return [
            Slide(
                kind,
                e.get("title", ""),
                _note(e),
                i,
                section,
                subtitle=e.get("subtitle", ""),
                bullets=tuple(e.get("bullets", ())),
            )
        ]
    if kind == "figure":
        if e.get("figure"):
            if e["figure"] not in by_name:
                raise ValueError(
                    f"story entry {i + 1}: figure {e['figure']!r} is not in figures/ "
                    "(renamed? run `make figures`)"
                )
            chosen = [by_name[e["figure"]]]
        else:
            chosen = [f for f in figures if f.paper_item == e["paper_item"]]
        out = []
        for fig in chosen:
            found = _finding_for(fig, findings)
            quote = (
                f"{found.paper_item} [{found.verdict}]: {found.finding}" if found else fig.takeaway
            )
            out.append(
                Slide(
                    "figure",
                    fig.title,
                    _note(e, quote),
                    i,
                    section,
                    figure=fig,
                    takeaway=e.get("takeaway") or fig.takeaway,
                    trained=trained_on(fig.caption) if e.get("trained") else "",
                )
            )
        return out
    chosen = [f for f in findings if f.verdict in e["verdicts"]]
    chunks = even_pages(chosen, FINDINGS_PER_SLIDE)
    counts = ", ".join(f"{sum(f.verdict == v for f in chosen)} {v}" for v in e["verdicts"])
    return [
        Slide(
            "findings",
            e["title"] + (f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""),
            _note(e, f"{len(chosen)} findings: {counts}"),
            i,
            section,
            findings=tuple(chunk),
        )
        for k, chunk in enumerate(chunks)
    ]


def even_pages(items: list, most: int) -> list[list]:
    """``items`` in order, cut into as few pages of at most ``most`` as possible, filled evenly
    (13 items at 6 a page: 5, 4, 4; not 6, 6, 1, which would leave a slide with one line on it)."""
    pages = -(-len(items) // most)
    sizes = [len(items) // pages + (k < len(items) % pages) for k in range(pages)]
    starts = [sum(sizes[:k]) for k in range(pages)]
    return [items[a : a + n] for a, n in zip(starts, sizes)]


def default_story(figures: list[FigureEntry]) -> list[dict]:
    """Without a story file: the title, one slide per figure in gallery order, the findings."""
    say = "Walk through the figure: what is on each axis, then the takeaway."
    return (
        [{"kind": "title", "note": {"say": "What the suite reproduces, figure by figure."}}]
        + [
            {
                "kind": "figure",
                "figure": f.name,
                "note": {"say": say, "ask": "Which number here would you check first, and how?"},
            }
            for f in figures
        ]
        + [
            {
                "kind": "findings",
                "title": "What we found",
                "verdicts": list(VERDICTS),
                "note": {
                    "say": "The verdicts, with the numbers behind them.",
                    "ask": "Which verdict surprises you?",
                },
            }
        ]
    )


def notes_markdown(slides: list[Slide], deck_title: str) -> str:
    """The companion notes: one section per slide with what to say, the number, the question."""
    lines = [
        f"# Speaker notes: {deck_title}",
        "",
        f"{len(slides)} slides, in the order of the deck (`make slides`).",
        "",
    ]
    for page, s in enumerate(slides, 1):
        title = s.title or ("Title" if s.kind == "title" else s.kind)
        lines += [f"## Slide {page} · {title}", ""]
        if s.section:
            lines.append(f"*Section: {s.section}*  ")
        if s.figure is not None:
            lines.append(
                f"*Figure: figures/{s.figure.name}.pdf ({s.figure.paper_item}, notebook "
                f"{s.figure.notebook})*  "
            )
        lines += ["", f"- **Say:** {s.note.say}"]
        if s.note.quote:
            lines.append(f"- **Quote:** {s.note.quote}")
        if s.trained:
            lines.append(f"- **Budget:** {s.trained}")
        if s.note.ask:
            lines.append(f"- **Ask the room:** {s.note.ask}")
        lines.append("")
    return "\n".join(lines)
