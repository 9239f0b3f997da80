"""The training loop every lamina contender times: the README's step, as a PyTorch user writes it."""

import time


def train(model, loss_fn, opt, loader, epochs=1):
    """`epochs` passes of forward, loss, zero_grad, backward, step over the loader's batches."""
    for _ in range(epochs):
        for xb, yb in loader:
            loss_fn(model(xb), yb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()


def timed_training(model, loss_fn, opt, loader, epochs=1):
    """CPU seconds (this process) of `train`."""
    start = time.process_time()
    train(model, loss_fn, opt, loader, epochs)
    return time.process_time() - start
