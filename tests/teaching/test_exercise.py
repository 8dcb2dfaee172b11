"""Exercise sheets: answers equal the engine's (and a loop written here), 200 seeds give distinct
hand-sized problems, every mistake the sheets allow is named by grading, the documents are whole.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from helpers import compile_latex

import backprop_ref as br
from backprop_ref.oracle.mistakes import MISTAKES, NAMES
from backprop_ref.teaching.exercise import GRADE_ORDER, LARGEST, from_dict, parse_name, read_answer

# ruff: noqa: E741  -- ``l`` is the layer index of the article

PRIME = {"identity": lambda z: Fraction(1), "relu": lambda z: Fraction(int(z > 0))}


def prime(name: str, z: Fraction, a: Fraction) -> Fraction:
    if name == "sigmoid":
        return a * (1 - a)
    if name.startswith("leaky_relu"):
        slope = br.get_activation(name).slope
        return Fraction(1) if z > 0 else slope
    return PRIME[name](z)


def by_hand(ex) -> dict:
    """Every quantity the questions can name, from a loop written here: the sheet's numbers, the
    sigmoid values it gives, the half squared error or mse, one example."""
    net = ex.net
    L, n, act = net.L, net.n, net.activations
    w = [None] + [[[Fraction(v) for v in row] for row in net.w[l]] for l in range(1, L + 1)]
    b = [None] + [[Fraction(v) for v in net.b[l]] for l in range(1, L + 1)]
    a, z = [list(ex.x)], [None]
    for l in range(1, L + 1):
        z.append([b[l][j] + sum(w[l][j][k] * a[l - 1][k] for k in range(n[l - 1])) for j in range(n[l])])
        if act[l] == "sigmoid":
            a.append([ex.given[f"a[{l}][{j}]"] for j in range(n[l])])
            for j in range(n[l]):
                assert abs(float(a[l][j]) - 1 / (1 + math.exp(-float(z[l][j])))) <= 0.051
        else:
            a.append([z[l][j] if z[l][j] > 0 or act[l] == "identity"
                      else (br.get_activation(act[l]).slope * z[l][j] if act[l] != "relu" else Fraction(0))
                      for j in range(n[l])])
    factor = Fraction(2, n[L]) if ex.cost == "mse" else Fraction(1)
    delta = [None] * (L + 1)
    delta[L] = [factor * (a[L][j] - ex.y[j]) * prime(act[L], z[L][j], a[L][j]) for j in range(n[L])]
    for l in range(L - 1, 0, -1):
        delta[l] = [sum(delta[l + 1][k] * w[l + 1][k][j] for k in range(n[l + 1])) * prime(act[l], z[l][j], a[l][j])
                    for j in range(n[l])]
    out = {}
    for l in range(1, L + 1):
        for j in range(n[l]):
            out[f"a[{l}][{j}]"], out[f"z[{l}][{j}]"] = a[l][j], z[l][j]
            out[f"delta[{l}][{j}]"] = out[f"dC/db[{l}][{j}]"] = delta[l][j]
            for k in range(n[l - 1]):
                out[f"dC/dw[{l}][{j}][{k}]"] = delta[l][j] * a[l - 1][k]
                out[f"w'[{l}][{j}][{k}]"] = w[l][j][k] - ex.alpha * delta[l][j] * a[l - 1][k]
    return out


def engine(ex) -> dict:
    """The answers from the public API on the sheet's own network, in Exact() (rational layers)."""
    ar = br.Exact()
    fwd = br.forward(ex.net, ex.x, ar)
    bwd = br.backward(ex.net, fwd, ex.y, ex.cost)
    g = br.gradients(ex.net, [ex.x], [ex.y], ex.cost, arithmetic=ar)
    new = br.step(ex.net, g, ex.alpha)
    out = {}
    for name in ex.questions:
        kind, i = parse_name(name)
        if kind == "a":
            out[name] = fwd.a[i[0]][i[1]]
        elif kind == "z":
            out[name] = fwd.z[i[0]][i[1]]
        elif kind == "delta":
            out[name] = bwd.delta[i[0]][i[1]]
        elif kind == "dC/db":
            out[name] = g.dC_db[i[0]][i[1]]
        elif kind == "dC/dw":
            out[name] = g.dC_dw[i[0]][i[1]][i[2]]
        else:
            out[name] = new.w[i[0]][i[1]][i[2]]
    return out


SEEDS = range(200)


@pytest.fixture(scope="module")
def sheets():
    return [br.exercise(seed=seed) for seed in SEEDS]


def test_every_answer_is_the_exact_engines_and_the_hand_loops(sheets):
    rational = 0
    for ex in sheets:
        mine = by_hand(ex)
        for name in ex.questions:
            assert ex.answers[name] == mine[name], f"seed {ex.seed}: {name}"
            assert isinstance(ex.answers[name], Fraction)
        if "sigmoid" not in ex.net.activations:
            assert engine(ex) == ex.answers, f"seed {ex.seed}"
            rational += 1
    assert 50 < rational < len(sheets)  # both kinds of sheet are drawn


def test_two_hundred_seeds_give_distinct_hand_sized_problems(sheets):
    problems = set()
    largest = 0
    for ex in sheets:
        doc = ex.to_dict()
        del doc["seed"]
        problems.add(json.dumps(doc, sort_keys=True))
        numbers = list(ex.answers.values()) + list(ex.given.values()) + list(ex.x) + list(ex.y) + [ex.alpha]
        for l in range(1, ex.net.L + 1):
            numbers += [Fraction(v) for row in ex.net.w[l] for v in row] + [Fraction(v) for v in ex.net.b[l]]
        for v in numbers:
            largest = max(largest, abs(v.numerator), v.denominator)
        assert len(ex.questions) == 8 and len(set(ex.questions)) == 8
        for name in ex.questions:  # solvable: every gradient asked is non-zero, so there is work to do
            if parse_name(name)[0] in ("delta", "dC/dw", "dC/db"):
                assert ex.answers[name] != 0
    print(f"\n{len(problems)} distinct problems of {len(sheets)}; largest numerator or denominator {largest}")
    assert len(problems) == len(sheets)
    assert largest < LARGEST


def test_the_same_seed_gives_the_same_sheet_and_levels_add_questions():
    assert br.exercise(seed=5).to_dict() == br.exercise(seed=5).to_dict()
    counts = [len(br.exercise(sizes=[2, 2, 1], seed=5, level=level).questions) for level in range(1, 7)]
    assert counts == [1, 2, 3, 4, 7, 8]
    one = br.exercise(sizes=[3, 1], activations="identity", seed=2, level=3)
    assert [parse_name(q)[0] for q in one.questions] == ["a", "delta"]  # no BP2 without a hidden layer


def test_sigmoid_sheets_give_their_values_and_ask_for_z():
    ex = br.exercise(sizes=[2, 2, 1], activations="sigmoid", seed=4, level=1)
    assert set(ex.given) == {"a[1][0]", "a[1][1]", "a[2][0]"}
    assert ex.questions == ["z[2][0]"]
    assert "The sigmoid values to use" in ex.markdown()


def test_bad_options_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="layer 1 is tanh: an exercise takes identity, relu"):
        br.exercise(activations="tanh")
    with pytest.raises(ValueError, match="cost must be one of half_squared_error, mse"):
        br.exercise(cost="cross_entropy")
    with pytest.raises(ValueError, match=r"level must be one of 1..6"):
        br.exercise(level=7)
    with pytest.raises(ValueError, match="sizes must be at least two whole numbers"):
        br.exercise(sizes=[2])


# ---------------------------------------------------------------------------------------------
# Grading


def test_right_wrong_missing_and_the_forms_of_a_number():
    ex = br.exercise(sizes=[2, 2, 1], activations=["leaky_relu(0.1)", "identity"], seed=0)
    first, second, third = ex.questions[:3]
    value = ex.answers[first]
    answers = {first: f"{value.numerator}/{value.denominator}", second: float(ex.answers[second]),
               third: "not a number"}
    with pytest.raises(ValueError, match=r"answers\['delta\[1\]\[1\]'\] is 'not a number': not a fraction"):
        ex.grade(answers)
    answers[third] = str(ex.answers[third] + 1)
    result = ex.grade(answers)
    assert [result[q].status for q in ex.questions[:4]] == ["right", "right", "wrong", "missing"]
    assert result[third].expected == ex.answers[third] and result[third].given == ex.answers[third] + 1
    assert result[third].worked.startswith("delta_1^[1] = delta_0^[2] w_01^[2] sigma'(z_1^[1])")
    assert not result.all_right and result.counts() == {"right": 2, "wrong": 1, "missing": 5}
    assert read_answer("-0.25", "x") == (Fraction(-1, 4), 2)
    assert read_answer(" 3 / 8 ", "x") == (Fraction(3, 8), None)
    with pytest.raises(ValueError, match="not a question of this sheet"):
        ex.grade({"delta[9][0]": 1})


def test_a_rounded_decimal_of_a_non_terminating_answer_is_right():
    for seed in range(200):  # mse over 3 outputs: a factor 2/3
        ex = br.exercise(sizes=[2, 2, 3], activations=["relu", "identity"], cost="mse", seed=seed)
        thirds = [q for q in ex.questions if ex.answers[q].denominator % 3 == 0]
        if thirds:
            break
    name = thirds[0]
    rounded = f"{float(ex.answers[name]):.4f}"
    assert ex.grade({name: rounded})[name].status == "right"
    assert ex.grade({name: f"{float(ex.answers[name]):.1f}"})[name].status == "wrong"


# The mistakes an exercise can show: a sheet has one example (so one_example is harmless), a
# squared-error cost (so neither cross-entropy mistake can be made), and sigma'(a) = sigma'(z) for
# identity, ReLU and leaky ReLU while a given sigmoid has no value at a: those four are never named.
NOT_ON_SHEETS = {"one_example", "extra_sigma_prime_output", "softmax_diagonal", "sigma_prime_of_a"}
SHEETS = [([2, 2, 2], ["leaky_relu(0.1)", "identity"]), ([2, 2, 2], ["sigmoid", "sigmoid"]),
          ([2, 2, 2], ["relu", "sigmoid"]), ([2, 2, 1], None), ([3, 2, 2, 1], None)]


def test_every_mistake_made_on_purpose_is_named():
    named: dict = {}
    for sizes, acts in SHEETS:
        for seed in range(8):
            ex = br.exercise(sizes=sizes, activations=acts, seed=seed)
            for v, values in ex.wrong_values():
                planted = {q: values[q] for q in ex.questions if values[q] != ex.answers[q]}
                if not planted:
                    continue
                result = ex.grade({q: str(values[q]) for q in ex.questions})
                for q in planted:
                    r = result[q]
                    assert r.status == "wrong" and r.mistake is not None, f"{v.description}: {q}"
                    earlier = GRADE_ORDER.index(r.mistake) <= GRADE_ORDER.index(v.name)
                    assert earlier, f"{v.description} named as {r.mistake}"
                    if r.mistake == v.name:
                        named.setdefault(v.name, r.sentence)
    print("\n" + "\n".join(f"{k}: {s}" for k, s in named.items()))
    assert set(named) == set(NAMES) - NOT_ON_SHEETS
    assert "BP2 needs w_" in named["transpose_bp2"] and "the weight leaving node" in named["transpose_bp2"]


def test_the_transposition_is_named_with_the_weights_used():
    ex = br.exercise(sizes=[2, 2, 2], activations=["leaky_relu(0.1)", "identity"], seed=0, level=3)
    v = MISTAKES["transpose_bp2"].variants(ex.exact_net)[0]
    values = [vals for var, vals in ex.wrong_values() if var == v][0]
    name = ex.questions[2]
    l, j = parse_name(name)[1]
    result = ex.grade({name: str(values[name])})[name]
    assert result.mistake == "transpose_bp2"
    assert result.sentence == (f"you used w_{j}{1 - j}^[2]; BP2 needs w_{1 - j}{j}^[2], "
                               f"the weight leaving node {j}")


def test_a_sign_and_a_factor_of_two_are_named():
    ex = br.exercise(sizes=[2, 2, 1], activations=["relu", "identity"], seed=3)
    name = "delta[2][0]"
    assert ex.grade({name: str(-ex.answers[name])})[name].mistake == "sign"
    assert ex.grade({name: str(2 * ex.answers[name])})[name].mistake == "scale"
    assert ex.grade({name: str(ex.answers[name] + Fraction(1, 997))})[name].mistake is None


# ---------------------------------------------------------------------------------------------
# Documents and JSON


def test_the_json_sheet_reads_back_without_its_answers():
    for seed in range(10):
        ex = br.exercise(seed=seed)
        doc = json.loads(ex.to_json())
        assert "answers" not in doc
        again = from_dict(doc)
        assert again.answers == ex.answers and again.questions == ex.questions
    with pytest.raises(ValueError, match="not an exercise sheet"):
        from_dict({"format": "something else"})
    with pytest.raises(ValueError, match="the exercise sheet is not valid"):
        from_dict(dict(doc, w=[None, [[1]]]))


def balanced(text: str) -> bool:
    depth = 0
    for i, c in enumerate(text):
        if c in "{}" and i and text[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_the_latex_is_a_complete_document(seed):
    ex = br.exercise(seed=seed)
    for doc in (ex.latex(), ex.key("latex")):
        assert doc.startswith(r"\documentclass") and r"\usepackage{amsmath}" in doc
        assert doc.count(r"\begin{document}") == 1 and doc.rstrip().endswith(r"\end{document}")
        assert r"\section*{" in doc and balanced(doc)
        assert doc.count(r"\begin{") == doc.count(r"\end{")
    assert r"\subsection*{Answers}" in ex.key("latex") and r"\subsection*{Answers}" not in ex.latex()
    assert "## Answers" in ex.key() and "## Answers" not in ex.markdown()
    for name in ex.questions:
        assert f"`{name}`" in ex.markdown()


@pytest.mark.parametrize("sheet", [(0, [2, 2, 1]), (4, [2, 2, 2]), (9, [3, 2, 2, 1])])
def test_the_latex_compiles(tmp_path, sheet):
    seed, sizes = sheet
    ex = br.exercise(sizes=sizes, seed=seed)
    for key in (False, True):
        log = compile_latex(tmp_path, f"sheet{int(key)}", ex.latex(key=key))
        assert "Overfull" not in log
