"""Every notebook: committed clean, parameterized, runs end to end with smoke=True, and a bad
parameter fails with a message naming it before any heavy work."""

from __future__ import annotations

import ast
import json

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError
from papermill.translators import PythonTranslator

from mnv2lab.notebook import parameter_defaults
from mnv2lab.params import ParameterError

from conftest import NOTEBOOKS


def _ids(paths):
    return [p.stem for p in paths]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_topic.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "papermill" not in nb.metadata
    assert set(nb.metadata) <= {"kernelspec", "language_info", "mnv2lab"}, (
        f"unexpected notebook metadata {sorted(nb.metadata)}: run `make clean-notebooks`"
    )
    assert nb.metadata.get("language_info", {"name": "python"}) == {"name": "python"}, (
        "language_info carries machine details (JupyterLab adds them): run `make clean-notebooks`"
    )
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: run `make clean-notebooks`"
            assert cell.execution_count is None, f"cell {i} has an execution count"
        assert "papermill" not in cell.metadata, f"cell {i} has papermill metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    src = tagged[0].source
    for name in ("smoke: bool = False", "out_dir: str ="):
        assert name in src, f"parameters cell lacks `{name}`"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code.index(tagged[0]) == 0, "the parameters cell is the first code cell"
    assert "start(" in code[1].source, "the second code cell validates parameters via mnv2lab"
    assert nb.cells[0].cell_type == "markdown", "a notebook opens with narrative"
    assert nb.metadata.get("mnv2lab", {}).get("figures"), "metadata mnv2lab.figures lists figures"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_papermill_reads_every_parameter_with_its_help(path):
    """`papermill --help-notebook` lists a parameter only when its line parses (an "=" inside the
    comment makes papermill skip the line with a warning)."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")]
    parsed = PythonTranslator.inspect(cell)
    assert [p.name for p in parsed] == [ln.split(":")[0].split("=")[0].strip() for ln in lines]
    assert all(p.help for p in parsed), "every parameter has a comment saying what it is"
    defaults = parameter_defaults(path.stem)  # what scripts and solutions read
    assert list(defaults) == [p.name for p in parsed]
    assert all(defaults[p.name] == ast.literal_eval(p.default) for p in parsed)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_in_smoke_mode(path, tmp_path):
    out_nb = tmp_path / path.name
    papermill.execute_notebook(
        str(path),
        str(out_nb),
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
        parameters={"smoke": True, "out_dir": str(tmp_path / "figs")},
    )
    promised = nbformat.read(path, as_version=4).metadata["mnv2lab"]["figures"]
    for fig in promised:
        for ext in ("png", "pdf"):
            f = tmp_path / "figs" / f"{fig}.{ext}"
            assert f.exists() and f.stat().st_size > 1000, f"missing figure {f.name}"
        meta = json.loads((tmp_path / "figs" / f"{fig}.json").read_text())
        assert meta["caption"] and meta["paper_item"] and meta["notebook"] == path.stem


@pytest.mark.slow
def test_bad_parameter_fails_clearly(tmp_path):
    """End to end through papermill (one notebook; the next test checks every notebook's cells)."""
    path = next(p for p in NOTEBOOKS if p.stem.startswith("02_"))
    with pytest.raises(PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(path),
            str(tmp_path / path.name),
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
            parameters={"smoke": "false", "out_dir": str(tmp_path)},
        )
    assert err.value.ename == "ParameterError"
    assert "'smoke'" in err.value.evalue and "'false'" in err.value.evalue
    # papermill's cell_index counts cells before it prepends its error banners to the written copy,
    # so take the failing cell's source from the error itself.
    failing = err.value.source
    assert "start(" in failing, "the error must come from the validation cell, before heavy work"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_notebook_validates_a_bad_parameter_in_its_first_cell(path, tmp_path):
    """What papermill does with ``-p smoke false``, without a kernel: the parameters cell, then
    the injected ``smoke = "false"``, then the notebook's next cell, which must be the validating
    ``start(...)`` and must refuse the string before any heavy work."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    i = next(k for k, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    first = code[i + 1].source
    assert "start(" in first, f"{path.name}: the cell after the parameters must call start()"
    injected = f'# Parameters\nsmoke = "false"\nout_dir = {str(tmp_path)!r}\n'
    namespace: dict = {"In": ["", code[i].source, injected, first]}  # IPython's cell history
    for cell in (code[i].source, injected):
        exec(cell, namespace)  # noqa: S102 (the notebook's own parameters cell, papermill's)
    with pytest.raises(ParameterError, match=r"'smoke'.*'false'"):
        exec(first, namespace)  # noqa: S102 (the notebook's own first cell)


def test_a_name_typed_into_the_parameters_cell_is_validated(tmp_path):
    """`sed = 7` typed into the notebook's own parameters cell (JupyterLab) fails like `-p sed 7`."""
    path = next(p for p in NOTEBOOKS if p.stem.startswith("02_"))
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\nsed = 7  # meant: seed"
    edited = tmp_path / path.name
    nbformat.write(nb, edited)
    with pytest.raises(PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(edited),
            str(tmp_path / "out.ipynb"),
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
            parameters={"out_dir": str(tmp_path / "figs")},
        )
    assert err.value.ename == "ParameterError" and "unknown parameter 'sed'" in err.value.evalue
