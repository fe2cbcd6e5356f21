"""`Sequential` and `Residual`: modules made of modules, to build deep plain and residual networks.

    Sequential(a, b, c)(x) = c(b(a(x)))
    Residual(f)(x)         = x + f(x)

A residual connection adds a block's input to its output. Going back, the gradient reaching
x is d(loss)/d(out) * (1 + f'(x)): the 1 comes from the identity path, so however small f'(x)
gets in a deep stack, the gradient still reaches the first layers undiminished. Deep networks
(ResNets, transformers) are stacks of such blocks.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Sequence
from typing import Any

from autograd import Value, scope
from nn._numbers import is_real
from nn.modules.layers import _as_values
from nn.modules.layout import Step, standard_layers
from nn.modules.module import Module, one_path


def _check_module(module: object, what: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{what} must be an nn Module (a Layer, LayerNorm, Residual, ...), got {type(module).__name__}")
    return module


class Sequential(Module):
    """The modules applied one after the other; `seq(x)` is the output of the last.

    `seq[i]`, `len(seq)` and `for m in seq` reach the modules (kept in `seq.layers`). The
    parameters are named by position as in `torch.nn.Sequential` (`0.weight`, `0.bias`,
    `2.weight`, ...), so a state dict goes from one to the other with strict=True. Where two
    neighbours' widths are known (each module's `widths()`) and do not fit, making the
    Sequential is a ValueError.
    """

    def __init__(self, *modules: Module) -> None:
        if not modules:
            raise ValueError("Sequential needs at least one module")
        for i, m in enumerate(modules):
            _check_module(m, f"Sequential: module {i}")
        nin = width = None  # the width flowing between the modules, where known
        first = True
        for i, m in enumerate(modules):
            if m.keeps_width:  # Dropout: the width after it is the width before
                continue
            m_in, m_out = m.widths()
            if width is not None and m_in is not None and m_in != width:
                raise ValueError(f"Sequential: module {i}, {m!r}, takes {m_in} inputs, "
                                 f"but the module before it gives {width} outputs")
            if first:  # the first module (but Dropout) says the Sequential's input width, or that it is unknown
                nin, first = m_in, False
            width = m_out
        self.nin, self.nout = nin, width
        self.layers = list(modules)
        self.scope_name = "Sequential"

    def _named_members(self) -> Iterator[tuple[str, Module | Value | list[Value] | list[list[Value]]]]:
        # module i is member "i", not "layers.i": PyTorch's names, so state dicts travel both ways
        for name, member in super()._named_members():
            yield name.removeprefix("layers.") if isinstance(member, Module) else name, member

    @one_path
    def forward(self, x: object) -> object:
        for module in self.layers:
            x = module(x)
        return x

    def forward_batch(self, xs: Sequence[object]) -> list[object]:
        """The batch through each module's forward_batch in turn (a BatchNorm1d inside gets the whole batch)."""
        if not any(type(m).forward_batch is not Module.forward_batch for m in self.modules()):
            return [self(x) for x in xs]  # nothing needs the batch: per sample, replayed under no_grad
        outputs = list(xs)
        with scope(self.scope_name):
            for module in self.layers:
                outputs = module.forward_batch(outputs)
        self._after_batch(xs, outputs)
        return outputs

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def widths(self) -> tuple[int | None, int | None]:
        return self.nin, self.nout

    def _config(self) -> dict[str, Any]:
        return {}

    def _parts(self) -> list[Module]:
        return list(self.layers)

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        return sum(counts)

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> Sequential:
        return cls(*parts)

    def standard_layers(self) -> list[Step]:
        """The steps of its modules, one after the other."""
        return [step for module in self.layers for step in standard_layers(module)]

    @reprlib.recursive_repr("Sequential(...)")  # a Sequential holding itself
    def __repr__(self) -> str:
        inside = "".join(f"\n  {m!r}," for m in self.layers)
        return f"Sequential({inside}\n)"


class Residual(Module):
    """x + module(x), element by element; the module must give as many outputs as it takes inputs.

    A module whose widths are known when it is made (a Layer(4, 3)) is checked then; any other
    when it is called. Either way a mismatch is a ValueError naming both widths.
    """

    def __init__(self, module: Module) -> None:
        self.module = _check_module(module, "Residual: module")
        nin, nout = module.widths()
        if nin is not None and nout is not None and nin != nout:
            raise ValueError(f"Residual: x + module(x) needs as many outputs as inputs, but {module!r} "
                             f"takes {nin} inputs and gives {nout} outputs")
        self.width = nin if nin is not None else nout
        self.scope_name = "Residual"

    @one_path
    def forward(self, x: Sequence[Value | float] | Value | float) -> list[Value] | Value:
        """The sum x + module(x): a list of Values, or one Value when the module gives one."""
        if isinstance(x, Value) or is_real(x):
            xs = _as_values(x, 1, "Residual")
        elif isinstance(x, Sequence) and not isinstance(x, (str, bytes)):
            xs = _as_values(x, len(x), "Residual")
        else:
            raise TypeError(f"Residual input must be a list of numbers or Values, got {type(x).__name__}")
        if self.width is not None and len(xs) != self.width:
            raise ValueError(f"Residual: {self.module!r} takes {self.width} inputs, got {len(xs)}")
        out = self.module(xs)  # the same Values go through the module and around it
        outs = [out] if isinstance(out, Value) else list(out)
        if len(outs) != len(xs):
            raise ValueError(f"Residual: x + module(x) needs as many outputs as inputs, but {self.module!r} "
                             f"took {len(xs)} inputs and gave {len(outs)} outputs")
        total = [a + b for a, b in zip(xs, outs)]
        return total[0] if isinstance(out, Value) else total

    def forward_batch(self, xs: Sequence[object]) -> list[object]:
        """x + module(x) for each sample, the module given the whole batch when it needs it (a BatchNorm1d)."""
        if not any(type(m).forward_batch is not Module.forward_batch for m in self.module.modules()):
            return [self(x) for x in xs]
        with scope(self.scope_name):
            inputs = [_as_values(x, len(x), "Residual") for x in xs]
            outs = self.module.forward_batch(inputs)
            if any(len(o) != len(x) for o, x in zip(outs, inputs)):
                raise ValueError(f"Residual: x + module(x) needs as many outputs as inputs, but {self.module!r} "
                                 f"changed the width")
            total = [[a + b for a, b in zip(x, o)] for x, o in zip(inputs, outs)]
        self._after_batch(xs, total)
        return total

    def widths(self) -> tuple[int | None, int | None]:
        return self.width, self.width

    def _config(self) -> dict[str, Any]:
        return {}

    def _parts(self) -> list[Module]:
        return [self.module]

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        if len(counts) != 1:
            raise ValueError(f"a Residual holds one module, the file gives {len(counts)}")
        return counts[0]

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> Residual:
        return cls(parts[0])

    def standard_layers(self) -> list[Step]:
        return [("residual", standard_layers(self.module))]

    @reprlib.recursive_repr("Residual(...)")
    def __repr__(self) -> str:
        return f"Residual({self.module!r})"
