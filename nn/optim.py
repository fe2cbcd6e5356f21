"""Optimizers with PyTorch's update rules (torch.optim, default options), and gradient clipping.

Each optimizer keeps the list of parameters it was given and, per parameter, the running
state its rule needs. `step()` reads `.grad` and changes `.data`; it never clears `.grad`
(call `zero_grad()` for that, as in PyTorch). Every parameter is updated on every step, even
one whose gradient is 0: weight decay and momentum still move it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from autograd import Value
from nn._numbers import is_real


def _check(x: object, what: str, low: float = 0.0, high: float = math.inf, high_open: bool = False) -> float:
    if not is_real(x):
        raise TypeError(f"{what} must be a number, got {type(x).__name__}: {x!r:.40}")
    x = float(x)
    if not (low <= x <= high) or (high_open and x == high) or math.isnan(x) or math.isinf(x):
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"{what} must be a finite number in {interval}, got {x!r}")
    return x


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
        self.lr = _check(lr, "lr")

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0 before the next backward pass."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

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
        self.momentum = _check(momentum, "momentum")
        self.weight_decay = _check(weight_decay, "weight_decay")
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
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r:.40}")
        self.betas = (_check(betas[0], "betas[0]", 0.0, 1.0, True), _check(betas[1], "betas[1]", 0.0, 1.0, True))
        self.eps = _check(eps, "eps")
        self.weight_decay = _check(weight_decay, "weight_decay")
        self.t = 0
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        (b1, b2), eps, wd = self.betas, self.eps, self.weight_decay
        self.t += 1
        step_size = self.lr / (1.0 - b1**self.t)
        correction2 = math.sqrt(1.0 - b2**self.t)
        m, v = self._m, self._v
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            m[i] = m[i] + (g - m[i]) * (1.0 - b1)  # = b1 m + (1 - b1) g, as torch's lerp computes it
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= step_size * (m[i] / (math.sqrt(v[i]) / correction2 + eps))


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
        self.alpha = _check(alpha, "alpha", 0.0, 1.0)
        self.eps = _check(eps, "eps")
        self.momentum = _check(momentum, "momentum")
        self.weight_decay = _check(weight_decay, "weight_decay")
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


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale all gradients together so that their global norm is at most max_norm.

    norm = sqrt(sum of grad^2 over every parameter); each grad is multiplied by
    min(1, max_norm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_ does. The direction of
    the step is kept; only its length is limited. Returns the norm before clipping.
    """
    params = _param_list(params)
    max_norm = _check(max_norm, "max_norm")
    norm = math.hypot(*(p.grad for p in params))  # hypot cannot overflow on the squares
    factor = max_norm / (norm + 1e-6)
    if factor < 1.0:
        for p in params:
            p.grad *= factor
    return norm
