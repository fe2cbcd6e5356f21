"""nn: neurons, layers, MLPs, RNNs, LayerNorm, residual blocks, losses, optimizers, learning-rate schedules,
data sets (toy ones and handwritten digits), a training loop and its diagnostics, and the way out to PyTorch and ONNX.

    >>> from nn import MLP
    >>> model = MLP(2, [16, 16, 1], seed=0)    # 2 inputs, two hidden ReLU layers, 1 linear output
    >>> model([0.5, -1.0])                      # doctest: +ELLIPSIS
    Value(data=..., grad=0.0)
"""

from nn.batchnorm import BatchNorm1d
from nn.callbacks import Callback, EarlyStopping, GradientClipping
from nn.containers import Residual, Sequential
from nn.conv import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d
from nn.data import make_circles, make_moons, make_sine, make_spiral, make_xor, train_test_split, train_val_split
from nn.diagnostics import plot_diagnostics
from nn.digits import load_digits
from nn.io import load, save
from nn.layers import ACTIVATIONS, MLP, Dropout, Layer, Neuron
from nn.live import LivePlot
from nn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss
from nn.lr_finder import LRFinderResult, lr_find
from nn.module import Module
from nn.normalization import LayerNorm
from nn.onnx_export import export_onnx
from nn.optim import SGD, Adam, Optimizer, RMSprop, clip_grad_norm
from nn.plots import plot_decision_boundary, plot_history
from nn.rnn import RNN
from nn.sanity import SanityReport, sanity_check
from nn.schedulers import ChainedScheduler, CosineAnnealingLR, LinearLR, LRScheduler, StepLR
from nn.torch_bridge import from_torch, to_torch
from nn.train import History, TrainingRun, accuracy, evaluate, fit

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
