"""ProgressBar draws in a terminal (a pseudo-terminal here) and writes nothing otherwise."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time

import pytest

TRAIN = """
import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset
lamina.manual_seed(0)
x = lamina.randn(40, 2)
model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
trainer = lamina.Trainer(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.1), max_epochs=2,
                         metrics=["accuracy"], callbacks=[lamina.callbacks.ProgressBar()])
trainer.fit(DataLoader(TensorDataset(x, (x.sum(1, keepdim=True) > 0) * 1.0), batch_size=4))
print("done")
"""


def run_with_stderr_on_a_terminal(columns, command=(sys.executable, "-c", TRAIN)):
    leader, follower = pty.openpty()
    rows = 24
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    drawn = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    stdout, _ = process.communicate(timeout=60)
    return drawn.decode("utf-8", "replace"), stdout.decode()


@pytest.mark.parametrize("columns", [120, 0])  # 0: a terminal that reports no size still gets a bar
def test_the_bar_shows_batches_loss_metrics_rate_and_time_left_in_a_terminal(columns):
    drawn, stdout = run_with_stderr_on_a_terminal(columns)
    assert stdout == "done\n"
    for epoch in ("Epoch 1/2", "Epoch 2/2"):
        assert epoch in drawn
    assert "10/10" in drawn  # batches done / batches per epoch
    assert "loss=" in drawn and "accuracy=" in drawn
    assert "batch/s" in drawn or "s/batch" in drawn  # the rate
    assert "<" in drawn  # elapsed<remaining


def test_nothing_is_drawn_when_the_output_is_not_a_terminal():
    done = subprocess.run([sys.executable, "-c", TRAIN], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout == "done\n" and done.stderr == ""


def test_lamina_train_shows_the_bar_in_a_terminal_instead_of_epoch_lines():
    command = (sys.executable, "-m", "lamina.cli", "train", "--epochs", "2")
    drawn, stdout = run_with_stderr_on_a_terminal(120, command)
    assert "Epoch 2/2" in drawn and "25/25" in drawn  # 400 training rows in batches of 16
    assert "Epoch   0 |" not in stdout  # the per-epoch lines are for logs, not terminals
    assert stdout.strip().splitlines()[-1].startswith("Test accuracy: ")
