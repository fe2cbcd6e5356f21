"""fit's training step without compile: build the graph of a batch, then backward.

`fit(compile=True)` takes this same step for the batches it does not replay (a recording's first
step with Dropout, an epoch's short last batch), so there is one eager step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd import Value
from nn._numbers import to_float
from nn.modules.module import Module
from nn.training.optim import Optimizer


def checked_loss(loss: object) -> Value:
    """loss_fn's result, which backward needs to be a Value."""
    if not isinstance(loss, Value):
        raise TypeError(f"fit: loss_fn must return a Value, got {type(loss).__name__}")
    return loss


def score(output: object, what: str = "output") -> float:
    """An output's number: a Value's .data, or a number checked as one."""
    return output.data if isinstance(output, Value) else to_float(output, what)


class EagerFit:
    """The steps of one `fit` run without compile."""

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer, params: list[Value]) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer

    def train_step(self, xs: Sequence, targets: Sequence,
                   record: Callable[[], None] | None = None) -> tuple[float, list]:
        """Forward, loss, zero_grad, backward (`record()`, if given, between the loss and zero_grad);
        returns the loss and the outputs as numbers."""
        outputs = self.model.forward_batch(xs)
        loss = checked_loss(self.loss_fn(outputs, targets))
        if record is not None:
            record()
        self.optimizer.zero_grad()  # (after the recording, whatever it did to .grad)
        loss.backward()
        return loss.data, [_detach(o) for o in outputs]


def _detach(output: object) -> object:
    """The numbers of an output, so the epoch's accuracy does not keep every graph alive."""
    if isinstance(output, (list, tuple)):
        return [score(o) for o in output]
    return score(output)
