"""Ctrl-C (SIGINT) to `lamina train` mid-run: a clean exit, a message, and a checkpoint that loads
and resumes."""

import signal
import subprocess
import sys
import time

import lamina

LAMINA = [sys.executable, "-m", "lamina.cli"]


def start_training(*arguments):
    return subprocess.Popen(
        [*LAMINA, "train", *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal would start it
    )


def test_sigint_mid_run_exits_cleanly_with_a_usable_checkpoint(tmp_path):
    checkpoint = str(tmp_path / "run.json")
    process = start_training("--epochs", "10000", "--checkpoint", checkpoint)
    first_line = process.stdout.readline()  # printed at the end of epoch 0
    assert first_line.startswith("Epoch   0 |")
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr + stdout
    message = stderr.strip().splitlines()[-1]
    assert message.startswith("lamina train: interrupted at epoch ")
    assert message.endswith(f"the state is saved in {checkpoint}; continue with --resume {checkpoint}")

    state = lamina.load(checkpoint)
    epoch, batches = state["trainer"]["epoch"], state["trainer"]["batches_done"]
    assert f"interrupted at epoch {epoch}, after {batches} batches" in message
    assert epoch >= 1 and state["trainer"]["global_step"] == 25 * epoch + batches  # 25 batches an epoch
    assert len(state["callbacks"]["History"]["epochs"]) == epoch
    evaluated = subprocess.run([*LAMINA, "evaluate", checkpoint, "--data", "circle"], capture_output=True,
                               text=True, timeout=60)
    assert evaluated.returncode == 0 and "accuracy: " in evaluated.stdout  # the checkpoint is a model file too

    resumed = subprocess.run(
        [*LAMINA, "train", "--epochs", str(epoch + 2), "--resume", checkpoint, "--checkpoint", checkpoint],
        capture_output=True, text=True, timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Test accuracy:" in resumed.stdout
    assert lamina.load(checkpoint)["trainer"]["epoch"] == epoch + 2


def test_sigint_without_a_checkpoint_option_says_nothing_was_saved():
    process = start_training("--epochs", "10000")
    process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().endswith("nothing was saved (use --checkpoint PATH to keep the state)")
