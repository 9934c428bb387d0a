"""Writing a prompt or report where the user asked (`-o`): the one place `-o` is written.

``-`` is stdout.  A regular file (or a new one) is replaced atomically, so a crash or Ctrl-C
never leaves half a prompt; it keeps its permission bits.  Anything else is written
*through*, never replaced: a symlink's target is replaced atomically and the link stays a
link; a character device (``/dev/null``, a terminal) or a FIFO is opened and written like a
shell's ``>`` would; ``/dev/stdout``, ``/dev/stderr`` and ``/dev/fd/N`` write to that open
descriptor (so ``>>`` redirections keep appending).  A block device, a socket or a
directory is refused with one line.  A special file never becomes a regular one.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

from repopack.errors import OutputError, RepoError, RepopackError
from repopack.util.fs import atomic_write, current_umask

_MAX_LINKS = 40  # like the kernel's limit on symlink chains
_OWN_FD = re.compile(r"^/(?:dev/fd|proc/(?:self|thread-self|(?P<pid>\d+))/fd)/(?P<fd>\d+)$")


def write_output(text: str, target: str) -> Path | None:
    """Write `text` to `target`; return the regular file written (None: a stream or device)."""
    data = text.encode("utf-8", "surrogateescape")
    if target == "-":
        _write_stream(1, data)
        return None
    try:
        return _write_path(target, data)
    except RepopackError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def _write_path(target: str, data: bytes) -> Path | None:
    path = _follow(target)
    if isinstance(path, int):
        _write_stream(path, data)
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        atomic_write(path, data, mode=0o666 & ~current_umask())
        return path
    kind = st.st_mode
    if stat.S_ISREG(kind):
        atomic_write(path, data)  # keeps the file's permission bits
        return path
    if stat.S_ISDIR(kind):
        raise OutputError(f"cannot write {target}: it is a directory; name a file, e.g. "
                          f"{os.path.join(target, 'prompt.xml')}")
    if stat.S_ISCHR(kind) or stat.S_ISFIFO(kind):
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return None
    what = "a block device" if stat.S_ISBLK(kind) else "a socket" if stat.S_ISSOCK(kind) else "not a regular file"
    raise RepoError(f"refusing to write to {target}: it is {what}")


def resolve_target(target: str) -> Path | int:
    """Where writing `target` goes: the file after its symlinks, or a descriptor (/dev/stdout)."""
    try:
        return _follow(target)
    except OutputError:
        return Path(os.path.abspath(target))


def _follow(target: str) -> Path | int:
    """The file a path names after its symlinks, or the descriptor number for /dev/stdout and kin."""
    current = os.path.abspath(target)
    for _ in range(_MAX_LINKS):
        fd = _own_fd(os.path.normpath(current))
        if fd is not None:
            return fd
        try:
            link = os.readlink(current)
        except OSError:  # not a symlink, or missing: `current` is the file
            return Path(current)
        # Not normalised: the kernel resolves a `..` after a symlinked directory physically.
        current = os.path.join(os.path.dirname(current), link)
    raise OutputError(f"cannot write {target}: too many levels of symbolic links")


def _own_fd(path: str) -> int | None:
    match = _OWN_FD.match(path)
    if match is None or (match.group("pid") is not None and int(match.group("pid")) != os.getpid()):
        return None
    return int(match.group("fd"))


def _write_stream(fd: int, data: bytes) -> None:
    stream = sys.stdout if fd == 1 else sys.stderr if fd == 2 else None
    if stream is not None:
        stream.flush()
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:  # a text-only stream (test harnesses)
            stream.write(data.decode("utf-8", "surrogateescape"))
        stream.flush()
        return
    _write_all(fd, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
