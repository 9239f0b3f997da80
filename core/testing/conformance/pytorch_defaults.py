"""Declared defaults against PyTorch 2.13's: a component that PyTorch also has must default as
PyTorch's does, or a PyTorch habit silently trains something else.

The table is explicit (read off torch 2.13's signatures once, and kept here), so checking needs no
PyTorch installed. Only arguments the component declares are compared: lamina need not take every
PyTorch argument, but one it takes must mean the same by default.
"""

from __future__ import annotations

import attrs

PYTORCH_DEFAULTS = {
    "modules": {
        "ReLU": {"inplace": False},
        "Sigmoid": {},
        "Tanh": {},
        "LeakyReLU": {"negative_slope": 0.01, "inplace": False},
        "ELU": {"alpha": 1.0, "inplace": False},
        "GELU": {"approximate": "none"},
        "SiLU": {"inplace": False},
        # PyTorch's dim=None picks dim 1 for a 2-D input (with a deprecation warning); lamina says 1.
        "Softmax": {},
        "LogSoftmax": {},
        "Linear": {"bias": True},
        "Dropout": {"p": 0.5, "inplace": False},
        "BatchNorm1d": {"eps": 1e-05, "momentum": 0.1, "affine": True, "track_running_stats": True, "bias": True},
        "LayerNorm": {"eps": 1e-05, "elementwise_affine": True, "bias": True},
        "PReLU": {"num_parameters": 1, "init": 0.25},
        "Conv1d": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"},
        "Conv2d": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"},
        "MaxPool1d": {"stride": None, "padding": 0, "dilation": 1, "return_indices": False, "ceil_mode": False},
        "MaxPool2d": {"stride": None, "padding": 0, "dilation": 1, "return_indices": False, "ceil_mode": False},
        "AvgPool2d": {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None},
        "AdaptiveAvgPool2d": {},
        "Flatten": {"start_dim": 1, "end_dim": -1},
        "Unflatten": {},
        "BatchNorm2d": {"eps": 1e-05, "momentum": 0.1, "affine": True, "track_running_stats": True, "bias": True},
        "Softplus": {"beta": 1.0, "threshold": 20.0},
    },
    "losses": {
        "MSELoss": {"reduction": "mean"},
        "BCELoss": {"weight": None, "reduction": "mean"},
        "L1Loss": {"reduction": "mean"},
        "HuberLoss": {"reduction": "mean", "delta": 1.0},
        "BCEWithLogitsLoss": {"weight": None, "reduction": "mean", "pos_weight": None},
        "NLLLoss": {"weight": None, "ignore_index": -100, "reduction": "mean"},
        "CrossEntropyLoss": {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0},
        "SmoothL1Loss": {"reduction": "mean", "beta": 1.0},
    },
    "optimizers": {
        "SGD": {"lr": 0.001, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False, "maximize": False},
        "Adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0, "amsgrad": False, "maximize": False, "decoupled_weight_decay": False},
        "AdamW": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0.01, "amsgrad": False, "maximize": False},
        "RMSprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-08, "weight_decay": 0, "momentum": 0, "centered": False, "maximize": False},
        "Adagrad": {"lr": 0.01, "lr_decay": 0, "weight_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10, "maximize": False},
    },
    "schedulers": {
        "StepLR": {"gamma": 0.1},
        "MultiStepLR": {"gamma": 0.1},
        "ExponentialLR": {},
        "CosineAnnealingLR": {"eta_min": 0.0},
        "LinearLR": {"start_factor": 0.3333333333333333, "end_factor": 1.0, "total_iters": 5},
        "OneCycleLR": {"total_steps": None, "epochs": None, "steps_per_epoch": None, "pct_start": 0.3, "anneal_strategy": "cos", "cycle_momentum": True, "base_momentum": 0.85, "max_momentum": 0.95, "div_factor": 25.0, "final_div_factor": 10000.0, "three_phase": False},
        "ReduceLROnPlateau": {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 0.0001, "threshold_mode": "rel", "cooldown": 0, "min_lr": 0, "eps": 1e-08},
        "ConstantLR": {"factor": 0.3333333333333333, "total_iters": 5},
        "PolynomialLR": {"total_iters": 5, "power": 1.0},
        "CyclicLR": {"step_size_up": 2000, "step_size_down": None, "mode": "triangular", "gamma": 1.0, "scale_fn": None, "scale_mode": "cycle", "cycle_momentum": True, "base_momentum": 0.8, "max_momentum": 0.9},
        "CosineAnnealingWarmRestarts": {"T_mult": 1, "eta_min": 0.0},
    },
}


def declared_defaults(factory) -> dict:
    """The component's hyper-parameters that have a default, by argument name."""
    if not attrs.has(factory):
        return {}
    found = {}
    for f in attrs.fields(factory):
        if not f.init or not f.metadata.get("config", True) or f.default is attrs.NOTHING:
            continue
        found[f.alias] = f.default.factory() if isinstance(f.default, attrs.Factory) else f.default
    return found


def defaults_match_pytorch(kind: str, name: str, factory) -> None:
    """Raise AssertionError naming each declared default that differs from PyTorch's."""
    expected = PYTORCH_DEFAULTS.get(kind, {}).get(name)
    if expected is None:
        return
    declared = declared_defaults(factory)
    wrong = [f"{argument}={declared[argument]!r} (PyTorch: {value!r})"
             for argument, value in expected.items()
             if argument in declared and not _same(declared[argument], value)]
    assert not wrong, f"{name}'s defaults differ from torch's {name}: " + ", ".join(wrong)


def _same(ours, theirs) -> bool:
    if isinstance(theirs, tuple) or isinstance(ours, (tuple, list)):
        return isinstance(ours, (tuple, list)) and len(ours) == len(theirs) and all(map(_same, ours, theirs))
    if isinstance(theirs, bool) or isinstance(ours, bool) or theirs is None or ours is None:
        return ours is theirs or ours == theirs and type(ours) is type(theirs)
    return ours == theirs
