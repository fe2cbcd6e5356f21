"""tanh for micrograd 0.1.0, which ships only + * ** and relu.

Written for these benchmarks in micrograd's own style (not taken from anywhere): the forward
value, then a closure that adds local derivative * out.grad into the input, then `out`.
"""

from __future__ import annotations

import math


def add_tanh_to_micrograd() -> None:
    """Give micrograd's Value a `tanh()` method (d/dx tanh x = 1 - tanh(x)^2), if it has none."""
    from micrograd.engine import Value

    if hasattr(Value, "tanh"):
        return

    def tanh(self: Value) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    Value.tanh = tanh
