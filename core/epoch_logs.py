"""What an epoch logs: the loss and each metric, averaged over the epoch's samples."""

from __future__ import annotations

from .component import registry


def resolve_metric(metric):
    """(name, function) for a registered metric's name or a function (prediction, target) -> float."""
    if isinstance(metric, str):
        return metric, registry().get("metrics", metric)
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise TypeError(f"a metric must be a registered name or a function, got {metric!r}")


class EpochTotals:
    """Sample-weighted running means of the loss and each metric over an epoch."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.sums = {"loss": 0.0, **{name: 0.0 for name in metrics}}
        self.count = 0

    def add(self, loss, prediction, target):
        size = prediction.shape[0]
        logs = {"loss": loss}
        for name, metric in self.metrics.items():
            logs[name] = metric(prediction, target)
        for key, value in logs.items():
            self.sums[key] += value * size
        self.count += size
        return logs

    def means(self):
        return {key: total / self.count for key, total in self.sums.items()}
