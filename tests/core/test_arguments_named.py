"""Every public function names a wrong argument: what it must be and what it got, never an
AttributeError or IndexError from inside."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import tiny_case

import backprop_ref as br


@pytest.fixture
def small():
    return tiny_case()


def test_backward_names_a_missing_forward_pass(small):
    net, _, ys, _ = small
    with pytest.raises(TypeError, match=r"^fwd must be a Forward from br.forward, got None$"):
        br.backward(net, None, ys[0])


def test_step_names_missing_or_misshapen_gradients(small):
    net, _, _, g = small
    with pytest.raises(TypeError, match=r"^g must be the Gradients from br.gradients \(or a Backward\), got None$"):
        br.step(net, None, "0.1")
    empty = dataclasses.replace(g, dC_db=[None, [], g.dC_db[2]])
    with pytest.raises(ValueError, match=r"^g.dC_db\[1\] has 0 entries, expected 2 \(one per node of layer 1\)$"):
        br.step(net, empty, "0.1")
    assert br.step(net, g, "0.1").n == net.n  # a whole gradient still steps


def test_gradients_names_a_missing_batch(small):
    net = small[0]
    with pytest.raises(TypeError, match=r"^xs must be a list of examples, got None$"):
        br.gradients(net, None, None)
    with pytest.raises(TypeError, match=r"^ys must be a list of examples, got the number 3$"):
        br.gradients(net, [[1, 2]], 3)


def test_save_case_names_a_per_example_that_is_not_a_boolean(small, tmp_path):
    net, xs, ys, g = small
    with pytest.raises(TypeError, match=r"^per_example must be True or False, got 1$"):
        br.save_case(tmp_path / "case.json", net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float64",
                     per_example=1)
    assert not (tmp_path / "case.json").exists()


def test_train_says_it_diverged():
    net = br.Network([None, [[2.0]]], [None, [0.5]], "identity")
    with pytest.raises(ValueError, match=r"^training diverged in epoch 1 \(examples 0..2 of the shuffled order\): "
                                         r"w\[1\]\[0\]\[0\] is -inf: weights must be finite; try a smaller alpha"):
        br.train(net, [[3.0]] * 3, [[1.0]] * 3, alpha=1e308, epochs=5)
