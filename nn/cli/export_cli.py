"""`chainrule export`: turn a model file written by `nn.save` into an ONNX file or a PyTorch state_dict.

    chainrule export moons.json -o moons.onnx    # nn.export_onnx: runs in onnxruntime and any ONNX runtime
    chainrule export moons.json -o moons.pt      # torch.save(nn.to_torch(model).state_dict())

The model file is read by `nn.load`, which only parses and checks JSON (nothing in it runs).
Exit status 0 on success; 2 for a mistake in the command or a bad model file (missing, not
JSON, not a valid model, more than nn.exchange.io.MAX_LAYERS layers, an output suffix that is neither
.onnx nor .pt); 1 when the output cannot be written (a folder that does not exist, no
permission, an output name taken by a folder, a FIFO or a device, PyTorch or onnx not
installed). Errors are one line on stderr, never a traceback, and at most MAX_LINE characters.
The options are read by argparse (autograd.cli_args, shared by every `chainrule` command).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autograd.cli_args import Parser, UsageError, fail, parse
from autograd.files import require_regular_file

if TYPE_CHECKING:
    from nn.modules.module import Module

_DESCRIPTION = """Convert a model saved with nn.save (a Neuron, Layer or MLP) for PyTorch or ONNX.

The suffix of OUT says the format:
  .onnx       an ONNX model: "input" (batch, nin) -> "output" (batch, nout)
  .pt, .pth   the state_dict of nn.to_torch(model), written with torch.save; read it with
              nn.to_torch(model).load_state_dict(torch.load(OUT, weights_only=True))"""
_EXIT_STATUS = """exit status:
  0    done
  1    the output could not be written (or is a folder, a FIFO or a device), or PyTorch or onnx
       is not installed
  2    a mistake in the command or a bad model file
  130  interrupted (Ctrl-C)
  141  the output's reader went away (e.g. piped into `head`)"""
MAX_LINE = 500  # characters of an error line: a message quoting a huge input is cut in the middle
PROG = "chainrule export"

_FORMATS = {".onnx": "an ONNX model", ".pt": "a PyTorch state_dict", ".pth": "a PyTorch state_dict"}


def _parser() -> Parser:
    p = Parser(PROG, description=_DESCRIPTION, epilog=_EXIT_STATUS)
    p.add_argument("model", metavar="MODEL.json", help="the model file, written by nn.save")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="the file to write: .onnx, .pt or .pth (see above)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", metavar="DTYPE",
                   help="float64 (the same numbers as chainrule) or float32")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run `chainrule export` with argv (the arguments after `export`); returns the exit status."""
    options = parse(_parser(), sys.argv[2:] if argv is None else list(argv), max_line=MAX_LINE)
    if isinstance(options, int):
        return options
    model_path, out, dtype = Path(options.model), Path(options.output), options.dtype
    if not options.model:  # Path("") would be ".", the current folder
        return _fail("the model file name is empty; e.g. chainrule export model.json -o model.onnx", 2)
    if out.suffix.lower() not in _FORMATS:
        return _fail(f"cannot tell the format of {options.output!r} from its suffix; use .onnx (ONNX) or .pt "
                     "(PyTorch)", 2)
    try:  # the output's name is looked at before the model is read: its error is about the output
        require_regular_file(out, "cannot write the output")
    except ValueError as error:
        return _fail(str(error), 1)
    except OSError as error:
        return _fail(f"cannot write {str(out)!r}: {error.strerror or error}", 1)
    try:
        model = _load(model_path)
    except UsageError as error:
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
    return fail(PROG, message, status, MAX_LINE)


def _is_a_file_or_nothing(path: Path) -> bool:
    try:
        require_regular_file(path, "chainrule export")
    except (ValueError, OSError):
        return False
    return True


def _load(path: Path) -> Module:
    from nn.exchange.io import load

    try:
        return load(path)
    except FileNotFoundError:
        raise UsageError(f"cannot read {str(path)!r}: no such file") from None
    except OSError as error:
        raise UsageError(f"cannot read {str(path)!r}: {error.strerror or error}") from None
    except ValueError as error:  # not JSON, or not a valid model: load's message says which
        raise UsageError(str(error)) from None


def _write_state_dict(model: Module, out: Path, dtype: str) -> None:
    """torch.save(nn.to_torch(model).state_dict()) into `out`, atomically like nn.save."""
    from autograd.files import write_file
    from nn.exchange.torch_bridge import _import_torch, to_torch

    torch = _import_torch("chainrule export -o *.pt")
    buffer = io.BytesIO()  # serialised in memory first, so a failure leaves no half-written file
    torch.save(to_torch(model, dtype=getattr(torch, dtype)).state_dict(), buffer)
    write_file(out, buffer.getvalue(), "chainrule export")
