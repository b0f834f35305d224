"""Figures: PNG + PDF + caption sidecar, byte-identical when regenerated."""

import json

import numpy as np
import pytest

from mnv2lab import plotting


def _make_figure():
    plotting.apply_theme()
    fig, ax = plotting.new_figure("half")
    x = np.linspace(0, 1, 50)
    ax.plot(x, x ** 2, label="x^2")
    ax.set_title("test")
    ax.legend()
    return fig


def test_save_figure_writes_png_pdf_and_caption(tmp_path):
    rec = plotting.save_figure(_make_figure(), "demo", out_dir=tmp_path, title="Demo",
                               caption="A parabola.", paper_item="none", notebook="test")
    assert (tmp_path / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "demo.pdf").read_bytes()[:5] == b"%PDF-"
    meta = json.loads((tmp_path / "demo.json").read_text())
    assert meta == rec and meta["caption"] == "A parabola."
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_figures_are_byte_identical_when_regenerated(tmp_path):
    for sub in ("a", "b"):
        plotting.save_figure(_make_figure(), "demo", out_dir=tmp_path / sub, title="Demo",
                             caption="c", paper_item="none", notebook="test")
    for ext in ("png", "pdf", "json"):
        assert (tmp_path / "a" / f"demo.{ext}").read_bytes() == (tmp_path / "b" / f"demo.{ext}").read_bytes()


def test_pdf_embeds_truetype_fonts(tmp_path):
    plotting.save_figure(_make_figure(), "demo", out_dir=tmp_path, title="Demo", caption="c",
                         paper_item="none", notebook="test")
    pdf = (tmp_path / "demo.pdf").read_bytes()
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf


def test_png_is_slide_resolution(tmp_path):
    from PIL import Image

    plotting.save_figure(_make_figure(), "demo", out_dir=tmp_path, title="Demo", caption="c",
                         paper_item="none", notebook="test")
    w, h = Image.open(tmp_path / "demo.png").size
    assert w >= 6.4 * 200 * 0.9 and h >= 5.6 * 200 * 0.9


def test_bad_names_and_missing_captions_are_refused(tmp_path):
    fig = _make_figure()
    with pytest.raises(ValueError, match="name"):
        plotting.save_figure(fig, "Bad Name", out_dir=tmp_path, title="t", caption="c",
                             paper_item="p", notebook="n")
    with pytest.raises(ValueError, match="caption"):
        plotting.save_figure(fig, "ok", out_dir=tmp_path, title="t", caption=" ",
                             paper_item="p", notebook="n")
