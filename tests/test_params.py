"""Parameter validation: errors name the parameter, the bad value and what is allowed."""

import pytest

from mnv2lab.params import Param, ParameterError, check, injected_names, notebook_values, validate

SPEC = {
    "smoke": Param(bool),
    "n_trials": Param(int, min=1),
    "lr": Param(float, min=0.0, max=1.0),
    "device": Param(str, choices=["cpu", "cuda", "auto"]),
    "widths": Param(list, item=float, min=0.05, min_len=1),
}
GOOD = {"smoke": False, "n_trials": 3, "lr": 0.1, "device": "cpu", "widths": [0.35, 1]}


def test_valid_values_pass_and_ints_widen_to_float():
    out = validate(GOOD, SPEC)
    assert out["widths"] == [0.35, 1.0] and isinstance(out["widths"][1], float)


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("smoke", "false", "True or False"),
        ("smoke", 1, "True or False"),
        ("n_trials", 0, ">= 1"),
        ("n_trials", True, "an integer"),
        ("n_trials", 2.5, "an integer"),
        ("lr", 3.0, "between 0.0 and 1.0"),
        ("device", "tpu", "one of ['cpu', 'cuda', 'auto']"),
        ("widths", [], "at least 1"),
        ("widths", [0.5, -1], "widths[1]"),
    ],
)
def test_bad_values_name_parameter_value_and_allowed(name, value, fragment):
    with pytest.raises(ParameterError) as err:
        validate({**GOOD, name: value}, SPEC)
    msg = str(err.value)
    assert repr(name) in msg or name in msg
    assert repr(value) in msg or repr(value[1]) in msg
    assert fragment in msg


def test_unknown_and_missing_names():
    with pytest.raises(ParameterError, match="unknown parameter 'n_trails'.*allowed parameters"):
        validate({**GOOD, "n_trails": 5}, SPEC)
    with pytest.raises(ParameterError, match="missing parameter"):
        validate({"smoke": True}, SPEC)


def test_string_bool_hint_mentions_papermill():
    with pytest.raises(ParameterError, match="papermill"):
        check("smoke", "true", Param(bool))


def test_injected_names_come_only_from_papermill_cells():
    cells = ["smoke: bool = False\nx = 1", "# Parameters\nsmoke = True\nn_trails = 4\n", "y = 2"]
    assert injected_names(cells) == {"smoke", "n_trails"}
    ns = {
        "In": cells,
        "smoke": True,
        "n_trails": 4,
        "y": 2,
        "n_trials": 3,
        "lr": 0.1,
        "device": "cpu",
        "widths": [1.0],
    }
    values = notebook_values(ns, SPEC)
    assert "n_trails" in values and "y" not in values and "n_trials" in values


def test_names_typed_into_the_parameters_cell_are_validated_too():
    """In JupyterLab nothing is injected: a misspelt name typed into the notebook's own
    parameters cell (the latest cell of literal assignments to spec names) is an error."""
    typed = "# parameters\nsmoke: bool = False\nn_trials: int = 3  # per n\nn_trails = 7\n"
    later = ["nb = start('x', globals(), SPEC)", "n_seen = len(widths)", "y = 2"]
    ns = {
        "In": ["", typed, *later],
        "smoke": False,
        "n_trials": 3,
        "n_trails": 7,
        "lr": 0.1,
        "device": "cpu",
        "widths": [1.0],
        "n_seen": 1,
        "y": 2,
    }
    with pytest.raises(ParameterError, match="unknown parameter 'n_trails'"):
        validate(notebook_values(ns, SPEC), SPEC)
    fixed = "smoke: bool = False\nn_trials: int = 7\n"  # the cell corrected and re-run
    ns["In"] = ["", typed, *later, fixed]
    assert set(notebook_values(ns, SPEC)) == set(SPEC)
