"""nn: neurons, layers, MLPs, RNNs, LayerNorm, residual blocks, losses, optimizers, learning-rate schedules,
data sets (toy ones and handwritten digits), a training loop and its diagnostics, and the way out to PyTorch and ONNX.

    >>> from nn import MLP
    >>> model = MLP(2, [16, 16, 1], seed=0)    # 2 inputs, two hidden ReLU layers, 1 linear output
    >>> model([0.5, -1.0])                      # doctest: +ELLIPSIS
    Value(data=..., grad=0.0)
"""

import importlib
import sys

from nn.datasets.data import (
    make_circles,
    make_moons,
    make_sine,
    make_spiral,
    make_xor,
    train_test_split,
    train_val_split,
)
from nn.datasets.digits import load_digits
from nn.diagnosis.lr_finder import LRFinderResult, lr_find
from nn.diagnosis.sanity import SanityReport, sanity_check
from nn.exchange.io import load, save
from nn.exchange.onnx_export import export_onnx
from nn.exchange.torch_bridge import from_torch, to_torch
from nn.modules.batchnorm import BatchNorm1d
from nn.modules.containers import Residual, Sequential
from nn.modules.conv import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d
from nn.modules.layers import ACTIVATIONS, MLP, Dropout, Layer, Neuron
from nn.modules.module import Module
from nn.modules.normalization import LayerNorm
from nn.modules.rnn import RNN
from nn.training.callbacks import Callback, EarlyStopping, GradientClipping
from nn.training.diagnostics import plot_diagnostics
from nn.training.live import LivePlot
from nn.training.losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss
from nn.training.optim import SGD, Adam, Optimizer, RMSprop, clip_grad_norm
from nn.training.plots import plot_decision_boundary, plot_history
from nn.training.schedulers import ChainedScheduler, CosineAnnealingLR, LinearLR, LRScheduler, StepLR
from nn.training.train import History, TrainingRun, accuracy, evaluate, fit

# The modules' names before nn was cut into subpackages (nn.layers, nn.io, ...), kept for code
# that imports or patches them: each is the very module object of its new place.
_MOVED = {
    "module": "nn.modules.module",
    "_replay": "nn.modules._replay",
    "activations": "nn.modules.activations",
    "layers": "nn.modules.layers",
    "containers": "nn.modules.containers",
    "normalization": "nn.modules.normalization",
    "rnn": "nn.modules.rnn",
    "layout": "nn.modules.layout",
    "state": "nn.modules.state",
    "losses": "nn.training.losses",
    "optim": "nn.training.optim",
    "schedulers": "nn.training.schedulers",
    "callbacks": "nn.training.callbacks",
    "train": "nn.training.train",
    "_compiled_fit": "nn.training._compiled_fit",
    "live": "nn.training.live",
    "diagnostics": "nn.training.diagnostics",
    "plots": "nn.training.plots",
    "lr_finder": "nn.diagnosis.lr_finder",
    "sanity": "nn.diagnosis.sanity",
    "_trial": "nn.diagnosis._trial",
    "data": "nn.datasets.data",
    "digits": "nn.datasets.digits",
    "io": "nn.exchange.io",
    "torch_bridge": "nn.exchange.torch_bridge",
    "onnx_export": "nn.exchange.onnx_export",
    "demo": "nn.cli.demo",
    "export_cli": "nn.cli.export_cli",
}
for _old, _new in _MOVED.items():
    sys.modules[f"nn.{_old}"] = globals()[_old] = importlib.import_module(_new)

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "RNN",
    "SGD",
    "Adam",
    "AvgPool2d",
    "BatchNorm1d",
    "Callback",
    "Conv1d",
    "Conv2d",
    "ChainedScheduler",
    "CosineAnnealingLR",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "GradientClipping",
    "History",
    "LRScheduler",
    "Layer",
    "MaxPool2d",
    "LRFinderResult",
    "LayerNorm",
    "LinearLR",
    "LivePlot",
    "Module",
    "Neuron",
    "Optimizer",
    "RMSprop",
    "SanityReport",
    "Residual",
    "Sequential",
    "StepLR",
    "TrainingRun",
    "accuracy",
    "binary_cross_entropy_with_logits",
    "clip_grad_norm",
    "cross_entropy",
    "evaluate",
    "export_onnx",
    "fit",
    "from_torch",
    "hinge_loss",
    "load",
    "lr_find",
    "load_digits",
    "make_circles",
    "make_moons",
    "make_sine",
    "make_spiral",
    "make_xor",
    "mse_loss",
    "plot_decision_boundary",
    "plot_diagnostics",
    "plot_history",
    "sanity_check",
    "save",
    "to_torch",
    "train_test_split",
    "train_val_split",
]
