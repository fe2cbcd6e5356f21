"""fit(compile=True): the same training as fit(), to the last bit, from a step recorded once per batch shape.

A compiled step is replayed on other batches, so nothing of the batch it was recorded on may stay
in it: the targets are inputs of the program (every loss, replayed on another batch, gives what
the eager loss gives there), dropout's factors are inputs drawn in the eager order, and the
choices a loss makes by its numbers are ops (`max`, `pick`), checked here against PyTorch and
finite differences at first and second order.
"""

from __future__ import annotations

import math
import random

import pytest
from _reference import finite_differences, matches_finite_differences

import autograd
from autograd import OPS, Value
from nn import (
    MLP,
    RNN,
    SGD,
    Adam,
    CosineAnnealingLR,
    Layer,
    LayerNorm,
    Module,
    Neuron,
    Residual,
    RMSprop,
    Sequential,
    StepLR,
    binary_cross_entropy_with_logits,
    cross_entropy,
    fit,
    hinge_loss,
    make_moons,
    make_spiral,
    mse_loss,
)

pytestmark = pytest.mark.compile

OPTIMIZERS = {
    "SGD": lambda ps: SGD(ps, lr=0.1),
    "momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "RMSprop": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5),
    "Adam": lambda ps: Adam(ps, lr=0.02, weight_decay=1e-3),
}
MOONS = make_moons(n=50, noise=0.1, seed=0)  # batches of 16: three of 16 (one program) and one of 2 (eager)


def _train(compiled: bool, make_optimizer=OPTIMIZERS["Adam"], data=MOONS, loss_fn=hinge_loss, nouts=(8, 8, 1),
           dropout=0.0, scheduler=None, **options):
    """(every step's gradients and then weights, the history, the model) of one fit."""
    X, y = data
    model = MLP(len(X[0]), list(nouts), dropout=dropout, seed=1)
    params = model.parameters()
    optimizer = make_optimizer(params)
    steps = _record_steps(optimizer)
    options.setdefault("batch_size", 16)
    options.setdefault("epochs", 3)
    history = fit(model, X, y, loss_fn, optimizer, progress=False, compile=compiled,
                  scheduler=scheduler(optimizer) if scheduler else None, **options)
    return steps, history, model


def _record_steps(optimizer) -> list:
    """A list that gets every step's gradients (before it) and weights (after it): the test's own
    record, around the optimizer's step."""
    steps, step, params = [], optimizer.step, optimizer.params

    def recorded_step():
        steps.append(("grad", [p.grad for p in params]))
        step()
        steps.append(("data", [p.data for p in params]))

    optimizer.step = recorded_step
    return steps


def _same_bits(a, b) -> bool:
    """Equal as floats and in the sign of every zero."""
    return a == b and [math.copysign(1.0, x) for x in _flat(a)] == [math.copysign(1.0, x) for x in _flat(b)]


def _flat(item):
    if isinstance(item, (list, tuple)):
        return [x for element in item for x in _flat(element)]
    return [item] if isinstance(item, float) else []


# ---- fit(compile=True) == fit() ------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_compiled_fit_gives_every_steps_gradients_and_weights_bit_for_bit(optimizer):
    eager = _train(False, OPTIMIZERS[optimizer])
    compiled = _train(True, OPTIMIZERS[optimizer])
    assert len(eager[0]) == 2 * 3 * 4  # 3 epochs of 4 batches, each step's .grad and weights
    assert _same_bits(compiled[0], eager[0])
    assert compiled[1] == eager[1]


def test_dropout_draws_the_same_masks_in_the_same_order_as_eager_training():
    eager = _train(False, dropout=0.25)
    compiled = _train(True, dropout=0.25)
    assert _same_bits(compiled[0], eager[0]) and compiled[1] == eager[1]
    # each layer's generator has drawn exactly as many numbers: the next masks would agree too
    assert [d._rng.getstate() for d in compiled[2].dropouts] == [d._rng.getstate() for d in eager[2].dropouts]


@pytest.mark.parametrize("scheduler", [lambda o: StepLR(o, step_size=1, gamma=0.5),
                                       lambda o: CosineAnnealingLR(o, T_max=3)], ids=["StepLR", "cosine"])
def test_a_scheduler_changes_the_rate_of_the_compiled_steps_as_of_the_eager_ones(scheduler):
    eager = _train(False, OPTIMIZERS["momentum"], scheduler=scheduler)
    compiled = _train(True, OPTIMIZERS["momentum"], scheduler=scheduler)
    assert _same_bits(compiled[0], eager[0]) and compiled[1] == eager[1]


def test_validation_and_early_stopping_see_the_same_numbers_through_the_compiled_forward():
    X, y = make_moons(n=40, noise=0.2, seed=3)
    options = {"validation": (X, y), "patience": 1, "min_delta": 10.0}  # stops after epoch 2, restores epoch 1
    eager = _train(False, data=MOONS, dropout=0.1, **options)
    compiled = _train(True, data=MOONS, dropout=0.1, **options)
    assert compiled[1] == eager[1] and len(eager[1].val_loss) == 2 and eager[1].stopped_early
    assert _same_bits([p.data for p in compiled[2].parameters()], [p.data for p in eager[2].parameters()])


@pytest.mark.parametrize("loss_fn", [binary_cross_entropy_with_logits, mse_loss, hinge_loss])
def test_full_batch_training_with_each_binary_loss_is_the_same(loss_fn):
    X, y = MOONS  # labels +1/-1 for the hinge loss, 1/0 for the others
    if loss_fn is not hinge_loss:
        y = [1 if t > 0 else 0 for t in y]
    eager = _train(False, data=(X, y), loss_fn=loss_fn, batch_size=None)
    compiled = _train(True, data=(X, y), loss_fn=loss_fn, batch_size=None)
    assert _same_bits(compiled[0], eager[0]) and compiled[1] == eager[1]


def test_cross_entropy_on_shuffled_batches_replays_each_batchs_targets():
    spiral = make_spiral(n=45, classes=3, seed=0)
    eager = _train(False, OPTIMIZERS["RMSprop"], data=spiral, loss_fn=cross_entropy, nouts=(8, 3), batch_size=8)
    compiled = _train(True, OPTIMIZERS["RMSprop"], data=spiral, loss_fn=cross_entropy, nouts=(8, 3), batch_size=8)
    assert _same_bits(compiled[0], eager[0]) and compiled[1] == eager[1]


def _train_module(compiled: bool, make_model, X, y, loss_fn):
    model = make_model()
    optimizer = Adam(model.parameters(), lr=0.01)
    steps = _record_steps(optimizer)
    history = fit(model, X, y, loss_fn, optimizer, epochs=2, batch_size=4, progress=False, compile=compiled)
    return steps, history


def test_layer_norm_residual_and_sequential_train_the_same_compiled():
    def make():
        return Sequential(Layer(2, 4, "tanh", seed=0), LayerNorm(4), Residual(Layer(4, 4, "relu", seed=1)),
                          Layer(4, 1, "linear", seed=2))

    def loss(outputs, targets):
        return hinge_loss([o[0] for o in outputs], targets)

    X, y = make_moons(n=20, seed=0)
    assert _train_module(True, make, X, y, loss) == _train_module(False, make, X, y, loss)


class _Sequence(Module):
    """The last hidden state of an RNN, read out by a linear neuron."""

    def __init__(self):
        self.rnn = RNN(1, 4, seed=0)
        self.head = Neuron(4, "linear", seed=1)

    def forward(self, xs):
        return self.head(self.rnn(xs)[-1])


def test_an_rnn_on_sequences_of_different_lengths_gets_a_program_per_shape_and_trains_the_same():
    rng = random.Random(0)
    X = [[[rng.uniform(-1, 1)] for _ in range(rng.randint(2, 4))] for _ in range(12)]
    y = [sum(step[0] for step in x) for x in X]
    assert _train_module(True, _Sequence, X, y, mse_loss) == _train_module(False, _Sequence, X, y, mse_loss)


# ---- a loss recorded on one batch, replayed on another ------------------------------------------

LOSSES = [
    (mse_loss, lambda rng: rng.uniform(-2, 2), 1),
    (hinge_loss, lambda rng: rng.choice([1.0, -1.0]), 1),
    (binary_cross_entropy_with_logits, lambda rng: rng.choice([0.0, 1.0, rng.random()]), 1),
    (cross_entropy, lambda rng: float(rng.randrange(3)), 3),
]


@pytest.mark.parametrize(("loss_fn", "target", "width"), LOSSES, ids=lambda x: getattr(x, "__name__", ""))
def test_a_loss_recorded_on_one_batch_gives_the_eager_loss_of_another(loss_fn, target, width):
    rng = random.Random(0)
    n = 4

    def batch():
        return [rng.uniform(-3, 3) for _ in range(n * width)], [target(rng) for _ in range(n)]

    def loss(*leaves):
        preds = leaves[: n * width]
        if width > 1:
            preds = [list(preds[i : i + width]) for i in range(0, n * width, width)]
        return loss_fn(list(preds), list(leaves[n * width :]))

    fast = autograd.compile(loss, *[x for part in batch() for x in part], wrt=list(range(n * width)))
    for _ in range(5):  # other predictions, other targets (other classes, other BCE targets 0 and 1)
        preds, targets = batch()
        leaves = [Value(x) for x in preds]
        ts = [int(t) for t in targets] if width > 1 else targets
        eager = loss_fn([leaves[i : i + width] for i in range(0, n * width, width)] if width > 1 else leaves, ts)
        eager.backward()
        value, grads = fast.value_and_grad(*preds, *targets)
        assert (value, grads) == (eager.data, [v.grad for v in leaves])


def test_cross_entropy_with_a_value_target_is_the_same_as_with_the_int():
    logits = [0.3, -1.0, 2.2, 2.2]
    for t in range(4):
        by_int, by_value = [Value(z) for z in logits], [Value(z) for z in logits]
        a, b = cross_entropy(by_int, t), cross_entropy(by_value, Value(float(t)))
        a.backward()
        b.backward()
        assert (a.data, [v.grad for v in by_int]) == (b.data, [v.grad for v in by_value])


def test_the_losses_give_the_values_they_gave_with_a_branch_and_a_number_for_the_maximum():
    # before the choices were ops: BCE took softplus(-z) for a target of 1 and softplus(z) for 0,
    # and cross_entropy shifted by the number max(z.data)
    for z in [-1e3, -40.0, -0.5, 0.0, 2.0, 37.0, 1e3]:
        assert binary_cross_entropy_with_logits(Value(z), 1).data == (-Value(z)).softplus().data
        assert binary_cross_entropy_with_logits(Value(z), 0).data == Value(z).softplus().data
    rng = random.Random(0)
    for _ in range(50):
        logits = [rng.gauss(0.0, 5.0) for _ in range(rng.randint(1, 6))]
        t = rng.randrange(len(logits))
        m = max(logits)
        shifted = [Value(z) - m for z in logits]
        before = -(shifted[t] - autograd.sum([s.exp() for s in shifted]).log())
        assert cross_entropy([Value(z) for z in logits], t).data == before.data


def test_a_target_given_as_a_value_gets_pytorchs_gradient(torch):
    preds, targets = [0.3, -1.2, 2.5], [0.0, 1.0, 0.25]
    for loss_fn, reference in [(mse_loss, torch.nn.functional.mse_loss),
                               (binary_cross_entropy_with_logits,
                                torch.nn.functional.binary_cross_entropy_with_logits)]:
        ts = [Value(t) for t in targets]
        loss_fn([Value(p) for p in preds], ts).backward()
        t = torch.tensor(targets, requires_grad=True)
        (expected,) = torch.autograd.grad(reference(torch.tensor(preds), t), t)
        assert [v.grad for v in ts] == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-15)


# ---- the limit, and arguments ---------------------------------------------------------------------


class _Branching(Module):
    """|w x| written with a Python `if` on the number: a trace records one side only."""

    def __init__(self):
        self.w = Value(0.5)

    def forward(self, x):
        s = self.w * x
        return s if s.data > 0 else -s


def test_a_python_branch_on_a_number_in_the_model_raises_trace_mismatch_error():
    X, y = [1.0, -1.0], [1.0, 1.0]  # batches of one: the second takes the other side of the `if`
    model = _Branching()
    with pytest.raises(autograd.TraceMismatchError):
        fit(model, X, y, mse_loss, SGD(model.parameters(), lr=0.0), epochs=1, batch_size=1, progress=False,
            compile=True)
    eager = _Branching()  # without compile the same training runs
    fit(eager, X, y, mse_loss, SGD(eager.parameters(), lr=0.0), epochs=1, batch_size=1, progress=False)


def test_an_epochs_short_last_batch_runs_eagerly_and_only_the_full_batches_are_compiled(monkeypatch):
    compiled = []
    compile_ = autograd.compile
    monkeypatch.setattr(autograd, "compile", lambda *args, **kw: compiled.append(len(args)) or compile_(*args, **kw))
    assert _same_bits(_train(True)[:2], _train(False)[:2])  # batches of 16, 16, 16 and 2
    assert len(compiled) == 1


def test_the_first_step_without_dropout_is_taken_on_the_recordings_graph(monkeypatch):
    # recording runs the model once; the step then backpropagates through that graph: no extra
    # eager forward pass (with a Dropout there is one, to learn the draws; the check adds one later)
    calls = []
    forward_batch = MLP.forward_batch
    monkeypatch.setattr(MLP, "forward_batch", lambda self, xs: calls.append(len(xs)) or forward_batch(self, xs))
    X, y = MOONS
    for dropout, first_step in ((0.0, [16]), (0.25, [16, 16])):
        del calls[:]
        _train(True, dropout=dropout, data=(X[:32], y[:32]), epochs=1)
        assert calls == first_step + [16]  # then the second step's check
    assert _same_bits(_train(True, data=(X[:32], y[:32]))[:2], _train(False, data=(X[:32], y[:32]))[:2])


def test_a_batchs_step_is_one_loop_over_its_samples_and_trains_as_eager_does(monkeypatch):
    # the samples of a batch are one graph on other inputs: the step's program holds it once
    programs = []
    compile_ = autograd.compile
    monkeypatch.setattr(autograd, "compile", lambda *args, **kw: programs.append(compile_(*args, **kw)) or programs[-1])
    for dropout in (0.0, 0.25):
        del programs[:]
        assert _same_bits(_train(True, dropout=dropout)[:2], _train(False, dropout=dropout)[:2])
        (step,) = programs
        source = step.source
        assert source.count(" in _samples:") == 1 and source.count(" in zip(_saved, _grads):") == 1
        assert len(source.splitlines()) < 450  # a sample's 36 nodes once, not 16 times (~1,700 lines)


def test_a_batchs_ints_are_read_as_floats_and_a_bad_target_is_named():
    X = [[1.0, 2.0], [3.0, 4]]  # (an int among the inputs: read as the float it is)
    for y, error, message in (([10**400, 1], ValueError, "a target of the batch is too large for a float"),
                              ([True, 2], TypeError, "a target of the batch must be a number, got bool")):
        model = MLP(2, [1], seed=0)
        with pytest.raises(error, match=message):
            fit(model, X, y, mse_loss, SGD(model.parameters(), lr=0.0), epochs=2, batch_size=2, progress=False,
                compile=True)
    runs = []
    for compiled in (False, True):
        model = MLP(2, [1], seed=0)
        fit(model, X, [1, 2], mse_loss, SGD(model.parameters(), lr=0.1), epochs=3, batch_size=2, progress=False,
            compile=compiled)
        runs.append([p.data for p in model.parameters()])
    assert runs[0] == runs[1]


def test_compile_must_be_a_bool_and_cannot_go_with_diagnostics():
    model = MLP(2, [2, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(TypeError, match="compile must be True or False"):
        fit(model, *MOONS, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=1, compile="yes", progress=False)
    with pytest.raises(ValueError, match="diagnostics=True .* compile=False"):
        fit(model, *MOONS, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=1, compile=True, diagnostics=True,
            progress=False)
    assert [p.data for p in model.parameters()] == before


# ---- the ops that choose: max and pick ------------------------------------------------------------

MAX, PICK = OPS["max"], OPS["pick"]
nan, inf = math.nan, math.inf
MAX_POINTS = [(1.0, 3.0, 2.0), (3.0, 3.0, 1.0), (-1.0, -1.0, -1.0), (0.0, -0.0, 0.0), (nan, 1.0, 2.0),
              (1.0, nan, nan), (inf, 1.0, inf), (-inf, -inf, 5.0), (2.5,)]


def _engine(op, point):
    values = [Value(x) for x in point]
    out = op(*values)
    out.backward()
    return out.data, [v.grad for v in values]


@pytest.mark.parametrize("point", MAX_POINTS, ids=str)
def test_max_is_torch_max_over_a_dimension_with_its_gradient_to_the_first_maximum(torch, point):
    tensors = [torch.tensor(x, requires_grad=True) for x in point]
    values, index = torch.stack(tensors).max(dim=0)
    grads = torch.autograd.grad(values, tensors, allow_unused=True)
    value, mine = _engine(MAX, point)
    assert _same_bits(value, values.item()) or (math.isnan(value) and math.isnan(values.item()))
    assert mine == [0.0 if g is None else g.item() for g in grads]
    assert mine.index(1.0) == index.item()  # ties and NaN: the first, as torch's index says


@pytest.mark.parametrize("point", [(0.3, -1.2, 2.0), (2.0, 0.3, -1.2), (-0.5, -0.25, -4.0)], ids=str)
def test_max_and_pick_first_and_second_derivatives_match_finite_differences(point):
    for op, args, f in [(MAX, point, lambda *xs: max(xs)), (PICK, (*point, 1.0), lambda *xs: xs[1])]:
        _, grads = _engine(op, args)
        assert grads[: len(point)] == matches_finite_differences(finite_differences(f, point))
        values = [Value(x) for x in args]
        firsts = autograd.grad(op(*values), values, create_graph=True)
        hessian = [[g.data for g in autograd.grad(first, values)] for first in firsts]
        assert hessian == [[0.0] * len(args)] * len(args)  # piecewise linear: 0, as PyTorch's


def test_pick_is_indexing_as_in_torch_and_its_index_gets_no_gradient(torch):
    point = (0.5, -2.0, 7.0)
    for i in range(3):
        value, grads = _engine(PICK, (*point, float(i)))
        tensors = [torch.tensor(x, requires_grad=True) for x in point]
        picked = torch.stack(tensors)[i]
        expected = [0.0 if g is None else g.item() for g in torch.autograd.grad(picked, tensors, allow_unused=True)]
        assert (value, grads) == (picked.item(), [*expected, 0.0])


@pytest.mark.parametrize("index", [3.0, -1.0, 0.5, nan, inf])
def test_pick_refuses_an_index_that_names_no_argument(index):
    with pytest.raises(ValueError, match="pick: the index must be a whole number from 0 to 2"):
        PICK(Value(1.0), Value(2.0), Value(3.0), index)
    with pytest.raises(ValueError, match="max: needs at least one argument"):
        MAX()
