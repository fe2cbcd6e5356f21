"""`export_onnx`: a Neuron, Layer or MLP as an ONNX file, which runs anywhere an ONNX runtime does.

ONNX describes a network as a graph of standard operators with the weights stored beside them.
An exported MLP is the layer sequence of nn/layout.py, one operator per step:

    input   "input", shape (batch, nin)                the batch size is left open
    Gemm    input @ weight^T + bias                    for each layer; weight as in the state_dict
    Relu | Tanh | Sigmoid | Max(x, 0.01 x) | softplus  after each hidden layer (none for "linear")
    output  "output", shape (batch, nout)

The weights are named as in `model.state_dict()` (`layers.0.weight`, ...). Dropout is left out:
a file to run is for inference, where Dropout passes its inputs through (as in eval mode).

    import onnxruntime                                   # pip install 'chainrule[onnx]'
    session = onnxruntime.InferenceSession("model.onnx")
    scores = session.run(None, {"input": points})[0]     # points: a float64 NumPy array (batch, nin)

The numbers are float64, in which onnxruntime's CPU kernels run every operator used here, so
the file computes what the model computes up to rounding (~1e-16 relative); `dtype="float32"`
writes a file half the size for runtimes that prefer float32 (within ~1e-6 relative).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import Any

from autograd.files import write_file
from nn._numbers import check_int, show
from nn.exchange._onnx_cnn import CNN_KINDS, cnn_step
from nn.modules.activations import TABLE
from nn.modules.layers import MLP
from nn.modules.layout import standard_layers
from nn.modules.module import Module

INSTALL_ONNX = "pip install 'chainrule[onnx]'"
OPSET = 17  # the ONNX operator set; Gemm and the activations are unchanged since opset 13
IR_VERSION = 8  # the file format version that goes with opset 17 (onnxruntime 1.20 reads up to 10)
_DTYPES = {"float64": ("DOUBLE", "d"), "float32": ("FLOAT", "f")}  # name -> (TensorProto type, struct code)


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:  # also when sys.modules["onnx"] is None (an import blocked on purpose)
        raise ModuleNotFoundError(f"export_onnx needs the onnx package, which is not installed: {INSTALL_ONNX}",
                                  name="onnx") from None
    return onnx


def export_onnx(model: Module, path: str | os.PathLike, *, dtype: str = "float64",
                sequence_length: int | None = None, input_shape: Sequence[int] | None = None) -> None:
    """Write `model` to `path` as an ONNX model, atomically like `nn.save`.

    Every built-in module exports (a Neuron, Layer, MLP, Dropout, LayerNorm, Residual, a
    Sequential of them, an RNN, the convolutions, pools, Flatten and BatchNorm1d). The graph takes
    "input" of shape (batch, nin) and gives "output" of shape (batch, nout) for any batch size (see
    the module docstring). An RNN's graph is its steps written out for sequences of
    `sequence_length` steps: "input" (batch, steps, nin), "output" (batch, steps, nhidden), every
    hidden state. A model starting with a convolution or a pool (nn/modules/conv.py) needs one sample's
    shape, `input_shape=(channels, height, width)` (or (channels, length) for Conv1d): its input is
    then (batch, *input_shape) (see nn/exchange/_onnx_cnn.py). `onnx.checker.check_model` accepts it before
    it is written; a failure to write leaves any old file at `path` as it was.
    """
    onnx = _import_onnx()
    if dtype not in _DTYPES:
        raise ValueError(f"export_onnx: dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    try:
        steps = standard_layers(model)
    except TypeError as error:
        raise TypeError(f"export_onnx: {error}") from None
    helper, elem_type = onnx.helper, getattr(onnx.TensorProto, _DTYPES[dtype][0])
    graph = _Graph(helper, elem_type, dtype, type(model) is MLP)
    sample = None if input_shape is None else _sizes(input_shape, "export_onnx: input_shape")
    if sequence_length is not None:
        sequence_length = check_int(sequence_length, "export_onnx: sequence_length", 1)
    graph.shape = sample
    if [kind for kind, _ in steps] == ["rnn"]:
        nin, nout, sequence = graph.rnn(steps[0][1], onnx.TensorProto.INT64, sequence_length)
    else:
        if sequence_length is not None:
            raise TypeError("export_onnx: sequence_length is for an RNN")
        if graph.steps(steps, "input", "") == "input":  # nothing but Dropout: the identity
            graph.node("Identity", ["input"], "output")
        (nin, nout), sequence = model.widths(), []
        if sample is not None:
            nin, nout = sample, graph.shape  # (a BatchNorm1d on (C, L) gives (C, L), not its width C)
    graph.nodes[-1].output[0] = "output"  # the last node writes the graph's output directly
    if nin is None or nout is None:
        raise TypeError(f"export_onnx: the widths of the {type(model).__name__} are not known; "
                        f"an exported graph needs them")
    weights = graph.weights + [helper.make_tensor(name, elem_type, [], _pack([value], dtype), raw=True)
                               for value, name in graph.constants.items()]
    onnx_graph = helper.make_graph(
        graph.nodes,
        f"chainrule {type(model).__name__}",
        [helper.make_tensor_value_info("input", elem_type, ["batch", *sequence, *_dims(nin)])],
        [helper.make_tensor_value_info("output", elem_type, ["batch", *sequence, *_dims(nout)])],
        initializer=weights,
    )
    proto = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="chainrule",
                              doc_string=repr(model))
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)  # our own graph: a failure here is a bug in this file
    write_file(path, proto.SerializeToString(), "export_onnx")


def _dims(width: int | tuple) -> tuple:
    return width if isinstance(width, tuple) else (width,)


class _Graph:
    """The nodes and weights of an export, step by step (nn/layout.py's steps)."""

    def __init__(self, helper: Any, elem_type: int, dtype: str, mlp: bool) -> None:
        self.helper, self.elem_type, self.dtype, self.mlp = helper, elem_type, dtype, mlp
        self.nodes: list = []
        self.weights: list = []
        self.constants: dict[float, str] = {}  # each scalar constant of the graph, once
        self.linears = 0
        self.shape: tuple[int, ...] | None = None  # one sample's shape where a step needs it (nn/exchange/_onnx_cnn.py)

    def node(self, op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [name], name=f"{op}_{name}", **attributes))
        return name

    def tensor(self, name: str, values: list, shape: list[int]) -> str:
        flat = [v.data for row in values for v in row] if values and isinstance(values[0], list) else \
            [v.data for v in values]
        self.weights.append(self.helper.make_tensor(name, self.elem_type, shape, _pack(flat, self.dtype), raw=True))
        return name

    def ints(self, name: str, values: list, shape: list[int] | None = None) -> str:
        """An int64 tensor (indices, shapes), flat values or rows of them."""
        flat = [v for row in values for v in row] if shape is not None and len(shape) == 2 else list(values)
        self.weights.append(self.helper.make_tensor(name, 7, shape or [len(flat)], flat))  # 7: INT64
        return name

    def steps(self, steps: list, flowing: str, path: str) -> str:
        """The nodes of each step, from tensor `flowing`; returns the name of the last one's output."""
        for k, (kind, step) in enumerate(steps):
            here = f"{path}{k}"
            if kind == "linear":
                # the names of model.state_dict() for an MLP (layers.0.weight), a Layer or Neuron (weight)
                prefix = f"layers.{self.linears}." if self.mlp else (f"{here}." if len(steps) > 2 or path else "")
                self.linears += 1
                inputs = [flowing, self.tensor(f"{prefix}weight", step.weight, [step.nout, step.nin]),
                          self.tensor(f"{prefix}bias", step.bias, [step.nout])]
                flowing = self.node("Gemm", inputs, f"linear_{here}", transB=1)
                self.shape = None if self.shape is None else (step.nout,)
            elif kind == "activation":
                self.nodes += _activation_nodes(self.helper, step, flowing, f"{step}_{here}", self.constants)
                flowing = self.nodes[-1].output[0]
            elif kind in CNN_KINDS:
                flowing = cnn_step(self, kind, step, flowing, here)
            elif kind == "layer_norm":
                flowing = self.layer_norm(step, flowing, here)
            elif kind == "residual":
                flowing = self.node("Add", [flowing, self.steps(step, flowing, f"{here}.")], f"residual_{here}")
            elif kind == "rnn":
                raise TypeError("export_onnx: an RNN exports alone (its input is a sequence, not a row of numbers)")
            # dropout: the identity at inference
        return flowing

    def rnn(self, rnn: Any, int64: int, length: int | None) -> tuple[int, int, list[int]]:
        """An RNN's steps written out: h_t = act(W_ih x_t + b [+ W_hh h_(t-1)]) for t < length, stacked
        along axis 1. Returns (nin, nhidden, [length])."""
        if length is None:
            raise TypeError(f"export_onnx: an RNN needs sequence_length, a positive int (its input is "
                            f"(batch, steps, nin)), got {length!r}")
        nhidden, nin = len(rnn.weight_ih), len(rnn.weight_ih[0])
        w_ih = self.tensor("weight_ih", rnn.weight_ih, [nhidden, nin])
        w_hh = self.tensor("weight_hh", rnn.weight_hh, [nhidden, nhidden])
        bias = self.tensor("bias", rnn.bias, [nhidden])
        self.weights.append(self.helper.make_tensor("axis_1", int64, [1], [1]))
        states, h = [], None
        for t in range(length):
            self.weights.append(self.helper.make_tensor(f"t_{t}", int64, [], [t]))
            x = self.node("Gather", ["input", f"t_{t}"], f"x_{t}", axis=1)
            s = self.node("Gemm", [x, w_ih, bias], f"input_term_{t}", transB=1)
            if h is not None:  # the first step has no W_hh term: h_(-1) is 0, as in chainrule
                s = self.node("Add", [s, self.node("Gemm", [h, w_hh], f"state_term_{t}", transB=1)], f"sum_{t}")
            if rnn.activation != "linear":
                self.nodes += _activation_nodes(self.helper, rnn.activation, s, f"h_{t}", self.constants)
                s = self.nodes[-1].output[0]
            h = s
            states.append(self.node("Unsqueeze", [h, "axis_1"], f"state_{t}"))
        self.node("Concat", states, "states", axis=1)
        return nin, nhidden, [length]

    def layer_norm(self, norm: Any, x: str, here: str) -> str:
        """(x - mean) / sqrt(var + eps) * weight + bias, along each row."""
        mean = self.node("ReduceMean", [x], f"mean_{here}", axes=[-1], keepdims=1)
        centred = self.node("Sub", [x, mean], f"centred_{here}")
        variance = self.node("ReduceMean", [self.node("Mul", [centred, centred], f"squares_{here}")],
                             f"variance_{here}", axes=[-1], keepdims=1)
        eps = self.constants.setdefault(float(norm.eps), f"constant_{len(self.constants)}")
        std = self.node("Sqrt", [self.node("Add", [variance, eps], f"shifted_{here}")], f"std_{here}")
        normed = self.node("Div", [centred, std], f"normed_{here}")
        n = len(norm.weight)
        scaled = self.node("Mul", [normed, self.tensor(f"{here}.weight", norm.weight, [n])], f"scaled_{here}")
        return self.node("Add", [scaled, self.tensor(f"{here}.bias", norm.bias, [n])], f"layer_norm_{here}")


def _activation_nodes(helper: Any, name: str, x: str, out: str, constants: dict[float, str]) -> list:
    """The ONNX nodes of an activation, as nn.modules.activations writes its form, from tensor x to tensor out."""
    row = TABLE.get(name)
    if row is None or not row.onnx:
        known = ", ".join(sorted(n for n, r in TABLE.items() if r.onnx))
        raise ValueError(f"export_onnx: the activation {name!r} has no ONNX operator here "
                         f"(nn.modules.activations knows {known})")
    names: list[str] = []

    def tensor(item: str | int | float) -> str:
        if item == "x":
            return x
        if type(item) is int:
            return names[item]
        return constants.setdefault(float(item), f"constant_{len(constants)}")

    nodes = []
    for k, (op, inputs) in enumerate(row.onnx):
        names.append(out if k == len(row.onnx) - 1 else f"{out}_{k}")
        nodes.append(helper.make_node(op, [tensor(item) for item in inputs], [names[-1]], name=f"{op}_{names[-1]}"))
    return nodes


def _sizes(sizes: object, what: str) -> tuple[int, ...]:
    """A shape given as a list or tuple of positive ints, each checked by check_int."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{what} must be a list of positive ints, got {type(sizes).__name__}: {show(sizes)}")
    return tuple(check_int(n, f"{what}[{i}]", 1) for i, n in enumerate(sizes))


def _pack(numbers: list[float], dtype: str) -> bytes:
    """The numbers as raw little-endian float64 or float32 (rounded to nearest), as ONNX stores them."""
    try:
        return struct.pack(f"<{len(numbers)}{_DTYPES[dtype][1]}", *numbers)
    except OverflowError:
        raise ValueError(f"export_onnx: the model has a weight too large for {dtype}") from None
