"""Task 3: topological order.

Write Value.topological_order(): every node of the graph behind a Value, each exactly once, and
each after all of its inputs. Backward will walk this list from the end, so that a node is reached
only after every node that uses it.
"""

from mygrad.engine import Value

from autograd.learn.oracle import check_topological_order, expect


def test_a_chain():
    check_topological_order(Value, lambda x: (x * 2 + 1) * 3, x=1.5)


def test_a_diamond_lists_the_shared_input_once():
    check_topological_order(Value, lambda a: (a * 2) * (a + 1), a=3.0)  # a feeds both a*2 and a+1


def test_a_value_used_twice_by_one_node():
    check_topological_order(Value, lambda x: x * x + x, x=3.0)


def test_a_value_used_at_two_depths():
    check_topological_order(Value, lambda x: (x * 2 + 1) * x, x=3.0)  # x is used near the output and far from it


def test_the_output_comes_last():
    x = Value(2.0)
    y = x * x + 1
    order = y.topological_order()
    expect(order[-1] is y, "the last node of y.topological_order()", "y itself", order[-1],
           "append a node after its inputs, not before them.")
