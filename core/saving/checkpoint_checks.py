"""Checking a checkpoint against the run it would be applied to, before anything is applied.

A checkpoint is data from a file, and a file can be edited. Every value it holds is compared with
what it will replace in this Trainer: the same keys, the same kind of value (a number stays a
number, a list keeps its length), tensors of the parameters' shapes, indices inside the parameter
list, progress counters that are non-negative integers. A schedule's hyper-parameters come from
this run's own config, never from the file. Anything else is refused in one line naming where.
"""

from __future__ import annotations

import math

import attrs

from lamina.module import Module
from lamina.tensors import Tensor


class CheckpointMismatch(ValueError):
    """A checkpoint value that does not fit the run it is applied to."""


def check_checkpoint(trainer, state) -> None:
    model = state["model"]
    saved_model = model.state_dict() if isinstance(model, Module) else model
    check_model_state(trainer.model, saved_model)
    check_optimizer_state(trainer.optimizer, state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        check_scheduler_state(trainer.scheduler, state["scheduler"])
    if not isinstance(state["callbacks"], dict):
        raise CheckpointMismatch(f"callbacks should be a table, found {_kind(state['callbacks'])}")
    for key, saved in state["callbacks"].items():  # weights a callback will load into the model later
        if isinstance(saved, dict) and isinstance(saved.get("best_weights"), dict):
            check_model_state(trainer.model, saved["best_weights"], f"callbacks[{key!r}].best_weights")
    check_progress(trainer, state["trainer"])
    check_rng_state(state["rng"], "rng")


def check_model_state(model, saved, where="model") -> None:
    if not isinstance(saved, dict):
        raise CheckpointMismatch(f"{where} should be a model or its state dict, found {_kind(saved)}")
    own = model.state_dict()
    if set(saved) != set(own):
        missing, extra = sorted(set(own) - set(saved)), sorted(map(str, set(saved) - set(own)))
        raise CheckpointMismatch(f"{where}: the saved weights do not match this model (missing {missing}, unexpected {extra})")
    for key, value in own.items():
        _check_tensor(saved[key], tuple(value.shape), f"{where}[{key!r}]")


def check_optimizer_state(optimizer, saved) -> None:
    where = "optimizer"
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
        raise CheckpointMismatch(f"{where} should be a table with 'state' and 'param_groups', found {_describe(saved)}")
    own = optimizer.state_dict()
    groups = saved["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(own["param_groups"]):
        raise CheckpointMismatch(f"{where}.param_groups: expected {len(own['param_groups'])} groups, found {_describe(groups)}")
    for index, (group, own_group) in enumerate(zip(groups, own["param_groups"])):
        here = f"{where}.param_groups[{index}]"
        if not isinstance(group, dict) or set(group) != set(own_group):
            raise CheckpointMismatch(f"{here}: expected the keys {sorted(own_group)}, found {_describe(group)}")
        if group["params"] != own_group["params"]:
            raise CheckpointMismatch(f"{here}.params: expected {own_group['params']}, found {_describe(group['params'])}")
        for key, value in own_group.items():
            _check_like(group[key], value, f"{here}[{key!r}]")
    params = optimizer.params
    state = saved["state"]
    if not isinstance(state, dict):
        raise CheckpointMismatch(f"{where}.state should be a table, found {_kind(state)}")
    for key, entry in state.items():
        index = _index(key, len(params), f"{where}.state")
        here = f"{where}.state[{index}]"
        if not isinstance(entry, dict):
            raise CheckpointMismatch(f"{here} should be a table, found {_kind(entry)}")
        shape = tuple(params[index].shape)
        for name, value in entry.items():
            if isinstance(value, (Tensor, list)):
                _check_tensor(value, shape, f"{here}[{name!r}]")
            else:
                _check_number(value, f"{here}[{name!r}]")


def check_scheduler_state(scheduler, saved) -> None:
    own = scheduler.state_dict()
    _check_like(saved, own, "scheduler")
    hyper = {f.name for f in attrs.fields(type(scheduler)) if f.metadata.get("config", True)}
    _check_hyper_parameters(scheduler, saved, hyper, "scheduler")
    for field in attrs.fields(type(scheduler)):  # where the schedule stands: its own validators
        if field.name in saved and field.name not in hyper and field.validator is not None:
            try:
                field.validator(scheduler, field, saved[field.name])
            except (TypeError, ValueError) as error:
                raise CheckpointMismatch(f"scheduler.{field.name}: {error}") from None


def _check_hyper_parameters(scheduler, saved, hyper, where):
    for name in hyper & set(saved):
        if saved[name] != getattr(scheduler, name) and not _same_sequence(saved[name], getattr(scheduler, name)):
            raise CheckpointMismatch(
                f"{where}: {type(scheduler).__name__}({name}={getattr(scheduler, name)!r}) in this run, but the "
                f"checkpoint was saved with {name}={_preview(saved[name])}; resume with the same schedule"
            )
    # A schedule of schedules (SequentialLR) holds each one's state in a list.
    for child, child_saved in zip(getattr(scheduler, "schedulers", ()), saved.get("schedulers", ())):
        fields = {f.name for f in attrs.fields(type(child)) if f.metadata.get("config", True)}
        _check_hyper_parameters(child, child_saved, fields, f"{where}.schedulers")


def check_progress(trainer, progress) -> None:
    where = "trainer"
    if not isinstance(progress, dict):
        raise CheckpointMismatch(f"{where} should be a table, found {_kind(progress)}")
    for key in ("epoch", "batches_done", "global_step"):
        value = progress.get(key)
        if type(value) is not int or value < 0:
            raise CheckpointMismatch(f"{where}.{key}: expected a non-negative integer, found {_preview(value)}")
    batches = getattr(trainer, "num_batches", None)
    # Every batch done and the epoch's end not yet run (Ctrl-C in the last batch) is a state to resume.
    if progress["batches_done"] and batches is not None and progress["batches_done"] > batches:
        raise CheckpointMismatch(
            f"{where}.batches_done: {progress['batches_done']} batches done of an epoch that has {batches}"
        )
    if progress["batches_done"]:
        check_rng_state(progress.get("epoch_rng"), f"{where}.epoch_rng")
        totals = progress.get("totals")
        if not isinstance(totals, dict) or not isinstance(totals.get("sums"), dict):
            raise CheckpointMismatch(f"{where}.totals: expected a table of sums and a count, found {_describe(totals)}")
        if type(totals.get("count")) is not int or totals["count"] < 0:
            raise CheckpointMismatch(f"{where}.totals.count: expected a non-negative integer, found {_preview(totals.get('count'))}")
        for key, value in totals["sums"].items():
            _check_number(value, f"{where}.totals.sums[{key!r}]")
        if "last_lr" in progress:
            _check_number(progress["last_lr"], f"{where}.last_lr")


def check_rng_state(state, where) -> None:
    """Python's Mersenne Twister state: version 3, 625 words (624 of 32 bits and a position)."""
    ok = isinstance(state, list) and len(state) == 3 and state[0] == 3 and isinstance(state[1], list)
    ok = ok and len(state[1]) == 625 and all(type(w) is int and 0 <= w < 2**32 for w in state[1])
    ok = ok and state[1][-1] <= 624 and (state[2] is None or type(state[2]) is float)
    if not ok:
        raise CheckpointMismatch(f"{where}: not a random-generator state (version 3, 625 words of 32 bits)")


def _check_like(value, own, where):
    """`value` has the kind of `own`: numbers for numbers, lists of the same length, same keys."""
    if isinstance(own, dict):
        if not isinstance(value, dict) or set(value) != set(own):
            raise CheckpointMismatch(f"{where}: expected the keys {sorted(map(str, own))}, found {_describe(value)}")
        for key in own:
            _check_like(value[key], own[key], f"{where}[{key!r}]")
    elif isinstance(own, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(own):
            raise CheckpointMismatch(f"{where}: expected a list of {len(own)}, found {_describe(value)}")
        for index, (item, own_item) in enumerate(zip(value, own)):
            _check_like(item, own_item, f"{where}[{index}]")
    elif isinstance(own, bool) or own is None or isinstance(own, str):
        if type(value) is not type(own):
            raise CheckpointMismatch(f"{where}: expected {_kind(own)}, found {_describe(value)}")
    elif isinstance(own, int):
        if type(value) is not int:
            raise CheckpointMismatch(f"{where}: expected an integer, found {_describe(value)}")
    elif isinstance(own, float):
        _check_number(value, where, finite=math.isfinite(own))
    elif isinstance(own, Tensor):
        _check_tensor(value, tuple(own.shape), where)


def _check_number(value, where, finite=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckpointMismatch(f"{where}: expected a number, found {_describe(value)}")
    if finite and not math.isfinite(value):
        raise CheckpointMismatch(f"{where}: expected a finite number, found {value!r}")


def _check_tensor(value, shape, where):
    found = tuple(value.shape) if isinstance(value, Tensor) else _list_shape(value)
    # lamina 0.1 kept a bias's (n,) or a counter's () as a (1, n) row; such a value still fits.
    if found != shape and not (len(shape) < 2 and found == (1, math.prod(shape))):
        raise CheckpointMismatch(f"{where}: expected a tensor of shape {shape}, found {_describe(value)}")


def _list_shape(value):
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        width = len(value[0])
        if all(len(row) == width for row in value):
            return (len(value), width)
    return None


def _index(key, count, where):
    index = key if type(key) is int else int(key) if isinstance(key, str) and key.isdigit() else None
    if index is None or not 0 <= index < count:
        raise CheckpointMismatch(f"{where}: {_preview(key)} is not a parameter index (0..{count - 1})")
    return index


def _same_sequence(a, b):
    return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)


def _kind(value):
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", type(None): "None"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _describe(value):
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return _preview(value)


def _preview(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
