"""Save and load a Neuron, Layer or MLP as plain JSON: readable, exact, and safe to open.

The file holds the architecture and every weight. Floats are written with Python's repr, the
shortest text that reads back as the very same float, so a loaded model computes bit for bit
what the saved one did. Loading only parses JSON and checks every field; it never runs code
from the file (no pickle, no eval), so a file from elsewhere can do no harm.

    {"format": "chainrule.nn", "version": 1, "type": "MLP",
     "config": {"nin": 2, "nouts": [16, 1], "activation": "relu", "dropout": 0.0},
     "layers": [[{"w": [0.12, -0.5], "b": 0.03}, ...], ...]}
"""

from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

from nn.layers import ACTIVATIONS, MLP, Layer, Neuron
from nn.module import Module

FORMAT = "chainrule.nn"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # far above any scalar-engine model; refuses to parse a huge file


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
    raise TypeError(f"save: can save a Neuron, Layer or MLP, got {type(model).__name__}")


def save(model: Module, path: str | os.PathLike) -> None:
    """Write the model to `path` as JSON, atomically.

    The JSON goes to a temporary file in the same folder, which is flushed to disk and then
    renamed over `path` in one step (os.replace): a crash at any moment leaves either the old
    file or the complete new one, never a half-written file. Non-finite weights raise ValueError.
    """
    data = _to_dict(model)
    try:
        text = json.dumps(data, allow_nan=False)
    except ValueError:
        raise ValueError("save: the model has a NaN or infinite weight; JSON cannot hold it exactly") from None
    _write_atomically(Path(path), (text + "\n").encode("utf-8"))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` the way `save` does: a temporary file in the same folder, renamed over `path`."""
    # "x" creates a new file with the usual permissions (mkstemp would make it private, 0600)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    f = open(tmp, "xb")  # if this fails there is nothing to clean up
    try:
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---- loading: every field checked; any surprise is a ValueError naming it -------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"key {twice!r} appears twice in one object")
    return obj


def _number(x: object, where: str) -> float:
    # bool is a subclass of int in Python, so `true` would pass an isinstance check
    if type(x) not in (int, float):
        raise ValueError(f"{where} must be a number, got {type(x).__name__} {x!r:.40}")
    try:
        value = float(x)
    except OverflowError:
        raise ValueError(f"{where} is too large for a float") from None
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite, got {value!r}")
    return value


def _size(x: object, where: str) -> int:
    if type(x) is not int or x < 1:
        raise ValueError(f"{where} must be a positive integer, got {x!r:.40}")
    return x


def _fields(obj: object, keys: set[str], where: str) -> dict[str, Any]:
    if type(obj) is not dict:
        raise ValueError(f"{where} must be a JSON object, got {type(obj).__name__}")
    if set(obj) != keys:
        missing, extra = sorted(keys - set(obj)), sorted(set(obj) - keys)
        problems = ([f"lacks {missing}"] if missing else []) + ([f"has unexpected {extra}"] if extra else [])
        raise ValueError(f"{where} {' and '.join(problems)}")
    return obj


def _activation(x: object, where: str) -> str:
    if type(x) is not str or x not in ACTIVATIONS:
        raise ValueError(f"{where} must be one of {sorted(ACTIVATIONS)}, got {x!r:.40}")
    return x


def _set_neuron(neuron: Neuron, obj: object, where: str) -> None:
    fields = _fields(obj, {"w", "b"}, where)
    w = fields["w"]
    if type(w) is not list or len(w) != neuron.nin:
        raise ValueError(f"{where}.w must be a list of {neuron.nin} numbers")
    weights = [_number(v, f"{where}.w[{i}]") for i, v in enumerate(w)]
    bias = _number(fields["b"], f"{where}.b")
    for p, value in zip(neuron.w, weights):
        p.data = value
    neuron.b.data = bias


def _rows(obj: object, count: int, where: str) -> list:
    if type(obj) is not list or len(obj) != count:
        raise ValueError(f"{where} must be a list of length {count}")
    return obj


def _build(doc: dict[str, Any]) -> Module:
    kind = doc.get("type")
    if kind == "MLP":
        top = _fields(doc, {"format", "version", "type", "config", "layers"}, "the file")
        config = _fields(top["config"], {"nin", "nouts", "activation", "dropout"}, "config")
        nin = _size(config["nin"], "config.nin")
        nouts = config["nouts"]
        if type(nouts) is not list or not nouts:
            raise ValueError("config.nouts must be a non-empty list of layer sizes")
        nouts = [_size(n, f"config.nouts[{i}]") for i, n in enumerate(nouts)]
        dropout = _number(config["dropout"], "config.dropout")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"config.dropout must be in [0, 1], got {dropout!r}")
        model = MLP(nin, nouts, _activation(config["activation"], "config.activation"), dropout=dropout, seed=0)
        layers = _rows(top["layers"], len(nouts), "layers")
        for i, (layer, rows) in enumerate(zip(model.layers, layers)):
            for j, (neuron, obj) in enumerate(zip(layer.neurons, _rows(rows, layer.nout, f"layers[{i}]"))):
                _set_neuron(neuron, obj, f"layers[{i}][{j}]")
        return model
    if kind == "Layer":
        top = _fields(doc, {"format", "version", "type", "config", "neurons"}, "the file")
        config = _fields(top["config"], {"nin", "nout", "activation"}, "config")
        layer = Layer(
            _size(config["nin"], "config.nin"),
            _size(config["nout"], "config.nout"),
            _activation(config["activation"], "config.activation"),
            seed=0,
        )
        for j, (neuron, obj) in enumerate(zip(layer.neurons, _rows(top["neurons"], layer.nout, "neurons"))):
            _set_neuron(neuron, obj, f"neurons[{j}]")
        return layer
    if kind == "Neuron":
        top = _fields(doc, {"format", "version", "type", "config", "w", "b"}, "the file")
        config = _fields(top["config"], {"nin", "activation"}, "config")
        neuron = Neuron(_size(config["nin"], "config.nin"), _activation(config["activation"], "config.activation"), 0)
        _set_neuron(neuron, {"w": top["w"], "b": top["b"]}, "the file")
        return neuron
    raise ValueError(f"type must be 'MLP', 'Layer' or 'Neuron', got {kind!r:.40}")


def load(path: str | os.PathLike) -> Module:
    """Read a model written by `save`: an MLP comes back as an MLP, with the exact same weights.

    Anything but a complete, well-formed file of this format raises ValueError saying what is
    wrong (not JSON, truncated, a field missing or of the wrong type, a non-finite number, ...).
    """
    path = Path(path)
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BYTES} bytes; not a chainrule model file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"{path}: not a chainrule model file (not valid JSON: {e})") from None
    try:
        if type(doc) is not dict:
            raise ValueError(f"the top level must be a JSON object, got {type(doc).__name__}")
        if doc.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {doc.get('format')!r:.40}")
        if type(doc.get("version")) is not int or doc["version"] != VERSION:
            raise ValueError(f"version must be {VERSION}, got {doc.get('version')!r:.40}")
        return _build(doc)
    except ValueError as e:
        raise ValueError(f"{path}: not a valid chainrule model file: {e}") from None
