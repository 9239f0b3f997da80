"""`lamina data download`, run for real against a real HTTP server on 127.0.0.1: checksums, the
cache, resuming a broken download with a Range request, restarting where the server ignores
Range, and never a partial or wrong file at a final name."""

import gzip
import hashlib
import http.server
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

numpy = pytest.importorskip("numpy")

import lamina  # noqa: E402
from idx_helpers import FILES, idx_bytes, small_dataset  # noqa: E402
from lamina.cli.app import main  # noqa: E402
from lamina.plugins.data_download import SOURCES  # noqa: E402

LAMINA = Path(sys.executable).parent / "lamina"
NAMES = [name + ".gz" for name in FILES]


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves the mirror's files; HTTP/1.0, so each connection ends with its reply."""

    def do_GET(self):
        mirror = self.server.mirror
        name = self.path.rsplit("/", 1)[-1]
        asked = self.headers.get("Range")
        mirror.requests.append((name, asked))
        if name not in mirror.files:
            self.send_error(404)
            return
        data = mirror.files[name]
        start = int(re.fullmatch(r"bytes=(\d+)-", asked)[1]) if asked and mirror.mode != "ignore range" else 0
        if start >= len(data) > 0:
            self.send_error(416)
            return
        self.send_response(206 if asked and mirror.mode != "ignore range" else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        first_time = [n for n, _ in mirror.requests].count(name) == 1
        if mirror.mode == "drop always" or (mirror.mode == "drop once" and first_time):
            body = body[: len(body) // 2]  # then the handler returns and the connection closes mid-file
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


class Mirror:
    """A ThreadingHTTPServer on a free port of 127.0.0.1, serving `files` ({name: bytes})."""

    def __init__(self, files):
        self.files, self.mode, self.requests = dict(files), "normal", []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.mirror = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mirror/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def gzipped_files():
    return {name + ".gz": gzip.compress(idx_bytes(array), mtime=0) for name, array in small_dataset(60, 20).items()}


@pytest.fixture
def mirror():
    served = Mirror(gzipped_files())
    yield served
    served.stop()


@pytest.fixture
def checksums(tmp_path, mirror):
    """A checksums file for the mirror's files, as `md5sum` writes it."""
    path = tmp_path / "md5sums.txt"
    path.write_text("".join(f"{hashlib.md5(data).hexdigest()}  {name}\n" for name, data in mirror.files.items()))
    return path


def download(mirror, folder, checksums, dataset="mnist"):
    return subprocess.run(
        [str(LAMINA), "data", "download", dataset, "--dir", str(folder), "--url", mirror.url,
         "--checksums", str(checksums)],
        capture_output=True, text=True, timeout=60)


def assert_downloaded(folder, mirror):
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)  # and no .part left over
    for name in NAMES:
        assert (folder / name).read_bytes() == mirror.files[name]


def test_download_fetches_checks_and_then_skips_what_is_there(tmp_path, mirror, checksums):
    done = download(mirror, tmp_path / "data", checksums)
    assert done.returncode == 0, done.stderr
    assert_downloaded(tmp_path / "data", mirror)
    assert mirror.requests == [(name, None) for name in NAMES]
    assert [line for line in done.stdout.splitlines() if "downloaded, checksum OK" in line] == \
        [f"{name}: downloaded, checksum OK" for name in NAMES]
    # The files it wrote are the dataset's.
    inputs, targets = lamina.registry().create("datasets", "mnist", root=str(tmp_path / "data"))
    assert inputs.shape == (80, 1, 28, 28) and targets.shape == (80,)

    mirror.requests.clear()
    again = download(mirror, tmp_path / "data", checksums)
    assert again.returncode == 0 and mirror.requests == []  # the cache: nothing fetched
    assert f"{NAMES[0]}: already there, checksum OK" in again.stdout


def test_a_connection_dropped_mid_file_is_resumed_with_a_range_request(tmp_path, mirror, checksums):
    mirror.mode = "drop once"
    done = download(mirror, tmp_path / "data", checksums)
    assert done.returncode == 0, done.stderr
    assert_downloaded(tmp_path / "data", mirror)
    for name in NAMES:
        half = len(mirror.files[name]) // 2
        assert [asked for n, asked in mirror.requests if n == name] == [None, f"bytes={half}-"]


def test_a_download_that_keeps_breaking_leaves_a_part_file_the_next_run_resumes(tmp_path, mirror, checksums):
    mirror.mode = "drop always"
    folder = tmp_path / "data"
    failed = download(mirror, folder, checksums)
    assert failed.returncode == 1
    part = folder / (NAMES[0] + ".part")
    size = part.stat().st_size
    assert re.fullmatch(rf"lamina data: error: {re.escape(NAMES[0])}: the download broke off after {size} bytes "
                        rf"\(.+\); run the command again to resume it from {re.escape(str(part))}",
                        failed.stderr.splitlines()[-1])
    assert sorted(p.name for p in folder.iterdir()) == [part.name]  # nothing at the final name
    assert 0 < size < len(mirror.files[NAMES[0]])
    assert mirror.files[NAMES[0]].startswith(part.read_bytes())

    mirror.mode, mirror.requests = "normal", []
    done = download(mirror, folder, checksums)
    assert done.returncode == 0, done.stderr
    assert mirror.requests[0] == (NAMES[0], f"bytes={size}-")
    assert_downloaded(folder, mirror)


def test_a_server_that_ignores_range_makes_the_download_start_over(tmp_path, mirror, checksums):
    folder = tmp_path / "data"
    folder.mkdir()
    # Not a prefix of the file: appending the server's reply to it could never pass the checksum.
    (folder / (NAMES[1] + ".part")).write_bytes(b"left over from a broken run")
    mirror.mode = "ignore range"
    done = download(mirror, folder, checksums)
    assert done.returncode == 0, done.stderr
    assert (NAMES[1], "bytes=27-") in mirror.requests  # asked to resume; got a 200 with the whole file
    assert_downloaded(folder, mirror)


def test_a_file_failing_its_checksum_is_deleted_and_named_with_both_digests(tmp_path, mirror, checksums):
    good = hashlib.md5(mirror.files[NAMES[2]]).hexdigest()
    mirror.files[NAMES[2]] = mirror.files[NAMES[2]][:-1] + b"!"
    folder = tmp_path / "data"
    failed = download(mirror, folder, checksums)
    assert failed.returncode == 1
    got = hashlib.md5(mirror.files[NAMES[2]]).hexdigest()
    assert failed.stderr.splitlines()[-1] == (
        f"lamina data: error: {NAMES[2]}: checksum mismatch: expected md5 {good}, got {got}; the download was "
        "deleted")
    assert sorted(p.name for p in folder.iterdir()) == NAMES[:2]  # the two before it; nothing of the bad one


def test_a_wrong_file_already_at_the_final_name_is_replaced(tmp_path, mirror, checksums):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / NAMES[3]).write_bytes(b"not the labels")
    done = download(mirror, folder, checksums)
    assert done.returncode == 0, done.stderr
    assert f"{NAMES[3]}: there, but its checksum is wrong: fetching it again" in done.stdout
    assert_downloaded(folder, mirror)


def test_sha256_checksums_work(tmp_path, mirror):
    sums = tmp_path / "sha256sums.txt"
    sums.write_text("".join(f"{hashlib.sha256(data).hexdigest()} *{name}\n" for name, data in mirror.files.items()))
    done = download(mirror, tmp_path / "data", sums, dataset="fashion_mnist")
    assert done.returncode == 0, done.stderr
    assert_downloaded(tmp_path / "data", mirror)


def in_process(capsys, mirror, folder, checksums):
    """`lamina data download mnist` in this process (quicker, for its errors), with (status, stderr)."""
    status = main(["data", "download", "mnist", "--dir", str(folder), "--url", mirror.url,
                   "--checksums", str(checksums)])
    return status, capsys.readouterr().err


def test_a_checksums_file_missing_a_file_or_unreadable_is_named(tmp_path, mirror, checksums, capsys):
    sums = tmp_path / "some.txt"
    sums.write_text(checksums.read_text().splitlines()[0] + "\n")
    assert in_process(capsys, mirror, tmp_path / "data", sums) == (
        1, f"lamina data: error: {sums}: no checksum for {NAMES[1]}; expected a line `HEX  {NAMES[1]}`\n")
    sums.write_text("abc123  train-images-idx3-ubyte.gz\n")
    assert in_process(capsys, mirror, tmp_path / "data", sums) == (
        1, f"lamina data: error: {sums} line 1: expected `HEX  NAME` with an MD5 (32 hex digits) or SHA-256 (64) "
           "digest, got 'abc123  train-images-idx3-ubyte.gz'\n")


def test_a_file_missing_on_the_mirror_is_one_line(tmp_path, mirror, checksums, capsys):
    del mirror.files[NAMES[0]]
    assert in_process(capsys, mirror, tmp_path / "data", checksums) == (
        1, f"lamina data: error: {mirror.url}{NAMES[0]}: the server answered 404 Not Found\n")
    assert not (tmp_path / "data" / NAMES[0]).exists()


def test_the_published_checksums_cover_each_datasets_four_files():
    for dataset, (url, table) in SOURCES.items():
        assert url.startswith(("https://", "http://")) and url.endswith("/")
        assert sorted(table) == sorted(NAMES), dataset
        assert all(re.fullmatch("[0-9a-f]{32}", digest) for digest in table.values()), dataset
    assert SOURCES["mnist"][1][NAMES[3]] == "ec29112dd5afa0611ce80d1b7f02629c"  # as torchvision checks it


def test_on_a_terminal_each_file_gets_a_progress_bar_on_stderr(tmp_path, mirror, checksums):
    controller, terminal = pty.openpty()
    drawn = []
    reader = threading.Thread(target=read_all, args=(controller, drawn))
    reader.start()
    try:
        done = subprocess.run(
            [str(LAMINA), "data", "download", "mnist", "--dir", str(tmp_path / "data"), "--url", mirror.url,
             "--checksums", str(checksums)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, timeout=60)
    finally:
        os.close(terminal)
        reader.join()
        os.close(controller)
    assert done.returncode == 0
    screen = b"".join(drawn).decode()
    for name in NAMES:  # the bar at its end: `NAME: 100%|████| 46.0k/46.0k [...]`
        assert re.search(rf"{re.escape(name)}: 100%\|[^|]*\| (\S+)/\1 \[", screen), screen


def read_all(descriptor, into):
    """Everything written to the terminal, until its last writer closes it."""
    while True:
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # EIO: the other end is closed
            return
        if not chunk:
            return
        into.append(chunk)
