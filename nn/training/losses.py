"""Loss functions, each the mean over a batch, with PyTorch's definitions (torch.nn.functional).

Every loss is built from engine ops, so `loss.backward()` reaches the model's parameters.
Each takes one prediction or a list of them (a batch), and the matching target(s).
The classification losses stay finite and exact for logits as large as +-1e3: nothing is
exponentiated that could overflow, and nothing is logged that could underflow to 0.

A target may be a Value: it is then an input of the loss's graph, so a step recorded once by
`autograd.compile` (as `fit(compile=True)` does) replays with the next batch's targets. For the
same reason no loss takes a Python branch on a number: a choice made by the numbers (the largest
logit, the target's class) is an op of the graph (`max`, `pick`).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import autograd
from autograd import OPS, Value
from nn._numbers import check_real, is_int, is_real, show, to_float

Prediction = Value | float
Batch = Prediction | Sequence[Prediction]
Target = Value | float

_max, _pick = OPS["max"], OPS["pick"]


def _as_value(x: object, what: str) -> Value:
    if isinstance(x, Value):
        return x
    if is_real(x):
        return Value(to_float(x, what))
    raise TypeError(f"{what} must be a Value or a number, got {type(x).__name__}: {show(x)}")


def _pairs(predictions: Batch, targets: object, loss: str, target: str = "target") -> tuple[list[Value], list[Target]]:
    """A batch as (predictions as Values, targets as Values or floats); a single pair becomes a batch of one.

    A target that is not a number is a TypeError; NaN, an infinity or an int too large for a
    float is a ValueError (PyTorch would return a NaN or infinite loss). Both name the target.
    """
    if isinstance(predictions, Value) or is_real(predictions):
        predictions, targets = [predictions], [targets]
    if isinstance(predictions, (str, bytes)) or not isinstance(predictions, Sequence):
        raise TypeError(f"{loss}: predictions must be a Value or a list of Values, got {type(predictions).__name__}")
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise TypeError(f"{loss}: targets must be a list of numbers like the predictions, got {type(targets).__name__}")
    if len(predictions) != len(targets):
        raise ValueError(f"{loss}: {len(predictions)} predictions but {len(targets)} targets")
    if not predictions:
        raise ValueError(f"{loss}: the batch is empty")
    preds = [_as_value(p, f"{loss}: prediction {i}") for i, p in enumerate(predictions)]
    # a number is a constant of the loss; a Value stays a Value: an input of a compiled step
    ts = []
    for i, t in enumerate(targets):
        number = check_real(t.data if isinstance(t, Value) else t, f"{loss}: {target} {i}")
        ts.append(t if isinstance(t, Value) else number)
    return preds, ts


def _mean(terms: list[Value]) -> Value:
    return autograd.sum(terms) / len(terms)


def mse_loss(predictions: Batch, targets: object) -> Value:
    """Mean squared error: (1/n) sum_i (p_i - t_i)^2.   d/dp_i = 2 (p_i - t_i) / n"""
    preds, ts = _pairs(predictions, targets, "mse_loss")
    return _mean([(p - t) ** 2 for p, t in zip(preds, ts)])


def hinge_loss(scores: Batch, labels: object) -> Value:
    """Mean hinge (max-margin) loss for labels +1/-1: (1/n) sum_i max(0, 1 - y_i s_i).

    A point scores zero loss once it is on the right side with a margin of at least 1.
    """
    preds, ys = _pairs(scores, labels, "hinge_loss", "label")
    for i, y in enumerate(ys):
        if float(y) not in (1.0, -1.0):
            raise ValueError(f"hinge_loss: labels must be +1 or -1, label {i} is {float(y)!r}")
    return _mean([(1.0 - s * y).relu() for s, y in zip(preds, ys)])


def _bce_term(z: Value, y: Target) -> Value:
    # -log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z), so the loss is
    # y softplus(-z) + (1 - y) softplus(z): no subtraction of nearly equal numbers, and softplus
    # never overflows, so a loss of 4e-18 (z = 40, y = 1) keeps all of its digits. For y = 1 or 0
    # one term is times 0 and adds an exact 0: one formula for every target, no branch on its number.
    return (-z).softplus() * y + z.softplus() * (1.0 - y)


def binary_cross_entropy_with_logits(logits: Batch, targets: object) -> Value:
    """Mean binary cross-entropy of sigmoid(z_i) against targets t_i in [0, 1] (labels 0/1).

    loss_i = -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))] = t softplus(-z) + (1 - t) softplus(z),
    computed in the second form, which never overflows and keeps tiny losses exact.
    d/dz_i = (sigmoid(z_i) - t_i) / n
    """
    preds, ts = _pairs(logits, targets, "binary_cross_entropy_with_logits")
    for i, t in enumerate(ts):
        if not 0.0 <= float(t) <= 1.0:
            raise ValueError(f"binary_cross_entropy_with_logits: targets must be in [0, 1], target {i} is {float(t)!r}")
    return _mean([_bce_term(z, t) for z, t in zip(preds, ts)])


def _log_softmax_at(logits: list[Value], target: int | Value) -> Value:
    # log softmax(z)_t = (z_t - m) - log sum_j e^(z_j - m) with m = max_j z_j: every exponent
    # is <= 0 (no overflow) and the sum is >= 1 (its log is finite). The gradient is the same for
    # any m (what flows through m adds up to 0), but m and the choice of z_t are ops, so a
    # compiled step chooses again for the next batch's numbers.
    m = _max(*logits)
    shifted = [z - m for z in logits]
    return _pick(*shifted, target) - autograd.sum([s.exp() for s in shifted]).log()


def _check_logits(logits: object, what: str) -> list[Value]:
    if isinstance(logits, (str, bytes)) or not isinstance(logits, Sequence):
        raise TypeError(f"cross_entropy: {what} must be a list of Values, got {type(logits).__name__}")
    if len(logits) == 0:
        raise ValueError(f"cross_entropy: {what} is empty; it needs one logit per class")
    return [_as_value(z, f"cross_entropy: {what}[{j}]") for j, z in enumerate(logits)]


def _check_index(t: object, n: int, what: str) -> int | Value:
    """An integral class index (numpy's and scikit-learn's labels are np.int64; never a bool or 1.0),
    or a Value holding one (an input of a compiled step)."""
    if isinstance(t, Value) and t.data.is_integer():
        index = int(t.data)
    elif is_int(t):
        t = index = int(t)
    else:
        raise TypeError(f"cross_entropy: {what} must be an int class index, got {type(t).__name__}: {show(t)}")
    if not 0 <= index < n:
        raise ValueError(f"cross_entropy: {what} is {show(index)}, but there are only {n} classes (0..{n - 1})")
    return t


def cross_entropy(logits: Sequence[Prediction] | Sequence[Sequence[Prediction]], target_index: object) -> Value:
    """Softmax cross-entropy: -log softmax(z)_t = log sum_j e^(z_j) - z_t, via a stable log-sum-exp.

    One sample: `cross_entropy([z_0, ..., z_k], t)`. A batch: a list of such lists and a list
    of class indices; the result is the mean.   d/dz_j = softmax(z)_j - [j == t]
    """
    if isinstance(logits, Sequence) and logits and not isinstance(logits[0], (Value, numbers.Real)):
        if isinstance(target_index, (str, bytes)) or not isinstance(target_index, Sequence):
            raise TypeError(f"cross_entropy: a batch of logits needs a list of targets, got {show(target_index)}")
        if len(logits) != len(target_index):
            raise ValueError(f"cross_entropy: {len(logits)} samples but {len(target_index)} targets")
        terms = []
        for i, (row, t) in enumerate(zip(logits, target_index)):
            zs = _check_logits(row, f"logits[{i}]")
            terms.append(-_log_softmax_at(zs, _check_index(t, len(zs), f"target {i}")))
        return _mean(terms)
    zs = _check_logits(logits, "logits")
    return -_log_softmax_at(zs, _check_index(target_index, len(zs), "target_index"))
