"""Case files of a training step ("check": "step"): read, written back bit for bit, checked
against their schema, and verified through the command line."""

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import small_net as small

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.io import casefile, stepcase
from backprop_ref.io.casefile import CaseError, loads_case
from backprop_ref.io.stepcase import StepCase, step_case

SCHEMAS = Path(br.__file__).parent / "io"
OTHER_XS = [[-1.0, 0.5, 0.25], [2.0, -0.5, 1.0]]
OTHER_YS = [[0.0, 1.0], [-0.5, 0.25]]


def doc(alpha="0.1", previous=False, **changes) -> dict:
    """A valid step case as JSON values: a float64 step of size alpha by br.step."""
    net = small()
    after = br.step(net, br.gradients(net, XS, YS, "mse"), alpha)
    case = step_case(net, XS, YS, after.w, after.b, "0.1", cost="mse", dtype="float64",
                     previous=(OTHER_XS, OTHER_YS) if previous else None)
    d = json.loads(json.dumps(case.to_dict()))
    d.update(changes)
    return d


def run(path) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["verify", str(path)])
    return code, out.getvalue()


def test_a_step_case_loads_and_passes():
    case = loads_case(json.dumps(doc()))
    assert isinstance(case, StepCase) and case.alpha == br.core.check.number("0.1", "alpha")
    assert case.verify().ok


def test_a_step_case_is_written_back_bit_for_bit(tmp_path):
    case = loads_case(json.dumps(doc(previous=True)))
    path = tmp_path / "step.json"
    case.save(path)
    again = casefile.load_case(path)
    assert again == case and again.previous == case.previous
    assert json.loads(path.read_text()) == doc(previous=True)


def test_null_marks_what_was_not_trained():
    d = doc(after_biases=None)
    d["after_weights"][1] = None
    report = loads_case(json.dumps(d)).verify()
    assert report.ok and report.given == 4 * 3 and "w'[2][0][0]" in report.not_given


def test_the_command_line_passes_a_step_and_fails_a_wrong_one(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc()))
    code, out = run(good)
    assert code == 0 and out.startswith("Training step (3)-(4) checked")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc(alpha="-0.1")))
    code, out = run(bad)
    assert code == 1 and "looks like: the step has the wrong sign" in out


def test_a_stale_gradient_is_named_from_the_file(tmp_path):
    d = doc(previous=True)
    net = small()
    stale = br.step(net, br.gradients(net, OTHER_XS, OTHER_YS, "mse"), "0.1")
    d["after_weights"] = stepcase._layers_text(stale.w, "w")
    d["after_biases"] = stepcase._layers_text(stale.b, "b")
    report = loads_case(json.dumps(d)).verify()
    assert report.diagnosis[0].name == "stale_gradient"


@pytest.mark.parametrize("change, message", [
    ({"dC_dw": None}, "unknown field 'dC_dw' in a step case"),
    ({"afterweights": []}, "did you mean 'after_weights'"),
    ({"alpha": "fast"}, "alpha"),
    ({"alpha": "1e40", "dtype": "float32"}, "alpha is 1" + "0" * 40 + ", beyond the largest float32"),
    ({"previous_inputs": [[1, 2, 3]]}, "previous_inputs and previous_targets come together"),
    ({"check": "steps"}, "check is 'steps'"),
])
def test_bad_step_cases_are_named(change, message):
    d = doc()
    d.update(change)
    with pytest.raises(CaseError, match=re.escape(message)):
        loads_case(json.dumps(d))


def test_missing_fields_are_named():
    d = doc()
    del d["after_biases"]
    with pytest.raises(CaseError, match="missing field 'after_biases'"):
        loads_case(json.dumps(d))
    d = doc()
    d["after_weights"][0][0] = [1.0, 2.0]
    with pytest.raises(CaseError, match=r"after_weights\[1\] row 0 has 2 entries"):
        loads_case(json.dumps(d))


def test_the_step_schema_agrees_with_the_loader_and_the_gradient_schema():
    schema = json.loads((SCHEMAS / "step.schema.json").read_text())
    gradient = json.loads((SCHEMAS / "case.schema.json").read_text())
    assert set(schema["properties"]) == set(stepcase.FIELDS)
    assert set(schema["required"]) == set(stepcase.REQUIRED)
    assert schema["properties"]["check"]["const"] == "step"
    for key in schema["properties"]:  # the shared fields mean what they mean in a gradient case
        if key in gradient["properties"] and key != "check":
            assert schema["properties"][key] == gradient["properties"][key], key
    assert schema["$defs"] == gradient["$defs"]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(doc(previous=True))
    for bad in (doc(check="gradient"), {**doc(), "alpha": None}, doc(dC_dw=None),
                {k: v for k, v in doc().items() if k != "alpha"},
                doc(previous_inputs=OTHER_XS)):
        assert not validator.is_valid(bad)


def test_the_command_line_names_a_bad_step_case_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc(afterweights=[])))
    assert cli.main(["verify", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown field 'afterweights' in a step case" in err[0]


def test_a_step_case_takes_the_command_lines_dtype(tmp_path):
    path = tmp_path / "step.json"
    path.write_text(json.dumps(doc()))
    code, out = run_with(path, "--dtype", "float32")
    assert code == 0 and "rounding budgets for float32" in out.splitlines()[0]


def run_with(path, *options) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["verify", str(path), *options])
    return code, out.getvalue()
