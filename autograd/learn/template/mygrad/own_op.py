"""Task 9: an op of your own, for chainrule, checked to the second order.

Pick a smooth function of one number (softsign x / (1 + |x|), the sigmoid, x * tanh(x), ...), write
its value and its derivative, and chainrule turns them into an op: `autograd.Op(NAME, forward,
derivative)`. The tests check your derivative against finite differences, and then the derivative
of your derivative: chainrule differentiates your rule itself by calling it on Values, so write it
with arithmetic and `autograd.functions` (F.exp(x), F.tanh(x)), not `math`.
"""

from autograd import functions as F  # noqa: F401  (your derivative rule may need it)

# >>> own_op: task 9
NAME = "my_op"
POINTS = [-1.5, -0.3, 0.4, 2.0]  # where the tests check it: inside your function's domain


def forward(x):
    """The op's value at the number x."""
    raise NotImplementedError("task 9: write forward in mygrad/own_op.py")


def derivative(x, out):
    """A tuple with d(out)/dx (out is forward(x), often handy); runs on numbers and on Values."""
    raise NotImplementedError("task 9: write derivative in mygrad/own_op.py")
# <<< own_op

