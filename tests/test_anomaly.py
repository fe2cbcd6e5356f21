"""`detect_anomaly`: the first NaN or infinity is named with its op, its inputs and its line.

A NaN in a loss says nothing about where it came from. Inside `with detect_anomaly():` the first
op whose output is NaN or infinite raises AnomalyError at once, and so does the first node that
passes a NaN or infinite share of a gradient back in backward(); the message names the op, the
numbers it got and the file and line of the program that made the node. Outside the block
nothing is recorded and nothing is checked.
"""

from __future__ import annotations

import math
import threading

import pytest

import autograd
from autograd import AnomalyError, Value, detect_anomaly, no_grad
from nn import MLP, mse_loss

pytestmark = pytest.mark.anomaly

HERE = __file__


def _line_of(text: str) -> int:
    """The line number of the first line of this file containing `text`."""
    with open(HERE) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


def test_inf_minus_inf_in_the_forward_pass_names_the_op_its_inputs_and_this_line():
    x = Value(math.inf)
    with detect_anomaly(), pytest.raises(AnomalyError) as raised:
        x - x  # the anomaly
    message = str(raised.value)
    assert "'-' node" in message and "inf, inf" in message and "nan" in message
    assert f"{HERE}:{_line_of('x - x  # the anomaly')}" in message


def test_an_infinite_local_derivative_times_a_zero_gradient_is_named_in_backward():
    x = Value(0.0)
    with detect_anomaly():
        y = x.sqrt() * 0  # sqrt'(0) = inf
        with pytest.raises(AnomalyError) as raised:
            y.backward()
    message = str(raised.value)
    assert "in backward, the 'sqrt' node" in message and "local derivative inf" in message
    assert f"{HERE}:{_line_of('sqrt() * 0  # sqrt')}" in message


def test_after_an_anomaly_in_backward_every_grad_is_as_it_was():
    x, w = Value(0.0), Value(2.0)
    (x * w).backward()
    before = (x.grad, w.grad)
    with detect_anomaly():
        y = x.sqrt() * 0 + x * w
        with pytest.raises(AnomalyError):
            y.backward()
    assert (x.grad, w.grad) == before


def test_the_same_program_without_the_block_gives_nan_silently():
    x = Value(0.0)
    y = x.sqrt() * 0
    y.backward()
    assert math.isnan(x.grad)
    assert (Value(math.inf) - math.inf).data != (Value(math.inf) - math.inf).data  # nan


def test_a_nan_inside_a_network_names_the_op_the_scope_and_the_callers_line():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    model.layers[0].neurons[1].w[0].data = math.nan
    with detect_anomaly(), pytest.raises(AnomalyError) as raised:
        mse_loss([model([1.0, 2.0])], [0.0])  # the caller's line
    message = str(raised.value)
    assert "'dot' node" in message and "MLP/Layer 0/Neuron 1" in message
    assert f"{HERE}:{_line_of('# the caller')}" in message


def test_no_grad_inside_the_block_records_and_checks_nothing():
    with detect_anomaly(), no_grad():
        y = Value(math.inf) - math.inf
    assert math.isnan(y.data) and y.inputs == ()


def test_the_block_is_per_thread_and_restored_after_an_error():
    seen = []

    def other_thread():
        seen.append((Value(math.inf) - math.inf).data)  # not checked here

    with detect_anomaly():
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        with pytest.raises(AnomalyError):
            Value(math.inf) - math.inf
    assert math.isnan(seen[0])
    assert math.isnan((Value(math.inf) - math.inf).data)  # outside again: no check
    assert autograd.is_grad_enabled() is True


def test_a_finite_result_passes_and_grads_are_the_usual_ones():
    x = Value(0.5)
    with detect_anomaly():
        y = (x.tanh() * x).exp()
        y.backward()
    expected = math.exp(math.tanh(0.5) * 0.5) * (math.tanh(0.5) + 0.5 * (1 - math.tanh(0.5) ** 2))
    assert x.grad == pytest.approx(expected, rel=1e-15)


def test_a_nan_made_inside_grad_with_create_graph_is_named():
    # a rule whose local derivative is a constant inf: inf x the gradient 0 is NaN, a float, no node
    spike = autograd.Op("spike", lambda x: 0.0, lambda x, out: (math.inf,))
    x = Value(1.0)
    with detect_anomaly():
        y = spike(x) * 0.0
        with pytest.raises(AnomalyError) as raised:
            autograd.grad(y, [x], create_graph=True)
    message = str(raised.value)
    assert "in grad(create_graph=True), the 'spike' node" in message and "passes nan" in message
    assert f"{HERE}:{_line_of('y = spike(x) * 0.0')}" in message
    assert math.isnan(autograd.grad(spike(x) * 0.0, [x], create_graph=True)[0].data)  # outside: NaN, silently


def test_an_infinite_local_derivative_made_inside_grad_with_create_graph_is_named():
    x = Value(0.0)
    with detect_anomaly():
        y = x.sqrt() * 0  # sqrt'(0) = inf, as a node of the new graph
        with pytest.raises(AnomalyError, match="computed inf"):
            autograd.grad(y, [x], create_graph=True)
