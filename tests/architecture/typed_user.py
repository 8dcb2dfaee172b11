"""A user's script, checked by ``mypy --strict`` in tests/architecture/test_typed_user.py: the public
names, their options and the report's fields have types a user's checker can follow."""

from __future__ import annotations

from fractions import Fraction

import backprop_ref as br


def main() -> None:
    net: br.Network = br.Network.random(sizes=[2, 3, 1], activations="sigmoid", seed=0)
    L: int = net.L
    n: list[int] = net.n
    xs = [[0.5, -1.0], [1.0, 2.0]]
    ys = [[1.0], [0.0]]

    g: br.Gradients = br.gradients(net, xs, ys, cost="mse", arithmetic=br.Mp(50))
    entry = g.dC_dw[1][0][0]
    bias = g.dC_db[L][0]
    print(n, entry, bias, g.C)

    fwd: br.Forward = br.forward(net, xs[0])
    bwd: br.Backward = br.backward(net, fwd, ys[0], cost="half_squared_error")
    print(fwd.a[L][0], bwd.delta[1][2], bwd.dC_dw[2][0][1])

    f = br.gradients(net, xs, ys, cost="mse")
    report: br.Report = br.verify(net, xs, ys, f.dC_dw, f.dC_db, cost="mse", dtype="float64")
    ok: bool = report.ok
    ratio: float = report.worst[0].ratio
    status: str = report.worst[0].status
    name: str = report.worst[0].name
    table: str = report.table()
    print(ok, ratio, status, name, table)

    relu_net = br.Network.random([2, 2, 1], ["relu", "identity"], seed=0)
    exact = br.gradients(relu_net, xs, ys, cost="mse", arithmetic=br.Exact())
    if isinstance(exact.C, Fraction):
        print(exact.C.numerator)

    net2: br.Network = br.step(net, g, alpha="0.1")
    history: br.History = br.train(net2, xs, ys, cost="mse", alpha="0.5", epochs=2, batch_size=2, seed=0)
    print(history)

    h: br.HessianVectorProduct = br.hvp(net, xs, ys, [None, [[1, 0], [0, 1], [1, 1]], [[1, 1, 1]]],
                                        [None, [0, 0, 0], [0]])
    print(h)
    version: str = br.__version__
    print(version)


if __name__ == "__main__":
    main()
