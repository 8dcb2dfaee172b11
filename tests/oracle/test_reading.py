"""Reading an implementation's gradients in: lists, arrays, tensors, strings and Fractions are
accepted; a bad shape or entry raises ValueError/TypeError naming the place."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import float64_gradients as float64
from helpers import need
from helpers import small_net as small

import backprop_ref as br


def test_inputs_of_every_kind():
    np = need("numpy")
    torch = need("torch")
    net = small()
    dw, db = float64(net)
    mixed_w = [None, np.array(dw[1]), torch.tensor(dw[2], dtype=torch.float64)]
    mixed_b = [None, [str(v) for v in db[1]], [Fraction(db[2][0]), np.float64(db[2][1])]]
    report = br.verify(net, np.array(XS), torch.tensor(YS, dtype=torch.float64), mixed_w, mixed_b, dtype="float64")
    assert report.ok


def _bad(change):
    net = small()
    dw, db = float64(net)
    args = copy.deepcopy({"xs": XS, "ys": YS, "dC_dw": dw, "dC_db": db})
    change(args)
    return net, args


def _set(key, *path, value):
    def change(args):
        target = args[key]
        for i in path[:-1]:
            target = target[i]
        target[path[-1]] = value
    return change


BAD = [
    (_set("dC_dw", 2, 1, value=[0.0, 1.0, 2.0]), ValueError, r"dC_dw\[2\]\[1\] has 3 entries, expected 4"),
    (_set("dC_dw", 2, value=[[0.0] * 4]), ValueError, r"dC_dw\[2\] has 1 rows, expected 2"),
    (_set("dC_db", 1, value=[0.0] * 3), ValueError, r"dC_db\[1\] has 3 entries, expected 4"),
    (_set("dC_dw", 0, value=[]), ValueError, r"dC_dw\[0\] must be None"),
    (lambda a: a.update(dC_db=a["dC_db"][1:]), ValueError, r"dC_db has 2 entries, expected 3"),
    (_set("dC_dw", 1, 0, 2, value="abc"), ValueError, r"dC_dw\[1\]\[0\]\[2\] is the string 'abc'"),
    (_set("dC_db", 2, 1, value=True), TypeError, r"dC_db\[2\]\[1\] is True: a boolean"),
    (_set("dC_dw", 1, 3, value=None), TypeError, r"dC_dw\[1\]\[3\] must be a list"),
    (_set("dC_db", 1, 0, value=[1.0]), TypeError, r"dC_db\[1\]\[0\] is \[1.0\]"),
    (_set("xs", 1, value=[1.0, 2.0]), ValueError, r"xs\[1\] has 2 entries, expected 3"),
    (lambda a: a.update(xs=[], ys=[]), ValueError, r"the batch is empty"),
]


@pytest.mark.parametrize("index", range(len(BAD)))
def test_bad_gradients_are_named(index):
    change, error, message = BAD[index]
    net, args = _bad(change)
    with pytest.raises(error, match=message):
        br.verify(net, args["xs"], args["ys"], args["dC_dw"], args["dC_db"])
