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
from typing import Any

from autograd.files import write_file
from nn.activations import TABLE
from nn.layers import MLP
from nn.layout import Linear, standard_layers
from nn.module import Module

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


def export_onnx(model: Module, path: str | os.PathLike, *, dtype: str = "float64") -> None:
    """Write `model` (a Neuron, Layer or MLP) to `path` as an ONNX model, atomically like `nn.save`.

    The graph takes "input" of shape (batch, nin) and gives "output" of shape (batch, nout) for
    any batch size (see the module docstring). `onnx.checker.check_model` accepts it before it is
    written; a failure to write leaves any old file at `path` as it was.
    """
    onnx = _import_onnx()
    if dtype not in _DTYPES:
        raise ValueError(f"export_onnx: dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    try:
        steps = standard_layers(model)
    except TypeError:
        raise TypeError(f"export_onnx: can export a Neuron, Layer or MLP, got {type(model).__name__}") from None
    helper, elem_type = onnx.helper, getattr(onnx.TensorProto, _DTYPES[dtype][0])

    linears = [step for kind, step in steps if kind == "linear"]
    weights = [t for i, lin in enumerate(linears) for t in _tensors(helper, lin, _prefix(model, i), elem_type, dtype)]
    constants: dict[float, str] = {}  # each scalar constant of the activations' ONNX forms, once
    nodes = []
    flowing, i = "input", -1  # the name of the tensor flowing on; the index of the current Linear
    for kind, step in steps:
        if kind == "linear":
            i += 1
            prefix = _prefix(model, i)
            nodes.append(helper.make_node("Gemm", [flowing, f"{prefix}weight", f"{prefix}bias"], [f"linear_{i}"],
                                          name=f"Gemm_{i}", transB=1))
        elif kind == "activation":
            nodes += _activation_nodes(helper, step, flowing, f"{step}_{i}", constants)
        else:
            continue  # Dropout: the identity at inference
        flowing = nodes[-1].output[0]
    nodes[-1].output[0] = "output"  # the last node writes the graph's output directly
    weights += [helper.make_tensor(name, elem_type, [], _pack([value], dtype), raw=True)
                for value, name in constants.items()]

    graph = helper.make_graph(
        nodes,
        f"chainrule {type(model).__name__}",
        [helper.make_tensor_value_info("input", elem_type, ["batch", linears[0].nin])],
        [helper.make_tensor_value_info("output", elem_type, ["batch", linears[-1].nout])],
        initializer=weights,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="chainrule",
                              doc_string=repr(model))
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)  # our own graph: a failure here is a bug in this file
    write_file(path, proto.SerializeToString(), "export_onnx")


def _activation_nodes(helper: Any, name: str, x: str, out: str, constants: dict[float, str]) -> list:
    """The ONNX nodes of an activation, as nn.activations writes its form, from tensor x to tensor out."""
    row = TABLE.get(name)
    if row is None or not row.onnx:
        known = ", ".join(sorted(n for n, r in TABLE.items() if r.onnx))
        raise ValueError(f"export_onnx: the activation {name!r} has no ONNX operator here "
                         f"(nn.activations knows {known})")
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


def _prefix(model: Module, i: int) -> str:
    return f"layers.{i}." if type(model) is MLP else ""  # the names of model.state_dict()


def _tensors(helper: Any, step: Linear, prefix: str, elem_type: int, dtype: str) -> list:
    """The Linear's weight (nout x nin) and bias (nout) as ONNX tensors."""
    weight = [v.data for row in step.weight for v in row]
    bias = [v.data for v in step.bias]
    return [
        helper.make_tensor(f"{prefix}weight", elem_type, [step.nout, step.nin], _pack(weight, dtype), raw=True),
        helper.make_tensor(f"{prefix}bias", elem_type, [step.nout], _pack(bias, dtype), raw=True),
    ]


def _pack(numbers: list[float], dtype: str) -> bytes:
    """The numbers as raw little-endian float64 or float32 (rounded to nearest), as ONNX stores them."""
    try:
        return struct.pack(f"<{len(numbers)}{_DTYPES[dtype][1]}", *numbers)
    except OverflowError:
        raise ValueError(f"export_onnx: the model has a weight too large for {dtype}") from None
