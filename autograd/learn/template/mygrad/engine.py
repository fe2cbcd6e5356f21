"""Your engine: a Value that remembers how it was computed, and backpropagation through it.

Write your code between the lines `# >>> ...` and `# <<< ...`, one task at a time: README.md says
what each task asks, and `chainrule learn check` (or `pytest`) tells you how far you are.

A Value made by an operation is a node of a graph:

    .data          the number
    .grad          d(root)/d(self): backward() adds to it
    ._prev         the Values it was made from, in order (a tuple; () for a leaf)
    ._op           the operation's name: '+', '*', 'tanh', 'exp', '**2', ... ('' for a leaf)
    ._local_grads  d(self)/d(input), one number per input in ._prev, worked out when the node is made
"""

import math  # noqa: F401  (task 5 needs it)


class Value:
    def __init__(self, data, _prev=(), _op="", _local_grads=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self._local_grads = tuple(_local_grads)

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    # >>> add_mul: tasks 1 and 2
    def __add__(self, other):
        # Task 1: a new Value: data self.data + other.data, _prev (self, other), _op "+".
        #         A plain number `other` becomes a Value first: Value(other).
        # Task 2: give the node its local derivatives: (d(a + b)/da, d(a + b)/db) as _local_grads.
        raise NotImplementedError("task 1: write Value.__add__ in mygrad/engine.py")

    def __mul__(self, other):
        # Task 1: as __add__, with _op "*".   Task 2: (d(a * b)/da, d(a * b)/db).
        raise NotImplementedError("task 1: write Value.__mul__ in mygrad/engine.py")
    # <<< add_mul

    # Given: the other operators, made of + and * (and ** of task 5).
    def __radd__(self, other):  # 2 + x is x + 2
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):  # 2 - x
        return (-self) + other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):  # 2 / x
        return self**-1 * other

    # >>> topological_order: task 3
    def topological_order(self):
        """A list of every node of the graph behind self, self included: each node once, and
        after all of its inputs (so self comes last)."""
        raise NotImplementedError("task 3: write Value.topological_order in mygrad/engine.py")
    # <<< topological_order

    # >>> backward: task 4
    def backward(self):
        """Add d(self)/d(node) to node.grad for every node behind self (self gets 1.0).

        Call it twice and every .grad is twice as large: backward adds, it never overwrites."""
        raise NotImplementedError("task 4: write Value.backward in mygrad/engine.py")
    # <<< backward

    # >>> tanh_exp_pow: task 5
    def tanh(self):
        """tanh(self), _op 'tanh'."""
        raise NotImplementedError("task 5: write Value.tanh in mygrad/engine.py")

    def exp(self):
        """e ** self, _op 'exp'."""
        raise NotImplementedError("task 5: write Value.exp in mygrad/engine.py")

    def __pow__(self, n):
        """self ** n for a plain number n (an int or a float, not a Value); _op f'**{n}'."""
        raise NotImplementedError("task 5: write Value.__pow__ in mygrad/engine.py")
    # <<< tanh_exp_pow

