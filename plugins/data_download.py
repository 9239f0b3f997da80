"""`lamina data download mnist|fashion_mnist`: fetch a dataset's four IDX files, checked.

A built-in command added through the commands hook, as a third party's would be. Each file is
written to `NAME.part` and renamed to NAME only once its checksum matches, so a file at its
final name is always whole and right. A broken download is resumed where it stopped (an HTTP
Range request) when the server supports that, and restarted when it does not (a 200 reply to a
Range request carries the whole file). A file already there with the right checksum is not
fetched again.

The checksums are the ones the datasets' publishers list (MD5, as torchvision checks them).
`--checksums FILE` replaces them, for a mirror serving other files: lines of `md5sum` or
`sha256sum` output, `HEX  NAME`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

import lamina
from lamina.errors import ConfigError, LaminaError
from lamina.plugins.image_datasets import IDX_FILES, data_folder

# Where each dataset is published, and the MD5 of each published file.
SOURCES = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror; yann.lecun.com often refuses
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion_mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's; the checksums guard it
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}

# A digest's length says its algorithm.
ALGORITHMS = {32: "md5", 64: "sha256"}
ATTEMPTS = 3  # tries per file within one run; a later run resumes from the .part file as well
CHUNK = 1 << 16
TIMEOUT = 30  # seconds without a byte before a connection counts as broken


def configure(parser):
    actions = parser.add_subparsers(dest="action", required=True, metavar="{download}")
    download = actions.add_parser("download", help="fetch a dataset's files into lamina's data folder")
    download.add_argument("dataset", choices=sorted(SOURCES), help="the dataset whose files to fetch")
    download.add_argument("--dir", help="the folder to put them in (default: $LAMINA_DATA/DATASET, else "
                                        "~/.cache/lamina/DATASET, where the dataset looks)")
    download.add_argument("--url", help="a mirror: the base URL the four files are under")
    download.add_argument("--checksums", metavar="FILE",
                          help="check against these (lines `HEX  NAME`, MD5 or SHA-256) instead of the published ones")
    return run


def run(args):
    base, checksums = SOURCES[args.dataset]
    if args.url:
        base = args.url if args.url.endswith("/") else args.url + "/"
    if args.checksums:
        checksums = read_checksums(args.checksums)
    folder = data_folder(args.dataset, args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (f"{file}.gz" for file in IDX_FILES):
        if name not in checksums:
            raise ConfigError(f"{args.checksums}: no checksum for {name}; expected a line `HEX  {name}`")
        fetch(base + name, folder / name, checksums[name])
    print(f"{args.dataset}: all {len(IDX_FILES)} files are in {folder}")


def read_checksums(path) -> dict:
    """{file name: hex digest} from `md5sum`/`sha256sum` output."""
    checksums = {}
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip() or line.startswith("#"):
                continue
            match = re.fullmatch(r"([0-9a-fA-F]+)\s+\*?(\S+)\s*", line)
            if not match or len(match[1]) not in ALGORITHMS:
                raise ConfigError(f"{path} line {number}: expected `HEX  NAME` with an MD5 (32 hex digits) "
                                  f"or SHA-256 (64) digest, got {line.strip()!r}")
            checksums[match[2]] = match[1].lower()
    return checksums


def digest_of(path, expected) -> str:
    digest = hashlib.new(ALGORITHMS[len(expected)], usedforsecurity=False)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url, destination: Path, expected):
    """Put the file at `url` at `destination`, checked against the `expected` digest."""
    name = destination.name
    if destination.exists():
        if digest_of(destination, expected) == expected:
            print(f"{name}: already there, checksum OK")
            return
        print(f"{name}: there, but its checksum is wrong: fetching it again")
    part = destination.with_name(name + ".part")
    # A .part whose checksum already matches was whole when the last run stopped before renaming it.
    if not (part.exists() and digest_of(part, expected) == expected):
        for attempt in range(1, ATTEMPTS + 1):
            error = download(url, part)
            if error is None:
                break
            if attempt == ATTEMPTS:
                raise LaminaError(
                    f"{name}: the download broke off after {part.stat().st_size} bytes ({error}); "
                    f"run the command again to resume it from {part}"
                )
    got = digest_of(part, expected)
    if got != expected:
        part.unlink()  # wrong bytes are no use to resume from
        raise LaminaError(f"{name}: checksum mismatch: expected {ALGORITHMS[len(expected)]} {expected}, "
                          f"got {got}; the download was deleted")
    os.replace(part, destination)  # atomic: the final name only ever holds a checked file
    print(f"{name}: downloaded, checksum OK")


def download(url, part: Path):
    """Append the rest of `url` to `part` (all of it if the server ignores the Range); None when
    the server sent all it said it would, else the error that broke the transfer off."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the .part is no prefix of the file: start over
            part.unlink()
            return download(url, part)
        raise LaminaError(f"{url}: the server answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise LaminaError(f"{url}: cannot connect ({getattr(error, 'reason', error)})") from None
    with response:
        if offset and response.status == 206 and not resumes_at(response, offset):
            part.unlink()  # a part of the file, but not the part asked for: start over
            return download(url, part)
        resumed = offset and response.status == 206
        if not resumed:
            offset = 0  # a 200 is the whole file from its first byte
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        with open(part, "ab" if resumed else "wb") as stream, progress_bar(part.name[:-5], total, offset) as bar:
            received = 0
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    stream.write(block)
                    received += len(block)
                    bar.update(len(block))
            except (http.client.HTTPException, OSError) as error:  # the connection broke
                return f"{type(error).__name__}: {error}"
    if length and length.isdigit() and received < int(length):
        return f"the server closed the connection after {received} of {length} bytes"
    return None


def resumes_at(response, offset) -> bool:
    """Whether a 206 reply starts at `offset` (`Content-Range: bytes START-END/TOTAL`)."""
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return bool(match) and int(match[1]) == offset


def progress_bar(name, total, done):
    """A bytes bar on stderr where someone is watching; nothing where stderr is a log or a pipe."""
    from tqdm import tqdm

    on_terminal = sys.stderr.isatty()
    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns if on_terminal else 0
    except (OSError, ValueError):
        width = 0
    # A terminal that reports no size (0x0: a bare pseudo-terminal) gets a fixed one; tqdm would
    # otherwise fit the bar into zero columns and rows, and draw nothing.
    return tqdm(total=total, initial=done, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, disable=not on_terminal, leave=True, dynamic_ncols=width > 0,
                ncols=None if width > 0 else 100, nrows=None if width > 0 else 20)


@lamina.hookimpl
def lamina_register_commands():
    return [lamina.Record("data", configure, "download a real dataset's files (mnist, fashion_mnist)")]
