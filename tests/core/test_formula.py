"""The symbolic forms an activation or a cost carries say what its code computes: each form,
evaluated at 40 digits, is the value of the code it describes."""

from __future__ import annotations

import pytest
from helpers import QuarticError, Softsign

import backprop_ref as br
from backprop_ref.core import formula
from backprop_ref.core.activations import NAMES as ACTIVATIONS
from backprop_ref.core.costs import COSTS

AR = br.Mp(40)
TOLERANCE = AR.convert("1e-35")
POINTS = ["-2.5", "-0.75", "0.375", "1.5", "3"]


def near(form_value, code_value) -> bool:
    return abs(form_value - code_value) <= TOLERANCE * (1 + abs(code_value))


def activations() -> list:
    return [br.get_activation(name) for name in ACTIVATIONS if name != "softmax"] + [Softsign()]


@pytest.mark.parametrize("act", activations(), ids=repr)
def test_an_activations_forms_are_its_sigma_and_prime(act):
    for text in POINTS:
        z = AR.convert(text)
        a = act.sigma(AR, z)
        env = {"z": z, "a": a}
        if act.sigma_form is not None:
            assert near(act.sigma_form.evaluate(AR, env), a), (act, text)
        if act.prime_form is not None:
            assert near(act.prime_form.evaluate(AR, env), act.prime(AR, z, a)), (act, text)


@pytest.mark.parametrize("cost", [*COSTS.values(), QuarticError()], ids=repr)
def test_a_costs_forms_are_its_value_and_gradient(cost):
    assert cost.value_form is not None and cost.dC_da_form is not None
    a = [AR.convert(v) for v in ("0.125", "0.625", "0.875")]
    y = [AR.convert(v) for v in ("0.25", "1", "0")]
    if cost.needs_softmax:
        a = [AR.convert(v) for v in ("0.125", "0.625", "0.25")]
    env = {"a": a, "y": y, "n": 3}
    assert near(cost.value_form.evaluate(AR, env), cost.value(AR, a, y))
    dC_da = cost.dC_da(AR, a, y)
    for j in range(3):
        assert near(cost.dC_da_form.evaluate(AR, {"a": a[j], "y": y[j], "n": 3}), dC_da[j]), (cost, j)


def test_a_form_takes_exact_constants_only():
    with pytest.raises(TypeError, match="a formula takes expressions and ints, got 0.5"):
        formula.a * 0.5
    assert (formula.Const(1) / 2).evaluate(br.Exact(), {}) == br.Exact().convert(1) / 2


def test_a_form_names_its_variables():
    assert br.get_activation("sigmoid").prime_form.variables() == {"a"}
    assert br.get_activation("identity").prime_form.variables() == set()
    assert br.get_cost("binary_cross_entropy").value_form.variables() == {"a", "y"}
