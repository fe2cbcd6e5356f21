"""Save and load a Neuron, Layer or MLP as plain JSON: readable, exact, and safe to open.

The file holds the architecture and every weight. Floats are written with Python's repr, the
shortest text that reads back as the very same float, so a loaded model computes bit for bit
what the saved one did. Loading only parses JSON and checks every field; it never runs code
from the file (no pickle, no eval), so a file from elsewhere can do no harm; and it checks every
size against the lists that are really there, and against MAX_PARAMETERS, before it makes a
single Value, so a small file cannot claim a model that fills the memory.

    {"format": "chainrule.nn", "version": 1, "type": "MLP",
     "config": {"nin": 2, "nouts": [16, 1], "activation": "relu", "dropout": 0.0},
     "layers": [[{"w": [0.12, -0.5], "b": 0.03}, ...], ...]}
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from typing import Any

from autograd.files import kind_of, write_file
from nn._numbers import check_real, show
from nn.modules.batchnorm import BatchNorm1d
from nn.modules.containers import Residual, Sequential
from nn.modules.conv import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d
from nn.modules.layers import ACTIVATIONS, MLP, Dropout, Layer, Neuron
from nn.modules.module import Module
from nn.modules.normalization import LayerNorm
from nn.modules.rnn import RNN

FORMAT = "chainrule.nn"
CNN_MODULES = (Conv1d, Conv2d, MaxPool2d, AvgPool2d, Flatten, BatchNorm1d)
VERSION = 1  # a Neuron, Layer or MLP, neuron by neuron (below)
VERSION_PARTS = 2  # any other module: {"model": its description, "state": its state dict}
_KINDS: dict[str, type[Module]] = {cls.__name__: cls for cls in (Neuron, Layer, MLP, Dropout, LayerNorm, RNN,
                                                                 Sequential, Residual, *CNN_MODULES)}  # a file's types
# A file holds at most this many bytes: a 2-million-parameter model takes about 45 MB.
MAX_BYTES = 64 * 1024 * 1024
# And at most this many parameters (about 300 MB of Values), far above what a scalar engine
# trains; `save` refuses a bigger model, so every file it writes loads again.
MAX_PARAMETERS = 2_000_000
# And at most this many layers: far deeper than a scalar engine trains (the course's deepest
# network, in notebook 11, has 21). Each layer costs Modules and graph nodes of its own: a
# million one-neuron layers are only 2 million parameters, but took a minute and 2 GB to load.
MAX_LAYERS = 1000
# An integer literal longer than this is larger than any float (1.8e308 has 309 digits).
_MAX_DIGITS = 310
_NOUTS = re.compile(rb'"nouts"\s*:\s*\[([^\]]*)\]')


def _neuron_dict(n: Neuron) -> dict[str, Any]:
    return {"w": [w.data for w in n.w], "b": n.b.data}


def _to_dict(model: Module) -> dict[str, Any]:
    head = {"format": FORMAT, "version": VERSION, "type": type(model).__name__}
    if type(model) is MLP:
        config = {"nin": model.nin, "nouts": model.nouts, "activation": model.activation, "dropout": model.dropout}
        layers = [[_neuron_dict(n) for n in layer.neurons] for layer in model.layers]
        return {**head, "config": config, "layers": layers}
    if type(model) is Layer:
        config = {"nin": model.nin, "nout": model.nout, "activation": model.activation}
        return {**head, "config": config, "neurons": [_neuron_dict(n) for n in model.neurons]}
    if type(model) is Neuron:
        return {**head, "config": {"nin": model.nin, "activation": model.activation}, **_neuron_dict(model)}
    # any other module nn defines: its description (each module says its own config and parts), then
    # its state dict; version 2
    return {**head, "version": VERSION_PARTS, "model": _description(model, 0), "state": model.state_dict()}


def _description(module: Module, depth: int) -> dict[str, Any]:
    if type(module) not in _KINDS.values():
        raise TypeError(f"save: can save the modules nn defines (Neuron, Layer, MLP, Dropout, LayerNorm, RNN, "
                        f"Sequential, Residual, Conv1d, Conv2d, the pools, Flatten, BatchNorm1d), "
                        f"got {type(module).__name__}")
    if depth > MAX_LAYERS:
        raise ValueError(f"save: the model is nested more than {MAX_LAYERS} deep")
    return {"type": type(module).__name__, "config": module._config(),
            "parts": [_description(part, depth + 1) for part in module._parts()]}


def _require_regular_file(mode: int, path: object) -> None:
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: is {kind_of(mode)}, not a regular file; a model is a file written by nn.save")


def save(model: Module, path: str | os.PathLike) -> None:
    """Write the model to `path` as JSON, atomically, keeping what the user had there.

    The JSON goes to a temporary file in the same folder, which is flushed to disk and then
    renamed over the target in one step (os.replace): a crash at any moment leaves either the
    old file or the complete new one, never a half-written file; any failure this process sees
    (an error, Ctrl-C) removes the temporary file. When `path` is a symlink, the file it points
    to is replaced and the link stays a link. An existing file keeps its permission bits (and
    its owner, where the system allows that), and one this process may not write is refused
    with PermissionError, as open(path, "w") would; a new file gets the usual permissions.
    The one thing an atomic replacement cannot keep is a hard link: the name gets a new file,
    and the file's other names keep the old model.

    ValueError: a NaN or infinite weight, a model beyond MAX_PARAMETERS or MAX_BYTES, or a
    path that names something other than a regular file (a directory, a device, a FIFO).
    """
    data = _to_dict(model)
    layers = len(data.get("layers", ()))
    if layers > MAX_LAYERS:
        raise ValueError(f"save: the model has {layers} layers; a model file holds at most {MAX_LAYERS}")
    count = model.num_parameters()
    if count > MAX_PARAMETERS:
        raise ValueError(f"save: the model has {count} parameters; a model file holds at most {MAX_PARAMETERS}")
    try:
        encoded = (json.dumps(data, allow_nan=False) + "\n").encode("utf-8")
    except ValueError:
        raise ValueError("save: the model has a NaN or infinite weight; JSON cannot hold it exactly") from None
    if len(encoded) > MAX_BYTES:
        raise ValueError(f"save: the model takes {len(encoded)} bytes; a model file holds at most {MAX_BYTES}")
    write_file(path, encoded, "save")


# ---- loading: every field checked; any surprise is a ValueError naming it -------------------


class _LongInt:
    """An integer literal of more digits than any float: kept (not converted) only to be named."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


def _parse_int(text: str) -> int | _LongInt:
    # int() of a long digit string takes quadratic time where Python's digit limit is lifted
    return int(text) if len(text) <= _MAX_DIGITS else _LongInt(len(text.lstrip("-")))


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"key {show(twice)} appears twice in one object")
    return obj


def _number(x: object, where: str) -> float:
    kind = type(x)  # bool is a subclass of int in Python, so `true` would pass an isinstance check
    if kind is float:  # NaN and Infinity never parse, but a literal like 1e999 reads as inf
        if math.isfinite(x):
            return x
        check_real(x, where)  # raises, naming the field and the value
    if kind is int:
        return check_real(x, where)
    if kind is _LongInt:
        raise ValueError(f"{where} is too large for a float, got {x!r}")
    raise ValueError(f"{where} must be a number, got {_describe(x)}")


def _describe(x: object) -> str:
    return repr(x) if type(x) is _LongInt else f"{type(x).__name__} {show(x)}"


def _size(x: object, where: str) -> int:
    # no upper bound here: a size is compared with the lists in the file, then the total with
    # MAX_PARAMETERS, so the error says which of the two claims is false
    if type(x) is not int or x < 1:
        raise ValueError(f"{where} must be a positive integer, got {_describe(x)}")
    return x


def _fields(obj: object, keys: set[str], where: str) -> dict[str, Any]:
    if type(obj) is not dict:
        raise ValueError(f"{where} must be a JSON object, got {type(obj).__name__}")
    if set(obj) != keys:
        missing, extra = sorted(keys - set(obj)), sorted(set(obj) - keys)
        problems = ([f"lacks {missing}"] if missing else []) + ([f"has unexpected {show(extra)}"] if extra else [])
        raise ValueError(f"{where} {' and '.join(problems)}")
    return obj


def _activation(x: object, where: str) -> str:
    if type(x) is not str or x not in ACTIVATIONS:
        raise ValueError(f"{where} must be one of {sorted(ACTIVATIONS)}, got {show(x)}")
    return x


def _rows(obj: object, count: int, where: str, what: str, source: str) -> list:
    """obj as a list of `count` items: the count the config (`source`) gives, the length the file has."""
    if type(obj) is not list:
        raise ValueError(f"{where} must be a list of {what}, got {type(obj).__name__}")
    if len(obj) != count:
        raise ValueError(f"{where} has {len(obj)} {what}, but {source} is {show(count)}")
    return obj


_Found = tuple[str, list, object]  # one neuron in the file: (its field prefix, its weights, its bias)


def _neuron(obj: object, nin: int, where: str, source: str) -> _Found:
    """One neuron's fields, its list of weights counted against nin (config field `source`)."""
    fields = _fields(obj, {"w", "b"}, where or "the file")
    prefix = f"{where}." if where else ""
    return prefix, _rows(fields["w"], nin, f"{prefix}w", "weights", source), fields["b"]


def _numbers(found: list[_Found], count: int) -> list[tuple[list[float], float]]:
    """Each neuron's (weights, bias) as floats; first the count of them is held to MAX_PARAMETERS."""
    if count > MAX_PARAMETERS:
        raise ValueError(f"the config makes {count} parameters; a model file holds at most {MAX_PARAMETERS}")
    return [
        ([_number(v, f"{prefix}w[{i}]") for i, v in enumerate(w)], _number(b, f"{prefix}b")) for prefix, w, b in found
    ]


def _set(neurons: list[Neuron], numbers: list[tuple[list[float], float]]) -> None:
    for neuron, (weights, bias) in zip(neurons, numbers):
        for p, value in zip(neuron.w, weights):
            p.data = value
        neuron.b.data = bias


def _build(doc: dict[str, Any]) -> Module:
    """The model of a parsed file. Every size is first checked against the lists really in the
    file, then the parameter count against MAX_PARAMETERS, then every number; only then is a
    Value made, so a file claiming a billion inputs costs no more than its own few bytes."""
    kind = doc.get("type")
    if kind == "MLP":
        top = _fields(doc, {"format", "version", "type", "config", "layers"}, "the file")
        config = _fields(top["config"], {"nin", "nouts", "activation", "dropout"}, "config")
        nin = _size(config["nin"], "config.nin")
        nouts = config["nouts"]
        if type(nouts) is not list or not nouts:
            raise ValueError(f"config.nouts must be a non-empty list of layer sizes, got {show(nouts)}")
        if len(nouts) > MAX_LAYERS:
            raise ValueError(f"config.nouts has {len(nouts)} layers; a model file holds at most {MAX_LAYERS}")
        nouts = [_size(n, f"config.nouts[{i}]") for i, n in enumerate(nouts)]
        activation = _activation(config["activation"], "config.activation")
        dropout = check_real(_number(config["dropout"], "config.dropout"), "config.dropout", 0.0, 1.0)
        sizes, names = [nin, *nouts], ["config.nin"] + [f"config.nouts[{i}]" for i in range(len(nouts))]
        layers = _rows(top["layers"], len(nouts), "layers", "layers", "the length of config.nouts")
        found = []
        for i, layer in enumerate(layers):
            rows = _rows(layer, nouts[i], f"layers[{i}]", "neurons", names[i + 1])
            found += [_neuron(obj, sizes[i], f"layers[{i}][{j}]", names[i]) for j, obj in enumerate(rows)]
        numbers = _numbers(found, sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(nouts))))
        model = MLP(nin, nouts, activation, dropout=dropout, seed=0)
        _set([neuron for layer in model.layers for neuron in layer.neurons], numbers)
        return model
    if kind == "Layer":
        top = _fields(doc, {"format", "version", "type", "config", "neurons"}, "the file")
        config = _fields(top["config"], {"nin", "nout", "activation"}, "config")
        nin, nout = _size(config["nin"], "config.nin"), _size(config["nout"], "config.nout")
        activation = _activation(config["activation"], "config.activation")
        rows = _rows(top["neurons"], nout, "neurons", "neurons", "config.nout")
        found = [_neuron(obj, nin, f"neurons[{j}]", "config.nin") for j, obj in enumerate(rows)]
        numbers = _numbers(found, (nin + 1) * nout)
        layer = Layer(nin, nout, activation, seed=0)
        _set(layer.neurons, numbers)
        return layer
    if kind == "Neuron":
        top = _fields(doc, {"format", "version", "type", "config", "w", "b"}, "the file")
        config = _fields(top["config"], {"nin", "activation"}, "config")
        nin = _size(config["nin"], "config.nin")
        activation = _activation(config["activation"], "config.activation")
        numbers = _numbers([_neuron({"w": top["w"], "b": top["b"]}, nin, "", "config.nin")], nin + 1)
        neuron = Neuron(nin, activation, 0)
        _set([neuron], numbers)
        return neuron
    raise ValueError(f"type must be 'MLP', 'Layer' or 'Neuron', got {_describe(kind) if kind is not None else None}")


def _build_parts(doc: dict[str, Any]) -> Module:
    """A version-2 file's model: its description checked and its parameters counted (against
    MAX_PARAMETERS and against the numbers really in the state) before any module is made; then
    the state goes in through load_state_dict's checks of every name, shape and number."""
    top = _fields(doc, {"format", "version", "type", "model", "state"}, "the file")
    count = _count(top["model"], "model", 0)
    if count > MAX_PARAMETERS:
        raise ValueError(f"the model makes {count} parameters; a model file holds at most {MAX_PARAMETERS}")
    state = top["state"]
    if type(state) is not dict:
        raise ValueError(f"state must be a JSON object of name -> numbers, got {type(state).__name__}")
    numbers = sum(_numbers_in(value) for value in state.values())
    if numbers != count:
        raise ValueError(f"the model makes {count} parameters, but the state holds {numbers} numbers")
    model = _make(top["model"], "model")
    if type(model).__name__ != top["type"]:
        raise ValueError(f"type is {show(top['type'])}, but the model is a {type(model).__name__}")
    model.load_state_dict(state)
    return model


def _count(description: object, where: str, depth: int) -> int:
    """The parameters a description makes, read from its configs (nothing is built)."""
    if depth > MAX_LAYERS:
        raise ValueError(f"{where}: nested more than {MAX_LAYERS} deep")
    fields = _fields(description, {"type", "config", "parts"}, where)
    kind = _KINDS.get(fields["type"]) if type(fields["type"]) is str else None
    if kind is None:
        raise ValueError(f"{where}.type must be one of {sorted(_KINDS)}, got {show(fields['type'])}")
    if type(fields["config"]) is not dict or type(fields["parts"]) is not list:
        raise ValueError(f"{where} needs a config object and a list of parts")
    counts = [_count(part, f"{where}.parts[{i}]", depth + 1) for i, part in enumerate(fields["parts"])]
    try:
        return kind._parameter_count(fields["config"], counts)
    except KeyError as missing:
        raise ValueError(f"{where}.config lacks {missing}") from None
    except TypeError as error:  # a number of the wrong type in the config: the file is bad
        raise ValueError(f"{where}: {error}") from None


def _make(description: dict, where: str) -> Module:
    parts = [_make(part, f"{where}.parts[{i}]") for i, part in enumerate(description["parts"])]
    kind, config = _KINDS[description["type"]], description["config"]
    try:
        module = kind._from_config(config, parts)
    except TypeError as error:
        raise ValueError(f"{where}: {error}") from None
    if module._config() != config or len(module._parts()) != len(parts):
        raise ValueError(f"{where}.config must be {show(module._config())} with {len(module._parts())} parts, "
                         f"got {show(config)} with {len(parts)}")
    return module


def _numbers_in(value: object) -> int:
    if type(value) is list:
        return sum(_numbers_in(v) for v in value)
    return 1


def _read(path: object) -> bytes:
    """At most MAX_BYTES + 1 bytes of the regular file at `path`, whatever its size claims to be."""
    # Looked at before it is opened: opening a FIFO waits for a writer, opening a device may act.
    _require_regular_file(os.stat(path).st_mode, path)
    # The name may have changed since: O_NONBLOCK opens even a FIFO at once, and fstat checks
    # the very file that was opened, which is the one read.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        _require_regular_file(os.fstat(fd).st_mode, path)
        chunks, size = [], 0
        while size <= MAX_BYTES:  # /proc files say 0 bytes and a growing file says too few: read, then judge
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BYTES} bytes; not a chainrule model file")
    return b"".join(chunks)


def _check_counts(raw: bytes) -> None:
    """Refuse, before parsing, a file with more pieces than any model within MAX_PARAMETERS has.

    Parsing costs ~30 bytes of memory per number and ~250 per object: bounded by the file size
    alone, that would be 16 times MAX_BYTES. A model file has one object per neuron (and a
    neuron has at least two parameters) and about one comma per parameter. Counting bytes
    inside strings too only ever counts more, and no model file has long strings.
    """
    most_objects, most_commas = MAX_PARAMETERS // 2 + 2, 2 * MAX_PARAMETERS + 64
    objects, commas = raw.count(b"{"), raw.count(b",")
    if objects > most_objects or commas > most_commas:
        raise ValueError(
            f"the file has {objects} '{{' and {commas} ','; a model of at most {MAX_PARAMETERS} parameters "
            f"has at most {most_objects} and {most_commas}"
        )
    # The layer sizes, read where they stand, so a file of too many layers is not parsed at all
    # (a million tiny layers pass the counts above). Fooling this look costs the file a parse, no
    # more: _build counts the layers again.
    nouts = _NOUTS.search(raw)
    if nouts is not None and nouts[1].count(b",") >= MAX_LAYERS:
        raise ValueError(f"config.nouts has {nouts[1].count(b',') + 1} layers; a model file holds at most {MAX_LAYERS}")


def load(path: str | os.PathLike) -> Module:
    """Read a model written by `save`: an MLP comes back as an MLP, with the exact same weights.

    Anything but a complete, well-formed file of this format raises ValueError saying what is
    wrong (not JSON, truncated, a field missing or of the wrong type, a non-finite or too large
    number, a size that does not match the weights really in the file, more than MAX_BYTES or
    MAX_PARAMETERS, a directory, device or FIFO in place of a file). A missing or unreadable
    file is an OSError, as for open().
    """
    raw = _read(path)
    try:
        _check_counts(raw)
    except ValueError as e:
        raise ValueError(f"{path}: not a valid chainrule model file: {e}") from None
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys, parse_int=_parse_int)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"{path}: not a chainrule model file (not valid JSON: {show(str(e))[1:-1]})") from None
    try:
        if type(doc) is not dict:
            raise ValueError(f"the top level must be a JSON object, got {type(doc).__name__}")
        if doc.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {show(doc.get('format'))}")
        if type(doc.get("version")) is not int or doc["version"] not in (VERSION, VERSION_PARTS):
            raise ValueError(f"version must be {VERSION} or {VERSION_PARTS}, got {show(doc.get('version'))}")
        return _build(doc) if doc["version"] == VERSION else _build_parts(doc)
    except ValueError as e:
        raise ValueError(f"{path}: not a valid chainrule model file: {e}") from None
