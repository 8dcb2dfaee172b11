"""Every line of the core loops tagged with an equation label is executed by the demo's forward and
backward pass (and one step (3)-(4)), or, for the lines of a softmax output layer, by one pass of a
softmax network: measured with a line tracer, not by reading the source."""

from __future__ import annotations

import io
import sys
import tokenize
from pathlib import Path

import pytest

from backprop_ref.arithmetic.numbers import Float
from backprop_ref.core import backprop, training
from backprop_ref.core.backprop import backward, forward
from backprop_ref.core.network import Network
from backprop_ref.core.training import gradients, step
from backprop_ref.teaching.demo import DEMO_COST, DEMO_X, DEMO_Y, demo_network

LABELS = {
    backprop: ("(1)", "(2)", "(5)", "(BP1)", "(BP2)", "(BP3)", "(BP4)"),
    training: ("(3)", "(4)"),
}


def tagged_lines(module) -> dict:
    """``{label: {line numbers}}``: code lines of ``module`` whose trailing comment cites ``label``.

    A comment on a line of its own is not a tagged line (nothing runs there).
    """
    source = Path(module.__file__).read_text(encoding="utf-8")
    code_lines = set()
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                tokenize.ENDMARKER):
            for line in range(token.start[0], token.end[0] + 1):
                code_lines.add(line)
    found: dict = {label: set() for label in LABELS[module]}
    for line, comment in comments.items():
        if line in code_lines:
            for label in LABELS[module]:
                if label in comment:
                    found[label].add(line)
    return found


def executed_lines(run) -> dict:
    """``{file: {line numbers}}`` executed in backprop.py and training.py while ``run()`` runs."""
    files = {str(Path(backprop.__file__).resolve()), str(Path(training.__file__).resolve())}
    by_code: dict = {}
    seen: dict = {name: set() for name in files}

    def local(frame, event, arg):
        if event == "line":
            seen[by_code[frame.f_code]].add(frame.f_lineno)
        return local

    def tracer(frame, event, arg):
        name = by_code.get(frame.f_code)
        if name is None:
            path = str(Path(frame.f_code.co_filename).resolve())
            if path not in files:
                return None
            by_code[frame.f_code] = name = path
        return local

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        run()
    finally:
        sys.settrace(previous)
    return seen


def demo_pass_and_step() -> None:
    net = demo_network()
    fwd = forward(net, DEMO_X, Float())
    backward(net, fwd, DEMO_Y, DEMO_COST)
    step(net, gradients(net, [DEMO_X], [DEMO_Y], DEMO_COST), "0.1")
    softmax = Network.random([2, 3, 3], ["tanh", "softmax"], seed=0)
    backward(softmax, forward(softmax, DEMO_X), [0, 1, 0], "cross_entropy")


@pytest.fixture(scope="module")
def executed() -> dict:
    return executed_lines(demo_pass_and_step)


@pytest.mark.parametrize("module", [backprop, training], ids=["backprop", "training"])
def test_every_label_is_on_a_line_of_code(module):
    found = tagged_lines(module)
    missing = [label for label, lines in found.items() if not lines]
    assert not missing, f"no line of code in {module.__name__} is tagged {missing}"


@pytest.mark.parametrize("module", [backprop, training], ids=["backprop", "training"])
def test_every_tagged_line_runs_in_the_demo(module, executed):
    lines_run = executed[str(Path(module.__file__).resolve())]
    for label, lines in tagged_lines(module).items():
        never = sorted(lines - lines_run)
        assert not never, f"{module.__name__}: lines {never} tagged {label} never ran in the demo"


def test_the_tracer_sees_lines_and_only_those_that_run(executed):
    """The measurement itself: forward passes alone reach (1) and (2) but no BP line."""
    softmax = Network.random([2, 3, 3], ["tanh", "softmax"], seed=0)
    forward_only = executed_lines(lambda: (forward(demo_network(), DEMO_X), forward(softmax, DEMO_X)))
    lines_run = forward_only[str(Path(backprop.__file__).resolve())]
    found = tagged_lines(backprop)
    assert found["(1)"] <= lines_run and found["(2)"] <= lines_run
    for label in ("(5)", "(BP1)", "(BP2)", "(BP3)", "(BP4)"):
        assert not found[label] & lines_run
    assert lines_run < executed[str(Path(backprop.__file__).resolve())]


def test_the_output_layer_runs_bp1_or_the_full_sum_by_the_elementwise_flag():
    """A sigmoid output runs the (BP1) line and never (5); a softmax output runs (5), never (BP1)."""
    found = tagged_lines(backprop)
    demo = executed_lines(lambda: backward(demo_network(), forward(demo_network(), DEMO_X), DEMO_Y, DEMO_COST))
    softmax = Network.random([2, 3, 3], ["tanh", "softmax"], seed=0)
    full = executed_lines(lambda: backward(softmax, forward(softmax, DEMO_X), [0, 1, 0], "cross_entropy"))
    demo_run = demo[str(Path(backprop.__file__).resolve())]
    full_run = full[str(Path(backprop.__file__).resolve())]
    assert found["(BP1)"] <= demo_run and not found["(5)"] & demo_run
    assert found["(5)"] <= full_run and not found["(BP1)"] & full_run
    assert len(found["(2)"]) == 2 and len(found["(2)"] & demo_run) == 1 and len(found["(2)"] & full_run) == 2
