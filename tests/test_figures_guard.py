"""figures/ only receives full, real runs; `make figures` notices changed figures and keeps the
previous complete set when a notebook fails or its kernel dies (issue 14, findings 2 and 6)."""

from __future__ import annotations

import json
import sys

import matplotlib
import nbformat
import pytest

from conftest import ROOT
from mnv2lab import activations, paths, study, v1_vs_v2
from mnv2lab.notebook import COMMON, parameter_defaults, start
from mnv2lab.params import NoResults, ParameterError

sys.path.insert(0, str(ROOT / "tools"))
import run_notebooks  # noqa: E402  (tools/ is not a package)

matplotlib.use("Agg")


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """Relative paths resolve inside a temporary 'repository', so nothing touches figures/."""
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    return tmp_path


def _start(smoke: bool, out_dir: str):
    return start("99_demo", {"smoke": smoke, "out_dir": out_dir}, COMMON)


def _figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("out_dir", ["", "  ", "."])
def test_out_dir_must_name_a_folder_other_than_the_repository(fake_repo, out_dir):
    with pytest.raises(ParameterError, match="'out_dir'"):
        _start(False, out_dir)


def test_a_smoke_run_never_writes_into_figures(fake_repo, capsys):
    nb = _start(True, "figures")
    assert nb.out_dir == fake_repo / "build" / "smoke" / "figures"
    assert "not figures/" in capsys.readouterr().out
    record = nb.save_figure(_figure(), "demo", title="t", caption="c", paper_item="Figure 1")
    assert record["smoke"] is True and record["runs"] is None
    assert not (fake_repo / "figures").exists()
    assert json.loads((nb.out_dir / "demo.json").read_text())["smoke"] is True


def test_captions_record_how_many_runs_a_figure_rests_on(fake_repo):
    nb = _start(False, "figures")
    record = nb.save_figure(
        _figure(), "demo", title="t", caption="c", paper_item="Figure 6a", runs=9
    )
    saved = json.loads((fake_repo / "figures" / "demo.json").read_text())
    assert record["runs"] == saved["runs"] == 9 and saved["smoke"] is False


def test_a_figure_over_no_runs_is_refused_for_figures(fake_repo):
    nb = _start(False, "figures")
    with pytest.raises(NoResults, match="demo.*0 runs"):
        nb.save_figure(_figure(), "demo", title="t", caption="c", paper_item="Figure 6a", runs=0)
    assert not (fake_repo / "figures").exists()
    elsewhere = _start(False, "build/look")  # anywhere else it may be looked at
    elsewhere.save_figure(_figure(), "demo", title="t", caption="c", paper_item="x", runs=0)


def _ablation_params(**over):
    return {**parameter_defaults("03_bottleneck_ablation"), **over}


@pytest.mark.parametrize("over", [{"epochs": 7}, {"results_dir": "nonexistent"}])
def test_a_notebook_that_finds_no_results_stops(over, tmp_path, monkeypatch):
    if "results_dir" in over:
        over = {"results_dir": str(tmp_path / over["results_dir"])}

    def must_not_compute(*args, **kwargs):
        raise AssertionError("computed statistics (and wrote a cache) for a plan without results")

    monkeypatch.setattr(activations.analysis, "run_patterns", must_not_compute)  # collect's
    plan = study.make_plan(_ablation_params(**over), "fig6a")
    with pytest.raises(NoResults, match="no stored result"):
        study.collect(plan)
    assert study.collect(plan, require_some=False).n_done == 0  # optional comparisons
    act = activations.make_plan({**_ablation_params(**over), "n_images": 500})
    with pytest.raises(NoResults, match="no stored result"):
        activations.collect(act)
    assert not (tmp_path / "nonexistent").exists()


def test_notebook_06_stops_when_no_trained_result_exists():
    with pytest.raises(NoResults, match="train_epochs"):
        v1_vs_v2.make_plan({**v1_vs_v2.default_params(), "train_epochs": 7})


# --- make figures (tools/run_notebooks.py) on a temporary layout --------------------------------


def _demo_notebook(path, body: str, figures=("demo",)):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('smoke: bool = False\nout_dir: str = "figures"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# demo"),
        params,
        nbformat.v4.new_code_cell(
            "from mnv2lab.notebook import COMMON, start\n"
            f"nb = start({path.stem!r}, globals(), COMMON)"
        ),
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 2))\n"
            "ax.plot([0, 1], [0, 1])\nnb.save_figure(fig, 'demo', title='t', caption='c', "
            "paper_item='Figure 1');"
        ),
        nbformat.v4.new_code_cell(body),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["mnv2lab"] = {"figures": list(figures)}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def layout(tmp_path):
    lay = run_notebooks.Layout(
        root=ROOT,
        notebooks=tmp_path / "nbs",
        build=tmp_path / "build",
        figures=tmp_path / "figures",
        inputs=["constraints.txt"],
    )
    for d in (lay.notebooks, lay.build, lay.figures):
        d.mkdir()
    return lay


@pytest.mark.slow
def test_make_figures_reruns_when_a_figure_differs_from_its_stamp(layout, capsys):
    nb = _demo_notebook(layout.notebooks / "90_demo.ipynb", "x = 1")
    run_notebooks.run(nb, 1, 1, layout)
    png = layout.figures / "demo.png"
    good = png.read_bytes()
    run_notebooks.run(nb, 1, 1, layout)
    assert "up to date, skipped" in capsys.readouterr().out
    png.write_bytes(b"overwritten by a smoke run")
    run_notebooks.run(nb, 1, 1, layout)
    assert "skipped" not in capsys.readouterr().out
    assert png.read_bytes() == good


@pytest.mark.slow
def test_a_failed_notebook_leaves_the_previous_complete_set(layout):
    path = layout.notebooks / "91_demo.ipynb"
    _demo_notebook(path, "x = 1")
    run_notebooks.run(path, 1, 1, layout)
    before = {p.name: p.read_bytes() for p in layout.figures.rglob("*") if p.is_file()}
    _demo_notebook(path, "raise RuntimeError('late failure')")
    with pytest.raises(SystemExit, match="91_demo.*code cell 4 of 4.*late failure"):
        run_notebooks.run(path, 1, 1, layout, force=True)
    after = {p.name: p.read_bytes() for p in layout.figures.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.slow
def test_a_kernel_death_is_reported_like_any_failure(layout):
    path = _demo_notebook(
        layout.notebooks / "92_demo.ipynb",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    )
    with pytest.raises(SystemExit) as err:
        run_notebooks.run(path, 1, 1, layout)
    message = str(err.value)
    assert "92_demo" in message and "code cell 4 of 4" in message and "kernel" in message.lower()
    assert "92_demo.failed.ipynb" in message and (layout.build / "92_demo.failed.ipynb").exists()
    assert not list(layout.build.glob("*.running.ipynb"))
    assert not (layout.figures / "demo.png").exists()
