"""The ONNX nodes of the steps of nn/modules/conv.py and nn/modules/batchnorm.py, for nn.onnx_export.

onnxruntime's CPU kernels have no float64 Conv or AveragePool, so a convolution is written as
what it is, with operators that do run in float64: every output position gathers its inputs
(the Gather indices are the ones nn/modules/conv.py's graph reads; padding reads one appended zero),
and one MatMul with the kernel matrix gives every channel at every position at once:

    x (batch, C, H, W) -> (batch, C*H*W + 1) -> Gather -> (batch, P, C*kh*kw) @ W^T + b -> (batch, O, oh, ow)

An average pool gathers its windows and takes ReduceMean; MaxPool and BatchNormalization (with
the running statistics, as in eval mode) are ONNX's own. The spatial sizes are fixed when the
file is written (export_onnx's `input_shape`).
"""

from __future__ import annotations

import math
from typing import Any

from nn.modules.conv import convolution_taps

CNN_KINDS = ("conv1d", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "batch_norm1d")


def cnn_step(graph: Any, kind: str, step: Any, x: str, here: str) -> str:
    """The nodes of one step from tensor x (one sample of shape graph.shape); returns the output's name
    and sets graph.shape to one sample's shape after the step."""
    shape = graph.shape
    if kind == "flatten":
        graph.shape = (math.prod(shape),) if shape else None
        return graph.node("Flatten", [x], f"flatten_{here}", axis=1)
    if kind == "batch_norm1d":
        n = step.num_features
        names = [graph.tensor(f"{here}.{key}", list(values), [n]) for key, values in
                 (("weight", step.weight), ("bias", step.bias), ("running_mean", step.running_mean),
                  ("running_var", step.running_var))]
        return graph.node("BatchNormalization", [x, *names], f"batch_norm_{here}", epsilon=float(step.eps))
    if shape is None or len(shape) != (2 if kind == "conv1d" else 3):
        raise ValueError(f"export_onnx: a {kind} step needs one sample's shape (channels, "
                         f"{'length' if kind == 'conv1d' else 'height, width'}): give input_shape=")
    if kind == "max_pool2d":
        (kh, kw), (sh, sw) = step
        graph.shape = (shape[0], (shape[1] - kh) // sh + 1, (shape[2] - kw) // sw + 1)
        return graph.node("MaxPool", [x], f"max_pool_{here}", kernel_shape=[kh, kw], strides=[sh, sw])
    flat = graph.node("Reshape", [x, graph.ints(f"flat_shape_{here}", [-1, math.prod(shape)])], f"flat_{here}")
    if kind == "avg_pool2d":
        (kh, kw), (sh, sw) = step
        c, rows, cols = shape
        out = ((rows - kh) // sh + 1, (cols - kw) // sw + 1)
        windows = [[ch * rows * cols + (i * sh + a) * cols + j * sw + b for a in range(kh) for b in range(kw)]
                   for ch in range(c) for i in range(out[0]) for j in range(out[1])]
        gathered = graph.node("Gather", [flat, graph.ints(f"window_index_{here}", windows, [len(windows), kh * kw])],
                              f"windows_{here}", axis=1)
        mean = graph.node("ReduceMean", [gathered], f"window_means_{here}", axes=[-1], keepdims=0)
        graph.shape = (c, *out)
        return graph.node("Reshape", [mean, graph.ints(f"out_shape_{here}", [-1, *graph.shape])], f"avg_pool_{here}")
    # a convolution
    size = tuple(shape[1:])
    plan = convolution_taps(size, step.in_channels, step.kernel_size, step.stride, step.padding)
    taps, zero = step.in_channels * math.prod(step.kernel_size), math.prod(shape)
    index = [[zero] * taps for _ in plan]  # every tap on padding reads the appended zero
    for p, pairs in enumerate(plan):
        for w, i in pairs:
            index[p][w] = i
    padded = graph.node("Pad", [flat, graph.ints(f"pads_{here}", [0, 0, 0, 1])], f"padded_{here}")
    gathered = graph.node("Gather", [padded, graph.ints(f"tap_index_{here}", index, [len(plan), taps])],
                          f"taps_{here}", axis=1)
    kernel = graph.tensor(f"{here}.weight", [[row[t] for row in step.weight] for t in range(taps)],
                          [taps, step.out_channels])
    y = graph.node("MatMul", [gathered, kernel], f"conv_{here}")
    if step.has_bias:
        y = graph.node("Add", [y, graph.tensor(f"{here}.bias", list(step.bias), [step.out_channels])], f"biased_{here}")
    y = graph.node("Transpose", [y], f"channels_first_{here}", perm=[0, 2, 1])
    counts = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, step.kernel_size, step.stride, step.padding)]
    graph.shape = (step.out_channels, *counts)
    return graph.node("Reshape", [y, graph.ints(f"out_shape_{here}", [-1, *graph.shape])], f"{kind}_{here}")

