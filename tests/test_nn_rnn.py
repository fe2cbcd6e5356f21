"""RNN: an Elman layer unrolled over a sequence; outputs and every gradient equal torch.nn.RNN's (float64).

Backpropagation through time is checked the two independent ways: against PyTorch with the
weights copied, and against central finite differences (gradcheck) on a small sequence.
"""

from __future__ import annotations

import random

import pytest
from _reference import all_nodes

import autograd
from autograd import Value, draw_dot, gradcheck
from nn import RNN

pytestmark = pytest.mark.nn

TORCH_TOL = {"rel": 1e-9, "abs": 1e-12}  # the contract: PyTorch's numbers within 1e-9


def sequence(T: int, nin: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-2.0, 2.0) for _ in range(nin)] for _ in range(T)]


def flat(rows: list) -> list[float]:
    """A matrix (list of rows) as one list, row by row; pytest.approx compares flat lists."""
    return [x for row in rows for x in row]


def data(states: list[list[Value]]) -> list[float]:
    return [v.data for h in states for v in h]


def torch_rnn(torch, rnn: RNN):
    """torch.nn.RNN with rnn's weights copied: our one bias is bias_ih, and bias_hh is 0."""
    net = torch.nn.RNN(rnn.nin, rnn.nhidden, nonlinearity=rnn.activation, dtype=torch.float64)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor([[w.data for w in row] for row in rnn.weight_ih]))
        net.weight_hh_l0.copy_(torch.tensor([[w.data for w in row] for row in rnn.weight_hh]))
        net.bias_ih_l0.copy_(torch.tensor([b.data for b in rnn.bias]))
        net.bias_hh_l0.zero_()
    return net


def weighted_sum(states: list[list[Value]], seed: int) -> tuple[Value, list[list[float]]]:
    """A loss that reads every hidden state of every step, each with its own coefficient."""
    rng = random.Random(seed)
    coefficients = [[rng.uniform(-1.0, 1.0) for _ in h] for h in states]
    loss = autograd.sum([c * v for h, cs in zip(states, coefficients) for v, c in zip(h, cs)])
    return loss, coefficients


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_hidden_states_and_every_gradient_match_torch_rnn(torch, activation, with_h0):
    rnn = RNN(3, 4, activation=activation, seed=1)
    xs = [[Value(x) for x in step] for step in sequence(6, 3, seed=2)]
    h0 = [Value(h) for h in sequence(1, 4, seed=3)[0]] if with_h0 else None
    states = rnn(xs, h0=h0)
    loss, coefficients = weighted_sum(states, seed=4)
    loss.backward()

    net = torch_rnn(torch, rnn)
    X = torch.tensor([[v.data for v in step] for step in xs], requires_grad=True)
    H0 = torch.tensor([[v.data for v in h0]] if with_h0 else [[0.0] * 4], requires_grad=True)
    out, h_last = net(X, H0)
    (out * torch.tensor(coefficients)).sum().backward()

    assert data(states) == pytest.approx(flat(out.tolist()), **TORCH_TOL)
    assert [v.data for v in states[-1]] == pytest.approx(h_last[0].tolist(), **TORCH_TOL)
    grads = {
        "weight_ih": ([w.grad for row in rnn.weight_ih for w in row], flat(net.weight_ih_l0.grad.tolist())),
        "weight_hh": ([w.grad for row in rnn.weight_hh for w in row], flat(net.weight_hh_l0.grad.tolist())),
        "bias (= bias_ih)": ([b.grad for b in rnn.bias], net.bias_ih_l0.grad.tolist()),
        "bias (= bias_hh)": ([b.grad for b in rnn.bias], net.bias_hh_l0.grad.tolist()),
        "inputs": ([v.grad for step in xs for v in step], flat(X.grad.tolist())),
    }
    if with_h0:
        grads["h0"] = ([v.grad for v in h0], H0.grad[0].tolist())
    for name, (ours, theirs) in grads.items():
        assert ours == pytest.approx(theirs, **TORCH_TOL), name


def test_gradients_through_time_and_second_derivatives_match_finite_differences():
    # every weight, bias and input moved one at a time: BPTT (and its derivative) against the definition
    T, nin, nh = 3, 2, 2

    def loss(*numbers: Value) -> Value:
        rnn, it = RNN(nin, nh, seed=6), iter(numbers)
        rnn.weight_ih = [[next(it) for _ in range(nin)] for _ in range(nh)]
        rnn.weight_hh = [[next(it) for _ in range(nh)] for _ in range(nh)]
        rnn.bias = [next(it) for _ in range(nh)]
        h = rnn([[next(it) for _ in range(nin)] for _ in range(T)])
        return h[-1][0] * h[-1][1] + h[0][1]

    params = [p.data for p in RNN(nin, nh, seed=6).parameters()]
    assert gradcheck(loss, params + [x for step in sequence(T, nin, seed=5) for x in step], order=2)


def test_a_sequence_of_bare_numbers_works_when_nin_is_one(torch):
    rnn = RNN(1, 3, seed=0)
    as_numbers = rnn([0.5, -1.0, 2.0])
    as_lists = rnn([[0.5], [-1.0], [2.0]])
    assert data(as_numbers) == data(as_lists)
    out, _ = torch_rnn(torch, rnn)(torch.tensor([[0.5], [-1.0], [2.0]]))
    assert data(as_numbers) == pytest.approx(flat(out.tolist()), **TORCH_TOL)


def test_it_returns_one_state_per_step_each_a_list_of_nhidden_values():
    states = RNN(2, 5, seed=0)(sequence(7, 2, seed=0))
    assert len(states) == 7
    assert all(len(h) == 5 and all(isinstance(v, Value) for v in h) for h in states)


def test_the_state_starts_at_zero_so_a_zero_h0_gives_the_same_states():
    rnn = RNN(2, 3, seed=4)
    xs = sequence(5, 2, seed=1)
    assert data(rnn(xs)) == data(rnn(xs, h0=[0.0, 0.0, 0.0]))  # adding 0 * w changes no bit


def test_parameters_are_named_and_shaped_like_pytorch():
    rnn = RNN(3, 4, seed=0)
    assert [len(row) for row in rnn.weight_ih] == [3] * 4
    assert [len(row) for row in rnn.weight_hh] == [4] * 4
    assert len(rnn.bias) == 4
    assert rnn.num_parameters() == 4 * 3 + 4 * 4 + 4
    assert rnn.parameters() == [*(w for row in rnn.weight_ih for w in row),
                                *(w for row in rnn.weight_hh for w in row), *rnn.bias]
    state = rnn.state_dict()
    assert list(state) == ["weight_ih", "weight_hh", "bias"]
    assert state["weight_hh"] == [[w.data for w in row] for row in rnn.weight_hh]


def test_a_state_dict_loads_back_all_or_nothing():
    source, target = RNN(2, 3, seed=1), RNN(2, 3, seed=2)
    target.load_state_dict(source.state_dict())
    assert [p.data for p in target.parameters()] == [p.data for p in source.parameters()]
    before = [p.data for p in target.parameters()]
    bad = {**source.state_dict(), "weight_hh": [[0.0] * 2] * 3}  # rows of 2, not 3
    with pytest.raises(ValueError, match="weight_hh"):
        RNN(2, 3, seed=2).load_state_dict(bad)
    assert [p.data for p in target.parameters()] == before


def test_initial_weights_are_uniform_in_plus_minus_one_over_sqrt_nhidden_and_follow_the_seed():
    rnn = RNN(2, 16, seed=3)
    assert all(abs(p.data) <= 0.25 for p in rnn.parameters())
    assert max(abs(p.data) for p in rnn.parameters()) > 0.2
    assert [p.data for p in RNN(2, 16, seed=3).parameters()] == [p.data for p in rnn.parameters()]
    assert [p.data for p in RNN(2, 16, seed=4).parameters()] != [p.data for p in rnn.parameters()]


def test_each_step_is_in_a_scope_of_its_own_inside_the_rnn():
    rnn = RNN(2, 2, seed=0)
    states = rnn(sequence(3, 2, seed=0))
    loss = autograd.sum(states[-1])
    made_by_rnn = [v for v in all_nodes(loss) if v.scope is not None]
    paths = {v.scope.path for v in made_by_rnn}
    assert paths == {("RNN", "t=0"), ("RNN", "t=1"), ("RNN", "t=2")}
    for t, h in enumerate(states):
        assert all(v.scope.path == ("RNN", f"t={t}") for v in h)


def test_the_first_step_without_h0_has_no_recurrent_term_and_later_steps_read_the_previous_state():
    rnn = RNN(2, 3, seed=0)
    h = rnn(sequence(2, 2, seed=0))
    first_sum, second_sum = h[0][0].inputs[0], h[1][0].inputs[0]
    assert first_sum.op == "dot" and len(first_sum.inputs) == 2 + 2 + 1  # w_ih[0], x_0, b[0]
    assert second_sum.op == "dot" and len(second_sum.inputs) == 2 * (2 + 3) + 1  # [w_ih, w_hh], [x, h_0], b
    assert all(any(v is inp for inp in second_sum.inputs) for v in h[0])


@pytest.mark.parametrize("collapse", ["t", "t=", ["t=0", "t=1", "t=2"]])
def test_draw_dot_collapses_the_unrolled_graph_into_one_box_per_time_step(collapse):
    rnn = RNN(1, 2, seed=0)
    loss = autograd.sum(rnn([0.5, -0.2, 0.1])[-1])
    loss.backward()
    source = draw_dot(loss, collapse=collapse).source
    for t in range(3):
        assert source.count(f"<b>t={t}</b>") == 1
    assert "tanh" not in source.replace("dot, tanh", "")  # no op of a step is drawn on its own


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: RNN(0, 3), ValueError, "nin"),
        (lambda: RNN(2, True), TypeError, "nhidden"),
        (lambda: RNN(2, 3, activation="softmax"), ValueError, "activation"),
        (lambda: RNN(2, 3, seed=1.5), TypeError, "seed"),
    ],
)
def test_bad_construction_arguments_raise_clear_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize(
    ("xs", "h0", "error", "words"),
    [
        ([], None, ValueError, "empty sequence"),
        ([[1.0, 2.0], [1.0]], None, ValueError, "time step 1 expects 2 inputs, got 1"),
        ([[1.0, "a"]], None, TypeError, "time step 0 input 1"),
        ("ab", None, TypeError, "list of time steps"),
        (3.0, None, TypeError, "list of time steps"),
        ([[1.0, 2.0]], [0.0, 0.0], ValueError, "h0 expects 3 inputs, got 2"),
    ],
)
def test_bad_sequences_raise_errors_naming_the_step_and_change_nothing(xs, h0, error, words):
    rnn = RNN(2, 3, seed=0)
    before = [p.data for p in rnn.parameters()]
    with pytest.raises(error, match=words):
        rnn(xs, h0=h0)
    assert [p.data for p in rnn.parameters()] == before
    assert all(p.grad == 0.0 for p in rnn.parameters())


def test_repr_names_the_sizes_and_the_activation():
    assert repr(RNN(3, 8, activation="relu")) == "RNN(3 -> 8, activation='relu')"
