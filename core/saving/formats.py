"""Save formats: how a document (plain data) becomes bytes in a file and back.

A format is a plugin (registry kind "formats"). It only turns a *document* — dicts with string
keys, lists, strings, numbers, booleans and None — into bytes and back; everything else (what a
model file holds, how it is checked, how it is written) is the same for every format and lives in
`lamina.serialization`. A format must not build anything but plain data while reading: the
document it returns is checked before a single component is created.
"""

from __future__ import annotations

import errno
import os
import tempfile

from lamina.component import registry
from lamina.errors import FileFormatError


class Format:
    """A save format. `extensions` are the file endings it claims, e.g. (".json",)."""

    extensions: tuple = ()

    def encode(self, document) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} must define encode(document)")

    def decode(self, data: bytes):
        """The document in `data`; raise FileFormatError (one line, no path) if it is not one."""
        raise NotImplementedError(f"{type(self).__name__} must define decode(data)")


def format_for(path, name=None) -> Format:
    """The format named `name`, or else the one that claims `path`'s extension."""
    components = registry()
    if name is not None:
        return components.create("formats", name)
    extension = os.path.splitext(str(path))[1].lower()
    claimed = {}
    for entry in components.entries("formats"):
        candidate = entry.factory()
        for claimed_extension in candidate.extensions:
            claimed[claimed_extension.lower()] = candidate
    if extension in claimed:
        return claimed[extension]
    known = ", ".join(sorted(claimed)) or "(none: no format plugin is loaded)"
    raise FileFormatError(
        f"{path}: not a lamina model or checkpoint file: no save format claims the extension "
        f"{extension or '(none)'!r}; lamina's files end in {known} (in Python, "
        "lamina.save/load(..., format=name) chooses a format whatever the extension)"
    )


def write_atomically(path, data: bytes) -> None:
    """Write `data` to `path` so that `path` holds either the old file or the whole new one.

    The bytes go to a temporary file in the same folder (so the rename stays on one file system),
    are flushed and fsynced, and only then renamed over the target.
    """
    path = os.fspath(path)
    folder = folder_to_save_into(path)
    mode = _mode_for(path)
    remove_stale_temporaries(path)
    temporary = None
    try:
        handle, temporary = _temporary_for(path)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        if isinstance(error, OSError):  # name the file the user asked for, not our temporary
            raise type(error)(error.errno, error.strerror or str(error), path) from None
        raise
    _sync_folder(folder)


TEMPORARY_SUFFIX = ".lamina-tmp"


def _temporary_for(path):
    """A new temporary file beside `path`, named for it and for this process, so that one left by
    a killed run is recognised (and removed) the next time `path` is written."""
    folder, name = os.path.split(os.path.abspath(path))
    return tempfile.mkstemp(dir=folder, prefix=f".{name}.{os.getpid()}.", suffix=TEMPORARY_SUFFIX)


def remove_stale_temporaries(path) -> None:
    """Remove the temporary files of earlier writes of `path` whose process no longer runs."""
    folder, name = os.path.split(os.path.abspath(path))
    prefix = f".{name}."
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(TEMPORARY_SUFFIX)]
    except OSError:
        return
    for leftover in names:
        pid = leftover[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            try:
                os.unlink(os.path.join(folder, leftover))
            except OSError:
                pass


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def check_writable(path) -> None:
    """Fail now, naming `path`, if a file could not be written there: its format, its folder, and
    a probe file created and removed in that folder (a read-only or full disk shows up here,
    before a run trains for an hour and then cannot save)."""
    path = os.fspath(path)
    format_for(path)
    folder_to_save_into(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file to save into", path)
    try:
        handle, probe = _temporary_for(path)
        try:
            os.write(handle, b"lamina")  # a full disk may accept the name but not a byte
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as error:
        raise type(error)(error.errno, error.strerror or str(error), path) from None


def folder_to_save_into(path) -> str:
    """The folder `path` would be written into; it must exist."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "no such folder to save into", folder)
    return folder


def _mode_for(path):
    """Keep an existing file's permissions; a new one gets the usual ones (0666 less the umask),
    not the owner-only mode a temporary file is created with."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_folder(folder):
    """Make the rename itself durable (POSIX); where folders cannot be opened this is a no-op."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
