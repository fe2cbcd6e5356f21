"""`chainrule export`: turn a model file written by `nn.save` into an ONNX file or a PyTorch state_dict.

    chainrule export moons.json -o moons.onnx    # nn.export_onnx: runs in onnxruntime and any ONNX runtime
    chainrule export moons.json -o moons.pt      # torch.save(nn.to_torch(model).state_dict())

The model file is read by `nn.load`, which only parses and checks JSON (nothing in it runs).
Exit status 0 on success; 2 for a mistake in the command or a bad model file (missing, not
JSON, not a valid model, more than nn.exchange.io.MAX_LAYERS layers, an output suffix that is neither
.onnx nor .pt); 1 when the output cannot be written (a folder that does not exist, no
permission, an output name taken by a folder, a FIFO or a device, PyTorch or onnx not
installed). Errors are one line on stderr, never a traceback, and at most MAX_LINE characters.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autograd.files import require_regular_file

if TYPE_CHECKING:
    from nn.modules.module import Module

USAGE = """usage: chainrule export MODEL.json -o OUT [--dtype float64|float32]

Convert a model saved with nn.save (a Neuron, Layer or MLP) for PyTorch or ONNX.

  MODEL.json            the model file
  -o, --output OUT      the file to write; its suffix says the format:
                          .onnx       an ONNX model: "input" (batch, nin) -> "output" (batch, nout)
                          .pt, .pth   the state_dict of nn.to_torch(model), written with torch.save; read it with
                                      nn.to_torch(model).load_state_dict(torch.load(OUT, weights_only=True))
  --dtype DTYPE         float64 (default: the same numbers as chainrule) or float32
  -h, --help            show this help

Exit status: 0 done, 2 a mistake in the command or a bad model file, 1 the output could not be written
(or is a folder, a FIFO or a device)."""
MAX_LINE = 500  # characters of an error line: a message quoting a huge input is cut in the middle

_FORMATS = {".onnx": "an ONNX model", ".pt": "a PyTorch state_dict", ".pth": "a PyTorch state_dict"}


class _UsageError(Exception):
    """A mistake in the command line or the model file: reported in one line, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    """Run `chainrule export` with argv (the arguments after `export`); returns the exit status."""
    args = sys.argv[2:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    try:
        model_path, out, dtype = _parse_args(args)
    except _UsageError as error:
        return _fail(str(error), 2)
    try:  # the output's name is looked at before the model is read: its error is about the output
        require_regular_file(out, "cannot write the output")
    except ValueError as error:
        return _fail(str(error), 1)
    except OSError as error:
        return _fail(f"cannot write {str(out)!r}: {error.strerror or error}", 1)
    try:
        model = _load(model_path)
    except _UsageError as error:
        return _fail(str(error), 2)
    try:
        if out.suffix.lower() == ".onnx":
            from nn.exchange.onnx_export import export_onnx

            export_onnx(model, out, dtype=dtype)
        else:
            _write_state_dict(model, out, dtype)
    except ImportError as error:  # PyTorch or onnx missing: the message says what to install
        return _fail(str(error), 1)
    except ValueError as error:
        if not _is_a_file_or_nothing(out):  # the output became a folder, a FIFO or a device meanwhile
            return _fail(str(error), 1)
        return _fail(str(error), 2)  # a weight too large for --dtype float32
    except OSError as error:
        return _fail(f"cannot write {str(out)!r}: {error.strerror or error}", 1)
    print(f"wrote {out}: {model!r} as {_FORMATS[out.suffix.lower()]}, {dtype}")
    return 0


def _fail(message: str, status: int) -> int:
    line = f"chainrule export: error: {' '.join(message.split())}"  # one line, always
    if len(line) > MAX_LINE:
        head = (MAX_LINE - 5) // 2
        line = f"{line[:head]} ... {line[-(MAX_LINE - 5 - head):]}"
    print(line, file=sys.stderr)
    return status


def _is_a_file_or_nothing(path: Path) -> bool:
    try:
        require_regular_file(path, "chainrule export")
    except (ValueError, OSError):
        return False
    return True


def _parse_args(args: list[str]) -> tuple[Path, Path, str]:
    model, out, dtype = None, None, "float64"
    i, only_positional = 0, False
    while i < len(args):
        arg = args[i]
        i += 1
        key, eq, inline = arg.partition("=")  # "--output=m.onnx" or "--output m.onnx"
        if not only_positional and arg == "--":
            only_positional = True
        elif not only_positional and key in ("-o", "--output", "--dtype") and (not eq or key.startswith("--")):
            if not eq:
                if i == len(args):
                    raise _UsageError(f"{arg} needs a value (see chainrule export --help)")
                inline, i = args[i], i + 1
            if key == "--dtype":
                dtype = inline
            else:
                out = inline
        elif not only_positional and arg.startswith("-") and arg != "-":
            raise _UsageError(f"unknown option {arg!r} (see chainrule export --help)")
        elif model is None:
            model = arg
        else:
            raise _UsageError(f"unexpected argument {arg!r}: give one model file and -o OUT")
    if model is None:
        raise _UsageError("no model file given; e.g. chainrule export model.json -o model.onnx")
    if not model:  # Path("") would be ".", the current folder
        raise _UsageError("the model file name is empty; e.g. chainrule export model.json -o model.onnx")
    if out is None:
        raise _UsageError("no output given; add -o OUT with OUT ending in .onnx or .pt")
    if Path(out).suffix.lower() not in _FORMATS:
        raise _UsageError(f"cannot tell the format of {out!r} from its suffix; use .onnx (ONNX) or .pt (PyTorch)")
    if dtype not in ("float64", "float32"):
        raise _UsageError(f"--dtype must be float64 or float32, got {dtype!r}")
    return Path(model), Path(out), dtype


def _load(path: Path) -> Module:
    from nn.exchange.io import load

    try:
        return load(path)
    except FileNotFoundError:
        raise _UsageError(f"cannot read {str(path)!r}: no such file") from None
    except OSError as error:
        raise _UsageError(f"cannot read {str(path)!r}: {error.strerror or error}") from None
    except ValueError as error:  # not JSON, or not a valid model: load's message says which
        raise _UsageError(str(error)) from None


def _write_state_dict(model: Module, out: Path, dtype: str) -> None:
    """torch.save(nn.to_torch(model).state_dict()) into `out`, atomically like nn.save."""
    from autograd.files import write_file
    from nn.exchange.torch_bridge import _import_torch, to_torch

    torch = _import_torch("chainrule export -o *.pt")
    buffer = io.BytesIO()  # serialised in memory first, so a failure leaves no half-written file
    torch.save(to_torch(model, dtype=getattr(torch, dtype)).state_dict(), buffer)
    write_file(out, buffer.getvalue(), "chainrule export")
