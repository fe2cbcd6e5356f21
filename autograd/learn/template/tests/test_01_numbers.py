"""Task 1: numbers through + and *.

Write Value.__add__ and Value.__mul__ in mygrad/engine.py. Each returns a NEW Value holding the
result, which remembers its inputs (`_prev`, in order) and its op (`_op`). A plain number becomes
a Value first, so that `x + 1` and `2 * x` work too.
"""

from mygrad.engine import Value

from autograd.learn.oracle import check_values, expect


def test_add_and_mul_give_the_same_numbers_as_chainrule():
    check_values(Value, lambda a, b: a + b, a=2.0, b=-3.0)
    check_values(Value, lambda a, b: a * b, a=2.0, b=-3.0)
    check_values(Value, lambda a, b, c: a * b + c, a=2.0, b=-3.0, c=10.0)


def test_plain_numbers_mix_with_values():
    check_values(Value, lambda x: x * 2 + 1, x=1.5)
    check_values(Value, lambda x: 3 * x + 2 * x, x=1.5)
    check_values(Value, lambda x, y: x - y, x=1.5, y=4.0)


def test_a_node_remembers_its_inputs_and_its_op():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    expect(tuple(c._prev) == (a, b), "(a * b)._prev", "(a, b), the inputs in order", c._prev,
           "the new Value is made without its inputs: Value(data, (self, other), '*').")
    expect(c._op == "*", "(a * b)._op", "*", c._op, "the new Value is made without the op's name.")
    expect((a + b)._op == "+", "(a + b)._op", "+", (a + b)._op, "the new Value is made without the op's name.")
    expect(a._prev == () and a._op == "", "a leaf's _prev and _op", ((), ""), (a._prev, a._op),
           "a Value made from a number alone has no inputs and no op.")


def test_an_operation_leaves_its_inputs_alone():
    a, b = Value(2.0), Value(-3.0)
    _ = a + b, a * b
    expect((a.data, b.data) == (2.0, -3.0), "a and b after a + b and a * b", (2.0, -3.0), (a.data, b.data),
           "the operation changes self.data instead of making a new Value.")
