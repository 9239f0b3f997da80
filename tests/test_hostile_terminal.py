"""A terminal that reports its size as 0x0 (a bare pseudo-terminal) still shows each epoch."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios


def test_lamina_train_on_a_terminal_of_size_zero_shows_each_epoch():
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "lamina.cli", "train", "--epochs", "2"],
                               stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert process.wait(timeout=60) == 0
    text = output.decode("utf-8", "replace")
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "Test accuracy" in text, text
