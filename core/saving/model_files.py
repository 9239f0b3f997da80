"""lamina.save and lamina.load: models and checkpoints as documents of plain data.

A model file is a document

    {"format": "lamina", "version": 1,
     "model": {"architecture": <node>, "state_dict": {"0.weight": {"shape": [16, 2], "data": [...]}}}}

where a node is {"name", "provider", "config", "training"} (plus "children" for a Sequential):
the component's registry name, who provided it, its hyper-parameters (from its attrs fields) and
its train/eval mode. A checkpoint is {"format", "version", "checkpoint": <value>}, a value being
plain data or a tagged {"tensor": ...}, {"module": ...}, {"tuple": [...]}, {"dict": {...}}
(string keys) or {"pairs": [[key, value], ...]} (other keys, e.g. an optimizer's parameter indices).

Loading is safe by construction: the document is plain data, checked before anything is built;
components are found only by name in the registry (nothing named in a file is imported), and a file
that declares more than it holds (a huge shape, a layer sized far beyond its stored weights, deep
nesting) is refused before memory is allocated for it.
"""

from __future__ import annotations

import contextvars
import inspect
import math
import os
import stat

import attrs

from lamina.component import config_of, registry
from lamina.errors import FileFormatError, LaminaError, UnknownComponentError
from lamina.module import Module, Sequential
from lamina.performance import dtypes
from lamina.rng import generator
from lamina.saving.formats import format_for, write_atomically
from lamina.creation import tensor
from lamina.tensors import Tensor

FORMAT_MARKER = "lamina"
FORMAT_VERSION = 1
MAX_DEPTH = 64  # nesting of values and of modules inside modules
MAX_FILE_BYTES = 1 << 30
# A component may allocate more than the weights the file stores for it (a layer whose state is
# not saved), but not this much more: a sizes product above both is a file lying about its model.
SIZE_ALLOWANCE = 1 << 20
# One allowance per file, not per layer: 2,000 layers each just under it would still be too many.
# Each model in the file adds the weights it stores; each component built spends what it declares.
_budget = contextvars.ContextVar("lamina_load_budget", default=None)


# --- saving -----------------------------------------------------------------------------------


def save(obj, path, format=None) -> None:
    """Write a Module (a model file) or a checkpoint dict to `path`, atomically.

    The format is the registered format named `format`, or the one claiming the path's extension.
    """
    if isinstance(obj, Module):
        content = {"model": model_document(obj)}
    elif isinstance(obj, dict):
        content = {"checkpoint": encode_value(obj, "checkpoint")}
    else:
        raise TypeError(f"lamina.save stores a Module or a checkpoint dict, got {type(obj).__name__}")
    chosen = format_for(path, format)
    document = {"format": FORMAT_MARKER, "version": FORMAT_VERSION, **content}
    write_atomically(path, chosen.encode(document))


def model_document(module: Module) -> dict:
    return {
        "architecture": architecture_of(module),
        "state_dict": {key: tensor_document(value) for key, value in module.state_dict().items()},
    }


def architecture_of(module: Module, where="model") -> dict:
    """The tree of registry names, providers, configs and modes that rebuilds `module`."""
    cls = type(module)
    entry = registry().entry_for("modules", cls)
    if entry is None:
        raise TypeError(
            f"cannot save {where} ({cls.__module__}.{cls.__qualname__}): the class is not a "
            f'registered module; register it with @lamina.register("modules") or a plugin\'s '
            "lamina_register_modules hook, so that loading can find it by name"
        )
    node = {
        "name": entry.name,
        "provider": {
            "distribution": entry.provider.distribution,
            "version": entry.provider.version,
            "plugin": entry.provider.plugin,
        },
        "config": {},
        "training": module.training,
    }
    if isinstance(module, Sequential):
        node["children"] = [architecture_of(child, f"{where}[{i}]") for i, child in enumerate(module)]
    else:
        _check_rebuildable(cls, where)
        node["config"] = {k: encode_value(v, f"{where}.{k}") for k, v in config_of(module).items()}
    return node


def _check_rebuildable(cls, where):
    """A module is rebuilt as factory(**config); without attrs fields the config is empty, so a
    constructor with required arguments could not be called again."""
    if attrs.has(cls):
        return
    required = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        raise TypeError(
            f"cannot save {where} ({cls.__qualname__}): its constructor needs {', '.join(required)} "
            "but the class does not declare them as @lamina.component fields, so they cannot be saved"
        )


def tensor_document(value: Tensor) -> dict:
    """A tensor as its PyTorch shape and its values in row-major order, and its dtype unless it is
    float64 (so float64 files stay readable by a lamina that knows no other dtype)."""
    document = {"shape": list(value.shape), "data": value.flatten().tolist()}
    return document if value.dtype == "float64" else {**document, "dtype": value.dtype}


def encode_value(value, where):
    """A checkpoint value as plain data, tagging what plain data cannot say by itself."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Tensor):
        return {"tensor": tensor_document(value)}
    if isinstance(value, Module):
        return {"module": model_document(value)}
    if isinstance(value, list):
        return [encode_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"dict": {k: encode_value(v, f"{where}[{k!r}]") for k, v in value.items()}}
        bad = [k for k in value if isinstance(k, bool) or not isinstance(k, (str, int))]
        if bad:
            raise TypeError(
                f"cannot save {where}: dict keys must be strings or integers, found {bad[0]!r}"
            )
        return {"pairs": [[k, encode_value(v, f"{where}[{k!r}]")] for k, v in value.items()]}
    raise TypeError(
        f"cannot save {where}, of type {type(value).__name__}: a checkpoint holds Modules, Tensors, "
        "numbers, strings, booleans, None, lists, tuples and dicts of these"
    )


# --- loading ----------------------------------------------------------------------------------


def load(path, format=None):
    """The Module or checkpoint dict saved at `path`; a file that is not a valid one raises
    FileFormatError, naming the file and the problem in one line."""
    chosen = format_for(path, format)
    data = _read_capped(path)
    # Rebuilding layers runs their initialisers; the caller's random stream must not notice.
    random_state = generator().getstate()
    budget = _budget.set([SIZE_ALLOWANCE])
    try:
        document = chosen.decode(data)
        del data  # parsed: a large file's peak memory is lower by the file's size
        return from_document(document)
    except LaminaError as error:
        raise type(error)(f"{path}: {error}") from None
    finally:
        _budget.reset(budget)
        generator().setstate(random_state)


def _read_capped(path):
    """The file's bytes; only a regular file, and never more than MAX_FILE_BYTES of it (a FIFO
    would hang, /dev/zero never ends, and a file may grow while it is read)."""
    # O_NONBLOCK: opening a FIFO with no writer must not wait; the check below refuses it.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise FileFormatError(f"{path}: not a regular file; lamina loads model and checkpoint files only")
        # read(n) allocates n bytes up front: ask for what the file holds, not for the cap.
        data = stream.read(min(info.st_size, MAX_FILE_BYTES) + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileFormatError(f"{path}: larger than any lamina file this loads ({MAX_FILE_BYTES} bytes)")
    return data


def from_document(document):
    if not isinstance(document, dict) or document.get("format") != FORMAT_MARKER:
        raise FileFormatError('not a lamina file (it has no "format": "lamina" marker)')
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FileFormatError(
            f"the format version {version!r} is not a positive integer (corrupted file?)"
        )
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"written in format version {version} by a newer lamina; this lamina reads up to version "
            f"{FORMAT_VERSION} (upgrade lamina to load it)"
        )
    if "model" in document:
        return decode_model(document["model"], "model", depth=1)
    if "checkpoint" in document:
        return decode_value(document["checkpoint"], "checkpoint", depth=1)
    raise FileFormatError('holds neither a "model" nor a "checkpoint"')


def _fields(value, where, required, optional=()):
    """`value` as a dict with exactly the expected keys."""
    if not isinstance(value, dict):
        raise FileFormatError(f"{where} should be a table, found {_kind_of(value)}")
    missing = [k for k in required if k not in value]
    unexpected = [k for k in value if k not in required and k not in optional]
    if missing or unexpected:
        problems = [
            f"missing {missing}" if missing else "",
            f"unexpected {unexpected}" if unexpected else "",
        ]
        raise FileFormatError(f"{where} has the wrong keys: {', '.join(p for p in problems if p)}")
    return value


def _kind_of(value):
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "nothing" if value is None else "a number"
    )


def decode_model(document, where, depth) -> Module:
    document = _fields(document, where, ("architecture", "state_dict"))
    states = document["state_dict"]
    if not isinstance(states, dict):
        raise FileFormatError(f"{where}.state_dict should be a table, found {_kind_of(states)}")
    # Every tensor is checked against what it really holds before any module is built.
    state_dict = {
        key: decode_tensor(value, f"{where}.state_dict[{key!r}]") for key, value in states.items()
    }
    stored = _budget.get() or [SIZE_ALLOWANCE]
    stored[0] += sum(t.numel() for t in state_dict.values())
    saved_dtypes = {t.dtype for t in state_dict.values()}
    with dtypes.creating(saved_dtypes.pop() if len(saved_dtypes) == 1 else dtypes.get_default_dtype()):
        module = build_module(document["architecture"], f"{where}.architecture", depth, stored)  # in the weights' dtype
    try:
        module.load_state_dict(_as_now_shaped(state_dict, module), strict=True)
    except LaminaError as error:
        raise FileFormatError(f"{where}: the weights do not fit the architecture: {error}") from None
    return module


def decode_tensor(document, where) -> Tensor:
    document = _fields(document, where, ("shape", "data"), ("dtype",))
    shape, data, dtype = document["shape"], document["data"], document.get("dtype", "float64")
    if not isinstance(shape, list) or len(shape) > 8 or not all(type(n) is int and n >= 1 for n in shape):
        raise FileFormatError(f"{where}: the shape {shape!r} is not a list of positive integers")
    count = math.prod(shape)
    if not isinstance(data, list) or len(data) != count:
        held = f"{len(data)} values" if isinstance(data, list) else _kind_of(data)
        shown = "x".join(map(str, shape)) or "()"
        raise FileFormatError(f"{where}: the shape {shown} declares {count} values but the file holds {held}")
    if not set(map(type, data)) <= {float, int}:
        raise FileFormatError(f"{where}: the data holds something other than numbers")
    if not isinstance(dtype, str) or dtype not in dtypes.DTYPES:
        raise FileFormatError(f"{where}: the dtype {dtype!r} is not 'float32' or 'float64'")
    with dtypes.creating(dtype):  # as saved (float64 only, on the pure-Python backends)
        return tensor(list(map(float, data))).reshape(shape)


def _as_now_shaped(state_dict, module):
    """lamina 0.1 stored every tensor 2-D: a bias or running statistic (n,) as a (1, n) row and a
    counter () as (1, 1). Such values are read in the shape the model gives them now."""
    own = dict(module.named_parameters() + module.named_buffers())
    for key, value in state_dict.items():
        target = own.get(key)
        if target is not None and target.dim() < 2 and value.shape == (1, target.numel()):
            state_dict[key] = value.reshape(target.shape)
    return state_dict


def build_module(node, where, depth, stored) -> Module:
    """Rebuild one component (and, for a Sequential, its children) by registry name."""
    if depth > MAX_DEPTH:
        raise FileFormatError(f"{where}: modules are nested more than {MAX_DEPTH} deep")
    node = _fields(node, where, ("name", "provider", "config", "training"), ("children",))
    name, provider, training = node["name"], node["provider"], node["training"]
    if not isinstance(name, str) or not isinstance(training, bool):
        raise FileFormatError(f"{where}: the name must be a string and training a boolean")
    # Only the registry is asked: a name like "os.system" is just an unknown name.
    try:
        entry = registry().entry("modules", name, saved_provider=_provider_text(provider))
    except UnknownComponentError as error:
        raise UnknownComponentError(f"{where}: {error}") from None
    config = node["config"]
    if not isinstance(config, dict):
        raise FileFormatError(f"{where}.config should be a table, found {_kind_of(config)}")
    config = {k: decode_value(v, f"{where}.config.{k}", depth + 1) for k, v in config.items()}
    _check_declared_sizes(name, config, stored, where)
    children = node.get("children", [])
    if not isinstance(children, list):
        raise FileFormatError(f"{where}.children should be a list, found {_kind_of(children)}")
    children = [
        build_module(c, f"{where}.children[{i}]", depth + 1, stored) for i, c in enumerate(children)
    ]
    try:
        module = entry.factory(*children, **config)
    except (TypeError, ValueError) as error:
        raise FileFormatError(f"{where}: cannot rebuild {name} from the saved config: {error}") from None
    if not isinstance(module, Module):
        raise FileFormatError(
            f"{where}: the registered {name!r} built a {type(module).__name__}, not a Module"
        )
    if isinstance(module, Sequential):
        module.training = training  # each child has its own node, and its own mode
    else:
        module.train(training)  # the layers a component builds inside itself follow it
    return module


def _provider_text(provider):
    if isinstance(provider, dict):
        distribution = provider.get("distribution")
        version = provider.get("version")
        if isinstance(distribution, str) and isinstance(version, str):
            return f"{distribution} {version}".strip()
    return None


def _check_declared_sizes(name, config, stored, where):
    """Refuse a component whose integer hyper-parameters multiply to far more values than the
    file stores: `Linear(in_features=10**6, out_features=10**6)` with a handful of weights."""
    sizes = [v for v in _integers(config.values()) if v > 1]
    need = math.prod(sizes)
    stored[0] -= need
    if stored[0] < 0:
        declared = ", ".join(f"{k}={v}" for k, v in config.items() if type(v) is int)
        raise FileFormatError(
            f"{where}: {name}({declared}) declares sizes needing about {need:.3g} values, more than "
            "the file's weights (plus a small allowance) cover; refusing to build it"
        )


def _integers(values):
    for value in values:
        if type(value) is int:
            yield value
        elif isinstance(value, (list, tuple)):
            yield from _integers(value)


def decode_value(value, where, depth):
    if depth > MAX_DEPTH:
        raise FileFormatError(f"{where}: values are nested more than {MAX_DEPTH} deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict) and len(value) == 1:
        ((tag, content),) = value.items()
        if tag == "tensor":
            return decode_tensor(content, where)
        if tag == "module":
            return decode_model(content, where, depth + 1)
        if tag == "tuple" and isinstance(content, list):
            return tuple(decode_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(content))
        if tag == "dict" and isinstance(content, dict):
            return {k: decode_value(v, f"{where}[{k!r}]", depth + 1) for k, v in content.items()}
        if tag == "pairs" and isinstance(content, list):
            return dict(_decode_pair(pair, where, depth) for pair in content)
    raise FileFormatError(f"{where}: not a value lamina writes ({_kind_of(value)} {_preview(value)})")


def _decode_pair(pair, where, depth):
    if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (int, str)):
        raise FileFormatError(f"{where}: a key-value pair should be [integer or string, value]")
    key, value = pair
    return key, decode_value(value, f"{where}[{key!r}]", depth + 1)


def _preview(value, limit=60):
    text = repr(list(value) if isinstance(value, dict) else value)
    return text if len(text) <= limit else text[:limit] + "..."
