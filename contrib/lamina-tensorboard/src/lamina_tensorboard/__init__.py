"""TensorBoard: a lamina Trainer callback that writes TensorBoard event files through tensorboardX.

Every epoch it writes each value of the Trainer's logs as a scalar (loss, metrics, val_ values, lr)
and, with `histograms=True`, a histogram of each parameter's weights and of its last gradient, so
`tensorboard --logdir runs` shows curves and how each layer's weights and gradients move.
"""

import os

import numpy

import lamina
from lamina.component import at_least, boolean, component, field, integer
from lamina.plugin_system.kinds import Example

__version__ = "0.1.0"


@component
class TensorBoard(lamina.Callback):
    """Write the epoch's logs as scalars to an event file in `log_dir`; every `histogram_every`
    epochs (and the last) also weight and gradient histograms, tagged weights/<name> and
    gradients/<name>."""

    conformance_examples = [Example(kwargs={"log_dir": os.path.join("lamina-conformance-runs", "tb")})]

    log_dir: str = field(default="runs", converter=os.fspath)
    histograms: bool = field(default=True, validator=boolean)
    histogram_every: int = field(default=1, validator=[integer, at_least(1)])

    def __attrs_post_init__(self):
        self.writer = None

    def on_fit_start(self, trainer):
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(logdir=self.log_dir)

    def on_epoch_end(self, trainer, epoch, logs):
        for key, value in logs.items():
            self.writer.add_scalar(key, value, epoch)
        last = epoch == trainer.max_epochs - 1 or trainer.should_stop
        if self.histograms and (epoch % self.histogram_every == 0 or last):
            for name, parameter in trainer.model.named_parameters():
                self.writer.add_histogram(f"weights/{name}", _array(parameter), epoch)
                # the last batch's gradient: the next zero_grad comes only with the next epoch
                if parameter.grad is not None:
                    self.writer.add_histogram(f"gradients/{name}", _array(parameter.grad), epoch)
        self.writer.flush()  # a finished epoch is on disk, for a live TensorBoard and after a crash

    def on_fit_end(self, trainer):
        self._close()

    def on_exception(self, trainer, error):
        self._close()

    def _close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _array(tensor):
    return numpy.asarray(tensor.tolist(), dtype=numpy.float64).ravel()


@lamina.hookimpl
def lamina_register_callbacks():
    return [TensorBoard]
