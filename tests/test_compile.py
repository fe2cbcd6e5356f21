"""`autograd.compile`: a traced graph replayed as generated Python gives eager's numbers, bit for bit.

    compiled value and gradient  ==  eager value and gradient (the same bits; NaN matches NaN)

for every op of the table (at ordinary points, kinks, zeros of both signs, infinities, NaN), for
random expressions made from the table (hypothesis), for ops of your own; and against PyTorch
float64 on random graphs. A trace records one path: a Python `if` on a number is caught at the
first call (TraceMismatchError). No label ever becomes code. A million-node chain compiles.
"""

from __future__ import annotations

import itertools
import math
import re
import struct
import sys
from pathlib import Path

import pytest
from _reference import TORCH_ABS, TORCH_REL
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_properties import N_INPUTS, POINTS, TREES, _moderate, _Ops, _TorchOps, evaluate

import autograd
from autograd import OPS, Op, Value

pytestmark = pytest.mark.compile

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, math.inf, -math.inf, math.nan, 1e308, -1e-310]
ARGUMENTS = {"sum": 3, "dot": 5, "max": 3, "pick": 4}  # (pick: 3 values and an index)


def bits(x: float) -> bytes:
    """The float's 8 bytes; every NaN counts as one."""
    return b"nan" if x != x else struct.pack("<d", x)


def eager(f, xs):
    """(value, gradients) of f by the engine itself: Values, backward()."""
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.data, [v.grad for v in leaves]


def eager_or_error(f, xs):
    try:
        return eager(f, xs)
    except (ValueError, ArithmeticError) as error:
        return type(error)


def compiled_or_error(fast, xs):
    try:
        return fast.value_and_grad(*xs)
    except (ValueError, ArithmeticError) as error:
        return type(error)


def same(a, b):
    if isinstance(a, type) or isinstance(b, type):
        return a == b
    (va, ga), (vb, gb) = a, b
    return bits(va) == bits(vb) and list(map(bits, ga)) == list(map(bits, gb))


def _arity(op) -> int:
    return ARGUMENTS[op] if op.variadic else len(op.parameters)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_compiles_to_eagers_bits_at_every_special_number(name):
    op = OPS[name]
    n = _arity(op)
    f = lambda *xs: op(*xs)  # noqa: E731
    points = list(itertools.product(SPECIAL, repeat=n)) if n <= 2 else [
        [SPECIAL[(i * 7 + k * 3) % len(SPECIAL)] for k in range(n)] for i in range(60)]
    fast = None
    for xs in points:
        expected = eager_or_error(f, xs)
        if fast is None:
            if isinstance(expected, type):
                continue
            fast = autograd.compile(f, *xs)
        got = compiled_or_error(fast, xs)
        assert same(got, expected), (name, xs, got, expected)


@pytest.mark.parametrize("name", sorted(name for name, op in OPS.items() if not op.variadic and _arity(op) >= 2))
def test_every_op_with_a_constant_compiles_to_eagers_bits(name):
    op = OPS[name]
    for c in SPECIAL:
        f = lambda x, c=c: op(x, c)  # noqa: E731
        fast = None
        for x in SPECIAL:
            expected = eager_or_error(f, [x])
            if fast is None:
                if isinstance(expected, type):
                    continue
                fast = autograd.compile(f, x)
            assert same(compiled_or_error(fast, [x]), expected), (name, c, x)


# ---- random expressions over the whole op table --------------------------------------------------

ANY_NUMBER = st.one_of(st.floats(-3.0, 3.0), st.sampled_from(SPECIAL))


@settings(deadline=None, max_examples=150)
@given(tree=TREES, point=st.lists(ANY_NUMBER, min_size=3, max_size=3), other=st.lists(ANY_NUMBER, min_size=3,
                                                                                        max_size=3))
def test_random_expressions_compile_to_eagers_bits_at_the_traced_point_and_another(tree, point, other):
    f = lambda *xs: evaluate(tree, list(xs), _Ops())  # noqa: E731
    expected = eager_or_error(f, point)
    assume(not isinstance(expected, type))
    fast = autograd.compile(f, *point)
    assert same(fast.value_and_grad(*point), expected)
    # the same graph at other numbers: unless a branch of the Python code (none here) reads a number
    assert same(compiled_or_error(fast, other), eager_or_error(f, other))


@settings(deadline=None, max_examples=60)
@given(tree=TREES, point=POINTS)
def test_value_and_grad_matches_pytorch_float64_on_random_graphs(torch, tree, point):
    assume(_moderate(tree, point))
    fast = autograd.compile(lambda *xs: evaluate(tree, list(xs), _Ops()), *point)
    value, grads = fast.value_and_grad(*point)
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
    reference = evaluate(tree, tensors, _TorchOps(torch))
    torch_grads = [0.0 if g is None else g.item() for g in torch.autograd.grad(reference, tensors, allow_unused=True)]
    assert value == pytest.approx(reference.item(), rel=TORCH_REL, abs=TORCH_ABS)
    assert grads == pytest.approx(torch_grads, rel=1e-9, abs=1e-9)


# ---- ops of your own --------------------------------------------------------------------------------

softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))
clamp = Op("clamp", lambda x, lo, hi: lo if x < lo else hi if x > hi else x,  # branches on the numbers
           lambda x, lo, hi, out: (1.0 if lo <= x <= hi else 0.0, 0.0, 0.0))
cube_root = Op("cube_root", lambda x: math.copysign(abs(x) ** (1 / 3), x),  # math.*: called, not written out
               lambda x, out: (1 / (3 * out * out) if float(out) != 0.0 else math.inf,))
wide = Op("wide", lambda *xs: max(xs) - min(xs), lambda *xs_out: tuple(
    1.0 if x == max(xs_out[:-1]) else -1.0 if x == min(xs_out[:-1]) else 0.0 for x in xs_out[:-1]))


@pytest.mark.parametrize("op", [softsign, clamp, cube_root, wide], ids=str)
def test_user_ops_compile_from_their_own_rules_to_eagers_bits(op):
    f = {clamp: lambda x, y: clamp(x * y, -1.0, 2.0), wide: lambda x, y: wide(x, y, x * y, 1.5)}.get(
        op, lambda x, y: op(x * y) + op(y))
    fast = autograd.compile(f, 0.7, 1.3)
    for point in itertools.product(SPECIAL[:8] + [0.3, -4.0], repeat=2):
        assert same(compiled_or_error(fast, point), eager_or_error(f, point)), point


def test_a_rule_written_out_is_the_rules_arithmetic_and_a_rule_that_calls_math_is_called():
    fast = autograd.compile(lambda x: softsign(x) + cube_root(x) + x.tanh(), 0.5)
    assert "1.0 + abs(x)" in fast.source  # softsign's forward, written out
    assert "cube_root(x)" in fast.source and "tanh(" in fast.source  # math.* rules: called by name
    assert "if" in autograd.compile(lambda x: x.relu(), 1.0).source  # relu's branch: a conditional expression


# ---- the program's shape --------------------------------------------------------------------------


def test_a_neurons_program_reads_forward_then_one_line_per_chain_rule_term():
    x, w, b = Value(0.5, label="x"), Value(-1.0, label="w"), Value(0.25, label="b")
    fast = autograd.compile(lambda x, w, b: (x * w + b).tanh(), x, w, b)
    lines = [line.strip() for line in fast.source.splitlines()]
    assert lines[0] == "def value_and_grad(x, w, b):"
    assert "t1 = x * w  # *" in lines and "dx += w * dt1  # *" in lines and "dw += x * dt1  # *" in lines
    assert "dt2 = (1.0 - t3 * t3) * dt3  # tanh" in lines
    assert lines.index("t3 = tanh(t2)  # tanh") < lines.index("dt3 = 1.0  # d output / d output")
    assert str(fast) == fast.source and fast.graph.op == "tanh"


def test_a_value_used_twice_gets_two_terms_added_in_eagers_order():
    fast = autograd.compile(lambda a: a * a + a, 3.0)
    terms = [line.strip() for line in fast.source.splitlines() if line.strip().startswith("da +=")]
    assert len(terms) == 3
    assert fast.value_and_grad(3.0) == (12.0, [7.0])


def test_tuple_outputs_differentiate_the_first_and_return_every_value():
    fast = autograd.compile(lambda x, y: (x * y, x + y, x), 2.0, 5.0)
    assert fast(3.0, 4.0) == (12.0, 7.0, 3.0)
    assert fast.value_and_grad(3.0, 4.0) == ((12.0, 7.0, 3.0), [4.0, 3.0])


def test_wrt_differentiates_the_inputs_named_in_that_order_only():
    f = lambda x, y, z: x * y * z  # noqa: E731
    fast = autograd.compile(f, 2.0, 3.0, 4.0, wrt=[2, 0])
    assert fast.value_and_grad(2.0, 3.0, 5.0) == (30.0, [6.0, 15.0])
    assert "dy" not in fast.source
    assert autograd.compile(f, 1.0, 1.0, 1.0, wrt=[]).value_and_grad(2.0, 3.0, 4.0) == (24.0, [])
    with pytest.raises(ValueError, match="wrt position 3"):
        autograd.compile(f, 1.0, 1.0, 1.0, wrt=[3])


def test_example_inputs_that_are_values_are_the_traced_leaves_themselves():
    w = Value(2.0, label="weight")
    fast = autograd.compile(lambda x, _w: w * x + 1.0, 3.0, w)  # f closes over w: still an input
    assert fast.inputs[1] is w
    assert fast.value_and_grad(3.0, 10.0) == (31.0, [10.0, 3.0])
    assert w.data == 2.0 and w.grad == 0.0  # the checking eager run restored the number, touched no .grad
    assert "def value_and_grad(x, weight)" in fast.source


def test_leaves_that_are_not_inputs_are_constants_even_nan_and_infinities():
    consts = [Value(math.nan), Value(math.inf), Value(-math.inf), Value(-0.0), Value(-2.5)]
    f = lambda x: autograd.sum([x * c for c in consts]) + x * consts[3]  # noqa: E731
    fast = autograd.compile(f, 1.0)
    for x in SPECIAL:
        assert same(fast.value_and_grad(x), eager(f, [x]))
    fast = autograd.compile(lambda x: x * -0.0 + x * 0.0 - x ** -2.0, 1.0)  # -0.0 and 0.0: different templates
    for x in SPECIAL:
        assert same(compiled_or_error(fast, [x]), eager_or_error(lambda x: x * -0.0 + x * 0.0 - x ** -2.0, [x]))


def test_a_domain_error_in_the_program_is_the_ops_own_named_error():
    fast = autograd.compile(lambda x: (x - 1.0).log(), 3.0)
    with pytest.raises(ValueError, match="log"):
        fast(0.5)
    fast = autograd.compile(lambda x, y: x / y, 1.0, 2.0)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        fast.value_and_grad(1.0, 0.0)


def test_partial_fixes_the_first_inputs_and_gives_the_full_calls_bits_and_errors():
    fast = autograd.compile(lambda w, b, x: (w * x + b).log(), 2.0, -1.0, 3.0)
    with_weights = fast.partial(2, -1.0)  # (an int converted, as a call converts it)
    assert bits(with_weights(3.0)) == bits(fast(2.0, -1.0, 3.0)) == bits(math.log(5.0))
    assert [bits(with_weights(x)) for x in (0.75, 1e300, math.nan)] == [bits(fast(2.0, -1.0, x))
                                                                        for x in (0.75, 1e300, math.nan)]
    assert with_weights(4) == fast(2.0, -1.0, 4.0)
    with pytest.raises(ValueError, match="log"):
        with_weights(0.25)  # the op's own named error, as from the full call
    with pytest.raises(TypeError, match="takes 3 numbers, got 4"):
        with_weights(1.0, 2.0)
    with pytest.raises(TypeError, match="takes 3 numbers, got 4 to fix"):
        fast.partial(1.0, 2.0, 3.0, 4.0)
    with pytest.raises(TypeError):
        fast.partial("2.0")
    scale = [2.0]  # the first call through partial is checked against eager as fast's own is
    stale = autograd.compile(lambda w, x: w * x * scale[0], 1.0, 1.0)
    scale[0] = 3.0
    with pytest.raises(autograd.TraceMismatchError):
        stale.partial(1.0)(1.0)


# ---- the limits of a trace, enforced ----------------------------------------------------------------


def test_a_python_branch_on_a_number_raises_trace_mismatch_naming_the_node():
    def f(x):
        return x * 2.0 if x.data > 0 else x.tanh()

    fast = autograd.compile(f, 1.0)
    with pytest.raises(autograd.TraceMismatchError, match=r"traced \* .*= -2\.0, eager tanh = "):
        fast(-1.0)
    fast = autograd.compile(f, 1.0)
    with pytest.raises(autograd.TraceMismatchError):
        fast.value_and_grad(-1.0)
    fast = autograd.compile(f, 1.0)
    assert fast(3.0) == 6.0 and fast.value_and_grad(2.0) == (4.0, [2.0])  # the traced path: no error


def test_a_number_captured_and_changed_after_tracing_is_caught_at_the_first_call():
    scale = [2.0]
    fast = autograd.compile(lambda x: x * scale[0], 1.0)
    scale[0] = 3.0
    with pytest.raises(autograd.TraceMismatchError, match="differs"):
        fast(1.0)


def test_outputs_that_share_a_node_in_one_run_only_are_no_mismatch_but_a_changed_output_is():
    # the check walks all outputs at once, then output by output where they differ: outputs that
    # are one node in one run and two alike nodes in the other compute the same numbers
    def f(x):
        a = x * 2.0
        return (a, a) if x.data > 0 else (a, x * 2.0)

    assert autograd.compile(f, -1.0)(1.0) == (2.0, 2.0)
    fast = autograd.compile(lambda x: (x * 2.0, x * 3.0 if x.data < 0 else x.tanh()), -1.0)
    with pytest.raises(autograd.TraceMismatchError, match="node 2 of the graph differs: traced \\* .*eager tanh"):
        fast(1.0)


def test_compile_refuses_what_it_cannot_trace():
    with pytest.raises(TypeError, match="must return a Value"):
        autograd.compile(lambda x: 3.0, 1.0)
    with pytest.raises(TypeError, match="made by an op"):
        autograd.compile(lambda x: x, Value(1.0) * 2)
    with pytest.raises(TypeError, match="takes 1 numbers"):
        autograd.compile(lambda x: x * 2, 1.0)(1.0, 2.0)
    with autograd.no_grad():  # traced all the same: tracing records the graph whatever the mode
        fast = autograd.compile(lambda x: x * x, 3.0)
    assert fast.value_and_grad(3.0) == (9.0, [6.0])


# ---- safety: no user text becomes code ------------------------------------------------------------

HOSTILE = [
    "x'\nimport os; os.system('touch PWNED')  # ",
    "__import__('os').system('touch PWNED')",
    '"""\nraise SystemExit\n"""',
    "\\\n1/0",
    "\r\nPWNED = 1\u2028\x0c\x00",
    "def",
    "9lives",
    "E",
    "value_and_grad",
    "tanh",
]


def test_hostile_labels_and_op_names_produce_a_program_that_runs_and_executes_none_of_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    leaves = [Value(0.1 * (i + 1), label=label) for i, label in enumerate(HOSTILE)]
    evil = Op("x')\nimport os\nos.system('touch PWNED')\n#", lambda x: 2.0 * x, lambda x, out: (2.0,))

    def f(*xs):
        total = xs[0]
        for i, x in enumerate(xs[1:]):
            total = evil(total * x + 1.0)
            total.label = HOSTILE[i]
        return total

    fast = autograd.compile(f, *leaves)
    value, grads = fast.value_and_grad(*[v.data for v in leaves])
    assert same((value, grads), eager(f, [v.data for v in leaves]))
    assert list(tmp_path.iterdir()) == []
    for line in fast.source.splitlines():
        code = line.split("#", 1)[0]
        assert re.fullmatch(r"[A-Za-z0-9_ =+\-*/.,()\[\]:<>!]*", code), line
    code = "\n".join(line.split("#", 1)[0] for line in fast.source.splitlines())
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    assert not names & {"os", "system", "import", "raise", "print", "__import__"}


# ---- a batch: the samples' program written once, as a loop -----------------------------------------


def _network(rng, sizes=(2, 6, 6, 1)):
    """A little MLP's parameters, each neuron's weights then its bias, on weights from 1e-3 to 1e3
    (so that adding the samples' terms in another order would give other bits)."""
    return [[[Value(rng.uniform(-1, 1) * 10 ** rng.uniform(-3, 3)) for _ in range(n_in + 1)] for _ in range(n_out)]
            for n_in, n_out in zip(sizes, sizes[1:])]


def _score(layers, x):
    x = [v if isinstance(v, Value) else Value(v) for v in x]  # a point's numbers: leaves, once for every neuron
    for i, layer in enumerate(layers):
        x = [autograd.dot(w[:-1], x, w[-1]) for w in layer]
        x = x if i == len(layers) - 1 else [z.relu() if k % 2 else z.tanh() for k, z in enumerate(x)]
    return x[0]


def _batch(rng, n):
    """n points and labels +-1, the points' numbers from 1e-3 to 1e3."""
    return ([[rng.uniform(-1, 1) * 10 ** rng.uniform(-3, 3) for _ in range(2)] for _ in range(n)],
            [rng.choice([1.0, -1.0]) for _ in range(n)])


def _hinge_step(layers, X, y):
    """The benchmark's step: the mean hinge loss over the points (the labels constants of `s * y`)
    plus a penalty on the weights, a function of the parameters."""
    params = [p for layer in layers for w in layer for p in w]

    def loss(*_params):
        terms = [(1.0 - _score(layers, x) * label).relu() for x, label in zip(X, y)]
        return autograd.sum(terms) / len(terms) + 1e-4 * autograd.sum([p * p for p in params])

    return loss, params


def _eager_at(f, params, numbers):
    """f's value and the parameters' gradients by backward(), the parameters holding numbers."""
    saved = [p.data for p in params]
    for p, x in zip(params, numbers):
        p.data, p.grad = x, 0.0
    out = f(*params)
    out.backward()
    result = out.data, [p.grad for p in params]
    for p, x in zip(params, saved):
        p.data, p.grad = x, 0.0
    return result


def test_a_batchs_samples_are_one_loop_whose_terms_add_up_in_eagers_order_to_eagers_bits(monkeypatch):
    rng = __import__("random").Random(3)
    layers = _network(rng)
    f, params = _hinge_step(layers, *_batch(rng, 40))
    fast = autograd.compile(f, *params)
    source = fast.source
    assert "for x, x_2, k in _samples:" in source and "in zip(_saved, _grads):" in source
    for _ in range(4):  # at other weights too: the sums over the samples come out as eager's
        point = [rng.uniform(-1, 1) * 10 ** rng.uniform(-3, 3) for _ in params]
        assert same(fast.value_and_grad(*point), _eager_at(f, params, point))
        assert bits(fast(*point)) == bits(_eager_at(f, params, point)[0])
    # written out node by node instead, the program is 10x longer and gives the very same bits
    monkeypatch.setattr(sys.modules["autograd.compile"], "_ROLL_AT", 10**9)
    straight = autograd.compile(f, *params)
    assert "_samples" not in straight.source and len(straight.source) > 10 * len(source)
    assert same(straight.value_and_grad(*point), fast.value_and_grad(*point))


def test_the_samples_own_inputs_and_targets_are_the_loops_data_and_a_new_batch_replays():
    # fit's step: the parameters are differentiated, the points and labels are inputs that are not
    rng = __import__("random").Random(4)
    layers = _network(rng, (3, 5, 1))
    params = [p for layer in layers for w in layer for p in w]
    n = 30

    def step(*leaves):
        data = leaves[len(params):]
        terms = [(_score(layers, data[4 * i : 4 * i + 3]) - data[4 * i + 3]) ** 2 for i in range(n)]
        return autograd.sum(terms) / n, *[t for t in terms]

    def batch():
        return [rng.uniform(-2, 2) for _ in range(4 * n)]

    fast = autograd.compile(step, *params, *batch(), wrt=range(len(params)))
    assert "in _samples:" in fast.source
    for _ in range(3):
        point = [p.data for p in params] + batch()
        (value, *terms), grads = fast.value_and_grad(*point)
        leaves = params + [Value(x) for x in point[len(params):]]
        out, *eager_terms = step(*leaves)
        for p in params:
            p.grad = 0.0
        out.backward()
        assert same((value, grads), (out.data, [p.grad for p in params]))
        assert list(map(bits, terms)) == [bits(t.data) for t in eager_terms]


@settings(deadline=None, max_examples=60)
@given(tree=TREES, point=POINTS, data=st.lists(ANY_NUMBER, min_size=8 * (N_INPUTS - 1), max_size=8 * (N_INPUTS - 1)))
def test_random_expressions_over_a_batch_give_eagers_bits_rolled_or_not(tree, point, data):
    # input 0 is the parameter (differentiated), the others each sample's own numbers
    n, width = 8, N_INPUTS - 1

    def f(w, *xs):
        return autograd.sum([evaluate(tree, [w, *xs[width * i : width * (i + 1)]], _Ops()) for i in range(n)]) / n

    def eager_w(numbers):  # the value and d value / d w
        result = eager_or_error(f, numbers)
        return result if isinstance(result, type) else (result[0], result[1][:1])

    numbers = [point[0], *data]
    expected = eager_w(numbers)
    assume(not isinstance(expected, type))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules["autograd.compile"], "_ROLL_AT", 8)  # a loop even for a tree of one node
        fast = autograd.compile(f, *numbers, wrt=[0])
    assert same(fast.value_and_grad(*numbers), expected)
    other = [point[1], *data[::-1]]
    assert same(compiled_or_error(fast, other), eager_w(other))


def test_samples_that_are_not_one_graph_are_written_as_straight_lines():
    rng = __import__("random").Random(5)
    layers = _network(rng)
    X, y = _batch(rng, 40)
    params = [p for layer in layers for w in layer for p in w]

    def f(*_params):  # the 8th sample takes another path (its loss squared): no loop, the same numbers
        terms = [(1.0 - _score(layers, x) * label).relu() for x, label in zip(X, y)]
        terms[7] = terms[7] * terms[7]
        return autograd.sum(terms) / len(terms)

    fast = autograd.compile(f, *params)
    assert "_samples" not in fast.source
    point = [p.data * 0.5 for p in params]
    assert same(fast.value_and_grad(*point), _eager_at(f, params, point))


def test_a_loop_over_samples_with_hostile_labels_runs_and_executes_none_of_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = __import__("random").Random(6)
    layers = _network(rng)
    X, y = _batch(rng, 40)
    X = [[Value(x, label=HOSTILE[(2 * i + j) % len(HOSTILE)]) for j, x in enumerate(point)]
         for i, point in enumerate(X)]
    f, params = _hinge_step(layers, X, y)
    fast = autograd.compile(f, *params)
    assert "in _samples:" in fast.source
    point = [p.data for p in params]
    assert same(fast.value_and_grad(*point), _eager_at(f, params, point))
    assert list(tmp_path.iterdir()) == []
    for line in fast.source.splitlines():
        code = line.split("#", 1)[0]
        assert re.fullmatch(r"[A-Za-z0-9_ =+\-*/.,()\[\]:<>!]*", code), line


# ---- scale ---------------------------------------------------------------------------------------------


def test_a_million_node_chain_compiles_and_runs():
    # Python compiles ~4-10 us a line: the forward program (a line per node) keeps this test to
    # seconds; the backward program is the same kind of lines, cut into parts the same way (next test)
    def chain(x):
        for _ in range(333_334):  # 3 nodes a round: 1,000,002 op nodes
            x = (x * 1.0001 + 0.0001).tanh()
        return x

    fast = autograd.compile(chain, 0.3)
    # the first call runs chain() eagerly beside the program and compares every node and the value
    assert fast(0.3) == fast.graph.data
    assert len(fast._pieces(backward=False)) > 10  # in parts of at most _CHUNK lines


@pytest.mark.parametrize("chunk", [1, 7, 20])
def test_a_program_cut_into_parts_gives_the_same_bits(monkeypatch, chunk):
    monkeypatch.setattr(sys.modules["autograd.compile"], "_CHUNK", chunk)
    x, y = Value(0.3, label="x"), Value(-0.7, label="y")

    def f(x, y):
        h = [autograd.dot([x, y], [y, x], 0.5).relu(), (x * y).tanh(), x.sigmoid() / (y * y + 1.0)]
        return autograd.sum(h) * h[1] - x, h[2]

    fast = autograd.compile(f, x, y)
    assert "E[" in fast.source
    for point in itertools.product([0.3, -0.7, 0.0, math.inf], repeat=2):
        (value, other), grads = fast.value_and_grad(*point)
        leaves = [Value(p) for p in point]
        out, second = f(*leaves)
        out.backward()
        assert same((value, grads), (out.data, [v.grad for v in leaves])) and bits(other) == bits(second.data)
        assert fast(*point) == (value, other) or math.isnan(value)


def test_two_ops_of_one_name_are_two_ops_in_the_program():
    double = Op("twice", lambda x: 2.0 * x, lambda x, out: (2.0,))
    triple = Op("twice", lambda x: 3.0 * x, lambda x, out: (3.0,))  # the same name, another op
    fast = autograd.compile(lambda x: double(x) + triple(x), 1.0)
    assert fast.value_and_grad(2.0) == (10.0, [5.0])


def test_sum_and_dot_add_up_as_their_rules_do_from_zero_and_left_to_right():
    # builtins.sum starts at 0: the sum of -0.0s is 0.0; and (1e16 + 1.0) - 1e16 is 0.0, not 1.0
    for f, point in [(lambda a, b: autograd.sum([a, b]), (-0.0, -0.0)),
                     (lambda a, b, c: autograd.sum([a, b, c]), (1e16, 1.0, -1e16)),
                     (lambda a, b: autograd.dot([a, b], [b, a]), (-0.0, 0.0)),
                     (lambda a, b: autograd.dot([a, a], [b, b], -1e16), (1e8, 1e8 + 1.0))]:
        fast = autograd.compile(f, *point)
        assert same(fast.value_and_grad(*point), eager(f, point))
    assert bits(autograd.compile(lambda a, b: autograd.sum([a, b]), 1.0, 1.0)(-0.0, -0.0)) == bits(0.0)


def test_a_wide_dot_is_written_out_not_called_and_gives_eagers_bits():
    # a digits neuron's dot has 129 inputs: written out as one line of products, the same bits as the rule
    rng = __import__("random").Random(0)
    point = [rng.uniform(-1, 1) for _ in range(129)]
    f = lambda *xs: autograd.dot(xs[:64], xs[64:128], xs[128])  # noqa: E731
    fast = autograd.compile(f, *point)
    assert same(fast.value_and_grad(*point), eager(f, point))
    assert "dot(" not in fast.source and fast.source.count("  # dot") == 1 + 129


def test_the_readme_shows_the_program_compile_writes_for_its_neuron():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    shown = re.search(r"```\n(def value_and_grad\(x1, x2, w1, w2, b\):\n.*?)```", readme, re.S).group(1)
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    fast = autograd.compile(lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(), x1, x2, w1, w2, b)
    assert fast.source == shown
