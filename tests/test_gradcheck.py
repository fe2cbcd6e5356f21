"""`gradcheck`, the tool for testing an op you wrote: backward() against finite differences.

It passes a correct function, and for a wrong one raises GradcheckError (an AssertionError, so
a failing check reads like a failing test) that names the input and both numbers.
"""

from __future__ import annotations

import math
import re

import pytest
from _reference import finite_differences

import autograd
from autograd import GradcheckError, Value, gradcheck, is_grad_enabled

pytestmark = pytest.mark.gradcheck


def _custom_node(x: Value, data: float, op: str, local_grad: float) -> Value:
    """A hand-made node: how a learner adds an op the engine does not have."""
    out = Value(data)
    out.op, out.inputs, out.local_grads = op, (x,), (local_grad,)
    return out


def softplus(x: Value) -> Value:
    """log(1 + e^x) as one node (the README's example).   d/dx = sigmoid(x) = 1 - e^-softplus(x)"""
    s = max(x.data, 0.0) + math.log1p(math.exp(-abs(x.data)))  # log(1 + e^x) without overflow
    return _custom_node(x, s, "softplus", -math.expm1(-s))  # 1 - e^-s, accurate also for tiny s


def square_with_wrong_derivative(x: Value) -> Value:
    """x^2, but with the classic slip d/dx = x instead of 2x."""
    return _custom_node(x, x.data**2, "square", x.data)


def _numbers_in(message: str) -> list[float]:
    return [float(s) for s in re.findall(r"-?\d+\.\d*(?:e[-+]?\d+)?", message)]


# ---- correct functions pass -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "point"),
    [
        (lambda x: x * x * x - 2 * x, [1.3]),
        (lambda x, y: (x * y).tanh() + x / y, [0.4, -1.7]),
        (lambda a, b, c: autograd.dot([a, b], [c, a], bias=b) ** 2, [0.5, -1.0, 2.0]),
        (lambda x: x.sigmoid().log() + x.sqrt() * x.cos(), [2.2]),
        (lambda x, y: x**y + 2**x - abs(y).relu(), [1.5, 0.7]),
        (softplus, [0.3]),
        (softplus, [-30.0]),
        (softplus, [40.0]),
        (lambda x: softplus(x * x) * x.sin(), [-1.1]),
    ],
    ids=["cubic", "tanh-div", "dot-pow", "sigmoid-log-sqrt-cos", "powers-abs-relu"]
    + ["softplus", "softplus-negative", "softplus-large", "softplus-inside"],
)
def test_gradcheck_passes_correct_functions(f, point):
    assert gradcheck(f, point) is True


def test_softplus_written_with_existing_ops_passes():
    assert gradcheck(lambda x: (1 + x.exp()).log(), [0.3]) is True


def test_gradcheck_accepts_ints_and_tuples():
    assert gradcheck(lambda x, y: x * y, (2, 3)) is True


def test_gradcheck_leaves_recording_on():
    gradcheck(lambda x: x * x, [1.0])
    assert is_grad_enabled()


# ---- wrong gradients are caught ------------------------------------------------------------------


def test_gradcheck_catches_a_wrong_custom_node():
    with pytest.raises(GradcheckError):
        gradcheck(square_with_wrong_derivative, [1.5])


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)
    with pytest.raises(AssertionError):
        gradcheck(square_with_wrong_derivative, [1.5])


def test_gradcheck_error_names_the_input_and_both_numbers():
    def f(a, b, c):
        return a * c + square_with_wrong_derivative(b) + c

    point = [0.5, 1.5, -2.0]
    with pytest.raises(GradcheckError) as raised:
        gradcheck(f, point)
    message = str(raised.value)
    assert "input 1" in message
    analytic = 1.5  # what the wrong node claims: b instead of 2b
    numeric = finite_differences(lambda a, b, c: a * c + b * b + c, point)[1]
    numbers = _numbers_in(message)
    assert analytic in numbers
    assert any(n == pytest.approx(numeric, rel=1e-6) and n != analytic for n in numbers)


def test_gradcheck_reports_the_first_wrong_input():
    def f(a, b, c):
        return a + square_with_wrong_derivative(b) * square_with_wrong_derivative(c)

    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(f, [1.0, 2.0, 3.0])


def test_gradcheck_catches_a_wrong_rule_inside_the_engine(monkeypatch):
    # break tanh's local derivative the way a typo would: 1 + tanh^2 instead of 1 - tanh^2
    monkeypatch.setattr(autograd.OPS["tanh"], "derivative", lambda x, out: (1 + out * out,))
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x: x.tanh(), [0.5])


# ---- the tolerance rule |analytic - numeric| <= atol + rtol * |numeric| --------------------------


def _off_by(relative_error: float):
    def f(x: Value) -> Value:
        return _custom_node(x, x.data**2, "square", 2 * x.data * (1 + relative_error))

    return f


def test_a_small_relative_error_fails_the_default_tolerance_and_passes_a_looser_one():
    f = _off_by(1e-3)
    with pytest.raises(GradcheckError):
        gradcheck(f, [2.0])
    assert gradcheck(f, [2.0], rtol=1e-2) is True
    assert gradcheck(f, [2.0], atol=1e-2) is True


def test_rtol_is_relative_to_the_size_of_the_numeric_gradient():
    # at x = 100 the gradient is 200, so 0.1% off is 0.2: inside rtol=2e-3 (0.4), outside rtol=5e-4 (0.1)
    f = _off_by(1e-3)
    assert gradcheck(f, [100.0], rtol=2e-3) is True
    with pytest.raises(GradcheckError):
        gradcheck(f, [100.0], rtol=5e-4)


def test_an_error_inside_the_default_tolerance_passes():
    assert gradcheck(_off_by(1e-6), [2.0]) is True


# ---- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(inputs=1.5), TypeError, "float"),
        (dict(inputs="1.5"), TypeError, "str"),
        (dict(inputs={1.5}), TypeError, "set"),
        (dict(inputs=[True]), TypeError, r"inputs\[0\].*bool"),
        (dict(inputs=[1.0, "2"]), TypeError, r"inputs\[1\].*str"),
        (dict(inputs=[Value(1.0)]), TypeError, r"inputs\[0\].*Value"),
        (dict(eps=0.0), ValueError, "eps"),
        (dict(eps=-1e-6), ValueError, "eps"),
        (dict(eps=math.nan), ValueError, "eps"),
        (dict(eps="small"), TypeError, "eps"),
        (dict(atol=-1.0), ValueError, "atol"),
        (dict(rtol=math.nan), ValueError, "rtol"),
        (dict(atol="0"), TypeError, "atol"),
        (dict(rtol=None), TypeError, "rtol"),
        (dict(eps=math.inf), ValueError, "eps must be a positive finite step, got inf"),
        (dict(eps=1e-30, inputs=[1.0]), ValueError, r"eps=1e-30 is too small a step for inputs\[0\] = 1.0"),
        (dict(atol=math.inf), ValueError, "atol and rtol must be non-negative and finite"),
        (dict(rtol=math.inf), ValueError, "atol and rtol must be non-negative and finite"),
        (dict(inputs=[math.inf]), ValueError, r"inputs\[0\] is inf; finite differences need finite inputs"),
        (dict(inputs=[1.0, math.nan]), ValueError, r"inputs\[1\] is nan"),
        (dict(order=3), ValueError, "order must be 1 or 2"),
        (dict(order=True), ValueError, "order must be 1 or 2"),
        (dict(f=3), TypeError, "int"),
        (dict(f=lambda x: 2.0), TypeError, "f must return a Value, got float"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, words):
    arguments = dict(f=lambda x: x * x, inputs=[1.0]) | kwargs
    with pytest.raises(error, match=words):
        gradcheck(**arguments)
