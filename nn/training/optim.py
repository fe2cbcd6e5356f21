"""Optimizers with PyTorch's update rules (torch.optim, default options), and gradient clipping.

Each optimizer keeps the list of parameters it was given and, per parameter, the running
state its rule needs. `step()` reads `.grad` and changes `.data`; it never clears `.grad`
(call `zero_grad()` for that, as in PyTorch). Every parameter is updated on every step, even
one whose gradient is 0: weight decay and momentum still move it.

Every option is checked when the optimizer is made; a bad one is a ValueError naming it and
its value (a TypeError for a non-number, a bool included). The ranges are PyTorch's, except
where PyTorch accepts a value that cannot train: NaN, infinity and ints too large for a float
are refused everywhere, `eps` must be > 0 (PyTorch allows 0, where a zero gradient gives
0 / 0 = NaN weights), and RMSprop's `alpha` must be <= 1 (above 1 the average of g^2 turns
negative).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

from autograd import Value
from nn._numbers import check_bool, check_real, show


def _non_negative(x: object, what: str) -> float:
    return check_real(x, what, 0.0)


def _positive(x: object, what: str) -> float:
    # eps divides: at eps = 0 a zero gradient is 0 / 0 (PyTorch, which allows it, gives NaN weights)
    return check_real(x, what, 0.0, low_open=True)


def _fraction(x: object, what: str, closed: bool = False) -> float:
    return check_real(x, what, 0.0, 1.0, high_open=not closed)


def _param_list(params: Iterable[Value]) -> list[Value]:
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(f"params must be an iterable of Values (e.g. model.parameters()), got {type(params).__name__}")
    out = list(params)
    if not out:
        raise ValueError("params is empty: the optimizer has nothing to update")
    seen: set[int] = set()
    for i, p in enumerate(out):
        if not isinstance(p, Value):
            raise TypeError(f"params[{i}] must be a Value, got {type(p).__name__}")
        if id(p) in seen:
            raise ValueError(f"params[{i}] appears twice; it would be updated twice per step")
        seen.add(id(p))
    return out


class Optimizer:
    """The shared part: the parameter list, the learning rate, and zero_grad()."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = _param_list(params)
        self.lr = _non_negative(lr, "lr")

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0 before the next backward pass."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def _snapshot(self) -> dict:
        """A copy of everything the optimizer holds: options (lr, ...) and running state (momentum
        buffers, moving averages, step count). The parameters themselves are referred to, not copied."""
        return copy.deepcopy(vars(self), self._same_parameters())

    def _restore(self, snapshot: dict) -> None:
        """Put the optimizer back to `snapshot` (from _snapshot()), bit for bit; the snapshot stays usable."""
        state = copy.deepcopy(snapshot, self._same_parameters())
        vars(self).clear()  # an attribute made after the snapshot (a buffer made on the first step) goes too
        vars(self).update(state)

    def _same_parameters(self) -> dict[int, object]:
        # deepcopy's memo: each parameter (and the list of them) "copies" to itself
        return {id(p): p for p in [*self.params, self.params]}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if type(v) in (float, tuple))
        return f"{type(self).__name__}({len(self.params)} parameters, {options})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay (torch.optim.SGD).

        g = grad + weight_decay * w
        b = g on the first step, then b = momentum * b + g     (only when momentum > 0)
        w = w - lr * b   (or w - lr * g without momentum)
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _non_negative(momentum, "momentum")
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self._buffers: list[float] | None = None  # the velocity b, made on the first step

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if mu == 0.0:
            for p in self.params:
                p.data -= lr * (p.grad + wd * p.data if wd else p.grad)
            return
        first = self._buffers is None
        if first:
            self._buffers = [0.0] * len(self.params)
        bufs = self._buffers
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            bufs[i] = g if first else mu * bufs[i] + g
            p.data -= lr * bufs[i]


class Adam(Optimizer):
    """Adam (torch.optim.Adam): moving averages of the gradient and of its square, bias-corrected.

        g = grad + weight_decay * w
        m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g^2
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)      (t = step count)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {show(betas)}")
        self.betas = (_fraction(betas[0], "betas[0]"), _fraction(betas[1], "betas[1]"))
        self.eps = _positive(eps, "eps")
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self.t = 0
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        (b1, b2), eps, wd = self.betas, self.eps, self.weight_decay
        self.t += 1
        step_size = self.lr / (1.0 - b1**self.t)
        correction2 = math.sqrt(1.0 - b2**self.t)
        m, v, sqrt = self._m, self._v, math.sqrt
        new1, new2 = 1.0 - b1, 1.0 - b2  # the new gradient's share of each average, computed once, not per weight
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            m_i = m[i] = m[i] + (g - m[i]) * new1  # = b1 m + (1 - b1) g, as torch's lerp computes it
            v_i = v[i] = b2 * v[i] + new2 * g * g
            p.data -= step_size * (m_i / (sqrt(v_i) / correction2 + eps))


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop): divide the gradient by a moving root-mean-square of itself.

        g = grad + weight_decay * w
        s = alpha * s + (1 - alpha) * g^2
        b = momentum * b + g / (sqrt(s) + eps);  w = w - lr * b     (momentum > 0)
        w = w - lr * g / (sqrt(s) + eps)                            (momentum == 0)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        # alpha > 1 (PyTorch allows it) makes the average of g^2 negative: its sqrt has no value
        self.alpha = _fraction(alpha, "alpha", closed=True)
        self.eps = _positive(eps, "eps")
        self.momentum = _non_negative(momentum, "momentum")
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self._s = [0.0] * len(self.params)
        self._b = [0.0] * len(self.params)

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        lr, a, eps, mu, wd = self.lr, self.alpha, self.eps, self.momentum, self.weight_decay
        s, b = self._s, self._b
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            s[i] = a * s[i] + (1.0 - a) * g * g
            avg = math.sqrt(s[i]) + eps
            if mu:
                b[i] = mu * b[i] + g / avg
                p.data -= lr * b[i]
            else:
                p.data -= lr * (g / avg)


def clip_grad_norm(params: Iterable[Value], max_norm: float, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their global norm is at most max_norm.

    norm = sqrt(sum of grad^2 over every parameter); each grad is multiplied by
    min(1, max_norm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_ does. The direction of
    the step is kept; only its length is limited. Returns the norm before clipping.

    A non-finite norm follows PyTorch: an infinite gradient makes the norm inf and the factor 0
    (finite gradients become 0, the infinite ones NaN); a NaN gradient makes the norm and every
    gradient NaN. With error_if_nonfinite=True such a norm raises RuntimeError instead, and no
    gradient changes. The norm itself never overflows (PyTorch's does, past about 1e154 in float64).
    """
    params = _param_list(params)
    max_norm = _non_negative(max_norm, "max_norm")
    check_bool(error_if_nonfinite, "clip_grad_norm: error_if_nonfinite")
    grads = [p.grad for p in params]
    norm = math.hypot(*grads)  # hypot cannot overflow on the squares
    if norm == math.inf and any(math.isnan(g) for g in grads):
        norm = math.nan  # IEEE hypot lets an inf win over a NaN; a sum of squares (PyTorch) gives NaN
    if error_if_nonfinite and not math.isfinite(norm):
        raise RuntimeError(
            f"clip_grad_norm: the gradients' norm is {norm}, so they cannot be clipped; "
            "pass error_if_nonfinite=False to scale them by it anyway"
        )
    factor = max_norm / (norm + 1e-6)
    if not factor >= 1.0:  # also when factor is NaN: PyTorch multiplies by the NaN
        for p in params:
            p.grad *= factor
    return norm
