"""Metrics: functions (prediction, target) -> float over a batch."""

import lamina


def accuracy(prediction, target):
    """Fraction correct: threshold 0.5 for one output column, argmax for several."""
    if prediction.shape[1] == 1:
        correct = (prediction >= 0.5).eq(target >= 0.5)
    else:
        labels = target.argmax(1) if target.shape[1] > 1 else target
        correct = prediction.argmax(1).eq(labels)
    return correct.mean()


def mae(prediction, target):
    """Mean absolute error."""
    return (prediction - target).abs().mean()


@lamina.hookimpl
def lamina_register_metrics():
    return [accuracy, mae]
