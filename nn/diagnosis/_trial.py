"""`trial`: train a model for a look (a learning-rate test, a sanity check), then put everything back.

Everything training changes is put back bit for bit when the block ends, also after an error or
Ctrl-C: every parameter's `.data` and `.grad`, every module's train/eval mode, every module's
random generator (so Dropout draws the same masks afterwards as it would have), and the
optimizer's options and running state.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

from nn.modules.module import Module
from nn.training.optim import Optimizer


@contextmanager
def trial(model: Module, optimizer: Optimizer | None = None) -> Iterator[None]:
    """A block after which `model` (and `optimizer`) are exactly as before it."""
    params = model.parameters()
    if optimizer is not None:
        known = {id(p) for p in params}
        params += [p for p in optimizer.params if id(p) not in known]
    numbers = [(p, p.data, p.grad) for p in params]
    modes = [(m, m.training) for m in model.modules()]
    generators = [(g, g.getstate()) for m in model.modules() for g in vars(m).values() if isinstance(g, random.Random)]
    state = optimizer._snapshot() if optimizer is not None else None
    try:
        yield
    finally:
        for p, data, grad in numbers:
            p.data, p.grad = data, grad
        for m, training in modes:
            m.training = training
        for g, saved in generators:
            g.setstate(saved)
        if optimizer is not None:
            optimizer._restore(state)
