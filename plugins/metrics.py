"""Metrics: functions (prediction, target) -> float over a batch, named in Trainer(metrics=...).

The Trainer averages a metric over an epoch weighted by batch size, so a metric is a mean over the
batch's samples.
"""

import lamina
from lamina.errors import ShapeError


def accuracy(prediction, target):
    """Fraction correct: one output column is a probability, thresholded at 0.5 (binary); several
    columns are scores, and the class is their argmax (target: one-hot rows, or class indices as an
    (N,) tensor or an (N, 1) column)."""
    _check_rows("accuracy", prediction, target)
    if prediction.dim() == 1 or prediction.shape[1] == 1:
        _check_columns("accuracy", prediction, target, "a 0/1 target column")
        correct = (prediction >= 0.5).eq(target >= 0.5)
    else:
        columns = 1 if target.dim() == 1 else target.shape[1]
        if columns not in (1, prediction.shape[1]):
            raise ShapeError(
                f"accuracy got {prediction.shape[1]} class scores per sample but targets with "
                f"{columns} columns; expected one-hot rows ({prediction.shape[1]} columns) "
                "or class indices"
            )
        labels = target.argmax(1) if columns > 1 else target.reshape(-1)
        correct = prediction.argmax(1).eq(labels)
    return correct.mean()


def mae(prediction, target):
    """Mean absolute error over every element."""
    _check_rows("mae", prediction, target)
    _check_columns("mae", prediction, target, "a target of the same shape")
    return (prediction - target).abs().mean()


def _check_rows(name, prediction, target):
    if len(prediction) != len(target):
        raise ShapeError(f"{name} got {len(prediction)} predictions but {len(target)} targets")


def _check_columns(name, prediction, target, expected):
    if prediction.shape != target.shape:
        raise ShapeError(
            f"{name} got prediction of shape {prediction.shape} and target of shape {target.shape}; "
            f"expected {expected}"
        )


@lamina.hookimpl
def lamina_register_metrics():
    return [accuracy, mae]
