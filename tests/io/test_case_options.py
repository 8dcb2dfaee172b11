"""A case's ``verify`` in Python refuses by name an option its kind does not take, in the words
of the command line (one rule: :func:`~backprop_ref.io.casefile.refused_options`), and passes
on those it takes."""

from __future__ import annotations

import pytest
from helpers import kinds_of_case

import backprop_ref as br
from backprop_ref.io.casefile import CHECKS, OPTIONS, _case_class

VALUES = {"dps": 30, "strict": False, "rigorous": False, "dtype": "float64", "workers": 1,
          "progress": None, "sample": 3, "seed": 2, "backend": "mpmath"}
TAKERS = {"sample": "gradient and layer", "seed": "gradient and layer",
          "workers": "gradient, step and hvp", "progress": "gradient, step and hvp"}


def test_each_kind_refuses_by_name_in_python_the_options_it_does_not_take(tmp_path):
    assert set(VALUES) == set(OPTIONS)
    paths = kinds_of_case(tmp_path)
    for kind in CHECKS:
        case = br.load_case(paths[kind])
        assert case.kind == kind
        for name, value in VALUES.items():
            if name in case.options:
                assert case.verify(**{name: value}).ok, (kind, name)
                continue
            with pytest.raises(TypeError) as refused:
                case.verify(**{name: value})
            assert str(refused.value) == (f"{name}= applies to {TAKERS[name]} cases only, not to "
                                          f"this {kind} case"), (kind, name)


def test_options_refused_together_are_named_in_one_message(tmp_path):
    paths = kinds_of_case(tmp_path)
    step = br.load_case(paths["step"])
    with pytest.raises(TypeError, match=r"^sample= and seed= apply to gradient and layer cases "
                                        r"only, not to this step case$"):
        step.verify(sample=3, seed=1, dps=30)
    layer = br.load_case(paths["layer"])
    with pytest.raises(TypeError, match=r"^workers= and progress= apply to gradient, step and "
                                        r"hvp cases only, not to this layer case$"):
        layer.verify(workers=2, progress=print)
    hvp = br.load_case(paths["hvp"])
    with pytest.raises(TypeError, match=r"^sample= applies to gradient and layer cases only, "
                                        r"not to this hvp case$"):
        hvp.verify(sample=None)  # named, whatever its value


def test_each_kinds_options_are_the_command_lines():
    for kind in CHECKS:
        options = _case_class(kind).options
        assert set(options) <= set(OPTIONS) and {"dps", "strict", "rigorous", "dtype"} <= set(options)
    assert "backend" in _case_class("layer").options


def test_a_layer_case_passes_its_options_on(tmp_path):
    layer = br.load_case(kinds_of_case(tmp_path)["layer"])
    assert layer.verify(backend="mpmath").heading.startswith("Layer checked against Mp(50):")
    assert layer.verify(dps=30, backend="auto").heading.startswith(
        ("Layer checked against Ball(30):", "Layer checked against Mpfr(30):",
         "Layer checked against Mp(30):"))
    sampled = layer.verify(sample=2, seed=1)
    assert len(sampled.entries) == 2
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        layer.verify(colour="red")  # not an option of any case: verify_layer's own TypeError
