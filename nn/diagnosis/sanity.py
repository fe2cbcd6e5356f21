"""`sanity_check`: the checks to run before a long training, each answered in a sentence.

1. **initial loss**: a fresh classifier should not yet prefer any answer, and then its loss has
   a known value: ln k for cross entropy over k classes (softmax of equal logits is 1/k each),
   ln 2 for binary cross entropy (sigmoid(0) = 1/2), 1 for the hinge loss (max(0, 1 - y*0)).
   Far above it, the model starts out confident and wrong: its outputs are too large (usually
   the output layer's initial weights). It passes within TOLERANCE of that value.
   A fresh regression model has no such value: its outputs are random, of the order of 1 (not
   0, as a classifier's scores nearly are), so the squared error is not close to mean(t^2), the
   loss of predicting 0; with MLP(1, [16, 1], "tanh") on make_sine it ranges from 0.3 to 5
   times that. What can be checked is the scale of the outputs: by the triangle inequality,
   sqrt(loss) = RMS(output - t) <= RMS(output) + RMS(t), so outputs at most MSE_OUTPUT_SCALE (2)
   times as large as the targets keep the loss below (1 + 2)^2 mean(t^2) = 9 mean(t^2), and a
   loss above that proves RMS(output) > 2 RMS(t): the outputs are too large. At the other end,
   a loss below MSE_SUSPICIOUS (1%) of the targets' variance (the loss of predicting their mean)
   means the model explains 99% of the targets before any training: suspicious.
2. **overfit a tiny batch**: a network that can learn at all drives the loss on a handful of
   samples to almost 0 in a few hundred steps. If it cannot, the forward pass, the loss or the
   targets have a bug (or the network is dead).
3. **gradients**: backward's gradients of a few parameters against central finite differences
   (f(p + eps) - f(p - eps)) / (2 eps). They disagree when a derivative rule is wrong.

The model is left exactly as it was (every weight, gradient, mode and random generator).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import autograd
from autograd import Value, no_grad
from nn._numbers import check_bool
from nn.diagnosis._trial import trial
from nn.modules.module import Module
from nn.training.losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss
from nn.training.optim import Adam
from nn.training.train import LossFn

TOLERANCE = 0.25  # the initial loss passes within 25% of its expected value (for a classifier)
MSE_OUTPUT_SCALE = 2.0  # squared error: outputs up to twice the targets' RMS pass (see the module docstring)
MSE_SUSPICIOUS = 0.01  # squared error below 1% of the targets' variance at initialisation is suspicious
TINY_BATCH = 4  # samples in the batch to overfit
OVERFIT_STEPS = 300  # Adam steps allowed to overfit it
OVERFIT_LR = 0.03
NEAR_ZERO = 0.01  # overfitting succeeds when the loss falls below 1% of where it started
CHECKED_PARAMETERS = 6  # parameters compared with finite differences, spread over the model
EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-4  # autograd.gradcheck's defaults
MAX_SAMPLES = 1000  # the initial loss is measured on at most this many samples

Check = tuple[str, bool, str]


@dataclass(frozen=True)
class SanityReport:
    """What `sanity_check` found: `checks` is a list of (name, passed, sentence)."""

    checks: list[Check]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(ok for _, ok, _ in self.checks)

    def __str__(self) -> str:
        return "\n".join(_line(check) for check in self.checks)

    def __repr__(self) -> str:
        failed = [name for name, ok, _ in self.checks if not ok]
        verdict = "all passed" if not failed else f"failed: {', '.join(failed)}"
        return f"SanityReport({len(self.checks)} checks, {verdict})"


def _line(check: Check) -> str:
    name, ok, sentence = check
    return f"{'PASS' if ok else 'FAIL'}  {name}: {sentence}"


def sanity_check(
    model: Module, X: Sequence, y: Sequence, loss_fn: LossFn, *, verbose: bool = True
) -> SanityReport:
    """Run the three checks (see the module's docstring) on `model` with data (X, y) and `loss_fn`.

    Prints one line per check as it finishes (`verbose=False`: nothing) and returns the report;
    `report.passed` is True when every check passed. The initial-loss check knows the losses of
    `nn` (for a loss of your own it says so, and passes). The model is left exactly as it was.
    """
    if not isinstance(model, Module):
        raise TypeError(f"sanity_check: model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(
            f"sanity_check: loss_fn must be a function loss_fn(outputs, targets), got {type(loss_fn).__name__}"
        )
    if len(X) != len(y):
        raise ValueError(f"sanity_check: X has {len(X)} inputs but y has {len(y)} targets")
    if len(X) == 0:
        raise ValueError("sanity_check: X is empty")
    check_bool(verbose, "sanity_check: verbose")
    if not model.parameters():
        raise ValueError(f"sanity_check: the model ({type(model).__name__}) has no parameters to check")

    checks: list[Check] = []
    with trial(model):
        for check in (_initial_loss, _overfit_tiny_batch, _gradients):
            checks.append(check(model, X, y, loss_fn))
            if verbose:
                print(_line(checks[-1]), flush=True)
    return SanityReport(checks)


# ---- 1. the initial loss ------------------------------------------------------------------------


def _initial_loss(model: Module, X: Sequence, y: Sequence, loss_fn: LossFn) -> Check:
    name = "initial loss"
    X, y = X[:MAX_SAMPLES], y[:MAX_SAMPLES]
    model.eval()  # no dropout: the loss of the model as it is
    with no_grad():
        outputs = [model(x) for x in X]
        loss = _value(loss_fn(outputs, list(y)))
    scores = [v.data for out in outputs for v in (out if isinstance(out, list) else [out])]
    size = math.sqrt(sum(s * s for s in scores) / len(scores))
    if loss_fn is mse_loss:
        return name, *_squared_error_at_start(loss, y, size)
    expected = _expected_loss(loss_fn, outputs, y)
    if expected is None:
        return name, True, (f"{loss:.4g}; not checked: no expected value is known for "
                            f"{getattr(loss_fn, '__name__', type(loss_fn).__name__)} (it is for the losses of nn)")
    value, formula, meaning = expected
    formula = formula if formula == f"{value:.4g}" else f"{formula} = {value:.4g}"
    if not math.isfinite(loss):
        return name, False, _overflows(loss)
    if abs(loss - value) <= TOLERANCE * value:
        return name, True, (f"{loss:.4g}, close to {formula}, the loss of {meaning}: "
                            f"the model starts unsure, as it should (outputs' RMS {size:.3g})")
    if loss > value:
        return name, False, (f"{loss:.4g}, far above {formula}, the loss of {meaning}: the model starts "
                             f"confident and wrong, its outputs are too large (RMS {size:.3g}); scale the output "
                             "layer's initial weights down")
    return name, False, (f"{loss:.4g}, far below {formula}, the loss of {meaning}: the model is right "
                         "before any training, which is suspicious (do the inputs contain the targets?)")


def _squared_error_at_start(loss: float, y: Sequence, size: float) -> tuple[bool, str]:
    """(passed, sentence) for mse_loss: the outputs' scale against the targets' (module docstring)."""
    if not math.isfinite(loss):
        return False, _overflows(loss)
    targets = [float(v) for t in y for v in (t if isinstance(t, (list, tuple)) else [t])]
    square = sum(t * t for t in targets) / len(targets)  # the loss of predicting 0
    mean = sum(targets) / len(targets)
    variance = sum((t - mean) ** 2 for t in targets) / len(targets)  # the loss of predicting the mean
    if square == 0.0:
        return True, f"{loss:.4g}; not checked: every target is 0, there is no scale to compare the outputs with"
    highest = (1.0 + MSE_OUTPUT_SCALE) ** 2 * square
    scales = f"outputs' RMS {size:.3g}, targets' RMS {math.sqrt(square):.3g}"
    if loss > highest:
        return False, (f"{loss:.4g}, above {(1.0 + MSE_OUTPUT_SCALE) ** 2:g} mean(t^2) = {highest:.4g}: the outputs "
                       f"are more than {MSE_OUTPUT_SCALE:g} times as large as the targets ({scales}); scale the output "
                       "layer's initial weights down, or standardise the targets")
    if loss < MSE_SUSPICIOUS * variance:
        return False, (f"{loss:.4g}, below {MSE_SUSPICIOUS:.0%} of the targets' variance {variance:.4g}: the model is "
                       "right before any training, which is suspicious (do the inputs contain the targets?)")
    return True, (f"{loss:.4g}, between {MSE_SUSPICIOUS:.0%} of the targets' variance ({variance:.4g}) and "
                  f"{(1.0 + MSE_OUTPUT_SCALE) ** 2:g} mean(t^2) = {highest:.4g}: the outputs start at the targets' "
                  f"scale ({scales})")


def _overflows(loss: float) -> str:
    return f"{loss} at initialisation: the forward pass already overflows or divides by zero"


def _expected_loss(loss_fn: LossFn, outputs: list, y: Sequence) -> tuple[float, str, str] | None:
    """(expected initial loss, its formula, what it means) for the losses of nn, else None."""
    if loss_fn is cross_entropy:
        k = len(outputs[0]) if isinstance(outputs[0], list) else 1
        return math.log(k), f"ln {k}", f"equal scores for all {k} classes"
    if loss_fn is binary_cross_entropy_with_logits:
        return math.log(2.0), "ln 2", "logits of 0 (probability 1/2 for every sample)"
    if loss_fn is hinge_loss:
        return 1.0, "1", "scores of 0"
    return None  # mse_loss has a check of its own: _squared_error_at_start


def _value(loss: object) -> float:
    if not isinstance(loss, Value):
        raise TypeError(f"sanity_check: loss_fn must return a Value, got {type(loss).__name__}")
    return loss.data


# ---- 2. overfitting a tiny batch -----------------------------------------------------------------


def _tiny_batch(y: Sequence) -> list[int]:
    """TINY_BATCH indices: the first sample of each target value first (both classes, if there are
    two), then the next samples in order."""
    picked: list[int] = []
    seen: set = set()
    for i, t in enumerate(y):
        key = repr(t)  # targets may be unhashable (a list for a multi-output regression)
        if key not in seen and len(picked) < TINY_BATCH:
            seen.add(key)
            picked.append(i)
    picked += [i for i in range(len(y)) if i not in picked][: TINY_BATCH - len(picked)]
    return sorted(picked)


def _overfit_tiny_batch(model: Module, X: Sequence, y: Sequence, loss_fn: LossFn) -> Check:
    name = "overfit a tiny batch"
    batch = _tiny_batch(y)
    xs, ts = [X[i] for i in batch], [y[i] for i in batch]
    model.train()
    optimizer = Adam(model.parameters(), lr=OVERFIT_LR)
    first = loss = None
    for step in range(OVERFIT_STEPS + 1):
        current = loss_fn(model.forward_batch(xs), ts)
        loss = _value(current)
        first = loss if first is None else first
        if not math.isfinite(loss):
            return name, False, (f"the loss became {loss} after {step} Adam steps (lr {OVERFIT_LR}) on "
                                 f"{len(batch)} samples: something overflows; look at the model's outputs")
        if loss <= NEAR_ZERO * first:
            return name, True, (f"the loss on {len(batch)} samples fell from {first:.4g} to {loss:.2g} in {step} Adam "
                                f"steps: the model can learn")
        if step < OVERFIT_STEPS:
            optimizer.zero_grad()
            current.backward()
            optimizer.step()
    return name, False, (f"after {OVERFIT_STEPS} Adam steps (lr {OVERFIT_LR}) the loss on {len(batch)} samples is "
                         f"still {loss:.4g} (from {first:.4g}): the model cannot even learn them by heart; look for "
                         "a bug in the forward pass, the loss or the targets, or for dead units")


# ---- 3. gradients against finite differences -------------------------------------------------------


def _parameter_names(module: Module, prefix: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, Value]]:
    """(name, parameter) in parameter order, named after the attributes (modules as PyTorch names
    them, then the index in a list of Values): 'layers.0.neurons.3.w[1]'. A module met before
    (held twice, or holding its parent) is not walked again."""
    seen = {id(module)} if seen is None else seen
    for name, member in module._named_members():
        if isinstance(member, Module):
            if id(member) not in seen:
                seen.add(id(member))
                yield from _parameter_names(member, f"{prefix}{name}.", seen)
        elif isinstance(member, list):
            for i, v in enumerate(member):
                yield f"{prefix}{name}[{i}]", v
        else:
            yield f"{prefix}{name}", member


def _gradients(model: Module, X: Sequence, y: Sequence, loss_fn: LossFn) -> Check:
    name = "gradients"
    batch = _tiny_batch(y)
    xs, ts = [X[i] for i in batch], [y[i] for i in batch]
    model.eval()  # no dropout: each evaluation of the loss must compute the same function

    def loss_at() -> float:
        with no_grad():
            return _value(loss_fn([model(x) for x in xs], ts))

    names: dict[int, str] = {}
    for label, p in _parameter_names(model):
        names.setdefault(id(p), label)
    params = model.parameters()
    n = min(CHECKED_PARAMETERS, len(params))
    chosen = [params[round(i * (len(params) - 1) / max(n - 1, 1))] for i in range(n)]
    chosen = list({id(p): p for p in chosen}.values())
    engine = [g.data for g in autograd.grad(_as_value(loss_fn([model(x) for x in xs], ts)), chosen)]
    worst = 0.0
    for p, analytic in zip(chosen, engine):
        original = p.data
        try:
            p.data = original + EPS
            up = loss_at()
            p.data = original - EPS
            down = loss_at()
        finally:
            p.data = original
        numeric = (up - down) / (2 * EPS)
        difference = abs(analytic - numeric)
        if not difference <= ATOL + RTOL * abs(numeric):
            label = names.get(id(p), "a parameter")
            return name, False, (f"{label}: backward gives {analytic:.6g}, finite differences {numeric:.6g}: a "
                                 "derivative rule in the model or the loss is wrong")
        worst = max(worst, difference)
    return name, True, (f"backward agrees with finite differences on {len(chosen)} parameters spread over the model "
                        f"(largest difference {worst:.1e})")


def _as_value(loss: object) -> Value:
    _value(loss)
    return loss
