"""Teaching outputs: findings recorded by notebooks, the figure gallery with the README's
reproduction table, and the 16:9 slide deck, all built from figures made by the real save_figure."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys

import nbformat
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from mnv2lab import catalog, gallery, plotting, slides, story
from mnv2lab.catalog import FigureEntry
from mnv2lab.findings import VERDICTS
from mnv2lab.notebook import NotebookSession

sys.path.insert(0, str(ROOT / "tools"))
import make_gallery  # noqa: E402  (tools/ is not a package)
import make_slides  # noqa: E402

README = "# demo\n\nintro\n\n<!-- findings:start -->\nold table\n<!-- findings:end -->\n\ntail\n"


def _plot(preset: str, label: str):
    fig, ax = plotting.new_figure(preset)
    x = np.linspace(0, 1, 20)
    ax.plot(x, x**2, label=label)
    ax.set_xlabel("x (units)")
    ax.legend()
    return fig


def _notebook(folder, name, figures):
    nb = nbformat.v4.new_notebook()
    nb.metadata["mnv2lab"] = {"figures": figures}
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """figures/ + notebooks/ + README of a two-notebook suite, made through NotebookSession."""
    root = tmp_path_factory.mktemp("suite")
    figs, nbs = root / "figures", root / "notebooks"
    nbs.mkdir()
    # The notebook promises z_first before a_second: the gallery must follow that, not the alphabet.
    _notebook(nbs, "01_alpha", ["z_first", "a_second"])
    _notebook(nbs, "02_beta", ["beta_fig"])
    plotting.apply_theme()
    s1 = NotebookSession("01_alpha", {"smoke": False}, figs)
    s1.save_figure(
        _plot("half", "a"),
        "a_second",
        title="Second | piped",
        caption="Cap A.",
        paper_item="Table 3",
        takeaway="Memory drops 4x: 400K vs 1600K.",
    )
    s1.save_figure(
        _plot("full", "z"),
        "z_first",
        title="First figure",
        caption="Cap Z, 3 seeds.",
        paper_item="Figure 1",
        takeaway="",
    )
    s1.record_finding("Figure 1", "reproduced", "n = 2 loses 45% of points | paper: qualitative")
    s1.record_finding("Table 3", "not reproduced", "peak 400 kB vs paper 400K; 7x7 cell 2x off")
    s2 = NotebookSession("02_beta", {"smoke": True}, figs)
    s2.save_figure(
        _plot("tall", "b"),
        "beta_fig",
        title="Beta",
        caption="Cap B.",
        paper_item="beyond the paper",
        takeaway="A takeaway " * 30,
    )
    s2.record_finding("beyond the paper", "beyond the paper", "3 of 5 patterns seen")
    (root / "README.md").write_text(README)
    return root


# --- record_finding ------------------------------------------------------------------------------


def test_record_finding_writes_the_notebooks_findings(demo):
    data = json.loads((demo / "figures" / "findings" / "01_alpha.json").read_text())
    assert data["notebook"] == "01_alpha" and data["smoke"] is False
    assert [(f["paper_item"], f["verdict"], f["figures"]) for f in data["findings"]] == [
        ("Figure 1", "reproduced", ["z_first"]),
        ("Table 3", "not reproduced", ["a_second"]),
    ]
    beta = json.loads((demo / "figures" / "findings" / "02_beta.json").read_text())
    assert beta["smoke"] is True
    assert not list((demo / "figures").rglob("*.tmp")), "temporary files left behind"


def test_record_finding_replaces_an_item_recorded_again(tmp_path, capsys):
    s = NotebookSession("03_gamma", {"smoke": False}, tmp_path)
    s.record_finding("Figure 6", "partly", "first try: 1.0 points")
    s.record_finding("Table 4", "reproduced", "300,774,272 multiply-adds")
    s.record_finding("Figure 6", "not reproduced", "second try: 0.2 points")
    found = json.loads((tmp_path / "findings" / "03_gamma.json").read_text())["findings"]
    assert [(f["paper_item"], f["finding"]) for f in found] == [
        ("Table 4", "300,774,272 multiply-adds"),
        ("Figure 6", "second try: 0.2 points"),
    ]
    assert "finding [not reproduced] Figure 6: second try: 0.2 points" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"verdict": "confirmed"}, "verdict"),
        ({"finding": "it works"}, "finding"),  # no number
        ({"finding": "1 line\nand 2 lines"}, "finding"),
        ({"finding": "x" * 300 + " 1"}, "finding"),
        ({"paper_item": " "}, "paper_item"),
        ({"figures": ["not_saved"]}, "figures"),
        ({"figures": "fig"}, "figures"),
    ],
)
def test_record_finding_refuses_bad_input_clearly(tmp_path, kwargs, word):
    s = NotebookSession("03_gamma", {"smoke": False}, tmp_path)
    args = {"paper_item": "Figure 6", "verdict": "reproduced", "finding": "0.3 points"} | kwargs
    with pytest.raises(ValueError) as err:
        s.record_finding(**args)
    message = str(err.value)
    assert message.startswith(word) and "allowed" in message
    if word == "verdict":
        assert "'confirmed'" in message and all(v in message for v in VERDICTS)
    assert not (tmp_path / "findings").exists(), "nothing is written for a refused finding"


# --- the gallery and the README table ------------------------------------------------------------


def _run_gallery(demo, *extra) -> int:
    return make_gallery.main(
        [
            "--figures",
            str(demo / "figures"),
            "--notebooks",
            str(demo / "notebooks"),
            "--readme",
            str(demo / "README.md"),
            *extra,
        ]
    )


def test_catalog_orders_by_notebook_then_promised_order(demo):
    figs = catalog.load_figures(demo / "figures", demo / "notebooks")
    assert [f.name for f in figs] == ["z_first", "a_second", "beta_fig"]
    assert all(f.promised for f in figs)
    assert [f.notebook for f in catalog.load_findings(demo / "figures")] == [
        "01_alpha",
        "01_alpha",
        "02_beta",
    ]


def test_gallery_shows_every_figure_with_thumbnail_caption_notebook_and_paper_item(demo):
    assert _run_gallery(demo) == 0
    text = (demo / "figures" / "README.md").read_text()
    for name, caption, item in [
        ("z_first", "Cap Z, 3 seeds.", "Figure 1"),
        ("a_second", "Cap A.", "Table 3"),
        ("beta_fig", "Cap B.", "beyond the paper"),
    ]:
        assert re.search(rf'<img src="{name}\.png" width="\d+"', text), name
        assert caption in text and f"Paper item: {item}" in text
        assert f"[PDF]({name}.pdf)" in text
    order = [
        "## 01_alpha",
        '<img src="z_first.png"',
        '<img src="a_second.png"',
        "## 02_beta",
        '<img src="beta_fig.png"',
    ]
    assert [text.index(s) for s in order] == sorted(text.index(s) for s in order)
    assert "(../notebooks/01_alpha.ipynb)" in text
    assert "**Takeaway:** Memory drops 4x" in text


def test_readme_table_replaces_only_the_marked_block(demo):
    assert _run_gallery(demo) == 0
    text = (demo / "README.md").read_text()
    before, block, after = re.split(r"<!-- findings:(?:start|end) -->", text)
    assert before == "# demo\n\nintro\n\n" and after == "\n\ntail\n"
    assert "old table" not in block
    rows = [r for r in block.strip().splitlines() if r.startswith("| ")][1:]
    assert len(rows) == 3
    assert rows[0].startswith(
        "| Figure 1 | [01_alpha](notebooks/01_alpha.ipynb) | "
        "[z_first](figures/z_first.png) | **reproduced** |"
    )
    assert "n = 2 loses 45% of points \\| paper: qualitative" in rows[0], "pipes are escaped"
    assert "**not reproduced**" in rows[1] and "7x7 cell 2x off" in rows[1]
    assert "(smoke run: not a result)" in rows[2]


def test_gallery_is_deterministic_and_check_detects_staleness(demo):
    assert _run_gallery(demo) == 0
    first = {p: p.read_bytes() for p in (demo / "figures" / "README.md", demo / "README.md")}
    assert _run_gallery(demo) == 0
    assert {p: p.read_bytes() for p in first} == first, "re-running changed the output"
    assert _run_gallery(demo, "--check") == 0
    (demo / "figures" / "README.md").write_text("edited by hand\n")
    assert _run_gallery(demo, "--check") == 1
    assert (demo / "figures" / "README.md").read_text() == "edited by hand\n", "--check wrote"
    assert _run_gallery(demo) == 0 and _run_gallery(demo, "--check") == 0


def test_gallery_flags_stale_figures_and_rejects_broken_sidecars(demo, tmp_path):
    figs = tmp_path / "figures"
    shutil.copytree(demo / "figures", figs)
    meta = json.loads((figs / "beta_fig.json").read_text())
    (figs / "old_fig.json").write_text(json.dumps(meta | {"name": "old_fig"}))
    text = gallery.render_gallery(catalog.load_figures(figs, demo / "notebooks"), [])
    assert "old_fig" in text and "stale?" in text
    assert "No findings recorded yet" in text
    (figs / "old_fig.json").write_text("{not json")
    with pytest.raises(ValueError, match="old_fig.json"):
        catalog.load_figures(figs, demo / "notebooks")


def test_readme_without_markers_is_an_error_naming_them():
    with pytest.raises(ValueError, match="findings:start"):
        gallery.replace_between_markers("# no markers\n", "table")


def test_refresh_writes_only_what_changed_and_check_writes_nothing(demo, tmp_path):
    """mnv2lab.gallery.refresh, the step `make figures` ends with (tools/run_notebooks.py)."""
    for name in ("figures", "notebooks"):
        shutil.copytree(demo / name, tmp_path / name)
    (tmp_path / "figures" / "README.md").unlink(missing_ok=True)
    readme, page = tmp_path / "README.md", tmp_path / "figures" / "README.md"
    readme.write_text(README)
    args = (tmp_path / "figures", tmp_path / "notebooks", readme)
    assert gallery.refresh(*args, check=True) == [page, readme]
    assert readme.read_text() == README and not page.exists()
    assert gallery.refresh(*args) == [page, readme]
    assert "old table" not in readme.read_text()
    assert gallery.refresh(*args) == [] and gallery.refresh(*args, check=True) == []


def test_committed_gallery_and_readme_table_are_up_to_date():
    """figures/README.md and the README table match figures/ (regenerate: make figures)."""
    assert make_gallery.main(["--check"]) == 0


def test_every_verdict_word_is_explained_above_the_tables(demo):
    """A reader of the README's table (or the gallery's) alone learns what each verdict word
    means: every word of :data:`VERDICTS` has a meaning, printed above both tables."""
    from mnv2lab.findings import VERDICT_MEANINGS

    assert list(VERDICT_MEANINGS) == list(VERDICTS)
    assert _run_gallery(demo) == 0
    for path in (demo / "README.md", demo / "figures" / "README.md"):
        text = path.read_text()
        above = text[: text.index("| paper item |")]
        missing = [v for v in VERDICTS if f"**{v}**: {VERDICT_MEANINGS[v]}" not in above]
        assert not missing, f"{path}: no meaning above the table for {missing}"


# --- the slide deck ------------------------------------------------------------------------------


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


@pytest.mark.slow
def test_slides_are_a_16_9_deck_in_notebook_order_with_embedded_fonts(demo, tmp_path):
    out = tmp_path / "slides"
    (out / "png").mkdir(parents=True)
    (out / "png" / "slide-99.png").write_bytes(b"left over from a bigger deck")
    pdf_path = slides.build_deck(demo / "figures", out, demo / "notebooks")
    pdf = pdf_path.read_bytes()
    plan = slides.plan_deck(
        catalog.load_figures(demo / "figures", demo / "notebooks"),
        catalog.load_findings(demo / "figures"),
    )
    assert [s.kind for s in plan] == ["title", "figure", "figure", "figure", "findings"]
    assert [s.figure.name for s in plan if s.kind == "figure"] == [
        "z_first",
        "a_second",
        "beta_fig",
    ]
    notes = (out / slides.NOTES_NAME).read_text()
    assert notes.count("\n## Slide ") == len(plan)
    assert _pdf_pages(pdf) == len(plan)
    assert re.search(rb"/MediaBox \[ ?0 0 960 540 ?\]", pdf), "16:9 pages of 960 x 540 pt"
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf, "TrueType fonts, embedded"
    assert b"/CreationDate" not in pdf and b"(mnv2lab: MobileNetV2" in pdf
    pngs = sorted((out / "png").glob("slide-*.png"))
    assert [p.name for p in pngs] == [f"slide-{k:02d}.png" for k in range(1, len(plan) + 1)]
    assert Image.open(pngs[1]).size == (1920, 1080)
    # The figure is on its slide: its image area is not blank.
    pixels = np.asarray(Image.open(pngs[1]).convert("L"), dtype=float)
    assert (pixels[300:800] < 250).mean() > 0.005
    # Same figures, same bytes.
    again = slides.build_deck(demo / "figures", tmp_path / "again", demo / "notebooks")
    assert again.read_bytes() == pdf
    assert (tmp_path / "again" / "png" / "slide-02.png").read_bytes() == pngs[1].read_bytes()


STORY = """
[[slide]]
kind = "title"
note.say = "Welcome."

[[slide]]
kind = "section"
title = "Ideas"
note.say = "First the ideas."

[[slide]]
kind = "text"
title = "Why"
bullets = ["cheap", "accurate"]
note = {say = "Motivate.", quote = "300M MAdds", ask = "Why cheap?"}

[[slide]]
kind = "figure"
figure = "a_second"
trained = true
note = {say = "Memory.", ask = "Which tensor?"}

[[slide]]
kind = "section"
title = "Detection"
requires = ["Table 9"]
note.say = "Only once Table 9 exists."

[[slide]]
kind = "figure"
paper_item = "Table 9"
note = {say = "Detection.", ask = "What?"}

[[slide]]
kind = "section"
title = "Results"
note.say = "Scorecard."

[[slide]]
kind = "figure"
paper_item = "Figure 1"
takeaway = "Told by the story."
note = {say = "Figure 1.", ask = "Predict n = 4?"}

[[slide]]
kind = "findings"
title = "Reproduced"
verdicts = ["reproduced"]
note = {say = "What holds.", ask = "Trust it?"}
"""


def _story(tmp_path, text=STORY):
    path = tmp_path / "story.toml"
    path.write_text(text)
    return path


def test_the_deck_follows_the_story_and_skips_a_section_without_figures(demo, tmp_path):
    figures = catalog.load_figures(demo / "figures", demo / "notebooks")
    findings = catalog.load_findings(demo / "figures")
    entries = story.load_story(_story(tmp_path))
    plan = slides.plan_deck(figures, findings, entries)
    assert [(s.kind, s.title) for s in plan] == [
        ("title", ""),
        ("section", "Ideas"),
        ("text", "Why"),
        ("figure", "Second | piped"),
        ("section", "Results"),
        ("figure", "First figure"),
        ("findings", "Reproduced"),
    ]
    assert [s.entry for s in plan] == [0, 1, 2, 3, 6, 7, 8], "Detection (4, 5) left out whole"
    fig_slide = plan[3]
    assert fig_slide.section == "Ideas" and fig_slide.trained.startswith("Trained: CIFAR-10")
    assert fig_slide.takeaway == "Memory drops 4x: 400K vs 1600K.", "the figure's own takeaway"
    assert plan[5].takeaway == "Told by the story."
    # The note quotes the notebook's recorded finding for the figure.
    assert (
        fig_slide.note.quote
        == "Table 3 [not reproduced]: peak 400 kB vs paper 400K; 7x7 cell 2x off"
    )
    assert plan[6].findings and all(f.verdict == "reproduced" for f in plan[6].findings)
    # Once a Table 9 figure exists, the section comes in, in its place.
    table9 = FigureEntry(**{**figures[0].__dict__, "name": "t9", "paper_item": "Table 9"})
    plan = slides.plan_deck(figures + [table9], findings, entries)
    assert [s.entry for s in plan] == [0, 1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    "change, word",
    [
        (('kind = "text"', 'kind = "poster"'), "kind"),
        (
            ('note = {say = "Memory.", ask = "Which tensor?"}', 'note = {say = "Memory."}'),
            "note.ask",
        ),
        (('bullets = ["cheap", "accurate"]', ""), "bullets"),
        (('figure = "a_second"', 'figure = "a_second"\npaper_item = "Table 3"'), "exactly one"),
    ],
)
def test_a_broken_story_is_refused_naming_the_entry(tmp_path, change, word):
    with pytest.raises(ValueError, match=word) as err:
        story.load_story(_story(tmp_path, STORY.replace(*change)))
    assert "slide entry" in str(err.value)


def test_a_story_naming_a_missing_figure_fails(demo, tmp_path):
    entries = story.load_story(_story(tmp_path, STORY.replace('"a_second"', '"gone"')))
    with pytest.raises(ValueError, match="'gone' is not in figures"):
        slides.plan_deck(catalog.load_figures(demo / "figures"), [], entries)


def test_the_repository_story_resolves_with_a_note_on_every_slide():
    """docs/story.toml against the committed figures/: the deck's slides come in the story's order
    (entry indices never go back), every slide has what to say, every content slide a question,
    every figure slide a number to quote; the deck opens with the ideas."""
    entries = story.load_story(ROOT / "docs" / "story.toml")
    figures = catalog.load_figures(ROOT / "figures", ROOT / "notebooks")
    plan = slides.plan_deck(figures, catalog.load_findings(ROOT / "figures"), entries)
    order = [s.entry for s in plan]
    assert order == sorted(order), "the deck follows the story list"
    optional = {i for i, e in enumerate(entries) if e["kind"] == "figure" and "paper_item" in e}
    for group in story.sections(entries):  # a section that waits for its paper items
        if group[0][1].get("requires"):
            optional |= {i for i, _ in group}
    missing = set(range(len(entries))) - optional - set(order)
    assert not missing, f"story entries without a slide: {sorted(i + 1 for i in missing)}"
    for s in plan:
        assert s.note.say, s
        if s.kind in ("text", "figure", "findings"):
            assert s.note.ask, s
        if s.kind in ("figure", "findings"):
            assert any(ch.isdigit() for ch in s.note.quote), f"{s.title}: no number to quote"
    sections = [s.title for s in plan if s.kind == "section"]
    assert sections[:4] == [
        "Motivation",
        "Depthwise separable convolutions",
        "Linear bottlenecks",
        "Inverted residuals",
    ]
    first_result = next(
        i for i, s in enumerate(plan) if s.figure and s.figure.notebook != "00_ideas"
    )
    assert any(s.figure and s.figure.notebook == "00_ideas" for s in plan[:first_result]), (
        "the deck opens with the ideas (a diagram) before the first result"
    )
    trained = [s for s in plan if s.trained]
    assert {s.figure.name for s in trained} >= {
        "bottleneck_ablation_fig6a",
        "shortcut_ablation_fig6b",
    }


@pytest.mark.slow
def test_make_slides_writes_the_deck_and_its_notes(demo, tmp_path, capsys):
    out = tmp_path / "deck"
    assert (
        make_slides.main(
            [
                "--figures",
                str(demo / "figures"),
                "--notebooks",
                str(demo / "notebooks"),
                "--story",
                str(_story(tmp_path)),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    pdf = (out / slides.DECK_NAME).read_bytes()
    assert _pdf_pages(pdf) == 7 and len(list((out / "png").glob("slide-*.png"))) == 7
    notes = (out / slides.NOTES_NAME).read_text()
    assert [line for line in notes.splitlines() if line.startswith("## Slide ")] == [
        "## Slide 1 · Title",
        "## Slide 2 · Ideas",
        "## Slide 3 · Why",
        "## Slide 4 · Second | piped",
        "## Slide 5 · Results",
        "## Slide 6 · First figure",
        "## Slide 7 · Reproduced",
    ]
    assert "- **Ask the room:** Which tensor?" in notes and "- **Quote:** 300M MAdds" in notes
    assert "- **Budget:** Trained: CIFAR-10" in notes
    assert "speaker notes" in capsys.readouterr().out


def test_slide_text_is_wrapped_to_the_slide_width():
    long = "word " * 80
    lines, size = slides._fit(long, True, slides.WIDTH_PT, [(20, 1), (15, 2)])
    assert size == 15 and len(lines) == 2 and lines[-1].endswith("…")
    assert all(slides._text_width(line, size, True) <= slides.WIDTH_PT for line in lines)
    lines, size = slides._fit("Short takeaway.", True, slides.WIDTH_PT, [(20, 1), (15, 2)])
    assert (lines, size) == (["Short takeaway."], 20)


def test_slides_need_figures(tmp_path, capsys):
    with pytest.raises(ValueError, match="no figures"):
        slides.build_deck(tmp_path, tmp_path / "out")
    assert make_slides.main(["--figures", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "make slides: figures_dir" in capsys.readouterr().err


def test_notebook_title_is_the_first_heading(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Intro line\n\n## The `ReLU`  manifold\n# later")]
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    assert catalog.notebook_title(tmp_path, "01_x") == "The ReLU manifold"
    assert catalog.notebook_title(tmp_path, "02_missing") == ""
    assert catalog.notebook_title(None, "01_x") == ""


# --- every notebook: a lesson with goals and a claim, thin, closing with what it found ---------

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_reads_as_a_lesson(path):
    cells = nbformat.read(path, as_version=4).cells
    first, last, exercises = cells[0], cells[-2], cells[-1]
    assert first.cell_type == "markdown" and re.search(r"^#", first.source, flags=re.M), (
        "the first cell opens with a heading"
    )
    assert "learning goals" in first.source.lower(), "the first cell states the learning goals"
    assert "claim" in first.source.lower(), "the first cell states the paper's claim"
    assert last.cell_type == "markdown" and "what we found" in last.source.lower(), (
        "the 'What we found' markdown comes just before the exercises"
    )
    assert exercises.cell_type == "markdown" and exercises.source.startswith("## Exercises"), (
        "the last cell is the '## Exercises' markdown (tests/test_exercises.py checks them)"
    )
    code = [c.source for c in cells if c.cell_type == "code"]
    for src in code:
        tree = ast.parse(
            "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
        )
        defined = [
            n.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        assert not defined, f"functions/classes {defined} belong in the mnv2lab package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_records_a_verdict_for_the_readme_table(path):
    code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert any("record_finding(" in src for src in code), (
        "record the verdict for the README's reproduction table: "
        "nb.record_finding(paper_item, verdict, finding) (see mnv2lab/notebook.py)"
    )


def test_a_trained_slide_names_every_budget_its_caption_states():
    from mnv2lab import study

    both = story.trained_on("at each budget (CIFAR-10, 5 epochs, CIFAR-10, 30 epochs): mean ...")
    assert "; 5 and 30 epochs, batch" in both
    assert f"; {study.EPOCHS} epochs, batch" in story.trained_on("no epochs stated")
    assert "; 30 epochs, batch" in story.trained_on("trained for 30 epochs, twice: 30 epochs")


def test_the_teaching_guide_quotes_the_committed_findings_with_their_budget():
    """docs/teaching.md's trained numbers name their budget and match notebooks 03's and 04's
    recorded findings (regenerated by `make figures`): a stale guide fails here."""
    guide = (ROOT / "docs" / "teaching.md").read_text()
    row = next(line for line in guide.splitlines() if "03_bottleneck_ablation" in line)
    quoted = re.search(
        r"(CIFAR-10, \d+ epochs): linear minus ReLU6 bottleneck ([+-][\d.]+) points "
        r"\[([+-][\d.]+), ([+-][\d.]+)\]",
        row,
    )
    assert quoted, "the guide's ablation row names data set, budget and the interval"
    recorded = json.loads(
        (ROOT / "figures" / "findings" / "03_bottleneck_ablation.json").read_text()
    )
    fig6a = next(f["finding"] for f in recorded["findings"] if f["paper_item"] == "Figure 6a")
    budget, gap, low, high = quoted.groups()
    assert fig6a.startswith(budget + ":"), (budget, fig6a)
    assert f"{gap} pt [{low}, {high}]" in fig6a, (quoted.group(0), fig6a)
    shortcut = re.search(
        r"(CIFAR-10, \d+ epochs): the paper's shortcut minus the shortcut between expansions "
        r"([+-][\d.]+) points \[([+-][\d.]+), ([+-][\d.]+)\], minus no residual ([+-][\d.]+) "
        r"points \[([+-][\d.]+), ([+-][\d.]+)\]",
        row,
    )
    assert shortcut, "the guide's ablation row quotes Figure 6b's gaps with budget and interval"
    recorded = json.loads((ROOT / "figures" / "findings" / "04_shortcut_ablation.json").read_text())
    fig6b = next(f["finding"] for f in recorded["findings"] if f["paper_item"] == "Figure 6b")
    budget, g1, l1, h1, g2, l2, h2 = shortcut.groups()
    assert fig6b.startswith(budget + ":"), (budget, fig6b)
    assert f"expansion shortcut {g1} pt [{l1}, {h1}]" in fig6b, (shortcut.group(0), fig6b)
    assert f"no residual {g2} pt [{l2}, {h2}]" in fig6b, (shortcut.group(0), fig6b)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_what_we_found_states_each_recorded_trained_verdict_with_its_budget(path):
    """The hand-written 'What we found' cell says the verdict `make figures` last recorded for
    every trained finding, with its budget ("**direction only** (CIFAR-10, 30 epochs)"): when a
    rerun on new results changes a verdict or its budget, stale prose fails here."""
    recorded = ROOT / "figures" / "findings" / f"{path.stem}.json"
    if not recorded.exists():
        pytest.skip("no findings recorded yet")
    found = " ".join(nbformat.read(path, as_version=4).cells[-2].source.split())
    for f in json.loads(recorded.read_text())["findings"]:
        budget = re.match(r"(CIFAR-10, \d+ epochs?):", f["finding"])
        if budget is None or f["verdict"] == "beyond the paper":
            continue
        stated = f"**{f['verdict']}** ({budget.group(1)})"
        assert stated in found, f"{f['paper_item']}: the prose should say {stated}"


@pytest.mark.parametrize(
    "n, sizes",
    [(0, []), (1, [1]), (6, [6]), (7, [4, 3]), (8, [4, 4]), (13, [5, 4, 4]), (18, [6] * 3)],
)
def test_findings_slides_are_filled_evenly(n, sizes):
    from mnv2lab.story import even_pages

    pages = even_pages(list(range(n)), 6)
    assert [len(p) for p in pages] == sizes and sum(pages, []) == list(range(n))
