"""Task 9: an op of your own, to the second order.

Write forward and derivative in mygrad/own_op.py. chainrule makes them an op, autograd.Op(NAME,
forward, derivative), and gradcheck compares your derivative with finite differences at POINTS:
first the derivative, then (order=2) the derivative of your derivative.
"""

from mygrad import own_op

from autograd import GradcheckError, Op, gradcheck
from autograd.learn.oracle import fail

HINT = ("write the derivative with arithmetic, abs and autograd.functions (F.exp, F.tanh, ...), not "
        "math: chainrule calls your rule on Values to differentiate it again.")


def checked(order):
    op = Op(own_op.NAME, own_op.forward, own_op.derivative)
    for x in own_op.POINTS:
        try:
            gradcheck(lambda v: op(v), [x], order=order)
        except GradcheckError as error:
            what = "derivative" if order == 1 else "second derivative"
            fail(f"the {what} of {own_op.NAME} at x = {x}: your rule and finite differences disagree.\n"
                 f"{error}\nUsual cause: " + ("the derivative rule is not the derivative of forward."
                                              if order == 1 else HINT))
        except TypeError as error:
            fail(f"{own_op.NAME} at x = {x}: {error}.\nUsual cause: {HINT}")


def test_the_derivative_matches_finite_differences():
    checked(order=1)


def test_the_second_derivative_matches_finite_differences():
    checked(order=2)
