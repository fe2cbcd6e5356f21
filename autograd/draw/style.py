"""How a picture looks: numbers and texts as they are shown, and the colours of gradients.

Every text that reaches a DOT file goes through `_text` (HTML-like labels) or `_plain` (plain
strings): a label shows exactly what it holds, whatever characters it has, and is never markup.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import graphviz

from autograd.value import Value

_FONT = "Helvetica,Arial,sans-serif"
_FONTSIZE = 11
_RED = "#d62728"  # reserved for NaN/inf: no colour of the gradient scale is red
_ZERO_GREY = "#e0e0e0"
_CLUSTER_FILLS = ("#f3f6fb", "#e8eef7", "#dde6f2")  # one per nesting depth, darker inside
_EDGE_NOTE = "#1f4e9c"  # local derivatives on edges
_FOCUS = "#e07b00"  # the node a step-by-step frame is processing
# Viridis, sampled at ten points: perceptually even, readable in grey and by colour-blind readers.
_SCALE = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")


def _fmt(x: float | None) -> str:
    """x to 4 significant digits: 2.0 -> '2', 0.761594 -> '0.7616', 1e-9 -> '1e-09'."""
    if x is None:
        return "?"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "0" if x == 0.0 else f"{x:.4g}"


def _finite(x: float | None) -> bool:
    return x is None or math.isfinite(x)


@dataclass
class _GradScale:
    """log10 |grad| -> a colour of the scale, over whole decades [lo, hi]."""

    lo: int
    hi: int

    @classmethod
    def of(cls, grads: Iterable[float | None]) -> _GradScale:
        logs = [math.log10(abs(g)) for g in grads if g is not None and math.isfinite(g) and g != 0.0]
        if not logs:
            return cls(-1, 1)
        lo, hi = math.floor(min(logs)), math.ceil(max(logs))
        return cls(lo, hi if hi > lo else lo + 1)

    def fraction(self, g: float) -> float:
        return min(1.0, max(0.0, (math.log10(abs(g)) - self.lo) / (self.hi - self.lo)))

    def fill(self, g: float) -> tuple[str, str]:
        """(background, text colour) for a finite, non-zero gradient."""
        t = self.fraction(g)
        return _interpolate(t), ("white" if t < 0.6 else "black")

    def decades(self) -> list[int]:
        step = max(1, math.ceil((self.hi - self.lo) / 8))
        return list(range(self.lo, self.hi + 1, step))


def _interpolate(t: float) -> str:
    x = t * (len(_SCALE) - 1)
    i = min(int(x), len(_SCALE) - 2)
    a, b = _SCALE[i], _SCALE[i + 1]
    f = x - i
    rgb = [round(int(a[k : k + 2], 16) * (1 - f) + int(b[k : k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _fill_for(data_ok: bool, grad: float | None, scale: _GradScale | None) -> tuple[str, str]:
    """(background, text colour) of a Value's box."""
    if not data_ok or not _finite(grad):
        return _RED, "white"
    if scale is None or grad is None:
        return "#ffffff", "black"
    if grad == 0.0:
        return _ZERO_GREY, "black"
    return scale.fill(grad)


def _text_width(chars: int, fontsize: int) -> int:
    """Points that surely hold `chars` characters of the sans-serif font (digits are 0.56 em wide)."""
    return round(0.6 * fontsize * chars) + 8


# What a label cannot show as it is: control characters (but newline), lone surrogates (not UTF-8)
# and U+FFFE/U+FFFF (not XML, which dot's HTML-like labels are). They are shown escaped, as repr does.
_UNSHOWABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# dot fails on a label over about 16,000 characters, and a box that wide is unreadable anyway:
# a longer text is cut and ends in an ellipsis that says how long it was.
MAX_LABEL_CHARS = 200


def shorten(s: str, limit: int = MAX_LABEL_CHARS) -> str:
    """s itself, or its first characters and "… (N characters)" when it is longer than `limit`."""
    return s if len(s) <= limit else f"{s[: limit - 1]}… ({len(s):,} characters)"


def _visible(s: str) -> str:
    """s with each character a label cannot show written as its escape: bell -> \\x07, tab -> \\t."""
    return _UNSHOWABLE.sub(lambda m: ascii(m[0])[1:-1], s)


def _text(s: str, color: str, bold: bool = False) -> str:
    """s as the text of an HTML-like label, shown exactly: <, > and & escaped, each backslash
    doubled (dot reads \\N in these labels too), a newline a line break."""
    body = "<br/>".join(html.escape(_visible(line).replace("\\", "\\\\"), quote=False) for line in s.split("\n"))
    if bold:
        body = f"<b>{body}</b>"
    return body if color == "black" else f'<font color="{color}">{body}</font>'


def _plain(s: str) -> str:
    """s as a plain DOT string (an escString: a tooltip, a cluster or op label), shown exactly.

    dot reads backslash sequences in these (\\N is the node's name, \\l ends a line), so each
    backslash is doubled; graphviz escapes the quotes; nohtml keeps "<b>" from becoming markup.
    """
    return graphviz.nohtml(_visible(s).replace("\\", "\\\\").replace("\n", "\\n"))


# The ops whose number stood left of the Value (2 - x), named like Python's reflected methods.
_NUMBER_FIRST = {"rsub": "-", "rdiv": "/", "rpow": "**"}


def _op_text(v: Value) -> str:
    """What v's op oval says: the op with its numbers, read like the expression without the Value.

    x * 2 -> "* 2",  x ** 2 -> "** 2",  2 - x -> "2 -",  2 ** x -> "2 **",  x.leaky_relu(0.1) ->
    "leaky_relu slope=0.1" (a named op names its constants). An op between Values is its name.
    """
    c, op = v.constant, shorten(str(v.op))
    if c is None:
        return op
    constants = c if type(c) is tuple else (c,)
    if op in _NUMBER_FIRST:
        return f"{_fmt_number(constants[0])} {_NUMBER_FIRST[op]}"
    if not op.isidentifier():  # an operator: "* 2"
        return f"{op} {' '.join(map(_fmt_number, constants))}"
    names = getattr(v.op, "parameters", ())[-len(constants) :]  # an Op names its arguments; the constants are last
    if len(names) != len(constants):
        names = ("",) * len(constants)
    shown = (f"{name}={_fmt_number(k)}" if name else _fmt_number(k) for name, k in zip(names, constants))
    return " ".join([op, *shown])


def _fmt_number(c: float) -> str:
    """A number the program wrote, as written when 6 significant digits hold it exactly: rounded
    to 4 like computed numbers, x * 1.0001 would read "* 1", an op that seems to do nothing.
    Longer numbers (math.pi, 0.1 + 0.2) do get 4 digits."""
    short = f"{c:.6g}"
    return short if float(short) == c else _fmt(c)

