"""Ctrl-C during `Trainer.fit` stops the run at the next optimizer step rather than in the middle of
one, so that the state a checkpoint keeps is never half-updated."""

from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def stop_at_next_step_on_ctrl_c(trainer):
    """During fit, Ctrl-C asks the loop to stop after the current optimizer step, so the state a
    checkpoint keeps is never half-updated; a second Ctrl-C interrupts at once, as usual.

    Only where Python's own handler is in place (the main thread, no handler of the program's own).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def request_stop(signum, frame):
        trainer._interrupt_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
